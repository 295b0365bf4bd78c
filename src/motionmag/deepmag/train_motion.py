"""Training DeepMag's motion CNN (respiration) on synthetic physiological videos.

What matters (Chen and McDuff 2018, Sec. 3.3 and 5.2, Fig. 3b; METHODS.md section 4):

- **Same loop as the colour path** (:func:`.train.train_rounds`: rounds of TRAIN-split
  videos rendered on the fly, tasks A-D in turn, ``passes`` shuffled passes, MSE, Adam,
  resumable ``checkpoint.pt``); only the sample, the network and the test measure differ.
- **The input** is Eq. 20: the wrapped temporal difference of the local phase of luma at
  one scale ``r0`` of an octave complex steerable pyramid with 4 orientations
  (:func:`.motion.motion_representation`), ``r0`` chosen by :func:`.motion.scale_for_size`
  so the band is closest to the net's input side, resized to it if needed
  (:func:`.motion.fit_to_size`; at 128 px frames and a 64 px input, ``r0 = 1`` and no
  resize). The paper's band is 123 x 123 px; ours is 64 x 64 (our choice: CPU cost).
- **The target** is the respiration derivative between frames t and t+1: the mean of the
  saved exact ``d respiration_px / dt`` (upward chest velocity, px/s) at t and t+1,
  standardised per video (as the colour target: the net learns *which* change is the
  breathing, not its per-video depth). The paper's target is the chest-belt signal.
- **Evaluation on the TEST split** (photos shared with no training video), on longer
  videos than training (``test_duration_s``, 30 s: 0.16 Hz needs several breaths):
  Pearson r of the prediction with the target derivative (``derivative_r``) and of its
  band-passed (0.16-0.5 Hz, zero-phase) running sum with the band-passed true chest
  displacement (``respiration_r``), means per task.

Cost (measured on 2 shared cores, 1 thread): a 10 s, 128 px video renders in ~0.8 s, its
phases take ~0.35 s, and one training pass over its 299 pairs ~0.4 s with the default
widths (16, 16, 32).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import signal

from ..synth.physio import PhysioConfig, make_physio_video
from .motion import RESPIRATION_BAND_HZ, fit_to_size, motion_representation, scale_for_size
from .nets import DeepMagMotionNet
from .train import card_sections, predict, summarise_by_task, train_rounds


@dataclass
class MotionTrainConfig:
    """How the motion CNN is trained; lengths in px at the rendered size, times in s."""

    seed: int = 0  # generator seed of the train (and test) videos, and of the initialisation
    size_px: int = 128  # rendered frames; the pyramid scale r0 comes from net_size_px
    duration_s: float = 10.0
    fps: float = 30.0
    tasks: str = "ABCD"  # video i uses task tasks[i % len(tasks)]
    net_size_px: int = 64  # the net's input side (paper: 123); ours, for CPU cost
    widths: tuple[int, int, int] = (16, 16, 32)  # ours (the paper's figure is not in our copy)
    hidden: int = 64
    orientations: int = 4  # paper: 0, 45, 90, 135 deg
    videos_per_round: int = 8
    rounds: int = 1000  # upper bound; time_limit_s usually stops first
    passes: int = 2  # shuffled passes over each round's frames
    batch: int = 64
    lr: float = 1e-3
    test_videos: int = 16  # TEST split videos for the final evaluation
    test_duration_s: float = 30.0  # breathing at 0.16 Hz needs several cycles
    time_limit_s: float | None = None  # stop after the round that crosses it
    device: str = "cpu"
    physio: dict = field(default_factory=dict)  # other PhysioConfig overrides

    def physio_config(self, task: str, duration_s: float | None = None) -> PhysioConfig:
        return PhysioConfig(
            size_px=self.size_px,
            fps=self.fps,
            duration_s=self.duration_s if duration_s is None else duration_s,
            task=task,
            **self.physio,
        )

    @property
    def scale(self) -> int:
        """The pyramid scale r0 the net reads at the rendered size."""
        return scale_for_size(self.size_px, self.size_px, self.net_size_px, self.orientations)


def build_motion_net(config: MotionTrainConfig, input_std: float = 1.0) -> DeepMagMotionNet:
    """A fresh :class:`~.nets.DeepMagMotionNet` of ``config``'s sizes."""
    return DeepMagMotionNet(
        orientations=config.orientations,
        size_px=config.net_size_px,
        widths=tuple(config.widths),
        hidden=config.hidden,
        input_std=input_std,
    )


