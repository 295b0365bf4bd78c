"""No command loses a file it was not asked to replace, and no setting is silently ignored.

The user-path review of 2026-12-03 found a frame-folder output with --overwrite that
deleted the folder's other files (the input among them), `live` and `measure` writing
over their input, `eval` / `bench` replacing files without --overwrite, --set values
crashing with tracebacks, --band ignored in static mode, a wrongly shaped mask stretched,
`measure` comparing videos of different sizes, --fps changing the output's rate, and
SIGTERM leaving a partial file. Each is checked here, with the input's bytes compared
before and after.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli_run import one_sentence, run
from clip_io import read_clip, write_clip, write_uneven_clip
from motionmag.cli import main
from motionmag.errors import UsageError
from motionmag.magnify.builders import option_value
from motionmag.magnify.geometry import FrameGeometry
from motionmag.magnify.mask import load_mask
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, vibrating_frames
from motionmag.video import probe

FPS = 30.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 128x96 lossless clip, 40 frames at 30 fps, vibrating 0.1 px at 3 Hz."""
    texture = smooth_texture(load_texture("astronaut"), (96, 128), sigma_px=3.0)
    frames, _ = vibrating_frames(texture, 0.1, 3.0, FPS, frames=40)
    return write_clip(tmp_path_factory.mktemp("clips") / "clip.mkv", quantize(frames), FPS)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("flags", "advice"),
    [
        (("--method", "acceleration", "--band", "0.01", "0.02"), "give a higher --band"),
        (
            ("--method", "linear", "--band", "1", "3", "--filter", "fir", "--fir-taps", "4001"),
            "give fewer --fir-taps",
        ),
    ],
)
def test_a_temporal_window_that_cannot_fit_in_memory_is_one_sentence(
    tmp_path, capsys, clip, monkeypatch, flags, advice
):
    """acceleration's filter spans 2 ceil(4 sigma) + 1 frames with sigma ~ fps / f and
    had no bound: a low band at 1080p needed 170 GB and was killed without a message. The
    FIR ring is now measured against the free memory when it is made (here 50 MB free);
    the output is not left behind."""
    from motionmag import memory_free

    monkeypatch.setattr(memory_free, "available_bytes", lambda: 50 * 10**6)
    out = tmp_path / "out.mkv"
    code, err = run(capsys, "magnify", clip, "-o", out, *flags, "--quiet")
    assert code == 2 and one_sentence(err), err
    assert "the temporal filter holds" in err and "0.05 GB is free" in err and advice in err
    assert not out.exists() and not list(tmp_path.iterdir())
    code, err = run(capsys, "magnify", clip, "-o", out, "--method", "acceleration", "--band",
                    "2", "4", "--quiet")  # fmt: skip
    assert code == 0 and out.exists(), err  # a short window fits


def test_a_frame_folder_output_never_deletes_what_else_is_in_the_folder(tmp_path, capsys, clip):
    folder = tmp_path / "p"
    folder.mkdir()
    source = folder / "clip.mkv"
    source.write_bytes(clip.read_bytes())
    notes = folder / "notes.txt"
    notes.write_text("mine")
    before = digest(source)
    code, err = run(capsys, "magnify", source, "-o", f"{folder}/", "--overwrite", "--quiet")
    assert code == 2 and one_sentence(err) and "holds the input" in err
    assert digest(source) == before
    source.unlink()  # the folder holds another file, not the input: still refused
    code, err = run(capsys, "magnify", clip, "-o", f"{folder}/", "--overwrite", "--quiet")
    assert code == 2 and one_sentence(err) and "notes.txt" in err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert notes.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no partial output


