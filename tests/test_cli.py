"""The command line end to end: INTERFACE.md's commands, exit statuses and no partial output."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clip_io import read_clip, write_clip
from motionmag.cli import main
from motionmag.eval.displacement import measure_shift
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, vibrating_frames
from motionmag.video import probe

FPS = 30.0


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return smooth_texture(load_texture("astronaut"), (96, 128), sigma_px=3.0)


@pytest.fixture(scope="module")
def vibrating_clip(tmp_path_factory, texture) -> tuple[Path, np.ndarray]:
    """A lossless clip whose whole frame vibrates 0.08 px at 3 Hz; returns (path, truth)."""
    clip, truth = vibrating_frames(texture, 0.08, 3.0, FPS, frames=60)
    path = tmp_path_factory.mktemp("clips") / "vibrating.mkv"
    write_clip(path, quantize(clip), FPS)
    return path, truth


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_magnify_temporal_measures_alpha_and_keeps_count_rate_and_input(
    tmp_path, capsys, vibrating_clip, texture
):
    source, truth = vibrating_clip
    before = digest(source)
    out = tmp_path / "out.mkv"
    code, stdout, _ = run(
        capsys,
        "magnify",
        source,
        "-o",
        out,
        "--method",
        "linear",
        "--alpha",
        10,
        "--band",
        2,
        4,
        "--filter",
        "fir",
        "--quiet",
    )
    assert code == 0, stdout
    assert "wrote" in stdout
    info = probe(out)
    assert (info.frame_count or len(read_clip(out))) == 60
    assert float(info.fps) == FPS and (info.width, info.height) == (128, 96)
    frames = read_clip(out)
    still = quantize(texture)
    measured = np.array([measure_shift(still, f)[0] for f in frames[20:40]])
    assert np.ptp(measured) / np.ptp(truth[20:40]) == pytest.approx(10, rel=0.12)
    assert digest(source) == before


def test_magnify_to_mp4_png_folder_side_by_side_and_resize(tmp_path, capsys, vibrating_clip):
    source, _ = vibrating_clip
    code, _, _ = run(
        capsys,
        "magnify",
        source,
        "-o",
        tmp_path / "a.mp4",
        "--quiet",
        "--method",
        "linear",
        "--side-by-side",
    )
    assert code == 0
    info = probe(tmp_path / "a.mp4")
    assert (info.width, info.height, info.frame_count) == (2 * 128 + 4, 96, 60)
    code, _, _ = run(
        capsys,
        "magnify",
        source,
        "-o",
        f"{tmp_path}/frames/",
        "--quiet",
        "--mode",
        "dynamic",
        "--resize",
        "64x48",
    )
    assert code == 0
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    assert len(pngs) == 60
    assert read_clip(tmp_path / "frames").shape == (60, 48, 64, 3)


def test_mask_keeps_the_outside_untouched(tmp_path, capsys, vibrating_clip):
    from PIL import Image

    source, truth = vibrating_clip
    mask = np.zeros((96, 128), np.uint8)
    mask[:, 64:] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "masked.mkv"
    code, _, _ = run(
        capsys,
        "magnify",
        source,
        "-o",
        out,
        "--alpha",
        20,
        "--mode",
        "static",
        "--mask",
        tmp_path / "mask.png",
        "--quiet",
        "--method",
        "linear",
    )
    assert code == 0
    original, magnified = read_clip(source), read_clip(out)
    np.testing.assert_array_equal(magnified[:, :, :60], original[:, :, :60])
    # inside, the motion from frame 0 is alpha x the input's (linear's gain cap there:
    # about 0.9 alpha, as in test_linear)
    inside = [measure_shift(original[0][:, 72:], frame[:, 72:])[0] for frame in magnified]
    moved = truth - truth[0]  # px along x
    gain = float(np.dot(inside, moved) / np.dot(moved, moved))
    assert 0.8 * 20 < gain < 1.05 * 20, gain


def test_crop_magnifies_only_the_region_and_cuts_a_whole_frame_mask(
    tmp_path, capsys, vibrating_clip
):
    """``--crop 40 16 64 48``: the output is the region, equal to magnifying the region
    cut out beforehand; a mask of the input's size is cut the same way."""
    from PIL import Image

    import motionmag as mm

    source, _ = vibrating_clip
    common = ["--alpha", 10, "--mode", "static", "--method", "linear", "--quiet"]
    out = tmp_path / "crop.mkv"
    assert run(capsys, "magnify", source, "-o", out, "--crop", 40, 16, 64, 48, *common)[0] == 0
    cropped = read_clip(source)[:, 16:64, 40:104]
    expected = mm.magnify_frames(cropped, fps=FPS, method="linear", alpha=10, mode="static")
    np.testing.assert_array_equal(read_clip(out), expected)
    # the mask is white on the input's right half: inside the crop, columns 64-103 of the
    # input (24-63 of the output) are magnified and 40-63 (0-23) are kept
    mask = np.zeros((96, 128), np.uint8)
    mask[:, 64:] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    masked = tmp_path / "masked.mkv"
    argv = [
        "magnify",
        source,
        "-o",
        masked,
        "--crop",
        40,
        16,
        64,
        48,
        "--mask",
        tmp_path / "mask.png",
    ]
    assert run(capsys, *argv, *common)[0] == 0
    frames = read_clip(masked)
    np.testing.assert_array_equal(frames[:, :, :24], cropped[:, :, :24])
    np.testing.assert_array_equal(frames[:, :, 24:], expected[:, :, 24:])
    code, _, err = run(
        capsys, "magnify", source, "-o", tmp_path / "x.mkv", "--crop", 100, 0, 64, 48
    )
    assert code == 2 and "not inside the 128x96 frame" in err
    code, _, err = run(capsys, "magnify", source, "-o", tmp_path / "x.mkv", "--crop", 0, 0, 0, 48)
    assert code == 2 and "is 0x48 px" in err and "W and H of at least 2" in err, err
    assert not (tmp_path / "x.mkv").exists()


