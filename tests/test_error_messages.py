"""Every one-sentence error the package raises ends like a sentence (a full stop, or a
question or closing bracket), so the CLI's `motionmag: error: ...` line reads as one.
34 messages lacked it before this check (stop 54's sweep)."""

from __future__ import annotations

import ast
from pathlib import Path

import motionmag

SENTENCE_ENDS = (".", "?", ")")


def _message_endings(path: Path):
    """(line, last literal text) of every UsageError / InputError raised with a string or
    f-string whose last piece is literal text (a message ending in a value is skipped)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        func = node.exc.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name not in ("UsageError", "InputError") or not node.exc.args:
            continue
        message = node.exc.args[0]
        if isinstance(message, ast.JoinedStr):
            message = message.values[-1]
        if isinstance(message, ast.Constant) and isinstance(message.value, str):
            yield node.lineno, message.value


def test_every_raised_message_ends_as_a_sentence():
    package = Path(motionmag.__file__).parent
    unfinished = [
        f"{path.relative_to(package)}:{line}: ...{text[-40:]!r}"
        for path in sorted(package.rglob("*.py"))
        for line, text in _message_endings(path)
        if not text.rstrip().endswith(SENTENCE_ENDS)
    ]
    assert not unfinished, "\n".join(unfinished)
    # the scan sees the package's messages (it would pass on nothing otherwise)
    assert sum(1 for path in package.rglob("*.py") for _ in _message_endings(path)) > 300
