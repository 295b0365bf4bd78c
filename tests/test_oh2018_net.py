"""Oh et al. (2018) network, trainer, registry and engine integration.

Known answers that need no trained weights: the size of the network (parameters and
FLOPs against METHODS.md), the manipulator's algebra (alpha = 1 is the identity, h(0) =
0, Eq. 2 is linear, Eq. 3 is positively homogeneous in the gain), bit-exact resume of a
killed run, a lossless export -> create_model round trip, and the engine's modes reducing
to the network's reconstruction at alpha = 1.
"""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate
from torch.utils.flop_counter import FlopCounterMode

from motionmag.errors import InputError, UsageError
from motionmag.magnify.base import EulerianMagnifier, frame_to_tensor
from motionmag.magnify.config import MagnifyConfig
from motionmag.magnify.learned import Oh2018Method, build_oh2018
from motionmag.models import WEIGHTS_ENV, create_model, has_weights, model_card
from motionmag.nets.oh2018 import Oh2018Net, pad_to_multiple
from motionmag.temporal import ButterworthSelector, DynamicSelector, StaticSelector
from motionmag.train import oh2018 as trainer
from motionmag.train.losses import ssim, ssim_term
from motionmag.train.oh2018 import Oh2018TrainConfig, export_weights, train_oh2018

torch.set_num_threads(2)


def _net(he_init: bool = False, **kwargs) -> Oh2018Net:
    """A random network; ``he_init`` gives it weights whose signals survive the ~30
    layers (the trained-from-scratch init, std 0.02, decodes every frame to near grey,
    which would make the engine tests trivially pass)."""
    torch.manual_seed(0)
    net = Oh2018Net(**kwargs)
    if he_init:
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                module.weight.data.mul_(0.5)
    return net.eval()


def _tiny_config(**kwargs) -> Oh2018TrainConfig:
    settings = dict(
        size_px=32,
        steps=6,
        workers=0,
        validate_every=0,
        checkpoint_every=3,
        log_every=1,
        dataset_size=50,
    )
    settings.update(kwargs)
    return Oh2018TrainConfig(**settings)


# ----------------------------------------------------------------------------- network


@pytest.mark.parametrize("size", [(33, 47), (17, 10), (64, 96), (5, 7)])
def test_forward_keeps_any_frame_size(size):
    net = _net()
    a = torch.rand(2, 3, *size)
    with torch.inference_mode():
        out = net(a, a.flip(-1), torch.tensor([3.0, 20.0]))
    assert out.shape == a.shape
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_representation_sizes_and_padding_rule():
    net = _net()
    with torch.inference_mode():
        texture, shape = net.encode(torch.rand(1, 3, 64, 96))
        assert texture.shape == (1, 32, 16, 24)  # 1/4 resolution
        assert shape.shape == (1, 32, 32, 48)  # 1/2 resolution
        with pytest.raises(ValueError, match="multiple of 4"):
            net.encode(torch.rand(1, 3, 30, 32))
    padded = pad_to_multiple(torch.rand(1, 3, 30, 33))
    assert padded.shape[-2:] == (32, 36)


def test_size_matches_methods_md():
    """Released configuration: 918,928 parameters, 79.5 GFLOPs per 384x384 pair
    (METHODS.md: about 0.9 M and ~78 GFLOPs; both within 10 %)."""
    net = Oh2018Net()
    parameters = sum(p.numel() for p in net.parameters())
    assert parameters == 918_928
    assert abs(parameters / 0.9e6 - 1) < 0.10
    meta_net = net.to("meta")
    frame = torch.empty(1, 3, 384, 384, device="meta")
    with FlopCounterMode(display=False) as counter:
        meta_net(frame, frame, 10.0)
    gflops = counter.get_total_flops() / 1e9
    assert abs(gflops / 78.0 - 1) < 0.10
    assert gflops == pytest.approx(79.52, abs=0.01)
    # the paper's text (g 3x3, a shape conv): METHODS.md's 78 GFLOPs exactly
    paper = Oh2018Net(shape_conv=True, manipulator_kernel=3).to("meta")
    with FlopCounterMode(display=False) as counter:
        paper(frame, frame, 10.0)
    assert counter.get_total_flops() / 1e9 == pytest.approx(77.86, abs=0.01)


