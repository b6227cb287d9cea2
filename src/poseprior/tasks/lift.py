"""Lifting whole sequences in bounded memory: a lifter run on a long take a block of frames at a time, with
the same result as on the whole take at once.

A rotation lifter (:class:`~poseprior.models.lifter.RotationLifter`) sees a window of ``W`` frames around each
frame: each block carries ``W // 2`` frames of context on either side, so that every kept frame sees exactly
the inputs it would see in one pass. A flow lifter (:class:`~poseprior.models.lifter.ProbabilisticLifter`)
lifts each frame on its own: blocks hold ``budget // hypotheses`` frames, so memory grows with neither the
take's length nor the number of hypotheses.
"""

from __future__ import annotations

import torch

__all__ = ["lift_rotations", "lift_hypotheses", "BLOCK_FRAMES", "BLOCK_SAMPLES"]

#: Frames per block of a rotation lifter.
BLOCK_FRAMES = 4096
#: Frame-hypotheses per block of a flow lifter (its sampling takes about 120 KB per hypothesis, measured).
BLOCK_SAMPLES = 2_000


def lift_rotations(
    lifter, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor, block: int = BLOCK_FRAMES
) -> dict[str, torch.Tensor]:
    """``lifter(pixels, camera, confidence)`` on a ``(T, P, 2)`` sequence, ``block`` frames at a time.

    Args:
        lifter: a :class:`~poseprior.models.lifter.RotationLifter`.
        pixels: ``(T, P, 2)`` keypoints in pixels; ``camera`` ``(3, 3)`` or ``(T, 3, 3)``; ``confidence`` ``(T, P)``.

    Returns:
        The lifter's outputs (``rotations (T, K, 3, 3)``, ``root_rotation (T, 3, 3)``, ``positions (T, J, 3)``),
        equal to one pass over the whole sequence.
    """
    T, window = pixels.shape[0], lifter.config.window
    h = window // 2
    parts: list[dict[str, torch.Tensor]] = []
    for a in range(0, T, block):
        b = min(a + block, T)
        hi = min(T, b + h)
        lo = max(0, min(a - h, hi - window))  # a short last block borrows earlier frames to fill a window
        cam = camera[lo:hi] if camera.ndim == 3 else camera
        out = lifter(pixels[lo:hi], cam, confidence[lo:hi])
        parts.append({k: v[a - lo : b - lo] for k, v in out.items()})
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def lift_hypotheses(
    lifter,
    hypotheses: int,
    pixels: torch.Tensor,
    camera: torch.Tensor,
    confidence: torch.Tensor,
    budget: int = BLOCK_SAMPLES,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A flow lifter's mode and ``hypotheses`` samples per frame of a ``(T, P, 2)`` sequence, with their log
    densities, ``max(1, budget // hypotheses)`` frames at a time.

    Returns:
        ``mode (T, J, 3)``, ``samples (hypotheses, T, J, 3)`` and ``log_prob (hypotheses, T)``.
    """
    T = pixels.shape[0]
    step = max(1, budget // hypotheses)
    modes, samples, log_probs = [], [], []
    for a in range(0, T, step):
        sl = slice(a, min(a + step, T))
        px, conf = pixels[sl], confidence[sl]
        cam = camera[sl] if camera.ndim == 3 else camera
        modes.append(lifter.mode(px, cam, conf))
        s = lifter.sample(hypotheses, px, cam, conf)
        samples.append(s)
        log_probs.append(
            lifter.log_prob(s, px.expand(hypotheses, *px.shape), cam, conf.expand(hypotheses, *conf.shape))
        )
    return torch.cat(modes), torch.cat(samples, dim=1), torch.cat(log_probs, dim=1)
