"""Training DeepMag's colour CNN on synthetic physiological videos, resumable, on CPU or CUDA.

What matters:

- **Data are generated on the fly, never read from disk.** Round ``r`` renders the TRAIN
  split videos ``r * videos_per_round ...`` of :func:`~motionmag.synth.physio.make_physio_video`
  (tasks A-D in turn, so the network sees the head motions it must ignore), computes
  ``X(t)`` (Eq. 15, 36 x 36 x 3) and trains ``passes`` shuffled passes over those frames
  before the next round. Every video is new, so there is no over-fitting to watch and no
  dropout (our choice; the paper trains on recorded videos, Sec. 4-5).
- **The target** is the pulse derivative between frames t and t+1: the mean of the saved
  exact ``dp/dt`` at t and t+1 (1/s), standardised per video (zero mean, unit std): the
  per-video pulse amplitude is not something a predictor of *which* change is the pulse
  needs to know. Loss: mean squared error (as DeepPhys); optimiser Adam.
- **Evaluation on the TEST split** (photos shared with no training video): per video, the
  Pearson correlation of the prediction with the target derivative, and of the
  band-passed running sum of the prediction with the band-passed true pulse (0.7-2.5 Hz,
  the way rPPG recovers a pulse from a derivative); means per task.
- **Resumable**: ``checkpoint.pt`` (weights, optimiser, round, input scale) is written
  after every round to ``out_dir``; calling again with the same ``out_dir`` continues.
  Export is safetensors + a JSON model card (data, samples seen, time, metrics).

The round loop (:func:`train_rounds`), the per-task summary (:func:`summarise_by_task`),
the export (:func:`export_weights`) and the card's data and training sections
(:func:`card_sections`) are shared with the motion path (:mod:`.train_motion`); only the
sample (representation and target), the network and the test measure differ.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from scipy import signal

from ..atomic import atomic_output, write_json
from ..errors import InputError
from ..synth.physio import PhysioConfig, make_physio_video
from ..synth.physio_signals import TASKS
from ..train.run_state import device_name, read_checkpoint_file
from .magnify import PULSE_BAND_HZ
from .nets import DeepMagColorNet
from .representations import downsample, normalized_difference

CHECKPOINT = "checkpoint.pt"


@dataclass
class ColorTrainConfig:
    """How the colour CNN is trained; lengths in px at the rendered size, times in s."""

    seed: int = 0  # generator seed of the train (and test) videos, and of the initialisation
    size_px: int = 128  # rendered frames (the network only sees 36 x 36); ours
    duration_s: float = 10.0
    fps: float = 30.0
    tasks: str = "ABCD"  # video i uses task tasks[i % len(tasks)]
    videos_per_round: int = 8
    rounds: int = 1000  # upper bound; time_limit_s usually stops first
    passes: int = 4  # shuffled passes over each round's frames
    batch: int = 64
    lr: float = 1e-3
    test_videos: int = 16  # TEST split videos for the final evaluation
    time_limit_s: float | None = None  # stop after the round that crosses it
    device: str = "cpu"
    physio: dict = field(default_factory=dict)  # other PhysioConfig overrides

    def physio_config(self, task: str) -> PhysioConfig:
        return PhysioConfig(
            size_px=self.size_px,
            fps=self.fps,
            duration_s=self.duration_s,
            task=task,
            **self.physio,
        )


def color_sample(
    index: int, config: ColorTrainConfig, split: str = "train"
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Video ``index`` of ``split`` as (X float32 (T-1, 3, 36, 36), target (T-1,), video meta)."""
    task = config.tasks[index % len(config.tasks)]
    video = make_physio_video(index, config.seed, config.physio_config(task), split)
    x = normalized_difference(downsample(video.frames)).astype(np.float32)
    derivative = video.truth["pulse_derivative"]
    target = 0.5 * (derivative[1:] + derivative[:-1])
    target = (target - target.mean()) / target.std()
    meta = {"index": index, "task": task, "video": video}
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), target.astype(np.float32), meta


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@torch.no_grad()
def predict(model: torch.nn.Module, x: np.ndarray, device: str = "cpu") -> np.ndarray:
    """The model's output for X (N, C, L, L) float32, as float64 (N,), in batches of 512."""
    model.eval()
    out = [
        model(torch.from_numpy(x[i : i + 512]).to(device)).double().cpu().numpy()
        for i in range(0, len(x), 512)
    ]
    return np.concatenate(out)


