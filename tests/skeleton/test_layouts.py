"""Keypoint layouts and the joint maps, checked for anatomy on real Bandai and CMU poses and the SMPL template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from poseprior.errors import ValidationError
from poseprior.io.asf_amc import read_asf
from poseprior.io.bvh import iter_bvh, parse_bvh
from poseprior.skeleton import Skeleton, end_site_positions, forward_kinematics
from poseprior.skeleton.layouts import (
    COCO17,
    H36M17,
    KeypointLayout,
    get_layout,
    keypoints_from_positions,
    layout_map_for,
)
from poseprior.skeleton.smpl import smpl_skeleton

# Human3.6M's 32-joint tree, as VideoPose3D holds it, and the joints it removes to get 17.
H36M32_PARENTS = [
    -1,
    0,
    1,
    2,
    3,
    4,
    0,
    6,
    7,
    8,
    9,
    0,
    11,
    12,
    13,
    14,
    12,
    16,
    17,
    18,
    19,
    20,
    19,
    22,
    12,
    24,
    25,
    26,
    27,
    28,
    27,
    30,
]
H36M_REMOVED = {4, 5, 9, 10, 11, 16, 20, 21, 22, 23, 24, 28, 29, 30, 31}


def test_h36m17_is_videopose3d_order_and_tree():
    kept = [j for j in range(32) if j not in H36M_REMOVED]
    assert kept == [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
    parents = []
    for j in kept:  # nearest kept ancestor, then VideoPose3D rewires the shoulders to the thorax
        p = H36M32_PARENTS[j]
        while p in H36M_REMOVED:
            p = H36M32_PARENTS[p]
        parents.append(-1 if p < 0 else kept.index(p))
    parents[11] = parents[14] = 8
    assert list(H36M17.parents) == parents
    assert H36M17.joint_names[8:11] == ("Thorax", "Neck/Nose", "Head")
    assert [H36M17.joint_names[j] for j in (4, 5, 6, 11, 12, 13)] == [
        "LHip",
        "LKnee",
        "LFoot",
        "LShoulder",
        "LElbow",
        "LWrist",
    ]
    assert len(H36M17.edges) == 16


@pytest.mark.parametrize("layout", [H36M17, COCO17])
def test_mirror_swaps_left_and_right_names(layout):
    for name, other in zip(layout.joint_names, (layout.joint_names[m] for m in layout.mirror), strict=False):
        swapped = re.sub(
            r"^(left|right|L|R)", lambda m: {"left": "right", "right": "left", "L": "R", "R": "L"}[m[1]], name
        )
        assert other == (swapped if swapped in layout.joint_names else name)


def test_coco17():
    assert COCO17.joint_names[:5] == ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    assert COCO17.joint_names[-2:] == ("left_ankle", "right_ankle")
    assert len(COCO17.edges) == 19 and COCO17.parents is None


def test_get_layout():
    assert get_layout("H36M17") is H36M17 and get_layout("h36m") is H36M17 and get_layout("coco") is COCO17
    assert get_layout(COCO17) is COCO17
    with pytest.raises(ValidationError, match="unknown keypoint layout 'mpii'"):
        get_layout("mpii")
    with pytest.raises(ValidationError, match="mirror"):
        KeypointLayout("bad", ("a", "b"), (), (1, 1))


# ---------------------------------------------------------------------------------- poses of each joint set
def _cmu_bvh_first_frames(path: Path, n: int = 2) -> str:
    """The CMU BVH with its first ``n`` frames only (frame 0 is a T-pose), to keep the test fast."""
    text = path.read_text()
    head, motion = text.split("MOTION", 1)
    lines = motion.strip().splitlines()
    frames = "\n".join(lines[2 : 2 + n])
    return head + f"MOTION\nFrames: {n}\n{lines[1]}\n{frames}\n"


@pytest.fixture(scope="module")
def poses(cmu_dir, bandai_dir) -> dict[str, tuple[Skeleton, torch.Tensor, torch.Tensor, float]]:
    """Per joint set: skeleton, positions ``(T, K, 3)``, end sites ``(T, E, 3)``, millimetres per unit."""
    out = {}
    _, bandai = next(iter_bvh(bandai_dir / "bandai-namco-motion-1.zip", names=["dataset-1_walk_normal_001.bvh"]))
    cmu = parse_bvh(_cmu_bvh_first_frames(cmu_dir / "01_01.bvh"), unit="asf")
    for name, motion in (("bandai", bandai.frames(slice(0, 60, 20))), ("cmu_bvh", cmu)):
        p, R = motion.forward_kinematics()
        out[name] = (motion.skeleton, p, end_site_positions(motion.skeleton, p, R), motion.unit)
    asf = read_asf(cmu_dir / "01.asf")  # the ASF rest pose: arms out, standing
    sk = asf.skeleton
    p, R = forward_kinematics(sk, torch.eye(3, dtype=torch.float64).expand(1, sk.num_joints, 3, 3))
    out["cmu_asf"] = (sk, p, end_site_positions(sk, p, R), asf.unit)
    for model_type in ("smpl", "smplx"):
        sk = smpl_skeleton(model_type)
        p, R = forward_kinematics(sk, torch.eye(3, dtype=torch.float64).expand(1, sk.num_joints, 3, 3))
        out[model_type] = (sk, p, p[:, :0], 1000.0)
    return out


SETS = {"bandai": "bandai", "cmu_bvh": "cmu_bvh", "cmu_asf": "cmu_asf", "smpl": "smpl", "smplx": "smpl"}


@pytest.mark.parametrize("source", list(SETS))
def test_detects_the_joint_set(poses, source):
    sk = poses[source][0]
    for layout in (H36M17, COCO17):
        kmap = layout_map_for(sk, layout)
        assert kmap.joint_set == SETS[source] and kmap.layout is layout
        W = kmap.matrix(sk, end_sites=True)
        assert torch.allclose(W.sum(1), torch.ones(17, dtype=torch.float64))  # affine rows


@pytest.mark.parametrize("source", list(SETS))
def test_h36m17_keypoints_are_anatomical(poses, source):
    sk, p, ends, mm = poses[source]
    k = keypoints_from_positions(p, sk, "h36m17", ends if ends.shape[-2] else None) * mm
    assert k.shape == (p.shape[0], 17, 3)
    at = {n: k[:, i] for i, n in enumerate(H36M17.joint_names)}
    up = at["Thorax"] - at["Hip"]
    up = up / up.norm(dim=-1, keepdim=True)
    left = at["LHip"] - at["RHip"]

    def height(name):
        return ((at[name] - at["Hip"]) * up).sum(-1)

    def length(a, b):
        return (at[a] - at[b]).norm(dim=-1)

    for side in "LR":
        assert ((360 < length(f"{side}Hip", f"{side}Knee")) & (length(f"{side}Hip", f"{side}Knee") < 480)).all()
        assert ((360 < length(f"{side}Knee", f"{side}Foot")) & (length(f"{side}Knee", f"{side}Foot") < 480)).all()
        assert (
            (200 < length(f"{side}Shoulder", f"{side}Elbow")) & (length(f"{side}Shoulder", f"{side}Elbow") < 330)
        ).all()
        assert ((180 < length(f"{side}Elbow", f"{side}Wrist")) & (length(f"{side}Elbow", f"{side}Wrist") < 300)).all()
    assert (((at["LShoulder"] - at["RShoulder"]) * left).sum(-1) > 0).all()  # sides not swapped
    heights = torch.stack([height(n) for n in ("Spine", "Thorax", "Neck/Nose", "Head")], -1)
    assert (heights[:, 0] > 100).all() and (heights.diff(dim=-1) > 40).all()
    # Bandai's torso is short and the CMU BVH conversion drops a 12 cm thorax bone: 450 mm, not H36M's ~700.
    assert ((length("Head", "Hip") > 450) & (length("Head", "Hip") < 900)).all()


@pytest.mark.parametrize("source", list(SETS))
def test_coco17_face_is_on_the_head(poses, source):
    sk, p, _, mm = poses[source]
    k = keypoints_from_positions(p, sk, COCO17) * mm
    at = {n: k[:, i] for i, n in enumerate(COCO17.joint_names)}
    mid_shoulder = (at["left_shoulder"] + at["right_shoulder"]) / 2
    mid_hip = (at["left_hip"] + at["right_hip"]) / 2
    up = (mid_shoulder - mid_hip) / (mid_shoulder - mid_hip).norm(dim=-1, keepdim=True)
    left = at["left_shoulder"] - at["right_shoulder"]
    for name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"):
        h = ((at[name] - mid_shoulder) * up).sum(-1)
        assert ((100 < h) & (h < 250)).all(), name
    eyes, ears = at["left_eye"] - at["right_eye"], at["left_ear"] - at["right_ear"]
    assert ((50 < eyes.norm(dim=-1)) & (eyes.norm(dim=-1) < 80)).all() and ((eyes * left).sum(-1) > 0).all()
    assert ((120 < ears.norm(dim=-1)) & (ears.norm(dim=-1) < 180)).all() and ((ears * left).sum(-1) > 0).all()
    h_eye = ((at["left_eye"] - at["nose"]) * up).sum(-1)
    assert (h_eye > 0).all()  # eyes above the nose


def test_end_sites_refine_the_cmu_head_top(poses):
    sk, p, ends, mm = poses["cmu_bvh"]
    with_ends = keypoints_from_positions(p, sk, H36M17, ends)
    without = keypoints_from_positions(p, sk, H36M17)
    head = H36M17.index("Head")
    assert torch.allclose(with_ends[:, head], ends[:, sk.end_site_parents.index(sk.index("Head"))])
    gap = (with_ends[:, head] - without[:, head]).norm(dim=-1) * mm
    assert (gap < 30).all()  # the fallback is close to the real point
    others = [i for i in range(17) if i != head]
    assert torch.equal(with_ends[:, others], without[:, others])


def test_keypoints_follow_rigid_motions_and_batches(poses):
    sk, p, _, _ = poses["smplx"]
    R = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))[0]
    R = R * torch.linalg.det(R)
    t = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    k = keypoints_from_positions(p, sk, "coco17")
    moved = keypoints_from_positions(p @ R.T + t, sk, "coco17")
    assert torch.allclose(moved, k @ R.T + t)
    batch = keypoints_from_positions(p.expand(4, 2, -1, -1).float(), sk, "coco17")
    assert batch.shape == (4, 2, 17, 3) and batch.dtype == torch.float32


def test_errors(poses):
    sk, p, ends, _ = poses["cmu_bvh"]
    stranger = Skeleton(("base", "arm"), (-1, 0), torch.zeros(2, 3))
    with pytest.raises(
        ValidationError, match="match no known joint set for the h36m17 layout; known sets need: bandai"
    ):
        layout_map_for(stranger, "h36m17")
    with pytest.raises(ValidationError, match=r"positions: expected shape \(\.\.\., 31, 3\)"):
        keypoints_from_positions(p[..., :30, :], sk, H36M17)
    with pytest.raises(ValidationError, match="end_sites: expected shape"):
        keypoints_from_positions(p, sk, H36M17, ends[..., :2, :])
    bare = Skeleton(sk.joint_names, sk.parents, sk.offsets)  # same joints, no end sites
    with pytest.raises(ValidationError, match="'Head' has no end site"):
        keypoints_from_positions(p, bare, H36M17, p[..., :0, :])
