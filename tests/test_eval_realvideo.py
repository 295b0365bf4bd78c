"""The real-video suite (EVALUATION.md section 4, FlowMag Sec. 4.3) against known answers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from motionmag.errors import UsageError
from motionmag.eval.realvideo import (
    default_clip,
    run_real_video,
    still_background_change,
)
from motionmag.eval.runner import MethodUnderTest
from motionmag.flow.opencv import estimate_flow, flow_dis, flow_farneback
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift

VTEST = Path("/work/shared/data/videos/vtest.avi")


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    image = smooth_texture(load_texture("astronaut"), (96, 128), sigma_px=1.5)
    return 40.0 + 0.8 * image  # in [40, 244]: a +5 offset never clips


class Fake:
    """A stand-in method: ``render(frames, alpha) -> output clip``, given modes."""

    def __init__(self, name, render, modes=("static",)):
        self.name = name
        self.render = render
        self.modes = modes

    def supports(self, mode: str) -> bool:
        return mode in self.modes

    def clip(self, frames, alpha, mode="static", fps=30.0, band=None, filter="butter", reference=0):
        assert mode in self.modes
        return self.render(np.asarray(frames), alpha)


def _identity(frames, alpha):
    return frames.copy()


def _offset(frames, alpha):  # changes every pixel by exactly +5 grey levels
    return (frames.astype(np.int16) + 5).astype(np.uint8)


@pytest.mark.parametrize("flow", [flow_dis, flow_farneback])
@pytest.mark.parametrize("shift", [(0.4, 0.0), (0.7, -0.5), (1.5, 1.0)])
def test_flow_of_a_known_shift(texture, flow, shift):
    a = quantize(texture)
    b = quantize(subpixel_shift(texture, *shift))  # b(x) = a(x - d), so a(x) = b(x + d)
    field = flow(a, b)
    assert field.shape == (96, 128, 2) and field.dtype == np.float32
    inner = field[12:-12, 12:-12]
    assert inner[..., 0].mean() == pytest.approx(shift[0], abs=0.1)
    assert inner[..., 1].mean() == pytest.approx(shift[1], abs=0.1)
    with pytest.raises(UsageError, match="estimator"):
        estimate_flow(a, b, "raft")


def test_oracle_and_identity_on_a_known_translation(texture):
    d = np.array([0.6, 0.3])
    clip = np.stack([quantize(subpixel_shift(texture, *(t * d))) for t in range(3)])

    def oracle(frames, alpha):  # exactly the alpha-magnified clip
        return np.stack([quantize(subpixel_shift(texture, *(alpha * t * d))) for t in range(3)])

    alphas = (2.0, 4.0)
    good = run_real_video(Fake("oracle", oracle), video=clip, alphas=alphas, progress=False)
    same = run_real_video(Fake("identity", _identity), video=clip, alphas=alphas, progress=False)
    assert good.suite == "real-video" and good.primary == "motion_error" and good.floor is None
    wanted = {"motion_error", "magnification_error", "background_change"}  # EVALUATION.md's
    assert wanted <= set(good.table) & set(good.plots)
    assert [level.x for level in good.levels] == list(alphas)
    assert good.settings["mode"] == "static" and good.levels[0].n == 2
    mean_motion = np.linalg.norm(d) * (1 + 2) / 2  # frames 1 and 2 move |d| and 2|d|
    for g, s in zip(good.levels, same.levels, strict=True):
        alpha = g.x
        assert g.values["motion_error"] < 0.1 * alpha * mean_motion
        assert g.values["magnification_error"] < 0.05 * alpha
        expected = (alpha - 1) * mean_motion
        assert s.values["motion_error"] == pytest.approx(expected, rel=0.1)
        assert s.values["magnification_error"] == pytest.approx(alpha - 1, rel=0.1)
        assert math.isnan(s.values["background_change"])  # everything moves: no background


def test_background_change_is_zero_for_identity_and_the_offset_for_an_offset(texture):
    # the left half moves 0.8 px, the right half is still
    clip = np.stack([quantize(texture)] * 3)
    for t in (1, 2):
        clip[t, :, :64] = quantize(subpixel_shift(texture, 0.8 * t, 0.0))[:, :64]
    same = run_real_video(Fake("id", _identity), video=clip, alphas=(4.0,), progress=False)
    assert same.levels[0].values["background_change"] == 0.0
    shifted = run_real_video(Fake("offset", _offset), video=clip, alphas=(4.0,), progress=False)
    assert shifted.levels[0].values["background_change"] == pytest.approx(5.0, abs=1e-3)
    assert still_background_change(Fake("id", _identity), clip, 10.0) == 0.0
    assert still_background_change(Fake("offset", _offset), clip, 10.0) == pytest.approx(5.0)
    # identity: flow(I0, O_t) is flow(I0, I_t) itself, so the error is (alpha - 1) x motion
    motion = same.settings["input_motion_px_mean"]
    assert same.levels[0].values["motion_error"] == pytest.approx(3 * motion, rel=1e-5)


def test_mode_falls_back_to_dynamic_and_refuses_temporal_only(texture):
    clip = np.stack([quantize(subpixel_shift(texture, 0.5 * t, 0.0)) for t in range(3)])
    dynamic = Fake("dyn", _identity, modes=("dynamic",))
    result = run_real_video(dynamic, video=clip, alphas=(3.0,), progress=False)
    assert result.settings["mode"] == "dynamic" and "dynamic" in " ".join(result.notes)
    # each frame against the previous one: 0.5 px per pair, identity misses 2 x 0.5 px
    assert result.levels[0].values["motion_error"] == pytest.approx(1.0, rel=0.1)
    with pytest.raises(UsageError, match="neither a static nor a dynamic"):
        run_real_video(Fake("t", _identity, modes=("temporal",)), video=clip, progress=False)


def test_default_clip_is_a_photo_with_moving_and_still_parts():
    clip, info = default_clip(size_px=96, frames=6, seed=0)
    assert clip.shape == (6, 72, 96, 3) and clip.dtype == np.uint8
    assert info["clip"] == "synthetic"
    np.testing.assert_array_equal(clip[3][:, 70:], clip[0][:, 70:])  # right third is still
    assert np.abs(clip[3][:, :60].astype(int) - clip[0][:, :60]).mean() > 1.0


def test_oracle_identity_and_linear_on_the_default_clip():
    def oracle(frames, alpha):  # the same non-rigid motion field rendered alpha times
        return default_clip(size_px=96, frames=len(frames), seed=0, alpha=alpha)[0]

    kwargs = {"n": 5, "size_px": 96, "alphas": (2.0, 4.0), "progress": False}
    good = run_real_video(Fake("oracle", oracle), **kwargs)
    linear = run_real_video(MethodUnderTest("linear"), **kwargs)
    assert linear.method == "linear" and linear.settings["clip"] == "synthetic"
    assert linear.settings["size"] == [96, 72] and linear.settings["pairs"] == 5
    assert any("synthetic" in note for note in linear.notes)
    assert set(linear.summary) >= {"mean_motion_error", "mean_magnification_error"}
    motion = linear.settings["input_motion_px_mean"]
    alpha = good.levels[0].x
    assert good.levels[0].values["motion_error"] < 0.25 * (alpha - 1) * motion
    assert good.levels[0].values["magnification_error"] < 0.15 * alpha
    # every run scores the re-rendered clip as a reference row: the oracle's own row
    for level in good.levels:
        rerendered = good.settings["rerendered"][f"{level.x:g}"]
        assert rerendered["motion_error"] == pytest.approx(level.values["motion_error"])
        assert rerendered["magnification_error"] == pytest.approx(
            level.values["magnification_error"], nan_ok=True
        )
    assert any("not a floor" in note for note in linear.notes)
    for level in linear.levels:
        # better than leaving the video alone, (alpha - 1) x the input motion: measured
        # 0.64 / 0.59 of it at alpha 2 / 4 (2026-12-04; `phase` 0.22 / 0.25)
        assert level.values["motion_error"] < 0.7 * (level.x - 1) * motion
        assert level.values["background_change"] < 1.0  # grey levels


@pytest.mark.skipif(not VTEST.is_file(), reason=f"dev data {VTEST} is not on this machine")
def test_vtest_identity_and_linear():
    same = run_real_video(
        Fake("identity", _identity), n=3, size_px=160, video=VTEST, alphas=(2.0,), progress=False
    )
    assert same.settings["clip"] == "vtest.avi" and same.settings["fps"] == 10.0
    assert same.settings["size"] == [160, 120] and same.settings["pairs"] == 3
    level = same.levels[0]
    assert level.values["motion_error"] == pytest.approx(same.settings["input_motion_px_mean"])
    assert level.values["background_change"] == 0.0
    linear = run_real_video(
        MethodUnderTest("linear"), n=3, size_px=160, video=VTEST, alphas=(2.0,), progress=False
    )
    assert linear.levels[0].values["background_change"] < 2.0  # grey levels


def test_a_warp_baseline_measured_with_its_own_flow_is_noted():
    """EVALUATION.md's ruler is one no method used: warp-bilinear splats by DIS by default,
    so the DIS ruler gets a note; Farneback, or the warp by LK, does not."""
    kwargs = {"n": 2, "size_px": 64, "alphas": (2.0,), "progress": False}

    def own(result) -> bool:
        return any("the ruler's own" in note for note in result.notes)

    assert own(run_real_video(MethodUnderTest("warp-bilinear"), estimator="dis", **kwargs))
    assert not own(
        run_real_video(MethodUnderTest("warp-bilinear"), estimator="farneback", **kwargs)
    )
    lk = MethodUnderTest("warp-nearest", options={"estimator": "lk"})
    assert not own(run_real_video(lk, estimator="dis", **kwargs))
