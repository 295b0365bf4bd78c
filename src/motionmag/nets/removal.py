"""Learning-to-remove (Ha et al. 2024, Sec. 4.3, Eq. 3-5, Fig. 9): switches, loss, pruning.

What matters:

- **A switch is a learnable scalar w in [0, 1] that starts at 0** and blends a
  component's original form ``A_o`` into its removed form ``A_t`` (Eq. 3):
  ``F(x) = (1 - w) A_o(x) + w A_t(x)``. At w = 0 the network is exactly the original
  (bit for bit: multiplying by 1 and adding 0 are exact), so trained weights start the
  removal phase unchanged. Three components of a residual block ``x + R(x)``,
  ``R = conv3(relu(conv3(x)))`` (Fig. 9, bottom):

  - (a) ``activation``: ``(1 - w) relu(h) + w h``: at w = 1 the block is linear;
  - (b) ``skip``: ``(1 - w) G(x) + w (G(x) - x)``, written here as the same algebra
    ``(1 - w) x + R(x)`` (ours: so that w = 1 is *exactly* ``R(x)``, without the
    rounding of ``(x + R) - x``);
  - (c) ``block``: ``(1 - w) G(x) + w x``: at w = 1 the block is skipped.

  Switches of several kinds can sit on one block (they nest as written: (a) inside R,
  (b) on the sum, (c) around everything). As in the paper's Table 1, only components of
  residual blocks are switched (84 % of Oh's parameters; the paper found removing the
  manipulator's ReLU outside its ResBlock harmful).
- **Keeping w in [0, 1]** (the paper's constraint, its mechanism unstated; ours): the
  forward pass clamps w, and the backward pass lets a gradient through at a bound only
  when a descent step would move w back inside (:class:`_BoundedSwitch`). A clamp alone
  would freeze a switch that overshoots; a sigmoid could not start exactly at 0.
- **The removal loss** (Eq. 5) ``L_rm = 1/K sum_k (1 - w_k^p)`` pulls every switch
  towards 1 (:func:`removal_loss`); the trainer adds ``lambda_rm L_rm`` to the task loss
  (Eq. 4). Its gradient on one switch is ``lambda_rm p w^(p-1) / K``: with ``p = 1``
  (our default; the paper gives no value) it is the same at every w; with ``p > 1`` it
  is 0 at w = 0, so a switch would only move once the task loss nudged it; with
  ``p < 1`` w is floored at 1e-6 to keep the gradient finite.
- **Pruning at a threshold tau** (:func:`prune`): a component whose w > tau is replaced
  by its removed form (activation -> identity, skip -> dropped, block ->
  ``nn.Identity``); the others go back to their original form (w dropped, i.e. w -> 0).
  The result is a plain network (no switches) with the same weights under the same
  names, and ``config["removed"]`` records what went, so
  ``Ha2024Net(**config)`` rebuilds it (:func:`apply_removed`). With every switch exactly
  at 0 or 1 the pruned network computes exactly what the switched one did; for switches
  in between it does not, which is why the paper retrains after pruning.
- :func:`removal_report` describes, JSON-ably, every switched component, its w and
  whether it went, with per-part counts.

Component paths are module names (``decoder.1.7`` = the 8th decoder ResBlock of
Ha2024Net); parts are ``encoder``, ``manipulator``, ``decoder`` (:data:`PARTS`).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .oh2018 import Conv, ResBlock

#: the removable components of a residual block (Fig. 9 a-c), in nesting order
KINDS: tuple[str, ...] = ("activation", "skip", "block")
#: the network parts (Table 1's "modules") and the top-level attributes they consist of
PARTS: dict[str, tuple[str, ...]] = {
    "encoder": ("encoder", "texture_branch", "shape_branch"),
    "manipulator": ("manipulator_g", "manipulator_h"),
    "decoder": ("texture_up", "decoder"),
}
#: w of a switch in the removal loss is floored here when p < 1 (finite gradient at 0)
_POWER_FLOOR = 1e-6


class _BoundedSwitch(torch.autograd.Function):
    """Clamp to [0, 1]; at a bound pass only gradients whose descent step points inside."""

    @staticmethod
    def forward(ctx, raw: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(raw)
        return raw.clamp(0.0, 1.0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (raw,) = ctx.saved_tensors
        blocked = ((raw <= 0.0) & (grad > 0.0)) | ((raw >= 1.0) & (grad < 0.0))
        return torch.where(blocked, torch.zeros_like(grad), grad)


def switch_value(raw: torch.Tensor) -> torch.Tensor:
    """The switch w in [0, 1] of a raw switch parameter (see the module docstring)."""
    return _BoundedSwitch.apply(raw)


class SwitchedResBlock(nn.Module):
    """A :class:`~motionmag.nets.oh2018.ResBlock` with switches on chosen components.

    Shares ``conv1`` and ``conv2`` with the block it wraps (same parameter names, so a
    ResBlock's state dict loads into it). Switches are 0-d parameters named
    ``<kind>_switch``, created at 0 (the original block); a state dict without them
    (plain weights) loads with them at their current value.

    Args:
        block: the ResBlock to wrap.
        kinds: which of :data:`KINDS` to switch.
    """

    def __init__(self, block: ResBlock, kinds: tuple[str, ...] | list[str]) -> None:
        super().__init__()
        unknown = set(kinds) - set(KINDS)
        if unknown or not kinds:
            raise ValueError(f"switch kinds must be some of {KINDS}, not {list(kinds)}")
        self.conv1 = block.conv1
        self.conv2 = block.conv2
        for kind in KINDS:
            value = nn.Parameter(torch.zeros(())) if kind in kinds else None
            self.register_parameter(f"{kind}_switch", value)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if getattr(self, f"{k}_switch") is not None)

    def switches(self) -> dict[str, float]:
        """{kind: w} of this block's switches (w clamped to [0, 1])."""
        return {k: float(getattr(self, f"{k}_switch").detach().clamp(0.0, 1.0)) for k in self.kinds}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x)
        a = F.relu(h)
        if self.activation_switch is not None:  # Fig. 9a
            w = switch_value(self.activation_switch)
            a = (1.0 - w) * a + w * h
        r = self.conv2(a)
        if self.skip_switch is not None:  # Fig. 9b: (1-w) G + w (G - x) = (1-w) x + R
            g = (1.0 - switch_value(self.skip_switch)) * x + r
        else:
            g = x + r
        if self.block_switch is not None:  # Fig. 9c
            w = switch_value(self.block_switch)
            g = (1.0 - w) * g + w * x
        return g

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        for kind in self.kinds:  # plain ResBlock weights: the switch keeps its value
            key = f"{prefix}{kind}_switch"
            if key not in state_dict:
                state_dict[key] = getattr(self, f"{kind}_switch").detach().clone()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class PrunedResBlock(nn.Module):
    """A ResBlock without its activation (linear) and/or without its skip.

    ``conv2(act(conv1(x))) (+ x)``; parameter names as ResBlock's. (Merging the two
    bias-free convolutions of a linear block into one 5x5 is not done: with reflect
    padding they differ at the borders.)
    """

    def __init__(self, channels: int, activation: bool = True, skip: bool = True) -> None:
        super().__init__()
        self.conv1 = Conv(channels, channels, 3)
        self.conv2 = Conv(channels, channels, 3)
        self.activation = bool(activation)
        self.skip = bool(skip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x)
        if self.activation:
            h = F.relu(h)
        r = self.conv2(h)
        return x + r if self.skip else r

    def extra_repr(self) -> str:
        return f"activation={self.activation}, skip={self.skip}"


