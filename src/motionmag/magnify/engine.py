"""Run a magnifier over a video file: probe, check, stream, write, never leave a partial file.

What matters: every argument and input problem is found before the first frame is
processed where it can be (probe, output checks, band against the real frame rate,
reference against the frame count), and anything found later (a truncated file, too
few frames) aborts the writer so no partial output remains. Frames stream through in
O(window) memory; the input is only ever opened for reading.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import InputError, UsageError
from ..output_paths import check_output_path, require_path
from ..video import VideoInfo, VideoReader, VideoWriter, output_kind, probe, side_by_side
from ..video.reader import gap_advice, rate_mismatch, uneven_spacing
from .config import MagnifyConfig
from .frame_memory import check_clip_fits_memory, check_frame_fits_memory
from .geometry import FrameGeometry
from .mask import blend, load_mask
from .registry import build_magnifier, with_default_band
from .stabilize import StabilizedPairs, check_stabilize
from .stream import PairedMagnifier
from .trim import TimeWindow


@dataclass
class MagnifyResult:
    """What a run produced: where, how many frames, at what rate and size, and notes."""

    output: str
    frames: int
    fps: float
    width: int
    height: int
    method: str
    notes: list[str] = field(default_factory=list)


def magnify_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    config: MagnifyConfig,
    *,
    mask: str | os.PathLike | np.ndarray | None = None,
    resize: str | tuple[int, int] | None = None,
    crop: tuple[int, int, int, int] | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    side_by_side_output: bool = False,
    stabilize: str | None = None,
    keep_stabilized: bool = False,
    overwrite: bool = False,
    quiet: bool = False,
) -> MagnifyResult:
    """Magnify ``input_path`` into ``output_path`` (container by extension, see video/).

    ``stabilize``: a global motion model (``magnify/stabilize.py``) to register every
    frame to the first with before magnifying; the output is warped back unless
    ``keep_stabilized``.
    """
    for what, value in (("input", input_path), ("output", output_path)):
        require_path(value, what, "frames in memory: magnify_frames")
    output_text = os.fspath(output_path)  # keeps a trailing '/' (a PNG folder)
    input_path, output_path = Path(input_path), Path(output_path)
    kind = output_kind(output_text)  # an unsupported extension fails before any work
    config.validate()
    check_stabilize(stabilize, keep_stabilized)
    info = probe(input_path, fps=config.fps)
    check_output_path(
        output_text, overwrite=overwrite, inputs=(input_path,), folder_output=kind == "png"
    )
    fps_given = config.fps is not None  # --fps: the user's rate, checked against no file
    if config.fps is None:
        config.fps = float(info.fps)
    if info.frame_count is not None and info.frame_count < 2:
        raise InputError(
            f"'{input_path}' has {info.frame_count} frame(s): magnification needs at least "
            "two; give a longer video."
        )
    window = TimeWindow.from_seconds(start_s, end_s, config.fps, info.duration_s, f"'{input_path}'")
    # an estimated count (from the duration) may be off by one: the selector checks exactly
    known = window.count(info.frame_count if info.frame_count is not None else info.expected_frames)
    slack = 0 if info.frame_count is not None else 1
    if (
        config.resolved_mode() == "static"
        and known is not None
        and config.reference >= known + slack
    ):
        raise UsageError(
            f"reference frame {config.reference} is beyond the end of '{input_path}' "
            f"({known} frames): choose a smaller --reference."
        )
    geometry = FrameGeometry.from_arguments(info.width, info.height, crop, resize)
    width, height = geometry.size
    check_frame_fits_memory(width, height)
    weights = load_mask(mask, geometry) if mask is not None else None
    config = dataclasses.replace(config, frame_geometry=geometry)
    magnifier = PairedMagnifier(build_magnifier(config))  # checks the band against fps
    needed = magnifier.magnifier.frames_needed
    if known is not None and known + slack < needed:
        raise UsageError(
            f"{config.method} needs at least {needed} frames ({needed / config.fps:.1f} s at "
            f"{config.fps:g} fps) for its zero-phase band-pass, and '{input_path}' has "
            f"{known} here: give a longer clip, or a longer --start/--end window."
        )
    if known is not None:  # a whole-clip method holds every frame: before any is read
        check_clip_fits_memory(config.method, known, width, height,
                               magnifier.magnifier.clip_bytes_per_pixel)  # fmt: skip
    if stabilize is not None:
        # register on what is not magnified: the mask's complement
        still = None if weights is None else 1.0 - weights
        magnifier = StabilizedPairs(magnifier, stabilize, keep_stabilized, still)
    magnifier.magnifier.prepare(height, width)  # size-bound settings, before any frame
    gap_px = 4
    out_width = 2 * width + gap_px if side_by_side_output else width
    labels = ["input", f"{config.method} x{config.alpha:g}"]

    def finish(original: np.ndarray, out: np.ndarray) -> np.ndarray:
        if weights is not None:
            out = blend(original, out, weights)
        if side_by_side_output:
            out = side_by_side([original, out], labels=labels, gap_px=gap_px)
        return out

    # the file's own rate, even under --fps (which sets the rate the band is read in, not
    # how fast the file plays, so frames and sound stay in step); a folder plays at info.fps
    output_fps = info.stated_fps or info.fps
    frames = 0
    with (
        VideoReader(input_path, fps=config.fps if fps_given else None) as reader,
        VideoWriter(
            output_text,
            output_fps,
            out_width,
            height,
            audio_from=str(input_path),
            audio_start_s=float(window.first / output_fps),
            overwrite=overwrite,
            sample_aspect_ratio=geometry.pixel_aspect(info.sample_aspect_ratio),
        ) as writer,
        tqdm(
            total=window.count(info.expected_frames),
            disable=quiet,
            file=sys.stderr,
            unit="frame",
            desc=f"{config.method} x{config.alpha:g}",
            dynamic_ncols=True,
        ) as bar,
    ):
        times_s: deque[Fraction | None] = deque()  # of the frames not yet written
        for frame in reader.frames(window.first, window.stop, window.seconds):
            if geometry.changes_frames:
                frame = geometry.apply(frame)
            times_s.append(reader.last_time_s)
            for original, out in magnifier.push(frame):
                writer.write(finish(original, out), times_s.popleft())
            frames += 1
            bar.update(1)
        window.check_frames(frames, 2, f"'{input_path}'", "magnification")
        for original, out in magnifier.flush():
            writer.write(finish(original, out), times_s.popleft())
        written = writer.frames_written
        intervals_s = reader.frame_interval_range_s
        mean_interval_s = reader.mean_interval_s
    if written != frames:  # pragma: no cover - a magnifier bug, never a user error
        raise RuntimeError(f"wrote {written} frames for {frames} input frames")
    # the written file's rate: the file's own (--fps only sets the band's), or the rate its
    # frames are really spaced at when that is another (they keep their times)
    real_fps = None if kind == "png" else rate_mismatch(intervals_s, mean_interval_s, output_fps)
    return MagnifyResult(
        output=output_text,
        frames=frames,
        fps=float(real_fps or output_fps),
        width=out_width,
        height=height,
        method=config.method,
        notes=list(writer.notes)
        + _audio_notes(writer.audio_past_end_s, window, input_path)
        + ([magnifier.aligner.report.note()] if stabilize is not None else [])
        + list(magnifier.magnifier.notes)
        + _rotation_notes(info)
        + _alpha_notes(info)
        + alpha_range_notes(config)
        + _band_notes(config, frames)
        + _timing_notes(
            config, intervals_s, None if fps_given else mean_interval_s, input_path, kind
        ),
    )


#: audio running this much past the last frame is noted (s; ours: beyond a stray packet)
AUDIO_PAST_END_NOTE_S = 0.5


def _audio_notes(past_end_s: float, window: TimeWindow, input_path: Path) -> list[str]:
    """A note when the input's audio ran on past its last frame and was cut there (not
    when ``--end`` asked for the cut)."""
    if window.stop is not None or past_end_s < AUDIO_PAST_END_NOTE_S:
        return []
    return [
        f"the audio of '{input_path.name}' runs {past_end_s:.1f} s past its last frame: "
        "the output's audio ends with its video"
    ]


def _timing_notes(
    config: MagnifyConfig,
    intervals_s: tuple[float, float] | None,
    mean_interval_s: float | None,
    input_path: Path,
    kind: str,
) -> list[str]:
    """Notes on frames not spaced at the rate they are read at. The output keeps every
    frame's own time (``VideoWriter.write(frame, time_s)``), so only what cannot follow
    them is noted: a temporal filter (designed for one rate) and a PNG folder (no times).

    - Frames not evenly spaced (variable rate, dropped frames; our check,
      ``reader.uneven_spacing``: intervals differing by more than 25 % and 3 ms).
    - Frames evenly spaced at another rate than the file states (30 fps with frames
      40 ms apart; ``reader.rate_mismatch``, more than 2 % off). Not checked under
      ``--fps`` (``mean_interval_s`` None): a high-speed camera's 240 fps on a file stored
      at 30 is meant to differ from the spacing."""
    name = input_path.name
    if uneven_spacing(intervals_s):
        low, high = intervals_s
        head = (
            f"frames of '{name}' are not evenly spaced in time (from {1000 * low:.0f} to "
            f"{1000 * high:.0f} ms apart)"
        )
        band = (
            f"the temporal filter assumes {config.fps:g} fps throughout, so the band is "
            f"approximate{gap_advice(intervals_s)}"
        )
        tail = "; re-encode at a constant rate first (e.g. ffmpeg -i IN -fps_mode cfr OUT)."
    else:
        real = rate_mismatch(intervals_s, mean_interval_s, config.fps)
        if real is None:
            return []
        head = (
            f"frames of '{name}' are {1000 * mean_interval_s:.1f} ms apart ({real:.4g} fps) "
            f"but the file states {config.fps:g} fps"
        )
        band = None
        if config.band is not None:
            low_hz, high_hz = (edge * real / config.fps for edge in config.band)
            band = (
                f"the band is read at {config.fps:g} fps, so the filter passes {low_hz:.3g}-"
                f"{high_hz:.3g} Hz; pass --fps {real:.4g} to read it at the frames' own rate"
            )
        tail = "."
    parts = [band] if band is not None and config.resolved_mode() == "temporal" else []
    if kind == "png":
        parts.append("a PNG folder keeps no frame times, so it plays at one constant rate")
    return [f"{head}: " + "; ".join(parts) + tail] if parts else []


def _rotation_notes(info: VideoInfo) -> list[str]:
    """A note when the input is stored on its side (a phone's orientation tag): it is read
    upright, as a player shows it."""
    if not info.quarter_turns:
        return []
    turn = {1: "90 degrees counterclockwise", 2: "180 degrees", 3: "90 degrees clockwise"}
    return [
        f"'{Path(info.path).name}' is shown turned {turn[info.quarter_turns]} (a phone's "
        "orientation tag): it is read and written upright, as a player shows it, and "
        "--roi, --crop and --mask refer to that picture."
    ]


def _alpha_notes(info: VideoInfo) -> list[str]:
    """A note when the input's frames carry transparency: it is dropped (our frames are
    RGB), so what a player would show through transparent pixels is lost."""
    if not info.has_alpha:
        return []
    return [
        f"'{Path(info.path).name}' has a transparency (alpha) channel: it is dropped, so "
        "transparent pixels show the colour stored under them and the output is opaque."
    ]


def _weights_card(config: MagnifyConfig) -> dict | None:
    """The model card of the weights a learned method will run (``--set weights``, or
    the shipped ones); None for classical methods."""
    from ..models.registry import list_models, model_card, read_card

    if config.method not in list_models():
        return None
    weights = config.options.get("weights")
    return read_card(Path(weights).with_suffix(".json")) if weights else model_card(config.method)


def trained_alpha_top(config: MagnifyConfig, card: dict | None = None) -> float | None:
    """The largest alpha a learned method's weights were trained on, from their model
    card (the synthetic generator's ``alpha_range``; ``card``: the card already read,
    else it is read here); None for classical methods, cards without one, and
    ``flowmag`` (it applies itself twice above its range)."""
    if config.method == "flowmag":
        return None
    card = card if card is not None else _weights_card(config)
    generator = ((card or {}).get("data") or {}).get("generator_config") or {}
    try:
        top = float(generator.get("alpha_range")[1])
    except (TypeError, ValueError, IndexError, KeyError):  # no range, or a card of other shape
        return None
    return top if top > 1 else None


#: the known-answer goal (issue 8): a static gain of 8.5-11.5 for x10, as a fraction
KNOWN_ANSWER_FLOOR = 0.85


def alpha_range_notes(config: MagnifyConfig) -> list[str]:
    """Notes from the learned method's model card (our checks): alpha beyond what the
    weights were trained on (the network extrapolates there), and weights whose
    known-answer gain is below the goal (early weights, which may even shrink a
    smaller motion: sigma-theta's, x1.15 for x10, ran silently)."""
    notes = []
    card = _weights_card(config) or {}  # read once: Stream.notes is asked often
    top = trained_alpha_top(config, card)
    if top is not None and config.alpha > top:
        notes.append(
            f"alpha {config.alpha:g} is beyond the 1-{top:g} that the {config.method} weights "
            "were trained on: the network extrapolates there, so check the output for "
            "artifacts and for less magnification than asked."
        )
    known = card.get("known_answers") or {}
    try:
        gain, asked = float(known["static_gain"]), float(known["alpha"])
    except (KeyError, TypeError, ValueError):
        return notes
    if config.alpha > 1 and gain < KNOWN_ANSWER_FLOOR * asked:
        notes.append(
            f"these {config.method} weights are early: on the known-answer photo moved "
            f"0.3 px they magnify x{gain:.2g} for x{asked:g} (the goal is "
            f"{KNOWN_ANSWER_FLOOR * asked:g}-{(2 - KNOWN_ANSWER_FLOOR) * asked:g}), and "
            "smaller motions may come out smaller still, even below the input's: check "
            "the output with motionmag measure, or use ha2024 or phase."
        )
    return notes


def _band_notes(config: MagnifyConfig, frames: int) -> list[str]:
    """Notes on what the temporal filter will really pass (our checks): a band whose low
    edge has a period longer than the whole clip (no filter can pick it out of so few
    frames), and the filters that miss the band asked for (:func:`_filter_notes`)."""
    filtered = with_default_band(config)  # DeepMag's own band when none is given
    band = filtered.band
    if filtered.resolved_mode() != "temporal" or band is None or not config.fps:
        return []
    seconds, period = frames / config.fps, 1.0 / band[0]
    notes = filter_notes(config)
    if seconds >= period:
        return notes
    return [
        f"the clip lasts {seconds:.2g} s, less than one period of the band's low edge "
        f"({period:.2g} s at {band[0]:g} Hz): the band is not resolved, so the "
        "magnified motion is approximate; use a longer clip or a higher --band.",
        *notes,
    ]


#: a filter's gain at the band's centre below this, or its -3 dB band this much wider than
#: the one asked for, is noted (our thresholds)
CENTRE_GAIN_NOTED, BAND_WIDENING_NOTED = 0.9, 1.25


def filter_notes(config: MagnifyConfig) -> list[str]:
    """Notes on a temporal filter that misses the ``--band`` given (:func:`_filter_notes`):
    for ``magnify``'s file path and the streams of ``magnify_frames``, ``Stream`` and
    ``live`` alike. None for a method's own band or for ``acceleration``'s."""
    if (
        config.band is None
        or config.method == "acceleration"
        or not config.fps
        or config.resolved_mode() != "temporal"
    ):
        return []
    return _filter_notes(config)


def _filter_notes(config: MagnifyConfig) -> list[str]:
    """``fir``: a note when its length (capped at 255 frames by default) is too short to
    pass the band's centre (geometric mean) fully, which lowers the magnification there;
    ``diff-iir``: a note when its -3 dB band is much wider than ``--band``."""
    from ..temporal import DifferenceOfIIRSelector, default_fir_taps, fir_bandpass_taps
    from ..temporal.fir import fir_gain

    low, high = config.band
    if config.filter_kind == "fir":
        taps = config.fir_taps or default_fir_taps(low, config.fps)
        centre = math.sqrt(low * high)
        gain = fir_gain(fir_bandpass_taps(low, high, config.fps, taps), centre, config.fps)
        if gain >= CENTRE_GAIN_NOTED:
            return []
        # the filtered part is what alpha - 1 multiplies: the motion comes out
        # 1 + gain (alpha - 1) times the input's, not gain x alpha
        got = 1.0 + gain * (config.alpha - 1.0)
        return [
            f"the fir filter's {taps} taps are too few for a band this low: it passes "
            f"{gain:.0%} of the motion at {centre:.3g} Hz, so the magnification there is "
            f"about {got:.3g}x, not {config.alpha:g}x; give --fir-taps "
            "with more frames, or use --filter butter."
        ]
    if config.filter_kind == "diff-iir" and "iir_coefficients" not in config.options:
        passed = DifferenceOfIIRSelector.from_band(low, high, config.fps).half_power_band(
            config.fps
        )
        if passed[0] * BAND_WIDENING_NOTED >= low and passed[1] <= high * BAND_WIDENING_NOTED:
            return []
        return [
            f"the diff-iir filter passes {passed[0]:.3g}-{passed[1]:.3g} Hz at -3 dB for "
            f"--band {low:g} {high:g} (two first-order smoothers cannot cut sharper): use "
            "--filter butter to keep to the band."
        ]
    return []
