"""What every 2D-to-3D lifter offers: :class:`Lifter`, whose :meth:`~Lifter.lift` returns a :class:`LiftResult`.

A lifter sees ``T`` frames of 2D keypoints ``(T, P, 2)`` in pixels of a known camera and gives root-relative
3D joints in the camera frame, in millimetres; a lifter that outputs rotations (:class:`RotationLifter`) gives
them too, one that draws hypotheses (:class:`ProbabilisticLifter`) gives its samples and their densities.
Whole sequences in bounded memory: :func:`poseprior.tasks.lift.lift_sequence`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

__all__ = ["Lifter", "LiftResult"]


@dataclass(frozen=True)
class LiftResult:
    """The lift of ``T`` frames (frames first in every field).

    Attributes:
        positions: ``(T, J, 3)`` root-relative joints, camera frame, mm (a flow lifter's: the image of its base
            mode).
        rotations: ``(T, K, 3, 3)`` local joint rotations, or None for a lifter of joints only.
        root_rotation: ``(T, 3, 3)`` the root's rotation in the camera frame, or None.
        hypotheses: ``(T, H, J, 3)`` samples, mm, or None for a deterministic lifter (or ``hypotheses=0``).
        hypotheses_log_prob: ``(T, H)`` their log densities, or None.
    """

    positions: torch.Tensor
    rotations: torch.Tensor | None = None
    root_rotation: torch.Tensor | None = None
    hypotheses: torch.Tensor | None = None
    hypotheses_log_prob: torch.Tensor | None = None

    def frames(self, index: slice) -> LiftResult:
        """The result for frames ``index``."""
        return LiftResult(*(None if v is None else v[index] for v in self._fields()))

    @staticmethod
    def cat(parts: list[LiftResult]) -> LiftResult:
        """Results of consecutive frames joined."""
        return LiftResult(
            *(None if v[0] is None else torch.cat(v) for v in zip(*(p._fields() for p in parts), strict=True))
        )

    def _fields(self) -> tuple[torch.Tensor | None, ...]:
        return (self.positions, self.rotations, self.root_rotation, self.hypotheses, self.hypotheses_log_prob)


@runtime_checkable
class Lifter(Protocol):
    """A 2D-to-3D lifter.

    Attributes:
        context_frames: frames either side that a frame's lift depends on (0: each frame on its own).
        gives_rotations: whether :meth:`lift` returns joint rotations.
    """

    context_frames: int
    gives_rotations: bool

    def lift(
        self,
        pixels: torch.Tensor,
        camera: torch.Tensor,
        confidence: torch.Tensor | None = None,
        hypotheses: int = 0,
    ) -> LiftResult:
        """Lift ``pixels (T, P, 2)`` seen by intrinsics ``camera (3, 3)`` or ``(T, 3, 3)``, with ``confidence
        (T, P)`` in [0, 1] (default all 1); ``hypotheses`` samples per frame from a lifter that draws them
        (ignored by one that does not)."""
        ...
