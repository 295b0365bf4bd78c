"""Learning-to-remove (Ha et al. 2024, Sec. 4.3, Eq. 3-5): switches, loss, pruning, training.

Known answers: switches at 0 are the original network bit for bit; at 1 each component
is exactly its removed form (Fig. 9); Eq. 5's values; on a toy problem whose answer is
known (a linear teacher, a useless block) the removal loss removes exactly the
activation of the needed block and the whole useless block; pruning with switches at
0/1 keeps the output; pruned ha2024 has fewer parameters and GFLOPs (one decoder
ResBlock = 0.34 GFLOPs at 384 px); the pipeline's checkpoints and exported card rebuild
the pruned network; bad flags are UsageErrors.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest
import torch
from torch import nn

from motionmag.errors import UsageError
from motionmag.models import create_model
from motionmag.nets import removal as rm
from motionmag.nets.ha2024 import Ha2024Net
from motionmag.nets.oh2018 import Oh2018Net, ResBlock
from motionmag.train import oh2018 as trainer
from motionmag.train.removal import (
    Ha2024RemovalConfig,
    export_pruned,
    learn_to_remove,
    pair_gflops,
    parameters,
)


def _net(**kwargs) -> Ha2024Net:
    """A random Ha2024Net whose signals survive the depth (He init, halved)."""
    torch.manual_seed(0)
    net = Ha2024Net(**kwargs)
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            module.weight.data.mul_(0.5)
    return net.eval()


def _pair(size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    a = torch.rand(2, 3, size, size, generator=generator)
    return a, (a + 0.05 * torch.rand(a.shape, generator=generator)).clamp(0, 1)


def _set(switched: rm.SwitchedResBlock, /, **values: float) -> None:
    with torch.no_grad():
        for kind, value in values.items():
            getattr(switched, f"{kind}_switch").fill_(value)


# ----------------------------------------------------------------------------- switches


@torch.no_grad()
def test_switches_at_zero_reproduce_the_original_exactly():
    net = _net(decoder_blocks=3)
    a, b = _pair()
    want = net(a, b, 5.0)
    paths = rm.insert_switches(net, rm.KINDS, ("manipulator", "decoder"))
    assert paths == ["manipulator_h.1", "decoder.1.0", "decoder.1.1", "decoder.1.2"]
    assert len(rm.switch_parameters(net)) == 3 * 4
    assert torch.equal(net(a, b, 5.0), want)
    # plain weights (no switch keys) load into the switched network: the --init path
    plain = _net(decoder_blocks=3)
    net.load_state_dict(plain.state_dict())
    assert torch.equal(net(a, b, 5.0), want)


@torch.no_grad()
def test_each_switch_at_one_is_its_removed_form_fig_9():
    torch.manual_seed(2)
    block = ResBlock(4)
    for conv in (block.conv1[1], block.conv2[1]):
        nn.init.normal_(conv.weight, std=0.3)
    x = torch.randn(2, 4, 9, 9)
    h = block.conv1(x)
    forms = {
        "activation": x + block.conv2(h),  # (a) linear block
        "skip": block.conv2(torch.relu(h)),  # (b) no skip
        "block": x,  # (c) identity
    }
    original = block(x)
    for kind, removed in forms.items():
        switched = rm.SwitchedResBlock(block, (kind,))
        assert torch.equal(switched(x), original)
        _set(switched, **{kind: 1.0})
        assert torch.equal(switched(x), removed), kind
        _set(switched, **{kind: 0.3})  # Eq. 3: (1 - w) A_o + w A_t
        torch.testing.assert_close(switched(x), 0.7 * original + 0.3 * removed)


def test_switch_stays_in_unit_interval_and_moves_back_inside():
    raw = torch.tensor([-0.5, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    w = rm.switch_value(raw)
    assert w.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
    w.sum().backward()  # descent would lower every w: blocked where w is already 0
    assert raw.grad.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    raw.grad = None
    (-rm.switch_value(raw)).sum().backward()  # descent raises w: blocked at 1
    assert raw.grad.tolist() == [-1.0, -1.0, -1.0, 0.0, 0.0]


def test_removal_loss_eq_5_known_values():
    net = nn.Sequential(rm.SwitchedResBlock(ResBlock(2), ("activation", "block")))
    assert float(rm.removal_loss(net).detach()) == 1.0  # every w = 0: nothing removed yet
    _set(net[0], activation=0.5, block=1.0)
    assert float(rm.removal_loss(net, power=2.0).detach()) == pytest.approx((0.75 + 0.0) / 2)
    assert float(rm.removal_loss(net, power=1.0).detach()) == pytest.approx(0.25)
    _set(net[0], activation=0.0, block=0.0)
    rm.removal_loss(net, power=1.0).backward()  # dL/dw = -p w^(p-1) / K = -1/2
    assert net[0].activation_switch.grad.item() == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="no switches"):
        rm.removal_loss(nn.Sequential(ResBlock(2)))


def test_insert_switches_refuses_parts_without_residual_blocks():
    with pytest.raises(ValueError, match="encoder of Ha2024Net has no residual block"):
        rm.insert_switches(Ha2024Net(decoder_blocks=2), ("block",), ("encoder",))
    with pytest.raises(ValueError, match="must be some of"):
        rm.insert_switches(Ha2024Net(decoder_blocks=2), ("relu",))
    # Oh2018Net has blocks in every part: 3 + 2 + 2 encoder, 1 manipulator, 9 decoder
    assert len(rm.insert_switches(Oh2018Net(), ("block",))) == 17


# ----------------------------------------------------------------------------- toy problem


def test_removal_loss_removes_what_a_toy_task_does_not_need():
    """Known answer: the target is x + a *linear* residual of x, which block 0 can
    express without its ReLU; block 1 is not needed at all. Learning to remove (Eq. 4)
    must take block 0's activation and the whole of block 1, and keep the rest."""
    torch.manual_seed(0)
    teacher = ResBlock(6)
    for conv in (teacher.conv1[1], teacher.conv2[1]):
        nn.init.normal_(conv.weight, std=0.25)
    student = nn.Sequential(ResBlock(6), ResBlock(6))
    student[0].load_state_dict(teacher.state_dict())
    for conv in (student[1].conv1[1], student[1].conv2[1]):
        nn.init.normal_(conv.weight, std=0.25)
    for i in range(2):
        student[i] = rm.SwitchedResBlock(student[i], ("activation", "block"))
    switches = rm.switch_parameters(student)
    others = [p for p in student.parameters() if all(p is not s for s in switches)]
    optimizer = torch.optim.Adam([{"params": others, "lr": 1e-3}, {"params": switches, "lr": 0.02}])
    generator = torch.Generator().manual_seed(5)

    def target(x: torch.Tensor) -> torch.Tensor:
        return x + teacher.conv2(teacher.conv1(x))

    for _ in range(300):
        x = torch.randn(8, 6, 12, 12, generator=generator)
        with torch.no_grad():
            y = target(x)
        loss = (student(x) - y).pow(2).mean() + 0.05 * rm.removal_loss(student)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert rm.removed_components(student, 0.5) == {"activation": ["0"], "block": ["1"]}
    report = rm.removal_report(student, 0.5)
    values = {(c["path"], c["kind"]): c["switch"] for c in report["components"]}
    assert values[("0", "activation")] > 0.9 and values[("1", "block")] > 0.9
    assert values[("0", "block")] < 0.1
    assert report["summary"]["other"]["block"] == {"switched": 2, "above": 1, "removed": 1}
    gone = {(c["path"], c["kind"]) for c in report["components"] if c["removed"]}
    assert gone == {("0", "activation"), ("1", "activation"), ("1", "block")}  # with block 1
    pruned = rm.prune(student, 0.5)
    assert isinstance(pruned[1], nn.Identity) and not pruned[0].activation
    x = torch.randn(4, 6, 12, 12, generator=generator)
    with torch.no_grad():
        error = (pruned(x) - target(x)).pow(2).mean()
        baseline = (x - target(x)).pow(2).mean()  # doing nothing
    assert error < 0.01 * baseline


