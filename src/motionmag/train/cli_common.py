"""Flags and steps that every ``motionmag train MODEL`` command shares.

What matters:

- **Cheap to import**: the CLI imports this module whenever it builds its parser, so it
  imports nothing heavy (torch and the trainers load inside the functions).
- **A flag left out is None**: :func:`resolve_config` then takes the run's own setting
  when resuming (``--resume`` with the same ``--run``: "run the same command again"
  continues a killed run exactly) and the config's default otherwise; the device
  defaults to cuda when present, and a resumed run never keeps the device it was saved
  on (the machine may differ).
- **Bad flags fail before any work** (``UsageError``, exit 2); a run stopped by SIGTERM /
  Ctrl-C exits 143 / 130 after its checkpoint is saved (:func:`stopped`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from ..devices import check_parallel_count
from ..errors import InputError, UsageError
from ..output_paths import check_creatable_file


def add_run_flags(p: argparse.ArgumentParser, default_run: str) -> None:
    """``--run DIR`` (help names ``default_run``), ``--resume`` and ``--device``."""
    p.add_argument(
        "--run",
        dest="run_dir",
        default=None,
        metavar="DIR",
        help=f"run folder (default {default_run})",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --run")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when present)")


def add_schedule_flags(p: argparse.ArgumentParser) -> None:
    """``--checkpoint-every``, ``--log-every`` and ``--validate-every`` (in steps)."""
    p.add_argument("--checkpoint-every", type=int, default=None, help="steps (default 500)")
    p.add_argument("--log-every", type=int, default=None, help="steps (default 50)")
    p.add_argument(
        "--validate-every", type=int, default=None, help="steps, 0 = never (default 2000)"
    )


def add_session_flags(p: argparse.ArgumentParser) -> None:
    """``--threads``, ``--max-hours``, ``--export`` and ``--quiet``."""
    p.add_argument(
        "--threads", type=int, default=None, help="torch threads of the training process"
    )
    p.add_argument(
        "--max-hours",
        type=float,
        default=None,
        help="stop (with a checkpoint) after this many hours in this session",
    )
    p.add_argument(
        "--export",
        default=None,
        metavar="FILE.safetensors",
        help="when the run stops, write its best weights here with a model card beside them",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --export file (a run continued with --resume replaces "
        "its own export without it)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def shipped_weights(model: str | None) -> str | None:
    """The path of ``model``'s shipped weights (relative to the working folder when they
    lie under it, as the README writes it from the repository root; absolute for an
    installed package), or None when none ship."""
    if model is None:
        return None
    from ..models.registry import shipped_weights_path

    path = shipped_weights_path(model)
    if not path.is_file():
        return None
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def add_init_flag(p: argparse.ArgumentParser, model: str) -> None:
    """``--init FILE.safetensors``: a new run that starts from exported weights."""
    shipped = shipped_weights(model)
    example = (
        f" (e.g. the shipped {shipped})"
        if shipped is not None
        else f" (a {model} run's --export; no {model} weights ship yet)"
    )
    p.add_argument(
        "--init",
        default=None,
        metavar="FILE.safetensors",
        help="start a new run from exported weights and continue their step and data "
        "position" + example,
    )


def given_fields(args: argparse.Namespace, fields: dict[str, str]) -> dict:
    """The config fields of the flags that were given (``fields``: flag dest -> field)."""
    return {f: getattr(args, d) for d, f in fields.items() if getattr(args, d, None) is not None}


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)`` when given; UsageError below 1."""
    if threads is None:
        return
    if threads < 1:
        raise UsageError(f"--threads must be at least 1, not {threads}.")
    check_parallel_count("--threads", threads)
    import torch

    torch.set_num_threads(threads)


def default_device() -> str:
    """``cuda`` when a CUDA GPU is present, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


#: the files a run folder's sessions wrote (``--export``, ``--report``), resolved paths
EXPORTS = "exports.json"


def record_export(run_dir: str | os.PathLike, path: str | os.PathLike) -> None:
    """Add ``path`` to the run's :data:`EXPORTS`: a resumed run may replace it unasked."""
    from ..atomic import write_json

    written = _exports(run_dir)
    resolved = str(Path(path).resolve())
    if resolved not in written:
        write_json(Path(run_dir) / EXPORTS, [*written, resolved])


def _exports(run_dir: str | os.PathLike) -> list[str]:
    try:
        written = json.loads((Path(run_dir) / EXPORTS).read_text())
    except (OSError, ValueError):
        return []
    return [str(item) for item in written] if isinstance(written, list) else []


