"""Keypoint targets of the fitting tasks: which combination of a skeleton's joints each keypoint is.

Keypoints come either as the skeleton's own joints (in its order) or in a layout such as COCO-17 or
Human3.6M-17, whose keypoints are fixed affine combinations of joint positions
(:func:`~poseprior.skeleton.layouts.layout_map_for`). Both become a matrix ``A (P, J)`` with keypoints
``= A @ joint positions``; :func:`joint_targets` recovers, for the IK model that starts a fit, the joints that
are a keypoint by themselves.

Example:
    >>> from poseprior.skeleton import Skeleton
    >>> sk = Skeleton(("root", "a"), (-1, 0), torch.tensor([[0.0, 0, 0], [0, 1, 0]]))
    >>> keypoint_matrix(sk, None, 2)
    tensor([[1., 0.],
            [0., 1.]], dtype=torch.float64)
"""

from __future__ import annotations

import torch

from poseprior.errors import ValidationError
from poseprior.skeleton import Skeleton
from poseprior.skeleton.layouts import KeypointLayout, layout_map_for

__all__ = ["keypoint_matrix", "joint_targets"]


def keypoint_matrix(skeleton: Skeleton, layout: str | KeypointLayout | None, num_keypoints: int) -> torch.Tensor:
    """``A (P, J)`` float64: the ``P`` keypoints as affine combinations of the skeleton's ``J`` joints (the
    identity when ``layout`` is None: the keypoints are the joints, in the skeleton's order)."""
    if layout is None:
        if num_keypoints != skeleton.num_joints:
            raise ValidationError(
                f"keypoints: {num_keypoints} keypoints per frame but the skeleton has {skeleton.num_joints} joints; give "
                "the keypoints in the skeleton's joint order or name their layout (layout='coco17' or 'h36m17')"
            )
        return torch.eye(num_keypoints, dtype=torch.float64)
    A = layout_map_for(skeleton, layout).matrix(skeleton).to(torch.float64)
    if A.shape[0] != num_keypoints:
        raise ValidationError(
            f"keypoints: {num_keypoints} keypoints per frame but layout {getattr(layout, 'name', layout)!r} has {A.shape[0]}"
        )
    return A


def joint_targets(
    A: torch.Tensor, points: torch.Tensor, visible: torch.Tensor, skeleton: Skeleton
) -> tuple[torch.Tensor, torch.Tensor]:
    """Joint values ``(T, J, D)`` and visibility ``(T, J)`` from keypoints ``points (T, P, D)``, ``visible (T, P)``.

    A joint is seen where some keypoint is that joint alone (a row of ``A`` that is one-hot); the root, when
    no keypoint is it, is approximated by the mean of its seen children (hip keypoints for the pelvis), good
    enough to start an IK model. Other joints are unseen (zeros).
    """
    T, J = points.shape[0], skeleton.num_joints
    out = points.new_zeros(T, J, points.shape[-1])
    seen = torch.zeros(T, J, dtype=torch.bool, device=points.device)
    for p, j in (A == 1).nonzero().tolist():
        out[:, j], seen[:, j] = points[:, p], visible[:, p]
    if not seen[:, 0].all():
        kids = skeleton.children(0)
        w = seen[:, kids].to(points.dtype)
        mean = (out[:, kids] * w[..., None]).sum(1) / w.sum(1, keepdim=True).clamp_min(1)
        use = ~seen[:, 0] & (w.sum(1) > 0)
        out[use, 0], seen[use, 0] = mean[use], True
    return out, seen