# ----------------------------------------------------------------------------- pruning


@torch.no_grad()
def test_pruning_keeps_the_output_when_switches_are_zero_or_one():
    net = _net(decoder_blocks=5)
    rm.insert_switches(net, rm.KINDS, ("manipulator", "decoder"))
    blocks = rm.switched_blocks(net)
    _set(blocks["manipulator_h.1"], activation=1.0)
    _set(blocks["decoder.1.0"], block=1.0, activation=1.0)
    _set(blocks["decoder.1.2"], skip=1.0)
    _set(blocks["decoder.1.3"], activation=1.0, skip=1.0)
    a, b = _pair()
    want = net(a, b, 4.0)
    pruned = rm.prune(net, threshold=0.5)
    assert not rm.switch_parameters(pruned)
    assert pruned.config["removed"] == {
        "activation": ["decoder.1.3", "manipulator_h.1"],
        "skip": ["decoder.1.2", "decoder.1.3"],
        "block": ["decoder.1.0"],
    }
    assert torch.equal(pruned(a, b, 4.0), want)
    # the config alone rebuilds the architecture; the weights load under the same names
    rebuilt = Ha2024Net(**pruned.config)
    rebuilt.load_state_dict(pruned.state_dict())  # strict
    assert torch.equal(rebuilt.eval()(a, b, 4.0), want)
    # an in-between switch is not kept: pruning is followed by retraining
    _set(blocks["decoder.1.4"], block=0.4)
    assert not torch.equal(rm.prune(net, 0.5)(a, b, 4.0), net(a, b, 4.0))


