"""Training LW-MM (Singh 2024, Ch. 3): ``motionmag train lwmm`` and ``lwmm-light``.

What matters (THESIS.md s.2.2-2.3 and s.3.2-3.3):

- **Two runs** (Sec. 3.3): first a **proxy**, the same network trained on clean inputs
  (``--noise-max 0``, no ``--proxy``: Eq. 3.6 without ``L_M``, THESIS.md's suggestion);
  then the **model**, on noisy inputs, with ``--proxy PROXY.safetensors``: the frozen
  proxy sees the same sample without noise, and ``L_M`` pulls the model's manipulator
  input toward the proxy's.
- **Loss** (Eq. 3.6): ``10 L1 + 0.1 L_p + L_edge + L_A + L_M``, the thesis's shared image
  terms (``train/thesis.py``: the spectrum L1 in place of VGG), plus
  ``L_A = |phi(A) - F_t|_1 + |phi(A) - F_{t-1}|_1`` (Eq. 3.1) against the **clean** input
  frames, area-averaged to phi(A)'s 1/2 resolution [THESIS.md s.3.5's suggestion], and
  ``L_M = |(E*_b - E*_a) M_f - (E_b - E_a) M_f|_1`` (Eq. 3.2), taken after the
  multiplication by ``M_f`` as written (large factors dominate it). All as means, [-1, 1]
  units; weights 1 and 1 (``--appearance-weight``, ``--motion-weight``).
- **Noise**: the thesis's Gaussian input noise, sigma ~ U(0, 0.04) per frame, on the
  model's inputs only; the proxy run sets it to 0.
- ``lwmm`` and ``lwmm-light`` differ only in the default width C (24 and 8; ``--channels``);
  a proxy must have the model's C (checked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from ..errors import UsageError
from ..nets.thesis_widths import thesis_width
from .oh2018 import frozen_weights
from .thesis import (
    IMAGE_LOSS,
    ThesisTrainConfig,
    check_same_network,
    image_loss,
    image_loss_card,
    inputs_and_clean_pair,
    noise_card,  # noqa: F401  (a trainer hook of these recipes)
    note_if_noisy,
    register_recipe,
)

#: the model card's "input" entry
INPUT = "RGB float in [0, 1], any size (padded to even sides of at least 4 px)"
NETWORK = "motionmag.nets.lwmm:LWMMNet"
LOSS = (
    IMAGE_LOSS + " + appearance_weight L_A + motion_weight L_M (Eq. 3.6: 1 / 1); L_A = "
    "L1(phi(A), F_t) + L1(phi(A), F_t-1) against the clean frames at 1/2 resolution "
    "(Eq. 3.1); L_M = L1 of (E_b - E_a) M_f to the frozen noise-free proxy's (Eq. 3.2)"
)


@dataclass
class LWMMTrainConfig(ThesisTrainConfig):
    """An LW-MM run (M1): the thesis's shared settings, L_A / L_M weights, C, the proxy."""

    MODEL: ClassVar[str] = "lwmm"
    WEIGHT_FIELDS = (*ThesisTrainConfig.WEIGHT_FIELDS, "appearance_weight", "motion_weight")

    appearance_weight: float = 1.0
    motion_weight: float = 1.0
    channels: int = thesis_width("lwmm")  # C, the full-resolution width
    proxy: str | None = None  # the frozen noise-free proxy's .safetensors (L_M); None: a proxy run

    def validate(self) -> None:
        super().validate()
        if self.channels < 1:
            raise UsageError(f"--channels {self.channels} must be at least 1.")
        if self.proxy is not None:
            check_same_network("--proxy", self.proxy, self.MODEL, NETWORK, self.channels)
            note_if_noisy("--proxy", self.proxy)


@dataclass
class LWMMLightTrainConfig(LWMMTrainConfig):
    """An LW-MM M2 run: M1 at the thesis's light width."""

    MODEL: ClassVar[str] = "lwmm-light"

    channels: int = thesis_width("lwmm-light")


for _config, _size in ((LWMMTrainConfig, "M1"), (LWMMLightTrainConfig, "M2 (light)")):
    register_recipe(
        _config, NETWORK, f"Ch. 3: LW-MM, proxy-model-based training, {_size}", LOSS,
        ("appearance", "motion"), __name__,
    )  # fmt: skip


# ----------------------------------------------------------------------------- hooks


def make_net(config: LWMMTrainConfig) -> torch.nn.Module:
    """Trainer hook: a fresh :class:`~motionmag.nets.lwmm.LWMMNet`."""
    from ..nets.lwmm import LWMMNet

    return LWMMNet(channels=config.channels)


def task_loss(
    net: torch.nn.Module,
    batch: dict,
    config: LWMMTrainConfig,
    noise: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Trainer hook: Eq. 3.6 on the noisy pair (A, B) against the clean Y; ``L_A`` against
    the clean A and B; ``L_M`` against the proxy on the clean pair (0 without a proxy)."""
    (a, b, y, alpha), (clean_a, clean_b) = inputs_and_clean_pair(batch, config, noise, device)
    out = net.forward_parts(a, b, alpha)
    total, parts = image_loss((out["image"] + 1.0) * 0.5, y, config)
    targets = F.avg_pool2d(torch.cat([clean_b, clean_a]) * 2.0 - 1.0, 2).split(a.shape[0])
    appearance = sum((out["appearance"] - t).abs().mean() for t in targets)
    total = total + config.appearance_weight * appearance
    motion = torch.zeros((), device=device)
    if config.proxy is not None:
        proxy = frozen_weights(config.MODEL, config.proxy, device)
        with torch.no_grad():
            target = proxy.difference(proxy.encode(clean_a, clean_b), alpha)
        motion = (out["difference"] - target).abs().mean()
        total = total + config.motion_weight * motion
    parts.update(appearance=float(appearance.detach()), motion=float(motion.detach()))
    return total, {"total": float(total.detach()), **parts}


def loss_card(config: dict) -> dict:
    """Trainer hook: the model card's loss entries, and what the proxy was."""
    proxy = config.get("proxy")
    return {
        **image_loss_card(config),
        "appearance_weight": config["appearance_weight"],
        "motion_weight": config["motion_weight"],
        "proxy": (
            f"{proxy}: LW-MM at the same C trained on clean inputs, frozen, fed the clean "
            "pair (L_M, Eq. 3.2)"
            if proxy
            else "none: L_M off; with noise_max 0 this run is itself a proxy (Sec. 3.3)"
        ),
    }
