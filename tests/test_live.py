"""Live input: real-time pacing, frame dropping, bounded latency, the report, the CLI.

A short lossless clip stands in for a camera: it is played at its frame rate (on a fake
clock where the schedule itself is tested, on the real clock for end-to-end runs kept
to about a second). Frames carry their index in their brightness, so order and drops
are read off the output. The magnification itself is checked against a known answer:
a texture vibrating by a known sub-pixel amount must come out alpha times larger.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from clip_io import read_clip, write_clip
from motionmag.cli import main
from motionmag.errors import InputError
from motionmag.eval.displacement import measure_shift
from motionmag.live import priority
from motionmag.live.calibrate import (
    AUTO_SHARE,
    TIMED_FRAMES,
    TIMED_ROUNDS,
    WARMUP_FRAMES,
    auto_size,
    magnifier_ms_per_frame,
)
from motionmag.live.cli_live import DEFAULT_QUEUE_FRAMES, default_queue
from motionmag.live.latency import LatencyStats, LiveReport
from motionmag.live.pipeline import (
    KEEP_UP_SHARE,
    FrameQueue,
    drop_advice,
    run_live,
    size_to_keep_up,
)
from motionmag.live.sinks import Sink
from motionmag.magnify.stream import Stream
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, vibrating_frames
from motionmag.video.live_source import (
    FileSource,
    StreamSource,
    open_source,
    paced,
    source_kind,
)


class FakeClock:
    """Virtual seconds: ``sleep`` advances time at once and is recorded."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


class ListSink(Sink):
    """Keeps what it is given; ``closed``/``aborted`` say how the run ended."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []
        self.times_s: list[float | None] = []
        self.closed = self.aborted = False

    def write(self, frame: np.ndarray, time_s: float | None = None) -> bool:
        self.frames.append(frame)
        self.times_s.append(time_s)
        return True

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


class SlowMagnifier:
    """A magnifier that takes ``delay_s`` per frame (identity output)."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def push(self, frame: np.ndarray) -> np.ndarray:
        time.sleep(self.delay_s)
        return frame

    def flush(self) -> list[np.ndarray]:
        return []


def indexed_frames(count: int, size: tuple[int, int] = (48, 64)) -> list[np.ndarray]:
    """Frame i is uniformly grey at 3 * i + 10, so its index can be read back."""
    return [np.full((*size, 3), 3 * i + 10, np.uint8) for i in range(count)]


def index_of(frame: np.ndarray) -> int:
    return round((float(frame.mean()) - 10) / 3)


@pytest.fixture(scope="module")
def clip_40fps(tmp_path_factory) -> Path:
    """40 indexed frames at 40 fps (one second), lossless."""
    return write_clip(tmp_path_factory.mktemp("live") / "indexed.mkv", indexed_frames(40), 40.0)


@pytest.fixture(scope="module")
def clip_100fps(tmp_path_factory) -> Path:
    """80 indexed frames at 100 fps (0.8 s), lossless."""
    return write_clip(tmp_path_factory.mktemp("live") / "fast.mkv", indexed_frames(80), 100.0)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- pacing (fake clock) ----------------------------------------------------------------


def test_paced_releases_frame_i_at_i_over_fps_and_never_drifts():
    clock = FakeClock()
    released = [clock.now() for _ in paced(iter(range(5)), 10.0, clock)]
    assert released == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])

    def slow_decoder():  # frame 1 takes 0.25 s to decode
        for i in range(5):
            if i == 1:
                clock.t += 0.25
            yield i

    clock = FakeClock()
    released = [clock.now() for _ in paced(slow_decoder(), 10.0, clock)]
    # late frames go at once; the schedule keeps its origin (no drift, no catch-up burst)
    assert released == pytest.approx([0.0, 0.25, 0.25, 0.3, 0.4])


def test_file_source_plays_the_file_at_its_frame_rate(clip_40fps):
    clock = FakeClock()
    source = FileSource(clip_40fps, clock=clock)
    assert (source.info.fps, source.info.width, source.info.height) == (40.0, 64, 48)
    times, order = [], []
    for frame in source.frames():
        times.append(clock.now())
        order.append(index_of(frame))
    source.close()
    assert order == list(range(40))
    assert np.diff(times) == pytest.approx(np.full(39, 1 / 40))
    fast = FileSource(clip_40fps, clock=FakeClock(), realtime=False)
    assert len(list(fast.frames())) == 40 and not fast._clock.sleeps  # type: ignore[attr-defined]


def test_fps_on_a_file_sets_the_band_s_rate_and_the_file_still_plays_at_its_own(
    clip_40fps, tmp_path
):
    """``live FILE --fps 80`` played a 40 fps file twice as fast and wrote it at 80 fps
    (magnify writes the file's own rate; --fps is the rate the band is read in). A frame
    folder states no rate: there --fps is its rate."""
    clock = FakeClock()
    source = FileSource(clip_40fps, clock=clock, fps=80.0)
    assert source.info.fps == 40.0
    times = [clock.now() for _ in source.frames()]
    assert np.diff(times) == pytest.approx(np.full(39, 1 / 40))
    folder = write_clip(f"{tmp_path}/frames/", indexed_frames(4), 40.0)
    assert FileSource(folder, clock=FakeClock(), fps=80.0).info.fps == 80.0


