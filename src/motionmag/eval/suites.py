"""The table of evaluation suites (EVALUATION.md sections 1-5) that ``motionmag eval`` runs.

What matters: a suite is one function ``run(method, n=..., seed=..., size_px=...,
progress=...) -> SuiteResult`` in its own module (plus ``alpha=...`` for the suites
marked ``takes_alpha``, which score a method at a factor the user chooses); this table
is the only place that lists them, imported lazily so ``motionmag eval --help`` stays
fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UsageError
from .results import SuiteResult


@dataclass(frozen=True)
class SuiteSpec:
    """One suite: its name, where its runner lives and what it measures."""

    name: str
    runner: str  # "module:function"
    summary: str
    group: str
    takes_alpha: bool = False  # the runner accepts alpha= (``motionmag eval --alpha``)

    def load(self) -> Callable[..., SuiteResult]:
        module_name, function_name = self.runner.split(":")
        return getattr(importlib.import_module(module_name), function_name)


SUITES: tuple[SuiteSpec, ...] = (
    SuiteSpec(
        "subpixel",
        "motionmag.eval.synthetic:run_subpixel",
        "SSIM vs input motion 0.04-1 px, magnified to 10 px (Oh et al. Fig. 8a)",
        "pairs",
    ),
    SuiteSpec(
        "noise-small",
        "motionmag.eval.synthetic:run_noise_small",
        "SSIM vs noise factor 0.01-100 at 0.05 px, alpha 200 (Oh et al. Fig. 8b)",
        "pairs",
    ),
    SuiteSpec(
        "noise-large",
        "motionmag.eval.synthetic:run_noise_large",
        "SSIM vs noise factor 0.01-100 at 2 px, alpha 5 (Oh et al. Fig. 8c)",
        "pairs",
    ),
    SuiteSpec(
        "alpha-sweep",
        "motionmag.eval.synthetic:run_alpha_sweep",
        "SSIM vs alpha 1-1000 at motion min(2, 10/alpha) px",
        "pairs",
    ),
    SuiteSpec(
        "linearity",
        "motionmag.eval.linearity:run_linearity",
        "measured / asked magnification vs alpha 2-100 (Ha et al. Fig. 2)",
        "known-motion",
    ),
    SuiteSpec(
        "circles",
        "motionmag.eval.circles:run_circles",
        "MSE/SSIM of three +-0.1 px circles on 25 backgrounds vs noise (Singh 2024 3.2.3)",
        "known-motion",
    ),
    SuiteSpec(
        "rig",
        "motionmag.eval.rig:run_rig",
        "vibrating beam: amplitude ratio, correlation, frequency error (Oh et al. 4.2)",
        "known-motion",
    ),
    SuiteSpec(
        "real-video",
        "motionmag.eval.realvideo:run_real_video",
        "motion and magnification error with DIS flow, background stability (FlowMag 4.3)",
        "real",
    ),
    SuiteSpec(
        "physio-tasks",
        "motionmag.eval.physio:run_physio_tasks",
        "pulse (colour methods) or breathing under head motion A-D: PSNR/SSIM vs input, "
        "gain and correlation with the truth (DeepMag Table 1)",
        "physio",
        takes_alpha=True,
    ),
    SuiteSpec(
        "physio-gamma",
        "motionmag.eval.physio:run_physio_gamma",
        "deepmag-color (task C) and deepmag-motion (breathing): gain, PSNR/SSIM vs input "
        "against step size 0.5-4 gamma (DeepMag Table 2)",
        "physio",
    ),
)

#: names accepted by --suite besides the suite names themselves
GROUPS = {"all": [s.name for s in SUITES]} | {
    group: [s.name for s in SUITES if s.group == group] for group in {s.group for s in SUITES}
}


def suite_names() -> list[str]:
    return [spec.name for spec in SUITES]


def get_suite(name: str) -> SuiteSpec:
    for spec in SUITES:
        if spec.name == name:
            return spec
    raise UsageError(
        f"unknown suite '{name}': choose from {', '.join(suite_names())} "
        f"or a group ({', '.join(sorted(GROUPS))})."
    )


def resolve_suites(text: str) -> list[SuiteSpec]:
    """Comma-separated suite or group names -> suite specs, in table order, no repeats."""
    wanted: set[str] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part in GROUPS:
            wanted.update(GROUPS[part])
        else:
            wanted.add(get_suite(part).name)
    if not wanted:
        raise UsageError("--suite is empty: name at least one suite, e.g. --suite subpixel.")
    return [spec for spec in SUITES if spec.name in wanted]
