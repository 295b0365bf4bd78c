"""The Python API and the trainers refuse bad input in one sentence, never a traceback.

From the second user-path review of 2026-12-03: a uint8 mask given to ``Stream`` was
taken as weights of 255, a second ``flush`` crashed, numpy scalars were refused, and many
malformed arguments (bands, boxes, devices, weights of another network, unreadable
cards, nonsense training flags) ended in raw numpy / torch / json errors.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import motionmag as mm
from cli_run import run
from motionmag.errors import InputError, UsageError
from motionmag.eval.region_motion import compare
from motionmag.models.registry import weights_path

WEIGHTS = weights_path("oh2018").parent


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """Ten 32x32 frames of a texture moving 0.5 px a frame to the right."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (32, 64, 3)).astype(np.float32)
    return np.stack([np.roll(base, i, axis=1)[:, :32] for i in range(10)]).astype(np.uint8)


def test_a_uint8_stream_mask_is_an_image_like_a_mask_file(clip):
    """255 everywhere = magnify everywhere: the same output as no mask at all."""
    masked = mm.Stream("linear", alpha=5, mode="dynamic", mask=np.full((32, 32), 255, np.uint8))
    plain = mm.Stream("linear", alpha=5, mode="dynamic")
    triples = [(masked.push(f), plain.push(f), f) for f in clip]
    triples = [(a, b, f) for a, b, f in triples if a is not None]
    assert triples and all(np.array_equal(a, b) for a, b, _ in triples)
    assert any(np.abs(a.astype(int) - f.astype(int)).mean() > 1 for a, _, f in triples)
    still = mm.Stream("linear", alpha=5, mode="dynamic", mask=np.full((32, 32), 0.0))
    assert all(np.array_equal(still.push(f), f) for f in clip)  # weight 0: the input


def test_a_stream_with_latency_and_a_mask_does_not_read_a_reused_buffer(clip):
    """A camera loop fills one buffer each frame: the kept (unmasked) part of a held
    output was blended from that buffer as it was later, up to 251 levels off."""
    mask = np.zeros((32, 32), np.uint8)
    mask[:, :16] = 255
    settings = {"alpha": 5, "mode": "static", "reference": 3, "mask": mask}
    fresh = mm.Stream("linear", **settings)
    reused = mm.Stream("linear", **settings)
    buffer = np.empty_like(clip[0])
    expected, got = [], []
    for frame in clip:
        expected.append(fresh.push(frame.copy()))
        buffer[...] = frame
        got.append(reused.push(buffer))
    expected += fresh.flush()
    got += reused.flush()
    pairs = [(a, b) for a, b in zip(expected, got, strict=True) if a is not None]
    assert len(pairs) == len(clip)
    assert all(np.array_equal(a, b) for a, b in pairs)


@pytest.mark.parametrize(
    ("mask", "pattern"),
    [
        (np.full((32, 32), 2.0), r"weights in \[0, 1\]"),
        (np.full((32, 32), np.nan), r"weights in \[0, 1\]"),
        (np.ones((32, 32, 3)), "give one greyscale image"),
        (np.array(["a", "b"]), "numeric greyscale array"),
    ],
)
def test_a_bad_stream_mask_is_one_sentence(mask, pattern):
    with pytest.raises(UsageError, match=pattern):
        mm.Stream("linear", mode="dynamic", mask=mask)


def test_a_second_flush_owes_nothing(clip):
    stream = mm.Stream("linear", mode="temporal", band=(1.0, 3.0), fps=30.0, filter="fir")
    returned = [stream.push(f) for f in clip]
    first = stream.flush()
    assert sum(r is not None for r in returned) + len(first) == len(clip)
    assert stream.flush() == []
    # its filters are drained: more frames need a new Stream (was an IndexError with fir)
    with pytest.raises(UsageError, match="start a new Stream"):
        stream.push(clip[0])


def test_numpy_numbers_are_numbers(clip):
    out = mm.magnify_frames(clip, method="linear", alpha=np.float32(4), fps=np.float32(30))
    same = mm.magnify_frames(clip, method="linear", alpha=4.0, fps=30.0)
    np.testing.assert_array_equal(out, same)
    banded = mm.magnify_frames(
        clip, method="linear", alpha=np.int64(4), fps=np.float64(30), band=(np.float32(1), 3)
    )
    assert banded.shape == clip.shape


@pytest.mark.parametrize(
    ("arguments", "pattern"),
    [
        ({"band": (3,)}, "is not two numbers"),
        ({"band": (1, 2, 3)}, "is not two numbers"),
        ({"band": "1 2"}, "is not two numbers"),
        ({"alpha": "x"}, "alpha 'x' is not a number"),
        ({"reference": "1"}, "reference '1' is not a number"),
        ({"reference": 2.5}, "reference 2.5 is not a whole number"),
        ({"band": (1, 3), "order": 2.5}, "order 2.5 is not a whole number"),
        ({"device": "gpu"}, "unknown device 'gpu'"),
    ],
)
def test_a_malformed_api_argument_is_one_sentence(clip, arguments, pattern):
    with pytest.raises(UsageError, match=pattern):
        mm.magnify_frames(clip, method="linear", fps=30.0, **arguments)


