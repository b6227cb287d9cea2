"""Fit3D SMPL-X JSON reading, on files generated in the exact layout of the dataset (keys, shapes, rotation
matrices, the ``<subset>/<subject>/smplx/<action>.json`` path); posed joints checked against smplx's own linear
blend skinning on a synthetic SMPL-X model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from smplx.lbs import lbs

from poseprior.errors import FormatError
from poseprior.geometry import random_rotations
from poseprior.io import Motion, read_motion
from poseprior.io.fit3d import read_fit3d_smplx
from poseprior.skeleton.smpl import smpl_joint_names, smpl_parents, template_rest_joints

T = 6
# Key, joints, first joint on the SMPL-X tree.
POSE_KEYS = [
    ("global_orient", 1, 0), ("body_pose", 21, 1), ("jaw_pose", 1, 22), ("leye_pose", 1, 23), ("reye_pose", 1, 24),
    ("left_hand_pose", 15, 25), ("right_hand_pose", 15, 40),
]  # fmt: skip


def fit3d_params(seed: int = 0, body_only: bool = False, float32: bool = True) -> dict[str, np.ndarray]:
    """The arrays of one Fit3D ``smplx/<action>.json``; float32 values as the dataset's fits store them."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    data = {"transl": np.cumsum(rng.normal(0, 0.01, (T, 3)), 0) + [0.3, -0.2, 0.9]}
    for key, n, _ in POSE_KEYS:
        if not body_only or key in ("global_orient", "body_pose"):
            data[key] = random_rotations(T, n, generator=gen, dtype=torch.float64).numpy()
    data["betas"] = np.repeat(rng.normal(0, 1, (1, 10)), T, 0)
    if not body_only:
        data["expression"] = rng.normal(0, 0.5, (T, 10))
    return {k: v.astype(np.float32) if float32 else v for k, v in data.items()}


def write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: np.asarray(v).tolist() for k, v in data.items()}))
    return path


def fit3d_file(tmp_path: Path, data: dict) -> Path:
    return write(tmp_path / "fit3d" / "train" / "s03" / "smplx" / "squat.json", data)


def synthetic_smplx_model(path: Path, V: int = 60) -> dict:
    """A tiny SMPL-X model in the smplx package's npz layout (10 shape + 10 expression directions)."""
    rng = np.random.default_rng(1)
    parents = smpl_parents("smplx")
    anchors = template_rest_joints("smplx").numpy()[rng.integers(0, 55, V)]
    regressor = rng.uniform(0, 1, (55, V))
    model = {
        "v_template": anchors + rng.normal(0, 0.02, (V, 3)),
        "shapedirs": rng.normal(0, 0.01, (V, 3, 20)),
        "posedirs": rng.normal(0, 0.002, (V, 3, 54 * 9)),
        "J_regressor": regressor / regressor.sum(1, keepdims=True),
        "weights": rng.dirichlet(np.ones(55), V),
        "kintree_table": np.array([[2**32 - 1, *parents[1:]], list(range(55))], dtype=np.int64),
        "f": rng.integers(0, V, (2 * V, 3)).astype(np.uint32),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **model)
    return model


def test_full_file_rotations_and_translation(tmp_path):
    data = fit3d_params()
    motion = read_fit3d_smplx(fit3d_file(tmp_path, data))
    assert isinstance(motion, Motion) and motion.num_frames == T and motion.fps == 50.0 and motion.unit == 1000.0
    assert motion.joint_names == smpl_joint_names("smplx") and motion.rotations.dtype == torch.float64
    for key, n, first in POSE_KEYS:  # each key lands on its joints of the SMPL-X tree, to float32 rounding
        torch.testing.assert_close(
            motion.rotations[:, first : first + n], torch.from_numpy(data[key]).double(), atol=1e-6, rtol=0
        )
    R = motion.rotations  # projected onto SO(3): exact in float64
    assert torch.allclose(R.transpose(-1, -2) @ R, torch.eye(3, dtype=torch.float64).expand_as(R), atol=1e-12)
    pelvis = template_rest_joints("smplx")[0]
    assert torch.allclose(motion.root_translation, torch.from_numpy(data["transl"]).double() + pelvis)
    meta = motion.metadata
    assert meta["format"] == "fit3d" and meta["subject"] == "s03" and meta["action"] == "squat"
    assert meta["pose_keys"] == [k for k, _, _ in POSE_KEYS] and meta["gender"] == "neutral"
    assert np.allclose(meta["betas"], data["betas"][0]) and meta["betas_spread"] == 0.0
    assert meta["rest_joints"].startswith("generic template")


def test_body_only_file_has_identity_elsewhere(tmp_path):
    data = fit3d_params(body_only=True)
    motion = read_fit3d_smplx(write(tmp_path / "walk.json", data))
    assert motion.metadata["pose_keys"] == ["global_orient", "body_pose"] and "subject" not in motion.metadata
    eye = torch.eye(3, dtype=torch.float64).expand(T, 33, 3, 3)
    torch.testing.assert_close(motion.rotations[:, 22:], eye, atol=1e-12, rtol=0)
    torch.testing.assert_close(
        motion.rotations[:, 1:22], torch.from_numpy(data["body_pose"]).double(), atol=1e-6, rtol=0
    )


