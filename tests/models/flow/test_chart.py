"""``SO3Chart``: the exponential chart of SO(3)^K onto R^{3K} and its exact log-Jacobian."""

from __future__ import annotations

import math

import roma
import torch

from poseprior.geometry import log_haar_density_rotvec
from poseprior.models.flow.chart import SO3Chart, axes_with_first


def rotvecs(n: int, k: int, max_angle: float, generator: torch.Generator) -> torch.Tensor:
    """Rotation vectors ``(n, k, 3)`` with uniform directions and angles uniform in ``[0, max_angle]``."""
    axis = torch.nn.functional.normalize(torch.randn(n, k, 3, generator=generator, dtype=torch.float64), dim=-1)
    return axis * torch.rand(n, k, 1, generator=generator, dtype=torch.float64) * max_angle


def test_rotations_round_trip_to_1e5_up_to_near_pi():
    g = torch.Generator().manual_seed(0)
    chart = SO3Chart(roma.random_rotmat(3, generator=g), axes=roma.random_rotmat(3, generator=g))
    v = rotvecs(2000, 3, math.pi - 1e-3, g)
    R = chart.centers.double() @ roma.rotvec_to_rotmat(v)
    z, ladj = chart.to_euclidean(R)
    assert z.shape == (2000, 9) and ladj.shape == (2000,)
    R_back, ladj_back = chart.to_rotations(z)
    assert (R_back - R).abs().max() < 1e-5
    torch.testing.assert_close(ladj_back, -ladj)


def test_euclidean_round_trip_to_1e5():
    g = torch.Generator().manual_seed(1)
    chart = SO3Chart(roma.random_rotmat(2, generator=g), axes=roma.random_rotmat(2, generator=g))
    z = 3 * torch.randn(1000, 6, generator=g, dtype=torch.float64)
    R, _ = chart.to_rotations(z)
    assert (chart.to_euclidean(R)[0] - z).abs().max() < 1e-5


def test_log_jacobian_matches_autograd_determinant():
    """ladj = log|det dz/dv| - log h(v): the radial map's Jacobian by autograd, the Haar density by its formula."""
    chart = SO3Chart(num_joints=1)
    g = torch.Generator().manual_seed(2)
    for v in rotvecs(20, 1, 3.0, g)[:, 0]:
        z_of_v = lambda w: chart.to_euclidean(roma.rotvec_to_rotmat(w)[None])[0]
        J = torch.autograd.functional.jacobian(z_of_v, v)
        expected = torch.linalg.slogdet(J)[1] - log_haar_density_rotvec(v)
        torch.testing.assert_close(chart.to_euclidean(roma.rotvec_to_rotmat(v)[None])[1], expected, rtol=0, atol=1e-8)


def test_identity_maps_to_zero_and_gradients_are_finite_at_identity_and_near_pi():
    chart = SO3Chart(num_joints=2)
    z, _ = chart.to_euclidean(torch.eye(3).expand(1, 2, 3, 3))
    assert z.abs().max() == 0
    for angle in (0.0, 1e-6, math.pi - 1e-4):
        v = torch.tensor([[angle, 0.0, 0.0], [0.0, 0.0, angle]], dtype=torch.float64)
        R = roma.rotvec_to_rotmat(v).requires_grad_()
        z, ladj = chart.to_euclidean(R)
        (z.sum() + ladj.sum()).backward()
        assert torch.isfinite(z).all() and torch.isfinite(ladj).all() and torch.isfinite(R.grad).all(), angle


def test_axes_turn_the_coordinates_and_leave_the_jacobian():
    g = torch.Generator().manual_seed(4)
    centers, axes = roma.random_rotmat(2, generator=g), roma.random_rotmat(2, generator=g)
    R = centers.double() @ roma.rotvec_to_rotmat(rotvecs(50, 2, 3.0, g))
    z, ladj = SO3Chart(centers).to_euclidean(R)
    z_axes, ladj_axes = SO3Chart(centers, axes=axes).to_euclidean(R)
    torch.testing.assert_close(
        z_axes.unflatten(-1, (2, 3)),
        (axes.double().transpose(-1, -2) @ z.unflatten(-1, (2, 3)).unsqueeze(-1)).squeeze(-1),
    )
    torch.testing.assert_close(ladj_axes, ladj)


def test_fit_decorrelates_each_joint_and_keeps_a_given_first_axis():
    """A hinge 10 degrees off the x axis: fitted axes find it, so the coordinates of the joint are uncorrelated."""
    g = torch.Generator().manual_seed(5)
    hinge = torch.tensor([math.cos(0.17), math.sin(0.17), 0.0], dtype=torch.float64)
    v = (torch.rand(4000, 1, 1, generator=g, dtype=torch.float64) * 2 - 1) * hinge + 0.01 * torch.randn(
        4000, 1, 3, generator=g, dtype=torch.float64
    )
    R = roma.rotvec_to_rotmat(torch.cat([v, v.flip(-1)], dim=1))
    chart = SO3Chart.fit(R)
    assert torch.allclose(chart.axes.transpose(-1, -2) @ chart.axes, torch.eye(3).expand(2, 3, 3), atol=1e-5)
    assert torch.det(chart.axes).sub(1).abs().max() < 1e-5
    assert abs(float(chart.axes[0, :, 0].double() @ hinge)) > 0.999
    z = chart.to_euclidean(R.float())[0].unflatten(-1, (2, 3))
    correlation = torch.corrcoef(z[:, 0].T)
    assert (correlation - torch.eye(3)).abs().max() < 0.05
    first = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    chart = SO3Chart.fit(R, first=first)
    torch.testing.assert_close(chart.axes[0, :, 0], first[0])
    assert abs(float(chart.axes[0, :, 1].double() @ hinge)) > 0.98  # the hinge's projection on the plane


def test_axes_with_first_is_a_rotation_with_that_first_column():
    u = torch.tensor([[0.3, -0.4, 0.5], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    P = axes_with_first(u)
    torch.testing.assert_close(P[:, :, 0][[0, 2]], torch.nn.functional.normalize(u[[0, 2]], dim=-1))
    torch.testing.assert_close(P[1], torch.eye(3))
    torch.testing.assert_close(torch.det(P), torch.ones(3))
