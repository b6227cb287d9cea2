"""prepare_amass on tiny AMASS-format npz files written here."""

import json
import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from poseprior.cli.data import app
from poseprior.data.amass import prepare_amass
from poseprior.data.dataset import load_prepared
from poseprior.errors import FormatError, ValidationError
from poseprior.geometry import rotvec_to_matrix
from poseprior.skeleton.smpl import SMPLH_JOINTS

# dataset folder -> (relative take path, frames, fps, SMPL-X?)
TAKES = {
    "CMU": [("01/01_01_poses.npz", 25, 120.0, False), ("02/02_03_poses.npz", 13, 60.0, False)],
    "HumanEva": [("S1/Walk_poses.npz", 7, 120.0, False)],
    "SSM_synced": [("20160330/punch_poses.npz", 31, 120.0, False)],
    "BMLrub": [("rub001/0001_stageii.npz", 12, 30.0, True)],
}


def _write_take(path, T, fps, smplx, seed):
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    width = 165 if smplx else 156
    rate = {"mocap_frame_rate": fps, "surface_model_type": "smplx"} if smplx else {"mocap_framerate": fps}
    np.savez(
        path,
        poses=rng.normal(0, 0.5, (T, width)),
        trans=rng.normal(0, 1, (T, 3)),
        betas=rng.normal(0, 1, 16),
        gender="female",
        **rate,
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("amass")
    for i, (dataset, takes) in enumerate(TAKES.items()):
        for j, (rel, T, fps, smplx) in enumerate(takes):
            _write_take(root / dataset / rel, T, fps, smplx, 10 * i + j)
    np.savez(root / "CMU" / "01" / "shape.npz", betas=np.zeros(16), gender="male")  # skipped: no motion
    return root


@pytest.fixture(scope="module")
def prepared(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("prep")
    return out, prepare_amass(source, out, progress=False, workers=1)


def _poses(n):
    return lambda T, fps: math.floor((T - 1) / fps * n + 1e-9) + 1


def test_vposer_split_and_counts(prepared):
    out, summary = prepared
    data = load_prepared(out)
    count = _poses(10)
    expect = {"train": ["BMLrub", "CMU", "CMU"], "val": ["HumanEva"], "test": ["SSM_synced"]}
    for split, datasets in expect.items():
        s = data[split]
        assert s.take_labels["dataset"] == datasets
        takes = sorted([t for d in set(datasets) for t in TAKES[d]])
        assert sorted(s.take_frames.tolist()) == sorted(t[1] for t in takes)
        assert len(s) == sum(count(t[1], t[2]) for t in takes) == summary.splits[split].poses
    assert data.fps == 10.0 and data.unit == 1000.0 and data.protocol.name == "amass-v1"
    assert data.joint_names == SMPLH_JOINTS[1:22] and data.skeleton.joint_names == SMPLH_JOINTS[:22]
    assert data["train"].take_names[1] == "CMU/01/01_01_poses"


def test_poses_are_the_file_rotations(prepared, source):
    out, _ = prepared
    train = load_prepared(out)["train"]
    poses = np.load(source / "CMU/01/01_01_poses.npz")["poses"]  # 120 fps: poses at frames 0, 12, 24
    R = rotvec_to_matrix(torch.from_numpy(poses).reshape(-1, 52, 3))
    sel = train.take == 1
    assert train.frame[sel].tolist() == [0, 12, 24]
    torch.testing.assert_close(train.rotations[sel], R[[0, 12, 24], 1:22].float())
    torch.testing.assert_close(train.root_rotation[sel], R[[0, 12, 24], 0].float())


def test_split_file_and_knobs(source, tmp_path):
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"test": ["cmu"]}))
    out = tmp_path / "a"
    summary = prepare_amass(
        source, out, fps=30.0, joints=["left_knee", "left_hip"], splits=splits, progress=False, workers=1
    )
    data = load_prepared(out)
    assert data["test"].take_labels["dataset"] == ["CMU", "CMU"]
    assert data["train"].take_labels["dataset"] == ["BMLrub", "HumanEva", "SSM_synced"]
    assert data.joint_names == ("left_hip", "left_knee") and data["train"].rotations.shape[1] == 2
    assert summary.protocol.name == "amass-custom" and summary.splits["test"].poses == _poses(30)(25, 120.0) + _poses(
        30
    )(13, 60.0)

    splits.write_text(json.dumps({"train": ["CMU"], "val": ["HumanEva"]}))  # an explicit train leaves the rest out
    summary = prepare_amass(source, tmp_path / "b", splits=splits, progress=False, workers=1)
    assert {s: c.takes for s, c in summary.splits.items()} == {"train": 2, "val": 1}


def test_bad_inputs(source, tmp_path):
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"val": ["HumanEvaa"]}))
    with pytest.raises(FormatError, match="splits.json: split 'val': no dataset folder 'HumanEvaa'"):
        prepare_amass(source, tmp_path / "o", splits=splits, progress=False, workers=1)
    splits.write_text(json.dumps({"val": "CMU"}))
    with pytest.raises(FormatError, match="lists of dataset names"):
        prepare_amass(source, tmp_path / "o", splits=splits, progress=False, workers=1)
    with pytest.raises(
        ValidationError, match=r"joints \['nose'\] are not in this skeleton.* \(checked on .*0001_stageii.npz\)"
    ):
        prepare_amass(source, tmp_path / "o", joints=["nose"], progress=False, workers=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="no AMASS take"):
        prepare_amass(tmp_path / "empty", tmp_path / "p", progress=False, workers=1)
    bad = tmp_path / "bad"
    _write_take(bad / "CMU" / "01" / "x_poses.npz", 5, 120.0, False, 0)
    np.savez(
        bad / "CMU" / "01" / "y_poses.npz", poses=np.zeros((5, 100)), trans=np.zeros((5, 3)), mocap_framerate=120.0
    )
    with pytest.raises(FormatError, match="y_poses.npz.*156"):
        prepare_amass(bad, tmp_path / "q", progress=False, workers=1)
    assert not (tmp_path / "q" / "prepared.json").exists()


def test_cli(source, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "prepare",
            "amass",
            "--source",
            str(source),
            "--out",
            str(tmp_path),
            "--fps",
            "5",
            "--workers",
            "1",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "val" in result.output and "amass-custom" in result.output
    assert load_prepared(tmp_path).fps == 5.0
