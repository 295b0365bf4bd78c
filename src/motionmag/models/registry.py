"""The model registry: ``create_model(name, pretrained=True)`` -> a network ready to run.

Three properties matter (as in ``magnify.registry``): registration is data (a
:class:`ModelSpec` per model: its network class as a ``"module:Class"`` string, imported
only when asked for); weights are ``<name>.safetensors`` with a JSON model card
``<name>.json`` beside them (how they were trained, on what, the evaluation numbers),
never pickles; and nothing fails quietly: an unknown name lists the known ones, and
missing weights say how to get them.

The weights folder is ``motionmag/models/weights`` inside the package; the
``MOTIONMAG_WEIGHTS_DIR`` environment variable or ``weights_dir=`` points elsewhere (tests,
weights being trained). The card's ``network.config`` gives the constructor arguments,
so weights of a variant (e.g. the linear manipulator) build the matching network.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..devices import resolve_device
from ..errors import InputError, UsageError
from ..nets.thesis_widths import sizes_of

#: environment variable that replaces the package's weights folder
WEIGHTS_ENV = "MOTIONMAG_WEIGHTS_DIR"

_PACKAGE_WEIGHTS = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class ModelSpec:
    """One registered network: what it is and which class builds it."""

    name: str
    network: str  # "package.module:Class"
    summary: str
    paper: str
    train_command: str  # the first command that makes weights for it (the README has the rest)
    kwargs: dict = field(default_factory=dict)  # constructor defaults

    def network_class(self):
        module_name, class_name = self.network.split(":")
        return getattr(importlib.import_module(module_name), class_name)


_MODELS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a model (its name must be new)."""
    if spec.name in _MODELS:
        raise ValueError(f"model '{spec.name}' is already registered")
    _MODELS[spec.name] = spec
    return spec


def list_models() -> list[str]:
    """Names of all registered models, in registration order."""
    return list(_MODELS)


def get_model_spec(name: str) -> ModelSpec:
    """The spec for ``name``; UsageError listing the known names otherwise."""
    try:
        return _MODELS[name]
    except KeyError:
        from ..magnify.registry import methods

        if any(spec.name == name for spec in methods()):  # linear, phase, ...: no network
            raise UsageError(
                f"'{name}' is a method without a network, so it has no model: choose one of "
                f"{', '.join(_MODELS)}."
            ) from None
        raise UsageError(f"unknown model '{name}': choose one of {', '.join(_MODELS)}.") from None


def weights_dir(override: str | os.PathLike | None = None) -> Path:
    """The weights folder: ``override``, else $MOTIONMAG_WEIGHTS_DIR, else the package's."""
    if override is not None:
        return Path(override)
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env) if env else _PACKAGE_WEIGHTS


def weights_path(name: str, weights_dir_: str | os.PathLike | None = None) -> Path:
    """Where the weights of ``name`` are (or would be): ``<folder>/<name>.safetensors``."""
    get_model_spec(name)
    return weights_dir(weights_dir_) / f"{name}.safetensors"


def shipped_weights_path(name: str) -> Path:
    """Where the package's own weights of ``name`` are (or would be), whatever
    ``$MOTIONMAG_WEIGHTS_DIR`` says."""
    get_model_spec(name)
    return _PACKAGE_WEIGHTS / f"{name}.safetensors"


def has_weights(name: str, weights_dir: str | os.PathLike | None = None) -> bool:
    """True when weights for ``name`` exist in the weights folder."""
    return weights_path(name, weights_dir).is_file()


def model_card(name: str, weights_dir: str | os.PathLike | None = None) -> dict | None:
    """The JSON model card beside the weights of ``name`` (None when there is none)."""
    return read_card(weights_path(name, weights_dir).with_suffix(".json"))


def read_card(path: Path) -> dict | None:
    """The model card at ``path`` (None when there is none); InputError when it is not a
    JSON object."""
    if not path.is_file():
        return None
    try:
        card = json.loads(path.read_text())
    except ValueError:
        card = None
    if not isinstance(card, dict):
        raise InputError(f"model card '{path}' is not valid JSON: fix it, or remove it.")
    return card


