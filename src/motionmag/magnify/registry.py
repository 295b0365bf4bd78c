"""The method registry: every magnifier motionmag offers, by name.

Three properties matter (after vidmag's backend registry): registration is data (a
:class:`MethodSpec` per method, listed by ``motionmag methods``); heavy modules are
imported only when a method is selected (``builder`` is a ``"module:function"`` string);
nothing fails quietly: an unknown name says which names exist.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UsageError
from .base import Magnifier
from .config import MagnifyConfig


@dataclass(frozen=True)
class MethodSpec:
    """One registered method: what it is, what it supports, where its builder lives."""

    name: str
    kind: str  # "classical" | "learned"
    modes: tuple[str, ...]
    summary: str
    paper: str
    builder: str  # "package.module:function" taking a MagnifyConfig, returning a Magnifier
    weights: str | None = None  # shipped weights file for learned methods

    def load_builder(self) -> Callable[[MagnifyConfig], Magnifier]:
        module_name, function_name = self.builder.split(":")
        return getattr(importlib.import_module(module_name), function_name)


_REGISTRY: dict[str, MethodSpec] = {}


def register(spec: MethodSpec) -> MethodSpec:
    """Add a method (its name must be new)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"method '{spec.name}' is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def methods() -> list[MethodSpec]:
    """All registered methods, in registration order."""
    return list(_REGISTRY.values())


def get_method(name: str) -> MethodSpec:
    """The spec for ``name``; UsageError listing the known names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise UsageError(f"unknown method '{name}': choose one of {known}.") from None


def default_method() -> str:
    """The default: the best shipped learned model, else the classical ``linear``."""
    learned = [spec.name for spec in _REGISTRY.values() if spec.kind == "learned"]
    return learned[0] if learned else "linear"


def build_magnifier(config: MagnifyConfig) -> Magnifier:
    """Validate ``config`` and build the magnifier of ``config.method``."""
    config.validate()
    spec = get_method(config.method)
    mode = config.resolved_mode()
    if mode not in spec.modes:
        raise UsageError(
            f"method '{spec.name}' has no {mode} mode: choose one of {', '.join(spec.modes)}."
        )
    return spec.load_builder()(config)


_ALL_MODES = ("temporal", "static", "dynamic")
_BUILDERS = "motionmag.magnify.builders"

# (name, modes, paper, summary): the classical methods, built by magnify/builders.py
for _name, _modes, _paper, _summary in (
    ("linear", _ALL_MODES, "Wu et al. 2012",
     "Linear Eulerian motion magnification on a YIQ Laplacian pyramid"),
    ("color", _ALL_MODES, "Wu et al. 2012",
     "Eulerian colour amplification on a coarse Gaussian pyramid level"),
    ("phase", _ALL_MODES, "Wadhwa et al. 2013",
     "Phase-based magnification on a complex steerable pyramid (luma)"),
    ("riesz", _ALL_MODES, "Wadhwa et al. 2014",
     "Riesz-pyramid phase magnification: the fast phase method for live use"),
    ("acceleration", ("temporal",), "Zhang et al. 2017",
     "Phase-based magnification of acceleration only (2nd-derivative temporal filter)"),
):  # fmt: skip
    register(
        MethodSpec(
            name=_name,
            kind="classical",
            modes=_modes,
            summary=_summary,
            paper=_paper,
            builder=f"{_BUILDERS}:build_{_name}",
        )
    )
