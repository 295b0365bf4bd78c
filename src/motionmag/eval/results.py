"""What every evaluation suite returns: one curve (levels of a swept quantity) per suite.

What matters: the terminal table, the JSON file and the Fig. 8-style plots are all made
from this one structure, so a new suite only has to fill it in.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..atomic import number


@dataclass
class Level:
    """One level of the swept quantity ``x`` and the metrics averaged over its cases.

    ``values`` maps metric name -> mean over the ``n`` cases (e.g. ``ssim``,
    ``ssim_input``, ``mse``); ``spread`` maps the same names to the standard deviation.
    """

    x: float
    values: dict[str, float]
    n: int
    spread: dict[str, float] = field(default_factory=dict)


@dataclass
class SuiteResult:
    """The outcome of one suite for one method.

    Attributes:
        suite: suite name (``subpixel``, ``noise-small``, ...).
        method: method name as registered.
        x_name: label of the swept quantity with its unit, e.g. ``"input motion (px)"``.
        x_log: plot ``x`` on a log axis.
        primary: the metric plotted as the method's curve (e.g. ``ssim``).
        floor: the metric plotted dashed as the input floor (e.g. ``ssim_input``), if any.
        levels: one entry per level, in sweep order.
        settings: everything needed to reproduce (size, n, seed, alpha rule, ...).
        summary: a few headline numbers (e.g. mean SSIM over levels).
        notes: plain sentences (skipped cases, deviations from the protocol).
        x_labels: names of the levels for the table and the plot (e.g. tasks ``A``-``D``),
            one per level; None prints ``x``.
        table: metrics shown in the terminal table, one row per level and method (None:
            the primary metric only, one column per method).
        plots: metrics drawn, one panel each (None: the primary metric only).
    """

    suite: str
    method: str
    x_name: str
    x_log: bool
    primary: str
    floor: str | None
    levels: list[Level]
    settings: dict = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    x_labels: list[str] | None = None
    table: list[str] | None = None
    plots: list[str] | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SuiteResult:
        """The result :meth:`to_dict` gave, read back from JSON (``null`` -> NaN,
        ``"inf"`` -> infinity: :func:`motionmag.atomic.strict_json`)."""
        fields = dict(data)
        fields["levels"] = [
            Level(
                x=_numbers({"x": level["x"]})["x"],
                values=_numbers(level["values"]),
                n=level["n"],
                spread=_numbers(level.get("spread", {})),
            )
            for level in data["levels"]
        ]
        fields["summary"] = _numbers(data.get("summary", {}))
        return cls(**fields)

    def metric(self, name: str) -> list[float]:
        """The values of metric ``name`` across levels (NaN where a level lacks it)."""
        return [level.values.get(name, float("nan")) for level in self.levels]


def _numbers(mapping: dict) -> dict:
    """``mapping`` with its JSON spellings of non-finite numbers read back; ValueError
    for a value that is not a number (a hand-edited file)."""
    numbers = {key: number(value) for key, value in mapping.items()}
    for key, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{key} is {value!r}, not a number")
    return numbers


def finite_stats(values) -> tuple[float, float]:
    """(mean, standard deviation) of the finite values, (NaN, NaN) when none is: a case a
    suite could not score (NaN) is left out, not averaged in."""
    array = np.asarray(values, dtype=np.float64)
    finite = array[np.isfinite(array)]
    if not len(finite):
        return math.nan, math.nan
    return float(finite.mean()), float(finite.std())
