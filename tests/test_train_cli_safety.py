"""`motionmag train`: flags that cannot work are one sentence before any training, and
nothing is left behind (found by the stop-48 review of the training commands)."""

from __future__ import annotations

import argparse
import json
import os

import pytest
import torch

from cli_run import one_sentence, run
from motionmag.cli import main

TINY = ["--steps", "1", "--size", "32", "--batch", "1", "--validate-every", "0",
        "--threads", "1", "--quiet"]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (("oh2018", "--val-samples", "0"), "--val-samples 0 is outside 1-10,000"),
        (("flowmag", "--val-samples", "0"), "--val-samples 0 is outside 1-10,000"),
        # 1e8 validation samples rendered for ever; 10,000 workers or threads exhausted
        # the machine instead of one sentence
        (("ha2024", "--val-samples", "100000000"), "--val-samples 100000000 is outside"),
        (("oh2018", "--workers", "10000"), "--workers 10000 is far more than this machine's"),
        (("flowmag", "--workers", "10000"), "--workers 10000 is far more than this machine's"),
        (("oh2018", "--threads", "10000"), "--threads 10000 is far more than this machine's"),
        (("deepmag-color", "--threads", "10000"), "--threads 10000 is far more than"),
        (("sigma-theta", "--ssim-weight", "1"), "unrecognized arguments: --ssim-weight"),
        (("mdmm-d1", "--precision", "bf16"), "unrecognized arguments: --precision"),
        # shards are rendered already: these would only have changed validation
        (("oh2018", "--shards", "s", "--images", "i"), "--images shapes the data"),
        (
            ("ha2024", "--shards", "s", "--dataset-size", "9", "--images", "i"),
            "--dataset-size and --images shape the data",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_before_a_run_folder(tmp_path, capsys, argv, pattern):
    code, err = run(capsys, "train", *argv, "--run", tmp_path / "r")
    assert code == 2 and one_sentence(err) and pattern in err, err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("model", ["oh2018", "flowmag"])
def test_a_run_folder_under_a_file_is_one_sentence(tmp_path, capsys, model):
    """It printed the banner, then 'Not a directory', and exited 1 (review, stop 59)."""
    (tmp_path / "afile").write_text("x")
    code, err = run(capsys, "train", model, "--run", tmp_path / "afile" / "sub", *TINY)
    assert code == 2 and one_sentence(err) and "which is a file" in err, err


def test_outputs_and_starting_points_are_checked_before_training(tmp_path, capsys):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"")
    (tmp_path / "folder.safetensors").mkdir()
    (tmp_path / "file").write_text("x")
    cases = [
        (("--export", tmp_path / "folder.safetensors"), "is a folder"),
        (("--init", weights, "--export", weights), "is the --init weights"),
        (("--init", weights, "--resume"), "leave out --resume to start from --init"),
        # a file hours of training made is not replaced unasked
        (("--export", weights), "already exists: pass --overwrite"),
        # found only after training before: the folder cannot be made under a file
        (("--export", tmp_path / "file" / "sub" / "w.safetensors"), "is a file, not a folder"),
    ]
    for flags, pattern in cases:
        code, err = run(capsys, "train", "ha2024", "--run", tmp_path / "r", *flags)
        assert code == 2 and one_sentence(err) and pattern in err, err
        assert not (tmp_path / "r").exists()
    code, err = run(capsys, "train", "flowmag", "--run", tmp_path / "file")
    assert code == 2 and one_sentence(err) and "is a file" in err


def test_resuming_with_a_flag_that_reshapes_the_network_is_one_sentence(tmp_path, capsys):
    run_dir = tmp_path / "r"
    argv = ["train", "ha2024", "--run", run_dir, *TINY, "--decoder-blocks", "2"]
    assert run(capsys, *argv)[0] == 0
    checkpoint = (run_dir / "checkpoint.pt").read_bytes()
    code, err = run(capsys, "train", "ha2024", "--run", run_dir, "--resume", "--steps", "2",
                    "--decoder-blocks", "3", "--quiet")  # fmt: skip
    assert code == 2 and one_sentence(err) and "another shape" in err, err  # no banner
    assert "(--linear-manipulator, --texture-channels, --decoder-blocks)" in err, err
    assert (run_dir / "checkpoint.pt").read_bytes() == checkpoint


