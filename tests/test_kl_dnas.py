"""KL-DNAS (Singh 2024, Ch. 4): mixed layers, derivation, latency, and the four-stage search."""

from __future__ import annotations

import json
import math

import pytest
import torch

from motionmag.errors import UsageError
from motionmag.nets.kl_dnas import (
    OP_SETS,
    CombineLayer,
    KLDNASNet,
    SearchBlock,
    SearchLayer,
    derive,
    genotype_of,
    op_shape,
)
from motionmag.nets.kl_dnas_latency import expected_latency, latency_loss, measure_costs
from motionmag.nets.lwmm import LWMMNet
from motionmag.train.kl_dnas import KLDNASTrainConfig
from net_helpers import export_with_card, tiny_run_exported


def _pick(layer, name: str, strength: float = 60.0) -> None:
    """Set a mixed layer's logits so that softmax puts all its weight on ``name``."""
    with torch.no_grad():
        layer.arch.fill_(-strength)
        layer.arch[layer.names.index(name)] = strength


def test_op_names_parse_to_kernel_and_dilation():
    assert op_shape("conv3x3_d1") == (3, 1)
    assert op_shape("conv5x5_d8") == (5, 8)
    assert len(OP_SETS["full"]) == 9 and len(OP_SETS["reduced"]) == 5


def test_mixed_layer_is_the_softmax_weighted_sum_of_its_ops():
    torch.manual_seed(0)
    layer = SearchLayer(4, OP_SETS["reduced"])
    with torch.no_grad():
        layer.arch.copy_(torch.tensor([0.3, -1.0, 0.5, 2.0, 0.1]))
    x = torch.randn(2, 4, 12, 12)
    w = torch.softmax(layer.arch.detach(), 0)
    expected = sum(w[i] * layer.ops[n](x) for i, n in enumerate(layer.names) if n != "none")
    torch.testing.assert_close(layer(x), expected)
    assert layer.derived() == "conv3x3_d4"


def test_none_is_zero_inside_the_mixture_and_the_identity_once_derived():
    layer = SearchLayer(3, OP_SETS["reduced"])
    _pick(layer, "none")
    x = torch.randn(1, 3, 8, 8)
    assert layer(x).abs().max() < 1e-12
    chosen = SearchLayer(3, OP_SETS["reduced"], choice="none")
    assert torch.equal(chosen(x), x) and not list(chosen.parameters())


def test_combine_layer_ops():
    x, y = torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 6)
    assert torch.equal(CombineLayer(4, "none")(x, y), x)
    assert torch.equal(CombineLayer(4, "add")(x, y), x + y)
    concat = CombineLayer(4, "concat")
    torch.testing.assert_close(concat(x, y), concat.fuse(torch.cat([x, y], 1)))
    mixed = CombineLayer(4)
    mixed.fuse.load_state_dict(concat.fuse.state_dict())
    _pick(mixed, "add")
    torch.testing.assert_close(mixed(x, y), x + y)


def test_chains_reach_back_to_the_block_input_and_across_streams():
    block = SearchBlock("encoder", 4, layers=4, reach=2, ops=OP_SETS["reduced"], streams=2,
                        choose=lambda key: None)  # fmt: skip
    links = [len(cell.chain) for cell in block.rows[0]]
    # depth d: min(d, reach) earlier layers + the block input + the other stream
    assert links == [2, 3, 4, 4]
    keys = [key for key, _ in block.choices()]
    assert "encoder/1/3/c3" in keys and "encoder/0/0/r" in keys and len(keys) == 2 * (4 + 13)


def test_a_chain_that_adds_everything_is_the_sum_of_its_sources():
    """Layer 1 (reach 1, one stream) with identity LR and 'add' links: R1 + R0 + input."""
    genotype = {"decoder/0/0/r": "none", "decoder/0/0/c0": "add", "decoder/0/1/r": "none",
                "decoder/0/1/c0": "add", "decoder/0/1/c1": "add"}  # fmt: skip
    block = SearchBlock("decoder", 3, layers=2, reach=1, ops=OP_SETS["reduced"], streams=1,
                        choose=genotype.get)  # fmt: skip
    x = torch.randn(1, 3, 5, 5)
    # depth 0: R0 = x, F0 = R0 + x = 2x; depth 1: R1 = F0 = 2x, F1 = R1 + R0 + x = 4x
    torch.testing.assert_close(block(x)[0], 4 * x)


