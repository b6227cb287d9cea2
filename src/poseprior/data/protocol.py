"""Pose protocols: which joints make a pose, at which rate, split how.

A *pose* is the local rotations of the joints below a root joint (not the root's own, global,
orientation), sampled from a motion every ``stride`` frames or resampled to ``fps``. The pose joints are
kept in the skeleton's (topological) order, so pose joint ``j`` is joint ``j + 1`` of the canonical
skeleton ``skeleton.subset([root, *joints])``: prepend the root's global rotation to run forward kinematics.

Example:
    >>> BANDAI_V1.pose_fps(30.0), BANDAI_V1.joints[:3]
    (10.0, ('left_hip', 'right_hip', 'spine1'))
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from poseprior.errors import ValidationError
from poseprior.io import Motion
from poseprior.retarget import Rig, retarget, source_rig
from poseprior.skeleton import Skeleton, forward_kinematics
from poseprior.skeleton.smpl import POSE_JOINTS

__all__ = ["PoseProtocol", "BANDAI_V1", "BANDAI_JOINTS", "pose_joint_indices", "canonical_skeleton", "extract_poses"]


@dataclass(frozen=True)
class PoseProtocol:
    """How poses are taken from motions.

    Attributes:
        name: identifier written into every prepared cache (``"bandai-v1"``).
        root: the joint whose descendants form the pose; its own rotation is kept apart as ``root_rotation``.
        joints: the pose joints, or ``None`` for every descendant of ``root``.
        stride: keep frames ``0, stride, 2 stride, ...`` (exactly one of ``stride`` and ``fps``).
        fps: resample every motion to this rate instead (slerp, :meth:`Motion.resample`).
        source_fps: the frame rate every source motion must have (``None``: any); guards a ``stride``.
        splits: where the train/val/test split comes from (a file name inside the source folder, or a
            named rule such as ``"vposer"``).
        retarget: take the poses on the canonical body: every motion is first retargeted
            (:mod:`poseprior.retarget`) onto the pelvis and the 20 :data:`~poseprior.skeleton.smpl.POSE_JOINTS`,
            which ``root`` and ``joints`` must then name.
    """

    name: str
    root: str
    joints: tuple[str, ...] | None = None
    stride: int | None = None
    fps: float | None = None
    source_fps: float | None = None
    splits: str = "splits.json"
    retarget: bool = False

    def __post_init__(self) -> None:
        if self.joints is not None:
            object.__setattr__(self, "joints", tuple(self.joints))
            if not self.joints or self.root in self.joints or len(set(self.joints)) != len(self.joints):
                raise ValidationError(f"joints: need distinct joint names, not including the root {self.root!r}")
        if (self.stride is None) == (self.fps is None):
            raise ValidationError("stride, fps: set exactly one of them")
        if self.stride is not None and (int(self.stride) != self.stride or self.stride < 1):
            raise ValidationError(f"stride: must be a positive integer, got {self.stride!r}")
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise ValidationError(f"fps: must be a positive number, got {self.fps!r}")
        if self.retarget and (self.root, self.joints) != ("pelvis", POSE_JOINTS):
            raise ValidationError(
                "retarget: the canonical poses are the pelvis and the 20 POSE_JOINTS; set root and joints to them"
            )

    def pose_fps(self, source_fps: float) -> float:
        """Rate of the poses taken from a motion at ``source_fps``."""
        return float(self.fps) if self.fps is not None else source_fps / self.stride

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (for cache manifests)."""
        d = asdict(self)
        d["joints"] = None if self.joints is None else list(self.joints)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoseProtocol:
        joints = d.get("joints")
        return cls(**{**d, "joints": None if joints is None else tuple(joints)})


#: The 20 joints below ``Hips`` in the Bandai Namco files' skeleton, in file order.
BANDAI_JOINTS: tuple[str, ...] = (
    "Spine", "Chest", "Neck", "Head",
    "Shoulder_L", "UpperArm_L", "LowerArm_L", "Hand_L",
    "Shoulder_R", "UpperArm_R", "LowerArm_R", "Hand_R",
    "UpperLeg_L", "LowerLeg_L", "Foot_L", "Toes_L",
    "UpperLeg_R", "LowerLeg_R", "Foot_R", "Toes_R",
)  # fmt: skip

