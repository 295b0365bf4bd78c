"""Awkward but real input files, and outputs that would harm them (the stop-49 review).

Found by feeding the command line odd files: an output written into a frame-folder input
replaced or added frames; a Matroska video that starts after 0 s was called truncated;
12-bit data in 16-bit grey video came out black; a 1 px high clip could not be written;
``oh2018`` failed on frames 4 px high; an empty ``--start``/``--end`` window blamed
``--reference``; a uniform region blamed the motion; two outputs on one path, or a folder
that cannot be written, were found only after the work.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import motionmag as mm
from cli_run import one_sentence, run
from clip_io import read_clip, write_clip, write_uneven_clip


def _texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3)).astype(np.uint8)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_no_output_goes_into_a_frame_folder_input(tmp_path, capsys):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(8):
        cv2.imwrite(str(folder / f"f{i:03d}.png"), np.roll(_texture(48, 64), i % 2, axis=1))
    before = _digest(folder)
    commands = [
        ("spectrum", folder, "-o", folder / "f000.png", "--overwrite"),
        ("spectrum", folder, "-o", folder / "new.png"),
        ("slice", folder, "--x", "3", "-o", folder / "f001.png", "--overwrite"),
        ("measure", folder, "--csv", folder / "f003.png", "--overwrite"),
        ("magnify", folder, "-o", folder / "out.mkv", "--method", "linear"),
    ]
    for argv in commands:
        code, err = run(capsys, *argv)
        assert code == 2 and one_sentence(err) and "inside the input frame folder" in err, err
    assert _digest(folder) == before


def test_a_matroska_video_that_starts_after_zero_is_whole(tmp_path):
    """FFmpeg's DURATION tag is the end time (1.09 s), not the length (0.99 s)."""
    frames = [np.roll(_texture(32, 48), i, axis=1) for i in range(30)]
    source = write_uneven_clip(tmp_path / "late.mkv", frames, intervals_ms=(33,), first_ms=100)
    result = mm.magnify(source, tmp_path / "out.mkv", method="linear", mode="static")
    assert result.frames == 30
    assert np.abs(read_clip(source)[0].astype(int) - frames[0]).max() <= 2  # yuv444p rounding
    cut = tmp_path / "cut.mkv"  # a file that really lost its end is still found out
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(mm.InputError, match="truncated or corrupt"):
        read_clip(cut)


def test_12_bit_data_in_16_bit_grey_video_keeps_its_range(tmp_path):
    ramp = np.tile(np.linspace(0, 4095, 64).astype(np.uint16), (32, 1))  # 12-bit camera data
    path = tmp_path / "grey16.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "gray16le"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(ramp, format="gray16le")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    frames = read_clip(path)
    expected = np.rint(ramp * (255 / 4095)).astype(np.uint8)  # full scale 4095, as folders
    np.testing.assert_array_equal(frames[0, ..., 0], expected)


def test_a_long_gap_suggests_the_rate_of_the_closest_frames(tmp_path, capsys):
    frames = [np.roll(_texture(48, 64), i % 2, axis=1) for i in range(24)]
    intervals = (33,) * 11 + (3000,) + (33,) * 12
    source = write_uneven_clip(tmp_path / "gap.mkv", frames, intervals_ms=intervals)
    code, err = run(capsys, "measure", source)
    assert code == 0 and "pass --fps 30.3 (the rate of the closest frames)" in err, err


def test_one_pixel_high_frames_are_written_to_matroska(tmp_path):
    frames = [np.roll(_texture(1, 64), i, axis=1) for i in range(4)]
    source = write_clip(tmp_path / "line.mkv", frames, 30.0)
    np.testing.assert_array_equal(read_clip(source), np.stack(frames))


def test_oh2018_magnifies_frames_a_few_pixels_high():
    clip = np.stack([np.roll(_texture(4, 40), i, axis=1) for i in range(3)])
    assert mm.magnify_frames(clip, method="oh2018", mode="static").shape == clip.shape


def test_an_empty_window_says_so(tmp_path, capsys):
    source = write_clip(tmp_path / "v.mkv", [_texture(32, 48, i) for i in range(30)], 30.0)
    cases = [
        (("--start", "0.98"), "after the last frame"),
        (("--start", "0.01", "--end", "0.02"), "no frame lies from --start 0.01 s"),
    ]
    for flags, pattern in cases:
        for command in (("magnify", source, "-o", tmp_path / "o.mkv"), ("measure", source)):
            code, err = run(capsys, *command, *flags)
            assert code == 2 and one_sentence(err) and pattern in err, err
    assert not (tmp_path / "o.mkv").exists()


def test_a_uniform_region_is_said_to_have_no_texture(tmp_path, capsys):
    source = write_clip(tmp_path / "grey.mkv", [np.full((48, 64, 3), 128, np.uint8)] * 6, 30.0)
    code, err = run(capsys, "measure", source, "--quiet")
    assert code == 3 and one_sentence(err) and "has no texture to track" in err, err


def test_outputs_are_checked_for_clashes_and_a_writable_folder_first(tmp_path, capsys):
    source = write_clip(tmp_path / "v.mkv", [np.roll(_texture(48, 64), i % 2, axis=1)
                                             for i in range(8)], 30.0)  # fmt: skip
    same = tmp_path / "m.txt"
    code, err = run(capsys, "measure", source, "--csv", same, "--json", same)
    assert code == 2 and "--csv and --json name one file" in err, err
    assert not same.exists()
    if Path("/proc").is_dir():  # a folder no file can be made in
        code, err = run(capsys, "spectrum", source, "-o", "/proc/spectrum.png")
        assert code == 2 and one_sentence(err) and "cannot be written to" in err, err
