"""The Python API speaks of keywords, the command line of flags (the stop-49 API review).

The engine's checks are shared: their sentences are written with the command line's flags,
and ``motionmag.python_api`` puts them in a Python caller's terms
(``errors.python_terms_of``). Also here: the review's other API findings (advice for
0-255 float frames, a Stream used after flush, raw Python exceptions for wrong types,
checks that came too late).
"""

from __future__ import annotations

import numpy as np
import pytest

import motionmag as mm
from cli_run import one_sentence, run
from clip_io import write_jitter_clip
from motionmag.errors import InputError, UsageError, python_terms_of


@pytest.mark.parametrize(
    ("flags", "keywords"),
    [
        ("pass e.g. --alpha 10.", "pass e.g. alpha=10."),
        ("use --mode temporal with --band LOW HIGH.", "use mode='temporal' with band=(LOW, HIGH)."),
        ("lower --band HIGH or pass --fps", "lower the band's HIGH or pass fps"),
        ("--fir-taps 31 needs --filter fir.", "fir_taps=31 needs filter='fir'."),
        ("give e.g. --set views=4.", "give e.g. views=4."),
        ("'o.mkv' exists: pass --overwrite.", "'o.mkv' exists: pass overwrite=True."),
        ("--stabilize 'rigid' is not a model", "stabilize='rigid' is not a model"),
        ("--crop 1 2 3 4 is not inside", "crop=(1, 2, 3, 4) is not inside"),
        ("give --roi X Y W H.", "give roi=(X, Y, W, H)."),
        ("--fps 29.97.", "fps=29.97."),
        # a word after a choice flag that is not one of its choices goes on with the
        # sentence (it read filter='sets' and stabilize='makes')
        ("--filter sets up the filter", "filter sets up the filter"),
        ("frames --stabilize makes: add --stabilize", "frames stabilize makes: add stabilize"),
        ("--method oh2018 or --method linear", "method='oh2018' or method='linear'"),
        ("--method needs weights", "method needs weights"),
        ("for --band 1 4, the filter", "for band=(1, 4), the filter"),
        # what is quoted is a name or a command, and stays as written
        ("'--odd.mp4' does not exist", "'--odd.mp4' does not exist"),
        ("first `motionmag train x --export y`", "first `motionmag train x --export y`"),
    ],
)  # fmt: skip
def test_flags_become_keywords(flags, keywords):
    assert python_terms_of(flags) == keywords


def test_a_keyword_named_otherwise_than_its_flag():
    assert python_terms_of("--start 100 s is past", {"start": "start_s"}) == "start_s=100 s is past"


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """20 frames of a texture that moves 1 px back and forth, 30 fps."""
    return write_jitter_clip(tmp_path_factory.mktemp("clip") / "v.mkv", 48, 64, 20, seed=1)


def _message(call) -> str:
    with pytest.raises((UsageError, InputError)) as caught:
        call()
    return str(caught.value)


def test_api_errors_name_the_keywords_the_caller_used(video, tmp_path):
    frames = np.zeros((6, 16, 16, 3), np.uint8)
    cases = [
        (lambda: mm.magnify_frames(frames, method="linear", alpha=float("nan")), "alpha=10"),
        (lambda: mm.magnify_frames(frames, method="linear", mode="static", band=(1, 3)),
         "band=(LOW, HIGH)"),
        (lambda: mm.magnify(video, tmp_path / "o.mkv", method="linear", start=-1), "start=-1"),
        (lambda: mm.magnify(video, video, method="linear"), "is the input"),
        (lambda: mm.measure(video, start=100), "start=100"),
        (lambda: mm.Stream(method="linear", band=(1, 3), filter="fir", fir_taps=31, order=3),
         "order"),
    ]  # fmt: skip
    for call, keyword in cases:
        message = _message(call)
        assert keyword in message and "--" not in message, message
    (tmp_path / "exists.mkv").write_bytes(b"x")
    message = _message(lambda: mm.magnify(video, tmp_path / "exists.mkv", method="linear"))
    assert "overwrite=True" in message and "--" not in message