def check_not_replaced(
    path: str, flag: str, args: argparse.Namespace, run_dir: str | os.PathLike | None = None
) -> None:
    """UsageError when ``path`` (an output of the run: ``--export``, a report) exists and
    ``--overwrite`` is not given: a file that hours of training made is not replaced
    unasked. A run continued with ``--resume`` (its folder ``run_dir``) replaces the
    files its earlier sessions wrote, and only those (:func:`written_by_run`): it
    replaced any file, another run's weights or the shipped ones included (review, stop
    57). Without ``run_dir`` a resumed run's check waits for it (:func:`resolve_config`)."""
    if getattr(args, "overwrite", False) or not Path(path).exists():
        return
    resumed = getattr(args, "resume", False)
    if resumed and run_dir is None:
        return
    if resumed and written_by_run(run_dir, path):
        return
    whose = " and this run did not write it" if resumed else ""
    raise UsageError(f"{flag} '{path}' already exists{whose}: pass --overwrite to replace it.")


def written_by_run(run_dir: str | os.PathLike, path: str | os.PathLike) -> bool:
    """True when the run in ``run_dir`` wrote ``path``: listed in its :data:`EXPORTS`, or,
    for a run older than that list, weights whose card's last session is one of the run's
    own (a session after the last ``init_from`` mark: not one of the ``--init`` weights'
    history, which the shipped weights share)."""
    if str(Path(path).resolve()) in _exports(run_dir):
        return True
    from .run_state import CHECKPOINT, read_checkpoint_file

    try:
        card = json.loads(Path(path).with_suffix(".json").read_text())
        theirs = [s.get("started") for s in card["training"]["sessions"] if "command" in s]
        sessions = read_checkpoint_file(Path(run_dir) / CHECKPOINT, keys=("sessions",))["sessions"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, InputError):
        return False
    marks = [i for i, session in enumerate(sessions) if "init_from" in session]
    own = {s.get("started") for s in sessions[marks[-1] + 1 if marks else 0 :]}
    return bool(theirs) and theirs[-1] is not None and theirs[-1] in own


def check_session_flags(args: argparse.Namespace) -> None:
    """UsageError, before any training, for: an ``--export`` not ending in .safetensors,
    naming a folder, under a file or an unwritable folder, or naming the ``--init``
    weights the run starts from; a non-positive ``--max-hours``; ``--init`` with
    ``--resume`` when ``--run`` holds no checkpoint (when it holds one, the run continues
    and ``--init`` is dropped with a note: the repeated command of an ``--init`` run); a
    ``--run`` that is a file."""
    init = getattr(args, "init", None)
    if args.export is not None:
        if not args.export.endswith(".safetensors"):
            raise UsageError(f"--export '{args.export}' must end in .safetensors.")
        if Path(args.export).is_dir():
            raise UsageError(
                f"--export '{args.export}' is a folder: give a file name ending in .safetensors."
            )
        check_creatable_file(args.export, "--export")
        if init is not None and Path(args.export).resolve() == Path(init).resolve():
            raise UsageError(
                f"--export '{args.export}' is the --init weights the run starts from: export "
                "to another file, and copy it over once you have checked it."
            )
        check_not_replaced(args.export, "--export", args)
    if args.max_hours is not None and not args.max_hours > 0:
        raise UsageError(f"--max-hours must be a positive number, not {args.max_hours}.")
    from .run_state import CHECKPOINT

    run_dir = getattr(args, "run_dir", None)
    if init is not None and getattr(args, "resume", False):
        from .removal import REMOVE_DIR

        held = (
            [Path(run_dir) / CHECKPOINT, Path(run_dir) / REMOVE_DIR / CHECKPOINT] if run_dir else []
        )
        if any(path.is_file() for path in held):
            # the command that started the run, repeated with --resume (as its stop note
            # says): the run continues from its checkpoint, which began at those weights
            print(
                f"note: --init is not read: --resume continues '{run_dir}' from its checkpoint",
                file=sys.stderr,
            )
            args.init = None
            return
        raise UsageError(
            "--init starts a new run from exported weights and --resume continues a run from "
            "its checkpoint, and --run holds none: leave out --resume to start from --init."
        )
    if run_dir and Path(run_dir).exists() and not Path(run_dir).is_dir():
        raise UsageError(f"--run '{run_dir}' is a file: give a folder for the run.")


def steps_past_init(
    args: argparse.Namespace, config, given: dict, network_class: str, model: str
) -> None:
    """With ``--init`` and no ``--steps``: train ``config.steps`` (the default) beyond the
    weights' own step, which the run starts from (ours: the shipped weights are past
    the default 100,000 steps, so continuing them trained nothing). A ``--steps`` given
    counts every step, theirs included: UsageError, before the run folder is made, when
    it leaves nothing to train. Weights of another network (``network_class`` is
    ``model``'s) are refused first: their step says nothing about this run."""
    init = getattr(args, "init", None)
    if init is None:
        return
    from .run_state import card_beside, check_card_network

    card = card_beside("--init", init)
    check_card_network(card, Path(init), network_class, model)
    step = int((card.get("training") or {}).get("step") or 0)
    if "steps" not in given:
        config.steps += step
    elif config.steps <= step:
        raise UsageError(
            f"--steps {config.steps} counts every step, and the --init weights are at step "
            f"{step} already: give more (--steps {step + 10000} trains 10,000 more), or "
            f"leave --steps out to train {type(config)().steps:,} more."
        )


