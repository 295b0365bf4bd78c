"""Training the sigma-theta Net (Singh 2024, Ch. 6): ``motionmag train sigma-theta``.

What matters (THESIS.md s.2.2-2.3 and s.6.3):

- **The shared trainer** (:func:`~motionmag.train.oh2018.train_model`) runs it through the
  recipe hooks of this module (``make_net``, ``task_loss``, ``loss_card``): the same
  synthetic data (Oh et al.'s generator, ``synth/oh2018.py``), validation (SSIM of the
  output against the true frame on a held-out seed), checkpoints, resume, ``--init`` and
  export as oh2018 and ha2024. The colour-perturbed frames the generator renders are not
  used (no thesis model uses them).
- **Loss** (Eq. 6.11) and **noise**: the thesis's shared ones (``train/thesis.py``):
  ``10 L1 + 1 L_edge + 0.1 L_freq`` (the spectrum L1 in place of VGG), Gaussian input
  noise with sigma ~ U(0, 0.04).
- Adam 1e-4, batch 4, 128 px crops (the thesis: 384; fully convolutional, so CPU-sized
  crops are fine), alpha the total factor as in the data (1-100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..errors import UsageError
from .thesis import (
    IMAGE_LOSS,
    ThesisTrainConfig,
    image_loss,
    image_loss_card,
    noise_card,  # noqa: F401  (a trainer hook of this recipe)
    noisy_inputs,
    register_recipe,
)

MODEL = "sigma-theta"
#: the model card's "input" entry
INPUT = "RGB float in [0, 1], any size (padded to even sides of at least 18 px)"
NETWORK = "motionmag.nets.sigma_theta:SigmaThetaNet"
LOSS = IMAGE_LOSS + " (Eq. 6.11)"


@dataclass
class SigmaThetaTrainConfig(ThesisTrainConfig):
    """A ``sigma-theta`` run: the thesis's shared settings and the decoder width."""

    MODEL: ClassVar[str] = MODEL

    channels: int = 12  # decoder width c (SigmaThetaNet)

    def validate(self) -> None:
        super().validate()
        if self.channels < 2:
            raise UsageError(f"--channels {self.channels} must be at least 2.")


register_recipe(
    SigmaThetaTrainConfig, NETWORK, "Ch. 6: sigma-theta Net, learnable directional "
    "scale-space filters", LOSS, (), __name__,
)  # fmt: skip


# ----------------------------------------------------------------------------- hooks


def make_net(config: SigmaThetaTrainConfig) -> torch.nn.Module:
    """Trainer hook: a fresh :class:`~motionmag.nets.sigma_theta.SigmaThetaNet`."""
    from ..nets.sigma_theta import SigmaThetaNet

    return SigmaThetaNet(channels=config.channels)


def task_loss(
    net: torch.nn.Module,
    batch: dict,
    config: SigmaThetaTrainConfig,
    noise: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Trainer hook: Eq. 6.11 on the noisy pair (A, B) against the clean Y."""
    a, b, y, alpha = noisy_inputs(batch, config, noise, device)
    total, parts = image_loss(net(a, b, alpha, clip=False), y, config)
    return total, {"total": float(total.detach()), **parts}


def loss_card(config: dict) -> dict:
    """Trainer hook: the model card's loss entries."""
    return image_loss_card(config)


def network_card(net_config: dict, tensors: dict[str, torch.Tensor]) -> dict:
    """Trainer hook: the card's ``network`` entries beyond the class and config: what the
    learnable filters became (``SigmaThetaNet.learned_filters``)."""
    from ..nets.sigma_theta import SigmaThetaNet

    net = SigmaThetaNet(**net_config)
    net.load_state_dict(tensors)
    return {"learned_filters": net.learned_filters()}
