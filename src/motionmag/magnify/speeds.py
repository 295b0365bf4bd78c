"""Measured speeds shown by ``motionmag methods``, from the shipped benchmark record.

What matters: these are measurements, never guesses: ``speeds.json`` beside this file is
written from ``benchmarks/bench_classical.py`` (see benchmarks/README.md for the command
and machine). A method without a measurement shows "-".
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
    """e.g. "118 @640x360, 10.7 @1080p" (frames per second on the recorded machine)."""
    entry = _load().get("methods", {}).get(method)
    if not entry:
        return "-"
    return ", ".join(f"{fps:g} @{size}" for size, fps in entry.items())