def test_an_empty_folder_is_new_and_an_earlier_frame_output_is_replaced(tmp_path, capsys, clip):
    folder = tmp_path / "frames"
    folder.mkdir()
    code, _ = run(capsys, "magnify", clip, "-o", f"{folder}/", "--alpha", 1, "--quiet")
    assert code == 0 and len(list(folder.glob("frame_*.png"))) == 40
    code, err = run(capsys, "magnify", clip, "-o", f"{folder}/", "--quiet")
    assert code == 2 and "--overwrite" in err  # frames are there now
    code, _ = run(capsys, "magnify", clip, "-o", f"{folder}/", "--overwrite", "--end", 1, "--quiet")
    assert code == 0 and len(list(folder.iterdir())) == 30  # the 40 old frames are gone


def test_a_file_is_never_replaced_by_a_frame_folder(tmp_path, capsys, clip):
    """`-o notes.txt/ --overwrite` turned the file notes.txt into a folder of frames."""
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    code, err = run(capsys, "magnify", clip, "-o", f"{notes}/", "--overwrite", "--quiet")
    assert code == 2 and "is a file" in err and err.count("\n") == 1, err
    assert notes.read_text() == "mine"


def test_no_command_writes_over_its_input(tmp_path, capsys, clip):
    source = tmp_path / "in.mkv"
    source.write_bytes(clip.read_bytes())
    before = digest(source)
    for argv in (
        ("live", source, "-o", source, "--overwrite", "--no-realtime", "--quiet"),
        ("measure", source, "--csv", source, "--overwrite", "--quiet"),
        ("measure", source, "--json", source, "--overwrite", "--quiet"),
        (
            "eval",
            "linear",
            "--suite",
            "subpixel",
            "--n",
            1,
            "--compare",
            source,
            "--json",
            source,
            "--overwrite",
            "--quiet",
        ),
    ):
        code, err = run(capsys, *argv)
        assert code == 2 and one_sentence(err), (argv, err)
        assert "is the input" in err, err
        assert digest(source) == before, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]


def test_eval_and_bench_need_overwrite_to_replace_a_file(tmp_path, capsys):
    kept, picture = tmp_path / "kept.json", tmp_path / "kept.png"
    kept.write_text("{}")
    picture.write_text("not a plot")
    for argv in (
        ("eval", "linear", "--suite", "subpixel", "--n", 1, "--json", kept, "--quiet"),
        ("eval", "linear", "--suite", "subpixel", "--n", 1, "--plot", picture, "--quiet"),
        ("bench", "linear", "--sizes", "32x32", "--json", kept, "--quiet"),
    ):
        code, err = run(capsys, *argv)
        assert code == 2 and one_sentence(err) and "--overwrite" in err, (argv, err)
        assert kept.read_text() == "{}" and picture.read_text() == "not a plot"
    code, _ = run(
        capsys,
        "eval",
        "linear",
        "--suite",
        "subpixel",
        "--n",
        1,
        "--size",
        64,
        "--json",
        kept,
        "--overwrite",
        "--quiet",
    )
    assert code == 0 and json.loads(kept.read_text())["results"]


def test_eval_checks_its_device(capsys):
    code, err = run(capsys, "eval", "linear", "--suite", "subpixel", "--n", 1, "--device", "tpu")
    assert code == 2 and one_sentence(err) and "unknown device 'tpu'" in err


