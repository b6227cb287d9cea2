"""Keypoint layouts (Human3.6M 17, COCO 17) and maps from the known skeletons' joints to them.

A :class:`KeypointLayout` is an ordered set of named keypoints with drawing edges and a left-right mirror.
A :class:`KeypointMap` says how to get each keypoint of a layout from one skeleton's joints: each keypoint is
an affine combination (weights summing to 1) of joint positions, and, where the skeleton has a better point,
of end sites (the ``"<joint>/end"`` terms, with a joints-only fallback when no end sites are given).
Affine combinations commute with rigid motions and scaling, so the keypoints follow the body exactly like
the joints do.

Known joint sets (detected from the skeleton's joint names by :func:`layout_map_for`):

- ``bandai``: the Bandai Namco Research Motiondataset (``joint_Root``, ``Hips``, ``Spine``, ``Chest``,
  ``Neck``, ``Head``, ``Shoulder_L``, ``UpperArm_L``, ``LowerArm_L``, ``Hand_L``, ``UpperLeg_L``, ...).
- ``cmu_bvh``: the CMU BVH conversion (``Hips``, ``LHipJoint``, ``LeftUpLeg``, ..., ``Spine1``, ``Neck1``).
- ``cmu_asf``: CMU ASF bones (``root``, ``lfemur``, ``ltibia``, ...), a joint named after a bone sitting at
  the bone's start (``lfemur`` is the hip, ``ltibia`` the knee).
- ``smpl``: the body joints shared by SMPL, SMPL-H and SMPL-X (``pelvis``, ``left_hip``, ...).
- ``smpl_pose``: the canonical pose joints (:data:`~poseprior.skeleton.smpl.POSE_JOINTS`: SMPL's body without
  ``spine2``), as ``smpl`` but for the H36M spine point, midway between ``spine1`` and ``spine3``.

Where a keypoint has no joint, the map approximates it. With only joint positions there is no head
orientation, so face points sit on the neck-to-head line, moved sideways along the shoulder line (they are
not moved forward: expect 5-10 cm on the nose and eyes). Below, ``up`` is the set's head joint minus its
neck joint (``Head - Neck``, ``Head - Neck1``, ``head - upperneck``, ``head - neck``) and ``side`` its left
minus right shoulder joint; the weights were set from standing and T-poses of each set so that the face
lands at adult proportions (eyes about 63 mm apart, ears 150 mm).

================  ==========================  ==========================  ===========================  =========================
keypoint          bandai                      cmu_bvh                     cmu_asf                      smpl
================  ==========================  ==========================  ===========================  =========================
H36M Hip          Hips                        Hips                        root                         pelvis
H36M Spine        (Spine + Chest) / 2         (Spine + Spine1) / 2        (upperback + thorax) / 2     spine2
H36M Thorax       Neck                        Neck1                       (lowerneck + upperneck) / 2  neck
H36M Neck/Nose    Head                        Head                        head                         head
H36M Head         Head + 1.65 up              Head end site               head end site                head + 1.25 up
                                              (no end sites: Head + up)   (no end sites: head + up)
COCO nose         Head + 1.2 up               Head                        head                         head + .5 up
COCO eyes         Head + 1.5 up +- .155 side  Head + .25 up +- .087 side  head + .25 up +- .087 side   head + .75 up +- .09 side
COCO ears         Head + .9 up +- .37 side    Head + .05 up +- .2 side    head + .05 up +- .2 side     head + .35 up +- .2 side
hip, knee, ankle  UpperLeg_X, LowerLeg_X,     XUpLeg, XLeg, XFoot         xfemur, xtibia, xfoot        x_hip, x_knee, x_ankle
                  Foot_X
shoulder, elbow,  UpperArm_X, LowerArm_X,     XArm, XForeArm, XHand       xhumerus, xradius, xwrist    x_shoulder, x_elbow,
wrist             Hand_X                                                                               x_wrist
================  ==========================  ==========================  ===========================  =========================

(``X`` is ``L``/``R``, ``Left``/``Right`` or ``l``/``r``, ``left``/``right`` as each set spells sides.)

The CMU BVH conversion drops the ASF thorax bone (``Neck`` sits on ``Spine1``), which is why its torso
keypoints differ from the ASF ones. The Bandai files' end sites have zero length, so no Bandai keypoint
uses them. COCO hips are the hip joints (not the pelvis' outline, a few centimetres higher and wider).

Example:
    >>> H36M17.joint_names[:4]
    ('Hip', 'RHip', 'RKnee', 'RFoot')
    >>> get_layout("coco17").mirror[:3]
    (0, 2, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from poseprior.errors import ValidationError
from poseprior.skeleton.skeleton import Skeleton

__all__ = [
    "KeypointLayout",
    "KeypointMap",
    "H36M17",
    "COCO17",
    "LAYOUTS",
    "END_SITE",
    "JOINT_SETS",
    "get_layout",
    "layout_map_for",
    "keypoints_from_positions",
]

#: Suffix of a map term that names a joint's end site rather than the joint: ``"Head/end"``.
END_SITE = "/end"

Terms = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class KeypointLayout:
    """An ordered set of ``J`` named keypoints.

    Attributes:
        name: short name (``"h36m17"``).
        joint_names: ``J`` keypoint names, in the layout's order.
        edges: pairs of keypoint indices to draw as bones.
        mirror: for each keypoint, the index of its left-right counterpart (itself on the midline).
        parents: a kinematic tree over the keypoints (``-1`` for the root), when the layout has one.
    """

    name: str
    joint_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    mirror: tuple[int, ...]
    parents: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        J = len(self.joint_names)
        if len(set(self.joint_names)) != J:
            raise ValidationError(f"joint_names: duplicate keypoint names in layout {self.name!r}")
        if sorted(self.mirror) != list(range(J)) or any(self.mirror[self.mirror[j]] != j for j in range(J)):
            raise ValidationError(f"mirror: must be an involutive permutation of the {J} keypoints")
        if any(not (0 <= a < J and 0 <= b < J) for a, b in self.edges):
            raise ValidationError(f"edges: index out of range for {J} keypoints")
        if self.parents is not None and (len(self.parents) != J or any(not -1 <= p < J for p in self.parents)):
            raise ValidationError(f"parents: expected {J} indices in [-1, {J})")

    @property
    def num_joints(self) -> int:
        """``J``."""
        return len(self.joint_names)

    def index(self, name: str) -> int:
        """Index of keypoint ``name``."""
        if name not in self.joint_names:
            raise ValidationError(
                f"keypoint {name!r} is not in layout {self.name}; keypoints: {', '.join(self.joint_names)}"
            )
        return self.joint_names.index(name)


def _tree_edges(parents: Sequence[int]) -> tuple[tuple[int, int], ...]:
    return tuple((p, j) for j, p in enumerate(parents) if p >= 0)


_H36M_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

#: Human3.6M's 17 joints in the order of VideoPose3D and Martinez et al. (indices
#: ``0 1 2 3 6 7 8 12 13 14 15 17 18 19 25 26 27`` of the 32 in the dataset).
H36M17 = KeypointLayout(
    name="h36m17",
    joint_names=(
        "Hip",
        "RHip",
        "RKnee",
        "RFoot",
        "LHip",
        "LKnee",
        "LFoot",
        "Spine",
        "Thorax",
        "Neck/Nose",
        "Head",
        "LShoulder",
        "LElbow",
        "LWrist",
        "RShoulder",
        "RElbow",
        "RWrist",
    ),  # fmt: skip
    edges=_tree_edges(_H36M_PARENTS),
    mirror=(0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13),
    parents=_H36M_PARENTS,
)

#: The 17 COCO person keypoints, with the COCO skeleton's edges.
COCO17 = KeypointLayout(
    name="coco17",
    joint_names=(
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),  # fmt: skip
    edges=(
        (15, 13),
        (13, 11),
        (16, 14),
        (14, 12),
        (11, 12),
        (5, 11),
        (6, 12),
        (5, 6),
        (5, 7),
        (6, 8),
        (7, 9),
        (8, 10),
        (1, 2),
        (0, 1),
        (0, 2),
        (1, 3),
        (2, 4),
        (3, 5),
        (4, 6),
    ),  # fmt: skip
    mirror=(0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15),
)

#: Layouts by name; :func:`get_layout` also takes VideoPose3D's ``layout_name`` values ``h36m`` and ``coco``.
LAYOUTS: dict[str, KeypointLayout] = {"h36m17": H36M17, "coco17": COCO17}
_ALIASES = {"h36m": "h36m17", "coco": "coco17"}


def get_layout(name: str | KeypointLayout) -> KeypointLayout:
    """The layout called ``name`` (``"h36m17"``, ``"coco17"``; case-insensitive), or ``name`` itself."""
    if isinstance(name, KeypointLayout):
        return name
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in LAYOUTS:
        raise ValidationError(f"layout: unknown keypoint layout {name!r}; known: {', '.join(LAYOUTS)}")
    return LAYOUTS[key]


@dataclass(frozen=True)
class KeypointMap:
    """How a layout's keypoints come from the joints of one known joint set.

    Attributes:
        layout: the target layout (``J`` keypoints).
        joint_set: the source joint set's name (``"bandai"``, ``"cmu_bvh"``, ``"cmu_asf"``, ``"smpl"``).
        terms: per keypoint, ``(source, weight)`` pairs with weights summing to 1; a source is a joint name
            or ``"<joint>/end"`` for that joint's end site.
        fallbacks: per keypoint, joints-only terms used when no end sites are given (``None`` when
            ``terms`` has no end site).
        notes: per keypoint, how it is approximated (``""`` when it is a joint).
    """

    layout: KeypointLayout
    joint_set: str
    terms: tuple[Terms, ...]
    fallbacks: tuple[Terms | None, ...]
    notes: tuple[str, ...]

    def __post_init__(self) -> None:
        J = self.layout.num_joints
        if not len(self.terms) == len(self.fallbacks) == len(self.notes) == J:
            raise ValidationError(f"terms, fallbacks, notes: expected {J} entries each")
        for terms in (*self.terms, *(f for f in self.fallbacks if f is not None)):
            if abs(sum(w for _, w in terms) - 1.0) > 1e-9:
                raise ValidationError(f"terms: weights must sum to 1 (an affine combination), got {terms}")

    def required_joints(self) -> set[str]:
        """The joints the joints-only definitions need (what a skeleton must have for this map)."""
        names = set()
        for terms, fallback in zip(self.terms, self.fallbacks, strict=False):
            names |= {s for s, _ in (fallback if fallback is not None else terms)}
        return names

    def matrix(self, skeleton: Skeleton, end_sites: bool = False) -> torch.Tensor:
        """``(J, K + E)`` float64 weights: keypoints ``= W @ cat(joint positions, end-site positions)``.

        With ``end_sites=False`` the joints-only fallbacks are used and the last ``E`` columns are zero.
        """
        K, E = skeleton.num_joints, len(skeleton.end_site_parents)
        W = torch.zeros(self.layout.num_joints, K + E, dtype=torch.float64)
        for k, (terms, fallback) in enumerate(zip(self.terms, self.fallbacks, strict=False)):
            if fallback is not None and not end_sites:
                terms = fallback
            for source, weight in terms:
                W[k, self._column(skeleton, source)] += weight
        return W

    def apply(self, positions: torch.Tensor, skeleton: Skeleton, end_sites: torch.Tensor | None = None) -> torch.Tensor:
        """Keypoints ``(..., J, 3)`` from joint ``positions (..., K, 3)`` and optional ``end_sites (..., E, 3)``."""
        K, E = skeleton.num_joints, len(skeleton.end_site_parents)
        if positions.ndim < 2 or positions.shape[-2:] != (K, 3):
            raise ValidationError(
                f"positions: expected shape (..., {K}, 3) for this {K}-joint skeleton, got {tuple(positions.shape)}"
            )
        points = positions
        if end_sites is not None:
            if end_sites.shape[-2:] != (E, 3) or end_sites.shape[:-2] != positions.shape[:-2]:
                raise ValidationError(
                    f"end_sites: expected shape {(*positions.shape[:-2], E, 3)}, got {tuple(end_sites.shape)}"
                )
            points = torch.cat([positions, end_sites.to(positions.dtype)], dim=-2)
        W = self.matrix(skeleton, end_sites is not None)[:, : points.shape[-2]]
        return W.to(device=positions.device, dtype=positions.dtype) @ points

    def _column(self, skeleton: Skeleton, source: str) -> int:
        if not source.endswith(END_SITE):
            return skeleton.index(source)
        joint = skeleton.index(source[: -len(END_SITE)])
        if joint not in skeleton.end_site_parents:
            raise ValidationError(
                f"{self.joint_set} map: joint {source[: -len(END_SITE)]!r} has no end site in this skeleton"
            )
        return skeleton.num_joints + skeleton.end_site_parents.index(joint)


# ---------------------------------------------------------------------------------------- map tables
@dataclass(frozen=True)
class _WithEndSite:
    """A table entry that uses an end site, with the joints-only terms to use when there are none."""

    terms: Terms
    fallback: Terms


def _up(head: str, neck: str, k: float, side: tuple[str, str] | None = None, s: float = 0.0) -> Terms:
    """``head + k (head - neck) + s (side[0] - side[1])`` as affine terms."""
    terms = ((head, 1.0 + k), (neck, -k))
    return terms + ((side[0], s), (side[1], -s)) if side else terms


def _h36m(pelvis, legs, spine, thorax, nose, head_top, arms, notes) -> dict[str, tuple]:
    """H36M17 entries from the joint names of a set; ``legs``/``arms`` map a side letter to three names."""
    entries = {"Hip": pelvis, "Spine": spine, "Thorax": thorax, "Neck/Nose": nose, "Head": head_top}
    for side in "LR":
        entries.update({f"{side}Hip": legs[side][0], f"{side}Knee": legs[side][1], f"{side}Foot": legs[side][2]})
        entries.update({f"{side}Shoulder": arms[side][0], f"{side}Elbow": arms[side][1], f"{side}Wrist": arms[side][2]})
    return {"entries": entries, "notes": notes}


def _coco(nose, eyes, ears, legs, arms, notes) -> dict[str, tuple]:
    entries = {"nose": nose}
    for side, word in (("L", "left"), ("R", "right")):
        entries.update({f"{word}_eye": eyes[side], f"{word}_ear": ears[side]})
        entries.update({f"{word}_hip": legs[side][0], f"{word}_knee": legs[side][1], f"{word}_ankle": legs[side][2]})
        entries.update(
            {f"{word}_shoulder": arms[side][0], f"{word}_elbow": arms[side][1], f"{word}_wrist": arms[side][2]}
        )
    return {"entries": entries, "notes": notes}


def _face(
    head: str, neck: str, shoulders: tuple[str, str], nose_k: float, eye: tuple[float, float], ear: tuple[float, float]
):
    """Nose, eyes and ears from the head, neck and shoulder joints."""
    left, right = shoulders
    nose = head if nose_k == 0 else _up(head, neck, nose_k)
    eyes = {"L": _up(head, neck, eye[0], (left, right), eye[1]), "R": _up(head, neck, eye[0], (left, right), -eye[1])}
    ears = {"L": _up(head, neck, ear[0], (left, right), ear[1]), "R": _up(head, neck, ear[0], (left, right), -ear[1])}
    return nose, eyes, ears


_FACE_NOTE = "on the neck-head line, shifted along the shoulder line (no head orientation from positions)"
_FACE_NOTES = {k: _FACE_NOTE for k in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")}
_HEAD_TOP_NOTE = "the head's end site (top of the head); without end sites extrapolated along neck->head"


def _joint_sets() -> dict[str, dict[str, dict]]:
    sets: dict[str, dict[str, dict]] = {}

    legs = {s: (f"UpperLeg_{s}", f"LowerLeg_{s}", f"Foot_{s}") for s in "LR"}
    arms = {s: (f"UpperArm_{s}", f"LowerArm_{s}", f"Hand_{s}") for s in "LR"}
    nose, eyes, ears = _face("Head", "Neck", ("UpperArm_L", "UpperArm_R"), 1.2, (1.5, 0.155), (0.9, 0.37))
    sets["bandai"] = {
        "h36m17": _h36m(
            "Hips", legs, (("Spine", 0.5), ("Chest", 0.5)), "Neck", "Head", _up("Head", "Neck", 1.65), arms,
            {"Spine": "midway between the Spine and Chest joints", "Thorax": "the Neck joint",
             "Neck/Nose": "the Head joint (skull base)",
             "Head": "Head + 1.65 (Head - Neck): extrapolated, the files have no head-top point"},
        ),
        "coco17": _coco(nose, eyes, ears, legs, arms, _FACE_NOTES),
    }  # fmt: skip

    legs = {"L": ("LeftUpLeg", "LeftLeg", "LeftFoot"), "R": ("RightUpLeg", "RightLeg", "RightFoot")}
    arms = {"L": ("LeftArm", "LeftForeArm", "LeftHand"), "R": ("RightArm", "RightForeArm", "RightHand")}
    nose, eyes, ears = _face("Head", "Neck1", ("LeftArm", "RightArm"), 0.0, (0.25, 0.087), (0.05, 0.2))
    sets["cmu_bvh"] = {
        "h36m17": _h36m(
            "Hips", legs, (("Spine", 0.5), ("Spine1", 0.5)), "Neck1", "Head",
            _WithEndSite((("Head/end", 1.0),), _up("Head", "Neck1", 1.0)), arms,
            {"Spine": "midway between the Spine and Spine1 joints", "Thorax": "the Neck1 joint",
             "Neck/Nose": "the Head joint", "Head": _HEAD_TOP_NOTE},
        ),
        "coco17": _coco(nose, eyes, ears, legs, arms, _FACE_NOTES),
    }  # fmt: skip

    legs = {s: (f"{s.lower()}femur", f"{s.lower()}tibia", f"{s.lower()}foot") for s in "LR"}
    arms = {s: (f"{s.lower()}humerus", f"{s.lower()}radius", f"{s.lower()}wrist") for s in "LR"}
    nose, eyes, ears = _face("head", "upperneck", ("lhumerus", "rhumerus"), 0.0, (0.25, 0.087), (0.05, 0.2))
    sets["cmu_asf"] = {
        "h36m17": _h36m(
            "root", legs, (("upperback", 0.5), ("thorax", 0.5)), (("lowerneck", 0.5), ("upperneck", 0.5)), "head",
            _WithEndSite((("head/end", 1.0),), _up("head", "upperneck", 1.0)), arms,
            {"Spine": "midway along the upper back bone", "Thorax": "midway along the lower neck bone",
             "Neck/Nose": "the head bone's start", "Head": _HEAD_TOP_NOTE},
        ),
        "coco17": _coco(nose, eyes, ears, legs, arms, _FACE_NOTES),
    }  # fmt: skip

    legs = {"L": ("left_hip", "left_knee", "left_ankle"), "R": ("right_hip", "right_knee", "right_ankle")}
    arms = {"L": ("left_shoulder", "left_elbow", "left_wrist"), "R": ("right_shoulder", "right_elbow", "right_wrist")}
    nose, eyes, ears = _face("head", "neck", ("left_shoulder", "right_shoulder"), 0.5, (0.75, 0.09), (0.35, 0.2))
    sets["smpl"] = {
        "h36m17": _h36m(
            "pelvis", legs, "spine2", "neck", "head", _up("head", "neck", 1.25), arms,
            {"Spine": "the spine2 joint", "Thorax": "the neck joint", "Neck/Nose": "the head joint",
             "Head": "head + 1.25 (head - neck), extrapolated"},
        ),
        "coco17": _coco(nose, eyes, ears, legs, arms, _FACE_NOTES),
    }  # fmt: skip
    # The canonical pose joints (the body without spine2), which every shipped model works on.
    sets["smpl_pose"] = {
        "h36m17": _h36m(
            "pelvis", legs, (("spine1", 0.5), ("spine3", 0.5)), "neck", "head", _up("head", "neck", 1.25), arms,
            {"Spine": "midway between the spine1 and spine3 joints", "Thorax": "the neck joint",
             "Neck/Nose": "the head joint", "Head": "head + 1.25 (head - neck), extrapolated"},
        ),
        "coco17": sets["smpl"]["coco17"],
    }  # fmt: skip
    return sets


def _as_terms(entry: str | Terms | _WithEndSite) -> tuple[Terms, Terms | None]:
    """A table entry (a joint name, affine terms, or terms with an end site) as ``(terms, fallback)``."""
    if isinstance(entry, str):
        return ((entry, 1.0),), None
    if isinstance(entry, _WithEndSite):
        return entry.terms, entry.fallback
    return entry, None


def _build_maps() -> dict[tuple[str, str], KeypointMap]:
    maps = {}
    for set_name, per_layout in _joint_sets().items():
        for layout_name, spec in per_layout.items():
            layout = LAYOUTS[layout_name]
            terms, fallbacks, notes = [], [], []
            for name in layout.joint_names:
                t, f = _as_terms(spec["entries"][name])
                terms.append(t)
                fallbacks.append(f)
                notes.append(spec["notes"].get(name, ""))
            maps[set_name, layout_name] = KeypointMap(layout, set_name, tuple(terms), tuple(fallbacks), tuple(notes))
    return maps


_MAPS = _build_maps()
#: The known joint sets, in the order :func:`layout_map_for` tries them.
JOINT_SETS: tuple[str, ...] = ("bandai", "cmu_bvh", "cmu_asf", "smpl", "smpl_pose")


def layout_map_for(skeleton: Skeleton, layout: str | KeypointLayout) -> KeypointMap:
    """The map from ``skeleton``'s joints to ``layout``, for the first known joint set whose joints it has.

    Raises:
        ValidationError: the skeleton uses none of the known joint sets (the message lists them).
    """
    layout = get_layout(layout)
    names = set(skeleton.joint_names)
    for set_name in JOINT_SETS:
        if (set_name, layout.name) not in _MAPS:
            continue
        kmap = _MAPS[set_name, layout.name]
        if kmap.required_joints() <= names:
            return kmap
    needs = "; ".join(f"{s}: {', '.join(sorted(_MAPS[s, layout.name].required_joints()))}" for s in JOINT_SETS)
    raise ValidationError(
        f"skeleton: its joints ({', '.join(skeleton.joint_names[:8])}, ...) match no known joint set for the "
        f"{layout.name} layout; known sets need: {needs}"
    )


def keypoints_from_positions(
    positions: torch.Tensor,
    skeleton: Skeleton,
    layout: str | KeypointLayout,
    end_sites: torch.Tensor | None = None,
) -> torch.Tensor:
    """Layout keypoints ``(..., J, 3)`` from global joint ``positions (..., K, 3)`` of a known skeleton.

    Args:
        positions: joint positions, e.g. ``motion.positions()``.
        skeleton: the skeleton they belong to; its joint names select the map (:func:`layout_map_for`).
        layout: a :class:`KeypointLayout` or its name (``"h36m17"``, ``"coco17"``).
        end_sites: optional ``(..., E, 3)`` end-site positions (:func:`~poseprior.skeleton.end_site_positions`);
            maps that have a better point at an end site (the CMU head top) use it when given.

    Example:
        >>> from poseprior.skeleton.smpl import smpl_skeleton
        >>> from poseprior.skeleton import forward_kinematics
        >>> sk = smpl_skeleton("smpl")
        >>> p, _ = forward_kinematics(sk, torch.eye(3, dtype=torch.float64).expand(24, 3, 3))
        >>> keypoints_from_positions(p, sk, "h36m17").shape
        torch.Size([17, 3])
    """
    return layout_map_for(skeleton, layout).apply(positions, skeleton, end_sites)
