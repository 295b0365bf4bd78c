"""benchmarks/ship_weights.py compares a net with ``phase`` on the same scenes only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from motionmag.eval.report import read_json
from script_loader import BENCHMARKS, load_benchmark

RESULTS = BENCHMARKS / "results"
CARDS = Path(__file__).resolve().parents[1] / "src/motionmag/models/weights"


def test_a_baseline_on_other_scenes_is_refused():
    ship = load_benchmark("ship_weights")
    ship.check_same_scenes(read_json(RESULTS / "eval_pairs_phase_n10.json"), 10, 256)
    with pytest.raises(SystemExit, match="n=20"):  # 20 scenes against the cards' 10
        ship.check_same_scenes(read_json(RESULTS / "eval_pairs.json"), 10, 256)
    with pytest.raises(SystemExit, match="size 256 px"):
        ship.check_same_scenes(read_json(RESULTS / "eval_pairs_phase_n10.json"), 10, 128)
    # a baseline of other methods on the same scenes shipped a card of NaN comparisons
    others = [r for r in read_json(RESULTS / "eval_pairs_phase_n10.json") if r.method != "phase"]
    with pytest.raises(SystemExit, match="no phase result for subpixel"):
        ship.check_same_scenes(others, 10, 256)


def test_rebaseline_compares_level_by_level_from_the_card(tmp_path):
    """The shipped oh2018 card, redone against the same-scene baseline: its phase column
    is that file's numbers, and every level it does not beat is named."""
    ship = load_benchmark("ship_weights")
    card = tmp_path / "oh2018.json"
    shutil.copyfile(CARDS / "oh2018.json", card)
    baseline = RESULTS / "eval_pairs_phase_n10.json"
    assert ship.rebaseline(card, str(baseline)) is False  # validation < 0.91 at least
    redone = json.loads(card.read_text())
    phase = {r.suite: r for r in read_json(baseline)}
    for suite, result in redone["metrics"]["eval"]["results"].items():
        expected = [round(level.values["ssim"], 4) for level in phase[suite].levels]
        assert result["phase_ssim"] == expected
        levels = [
            (x, ours, theirs)
            for x, ours, theirs in zip(result["x"], result["ssim"], expected, strict=True)
            if suite == "subpixel" or x >= 1
        ]
        losing = [x for x, ours, theirs in levels if ours <= theirs]
        reason = next(r for r in redone["default_reasons"] if r.startswith(suite))
        assert reason.startswith(
            f"{suite}: above phase at {len(levels) - len(losing)} of {len(levels)} levels"
        )
        assert ("not at" in reason) == bool(losing)
    shipped = json.loads((CARDS / "oh2018.json").read_text())
    assert redone["default_reasons"] == shipped["default_reasons"]  # already redone
