"""benchmarks/ik.py: the measurements on a tiny untrained model (scores, the conditioning check, per-dataset
numbers) and the rendering of its results files."""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
PREPARED = REPO / "prepared" / "bandai-v1"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ik():
    return load_script("ik")


@pytest.fixture(scope="module")
def setup():
    """A tiny conditional flow fitted (not trained) to 200 test poses, 12 evaluation poses of both datasets."""
    if not (PREPARED / "test.pt").is_file():
        pytest.skip(f"needs the prepared bandai-v1 data at {PREPARED}")
    from poseprior.data import load_prepared
    from poseprior.models.baseline import TangentGaussianPrior
    from poseprior.models.flow.condition import ConditionConfig
    from poseprior.models.flow.conditional import (
        ConditionalFlowConfig,
        ConditionalFlowPrior,
    )
    from poseprior.models.prior import PoseJoints

    ds = load_prepared(PREPARED, ["test"])
    split = ds["test"]
    joints = PoseJoints.from_skeleton(ds.skeleton, ds.unit)
    fit = torch.linspace(0, len(split) - 1, 200).round().long()
    torch.manual_seed(0)
    config = ConditionalFlowConfig.for_joints(
        joints, ConditionConfig(context=8, hidden=(16,)), layers=2, hidden=(16,), bins=4
    )
    model = ConditionalFlowPrior.from_data(config, split.rotations[fit], split.root_rotation[fit]).eval()
    prior = TangentGaussianPrior.fit(split.rotations[fit], "joint", joints)
    dataset1 = torch.tensor([n.startswith("dataset-1") for n in split.take_names])[split.take]
    index = torch.cat([dataset1.nonzero()[:4, 0], (~dataset1).nonzero()[:8, 0]])
    datasets = {"dataset1": torch.arange(4), "dataset2": torch.arange(4, 12)}
    return model, prior, split.rotations[index], split.root_rotation[index], datasets


def test_conditioning_check_scores_what_it_says(ik, setup):
    model, _, R, _, datasets = setup
    check = ik.conditioning_check(model, R, datasets, seed=0, samples=3)
    assert set(check) == {*ik.CHECKS, "noise_mm", "by_hidden_percent"}
    assert list(check["by_hidden_percent"]) == [str(p) for p in ik.HIDDEN_PERCENTS]
    assert check["by_hidden_percent"]["0"]["truth_log_likelihood_nats"] == pytest.approx(
        check["visible"]["truth_log_likelihood_nats"], abs=1e-4
    )
    with torch.no_grad():
        unobserved = model.log_prob_unobserved(R)
        keypoints = model.keypoints(R)
        mask = ik.observations(model, R, torch.eye(3).expand(len(R), 3, 3), seed=0)["3D, 30% hidden"][1]
        masked = model.log_prob(R, keypoints, mask)
        visible = model.log_prob(R, keypoints)
    assert check["unobserved"]["truth_log_likelihood_nats"] == pytest.approx(
        float(unobserved.double().mean()), abs=1e-4
    )
    assert check["masked30"]["truth_log_likelihood_nats"] == pytest.approx(float(masked.double().mean()), abs=1e-4)
    assert check["visible"]["truth_log_likelihood_nats"] == pytest.approx(float(visible.double().mean()), abs=1e-4)
    assert check["visible"]["dataset1_truth_log_likelihood_nats"] == pytest.approx(
        float(visible[:4].double().mean()), abs=1e-4
    )
    assert check["noise_mm"] == pytest.approx(model.config.condition.noise * model.config.length_scale * model.unit_mm)
    for key in ik.CHECKS:
        assert 0 <= check[key]["truth_above_samples_percent"] <= 100
        assert math.isfinite(check[key]["samples_log_density_nats"])


def results_file(ik, setup, temperature: float = 1.0, kinds=None) -> dict:
    model, prior, R, root, datasets = setup
    kinds = kinds or ik.KINDS
    entry = {
        "parameters": 1,
        "kinds": ik.evaluate(model, R, root, 2, 3, kinds, temperature, 0, datasets),
        "conditioning": ik.conditioning_check(model, R, datasets, samples=2),
        "unobserved_gap": ik.unobserved_gap(model, prior, "tangent", R, datasets),
    }
    conditions = {
        "hypotheses": 2,
        "candidates": 3,
        "temperature": temperature,
        "seed": 0,
        "threads": 1,
        "kinds": list(kinds),
        "check_samples": 2,
    }
    subset = {"split": "test", "poses": len(R), "dataset1_poses": 4, "dataset2_poses": 8}
    return json.loads(json.dumps({"subset": subset, "results": {"conditions": conditions, "models": {"tiny": entry}}}))


def test_every_kind_has_both_datasets_and_renders(ik, setup):
    main = results_file(ik, setup)
    kinds = main["results"]["models"]["tiny"]["kinds"]
    assert list(kinds) == ["3d", "3d_masked30", "orthographic", "perspective"]
    for row in kinds.values():
        for metric in ik.METRICS:
            assert (
                math.isfinite(row[metric])
                and math.isfinite(row[f"dataset1_{metric}"])
                and math.isfinite(row[f"dataset2_{metric}"])
            )
    gap = main["results"]["models"]["tiny"]["unobserved_gap"]
    assert gap["gap_nats"] == pytest.approx(
        gap["prior_log_likelihood_nats"] - gap["unobserved_log_likelihood_nats"], abs=1e-6
    )
    cold = results_file(ik, setup, 0.5, ik.TEMPERATURE_KINDS)
    files = {"": main, **{f"temperature-{t:g}": copy.deepcopy(cold) for t in ik.TEMPERATURES}}
    blocks = ik.render(lambda setting="": files[setting])
    assert set(blocks) == {"table", "gap", "conditioning", "temperature"}
    masked = kinds["3d_masked30"]
    assert (
        f"| 3D, 30% hidden | {masked['mode_mpjpe_mm']:.1f} | {masked['dataset1_mode_mpjpe_mm']:.1f} |"
        in blocks["table"]
    )
    assert "12 poses evenly spaced" in blocks["table"] and "dataset 1 (4)" in blocks["table"]
    assert f"{gap['gap_nats']:.1f} nats/pose" in blocks["gap"]
    assert len(blocks["conditioning"].splitlines()) == 2 + len(ik.CHECKS) + 5  # and the hidden-rate table
    assert (
        len(blocks["temperature"].splitlines()) == 3 + len(ik.TEMPERATURES)
        and "| 0.5 | 12 (4 / 8) |" in blocks["temperature"]
    )

    def missing(setting=""):
        if setting:
            raise FileNotFoundError(setting)
        return main

    assert set(ik.render(missing)) == {"table", "gap", "conditioning"}
    # report.py's tests change every number of a results file: the rendering must still work.
    scaled = {k: {**v, "results": _scaled(v["results"])} for k, v in files.items()}
    assert set(ik.render(lambda setting="": scaled[setting])) == set(blocks)


def _scaled(node):
    if isinstance(node, bool) or not isinstance(node, (int, float, dict, list)):
        return node
    if isinstance(node, dict):
        return {k: _scaled(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_scaled(v) for v in node]
    return node * 1.37 + 11


def test_settings(ik):
    assert ik._setting(1.0, ik.KINDS) == ""
    assert ik._setting(0.5, ik.TEMPERATURE_KINDS) == "temperature-0.5"
    assert ik._setting(1.0, ik.TEMPERATURE_KINDS) == "temperature-1"
