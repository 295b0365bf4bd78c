"""Learning-to-remove for ha2024 (Ha et al. 2024, Sec. 4.3, Eq. 3-5): remove, prune, retrain.

What matters:

- **Three phases on the shared trainer** (:func:`~motionmag.train.oh2018.train_model`,
  through the recipe hooks of this module, so data, noise, validation, checkpoints and
  resume are the ordinary ones):

  1. *remove* (``<run>/remove``, recipe ``ha2024-remove``): Ha2024Net with switches on
     the chosen components (``nets.removal.insert_switches``) is trained with
     ``L_task + lambda_rm L_rm`` (Eq. 4; ``L_rm`` of Eq. 5, ``remove_weight`` =
     lambda_rm, ``remove_power`` = p). The paper fine-tunes a trained baseline: start
     from exported ha2024 weights with ``init_from`` (``--init``; plain weights load
     with every switch at 0).
  2. *prune* (``<run>/pruned.safetensors`` + card): the **last** checkpoint of phase 1
     (the converged switches; ``best.pt`` is chosen by SSIM, which favours keeping
     components) is pruned at tau = ``prune_threshold``: components with w > tau go.
  3. *retrain* (``<run>/retrain``, recipe ``ha2024-pruned``): the plain pruned network
     (``Ha2024Net(removed=...)``) continues with the task loss alone for
     ``retrain_steps`` more steps.

  ``<run>/removal.json`` holds the report: which components went (per part and kind,
  and every switch's w), parameters and GFLOPs before and after, and the validation
  SSIM after the removal phase (switched network), right after pruning, and after
  retraining.
- **Switch learning rate** (ours; the paper gives none): Adam moves a parameter by about
  its lr per step whatever the gradient's size, so at the network's lr 1e-4 a switch
  would need >= 10,000 steps to go from 0 to 1. Switches get their own lr,
  ``switch_lr`` (1e-3 by default), as an optimiser group.
- **Defaults** where the paper gives no number (ours): lambda_rm = 1, p = 1, tau = 0.5,
  every kind (activations, skips, blocks) in the manipulator and decoder (Ha2024Net's
  encoder is one linear layer: it has no residual block).
- The pruned network's architecture is ``network.config["removed"]`` in the checkpoint
  and in the exported card, so ``create_model("ha2024", weights=...)`` rebuilds it.
- GFLOPs are counted as everywhere in motionmag (``torch.utils.flop_counter``, 2 x
  multiply-add, as ``eval/bench.py`` and tests/test_ha2024_net.py): one pair forward at
  384x384, the size of Ha et al.'s Table 1 (which counts multiply-adds: half ours).
"""

from __future__ import annotations

import copy
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch

from ..atomic import atomic_output, write_json
from ..errors import InputError, UsageError
from ..nets import removal as rm
from . import oh2018 as trainer
from .oh2018 import RECIPES, Ha2024TrainConfig, Recipe, count_parameters
from .run_state import CHECKPOINT

REMOVE_DIR = "remove"
RETRAIN_DIR = "retrain"
PRUNED = "pruned.safetensors"
REPORT = "removal.json"
#: which pruning the retrain run started from (phase 1's step and what it removed)
RETRAIN_BASE = "retrain-base.json"
#: ``--remove`` names (plural, as on the command line) -> nets.removal kinds
KIND_NAMES = {"activations": "activation", "skips": "skip", "blocks": "block"}
#: pixels of the square pair the GFLOPs are counted at (Ha et al. Table 1)
FLOPS_SIZE_PX = 384


def parse_kinds(text: str) -> tuple[str, ...]:
    """``"activations,blocks"`` -> ("activation", "block"); UsageError when unknown."""
    names = [t.strip() for t in str(text).split(",") if t.strip()]
    kinds = []
    for name in names:
        kind = KIND_NAMES.get(name, name if name in rm.KINDS else None)
        if kind is None:
            raise UsageError(
                f"--remove '{name}' is not a component: choose from {', '.join(KIND_NAMES)}."
            )
        kinds.append(kind)
    if not kinds:
        raise UsageError(f"--remove needs at least one of {', '.join(KIND_NAMES)}.")
    return tuple(k for k in rm.KINDS if k in kinds)


