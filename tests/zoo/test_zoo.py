"""The model zoo: names, licences, loading by name or path, clear errors, and the class registry."""

from __future__ import annotations

import pytest
import torch

import poseprior.zoo.registry as registry
from poseprior import zoo
from poseprior.errors import FormatError, ValidationError
from poseprior.models.flow import FlowConfig, FlowPrior
from poseprior.models.flow.conditional import (
    ConditionalFlowConfig,
    ConditionalFlowPrior,
)
from poseprior.models.prior import PoseJoints
from poseprior.skeleton import Skeleton
from poseprior.train import export

SKELETON = Skeleton(
    ("Hips", "A", "B", "C"), (-1, 0, 1, 2), torch.tensor([[0.0, 0, 0], [0, 10, 0], [0, 10, 0], [0, 10, 0]])
)
JOINTS = PoseJoints.from_skeleton(SKELETON, unit_mm=10.0)


def tiny_flow() -> FlowPrior:
    torch.manual_seed(0)
    return FlowPrior(FlowConfig(3, JOINTS.parents, layers=2, hidden=(16,), joints=JOINTS))


def test_available_names_descriptions_licences():
    entries = {e.name: e for e in zoo.available()}
    names = (
        "flow-bandai",
        "flow-ik-bandai",
        "vae-bandai",
        "ndf-bandai",
        "lifter-rot-bandai",
        "lifter-flow-bandai",
        "lifter-rot-coco17",
        "lifter-flow-coco17",
    )
    assert set(names) <= set(entries)
    for name in names:
        e = entries[name]
        assert e.description and "CC BY-NC 4.0" in e.licence and "non-commercial" in e.licence
        assert e.installed == (zoo.WEIGHTS_DIR / f"{name}.json").is_file()
    readme = (zoo.WEIGHTS_DIR / "README.md").read_text()
    assert "CC BY-NC 4.0" in readme and "2306.08861" in readme


def test_load_by_path(tmp_path):
    prior = tiny_flow()
    export(prior, tmp_path / "mine")
    R = prior.sample(5)
    for model in (tmp_path / "mine", str(tmp_path / "mine.json"), f"{tmp_path}/mine.safetensors"):
        loaded = zoo.load(model)
        torch.testing.assert_close(loaded.log_prob(R), prior.log_prob(R), rtol=0, atol=0)
    assert zoo.load(tmp_path / "mine", device="cpu").loc.device.type == "cpu"
    assert zoo.info(tmp_path / "mine").joint_names == ("A", "B", "C")


def test_load_by_name(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(FormatError, match="'flow-bandai' are not installed"):
        zoo.load("flow-bandai")
    with pytest.raises(
        ValidationError,
        match="unknown model 'flow-bandit'; known models: flow-bandai, flow-ik-bandai, vae-bandai, ndf-bandai, lifter-rot-bandai, lifter-flow-bandai, lifter-rot-coco17, lifter-flow-coco17",
    ):
        zoo.load("flow-bandit")
    prior = tiny_flow()
    export(prior, tmp_path / "flow-bandai", licence="test licence")
    export(prior, tmp_path / "extra-model", description="found in the folder", licence="CC0")
    R = prior.sample(3)
    torch.testing.assert_close(zoo.load("flow-bandai").log_prob(R), prior.log_prob(R), rtol=0, atol=0)
    entries = {e.name: e for e in zoo.available()}
    assert entries["flow-bandai"].installed and not entries["flow-ik-bandai"].installed
    assert entries["extra-model"] == zoo.ZooEntry("extra-model", "found in the folder", "CC0", True)
    assert type(zoo.load("extra-model")) is FlowPrior


def test_conditional_flow_through_the_registry(tmp_path):
    torch.manual_seed(0)
    from poseprior.models.flow.condition import ConditionConfig

    model = ConditionalFlowPrior(
        ConditionalFlowConfig.for_joints(JOINTS, ConditionConfig(context=8, hidden=(16,)), layers=2, hidden=(16,))
    )
    export(model, tmp_path / "ik")
    loaded = zoo.load(tmp_path / "ik")
    assert type(loaded) is ConditionalFlowPrior and zoo.info(tmp_path / "ik").model_class == "ConditionalFlowPrior"
    R = FlowPrior(FlowConfig(3)).sample(4)
    keypoints = model.keypoints(R)
    torch.testing.assert_close(loaded.log_prob(R, keypoints), model.eval().log_prob(R, keypoints), rtol=0, atol=0)


def test_class_registry(monkeypatch):
    assert zoo.model_class("FlowPrior").cls is FlowPrior and zoo.model_class("FlowPrior").config_cls is FlowConfig
    assert {"FlowPrior", "ConditionalFlowPrior"} <= set(zoo.registered_classes())
    with pytest.raises(ValidationError, match="'NoSuchPrior' is not registered; known classes: .*FlowPrior"):
        zoo.model_class("NoSuchPrior")
    monkeypatch.setattr(zoo.classes, "_CLASSES", dict(zoo.classes._CLASSES))
    entry = zoo.register_model_class("MyFlow", "poseprior.models.flow.prior", "FlowPrior", "FlowConfig")
    assert type(entry.build(FlowConfig(2, layers=2, hidden=(8,)).to_dict())) is FlowPrior
    zoo.register_model_class("Broken", "poseprior.no_such_module")
    with pytest.raises(ValidationError, match="cannot import poseprior.no_such_module"):
        _ = zoo.model_class("Broken").cls


def test_load_refuses_a_model_of_another_kind():
    assert isinstance(zoo.load("flow-bandai", kind="prior"), FlowPrior)
    with pytest.raises(ValidationError, match="'flow-bandai' is a FlowPrior, not a conditional IK model"):
        zoo.load("flow-bandai", kind="ik")
    with pytest.raises(ValidationError, match="not a lifter"):
        zoo.load("flow-bandai", kind="lifter")
    with pytest.raises(ValidationError, match="kind: expected one of prior, ik, lifter"):
        zoo.load("flow-bandai", kind="flow")
