"""The rotation that stands a skeleton's rest pose up: for drawing and writing poses that carry no global
orientation (a prior's samples model the joints below the root, not the body's direction).

Example:
    >>> R = upright_rotation(skeleton)  # doctest: +SKIP
    >>> positions = forward_kinematics(skeleton, torch.cat([R.expand(N, 1, 3, 3), pose], 1))[0]  # doctest: +SKIP
"""

from __future__ import annotations

import torch

from poseprior.errors import ValidationError
from poseprior.geometry import rotvec_between, rotvec_to_matrix
from poseprior.skeleton.kinematics import forward_kinematics
from poseprior.skeleton.layouts import H36M17, layout_map_for
from poseprior.skeleton.skeleton import Skeleton

__all__ = ["upright_rotation"]


def upright_rotation(skeleton: Skeleton, up: tuple[float, float, float] = (0.0, 1.0, 0.0)) -> torch.Tensor:
    """``(3, 3)`` float64: the smallest rotation that turns the rest pose's body axis onto ``up``.

    The body axis runs from the feet to the head (Human3.6M-17 keypoints mapped from the joint names, see
    :func:`~poseprior.skeleton.layouts.layout_map_for`); for a skeleton without such names, along the root's
    first child bone (the spine, in most mocap skeletons); the identity for a skeleton without either. Some
    rest poses lie along another axis (Bandai Namco's: +X), which this rights.
    """
    eye = torch.eye(3, dtype=torch.float64)
    try:
        keypoints = layout_map_for(skeleton, H36M17).apply(
            forward_kinematics(skeleton, eye.expand(skeleton.num_joints, 3, 3))[0], skeleton
        )
        axis = (
            keypoints[H36M17.index("Head")] - (keypoints[H36M17.index("LFoot")] + keypoints[H36M17.index("RFoot")]) / 2
        )
    except ValidationError:
        children = skeleton.children(0)
        axis = skeleton.offsets[children[0]].double() if children else torch.zeros(3, dtype=torch.float64)
    if float(axis.norm()) < 1e-9:
        return eye
    target = torch.tensor(up, dtype=torch.float64)
    return rotvec_to_matrix(rotvec_between(axis / axis.norm(), target / target.norm()))
