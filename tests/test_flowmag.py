"""FlowMag (Pan et al. 2023): network, loss, trainer, magnifier, targeted magnification, TTA.

Tiny on purpose (frames <= 64 px, networks of width 4-8, a handful of steps): the
known answers are the loss of Eq. 3 on a sub-pixel translation, the recursion rule for
alpha > 16, the per-pixel factor of an alpha map, and that TTA never touches the file.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from motionmag import magnify_frames
from motionmag.errors import UsageError
from motionmag.magnify.flowmag import FlowMagMagnifier, FlowMagOptions, pass_alphas
from motionmag.models import create_model
from motionmag.models.registry import has_weights
from motionmag.nets.flowmag import FlowMagNet, alpha_embedding
from motionmag.synth.vibration import quantize, subpixel_shift
from motionmag.train.flowmag import (
    FlowMagTrainConfig,
    export_weights,
    flowmag_loss,
    make_flow,
    train_flowmag,
    warmup_loss,
    warp_target,
)
from net_helpers import assert_finite_fp32_grads, expressive


def _texture(size: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.uniform(0, 255, (size, size)), (0, 0), 1.5)
    noise = (noise - noise.min()) / (noise.max() - noise.min()) * 200 + 25
    return np.repeat(noise[..., None], 3, axis=2)


def _clip(shifts_px, size: int = 48) -> np.ndarray:
    photo = _texture(size)
    return np.stack([quantize(subpixel_shift(photo, float(s), 0.0)) for s in shifts_px])


def _tensor(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255


def test_network_takes_any_size_and_has_the_papers_parameter_count():
    net = FlowMagNet(width=4).eval()
    a, b = torch.rand(2, 3, 37, 53), torch.rand(2, 3, 37, 53)
    with torch.no_grad():
        out = net(a, b, torch.tensor([2.0, 7.0]))
    assert out.shape == (2, 3, 37, 53)
    assert float(out.min()) > 0 and float(out.max()) < 1
    paper = sum(p.numel() for p in FlowMagNet(width=64).parameters())
    assert paper == 17_287_683  # App. A2: "17.3M trainable parameters"


def test_residual_head_starts_as_the_identity_and_paper_head_as_grey():
    frame0, frame_t = torch.rand(2, 3, 24, 40), torch.rand(2, 3, 24, 40)
    with torch.no_grad():
        residual = FlowMagNet(width=4, residual=True).eval()(frame0, frame_t, 8.0)
        paper = FlowMagNet(width=4).eval()(frame0, frame_t, 8.0)
    # sigmoid(logit(x)) = x up to the 1e-3 clamp of the logit
    assert torch.allclose(residual, frame_t.clamp(1e-3, 1 - 1e-3), atol=1e-5)
    assert float((paper - frame_t).abs().mean()) > 0.1  # a near-constant image, not I_t


def test_linear_base_starts_as_linear_magnification_of_a_known_shift():
    """Untrained, base="linear" is I_t + (alpha - 1)(I_t - I_0): for a smooth texture
    moved 0.1 px it moves the texture by alpha x 0.1 px (first-order Taylor), here
    measured by Gauss-Newton registration; a per-pixel alpha map of one value gives the
    same."""
    from motionmag.eval.displacement import measure_shift

    frames = _clip([0.0, 0.1], size=64)
    i0, it = _tensor(frames[0]), _tensor(frames[1])
    net = FlowMagNet(width=4, residual=True, base="linear").eval()
    with torch.no_grad():
        out = net(i0, it, 4.0)
        mapped = net(i0, it, torch.full((1, 1, 64, 64), 4.0))
    assert torch.allclose(out, mapped, atol=1e-6)
    dx, dy = measure_shift(frames[0].astype(np.float64), out[0].permute(1, 2, 0).numpy() * 255)
    assert dx == pytest.approx(0.4, abs=0.02) and abs(dy) < 0.01
    with pytest.raises(ValueError, match="needs residual"):
        FlowMagNet(width=4, base="linear")


def test_motion_input_feeds_the_linear_change_and_starts_as_the_identity():
    """motion_input=True (ours) adds (alpha - 1)(I_t - I_0) as three input channels: the
    first conv sees 41 channels, the untrained residual net still returns I_t, and the
    first layer's response to the change channels scales with alpha - 1 (so a change
    proportional to alpha is one linear map away)."""
    net = FlowMagNet(width=4, residual=True, motion_input=True).eval()
    assert net.inc[0].in_channels == 6 + 3 + 32 and net.config["motion_input"]
    assert FlowMagNet(width=4).inc[0].in_channels == 38  # the paper's input
    frame0, frame_t = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        out = net(frame0, frame_t, 9.0)
    assert torch.allclose(out, frame_t.clamp(1e-3, 1 - 1e-3), atol=1e-5)
    seen = []
    net.inc[0].register_forward_hook(lambda module, args, out: seen.append(args[0][:, 6:9]))
    with torch.no_grad():
        net(frame0, frame_t, 3.0)
        net(frame0, frame_t, 5.0)
    change = frame_t - frame0
    assert torch.allclose(seen[0], 2.0 * change, atol=1e-6)
    assert torch.allclose(seen[1], 4.0 * change, atol=1e-6)


def test_motion_input_is_the_trainer_default_and_old_runs_resume_without_it():
    from motionmag.cli import build_parser

    assert FlowMagTrainConfig().motion_input
    old = FlowMagTrainConfig().to_dict()
    del old["motion_input"]  # a run saved before the option
    assert not FlowMagTrainConfig.from_dict(old).motion_input
    args = build_parser().parse_args(["train", "flowmag", "--no-motion-input"])
    assert args.no_motion_input


def test_warp_target_moves_the_frame_by_alpha_times_its_motion():
    frames = _clip([0.0, 0.4, 1.2], size=64)  # true output of alpha 3: 1.2 px
    i0, it = _tensor(frames[0]), _tensor(frames[1])
    with torch.no_grad():
        target = warp_target(it, make_flow()(i0, it), torch.tensor([3.0]))
    grey = target[0].mean(0).numpy()[8:-8, 8:-8].astype(np.float64)
    reference = frames[0].mean(-1)[8:-8, 8:-8].astype(np.float64)
    (dx, dy), _ = cv2.phaseCorrelate(reference, grey)
    assert dx == pytest.approx(1.2, abs=0.1) and abs(dy) < 0.1
    truth = _tensor(frames[2])[..., 8:-8, 8:-8]
    err = float((target[..., 8:-8, 8:-8] - truth).abs().mean())
    assert err < 0.3 * float((it[..., 8:-8, 8:-8] - truth).abs().mean())


def test_warmup_loss_is_zero_for_a_generator_that_returns_the_warp_target():
    frames = _clip([0.0, 0.5])
    i0, it = _tensor(frames[0]), _tensor(frames[1])
    flow, alpha = make_flow(), torch.tensor([3.0])

    class Oracle(torch.nn.Module):
        def forward(self, frame0, frame_t, alpha):
            return warp_target(frame_t, flow(frame0, frame_t), alpha)

    oracle, parts = warmup_loss(Oracle(), flow, i0, it, alpha)
    _, identity = warmup_loss(FlowMagNet(width=4, residual=True).eval(), flow, i0, it, alpha)
    assert float(oracle) < 1e-6 and identity["warp"] > 0.005
    assert parts["mag"] < 0.5 * identity["mag"]  # imitating it also lowers Eq. 3's L_mag


def test_alpha_map_of_one_value_embeds_like_the_scalar():
    alphas = torch.tensor([1.0, 3.5, 16.0])
    maps = alphas.view(3, 1, 1, 1).expand(3, 1, 4, 5)
    assert torch.allclose(alpha_embedding(maps)[..., 2, 3], alpha_embedding(alphas), atol=1e-6)
    net = FlowMagNet(width=4).eval()
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        scalar = net(a, b, 5.0)
        tiled = net(a, b, torch.full((1, 1, 32, 32), 5.0))
    assert torch.allclose(scalar, tiled, atol=1e-6)


def test_pass_alphas_recursion_rule():
    assert pass_alphas(10.0) == [10.0]
    assert pass_alphas(16.0) == [16.0]  # the authors' code raises here
    assert pass_alphas(100.0) == pytest.approx([10.0, 10.0])
    assert pass_alphas(256.0) == pytest.approx([16.0, 16.0])  # ... and here
    assert pass_alphas(1000.0) == pytest.approx([10.0] * 3)
    assert pass_alphas(0.5) == [0.5]


class _Shift(torch.nn.Module):
    """A stand-in generator that moves frame t by a fixed number of px to the right."""

    def __init__(self, dx_px: float) -> None:
        super().__init__()
        self.dx_px = dx_px

    def forward(self, frame0, frame_t, alpha):
        image = frame_t[0].permute(1, 2, 0).numpy() * 255
        moved = subpixel_shift(image.astype(np.float64), self.dx_px, 0.0) / 255
        return torch.from_numpy(moved).float().permute(2, 0, 1)[None]


def test_loss_of_eq3_is_small_for_the_right_magnification_only():
    frames = _clip([0.0, 0.5])
    i0, it = _tensor(frames[0]), _tensor(frames[1])
    flow = make_flow()
    alpha = torch.tensor([3.0])
    right, parts_right = flowmag_loss(_Shift(1.0), flow, i0, it, alpha)  # 0.5 -> 1.5 px
    wrong, parts_wrong = flowmag_loss(_Shift(0.0), flow, i0, it, alpha)  # stays at 0.5 px
    assert parts_right["mag"] < 0.35 * parts_wrong["mag"]
    # |3 * 0.5 - 0.5| = 1 px in x, 0 in y: the mean over both flow components is 0.5 px
    assert parts_wrong["mag"] == pytest.approx(0.5, abs=0.15)
    assert math.isfinite(float(right)) and float(right) < float(wrong)


def test_tiny_training_run_resumes_and_exports(tmp_path):
    config = FlowMagTrainConfig(size_px=32, batch=2, steps=4, width=8, dataset_size=20,
                                checkpoint_every=2, log_every=2, validate_every=2,
                                val_samples=2)  # fmt: skip
    first = train_flowmag(config, tmp_path / "run", progress=False)
    assert first.step == 4 and all(math.isfinite(x) for x in first.losses)
    config.steps = 6
    second = train_flowmag(config, tmp_path / "run", resume=True, progress=False)
    assert second.step == 6 and second.session_steps == 2
    card = export_weights(tmp_path / "run", tmp_path / "flowmag.safetensors")
    assert card["network"]["config"]["width"] == 8
    net = create_model("flowmag", weights=tmp_path / "flowmag.safetensors")
    assert isinstance(net, FlowMagNet) and net.width == 8 and net.residual  # the card's head
    with torch.no_grad():
        assert net(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), 4.0).isfinite().all()


def test_init_from_exported_weights_continues_their_count(tmp_path, capsys):
    """A fresh machine continues from shipped weights: same weights, step and data position."""
    config = FlowMagTrainConfig(size_px=32, batch=2, steps=2, width=8, dataset_size=20,
                                checkpoint_every=1, validate_every=0)  # fmt: skip
    train_flowmag(config, tmp_path / "first", progress=False, command="x")
    weights = tmp_path / "flowmag.safetensors"
    export_weights(tmp_path / "first", weights, which="last")
    exported = torch.load(tmp_path / "first" / "checkpoint.pt", weights_only=False)["model"]
    config.steps = 3
    result = train_flowmag(
        config, tmp_path / "second", progress=False, command="y", init_from=weights
    )
    assert (result.step, result.samples_seen) == (3, 6)  # 2 steps from the card + 1 here
    state = torch.load(tmp_path / "second" / "checkpoint.pt", weights_only=False)
    assert [s.get("command") for s in state["sessions"]] == ["x", None, "y"]
    assert any(not torch.equal(exported[k], state["model"][k]) for k in exported)
    config.width = 16
    with pytest.raises(UsageError, match="match --width"):
        train_flowmag(config, tmp_path / "third", progress=False, init_from=weights)
    assert not (tmp_path / "third").exists()  # a refused start leaves no run folder
    config.width, config.steps = 8, 1  # weights at step 2, --steps 1: say so, train nothing
    done = train_flowmag(config, tmp_path / "fourth", progress=False, init_from=weights)
    assert done.step == 2 and "nothing to train" in capsys.readouterr().err


def test_magnify_frames_odd_size_both_modes():
    frames = _clip([0.0, 0.3, 0.6], size=48)[:, :33, :47]
    static = magnify_frames(frames, method="flowmag", alpha=4, mode="static", pretrained=False)
    assert static.shape == frames.shape and static.dtype == np.uint8
    assert np.array_equal(static[0], frames[0])  # the reference: zero motion
    dynamic = magnify_frames(frames, method="flowmag", alpha=4, mode="dynamic", pretrained=False)
    assert dynamic.shape == frames.shape and np.array_equal(dynamic[0], frames[0])
    same = magnify_frames(frames, method="flowmag", alpha=1, pretrained=False)
    assert np.array_equal(same, frames)  # alpha = 1 is the identity


class _Counting(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = FlowMagNet(width=4)
        self.factors: list = []

    def forward(self, frame0, frame_t, alpha):
        self.factors.append(alpha)
        return self.net(frame0, frame_t, alpha)


@pytest.mark.parametrize(("alpha", "passes"), [(10.0, 1), (16.0, 1), (100.0, 2), (300.0, 3)])
def test_large_alpha_goes_through_recursive_passes(alpha, passes):
    model = _Counting()
    magnifier = FlowMagMagnifier(alpha, model, mode="static")
    for frame in _clip([0.0, 0.2, 0.4], size=32):
        magnifier.push(frame)
    assert len(model.factors) == 2 * passes  # two non-reference frames
    assert model.factors[0] == pytest.approx(alpha ** (1 / passes))
    # more than one pass is said (the shipped weights' clean range is then under 0.125 px)
    said = " ".join(magnifier.notes)
    assert (f"runs {passes} passes of x" in said) == (passes > 1), said
    shipped = FlowMagMagnifier(alpha, model, options=FlowMagOptions()).notes
    assert any("shipped weights keep a clean shift" in n for n in shipped) == (passes > 1)
    own = FlowMagMagnifier(alpha, model, options=FlowMagOptions(weights="mine.safetensors"))
    assert not any("shipped" in n for n in own.notes)


def test_alpha_map_gives_alpha_inside_and_one_outside(tmp_path):
    mask = np.zeros((32, 32), np.uint8)
    mask[:, 16:] = 255
    cv2.imwrite(str(tmp_path / "map.png"), mask)
    model = _Counting()
    options = FlowMagOptions(alpha_map=str(tmp_path / "map.png"))
    magnifier = FlowMagMagnifier(100.0, model, options=options)
    for frame in _clip([0.0, 0.2], size=32):
        magnifier.push(frame)
    first, second = model.factors  # two passes of sqrt(per-pixel alpha)
    assert first.shape == (1, 1, 32, 32) and first is second
    assert torch.allclose(first[..., 20:], torch.tensor(10.0))
    assert torch.allclose(first[..., :12], torch.tensor(1.0))
    np.save(tmp_path / "map.npy", (mask / 255.0).astype(np.float32)[::2, ::2])  # resized
    magnifier = FlowMagMagnifier(
        4.0, model, options=FlowMagOptions(alpha_map=str(tmp_path / "map.npy"))
    )
    model.factors.clear()
    for frame in _clip([0.0, 0.2], size=32):
        magnifier.push(frame)
    assert torch.allclose(model.factors[0][..., 24:], torch.tensor(4.0))
    assert torch.allclose(model.factors[0][..., :8], torch.tensor(1.0))


def test_a_map_file_that_holds_no_weights_is_one_sentence(tmp_path):
    """A text file named .npy, an object array and an empty array raised NumPy's own
    errors (tracebacks); tta_batch 0 divided by zero after the whole clip was read; a
    TTA run had no whole-clip memory figure, so a long clip read on until it was killed."""
    from motionmag.magnify.flowmag import load_alpha_map

    (tmp_path / "text.npy").write_text("not an array")
    np.save(tmp_path / "object.npy", np.array([{"a": 1}], dtype=object))
    np.save(tmp_path / "empty.npy", np.zeros((0, 0), np.float32))
    np.save(tmp_path / "complex.npy", np.ones((4, 4), np.complex64))
    cases = {"text": "is not a NumPy array file", "object": "is not a NumPy",
             "empty": "must be a finite 2-D array", "complex": "complex64 values"}  # fmt: skip
    for name, words in cases.items():
        with pytest.raises(UsageError, match=words):
            load_alpha_map(tmp_path / f"{name}.npy", 32, 32)
    with pytest.raises(UsageError, match="tta_batch must be at least 1, not 0"):
        FlowMagMagnifier(4.0, _Counting(), options=FlowMagOptions(tta_epochs=1, tta_batch=0))
    tta = FlowMagMagnifier(4.0, _Counting(), options=FlowMagOptions(tta_epochs=1))
    assert tta.whole_clip and tta.clip_bytes_per_pixel > 0
    assert FlowMagMagnifier(4.0, _Counting()).clip_bytes_per_pixel == 0  # streams


def test_an_alpha_map_with_no_weight_returns_the_input_exactly(tmp_path):
    cv2.imwrite(str(tmp_path / "black.png"), np.zeros((32, 32), np.uint8))
    model = _Counting()
    options = FlowMagOptions(alpha_map=str(tmp_path / "black.png"))
    magnifier = FlowMagMagnifier(10.0, model, options=options)
    frames = _clip([0.0, 0.2, 0.4], size=32)
    with pytest.warns(UserWarning, match="black everywhere: nothing is magnified"):
        out = [o for frame in frames for o in magnifier.push(frame)] + magnifier.flush()
    assert model.factors == []  # the network is never asked for the identity
    assert all(np.array_equal(a, b) for a, b in zip(out, frames, strict=True))


@pytest.mark.parametrize("alpha", [0.5, 4.0])
def test_pixels_of_weight_zero_come_back_exactly(tmp_path, alpha):
    """Where the map is black the network's near-identity was kept: with the shipped
    weights, dithered at alpha < 1, about 0.7 % of those pixels moved a level. An
    untrained net (far from the identity) shows it: those pixels are now the input's."""
    mask = np.zeros((32, 32), np.uint8)
    mask[:, 16:] = 255
    cv2.imwrite(str(tmp_path / "map.png"), mask)
    torch.manual_seed(0)
    options = FlowMagOptions(alpha_map=str(tmp_path / "map.png"))
    magnifier = FlowMagMagnifier(alpha, FlowMagNet(width=4), options=options)
    frames = _clip([0.0, 0.2, 0.4], size=32)
    out = [o for frame in frames for o in magnifier.push(frame)] + magnifier.flush()
    assert all(np.array_equal(a[:, :16], b[:, :16]) for a, b in zip(out, frames, strict=True))
    assert np.abs(out[1][:, 16:].astype(int) - frames[1][:, 16:]).max() > 5  # can fail


