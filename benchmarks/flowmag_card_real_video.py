"""Copy ``motionmag eval flowmag --suite real-video`` results into the flowmag model card.

Each argument is ``KEY=PATH``: a JSON written by ``motionmag eval flowmag --suite
real-video --json PATH`` (any clip, any ``--ruler``). The card's ``metrics.real_video``
gets, under ``KEY``, the command that wrote it, the clip, the flow ruler and the motion
and magnification errors per alpha (Pan et al. 2023 Sec. 4.3), so that every number in
the card says how to reproduce it.

    python benchmarks/flowmag_card_real_video.py \
        builtin_clip=benchmarks/results/eval_real_video_flowmag.json \
        vtest_avi=benchmarks/results/eval_real_video_vtest_flowmag.json \
        --note "linear base before training: ..."
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "src/motionmag/models/weights/flowmag.json"


def summarise(path: Path) -> dict:
    """The flowmag real-video result of one eval JSON, as the card stores it."""
    document = json.loads(path.read_text())
    results = [
        r for r in document["results"] if r["suite"] == "real-video" and r["method"] == "flowmag"
    ]
    if len(results) != 1:
        raise SystemExit(f"{path}: expected one flowmag real-video result, found {len(results)}")
    (result,) = results
    settings = result["settings"]

    def per_alpha(metric: str, digits: int) -> dict:
        levels = result["levels"]
        return {f"alpha_{lv['x']:g}": round(lv["values"][metric], digits) for lv in levels}

    return {
        "command": document["command"],
        "clip": settings.get("clip"),
        "ruler": settings.get("estimator"),
        "motion_error_px": per_alpha("motion_error", 4),
        "magnification_error": per_alpha("magnification_error", 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", metavar="KEY=PATH")
    parser.add_argument("--card", default=str(CARD), help="model card (default: the shipped one)")
    parser.add_argument("--note", default=None, help="a sentence stored beside the numbers")
    args = parser.parse_args()
    real_video: dict = {}
    for item in args.results:
        key, sep, path = item.partition("=")
        if not sep or not key or not path:
            raise SystemExit(f"'{item}' is not KEY=PATH: e.g. vtest_avi=results/x.json")
        real_video[key] = summarise(Path(path))
    if args.note:
        real_video["note"] = args.note
    card_path = Path(args.card)
    card = json.loads(card_path.read_text())
    card.setdefault("metrics", {})["real_video"] = real_video
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps(real_video, indent=1))


if __name__ == "__main__":
    main()
