"""Errors that reach the user as one plain sentence and an exit status.

What matters here: every failure the user can cause is one of these three classes, each
carrying the process exit status of INTERFACE.md (2 bad arguments, 3 unreadable or
unsupported input, 1 anything else). The message is a full sentence that says what is
wrong and what to do; the command line prints it as is.
"""

from __future__ import annotations


class MotionmagError(Exception):
    """Base class: a failure with a user-facing sentence. Exit status 1."""

    exit_code: int = 1


class UsageError(MotionmagError, ValueError):
    """Bad arguments (a band outside the Nyquist limit, a missing output folder, ...). Exit 2."""

    exit_code = 2


class InputError(MotionmagError):
    """The input cannot be read or is not supported (missing, not a video, truncated). Exit 3."""

    exit_code = 3


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by the command line so that a run stops as it
    does after Ctrl+C: ``magnify`` keeps no partial output, ``live`` ends its run and keeps
    what it wrote, training saves a checkpoint (its own handler). Exit status 143."""
