"""SMPL-family trees, the generic template, and rest joints read from synthetic model files through smplx."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import smplx  # the `smpl` extra; part of the test environment
import torch
from smplx.joint_names import JOINT_NAMES, SMPLH_JOINT_NAMES

from poseprior.errors import FormatError, MissingDependencyError, ValidationError
from poseprior.skeleton import Skeleton, forward_kinematics
from poseprior.skeleton.smpl import (
    MODEL_TYPES,
    SMPLH_JOINTS,
    SMPLX_JOINTS,
    rest_joints_from_model,
    smpl_joint_names,
    smpl_model_type,
    smpl_parents,
    smpl_skeleton,
    template_rest_joints,
)

# The official kintree_table[0] of each model (root stored as 2**32 - 1), written out independently.
OFFICIAL_PARENTS = {
    "smpl": [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21],
    "smplh": [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
              20, 22, 23, 20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35,
              21, 37, 38, 21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50],
    "smplx": [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
              20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
              21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53],
}  # fmt: skip
POSE_BASIS = {"smpl": 23 * 9, "smplh": 51 * 9, "smplx": 54 * 9}


def fake_model(model_type: str, n_shape: int, V: int = 30, seed: int = 0) -> dict:
    """A tiny random model with every key the official files (and smplx's loaders) have."""
    rng = np.random.default_rng(seed)
    K = len(OFFICIAL_PARENTS[model_type])
    regressor = rng.uniform(0, 1, (K, V))
    kintree = np.array([[2**32 - 1] + OFFICIAL_PARENTS[model_type][1:], list(range(K))], dtype=np.int64)
    data = {
        "v_template": rng.normal(0, 0.3, (V, 3)),
        "shapedirs": rng.normal(0, 0.01, (V, 3, n_shape)),
        "posedirs": rng.normal(0, 0.001, (V, 3, POSE_BASIS[model_type])),
        "J_regressor": regressor / regressor.sum(1, keepdims=True),
        "weights": rng.dirichlet(np.ones(K), V),
        "kintree_table": kintree,
        "f": rng.integers(0, V, (2 * V, 3)).astype(np.uint32),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }
    if model_type != "smpl":
        data.update(
            hands_componentsl=rng.normal(size=(45, 45)), hands_componentsr=rng.normal(size=(45, 45)),
            hands_meanl=rng.normal(0, 0.1, 45), hands_meanr=rng.normal(0, 0.1, 45),
        )  # fmt: skip
    if model_type == "smplx":
        data.update(
            lmk_faces_idx=rng.integers(0, 2 * V, 51), lmk_bary_coords=rng.dirichlet(np.ones(3), 51),
            dynamic_lmk_faces_idx=rng.integers(0, 2 * V, (79, 17)),
            dynamic_lmk_bary_coords=rng.dirichlet(np.ones(3), (79, 17)),
        )  # fmt: skip
    return data


def save_npz(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **data)
    return path


def expected_joints(data: dict, betas: np.ndarray) -> np.ndarray:
    S = data["shapedirs"][:, :, : len(betas)]
    return data["J_regressor"] @ (data["v_template"] + S @ betas)


# ------------------------------------------------------------------------------------------- the trees
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_trees_match_the_official_kintree_tables(model_type):
    names, parents = smpl_joint_names(model_type), smpl_parents(model_type)
    assert list(parents) == OFFICIAL_PARENTS[model_type]
    assert len(names) == {"smpl": 24, "smplh": 52, "smplx": 55}[model_type]
    assert names[:3] == ("pelvis", "left_hip", "right_hip") and names[15] == "head"
    sk = smpl_skeleton(model_type)
    assert smpl_model_type(sk) == model_type
    # Left and right swap under the skeleton's own mirror rule.
    mirror = sk.mirror_indices()
    assert names[mirror[names.index("left_wrist")]] == "right_wrist"


def test_hand_and_face_joint_names_follow_smplx():
    assert SMPLH_JOINTS[22:25] == ("left_index1", "left_index2", "left_index3")
    assert SMPLH_JOINTS[34:37] == ("left_thumb1", "left_thumb2", "left_thumb3")
    assert SMPLH_JOINTS[37] == "right_index1" and SMPLH_JOINTS[-1] == "right_thumb3"
    assert SMPLX_JOINTS[22:25] == ("jaw", "left_eye_smplhf", "right_eye_smplhf")
    assert SMPLX_JOINTS[25:] == SMPLH_JOINTS[22:]
    assert list(JOINT_NAMES[:55]) == list(SMPLX_JOINTS)
    assert list(SMPLH_JOINT_NAMES[:52]) == list(SMPLH_JOINTS)


def test_model_type_of_other_skeletons_is_none():
    sk = smpl_skeleton("smplh")
    assert smpl_model_type(sk.subset(sk.joint_names[:22])) is None
    with pytest.raises(ValidationError, match="model_type"):
        smpl_joint_names("smpl+h")


# ------------------------------------------------------------------------------------------ the template
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_template_is_a_symmetric_adult_t_pose(model_type):
    J = template_rest_joints(model_type)
    sk = smpl_skeleton(model_type)
    mirrored = J[sk.mirror_indices()] * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    assert torch.allclose(mirrored, J)
    names = sk.joint_names
    at = {n: J[names.index(n)] for n in ("pelvis", "head", "left_ankle", "left_knee", "left_wrist", "left_shoulder")}
    assert 1.35 < (at["head"] - at["left_ankle"])[1] < 1.60  # ankle to skull base of a ~1.75 m adult
    assert 0.36 < (at["left_knee"] - at["left_ankle"]).norm() < 0.46
    assert at["left_wrist"][0] > 0.6 and abs(at["left_wrist"][1] - at["left_shoulder"][1]) < 0.03  # arms out
    assert sk.bone_lengths()[1:].min() > 0.01
    # Identity rotations reproduce the rest joints: offsets are joint differences.
    positions, _ = forward_kinematics(sk, torch.eye(3, dtype=torch.float64).expand(len(names), 3, 3))
    assert torch.allclose(positions, J)


def test_smpl_skeleton_from_given_rest_joints():
    J = torch.randn(24, 3, dtype=torch.float64)
    sk = smpl_skeleton("smpl", J)
    assert isinstance(sk, Skeleton)
    positions, _ = forward_kinematics(sk, torch.eye(3, dtype=torch.float64).expand(24, 3, 3))
    assert torch.allclose(positions, J)
    with pytest.raises(ValidationError, match=r"rest_joints: expected shape \(52, 3\)"):
        smpl_skeleton("smplh", J)


# ------------------------------------------------------------------------------ model files through smplx
def test_smplh_npz_rest_joints_with_16_betas(tmp_path):
    data = fake_model("smplh", 16)
    path = save_npz(tmp_path / "SMPLH_MALE.npz", data)
    # The synthetic file is in the format smplx itself loads.
    model = smplx.SMPLH(str(path), ext="npz", use_pca=False)
    assert model.J_regressor.shape == (52, 30)
    betas = np.linspace(-2, 2, 16)
    J = rest_joints_from_model(path, "smplh", betas=betas)
    assert J.shape == (52, 3) and J.dtype == torch.float64
    np.testing.assert_allclose(J.numpy(), expected_joints(data, betas), atol=1e-12)
    # No betas: the mean shape.
    np.testing.assert_allclose(
        rest_joints_from_model(path, "smplh").numpy(), data["J_regressor"] @ data["v_template"], atol=1e-12
    )


def test_smpl_pkl(tmp_path):
    data = fake_model("smpl", 10)
    path = tmp_path / "basicmodel_neutral.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    smplx.SMPL(str(path))  # loads in smplx too
    betas = np.arange(10) / 10
    np.testing.assert_allclose(
        rest_joints_from_model(path, "smpl", betas=betas).numpy(), expected_joints(data, betas), atol=1e-12
    )


def test_smplx_npz_leaves_expressions_out(tmp_path):
    data = fake_model("smplx", 20)  # 10 shape + 10 expression directions, as in the older release
    path = save_npz(tmp_path / "smplx" / "SMPLX_NEUTRAL.npz", data)
    smplx.SMPLX(str(path), ext="npz", use_pca=False)
    betas = np.r_[np.linspace(1, -1, 10), np.zeros(6)]  # AMASS's 16 betas, zero beyond the model's 10
    J = rest_joints_from_model(tmp_path, "smplx", "neutral", betas)
    np.testing.assert_allclose(J.numpy(), expected_joints(data, betas[:10]), atol=1e-12)
    with pytest.raises(ValidationError, match="only 10 shape components"):
        rest_joints_from_model(path, "smplx", betas=np.ones(16))


def test_folder_layouts(tmp_path):
    data = fake_model("smplh", 16)
    save_npz(tmp_path / "amass" / "smplh" / "female" / "model.npz", data)
    J = rest_joints_from_model(tmp_path / "amass", "smplh", "female")
    np.testing.assert_allclose(J.numpy(), data["J_regressor"] @ data["v_template"], atol=1e-12)
    with pytest.raises(ValidationError, match="no smplh male model"):
        rest_joints_from_model(tmp_path / "amass", "smplh", "male")
    with pytest.raises(ValidationError, match="does not exist"):
        rest_joints_from_model(tmp_path / "nowhere", "smplh")


def test_bad_model_files(tmp_path):
    path = save_npz(tmp_path / "m.npz", fake_model("smplh", 16))
    with pytest.raises(FormatError, match="not the 55-joint smplx tree") as e:
        rest_joints_from_model(path, "smplx")
    assert str(path) in str(e.value)
    data = fake_model("smplh", 16)
    del data["J_regressor"]
    with pytest.raises(FormatError, match=r"missing \['J_regressor'\]"):
        rest_joints_from_model(save_npz(tmp_path / "n.npz", data), "smplh")
    junk = tmp_path / "junk.npz"
    junk.write_text("not a model")
    with pytest.raises(FormatError, match="not a readable SMPL-family model"):
        rest_joints_from_model(junk, "smplh")
    data = fake_model("smplh", 16)
    data["J_regressor"] = data["J_regressor"][:, :10]
    with pytest.raises(FormatError, match="inconsistent shapes"):
        rest_joints_from_model(save_npz(tmp_path / "o.npz", data), "smplh")


def test_missing_smplx_says_how_to_install(tmp_path, monkeypatch):
    path = save_npz(tmp_path / "m.npz", fake_model("smplh", 16))
    monkeypatch.setitem(sys.modules, "smplx.lbs", None)  # makes `import smplx.lbs` raise ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install poseprior\[smpl\]") as e:
        rest_joints_from_model(path, "smplh")
    assert isinstance(e.value, ImportError)
