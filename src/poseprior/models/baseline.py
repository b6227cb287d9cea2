"""Baseline priors: Gaussians on the tangent space at each joint's mean rotation, fitted in closed form.

Each joint's rotation ``R_j`` is written as its rotation vector from the joint's mean rotation ``C_j``,
``v_j = log(C_j^T R_j)``, in the open ball ``|v_j| < pi`` (exponential coordinates; left multiplication by
``C_j^T`` preserves the Haar measure). The prior is a Gaussian on ``v = (v_1, ..., v_K)`` **truncated to the
product of balls** and normalised there, so its density with respect to the normalized Haar measure is exact:

    log p(R) = log N(v; mu, Sigma) - log P_ball - sum_j log h(v_j)

with ``h(v) = (1 - cos |v|) / (4 pi^2 |v|^2)`` the Haar density in exponential coordinates
(:func:`~poseprior.geometry.log_haar_density_rotvec`) and ``P_ball`` the Gaussian's mass inside the
balls. ``P_ball`` has no closed form for an anisotropic Gaussian: :meth:`TangentGaussianPrior.fit` estimates it
once from ``2^20`` seeded draws (stored as ``log_mass``; its standard error, ``sqrt((1 - P) / (P M))`` nats, is
about 1e-5 nats on bandai-v1, where ``1 - P`` is about 1e-4). Sampling is exact: Gaussian draws with any
``|v_j| >= pi`` are rejected.

Two covariance structures (``covariance``):

- ``"joint"``: independent joints, a full 3x3 covariance each (block-diagonal): the issue's "independent
  per-joint tangent-space Gaussians".
- ``"full"``: one ``3K x 3K`` covariance over all joints' tangent vectors.

``fit`` takes the centres as the chordal means (as :meth:`FlowPrior.from_data
<poseprior.models.flow.FlowPrior.from_data>` does), then the sample mean and covariance of ``v`` (the
maximum-likelihood Gaussian; the truncation, of mass about 1e-4 on real poses, is normalised, not refitted).

Example:
    >>> prior = TangentGaussianPrior.fit(roma.random_rotmat((500, 3)), covariance="full")
    >>> prior.log_prob(prior.sample(4)).shape
    torch.Size([4])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import roma
import torch
from torch import nn

from poseprior.errors import ValidationError
from poseprior.geometry import check_rotations, log_haar_density_rotvec, random_rotations
from poseprior.models.prior import ConfiguredJoints, PoseJoints, default_joint_names
from poseprior.models.projection import map_projection

__all__ = ["GaussianConfig", "TangentGaussianPrior", "UniformPrior", "COVARIANCES"]

_LOG_2PI = math.log(2 * math.pi)

#: Values of :attr:`GaussianConfig.covariance`.
COVARIANCES = ("joint", "full")


@dataclass(frozen=True)
class GaussianConfig:
    """Structure of a :class:`TangentGaussianPrior`.

    Attributes:
        num_joints: ``K``.
        covariance: ``"joint"`` (independent joints, 3x3 each) or ``"full"`` (``3K x 3K``).
        joints: joint names and skeleton (:class:`~poseprior.models.prior.PoseJoints`); generic names if None.
    """

    num_joints: int
    covariance: str = "joint"
    joints: PoseJoints | None = None

    def __post_init__(self) -> None:
        if self.covariance not in COVARIANCES:
            raise ValidationError(f"covariance: expected one of {COVARIANCES}, got {self.covariance!r}")
        if self.joints is not None and len(self.joints.names) != self.num_joints:
            raise ValidationError(f"joints: expected {self.num_joints} joint names, got {len(self.joints.names)}")

    def to_dict(self) -> dict:
        return {
            "num_joints": self.num_joints,
            "covariance": self.covariance,
            "joints": self.joints and self.joints.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> GaussianConfig:
        joints = d.get("joints")
        return cls(int(d["num_joints"]), d.get("covariance", "joint"), PoseJoints.from_dict(joints) if joints else None)


class TangentGaussianPrior(ConfiguredJoints, nn.Module):
    """Truncated Gaussian on the rotation vectors from each joint's mean rotation; exact density on SO(3)^K.

    See the module docstring for the construction. Build with :meth:`fit`, or from saved buffers.

    Args:
        config: structure and joints.
        centers: ``(K, 3, 3)`` per-joint mean rotations.
        loc: ``(3K,)`` mean of the rotation vectors.
        scale_tril: ``(3K, 3K)`` lower Cholesky factor of their covariance (block-diagonal for ``"joint"``).
        log_mass: log of the Gaussian's mass inside the balls ``|v_j| < pi`` (0: all of it).
    """

    def __init__(
        self,
        config: GaussianConfig,
        centers: torch.Tensor | None = None,
        loc: torch.Tensor | None = None,
        scale_tril: torch.Tensor | None = None,
        log_mass: float = 0.0,
    ):
        super().__init__()
        K, D = config.num_joints, 3 * config.num_joints
        self.config = config
        self.register_buffer(
            "centers", torch.eye(3).expand(K, 3, 3).clone() if centers is None else centers.detach().float().clone()
        )
        self.register_buffer("loc", torch.zeros(D) if loc is None else loc.detach().float().clone())
        self.register_buffer("scale_tril", torch.eye(D) if scale_tril is None else scale_tril.detach().float().clone())
        self.register_buffer("log_mass", torch.tensor(float(log_mass)))

    @classmethod
    def fit(
        cls,
        rotations: torch.Tensor,
        covariance: str = "joint",
        joints: PoseJoints | None = None,
        mass_samples: int = 2**20,
        seed: int = 0,
    ) -> TangentGaussianPrior:
        """Closed-form fit to training poses ``rotations (N, K, 3, 3)``; see the module docstring.

        Args:
            rotations: training poses (never the test split).
            covariance: ``"joint"`` or ``"full"``.
            joints: names and skeleton to carry (e.g. ``PoseJoints.from_skeleton(dataset.skeleton)``).
            mass_samples, seed: Monte Carlo draws (and their seed) estimating the mass inside the balls.
        """
        if not isinstance(rotations, torch.Tensor) or rotations.ndim != 4 or rotations.shape[-2:] != (3, 3):
            raise ValidationError(
                f"rotations: expected shape (N, K, 3, 3), got {tuple(getattr(rotations, 'shape', ()))}"
            )
        N, K = rotations.shape[:2]
        if N < 2:
            raise ValidationError(f"rotations: need at least 2 poses to fit a covariance, got {N}")
        check_rotations(rotations, "rotations", tol=1e-3)
        config = GaussianConfig(K, covariance, joints)
        R = rotations.double()
        centers = roma.special_procrustes(R.mean(0))
        v = roma.rotmat_to_rotvec(centers.transpose(-1, -2) @ R).flatten(1)
        loc = v.mean(0)
        cov = (v - loc).T @ (v - loc) / N
        if covariance == "joint":
            cov = cov * torch.block_diag(*[torch.ones(3, 3, dtype=cov.dtype)] * K)
        # A tiny ridge keeps the factorisation defined for degenerate data (e.g. a joint that never moves).
        L = torch.linalg.cholesky(cov + 1e-10 * torch.eye(3 * K, dtype=cov.dtype))
        g = torch.Generator().manual_seed(seed)
        inside = 0
        for start in range(0, mass_samples, 2**16):
            eps = torch.randn(min(2**16, mass_samples - start), 3 * K, generator=g, dtype=L.dtype)
            inside += _in_balls(loc + eps @ L.T).sum().item()
        if inside == 0:
            raise ValidationError(
                "rotations: the fitted Gaussian has no mass inside the balls |v| < pi; is the data a point cloud?"
            )
        return cls(config, centers, loc, L, math.log(inside / mass_samples))

    def num_parameters(self) -> int:
        """Free parameters: means and covariances (the centres are statistics of the same data)."""
        D = 3 * self.num_joints
        return D + (6 * self.num_joints if self.config.covariance == "joint" else D * (D + 1) // 2)

    def log_prob(self, R: torch.Tensor, validate: bool = True) -> torch.Tensor:
        """Exact log-density ``(...)`` in nats of ``R (..., K, 3, 3)`` w.r.t. the normalized Haar measure.

        Args:
            R: local joint rotations.
            validate: check that ``R`` holds rotations (a clear error instead of a silent wrong number).
        """
        K = self.num_joints
        if not isinstance(R, torch.Tensor) or R.ndim < 3 or R.shape[-3:] != (K, 3, 3):
            raise ValidationError(
                f"R: expected shape (..., {K}, 3, 3) for this {K}-joint prior, got {tuple(getattr(R, 'shape', ()))}"
            )
        if validate:
            check_rotations(R, "R", tol=1e-3)
        v = roma.rotmat_to_rotvec(self.centers.transpose(-1, -2) @ R.to(self.loc.dtype))
        x = torch.linalg.solve_triangular(
            self.scale_tril, (v.flatten(-2) - self.loc).unsqueeze(-1), upper=False
        ).squeeze(-1)
        log_gauss = -0.5 * x.square().sum(-1) - self.scale_tril.diagonal().log().sum() - 1.5 * K * _LOG_2PI
        return log_gauss - self.log_mass - log_haar_density_rotvec(v).sum(-1)

    def energy(self, R: torch.Tensor) -> torch.Tensor:
        """``-log_prob(R)`` ``(...)`` in nats; differentiable."""
        return -self.log_prob(R, validate=False)

    def project(self, R: torch.Tensor, noise_deg: float = 20.0, steps: int = 40, lr: float = 0.02) -> torch.Tensor:
        """MAP poses ``(..., K, 3, 3)`` near ``R`` under this prior and Gaussian noise of ``noise_deg`` per joint
        (:func:`~poseprior.models.projection.map_projection`)."""
        self.log_prob(R)  # validates
        return map_projection(self.energy, R.to(self.loc.dtype), noise_deg, steps, lr)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Exact samples ``(n, K, 3, 3)``: Gaussian draws, rejecting those outside the balls."""
        if n < 0:
            raise ValidationError(f"n: expected a non-negative number of samples, got {n}")
        accept = max(self.log_mass.exp().item(), 1e-3)
        kept: list[torch.Tensor] = []
        have = 0
        while have < n:
            batch = int((n - have) / accept * 1.1) + 16
            eps = torch.randn(batch, self.loc.shape[0], generator=generator, dtype=self.loc.dtype).to(self.loc.device)
            v = self.loc + eps @ self.scale_tril.T
            v = v[_in_balls(v)]
            kept.append(v)
            have += v.shape[0]
        v = torch.cat(kept)[:n].unflatten(-1, (self.num_joints, 3))
        return self.centers @ roma.rotvec_to_rotmat(v)