def test_derived_network_equals_a_decided_supernet_and_inherits_its_weights():
    torch.manual_seed(1)
    net = KLDNASNet(channels=6, layers=2, reach=1).eval()
    for i, (_, layer) in enumerate(net.choices()):
        names = [n for n in layer.names if n != "none"]
        _pick(layer, names[i % len(names)])
    derived = derive(net).eval()
    assert not derived.arch_parameters()
    assert len(derived.config["genotype"]) == len(list(net.choices()))
    a, b = torch.rand(2, 3, 20, 24), torch.rand(2, 3, 20, 24)
    with torch.no_grad():
        torch.testing.assert_close(derived(a, b, 7.0), net(a, b, 7.0), atol=1e-5, rtol=0)
    rebuilt = KLDNASNet(**derived.config)
    rebuilt.load_state_dict(derived.state_dict())  # the card's config rebuilds the net


def test_derive_one_part_keeps_the_others_mixed():
    net = KLDNASNet(channels=4, layers=2, reach=1)
    encoder_only = derive(net, ("encoder",))
    assert all(k.startswith("encoder/") for k in encoder_only.config["genotype"])
    assert len(encoder_only.arch_parameters()) == len(net.arch_parameters(("appearance",
               "manipulator", "decoder")))  # fmt: skip
    assert genotype_of(net, ()) == {}
    with pytest.raises(ValueError, match="not in this network"):
        KLDNASNet(channels=4, layers=1, genotype={"decoder/0/5/r": "none"})


def test_supernet_size_matches_the_thesis_inference():
    """THESIS.md s.4.2: 48-channel mixed LR layers of the 9 ops hold 136 x 48^2 weights;
    the thesis's SM1 supernet (20 of them) has 6.2 M parameters."""
    layer = SearchLayer(48, OP_SETS["full"])
    weights = sum(p.numel() for n, p in layer.named_parameters() if n.endswith("weight"))
    assert weights == 136 * 48 * 48
    net = KLDNASNet(channels=48, layers=4, ops="full")
    total = sum(p.numel() for p in net.parameters())
    encoder = sum(p.numel() for p in net.encoder.parameters())
    decoder = sum(p.numel() for p in net.decoder.parameters())
    assert abs(total / 6.2e6 - 1) < 0.1  # 6.58 M
    assert abs(encoder / 2.6e6 - 1) < 0.05 and abs(decoder / 1.3e6 - 1) < 0.05


def test_untrained_encoder_streams_are_equal_so_a_still_pair_has_no_motion():
    net = KLDNASNet(channels=4, layers=2)
    frame = torch.rand(1, 3, 16, 16)
    e_a, e_b = net.encode(frame, frame)
    torch.testing.assert_close(e_a, e_b)


def test_expected_latency_is_the_softmax_average_of_the_table_and_differentiable():
    costs = {"none": 0.0, "conv3x3_d1": 1.0, "conv3x3_d2": 2.0, "conv3x3_d4": 4.0,
             "conv5x5_d1": 3.0, "add": 0.5, "concat": 1.5, "fixed/decoder": 10.0}  # fmt: skip
    net = KLDNASNet(channels=4, layers=1, reach=0)
    # uniform mixtures: the decoder block has one LR (mean 2.0) and one LC (mean 2/3)
    latency = expected_latency(net, costs, "decoder")
    assert float(latency.detach()) == pytest.approx(10.0 + 2.0 + 2.0 / 3.0)
    latency_loss(latency, 20.0).backward()
    assert net.decoder.rows[0][0].layer.arch.grad.abs().sum() > 0
    assert float(latency_loss(torch.tensor(5.0), 5.0)) == 0.0
    assert float(latency_loss(torch.tensor(10.0), 5.0)) == pytest.approx(math.log(2))
    assert float(latency_loss(torch.tensor(2.5), 5.0)) == pytest.approx(math.log(2))


def test_measured_table_has_every_op_and_wider_kernels_cost_more():
    costs = measure_costs(16, "reduced", frame_hw=(96, 128), runs=3)
    assert set(OP_SETS["reduced"]) | {"add", "concat", "fixed/encoder", "fixed/middle",
                                      "fixed/decoder"} <= set(costs)  # fmt: skip
    assert costs["none"] == 0.0 and all(v >= 0 for v in costs.values())
    assert costs["conv5x5_d1"] > costs["add"]


def _teacher(tmp_path) -> str:
    torch.manual_seed(0)
    return export_with_card(LWMMNet(channels=2), tmp_path / "teacher.safetensors")