#: bandai-v1: the 20 joints below ``Hips``, retargeted onto the canonical body's 20 pose joints below the
#: ``pelvis`` (one to one: Bandai's ``Spine`` and ``Chest`` are ``spine1`` and ``spine3``), every 3rd frame of
#: the 30 fps takes (10 poses a second), split by the ``splits.json`` beside the zips.
BANDAI_V1 = PoseProtocol(name="bandai-v1", root="pelvis", joints=POSE_JOINTS, stride=3, source_fps=30.0, retarget=True)


def pose_joint_indices(skeleton: Skeleton, protocol: PoseProtocol) -> list[int]:
    """Indices in ``skeleton`` of the protocol's pose joints, in skeleton order; clear error if any is missing."""
    root = skeleton.index(protocol.root)
    below = skeleton.descendants(root)
    if protocol.joints is None:
        return below
    idx = skeleton.indices(protocol.joints)
    outside = [skeleton.joint_names[j] for j in idx if j not in below]
    if outside:
        raise ValidationError(f"joints: {outside} are not below the root joint {protocol.root!r}")
    return sorted(idx)


def canonical_skeleton(skeleton: Skeleton, protocol: PoseProtocol) -> Skeleton:
    """The root plus the pose joints, rooted at the protocol's root (its offset: the root's rest position)."""
    idx = [skeleton.index(protocol.root), *pose_joint_indices(skeleton, protocol)]
    return skeleton.subset([skeleton.joint_names[j] for j in idx])


def extract_poses(motion: Motion, protocol: PoseProtocol, rig: Rig | None = None) -> dict[str, torch.Tensor]:
    """The poses of one motion under ``protocol``.

    With ``protocol.retarget``, the kept frames are first retargeted onto the canonical pose joints through
    ``rig`` (the motion's :class:`~poseprior.retarget.Rig`; default: made and calibrated on this motion), in the
    motion's unit, Y-up.

    Returns a dict of tensors over the ``N`` poses (``N = ceil(T / stride)``, or the resampled length):

    - ``rotations`` ``(N, J, 3, 3)`` float32: local rotations of the ``J`` pose joints, skeleton order.
    - ``root_rotation`` ``(N, 3, 3)`` float32: global rotation of the root joint.
    - ``root_position`` ``(N, 3)`` float32: global position of the root joint, in the motion's unit.
    - ``frame`` ``(N,)`` int64: the source frame of each pose (the nearest one when resampling).

    Example:
        >>> poses = extract_poses(motion, BANDAI_V1)  # doctest: +SKIP
        >>> poses["rotations"].shape  # doctest: +SKIP
        torch.Size([110, 20, 3, 3])
    """
    if protocol.source_fps is not None and abs(motion.fps - protocol.source_fps) > 1e-3 * protocol.source_fps:
        raise ValidationError(
            f"motion: protocol {protocol.name!r} needs {protocol.source_fps:g} fps motions, got {motion.fps:g}"
        )
    if protocol.stride is not None:
        frame = torch.arange(0, motion.num_frames, protocol.stride)
        m = motion.frames(frame)
    else:
        m = motion.resample(protocol.fps)
        frame = (torch.arange(m.num_frames, dtype=torch.float64) * (motion.fps / protocol.fps)).round().long()
    if protocol.retarget:
        rig = source_rig(motion) if rig is None else rig
        m = retarget(m, Rig.from_skeleton(rig.pose_skeleton(), rig.unit), rig)[0]
    sk = m.skeleton
    joints = pose_joint_indices(sk, protocol)
    # Global pose of the root: forward kinematics along the chain from joint 0 down to it.
    chain = [sk.index(protocol.root)]
    while sk.parents[chain[0]] != -1:
        chain.insert(0, sk.parents[chain[0]])
    tr = None if m.translations is None else m.translations[:, chain]
    p, R = forward_kinematics(
        sk.subset([sk.joint_names[j] for j in chain]), m.rotations[:, chain], m.root_translation, tr
    )
    return {
        "rotations": m.rotations[:, joints].to(torch.float32),
        "root_rotation": R[:, -1].to(torch.float32),
        "root_position": p[:, -1].to(torch.float32),
        "frame": frame.clamp(max=motion.num_frames - 1),
    }