# ----------------------------------------------------------------------------- helpers


def _part_of(path: str) -> str | None:
    top = path.split(".", 1)[0]
    for part, attributes in PARTS.items():
        if top in attributes:
            return part
    return None


def _replace(net: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = net.get_submodule(parent_path) if parent_path else net
    setattr(parent, name, module)


def _channels(block: nn.Module) -> int:
    return int(block.conv1[1].weight.shape[0])


def switched_blocks(net: nn.Module) -> dict[str, SwitchedResBlock]:
    """{path: block} of the switched residual blocks of ``net``, in module order."""
    return {p: m for p, m in net.named_modules() if isinstance(m, SwitchedResBlock)}


def insert_switches(
    net: nn.Module,
    kinds: tuple[str, ...] | list[str] = KINDS,
    parts: tuple[str, ...] | list[str] = tuple(PARTS),
) -> list[str]:
    """Put switches of ``kinds`` on every ResBlock of ``parts`` of ``net``, in place.

    The weights are kept (shared); the output is unchanged (all switches at 0). Returns
    the paths of the switched blocks. ValueError for an unknown kind or part, or when a
    chosen part has no residual block (Ha2024Net's encoder is one linear layer).
    """
    kinds, parts = tuple(kinds), tuple(parts)
    if not kinds or set(kinds) - set(KINDS):
        raise ValueError(f"components to remove must be some of {', '.join(KINDS)}.")
    if not parts or set(parts) - set(PARTS):
        raise ValueError(f"parts must be some of {', '.join(PARTS)}.")
    found = {p: m for p, m in net.named_modules() if type(m) is ResBlock and _part_of(p) in parts}
    for part in parts:
        if not any(_part_of(p) == part for p in found):
            raise ValueError(
                f"the {part} of {type(net).__name__} has no residual block: "
                "nothing to remove there."
            )
    for path, block in found.items():
        _replace(net, path, SwitchedResBlock(block, kinds))
    return list(found)


def switch_parameters(net: nn.Module) -> list[nn.Parameter]:
    """Every switch parameter of ``net`` (what the trainer gives its own learning rate)."""
    return [
        getattr(block, f"{kind}_switch")
        for block in switched_blocks(net).values()
        for kind in block.kinds
    ]


def removal_loss(net: nn.Module, power: float = 1.0) -> torch.Tensor:
    """Eq. 5: ``1/K sum_k (1 - w_k^p)`` over the K switches of ``net`` (0-d tensor).

    Dimensionless, in [0, 1]: 1 with every switch at 0, 0 with every switch at 1.
    ValueError when ``net`` has no switch or ``power`` is not positive.
    """
    if not power > 0:
        raise ValueError(f"the removal loss power p must be positive, not {power}")
    raws = switch_parameters(net)
    if not raws:
        raise ValueError("the network has no switches: insert_switches() first")
    w = torch.stack([switch_value(r) for r in raws])
    if power < 1.0:
        w = w.clamp_min(_POWER_FLOOR)
    return (1.0 - w.pow(power)).mean()


def removed_components(net: nn.Module, threshold: float) -> dict[str, list[str]]:
    """{kind: [paths]} of the switched components whose w > ``threshold`` (tau).

    As :func:`canonical_removed` (paths sorted, no empty kind). A block that goes is
    listed only under ``block`` (its inner activation and skip go with it).
    """
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"the pruning threshold must be in [0, 1), not {threshold}")
    removed: dict[str, list[str]] = {k: [] for k in KINDS}
    for path, block in switched_blocks(net).items():
        gone = [k for k, w in block.switches().items() if w > threshold]
        if "block" in gone:
            gone = ["block"]
        for kind in gone:
            removed[kind].append(path)
    return canonical_removed(removed)