def test_url_source_is_paced_by_its_timestamps(clip_40fps):
    clock = FakeClock()
    source = StreamSource(str(clip_40fps), clock=clock)  # PyAV opens a path like a URL
    times, order = [], []
    for frame in source.frames():
        times.append(clock.now())
        order.append(index_of(frame))
    source.close()
    assert order == list(range(40))
    assert times[-1] == pytest.approx(39 / 40, abs=2e-3)


def test_url_source_read_unpaced_keeps_every_frame_and_its_own_time(clip_40fps):
    """--no-realtime on a URL (a remote file) dropped most frames and stamped the rest with
    their arrival, squeezing the recording (stop-51 review)."""
    clock = FakeClock()
    source = StreamSource(str(clip_40fps), realtime=False, clock=clock)
    assert not source.info.paced
    stamps = []
    for _ in source.frames():
        stamps.append(source.last_time_s)
    source.close()
    assert clock.now() == 0.0 and len(stamps) == 40  # no waiting
    assert stamps == pytest.approx([i / 40 for i in range(40)], abs=2e-3)
    sink = ListSink()
    report = run_live(StreamSource(str(clip_40fps), realtime=False), SlowMagnifier(0.005), [sink])
    assert report.frames_dropped == 0 and [index_of(f) for f in sink.frames] == list(range(40))
    assert sink.times_s == pytest.approx([i / 40 for i in range(40)], abs=2e-3)


@pytest.fixture(scope="module")
def raw_h264_40fps(tmp_path_factory) -> Path:
    """The 40 indexed frames as a raw H.264 stream: no time stamps, 40 fps in its VUI."""
    import av

    path = tmp_path_factory.mktemp("live") / "indexed.h264"
    with av.open(str(path), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=40)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv444p"
        stream.options = {"qp": "0"}
        for frame in indexed_frames(40):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def test_a_stream_without_time_stamps_is_paced_by_its_rate(raw_h264_40fps):
    """A raw H.264 stream's frames carry no time stamps: it was not paced at all (10 s of
    it in 0.8 s); FFmpeg's 25 fps default was taken for its rate, where the stream says 40."""
    from motionmag.video.probe import probe

    assert probe(raw_h264_40fps).fps == 40
    clock = FakeClock()
    source = StreamSource(str(raw_h264_40fps), clock=clock)
    assert source.info.fps == 40.0
    times, order = [], []
    for frame in source.frames():
        times.append(clock.now())
        order.append(index_of(frame))
    source.close()
    assert order == list(range(40)) and source.ended_by is None
    assert np.diff(times) == pytest.approx(np.full(39, 1 / 40))


def test_a_stream_that_breaks_off_is_reported_as_such(clip_40fps):
    """A server that went quiet mid-run ended the report with "(end of source)"."""
    import av

    class Breaking:  # the container, whose decoding fails after 10 frames
        def __init__(self, container) -> None:
            self.container = container

        def decode(self, *args, **kwargs):
            for count, frame in enumerate(self.container.decode(*args, **kwargs)):
                if count == 10:
                    raise av.error.FFmpegError(110, "Connection timed out")
                yield frame

        def close(self) -> None:
            self.container.close()

    source = StreamSource(str(clip_40fps), realtime=False)
    source._container = Breaking(source._container)
    sink = ListSink()
    report = run_live(source, SlowMagnifier(0.0), [sink])
    assert len(sink.frames) == 10 and sink.closed
    assert report.stopped_by == "the stream broke off: Connection timed out"
    whole = StreamSource(str(clip_40fps), realtime=False)
    assert run_live(whole, SlowMagnifier(0.0), [ListSink()]).stopped_by == "end of source"


def test_stamped_and_unstamped_frames_keep_one_timeline(clip_40fps):
    """After a stamped frame an unstamped one repeated the stale stamp (the writer then
    squeezed it one tick on), and the first stamped frame after unstamped ones took the
    time of the frame before it."""
    from fractions import Fraction

    class Frame:
        width, height, time_base = 64, 48, Fraction(1, 40)

        def __init__(self, pts: int | None) -> None:
            self.pts = pts

        def to_ndarray(self, format: str) -> np.ndarray:
            return np.zeros((48, 64, 3), np.uint8)

    class Container:
        def decode(self, *args, **kwargs):
            return iter([Frame(None), Frame(None), Frame(2), Frame(3), Frame(None)])

        def close(self) -> None:
            pass

    source = StreamSource(str(clip_40fps), realtime=False)
    source._container.close()
    source._container = Container()
    stamps = [source.last_time_s for _ in source.frames()]
    assert stamps == [None, None, pytest.approx(0.05), pytest.approx(0.075), pytest.approx(0.1)]