def test_an_alpha_map_of_the_whole_frame_is_cut_by_the_crop_as_a_mask_is(tmp_path, monkeypatch):
    """A map drawn on the source frame (left half white) and --crop 32 0 64 48 of a
    128 x 48 frame: the crop's left half is white (it was squeezed into the crop)."""
    from motionmag.magnify.flowmag import load_alpha_map
    from motionmag.magnify.geometry import FrameGeometry

    source = np.zeros((48, 128), np.uint8)
    source[:, :64] = 255
    cv2.imwrite(str(tmp_path / "map.png"), source)
    np.save(tmp_path / "map.npy", source / 255.0)
    geometry = FrameGeometry.from_arguments(128, 48, crop=(32, 0, 64, 48))
    for name in ("map.png", "map.npy"):
        weights = load_alpha_map(tmp_path / name, 64, 48, geometry)
        assert weights.shape == (48, 64)
        assert weights[:, :32].min() == 1.0 and weights[:, 32:].max() == 0.0
    # through the engine: the magnifier gets the geometry of the frames it is given
    frames = np.stack(_clip([0.0, 0.3, 0.6], size=48))
    clip = tmp_path / "clip"
    clip.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(clip / f"f{i}.png"), np.concatenate([frame, frame, frame], axis=1)[:, :128])
    import motionmag as mm
    from motionmag.magnify import flowmag

    model = _Counting()
    monkeypatch.setattr(flowmag, "load_flowmag", lambda options, device: model)
    mm.magnify(clip, tmp_path / "out.mkv", method="flowmag", alpha=9.0, crop=(32, 0, 64, 48),
               alpha_map=str(tmp_path / "map.png"), quiet=True)  # fmt: skip
    factor = model.factors[0]
    assert factor.shape == (1, 1, 48, 64)
    assert torch.allclose(factor[..., :32], torch.tensor(9.0))
    assert torch.allclose(factor[..., 32:], torch.tensor(1.0))