def create_model(
    name: str,
    pretrained: bool = True,
    weights_dir: str | os.PathLike | None = None,
    weights: str | os.PathLike | None = None,
    device: str | None = None,
    **kwargs,
):
    """Build network ``name`` in eval mode, with its shipped weights when ``pretrained``.

    Args:
        name: a registered model (``list_models()``).
        pretrained: load ``<weights folder>/<name>.safetensors`` (UsageError if absent).
        weights_dir: folder to load from instead of the package's (or $MOTIONMAG_WEIGHTS_DIR).
        weights: an explicit ``.safetensors`` file (its ``.json`` card, if any, beside it);
            implies ``pretrained``.
        device: move the model there (default: stays on the CPU).
        kwargs: constructor arguments; they override the card's ``network.config``.
    """
    from safetensors.torch import load_file

    from ..magnify.config import check_switches

    spec = get_model_spec(name)
    check_switches(pretrained=pretrained)
    path: Path | None = None
    card = None
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise InputError(f"weights file '{path}' {what}: give a .safetensors file.")
        card = read_card(path.with_suffix(".json"))
    elif pretrained:
        path = weights_path(name, weights_dir)
        if weights_dir is not None and not Path(weights_dir).is_dir():
            raise InputError(f"weights folder '{weights_dir}' does not exist: check the path.")
        shipped = _PACKAGE_WEIGHTS / path.name
        if not path.is_file() and path.parent != _PACKAGE_WEIGHTS and shipped.is_file():
            named, instead = (
                ("", "leave out weights_dir")
                if weights_dir is not None
                else (f" (${WEIGHTS_ENV})", f"unset {WEIGHTS_ENV}")
            )
            raise InputError(
                f"the weights folder '{path.parent}'{named} has no {path.name}: put the file "
                f"there, or {instead} to use the shipped weights."
            )
        if not path.is_file():
            raise UsageError(
                f"no shipped weights for '{name}' yet: train them (the README's section on "
                f"it has every step; the first is `{spec.train_command}`), or run weights of "
                "your own (--set weights=FILE.safetensors)."
            )
        card = model_card(name, weights_dir)
    target = resolve_device(device) if device is not None else None
    network = (card or {}).get("network") or {}
    if network.get("class") not in (None, spec.network):
        raise InputError(
            f"weights file '{path}' is for {network['class']}, not model '{name}' "
            f"({spec.network}): give weights trained for '{name}'."
        )
    config = {**spec.kwargs, **(network.get("config") or {}), **kwargs}
    try:
        model = spec.network_class()(**config)
    except (TypeError, ValueError) as error:  # an unknown keyword, a value of another type
        raise UsageError(
            f"model '{name}' cannot take these settings ({error}): see its network's "
            f"arguments, {spec.network}."
        ) from None
    if path is not None:
        try:
            state = load_file(str(path))
        except Exception as error:  # safetensors raises its own error types
            raise InputError(f"weights file '{path}' cannot be read ({error}).") from None
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError:  # a tensor of another shape: another size of the network
            raise InputError(
                f"weights file '{path}' does not fit model '{name}': its tensors have other "
                "shapes (weights of another size of the network?)."
            ) from None
        if missing or unexpected:
            raise InputError(
                f"weights file '{path}' does not fit model '{name}' "
                f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})."
            )
    if target is not None:
        model = model.to(target)
    return model.eval()


register_model(
    ModelSpec(
        name="oh2018",
        network="motionmag.nets.oh2018:Oh2018Net",
        summary="Learning-based Eulerian magnification: encoder, manipulator, decoder",
        paper="Oh et al. 2018 (ECCV)",
        train_command="motionmag train oh2018",
    )
)

register_model(
    ModelSpec(
        name="ha2024",
        network="motionmag.nets.ha2024:Ha2024Net",
        summary="Real-time learned magnification: linear encoder, 1/4-res latent, deep decoder",
        paper="Ha et al. 2024",
        train_command="motionmag train ha2024",
    )
)

register_model(
    ModelSpec(
        name="ha2024-fast",
        network="motionmag.nets.ha2024:Ha2024Net",
        summary="ha2024 with 24 decoder blocks (the paper's ~10 GFLOPs), distilled from ha2024",
        paper="Ha et al. 2024",
        train_command="motionmag train ha2024 --decoder-blocks 24 --teacher "
        "src/motionmag/models/weights/ha2024.safetensors --init WEIGHTS",
        kwargs={"decoder_blocks": 24},
    )
)

