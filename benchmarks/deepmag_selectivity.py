"""What deepmag-color magnifies besides the pulse, and how its gain depends on noise.

A test-split task-A face of the physio suite (128 px, 10 s, 30 fps) is rendered without
its own pulse; known sinusoids are added (green peak amplitude 0.15 %), then camera noise
(Gaussian, ``--noise`` grey levels) and 8-bit rounding. The gain of each component is the
FFT amplitude of the mean skin colour at its frequency, output over input, at alpha 3
through the model card's calibration, for the method's default step and the paper's
(``smooth_cells=0, gate_sigmas=0, step=sign, weight_smooth_s=0``):

- pulse-coloured 1.2 Hz + pulse-coloured 2.0 Hz on the skin (both in the band);
- pulse 1.2 Hz + a grey 2.0 Hz flicker of the whole frame (in band, not a pulse);
- pulse 2.0 Hz + grey 1.2 Hz flicker (swapped);
- pulse 1.2 Hz + pulse-coloured 4.0 Hz (out of the 0.7-2.5 Hz band);
- the 1.2 Hz pulse alone at each ``--noise-sweep`` level (the default step's gain);
- and the same at 1 grey level on the face rendered at each ``--size-sweep`` side (the
  step reads the noise at the calibration's 128 px: ``deepmag.magnify.ramp_sigma``).

Found by the stop-54 review of DeepMag (README "Methods" cites these numbers)::

    OMP_NUM_THREADS=1 python benchmarks/deepmag_selectivity.py \\
        --json benchmarks/results/deepmag_selectivity.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from motionmag.deepmag.calibration import calibration_for
from motionmag.deepmag.magnify import (
    GATE_SIGMAS,
    SMOOTH_CELLS,
    STEP,
    WEIGHT_SMOOTH_S,
    gamma_for_alpha,
    magnify_color_details,
)
from motionmag.models.registry import create_model, model_card
from motionmag.synth.physio import PhysioConfig, render_physio, sample_physio_params
from records import write_record  # benchmarks/records.py

FPS = 30.0
ALPHA = 3.0
N_ITER = 20
AMPLITUDE = 0.0015  # relative green amplitude of every component
#: the pulse's colour direction (blood volume pulse, de Haan and van Leest), green = 1
PULSE_RGB = np.array([0.33, 0.77, 0.53]) / 0.77
MIXES = {
    "pulse 1.2 Hz + pulse-coloured 2.0 Hz": [("pulse", 1.2), ("pulse", 2.0)],
    "pulse 1.2 Hz + grey flicker 2.0 Hz": [("pulse", 1.2), ("grey", 2.0)],
    "pulse 2.0 Hz + grey flicker 1.2 Hz": [("pulse", 2.0), ("grey", 1.2)],
    "pulse 1.2 Hz + pulse-coloured 4.0 Hz (out of band)": [("pulse", 1.2), ("pulse", 4.0)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, default=1.0, help="grey levels (mixes)")
    parser.add_argument("--noise-sweep", type=float, nargs="+", default=[0.25, 1.0, 3.0])
    parser.add_argument("--size-sweep", type=int, nargs="*", default=[128, 256, 384])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)

    def face(size_px: int) -> tuple[np.ndarray, np.ndarray]:
        """The test face without its pulse or noise, [0, 1], and its skin in every frame."""
        config = PhysioConfig(task="A", duration_s=10.0, size_px=size_px)
        video = render_physio(sample_physio_params(3, 0, config, "test"), keep_float=True,
                              pulse_scale=0.0)  # fmt: skip
        return video.frames_float.astype(np.float64) / 255.0, video.skin_mask.all(axis=0)

    free, skin = face(128)
    t = np.arange(len(free)) / FPS
    rng = np.random.default_rng(0)
    model = create_model("deepmag-color").eval()
    card = model_card("deepmag-color")
    steps = {
        "method": {
            "smooth_cells": SMOOTH_CELLS,
            "gate_sigmas": GATE_SIGMAS,
            "step": STEP,
            "weight_smooth_s": WEIGHT_SMOOTH_S,
        },
        "paper": {"smooth_cells": 0.0, "gate_sigmas": 0.0, "step": "sign", "weight_smooth_s": 0.0},
    }
    gammas = {}
    for name, options in steps.items():
        calibration = calibration_for(card, *options.values())
        gammas[name] = gamma_for_alpha(ALPHA, N_ITER, calibration)

    def render(components, noise: float) -> np.ndarray:
        frames = free.copy()
        for kind, freq in components:
            wave = AMPLITUDE * np.sin(2 * np.pi * freq * t)
            if kind == "pulse":  # the skin only, in the pulse's colour direction
                frames[:, skin] *= 1 + wave[:, None, None] * PULSE_RGB
            else:  # a grey flicker of the whole frame
                frames *= 1 + wave[:, None, None, None]
        frames += noise * rng.standard_normal(frames.shape) / 255.0
        return np.clip(np.rint(frames * 255), 0, 255).astype(np.uint8)

    def amplitude(frames: np.ndarray, freq: float, channel: int = 1) -> float:
        mean = frames[:, skin, channel].astype(np.float64).mean(axis=1)
        mean = mean / mean.mean()
        kept = slice(30, len(t) - 30)  # the filter's edges left out
        phasor = np.exp(-2j * np.pi * freq * t[kept])
        return float(2 * abs(np.mean((mean[kept] - mean[kept].mean()) * phasor)))

    def gains(components, noise: float, step: str) -> dict:
        frames = render(components, noise)
        out = magnify_color_details(frames, FPS, model, N_ITER, gammas[step], **steps[step])
        result = {}
        for kind, freq in components:
            result[f"{kind} {freq:g} Hz"] = {
                channel: round(amplitude(out["frames"], freq, c) / amplitude(frames, freq, c), 3)
                for c, channel in enumerate("RGB")
            }
        return result

    mixes = {}
    for name, components in MIXES.items():
        mixes[name] = {step: gains(components, args.noise, step) for step in steps}
        print(name, json.dumps(mixes[name]), flush=True)
    sweep = {}
    for noise in args.noise_sweep:
        sweep[f"{noise:g}"] = gains([("pulse", 1.2)], noise, "method")["pulse 1.2 Hz"]
        print(f"noise {noise:g} grey levels: pulse gain {sweep[f'{noise:g}']}", flush=True)
    by_size = {}
    for size in args.size_sweep:
        free, skin = face(size)
        by_size[str(size)] = gains([("pulse", 1.2)], 1.0, "method")["pulse 1.2 Hz"]
        print(f"{size} px at 1 grey level: pulse gain {by_size[str(size)]}", flush=True)
    if args.json:
        write_record(
            args.json,
            alpha=ALPHA,
            n_iter=N_ITER,
            gamma=gammas,
            noise_grey_levels=args.noise,
            amplitude=AMPLITUDE,
            gain_by_mix=mixes,
            pulse_gain_by_noise=sweep,
            pulse_gain_by_size_px=by_size,
        )


if __name__ == "__main__":
    main()
