"""The optimisation variables shared by the fitting tasks: a batch of poses, parametrised for a prior.

:class:`PoseVariables` holds ``H`` hypotheses of ``T`` poses ``(H, T, K, 3, 3)`` around starting poses ``R0``,
either as ``R0 @ exp(delta)`` (``roma.rotvec_to_rotmat``; a local, singularity-free chart) under the prior's
energy, or, for a :class:`~poseprior.models.prior.LatentPosePrior`, as ``g(z) @ exp(delta)`` under
``|z|^2 / 2 + |delta|^2 / (2 residual^2)`` (the code ``z`` of the VAE as SMPLify-X fits VPoser's, Pavlakos
et al. CVPR 2019, with a residual so that every pose stays reachable). :func:`minimise` runs Adam with cosine
decay (L-BFGS on request), and :func:`rank` orders the hypotheses of each frame by their objective.

Example:
    >>> prior = UniformPrior(2)
    >>> v = PoseVariables(torch.eye(3).expand(1, 4, 2, 3, 3), prior, weight=0.0, latent=False, residual_deg=5.0)
    >>> v.rotations().shape, v.prior_term().shape
    (torch.Size([1, 4, 2, 3, 3]), torch.Size([1, 4]))
"""

from __future__ import annotations

import math
from collections.abc import Callable

import roma
import torch

from poseprior.errors import ValidationError
from poseprior.models.baseline import UniformPrior
from poseprior.models.prior import ExactPosePrior, LatentPosePrior, PosePrior

__all__ = ["PoseVariables", "default_prior_weight", "minimise", "rank", "uses_latent"]


def uses_latent(prior: PosePrior | None, parametrisation: str) -> bool:
    """Whether the fit optimises ``prior``'s latent code: ``"latent"``, or ``"auto"`` for a latent prior
    without an exact density (the VAE; on bandai-v1 validation the flow fits worse through its latent than
    through its density)."""
    if parametrisation not in ("auto", "rotations", "latent"):
        raise ValidationError(f"parametrisation: expected 'auto', 'rotations' or 'latent', got {parametrisation!r}")
    if parametrisation == "rotations" or not isinstance(prior, LatentPosePrior):
        if parametrisation == "latent":
            raise ValidationError(f"parametrisation: 'latent' needs a prior with a latent code (a VAE or a flow), got {type(prior).__name__}")
        return False
    return parametrisation == "latent" or not isinstance(prior, ExactPosePrior)


def default_prior_weight(prior: PosePrior | None, weight: float | None, latent: bool) -> float:
    """``weight``, or when None the weight measured best for the prior's kind (bandai-v1 validation, 3D
    keypoints with 20 mm noise and 30% of joints hidden; ``benchmarks/fitting.py --split val --sweep``):

    ==================================  ======  ===========================================================
    prior                               weight  its term
    ==================================  ======  ===========================================================
    latent (VAE)                        1       ``|z|^2 / 2 + residual``, nats of the latent's normal
    exact (flow)                        0.1     ``-log p(R)``, nats: the full MAP (weight 1) over-fits the
                                                flow's sharp density
    other energies (distance field)     100     distance to the pose manifold, radians
    none / uniform                      0
    ==================================  ======  ===========================================================
    """
    if weight is not None:
        return weight
    if prior is None or isinstance(prior, UniformPrior):
        return 0.0
    if latent:
        return 1.0
    return 0.1 if isinstance(prior, ExactPosePrior) else 100.0


class PoseVariables:
    """Trainable poses ``(H, T, K, 3, 3)`` starting at ``R0`` (see the module docstring).

    Args:
        R0: ``(H, T, K, 3, 3)`` starting poses.
        prior: the prior (None for none).
        weight: the prior term's weight (0 drops it).
        latent: optimise ``prior``'s code (a :class:`LatentPosePrior`) instead of the pose.
        residual_deg: standard deviation of the latent parametrisation's residual rotations, degrees.
    """

    def __init__(self, R0: torch.Tensor, prior: PosePrior | None, weight: float, latent: bool, residual_deg: float):
        self.R0, self.prior, self.weight = R0.detach(), prior, weight
        self.latent = latent and weight > 0
        self.delta = torch.zeros(R0.shape[:-2] + (3,), dtype=R0.dtype, device=R0.device)
        self.z = None
        if self.latent:
            with torch.no_grad():
                # A start off the prior's support has a code far out in the tails, where the generator bends
                # sharply: pull it into the ball of typical norm sqrt(D) and let the residual hold the rest.
                z = prior.to_latent(self.R0).to(R0.dtype)
                z = z * (math.sqrt(z.shape[-1]) / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)).clamp(max=1.0)
                self.delta = roma.rotmat_to_rotvec(prior.from_latent(z).to(R0.dtype).transpose(-1, -2) @ self.R0)
            self.z = z.requires_grad_(True)
        self.delta.requires_grad_(True)
        self.residual_weight = 0.5 / math.radians(residual_deg) ** 2

    @property
    def parameters(self) -> list[torch.Tensor]:
        return [self.delta] + ([self.z] if self.latent else [])

    def rotations(self) -> torch.Tensor:
        """The current poses ``(H, T, K, 3, 3)``; differentiable."""
        base = self.prior.from_latent(self.z) if self.latent else self.R0
        return base @ roma.rotvec_to_rotmat(self.delta)

    def prior_term(self, R: torch.Tensor | None = None) -> torch.Tensor:
        """Weighted prior term ``(H, T)`` of the current poses (``R``: :meth:`rotations`, if already computed)."""
        if self.latent:
            energy = 0.5 * self.z.square().sum(-1) + self.residual_weight * self.delta.square().sum((-1, -2))
            return self.weight * energy
        if self.prior is None or self.weight == 0:
            return self.delta.sum((-1, -2)) * 0.0
        return self.weight * self.prior.energy(self.rotations() if R is None else R)


def minimise(objective: Callable[[], torch.Tensor], variables: list[torch.Tensor], steps: int, lr: float, optimizer: str = "adam") -> None:
    """Minimise ``objective().sum()`` over ``variables`` in place: Adam with cosine decay of the step size
    (Adam's normalised steps otherwise oscillate around the minimum at about ``lr``), or L-BFGS with a
    strong-Wolfe line search (``steps`` inner iterations)."""
    if optimizer == "adam":
        adam = torch.optim.Adam(variables, lr=lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(adam, steps)
        for _ in range(steps):
            adam.zero_grad(set_to_none=True)
            objective().sum().backward()
            adam.step()
            schedule.step()
        return
    lbfgs = torch.optim.LBFGS(variables, lr=lr, max_iter=steps, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        lbfgs.zero_grad(set_to_none=True)
        loss = objective().sum()
        loss.backward()
        return loss

    lbfgs.step(closure)


def rank(objective: torch.Tensor) -> torch.Tensor:
    """Indices ``(H, T)`` of the hypotheses of each frame, best (lowest finite ``objective (H, T)``) first."""
    return torch.where(torch.isfinite(objective), objective, math.inf).argsort(dim=0)
