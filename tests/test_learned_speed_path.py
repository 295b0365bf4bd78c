"""The learned methods' speed path: ONNX Runtime backend, bf16 decoder, tiled frames.

Known answers that need no trained weights: the ONNX graphs compute what the torch
network computes (random weights, re-drawn at a scale where the output depends on the
input: the default init std 0.02 gives a nearly constant grey frame that any backend
would match); bf16 leaves the encoder, the selection ``M_b - M_a`` of a 0.05 px shift and
the manipulator bit-identical to fp32, where a bf16 encoder would lose a third of that
difference; a tiled frame equals the untiled one with the receptive-field margin, and
differs without it; a missing onnxruntime is one plain sentence.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from motionmag.errors import UsageError
from motionmag.magnify.base import EulerianMagnifier
from motionmag.magnify.config import MagnifyConfig
from motionmag.magnify.learned import Oh2018Method
from motionmag.magnify.registry import build_magnifier
from motionmag.models import create_model
from motionmag.nets.ha2024 import Ha2024Net
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import smooth_texture, subpixel_shift
from motionmag.temporal import StaticSelector
from net_helpers import expressive

NAMES = ("oh2018", "ha2024")


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return smooth_texture(load_texture(), (64, 72), sigma_px=1.5)


@pytest.fixture(autouse=True)
def onnx_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONMAG_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, np.float32) / 255.0).permute(2, 0, 1)[None]


def static_outputs(method: Oh2018Method, frames: list[torch.Tensor]) -> torch.Tensor:
    """Float outputs of static mode (reference frame 0), as the engine computes them."""
    selector = StaticSelector(0)
    kept, outputs = [], []
    for frame in frames:
        k, rep = method.encode(frame)
        kept.append(k)
        for selected in selector.push(rep):
            outputs.append(method.decode(kept.pop(0), selected))
    return torch.cat(outputs)


def relative(value: torch.Tensor, reference: torch.Tensor) -> float:
    return float((value - reference).norm() / reference.norm())


# --- ONNX Runtime backend ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_onnx_backend_equals_torch_in_static_mode(name, texture):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = expressive(create_model(name, pretrained=False))
    frames = [to_tensor(subpixel_shift(texture, 0.3 * i, -0.2 * i)) for i in range(3)]
    reference = static_outputs(Oh2018Method(20.0, model), frames)
    onnx = Oh2018Method(20.0, model, backend="onnx")
    assert type(onnx.runner).__name__ == "OnnxRunner"
    out = static_outputs(onnx, frames)
    assert out.shape == reference.shape == (3, 3, 64, 72)
    # the output depends on the input (the default init's is grey, std ~0.001)
    assert reference.std() > 0.01
    assert relative(out, reference) < 1e-4
    # the magnified change itself (frame 2 against frame 0) matches, not just the picture
    change = reference[2] - reference[0]
    assert change.abs().max() > 0.01
    assert relative(out[2] - out[0], change) < 1e-3


def test_onnx_export_is_cached_by_weights(onnx_cache, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from motionmag.magnify import onnx_backend

    model = expressive(Ha2024Net(decoder_blocks=1))
    first = onnx_backend.OnnxRunner(model)
    assert all(path.parent == onnx_cache / "onnx" for path in first.paths)

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although cached")

    monkeypatch.setattr(onnx_backend, "_export", no_export)
    assert onnx_backend.OnnxRunner(model).paths == first.paths
    changed = expressive(Ha2024Net(decoder_blocks=1), seed=2)
    with pytest.raises(AssertionError, match="exported again"):
        onnx_backend.OnnxRunner(changed)  # other weights: another key, a new export


def test_a_damaged_cached_export_is_exported_again(onnx_cache):
    """A cached graph ONNX Runtime cannot load (cut short, emptied, another install's)
    was a traceback on every later run; it is exported again, and the result is the
    same as from the first export."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from motionmag.magnify import onnx_backend

    model = expressive(Ha2024Net(decoder_blocks=1))
    frame = torch.rand(1, 3, 32, 36, generator=torch.Generator().manual_seed(3))
    first = onnx_backend.OnnxRunner(model)
    texture, shape = first.encode(frame)
    expected = first.decode(texture, shape, 0.01 * torch.ones_like(shape), 5.0)
    encoder_path, decoder_path = first.paths
    decoder_path.write_bytes(decoder_path.read_bytes()[:1000])
    encoder_path.write_bytes(b"")
    again = onnx_backend.OnnxRunner(model)
    assert again.paths == first.paths and decoder_path.stat().st_size > 1000
    texture, shape = again.encode(frame)
    out = again.decode(texture, shape, 0.01 * torch.ones_like(shape), 5.0)
    torch.testing.assert_close(out, expected)


def test_a_cache_folder_that_cannot_be_made_is_one_sentence(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from motionmag.magnify import onnx_backend

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MOTIONMAG_CACHE_DIR", str(blocker))
    with pytest.raises(UsageError, match=r"export cache .* cannot be written.*CACHE_DIR"):
        onnx_backend.OnnxRunner(expressive(Ha2024Net(decoder_blocks=1)))
    # a folder that exists but refuses the export's temporary file (read-only)
    monkeypatch.setenv("MOTIONMAG_CACHE_DIR", str(tmp_path / "ok"))

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(onnx_backend, "_export", refused)
    with pytest.raises(UsageError, match=r"cannot be written \(Permission denied\)"):
        onnx_backend.OnnxRunner(expressive(Ha2024Net(decoder_blocks=1)))


def test_backend_option_reaches_the_method_through_the_config():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    config = MagnifyConfig(
        method="ha2024", alpha=5.0, mode="dynamic", options={"pretrained": False, "backend": "onnx"}
    )
    magnifier = build_magnifier(config)
    assert magnifier.method.backend == "onnx"
    frame = np.random.default_rng(0).integers(0, 256, (40, 36, 3), dtype=np.uint8)
    out = magnifier.push(frame) + magnifier.push(frame)
    assert len(out) == 2 and out[0].shape == (40, 36, 3)


def test_missing_onnxruntime_is_one_sentence(monkeypatch, tmp_path, capsys):
    from motionmag.cli import main
    from motionmag.video import VideoWriter

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    config = MagnifyConfig(method="oh2018", options={"pretrained": False, "backend": "onnx"})
    with pytest.raises(UsageError) as error:
        build_magnifier(config)
    message = str(error.value)
    assert "onnxruntime" in message and "pip install" in message and "--backend torch" in message
    assert message.count(". ") == 0 and message.endswith(".") and "\n" not in message

    clip = tmp_path / "in.mkv"
    with VideoWriter(clip, 30.0, 32, 32) as writer:
        for value in (10, 20, 30):
            writer.write(np.full((32, 32, 3), value, np.uint8))
    output = tmp_path / "out.mkv"
    argv = ["magnify", str(clip), "-o", str(output), "--method", "oh2018", "--backend", "onnx"]
    code = main([*argv, "--set", "pretrained=false", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "onnxruntime" in err and not output.exists()


def test_bad_speed_options_are_usage_errors():
    model = Ha2024Net(decoder_blocks=1)
    for kwargs, words in (
        ({"backend": "tensorrt"}, "unknown backend"),
        ({"precision": "fp16"}, "unknown precision"),
        ({"backend": "onnx", "precision": "bf16"}, "only with backend torch"),
        ({"tile": 8}, "not a whole number of px >= 16"),
        ({"tile": 64, "tile_margin_px": -4}, "tile_margin_px"),
    ):
        with pytest.raises(UsageError, match=words):
            Oh2018Method(10.0, model, **kwargs)


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"tile_margin_px": 8}, "margin of tiles"),
        ({"threads": 4}, "ONNX Runtime's threads"),
        ({"backend": "onnx", "fused": False, "channels_last": False}, "fused and channels_last"),
        ({"backend": "onnx", "fused": False}, "fused shapes the torch path"),
        # batch decodes frames together only untiled on torch: elsewhere only latency
        ({"backend": "onnx", "batch": 4}, "with ONNX Runtime each frame is decoded alone"),
        ({"tile": 64, "batch": 4}, "with tiles each frame is decoded alone"),
    ],
)
def test_settings_that_would_change_nothing_are_refused(settings, words):
    """The reviews found each silently ignored (exit 0)."""
    from motionmag import magnify_frames

    frames = np.zeros((2, 32, 32, 3), np.uint8)
    with pytest.raises(UsageError, match=words):
        magnify_frames(frames, method="ha2024", alpha=10, pretrained=False, **settings)


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"views": 3}, "views 3 is not one of 1, 2, 4"),
        ({"batch": 0}, "batch 0 is not a whole number"),
        ({"backend": "onnx", "precision": "bf16"}, "runs only with backend torch"),
    ],
)
def test_settings_are_checked_at_alpha_one_too(settings, words):
    """alpha 1 returns the frames unchanged without running the network, and accepted any
    setting there (stop 54's review of the speed options)."""
    from motionmag import magnify_frames

    frames = np.zeros((2, 32, 32, 3), np.uint8)
    with pytest.raises(UsageError, match=words):
        magnify_frames(frames, method="ha2024", alpha=1.0, pretrained=False, **settings)
    out = magnify_frames(frames, method="ha2024", alpha=1.0, pretrained=False, batch=4)
    np.testing.assert_array_equal(out, frames)


