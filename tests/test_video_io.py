"""Video I/O against known answers: bit-exact lossless round trips, exact fps and frame count,
odd sizes kept exactly, audio copied, broken inputs refused, no partial output ever."""

from __future__ import annotations

import hashlib
import itertools
import os
import tracemalloc
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from skimage.data import astronaut

from clip_io import read_clip, write_ffv1
from motionmag.errors import InputError, UsageError
from motionmag.video import VideoInfo, VideoReader, VideoWriter, output_kind, probe

VTEST = Path("/work/shared/data/videos/vtest.avi")
RATES = [Fraction(30), Fraction(25, 2), Fraction(30000, 1001)]
SIZES = [(160, 96), (161, 97)]  # (width, height): even, and odd in both directions

_TEXTURE = np.concatenate([astronaut(), astronaut()[:, ::-1]], axis=1)  # 512 x 1024 RGB


# -- helpers -------------------------------------------------------------------------------


def textured_frames(count: int, width: int, height: int) -> list[np.ndarray]:
    """Crops of the astronaut image sliding 1 px per frame (real texture, real motion)."""
    return [
        np.ascontiguousarray(_TEXTURE[40 : 40 + height, 30 + i : 30 + i + width])
        for i in range(count)
    ]


def write_video(path: Path | str, frames: list[np.ndarray], fps: Fraction | float = 30, **kw):
    height, width = frames[0].shape[:2]
    with VideoWriter(path, fps, width, height, **kw) as writer:
        for frame in frames:
            writer.write(frame)
    return writer


def read_all(path: Path | str, fps: float | None = None) -> list[np.ndarray]:
    with VideoReader(path, fps=fps) as reader:
        return list(reader)


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def luma(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_av_clip(
    path: Path,
    frames: int = 30,
    fps: int = 30,
    audio_codec: str | None = "aac",
    sr: int = 48000,
    audio_tracks: int = 1,
) -> None:
    """An H.264 clip (64x48) with ``audio_tracks`` 440 Hz sine audio tracks of the same
    duration, by PyAV."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio, more = None, []
        if audio_codec is not None:
            audio, *more = [container.add_stream(audio_codec, rate=sr) for _ in range(audio_tracks)]
            for track in (audio, *more):
                track.layout = "mono"
            sample_fmt = audio.codec_context.codec.audio_formats[0].name
        for i in range(frames):
            vf = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 8 * i % 256, np.uint8))
            vf.pts = i
            for packet in video.encode(vf):
                container.mux(packet)
        if audio is not None:
            samples = int(frames / fps * sr)
            signal = 0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / sr)
            data = (signal * 32767).astype(np.int16) if sample_fmt == "s16" else signal
            data = data.astype(np.int16 if sample_fmt == "s16" else np.float32)
            for start in range(0, samples, 1024):
                af = av.AudioFrame.from_ndarray(
                    data[None, start : start + 1024], format=sample_fmt, layout="mono"
                )
                af.sample_rate, af.pts = sr, start
                for track in (audio, *more):
                    for packet in track.encode(af):
                        container.mux(packet)
            for track in (audio, *more):
                for packet in track.encode(None):
                    container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)


def audio_duration_s(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        last_end = 0.0
        for packet in container.demux(stream):
            if packet.pts is not None:
                last_end = max(last_end, float((packet.pts + packet.duration) * packet.time_base))
        return last_end


def folder_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("fps", RATES, ids=str)
@pytest.mark.parametrize("kind", ["mkv", "png"])
def test_lossless_round_trip_is_bit_exact(tmp_path, kind, fps, size):
    frames = textured_frames(6, *size)
    out = tmp_path / "out.mkv" if kind == "mkv" else str(tmp_path / "frames") + "/"
    writer = write_video(out, frames, fps)
    assert writer.frames_written == 6
    # A PNG folder has no rate of its own: the caller states it.
    info = probe(out, fps=fps if kind == "png" else None)
    assert (info.width, info.height) == size
    assert info.fps == fps and isinstance(info.fps, Fraction)
    back = read_all(out, fps=fps if kind == "png" else None)
    assert len(back) == 6
    for original, decoded in zip(frames, back, strict=True):
        assert decoded.dtype == np.uint8 and decoded.flags["C_CONTIGUOUS"]
        np.testing.assert_array_equal(decoded, original)
    if kind == "png":
        assert folder_listing(Path(out))[0] == "frame_000000.png"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("fps", RATES, ids=str)
def test_mp4_round_trip_keeps_size_rate_count_and_quality(tmp_path, fps, size):
    frames = textured_frames(12, *size)
    out = tmp_path / "out.mp4"
    writer = write_video(out, frames, fps)
    info = probe(out)
    assert (info.width, info.height) == size
    assert info.fps == fps
    assert info.frame_count == 12
    assert info.codec == "h264"
    back = read_all(out)
    assert len(back) == 12
    assert all(b.shape == (size[1], size[0], 3) for b in back)
    # Luma PSNR is the codec's own quality measure; RGB PSNR of 4:2:0 is capped near 38.5 dB
    # on this texture by the chroma subsampling alone (measured with no encoding at all).
    assert min(psnr_db(luma(a), luma(b)) for a, b in zip(frames, back, strict=True)) > 40
    assert min(psnr_db(a, b) for a, b in zip(frames, back, strict=True)) > 34
    odd = size[0] % 2 or size[1] % 2
    with av.open(str(out)) as container:
        pix_fmt = container.streams.video[0].codec_context.format.name
    assert pix_fmt == ("yuv444p" if odd else "yuv420p")
    assert any("4:4:4" in note for note in writer.notes) == bool(odd)


def test_reader_restarts_and_counts(tmp_path):
    out = tmp_path / "a.mkv"
    write_video(out, textured_frames(5, 32, 24))
    reader = VideoReader(out)
    assert len(list(reader)) == 5 and reader.frames_read == 5
    assert len(list(reader)) == 5 and reader.frames_read == 5
    assert reader.info.frame_count is None  # Matroska does not state it
    assert reader.info.duration_s == pytest.approx(5 / 30, abs=2e-3)


def test_frames_from_an_index_skip_without_converting_or_opening(tmp_path, monkeypatch):
    """--start's skip: the frames from index 3 on, the ones before not made RGB / opened."""
    from PIL import Image

    frames = textured_frames(8, 32, 24)
    video = tmp_path / "a.mkv"
    write_video(video, frames)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i:02d}.png")
    converted = []
    to_rgb = VideoReader._to_rgb
    monkeypatch.setattr(
        VideoReader, "_to_rgb", lambda self, f: converted.append(1) or to_rgb(self, f)
    )
    opened = []
    image_open = Image.open
    monkeypatch.setattr(Image, "open", lambda path, *a: opened.append(path) or image_open(path, *a))
    for source, calls in ((video, converted), (folder, opened)):
        whole = read_all(source)
        reader = VideoReader(source)  # probing opens frames; reading from 3 opens 5 more
        calls.clear()
        tail = list(reader.frames(3))
        assert len(tail) == 5 and len(calls) == 5 and reader.frames_read == 8
        for expected, decoded in zip(whole[3:], tail, strict=True):
            np.testing.assert_array_equal(decoded, expected)  # exactly frames 3-7
        assert list(reader.frames(9)) == [] and reader.frames_read == 8
        window = list(reader.frames(3, 6))  # frames 3-5, the rest not read
        assert len(window) == 3 and len(calls) == 8 and reader.frames_read <= 7
        for expected, decoded in zip(whole[3:6], window, strict=True):
            np.testing.assert_array_equal(decoded, expected)
        assert list(reader.frames(4, 4)) == []


