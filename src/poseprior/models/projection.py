"""Projection of poses onto a prior's plausible set by MAP estimation: ``project`` for energy-based priors.

Two estimators share the noise model (isotropic Gaussian of ``noise_deg`` per joint in the tangent space):
:func:`map_projection` optimises the pose under the prior's energy, :func:`latent_map_projection` optimises
the latent code of a generative model (a flow's base point), which is far better conditioned for flows.

Pose space (:func:`map_projection`): a prior with a differentiable energy ``E`` (``-log_prob`` for exact priors) projects a pose ``R (..., K, 3, 3)``
to the maximum a posteriori pose under isotropic Gaussian noise of ``noise_deg`` per joint in the tangent space:

    R* = argmin_{R'}  E(R') + sum_j |log(R_j^T R'_j)|^2 / (2 sigma^2),     sigma = noise_deg in radians,

with ``R'_j = R_j exp(delta_j)`` optimised over the rotation vectors ``delta (..., K, 3)`` by Adam (Kingma and Ba,
ICLR 2015) from ``delta = 0``. The proximity term keeps the result near the input (a prior's mode alone would
forget the pose); ``noise_deg`` says how far to trust the prior over the input. Every pose of the batch is
optimised independently (the objective is a sum over poses).

Example:
    >>> prior = TangentGaussianPrior.fit(roma.random_rotmat((100, 3)))  # doctest: +SKIP
    >>> map_projection(prior.energy, R, noise_deg=20).shape == R.shape  # doctest: +SKIP
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable

import roma
import torch

from poseprior.errors import ValidationError

__all__ = ["map_projection", "latent_map_projection"]


def _check_options(noise_deg: float, steps: int, lr: float) -> None:
    if not noise_deg > 0:
        raise ValidationError(f"noise_deg: expected a positive number of degrees, got {noise_deg!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValidationError(f"steps: expected a non-negative integer, got {steps!r}")
    if not lr > 0:
        raise ValidationError(f"lr: expected a positive step size, got {lr!r}")


def map_projection(
    energy: Callable[[torch.Tensor], torch.Tensor],
    R: torch.Tensor,
    noise_deg: float = 20.0,
    steps: int = 40,
    lr: float = 0.02,
) -> torch.Tensor:
    """The MAP pose ``(..., K, 3, 3)`` near ``R (..., K, 3, 3)`` under ``energy`` (see the module docstring).

    Args:
        energy: differentiable ``(..., K, 3, 3) -> (...)``, lower is more plausible (in nats for exact priors).
        R: poses to project.
        noise_deg: standard deviation of the assumed per-joint noise, degrees (larger trusts the prior more).
        steps: Adam steps.
        lr: Adam step size, radians per step and coordinate.

    Returns:
        The projected poses, detached, same dtype and device as ``R``.
    """
    _check_options(noise_deg, steps, lr)
    R = R.detach()
    weight = 0.5 / math.radians(noise_deg) ** 2
    delta = torch.zeros(*R.shape[:-2], 3, dtype=R.dtype, device=R.device, requires_grad=True)
    optimizer = torch.optim.Adam([delta], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            objective = energy(R @ roma.rotvec_to_rotmat(delta)) + weight * delta.square().sum((-1, -2))
            objective.sum().backward()
            optimizer.step()
    return (R @ roma.rotvec_to_rotmat(delta.detach())).detach()


def latent_map_projection(
    to_latent: Callable[[torch.Tensor], torch.Tensor],
    from_latent: Callable[[torch.Tensor], torch.Tensor],
    R: torch.Tensor,
    noise_deg: float = 30.0,
    steps: int = 30,
    lr: float = 0.1,
) -> torch.Tensor:
    """The pose ``(..., K, 3, 3)`` decoded from the MAP latent code of ``R (..., K, 3, 3)``.

    For a generative model ``R = g(z)`` with a standard normal latent ``z (..., D)`` (a flow's base point):

        z* = argmin_z  |z|^2 / 2 + sum_j |g(z)_j - R_j|_F^2 / (4 sigma^2),     result g(z*),

    (``|A - B|_F^2 / 2 = 4 sin^2(theta / 2)`` is the squared geodesic angle ``theta^2`` to second order, and
    smooth everywhere), by Adam from ``z`` = the encoding ``to_latent(R)`` pulled radially into the ball of the
    typical norm ``sqrt(D)`` (a noisy pose's code is far out in the tails). Optimising the code instead of the
    pose follows Asim et al., "Invertible generative models for inverse problems", ICML 2020: the Gaussian
    latent is well conditioned where a flow's density in pose space has huge, erratic gradients off the data.

    Args:
        to_latent: ``(..., K, 3, 3) -> (..., D)``, the inverse of ``from_latent``.
        from_latent: ``(..., D) -> (..., K, 3, 3)``, differentiable.
        R: poses to project.
        noise_deg: standard deviation of the assumed per-joint noise, degrees.
        steps: Adam steps.
        lr: Adam step size in latent units.

    Returns:
        The projected poses, detached.
    """
    _check_options(noise_deg, steps, lr)
    R = R.detach()
    weight = 0.25 / math.radians(noise_deg) ** 2
    with torch.no_grad():
        z = to_latent(R)
        norm = z.norm(dim=-1, keepdim=True)
        z = z * (math.sqrt(z.shape[-1]) / norm.clamp_min(1e-12)).clamp(max=1.0)
    z.requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            residual = (from_latent(z) - R).square().sum((-1, -2, -3))
            (0.5 * z.square().sum(-1) + weight * residual).sum().backward()
            optimizer.step()
    with torch.no_grad():
        return from_latent(z)
