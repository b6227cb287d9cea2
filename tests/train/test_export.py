"""Export to safetensors + json and load back: the same model, its card, and clear errors on broken files."""

from __future__ import annotations

import json

import pytest
import torch

from poseprior.errors import FormatError, ValidationError
from poseprior.models.flow import FlowConfig, FlowPrior
from poseprior.models.prior import PoseJoints
from poseprior.skeleton import Skeleton
from poseprior.train import TrainResult, export
from poseprior.zoo import load, read_card

from .conftest import PARENTS, chain_rotations

R = chain_rotations(200, 0)
SKELETON = Skeleton(
    ("Hips", "A", "B", "C"), (-1, 0, 1, 2), torch.tensor([[0.0, 0, 0], [0, 10, 0], [0, 10, 0], [0, 10, 0]])
)


def trained_prior() -> FlowPrior:
    torch.manual_seed(0)
    joints = PoseJoints.from_skeleton(SKELETON, unit_mm=10.0)
    prior = FlowPrior.from_data(FlowConfig(3, PARENTS, layers=2, hidden=(16,), joints=joints), R)
    with torch.no_grad():  # weights away from their initialisation, as after training
        for p in prior.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return prior


def test_round_trip(tmp_path):
    prior = trained_prior()
    result = TrainResult(
        steps=123,
        elapsed_s=4.56,
        loss=-1.0,
        val={"step": 123, "log_likelihood": 7.5},
        best_val={"step": 100, "log_likelihood": 7.6},
    )
    path = export(prior, tmp_path / "tiny", result=result, data="synthetic chain", description="a test", licence="CC0")
    assert path == tmp_path / "tiny.json" and (tmp_path / "tiny.safetensors").is_file()
    for name in ("tiny", "tiny.json", "tiny.safetensors"):
        loaded = load(tmp_path / name)
        assert type(loaded) is FlowPrior and not loaded.training
        torch.testing.assert_close(loaded.log_prob(R), prior.log_prob(R), rtol=0, atol=0)
    assert loaded.joint_names == ("A", "B", "C") and loaded.config == prior.config
    card = read_card(path)
    assert card.model_class == "FlowPrior" and card.joint_names == ("A", "B", "C")
    assert card.skeleton.joint_names == SKELETON.joint_names and card.unit == 10.0
    torch.testing.assert_close(card.skeleton.offsets, SKELETON.offsets)
    assert (
        card.training["steps"] == 123
        and card.training["wall_time_s"] == 4.6
        and card.training["data"] == "synthetic chain"
    )
    assert card.training["val_log_likelihood"] == 7.5 and card.training["best_val_log_likelihood"] == 7.6
    assert card.licence == "CC0" and card.description == "a test"
    assert card.parameters == sum(p.numel() for p in prior.parameters())


def test_broken_files_are_refused(tmp_path):
    path = export(trained_prior(), tmp_path / "m")
    weights = tmp_path / "m.safetensors"
    # other weights than the json describes
    export(FlowPrior(FlowConfig(3, PARENTS, layers=2, hidden=(16,))), tmp_path / "other")
    weights.write_bytes((tmp_path / "other.safetensors").read_bytes())
    with pytest.raises(FormatError, match="SHA-256"):
        load(path)
    weights.unlink()
    with pytest.raises(FormatError, match="weights file missing"):
        load(path)
    path.write_text("{not json")
    with pytest.raises(FormatError, match="m.json"):
        load(path)
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(FormatError, match="not a poseprior model"):
        read_card(path)
    with pytest.raises(FormatError, match="no such exported model"):
        load(tmp_path / "missing")


def test_weights_that_do_not_fit_the_config(tmp_path):
    path = export(trained_prior(), tmp_path / "m")
    d = json.loads(path.read_text())
    d["config"]["hidden"] = [32]
    path.write_text(json.dumps(d))
    with pytest.raises(FormatError, match="do not fit FlowPrior"):
        load(path)
    d["class"] = "NoSuchPrior"
    path.write_text(json.dumps(d))
    with pytest.raises(FormatError, match="NoSuchPrior"):
        load(path)


def test_only_registered_classes_are_exported(tmp_path):
    class Custom(torch.nn.Module):
        config = FlowConfig(1)

    with pytest.raises(ValidationError, match="register_model_class"):
        export(Custom(), tmp_path / "c")
