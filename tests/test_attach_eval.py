"""benchmarks/attach_eval.py: a `motionmag eval --json` run recorded in model cards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from motionmag.cli import main
from script_loader import load_benchmark


@pytest.fixture(scope="module")
def attach_eval():
    return load_benchmark("attach_eval")


@pytest.fixture(scope="module")
def run_json(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("eval") / "run.json"
    args = ["eval", "linear", "--suite", "subpixel", "--n", "2", "--size", "64", "--seed", "3"]
    assert main([*args, "--quiet", "--json", str(path)]) == 0
    return path


def _card(folder: Path, exported: str) -> Path:
    path = folder / "linear.json"
    path.write_text(json.dumps({"exported": exported, "metrics": {"validation": {"ssim": 0.5}}}))
    return path


def test_the_run_is_recorded_level_by_level(attach_eval, run_json, tmp_path):
    card_path = _card(tmp_path, "2000-01-01T00:00:00+00:00")
    attach_eval.attach(run_json, "subpixel_n2", tmp_path)
    card = json.loads(card_path.read_text())
    assert card["metrics"]["validation"] == {"ssim": 0.5}  # other entries kept
    entry = card["metrics"]["subpixel_n2"]["subpixel"]
    (result,) = json.loads(run_json.read_text())["results"]
    assert entry["n_per_level"] == 2 and entry["seed"] == 3 and entry["size_px"] == 64
    assert len(entry["x"]) == len(entry["ssim"]) == len(result["levels"]) == 15
    assert entry["ssim"][-1] == pytest.approx(result["levels"][-1]["values"]["ssim"], abs=1e-4)
    assert entry["ssim_input"][0] == pytest.approx(
        result["levels"][0]["values"]["ssim_input"], abs=1e-4
    )
    assert entry["summary"]["ssim_at_px_1"] == pytest.approx(entry["ssim"][-1], abs=1e-4)
    assert "--n 2" in entry["command"]


def test_weights_exported_after_the_run_are_refused(attach_eval, run_json, tmp_path):
    card_path = _card(tmp_path, "2999-01-01T00:00:00+00:00")
    before = card_path.read_text()
    with pytest.raises(SystemExit, match="exported"):
        attach_eval.attach(run_json, "subpixel_n2", tmp_path)
    assert card_path.read_text() == before


@pytest.mark.parametrize(
    "setting", ["--set weights=runs/x.safetensors", "--set views=4", "--set=precision=bf16"]
)
def test_a_run_with_other_settings_is_refused(attach_eval, run_json, tmp_path, setting):
    """Other weights, and also views or precision: the card holds the default numbers."""
    run = json.loads(run_json.read_text())
    run["command"] += f" {setting}"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(run))
    card_path = _card(tmp_path, "2000-01-01T00:00:00+00:00")
    with pytest.raises(SystemExit, match="changed the method's settings"):
        attach_eval.attach(other, "subpixel_n2", tmp_path)
    assert "subpixel_n2" not in card_path.read_text()


def test_weights_shipped_after_the_run_are_refused(attach_eval, run_json, tmp_path):
    """ship_weights.py --weights keeps the card's export time: an eval made between the
    export and the shipping measured other weights."""
    card_path = _card(tmp_path, "2000-01-01T00:00:00+00:00")
    card = json.loads(card_path.read_text())
    card["shipped"] = "2999-01-01T00:00:00+00:00"
    card_path.write_text(json.dumps(card))
    with pytest.raises(SystemExit, match="shipped"):
        attach_eval.attach(run_json, "subpixel_n2", tmp_path)


def test_a_suite_scored_by_mse_files_its_input_under_its_own_name(attach_eval):
    """circles' floor is the input's MSE: it was filed as ssim_input (391 under SSIM)."""
    levels = [
        {
            "x": 0.0,
            "n": 2,
            "values": {"ssim": 0.87, "mse": 190.0, "mse_input": 391.0, "ssim_input": 0.88},
            "spread": {"ssim": 0.01},
        }
    ]
    run = {"command": "motionmag eval x --suite circles", "created": "2026-12-05"}
    entry = attach_eval.card_entry(run, {"suite": "circles", "floor": "mse_input",
                                         "levels": levels})  # fmt: skip
    assert entry["mse"] == [190.0] and entry["mse_input"] == [391.0]
    assert entry["ssim_input"] == [0.88] and entry["ssim"] == [0.87]
