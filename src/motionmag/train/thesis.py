"""What the Singh 2024 thesis networks share in training (THESIS.md s.2.2-2.3).

What matters:

- **Loss**: ``10 L1 + 1 L_edge + 0.1 L_p`` as means, in [-1, 1] units (Eqs. 3.6, 5.8, 6.11),
  with ``L_edge`` the L1 of forward differences (Eq. 3.4, :func:`~.losses.gradient_l1`).
  VGG-16 cannot be downloaded, so ``L_p`` is THESIS.md's suggested substitute: the
  multi-scale log-amplitude spectrum L1 (:func:`~.losses.frequency_l1`), same weight.
- **Noise** (THESIS.md s.2.2: "Gaussian noise is added to the network input", sigma not
  given): zero-mean Gaussian with sigma ~ U(0, ``noise_max``) in [-1, 1] units, drawn
  independently for the two input frames of each sample; the target stays clean. The
  default ``noise_max`` 0.04 is THESIS.md's suggestion (0-5 grey levels).
- Each network's module (``train/sigma_theta.py``, ``train/mdmm.py``) subclasses
  :class:`ThesisTrainConfig` and registers its recipe on the shared trainer
  (:func:`~motionmag.train.oh2018.train_model`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import UsageError
from .losses import frequency_l1, gradient_l1
from .oh2018 import RECIPES, Oh2018TrainConfig, Recipe, card_network

#: the card's description of the shared loss terms
IMAGE_LOSS = (
    "l1_weight L1(Yhat, Y) + edge_weight L1(D Yhat, D Y) + freq_weight L_freq(Yhat, Y), "
    "[-1,1] units (Singh 2024: 10 / 1 / 0.1); L_freq = multi-scale log-amplitude "
    "spectrum L1 replaces the VGG-16 perceptual loss (no VGG weights offline)"
)


@dataclass
class ThesisTrainConfig(Oh2018TrainConfig):
    """The shared settings plus the thesis's loss weights and Gaussian input noise."""

    noise_max: float = 0.04  # Gaussian sigma ~ U(0, noise_max) per frame, [-1, 1] units
    l1_weight: float = 10.0
    edge_weight: float = 1.0
    freq_weight: float = 0.1  # the perceptual-loss substitute's weight (the thesis's 0.1)

    #: loss weights checked to be >= 0 (subclasses add theirs)
    WEIGHT_FIELDS = ("l1_weight", "edge_weight", "freq_weight")

    def validate(self) -> None:
        super().validate()
        if self.linear_manipulator:
            raise UsageError(
                f"{self.MODEL} has no linear manipulator: leave out --linear-manipulator."
            )
        if self.precision != "fp32":
            raise UsageError(f"{self.MODEL} trains in fp32 only: leave out --precision.")
        if self.ssim_weight:  # its task loss (train/<model>.py) has no SSIM term
            raise UsageError(f"{self.MODEL}'s loss has no SSIM term: leave out --ssim-weight.")
        for name in self.WEIGHT_FIELDS:
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise UsageError(f"--{name.replace('_', '-')} {value} must be >= 0.")


def register_recipe(
    config_class: type,
    network: str,
    chapter: str,
    loss: str,
    extra_parts: tuple[str, ...],
    hooks: str,
    shape_flags: tuple[str, ...] = ("--channels",),
) -> None:
    """Register a thesis network's recipe on the shared trainer: model ``config_class.MODEL``,
    ``network`` ("module:Class"), ``chapter`` (the card's paper line after the thesis),
    the card's ``loss`` text, the logged parts beyond the shared image terms, the hooks
    module, the flags that shape the network."""  # fmt: skip
    model = config_class.MODEL
    RECIPES[model] = Recipe(
        model=model,
        config_class=config_class,
        network=network,
        checkpoint_format=f"motionmag-train-{model}/1",
        paper=f"Singh 2024 (PhD thesis, IIT Ropar), {chapter}",
        loss=loss,
        log_parts=("image", "edge", "freq", *extra_parts),
        hooks=hooks,
        shape_flags=shape_flags,
    )


def check_same_network(flag: str, path: str, model: str, network: str, channels: int) -> None:
    """UsageError unless ``path`` holds weights of ``network`` ("module:Class") with
    ``config.channels == channels`` by the model card beside them: a frozen proxy,
    snapshot or negative must be the network being trained (``flag`` names the option)."""
    hint = f": train one first with `motionmag train {model} --noise-max 0 --export {path}`"
    card = card_network(flag, path, hint)
    if card.get("class") != network:
        raise UsageError(f"{flag} '{path}' holds {card.get('class')}, not {network}.")
    theirs = card.get("config", {}).get("channels")
    if theirs != channels:
        raise UsageError(
            f"{flag} '{path}' has width {theirs}, this run {channels}: it must be the same network."
        )