def test_the_four_stages_run_in_series_and_the_result_is_a_plain_network(tmp_path):
    from motionmag.models import create_model

    teacher = _teacher(tmp_path)
    previous = None
    genotypes = []
    for stage in ("encoder", "middle", "decoder", "finetune"):
        card, previous = tiny_run_exported(
            KLDNASTrainConfig, tmp_path, f"kd-{stage}", stage=stage, teacher=teacher,
            previous=None if previous is None else str(previous), layers=2, reach=1,
        )  # fmt: skip
        genotypes.append(card["network"]["config"]["genotype"])
        assert card["network"]["config"]["channels"] == 4  # the teacher's 2C
        search = card["network"].get("search", {})
        if stage != "finetune":
            assert search["stage"] == stage and search["target_ms"] > 0
            assert math.isclose(search["unspent_ms"], search["target_ms"] - search["latency_ms"])
    # the genotype grows stage by stage: encoder, then appearance + manipulator, then all
    assert genotypes[0] == {}
    assert {k.split("/")[0] for k in genotypes[1]} == {"encoder"}
    assert {k.split("/")[0] for k in genotypes[2]} == {"encoder", "appearance", "manipulator"}
    # the last card tells the whole search: each earlier stage, in order, with its runs
    earlier = card["training"]["earlier_stages"]
    assert [e["stage"] for e in earlier] == ["encoder", "middle", "decoder"]
    assert all(e["samples_seen"] > 0 and e["sessions"] for e in earlier)
    assert earlier[1]["derived_genotype"] == genotypes[2]  # what the middle stage derived
    net = create_model("kl-dnas", weights=str(previous))
    assert not net.arch_parameters()
    assert len(net.config["genotype"]) == len(list(net.choices()))
    out = net(torch.rand(1, 3, 18, 22), torch.rand(1, 3, 18, 22), 5.0)
    assert out.shape == (1, 3, 18, 22) and torch.isfinite(out).all()


def test_stage_carries_the_unspent_budget_and_not_an_overshoot(tmp_path):
    import shutil

    from motionmag.train import kl_dnas

    teacher = _teacher(tmp_path)
    _, encoder = tiny_run_exported(KLDNASTrainConfig, tmp_path, "enc", teacher=teacher,
                                   layers=1, reach=0)  # fmt: skip
    card = json.loads(encoder.with_suffix(".json").read_text())
    search = card["network"]["search"]
    assert search["unspent_ms"] == pytest.approx(search["target_ms"] - search["latency_ms"])
    for unspent, carried in ((3.0, 3.0), (-5.0, 0.0)):
        previous = tmp_path / f"enc{unspent}.safetensors"
        shutil.copy(encoder, previous)
        card["network"]["search"]["unspent_ms"] = unspent
        previous.with_suffix(".json").write_text(json.dumps(card))
        config = KLDNASTrainConfig(stage="middle", teacher=teacher, previous=str(previous))
        plan = kl_dnas.latency_plan(config)
        assert plan["carried_ms"] == carried
        assert plan["target_ms"] == pytest.approx(0.45 * plan["teacher_ms"]["middle"] + carried)
    # the encoder stage's export as the decoder stage's --previous (it skips the middle
    # stage, whose parts would be fixed untrained): refused, naming both stages
    with pytest.raises(UsageError, match="is the encoder stage's export, but --stage decoder"):
        KLDNASTrainConfig(stage="decoder", teacher=teacher, previous=str(encoder)).validate()


def test_configuration_errors_are_one_sentence(tmp_path):
    teacher = _teacher(tmp_path)
    with pytest.raises(UsageError, match="needs --teacher"):
        KLDNASTrainConfig().validate()
    with pytest.raises(UsageError, match="needs --previous"):
        KLDNASTrainConfig(stage="middle", teacher=teacher).validate()
    with pytest.raises(UsageError, match="leave out --previous"):
        KLDNASTrainConfig(teacher=teacher, previous=teacher).validate()
    with pytest.raises(UsageError, match="not a KL-DNAS network"):
        KLDNASTrainConfig(stage="decoder", teacher=teacher, previous=teacher).validate()
    student = export_with_card(KLDNASNet(channels=4, layers=1), tmp_path / "s.safetensors")
    with pytest.raises(UsageError, match="not an LW-MM network"):
        KLDNASTrainConfig(teacher=student).validate()
    with pytest.raises(UsageError, match="--stage"):
        KLDNASTrainConfig(stage="all", teacher=teacher).validate()
    # a previous stage searched under a teacher of another width (a traceback before)
    other = export_with_card(KLDNASNet(channels=6, layers=1), tmp_path / "wide.safetensors")
    with pytest.raises(
        UsageError, match="6 channels wide, but this --teacher makes a student 4 wide"
    ):
        KLDNASTrainConfig(stage="middle", teacher=teacher, previous=str(other)).validate()


