"""Ctrl+C while the ``motionmag`` command loads its imports (about 2 s) prints the
command's one line and exits 130; it printed a traceback of the import machinery."""

from __future__ import annotations

import subprocess
import sys

from motionmag.startup_interrupt import INTERRUPTED


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_ctrl_c_while_the_command_loads_is_one_line_and_status_130():
    done = _python(
        "import os, signal, sys, time\n"
        "sys.argv[0] = '/usr/local/bin/motionmag'\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import motionmag.startup_interrupt\n"  # the first thing the package imports
        "os.kill(os.getpid(), signal.SIGINT)\n"  # as if pressed while torch loads
        "time.sleep(30)\n"
        "print('went on')\n"
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == INTERRUPTED and done.stdout == ""


def test_the_handler_stays_until_the_command_starts_and_other_programs_keep_python_s():
    check = (
        "import signal, sys\n"
        "sys.argv[0] = {name!r}\n"
        # as a terminal starts it (a background job inherits SIGINT ignored, and then
        # nothing is changed, rightly)
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import contextlib, io, motionmag, motionmag.cli\n"
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    motionmag.cli.main(['methods'])\n"
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
    )
    command = _python(check.format(name="/usr/local/bin/motionmag"))
    assert command.returncode == 0, command.stderr
    assert command.stdout.split()[0] == "False" and command.stdout.split()[-1] == "True"
    other = _python(check.format(name="my_script.py"))
    assert other.returncode == 0, other.stderr
    assert other.stdout.split()[0] == "True" and other.stdout.split()[-1] == "True"


def test_a_spawned_worker_of_the_command_is_not_the_command(monkeypatch):
    """Spawned data workers get the command's sys.argv: they took the handler too, and a
    Ctrl+C in training printed "no partial output was kept" beside "continue with
    --resume"."""
    from motionmag import startup_interrupt

    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/motionmag", "train", "oh2018"])
    monkeypatch.setattr(sys, "orig_argv", ["python", "-c", "from multiprocessing..."])
    assert startup_interrupt.is_the_command()
    monkeypatch.setattr(sys, "orig_argv", ["python", "-c", "...", "--multiprocessing-fork"])
    assert not startup_interrupt.is_the_command()
