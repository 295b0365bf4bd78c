"""KL-DNAS's latency: the per-op lookup table, the expected latency and L_lat (Eq. 4.11).

What matters (THESIS.md s.4.4, s.4.6):

- **Lookup table measured here**: each candidate op of the search space timed on this
  machine (the fastest of ``runs`` after a warm-up, since noise only adds time; torch's
  current threads), on the features of
  one frame of ``frame_hw`` (default 640x360: (c, 180, 320) at the blocks' 1/2
  resolution), in ms. LR ``none`` and LC ``none`` cost 0; ``add`` and ``concat`` are timed;
  ``fixed/<stage>`` holds the stage's fixed layers (the stems, the appearance's conv1x1,
  the output convolutions), so a stage's latency is comparable with the teacher's.
- **Expected latency** of a stage (FBNet): ``fixed + sum_layers sum_o softmax(arch)_o
  LUT[o]``; derived layers count their op only. Differentiable in the logits.
- **L_lat = |log(latency / target)|** (Eq. 4.11; the thesis's ``alpha`` there is
  ``latency`` here): both overshoot and undershoot cost, so the search spends the budget.
- **Targets** (THESIS.md s.4.6): a fraction of the LW-MM teacher's latency for the same
  stage measured the same way (:func:`teacher_latency_ms`; SM1 was 0.45x the teacher), plus
  whatever the previous stage left unspent.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .kl_dnas import OP_SETS, STAGES, ConvOp, KLDNASNet, op_shape

#: the frame (H, W) the table is measured for
FRAME_HW = (360, 640)


def time_ms(fn: Callable[[], object], runs: int = 5) -> float:
    """The shortest wall time of ``fn()`` in ms over ``runs`` calls after one warm-up."""
    with torch.no_grad():
        fn()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(1000.0 * (time.perf_counter() - start))
    return min(times)


def measure_costs(
    channels: int, ops: str = "reduced", frame_hw: tuple[int, int] = FRAME_HW, runs: int = 5
) -> dict[str, float]:
    """The lookup table (ms per op) of a student of width ``channels`` and op set ``ops``
    for one frame of ``frame_hw``, measured on this machine."""
    h, w = frame_hw[0] // 2, frame_hw[1] // 2
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, channels, h, w, generator=gen)
    y = torch.rand(1, channels, h, w, generator=gen)
    costs = {"none": 0.0}
    for name in OP_SETS[ops]:
        if name != "none":
            op = ConvOp(channels, *op_shape(name)).eval()
            costs[name] = time_ms(lambda op=op: op(x), runs)
    fuse = torch.nn.Conv2d(2 * channels, channels, 1).eval()
    costs["add"] = time_ms(lambda: x + y, runs)
    costs["concat"] = time_ms(lambda: fuse(torch.cat([x, y], dim=1)), runs)
    net = KLDNASNet(channels, layers=1, reach=0, ops=ops).eval()
    frame = torch.rand(1, 3, *frame_hw, generator=gen)
    costs["fixed/encoder"] = time_ms(lambda: (net.stem_a(frame), net.stem_b(frame)), runs)
    costs["fixed/middle"] = time_ms(lambda: net.appearance_in(torch.cat([x, y], dim=1)), runs)
    costs["fixed/decoder"] = time_ms(
        lambda: net.output(F.interpolate(x, scale_factor=2.0, mode="nearest")), runs
    )
    return costs


def expected_latency(net: KLDNASNet, costs: dict[str, float], stage: str) -> torch.Tensor:
    """The stage's expected latency (ms): its fixed layers plus every layer's expected op
    cost under the current mixture (a tensor with the logits' gradient)."""
    total = torch.tensor(costs[f"fixed/{stage}"])
    for _, layer in net.choices(STAGES[stage]):
        total = total + layer.expected_cost(costs)
    return total


def latency_loss(latency: torch.Tensor, target_ms: float) -> torch.Tensor:
    """``|log(latency / target)|`` (Eq. 4.11)."""
    if not target_ms > 0:
        raise ValueError(f"latency target {target_ms} ms must be > 0")
    return torch.log(latency / target_ms).abs()


def teacher_latency_ms(
    teacher: torch.nn.Module, frame_hw: tuple[int, int] = FRAME_HW, runs: int = 5
) -> dict[str, float]:
    """The LW-MM teacher's time per stage (ms) for one frame of ``frame_hw``, measured as
    :func:`measure_costs`: ``encoder`` (both streams), ``middle`` (appearance encoder and
    manipulator), ``decoder``."""
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(1, 3, *frame_hw, generator=gen)
    b = torch.rand(1, 3, *frame_hw, generator=gen)
    with torch.no_grad():
        early = (teacher.encoder_a.early(a), teacher.encoder_b.early(b))
        e_b = teacher.encoder_b.late_features(early[1], early[0])
        pooled = F.max_pool2d(torch.cat(early, dim=1), 2)
        appearance = teacher.appearance(pooled)

    def encoder() -> None:
        ea, eb = teacher.encoder_a.early(a), teacher.encoder_b.early(b)
        teacher.encoder_a.late_features(ea, eb)
        teacher.encoder_b.late_features(eb, ea)

    def middle() -> None:
        teacher.appearance(pooled)
        teacher.manipulator(e_b)

    return {
        "encoder": time_ms(encoder, runs),
        "middle": time_ms(middle, runs),
        "decoder": time_ms(lambda: teacher.draw(appearance + e_b), runs),
    }