def motion_sample(
    index: int, config: MotionTrainConfig, split: str = "train", duration_s: float | None = None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Video ``index`` of ``split`` as (X float32 (T-1, K, L, L), target (T-1,), meta).

    X is Eq. 20 at scale ``config.scale`` fitted to ``L = net_size_px``; the target the
    standardised mean of ``respiration_derivative`` (px/s) at t and t+1."""
    task = config.tasks[index % len(config.tasks)]
    video = make_physio_video(index, config.seed, config.physio_config(task, duration_s), split)
    x = motion_representation(video.frames, config.scale, config.orientations)
    x = fit_to_size(torch.from_numpy(x.astype(np.float32)), config.net_size_px)
    derivative = video.truth["respiration_derivative"]
    target = 0.5 * (derivative[1:] + derivative[:-1])
    target = (target - target.mean()) / target.std()
    meta = {"index": index, "task": task, "video": video}
    return np.ascontiguousarray(x.numpy()), target.astype(np.float32), meta


def respiration_from_derivative(derivative: np.ndarray, fps: float) -> np.ndarray:
    """Running sum band-passed 0.16-0.5 Hz (zero-phase, scipy order 3): breathing from
    its derivative (any units; only the shape is compared)."""
    sos = signal.butter(3, RESPIRATION_BAND_HZ, btype="bandpass", fs=fps, output="sos")
    return signal.sosfiltfilt(sos, np.cumsum(derivative - derivative.mean()))


def evaluate_motion(
    model: torch.nn.Module, config: MotionTrainConfig, videos: int, split: str = "test"
) -> dict:
    """Correlations of the predicted with the true breathing on ``videos`` of ``split``.

    Videos of ``config.test_duration_s``. Returns ``{"derivative_r": {task: mean},
    "respiration_r": {task: mean}, "per_video": [...], "mean_derivative_r",
    "mean_respiration_r"}``.
    """
    sos = signal.butter(3, RESPIRATION_BAND_HZ, btype="bandpass", fs=config.fps, output="sos")
    rows = []
    for index in range(videos):
        x, target, meta = motion_sample(index, config, split, config.test_duration_s)
        pred = predict(model, x, config.device)
        truth = meta["video"].truth["respiration_px"]
        breathing = signal.sosfiltfilt(sos, truth - truth.mean())[1:]
        rows.append(
            {
                "index": index,
                "task": meta["task"],
                "derivative_r": float(np.corrcoef(pred, target)[0, 1]),
                "respiration_r": float(
                    np.corrcoef(respiration_from_derivative(pred, config.fps), breathing)[0, 1]
                ),
            }
        )
    return summarise_by_task(rows, ("derivative_r", "respiration_r"))


def train_deepmag_motion(
    out_dir: str | os.PathLike,
    config: MotionTrainConfig | None = None,
    log=print,
    command: str | None = None,
) -> tuple[DeepMagMotionNet, dict]:
    """Train (or resume) the motion CNN in ``out_dir``; returns (model, record).

    As :func:`.train.train_deepmag_color` (:func:`.train.train_rounds`)."""
    config = config or MotionTrainConfig()
    return train_rounds(
        out_dir,
        config,
        lambda index: motion_sample(index, config),
        lambda input_std: build_motion_net(config, input_std),
        log,
        command,
    )


def motion_model_card(record: dict, evaluation: dict, calibration: dict | None) -> dict:
    """The JSON model card of a motion run: data, training, test metrics, calibration."""
    c = record["config"]
    data, training = card_sections(
        record,
        "mean of the exact d respiration_px / dt (upward chest velocity, px/s) at t and "
        "t+1, standardised per video",
    )
    data["representation"] = (
        f"Eq. 20: wrapped phase difference of luma, octave steerable pyramid, "
        f"{c['orientations']} orientations, scale {MotionTrainConfig(**c).scale} "
        f"({c['net_size_px']} x {c['net_size_px']} px at {c['size_px']} px frames)"
    )
    card = {
        "name": "deepmag-motion",
        "paper": "Chen and McDuff 2018, DeepMag (Sec. 3.3 and 5.2, Fig. 3b)",
        "summary": "Respiration-derivative CNN (SELU) on steerable-pyramid phase differences "
        f"({c['net_size_px']} x {c['net_size_px']} x {c['orientations']}), for "
        "gradient-ascent motion magnification",
        "data": data,
        "training": training,
        "metrics": {
            "test_split": {
                "videos": len(evaluation["per_video"]),
                "seed": c["seed"],
                "duration_s": c["test_duration_s"],
                "derivative_r_by_task": evaluation["derivative_r"],
                "respiration_r_by_task": evaluation["respiration_r"],
                "mean_derivative_r": evaluation["mean_derivative_r"],
                "mean_respiration_r": evaluation["mean_respiration_r"],
                "what": "Pearson r per test video of the prediction with the true chest "
                "velocity (derivative_r), and of its band-passed (0.16-0.5 Hz) running sum "
                "with the band-passed true chest displacement (respiration_r); means per task",
            }
        },
    }
    if calibration is not None:
        card["calibration"] = calibration
    return card
