"""AMASS npz reading and writing, on files generated in the exact AMASS layout; posed joints checked
against smplx's own linear blend skinning on a synthetic SMPL-H model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from smplx.lbs import lbs

from poseprior.errors import FormatError, ValidationError
from poseprior.geometry import random_rotations
from poseprior.io import Motion
from poseprior.io.amass import read_amass, write_amass
from poseprior.skeleton import Skeleton
from poseprior.skeleton.smpl import smpl_parents, smpl_skeleton, template_rest_joints

T = 12


def amass_arrays(model_type: str = "smplh", seed: int = 0) -> dict:
    """The arrays of an AMASS file, with the key names and dtypes of the two releases."""
    rng = np.random.default_rng(seed)
    width = {"smplh": 156, "smplx": 165}[model_type]
    data = {
        "poses": rng.normal(0, 0.4, (T, width)),
        "trans": np.cumsum(rng.normal(0, 0.01, (T, 3)), 0) + [0.2, 0.9, -0.1],
        "betas": rng.normal(0, 1, 16),
        "gender": np.array("female"),
    }
    if model_type == "smplh":  # SMPL-H release (AMASS "SMPL+H G")
        data.update(mocap_framerate=np.array(120.0), dmpls=rng.normal(0, 1, (T, 8)))
    else:  # SMPL-X release (AMASS "SMPL-X N/G")
        data.update(
            mocap_frame_rate=np.array(60.0), surface_model_type=np.array("smplx"), num_betas=np.array(16),
            mocap_time_length=np.array(T / 60.0), root_orient=data["poses"][:, :3], pose_body=data["poses"][:, 3:66],
        )  # fmt: skip
    return data


def save(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def synthetic_smplh_model(path: Path, V: int = 40) -> dict:
    """A tiny SMPL-H model in the npz layout AMASS ships (``smplh/<gender>/model.npz``)."""
    rng = np.random.default_rng(1)
    parents = smpl_parents("smplh")
    # Vertices near a real-looking skeleton so the joints are spread like a body's.
    anchors = template_rest_joints("smplh").numpy()[rng.integers(0, 52, V)]
    regressor = rng.uniform(0, 1, (52, V))
    model = {
        "v_template": anchors + rng.normal(0, 0.02, (V, 3)),
        "shapedirs": rng.normal(0, 0.01, (V, 3, 16)),
        "posedirs": rng.normal(0, 0.002, (V, 3, 51 * 9)),
        "J_regressor": regressor / regressor.sum(1, keepdims=True),
        "weights": rng.dirichlet(np.ones(52), V),
        "kintree_table": np.array([[2**32 - 1, *parents[1:]], list(range(52))], dtype=np.int64),
        "f": rng.integers(0, V, (2 * V, 3)).astype(np.uint32),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **model)
    return model


def test_read_smplh_with_the_template(tmp_path):
    data = amass_arrays("smplh")
    motion = read_amass(save(tmp_path / "walk_poses.npz", **data))
    assert isinstance(motion, Motion) and motion.num_frames == T and motion.fps == 120.0 and motion.unit == 1000.0
    assert motion.joint_names == smpl_skeleton("smplh").joint_names
    assert motion.rotations.dtype == torch.float64
    R = torch.from_numpy(data["poses"]).reshape(T, 52, 3)
    angle = R.norm(dim=-1)
    cos = (motion.rotations.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    assert torch.allclose(cos, torch.cos(angle), atol=1e-9)
    pelvis = template_rest_joints("smplh")[0]
    assert torch.allclose(motion.root_translation, torch.from_numpy(data["trans"]) + pelvis)
    assert motion.metadata["rest_joints"].startswith("generic template")
    assert motion.metadata["gender"] == "female" and motion.metadata["model_type"] == "smplh"
    assert np.allclose(motion.metadata["betas"], data["betas"])


def test_positions_match_smplx_skinning(tmp_path):
    """Posed joints equal smplx's ``lbs`` joints plus ``trans``: same tree, rest joints and root convention."""
    model = synthetic_smplh_model(tmp_path / "body_models" / "smplh" / "female" / "model.npz")
    data = amass_arrays("smplh")
    motion = read_amass(save(tmp_path / "a.npz", **data), model_path=tmp_path / "body_models")
    assert motion.metadata["rest_joints"] == str(tmp_path / "body_models")
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    _, joints = lbs(
        t(data["betas"])[None].expand(T, -1), t(data["poses"]), t(model["v_template"]), t(model["shapedirs"]),
        t(model["posedirs"]).reshape(-1, 51 * 9).T, t(model["J_regressor"]), torch.tensor(smpl_parents("smplh")),
        t(model["weights"]),
    )  # fmt: skip
    expected = joints + t(data["trans"])[:, None]
    assert torch.allclose(motion.positions(), expected, atol=1e-10)
    # A file whose trans is in millimetres, read with unit="mm": the same body in the same place.
    data["trans"] = data["trans"] * 1000
    mm = read_amass(save(tmp_path / "mm.npz", **data), model_path=tmp_path / "body_models", unit="mm")
    assert mm.unit == 1.0
    assert torch.allclose(mm.positions(millimetres=True), motion.positions(millimetres=True), atol=1e-8)


