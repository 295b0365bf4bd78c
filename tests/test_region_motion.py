"""`motionmag measure`: a region's motion in px against known sinusoids."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clip_io import write_clip
from motionmag.cli import main
from motionmag.errors import InputError, UsageError
from motionmag.eval import region_motion as rm
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift, vibrating_frames

FPS, FRAMES, HZ, DIRECTION_DEG = 30.0, 60, 2.0, 30.0


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return smooth_texture(load_texture("astronaut"), (96, 128), sigma_px=1.5)


def _write(path, clip: np.ndarray) -> str:
    return str(write_clip(path, quantize(clip), FPS))


@pytest.fixture(scope="module")
def videos(tmp_path_factory, image) -> dict[str, str]:
    """The same scene vibrating 0.3 px (the input) and 3 px (the true x10 output)."""
    folder = tmp_path_factory.mktemp("measure")
    out = {}
    for name, amplitude in (("small", 0.3), ("large", 3.0)):
        clip, _ = vibrating_frames(image, amplitude, HZ, FPS, FRAMES, DIRECTION_DEG)
        out[name] = _write(folder / f"{name}.mkv", clip)
    return out


def test_a_known_sinusoid_is_measured_in_px_hz_and_degrees(videos):
    summary = rm.region_motion(videos["small"]).summary()
    assert summary["amplitude_px"] == pytest.approx(0.3, abs=0.01)
    assert summary["peak_hz"] == pytest.approx(HZ, abs=0.05)
    assert summary["direction_deg"] == pytest.approx(DIRECTION_DEG, abs=2.0)
    assert summary["peak_to_peak_px"] == pytest.approx(0.6, abs=0.03)
    assert summary["frames"] == FRAMES


def test_amplitude_spectrum_reads_a_sinusoids_amplitude_at_its_frequency():
    t = np.arange(FRAMES) / FPS  # 2 s: 2 Hz falls on bin 4
    freqs, amplitude = rm.amplitude_spectrum(0.3 * np.sin(2 * np.pi * HZ * t), FPS)
    peak = int(np.argmax(amplitude))
    assert freqs[peak] == pytest.approx(HZ) and amplitude[peak] == pytest.approx(0.3, rel=0.03)


def test_the_true_x10_clip_measures_x10_relative_to_the_input(videos):
    small, large = rm.region_motion(videos["small"]), rm.region_motion(videos["large"])
    comparison = rm.compare(small, large)
    assert comparison["amplitude_ratio"] == pytest.approx(10.0, rel=0.02)
    assert comparison["gain"] == pytest.approx(10.0, rel=0.02)
    assert comparison["correlation"] > 0.999
    # a region and a later reference frame see the same motion
    part = rm.region_motion(videos["small"], roi=(16, 16, 64, 48), reference=7).summary()
    assert part["amplitude_px"] == pytest.approx(0.3, abs=0.015)


def test_large_regions_are_reduced_and_scaled_back(videos, monkeypatch):
    monkeypatch.setattr(rm, "MAX_SIDE_PX", 48)  # 128 px wide: measured at 1/3
    summary = rm.region_motion(videos["large"]).summary()
    assert summary["amplitude_px"] == pytest.approx(3.0, rel=0.03)


def test_band_pass_removes_a_drift(tmp_path, image):
    """A 0.05 px/frame drift hides a 0.3 px, 2 Hz vibration until the band removes it."""
    _, displacement = vibrating_frames(image, 0.3, HZ, FPS, FRAMES, 0.0)
    drift = 0.05 * np.arange(FRAMES)
    moved = np.stack([subpixel_shift(image, d, 0.0) for d in drift + displacement])
    path = _write(tmp_path / "drift.mkv", moved)
    plain = rm.region_motion(path).summary()
    assert plain["peak_to_peak_px"] > 2.5  # the drift dominates
    banded = rm.region_motion(path, band=(1.0, 4.0)).summary()
    assert banded["peak_hz"] == pytest.approx(HZ, abs=0.1)
    assert banded["amplitude_px"] == pytest.approx(0.3, abs=0.03)


def test_command_line_writes_csv_json_and_plot(tmp_path, videos, capsys):
    csv, summary, plot = tmp_path / "m.csv", tmp_path / "m.json", tmp_path / "m.png"
    argv = ["measure", videos["small"], videos["large"], "--quiet"]
    assert main([*argv, "--csv", str(csv), "--json", str(summary), "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    assert "moves x10.0" in printed or "moves x9.9" in printed, printed
    rows = csv.read_text().splitlines()
    assert rows[0] == "video,region,frame,time_s,dx_px,dy_px" and len(rows) == 1 + 2 * FRAMES
    result = json.loads(summary.read_text())
    ratio = result["regions"][0]["videos"][1]["relative_to_first"]["amplitude_ratio"]
    assert ratio == pytest.approx(10, rel=0.02)
    assert plot.read_bytes()[:4] == b"\x89PNG"
    # bad requests: one sentence, status 2, nothing written
    for bad in (
        ["--roi", "100", "80", "64", "64"],
        ["--band", "4", "1"],
        ["--roi", "0", "0", "8", "8"],
        ["--plot", str(tmp_path / "m.txt")],
        ["--csv", str(csv)],
    ):
        assert main([*argv, *bad]) == 2
        assert "error" in capsys.readouterr().err
    assert main([*argv, "--roi", "10", "10", "0", "10"]) == 2
    assert "has no area" in capsys.readouterr().err
    assert not (tmp_path / "m.txt").exists()


def test_regions_moving_against_each_other_read_their_ratio_and_phase(tmp_path, image, capsys):
    """A 'mode shape': the left half moves 0.3 px, the right half 0.15 px the other way."""
    left, _ = vibrating_frames(image, 0.3, HZ, FPS, FRAMES, 0.0)
    right, _ = vibrating_frames(image, -0.15, HZ, FPS, FRAMES, 0.0)
    clip = np.concatenate([left[:, :, :64], right[:, :, 64:]], axis=2)
    path = _write(tmp_path / "shape.mkv", clip)
    one, two = rm.region_motions(path, [(4, 16, 52, 64), (72, 16, 52, 64)])
    assert one.summary()["amplitude_px"] == pytest.approx(0.3, abs=0.01)
    assert two.summary()["amplitude_px"] == pytest.approx(0.15, abs=0.01)
    shape = rm.compare(one, two)
    assert shape["amplitude_ratio"] == pytest.approx(0.5, abs=0.03)
    assert abs(shape["phase_deg"]) == pytest.approx(180, abs=5)
    assert rm.compare(one, one)["phase_deg"] == pytest.approx(0, abs=1e-6)
    # the same through the command line: one region per --roi, in one pass
    out = tmp_path / "shape.json"
    rois = ["--roi", "4", "16", "52", "64", "--roi", "72", "16", "52", "64"]
    plot = tmp_path / "shape.png"
    assert main(["measure", path, *rois, "--quiet", "--json", str(out), "--plot", str(plot)]) == 0
    assert "region 2: x=72" in capsys.readouterr().out
    from PIL import Image

    with Image.open(plot) as picture:
        assert picture.size[1] > picture.size[0] / 2  # a row per region: 12 x 8 inches
    regions = json.loads(out.read_text())["regions"]
    assert [r["roi"] for r in regions] == [[4, 16, 52, 64], [72, 16, 52, 64]]
    against = regions[1]["videos"][0]["relative_to_region_1"]
    assert against["amplitude_ratio"] == pytest.approx(shape["amplitude_ratio"])


def test_a_time_window_measures_those_frames_against_its_own_first(videos, tmp_path):
    """--start 0.5 --end 1.5: frames 15-44, displacements relative to frame 15."""
    whole = rm.region_motion(videos["small"])
    part = rm.region_motion(videos["small"], start=0.5, end=1.5)
    assert len(part.dx) == 30 and part.start_s == pytest.approx(0.5)
    np.testing.assert_allclose(part.dx, whole.dx[15:45] - whole.dx[15], atol=0.01)
    assert part.summary()["amplitude_px"] == pytest.approx(0.3, abs=0.015)  # two cycles
    csv = tmp_path / "w.csv"
    argv = ["measure", videos["small"], "--start", "0.5", "--end", "1.5", "--quiet"]
    assert main([*argv, "--csv", str(csv)]) == 0
    rows = csv.read_text().splitlines()
    assert len(rows) == 31 and rows[1].split(",")[3] == "0.500000"  # video time, s


def test_videos_of_different_lengths_are_not_compared(tmp_path, videos, image):
    clip, _ = vibrating_frames(image, 0.3, HZ, FPS, FRAMES // 2, DIRECTION_DEG)
    short = _write(tmp_path / "short.mkv", clip)
    with pytest.raises(UsageError, match="same length"):
        rm.compare(rm.region_motion(videos["small"]), rm.region_motion(short))


def test_a_motion_too_large_for_the_region_is_one_sentence(tmp_path, image):
    clip, _ = vibrating_frames(image, 12.0, HZ, FPS, 10, 0.0)
    path = _write(tmp_path / "swing.mkv", clip)
    with pytest.raises(InputError, match="moved too far from the reference frame"):
        rm.region_motion(path, roi=(40, 28, 40, 40))


def test_a_region_that_does_not_move_gets_no_ratio(tmp_path, image, capsys):
    """The left half vibrates 0.3 px, the right half stands still: measure of the input and
    a magnified copy gives the moving region its ratio and says the still one has none
    (it printed x1e40 before: a ratio to rounding error)."""
    still = np.repeat(image[None], FRAMES, axis=0)
    clips = {}
    for name, amplitude in (("in", 0.3), ("out", 3.0)):
        moving, _ = vibrating_frames(image, amplitude, HZ, FPS, FRAMES, 0.0)
        clip = np.concatenate([moving[:, :, :64], still[:, :, 64:]], axis=2)
        clips[name] = _write(tmp_path / f"{name}.mkv", clip)
    rois = ["--roi", "4", "16", "52", "64", "--roi", "72", "16", "52", "64"]
    report = tmp_path / "r.json"
    assert (
        main(["measure", clips["in"], clips["out"], *rois, "--quiet", "--json", str(report)]) == 0
    )
    text = capsys.readouterr().out
    assert "does not move measurably" in text and "e+" not in text
    regions = json.loads(report.read_text())["regions"]
    moving_ratio = regions[0]["videos"][1]["relative_to_first"]["amplitude_ratio"]
    assert moving_ratio == pytest.approx(10, rel=0.05)
    assert regions[1]["videos"][1]["relative_to_first"] == {"still": True}
    a = rm.region_motions(clips["in"], [(72, 16, 52, 64)])[0]
    with pytest.raises(InputError, match="does not move measurably"):
        rm.compare(a, a)


def test_a_ratio_at_a_frequency_where_nothing_moves_is_said_to_be_noise(
    tmp_path, videos, image, capsys
):
    """--freq where the input moves 1e-4 px read x119 without a word; a second region
    that stands still read "55 deg behind" region 1."""
    assert main(["measure", videos["small"], videos["large"], "--freq", "7", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "at 7 Hz the first moves only" in text and "that ratio is one of noise" in text
    assert main(["measure", videos["small"], videos["large"], "--quiet"]) == 0
    assert "one of noise" not in capsys.readouterr().out  # at its peak: a real ratio
    still = np.repeat(image[None], FRAMES, axis=0)
    moving, _ = vibrating_frames(image, 0.3, HZ, FPS, FRAMES, 0.0)
    clip = _write(tmp_path / "half.mkv", np.concatenate([moving[:, :, :64], still[:, :, 64:]], 2))
    rois = ["--roi", "4", "16", "52", "64", "--roi", "72", "16", "52", "64"]
    assert main(["measure", clip, *rois, "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "does not move measurably at 2 Hz" in text and "deg behind" not in text, text


def test_a_still_noisy_region_is_still_though_its_noise_passes_the_rms_floor(
    tmp_path, image, capsys
):
    """Camera noise on a still photo tracks at an RMS above 0.001 px, spread over every
    frequency: the sinusoid at its peak is far below it, and a noisy copy read x12 (review,
    stop 59). Without --band it is now said to be still, as with one."""
    rng = np.random.default_rng(3)
    still = np.repeat(image[None], FRAMES, axis=0)
    noisy = [
        _write(tmp_path / f"n{k}.mkv", still + rng.normal(0, 2.0, still.shape)) for k in (0, 1)
    ]
    a, b = (rm.region_motion(path, roi=(30, 20, 80, 56)) for path in noisy)
    along = a.along(a.axis())
    assert np.sqrt(np.mean(along**2)) > rm.STILL_PX  # the old test passed it as moving
    with pytest.raises(InputError, match="does not move measurably"):
        rm.compare(a, b)
    assert main(["measure", *noisy, "--roi", "30", "20", "80", "56", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "below what can be measured" in text and "so no ratio to it" in text, text
    assert " as much as " not in text


def test_videos_of_different_lengths_are_told_the_end_that_compares_them():
    """An output cut with --end beside its whole input: the sentence gives the --end (from
    the shorter one's start, 2 s, and length, 30 frames at 10 fps) that makes them match."""
    wave = np.sin(np.arange(100) / 3.0)
    whole = rm.RegionMotion("in.mp4", 10.0, (0, 0, 8, 8), 0, wave, 0 * wave, start_s=2.0)
    cut = rm.RegionMotion("out.mp4", 10.0, (0, 0, 8, 8), 0, wave[:30], 0 * wave[:30], start_s=2.0)
    with pytest.raises(UsageError, match=r"or measure both up to --end 5, where 'out.mp4' ends"):
        rm.compare(whole, cut)


def test_a_band_takes_a_little_off_a_short_clips_amplitude_as_the_readme_says():
    """README (Measuring motion): 0.5 px at 3 Hz, --band 2 4, 30 fps reads 0.485 px over
    90 frames, 0.495 over 300 and 0.499 over 3000: the zero-phase filter's ends."""
    readings = {}
    for frames in (90, 300, 3000):
        t = np.arange(frames) / 30.0
        wave = 0.5 * np.sin(2 * np.pi * 3.0 * t)
        motion = rm.RegionMotion("v.mkv", 30.0, (0, 0, 32, 32), 0, wave, 0 * wave, band=(2, 4))
        readings[frames] = motion.summary()["amplitude_px"]
    assert readings[90] == pytest.approx(0.485, abs=0.002)
    assert readings[300] == pytest.approx(0.495, abs=0.002)
    assert readings[3000] == pytest.approx(0.499, abs=0.001)


def test_a_drift_reads_at_the_lowest_frequency_not_below_it():
    """A drift has its power below the search's low edge (two cycles in the clip): the
    parabola through the edge bins put its vertex 16 bins lower (0.503 Hz read where the
    plot's maximum was 1.0 Hz). The peak now stays in its bin, and measure says it may be
    a drift. A sinusoid still reads its own frequency."""
    from motionmag.eval.rig import lowest_peak_hz, peak_frequency_hz

    t = np.arange(20) / 10.0
    drift = 0.05 * t + 0.002 * np.sin(2 * np.pi * 3.0 * t)
    assert peak_frequency_hz(drift, 10.0) >= lowest_peak_hz(20, 10.0) - 0.5 * 10.0 / 320
    tone = np.sin(2 * np.pi * 2.7 * np.arange(200) / 30.0)
    assert peak_frequency_hz(tone, 30.0) == pytest.approx(2.7, abs=0.01)
    motion = rm.RegionMotion("v.mkv", 10.0, (0, 0, 32, 32), 0, drift, 0 * drift)
    assert motion.summary()["peak_hz"] == pytest.approx(1.0, abs=0.02)
