"""The ``PosePrior`` protocol and ``PoseJoints``."""

from __future__ import annotations

import json

import pytest
import torch

from poseprior.errors import ValidationError
from poseprior.models.prior import (
    ExactPosePrior,
    PoseJoints,
    PosePrior,
    default_joint_names,
)
from poseprior.skeleton import Skeleton


@pytest.fixture
def skeleton() -> Skeleton:
    offsets = torch.tensor([[0.0, 90, 0], [0, 10, 0], [0, 20, 0], [10, 0, 0], [0, -40, 0]], dtype=torch.float64)
    return Skeleton(("Hips", "Spine", "Neck", "UpperLeg_L", "LowerLeg_L"), (-1, 0, 1, 0, 3), offsets)


def test_from_skeleton_takes_the_joints_below_the_root_and_rebuilds_it(skeleton: Skeleton):
    joints = PoseJoints.from_skeleton(skeleton, unit_mm=10.0)
    assert joints.names == ("Spine", "Neck", "UpperLeg_L", "LowerLeg_L")
    assert joints.parents == (-1, 0, -1, 2) and joints.root == "Hips"
    rebuilt = joints.skeleton
    assert rebuilt.same_tree(skeleton) and torch.equal(rebuilt.offsets, skeleton.offsets)


def test_json_round_trip_and_no_offsets(skeleton: Skeleton):
    joints = PoseJoints.from_skeleton(skeleton)
    assert PoseJoints.from_dict(json.loads(json.dumps(joints.to_dict()))) == joints
    bare = PoseJoints(("a", "b"), (-1, 0))
    assert bare.skeleton is None and PoseJoints.from_dict(bare.to_dict()) == bare
    assert default_joint_names(3) == ("joint0", "joint1", "joint2")


def test_bad_joints_give_clear_errors():
    with pytest.raises(ValidationError, match="parents: expected 2 entries"):
        PoseJoints(("a", "b"), (-1,))
    with pytest.raises(ValidationError, match="parents: expected each joint's parent before it"):
        PoseJoints(("a", "b"), (1, -1))
    with pytest.raises(ValidationError, match="offsets: expected 3 rows of 3"):
        PoseJoints(("a", "b"), (-1, 0), offsets=((0, 0, 0), (0, 1, 0)))


def test_protocol_is_structural():
    class Uniform:
        """The uniform prior on SO(3)^2: the smallest exact prior."""

        num_joints = 2
        joint_names = ("a", "b")
        joints = None

        def energy(self, R: torch.Tensor) -> torch.Tensor:
            return R.new_zeros(R.shape[:-3])

        def sample(self, n: int) -> torch.Tensor:
            return torch.eye(3).expand(n, 2, 3, 3)

        def project(self, R: torch.Tensor) -> torch.Tensor:
            return R

        def log_prob(self, R: torch.Tensor) -> torch.Tensor:
            return -self.energy(R)

    class EnergyOnly:
        num_joints, joint_names, joints = 2, ("a", "b"), None
        energy, sample, project = Uniform.energy, Uniform.sample, Uniform.project

    class NoProjection:
        num_joints, joint_names, joints = 2, ("a", "b"), None
        energy, sample = Uniform.energy, Uniform.sample

    assert isinstance(Uniform(), ExactPosePrior)
    assert isinstance(EnergyOnly(), PosePrior) and not isinstance(EnergyOnly(), ExactPosePrior)
    assert not isinstance(object(), PosePrior) and not isinstance(NoProjection(), PosePrior)