@pytest.mark.parametrize(
    ("setting", "pattern"),
    [
        ("lambda_c_px=abc", "lambda_c_px takes a number"),
        ("lambda_c_px=0", "give a number above 0"),
        ("levels=-3", "levels takes a whole number >= 0"),
        ("levels=2.5", "levels takes a whole number"),
        ("amplify_finest=1", "amplify_finest takes true or false"),
    ],
)
def test_a_bad_set_value_is_one_sentence_and_writes_nothing(
    tmp_path, capsys, clip, setting, pattern
):
    out = tmp_path / "out.mkv"
    code, err = run(capsys, "magnify", clip, "-o", out, "--set", setting, "--quiet")
    assert code == 2 and one_sentence(err) and pattern in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("method", "setting", "pattern"),
    [
        ("linear", "levels=2000", "levels=2000 is more than method 'linear' can use on 128x96"),
        ("linear", "levels=8", "(at most 7): give --set levels=7 or fewer"),
        ("riesz", "levels=500", "'riesz' can use on 128x96 frames (at most 7)"),
        ("phase", "scales=7", "'phase' can use on 128x96 frames (at most 6)"),
        ("phase", "orientations=500", "'phase' can use in good time (at most 16)"),
        ("phase", "sigma_px=1e9", "'phase' can use in good time (at most 64)"),
        ("riesz", "sigma_px=65", "'riesz' can use in good time (at most 64)"),
        ("color", "level=8", "'color' can use on 128x96 frames (at most 7)"),
    ],
)
def test_a_pyramid_deeper_than_the_frame_is_refused(
    tmp_path, capsys, clip, method, setting, pattern
):
    """A 96 px short side halves 7 times to 1 px: level 8 repeats 1x1 bands (level 2000
    overflowed linear's gains, 500 orientations ran for minutes, color's level was
    clamped silently); so are smoothing widths OpenCV cannot allocate (sigma_px 1e9 asked
    for 8.6 GB). The top is accepted. Refused before any frame: no progress bar is drawn
    first (not --quiet here)."""
    out = tmp_path / "out.mkv"
    code, err = run(capsys, "magnify", clip, "-o", out, "--method", method, "--set", setting)
    assert code == 2 and one_sentence(err) and pattern in err, err
    assert not out.exists()
    top = {"linear": "levels=7", "riesz": "levels=7", "phase": "scales=6", "color": "level=7"}
    top = top[method]
    if "orientations" in setting:
        top = "orientations=16"
    if "sigma_px" in setting:
        top = "sigma_px=64"
    args = ("--end", 0.1, "--set", top, "--quiet")
    assert run(capsys, "magnify", clip, "-o", out, "--method", method, *args)[0] == 0


def test_set_values_are_taken_as_the_options_type():
    assert option_value("linear", "levels", 2.0, int | None) == 2
    assert type(option_value("linear", "levels", 2.0, int | None)) is int
    assert option_value("linear", "levels", None, int | None) is None
    assert option_value("linear", "lambda_c_px", 16, float) == 16


@pytest.mark.parametrize(
    ("flags", "pattern"),
    [
        (("--band", 2, 4, "--mode", "static"), "--band sets up the temporal filter"),
        (("--filter", "fir"), "--filter sets up the temporal filter, which static mode"),
        (("--mode", "dynamic", "--order", 4), "--order sets up"),
        (("--mode", "dynamic", "--reference", 3), "--reference is the reference frame"),
        (("--band", 2, 4, "--fir-taps", 21), "which the butter filter does not use"),
        (("--band", 2, 4, "--filter", "fir", "--order", 4), "which the fir filter does not"),
        (("--band", 2, 4, "--filter", "diff-iir", "--order", 4), "--order sets the Butterworth"),
    ],
)
def test_a_setting_the_mode_would_ignore_is_refused(tmp_path, capsys, clip, flags, pattern):
    out = tmp_path / "out.mkv"
    code, err = run(capsys, "magnify", clip, "-o", out, *flags, "--quiet")
    assert code == 2 and one_sentence(err) and pattern in err, err
    assert not out.exists()


def test_a_mask_of_another_shape_is_refused_and_a_scaled_one_is_used(tmp_path, capsys, clip):
    square = tmp_path / "square.png"
    cv2.imwrite(str(square), np.full((50, 50), 255, np.uint8))
    out = tmp_path / "out.mkv"
    code, err = run(capsys, "magnify", clip, "-o", out, "--mask", square, "--quiet")
    assert code == 2 and one_sentence(err) and "50x50 but the video is 128x96" in err
    assert not out.exists()
    half = tmp_path / "half.png"  # the video's shape at half the size: black, so no change
    cv2.imwrite(str(half), np.zeros((48, 64), np.uint8))
    code, _ = run(capsys, "magnify", clip, "-o", out, "--mask", half, "--alpha", 20, "--quiet")
    assert code == 0
    np.testing.assert_array_equal(read_clip(out), read_clip(clip))


