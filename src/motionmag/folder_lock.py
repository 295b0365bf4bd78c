"""One writer per folder: a second ``train`` or ``synth`` into a folder in use is refused.

What matters: two runs writing one folder corrupt each other without a word (each
overwrites the other's checkpoints and logs; a second ``synth`` deleted the first's
unfinished shards, which then failed to land). The lock is an advisory ``flock`` on a
small file outside the folder (in the temporary directory, named by the folder's
resolved path), so it can be taken before the folder exists, leaves nothing in it, and
is released by the system when the process ends, however it ends [our design].
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import UsageError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not guarded there
    fcntl = None  # type: ignore[assignment]

#: the folder, under the temporary directory, holding one lock file per guarded folder
#: (one per user: ``motionmag-locks-UID``, private to that user)
LOCK_DIR_NAME = "motionmag-locks"


def lock_path(folder: str | os.PathLike) -> Path:
    """The lock file of ``folder``: named by a hash of its resolved path, so ``runs/a``
    and ``./runs/../runs/a`` share one. OSError where there is no temporary directory."""
    key = hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:20]
    user = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"{LOCK_DIR_NAME}-{user}" / f"{key}.lock"


def _open_lock(path: Path):
    """The lock file, opened for writing, or None where it cannot be had safely: its
    folder is made private (0700) and must be ours and not a link, and the file is not
    followed if it is a link (a planted one could have had any file emptied; stop-58
    review)."""
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(path.parent)
        if not stat.S_ISDIR(info.st_mode):  # lstat: a link is not a folder here
            return None
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return None
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        return os.fdopen(os.open(path, flags, 0o600), "r+")
    except OSError:
        return None


@contextlib.contextmanager
def exclusive_folder(folder: str | os.PathLike, what: str) -> Iterator[None]:
    """While the block runs, no other process holds ``folder`` through this function.

    ``what`` names the command for the refusal (``"motionmag train"``). A
    :class:`UsageError` (nothing written) when another process holds it. Where no lock
    can be taken (no ``fcntl``, no writable temporary directory, a lock folder that is
    not this user's own) the block runs unguarded, as before.
    """
    try:
        path = lock_path(folder)
    except OSError:  # no usable temporary directory (tempfile's FileNotFoundError)
        path = None
    handle = _open_lock(path) if path is not None and fcntl is not None else None
    if handle is None:
        yield
        return
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            by = f" (process {holder})" if holder.isdigit() else ""
            raise UsageError(
                f"'{folder}' is being written by another {what}{by}: wait for it to end, "
                "or choose another folder."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
