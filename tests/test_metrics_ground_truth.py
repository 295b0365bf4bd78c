"""The two measures nearly every known-answer test relies on, against outside answers:
``eval.metrics.ssim`` against scikit-image's implementation of the same definition, and
``eval.displacement.measure_shift`` against textures moved by known amounts (exact
band-limited shifts, ``synth.vibration.subpixel_shift``)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from motionmag.eval.displacement import measure_shift
from motionmag.eval.metrics import ssim
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import smooth_texture, subpixel_shift


@pytest.mark.parametrize("noise", [5.0, 20.0, 60.0])
def test_ssim_matches_scikit_image(noise):
    """Wang et al.'s SSIM, Gaussian window 11 / sigma 1.5, population covariances, range
    255, valid positions: scikit-image computes the same number."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (40, 50, 3)).astype(np.float64)
    b = np.clip(a + rng.normal(0.0, noise, a.shape), 0, 255)
    expected = structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=255, channel_axis=2,
    )  # fmt: skip
    assert ssim(a, b) == pytest.approx(expected, abs=1e-6)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-9)


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return smooth_texture(load_texture("astronaut"), (96, 128), sigma_px=2.0)


@pytest.mark.parametrize("shift", [(0.03, 0.0), (0.3, -0.2), (1.7, 0.9), (-3.2, 2.5)])
def test_measure_shift_reads_known_translations(texture, shift):
    """From 0.03 px to several px, in either direction: within 1e-3 px (the Gauss-Newton
    steps re-warp, so large shifts converge too)."""
    measured = measure_shift(texture, subpixel_shift(texture, *shift))
    np.testing.assert_allclose(measured, shift, atol=1e-3)


def test_measure_shift_counts_only_the_masked_pixels(texture):
    """Left half moved by (0.5, 0), right half by (-0.4, 0.3): the mask picks either."""
    left = subpixel_shift(texture, 0.5, 0.0)
    right = subpixel_shift(texture, -0.4, 0.3)
    moved = left.copy()
    moved[:, 64:] = right[:, 64:]
    mask = np.zeros(texture.shape[:2])
    mask[:, 10:54] = 1.0
    np.testing.assert_allclose(measure_shift(texture, moved, mask=mask), (0.5, 0.0), atol=2e-3)
    mask = 1.0 - mask
    mask[:, :74] = 0.0
    np.testing.assert_allclose(measure_shift(texture, moved, mask=mask), (-0.4, 0.3), atol=2e-3)