def test_tta_adapts_a_copy_and_never_writes_the_weights(tmp_path):
    from safetensors.torch import save_file

    net = FlowMagNet(width=4)
    path = tmp_path / "flowmag.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    (tmp_path / "flowmag.json").write_text('{"network": {"config": {"width": 4}}}')
    before = path.read_bytes()
    frames = _clip([0.0, 0.3, 0.6, 0.9], size=32)
    options = FlowMagOptions(weights=str(path), tta_epochs=1, tta_batch=2, tta_progress=False)
    from motionmag.magnify.flowmag import load_flowmag

    shipped = load_flowmag(options)
    magnifier = FlowMagMagnifier(4.0, shipped, options=options)
    assert all(magnifier.push(f) == [] for f in frames)  # TTA holds the clip
    out = magnifier.flush()
    assert len(out) == 4 and np.array_equal(out[0], frames[0])
    assert len(magnifier.tta_losses) == 2 and all(math.isfinite(x) for x in magnifier.tta_losses)
    assert path.read_bytes() == before
    reference = create_model("flowmag", weights=path).state_dict()
    adapted = magnifier.model.state_dict()
    assert magnifier.model is not shipped
    assert any(not torch.equal(adapted[k], reference[k]) for k in reference)
    assert all(torch.equal(v, reference[k]) for k, v in shipped.state_dict().items())