# --- bf16 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_bf16_keeps_a_subpixel_difference_and_the_manipulator_in_fp32(name, texture):
    model = expressive(create_model(name, pretrained=False))
    still, moved = to_tensor(texture), to_tensor(subpixel_shift(texture, 0.05, 0.0))
    fp32 = Oh2018Method(20.0, model)
    bf16 = Oh2018Method(20.0, model, precision="bf16")
    with torch.inference_mode():
        _, [shape_a] = fp32.encode(still)
        kept_b, [shape_b] = fp32.encode(moved)
        _, [shape_a16] = bf16.encode(still)
        kept_b16, [shape_b16] = bf16.encode(moved)
        difference, difference16 = shape_b - shape_a, shape_b16 - shape_a16
        change = fp32.runner.change(difference, 20.0)
        change16 = bf16.runner.change(difference16, 20.0)
        # what EVALUATION.md 7 warns of: a bf16 encoder rounds M and loses the motion
        with torch.autocast("cpu", dtype=torch.bfloat16):
            naive = model.encode(moved)[1].float() - model.encode(still)[1].float()
    assert difference.abs().max() > 0  # the 0.05 px shift reaches the representation
    assert relative(naive, difference) > 0.1  # so this test can tell the two paths apart
    assert shape_b16.dtype == change16.dtype == torch.float32
    assert relative(difference16, difference) < 1e-6
    assert relative(change16, change) < 1e-6

    with torch.inference_mode():
        out = fp32.decode(kept_b, [difference])
        out16 = bf16.decode(kept_b16, [difference16])
        identity = Oh2018Method(1.0, model).decode(kept_b, [difference])
        identity16 = Oh2018Method(1.0, model, precision="bf16").decode(kept_b16, [difference16])
    assert out16.dtype == torch.float32
    # the decoder runs on a bf16 copy; the caller's network stays fp32
    assert {p.dtype for p in bf16.runner.decoder_model.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert (out16 - out).abs().max() < 0.01  # 2.5 grey levels
    assert (out16 - out).abs().mean() < 0.002
    # the amplified 0.05 px change survives the bf16 decoder (random weights: the change
    # is ~0.5 grey levels here; measured correlation 0.85 oh2018, 0.92 ha2024)
    effect, effect16 = (out - identity).flatten(), (out16 - identity16).flatten()
    assert np.corrcoef(effect.numpy(), effect16.numpy())[0, 1] > 0.7


# --- tiling --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "tile", "size"),
    [
        (lambda: create_model("oh2018", pretrained=False), 32, (90, 94)),
        (lambda: Ha2024Net(decoder_blocks=2), 16, (72, 80)),
    ],
    ids=["oh2018", "ha2024-2blocks"],
)
def test_tiled_output_equals_the_untiled_one(make, tile, size):
    model = expressive(make())
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(3)]
    whole = EulerianMagnifier(Oh2018Method(10.0, model), StaticSelector(0))
    tiled_method = Oh2018Method(10.0, model, tile=tile)
    tiled = EulerianMagnifier(tiled_method, StaticSelector(0))
    # the tiles' crops are smaller than the frame: tiling is really exercised
    assert tile + tiled_method.margins[1] < max(size)
    inputs = [to_tensor(f) for f in frames]
    expected = static_outputs(Oh2018Method(10.0, model), inputs)
    got = static_outputs(tiled_method, inputs)
    assert expected.std() > 0.01  # the default init's output is grey (std ~0.001)
    assert (got - expected).abs().max() < 1e-5
    for frame in frames:  # and through the engine, to uint8
        a, b = whole.push(frame), tiled.push(frame)
        assert len(a) == len(b) == 1
        assert np.abs(a[0].astype(int) - b[0].astype(int)).max() <= 1
    # without the margin the tiles' borders show: the comparison above can fail
    seams = static_outputs(Oh2018Method(10.0, model, tile=tile, tile_margin_px=0), inputs)
    assert (seams - expected).abs().max() > 1e-3