def test_pruned_ha2024_has_fewer_parameters_and_flops():
    full = Ha2024Net()
    per_block = 2 * (2 * 32 * 32 * 9 * 96 * 96) / 1e9  # two 3x3 convs at 1/4 of 384 px
    assert pair_gflops(full) == pytest.approx(14.70, abs=0.01)
    removed = {"block": [f"decoder.1.{i}" for i in range(0, 36, 3)]}  # 12 of 36
    pruned = Ha2024Net(removed=removed)
    assert pair_gflops(pruned) == pytest.approx(pair_gflops(full) - 12 * per_block, rel=1e-6)
    assert parameters(full) - parameters(pruned) == 12 * 2 * 32 * 32 * 9
    linear = Ha2024Net(removed={"activation": ["decoder.1.0"], "skip": ["decoder.1.1"]})
    assert pair_gflops(linear) == pytest.approx(pair_gflops(full))  # as Table 1: no FLOPs
    assert Ha2024Net().config == Ha2024Net(removed={}).config  # no key when nothing went
    with pytest.raises(ValueError, match="not a residual block"):
        Ha2024Net(removed={"block": ["decoder.0"]})


# ----------------------------------------------------------------------------- training


def _tiny(**kwargs) -> Ha2024RemovalConfig:
    settings = dict(
        size_px=32, steps=6, workers=0, validate_every=3, val_samples=4, checkpoint_every=3,
        log_every=1, dataset_size=50, decoder_blocks=3, switch_lr=0.2, retrain_steps=3,
    )  # fmt: skip
    settings.update(kwargs)
    return Ha2024RemovalConfig(**settings)


def test_pipeline_removes_prunes_retrains_and_round_trips(tmp_path):
    run = tmp_path / "run"
    report = learn_to_remove(_tiny(), run, progress=False, command="pytest")
    # switch lr 0.2 for 6 steps from a random init: every switch of a block reaches 1
    assert report["removal"]["removed"]["block"] == [
        "decoder.1.0", "decoder.1.1", "decoder.1.2", "manipulator_h.1",
    ]  # sorted  # fmt: skip
    size = report["size"]
    assert size["gflops_after"] < size["gflops_before"]
    assert size["parameters_after"] < size["parameters_before"]
    assert report["retrain_phase"]["step"] == 9
    assert json.loads((run / "removal.json").read_text())["size"] == size
    header = (run / "remove" / "log.csv").read_text().splitlines()[0]
    assert header.endswith("edge,removal,switch_mean")
    # the phases' checkpoints are recognised even by a trainer that never imported them
    state = trainer.load_checkpoint(run / "retrain" / "checkpoint.pt")
    assert state["format"] == "motionmag-train-ha2024-pruned/1"
    assert state["net_config"]["removed"] == report["removal"]["removed"]
    out = tmp_path / "w" / "pruned.safetensors"
    card = export_pruned(run, out)
    assert card["network"]["config"]["removed"] == report["removal"]["removed"]
    assert card["removal"]["threshold"] == 0.5 and card["training"]["edge_weight"] == 1.0
    model = create_model("ha2024", weights=out)
    best = trainer.load_checkpoint(run / "retrain" / "best.pt")["model"]
    assert model.state_dict().keys() == best.keys()
    for key, value in model.state_dict().items():
        assert torch.equal(value, best[key]), key
    # resuming a finished pipeline changes nothing
    again = learn_to_remove(_tiny(), run, resume=True, progress=False)
    assert again["removal"] == report["removal"]
    assert again["retrain_phase"]["step"] == 9