def test_mask_files_are_read_as_their_authors_meant_them(tmp_path):
    """White is in at every bit depth; a 0/1 label image's 1 is in (not 1/255); a red
    region on black is fully in (its luma is 0.3); a PNG's alpha channel is left out,
    unless the colour is flat and the region is drawn in the transparency."""
    from motionmag.magnify.mask import mask_weights

    left = np.zeros((12, 16), np.uint8)
    left[:, :8] = 1
    files = {
        "grey.png": left * 255,
        "labels.png": left,
        "deep.png": left.astype(np.uint16) * 65535,
        "red.png": np.dstack([np.zeros_like(left), np.zeros_like(left), left * 255]),  # BGR
        "rgba.png": np.dstack([left * 255] * 3 + [np.full_like(left, 255)]),
        # white everywhere, the region drawn in the transparency: its alpha is the mask
        # (it was left out, and the whole frame was magnified)
        "drawn_in_alpha.png": np.dstack([np.full_like(left, 255)] * 3 + [left * 255]),
    }
    geometry = FrameGeometry.from_arguments(16, 12)
    for name, image in files.items():
        cv2.imwrite(str(tmp_path / name), image)
        weights = load_mask(tmp_path / name, geometry)[..., 0]
        np.testing.assert_array_equal(weights, left.astype(np.float32), err_msg=name)
    np.testing.assert_array_equal(mask_weights(left), left.astype(np.float32))  # an array
    assert mask_weights(left * 128).max() == pytest.approx(128 / 255)


def test_measure_refuses_videos_of_different_sizes(tmp_path, capsys, clip):
    wide = tmp_path / "wide.mkv"
    code, _ = run(capsys, "magnify", clip, "-o", wide, "--side-by-side", "--quiet")
    assert code == 0
    code, err = run(capsys, "measure", clip, wide, "--quiet")
    assert code == 2 and one_sentence(err) and "measure videos of one size" in err


def test_fps_sets_the_band_rate_but_the_output_keeps_the_input_rate(tmp_path, capsys, clip):
    """--fps 60 reads the 3 Hz vibration (at 30 fps) as 6 Hz: a 5-7 Hz band keeps it."""
    out = tmp_path / "out.mkv"
    code = main([str(a) for a in ("magnify", clip, "-o", out, "--fps", 60, "--band", 5, 7)])
    assert code == 0 and "40 frames, 128x96, 30 fps" in capsys.readouterr().out
    info = probe(out)
    assert float(info.fps) == FPS and len(read_clip(out)) == 40
    assert np.abs(read_clip(out).astype(int) - read_clip(clip)).mean() > 0.2  # magnified


def test_a_one_frame_window_is_an_argument_error(tmp_path, capsys, clip):
    out = tmp_path / "out.mkv"
    code, err = run(capsys, "magnify", clip, "-o", out, "--start", 1, "--end", 1.02, "--quiet")
    assert code == 2 and one_sentence(err) and "widen the window" in err
    assert not out.exists()


def test_live_from_a_missing_source_is_an_input_error(tmp_path, capsys):
    code, err = run(capsys, "live", tmp_path / "nosuch.mp4", "-o", tmp_path / "o.mp4")
    assert code == 3 and one_sentence(err)


def test_train_resume_without_a_checkpoint_is_refused(tmp_path, capsys):
    code, err = run(capsys, "train", "oh2018", "--resume", "--run", tmp_path / "typo")
    assert code == 2 and one_sentence(err) and "holds no checkpoint" in err
    assert not (tmp_path / "typo").exists()


def test_sigterm_stops_magnify_with_no_output_left(tmp_path):
    """The console script, killed mid-run: exit 143, one sentence, no partial file."""
    texture = smooth_texture(load_texture("astronaut"), (360, 480), sigma_px=2.0)
    frames, _ = vibrating_frames(texture, 0.1, 3.0, FPS, frames=150)
    source = write_clip(tmp_path / "long.mkv", quantize(frames), FPS)
    exe = Path(sys.executable).with_name("motionmag")
    out = tmp_path / "out.mp4"
    process = subprocess.Popen(
        [str(exe), "magnify", str(source), "-o", str(out), "--method", "phase", "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.partial-*")) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143
    assert "stopped by SIGTERM; no partial output was kept" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mkv"]