def test_tta_with_either_loss_lowers_that_loss_on_the_clip():
    """adapt() fine-tunes with the paper's loss or with the warp-imitation loss (the
    shipped weights' training loss); a bad name is refused in one sentence."""
    from motionmag.errors import UsageError
    from motionmag.train.flowmag import adapt

    frames = _clip([0.0, 0.4, 0.8, 1.2, 1.6], size=32)
    pairs = [(frames[0], f) for f in frames[1:]]
    torch.manual_seed(0)
    net = FlowMagNet(width=4, residual=True, base="linear", motion_input=True).eval()
    for loss in ("paper", "warp"):
        # an untrained net has no training statistics to keep: its BatchNorm adapts too
        _, losses = adapt(net, pairs, epochs=12, lr=3e-3, batch=4, size_px=32,
                          alpha_range=(4.0, 4.0), progress=False, loss=loss,
                          freeze_norm=False)  # fmt: skip
        assert np.mean(losses[-3:]) < np.mean(losses[:3]), (loss, losses)
    with pytest.raises(UsageError, match="unknown tta_loss 'l2'"):
        adapt(net, pairs, epochs=1, progress=False, loss="l2")
    with pytest.raises(UsageError, match="unknown tta_loss"):
        FlowMagMagnifier(4.0, net, options=FlowMagOptions(tta_loss="l2"))


