"""Level cameras around a body: the world-to-camera rotation of a camera aimed at the origin.

Used by the synthetic views of the conditional flow (:mod:`poseprior.models.flow.condition`) and of the lifters
(:mod:`poseprior.data.lifting`). Camera axes are OpenCV's: x right, y down, z forward.

Example:
    >>> R_cw, direction = level_camera_rotations(torch.tensor([0.0, 1.0, 0.0]), torch.tensor(0.0), torch.tensor(0.0))
    >>> direction
    tensor([0., 0., 1.])
"""

from __future__ import annotations

import torch

__all__ = ["level_camera_rotations"]


def level_camera_rotations(up: torch.Tensor, yaw: torch.Tensor, pitch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Level cameras aimed at the origin from direction (yaw, pitch) radians ``(...)`` about world ``up (3,)``.

    Returns:
        ``R_cw (..., 3, 3)`` world-to-camera rotations (x right, y down, z forward; the camera's x axis is
        horizontal) and the unit directions ``(..., 3)`` from the origin to the camera.
    """
    up = up / up.norm()
    helper = up.new_tensor([1.0, 0.0, 0.0] if abs(float(up[0])) < 0.9 else [0.0, 0.0, 1.0])
    h1 = torch.linalg.cross(helper, up)
    h1 = h1 / h1.norm()
    h2 = torch.linalg.cross(up, h1)
    c, s = torch.cos(pitch).unsqueeze(-1), torch.sin(pitch).unsqueeze(-1)
    direction = c * (torch.cos(yaw).unsqueeze(-1) * h1 + torch.sin(yaw).unsqueeze(-1) * h2) + s * up
    forward = -direction
    down = -(up - (forward * up).sum(-1, keepdim=True) * forward)
    down = down / down.norm(dim=-1, keepdim=True)
    return torch.stack([torch.linalg.cross(down, forward), down, forward], dim=-2), direction
