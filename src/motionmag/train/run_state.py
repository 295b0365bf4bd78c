"""A training run's folder and the counters its checkpoint carries, shared by every trainer.

What matters:

- **One layout for every trainer** (``train/oh2018.py``: oh2018, ha2024 and the removal
  recipes; ``train/flowmag.py``): ``checkpoint.pt``, ``best.pt``, ``config.json``,
  ``log.csv`` and ``validation.csv`` in the run folder. Files are written atomically
  (a temporary file, then ``os.replace``), so a killed run never leaves half a file.
- **A fresh folder or an explicit resume**: :func:`open_run` refuses a folder that
  already holds a checkpoint unless the caller resumes it.
- **The counters travel together**: :class:`RunState` holds the step, the samples seen,
  the training time, the best validation, the session history and the last validation;
  :meth:`RunState.restore` puts a checkpoint's back (with its optimiser state, at the
  lr / betas of the current flags) and :meth:`RunState.checkpoint` writes them under
  the key names the trainers always used, so existing checkpoints still resume. Random
  generators and data descriptions stay with each trainer (they differ).
- **Logs follow the checkpoint**: on resume, :class:`CsvLog` drops the rows written after
  the checkpoint's step, so a resumed run's logs read as one uninterrupted run's.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..atomic import atomic_output, write_json  # write_json: the run's config.json
from ..errors import InputError, UsageError

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
LOG = "log.csv"
VALIDATION = "validation.csv"
CONFIG = "config.json"

#: the first columns of ``log.csv``; each trainer appends its loss parts
LOG_FIELDS = ("step", "samples_seen", "train_hours", "samples_per_hour", "loss")


def atomic_save(obj: dict, path: Path) -> None:
    """``torch.save`` ``obj`` to ``path`` through a temporary file (never half written)."""
    with atomic_output(path) as temporary:
        torch.save(obj, temporary)


def device_name(device: torch.device) -> str:
    """The device as the session record names it (GPU model, or cores and torch threads)."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


class CsvLog:
    """Append-only CSV that, on resume, drops rows beyond the checkpoint's step."""

    def __init__(self, path: Path, names: tuple[str, ...], keep_upto: int | None) -> None:
        self.path = path
        self.names = names
        rows = []
        if keep_upto is not None and path.is_file():
            with path.open(newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= keep_upto]
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=names)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, row: dict) -> None:
        """Append one row (floats with 6 significant digits)."""
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=self.names).writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )


def open_run(
    run_dir: str | os.PathLike, resume: bool, load: Callable[[Path], dict]
) -> tuple[Path, dict | None]:
    """``(folder, its checkpoint read by load, or None)``; creates nothing.

    UsageError when the folder already holds a checkpoint and ``resume`` is False (or
    one ``load`` refuses: another model's run). The
    folder is made by :func:`start_files`, once the trainer has checked its inputs, so a
    run refused at the start (bad ``--init`` weights, no usable ``--videos``) leaves none.
    """
    run = Path(run_dir)
    for above in run.parents:  # a file on the way printed 'Not a directory' after the banner
        if above.exists():
            if not above.is_dir():
                raise UsageError(
                    f"--run '{run}' lies under '{above}', which is a file: choose a folder path."
                )
            break
    path = run / CHECKPOINT
    if not path.is_file():
        return run, None
    state = load(path)  # a run of another model says so (--resume would not help)
    if not resume:
        raise UsageError(
            f"'{run}' already holds a training run: pass --resume to continue it, "
            "or choose another --run folder."
        )
    return run, state


def start_files(
    run: Path,
    config: dict,
    log_parts: tuple[str, ...],
    val_fields: tuple[str, ...],
    keep_upto: int | None,
    banner: str | None = None,
) -> tuple[CsvLog, CsvLog]:
    """Write ``config.json``; open ``log.csv`` (:data:`LOG_FIELDS` + ``log_parts``) and
    ``validation.csv``, keeping the rows up to step ``keep_upto`` (None: start afresh).
    Creates the run folder, first printing ``banner`` (if any) to stderr: every input is
    checked by then, so a refused run prints its one sentence alone."""
    if banner:
        print(banner, file=sys.stderr)
    run.mkdir(parents=True, exist_ok=True)
    write_json(run / CONFIG, config)
    log = CsvLog(run / LOG, LOG_FIELDS + tuple(log_parts), keep_upto=keep_upto)
    val_log = CsvLog(run / VALIDATION, val_fields, keep_upto=keep_upto)
    return log, val_log


