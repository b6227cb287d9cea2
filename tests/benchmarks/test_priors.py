"""benchmarks/priors.py: the measurements (with dataset 1 and 2 apart) on the baselines, the reference labels,
and the rendering of its results files."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
PREPARED = REPO / "prepared" / "bandai-v1"


@pytest.fixture(scope="module")
def priors():
    spec = importlib.util.spec_from_file_location("priors_benchmark", REPO / "benchmarks" / "priors.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data():
    if not (PREPARED / "test.pt").is_file():
        pytest.skip(f"needs the prepared bandai-v1 data at {PREPARED}")
    from poseprior.data import load_prepared
    from poseprior.models.prior import PoseJoints

    ds = load_prepared(PREPARED, ["test"])
    return ds["test"], PoseJoints.from_skeleton(ds.skeleton, ds.unit)


def test_baselines_measure_and_render(priors, data):
    from poseprior.models.baseline import TangentGaussianPrior, UniformPrior

    split, joints = data
    test_index = torch.linspace(0, len(split) - 1, 60).round().long()
    clean_index = torch.linspace(0, len(split) - 1, 20).round().long()
    test, clean = split.rotations[test_index], split.rotations[clean_index]
    td, cd = priors._datasets(split, test_index), priors._datasets(split, clean_index)
    assert len(td["dataset1"]) + len(td["dataset2"]) == 60
    rows = {}
    for key, prior in (
        ("independent", TangentGaussianPrior.fit(test, "joint", joints)),
        ("none", UniformPrior(len(joints.names), joints)),
    ):
        rows[key] = {
            "label": priors.BASELINES[key],
            "class": type(prior).__name__,
            **priors.evaluate(prior, test, clean, joints, td, cd, samples=50, seconds=0.01),
        }
    none = rows["none"]
    assert none["geo_0_deg"] == pytest.approx(0.0, abs=1e-3) and none["parameters"] == 0
    assert rows["independent"]["parameters"] == 180
    for row in rows.values():
        for key in ("coverage_deg", "geo_20_deg", "mpjpe_20_mm"):
            assert math.isfinite(row[f"dataset1_{key}"]) and math.isfinite(row[f"dataset2_{key}"])
    conditions = {"samples": 50, "denoise_poses": 20, "noise_deg": list(priors.NOISE_DEG), "batch": 1000, "threads": 1}
    subset = {"poses": 60, "dataset1_poses": len(td["dataset1"]), "dataset2_poses": len(td["dataset2"]), "denoise_poses": 20,
              "denoise_dataset1_poses": len(cd["dataset1"]), "denoise_dataset2_poses": len(cd["dataset2"])}  # fmt: skip
    run = json.loads(json.dumps({"subset": subset, "results": {"conditions": conditions, "priors": rows}}))
    blocks = priors.render(lambda setting="": run)
    assert set(blocks) == {"table", "datasets", "references", "references_datasets"}
    line = next(x for x in blocks["table"].splitlines() if x.startswith("| no prior |"))
    assert "|  |  |" in line  # the no-prior energy speed says nothing
    assert f"{rows['independent']['dataset1_coverage_deg']:.2f}" in blocks["table"]

    def no_references(setting=""):
        if setting:
            raise FileNotFoundError(setting)
        return run

    assert set(priors.render(no_references)) == {"table", "datasets"}
    scaled = {**run, "results": _scaled(run["results"])}  # report.py's tests change every number
    assert set(priors.render(lambda setting="": scaled)) == set(blocks)


def _scaled(node):
    if isinstance(node, bool) or not isinstance(node, (int, float, dict, list)):
        return node
    if isinstance(node, dict):
        return {k: _scaled(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_scaled(v) for v in node]
    return node * 1.37 + 11


def test_reference_architectures_are_named(priors, data):
    from poseprior.models.ndf import DistanceFieldConfig, DistanceFieldPrior
    from poseprior.models.vae import VAEConfig, VAEPrior

    _, joints = data
    K = len(joints.names)
    assert (
        priors.label("x.json", DistanceFieldPrior(DistanceFieldConfig.posendf_reference(K, joints.parents)))
        == "Pose-NDF reference (DistanceFieldPrior)"
    )
    assert priors.label("x.json", VAEPrior(VAEConfig.vposer_v02(K))) == "VPoser V02 reference (VAEPrior)"
    assert priors.label("ndf-bandai", DistanceFieldPrior(DistanceFieldConfig(K, joints.parents))) == "ndf-bandai"
