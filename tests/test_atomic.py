"""Atomic writes: a failed write leaves the old file and no temporary; a good one has the
permissions a plain open gives."""

from __future__ import annotations

import json
import math
import os
import stat

import pytest

from motionmag.atomic import atomic_output, number, write_json, write_text


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "card.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_output(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json"]


def test_a_write_replaces_with_plain_permissions_and_keeps_the_suffix(tmp_path):
    target = tmp_path / "plot.png"
    with atomic_output(target) as temporary:
        assert temporary.suffix == ".png" and temporary.parent == tmp_path
        assert temporary.name.startswith(".plot.")  # hidden while it is written
        temporary.write_bytes(b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask  # not mkstemp's 0o600
    write_text(target, "y")
    assert target.read_text() == "y" and len(list(tmp_path.iterdir())) == 1


def test_json_is_strict_and_reads_back_its_non_finite_numbers(tmp_path):
    target = tmp_path / "r.json"
    data = {"x": float("nan"), "psnr": [float("inf"), -math.inf, 2.5], "t": (1, None)}
    write_json(target, data, indent=1)
    text = target.read_text()
    assert text.startswith('{\n "x": null,') and "NaN" not in text and "Infinity" not in text

    def refuse(token):  # what a strict parser (JavaScript's) does with NaN / Infinity
        raise ValueError(token)

    parsed = json.loads(text, parse_constant=refuse)
    assert parsed == {"x": None, "psnr": ["inf", "-inf", 2.5], "t": [1, None]}
    assert math.isnan(number(parsed["x"]))
    assert [number(v) for v in parsed["psnr"]] == [math.inf, -math.inf, 2.5]
    assert number("text") == "text" and number(3) == 3
