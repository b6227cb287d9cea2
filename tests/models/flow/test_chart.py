"""``SO3Chart``: the exponential chart of SO(3)^K onto R^{3K} and its exact log-Jacobian."""

from __future__ import annotations

import math

import roma
import torch

from poseprior.models.flow.chart import SO3Chart, log_haar_density_expcoords


def rotvecs(n: int, k: int, max_angle: float, generator: torch.Generator) -> torch.Tensor:
    """Rotation vectors ``(n, k, 3)`` with uniform directions and angles uniform in ``[0, max_angle]``."""
    axis = torch.nn.functional.normalize(torch.randn(n, k, 3, generator=generator, dtype=torch.float64), dim=-1)
    return axis * torch.rand(n, k, 1, generator=generator, dtype=torch.float64) * max_angle


def test_rotations_round_trip_to_1e5_up_to_near_pi():
    g = torch.Generator().manual_seed(0)
    chart = SO3Chart(roma.random_rotmat(3, generator=g))
    v = rotvecs(2000, 3, math.pi - 1e-3, g)
    R = chart.centers.double() @ roma.rotvec_to_rotmat(v)
    z, ladj = chart.to_euclidean(R)
    assert z.shape == (2000, 9) and ladj.shape == (2000,)
    R_back, ladj_back = chart.to_rotations(z)
    assert (R_back - R).abs().max() < 1e-5
    torch.testing.assert_close(ladj_back, -ladj)


def test_euclidean_round_trip_to_1e5():
    g = torch.Generator().manual_seed(1)
    chart = SO3Chart(roma.random_rotmat(2, generator=g))
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
        expected = torch.linalg.slogdet(J)[1] - log_haar_density_expcoords(v)
        torch.testing.assert_close(chart.to_euclidean(roma.rotvec_to_rotmat(v)[None])[1], expected, rtol=0, atol=1e-8)


def test_haar_density_in_expcoords_integrates_to_one():
    # Radial integral of h over the ball of radius pi: 4 pi t^2 h(t) dt, by the trapezoid rule.
    t = torch.linspace(0, math.pi, 200001, dtype=torch.float64)
    h = log_haar_density_expcoords(t[:, None] * torch.tensor([1.0, 0, 0], dtype=torch.float64)).exp()
    assert abs(torch.trapezoid(4 * math.pi * t**2 * h, t).item() - 1) < 1e-9
    # At the identity h = 1 / (8 pi^2): the volume of SO(3) in the measure of rotation vectors.
    torch.testing.assert_close(h[0], torch.tensor(1 / (8 * math.pi**2), dtype=torch.float64))


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
