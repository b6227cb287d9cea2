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
    kp = Keypoints(
        pixels.numpy(), skeleton.joint_names, fps=10, camera=camera.numpy(), confidence=np.ones(pixels.shape[:2])
    )
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
    invoke(
        write(tmp_path, skeleton, pixels[:5], camera),
        "-o",
        tmp_path / "out.npz",
        "--model",
        "lifter-flow-bandai",
        "--hypotheses",
        "4",
    )
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
    write_keypoints_npz(
        Keypoints(pixels[:, :17].numpy(), coco.joint_names, fps=10, layout="coco17", camera=camera.numpy()),
        tmp_path / "coco.npz",
    )
    with pytest.raises(ValidationError, match="coco17 layout"):
        invoke(tmp_path / "coco.npz", "-o", tmp_path / "x.npz", "--model", "lifter-rot-bandai")
    h36m = get_layout("h36m17")
    write_keypoints_npz(
        Keypoints(pixels[:, :17].numpy(), h36m.joint_names, fps=10, layout="h36m17", camera=camera.numpy()),
        tmp_path / "h36m.npz",
    )
    with pytest.raises(ValidationError, match="no shipped lifter reads the h36m17"):
        invoke(tmp_path / "h36m.npz", "-o", tmp_path / "x.npz")
    write_keypoints_npz(Keypoints(pixels.numpy(), skeleton.joint_names, fps=10), tmp_path / "nocam.npz")
    with pytest.raises(ValidationError, match="--image-size"):
        invoke(tmp_path / "nocam.npz", "-o", tmp_path / "x.npz")


BODY_25_OF_COCO = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)  # io.detections' table


@pytest.fixture(scope="module")
def openpose_clip(bandai_first_test_takes, tmp_path_factory):
    """30 test poses seen by one camera, as OpenPose BODY_25 files (one per frame, COCO-17 keypoints filled in):
    ``(folder, true joints (T, J, 3), true COCO-17 keypoints (T, 17, 3))``, camera frame, mm, root-relative
    (the hip midpoint for COCO)."""
    import json

    skeleton = poseprior.zoo.load("lifter-rot-coco17").skeleton
    R = bandai_first_test_takes["rotations"][:T].float()
    root = bandai_first_test_takes["root_rotation"][:T].float()
    joints, coco = layout_keypoints(skeleton, R, None), layout_keypoints(skeleton, R, "coco17")
    world = (torch.cat([joints, coco], 1) @ root.transpose(-1, -2)).reshape(1, -1, 3)
    v = random_views(
        world, torch.eye(3)[None], LiftingConfig(focal_px=(1000.0, 1000.0)), 10.0, torch.Generator().manual_seed(3)
    )
    J = joints.shape[1]
    pixels = v["pixels"][0].reshape(T, -1, 2)[:, J:]
    camera_frame = (torch.cat([joints, coco], 1) @ root.transpose(-1, -2)) @ v["R_cw"][0].T * 10.0
    truth_joints = camera_frame[:, :J] - camera_frame[:, :1]
    truth_coco = camera_frame[:, J:] - camera_frame[:, J:][:, [11, 12]].mean(1, keepdim=True)
    folder = tmp_path_factory.mktemp("openpose")
    for t in range(T):
        body = [0.0] * 75
        for c, b in enumerate(BODY_25_OF_COCO):
            body[3 * b : 3 * b + 3] = [float(pixels[t, c, 0]), float(pixels[t, c, 1]), 0.9]
        (folder / f"clip_{t:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": body}]})
        )
    return folder, truth_joints, truth_coco


def test_openpose_json_lifts_with_the_shipped_coco_lifter(openpose_clip, tmp_path):
    """OpenPose BODY_25 files to joints and a BVH, by default with lifter-rot-coco17."""
    folder, truth, _ = openpose_clip
    invoke(folder, "-o", tmp_path / "out.npz", "--image-size", 1000, 1000, "--focal", 1000, "--fps", 10)
    motion = read_motion(tmp_path / "out.npz")
    assert motion.skeleton.joint_names == poseprior.zoo.load("lifter-rot-coco17").skeleton.joint_names
    assert is_rotation(motion.rotations).all()
    error = (motion.positions() - truth.double()).norm(dim=-1).mean()
    assert error < 100.0  # mm; checks layout, units and frames (the benchmark measures accuracy)
    invoke(folder, "-o", tmp_path / "out.bvh", "--image-size", 1000, 1000, "--focal", 1000, "--fps", 10)
    assert read_motion(tmp_path / "out.bvh").num_frames == T


def test_openpose_json_to_coco_hypotheses(openpose_clip, tmp_path):
    """The COCO-17 flow lifter: hypotheses of the COCO keypoints themselves, named by the layout."""
    folder, _, truth = openpose_clip
    invoke(
        folder,
        "-o",
        tmp_path / "hyp.npz",
        "--model",
        "lifter-flow-coco17",
        "--hypotheses",
        5,
        "--image-size",
        1000,
        1000,
        "--focal",
        1000,
        "--fps",
        10,
    )
    with np.load(tmp_path / "hyp.npz") as z:
        assert tuple(z["joint_names"]) == get_layout("coco17").joint_names
        assert z["positions"].shape == (T, 17, 3) and z["hypotheses"].shape == (T, 5, 17, 3)
        assert np.linalg.norm(z["positions"] - truth.numpy(), axis=-1).mean() < 150.0
