"""Builders that turn a :class:`MagnifyConfig` into a ready magnifier, one per method."""

from __future__ import annotations

import dataclasses
import math
import types
import typing

from ..errors import UsageError
from ..temporal import TemporalSelector, make_selector
from .base import EulerianMagnifier, Magnifier
from .config import MagnifyConfig
from .linear import ColorConfig, ColorEulerian, LinearConfig, LinearEulerian


def selector_for(config: MagnifyConfig) -> TemporalSelector:
    """The temporal selector the config asks for (mode, band, filter, reference)."""
    return make_selector(
        config.resolved_mode(),
        band=config.band,
        fps=config.fps,
        filter_kind=config.filter_kind,
        reference=config.reference,
        order=config.order,
        fir_taps=config.fir_taps,
        iir_coefficients=iir_coefficients_of(config),
    )


def iir_coefficients_of(config: MagnifyConfig) -> tuple[float, float] | None:
    """``--set iir_coefficients=[R_HIGH, R_LOW]`` checked: two numbers, given only where
    the diff-iir filter of temporal mode will use them (None when not given)."""
    value = config.options.get("iir_coefficients")
    if value is None:
        return None
    mode = config.resolved_mode()
    if mode != "temporal" or config.filter_kind != "diff-iir":
        user = f"{mode} mode" if mode != "temporal" else f"the {config.filter_kind} filter"
        raise UsageError(
            f"iir_coefficients sets the diff-iir filter's two smoothing factors, which {user} "
            "does not use: drop it, or use --mode temporal --filter diff-iir."
        )
    numbers = value if isinstance(value, (list, tuple)) else [value]
    if len(numbers) != 2 or not all(
        isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers
    ):
        raise UsageError(
            f"iir_coefficients={value!r} is not two numbers: give e.g. --set "
            "iir_coefficients=[0.4,0.05] (the high cut-off's factor first)."
        )
    return float(numbers[0]), float(numbers[1])


def options_for(cls: type, config: MagnifyConfig, method: str):
    """Build a method's option dataclass from ``config.options`` (unknown keys are errors)."""
    names = {f.name for f in dataclasses.fields(cls)}
    given = {k: v for k, v in config.options.items() if k != "iir_coefficients"}
    unknown = sorted(set(given) - names)
    if unknown:
        raise UsageError(
            f"method '{method}' has no option {', '.join(unknown)}{_near_miss(unknown, names)}: "
            f"its options are {', '.join(sorted(names))}."
        )
    hints = typing.get_type_hints(cls)
    return cls(**{name: option_value(method, name, v, hints[name]) for name, v in given.items()})


def _near_miss(unknown: list[str], options: set[str]) -> str:
    """`` (did you mean band?)`` when an unknown option is a near miss of an option or
    of one of ``magnify``'s own arguments (``bands=``, ``stabilise=``), what it is when it
    is one of the latter (``side_by_side=`` to ``magnify_frames``), else ``""``."""
    import difflib

    from .api import magnify, named_arguments

    arguments = named_arguments(magnify) - {"input", "output"}
    for name in unknown:
        if name == "backend":
            return " (--backend runs a learned method's network: give --method oh2018, ha2024, ...)"
        if name in arguments:  # magnify's own, passed to magnify_frames or Stream
            return f" ({name} is an argument of magnify, which reads a video file)"
        close = difflib.get_close_matches(name, sorted(options | arguments), n=1, cutoff=0.75)
        if close:
            return f" (did you mean {close[0]}?)"
    return ""


