"""torch's idle OpenMP threads spin briefly (``GOMP_SPINCOUNT``) unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from motionmag.openmp_spin import SPIN_COUNT, shorten_openmp_spin


def _spin_seen(prelude: str, env: dict[str, str]) -> str:
    """GOMP_SPINCOUNT as a fresh interpreter has it after ``prelude`` and ``import motionmag``."""
    code = f"{prelude}; import os, motionmag; print(os.environ.get('GOMP_SPINCOUNT'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)  # fmt: skip
    return out.stdout.strip()


def test_importing_motionmag_first_shortens_the_spin_and_the_user_s_choice_wins():
    """With one core busy, the 300,000-iteration default made linear 7x and ha2024-fast
    4.5x slower at 640x360, and live dropped most frames (benchmarks/bench_openmp_spin.py)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    assert _spin_seen("pass", env) == str(SPIN_COUNT)
    assert _spin_seen("pass", {**env, "GOMP_SPINCOUNT": "123"}) == "123"
    assert _spin_seen("pass", {**env, "OMP_WAIT_POLICY": "active"}) == "None"
    # torch first: OpenMP has read its settings, so setting one now would only mislead
    assert _spin_seen("import torch", env) == "None"


def test_nothing_is_set_once_torch_is_loaded(monkeypatch):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert "torch" in sys.modules  # this process: motionmag imported it
    assert shorten_openmp_spin() is False and "GOMP_SPINCOUNT" not in os.environ
    monkeypatch.delitem(sys.modules, "torch")
    assert shorten_openmp_spin() is True
    assert os.environ["GOMP_SPINCOUNT"] == str(SPIN_COUNT)


@pytest.mark.parametrize("name", ["GOMP_SPINCOUNT", "OMP_WAIT_POLICY"])
def test_a_user_setting_is_kept(monkeypatch, name):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setenv(name, "passive" if name == "OMP_WAIT_POLICY" else "77")
    monkeypatch.delitem(sys.modules, "torch")
    assert shorten_openmp_spin() is False
    assert os.environ.get("GOMP_SPINCOUNT") == ("77" if name == "GOMP_SPINCOUNT" else None)
