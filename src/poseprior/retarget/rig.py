"""A rig made ready for retargeting (:class:`Rig`): where the canonical body's joints are in it, which way its
rest pose faces, and how each joint's rest frame lines up with the canonical T-pose.

**Rest-pose alignment.** Rigs put their rest pose anywhere: CMU's BVH stands in a T-pose, CMU's 3ds Max
export hangs its arms down, the Reallusion CC rig and Bandai Namco's point every bone along one axis (legs
up), SMPL is a T-pose by definition. Each rig is brought to the canonical T-pose bone by bone:

1. The rest pose's **body frame** ``B`` (rows: the body's left, up and forward in rig coordinates): up from
   the pelvis to the chest, left from the right hip to the left hip.
2. Each canonical joint ``c`` aims at its chain child (knee -> ankle, spine1 -> spine2 or, without one,
   spine3, ...). Its **swing** ``S_c`` is the smallest rotation taking that rest bone, in body coordinates,
   onto the canonical T-pose bone (the template body's, :func:`~poseprior.skeleton.smpl.body_skeleton`);
   a bone pointing the opposite way (legs up) turns half a turn about the left-right axis, or the up axis
   for a left-right bone (about the axis its hinge bends about, so that the bend keeps its sign). Leaves (head, wrists, toes) and joints with no
   usable bone take their parent's swing.
3. The twist about each bone is the rig's own: it is carried over unchanged by the swing, which is the one
   rule for every bone and every rig; :meth:`Rig.calibrated` then fixes the rig's axis conventions from a
   motion, and :meth:`Rig.with_feet_rolled` the feet's roll from their ground contact.
   ``docs/conventions.md`` has the measured consequence: the knee and elbow bend about the same canonical
   axis, within a few degrees, for Bandai, CMU (both namings), ReActIdle and Reallusion.

A joint's canonical global rotation is then ``G_can = W @ G_rig @ M_c`` with ``M_c = B^T S_c^T`` (``W``
turns the motion's world up axis to ``+y``): at the rig's rest the canonical pose is ``S_p S_c^T``, and
the canonical T-pose (identity rotations) is the rig's rest swung bone by bone. SMPL-family rigs have
``B = S = I``: their local rotations *are* canonical ones.

Example:
    >>> from poseprior.skeleton.smpl import body_skeleton
    >>> rig = Rig.from_skeleton(body_skeleton(), unit="m")
    >>> rig.t_pose, bool((rig.alignment == torch.eye(3, dtype=torch.float64)).all())
    (True, True)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import rotvec_between, rotvec_to_matrix
from poseprior.io.units import UNITS_MM, unit_name, unit_to_mm
from poseprior.retarget.names import JointMap, find_joint_map
from poseprior.skeleton import Skeleton, end_site_positions, forward_kinematics
from poseprior.skeleton.smpl import (
    BODY_JOINTS,
    BODY_PARENTS,
    body_skeleton,
    pose_skeleton,
    template_rest_joints,
)

__all__ = [
    "Rig",
    "FOOT_FLAT_ROLL_DEG",
    "foot_roll_deg",
    "AIM",
    "HINGE_AXES",
    "aim_chain",
    "aim_target",
    "bends",
    "bend_axis",
    "bone_axis",
    "swing_twist_deg",
    "rig_profile",
]

#: Each canonical joint's chain child: the bone its rotation swings (leaves have none).
AIM: dict[str, str] = {
    "spine1": "spine2", "spine2": "spine3", "spine3": "neck", "neck": "head",
    **{f"{s}_{a}": f"{s}_{b}" for s in ("left", "right") for a, b in (
        ("hip", "knee"), ("knee", "ankle"), ("ankle", "foot"),
        ("collar", "shoulder"), ("shoulder", "elbow"), ("elbow", "wrist"),
    )},
}  # fmt: skip

_INDEX = {n: i for i, n in enumerate(BODY_JOINTS)}
_PROFILES = Path(__file__).parent / "profiles"
# Head joint to ankle joint of adults in a T-pose, millimetres: what a guessed unit aims for.
_HEAD_ANKLE_MM = 1400.0


def aim_target(name: str, points: torch.Tensor) -> int | None:
    """Index of the joint ``name`` aims at in a rig with canonical joint ``points (22, 3)`` (NaN: absent): the
    nearest joint down its chain that the rig has, away from it (CMU's neck starts at its chest)."""
    here = points[_INDEX[name]]
    for n in aim_chain(name):
        d = points[_INDEX[n]] - here
        if not torch.isnan(d).any() and float(d.norm()) > 1e-9 * max(1.0, float(here.abs().max())):
            return _INDEX[n]
    return None


def aim_chain(name: str) -> list[str]:
    """The canonical joints below ``name`` along its chain, nearest first (``spine1`` -> spine2, spine3, ...)."""
    out = []
    while name in AIM:
        name = AIM[name]
        out.append(name)
    return out


@dataclass(frozen=True, eq=False)
class Rig:
    """A skeleton characterised for retargeting.

    Attributes:
        skeleton: the rig.
        joint_map: where the canonical joints are (:func:`~poseprior.retarget.names.find_joint_map`).
        unit: millimetres per length unit of the skeleton's offsets.
        body_frame: ``(3, 3)`` float64 ``B``: rig coordinates -> the rest body's (left, up, forward) axes.
        alignment: ``(22, 3, 3)`` float64 ``M_c`` per canonical joint (body order), see the module docstring.
        rest_points: ``(22, 3)`` float64 rest positions of the canonical joints in the rig (a missing joint's
            end-site stand-in where it has one), NaN where the rig has neither.
        t_pose: whether the rig's rest is the canonical T-pose by definition (SMPL-family names).
        unit_note: why the unit is what it is, when it was guessed (else empty).
    """

    skeleton: Skeleton
    joint_map: JointMap
    unit: float
    body_frame: torch.Tensor
    alignment: torch.Tensor
    rest_points: torch.Tensor
    t_pose: bool
    unit_note: str = ""

    @classmethod
    def from_skeleton(
        cls,
        skeleton: Skeleton,
        unit: str | float = "cm",
        mapping: dict[str, str] | str | Path | None = None,
        *,
        source: str = "skeleton",
        guess_unit: bool = False,
    ) -> Rig:
        """Map and align a rig.

        Args:
            skeleton: the rig.
            unit: length unit of its offsets (name or millimetres per unit).
            mapping: a mapping file or dict for joints no convention names (see :mod:`poseprior.retarget.names`).
            source: how errors name the rig.
            guess_unit: the unit is a reader's default (BVH states none): replace it by the one that gives the
                body an adult's height (mm, cm, m, inches or CMU's ASF unit), noted in :attr:`unit_note`.

        Raises:
            ValidationError: the rig cannot be mapped (see :func:`find_joint_map`) or its rest pose has no
                height or width (coincident hips or pelvis and chest).
        """
        joint_map = find_joint_map(skeleton, mapping, source)
        rest = _rest_points(skeleton, joint_map)
        t_pose = joint_map.convention == "smpl"
        frame = torch.eye(3, dtype=torch.float64) if t_pose else _body_frame(rest, source)
        swings = _swings(rest, frame, t_pose)
        alignment = frame.T @ swings.transpose(-1, -2)
        rig = cls(skeleton, joint_map, unit_to_mm(unit), frame, alignment, rest, t_pose)
        if guess_unit:
            rig = rig._with_guessed_unit()
        return rig

    def calibrated(self, rotations: torch.Tensor, min_bend_deg: float = 30.0) -> Rig:
        """The rig with each bone's twist set from a motion of it, by one rule per kind of joint.

        The swing of every bone comes from the rest pose and the pelvis' and chest's frames from their hips
        and collars; what a rest pose cannot tell is the twist about each limb (a rig may keep its legs
        rolled half a turn at rest and turn them back in every frame). From the motion's local rotations
        ``(T, K, 3, 3)``:

        - **hinges** (the knees, the elbows): the thigh's and shin's (upper arm's and forearm's) frames turn
          together about the bone so that the main axis of the hinge's rotation vectors becomes the
          canonical hinge axis (``+x`` for the knees, ``-y``/``+y`` for the left/right elbow, bending
          forward positive), as anatomy (ISB) defines the femur's and humerus' frames by that axis;
        - **every other joint** but the pelvis and chest: the quarter turn (0, 90, 180 or 270 degrees) about
          its bone nearest to undoing its mean twist, when that mean passes 55 degrees, so that the rig's axis
          convention is fixed while the motion's own mean twist (a head turned aside all take long) is kept.

        A hinge whose bend reaches ``min_bend_deg`` in fewer than 10% of the frames (standing still, where
        its small bends say more about noise than about its axis) gets the quarter-turn rule instead.
        SMPL-family rigs are returned as they are (their rotations are canonical by definition).
        """
        if self.t_pose or rotations.shape[0] == 0:
            return self
        K = self.skeleton.num_joints
        if rotations.shape[1:] != (K, 3, 3):
            raise ValidationError(
                f"rotations: expected shape (T, {K}, 3, 3) for this rig, got {tuple(rotations.shape)}"
            )
        _, G = forward_kinematics(self.skeleton, rotations.double())
        joints = self.joint_map.joints
        M = self.alignment.clone()
        template = template_rest_joints("smpl")[: len(BODY_JOINTS)]
        hinged = {"left_knee", "right_knee", "left_elbow", "right_elbow"}

        def local(name: str) -> torch.Tensor:  # canonical local rotations of a joint, current alignment
            c, p = _INDEX[name], _INDEX[_mapped_parent(name, joints)]
            return M[p].T @ G[:, joints[_mapped_parent(name, joints)]].transpose(-1, -2) @ G[:, joints[name]] @ M[c]

        for c, name in enumerate(BODY_JOINTS[1:], start=1):
            if name not in joints or name in hinged or name == "spine3":
                continue
            bone = _bone_axis(name, template)
            hinge = {"hip": "knee", "shoulder": "elbow"}.get(name.partition("_")[2])
            if hinge is not None:
                child = f"{name.partition('_')[0]}_{hinge}"
                if child not in joints:
                    continue
                bends = local(child)
                r = _swing_rotvecs(bends, _bone_axis(child, template))
                if float(torch.quantile(r.norm(dim=-1), 0.9)) >= math.radians(min_bend_deg):
                    angle = _angle_about(bone, HINGE_AXES[child], bend_axis(bends, child))
                else:  # too little bending to find the hinge: the quarter turn, as for other joints
                    angle = -_quarter_turn(local(name), bone)
                # Both segments turn by one rotation of the rig's frames about the upper segment's rest bone,
                # so the hinge turns rigidly (an exact change of axis), and the T-pose stays where the rig's
                # rest limb is straight.
                turn = rotvec_to_matrix(M[c] @ bone * angle)
                M[c] = turn @ M[c]
                M[_INDEX[child]] = turn @ M[_INDEX[child]]
            else:
                M[c] = M[c] @ rotvec_to_matrix(bone * -_quarter_turn(local(name), bone))
        return replace(self, alignment=M)

    def with_profile(self, profile: dict) -> Rig:
        """The rig with the twists of a saved calibration (:func:`rig_profile`), the same for every file of the
        rig: the one its training data were retargeted with, rather than each file's own."""
        M = self.alignment.clone()
        for name, twist in profile["twists"].items():
            M[_INDEX[name]] = torch.tensor(twist, dtype=torch.float64) @ M[_INDEX[name]]
        return replace(self, alignment=M)

    def profile(self, calibrated_on: str) -> dict:
        """This rig's twists (relative to the rest pose's alignment) as a JSON-ready profile."""
        T = self.alignment @ _swings_alignment(self).transpose(-1, -2)
        eye = torch.eye(3, dtype=torch.float64)
        return {
            "format": "poseprior-rig-profile",
            "version": 1,
            "convention": self.joint_map.convention,
            "joint_names": list(self.skeleton.joint_names),
            "parents": list(self.skeleton.parents),
            "calibrated_on": calibrated_on,
            "twists": {
                n: T[i].tolist() for i, n in enumerate(BODY_JOINTS) if not torch.allclose(T[i], eye, atol=1e-12)
            },
        }

    def with_feet_rolled(self, roll_deg: tuple[float | None, float | None]) -> Rig:
        """The rig with each ankle's frame turned about its foot bone so that a foot flat on the ground has the
        canonical roll (:data:`FOOT_FLAT_ROLL_DEG`), given the roll it has with this rig
        (:func:`foot_roll_deg`). A rest pose cannot tell it where a foot bone swings far from the rig's rest
        (Reallusion's and Bandai Namco's legs point up): the swing leaves whatever roll its path gives. A foot
        without ground contact keeps its roll; SMPL-family rigs are returned as they are."""
        if self.t_pose:
            return self
        template = template_rest_joints("smpl")[: len(BODY_JOINTS)]
        M = self.alignment.clone()
        for i, side in enumerate(("left", "right")):
            if roll_deg[i] is not None:  # the ankle's frame and the toes' with it: the foot turns as one
                turn = rotvec_to_matrix(
                    _bone_axis(f"{side}_ankle", template) * math.radians(FOOT_FLAT_ROLL_DEG[i] - roll_deg[i])
                )
                for joint in (f"{side}_ankle", f"{side}_foot"):
                    M[_INDEX[joint]] = M[_INDEX[joint]] @ turn
        return replace(self, alignment=M)

    # ------------------------------------------------------------------------------------ geometry
    @property
    def swings(self) -> torch.Tensor:
        """``(22, 3, 3)`` the swings ``S_c`` of the module docstring."""
        return (self.body_frame @ self.alignment).transpose(-1, -2)

    def t_pose_points(self) -> torch.Tensor:
        """``(22, 3)`` the canonical joints of this rig's body in the canonical T-pose, rig units, pelvis at 0.

        Joints the rig has are its own rest bones swung onto the T-pose; a missing joint between two it has
        (``spine2`` of a two-joint spine, a missing neck or collar) sits evenly between them; a missing leaf
        (head, wrist, toes) continues from its parent by the template body's bone, scaled to this rig's legs.
        """
        known = ~torch.isnan(self.rest_points[:, 0])
        swings = self.swings
        X = torch.full((len(BODY_JOINTS), 3), math.nan, dtype=torch.float64)
        X[0] = 0.0
        for c in range(1, len(BODY_JOINTS)):
            if not known[c]:
                continue
            p = _known_ancestor(c, known)
            X[c] = X[p] + swings[p] @ self.body_frame @ (self.rest_points[c] - self.rest_points[p])
        template = template_rest_joints("smpl")[: len(BODY_JOINTS)]
        scale = _leg_length(X) / _leg_length(template)
        for c, name in enumerate(BODY_JOINTS[1:], start=1):
            if known[c]:
                continue
            p = BODY_PARENTS[c]
            below = next((_INDEX[n] for n in aim_chain(name) if known[_INDEX[n]]), None)
            if below is None:  # a leaf: the template's bone, at this rig's size
                X[c] = X[p] + (template[c] - template[p]) * scale
            else:  # evenly between the known joints above and below
                steps = 1 + aim_chain(name).index(BODY_JOINTS[below])
                X[c] = X[p] + (X[below] - X[p]) / (steps + 1)
        return X

    def body_skeleton(self) -> Skeleton:
        """The canonical body (22 joints) in this rig's proportions and unit: :meth:`t_pose_points` as offsets."""
        return body_skeleton(self.t_pose_points())

    def pose_skeleton(self) -> Skeleton:
        """The pelvis and the 20 pose joints of :meth:`body_skeleton` (``spine2`` left out)."""
        return pose_skeleton(self.body_skeleton())

    def leg_length(self) -> float:
        """Mean length of the thigh plus the shin, in this rig's unit."""
        return _leg_length(self.t_pose_points())

    def describe(self) -> str:
        """One line: the naming found, the joints filled in, and a guessed unit."""
        text = self.joint_map.describe(self.skeleton)
        return f"{text}; {self.unit_note}" if self.unit_note else text

    def _with_guessed_unit(self) -> Rig:
        X = self.t_pose_points()
        top = X[_INDEX["head"]] if not torch.isnan(X[_INDEX["head"]]).any() else X[_INDEX["neck"]]
        height = float(top[1] - torch.minimum(X[_INDEX["left_ankle"], 1], X[_INDEX["right_ankle"], 1]))
        if not height > 0:
            return self
        name = min(UNITS_MM, key=lambda u: abs(math.log(height * UNITS_MM[u] / _HEAD_ANKLE_MM)))
        mm = UNITS_MM[name]
        note = f"unit guessed from the body's size: {unit_name(mm)} ({height * mm / 1000:.2f} m from ankles to head)"
        return replace(self, unit=mm, unit_note=note)


#: Roll (degrees) of the canonical ankle frames, left and right, about their foot bones while the foot is flat
#: on the ground (:func:`foot_roll_deg` over bandai-v1 train, every 25th take: the data every shipped model was
#: trained on), to which :meth:`Rig.with_feet_rolled` turns a rig's ankle frames.
FOOT_FLAT_ROLL_DEG = (19.5, 4.6)
# Ground contact: ankle and toe joint within this of their lowest (5th percentile) height, millimetres, the toe
# joint slower than this, millimetres per second, in at least this many frames.
_CONTACT_MM, _CONTACT_SPEED_MM_S, _CONTACT_FRAMES = 20.0, 150.0, 5


def foot_roll_deg(
    points: torch.Tensor, frames: torch.Tensor, fps: float, unit_mm: float = 1.0
) -> tuple[float | None, float | None]:
    """Mean roll (degrees) of each canonical ankle frame about its foot bone while the foot is flat on the
    ground: the angle, about the bone, from the horizontal across the foot to the frame's ``x`` axis (the
    body's left in the T-pose).

    Args:
        points: ``(T, 22, 3)`` canonical joint positions (:data:`~poseprior.skeleton.smpl.BODY_JOINTS`) in a
            Y-up world.
        frames: ``(T, 22, 3, 3)`` the canonical joints' global rotations (their frames' axes as columns).
        fps: frames per second.
        unit_mm: millimetres per unit of ``points``.

    Returns:
        ``(left, right)``; None for a foot without a toe joint or with fewer than 5 frames of contact (ankle
        and toe joint within 20 mm of their lowest heights, the toe joint slower than 150 mm/s).

    Example:
        >>> X = template_rest_joints("smpl")[: len(BODY_JOINTS)].expand(10, -1, -1)  # the T-pose, standing still
        >>> frames = torch.eye(3, dtype=torch.float64).expand(10, len(BODY_JOINTS), 3, 3)
        >>> [round(r, 1) for r in foot_roll_deg(X, frames, fps=30.0, unit_mm=1000.0)]  # its toes point out a little
        [5.8, -5.8]
    """
    out: list[float | None] = []
    up = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    for side in ("left", "right"):
        a, f = _INDEX[f"{side}_ankle"], _INDEX[f"{side}_foot"]
        ankle, toe = points[:, a].double() * unit_mm, points[:, f].double() * unit_mm
        if torch.isnan(toe).any() or torch.isnan(ankle).any() or points.shape[0] < _CONTACT_FRAMES:
            out.append(None)
            continue

        def low(y: torch.Tensor) -> torch.Tensor:  # height above its 5th percentile
            return y - torch.quantile(y, 0.05)

        speed = torch.cat([toe.new_zeros(1), (toe[1:, [0, 2]] - toe[:-1, [0, 2]]).norm(dim=-1) * fps])
        flat = (low(toe[:, 1]) < _CONTACT_MM) & (low(ankle[:, 1]) < _CONTACT_MM) & (speed < _CONTACT_SPEED_MM_S)
        if int(flat.sum()) < _CONTACT_FRAMES:
            out.append(None)
            continue
        bone = toe[flat] - ankle[flat]
        bone = bone / bone.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        level = torch.linalg.cross(up.expand_as(bone), bone)
        level = level / level.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        x = frames[flat, a, :, 0].double()
        angle = torch.atan2((bone * torch.linalg.cross(level, x)).sum(-1), (level * x).sum(-1))
        out.append(math.degrees(math.atan2(float(torch.sin(angle).mean()), float(torch.cos(angle).mean()))))
    return out[0], out[1]


def rig_profile(skeleton: Skeleton, convention: str) -> dict | None:
    """The saved calibration shipped for a rig (``poseprior/retarget/profiles/*.json``: Bandai Namco's), when
    ``skeleton`` is that rig (same convention, joint names and tree), else None."""
    for path in sorted(_PROFILES.glob("*.json")):
        profile = json.loads(path.read_text())
        if (profile["convention"], tuple(profile["joint_names"]), tuple(profile["parents"])) == (
            convention,
            skeleton.joint_names,
            skeleton.parents,
        ):
            return profile
    return None


def _swings_alignment(rig: Rig) -> torch.Tensor:
    """``(22, 3, 3)`` the rig's alignment from its rest pose alone, before any twist."""
    return rig.body_frame.T @ _swings(rig.rest_points, rig.body_frame, rig.t_pose).transpose(-1, -2)


def _rest_points(skeleton: Skeleton, joint_map: JointMap) -> torch.Tensor:
    eye = torch.eye(3, dtype=torch.float64).expand(skeleton.num_joints, 3, 3)
    p, R = forward_kinematics(skeleton, eye)
    ends = end_site_positions(skeleton, p, R)
    out = torch.full((len(BODY_JOINTS), 3), math.nan, dtype=torch.float64)
    for name, j in joint_map.joints.items():
        out[_INDEX[name]] = p[j]
    for name, e in joint_map.end_points.items():
        out[_INDEX[name]] = ends[e]
    return out


def _body_frame(rest: torch.Tensor, source: str) -> torch.Tensor:
    """Rows: the rest body's left, up and forward axes, in rig coordinates."""
    pelvis = rest[_INDEX["pelvis"]]
    top = next(rest[_INDEX[n]] for n in ("spine3", "neck", "head", "spine2") if not torch.isnan(rest[_INDEX[n]]).any())
    up = top - pelvis
    left = rest[_INDEX["left_hip"]] - rest[_INDEX["right_hip"]]
    if float(left.norm()) < 1e-9 * max(1.0, float(up.norm())):
        left = rest[_INDEX["left_shoulder"]] - rest[_INDEX["right_shoulder"]]
    if float(up.norm()) < 1e-12 or float(left.norm()) < 1e-12:
        raise ValidationError(
            f"{source}: its rest pose has no height (pelvis at the chest) or no width (hips together)"
        )
    up = up / up.norm()
    left = left - (left @ up) * up
    if float(left.norm()) < 1e-9:
        raise ValidationError(f"{source}: its rest pose's hips lie along its spine; cannot tell left from right")
    left = left / left.norm()
    return torch.stack([left, up, torch.linalg.cross(left, up)])


def _swings(rest: torch.Tensor, frame: torch.Tensor, t_pose: bool) -> torch.Tensor:
    """``(22, 3, 3)`` the swings ``S_c`` (module docstring), parents before children."""
    template = template_rest_joints("smpl")[: len(BODY_JOINTS)]
    known = ~torch.isnan(rest[:, 0])
    S = torch.eye(3, dtype=torch.float64).repeat(len(BODY_JOINTS), 1, 1)
    if t_pose:
        return S
    for c, name in enumerate(BODY_JOINTS[1:], start=1):
        S[c] = S[BODY_PARENTS[c]]
        target = aim_target(name, rest)
        if not known[c] or target is None:
            continue
        if name == "spine3":
            # The chest carries the collars: its frame is fixed by them (or by the shoulders where the
            # collars start at the chest), as the pelvis' is by the hips.
            for pair in (("left_collar", "right_collar"), ("left_shoulder", "right_shoulder")):
                rig_left = rest[_INDEX[pair[0]]] - rest[_INDEX[pair[1]]]
                if not torch.isnan(rig_left).any() and float(rig_left.norm()) > 1e-9:
                    up = template[target] - template[c]
                    left = template[_INDEX[pair[0]]] - template[_INDEX[pair[1]]]
                    S[c] = _axes(up, left).T @ _axes(frame @ (rest[target] - rest[c]), frame @ rig_left)
                    break
            continue
        d = frame @ (rest[target] - rest[c])
        b = template[target] - template[c]
        d, b = d / d.norm(), b / b.norm()
        if float(d @ b) < -0.5:  # more than 120 degrees: first half a turn about the forward axis (legs up)
            axis = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
            half = rotvec_to_matrix(axis * math.pi)
            S[c] = rotvec_to_matrix(rotvec_between(half @ d, b)) @ half
        else:
            S[c] = rotvec_to_matrix(rotvec_between(d, b))
    return S


def _axes(up: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
    """``(3, 3)`` rows: the (left, up, forward) axes of a frame given its up direction and a left direction."""
    up = up / up.norm()
    left = left - (left @ up) * up
    left = left / left.norm()
    return torch.stack([torch.linalg.cross(up, torch.linalg.cross(left, up)), up, torch.linalg.cross(left, up)])


#: Canonical hinge axes, in the parent's T-pose frame: the knees bend about +x, the elbows forward (-y for the
#: left, +y for the right), bending positive.
HINGE_AXES = {
    "left_knee": torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
    "right_knee": torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
    "left_elbow": torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64),
    "right_elbow": torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64),
}