def test_init_without_steps_trains_the_default_steps_past_the_weights_own(tmp_path):
    """The shipped weights are past step 100,000: continuing them used to train nothing."""
    from safetensors.torch import save_file

    from motionmag.train.cli_common import steps_past_init
    from motionmag.train.oh2018 import config_class

    weights = tmp_path / "w.safetensors"
    save_file({"x": torch.zeros(1)}, str(weights))  # a whole file: its card is what counts
    weights.with_suffix(".json").write_text(json.dumps({"training": {"step": 176536}}))
    config = config_class("ha2024")()
    net = "motionmag.nets.ha2024:Ha2024Net"  # the card names no network: any passes
    steps_past_init(argparse.Namespace(init=str(weights)), config, {}, net, "ha2024")
    assert config.steps == 176536 + 100000
    given = config_class("ha2024")()
    given.steps = 200000
    steps_past_init(argparse.Namespace(init=str(weights)), given, {"steps": 200000}, net, "ha2024")
    assert given.steps == 200000  # --steps given: the user's own count of every step


def test_init_with_steps_at_or_below_the_weights_own_is_refused_before_a_run_folder(
    tmp_path, capsys
):
    """The review's case: --steps 5 from weights at step 108,000 made a run folder,
    trained nothing, and blocked the corrected command."""
    from motionmag.models.registry import weights_path

    code, err = run(capsys, "train", "ha2024", "--run", tmp_path / "r", "--init",
                    weights_path("ha2024"), *TINY, "--steps", "5")  # fmt: skip
    assert code == 2 and one_sentence(err) and "--steps 5 counts every step" in err, err
    assert not (tmp_path / "r").exists()
    # another network's weights are named as such first: their step says nothing here
    code, err = run(capsys, "train", "oh2018", "--run", tmp_path / "r", "--init",
                    weights_path("ha2024"), *TINY, "--steps", "5")  # fmt: skip
    assert code == 2 and one_sentence(err), err
    assert "are for motionmag.nets.ha2024:Ha2024Net, not motionmag.nets.oh2018" in err
    assert not (tmp_path / "r").exists()


def test_a_stop_during_training_start_up_says_what_was_kept(monkeypatch, capsys):
    import motionmag.train.cli_train as cli_train

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_train, "run_train", interrupted)
    code = main(["train", "oh2018", "--quiet"])
    err = capsys.readouterr().err
    assert code == 130 and "--resume continues from its last checkpoint" in err
    assert "no partial output" not in err


def test_learning_to_remove_refuses_to_resume_a_run_that_does_not_exist(tmp_path, capsys):
    code, err = run(capsys, "train", "ha2024", "--remove", "blocks", "--resume",
                    "--run", tmp_path / "typo")  # fmt: skip
    assert code == 2 and one_sentence(err) and "holds no checkpoint" in err
    assert not (tmp_path / "typo").exists()


def test_a_resumed_deepmag_run_keeps_its_settings_and_another_models_run_is_refused(tmp_path):
    """The review's case: a --size 48 --batch 8 run continued at 128 px and batch 64 when
    rerun without its flags, while its record still said 48 / 8."""
    from dataclasses import asdict

    from motionmag.cli import build_parser
    from motionmag.deepmag.cli_train import _run
    from motionmag.deepmag.train import ColorTrainConfig
    from motionmag.deepmag.train_motion import MotionTrainConfig
    from motionmag.errors import UsageError

    run_dir = tmp_path / "color"
    run_dir.mkdir()
    record = {"config": asdict(ColorTrainConfig(size_px=48, batch=8, lr=5e-4))}
    checkpoint = {"model": {}, "optimizer": {}, "input_std": 1.0, "record": record}
    torch.save(checkpoint, run_dir / "checkpoint.pt")  # the run's settings are read here
    parse = build_parser().parse_args
    args = parse(["train", "deepmag-color", "--run", str(run_dir), "--lr", "1e-4"])
    config, _ = _run(args, ColorTrainConfig, {"lr": "lr", "size": "size_px"}, "deepmag-color")
    assert (config.size_px, config.batch, config.lr) == (48, 8, 1e-4)  # flags given win
    args = parse(["train", "deepmag-motion", "--run", str(run_dir)])
    with pytest.raises(UsageError, match="holds a run of another model than deepmag-motion"):
        _run(args, MotionTrainConfig, {}, "deepmag-motion")


