"""Known answers of shipped learned weights on a held-out real photo, written into the card.

The clip of ``tests/test_learned_weights.py`` (scikit-image's ``clock`` translated by a
0.3 px, 2 Hz sinusoid at 30 fps; the truth is the photo translated by alpha x that):
measured static and temporal (1-3 Hz) gain at alpha 10, SSIM to the true magnified clip
for the model, the phase-based method and the unmagnified input, and SSIM to the input
at alpha 1. The issues' goals: static 8.5-11.5, temporal 7-13, SSIM above phase.

    python benchmarks/known_answers.py oh2018 ha2024
    python benchmarks/known_answers.py oh2018 ha2024 --precision bf16   # printed only
    python benchmarks/known_answers.py oh2018 ha2024 --views 4          # printed only
    python benchmarks/known_answers.py lwmm-light --weights runs/lwmm/ship/lwmm-light.safetensors

With ``--precision bf16`` the learned method's decoder runs in bfloat16
(``magnify/learned.py``) and the numbers are only printed, next to fp32's static gain and
SSIM; the card keeps the fp32 ones. ``--views 2|4`` measures the self-ensemble (method
option ``views``) the same way, printed only too. ``--weights FILE`` measures weights that
do not ship (a run's export) and writes into the card beside them instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from motionmag import magnify_frames  # noqa: E402
from motionmag.eval.metrics import ssim  # noqa: E402
from motionmag.magnify.registry import get_method  # noqa: E402
from test_learned_weights import ALPHA, AMPLITUDE_PX, FPS, FRAMES, _clip, _gain  # noqa: E402

WEIGHTS = ROOT / "src/motionmag/models/weights"


def measure(model: str, **options) -> dict:
    """The known-answer numbers of one installed model (see the module docstring);
    ``options``: method options of the model (e.g. ``views=4``)."""
    clip, truth = _clip(AMPLITUDE_PX), _clip(ALPHA * AMPLITUDE_PX)
    static = magnify_frames(clip, fps=FPS, method=model, alpha=ALPHA, mode="static", **options)
    temporal = None  # methods without a temporal mode report None
    if "temporal" in get_method(model).modes:
        temporal = magnify_frames(
            clip, fps=FPS, method=model, alpha=ALPHA, mode="temporal", band=(1.0, 3.0), **options
        )
    phase = magnify_frames(clip, fps=FPS, method="phase", alpha=ALPHA, mode="static")
    unchanged = magnify_frames(clip[:3], fps=FPS, method=model, alpha=1.0, mode="static", **options)
    frames = range(1, FRAMES, 4)

    def to_truth(video: np.ndarray) -> float:
        return float(np.mean([ssim(video[i], truth[i]) for i in frames]))

    return {
        "clip": f"skimage clock, {AMPLITUDE_PX} px x sin(2 pi 2 Hz t), {FRAMES} frames, {FPS} fps",
        "alpha": ALPHA,
        "static_gain": _gain(static, slice(1, None)),
        "temporal_gain_1_3_hz": None if temporal is None else _gain(temporal, slice(15, None)),
        "ssim_to_truth": {
            model: to_truth(static),
            "phase": to_truth(phase),
            "input": to_truth(clip),
        },
        "alpha_1_ssim_to_input": float(np.mean([ssim(unchanged[i], clip[i]) for i in range(3)])),
        "goals": "static gain 8.5-11.5, temporal 7-13, SSIM to truth above phase",
        "command": "python benchmarks/known_answers.py "
        + model
        + "".join(f" --{key} {value}" for key, value in options.items()),
        **options,
    }


def compare_bf16(model: str) -> dict:
    """Static mode at alpha 10 on the clip, fp32 and bf16 decoder: gain, SSIM to the true
    clip, and the largest and mean difference of the two outputs in grey levels."""
    clip, truth = _clip(AMPLITUDE_PX), _clip(ALPHA * AMPLITUDE_PX)
    outs = {
        precision: magnify_frames(
            clip, fps=FPS, method=model, alpha=ALPHA, mode="static", precision=precision
        )
        for precision in ("fp32", "bf16")
    }
    row = {}
    for precision, out in outs.items():
        row[f"{precision}_static_gain"] = _gain(out, slice(1, None))
        row[f"{precision}_ssim_to_truth"] = float(
            np.mean([ssim(out[i], truth[i]) for i in range(1, FRAMES, 4)])
        )
    difference = np.abs(outs["bf16"].astype(np.int16) - outs["fp32"])
    row["max_difference_grey"] = int(difference.max())
    row["mean_difference_grey"] = float(difference.mean())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--views", type=int, choices=(1, 2, 4), default=1)
    parser.add_argument(
        "--weights", default=None, help="weights of one model that do not ship (card beside)"
    )
    args = parser.parse_args()
    if args.weights is not None:
        if len(args.models) != 1:
            parser.error("--weights measures one model: name only its method.")
        if args.views != 1 or args.precision != "fp32":  # the card holds the default's
            parser.error("--weights writes the default settings' numbers into the card: "
                         "drop --views and --precision.")  # fmt: skip
        card_path = Path(args.weights).with_suffix(".json")
        if not card_path.is_file():
            parser.error(f"--weights: no model card '{card_path}' beside the weights.")
        card = json.loads(card_path.read_text())
        card["known_answers"] = measure(args.models[0], weights=args.weights)
        card_path.write_text(json.dumps(card, indent=1) + "\n")
        print(args.models[0], json.dumps(card["known_answers"], indent=1))
        return
    for model in args.models:
        if args.precision == "bf16":
            print(model, json.dumps(compare_bf16(model), indent=1))
            continue
        if args.views > 1:
            print(model, json.dumps(measure(model, views=args.views), indent=1))
            continue
        card_path = WEIGHTS / f"{model}.json"
        if not card_path.is_file():
            parser.error(f"no {model} weights ship: measure a run's export with --weights FILE.")
        card = json.loads(card_path.read_text())
        card["known_answers"] = measure(model)
        card_path.write_text(json.dumps(card, indent=1) + "\n")
        print(model, json.dumps(card["known_answers"], indent=1))


if __name__ == "__main__":
    main()
