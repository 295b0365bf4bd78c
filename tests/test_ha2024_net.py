"""Ha et al. (2024) network, its training recipe, registry and engine integration.

Known answers that need no trained weights: the size of the network (parameters and
FLOPs: 1/4-resolution latent, linear one-layer encoder, against Oh2018Net and the paper's
4.2x), the encoder's linearity and its 4i + 1.5 alignment, the manipulator's algebra
(alpha = 1 is the reconstruction), the gradient loss's known values, a tiny training run
that lowers the loss and exports weights ``create_model('ha2024')`` loads bit-exactly, an
oh2018 run left byte-compatible, and the engine reducing to the network's
reconstruction at alpha = 1.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from motionmag import magnify_frames
from motionmag.errors import InputError, UsageError
from motionmag.magnify.base import EulerianMagnifier, frame_to_tensor
from motionmag.magnify.learned import Oh2018Method
from motionmag.magnify.registry import get_method
from motionmag.models import create_model, get_model_spec, has_weights
from motionmag.nets.ha2024 import Ha2024Net
from motionmag.nets.oh2018 import pad_to_multiple
from motionmag.temporal import StaticSelector
from motionmag.train import oh2018 as trainer
from motionmag.train.losses import gradient_l1, ha2024_loss
from motionmag.train.oh2018 import (
    Ha2024TrainConfig,
    Oh2018TrainConfig,
    export_weights,
    train_model,
)
from net_helpers import assert_finite_fp32_grads

#: Oh2018Net's count at 384x384 (tests/test_oh2018_net.py::test_size_matches_methods_md)
OH2018_GFLOPS = 79.52


def _net(he_init: bool = False, **kwargs) -> Ha2024Net:
    """A random network; ``he_init`` gives it weights whose signals survive the depth
    (the std-0.02 training init decodes every frame to near grey, which would make the
    engine test pass trivially)."""
    torch.manual_seed(0)
    net = Ha2024Net(**kwargs)
    if he_init:
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                module.weight.data.mul_(0.5)
    return net.eval()


def _gflops(net: torch.nn.Module, size: int = 384) -> float:
    meta = net.to("meta")
    frame = torch.empty(1, 3, size, size, device="meta")
    with FlopCounterMode(display=False) as counter:
        meta(frame, frame, 10.0)
    return counter.get_total_flops() / 1e9


def _tiny(**kwargs) -> Ha2024TrainConfig:
    settings = dict(
        size_px=32,
        steps=4,
        workers=0,
        validate_every=0,
        checkpoint_every=2,
        log_every=1,
        dataset_size=50,
        decoder_blocks=4,
    )
    settings.update(kwargs)
    return Ha2024TrainConfig(**settings)


# ----------------------------------------------------------------------------- network


@pytest.mark.parametrize("size", [(33, 47), (17, 10), (64, 96), (5, 7)])
def test_forward_keeps_any_frame_size(size):
    net = _net(decoder_blocks=2)
    a = torch.rand(2, 3, *size)
    with torch.inference_mode():
        out = net(a, a.flip(-1), torch.tensor([3.0, 20.0]))
    assert out.shape == a.shape
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_latent_is_one_linear_layer_at_quarter_resolution():
    net = _net(decoder_blocks=2)
    convs = [m for m in net.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 and convs[0].stride == (4, 4) and convs[0].bias is None
    x, y = torch.rand(2, 1, 3, 64, 96).unbind(0)
    with torch.inference_mode():
        texture, shape = net.encode(x)
        assert texture.shape == (1, 16, 16, 24) and shape.shape == (1, 16, 16, 24)
        # linear in the [-1, 1] frame: L(x) + L(y) = 2 L((x + y) / 2)
        lx, ly, lm = net.latent(x), net.latent(y), net.latent((x + y) / 2)
        assert torch.allclose(lx + ly, 2 * lm, atol=1e-5)
        assert not torch.allclose(lx, ly)
        assert net.decode(texture, shape).shape == (1, 3, 64, 96)
        with pytest.raises(ValueError, match="multiple of 4"):
            net.encode(torch.rand(1, 3, 30, 32))
        with pytest.raises(ValueError, match="same"):
            net.decode(texture, shape[..., :8, :])


def test_encoder_window_is_centred_on_the_decoders_4x4_block():
    """Window i covers input px 4i-2 .. 4i+5 (centre 4i + 1.5), per axis."""
    net = _net(decoder_blocks=0)
    torch.nn.init.ones_(net.encoder[1].weight)
    for p in (9, 10, 13, 14):
        frame = torch.full((1, 3, 32, 32), 0.5)  # 0 after the [-1, 1] map
        frame[..., p, 16] = 1.0
        with torch.inference_mode():
            response = net.latent(frame)[0, 0]
        rows = torch.nonzero(response.abs().sum(dim=1) > 0).flatten().tolist()
        assert rows == [i for i in range(8) if 4 * i - 2 <= p <= 4 * i + 5], p


def test_size_and_flops_follow_fig_11():
    """707,632 parameters, 14.70 GFLOPs (2 x multiply-add) per 384x384 pair: 5.4x fewer
    than Oh2018Net (the paper: 4.2x), between the issue's ~10 and the paper's 19.7."""
    net = Ha2024Net()
    assert sum(p.numel() for p in net.parameters()) == 707_632
    gflops = _gflops(net)
    assert gflops == pytest.approx(14.70, abs=0.01)
    assert 8.0 < gflops < 19.7
    assert OH2018_GFLOPS / gflops > 4.2
    # each 1/4-resolution ResBlock(32) is 2 x 32 x 32 x 9 x 96^2 x 2 FLOPs
    per_block = 2 * 32 * 32 * 9 * 96 * 96 * 2 / 1e9
    assert _gflops(Ha2024Net(decoder_blocks=24)) == pytest.approx(gflops - 12 * per_block, abs=1e-3)


def test_alpha_one_is_the_reconstruction():
    """alpha = 1: h((1 - 1) g(.)) = h(0) = 0 (bias-free), so the output is decode(encode(b))."""
    net = _net(decoder_blocks=2)
    a, b = torch.rand(1, 3, 32, 40), torch.rand(1, 3, 32, 40)
    with torch.inference_mode():
        texture, shape = net.encode(torch.cat([a, b]))
        assert torch.equal(net.manipulate(shape[:1], shape[1:], 1.0), shape[1:])
        reconstruction = net.decode(texture[1:], shape[1:])
        assert torch.equal(net(a, b, 1.0), reconstruction)
        assert not torch.equal(net(a, b, 20.0), reconstruction)
        # only the shape channels are manipulated: the texture of b reaches the decoder
        change = net.amplify(shape[1:] - shape[:1], 20.0)
        assert torch.equal(net(a, b, 20.0), net.decode(texture[1:], shape[1:] + change))


def test_no_split_variant_manipulates_the_whole_latent():
    net = _net(texture_channels=0, shape_channels=32, decoder_blocks=2)
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        texture, shape = net.encode(b)
        assert texture.shape == (1, 0, 8, 8) and shape.shape == (1, 32, 8, 8)
        assert torch.equal(net(a, b, 1.0), net.decode(texture, shape))


def test_linear_manipulator_is_eq2():
    net = _net(linear_manipulator=True, decoder_blocks=2)
    m_a, m_b = torch.randn(2, 1, 16, 8, 8).unbind(0)
    assert torch.allclose(net.manipulate(m_a, m_b, 7.5), m_a + 7.5 * (m_b - m_a), atol=1e-6)


# ----------------------------------------------------------------------------- loss


def test_gradient_loss_known_values():
    y = torch.rand(2, 3, 16, 16)
    assert float(gradient_l1(y + 0.3, y)) == pytest.approx(0.0, abs=1e-6)  # offset: no edges
    ramp = torch.arange(16.0).view(1, 1, 1, 16).expand(2, 3, 16, 16) * 0.01
    assert float(gradient_l1(y + ramp, y)) == pytest.approx(0.01, abs=1e-6)  # d/dx = 0.01
    shifted = torch.zeros(1, 1, 8, 8)
    shifted[..., 4:] = 1.0
    edge = torch.zeros(1, 1, 8, 8)
    edge[..., 3:] = 1.0  # a 1-px shifted step: two unit jumps per row, 7 differences
    assert float(gradient_l1(shifted, edge)) == pytest.approx(2 / 7, abs=1e-6)
    t = torch.rand(4, 2, 1, 16, 4, 4).unbind(0)
    total, parts = ha2024_loss(y + ramp, y, t[0], t[1], t[2], t[3], t[0], t[1], 0.1, 2.0)
    reg = parts["texture"] + parts["texture_perturbed"] + parts["shape"]
    assert parts["edge"] == pytest.approx(0.01, abs=1e-6)
    assert float(total) == pytest.approx(parts["image"] + 0.1 * reg + 2.0 * 0.01, rel=1e-5)
    empty = y.new_zeros(2, 0, 4, 4)
    total, parts = ha2024_loss(y + ramp, y, empty, empty, empty, empty, t[0], t[1], 0.1, 2.0)
    assert float(total) == pytest.approx(parts["image"] + 0.02, rel=1e-5)


# ----------------------------------------------------------------------------- training


def test_tiny_training_run_lowers_the_loss_and_exports(tmp_path):
    config = _tiny(size_px=48, steps=40, validate_every=40, val_samples=8, seed=3, lr=1e-3)
    torch.manual_seed(config.seed)  # the trainer's initial weights
    net0 = trainer.make_net(config)
    assert isinstance(net0, Ha2024Net) and net0.config["decoder_blocks"] == 4
    before = trainer.evaluate(net0, trainer._validation_batches(config), torch.device("cpu"))
    run = tmp_path / "run"
    result = train_model(config, run, progress=False, command="pytest")
    assert result.step == 40 and result.samples_seen == 160
    assert result.validation["l1"] < 0.7 * before["l1"]
    assert np.mean(result.losses[-10:]) < np.mean(result.losses[:5])
    header = (run / "log.csv").read_text().splitlines()[0]
    assert header.endswith("image,texture,texture_perturbed,shape,edge")
    state = trainer.load_checkpoint(run / "checkpoint.pt", model="ha2024")
    assert state["format"] == "motionmag-train-ha2024/1"

    weights = tmp_path / "w" / "ha2024.safetensors"
    card = export_weights(run, weights)
    saved = json.loads(weights.with_suffix(".json").read_text())
    assert saved["network"]["class"] == "motionmag.nets.ha2024:Ha2024Net"
    assert saved["network"]["config"]["decoder_blocks"] == 4
    assert saved["training"]["edge_weight"] == 1.0 and "gradient" in saved["training"]["loss"]
    assert "perceptual" in saved["training"]["perceptual_substitute"]
    model = create_model("ha2024", weights=weights)
    assert isinstance(model, Ha2024Net) and card["training"]["step"] == 40
    best = trainer.load_checkpoint(run / "best.pt")["model"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, best[key]), key
    model = create_model("ha2024", weights_dir=weights.parent)  # the registry's own path
    assert model.config == saved["network"]["config"]

    # the exported weights run in the engine, static mode, through magnify_frames
    clip = np.stack(_clip(n=3, height=40, width=52))
    # (alpha 1 itself returns the input unchanged; a hair above it runs the network)
    out = magnify_frames(clip, fps=30.0, method="ha2024", alpha=1.000001, mode="static",
                         weights=str(weights), color_match=False)  # fmt: skip
    want = _reconstructions(model, list(clip))
    assert out.shape == clip.shape
    assert _max_diff(out, want) <= 1


def test_resume_continues_exactly(tmp_path):
    straight = train_model(_tiny(), tmp_path / "straight", progress=False)
    train_model(_tiny(steps=2), tmp_path / "split", progress=False)
    second = train_model(_tiny(), tmp_path / "split", resume=True, progress=False)
    assert straight.step == second.step == 4 and second.session_steps == 2
    a = trainer.load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    b = trainer.load_checkpoint(tmp_path / "split" / "checkpoint.pt")
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key


def test_models_do_not_mix_and_oh2018_runs_are_unchanged(tmp_path):
    """An oh2018 run keeps its config keys, format and log columns (runs started before
    ha2024 existed resume); neither model resumes or --init's from the other's files."""
    oh = Oh2018TrainConfig(size_px=32, steps=1, workers=0, validate_every=0, dataset_size=8)
    assert sorted(oh.to_dict()) == sorted(
        ["size_px", "batch", "steps", "lr", "betas", "reg_weight", "noise_max", "seed",
         "dataset_size", "shards", "images", "workers", "device", "channels_last",
         "checkpoint_every", "log_every", "validate_every", "val_samples", "val_seed",
         "linear_manipulator", "precision", "small_motion_fraction", "ssim_weight"]
    )  # fmt: skip
    # a run saved before a field existed resumes with its default
    saved = {k: v for k, v in oh.to_dict().items() if k not in ("precision", "ssim_weight")}
    resumed = Oh2018TrainConfig.from_dict(saved)
    assert resumed.precision == "fp32" and resumed.ssim_weight == 0.0
    train_model(oh, tmp_path / "oh", progress=False, command="x")
    assert trainer.load_checkpoint(tmp_path / "oh" / "checkpoint.pt")["format"] == (
        "motionmag-train-oh2018/1"
    )
    header = (tmp_path / "oh" / "log.csv").read_text().splitlines()[0]
    assert header == (
        "step,samples_seen,train_hours,samples_per_hour,loss,image,texture,texture_perturbed,shape"
    )
    with pytest.raises(UsageError, match="is a oh2018 run, not ha2024"):
        train_model(_tiny(), tmp_path / "oh", resume=True, progress=False)
    export_weights(tmp_path / "oh", tmp_path / "w" / "oh2018.safetensors", which="last")
    with pytest.raises(UsageError, match="--init needs ha2024 weights"):
        train_model(
            _tiny(),
            tmp_path / "ha",
            progress=False,
            init_from=tmp_path / "w" / "oh2018.safetensors",
        )


def test_bf16_training_runs_only_the_decoder_in_bf16_with_the_fp32_loss():
    """precision="bf16" (ours, for CPU speed): the decoder's activations are bfloat16,
    the encoder's and the loss are fp32, the loss is fp32's to bf16 rounding, and the
    gradients reach every weight in fp32."""
    config = _tiny(noise_max=0.0, val_samples=4, seed=5)
    batch = trainer._validation_batches(config)[0]
    torch.manual_seed(0)
    net = trainer.make_net(config)
    seen = []
    net.encoder.register_forward_hook(lambda m, i, o: seen.append(("encoder", o.dtype)))
    net.decoder[0].register_forward_hook(lambda m, i, o: seen.append(("decoder", o.dtype)))
    cpu = torch.device("cpu")
    loss32, _ = trainer.task_loss(net, batch, config, None, cpu)
    bf16 = _tiny(noise_max=0.0, val_samples=4, seed=5, precision="bf16")
    loss16, _ = trainer.task_loss(net, batch, bf16, None, cpu)
    assert seen == [
        ("encoder", torch.float32), ("decoder", torch.float32),
        ("encoder", torch.float32), ("decoder", torch.bfloat16),
    ]  # fmt: skip
    assert loss16.dtype == torch.float32
    assert loss16.item() == pytest.approx(loss32.item(), rel=0.02)
    assert loss16.item() != loss32.item()  # it did run in lower precision
    loss16.backward()
    assert_finite_fp32_grads(net)
    with pytest.raises(UsageError, match="unknown precision 'fp16'"):
        _tiny(precision="fp16").validate()


def test_train_command_for_ha2024(tmp_path, capsys):
    import argparse

    from motionmag.train.cli_train import add_train_command

    parser = argparse.ArgumentParser(prog="motionmag")
    add_train_command(parser.add_subparsers(dest="command"))
    run = tmp_path / "run"
    out = tmp_path / "w" / "ha2024.safetensors"
    args = parser.parse_args(
        ["train", "ha2024", "--size", "32", "--steps", "2", "--decoder-blocks", "2",
         "--edge-weight", "0.5", "--run", str(run), "--workers", "0",
         "--validate-every", "0", "--quiet", "--export", str(out), "--precision", "bf16"]
    )  # fmt: skip
    assert args.run(args) == 0
    assert "step 2/2" in capsys.readouterr().out
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["edge_weight"] == 0.5
    assert json.loads((run / "config.json").read_text())["precision"] == "bf16"
    assert card["network"]["config"]["decoder_blocks"] == 2
    assert get_model_spec("ha2024").train_command == "motionmag train ha2024"
    spec = get_method("ha2024")
    assert spec.kind == "learned" and spec.weights == "ha2024.safetensors"
    assert set(spec.modes) == {"static", "dynamic", "temporal"}


# ----------------------------------------------------------------------------- engine


def _clip(n: int = 6, height: int = 30, width: int = 42) -> list[np.ndarray]:
    """A smooth random texture drifting right by 0.25 px per frame (uint8 RGB)."""
    rng = np.random.default_rng(0)
    base = rng.random((height + 8, width + 8, 3))
    spectrum = np.fft.fft2(base, axes=(0, 1))
    fy = np.fft.fftfreq(height + 8)[:, None, None]
    fx = np.fft.fftfreq(width + 8)[None, :, None]
    spectrum *= np.exp(-((fx**2 + fy**2) / 0.02))
    frames = []
    for t in range(n):
        moved = np.fft.ifft2(spectrum * np.exp(-2j * np.pi * fx * 0.25 * t), axes=(0, 1)).real
        moved = (moved - moved.min()) / (np.ptp(moved) + 1e-9)
        frames.append((moved[4 : 4 + height, 4 : 4 + width] * 255).round().astype(np.uint8))
    return frames


def _reconstructions(net, frames):
    with torch.inference_mode():
        result = []
        for frame in frames:
            x = pad_to_multiple(frame_to_tensor(frame), min_size=net.min_size_px)
            texture, shape = net.encode(x)
            y = net.decode(texture, shape)[..., : frame.shape[0], : frame.shape[1]]
            result.append(y[0].mul(255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy())
        return result


def _max_diff(got, want) -> int:
    """Largest 8-bit difference between two frame lists (channels-last rounding: <= 1)."""
    return max(
        int(np.abs(g.astype(int) - w.astype(int)).max()) for g, w in zip(got, want, strict=True)
    )


def _run(method, frames):
    magnifier = EulerianMagnifier(method, StaticSelector(0))
    out = []
    for frame in frames:
        out.extend(magnifier.push(frame))
    out.extend(magnifier.flush())
    return out


def test_engine_static_mode_reduces_to_the_reconstruction():
    frames = _clip()  # 30x42: padded to 32x44 and cropped back
    net = _net(he_init=True, decoder_blocks=4)
    identity = _run(Oh2018Method(1.0, net), frames)
    for got, want in zip(identity, _reconstructions(net, frames), strict=True):
        assert got.shape == (30, 42, 3) and np.ptp(want) > 10
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    magnified = _run(Oh2018Method(20.0, net), frames)
    changed = [
        np.abs(m.astype(int) - i.astype(int)).max() > 1
        for m, i in zip(magnified, identity, strict=True)
    ]
    assert not changed[0] and all(changed[1:])


def test_magnify_frames_with_random_weights():
    clip = np.stack(_clip(n=3, height=20, width=28))
    torch.manual_seed(5)
    out = magnify_frames(clip, fps=30.0, method="ha2024", alpha=1.000001, mode="static",
                         pretrained=False, color_match=False)  # fmt: skip
    torch.manual_seed(5)
    want = _reconstructions(create_model("ha2024", pretrained=False), list(clip))
    assert out.shape == clip.shape and out.dtype == np.uint8
    assert _max_diff(out, want) <= 1
    same = magnify_frames(clip, method="ha2024", alpha=1.0, pretrained=False)
    np.testing.assert_array_equal(same, clip)  # alpha 1: the input, not the round trip
    if not has_weights("ha2024"):
        with pytest.raises(UsageError, match="no shipped weights for 'ha2024'"):
            magnify_frames(clip, fps=30.0, method="ha2024", alpha=5.0, mode="static")


def test_distillation_targets_the_teachers_output(tmp_path):
    """``--teacher``: the image and gradient L1 compare with the teacher's output, so a
    student that is its teacher has zero image loss (on the true frame it has not)."""
    config = _tiny(size_px=32, steps=2, seed=5)
    run = tmp_path / "teacher"
    train_model(config, run, progress=False, command="pytest")
    teacher = tmp_path / "w" / "ha2024.safetensors"
    export_weights(run, teacher)
    student = create_model("ha2024", weights=teacher).train()
    batch = next(iter(torch.utils.data.DataLoader(trainer.make_dataset(config), batch_size=4)))
    cpu = torch.device("cpu")
    torch.manual_seed(0)
    _, to_truth = trainer.task_loss(student, batch, config, None, cpu)
    distil = _tiny(size_px=32, steps=2, seed=5, teacher=str(teacher))
    torch.manual_seed(0)  # the same training noise
    _, to_teacher = trainer.task_loss(student, batch, distil, None, cpu)
    assert to_truth["image"] > 0.01 and to_truth["edge"] > 0
    assert to_teacher["image"] == 0.0 and to_teacher["edge"] == 0.0
    assert to_teacher["texture"] == to_truth["texture"]  # the regularisers are unchanged

    run = tmp_path / "student"
    train_model(_tiny(size_px=32, steps=2, seed=6, teacher=str(teacher)), run, progress=False)
    card = export_weights(run, tmp_path / "s" / "ha2024.safetensors")
    assert str(teacher) in card["training"]["teacher"]
    with pytest.raises(InputError, match="--teacher needs"):  # a missing input file: exit 3
        _tiny(teacher=str(tmp_path / "missing.safetensors")).validate()


def test_an_oh2018_network_can_teach_an_ha2024_student(tmp_path):
    """--teacher with oh2018 weights: the target is that network's own output for the
    student's inputs; weights of any other network are one sentence."""
    oh_run = tmp_path / "oh"
    train_model(Oh2018TrainConfig(size_px=32, steps=1, workers=0, validate_every=0,
                                  dataset_size=8), oh_run, progress=False)  # fmt: skip
    weights = tmp_path / "w" / "oh2018.safetensors"
    export_weights(oh_run, weights, which="last")
    assert trainer.teacher_model(weights) == "oh2018"
    config = _tiny(size_px=32, teacher=str(weights))
    config.validate()
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 2, 3, 32, 32, generator=generator)
    alpha = torch.tensor([3.0, 10.0])
    target = trainer._teacher_output(config, a, b, alpha)
    with torch.no_grad():
        expected = create_model("oh2018", weights=weights)(a, b, alpha, clip=False)
    torch.testing.assert_close(target, expected, atol=1e-5, rtol=1e-5)
    flow_card = tmp_path / "f.json"
    flow_card.write_text('{"network": {"class": "motionmag.nets.flowmag:FlowMagNet"}}')
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / "f.safetensors"))
    with pytest.raises(UsageError, match="give oh2018 or ha2024 weights"):
        _tiny(teacher=str(tmp_path / "f.safetensors")).validate()