def test_another_trainers_run_folder_is_named_as_such(tmp_path, capsys):
    """A flowmag run resumed as ha2024 was 'not a training checkpoint', exit 3."""
    run_dir = tmp_path / "r"
    assert run(capsys, "train", "flowmag", "--run", run_dir, *TINY)[0] == 0
    code, err = run(capsys, "train", "ha2024", "--run", run_dir, "--resume", "--quiet")
    assert code == 2 and "is a flowmag run, not ha2024" in err, err
    # without --resume too (it said 'pass --resume', which then said the above), and
    # no "training ha2024 in ..." banner before the sentence
    code, err = run(capsys, "train", "ha2024", "--run", run_dir, *TINY)
    assert code == 2 and one_sentence(err) and "is a flowmag run, not ha2024" in err, err


def test_an_init_run_continues_with_the_same_command_and_resume(tmp_path, capsys):
    """Its stop note says 'continue with --resume'; adding it to the command that started
    the run (with --init) said '--init and --resume: give one of them'."""
    first = tmp_path / "first"
    export = tmp_path / "w.safetensors"
    assert run(capsys, "train", "ha2024", "--run", first, *TINY, "--export", export)[0] == 0
    argv = ["train", "ha2024", "--run", tmp_path / "r", "--init", export, *TINY[2:]]
    assert run(capsys, *argv, "--steps", "2")[0] == 0
    code, err = run(capsys, *argv, "--steps", "3", "--resume")
    assert code == 0 and "--init is not read: --resume continues" in err, err
    from motionmag.train.oh2018 import load_checkpoint

    state = load_checkpoint(tmp_path / "r" / "checkpoint.pt", model="ha2024")
    assert state["step"] == 3 and len(state["sessions"]) >= 3  # first run, init run, resumed


def test_shards_rendered_with_the_validation_seed_are_refused(tmp_path, capsys):
    """Sample i of a seed is the same whoever renders it: such shards would make the
    validation set the training set."""
    shards = tmp_path / "s"
    assert (
        run(capsys, "synth", "-o", shards, "--n", "2", "--size", "32", "--seed", "1000000")[0] == 0
    )
    code, err = run(capsys, "train", "ha2024", "--run", tmp_path / "r", "--shards", shards,
                    *TINY[:-5], "--val-samples", "1", "--quiet")  # fmt: skip
    assert code == 2 and one_sentence(err) and "the validation seed" in err, err
    assert not (tmp_path / "r").exists()


def test_max_hours_stop_says_how_to_go_on(tmp_path, capsys):
    code, err = run(capsys, "train", "ha2024", "--run", tmp_path / "r", *TINY[2:],
                    "--steps", "100000", "--max-hours", "1e-9")  # fmt: skip
    assert code == 0 and "stopped after --max-hours" in err and "--resume" in err, err


def test_another_frozen_network_on_resume_is_noted(tmp_path):
    """KL-DNAS's --resume with another --teacher switched the distillation target midway
    without a word (and kept the old teacher's latency target): a note now names both
    files. The same file by another path, or the flag left out, is no change."""
    from motionmag.train.cli_common import resolve_config
    from motionmag.train.kl_dnas import KLDNASTrainConfig

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "checkpoint.pt").write_bytes(b"x")
    old, new = tmp_path / "old.safetensors", tmp_path / "new.safetensors"
    old.write_bytes(b"a")
    new.write_bytes(b"b")
    args = argparse.Namespace(run_dir=str(run_dir), resume=True)

    def resolved(given: dict) -> KLDNASTrainConfig:
        saved = {"teacher": str(old), "stage": "encoder"}
        return resolve_config(args, KLDNASTrainConfig, given, None, lambda _path: saved)[0]

    with pytest.warns(UserWarning, match=r"--teacher '.*new.safetensors' is not the network"):
        assert resolved({"teacher": str(new)}).teacher == str(new)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolved({}).teacher == str(old)
        alias = tmp_path / "." / "old.safetensors"
        assert resolved({"teacher": str(alias)}).teacher == str(alias)
    # several teachers (oh2018's --teacher) in another order are the same ones
    from motionmag.train.cli_common import note_changed_frozen_models

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        note_changed_frozen_models(
            {"teacher": [str(old), str(new)]}, {"teacher": [str(new), str(old)]}
        )
    with pytest.warns(UserWarning, match="--teacher"):
        note_changed_frozen_models({"teacher": [str(old), str(new)]}, {"teacher": [str(new)]})
    link = tmp_path / "hard.safetensors"  # another name of the same file
    os.link(old, link)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        note_changed_frozen_models({"teacher": str(old)}, {"teacher": str(link)})