def test_the_python_api_takes_a_mask_array(tmp_path, clip):
    """uint8 array, white on the left half: the right half stays the input exactly."""
    import motionmag as mm

    mask = np.zeros((96, 128), np.uint8)
    mask[:, :64] = 255
    out = tmp_path / "out.mkv"
    mm.magnify(clip, out, method="linear", alpha=20, band=(2.0, 4.0), mask=mask)
    magnified, source = read_clip(out).astype(int), read_clip(clip).astype(int)
    np.testing.assert_array_equal(magnified[:, :, 64:], source[:, :, 64:])
    assert np.abs(magnified[:, :, :64] - source[:, :, :64]).mean() > 0.5
    with pytest.raises(UsageError, match=r"weights in \[0, 1\]"):
        mm.magnify(clip, tmp_path / "x.mkv", mask=np.full((96, 128), 2.0))


def test_a_slice_label_wider_than_its_slice_is_not_cut():
    from motionmag.video.compose import label_fits

    narrow = np.zeros((200, 20, 3), np.uint8)
    padded = label_fits(narrow, "a_long_file_name.mp4")
    assert padded.shape[0] == 200 and padded.shape[1] > 60
    np.testing.assert_array_equal(padded[:, :20], narrow)
    wide = np.zeros((200, 400, 3), np.uint8)
    assert label_fits(wide, "short.mp4") is wide


def test_a_still_image_is_not_a_video_for_live_and_slice(tmp_path, capsys):
    image = tmp_path / "still.png"
    cv2.imwrite(str(image), np.zeros((40, 50, 3), np.uint8))
    code, err = run(capsys, "live", image, "-o", tmp_path / "o.mp4", "--quiet")
    assert code == 3 and one_sentence(err) and "1 frame(s)" in err
    code, err = run(capsys, "slice", image, "--x", 3, "-o", tmp_path / "s.png")
    assert code == 3 and one_sentence(err) and "1 frame(s)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["still.png"]


def test_a_one_frame_video_and_a_vanishing_rate_say_what_to_do(tmp_path, capsys):
    """A one-frame file was told without advice; --fps 1e-7 was called 'not positive'."""
    one = write_clip(tmp_path / "one.mkv", [np.zeros((32, 48, 3), np.uint8)], 30.0)
    out = tmp_path / "o.mp4"
    for video in (one, tmp_path / "one.mp4"):  # a count found while reading, and a stated one
        if video.suffix == ".mp4":
            write_clip(video, [np.zeros((32, 48, 3), np.uint8)], 30.0)
        code, err = run(capsys, "magnify", video, "-o", out, "--method", "linear", "--quiet")
        assert code == 3 and one_sentence(err) and "1 frame(s)" in err, err
        assert "give a longer video" in err
    two = write_clip(tmp_path / "two.mkv", [np.zeros((32, 48, 3), np.uint8)] * 2, 30.0)
    code, err = run(capsys, "magnify", two, "-o", out, "--method", "linear", "--fps", "1e-7")
    assert code == 2 and one_sentence(err) and "1e-07 is too small to use" in err, err
    assert not out.exists()


def test_measure_says_when_frames_are_not_evenly_spaced(tmp_path, capsys):
    """Frames 33 and 50 ms apart in turn: the frequencies measure reports assume one rate."""
    import motionmag as mm

    rng = np.random.default_rng(2)
    base = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    frames = [np.roll(base, i % 2, axis=1) for i in range(30)]
    source = write_uneven_clip(tmp_path / "variable.mkv", frames)
    mm.measure(source)
    err = capsys.readouterr().err
    assert "not evenly spaced in time (33 to 50 ms apart)" in err and "approximate" in err


