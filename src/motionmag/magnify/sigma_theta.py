"""The sigma-theta Net (Singh 2024, Ch. 6) in the engine: two frames and alpha in, one out.

What matters:

- The network (``nets/sigma_theta.py``) takes the frame to magnify, a second frame and
  the total factor, like FlowMag's generator, so it runs through
  :class:`~motionmag.magnify.flowmag.FlowMagMagnifier`: ``dynamic`` mode (the previous
  input frame as the second frame: the thesis's only setting, THESIS.md s.2.1) and
  ``static`` mode (frame ``--reference``; works mechanically, not evaluated in the
  thesis). alpha = 1 returns the frame exactly; the net is applied once for any alpha
  (trained on 1-100, Oh et al.'s range).
- ``alpha_map=PATH`` gives a per-pixel factor (white = alpha, black = 1), as for
  flowmag; the generic ``--mask`` blend works too.
- ``temporal`` mode is the thesis's: a phase-based band-pass pre-filter at factor 4, then
  the network in dynamic mode (``magnify/prefilter.py``; THESIS.md s.1.4).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Magnifier
from .config import MagnifyConfig
from .prefilter import build_pair_network

MODEL_NAME = "sigma-theta"


@dataclass
class SigmaThetaOptions:
    """Options of the ``sigma-theta`` method (``--option KEY=VALUE``)."""

    weights: str | None = None  # a .safetensors file instead of the shipped weights
    pretrained: bool = True  # False: random weights (tests only)
    alpha_map: str | None = None  # greyscale image / .npy weights: alpha inside, 1 outside


def load_sigma_theta(
    options: SigmaThetaOptions, device: str | torch.device = "cpu"
) -> torch.nn.Module:
    """The network for ``options``: shipped weights, a given file, or random ones."""
    from .learned import load_learned

    return load_learned(MODEL_NAME, options, device)


def build_sigma_theta(config: MagnifyConfig) -> Magnifier:
    """Builder of the ``sigma-theta`` method (``MethodSpec.builder``)."""
    from .builders import options_for

    options = options_for(SigmaThetaOptions, config, config.method)
    model = load_sigma_theta(options, config.device)
    return build_pair_network(config, MODEL_NAME, model, options.alpha_map)
