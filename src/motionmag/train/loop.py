"""The step loop every trainer shares: stop cleanly, log, validate, checkpoint.

What matters:

- **A stop never loses a step, and never saves half of one**: SIGTERM or a first Ctrl-C
  (:class:`StopFlag`) lets the step in flight finish, then the loop saves and returns
  (a second Ctrl-C aborts). The optimiser step and the counters change together; a
  checkpoint is written at the end unless the state on disk is already this step.
- **What differs is passed in**: the trainer gives its batches, a ``train_step`` (a
  batch -> the number of samples, the loss to back-propagate and its parts as floats),
  a ``validate`` callback and a ``snapshot`` (the checkpoint dict); the loop owns the
  optimiser step, the counters of :class:`~motionmag.train.run_state.RunState`, the
  timing, ``checkpoint.pt``, ``log.csv`` rows (interval means of the loss parts), the
  progress bar (tqdm, stderr) and the data iterator (dropped at the end, which stops
  the data workers).
- **Timing**: ``train_seconds`` grows by the wall time of each step and of each
  validation; ``samples_per_hour`` is this session's rate.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from ..devices import check_parallel_count
from ..errors import UsageError
from .run_state import CHECKPOINT, CsvLog, RunState, atomic_save

#: the most validation samples a run takes (ours: 40 by default; 1e8 rendered for ever)
MAX_VAL_SAMPLES = 10_000


class LoopConfig(Protocol):
    """The fields of a trainer config the loop reads (steps, all in steps of the run)."""

    steps: int
    log_every: int
    validate_every: int  # 0: never
    checkpoint_every: int


class StopFlag:
    """SIGTERM / first SIGINT -> finish the step, save, stop; second SIGINT -> abort."""

    def __init__(self) -> None:
        self.signal: str | None = None
        self._previous: dict = {}

    def _handle(self, signum, _frame) -> None:
        if signum == signal.SIGINT and self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signal.Signals(signum).name

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def progress_bar(total: int, initial: int, enabled: bool, desc: str):
    """A tqdm bar of steps on stderr (disabled when not ``enabled``)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="step",
        desc=desc,
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
    )


def hold_gated_groups(optimizer: torch.optim.Optimizer, step: int) -> None:
    """Drop the gradients of the parameter groups that sit step ``step`` (0-based) out,
    so that the optimiser leaves them as they are (Adam skips a parameter without a
    gradient: no update, no moment, no weight decay).

    A group with ``start_step`` waits until that step (a warm-up with the group frozen);
    one with ``every = (period, phase)`` steps, from step ``every_from`` (default 0) on,
    only when ``(step - every_from) % period == phase`` (two groups at (2, 0) and (2, 1)
    take turns: first-order DARTS's alternation).
    """
    for group in optimizer.param_groups:
        period, phase = group.get("every") or (1, 0)
        since = step - group.get("every_from", 0)
        if step < group.get("start_step", 0) or (since >= 0 and since % period != phase):
            for parameter in group["params"]:
                parameter.grad = None


@dataclass
class TrainResult:
    """What a training session (:func:`run_steps`, through a trainer) did."""

    run_dir: Path
    step: int
    samples_seen: int
    train_seconds: float  # all sessions of the run
    session_seconds: float
    session_steps: int
    samples_per_hour: float  # this session
    interrupted: str | None = None  # "SIGTERM" | "SIGINT" when stopped early
    last_loss: float | None = None
    validation: dict | None = None
    losses: list[float] = field(default_factory=list)  # per step, this session

    @property
    def seconds_per_step(self) -> float:
        return self.session_seconds / max(self.session_steps, 1)


