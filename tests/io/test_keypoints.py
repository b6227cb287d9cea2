"""The Keypoints container and the keypoints npz."""

from __future__ import annotations

import numpy as np
import pytest

from poseprior.errors import FormatError, ValidationError
from poseprior.io.keypoints import Keypoints, read_keypoints_npz, write_keypoints_npz
from poseprior.skeleton.layouts import COCO17, H36M17

rng = np.random.default_rng(0)


def test_construction_and_unit():
    kp = Keypoints(rng.normal(size=(5, 17, 3)).astype(np.float32), H36M17.joint_names, fps=50, unit="m", layout="h36m")
    assert kp.positions.dtype == np.float64 and kp.unit == 1000.0 and kp.layout == "h36m17" and kp.dims == 3
    assert repr(kp) == "Keypoints(5 frames at 50 fps, 17 joints, 3D in m, layout h36m17)"
    mm = kp.with_unit("mm")
    assert np.allclose(mm.positions, kp.positions * 1000) and mm.unit == 1.0
    assert len(kp.frames(slice(1, 3))) == 2 and kp.visible.all()


def test_validation():
    names = COCO17.joint_names
    with pytest.raises(ValidationError, match=r"positions: expected shape \(T, J, 3\) or \(T, J, 2\)"):
        Keypoints(np.zeros((5, 17)), names, fps=30)
    with pytest.raises(ValidationError, match="joint_names: expected 17 unique names"):
        Keypoints(np.zeros((5, 17, 2)), names[:16], fps=30)
    with pytest.raises(ValidationError, match="3D keypoints need a length unit"):
        Keypoints(np.zeros((5, 17, 3)), names, fps=30)
    with pytest.raises(ValidationError, match="2D keypoints are in pixels"):
        Keypoints(np.zeros((5, 17, 2)), names, fps=30, unit="mm")
    with pytest.raises(ValidationError, match="layout: joint_names are not those of layout h36m17"):
        Keypoints(np.zeros((5, 17, 2)), names, fps=30, layout="h36m17")
    with pytest.raises(ValidationError, match=r"mask: expected shape \(5, 17\)"):
        Keypoints(np.zeros((5, 17, 2)), names, fps=30, mask=np.ones((5, 16), bool))
    with pytest.raises(ValidationError, match="camera"):
        Keypoints(np.zeros((5, 17, 2)), names, fps=30, camera=np.eye(4))
    with pytest.raises(ValidationError, match="fps"):
        Keypoints(np.zeros((5, 17, 2)), names, fps=0)


def test_nan_only_where_masked():
    pos = rng.normal(size=(4, 17, 2)) * 100
    pos[2, 3] = np.nan
    with pytest.raises(ValidationError, match="NaN or inf at visible keypoint 'left_ear', frame 2 \\(give a mask"):
        Keypoints(pos, COCO17.joint_names, fps=30)
    mask = np.ones((4, 17), bool)
    mask[2, 3] = False
    kp = Keypoints(pos, COCO17.joint_names, fps=30, mask=mask)
    assert not kp.visible[2, 3]
    mask[2, 3] = True
    with pytest.raises(ValidationError, match="visible keypoint 'left_ear'"):
        Keypoints(pos, COCO17.joint_names, fps=30, mask=mask)


def test_round_trip_2d_with_everything(tmp_path):
    pos = rng.normal(size=(6, 3, 2)) * 100
    pos[1, 2] = np.nan
    mask = np.isfinite(pos).all(-1)
    camera = np.array([[1145.0, 0, 512], [0, 1144, 515], [0, 0, 1]])
    kp = Keypoints(pos, ("a", "b", "c"), fps=25, mask=mask, confidence=rng.uniform(size=(6, 3)), camera=camera)
    write_keypoints_npz(kp, tmp_path / "k.npz")
    with np.load(tmp_path / "k.npz") as f:
        assert {"keypoints_2d", "joint_names", "mask", "confidence", "camera", "fps"} == set(f.files)
    back = read_keypoints_npz(tmp_path / "k.npz")
    assert back.joint_names == ("a", "b", "c") and back.unit is None and back.fps == 25
    np.testing.assert_array_equal(back.positions, kp.positions)
    np.testing.assert_array_equal(back.mask, mask)
    np.testing.assert_array_equal(back.camera, camera)
    np.testing.assert_array_equal(back.confidence, kp.confidence)


def test_round_trip_3d_layout(tmp_path):
    kp = Keypoints(rng.normal(size=(3, 17, 3)), H36M17.joint_names, fps=50, unit="cm", layout="h36m17")
    write_keypoints_npz(kp, tmp_path / "k.npz")
    back = read_keypoints_npz(tmp_path / "k.npz")
    assert back.layout == "h36m17" and back.unit == 10.0 and np.array_equal(back.positions, kp.positions)


def test_reads_the_files_users_give(tmp_path):
    """A hand-made file: a layout name, no fps or unit keys (given to the reader)."""
    np.savez(tmp_path / "user.npz", positions=rng.normal(size=(4, 17, 3)), layout="coco17")
    kp = read_keypoints_npz(tmp_path / "user.npz", fps=30, unit="m")
    assert kp.joint_names == COCO17.joint_names and kp.unit == 1000.0 and kp.fps == 30
    np.savez(
        tmp_path / "named.npz",
        keypoints_2d=rng.normal(size=(4, 2, 2)),
        joint_names=np.array(["x", "y"]),
        fps=60,
        unit="m",
    )
    assert read_keypoints_npz(tmp_path / "named.npz").joint_names == ("x", "y")


@pytest.mark.parametrize(
    "arrays, kwargs, message",
    [
        (
            {"positions": np.zeros((2, 17, 3)), "keypoints_2d": np.zeros((2, 17, 2)), "layout": "coco17"},
            {},
            "exactly one of 'positions'",
        ),
        ({"positions": np.zeros((2, 17, 3))}, {}, "exactly one of 'joint_names' or 'layout'"),
        ({"positions": np.zeros((2, 17, 3)), "layout": "coco17"}, {"unit": "m"}, "no 'fps' key: give the frame rate"),
        ({"positions": np.zeros((2, 17, 3)), "layout": "coco17"}, {"fps": 30}, "give the unit"),
        (
            {"positions": np.zeros((2, 17, 3)), "layout": "mpii"},
            {"fps": 30, "unit": "m"},
            "unknown keypoint layout 'mpii'",
        ),
        (
            {"positions": np.full((2, 17, 3), np.nan), "layout": "coco17"},
            {"fps": 30, "unit": "m"},
            "NaN or inf at visible keypoint 'nose'",
        ),
        ({"positions": np.zeros((2, 16, 3)), "layout": "coco17"}, {"fps": 30, "unit": "m"}, "joint_names: expected 16"),
    ],
)
def test_bad_files(tmp_path, arrays, kwargs, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FormatError, match=message) as e:
        read_keypoints_npz(tmp_path / "bad.npz", **kwargs)
    assert str(tmp_path / "bad.npz") in str(e.value)


def test_not_an_npz(tmp_path):
    (tmp_path / "a.npz").write_text("nope")
    with pytest.raises(FormatError, match="not a readable npz"):
        read_keypoints_npz(tmp_path / "a.npz")
    np.save(tmp_path / "b.npy", np.zeros((2, 17, 3)))
    with pytest.raises(FormatError, match="found a single .npy array"):
        read_keypoints_npz(tmp_path / "b.npy")
