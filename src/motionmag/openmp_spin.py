"""How long torch's idle OpenMP threads spin before they sleep (GNU OpenMP's
``GOMP_SPINCOUNT``), set before torch is first imported.

What matters:

- torch runs element-wise work and convolutions on a pool of OpenMP threads (as many as
  cores). Between two parallel regions an idle thread spins, by default for 300,000
  iterations (a few milliseconds), before it sleeps. When another process holds one of
  a 2-core laptop's cores, a spinning thread takes the time slice the working one needed,
  and every small operation waits a scheduler tick. With one core kept busy by a loop,
  at 640x360, ``linear`` took 62.7 ms a frame against 9.5 quiet, ``phase`` 224 against
  46, ``ha2024-fast`` 341 against 81; ``live`` at 320x240 dropped 53-91 % of a 25 fps
  file (review, stop 57).
- A spin of :data:`SPIN_COUNT` iterations (tens of microseconds), then sleep: under the
  same load 27.4, 123 and 192 ms (1.8-2.3x faster), at a cost of 5-22 % on a quiet
  machine (11.6, 47.8 and 87.4 ms). One torch thread is faster still under load (13.9,
  78, 150) but 1.2-1.6x slower than this when the machine is quiet. Medians of 2 rounds
  in fresh processes: ``python benchmarks/bench_openmp_spin.py --json
  benchmarks/results/openmp_spin.json``.
- Set only where the user set neither ``GOMP_SPINCOUNT`` nor ``OMP_WAIT_POLICY`` (theirs
  wins), and not once torch is imported (GNU OpenMP reads it when it loads, so a later
  value would do nothing). Our choice: no paper involved.
"""

from __future__ import annotations

import os
import sys

#: iterations an idle OpenMP thread spins before it sleeps (GNU OpenMP's default: 300,000)
SPIN_COUNT = 10_000


def shorten_openmp_spin() -> bool:
    """Set ``GOMP_SPINCOUNT`` to :data:`SPIN_COUNT` unless the user chose a spin or wait
    policy, or torch (and so OpenMP) is loaded already. True when it was set here."""
    if "torch" in sys.modules:
        return False
    if "GOMP_SPINCOUNT" in os.environ or "OMP_WAIT_POLICY" in os.environ:
        return False
    os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    return True


shorten_openmp_spin()  # on import: ``motionmag/__init__.py`` imports this module first
