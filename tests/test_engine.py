"""The engine: one output per input in order, bounded pending frames, audio carried over."""

from __future__ import annotations

import av
import numpy as np
import pytest

import motionmag as mm
from motionmag.magnify.config import MagnifyConfig
from motionmag.magnify.registry import build_magnifier
from motionmag.video import probe


@pytest.mark.parametrize(
    ("mode", "filter_kind", "reference"),
    [
        ("temporal", "fir", 0),
        ("temporal", "butter", 0),
        ("static", "butter", 7),
        ("dynamic", "butter", 0),
    ],
)
def test_memory_is_bounded_by_the_latency_window(mode, filter_kind, reference):
    config = MagnifyConfig(
        method="linear",
        alpha=5,
        mode=mode,
        band=(1.0, 3.0) if mode == "temporal" else None,
        fps=30.0,
        filter_kind=filter_kind,
        reference=reference,
    )
    magnifier = build_magnifier(config)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    produced, most_pending = 0, 0
    for _ in range(400):
        produced += len(magnifier.push(frame))
        most_pending = max(most_pending, len(magnifier._pending))
    produced += len(magnifier.flush())
    assert produced == 400
    assert most_pending <= magnifier.latency_frames + 1
    assert len(magnifier._pending) == 0


def test_stream_returns_outputs_in_order_after_its_latency():
    frames = [np.full((16, 16, 3), v, np.uint8) for v in range(10, 60, 5)]
    stream = mm.Stream(method="linear", alpha=1.0, mode="static", reference=3)
    returned = [stream.push(f) for f in frames]
    assert returned[:3] == [None, None, None]
    rest = stream.flush()
    outputs = [r for r in returned if r is not None] + rest
    assert len(outputs) == len(frames)
    for original, out in zip(frames, outputs, strict=True):  # alpha 1: identity, in order
        np.testing.assert_array_equal(original, out)


