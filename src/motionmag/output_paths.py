"""Where a command may write: every output path is checked before any work starts.

What matters: no command ever loses a file the user did not ask it to replace.

- An output must not be an input (the same file, or a folder that holds an input: a
  frame-folder output replaces the whole folder).
- An existing output needs ``overwrite`` (``--overwrite``); an empty folder counts as
  new.
- Even with ``overwrite``, a folder is only replaced when it holds nothing but the
  ``frame_NNNNNN.png`` files of an earlier frame-folder output, and never when it is
  the current folder or one above it; a file output is never put over a folder.
- The folder the output goes into must exist (we do not guess at creating paths).

Every refusal is a :class:`~motionmag.errors.UsageError` (exit status 2) whose sentence
names the flag, the path, and what to do. Used by the video writer (``magnify``,
``live``, ``demo``) and by every command that writes a report, a table or a picture.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import UsageError

FRAME_FILE = re.compile(r"frame_\d{6}\.png")  # the names video/writer.py gives PNG frames


def require_path(value: object, what: str, hint: str) -> None:
    """UsageError unless ``value`` is a path (str or os.PathLike); the sentence names its
    type (and an array's shape, not its values) and ends with ``hint``."""
    if isinstance(value, (str, os.PathLike)):
        return
    shape = getattr(value, "shape", None)
    kind = type(value).__name__ + ("" if shape is None else f" of shape {tuple(shape)}")
    raise UsageError(f"the {what} is a {kind}, not a path: give a file name ({hint}).")


def check_output_path(
    path: str | os.PathLike,
    *,
    overwrite: bool,
    inputs: Iterable[str | os.PathLike | None] = (),
    flag: str = "output",
    folder_output: bool = False,
    suffix: str | None = None,
) -> Path:
    """Refuse ``path`` as an output unless writing it loses nothing but an earlier output.

    ``inputs``: the paths the command reads (None entries are skipped; non-file inputs,
    e.g. a camera index or a URL, never match). ``folder_output``: the output is a folder
    of PNG frames (``video/writer.py``). ``suffix`` (e.g. ".json"): the only file ending
    accepted (any case), so a report is not written under a misleading name. Returns
    ``path`` without a trailing slash.
    """
    text = os.fspath(path)
    target = Path(text.rstrip("/" + os.sep) or text)
    existing = next((p for p in target.parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(
            f"output '{text}' cannot be made: '{existing}' is a file, not a folder; "
            "choose another path."
        )
    if not target.parent.is_dir():
        raise UsageError(f"output folder '{target.parent}' does not exist: create it first.")
    _check_writable(target.parent)
    for source in inputs:
        if source is None:
            continue
        source_path = Path(os.fspath(source))
        if _holds(target, source_path):
            what = "is" if _same(target, source_path) else "holds"
            raise UsageError(
                f"{flag} '{text}' {what} the input '{source}': choose another path; the "
                "input is never replaced."
            )
        if _inside_folder(target, source_path):
            raise UsageError(
                f"{flag} '{text}' is inside the input frame folder '{source}': write it "
                "elsewhere; the input's frames are never replaced or added to."
            )
    if suffix is not None:
        check_suffix(text, suffix, flag)
    if folder_output and target.is_file() and text.endswith(("/", os.sep)):
        raise UsageError(
            f"{flag} '{text}' asks for a folder of PNG frames, but '{target}' is a file: "
            "choose another folder (a file is never replaced by a folder)."
        )
    if target.is_dir() and not target.is_symlink():
        _check_folder(target, text, overwrite=overwrite, flag=flag, folder_output=folder_output)
    elif (target.exists() or target.is_symlink()) and not overwrite:
        raise UsageError(f"{flag} '{text}' already exists: pass --overwrite to replace it.")
    return target


def _check_folder(target: Path, text: str, *, overwrite: bool, flag: str, folder_output: bool):
    """An existing folder may only be replaced by a frame folder, and only if it holds
    nothing but frames (or nothing at all)."""
    if not folder_output:
        raise UsageError(f"{flag} '{text}' is a folder: give a file name.")
    entries = list(target.iterdir())
    if not entries:
        return  # an empty folder: nothing to lose
    cwd = Path.cwd().resolve()
    if target.resolve() == cwd or target.resolve() in cwd.parents:
        raise UsageError(
            f"{flag} '{text}' is the current folder or holds it: write the frames to a new "
            "folder, e.g. frames/."
        )
    others = sorted(e.name for e in entries if not FRAME_FILE.fullmatch(e.name))
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise UsageError(
            f"{flag} '{text}' holds files that are not frames of an earlier output "
            f"({shown}): write the frames to a new or empty folder."
        )
    if not overwrite:
        raise UsageError(f"{flag} '{text}' already exists: pass --overwrite to replace it.")


def _same(target: Path, source: Path) -> bool:
    """True when ``target`` and ``source`` name one file or folder (links resolved)."""
    try:
        if target.exists() and source.exists() and os.path.samefile(target, source):
            return True
    except OSError:
        pass
    return target.resolve() == source.resolve()


def check_suffix(path: str | os.PathLike, suffix: str, flag: str) -> None:
    """UsageError unless ``path`` ends in ``suffix`` (e.g. ".json", any case)."""
    text = os.fspath(path)
    if not text.lower().endswith(suffix):
        raise UsageError(f"{flag} '{text}' is not a {suffix} file: name it e.g. results{suffix}.")


def check_distinct_outputs(outputs: dict[str, str | os.PathLike | None]) -> None:
    """UsageError when two of a command's outputs (flag -> path; None: not asked for)
    name one file: the second would replace the first."""
    seen: dict[Path, str] = {}
    for flag, path in outputs.items():
        if path is None or path == "":
            continue
        key = Path(os.fspath(path)).resolve()
        if key in seen:
            raise UsageError(
                f"{seen[key]} and {flag} name one file, '{path}': give each its own name."
            )
        seen[key] = flag


def check_creatable_file(path: str | os.PathLike, flag: str) -> None:
    """UsageError, before any work, unless a file can be written at ``path`` once its
    missing parent folders are made (they are, by the writers that call this): the
    nearest existing ancestor must be a writable folder, and ``path`` not a folder."""
    target = Path(os.fspath(path))
    if target.is_dir():
        raise UsageError(f"{flag} '{path}' is a folder: give a file name.")
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(
            f"{flag} '{path}' cannot be made: '{ancestor}' is a file, not a folder; choose "
            "another path."
        )
    _check_writable(ancestor)


def _check_writable(folder: Path) -> None:
    """UsageError unless a file can be made in ``folder`` (tried: permissions, a read-only
    or immutable file system), before any work rather than at its end."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        # a folder that exists but takes no files (/proc, /sys) answers "No such file"
        why = "it takes no new files" if error.errno == errno.ENOENT else error.strerror
        raise UsageError(
            f"output folder '{folder}' cannot be written to ({why or error}): "
            "choose another folder."
        ) from None


def _inside_folder(target: Path, source: Path) -> bool:
    """True when ``source`` is a folder (of frames) and ``target`` lies in it."""
    return source.is_dir() and source.resolve() in target.resolve().parents


def _holds(target: Path, source: Path) -> bool:
    """True when ``target`` is the existing ``source`` or a folder that contains it."""
    if not source.exists():
        return False
    return _same(target, source) or target.resolve() in source.resolve().parents
