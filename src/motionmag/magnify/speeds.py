"""Measured speeds shown by ``motionmag methods``, from the shipped benchmark record.

What matters: these are measurements, never guesses: ``speeds.json`` beside this file is
written by ``motionmag bench --write-record`` (``eval/bench.py``; the older
``benchmarks/bench_methods.py --write`` wraps it), with each method's command and date.
A method without a measurement shows "-".
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_RECORD = Path(__file__).with_name("speeds.json")


@cache
def _load() -> dict:
    if not _RECORD.is_file():
        return {}
    return json.loads(_RECORD.read_text())


def measured_speed(method: str) -> str:
    """e.g. "118 @640x360, 10.7 @1080p" (frames per second on the recorded machine).

    A mode other than temporal is named, e.g. "4.1 @640x360, 0.5 @1080p (static)".
    """
    entry = _load().get("methods", {}).get(method)
    if not entry:
        return "-"
    sizes = ", ".join(f"{v:g} @{k}" for k, v in entry.items() if isinstance(v, (int, float)))
    mode = entry.get("mode", "temporal")
    return sizes if mode == "temporal" else f"{sizes} ({mode})"


def recorded_machine() -> str:
    """Where and when the recorded speeds were measured, e.g. "2 CPUs (Intel(R) Xeon(R)
    Processor), 2026-11-22"."""
    record = _load()
    machine = str(record.get("machine", "an unnamed machine")).split(", torch")[0]
    machine = machine.removeprefix("x86_64, ")
    return f"{machine}, {record['date']}" if record.get("date") else machine


def measured_fps(method: str) -> dict:
    """The same record as numbers, for JSON: ``{"fps": {"640x360": 118.0, ...}, "mode":
    "temporal"}``, or ``{}`` without a measurement."""
    entry = _load().get("methods", {}).get(method)
    if not entry:
        return {}
    sizes = {k: float(v) for k, v in entry.items() if isinstance(v, (int, float))}
    return {"fps": sizes, "mode": entry.get("mode", "temporal")}
