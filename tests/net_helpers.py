"""Test helpers for networks: expressive random weights, and fp32 gradient checks."""

from __future__ import annotations

import math

import torch


def expressive(model: torch.nn.Module, seed: int = 1, gain: float = 0.7) -> torch.nn.Module:
    """Random conv weights N(0, gain^2 / fan_in): outputs vary with the input (std ~0.1-0.15).

    The default init (std 0.02, or a zero residual head) gives a nearly constant output
    that any two code paths would match. Returns the model in eval mode.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                fan_in = module.weight[0].numel()
                noise = torch.randn(module.weight.shape, generator=generator)
                module.weight.copy_(noise * gain / math.sqrt(fan_in))
    return model.eval()


def assert_finite_fp32_grads(net: torch.nn.Module) -> None:
    """Every parameter of ``net`` has a finite fp32 gradient (after a backward pass)."""
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.dtype == torch.float32, name
        assert torch.isfinite(p.grad).all(), name
