"""``poseprior train vae`` on a tiny prepared dataset: train, resume, export, load; the VPoser reference flag."""

from __future__ import annotations

from typer.testing import CliRunner

from poseprior.cli.train import app
from poseprior.errors import ValidationError
from poseprior.models.vae import VAEConfig, VAEPrior
from poseprior.train import list_checkpoints, read_metrics
from poseprior.zoo import info, load

TINY = ["--hidden", "16", "--latent", "4", "--batch-size", "32", "--threads", "1", "--device", "cpu", "--no-progress"]


def test_vae_train_resume_export(prepared_tiny, tmp_path):
    runner = CliRunner()
    out = tmp_path / "run"
    args = [
        "vae",
        "--data",
        str(prepared_tiny),
        "--out",
        str(out),
        "--eval-every",
        "10",
        "--checkpoint-every",
        "10",
        "--kl-warmup",
        "15",
        *TINY,
    ]
    first = runner.invoke(app, [*args, "--steps", "20"])
    assert first.exit_code == 0, first.output
    assert "20 steps in" in first.output and "geodesic_deg" in first.output and "mpjpe_mm" in first.output
    assert f"exported to {out / 'vae.json'}" in first.output
    resumed = runner.invoke(app, [*args, "--steps", "30", "--resume", "--export", str(tmp_path / "named")])
    assert resumed.exit_code == 0, resumed.output
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "val"] == [10, 20, 30]
    assert [p.name for p in list_checkpoints(out)] == ["step-00000020.pt", "step-00000030.pt"]
    prior, card = load(tmp_path / "named"), info(tmp_path / "named")
    assert type(prior) is VAEPrior and prior.joint_names == card.joint_names == ("A", "B", "C")
    assert int(prior.kl_step) == 30  # the warm-up's step count went on across the resume
    assert prior.config.architecture == "mlp" and prior.config.hidden == 16 and prior.config.kl_warmup == 15
    assert card.skeleton.joint_names == ("Hips", "A", "B", "C") and card.training["steps"] == 30
    assert "loss" in card.training["val"] and card.training["val_log_likelihood"] is None


def test_vae_reference_architecture(prepared_tiny, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "vae",
            "--data",
            str(prepared_tiny),
            "--out",
            str(tmp_path),
            "--steps",
            "5",
            "--reference-architecture",
            *TINY,
        ],
    )
    assert result.exit_code == 0, result.output
    config = load(tmp_path / "vae").config
    assert (config.architecture, config.input, config.hidden, config.latent, config.dropout) == (
        "vposer",
        "rotvec",
        512,
        32,
        0.1,
    )
    assert info(tmp_path / "vae").parameters == VAEPrior(VAEConfig.vposer_v02(3)).num_parameters()


def test_bad_vae_options_are_refused(prepared_tiny, tmp_path):
    result = CliRunner().invoke(
        app, ["vae", "--data", str(prepared_tiny), "--out", str(tmp_path), "--input", "euler", *TINY]
    )
    assert isinstance(result.exception, ValidationError) and "input" in str(result.exception)
