"""solve_ik: shapes, the mode, name matching and unit conversion of Keypoints, seeds, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import is_rotation, random_rotations
from poseprior.io import Keypoints
from poseprior.models.flow import FlowConfig, FlowPrior
from poseprior.models.flow.condition import ConditionConfig, perspective_pixels
from poseprior.models.flow.conditional import (
    ConditionalFlowConfig,
    ConditionalFlowPrior,
)
from poseprior.models.prior import PoseJoints
from poseprior.tasks import IKResult, solve_ik

JOINTS = PoseJoints(
    names=("spine", "head", "arm", "hand", "leg", "foot"),
    parents=(-1, 0, 0, 2, -1, 4),
    root="pelvis",
    offsets=((0, 0, 0), (0, 1, 0), (0, 0.5, 0), (0.3, 0.8, 0), (0.8, 0, 0), (-0.3, -0.1, 0), (0, -1, 0)),
    unit_mm=100.0,
)
NAMES = ("pelvis", *JOINTS.names)
CAMERA = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def model() -> ConditionalFlowPrior:
    torch.manual_seed(0)
    config = ConditionalFlowConfig.for_joints(JOINTS, ConditionConfig(context=8, hidden=(16,)), layers=2, hidden=(16,))
    return ConditionalFlowPrior(config).eval()


@pytest.fixture(scope="module")
def keypoints(model) -> torch.Tensor:
    return model.keypoints(random_rotations(5, 6, generator=torch.Generator().manual_seed(0)))


def test_result_shapes_and_mode(model, keypoints):
    result = solve_ik(model, keypoints, hypotheses=4, candidates=12, seed=0)
    assert isinstance(result, IKResult)
    assert result.rotations.shape == (5, 6, 3, 3) and result.log_prob.shape == (5,)
    assert result.hypotheses.shape == (5, 4, 6, 3, 3) and result.hypotheses_log_prob.shape == (5, 4)
    assert result.positions.shape == (5, 7, 3) and result.hypotheses_positions.shape == (5, 4, 7, 3)
    assert is_rotation(result.hypotheses, tol=1e-4).all()
    # The mode is the most likely sample: at least as likely as every hypothesis (which are among the candidates).
    assert (result.log_prob >= result.hypotheses_log_prob.amax(-1)).all()
    torch.testing.assert_close(result.log_prob, model.log_prob(result.rotations, keypoints), atol=2e-3, rtol=0)
    torch.testing.assert_close(result.positions, model.keypoints(result.rotations))
    motion = result.to_motion(fps=30)
    assert motion.joint_names == NAMES and motion.num_frames == 5 and motion.unit == 100.0
    torch.testing.assert_close(motion.rotations[:, 1:].float(), result.rotations, atol=1e-5, rtol=0)
    assert torch.equal(motion.rotations[:, 0], torch.eye(3, dtype=torch.float64).expand(5, 3, 3))


def test_seed_is_reproducible_and_leaves_global_rng_alone(model, keypoints):
    state = torch.get_rng_state()
    a = solve_ik(model, keypoints, hypotheses=3, candidates=3, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    b = solve_ik(model, keypoints, hypotheses=3, candidates=3, seed=7)
    assert torch.equal(a.hypotheses, b.hypotheses) and torch.equal(a.rotations, b.rotations)
    c = solve_ik(model, keypoints, hypotheses=3, candidates=3, seed=8)
    assert not torch.equal(a.hypotheses, c.hypotheses)


def test_keypoints_matched_by_name_in_their_unit(model, keypoints):
    # The file: joints shuffled, one extra, millimetres instead of the model's decimetres.
    order = [3, 0, 6, 1, 5, 2, 4]
    names = tuple(NAMES[j] for j in order) + ("nose",)
    positions = torch.cat([keypoints[:, order], torch.zeros(5, 1, 3)], 1).numpy() * 100.0
    mask = np.ones((5, 8), bool)
    mask[2, 0] = False  # 'arm' hidden in frame 2
    positions[2, 0] = np.nan
    kp = Keypoints(positions, names, fps=30, unit="mm", mask=mask)
    expected_mask = torch.ones(5, 7, dtype=torch.bool)
    expected_mask[2, 3] = False
    a = solve_ik(model, kp, hypotheses=2, candidates=4, seed=1)
    b = solve_ik(model, keypoints, expected_mask, hypotheses=2, candidates=4, seed=1)
    torch.testing.assert_close(a.hypotheses, b.hypotheses, atol=1e-4, rtol=0)


def test_root_is_optional_for_3d_and_subtracted_when_given(model, keypoints):
    kp = Keypoints(keypoints[:, 1:].numpy(), NAMES[1:], fps=30, unit=100.0)
    a = solve_ik(model, kp, hypotheses=2, candidates=2, seed=0)
    shifted = Keypoints((keypoints + torch.tensor([1.0, 2.0, 3.0])).numpy(), NAMES, fps=30, unit=100.0)
    b = solve_ik(model, shifted, hypotheses=2, candidates=2, seed=0)
    torch.testing.assert_close(a.hypotheses, b.hypotheses, atol=1e-3, rtol=0)  # the shift rounds in float32


def test_perspective_keypoints_with_camera(model, keypoints):
    g = torch.Generator().manual_seed(0)
    pixels = perspective_pixels(
        keypoints,
        random_rotations(5, generator=g),
        torch.from_numpy(CAMERA).float(),
        torch.rand(5, generator=g),
        torch.zeros(5),
        torch.full((5,), 40.0),
    )
    kp = Keypoints(pixels.numpy(), NAMES, fps=30, camera=CAMERA)
    result = solve_ik(model, kp, hypotheses=2, candidates=3)
    assert result.rotations.shape == (5, 6, 3, 3)
    same = solve_ik(model, pixels, hypotheses=2, candidates=3, camera=torch.from_numpy(CAMERA), seed=0)
    assert same.hypotheses.shape == (5, 2, 6, 3, 3)
    with pytest.raises(ValidationError, match="camera: 2D keypoints are pixels and need the camera intrinsics"):
        solve_ik(model, Keypoints(pixels.numpy(), NAMES, fps=30))
    hidden_root = np.ones((5, 7), bool)
    hidden_root[:, 0] = False
    with pytest.raises(ValidationError, match="root 'pelvis' visible"):
        solve_ik(model, Keypoints(pixels.numpy(), NAMES, fps=30, camera=CAMERA, mask=hidden_root))


def test_orthographic_tensor(model, keypoints):
    result = solve_ik(model, keypoints[..., :2], hypotheses=2, candidates=2)
    assert result.hypotheses.shape == (5, 2, 6, 3, 3)


def test_bad_inputs(model, keypoints):
    with pytest.raises(ValidationError, match=r"joints \['hand', 'foot'\] of the model are missing"):
        solve_ik(
            model,
            Keypoints(
                keypoints[:, [0, 1, 2, 3, 5]].numpy(), tuple(NAMES[j] for j in (0, 1, 2, 3, 5)), fps=30, unit=100.0
            ),
        )
    bad = keypoints.clone()
    bad[1, 2] = float("nan")
    with pytest.raises(ValidationError, match="NaN or inf at a visible keypoint \\(joint 'head'\\)"):
        solve_ik(model, bad)
    mask = torch.ones(5, 7, dtype=torch.bool)
    mask[1, 2] = False
    assert solve_ik(model, bad, mask, hypotheses=1, candidates=1).log_prob.isfinite().all()
    with pytest.raises(ValidationError, match=r"mask: expected shape \(5, 7\)"):
        solve_ik(model, keypoints, torch.ones(5, 6, dtype=torch.bool))
    with pytest.raises(ValidationError, match=r"mask: expected shape \(5, 7\)"):
        solve_ik(model, keypoints, torch.ones(7, dtype=torch.bool))
    with pytest.raises(ValidationError, match=r"keypoints: expected shape \(\.\.\., 7, 3\)"):
        solve_ik(model, keypoints[:, :6])
    with pytest.raises(ValidationError, match=r"keypoints: expected a Keypoints or a \(T, J, 3\)"):
        solve_ik(model, keypoints[0])
    with pytest.raises(ValidationError, match="hypotheses: expected a positive integer"):
        solve_ik(model, keypoints, hypotheses=0)
    with pytest.raises(ValidationError, match="candidates: expected a positive integer"):
        solve_ik(model, keypoints, candidates=2.5)
    with pytest.raises(ValidationError, match="model: expected a ConditionalFlowPrior"):
        solve_ik(FlowPrior(FlowConfig(6, layers=2, hidden=(8,))), keypoints)
    with pytest.raises(ValidationError, match="mask, camera: a Keypoints object carries its own"):
        solve_ik(model, Keypoints(keypoints.numpy(), NAMES, fps=30, unit=100.0), mask)
    with pytest.raises(ValidationError, match=r"camera: expected shape \(3, 3\) or \(5, 3, 3\)"):
        solve_ik(model, keypoints[..., :2], camera=torch.eye(3).expand(4, 3, 3))