def test_frames_of_different_sizes_and_a_missing_path(clip, tmp_path):
    with pytest.raises(InputError, match="the frames differ in size"):
        mm.magnify_frames([clip[0], clip[1, :16]], method="linear")
    with pytest.raises(UsageError, match="the input is a NoneType, not a path"):
        mm.magnify(None, tmp_path / "out.mkv")


def test_create_model_refuses_what_does_not_fit(tmp_path):
    with pytest.raises(UsageError, match="cannot take these settings"):
        mm.create_model("oh2018", foo=1)
    with pytest.raises(UsageError, match="unknown device 'gpu'"):
        mm.create_model("oh2018", device="gpu")
    with pytest.raises(InputError, match=r"weights folder .* does not exist"):
        mm.create_model("oh2018", weights_dir=tmp_path / "nowhere")
    other_size = tmp_path / "d2.safetensors"  # mdmm-d2 weights, no card: shapes differ
    shutil.copyfile(WEIGHTS / "mdmm-d2.safetensors", other_size)
    with pytest.raises(InputError, match="its tensors have other shapes"):
        mm.create_model("mdmm-d1", weights=other_size)
    for suffix in (".safetensors", ".json"):
        shutil.copyfile(
            (WEIGHTS / "oh2018").with_suffix(suffix), (tmp_path / "oh").with_suffix(suffix)
        )
    with pytest.raises(InputError, match=r"is for motionmag\.nets\.oh2018:Oh2018Net, not model"):
        mm.create_model("ha2024", weights=tmp_path / "oh.safetensors")
    (tmp_path / "oh.json").write_text("{bad")
    with pytest.raises(InputError, match="is not valid JSON"):
        mm.create_model("oh2018", weights=tmp_path / "oh.safetensors")


def test_measure_checks_its_band_and_box_at_the_call(tmp_path):
    from clip_io import write_jitter_clip

    video = write_jitter_clip(tmp_path / "v.mkv", 64, 80, 20, seed=1)
    with pytest.raises(UsageError, match="not below half the frame rate"):
        mm.measure(video, band=(1, 20))
    with pytest.raises(UsageError, match="is not two numbers"):
        mm.measure(video, band=(1,))
    with pytest.raises(UsageError, match="is not four whole numbers"):
        mm.measure(video, roi=(10, 10, 40))
    motion = mm.measure(video)
    with pytest.raises(UsageError, match="Nyquist"):
        compare(motion, motion, freq_hz=100.0)


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (("deepmag-color", "--lr", "-1"), "--lr -1 is not a positive number"),
        (("deepmag-color", "--rounds", "0"), "--rounds 0 is below 1"),
        (("deepmag-color", "--videos-per-round", "0"), "--videos-per-round 0 is below 1"),
        (("deepmag-color", "--device", "bogus"), "unknown device 'bogus'"),
        (("deepmag-color", "--seed", "-1"), "--seed -1 is below 0"),
        (("deepmag-motion", "--widths", "0", "0", "0"), "give widths of 1 or more"),
        (("deepmag-motion", "--hidden", "0"), "--hidden 0 is below 1"),
        (("oh2018", "--seed", "-1"), "--seed -1 is negative"),
        (("flowmag", "--color-weight", "-1"), "--color-weight -1.0 must be >= 0"),
        (("flowmag", "--max-motion", "-1"), "--max-motion -1.0 must be a positive"),
    ],
)
def test_a_bad_training_flag_is_one_sentence_and_leaves_no_run(tmp_path, capsys, argv, pattern):
    run_dir = tmp_path / "run"
    code, err = run(capsys, "train", *argv, "--run", run_dir)
    assert code == 2 and pattern in err and err.count("\n") == 1, err
    assert not run_dir.exists()


def test_an_unreadable_init_card_is_an_input_error(tmp_path, capsys):
    weights = tmp_path / "w.safetensors"
    shutil.copyfile(WEIGHTS / "oh2018.safetensors", weights)
    (tmp_path / "w.json").write_text("{bad")
    code, err = run(capsys, "train", "oh2018", "--init", weights, "--run", tmp_path / "run")
    assert code == 3 and "is not valid JSON" in err
    (tmp_path / "w.json").write_text(json.dumps({"network": {}}))
    weights.write_bytes(b"not safetensors")
    code, err = run(capsys, "train", "oh2018", "--init", weights, "--run", tmp_path / "run")
    assert code == 3 and "cannot be read as safetensors" in err
    assert not (tmp_path / "run").exists()


def test_synth_needs_a_size_training_can_use(tmp_path, capsys):
    code, err = run(capsys, "synth", "-o", tmp_path / "s", "--n", 2, "--size", 34)
    assert code == 2 and "not a multiple of 4" in err
    assert not (tmp_path / "s").exists()


