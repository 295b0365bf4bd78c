"""Warp Nearest / Warp Bilinear (FlowMag's Lagrangian baselines) against known motion."""

from __future__ import annotations

import numpy as np
import pytest

from motionmag.cli import main
from motionmag.errors import UsageError
from motionmag.eval.displacement import measure_shift
from motionmag.magnify.api import magnify_frames
from motionmag.magnify.registry import default_method, get_method, methods
from motionmag.magnify.warp import HOLE_WEIGHT, WarpOptions, forward_splat, warp_magnify
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift
from motionmag.video import VideoReader, VideoWriter


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    """A smooth photo texture kept away from 0 (so a black unfilled hole would show)."""
    image = smooth_texture(load_texture("astronaut"), (96, 128), sigma_px=2.0)
    return 40.0 + 0.8 * image


def _pair(texture: np.ndarray, dx: float, dy: float) -> np.ndarray:
    return np.stack([quantize(texture), quantize(subpixel_shift(texture, dx, dy))])


@pytest.mark.parametrize("shift", [(0.6, 0.0), (0.5, -0.4), (0.8, 0.5)])
def test_warp_bilinear_magnifies_a_known_shift_by_alpha(texture, shift):
    alpha = 4.0
    frames = _pair(texture, *shift)
    out = magnify_frames(frames, method="warp-bilinear", alpha=alpha, mode="static")
    assert out.dtype == np.uint8 and out.shape == frames.shape
    np.testing.assert_array_equal(out[0], frames[0])  # the reference is left alone
    border = int(np.ceil(alpha * max(abs(s) for s in shift))) + 8
    measured = np.array(measure_shift(frames[0], out[1], border_px=border))
    expected = alpha * np.array(shift)
    assert np.linalg.norm(measured - expected) <= 0.15 * np.linalg.norm(expected)


@pytest.mark.parametrize("estimator", ["farneback", "lk"])
def test_warp_bilinear_by_another_flow_magnifies_a_known_shift_by_alpha(texture, estimator):
    """``estimator=lk`` splats by flowmag's training flow (the paper's Warp-baseline
    pairing); like DIS it must give alpha x a known sub-pixel shift."""
    alpha, shift = 4.0, (0.5, -0.4)
    frames = _pair(texture, *shift)
    out = magnify_frames(frames, method="warp-bilinear", alpha=alpha, estimator=estimator)
    measured = np.array(measure_shift(frames[0], out[1], border_px=12))
    expected = alpha * np.array(shift)
    assert np.linalg.norm(measured - expected) <= 0.15 * np.linalg.norm(expected), measured


def test_warp_alpha_one_redraws_the_input_frame(texture):
    frames = _pair(texture, 0.7, 0.3)
    out = magnify_frames(frames, method="warp-bilinear", alpha=1.0, mode="static")
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(out[1][inner].astype(float) - frames[1][inner]).mean() < 1.0
    dx, dy = measure_shift(frames[0], out[1], border_px=8)
    assert dx == pytest.approx(0.7, abs=0.05) and dy == pytest.approx(0.3, abs=0.05)


def test_warp_nearest_moves_by_the_rounded_magnified_shift(texture):
    # every pixel moves by the same rounded amount: round(4 * 0.6) = 2 px, no blur
    frames = _pair(texture, 0.6, 0.0)
    out = magnify_frames(frames, method="warp-nearest", alpha=4.0)
    dx, dy = measure_shift(frames[0], out[1], border_px=12)
    assert dx == pytest.approx(2.0, abs=0.15) and abs(dy) < 0.15


def test_holes_are_inpainted(texture):
    # a 3.2 px magnified shift to the right leaves the left 3 columns without sources
    frames = _pair(texture, 0.8, 0.0)
    raw = warp_magnify(frames[0], frames[1], 4.0, "bilinear", WarpOptions(inpaint=False))
    filled = warp_magnify(frames[0], frames[1], 4.0, "bilinear")
    assert raw.dtype == filled.dtype == np.uint8 and filled.shape == frames[0].shape
    holes = (raw == 0).all(axis=2)
    assert holes[:, :3].all() and not holes[:, 5:].any()
    assert filled[:, :3].min() >= 30  # texture lies in [40, 244]: the holes got texture
    np.testing.assert_array_equal(filled[:, 5:], raw[:, 5:])  # only the holes change


def test_forward_splat_kernels_on_constant_flows():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (12, 16)).astype(np.float32)
    flow = np.zeros((12, 16, 2), np.float32)
    flow[..., 0] = 1.4  # nearest: every pixel to x + 1
    out, weight = forward_splat(image, flow, kernel="nearest")
    np.testing.assert_allclose(out[:, 1:], image[:, :-1])
    assert (weight[:, 0] == 0).all()
    flow[..., 0] = 2.0  # bilinear with an integer flow is an exact shift
    out, weight = forward_splat(image, flow, kernel="bilinear")
    np.testing.assert_allclose(out[:, 2:], image[:, :-2], rtol=1e-6)
    np.testing.assert_allclose(weight[:, 2:], 1.0)
    flow[..., 0] = 0.5  # half a pixel: each target is the mean of its two sources
    out, weight = forward_splat(image, flow, kernel="bilinear")
    np.testing.assert_allclose(out[:, 1:], 0.5 * (image[:, 1:] + image[:, :-1]), rtol=1e-5)
    assert weight[:, 0] == pytest.approx(0.5) and weight[:, 0].min() > HOLE_WEIGHT


