"""LW-MM (Singh 2024, Ch. 3): network, size, the proxy loss, trainer, engine.

Known answers: the thesis's size (Table 3.2); the manipulator's input is the encoder
difference times M_f (linear in the factor, zero for a still pair when the two streams
share weights); each stream sees the other's features; Eq. 3.6's parts add up, L_A is
taken against the clean frames and L_M vanishes against a proxy equal to the model on
clean inputs; a proxy run, then a model run against it, end to end. Tiny on purpose
(frames <= 64 px, a few steps).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from motionmag import magnify_frames
from motionmag.errors import InputError, UsageError
from motionmag.models import create_model
from motionmag.nets.lwmm import LWMMNet
from motionmag.synth.vibration import quantize
from motionmag.train.lwmm import LWMMLightTrainConfig, LWMMTrainConfig, task_loss
from net_helpers import (
    assert_finite_fp32_grads,
    export_with_card,
    expressive,
    tiny_run_exported,
)


@pytest.mark.parametrize(("channels", "params", "gflops"), [(24, 1.10e6, 375.5), (8, 0.12e6, 42.4)])
def test_size_is_near_the_thesis(channels, params, gflops):
    """Table 3.2: M1 1.10 M / 375.5 GFLOPs, M2 0.12 M / 42.4 at 720x720 (2 x multiply-add);
    counted on the meta device (no arithmetic)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        net = LWMMNet(channels)
        frame = torch.empty(1, 3, 720, 720)
    parameters = sum(p.numel() for p in net.parameters())
    assert params * 0.9 < parameters < params * 1.1
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(frame, frame, 10.0)
    assert gflops * 1e9 * 0.9 < counter.get_total_flops() < gflops * 1e9 * 1.1


def test_manipulator_input_is_the_encoder_difference_times_the_factor():
    """Eq. 3.2's quantity: linear in M_f (a scalar, per sample or per pixel); with the two
    streams' weights equal, a still pair has no difference and the output no alpha."""
    net = expressive(LWMMNet(4))
    a, b = torch.rand(2, 3, 16, 20), torch.rand(2, 3, 16, 20)
    with torch.no_grad():
        d3 = net.forward_parts(a, b, 3.0)["difference"]
        d12 = net.forward_parts(a, b, torch.tensor([12.0, 12.0]))["difference"]
        per_pixel = net.forward_parts(a, b, torch.full((2, 1, 16, 20), 3.0))["difference"]
        assert torch.allclose(d12, 4 * d3, atol=1e-5) and torch.allclose(per_pixel, d3)
        assert d3.abs().mean() > 1e-3  # the test can fail
        net.encoder_b.load_state_dict(net.encoder_a.state_dict())
        assert net.forward_parts(b, b, 30.0)["difference"].abs().max() == 0
        assert torch.allclose(net(b, b, 2.0), net(b, b, 50.0), atol=1e-6)


def test_each_stream_sees_the_other_and_every_parameter_learns():
    net = expressive(LWMMNet(4))
    a, b = torch.rand(1, 3, 12, 12), torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        first = net.encode(a, b)
        other_b = net.encode(a, torch.rand(1, 3, 12, 12))
    assert (first["E_a"] - other_b["E_a"]).abs().max() > 1e-3  # frame b reaches E_a
    net.train()
    out = net(a, b, 10.0)
    assert out.shape == b.shape and out.min() >= 0 and out.max() <= 1  # tanh, mapped
    parts = net.forward_parts(a, b, 10.0)
    (out.square().mean() + parts["appearance"].square().mean()).backward()
    assert_finite_fp32_grads(net)
    assert all(p.grad.abs().sum() > 0 for p in net.parameters())


def test_streams_start_equal_and_the_output_is_tanh_bounded():
    """The two streams start with equal weights, so a still pair has no encoder
    difference at first; the output is the thesis's tanh."""
    a, b = torch.rand(2, 3, 10, 14), torch.rand(2, 3, 10, 14)
    net = expressive(LWMMNet(4), gain=3.0)
    net.encoder_b.load_state_dict(net.encoder_a.state_dict())  # as __init__ does
    with torch.no_grad():
        assert LWMMNet(4).forward_parts(b, b, 50.0)["difference"].abs().max() == 0
        assert net.forward_parts(a, b, 50.0)["difference"].abs().max() > 0
        out = net.magnified(a, b, 20.0)
    assert out.abs().max() <= 1 and not torch.allclose(out, b * 2 - 1, atol=0.1)


def test_any_frame_size_and_a_per_pixel_factor():
    net = expressive(LWMMNet(4))
    a, b = torch.rand(1, 3, 7, 3), torch.rand(1, 3, 7, 3)
    with torch.no_grad():
        flat = net(a, b, 6.0)
        mapped = net(a, b, torch.full((1, 1, 7, 3), 6.0))
    assert flat.shape == b.shape and torch.allclose(flat, mapped, atol=1e-6)