def run_steps(
    state: RunState,
    config: LoopConfig,
    optimizer: torch.optim.Optimizer,
    batches: Iterable,
    train_step: Callable[[Any], tuple[int, torch.Tensor, dict[str, float]]],
    *,
    run: Path,
    snapshot: Callable[[], dict],
    log: CsvLog,
    log_parts: tuple[str, ...],
    validate: Callable[[], None],
    resumed: bool,
    desc: str,
    progress: bool = True,
    max_seconds: float | None = None,
) -> TrainResult:
    """Train from ``state.step`` to ``config.steps`` (or a stop, or ``max_seconds``).

    Args:
        state: the run's counters, advanced in place.
        config: steps, log_every, validate_every, checkpoint_every.
        optimizer: stepped after each ``train_step``'s backward pass.
        batches: the data (an endless DataLoader); iterated once, dropped at the end.
        train_step: a batch -> ``(samples, loss, parts)`` with ``parts`` holding
            ``"total"`` and every name of ``log_parts``.
        run: the run folder; ``snapshot()`` is saved as its ``checkpoint.pt`` every
            ``checkpoint_every`` steps and at the end.
        log: ``log.csv`` (:data:`~motionmag.train.run_state.LOG_FIELDS` + log_parts).
        validate: called every ``validate_every`` steps and at the last step.
        resumed: the checkpoint on disk is already ``state.step``.
        desc: the progress bar's label; ``progress``: show it.
        max_seconds: stop (with a checkpoint) after this much wall time.
    """
    if state.step >= config.steps:
        print(
            f"the run is at step {state.step} and --steps is {config.steps}: nothing to "
            "train; give a larger --steps to go on.",
            file=sys.stderr,
        )
    session_start = time.perf_counter()
    tick = session_start
    start_step = state.step
    session_samples = 0
    losses: list[float] = []
    last_saved = state.step if resumed else -1
    mutating = False
    bar = progress_bar(config.steps, state.step, progress, desc)
    stop = StopFlag()
    iterator = iter(batches)
    try:
        with stop:
            while state.step < config.steps and stop.signal is None:
                if max_seconds is not None and time.perf_counter() - session_start > max_seconds:
                    break
                try:
                    n, loss, parts = train_step(next(iterator))
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                except RuntimeError:  # a data worker killed by the same signal
                    if stop.signal is None:
                        raise
                    break
                hold_gated_groups(optimizer, state.step)
                mutating = True  # weights and counters change together
                optimizer.step()
                state.step += 1
                state.samples_seen += n
                session_samples += n
                state.add_to_log_interval(parts)  # with the step: a stop keeps them together
                mutating = False
                now = time.perf_counter()
                state.train_seconds += now - tick
                tick = now
                losses.append(parts["total"])
                rate = session_samples / max(now - session_start, 1e-9)
                bar.update(1)
                bar.set_postfix(loss=f"{parts['total']:.4f}", samples_h=f"{rate * 3600:.0f}")
                if state.step % config.log_every == 0 or state.step == config.steps:
                    means = state.close_log_interval()
                    log.write(
                        {
                            "step": state.step,
                            "samples_seen": state.samples_seen,
                            "train_hours": state.train_seconds / 3600,
                            "samples_per_hour": rate * 3600,
                            "loss": means["total"],
                            **{k: means[k] for k in log_parts},
                        }
                    )
                if config.validate_every and (
                    state.step % config.validate_every == 0 or state.step == config.steps
                ):
                    validate()
                    tick = time.perf_counter()
                    state.train_seconds += tick - now
                if state.step % config.checkpoint_every == 0:
                    atomic_save(snapshot(), run / CHECKPOINT)
                    last_saved = state.step
    finally:
        bar.close()
        if state.step != last_saved and not mutating:  # never a half-applied step
            atomic_save(snapshot(), run / CHECKPOINT)
        with contextlib.suppress(Exception):
            del iterator  # stops the data workers
    session_seconds = time.perf_counter() - session_start
    return TrainResult(
        run_dir=run,
        step=state.step,
        samples_seen=state.samples_seen,
        train_seconds=state.train_seconds,
        session_seconds=session_seconds,
        session_steps=state.step - start_step,
        samples_per_hour=session_samples / max(session_seconds, 1e-9) * 3600,
        interrupted=stop.signal,
        last_loss=losses[-1] if losses else None,
        validation=state.validation,
        losses=losses,
    )


def _flag(field: str) -> str:
    """The command-line flag of a config field (``checkpoint_every`` -> ``--checkpoint-every``)."""
    return "--" + field.replace("_", "-")


def check_schedule(config, at_least_one: tuple[str, ...]) -> None:
    """UsageError for the schedule settings every trainer config shares that no run can
    use: the ``at_least_one`` fields (batch, steps, ...) below 1, negative ``workers`` or
    ``validate_every``, ``val_samples`` below 1 (``validate_every`` 0 turns validation
    off instead), a negative ``seed``."""
    for name in at_least_one:
        if getattr(config, name) < 1:
            raise UsageError(f"{_flag(name)} must be at least 1, not {getattr(config, name)}.")
    for name in ("workers", "validate_every"):
        if getattr(config, name) < 0:
            raise UsageError(f"{_flag(name)} must not be negative, not {getattr(config, name)}.")
    check_parallel_count("--workers", config.workers)
    if not 1 <= config.val_samples <= MAX_VAL_SAMPLES:
        raise UsageError(
            f"--val-samples {config.val_samples} is outside 1-{MAX_VAL_SAMPLES:,} (each "
            "validation renders and scores every sample; --validate-every 0 turns "
            "validation off)."
        )
    if config.seed < 0:
        raise UsageError(f"--seed {config.seed} is negative: give 0 or more.")