def test_splat_collisions_keep_the_larger_motion_in_front():
    image = np.zeros((5, 7), np.float32)
    image[2, 1] = 100.0  # moves 3 px right onto (2, 4), where a still pixel of 7 is
    image[2, 4] = 7.0
    flow = np.zeros((5, 7, 2), np.float32)
    flow[2, 1, 0] = 3.0
    for kernel in ("nearest", "bilinear"):
        out, _ = forward_splat(image, flow, kernel=kernel)
        assert out[2, 4] == pytest.approx(100.0)
        out, _ = forward_splat(image, flow, kernel=kernel, depth_tolerance_px=np.inf)
        assert out[2, 4] == pytest.approx(53.5)  # plain average when the test is off


def test_static_reference_and_dynamic_mode(texture):
    clip = np.stack([quantize(subpixel_shift(texture, 0.5 * t, 0.0)) for t in range(4)])
    later = magnify_frames(clip, method="warp-bilinear", alpha=3.0, reference=2)
    assert later.shape == clip.shape
    np.testing.assert_array_equal(later[2], clip[2])
    dx, _ = measure_shift(clip[2], later[0], border_px=12)  # -1 px from the reference, x3
    assert dx == pytest.approx(-3.0, abs=0.3)
    dynamic = magnify_frames(clip, method="warp-bilinear", alpha=3.0, mode="dynamic")
    np.testing.assert_array_equal(dynamic[0], clip[0])
    dx, _ = measure_shift(clip[2], dynamic[3], border_px=12)  # 0.5 px from frame 2, x3
    assert dx == pytest.approx(1.5, abs=0.15)
    with pytest.raises(UsageError, match="temporal"):
        magnify_frames(clip, method="warp-nearest", band=(1.0, 3.0), fps=30.0)
    with pytest.raises(UsageError, match="estimator"):
        magnify_frames(clip, method="warp-nearest", estimator="raft")


def test_registry_and_command_line(tmp_path, texture, capsys):
    names = [spec.name for spec in methods()]
    assert "warp-nearest" in names and "warp-bilinear" in names
    assert get_method("warp-bilinear").modes == ("static", "dynamic")
    # a baseline is never the default (the learned/linear rule is tested in test_registry)
    assert not default_method().startswith("warp-")
    clip = np.stack([quantize(subpixel_shift(texture, 0.3 * t, 0.0)) for t in range(5)])
    source, target = tmp_path / "in.mkv", tmp_path / "out.mp4"
    with VideoWriter(source, 30.0, clip.shape[2], clip.shape[1]) as writer:
        for frame in clip:
            writer.write(frame)
    argv = ["magnify", str(source), "-o", str(target), "--method", "warp-bilinear", "--alpha", "5"]
    code = main([*argv, "--quiet"])
    capsys.readouterr()
    assert code == 0
    with VideoReader(target) as reader:
        out = np.stack(list(reader))
    assert out.shape == clip.shape
    dx, _ = measure_shift(out[0], out[2], border_px=12)  # 0.6 px in, x5, through H.264
    assert dx == pytest.approx(3.0, abs=0.45)


def test_default_method_follows_the_model_card(tmp_path, monkeypatch):
    """oh2018 becomes the default only with installed weights whose card says so."""
    import json

    monkeypatch.setenv("MOTIONMAG_WEIGHTS_DIR", str(tmp_path))
    assert default_method() == "linear"  # no weights at all
    (tmp_path / "oh2018.safetensors").write_bytes(b"")
    assert default_method() == "linear"  # weights, but no card
    (tmp_path / "oh2018.json").write_text(json.dumps({"default": False}))
    assert default_method() == "linear"  # card says it lost to phase
    (tmp_path / "oh2018.json").write_text(json.dumps({"default": True}))
    assert default_method() == "oh2018"


def test_frames_smaller_than_dis_allows_are_padded(texture):
    """OpenCV's DIS refuses frames under about 12 px a side; ``flow_dis`` mirror-pads them,
    so a 6 px strip still gives its known shift and the Warp baselines run on tiny frames."""
    from motionmag.flow.opencv import flow_dis

    a, b = _pair(texture, 0.5, 0.0)
    flow = flow_dis(a[40:46, 40:80], b[40:46, 40:80])
    assert flow.shape == (6, 40, 2)
    assert abs(float(flow[..., 0].mean()) - 0.5) < 0.05 and abs(float(flow[..., 1].mean())) < 0.05
    tiny = np.stack([a[40:48, 40:50], b[40:48, 40:50]])
    for method in ("warp-bilinear", "warp-nearest"):
        out = magnify_frames(tiny, method=method, alpha=2.0)
        assert out.shape == tiny.shape and out.dtype == np.uint8
