"""What every pose prior offers: the :class:`PosePrior` protocol, and :class:`PoseJoints`, the joints it models.

A pose prior is a distribution over the local rotations ``R (..., K, 3, 3)`` of ``K`` named joints (the
root's global orientation is not part of the pose). Every prior has an **energy**, lower for more plausible
poses, usable as a differentiable loss, ``sample`` and ``project`` (a nearby plausible pose). Priors with an exact, normalized density (the flow, the tangent-space
Gaussians) also have ``log_prob``, in nats with respect to the normalized Haar measure on SO(3)^K (uniform = 0),
and their energy is exactly ``-log_prob``. Priors without one (a VAE's bound, a distance field) have no
``log_prob``, and their energy has its own documented scale.

Joints are matched by name (:attr:`PosePrior.joint_names`), so a motion file on another skeleton can be
scored by picking the prior's joints from it; :attr:`PosePrior.joints` carries the tree and, when known, the
skeleton's rest offsets (root + the ``K`` joints), so that samples can be written as motions.

Example:
    >>> import roma
    >>> from poseprior.models.baseline import TangentGaussianPrior
    >>> prior = TangentGaussianPrior.fit(roma.random_rotmat((100, 2)))
    >>> isinstance(prior, PosePrior), isinstance(prior, ExactPosePrior)
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from poseprior.errors import ValidationError
from poseprior.skeleton import Skeleton

__all__ = [
    "PosePrior",
    "ExactPosePrior",
    "LatentPosePrior",
    "PoseJoints",
    "ConfiguredJoints",
    "default_joint_names",
    "match_prior_joints",
]


@runtime_checkable
class PosePrior(Protocol):
    """A distribution over the local rotations of ``K`` named joints.

    Attributes:
        num_joints: ``K``.
        joint_names: the ``K`` joint names, in the order of the rotations' joint axis.
        joints: the joints' names, tree, and (when known) the skeleton's rest offsets and unit, or None
            when the prior was built without them (then ``joint_names`` are ``joint0``, ``joint1``, ...).
    """

    @property
    def num_joints(self) -> int: ...

    @property
    def joint_names(self) -> tuple[str, ...]: ...

    @property
    def joints(self) -> PoseJoints | None: ...

    def energy(self, R: torch.Tensor) -> torch.Tensor:
        """Energy ``(...)`` of poses ``R (..., K, 3, 3)``: lower is more plausible; differentiable."""
        ...

    def sample(self, n: int) -> torch.Tensor:
        """``n`` poses ``(n, K, 3, 3)``."""
        ...

    def project(self, R: torch.Tensor) -> torch.Tensor:
        """Nearby plausible poses ``(..., K, 3, 3)`` for ``R (..., K, 3, 3)`` (each prior documents how)."""
        ...


@runtime_checkable
class LatentPosePrior(PosePrior, Protocol):
    """A :class:`PosePrior` that generates poses from a standard normal latent code ``z (..., D)`` (a VAE's
    decoder, a flow's inverse): fitting can optimise ``z`` under ``|z|^2 / 2`` instead of the pose under the
    energy, as SMPLify-X does with VPoser (Pavlakos et al., CVPR 2019) and Asim et al. (ICML 2020) with flows."""

    @property
    def latent_dim(self) -> int: ...

    def to_latent(self, R: torch.Tensor) -> torch.Tensor:
        """Codes ``(..., D)`` of poses ``R (..., K, 3, 3)`` (a VAE's posterior mean, a flow's base point)."""
        ...

    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Poses ``(..., K, 3, 3)`` of codes ``z (..., D)``; differentiable."""
        ...


@runtime_checkable
class ExactPosePrior(PosePrior, Protocol):
    """A :class:`PosePrior` with an exact density; its energy is ``-log_prob``."""

    def log_prob(self, R: torch.Tensor) -> torch.Tensor:
        """Log-density ``(...)`` in nats of ``R (..., K, 3, 3)`` w.r.t. the normalized Haar measure on SO(3)^K."""
        ...


@dataclass(frozen=True)
class PoseJoints:
    """The joints a prior models and the skeleton they hang from; JSON-friendly, for model configs.

    Attributes:
        names: the ``K`` pose joint names.
        parents: ``K`` parent indices within the pose, ``-1`` for joints attached to the root.
        root: name of the root joint above the pose (its rotation, the global orientation, is not modelled).
        offsets: ``K + 1`` rest offsets ``(x, y, z)``, the root's first, in ``unit_mm`` millimetres per unit;
            empty when unknown (then there is no :attr:`skeleton`).
        unit_mm: millimetres per length unit of ``offsets`` (10 for centimetres).

    Example:
        >>> joints = PoseJoints.from_skeleton(load_prepared("prepared/bandai-v1", []).skeleton)  # doctest: +SKIP
        >>> joints.names[:2], joints.root  # doctest: +SKIP
        (('Spine', 'Chest'), 'Hips')
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    root: str = "root"
    offsets: tuple[tuple[float, float, float], ...] = ()
    unit_mm: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        object.__setattr__(self, "parents", tuple(int(p) for p in self.parents))
        object.__setattr__(self, "offsets", tuple(tuple(float(x) for x in o) for o in self.offsets))
        K = len(self.names)
        if len(self.parents) != K:
            raise ValidationError(f"parents: expected {K} entries (one per joint name), got {len(self.parents)}")
        if any(not -1 <= p < j for j, p in enumerate(self.parents)):
            raise ValidationError(f"parents: expected each joint's parent before it (or -1), got {self.parents}")
        if self.offsets and (len(self.offsets) != K + 1 or any(len(o) != 3 for o in self.offsets)):
            raise ValidationError(f"offsets: expected {K + 1} rows of 3 (root first), or none")

    @classmethod
    def from_skeleton(cls, skeleton: Skeleton, unit_mm: float = 10.0) -> PoseJoints:
        """The pose of ``skeleton``: every joint below its root (joint 0), e.g. bandai-v1's 20 below ``Hips``."""
        return cls(
            names=skeleton.joint_names[1:],
            parents=tuple(p - 1 for p in skeleton.parents[1:]),
            root=skeleton.joint_names[0],
            offsets=tuple(tuple(o) for o in skeleton.offsets.tolist()),
            unit_mm=unit_mm,
        )

    @property
    def skeleton(self) -> Skeleton | None:
        """The ``K + 1``-joint skeleton (root, then the pose joints), or None without offsets."""
        if not self.offsets:
            return None
        parents = (-1, *(p + 1 for p in self.parents))
        return Skeleton((self.root, *self.names), parents, torch.tensor(self.offsets, dtype=torch.float64))

    def to_dict(self) -> dict:
        return {
            "names": list(self.names),
            "parents": list(self.parents),
            "root": self.root,
            "offsets": [list(o) for o in self.offsets],
            "unit_mm": self.unit_mm,
        }

    @classmethod
    def from_dict(cls, d: dict) -> PoseJoints:
        offsets = tuple(map(tuple, d.get("offsets", ())))
        return cls(
            tuple(d["names"]), tuple(d["parents"]), d.get("root", "root"), offsets, float(d.get("unit_mm", 10.0))
        )


def match_prior_joints(
    prior: PosePrior,
    names: tuple[str, ...],
    parents: tuple[int, ...] | None = None,
    source: str = "motion",
    *,
    in_file: bool = False,
) -> list[int]:
    """Indices among joints ``names`` of the prior's ``K`` joints, matched by name, in the prior's order.

    Raises :class:`ValidationError`, starting with ``source`` (the argument or file), naming the missing joints,
    or, when ``parents`` (the joints' tree, ``-1`` for a root) is given, a joint whose parent is not its parent
    in the prior (its local rotation would not mean the same). ``in_file`` words the messages for a file.
    """
    index = {n: j for j, n in enumerate(names)}
    missing = [n for n in prior.joint_names if n not in index]
    if missing:
        holder = "the file" if in_file else "it"
        raise ValidationError(
            f"{source}: missing joint(s) {', '.join(missing)} that the prior models; {holder} has: {', '.join(names)}"
        )
    joints = prior.joints
    if parents is not None and joints is not None:
        for name, p in zip(joints.names, joints.parents, strict=False):
            want = joints.root if p < 0 else joints.names[p]
            q = parents[index[name]]
            got = "(none: it is the root)" if q < 0 else names[q]
            if got != want:
                place = "in the file" if in_file else "there"
                raise ValidationError(
                    f"{source}: joint {name!r} has parent {got!r} {place} but {want!r} in the prior, so its local "
                    "rotation does not mean the same"
                )
    return [index[n] for n in prior.joint_names]


def default_joint_names(num_joints: int) -> tuple[str, ...]:
    """``("joint0", "joint1", ...)``: the names of a prior built without :class:`PoseJoints`."""
    return tuple(f"joint{j}" for j in range(num_joints))


class ConfiguredJoints:
    """Mixin: :class:`PosePrior`'s joint attributes read from ``self.config`` (a dataclass with ``num_joints``
    and ``joints: PoseJoints | None``), the same for every prior built from such a config."""

    config: object

    @property
    def num_joints(self) -> int:
        """``K``, the modelled joints."""
        return self.config.num_joints

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The ``K`` joint names (``config.joints``), or ``joint0``, ``joint1``, ... without them."""
        return self.config.joints.names if self.config.joints else default_joint_names(self.num_joints)

    @property
    def joints(self) -> PoseJoints | None:
        """Names, tree, skeleton and unit of the joints (``config.joints``), or None if built without them."""
        return self.config.joints
