"""`motionmag demo`, the README's first command: it runs, writes what it says, and the
magnification it reports (and the one `motionmag measure` finds on its files) is alpha."""

from __future__ import annotations

import shlex

from motionmag.cli import main
from motionmag.demo import ALPHA


def test_demo_writes_its_files_and_measures_about_alpha(tmp_path, capsys):
    folder = tmp_path / "demo"
    assert main(["demo", "-o", str(folder), "--quiet"]) == 0
    printed = capsys.readouterr().out
    for name in ("input.mkv", "magnified.mp4", "side_by_side.mp4", "slice.png"):
        assert (folder / name).stat().st_size > 0, name
    measured = float(printed.split("measured magnification x")[1].split()[0])
    assert 0.85 * ALPHA <= measured <= 1.05 * ALPHA, printed
    # the hint it prints is a working command that finds the same magnification
    hint = printed.split("Measure it yourself: motionmag ")[1].splitlines()[0]
    assert main([*shlex.split(hint), "--quiet"]) == 0
    ratio = float(capsys.readouterr().out.split(" moves x")[1].split()[0])
    assert 0.8 * ALPHA <= ratio <= 1.05 * ALPHA


def test_a_stopped_demo_keeps_nothing(tmp_path, capsys, monkeypatch):
    """Stopped while magnifying, it said 'no partial output was kept' but left
    input.mkv, and the same command then refused to run over it."""
    import motionmag.demo as demo

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "magnify", stopped)
    folder = tmp_path / "demo"
    assert main(["demo", "-o", str(folder), "--quiet"]) == 130
    assert "no partial output was kept" in capsys.readouterr().err
    assert not folder.exists()
