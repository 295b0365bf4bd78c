"""HMN (Singh 2024, Ch. 7): Sobel edges, MSM gating, size, contrastive loss, trainer.

Known answers: the Sobel responses of a ramp are its slopes; MSM is Eqs. 7.1-7.3 as
printed (with its gates shut, W4 = W1 = F1 + F1 sigmoid(F1)); the MSM features are
linear in M_f; the thesis's size (Table 7.1); Eq. 7.4's value and its zero for a model
equal to its proxy on clean inputs; the negative snapshot refreshes on schedule; a proxy
run, then a contrastive run against it, end to end. Tiny on purpose (<= 64 px, few steps).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionmag import magnify_frames
from motionmag.errors import InputError, UsageError
from motionmag.models import create_model
from motionmag.nets.hmn import MSM, HMNNet, sobel_xy
from motionmag.synth.vibration import quantize
from motionmag.train import hmn as hmn_train
from motionmag.train.hmn import HMNLightTrainConfig, HMNTrainConfig, contrastive_loss, task_loss
from net_helpers import (
    assert_finite_fp32_grads,
    export_with_card,
    expressive,
    tiny_run_exported,
)


def test_sobel_of_a_ramp_is_its_slope():
    y, x = torch.meshgrid(torch.arange(12.0), torch.arange(12.0), indexing="ij")
    ramp = torch.stack([0.03 * x - 0.02 * y, 0.5 * x, -y])[None]
    edges = sobel_xy(ramp)[..., 1:-1, 1:-1]  # the reflected border is not a ramp
    expected = torch.tensor([0.03, -0.02, 0.5, 0.0, 0.0, -1.0]).view(1, 6, 1, 1)
    assert torch.allclose(edges, expected.expand_as(edges), atol=1e-6)


def test_msm_is_the_printed_equations():
    """With the three later gates shut (sigmoid -> 0), W4 = W1 = F1 + F1 BN(sigmoid(F1));
    with them open, W4 = W1 (1 + BN(1)), not W1 (1 + BN(1))^3 (Eq. 7.3 as printed: every
    gate multiplies the base W1). BatchNorm in eval mode with fresh statistics is
    x / sqrt(1 + 1e-5)."""
    torch.manual_seed(0)
    msm = MSM(4, dilation=2).eval()
    with torch.no_grad():
        for conv in msm.rest:
            conv.bias.fill_(-1e4)
    e, f_t, f_prev = (torch.randn(1, 4, 16, 16) for _ in range(3))
    with torch.no_grad():
        f1 = msm.first(torch.cat([e, f_t, f_prev], dim=1))
        expected = f1 + f1 * torch.sigmoid(f1) / (1 + 1e-5) ** 0.5
        assert torch.allclose(msm(e, f_t, f_prev), expected, atol=1e-5)
        for conv in msm.rest:  # gates open (sigmoid -> 1): each multiplies W1, not W_n
            conv.bias.fill_(1e4)
        gate = 1 / (1 + 1e-5) ** 0.5
        assert torch.allclose(msm(e, f_t, f_prev), expected * (1 + gate), atol=1e-4)


@pytest.mark.parametrize(("channels", "params", "gflops"), [(24, 2.5e6, 602.5), (8, 0.28e6, 68.3)])
def test_size_is_near_the_thesis(channels, params, gflops):
    """Table 7.1 (read as 720x720, THESIS.md s.2.4): M1 2.5 M / 602.5, M2 0.28 M / 68.3."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        net = HMNNet(channels).eval()
        frame = torch.empty(1, 3, 720, 720)
    parameters = sum(p.numel() for p in net.parameters())
    assert params * 0.9 < parameters < params * 1.1
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(frame, frame, 10.0)
    assert gflops * 1e9 * 0.9 < counter.get_total_flops() < gflops * 1e9 * 1.1


def test_msm_features_are_linear_in_the_factor_and_every_parameter_learns():
    net = expressive(HMNNet(4))
    a, b = torch.rand(2, 3, 16, 24), torch.rand(2, 3, 16, 24)
    with torch.no_grad():
        low = net.forward_parts(a, b, 3.0)["msm"]
        high = net.forward_parts(a, b, torch.tensor([12.0, 12.0]))["msm"]
        mapped = net.forward_parts(a, b, torch.full((2, 1, 16, 24), 3.0))["msm"]
    assert [x.shape[-1] for x in low] == [24, 12, 6]  # full, 1/2, 1/4
    for lo, hi, mp in zip(low, high, mapped, strict=True):
        assert torch.allclose(hi, 4 * lo, atol=1e-4) and torch.allclose(mp, lo, atol=1e-6)
    net.train()
    out = net(a[:, :, :13, :9], b[:, :, :13, :9], 10.0)  # any size
    assert out.shape == (2, 3, 13, 9)
    out.square().mean().backward()
    assert_finite_fp32_grads(net)
    assert all(p.grad.abs().sum() > 0 for p in net.parameters())


def test_contrastive_loss_value():
    n, pos, neg = torch.zeros(1, 2, 4, 4), torch.full((1, 2, 4, 4), 0.5), torch.ones(1, 2, 4, 4)
    value = contrastive_loss([n, n], [pos, n], [neg, neg]).item()
    assert value == pytest.approx(0.5 / (1 + 1e-3))