def pulse_from_derivative(derivative: np.ndarray, fps: float) -> np.ndarray:
    """Running sum band-passed 0.7-2.5 Hz (zero-phase, order 3): a pulse from its derivative."""
    sos = signal.butter(3, PULSE_BAND_HZ, btype="bandpass", fs=fps, output="sos")
    return signal.sosfiltfilt(sos, np.cumsum(derivative - derivative.mean()))


def evaluate_color(
    model: torch.nn.Module, config: ColorTrainConfig, videos: int, split: str = "test"
) -> dict:
    """Correlations of the predicted with the true pulse on ``videos`` videos of ``split``.

    Returns ``{"derivative_r": {task: mean}, "pulse_r": {task: mean}, "per_video": [...],
    "mean_derivative_r", "mean_pulse_r"}``.
    """
    rows = []
    for index in range(videos):
        x, target, meta = color_sample(index, config, split)
        pred = predict(model, x, config.device)
        truth = meta["video"].truth["pulse"]
        pulse_true = signal.sosfiltfilt(
            signal.butter(3, PULSE_BAND_HZ, btype="bandpass", fs=config.fps, output="sos"),
            truth - truth.mean(),
        )[1:]
        rows.append(
            {
                "index": index,
                "task": meta["task"],
                "derivative_r": _pearson(pred, target),
                "pulse_r": _pearson(pulse_from_derivative(pred, config.fps), pulse_true),
            }
        )
    return summarise_by_task(rows, ("derivative_r", "pulse_r"))


def summarise_by_task(rows: list[dict], keys: tuple[str, ...]) -> dict:
    """``{"per_video": rows, key: {task: mean}, "mean_" + key: mean}`` for every key."""
    summary: dict = {"per_video": rows}
    for key in keys:
        summary[key] = {
            task: float(np.mean([r[key] for r in rows if r["task"] == task]))
            for task in TASKS
            if any(r["task"] == task for r in rows)
        }
        summary[f"mean_{key}"] = float(np.mean([r[key] for r in rows]))
    return summary


#: what a DeepMag checkpoint holds (``train_rounds``)
CHECKPOINT_KEYS = ("model", "optimizer", "input_std", "record")


def read_checkpoint(path: str | os.PathLike) -> dict:
    """A DeepMag run's checkpoint (tensors and plain data only, never a pickled object);
    InputError, one sentence, for a damaged or foreign file."""
    state = read_checkpoint_file(path, CHECKPOINT_KEYS)
    if not isinstance(state["record"], dict) or "config" not in state["record"]:
        raise InputError(f"'{path}' is not a DeepMag checkpoint: choose another --run folder.")
    return state


def _save(obj: dict, path: Path) -> None:
    with atomic_output(path) as temporary:
        torch.save(obj, temporary)


