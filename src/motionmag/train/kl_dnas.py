"""Training KL-DNAS (Singh 2024, Ch. 4): ``motionmag train kl-dnas``, one run per stage.

What matters (THESIS.md s.4.3-4.6):

- **Teacher**: a frozen LW-MM (``--teacher``), the noise-free one (LW-MM's proxy run,
  ``motionmag train lwmm --noise-max 0``); it sees the clean pair, the student the noisy
  one. The student's width is the teacher's 1/2-resolution width 2C (read from its card).
- **Four runs in series** (``--stage``), each starting from the previous run's export
  (``--previous``), whose searched parts are derived first (argmax, weights inherited):
  1. ``encoder`` (Fig. 4.2a): ``L_E = |E_Ta(X_a) - E_Sa(x_a)|_1 + |E_Tb(X_b) - E_Sb(x_b)|_1``
     (Eq. 4.2); the prediction goes through the frozen teacher,
     ``Y^E = D_T(A_T + M_T((E_Sb - E_Sa) alpha))`` (Eq. 4.3); loss
     ``L_mag(Y^E, Y) + kd_weight L_E + latency_weight L_lat`` (Eq. 4.4).
     [choice] Our LW-MM's appearance encoder reads the streams' full-resolution features,
     which a student's encoder does not produce: ``A_T`` here is the teacher's on the same
     noisy pair.
  2. ``middle`` (Fig. 4.2b): appearance and manipulator on the derived encoder,
     ``L_{M,A} = |A_T(X) - A_S(x)|_1 + |M_T(X) - M_S(x)|_1`` (Eq. 4.5),
     ``Y^{M,A} = D_T(A_S + M_S)`` (Eq. 4.6), loss as Eq. 4.7.
  3. ``decoder`` (Fig. 4.2c): the whole student, ``L_mag(Y^D, Y) + L_lat`` (Eq. 4.9).
  4. ``finetune`` (THESIS.md s.4.6's suggestion; the thesis does not describe the final
     training): every part derived, the whole student on noisy inputs, ``L_mag`` plus the
     feature terms at ``kd_weight`` (0 turns them off).
- ``L_mag`` is the thesis's shared image loss (``train/thesis.py``: 10 L1 + edge L1 + 0.1
  spectrum L1 in place of VGG); Eq. 4.1's appearance terms train the teacher, not the
  student.
- **Latency** (``nets/kl_dnas_latency.py``): the lookup table is measured on this machine
  when the run starts (one 640x360 frame), or read from ``--latency-table`` (a record of
  ``benchmarks/kl_dnas_latency.py`` made on the machine the model is for); a stage's
  target is ``latency_fraction`` (0.45, SM1's ratio) of the teacher's time for that stage
  measured the same way, plus what the previous stage left unspent when it came in under
  its target (Sec. 4.1.3; an overshoot is not taken from the next stage).
  ``L_lat = |log(latency / target)|`` (Eq. 4.11).
- **Optimisation** (THESIS.md s.4.6's suggestion; the thesis does not say): the mixture
  logits by Adam at ``arch_lr`` 3e-4, betas (0.5, 0.999), weight decay 1e-3, frozen for
  the first ``arch_warmup`` (10 %) of the run's ``--steps``; the weights by Adam at
  ``lr``. ``--arch-schedule alternate`` is first-order DARTS: after the warm-up, steps
  take turns, a weight step on one batch, then a logit step on the next (a batch the
  weights have not trained on: with a generator every batch is fresh, which is what
  DARTS's held-out split gives). ``joint`` [choice, the default on CPU] updates both on
  every batch (one-level DARTS), half the cost per weight update.
- Validation SSIM is of the whole student; in the ``encoder`` and ``middle`` stages that
  includes untrained parts, so those stages do not validate (the last checkpoint is
  exported).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from ..errors import InputError, UsageError
from ..nets.pair import factor_like
from .lwmm import INPUT  # noqa: F401  (a trainer hook: LW-MM's padding, the same input)
from .oh2018 import card_network, frozen_weights
from .thesis import (
    IMAGE_LOSS,
    ThesisTrainConfig,
    image_loss,
    image_loss_card,
    inputs_and_clean_pair,
    noise_card,  # noqa: F401  (a trainer hook of these recipes)
    note_if_noisy,
    register_recipe,
)

NETWORK = "motionmag.nets.kl_dnas:KLDNASNet"
TEACHER_NETWORK = "motionmag.nets.lwmm:LWMMNet"
#: the runs in order; every one but the first starts from the previous one's export
RUN_STAGES = ("encoder", "middle", "decoder", "finetune")
#: how logits and weights share the batches (module docstring)
ARCH_SCHEDULES = ("joint", "alternate")
#: Adam's betas and weight decay of the mixture logits (THESIS.md s.4.6)
ARCH_BETAS = (0.5, 0.999)
ARCH_WEIGHT_DECAY = 1e-3
LOSS = (
    IMAGE_LOSS + " (L_mag, Eq. 4.1's image terms) on the stage's prediction (Eqs. 4.3, 4.6, "
    "4.8) + kd_weight x the stage's feature L1 to the clean teacher (Eqs. 4.2, 4.5) + "
    "latency_weight x |log(latency / target)| (Eq. 4.11)"
)


@dataclass
class KLDNASTrainConfig(ThesisTrainConfig):
    """One KL-DNAS run: the stage, the teacher, the previous stage, the search space."""

    MODEL: ClassVar[str] = "kl-dnas"
    WEIGHT_FIELDS = (*ThesisTrainConfig.WEIGHT_FIELDS, "kd_weight", "latency_weight")

    stage: str = "encoder"
    teacher: str | None = None  # the frozen noise-free LW-MM's .safetensors
    previous: str | None = None  # the previous stage's export (all stages but the first)
    layers: int = 4  # LR layers per block (the thesis's layout)
    reach: int = 3  # earlier layers an LC chain reaches back
    ops: str = "reduced"  # the LR op set (nets.kl_dnas.OP_SETS)
    kd_weight: float = 0.1  # lambda_4 (Eqs. 4.4, 4.7)
    latency_weight: float = 1.0
    latency_fraction: float = 0.45  # of the teacher's stage latency (SM1: 0.45)
    arch_lr: float = 3e-4  # Adam lr of the mixture logits
    arch_warmup: float = 0.1  # share of --steps with the logits frozen (THESIS.md s.4.6)
    arch_schedule: str = "joint"  # joint (one-level) | alternate (first-order DARTS)
    latency_table: str | None = None  # JSON of benchmarks/kl_dnas_latency.py; None: measure here
    # the table measured here when the run started (no --latency-table): kept in the
    # checkpoint's config, so that --resume searches against the same table (ours)
    measured_latency: dict | None = None

    def validate(self) -> None:
        super().validate()
        from ..nets.kl_dnas import OP_SETS

        if self.stage not in RUN_STAGES:
            raise UsageError(f"--stage {self.stage!r}: choose one of {', '.join(RUN_STAGES)}.")
        if self.ops not in OP_SETS:
            raise UsageError(f"--ops {self.ops!r}: choose one of {', '.join(OP_SETS)}.")
        if self.layers < 1 or self.reach < 0:
            raise UsageError(f"--layers {self.layers} must be >= 1 and --reach >= 0.")
        if not (self.latency_fraction > 0 and self.arch_lr > 0):
            raise UsageError("--latency-fraction and --arch-lr must be > 0.")
        if not 0 <= self.arch_warmup < 1:
            raise UsageError(f"--arch-warmup {self.arch_warmup}: give a share in [0, 1).")
        if self.arch_schedule not in ARCH_SCHEDULES:
            raise UsageError(
                f"--arch-schedule {self.arch_schedule!r}: choose {' or '.join(ARCH_SCHEDULES)}."
            )
        if self.teacher is None:
            raise UsageError(
                "kl-dnas needs --teacher: a noise-free LW-MM, trained with `motionmag train "
                "lwmm --noise-max 0 --export FILE.safetensors`."
            )
        if card_network("--teacher", self.teacher).get("class") != TEACHER_NETWORK:
            raise UsageError(f"--teacher '{self.teacher}' is not an LW-MM network.")
        note_if_noisy("--teacher", self.teacher)
        if self.stage == "encoder":
            if self.previous is not None:
                raise UsageError("the encoder stage is the first: leave out --previous.")
        elif self.previous is None:
            before = RUN_STAGES[RUN_STAGES.index(self.stage) - 1]
            raise UsageError(f"--stage {self.stage} needs --previous: the {before} stage's export.")
        elif card_network("--previous", self.previous).get("class") != NETWORK:
            raise UsageError(f"--previous '{self.previous}' is not a KL-DNAS network.")
        else:  # the student was built at its teacher's width: the same teacher goes on
            network = card_network("--previous", self.previous)
            before = RUN_STAGES[RUN_STAGES.index(self.stage) - 1]
            made_by = network.get("search", {}).get("stage")
            if made_by is not None and made_by != before:
                raise UsageError(
                    f"--previous '{self.previous}' is the {made_by} stage's export, but --stage "
                    f"{self.stage} continues the {before} stage's: give that one."
                )
            width = network.get("config", {}).get("channels")
            if width is not None and int(width) != teacher_width(self.teacher):
                raise UsageError(
                    f"--previous '{self.previous}' is {width} channels wide, but this --teacher "
                    f"makes a student {teacher_width(self.teacher)} wide: give the teacher the "
                    "earlier stages were searched with."
                )
        if self.latency_table is not None:
            read_latency_table(self.latency_table, teacher_width(self.teacher), self.ops)
        if self.stage in ("encoder", "middle"):
            self.validate_every = 0  # the student's other parts are untrained (docstring)


register_recipe(
    KLDNASTrainConfig, NETWORK, "Ch. 4: KL-DNAS, latency-aware NAS with distillation", LOSS,
    ("kd", "latency", "latency_ms"), __name__,
    shape_flags=("--teacher (its width)", "--layers", "--reach", "--ops", "--previous"),
)  # fmt: skip


def teacher_width(path: str) -> int:
    """The student's width: the teacher's 1/2-resolution width 2C, from its card."""
    return 2 * int(card_network("--teacher", path).get("config", {}).get("channels", 24))


def read_latency_table(path: str, width: int, ops: str) -> dict:
    """``{"lookup_table_ms", "teacher_ms"}`` for student ``width`` from a JSON record of
    ``benchmarks/kl_dnas_latency.py`` (measured on the machine the model is for, e.g. a
    laptop, while the search runs on a lent GPU); UsageError when it has no such entry or
    lacks an op of ``ops``."""
    from ..nets.kl_dnas import COMBINE_OPS, OP_SETS, STAGES

    if not Path(path).is_file():
        raise InputError(f"--latency-table '{path}' does not exist: check the path.")
    try:
        results = json.loads(Path(path).read_text())["results"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(
            f"--latency-table '{path}' is not a record of benchmarks/kl_dnas_latency.py: "
            "write one with `python benchmarks/kl_dnas_latency.py --json FILE`."
        ) from None
    try:
        entry = next(e for e in results.values() if e["student_width"] == width)
    except (KeyError, TypeError, AttributeError, StopIteration):
        raise UsageError(
            f"--latency-table '{path}' has no table for width {width}: write one with "
            "`python benchmarks/kl_dnas_latency.py --json FILE` on the target machine."
        ) from None
    needed = {*OP_SETS[ops], *COMBINE_OPS, *(f"fixed/{stage}" for stage in STAGES)}
    missing = needed - set(entry["lookup_table_ms"]) | set(STAGES) - set(entry["teacher_ms"])
    if missing:
        raise UsageError(
            f"--latency-table '{path}' lacks {', '.join(sorted(missing))}: measure it with "
            f"--ops {ops}."
        )
    return entry


def _previous_card(config: KLDNASTrainConfig) -> dict:
    return json.loads(Path(config.previous).with_suffix(".json").read_text())


#: the key of :data:`_LATENCY` of the run in progress (the card's record reads it)
_CURRENT: list[tuple] = []


#: the latency table and the stage's target per (run stage, teacher, previous), measured
#: once per process
_LATENCY: dict[tuple, dict] = {}


def latency_plan(config: KLDNASTrainConfig) -> dict:
    """``{"costs": table, "teacher_ms": per stage, "target_ms": this stage's}``: read from
    ``--latency-table``, or measured on this machine at the run's first call
    (``nets/kl_dnas_latency.py``) and kept in ``config.measured_latency``, which the
    checkpoints carry: a resumed run reuses it instead of measuring again (a table
    measured anew would move the target in the middle of a search)."""
    from ..nets.kl_dnas_latency import measure_costs, teacher_latency_ms

    key = (config.stage, config.teacher, config.previous, config.ops)
    if key not in _LATENCY:
        width = teacher_width(config.teacher)
        kept = config.measured_latency or {}
        if config.latency_table is not None:
            entry = read_latency_table(config.latency_table, width, config.ops)
            costs, teacher_ms = entry["lookup_table_ms"], entry["teacher_ms"]
        elif kept.get("ops") == config.ops and kept.get("student_width") == width:
            costs, teacher_ms = kept["lookup_table_ms"], kept["teacher_ms"]  # a resumed run
        else:
            teacher = frozen_weights("lwmm", config.teacher, torch.device("cpu"))
            costs = measure_costs(width, config.ops)
            teacher_ms = teacher_latency_ms(teacher)
            config.measured_latency = {
                "ops": config.ops, "student_width": width, "teacher_ms": teacher_ms,
                "lookup_table_ms": costs, "threads": torch.get_num_threads(),
            }  # fmt: skip
        carried = 0.0
        if config.previous is not None:
            search = _previous_card(config).get("network", {}).get("search", {})
            carried = max(float(search.get("unspent_ms", 0.0)), 0.0)  # only a saving carries
        target = None
        if config.stage in ("encoder", "middle", "decoder"):
            target = max(config.latency_fraction * teacher_ms[config.stage] + carried, 1e-3)
        _LATENCY[key] = {"costs": costs, "teacher_ms": teacher_ms, "target_ms": target,
                         "carried_ms": carried}  # fmt: skip
    _CURRENT[:] = [key]
    return _LATENCY[key]


# ----------------------------------------------------------------------------- hooks


def make_net(config: KLDNASTrainConfig) -> torch.nn.Module:
    """Trainer hook: the encoder stage's supernet, or the previous stage's network with
    its searched parts derived (every stage's parts are derived for ``finetune``)."""
    from ..models import create_model
    from ..nets.kl_dnas import PARTS, STAGES, KLDNASNet, derive

    if config.previous is None:
        return KLDNASNet(teacher_width(config.teacher), config.layers, config.reach, config.ops)
    before = RUN_STAGES[RUN_STAGES.index(config.stage) - 1]
    previous = create_model("kl-dnas", weights=config.previous)
    return derive(previous, PARTS if config.stage == "finetune" else STAGES[before])


def param_groups(net: torch.nn.Module, config: KLDNASTrainConfig) -> list[dict]:
    """Trainer hook: the weights at ``lr``; the mixture logits at ``arch_lr`` with their
    own betas and weight decay, frozen for the warm-up, then every step (``joint``) or
    every other step, taking turns with the weights (``alternate``)."""
    arch = net.arch_parameters()
    ids = {id(p) for p in arch}
    weights = {"params": [p for p in net.parameters() if id(p) not in ids]}
    if not arch:  # a derived student (the finetune stage) has no logits left
        return [weights]
    warmup = math.ceil(config.arch_warmup * config.steps)
    logits = {"params": arch, "lr_scale": config.arch_lr / config.lr, "own_betas": ARCH_BETAS,
              "weight_decay": ARCH_WEIGHT_DECAY, "start_step": warmup}  # fmt: skip
    if config.arch_schedule == "alternate":
        weights.update(every=(2, 0), every_from=warmup)
        logits.update(every=(2, 1), every_from=warmup)
    return [weights, logits]


def task_loss(
    net: torch.nn.Module,
    batch: dict,
    config: KLDNASTrainConfig,
    noise: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Trainer hook: the stage's loss (module docstring)."""
    from ..nets.kl_dnas_latency import expected_latency, latency_loss

    (a, b, y, alpha), (clean_a, clean_b) = inputs_and_clean_pair(batch, config, noise, device)
    teacher = frozen_weights("lwmm", config.teacher, device)
    stage = config.stage
    e_a, e_b = net.encode(a, b)
    kd = torch.zeros((), device=device)  # Eq. 4.9 (decoder) has no feature term
    if stage != "decoder":
        with torch.no_grad():
            clean = teacher.encode(clean_a, clean_b)
    if stage in ("encoder", "finetune"):  # Eq. 4.2 (the fine-tuning keeps every term, s.4.6)
        kd = kd + (e_a - clean["E_a"]).abs().mean() + (e_b - clean["E_b"]).abs().mean()
    if stage == "encoder":
        with torch.no_grad():
            noisy_appearance = teacher.appearance_only(a, b)
        difference = (e_b - e_a) * factor_like(alpha, e_b)
        image = teacher.draw(noisy_appearance + teacher.manipulator(difference))
    else:
        appearance = net.appearance_features(e_a, e_b)
        motion = net.motion_features(e_a, e_b, alpha)
        if stage in ("middle", "finetune"):  # Eq. 4.5
            with torch.no_grad():
                clean_motion = teacher.manipulator(teacher.difference(clean, alpha))
            kd = kd + (appearance - clean["A"]).abs().mean() + (motion - clean_motion).abs().mean()
        if stage == "middle":
            image = teacher.draw(appearance + motion)
        else:
            image = net.decode(appearance, motion)
    total, parts = image_loss((image + 1.0) * 0.5, y, config)
    total = total + config.kd_weight * kd
    plan = latency_plan(config)
    latency = torch.zeros(())
    lat_loss = torch.zeros(())
    if plan["target_ms"] is not None:
        latency = expected_latency(net, plan["costs"], config.stage)
        lat_loss = latency_loss(latency, plan["target_ms"])
        total = total + config.latency_weight * lat_loss.to(device)
    parts.update(kd=float(kd.detach()), latency=float(lat_loss.detach()),
                 latency_ms=float(latency.detach()))  # fmt: skip
    return total, {"total": float(total.detach()), **parts}


def loss_card(config: dict) -> dict:
    """Trainer hook: the card's loss entries and the search's record (genotype, latency)."""
    return {
        **image_loss_card(config),
        "kd_weight": config["kd_weight"],
        "latency_weight": config["latency_weight"],
        "teacher": f"{config['teacher']}: LW-MM trained without noise, frozen, fed the "
        "clean pair (Ch. 4.1)",
        "stage": config["stage"],
        "previous": config.get("previous"),
        "optimisation": _optimisation_card(config),
        "earlier_stages": earlier_stages(config.get("previous")),
    }


def earlier_stages(previous: str | None) -> list[dict]:
    """What the stages before this one did, from the chain of ``--previous`` cards, first
    stage first: stage, steps, samples, hours, sessions and the genotype it derived (the
    last stage's card then tells the whole search, not its own run only)."""
    if previous is None:
        return []
    card = json.loads(Path(previous).with_suffix(".json").read_text())
    training, search = card.get("training", {}), card.get("network", {}).get("search", {})
    own = {
        "stage": training.get("stage"),
        "weights": str(previous),
        "step": training.get("step"),
        "samples_seen": training.get("samples_seen"),
        "train_hours": training.get("train_hours"),
        "sessions": training.get("sessions"),
        "derived_genotype": search.get("derived_genotype"),
        "latency_ms": search.get("latency_ms"),
        "target_ms": search.get("target_ms"),
    }
    return [*training.get("earlier_stages", []), own]


def _optimisation_card(config: dict) -> str:
    schedule = config.get("arch_schedule", "joint")
    how = ("first-order DARTS: weight and logit steps take turns on successive batches"
           if schedule == "alternate" else
           "one-level DARTS: logits and weights updated on every batch (ours)")  # fmt: skip
    return (
        f"{how}; logits by Adam at lr {config['arch_lr']}, betas {list(ARCH_BETAS)}, weight "
        f"decay {ARCH_WEIGHT_DECAY}, frozen for the first {config.get('arch_warmup', 0.0):.0%} "
        "of the run's steps (THESIS.md s.4.6)"
    )


def network_card(net_config: dict, tensors: dict[str, torch.Tensor]) -> dict:
    """Trainer hook: the genotype this stage derives and its latency against the target,
    so that the next stage can carry the unspent budget."""
    from ..nets.kl_dnas import STAGES, KLDNASNet, derive
    from ..nets.kl_dnas_latency import expected_latency

    net = KLDNASNet(**net_config)
    net.load_state_dict(tensors)
    record: dict = {"mixed_layers": len(net.arch_parameters())}
    for key in _CURRENT:
        stage, plan = key[0], _LATENCY[key]
        if plan["target_ms"] is not None:
            derived = derive(net, STAGES[stage])
            spent = float(expected_latency(derived, plan["costs"], stage))
            record.update(stage=stage, derived_genotype=derived.config["genotype"],
                          latency_ms=spent, target_ms=plan["target_ms"],
                          unspent_ms=plan["target_ms"] - spent,
                          teacher_ms=plan["teacher_ms"], lookup_table_ms=plan["costs"],
                          carried_ms=plan["carried_ms"])  # fmt: skip
    return {"search": record}