def test_a_server_that_never_answers_is_told_as_a_timeout():
    """A silent RTSP server was 'not video FFmpeg can read' (FFmpeg's error after 12.6 s)."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    url = f"rtsp://127.0.0.1:{server.getsockname()[1]}/stream"
    try:
        with pytest.raises(InputError, match=r"did not answer within 0.5 s"):
            StreamSource(url, timeout_s=0.5)
    finally:
        server.close()


# -- the queue and the latency statistics -----------------------------------------------


def test_queue_keeps_the_newest_frames_and_counts_the_dropped():
    from motionmag.live.pipeline import Captured

    queue = FrameQueue(2, drop=True)
    for i in range(5):
        assert queue.put(Captured(i, float(i), np.zeros(1)))
    assert queue.dropped == 3
    assert [queue.get(0.01).index for _ in range(2)] == [3, 4]
    assert queue.get(0.01) is None and not queue.finished
    queue.close()
    assert queue.finished


def test_the_reference_and_the_frames_before_it_are_never_dropped():
    """Static mode's reference is the source's frame of that index: with drops it was the
    Nth frame left (frame 290 of 300 for --reference 100)."""
    from motionmag.live.pipeline import Captured

    queue = FrameQueue(2, drop=True, keep_first=4)
    for i in range(8):
        assert queue.put(Captured(i, float(i), np.zeros(1)))
    waiting = []
    while (item := queue.get(0.01)) is not None:
        waiting.append(item.index)
    assert waiting == [0, 1, 2, 3, 7] and queue.dropped == 3


def test_latency_stats_match_numpy_in_bounded_memory():
    rng = np.random.default_rng(1)
    values = rng.lognormal(mean=3.0, sigma=0.8, size=20_000)  # ms
    stats = LatencyStats()
    for value in values:
        stats.add(value)
    assert stats.count == len(values)
    assert stats.mean_ms == pytest.approx(values.mean(), rel=1e-9)
    assert stats.max_ms == values.max()
    assert stats.percentile_ms(95) == pytest.approx(np.percentile(values, 95), rel=0.011)
    assert stats.percentile_ms(50) == pytest.approx(np.percentile(values, 50), rel=0.011)
    assert stats.counts.nbytes < 20_000  # a fixed histogram, not the values


# -- end to end on the real clock --------------------------------------------------------


def test_live_run_keeps_up_and_writes_every_frame_in_order(tmp_path, capsys, clip_40fps):
    out, report = tmp_path / "out.mkv", tmp_path / "report.json"
    began = time.monotonic()
    code, stdout, stderr = run(
        capsys,
        "live",
        clip_40fps,
        "-o",
        out,
        "--method",
        "linear",
        "--alpha",
        1,
        "--mode",
        "static",
        "--queue",
        8,
        "--quiet",
        "--report",
        report,
    )
    elapsed = time.monotonic() - began
    assert code == 0, stderr
    assert "frames dropped" in stdout and "latency" in stdout
    frames = read_clip(out)
    assert len(frames) == 40
    np.testing.assert_array_equal(frames, np.stack(indexed_frames(40)))  # alpha 1, in order
    data = json.loads(report.read_text())
    assert data["frames_in"] == data["frames_processed"] == data["frames_output"] == 40
    assert data["frames_dropped"] == 0 and data["kept_up"]
    assert data["latency_p95_ms"] <= data["latency_max_ms"] < 500
    assert elapsed > 0.9  # played in real time (39 periods of 25 ms), not decoded at once


def test_live_fps_reads_the_band_and_the_file_keeps_its_own_rate(tmp_path, capsys, clip_40fps):
    """End to end: ``live FILE --fps 80`` plays the 40 fps file in its own second and
    writes it at 40 fps, every frame, while the filter reads its band at 80 fps (a 20 Hz
    band, above the file's own Nyquist rate, is accepted only at --fps 80)."""
    import av

    out = tmp_path / "out.mkv"
    began = time.monotonic()
    argv = ["live", clip_40fps, "-o", out, "--method", "linear", "--alpha", 1, "--band", 15, 25]
    code, _, stderr = run(capsys, *argv, "--fps", 80, "--queue", 8, "--quiet")
    assert code == 0, stderr
    assert time.monotonic() - began > 0.9  # not 0.5 s: played at 40 fps
    with av.open(str(out)) as container:
        assert float(container.streams.video[0].average_rate) == pytest.approx(40.0)
    assert len(read_clip(out)) == 40


def test_slow_magnifier_drops_frames_and_latency_stays_bounded(clip_100fps):
    sink = ListSink()
    delay_s = 0.04  # 25 fps against a 100 fps source: about 3 of 4 frames must go
    report = run_live(
        FileSource(clip_100fps),
        SlowMagnifier(delay_s),
        [sink],
        method="slow",
        queue_frames=1,
        interval_s=0.2,
    )
    assert sink.closed and not sink.aborted
    assert report.frames_in == 80
    assert report.frames_processed + report.frames_dropped == report.frames_in
    assert report.frames_dropped >= 40
    assert report.frames_output == report.frames_processed == len(sink.frames)
    indices = [index_of(f) for f in sink.frames]
    assert indices == sorted(set(indices))  # in order, none twice
    assert indices[-1] >= 75  # the newest frames are the ones kept
    # each frame keeps its time in the source, so a recording keeps real time
    assert sink.times_s == pytest.approx([i / 100 for i in indices])
    # Without dropping, frame k would wait about k x 30 ms (2.4 s by the end). With it,
    # a frame waits at most one processing time in the queue, plus its own.
    bound_ms = 1000 * (2 * delay_s) + 150  # + scheduling slack on a loaded machine
    assert report.latency_max_ms < bound_ms
    late = [i for i in report.intervals if i.frames_processed > 3]
    assert len(late) >= 3
    assert all(i.latency_max_ms < bound_ms for i in late)
    assert late[-1].latency_mean_ms < late[0].latency_mean_ms + 50  # no growth
    # the report says how many went, why, and what to change
    advice = next(note for note in report.notes if "were dropped" in note)
    assert advice.startswith(f"{report.frames_dropped} of 80 frames")
    assert f"every {1000 / report.source_fps:.1f} ms" in advice and "--resize" in advice
    assert f"took {report.magnify_ms_mean:.1f} ms" in advice and report.magnify_ms_mean >= 40


def test_max_frames_and_duration_end_the_run_and_keep_the_output(tmp_path, capsys, clip_40fps):
    code, stdout, _ = run(
        capsys,
        "live",
        clip_40fps,
        "-o",
        tmp_path / "ten.mkv",
        "--method",
        "linear",
        "--max-frames",
        10,
        "--queue",
        8,
        "--quiet",
    )
    assert code == 0 and "--max-frames 10" in stdout
    assert len(read_clip(tmp_path / "ten.mkv")) == 10
    sink = ListSink()
    report = run_live(
        FileSource(clip_40fps), Stream(method="linear", mode="static"), [sink], duration_s=0.3
    )
    assert report.stopped_by.startswith("--duration")
    assert 8 <= report.frames_in <= 14  # 0.3 s at 40 fps, give or take scheduling
    assert sink.closed and len(sink.frames) == report.frames_output


# -- the magnification itself ------------------------------------------------------------


def test_live_linear_static_magnifies_a_known_subpixel_motion_by_alpha(tmp_path, capsys):
    fps, alpha = 30.0, 10.0
    texture = smooth_texture(load_texture("astronaut"), (96, 128), sigma_px=3.0)
    clip, truth = vibrating_frames(texture, 0.08, 3.0, fps, frames=30)  # truth[0] = 0
    source = write_clip(tmp_path / "vibrating.mkv", quantize(clip), fps)
    out = tmp_path / "magnified.mkv"
    code, stdout, stderr = run(
        capsys,
        "live",
        source,
        "-o",
        out,
        "--method",
        "linear",
        "--alpha",
        alpha,
        "--mode",
        "static",
        "--queue",
        30,
        "--quiet",
    )
    assert code == 0, stderr
    assert re.search(r"frames dropped\s+0\n", stdout)
    frames = read_clip(out)
    assert len(frames) == 30
    still = quantize(texture)
    measured = np.array([measure_shift(still, frame)[0] for frame in frames])
    assert np.ptp(measured) / np.ptp(truth) == pytest.approx(alpha, rel=0.12)
    moving = np.abs(truth) > 0.04
    np.testing.assert_allclose(measured[moving] / truth[moving], alpha, rtol=0.15)


# -- bad input ---------------------------------------------------------------------------


def test_a_source_that_names_nothing_is_one_sentence_and_no_output(tmp_path, capsys):
    out = tmp_path / "out.mp4"
    code, _, stderr = run(capsys, "live", tmp_path / "missing.mp4", "-o", out)
    assert code == 3  # a missing input, as for magnify
    assert stderr.count("\n") == 1 and stderr.startswith("motionmag: error: source")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="not an existing file, a camera"):
        open_source("no-such-thing")
    with pytest.raises(InputError, match="does not exist"):
        source_kind("/dev/video987")