def option_value(method: str, name: str, value: object, hint: object) -> object:
    """``value`` (parsed from ``--set name=value`` as JSON, else a string) as the option's
    type; UsageError unless it fits the annotation: ``int`` (a whole float becomes an
    int), ``float`` (a finite number), ``bool``, ``str``, or one of those ``| None``.
    Numbers must not be negative: no option of ours takes one. Ranges beyond that are the
    option class's own ``__post_init__``."""
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in allowed:
        return value
    if isinstance(value, bool):
        ok = bool in allowed
    elif isinstance(value, int):
        ok = int in allowed or float in allowed
    elif isinstance(value, float):
        ok = float in allowed or (int in allowed and value.is_integer())
    else:
        ok = isinstance(value, str) and str in allowed
    kinds = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}
    wanted = " or ".join(kinds[t] for t in allowed if t in kinds)
    if not ok:
        raise UsageError(
            f"--set {name}={value!r} does not fit method '{method}': {name} takes {wanted}."
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if not math.isfinite(value) or value < 0:
        raise UsageError(
            f"--set {name}={value} does not fit method '{method}': {name} takes {wanted} >= 0."
        )
    return value if float in allowed else int(value)


def _eulerian(config: MagnifyConfig, method_cls: type, options_cls: type) -> EulerianMagnifier:
    """The method built from its options, run with the selector the config asks for."""
    method = method_cls(config.alpha, options_for(options_cls, config, config.method))
    return EulerianMagnifier(method, selector_for(config), config.device)


def build_phase(config: MagnifyConfig) -> EulerianMagnifier:
    from .phase import PhaseBased, PhaseConfig

    mode = config.resolved_mode()
    if config.options.get("attenuate_other") is True and mode != "temporal":
        # the output's phase is frame 0's plus alpha x the selection: right for a band,
        # but in static mode every motion is selected (against --reference, which it
        # moved to frame 0's place) and in dynamic mode against the previous frame
        raise UsageError(
            f"attenuate_other removes the motion outside the temporal band, and {mode} mode "
            "has none: drop it, or use --mode temporal with --band LOW HIGH."
        )
    return _eulerian(config, PhaseBased, PhaseConfig)


def build_riesz(config: MagnifyConfig) -> EulerianMagnifier:
    from .riesz import RieszConfig, RieszMagnifier

    return _eulerian(config, RieszMagnifier, RieszConfig)


def build_acceleration(config: MagnifyConfig) -> EulerianMagnifier:
    """Acceleration magnification (Zhang et al. 2017): phase-based magnification whose
    temporal selector is the second derivative of a Gaussian centred on the band
    (geometric mean of ``--band``), so constant-velocity motion is left alone."""
    import math

    from ..temporal import FPS_UNKNOWN, FIRSelector, acceleration_taps, check_band
    from .phase import PhaseBased, PhaseConfig

    if config.band is None:
        raise UsageError(
            "acceleration needs the frequency of the motion to magnify: add --band LOW HIGH "
            "(in Hz) around it."
        )
    if config.fps is None:  # a Stream without fps (a file always has a rate)
        raise UsageError(FPS_UNKNOWN)
    check_band(*config.band, config.fps)
    chosen = config.filter_flags_given()
    if "iir_coefficients" in config.options:
        chosen.append("iir_coefficients")
    if chosen:
        raise UsageError(
            f"acceleration's temporal filter is its own (the second derivative of a Gaussian "
            f"at the band's centre), so {' and '.join(chosen)} would be ignored: drop "
            f"{'it' if len(chosen) == 1 else 'them'}."
        )
    frequency_hz = math.sqrt(config.band[0] * config.band[1])
    method = PhaseBased(config.alpha, options_for(PhaseConfig, config, config.method))
    # its length grows as 1 / the band's centre (2 ceil(4 sigma) + 1, sigma ~ fps / f)
    shorter = "give a higher --band (the filter spans about two periods of its centre)"
    selector = FIRSelector(acceleration_taps(frequency_hz, config.fps), shorter=shorter)
    return EulerianMagnifier(method, selector, config.device)


def build_linear(config: MagnifyConfig) -> EulerianMagnifier:
    return _eulerian(config, LinearEulerian, LinearConfig)


def build_color(config: MagnifyConfig) -> EulerianMagnifier:
    return _eulerian(config, ColorEulerian, ColorConfig)


def _warp(config: MagnifyConfig, splat: str) -> Magnifier:
    """FlowMag's Warp baselines (Pan et al. 2023 Sec. 4.3), static or dynamic mode."""
    from .warp import WarpMagnifier, WarpOptions

    return WarpMagnifier(
        config.alpha,
        splat,
        mode=config.resolved_mode(),
        reference=config.reference,
        options=options_for(WarpOptions, config, config.method),
    )


def build_warp_nearest(config: MagnifyConfig) -> Magnifier:
    return _warp(config, "nearest")


def build_warp_bilinear(config: MagnifyConfig) -> Magnifier:
    return _warp(config, "bilinear")
