"""upright_rotation: a rest pose lying along +X, or one without known joint names, stands up along +Y."""

from __future__ import annotations

import torch

from poseprior import zoo
from poseprior.geometry import is_rotation
from poseprior.io import read_motion
from poseprior.skeleton import Skeleton, forward_kinematics, upright_rotation


def test_bandai_rest_pose_stands_up(bandai_dir):
    skeleton = read_motion(f"{bandai_dir / 'bandai-namco-motion-1.zip'}:data/dataset-1_bow_old_001.bvh").skeleton
    R = upright_rotation(skeleton)
    assert is_rotation(R).all()
    joints = forward_kinematics(
        skeleton, torch.cat([R[None], torch.eye(3, dtype=torch.float64).expand(skeleton.num_joints - 1, 3, 3)])
    )[0]
    head, feet = joints[skeleton.index("Head")], joints[[skeleton.index("Foot_L"), skeleton.index("Foot_R")]].mean(0)
    direction = (head - feet) / (head - feet).norm()
    assert direction[1] > 0.99  # head straight above the feet


def test_the_shipped_models_skeleton_stands_already():
    skeleton = zoo.load("flow-bandai").joints.skeleton  # the canonical body's T-pose: Y-up
    angle = torch.rad2deg(torch.acos(((torch.trace(upright_rotation(skeleton)) - 1) / 2).clamp(-1, 1)))
    assert float(angle) < 5.0


def test_unnamed_skeleton_uses_the_first_bone():
    skeleton = Skeleton(("a", "b", "c"), (-1, 0, 1), torch.tensor([[0.0, 0, 0], [0, 0, 5], [0, 0, 5]]))
    R = upright_rotation(skeleton, up=(0.0, 0.0, -1.0))
    torch.testing.assert_close(
        R @ torch.tensor([0.0, 0, 1], dtype=torch.float64), torch.tensor([0.0, 0, -1], dtype=torch.float64)
    )
    flat = Skeleton(("a",), (-1,), torch.zeros(1, 3))
    torch.testing.assert_close(upright_rotation(flat), torch.eye(3, dtype=torch.float64))
