"""Writing a file so that a killed process never leaves half of it.

What matters: every file the package writes for keeps (model cards, checkpoints, weights,
JSON reports, plots, shards, ONNX exports) is written to a hidden temporary sibling
(``.NAME.XXXX.tmp.SUFFIX``, in the same folder so the rename stays on one file system) and
renamed onto its name with ``os.replace`` only once complete; on an error the temporary
file is removed and the old file, if any, is left as it was. The temporary name is unique
(``tempfile.mkstemp``: threads and processes never share one), and the file gets the
permissions a plain ``open`` would give it (mkstemp's are owner-only).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix, for writers that read it);
    rename it onto ``path`` when the block ends without an error, remove it otherwise."""
    path = Path(path)
    handle, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def _umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_output(path) as temporary:
        temporary.write_text(text)


def write_json(path: str | os.PathLike, data: dict, indent: int = 2) -> None:
    """Write ``data`` as JSON (``indent`` spaces, NaN allowed) to ``path`` atomically."""
    write_text(path, json.dumps(data, indent=indent, allow_nan=True) + "\n")