def test_a_mask_black_everywhere_inside_the_crop_is_kept_with_a_note(
    tmp_path, capsys, vibrating_clip
):
    """A mask white only outside --crop magnifies nothing: the command says so (it used
    to write the input back silently)."""
    from PIL import Image

    source, _ = vibrating_clip
    mask = np.zeros((96, 128), np.uint8)
    mask[:, 110:] = 255  # right of the crop, columns 40-103
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "masked.mkv"
    argv = ["magnify", source, "-o", out, "--crop", 40, 16, 64, 48, "--mask"]
    argv += [tmp_path / "mask.png", "--alpha", 10, "--method", "linear", "--quiet"]
    with pytest.warns(UserWarning, match="black everywhere inside --crop: nothing") as notes:
        code, _, _ = run(capsys, *argv)
    assert code == 0 and str(notes[0].message).startswith("--mask '")  # a note on stderr
    np.testing.assert_array_equal(read_clip(out), read_clip(source)[:, 16:64, 40:104])


def test_methods_slice_spectrum(tmp_path, capsys, vibrating_clip):
    source, _ = vibrating_clip
    code, stdout, _ = run(capsys, "methods")
    assert code == 0 and "linear" in stdout and "color" in stdout
    code, _, _ = run(capsys, "slice", source, source, "--y", 40, "-o", tmp_path / "s.png")
    assert code == 0
    from PIL import Image

    image = np.asarray(Image.open(tmp_path / "s.png"))
    # rows are time, enlarged (60 frames x 4), then the caption's white strip
    assert (image[240:] == 255).mean() > 0.8 and (image[:240, 0] != 255).any()
    code, stdout, _ = run(
        capsys, "spectrum", source, "--roi", 10, 10, 100, 70, "-o", tmp_path / "spec.png"
    )
    assert code == 0
    assert "3.0" in stdout  # the vibration is at 3 Hz: the peak bin is 3.00 Hz
    assert (tmp_path / "spec.png").stat().st_size > 1000