def _mapped_parent(name: str, joints: dict[str, int]) -> str:
    """The nearest canonical ancestor of ``name`` that the rig has (the pelvis at worst)."""
    p = BODY_PARENTS[_INDEX[name]]
    while BODY_JOINTS[p] not in joints:
        p = BODY_PARENTS[p]
    return BODY_JOINTS[p]


def _bone_axis(name: str, template: torch.Tensor) -> torch.Tensor:
    """Unit direction of a canonical joint's bone in the T-pose (a leaf's: its parent's)."""
    c = _INDEX[name]
    chain = aim_chain(name)
    a, b = (c, _INDEX[chain[0]]) if chain else (BODY_PARENTS[c], c)
    d = template[b] - template[a]
    return d / d.norm()


def _angle_about(axis: torch.Tensor, frm: torch.Tensor, to: torch.Tensor) -> float:
    """Signed angle (radians) about unit ``axis`` from ``frm`` to ``to``, both projected off the axis."""
    u, v = frm - (frm @ axis) * axis, to - (to @ axis) * axis
    return math.atan2(float(axis @ torch.linalg.cross(u, v)), float(u @ v))


def _quarter_turn(R: torch.Tensor, axis: torch.Tensor, dead_zone_deg: float = 55.0) -> float:
    """The multiple of 90 degrees (radians) nearest the circular mean twist of ``R (T, 3, 3)`` about ``axis``;
    0 while the mean stays within ``dead_zone_deg``: a rig's convention is off by whole quarter turns, while a
    motion's own mean roll (an arm held turned) rarely passes 55 degrees, and must not flip the frame."""
    twist = _twist_angles(R, axis)
    mean = math.atan2(float(torch.sin(twist).mean()), float(torch.cos(twist).mean()))
    if abs(mean) < math.radians(dead_zone_deg):
        return 0.0
    return round(mean / (math.pi / 2)) * (math.pi / 2)


