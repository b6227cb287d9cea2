"""``poseprior fit3d`` and ``poseprior fit2d`` end to end with the shipped models: keypoints npz, motions,
OpenPose JSON, every output kind, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

import poseprior
import poseprior.zoo
from poseprior.cli.fit import fit2d, fit3d
from poseprior.errors import ValidationError
from poseprior.geometry import default_camera
from poseprior.io import (
    Keypoints,
    Motion,
    read_motion,
    write_keypoints_npz,
    write_motion,
)
from poseprior.models.flow.condition import perspective_pixels
from poseprior.skeleton import forward_kinematics, pelvis_keypoints
from poseprior.skeleton.layouts import get_layout, keypoints_from_positions

app = typer.Typer()
app.command("fit3d")(fit3d)
app.command("fit2d")(fit2d)
runner = CliRunner()
FRAMES = slice(0, 600, 50)  # 12 varied test poses
#: BODY_25 index of each COCO-17 keypoint (OpenPose's poseParameters.cpp).
BODY25_OF_COCO = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)


def invoke(*args: object) -> str:
    result = runner.invoke(app, list(map(str, args)))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def world(bandai_first_test_takes):
    """Joint positions (mm, world frame: real root rotation, a walk along x) of 12 test poses."""
    skeleton = poseprior.zoo.load("flow-ik-bandai").skeleton
    R = bandai_first_test_takes["rotations"][FRAMES].double()
    root = bandai_first_test_takes["root_rotation"][FRAMES].double()
    translation = torch.stack([torch.linspace(0, 300, 12), torch.full((12,), 95.0), torch.zeros(12)], -1).double()
    positions = forward_kinematics(skeleton, torch.cat([root[:, None], R], 1), translation)[0] * 10.0  # cm -> mm
    return skeleton, positions


def test_fit3d_keypoints_npz_with_mask(world, tmp_path):
    skeleton, positions = world
    mask = torch.ones(12, 21, dtype=torch.bool)
    mask[:, [4, 9, 15]] = False
    values = positions.numpy().copy()
    values[~mask.numpy()] = np.nan
    names = list(skeleton.joint_names)
    # Extra keypoints a user's file may carry are ignored; the file's order need not be the skeleton's.
    order = np.random.default_rng(0).permutation(21)
    kp = Keypoints(
        np.concatenate([values[:, order], np.zeros((12, 1, 3))], 1),
        [names[i] for i in order] + ["marker"],
        fps=30,
        unit="mm",
        mask=np.concatenate([mask.numpy()[:, order], np.ones((12, 1), bool)], 1),
    )
    write_keypoints_npz(kp, tmp_path / "kp.npz")
    out = invoke("fit3d", tmp_path / "kp.npz", "-o", tmp_path / "fit.npz", "--noise-mm", "5")
    assert "mean distance to the visible keypoints" in out
    motion = read_motion(tmp_path / "fit.npz")
    assert motion.unit == 1.0 and motion.fps == 30  # the input's unit
    error = (motion.positions() - positions).norm(dim=-1)
    assert error[mask].mean() < 10.0 and error.mean() < 25.0
    with np.load(tmp_path / "fit.npz") as z:
        assert z["objective"].shape == (12,)


@pytest.fixture(scope="module")
def truth_motion(world, bandai_first_test_takes):
    """The 12 poses as a motion (cm), whose joints sit at ``world``'s positions."""
    skeleton, positions = world
    R = bandai_first_test_takes["rotations"][FRAMES].double()
    root = bandai_first_test_takes["root_rotation"][FRAMES].double()
    return Motion(skeleton, torch.cat([root[:, None], R], 1), positions[:, 0] / 10, 30, 10.0)


@pytest.mark.parametrize("prior", ["none", "flow-bandai", "ndf-bandai"])
def test_fit3d_from_a_motion_to_bvh(truth_motion, tmp_path, prior):
    write_motion(truth_motion, tmp_path / "truth.npz")  # a motion as input: its joint positions are the keypoints
    invoke("fit3d", tmp_path / "truth.npz", "-o", tmp_path / "fit.bvh", "--prior", prior, "--noise-mm", "5")
    fitted = read_motion(tmp_path / "fit.bvh")  # written on the input's skeleton (a BVH lists it depth first)
    order = fitted.skeleton.indices(truth_motion.skeleton.joint_names)
    assert (fitted.positions(millimetres=True)[:, order] - truth_motion.positions(millimetres=True)).norm(
        dim=-1
    ).mean() < 25.0


def _openpose_dir(tmp_path, pixels: torch.Tensor):
    folder = tmp_path / "json"
    folder.mkdir()
    for t, frame in enumerate(pixels.tolist()):
        values = [0.0] * 75
        for c, b in enumerate(BODY25_OF_COCO):
            values[3 * b : 3 * b + 3] = [frame[c][0], frame[c][1], 0.9]
        (folder / f"clip_{t:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": values}]})
        )
    return folder


@pytest.fixture(scope="module")
def coco_pixels(bandai_first_test_takes):
    """COCO-17 pixels (1000 x 1000, focal 1000) of the 12 poses seen by level cameras 3-6 m away."""
    ik = poseprior.zoo.load("flow-ik-bandai")
    skeleton = ik.skeleton
    R = bandai_first_test_takes["rotations"][FRAMES].float()
    root = bandai_first_test_takes["root_rotation"][FRAMES].float()
    g = torch.Generator().manual_seed(0)
    body = pelvis_keypoints(skeleton, R)
    coco = keypoints_from_positions(body.double(), skeleton, "coco17").float()
    yaw, pitch = 2 * math.pi * torch.rand(12, generator=g), torch.deg2rad(20 * torch.rand(12, generator=g))
    distance = 300 + 300 * torch.rand(12, generator=g)
    return perspective_pixels(coco, root, default_camera((1000, 1000), 1000.0), yaw, pitch, distance)


