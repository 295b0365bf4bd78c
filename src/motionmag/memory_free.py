"""How much memory the system has free now, and sizes as words for a sentence.

Linux lets a process reserve more memory than it has and kills it (SIGKILL, exit 137,
no message) when the pages are touched, so a large allocation never reaches Python's
MemoryError: what certainly cannot fit is refused before it is made
(``magnify/frame_memory.py``, ``temporal/fir.py``).
"""

from __future__ import annotations

from pathlib import Path


def available_bytes(meminfo: str | Path = "/proc/meminfo") -> int | None:
    """``MemAvailable`` in bytes, or None where the system does not say (not Linux)."""
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def gb_text(size_bytes: float) -> str:
    """Bytes as GB (1e9) for a sentence: whole numbers from 10 GB, two figures below."""
    value = size_bytes / 1e9
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"