def test_demo_never_replaces_files_without_overwrite(tmp_path, capsys):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "magnified.mp4").write_text("mine")
    code, err = run(capsys, "demo", "-o", folder, "--quiet")
    assert code == 2 and "already holds magnified.mp4" in err
    assert (folder / "magnified.mp4").read_text() == "mine"
    code, err = run(capsys, "demo", "-o", tmp_path / "a" / "b", "--quiet")
    assert code == 2 and "does not exist" in err and not (tmp_path / "a").exists()


def test_the_api_review_of_stop_56():
    """A Stream with a wrong-sized mask checks it on every push (the second push was a
    numpy broadcast error: the size was kept before the check); an empty frame is refused
    (phase failed in math); an alpha beyond the weights' range is a note of Stream and a
    warning of magnify_frames (both were silent); a keyword measure or compare_motion
    does not take is a UsageError naming them (a TypeError naming region_motion); an int
    beyond a float is a UsageError (an OverflowError)."""
    import warnings

    from motionmag.models.registry import has_weights

    frame = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    stream = mm.Stream(method="linear", mode="static", mask=np.ones((10, 10)))
    for _ in range(2):
        with pytest.raises(InputError, match="the mask is 10x10 but the frames are 64x48"):
            stream.push(frame)
    with pytest.raises(InputError, match="a frame of 0x0 px"):
        mm.Stream(method="phase", mode="dynamic").push(np.zeros((0, 0, 3), np.uint8))
    if has_weights("ha2024-fast"):
        assert "alpha 500 is beyond" in mm.Stream(method="ha2024-fast", alpha=500).notes[0]
        with pytest.warns(UserWarning, match="alpha 500 is beyond the 1-100"):
            mm.magnify_frames(np.stack([frame] * 3), method="ha2024-fast", alpha=500)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mm.magnify_frames(np.stack([frame] * 3), method="linear", alpha=5, mode="static")
    with pytest.raises(UsageError, match=r"measure\(\) takes no keyword 'rio' \(did you mean roi"):
        mm.measure("clip.mkv", rio=(0, 0, 32, 32))
    with pytest.raises(UsageError, match=r"compare_motion\(\) takes no keyword 'freq'"):
        mm.compare_motion(None, None, freq=3)
    with pytest.raises(UsageError, match="alpha is beyond any float"):
        mm.magnify_frames(np.stack([frame] * 3), method="linear", alpha=10**400)


def test_eval_does_not_repeat_a_methods_notes_per_clip():
    """magnify_frames warns its notes now; a suite scoring many clips does not (eval's
    runner keeps them quiet: it reports its own numbers, and never showed them)."""
    import warnings

    from motionmag.eval.runner import MethodUnderTest

    clip = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MethodUnderTest("sigma-theta").clip(clip, 10.0, mode="temporal", band=(2.0, 4.0))
    with pytest.warns(UserWarning, match="in temporal mode sigma-theta"):
        mm.magnify_frames(clip, method="sigma-theta", alpha=10.0, band=(2.0, 4.0))


@pytest.mark.parametrize("fps", [0, -3, float("nan")])
def test_a_rate_that_is_not_one_is_refused_without_a_band_too(fps):
    """magnify_frames and Stream took fps=0 or -3 when no band read it (the file command
    refused them): one sentence naming fps= now."""
    clip = np.zeros((3, 16, 16, 3), np.uint8)
    with pytest.raises(UsageError, match="is not a rate: give fps above 0"):
        mm.magnify_frames(clip, method="linear", fps=fps)
    with pytest.raises(UsageError, match="is not a rate"):
        mm.Stream(method="linear", fps=fps)


def test_a_filter_order_below_one_names_its_keyword():
    with pytest.raises(
        UsageError, match=r"filter order 0 \(order\) must be at least 1: give order=2"
    ):
        mm.magnify_frames(np.zeros((3, 16, 16, 3), np.uint8), method="linear", band=(2, 4), order=0)


@pytest.mark.parametrize("method", ["acceleration", "linear"])
def test_a_band_without_a_frame_rate_asks_for_the_rate(method):
    """acceleration said "add band=(LOW, HIGH)" to a Stream that had a band and no fps."""
    with pytest.raises(UsageError, match=r"the frame rate is unknown: pass fps to use a band"):
        mm.Stream(method, mode="temporal", band=(1, 3))
    with pytest.raises(UsageError, match=r"needs the frequency of the motion: add band=\(LOW"):
        mm.Stream("acceleration", fps=30)


def test_early_weights_say_so_when_they_run():
    """sigma-theta's shipped weights gave x1.15 for x10 on the known-answer photo and
    shrank a 0.06 px motion (x0.11) without a word; weights that meet the goal say
    nothing."""
    import warnings

    frames = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    with pytest.warns(UserWarning, match=r"sigma-theta weights are early: .* x1\.2 for x10"):
        mm.magnify_frames(frames, method="sigma-theta", alpha=10, mode="static")
    assert [n for n in mm.Stream("mdmm-d2").notes if "weights are early" in n]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mm.magnify_frames(frames, method="oh2018", alpha=10, mode="static")
