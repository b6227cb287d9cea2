"""Human3.6M-style arrays, on small files generated in VideoPose3D's exact layout (pickled dicts in npz)."""

from __future__ import annotations

import numpy as np
import pytest

from poseprior.errors import FormatError, ValidationError
from poseprior.io.h36m import (
    H36M32_TO_17,
    read_h36m_2d,
    read_h36m_3d,
    read_h36m_positions,
)
from poseprior.skeleton.layouts import COCO17, H36M17

rng = np.random.default_rng(0)


def positions_3d() -> dict:
    return {
        "S1": {
            "Walking": rng.normal(size=(8, 32, 3)).astype(np.float32),
            "Directions 1": rng.normal(size=(5, 32, 3)).astype(np.float32),
        },
        "S9": {"Walking": rng.normal(size=(6, 32, 3)).astype(np.float32)},
    }


def positions_2d(num_joints: int = 17, channels: int = 2) -> dict:
    return {
        s: {"Walking": [rng.uniform(0, 1000, (7, num_joints, channels)).astype(np.float32) for _ in range(4)]}
        for s in ("S1", "S11")
    }


def test_read_3d(tmp_path):
    data = positions_3d()
    np.savez_compressed(tmp_path / "data_3d_h36m.npz", positions_3d=data)
    out = read_h36m_3d(tmp_path / "data_3d_h36m.npz")
    assert set(out) == {"S1", "S9"} and set(out["S1"]) == {"Walking", "Directions 1"}
    kp = out["S1"]["Walking"]
    assert kp.layout == "h36m17" and kp.unit == 1000.0 and kp.fps == 50.0 and kp.positions.shape == (8, 17, 3)
    np.testing.assert_array_equal(kp.positions, data["S1"]["Walking"][:, list(H36M32_TO_17)])
    # Right knee is joint 2 of both orders; left shoulder is 17 of 32.
    np.testing.assert_array_equal(kp.positions[:, H36M17.index("LShoulder")], data["S1"]["Walking"][:, 17])
    assert kp.metadata["subject"] == "S1" and kp.metadata["action"] == "Walking"
    only = read_h36m_3d(tmp_path / "data_3d_h36m.npz", subjects=["S1"], actions=["Walking"])
    assert list(only) == ["S1"] and list(only["S1"]) == ["Walking"]
    with pytest.raises(ValidationError, match=r"subjects: \['S5'\] not in"):
        read_h36m_3d(tmp_path / "data_3d_h36m.npz", subjects=["S5"])
    with pytest.raises(ValidationError, match=r"actions: \['Eating'\]"):
        read_h36m_3d(tmp_path / "data_3d_h36m.npz", actions=["Eating"])


def test_bad_3d_files(tmp_path):
    data = positions_3d()
    data["S9"]["Walking"][3, 5, 1] = np.nan  # joint 5 of 32 is dropped: the 17 kept joints are still finite
    np.savez(tmp_path / "ok.npz", positions_3d=data)
    assert read_h36m_3d(tmp_path / "ok.npz")["S9"]["Walking"].positions.shape == (6, 17, 3)
    data["S9"]["Walking"][3, 17, 1] = np.nan
    np.savez(tmp_path / "nan.npz", positions_3d=data)
    with pytest.raises(
        FormatError, match=r"nan\.npz:S9/Walking: positions: NaN or inf at visible keypoint 'LShoulder', frame 3"
    ):
        read_h36m_3d(tmp_path / "nan.npz")
    data = positions_3d()
    data["S1"]["Walking"] = data["S1"]["Walking"][:, :20]
    np.savez(tmp_path / "shape.npz", positions_3d=data)
    with pytest.raises(FormatError, match=r"S1/Walking: positions: expected shape \(T, 32, 3\) or \(T, 17, 3\)"):
        read_h36m_3d(tmp_path / "shape.npz")
    np.savez(tmp_path / "key.npz", positions=np.zeros((2, 17, 3)))
    with pytest.raises(FormatError, match="missing key 'positions_3d'"):
        read_h36m_3d(tmp_path / "key.npz")
    np.savez(tmp_path / "flat.npz", positions_3d=np.zeros((2, 17, 3)))
    with pytest.raises(FormatError, match="must be a dict subject -> action"):
        read_h36m_3d(tmp_path / "flat.npz")


