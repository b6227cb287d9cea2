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
from poseprior.geometry import check_rotations, random_rotations
from poseprior.models.baseline import UniformPrior
from poseprior.models.prior import ExactPosePrior, LatentPosePrior, PosePrior
from poseprior.tasks.ik import IKResult

__all__ = ["PoseVariables", "default_prior_weight", "ik_seed", "minimise", "rank", "starting_poses", "uses_latent"]


def uses_latent(prior: PosePrior | None, parametrisation: str) -> bool:
    """Whether the fit optimises ``prior``'s latent code: ``"latent"``, or ``"auto"`` for a latent prior
    without an exact density (the VAE; on bandai-v1 validation the flow fits worse through its latent than
    through its density)."""
    if parametrisation not in ("auto", "rotations", "latent"):
        raise ValidationError(f"parametrisation: expected 'auto', 'rotations' or 'latent', got {parametrisation!r}")
    if parametrisation == "rotations" or not isinstance(prior, LatentPosePrior):
        if parametrisation == "latent":
            raise ValidationError(
                f"parametrisation: 'latent' needs a prior with a latent code (a VAE or a flow), got {type(prior).__name__}"
            )
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


def ik_seed(generator: torch.Generator | None) -> int | None:
    """A seed for :func:`~poseprior.tasks.ik.solve_ik` drawn from ``generator`` (None: fresh samples)."""
    return None if generator is None else int(torch.randint(2**31, (1,), generator=generator))


def starting_poses(
    init: torch.Tensor | None,
    ik: IKResult | None,
    prior: PosePrior | None,
    shape: tuple[int, int, int],
    *,
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """The ``H`` starting poses ``(H, T, K, 3, 3)`` of a fit of ``shape = (H, T, K)``: the IK model's mode and
    samples when ``ik`` is given; else ``init`` (``(K, 3, 3)`` or ``(T, K, 3, 3)``, default the rest pose) and
    ``H - 1`` samples of the prior (uniform rotations without one)."""
    H, T, K = shape
    extra = None
    if ik is not None:
        R0 = ik.rotations.to(device=device, dtype=dtype)
        if H > 1:
            extra = ik.hypotheses[:, : H - 1].transpose(0, 1).to(device=device, dtype=dtype)
    elif init is None:
        R0 = torch.eye(3, device=device, dtype=dtype).expand(T, K, 3, 3)
    else:
        check_rotations(init, "init")
        if init.shape[-3:] != (K, 3, 3) or init.shape[:-3] not in ((), (T,)):
            raise ValidationError(
                f"init: expected an IK model (ConditionalFlowPrior), or rotations of shape (K, 3, 3) or ({T}, {K}, 3, 3), got {tuple(init.shape)}"
            )
        R0 = init.to(device=device, dtype=dtype).expand(T, K, 3, 3)
    if H > 1 and extra is None:
        with torch.no_grad():
            if prior is not None:
                extra = (
                    prior.sample(T * (H - 1), generator=generator)
                    if generator is not None
                    else prior.sample(T * (H - 1))
                )
            else:
                extra = random_rotations(T * (H - 1), K, generator=generator)
        extra = extra.to(device=device, dtype=dtype).reshape(H - 1, T, K, 3, 3)
    return (R0[None] if extra is None else torch.cat([R0[None], extra])).detach()


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


def minimise(
    objective: Callable[[], torch.Tensor],
    variables: list[torch.Tensor],
    steps: int,
    lr: float,
    optimizer: str = "adam",
    *,
    max_eval: int | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> None:
    """Minimise ``objective().sum()`` over ``variables`` in place: Adam with cosine decay of the step size
    (Adam's normalised steps otherwise oscillate around the minimum at about ``lr``), or L-BFGS with a
    strong-Wolfe line search (``steps`` inner iterations, at most ``max_eval`` evaluations: torch's default
    when None). ``on_step(done, steps)`` is called after each evaluation (for progress bars)."""
    if steps == 0:
        return
    calls = 0

    def closure() -> torch.Tensor:
        nonlocal calls
        method.zero_grad(set_to_none=True)
        loss = objective().sum()
        loss.backward()
        calls += 1
        if on_step is not None:
            on_step(min(calls, steps), steps)
        return loss

    with torch.enable_grad():
        if optimizer == "lbfgs":
            method = torch.optim.LBFGS(
                variables, lr=lr, max_iter=steps, max_eval=max_eval, history_size=20, line_search_fn="strong_wolfe"
            )
            method.step(closure)
            return
        method = torch.optim.Adam(variables, lr=lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(method, steps)
        for _ in range(steps):
            method.step(closure)
            schedule.step()


def rank(objective: torch.Tensor) -> torch.Tensor:
    """Indices ``(H, T)`` of the hypotheses of each frame, best (lowest finite ``objective (H, T)``) first."""
    return torch.where(torch.isfinite(objective), objective, math.inf).argsort(dim=0)
