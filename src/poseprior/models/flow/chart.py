"""The exponential chart of SO(3)^K as a bijection onto R^{3K}, with its exact log-Jacobian.

Written by hand because no library provides it: zuko's flows live on R^D, and roma gives the maps but not
their densities. For each joint ``j``:

1. ``R~ = C_j^T R``: left multiplication by a fixed *centre* ``C_j`` (the joint's mean rotation on the
   training data) moves the data away from the cut locus at angle pi. Haar measure is invariant, so the
   Jacobian is 1.
2. ``v = log(R~)``: the rotation vector in the open ball of radius pi. The normalized Haar measure has
   density ``h(v) = (1 - cos t) / (4 pi^2 t^2)``, ``t = |v|``, in these coordinates (it integrates to 1 on
   the ball), so a density ``p_v`` on the ball is ``p_v(v) / h(v)`` with respect to Haar.
3. ``z = v / (1 - t^2/pi^2)``: a radial bijection of the open ball onto R^3 (identity to first order at 0,
   inverse in closed form), ``log|det dz/dv| = log(1 + a) - 4 log(1 - a)``, ``a = t^2/pi^2``.

Together they map SO(3)^K minus the measure-zero set {some angle = pi} onto R^{3K}, so a density on R^{3K}
(the Euclidean flow's) defines an exact density on SO(3)^K with respect to the normalized Haar measure.
This is the chart construction of Falorsi et al., "Reparameterizing Distributions on Lie Groups"
(AISTATS 2019), with a radial map instead of their truncation so that the whole open chart is covered.
"""

from __future__ import annotations

import math

import roma
import torch
from torch import nn

__all__ = ["SO3Chart", "log_haar_density_expcoords"]

_LOG_4PI2 = math.log(4 * math.pi**2)


def log_haar_density_expcoords(v: torch.Tensor) -> torch.Tensor:
    """Log-density ``(...)`` of the normalized Haar measure at rotation vectors ``v (..., 3)``, ``|v| < pi``.

    ``h(v) = (1 - cos t) / (4 pi^2 t^2) = sinc(t / 2)^2 / (8 pi^2)`` with the unnormalized sinc, stable at 0.
    """
    t = v.norm(dim=-1)
    return 2 * torch.log(torch.sinc(t / (2 * math.pi))) - math.log(2.0) - _LOG_4PI2


class SO3Chart(nn.Module):
    """Bijection ``(..., K, 3, 3) <-> (..., 3K)`` between SO(3)^K and R^{3K}; see the module docstring.

    Args:
        centers: ``(K, 3, 3)`` per-joint centre rotations (identity if None, then ``num_joints`` is needed).

    Example:
        >>> chart = SO3Chart(num_joints=2)
        >>> R = roma.random_rotmat((5, 2))
        >>> z, ladj = chart.to_euclidean(R)
        >>> torch.allclose(chart.to_rotations(z)[0], R, atol=1e-5)
        True
    """

    def __init__(self, centers: torch.Tensor | None = None, num_joints: int | None = None):
        super().__init__()
        if centers is None:
            centers = torch.eye(3).expand(num_joints, 3, 3).clone()
        self.register_buffer("centers", centers.detach().clone().float())

    @property
    def num_joints(self) -> int:
        return self.centers.shape[0]

    def to_euclidean(self, R: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z (..., 3K)`` and ``log|dz/dR|`` ``(...)``: log p_Haar(R) = log p_z(z) + ladj."""
        C = self.centers.to(R.dtype)
        v = roma.rotmat_to_rotvec(C.transpose(-1, -2) @ R)
        a = (v.square().sum(-1) / math.pi**2).clamp(max=1 - 1e-6)
        z = v / (1 - a).unsqueeze(-1)
        ladj = torch.log1p(a) - 4 * torch.log1p(-a) - log_haar_density_expcoords(v)
        return z.flatten(-2), ladj.sum(-1)

    def to_rotations(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inverse map: rotations ``(..., K, 3, 3)`` and ``log|dR/dz|`` ``(...)`` (minus the forward ladj)."""
        z = z.unflatten(-1, (self.num_joints, 3))
        rho = z.norm(dim=-1, keepdim=True)
        # Solve t / (1 - t^2/pi^2) = rho for t in [0, pi): t = 2 rho / (1 + sqrt(1 + 4 rho^2 / pi^2)).
        scale = 2 / (1 + torch.sqrt(1 + 4 * rho.square() / math.pi**2))
        v = z * scale
        a = v.square().sum(-1) / math.pi**2
        ladj = torch.log1p(a) - 4 * torch.log1p(-a) - log_haar_density_expcoords(v)
        R = self.centers.to(z.dtype) @ roma.rotvec_to_rotmat(v)
        return R, -ladj.sum(-1)
