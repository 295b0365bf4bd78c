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
import math
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
    """Write ``data`` as strict JSON (``indent`` spaces; see :func:`strict_json`) to
    ``path`` atomically."""
    write_text(path, dumps_strict(data, indent=indent) + "\n")


def dumps_strict(data: object, indent: int | None = 2) -> str:
    """``data`` as JSON any parser reads: no ``NaN`` / ``Infinity`` tokens (Python's
    ``json`` writes them; JavaScript's and most others refuse them)."""
    return json.dumps(strict_json(data), indent=indent, allow_nan=False)


def strict_json(data: object) -> object:
    """``data`` with its non-finite floats spelled in JSON: NaN (a missing value) as
    ``null``, +-infinity (e.g. the PSNR of identical frames) as the strings ``"inf"`` /
    ``"-inf"``, which :func:`number` reads back. Dicts, lists and tuples are walked."""
    if isinstance(data, float) and not math.isfinite(data):
        return None if math.isnan(data) else ("inf" if data > 0 else "-inf")
    if isinstance(data, dict):
        return {key: strict_json(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict_json(value) for value in data]
    return data


def number(value: object) -> object:
    """A value read from :func:`strict_json`'s output as the float it stood for: ``null``
    -> NaN, ``"inf"`` / ``"-inf"`` -> +-infinity; anything else unchanged."""
    if value is None:
        return math.nan
    if value in ("inf", "-inf"):
        return float(value)
    return value
