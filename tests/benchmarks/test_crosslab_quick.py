"""benchmarks/crosslab.py runs end to end on a tiny subset and writes every section, finite numbers and its metadata."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "crosslab.py"
PREPARED = REPO / "prepared" / "bandai-v1"
SECTIONS = ("retargeting", "twist", "log_likelihood", "fit3d", "denoise", "lifting", "placement", "same_take")
SOURCES = ("cmu-cc3", "cmu-max", "reactidle", "cmu-bvh", "cmu-asf", "pooled", "bandai")


def load_script():
    spec = importlib.util.spec_from_file_location("crosslab_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while the script runs
    spec.loader.exec_module(module)
    return module


def numbers(value, path: str = ""):
    """Every number in a JSON value, with where it is."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, (int, float)):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from numbers(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from numbers(v, f"{path}[{i}]")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, shared_data):
    if not (PREPARED / "train.pt").is_file():
        pytest.skip(f"needs the prepared bandai-v1 data at {PREPARED} (poseprior prepare bandai)")
    out = tmp_path_factory.mktemp("crosslab")
    argv = ["--quick", "--shared", str(shared_data), "--prepared", str(PREPARED), "--out", str(out),
            "--limit", "6", "--steps", "2", "--samples", "3", "--denoise-seconds", "1", "--denoise-steps", "3"]  # fmt: skip
    returned = load_script().main(argv)
    return json.loads((out / "crosslab.json").read_text()), returned, argv


def test_every_section_and_source_is_written(quick_run):
    written, returned, _ = quick_run
    assert {"subset": written["subset"], "results": written["results"]} == json.loads(json.dumps(returned))
    assert written["quick"] is True and list(written["results"]) == ["models", *SECTIONS, "seconds"]
    data = written["results"]
    for section in ("retargeting", "twist", "fit3d", "denoise", "lifting"):
        assert list(data[section]["rows"]) == list(SOURCES), section
    likelihood = data["log_likelihood"]["rows"]
    assert list(likelihood) == [*SOURCES, "bandai-v1 test dataset-1", "bandai-v1 test dataset-2", "bandai-v1 test"]
    assert len(data["retargeting"]["bandai_per_take_vs_reference_rig"]) == 1
    fit = data["fit3d"]["rows"]["pooled"]
    assert {
        "none_mpjpe_mm",
        "flow-bandai_mpjpe_mm",
        "vae-bandai_mpjpe_mm",
        "ndf-bandai_mpjpe_mm",
        "best_prior_over_none",
    } <= set(fit)
    assert {"noisy_mpjpe_mm", "none_mpjpe_mm", "ndf-bandai_mpjpe_mm", "ndf-bandai_removed"} <= set(
        data["denoise"]["rows"]["pooled"]
    )
    assert {"rot_mpjpe_mm", "rot_mpjae_deg", "flow_mode_mpjpe_mm", "flow_best_mpjpe_mm"} <= set(
        data["lifting"]["rows"]["pooled"]
    )
    placement = data["placement"]
    assert (
        list(placement["rows"]) == [s for s in SOURCES if s != "pooled"]
        and len(placement["bandai_train_spread_deg"]) == 20
    )
    for source, row in placement["rows"].items():
        assert len(row["joints"]) == 20 and all(
            0 <= j["swing_deg"] <= 180 and -180 < j["twist_deg"] <= 180 for j in row["joints"].values()
        )
        toes = row["shin_foot_median_deg"]
        assert (toes["left"] is None) == (source == "reactidle") and (toes["left"] is None or 0 < toes["left"] < 180), (
            source,
            toes,
        )
    same = data["same_take"]  # the quick cut's first takes include CMU 01_01 on all three rigs
    assert same["reference"] == "cmu-asf" and list(same["rows"]) == ["cmu-bvh", "cmu-cc3"]
    bvh = same["rows"]["cmu-bvh"]["joints_deg"]
    assert len(bvh) == 20 and all(
        v < 0.01 for j, v in bvh.items() if j not in ("spine3", "neck", "left_collar", "right_collar")
    )


def test_numbers_are_finite(quick_run):
    data = quick_run[0]["results"]
    found = list(numbers({k: data[k] for k in SECTIONS}))
    assert len(found) > 100
    bad = [(where, v) for where, v in found if not math.isfinite(v)]
    assert not bad, bad[:5]


def test_the_subset_is_the_one_asked_for(quick_run):
    subsets, data = quick_run[0]["subset"], quick_run[0]["results"]
    assert subsets["quick"] is True and subsets["pose_fps"] == 10.0
    for source in SOURCES[:5]:
        assert len(subsets["sources"][source]["takes"]) == 1
        assert subsets["fit3d_and_lifting"]["per_source"][source]["poses"] == 6
        assert data["fit3d"]["rows"][source]["poses"] == 6 and data["lifting"]["rows"][source]["views"] == 6
    assert subsets["fit3d"]["steps"] == 2 and subsets["lifting"]["samples"] == 3
    assert data["retargeting"]["rows"]["reactidle"]["missing"] == [
        "spine2",
        "left_foot",
        "right_foot",
        "left_wrist",
        "right_wrist",
    ]


def test_metadata(quick_run):
    written, _, argv = quick_run
    meta = written["meta"]
    assert meta["command"].endswith(" ".join(argv)) or meta["command"]  # the test calls main() directly
    assert len(meta["commit"]) == 40 and isinstance(meta["dirty"], bool)
    assert meta["threads"] == 1 and meta["torch"] and meta["cpu"] and meta["date"]
    models = written["results"]["models"]
    assert set(models) == {
        "flow-bandai",
        "vae-bandai",
        "ndf-bandai",
        "flow-ik-bandai",
        "lifter-rot-bandai",
        "lifter-flow-bandai",
    }
    assert all(len(m["sha256"]) == 64 for m in models.values())
    assert written["results"]["seconds"]["total"] > 0


def test_render_gives_every_table(quick_run):
    written = quick_run[0]
    blocks = load_script().render(lambda setting="": written)
    assert list(blocks) == [
        "retargeting",
        "twist",
        "log_likelihood",
        "fit3d",
        "denoise",
        "lifting",
        "placement",
        "same_take",
    ]
    assert all(b.startswith("| ") for b in blocks.values())
