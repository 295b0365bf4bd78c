"""Training MD-MM (Singh 2024, Ch. 5): ``motionmag train mdmm-d1`` and ``mdmm-d2``.

What matters (THESIS.md s.2.2-2.3 and s.5.2):

- **The shared trainer** (:func:`~motionmag.train.oh2018.train_model`) runs it through the
  recipe hooks of this module, on the same synthetic data, validation, checkpoints,
  resume, ``--init`` and export as the other learned nets. D1 and D2 are two recipes that
  differ only in the default FCB width f (18 and 12; ``--width``).
- **Loss** (Eq. 5.8): ``10 L1 + 0.1 L_p + L_edge + L1(phi_m, phi_gt) + L1(A_m, A_gt)``: the
  thesis's shared image terms (``train/thesis.py``: the spectrum L1 in place of VGG)
  plus two on FDMM's output before the spatial stage, against the Fourier transform of
  the true frame in :func:`~motionmag.nets.mdmm.fourier_polar`'s layout (log amplitudes,
  [-1, 1] image units). [choice, THESIS.md s.5.4] the phase term is wrap-aware,
  ``mean |wrap(phi_m - phi_gt)|`` (the thesis says only "L1"); weights 1 and 1
  (``--phase-weight``, ``--amplitude-weight``).
- **Noise**: the thesis's Gaussian input noise, sigma ~ U(0, 0.04) per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..errors import UsageError
from ..nets.mdmm import SIZE_MULTIPLE, fourier_polar
from ..nets.sigma_theta import wrap_phase
from ..nets.thesis_widths import thesis_width
from .thesis import (
    IMAGE_LOSS,
    ThesisTrainConfig,
    image_loss,
    image_loss_card,
    noise_card,  # noqa: F401  (a trainer hook of these recipes)
    noisy_inputs,
    register_recipe,
)

#: the model card's "input" entry
INPUT = "RGB float in [0, 1], any size (padded to multiples of 8 of at least 16 px)"
NETWORK = "motionmag.nets.mdmm:MDMMNet"
LOSS = (
    IMAGE_LOSS + " + phase_weight mean|wrap(phi_m - phi_gt)| + amplitude_weight "
    "L1(A_m, A_gt) on the FDMM output (Eq. 5.8: 1 / 1); phi, A = phase and log1p "
    "amplitude of the per-channel orthonormal rfft2 of the [-1,1] frame"
)


@dataclass
class MDMMTrainConfig(ThesisTrainConfig):
    """An MD-MM run (D1): the thesis's shared settings, the Fourier terms' weights, f."""

    MODEL: ClassVar[str] = "mdmm-d1"
    WEIGHT_FIELDS = (*ThesisTrainConfig.WEIGHT_FIELDS, "phase_weight", "amplitude_weight")

    phase_weight: float = 1.0
    amplitude_weight: float = 1.0
    width: int = thesis_width("mdmm-d1")  # f of every FCB

    def validate(self) -> None:
        super().validate()
        if self.width < 2:
            raise UsageError(f"--width {self.width} must be at least 2.")
        if self.size_px % SIZE_MULTIPLE:
            raise UsageError(
                f"--size {self.size_px}: MD-MM trains on crops whose side is a multiple of "
                f"{SIZE_MULTIPLE} (its coarsest scale); give 128, for example."
            )


@dataclass
class MDMMD2TrainConfig(MDMMTrainConfig):
    """An MD-MM D2 run: D1 at the thesis's smaller width."""

    MODEL: ClassVar[str] = "mdmm-d2"

    width: int = thesis_width("mdmm-d2")


for _config in (MDMMTrainConfig, MDMMD2TrainConfig):
    register_recipe(
        _config, NETWORK, "Ch. 5: MD-MM, multi-domain (Fourier + spatial) magnification, "
        + _config.MODEL[-2:].upper(), LOSS, ("phase", "amplitude"), __name__,
        shape_flags=("--width",),
    )  # fmt: skip


# ----------------------------------------------------------------------------- hooks


def make_net(config: MDMMTrainConfig) -> torch.nn.Module:
    """Trainer hook: a fresh :class:`~motionmag.nets.mdmm.MDMMNet`."""
    from ..nets.mdmm import MDMMNet

    return MDMMNet(width=config.width)


def task_loss(
    net: torch.nn.Module,
    batch: dict,
    config: MDMMTrainConfig,
    noise: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Trainer hook: Eq. 5.8 on the noisy pair (A, B) against the clean Y.

    The training crops are multiples of 8 (checked by the config), so ``forward_parts``
    sees them unpadded, as the Fourier targets do.
    """
    a, b, y, alpha = noisy_inputs(batch, config, noise, device)
    out = net.forward_parts(a, b, alpha)
    total, parts = image_loss((out["image"] + 1.0) * 0.5, y, config)
    amplitude_gt, phase_gt = fourier_polar(y * 2.0 - 1.0)
    phase = wrap_phase(out["phase"] - phase_gt).abs().mean()
    amplitude = (out["amplitude"] - amplitude_gt).abs().mean()
    total = total + config.phase_weight * phase + config.amplitude_weight * amplitude
    parts.update(phase=float(phase.detach()), amplitude=float(amplitude.detach()))
    return total, {"total": float(total.detach()), **parts}


def loss_card(config: dict) -> dict:
    """Trainer hook: the model card's loss entries."""
    return {
        **image_loss_card(config),
        "phase_weight": config["phase_weight"],
        "amplitude_weight": config["amplitude_weight"],
    }
