"""Keep freed memory in the process instead of handing it back to the OS (glibc malloc).

What matters:

- glibc serves large allocations (above ``M_MMAP_THRESHOLD``: 128 kB, raised
  dynamically to at most 32 MB) with a fresh ``mmap`` and returns them with ``munmap``
  on free. A tensor allocated anew for every frame then costs one page fault per 4 kB
  page, each with the page zeroed by the kernel. ha2024 in bf16, batch 4, at 640x360
  took 5,356 minor page faults per frame (21 MB) and 37.9 ms; with the settings below,
  0 faults and 31.6 ms, 1.20x faster (fresh processes, 3 alternating rounds, medians:
  ``python benchmarks/bench_allocator.py``).
- :func:`keep_freed_memory` raises ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` to 1
  GiB with ``mallopt``, so such blocks come from the heap and are reused after a free.
  The price: the process keeps up to its peak of freed memory (its peak resident size
  does not change), which is what a long video or live run wants anyway.
- Applied by the ``motionmag`` command line and when a learned magnifier is built on the
  CPU. Linux with glibc only; elsewhere, and with ``MOTIONMAG_KEEP_FREED_MEMORY=0``,
  nothing changes. Our choice: no paper involved.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

#: mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: the thresholds set, bytes
KEEP_BYTES = 1 << 30

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds to :data:`KEEP_BYTES` (once per process).

    Returns True when they are set (now or by an earlier call), False where this is not
    glibc, the call failed, or ``MOTIONMAG_KEEP_FREED_MEMORY=0`` turns it off.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("MOTIONMAG_KEEP_FREED_MEMORY", "1") == "0":
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, KEEP_BYTES)
    )
    return _applied