def test_alpha_one_is_the_reconstruction():
    """alpha = 1: h((1 - 1) g(.)) = h(0) = 0 (bias-free), so the output is decode(encode(b))."""
    net = _net()
    a, b = torch.rand(1, 3, 32, 40), torch.rand(1, 3, 32, 40)
    with torch.inference_mode():
        texture, shape = net.encode(torch.cat([a, b]))
        assert torch.equal(net.manipulate(shape[:1], shape[1:], 1.0), shape[1:])
        assert torch.equal(
            net.amplify(torch.zeros_like(shape[:1]), 37.0), torch.zeros_like(shape[:1])
        )
        reconstruction = net.decode(texture[1:], shape[1:])
        assert torch.equal(net(a, b, 1.0), reconstruction)


def test_linear_manipulator_is_eq2():
    net = _net(linear_manipulator=True)
    assert sum(p.numel() for p in net.parameters()) == 918_928 - 77_824  # no g, h
    m_a, m_b, m_c = torch.randn(3, 1, 32, 8, 8).unbind(0)
    alpha = 7.5
    assert torch.allclose(net.manipulate(m_a, m_b, alpha), m_a + alpha * (m_b - m_a), atol=1e-6)
    d1, d2 = m_b - m_a, m_c - m_a
    lhs = net.amplify(2.0 * d1 - 3.0 * d2, alpha)
    assert torch.allclose(
        lhs, 2.0 * net.amplify(d1, alpha) - 3.0 * net.amplify(d2, alpha), atol=1e-5
    )
    # per-sample alphas
    both = net.manipulate(torch.cat([m_a, m_a]), torch.cat([m_b, m_b]), torch.tensor([2.0, 4.0]))
    assert torch.allclose(both[1] - m_a[0], 4.0 * (m_b[0] - m_a[0]), atol=1e-5)
    assert torch.allclose(both[1] - both[0], 2.0 * (m_b[0] - m_a[0]), atol=1e-5)