def test_an_unreadable_source_is_an_input_error_and_no_output(tmp_path, capsys):
    bad = tmp_path / "not_a_video.mp4"
    bad.write_text("hello")
    out = tmp_path / "out.mp4"
    code, _, stderr = run(capsys, "live", bad, "-o", out, "--quiet")
    assert code == 3
    assert stderr.count("\n") == 1 and "not a video" in stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_video.mp4"]
    with pytest.raises(InputError, match="could not be opened"):
        open_source("rtsp://127.0.0.1:9/none")


def test_a_reference_past_the_file_s_end_is_refused_before_it_plays(
    tmp_path, capsys, clip_40fps, monkeypatch
):
    """It was refused after the whole file had played (a long file: a long wait)."""
    import motionmag.live.pipeline as pipeline

    def played(*args, **kwargs):
        raise AssertionError("the file was played")

    monkeypatch.setattr(pipeline, "run_live", played)
    out = tmp_path / "o.mp4"
    for extra in (["--reference", "500"], ["--reference", "10", "--max-frames", "10"]):
        argv = ["live", clip_40fps, "-o", out, "--method", "linear", "--mode", "static"]
        code, stdout, stderr = run(capsys, *argv, *extra)
        assert code == 2 and "is beyond the end of" in stderr and stderr.count("\n") == 1
        assert not stdout and not out.exists()  # no report: nothing was played


def test_argument_problems_are_refused_before_the_source_opens(tmp_path, capsys, monkeypatch):
    import motionmag.live.sinks as sinks

    monkeypatch.setattr(sinks, "display_problem", lambda: "no display found: pass -o OUT.mp4.")
    code, _, stderr = run(capsys, "live", "no-such-camera-or-file")
    assert code == 2 and "no display found" in stderr and stderr.count("\n") == 1
    (tmp_path / "taken.mp4").write_bytes(b"x")
    for extra, words in (
        (["-o", tmp_path / "taken.mp4"], "already exists"),
        (["-o", tmp_path / "out.avi"], "not supported"),
        (["-o", tmp_path / "o.mp4", "--duration", "0"], "--duration"),
        (["-o", tmp_path / "o.mp4", "--method", "nope"], "unknown method"),
        (["-o", tmp_path / "o.mp4", "--report", tmp_path / "r.txt"], ".json"),
    ):
        code, _, stderr = run(capsys, "live", "no-such-camera-or-file", *extra)
        assert code == 2 and words in stderr and stderr.count("\n") == 1, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.mp4"]


