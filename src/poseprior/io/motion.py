"""The :class:`Motion`: what every reader returns and every writer takes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import check_rotations
from poseprior.io.plausible import FRAME_TIME_S
from poseprior.io.units import unit_name, unit_to_mm
from poseprior.skeleton import Skeleton, forward_kinematics

__all__ = ["Motion"]


#: Most joint-frames (frames x joints) :meth:`Motion.resample` makes: 1.4 GB of float64 rotations.
MAX_JOINT_FRAMES = 20_000_000
_CHUNK_JOINT_FRAMES = 1_000_000


@dataclass(frozen=True, eq=False)
class Motion:
    """A skeleton animated over ``T`` frames.

    Attributes:
        skeleton: the ``K``-joint skeleton, offsets in ``unit``.
        rotations: ``(T, K, 3, 3)`` local joint rotations (float64 from readers).
        root_translation: ``(T, 3)`` position of the root joint, in ``unit``.
        fps: frames per second.
        unit: millimetres per length unit of this motion (10 for centimetres); see :mod:`poseprior.io.units`.
        translations: optional ``(T, K, 3)`` animated local translations of every joint, for files whose
            non-root joints carry position channels (the Bandai BVH files keep the body's translation in
            ``Hips``, below a static ``joint_Root``). ``None`` means the skeleton's rest offsets.
        metadata: free-form facts about the source (path, channel layout for BVH writing, ...).

    Construction validates shapes, finiteness and that every matrix is a rotation.
    """

    skeleton: Skeleton
    rotations: torch.Tensor
    root_translation: torch.Tensor
    fps: float
    unit: float = 10.0
    translations: torch.Tensor | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        K = self.skeleton.num_joints
        R, t = self.rotations, self.root_translation
        if R.ndim != 4 or R.shape[1:] != (K, 3, 3):
            raise ValidationError(f"rotations: expected shape (T, {K}, 3, 3), got {tuple(R.shape)}")
        if t.shape != (R.shape[0], 3):
            raise ValidationError(f"root_translation: expected shape ({R.shape[0]}, 3), got {tuple(t.shape)}")
        if not torch.isfinite(t).all():
            raise ValidationError("root_translation: contains NaN or inf")
        check_rotations(R, "rotations")
        if self.translations is not None:
            if self.translations.shape != (R.shape[0], K, 3):
                raise ValidationError(
                    f"translations: expected shape ({R.shape[0]}, {K}, 3), got {tuple(self.translations.shape)}"
                )
            if not torch.isfinite(self.translations).all():
                raise ValidationError("translations: contains NaN or inf")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValidationError(f"fps: must be a positive number, got {self.fps!r}")
        object.__setattr__(self, "unit", unit_to_mm(self.unit))

    @property
    def num_frames(self) -> int:
        """``T``."""
        return self.rotations.shape[0]

    def __len__(self) -> int:
        return self.num_frames

    def __repr__(self) -> str:
        return (
            f"Motion({self.num_frames} frames at {self.fps:g} fps, {self.skeleton.num_joints} joints, "
            f"unit={unit_name(self.unit)})"
        )

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.skeleton.joint_names

    def forward_kinematics(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Global ``positions (T, K, 3)`` in this motion's unit and ``global_rotations (T, K, 3, 3)``."""
        return forward_kinematics(self.skeleton, self.rotations, self.root_translation, self.translations)

    def positions(self, millimetres: bool = False) -> torch.Tensor:
        """Global joint positions ``(T, K, 3)``, in this motion's unit or in millimetres."""
        p = self.forward_kinematics()[0]
        return p * self.unit if millimetres else p

    def frames(self, index: slice | list[int] | torch.Tensor) -> Motion:
        """The motion restricted to some frames (a slice keeps ``fps`` as is: use :meth:`resample` to change it)."""
        tr = None if self.translations is None else self.translations[index]
        return replace(
            self, rotations=self.rotations[index], root_translation=self.root_translation[index], translations=tr
        )

    def with_unit(self, unit: str | float) -> Motion:
        """The same motion with lengths converted to another unit (name or millimetres per unit)."""
        target = unit_to_mm(unit)
        s = self.unit / target
        tr = None if self.translations is None else self.translations * s
        return replace(
            self,
            skeleton=self.skeleton.scaled(s),
            root_translation=self.root_translation * s,
            translations=tr,
            unit=target,
        )

    def resample(self, fps: float) -> Motion:
        """The motion at another frame rate: rotations by slerp and translations linearly between frames.

        Output frame ``k`` is at time ``k / fps``; frames run up to the last input frame's time.
        """
        low, high = 1 / FRAME_TIME_S[1], 1 / FRAME_TIME_S[0]
        if not (math.isfinite(fps) and low < fps < high):
            raise ValidationError(f"fps: {fps!r} is outside ({low:g}, {high:g}), the frame rates poseprior reads")
        T = self.num_frames
        duration = (T - 1) / self.fps
        frames = math.floor(duration * fps + 1e-9) + 1
        K = self.skeleton.num_joints
        if frames * K > MAX_JOINT_FRAMES:
            raise ValidationError(
                f"fps: {fps:g} fps makes {frames:,} frames of {K} joints, more than the {MAX_JOINT_FRAMES:,} "
                "joint-frames (about 2 GB of rotations) poseprior resamples at once; use a lower rate or a shorter motion"
            )
        n = int(frames)
        src = torch.arange(n, dtype=torch.float64) * (self.fps / fps)
        i0 = src.floor().long().clamp(max=T - 1)
        i1 = (i0 + 1).clamp(max=T - 1)
        w = (src - i0).to(self.rotations.dtype)
        R = self.rotations.new_empty((n, *self.rotations.shape[1:]))
        step = max(1, _CHUNK_JOINT_FRAMES // max(1, K))  # bounded temporaries on long motions
        for a in range(0, n, step):
            R0, R1 = self.rotations[i0[a : a + step]], self.rotations[i1[a : a + step]]
            delta = roma.rotmat_to_rotvec(R0.transpose(-1, -2) @ R1)
            R[a : a + step] = R0 @ roma.rotvec_to_rotmat(delta * w[a : a + step, None, None])

        def lerp(x: torch.Tensor) -> torch.Tensor:
            ww = w.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
            return x[i0] * (1 - ww) + x[i1] * ww

        tr = None if self.translations is None else lerp(self.translations)
        return replace(self, rotations=R, root_translation=lerp(self.root_translation), translations=tr, fps=float(fps))