def test_fps_override(tmp_path):
    out = tmp_path / "a.mp4"
    write_video(out, textured_frames(4, 32, 24), fps=30)
    assert probe(out, fps=29.97002997002997).fps == Fraction(30000, 1001)
    assert probe(out, fps=12.5).fps == Fraction(25, 2)
    with pytest.raises(UsageError):
        probe(out, fps=-1)


def test_frame_folder_natural_order_and_jpg(tmp_path):
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    frames = textured_frames(11, 20, 10)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"f_{i}.png")  # f_10 must come after f_9
    info = probe(folder)
    assert info.fps == 30 and info.frame_count == 11 and info.codec == "png"
    for original, decoded in zip(frames, read_all(folder), strict=True):
        np.testing.assert_array_equal(decoded, original)
    jpgs = tmp_path / "jpgs"
    jpgs.mkdir()
    Image.fromarray(frames[0]).save(jpgs / "a.jpg", quality=95)
    assert probe(jpgs).codec == "jpg"
    assert read_all(jpgs)[0].shape == (10, 20, 3)


def test_streaming_memory_is_constant(tmp_path):
    out = tmp_path / "long.mkv"
    frame = textured_frames(1, 320, 240)[0]
    count = 120  # all frames together would be 27.6 MB
    tracemalloc.start()
    try:
        with VideoWriter(out, 30, 320, 240) as writer:
            for _ in range(count):
                writer.write(frame)
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with VideoReader(out) as reader:
            for _ in reader:
                pass
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    frame_bytes = frame.nbytes
    assert reader.frames_read == count
    assert write_peak < 10 * frame_bytes and read_peak < 10 * frame_bytes


# -- output kinds and writer checks ---------------------------------------------------------


def test_output_kind(tmp_path):
    assert output_kind("a.mp4") == "mp4"
    assert output_kind("A.MKV") == "mkv"
    assert output_kind("frames/") == "png"
    assert output_kind("frames" + os.sep) == "png"
    assert output_kind(tmp_path) == "png"  # an existing folder
    for bad in ("a.avi", "a.gif", "noext"):
        with pytest.raises(UsageError, match=r"\.mp4.*\.mkv"):
            output_kind(bad)


def test_writer_refuses_before_any_work(tmp_path):
    with pytest.raises(UsageError, match="does not exist: create it first"):
        VideoWriter(tmp_path / "missing" / "out.mp4", 30, 32, 24)
    existing = tmp_path / "out.mp4"
    existing.write_bytes(b"keep me")
    with pytest.raises(UsageError, match="already exists: pass --overwrite"):
        VideoWriter(existing, 30, 32, 24)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(UsageError, match="not supported"):
        VideoWriter(tmp_path / "out.avi", 30, 32, 24)
    assert folder_listing(tmp_path) == ["out.mp4"]  # no temporary left behind by any refusal


def test_writer_refuses_wrong_frames_and_empty_output(tmp_path):
    with pytest.raises(UsageError, match="uint8"), VideoWriter(tmp_path / "a.mkv", 30, 32, 24) as w:
        w.write(np.zeros((24, 32, 3), np.float32))
    assert folder_listing(tmp_path) == []  # the exception aborted the writer
    with pytest.raises(UsageError, match="no frames"), VideoWriter(tmp_path / "b.mp4", 30, 32, 24):
        pass
    assert folder_listing(tmp_path) == []


@pytest.mark.parametrize("name", ["out.mp4", "out.mkv", "frames/"])
def test_exception_inside_with_leaves_nothing(tmp_path, name):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(RuntimeError), VideoWriter(f"{tmp_path}/{name}", 30, 32, 24) as writer:
        for frame in textured_frames(3, 32, 24):
            writer.write(frame)
        raise RuntimeError("boom")
    assert folder_listing(tmp_path) == ["keep.txt"]


