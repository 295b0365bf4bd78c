"""Training HMN (Singh 2024, Ch. 7): ``motionmag train hmn`` and ``hmn-light``.

What matters (THESIS.md s.2.2-2.3 and s.7.2-7.3):

- **Three runs** (Sec. 7.1.5): a **proxy**, the network trained on clean inputs
  (``--noise-max 0``); the **model**, on noisy inputs (36 epochs in the thesis); then a
  **fine-tuning** from the model's weights (``--init``) with the feature contrastive loss
  (``--proxy PROXY.safetensors``; 15 epochs in the thesis). Without ``--proxy`` the loss
  is the image terms only.
- **Loss** (Eq. 7.5): ``10 L1 + 1 L_EL + 0.1 L_PL (+ C_loss)``, the thesis's shared image
  terms (``train/thesis.py``: the spectrum L1 in place of VGG).
- **Feature contrastive loss** (Eq. 7.4): ``C = sum_m L1(N^m - N*^m) / (L1(N^m - N'^m) +
  eps)`` over the three levels' ``N^m = W4 x M_f`` (``HMNNet.forward_parts``' ``msm``;
  THESIS.md s.7.5's suggestion): the positive ``N*`` is the frozen proxy's on the clean
  pair, the negative ``N'`` a frozen snapshot of the model itself on the same noisy
  pair (the thesis: its previous epoch). [choices, THESIS.md s.7.5] eps = 1e-3; the
  snapshot starts as ``--negative FILE`` (the thesis's suggestion: the checkpoint one
  epoch before the fine-tuning starts) or, without it, as the weights the session
  starts from, and is refreshed from the model every ``--snapshot-every`` steps
  (default 25,000 = one epoch of the thesis's 100k pairs at batch 4). The refresh
  counts this session's steps: a resumed run starts its snapshot again.
- **Noise**: the thesis's Gaussian input noise, sigma ~ U(0, 0.04) per frame; 0 for the
  proxy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..errors import UsageError
from ..nets.thesis_widths import thesis_width
from .oh2018 import freeze, frozen_weights
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
INPUT = "RGB float in [0, 1], any size (padded to multiples of 4 of at least 8 px)"
NETWORK = "motionmag.nets.hmn:HMNNet"
LOSS = (
    IMAGE_LOSS + " (Eq. 7.5) + contrastive_weight C_loss with --proxy (Eq. 7.4: sum over "
    "levels of L1(N - N_proxy) / (L1(N - N_snapshot) + 1e-3), N = MSM features x M_f)"
)
#: Eq. 7.4's denominator floor [THESIS.md s.7.5's suggestion]
EPS = 1e-3


@dataclass
class HMNTrainConfig(ThesisTrainConfig):
    """An HMN run (M1): the thesis's shared settings, c, and the contrastive fine-tuning."""

    MODEL: ClassVar[str] = "hmn"
    WEIGHT_FIELDS = (*ThesisTrainConfig.WEIGHT_FIELDS, "contrastive_weight")

    channels: int = thesis_width("hmn")  # c, the base width (level m: c m)
    proxy: str | None = None  # the noise-free proxy's .safetensors: turns C_loss on
    negative: str | None = None  # C_loss's first negative (default: the starting weights)
    snapshot_every: int = 25_000  # steps between refreshes of the negative (0: never)
    contrastive_weight: float = 1.0

    def validate(self) -> None:
        super().validate()
        if self.channels < 1:
            raise UsageError(f"--channels {self.channels} must be at least 1.")
        if self.snapshot_every < 0:
            raise UsageError(f"--snapshot-every {self.snapshot_every} must be >= 0.")
        if self.negative is not None and self.proxy is None:
            raise UsageError("--negative is C_loss's: give --proxy too.")
        for flag, path in (("--proxy", self.proxy), ("--negative", self.negative)):
            if path is not None:
                check_same_network(flag, path, self.MODEL, NETWORK, self.channels)
        if self.proxy is not None:
            note_if_noisy("--proxy", self.proxy)