def test_measure_says_when_frames_are_spaced_at_another_rate_than_the_file_states(tmp_path, capsys):
    """A file that states 30 fps with frames 40 ms apart: a 2 Hz motion measures as 2.4 Hz
    at the stated rate, so measure says by how much and which --fps to pass."""
    import motionmag as mm

    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    frames = [np.roll(base, i % 2, axis=1) for i in range(20)]
    source = write_uneven_clip(tmp_path / "mislabelled.mkv", frames, intervals_ms=(40,))
    mm.measure(source)
    err = capsys.readouterr().err
    assert "40.0 ms apart (25 fps)" in err and "1.2x" in err and "--fps 25" in err
    mm.measure(source, fps=240)  # a high-speed camera's rate: --fps is the user's word
    assert "ms apart" not in capsys.readouterr().err


def test_a_mask_of_the_frame_s_shape_at_another_size_is_cut_by_the_crop(tmp_path):
    """The review's case: a 96x72 mask of a 192x144 video with --crop 50 30 100 80 was
    refused, though without --crop the same mask was accepted (scaled)."""
    full = np.zeros((144, 192), np.uint8)
    full[:, 96:] = 255  # the right half of the frame
    cv2.imwrite(
        str(tmp_path / "half.png"), cv2.resize(full, (96, 72), interpolation=cv2.INTER_AREA)
    )
    geometry = FrameGeometry((192, 144), (50, 30, 100, 80), (100, 80))
    weights = load_mask(tmp_path / "half.png", geometry)[..., 0]
    assert weights.shape == (80, 100)
    assert weights[:, :44].max() == 0.0 and weights[:, 48:].min() == pytest.approx(1.0)
    cv2.imwrite(str(tmp_path / "odd.png"), np.zeros((50, 200), np.uint8))
    with pytest.raises(UsageError, match=r"neither the video \(192x144, cut by --crop\)"):
        load_mask(tmp_path / "odd.png", geometry)


def test_a_whole_clip_that_cannot_fit_in_memory_is_refused_before_reading(
    tmp_path, capsys, monkeypatch
):
    """deepmag-color holds the clip and float copies of it (190 bytes a pixel measured):
    a 1280x720 clip of 3000 frames read on at 2.8 MB a frame until the system killed it."""
    from motionmag import memory_free

    frames = quantize(np.random.default_rng(0).uniform(0, 255, (40, 48, 64, 3)))
    source = write_clip(tmp_path / "face.mkv", frames, 30.0)
    monkeypatch.setattr(memory_free, "available_bytes", lambda: 20 * 10**6)  # 20 MB free
    out = tmp_path / "out.mkv"
    code, err = run(capsys, "magnify", source, "-o", out, "--method", "deepmag-color",
                    "--alpha", "3", "--quiet")  # fmt: skip
    assert code == 2 and one_sentence(err), err
    assert "deepmag-color holds the whole clip in memory: 40 frames of 64x48 px need about" in err
    assert "give a shorter --start/--end window" in err and not out.exists()
    monkeypatch.setattr(memory_free, "available_bytes", lambda: 10**9)  # 1 GB: it runs
    code, err = run(capsys, "magnify", source, "-o", out, "--method", "deepmag-color",
                    "--alpha", "3", "--quiet")  # fmt: skip
    assert code == 0, err


def test_a_resize_that_stretches_beyond_what_a_file_can_store_is_refused(tmp_path, capsys, clip):
    """100000x2 from 128x96 made the pixel aspect ratio 0 (a message about 'Fraction(0,
    1)'); 100x is the most one side may stretch against the other, and it is allowed."""
    out = tmp_path / "out.mkv"
    code, err = run(capsys, "magnify", clip, "-o", out, "--resize", "100000x2", "--quiet")
    assert code == 2 and one_sentence(err), err
    assert "stretches the 128x96 picture 37500 times more one way" in err
    assert "give --resize 100000 to keep its shape (100000x75000)" in err
    assert not out.exists()
    assert FrameGeometry.from_arguments(128, 96, None, "400x3").size == (400, 3)  # 100x


