"""Test helper: run ``motionmag ARGV`` in-process and read its one-sentence error."""

from __future__ import annotations

from motionmag.cli import main


def run(capsys, *argv) -> tuple[int, str]:
    """(exit status, stderr) of ``motionmag ARGV`` (arguments turned into strings)."""
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def one_sentence(err: str) -> bool:
    """True when ``err`` is exactly one ``motionmag: error:`` line."""
    return err.startswith("motionmag: error:") and err.count("\n") == 1
