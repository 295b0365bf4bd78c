"""Ctrl+C while the ``motionmag`` command starts ends it with the command's own line.

What matters: the command's imports (torch, scipy, PyAV, OpenCV) take about 2 s on a
laptop, before ``cli.main`` can catch anything; a Ctrl+C then printed a 30-line traceback
of the import machinery. While ``motionmag/__init__.py`` loads in the ``motionmag``
command, Ctrl+C prints ``cli``'s sentence for a stop and exits at once with status 130
(nothing has been written yet, so there is nothing to clean up). Python's handler is put
back as the command starts its work (:func:`command_starts`); in any other program it
is back once ``import motionmag`` ends, and there SIGINT is left alone while it loads
unless the program is named ``motionmag`` [our design].
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

#: what a stopped command that has written nothing keeps (``cli`` says it too)
NOTHING_KEPT = "no partial output was kept."
#: what ``cli`` prints for a Ctrl+C in a command that has written nothing
INTERRUPTED = f"motionmag: interrupted; {NOTHING_KEPT}\n"

#: the names of the console script (``pip install`` makes ``motionmag.exe`` on Windows)
COMMAND_NAMES = ("motionmag", "motionmag.exe")


#: the flag ``multiprocessing`` starts a spawned (or forkserver) worker with
WORKER_FLAG = "--multiprocessing-fork"


def is_the_command() -> bool:
    """True when this process is the ``motionmag`` console script itself, not one of
    its spawned workers: they get its ``sys.argv`` too, and took the handler for their
    own, so a Ctrl+C in training printed "no partial output was kept" beside the
    trainer's "continue with --resume" (stop-58 review)."""
    if WORKER_FLAG in getattr(sys, "orig_argv", ()):
        return False
    return bool(sys.argv) and os.path.basename(sys.argv[0]) in COMMAND_NAMES


def quiet_interrupt_while_loading() -> Callable[[], None]:
    """In the ``motionmag`` command, make Ctrl+C print :data:`INTERRUPTED` and exit 130;
    returns the function that puts Python's own handler back (a no-op elsewhere: in
    another program, another thread, or where SIGINT has a handler of its own)."""
    if not is_the_command() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return lambda: None

    def stop(_signum, _frame) -> None:
        sys.stderr.write(INTERRUPTED)
        sys.stderr.flush()
        os._exit(130)  # 128 + SIGINT, as a shell reports a command stopped by Ctrl+C

    try:
        signal.signal(signal.SIGINT, stop)
    except ValueError:  # not the main thread
        return lambda: None

    def restore() -> None:
        if signal.getsignal(signal.SIGINT) is stop:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    return restore


#: puts Python's handler back; set when this module is first imported
_restore = quiet_interrupt_while_loading()


def package_loaded() -> None:
    """``__init__``'s last line: Python's Ctrl+C handler back, except in the command,
    whose imports go on (``cli``) until :func:`command_starts`."""
    if not is_the_command():
        _restore()


def command_starts() -> None:
    """Python's Ctrl+C handler back: ``cli.main`` is about to run the command, whose
    stops it reports itself."""
    _restore()