@pytest.mark.parametrize("name", ["out.mp4", "frames/"])
def test_overwrite_replaces_file_and_folder(tmp_path, name):
    target = f"{tmp_path}/{name}"  # (a Path would drop the trailing '/')
    write_video(target, textured_frames(3, 32, 24))
    write_video(target, textured_frames(5, 40, 30), overwrite=True)
    info = probe(target)
    assert (info.width, info.height, info.frame_count) == (40, 30, 5)
    assert folder_listing(tmp_path) == [name.rstrip("/")]
    if name.endswith("/"):
        assert len(folder_listing(Path(target))) == 5


def test_output_mode_follows_umask(tmp_path):
    out = tmp_path / "a.mkv"
    write_video(out, textured_frames(2, 32, 24))
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_input_is_never_modified_and_never_the_output(tmp_path):
    source = tmp_path / "in.mp4"
    make_av_clip(source, frames=10)
    before = sha256(source)
    with VideoReader(source) as reader:
        frames = list(reader)
    write_video(tmp_path / "out.mkv", frames, audio_from=source)
    write_video(tmp_path / "out.mp4", frames, audio_from=source)
    with pytest.raises(UsageError, match="is the input"):
        VideoWriter(source, 30, 64, 48, audio_from=source, overwrite=True)
    assert sha256(source) == before


# -- audio ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_audio_is_copied(tmp_path, ext):
    source = tmp_path / "in.mp4"
    make_av_clip(source, frames=30, fps=30)
    assert probe(source).has_audio
    frames = read_all(source)
    out = tmp_path / f"out.{ext}"
    writer = write_video(out, frames, fps=probe(source).fps, audio_from=source)
    assert writer.notes == []
    info = probe(out)
    assert info.has_audio and info.fps == 30
    assert len(read_all(out)) == 30
    assert audio_duration_s(out) == pytest.approx(1.0, abs=0.05)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"  # copied, not re-encoded
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.mp4", f"out.{ext}"])


def test_audio_the_container_cannot_hold_is_skipped_with_a_note(tmp_path):
    source = tmp_path / "in.mkv"
    make_av_clip(source, frames=15, audio_codec="pcm_s16le")
    frames = read_all(source)
    mp4 = write_video(tmp_path / "out.mp4", frames, audio_from=source)
    assert not probe(tmp_path / "out.mp4").has_audio
    assert mp4.notes == [
        "audio not copied: the .mp4 container cannot hold pcm_s16le audio; use .mkv"
    ]
    mkv = write_video(tmp_path / "out.mkv", frames, audio_from=source)
    assert mkv.notes == [] and probe(tmp_path / "out.mkv").has_audio
    png = write_video(str(tmp_path / "frames") + "/", frames, audio_from=source)
    assert png.notes == ["audio not copied: a PNG folder cannot hold audio; use .mp4 or .mkv"]


def test_audio_neither_container_can_hold_is_skipped_from_both(tmp_path):
    """mu-law PCM (IP cameras) fits neither .mkv nor .mp4: a note each, no crash at the
    end of the run (.mkv's remux failed with a traceback) and no advice to use .mkv."""
    source = tmp_path / "camera.mov"
    make_av_clip(source, frames=10, audio_codec="pcm_mulaw", sr=8000)
    frames = read_all(source)
    for ext in ("mkv", "mp4"):
        writer = write_video(tmp_path / f"out.{ext}", frames, audio_from=source)
        assert writer.notes == [
            f"audio not copied: the .{ext} container cannot hold pcm_mulaw audio; convert "
            f"the audio (e.g. to {'FLAC or AAC' if ext == 'mkv' else 'AAC'}) to keep it"
        ]
        assert not probe(tmp_path / f"out.{ext}").has_audio


def test_no_audio_no_note(tmp_path):
    source = tmp_path / "in.mp4"
    make_av_clip(source, frames=5, audio_codec=None)
    writer = write_video(tmp_path / "out.mp4", read_all(source), audio_from=source)
    assert writer.notes == [] and not probe(tmp_path / "out.mp4").has_audio
    frames_folder = str(tmp_path / "frames") + "/"
    write_video(frames_folder, read_all(source))  # a frame folder as the input: no audio
    writer = write_video(tmp_path / "out.mkv", read_all(frames_folder), audio_from=frames_folder)
    assert writer.notes == [] and not probe(tmp_path / "out.mkv").has_audio


# -- input errors --------------------------------------------------------------------------


def test_missing_input(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(
        InputError, match=r"input file '.*nope\.mp4' does not exist: check the path"
    ):
        probe(missing)
    with pytest.raises(InputError):
        VideoReader(missing)


def test_text_file_named_mp4(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 20)
    with pytest.raises(InputError, match="not a video"):
        probe(fake)


def test_file_without_video_stream(tmp_path):
    path = tmp_path / "sound.mkv"
    with av.open(str(path), "w") as container:
        audio = container.add_stream("pcm_s16le", rate=8000)
        audio.layout = "mono"
        af = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        af.sample_rate, af.pts = 8000, 0
        for packet in audio.encode(af):
            container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)
    with pytest.raises(InputError, match="no video stream"):
        probe(path)


def test_folder_errors(tmp_path):
    from PIL import Image

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no \.png, \.jpg or \.tif frames"):
        probe(empty)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.fromarray(np.zeros((10, 20, 3), np.uint8)).save(mixed / "a.png")
    Image.fromarray(np.zeros((12, 20, 3), np.uint8)).save(mixed / "b.png")
    with pytest.raises(InputError, match="must have the same size"):
        probe(mixed)