def test_ctrl_c_and_a_closed_window_end_the_run_and_keep_the_output(clip_40fps):
    class Interrupted(SlowMagnifier):
        def push(self, frame):
            if index_of(frame) == 5:
                raise KeyboardInterrupt
            return frame

    sink = ListSink()
    report = run_live(FileSource(clip_40fps, realtime=False), Interrupted(0), [sink])
    assert report.stopped_by == "Ctrl+C" and sink.closed and not sink.aborted
    assert [index_of(f) for f in sink.frames] == [0, 1, 2, 3, 4]

    class Delayed(SlowMagnifier):  # a temporal filter's latency: 3 frames held
        def __init__(self):
            super().__init__(0)
            self.held = []

        def push(self, frame):
            if index_of(frame) == 8:
                raise KeyboardInterrupt
            self.held.append(frame)
            return self.held.pop(0) if len(self.held) > 3 else None

        def flush(self):
            return self.held

    sink = ListSink()
    report = run_live(FileSource(clip_40fps, realtime=False), Delayed(), [sink])
    # the held frames are written too (they were dropped, or no output at all before 3)
    assert [index_of(f) for f in sink.frames] == list(range(8)) and sink.closed
    assert report.frames_output == 8 and report.stopped_by == "Ctrl+C"

    class ClosesAfterThree(ListSink):
        def write(self, frame, time_s=None):
            super().write(frame)
            return len(self.frames) < 3

    sink = ClosesAfterThree()
    report = run_live(FileSource(clip_40fps, realtime=False), SlowMagnifier(0), [sink])
    assert report.stopped_by == "window closed" and sink.closed
    assert report.frames_output == 3
    assert report.frames_processed + report.frames_dropped == report.frames_in


def test_a_whole_clip_method_is_refused_live(tmp_path, capsys, clip_40fps):
    """DeepMag (and FlowMag under test-time adaptation) hold every frame until the input
    ends: live ran them with nothing out for the whole run and memory 357 -> 1518 MiB."""
    for extra, words in (
        (["--method", "deepmag-color", "--band", "0.5", "2"], "deepmag-color magnifies a whole"),
        (["--method", "flowmag", "--set", "tta_epochs=1"], "flowmag with test-time adaptation"),
    ):
        code, _, stderr = run(capsys, "live", clip_40fps, "-o", tmp_path / "o.mp4", *extra)
        assert code == 2 and words in stderr and stderr.count("\n") == 1, stderr
        assert "cannot run live: record the video, then run motionmag magnify" in stderr
    assert not list(tmp_path.iterdir())


def test_a_stream_that_does_not_open_says_what_its_server_said(tmp_path, capsys):
    """A 404 read 'check that the server is reachable'. --fps on a stream is the rate
    its band is read in, as on a file (it was refused), so the server's answer is told."""
    import av

    from motionmag.video.live_source import _open_problem

    url = "http://127.0.0.1:8799/missing.mp4"
    missing = av.error.HTTPNotFoundError(875574520, "Server returned 404 Not Found", url)
    assert _open_problem(url, missing) == (
        f"the server of '{url}' answered 404 Not Found: check the URL's path."
    )
    garbage = av.error.InvalidDataError(1094995529, "Invalid data found", url)
    assert "is not video FFmpeg can read" in _open_problem(url, garbage)
    assert "check the URL and that the server is reachable" in _open_problem(url, OSError())
    code, _, stderr = run(capsys, "live", url, "-o", tmp_path / "o.mp4", "--fps", "20")
    assert code == 3 and "could not be opened" in stderr, stderr
    assert not list(tmp_path.iterdir())


def test_a_stop_during_a_frame_waits_for_that_frame(clip_40fps):
    """A real Ctrl+C (or SIGTERM, under a Python handler such as the CLI's) while a frame
    is magnified is held until the loop's next turn: that frame's output is written and
    counted (a stop inside the first frame read as 'gave no frame to magnify', and a
    batch held in the network was lost); a second stops at once. An ignored signal stays
    ignored (a background job's Ctrl+C ended a run held in a frame)."""
    import os
    import signal

    from motionmag.errors import Terminated

    class SignalledDuring(SlowMagnifier):
        def __init__(self, signum, times):
            super().__init__(0)
            self.signum, self.times = signum, times

        def push(self, frame):
            if index_of(frame) == 5:
                for _ in range(self.times):
                    os.kill(os.getpid(), self.signum)
            return frame

    def terminate(signum, frame):  # as the CLI's SIGTERM handler
        raise Terminated

    def run(signum, times):
        sink = ListSink()
        report = run_live(FileSource(clip_40fps, realtime=False), SignalledDuring(signum, times),
                          [sink])  # fmt: skip
        return report, [index_of(f) for f in sink.frames], sink

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, terminate)
        for signum, said in ((signal.SIGINT, "Ctrl+C"), (signal.SIGTERM, "SIGTERM")):
            report, frames, sink = run(signum, 1)
            assert report.stopped_by == said and sink.closed and not sink.aborted
            assert frames == [0, 1, 2, 3, 4, 5] and report.frames_processed == 6
            assert report.frames_processed + report.frames_dropped == report.frames_in
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
        assert signal.getsignal(signal.SIGTERM) is terminate
        report, frames, _ = run(signal.SIGINT, 2)  # the second stops at once
        assert report.stopped_by == "Ctrl+C" and frames == [0, 1, 2, 3, 4]
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job: stays ignored
        report, frames, _ = run(signal.SIGINT, 1)
        assert report.stopped_by != "Ctrl+C" and frames == list(range(report.frames_in))
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def test_the_magnifier_time_leaves_out_the_first_frames_warm_up(clip_40fps):
    """oh2018's first forward took 2 s and the rest 0.4 s: on a short run the mean, and
    the drop advice built on it, asked for a far smaller picture (review, stop 54)."""

    class WarmingUp(SlowMagnifier):
        def __init__(self):
            super().__init__(0.0)
            self.pushes = 0

        def push(self, frame):
            self.pushes += 1
            time.sleep(0.4 if self.pushes == 1 else 0.0)
            return frame

    report = run_live(FileSource(clip_40fps, realtime=False), WarmingUp(), [ListSink()])
    assert report.frames_processed > 10 and report.magnify_ms_mean < 20.0