def test_nonlinear_manipulator_is_positively_homogeneous():
    """Bias-free convs and ReLUs: doubling alpha - 1 (or a positive scale of the
    difference) doubles the change, even though h(g(.)) is not linear."""
    net = _net()
    d = torch.randn(1, 32, 10, 12) * 0.1
    with torch.inference_mode():
        change = net.amplify(d, 6.0)
        assert torch.allclose(net.amplify(d, 11.0), 2.0 * change, rtol=1e-4, atol=1e-6)
        assert torch.allclose(net.amplify(3.0 * d, 6.0), 3.0 * change, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- trainer


def test_tiny_training_run_lowers_the_loss(tmp_path):
    config = _tiny_config(size_px=64, steps=30, validate_every=30, val_samples=8, seed=3)
    torch.manual_seed(config.seed)  # the trainer's initial weights
    net0 = trainer.make_net(config)
    before = trainer.evaluate(net0, trainer._validation_batches(config), torch.device("cpu"))
    result = train_oh2018(config, tmp_path / "run", progress=False, command="pytest")
    assert result.step == 30 and result.samples_seen == 120
    after = result.validation
    assert after["l1"] < 0.7 * before["l1"]
    assert after["ssim"] > before["ssim"] + 0.05
    assert np.mean(result.losses[-10:]) < np.mean(result.losses[:5])
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert len(rows) == 31 and rows[0].startswith("step,samples_seen")


def test_ssim_term_known_values():
    """1 - SSIM: zero for equal frames, the validation metric's complement otherwise, and
    a gradient that points from a blurred frame toward the sharp one."""
    torch.manual_seed(0)
    y = torch.rand(2, 3, 24, 24)
    assert float(ssim_term(y, y)) == pytest.approx(0.0, abs=1e-6)
    blurred = torch.nn.functional.avg_pool2d(y, 3, stride=1, padding=1).requires_grad_(True)
    term = ssim_term(blurred, y)
    value = float(term.detach())
    assert value == pytest.approx(1.0 - float(ssim(blurred.detach(), y).mean()), abs=1e-6)
    assert 0.2 < value < 1.0
    term.backward()
    stepped = (blurred - 0.5 * blurred.grad).detach()  # one descent step
    assert float(ssim_term(stepped, y)) < value


def test_ssim_weight_adds_the_term_to_the_papers_loss():
    """The loss with ssim_weight w is the paper's loss of the same batch and noise plus
    w (1 - SSIM(Yhat, Y)); w = 0 (the default) is the paper's loss, unchanged."""
    config = _tiny_config()
    dataset = trainer.make_dataset(config)
    batch = default_collate([dataset[0], dataset[1]])
    torch.manual_seed(0)
    net = trainer.make_net(config)
    device = torch.device("cpu")

    def loss(weight):
        noise = torch.Generator().manual_seed(7)
        with_weight = Oh2018TrainConfig(**{**config.to_dict(), "ssim_weight": weight,
                                           "betas": config.betas})  # fmt: skip
        return trainer.task_loss(net, batch, with_weight, noise, device)

    paper, paper_parts = loss(0.0)
    assert "ssim_term" not in paper_parts
    total, parts = loss(2.5)
    assert 0.0 < parts["ssim_term"] < 2.0
    expected = float(paper.detach()) + 2.5 * parts["ssim_term"]
    assert float(total.detach()) == pytest.approx(expected, rel=1e-5)
    assert parts["total"] == pytest.approx(float(total.detach()), rel=1e-6)
    with pytest.raises(UsageError, match="--ssim-weight"):
        Oh2018TrainConfig(ssim_weight=-1.0).validate()


def test_noise_max_sets_the_training_noise(tmp_path):
    """``--noise-max S`` reaches the config; with S = 0 the loss no longer depends on the
    noise generator (no noise is added), with S > 0 it does; a negative S is refused."""
    import argparse

    from motionmag.train.cli_train import add_train_command

    config = _tiny_config()
    batch = default_collate([trainer.make_dataset(config)[i] for i in range(2)])
    torch.manual_seed(0)
    net = trainer.make_net(config)

    def loss(noise_max, seed):
        changed = Oh2018TrainConfig(**{**config.to_dict(), "noise_max": noise_max,
                                       "betas": config.betas})  # fmt: skip
        noise = torch.Generator().manual_seed(seed)
        return float(trainer.task_loss(net, batch, changed, noise, torch.device("cpu"))[0].detach())

    assert loss(0.0, 1) == loss(0.0, 2)
    assert loss(0.3, 1) != loss(0.3, 2)
    with pytest.raises(UsageError, match="--noise-max"):
        Oh2018TrainConfig(noise_max=-0.1).validate()
    parser = argparse.ArgumentParser(prog="motionmag")
    add_train_command(parser.add_subparsers(dest="command"))
    run = tmp_path / "run"
    args = parser.parse_args(
        ["train", "oh2018", "--size", "32", "--steps", "1", "--noise-max", "0.1", "--run",
         str(run), "--workers", "0", "--validate-every", "0", "--quiet"]
    )  # fmt: skip
    assert args.run(args) == 0
    assert trainer.load_checkpoint(run / "checkpoint.pt")["config"]["noise_max"] == 0.1


def test_a_run_with_the_ssim_term_says_so_in_its_card(tmp_path):
    run = tmp_path / "run"
    config = _tiny_config(steps=2, checkpoint_every=1, ssim_weight=0.5)
    train_oh2018(config, run, progress=False, command="x")
    card = export_weights(run, tmp_path / "w" / "oh2018.safetensors", which="last")
    assert card["training"]["ssim_weight"] == 0.5 and "SSIM" in card["training"]["ssim_term"]
    plain = tmp_path / "plain"
    train_oh2018(_tiny_config(steps=2, checkpoint_every=1), plain, progress=False)
    assert "ssim_weight" not in export_weights(plain, tmp_path / "p.safetensors")["training"]


def _state(path):
    return trainer.load_checkpoint(path)


def test_resume_continues_exactly(tmp_path):
    """3 steps, stop, resume to 6 == 6 steps straight: weights, Adam moments, counters."""
    straight = train_oh2018(_tiny_config(), tmp_path / "straight", progress=False)
    assert straight.step == 6
    first = train_oh2018(_tiny_config(steps=3), tmp_path / "split", progress=False)
    assert first.step == 3
    with pytest.raises(UsageError, match="--resume"):
        train_oh2018(_tiny_config(), tmp_path / "split", progress=False)
    second = train_oh2018(_tiny_config(), tmp_path / "split", resume=True, progress=False)
    assert second.step == 6 and second.session_steps == 3 and second.samples_seen == 24
    a = _state(tmp_path / "straight" / "checkpoint.pt")
    b = _state(tmp_path / "split" / "checkpoint.pt")
    assert a["step"] == b["step"] == 6 and a["samples_seen"] == b["samples_seen"] == 24
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    opt_a, opt_b = a["optimizer"]["state"], b["optimizer"]["state"]
    assert opt_a.keys() == opt_b.keys()
    for index in opt_a:
        for name in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(opt_a[index][name], opt_b[index][name]), (index, name)
    assert torch.equal(a["rng"]["noise"], b["rng"]["noise"])
    assert [s["from_step"] for s in b["sessions"]] == [0, 3]


def test_sigterm_saves_a_checkpoint_and_stops(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = trainer.training_loss

    def loss_then_sigterm(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            signal.raise_signal(signal.SIGTERM)  # arrives mid-step
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "training_loss", loss_then_sigterm)
    handler = signal.getsignal(signal.SIGTERM)
    result = train_oh2018(_tiny_config(steps=100), tmp_path / "run", progress=False)
    assert result.interrupted == "SIGTERM"
    assert result.step == 2  # the step in flight finished, then it stopped
    assert _state(tmp_path / "run" / "checkpoint.pt")["step"] == 2
    assert signal.getsignal(signal.SIGTERM) is handler  # restored


def test_epoch_sampler_resumes_the_order():
    full = trainer.EpochSampler(7, seed=5)
    stream = [i for _, i in zip(range(20), full, strict=False)]
    assert sorted(stream[:7]) == list(range(7)) and sorted(stream[7:14]) == list(range(7))
    resumed = trainer.EpochSampler(7, seed=5, start=9)
    assert [i for _, i in zip(range(11), resumed, strict=False)] == stream[9:]


# ----------------------------------------------------------------------------- models


def test_export_and_create_model_round_trip(tmp_path, monkeypatch):
    run = tmp_path / "run"
    train_oh2018(_tiny_config(steps=2, checkpoint_every=1), run, progress=False, command="x")
    weights = tmp_path / "weights"
    card = export_weights(run, weights / "oh2018.safetensors", which="last")
    assert card["training"]["samples_seen"] == 8 and card["data"]["seed"] == 0
    assert card["network"]["parameters"] == 918_928
    saved = json.loads((weights / "oh2018.json").read_text())
    assert saved["data"]["generator_config"]["size_px"] == 32
    assert saved["training"]["sessions"][0]["command"] == "x"
    state = _state(run / "checkpoint.pt")["model"]
    model = create_model("oh2018", weights_dir=weights)
    assert not model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    monkeypatch.setenv(WEIGHTS_ENV, str(weights))
    assert has_weights("oh2018") and model_card("oh2018")["training"]["step"] == 2
    assert torch.equal(
        create_model("oh2018").state_dict()["decoder.3.1.weight"], state["decoder.3.1.weight"]
    )
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "empty"))
    assert model_card("oh2018") is None
    with pytest.raises(InputError, match=r"empty' \(\$MOTIONMAG_WEIGHTS_DIR\) has no oh2018"):
        create_model("oh2018")  # the package ships them: the folder named lacks them
    assert isinstance(create_model("oh2018", pretrained=False), Oh2018Net)
    with pytest.raises(UsageError, match="unknown model"):
        create_model("nope")