def test_several_teachers_and_mirror_views_average_their_outputs(tmp_path):
    """--teacher A B --teacher-views 2: the target is the mean over both networks of each
    one's output on the pair and on its left-right mirror image, mirrored back."""
    weights = []
    for name, config in (
        ("oh2018", Oh2018TrainConfig(size_px=32, steps=1, workers=0, validate_every=0,
                                     dataset_size=8)),
        ("ha2024", _tiny(size_px=32, steps=1, seed=3)),
    ):  # fmt: skip
        train_model(config, tmp_path / name, progress=False)
        weights.append(tmp_path / "w" / f"{name}.safetensors")
        export_weights(tmp_path / name, weights[-1], which="last")
    config = _tiny(size_px=32, teacher=[str(w) for w in weights], teacher_views=2)
    config.validate()
    generator = torch.Generator().manual_seed(1)
    a, b = torch.rand(2, 2, 3, 32, 32, generator=generator)
    alpha = torch.tensor([2.0, 8.0])
    target = trainer._teacher_output(config, a, b, alpha)
    expected = []
    with torch.no_grad():
        for name, path in zip(("oh2018", "ha2024"), weights, strict=True):
            net = create_model(name, weights=path)
            mirror = net(a.flip(-1), b.flip(-1), alpha, clip=False).flip(-1)
            expected.append((net(a, b, alpha, clip=False) + mirror) / 2)
    torch.testing.assert_close(target, (expected[0] + expected[1]) / 2, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(expected[0], expected[1], atol=1e-3)  # two different nets
    with pytest.raises(UsageError, match="--teacher-views 3"):
        _tiny(teacher=[str(w) for w in weights], teacher_views=3).validate()


def test_a_card_names_the_teacher_of_sessions_its_weights_came_through():
    """The shipped ha2024-fast was distilled, then continued with --init without a
    teacher: its card named only the last run's loss (the target Y). Its sessions'
    commands say which trained toward a teacher."""
    from motionmag.train.oh2018 import distillation_sessions

    sessions = [
        {"command": "motionmag train ha2024 --run r --lr 1e-4", "from_step": 0, "to_step": 5},
        {"init_from": "w.safetensors"},
        {
            "command": "motionmag train ha2024 --teacher a.safetensors b.safetensors --lr 1e-5",
            "from_step": 5,
            "to_step": 9,
        },
        {
            "command": "motionmag train ha2024 --teacher=c.safetensors",
            "from_step": 9,
            "to_step": 12,
        },
    ]
    # recorded as typed, not shell-quoted: a quote in a path must not fail the export
    odd = [{"command": "motionmag train ha2024 --run runs/bob's --teacher t.safetensors"}]
    assert distillation_sessions(odd)[0]["teachers"] == ["t.safetensors"]
    assert distillation_sessions(sessions) == [
        {"session": 2, "teachers": ["a.safetensors", "b.safetensors"], "steps": [5, 9]},
        {"session": 3, "teachers": ["c.safetensors"], "steps": [9, 12]},
    ]
    from motionmag.models.registry import weights_dir

    card_path = weights_dir() / "ha2024-fast.json"
    if card_path.is_file():  # the shipped card's entries come from this function
        card = json.loads(card_path.read_text())
        assert card["training"]["distilled"][0]["steps"] == [98500, 117940]