def test_a_latency_table_from_another_machine_is_used_and_checked(tmp_path):
    """``--latency-table``: the record of benchmarks/kl_dnas_latency.py replaces the
    measurement (the entry of the student's width); a table without it is refused."""
    from motionmag.train import kl_dnas

    teacher = _teacher(tmp_path)  # C = 2: student width 4
    costs = {op: 1.0 for op in OP_SETS["reduced"]}
    costs.update({"none": 0.0, "add": 0.5, "concat": 2.0, "fixed/encoder": 3.0,
                  "fixed/middle": 1.0, "fixed/decoder": 4.0})  # fmt: skip
    teacher_ms = {"encoder": 100.0, "middle": 20.0, "decoder": 80.0}
    record = {"results": {"tiny": {"student_width": 4, "lookup_table_ms": costs,
                                   "teacher_ms": teacher_ms}}}  # fmt: skip
    table = tmp_path / "laptop.json"
    table.write_text(json.dumps(record))
    config = KLDNASTrainConfig(teacher=teacher, latency_table=str(table))
    config.validate()
    plan = kl_dnas.latency_plan(config)
    assert plan["costs"] == costs and plan["target_ms"] == pytest.approx(45.0)
    record["results"]["tiny"]["student_width"] = 48
    table.write_text(json.dumps(record))
    with pytest.raises(UsageError, match="no table for width 4"):
        KLDNASTrainConfig(teacher=teacher, latency_table=str(table)).validate()
    record["results"]["tiny"]["student_width"] = 4
    del record["results"]["tiny"]["lookup_table_ms"]["conv5x5_d1"]
    table.write_text(json.dumps(record))
    with pytest.raises(UsageError, match="lacks conv5x5_d1"):
        KLDNASTrainConfig(teacher=teacher, latency_table=str(table)).validate()


def _arch_and_weights(net) -> tuple[torch.Tensor, torch.Tensor]:
    logits = torch.cat([p.detach().flatten() for p in net.arch_parameters()])
    ids = {id(p) for p in net.arch_parameters()}
    weights = torch.cat([p.detach().flatten() for p in net.parameters() if id(p) not in ids])
    return logits.clone(), weights.clone()


@pytest.mark.parametrize("schedule", ["joint", "alternate"])
def test_logits_wait_out_the_warmup_then_step_by_the_schedule(tmp_path, schedule):
    """THESIS.md s.4.6: logits frozen for the first 10 % of a stage; ``alternate`` is
    first-order DARTS (weight and logit steps take turns), ``joint`` steps both."""
    from motionmag.train.kl_dnas import ARCH_BETAS, param_groups
    from motionmag.train.loop import hold_gated_groups

    torch.manual_seed(0)
    net = KLDNASNet(channels=8, layers=1, reach=0)  # width 4 at seed 0: a dead ReLU
    config = KLDNASTrainConfig(steps=20, arch_warmup=0.1, arch_schedule=schedule)
    groups = param_groups(net, config)
    assert groups[1]["own_betas"] == ARCH_BETAS and groups[1]["start_step"] == 2
    optimizer = torch.optim.Adam(
        [{**g, "betas": g.get("own_betas", (0.9, 0.999))} for g in groups], lr=1e-2
    )
    a, b = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    moved = []
    for step in range(6):
        before = _arch_and_weights(net)
        optimizer.zero_grad(set_to_none=True)
        net(a, b, 4.0).square().mean().backward()
        hold_gated_groups(optimizer, step)
        optimizer.step()
        after = _arch_and_weights(net)
        moved.append(tuple(not torch.equal(x, y) for x, y in zip(before, after, strict=True)))
    # (logits moved, weights moved) per step; the warm-up is steps 0-1
    if schedule == "joint":
        assert moved == [(False, True)] * 2 + [(True, True)] * 4
    else:
        assert moved == [(False, True)] * 2 + [(False, True), (True, False)] * 2


