"""The shared training loop (``train/loop.run_steps``): a run stopped between two log rows
and resumed writes the rows an uninterrupted run writes (found by the stop-51 review:
the steps before the stop were dropped from the next row's average)."""

from __future__ import annotations

import csv
import os
import signal
from dataclasses import dataclass

import torch

from motionmag.train.loop import run_steps
from motionmag.train.run_state import CHECKPOINT, LOG_FIELDS, CsvLog, RunState


@dataclass
class _Schedule:
    steps: int = 12
    log_every: int = 5
    validate_every: int = 0
    checkpoint_every: int = 100


def _session(run, stop_at: int | None, resume: bool) -> list[dict]:
    """Train a 1-weight net whose loss at step s is s (known rows: the mean of the steps
    since the last row); SIGTERM to ourselves during step ``stop_at``."""
    net = torch.nn.Linear(1, 1, bias=False)
    net.config = {}  # what a checkpoint records of the network
    optimizer = torch.optim.SGD(net.parameters(), lr=0.0)
    state = RunState(best={"loss": float("inf"), "step": None})
    if resume:
        saved = torch.load(run / CHECKPOINT, weights_only=True)
        state.restore(saved, net, optimizer, lr=0.0, betas=(0.9, 0.999))
    state.begin_session("test", torch.device("cpu"))

    def train_step(_batch):
        step = state.step + 1
        if step == stop_at:
            os.kill(os.getpid(), signal.SIGTERM)  # the loop finishes this step and saves
        loss = net(torch.ones(1, 1)).sum() * 0 + step
        return 1, loss, {"total": float(step)}

    def snapshot():
        return state.checkpoint("test/1", net, optimizer, rng={}, config={}, data={})

    log = CsvLog(run / "log.csv", LOG_FIELDS, keep_upto=state.step if resume else None)
    run_steps(state, _Schedule(), optimizer, iter(lambda: 0, 1), train_step, run=run,
              snapshot=snapshot, log=log, log_parts=(), validate=lambda: None,
              resumed=resume, desc="test", progress=False)  # fmt: skip
    with (run / "log.csv").open(newline="") as handle:
        return [{"step": int(r["step"]), "loss": float(r["loss"])} for r in csv.DictReader(handle)]


def test_a_stop_between_log_rows_keeps_the_rows_of_an_uninterrupted_run(tmp_path):
    whole = tmp_path / "whole"
    whole.mkdir()
    expected = _session(whole, None, False)
    assert expected == [{"step": 5, "loss": 3.0}, {"step": 10, "loss": 8.0},
                        {"step": 12, "loss": 11.5}]  # fmt: skip
    split = tmp_path / "split"
    split.mkdir()
    assert _session(split, 7, False) == expected[:1]  # stopped after step 7, no row
    assert _session(split, None, True) == expected
