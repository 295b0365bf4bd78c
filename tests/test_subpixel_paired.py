"""benchmarks/subpixel_paired.py: paired per-scene comparison on the sub-pixel suite."""

from __future__ import annotations

import numpy as np
import pytest

from motionmag.eval.runner import MethodUnderTest
from motionmag.eval.synthetic import run_subpixel
from script_loader import load_benchmark


@pytest.fixture(scope="module")
def paired():
    return load_benchmark("subpixel_paired")


def test_means_are_the_suites_and_differences_are_paired(paired):
    """Two scenes at 0.2 and 1 px, 64 px frames: each method's mean equals `motionmag
    eval`'s sub-pixel suite on the same seed; a method against itself differs by exactly
    0 with standard error 0, and `phase` against `linear` by the mean of the per-scene
    differences."""
    specs, levels = ["linear", "phase", "linear"], [0.2, 1.0]
    scores = paired.paired_scores(specs, levels, n=2, seed=5, size_px=64)
    suite = run_subpixel(MethodUnderTest("phase"), n=2, seed=5, size_px=64, progress=False,
                         levels=levels)  # fmt: skip
    assert np.allclose(scores[1].mean(axis=1), [lv.values["ssim"] for lv in suite.levels])
    rows = paired.summarise(scores, specs, levels)
    itself = [r for r in rows if r["method"] == "linear"]
    assert all(r["diff_vs_first"] == 0 and r["paired_se"] == 0 for r in itself)
    (phase_1px,) = [r for r in rows if r["method"] == "phase" and r["motion_px"] == 1.0]
    assert phase_1px["diff_vs_first"] == pytest.approx(np.mean(scores[1, 1] - scores[0, 1]))
    assert phase_1px["paired_se"] > 0