def resolve_config(
    args: argparse.Namespace,
    config_cls: type,
    given: dict,
    default_run: Callable[[object], Path],
    saved_config: Callable[[Path], dict],
):
    """``(config, run folder)`` from the flags given, the run's own config and defaults.

    Args:
        config_cls: a trainer config dataclass (``to_dict`` / ``from_dict``).
        given: config fields of the flags given (they always win).
        default_run: the run folder of a config, used when ``--run`` is left out.
        saved_config: the config dict of a checkpoint file (checks it is this model's).
    """
    from .run_state import CHECKPOINT

    base = config_cls()
    if "device" not in given:
        base.device = default_device()
    run_dir = Path(args.run_dir) if args.run_dir else None
    if args.resume:
        probe = run_dir or default_run(config_cls.from_dict({**base.to_dict(), **given}))
        if not (probe / CHECKPOINT).is_file():
            shipped = shipped_weights(getattr(args, "model", None))
            start = (
                f" (--init {shipped} instead starts one from the shipped weights)"
                if shipped is not None and hasattr(args, "init")
                else ""
            )
            raise UsageError(
                f"--resume: '{probe}' holds no checkpoint to continue: check --run, or leave "
                f"out --resume to start a new run{start}."
            )
        if getattr(args, "export", None) is not None:  # now that the run folder is known
            check_not_replaced(args.export, "--export", args, probe)
        saved = dict(saved_config(probe / CHECKPOINT))
        saved.pop("device", None)  # the machine may differ: cuda when present
        note_changed_frozen_models(saved, given)
        base = config_cls.from_dict({**base.to_dict(), **saved})
        run_dir = probe
    config = config_cls.from_dict({**base.to_dict(), **given})
    return config, run_dir or default_run(config)


#: config fields naming a frozen network a run trains against (a distillation teacher,
#: a proxy, C_loss's negative): another file on resume changes what is learnt midway
FROZEN_MODEL_FIELDS = ("teacher", "proxy", "negative")


def note_changed_frozen_models(saved: dict, given: dict) -> None:
    """A note for each frozen network given on ``--resume`` that is not the run's own: the
    run goes on against the new one (allowed: a better teacher may come midway), while
    what was measured from the old one stays (KL-DNAS's latency target; equal for nets of
    one width)."""
    import os
    import warnings

    def files(value: object) -> list[str]:  # oh2018's --teacher may name several
        names = value if isinstance(value, list | tuple) else [value]
        return sorted(os.path.realpath(str(name)) for name in names)

    def same(a: object, b: object) -> bool:
        first, second = files(a), files(b)
        if a == b or first == second:
            return True
        try:  # hard links, or a case-insensitive disk's other spelling
            return len(first) == len(second) == 1 and os.path.samefile(first[0], second[0])
        except OSError:
            return False

    for field in FROZEN_MODEL_FIELDS:
        old, new = saved.get(field), given.get(field)
        if field in given and old is not None and not same(old, new):
            flag = "--" + field.replace("_", "-")
            warnings.warn(
                f"{flag} {new!r} is not the network this run trained against until now "
                f"({old!r}): it goes on against the new one; what was measured from the "
                "old one (a KL-DNAS latency target) stays the run's.",
                stacklevel=2,
            )


def train_kwargs(args: argparse.Namespace) -> dict:
    """The keyword arguments of a trainer call from the session flags."""
    return {
        "resume": args.resume,
        "progress": not args.quiet,
        "command": "motionmag " + " ".join(sys.argv[1:]),
        "max_seconds": args.max_hours * 3600 if args.max_hours is not None else None,
    }


def stopped(interrupted: str | None) -> int:
    """The exit code of a run: 0, or 143 / 130 (with a note) when a signal stopped it."""
    if not interrupted:
        return 0
    print(f"stopped by {interrupted}; continue with --resume", file=sys.stderr)
    return 143 if interrupted == "SIGTERM" else 130


def finish(
    args: argparse.Namespace,
    run_dir: Path,
    interrupted: str | None,
    export_weights: Callable[[Path, str], dict],
    steps_left: int = 0,
) -> int:
    """Export the run's weights when ``--export`` asks; the exit code (:func:`stopped`).
    ``steps_left``: steps short of ``--steps`` (a note says how to go on when
    ``--max-hours`` stopped the run)."""
    if not interrupted and steps_left > 0 and getattr(args, "max_hours", None) is not None:
        print(
            f"stopped after --max-hours {args.max_hours:g}, {steps_left} steps short of "
            "--steps; continue with --resume",
            file=sys.stderr,
        )
    if args.export is not None:
        card = export_weights(run_dir, args.export)
        record_export(run_dir, args.export)
        print(f"weights of step {card['training']['step']} written to {args.export}")
    return stopped(interrupted)
