"""Pinhole cameras (poseprior.geometry.camera): intrinsics, projection and its depth rule, level cameras."""

from __future__ import annotations

import math

import pytest
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import default_camera, intrinsics, level_camera_rotations, project_points
from poseprior.geometry.camera import MIN_DEPTH


def test_intrinsics_put_the_principal_point_at_the_centre():
    K = intrinsics(torch.tensor([900.0, 1200.0]), (640, 480))
    assert K.shape == (2, 3, 3)
    assert K[:, :2, 2].tolist() == [[320.0, 240.0], [320.0, 240.0]]
    assert K[:, 0, 0].tolist() == K[:, 1, 1].tolist() == [900.0, 1200.0]
    torch.testing.assert_close(default_camera((640, 480), 900.0), K[0])


def test_the_default_focal_length_is_the_larger_side_and_bad_sizes_are_refused():
    assert float(default_camera((1000, 800))[0, 0]) == 1000.0
    with pytest.raises(ValidationError, match="image_size"):
        default_camera((0, 100))
    with pytest.raises(ValidationError, match="focal_px"):
        default_camera((100, 100), -5.0)


def test_projection_divides_by_depth_and_clamps_points_at_or_behind_the_camera():
    K = default_camera((1000, 1000), 1000.0)
    points = torch.tensor([[0.1, -0.2, 2.0], [1.0, 1.0, 0.0], [1.0, 0.0, -3.0]], dtype=torch.float64)
    pixels = project_points(points, K)
    torch.testing.assert_close(pixels[0], torch.tensor([550.0, 400.0], dtype=torch.float64))
    assert torch.isfinite(pixels).all()
    torch.testing.assert_close(pixels[2], (1000.0 * points[2, :2] + 500.0 * points[2, 2]) / MIN_DEPTH)
    # batched intrinsics, one per frame
    per_frame = project_points(points[:1].expand(2, 1, 3), intrinsics(torch.tensor([1000.0, 500.0]), (1000, 1000)))
    assert per_frame[:, 0, 0].tolist() == pytest.approx([550.0, 525.0])


def test_level_cameras_look_at_the_origin_with_a_horizontal_x_axis():
    up = torch.tensor([0.0, 1.0, 0.0])
    yaw, pitch = torch.tensor([0.0, 1.0, -2.5]), torch.tensor([0.0, 0.3, -0.2])
    R_cw, direction = level_camera_rotations(up, yaw, pitch)
    torch.testing.assert_close(R_cw @ R_cw.transpose(-1, -2), torch.eye(3).expand(3, 3, 3), atol=1e-6, rtol=0)
    torch.testing.assert_close(R_cw[:, 2], -direction)  # forward is towards the origin
    assert R_cw[:, 0] @ up == pytest.approx(0.0, abs=1e-6) or bool((R_cw[:, 0] @ up).abs().max() < 1e-6)
    torch.testing.assert_close(torch.asin(direction @ up), pitch)
    assert math.isclose(float(direction[0] @ direction[0]), 1.0, abs_tol=1e-6)
