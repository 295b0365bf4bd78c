"""`measure`, `spectrum` and `eval` against known answers (the stop-49 review).

Found by a review that measured clips of known motion: `spectrum` never looked below its
third frequency bin (a 0.2 Hz breath in 10 s read 0.3 Hz); `--stabilize` with a region
covering the whole frame registered the motion away (0.006 px for 0.3); the same
vertical motion read -90 degrees in one clip and 90 in another; a band holding no cycle
and a `--freq` outside `--band` read about 0; the CSV held raw displacements while the
text was band-passed; `eval` ran with flags no chosen suite reads.
"""

from __future__ import annotations

import numpy as np
import pytest

from cli_run import one_sentence, run
from clip_io import write_clip
from motionmag.eval import region_motion as rm
from motionmag.eval.spectrum import region_spectrum
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, vibrating_frames


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return smooth_texture(load_texture("astronaut"), (64, 80), sigma_px=1.5)


def _clip(path, image, amplitude_px, hz, fps, frames, direction_deg=0.0) -> str:
    clip, _ = vibrating_frames(image, amplitude_px, hz, fps, frames, direction_deg)
    return str(write_clip(path, quantize(clip), fps))


def test_spectrum_finds_a_slow_breath(tmp_path, image):
    """0.5 px at 0.2 Hz for 10 s: two cycles, the spectrum's second bin."""
    breath = _clip(tmp_path / "breath.mkv", image, 0.5, 0.2, 10.0, 100)
    assert region_spectrum(breath).peak_hz == pytest.approx(0.2, abs=0.01)
    vibration = _clip(tmp_path / "fast.mkv", image, 0.3, 3.0, 30.0, 60)  # still found
    assert region_spectrum(vibration).peak_hz == pytest.approx(3.0, abs=0.1)


def test_stabilizing_on_the_region_itself_is_refused(tmp_path, image, capsys):
    source = _clip(tmp_path / "v.mkv", image, 0.3, 2.0, 30.0, 30)
    for command in (("measure", source), ("spectrum", source, "-o", tmp_path / "s.png")):
        code, err = run(capsys, *command, "--stabilize", "--quiet")
        assert code == 2 and one_sentence(err) and "leaves under 10 %" in err, err
    assert not (tmp_path / "s.png").exists()


def test_the_same_vertical_motion_reads_the_same_direction(tmp_path, image):
    small = _clip(tmp_path / "small.mkv", image, 0.3, 2.0, 30.0, 60, 90.0)
    large = _clip(tmp_path / "large.mkv", image, 3.0, 2.0, 30.0, 60, 90.0)
    directions = [rm.region_motion(p).summary()["direction_deg"] for p in (small, large)]
    assert directions == pytest.approx([90.0, 90.0], abs=1.0)


def test_a_second_video_reads_its_axis_the_way_the_first_does():
    """Input straight down (90 deg), output tilted 2 deg past vertical: on its own the
    output's axis reads -88 deg (x >= 0); next to the input it reads 92."""
    t = np.arange(60) / 30.0
    wave = np.sin(2 * np.pi * 2.0 * t)
    tilt = np.radians(92.0)
    first = rm.RegionMotion("in.mkv", 30.0, (0, 0, 8, 8), 0, 0 * wave, 0.3 * wave)
    second = rm.RegionMotion(
        "out.mkv", 30.0, (0, 0, 8, 8), 0, 3 * np.cos(tilt) * wave, 3 * np.sin(tilt) * wave
    )
    assert second.summary()["direction_deg"] == pytest.approx(-88.0, abs=0.01)
    regions, text = rm.describe_regions([[first], [second]])
    read = [entry["direction_deg"] for entry in regions[0]["videos"]]
    assert read == pytest.approx([90.0, 92.0], abs=0.01)
    assert "along 92 deg" in text and "-88" not in text
    assert rm.axis_near(170.0, -5.0) == pytest.approx(-10.0)
    assert rm.axis_near(10.0, -5.0) == 10.0


def test_a_band_or_frequency_that_holds_nothing_is_refused(tmp_path, image, capsys):
    source = _clip(tmp_path / "v.mkv", image, 0.3, 2.0, 30.0, 60)  # 2 s
    code, err = run(capsys, "measure", source, "--band", "0.05", "0.1", "--quiet")
    assert code == 2 and one_sentence(err) and "holds no full cycle in the 2 s" in err, err
    code, err = run(capsys, "measure", source, "--freq", "2", "--band", "3", "5", "--quiet")
    assert code == 2 and one_sentence(err) and "outside --band 3 5" in err, err
    code, err = run(capsys, "measure", source, "--end", "0.1", "--quiet")  # 3 frames asked for
    assert code == 2 and one_sentence(err) and "widen the window" in err, err
    for flag in ("--csv", "--json"):  # a wrong file ending, refused before any reading
        code, err = run(capsys, "measure", source, flag, tmp_path / "motion.txt", "--quiet")
        assert code == 2 and one_sentence(err) and f"not a .{flag[2:]} file" in err, err