def note_if_noisy(flag: str, path: str) -> None:
    """A note (``warnings``; the command line prints it as ``note: ...``) when the
    weights at ``path`` were trained on noisy inputs by their card: the thesis's proxy
    (LW-MM, HMN) and KL-DNAS's teacher are noise-free networks (THESIS.md)."""
    import warnings

    from .run_state import card_beside

    noise = str((card_beside(flag, path).get("training") or {}).get("noise", ""))
    if noise and not noise.startswith("none"):
        warnings.warn(
            f"{flag} '{path}' was trained on noisy inputs ({noise}), where the thesis's is "
            "noise-free: train one with --noise-max 0 for that.",
            stacklevel=2,
        )


def add_gaussian_noise(
    frames: torch.Tensor, sigma_max: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Frames (N, 3, H, W) in [0, 1] plus N(0, s^2), s ~ U(0, sigma_max) per frame in [-1, 1]
    units (so s / 2 in [0, 1] units); not clipped."""
    n = frames.shape[0]
    sigma = torch.rand(n, generator=generator, device=frames.device) * sigma_max / 2.0
    gauss = torch.randn(frames.shape, generator=generator, device=frames.device)
    return frames + gauss * sigma.view(-1, 1, 1, 1)


def noisy_inputs(
    batch: dict, config: ThesisTrainConfig, noise: torch.Generator | None, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(A, B, Y, alpha)`` of a batch on ``device``: A and B with the training noise
    (channels-last when configured), Y clean."""
    a = batch["A"].to(device, non_blocking=True)
    b = batch["B"].to(device, non_blocking=True)
    y = batch["Y"].to(device, non_blocking=True)
    pair = torch.cat([a, b])
    if config.noise_max > 0:
        pair = add_gaussian_noise(pair, config.noise_max, noise)
    if config.channels_last:
        pair = pair.contiguous(memory_format=torch.channels_last)
    a, b = pair.split(a.shape[0])
    return a, b, y, batch["alpha"].to(device)


def inputs_and_clean_pair(
    batch: dict, config: ThesisTrainConfig, noise: torch.Generator | None, device: torch.device
) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, torch.Tensor]]:
    """:func:`noisy_inputs` ``(A, B, Y, alpha)`` and the clean ``(A, B)`` on ``device``, each
    frame moved there once (for the losses that compare with the clean pair)."""
    clean = (batch["A"].to(device, non_blocking=True), batch["B"].to(device, non_blocking=True))
    moved = {**batch, "A": clean[0], "B": clean[1]}
    return noisy_inputs(moved, config, noise, device), clean


def image_loss(
    y_hat: torch.Tensor, y: torch.Tensor, config: ThesisTrainConfig
) -> tuple[torch.Tensor, dict[str, float]]:
    """``l1 L1 + edge L_edge + freq L_freq`` of the output (N, 3, H, W, [0, 1] units, not
    clipped) against the true frame, and its logged parts."""
    image = 2.0 * (y_hat - y).abs().mean()
    edge = gradient_l1(y_hat, y)
    freq = frequency_l1(y_hat, y)
    total = config.l1_weight * image + config.edge_weight * edge + config.freq_weight * freq
    parts = {"image": float(image.detach()), "edge": float(edge.detach()),
             "freq": float(freq.detach())}  # fmt: skip
    return total, parts


def noise_card(config: dict) -> str:
    """Trainer hook: the model card's description of the training noise."""
    if config["noise_max"] == 0:
        return "none (clean inputs)"
    return f"Gaussian, sigma ~ U(0, {config['noise_max']}) per input frame, [-1,1] units"


def image_loss_card(config: dict) -> dict:
    """The model card's entries for the shared loss terms and the noise."""
    return {
        "l1_weight": config["l1_weight"],
        "edge_weight": config["edge_weight"],
        "freq_weight": config["freq_weight"],
        "perceptual_substitute": (
            "the thesis's VGG-16 perceptual term (weight 0.1) cannot be had offline; "
            "train.losses.frequency_l1 (THESIS.md s.2.3: multi-scale log-amplitude "
            "spectrum L1 at 1, 1/2, 1/4 scale) takes its place at the same weight"
        ),
        "noise_model": (
            "Gaussian, sigma ~ U(0, noise_max) per input frame in [-1,1] units (the thesis "
            "gives no sigma; THESIS.md s.2.2 suggests 0.04); target clean"
        ),
    }
