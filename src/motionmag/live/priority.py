"""CPU priority of the live path's helper threads: the magnifier first.

On 2 cores the magnifier's two compute threads share the CPU with the reader (decoding a
file, or converting camera frames) and the output writer (x264). The helpers need a few
milliseconds a frame and can wait (their queues hold frames); the magnifier cannot: when
a helper preempts one of its threads mid-layer, the other waits for it at the next
barrier and the whole layer is late. Lowering the helpers' priority (a higher nice value
for their threads only, as Linux allows) lets the scheduler run them in the magnifier's
gaps, e.g. while a batch fills.

This is ours, not a paper's, and off by default: measured on 2 cores without AMX
(2026-12-03, ``benchmarks/live_soak.py --helper-nice N``, README Speed) nice 19 made the
magnifier 10-15 % faster a frame but did not lower the frames dropped, since the two
cores are saturated either way: the time moves, it is not saved. Kept for such A/Bs on
other machines.
"""

from __future__ import annotations

import os
import sys
import threading

#: nice value added to the reader's and the writer's threads (ours; 0, the default, leaves
#: them alone). At 10 a helper gets about a tenth of a core's share against one of the
#: magnifier's threads when both want to run, at 19 about 1.5 %.
HELPER_NICENESS = 0


def lower_this_thread(niceness: int | None = None) -> bool:
    """Make the calling thread yield the CPU to the others (add ``niceness`` to its nice).

    Linux only: there, nice is per thread (``setpriority`` with the thread's id); on
    other systems it would change the whole process, so nothing is done. Raising a nice
    value needs no privileges. Returns True when the thread's priority was lowered.
    """
    step = HELPER_NICENESS if niceness is None else niceness
    if step <= 0 or not sys.platform.startswith("linux"):
        return False
    thread_id = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(current + step, 19))
    except OSError:  # a sandbox that forbids it: run at the normal priority
        return False
    return True
