"""The training loop on a tiny flow: it learns, logs, checkpoints, resumes bit for bit, and refuses bad input."""

from __future__ import annotations

import io
import json

import pytest
import torch
from rich.console import Console

from poseprior.errors import ValidationError
from poseprior.models.flow import FlowConfig, FlowPrior
from poseprior.train import (
    FlowObjective,
    TrainConfig,
    list_checkpoints,
    load_checkpoint,
    read_metrics,
    train,
)
from poseprior.train.checkpoint import CHECKPOINT_DIR

from .conftest import PARENTS, chain_rotations

TRAIN, VAL = chain_rotations(1000, 0), chain_rotations(300, 1)


def objective(seed: int = 0) -> FlowObjective:
    torch.manual_seed(seed)
    return FlowObjective(FlowPrior.from_data(FlowConfig(3, PARENTS, layers=2, hidden=(16,)), TRAIN))


def config(out, **kw) -> TrainConfig:
    base = dict(steps=40, batch_size=32, lr=3e-3, warmup_steps=5, eval_every=20, checkpoint_every=20, log_every=5,
                threads=1, progress=False, device="cpu")  # fmt: skip
    return TrainConfig(out, **{**base, **kw})


def run(model, out, resume=False, **kw):
    return train(
        model,
        {"rotations": TRAIN},
        {"rotations": VAL},
        config(out, **kw),
        resume=resume,
        console=Console(file=io.StringIO()),
    )


def val_ll(model: FlowObjective) -> float:
    with torch.no_grad():
        return model.prior.log_prob(VAL).mean().item()


def test_learns_logs_and_checkpoints(tmp_path):
    model = objective()
    before = val_ll(model)
    result = run(model, tmp_path, steps=60, keep_checkpoints=2)
    assert result.steps == 60 and not result.stopped_early and result.skipped_steps == 0
    # the validation metric is the mean log-likelihood over the whole val split
    assert result.val["log_likelihood"] == pytest.approx(val_ll(model), abs=1e-4)
    assert result.val["log_likelihood"] > before + 0.3
    assert result.best_val["log_likelihood"] >= result.val["log_likelihood"]
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in records if r["kind"] == "val"] == [20, 40, 60]
    assert [r["step"] for r in records if r["kind"] == "train"] == list(range(5, 61, 5))
    assert all({"loss", "lr", "grad_norm", "steps_per_s"} <= set(r) for r in records if r["kind"] == "train")
    # only the last two checkpoints are kept; each holds the whole training state
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000040.pt", "step-00000060.pt"]
    assert result.checkpoint == list_checkpoints(tmp_path)[-1]
    state = load_checkpoint(result.checkpoint)
    assert state["step"] == 60 and {"model", "optimizer", "scheduler", "data_rng", "ranks"} <= set(state)
    torch.testing.assert_close(state["model"]["prior.loc"], model.prior.loc)
    run_json = json.loads((tmp_path / "run.json").read_text())
    assert run_json["model_config"]["num_joints"] == 3 and run_json["global_batch_size"] == 32


def test_schedule_warmup_then_cosine(tmp_path):
    run(objective(), tmp_path, steps=40, warmup_steps=10, log_every=1)
    lrs = [r["lr"] for r in read_metrics(tmp_path / "metrics.jsonl") if r["kind"] == "train"]
    assert lrs[0] == pytest.approx(3e-4) and lrs[9] == pytest.approx(3e-3)  # linear warm-up over 10 steps
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:], strict=False)) and lrs[-1] < 1e-5  # cosine decay to 0


def test_resume_is_bit_for_bit(tmp_path):
    """A run of 2N steps equals N steps, then a resumed run of N more (from the step-N checkpoint)."""
    straight = objective()
    a = run(straight, tmp_path / "a")
    interrupted = tmp_path / "b"
    run(objective(), interrupted)
    (interrupted / CHECKPOINT_DIR / "step-00000040.pt").unlink()  # as if the run had stopped at step 20
    resumed = objective(seed=1)  # another init: everything must come from the checkpoint
    b = run(resumed, interrupted, resume=True)
    assert b.steps == a.steps == 40
    for (k, p), q in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=False):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=k)
    assert b.val == a.val and b.loss == a.loss
    # the log is rewritten from the checkpoint on: the same records as the straight run
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("elapsed_s", "steps_per_s")} for r in rs]  # noqa: E731
    assert strip(read_metrics(interrupted / "metrics.jsonl")) == strip(read_metrics(tmp_path / "a" / "metrics.jsonl"))


def test_refuses_to_overwrite_or_change_a_run(tmp_path):
    run(objective(), tmp_path, steps=20)
    with pytest.raises(ValidationError, match="already holds a run"):
        run(objective(), tmp_path, steps=20)
    with pytest.raises(ValidationError, match="lr=0.003"):
        run(objective(), tmp_path, steps=40, lr=1e-3, resume=True)
    wider = FlowObjective(FlowPrior.from_data(FlowConfig(3, PARENTS, layers=2, hidden=(32,)), TRAIN))
    with pytest.raises(ValidationError, match="model config differs"):
        run(wider, tmp_path, steps=40, resume=True)
    # more steps is allowed: the run goes on from 20
    assert run(objective(), tmp_path, steps=30, resume=True).steps == 30


def test_resume_without_checkpoint_starts_afresh(tmp_path):
    assert run(objective(), tmp_path, steps=10, resume=True).steps == 10


def test_time_limit_stops_cleanly(tmp_path):
    result = run(objective(), tmp_path, steps=100_000, minutes=0.01, checkpoint_every=100_000, eval_every=100_000)
    assert result.stopped_early and 0 < result.steps < 100_000
    assert result.elapsed_s >= 0.6
    # evaluated and checkpointed at the step where it stopped
    assert result.val["step"] == result.steps and list_checkpoints(tmp_path)[-1].name == f"step-{result.steps:08d}.pt"


def test_bad_input(tmp_path):
    with pytest.raises(ValidationError, match="share a non-zero first dimension"):
        train(objective(), {"rotations": TRAIN, "x": torch.zeros(5)}, None, config(tmp_path))
    with pytest.raises(ValidationError, match="train_data"):
        train(objective(), {}, None, config(tmp_path))
    with pytest.raises(ValidationError, match="loss"):
        train(torch.nn.Linear(2, 2), {"rotations": TRAIN}, None, config(tmp_path))
    for kw, name in [({"steps": 0}, "steps"), ({"lr": -1.0}, "lr"), ({"min_lr_ratio": 2.0}, "min_lr_ratio")]:
        with pytest.raises(ValidationError, match=name):
            config(tmp_path, **kw)
    if not torch.cuda.is_available():
        with pytest.raises(ValidationError, match="device .cuda.: this machine or torch build has no CUDA"):
            train(objective(), {"rotations": TRAIN}, None, config(tmp_path, device="cuda"))
