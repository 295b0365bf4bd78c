"""Batched decoding of the learned methods (method option ``batch``).

Known answers: decoding frames in batches gives the same frames as one at a time (fp32
bit for bit, in every mode, with a final partial batch), the manipulator and decoder
really run once per batch, outputs come ``batch - 1`` frames later, and ``motionmag
bench`` counts the same GFLOPs per frame with and without batching.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from motionmag.errors import UsageError
from motionmag.eval.bench import BenchCase, measure_case
from motionmag.magnify.api import magnify_frames
from motionmag.magnify.config import MagnifyConfig
from motionmag.magnify.registry import build_magnifier


def moving_clip(count: int = 7) -> np.ndarray:
    rng = np.random.default_rng(2)
    base = cv2.GaussianBlur(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8), (0, 0), 1.5)
    return np.stack([np.roll(base, i, axis=1) for i in range(count)])


@pytest.mark.parametrize(
    ("mode", "band"),
    [("static", None), ("dynamic", None), ("temporal", (2.0, 6.0))],
)
def test_batched_frames_equal_one_at_a_time(mode, band):
    frames = moving_clip(7)  # batches of 3: 3 + 3 + a last partial batch of 1
    common = {"fps": 30.0, "method": "ha2024", "alpha": 8.0, "mode": mode, "band": band}
    one = magnify_frames(frames, **common)
    batched = magnify_frames(frames, **common, batch=3)
    assert batched.shape == frames.shape
    assert np.abs(one.astype(int) - frames).mean() > 1.0  # something was magnified
    np.testing.assert_array_equal(batched, one)


def test_the_decoder_runs_once_per_batch_and_outputs_come_later():
    config = MagnifyConfig(method="ha2024", alpha=8.0, mode="static", options={"batch": 3})
    magnifier = build_magnifier(config)
    calls = []
    decode = magnifier.method.runner.decode

    def counting(texture, shape, selection, alpha):
        calls.append(texture.shape[0])
        return decode(texture, shape, selection, alpha)

    magnifier.method.runner.decode = counting
    assert magnifier.latency_frames == 2
    returned = [len(magnifier.push(frame)) for frame in moving_clip(7)]
    assert returned == [0, 0, 3, 0, 0, 3, 0]
    assert len(magnifier.flush()) == 1
    assert calls == [3, 3, 1]


@pytest.mark.parametrize("bad", [0, -2, 1.5, "4", True])
def test_a_bad_batch_is_one_sentence(bad):
    config = MagnifyConfig(method="ha2024", alpha=8.0, mode="static", options={"batch": bad})
    # 0: the method's own check; -2, 1.5, "4", True: the type check of every --set value
    with pytest.raises(UsageError, match=r"batch.* whole number"):
        build_magnifier(config)


def test_bench_counts_the_same_gflops_per_frame_with_a_batch():
    def case(options):
        return BenchCase("ha2024", "static", 64, 48, 3, 1, 1, "random", options=options)

    plain = measure_case(case(()))
    batched = measure_case(case((("batch", 2),)))
    assert plain.gflops_per_frame > 0
    assert batched.gflops_per_frame == pytest.approx(plain.gflops_per_frame, rel=1e-6)
    assert batched.frames == 4  # 3 pushes rounded up to whole batches of 2