@pytest.mark.parametrize(
    ("ext", "keep"),
    # mp4 is written with its index up front, so its last bytes are frame data; mkv ends with
    # ~1 kB of cues and tags, so 0.99 (-3 kB) is what cuts into the last frame.
    [("mp4", 0.5), ("mp4", 0.97), ("mp4", 0.999), ("mkv", 0.5), ("mkv", 0.97), ("mkv", 0.99)],
)
def test_truncated_file_is_refused(tmp_path, ext, keep):
    good = tmp_path / f"good.{ext}"
    write_video(good, textured_frames(20, 96, 64))
    assert len(read_all(good)) == 20  # the complete file passes the same checks
    data = good.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InputError, match=r"truncated or corrupt|not a video"):
        read_all(cut)


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_frames_far_in_seek_and_give_exactly_the_frames_from_there(tmp_path, ext):
    """A start SEEK_MIN_S or more in seeks to the key frame before it instead of decoding
    from the start; the frames are those a full read gives from that index, and a file cut
    short after the seek point is still refused."""
    from motionmag.video.reader import SEEK_MIN_S

    path = tmp_path / f"a.{ext}"
    frames = textured_frames(400, 48, 32)  # 13.3 s at 30 fps; x264 puts a key frame at 250
    write_video(path, frames)
    whole = read_all(path)
    for first in (int(SEEK_MIN_S * 30), 290, 399):
        reader = VideoReader(path)
        tail = list(reader.frames(first))
        assert len(tail) == 400 - first and reader.frames_read == 400
        for expected, decoded in zip(whole[first:], tail, strict=True):
            np.testing.assert_array_equal(decoded, expected)
        if first >= 290:  # aims 1 s before: past the key frame at 250
            assert reader.frames_decoded < 400 - 200  # it did not decode from frame 0
    data = path.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: int(len(data) * 0.97)])
    with pytest.raises(InputError, match=r"truncated or corrupt"):
        list(VideoReader(cut).frames(300))


# -- the shared sample video ---------------------------------------------------------------

needs_vtest = pytest.mark.skipif(
    not VTEST.exists(), reason=f"shared sample video {VTEST} is absent on this machine"
)


@needs_vtest
def test_vtest_probe_and_first_frames():
    before = VTEST.stat().st_mtime_ns
    info = probe(VTEST)
    assert info == VideoInfo(
        path=str(VTEST),
        width=768,
        height=576,
        fps=Fraction(10),
        frame_count=795,
        has_audio=False,
        codec="msmpeg4",
        stream_duration_s=79.5,
        stated_fps=Fraction(10),
    )
    assert probe(VTEST, fps=25).stated_fps == Fraction(10)  # kept under an override
    assert info.duration_s == pytest.approx(79.5)
    with VideoReader(VTEST) as reader:
        for i, frame in enumerate(reader):
            assert frame.shape == (576, 768, 3) and frame.dtype == np.uint8
            if i == 19:
                break
    assert reader.frames_read == 20
    tail = list(reader.frames(790))  # seeks: 79 s in
    assert len(tail) == 5 and reader.frames_read == 795 and reader.frames_decoded < 100
    assert 20 < float(frame.mean()) < 235  # a real picture, not a blank frame
    assert VTEST.stat().st_mtime_ns == before


@pytest.mark.slow
@needs_vtest
def test_vtest_reads_all_frames_without_tripping_the_truncation_check():
    with VideoReader(VTEST) as reader:
        count = sum(1 for _ in reader)
    assert count == 795


def test_live_files_use_a_faster_x264_preset_with_the_same_quality(tmp_path):
    from motionmag.live.sinks import LIVE_X264_PRESET, FileSink

    frames = textured_frames(12, 96, 64)
    sink = FileSink(str(tmp_path / "live.mp4"), 25, 96, 64)
    assert sink.writer.preset == LIVE_X264_PRESET == "veryfast"
    for frame in frames:
        sink.write(frame)
    sink.close()
    back = read_all(tmp_path / "live.mp4")
    assert len(back) == 12
    assert min(psnr_db(luma(a), luma(b)) for a, b in zip(frames, back, strict=True)) > 40
    with pytest.raises(UsageError, match="x264 preset 'quick' is unknown"):
        VideoWriter(tmp_path / "bad.mp4", 25, 96, 64, preset="quick")
    assert not (tmp_path / "bad.mp4").exists()