def test_init_from_exported_weights_continues_the_count(tmp_path):
    """A fresh machine continues from shipped weights: same weights, step and data position."""
    first = tmp_path / "first"
    train_oh2018(_tiny_config(steps=2, checkpoint_every=1), first, progress=False, command="x")
    weights = tmp_path / "w" / "oh2018.safetensors"
    export_weights(first, weights, which="last")
    exported = _state(first / "checkpoint.pt")["model"]
    second = tmp_path / "second"
    result = train_oh2018(
        _tiny_config(steps=3), second, progress=False, command="y", init_from=weights
    )
    assert (result.step, result.samples_seen) == (3, 12)  # 2 steps from the card + 1 here
    state = _state(second / "checkpoint.pt")
    assert state["sessions"][0]["command"] == "x" and state["sessions"][-1]["command"] == "y"
    changed = [k for k in exported if not torch.equal(exported[k], state["model"][k])]
    assert changed  # it trained on from the exported weights
    with pytest.raises(UsageError, match="match --linear-manipulator"):
        train_oh2018(
            _tiny_config(steps=3, linear_manipulator=True),
            tmp_path / "third",
            progress=False,
            init_from=weights,
        )
    assert not (tmp_path / "third").exists()  # a refused start leaves no run folder


# ----------------------------------------------------------------------------- engine


def _clip(n: int = 8, height: int = 30, width: int = 42) -> list[np.ndarray]:
    """A smooth random texture drifting right by 0.25 px per frame (uint8 RGB)."""
    rng = np.random.default_rng(0)
    base = rng.random((height + 8, width + 8, 3))
    spectrum = np.fft.fft2(base, axes=(0, 1))
    fy = np.fft.fftfreq(height + 8)[:, None, None]
    fx = np.fft.fftfreq(width + 8)[None, :, None]
    spectrum *= np.exp(-((fx**2 + fy**2) / 0.02))
    frames = []
    for t in range(n):
        shift = 0.25 * t
        moved = np.fft.ifft2(spectrum * np.exp(-2j * np.pi * fx * shift), axes=(0, 1)).real
        moved = (moved - moved.min()) / (np.ptp(moved) + 1e-9)
        frames.append((moved[4 : 4 + height, 4 : 4 + width] * 255).round().astype(np.uint8))
    return frames


