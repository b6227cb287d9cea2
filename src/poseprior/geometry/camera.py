"""Pinhole cameras: intrinsics, projection, and level cameras aimed at a body.

Camera axes are OpenCV's: x right, y down, z forward; pixels are ``(u, v)`` with the origin at the image's
top-left corner. Every projection in poseprior goes through :func:`project_points`, so there is one rule for
points at or behind the camera (their depth is clamped).

Example:
    >>> K = default_camera((1000, 800))
    >>> project_points(torch.tensor([[0.0, 0.0, 2.0], [1.0, 0.0, 2.0]]), K)
    tensor([[ 500.,  400.],
            [1000.,  400.]])
"""

from __future__ import annotations

import torch

from poseprior.errors import ValidationError

__all__ = ["intrinsics", "default_camera", "project_points", "MIN_DEPTH", "level_camera_rotations"]

#: Depth (in the points' unit) below which :func:`project_points` clamps: points at or behind the camera
#: project to finite pixels, and gradients stay finite, instead of dividing by zero.
MIN_DEPTH = 1e-3


def intrinsics(focal_px: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
    """Intrinsics ``(..., 3, 3)`` of square-pixel cameras with focal lengths ``focal_px (...)`` pixels and the
    principal point at the centre of a ``(width, height)`` image.

    Example:
        >>> intrinsics(torch.tensor([900.0]), (640, 480))[0]
        tensor([[900.,   0., 320.],
                [  0., 900., 240.],
                [  0.,   0.,   1.]])
    """
    K = torch.zeros(*focal_px.shape, 3, 3, dtype=focal_px.dtype, device=focal_px.device)
    K[..., 0, 0] = K[..., 1, 1] = focal_px
    K[..., 0, 2], K[..., 1, 2], K[..., 2, 2] = image_size[0] / 2, image_size[1] / 2, 1.0
    return K


def default_camera(image_size: tuple[int, int], focal_px: float | None = None) -> torch.Tensor:
    """Intrinsics ``(3, 3)`` of a ``(width, height)`` image when the camera is unknown: principal point at the
    centre, focal length ``focal_px`` or, by default, the image's larger side (a field of view of about 53
    degrees).

    Raises:
        ValidationError: a size or focal length that is not positive.

    Example:
        >>> default_camera((1000, 800))
        tensor([[1000.,    0.,  500.],
                [   0., 1000.,  400.],
                [   0.,    0.,    1.]])
    """
    w, h = image_size
    if not (w > 0 and h > 0):
        raise ValidationError(f"image_size: expected a positive (width, height), got {image_size!r}")
    f = float(max(w, h)) if focal_px is None else float(focal_px)
    if not f > 0:
        raise ValidationError(f"focal_px: expected a positive focal length in pixels, got {focal_px!r}")
    return intrinsics(torch.tensor(f), (w, h))


def project_points(points: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
    """Pixels ``(..., P, 2)`` of camera-frame points ``(..., P, 3)`` (z forward, any length unit) through
    intrinsics ``camera (3, 3)`` or ``(..., 3, 3)``; depths below :data:`MIN_DEPTH` are clamped to it."""
    image = points @ camera.to(points).transpose(-1, -2)
    return image[..., :2] / image[..., 2:].clamp_min(MIN_DEPTH)


def level_camera_rotations(
    up: torch.Tensor, yaw: torch.Tensor, pitch: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Level cameras aimed at the origin from direction (yaw, pitch) radians ``(...)`` about world ``up (3,)``
    (the synthetic views of :mod:`poseprior.models.flow.condition` and :mod:`poseprior.data.lifting`).

    Returns:
        ``R_cw (..., 3, 3)`` world-to-camera rotations (x right, y down, z forward; the camera's x axis is
        horizontal) and the unit directions ``(..., 3)`` from the origin to the camera.

    Example:
        >>> R_cw, direction = level_camera_rotations(torch.tensor([0.0, 1.0, 0.0]), torch.tensor(0.0), torch.tensor(0.0))
        >>> direction
        tensor([0., 0., 1.])
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
