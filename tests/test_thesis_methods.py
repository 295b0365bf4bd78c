"""The thesis networks as methods (``sigma-theta``, ``mdmm-d1``, ``lwmm-light``,
``hmn-light``, ``kl-dnas``): what the
engine gives every one of them, and each shipped model's claim on held-out pairs.

Known answers: alpha = 1 returns the input exactly; in static mode the reference frame
comes back unchanged (it has no motion); temporal mode is the phase pre-filter's and
needs a band; the shipped weights beat the input (SSIM to the true magnified frame) on
held-out validation pairs (seed 1,000,000, never trained on).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionmag import magnify_frames
from motionmag.errors import UsageError
from motionmag.models import create_model
from motionmag.models.registry import has_weights, model_card
from motionmag.synth.vibration import quantize, subpixel_shift
from motionmag.train.oh2018 import config_class

#: one method per thesis network (the others differ only in width)
METHODS = ("sigma-theta", "mdmm-d1", "lwmm-light", "hmn-light", "kl-dnas")


@pytest.mark.parametrize("method", METHODS)
def test_engine_modes_identity_and_errors(method):
    rng = np.random.default_rng(0)
    photo = rng.uniform(30, 220, (40, 40, 3))
    frames = np.stack([quantize(subpixel_shift(photo, 0.2 * i, 0.0)) for i in range(3)])
    same = magnify_frames(frames, method=method, alpha=1, pretrained=False)
    assert np.array_equal(same, frames)
    static = magnify_frames(frames, method=method, alpha=8, pretrained=False)
    assert np.array_equal(static[0], frames[0])  # the reference: no motion
    with pytest.raises(UsageError, match="needs a pass band"):  # the phase pre-filter's
        magnify_frames(frames, method=method, alpha=8, mode="temporal", pretrained=False)
    # trained on 1-100, they kept (sigma-theta) or reversed (mdmm) motion at alpha < 1
    with pytest.raises(UsageError, match="does not attenuate"):
        magnify_frames(frames, method=method, alpha=0.5, pretrained=False)


@pytest.mark.parametrize(
    "method",
    [pytest.param(m, marks=pytest.mark.skipif(not has_weights(m), reason=f"no {m} weights"))
     for m in (*METHODS, "mdmm-d2")],
)  # fmt: skip
def test_shipped_weights_improve_on_the_input_of_held_out_pairs(method):
    """The card's claim, on 8 of its 40 validation pairs: the output is closer (SSIM) to
    the true magnified frame than frame B is, and alpha = 1 gives B back."""
    from torch.utils.data import default_collate

    from motionmag.train.oh2018 import evaluate, make_dataset

    validation = model_card(method)["metrics"]["validation"]
    assert validation["ssim"] > validation["input_ssim"]
    config = config_class(method)(val_samples=8)
    dataset = make_dataset(config, seed=config.val_seed, n=8)
    batches = [default_collate([dataset[i] for i in range(k, k + 4)]) for k in (0, 4)]
    result = evaluate(create_model(method), batches, torch.device("cpu"))
    assert result["ssim"] > result["input_ssim"] + 0.02, result
    frames = (batches[0]["B"].permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)[:2]
    assert np.array_equal(magnify_frames(frames, method=method, alpha=1), frames)


def test_mdmm_refuses_an_alpha_map_and_missing_weights_say_how_to_train():
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(UsageError, match="alpha_map"):
        magnify_frames(frames, method="mdmm-d1", alpha=8, pretrained=False,
                       alpha_map="map.png")  # fmt: skip
    with pytest.raises(UsageError, match="motionmag train lwmm --noise-max 0"):
        magnify_frames(frames, method="lwmm", alpha=8)
    with pytest.raises(UsageError, match="every step; the first is `motionmag train lwmm"):
        magnify_frames(frames, method="kl-dnas", alpha=8)  # its teacher comes first


def test_every_thesis_trainer_is_found_without_importing_its_module_first():
    """``motionmag train MODEL`` finds a recipe through ``_EXTENSIONS``: each thesis
    model's hooks module must be listed there (tests import the modules themselves, which
    would hide a missing entry)."""
    from motionmag.train.cli_train import _THESIS_MODELS
    from motionmag.train.oh2018 import _EXTENSIONS, RECIPES

    for model in _THESIS_MODELS:
        config_class(model)  # registered
        assert RECIPES[model].hooks in _EXTENSIONS, model
