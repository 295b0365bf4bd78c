"""The method registry: every magnifier motionmag offers, by name.

Three properties matter (after vidmag's backend registry): registration is data (a
:class:`MethodSpec` per method, listed by ``motionmag methods``); heavy modules are
imported only when a method is selected (``builder`` is a ``"module:function"`` string);
nothing fails quietly: an unknown name says which names exist.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..allocator import keep_freed_memory
from ..errors import UsageError
from ..nets.thesis_widths import sizes_of
from .base import Magnifier
from .config import MagnifyConfig

#: the three modes, in the order every listing uses
MODE_ORDER = ("static", "dynamic", "temporal")


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
    # the paper's band for methods made for one signal (DeepMag: pulse, breathing): used,
    # in temporal mode, when neither a mode nor a band is given
    default_band_hz: tuple[float, float] | None = None
    #: takes the learned speed path's options (backend, precision, batch, tile, ...;
    #: ``magnify/learned.py``), which ``motionmag bench`` times beside the plain path
    speed_options: bool = False

    def __post_init__(self) -> None:
        """Modes kept in one order for every method (static, dynamic, temporal), so the
        table, ``--json`` and error messages list them alike; unknown modes refused."""
        unknown = set(self.modes) - set(MODE_ORDER)
        if unknown:
            raise ValueError(f"method '{self.name}' has unknown modes {sorted(unknown)}")
        object.__setattr__(self, "modes", tuple(m for m in MODE_ORDER if m in self.modes))

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
        import difflib

        known = ", ".join(_REGISTRY)
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"unknown method '{name}'{hint}: choose one of {known}.") from None


def weights_available(spec: MethodSpec) -> bool:
    """True for classical methods, and for learned ones whose weights are installed."""
    if spec.weights is None:
        return True
    from ..models.registry import has_weights

    return has_weights(spec.weights.removesuffix(".safetensors"))


def default_method() -> str:
    """The default: the best shipped learned model, else the classical ``linear``.

    A learned model is the default only when its weights are installed and its model
    card says ``"default": true``, which the card gets when its ``motionmag eval``
    numbers beat the phase-based method (our rule: an under-trained net must not
    become what every user gets without asking).
    """
    from ..models.registry import model_card

    for spec in _REGISTRY.values():
        if spec.kind != "learned" or spec.weights is None or not weights_available(spec):
            continue
        card = model_card(spec.weights.removesuffix(".safetensors")) or {}
        if card.get("default") is True:
            return spec.name
    return "linear"


def build_magnifier(config: MagnifyConfig) -> Magnifier:
    """Validate ``config`` and build the magnifier of ``config.method``.

    Every build keeps freed memory in the process (``allocator.keep_freed_memory``, as
    the command line does), so the Python API gets the same speed: ``phase`` at 1080p
    spends a third of its time in page faults without it.

    A method with a ``default_band_hz`` given no band (and no mode, or temporal) runs in
    temporal mode on that band (a copy of ``config``; the caller's is not changed)."""
    config.validate()
    spec = get_method(config.method)
    keep_freed_memory()  # per-frame buffers reused, not re-faulted (allocator.py)
    config = with_default_band(config)
    mode = config.resolved_mode()
    if spec.modes == ("temporal",) and config.mode is None and config.band is None:
        # the mode was not asked for: what is missing is the band
        raise UsageError(
            f"method '{spec.name}' magnifies in temporal mode only, which needs the "
            "frequency of the motion: add --band LOW HIGH (in Hz) around it."
        )
    if mode not in spec.modes:
        raise UsageError(
            f"method '{spec.name}' has no {mode} mode: choose one of {', '.join(spec.modes)}."
        )
    return spec.load_builder()(config)


def with_default_band(config: MagnifyConfig) -> MagnifyConfig:
    """``config`` with its method's ``default_band_hz`` as the band when no band is given
    and the mode is temporal or not given (a copy; ``config`` itself when nothing
    changes)."""
    spec = get_method(config.method)
    temporal = config.mode in (None, "temporal")
    if spec.default_band_hz is not None and temporal and config.band is None:
        return dataclasses.replace(config, band=spec.default_band_hz)
    return config


_ALL_MODES = MODE_ORDER
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

# FlowMag's Lagrangian baselines (Pan et al. 2023, Sec. 4.3): flow, forward splat, inpaint
for _name, _splat in (("warp-nearest", "nearest"), ("warp-bilinear", "bilinear")):
    register(
        MethodSpec(
            name=_name,
            kind="classical",
            modes=("static", "dynamic"),
            summary=f"Lagrangian baseline: DIS flow, {_splat} forward splat x alpha, inpaint",
            paper="Pan et al. 2023",
            builder=f"{_BUILDERS}:build_warp_{_splat}",
        )
    )

# Learned methods: listed always; they need their shipped weights to run (`motionmag methods`
# says whether they are installed) and become the default only as default_method() says.
register(
    MethodSpec(
        name="oh2018",
        kind="learned",
        modes=_ALL_MODES,
        summary="Learning-based magnification: trained encoder, manipulator, decoder",
        paper="Oh et al. 2018",
        builder="motionmag.magnify.learned:build_oh2018",
        weights="oh2018.safetensors",
        speed_options=True,
    )
)
register(
    MethodSpec(
        name="ha2024",
        kind="learned",
        modes=_ALL_MODES,
        summary="Real-time learned magnification: linear encoder, 1/4-res latent, deep decoder",
        paper="Ha et al. 2024",
        builder="motionmag.magnify.learned:build_ha2024",
        weights="ha2024.safetensors",
        speed_options=True,
    )
)
register(
    MethodSpec(
        name="ha2024-fast",
        kind="learned",
        modes=_ALL_MODES,
        summary="ha2024 with 24 decoder blocks (the paper's ~10 GFLOPs), distilled: live speed",
        paper="Ha et al. 2024",
        builder="motionmag.magnify.learned:build_ha2024_fast",
        weights="ha2024-fast.safetensors",
        speed_options=True,
    )
)
register(
    MethodSpec(
        name="deepmag-color",
        kind="learned",
        modes=("temporal",),
        summary="DeepMag: gradient ascent through a pulse CNN (colour), whole clip",
        paper="Chen and McDuff 2018",
        builder="motionmag.deepmag.method:build_deepmag_color",
        weights="deepmag-color.safetensors",
        default_band_hz=(0.7, 2.5),
    )
)
register(
    MethodSpec(
        name="deepmag-motion",
        kind="learned",
        modes=("temporal",),
        summary="DeepMag: gradient ascent through a respiration CNN on pyramid phase, whole clip",
        paper="Chen and McDuff 2018",
        builder="motionmag.deepmag.method:build_deepmag_motion",
        weights="deepmag-motion.safetensors",
        default_band_hz=(0.16, 0.5),
    )
)
register(
    MethodSpec(
        name="flowmag",
        kind="learned",
        modes=("static", "dynamic"),
        summary="Self-supervised Lagrangian magnification: U-Net trained through optical flow",
        paper="Pan et al. 2023",
        builder="motionmag.magnify.flowmag:build_flowmag",
        weights="flowmag.safetensors",
    )
)
_THESIS_BUILDER = "motionmag.magnify.thesis:build_local_thesis_network"


def _register_thesis(name: str, chapter: int, summary: str, builder: str = _THESIS_BUILDER) -> None:
    """A thesis network (Singh 2024): two-frame, every mode, its weights named after it."""
    register(
        MethodSpec(
            name=name,
            kind="learned",
            modes=("dynamic", "static", "temporal"),
            summary=summary,
            paper=f"Singh 2024 (thesis Ch. {chapter})",
            builder=builder,
            weights=f"{name}.safetensors",
        )
    )


_register_thesis(
    "sigma-theta", 6, "sigma-theta Net: magnified phase and magnitude of learnable steered "
    "scale-space gradients",
)  # fmt: skip
for _name, _size, _width in sizes_of("mdmm"):
    _register_thesis(
        _name, 5, f"MD-MM {_size}: Fourier phase and amplitude magnified, then corrected in "
        f"space at four scales (width {_width})", "motionmag.magnify.thesis:build_mdmm",
    )  # fmt: skip
for _name, _size, _width in sizes_of("lwmm"):
    _register_thesis(
        _name, 3, f"LW-MM {_size}: feature-sharing encoder, appearance + manipulated "
        f"difference decoded (width {_width}); trained against a noise-free proxy",
    )  # fmt: skip
_register_thesis(
    "kl-dnas", 4, "KL-DNAS: a student whose layers a latency-aware search picked, distilled "
    "from a noise-free LW-MM",
)  # fmt: skip
for _name, _size, _width in sizes_of("hmn"):
    _register_thesis(
        _name, 7, f"HMN {_size}: three levels of gated dilated motion blocks on Sobel-edge "
        f"differences, fused coarse to fine (base width {_width})",
    )  # fmt: skip