def test_loss_parts_add_up_and_the_proxy_loss_vanishes_for_a_clean_twin(tmp_path):
    """Eq. 3.6 = 10 L1 + edge + 0.1 freq + L_A + L_M. A proxy equal to the model gives
    L_M = 0 on clean inputs and L_M > 0 once the model's inputs are noisy; L_A compares
    phi(A) with the clean frames, so noise does not change its target."""
    net = expressive(LWMMNet(4), seed=2)
    proxy = export_with_card(net, tmp_path / "proxy.safetensors")
    a, b = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    batch = {"A": a, "B": b, "Y": b, "alpha": torch.tensor([5.0, 40.0])}
    cpu = torch.device("cpu")
    clean = LWMMLightTrainConfig(channels=4, noise_max=0.0, proxy=proxy, channels_last=False)
    total, parts = task_loss(net, batch, clean, None, cpu)
    assert parts["motion"] == 0.0 and parts["appearance"] > 0.1
    expected = 10 * parts["image"] + parts["edge"] + 0.1 * parts["freq"] + parts["appearance"]
    assert total.item() == pytest.approx(expected, rel=1e-5)
    phi = net.forward_parts(a, b, 5.0)["appearance"]
    targets = torch.nn.functional.avg_pool2d(torch.cat([b, a]) * 2 - 1, 2).split(2)
    assert parts["appearance"] == pytest.approx(
        sum((phi - t).abs().mean().item() for t in targets), rel=1e-5
    )
    noisy = LWMMLightTrainConfig(channels=4, noise_max=0.5, proxy=proxy, channels_last=False)
    total, parts = task_loss(net, batch, noisy, torch.Generator().manual_seed(0), cpu)
    assert parts["motion"] > 1e-3
    expected = 10 * parts["image"] + parts["edge"] + 0.1 * parts["freq"]
    assert total.item() == pytest.approx(expected + parts["appearance"] + parts["motion"], rel=1e-5)


def test_proxy_run_then_model_run_export_and_magnify(tmp_path):
    card, proxy = tiny_run_exported(
        LWMMLightTrainConfig, tmp_path, "proxy", channels=4, noise_max=0.0
    )
    assert card["network"]["config"] == {"channels": 4}
    assert card["training"]["proxy"].startswith("none")
    card, weights = tiny_run_exported(
        LWMMLightTrainConfig, tmp_path, "lwmm-light", channels=4, proxy=str(proxy)
    )
    assert card["training"]["proxy"].startswith(str(proxy))
    net = create_model("lwmm-light", weights=weights)
    assert isinstance(net, LWMMNet) and not net.training and net.config["channels"] == 4
    frames = np.stack([quantize(np.full((24, 30, 3), 100.0) + i) for i in range(3)])
    out = magnify_frames(frames, method="lwmm-light", alpha=4, mode="dynamic",
                         weights=str(weights))  # fmt: skip
    assert out.shape == frames.shape and np.array_equal(out[0], frames[0])


def test_config_refuses_what_the_net_cannot_do(tmp_path):
    assert LWMMTrainConfig().channels == 24 and LWMMLightTrainConfig().channels == 8
    with pytest.raises(UsageError, match="motion-weight"):
        LWMMTrainConfig(motion_weight=-1).validate()
    with pytest.raises(InputError, match="train one first"):  # a missing file: exit 3
        LWMMTrainConfig(proxy=str(tmp_path / "none.safetensors")).validate()
    proxy = export_with_card(LWMMNet(4), tmp_path / "proxy.safetensors")
    with pytest.raises(UsageError, match="same network"):
        LWMMLightTrainConfig(proxy=proxy).validate()
    LWMMLightTrainConfig(channels=4, proxy=proxy).validate()
    # a proxy whose card says it saw noise is used, with a note: the thesis's is clean
    card_path = Path(proxy).with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["training"] = {"noise": "Gaussian, sigma ~ U(0, 0.04) per input frame"}
    card_path.write_text(json.dumps(card))
    with pytest.warns(UserWarning, match="trained on noisy inputs"):
        LWMMLightTrainConfig(channels=4, proxy=proxy).validate()
    # a damaged proxy file (its card intact) is refused here, before the run folder is
    # made, not at the first step, which left a run behind that refused the rerun
    whole = Path(proxy).read_bytes()
    for damaged in (b"garbage", whole[: len(whole) // 2]):
        Path(proxy).write_bytes(damaged)
        with pytest.raises(InputError, match="cannot be read as safetensors"):
            LWMMLightTrainConfig(channels=4, proxy=proxy).validate()


def test_appearance_only_is_encodes_appearance():
    """KL-DNAS's encoder stage reads the teacher's ``A`` alone: the same tensor."""
    from motionmag.nets.lwmm import LWMMNet

    torch.manual_seed(0)
    net = LWMMNet(channels=3).eval()
    a, b = torch.rand(2, 3, 12, 16), torch.rand(2, 3, 12, 16)
    with torch.no_grad():
        assert torch.equal(net.appearance_only(a, b), net.encode(a, b)["A"])
