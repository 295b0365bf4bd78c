"""Linear Eulerian magnification (Wu et al. 2012) against known answers.

A real photo (scikit-image's astronaut, blurred so the first-order approximation of the
method holds for the tested alpha x motion) is translated by exact sub-pixel amounts;
the output must be translated by alpha times as much, measured with an independent
estimator (global Lucas-Kanade), never compared with a stored output of our own.
"""

from __future__ import annotations

import numpy as np
import pytest

import motionmag as mm
from motionmag.eval.displacement import measure_shift
from motionmag.magnify.linear import LinearConfig, level_gains
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift, vibrating_frames


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return smooth_texture(load_texture("astronaut"), (128, 160), sigma_px=3.0)


@pytest.mark.parametrize(("alpha", "shift_px"), [(10, 0.1), (20, 0.05), (10, 0.05)])
def test_static_mode_translates_by_alpha_times_the_input(texture, alpha, shift_px):
    frames = np.stack(
        [quantize(texture), quantize(subpixel_shift(texture, shift_px, 0.5 * shift_px))]
    )
    out = mm.magnify_frames(frames, method="linear", alpha=alpha, mode="static")
    dx, dy = measure_shift(out[0], out[1])
    assert dx == pytest.approx(alpha * shift_px, rel=0.10)
    assert dy == pytest.approx(alpha * 0.5 * shift_px, rel=0.10)
    # the reference frame itself is left as it is
    assert np.abs(out[0].astype(int) - frames[0]).max() <= 1


@pytest.mark.parametrize("filter_kind", ["fir", "butter", "diff-iir"])
def test_temporal_mode_magnifies_an_in_band_vibration(texture, filter_kind):
    fps, freq_hz, amplitude_px, alpha = 30.0, 3.0, 0.08, 10
    clip, truth = vibrating_frames(texture, amplitude_px, freq_hz, fps, frames=90)
    out = mm.magnify_frames(
        quantize(clip), fps=fps, method="linear", alpha=alpha, band=(2.0, 4.0), filter=filter_kind
    )
    still = quantize(texture)
    measured = np.array([measure_shift(still, frame)[0] for frame in out[45:]])
    expected = truth[45:]
    ratio = np.ptp(measured) / np.ptp(expected)
    assert ratio == pytest.approx(alpha, rel=0.12)
    if filter_kind == "fir":  # zero phase: frame by frame, not only in amplitude
        assert np.corrcoef(measured, expected)[0, 1] > 0.98


@pytest.mark.parametrize(("kind", "frames", "window"), [("butter", 90, slice(45, None)),
                                                      ("fir", 200, slice(61, -61))])  # fmt: skip
def test_out_of_band_vibration_is_not_magnified(texture, kind, frames, window):
    """12 Hz against a 1-3 Hz band at alpha 20: the output moves as the input (x1.0; a
    filter passing 1 % would give x1.2). The causal Butterworth from its transient on;
    the FIR (121 taps, D = 60) away from the clip's ends, where its odd reflection turns
    a vibration that ends off zero into a step (temporal/fir.py: up to x5 here)."""
    fps = 30.0
    clip, truth = vibrating_frames(texture, 0.1, 12.0, fps, frames=frames)
    out = mm.magnify_frames(
        quantize(clip), fps=fps, method="linear", alpha=20, band=(1.0, 3.0), filter=kind
    )
    still = quantize(texture)
    measured = np.array([measure_shift(still, frame)[0] for frame in out[window]])
    assert np.ptp(measured) < 1.2 * np.ptp(truth[window])


def test_dynamic_mode_magnifies_the_change_from_the_previous_frame(texture):
    step_px, alpha = 0.05, 10
    frames = np.stack([quantize(subpixel_shift(texture, i * step_px, 0.0)) for i in range(4)])
    out = mm.magnify_frames(frames, method="linear", alpha=alpha, mode="dynamic")
    still = quantize(texture)
    for i in range(1, 4):
        # position = current + (alpha - 1) x (current - previous)
        expected = i * step_px + (alpha - 1) * step_px
        assert measure_shift(still, out[i])[0] == pytest.approx(expected, rel=0.10)


