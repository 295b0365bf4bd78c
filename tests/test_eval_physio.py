"""The physio suites (DeepMag Tables 1-2) and their measures, against hand-computed answers.

Each measure is checked on a case whose answer is known without the code under test: a
trace scaled by 3 has gain 3, identical signals correlate 1, identical frames have SSIM 1
and infinite PSNR, a known colour change and a known sub-pixel shift are read back; the
SSIM map is checked against pytorch-msssim's SSIM. The suites run end to end on tiny
videos, where alpha 1 must leave every score at the input's.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from motionmag.cli import main
from motionmag.errors import UsageError
from motionmag.eval.metrics import psnr_db, ssim, ssim_maps
from motionmag.eval.physio import run_physio_gamma, run_physio_tasks, target_for
from motionmag.eval.physio_measures import (
    away_region,
    chest_trace,
    colour_trace,
    compensated_trace,
    correlation,
    pulse_scores,
    quality_scores,
    signal_scores,
)
from motionmag.eval.runner import MethodUnderTest
from motionmag.models.registry import has_weights
from motionmag.synth.vibration import subpixel_shift

FPS = 30.0


def in_band_signal(n: int = 300, seed: int = 0) -> np.ndarray:
    """Three sinusoids inside 0.7-2.5 Hz with random phases (T,)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    return sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) for f in (1.0, 1.3, 1.9))


# --------------------------------------------------------------------------- signal


def test_gain_of_a_signal_scaled_by_three_is_three():
    truth = in_band_signal()
    rng = np.random.default_rng(1)
    trace_in = 0.01 * truth + 0.002 * rng.standard_normal(len(truth))
    scores = signal_scores(trace_in, 3.0 * trace_in, truth, FPS, (0.7, 2.5))
    assert scores["gain"] == pytest.approx(3.0, rel=1e-12)  # the filter is linear
    assert scores["correlation"] == pytest.approx(scores["correlation_input"], abs=1e-12)
    # a large drift outside the band does not change the gain (it is filtered out)
    drift = 5.0 * np.sin(2 * np.pi * 0.1 * np.arange(len(truth)) / FPS)
    drifted = signal_scores(trace_in, 3.0 * trace_in + 0.01 * drift, truth, FPS, (0.7, 2.5))
    assert drifted["gain"] == pytest.approx(3.0, rel=0.05)
    # an inverted output has a negative gain and correlation
    inverted = signal_scores(trace_in, -2.0 * trace_in, truth, FPS, (0.7, 2.5))
    assert inverted["gain"] == pytest.approx(-2.0, rel=1e-12)
    assert inverted["correlation"] < -0.9


def test_correlation_of_identical_signals_is_one():
    x = in_band_signal()
    assert correlation(x, x) == pytest.approx(1.0)
    assert correlation(x, -x) == pytest.approx(-1.0)
    assert correlation(x, np.zeros_like(x)) == 0.0  # constant: defined as 0
    scores = signal_scores(x, x, x, FPS, (0.7, 2.5))
    assert scores["gain"] == pytest.approx(1.0)
    assert scores["correlation"] == pytest.approx(1.0)


def test_colour_trace_reads_a_known_relative_change():
    rng = np.random.default_rng(2)
    relative = 0.004 * np.sin(2 * np.pi * 1.0 * np.arange(90) / FPS)  # 3 whole periods
    base = 50 + 150 * rng.random((20, 20, 3))
    frames = base[None] * (1 + relative[:, None, None, None])
    region = np.zeros((20, 20), bool)
    region[5:15, 5:15] = True
    assert np.abs(colour_trace(frames, region) - relative).max() < 1e-12


def test_chest_trace_reads_a_known_subpixel_shift():
    import cv2

    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.random((64, 64)), (0, 0), 1.5) * 200 + 20
    dy = 0.6 * np.sin(2 * np.pi * 0.3 * np.arange(20) / 5.0)
    dy -= dy[0]
    frames = np.stack([subpixel_shift(texture, 0.0, d) for d in dy])
    region = np.zeros((64, 64), bool)
    region[16:48, 16:48] = True
    assert np.abs(chest_trace(frames, region, 1.0) - dy).max() < 0.02


# --------------------------------------------------------------------------- artifacts


