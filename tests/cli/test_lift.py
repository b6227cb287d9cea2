"""``poseprior lift`` end to end with the shipped lifters: keypoints npz in, joints (and rotations, or
hypotheses) out; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

import poseprior.zoo
from poseprior.cli.lift import lift
from poseprior.data.lifting import LiftingConfig, layout_keypoints, random_views
from poseprior.errors import ValidationError
from poseprior.geometry import is_rotation
from poseprior.io import Keypoints, read_keypoints_npz, read_motion, write_keypoints_npz
from poseprior.skeleton.layouts import get_layout

app = typer.Typer()
app.callback()(lambda: None)
app.command("lift")(lift)
runner = CliRunner()
T = 30  # three seconds of a test take at 10 fps


def invoke(*args: object) -> str:
    result = runner.invoke(app, ["lift", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def seen(bandai_first_test_takes):
    """Pixels of 30 consecutive test poses seen by one camera, and their root-relative camera-frame joints (mm)."""
    skeleton = poseprior.zoo.load("lifter-rot-bandai").skeleton
    R = bandai_first_test_takes["rotations"][:T].float()
    root = bandai_first_test_takes["root_rotation"][:T].float()
    keypoints = layout_keypoints(skeleton, R, None)
    world = (keypoints @ root.transpose(-1, -2)).reshape(1, -1, 3)
    v = random_views(world, torch.eye(3)[None], LiftingConfig(), 10.0, torch.Generator().manual_seed(3))
    camera_frame = (keypoints @ root.transpose(-1, -2)) @ v["R_cw"][0].T * 10.0
    return skeleton, v["pixels"][0].reshape(T, -1, 2), v["camera"][0], camera_frame - camera_frame[:, :1]


def write(tmp_path, skeleton, pixels, camera, name="kp.npz"):
    kp = Keypoints(pixels.numpy(), skeleton.joint_names, fps=10, camera=camera.numpy(), confidence=np.ones(pixels.shape[:2]))
    write_keypoints_npz(kp, tmp_path / name)
    return tmp_path / name


def test_rotation_lifter(seen, tmp_path):
    skeleton, pixels, camera, truth = seen
    invoke(write(tmp_path, skeleton, pixels, camera), "-o", tmp_path / "out.npz")
    motion = read_motion(tmp_path / "out.npz")
    assert motion.skeleton.joint_names == skeleton.joint_names and motion.unit == 1.0
    assert is_rotation(motion.rotations).all()
    error = (motion.positions() - truth.double()).norm(dim=-1).mean()
    assert error < 100.0  # mm: checks units and frames (a slip is metres off); the benchmark measures accuracy
    with np.load(tmp_path / "out.npz") as z:
        assert str(z["unit"]) == "mm" and z["positions"].shape == (T, 21, 3)
    invoke(tmp_path / "kp.npz", "-o", tmp_path / "out.bvh")
    assert read_motion(tmp_path / "out.bvh").num_frames == T


def test_flow_lifter(seen, tmp_path):
    skeleton, pixels, camera, truth = seen
    invoke(write(tmp_path, skeleton, pixels[:5], camera), "-o", tmp_path / "out.npz", "--model", "lifter-flow-bandai", "--hypotheses", "4")
    with np.load(tmp_path / "out.npz") as z:
        assert z["hypotheses"].shape == (5, 4, 21, 3) and z["hypotheses_log_prob"].shape == (5, 4)
        assert np.isfinite(z["hypotheses_log_prob"]).all()
        assert np.linalg.norm(z["positions"] - truth[:5].numpy(), axis=-1).mean() < 150.0
    # The output is a 3D keypoints file too (poseprior fit3d reads it).
    kp = read_keypoints_npz(tmp_path / "out.npz")
    assert kp.dims == 3 and kp.unit == 1.0 and kp.joint_names == skeleton.joint_names


def test_bad_input(seen, tmp_path):
    skeleton, pixels, camera, _ = seen
    path = write(tmp_path, skeleton, pixels, camera)
    with pytest.raises(ValidationError, match="not a lifter"):
        invoke(path, "-o", tmp_path / "x.npz", "--model", "vae-bandai")
    with pytest.raises(ValidationError, match="write .npz"):
        invoke(path, "-o", tmp_path / "x.bvh", "--model", "lifter-flow-bandai")
    with pytest.raises(ValidationError, match="shorter than the model's window"):
        invoke(write(tmp_path, skeleton, pixels[:3], camera, "short.npz"), "-o", tmp_path / "x.npz")
    coco = get_layout("coco17")
    write_keypoints_npz(Keypoints(pixels[:, :17].numpy(), coco.joint_names, fps=10, layout="coco17", camera=camera.numpy()), tmp_path / "coco.npz")
    with pytest.raises(ValidationError, match="coco17 layout"):
        invoke(tmp_path / "coco.npz", "-o", tmp_path / "x.npz")
    write_keypoints_npz(Keypoints(pixels.numpy(), skeleton.joint_names, fps=10), tmp_path / "nocam.npz")
    with pytest.raises(ValidationError, match="--image-size"):
        invoke(tmp_path / "nocam.npz", "-o", tmp_path / "x.npz")