def bends(rotations: torch.Tensor, joint: str) -> torch.Tensor:
    """``(T, 3)`` rotation vectors of a canonical joint's bends: the swing of its local rotations
    ``(T, 3, 3)``, without their roll about its T-pose bone."""
    return _swing_rotvecs(rotations.double(), _bone_axis(joint, template_rest_joints("smpl")[: len(BODY_JOINTS)]))


def bend_axis(rotations: torch.Tensor, joint: str) -> torch.Tensor:
    """``(3,)`` the main axis of a canonical joint's bend over a motion, pointing the way it bends.

    The principal direction of the rotation vectors of the swing of ``rotations (T, 3, 3)`` (the joint's
    canonical local rotations without their roll about its bone: Bandai's elbows carry the forearm's roll,
    CMU's do not), centred (a constant offset does not tilt it), signed so that the mean bend is positive; for
    a joint held bent that hardly moves (less than 10 degrees of spread along it), the mean bend's direction.

    Example:
        >>> R = roma.rotvec_to_rotmat(torch.tensor([[0.1, 0, 0], [0.6, 0, 0], [0.9, 0, 0]], dtype=torch.float64))
        >>> [round(x, 2) for x in bend_axis(R, "left_knee").tolist()]  # the shin leans back a little in the T-pose
        [1.0, -0.05, -0.03]
    """
    r = bends(rotations, joint)
    axis = torch.linalg.svd(r - r.mean(0), full_matrices=False).Vh[0]
    if float((r @ axis).std()) < math.radians(10.0):  # held bent, hardly moving: the spread is noise, the bend is not
        axis = r.mean(0) / r.mean(0).norm().clamp_min(1e-12)
    return axis if float((r @ axis).mean()) >= 0 else -axis