class UniformPrior(nn.Module):
    """No prior: the normalized Haar measure on SO(3)^K itself (``log_prob = energy = 0``, ``project`` is the
    identity). The reference row "no prior" of comparisons, and a drop-in for a fitting call without a prior.

    Example:
        >>> UniformPrior(2).log_prob(UniformPrior(2).sample(3))
        tensor([0., 0., 0.])
    """

    def __init__(self, num_joints: int, joints: PoseJoints | None = None):
        super().__init__()
        if isinstance(num_joints, bool) or not isinstance(num_joints, int) or num_joints < 1:
            raise ValidationError(f"num_joints: expected a positive integer, got {num_joints!r}")
        if joints is not None and len(joints.names) != num_joints:
            raise ValidationError(f"joints: expected {num_joints} joint names, got {len(joints.names)}")
        self._num_joints, self._joints = num_joints, joints

    @property
    def num_joints(self) -> int:
        return self._num_joints

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self._joints.names if self._joints else default_joint_names(self._num_joints)

    @property
    def joints(self) -> PoseJoints | None:
        return self._joints

    def _check(self, R: torch.Tensor) -> None:
        K = self._num_joints
        if not isinstance(R, torch.Tensor) or R.ndim < 3 or R.shape[-3:] != (K, 3, 3):
            raise ValidationError(
                f"R: expected shape (..., {K}, 3, 3) for this {K}-joint prior, got {tuple(getattr(R, 'shape', ()))}"
            )

    def log_prob(self, R: torch.Tensor) -> torch.Tensor:
        """Zeros ``(...)``: the uniform density w.r.t. the normalized Haar measure (with a zero gradient, so that
        it works as a loss term)."""
        self._check(R)
        return (R.flatten(-3).sum(-1) * 0.0).abs()  # +0 (never -0), still attached to the graph

    def energy(self, R: torch.Tensor) -> torch.Tensor:
        return -self.log_prob(R)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniform (Haar) rotations ``(n, K, 3, 3)``."""
        return random_rotations(n, self._num_joints, generator=generator)

    def project(self, R: torch.Tensor) -> torch.Tensor:
        """``R`` unchanged: without a prior every pose is as plausible as any other."""
        self._check(R)
        return R


def _in_balls(v: torch.Tensor) -> torch.Tensor:
    """Boolean ``(...)``: whether every joint's rotation vector in ``v (..., 3K)`` has angle below pi."""
    return (v.unflatten(-1, (-1, 3)).norm(dim=-1) < math.pi).all(-1)