def test_live_file_sink_encodes_in_its_own_thread_in_order_and_leaves_nothing_on_error(
    tmp_path,
):
    from motionmag.live.sinks import ENCODE_QUEUE_FRAMES, FileSink

    frames = textured_frames(3 * ENCODE_QUEUE_FRAMES, 96, 64)
    sink = FileSink(str(tmp_path / "live.mp4"), 25, 96, 64)
    assert sink._thread is not None and sink._thread.is_alive()
    for frame in frames:
        assert sink.write(frame)
    sink.close()
    assert sink._thread is None and sink.frames_written == len(frames)
    with pytest.raises(UsageError, match="already closed"):
        sink.write(frames[0])
    back = read_all(tmp_path / "live.mp4")
    # in order: each frame read back is closest to the frame written at its place
    for i, got in enumerate(back):
        errors = [float(np.abs(luma(got) - luma(f)).mean()) for f in frames]
        assert int(np.argmin(errors)) == i
    # an encoder error (a frame of the wrong size) comes back to the caller, no file left
    bad = FileSink(str(tmp_path / "bad.mp4"), 25, 96, 64)
    bad.write(frames[0])
    bad.write(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(UsageError, match="does not match the output"):
        for frame in frames:  # raised by a later write, or else by close
            bad.write(frame)
        bad.close()
    with pytest.raises(UsageError, match="does not match the output"):
        bad.close()  # the sink stays broken: closing again says why, and keeps nothing
    bad.abort()
    assert not (tmp_path / "bad.mp4").exists()
    # abort drops what waits and leaves nothing
    stopped = FileSink(str(tmp_path / "stopped.mp4"), 25, 96, 64)
    for frame in frames:
        stopped.write(frame)
    stopped.abort()
    assert stopped._thread is None and not (tmp_path / "stopped.mp4").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.mp4"]
    # background=False encodes in the caller's thread: the frame is written on return
    inline = FileSink(str(tmp_path / "inline.mp4"), 25, 96, 64, background=False)
    assert inline._thread is None
    inline.write(frames[0])
    assert inline.frames_written == 1
    inline.close()
    assert len(read_all(tmp_path / "inline.mp4")) == 1


def test_live_video_at_small_sizes_uses_one_codec_thread_with_the_same_frames(tmp_path):
    from motionmag.live.sinks import FileSink
    from motionmag.video.live_source import FileSource, live_codec_threads

    assert live_codec_threads(640, 360) == live_codec_threads(960, 540) == 1
    assert live_codec_threads(1280, 720) is None and live_codec_threads(1920, 1080) is None
    frames = textured_frames(10, 96, 64)
    sink = FileSink(str(tmp_path / "live.mp4"), 25, 96, 64)
    assert sink.writer.codec_threads == 1
    assert sink.writer._stream.codec_context.thread_count == 1
    for frame in frames:
        sink.write(frame)
    sink.close()
    default = write_video(tmp_path / "default.mp4", frames, fps=25, preset="veryfast")
    assert default.codec_threads is None
    one = read_all(tmp_path / "live.mp4")
    assert len(one) == 10
    # one encoder thread or FFmpeg's choice: the same stream within x264's rounding
    both = read_all(tmp_path / "default.mp4")
    assert min(psnr_db(a, b) for a, b in zip(one, both, strict=True)) > 45
    # decoding with one thread gives exactly the frames of FFmpeg's default threading
    with VideoReader(tmp_path / "live.mp4", codec_threads=1) as reader:
        np.testing.assert_array_equal(np.stack(list(reader)), np.stack(one))
    paced = FileSource(tmp_path / "live.mp4")
    assert paced._reader.codec_threads == 1
    paced.close()
    assert FileSource(tmp_path / "live.mp4", realtime=False)._reader.codec_threads is None
    with pytest.raises(UsageError, match="codec_threads 0 is not a whole number"):
        VideoWriter(tmp_path / "bad.mp4", 25, 96, 64, codec_threads=0)
    assert not (tmp_path / "bad.mp4").exists()


def test_sixteen_bit_and_float_grey_frame_folders_are_scaled_not_clipped(tmp_path):
    """PIL's convert("RGB") clips 16-bit grey at 255 (a white frame); they are scaled."""
    from PIL import Image

    ramp = np.linspace(0, 65535, 24 * 32).reshape(24, 32).astype(np.uint16)
    (tmp_path / "sixteen").mkdir()
    (tmp_path / "float").mkdir()
    for i in range(2):
        Image.fromarray(ramp).save(tmp_path / "sixteen" / f"f{i}.png")
        Image.fromarray((ramp / 65535.0).astype(np.float32)).save(tmp_path / "float" / f"f{i}.tif")
    expected = np.rint(ramp * (255.0 / 65535)).astype(np.uint8)
    for folder in ("sixteen", "float"):
        frames = read_all(tmp_path / folder)
        assert len(frames) == 2 and frames[0].shape == (24, 32, 3)
        np.testing.assert_allclose(frames[0][..., 1], expected, atol=1)


def test_a_phone_clip_stored_on_its_side_is_read_upright(tmp_path):
    """Stored 64x48 with FFmpeg's display rotation of -90 (a phone's portrait clip: a
    player turns it 90 degrees clockwise): read as 48x64 frames, the stored top-left
    corner at the top right, and magnified upright with a note."""
    import motionmag as mm

    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:8, :16] = 255  # a bright block in the stored top-left corner
    path = write_ffv1(tmp_path / "phone.mkv", [stored] * 4, "yuv444p", rotation=-90)
    info = probe(path)
    assert (info.width, info.height, info.coded_size, info.quarter_turns) == (48, 64, (64, 48), 3)
    upright = read_clip(path)
    assert upright.shape == (4, 64, 48, 3)
    np.testing.assert_array_equal(upright[0], np.rot90(stored, -1))  # clockwise
    assert upright[0, :16, -8:].min() == 255 and upright[0, 16:, :].max() == 0
    result = mm.magnify(path, tmp_path / "out.mkv", method="linear", alpha=1.0)
    assert (result.width, result.height) == (48, 64)
    assert any("90 degrees clockwise" in note for note in result.notes)
    np.testing.assert_array_equal(read_clip(tmp_path / "out.mkv"), upright)


