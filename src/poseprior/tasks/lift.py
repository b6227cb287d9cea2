"""Lifting whole sequences in bounded memory: any :class:`~poseprior.models.lifter.Lifter` run on a long take a
block of frames at a time, with the same result as on the whole take at once.

Each block carries the lifter's ``context_frames`` on either side (a rotation lifter's window), so that every
kept frame sees exactly the inputs it would see in one pass. A lifter that draws hypotheses gets blocks of
``BLOCK_SAMPLES // hypotheses`` frames, so memory grows with neither the take's length nor the number of
hypotheses.

Example:
    >>> result = lift_sequence(zoo.load("lifter-rot-coco17"), pixels, camera, confidence)  # doctest: +SKIP
    >>> result.positions.shape, result.rotations.shape  # doctest: +SKIP
"""

from __future__ import annotations

import torch

from poseprior.errors import ValidationError
from poseprior.models.lifter import Lifter, LiftResult

__all__ = ["lift_sequence", "BLOCK_FRAMES", "BLOCK_SAMPLES"]

#: Frames per block of a lifter that draws no hypotheses.
BLOCK_FRAMES = 4096
#: Frame-hypotheses per block of a lifter that draws them (a flow lifter's sampling takes about 120 KB per
#: hypothesis, measured).
BLOCK_SAMPLES = 2_000


def lift_sequence(
    lifter: Lifter,
    pixels: torch.Tensor,
    camera: torch.Tensor,
    confidence: torch.Tensor,
    hypotheses: int = 0,
    block: int | None = None,
) -> LiftResult:
    """``lifter.lift`` of a ``(T, P, 2)`` sequence, ``block`` frames at a time (default: :data:`BLOCK_FRAMES`,
    or ``BLOCK_SAMPLES // hypotheses`` for a lifter that draws ``hypotheses``).

    Args:
        lifter: any :class:`~poseprior.models.lifter.Lifter`.
        pixels: ``(T, P, 2)`` keypoints in pixels; ``camera`` ``(3, 3)`` or ``(T, 3, 3)``; ``confidence`` ``(T, P)``.
        hypotheses: samples per frame, for a lifter that draws them.

    Returns:
        The :class:`~poseprior.models.lifter.LiftResult` of the whole sequence, equal to one pass over it.
    """
    if not isinstance(lifter, Lifter):
        raise ValidationError(f"lifter: expected a Lifter (lift, context_frames), got {type(lifter).__name__}")
    T, h = pixels.shape[0], lifter.context_frames
    draws = hypotheses > 0 and not lifter.gives_rotations
    if block is None:
        block = max(1, BLOCK_SAMPLES // hypotheses) if draws else BLOCK_FRAMES
    parts = []
    for a in range(0, T, block):
        b = min(a + block, T)
        hi = min(T, b + h)
        lo = max(0, min(a - h, hi - 2 * h - 1))  # a short last block borrows earlier frames to fill a window
        cam = camera[lo:hi] if camera.ndim == 3 else camera
        parts.append(lifter.lift(pixels[lo:hi], cam, confidence[lo:hi], hypotheses).frames(slice(a - lo, b - lo)))
    return LiftResult.cat(parts)
