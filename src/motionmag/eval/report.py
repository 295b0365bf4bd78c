"""Reports of ``motionmag eval``: a terminal table, a JSON file and Fig. 8-style plots.

What matters: one curve per method and suite, the input floor dashed (Oh et al. 2018
Fig. 8), and a JSON file that holds everything needed to redraw the plots or compare
runs later (``--compare``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__, atomic
from ..errors import InputError
from .results import SuiteResult

#: metrics for which lower is better (the table marks the better side)
LOWER_IS_BETTER = {"mse", "motion_error", "magnification_error", "background_change"}
#: ratios of measured to asked-for motion: 1 is ideal, above it over-magnifies
IDEAL_AT_ONE = {"ratio", "amplitude_ratio"}


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e5):
        return f"{value:.3g}"
    if magnitude >= 100:
        return f"{value:.1f}"
    return f"{value:.4f}"


def _x_text(result: SuiteResult, i: int) -> str:
    labels = result.x_labels
    if labels and i < len(labels):
        return str(labels[i])
    return f"{result.levels[i].x:.4g}"


def _union(lists: Iterable[list[str]]) -> list[str]:
    """The names of several lists, each once, in the order first seen."""
    return list(dict.fromkeys(name for names in lists for name in names))


def _columns(group: list[SuiteResult]) -> list[str]:
    """The table's metrics: those any of the group's results names (a method that lacks
    one shows "-"), so the columns do not depend on the order the methods were given."""
    return _union(r.table or [r.primary] for r in group)


def _aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    return lines + ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]


def _metric_block(suite: str, group: list[SuiteResult]) -> list[str]:
    """Several metrics: one row per level and method, one column per metric."""
    first = group[0]
    columns = _columns(group)
    header = [first.x_name.split(" (")[0], "method", *columns]
    rows = []
    # each result's level at the first's x (a --compare file of other levels shows no
    # row there, never a value of another x)
    at_x = [{_x_key(level.x): level for level in r.levels} for r in group]
    for i, level in enumerate(first.levels):
        for r, levels in zip(group, at_x, strict=True):
            found = levels.get(_x_key(level.x))
            if found is not None:
                values = found.values
                rows.append([_x_text(first, i), r.method, *(_fmt(values.get(c)) for c in columns)])
    lines = [f"{suite}: {first.x_name}; {', '.join(columns)}"]
    return lines + _aligned(header, rows)


def _x_key(x: float) -> float:
    """A level's x as a table row's key (6 significant digits: a JSON round trip)."""
    return float(f"{x:.6g}")


def format_table(results: Iterable[SuiteResult]) -> str:
    """Plain-text table: per suite, one row per level, one column per method (+ floor).

    A suite that names several ``table`` metrics gets one row per level and method and
    one column per metric instead.
    """
    by_suite: dict[str, list[SuiteResult]] = {}
    for result in results:
        by_suite.setdefault(result.suite, []).append(result)
    blocks = []
    for suite, group in by_suite.items():
        first = group[0]
        if any(r.table for r in group):
            lines = _metric_block(suite, group)
            for r in group:
                if r.summary:
                    summary = ", ".join(f"{k} {_fmt(v)}" for k, v in r.summary.items())
                    lines.append(f"  {r.method}: {summary}")
                lines += [f"  {r.method}: {note}" for note in r.notes]
            blocks.append("\n".join(lines))
            continue
        better = "lower is better" if first.primary in LOWER_IS_BETTER else "higher is better"
        if first.primary in IDEAL_AT_ONE:
            better = "1 is ideal"
        header = [first.x_name] + [r.method for r in group]
        if first.floor:
            header.append(f"input ({first.floor})")
        rows = []
        # each result's level at the first's x (a --compare file of other levels shows
        # "-" there, never a value of another x)
        at_x = [{_x_key(lvl.x): lvl for lvl in r.levels} for r in group]
        for i, level in enumerate(first.levels):
            row = [_x_text(first, i)]
            found = [levels.get(_x_key(level.x)) for levels in at_x]
            row += [
                _fmt(lvl.values.get(r.primary)) if lvl is not None else "-"
                for r, lvl in zip(group, found, strict=True)
            ]
            if first.floor:
                row.append(_fmt(level.values.get(first.floor)))
            rows.append(row)
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
        unit = METRIC_UNITS.get(first.primary)
        lines = [f"{suite}: {first.primary} ({f'{unit}, ' if unit else ''}{better})"]
        lines.append("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
        lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
        for r in group:
            if r.summary:
                summary = ", ".join(f"{k} {_fmt(v)}" for k, v in r.summary.items())
                lines.append(f"  {r.method}: {summary}")
            lines += [f"  {r.method}: {note}" for note in r.notes]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def to_json(results: Iterable[SuiteResult], command: str | None = None) -> dict:
    """The JSON document: version, time, command and every suite result."""
    return {
        "motionmag_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "results": [r.to_dict() for r in results],
    }


def write_json(path: str | os.PathLike, document: dict) -> None:
    """Write a report atomically, one space of indent (the tables are long)."""
    atomic.write_json(path, document, indent=1)


def read_json(path: str | os.PathLike) -> list[SuiteResult]:
    """Suite results saved by ``--json`` (for ``--compare``)."""
    try:
        document = json.loads(Path(path).read_text())
    except OSError as error:
        raise InputError(
            f"cannot read '{path}' ({error.strerror or error}): check the path."
        ) from None
    except ValueError:  # not JSON, or not text at all
        raise InputError(
            f"'{path}' is not a JSON file: pass a file written by `motionmag eval --json`."
        ) from None
    try:
        results = [SuiteResult.from_dict(r) for r in document["results"]]
    except (KeyError, TypeError, ValueError, AttributeError):
        results = []
    if not results:  # {"results": {}} or [] too
        raise InputError(
            f"'{path}' holds no evaluation results (another command's JSON, or edited?): "
            "pass a file written by `motionmag eval --json`."
        )
    return results


def _panels(results: Iterable[SuiteResult]) -> list[tuple[str, str, list[SuiteResult]]]:
    """(suite, metric, results) per panel: the primary metric, or each of ``plots``."""
    by_suite: dict[str, list[SuiteResult]] = {}
    for result in results:
        by_suite.setdefault(result.suite, []).append(result)
    return [
        (suite, metric, group)
        for suite, group in by_suite.items()
        for metric in _union(r.plots or [r.primary] for r in group)
    ]


#: y-axis labels with units, by metric (the metric's own name otherwise)
METRIC_LABELS = {
    "ssim": "SSIM",
    "ssim_away": "SSIM away from the target",
    "mse": "MSE (grey levels^2)",
    "psnr_db": "PSNR (dB)",
    "motion_error": "motion error (px)",
    "magnification_error": "magnification error (x)",
    "ratio": "measured / asked magnification (1: ideal)",
    "amplitude_ratio": "amplitude ratio (1: ideal)",
    "gain": "gain (x)",
    "correlation": "correlation r with the truth",
    "correlation_compensated": "r, motion-compensated",
    "frequency_error_hz": "frequency error (Hz)",
    "background_change": "background change (grey levels)",
    "mse_still": "MSE, nothing moving (grey levels^2)",
}
#: the units the table's header names (a metric without one is a plain number)
METRIC_UNITS = {
    "motion_error": "px",
    "magnification_error": "x",
    "background_change": "grey levels",
    "mse": "grey levels^2",
    "psnr_db": "dB",
}
#: the most methods whose legend is drawn inside a panel
LEGEND_INSIDE_MAX = 6
#: how far a zoomed SSIM-like axis reaches above 1 (its best value)
ZOOM_HEADROOM = 0.01
#: metrics whose ideal value is 1 (a dotted line marks it)
IDEAL_ONE = ("ratio", "amplitude_ratio")


def _zoomed(values: list[float]) -> bool:
    """SSIM-like values all above 0.5: their axis starts near them to show the detail."""
    return bool(values) and min(values) > 0.5 and max(values) <= 1.0


def _bars(axis, metric: str, group: list[SuiteResult]) -> None:
    """Grouped values over named levels (e.g. tasks), one colour per method, std as error:
    bars from 0, or points where the axis is zoomed (a bar from 0.9 would draw 0.97 as
    a third of 1.0). Each method's own input value is a black tick over its slot (the
    methods may score different targets: colour methods the pulse, motion methods the
    breathing)."""
    first = group[0]
    count = len(first.levels)
    width = 0.8 / len(group)
    values = [v for r in group for v in r.metric(metric) if math.isfinite(v)]
    zoom = _zoomed(values)
    floor = f"{metric}_input"
    inputs_shown = False
    for k, result in enumerate(group):
        xs = [i + (k - (len(group) - 1) / 2) * width for i in range(len(result.levels))]
        errors = [level.spread.get(metric, 0.0) for level in result.levels]
        heights = [v if math.isfinite(v) else math.nan for v in result.metric(metric)]
        color = _style(k, len(group))["color"]
        if zoom:
            axis.errorbar(xs, heights, yerr=errors, fmt="o", ms=5, capsize=2, color=color,
                          label=result.method)  # fmt: skip
        else:
            axis.bar(xs, heights, width, yerr=errors, capsize=2, color=color,
                     label=result.method)  # fmt: skip
        for x, value in zip(xs, result.metric(metric), strict=True):
            if math.isinf(value):  # a perfect PSNR: an empty bar would read as the worst
                text = "inf\n(identical)" if value > 0 else "-inf"
                axis.annotate(text, (x, 0), ha="center", va="bottom", fontsize=9)
            elif math.isnan(value):
                axis.annotate("n/a", (x, 0), ha="center", va="bottom", fontsize=7)
        if all(floor in level.values for level in result.levels):
            axis.plot(xs, result.metric(floor), "k_", ms=max(6, 60 * width), mew=2, ls="none")
            if not inputs_shown:  # an empty line for the legend: a tick of legend size
                axis.plot([], [], "k_", ms=10, mew=2, ls="none", label="input (each method's)")
            inputs_shown = True
    axis.set_xticks(range(count), [_x_text(first, i) for i in range(count)])
    axis.set_xlim(-0.5, count - 0.5)  # every level shown, even one whose bars are not drawn
    if zoom:  # a little above 1, so that points at 0.9999 are not cut by the frame
        axis.set_ylim(max(0.0, min(values) - 0.05), 1.0 + ZOOM_HEADROOM)


def _style(k: int, count: int) -> dict:
    """The k-th of ``count`` methods' colour (and dash, past 20): matplotlib's cycle of
    10 colours gave the 1st and 11th method one colour."""
    if count <= 10:
        return {"color": f"C{k}"}
    import matplotlib

    return {"color": matplotlib.colormaps["tab20"](k % 20), "ls": ("-", "--", ":")[k // 20 % 3]}


def _lines(axis, metric: str, group: list[SuiteResult]) -> None:
    first = group[0]
    for k, result in enumerate(group):
        xs = [level.x for level in result.levels]
        axis.plot(xs, result.metric(metric), marker="o", ms=3, label=result.method,
                  **_style(k, len(group)))  # fmt: skip
    floor = first.floor if metric == first.primary else f"{metric}_input"
    if floor and all(floor in level.values for level in first.levels):
        xs = [level.x for level in first.levels]
        one = len(xs) == 1  # a dashed line through one point draws nothing: a tick instead
        axis.plot(xs, first.metric(floor), "k--", lw=1, marker="_" if one else None, ms=14,
                  mew=2, label="input")  # fmt: skip
    if metric in IDEAL_ONE:
        axis.axhline(1.0, color="k", ls=":", lw=1, label="ideal")
    values = [v for result in group for v in result.metric(metric) if math.isfinite(v)]
    xs = [level.x for result in group for level in result.levels]
    if not values:  # nothing measured: say so (matplotlib had no data for its axes)
        axis.text(0.5, 0.3, "no value could be measured", transform=axis.transAxes,
                  ha="center", va="center", fontsize=9)  # fmt: skip
    if first.x_log:
        from matplotlib.ticker import NullFormatter

        axis.set_xscale("log")
        if not values and xs and min(xs) > 0:
            axis.set_xlim(min(xs) / 1.5, max(xs) * 1.5)
        xs = [level.x for level in first.levels]
        if len(xs) <= 8:  # few levels: label each one, no 2x10^0-style minor labels
            axis.set_xticks(xs, [f"{x:.3g}" for x in xs])
            axis.xaxis.set_minor_formatter(NullFormatter())
    bounded = metric.startswith("ssim") or metric.startswith("correlation")  # in [-1, 1]
    if not bounded and min(values, default=0) > 0 and max(values) > 30 * min(values):
        axis.set_yscale("log")  # e.g. MSE over orders of magnitude


def _title(suite: str, metric: str, group: list[SuiteResult]) -> str:
    """The panel's title: the suite (and metric, when a suite has several panels), with
    the scenes per level and alpha where the settings give them."""
    first = group[0]
    single = metric == first.primary and not any(r.plots for r in group)
    head = suite if single else f"{suite}: {metric}"
    settings = first.settings or {}
    details = [
        f"{key} {settings[key]}"
        for key in ("n", "alpha")
        if isinstance(settings.get(key), (int, float)) and not isinstance(settings.get(key), bool)
    ]
    return head + (f" ({', '.join(details)})" if details else "")


def plot(results: Iterable[SuiteResult], path: str | os.PathLike) -> None:
    """One panel per suite and plotted metric, one curve per method, the input floor dashed
    (Oh Fig. 8); suites with named levels (``x_labels``, e.g. tasks) get grouped bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _panels(results)
    count = len(panels)
    columns = min(count, 3)
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    for axis, (suite, metric, group) in zip(axes.flat, panels, strict=False):
        first = group[0]
        (_bars if first.x_labels else _lines)(axis, metric, group)
        axis.set_xlabel(first.x_name if len(first.x_name) < 50 else first.x_name.split(" (")[0])
        axis.set_ylabel(METRIC_LABELS.get(metric, metric))
        axis.set_title(_title(suite, metric, group), fontsize=10)
        axis.grid(True, alpha=0.3)
        if len(group) > LEGEND_INSIDE_MAX:  # beside the panel: inside, it hid the curves
            axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        else:
            axis.legend(fontsize=7, loc="best")
    figure.tight_layout()
    with atomic.atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)
