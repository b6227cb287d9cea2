"""The Skeleton: validation, tree queries, subsets, mirroring and bone lengths."""

from __future__ import annotations

import math

import pytest
import torch

from poseprior.errors import ValidationError
from poseprior.skeleton import Skeleton, forward_kinematics

F64 = torch.float64

# Joint names as the real files spell them (checked against /work/shared/data).
BANDAI = (
    "joint_Root Hips Spine Chest Neck Head Shoulder_L UpperArm_L LowerArm_L Hand_L Shoulder_R UpperArm_R LowerArm_R "
    "Hand_R UpperLeg_L LowerLeg_L Foot_L Toes_L UpperLeg_R LowerLeg_R Foot_R Toes_R"
).split()
CMU_BVH = (
    "Hips LHipJoint LeftUpLeg LeftLeg LeftFoot LeftToeBase RHipJoint RightUpLeg RightLeg RightFoot RightToeBase "
    "LowerBack Spine Spine1 Neck Neck1 Head LeftShoulder LeftArm LeftForeArm LeftHand LeftFingerBase LFingers LThumb "
    "RightShoulder RightArm RightForeArm RightHand RightFingerBase RFingers RThumb"
).split()
CMU_ASF = (
    "root lhipjoint lfemur ltibia lfoot ltoes rhipjoint rfemur rtibia rfoot rtoes lowerback upperback thorax "
    "lowerneck upperneck head lclavicle lhumerus lradius lwrist lhand lfingers lthumb rclavicle rhumerus rradius "
    "rwrist rhand rfingers rthumb"
).split()
SMPL = (
    "pelvis left_hip right_hip spine1 left_knee right_knee spine2 left_ankle right_ankle spine3 left_foot right_foot "
    "neck left_collar right_collar head left_shoulder right_shoulder left_elbow right_elbow left_wrist right_wrist "
    "left_hand right_hand"
).split()


def chain(names) -> Skeleton:
    """Names on a chain: mirroring looks at names only, so any valid tree will do."""
    K = len(names)
    return Skeleton(tuple(names), tuple(range(-1, K - 1)), torch.ones(K, 3, dtype=F64))


def tree() -> Skeleton:
    #  root(0) - a(1) - b(2) - c(3)
    #          \ d(4) (child of a);  end sites on c and on b
    offsets = torch.tensor([[1.0, 2.0, 3.0], [0, 1, 0], [0, 2, 0], [3, 0, 0], [0, 0, 4]], dtype=F64)
    end_offsets = torch.tensor([[0.0, 0, 1], [5, 0, 0]])
    return Skeleton(("root", "a", "b", "c", "d"), (-1, 0, 1, 2, 1), offsets, (3, 2), end_offsets)


# ----------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(joint_names=("a", "b", "a"), parents=(-1, 0, 1), offsets=torch.zeros(3, 3)), "duplicate"),
        (dict(joint_names=(), parents=(), offsets=torch.zeros(0, 3)), "joint_names"),
        (dict(joint_names=("a", "b"), parents=(-1,), offsets=torch.zeros(2, 3)), "parents"),
        (dict(joint_names=("a", "b"), parents=(1, 0), offsets=torch.zeros(2, 3)), "root"),
        (dict(joint_names=("a", "b", "c"), parents=(-1, 2, 0), offsets=torch.zeros(3, 3)), "topological"),
        (dict(joint_names=("a", "b", "c"), parents=(-1, 1, 0), offsets=torch.zeros(3, 3)), "topological"),
        (dict(joint_names=("a", "b", "c"), parents=(-1, 0, -1), offsets=torch.zeros(3, 3)), "single root"),
        (dict(joint_names=("a", "b"), parents=(-1, 0), offsets=torch.zeros(3, 3)), "offsets"),
        (dict(joint_names=("a", "b"), parents=(-1, 0), offsets=torch.zeros(2, 2)), "offsets"),
        (dict(joint_names=("a", "b"), parents=(-1, 0), offsets=torch.tensor([[0, 0, 0], [math.nan, 0, 0]])), "offsets"),
        (dict(joint_names=("a", "b"), parents=(-1, 0), offsets=torch.zeros(2, 3), end_site_parents=(1,)), "end_site"),
        (
            dict(
                joint_names=("a", "b"),
                parents=(-1, 0),
                offsets=torch.zeros(2, 3),
                end_site_parents=(2,),
                end_site_offsets=torch.zeros(1, 3),
            ),
            "end_site_parents",
        ),
    ],
)
def test_invalid_skeletons_raise(kwargs, name):
    with pytest.raises(ValidationError, match=name):
        Skeleton(**kwargs)


def test_construction_normalizes_types():
    sk = Skeleton(["a", "b"], [-1, 0], [[0, 0, 0], [1, 0, 0]])
    assert sk.joint_names == ("a", "b") and sk.parents == (-1, 0)
    assert sk.offsets.dtype == F64 and sk.end_site_offsets.shape == (0, 3)
    assert len(sk) == sk.num_joints == 2
    assert "2 joints" in repr(sk)