def test_ssim_of_identical_frames_is_one_and_the_map_matches_pytorch_msssim():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (3, 40, 33, 3), dtype=np.uint8)
    assert np.allclose(ssim_maps(a, a), 1.0, atol=1e-6)
    assert psnr_db(a, a) == math.inf
    b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    maps = ssim_maps(b, a)
    assert maps.shape == (3, 30, 23)
    for t in range(3):
        assert maps[t].mean() == pytest.approx(ssim(b[t], a[t]), abs=1e-5)
    # one grey level everywhere: MSE 1, PSNR 20 log10(255)
    c = np.full((2, 16, 16, 3), 100, np.uint8)
    assert psnr_db(c + 1, c) == pytest.approx(20 * math.log10(255.0))


def test_ssim_away_ignores_a_change_inside_the_target():
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    target = np.zeros((2, 64, 64), bool)
    target[:, 24:40, 24:40] = True
    changed = frames.copy()
    changed[:, 24:40, 24:40] = 255 - changed[:, 24:40, 24:40]  # inverted
    away = away_region(target, margin_px=8)
    assert not away[20:44, 20:44].any() and away[:10].all()  # 8 px margin around the square
    scores = quality_scores(frames, changed, away)
    assert scores["ssim"] < 0.9
    assert scores["ssim_away"] == pytest.approx(1.0, abs=1e-6)
    assert scores["psnr_db"] < 30


# --------------------------------------------------------------------------- suites


def test_target_follows_the_method():
    assert target_for("color").name == "pulse" and target_for("deepmag-color").name == "pulse"
    assert target_for("phase").name == "respiration"
    assert target_for("phase").band_hz == (0.16, 0.5)


def test_identity_leaves_every_score_at_the_input_and_evm_magnifies_the_pulse():
    """color at alpha 1 is the identity; on the still task it magnifies the pulse in
    proportion to alpha - 1, and on task D (random re-orientation) its artifacts cost PSNR
    (Table 1)."""
    method = MethodUnderTest("color")
    small = {"n": 1, "size_px": 48, "progress": False, "duration_s": 4.0}
    same = run_physio_tasks(method, alpha=1.0, tasks=("A", "D"), **small)
    assert same.method == "color (alpha 1)" and same.x_labels == ["A", "D"]
    for level in same.levels:
        values = level.values
        assert values["psnr_db"] == math.inf and values["ssim"] == pytest.approx(1.0, abs=1e-6)
        assert values["ssim_away"] == pytest.approx(1.0, abs=1e-6)
        assert values["gain"] == pytest.approx(1.0)
        assert values["correlation"] == pytest.approx(values["correlation_input"])
        # the pulse's extra scores: the identity keeps them at the input's, and the ideal
        # render at alpha 1 is the input itself (same scene, same noise)
        assert values["gain_compensated"] == pytest.approx(1.0)
        assert values["correlation_compensated"] == pytest.approx(
            values["correlation_compensated_input"]
        )
        assert values["correlation_ideal"] == pytest.approx(values["correlation_input"])
    loud = run_physio_tasks(method, alpha=60.0, tasks=("A", "D"), **small)
    still, moving = (level.values for level in loud.levels)
    assert moving["psnr_db"] < still["psnr_db"] - 5
    # the pulse's gain grows as alpha - 1 (the output is dithered, so a change below
    # half a level is not rounded away): at 48 px the coarse level spreads the skin's
    # change over its surroundings, so the slope is below 1 but the same at both alphas
    quiet = run_physio_tasks(method, alpha=10.0, tasks=("A",), **small).levels[0].values
    assert quiet["gain"] > 1.3  # rounded to the nearest level: 1.00
    slope_10, slope_60 = (quiet["gain"] - 1.0) / 9.0, (still["gain"] - 1.0) / 59.0
    assert slope_60 == pytest.approx(slope_10, rel=0.15)


def test_gamma_sweep_is_deepmag_only():
    with pytest.raises(UsageError):
        run_physio_gamma(MethodUnderTest("color"), n=1, size_px=48, progress=False)


@pytest.mark.skipif(not has_weights("deepmag-color"), reason="no deepmag-color weights")
def test_gamma_sweep_gain_grows_with_the_step():
    from motionmag.deepmag.calibration import calibration_for
    from motionmag.deepmag.magnify import GATE_SIGMAS, SMOOTH_CELLS, STEP, WEIGHT_SMOOTH_S
    from motionmag.models.registry import model_card

    # 10 s: on 4 s clips the zero-phase filter's ends dominate the smoothed change
    result = run_physio_gamma(
        MethodUnderTest("deepmag-color"), n=1, size_px=48, progress=False, duration_s=10.0,
        multiples=(0.5, 4.0),
    )  # fmt: skip
    low, high = (level.values for level in result.levels)
    assert high["gain"] > low["gain"] > 0  # measured 2.19 and 1.11
    assert high["psnr_db"] < low["psnr_db"]
    # the expected gain is the model card's curve for the settings the method runs with
    settings = (SMOOTH_CELLS, GATE_SIGMAS, STEP, WEIGHT_SMOOTH_S)
    curve = calibration_for(model_card("deepmag-color"), *settings)["curve"]
    at_4x = next(p["gain"] for p in curve if p["n_gamma"] == pytest.approx(20 * 4 * 6e-5))
    assert high["gain_calibrated"] == pytest.approx(at_4x)


