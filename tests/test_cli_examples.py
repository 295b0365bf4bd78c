"""The examples under every command's --help parse as written and fit 80 columns, and
help lines never break inside a hyphenated word (the CLI help review of stop 54 found no
example anywhere, and '--no-' / 'realtime' split across lines)."""

from __future__ import annotations

import shlex

import pytest

from motionmag.cli import build_parser
from motionmag.cli_examples import EXAMPLES, SESSION


def _commands(text: str) -> list[list[str]]:
    """The example command lines of ``text``, as argv after ``motionmag``."""
    lines = [line.strip() for line in text.splitlines() if line.startswith("  motionmag ")]
    return [shlex.split(line.split("  #")[0])[1:] for line in lines]


def test_every_command_has_examples_that_parse_and_fit_80_columns():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(EXAMPLES) == set(commands)
    for text in (SESSION, *EXAMPLES.values()):
        assert max(len(line) for line in text.splitlines()) < 80, text
        for argv in _commands(text):
            if "MODEL" in argv:
                continue  # a placeholder for any model's own --help
            parser.parse_args(argv)  # raises SystemExit(2) on a flag that does not exist
    assert len(_commands(SESSION)) == 4


@pytest.mark.parametrize("command", ["live", "eval", "train"])
def test_help_lines_do_not_break_inside_a_hyphenated_word(command, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= 80
    assert not [line for line in text.splitlines() if line.rstrip().endswith(("--no-", "-"))]
    assert text.rstrip().splitlines()[-1].startswith("  motionmag " + command)


def test_spectrum_and_measure_examples_that_stabilize_name_a_region():
    """`spectrum bridge.mp4 --stabilize` (no --roi) was refused on every video: the
    camera is registered on what lies outside the region, and the whole frame leaves
    nothing (``region_motion.camera_aligner``)."""
    for command in ("spectrum", "measure"):
        for argv in _commands(EXAMPLES[command]):
            if "--stabilize" in argv:
                assert "--roi" in argv or "--grid" in argv, argv