def test_a_resumed_run_replaces_its_own_export_and_no_other_file(tmp_path, capsys):
    """--resume skipped the check for every file: `--resume --export victim.safetensors`
    overwrote another run's weights (or the shipped ones) without a word."""
    run_dir, own = tmp_path / "r", tmp_path / "own.safetensors"
    victim = tmp_path / "victim.safetensors"
    victim.write_bytes(b"another run's weights")
    assert run(capsys, "train", "ha2024", "--run", run_dir, *TINY, "--export", own)[0] == 0
    first = own.read_bytes()
    more = ["train", "ha2024", "--run", run_dir, "--resume", "--steps", "2", "--quiet"]
    code, err = run(capsys, *more, "--export", victim)
    assert code == 2 and one_sentence(err), err
    assert "already exists and this run did not write it: pass --overwrite" in err
    assert victim.read_bytes() == b"another run's weights"
    assert run(capsys, *more, "--export", own)[0] == 0  # its own: replaced unasked
    assert own.read_bytes() != first
    assert json.loads((run_dir / "exports.json").read_text()) == [str(own.resolve())]
    # a run from before exports.json: its own export is known by its card's last session
    (run_dir / "exports.json").unlink()
    more[more.index("--steps") + 1] = "3"
    assert run(capsys, *more, "--export", own)[0] == 0
    code, err = run(capsys, *more, "--export", victim)
    assert code == 2 and "this run did not write it" in err, err


def test_a_resumed_default_run_knows_its_own_export(tmp_path, capsys, monkeypatch):
    """Without --run the run folder is found later than the flags are checked: a resumed
    default run refused its own export as "not written by this run"."""
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "own.safetensors"
    assert run(capsys, "train", "ha2024", *TINY, "--export", own)[0] == 0
    same = ["--size", "32", "--batch", "1", "--threads", "1", "--quiet"]  # its folder's name
    code, err = run(capsys, "train", "ha2024", "--resume", "--steps", "2", *same,
                    "--export", own)  # fmt: skip
    assert code == 0, err
    shipped = tmp_path / "shipped.safetensors"  # another file: still refused
    shipped.write_bytes(b"x")
    code, err = run(capsys, "train", "ha2024", "--resume", "--steps", "3", *same,
                    "--export", shipped)  # fmt: skip
    assert code == 2 and "this run did not write it" in err, err


def test_resuming_on_another_validation_set_chooses_the_best_afresh(tmp_path, capsys):
    """--resume --size 64 on a 128 px run scored its validations on other cases, yet
    compared them with the old best: best.pt (and so --export) could hold a step scored
    on a set the run no longer uses, with nothing said."""
    run_dir = tmp_path / "r"
    flags = ["--steps", "1", "--size", "32", "--batch", "1", "--validate-every", "1",
             "--val-samples", "2", "--threads", "1"]  # fmt: skip
    assert run(capsys, "train", "ha2024", "--run", run_dir, *flags, "--quiet")[0] == 0
    assert torch.load(run_dir / "best.pt", weights_only=False)["step"] == 1
    state = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    state["best"]["ssim"] = 2.0  # unbeatable on the old set: only a reset picks step 2
    torch.save(state, run_dir / "checkpoint.pt")
    flags[flags.index("--size") + 1] = "48"
    flags[flags.index("--steps") + 1] = "2"
    code, err = run(capsys, "train", "ha2024", "--run", run_dir, "--resume", *flags, "--quiet")
    assert code == 0, err
    assert "validates on other cases than the run did until now (size_px 32 -> 48)" in err
    assert torch.load(run_dir / "best.pt", weights_only=False)["step"] == 2
    # the training share of small motions does not touch validation (rendered without)
    flags[flags.index("--steps") + 1] = "3"
    code, err = run(capsys, "train", "ha2024", "--run", run_dir, "--resume", *flags,
                    "--small-motion-fraction", "0.1", "--quiet")  # fmt: skip
    assert code == 0 and "validates on other cases" not in err, err
    # a session stopped before its first validation on a new set leaves no best.pt of
    # the old set for --export to take
    flags[flags.index("--size") + 1] = "32"
    flags[flags.index("--validate-every") + 1] = "0"  # no validation this session
    flags[flags.index("--steps") + 1] = "4"
    code, err = run(capsys, "train", "ha2024", "--run", run_dir, "--resume", *flags, "--quiet")
    assert code == 0 and "size_px 48 -> 32" in err, err
    assert not (run_dir / "best.pt").exists()


