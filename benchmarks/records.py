"""One way for the benchmark scripts to write their JSON record.

Every record starts with ``command``, the command line that reproduces it (as
``python benchmarks/NAME.py ...``), so a figure in the README can be traced back to
how it was measured. The scripts import this module by name: ``python
benchmarks/NAME.py`` puts ``benchmarks/`` on ``sys.path``.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path


def command_line() -> str:
    """The running script's command line, ``python benchmarks/NAME.py ARGS``."""
    return shlex.join(["python", *sys.argv])


def write_record(path: str | Path, indent: int = 2, **fields: object) -> None:
    """Write ``{"command": command_line(), **fields}`` as JSON to ``path``."""
    record = {"command": command_line(), **fields}
    Path(path).write_text(json.dumps(record, indent=indent) + "\n")
