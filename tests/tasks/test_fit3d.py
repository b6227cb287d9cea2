"""fit_keypoints_3d: recovery of a known real pose with each shipped prior and none, masks, restarts, bad input."""

from __future__ import annotations

import pytest
import torch

import poseprior.zoo
from poseprior.errors import ValidationError
from poseprior.geometry import is_rotation
from poseprior.models.baseline import UniformPrior
from poseprior.models.flow.condition import pelvis_keypoints
from poseprior.tasks import FitConfig, fit_keypoints_3d, solve_ik

FRAMES = slice(0, 300, 30)  # 10 varied poses of the test split


@pytest.fixture(scope="module")
def setup(bandai_first_test_poses):
    ik = poseprior.zoo.load("flow-ik-bandai").eval()
    flow = poseprior.zoo.load("flow-bandai").eval()
    skeleton, unit = flow.joints.skeleton, flow.joints.unit_mm
    R = bandai_first_test_poses[FRAMES].float()
    keypoints = pelvis_keypoints(skeleton, R)
    init = solve_ik(ik, keypoints, hypotheses=1, candidates=20, seed=0).rotations
    return dict(skeleton=skeleton, unit=unit, keypoints=keypoints, init=init, flow=flow)


@pytest.mark.parametrize("name", ["none", "flow-bandai", "vae-bandai", "ndf-bandai"])
def test_exact_keypoints_recover_the_pose(setup, name):
    prior = None if name == "none" else (setup["flow"] if name == "flow-bandai" else poseprior.zoo.load(name).eval())
    # Exact keypoints: a 0.3 mm noise level makes the data term dominate the prior at its default weight.
    # Adam, not L-BFGS: L-BFGS's line search diverges on the flow's and the VAE's terms (measured).
    config = FitConfig(steps=300, lr=0.05, keypoint_sigma_mm=0.3)
    result = fit_keypoints_3d(setup["keypoints"], None, setup["skeleton"], prior, unit_mm=setup["unit"], init=setup["init"], config=config)
    error_mm = (result.positions - setup["keypoints"]).norm(dim=-1) * setup["unit"]
    assert error_mm.mean(-1).max() < 1.0  # every frame's MPJPE
    assert error_mm.max() < 5.0  # a joint may sit in a shallow local minimum
    assert is_rotation(result.rotations).all()
    assert result.objective.shape == (10,) and torch.isfinite(result.objective).all()


def test_masked_joints_are_ignored(setup):
    keypoints, mask = setup["keypoints"].clone(), torch.ones(10, 21, dtype=torch.bool)
    mask[:, 5], mask[::2, 12] = False, False
    keypoints[~mask] = float("nan")
    config = FitConfig(steps=40, optimizer="lbfgs", lr=1.0)
    result = fit_keypoints_3d(keypoints, mask, setup["skeleton"], UniformPrior(20), unit_mm=setup["unit"], init=setup["init"], config=config)
    assert torch.isfinite(result.positions).all()
    error_mm = (result.positions - setup["keypoints"]).norm(dim=-1) * setup["unit"]
    assert error_mm[mask].max() < 1.0


def test_root_translation_and_hypotheses(setup):
    shift = torch.tensor([30.0, -5.0, 12.0])
    config = FitConfig(steps=150, fit_root_translation=True, hypotheses=3)
    result = fit_keypoints_3d(setup["keypoints"] + shift, None, setup["skeleton"], setup["flow"], unit_mm=setup["unit"], init=setup["init"], config=config)
    assert result.hypotheses.shape == (10, 3, 20, 3, 3)
    assert (result.hypotheses_objective.diff(dim=1) >= 0).all()
    assert torch.equal(result.hypotheses[:, 0], result.rotations)
    assert ((result.root_translation - shift).norm(dim=-1) * setup["unit"]).max() < 20.0


def test_bad_input(setup):
    sk, kp, unit = setup["skeleton"], setup["keypoints"], setup["unit"]
    with pytest.raises(ValidationError, match="keypoints"):
        fit_keypoints_3d(kp[:, :5], None, sk, None, unit_mm=unit)
    nan = kp.clone()
    nan[0, 3] = float("nan")
    with pytest.raises(ValidationError, match="keypoints: non-finite"):
        fit_keypoints_3d(nan, None, sk, None, unit_mm=unit)
    mask = torch.ones(10, 21, dtype=torch.bool)
    mask[4] = False
    with pytest.raises(ValidationError, match="mask: every joint"):
        fit_keypoints_3d(kp, mask, sk, None, unit_mm=unit)
    with pytest.raises(ValidationError, match="mask: expected shape"):
        fit_keypoints_3d(kp, mask[:, :3], sk, None, unit_mm=unit)
    with pytest.raises(ValidationError, match="prior"):
        fit_keypoints_3d(kp, None, sk, UniformPrior(5), unit_mm=unit)
    with pytest.raises(ValidationError, match="optimizer"):
        FitConfig(optimizer="sgd")
    assert FitConfig.from_dict(FitConfig(steps=7).to_dict()) == FitConfig(steps=7)
