"""Live magnification: a camera, a stream or a file as it plays, with drops and latency.

What matters: the source never waits for the magnifier (a reader thread and a bounded
queue that keeps the newest frames, counting the dropped ones), so latency and memory
stay bounded however slow the method; every run ends with a report of frames in,
processed, dropped, processing fps and capture-to-output latency (mean, p95, max in ms).
This package sits above ``magnify/`` and ``video/`` and imports both; its names load on
first use, so ``motionmag --help`` does not pay for OpenCV or PyAV.
"""

from importlib import import_module

_WHERE = {
    "FileSink": "sinks",
    "FrameQueue": "pipeline",
    "Interval": "latency",
    "LatencyStats": "latency",
    "LiveReport": "latency",
    "Sink": "sinks",
    "WindowSink": "sinks",
    "display_problem": "sinks",
    "run_live": "pipeline",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