def test_spectrum_finds_the_vibration_frequency(vibrating_clip):
    from motionmag.eval.spectrum import region_spectrum

    spectrum = region_spectrum(vibrating_clip[0])
    assert spectrum.peak_hz == pytest.approx(3.0, abs=0.5)
    low, high = spectrum.suggested_band()
    assert low < 3.0 < high
    # a window of it (spectrum --start/--end): those frames only, the same peak
    part = region_spectrum(vibrating_clip[0], start_s=0.25, end_s=1.75)
    assert part.frames == 45 and part.peak_hz == pytest.approx(3.0, abs=0.7)


# -- bad input: one sentence, the right exit status, no partial output ----------------------


def assert_refused(capsys, tmp_path, expected_code: int, pattern: str, *argv) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, stderr = run(capsys, *argv)
    assert code == expected_code, (stdout, stderr)
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert pattern in lines[0], lines[0]
    after = sorted(p.name for p in tmp_path.iterdir())
    assert after == before, "a failed run must leave nothing behind"


def test_missing_input(tmp_path, capsys):
    assert_refused(
        capsys,
        tmp_path,
        3,
        "does not exist",
        "magnify",
        tmp_path / "nope.mp4",
        "-o",
        tmp_path / "o.mp4",
    )


@pytest.mark.parametrize(
    "argv, token",
    [
        (["magnify", "-clip.mp4", "-o", "o.mp4"], "-clip.mp4"),  # input taken for an option
        (["magnify", "clip.mp4", "-o", "-o.mkv", "--alpha", "-0.5"], "-o.mkv"),
    ],
)
def test_a_name_beginning_with_a_dash_is_explained(tmp_path, capsys, argv, token):
    assert_refused(capsys, tmp_path, 2, f"'{token}' begins with '-'", *argv)
    _, _, stderr = run(capsys, *argv)
    assert f"write it ./{token}" in stderr


def test_a_negative_number_is_not_taken_for_a_name(tmp_path, capsys):
    _, _, stderr = run(capsys, "magnify", "--alpha", "-0.5")
    assert "required: INPUT" in stderr and "begins with" not in stderr


def test_input_that_is_not_a_video(tmp_path, capsys):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    assert_refused(
        capsys, tmp_path, 3, "notes.mp4", "magnify", fake, "-o", tmp_path / "o.mp4", "--quiet"
    )


def test_truncated_input_leaves_no_output(tmp_path, capsys, vibrating_clip):
    data = Path(vibrating_clip[0]).read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    assert_refused(
        capsys, tmp_path, 3, "truncated", "magnify", cut, "-o", tmp_path / "o.mp4", "--quiet"
    )


def test_one_frame_and_zero_frame_inputs(tmp_path, capsys, texture):
    one = write_clip(tmp_path / "one.mkv", [quantize(texture)], FPS)
    assert_refused(
        capsys, tmp_path, 3, "at least two", "magnify", one, "-o", tmp_path / "o.mp4", "--quiet"
    )
    (tmp_path / "empty").mkdir()
    assert_refused(
        capsys,
        tmp_path,
        3,
        "empty",
        "magnify",
        f"{tmp_path}/empty",
        "-o",
        tmp_path / "o.mp4",
        "--quiet",
    )


@pytest.mark.parametrize(
    ("band", "pattern"),
    [
        (("3", "1"), "not below the high edge"),
        (("1", "15"), "half the frame rate"),
        (("2", "2"), "not below the high edge"),
    ],
)
def test_bad_bands(tmp_path, capsys, vibrating_clip, band, pattern):
    assert_refused(
        capsys,
        tmp_path,
        2,
        pattern,
        "magnify",
        vibrating_clip[0],
        "-o",
        tmp_path / "o.mp4",
        "--band",
        *band,
    )