@pytest.mark.skipif(not has_weights("deepmag-color"), reason="no deepmag-color weights")
def test_pulse_scores_agree_with_deepmag_calibration():
    """Two measurers of the pulse gain, the suite's and the calibration's, agree."""
    from motionmag import magnify_frames
    from motionmag.deepmag.calibration import pulse_amplitude, skin_region
    from motionmag.synth.physio import PhysioConfig, make_physio_video

    video = make_physio_video(1, 0, PhysioConfig(size_px=64, duration_s=4.0), split="test")
    out = magnify_frames(
        video.frames, fps=video.fps, method="deepmag-color", alpha=3.0, mode="temporal"
    )
    region = skin_region(video.skin_mask)
    pulse = video.truth["pulse"]
    expected = pulse_amplitude(out, region, pulse, FPS) / pulse_amplitude(
        video.frames, region, pulse, FPS
    )
    assert pulse_scores(video, out)["gain"] == pytest.approx(expected, rel=1e-9)


def test_compensated_trace_reads_back_a_known_relative_change():
    rng = np.random.default_rng(3)
    pulse_free = rng.uniform(50, 200, (40, 12, 12, 3))
    masks = np.zeros((40, 12, 12), bool)
    for t in range(40):  # a skin patch that moves: the mask follows it frame by frame
        masks[t, 2 + t % 5 : 8 + t % 5, 3:9] = True
    change = 0.004 * np.sin(np.arange(40) / 3.0)
    frames = pulse_free.copy()
    for t in range(40):
        frames[t][masks[t]] *= 1.0 + change[t]
    frames[:, ~masks.any(axis=0)] += 30.0  # off the skin: ignored
    assert np.allclose(compensated_trace(frames, pulse_free, masks), change, atol=1e-12)


def test_compensated_pulse_survives_random_head_motion_where_the_skin_mean_does_not():
    """Task D: the mean skin colour of the input hardly follows the pulse (the head's
    shading dominates), yet a render with the pulse x 3 (a perfect magnifier) reads gain
    3 and a near-perfect correlation on the compensated trace."""
    from motionmag.eval.physio import pulse_references
    from motionmag.synth.physio import PhysioConfig, make_physio_video

    config = PhysioConfig(size_px=64, duration_s=10.0, task="D")
    video, (free, ideal) = pulse_references(0, 0, config, alpha=3.0)
    # one pass gives what three renders give
    assert np.array_equal(video.frames, make_physio_video(0, 0, config, "test").frames)
    assert np.allclose(
        free,
        make_physio_video(0, 0, config, "test", keep_float=True, pulse_scale=0.0).frames_float,
    )
    separate = make_physio_video(0, 0, config, "test", pulse_scale=3.0).frames
    assert np.abs(ideal.astype(int) - separate).max() <= 1
    assert np.mean(ideal != separate) < 1e-3
    scores = pulse_scores(video, ideal, pulse_free=free, ideal=ideal)
    assert scores["correlation_compensated_input"] > 0.8
    assert scores["correlation_compensated_input"] > scores["correlation_input"] + 0.3
    assert scores["gain_compensated"] == pytest.approx(3.0, rel=0.1)
    assert scores["correlation_compensated"] > 0.95
    assert scores["correlation_ideal"] == pytest.approx(scores["correlation"])


def test_cli_runs_the_physio_tasks_suite(tmp_path, capsys):
    out_json, out_png = tmp_path / "p.json", tmp_path / "p.png"
    args = ["eval", "color", "--suite", "physio-tasks", "--n", "1", "--size", "48", "--quiet"]
    assert main([*args, "--alpha", "1", "--json", str(out_json), "--plot", str(out_png)]) == 0
    printed = capsys.readouterr().out
    assert "color (alpha 1)" in printed and "correlation_input" in printed
    (result,) = json.loads(out_json.read_text())["results"]
    assert result["x_labels"] == ["A", "B", "C", "D"] and result["settings"]["alpha"] == 1.0
    assert out_png.stat().st_size > 5_000
    assert main([*args, "--alpha", "0"]) == 2