def test_gender_argument_picks_the_model(tmp_path):
    synthetic_smplh_model(tmp_path / "smplh" / "male" / "model.npz")
    path = save(tmp_path / "a.npz", **amass_arrays("smplh"))
    with pytest.raises(ValidationError, match="no smplh female model"):
        read_amass(path, model_path=tmp_path)
    assert read_amass(path, model_path=tmp_path, gender="male").metadata["gender"] == "male"


def test_read_smplx(tmp_path):
    data = amass_arrays("smplx")
    motion = read_amass(save(tmp_path / "x_stageii.npz", **data))
    assert motion.skeleton.num_joints == 55 and motion.fps == 60.0
    assert motion.joint_names[22] == "jaw" and motion.metadata["model_type"] == "smplx"
    assert read_amass(tmp_path / "x_stageii.npz", fps=30).fps == 30.0


@pytest.mark.parametrize("model_type", ["smplh", "smplx"])
def test_write_read_round_trip(tmp_path, model_type):
    first = read_amass(save(tmp_path / "in.npz", **amass_arrays(model_type)))
    write_amass(first, tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as f:
        rate_key = "mocap_framerate" if model_type == "smplh" else "mocap_frame_rate"
        assert {"poses", "trans", "betas", "gender", rate_key} <= set(f.files)
        assert f["poses"].dtype == np.float64 and str(f["gender"]) == "female"
    again = read_amass(tmp_path / "out.npz")
    assert torch.allclose(again.rotations, first.rotations, atol=1e-10)
    assert torch.allclose(again.root_translation, first.root_translation, atol=1e-12)
    assert again.fps == first.fps and again.metadata["betas"] == first.metadata["betas"]


def test_write_converts_to_metres(tmp_path):
    sk = smpl_skeleton("smplh").scaled(100.0)  # centimetres
    R = random_rotations(3, 52, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    motion = Motion(sk, R, torch.tensor([[0.0, 90.0, 0.0]]).double().expand(3, 3), fps=30, unit="cm")
    write_amass(motion, tmp_path / "cm.npz")
    back = read_amass(tmp_path / "cm.npz")
    assert torch.allclose(back.positions(millimetres=True), motion.positions(millimetres=True), atol=1e-9)
    pelvis = template_rest_joints("smplh")[0].numpy()  # trans is the root position minus the rest pelvis, in m
    assert np.allclose(np.load(tmp_path / "cm.npz")["trans"], np.array([0.0, 0.9, 0.0]) - pelvis)


def test_write_rejects_other_skeletons(tmp_path):
    sk = Skeleton(("hip", "knee"), (-1, 0), torch.tensor([[0.0, 1, 0], [0, -0.5, 0]]))
    motion = Motion(sk, torch.eye(3).double().expand(2, 2, 3, 3), torch.zeros(2, 3).double(), fps=30, unit="m")
    with pytest.raises(ValidationError, match="SMPL-H .* or SMPL-X"):
        write_amass(motion, tmp_path / "x.npz")
    smpl = Motion(
        smpl_skeleton("smpl"), torch.eye(3).double().expand(2, 24, 3, 3), torch.zeros(2, 3).double(), fps=30, unit="m"
    )
    with pytest.raises(ValidationError, match="24 joints"):
        write_amass(smpl, tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("poses"), r"missing keys \['poses'\]"),
        (
            lambda d: d.update(poses=d["poses"][:, :72]),
            r"'poses' must be \(T, 156\) for SMPL-H or \(T, 165\) for SMPL-X, got \(12, 72\)",
        ),
        (lambda d: d.update(trans=d["trans"][:-1]), r"'trans' must be \(12, 3\) to match 'poses' \(12 frames\)"),
        (lambda d: d["poses"].__setitem__((5, 7), np.nan), "'poses' contains NaN or inf \\(first at frame 5\\)"),
        (lambda d: d["trans"].__setitem__((2, 0), np.inf), "'trans' contains NaN or inf"),
        (lambda d: d.pop("mocap_framerate"), "add one to the file"),
        (lambda d: d.update(surface_model_type=np.array("smplx")), "surface_model_type is 'smplx'"),
    ],
)
def test_bad_files_name_the_file(tmp_path, change, message):
    data = amass_arrays("smplh")
    change(data)
    path = save(tmp_path / "bad.npz", **data)
    with pytest.raises(FormatError, match=message) as e:
        read_amass(path)
    assert str(e.value).startswith(str(path))


def test_not_an_npz(tmp_path):
    text = tmp_path / "poses.npz"
    text.write_text("poses,trans\n")
    with pytest.raises(FormatError, match="not a readable npz archive"):
        read_amass(text)
    np.save(tmp_path / "poses.npy", np.zeros((T, 156)))
    with pytest.raises(FormatError, match="single .npy array"):
        read_amass(tmp_path / "poses.npy")
    # AMASS's per-subject shape.npz has betas and gender but no motion.
    with pytest.raises(FormatError, match="not an AMASS motion"):
        read_amass(save(tmp_path / "shape.npz", betas=np.zeros(16), gender=np.array("male")))
