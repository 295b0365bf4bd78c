"""Training the learned magnifiers (Oh et al. 2018, Ha et al. 2024): resumable, CPU or CUDA.

What matters:

- **One trainer, the model chosen by the config's class**: :class:`Oh2018TrainConfig`
  trains :class:`~motionmag.nets.oh2018.Oh2018Net` with Oh's loss,
  :class:`Ha2024TrainConfig` trains :class:`~motionmag.nets.ha2024.Ha2024Net` with Oh's
  loss plus an image-gradient L1 in place of Ha's VGG perceptual loss
  (:func:`~motionmag.train.losses.ha2024_loss`). Data, noise, optimiser, validation,
  checkpoints and export are shared (:data:`RECIPES` holds what differs). An oh2018 run
  is untouched by this: same config keys, same checkpoint format string, same log
  columns, same random numbers, so runs started before ha2024 existed resume exactly.
  The checkpoint's ``format`` names the model: one model's run cannot be resumed, or
  its weights used with ``--init``, as the other's.
- **Variants by hooks**: a :class:`Recipe` may name a ``hooks`` module that builds the
  network, adds a loss term and sets parameter groups (``train.removal``: Ha et al.'s
  learning-to-remove phase and the retraining of the pruned network, registered in
  :data:`RECIPES` when that module is imported; :func:`checkpoint_model` imports it when
  it meets one of its checkpoints). Recipes without hooks run exactly as before.

- **The paper's recipe** (Sec. 3.2 "Training"; METHODS.md section 1): loss
  ``L1(Y, Yhat) + 0.1 (L1(V_a, V_b) + L1(V'_b, V'_Y) + L1(M_b, M'_b))``
  (:func:`~motionmag.train.losses.oh2018_loss`), Adam lr 1e-4, betas (0.9, 0.999), no
  weight decay, batch 4, Poisson-like noise on every *input* frame (A, B, B', Y'; the
  target Y stays clean) with one strength ``s ~ U(0, 0.3)`` per sample
  (``synth.datasets.add_training_noise``). Yhat is decoded from B's texture and the
  manipulated shape, as in the released code. Crops smaller than the paper's 384 px
  are fine: the network is fully convolutional (``--size``).
- **Data**: samples rendered on the fly by DataLoader workers
  (``synth.datasets.Oh2018Dataset``, dataset ``--seed``, ``dataset_size`` samples, the
  paper's 100k by default) or read from ``motionmag synth`` shards (``--shards``): the
  same items either way. The order is a seeded permutation per epoch, a pure function
  of the position in the stream, so a resumed run reads exactly the samples an
  uninterrupted one would.
- **Resumable**: ``checkpoint.pt`` in the run folder holds the model, the optimiser,
  the step, the samples seen, the training time and the noise RNG state; it is written
  atomically every ``checkpoint_every`` steps, at the end, and on SIGTERM / Ctrl-C (the
  step in flight finishes first; a second Ctrl-C aborts). Resuming (``--resume``)
  continues the same step count with the same optimiser state and data order. The run
  folder, the counters and the step loop are shared with the other trainers
  (``train/run_state.py``, ``train/loop.py``).
- **Validation**: every ``validate_every`` steps the network magnifies a held-out set
  (``val_seed``, never the training seed) without noise; the mean SSIM against the true
  Y goes to ``validation.csv`` (with the input's SSIM B vs Y as the floor to beat), and
  the best weights to ``best.pt``. Training losses go to ``log.csv``; progress (tqdm,
  stderr) shows samples/hour and the ETA.
- **Export**: :func:`export_weights` writes the weights as safetensors plus a JSON model
  card (network config, data: generator config, seed, samples seen; training time,
  devices, commands; validation SSIM) for ``motionmag.models``.

Measured throughput on the 2-core machine (AMD EPYC, torch 2.13 CPU, 2 torch threads, fp32,
channels-last, batch 4, on-the-fly data, 140-s runs, steady rate after the first 10 steps;
the machine was shared, so +-5 % is noise):

    crop     workers 0          workers 1          workers 2
    128 px   28,000 /h 0.51 s   26,300 /h 0.55 s   25,500 /h 0.57 s   (samples/h, s/step)
    256 px    6,100 /h 2.36 s    6,100 /h 2.35 s    6,600 /h 2.19 s

ha2024 (default network, 14.7 GFLOPs per 384-px pair), 128 px, batch 4, 1 torch thread,
workers 0, on the same machine while it was loaded (an oh2018 run and an eval running,
load average ~5 on 2 cores): 0.20 s per step including rendering (0.18 s for the step
alone, rendering 4 samples 0.09 s), against 1.25 s for oh2018 measured in the same
conditions: about 6x, ~70,000 samples/h under that load.

A step encodes four frames (A, B, B', Y'), so it costs more than a bare forward/backward of
a pair (EVALUATION.md: 0.40 s at 128 px). On two cores a data worker competes with the
training step's two threads: rendering a 128 px sample takes 0.026 s (0.085 s at 256 px),
so in-process rendering (``--workers 0``) is as fast or faster at 128 px; workers pay off
on a GPU machine (and with large ``--images`` photos). Workers are *spawned* (a fork after
OpenCV/OpenMP ran in the parent deadlocked here), so scripts that call
:func:`train_oh2018` with workers need the ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import ClassVar

import torch
from torch.utils.data import DataLoader, Sampler

from ..atomic import write_json
from ..devices import resolve_device
from ..errors import InputError, UsageError
from ..magnify.learned import (
    MIRRORS,
    VIEWS,
    average_mirrored,
    check_precision,
    mirrored,
    warn_if_bf16_is_emulated,
)
from ..nets.oh2018 import Oh2018Net
from .loop import TrainResult, check_schedule, run_steps
from .losses import ha2024_loss, oh2018_loss, ssim, ssim_term
from .run_state import (
    BEST,
    RunState,
    atomic_save,
    card_beside,
    load_init,
    open_run,
    pick_checkpoint,
    read_checkpoint_file,
    save_weights,
    start_files,
)

#: checkpoint layout version (of oh2018 runs; ``RECIPES[model].checkpoint_format``)
CHECKPOINT_FORMAT = "motionmag-train-oh2018/1"
#: the settings that make the validation set (rendered from ``val_seed`` on ``images``
#: at ``size_px``, without small motions whatever the training share): another value on
#: ``--resume`` validates on other cases (``RunState.restore``)
VALIDATION_FIELDS = ("val_seed", "val_samples", "size_px", "images")

_VAL_FIELDS = ("step", "samples_seen", "train_hours", "ssim", "l1", "input_ssim")


@dataclass
class Oh2018TrainConfig:
    """Everything that defines a training run (defaults: the paper's recipe, 128 px crops).

    The class names the model (``MODEL``); :class:`Ha2024TrainConfig` adds its fields.
    """

    MODEL: ClassVar[str] = "oh2018"

    # the side of each rendered sample, px (the paper renders 384 px samples): the scene is
    # drawn at this size, not cropped from a larger one, while the motion limits stay in
    # px (30 px magnified spans 23 % of 128 px, 8 % of 384; benchmarks/validation_size.py)
    size_px: int = 128
    batch: int = 4
    steps: int = 100_000  # total steps of the run (not additional ones)
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    reg_weight: float = 0.1  # lambda
    noise_max: float = 0.3  # s ~ U(0, noise_max), [-1, 1]-unit factor of the authors' code
    seed: int = 0  # dataset seed (on-the-fly data); also seeds init, order and noise
    dataset_size: int = 100_000  # samples per epoch of on-the-fly data (the paper's 100k)
    shards: str | None = None  # read `motionmag synth` shards instead of rendering
    images: tuple[str, ...] = ()  # extra photo folders for on-the-fly data
    workers: int = 1  # DataLoader worker processes (0: render in the training process)
    device: str = "cpu"
    channels_last: bool = True
    checkpoint_every: int = 500  # steps
    log_every: int = 50  # steps
    validate_every: int = 2000  # steps (0: never)
    val_samples: int = 40
    val_seed: int = 1_000_000  # held-out dataset seed for validation
    linear_manipulator: bool = False
    # "bf16": the decoder runs under torch.autocast(bfloat16) (ours; the encoder and the
    # manipulator stay fp32, as at inference): ~1.6x the steps per hour on a CPU with AMX
    precision: str = "fp32"
    # ours: share of layer motions drawn log-uniform in [0.02, 1] px (training data only;
    # validation keeps the paper's draw), see synth/oh2018.py
    small_motion_fraction: float = 0.0
    # ours: weight of 1 - SSIM(Yhat, Y) added to the loss (0: the paper's loss)
    ssim_weight: float = 0.0

    def validate(self) -> None:
        """UsageError for settings that can never work."""
        if not (self.ssim_weight >= 0 and math.isfinite(self.ssim_weight)):
            raise UsageError(f"--ssim-weight {self.ssim_weight} must be >= 0.")
        if not (self.noise_max >= 0 and math.isfinite(self.noise_max)):
            raise UsageError(f"--noise-max {self.noise_max} must be >= 0.")
        if not 0.0 <= self.small_motion_fraction <= 1.0:
            raise UsageError(
                f"--small-motion-fraction {self.small_motion_fraction} must lie in [0, 1]."
            )
        check_precision(self.precision)
        if self.size_px < 32 or self.size_px % 4:
            raise UsageError(f"--size {self.size_px} must be a multiple of 4 and at least 32.")
        check_schedule(self, ("batch", "steps", "dataset_size", "checkpoint_every", "log_every"))
        if self.val_seed == self.seed and self.validate_every and self.shards is None:
            raise UsageError(
                f"the validation seed {self.val_seed} equals the training seed: "
                "choose another --seed (validation must be held out)."
            )
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UsageError(f"learning rate {self.lr} must be a positive number.")
        if self.shards is not None:
            from ..synth.shards import read_manifest

            check_shards_match(read_manifest(self.shards), self)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["betas"] = list(self.betas)
        data["images"] = list(self.images)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Oh2018TrainConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        if "images" in values:
            values["images"] = tuple(values["images"])
        return cls(**values)


@dataclass
class Ha2024TrainConfig(Oh2018TrainConfig):
    """An ``ha2024`` run: the Oh2018 recipe plus the gradient loss and the network's size."""

    MODEL: ClassVar[str] = "ha2024"

    edge_weight: float = 1.0  # weight of the gradient L1 (perceptual-loss substitute)
    texture_channels: int = 16  # Ha2024Net: 0 = no texture/shape split
    decoder_blocks: int = 36  # Ha2024Net: 1/4-resolution ResBlocks (Oh's 9, x4)
    # distillation (ours): exported oh2018 / ha2024 weights whose output replaces the true
    # frame Y as the L1 / gradient-L1 target (the regularisers are unchanged); None: Y.
    # Several: the mean of their outputs (an ensemble teacher; see teacher_paths)
    teacher: str | list[str] | None = None
    teacher_views: int = 1  # each teacher averaged over its first N mirror views (1, 2, 4)

    def validate(self) -> None:
        super().validate()
        if not (self.edge_weight >= 0 and math.isfinite(self.edge_weight)):
            raise UsageError(f"--edge-weight {self.edge_weight} must be >= 0.")
        if self.texture_channels < 0 or self.decoder_blocks < 0:
            raise UsageError("--texture-channels and --decoder-blocks must not be negative.")
        for path in teacher_paths(self.teacher):
            teacher_model(path)
        if self.teacher_views not in VIEWS:
            raise UsageError(f"--teacher-views {self.teacher_views} must be one of {VIEWS}.")


def teacher_paths(teacher: str | list[str] | None) -> list[str]:
    """The teacher weights of a run's ``teacher`` setting as a list (none, one or several;
    older runs stored a single path as a string)."""
    if teacher is None:
        return []
    return [teacher] if isinstance(teacher, str) else list(teacher)


#: the networks a distillation teacher may be (``network.class`` of its card -> model)
TEACHER_MODELS = {
    "motionmag.nets.oh2018:Oh2018Net": "oh2018",
    "motionmag.nets.ha2024:Ha2024Net": "ha2024",
}


#: names of saved tensors that are buffers, not learned parameters (BatchNorm statistics)
BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def count_parameters(tensors: dict[str, torch.Tensor]) -> int:
    """Learned values among saved weights: every tensor but BatchNorm's buffers (a
    model card's ``parameters``, as ``sum(p.numel() for p in net.parameters())``)."""
    return sum(v.numel() for k, v in tensors.items() if not k.endswith(BUFFER_SUFFIXES))


def card_network(flag: str, path: str | os.PathLike, hint: str = "") -> dict:
    """The ``network`` entry of the model card beside the weights at ``path`` that option
    ``flag`` names (a teacher, a proxy); InputError when either file is missing or the
    card is unreadable (``run_state.card_beside``; the sentence ends with ``hint``)."""
    return card_beside(flag, path, hint).get("network", {})


def teacher_model(path: str | os.PathLike) -> str:
    """The model name (``oh2018`` or ``ha2024``) of the teacher weights at ``path``, from
    the model card beside them; UsageError when either is missing or names another net.

    Our choice: an ha2024 student may learn from either net; oh2018's larger decoder is
    ahead of ha2024's on the sub-pixel test, so it is the teacher to reach parity with it.
    """
    network = card_network("--teacher", path).get("class")
    if network not in TEACHER_MODELS:
        raise UsageError(
            f"--teacher '{Path(path)}' holds {network}: give oh2018 or ha2024 weights."
        )
    return TEACHER_MODELS[network]


@dataclass(frozen=True)
class Recipe:
    """What differs between the models the trainer knows (everything else is shared)."""

    model: str
    config_class: type
    network: str  # "module:Class" for the model card
    checkpoint_format: str
    paper: str
    loss: str  # the card's description of the loss
    log_parts: tuple[str, ...]  # loss parts logged per step (log.csv columns)
    # module with make_net(config) and, each optional: task_loss(net, batch, config,
    # noise, device) -> (loss, parts) (replaces the built-in one), extra_loss(net,
    # config) -> (loss, parts), param_groups(net, config) -> [{"params", "lr_scale"}];
    # for the model card loss_card(config dict) -> entries, noise_card(config dict) ->
    # the "noise" text, network_card(net config, tensors) -> entries of "network" and
    # INPUT, the "input" text. None: the built-in model
    hooks: str | None = None
    # the flags that shape the network, for the sentence when --init weights differ
    shape_flags: tuple[str, ...] = ("--linear-manipulator",)


_OH_PARTS = ("image", "texture", "texture_perturbed", "shape")

#: the trainable models, by name
RECIPES: dict[str, Recipe] = {
    "oh2018": Recipe(
        model="oh2018",
        config_class=Oh2018TrainConfig,
        network="motionmag.nets.oh2018:Oh2018Net",
        checkpoint_format=CHECKPOINT_FORMAT,
        paper="Oh et al. 2018, Learning-based Video Motion Magnification (ECCV), Sec. 3",
        loss="L1(Y, Yhat) [-1,1] units + lambda (L1(Va,Vb) + L1(V'b,V'Y) + L1(Mb,M'b))",
        log_parts=_OH_PARTS,
    ),
    "ha2024": Recipe(
        model="ha2024",
        config_class=Ha2024TrainConfig,
        network="motionmag.nets.ha2024:Ha2024Net",
        checkpoint_format="motionmag-train-ha2024/1",
        paper="Ha et al. 2024, Revisiting Learning-based Video Motion Magnification for "
        "Real-time Processing, Sec. 4 and Fig. 11",
        loss="L1(Y, Yhat) [-1,1] units + lambda (L1(Va,Vb) + L1(V'b,V'Y) + L1(Mb,M'b)) "
        "+ edge_weight (L1(Dx Yhat, Dx Y) + L1(Dy Yhat, Dy Y)) [-1,1] units; the "
        "gradient (edge) L1 with forward differences replaces the paper's VGG "
        "perceptual loss (no VGG weights offline); regularisers dropped when "
        "texture_channels = 0",
        log_parts=(*_OH_PARTS, "edge"),
        shape_flags=("--linear-manipulator", "--texture-channels", "--decoder-blocks"),
    ),
}


#: modules that register further recipes (with hooks) when imported
_EXTENSIONS = (
    "motionmag.train.removal",
    "motionmag.train.sigma_theta",
    "motionmag.train.mdmm",
    "motionmag.train.lwmm",
    "motionmag.train.hmn",
    "motionmag.train.kl_dnas",
)


def _load_extensions() -> None:
    import importlib

    for name in _EXTENSIONS:
        importlib.import_module(name)


def _hooks(config: Oh2018TrainConfig):
    """The hooks module of ``config``'s recipe, or None for the built-in models."""
    return _recipe_hooks(RECIPES[config.MODEL])


def _recipe_hooks(recipe: Recipe):
    """The hooks module of ``recipe``, or None for the built-in models."""
    import importlib

    return importlib.import_module(recipe.hooks) if recipe.hooks else None


def recipe_for(config: Oh2018TrainConfig) -> Recipe:
    """The :class:`Recipe` of a config (by its class's ``MODEL``)."""
    return RECIPES[config.MODEL]


def config_class(model: str) -> type:
    """The config class that trains ``model``; UsageError for an unknown name."""
    if model not in RECIPES:
        _load_extensions()
    try:
        return RECIPES[model].config_class
    except KeyError:
        raise UsageError(f"no trainer for '{model}': choose one of {', '.join(RECIPES)}.") from None


class EpochSampler(Sampler[int]):
    """Endless sample indices: a seeded permutation of ``range(n)`` per epoch.

    The index at stream position p is a pure function of (n, seed, p), so starting at
    ``start`` = samples already seen resumes the exact order.
    """

    def __init__(self, n: int, seed: int, start: int = 0) -> None:
        self.n = int(n)
        self.seed = int(seed)
        self.start = int(start)

    def _permutation(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch + 7)
        return torch.randperm(self.n, generator=generator)

    def __iter__(self) -> Iterator[int]:
        position = self.start
        while True:
            epoch, offset = divmod(position, self.n)
            yield from self._permutation(epoch)[offset:].tolist()
            position = (epoch + 1) * self.n


def check_shards_match(manifest: dict, config: Oh2018TrainConfig) -> None:
    """UsageError unless the shards were rendered at the run's crop size and sub-pixel
    share (both shape what the net learns; the card records the shards' own config), and
    with a seed other than validation's (sample ``i`` of a seed is the same whoever
    renders it, so shards of the validation seed would score the net on its training
    data)."""
    if manifest.get("seed") == config.val_seed and config.validate_every:
        raise UsageError(
            f"the shards in '{config.shards}' were rendered with seed {config.val_seed}, the "
            "validation seed: render them with another --seed (validation must be held out)."
        )
    rendered = manifest.get("config") or {}
    size = rendered.get("size_px")
    small = rendered.get("small_motion_fraction", 0.0)
    if size != config.size_px or small != config.small_motion_fraction:
        raise UsageError(
            f"the shards in '{config.shards}' were rendered at {size} px with small-motion "
            f"fraction {small}, this run asks for {config.size_px} px and "
            f"{config.small_motion_fraction}: pass --size {size} --small-motion-fraction "
            f"{small}, or render matching shards with `motionmag synth`."
        )


def make_dataset(config: Oh2018TrainConfig, seed: int | None = None, n: int | None = None):
    """The training (or, with ``seed``/``n``, validation) dataset of ``config``."""
    from ..synth.datasets import Oh2018Dataset, ShardDataset
    from ..synth.oh2018 import Oh2018Config

    if config.shards is not None and seed is None:
        return ShardDataset(config.shards)
    # the sub-pixel share changes the training draw only: validation is the paper's
    small = config.small_motion_fraction if seed is None else 0.0
    return Oh2018Dataset(
        config.dataset_size if n is None else n,
        Oh2018Config(size_px=config.size_px, small_motion_fraction=small),
        seed=config.seed if seed is None else seed,
        images=list(config.images),
    )


def make_net(config: Oh2018TrainConfig) -> torch.nn.Module:
    """The fresh network of ``config``'s model (weights from torch's global RNG)."""
    hooks = _hooks(config)
    if hooks is not None:
        return hooks.make_net(config)
    if config.MODEL == "ha2024":
        from ..nets.ha2024 import Ha2024Net

        return Ha2024Net(
            texture_channels=config.texture_channels,
            decoder_blocks=config.decoder_blocks,
            linear_manipulator=config.linear_manipulator,
        )
    return Oh2018Net(linear_manipulator=config.linear_manipulator)


def _frames(batch: dict, device: torch.device) -> tuple[torch.Tensor, ...]:
    keys = ("A", "B", "B_perturbed", "Y", "Y_perturbed")
    return tuple(batch[k].to(device, non_blocking=True) for k in keys)


def training_loss(
    net: Oh2018Net,
    batch: dict,
    config: Oh2018TrainConfig,
    noise: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of one batch (see the module docstring); noise from ``noise``.

    The task loss of the model plus, for a recipe with hooks, its ``extra_loss``.
    """
    hooks = _hooks(config)
    own_loss = getattr(hooks, "task_loss", task_loss)
    loss, parts = own_loss(net, batch, config, noise, device)
    if hasattr(hooks, "extra_loss"):
        extra, extra_parts = hooks.extra_loss(net, config)
        loss = loss + extra
        parts = {**parts, **extra_parts, "total": float(loss.detach())}
    return loss, parts


def _decode(
    net: torch.nn.Module, texture: torch.Tensor, shape: torch.Tensor, precision: str
) -> torch.Tensor:
    """``net.decode_raw`` in fp32, or under ``torch.autocast(bfloat16)`` (output as fp32)."""
    if precision != "bf16":
        return net.decode_raw(texture, shape)
    with torch.autocast(texture.device.type, dtype=torch.bfloat16):
        out = net.decode_raw(texture, shape)
    return out.float()


def task_loss(
    net: Oh2018Net,
    batch: dict,
    config: Oh2018TrainConfig,
    noise: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The model's own loss of one batch (Oh's, or Ha's with the gradient L1)."""
    from ..synth.datasets import add_training_noise

    a, b, b_p, y, y_p = _frames(batch, device)
    alpha = batch["alpha"].to(device)
    n = a.shape[0]
    inputs = torch.cat([a, b, b_p, y_p])
    if config.noise_max > 0:
        strength = torch.rand(n, generator=noise, device=device) * config.noise_max
        inputs = add_training_noise(inputs, noise, strength.repeat(4))
    if config.channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    if isinstance(config, Ha2024TrainConfig):
        # one linear layer: encode all four frames; texture and shape share the latent
        texture, shape = net.encode(inputs)
        texture_a, texture_b, texture_bp, texture_yp = texture.split(n)
        shape_a, shape_b, shape_bp, _ = shape.split(n)
        shape = net.manipulate(shape_a, shape_b, alpha)
        y_hat = (_decode(net, texture_b, shape, config.precision) + 1.0) * 0.5
        if teacher_paths(config.teacher):
            y = _teacher_output(config, inputs[:n], inputs[n : 2 * n], alpha)
        loss, parts = ha2024_loss(
            y_hat, y, texture_a, texture_b, texture_bp, texture_yp, shape_b, shape_bp,
            config.reg_weight, config.edge_weight,
        )  # fmt: skip
        return _add_ssim_term(loss, parts, y_hat, y, config.ssim_weight)
    common = net.trunk(inputs)
    texture_a, texture_b, texture_bp, texture_yp = net.texture_branch(common).split(n)
    shape_a, shape_b, shape_bp = net.shape_branch(common[: 3 * n]).split(n)
    shape = net.manipulate(shape_a, shape_b, alpha)
    y_hat = (_decode(net, texture_b, shape, config.precision) + 1.0) * 0.5
    loss, parts = oh2018_loss(
        y_hat, y, texture_a, texture_b, texture_bp, texture_yp, shape_b, shape_bp, config.reg_weight
    )
    return _add_ssim_term(loss, parts, y_hat, y, config.ssim_weight)


def _add_ssim_term(
    loss: torch.Tensor,
    parts: dict[str, float],
    y_hat: torch.Tensor,
    y: torch.Tensor,
    weight: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """``loss + weight (1 - SSIM(y_hat, y))`` (ours, ``ssim_weight``); unchanged at 0."""
    if weight == 0:
        return loss, parts
    term = ssim_term(y_hat, y)
    loss = loss + weight * term
    return loss, {**parts, "ssim_term": float(term.detach()), "total": float(loss.detach())}


#: frozen networks a run loads (teachers, proxies, negatives), by (path, device)
_FROZEN: dict[tuple[str, str], torch.nn.Module] = {}


def freeze(net: torch.nn.Module) -> torch.nn.Module:
    """``net`` in eval mode with its parameters out of autograd."""
    net.eval()
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net


def frozen_weights(
    model: str | Callable[[str], str], path: str | os.PathLike, device: torch.device
) -> torch.nn.Module:
    """The weights at ``path`` on ``device``, frozen, loaded once per run: a network
    ``model`` names, or a function of the path that gives the name (called only when
    loading)."""
    from ..models import create_model

    key = (str(path), str(device))
    if key not in _FROZEN:
        name = model if isinstance(model, str) else model(str(path))
        _FROZEN[key] = freeze(create_model(name, weights=path).to(device))
    return _FROZEN[key]


@torch.no_grad()
def _teacher_output(
    config: Ha2024TrainConfig, a: torch.Tensor, b: torch.Tensor, alpha: torch.Tensor
) -> torch.Tensor:
    """The teacher's magnified frame (N, 3, H, W), in [0, 1] units but not clipped, for
    the (noisy) inputs the student sees: distillation's target (``config.teacher``;
    ours). No gradient.

    Several teachers, or ``teacher_views`` > 1: the mean of every teacher's output on each
    of the first ``teacher_views`` mirror images of the pair, mirrored back (the engine's
    self-ensemble, ``--set views``). Ours: on the 40 validation scenes the mean of the
    shipped oh2018 and ha2024 scores SSIM 0.830 against 0.819 / 0.820 alone (0.835 at 4
    views each), a target above what either net reaches on its own
    (``python benchmarks/validation_size.py oh2018 ha2024 --sizes 128 --views 1 4
    --ensemble``, ``benchmarks/results/validation_ensemble.json``). Distilled toward it,
    the 16-block student gained about 0.003 in 52k samples and the 36-block ha2024 nothing
    in 22k (README, the student paragraph).
    """
    mirrors = MIRRORS[: config.teacher_views]
    pair = torch.cat([mirrored(a, mirrors), mirrored(b, mirrors)])
    k = len(mirrors) * a.shape[0]  # frames of each of A and B in ``pair``
    repeated = alpha.repeat(len(mirrors))
    outputs = []
    for path in teacher_paths(config.teacher):
        teacher = frozen_weights(teacher_model, path, a.device)
        texture, shape = teacher.encode(pair)
        moved = teacher.manipulate(shape[:k], shape[k:], repeated)
        # not clipped, as Y_hat is not: a student equal to its teacher has zero image loss
        decoded = (_decode(teacher, texture[k:], moved, config.precision) + 1.0) * 0.5
        outputs.append(average_mirrored(decoded.float(), mirrors))
    return torch.stack(outputs).mean(dim=0)


@torch.inference_mode()
def evaluate(
    net: Oh2018Net, batches: list[dict], device: torch.device, channels_last: bool = True
) -> dict:
    """Mean SSIM / L1 of the network's Yhat against Y on validation batches (no noise)."""
    was_training = net.training
    net.eval()
    scores, floors, errors = [], [], []
    for batch in batches:
        a, b, _, y, _ = _frames(batch, device)
        if channels_last:
            a = a.contiguous(memory_format=torch.channels_last)
            b = b.contiguous(memory_format=torch.channels_last)
        y_hat = net(a, b, batch["alpha"].to(device))
        scores.append(ssim(y_hat, y).cpu())
        floors.append(ssim(b, y).cpu())
        errors.append((y_hat - y).abs().mean(dim=(1, 2, 3)).cpu())
    net.train(was_training)
    return {
        "ssim": float(torch.cat(scores).mean()),
        "input_ssim": float(torch.cat(floors).mean()),
        "l1": float(torch.cat(errors).mean()),
        "samples": int(sum(len(s) for s in scores)),
    }


def load_checkpoint(path: str | os.PathLike, model: str | None = None) -> dict:
    """A checkpoint written by the trainer (tensors and plain data only).

    ``model`` given: UsageError unless the checkpoint is a run of that model.
    """
    data = read_checkpoint_file(path)
    found = checkpoint_model(data)
    other = re.fullmatch(r"motionmag-train-([\w-]+)/\d+", str(data.get("format", "")))
    if found is None and other is not None and model is not None:  # flowmag, deepmag, ...
        raise UsageError(
            f"'{path}' is a {other.group(1)} run, not {model}: choose another --run folder."
        )
    if found is None:
        formats = ", ".join(r.checkpoint_format for r in RECIPES.values())
        raise InputError(f"'{path}' is not a training checkpoint ({formats}).")
    if model is not None and found != model:
        raise UsageError(f"'{path}' is a {found} run, not {model}: choose another --run folder.")
    return data


def checkpoint_model(data: dict) -> str | None:
    """The model a checkpoint (dict) trains, from its ``format``; None if unknown."""
    for attempt in range(2):
        for recipe in RECIPES.values():
            if data.get("format") == recipe.checkpoint_format:
                return recipe.model
        if attempt == 0 and str(data.get("format", "")).startswith("motionmag-train-"):
            _load_extensions()
    return None


def train_model(
    config: Oh2018TrainConfig,
    run_dir: str | os.PathLike,
    resume: bool = False,
    progress: bool = True,
    command: str | None = None,
    max_seconds: float | None = None,
    init_from: str | os.PathLike | None = None,
    banner: str | None = None,
) -> TrainResult:
    """Train (or continue training) the network of ``config``; see the module docstring.

    Args:
        config: the run's settings (:class:`Oh2018TrainConfig` or
            :class:`Ha2024TrainConfig`: the class chooses the model). On resume the
            checkpoint's weights, optimiser state, step and data position are used with
            these settings (pass the checkpoint's own config,
            ``load_checkpoint(...)["config"]``, to change nothing).
        run_dir: run folder (created); holds checkpoint.pt, best.pt, config.json,
            log.csv, validation.csv.
        resume: continue from ``run_dir/checkpoint.pt`` (a fresh start if there is none).
            Without it, a folder that already has a checkpoint is refused.
        progress: show a tqdm bar on stderr.
        command: the command line to record in the model card (default: sys.argv).
        max_seconds: stop (and checkpoint) after this much wall time in this session.
        init_from: start a new run from exported weights (``.safetensors`` with its model
            card beside it, e.g. the shipped ``oh2018`` weights): the weights, the step,
            the samples seen (hence the position in the data stream) and the session
            history continue from the card; Adam's moments start afresh. This is how a
            fresh machine continues training from what the repository ships.
        banner: a line printed to stderr once every input is checked, as the run
            folder is made (the command line's "training ... in ... on ...").

    Returns a :class:`TrainResult`; ``interrupted`` names the signal that stopped it.
    """
    config.validate()
    recipe = recipe_for(config)
    device = resolve_device(config.device)
    if config.precision == "bf16":
        warn_if_bf16_is_emulated(device, "--precision bf16")
    run, state = open_run(run_dir, resume, lambda path: load_checkpoint(path, model=recipe.model))
    if device.type == "cuda":  # keep convolutions in true fp32: M_b - M_a is tiny
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False

    torch.manual_seed(config.seed)
    net = make_net(config).to(device)
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    groups = _param_groups(net, config)
    optimizer = torch.optim.Adam(groups, lr=config.lr, betas=tuple(config.betas))
    noise = torch.Generator(device=device)
    noise.manual_seed(config.seed * 7919 + 17)
    counters = RunState(best={"ssim": -math.inf, "step": None})
    if state is None and init_from is not None:
        (
            counters.step,
            counters.samples_seen,
            counters.train_seconds,
            counters.sessions,
        ) = load_init(
            net,
            init_from,
            recipe.network,
            recipe.model,
            f"match {' / '.join(recipe.shape_flags)} to them.",
        )
    if state is not None:
        counters.restore(state, net, optimizer, config.lr, config.betas, groups, recipe.shape_flags,
                         config=config.to_dict(), validation_fields=VALIDATION_FIELDS,
                         best_path=run / BEST)  # fmt: skip
        if state["rng"].get("noise") is not None and state["rng"].get("device") == device.type:
            noise.set_state(state["rng"]["noise"])
        torch.set_rng_state(state["rng"]["torch"])
    dataset = make_dataset(config)
    counters.begin_session(command if command is not None else " ".join(sys.argv), device)
    log, val_log = start_files(
        run,
        config.to_dict(),
        recipe.log_parts,
        _VAL_FIELDS,
        keep_upto=counters.step if state else None,
        banner=banner,
    )
    loader = _loader(dataset, config, counters.samples_seen, device)
    val_batches = _validation_batches(config) if config.validate_every else []

    def snapshot() -> dict:
        rng = {"noise": noise.get_state(), "device": device.type, "torch": torch.get_rng_state()}
        data = _data_description(config, dataset)
        return counters.checkpoint(
            recipe.checkpoint_format, net, optimizer, rng, config.to_dict(), data
        )

    def run_validation() -> None:
        result = evaluate(net, val_batches, device, config.channels_last)
        counters.validation = {
            **result,
            "step": counters.step,
            "samples_seen": counters.samples_seen,
            "seed": config.val_seed,
            "size_px": config.size_px,
        }
        val_log.write(
            {
                "step": counters.step,
                "samples_seen": counters.samples_seen,
                "train_hours": counters.train_seconds / 3600,
                "ssim": result["ssim"],
                "l1": result["l1"],
                "input_ssim": result["input_ssim"],
            }
        )
        if result["ssim"] > counters.best["ssim"]:
            counters.best.update(ssim=result["ssim"], step=counters.step)
            atomic_save({**snapshot(), "optimizer": None}, run / BEST)

    def train_step(batch: dict) -> tuple[int, torch.Tensor, dict[str, float]]:
        loss, parts = training_loss(net, batch, config, noise, device)
        return int(batch["A"].shape[0]), loss, parts

    net.train()
    return run_steps(
        counters,
        config,
        optimizer,
        loader,
        train_step,
        run=run,
        snapshot=snapshot,
        log=log,
        log_parts=recipe.log_parts,
        validate=run_validation,
        resumed=state is not None,
        desc=recipe.model,
        progress=progress,
        max_seconds=max_seconds,
    )


#: the historical name of :func:`train_model` (it trains every model of :data:`RECIPES`)
train_oh2018 = train_model


def _param_groups(net: torch.nn.Module, config: Oh2018TrainConfig) -> list[dict]:
    """What Adam optimises: all parameters at ``config.lr``, or the hooks' groups.

    A hooks group may carry ``lr_scale`` (its lr is ``config.lr * lr_scale``),
    ``own_betas`` (Adam's betas for it, not ``config.betas``), ``weight_decay`` and the
    step gates of :func:`~motionmag.train.loop.hold_gated_groups`.
    """
    hooks = _hooks(config)
    if not hasattr(hooks, "param_groups"):
        return [{"params": list(net.parameters())}]
    groups = []
    for group in hooks.param_groups(net, config):
        scale = float(group.get("lr_scale", 1.0))
        betas = tuple(group.get("own_betas") or config.betas)
        groups.append({**group, "lr": config.lr * scale, "lr_scale": scale, "betas": betas})
    return groups


def _data_description(config: Oh2018TrainConfig, dataset) -> dict:
    from ..synth.oh2018 import Oh2018Config

    if config.shards is not None:
        manifest = dataset.manifest
        return {
            "source": "shards",
            "shards": str(config.shards),
            "generator": "motionmag.synth.oh2018",
            "generator_config": manifest.get("config"),
            "seed": manifest.get("seed"),
            "dataset_size": manifest.get("n"),
            "photos": manifest.get("photos"),
            "motionmag_version_of_data": manifest.get("motionmag"),
        }
    return {
        "source": "on the fly",
        "generator": "motionmag.synth.oh2018",
        "generator_config": Oh2018Config(
            size_px=config.size_px, small_motion_fraction=config.small_motion_fraction
        ).to_dict(),
        "seed": config.seed,
        "dataset_size": config.dataset_size,
        "images": list(config.images),
    }


def _loader(dataset, config: Oh2018TrainConfig, start: int, device: torch.device) -> DataLoader:
    from ..synth.datasets import worker_init

    workers = config.workers
    return DataLoader(
        dataset,
        batch_size=config.batch,
        sampler=EpochSampler(len(dataset), config.seed, start),
        num_workers=workers,
        worker_init_fn=worker_init if workers else None,
        # fresh worker processes: a fork after OpenCV / OpenMP ran here can deadlock
        multiprocessing_context="spawn" if workers else None,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
        pin_memory=device.type == "cuda",
        drop_last=True,
    )


def _validation_batches(config: Oh2018TrainConfig) -> list[dict]:
    from torch.utils.data import default_collate

    dataset = make_dataset(config, seed=config.val_seed, n=max(config.val_samples, 1))
    items = [dataset[i] for i in range(config.val_samples)]
    return [
        default_collate(items[i : i + config.batch]) for i in range(0, len(items), config.batch)
    ]


# ----------------------------------------------------------------------------- export


def _loss_card(recipe: Recipe, config: dict, hooks) -> dict:
    """Model-specific loss entries of the card (oh2018: only an SSIM term, when used)."""
    if hasattr(hooks, "loss_card"):
        return hooks.loss_card(config)
    ssim_entry = {}
    if config.get("ssim_weight"):
        ssim_entry = {
            "ssim_weight": config["ssim_weight"],
            "ssim_term": "ours: + ssim_weight x (1 - SSIM(Yhat, Y)), train.losses.ssim_term",
        }
    if not issubclass(recipe.config_class, Ha2024TrainConfig):
        return ssim_entry
    teacher = {}
    if config.get("teacher"):
        paths, views = teacher_paths(config["teacher"]), config.get("teacher_views", 1)
        mean = "mean " if len(paths) > 1 or views > 1 else ""
        over = f" over {views} mirror views" if views > 1 else ""
        teacher = {
            "teacher": (
                f"distilled (ours): the L1 and gradient-L1 target was the {mean}output of "
                f"{', '.join(paths)}{over} on the same noisy inputs, not the true frame Y; "
                "the texture and shape regularisers unchanged"
            )
        }
    return {
        **teacher,
        **ssim_entry,
        "edge_weight": config["edge_weight"],
        "perceptual_substitute": (
            "Ha et al. train with a VGG perceptual loss (Fig. 11: LPIPS 0.211 -> 0.164, SSIM "
            "0.918 -> 0.920); VGG weights cannot be downloaded here, so an L1 on forward "
            "differences of the image (train.losses.gradient_l1, [-1,1] units) takes its "
            "place, weight edge_weight. Effect, measured from scratch side by side "
            "(same seed and data, 40 validation samples; motionmag train ha2024 --run R "
            "--edge-weight 1|0 --max-hours 0.2 --validate-every 500 --threads 1): validation "
            "SSIM 0.477 / 0.561 with it against 0.478 / 0.553 without at 2k / 4k samples, "
            "i.e. neutral to +0.008 early in training; not measured at 100k samples."
        ),
    }


def export_weights(
    run_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    which: str = "best",
    eval_metrics: dict | None = None,
) -> dict:
    """Write a run's weights as ``out_path`` (safetensors) and its model card beside it.

    Args:
        run_dir: a training run folder.
        out_path: ``.../<name>.safetensors``; the card is ``.../<name>.json``.
        which: ``best`` (highest validation SSIM; falls back to the last checkpoint when
            there was no validation) or ``last``.
        eval_metrics: extra numbers for the card's ``metrics`` (e.g. ``motionmag eval``).

    Returns the model card (a dict).
    """
    from .. import __version__

    def load(path: Path, last: dict | None) -> dict:
        return load_checkpoint(path, None if last is None else checkpoint_model(last))

    last, chosen, source = pick_checkpoint(run_dir, which, load, "motionmag train")
    recipe = RECIPES[checkpoint_model(last)]
    hooks = _recipe_hooks(recipe)
    net_config = dict(chosen["net_config"])
    tensors = save_weights(chosen["model"], net_config, out_path)
    out = Path(out_path)
    config = chosen["config"]
    parameters = count_parameters(tensors)
    card = {
        "name": out.stem,
        "network": {
            "class": recipe.network,
            "config": net_config,
            "parameters": parameters,
        },
        "paper": recipe.paper,
        "alpha": "total factor: output motion = alpha x input motion",
        "input": "RGB float in [0, 1], any size (reflect-padded to a multiple of 4)",
        "data": {**chosen["data"], "crop_px": config["size_px"]},
        "training": {
            "checkpoint": source,
            "step": chosen["step"],
            "samples_seen": chosen["samples_seen"],
            "batch": config["batch"],
            "optimizer": {"name": "Adam", "lr": config["lr"], "betas": config["betas"]},
            "loss": recipe.loss,
            "reg_weight": config["reg_weight"],
            **_loss_card(recipe, config, hooks),
            "noise": hooks.noise_card(config)
            if hasattr(hooks, "noise_card")
            else f"Poisson-like, s ~ U(0, {config['noise_max']}) per sample",
            "train_hours": chosen["train_seconds"] / 3600,
            "run_steps": last["step"],
            "run_train_hours": last["train_seconds"] / 3600,
            "sessions": last["sessions"],
            "torch": chosen.get("torch"),
        },
        "metrics": {"validation": chosen.get("validation"), **(eval_metrics or {})},
        "motionmag": __version__,
        "exported": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if hasattr(hooks, "network_card"):
        card["network"].update(hooks.network_card(net_config, tensors))
    card["input"] = getattr(hooks, "INPUT", card["input"])
    earlier = distillation_sessions(last["sessions"])
    if earlier:  # a run continued with --init from distilled weights loses its teacher
        card["training"]["distilled"] = earlier
    write_json(out.with_suffix(".json"), card)
    return card


def distillation_sessions(sessions: list[dict]) -> list[dict]:
    """The sessions of a run's history (its own and those its ``--init`` weights carry)
    that trained toward a teacher's output (``--teacher``), from their commands: each
    as {"session": index, "teachers": [paths as typed], "steps": [from, to]}. The card of
    weights continued without a teacher otherwise names only the last run's loss."""
    found = []
    for index, session in enumerate(sessions):
        command = str(session.get("command") or "")
        try:  # commands are recorded as typed, not always shell-quoted
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        teachers: list[str] = []
        for i, word in enumerate(words):
            if word == "--teacher":
                teachers += itertools.takewhile(lambda w: not w.startswith("-"), words[i + 1 :])
            elif word.startswith("--teacher="):
                teachers.append(word.split("=", 1)[1])
        if teachers:
            steps = [session.get("from_step"), session.get("to_step")]
            found.append({"session": index, "teachers": teachers, "steps": steps})
    return found
