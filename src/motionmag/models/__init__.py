"""Learned networks by name, with their shipped weights and model cards (see ``registry``)."""

from .registry import (
    WEIGHTS_ENV,
    ModelSpec,
    create_model,
    get_model_spec,
    has_weights,
    list_models,
    model_card,
    register_model,
    weights_dir,
    weights_path,
)

__all__ = [
    "WEIGHTS_ENV",
    "ModelSpec",
    "create_model",
    "get_model_spec",
    "has_weights",
    "list_models",
    "model_card",
    "register_model",
    "weights_dir",
    "weights_path",
]