register_model(
    ModelSpec(
        name="deepmag-color",
        network="motionmag.deepmag.nets:DeepMagColorNet",
        summary="DeepMag colour CNN: pulse derivative from the normalised frame difference",
        paper="Chen and McDuff 2018 (DeepMag)",
        train_command="motionmag train deepmag-color --export "
        "src/motionmag/models/weights/deepmag-color.safetensors",
    )
)

register_model(
    ModelSpec(
        name="deepmag-motion",
        network="motionmag.deepmag.nets:DeepMagMotionNet",
        summary="DeepMag motion CNN: respiration derivative from steerable-pyramid phase "
        "differences",
        paper="Chen and McDuff 2018 (DeepMag)",
        train_command="motionmag train deepmag-motion --export "
        "src/motionmag/models/weights/deepmag-motion.safetensors",
        kwargs={"size_px": 64, "widths": (16, 16, 32), "hidden": 64},  # the CPU size trained here
    )
)

register_model(
    ModelSpec(
        name="flowmag",
        network="motionmag.nets.flowmag:FlowMagNet",
        summary="FlowMag U-Net: (frame 0, frame t, alpha embedding) -> magnified frame t",
        paper="Pan, Geng, Owens 2023 (FlowMag)",
        train_command="motionmag train flowmag --export "
        "src/motionmag/models/weights/flowmag.safetensors",
        kwargs={"width": 16},  # the CPU size trained here; a card's network.config overrides
    )
)

register_model(
    ModelSpec(
        name="sigma-theta",
        network="motionmag.nets.sigma_theta:SigmaThetaNet",
        summary="sigma-theta Net: learnable directional scale-space filters, MSCC decoder",
        paper="Singh 2024 (PhD thesis, IIT Ropar), Ch. 6",
        train_command="motionmag train sigma-theta --export "
        "src/motionmag/models/weights/sigma-theta.safetensors",
    )
)

for _name, _size, _width in sizes_of("mdmm"):
    register_model(
        ModelSpec(
            name=_name,
            network="motionmag.nets.mdmm:MDMMNet",
            summary=f"MD-MM {_size}: FDMM (Fourier phase / amplitude) + SDMST "
            f"(RMTE, 4-scale MSTG), FCB width {_width}",
            paper="Singh 2024 (PhD thesis, IIT Ropar), Ch. 5",
            train_command=f"motionmag train {_name} --export "
            f"src/motionmag/models/weights/{_name}.safetensors",
            kwargs={"width": _width},
        )
    )

for _name, _size, _width in sizes_of("lwmm"):
    register_model(
        ModelSpec(
            name=_name,
            network="motionmag.nets.lwmm:LWMMNet",
            summary=f"LW-MM {_size}: feature-sharing "
            f"encoder, appearance encoder, manipulator, decoder; width C = {_width}",
            paper="Singh 2024 (PhD thesis, IIT Ropar), Ch. 3",
            train_command=f"motionmag train {_name} --noise-max 0 --export "
            f"runs/{_name}-proxy.safetensors",
            kwargs={"channels": _width},
        )
    )

register_model(
    ModelSpec(
        name="kl-dnas",
        network="motionmag.nets.kl_dnas:KLDNASNet",
        summary="KL-DNAS student: layer-wise searched LR / LC blocks (encoder, appearance, "
        "manipulator, decoder); its genotype is in the card",
        paper="Singh 2024 (PhD thesis, IIT Ropar), Ch. 4",
        train_command="motionmag train lwmm --noise-max 0 --export runs/lwmm-proxy.safetensors",
    )
)

for _name, _size, _width in sizes_of("hmn"):
    register_model(
        ModelSpec(
            name=_name,
            network="motionmag.nets.hmn:HMNNet",
            summary=f"HMN {_size}: three levels of gated "
            f"dilated motion blocks on Sobel-edge differences; base width c = {_width}",
            paper="Singh 2024 (PhD thesis, IIT Ropar), Ch. 7",
            train_command=f"motionmag train {_name} --noise-max 0 --export "
            f"runs/{_name}-proxy.safetensors",
            kwargs={"channels": _width},
        )
    )
