"""Record a ``motionmag eval --json`` run of shipped weights in their model cards.

EVALUATION.md asks for at least 100 cases per level before pair-suite numbers are
reported. The ship step (``benchmarks/ship_weights.py``) measures 10 per level, enough to
choose among checkpoints in two minutes, but choosing among checkpoints on those same 10
scenes flatters the one chosen. This script writes a longer run (100 per level, or
another seed) into each measured method's card under ``metrics.<key>``: the command,
seed, cases per level, frame size, the per-level SSIM of the method and the input, and
the suite's summary.

    OMP_NUM_THREADS=1 motionmag eval oh2018 ha2024-fast --suite subpixel --n 100 \\
        --size 256 --quiet --json benchmarks/results/subpixel_n100.json
    python benchmarks/attach_eval.py benchmarks/results/subpixel_n100.json --key subpixel_n100

A card is refused (nothing is written to any card) when the run used other weights
or another setting (any ``--set``: weights, views, precision) or when the weights were
exported or shipped (``ship_weights.py`` stamps it) after the run was made.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "src/motionmag/models/weights"


def card_entry(run: dict, result: dict) -> dict:
    """The card's record of one method's suite result from a ``motionmag eval`` JSON."""
    settings = result.get("settings") or {}
    levels = result["levels"]
    floor = result.get("floor") or "ssim_input"
    return {
        "command": run["command"],
        "created": run["created"],
        "suite": result["suite"],
        "seed": settings.get("seed"),
        "size_px": settings.get("size_px"),
        "n_per_level": min(level["n"] for level in levels),
        "x_name": result.get("x_name"),
        "x": [round(level["x"], 6) for level in levels],
        "ssim": [round(level["values"]["ssim"], 4) for level in levels],
        # the method's and the input's scores under their own names: the suite's floor
        # metric (circles': the MSE, whose input values were filed as ssim_input) and,
        # where the suite has it, the input's SSIM
        **{
            name: [round(level["values"][name], 4) for level in levels]
            for name in dict.fromkeys((floor.removesuffix("_input"), floor, "ssim_input"))
            if name in levels[0]["values"]
        },
        "ssim_std": [round(level["spread"]["ssim"], 4) for level in levels],
        "summary": {k: round(v, 4) for k, v in (result.get("summary") or {}).items()},
    }


def check_run(run: dict, card: dict, method: str) -> None:
    """Raise ``SystemExit`` when ``run`` did not measure the card's shipped weights as the
    method runs them by default (any ``--set``: other weights, views, precision, ...)."""
    if any(w == "--set" or w.startswith("--set=") for w in run["command"].split()):
        raise SystemExit(
            f"{method}: the run changed the method's settings (--set ...); the card holds "
            "its default numbers"
        )
    for what in ("exported", "shipped"):  # ship_weights.py stamps when it installed them
        stamp = card.get(what)
        if stamp and datetime.fromisoformat(stamp) > datetime.fromisoformat(run["created"]):
            raise SystemExit(
                f"{method}: its weights were {what} ({stamp}) after the run "
                f"({run['created']}); measure them again"
            )


def attach(results: Path, key: str, weights_dir: Path = WEIGHTS) -> dict[Path, dict]:
    """Write each measured method's entry into its card in ``weights_dir``; return the
    cards written. Every card is checked before any is written."""
    run = json.loads(Path(results).read_text())
    updates: dict[Path, dict] = {}
    for result in run["results"]:
        card_path = Path(weights_dir) / f"{result['method']}.json"
        if not card_path.exists():
            print(f"{result['method']}: no shipped card, skipped")
            continue
        card = updates.get(card_path) or json.loads(card_path.read_text())
        check_run(run, card, result["method"])
        card.setdefault("metrics", {}).setdefault(key, {})[result["suite"]] = card_entry(
            run, result
        )
        updates[card_path] = card
    for card_path, card in updates.items():
        card_path.write_text(json.dumps(card, indent=1) + "\n")
    return updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a motionmag eval --json file")
    parser.add_argument("--key", required=True, help="the card entry, metrics.<key>")
    args = parser.parse_args()
    for card_path, card in attach(args.results, args.key).items():
        for suite, entry in card["metrics"][args.key].items():
            print(card_path.stem, suite, entry["n_per_level"], "per level:", entry["summary"])


if __name__ == "__main__":
    main()