@pytest.mark.parametrize("alpha", ["nan", "inf", "-inf", "ten"])
def test_alpha_must_be_a_finite_number(tmp_path, capsys, vibrating_clip, alpha):
    assert_refused(
        capsys,
        tmp_path,
        2,
        "--alpha",
        "magnify",
        vibrating_clip[0],
        "-o",
        tmp_path / "o.mp4",
        f"--alpha={alpha}",
    )


def test_output_in_a_missing_folder(tmp_path, capsys, vibrating_clip):
    assert_refused(
        capsys,
        tmp_path,
        2,
        "does not exist",
        "magnify",
        vibrating_clip[0],
        "-o",
        tmp_path / "no" / "o.mp4",
    )


def test_existing_output_needs_overwrite(tmp_path, capsys, vibrating_clip):
    existing = tmp_path / "o.mp4"
    existing.write_bytes(b"keep me")
    assert_refused(
        capsys, tmp_path, 2, "--overwrite", "magnify", vibrating_clip[0], "-o", existing, "--quiet"
    )
    assert existing.read_bytes() == b"keep me"
    code, _, _ = run(
        capsys,
        "magnify",
        vibrating_clip[0],
        "-o",
        existing,
        "--quiet",
        "--overwrite",
        "--method",
        "linear",
    )
    assert code == 0 and probe(existing).frame_count == 60


def test_output_equal_to_input_is_refused(tmp_path, capsys, vibrating_clip):
    source = tmp_path / "same.mkv"
    source.write_bytes(Path(vibrating_clip[0]).read_bytes())
    before = digest(source)
    assert_refused(capsys, tmp_path, 2, "input", "magnify", source, "-o", source, "--overwrite")
    assert digest(source) == before


def test_other_usage_errors(tmp_path, capsys, vibrating_clip):
    src = vibrating_clip[0]
    out = tmp_path / "o.mp4"
    assert_refused(
        capsys, tmp_path, 2, "unknown method", "magnify", src, "-o", out, "--method", "nope"
    )
    assert_refused(
        capsys, tmp_path, 2, "beyond the end", "magnify", src, "-o", out, "--reference", 500
    )
    assert_refused(capsys, tmp_path, 2, "--band", "magnify", src, "-o", out, "--mode", "temporal")
    assert_refused(capsys, tmp_path, 2, "not supported", "magnify", src, "-o", tmp_path / "o.xyz")
    assert_refused(capsys, tmp_path, 2, "no option", "magnify", src, "-o", out, "--set", "colour=1")
    for setting, flag in (
        ("order=3", "--order"),
        ("alpha=5", "--alpha"),
        ("fir-taps=31", "--fir-taps"),
    ):
        # the flag's own keyword: a TypeError traceback before
        said = f"is what {flag} sets: give {flag} instead"
        assert_refused(capsys, tmp_path, 2, said, "magnify", src, "-o", out, "--set", setting)
    assert_refused(
        capsys, tmp_path, 2, "is what --alpha sets", "live", src, "-o", out, "--set", "alpha=5"
    )
    assert_refused(
        capsys, tmp_path, 2, "is set by each suite itself", "eval", "linear", "--suite", "rig",
        "--set", "alpha=5",
    )  # fmt: skip
    assert_refused(
        capsys, tmp_path, 2, "mask", "magnify", src, "-o", out, "--mask", tmp_path / "missing.png"
    )
    assert_refused(
        capsys, tmp_path, 2, "motionmag live", "magnify", src, "-o", out, "--resize", "auto"
    )


