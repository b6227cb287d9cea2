"""A run killed with SIGKILL mid-training resumes from its last checkpoint and ends where an uninterrupted run
ends."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import textwrap
import time

import torch
from rich.console import Console

from poseprior.models.flow import FlowConfig, FlowPrior
from poseprior.train import (
    FlowObjective,
    TrainConfig,
    list_checkpoints,
    read_metrics,
    train,
)

from .conftest import PARENTS, chain_rotations

STEPS = 300
SETTINGS = dict(steps=STEPS, batch_size=32, lr=3e-3, warmup_steps=5, eval_every=50, checkpoint_every=25, threads=1, progress=False, device="cpu")  # fmt: skip

# The same model, data and settings in the subprocess and here.
SCRIPT = textwrap.dedent(
    f"""
    import sys, torch
    from poseprior.models.flow import FlowConfig, FlowPrior
    from poseprior.train import FlowObjective, TrainConfig, train
    data = torch.load(sys.argv[1])
    torch.manual_seed(0)
    model = FlowObjective(FlowPrior.from_data(FlowConfig(3, {PARENTS}, layers=2, hidden=(16,)), data["train"]))
    train(model, {{"rotations": data["train"]}}, {{"rotations": data["val"]}}, TrainConfig(sys.argv[2], **{SETTINGS!r}))
    """
)


def objective() -> FlowObjective:
    torch.manual_seed(0)
    return FlowObjective(FlowPrior.from_data(FlowConfig(3, PARENTS, layers=2, hidden=(16,)), TRAIN))


TRAIN, VAL = chain_rotations(1000, 0), chain_rotations(300, 1)


def test_killed_run_resumes_to_the_same_end(tmp_path):
    torch.save({"train": TRAIN, "val": VAL}, tmp_path / "data.pt")
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / "data.pt"), str(out)])
    try:
        deadline = time.monotonic() + 60
        while not any(int(p.stem.split("-")[1]) >= 25 for p in list_checkpoints(out)):
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint after 60 s"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = int(list_checkpoints(out)[-1].stem.split("-")[1])
    assert killed_at < STEPS

    quiet = Console(file=io.StringIO())
    resumed = objective()
    result = train(
        resumed, {"rotations": TRAIN}, {"rotations": VAL}, TrainConfig(out, **SETTINGS), resume=True, console=quiet
    )
    straight = objective()
    expected = train(
        straight,
        {"rotations": TRAIN},
        {"rotations": VAL},
        TrainConfig(tmp_path / "straight", **SETTINGS),
        console=quiet,
    )
    assert result.steps == STEPS and result.val == expected.val
    for (k, p), q in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=False):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=k)
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "val"]
    assert steps == list(range(50, STEPS + 1, 50))  # the log holds each evaluation once