def test_twelve_bit_frames_in_sixteen_bit_files_keep_their_range(tmp_path):
    """A scientific camera's 12-bit data in 16-bit TIFFs: 0-4095 is read as 0-255 (not
    crushed to 0-15); 16-bit data keeps the 0-65535 scale."""
    from PIL import Image

    for name, top in (("twelve", 4095), ("sixteen", 65535)):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(3):
            grey = np.full((8, 10), top // 2, np.uint16)
            grey[0, 0] = top - i  # the brightest pixel sets the scale
            Image.fromarray(grey).save(folder / f"{i:02d}.tif")
        frames = np.stack(list(VideoReader(folder)))
        # half scale: 2047 / 4095 x 255 = 127.47 (and 32767 / 65535 x 255 = 127.50)
        assert frames[0, 0, 0, 0] == 255 and frames[0, 4, 4, 0] == 127, name


def test_anamorphic_pixels_keep_their_shape_in_mp4_and_get_a_note_elsewhere(tmp_path):
    """A 2:1 pixel aspect ratio (DisplayWidth = 2 x stored width) survives an .mp4 round
    trip, with audio (the remux) too; .mkv and PNG folders say what they cannot keep."""
    frames = textured_frames(4, 64, 48)
    source = tmp_path / "in.mp4"
    make_av_clip(source, frames=4, fps=30)
    for name, audio in (("plain.mp4", None), ("with_audio.mp4", source)):
        writer = write_video(
            tmp_path / name, frames, sample_aspect_ratio=Fraction(2), audio_from=audio
        )
        assert writer.notes == []
        assert probe(tmp_path / name).sample_aspect_ratio == 2
    assert probe(source).sample_aspect_ratio == 1  # unstated: square
    for name in ("out.mkv", "frames/"):
        writer = write_video(f"{tmp_path}/{name}", frames, sample_aspect_ratio=Fraction(4, 3))
        assert len(writer.notes) == 1 and "25 % narrower" in writer.notes[0]
    with pytest.raises(UsageError, match="not a positive number"):
        write_video(tmp_path / "bad.mp4", frames, sample_aspect_ratio=-1)
    assert not (tmp_path / "bad.mp4").exists()


def test_a_sideways_anamorphic_clip_has_the_inverse_aspect_upright(tmp_path):
    from motionmag.video.probe import pixel_aspect

    class Stream:
        sample_aspect_ratio = Fraction(4, 3)
        codec_context = None

    assert pixel_aspect(Stream(), 0) == Fraction(4, 3)
    assert pixel_aspect(Stream(), 1) == Fraction(3, 4)
    Stream.sample_aspect_ratio = None
    Stream.codec_context = Stream()
    assert pixel_aspect(Stream(), 2) == 1


def test_the_main_video_stream_skips_cover_art():
    """A music video's or a phone's cover picture comes first in some files: the frames
    to magnify are the first stream that is not an attached picture."""
    from types import SimpleNamespace

    from motionmag.video.probe import main_video_stream

    cover = SimpleNamespace(name="cover", disposition=av.stream.Disposition.attached_pic)
    video = SimpleNamespace(name="video", disposition=av.stream.Disposition.default)
    container = SimpleNamespace(streams=SimpleNamespace(video=[cover, video]))
    assert main_video_stream(container).name == "video"
    container.streams.video = [cover]  # a file of cover art alone: that is what there is
    assert main_video_stream(container).name == "cover"


def test_only_the_first_of_several_audio_tracks_is_copied_and_said_so(tmp_path):
    source = tmp_path / "two.mkv"
    make_av_clip(source, frames=10, audio_tracks=2)
    writer = write_video(tmp_path / "out.mkv", read_all(source), audio_from=source)
    assert writer.notes == ["the first of the input's 2 audio tracks is copied"]
    with av.open(str(tmp_path / "out.mkv")) as container:
        assert len(container.streams.audio) == 1


def test_transparency_is_dropped_with_a_note(tmp_path):
    """A QuickTime Animation clip with alpha (argb) and a folder of RGBA PNGs are read as
    their RGB (the colour under the transparency), with a note; an opaque clip gets none."""
    from PIL import Image

    import motionmag as mm

    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 200, 100, 50, 0  # see-through
    clip = tmp_path / "alpha.mov"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("qtrle", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "argb"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(rgba, format="rgba")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(rgba, "RGBA").save(folder / f"{i}.png")
    opaque = write_ffv1(tmp_path / "opaque.mkv", [rgba[..., :3]] * 3, "yuv444p")
    for source in (clip, folder):
        assert probe(source).has_alpha
        np.testing.assert_array_equal(read_clip(source)[0], rgba[..., :3])
        result = mm.magnify(source, tmp_path / f"{source.stem}_out.mkv", alpha=2.0)
        assert any("transparency (alpha) channel" in note for note in result.notes)
    assert not probe(opaque).has_alpha
    result = mm.magnify(opaque, tmp_path / "opaque_out.mkv", alpha=2.0)
    assert not any("alpha" in note for note in result.notes)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_phone_photos_in_a_folder_are_read_upright(tmp_path, suffix):
    """JPEG (or PNG) frames stored on their side with EXIF Orientation 6 (a viewer turns
    them 90 degrees clockwise) are read upright, as 48x64, with the rotation note."""
    from PIL import Image

    import motionmag as mm

    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:16, :16] = 255  # a bright block in the stored top-left corner
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(stored).save(folder / f"{i}{suffix}", exif=exif, quality=95)
    info = probe(folder)
    assert (info.width, info.height, info.quarter_turns) == (48, 64, 3)
    upright = read_clip(folder)
    assert upright.shape == (3, 64, 48, 3)
    assert upright[0, 2:14, -14:-2].min() > 200 and upright[0, 20:, :30].max() < 40
    result = mm.magnify(folder, tmp_path / "upright.mkv", alpha=1.0)
    assert (result.width, result.height) == (48, 64)
    assert any("90 degrees clockwise" in note for note in result.notes)


def test_tiff_frames_with_an_orientation_tag_are_turned_once(tmp_path):
    """Pillow's TIFF loader turns the picture by its EXIF orientation itself: the reader
    must not turn it again (a 5x3 TIFF tagged 6 is read as 3x5, as before EXIF support)."""
    from PIL import Image

    for i in range(3):
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(np.full((3, 5, 3), 50 * i, np.uint8)).save(tmp_path / f"{i}.tif", exif=exif)
    info = probe(tmp_path)
    assert (info.width, info.height, info.quarter_turns) == (3, 5, 0)
    assert read_clip(tmp_path).shape == (3, 5, 3, 3)


@pytest.mark.parametrize("mode", ["L", "I;16", "RGBA"])
def test_turned_tiff_frames_of_every_mode_are_read_as_a_viewer_shows_them(tmp_path, mode):
    """Pillow 13 memory-maps an uncompressed TIFF opened by name and scrambles an L,
    16-bit grey or RGBA one tagged with a quarter turn (Orientation 6): the reader opens
    frames from a handle, so each pixel lands where a clockwise turn puts it."""
    from PIL import Image, TiffImagePlugin

    stored = (np.arange(12).reshape(3, 4) * 20).astype(np.uint8)  # 4 wide, 3 high
    image = Image.fromarray(stored.astype(np.uint16) * 257) if mode == "I;16" else None
    image = image or Image.fromarray(stored).convert(mode)
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[0x0112] = 6
    for i in range(2):
        image.save(tmp_path / f"{i}.tif", tiffinfo=tags)
    info = probe(tmp_path)
    assert (info.width, info.height) == (3, 4)
    frames = read_clip(tmp_path)
    np.testing.assert_array_equal(frames[0, ..., 0], np.rot90(stored, k=-1))


def test_an_animated_webp_is_named_as_such(tmp_path):
    """FFmpeg's WebP decoder reads stills only: an animated WebP is refused with a sentence
    saying what it is and how to convert it, not 'does not state its frame size'."""
    from PIL import Image

    images = [Image.fromarray(np.full((48, 64, 3), 20 * i, np.uint8)) for i in range(4)]
    path = tmp_path / "anim.webp"
    images[0].save(path, save_all=True, append_images=images[1:], duration=40, loop=0)
    with pytest.raises(InputError, match=r"is an animated WebP, which FFmpeg cannot decode"):
        probe(path)


def test_an_mkv_one_pixel_wide_and_taller_than_ffv1_takes_is_refused(tmp_path):
    """FFV1 opens no encoder for a frame 1 px wide and over 288 px high: that was a
    traceback at the first frame, after the model was built."""
    with pytest.raises(UsageError, match=r"1 px wide is at most 288 px high.*1x1000"):
        VideoWriter(tmp_path / "thin.mkv", 30, 1, 1000)
    assert not list(tmp_path.iterdir())
    for width, height in ((1, 288), (1000, 1)):
        with VideoWriter(tmp_path / f"ok{width}x{height}.mkv", 30, width, height) as writer:
            writer.write(np.zeros((height, width, 3), np.uint8))


def test_an_mp4_too_wide_for_h264_is_refused_before_any_work(tmp_path):
    """libx264 opens no encoder above 16384 px a side: the writer says so when it is made
    (it was an av.error traceback after the first frame); .mkv takes that size."""
    with pytest.raises(UsageError, match=r"at most 16384 px on a side.*16386x4: write \.mkv"):
        VideoWriter(tmp_path / "wide.mp4", 30, 16386, 4)
    assert not list(tmp_path.iterdir())
    with VideoWriter(tmp_path / "wide.mkv", 30, 16386, 4) as writer:
        writer.write(np.zeros((4, 16386, 3), np.uint8))
    assert probe(tmp_path / "wide.mkv").width == 16386


@pytest.mark.parametrize(
    ("name", "fps", "words"),
    [
        ("slow.mp4", 1e-6, r"1e-06 fps is too slow to write into an \.mp4 file"),
        ("fast.mp4", 1e9, r"1e\+09 fps is too fast for an \.mp4 file \(at most 1e\+07 fps\)"),
        ("fast.mkv", 2000, r"2000 fps is too fast for an \.mkv file.*write \.mp4 or a PNG"),
        # under the top, but 2345678901/1000 makes a time base beyond 32 bits (an
        # OverflowError traceback; review of stop 54)
        ("odd.mp4", 2345678.901, r"2345678.901 fps cannot be stamped exactly.*to 2345679 fps"),
    ],
)
def test_a_rate_the_file_cannot_stamp_is_refused_before_any_file(tmp_path, name, fps, words):
    """mp4's time base 1/(100 fps) must fit 32 bits and its muxer fails below 1e-5 fps (an
    OverflowError or av.error after live opened its source); Matroska stamps in whole ms,
    so a 2000 fps .mkv read back at 1800 fps. A PNG folder keeps no time: any rate."""
    with pytest.raises(UsageError, match=words):
        VideoWriter(tmp_path / name, fps, 8, 8)
    assert not list(tmp_path.iterdir())
    for rate, path in ((1e7, "top.mp4"), (1000, "top.mkv"), (1e9, "frames/")):
        with VideoWriter(f"{tmp_path}/{path}", rate, 8, 8) as writer:
            writer.write(np.zeros((8, 8, 3), np.uint8))
    assert probe(tmp_path / "top.mp4").fps == 10_000_000
    assert probe(tmp_path / "top.mkv").fps == 1000


def test_variable_rate_times_finer_than_a_millisecond_are_kept(tmp_path):
    """Frames 3000 and 3003 ticks of 1/90000 s apart, one dropped: the writer put every
    time within 1 ms of its mean-rate grid onto the grid, moving them by up to 0.68 ms.
    Only whole-millisecond times (a Matroska file's rounding) are snapped."""
    from fractions import Fraction

    import av

    ticks, times = 0, []
    for i in range(40):
        if i % 7 == 3:
            ticks += 3000  # a dropped frame
        times.append(Fraction(ticks, 90000))
        ticks += 3000 if i % 2 else 3003
    frame = np.zeros((16, 16, 3), np.uint8)
    # Matroska stores ms: each time within half a ms of the true one, not on a grid; an
    # .mp4 within one tick of the writer's time base (1 / (30 x 100) s)
    for suffix, tolerance in ((".mkv", 0.0005), (".mp4", 1 / 3000)):
        path = tmp_path / f"vfr{suffix}"
        with VideoWriter(path, 30, 16, 16) as writer:
            for time in times:
                writer.write(frame, time_s=time)
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            read = sorted(Fraction(f.pts) * stream.time_base for f in container.decode(stream))
        errors = [abs(float(r - t)) for r, t in zip(read, times, strict=True)]
        assert max(errors) <= tolerance + 1e-9, suffix


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_gap_in_the_times_does_not_change_the_file_s_length(tmp_path, suffix):
    """A live stream that stalled for 9.6 s, then gave two more frames: the .mp4 header
    said 2.48 s (its B-frames' decode times still lagged by the gap, and players cut the
    last frames), the .mkv 21.64 s (the frame after the gap was as long as the gap)."""
    import av

    times = [i / 25 for i in range(60)] + [12.0, 12.04]
    path = tmp_path / f"gap{suffix}"
    with VideoWriter(path, 25, 16, 16) as writer:
        for i, time in enumerate(times):
            writer.write(np.full((16, 16, 3), 4 * i, np.uint8), time_s=time)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        shown = sorted(float(f.pts * f.time_base) for f in container.decode(stream))
        length_s = container.duration / av.time_base
    assert shown == pytest.approx(times, abs=1e-3)
    assert length_s == pytest.approx(12.08, abs=2e-3)


def test_whole_millisecond_times_given_as_floats_are_still_snapped(tmp_path):
    """live passes float times: 0.033 s is a Matroska time of a 29.97 fps clip, and the
    output's rate must come out exactly 30000/1001 (a Fraction-only test missed it)."""
    from fractions import Fraction

    import av

    rate = Fraction(30000, 1001)
    times = [round(i / rate * 1000) / 1000 for i in range(30)]  # ms, as floats
    path = tmp_path / "ntsc.mp4"
    with VideoWriter(path, rate, 16, 16) as writer:
        for time in times:
            writer.write(np.zeros((16, 16, 3), np.uint8), time_s=time)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        read = sorted(Fraction(f.pts) * stream.time_base for f in container.decode(stream))
    assert {b - a for a, b in itertools.pairwise(read)} == {1 / rate}


def test_an_avi_with_b_frames_is_timed_and_cut_by_frame_index(tmp_path, capsys):
    """AVI has no presentation times: after B-frames its demuxer's pts come out of order
    (1, 3, 4, 2, 7, 6, ...): the output was stamped 0, .033, .133, .134, ... with a note of
    negative intervals, and --start 0.5 --end 1.0 gave frames 13, 15-27 instead of 15-29.
    (An AVI without B-frames keeps its in-order stamps and its seeks: vtest's test.)"""
    from motionmag.cli import main

    source = tmp_path / "bframes.avi"
    container = av.open(str(source), "w", format="avi")
    stream = container.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
    stream.options = {"bf": "3"}
    for i in range(40):
        frame = av.VideoFrame.from_ndarray(np.full((64, 96, 3), i * 6, np.uint8))
        frame.pts, frame.time_base = i, Fraction(1, 30)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()

    def frames_and_times(path: Path) -> tuple[list[int], list[float]]:
        with av.open(str(path)) as done:
            decoded = [
                (f.pts * f.time_base, f.to_ndarray(format="rgb24")) for f in done.decode(video=0)
            ]
        return [round(int(x[0, 0, 0]) / 6) for _, x in decoded], [float(t) for t, _ in decoded]

    for flags, first, count in (((), 0, 40), (("--start", "0.5", "--end", "1.0"), 15, 15)):
        out = tmp_path / f"out{first}.mkv"
        code = main(["magnify", str(source), "-o", str(out), "--alpha", "1", "--quiet", *flags])
        err = capsys.readouterr().err
        assert code == 0 and "not evenly spaced" not in err, err
        indices, times = frames_and_times(out)
        assert indices == list(range(first, first + count))
        np.testing.assert_allclose(times, np.arange(count) / 30, atol=1e-3)


@pytest.mark.parametrize(
    ("name", "pix_fmt", "codec", "options"),
    [("rgb16.mkv", "gbrp16le", "ffv1", {"level": "3"}), ("rgb48.mov", "rgb48be", "png", {})],
)
def test_a_16_bit_rgb_video_reads_its_8_bit_values_exactly(tmp_path, name, pix_fmt, codec, options):
    """swscale's rgb24 divides 16-bit values by 256, not 257: every value of 128 or more
    read one level bright (x * 257 -> x + 1), so an .mkv round trip was not exact."""
    values = np.random.default_rng(0).integers(0, 256, (4, 32, 48, 3), dtype=np.uint8)
    path = tmp_path / name
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = 48, 32, pix_fmt
        stream.options = options
        for i, image in enumerate(values):
            wide = av.VideoFrame.from_ndarray(image.astype(np.uint16) * 257, format="rgb48le")
            frame = wide.reformat(format=pix_fmt)
            frame.pts, frame.time_base = i, Fraction(1, 30)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with VideoReader(path) as reader:
        np.testing.assert_array_equal(np.stack(list(reader)), values)


def test_frame_names_that_tie_in_natural_order_keep_one_order(tmp_path, monkeypatch):
    """'x_1' and 'x_01' (and 'Z' and 'z') tie in natural order: they kept the file
    system's listing order, which differs between copies of a folder."""
    from motionmag.video.probe import list_frame_files

    names = ["x_01.png", "x_1.png", "z.png", "Z.png", "x_2.png"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    listed = [list(reversed(sorted(tmp_path.iterdir()))), sorted(tmp_path.iterdir())]
    orders = []
    for listing in listed:
        monkeypatch.setattr(Path, "iterdir", lambda self, listing=listing: iter(listing))
        orders.append([p.name for p in list_frame_files(tmp_path)])
    assert orders[0] == orders[1] == ["x_01.png", "x_1.png", "x_2.png", "Z.png", "z.png"]