def test_the_command_line_keeps_its_flags(video, tmp_path, capsys):
    (tmp_path / "exists.mkv").write_bytes(b"x")
    code, err = run(capsys, "magnify", video, "-o", tmp_path / "exists.mkv", "--method", "linear")
    assert code == 2 and one_sentence(err) and "pass --overwrite" in err, err
    code, err = run(capsys, "measure", video, "--start", "100")
    assert code == 2 and "--start 100 s is past the end" in err, err


def test_float_frames_in_0_255_get_advice_that_keeps_their_values():
    frames = np.full((4, 8, 8, 3), 200.0, np.float32)
    advice = _message(lambda: mm.magnify_frames(frames, method="linear"))
    assert "np.clip(np.rint(x), 0, 255).astype(np.uint8)" in advice, advice
    advice = _message(lambda: mm.magnify_frames(frames / 255, method="linear"))
    assert "np.rint(x * 255)" in advice, advice
    advice = _message(lambda: mm.magnify_frames(np.moveaxis(frames, -1, 1).astype(np.uint8)))
    assert "np.moveaxis(x, -3, -1)" in advice, advice


def test_wrong_types_are_one_sentence_not_a_python_exception(video, tmp_path):
    motion = mm.measure(video)
    frames = np.zeros((40, 16, 16, 3), np.uint8)
    cases = [
        (lambda: mm.magnify(video, tmp_path / "o.mkv", start="x"), "start='x' is not a number"),
        (lambda: mm.magnify(video, tmp_path / "o.mkv", resize=(64, 48, 3)), "two whole numbers"),
        (lambda: mm.magnify(video, tmp_path / "o.mkv", overwrite="no"), "is not True or False"),
        (lambda: mm.measure(frames), "is a ndarray of shape (40, 16, 16, 3), not a path"),
        (lambda: mm.measure(video, reference=1.5), "is not a whole number"),
        (lambda: mm.compare_motion(motion, "out.mkv"), "other is a str, not a measured motion"),
        (lambda: mm.compare_motion(motion, motion, freq_hz="two"), "freq_hz='two' is not"),
        (lambda: motion.summary(freq_hz=100), "freq_hz=100 Hz is not between 0 and the Nyquist"),
        (lambda: mm.create_model("flowmag", pretrained=False, width="x"), "cannot take these"),
        (lambda: mm.magnify(frames, tmp_path / "o.mkv"), "not a path"),
    ]  # fmt: skip
    for call, expected in cases:
        message = _message(call)
        assert expected in message and message.count("\n") == 0 and len(message) < 300, message
    assert not (tmp_path / "o.mkv").exists()


def test_checks_that_need_the_whole_clip_come_at_the_call(video):
    few = mm.measure  # 6 frames cannot be band-passed: said by measure, not by a later read
    message = _message(lambda: few(video, band=(8, 12), end=0.2))
    assert "leave out band" in message, message
    frames = np.zeros((12, 16, 16, 3), np.uint8)
    message = _message(lambda: mm.magnify_frames(frames, mode="static", reference=50))
    assert "reference frame 50 is beyond the end of the frames (12 frames)" in message


def test_a_near_miss_keyword_is_named():
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    message = _message(lambda: mm.magnify_frames(frames, method="linear", bands=(1, 4)))
    assert "has no option bands (did you mean band?)" in message, message


def test_a_temporal_only_method_without_a_band_asks_for_the_band(video, tmp_path):
    message = _message(lambda: mm.magnify(video, tmp_path / "o.mkv", method="acceleration"))
    assert "temporal mode only" in message and "band=(LOW, HIGH)" in message, message


def test_a_weights_folder_without_the_file_is_not_called_unshipped(tmp_path):
    message = _message(lambda: mm.create_model("oh2018", weights_dir=tmp_path))
    assert f"'{tmp_path}' has no oh2018.safetensors" in message, message
    assert "leave out weights_dir" in message