def test_a_best_checkpoint_past_the_resumed_step_is_not_exported(tmp_path, capsys):
    """Killed between a new best (step 40) and the next checkpoint (30), a run resumed
    with another --lr exported step 40's weights as its own, with a step and samples its
    history never reached (review, stop 59). best.pt is dropped and chosen afresh."""
    run_dir = tmp_path / "r"
    flags = ["--size", "32", "--batch", "1", "--val-samples", "2", "--threads", "1", "--quiet"]
    code, err = run(capsys, "train", "ha2024", "--run", run_dir, "--steps", "2",
                    "--validate-every", "1", *flags)  # fmt: skip
    assert code == 0, err
    best = torch.load(run_dir / "best.pt", weights_only=False)
    best["step"] = 5  # as if saved after the checkpoint (step 2) by the killed process
    torch.save(best, run_dir / "best.pt")
    code, err = run(capsys, "train", "ha2024", "--run", run_dir, "--resume", "--steps", "3",
                    "--validate-every", "0", *flags)  # fmt: skip
    assert code == 0 and "best.pt (step 5) was saved after the checkpoint" in err, err
    assert not (run_dir / "best.pt").exists()
    code, err = run(capsys, "train", "ha2024", "--run", run_dir, "--resume", "--steps", "4",
                    "--validate-every", "1", *flags)  # fmt: skip
    assert code == 0 and torch.load(run_dir / "best.pt", weights_only=False)["step"] == 4


def test_a_shard_run_resumes_without_its_shards_on_the_samples_they_held(tmp_path, capsys):
    """A lent GPU cannot take the shards: `--resume` reused their path and stopped at the
    start. `--shards none` renders on the fly the samples they held: their count becomes
    the pass length, as the same stream needs (stop-58 review of the GPU scripts)."""
    from motionmag.synth.datasets import Oh2018Dataset, ShardDataset
    from motionmag.synth.oh2018 import Oh2018Config
    from motionmag.train.oh2018 import load_checkpoint

    shards, run_dir = tmp_path / "s", tmp_path / "r"
    synth = ["synth", "-o", shards, "--n", "10", "--size", "32", "--small-motion-fraction", "0.5"]
    assert run(capsys, *synth, "--quiet")[0] == 0
    common = ["train", "ha2024", "--run", run_dir, "--small-motion-fraction", "0.5", *TINY[2:]]
    assert run(capsys, *common, "--shards", shards, "--steps", "1")[0] == 0
    held = ShardDataset(shards)
    rendered = Oh2018Dataset(10, Oh2018Config(size_px=32, small_motion_fraction=0.5), seed=0)
    for index in (0, 7):
        for key in ("A", "B", "Y"):
            assert torch.equal(held[index][key], rendered[index][key])
    shards.rename(tmp_path / "gone")
    code, err = run(capsys, *common, "--resume", "--steps", "2")
    assert code != 0 and "has no manifest" in err  # the old path, as before
    with pytest.warns(
        UserWarning, match=r"--shards none: the samples of .* \(10 a pass, seed 0\)"
    ) as notes:
        code, err = run(capsys, *common, "--resume", "--steps", "2", "--shards", "none")
    assert code == 0, err
    assert "differ" not in str(notes[0].message)  # the shards' own seed and settings
    # shards of other settings: said to differ (it claimed their samples)
    other, run_2 = tmp_path / "s2", tmp_path / "r2"
    assert run(capsys, *synth[:2], other, *synth[3:], "--hires-factor", "2", "--quiet")[0] == 0
    common_2 = [*common[:3], run_2, *common[4:]]
    assert run(capsys, *common_2, "--shards", other, "--steps", "1")[0] == 0
    with pytest.warns(UserWarning, match="rendered with other generator settings"):
        assert run(capsys, *common_2, "--resume", "--steps", "2", "--shards", "none")[0] == 0
    state = load_checkpoint(run_dir / "checkpoint.pt", model="ha2024")
    assert state["step"] == 2 and state["config"]["shards"] is None
    assert state["config"]["dataset_size"] == 10
