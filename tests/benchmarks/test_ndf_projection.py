"""benchmarks/ndf_projection.py --quick runs end to end and renders its table from what it wrote."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PREPARED = REPO / "prepared" / "bandai-v1"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("ndf_projection_benchmark", REPO / "benchmarks" / "ndf_projection.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_quick_run(script, tmp_path, monkeypatch):
    if not (PREPARED / "train.pt").is_file():
        pytest.skip(f"needs the prepared bandai-v1 data at {PREPARED}")
    monkeypatch.setenv("POSEPRIOR_QUICK_RESULTS", str(tmp_path))
    returned = script.main(["--model", "ndf-bandai", "--quick", "--threads", "1", "--noise", "10"])
    written = json.loads((tmp_path / "ndf_projection.json").read_text())
    assert written["quick"] is True and {"subset": written["subset"], "results": written["results"]} == json.loads(
        json.dumps(returned)
    )
    row = written["results"]["models"]["ndf-bandai"]
    assert row["label"] == "ndf-bandai" and row["projection"]["newton"] is True
    x = row["noise"]["10"]
    assert all(
        math.isfinite(x[k])
        for k in (
            "project_ms",
            "field_after",
            "distance_after_rad",
            "dataset1_distance_after_rad",
            "dataset2_distance_after_rad",
        )
    )
    assert (
        written["subset"]["dataset1_poses"] + written["subset"]["dataset2_poses"]
        == written["subset"]["poses"]
        == script.QUICK_POSES
    )
    table = script.render(lambda setting="": written)["table"]
    assert f"| ndf-bandai, Newton, at most {row['projection']['steps']} steps |" in table
    assert f"| {x['distance_after_rad']:.3f} | {x['dataset1_distance_after_rad']:.3f} |" in table


def test_pose_ndf_reference_is_named(script):
    from poseprior.models.ndf import DistanceFieldConfig, DistanceFieldPrior

    ref = DistanceFieldPrior(DistanceFieldConfig.posendf_reference(20))
    assert script.model_label("runs/ndf-ref/export/ndf-ref.json", ref) == "Pose-NDF reference"
    assert script.projection_label({"steps": 100, "newton": False}) == "100 steps"