def _run(method, selector, frames):
    magnifier = EulerianMagnifier(method, selector)
    out = []
    for frame in frames:
        out.extend(magnifier.push(frame))
    out.extend(magnifier.flush())
    return out


def _reconstructions(net, frames):
    with torch.inference_mode():
        result = []
        for frame in frames:
            x = pad_to_multiple(frame_to_tensor(frame))
            texture, shape = net.encode(x)
            y = net.decode(texture, shape)[..., : frame.shape[0], : frame.shape[1]]
            result.append(y[0].mul(255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy())
        return result


@pytest.mark.parametrize("mode", ["static", "dynamic", "temporal"])
def test_engine_modes_run_end_to_end(mode):
    frames = _clip()  # 30x42: padded to 32x44 and cropped back
    net = _net(he_init=True)

    def selector():
        if mode == "static":
            return StaticSelector(0)
        if mode == "dynamic":
            return DynamicSelector()
        return ButterworthSelector(5.0, 10.0, 30.0)

    identity = _run(Oh2018Method(1.0, net), selector(), frames)
    assert len(identity) == len(frames)
    for got, want in zip(identity, _reconstructions(net, frames), strict=True):
        assert got.shape == (30, 42, 3) and got.dtype == np.uint8
        assert np.ptp(want) > 10  # a picture, not a constant
        difference = np.abs(got.astype(int) - want.astype(int))  # channels-last rounding
        assert difference.max() <= 1 and (difference == 0).mean() > 0.99
    magnified = _run(Oh2018Method(20.0, net), selector(), frames)
    changed = [
        np.abs(m.astype(int) - i.astype(int)).max() > 1
        for m, i in zip(magnified, identity, strict=True)
    ]
    if mode in ("static", "dynamic"):
        assert not changed[0]  # nothing selected in frame 0: unchanged
    assert sum(changed) >= len(frames) - 2


def test_linear_static_alpha_zero_decodes_the_reference_shape():
    """Eq. 2 at alpha = 0: M(t) + (0 - 1)(M(t) - M(0)) = M(0), with frame t's texture."""
    frames = _clip(n=3)
    net = _net(he_init=True, linear_manipulator=True)
    out = _run(Oh2018Method(0.0, net), StaticSelector(0), frames)
    with torch.inference_mode():
        x0, x2 = (pad_to_multiple(frame_to_tensor(f)) for f in (frames[0], frames[2]))
        texture2, _ = net.encode(x2)
        _, shape0 = net.encode(x0)
        want = net.decode(texture2, shape0)[..., :30, :42]
    want = want[0].mul(255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
    assert np.abs(out[2].astype(int) - want.astype(int)).max() <= 1


def test_builder_options(tmp_path):
    config = MagnifyConfig(
        method="oh2018", alpha=5.0, mode="dynamic", options={"pretrained": False}
    )
    magnifier = build_oh2018(config)
    assert len(_run(magnifier.method, magnifier.selector, _clip(n=2))) == 2
    with pytest.raises(UsageError, match="no option"):
        build_oh2018(MagnifyConfig(method="oh2018", options={"nope": 1}))
    if not has_weights("oh2018"):
        with pytest.raises(UsageError, match="no shipped weights"):
            build_oh2018(MagnifyConfig(method="oh2018", alpha=5.0))


def test_train_command_resumes_and_exports(tmp_path, capsys):
    import argparse

    from motionmag.train.cli_train import add_train_command

    parser = argparse.ArgumentParser(prog="motionmag")
    add_train_command(parser.add_subparsers(dest="command"))
    run = tmp_path / "run"
    common = ["--run", str(run), "--workers", "0", "--validate-every", "0", "--quiet"]
    args = parser.parse_args(["train", "oh2018", "--size", "32", "--steps", "2", *common])
    assert args.run(args) == 0
    out = tmp_path / "w" / "oh2018.safetensors"
    # resume takes size/seed from the run; only --steps changes
    args = parser.parse_args(
        ["train", "oh2018", "--steps", "3", "--resume", "--export", str(out), *common]
    )
    assert args.run(args) == 0
    assert "step 3/3" in capsys.readouterr().out
    card = model_card("oh2018", weights_dir=tmp_path / "w")
    assert card["training"]["step"] == 3 and card["data"]["crop_px"] == 32
    assert [s["from_step"] for s in card["training"]["sessions"]] == [0, 2]
