"""A map of how a structure vibrates: amplitude and phase of motion over a grid of cells.

What matters:

- The region (default: the whole frame) is tiled into ``cols x rows`` cells, and each
  cell's translation is measured per frame as ``motionmag measure`` measures one region
  (:func:`region_motion.region_motions`: one pass over the video, global Lucas-Kanade,
  sub-pixel). A cell must move as one piece, so choose cells smaller than the parts
  that move differently.
- Every cell is read at one frequency (the spectral peak of the cell that moves most, or
  the user's ``--freq``) and along one direction (the major axis of the motion of the
  cell that moves most at that frequency). Each cell's least-squares sinusoids there give
  its amplitude (px) and its phase behind that cell (degrees): the operating deflection
  shape of the structure at that frequency, the picture experimental modal analysis
  draws from accelerometers, here from the video (our addition to the papers, which
  show slices).
- Cells whose amplitude is under ``PHASE_FLOOR`` of the strongest have no meaningful
  phase; the map leaves their phase blank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, UsageError
from .region_motion import MIN_REGION_PX, STILL_PX, RegionMotion, one_sign_per_line
from .rig import peak_frequency_hz, sinusoid_fit
from .spectrum import figure_rgb

#: cells below this fraction of the strongest cell's amplitude get no phase (our choice)
PHASE_FLOOR = 0.1


def grid_cells(
    roi: tuple[int, int, int, int], cols: int, rows: int
) -> list[tuple[int, int, int, int]]:
    """The ``cols x rows`` cells (x, y, w, h) px tiling ``roi``, row by row from the top
    left; edges at whole pixels, so cell sizes differ by at most 1 px."""
    if cols < 1 or rows < 1:
        raise UsageError(f"--grid {cols} {rows} needs at least one column and one row.")
    x, y, w, h = roi
    xs = np.linspace(x, x + w, cols + 1).round().astype(int)
    ys = np.linspace(y, y + h, rows + 1).round().astype(int)
    return [
        (int(xs[c]), int(ys[r]), int(xs[c + 1] - xs[c]), int(ys[r + 1] - ys[r]))
        for r in range(rows)
        for c in range(cols)
    ]


@dataclass
class MotionMap:
    """Amplitude (px) and phase (degrees behind the strongest cell) of every cell's
    motion at ``freq_hz`` along ``direction_deg``; arrays are (rows, cols)."""

    path: str
    cells: list[tuple[int, int, int, int]]
    cols: int
    rows: int
    freq_hz: float
    direction_deg: float
    amplitude_px: np.ndarray  # NaN where the motion was too large to measure
    phase_deg: np.ndarray  # NaN there and where the amplitude is under PHASE_FLOOR of the largest
    strongest: tuple[int, int]  # (row, col) of the phase zero: the largest at freq_hz

    def moving_cells(self) -> np.ndarray:
        """(rows, cols) bool: the cells at or above :data:`PHASE_FLOOR` of the strongest
        cell's amplitude (those with a phase), none when even that one is below
        :data:`~motionmag.eval.region_motion.STILL_PX`."""
        measured = np.nan_to_num(self.amplitude_px, nan=0.0)
        top = float(measured.max(initial=0.0))
        if top < STILL_PX:
            return np.zeros(measured.shape, bool)
        return measured >= PHASE_FLOOR * top

    def median_ratio(self, other: MotionMap) -> float:
        """The median, over the cells where ``other`` moves (:meth:`moving_cells`), of this
        map's amplitude over ``other``'s (the same grid): how many times more this video
        moves, e.g. a magnified output against its input; NaN where ``other`` moves
        nowhere. Still cells are left out: their ratios are of noise (four still cells of
        eight pulled x2.99 down to x2.73; review, stop 59)."""
        moving = other.moving_cells()
        if not moving.any():
            return math.nan
        return float(np.nanmedian(self.amplitude_px[moving] / other.amplitude_px[moving]))

    def to_dict(self) -> dict:
        return {
            "video": self.path,
            "grid": [self.cols, self.rows],
            "freq_hz": self.freq_hz,
            "direction_deg": self.direction_deg,
            # 1-based, as printed ("row 2 column 1") and as the CSV numbers the cells
            "strongest_cell": {"row": self.strongest[0] + 1, "col": self.strongest[1] + 1},
            "cells": [list(c) for c in self.cells],
            "amplitude_px": [
                [None if math.isnan(v) else round(float(v), 6) for v in row]
                for row in self.amplitude_px
            ],
            "phase_deg": [
                [None if math.isnan(v) else round(float(v), 3) for v in row]
                for row in self.phase_deg
            ],
        }


def _phasors(motion: RegionMotion, freq_hz: float) -> np.ndarray:
    """(2,) complex: the x and y sinusoids of the motion at ``freq_hz``, A exp(i phi)
    (:func:`rig.sinusoid_fit`: A cos(2 pi f t - phi), px)."""
    xy = motion.series()
    fits = [sinusoid_fit(xy[:, k], motion.fps, freq_hz) for k in (0, 1)]
    return np.array([amplitude * np.exp(1j * phase) for amplitude, phase in fits])


def _major_axis(phasor: np.ndarray) -> np.ndarray:
    """Unit (x, y) along the longest axis of the ellipse a phasor pair traces, signed as
    a region's (:func:`~motionmag.eval.region_motion.one_sign_per_line`)."""
    _, vectors = np.linalg.eigh(np.real(np.outer(phasor, phasor.conj())))
    return one_sign_per_line(vectors[:, -1])