def test_a_stop_inside_a_batch_leaves_its_frames_for_flush():
    """Stream(batch=4): a KeyboardInterrupt while the 8th frame's batch was decoded lost
    frames 5-8 (flush() returned none); they are taken off only once decoded."""
    from motionmag import Stream

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (32, 48, 3), dtype=np.uint8) for _ in range(8)]
    settings = {"method": "ha2024-fast", "alpha": 4.0, "mode": "dynamic", "batch": 4}
    whole = Stream(**settings)
    expected = [whole.push(frame) for frame in frames] + whole.flush()
    expected = [out for out in expected if out is not None]
    stream = Stream(**settings)
    magnifier = stream._paired.magnifier
    decode = magnifier.method.decode_many
    calls = []

    def interrupted_once(kept, chunk):
        calls.append(len(chunk))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return decode(kept, chunk)

    magnifier.method.decode_many = interrupted_once
    outputs = [stream.push(frame) for frame in frames[:7]]
    with pytest.raises(KeyboardInterrupt):
        stream.push(frames[7])
    outputs += stream.flush()
    kept = [out for out in outputs if out is not None]
    assert len(kept) == len(expected) == 8
    np.testing.assert_array_equal(np.stack(kept), np.stack(expected))


def test_a_failed_run_aborts_its_sinks(clip_40fps):
    class Broken(SlowMagnifier):
        def push(self, frame):
            raise RuntimeError("boom")

    sink = ListSink()
    with pytest.raises(RuntimeError, match="boom"):
        run_live(FileSource(clip_40fps, realtime=False), Broken(0), [sink])
    assert sink.aborted and not sink.closed


def test_live_crop_writes_the_region_of_every_frame(tmp_path, capsys):
    """``--crop X Y W H`` cuts each frame before the magnifier (alpha 1: the region as is)."""
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(12)]
    source = write_clip(tmp_path / "textured.mkv", frames, 40.0)
    out = tmp_path / "crop.mkv"
    argv = ["live", source, "-o", out, "--method", "linear", "--alpha", 1, "--mode", "static"]
    code, _, stderr = run(capsys, *argv, "--crop", 8, 4, 40, 30, "--no-realtime", "--quiet")
    assert code == 0, stderr
    np.testing.assert_array_equal(read_clip(out), np.stack(frames)[:, 4:34, 8:48])


def test_live_crop_cuts_an_alpha_map_drawn_on_the_source_as_magnify_does(tmp_path, capsys):
    """The map (right half white) is drawn on the 64x48 source; --crop 0 0 32 24 lies in
    its black half, so nothing is magnified. live's Stream had no frame geometry: the
    whole map was shrunk onto the crop, and the crop's right half was magnified."""
    from PIL import Image

    texture = smooth_texture(load_texture("astronaut"), (48, 64), sigma_px=2.0)
    frames, _ = vibrating_frames(texture, 0.3, 3.0, 30.0, frames=6)
    source = write_clip(tmp_path / "clip.mkv", quantize(frames), 30.0)
    weights = np.zeros((48, 64), np.uint8)
    weights[:, 32:] = 255
    Image.fromarray(weights).save(tmp_path / "map.png")
    flags = ["--method", "sigma-theta", "--alpha", 10, "--mode", "static", "--crop", 0, 0, 32,
             24, "--set", f"alpha_map={tmp_path / 'map.png'}", "--quiet"]  # fmt: skip
    out = tmp_path / "live.mkv"
    code, _, stderr = run(capsys, "live", source, "-o", out, *flags, "--no-realtime")
    assert code == 0, stderr
    np.testing.assert_array_equal(read_clip(out), read_clip(source)[:, :24, :32])
    assert main(["magnify", str(source), "-o", str(tmp_path / "m.mkv"), *map(str, flags)]) == 0
    np.testing.assert_array_equal(read_clip(tmp_path / "m.mkv"), read_clip(out))
    weights[:] = 255  # the whole map white: the crop is magnified (the test can fail)
    Image.fromarray(weights).save(tmp_path / "map.png")
    code, _, stderr = run(capsys, "live", source, "-o", out, *flags, "--no-realtime",
                          "--overwrite")  # fmt: skip
    assert code == 0, stderr
    assert np.abs(read_clip(out).astype(int) - read_clip(source)[:, :24, :32]).max() > 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_helper_threads_lower_only_their_own_priority():
    """The reader and writer yield to the magnifier: their thread's nice rises by the step,
    the calling (magnifier's) thread keeps its own; a step of 0 changes nothing."""
    own_before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: dict[str, tuple[bool, int, int]] = {}

    def helper(name: str, step: int) -> None:
        tid = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, tid)
        lowered = priority.lower_this_thread(step)
        seen[name] = (lowered, before, os.getpriority(os.PRIO_PROCESS, tid))

    for name, step in (("three", 3), ("none", 0)):
        thread = threading.Thread(target=helper, args=(name, step))
        thread.start()
        thread.join()
    lowered, before, after = seen["three"]
    assert lowered and after == min(before + 3, 19)
    assert seen["none"] == (False, seen["none"][1], seen["none"][1])
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own_before


