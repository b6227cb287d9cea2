import math

import pytest
import torch

from poseprior.data.protocol import (
    BANDAI_JOINTS,
    BANDAI_V1,
    PoseProtocol,
    canonical_skeleton,
    extract_poses,
)
from poseprior.errors import ValidationError
from poseprior.retarget import Rig
from poseprior.skeleton import forward_kinematics
from poseprior.skeleton.smpl import POSE_JOINTS

from .conftest import RAW_BANDAI as RAW


@pytest.mark.parametrize("T", [1, 2, 3, 4, 10, 31])
def test_stride_keeps_every_third_frame(make_motion, T):
    motion = make_motion(T)
    poses = extract_poses(motion, RAW)
    n = math.ceil(T / 3)
    assert poses["rotations"].shape == (n, 20, 3, 3) and poses["rotations"].dtype == torch.float32
    assert poses["frame"].tolist() == list(range(0, T, 3))
    idx = [motion.skeleton.index(j) for j in BANDAI_JOINTS]
    torch.testing.assert_close(poses["rotations"], motion.rotations[::3, idx].float())


def test_root_pose_is_the_global_hips_pose(make_motion):
    motion = make_motion(7)
    poses = extract_poses(motion, RAW)
    p, R = motion.forward_kinematics()
    hips = motion.skeleton.index("Hips")
    torch.testing.assert_close(poses["root_rotation"], R[::3, hips].float())
    torch.testing.assert_close(poses["root_position"], p[::3, hips].float())


def test_canonical_skeleton_fk_reproduces_the_motion(make_motion):
    """Root pose + local rotations on the 21-joint skeleton give back the joints' global positions."""
    motion = make_motion(5)
    sk = canonical_skeleton(motion.skeleton, RAW)
    assert sk.joint_names == ("Hips", *BANDAI_JOINTS)
    poses = extract_poses(motion, RAW)
    R = torch.cat([poses["root_rotation"][:, None], poses["rotations"]], 1).double()
    p, _ = forward_kinematics(sk, R, poses["root_position"].double())
    full = motion.skeleton.indices(sk.joint_names)
    # The synthetic translations equal the offsets below Hips, so the rest offsets reproduce the positions.
    torch.testing.assert_close(p, motion.positions()[::3, full], atol=1e-3, rtol=0)


def test_bandai_v1_takes_the_canonical_pose_joints(make_motion):
    """bandai-v1 retargets onto the pelvis and the 20 pose joints; one to one for Bandai's rig, so the canonical
    joints, in the rig's proportions, sit where the file's joints are."""
    motion = make_motion(7)
    rig = Rig.from_skeleton(motion.skeleton, "cm")
    poses = extract_poses(motion, BANDAI_V1, rig)
    assert poses["rotations"].shape == (3, 20, 3, 3) and poses["frame"].tolist() == [0, 3, 6]
    sk = rig.pose_skeleton()
    assert sk.joint_names == ("pelvis", *POSE_JOINTS)
    R = torch.cat([poses["root_rotation"][:, None], poses["rotations"]], 1).double()
    p, _ = forward_kinematics(sk, R, poses["root_position"].double())
    source = motion.positions()[::3, [rig.joint_map.joints[n] for n in sk.joint_names]]
    torch.testing.assert_close(p, source, atol=1e-3, rtol=0)


def test_resampling_protocol(make_motion):
    motion = make_motion(10)
    proto = PoseProtocol("x", "Hips", fps=10.0)
    poses = extract_poses(motion, proto)
    assert poses["rotations"].shape == (4, 20, 3, 3)  # times 0, .1, .2, .3 s of a 0.3 s take
    assert poses["frame"].tolist() == [0, 3, 6, 9]
    torch.testing.assert_close(poses["rotations"][1], motion.rotations[3, 2:].float(), atol=1e-5, rtol=0)


def test_joint_subset_is_kept_in_skeleton_order(make_motion):
    motion = make_motion(3)
    proto = PoseProtocol("legs", "Hips", joints=("LowerLeg_L", "UpperLeg_L"), stride=1)
    poses = extract_poses(motion, proto)
    idx = motion.skeleton.indices(["UpperLeg_L", "LowerLeg_L"])
    torch.testing.assert_close(poses["rotations"], motion.rotations[:, idx].float())
    assert canonical_skeleton(motion.skeleton, proto).joint_names == ("Hips", "UpperLeg_L", "LowerLeg_L")


def test_bad_inputs(make_motion):
    motion = make_motion(3)
    with pytest.raises(ValidationError, match="30 fps motions, got 60"):
        extract_poses(make_motion(3, fps=60.0), BANDAI_V1)
    with pytest.raises(ValidationError, match="Tail"):
        extract_poses(motion, PoseProtocol("p", "Hips", joints=("Tail",), stride=1))
    with pytest.raises(ValidationError, match="not below"):
        extract_poses(motion, PoseProtocol("p", "Spine", joints=("UpperLeg_L",), stride=1))
    with pytest.raises(ValidationError, match="exactly one"):
        PoseProtocol("p", "Hips", stride=3, fps=10.0)
    with pytest.raises(ValidationError, match="exactly one"):
        PoseProtocol("p", "Hips")
    with pytest.raises(ValidationError, match="stride"):
        PoseProtocol("p", "Hips", stride=0)
    with pytest.raises(ValidationError, match="root"):
        PoseProtocol("p", "Hips", joints=("Hips", "Spine"), stride=1)
    with pytest.raises(ValidationError, match="retarget: the canonical poses are the pelvis and the 20 POSE_JOINTS"):
        PoseProtocol("p", "Hips", joints=BANDAI_JOINTS, stride=1, retarget=True)


def test_round_trip_and_rate():
    assert PoseProtocol.from_dict(BANDAI_V1.to_dict()) == BANDAI_V1
    assert BANDAI_V1.pose_fps(30.0) == 10.0
    assert PoseProtocol("p", "Hips", fps=12.5).pose_fps(120.0) == 12.5