def test_removal_phase_starts_from_trained_weights(tmp_path):
    base = trainer.Ha2024TrainConfig(
        size_px=32, steps=2, workers=0, validate_every=0, dataset_size=50, decoder_blocks=3
    )
    trainer.train_model(base, tmp_path / "base", progress=False)
    weights = tmp_path / "base.safetensors"
    trainer.export_weights(tmp_path / "base", weights)
    config = _tiny(steps=4, retrain_steps=0, validate_every=0)
    report = learn_to_remove(config, tmp_path / "run", init_from=weights, progress=False)
    assert report["remove_phase"]["step"] == 4 and "retrain_phase" not in report
    with pytest.raises(UsageError, match="at step 2 already"):
        learn_to_remove(_tiny(steps=2), tmp_path / "other", init_from=weights, progress=False)


def test_existing_recipes_are_unchanged():
    for model in ("oh2018", "ha2024"):
        assert trainer.RECIPES[model].hooks is None
    assert trainer.RECIPES["ha2024"].checkpoint_format == "motionmag-train-ha2024/1"
    config = trainer.Ha2024TrainConfig(decoder_blocks=2)
    net = trainer.make_net(config)
    assert type(net) is Ha2024Net and "removed" not in net.config
    (group,) = trainer._param_groups(net, config)  # one group: every parameter, config.lr
    assert set(group) == {"params"} and len(group["params"]) == len(list(net.parameters()))
    assert all(isinstance(p, nn.Parameter) for p in group["params"])


# ----------------------------------------------------------------------------- CLI


def _parse(argv: list[str]):
    from motionmag.train.cli_train import add_train_command

    parser = argparse.ArgumentParser(prog="motionmag")
    add_train_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["train", "ha2024", *argv])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--remove-weight", "1"], "only works with --remove"),
        (["--remove", "relus"], "is not a component"),
        (["--remove", "blocks", "--remove-in", "encoder"], "encoder of Ha2024Net has no"),
        (["--remove", "blocks", "--remove-in", "head"], "must name some of"),
        (["--remove", "blocks", "--prune-threshold", "1.5"], r"must be in \[0, 1\)"),
        (["--remove", "blocks", "--remove-weight", "-1"], "must be a number >= 0"),
        (["--remove", "blocks", "--export", "x.pt"], "must end in .safetensors"),
        (["--remove", "blocks", "--linear-manipulator", "--remove-in", "manipulator"],
         "manipulator of Ha2024Net has no"),
    ],
)  # fmt: skip
def test_cli_usage_errors(tmp_path, argv, message):
    args = _parse([*argv, "--run", str(tmp_path / "run"), "--quiet"])
    with pytest.raises(UsageError, match=message):
        args.run(args)
    assert not (tmp_path / "run").exists()  # refused before any work


def test_cli_runs_the_pipeline(tmp_path, capsys):
    out = tmp_path / "w" / "pruned.safetensors"
    report = tmp_path / "report.json"
    args = _parse(
        ["--remove", "blocks", "--remove-in", "decoder", "--size", "32", "--steps", "3",
         "--decoder-blocks", "2", "--switch-lr", "0.5", "--workers", "0",
         "--validate-every", "0", "--retrain-steps", "1", "--run", str(tmp_path / "run"),
         "--quiet", "--export", str(out), "--report", str(report)]
    )  # fmt: skip
    assert args.run(args) == 0
    printed = capsys.readouterr().out
    assert "decoder      block      2/2/2" in printed
    data = json.loads(report.read_text())
    assert data["config"]["remove"] == ["block"] and data["config"]["remove_parts"] == ["decoder"]
    assert create_model("ha2024", weights=out).config["removed"] == {
        "block": ["decoder.1.0", "decoder.1.1"]
    }


def test_a_changed_pruning_retrains_afresh_and_the_old_retrain_is_kept(tmp_path):
    """Resumed with more removal steps (or another tau), phase 1 prunes anew; the old
    retrain run descends from the previous pruning, so it is set aside, not continued."""
    run = tmp_path / "run"
    learn_to_remove(_tiny(), run, progress=False)
    again = learn_to_remove(_tiny(steps=8), run, resume=True, progress=False)
    assert again["pruned"]["step"] == 8 and again["retrain_phase"]["step"] == 11
    assert again["stale_retrain"] == str(run / "retrain-from-step-6")
    old = trainer.load_checkpoint(run / "retrain-from-step-6" / "checkpoint.pt")
    assert old["step"] == 9
    # the same pruning resumed again: the retrain run is its own, and is kept
    same = learn_to_remove(_tiny(steps=8), run, resume=True, progress=False)
    assert "stale_retrain" not in same and same["retrain_phase"]["step"] == 11