def test_a_band_the_magnified_frames_cannot_hold_is_said_plainly(clip_100fps):
    """About 25 of 100 frames a second magnified hold motions up to about 12 Hz: a 1-3 Hz
    band is held (its time steps were uneven: 'approximate'), a 10-20 Hz band is not, and
    calling it approximate understated that (review, stop 57)."""
    notes = {}
    for band in ((1.0, 3.0), (10.0, 20.0)):
        report = run_live(FileSource(clip_100fps), SlowMagnifier(0.04), [ListSink()],
                          queue_frames=1, temporal=True, band_hz=band)  # fmt: skip
        assert report.frames_dropped >= 40
        notes[band] = " ".join(report.notes)
    assert "its band is approximate" in notes[(1.0, 3.0)]
    assert (
        "below the band's top (20 Hz): the band was not magnified as asked" in notes[(10.0, 20.0)]
    )
    assert "approximate" not in notes[(10.0, 20.0)]
    # read at --fps 400 (the rate the magnifier filters at), the same frames hold 20 Hz
    report = run_live(FileSource(clip_100fps), SlowMagnifier(0.04), [ListSink()],
                      queue_frames=1, temporal=True, band_hz=(10.0, 20.0),
                      filter_fps=400.0)  # fmt: skip
    assert "its band is approximate" in " ".join(report.notes)


def test_drop_advice_names_a_size_at_which_the_magnifier_keeps_up():
    """The magnifier's time scales with the pixels: the suggested size puts it at
    KEEP_UP_SHARE of the frame period (aspect kept, width a multiple of 8), and none is
    suggested when it already fits."""
    period_ms = 40.0
    for magnify_ms in (39.6, 80.0, 160.0):
        width, height = size_to_keep_up(640, 360, magnify_ms, period_ms)
        scaled_ms = magnify_ms * width * height / (640 * 360)
        assert scaled_ms <= KEEP_UP_SHARE * period_ms
        # the largest such width: 8 px wider would not fit (up to the height's rounding)
        assert magnify_ms * ((width + 8) / 640) ** 2 > KEEP_UP_SHARE * period_ms
        assert width % 8 == 0 and height % 2 == 0
        assert abs(width / height - 640 / 360) < 0.02
    assert size_to_keep_up(640, 360, 39.6, period_ms) == (552, 310)
    assert size_to_keep_up(640, 360, 25.5, period_ms) is None
    assert size_to_keep_up(640, 360, float("nan"), period_ms) is None
    report = LiveReport("clip", "m", 25.0, 640, 360, frames_in=1500, frames_dropped=47)
    report.magnify_ms_mean = 39.6
    assert "--resize 552x310 or smaller" in drop_advice(report)
    report.magnify_ms_mean = float("nan")  # not timed
    assert "(--resize WxH, or --resize auto" in drop_advice(report)
    report.magnify_ms_mean = 20.0  # keeps up: a stall elsewhere, not a smaller picture
    advice = drop_advice(report)
    assert "a stall elsewhere" in advice and "--queue" in advice and "--resize" not in advice


class PixelCostMagnifier:
    """A magnifier whose push costs ``ms_per_pixel`` x pixels on a fake clock, the first
    ``slow_first`` pushes 1 s each (a warm-up that must not be timed)."""

    def __init__(self, ms_per_pixel: float, slow_first: int) -> None:
        self.now_s, self.ms_per_pixel, self.slow_first, self.pushed = (
            0.0,
            ms_per_pixel,
            slow_first,
            0,
        )

    def clock(self) -> float:
        return self.now_s

    def push(self, frame: np.ndarray) -> np.ndarray:
        cost_ms = (
            1000.0 if self.pushed < self.slow_first else self.ms_per_pixel * frame[..., 0].size
        )
        self.now_s += cost_ms / 1000.0
        self.pushed += 1
        return frame

    def flush(self) -> list[np.ndarray]:
        return []


def test_resize_auto_takes_the_largest_size_the_timed_magnifier_keeps_up_at():
    """50 ms a frame at 640x360 (timed after the warm-up) against 40 ms a frame: the size
    chosen is where the time scaled by the pixels is within AUTO_SHARE of the period, 8 px
    wider is not; a magnifier that already fits keeps the full size."""
    fake = PixelCostMagnifier(50.0 / (640 * 360), slow_first=WARMUP_FRAMES)
    (width, height), note = auto_size(fake, 640, 360, 25.0, clock=fake.clock)
    assert fake.pushed == WARMUP_FRAMES + TIMED_ROUNDS * TIMED_FRAMES
    assert 50.0 * width * height / (640 * 360) <= AUTO_SHARE * 40.0
    assert 50.0 * ((width + 8) / 640) ** 2 > AUTO_SHARE * 40.0
    assert width % 8 == 0 and abs(width / height - 640 / 360) < 0.02
    assert "took 50.0 ms a frame at 640x360" in note and f"ran at {width}x{height}" in note
    fast = PixelCostMagnifier(10.0 / (640 * 360), slow_first=WARMUP_FRAMES)
    size, note = auto_size(fast, 640, 360, 25.0, clock=fast.clock)
    assert size == (640, 360) and "full size" in note
    size, note = auto_size(fast, 640, 360, 0.0, clock=fast.clock)
    assert size == (640, 360) and "no frame rate" in note


