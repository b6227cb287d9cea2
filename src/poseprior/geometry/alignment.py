"""Point-set alignment: the similarity (or rigid) transform that best maps one pose onto another.

Used by PA-MPJPE (:func:`poseprior.metrics.pa_mpjpe`). The solver is roma's Kabsch/Umeyama registration, which
returns proper rotations only: a pose is never aligned to its mirror image.

Example:
    >>> import torch
    >>> from poseprior.geometry import random_rotations
    >>> x = torch.randn(17, 3, dtype=torch.float64)
    >>> y = 2.0 * x @ random_rotations(dtype=torch.float64).T + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> torch.allclose(procrustes_align(x, y), y)
    True
"""

from __future__ import annotations

import roma
import torch

from poseprior.errors import ValidationError, describe_type

__all__ = ["procrustes", "procrustes_align"]


def procrustes(
    pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None, scale: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The transform ``(R, t, s)`` minimizing ``sum_j w_j |s R pred_j + t - target_j|^2``.

    Args:
        pred: ``(..., J, 3)`` points to move.
        target: ``(..., J, 3)`` points to reach, same shape.
        weights: optional ``(..., J)`` non-negative weights, or a boolean mask (``False`` drops a point); it
            broadcasts against the batch. Each sample needs a positive total weight. Dropped points may
            hold any value, NaN included.
        scale: find the optimal scale ``s`` (similarity Procrustes, Umeyama 1991); otherwise ``s = 1`` (rigid).

    Returns:
        ``R (..., 3, 3)`` with ``det R = +1``, ``t (..., 3)`` and ``s (...)``. When ``pred`` has no spread
        (all weighted points coincide) the best similarity is ``s = 0``, ``t`` = the target's weighted centroid.
    """
    check_point_pair(pred, target)
    w = _check_weights(weights, pred)
    if w is not None:
        # Zero-weight points still enter roma's sums (as 0 * x): clear them so NaN placeholders do no harm.
        keep = (w > 0).unsqueeze(-1)
        pred, target = torch.where(keep, pred, 0.0), torch.where(keep, target, 0.0)
    if not scale:
        R, t = roma.rigid_points_registration(pred, target, w)
        return R, t, torch.ones(R.shape[:-2], dtype=R.dtype, device=R.device)
    R, t, s = roma.rigid_points_registration(pred, target, w, compute_scaling=True)
    # roma divides by the spread of pred, 0/0 for a collapsed pose: patch in the limit s = 0. "Collapsed"
    # means a spread at the level of the centroid's rounding error.
    n = _normalized(w, pred)
    centred = pred - torch.einsum("...j,...ji->...i", n, pred).unsqueeze(-2)
    spread = torch.einsum("...j,...ji,...ji->...", n, centred, centred)
    magnitude = torch.einsum("...j,...ji,...ji->...", n, pred, pred)
    flat = spread <= (pred.shape[-2] * torch.finfo(pred.dtype).eps) ** 2 * magnitude
    s = torch.where(flat, 0.0, s)
    t = torch.where(flat.unsqueeze(-1), torch.einsum("...j,...ji->...i", n, target), t)
    return R, t, s


def procrustes_align(
    pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None, scale: bool = True
) -> torch.Tensor:
    """``pred`` ``(..., J, 3)`` moved onto ``target`` by the best similarity (``scale=False``: rigid) transform.

    Arguments are those of :func:`procrustes`; returns ``s R pred + t`` with the shape of ``pred``.
    """
    R, t, s = procrustes(pred, target, weights, scale)
    return s[..., None, None] * (pred @ R.transpose(-1, -2)) + t.unsqueeze(-2)


def check_point_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    """Raise a ValidationError naming ``pred`` or ``target`` unless both are float ``(..., J, 3)`` of one shape."""
    for name, x in (("pred", pred), ("target", target)):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValidationError(f"{name}: expected a floating-point torch.Tensor, got {describe_type(x)}")
        if x.ndim < 2 or x.shape[-1] != 3:
            raise ValidationError(f"{name}: expected shape (..., J, 3), got {tuple(x.shape)}")
    if pred.shape != target.shape:
        raise ValidationError(f"target: shape {tuple(target.shape)} differs from pred's {tuple(pred.shape)}")


def _check_weights(weights: torch.Tensor | None, pred: torch.Tensor) -> torch.Tensor | None:
    if weights is None:
        return None
    if not isinstance(weights, torch.Tensor):
        raise ValidationError(f"weights: expected a torch.Tensor or None, got {describe_type(weights)}")
    try:
        w = weights.to(pred.dtype).expand(pred.shape[:-1])
    except RuntimeError:
        shape = tuple(pred.shape[:-1])
        raise ValidationError(f"weights: shape {tuple(weights.shape)} does not broadcast to {shape}") from None
    if (w < 0).any() or not torch.isfinite(w).all():
        raise ValidationError("weights: must be finite and non-negative")
    if (w.sum(-1) <= 0).any():
        raise ValidationError("weights: every sample needs a positive total weight (at least one kept point)")
    return w


def _normalized(w: torch.Tensor | None, pred: torch.Tensor) -> torch.Tensor:
    if w is None:
        return pred.new_full(pred.shape[:-1], 1.0 / pred.shape[-2])
    return w / w.sum(-1, keepdim=True)