@dataclass
class HMNLightTrainConfig(HMNTrainConfig):
    """An HMN M2 run: M1 at the thesis's light width."""

    MODEL: ClassVar[str] = "hmn-light"

    channels: int = thesis_width("hmn-light")


for _config, _size in ((HMNTrainConfig, "M1"), (HMNLightTrainConfig, "M2 (light)")):
    register_recipe(
        _config, NETWORK, f"Ch. 7: HMN, hierarchical magnification network, {_size}", LOSS,
        ("contrastive",), __name__,
    )  # fmt: skip


#: per trained net: [its snapshot, steps since the snapshot was taken]
_SNAPSHOTS: dict[int, list] = {}


def _snapshot(
    net: torch.nn.Module, config: HMNTrainConfig, device: torch.device
) -> torch.nn.Module:
    """The negative of ``net``: taken at the first call (``--negative`` or the weights the
    session starts from), refreshed from ``net`` every ``snapshot_every`` calls."""
    entry = _SNAPSHOTS.get(id(net))
    if entry is None:
        if config.negative is not None:
            first = copy.deepcopy(frozen_weights(config.MODEL, config.negative, device))
        else:
            first = freeze(copy.deepcopy(net))
        entry = _SNAPSHOTS[id(net)] = [first, 0]
    elif config.snapshot_every and entry[1] >= config.snapshot_every:
        entry[0].load_state_dict(net.state_dict())
        entry[1] = 0
    entry[1] += 1
    return entry[0]


def contrastive_loss(
    features: list[torch.Tensor], positive: list[torch.Tensor], negative: list[torch.Tensor]
) -> torch.Tensor:
    """Eq. 7.4: ``sum_m mean|N - N*| / (mean|N - N'| + eps)`` over the levels."""
    total = torch.zeros((), device=features[0].device)
    for n, pos, neg in zip(features, positive, negative, strict=True):
        total = total + (n - pos).abs().mean() / ((n - neg).abs().mean() + EPS)
    return total


# ----------------------------------------------------------------------------- hooks


def make_net(config: HMNTrainConfig) -> torch.nn.Module:
    """Trainer hook: a fresh :class:`~motionmag.nets.hmn.HMNNet`."""
    from ..nets.hmn import HMNNet

    return HMNNet(channels=config.channels)


def task_loss(
    net: torch.nn.Module,
    batch: dict,
    config: HMNTrainConfig,
    noise: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Trainer hook: Eq. 7.5 on the noisy pair (A, B) against the clean Y; with a proxy,
    plus Eq. 7.4 (the proxy on the clean pair, the snapshot on the noisy one)."""
    (a, b, y, alpha), clean = inputs_and_clean_pair(batch, config, noise, device)
    out = net.forward_parts(a, b, alpha)
    total, parts = image_loss((out["image"] + 1.0) * 0.5, y, config)
    contrastive = torch.zeros((), device=device)
    if config.proxy is not None:
        negative_net = _snapshot(net, config, device)
        with torch.no_grad():
            positive = frozen_weights(config.MODEL, config.proxy, device).forward_parts(
                *clean, alpha
            )
            negative = negative_net.forward_parts(a, b, alpha)
        contrastive = contrastive_loss(out["msm"], positive["msm"], negative["msm"])
        total = total + config.contrastive_weight * contrastive
    parts["contrastive"] = float(contrastive.detach())
    return total, {"total": float(total.detach()), **parts}


def loss_card(config: dict) -> dict:
    """Trainer hook: the model card's loss entries, and what the fine-tuning used."""
    proxy = config.get("proxy")
    return {
        **image_loss_card(config),
        "contrastive_weight": config["contrastive_weight"],
        "contrastive": (
            f"on (Eq. 7.4): positive {proxy} (noise-free proxy, clean pair), negative a "
            f"snapshot of the model (first {config.get('negative') or 'its starting weights'}, "
            f"refreshed every {config['snapshot_every']} steps), eps {EPS}"
            if proxy
            else "off (no --proxy): the proxy or the main run, not the fine-tuning"
        ),
    }