def test_a_still_clip_stays_still(texture):
    rng = np.random.default_rng(0)
    base = quantize(texture)
    noisy = np.stack([base] * 40).astype(int) + rng.integers(-1, 2, size=(40, *base.shape))
    frames = np.clip(noisy, 0, 255).astype(np.uint8)
    for mode, band in (("temporal", (1.0, 4.0)), ("static", None)):
        out = mm.magnify_frames(frames, fps=30, method="linear", alpha=10, mode=mode, band=band)
        still = [measure_shift(base, frame) for frame in out]
        assert np.max(np.abs(still)) < 0.05
    identical = np.stack([base] * 10)
    out = mm.magnify_frames(identical, method="linear", alpha=50, mode="static")
    np.testing.assert_array_equal(out, identical)


def test_alpha_one_is_the_identity(texture):
    clip, _ = vibrating_frames(texture, 0.3, 2.0, 30.0, frames=12)
    frames = quantize(clip)
    out = mm.magnify_frames(frames, fps=30, method="linear", alpha=1.0, mode="static")
    assert np.abs(out.astype(int) - frames).max() <= 1


@pytest.mark.parametrize("method", ["linear", "riesz"])
def test_attenuation_of_a_tiny_motion_survives_8_bit_output(method):
    """alpha 0.5 on a 0.1 px move changes most pixels by under half a level: rounded to
    the nearest level they fell back on the input (here 0.80 / 0.94 of the motion kept);
    the output's dither keeps alpha on average, and a still clip exactly still."""
    photo = smooth_texture(load_texture("chelsea"), (128, 160), sigma_px=3.0)
    frames = quantize(np.stack([photo, subpixel_shift(photo, 0.1, 0.0)]))
    out = mm.magnify_frames(frames, method=method, alpha=0.5, mode="static")
    kept = measure_shift(out[0], out[1])[0] / measure_shift(*frames)[0]
    # riesz's gain on this photo is about 0.86 (alpha - 1): 1 - 0.86 x 0.5 = 0.57
    assert 0.46 <= kept <= {"linear": 0.54, "riesz": 0.62}[method]
    still = np.stack([frames[0]] * 3)
    np.testing.assert_array_equal(mm.magnify_frames(still, method=method, alpha=0.5), still)


@pytest.mark.parametrize(("scale", "alpha"), [(1.0, 6.0), (0.1, 3.0)])
def test_color_method_amplifies_a_colour_oscillation_by_alpha(scale, alpha):
    """A colour oscillation of 0.6-1.4 grey levels, and one of a tenth of that (a pulse's
    size): at alpha 3 the change, 0.12-0.28 of a level, is below half a level, and the
    output survives 8-bit rounding only because it is dithered (it measured 1.0 x
    before)."""
    fps, freq_hz = 30.0, 1.5
    amplitude = scale * np.array([0.6, 1.4, 1.0])  # grey levels, well below what the eye sees
    t = np.arange(120) / fps
    yy, xx = np.mgrid[:96, :96]
    region = ((yy - 48) ** 2 + (xx - 48) ** 2 < 35**2).astype(float)
    base = np.full((96, 96, 3), 120.0)
    clip = np.stack(
        [base + region[..., None] * amplitude * np.sin(2 * np.pi * freq_hz * ti) for ti in t]
    )
    # dither so that the sub-level oscillation survives 8-bit rounding on average
    rng = np.random.default_rng(1)
    frames = quantize(clip + rng.uniform(-0.5, 0.5, clip.shape))
    out = mm.magnify_frames(
        frames, fps=fps, method="color", alpha=alpha, band=(1.0, 2.0), filter="fir"
    )
    centre = out[:, 33:63, 33:63].astype(float).mean(axis=(1, 2))  # (T, 3)
    reference = np.sin(2 * np.pi * freq_hz * t)[30:-30]
    for channel in range(3):
        signal = centre[30:-30, channel] - centre[30:-30, channel].mean()
        fitted = np.dot(signal, reference) / np.dot(reference, reference)
        assert fitted == pytest.approx(alpha * amplitude[channel], rel=0.12)