def test_tta_keeps_the_training_norm_statistics_unless_told_not_to():
    """With freeze_norm (the magnifier's default) the BatchNorm running statistics of
    the adapted copy are training's; without it they move toward the clip's."""
    from motionmag.train.flowmag import adapt

    frames = _clip([0.0, 0.4, 0.8], size=32)
    pairs = [(frames[0], f) for f in frames[1:]]
    net = FlowMagNet(width=4, residual=True, base="linear", motion_input=True).eval()
    stats = [k for k in net.state_dict() if k.endswith(("running_mean", "running_var"))]
    assert stats
    for freeze in (True, False):
        adapted, _ = adapt(net, pairs, epochs=1, lr=1e-3, batch=2, size_px=32,
                           progress=False, loss="warp", freeze_norm=freeze)  # fmt: skip
        kept = [torch.equal(adapted.state_dict()[k], net.state_dict()[k]) for k in stats]
        assert all(kept) if freeze else not any(kept)
    assert FlowMagOptions().tta_freeze_norm


def test_cli_has_train_flowmag_and_tta_flag():
    from motionmag.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["train", "flowmag", "--steps", "3", "--width", "8"])
    assert args.steps == 3 and args.width == 8
    args = parser.parse_args(["magnify", "in.mp4", "-o", "out.mp4", "--tta", "2"])
    assert args.tta == 2


