"""How high can validation SSIM go? Ideal warps of the validation pairs, part by part.

The trainers validate on 40 held-out scenes (seed 1,000,000, no noise; Oh et al. 2018
Sec. 3.3 data, parts a-e, see ``synth/oh2018.py``): the mean SSIM of the network's
output against the true magnified frame Y. A magnifier sees only frames A and B, so
content that neither shows (background uncovered by a moving object, image that
enters the frame with a magnified motion of up to 30 px) must be invented. This script
scores, on the same scenes, estimators that know what no real method knows, the TRUE
motion of every layer and every layer's coverage map in A, B and Y (the generator's
``return_masks``), to put a ceiling on the score (ours; no paper measures this):

- ``ideal_warp``: each layer of Y is frame B moved by (alpha - 1) x its motion where
  that layer is visible in B at the source point, else frame A moved by alpha x its
  motion where it is visible in A, else the B warp anyway (unknown content: it shows
  whatever covers the layer in B); layers composited with Y's coverage maps. A perfect
  motion estimate and segmentation, no inpainting.
- ``ideal_warp_inpainted``: the same, its unknown pixels filled by OpenCV's Telea
  inpainting (5 px radius) from the known ones.
- ``perfect_inpainting``: the same, its unknown pixels taken from Y itself: what is left
  is bicubic interpolation and the dithering of A, B and Y.
- ``known``: the share of Y's pixels whose content A or B shows.

Listed nets (``create_model(name, pretrained=True)``) are scored on the same frames.

    OMP_NUM_THREADS=1 python benchmarks/validation_ceiling.py oh2018 ha2024 \\
        --sizes 128 384 --json benchmarks/results/validation_ceiling.json
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch

from motionmag.synth.oh2018 import PARTS, Oh2018Config, Oh2018Generator, Sample
from motionmag.train.losses import ssim
from motionmag.train.oh2018 import Oh2018TrainConfig

#: a layer counts as visible at a point when it covers more than this share of the pixel
VISIBLE = 0.9
#: OpenCV inpainting radius, px (ours)
INPAINT_RADIUS_PX = 5
ESTIMATORS = ("ideal_warp", "ideal_warp_inpainted", "perfect_inpainting")


def shifted(image: np.ndarray, shift_px: np.ndarray, outside: float | None = None) -> np.ndarray:
    """``image`` translated by ``shift_px`` (dx, dy): out(x) = image(x - shift), bicubic.

    Points that come from outside the frame take the nearest edge pixel, or ``outside``
    when it is given (coverage maps: 0, nothing known there).
    """
    height, width = image.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    border = cv2.BORDER_REPLICATE if outside is None else cv2.BORDER_CONSTANT
    return cv2.remap(
        image,
        xs - np.float32(shift_px[0]),
        ys - np.float32(shift_px[1]),
        cv2.INTER_CUBIC,
        borderMode=border,
        borderValue=0.0 if outside is None else float(outside),
    )


def ideal_estimates(sample: Sample) -> tuple[dict[str, np.ndarray], float]:
    """The three ceiling estimates of Y (float RGB, 0-255) and the known share of Y.

    ``sample`` must be rendered with ``return_masks=True``.
    """
    if not sample.visibility:
        raise ValueError("the sample needs its coverage maps: render it with return_masks=True")
    frame_a, frame_b, truth = (getattr(sample, name).astype(np.float32) for name in ("A", "B", "Y"))
    coverage = sample.visibility
    alpha = sample.alpha
    warp = np.zeros_like(truth)
    perfect = np.zeros_like(truth)
    known = np.zeros(truth.shape[:2], np.float32)
    for layer, motion in enumerate(sample.motion_px):
        in_y = coverage["Y"][layer][..., None]
        if not in_y.any():
            continue
        from_b = shifted(frame_b, (alpha - 1) * motion)
        from_a = shifted(frame_a, alpha * motion)
        seen_b = (shifted(coverage["B"][layer], (alpha - 1) * motion, 0.0) > VISIBLE)[..., None]
        seen_a = (shifted(coverage["A"][layer], alpha * motion, 0.0) > VISIBLE)[..., None]
        content = np.where(seen_b, from_b, np.where(seen_a, from_a, from_b))
        seen = seen_a | seen_b
        warp += in_y * content
        perfect += in_y * np.where(seen, content, truth)
        known += in_y[..., 0] * seen[..., 0]
    holes = (known < 0.5).astype(np.uint8)
    warp_u8 = np.clip(np.rint(warp), 0, 255).astype(np.uint8)
    inpainted = cv2.inpaint(warp_u8, holes, INPAINT_RADIUS_PX, cv2.INPAINT_TELEA)
    estimates = {
        "ideal_warp": warp,
        "ideal_warp_inpainted": inpainted.astype(np.float32),
        "perfect_inpainting": perfect,
    }
    return estimates, float(known.mean())


def as_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) 0-255 -> (1, 3, H, W) float in [0, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(image, np.float32)).permute(2, 0, 1)[None]
    return (tensor / 255.0).clamp(0.0, 1.0)


def score(image: np.ndarray | torch.Tensor, truth: np.ndarray) -> float:
    """The trainers' SSIM (``train.losses.ssim``) of an estimate against Y."""
    estimate = image if isinstance(image, torch.Tensor) else as_tensor(image)
    return float(ssim(estimate.float(), as_tensor(truth)))


def score_scene(sample: Sample, nets: dict[str, torch.nn.Module]) -> dict:
    """Every estimator's and net's SSIM on one scene, with its part, alpha, known share."""
    estimates, known = ideal_estimates(sample)
    row = {"index": sample.params.index, "part": sample.part, "alpha": sample.alpha}
    row["known"] = known
    row["input"] = score(sample.B, sample.Y)
    row.update({name: score(image, sample.Y) for name, image in estimates.items()})
    alpha = torch.tensor([sample.alpha])
    with torch.inference_mode():
        for model, net in nets.items():
            row[model] = score(net(as_tensor(sample.A), as_tensor(sample.B), alpha), sample.Y)
    return row


def summarise(rows: list[dict], columns: list[str]) -> dict:
    """Means over all scenes and per part."""

    def means(selected: list[dict]) -> dict:
        return {key: round(float(np.mean([r[key] for r in selected])), 4) for key in columns}

    parts = {part: means([r for r in rows if r["part"] == part]) for part in PARTS}
    return {"all": means(rows), "parts": parts}


def main(argv: list[str] | None = None) -> int:
    from motionmag.models import create_model
    from records import write_record  # benchmarks/records.py

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="installed learned models to score alongside")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128], help="frame sides, px")
    parser.add_argument("--samples", type=int, default=40, help="scenes (trainers: 40)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    nets = {model: create_model(model, pretrained=True).eval() for model in args.models}
    columns = ["input", *args.models, *ESTIMATORS, "known"]
    seed = Oh2018TrainConfig().val_seed
    results = {}
    for size in args.sizes:
        generator = Oh2018Generator(Oh2018Config(size_px=size), seed=seed)
        rows = [score_scene(generator(i, return_masks=True), nets) for i in range(args.samples)]
        summary = results[str(size)] = summarise(rows, columns)
        print(f"{size} px, {args.samples} scenes (SSIM to Y; known = share of Y seen in A or B)")
        print("part  " + "  ".join(f"{c:>20s}" for c in columns))
        for part, values in [("all", summary["all"]), *summary["parts"].items()]:
            print(f"{part:5s} " + "  ".join(f"{values[c]:20.4f}" for c in columns))
    if args.json:
        write_record(args.json, seed=seed, samples=args.samples, results=results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
