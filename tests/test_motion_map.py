"""`motionmag measure --grid`: amplitude and phase maps against strips moving by known amounts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clip_io import write_clip
from motionmag.cli import main
from motionmag.errors import InputError, UsageError
from motionmag.eval import motion_map as mmap
from motionmag.eval import region_motion as rm
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, vibrating_frames

FPS, FRAMES, HZ = 30.0, 60, 2.0
#: three vertical strips of 48 px moving up and down by these amplitudes (px)
STRIPS_PX = (0.3, 0.1, -0.2)


def _strips_clip(scale: float, still_last: bool = False) -> np.ndarray:
    image = smooth_texture(load_texture("astronaut"), (96, 144), sigma_px=1.5)
    parts = []
    for k, amplitude in enumerate(STRIPS_PX):
        moving = 0.0 if still_last and k == 2 else scale * amplitude
        clip, _ = vibrating_frames(image, moving, HZ, FPS, FRAMES, direction_deg=90.0)
        parts.append(clip[:, :, 48 * k : 48 * (k + 1)])
    return np.concatenate(parts, axis=2)


def _write(path, clip: np.ndarray) -> str:
    return str(write_clip(path, quantize(clip), FPS))


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("map")
    return {
        "input": _write(folder / "strips.mkv", _strips_clip(1.0)),
        "x10": _write(folder / "strips_x10.mkv", _strips_clip(10.0)),
        "still": _write(folder / "still.mkv", _strips_clip(1.0, still_last=True)),
    }


def test_grid_cells_tile_the_region_exactly():
    cells = mmap.grid_cells((10, 20, 101, 50), 4, 3)
    assert len(cells) == 12 and cells[0][:2] == (10, 20)
    assert sum(w for _, _, w, _ in cells[:4]) == 101 and sum(c[3] for c in cells[::4]) == 50
    assert {w for _, _, w, _ in cells} <= {25, 26} and {h for *_, h in cells} <= {16, 17}
    assert cells[5][0] == cells[4][0] + cells[4][2]  # no gaps between neighbours
    with pytest.raises(UsageError, match="at least one column"):
        mmap.grid_cells((0, 0, 10, 10), 0, 2)


def test_the_map_reads_each_strips_amplitude_and_phase(clips):
    (motion,), _ = mmap.measure_grid([clips["input"]], None, 6, 2)
    expected = np.tile(np.repeat(np.abs(STRIPS_PX), 2), (2, 1))
    np.testing.assert_allclose(motion.amplitude_px, expected, atol=0.01)
    phases = np.tile(np.repeat([0.0, 0.0, 180.0], 2), (2, 1))
    np.testing.assert_allclose(motion.phase_deg, phases, atol=3)
    assert motion.freq_hz == pytest.approx(HZ, abs=0.05)
    assert abs(abs(motion.direction_deg) - 90) < 3 and motion.strongest[1] in (0, 1)


def test_a_magnified_output_is_mapped_on_its_inputs_terms(clips):
    (before, after), _ = mmap.measure_grid([clips["input"], clips["x10"]], None, 3, 2)
    assert after.freq_hz == before.freq_hz and after.direction_deg == before.direction_deg
    assert after.median_ratio(before) == pytest.approx(10, rel=0.02)
    np.testing.assert_allclose(after.phase_deg, before.phase_deg, atol=3)


def test_the_ratio_of_a_map_leaves_out_the_cells_that_do_not_move(tmp_path, capsys):
    """Half the frame still, its output x3: the still cells' ratios of noise pulled the
    median to x2.73 (review, stop 59); only the moving ones count, and a map where nothing
    moves gives no ratio."""
    image = smooth_texture(load_texture("astronaut"), (96, 144), sigma_px=1.5)
    paths = {}
    for name, amplitude in (("in", 0.3), ("out", 0.9)):
        moving, _ = vibrating_frames(image, amplitude, HZ, FPS, FRAMES, direction_deg=0.0)
        still = np.repeat(image[None], FRAMES, axis=0)
        half = np.concatenate([moving[:, :, :72], still[:, :, 72:]], axis=2)
        paths[name] = _write(tmp_path / f"{name}.mkv", half)
    (before, after), _ = mmap.measure_grid([paths["in"], paths["out"]], None, 4, 2)
    assert before.moving_cells()[:, :2].all() and not before.moving_cells()[:, 2:].any()
    assert after.median_ratio(before) == pytest.approx(3.0, rel=0.02)
    assert main(["measure", paths["in"], paths["out"], "--grid", "4", "2", "--quiet"]) == 0
    assert "moves x3.0" in capsys.readouterr().out
    frozen = _write(tmp_path / "frozen.mkv", np.repeat(image[None], FRAMES, axis=0))
    (nothing, same), _ = mmap.measure_grid([frozen, frozen], None, 2, 1)
    assert not nothing.moving_cells().any() and np.isnan(same.median_ratio(nothing))


def test_a_still_part_gets_no_phase(clips):
    (motion,), _ = mmap.measure_grid([clips["still"]], None, 3, 1)
    assert motion.amplitude_px[0, 2] < 0.01 and np.isnan(motion.phase_deg[0, 2])
    assert motion.to_dict()["phase_deg"][0][2] is None
    assert motion.phase_deg[0, 1] == pytest.approx(0, abs=3)


def test_a_cell_that_moves_too_far_is_left_out_not_fatal(tmp_path):
    """The right strip swings 16 px (a third of its 48 px cell): the others still map."""
    image = smooth_texture(load_texture("astronaut"), (96, 144), sigma_px=1.5)
    calm, _ = vibrating_frames(image, 0.3, HZ, FPS, FRAMES, direction_deg=90.0)
    wild, _ = vibrating_frames(image, 16.0, HZ, FPS, FRAMES, direction_deg=0.0)
    path = _write(tmp_path / "wild.mkv", np.concatenate([calm[:, :, :96], wild[:, :, 96:]], 2))
    with pytest.raises(InputError, match="moved too far"):
        rm.region_motion(path, roi=(96, 0, 48, 96))  # one region alone: an error
    (motion,), _ = mmap.measure_grid([path], None, 3, 1)
    np.testing.assert_allclose(motion.amplitude_px[0, :2], [0.3, 0.3], atol=0.01)
    assert np.isnan(motion.amplitude_px[0, 2]) and np.isnan(motion.phase_deg[0, 2])
    assert motion.to_dict()["amplitude_px"][0][2] is None
    assert "1 cell(s) moved too far" in mmap.format_map(motion)


def test_freq_reads_the_map_at_another_frequency(tmp_path):
    """Left strip 0.3 px at 2 Hz, right strip 0.2 px at 5 Hz: each map finds its own."""
    image = smooth_texture(load_texture("astronaut"), (96, 144), sigma_px=1.5)
    left, _ = vibrating_frames(image, 0.3, HZ, FPS, FRAMES, direction_deg=90.0)
    right, _ = vibrating_frames(image, 0.2, 5.0, FPS, FRAMES, direction_deg=90.0)
    clip = np.concatenate(
        [left[:, :, :48], image[None, :, 48:96].repeat(FRAMES, 0), right[:, :, 96:]], axis=2
    )
    path = _write(tmp_path / "two.mkv", clip)
    (slow,), _ = mmap.measure_grid([path], None, 3, 1)
    (fast,), _ = mmap.measure_grid([path], None, 3, 1, freq_hz=5.0)
    assert slow.freq_hz == pytest.approx(HZ, abs=0.05) and fast.freq_hz == 5.0
    np.testing.assert_allclose(slow.amplitude_px[0], [0.3, 0.0, 0.0], atol=0.01)
    np.testing.assert_allclose(fast.amplitude_px[0], [0.0, 0.0, 0.2], atol=0.01)
    assert fast.strongest == (0, 2)
    with pytest.raises(UsageError, match="Nyquist"):
        mmap.measure_grid([path], None, 3, 1, freq_hz=20.0)
    # one region, read at either frequency (measure --roi ... --freq)
    left = rm.region_motion(path, roi=(0, 0, 48, 96))
    assert left.summary()["amplitude_px"] == pytest.approx(0.3, abs=0.01)
    assert left.summary(freq_hz=5.0)["amplitude_px"] < 0.01
    assert left.summary(freq_hz=5.0)["freq_hz"] == 5.0 and left.summary()["peak_hz"] > 1.9


def test_command_line_grid_writes_the_map_and_refuses_what_does_not_fit(clips, tmp_path, capsys):
    picture, summary = tmp_path / "map.png", tmp_path / "map.json"
    argv = ["measure", clips["input"], clips["x10"], "--grid", "3", "1", "--quiet"]
    assert main([*argv, "--map", str(picture), "--json", str(summary)]) == 0
    printed = capsys.readouterr().out
    assert "3x1 cells at 2.0" in printed
    assert "moves x10.0" in printed or "moves x9.9" in printed
    document = json.loads(summary.read_text())
    maps = document["maps"]
    assert len(maps) == 2 and maps[0]["grid"] == [3, 1]
    assert document["median_ratio_to_first"] == [pytest.approx(10.0, abs=0.2)]  # as printed
    assert maps[0]["strongest_cell"]["row"] == 1  # 1-based, as the text says it
    assert maps[0]["amplitude_px"][0][0] == pytest.approx(0.3, abs=0.01)
    assert picture.read_bytes()[:4] == b"\x89PNG"
    for bad in (
        ["measure", clips["input"], "--map", str(tmp_path / "m.png")],  # no --grid
        [*argv, "--roi", "0", "0", "48", "48", "--roi", "48", "0", "48", "48"],
        [*argv, "--plot", str(tmp_path / "p.png")],
        ["measure", clips["input"], "--grid", "20", "2"],  # 7 px cells
        ["measure", clips["input"], "--freq", "16"],  # above Nyquist (15 Hz)
    ):
        assert main(bad) == 2
        assert "error" in capsys.readouterr().err
    assert not (tmp_path / "m.png").exists() and not (tmp_path / "p.png").exists()


def test_regions_and_cells_under_24_px_are_refused_not_misread(clips):
    """The tracker's coarsest stage works at a quarter of the resolution: 16-22 px sides
    were accepted, then singular (read as 'moved too far') or misread (a 19x18 px cell
    read 1.95 px of a uniform 0.5 px motion and set the map's direction; review, stop
    54). 24 px is the smallest side now; 24 px cells measure."""
    with pytest.raises(UsageError, match="give --roi at least 24 px on each side"):
        rm.region_motion(clips["input"], roi=(10, 10, 20, 20))
    with pytest.raises(UsageError, match=r"a 8x4 grid makes cells of 18 px.*at least 24 px"):
        mmap.measure_grid([clips["input"]], None, 8, 4)
    (motion,), _ = mmap.measure_grid([clips["input"]], None, 6, 4)  # 24 px cells
    np.testing.assert_allclose(motion.amplitude_px[:, :2], 0.3, atol=0.02)


def test_a_cells_vertical_motion_reads_90_degrees_as_a_regions_does():
    """The grid's axis kept x >= 0 only, so a vertical motion with x a hair above 0 and y
    up read -90 degrees in `measure --grid` where `measure` read 90."""
    from motionmag.eval.motion_map import _major_axis
    from motionmag.eval.region_motion import one_sign_per_line

    for x in (1e-4, 0.0, -1e-4):
        axis = _major_axis(np.array([x, -1.0 + 0j]) * 0.3)
        assert axis[1] > 0.99, axis  # y down: 90 degrees
        assert np.allclose(axis, one_sign_per_line(np.array([x, -1.0]) / np.hypot(x, 1.0)))
    slanted = _major_axis(np.array([np.cos(0.5), -np.sin(0.5)]) + 0j)
    assert slanted[0] > 0 and slanted[1] < 0  # not vertical: x >= 0 keeps -28.6 degrees