def test_the_csv_holds_the_band_passed_series_the_text_is_of(tmp_path, image, capsys):
    source = _clip(tmp_path / "v.mkv", image, 0.3, 2.0, 30.0, 60)
    csv = tmp_path / "m.csv"
    code, _ = run(capsys, "measure", source, "--band", "1", "4", "--csv", csv, "--quiet")
    assert code == 0
    header, *rows = csv.read_text().splitlines()
    assert header.endswith(",band_dx_px,band_dy_px")
    band_dx = np.array([float(r.split(",")[6]) for r in rows])
    summary = rm.region_motion(source, band=(1, 4)).summary()
    assert np.sqrt(np.mean(band_dx**2)) == pytest.approx(summary["rms_px"], rel=0.02)


@pytest.mark.parametrize(
    ("flags", "pattern"),
    [
        (("--alpha", "5"), "--alpha is read only by the physio-tasks suite, which this run"),
        (("--ruler", "farneback"), "--ruler is read by the real-video suite only"),
    ],
)
def test_eval_refuses_a_flag_no_chosen_suite_reads(capsys, flags, pattern):
    code, err = run(capsys, "eval", "linear", "--suite", "subpixel", "--n", "1", *flags)
    assert code == 2 and one_sentence(err) and pattern in err, err


def test_compared_runs_are_labelled_and_other_settings_noted(tmp_path, capsys):
    from motionmag.cli import main

    earlier = tmp_path / "e1.json"
    base = ["eval", "phase", "--suite", "subpixel", "--n", "1", "--quiet"]
    assert run(capsys, *base, "--size", "64", "--json", earlier)[0] == 0
    assert main([*base, "--size", "96", "--compare", str(earlier)]) == 0
    printed = capsys.readouterr()
    assert "phase (e1.json)" in printed.out  # two "phase" columns no more
    assert "run with other settings (size_px)" in printed.err, printed.err
    code, err = run(capsys, "eval", "phase", "--suite", "noise-small", "--n", "1", "--size",
                    "64", "--quiet", "--compare", earlier)  # fmt: skip
    assert code == 0 and "has no results of the suites to run (noise-small)" in err, err


def test_a_blank_magnification_error_is_explained(tmp_path, image, capsys):
    from motionmag.cli import main

    source = _clip(tmp_path / "v.mkv", image, 0.3, 2.0, 30.0, 8)  # sub-pixel throughout
    argv = ["eval", "linear", "--suite", "real-video", "--video", source, "--quiet"]
    assert main(argv) == 0
    assert "no magnification error: it counts pixels whose input motion is at least 0.5 px" in (
        capsys.readouterr().out
    )