def bone_axis(joint: str) -> torch.Tensor:
    """``(3,)`` float64 unit direction of a canonical joint's bone in the template T-pose (a leaf's: its
    parent's): the axis its twist turns about."""
    return _bone_axis(joint, template_rest_joints("smpl")[: len(BODY_JOINTS)])


def swing_twist_deg(R: torch.Tensor, axis: torch.Tensor) -> tuple[float, float]:
    """One rotation ``R (3, 3)`` as the angle of its swing (what moves the bone along unit ``axis``) and its
    signed twist about ``axis``, degrees (``R = swing @ twist``).

    Example:
        >>> R = roma.rotvec_to_rotmat(torch.tensor([0.0, 0.5, 0.0], dtype=torch.float64))
        >>> [round(x, 1) for x in swing_twist_deg(R, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))]
        [0.0, 28.6]
    """
    R = R.double()[None]
    twist = math.remainder(math.degrees(float(_twist_angles(R, axis)[0])), 360.0)  # (-180, 180]
    return math.degrees(float(_swing_rotvecs(R, axis).norm())), twist


def _swing_rotvecs(R: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """``(T, 3)`` rotation vectors of the swing of ``R (T, 3, 3)``: ``R`` without its twist about ``axis``
    (``R = swing @ twist``), the part that moves the bone along ``axis``."""
    q = roma.rotmat_to_unitquat(R)  # (x, y, z, w)
    twist = torch.cat([(q[..., :3] @ axis)[..., None] * axis, q[..., 3:]], dim=-1)
    twist = twist / twist.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return roma.unitquat_to_rotvec(roma.quat_product(q, roma.quat_conjugation(twist)))


def _twist_angles(R: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """``(T,)`` the twist about unit ``axis`` of rotations ``R (T, 3, 3)`` (swing-twist decomposition)."""
    q = roma.rotmat_to_unitquat(R)  # (x, y, z, w)
    return 2 * torch.atan2(q[..., :3] @ axis, q[..., 3])


def _known_ancestor(c: int, known: torch.Tensor) -> int:
    p = BODY_PARENTS[c]
    while not known[p]:
        p = BODY_PARENTS[p]
    return p


def _leg_length(X: torch.Tensor) -> float:
    total = 0.0
    for side in ("left", "right"):
        hip, knee, ankle = (X[_INDEX[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
        total += float((knee - hip).norm() + (ankle - knee).norm())
    return total / 2
