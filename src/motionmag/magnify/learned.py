"""Learned Eulerian magnification in the engine: Oh et al. (2018), Ha et al. (2024), every mode.

What matters:

- One method class for every network with Oh2018Net's interface
  (:class:`~motionmag.nets.oh2018.MagnificationNet`: ``encode``, ``amplify``,
  ``decode``): ``oh2018`` and ``ha2024`` differ only in the registered model they load
  (:func:`build_learned`). For ha2024 texture and shape are two channel groups of one
  1/4-resolution latent; everything below holds unchanged.

- The network is an :class:`~motionmag.magnify.base.EulerianMethod`: ``encode`` runs the
  encoder on the current frame and keeps (texture, shape); the representation the
  temporal selector sees is the shape M alone. ``decode`` adds the manipulator's change
  for the selection and decodes with the *current* frame's texture (Oh et al. Sec. 3.4):
  ``decoder(V(t), M(t) + h((alpha - 1) g(S(t))))`` where S is the selection:
  ``M(t) - M(ref)`` (static; Eq. 3 with the reference as frame a), ``M(t) - M(t-1)``
  (dynamic), or a band-passed ``T(M)(t)`` (temporal, Eq. 4). alpha is the total factor,
  so alpha = 1 decodes the frame unchanged (h(0) = 0) and 0 < alpha < 1 attenuates.
- Any frame size: frames are reflect-padded to a multiple of 4 (and to the network's
  ``min_size_px``) and cropped back. The
  reference encoding of static mode is computed once (the selector keeps it). Runs in
  ``torch.inference_mode``, on the engine's device, channels-last.
- Weights: the shipped ``<name>`` weights (``motionmag.models.create_model``), or a file
  given with the method option ``weights=PATH.safetensors`` (e.g. a run exported with
  ``motionmag train <name> --export``). The method is always registered; it becomes the
  default method only when its model card says so (``registry.default_method``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..temporal import Rep
from .base import EulerianMagnifier, EulerianMethod
from .config import MagnifyConfig, check_alpha


@dataclass
class Oh2018Options:
    """Options of the learned methods ``oh2018`` and ``ha2024`` (``--option KEY=VALUE``)."""

    weights: str | None = None  # a .safetensors file instead of the shipped weights
    pretrained: bool = True  # False: random weights (tests only)
    channels_last: bool = True


class Oh2018Method(EulerianMethod):
    """A learned encoder / manipulator / decoder (Oh et al. 2018) as an Eulerian method.

    Args:
        alpha: total magnification factor (>= 0).
        model: an :class:`~motionmag.nets.oh2018.Oh2018Net`, a
            :class:`~motionmag.nets.ha2024.Ha2024Net` or any
            :class:`~motionmag.nets.oh2018.MagnificationNet` (eval mode).
        channels_last: run convolutions channels-last (faster on CPU).
    """

    def __init__(self, alpha: float, model: torch.nn.Module, channels_last: bool = True) -> None:
        self.alpha = check_alpha(alpha)
        self.model = model.eval()
        self.channels_last = bool(channels_last)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    def _prepare(self, frame: torch.Tensor) -> torch.Tensor:
        from ..nets.oh2018 import pad_to_multiple

        device = next(self.model.parameters()).device
        x = frame.to(device=device, dtype=torch.float32)
        x = pad_to_multiple(x, min_size=getattr(self.model, "min_size_px", 0))
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    @torch.inference_mode()
    def encode(self, frame: torch.Tensor) -> tuple[tuple, Rep]:
        """Frame (N, 3, H, W) in [0, 1] -> kept (texture, shape, (H, W)), rep [shape]."""
        height, width = frame.shape[-2:]
        texture, shape = self.model.encode(self._prepare(frame))
        return (texture, shape, (height, width)), [shape]

    @torch.inference_mode()
    def decode(self, kept: tuple, selected: Rep) -> torch.Tensor:
        """Decode ``M + h((alpha - 1) g(selection))`` with the frame's texture; [0, 1]."""
        texture, shape, (height, width) = kept
        (selection,) = selected
        if self.alpha != 1.0:
            shape = shape + self.model.amplify(selection, self.alpha)
        out = self.model.decode(texture, shape, clip=True)
        return out[..., :height, :width].contiguous()


#: the learned method class under its general name
LearnedMethod = Oh2018Method


def load_learned(
    name: str, options: Oh2018Options, device: str | torch.device = "cpu"
) -> torch.nn.Module:
    """Model ``name`` for ``options``: shipped weights, a given file, or random weights."""
    from ..models import create_model

    if options.weights is not None:
        return create_model(name, weights=options.weights, device=str(device))
    return create_model(name, pretrained=options.pretrained, device=str(device))


def load_oh2018(options: Oh2018Options, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The oh2018 network for ``options`` (:func:`load_learned`)."""
    return load_learned("oh2018", options, device)


def build_learned(config: MagnifyConfig, name: str) -> EulerianMagnifier:
    """A learned method: registered model ``name`` run by :class:`Oh2018Method`."""
    from .builders import options_for, selector_for

    options = options_for(Oh2018Options, config, name)
    model = load_learned(name, options, config.device)
    method = Oh2018Method(config.alpha, model, channels_last=options.channels_last)
    return EulerianMagnifier(method, selector_for(config), config.device)


def build_oh2018(config: MagnifyConfig) -> EulerianMagnifier:
    """Builder of the ``oh2018`` method (``MethodSpec.builder``)."""
    return build_learned(config, "oh2018")


def build_ha2024(config: MagnifyConfig) -> EulerianMagnifier:
    """Builder of the ``ha2024`` method (``MethodSpec.builder``)."""
    return build_learned(config, "ha2024")