def test_tile_option_reaches_the_method_through_the_config():
    config = MagnifyConfig(
        method="oh2018", alpha=5.0, options={"pretrained": False, "tile": 30, "precision": "bf16"}
    )
    method = build_magnifier(config).method
    assert method.tile == 32 and method.margins == (40, 56)  # aligned to 4 px
    assert method.precision == "bf16"


# --- bench ---------------------------------------------------------------------------------


def test_bench_times_the_reference_plain_and_with_the_speed_option():
    from motionmag.eval.bench import format_table, run_bench

    results = run_bench(
        ["oh2018"],
        sizes=[(32, 32)],
        frames=1,
        runs=1,
        threads=1,
        memory=False,
        options={"precision": "bf16"},
    )
    assert [r.label for r in results] == ["oh2018", "oh2018 [precision=bf16]"]
    assert results[0].x_oh2018 == 1.0 and results[1].x_oh2018 > 0
    assert results[1].gflops_per_frame == pytest.approx(results[0].gflops_per_frame)
    assert results[1].weights == results[0].weights  # installed, or random where none are
    assert "oh2018 [precision=bf16]" in format_table(results)


def test_bf16_on_a_cpu_without_bf16_instructions_warns(monkeypatch):
    from motionmag.magnify import learned

    model = Ha2024Net(decoder_blocks=1).eval()
    monkeypatch.setattr(learned, "cpu_has_bf16", lambda: False)
    with pytest.warns(UserWarning, match="no bfloat16 instructions"):
        Oh2018Method(10.0, model, precision="bf16")
    monkeypatch.setattr(learned, "cpu_has_bf16", lambda: True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Oh2018Method(10.0, model, precision="bf16")
        Oh2018Method(10.0, model)


def test_precision_auto_is_bf16_only_where_the_cpu_computes_it_natively(monkeypatch):
    """precision=auto: bf16 on a CPU with bf16 instructions and the torch backend, fp32 on
    one without (no warning then) and with ONNX Runtime; anything else is refused."""
    from motionmag.magnify import learned

    model = Ha2024Net(decoder_blocks=1).eval()
    monkeypatch.setattr(learned, "cpu_has_bf16", lambda: True)
    assert Oh2018Method(10.0, model, precision="auto").precision == "bf16"
    assert learned.resolve_precision("auto", torch.device("cpu"), "onnx") == "fp32"
    assert learned.resolve_precision("auto", torch.device("cuda"), "torch") == "fp32"
    assert learned.resolve_precision("fp32", torch.device("cpu")) == "fp32"
    monkeypatch.setattr(learned, "cpu_has_bf16", lambda: False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fp32 chosen: no emulated-bf16 warning
        assert Oh2018Method(10.0, model, precision="auto").precision == "fp32"
    with pytest.raises(UsageError, match="'fast': choose one of fp32, bf16, auto"):
        Oh2018Method(10.0, model, precision="fast")