def apply_removed(net: nn.Module, removed: dict[str, list[str]]) -> None:
    """Replace the ResBlocks named in ``removed`` ({kind: [paths]}) by their removed form.

    In place; used by ``Ha2024Net(removed=...)`` to rebuild a pruned network from its
    config. ValueError for an unknown kind or a path that is not a plain ResBlock.
    """
    unknown = set(removed) - set(KINDS)
    if unknown:
        raise ValueError(f"removed components must be some of {KINDS}, not {sorted(unknown)}")
    paths = {p for v in removed.values() for p in v}
    modules = dict(net.named_modules())
    for path in sorted(paths):
        block = modules.get(path)
        if type(block) is not ResBlock:
            raise ValueError(f"'{path}' is not a residual block of {type(net).__name__}")
        if path in removed.get("block", ()):
            _replace(net, path, nn.Identity())
            continue
        pruned = PrunedResBlock(
            _channels(block),
            activation=path not in removed.get("activation", ()),
            skip=path not in removed.get("skip", ()),
        )
        pruned.conv1, pruned.conv2 = block.conv1, block.conv2
        _replace(net, path, pruned)


def canonical_removed(removed: dict | None) -> dict[str, list[str]]:
    """``removed`` with kinds in :data:`KINDS` order, sorted paths, no empty kinds."""
    removed = removed or {}
    return {k: sorted(str(p) for p in removed[k]) for k in KINDS if removed.get(k)}