def test_the_trainer_keeps_the_schedule_across_a_resume(tmp_path):
    """The warm-up and the turns follow the run's step through ``--resume``; the logits'
    own betas survive it (the flags' betas are the weights')."""
    from motionmag.train.oh2018 import load_checkpoint, train_model

    teacher = _teacher(tmp_path)
    config = KLDNASTrainConfig(size_px=32, batch=1, steps=2, dataset_size=8, workers=0,
                               checkpoint_every=1, log_every=1, teacher=teacher, layers=1,
                               reach=0, arch_warmup=0.5, arch_schedule="alternate")  # fmt: skip
    run = tmp_path / "run"
    train_model(config, run, progress=False)
    first = load_checkpoint(run / "checkpoint.pt")
    arch_keys = [k for k in first["model"] if k.endswith(".arch")]
    assert arch_keys and all(not first["model"][k].any() for k in arch_keys)  # still zero
    config.steps = 4  # the warm-up is now steps 0-1 of 4; steps 2 (weights), 3 (logits)
    train_model(config, run, resume=True, progress=False)
    last = load_checkpoint(run / "checkpoint.pt")
    assert any(last["model"][k].any() for k in arch_keys)
    groups = last["optimizer"]["param_groups"]
    assert tuple(groups[1]["betas"]) == (0.5, 0.999) and tuple(groups[0]["betas"]) == (0.9, 0.999)


def test_a_resumed_search_reuses_the_latency_table_its_run_measured(tmp_path, monkeypatch):
    """A table measured anew on --resume would move the latency target in the middle of a
    search: the run's table is kept in its checkpoint's config and read back from it."""
    from motionmag.nets import kl_dnas_latency
    from motionmag.train import kl_dnas
    from motionmag.train.oh2018 import load_checkpoint, train_model

    monkeypatch.setattr(kl_dnas, "_LATENCY", {})
    config = KLDNASTrainConfig(size_px=32, batch=2, steps=2, dataset_size=20, workers=0,
                               checkpoint_every=1, log_every=1, teacher=_teacher(tmp_path),
                               layers=1, reach=0)  # fmt: skip
    run = tmp_path / "run"
    train_model(config, run, progress=False)
    saved = load_checkpoint(run / "checkpoint.pt", model="kl-dnas")["config"]
    kept = saved["measured_latency"]
    assert kept["ops"] == "reduced" and kept["student_width"] == 4
    assert kept["lookup_table_ms"]["conv3x3_d1"] > 0 and set(kept["teacher_ms"]) >= {"encoder"}

    def measured_again(*_args, **_kwargs):
        raise AssertionError("the resumed run measured the table again")

    monkeypatch.setattr(kl_dnas, "_LATENCY", {})  # a new process
    monkeypatch.setattr(kl_dnas_latency, "measure_costs", measured_again)
    monkeypatch.setattr(kl_dnas_latency, "teacher_latency_ms", measured_again)
    resumed = KLDNASTrainConfig.from_dict({**saved, "steps": 3})
    assert train_model(resumed, run, resume=True, progress=False).step == 3
    plan = kl_dnas.latency_plan(resumed)
    assert plan["costs"] == kept["lookup_table_ms"] and plan["teacher_ms"] == kept["teacher_ms"]


def test_manipulator_input_is_the_encoder_difference_times_the_factor():
    """The manipulator sees ``(E_b - E_a) x alpha`` (thesis Ch. 4, as LWMM's Eq. 3.2):
    linear in alpha (scalar, per sample or per pixel), zero for a still pair, whose output
    is then the same at every alpha (the two streams start with equal weights)."""
    torch.manual_seed(0)
    net = KLDNASNet(channels=4, layers=2).eval()
    seen: list[torch.Tensor] = []
    net.manipulator.register_forward_pre_hook(lambda _module, inputs: seen.append(inputs[0]))
    a, b = torch.rand(2, 3, 16, 20), torch.rand(2, 3, 16, 20)
    with torch.no_grad():
        e_a, e_b = net.encode(a, b)
        net.magnified(a, b, 3.0)
        net.magnified(a, b, torch.tensor([12.0, 12.0]))
        net.magnified(a, b, torch.full((2, 1, 8, 10), 3.0))  # per pixel, at the encoding's size
        still_2, still_50 = net.magnified(b, b, 2.0), net.magnified(b, b, 50.0)
    x3, x12, per_pixel, still = seen[:4]
    torch.testing.assert_close(x3, 3.0 * (e_b - e_a))
    assert (e_b - e_a).abs().mean() > 1e-3  # the check can fail
    torch.testing.assert_close(x12, 4.0 * x3)
    torch.testing.assert_close(per_pixel, x3)
    assert still.abs().max() == 0
    torch.testing.assert_close(still_2, still_50)
