"""`synth.vibration.subpixel_shift`, the Fourier shift every known-answer test rests on."""

from __future__ import annotations

import numpy as np
import pytest

from motionmag.synth.vibration import subpixel_shift


def _complex_fourier_shift(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The textbook form: full complex FFT of the mirror-padded image, phase ramp, real part."""
    height, width = image.shape[:2]
    padded = np.concatenate([image, image[::-1]], axis=0)
    padded = np.concatenate([padded, padded[:, ::-1]], axis=1)
    fy = np.fft.fftfreq(2 * height)[:, None]
    fx = np.fft.fftfreq(2 * width)[None, :]
    phase = np.exp(-2j * np.pi * (fx * dx + fy * dy))
    if image.ndim == 3:
        phase = phase[..., None]
    shifted = np.fft.ifft2(np.fft.fft2(padded, axes=(0, 1)) * phase, axes=(0, 1)).real
    return shifted[:height, :width]


@pytest.mark.parametrize("shape", [(37, 50), (24, 33, 3)])
@pytest.mark.parametrize("shift", [(0.37, -1.3), (2.0, 0.5), (-0.05, 0.0)])
def test_equals_the_complex_fourier_shift(shape, shift):
    image = np.random.default_rng(0).random(shape) * 255
    np.testing.assert_allclose(
        subpixel_shift(image, *shift), _complex_fourier_shift(image, *shift), atol=1e-9
    )


def test_an_integer_shift_moves_the_interior_exactly():
    yy, xx = np.mgrid[:40, :60].astype(float)
    image = np.sin(xx / 5.0) * np.cos(yy / 7.0) * 100 + 128  # smooth: no Gibbs ringing
    out = subpixel_shift(image, 3.0, -2.0)  # out(x, y) = image(x - 3, y + 2)
    np.testing.assert_allclose(out[10:-10, 10:-10], image[12:-8, 7:-13], atol=0.5)