def test_tta_settings_follow_quiet_and_set_and_bad_epochs_name_the_flag(capsys):
    from motionmag.cli import _method_settings, build_parser, main

    parser = build_parser()

    def settings(*flags: str) -> dict:
        return _method_settings(parser.parse_args(["magnify", "a.mp4", "-o", "b.mp4", *flags]))

    assert settings("--method", "flowmag", "--tta", "2", "--quiet") == {
        "tta_epochs": 2, "tta_progress": False}  # fmt: skip
    # epochs given by --set are as quiet (the bar showed under --quiet)
    assert settings("--method", "flowmag", "--set", "tta_epochs=2", "--quiet") == {
        "tta_epochs": 2, "tta_progress": False}  # fmt: skip
    assert settings("--method", "flowmag", "--tta", "1") == {"tta_epochs": 1}
    assert settings("--method", "linear", "--quiet") == {}
    assert main(["magnify", "a.mp4", "-o", "b.mp4", "--method", "flowmag", "--tta", "-1"]) == 2
    assert "argument --tta: -1 epochs: give 0 or more" in capsys.readouterr().err


def test_tta_at_alpha_one_skips_the_adaptation():
    net = FlowMagNet(width=4)
    magnifier = FlowMagMagnifier(1.0, net, options=FlowMagOptions(tta_epochs=3, tta_progress=False))
    frames = _clip([0.0, 0.4, 0.8], size=32)
    out = [o for f in frames for o in magnifier.push(f)] + magnifier.flush()
    assert magnifier.tta_losses == [] and magnifier.model is net
    assert all(np.array_equal(a, b) for a, b in zip(out, frames, strict=True))


def test_bf16_training_runs_the_generator_in_bf16_and_the_flow_and_loss_in_fp32():
    """precision="bf16" (ours): the U-Net's activations are bfloat16, its output and the
    frozen flow's input fp32, the loss is fp32's to bf16 rounding, and every weight gets a
    finite fp32 gradient."""
    frames = _clip([0.0, 0.5], size=32)
    i0, it = _tensor(frames[0]), _tensor(frames[1])
    flow = make_flow()
    torch.manual_seed(0)
    net = FlowMagNet(width=4, residual=True)
    expressive(net, seed=0).train()  # the residual head starts at zero: give it something to round
    seen = []
    first_conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    first_conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    alpha = torch.tensor([4.0])
    loss32, _ = flowmag_loss(net, flow, i0, it, alpha)
    loss16, _ = flowmag_loss(net, flow, i0, it, alpha, precision="bf16")
    assert seen == [torch.float32, torch.bfloat16]
    assert loss16.dtype == torch.float32
    assert loss16.item() == pytest.approx(loss32.item(), rel=0.03)
    assert loss16.item() != loss32.item()  # it did run in lower precision
    loss16.backward()
    assert_finite_fp32_grads(net)
    warm16, _ = warmup_loss(net, flow, i0, it, alpha, precision="bf16")
    assert warm16.dtype == torch.float32 and math.isfinite(warm16.item())


