"""Known answers for the shipped oh2018 weights (issue: Oh et al. 2018, "How it is checked").

A held-out real photo (scikit-image's ``clock``: not in the training photo pool of
``synth/photos.py``) translated by a 0.3 px sinusoid; the true magnified clip is the
same photo translated by alpha x that sinusoid (exact Fourier shifts, 8-bit quantised).
These tests need the shipped weights and are skipped, saying so, where none are
installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from motionmag import magnify_frames
from motionmag.eval.displacement import measure_shift
from motionmag.eval.metrics import ssim
from motionmag.models.registry import has_weights
from motionmag.synth.vibration import quantize, subpixel_shift

pytestmark = pytest.mark.skipif(
    not has_weights("oh2018"), reason="no oh2018 weights installed in this checkout"
)

FPS, HZ, AMPLITUDE_PX, ALPHA, FRAMES = 30.0, 2.0, 0.3, 10.0, 45


def _photo() -> np.ndarray:
    from skimage import data

    grey = data.clock()[60:220, 80:320].astype(np.float64)  # 160 x 240, real texture
    return np.repeat(grey[..., None], 3, axis=2)


def _clip(amplitude_px: float) -> np.ndarray:
    photo = _photo()
    t = np.arange(FRAMES) / FPS
    shifts = amplitude_px * np.sin(2 * np.pi * HZ * t)
    return np.stack([quantize(subpixel_shift(photo, float(s), 0.0)) for s in shifts])


def _input_shifts() -> np.ndarray:
    return AMPLITUDE_PX * np.sin(2 * np.pi * HZ * np.arange(FRAMES) / FPS)


def _gain(output: np.ndarray, frames: slice) -> float:
    """Least-squares slope of the output's measured shift against the input's."""
    measured = np.array([measure_shift(output[0], frame)[0] for frame in output[frames]])
    truth = _input_shifts()[frames] - _input_shifts()[0]
    return float(np.dot(measured, truth) / np.dot(truth, truth))


def test_static_mode_magnifies_a_held_out_photo_by_alpha():
    out = magnify_frames(_clip(AMPLITUDE_PX), fps=FPS, method="oh2018", alpha=ALPHA,
                         mode="static")  # fmt: skip
    assert 8.5 <= _gain(out, slice(1, None)) <= 11.5


def test_temporal_mode_with_a_band_around_the_motion():
    out = magnify_frames(_clip(AMPLITUDE_PX), fps=FPS, method="oh2018", alpha=ALPHA,
                         mode="temporal", band=(1.0, 3.0))  # fmt: skip
    assert 7.0 <= _gain(out, slice(15, None)) <= 13.0  # after the filter has settled


def test_static_output_is_closer_to_the_truth_than_phase_and_the_input():
    clip = _clip(AMPLITUDE_PX)
    truth = _clip(ALPHA * AMPLITUDE_PX)
    ours = magnify_frames(clip, fps=FPS, method="oh2018", alpha=ALPHA, mode="static")
    phase = magnify_frames(clip, fps=FPS, method="phase", alpha=ALPHA, mode="static")
    frames = range(1, FRAMES, 4)
    score = {
        name: np.mean([ssim(video[i], truth[i]) for i in frames])
        for name, video in (("oh2018", ours), ("phase", phase), ("input", clip))
    }
    assert score["oh2018"] > score["phase"], score
    assert score["oh2018"] > score["input"] + 0.1, score
