"""Move a motion from one rig to another through the canonical body: :func:`retarget`, with :func:`to_body`,
:func:`to_pose` and :func:`from_canonical` for the common directions.

Per frame, every canonical joint the source has gets its canonical global rotation ``W @ G_rig @ M_c``
(:mod:`poseprior.retarget.rig`); the target's joint takes ``W_t^T @ G_can @ M_t^T``. Then each target bone is
**aimed**: swung (smallest rotation) so that it points where the source's bone between the same canonical
joints points, which keeps bone directions exact when the rigs split a chain differently (a spine of two
joints against three, a hip joint hanging from an extra pelvis bone) and leaves the twist alone; the pelvis
aims its hip line. Joints the source lacks, and target joints with no canonical counterpart (twist, finger
and face bones), keep their rest rotation (identity local rotation). The root is placed so that the pelvis
follows the source's, scaled by the ratio of leg lengths (1 between a rig and its own canonical body).

The **up axis** of the source's world is found from the motion (the axis nearest to the mean pelvis-to-
chest direction over the frames), so a Z-up take comes out Y-up, as the canonical body is; pass ``up`` to
override. Facing and root translation are carried over.

Example:
    >>> body, report = to_body(read_motion("01_01.bvh"))  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    motionbuilder joint names; unit guessed from the body's size: asf (1.33 m from ankles to head); up +y
    >>> back = from_canonical(body, Rig.from_skeleton(original.skeleton), up=report.up)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from poseprior.errors import ValidationError
from poseprior.geometry import nearest_rotation, swing_between
from poseprior.io.motion import Motion
from poseprior.retarget.rig import Rig, aim_chain, foot_roll_deg, rig_profile
from poseprior.skeleton import end_site_positions, forward_kinematics
from poseprior.skeleton.smpl import BODY_JOINTS, POSE_JOINTS

__all__ = [
    "RetargetReport",
    "retarget",
    "to_body",
    "to_pose",
    "onto_joints",
    "keypoints_onto_pose",
    "from_canonical",
    "source_rig",
    "canonical_frames",
    "up_rotation",
    "detect_up",
    "motion_up",
    "AXES",
]

_INDEX = {n: i for i, n in enumerate(BODY_JOINTS)}
_BLOCK_FRAMES = 16_384
#: World up axes :func:`retarget` recognises.
AXES = ("+x", "-x", "+y", "-y", "+z", "-z")


@dataclass(frozen=True)
class RetargetReport:
    """What :func:`retarget` found out about the source, for one line of output.

    Attributes:
        rig: the source rig's description (naming, joints filled in, guessed unit).
        up: the source world's up axis (``"+y"``, ``"+z"``, ...).
        missing: canonical joints the source lacks (filled with the rest rotation; left out of metrics).
    """

    rig: str
    up: str
    missing: tuple[str, ...] = ()

    def __str__(self) -> str:
        turned = "" if self.up == "+y" else f"; {self.up[1].upper()}-up world turned Y-up"
        return f"{self.rig}{turned}"


def up_rotation(axis: str) -> torch.Tensor:
    """``(3, 3)`` float64: the rotation taking world axis ``axis`` (one of :data:`AXES`) to ``+y``, about
    ``x`` for ``z`` axes (Z-up to Y-up keeps ``x``), about ``z`` for ``x`` axes."""
    if axis not in AXES:
        raise ValidationError(f"up: expected one of {', '.join(AXES)}, got {axis!r}")
    v = torch.zeros(3, dtype=torch.float64)
    v["xyz".index(axis[1])] = 1.0 if axis[0] == "+" else -1.0
    y = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    if axis == "-y":
        return torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))
    return swing_between(v, y)


def source_rig(motion: Motion, mapping: dict[str, str] | str | Path | None = None) -> Rig:
    """The :class:`Rig` of a motion's skeleton, its unit guessed when the file states none (BVH), and its twists
    from the shipped profile of that rig (:func:`~poseprior.retarget.rig.rig_profile`: Bandai Namco's, so that
    its files are retargeted as the models' training data were), else calibrated on the motion itself
    (:meth:`Rig.calibrated`)."""
    where = str(motion.metadata.get("source", "motion"))
    rig = Rig.from_skeleton(
        motion.skeleton, motion.unit, mapping, source=where, guess_unit=bool(motion.metadata.get("unit_assumed"))
    )
    profile = rig_profile(motion.skeleton, rig.joint_map.convention)
    if profile is not None:
        return rig.with_profile(profile)
    step = _spread(motion.num_frames)
    rig = rig.calibrated(motion.rotations[step])
    if rig.t_pose:
        return rig
    some = motion.frames(step)
    return rig.with_feet_rolled(foot_roll_deg(*canonical_frames(some, rig), motion.fps / (step.step or 1), rig.unit))


def canonical_frames(motion: Motion, rig: Rig, up: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(T, 22, 3)`` positions and ``(T, 22, 3, 3)`` global rotations of the canonical body's joints for a
    motion on ``rig`` (retargeted onto the rig's own canonical body, in a Y-up world)."""
    body, _ = retarget(motion, Rig.from_skeleton(rig.body_skeleton(), rig.unit), rig, up=up)
    return forward_kinematics(body.skeleton, body.rotations, body.root_translation)


def _spread(T: int, most: int = 50_000) -> slice:
    """Every n-th frame, so that at most ``most`` are used: what characterises a long take's rig, in bounded memory."""
    return slice(None, None, max(1, -(-T // most)))


def retarget(
    motion: Motion,
    target: Rig,
    source: Rig | None = None,
    *,
    up: str | None = None,
    target_up: str = "+y",
    scale: float | None = None,
    template: Motion | None = None,
) -> tuple[Motion, RetargetReport]:
    """``motion`` on the ``target`` rig (see the module docstring).

    Args:
        motion: ``T`` frames on any mappable rig.
        target: the rig to move it onto (:meth:`Rig.from_skeleton`, or a canonical one from :func:`to_body`).
        source: the motion's rig, if already made (default :func:`source_rig`).
        up: the source world's up axis (default: found from the motion).
        target_up: the up axis of the target's world (``"+y"``: the canonical frame).
        scale: factor on the root's path (default: target over source leg length).
        template: ``T`` frames already on the target rig (the motion a fit or a denoised take came from):
            joints the source does not drive keep its local rotations (fingers, twist bones, a second neck
            joint) instead of the rest rotation, and its animated translations are kept.

    Returns:
        The motion on ``target`` (its unit, the source's frame rate, float64) and the :class:`RetargetReport`.
    """
    source = source_rig(motion) if source is None else source
    T, K = motion.num_frames, target.skeleton.num_joints
    if template is not None and (
        template.skeleton.joint_names != target.skeleton.joint_names or template.num_frames != T
    ):
        raise ValidationError(f"template: expected {T} frames on the target's {K} joints, got {template}")
    if T > _BLOCK_FRAMES:  # frame by frame but for the up axis and scale: a long take in blocks, in bounded memory
        up = motion_up(motion, source) if up is None else up
        if scale is None:
            scale = target.leg_length() * target.unit / (source.leg_length() * source.unit)
        first = rotations = root = translations = None
        for sl in (slice(a, a + _BLOCK_FRAMES) for a in range(0, T, _BLOCK_FRAMES)):  # filled in place: one copy
            part = retarget(
                motion.frames(sl),
                target,
                source,
                up=up,
                target_up=target_up,
                scale=scale,
                template=None if template is None else template.frames(sl),
            )[0]
            if first is None:
                first = part
                rotations, root = part.rotations.new_empty(T, K, 3, 3), part.root_translation.new_empty(T, 3)
                translations = None if part.translations is None else part.translations.new_empty(T, K, 3)
            rotations[sl], root[sl] = part.rotations, part.root_translation
            if translations is not None:
                translations[sl] = part.translations
        out = replace(first, rotations=rotations, root_translation=root, translations=translations)
        return out, RetargetReport(source.describe(), up, source.joint_map.missing)
    p, G = forward_kinematics(
        motion.skeleton, motion.rotations.double(), motion.root_translation.double(), _translations(motion)
    )
    points = _points(motion, source, p, G)
    up = detect_up(points) if up is None else up
    Wt = up_rotation(target_up).T @ up_rotation(up)  # source world -> target world
    if scale is None:
        scale = target.leg_length() * target.unit / (source.leg_length() * source.unit)
    points = points @ Wt.T * (scale * source.unit / target.unit)

    parents = list(target.skeleton.parents)
    if template is None:
        kept = torch.eye(3, dtype=torch.float64).expand(T, K, 3, 3)
        offsets = target.skeleton.offsets.expand(T, K, 3)
    else:
        kept = template.rotations.double()
        offsets = (
            target.skeleton.offsets.expand(T, K, 3) if template.translations is None else template.translations.double()
        )
    canonical_of = {j: name for name, j in target.joint_map.joints.items()}
    if template is not None:  # the template's canonical joints and joint frames, for its bones' directions
        tp, tG = forward_kinematics(target.skeleton, kept, None, offsets)
        tpoints = _points(template, target, tp, tG)
    globals_: list[torch.Tensor] = []
    for j in range(K):
        parent = parents[j]
        name = canonical_of.get(j)
        if name is None or name not in source.joint_map.joints:  # not driven: keep its local rotation
            globals_.append(kept[:, j] if parent < 0 else globals_[parent] @ kept[:, j])
            continue
        c = _INDEX[name]
        Gj = Wt @ G[:, source.joint_map.joints[name]] @ source.alignment[c] @ target.alignment[c].T
        aim = _aim(name, source.rest_points, target.rest_points)
        if aim is not None:
            frm, to = _INDEX[aim[0]], _INDEX[aim[1]]
            if template is None:
                bone = (target.rest_points[to] - target.rest_points[frm]).expand(T, 3)
            else:  # the template's bone in its joint's frame: the joints in between keep their rotations
                frame = tG[:, j].transpose(-1, -2)
                bone = (frame @ (tpoints[:, to] - tpoints[:, frm]).unsqueeze(-1)).squeeze(-1)
            Gj = swing_between((Gj @ bone.unsqueeze(-1)).squeeze(-1), points[:, to] - points[:, frm]) @ Gj
        globals_.append(Gj)
    Gt = torch.stack(globals_, dim=1) if K else torch.zeros(T, 0, 3, 3, dtype=torch.float64)
    local = Gt.clone()
    child = [j for j in range(K) if parents[j] >= 0]
    local[:, child] = Gt[:, [parents[j] for j in child]].transpose(-1, -2) @ Gt[:, child]

    # The root such that the pelvis lands on the source's.
    pelvis = target.joint_map.joints["pelvis"]
    above = torch.zeros(T, 3, dtype=torch.float64)
    j = pelvis
    while parents[j] != -1:
        above = above + (Gt[:, parents[j]] @ offsets[:, j].unsqueeze(-1)).squeeze(-1)
        j = parents[j]
    out = Motion(
        target.skeleton,
        nearest_rotation(local),  # products of many matrices drift off SO(3) by rounding
        points[:, _INDEX["pelvis"]] - above,
        motion.fps,
        unit=target.unit,
        translations=None if template is None else template.translations,
        metadata={"source": motion.metadata.get("source", "motion"), "retargeted_from": source.joint_map.convention},
    )
    return out, RetargetReport(source.describe(), up, source.joint_map.missing)


def to_body(
    motion: Motion, mapping: dict[str, str] | str | Path | None = None, *, up: str | None = None
) -> tuple[Motion, RetargetReport]:
    """``motion`` on the canonical body (SMPL's 22 joints) in the source's proportions, unit and world
    (turned Y-up). An SMPL-family motion comes out unchanged but for its hand and face joints."""
    rig = source_rig(motion, mapping)
    return retarget(motion, Rig.from_skeleton(rig.body_skeleton(), rig.unit), rig, up=up)


def to_pose(
    motion: Motion, mapping: dict[str, str] | str | Path | None = None, *, up: str | None = None
) -> tuple[Motion, RetargetReport]:
    """``motion`` on the pelvis and the 20 pose joints every poseprior model works on (the canonical body
    without ``spine2``, whose bend is composed into ``spine1``'s), in the source's proportions and unit."""
    rig = source_rig(motion, mapping)
    return retarget(motion, Rig.from_skeleton(rig.pose_skeleton(), rig.unit), rig, up=up)


def onto_joints(
    motion: Motion, names: tuple[str, ...], mapping: dict[str, str] | str | Path | None = None, rig: Rig | None = None
) -> tuple[Motion, Rig | None, RetargetReport | None]:
    """``motion`` as a model over joints ``names`` reads it: unchanged when its skeleton has them (then the
    rig and report are None), retargeted by :func:`to_pose` when ``names`` are the canonical pose joints and
    the skeleton lacks some, else unchanged (the caller's joint matching names what is missing).

    Args:
        rig: the motion's :class:`Rig` when already made (another motion of the same rig: both are then
            retargeted the same way); default :func:`source_rig`.

    Returns:
        The motion, the source :class:`Rig` (to write results back with :func:`from_canonical`) and the report.
    """
    if all(n in motion.skeleton.joint_names for n in names) or set(names) != set(POSE_JOINTS):
        return motion, None, None
    rig = source_rig(motion, mapping) if rig is None else rig
    pose, report = retarget(motion, Rig.from_skeleton(rig.pose_skeleton(), rig.unit), rig)
    return pose, rig, report


def keypoints_onto_pose(positions: torch.Tensor, names: tuple[str, ...], rig: Rig) -> tuple[torch.Tensor, torch.Tensor]:
    """Keypoints named as a rig's joints, as targets for the canonical pose joints of :meth:`Rig.pose_skeleton`.

    Args:
        positions: ``(T, J, D)`` keypoints (3D, or 2D pixels), in the rig's world and unit.
        names: their ``J`` names, the rig's joint names (others are ignored).
        rig: the rig.

    Returns:
        ``values (T, 21, D)`` (NaN where absent) and ``found (21,)`` bool: which of the pelvis and the 20 pose
        joints a keypoint gives. The rig's canonical joints sit exactly at its joints, so the keypoints are
        exact targets for the pose skeleton in the rig's proportions.
    """
    index = {n: i for i, n in enumerate(names)}
    pose = ("pelvis", *POSE_JOINTS)
    values = positions.new_full((positions.shape[0], len(pose), positions.shape[-1]), float("nan"))
    found = torch.zeros(len(pose), dtype=torch.bool)
    for k, name in enumerate(pose):
        j = rig.joint_map.joints.get(name)
        if j is not None and rig.skeleton.joint_names[j] in index:
            values[:, k] = positions[:, index[rig.skeleton.joint_names[j]]]
            found[k] = True
    return values, found


def from_canonical(
    motion: Motion, target: Rig, *, up: str = "+y", scale: float | None = None, template: Motion | None = None
) -> Motion:
    """A canonical motion (body or pose joints) back on ``target``, in a world whose up axis is ``up`` (the
    ``up`` of the report that brought the motion in, to write it back where it came from); ``template``: the
    original motion on ``target``, whose joints outside the canonical body keep their rotations (see
    :func:`retarget`)."""
    source = Rig.from_skeleton(motion.skeleton, motion.unit)
    return retarget(motion, target, source, up="+y", target_up=up, scale=scale, template=template)[0]


def motion_up(motion: Motion, rig: Rig | None = None) -> str:
    """The up axis (one of :data:`AXES`) of a motion's world, from its frames (``"+y"`` without frames)."""
    rig = source_rig(motion) if rig is None else rig
    motion = motion.frames(_spread(motion.num_frames))
    p, G = forward_kinematics(
        motion.skeleton, motion.rotations.double(), motion.root_translation.double(), _translations(motion)
    )
    return detect_up(_points(motion, rig, p, G))


def detect_up(points: torch.Tensor) -> str:
    """The world axis (one of :data:`AXES`) nearest the mean direction from the pelvis to the chest (or the
    highest trunk joint a rig has) over frames ``points (T, 22, 3)``."""
    for top in ("spine3", "neck", "head", "spine2"):
        v = points[:, _INDEX[top]] - points[:, _INDEX["pelvis"]]
        if not torch.isnan(v).any():
            break
    if points.shape[0] == 0:
        return "+y"
    v = (v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)).mean(0)
    i = int(v.abs().argmax())
    return ("+" if float(v[i]) >= 0 else "-") + "xyz"[i]


def _aim(name: str, source: torch.Tensor, target: torch.Tensor) -> tuple[str, str] | None:
    """The canonical bone ``(from, to)`` that joint ``name`` is aimed along: the nearest joint down its chain
    that both rigs have (rest points ``(22, 3)``, NaN where absent), so that a joint a rig lacks has its bend
    composed into the one above; the pelvis aims its hip line.

    None when a rig has that joint at ``name``'s own place (CMU's BVH and 3ds Max exports start the neck at
    the chest): ``name`` then has no bone of its own, and aiming it further down would copy the next joint's
    bend into it (the neck's into the chest). It keeps the rotation its own channels give it."""
    if name == "pelvis":
        ends = ("right_hip", "left_hip")
        return ends if all(_apart(source, target, *ends)) else None
    for to in aim_chain(name):
        if any(torch.isnan(points[_INDEX[to]]).any() for points in (source, target)):
            continue
        return (name, to) if all(_apart(source, target, name, to)) else None
    return None


def _apart(source: torch.Tensor, target: torch.Tensor, a: str, b: str) -> tuple[bool, bool]:
    out = []
    for points in (source, target):
        d = points[_INDEX[b]] - points[_INDEX[a]]
        out.append(not torch.isnan(d).any() and float(d.norm()) > 1e-9 * max(1.0, float(points[_INDEX[a]].abs().max())))
    return tuple(out)


def _points(motion: Motion, rig: Rig, p: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """``(T, 22, 3)`` the canonical joints' positions in the source (end-site stand-ins included), NaN where
    the rig has neither."""
    T = motion.num_frames
    out = torch.full((T, len(BODY_JOINTS), 3), float("nan"), dtype=torch.float64)
    for name, j in rig.joint_map.joints.items():
        out[:, _INDEX[name]] = p[:, j]
    if rig.joint_map.end_points:
        ends = end_site_positions(motion.skeleton, p, G)
        for name, e in rig.joint_map.end_points.items():
            out[:, _INDEX[name]] = ends[:, e]
    return out


def _translations(motion: Motion) -> torch.Tensor | None:
    return None if motion.translations is None else motion.translations.double()
