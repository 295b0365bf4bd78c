"""Re-measure the shipped deepmag-color card's test-split correlations with today's code.

The card's ``metrics.test_split`` was measured on 2026-11-28; the physio videos' render
pass changed on 2026-11-29 (``render_physio_with_references``), and a review found task
C's numbers no longer reproduce (derivative r 0.277 against the card's 0.218; A, B and D
to 1e-5). This script runs ``deepmag.train.evaluate_color`` on the card's own test
videos (its data section: size, duration, seed; 16 videos) and writes the result into
the card, keeping the old numbers under ``before`` with their date.

    python benchmarks/reevaluate_deepmag_color.py            # about 40 s on 2 cores
"""

from __future__ import annotations

import json
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "src/motionmag/models/weights"


def main() -> int:
    import argparse

    # no options: --help prints this, anything else is refused (it used to run, rewrite
    # the shipped card and record the stray argument as its command)
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    from motionmag.atomic import write_json
    from motionmag.deepmag.train import ColorTrainConfig, evaluate_color
    from motionmag.models import create_model

    card_path = WEIGHTS / "deepmag-color.json"
    card = json.loads(card_path.read_text())
    data, before = card["data"], card["metrics"]["test_split"]
    config = ColorTrainConfig(size_px=data["size_px"], duration_s=data["duration_s"],
                              seed=before["seed"], device="cpu")  # fmt: skip
    model = create_model("deepmag-color").eval()
    result = evaluate_color(model, config, before["videos"])
    entry = {
        "videos": before["videos"],
        "seed": before["seed"],
        "derivative_r_by_task": result["derivative_r"],
        "pulse_r_by_task": result["pulse_r"],
        "mean_derivative_r": result["mean_derivative_r"],
        "mean_pulse_r": result["mean_pulse_r"],
        "what": before["what"],
        "measured": datetime.now(UTC).date().isoformat(),
        "command": shlex.join(["python", *sys.argv]),
        "before": {key: before[key] for key in before if key not in ("before", "what")},
    }
    if "before" not in before:
        entry["before"]["measured"] = "2026-11-28 (at export; physio render of that day)"
    else:
        entry["before"] = before["before"]
    card["metrics"]["test_split"] = entry
    write_json(card_path, card, indent=1)  # the card's own layout
    for task in sorted(result["derivative_r"]):
        print(f"{task}: derivative r {before['derivative_r_by_task'][task]:.3f} -> "
              f"{result['derivative_r'][task]:.3f}")  # fmt: skip
    print(f"mean derivative r {before['mean_derivative_r']:.3f} -> "
          f"{result['mean_derivative_r']:.3f}, mean pulse r {before['mean_pulse_r']:.3f} -> "
          f"{result['mean_pulse_r']:.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