def test_flowmag_precision_flag_reaches_the_run_config(tmp_path):
    import json

    from motionmag.cli import build_parser
    from motionmag.errors import UsageError

    run = tmp_path / "run"
    args = build_parser().parse_args(
        ["train", "flowmag", "--size", "32", "--batch", "2", "--steps", "2", "--width", "4",
         "--dataset-size", "4", "--validate-every", "0", "--run", str(run), "--quiet",
         "--precision", "bf16"]
    )  # fmt: skip
    assert args.run(args) == 0
    assert json.loads((run / "config.json").read_text())["precision"] == "bf16"
    with pytest.raises(UsageError, match="unknown precision 'fp16'"):
        FlowMagTrainConfig(precision="fp16").validate()


def _pairs(target: str, alpha_range=(1.0, 16.0), jitter: float = 0.4):
    from motionmag.train.flowmag import FlowMagPairs

    config = FlowMagTrainConfig(size_px=64, target=target, alpha_range=alpha_range,
                                jitter=jitter, hue=0.0 if jitter == 0 else 0.1)  # fmt: skip
    return FlowMagPairs(8, config, seed=3)


def test_truth_control_at_alpha_one_targets_frame_t():
    # Y at alpha 1 is frame B itself, up to its own dithering noise (< 1 grey level,
    # at most 1.4x after the colour jitter's contrast)
    item = _pairs("truth", alpha_range=(1.0, 1.0))[5]
    assert float(item["alpha"]) == 1.0
    diff = (item["target"] - item["frame_t"]).abs()
    assert float(diff.mean()) < 0.5 / 255 and float(diff.max()) < 2.5 / 255


def test_truth_control_keeps_the_flow_modes_pair():
    flow_item, truth_item = _pairs("flow")[2], _pairs("truth")[2]
    assert 1.0 <= float(truth_item["alpha"]) <= 16.0
    for key in ("frame0", "frame_t"):  # same sample, same augmentation (A re-rendered:
        diff = (flow_item[key] - truth_item[key]).abs()  # a few pixels round the other way)
        assert float(diff.mean()) < 1e-5 and float(diff.max()) <= 1 / 255


def test_truth_control_target_moves_alpha_times_as_far():
    # DIS (not the training flow) from frame 0 to the target against frame 0 to frame t,
    # median over the pixels that moved, over four samples at alpha 4
    from motionmag.flow.opencv import estimate_flow

    def to_u8(t):
        return (t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)

    def speed(a, b):
        return np.hypot(*np.moveaxis(estimate_flow(to_u8(a), to_u8(b), "dis"), -1, 0))

    pairs = _pairs("truth", alpha_range=(4.0, 4.0), jitter=0.0)
    ratios = []
    for i in range(4):
        item = pairs[i]
        moved = speed(item["frame0"], item["frame_t"])
        where = moved > 0.2
        if where.mean() > 0.05:
            target = speed(item["frame0"], item["target"])
            ratios.append(np.median(target[where]) / np.median(moved[where]))
    assert len(ratios) >= 2
    assert 3.0 < float(np.median(ratios)) < 5.0, ratios


