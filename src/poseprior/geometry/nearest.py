"""Exact nearest poses on SO(3)^K under the mean per-joint geodesic angle.

The distance between poses ``A, B (K, 3, 3)`` is ``d(A, B) = (1/K) sum_j angle(A_j^T B_j)`` in radians, the
mean per-joint geodesic distance (Pose-NDF's realism and coverage metrics, Tiwari et al. ECCV 2022, sum it over
joints; the mean reads as "degrees per joint"). ``angle = arccos((tr(A_j^T B_j) - 1) / 2)`` and the traces of all
pairs are one matrix product per joint, so the search is brute force, exact, and chunked to bound memory.

Example:
    >>> from poseprior.geometry import random_rotations
    >>> reference = random_rotations(50, 4)
    >>> distance, index = nearest_poses(reference[:3], reference)
    >>> index.tolist(), bool(distance.max() < 1e-3)
    ([0, 1, 2], True)
"""

from __future__ import annotations

import torch

from poseprior.errors import ValidationError

__all__ = ["nearest_poses"]


@torch.no_grad()
def nearest_poses(
    query: torch.Tensor, reference: torch.Tensor, max_elements: int = 2**26
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query pose, its nearest reference pose and their distance.

    Args:
        query: ``(N, K, 3, 3)`` rotations.
        reference: ``(M, K, 3, 3)`` rotations, same ``K``.
        max_elements: bound on the ``(chunk, M, K)`` trace tensor held at once (memory is 4 bytes each).

    Returns:
        ``distance (N,)``, the mean per-joint geodesic angle in radians, and ``index (N,)`` into ``reference``.
    """
    for name, x in (("query", query), ("reference", reference)):
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[-2:] != (3, 3):
            raise ValidationError(f"{name}: expected shape (N, K, 3, 3), got {tuple(getattr(x, 'shape', ()))}")
    if query.shape[1] != reference.shape[1]:
        raise ValidationError(f"query, reference: different joint counts {query.shape[1]} and {reference.shape[1]}")
    if reference.shape[0] == 0:
        raise ValidationError("reference: no poses to search")
    M, K = reference.shape[:2]
    ref = reference.to(query.dtype).flatten(-2).transpose(0, 1)  # (K, M, 9)
    chunk = max(1, max_elements // (M * K))
    distances, indices = [], []
    for q in query.flatten(-2).split(chunk):
        trace = torch.bmm(q.transpose(0, 1), ref.transpose(1, 2))  # (K, n, M): tr(A_j^T B_j) = <vec A_j, vec B_j>
        angle = torch.acos(((trace - 1) / 2).clamp(-1.0, 1.0)).mean(0)  # (n, M)
        d, i = angle.min(-1)
        distances.append(d)
        indices.append(i)
    return torch.cat(distances), torch.cat(indices)
