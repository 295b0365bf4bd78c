"""Start a smaller ha2024 from the shipped one: keep the decoder blocks that do the most.

How ``ha2024-fast`` began (README, "Shipped weights"): each of the shipped network's 36
decoder ResBlocks is scored by the size of what it adds, ``||F(x)|| / ||x||`` for a
block ``x + F(x)``, averaged over the 40 validation pairs (seed 1000000, 128 px, the
training runs' validation); the ``--blocks`` highest-scoring blocks are kept in their
order (a residual network degrades least when the blocks that change the least go), and
the weights are written with a model card whose ``network.config.decoder_blocks`` says
so, ready for ``motionmag train ha2024 --init``. It prints the validation SSIM of the
full and of the cut network.

    python benchmarks/make_student_init.py --blocks 24 --out runs/student/b24_init.safetensors
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from motionmag.nets.ha2024 import Ha2024Net
from motionmag.train.oh2018 import Ha2024TrainConfig, _validation_batches, evaluate

WEIGHTS = Path(__file__).resolve().parents[1] / "src/motionmag/models/weights/ha2024.safetensors"
PREFIX = "decoder.1."  # the ResBlocks' Sequential inside Ha2024Net.decoder


def cut(state: dict, keep: list[int]) -> dict:
    """``state`` with only the decoder blocks ``keep`` (renumbered 0..len(keep) - 1)."""
    out = {}
    for key, value in state.items():
        if key.startswith(PREFIX):
            index, rest = key[len(PREFIX) :].split(".", 1)
            if int(index) not in keep:
                continue
            key = f"{PREFIX}{keep.index(int(index))}.{rest}"
        out[key] = value.contiguous()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=24)
    parser.add_argument("--weights", default=str(WEIGHTS), help="the network to cut")
    parser.add_argument("--out", required=True, help="FILE.safetensors (card beside it)")
    args = parser.parse_args()
    card_path = Path(args.weights).with_suffix(".json")
    if not Path(args.weights).is_file() or not card_path.is_file():
        raise SystemExit(f"--weights '{args.weights}' and its card '{card_path.name}' must exist.")
    card = json.loads(card_path.read_text())
    if card.get("network", {}).get("class") != "motionmag.nets.ha2024:Ha2024Net":
        raise SystemExit(f"--weights '{args.weights}' is not an ha2024 network: give ha2024's.")
    state = load_file(args.weights)
    config = dict(card["network"]["config"])
    full = Ha2024Net(**config)
    full.load_state_dict(state)
    blocks = config["decoder_blocks"]
    if not 0 < args.blocks < blocks:
        raise SystemExit(f"--blocks must be between 1 and {blocks - 1}")
    batches = _validation_batches(Ha2024TrainConfig(val_samples=40, size_px=128))
    cpu = torch.device("cpu")
    scores = [0.0] * blocks
    hooks = [
        block.register_forward_hook(
            lambda _m, inputs, output, i=i: scores.__setitem__(
                i, scores[i] + float((output - inputs[0]).norm() / inputs[0].norm())
            )
        )
        for i, block in enumerate(full.decoder[1])
    ]
    before = evaluate(full, batches, cpu)["ssim"]
    for hook in hooks:
        hook.remove()
    ranked = sorted(range(blocks), key=lambda i: scores[i], reverse=True)
    keep = sorted(ranked[: args.blocks])
    student = Ha2024Net(**{**config, "decoder_blocks": args.blocks})
    weights = cut(state, keep)
    student.load_state_dict(weights)
    after = evaluate(student, batches, cpu)["ssim"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(out))
    card["network"]["config"]["decoder_blocks"] = args.blocks
    card["network"]["parameters"] = sum(v.numel() for v in weights.values())
    # the parent's evaluations, verdict and shipping describe the parent, not the cut
    for key in ("default", "default_reasons", "ship_command", "exported", "shipped",
                "known_answers"):  # fmt: skip
        card.pop(key, None)
    card["training"].pop("selection", None)
    card["name"] = out.stem
    card["metrics"] = {
        "validation": {"ssim": after, "samples": 40, "measured_by": "make_student_init.py"}
    }
    session = {"cut_from": str(args.weights), "kept_decoder_blocks": keep}
    card["training"]["sessions"] = [*card["training"].get("sessions", []), session]
    out.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")
    print(f"scores {[round(s / len(batches), 3) for s in scores]}")
    print(f"kept {keep}")
    print(f"validation SSIM: {blocks} blocks {before:.4f}, {args.blocks} blocks {after:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