# ----------------------------------------------------------------------------------------------- tree queries
def test_tree_queries():
    sk = tree()
    assert sk.index("c") == 3 and sk.indices(["d", "root"]) == [4, 0]
    assert sk.children(1) == [2, 4] and sk.children(3) == []
    assert sk.descendants(1) == [2, 3, 4] and sk.descendants(2) == [3]
    assert sk.depths() == [0, 1, 2, 3, 2]
    with pytest.raises(ValidationError, match="'nose'"):
        sk.index("nose")
    with pytest.raises(ValidationError, match="nose"):
        sk.indices(["a", "nose"])


def test_bone_lengths():
    # Offsets (1,2,3) [root: reported as 0], (0,1,0), (0,2,0), (3,0,0), (0,0,4).
    torch.testing.assert_close(tree().bone_lengths(), torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0], dtype=F64))
    # The offsets themselves are not modified by the call.
    assert tree().offsets[0].tolist() == [1.0, 2.0, 3.0]


def test_scaled_with_offsets_same_tree():
    sk = tree()
    big = sk.scaled(10.0)
    torch.testing.assert_close(big.offsets, sk.offsets * 10)
    torch.testing.assert_close(big.end_site_offsets, sk.end_site_offsets * 10)
    assert big.same_tree(sk) and not sk.same_tree(sk.subset(["root", "a"]))
    moved = sk.with_offsets(torch.zeros(5, 3))
    assert moved.same_tree(sk) and moved.offsets.abs().sum() == 0
    with pytest.raises(ValidationError, match="offsets"):
        sk.with_offsets(torch.zeros(4, 3))


# ---------------------------------------------------------------------------------------------------- subset
def test_subset_sums_offsets_along_removed_chains():
    sk = tree()
    sub = sk.subset(["d", "c", "root"])  # given in any order, kept in skeleton order
    assert sub.joint_names == ("root", "c", "d")
    assert sub.parents == (-1, 0, 0)
    # c: a + b + c = (0,1,0) + (0,2,0) + (3,0,0); d: a + d = (0,1,0) + (0,0,4).
    torch.testing.assert_close(sub.offsets, torch.tensor([[1.0, 2, 3], [3, 3, 0], [0, 1, 4]], dtype=F64))
    # Only the end site whose joint is kept survives, re-indexed.
    assert sub.end_site_parents == (1,)
    torch.testing.assert_close(sub.end_site_offsets, torch.tensor([[0.0, 0, 1]], dtype=F64))
    # The rest pose is unchanged for the kept joints.
    rest = forward_kinematics(sk, torch.eye(3, dtype=F64).expand(5, 3, 3))[0]
    rest_sub = forward_kinematics(sub, torch.eye(3, dtype=F64).expand(3, 3, 3))[0]
    torch.testing.assert_close(rest_sub, rest[[0, 3, 4]])


def test_subset_errors():
    with pytest.raises(ValidationError, match="not below"):
        tree().subset(["c", "d"])  # d is not under c
    with pytest.raises(ValidationError, match="nose"):
        tree().subset(["root", "nose"])


# ---------------------------------------------------------------------------------------------------- mirror
def check_mirror(names, pairs, midline, n_paired):
    sk = chain(names)
    m = sk.mirror_indices()
    assert [m[j] for j in m] == list(range(len(names)))  # an involution
    for left, right in pairs:
        assert m[sk.index(left)] == sk.index(right) and m[sk.index(right)] == sk.index(left)
    for name in midline:
        assert m[sk.index(name)] == sk.index(name)
    assert sum(m[j] != j for j in range(len(names))) == n_paired


def test_mirror_bandai():
    pairs = [(a, a[:-1] + "R") for a in BANDAI if a.endswith("_L")]
    check_mirror(BANDAI, pairs, ["joint_Root", "Hips", "Spine", "Chest", "Neck", "Head"], n_paired=16)


def test_mirror_cmu_bvh():
    pairs = [
        ("LHipJoint", "RHipJoint"),
        ("LeftUpLeg", "RightUpLeg"),
        ("LeftToeBase", "RightToeBase"),
        ("LeftFingerBase", "RightFingerBase"),
        ("LFingers", "RFingers"),
        ("LThumb", "RThumb"),
    ]
    check_mirror(CMU_BVH, pairs, ["Hips", "LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head"], n_paired=24)


def test_mirror_cmu_asf_lowerback_is_midline():
    pairs = [("lhipjoint", "rhipjoint"), ("lfemur", "rfemur"), ("lradius", "rradius"), ("lthumb", "rthumb")]
    midline = ["root", "lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head"]
    check_mirror(CMU_ASF, pairs, midline, n_paired=24)


def test_mirror_smpl():
    pairs = [("left_hip", "right_hip"), ("left_collar", "right_collar"), ("left_hand", "right_hand")]
    check_mirror(SMPL, pairs, ["pelvis", "spine1", "spine2", "spine3", "neck", "head"], n_paired=18)


@pytest.mark.parametrize("names", [("Hips", "LeftUpLeg"), ("root", "UpperLeg_R"), ("pelvis", "left_hip")])
def test_mirror_missing_counterpart_raises(names):
    with pytest.raises(ValidationError, match="no mirror"):
        chain(names).mirror_indices()