def test_fit2d_openpose_folder(coco_pixels, tmp_path):
    folder = _openpose_dir(tmp_path, coco_pixels)
    out = invoke(
        "fit2d",
        folder,
        "-o",
        tmp_path / "fit.npz",
        "--image-size",
        "1000",
        "1000",
        "--focal",
        "1000",
        "--hypotheses",
        "2",
    )
    assert "mean reprojection error" in out
    with np.load(tmp_path / "fit.npz") as z:
        assert z["pixels"].shape == (12, 17, 2) and z["hypotheses"].shape == (12, 2, 20, 3, 3)
        assert np.linalg.norm(z["pixels"] - coco_pixels.numpy(), axis=-1).mean() < 3.0
        assert z["unit_mm"] == 1.0
    motion = read_motion(tmp_path / "fit.npz")
    assert (motion.positions()[..., 2] > 1000).all()  # metres in front of the camera, in mm


def test_fit2d_keypoints_npz_with_camera_to_bvh(coco_pixels, tmp_path):
    layout = get_layout("coco17")
    kp = Keypoints(
        coco_pixels.numpy(),
        layout.joint_names,
        fps=30,
        layout="coco17",
        camera=default_camera((1000, 1000), 1000.0).numpy(),
        confidence=np.ones((12, 17)),
    )
    write_keypoints_npz(kp, tmp_path / "kp.npz")
    invoke("fit2d", tmp_path / "kp.npz", "-o", tmp_path / "fit.bvh", "--prior", "none", "--hypotheses", "1")
    assert read_motion(tmp_path / "fit.bvh").num_frames == 12


def test_bad_input(coco_pixels, world, tmp_path):
    layout = get_layout("coco17")
    write_keypoints_npz(
        Keypoints(coco_pixels.numpy(), layout.joint_names, fps=30, layout="coco17"), tmp_path / "nocam.npz"
    )
    with pytest.raises(ValidationError, match="--image-size"):
        invoke("fit2d", tmp_path / "nocam.npz", "-o", tmp_path / "x.npz")
    with pytest.raises(ValidationError, match="expected a .npz or .bvh"):
        invoke("fit2d", tmp_path / "nocam.npz", "-o", tmp_path / "x.txt")
    skeleton, positions = world
    names = [f"marker{i}" for i in range(21)]
    write_keypoints_npz(Keypoints(positions.numpy(), names, fps=30, unit="mm"), tmp_path / "unnamed.npz")
    with pytest.raises(ValidationError, match="match 0 of the skeleton's joints"):
        invoke("fit3d", tmp_path / "unnamed.npz", "-o", tmp_path / "x.npz")
    write_keypoints_npz(Keypoints(positions.numpy(), skeleton.joint_names, fps=30, unit="mm"), tmp_path / "ok.npz")
    cmu = Path(poseprior.__file__).parent / "assets" / "cmu_01_01.bvh"
    ship = tmp_path / "ship.bvh"  # a rig in no naming convention
    ship.write_text(cmu.read_text().replace("Left", "Port").replace("Right", "Starboard"))
    with pytest.raises(ValidationError, match="ship.bvh: cannot place left_hip"):
        invoke("fit3d", tmp_path / "ok.npz", "-o", tmp_path / "x.npz", "--skeleton", ship)


def test_fit3d_subject_skeleton_from_a_bvh(truth_motion, tmp_path):
    # A taller subject: the same poses on a skeleton 10% larger, its skeleton given as a BVH file.
    tall = Motion(
        truth_motion.skeleton.scaled(1.1), truth_motion.rotations, truth_motion.root_translation * 1.1, 30, 10.0
    )
    write_motion(tall, tmp_path / "subject.bvh")
    write_motion(tall, tmp_path / "tall.npz")
    invoke(
        "fit3d",
        tmp_path / "tall.npz",
        "-o",
        tmp_path / "fit.npz",
        "--skeleton",
        tmp_path / "subject.bvh",
        "--noise-mm",
        "5",
    )
    fitted = read_motion(tmp_path / "fit.npz")
    assert torch.allclose(fitted.skeleton.offsets, tall.skeleton.offsets * tall.unit / fitted.unit, atol=1e-3)
    assert (fitted.positions(millimetres=True) - tall.positions(millimetres=True)).norm(dim=-1).mean() < 10.0
    # As keypoints (not a motion, which is its own skeleton) and with the prior's own, shorter, skeleton the same
    # points cannot be met as closely.
    keypoints = Keypoints(tall.positions(millimetres=True).numpy(), tall.skeleton.joint_names, fps=30, unit="mm")
    write_keypoints_npz(keypoints, tmp_path / "tall_kp.npz")
    invoke("fit3d", tmp_path / "tall_kp.npz", "-o", tmp_path / "own.npz", "--noise-mm", "5")
    own = read_motion(tmp_path / "own.npz")
    assert (own.positions(millimetres=True) - tall.positions(millimetres=True)).norm(dim=-1).mean() > 15.0