def _clip_with_audio(path, seconds: int = 1, silent_until_s: float = 0.0) -> None:
    """30 fps grey frames (frame i at level 4 i mod 256) and a 440 Hz tone, silent until
    ``silent_until_s``, ``seconds`` long."""
    rate = 48000
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=rate)
        audio.layout = "mono"
        fmt = audio.codec_context.codec.audio_formats[0].name
        for i in range(30 * seconds):
            vf = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (4 * i) % 256, np.uint8))
            vf.pts = i
            for packet in video.encode(vf):
                container.mux(packet)
        t = np.arange(rate * seconds) / rate
        tone = (0.2 * np.sin(2 * np.pi * 440 * t) * (t >= silent_until_s)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            af = av.AudioFrame.from_ndarray(
                tone[None, start : start + 1024], format=fmt, layout="mono"
            )
            af.sample_rate, af.pts = rate, start
            for packet in audio.encode(af):
                container.mux(packet)
        for stream in (audio, video):
            for packet in stream.encode(None):
                container.mux(packet)


def test_audio_is_carried_into_the_magnified_file(tmp_path):
    source = tmp_path / "with_audio.mp4"
    _clip_with_audio(source)
    out = tmp_path / "out.mkv"
    result = mm.magnify(source, out, method="linear", alpha=5, mode="static")
    info = probe(out)
    assert info.has_audio and result.frames == 30


def test_start_and_end_cut_the_frames_and_the_audio(tmp_path):
    """--start 1 --end 1.5 of a 2 s clip: frames 30-44, and audio from 1 s (where the tone
    begins) for 0.5 s."""
    source = tmp_path / "two_seconds.mp4"
    _clip_with_audio(source, seconds=2, silent_until_s=1.0)
    out = tmp_path / "cut.mkv"
    result = mm.magnify(source, out, method="linear", alpha=1, mode="static", start=1.0, end=1.5)
    assert result.frames == 15
    with av.open(str(source)) as container:
        levels = [f.to_ndarray(format="rgb24").mean() for f in container.decode(video=0)]
    with av.open(str(out)) as container:
        got = [f.to_ndarray(format="rgb24").mean() for f in container.decode(video=0)]
    np.testing.assert_allclose(got, levels[30:45], atol=1.5)
    with av.open(str(out)) as container:
        samples = np.concatenate(
            [f.to_ndarray().ravel() for f in container.decode(audio=0)]
        ).astype(np.float64)
    assert len(samples) / 48000 == pytest.approx(0.5, abs=0.05)
    assert np.sqrt(np.mean(samples[:4800] ** 2)) > 0.1  # the tone from the first 0.1 s
    with pytest.raises(mm.UsageError, match="past the end"):
        mm.magnify(source, tmp_path / "late.mkv", method="linear", start=5.0)
    assert not (tmp_path / "late.mkv").exists()


@pytest.mark.parametrize(
    ("frames", "advice"),
    [
        (np.zeros((3, 8, 8, 3), np.float32), r"x \* 255"),
        (np.zeros((3, 8, 8), np.uint8), "stack grey frames"),
        (np.zeros((3, 8, 8, 4), np.uint8), "drop the alpha channel"),
        (np.zeros((8, 8, 3), np.uint8), "that is one frame"),
        (np.zeros((3, 8, 8, 3), np.uint16), "high byte"),
    ],
)
def test_wrong_frame_arrays_get_the_conversion_they_need(frames, advice):
    with pytest.raises(mm.InputError, match=advice):
        mm.magnify_frames(frames, method="linear")


def test_stream_refuses_bad_frames_a_size_change_and_a_mismatched_mask():
    frame = np.full((16, 24, 3), 128, np.uint8)
    stream = mm.Stream(method="linear", alpha=2.0, mode="dynamic")
    stream.push(frame)
    with pytest.raises(mm.InputError, match="start a new Stream"):
        stream.push(frame[:8])
    with pytest.raises(mm.InputError, match="x \\* 255"):
        stream.push(frame / 255.0)
    masked = mm.Stream(method="linear", alpha=2.0, mode="dynamic", mask=np.ones((16, 16)))
    with pytest.raises(mm.InputError, match="mask is 16x16 but the frames are 24x16"):
        masked.push(frame)


def test_a_band_slower_than_the_clip_gets_a_note(tmp_path):
    """30 frames at 30 fps last 1 s: a 0.5 Hz low edge (2 s period) cannot be resolved."""
    source = tmp_path / "short.mkv"
    rng = np.random.default_rng(0)
    with av.open(str(source), "w") as container:
        video = container.add_stream("ffv1", rate=30)
        video.width, video.height, video.pix_fmt = 32, 24, "yuv444p"
        for _ in range(30):
            frame = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    slow = mm.magnify(source, tmp_path / "slow.mkv", method="linear", band=(0.5, 2.0), quiet=True)
    assert any("less than one period" in note for note in slow.notes), slow.notes
    fast = mm.magnify(source, tmp_path / "fast.mkv", method="linear", band=(2.0, 5.0), quiet=True)
    assert not any("period" in note for note in fast.notes), fast.notes


def test_unevenly_spaced_frames_get_a_note_in_every_mode(tmp_path):
    """Frames 33 and 50 ms apart in turn (a variable-rate clip): the output's timing drifts
    from the input's in every mode, and in temporal mode the band is approximate too."""
    from clip_io import write_uneven_clip

    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(30)]
    source = write_uneven_clip(tmp_path / "variable.mkv", frames)
    temporal = mm.magnify(source, tmp_path / "t.mkv", method="linear", band=(2.0, 5.0))
    assert any("not evenly spaced" in note for note in temporal.notes), temporal.notes
    assert any("the band is approximate" in note for note in temporal.notes)
    static = mm.magnify(source, tmp_path / "s.mkv", method="linear", mode="static")
    timing = [note for note in static.notes if "not evenly spaced" in note]
    assert timing and "timing and sound drift" in timing[0] and "band" not in timing[0]