def test_measure_takes_its_window_as_magnify_does(video):
    whole, window = mm.measure(video), mm.measure(video, start=0.2, end=0.5)
    assert len(whole.dx) == 20 and len(window.dx) == 9  # frames 6-14 of 30 fps


def test_an_array_mask_of_the_wrong_shape_or_range_is_named_plainly(video, tmp_path):
    """It read "mask the mask array is 10x10 ..." and called an integer mask a float one."""
    said = _message(lambda: mm.magnify(video, tmp_path / "o.mkv", mask=np.ones((10, 10))))
    assert said.startswith("the mask array is 10x10 but the video is 64x48"), said
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    said = _message(lambda: mm.magnify_frames(frames, mask=np.full((16, 16), 3, np.int64)))
    assert "a mask array that is not uint8 must hold weights in [0, 1]" in said, said


def test_switches_that_are_not_booleans_are_refused_everywhere():
    """'no' is truthy: Stream, magnify_frames and create_model took it as True."""
    frames = np.zeros((3, 16, 16, 3), np.uint8)
    calls = {
        "pretrained='no'": lambda: mm.create_model("oh2018", pretrained="no"),
        "keep_stabilized='no'": lambda: mm.magnify_frames(
            frames, stabilize="translation", keep_stabilized="no"
        ),
        "keep_stabilized=1": lambda: mm.Stream(keep_stabilized=1),
    }
    for said, call in calls.items():
        assert _message(call) == f"{said} is not True or False: give {said.split('=')[0]}=True."
    mm.Stream(method="linear", keep_stabilized=np.False_)  # numpy's booleans are booleans


def test_the_python_api_defaults_to_cuda_when_torch_sees_it(monkeypatch, video, tmp_path):
    """INTERFACE.md's device default, as the command line's: cuda if available (the API
    always took the CPU); ONNX Runtime runs on the CPU."""
    import torch

    from motionmag.magnify.config import MagnifyConfig

    def config(**options):
        return MagnifyConfig.from_arguments(
            "linear", 10, None, None, "butter", None, 0, None, options
        )

    assert config().device == "cpu" or torch.cuda.is_available()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config().device == "cuda"
    assert config(backend="onnx").device == "cpu"
    # the command line's: the same default, --backend onnx and --set backend=onnx too
    import importlib

    from motionmag.cli import main

    api = importlib.import_module("motionmag.magnify.api")

    devices = []

    def record(_input, output, config, **_):  # the device the run gets, no work done
        devices.append(config.device)
        return api.MagnifyResult(str(output), 0, 30.0, 64, 48, config.method, [])

    monkeypatch.setattr(api, "magnify_file", record)
    out = str(tmp_path / "o.mkv")
    for flags in ([], ["--backend", "onnx"], ["--set", "backend=onnx"]):
        main(["magnify", str(video), "-o", out, "--method", "oh2018", "--quiet", *flags])
    assert devices == ["cuda", "cpu", "cpu"]
    assert (
        MagnifyConfig.from_arguments("linear", 10, None, None, "butter", None, 0, "cpu", {}).device
        == "cpu"
    )


def test_an_argument_of_magnify_given_to_frames_in_memory_is_named_so():
    """It read "has no option side_by_side (did you mean side_by_side?)"."""
    frames = np.zeros((3, 16, 16, 3), np.uint8)
    said = _message(lambda: mm.magnify_frames(frames, side_by_side=True))
    assert "no option side_by_side (side_by_side is an argument of magnify, which reads" in said
    said = _message(lambda: mm.Stream(crop=(0, 0, 4, 4)))
    assert "(crop is an argument of magnify" in said and "did you mean" not in said


def test_a_band_at_the_end_of_a_sentence_keeps_the_full_stop():
    assert python_terms_of("give --band 1 4.") == "give band=(1, 4)."
