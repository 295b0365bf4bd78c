"""What a magnification run is asked to do, as one plain dataclass the CLI maps flags onto."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from ..devices import default_device, resolve_device
from ..errors import UsageError
from ..temporal import FILTERS, MODES


def check_alpha(alpha: float) -> float:
    """``alpha`` as a float; UsageError unless it is a finite number >= 0."""
    if not math.isfinite(alpha) or alpha < 0:
        raise UsageError(f"alpha {alpha} is not a finite number >= 0: pass e.g. --alpha 10.")
    return float(alpha)


def number(
    name: str, value: object, *, whole: bool = False, example: str | None = None
) -> float | int:
    """``value`` as a float (or an int when ``whole``): Python and numpy numbers pass, a
    string, a bool or a fraction where a whole number is due is a UsageError, whose advice
    is ``example`` (default ``e.g. name=2``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(f"{name} {value!r} is not a number: give {example or f'e.g. {name}=2'}.")
    try:
        as_float = float(value)
    except OverflowError:  # an int beyond a float (10**400): OverflowError before
        advice = example or f"e.g. {name}=2"
        raise UsageError(f"{name} is beyond any float (over 1e308): give {advice}.") from None
    if whole:
        if not as_float.is_integer():
            raise UsageError(
                f"{name} {value} is not a whole number: give {example or f'e.g. {name}=2'}."
            )
        return int(value)
    return as_float


def check_switches(**switches: object) -> None:
    """UsageError for a switch given as anything but True or False (``"no"`` is truthy)."""
    import numpy as np

    for name, value in switches.items():
        if not isinstance(value, (bool, np.bool_)):  # numpy's True and False too
            raise UsageError(f"{name}={value!r} is not True or False: give {name}=True.")


def as_band(band: object) -> tuple[float, float] | None:
    """(low, high) in Hz as floats; UsageError unless ``band`` is two numbers."""
    if band is None:
        return None
    if isinstance(band, str) or not hasattr(band, "__len__") or len(band) != 2:
        raise UsageError(f"band {band!r} is not two numbers: give (LOW, HIGH) in Hz, e.g. (1, 3).")
    example = "the band as two numbers in Hz, e.g. (1, 3)"
    return (
        number("band low edge", band[0], example=example),
        number("band high edge", band[1], example=example),
    )


def check_positive_options(method: str, **values: float | None) -> None:
    """UsageError for a method option that must be above 0 (None: the option's default).

    Types and signs of every ``--set`` value are checked in ``builders.option_value``;
    this is for the options where 0 means nothing (a level count, a wavelength)."""
    for name, value in values.items():
        if value is not None and not value > 0:
            raise UsageError(
                f"--set {name}={value} does not fit method '{method}': give a number above 0."
            )


def check_option_at_most(method: str, name: str, value: int, top: int, what: str) -> None:
    """UsageError for a ``--set`` count above the most ``method`` can use (``what``: why).

    A Laplacian pyramid deeper than its frame repeats 1x1 levels, and the linear gains
    2^level overflow a float near level 1000; a phase pyramid's cost grows with each
    orientation (500 ran for minutes on 3 frames)."""
    if value > top:
        raise UsageError(
            f"--set {name}={value} is more than method '{method}' can use {what} (at most "
            f"{top}): give --set {name}={top} or fewer, or leave it out for the default."
        )


def pyramid_levels(method: str, levels: int | None, height: int, width: int) -> int:
    """The Laplacian band levels of ``method`` on frames of ``height`` x ``width`` px: the
    default (down to an 8-15 px residual) when ``levels`` is None, else ``levels``,
    refused above the 1 px the frame halves to (:func:`check_option_at_most`)."""
    from ..representations.pyramid import max_levels

    if levels is None:
        return max_levels(height, width)
    top = max_levels(height, width, smallest_px=1)
    check_option_at_most(method, "levels", int(levels), top, f"on {width}x{height} frames")
    return int(levels)


@dataclass
class MagnifyConfig:
    """Everything a magnifier needs besides the frames.

    alpha is the total factor: output displacement = alpha x input displacement
    (alpha = 1 is the identity, 0 < alpha < 1 attenuates).
    """

    method: str = "linear"
    alpha: float = 10.0
    mode: str | None = None  # None: temporal when a band is given, else static
    band: tuple[float, float] | None = None  # Hz
    filter_kind: str = "butter"
    fps: float | None = None  # frames per second of the input (needed for a band)
    reference: int = 0  # static mode's reference frame index
    order: int = 2  # Butterworth order (scipy's N)
    fir_taps: int | None = None  # FIR length in frames
    device: str = "cpu"
    options: dict[str, Any] = field(default_factory=dict)  # method-specific settings
    # how the frames the magnifier sees were cut and resized from the source (set by the
    # engine; None: the frames as given), so a picture drawn on the whole source frame
    # (an alpha map) lines up with --crop as a --mask does
    frame_geometry: Any = None

    @classmethod
    def from_arguments(
        cls,
        method: str,
        alpha: float,
        mode: str | None,
        band: tuple[float, float] | None,
        filter_kind: str,
        fps: float | None,
        reference: int,
        device: str | None,
        options: dict[str, Any],
    ) -> MagnifyConfig:
        """From the API's keyword arguments; ``order`` and ``fir_taps`` leave ``options``."""
        options = dict(options)
        temporal = {key: options.pop(key) for key in ("order", "fir_taps") if key in options}
        if "order" in temporal:
            temporal["order"] = number("order", temporal["order"], whole=True)
        if temporal.get("fir_taps") is not None:
            temporal["fir_taps"] = number("fir_taps", temporal["fir_taps"], whole=True)
        return cls(
            method=method,
            alpha=number("alpha", alpha),
            mode=mode,
            band=as_band(band),
            filter_kind=filter_kind,
            fps=None if fps is None else number("fps", fps),
            reference=number("reference", reference, whole=True),
            device=device or default_device(options.get("backend")),
            options=options,
            **temporal,
        )

    def resolved_mode(self) -> str:
        """The mode to run: the explicit one, or temporal with a band, else static."""
        if self.mode is not None:
            return self.mode
        return "temporal" if self.band is not None else "static"

    def validate(self) -> None:
        """Raise UsageError with one sentence for arguments that can never work."""
        alpha_is_number = isinstance(self.alpha, numbers.Real) and not isinstance(self.alpha, bool)
        if not alpha_is_number or not math.isfinite(self.alpha):
            raise UsageError(f"alpha {self.alpha!r} is not a finite number: pass e.g. --alpha 10.")
        resolve_device(self.device)
        if self.alpha < 0:
            raise UsageError(f"alpha {self.alpha} is negative: pass a factor >= 0 (1 = unchanged).")
        mode = self.resolved_mode()
        if mode not in MODES:
            raise UsageError(f"unknown mode '{mode}': choose one of {', '.join(MODES)}.")
        if self.filter_kind not in FILTERS:
            raise UsageError(
                f"unknown filter '{self.filter_kind}': choose one of {', '.join(FILTERS)}."
            )
        if self.reference < 0:
            raise UsageError(f"reference frame {self.reference} is negative: give an index >= 0.")
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            # without a band it went unchecked (the file command refused it; the frame
            # functions took fps=0)
            raise UsageError(f"frame rate {self.fps} fps is not a rate: give --fps above 0.")
        self._check_unused(mode)

    def filter_flags_given(self) -> list[str]:
        """The temporal filter's flags set away from their defaults (``--filter``,
        ``--order``, ``--fir-taps``): what a mode or method without that filter ignores."""
        settings = {
            "--filter": self.filter_kind != "butter",
            "--order": self.order != 2,
            "--fir-taps": self.fir_taps is not None,
        }
        return [flag for flag, given in settings.items() if given]

    def _check_unused(self, mode: str) -> None:
        """UsageError for a setting that the mode would silently ignore (a band, a filter,
        a reference frame): the user asked for something they would not get."""
        given = (["--band"] if self.band is not None else []) + self.filter_flags_given()
        if mode != "temporal" and given:
            flags = " and ".join(given)
            verb, it = ("sets", "it") if len(given) == 1 else ("set", "them")
            raise UsageError(
                f"{flags} {verb} up the temporal filter, which {mode} mode does not use: "
                f"drop {it}, or use --mode temporal with --band LOW HIGH."
            )
        if mode == "temporal":  # settings of one filter given to another
            if self.fir_taps is not None and self.filter_kind != "fir":
                raise UsageError(
                    f"--fir-taps sets the length of the fir filter, which the {self.filter_kind} "
                    "filter does not use: drop it, or add --filter fir."
                )
            if self.order != 2 and self.filter_kind != "butter":
                raise UsageError(
                    f"--order sets the Butterworth filter's order, which the {self.filter_kind} "
                    "filter does not use: drop it, or use --filter butter."
                )
        if mode != "static" and self.reference != 0:
            raise UsageError(
                f"--reference is the reference frame of static mode, which {mode} mode does "
                "not use: drop it, or use --mode static."
            )
