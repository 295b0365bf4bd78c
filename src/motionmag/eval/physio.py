"""DeepMag's evaluation on synthetic physiological videos (Chen and McDuff 2018, Tables 1-2).

What matters:

- **Held-out videos with exact truth.** Videos ``0 .. n-1`` of the TEST split of
  :mod:`motionmag.synth.physio` (textures from photos no training video used), rendered
  under each head-motion task A-D (still; yaw sweeps at 10 and 30 deg/s; a random
  re-orientation once per second). Video ``i`` is the same "participant" with the same
  pulse and breathing under the four tasks, so the tasks differ only by head motion.
- **The target follows the method.** Colour methods (:data:`COLOUR_METHODS`) magnify the
  pulse, band 0.7-2.5 Hz, scored on the skin; every other method (``phase``,
  ``acceleration``, ...) magnifies the breathing, band 0.16-0.5 Hz, scored on the chest
  (the paper's pairing: EVM for the pulse, phase-EVM for the breathing, Sec. 5). Every
  method gets the same band, ``alpha`` (total factor; DeepMag's via its calibration)
  and, for the classical ones, the zero-phase FIR band-pass (``filter='fir'``; DeepMag's
  own filter is zero-phase too, Eq. 16 and 22). So ``deepmag-motion``, ``phase`` and
  ``acceleration`` side by side are scored on the same breathing, chest and band.
- **The scores** (:mod:`.physio_measures`): ``psnr_db``, ``ssim`` against the input
  (artifacts, Table 1), ``ssim_away`` (away from the target region), ``gain`` and
  ``correlation`` of the magnified signal with the truth (``correlation_input`` the
  input's). For the pulse also the same scores on the motion-compensated skin colour
  (``gain_compensated``, ``correlation_compensated``: the output minus a pulse-free render
  of the same scene, so head shading cancels) and ``correlation_ideal`` (a render with
  the pulse x alpha: the best any method can score on the mean skin colour). Means over
  the videos per task, standard deviations in ``spread``.
- **Two suites.** ``physio-tasks``: levels = tasks A-D at one alpha (Table 1).
  ``physio-gamma``: DeepMag only (``deepmag-color`` on the pulse, ``deepmag-motion`` on
  the breathing), Task C as in the paper, levels = step size gamma x 0.5, 1, 2, 4 at
  N = 20 (Table 2 and Fig. 6; the paper's gamma 6e-5 for colour, 3.6e-3 rad for
  motion), the calibration's expected gain beside the measured one. The group
  ``physio`` runs both.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..errors import UsageError
from ..synth.physio import (
    PhysioConfig,
    PhysioVideo,
    make_physio_video,
    render_physio_with_references,
    sample_physio_params,
)
from ..synth.physio_signals import TASKS
from .physio_measures import (
    PULSE_BAND_HZ,
    RESPIRATION_BAND_HZ,
    pulse_scores,
    respiration_scores,
)
from .results import Level, SuiteResult

#: methods that magnify colour (the pulse); every other method magnifies motion (breathing)
COLOUR_METHODS = ("color", "deepmag-color")

#: the default alpha here: inside the calibrated ranges of deepmag-color (1.9-6.5) and
#: deepmag-motion (see its model card)
DEFAULT_ALPHA = 3.0

#: held-out videos per task (each ~10 s of compute per method on 2 cores at 128 px)
DEFAULT_N = 3
DEFAULT_SIZE_PX = 128

#: DeepMag's step multiples of Table 2 / Fig. 6, the paper's gamma and N (Sec. 5.1)
GAMMA_MULTIPLES = (0.5, 1.0, 2.0, 4.0)
PAPER_GAMMA = 6e-5
PAPER_N_ITER = 20
#: the paper's step per DeepMag method (Sec. 5.1 and 5.2)
PAPER_GAMMAS = {"deepmag-color": PAPER_GAMMA, "deepmag-motion": 3.6e-3}
GAMMA_TASK = "C"

#: the metrics of a level, in table order
METRICS = ("psnr_db", "ssim", "ssim_away", "gain", "correlation", "correlation_input")


@dataclass(frozen=True)
class Target:
    """What a method is asked to magnify and how long the clips are (our choice)."""

    name: str
    band_hz: tuple[float, float]
    duration_s: float
    region: str  # where the signal is read and "away" is measured from


PULSE = Target("pulse", PULSE_BAND_HZ, 20.0, "skin")
RESPIRATION = Target("respiration", RESPIRATION_BAND_HZ, 30.0, "chest")


def target_for(method_name: str) -> Target:
    """Pulse for :data:`COLOUR_METHODS`, breathing for the rest."""
    return PULSE if method_name in COLOUR_METHODS else RESPIRATION


#: the pulse's extra scores, against renders of the same scene (physio_measures.pulse_scores)
PULSE_EXTRA = (
    "gain_compensated",
    "correlation_compensated",
    "correlation_compensated_input",
    "correlation_ideal",
)


def pulse_references(
    index: int, seed: int, config: PhysioConfig, alpha: float
) -> tuple[PhysioVideo, tuple[np.ndarray, np.ndarray]]:
    """Test video ``index`` and its references for the pulse's extra scores, in one
    render: the noise-free scene without the pulse (float) and the scene with the pulse x
    ``alpha`` (uint8, same noise); see :func:`synth.physio.render_physio_with_references`."""
    params = sample_physio_params(index, seed, config, "test")
    video, free, ideal = render_physio_with_references(params, alpha)
    return video, (free, ideal)


def score_video(
    video,
    out: np.ndarray,
    target: Target,
    alpha: float,
    references: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """The scores of one magnified video (``PhysioVideo``) for its target; ``references``
    (:func:`pulse_references`) add the pulse's compensated and ideal scores."""
    out = np.asarray(out)
    if out.shape != video.frames.shape:
        raise ValueError(f"the method returned shape {out.shape}, expected {video.frames.shape}")
    if target is PULSE:
        free, ideal = references if references is not None else (None, None)
        return pulse_scores(video, out, target.band_hz, pulse_free=free, ideal=ideal)
    return respiration_scores(video, out, alpha, target.band_hz)


