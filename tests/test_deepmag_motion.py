"""DeepMag's motion path (Chen and McDuff 2018, Sec. 3.3): training, export, the method.

Known answers: the trainer's loop must learn a toy respiration predictor whose answer
is known (the mean vertical phase difference over a 'chest' square, hidden in noise),
the exported weights must give bit-identical predictions after loading, the method must
magnify a known sub-pixel chest motion (measured independently by the physio suite's
Lucas-Kanade chest trace) and leave the background alone, and the shipped model must
magnify a held-out synthetic video's breathing in the chest region.
"""

from __future__ import annotations

import json
from typing import ClassVar

import cv2
import numpy as np
import pytest
import torch

from motionmag.deepmag.motion import fit_to_size, scale_for_size
from motionmag.deepmag.nets import DeepMagMotionNet
from motionmag.errors import UsageError
from motionmag.models.registry import has_weights

SHIPPED = has_weights("deepmag-motion")


# --------------------------------------------------------------------------- helpers


def chest_clip(fps: float = 10.0, n: int = 200, s: int = 64, amplitude_px: float = 0.25):
    """A textured 'chest' (rows 32-56) moving up and down by ``amplitude_px`` at 0.3 Hz
    over a static background: (uint8 frames (T, s, s, 3), chest dy per frame (T,) px)."""
    dy = amplitude_px * np.sin(2 * np.pi * 0.3 * np.arange(n) / fps)

    def texture(seed: int) -> np.ndarray:
        r = np.random.default_rng(seed).random((s, s, 3)).astype(np.float32)
        return cv2.GaussianBlur(r, (0, 0), 1.5)

    background = 0.1 + 0.8 * texture(1)
    chest = 0.5 + 2.4 * (texture(2) - texture(2).mean())
    mask = np.zeros((s, s, 1), np.float32)
    mask[32:56, 8:56] = 1
    frames = [
        background * (1 - mask)
        + mask * cv2.warpAffine(chest, np.float32([[1, 0, 0], [0, 1, -d]]), (s, s),
                                flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        for d in dy
    ]  # fmt: skip
    frames = np.clip(np.rint(np.array(frames) * 255), 0, 255).astype(np.uint8)
    return frames, -dy  # content moves up by dy: image rows shift by -dy


class ChestSum(torch.nn.Module):
    """y = sum of the 90-degree phase differences over the chest (a 32 px input): a
    breathing predictor with a known gradient, shaped like a motion net (``config``)."""

    config: ClassVar[dict] = {"size_px": 32, "orientations": 4}

    def __init__(self) -> None:
        super().__init__()
        weight = torch.zeros(4, 32, 32)
        weight[2, 18:26, 6:26] = 1.0
        self.register_buffer("weight", weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weight).flatten(1).sum(1)


def tiny_motion_config(**overrides):
    from motionmag.deepmag.train_motion import MotionTrainConfig

    settings = dict(size_px=48, duration_s=1.5, videos_per_round=2, rounds=1, passes=1,
                    net_size_px=38, widths=(4, 4, 8), hidden=8, test_duration_s=3.0)  # fmt: skip
    settings.update(overrides)
    return MotionTrainConfig(**settings)


# --------------------------------------------------------------------------- representation


def test_scale_is_the_band_closest_to_the_net_input_and_resizing_keeps_radians():
    assert scale_for_size(128, 128, 64) == 1  # the training size: no resize
    assert scale_for_size(256, 256, 64) == 2
    assert scale_for_size(360, 640, 64) == 2  # bands 360, 180, 90, 45: 90 is closest
    constant = torch.full((2, 4, 90, 160), 0.013)  # rad per frame
    fitted = fit_to_size(constant, 64)
    assert fitted.shape == (2, 4, 64, 64)
    assert torch.allclose(fitted, torch.full_like(fitted, 0.013), atol=1e-6)
    same = torch.randn(1, 4, 64, 64)
    assert fit_to_size(same, 64) is same


# --------------------------------------------------------------------------- training


def test_round_loop_learns_a_known_respiration_predictor(tmp_path):
    """The trainer's loop (shared with colour) on a toy case with a known answer: the
    target is the mean of orientation 2 over a square, buried in noise 3x its size
    elsewhere. After a few rounds the net predicts fresh samples with r > 0.9."""
    from dataclasses import dataclass

    from motionmag.deepmag.train import predict, train_rounds

    @dataclass
    class Config:
        seed: int = 0
        videos_per_round: int = 4
        rounds: int = 6
        passes: int = 3
        batch: int = 32
        lr: float = 3e-3
        time_limit_s: float | None = None
        device: str = "cpu"

    def sample(index: int):
        rng = np.random.default_rng([7, index])
        y = rng.standard_normal(96).astype(np.float32)
        x = 3.0 * rng.standard_normal((96, 4, 38, 38)).astype(np.float32)
        x[:, 2, 10:28, 10:28] += 4.0 * y[:, None, None]
        return x, y, {}

    torch.set_num_threads(1)
    model, record = train_rounds(
        tmp_path, Config(), sample, lambda s: DeepMagMotionNet(size_px=38, widths=(4, 4, 8),
                                                               hidden=8, input_std=s),
        log=lambda _: None,
    )  # fmt: skip
    assert record["round"] == 6 and record["samples"] == 6 * 3 * 4 * 96
    x, y, _ = sample(10_000)  # a sample no round saw
    r = np.corrcoef(predict(model, x), y)[0, 1]
    assert r > 0.9
    assert record["losses"][-1] < 0.5 * record["losses"][0]


def test_motion_training_resumes_exports_and_loads_back(tmp_path):
    """The real trainer on two tiny physio videos: resume, evaluate per task, export,
    load the weights back through the model registry: identical predictions."""
    from motionmag.deepmag.train import export_weights
    from motionmag.deepmag.train_motion import (
        evaluate_motion,
        motion_model_card,
        motion_sample,
        train_deepmag_motion,
    )
    from motionmag.models.registry import create_model

    torch.set_num_threads(1)
    config = tiny_motion_config()
    assert config.scale == 0  # 48 px frames: the 48 px band is closest to 38
    x, target, meta = motion_sample(0, config)
    assert x.shape == (44, 4, 38, 38) and target.shape == (44,)
    assert abs(target.mean()) < 1e-6 and abs(target.std() - 1) < 1e-5
    truth = meta["video"].truth["respiration_derivative"]  # target follows the truth
    assert np.corrcoef(target, truth[1:] + truth[:-1])[0, 1] > 0.999
    _, record = train_deepmag_motion(tmp_path, config, log=lambda _: None)
    assert record["round"] == 1 and record["samples"] == 2 * 44
    config.rounds = 2  # the same call again continues where the run stopped
    model, record = train_deepmag_motion(tmp_path, config, log=lambda _: None)
    assert record["round"] == 2 and record["samples"] == 4 * 44 and len(record["losses"]) == 2
    evaluation = evaluate_motion(model, config, videos=2)
    assert set(evaluation["respiration_r"]) == {"A", "B"}
    card = motion_model_card(record, evaluation, None)
    assert card["data"]["videos"] == 4 and card["data"]["split"] == "train"
    assert card["metrics"]["test_split"]["duration_s"] == 3.0
    weights, card_path = export_weights(model, tmp_path / "m.safetensors", card)
    network = json.loads(card_path.read_text())["network"]
    assert network["class"] == "motionmag.deepmag.nets:DeepMagMotionNet"
    loaded = create_model("deepmag-motion", weights=weights)
    x = 0.05 * torch.randn(3, 4, 38, 38)
    assert torch.equal(loaded(x), model.eval()(x))


# --------------------------------------------------------------------------- the method


def test_method_is_registered_with_the_breathing_band():
    from motionmag.magnify.registry import get_method
    from motionmag.models.registry import get_model_spec

    spec = get_method("deepmag-motion")
    assert spec.modes == ("temporal",) and spec.default_band_hz == (0.16, 0.5)
    assert spec.weights == "deepmag-motion.safetensors"
    assert get_model_spec("deepmag-motion").network.endswith(":DeepMagMotionNet")


def test_motion_magnifier_magnifies_a_known_chest_motion_and_leaves_the_background():
    """The stream magnifier (scale chosen for the net's 32 px input: scale 1 of 64 px
    frames) on a chest moving 0.25 px at 0.3 Hz; the motion is measured by the physio
    suite's chest trace and regressed on the truth: gain > 1, background untouched."""
    from motionmag.deepmag.method import DeepMagMotionMagnifier
    from motionmag.eval.physio_measures import bandpass, chest_trace, slope

    frames, truth = chest_clip()
    magnifier = DeepMagMotionMagnifier(ChestSum(), 10.0, 20, 2e-4)
    assert all(magnifier.push(f) == [] for f in frames)
    out = np.stack(magnifier.flush())
    assert out.shape == frames.shape and out.dtype == np.uint8
    region = np.zeros((64, 64), bool)
    region[37:51, 12:52] = True

    def motion(video: np.ndarray) -> float:
        return slope(bandpass(chest_trace(video, region, 1.5), 10.0, (0.16, 0.5)),
                     bandpass(truth, 10.0, (0.16, 0.5)))  # fmt: skip

    before, after = motion(frames), motion(out)
    assert before == pytest.approx(1.0, abs=0.2)  # LK on cubic-warped texture: ~1.15
    assert after / before > 1.5, after / before
    diff = np.abs(out[:, :20].astype(int) - frames[:, :20].astype(int))
    assert diff.max() <= 1  # the background is not magnified


def test_method_builds_from_weights_and_bad_input_says_one_sentence(tmp_path):
    """Built through the registry from exported weights without a calibration: the band
    defaults to the breathing, alpha needs a calibration (or gamma), and bad input fails
    with one sentence."""
    from motionmag import magnify_frames
    from motionmag.deepmag.train import export_weights
    from motionmag.magnify.config import MagnifyConfig
    from motionmag.magnify.registry import build_magnifier

    torch.set_num_threads(1)
    net = DeepMagMotionNet(size_px=38, widths=(4, 4, 8), hidden=8)
    weights, _ = export_weights(net, tmp_path / "m.safetensors", {"name": "deepmag-motion"})
    config = MagnifyConfig(method="deepmag-motion", alpha=3.0, fps=30.0,
                           options={"weights": str(weights), "gamma": 1e-3})  # fmt: skip
    magnifier = build_magnifier(config)  # no mode, no band: temporal on 0.16-0.5 Hz
    assert magnifier.band == (0.16, 0.5) and magnifier.gamma == 1e-3
    assert config.band is None  # the caller's config is not changed

    def message(**kwargs) -> str:
        frames = kwargs.pop("frames", np.zeros((40, 48, 48, 3), np.uint8))
        with pytest.raises(UsageError) as error:
            magnify_frames(frames, fps=30.0, method="deepmag-motion",
                           weights=str(weights), **kwargs)  # fmt: skip
        text = str(error.value)
        assert text.endswith(".") and "\n" not in text and text.count(". ") == 0
        return text

    assert "calibration" in message(alpha=3.0)  # a card without calibration, no gamma
    assert "too few" in message(frames=np.zeros((10, 48, 48, 3), np.uint8), gamma=1e-3)
    assert "no option" in message(gamma=1e-3, steps=3)
    assert "smooth_px" in message(gamma=1e-3, smooth_px=-1.0)
    assert "smooth_px" in message(gamma=1e-3, smooth_px="wide")
    assert "no static mode" in message(gamma=1e-3, mode="static")


# --------------------------------------------------------------------------- shipped model


@pytest.mark.slow
@pytest.mark.skipif(not SHIPPED, reason="no deepmag-motion weights installed")
def test_shipped_model_magnifies_a_held_out_breathing_in_the_chest_region():
    """Issue check: a test-split video (task B, head sweeping at 10 deg/s), alpha 3, the
    shipped weights, scored by the physio suite: breathing gain in the chest > 1.5, and
    the output still follows the true breathing."""
    from motionmag import magnify_frames
    from motionmag.eval.physio_measures import respiration_scores
    from motionmag.synth.physio import PhysioConfig, make_physio_video

    torch.set_num_threads(1)
    video = make_physio_video(1, 0, PhysioConfig(task="B", duration_s=20.0), split="test")
    out = magnify_frames(video.frames, fps=video.fps, method="deepmag-motion", alpha=3.0)
    scores = respiration_scores(video, out, 3.0)
    assert scores["gain"] > 1.5
    assert scores["correlation"] > 0.5


@pytest.mark.slow
@pytest.mark.skipif(not SHIPPED, reason="no deepmag-motion weights installed")
def test_cli_magnifies_a_clip_with_deepmag_motion(tmp_path, capsys):
    """``motionmag magnify clip.mp4 --method deepmag-motion --alpha 5 -o out.mp4`` (no band:
    the method's own) on a short synthetic chest clip: exit 0, every frame written."""
    from clip_io import read_clip, write_clip
    from motionmag.cli import main

    frames, _ = chest_clip(fps=10.0, n=60, s=64)
    clip = write_clip(tmp_path / "clip.mp4", frames, 10.0)
    out = tmp_path / "out.mp4"
    argv = ["magnify", str(clip), "--method", "deepmag-motion", "--alpha", "5", "-o", str(out),
            "--quiet", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert read_clip(out).shape == frames.shape


def test_a_clip_shorter_than_the_default_band_s_period_is_noted():
    """The note came only when --band 0.16 0.5 was typed, not for the same default band."""
    from motionmag.magnify.config import MagnifyConfig
    from motionmag.magnify.engine import _band_notes

    config = MagnifyConfig(method="deepmag-motion", alpha=3.0, fps=10.0)
    notes = _band_notes(config, frames=30)
    assert len(notes) == 1 and "less than one period of the band's low edge" in notes[0]
    assert "(6.2 s at 0.16 Hz)" in notes[0]
    assert _band_notes(config, frames=70) == []  # 7 s: one period fits
    explicit = MagnifyConfig(method="deepmag-motion", alpha=3.0, fps=10.0, mode="temporal")
    assert _band_notes(explicit, frames=30) == notes
    colour = MagnifyConfig(method="deepmag-color", alpha=3.0, fps=10.0)  # 0.7-2.5 Hz
    assert "(1.4 s at 0.7 Hz)" in _band_notes(colour, frames=10)[0]
    assert _band_notes(colour, frames=20) == []