def motion_map(
    motions: list[RegionMotion],
    cols: int,
    rows: int,
    freq_hz: float | None = None,
    axis: np.ndarray | None = None,
    reference_cell: int | None = None,
) -> MotionMap:
    """The map of ``motions`` (the cells of one video, row by row, from
    :func:`grid_cells`).

    ``freq_hz`` defaults to the spectral peak of the cell with the largest RMS motion.
    Every cell's x and y sinusoids at that frequency are fitted; the cell with the largest
    (``reference_cell`` when given) sets the direction, the major axis of its motion
    (``axis``, a unit (x, y) vector, when given), and the phase zero. Pass another video's
    ``freq_hz``, ``axis`` and ``reference_cell`` to read it on the same terms (a
    magnified output against its input)."""
    if len(motions) != cols * rows:
        raise ValueError(f"{len(motions)} motions for a {cols}x{rows} grid")
    valid = [not m.failed for m in motions]
    if not any(valid) or (reference_cell is not None and not valid[reference_cell]):
        raise InputError(
            f"the motion in '{motions[0].path}' is too large to measure in "
            + ("any cell" if not any(valid) else "the reference cell")
            + ": give fewer --grid columns and rows (larger cells), or a --reference "
            "frame closer in time."
        )
    if freq_hz is None:
        rms = [
            np.sqrt(np.mean(m.along() ** 2)) if ok else -1.0
            for m, ok in zip(motions, valid, strict=True)
        ]
        busiest = motions[int(np.argmax(rms))]
        freq_hz = peak_frequency_hz(busiest.along(), busiest.fps)
    nan = np.full(2, np.nan + 0j)
    phasors = np.stack(
        [_phasors(m, freq_hz) if ok else nan for m, ok in zip(motions, valid, strict=True)]
    )
    strongest = (
        int(np.nanargmax(np.linalg.norm(phasors, axis=1)))
        if reference_cell is None
        else reference_cell
    )
    axis = _major_axis(phasors[strongest]) if axis is None else np.asarray(axis, np.float64)
    along = phasors @ axis
    amplitude = np.abs(along)
    phase = np.degrees(np.angle(along * np.conj(along[strongest])))
    phase[phase <= -179.5] += 360.0  # (-179.5, 180.5]: opposite motion reads 180
    with np.errstate(invalid="ignore"):  # NaN cells compare False; their phase stays NaN
        phase[amplitude < PHASE_FLOOR * max(np.nanmax(amplitude), 1e-12)] = np.nan
    return MotionMap(
        path=motions[0].path,
        cells=[m.roi for m in motions],
        cols=cols,
        rows=rows,
        freq_hz=float(freq_hz),
        direction_deg=math.degrees(math.atan2(axis[1], axis[0])),
        amplitude_px=amplitude.reshape(rows, cols),
        phase_deg=phase.reshape(rows, cols),
        strongest=divmod(strongest, cols),
    )


#: cells up to this many get their value written in them (our choice: legible at 12 in)
ANNOTATE_CELLS = 48