def prune(net: nn.Module, threshold: float = 0.5) -> nn.Module:
    """A plain copy of switched ``net`` without the components whose w > ``threshold``.

    Components at or below tau return to their original form. The copy has no switch
    parameters, keeps every other weight under its name, and its ``config`` (copied)
    gains ``removed`` (merged with any earlier one), so for Ha2024Net
    ``Ha2024Net(**pruned.config)`` builds the same architecture. In the mode (train or
    eval) of ``net``.
    """
    removed = removed_components(net, threshold)
    out = copy.deepcopy(net)
    for path, block in switched_blocks(out).items():
        if path in removed.get("block", ()):
            _replace(out, path, nn.Identity())
            continue
        activation = path not in removed.get("activation", ())
        skip = path not in removed.get("skip", ())
        if activation and skip:
            plain = ResBlock(_channels(block))
        else:
            plain = PrunedResBlock(_channels(block), activation=activation, skip=skip)
        plain.conv1, plain.conv2 = block.conv1, block.conv2
        _replace(out, path, plain)
    if hasattr(out, "config"):
        before = out.config.get("removed") or {}
        merged = {k: [*before.get(k, []), *removed.get(k, [])] for k in KINDS}
        out.config = dict(out.config)
        if any(merged.values()):
            out.config["removed"] = canonical_removed(merged)
    return out


def removal_report(net: nn.Module, threshold: float) -> dict:
    """JSON-able description of the switches of ``net`` and what pruning at tau removes.

    ``components``: one entry per switch (path, part, kind, w, ``above`` = w > tau,
    ``removed`` = absent from the pruned network, by its own switch or because its
    whole block went); ``removed``: {kind: [paths]} as :func:`removed_components` (a
    block that goes is listed once, as a block); ``summary``: per part and kind, the
    counts ``switched``, ``above`` and ``removed``.
    """
    removed = removed_components(net, threshold)
    blocks_gone = set(removed.get("block", ()))
    components = []
    summary: dict[str, dict[str, dict[str, int]]] = {}
    for path, block in switched_blocks(net).items():
        part = _part_of(path) or "other"
        for kind, w in block.switches().items():
            above = w > threshold
            gone = path in blocks_gone or path in removed.get(kind, ())
            components.append(
                {
                    "path": path,
                    "part": part,
                    "kind": kind,
                    "switch": round(w, 6),
                    "above": above,
                    "removed": gone,
                }
            )
            counts = summary.setdefault(part, {}).setdefault(
                kind, {"switched": 0, "above": 0, "removed": 0}
            )
            counts["switched"] += 1
            counts["above"] += int(above)
            counts["removed"] += int(gone)
    return {
        "threshold": float(threshold),
        "rule": "a component goes when its switch w > threshold (Ha et al. 2024, Sec. 4.3)",
        "removed": removed,
        "summary": summary,
        "components": components,
    }
