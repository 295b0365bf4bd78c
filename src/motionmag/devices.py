"""Which torch device a command runs on, checked before any work.

What matters: ``--device`` takes ``cpu`` or ``cuda`` (``cuda:N`` for one GPU of several);
asking for CUDA where there is none is one plain sentence, never a traceback from deep
inside torch. Every command that takes ``--device`` (magnify, live, eval, train) checks it
here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    import torch


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
