"""Training the sigma-theta Net (Singh 2024, Ch. 6): ``motionmag train sigma-theta``.

What matters (THESIS.md s.2.2-2.3 and s.6.3):

- **The shared trainer** (:func:`~motionmag.train.oh2018.train_model`) runs it through the
  recipe hooks of this module (``make_net``, ``task_loss``, ``loss_card``): the same
  synthetic data (Oh et al.'s generator, ``synth/oh2018.py``), validation (SSIM of the
  output against the true frame on a held-out seed), checkpoints, resume, ``--init`` and
  export as oh2018 and ha2024. The colour-perturbed frames the generator renders are not
  used (no thesis model uses them).
- **Loss** (Eq. 6.11): ``10 L1 + 1 L_edge + 0.1 L_p`` as means, in [-1, 1] units, with
  ``L_edge`` the L1 of forward differences (Eq. 3.4, :func:`~.losses.gradient_l1`).
  VGG-16 cannot be downloaded, so ``L_p`` is THESIS.md's suggested substitute: the
  multi-scale log-amplitude spectrum L1 (:func:`~.losses.frequency_l1`), same weight.
- **Noise** (THESIS.md s.2.2: "Gaussian noise is added to the network input", sigma not
  given): zero-mean Gaussian with sigma ~ U(0, ``noise_max``) in [-1, 1] units, drawn
  independently for the two input frames of each sample; the target stays clean. The
  default ``noise_max`` 0.04 is THESIS.md's suggestion (0-5 grey levels).
- Adam 1e-4, batch 4, 128 px crops (the thesis: 384; fully convolutional, so CPU-sized
  crops are fine), alpha the total factor as in the data (1-100).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..errors import UsageError
from .losses import frequency_l1, gradient_l1
from .oh2018 import RECIPES, Oh2018TrainConfig, Recipe

MODEL = "sigma-theta"
#: the model card's "input" entry
INPUT = "RGB float in [0, 1], any size (padded to even sides of at least 18 px)"
NETWORK = "motionmag.nets.sigma_theta:SigmaThetaNet"
LOSS = (
    "l1_weight L1(Yhat, Y) + edge_weight L1(D Yhat, D Y) + freq_weight L_freq(Yhat, Y), "
    "[-1,1] units (Singh 2024 Eq. 6.11: 10 / 1 / 0.1); L_freq = multi-scale log-amplitude "
    "spectrum L1 replaces the VGG-16 perceptual loss (no VGG weights offline)"
)


@dataclass
class SigmaThetaTrainConfig(Oh2018TrainConfig):
    """A ``sigma-theta`` run: the shared settings, the thesis's loss weights and noise."""

    MODEL: ClassVar[str] = MODEL

    noise_max: float = 0.04  # Gaussian sigma ~ U(0, noise_max) per frame, [-1, 1] units
    l1_weight: float = 10.0
    edge_weight: float = 1.0
    freq_weight: float = 0.1  # the perceptual-loss substitute's weight (Eq. 6.11's 0.1)
    channels: int = 12  # decoder width c (SigmaThetaNet)

    def validate(self) -> None:
        super().validate()
        if self.linear_manipulator:
            raise UsageError(
                "sigma-theta has no linear manipulator: leave out --linear-manipulator."
            )
        if self.precision != "fp32":
            raise UsageError("sigma-theta trains in fp32 only: leave out --precision.")
        for name in ("l1_weight", "edge_weight", "freq_weight"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise UsageError(f"--{name.replace('_', '-')} {value} must be >= 0.")
        if self.channels < 2:
            raise UsageError(f"--channels {self.channels} must be at least 2.")


RECIPES[MODEL] = Recipe(
    model=MODEL,
    config_class=SigmaThetaTrainConfig,
    network=NETWORK,
    checkpoint_format="motionmag-train-sigma-theta/1",
    paper="Singh 2024 (PhD thesis, IIT Ropar), Ch. 6: sigma-theta Net, learnable directional "
    "scale-space filters",
    loss=LOSS,
    log_parts=("image", "edge", "freq"),
    hooks=__name__,
)


# ----------------------------------------------------------------------------- hooks


def make_net(config: SigmaThetaTrainConfig) -> torch.nn.Module:
    """Trainer hook: a fresh :class:`~motionmag.nets.sigma_theta.SigmaThetaNet`."""
    from ..nets.sigma_theta import SigmaThetaNet

    return SigmaThetaNet(channels=config.channels)


def add_gaussian_noise(
    frames: torch.Tensor, sigma_max: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Frames (N, 3, H, W) in [0, 1] plus N(0, s^2), s ~ U(0, sigma_max) per frame in [-1, 1]
    units (so s / 2 in [0, 1] units); not clipped."""
    n = frames.shape[0]
    sigma = torch.rand(n, generator=generator, device=frames.device) * sigma_max / 2.0
    gauss = torch.randn(frames.shape, generator=generator, device=frames.device)
    return frames + gauss * sigma.view(-1, 1, 1, 1)


def task_loss(
    net: torch.nn.Module,
    batch: dict,
    config: SigmaThetaTrainConfig,
    noise: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Trainer hook: Eq. 6.11 on the noisy pair (A, B) against the clean Y."""
    a = batch["A"].to(device, non_blocking=True)
    b = batch["B"].to(device, non_blocking=True)
    y = batch["Y"].to(device, non_blocking=True)
    alpha = batch["alpha"].to(device)
    pair = torch.cat([a, b])
    if config.noise_max > 0:
        pair = add_gaussian_noise(pair, config.noise_max, noise)
    if config.channels_last:
        pair = pair.contiguous(memory_format=torch.channels_last)
    a, b = pair.split(a.shape[0])
    y_hat = net(a, b, alpha, clip=False)
    image = 2.0 * (y_hat - y).abs().mean()
    edge = gradient_l1(y_hat, y)
    freq = frequency_l1(y_hat, y)
    total = config.l1_weight * image + config.edge_weight * edge + config.freq_weight * freq
    parts = {
        "total": float(total.detach()),
        "image": float(image.detach()),
        "edge": float(edge.detach()),
        "freq": float(freq.detach()),
    }
    return total, parts


def noise_card(config: dict) -> str:
    """Trainer hook: the model card's description of the training noise."""
    return f"Gaussian, sigma ~ U(0, {config['noise_max']}) per input frame, [-1,1] units"


def loss_card(config: dict) -> dict:
    """Trainer hook: the model card's loss entries."""
    return {
        "l1_weight": config["l1_weight"],
        "edge_weight": config["edge_weight"],
        "freq_weight": config["freq_weight"],
        "perceptual_substitute": (
            "Eq. 6.11's VGG-16 perceptual term (weight 0.1) cannot be had offline; "
            "train.losses.frequency_l1 (THESIS.md s.2.3: multi-scale log-amplitude "
            "spectrum L1 at 1, 1/2, 1/4 scale) takes its place at the same weight"
        ),
        "noise_model": (
            "Gaussian, sigma ~ U(0, noise_max) per input frame in [-1,1] units (the thesis "
            "gives no sigma; THESIS.md s.2.2 suggests 0.04); target clean"
        ),
    }


def network_card(net_config: dict, tensors: dict[str, torch.Tensor]) -> dict:
    """Trainer hook: the card's ``network`` entries beyond the class and config: what the
    learnable filters became (``SigmaThetaNet.learned_filters``)."""
    from ..nets.sigma_theta import SigmaThetaNet

    net = SigmaThetaNet(**net_config)
    net.load_state_dict(tensors)
    return {"learned_filters": net.learned_filters()}
