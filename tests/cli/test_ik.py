"""``poseprior ik`` end to end on a tiny exported conditional flow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from poseprior.cli.ik import ik
from poseprior.errors import FormatError, ValidationError
from poseprior.geometry import is_rotation, random_rotations
from poseprior.io import Keypoints, read_motion, write_keypoints_npz
from poseprior.models.flow import FlowConfig, FlowPrior
from poseprior.models.flow.condition import ConditionConfig, perspective_pixels
from poseprior.models.flow.conditional import (
    ConditionalFlowConfig,
    ConditionalFlowPrior,
)
from poseprior.models.prior import PoseJoints
from poseprior.zoo import write_model

# The command as the main app registers it (``poseprior ik``); the callback keeps the app a command group.
app = typer.Typer()
app.callback()(lambda: None)
app.command("ik")(ik)
runner = CliRunner()

JOINTS = PoseJoints(
    names=("spine", "head", "arm", "hand", "leg", "foot"),
    parents=(-1, 0, 0, 2, -1, 4),
    root="pelvis",
    offsets=((0, 0, 0), (0, 10, 0), (0, 5, 0), (3, 8, 0), (8, 0, 0), (-3, -1, 0), (0, -10, 0)),
    unit_mm=10.0,
)
NAMES = ("pelvis", *JOINTS.names)


def invoke(*args: object) -> str:
    result = runner.invoke(app, ["ik", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, ConditionalFlowPrior]:
    torch.manual_seed(0)
    config = ConditionalFlowConfig.for_joints(JOINTS, ConditionConfig(context=8, hidden=(16,)), layers=2, hidden=(16,))
    model = ConditionalFlowPrior.from_data(config, random_rotations(200, 6), random_rotations(200))
    path = write_model(model, tmp_path_factory.mktemp("zoo") / "tiny-ik")
    return path, model


@pytest.fixture(scope="module")
def keypoints(exported) -> torch.Tensor:
    return exported[1].keypoints(random_rotations(6, 6, generator=torch.Generator().manual_seed(0)))


def test_3d_keypoints_to_interchange_npz(tmp_path, exported, keypoints):
    path, model = exported
    mask = np.ones((6, 8), bool)
    mask[3, 2] = False
    positions = np.concatenate([keypoints.numpy() * 10, np.zeros((6, 1, 3))], axis=1)  # mm, plus an extra joint
    positions[3, 2] = np.nan
    write_keypoints_npz(Keypoints(positions, (*NAMES, "nose"), fps=25, unit="mm", mask=mask), tmp_path / "kp.npz")
    out = invoke(tmp_path / "kp.npz", "--model", path, "-o", tmp_path / "ik.npz", "--hypotheses", 3, "--candidates", 5)
    assert "6 frames of 3D keypoints, 6 joint rotations" in out and "ik.npz" in out
    motion = read_motion(tmp_path / "ik.npz")  # an interchange motion of the model's skeleton
    assert motion.joint_names == NAMES and motion.num_frames == 6 and motion.fps == 25 and motion.unit == 10.0
    with np.load(tmp_path / "ik.npz") as z:
        assert {
            "format",
            "joint_names",
            "parents",
            "offsets",
            "rotations",
            "root_translation",
            "positions",
            "fps",
            "unit_mm",
        } <= set(z.files)
        hyp, hyp_lp, lp = z["hypotheses"], z["hypotheses_log_prob"], z["log_prob"]
    assert hyp.shape == (6, 3, 6, 3, 3) and hyp_lp.shape == (6, 3) and lp.shape == (6,)
    assert is_rotation(torch.from_numpy(hyp), tol=1e-4).all() and (lp >= hyp_lp.max(-1) - 1e-4).all()
    # Same seed, same result; the mode's log-density is the model's.
    again = invoke(
        tmp_path / "kp.npz", "--model", path, "-o", tmp_path / "again.npz", "--hypotheses", 3, "--candidates", 5
    )
    assert again.replace("again.npz", "ik.npz") == out
    visible = torch.from_numpy(mask[:, :7])
    expected = model.log_prob(motion.rotations[:, 1:].float(), keypoints, visible)
    torch.testing.assert_close(torch.from_numpy(lp), expected.detach(), atol=0.05, rtol=0)  # float64 re-orthonormalised


def test_perspective_file_with_camera(tmp_path, exported, keypoints):
    path, _ = exported
    camera = np.array([[800.0, 0, 640], [0, 800, 360], [0, 0, 1]])
    pixels = perspective_pixels(
        keypoints,
        random_rotations(6),
        torch.from_numpy(camera).float(),
        torch.rand(6),
        torch.zeros(6),
        torch.full((6,), 400.0),
    )
    write_keypoints_npz(Keypoints(pixels.numpy(), NAMES, fps=30, camera=camera), tmp_path / "kp2d.npz")
    out = invoke(
        tmp_path / "kp2d.npz", "--model", path, "-o", tmp_path / "ik.npz", "--hypotheses", 2, "--candidates", 2
    )
    assert "2D perspective keypoints" in out
    with np.load(tmp_path / "ik.npz") as z:
        assert z["hypotheses"].shape == (6, 2, 6, 3, 3)


def test_errors(tmp_path, exported, keypoints):
    path, _ = exported
    write_keypoints_npz(Keypoints(keypoints[:, :6].numpy(), NAMES[:6], fps=30, unit="cm"), tmp_path / "missing.npz")
    with pytest.raises(ValidationError, match=r"joints \['foot'\] of the model are missing"):
        invoke(tmp_path / "missing.npz", "--model", path, "-o", tmp_path / "out.npz")
    write_keypoints_npz(Keypoints(keypoints.numpy(), NAMES, fps=30, unit="cm"), tmp_path / "kp.npz")
    with pytest.raises(ValidationError, match="out: expected a .npz path"):
        invoke(tmp_path / "kp.npz", "--model", path, "-o", tmp_path / "out.bvh")
    prior_path = write_model(FlowPrior(FlowConfig(6, JOINTS.parents, layers=2, hidden=(8,))), tmp_path / "prior")
    with pytest.raises(ValidationError, match="is a FlowPrior, not a conditional IK model"):
        invoke(tmp_path / "kp.npz", "--model", prior_path, "-o", tmp_path / "out.npz")
    with pytest.raises(FormatError, match="no such exported model file"):
        invoke(tmp_path / "kp.npz", "--model", tmp_path / "nothing.json", "-o", tmp_path / "out.npz")
    np.savez(tmp_path / "nounit.npz", positions=keypoints.numpy(), joint_names=np.array(NAMES), fps=30.0)
    with pytest.raises(FormatError, match="give the unit"):
        invoke(tmp_path / "nounit.npz", "--model", path, "-o", tmp_path / "out.npz")
    invoke(
        tmp_path / "nounit.npz",
        "--model",
        path,
        "-o",
        tmp_path / "out.npz",
        "--unit",
        "cm",
        "--candidates",
        1,
        "--hypotheses",
        1,
    )
    assert not list(tmp_path.glob(".*.tmp*"))  # atomic writes leave no temporary files