def test_prune_threshold_given_on_resume_is_the_one_used(tmp_path):
    run = tmp_path / "run"
    first = learn_to_remove(_tiny(retrain_steps=0), run, progress=False)
    assert first["removal"]["threshold"] == 0.5
    again = learn_to_remove(
        _tiny(retrain_steps=0, prune_threshold=0.999), run, resume=True, progress=False
    )
    assert again["removal"]["threshold"] == 0.999
    assert again["config"]["prune_threshold"] == 0.999


def test_max_seconds_counts_both_phases_and_a_time_stop_in_retraining_is_a_stop(
    tmp_path, monkeypatch
):
    """--max-hours is the session's: each phase used to get all of it, and a retrain
    stopped by time was reported as finished."""
    from motionmag.train import removal

    given = []
    real = trainer.train_model

    def recording(config, run_dir, **kwargs):
        given.append(kwargs["max_seconds"])
        if run_dir.name == "retrain":  # as if time ran out after one step
            config = dataclasses.replace(config, steps=config.steps - 2)
        return real(config, run_dir, **kwargs)

    monkeypatch.setattr(removal.trainer, "train_model", recording)
    report = learn_to_remove(_tiny(), tmp_path / "run", progress=False, max_seconds=1e4)
    assert given[0] == 1e4 and 0 < given[1] < 1e4
    assert report["retrain_phase"]["step"] == 7 and report["interrupted"] == "max_seconds"


def test_pruned_weights_without_retraining_export_a_whole_card(tmp_path):
    run = tmp_path / "run"
    learn_to_remove(_tiny(retrain_steps=0), run, progress=False)
    card = export_pruned(run, tmp_path / "pruned.safetensors")
    for key in ("data", "input", "alpha", "motionmag"):
        assert key in card, key
    assert card["training"]["phase"] == "learning-to-remove, pruned, not retrained"
    assert card["metrics"]["validation"]["ssim"] > 0
    assert "config" in card["network"] and "removed" in card["network"]["config"]


def test_cli_resume_of_a_removal_run_needs_no_remove_flag(tmp_path, capsys):
    run = str(tmp_path / "run")
    common = ["--size", "32", "--decoder-blocks", "2", "--workers", "0", "--validate-every",
              "0", "--run", run, "--quiet"]  # fmt: skip
    args = _parse(["--remove", "blocks", "--steps", "2", *common])
    assert args.run(args) == 0
    args = _parse(["--resume", "--steps", "3", *common])
    assert args.run(args) == 0
    report = json.loads((tmp_path / "run" / "removal.json").read_text())
    assert report["remove_phase"]["step"] == 3 and report["config"]["remove"] == ["block"]


def test_a_damaged_checkpoint_is_one_sentence(tmp_path):
    from motionmag.errors import InputError

    path = tmp_path / "checkpoint.pt"
    for content in (b"hello", b"", b"PK\x03\x04 not really a zip"):
        path.write_bytes(content)
        with pytest.raises(InputError, match="damaged or not a torch file"):
            trainer.load_checkpoint(path)
    torch.save([1, 2], path)
    with pytest.raises(InputError, match="is not a training checkpoint"):
        trainer.load_checkpoint(path)


def test_cli_remove_from_init_without_steps_trains_the_default_past_the_weights(
    tmp_path, monkeypatch
):
    """README: `--remove ... --init W` without --steps trains 100,000 steps past W (it
    was refused: '--steps 100000 is the run's total and W is at step ... already')."""
    from motionmag.train import removal

    base = trainer.Ha2024TrainConfig(
        size_px=32, steps=2, workers=0, validate_every=0, dataset_size=50, decoder_blocks=2
    )
    trainer.train_model(base, tmp_path / "base", progress=False)
    weights = tmp_path / "base.safetensors"
    trainer.export_weights(tmp_path / "base", weights)
    seen = {}

    def capture(config, run_dir, **kwargs):
        seen["steps"] = config.steps
        return {"interrupted": "max_seconds"}

    monkeypatch.setattr(removal, "learn_to_remove", capture)
    args = _parse(["--remove", "blocks", "--init", str(weights), "--size", "32",
                   "--run", str(tmp_path / "run"), "--quiet"])  # fmt: skip
    assert args.run(args) == 0
    assert seen["steps"] == removal.Ha2024RemovalConfig().steps + 2
