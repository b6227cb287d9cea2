"""``poseprior train flow|flow-ik`` on a tiny prepared dataset: train, resume, export, clear errors."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from poseprior.cli.train import app
from poseprior.data.cache import MANIFEST
from poseprior.errors import FormatError, ValidationError
from poseprior.models.flow import FlowPrior
from poseprior.train import list_checkpoints, read_metrics
from poseprior.zoo import info, load

TINY = ["--layers", "2", "--hidden", "16", "--mlp-layers", "1", "--batch-size", "32", "--threads", "1", "--device", "cpu", "--no-progress"]  # fmt: skip


def test_flow_train_resume_export(prepared_tiny, tmp_path):
    runner = CliRunner()
    out = tmp_path / "run"
    args = [
        "flow",
        "--data",
        str(prepared_tiny),
        "--out",
        str(out),
        "--eval-every",
        "10",
        "--checkpoint-every",
        "10",
        *TINY,
    ]
    first = runner.invoke(app, [*args, "--steps", "20"])
    assert first.exit_code == 0, first.output
    assert "20 steps in" in first.output and "best val log-likelihood" in first.output
    assert f"exported to {out / 'flow.json'}" in first.output
    again = runner.invoke(app, [*args, "--steps", "30"])
    assert isinstance(again.exception, ValidationError) and "--resume" in str(again.exception)
    resumed = runner.invoke(app, [*args, "--steps", "30", "--resume", "--export", str(tmp_path / "named")])
    assert resumed.exit_code == 0, resumed.output
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "val"] == [10, 20, 30]
    assert [p.name for p in list_checkpoints(out)] == ["step-00000020.pt", "step-00000030.pt"]
    prior = load(tmp_path / "named")
    card = info(tmp_path / "named")
    assert type(prior) is FlowPrior and prior.joint_names == card.joint_names == ("A", "B", "C")
    assert card.skeleton.joint_names == ("Hips", "A", "B", "C") and card.training["steps"] == 30
    assert card.training["train_config"]["batch_size"] == 32 and "tiny" in card.training["data"]
    assert "inherit" in card.licence  # a dataset other than bandai: its own licence applies


def test_flow_ik(prepared_tiny, tmp_path):
    result = CliRunner().invoke(
        app, ["flow-ik", "--data", str(prepared_tiny), "--out", str(tmp_path), "--steps", "10", "--context", "8", *TINY]
    )
    assert result.exit_code == 0, result.output
    card = info(tmp_path / "flow-ik")
    assert card.model_class == "ConditionalFlowPrior" and card.training["steps"] == 10
    assert type(load(tmp_path / "flow-ik")).__name__ == "ConditionalFlowPrior"


def test_bad_data_is_refused_before_training(tmp_path, prepared_tiny):
    result = CliRunner().invoke(app, ["flow", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"), *TINY])
    assert isinstance(result.exception, FormatError) and "nowhere" in str(result.exception)
    assert not (tmp_path / "o").exists()
    assert (prepared_tiny / MANIFEST).is_file()


def test_help_imports_no_torch():
    code = "import sys, poseprior.cli.train; print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
