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

from .. import __version__
from ..errors import InputError
from .results import SuiteResult

#: metrics for which lower is better (the table marks the better side)
LOWER_IS_BETTER = {"mse", "motion_error", "magnification_error", "background_change"}


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e5):
        return f"{value:.3g}"
    if magnitude >= 100:
        return f"{value:.1f}"
    return f"{value:.4f}"


def format_table(results: Iterable[SuiteResult]) -> str:
    """Plain-text table: per suite, one row per level, one column per method (+ floor)."""
    by_suite: dict[str, list[SuiteResult]] = {}
    for result in results:
        by_suite.setdefault(result.suite, []).append(result)
    blocks = []
    for suite, group in by_suite.items():
        first = group[0]
        better = "lower" if first.primary in LOWER_IS_BETTER else "higher"
        header = [first.x_name] + [r.method for r in group]
        if first.floor:
            header.append(f"input ({first.floor})")
        rows = []
        for i, level in enumerate(first.levels):
            row = [f"{level.x:.4g}"]
            row += [_fmt(r.levels[i].values.get(r.primary)) if i < len(r.levels) else "-"
                    for r in group]
            if first.floor:
                row.append(_fmt(level.values.get(first.floor)))
            rows.append(row)
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
        lines = [f"{suite}: {first.primary} ({better} is better)"]
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
    """Write atomically (temporary file, then rename)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(document, indent=1, allow_nan=True) + "\n")
    os.replace(temporary, path)


def read_json(path: str | os.PathLike) -> list[SuiteResult]:
    """Suite results saved by ``--json`` (for ``--compare``)."""
    try:
        document = json.loads(Path(path).read_text())
        return [SuiteResult.from_dict(r) for r in document["results"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"cannot read evaluation results from {path} ({error}): "
            "pass a file written by `motionmag eval --json`."
        ) from None


def plot(results: Iterable[SuiteResult], path: str | os.PathLike) -> None:
    """One panel per suite, one curve per method, the input floor dashed (Oh Fig. 8)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    by_suite: dict[str, list[SuiteResult]] = {}
    for result in results:
        by_suite.setdefault(result.suite, []).append(result)
    count = len(by_suite)
    columns = min(count, 3)
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    for axis, (suite, group) in zip(axes.flat, by_suite.items(), strict=False):
        first = group[0]
        for result in group:
            xs = [level.x for level in result.levels]
            axis.plot(xs, result.metric(result.primary), marker="o", ms=3, label=result.method)
        if first.floor:
            xs = [level.x for level in first.levels]
            axis.plot(xs, first.metric(first.floor), "k--", lw=1, label="input")
        if first.x_log:
            axis.set_xscale("log")
            xs = [level.x for level in first.levels]
            if len(xs) <= 8:  # few levels: label each one, no 2x10^0-style minor labels
                axis.set_xticks(xs, [f"{x:.3g}" for x in xs])
                axis.xaxis.set_minor_formatter(NullFormatter())
        values = [v for result in group for v in result.metric(result.primary)]
        if min(values, default=0) > 0 and max(values) > 30 * min(values):
            axis.set_yscale("log")  # e.g. MSE over orders of magnitude
        axis.set_xlabel(first.x_name)
        axis.set_ylabel(first.primary)
        axis.set_title(suite)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
    figure.savefig(temporary, dpi=110)
    plt.close(figure)
    os.replace(temporary, path)