def test_positions_match_smplx_skinning(tmp_path):
    """Posed joints equal smplx's ``lbs`` joints (rotation-matrix input, as SMPLXLayer) plus ``transl``."""
    model = synthetic_smplx_model(tmp_path / "body_models" / "smplx" / "SMPLX_NEUTRAL.npz")
    data = fit3d_params(float32=False)
    motion = read_fit3d_smplx(fit3d_file(tmp_path, data), model_path=tmp_path / "body_models")
    assert motion.metadata["rest_joints"] == str(tmp_path / "body_models")
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    full_pose = torch.cat([t(data[key]) for key, _, _ in POSE_KEYS], dim=1)  # SMPLXLayer's concatenation order
    _, joints = lbs(
        t(data["betas"]), full_pose, t(model["v_template"]), t(model["shapedirs"][:, :, :10]),
        t(model["posedirs"]).reshape(-1, 54 * 9).T, t(model["J_regressor"]), torch.tensor(smpl_parents("smplx")),
        t(model["weights"]), pose2rot=False,
    )  # fmt: skip
    expected = joints + t(data["transl"])[:, None]
    torch.testing.assert_close(motion.positions(), expected, atol=1e-10, rtol=0)
    # The same body with transl in millimetres, read with unit="mm".
    data["transl"] = data["transl"] * 1000
    mm = read_fit3d_smplx(write(tmp_path / "mm.json", data), model_path=tmp_path / "body_models", unit="mm")
    assert mm.unit == 1.0
    torch.testing.assert_close(mm.positions(millimetres=True), motion.positions(millimetres=True), atol=1e-8, rtol=0)


def test_varying_betas_take_the_first_frame(tmp_path):
    data = fit3d_params()
    data["betas"][3, 2] += 0.5
    meta = read_fit3d_smplx(fit3d_file(tmp_path, data)).metadata
    assert np.allclose(meta["betas"], data["betas"][0]) and meta["betas_spread"] == pytest.approx(0.5)


def test_two_people_file_needs_person(tmp_path):
    """CHI3D's layout: every array has a leading axis of 2 people."""
    a, b = fit3d_params(seed=0), fit3d_params(seed=1)
    path = write(tmp_path / "grab.json", {k: np.stack([a[k], b[k]]) for k in a})
    second = read_fit3d_smplx(path, person=1)
    torch.testing.assert_close(second.rotations[:, 1:22], torch.from_numpy(b["body_pose"]).double(), atol=1e-6, rtol=0)
    with pytest.raises(FormatError, match=r"'transl' must be \(T, 3\), got \(2, 6, 3\); .* need person="):
        read_fit3d_smplx(path)
    with pytest.raises(FormatError, match="person=2, but 'transl' has shape"):
        read_fit3d_smplx(path, person=2)


def _not_rotation(d: dict) -> None:
    d["body_pose"][4, 3] *= 1.1


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("body_pose"), r"missing keys \['body_pose'\]; not a Fit3D SMPL-X file"),
        (
            lambda d: d.update(global_orient=d["global_orient"][:, 0]),
            r"'global_orient' must be \(6, 1, 3, 3\) .* got \(6, 3, 3\)",
        ),
        (
            lambda d: d.update(body_pose=d["body_pose"][:-1]),
            r"'body_pose' must be \(6, 21, 3, 3\) to match 'transl' \(6 frames\)",
        ),
        (lambda d: d.update(left_hand_pose=d["left_hand_pose"][:, :12]), r"'left_hand_pose' must be \(6, 15, 3, 3\)"),
        (
            lambda d: d["body_pose"].__setitem__((2, 5, 0, 0), np.nan),
            r"'body_pose' contains NaN or inf \(first at frame 2\)",
        ),
        (lambda d: d["transl"].__setitem__((1, 2), np.inf), r"'transl' contains NaN or inf \(first at frame 1\)"),
        (lambda d: d["betas"].__setitem__((0, 0), np.nan), "'betas' contains NaN or inf"),
        (_not_rotation, "'body_pose' at frame 4, joint 3 is not a rotation"),
        (lambda d: d.update(betas=d["betas"][0]), r"'betas' must be \(6, B\), one shape per frame"),
        (lambda d: d.update(transl=d["transl"][:0]), r"'transl' must be \(T, 3\), got \(0,\)"),
    ],
)
def test_bad_files_name_the_file(tmp_path, change, message):
    data = fit3d_params()
    change(data)
    path = write(tmp_path / "bad.json", data)
    with pytest.raises(FormatError, match=message) as e:
        read_fit3d_smplx(path)
    assert str(e.value).startswith(str(path))


def test_not_a_parameter_file(tmp_path):
    text = tmp_path / "a.json"
    text.write_text("{transl: [")
    with pytest.raises(FormatError, match="not a JSON file"):
        read_fit3d_smplx(text)
    text.write_text("[1, 2]")
    with pytest.raises(FormatError, match="found a JSON list"):
        read_fit3d_smplx(text)
    text.write_text(json.dumps({"transl": [[0, 0, "x"]], "global_orient": [], "body_pose": []}))
    with pytest.raises(FormatError, match="'transl' is not a regular array of numbers"):
        read_fit3d_smplx(text)


def test_read_motion_dispatches_json(tmp_path):
    path = fit3d_file(tmp_path, fit3d_params())
    motion, direct = read_motion(path), read_fit3d_smplx(path)
    assert torch.equal(motion.rotations, direct.rotations) and torch.equal(
        motion.root_translation, direct.root_translation
    )
    assert motion.fps == 50.0 and read_motion(path, fps=25).fps == 25.0 and read_motion(path, unit="mm").unit == 1.0
    openpose = tmp_path / "clip_000000000000_keypoints.json"
    openpose.write_text(json.dumps({"version": 1.3, "people": []}))
    with pytest.raises(FormatError, match="read_keypoints_2d") as e:
        read_motion(openpose)
    assert str(e.value).startswith(str(openpose))
