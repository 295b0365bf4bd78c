"""KL-DNAS of Singh 2024 (thesis Ch. 4): the searchable student, its mixed layers, its genotype.

What matters (../shared/specs/THESIS.md s.4; the thesis's genotypes are images, so the
``kl-dnas`` network is whatever *our* search derives, and its genotype is part of the
model: the card's ``network.config["genotype"]``):

- **Layer-wise search space** (Fig. 4.3, s.4.2):
  - **LR** (:class:`SearchLayer`): one input, candidate ops ``none`` and convolutions
    (+ ReLU). The thesis's 9 ops (3x3 and 5x5 at dilations 1, 2, 4, 8) are
    ``ops="full"``; the default ``"reduced"`` set ``{none, 3x3 d1 / d2 / d4, 5x5 d1}`` is
    THESIS.md s.4.6's cheaper variant for 2 CPU cores [choice].
  - **LC** (:class:`CombineLayer`): ``{none, add, concat}``; "concat" is concat + conv1x1
    back to the block width. Serial chains: ``LC(R_l, R_{l-1}) = F1``, ``LC(F1, R_{l-2})``,
    ... down to the block input (Fig. 4.34), at most ``reach`` earlier layers back
    (THESIS.md's suggestion: 3) plus the input; in the two-stream encoder block one more
    LC takes the other stream's LR output of the same depth (cross-frame sharing).
  - **Mixed operation** (Eq. 4.10): ``sum_o softmax(arch)_o * o(x)`` with learnable
    logits ``arch`` per layer; a derived layer keeps ``argmax`` only.
  - ``none`` in LR is zero inside the mixture and the identity once derived
    (THESIS.md s.4.6's suggestion, as in DARTS), so a derived "none" cannot cut the
    graph; in LC "none" passes the current feature on (no connection).
- **Layout** (THESIS.md s.4.2's suggestion, all at 1/2 resolution, width ``channels``):
  per stream a fixed stem ``conv3x3 3->c/2, ReLU, max-pool 2, conv3x3 c/2->c, ReLU`` and
  the two-stream encoder block (``E_a``, ``E_b``); **appearance** ``concat(E_a, E_b) ->
  conv1x1 2c->c -> block`` (``A``); **manipulator** ``(E_b - E_a) x alpha -> block``
  (``M``); **decoder** ``A + M -> block -> nearest x2 -> conv3x3 c->c/2, ReLU, conv3x3
  c/2->3, tanh``. ``layers`` LR per block (the thesis's layout: 4; the cheap variant 2-3).
- The teacher is LW-MM (``nets/lwmm.py``; THESIS.md s.4.1): the student's width must be
  the teacher's 1/2-resolution width 2C (48 for ``lwmm``), so that its features can be
  distilled against the teacher's and fed to the teacher's frozen parts
  (``train/kl_dnas.py``).
- **Genotype**: ``{key: op}`` with keys ``"<part>/<stream>/<layer>/r"`` (an LR) and
  ``"<part>/<stream>/<layer>/c<j>"`` (the j-th LC of that layer's chain); a key that is
  absent is a mixed layer still to search. :func:`derive` fixes the given parts by argmax
  and carries every inherited weight over (state-dict names are the same in both forms).
- Our choices: ReLU; zero padding for the dilated convolutions (as HMN here; reflection as
  wide as the dilation does not fit small frames), reflection for the fixed layers; the
  two encoder streams start with equal weights (as LW-MM here); sign ``E_b - E_a``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .pair import PairNetwork, factor_like

#: the candidate ops of an LR layer
OP_SETS: dict[str, tuple[str, ...]] = {
    "full": ("none", "conv3x3_d1", "conv3x3_d2", "conv3x3_d4", "conv3x3_d8",
             "conv5x5_d1", "conv5x5_d2", "conv5x5_d4", "conv5x5_d8"),
    "reduced": ("none", "conv3x3_d1", "conv3x3_d2", "conv3x3_d4", "conv5x5_d1"),
}  # fmt: skip
#: the candidate ops of an LC layer
COMBINE_OPS = ("none", "add", "concat")
#: the student's blocks, in network order
PARTS = ("encoder", "appearance", "manipulator", "decoder")
#: the three searches in series (Fig. 4.2 a-c) and the parts each one searches
STAGES: dict[str, tuple[str, ...]] = {
    "encoder": ("encoder",),
    "middle": ("appearance", "manipulator"),
    "decoder": ("decoder",),
}
#: frames are padded to a multiple of this (the stem's max-pool)
SIZE_MULTIPLE = 2
MIN_SIZE_PX = 4


def op_shape(name: str) -> tuple[int, int]:
    """``(kernel, dilation)`` of an LR op name such as ``"conv5x5_d2"``."""
    kernel, dilation = name.removeprefix("conv").split("_d")
    return int(kernel.split("x")[0]), int(dilation)


def part_of(key: str) -> str:
    """The part (``encoder``, ...) a genotype key belongs to."""
    return key.split("/", 1)[0]


class ConvOp(nn.Module):
    """``ReLU(conv kxk, dilation d)`` at ``channels``, zero-padded to keep the size."""

    def __init__(self, channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        pad = dilation * (kernel // 2)
        self.conv = nn.Conv2d(channels, channels, kernel, padding=pad, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x))


class _Choice(nn.Module):
    """A layer with candidate ops: mixed (``arch`` logits) until ``choice`` names one."""

    def __init__(self, names: tuple[str, ...], choice: str | None) -> None:
        super().__init__()
        if choice is not None and choice not in names:
            raise ValueError(f"unknown op {choice!r}; choose from {', '.join(names)}")
        self.names = names
        self.choice = choice
        if choice is None:
            self.arch = nn.Parameter(torch.zeros(len(names)))

    @property
    def mixed(self) -> bool:
        return self.choice is None

    def mixture(self) -> torch.Tensor:
        """softmax of the logits (Eq. 4.10's weights)."""
        return torch.softmax(self.arch, dim=0)

    def derived(self) -> str:
        """The op this layer keeps: its choice, or the argmax of its logits."""
        if self.choice is not None:
            return self.choice
        return self.names[int(torch.argmax(self.arch.detach()))]

    def expected_cost(self, costs: dict[str, float]) -> torch.Tensor | float:
        """``sum_o softmax(arch)_o * costs[o]`` (FBNet's expected latency), or the chosen
        op's cost."""
        if self.choice is not None:
            return costs[self.choice]
        table = torch.tensor([costs[name] for name in self.names], device=self.arch.device)
        return (self.mixture() * table).sum()


class SearchLayer(_Choice):
    """LR: a mixture of ``ops`` (``none`` = zero inside the mixture, identity once chosen)."""

    def __init__(self, channels: int, ops: tuple[str, ...], choice: str | None = None) -> None:
        super().__init__(ops, choice)
        kept = [n for n in ops if n != "none" and choice in (None, n)]
        self.ops = nn.ModuleDict({n: ConvOp(channels, *op_shape(n)) for n in kept})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.choice is not None:
            return x if self.choice == "none" else self.ops[self.choice](x)
        weights = self.mixture()
        out = torch.zeros_like(x)
        for i, name in enumerate(self.names):
            if name != "none":
                out = out + weights[i] * self.ops[name](x)
        return out


class CombineLayer(_Choice):
    """LC: ``none`` (x), ``add`` (x + y) or ``concat`` (conv1x1 of [x, y])."""

    def __init__(self, channels: int, choice: str | None = None) -> None:
        super().__init__(COMBINE_OPS, choice)
        if choice in (None, "concat"):
            self.fuse = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.choice == "none":
            return x
        if self.choice == "add":
            return x + y
        fused = self.fuse(torch.cat([x, y], dim=1))
        if self.choice == "concat":
            return fused
        w = self.mixture()
        return w[0] * x + w[1] * (x + y) + w[2] * fused


class _Cell(nn.Module):
    """One depth of one stream: its LR and the LC chain after it."""

    def __init__(self, layer: SearchLayer, chain: list[CombineLayer]) -> None:
        super().__init__()
        self.layer = layer
        self.chain = nn.ModuleList(chain)


class SearchBlock(nn.Module):
    """``layers`` LR layers, each followed by its LC chain (one or two streams).

    Layer l's chain combines its LR output with the earlier LR outputs, newest first, at
    most ``reach`` back, then the block input, then (two streams) the other stream's LR
    output of depth l; the chain's result feeds layer l + 1.
    """

    def __init__(
        self,
        part: str,
        channels: int,
        layers: int,
        reach: int,
        ops: tuple[str, ...],
        streams: int,
        choose: Callable[[str], str | None],
    ) -> None:
        super().__init__()
        self.part = part
        rows = []
        for s in range(streams):
            cells = []
            for depth in range(layers):
                links = min(depth, reach) + 1 + (streams - 1)
                layer = SearchLayer(channels, ops, choose(f"{part}/{s}/{depth}/r"))
                chain = [CombineLayer(channels, choose(f"{part}/{s}/{depth}/c{j}"))
                         for j in range(links)]  # fmt: skip
                cells.append(_Cell(layer, chain))
            rows.append(nn.ModuleList(cells))
        self.rows = nn.ModuleList(rows)
        self.reach = reach

    def choices(self) -> Iterator[tuple[str, _Choice]]:
        """``(genotype key, layer)`` of every LR and LC of the block."""
        for s, row in enumerate(self.rows):
            for depth, cell in enumerate(row):
                yield f"{self.part}/{s}/{depth}/r", cell.layer
                for j, link in enumerate(cell.chain):
                    yield f"{self.part}/{s}/{depth}/c{j}", link

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One input per stream -> one output per stream."""
        current = list(inputs)
        raw: list[list[torch.Tensor]] = [[] for _ in inputs]
        for depth in range(len(self.rows[0])):
            outs = [row[depth].layer(x) for row, x in zip(self.rows, current, strict=True)]
            for s, row in enumerate(self.rows):
                earlier = raw[s][::-1][: self.reach]
                others = [outs[o] for o in range(len(outs)) if o != s]
                feature = outs[s]
                sources = [*earlier, inputs[s], *others]
                for link, source in zip(row[depth].chain, sources, strict=True):
                    feature = link(feature, source)
                current[s] = feature
            for s, out in enumerate(outs):
                raw[s].append(out)
        return tuple(current)


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect")


def _stem(c: int) -> nn.Sequential:
    """The fixed encoder stem: full resolution to 1/2, width c."""
    half = max(c // 2, 1)
    return nn.Sequential(_conv(3, half), nn.ReLU(), nn.MaxPool2d(2), _conv(half, c), nn.ReLU())


class KLDNASNet(PairNetwork):
    """The KL-DNAS student (Singh 2024, Ch. 4): a supernet while parts are mixed, a plain
    network once derived; see the module docstring.

    Args:
        channels: the blocks' width at 1/2 resolution (the teacher's 2C: 48 for ``lwmm``).
        layers: LR layers per block (4: the thesis's layout).
        reach: earlier layers an LC chain reaches back (3).
        ops: the LR op set, ``"reduced"`` or ``"full"`` (:data:`OP_SETS`).
        genotype: ``{key: op}`` of the layers already derived (absent keys are mixed).
    """

    size_multiple = SIZE_MULTIPLE
    min_size_px = MIN_SIZE_PX

    def __init__(
        self,
        channels: int = 48,
        layers: int = 4,
        reach: int = 3,
        ops: str = "reduced",
        genotype: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        if channels < 2 or layers < 1 or reach < 0:
            raise ValueError(f"invalid KLDNASNet size: channels {channels}, layers {layers}")
        if ops not in OP_SETS:
            raise ValueError(f"unknown op set {ops!r}; choose from {', '.join(OP_SETS)}")
        genotype = dict(genotype or {})
        c = int(channels)
        self.config = {"channels": c, "layers": int(layers), "reach": int(reach), "ops": ops,
                       "genotype": genotype}  # fmt: skip
        names = OP_SETS[ops]

        def block(part: str, streams: int = 1) -> SearchBlock:
            return SearchBlock(part, c, layers, reach, names, streams, genotype.get)

        self.stem_a = _stem(c)
        self.stem_b = _stem(c)
        self.encoder = block("encoder", streams=2)
        self.appearance_in = nn.Conv2d(2 * c, c, 1)
        self.appearance = block("appearance")
        self.manipulator = block("manipulator")
        self.decoder = block("decoder")
        half = max(c // 2, 1)
        self.output = nn.Sequential(_conv(c, half), nn.ReLU(), _conv(half, 3))
        unknown = set(genotype) - {key for key, _ in self.choices()}
        if unknown:
            raise ValueError(f"genotype keys not in this network: {', '.join(sorted(unknown))}")
        self.stem_b.load_state_dict(self.stem_a.state_dict())
        if not any(part_of(key) == "encoder" for key in genotype):  # same layout both streams
            self.encoder.rows[1].load_state_dict(self.encoder.rows[0].state_dict())

    def blocks(self) -> dict[str, SearchBlock]:
        """The four searchable blocks by part name."""
        return {part: getattr(self, part) for part in PARTS}

    def choices(self, parts: tuple[str, ...] = PARTS) -> Iterator[tuple[str, _Choice]]:
        """``(genotype key, layer)`` of every LR and LC in ``parts``."""
        for part in parts:
            yield from self.blocks()[part].choices()

    def arch_parameters(self, parts: tuple[str, ...] = PARTS) -> list[nn.Parameter]:
        """The mixture logits of the still-mixed layers of ``parts``."""
        return [layer.arch for _, layer in self.choices(parts) if layer.mixed]

    def encode(self, frame_a: torch.Tensor, frame_b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Frames (N, 3, H, W) in [0, 1], H and W even -> ``(E_a, E_b)`` (N, c, H/2, W/2)."""
        return self.encoder(self.stem_a(frame_a * 2.0 - 1.0), self.stem_b(frame_b * 2.0 - 1.0))

    def appearance_features(self, e_a: torch.Tensor, e_b: torch.Tensor) -> torch.Tensor:
        """``A`` from the two encodings."""
        return self.appearance(self.appearance_in(torch.cat([e_a, e_b], dim=1)))[0]

    def motion_features(
        self, e_a: torch.Tensor, e_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> torch.Tensor:
        """``M`` from ``(E_b - E_a) x alpha``."""
        return self.manipulator((e_b - e_a) * factor_like(alpha, e_b))[0]

    def decode(self, appearance: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        """``A + M`` -> the magnified frame (N, 3, H, W) in [-1, 1]."""
        x = self.decoder(appearance + motion)[0]
        return torch.tanh(self.output(F.interpolate(x, scale_factor=2.0, mode="nearest")))

    def magnified(
        self, frame_a: torch.Tensor, frame_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> torch.Tensor:
        """Frames (N, 3, H, W) in [0, 1], H and W even -> frame b magnified, [-1, 1]."""
        e_a, e_b = self.encode(frame_a, frame_b)
        appearance = self.appearance_features(e_a, e_b)
        return self.decode(appearance, self.motion_features(e_a, e_b, alpha))


def genotype_of(net: KLDNASNet, parts: tuple[str, ...] = PARTS) -> dict[str, str]:
    """The network's genotype with ``parts`` derived: every chosen layer, plus the argmax of
    each mixed layer in ``parts``."""
    genotype = dict(net.config["genotype"])
    genotype.update((key, layer.derived()) for key, layer in net.choices(parts))
    return genotype


def derive(net: KLDNASNet, parts: tuple[str, ...] = PARTS) -> KLDNASNet:
    """A copy of ``net`` with the mixed layers of ``parts`` fixed to their argmax op, every
    weight the new network keeps inherited from ``net`` (THESIS.md s.4.6: derived parts
    keep training from their search weights)."""
    config = {**net.config, "genotype": genotype_of(net, parts)}
    derived = KLDNASNet(**config).to(next(net.parameters()).device)
    own = derived.state_dict()
    inherited = {k: v for k, v in net.state_dict().items() if k in own}
    missing = set(own) - set(inherited)
    if missing:  # cannot happen: a derived layer's tensors are a subset of the mixed one's
        raise RuntimeError(f"derive lost weights: {sorted(missing)[:3]}")
    derived.load_state_dict(inherited)
    return derived