def test_methods_json_gives_speeds_as_numbers(capsys):
    import json

    from motionmag.cli import main

    assert main(["methods", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    linear = rows["linear"]["speed_fps"]
    assert linear["mode"] == "temporal" and all(v > 0 for v in linear["fps"].values())
    assert rows["linear"]["speed"].startswith(f"{linear['fps']['640x360']:g} @640x360")


def test_a_closed_pipe_ends_quietly(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    command = Path(sys.executable).with_name("motionmag")
    process = subprocess.Popen(
        [str(command), "methods"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdout.close()  # `motionmag methods | head -0`
    stderr = process.stderr.read().decode()
    assert process.wait() == 141 and "error" not in stderr, stderr


def test_spectrum_names_the_fundamental_of_a_large_motion(tmp_path, image):
    """8 px at 1 Hz changes intensities with a strong 2 Hz harmonic; weighting power by
    frequency (to flatten natural video's 1/f fall) made the harmonic the peak, and the
    suggested band (1.4-2.6 Hz) left the motion out. Small motions keep their peak."""
    noise = np.random.default_rng(3).uniform(0, 255, (96, 128, 3))
    fine = smooth_texture(noise, (96, 128), sigma_px=2.0)
    fine = (fine - fine.min()) / (fine.max() - fine.min()) * 200 + 25
    large = _clip(tmp_path / "large.mkv", fine, 8.0, 1.0, 30.0, 150)
    spectrum = region_spectrum(large)
    at = {f: spectrum.power[np.argmin(np.abs(spectrum.freqs_hz - f))] for f in (1.0, 2.0)}
    assert at[1.0] < 2 * at[2.0]  # the harmonic wins once weighted by f (the test can fail)
    assert spectrum.peak_hz == pytest.approx(1.0, abs=0.05)
    low, high = spectrum.suggested_band()
    assert low < 1.0 < high
    for hz in (1.0, 2.0, 5.0):
        small = _clip(tmp_path / f"small{hz}.mkv", image, 0.5, hz, 30.0, 90)
        assert region_spectrum(small).peak_hz == pytest.approx(hz, abs=0.1)


def test_a_window_of_one_cycle_gives_the_gain_not_a_ratio_of_noise(tmp_path, image, capsys):
    """0.3 and 3 px at 2 Hz, measured over 0.5 s (one cycle): the lowest frequency the
    reader shows is 4 Hz, where both sinusoids are noise, and "moves x0.34 as much" was
    the headline. The in-phase gain (x10) is given instead, with a line saying why."""
    small = _clip(tmp_path / "a03.mkv", image, 0.3, 2.0, 30.0, 60)
    large = _clip(tmp_path / "a30.mkv", image, 3.0, 2.0, 30.0, 60)
    from motionmag.cli import main

    code = main(["measure", small, large, "--start", "1", "--end", "1.5", "--quiet"])
    text = capsys.readouterr().out
    assert code == 0, text
    ratio = float(text.split("a30.mkv moves x")[1].split()[0])
    assert ratio == pytest.approx(10.0, rel=0.05) and "(the in-phase gain," in text
    assert "fewer than two cycles" in text
    comparison = rm.compare(rm.region_motion(small), rm.region_motion(large))  # 2 s: fine
    assert comparison["sinusoid_share"] > 0.9
    assert rm.ratio_text(comparison).startswith("x10.0")


def test_videos_of_different_rates_are_not_compared(tmp_path, image, capsys):
    """The same frames at 30 and 25 fps read 2.0 and 1.67 Hz and printed "moves x1.00":
    one sentence now, up front; --fps reads both at one rate."""
    clip, _ = vibrating_frames(image, 0.3, 2.0, 30.0, 60)
    at30 = write_clip(tmp_path / "a30.mkv", quantize(clip), 30.0)
    at25 = write_clip(tmp_path / "a25.mkv", quantize(clip), 25.0)
    code, err = run(capsys, "measure", at30, at25, "--quiet")
    assert code == 2 and one_sentence(err) and "runs at 25 fps" in err, err
    assert run(capsys, "measure", at30, at25, "--fps", 30, "--quiet")[0] == 0
    from motionmag.errors import UsageError

    with pytest.raises(UsageError, match="runs at 25 fps"):
        rm.compare(rm.region_motion(str(at30)), rm.region_motion(str(at25)))
    rm.check_same_rate("a.mp4", 30000 / 1001, "c.mp4", 2997 / 100)  # both "29.97": one rate
    with pytest.raises(UsageError, match=r"runs at 29\.97 fps and 'a\.mp4' at 30"):
        rm.check_same_rate("a.mp4", 30.0, "c.mp4", 30000 / 1001)


def test_a_large_region_reads_the_same_whatever_its_width(tmp_path):
    """A region over 320 px is shrunk by a whole factor; one whose side that factor does
    not divide was resized to w // factor px but scaled back by the factor: 0.3 % low
    (2.9930 px for 3.0 at 343 px wide)."""
    texture = smooth_texture(load_texture("astronaut"), (220, 420), sigma_px=2.0)
    source = _clip(tmp_path / "wide.mkv", texture, 3.0, 2.0, 30.0, 45)
    amplitudes = [
        rm.region_motion(source, roi).summary()["amplitude_px"]
        for roi in ((0, 0, 343, 200), (0, 0, 400, 200), (10, 5, 399, 201))
    ]
    assert max(amplitudes) - min(amplitudes) < 0.0015, amplitudes
    assert amplitudes[0] == pytest.approx(3.0, abs=0.005)


def test_a_frequency_chosen_with_freq_reads_its_own_ratio():
    """--freq reads a small component beside a large one, which holds little of the
    motion by design: its amplitude ratio is the headline, not the whole motion's gain
    (the sinusoid-share rule gave x1.09 for a component magnified x10)."""
    t = np.arange(300) / 30.0
    zero = np.zeros_like(t)

    def motion(path: str, amplitude_5hz: float) -> rm.RegionMotion:
        dx = 3 * np.sin(2 * np.pi * t) + amplitude_5hz * np.sin(2 * np.pi * 5 * t)
        return rm.RegionMotion(path, 30.0, (0, 0, 64, 64), 0, dx, zero)

    small, large = motion("a.mkv", 0.3), motion("b.mkv", 3.0)
    chosen = rm.compare(small, large, freq_hz=5.0)
    assert chosen["sinusoid_share"] is None and rm.ratio_text(chosen) == "x10.00"
    assert rm.compare(small, large)["sinusoid_share"] > 0.9  # at the peak: 1 Hz, the bulk
