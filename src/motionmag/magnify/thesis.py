"""The Singh 2024 thesis networks in the engine: ``sigma-theta``, ``mdmm-d1`` / ``mdmm-d2``,
``lwmm`` / ``lwmm-light``, ``hmn`` / ``hmn-light`` and ``kl-dnas``; two frames and alpha
in, one out.

What matters:

- Each network (``nets/sigma_theta.py``, ``nets/mdmm.py``, ``nets/lwmm.py``,
  ``nets/hmn.py``, ``nets/kl_dnas.py``) takes the frame to magnify, a second frame and the
  total factor, like FlowMag's generator, so it runs through
  :class:`~motionmag.magnify.flowmag.FlowMagMagnifier`
  (:func:`~motionmag.magnify.prefilter.build_pair_network`): ``dynamic`` mode (the
  previous input frame as the second frame: the thesis's only setting, THESIS.md s.2.1)
  and ``static`` mode (frame ``--reference``; works mechanically, not evaluated in the
  thesis). alpha = 1 returns the frame exactly; the net is applied once for any alpha
  (trained on 1-100, Oh et al.'s range).
- ``temporal`` mode is the thesis's: a phase-based band-pass pre-filter at factor 4, then
  the network in dynamic mode (``magnify/prefilter.py``; THESIS.md s.1.4).
- ``alpha_map=PATH`` gives a per-pixel factor (white = alpha, black = 1), as for flowmag,
  for the networks that magnify locally (sigma-theta, LW-MM, HMN, KL-DNAS). MD-MM has none: its
  Fourier stage magnifies the whole frame at one factor. The generic ``--mask`` blend
  (output inside, input outside) targets a region with any of them.
- A method whose weights are not shipped (``lwmm*``, ``hmn*``, ``kl-dnas``) says how to
  train them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Magnifier
from .config import MagnifyConfig
from .prefilter import build_pair_network


@dataclass
class ThesisNetworkOptions:
    """Options of ``mdmm-d1`` / ``mdmm-d2`` (``--option KEY=VALUE``)."""

    weights: str | None = None  # a .safetensors file instead of the shipped weights
    pretrained: bool = True  # False: random weights (tests only)


@dataclass
class LocalThesisNetworkOptions(ThesisNetworkOptions):
    """Options of ``sigma-theta``, ``lwmm*``, ``hmn*`` and ``kl-dnas``: those of MD-MM and
    a per-pixel factor."""

    alpha_map: str | None = None  # greyscale image / .npy weights: alpha inside, 1 outside


def _build(config: MagnifyConfig, options_class: type) -> Magnifier:
    from .builders import options_for
    from .learned import load_learned

    options = options_for(options_class, config, config.method)
    model = load_learned(config.method, options, config.device)
    return build_pair_network(config, config.method, model, getattr(options, "alpha_map", None))


def build_local_thesis_network(config: MagnifyConfig) -> Magnifier:
    """Builder of ``sigma-theta``, ``lwmm*``, ``hmn*`` and ``kl-dnas`` (``MethodSpec.builder``)."""
    return _build(config, LocalThesisNetworkOptions)


def build_mdmm(config: MagnifyConfig) -> Magnifier:
    """Builder of ``mdmm-d1`` and ``mdmm-d2`` (``MethodSpec.builder``)."""
    return _build(config, ThesisNetworkOptions)
