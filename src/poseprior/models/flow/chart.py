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
4. ``z' = P_j^T z``: coordinates along per-joint *axes* ``P_j`` (a rotation: Jacobian 1): the rig's joint
   frames (identity) or the principal axes of the joint's training rotations (:meth:`SO3Chart.fit`). A
   flow's coupling layers transform the three coordinates of a joint together with elementwise splines,
   which cannot model a correlation inside a joint: a knee hinge a few degrees off the rig's x axis becomes,
   once each coordinate is standardised, a diagonal line the flow spreads out. Principal axes remove that
   correlation and fit the training styles better, but the unconditional prior generalises worse with them
   (held-out styles, other labs' motion: ``benchmarks/flow_design.py``, docs/benchmarks.md, "Chart axes"),
   so it keeps the joint frames; the conditional flow takes each joint's bone as its first axis.

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

from poseprior.geometry import log_haar_density_rotvec

__all__ = ["SO3Chart", "axes_with_first"]


def axes_with_first(first: torch.Tensor) -> torch.Tensor:
    """Rotations ``(..., 3, 3)`` whose first column is the unit vector along ``first (..., 3)`` (the identity
    where ``first`` is 0); the other two columns are any orthonormal completion.

    Example:
        >>> axes_with_first(torch.tensor([[0.0, 0.0, 2.0]]))[0, :, 0]
        tensor([0., 0., 1.])
    """
    u = first.double()
    norm = u.norm(dim=-1, keepdim=True)
    u = u / norm.clamp_min(1e-12)
    # The right singular vectors of the projector onto u's orthogonal complement span that plane.
    e = torch.linalg.svd(torch.eye(3, dtype=u.dtype) - u.unsqueeze(-1) * u.unsqueeze(-2))[0][..., :, :2]
    P = torch.cat([u.unsqueeze(-1), e], dim=-1)
    P = torch.where(torch.det(P)[..., None, None] < 0, P * torch.tensor([1.0, 1.0, -1.0], dtype=u.dtype), P)
    return torch.where(norm[..., None] < 1e-9, torch.eye(3, dtype=u.dtype), P).to(first.dtype)


class SO3Chart(nn.Module):
    """Bijection ``(..., K, 3, 3) <-> (..., 3K)`` between SO(3)^K and R^{3K}; see the module docstring.

    Args:
        centers: ``(K, 3, 3)`` per-joint centre rotations (identity if None, then ``num_joints`` is needed).
        axes: ``(K, 3, 3)`` per-joint rotations whose columns are the coordinate axes (identity if None).

    Example:
        >>> chart = SO3Chart(num_joints=2)
        >>> R = roma.random_rotmat((5, 2))
        >>> z, ladj = chart.to_euclidean(R)
        >>> torch.allclose(chart.to_rotations(z)[0], R, atol=1e-5)
        True
    """

    def __init__(
        self, centers: torch.Tensor | None = None, num_joints: int | None = None, axes: torch.Tensor | None = None
    ):
        super().__init__()
        if centers is None:
            centers = torch.eye(3).expand(num_joints, 3, 3).clone()
        if axes is None:
            axes = torch.eye(3).expand(centers.shape[0], 3, 3)
        self.register_buffer("centers", centers.detach().clone().float())
        self.register_buffer("axes", axes.detach().clone().float())

    @classmethod
    def fit(cls, rotations: torch.Tensor, first: torch.Tensor | None = None) -> SO3Chart:
        """The chart of training ``rotations (N, K, 3, 3)``: centres at each joint's chordal mean rotation (the
        projection of the mean matrix onto SO(3)), axes along the principal axes of its rotation vectors about
        the centre (largest variance first).

        Args:
            first: ``(K, 3)`` optional first axis per joint, in the centred rotation-vector coordinates (a zero
                row leaves that joint's axes to the data); the other two are then the principal axes of the
                data in the plane perpendicular to it.

        Example:
            >>> chart = SO3Chart.fit(roma.random_rotmat((100, 4)))
            >>> chart.centers.shape, chart.axes.shape
            (torch.Size([4, 3, 3]), torch.Size([4, 3, 3]))
        """
        R = rotations.double()
        centers = roma.special_procrustes(R.mean(0))
        v = roma.rotmat_to_rotvec(centers.transpose(-1, -2) @ R)
        v = v - v.mean(0)
        cov = torch.einsum("nki,nkj->kij", v, v) / max(1, v.shape[0])
        given = torch.zeros(R.shape[1], 3, dtype=torch.float64) if first is None else first.double()
        basis = axes_with_first(given)
        axes = []
        for j in range(R.shape[1]):
            lead = int(float(given[j].norm()) > 1e-9)  # a given first axis stays; the rest follow the data
            block = basis[j, :, lead:].T @ cov[j] @ basis[j, :, lead:]
            vectors = torch.linalg.eigh(block)[1].flip(-1)  # descending variance
            P = torch.cat([basis[j, :, :lead], basis[j, :, lead:] @ vectors], dim=1)
            if torch.det(P) < 0:
                P[:, -1] = -P[:, -1]
            axes.append(P)
        return cls(centers.float(), axes=torch.stack(axes).float())

    @property
    def num_joints(self) -> int:
        return self.centers.shape[0]

    def to_euclidean(self, R: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z (..., 3K)`` and ``log|dz/dR|`` ``(...)``: log p_Haar(R) = log p_z(z) + ladj."""
        C = self.centers.to(R.dtype)
        v = roma.rotmat_to_rotvec(C.transpose(-1, -2) @ R)
        a = (v.square().sum(-1) / math.pi**2).clamp(max=1 - 1e-6)
        z = (v / (1 - a).unsqueeze(-1)).unsqueeze(-2) @ self.axes.to(R.dtype)  # P^T z, as row vectors
        ladj = torch.log1p(a) - 4 * torch.log1p(-a) - log_haar_density_rotvec(v)
        return z.squeeze(-2).flatten(-2), ladj.sum(-1)

    def to_rotations(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inverse map: rotations ``(..., K, 3, 3)`` and ``log|dR/dz|`` ``(...)`` (minus the forward ladj)."""
        z = (self.axes.to(z.dtype) @ z.unflatten(-1, (self.num_joints, 3)).unsqueeze(-1)).squeeze(-1)
        rho = z.norm(dim=-1, keepdim=True)
        # Solve t / (1 - t^2/pi^2) = rho for t in [0, pi): t = 2 rho / (1 + sqrt(1 + 4 rho^2 / pi^2)).
        scale = 2 / (1 + torch.sqrt(1 + 4 * rho.square() / math.pi**2))
        v = z * scale
        a = v.square().sum(-1) / math.pi**2
        ladj = torch.log1p(a) - 4 * torch.log1p(-a) - log_haar_density_rotvec(v)
        R = self.centers.to(z.dtype) @ roma.rotvec_to_rotmat(v)
        return R, -ladj.sum(-1)
