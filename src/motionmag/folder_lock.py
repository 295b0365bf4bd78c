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
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import UsageError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not guarded there
    fcntl = None  # type: ignore[assignment]

#: the folder, under the temporary directory, holding one lock file per guarded folder
LOCK_DIR_NAME = "motionmag-locks"


def lock_path(folder: str | os.PathLike) -> Path:
    """The lock file of ``folder``: named by a hash of its resolved path, so ``runs/a``
    and ``./runs/../runs/a`` share one."""
    key = hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / LOCK_DIR_NAME / f"{key}.lock"


@contextlib.contextmanager
def exclusive_folder(folder: str | os.PathLike, what: str) -> Iterator[None]:
    """While the block runs, no other process holds ``folder`` through this function.

    ``what`` names the command for the refusal (``"motionmag train"``). A
    :class:`UsageError` (nothing written) when another process holds it. Where no lock
    can be taken (no ``fcntl``, an unwritable temporary directory) the block runs
    unguarded, as before.
    """
    path = lock_path(folder)
    try:
        path.parent.mkdir(mode=0o777, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 (held open for the block)
    except OSError:
        handle = None
    if fcntl is None or handle is None:
        if handle is not None:
            handle.close()
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