def _level(x: float, rows: list[dict[str, float]], extra: Sequence[str] = ()) -> Level:
    """Means (std in ``spread``) over the videos; an infinite PSNR (output = input) has
    spread 0 when every video's is infinite."""
    names = [*METRICS, *extra]
    values = {m: float(np.mean([r[m] for r in rows])) for m in names}
    spread = {}
    for m in names:
        column = np.array([r[m] for r in rows], np.float64)
        finite = column[np.isfinite(column)]
        spread[m] = float(finite.std()) if len(finite) == len(column) else 0.0
    return Level(x=x, values=values, n=len(rows), spread=spread)


def _check(n: int, size_px: int, duration_s: float | None) -> None:
    if n < 1:
        raise UsageError(f"n must be at least 1 video per task, not {n}.")
    if size_px < 48:
        raise UsageError(f"physio videos need at least 48 px, not {size_px}: use --size 48+.")
    if duration_s is not None and duration_s <= 0:
        raise UsageError(f"duration_s must be positive, not {duration_s}.")


def _bar(total: int, desc: str, progress: bool):
    return tqdm(total=total, desc=desc, unit="clip", file=sys.stderr, disable=not progress)


def run_physio_tasks(
    method,
    n: int = DEFAULT_N,
    seed: int = 0,
    size_px: int = DEFAULT_SIZE_PX,
    progress: bool = True,
    alpha: float = DEFAULT_ALPHA,
    duration_s: float | None = None,
    tasks: Sequence[str] = TASKS,
) -> SuiteResult:
    """Table 1 on synthetic videos (suite ``physio-tasks``): levels = head-motion tasks.

    Args:
        method: ``runner.MethodUnderTest`` (``name``, ``supports``, ``clip``).
        n: test-split videos per task (indices ``0 .. n-1``).
        seed: dataset seed of the videos.
        size_px: frame side.
        alpha: total factor of the target signal.
        duration_s: clip length (default: the target's, 20 s pulse, 30 s breathing).
        tasks: subset of A-D.
    """
    _check(n, size_px, duration_s)
    if not method.supports("temporal"):
        raise UsageError(f"method '{method.name}' has no temporal mode: physio needs a band.")
    target = target_for(method.name)
    duration = float(duration_s or target.duration_s)
    extra = PULSE_EXTRA if target is PULSE else ()
    headline = ("correlation_compensated",) if extra else ()  # plotted and in the summary
    rows: dict[str, list[dict]] = {task: [] for task in tasks}
    with _bar(n * len(tasks), f"physio {method.name}", progress) as bar:
        for task in tasks:
            config = PhysioConfig(size_px=size_px, task=task, duration_s=duration)
            for index in range(n):
                if extra:
                    video, references = pulse_references(index, seed, config, alpha)
                else:
                    video, references = make_physio_video(index, seed, config, "test"), None
                out = method.clip(
                    video.frames, alpha, mode="temporal", fps=video.fps,
                    band=target.band_hz, filter="fir",
                )  # fmt: skip
                rows[task].append(score_video(video, out, target, alpha, references))
                bar.update(1)
    levels = [_level(float(i), rows[task], extra) for i, task in enumerate(tasks)]
    result = SuiteResult(
        suite="physio-tasks",
        method=f"{method.name} (alpha {alpha:g})",
        x_name="task (head motion: A still, B 10 deg/s, C 30 deg/s, D random 1/s)",
        x_log=False,
        primary="ssim",
        floor=None,
        levels=levels,
        x_labels=list(tasks),
        table=[*METRICS, *extra],
        plots=["psnr_db", "ssim", "ssim_away", "correlation", *headline],
        settings={
            "n": n,
            "seed": seed,
            "split": "test",
            "size_px": size_px,
            "duration_s": duration,
            "tasks": list(tasks),
            "alpha": float(alpha),
            "target": target.name,
            "band_hz": list(target.band_hz),
            "filter": "fir (classical methods; DeepMag: its zero-phase Butterworth)",
            "region": target.region,
        },
        notes=[
            f"target {target.name}, band {target.band_hz[0]:g}-{target.band_hz[1]:g} Hz, "
            f"alpha {alpha:g}, {n} test video(s) per task of {duration:g} s at {size_px} px; "
            f"ssim_away: farther than 8 px from the {target.region} in every frame."
        ],
    )
    result.summary = {
        f"{m}_{task}": result.levels[i].values[m]
        for m in ("ssim", "correlation", *headline)
        for i, task in enumerate(tasks)
    }
    return result


