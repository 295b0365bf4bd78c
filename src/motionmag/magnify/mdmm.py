"""MD-MM (Singh 2024, Ch. 5) in the engine: methods ``mdmm-d1`` and ``mdmm-d2``.

What matters:

- The network (``nets/mdmm.py``) takes the frame to magnify, a second frame and the total
  factor, and runs through :class:`~motionmag.magnify.flowmag.FlowMagMagnifier` like
  ``sigma-theta``: ``dynamic`` mode (the previous input frame as the second frame: the
  thesis's only setting, THESIS.md s.2.1) and ``static`` mode (frame ``--reference``;
  works mechanically, not evaluated in the thesis). alpha = 1 returns the frame exactly;
  the net is applied once for any alpha (trained on 1-100, Oh et al.'s range).
  ``temporal`` mode is the thesis's: a phase-based band-pass pre-filter at factor 4, then
  the network in dynamic mode (``magnify/prefilter.py``; THESIS.md s.1.4).
- No ``alpha_map``: the Fourier stage magnifies the whole frame at one factor. The generic
  ``--mask`` blend (output inside, input outside) still targets a region.
- D1 and D2 differ only in the width f (18 and 12); a method without shipped weights says
  how to train them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Magnifier
from .config import MagnifyConfig
from .prefilter import build_pair_network


@dataclass
class MDMMOptions:
    """Options of the ``mdmm-d1`` / ``mdmm-d2`` methods (``--option KEY=VALUE``)."""

    weights: str | None = None  # a .safetensors file instead of the shipped weights
    pretrained: bool = True  # False: random weights (tests only)


def build_mdmm(config: MagnifyConfig) -> Magnifier:
    """Builder of the ``mdmm-d1`` and ``mdmm-d2`` methods (``MethodSpec.builder``)."""
    from .builders import options_for
    from .learned import load_learned

    options = options_for(MDMMOptions, config, config.method)
    model = load_learned(config.method, options, config.device)
    return build_pair_network(config, config.method, model)
