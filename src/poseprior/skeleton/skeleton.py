"""The :class:`Skeleton`: joint names, the kinematic tree, rest offsets and end sites."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from poseprior.errors import ValidationError

__all__ = ["Skeleton"]

# (left pattern, right pattern, left text, right text): how joint names mark their side, tried in order.
_SIDES: tuple[tuple[str, str, str, str], ...] = (
    (r"Left", r"Right", "Left", "Right"),
    (r"left", r"right", "left", "right"),
    (r"_L$", r"_R$", "_L", "_R"),
    (r"_l$", r"_r$", "_l", "_r"),
    (r"^L_", r"^R_", "L_", "R_"),
    (r"^l_", r"^r_", "l_", "r_"),
    (r"^L(?=[A-Z])", r"^R(?=[A-Z])", "L", "R"),
    (r"^l(?=[a-z])", r"^r(?=[a-z])", "l", "r"),  # CMU ASF: lfemur / rfemur (but not lowerback)
)
# The patterns above this index mark a side unambiguously; a joint matching one must have a counterpart.
_STRICT = 6


@dataclass(frozen=True, eq=False)
class Skeleton:
    """A kinematic tree of ``K`` joints in topological order (every parent before its children).

    Attributes:
        joint_names: ``K`` unique names.
        parents: ``K`` parent indices, ``-1`` for the root (joint 0, the only root).
        offsets: ``(K, 3)`` rest translation of each joint in its parent's frame, in the length unit of the
            source (the root's offset is its rest position). Float64 on CPU, moved to the data's device and
            dtype by forward kinematics.
        end_site_parents: ``E`` joint indices that carry an end site (a leaf marker with no rotation).
        end_site_offsets: ``(E, 3)`` end-site offsets in their joint's frame.

    Example:
        >>> sk = Skeleton(("hip", "knee", "ankle"), (-1, 0, 1), torch.tensor([[0., 1, 0], [0, -.5, 0], [0, -.5, 0]]))
        >>> sk.bone_lengths().tolist()
        [0.0, 0.5, 0.5]
    """

    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: torch.Tensor
    end_site_parents: tuple[int, ...] = ()
    end_site_offsets: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 3, dtype=torch.float64))

    def __post_init__(self) -> None:
        names, parents = tuple(self.joint_names), tuple(int(p) for p in self.parents)
        object.__setattr__(self, "joint_names", names)
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "end_site_parents", tuple(int(p) for p in self.end_site_parents))
        offsets = torch.as_tensor(self.offsets, dtype=torch.float64).detach().cpu()
        ends = torch.as_tensor(self.end_site_offsets, dtype=torch.float64).detach().cpu().reshape(-1, 3)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "end_site_offsets", ends)
        K = len(names)
        if K == 0:
            raise ValidationError("joint_names: a skeleton needs at least one joint")
        if len(set(names)) != K:
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValidationError(f"joint_names: duplicate names {dup}")
        if len(parents) != K:
            raise ValidationError(f"parents: expected {K} entries (one per joint), got {len(parents)}")
        if parents[0] != -1:
            raise ValidationError(f"parents: joint 0 ({names[0]!r}) must be the root (parent -1), got {parents[0]}")
        for j in range(1, K):
            if not 0 <= parents[j] < j:
                raise ValidationError(
                    f"parents: joint {j} ({names[j]!r}) has parent {parents[j]}; joints must be in topological order "
                    "with a single root"
                )
        if offsets.shape != (K, 3):
            raise ValidationError(f"offsets: expected shape ({K}, 3), got {tuple(offsets.shape)}")
        if not torch.isfinite(offsets).all() or not torch.isfinite(ends).all():
            raise ValidationError("offsets: contain NaN or inf")
        if len(self.end_site_parents) != ends.shape[0]:
            raise ValidationError("end_site_offsets: need one row per entry of end_site_parents")
        if any(not 0 <= p < K for p in self.end_site_parents):
            raise ValidationError("end_site_parents: index out of range")

    # ----------------------------------------------------------------------------------------------- tree
    @property
    def num_joints(self) -> int:
        """``K``, the number of joints."""
        return len(self.joint_names)

    def __len__(self) -> int:
        return self.num_joints

    def __repr__(self) -> str:
        return (
            f"Skeleton({self.num_joints} joints, root={self.joint_names[0]!r}, end_sites={len(self.end_site_parents)})"
        )

    def index(self, name: str) -> int:
        """Index of joint ``name``; :class:`ValidationError` listing the known names if absent."""
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise ValidationError(
                f"joint {name!r} is not in this skeleton; joints: {', '.join(self.joint_names)}"
            ) from None

    def indices(self, names: Sequence[str]) -> list[int]:
        """Indices of several joints, in the order given."""
        missing = [n for n in names if n not in self.joint_names]
        if missing:
            raise ValidationError(f"joints {missing} are not in this skeleton; joints: {', '.join(self.joint_names)}")
        return [self.joint_names.index(n) for n in names]

    def children(self, joint: int) -> list[int]:
        """Indices of the direct children of ``joint``."""
        return [j for j, p in enumerate(self.parents) if p == joint]

    def descendants(self, joint: int) -> list[int]:
        """Indices of every joint below ``joint`` (not including it), in topological order."""
        below: set[int] = {joint}
        out = []
        for j in range(joint + 1, self.num_joints):
            if self.parents[j] in below:
                below.add(j)
                out.append(j)
        return out

    def depths(self) -> list[int]:
        """Depth of each joint in the tree (root 0)."""
        d = [0] * self.num_joints
        for j in range(1, self.num_joints):
            d[j] = d[self.parents[j]] + 1
        return d

    def bone_lengths(self) -> torch.Tensor:
        """``(K,)`` length of each joint's rest offset (distance to its parent; 0 for the root)."""
        lengths = self.offsets.norm(dim=-1)
        lengths[0] = 0.0
        return lengths

    def mirror_indices(self) -> list[int]:
        """For each joint, the index of its left/right counterpart (itself on the midline).

        Names are matched by common conventions: ``Left*``/``Right*``, ``*_L``/``*_R``, ``L_*``/``R_*``, and
        CMU's ``l``/``r`` prefixes (``lfemur``/``rfemur``). Raises if a side's counterpart is missing.
        """
        out = list(range(self.num_joints))
        for j, name in enumerate(self.joint_names):
            for k, other in _side_swaps(name):
                if other in self.joint_names:
                    out[j] = self.joint_names.index(other)
                    break
                if k < _STRICT:
                    raise ValidationError(f"joint {name!r} has no mirror joint {other!r} in this skeleton")
        return out

    # ------------------------------------------------------------------------------------------ derived
    def subset(self, names: Sequence[str]) -> Skeleton:
        """The skeleton restricted to ``names`` (kept in this skeleton's order, so the tree stays topological).

        A kept joint's parent becomes its nearest kept ancestor and its offset the sum of the offsets along
        the removed chain: exact for the rest pose, and for any pose in which the removed joints' local
        rotations are the identity. The first kept joint must be an ancestor of all the others.
        """
        keep = sorted(self.indices(names))
        kept = set(keep)
        new_index = {j: i for i, j in enumerate(keep)}
        parents, offsets = [], []
        for j in keep:
            off = self.offsets[j].clone()
            p = self.parents[j]
            while p != -1 and p not in kept:
                off = off + self.offsets[p]
                p = self.parents[p]
            if p == -1 and j != keep[0]:
                raise ValidationError(
                    f"subset: joint {self.joint_names[j]!r} is not below {self.joint_names[keep[0]]!r}"
                )
            parents.append(-1 if p == -1 else new_index[p])
            offsets.append(off)
        ends = [
            (new_index[p], o) for p, o in zip(self.end_site_parents, self.end_site_offsets, strict=False) if p in kept
        ]
        return Skeleton(
            tuple(self.joint_names[j] for j in keep),
            tuple(parents),
            torch.stack(offsets),
            tuple(p for p, _ in ends),
            torch.stack([o for _, o in ends]) if ends else torch.zeros(0, 3, dtype=torch.float64),
        )

    def reordered(self, names: Sequence[str]) -> Skeleton:
        """The same skeleton with its joints in the order ``names`` (all of them, each parent before its
        children): BVH files list joints depth first, a model may list them by tree level."""
        order = self.indices(names)
        if sorted(order) != list(range(self.num_joints)):
            raise ValidationError(f"names: expected each of the {self.num_joints} joints once, got {list(names)}")
        position = {j: i for i, j in enumerate(order)}
        parents = tuple(-1 if self.parents[j] < 0 else position[self.parents[j]] for j in order)
        ends = [(position[p], o) for p, o in zip(self.end_site_parents, self.end_site_offsets, strict=False)]
        return Skeleton(
            tuple(names),
            parents,
            self.offsets[order],
            tuple(p for p, _ in ends),
            torch.stack([o for _, o in ends]) if ends else torch.zeros(0, 3, dtype=torch.float64),
        )

    def scaled(self, factor: float) -> Skeleton:
        """The same tree with every offset multiplied by ``factor`` (a change of length unit)."""
        return Skeleton(
            self.joint_names, self.parents, self.offsets * factor, self.end_site_parents, self.end_site_offsets * factor
        )

    def with_offsets(self, offsets: torch.Tensor) -> Skeleton:
        """The same tree and end sites with new rest ``offsets`` ``(K, 3)``."""
        return Skeleton(self.joint_names, self.parents, offsets, self.end_site_parents, self.end_site_offsets)

    def same_tree(self, other: Skeleton) -> bool:
        """Whether ``other`` has the same joint names and parents (offsets may differ)."""
        return self.joint_names == other.joint_names and self.parents == other.parents


def _side_swaps(name: str) -> list[tuple[int, str]]:
    """Candidate counterpart names of ``name`` with the index of the pattern that produced each."""
    out = []
    for k, (left, right, left_text, right_text) in enumerate(_SIDES):
        if re.search(left, name):
            out.append((k, re.sub(left, right_text, name, count=1)))
        elif re.search(right, name):
            out.append((k, re.sub(right, left_text, name, count=1)))
    return out
