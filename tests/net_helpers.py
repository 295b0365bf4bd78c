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


def tiny_run_exported(config_class: type, tmp_path, name: str, **overrides) -> tuple[dict, object]:
    """Train a thesis-recipe config (its fields ``overrides`` set) 3 steps, resume it for a
    4th, export the last weights to ``tmp_path / f"{name}.safetensors"``; returns (card,
    weights path)."""
    from motionmag.train.oh2018 import export_weights, train_model

    config = config_class(size_px=32, batch=2, steps=3, dataset_size=20, workers=0,
                          checkpoint_every=1, log_every=1, validate_every=2,
                          val_samples=2, **overrides)  # fmt: skip
    run = tmp_path / f"run-{name}"
    first = train_model(config, run, progress=False)
    assert first.step == 3 and all(math.isfinite(x) for x in first.losses)
    config.steps = 4
    second = train_model(config, run, resume=True, progress=False)
    assert second.step == 4 and second.session_steps == 1
    weights = tmp_path / f"{name}.safetensors"
    card = export_weights(run, weights, which="last")
    clean = config.noise_max == 0
    assert card["training"]["noise"].startswith("none" if clean else "Gaussian")
    return card, weights


def export_with_card(net: torch.nn.Module, path) -> str:
    """``net``'s weights saved at ``path`` (.safetensors) with a minimal model card beside
    them naming its class and config, as a frozen proxy or negative is read; returns the
    path as a string."""
    import json

    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    network = f"{type(net).__module__}:{type(net).__name__}"
    card = {"network": {"class": network, "config": net.config}}
    path.with_suffix(".json").write_text(json.dumps(card))
    return str(path)
