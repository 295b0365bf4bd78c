"""Self-ensemble of the learned methods (method option ``views``).

Known answers: ``views=2`` is exactly the mean of the network's output on the frames and
the mirrored-back output on the mirrored frames; with 4 views the method commutes with
mirroring the clip (the single network does not); every mode and batched decoding give
the same frames; a bad count is one sentence.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionmag.errors import UsageError
from motionmag.magnify.api import magnify_frames
from motionmag.magnify.config import MagnifyConfig
from motionmag.magnify.registry import build_magnifier
from test_learned_batch import moving_clip


def static_output(method, reference: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """The engine's static path for one frame: decode M(frame) + change of M(frame) - M(ref)."""
    _, (m_ref,) = method.encode(reference)
    kept, (m_now,) = method.encode(frame)
    return method.decode(kept, [m_now - m_ref])


def as_batch(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255


def method_with(views: int, model: str = "ha2024"):
    # the colour match reads the whole frame's colours, not each view's: off here
    options = {"views": views, "color_match": False}
    config = MagnifyConfig(method=model, alpha=8.0, mode="static", options=options)
    return build_magnifier(config).method


@pytest.mark.parametrize("model", ["ha2024", "oh2018"])
def test_two_views_are_the_mean_of_the_frame_and_its_mirror_image(model):
    clip = moving_clip(2)[:, :38, :50]  # odd-free but not a multiple of 4: padding
    reference, frame = as_batch(clip[0]), as_batch(clip[1])
    single, pair = method_with(1, model), method_with(2, model)
    plain = static_output(single, reference, frame)
    mirrored = static_output(single, reference.flip(-1), frame.flip(-1)).flip(-1)
    ensemble = static_output(pair, reference, frame)
    assert ensemble.shape == plain.shape == (1, 3, 38, 50)
    torch.testing.assert_close(ensemble, (plain + mirrored) / 2, atol=1e-5, rtol=0)
    assert (plain - mirrored).abs().mean() > 1e-3  # the two views do differ


def test_four_views_commute_with_mirroring_the_clip():
    clip = moving_clip(2)
    reference, frame = as_batch(clip[0]), as_batch(clip[1])
    for views, commutes in ((4, True), (1, False)):
        method = method_with(views)
        out = static_output(method, reference, frame)
        for dims in ((-1,), (-2,), (-2, -1)):
            back = static_output(method, reference.flip(dims), frame.flip(dims)).flip(dims)
            gap = float((back - out).abs().max())
            assert (gap < 1e-5) == commutes, (views, dims, gap)


@pytest.mark.parametrize(
    ("mode", "band"),
    [("static", None), ("dynamic", None), ("temporal", (2.0, 6.0))],
)
def test_every_mode_runs_with_views_and_batches_agree(mode, band):
    frames = moving_clip(7)
    common = {"fps": 30.0, "method": "ha2024", "alpha": 8.0, "mode": mode, "band": band}
    one = magnify_frames(frames, **common, views=4)
    batched = magnify_frames(frames, **common, views=4, batch=3)
    single = magnify_frames(frames, **common)
    assert one.shape == frames.shape
    np.testing.assert_array_equal(batched, one)
    assert np.abs(one.astype(int) - frames).mean() > 1.0  # magnified
    assert np.abs(one.astype(int) - single).mean() > 0.05  # and not the single view


@pytest.mark.parametrize("bad", [0, 3, 8, "4", True])
def test_a_bad_view_count_is_one_sentence(bad):
    # 0, 3, 8: the method's own check; "4", True: the type check of every --set value
    with pytest.raises(UsageError, match=r"views .* is not one of 1, 2, 4|views takes a whole"):
        method_with(bad)