def _rectangle(*args, **kwargs):
    """A matplotlib Rectangle patch (matplotlib is imported only when drawing)."""
    from matplotlib.patches import Rectangle

    return Rectangle(*args, **kwargs)


def _cell_edges(motion: MotionMap) -> tuple[np.ndarray, np.ndarray]:
    """The x and y px edges of the grid's columns and rows (cells tile the region)."""
    xs = [c[0] for c in motion.cells[: motion.cols]]
    ys = [c[1] for c in motion.cells[:: motion.cols]]
    last = motion.cells[-1]
    return np.array([*xs, last[0] + last[2]]), np.array([*ys, last[1] + last[3]])


def _draw_cells(ax, values: np.ndarray, motion: MotionMap, cmap: str, vmin, vmax, text: str):
    """Opaque cells coloured by ``values`` (their colour is the colour bar's) with grid
    lines; NaN cells hatched, so they read as blank, not as a value; each cell's value
    written in it when the grid is small (``text``: a format, e.g. "{:.2f}")."""
    xs, ys = _cell_edges(motion)
    shown = ax.pcolormesh(
        xs, ys, np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=vmax,
        edgecolors="white", linewidth=0.5,
    )  # fmt: skip
    norm, colours = shown.norm, shown.cmap
    for r in range(motion.rows):
        for c in range(motion.cols):
            value = values[r, c]
            x, y = xs[c], ys[r]
            w, h = xs[c + 1] - x, ys[r + 1] - y
            if not np.isfinite(value):
                ax.add_patch(_rectangle((x, y), w, h, hatch="xx", fill=False,
                                           edgecolor="0.35", linewidth=0.0))  # fmt: skip
            elif motion.rows * motion.cols <= ANNOTATE_CELLS:
                luminance = np.dot(colours(norm(value))[:3], (0.299, 0.587, 0.114))
                written = text.format(value)
                written = written.lstrip("-") if float(written) == 0 else written  # not "-0"
                ax.text(x + w / 2, y + h / 2, written, ha="center", va="center",
                        fontsize=8, color="black" if luminance > 0.5 else "white")  # fmt: skip
    return shown