def _expected_gain(calibration: dict | None, n_gamma: float) -> float:
    """The model card's mean calibrated gain at ``N gamma`` (NaN without a curve)."""
    curve = (calibration or {}).get("curve")
    if not curve:
        return float("nan")
    xs = [0.0] + [float(p["n_gamma"]) for p in curve]
    ys = [1.0] + [float(p["gain"]) for p in curve]
    return float(np.interp(n_gamma, xs, ys))


def run_physio_gamma(
    method,
    n: int = DEFAULT_N,
    seed: int = 0,
    size_px: int = DEFAULT_SIZE_PX,
    progress: bool = True,
    alpha: float | None = None,
    duration_s: float | None = None,
    multiples: Sequence[float] = GAMMA_MULTIPLES,
    task: str = GAMMA_TASK,
    method_factory: Callable | None = None,
) -> SuiteResult:
    """Table 2 on synthetic videos (suite ``physio-gamma``): DeepMag's step size sweep.

    Levels = ``gamma / paper gamma`` with N = 20 on Task C (the pulse for
    ``deepmag-color``, gamma 6e-5; the breathing for ``deepmag-motion``, gamma 3.6e-3
    rad, 30 s videos). ``alpha`` is ignored (the
    step replaces it). ``method_factory(options)`` builds the method with extra options
    (default: ``MethodUnderTest(method.name, method.device, {**method.options, **options})``).
    Values as :func:`run_physio_tasks` plus ``gain_calibrated``: the gain the model card's
    calibration expects at that ``N gamma`` (measured on train videos, 10 s).
    """
    del alpha  # the step is the sweep
    _check(n, size_px, duration_s)
    if method.name not in PAPER_GAMMAS:
        raise UsageError(
            f"physio-gamma sweeps DeepMag's step size: method '{method.name}' has none "
            f"(use {' or '.join(PAPER_GAMMAS)})."
        )
    paper_gamma = PAPER_GAMMAS[method.name]
    from ..models.registry import model_card
    from .runner import MethodUnderTest

    if method_factory is None:

        def method_factory(options: dict):
            merged = {**getattr(method, "options", {}), **options}
            return MethodUnderTest(method.name, getattr(method, "device", "cpu"), merged)

    from ..deepmag.calibration import calibration_for
    from ..deepmag.magnify import GATE_SIGMAS, SMOOTH_CELLS, STEP, WEIGHT_SMOOTH_S

    settings: tuple = (None,)  # deepmag-motion: its card's one calibration
    if method.name == "deepmag-color":  # the calibration of the options being run
        options = getattr(method, "options", {})
        settings = (
            float(options.get("smooth_cells", SMOOTH_CELLS)),
            float(options.get("gate_sigmas", GATE_SIGMAS)),
            str(options.get("step", STEP)),
            float(options.get("weight_smooth_s", WEIGHT_SMOOTH_S)),
        )
    calibration = calibration_for(model_card(method.name), *settings)
    target = target_for(method.name)
    duration = float(duration_s or target.duration_s)
    config = PhysioConfig(size_px=size_px, task=task, duration_s=duration)
    videos = [make_physio_video(index, seed, config, split="test") for index in range(n)]
    levels = []
    with _bar(n * len(multiples), f"physio-gamma {method.name}", progress) as bar:
        for multiple in multiples:
            gamma = paper_gamma * float(multiple)
            stepped = method_factory({"gamma": gamma, "n_iter": PAPER_N_ITER})
            rows = []
            for video in videos:
                out = stepped.clip(
                    video.frames, 1.0, mode="temporal", fps=video.fps, band=target.band_hz
                )
                # alpha only sets the chest search's reach; the largest step's gain (ours)
                reach = 1.0 if target is PULSE else 8.0
                row = score_video(video, out, target, reach)
                row["gain_calibrated"] = _expected_gain(calibration, PAPER_N_ITER * gamma)
                rows.append(row)
                bar.update(1)
            levels.append(_level(float(multiple), rows, extra=("gain_calibrated",)))
    result = SuiteResult(
        suite="physio-gamma",
        method=method.name,
        x_name=f"step gamma / {paper_gamma:g} (N = {PAPER_N_ITER}, task {task})",
        x_log=True,
        primary="gain",
        floor=None,
        levels=levels,
        table=[*METRICS, "gain_calibrated"],
        plots=["gain", "psnr_db", "ssim", "correlation"],
        settings={
            "n": n,
            "seed": seed,
            "split": "test",
            "size_px": size_px,
            "duration_s": duration,
            "task": task,
            "n_iter": PAPER_N_ITER,
            "gammas": [paper_gamma * float(m) for m in multiples],
            "band_hz": list(target.band_hz),
            "target": target.name,
        },
        notes=[
            f"Table 2: N = {PAPER_N_ITER}, gamma = {paper_gamma:g} x "
            f"{', '.join(f'{m:g}' for m in multiples)}, task {task}, {n} test video(s) of "
            f"{duration:g} s; gain_calibrated = the model card's curve at N gamma."
        ],
    )
    result.summary = {
        "gain_last_over_first": levels[-1].values["gain"] / levels[0].values["gain"],
        "ssim_drop": levels[0].values["ssim"] - levels[-1].values["ssim"],
        "psnr_drop_db": levels[0].values["psnr_db"] - levels[-1].values["psnr_db"],
    }
    return result