def test_contrastive_term_vanishes_for_a_clean_twin_and_the_negative_refreshes(tmp_path):
    """A proxy equal to the model: C = 0 on clean inputs (noise 0). The negative starts as
    the model's weights and is refreshed from it every ``snapshot_every`` steps."""
    net = expressive(HMNNet(4), seed=3)
    proxy = export_with_card(net, tmp_path / "proxy.safetensors")
    batch = {"A": torch.rand(2, 3, 16, 16), "B": torch.rand(2, 3, 16, 16)}
    batch.update(Y=batch["B"], alpha=torch.tensor([5.0, 40.0]))
    config = HMNLightTrainConfig(channels=4, noise_max=0.0, proxy=proxy, snapshot_every=2,
                                 channels_last=False)  # fmt: skip
    cpu = torch.device("cpu")
    _, parts = task_loss(net, batch, config, None, cpu)
    assert parts["contrastive"] == 0.0
    snapshot = hmn_train._SNAPSHOTS[id(net)][0]
    with torch.no_grad():
        net.head.bias.add_(0.5)
    task_loss(net, batch, config, None, cpu)  # second step: not yet refreshed
    assert not torch.equal(snapshot.head.bias, net.head.bias)
    task_loss(net, batch, config, None, cpu)  # third: refreshed before its loss
    assert torch.equal(snapshot.head.bias, net.head.bias)
    noisy = HMNLightTrainConfig(channels=4, noise_max=0.5, proxy=proxy, channels_last=False)
    total, parts = task_loss(expressive(HMNNet(4), seed=4), batch, noisy, None, cpu)
    assert parts["contrastive"] > 0
    expected = 10 * parts["image"] + parts["edge"] + 0.1 * parts["freq"] + parts["contrastive"]
    assert total.item() == pytest.approx(expected, rel=1e-5)


def test_proxy_run_then_contrastive_run_export_and_magnify(tmp_path):
    card, proxy = tiny_run_exported(HMNLightTrainConfig, tmp_path, "proxy", channels=4,
                                    noise_max=0.0)  # fmt: skip
    assert card["training"]["contrastive"].startswith("off")
    card, weights = tiny_run_exported(HMNLightTrainConfig, tmp_path, "hmn-light", channels=4,
                                      proxy=str(proxy))  # fmt: skip
    assert card["training"]["contrastive"].startswith(f"on (Eq. 7.4): positive {proxy}")
    net = create_model("hmn-light", weights=weights)
    assert isinstance(net, HMNNet) and not net.training and net.config["channels"] == 4
    learned = sum(p.numel() for p in net.parameters())  # BatchNorm's statistics not counted
    assert (
        card["network"]["parameters"] == learned < sum(t.numel() for t in net.state_dict().values())
    )
    frames = np.stack([quantize(np.full((24, 30, 3), 100.0) + i) for i in range(3)])
    out = magnify_frames(frames, method="hmn-light", alpha=4, mode="dynamic",
                         weights=str(weights))  # fmt: skip
    assert out.shape == frames.shape and np.array_equal(out[0], frames[0])


def test_config_refuses_what_the_net_cannot_do(tmp_path):
    assert HMNTrainConfig().channels == 24 and HMNLightTrainConfig().channels == 8
    with pytest.raises(UsageError, match="give --proxy too"):
        HMNTrainConfig(negative="x.safetensors").validate()
    with pytest.raises(UsageError, match="snapshot-every"):
        HMNTrainConfig(snapshot_every=-1).validate()
    with pytest.raises(InputError, match="train one first"):  # a missing file: exit 3
        HMNTrainConfig(proxy=str(tmp_path / "none.safetensors")).validate()
    proxy = export_with_card(HMNNet(4), tmp_path / "p.safetensors")
    with pytest.raises(UsageError, match="same network"):
        HMNLightTrainConfig(proxy=proxy).validate()
    HMNLightTrainConfig(channels=4, proxy=proxy, negative=proxy).validate()


def test_contrastive_fine_tuning_without_init_gets_a_note(capsys):
    """Sec. 7.1.5's third run fine-tunes the second's model: --proxy alone starts the
    contrastive run from random weights, which is said; --init or --resume is not."""
    import argparse

    from motionmag.train.cli_train import _note_hmn_fine_tuning

    config = HMNLightTrainConfig(channels=4)
    config.proxy = "proxy.safetensors"
    for init, resume, noted in ((None, False, True), ("main.safetensors", False, False),
                                (None, True, False)):  # fmt: skip
        args = argparse.Namespace(model="hmn-light", init=init, resume=resume)
        _note_hmn_fine_tuning(args, config)
        said = capsys.readouterr().err
        assert ("--proxy without --init" in said) == noted, (init, resume, said)
    _note_hmn_fine_tuning(argparse.Namespace(model="hmn-light", init=None, resume=False),
                          HMNLightTrainConfig(channels=4))  # fmt: skip
    assert capsys.readouterr().err == ""  # no proxy: the first two runs