def plot_motion_maps(maps: list[MotionMap], backgrounds: list[np.ndarray]) -> np.ndarray:
    """Per video (a row each): the amplitude map (left) and the phase map (right), opaque
    cells over the video's reference frame (uint8 RGB, seen around the region and through
    blank cells), as an RGB image. Axes in px of the frame; the phase's zero, the
    strongest cell, is framed; blank (hatched) cells moved too far to measure, or, for
    the phase, under :data:`PHASE_FLOOR` of the largest amplitude."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height, width = backgrounds[0].shape[:2]
    size = (12, max(3.4, 6 * height / width + 0.6) * len(maps))
    fig, axes = plt.subplots(len(maps), 2, figsize=size, dpi=100, squeeze=False)
    for (amp_ax, phase_ax), motion, background in zip(axes, maps, backgrounds, strict=True):
        grey = background.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        name = motion.path.rsplit("/", 1)[-1]
        for ax in (amp_ax, phase_ax):
            ax.imshow(grey, cmap="gray", vmin=0, vmax=255)
            ax.set_xlim(0, width)
            ax.set_ylim(height, 0)
            ax.set_xlabel("x (px)", fontsize=9)
            ax.set_ylabel("y (px)", fontsize=9)
            ax.tick_params(labelsize=8)
        largest = (
            float(np.nanmax(motion.amplitude_px)) if np.isfinite(motion.amplitude_px).any() else 1.0
        )
        shown = _draw_cells(amp_ax, motion.amplitude_px, motion, "inferno", 0.0, largest, "{:.2f}")
        fig.colorbar(shown, ax=amp_ax, label="amplitude (px)")
        blank = "; hatched: moved too far" if np.isnan(motion.amplitude_px).any() else ""
        direction = round(motion.direction_deg) or 0
        title = (
            f"{name}: {motion.freq_hz:.2f} Hz, along {direction:d} deg (from +x towards +y, "
            f"image y points down){blank}"
        )
        amp_ax.set_title(textwrap.fill(title, 60), fontsize=9)
        shown = _draw_cells(phase_ax, motion.phase_deg, motion, "hsv", -180.0, 180.0, "{:.0f}")
        fig.colorbar(shown, ax=phase_ax, label="phase behind the reference cell (deg)")
        xs, ys = _cell_edges(motion)
        r, c = motion.strongest
        phase_ax.add_patch(_rectangle((xs[c], ys[r]), xs[c + 1] - xs[c], ys[r + 1] - ys[r],
                                         fill=False, edgecolor="black", linewidth=2.0))  # fmt: skip
        phase_ax.set_title(
            textwrap.fill(
                "phase; framed: the reference cell (0 deg); hatched: under "
                f"{PHASE_FLOOR:.0%} of the largest amplitude",
                60,
            ),
            fontsize=9,
        )
    fig.tight_layout()
    return figure_rgb(fig)


def measure_grid(
    videos: list[str],
    roi: tuple[int, int, int, int] | None,
    cols: int,
    rows: int,
    reference: int = 0,
    fps: float | None = None,
    band: tuple[float, float] | None = None,
    freq_hz: float | None = None,
    quiet: bool = True,
    start_s: float | None = None,
    end_s: float | None = None,
    stabilize: str | None = None,
) -> tuple[list[MotionMap], list[list[RegionMotion]]]:
    """The map of every video, each read at the first video's frequency (``freq_hz``, by
    default its strongest cell's peak) and direction (so a magnified output is mapped on
    its input's terms), and the cells' motions; ``start_s`` / ``end_s``: a time window;
    ``stabilize``: a camera motion model (``region_motions``)."""
    from ..video import probe
    from .region_motion import check_frequency, region_motions
    from .spectrum import check_roi

    info = probe(videos[0], fps=fps)
    cells = grid_cells(check_roi(roi, info.width, info.height), cols, rows)
    smallest = min(min(w, h) for _, _, w, h in cells)
    if smallest < MIN_REGION_PX:
        raise UsageError(
            f"a {cols}x{rows} grid makes cells of {smallest} px: give fewer columns or rows "
            f"(cells need at least {MIN_REGION_PX} px a side)."
        )
    per_video = [
        region_motions(v, cells, reference, fps, band, quiet, True, start_s, end_s, stabilize)
        for v in videos
    ]
    check_frequency(freq_hz, per_video[0][0].fps)
    first = motion_map(per_video[0], cols, rows, freq_hz)
    angle = math.radians(first.direction_deg)
    axis = np.array([math.cos(angle), math.sin(angle)])
    cell = first.strongest[0] * cols + first.strongest[1]
    maps = [first] + [motion_map(m, cols, rows, first.freq_hz, axis, cell) for m in per_video[1:]]
    return maps, per_video


def format_map(motion: MotionMap) -> str:
    """The map as text: the reference cell (the phase zero: the cell that moves most, in
    the first video), and amplitude / phase tables."""
    row, col = motion.strongest
    lines = [
        f"{motion.path}: {motion.cols}x{motion.rows} cells at {motion.freq_hz:.3f} Hz along "
        f"{round(motion.direction_deg) or 0:d} deg; reference cell row {row + 1} column "
        f"{col + 1}: {motion.amplitude_px[row, col]:.4f} px"
    ]
    failed = int(np.isnan(motion.amplitude_px).sum())
    if failed:
        lines.append(
            f"  {failed} cell(s) moved too far to be measured (more than a quarter of the "
            "cell): shown as x"
        )
    lines.append("  amplitude (px), rows top to bottom:")
    lines += [
        "    " + " ".join("      x" if math.isnan(a) else f"{a:7.4f}" for a in r)
        for r in motion.amplitude_px
    ]
    lines.append("  phase behind the reference cell (deg; - under 10 % of the largest amplitude):")
    lines += [
        "    "
        + " ".join(
            "      x" if math.isnan(a) else "      -" if math.isnan(p) else f"{round(p) or 0:7d}"
            for a, p in zip(amplitudes, r, strict=True)
        )
        for amplitudes, r in zip(motion.amplitude_px, motion.phase_deg, strict=True)
    ]
    return "\n".join(lines)


def reference_frame(motion: RegionMotion, fps: float | None = None) -> np.ndarray:
    """The frame ``motion`` was measured against (uint8 RGB): the maps' background."""
    from ..video import VideoReader

    first = round(motion.start_s * motion.fps)  # the window's first frame (measure --start)
    with VideoReader(motion.path, fps=fps) as reader:
        return next(iter(reader.frames(first + motion.reference)))