def test_frames_that_cannot_fit_in_memory_are_refused_before_any_work(tmp_path, capsys, clip):
    """Linux kills a process that touches more memory than it has (exit 137, no message):
    --resize 30000x30000 did that. A floor of 150 bytes a pixel (measured 204-557) against
    the available memory refuses it in one sentence."""
    from motionmag.magnify.frame_memory import check_frame_fits_memory
    from motionmag.memory_free import available_bytes

    out = tmp_path / "out.mkv"
    code, err = run(capsys, "magnify", clip, "-o", out, "--resize", "40000x30000", "--quiet")
    assert code == 2 and one_sentence(err), err
    assert "frames of 40000x30000 px need at least 180 GB of memory to magnify" in err
    assert not out.exists()
    check_frame_fits_memory(1000, 1000, available=150 * 10**6)  # exactly enough
    with pytest.raises(UsageError, match=r"need at least 0.15 GB .* and 0.1 GB is free"):
        check_frame_fits_memory(1000, 1000, available=100 * 10**6)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:   2000 kB\n")
    none = tmp_path / "none"
    assert available_bytes(meminfo, none, none) == 2000 * 1024
    assert available_bytes(none, none, none) is None


@pytest.mark.parametrize("version", [1, 2])
def test_a_containers_memory_limit_counts_as_what_is_free(tmp_path, version):
    """In a container MemAvailable is the host's: its cgroup limit less its usage is what
    the process can touch before it is killed without a message."""
    from motionmag.memory_free import available_bytes

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemAvailable:   20000000 kB\n")
    own = tmp_path / "cgroup"
    root = tmp_path / "fs"
    if version == 2:
        own.write_text("0::/box\n")
        folder, names = root / "box", ("memory.max", "memory.current")
    else:
        own.write_text("4:memory:/box\n3:cpu:/\n")
        folder, names = root / "memory" / "box", ("memory.limit_in_bytes", "memory.usage_in_bytes")
    folder.mkdir(parents=True)
    (folder / names[0]).write_text(f"{4 * 10**9}\n")
    (folder / names[1]).write_text(f"{10**9}\n")
    assert available_bytes(meminfo, root, own) == 3 * 10**9
    # page cache the kernel can drop is not in use (usage sits near the limit after a
    # few GB of video read: 0.1 GB "free" refused every later run)
    cache = "inactive_file" if version == 2 else "total_inactive_file"
    (folder / names[1]).write_text(f"{39 * 10**8}\n")
    (folder / "memory.stat").write_text(f"active_file 5\n{cache} {29 * 10**8}\nanon 1\n")
    assert available_bytes(meminfo, root, own) == 3 * 10**9
    (folder / names[0]).write_text("max\n" if version == 2 else "9223372036854771712\n")
    assert available_bytes(meminfo, root, own) == 20000000 * 1024  # no limit: the system's
    # a limit on a group above the process's own (a systemd slice, a batch job) counts
    inner = folder / "inner"
    inner.mkdir()
    (inner / names[0]).write_text("max\n" if version == 2 else "9223372036854771712\n")
    (inner / names[1]).write_text("0\n")
    own.write_text(own.read_text().replace("/box", "/box/inner"))
    (folder / names[0]).write_text(f"{5 * 10**9}\n")
    assert available_bytes(meminfo, root, own) == 4 * 10**9


@pytest.mark.parametrize(
    ("argv", "help_line"),
    [
        (["live", "in.mkv", "-o", "x.mp4", "--end", "1"], "(see 'motionmag live --help')"),
        (["train", "oh2018", "--bogus"], "(see 'motionmag train oh2018 --help')"),
        (["bogus"], "(see 'motionmag --help')"),
    ],
)
def test_an_unknown_flag_points_to_its_command_s_help(capsys, argv, help_line):
    """argparse reports an unknown flag from the top parser, whose help does not list the
    command's flags: `live ... --end 1` pointed to 'motionmag --help'."""
    code, err = run(capsys, *argv)
    assert code == 2 and one_sentence(err) and err.rstrip().endswith(help_line + "."), err
