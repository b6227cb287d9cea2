"""Which joint of a rig is which joint of the canonical body: name conventions, the spine by structure,
and mapping files written by hand.

The canonical body is SMPL's 22-joint tree (:data:`~poseprior.skeleton.smpl.BODY_JOINTS`). A rig's limbs and
head are found by name, one convention at a time (the one that places the most joints wins):

==============  ===========================================================================================
convention      left leg / left arm / head, as spelled by the convention
==============  ===========================================================================================
``smpl``        ``left_hip left_knee left_ankle left_foot`` / ``left_collar left_shoulder left_elbow
                left_wrist`` / ``head`` (SMPL, SMPL-H, SMPL-X; the spine and pelvis by name too)
``bandai``      ``UpperLeg_L LowerLeg_L Foot_L Toes_L`` / ``Shoulder_L UpperArm_L LowerArm_L Hand_L`` / ``Head``
``motionbuilder``  ``LeftUpLeg LeftLeg LeftFoot LeftToeBase`` / ``LeftShoulder LeftArm LeftForeArm
                LeftHand`` / ``Head`` (CMU BVH, Mixamo with any ``mixamorig:`` prefix, Human3.6M's skeleton)
``3dsmax``      ``LeftHip LeftKnee LeftAnkle LeftToe`` / ``LeftCollar LeftShoulder LeftElbow LeftWrist`` /
                ``Head`` (CMU BVH in 3ds Max naming)
``asf``         ``lfemur ltibia lfoot ltoes`` / ``lclavicle lhumerus lradius lwrist`` / ``head`` (CMU, HDM05)
``reallusion``  ``CC_Base_L_Thigh CC_Base_L_Calf CC_Base_L_Foot CC_Base_L_ToeBase`` / ``CC_Base_L_Clavicle
                CC_Base_L_Upperarm CC_Base_L_Forearm CC_Base_L_Hand`` / ``CC_Base_Head`` (twist, finger and
                face bones are left unmapped)
``blender``     ``thigh.L shin.L foot.L toe.L`` / ``shoulder.L upper_arm.L forearm.L hand.L`` / ``head``,
                ``spine.006`` or ``face`` (Rigify, with or without ``DEF-``; ReActIdle)
``h36m``        ``LHip LKnee LFoot`` / ``LShoulder LElbow LWrist`` / ``Head``; ``Hip``, ``Spine``,
                ``Thorax``, ``Neck/Nose`` (Human3.6M's 17 keypoints)
==============  ===========================================================================================

Names are compared without case and without a namespace (``mixamorig:``, ``Armature|``) or a Rigify layer
prefix (``DEF-``). Where a convention does not name them, the trunk joints come from the tree: the
**pelvis** is the lowest joint above both thighs and the chest; the **chest** (``spine3``) the lowest joint
above the head and both upper arms; the joints between them are the spine, bottom to top: ``spine1`` the
first, ``spine3`` the last, ``spine2`` the middle one (with two, ``spine2`` is missing; further ones are
left unmapped, so their rotation is composed into their neighbours'); ``neck`` is the first joint from the
chest towards the head.

Anything else is mapped by a **mapping file**: one ``canonical = rig joint`` pair per line, ``#`` comments::

    # my_rig.map: canonical joint = joint in my rig
    pelvis = root
    left_hip = thigh_l
    left_knee = calf_l

Entries of the file take precedence; the rest is found as above.

Example:
    >>> from poseprior.skeleton.smpl import body_skeleton
    >>> m = find_joint_map(body_skeleton())
    >>> m.convention, m.joints["spine3"], m.missing
    ('smpl', 9, ())
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from poseprior.errors import FormatError, ValidationError
from poseprior.skeleton import Skeleton
from poseprior.skeleton.smpl import BODY_JOINTS, BODY_PARENTS

__all__ = ["CONVENTIONS", "REQUIRED", "JointMap", "find_joint_map", "map_point_names", "read_joint_map_file"]

_ROLES = ("hip", "knee", "ankle", "foot", "collar", "shoulder", "elbow", "wrist")
_TRUNK = ("pelvis", "spine1", "spine2", "spine3", "neck")

#: Canonical joints a rig must have: without them no pose can be placed on the body.
REQUIRED: tuple[str, ...] = (
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
)  # fmt: skip


@dataclass(frozen=True)
class _Convention:
    """Name templates of one convention: ``{s}`` is the side, spelt ``sides`` (left, right)."""

    sides: tuple[str, str]
    limbs: tuple[str, ...]  # one template per role of _ROLES, "" when the convention has no such joint
    head: tuple[str, ...]
    trunk: dict[str, str] = field(default_factory=dict)  # trunk joints named outright (else by structure)
    loose_trunk: dict[str, str] = field(default_factory=dict)  # the trunk's usual names, for points with no tree


#: The name conventions :func:`find_joint_map` knows, in the order ties are broken.
CONVENTIONS: dict[str, _Convention] = {
    "smpl": _Convention(("left", "right"), tuple(f"{{s}}_{r}" for r in _ROLES), ("head",), {n: n for n in _TRUNK}),
    "bandai": _Convention(
        ("L", "R"),
        (
            "UpperLeg_{s}",
            "LowerLeg_{s}",
            "Foot_{s}",
            "Toes_{s}",
            "Shoulder_{s}",
            "UpperArm_{s}",
            "LowerArm_{s}",
            "Hand_{s}",
        ),
        ("Head",),
        loose_trunk={"pelvis": "Hips", "spine1": "Spine", "spine3": "Chest", "neck": "Neck"},
    ),
    "motionbuilder": _Convention(
        ("Left", "Right"),
        ("{s}UpLeg", "{s}Leg", "{s}Foot", "{s}ToeBase", "{s}Shoulder", "{s}Arm", "{s}ForeArm", "{s}Hand"),
        ("Head",),
        loose_trunk={"pelvis": "Hips", "neck": "Neck"},
    ),
    "3dsmax": _Convention(
        ("Left", "Right"),
        ("{s}Hip", "{s}Knee", "{s}Ankle", "{s}Toe", "{s}Collar", "{s}Shoulder", "{s}Elbow", "{s}Wrist"),
        ("Head",),
        loose_trunk={
            "pelvis": "Hips",
            "spine1": "lowerback",
            "spine2": "Chest",
            "spine3": "Chest2",
            "neck": "lowerneck",
        },
    ),
    "asf": _Convention(
        ("l", "r"),
        ("{s}femur", "{s}tibia", "{s}foot", "{s}toes", "{s}clavicle", "{s}humerus", "{s}radius", "{s}wrist"),
        ("head",),
        loose_trunk={
            "pelvis": "root",
            "spine1": "lowerback",
            "spine2": "upperback",
            "spine3": "thorax",
            "neck": "lowerneck",
        },
    ),
    "reallusion": _Convention(
        ("L", "R"),
        tuple(
            f"CC_Base_{{s}}_{n}"
            for n in ("Thigh", "Calf", "Foot", "ToeBase", "Clavicle", "Upperarm", "Forearm", "Hand")
        ),
        ("CC_Base_Head",),
        loose_trunk={
            "pelvis": "CC_Base_Hip",
            "spine1": "CC_Base_Waist",
            "spine2": "CC_Base_Spine01",
            "spine3": "CC_Base_Spine02",
            "neck": "CC_Base_NeckTwist01",
        },
    ),
    "blender": _Convention(
        ("L", "R"),
        ("thigh.{s}", "shin.{s}", "foot.{s}", "toe.{s}", "shoulder.{s}", "upper_arm.{s}", "forearm.{s}", "hand.{s}"),
        ("head", "spine.006", "face"),
        loose_trunk={"pelvis": "pelvis", "neck": "neck"},
    ),
    "h36m": _Convention(
        ("L", "R"),
        ("{s}Hip", "{s}Knee", "{s}Foot", "", "", "{s}Shoulder", "{s}Elbow", "{s}Wrist"),
        ("Head",),
        {"pelvis": "Hip", "spine1": "Spine", "spine3": "Thorax", "neck": "Neck/Nose"},
    ),
}

_PREFIX = re.compile(r"^(?:.*[:|])?(?:(?:DEF|ORG|MCH)-)?")


def _key(name: str) -> str:
    """A joint name as compared: no namespace, no Rigify layer prefix, lower case."""
    return _PREFIX.sub("", name, count=1).lower()


@dataclass(frozen=True)
class JointMap:
    """Where the canonical body's joints are in one rig.

    Attributes:
        convention: the name convention that placed the limbs (``"file"`` when a mapping file placed all).
        joints: canonical joint name -> index of the rig joint whose local rotation it takes.
        end_points: canonical joint name -> index (among the rig's end sites) of an end site that marks where
            a joint the rig lacks would be (ReActIdle's forearm ends where a wrist would be).
        missing: the canonical joints the rig lacks (no rotation: retargeting fills them with the rest
            rotation, and metrics leave them out), in body order.
    """

    convention: str
    joints: dict[str, int]
    end_points: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    def describe(self, skeleton: Skeleton) -> str:
        """One line: the convention, and what is missing."""
        text = f"{self.convention} joint names"
        if self.missing:
            text += f"; no {', '.join(self.missing)} (filled with the rest rotation, left out of metrics)"
        return text


def read_joint_map_file(path: str | Path) -> dict[str, tuple[str, int]]:
    """A mapping file's entries: canonical name -> (rig joint name, line number). See the module docstring.

    Raises:
        FormatError: naming the file and line: a line that is not ``canonical = joint``, an unknown
            canonical name (with the closest ones), or a canonical joint given twice.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError(path, "no such mapping file") from None
    except IsADirectoryError:
        raise FormatError(path, "is a folder, not a mapping file") from None
    except UnicodeDecodeError as e:
        raise FormatError(path, f"not a text file: {e}") from None
    entries: dict[str, tuple[str, int]] = {}
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.count("=") != 1:
            raise FormatError(path, f"expected 'canonical_joint = rig_joint', got {raw.strip()!r}", line_no)
        canonical, joint = (s.strip() for s in line.split("="))
        if canonical not in BODY_JOINTS:
            close = difflib.get_close_matches(canonical, BODY_JOINTS, n=3)
            hint = f" (closest: {', '.join(close)})" if close else f"; canonical joints: {', '.join(BODY_JOINTS)}"
            raise FormatError(path, f"{canonical!r} is not a canonical joint{hint}", line_no)
        if not joint:
            raise FormatError(path, f"no rig joint given for {canonical!r}", line_no)
        if canonical in entries:
            raise FormatError(path, f"{canonical!r} is mapped twice (first on line {entries[canonical][1]})", line_no)
        entries[canonical] = (joint, line_no)
    if not entries:
        raise FormatError(path, "no 'canonical_joint = rig_joint' lines")
    return entries


def find_joint_map(
    skeleton: Skeleton,
    mapping: dict[str, str] | str | Path | None = None,
    source: str = "skeleton",
) -> JointMap:
    """Place the canonical body's joints on ``skeleton`` (see the module docstring for the rules).

    Args:
        skeleton: the rig.
        mapping: canonical name -> rig joint name (a dict, or a mapping file's path); its entries win.
        source: how errors name the rig (its file).

    Raises:
        ValidationError: a joint of :data:`REQUIRED` cannot be placed: the message names them and the rig's
            closest names; or a mapping names a joint the rig does not have.
    """
    keyed: dict[str, int] = {}
    for j, name in enumerate(skeleton.joint_names):
        keyed.setdefault(_key(name), j)
    given: dict[str, int] = {}
    if mapping is not None:
        given = _resolve_mapping(skeleton, mapping, source)
    # The convention that places the most limb joints (a mapping file's joints count for every one).
    best_name, best = "file", {}
    for name, conv in CONVENTIONS.items():
        found = _by_convention(conv, keyed)
        if len(found) > len(best):
            best_name, best = name, found
    joints = {**best, **given}
    if given and not best:
        best_name = "file"
    conv = CONVENTIONS.get(best_name)
    missing_required = [n for n in REQUIRED if n not in joints]
    if missing_required:
        raise ValidationError(_unplaced_message(skeleton, missing_required, conv, source))
    _place_trunk(skeleton, joints, given, conv)
    end_points = _end_points(skeleton, joints)
    missing = tuple(n for n in BODY_JOINTS if n not in joints)
    return JointMap(
        best_name, dict(sorted(joints.items(), key=lambda kv: BODY_JOINTS.index(kv[0]))), end_points, missing
    )


def map_point_names(names: tuple[str, ...] | list[str]) -> dict[str, int]:
    """Canonical joint name -> index among ``names``, for points named after some rig's joints but without its
    tree (keypoints): limbs and head by the best naming convention, the trunk by its usual names in that
    convention (a spine that only a tree could tell apart stays unplaced)."""
    keyed: dict[str, int] = {}
    for i, name in enumerate(names):
        keyed.setdefault(_key(name), i)
    best: dict[str, int] = {}
    for conv in CONVENTIONS.values():
        found = _by_convention(conv, keyed)
        if len(found) > len(best):
            best = {
                **found,
                **{c: keyed[_key(n)] for c, n in conv.loose_trunk.items() if _key(n) in keyed and c not in found},
            }
    return best


def _resolve_mapping(skeleton: Skeleton, mapping: dict[str, str] | str | Path, source: str) -> dict[str, int]:
    if isinstance(mapping, (str, Path)):
        path = Path(mapping)
        entries = read_joint_map_file(path)
        where = {c: f"{path}, line {line}" for c, (_, line) in entries.items()}
        names = {c: n for c, (n, _) in entries.items()}
    else:
        names = dict(mapping)
        where = {c: "mapping" for c in names}
        unknown = [c for c in names if c not in BODY_JOINTS]
        if unknown:
            raise ValidationError(
                f"mapping: {unknown} are not canonical joints; canonical joints: {', '.join(BODY_JOINTS)}"
            )
    out = {}
    for canonical, name in names.items():
        if name not in skeleton.joint_names:
            close = difflib.get_close_matches(name, skeleton.joint_names, n=3, cutoff=0.5)
            hint = f" (closest: {', '.join(close)})" if close else ""
            raise ValidationError(f"{where[canonical]}: {source} has no joint {name!r} for {canonical}{hint}")
        out[canonical] = skeleton.joint_names.index(name)
    return out


def _by_convention(conv: _Convention, keyed: dict[str, int]) -> dict[str, int]:
    """Canonical name -> joint index of the limbs, head and named trunk joints a convention finds."""
    found = {}
    for side, spelt in zip(("left", "right"), conv.sides, strict=False):
        for role, template in zip(_ROLES, conv.limbs, strict=False):
            if template and (j := keyed.get(_key(template.format(s=spelt)))) is not None:
                found[f"{side}_{role}"] = j
    for head in conv.head:
        if (j := keyed.get(_key(head))) is not None:
            found["head"] = j
            break
    if (
        len(found) >= 4
    ):  # a convention's trunk names count only where its limbs are there too ("Spine1" is no SMPL spine1)
        for canonical, name in conv.trunk.items():
            if (j := keyed.get(_key(name))) is not None:
                found[canonical] = j
    return found


def _ancestors(skeleton: Skeleton, j: int) -> list[int]:
    """``j`` and its ancestors, from ``j`` up to the root."""
    out = [j]
    while skeleton.parents[out[-1]] != -1:
        out.append(skeleton.parents[out[-1]])
    return out


def _lowest_common_ancestor(skeleton: Skeleton, joints: list[int]) -> int:
    common = set(_ancestors(skeleton, joints[0]))
    for j in joints[1:]:
        common &= set(_ancestors(skeleton, j))
    return max(common)  # topological order: the deepest common ancestor has the largest index


def _place_trunk(skeleton: Skeleton, joints: dict[str, int], given: dict[str, int], conv: _Convention | None) -> None:
    """Fill in the pelvis, spine and neck from the tree where no name placed them (in place)."""
    top = joints.get("head", joints.get("neck"))
    arms = [joints.get(f"{s}_collar", joints[f"{s}_shoulder"]) for s in ("left", "right")]
    if "spine3" not in joints:
        chest = _lowest_common_ancestor(skeleton, arms + ([top] if top is not None else []))
        if chest not in joints.values():
            joints["spine3"] = chest
    chest = joints.get("spine3")
    if "pelvis" not in joints:
        legs = [joints["left_hip"], joints["right_hip"]] + ([chest] if chest is not None else [])
        joints["pelvis"] = _lowest_common_ancestor(skeleton, legs)
    pelvis = joints["pelvis"]
    named_spine = any(n in joints for n in ("spine1", "spine2"))
    if chest is not None and not named_spine:
        below_pelvis = set(_ancestors(skeleton, pelvis))
        chain = [j for j in _ancestors(skeleton, chest) if j not in below_pelvis][::-1]  # bottom to top
        if chain and chain[-1] == chest:
            if len(chain) >= 2:
                joints["spine1"] = chain[0]
            if len(chain) >= 3:
                joints["spine2"] = chain[len(chain) // 2] if len(chain) > 3 else chain[1]
    if "neck" not in joints and chest is not None and "head" in joints:
        path = _ancestors(skeleton, joints["head"])[1:]
        if chest in path:
            between = path[: path.index(chest)]
            if between:
                joints["neck"] = between[-1]
    taken: dict[int, str] = {}
    for canonical, j in list(joints.items()):
        if j in taken and canonical not in given:
            del joints[canonical]  # a joint takes one role: the first placed keeps it
        else:
            taken.setdefault(j, canonical)


def _end_points(skeleton: Skeleton, joints: dict[str, int]) -> dict[str, int]:
    """End sites standing in for leaf joints the rig lacks (a forearm's end for the wrist, a foot's for the
    toes, a neck's for the head)."""
    leaf_of = {
        "left_wrist": "left_elbow",
        "right_wrist": "right_elbow",
        "left_foot": "left_ankle",
        "right_foot": "right_ankle",
        "head": "neck",
    }
    out = {}
    for leaf, parent in leaf_of.items():
        if leaf in joints or parent not in joints:
            continue
        j = joints[parent]
        ends = [e for e, p in enumerate(skeleton.end_site_parents) if p == j]
        if len(ends) == 1 and not skeleton.children(j) and float(skeleton.end_site_offsets[ends[0]].norm()) > 0:
            out[leaf] = ends[0]
    return out


def _unplaced_message(skeleton: Skeleton, names: list[str], conv: _Convention | None, source: str) -> str:
    hints = []
    for name in names:
        # The rig's names nearest to what any convention (the best one first) would call the joint.
        expected = [_expected_name(name, c) for c in ([conv] if conv is not None else []) + list(CONVENTIONS.values())]
        scored = {}
        for e in [*expected, name]:
            for n in difflib.get_close_matches(e, skeleton.joint_names, n=2, cutoff=0.6):
                scored[n] = max(scored.get(n, 0.0), difflib.SequenceMatcher(None, e, n).ratio())
        close = sorted(scored, key=scored.get, reverse=True)[:2]
        hints.append(f"{name} (closest: {', '.join(close)})" if close else name)
    return (
        f"{source}: cannot place {', '.join(hints)} on this {skeleton.num_joints}-joint skeleton; its joints are not in "
        f"a known naming convention ({', '.join(CONVENTIONS)}): write a mapping file (see docs/conventions.md) and pass it with --map"
    )


def _expected_name(canonical: str, conv: _Convention) -> str:
    side, _, role = canonical.partition("_")
    if role in _ROLES:
        template = conv.limbs[_ROLES.index(role)]
        return template.format(s=conv.sides[0 if side == "left" else 1]) if template else canonical
    return conv.trunk.get(canonical, conv.head[0] if canonical == "head" else canonical)


assert len(BODY_PARENTS) == len(BODY_JOINTS)