def test_streaming_and_whole_clip_results_agree(texture):
    clip, _ = vibrating_frames(texture, 0.1, 3.0, 30.0, frames=40)
    frames = quantize(clip)
    whole = mm.magnify_frames(frames, fps=30, method="linear", alpha=10, band=(2, 4), filter="fir")
    stream = mm.Stream(method="linear", alpha=10, band=(2, 4), fps=30, filter="fir")
    pieces = [o for o in (stream.push(f) for f in frames) if o is not None]
    pieces.extend(stream.flush())
    np.testing.assert_array_equal(np.stack(pieces), whole)
    assert stream.latency_frames > 0


def test_odd_frame_sizes_are_kept(texture):
    odd = texture[:97, :131]
    frames = np.stack([quantize(odd), quantize(subpixel_shift(odd, 0.1, 0))])
    out = mm.magnify_frames(frames, method="linear", alpha=10, mode="static")
    assert out.shape == frames.shape
    assert measure_shift(out[0], out[1])[0] == pytest.approx(1.0, rel=0.12)


def test_level_gains_follow_the_wavelength_cut_off():
    config = LinearConfig(lambda_c_px=16.0)
    gains = level_gains(10.0, 4, config)
    # lambda_k = 4, 8, 16, 32 px, then the residual: min(alpha - 1, alpha lambda / lambda_c - 1)
    assert gains == pytest.approx([1.5, 4.0, 9.0, 9.0, 9.0])
    reference_code = LinearConfig(lambda_c_px=16.0, amplify_finest=False, amplify_residual=False)
    assert level_gains(10.0, 4, reference_code) == pytest.approx([0.0, 4.0, 9.0, 9.0, 0.0])
    assert level_gains(0.5, 2, LinearConfig()) == pytest.approx([-0.5, -0.5, -0.5])
    # the reference code exaggerates before it caps: level 2 (11.33 exaggerated) gets 9,
    # not more than alpha - 1 (it got 11.33 when the cap was checked first)
    exaggerated = LinearConfig(lambda_c_px=24.0, exaggeration=2.0)
    assert level_gains(10.0, 5, exaggerated) == pytest.approx([4 / 3, 14 / 3, 9, 9, 9, 9])


def test_attenuation_stops_the_colour_motion_with_the_luma():
    """Below alpha 1 the colour change is not scaled by chrom_attenuation (0.1): it was,
    and alpha 0 left 0.90 of the colour channels' motion (I and Q of YIQ) while the luma
    stood still (stop-58 review; benchmarks/attenuation.py)."""
    yiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    photo = smooth_texture(load_texture("coffee"), (160, 160), sigma_px=1.5)
    frames = quantize(np.stack([photo, subpixel_shift(photo, 0.2, 0.0)]))
    for alpha in (0.0, 0.5):
        out = mm.magnify_frames(frames, method="linear", alpha=alpha, mode="static")
        before, after = frames @ yiq.T, out @ yiq.T
        for c in range(3):  # Y, I, Q
            kept = measure_shift(after[0][..., c], after[1][..., c])[0]
            kept /= measure_shift(before[0][..., c], before[1][..., c])[0]
            assert kept == pytest.approx(alpha, abs=0.06), (alpha, c, kept)


def test_tiny_frames_without_pyramid_levels_still_magnify():
    rng = np.random.default_rng(5)
    base = rng.uniform(60, 200, size=(12, 14, 3))
    frames = np.stack([quantize(base), quantize(base + 1.0)])
    out = mm.magnify_frames(frames, method="linear", alpha=3, mode="static")
    # a 1-level change of every pixel comes out as a 3-level change; the reference is kept
    np.testing.assert_array_equal(out[0], frames[0])
    diff = out[1].astype(float) - out[0].astype(float)
    assert np.abs(diff.mean() - 3.0) < 0.6