@dataclass
class RunState:
    """The counters of a run that a checkpoint carries (all sessions together).

    ``best`` is the best validation so far (e.g. ``{"ssim": -inf, "step": None}``);
    ``train_seconds`` counts training and validation time of every session, in s;
    ``log_interval`` holds the steps since the last ``log.csv`` row (``{"steps": n,
    "sums": {part: summed loss}}``), so a resumed run's next row averages the same steps
    an uninterrupted run's would.
    """

    best: dict
    step: int = 0
    samples_seen: int = 0
    train_seconds: float = 0.0
    sessions: list[dict] = field(default_factory=list)
    validation: dict | None = None
    log_interval: dict = field(default_factory=dict)

    def add_to_log_interval(self, parts: dict[str, float]) -> None:
        """Count one step's loss parts into the open ``log.csv`` interval."""
        sums = self.log_interval.setdefault("sums", {})
        for key, value in parts.items():
            sums[key] = sums.get(key, 0.0) + value
        self.log_interval["steps"] = self.log_interval.get("steps", 0) + 1

    def close_log_interval(self) -> dict[str, float]:
        """The mean of each loss part over the open interval, which is then emptied."""
        steps, sums = self.log_interval["steps"], self.log_interval["sums"]
        self.log_interval = {}
        return {key: value / steps for key, value in sums.items()}

    def restore(
        self,
        state: dict,
        net: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        lr: float,
        betas: tuple[float, float],
        groups: list[dict] | None = None,
        shape_flags: tuple[str, ...] = (),
        config: dict | None = None,
        validation_fields: tuple[str, ...] = (),
        best_path: Path | None = None,
    ) -> None:
        """Load a checkpoint's weights, optimiser state and counters.

        ``config``, this session's: where it changes one of ``validation_fields`` (the
        trainer's settings that make its validation set), the best so far was scored on
        other cases, so it is not carried over and the run's best checkpoint
        (``best_path``) is removed (``best.pt`` and ``--export`` compared scores of two
        sets), with a note.

        The flags may change lr and betas: every group gets ``lr`` (times its
        ``lr_scale`` where it has one) and ``betas`` (its ``own_betas`` where it has
        them). ``groups``, this session's parameter groups in the optimiser's order, set
        every other setting of theirs (``weight_decay``, the step gates of
        :func:`~motionmag.train.loop.hold_gated_groups`) over the checkpoint's.
        """
        try:
            net.load_state_dict(state["model"])
        except RuntimeError:  # a flag that shapes the network differs from the run's
            named = f" ({', '.join(shape_flags)})" if shape_flags else ""
            raise UsageError(
                "the run's checkpoint holds a network of another shape than these flags "
                f"make: leave out the flags that shape the network{named} when resuming; the "
                "run keeps its own."
            ) from None
        optimizer.load_state_dict(state["optimizer"])
        for index, group in enumerate(optimizer.param_groups):
            if groups is not None:
                group.update({k: v for k, v in groups[index].items() if k != "params"})
            group["lr"] = lr * group.get("lr_scale", 1.0)
            group["betas"] = tuple(group.get("own_betas") or betas)
        self.step = int(state["step"])
        self.samples_seen = int(state["samples_seen"])
        self.train_seconds = float(state["train_seconds"])
        changed = _validation_changes(state.get("config") or {}, config or {}, validation_fields)
        if changed:
            old_best = (state.get("best") or {}).get("step")
            print(
                f"note: this session validates on other cases than the run did until now "
                f"({', '.join(changed)}): the best so far (step {old_best}) is not compared "
                "with its scores, and best.pt is removed and chosen afresh; checkpoint.pt "
                "keeps going.",
                file=sys.stderr,
            )
            if best_path is not None:  # scored on other cases: --export must not take it
                best_path.unlink(missing_ok=True)
        elif not _drop_best_past(best_path, self.step):  # dropped: chosen afresh
            self.best = dict(state.get("best") or self.best)
        self.sessions = list(state.get("sessions", []))
        self.validation = state.get("validation")
        self.log_interval = dict(state.get("log_interval") or {})  # none before 2026-12-03

    def begin_session(self, command: str, device: torch.device) -> None:
        """Record a new session (command line, device, starting step and time, UTC)."""
        self.sessions.append(
            {
                "command": command,
                "device": device_name(device),
                "from_step": self.step,
                "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            }
        )

    def checkpoint(
        self,
        checkpoint_format: str,
        net: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        rng: dict,
        config: dict,
        data: dict,
    ) -> dict:
        """The checkpoint dict of the run now (the current session ends at this step)."""
        self.sessions[-1]["to_step"] = self.step
        return {
            "format": checkpoint_format,
            "model": {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()},
            "net_config": dict(net.config),
            "optimizer": optimizer.state_dict(),
            "step": self.step,
            "samples_seen": self.samples_seen,
            "train_seconds": self.train_seconds,
            "rng": rng,
            "config": config,
            "data": data,
            "best": self.best,
            "validation": self.validation,
            "log_interval": self.log_interval,
            "sessions": self.sessions,
            "torch": str(torch.__version__),
        }


def _validation_changes(saved: dict, current: dict, fields: tuple[str, ...]) -> list[str]:
    """'field old -> new' for each of ``fields`` the two configs hold and differ in."""
    return [
        f"{name} {saved[name]} -> {current[name]}"
        for name in fields
        if name in saved and name in current and saved[name] != current[name]
    ]


def _drop_best_past(best_path: Path | None, step: int) -> bool:
    """Remove ``best.pt`` when it was saved at a step after the checkpoint resumed from
    (``step``): a run killed between a new best and the next checkpoint left it, and the
    resumed run, which repeats those steps (perhaps with another --lr), exported it as its
    own, with a step and samples its history never reached (review, stop 59). A damaged
    one is left to the export's own check. True when it was removed."""
    if best_path is None or not best_path.is_file():
        return False
    try:
        saved = int(read_checkpoint_file(best_path)["step"])
    except (InputError, TypeError, ValueError):
        return False
    if saved <= step:
        return False
    best_path.unlink(missing_ok=True)
    print(
        f"note: best.pt (step {saved}) was saved after the checkpoint this run resumes "
        f"from (step {step}), on steps it now trains again: it is removed and chosen "
        "afresh.",
        file=sys.stderr,
    )
    return True


#: what every trainer's checkpoint holds (``RunState.checkpoint``)
CHECKPOINT_KEYS = ("format", "model", "config", "step")


def read_checkpoint_file(path: str | os.PathLike, keys: tuple[str, ...] = CHECKPOINT_KEYS) -> dict:
    """The dict a trainer saved at ``path`` (tensors and plain data only, never a pickled
    object: ``weights_only``); InputError, one sentence, for a file that is cut short,
    damaged, not a torch file, or a torch file without the trainer's ``keys`` (torch
    raises many classes for these)."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        raise InputError(f"checkpoint '{path}' cannot be read ({error.strerror}).") from None
    except Exception as error:  # UnpicklingError, RuntimeError, EOFError, KeyError, ...
        raise InputError(
            f"checkpoint '{path}' is damaged or not a torch file ({type(error).__name__}): "
            "restore it from a copy, or start a new --run folder."
        ) from None
    if not isinstance(data, dict) or any(key not in data for key in keys):
        raise InputError(
            f"'{path}' is not a training checkpoint (it lacks the trainer's "
            f"{', '.join(keys)}): choose another --run folder."
        )
    return data


def card_beside(flag: str, weights: str | os.PathLike, hint: str = "") -> dict:
    """The model card (``.json``) beside the weights that option ``flag`` names (``--init``,
    ``--teacher``, ``--proxy``); InputError when either file is missing (the sentence ends
    with ``hint``), the card is not a JSON object (``models.registry.read_card``) or the
    weights file is not whole safetensors (its header is checked against its size here,
    before the run folder is made; a frozen proxy or teacher is loaded only at the first
    step)."""
    from safetensors import safe_open

    from ..models.registry import read_card

    weights = Path(weights)
    card_path = weights.with_suffix(".json")
    if not weights.is_file() or not card_path.is_file():
        raise InputError(
            f"{flag} needs '{weights}' and its model card '{card_path.name}' beside it{hint}."
        )
    try:
        with safe_open(str(weights), "pt"):
            pass
    except Exception as error:  # safetensors raises its own error types
        raise InputError(
            f"{flag} '{weights}' cannot be read as safetensors ({error}): export it again."
        ) from None
    return read_card(card_path)


def check_card_network(card: dict, weights: Path, network_class: str, model: str) -> None:
    """UsageError unless the model card of the ``--init`` ``weights`` names
    ``network_class`` (``model``'s network; a card that names none passes)."""
    card_class = card.get("network", {}).get("class", network_class)  # old cards: none
    if card_class != network_class:
        raise UsageError(
            f"the weights in '{weights}' are for {card_class}, not {network_class}: "
            f"--init needs {model} weights."
        )


def load_init(
    net: torch.nn.Module, path: str | os.PathLike, network_class: str, model: str, hint: str
) -> tuple[int, int, float, list]:
    """Load exported weights (``.safetensors`` with their model card beside them) into
    ``net`` to start a new run from them; returns (step, samples seen, training seconds,
    sessions) of the card, so the step, the data position and the history continue.

    ``network_class`` is what the card's ``network.class`` must name (``model``'s, for the
    sentence when it does not); ``hint`` says which flags choose the network, for the
    sentence when the card's network config differs.
    """
    from safetensors.torch import load_file

    weights = Path(path)
    card = card_beside("--init", weights)
    try:
        state = load_file(str(weights))
    except Exception as error:  # safetensors raises its own error types
        raise InputError(f"--init '{weights}' cannot be read as safetensors ({error}).") from None
    check_card_network(card, weights, network_class, model)
    card_config = card.get("network", {}).get("config")
    if card_config != getattr(net, "config", None):
        raise UsageError(
            f"the weights in '{weights}' are for network {card_config}, not "
            f"{getattr(net, 'config', None)}: {hint}"
        )
    net.load_state_dict(state)
    training = card.get("training", {})
    sessions = [*training.get("sessions", []), {"init_from": str(weights)}]
    return (
        int(training.get("step", 0)),
        int(training.get("samples_seen", 0)),
        float(training.get("train_hours", 0.0)) * 3600,
        sessions,
    )


def pick_checkpoint(
    run_dir: str | os.PathLike,
    which: str,
    load: Callable[[Path, dict | None], dict],
    train_command: str,
) -> tuple[dict, dict, str]:
    """The checkpoints an export reads: ``(last, chosen, "best" | "last")``.

    ``which`` is ``best`` (``best.pt``, falling back to the last checkpoint when the run
    never validated) or ``last``. ``load(path, last)`` reads a checkpoint; ``last`` is
    None for ``checkpoint.pt`` itself and the loaded last checkpoint for ``best.pt``.
    """
    run = Path(run_dir)
    if which not in ("best", "last"):
        raise UsageError(f"which must be 'best' or 'last', not '{which}'.")
    if not (run / CHECKPOINT).is_file():
        raise InputError(f"'{run}' has no {CHECKPOINT}: train first with `{train_command}`.")
    last = load(run / CHECKPOINT, None)
    if which == "best" and (run / BEST).is_file():
        return last, load(run / BEST, last), "best"
    return last, last, "last"


def save_weights(
    state_dict: dict[str, torch.Tensor], net_config: dict, out_path: str | os.PathLike
) -> dict[str, torch.Tensor]:
    """Write a model's tensors as safetensors (atomically), with its name and network
    config in the metadata; returns the tensors written. ``out_path`` ends in .safetensors."""
    from safetensors.torch import save_file

    out = Path(out_path)
    if out.suffix != ".safetensors":
        raise UsageError(f"weights file '{out}' must end in .safetensors.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.contiguous() for k, v in state_dict.items()}
    with atomic_output(out) as temporary:
        save_file(
            tensors, str(temporary), metadata={"name": out.stem, "net": json.dumps(net_config)}
        )
    return tensors