def test_live_resize_auto_times_first_and_reports_it(tmp_path, capsys, clip_40fps):
    out = tmp_path / "auto.mkv"
    code, stdout, _ = run(
        capsys, "live", clip_40fps, "-o", out, "--method", "linear", "--resize", "auto", "--quiet"
    )
    assert code == 0
    assert "note: --resize auto: the magnifier took" in stdout and "full size" in stdout
    frames = read_clip(out)
    assert frames[0].shape == indexed_frames(1)[0].shape  # linear keeps up at full size


def test_the_default_queue_holds_the_frames_that_arrive_during_a_batch():
    assert default_queue({}) == DEFAULT_QUEUE_FRAMES == 2
    assert default_queue({"batch": 1}) == 2
    assert default_queue({"batch": 4}) == 8
    assert default_queue({"batch": "four"}) == 2  # refused later by the method, in a sentence


def test_one_slow_round_of_the_timing_does_not_count():
    """A hiccup (one round 1 s a frame) is outvoted by the median of the rounds."""
    fake = PixelCostMagnifier(20.0 / (640 * 360), slow_first=WARMUP_FRAMES)
    first_push_of_round_2 = WARMUP_FRAMES + TIMED_FRAMES
    pushes = {"n": 0}
    cost = fake.push

    def push_with_a_hiccup(frame: np.ndarray) -> np.ndarray:
        pushes["n"] += 1
        if first_push_of_round_2 < pushes["n"] <= first_push_of_round_2 + TIMED_FRAMES:
            fake.now_s += 1.0
        return cost(frame)

    fake.push = push_with_a_hiccup
    ms = magnifier_ms_per_frame(fake, 640, 360, clock=fake.clock)
    assert ms == pytest.approx(20.0)


def test_live_keeps_an_anamorphic_file_s_pixel_shape(tmp_path, capsys):
    from fractions import Fraction

    from motionmag.video import VideoWriter, probe

    source = tmp_path / "anamorphic.mp4"
    with VideoWriter(source, 40, 64, 48, sample_aspect_ratio=Fraction(4, 3)) as writer:
        for frame in indexed_frames(8):
            writer.write(frame)
    assert FileSource(source, realtime=False).info.sample_aspect_ratio == Fraction(4, 3)
    code, _, _ = run(
        capsys,
        "live",
        source,
        "-o",
        tmp_path / "out.mp4",
        "--method",
        "linear",
        "--quiet",
        "--resize",
        "32x48",
    )
    assert code == 0
    assert probe(tmp_path / "out.mp4").sample_aspect_ratio == Fraction(8, 3)
    code, _, err = run(
        capsys, "live", source, "-o", tmp_path / "out.mkv", "--method", "linear", "--quiet"
    )
    assert code == 0 and "pixels are not square" in err


def test_a_live_recording_with_dropped_frames_keeps_real_time(tmp_path, clip_100fps):
    """Frames dropped by a slow magnifier leave gaps in the file, not a faster video: each
    written frame is at its source time (index / 100 fps)."""
    import av

    from motionmag.live.sinks import FileSink

    out = tmp_path / "recording.mp4"
    report = run_live(
        FileSource(clip_100fps), SlowMagnifier(0.04), [FileSink(str(out), 100.0, 64, 48)],
        queue_frames=1,
    )  # fmt: skip
    assert report.frames_dropped >= 40
    with av.open(str(out)) as container:
        decoded = [(f.time, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    assert len(decoded) == report.frames_output
    for time_s, frame in decoded:
        assert time_s == pytest.approx(index_of(frame) / 100, abs=0.002)
    assert decoded[-1][0] >= 0.75  # the file lasts as long as the source, not 20 frames
    assert any("plays in real time, with a gap" in note for note in report.notes)


def test_live_and_stream_pass_the_methods_notes_on(tmp_path, capsys):
    """A method's notes (here a thesis net's temporal-mode gain) reached `magnify` only:
    `live` prints them with its report, and `Stream.notes` holds them."""
    texture = smooth_texture(load_texture("astronaut"), (48, 64), sigma_px=2.0)
    frames, _ = vibrating_frames(texture, 0.3, 3.0, 30.0, frames=8)
    source = write_clip(tmp_path / "clip.mkv", quantize(frames), 30.0)
    flags = ["--method", "sigma-theta", "--alpha", 10, "--band", 2, 4, "--quiet"]
    code, stdout, stderr = run(capsys, "live", source, "-o", tmp_path / "o.mkv", *flags,
                               "--no-realtime")  # fmt: skip
    assert code == 0, stderr
    assert "note: in temporal mode sigma-theta runs the phase method at x4" in stdout + stderr
    stream = Stream(method="sigma-theta", alpha=10, band=(2, 4), fps=30.0)
    assert any("moves at most about x6.2" in note for note in stream.notes)
