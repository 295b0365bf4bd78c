"""FlowMag's known answers, targeted magnification and test-time adaptation (issue 6).

Three checks of a ``flowmag`` weights file on clips whose true magnification is known,
written into its model card (``--card``) and printed:

1. **Known answer** (the clip of ``tests/test_learned_weights.py``: scikit-image's
   ``clock``, held out from training, translated by a 0.3 px, 2 Hz sinusoid at 30 fps):
   static gain at alpha 4 and 10 (least-squares slope of the measured output shift
   against the input shift) and SSIM to the true magnified clip, beside the phase-based
   method and the unmagnified input.
2. **Targeted magnification** (Pan et al. Algorithm 2): the same clip with an alpha map
   that is 1 on the left half and 0 on the right, with a soft 8 px edge. Outside the map
   beyond a 16 px band the output must equal the input (SSIM >= 0.98 to the input);
   inside, the measured gain should be about alpha.
3. **Test-time adaptation**: motion error (px, OpenCV DIS, not used in training) of the
   ``real-video`` suite's default clip at alpha 4 and 10, before and after
   ``tta_epochs`` epochs of adaptation on that clip.

    OMP_NUM_THREADS=2 python benchmarks/flowmag_checks.py \
        --weights src/motionmag/models/weights/flowmag.safetensors --card
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from motionmag import magnify_frames  # noqa: E402
from motionmag.eval.metrics import ssim  # noqa: E402
from test_learned_weights import AMPLITUDE_PX, FPS, FRAMES, _clip, _gain  # noqa: E402

FRAME_STEP = 4  # every 4th frame is measured (speed)
EDGE_PX = 8  # soft edge of the alpha map
BAND_PX = 16  # the band outside the map that is not scored


def gain(output: np.ndarray, region: tuple[slice, slice] | None = None) -> float:
    """Least-squares slope of the output's measured x-shift against the input's (in
    ``region``, every ``FRAME_STEP``-th frame; ``test_learned_weights._gain``)."""
    rows, cols = region or (slice(None), slice(None))
    return _gain(output[:, rows, cols], slice(1, None, FRAME_STEP))


def mean_ssim(a: np.ndarray, b: np.ndarray, region=None) -> float:
    rows, cols = region or (slice(None), slice(None))
    return float(
        np.mean([ssim(a[i][rows, cols], b[i][rows, cols]) for i in range(1, len(a), FRAME_STEP)])
    )


def known_answer(settings: dict) -> dict:
    clip = _clip(AMPLITUDE_PX)
    out: dict = {
        "clip": f"skimage clock, {AMPLITUDE_PX} px x sin(2 pi 2 Hz t), {FRAMES} "
        f"frames, {FPS} fps, static mode, reference frame 0"
    }
    for alpha in (4.0, 10.0):
        truth = _clip(alpha * AMPLITUDE_PX)
        flowmag = magnify_frames(
            clip, fps=FPS, method="flowmag", alpha=alpha, mode="static", **settings
        )
        phase = magnify_frames(clip, fps=FPS, method="phase", alpha=alpha, mode="static")
        out[f"alpha_{alpha:g}"] = {
            "static_gain": gain(flowmag),
            "phase_static_gain": gain(phase),
            "ssim_to_truth": {
                "flowmag": mean_ssim(flowmag, truth),
                "phase": mean_ssim(phase, truth),
                "input": mean_ssim(clip, truth),
            },
        }
    return out


def targeted(settings: dict, alpha: float = 10.0) -> dict:
    clip = _clip(AMPLITUDE_PX)
    height, width = clip.shape[1:3]
    half = width // 2
    weights = np.zeros((height, width), np.float32)
    weights[:, :half] = 1.0
    weights = cv2.GaussianBlur(weights, (0, 0), EDGE_PX / 2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "map.npy"
        np.save(path, weights)
        out = magnify_frames(
            clip,
            fps=FPS,
            method="flowmag",
            alpha=alpha,
            mode="static",
            alpha_map=str(path),
            **settings,
        )
    inside = (slice(None), slice(0, half - BAND_PX))
    outside = (slice(None), slice(half + BAND_PX, None))
    return {
        "alpha": alpha,
        "map": f"1 on the left half, 0 on the right, Gaussian edge sigma {EDGE_PX / 2} px",
        "ssim_to_input_outside": mean_ssim(out, clip, outside),
        "gain_inside": gain(out, inside),
        "gain_outside": gain(out, outside),
        "band_px": BAND_PX,
        "goal": "SSIM to the input >= 0.98 outside the map beyond the band; gain ~alpha inside",
    }


def adaptation(settings: dict, epochs: int, lr: float, freeze_norm: bool = True) -> dict:
    from motionmag.eval.realvideo import run_real_video
    from motionmag.eval.runner import MethodUnderTest

    result: dict = {
        "epochs": epochs,
        "lr": lr,
        "freeze_norm": freeze_norm,
        "clip": "real-video suite default clip (seed 0, 30 frames)",
    }
    adapted = {
        "tta_epochs": epochs,
        "tta_lr": lr,
        "tta_freeze_norm": freeze_norm,
        "tta_progress": False,
    }
    for label, extra in (("before", {}), ("after", adapted)):
        method = MethodUnderTest("flowmag", options={**settings, **extra})
        start = time.perf_counter()
        suite = run_real_video(method, progress=False, alphas=(4.0, 10.0))
        result[label] = {f"alpha_{lv.x:g}": lv.values["motion_error"] for lv in suite.levels}
        result[f"{label}_seconds"] = round(time.perf_counter() - start, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="flowmag .safetensors (default: the shipped ones)")
    parser.add_argument("--tta-epochs", type=int, default=3)
    parser.add_argument("--tta-lr", type=float, default=1e-4, help="the method's default")
    parser.add_argument(
        "--tta-clip-norm",
        action="store_true",
        help="let TTA's BatchNorm statistics follow the clip (tta_freeze_norm=false)",
    )
    parser.add_argument("--card", action="store_true", help="write the numbers into the card")
    args = parser.parse_args()
    settings = {"weights": args.weights} if args.weights else {}
    command = (
        "python benchmarks/flowmag_checks.py"
        + (f" --weights {args.weights}" if args.weights else "")
        + f" --tta-epochs {args.tta_epochs} --tta-lr {args.tta_lr:g}"
        + (" --tta-clip-norm" if args.tta_clip_norm else "")
    )
    numbers = {
        "known_answer": known_answer(settings),
        "targeted": targeted(settings),
        "tta": adaptation(settings, args.tta_epochs, args.tta_lr, not args.tta_clip_norm),
        "command": command,
    }
    print(json.dumps(numbers, indent=1))
    if args.card:
        weights = Path(args.weights or ROOT / "src/motionmag/models/weights/flowmag.safetensors")
        card_path = weights.with_suffix(".json")
        card = json.loads(card_path.read_text())
        card["checks"] = numbers
        card_path.write_text(json.dumps(card, indent=1) + "\n")


if __name__ == "__main__":
    main()