def train_rounds(
    out_dir: str | os.PathLike,
    config,
    sample: Callable[[int], tuple[np.ndarray, np.ndarray, dict]],
    build_net: Callable[[float], torch.nn.Module],
    log=print,
    command: str | None = None,
) -> tuple[torch.nn.Module, dict]:
    """The resumable round loop shared by the colour and motion trainers.

    Args:
        out_dir: run folder (``checkpoint.pt`` and ``record.json``); resumes when present.
        config: a dataclass with ``seed``, ``videos_per_round``, ``rounds``, ``passes``,
            ``batch``, ``lr``, ``time_limit_s`` (s or None) and ``device``.
        sample: train video index -> (X float32 (T-1, C, L, L), target (T-1,), meta).
        build_net: input scale (the std of X, dimensionless) -> a fresh network.
        log: one line per round.
        command: the command line that started this session, for the record (None from
            Python).

    Returns:
        (model in eval mode, record: configuration, rounds, samples seen, seconds, the
        mean loss per round, ``lr_schedule``, [first round, Adam rate] pairs: a resumed
        run trains at ``config.lr``, and ``sessions``, one per call: command, device, first
        and last round, start time in UTC); the record is also written to
        ``out_dir/record.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    state = None
    if (out / CHECKPOINT).is_file():
        state = read_checkpoint(out / CHECKPOINT)
    if state is None:
        # input scale (ours): the std of X over the first round's videos, fixed from then on
        xs = [sample(i)[0] for i in range(config.videos_per_round)]
        input_std = float(np.concatenate(xs).std())
        record = {"config": asdict(config), "round": 0, "samples": 0, "seconds": 0.0,
                  "losses": []}  # fmt: skip
    else:
        input_std = state["input_std"]
        record = state["record"]
    model = build_net(input_std).to(config.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        # a resumed run trains at the rate it is given now, so that a run can be continued
        # at a lower rate (ours); the record keeps the rate each round range used
        for group in optimizer.param_groups:
            group["lr"] = config.lr
    # each call is a session of the run: how it was started, on what, from which round
    session = {
        "command": command,
        "device": device_name(torch.device(config.device)),
        "from_round": record["round"],
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    record.setdefault("sessions", []).append(session)
    schedule = record.setdefault("lr_schedule", [[0, record["config"]["lr"]]])
    if schedule[-1][1] != config.lr:
        schedule.append([record["round"], config.lr])
    # the run's settings now: a continued run's (its --rounds grew; record.json kept the
    # first session's), the rates of earlier rounds in lr_schedule
    record["config"] = asdict(config)
    start = time.monotonic() - record["seconds"]
    while record["round"] < config.rounds:
        r = record["round"]
        # each round's shuffle from (seed, round): a resumed run draws what an unbroken
        # one does (one generator for the whole run did not resume the same)
        rng = np.random.default_rng([config.seed, r])
        first = r * config.videos_per_round
        samples = [sample(i) for i in range(first, first + config.videos_per_round)]
        x = torch.from_numpy(np.concatenate([s[0] for s in samples]))
        y = torch.from_numpy(np.concatenate([s[1] for s in samples]))
        model.train()
        losses = []
        for _ in range(config.passes):
            order = torch.from_numpy(rng.permutation(len(x)))
            for i in range(0, len(x), config.batch):
                batch = order[i : i + config.batch]
                xb, yb = x[batch].to(config.device), y[batch].to(config.device)
                loss = torch.mean((model(xb) - yb) ** 2)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        record["round"] = r + 1
        record["samples"] += config.passes * len(x)
        record["seconds"] = time.monotonic() - start
        record["losses"].append(float(np.mean(losses)))
        session["to_round"] = record["round"]
        _save(
            {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "input_std": input_std, "record": record},
            out / CHECKPOINT,
        )  # fmt: skip
        log(f"round {r + 1}: loss {record['losses'][-1]:.4f}, {record['seconds']:.0f} s")
        if config.time_limit_s is not None and record["seconds"] >= config.time_limit_s:
            break
    write_json(out / "record.json", record, indent=1)
    return model.eval(), record


def train_deepmag_color(
    out_dir: str | os.PathLike,
    config: ColorTrainConfig | None = None,
    log=print,
    command: str | None = None,
) -> tuple[DeepMagColorNet, dict]:
    """Train (or resume) the colour CNN in ``out_dir``; returns (model, record).

    The record has the configuration, rounds, samples seen, seconds spent and the loss
    per round; it is also written to ``out_dir/record.json`` (:func:`train_rounds`).
    """
    config = config or ColorTrainConfig()
    return train_rounds(
        out_dir,
        config,
        lambda index: color_sample(index, config),
        lambda input_std: DeepMagColorNet(input_std=input_std),
        log,
        command,
    )


def export_weights(
    model: torch.nn.Module, path: str | os.PathLike, card: dict
) -> tuple[Path, Path]:
    """Write ``path`` (.safetensors) and the JSON card beside it (``network`` filled in:
    the model's ``module:Class`` and its ``config``, the constructor arguments)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path))
    card = {
        **card,
        "network": {
            "class": f"{type(model).__module__}:{type(model).__name__}",
            "config": model.config,
        },
    }
    card_path = path.with_suffix(".json")
    write_json(card_path, card, indent=1)
    return path, card_path


#: the colour net's weights are written like every DeepMag net's
export_color_weights = export_weights


def card_sections(record: dict, target: str) -> tuple[dict, dict]:
    """The ``data`` and ``training`` sections of a DeepMag model card from a run record.

    ``record["config"]`` is the run's configuration (``asdict`` of a train config with
    ``seed``, ``tasks``, ``videos_per_round``, ``passes``, ``size_px``, ``duration_s``,
    ``fps``, ``lr``, ``batch``, ``physio``); ``target`` says what the network predicts.
    """
    c = record["config"]
    videos = record["round"] * c["videos_per_round"]
    frames = max(2, round(c["duration_s"] * c["fps"]))
    data = {
        "generator": "motionmag.synth.physio.make_physio_video (rendered on the fly)",
        "seed": c["seed"],
        "split": "train",
        "videos": videos,
        "video_indices": [0, videos - 1],
        "tasks": f"{c['tasks']} (video i has task tasks[i % {len(c['tasks'])}])",
        "size_px": c["size_px"],
        "duration_s": c["duration_s"],
        "fps": c["fps"],
        "frame_pairs": videos * (frames - 1),
        "physio_overrides": c["physio"],
        "target": target,
    }
    training = {
        "loss": "MSE",
        "optimizer": "Adam",
        "lr": c["lr"],
        "lr_schedule": record.get("lr_schedule", [[0, c["lr"]]]),
        "batch": c["batch"],
        "rounds": record["round"],
        "epochs": f"{c['passes']} passes over each round's {c['videos_per_round']} videos",
        "samples_seen": record["samples"],
        "seconds": round(record["seconds"], 1),
        "final_round_losses": [round(v, 4) for v in record["losses"][-5:]],
    }
    sessions = record.get("sessions", [])
    if sessions:  # runs recorded before sessions were kept have none
        training["device"] = sessions[-1]["device"]
        training["command"] = sessions[-1]["command"]
        training["sessions"] = sessions
    return data, training


def color_model_card(record: dict, evaluation: dict, calibration: dict | None) -> dict:
    """The JSON model card of a colour run: data, training, test metrics, calibration."""
    c = record["config"]
    data, training = card_sections(
        record, "mean of the exact dp/dt at t and t+1, standardised per video"
    )
    card = {
        "name": "deepmag-color",
        "paper": "Chen and McDuff 2018, DeepMag (Sec. 3.2, Fig. 3a)",
        "summary": "Pulse-derivative CNN on the normalised frame difference (36 x 36 x 3), "
        "for gradient-ascent colour magnification",
        "data": data,
        "training": training,
        "metrics": {
            "test_split": {
                "videos": len(evaluation["per_video"]),
                "seed": c["seed"],
                "derivative_r_by_task": evaluation["derivative_r"],
                "pulse_r_by_task": evaluation["pulse_r"],
                "mean_derivative_r": evaluation["mean_derivative_r"],
                "mean_pulse_r": evaluation["mean_pulse_r"],
                "what": "Pearson r per test video of the prediction with the true dp/dt "
                "(derivative_r), and of its band-passed (0.7-2.5 Hz) running sum with the "
                "band-passed true pulse (pulse_r); means per task",
            }
        },
    }
    if calibration is not None:
        card["calibration"] = calibration
    return card