def parse_parts(text: str) -> tuple[str, ...]:
    """``"manipulator,decoder"`` -> a tuple of parts; UsageError when unknown."""
    names = [t.strip() for t in str(text).split(",") if t.strip()]
    bad = [n for n in names if n not in rm.PARTS]
    if bad or not names:
        raise UsageError(
            f"--remove-in '{text}' must name some of {', '.join(rm.PARTS)}, comma-separated."
        )
    return tuple(p for p in rm.PARTS if p in names)


@dataclass
class Ha2024RemovalConfig(Ha2024TrainConfig):
    """Phase 1: an ha2024 run with switches and the removal loss (Eq. 4-5).

    ``steps`` is the run's total, as for every run (with ``init_from``, the weights'
    step counts). ``prune_threshold`` and ``retrain_steps`` are for phases 2 and 3,
    kept here so that a resumed pipeline does exactly what the first call would have.
    """

    MODEL: ClassVar[str] = "ha2024-remove"

    remove: tuple[str, ...] = rm.KINDS  # components to switch (nets.removal.KINDS)
    remove_parts: tuple[str, ...] = ("manipulator", "decoder")  # Ha2024Net's encoder has none
    remove_weight: float = 1.0  # lambda_rm of Eq. 4 [ours]
    remove_power: float = 1.0  # p of Eq. 5 [ours]
    switch_lr: float = 1e-3  # Adam lr of the switches [ours]
    prune_threshold: float = 0.5  # tau [ours]
    retrain_steps: int = 0  # phase 3: steps after pruning, task loss only

    def validate(self) -> None:
        super().validate()
        for name in ("remove_weight", "switch_lr", "remove_power"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise UsageError(f"--{name.replace('_', '-')} {value} must be a number >= 0.")
        if not self.remove_power > 0 or not self.switch_lr > 0:
            raise UsageError("--remove-power and --switch-lr must be positive.")
        if not 0.0 <= self.prune_threshold < 1.0:
            raise UsageError(f"--prune-threshold {self.prune_threshold} must be in [0, 1).")
        if self.retrain_steps < 0:
            raise UsageError(f"--retrain-steps {self.retrain_steps} must not be negative.")
        if not self.remove or set(self.remove) - set(rm.KINDS):
            raise UsageError(f"--remove must name some of {', '.join(KIND_NAMES)}.")
        if not self.remove_parts or set(self.remove_parts) - set(rm.PARTS):
            raise UsageError(f"--remove-in must name some of {', '.join(rm.PARTS)}.")
        try:
            rm.insert_switches(_base_net(self), self.remove, self.remove_parts)
        except ValueError as error:
            raise UsageError(str(error)) from None

    def to_dict(self) -> dict:
        data = super().to_dict()
        data["remove"] = list(self.remove)
        data["remove_parts"] = list(self.remove_parts)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Ha2024RemovalConfig:
        config = super().from_dict(data)
        config.remove = tuple(config.remove)
        config.remove_parts = tuple(config.remove_parts)
        return config


@dataclass
class Ha2024PrunedConfig(Ha2024TrainConfig):
    """Phase 3: an ordinary ha2024 run of a pruned network (``removed``: {kind: [paths]})."""

    MODEL: ClassVar[str] = "ha2024-pruned"

    removed: dict = field(default_factory=dict)


_HA = RECIPES["ha2024"]
RECIPES.setdefault(
    "ha2024-remove",
    Recipe(
        model="ha2024-remove",
        config_class=Ha2024RemovalConfig,
        network=_HA.network,
        checkpoint_format="motionmag-train-ha2024-remove/1",
        paper=_HA.paper + "; learning-to-remove, Sec. 4.3, Eq. 3-5",
        loss=_HA.loss + " + remove_weight * mean_k(1 - w_k^remove_power) (Eq. 4-5)",
        log_parts=(*_HA.log_parts, "removal", "switch_mean"),
        hooks=__name__,
        shape_flags=(*_HA.shape_flags, "--remove", "--remove-in"),  # which switches exist
    ),
)
RECIPES.setdefault(
    "ha2024-pruned",
    Recipe(
        model="ha2024-pruned",
        config_class=Ha2024PrunedConfig,
        network=_HA.network,
        checkpoint_format="motionmag-train-ha2024-pruned/1",
        paper=_HA.paper + "; pruned by learning-to-remove (Sec. 4.3) and retrained",
        loss=_HA.loss,
        log_parts=_HA.log_parts,
        hooks=__name__,
        shape_flags=(*_HA.shape_flags, "--remove", "--remove-in", "--prune-threshold"),
    ),
)


# ----------------------------------------------------------------------------- hooks


def _base_net(config: Ha2024TrainConfig, removed: dict | None = None):
    from ..nets.ha2024 import Ha2024Net

    return Ha2024Net(
        texture_channels=config.texture_channels,
        decoder_blocks=config.decoder_blocks,
        linear_manipulator=config.linear_manipulator,
        removed=removed,
    )


def make_net(config: Ha2024TrainConfig) -> torch.nn.Module:
    """Trainer hook: the switched network (phase 1) or the pruned one (phase 3)."""
    if isinstance(config, Ha2024RemovalConfig):
        net = _base_net(config)
        rm.insert_switches(net, config.remove, config.remove_parts)
        return net
    return _base_net(config, removed=getattr(config, "removed", None))


def extra_loss(net: torch.nn.Module, config: Ha2024TrainConfig):
    """Trainer hook: ``lambda_rm L_rm`` in phase 1 (Eq. 4), nothing in phase 3."""
    if not isinstance(config, Ha2024RemovalConfig):
        return torch.zeros(()), {}
    loss = rm.removal_loss(net, config.remove_power)
    switches = rm.switch_parameters(net)
    mean = float(torch.stack([s.detach().clamp(0, 1) for s in switches]).mean())
    return config.remove_weight * loss, {"removal": float(loss.detach()), "switch_mean": mean}


def param_groups(net: torch.nn.Module, config: Ha2024TrainConfig) -> list[dict]:
    """Trainer hook: the switches at ``switch_lr``, everything else at the run's lr."""
    switches = rm.switch_parameters(net)
    ids = {id(s) for s in switches}
    rest = [p for p in net.parameters() if id(p) not in ids]
    groups = [{"params": rest, "lr_scale": 1.0}]
    if switches:
        groups.append({"params": switches, "lr_scale": config.switch_lr / config.lr})
    return groups


# ----------------------------------------------------------------------------- measuring


def pair_gflops(net: torch.nn.Module, size_px: int = FLOPS_SIZE_PX) -> float:
    """GFLOPs (2 x multiply-add) of one pair forward at ``size_px`` square (meta tensors)."""
    from torch.utils.flop_counter import FlopCounterMode

    meta = copy.deepcopy(net).to("meta")
    frame = torch.empty(1, 3, size_px, size_px, device="meta")
    with FlopCounterMode(display=False) as counter:
        meta(frame, frame, 10.0)
    return counter.get_total_flops() / 1e9


def parameters(net: torch.nn.Module, switches: bool = False) -> int:
    """Number of parameters of ``net`` (without the switches unless ``switches``)."""
    ids = set() if switches else {id(s) for s in rm.switch_parameters(net)}
    return sum(p.numel() for p in net.parameters() if id(p) not in ids)


# ----------------------------------------------------------------------------- phases


def switched_net_from(checkpoint: dict) -> torch.nn.Module:
    """The phase-1 network (with its switches) of a removal checkpoint."""
    config = Ha2024RemovalConfig.from_dict(checkpoint["config"])
    net = make_net(config)
    net.load_state_dict(checkpoint["model"])
    return net.eval()


def write_pruned(run_dir: str | os.PathLike, threshold: float | None = None) -> dict:
    """Phase 2: prune the last phase-1 checkpoint; write ``pruned.safetensors`` and its card.

    Returns the card (with ``removal``: :func:`~motionmag.nets.removal.removal_report`).
    """
    from safetensors.torch import save_file

    run = Path(run_dir)
    path = run / REMOVE_DIR / CHECKPOINT
    if not path.is_file():
        raise InputError(f"'{run / REMOVE_DIR}' has no {CHECKPOINT}: run phase 1 first.")
    state = trainer.load_checkpoint(path, model="ha2024-remove")
    config = Ha2024RemovalConfig.from_dict(state["config"])
    tau = config.prune_threshold if threshold is None else float(threshold)
    switched = switched_net_from(state)
    pruned = rm.prune(switched, tau)
    report = rm.removal_report(switched, tau)
    tensors = {k: v.detach().contiguous() for k, v in pruned.state_dict().items()}
    out = run / PRUNED
    with atomic_output(out) as temporary:
        save_file(tensors, str(temporary), metadata={"net": json.dumps(pruned.config)})
    card = {
        "name": out.stem,
        "network": {
            "class": RECIPES["ha2024"].network,
            "config": pruned.config,
            "parameters": count_parameters(tensors),
        },
        "paper": RECIPES["ha2024-remove"].paper,
        "training": {
            "phase": "learning-to-remove, pruned, not retrained",
            "checkpoint": "last",
            "step": state["step"],
            "samples_seen": state["samples_seen"],
            "train_hours": state["train_seconds"] / 3600,
            "sessions": state["sessions"],
        },
        "removal": report,
        "metrics": {"validation_switched": state.get("validation")},
    }
    write_json(out.with_suffix(".json"), card)
    return card


def _load_safetensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


def _init_step(init_from: str | os.PathLike | None) -> int:
    if init_from is None:
        return 0
    card_path = Path(init_from).with_suffix(".json")
    if not card_path.is_file():
        raise InputError(f"--init needs the model card '{card_path}' beside the weights.")
    return int(json.loads(card_path.read_text()).get("training", {}).get("step", 0))


def pruned_config(config: Ha2024RemovalConfig, removed: dict, steps: int) -> Ha2024PrunedConfig:
    """The phase-3 config: phase 1's settings, the pruned architecture, ``steps`` in all."""
    known = Ha2024TrainConfig.__dataclass_fields__
    base = {k: v for k, v in config.to_dict().items() if k in known}
    return Ha2024PrunedConfig.from_dict({**base, "removed": removed, "steps": steps})


def learn_to_remove(
    config: Ha2024RemovalConfig,
    run_dir: str | os.PathLike,
    resume: bool = False,
    init_from: str | os.PathLike | None = None,
    progress: bool = True,
    command: str | None = None,
    max_seconds: float | None = None,
) -> dict:
    """Run the three phases (see the module docstring); returns the report, also in
    ``<run_dir>/removal.json``. ``report["interrupted"]`` names a signal that stopped a
    phase (the later phases are then not run)."""
    config.validate()
    run = Path(run_dir)
    started = time.monotonic()
    start = _init_step(init_from)
    if not resume and config.steps <= start:
        raise UsageError(
            f"--steps {config.steps} is the run's total and the --init weights are at step "
            f"{start} already: pass more steps."
        )
    first = trainer.train_model(
        config, run / REMOVE_DIR, resume=resume, progress=progress, command=command,
        max_seconds=max_seconds, init_from=init_from,
    )  # fmt: skip
    report: dict = {"run": str(run), "command": command, "config": config.to_dict()}
    report["remove_phase"] = {"step": first.step, "validation": first.validation}
    if first.interrupted or first.step < config.steps:
        report["interrupted"] = first.interrupted or "max_seconds"
        write_json(run / REPORT, report)
        return report
    card = write_pruned(run, config.prune_threshold)  # tau as given now, on resume too
    removed = card["network"]["config"].get("removed", {})
    original = _base_net(config)
    pruned = _base_net(config, removed=removed)
    report["removal"] = card["removal"]
    report["size"] = {
        "flops_convention": "GFLOPs = 2 x multiply-add (torch.utils.flop_counter), one pair "
        f"forward at {FLOPS_SIZE_PX}x{FLOPS_SIZE_PX}; Ha et al. Table 1 counts multiply-adds",
        "gflops_before": round(pair_gflops(original), 4),
        "gflops_after": round(pair_gflops(pruned), 4),
        "parameters_before": parameters(original),
        "parameters_after": parameters(pruned),
    }
    report["pruned_weights"] = str(run / PRUNED)
    report["pruned"] = {"step": first.step, "removed": removed, "validation": None}
    if config.validate_every and config.val_samples:  # pruned, before retraining
        pruned.load_state_dict(_load_safetensors(run / PRUNED))
        result = trainer.evaluate(
            pruned, trainer._validation_batches(config), torch.device("cpu"), False
        )
        report["pruned"]["validation"] = {**result, "seed": config.val_seed}
    if config.retrain_steps:
        stale = _set_aside_stale_retrain(run, report["pruned"])
        if stale is not None:
            report["stale_retrain"] = str(stale)
        left = None if max_seconds is None else max_seconds - (time.monotonic() - started)
        target = first.step + config.retrain_steps
        if left is not None and left <= 0:  # --max-hours spent in phase 1: retrain later
            report["interrupted"] = "max_seconds"
            write_json(run / REPORT, report)
            return report
        if not (run / RETRAIN_DIR / CHECKPOINT).is_file():  # a new retrain: say of what
            write_json(run / RETRAIN_BASE, {"step": first.step, "removed": removed})
        second = trainer.train_model(
            pruned_config(config, removed, target),
            run / RETRAIN_DIR, resume=resume and (run / RETRAIN_DIR / CHECKPOINT).is_file(),
            progress=progress, command=command, max_seconds=left, init_from=run / PRUNED,
        )  # fmt: skip
        report["retrain_phase"] = {"step": second.step, "validation": second.validation}
        if second.interrupted or second.step < target:
            report["interrupted"] = second.interrupted or "max_seconds"
    write_json(run / REPORT, report)
    return report


def _set_aside_stale_retrain(run: Path, pruned: dict) -> Path | None:
    """Rename ``<run>/retrain`` to ``retrain-from-step-S`` when it retrains another
    pruning than ``pruned`` (phase 1 went on since, or tau changed): resuming it would
    ship weights that do not descend from the reported pruning. Which pruning it started
    from is in ``retrain-base.json``, written when it began (runs from before that file:
    the last ``removal.json``). Returns the new name, or None."""
    retrain = run / RETRAIN_DIR
    if not (retrain / CHECKPOINT).is_file():
        return None
    source = run / RETRAIN_BASE if (run / RETRAIN_BASE).is_file() else run / REPORT
    try:
        base = json.loads(source.read_text())
        base = base.get("pruned") or {} if source.name == REPORT else base
    except (OSError, ValueError, AttributeError):
        return None
    if not base:
        return None
    if (
        base.get("step") == pruned["step"]
        and base.get("removed", pruned["removed"]) == (pruned["removed"])
    ):
        return None
    name = f"{RETRAIN_DIR}-from-step-{base.get('step', 'unknown')}"
    stale, suffix = run / name, 1
    while stale.exists():
        suffix += 1
        stale = run / f"{name}-{suffix}"
    retrain.rename(stale)
    return stale


def export_pruned(run_dir: str | os.PathLike, out_path: str | os.PathLike) -> dict:
    """Export the retrained pruned network (``export_weights`` of ``<run>/retrain``) with
    the removal report in its card (``removal``); without phase 3, the pruned weights."""
    run = Path(run_dir)
    out = Path(out_path)
    pruned_card = json.loads((run / PRUNED).with_suffix(".json").read_text())
    if (run / RETRAIN_DIR / CHECKPOINT).is_file():
        card = trainer.export_weights(run / RETRAIN_DIR, out)
    else:
        if out.suffix != ".safetensors":
            raise UsageError(f"weights file '{out}' must end in .safetensors.")
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(out) as temporary:
            temporary.write_bytes((run / PRUNED).read_bytes())
        card = _pruned_only_card(run, out, pruned_card)
    card["removal"] = pruned_card["removal"]
    write_json(out.with_suffix(".json"), card)
    return card


def _pruned_only_card(run: Path, out: Path, pruned_card: dict) -> dict:
    """The card of pruned weights exported without retraining: an ordinary card (data,
    input, alpha, loss, ...: ``export_weights`` of phase 1's last checkpoint) with the
    pruned network, and as ``metrics.validation`` the pruned network's own, measured
    before retraining (``removal.json``; None when the run did not validate)."""
    with tempfile.TemporaryDirectory() as scratch:
        card = trainer.export_weights(
            run / REMOVE_DIR, Path(scratch) / "switched.safetensors", "last"
        )
    report = json.loads((run / REPORT).read_text()) if (run / REPORT).is_file() else {}
    card["name"] = out.stem
    card["network"] = pruned_card["network"]
    card["training"]["phase"] = pruned_card["training"]["phase"]
    card["metrics"] = {"validation": (report.get("pruned") or {}).get("validation")}
    return card