def test_read_2d_ground_truth(tmp_path):
    data = positions_2d()
    metadata = {"num_joints": 17, "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}
    np.savez_compressed(tmp_path / "data_2d_h36m_gt.npz", positions_2d=data, metadata=metadata)
    out = read_h36m_2d(tmp_path / "data_2d_h36m_gt.npz")
    views = out["S11"]["Walking"]
    assert len(views) == 4 and [v.metadata["camera"] for v in views] == [0, 1, 2, 3]
    kp = views[2]
    assert kp.dims == 2 and kp.unit is None and kp.layout == "h36m17" and kp.fps == 50.0 and kp.confidence is None
    np.testing.assert_array_equal(kp.positions, data["S11"]["Walking"][2])


def test_read_2d_detections_with_layout_and_scores(tmp_path):
    data = positions_2d(channels=3)
    metadata = {"layout_name": "coco", "num_joints": 17, "keypoints_symmetry": [[1, 3, 5], [2, 4, 6]]}
    np.savez_compressed(tmp_path / "data_2d_h36m_detectron_pt_coco.npz", positions_2d=data, metadata=metadata)
    kp = read_h36m_2d(tmp_path / "data_2d_h36m_detectron_pt_coco.npz", subjects=["S1"])["S1"]["Walking"][0]
    assert kp.layout == "coco17" and kp.joint_names == COCO17.joint_names
    np.testing.assert_array_equal(kp.confidence, data["S1"]["Walking"][0][..., 2])


def test_bad_2d_files(tmp_path):
    np.savez(tmp_path / "n.npz", positions_2d=positions_2d(num_joints=16))
    with pytest.raises(FormatError, match="16 keypoints and no metadata layout_name"):
        read_h36m_2d(tmp_path / "n.npz")
    np.savez(tmp_path / "m.npz", positions_2d=positions_2d(), metadata={"layout_name": "mpii"})
    with pytest.raises(FormatError, match="layout_name"):
        read_h36m_2d(tmp_path / "m.npz")
    data = positions_2d()
    data["S1"]["Walking"] = data["S1"]["Walking"][0]
    np.savez(tmp_path / "l.npz", positions_2d=data)
    with pytest.raises(FormatError, match="S1/Walking: expected a list of per-camera arrays"):
        read_h36m_2d(tmp_path / "l.npz")


def test_plain_arrays(tmp_path):
    a32 = rng.normal(size=(9, 32, 3))
    kp = read_h36m_positions(a32)
    np.testing.assert_array_equal(kp.positions, a32[:, list(H36M32_TO_17)])
    np.save(tmp_path / "pose.npy", a32[:, list(H36M32_TO_17)] * 1000)
    mm = read_h36m_positions(tmp_path / "pose.npy", unit="mm", fps=25)
    assert mm.unit == 1.0 and mm.fps == 25 and np.allclose(mm.with_unit("m").positions, kp.positions)
    np.savez(tmp_path / "one.npz", arr_0=a32)
    assert read_h36m_positions(tmp_path / "one.npz").positions.shape == (9, 17, 3)
    with pytest.raises(
        ValidationError, match=r"positions: expected shape \(T, 32, 3\) or \(T, 17, 3\), got \(9, 16, 3\)"
    ):
        read_h36m_positions(a32[:, :16])
    np.savez(tmp_path / "two.npz", a=a32, b=a32)
    with pytest.raises(FormatError, match="expected one array in the npz"):
        read_h36m_positions(tmp_path / "two.npz")
    np.save(tmp_path / "bad.npy", a32[:, :16])
    with pytest.raises(FormatError, match=r"bad\.npy: positions: expected shape"):
        read_h36m_positions(tmp_path / "bad.npy")