def test_console_script_exit_status(tmp_path):
    """The installed entry point itself (not only main()) returns INTERFACE.md's statuses."""
    exe = Path(sys.executable).with_name("motionmag")
    result = subprocess.run(
        [str(exe), "magnify", str(tmp_path / "x.mp4"), "-o", str(tmp_path / "y.mp4")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 3
    assert result.stderr.startswith("motionmag: error:")
    result = subprocess.run([str(exe), "magnify"], capture_output=True, text=True)
    assert result.returncode == 2


def test_spectrum_of_a_still_noisy_clip_reports_no_clear_peak(tmp_path, capsys, texture):
    rng = np.random.default_rng(7)
    base = quantize(texture)
    frames = np.clip(base[None].astype(int) + rng.integers(-3, 4, (64, *base.shape)), 0, 255)
    clip = write_clip(tmp_path / "still.mkv", frames.astype(np.uint8), FPS)
    code, stdout, _ = run(capsys, "spectrum", clip, "-o", tmp_path / "s.png")
    assert code == 0 and "no clear peak" in stdout


def test_measured_speed_reads_sizes_and_names_the_mode(tmp_path, monkeypatch):
    """`motionmag methods` shows the recorded fps, and the mode when it is not temporal."""
    import json

    from motionmag.magnify import speeds

    record = {
        "methods": {
            "linear": {"640x360": 105.0, "1080p": 12.8},
            "oh2018": {"640x360": 4.1, "1080p": 0.5, "mode": "static", "date": "2026-11-28"},
        }
    }
    path = tmp_path / "speeds.json"
    path.write_text(json.dumps(record))
    monkeypatch.setattr(speeds, "_RECORD", path)
    speeds._load.cache_clear()
    try:
        assert speeds.measured_speed("linear") == "105 @640x360, 12.8 @1080p"
        assert speeds.measured_speed("oh2018") == "4.1 @640x360, 0.5 @1080p (static)"
        assert speeds.measured_speed("riesz") == "-"
    finally:
        speeds._load.cache_clear()


def test_methods_table_fits_the_terminal_and_explains_its_marks(capsys):
    """23 of its 24 lines were wider than 80 columns (up to 285): now one line of facts
    per method, the paper and summary wrapped beneath, and a legend for '-', 'none
    shipped' and the speeds' machine."""
    import json

    from motionmag.cli import methods_table

    code, stdout, _ = run(capsys, "methods", "--json")
    assert code == 0
    rows = json.loads(stdout)
    for columns in (80, 120):
        text = methods_table(rows, columns)
        assert max(len(line) for line in text.splitlines()) < columns
    lines = methods_table(rows, 80).splitlines()
    linear = next(line for line in lines if line.startswith("linear *"))
    fps = next(row for row in rows if row["name"] == "linear")["speed_fps"]["fps"]
    speeds = [f"{fps['640x360']:.3g}", "/", f"{fps['1080p']:.3g}"]
    assert linear.split()[2:] == ["-", *speeds, "static,dynamic,temporal"]
    assert any(line.startswith("lwmm ") and "none shipped" in line for line in lines)
    assert "oh2018" in " ".join(lines) and "(static)" in " ".join(lines)
    legend = " ".join(lines[-6:])
    assert "none shipped: train them" in legend and "motionmag bench --write-record" in legend


def test_methods_lists_every_methods_modes_in_one_order(capsys):
    """``--json`` listed the thesis nets' modes as dynamic,static,temporal and the
    classical ones as temporal,static,dynamic while the table reordered them: the order
    is now the spec's own, static, dynamic, temporal, everywhere."""
    import json

    from motionmag.magnify.registry import MODE_ORDER, MethodSpec

    code, stdout, _ = run(capsys, "methods", "--json")
    assert code == 0
    for row in json.loads(stdout):
        assert row["modes"] == [m for m in MODE_ORDER if m in row["modes"]], row["name"]
    spec = MethodSpec("x", "learned", ("temporal", "static"), "", "", "m:f")
    assert spec.modes == ("static", "temporal")
    with pytest.raises(ValueError, match="unknown modes"):
        MethodSpec("x", "learned", ("slow-motion",), "", "", "m:f")


def test_methods_reads_each_shipped_models_training_from_its_card(capsys):
    """``motionmag methods`` says how far each installed model is trained: the numbers of
    its card (samples, validation SSIM against the input's, the known-answer gain)."""
    import json

    from motionmag.models.card_summary import card_summary
    from motionmag.models.registry import model_card

    code, stdout, _ = run(capsys, "methods", "--json")
    rows = {row["name"]: row for row in json.loads(stdout)}
    assert code == 0 and rows["linear"]["trained"] == ""
    card = model_card("oh2018")
    samples = card["training"]["samples_seen"]
    ssim, gain = card["metrics"]["validation"]["ssim"], card["known_answers"]["static_gain"]
    assert rows["oh2018"]["trained"] == (
        f"{samples / 1000:.0f}k samples, validation SSIM {ssim:.3f} "
        f"(input {card['metrics']['validation']['input_ssim']:.3f}), x{gain:.1f} for x10"
    )
    assert card_summary(None) == ""
    assert card_summary({"training": {"samples_seen": 2_500_000}}) == "2.5M samples"


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["measure", "v.mkv", "--csv", ""], "to --csv"),  # it wrote nothing, exit 0
        (["eval", "linear", "--suite", "rig", "--json="], "to --json"),
        (["magnify", "", "-o", "x.mp4"], "as an argument"),
        (["magnify", "v.mkv", "-o", "x.mp4", "--method", ""], "to --method"),  # ran linear
    ],
)
def test_an_empty_argument_is_refused(capsys, argv, named):
    code, _, err = run(capsys, *argv)
    assert code == 2 and f"an empty value was given {named}" in err, err


