"""Awkward but real input files, and outputs that would harm them (the stop-49 review).

Found by feeding the command line odd files: an output written into a frame-folder input
replaced or added frames; a Matroska video that starts after 0 s was called truncated;
12-bit data in 16-bit grey video came out black; a 1 px high clip could not be written;
``oh2018`` failed on frames 4 px high; an empty ``--start``/``--end`` window blamed
``--reference``; a uniform region blamed the motion; two outputs on one path, or a folder
that cannot be written, were found only after the work; a GIF cut in half was read as
whole (stop 50).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest

import motionmag as mm
from cli_run import one_sentence, run
from clip_io import read_clip, write_clip, write_ffv1, write_uneven_clip
from motionmag.video.reader import VideoReader


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
        ("measure", folder, "--csv", folder / "motion.csv"),
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
    path = write_ffv1(tmp_path / "grey16.mkv", [ramp] * 3, "gray16le", "gray16le")
    frames = read_clip(path)
    expected = np.rint(ramp * (255 / 4095)).astype(np.uint8)  # full scale 4095, as folders
    np.testing.assert_array_equal(frames[0, ..., 0], expected)


def test_a_16_bit_grey_video_that_starts_dark_is_not_clipped_white(tmp_path):
    """A lens cap for its first 12 frames (values about 100 of 65535): the scale was read
    from the first frame alone (8-bit) and every later frame came out 255."""
    dark = np.full((32, 48), 100, np.uint16)
    lit = np.tile(np.linspace(20000, 50000, 48).astype(np.uint16), (32, 1))
    path = write_ffv1(tmp_path / "cap.mkv", [dark] * 12 + [lit] * 28, "gray16le", "gray16le")
    frames = read_clip(path)
    expected = np.rint(lit * (255 / 65535)).astype(np.uint8)
    np.testing.assert_array_equal(frames[20, ..., 0], expected)
    with VideoReader(path) as reader:  # the same scale from a later start (frame 24 on)
        late = next(iter(reader.frames(seconds=(0.8, None))))
    np.testing.assert_array_equal(late[..., 0], expected)


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


def test_oh2018_runs_on_frames_a_few_pixels_high():
    """4 px high (padded to the net's multiple of 4 and cropped back): a shape test. The
    frames come back in their shape, the reference frame redrawn in place (nearer the
    input than the input mirrored; the random texture is beyond the net's detail).
    Whether motion grows by alpha is not measurable in 4 rows."""
    clip = np.stack([np.roll(_texture(4, 40), i, axis=1) for i in range(3)])
    out = mm.magnify_frames(clip, method="oh2018", mode="static")
    assert out.shape == clip.shape
    redrawn = np.abs(out[0].astype(int) - clip[0]).mean()
    assert redrawn < np.abs(out[0].astype(int) - clip[0, :, ::-1]).mean()


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
    # a grid of uniform cells too (it read "too large to measure in any cell")
    code, err = run(capsys, "measure", source, "--grid", "1", "1", "--quiet")
    assert code == 3 and one_sentence(err) and "no texture to track in any cell" in err, err


def test_outputs_are_checked_for_clashes_and_a_writable_folder_first(tmp_path, capsys):
    source = write_clip(tmp_path / "v.mkv", [np.roll(_texture(48, 64), i % 2, axis=1)
                                             for i in range(8)], 30.0)  # fmt: skip
    same = tmp_path / "m.txt"
    code, err = run(capsys, "measure", source, "--csv", same, "--json", same)
    assert code == 2 and "--csv and --json name one file" in err, err
    assert not same.exists()
    if Path("/proc").is_dir():  # a folder no file can be made in
        code, err = run(capsys, "spectrum", source, "-o", "/proc/spectrum.png")
        assert code == 2 and one_sentence(err) and "cannot be written to (it takes" in err, err
    # an output "inside" a file: the file is named as such (it read "does not exist")
    for inside in (source / "x.png", source / "sub" / "x.png"):
        code, err = run(capsys, "slice", source, "--y", "10", "-o", inside)
        assert code == 2 and one_sentence(err) and f"'{source}' is a file, not a folder" in err


def _gap_clip(path: Path, before: int, gap_ms: int, after: int) -> tuple[Path, list]:
    """``before`` frames 100 ms apart, a gap of ``gap_ms``, then ``after`` more; each frame
    its own texture, so a frame read back is known by its pixels."""
    frames = [_texture(24, 32, seed) for seed in range(before + after)]
    intervals = (100,) * (before - 1) + (gap_ms,) + (100,) * after
    return write_uneven_clip(path, frames, intervals_ms=intervals), frames


def _which(read: list[np.ndarray], frames: list[np.ndarray]) -> list[int]:
    """The index in ``frames`` of each frame read (FFV1 yuv444p rounds by up to 2)."""
    return [
        next(i for i, f in enumerate(frames) if np.abs(r.astype(int) - f).max() <= 2) for r in read
    ]


@pytest.mark.parametrize(("before", "gap_ms"), [(10, 2100), (20, 4100)])  # no seek; a seek
def test_start_and_end_select_frames_by_their_time(tmp_path, before, gap_ms):
    """Frames at 0-0.9 s, then from 3.0 s (or 0-1.9 s, then from 6.0 s: the window starts
    past ``SEEK_MIN_S``, so the reader seeks): a window is the frames shown in it."""
    from motionmag.magnify.trim import TimeWindow
    from motionmag.video import VideoReader

    source, frames = _gap_clip(tmp_path / "gap.mkv", before, gap_ms, 60)
    resume_s = (before - 1) / 10 + gap_ms / 1000  # the first frame after the gap
    with VideoReader(source) as reader:
        fps = float(reader.info.fps)
        window = TimeWindow.from_seconds(resume_s + 1.0, resume_s + 2.0, fps)
        read = list(reader.frames(window.first, window.stop, window.seconds))
        assert _which(read, frames) == list(range(before + 10, before + 20))
        assert float(reader.last_time_s) == pytest.approx(resume_s + 1.9, abs=1e-3)
        if resume_s + 1.0 >= 5:  # sought: decoding began at a key frame past the start
            assert reader.frames_decoded < before + 20
        inside_gap = TimeWindow.from_seconds(resume_s - 1.0, resume_s - 0.5, fps)
        assert list(reader.frames(inside_gap.first, inside_gap.stop, inside_gap.seconds)) == []
    with VideoReader(source, fps=10) as reader:  # a rate given: frame i is at i / 10 s
        window = TimeWindow.from_seconds(resume_s + 1.0, resume_s + 2.0, 10)
        read = list(reader.frames(window.first, window.stop, window.seconds))
        assert _which(read, frames) == list(range(window.first, window.stop))


def test_magnify_cuts_a_clip_with_a_gap_at_the_times_asked_for(tmp_path, capsys):
    source, _ = _gap_clip(tmp_path / "gap.mkv", 10, 2100, 20)  # 0-0.9 s, 3.0-4.9 s
    result = mm.magnify(source, tmp_path / "o.mkv", method="linear", mode="static",
                        start=0.5, end=3.5)  # fmt: skip
    assert result.frames == 10  # 0.5-0.9 s and 3.0-3.4 s
    code, err = run(capsys, "magnify", source, "-o", tmp_path / "p.mkv", "--start", "1.2",
                    "--end", "2.5")  # fmt: skip
    assert code == 2 and "0 frame(s) between --start and --end" in err, err


def test_audio_running_past_the_last_frame_is_noted(tmp_path):
    path = tmp_path / "long_audio.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=30)
        video.width, video.height, video.pix_fmt = 32, 24, "yuv444p"
        audio = container.add_stream("aac", rate=48000)
        audio.layout = "mono"
        fmt = audio.codec_context.codec.audio_formats[0].name
        for i in range(15):  # 0.5 s of video
            frame = av.VideoFrame.from_ndarray(np.roll(_texture(24, 32), i, axis=1))
            frame.pts = i
            for packet in video.encode(frame):
                container.mux(packet)
        tone = (0.2 * np.sin(np.arange(96000) / 48000 * 2 * np.pi * 440)).astype(np.float32)
        for start in range(0, len(tone), 1024):  # 2 s of sound
            chunk = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format=fmt,
                                               layout="mono")  # fmt: skip
            chunk.sample_rate, chunk.pts = 48000, start
            for packet in audio.encode(chunk):
                container.mux(packet)
        for stream in (audio, video):
            for packet in stream.encode(None):
                container.mux(packet)
    result = mm.magnify(path, tmp_path / "out.mkv", method="linear", mode="static")
    assert any("runs 1.5 s past its last frame" in note for note in result.notes), result.notes
    cut = mm.magnify(path, tmp_path / "cut.mkv", method="linear", mode="static", end=0.3)
    assert not any("past its last frame" in note for note in cut.notes)  # asked for


def test_live_from_a_variable_rate_file_keeps_each_frame_s_time(tmp_path, capsys):
    frames = [np.roll(_texture(24, 32), i % 2, axis=1) for i in range(12)]
    source = write_uneven_clip(tmp_path / "vfr.mkv", frames, intervals_ms=(50, 150))
    out = tmp_path / "live.mkv"
    code, err = run(capsys, "live", source, "-o", out, "--method", "linear", "--mode",
                    "static", "--no-realtime", "--quiet")  # fmt: skip
    assert code == 0, err

    def times(path):
        with av.open(str(path)) as container:
            return [float(f.time) for f in container.decode(video=0)]

    np.testing.assert_allclose(times(out), times(source), atol=1.5e-3)  # was evenly spaced


def test_a_folder_with_a_video_s_name_is_not_taken_for_frames(tmp_path, capsys):
    source = write_clip(tmp_path / "v.mkv", [_texture(24, 32, i) for i in range(4)], 30.0)
    (tmp_path / "out.mp4").mkdir()
    code, err = run(capsys, "magnify", source, "-o", tmp_path / "out.mp4", "--method", "linear")
    assert code == 2 and one_sentence(err) and "is a folder" in err, err
    assert list((tmp_path / "out.mp4").iterdir()) == []


def test_a_mask_folder_and_a_url_are_named_for_what_they_are(tmp_path, capsys):
    source = write_clip(tmp_path / "v.mkv", [_texture(24, 32, i) for i in range(4)], 30.0)
    code, err = run(capsys, "magnify", source, "-o", tmp_path / "o.mkv", "--mask", tmp_path)
    assert code == 2 and "is a folder: give a greyscale image" in err, err
    code, err = run(capsys, "magnify", "http://127.0.0.1:9/x.mp4", "-o", tmp_path / "o.mkv")
    assert code == 3 and "is a network address" in err and "motionmag live" in err, err


def test_frames_too_small_to_measure_are_blamed_not_the_region(tmp_path, capsys):
    source = write_clip(tmp_path / "v.mkv", [_texture(8, 8, i) for i in range(6)], 30.0)
    code, err = run(capsys, "measure", source, "--quiet")
    assert code == 3 and one_sentence(err) and "are 8x8 px, too small" in err, err


def test_4_2_0_video_is_read_without_darkening(tmp_path):
    """FFmpeg's fast yuv420p-to-RGB path read a grey ramp through H.264 0.485 levels low
    (the stop-49 review: every phone clip darkened by half a level)."""
    ramp = np.stack([np.tile(np.linspace(0, 255, 128), (96, 1))] * 3, axis=-1).astype(np.uint8)
    frames = read_clip(write_clip(tmp_path / "ramp.mp4", [ramp] * 3, 30.0))
    bias = (frames[1].astype(float) - ramp).reshape(-1, 3).mean(axis=0)
    assert np.all(np.abs(bias) < 0.1), bias


def test_a_gif_cut_short_is_refused_and_a_whole_one_without_trailer_read(tmp_path, capsys):
    """A GIF states no length and FFmpeg decodes one cut in half without complaint: its
    block structure tells (video/gif_blocks.py)."""
    from PIL import Image

    from motionmag.video.gif_blocks import gif_is_cut

    frames = [np.roll(_texture(40, 56), i, axis=1) for i in range(8)]
    images = [Image.fromarray(f).convert("P") for f in frames]
    whole = tmp_path / "whole.gif"
    images[0].save(whole, save_all=True, append_images=images[1:], duration=40, loop=0)
    data = whole.read_bytes()
    assert data.endswith(b";") and not gif_is_cut(whole)
    (tmp_path / "no_trailer.gif").write_bytes(data[:-1])  # whole frames, trailer omitted
    assert len(read_clip(tmp_path / "no_trailer.gif")) == 8
    cut = tmp_path / "cut.gif"
    cut.write_bytes(data[: len(data) // 2])
    before = cut.read_bytes()
    code, err = run(capsys, "magnify", cut, "-o", tmp_path / "o.mp4", "--method", "linear")
    assert code == 3 and one_sentence(err) and "'" + str(cut) + "' is truncated" in err, err
    assert cut.read_bytes() == before and not (tmp_path / "o.mp4").exists()
    # every cut inside a block is seen (a cut between blocks leaves whole frames)
    missed = [n for n in range(20, len(data) - 1, 97) if not _gif_is_cut_at(data, n, tmp_path)]
    assert all(_between_blocks(data, n) for n in missed), missed


def test_only_a_gif_with_a_transparent_colour_is_said_to_have_transparency(tmp_path):
    """FFmpeg decodes every GIF as bgra, so every GIF was told 'has a transparency
    (alpha) channel: it is dropped'; its Graphic Control Extensions tell."""
    from PIL import Image

    from motionmag.video.probe import probe

    frames = [np.roll(_texture(40, 56), i, axis=1) for i in range(4)]
    images = [Image.fromarray(f).convert("P") for f in frames]
    opaque, clear = tmp_path / "opaque.gif", tmp_path / "clear.gif"
    images[0].save(opaque, save_all=True, append_images=images[1:], duration=40, loop=0)
    images[0].save(
        clear, save_all=True, append_images=images[1:], duration=40, loop=0, transparency=0
    )
    assert Image.open(clear).info.get("transparency") == 0
    assert not probe(opaque).has_alpha and probe(clear).has_alpha


def _gif_is_cut_at(data: bytes, n: int, folder: Path) -> bool:
    from motionmag.video.gif_blocks import gif_is_cut

    path = folder / "part.gif"
    path.write_bytes(data[:n])
    return gif_is_cut(path)


def _between_blocks(data: bytes, n: int) -> bool:
    """True when the next byte starts a block (an extension, an image or the trailer)."""
    return data[n] in (0x21, 0x2C, 0x3B)
