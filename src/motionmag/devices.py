"""Which torch device a command runs on, checked before any work.

What matters: ``--device`` takes ``cpu`` or ``cuda`` (``cuda:N`` for one GPU of several);
asking for CUDA where there is none is one plain sentence, never a traceback from deep
inside torch. Every command that takes ``--device`` (magnify, live, eval, train) checks it
here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    import torch


#: threads or worker processes per core a command accepts (ours: more only thrash; 10,000
#: torch threads or data workers exhausted the machine instead of one sentence)
MAX_PER_CORE = 4


def check_parallel_count(flag: str, value: int) -> None:
    """UsageError for ``--threads`` / ``--workers`` far beyond this machine's cores (at
    most ``MAX_PER_CORE`` per core, and never fewer than 8)."""
    cores = os.cpu_count() or 1
    top = max(8, MAX_PER_CORE * cores)
    if value > top:
        raise UsageError(
            f"{flag} {value} is far more than this machine's {cores} cores can use (at most "
            f"{top}): give {flag} {cores}."
        )


def default_device(backend: str | None = None) -> str:
    """The device a run takes when none is given (INTERFACE.md: cuda if available): a
    CUDA GPU when torch sees one, else the CPU; always the CPU for ONNX Runtime
    (``backend="onnx"``, our CPU path)."""
    import torch

    return "cuda" if backend != "onnx" and torch.cuda.is_available() else "cpu"


def resolve_device(name: str | torch.device) -> torch.device:
    """torch.device for ``name``; UsageError for an unknown name or CUDA where there is none.
    (torch is imported here, not with the module: commands that never run a network, and
    ``--help``, start without it.)"""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise UsageError(f"unknown device '{name}': use cpu or cuda.") from None
    if device.type not in ("cpu", "cuda"):
        raise UsageError(f"unknown device '{name}': use cpu or cuda.")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for but no CUDA GPU is available: use cpu.")
    return device