def test_an_end_beyond_any_clip_is_the_clip_s_end(tmp_path, capsys, vibrating_clip):
    """--end 1e308 was an OverflowError traceback."""
    source, _ = vibrating_clip
    out = tmp_path / "o.mkv"
    code, _, err = run(capsys, "magnify", source, "-o", out, "--end", "1e308", "--quiet")
    assert code == 0, err
    assert len(read_clip(out)) == len(read_clip(source))


def test_every_flag_a_help_text_names_is_one_of_its_commands_own():
    """live's --reference help said "counted from --start", a flag live does not have
    (the text was magnify's). A flag named in a help text, outside a quoted `command`,
    must be the command's own."""
    import argparse
    import re

    from motionmag.cli import build_parser

    def strays(parser: argparse.ArgumentParser, name: str) -> list[str]:
        own = {o for action in parser._actions for o in action.option_strings}
        found = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    found += strays(subparser, f"{name} {sub}")
            elif action.help and action.help != argparse.SUPPRESS:
                text = re.sub(r"`[^`]*`", "", action.help)  # quoted commands name others'
                for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text):
                    if flag not in own:
                        found.append(f"{name} {action.option_strings}: {flag}")
        return found

    assert strays(build_parser(), "motionmag") == []


def test_a_system_error_is_one_sentence_that_says_what_to_do(capsys, monkeypatch):
    """A full disk read "No space left on device: out.mp4" and stopped there."""
    import errno

    from motionmag import cli
    from motionmag.cli import os_error_sentence

    full = OSError(errno.ENOSPC, "No space left on device", "out.mp4")
    assert os_error_sentence(full) == (
        "motionmag: error: No space left on device: out.mp4; free some disk space, or write "
        "somewhere else."
    )
    assert os_error_sentence(OSError(errno.EBADMSG, "Bad message.")) == (
        "motionmag: error: Bad message."
    )
    assert os_error_sentence(PermissionError(errno.EACCES, "Permission denied", "..")) == (
        "motionmag: error: Permission denied: ..; check the file's permissions, or choose "
        "another path."
    )

    def no_space(_args):
        raise full

    monkeypatch.setattr(cli, "_run_methods", no_space)
    assert main(["methods"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "free some disk space" in err