def test_truth_control_trains_and_its_card_says_so(tmp_path):
    import csv

    from motionmag.errors import UsageError

    config = FlowMagTrainConfig(size_px=32, batch=2, steps=2, width=4, dataset_size=8,
                                validate_every=2, val_samples=2, target="truth")  # fmt: skip
    result = train_flowmag(config, tmp_path / "run", progress=False)
    assert result.step == 2 and all(math.isfinite(x) and x > 0 for x in result.losses)
    with (tmp_path / "run" / "validation.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert 0 < float(rows[-1]["truth_l1"]) < 1  # validation measures the L1 to the truth
    card = export_weights(tmp_path / "run", tmp_path / "w.safetensors", which="last")
    assert "control" in card["data"]["source"]
    with pytest.raises(UsageError, match="--target truth needs the synthetic pairs"):
        FlowMagTrainConfig(target="truth", videos="somewhere").validate()
    with pytest.raises(UsageError, match="--target must be one of"):
        FlowMagTrainConfig(target="labels").validate()


def test_validation_l1_to_the_truth_is_zero_for_a_generator_that_returns_it():
    from motionmag.train.flowmag import _validation_batches, evaluate

    config = FlowMagTrainConfig(size_px=32, batch=2, val_samples=4)
    batches = _validation_batches(config, None)

    class Oracle(torch.nn.Module):
        def forward(self, frame0, frame_t, alpha):
            for batch in batches:
                if torch.equal(batch["frame_t"], frame_t):
                    return batch["target"]
            raise AssertionError("not a validation batch")

    identity = FlowMagNet(width=4, residual=True, base="frame")
    truth = evaluate(Oracle(), make_flow(), batches, "cpu", 10.0)["truth_l1"]
    frame = evaluate(identity, make_flow(), batches, "cpu", 10.0)["truth_l1"]
    assert truth == 0.0 and frame > 0.005


@pytest.mark.skipif(not has_weights("flowmag"), reason="no flowmag weights installed here")
def test_shipped_weights_beat_their_untrained_start_on_a_flow_they_never_saw(tmp_path):
    """The shipped net against its own start (the untrained linear base, same
    architecture): on the real-video suite's built-in clip (a real photo under a known
    smooth motion; OpenCV DIS, which training never used) its motion error at alpha 4
    is lower, and a held-out photo moved 0.3 px comes out moved about alpha x as far."""
    import json

    from safetensors.torch import save_file

    from motionmag.eval.realvideo import run_real_video
    from motionmag.eval.runner import MethodUnderTest
    from test_learned_weights import _clip as photo_clip
    from test_learned_weights import _gain

    def error(options):
        suite = run_real_video(MethodUnderTest("flowmag", options=options), progress=False,
                               alphas=(4.0,))  # fmt: skip
        return suite.levels[0].values["motion_error"]

    untrained = FlowMagNet(width=16, residual=True, base="linear", motion_input=True)
    path = tmp_path / "start.safetensors"
    save_file({k: v.contiguous() for k, v in untrained.state_dict().items()}, str(path))
    (tmp_path / "start.json").write_text(json.dumps({"network": {"config": untrained.config}}))
    start, shipped = error({"weights": str(path)}), error({})
    assert shipped < 0.9 * start, (shipped, start)  # measured 0.420 against 0.511
    out = magnify_frames(photo_clip(0.3), fps=30.0, method="flowmag", alpha=10.0, mode="static")
    assert 5.0 < _gain(out, slice(1, None)) < 15.0  # measured 8.3


def test_video_pairs_hold_out_a_tenth_for_validation_and_the_card_names_the_data(
    tmp_path, monkeypatch
):
    """Validation scored the training video pairs (only the augmentation seed differed),
    and a --no-synthetic run's card said it trained on synthetic pairs."""
    from motionmag.train import flowmag as trainer

    rng = np.random.default_rng(0)
    pairs = [rng.integers(0, 255, (2, 40, 40, 3), dtype=np.uint8) for _ in range(20)]
    train_pairs, val_pairs = trainer.held_out_pairs(pairs)
    assert len(train_pairs) == 18 and len(val_pairs) == 2
    assert all(a is b for a, b in zip(val_pairs, pairs[-2:], strict=True))
    assert trainer.held_out_pairs(pairs[:1]) == (pairs[:1], pairs[:1])  # nothing to spare
    stats = {"videos": 1, "raw_pairs": 20, "kept_pairs": 20, "stride": 1, "max_side_px": 512}
    monkeypatch.setattr(trainer, "load_video_pairs", lambda *a, **k: (pairs, dict(stats)))
    seen = {}
    real = trainer._validation_batches

    def spy(config, video_pairs):
        seen["val"] = video_pairs
        return real(config, video_pairs)

    monkeypatch.setattr(trainer, "_validation_batches", spy)
    config = FlowMagTrainConfig(size_px=32, batch=2, steps=2, width=8, dataset_size=8,
                                validate_every=2, val_samples=2, videos=str(tmp_path),
                                synthetic=False)  # fmt: skip
    train_flowmag(config, tmp_path / "run", progress=False)
    assert [id(p) for p in seen["val"]] == [id(p) for p in pairs[-2:]]
    card = export_weights(tmp_path / "run", tmp_path / "v.safetensors")
    assert card["data"]["source"] == "video pairs"
    assert card["data"]["videos"]["held_out_pairs"] == 2


def test_a_npy_alpha_map_outside_zero_to_one_is_refused(tmp_path):
    """A 0-255 .npy map was clipped to [0, 1] silently: its soft edge became hard and its
    region grew."""
    from motionmag.errors import UsageError
    from motionmag.magnify.flowmag import load_alpha_map

    weights = np.zeros((12, 16), np.float32)
    weights[:, :8] = 255.0
    np.save(tmp_path / "map255.npy", weights)
    with pytest.raises(UsageError, match=r"holds values from 0 to 255: give weights in \[0, 1\]"):
        load_alpha_map(tmp_path / "map255.npy", 16, 12)
    np.save(tmp_path / "map.npy", weights / 255.0)
    assert load_alpha_map(tmp_path / "map.npy", 16, 12).max() == 1.0
