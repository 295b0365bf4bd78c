"""The engine: one output per input in order, bounded pending frames, audio carried over."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

import motionmag as mm
from clip_io import write_ffv1
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


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_the_audio_decodes_to_the_same_samples_as_the_source(tmp_path, suffix):
    """AAC's priming packet (stamped -21 ms) is copied: without it the first 1024 samples
    decoded as something else (the stop-49 review measured 0.21 of full scale off)."""
    source = tmp_path / "with_audio.mp4"
    _clip_with_audio(source)
    out = tmp_path / f"out{suffix}"
    mm.magnify(source, out, method="linear", alpha=1, mode="static")

    def decoded(path):
        with av.open(str(path)) as container:
            audio = [(float(f.time), f.to_ndarray().ravel()) for f in container.decode(audio=0)]
        with av.open(str(path)) as container:
            first_video_s = float(next(container.decode(video=0)).time)
        return audio, first_video_s

    (original, _), (copied, video_s) = decoded(source), decoded(out)
    wave = np.concatenate([a for _, a in original])
    got = np.concatenate([a for _, a in copied])
    # Matroska stores no negative time: it shifts both streams by the priming's 21 ms,
    # decodes the priming as samples before the tone, and keeps audio and video in step
    lead = len(got) - len(wave)  # the priming's samples, decoded in Matroska
    assert lead == (1024 if suffix == ".mkv" else 0)
    assert abs(lead / 48000 - video_s) <= 0.001  # the first frame comes with the tone
    np.testing.assert_array_equal(got[lead:], wave)


def test_audio_cut_by_start_decodes_exactly_in_mp4(tmp_path):
    """The packets before the cut are kept as pre-roll (the edit list hides them): the cut
    sound is the source's from 1 s on, sample for sample (without them its first 2048
    samples decoded wrong)."""
    source = tmp_path / "two_seconds.mp4"
    _clip_with_audio(source, seconds=2, silent_until_s=0.5)
    out = tmp_path / "cut.mp4"
    mm.magnify(source, out, method="linear", alpha=1, mode="static", start=1.0)

    def samples(path):
        with av.open(str(path)) as container:
            return np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])

    whole, cut = samples(source), samples(out)
    np.testing.assert_allclose(cut, whole[48000 : 48000 + len(cut)], atol=1e-4)
    assert len(cut) >= 48000 - 1024


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


def _frame_times_s(path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def test_unevenly_spaced_frames_keep_their_times_and_temporal_mode_says_the_band_is_approximate(
    tmp_path,
):
    """Frames 50 and 33 ms apart in turn (a variable-rate clip): every output frame keeps
    its input frame's time (.mkv and .mp4, every mode); temporal mode notes that its band
    is approximate, a PNG folder that it keeps no times, static mode needs no note."""
    from clip_io import write_uneven_clip

    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(30)]
    source = write_uneven_clip(tmp_path / "variable.mkv", frames)
    times = _frame_times_s(source)
    assert np.ptp(np.diff(times)) > 0.015
    temporal = mm.magnify(source, tmp_path / "t.mp4", method="linear", band=(2.0, 5.0))
    assert any("not evenly spaced" in note for note in temporal.notes), temporal.notes
    assert any("the band is approximate" in note for note in temporal.notes)
    static = mm.magnify(source, tmp_path / "s.mkv", method="linear", mode="static")
    assert not [note for note in static.notes if "evenly spaced" in note], static.notes
    for out in ("t.mp4", "s.mkv"):
        np.testing.assert_allclose(_frame_times_s(tmp_path / out), times, atol=0.0015)
    folder = mm.magnify(source, f"{tmp_path}/frames/", method="linear", mode="static")
    assert any("keeps no frame times" in note for note in folder.notes)


def test_a_file_whose_frames_are_spaced_at_another_rate_than_it_states(tmp_path):
    """A file that states 30 fps with frames 40 ms apart plays at 25 fps: the output keeps
    the 40 ms (and says 25 fps); temporal mode says where its band really lies."""
    from clip_io import write_uneven_clip

    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(20)]
    source = write_uneven_clip(tmp_path / "mislabelled.mkv", frames, intervals_ms=(40,))
    assert probe(source).fps == 30
    result = mm.magnify(source, tmp_path / "out.mp4", method="linear", band=(3.0, 6.0))
    assert result.fps == pytest.approx(25)
    assert probe(tmp_path / "out.mp4").fps == 25
    np.testing.assert_allclose(np.diff(_frame_times_s(tmp_path / "out.mp4")), 0.040, atol=1e-3)
    note = next(note for note in result.notes if "40.0 ms apart" in note)
    assert "passes 2.5-5 Hz" in note and "pass fps=25" in note  # a Python call's terms
    for fps in (25, 240):  # the real rate, or a high-speed camera's: --fps is the user's word
        again = mm.magnify(source, tmp_path / f"{fps}.mkv", method="linear", band=(3, 6), fps=fps)
        assert not [note for note in again.notes if "ms apart" in note], again.notes


def test_an_anamorphic_clip_is_written_with_its_pixel_shape(tmp_path):
    """4:3 pixels in, 4:3 pixels out (crop and side-by-side keep them); a resize that
    squeezes the width by 2 doubles them; a .mkv output says it cannot keep them."""
    from fractions import Fraction

    from motionmag.video import VideoWriter

    source = tmp_path / "anamorphic.mp4"
    rng = np.random.default_rng(0)
    with VideoWriter(source, 30, 64, 48, sample_aspect_ratio=Fraction(4, 3)) as writer:
        for _ in range(6):
            writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    assert probe(source).sample_aspect_ratio == Fraction(4, 3)
    kw = {"method": "linear", "alpha": 2, "mode": "static"}
    mm.magnify(source, tmp_path / "same.mp4", crop=(0, 0, 32, 32), side_by_side=True, **kw)
    assert probe(tmp_path / "same.mp4").sample_aspect_ratio == Fraction(4, 3)
    mm.magnify(source, tmp_path / "squeezed.mp4", resize="32x48", **kw)
    assert probe(tmp_path / "squeezed.mp4").sample_aspect_ratio == Fraction(8, 3)
    mm.magnify(source, tmp_path / "half.mp4", resize="32", **kw)  # uniform: unchanged
    assert probe(tmp_path / "half.mp4").sample_aspect_ratio == Fraction(4, 3)
    result = mm.magnify(source, tmp_path / "out.mkv", **kw)
    assert any("pixels are not square" in note for note in result.notes)


@pytest.mark.parametrize("fps", [Fraction(30), Fraction(30000, 1001)], ids=str)
def test_a_constant_rate_mkv_comes_out_at_its_exact_rate(tmp_path, fps):
    """Matroska keeps ms time stamps (0, 0.033, 0.067 s, ...): the frames' own times are
    put back on the exact grid, so an .mp4 made from a 30 or 29.97 fps .mkv says exactly
    that rate (it said 90000/3001 before the snap)."""
    from clip_io import write_clip

    rng = np.random.default_rng(4)
    frames = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(40)]
    source = write_clip(tmp_path / "constant.mkv", frames, fps)
    result = mm.magnify(source, tmp_path / "out.mp4", method="linear", mode="static")
    info = probe(tmp_path / "out.mp4")
    assert info.fps == fps and info.frame_count == 40 and result.fps == float(fps)
    assert not [note for note in result.notes if "ms apart" in note]


def test_alpha_beyond_the_weights_training_range_gets_a_note(tmp_path):
    """The shipped learned weights were trained on alpha 1-100 (their cards' generator
    range): alpha 500 is noted, 50 is not; flowmag (applied twice above its range) and
    classical methods have no such range."""
    from motionmag.magnify.engine import trained_alpha_top

    assert trained_alpha_top(MagnifyConfig(method="oh2018")) == 100.0
    assert trained_alpha_top(MagnifyConfig(method="sigma-theta")) == 100.0
    assert trained_alpha_top(MagnifyConfig(method="flowmag")) is None
    assert trained_alpha_top(MagnifyConfig(method="phase")) is None
    frames = np.random.default_rng(0).integers(0, 256, (3, 24, 32, 3), dtype=np.uint8)
    source = write_ffv1(tmp_path / "clip.mkv", list(frames), "yuv444p")
    for alpha, noted in ((500.0, True), (50.0, False)):
        result = mm.magnify(source, tmp_path / f"x{alpha:g}.mkv", method="ha2024-fast", alpha=alpha)
        said = [note for note in result.notes if "were trained on" in note]
        assert bool(said) == noted, result.notes
        if noted:
            assert "alpha 500 is beyond the 1-100" in said[0]
