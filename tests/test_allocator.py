"""``allocator.keep_freed_memory``: large freed blocks are reused, not faulted in again.

Known answer: a 48 MB torch tensor allocated and freed 12 times costs glibc's defaults
one page fault per 4 kB page every time (12,288 per allocation: above its 32 MB dynamic
mmap threshold, and torch asks for no huge pages, unlike numpy), and with the
thresholds raised none once the heap has grown to hold it (after 2 to 4). Each case
runs in a fresh process, since the setting is process-wide.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only"
)

CHILD = """
import json, resource
import torch
from motionmag.allocator import keep_freed_memory
kept = keep_freed_memory()
faults = []
for _ in range(12):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buffer = torch.ones(48 * 2**20, dtype=torch.uint8)  # touches every page
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    del buffer
print(json.dumps({"kept": kept, "faults": faults}))
"""


def run_child(setting: str) -> dict:
    env = {**os.environ, "MOTIONMAG_KEEP_FREED_MEMORY": setting}
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_freed_buffers_are_reused_without_page_faults():
    kept = run_child("1")
    if not kept["kept"]:
        pytest.skip("this C library has no mallopt (not glibc)")
    pages = 48 * 2**20 // 4096
    # the first few grow the heap (measured: 2 to 4 of them fault), then it is reused
    assert max(kept["faults"][6:]) < 0.01 * pages
    default = run_child("0")
    assert default["kept"] is False  # the opt-out leaves glibc's defaults
    assert min(default["faults"][6:]) > 0.9 * pages  # every allocation faults again


def test_the_setting_is_applied_once():
    from motionmag import allocator

    first = allocator.keep_freed_memory()
    assert allocator.keep_freed_memory() is first
