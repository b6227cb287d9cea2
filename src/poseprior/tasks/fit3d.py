"""Fitting joint rotations to 3D keypoints, with a pose prior as regulariser.

:func:`fit_keypoints_3d` optimises, for every frame at once, the local rotations of the prior's ``K`` joints (and
optionally the root's rotation and translation) so that the forward kinematics of the skeleton match full,
partial or noisy keypoints. The objective per frame is SMPLify's (Bogo et al. 2016): a robust Geman-McClure data
term (Geman & McClure 1987) on joint positions plus ``prior_weight`` times the prior's energy.

Rotations are parametrised as ``R0 @ exp(delta)`` around an initial pose ``R0`` (``roma.rotvec_to_rotmat``), so
the optimiser works in a local, singularity-free chart. Several restarts (prior samples) give ranked hypotheses.

Example:
    >>> prior = poseprior.load("flow-bandai")  # doctest: +SKIP
    >>> skeleton = prior.joints.skeleton  # doctest: +SKIP
    >>> result = fit_keypoints_3d(keypoints, mask, skeleton, prior, unit_mm=prior.joints.unit_mm)  # doctest: +SKIP
    >>> result.rotations.shape  # doctest: +SKIP
    torch.Size([200, 20, 3, 3])
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import check_rotations, random_rotations
from poseprior.models.prior import PosePrior
from poseprior.skeleton import Skeleton, forward_kinematics

__all__ = ["FitConfig", "FitResult", "fit_keypoints_3d", "geman_mcclure"]


@dataclass(frozen=True)
class FitConfig:
    """Settings of :func:`fit_keypoints_3d`.

    Attributes:
        steps: optimiser iterations (Adam steps, or L-BFGS outer iterations).
        lr: learning rate (radians of rotation vector per Adam step; L-BFGS step scale).
        optimizer: ``"adam"`` or ``"lbfgs"``.
        prior_weight: weight of the prior's energy (nats for exact priors) against the data term (about
            ``(error / robust_scale_mm)^2`` per joint for small errors).
        robust_scale_mm: Geman-McClure scale: errors well beyond it count about 1 each, so outliers do not dominate.
        fit_root_rotation: also fit the root's global rotation (else identity: pelvis-frame keypoints).
        fit_root_translation: also fit the root's position (else the origin: pelvis-frame keypoints).
        hypotheses: restarts; the first from the initial pose, the others from prior samples, ranked by objective.
    """

    steps: int = 150
    lr: float = 0.05
    optimizer: str = "adam"
    prior_weight: float = 0.01
    robust_scale_mm: float = 50.0
    fit_root_rotation: bool = False
    fit_root_translation: bool = False
    hypotheses: int = 1

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValidationError(f"optimizer: expected 'adam' or 'lbfgs', got {self.optimizer!r}")
        for name in ("steps", "hypotheses"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name}: expected a positive integer, got {value!r}")
        for name in ("lr", "robust_scale_mm"):
            if not getattr(self, name) > 0:
                raise ValidationError(f"{name}: expected a positive number, got {getattr(self, name)!r}")
        if not self.prior_weight >= 0:
            raise ValidationError(f"prior_weight: expected a non-negative number, got {self.prior_weight!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FitConfig:
        return cls(**d)


@dataclass(frozen=True, eq=False)
class FitResult:
    """The fit of ``T`` frames on a ``J = K + 1``-joint skeleton (best-ranked hypothesis).

    Attributes:
        rotations: ``(T, K, 3, 3)`` local rotations of the prior's joints.
        root_rotation: ``(T, 3, 3)`` global rotation of the root (identity unless fitted).
        root_translation: ``(T, 3)`` root position, in the skeleton's unit (zeros unless fitted).
        positions: ``(T, J, 3)`` joint positions of the fit, in the skeleton's unit.
        objective: ``(T,)`` final objective (data term + weighted prior energy).
        hypotheses: ``(T, H, K, 3, 3)`` all restarts ranked by objective (best first), or None when ``H = 1``.
        hypotheses_objective: ``(T, H)`` their objectives, or None.
    """

    rotations: torch.Tensor
    root_rotation: torch.Tensor
    root_translation: torch.Tensor
    positions: torch.Tensor
    objective: torch.Tensor
    hypotheses: torch.Tensor | None = None
    hypotheses_objective: torch.Tensor | None = None


def geman_mcclure(squared_error: torch.Tensor, scale: float) -> torch.Tensor:
    """Geman-McClure penalty ``e^2 / (e^2 + s^2)`` (in ``[0, 1)``) of squared errors, same shape."""
    return squared_error / (squared_error + scale**2)


def _check_inputs(keypoints, mask, skeleton: Skeleton, prior) -> tuple[torch.Tensor, torch.Tensor]:
    J = skeleton.num_joints
    if not isinstance(keypoints, torch.Tensor) or keypoints.ndim != 3 or keypoints.shape[1:] != (J, 3):
        shape = tuple(keypoints.shape) if isinstance(keypoints, torch.Tensor) else type(keypoints).__name__
        raise ValidationError(f"keypoints: expected shape (T, {J}, 3) for this {J}-joint skeleton, got {shape}")
    if keypoints.shape[0] == 0:
        raise ValidationError("keypoints: expected at least one frame, got T = 0")
    if mask is None:
        mask = torch.ones(keypoints.shape[:2], dtype=torch.bool, device=keypoints.device)
    elif not isinstance(mask, torch.Tensor) or mask.shape != keypoints.shape[:2]:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValidationError(f"mask: expected shape {tuple(keypoints.shape[:2])} (T, J), got {shape}")
    mask = mask.to(device=keypoints.device, dtype=torch.bool)
    bad = mask & ~torch.isfinite(keypoints).all(-1)
    if bad.any():
        t, j = bad.nonzero()[0].tolist()
        raise ValidationError(f"keypoints: non-finite values where mask is True (first at frame {t}, joint {skeleton.joint_names[j]!r}); set the mask False there")
    empty = ~mask.any(-1)
    if empty.any():
        raise ValidationError(f"mask: every joint is masked in frame {empty.nonzero()[0].item()}; nothing to fit there")
    if prior is not None and prior.num_joints != J - 1:
        raise ValidationError(f"prior: expected a {J - 1}-joint prior for this {J}-joint skeleton (root + K), got {prior.num_joints} joints")
    return keypoints, mask


def fit_keypoints_3d(
    keypoints: torch.Tensor,
    mask: torch.Tensor | None,
    skeleton: Skeleton,
    prior: PosePrior | None = None,
    *,
    unit_mm: float,
    init: torch.Tensor | None = None,
    config: FitConfig = FitConfig(),
    generator: torch.Generator | None = None,
) -> FitResult:
    """Local rotations that explain 3D ``keypoints``, regularised by ``prior``.

    Args:
        keypoints: ``(T, J, 3)`` joint positions in the order of ``skeleton`` (root first) and its unit;
            pelvis-frame (root at the origin, identity root rotation) unless the root is fitted.
        mask: ``(T, J)`` True where a keypoint is observed (hidden ones may be NaN), or None for all.
        skeleton: the ``J = K + 1`` joints (usually ``prior.joints.skeleton``).
        prior: a :class:`PosePrior` over the ``K`` joints, or None (also ``UniformPrior``) for no prior.
        unit_mm: millimetres per length unit of ``skeleton`` and ``keypoints``.
        init: ``(T, K, 3, 3)`` or ``(K, 3, 3)`` initial pose (e.g. ``solve_ik(...).rotations``); default identity.
        config: a :class:`FitConfig`.
        generator: random source of the restarts' samples (passed to ``prior.sample``, which must then accept
            ``generator=``; with no prior: uniform rotations).

    Returns:
        A :class:`FitResult`, tensors detached, in the dtype and device of the optimisation (the prior's
        parameters' when it has any, else the keypoints').
    """
    if not isinstance(config, FitConfig):
        raise ValidationError(f"config: expected a FitConfig, got {type(config).__name__}")
    if not unit_mm > 0:
        raise ValidationError(f"unit_mm: expected a positive number, got {unit_mm!r}")
    keypoints, mask = _check_inputs(keypoints, mask, skeleton, prior)
    params = list(prior.parameters()) if isinstance(prior, torch.nn.Module) else []
    device = params[0].device if params else keypoints.device
    dtype = params[0].dtype if params else (keypoints.dtype if keypoints.is_floating_point() else torch.float32)
    T, J, _ = keypoints.shape
    K, H = J - 1, config.hypotheses
    target = torch.where(mask[..., None], keypoints, 0.0).to(device=device, dtype=dtype)
    weight = mask.to(device=device, dtype=dtype)
    eye = torch.eye(3, device=device, dtype=dtype)

    if init is None:
        R0 = eye.expand(T, K, 3, 3)
    else:
        check_rotations(init, "init")
        if init.shape[-3:] != (K, 3, 3) or init.shape[:-3] not in ((), (T,)):
            raise ValidationError(f"init: expected shape (K, 3, 3) or (T, K, 3, 3) = ({T}, {K}, 3, 3), got {tuple(init.shape)}")
        R0 = init.to(device=device, dtype=dtype).expand(T, K, 3, 3)
    R0 = R0[None]
    if H > 1:
        if prior is not None:
            with torch.no_grad():
                extra = prior.sample(T * (H - 1), generator=generator) if generator is not None else prior.sample(T * (H - 1))
        else:
            extra = random_rotations(T * (H - 1), K, generator=generator)
        R0 = torch.cat([R0, extra.to(device=device, dtype=dtype).reshape(H - 1, T, K, 3, 3)])
    R0 = R0.detach()  # (H, T, K, 3, 3)

    delta = torch.zeros(H, T, K, 3, device=device, dtype=dtype, requires_grad=True)
    root_delta = torch.zeros(H, T, 3, device=device, dtype=dtype, requires_grad=config.fit_root_rotation)
    translation = torch.zeros(H, T, 3, device=device, dtype=dtype)
    if config.fit_root_translation:
        # Start at the offset between the observed centroid and the initial pose's (at the origin).
        with torch.no_grad():
            rest = forward_kinematics(skeleton, torch.cat([eye.expand(H, T, 1, 3, 3), R0], dim=-3), translation)[0]
            n = weight.sum(-1, keepdim=True)
            translation += ((target - rest) * weight[..., None]).sum(-2) / n
    translation.requires_grad_(config.fit_root_translation)
    variables = [v for v in (delta, root_delta, translation) if v.requires_grad]
    scale = config.robust_scale_mm / unit_mm

    def pose(delta, root_delta, translation):
        R = R0 @ roma.rotvec_to_rotmat(delta)
        root = roma.rotvec_to_rotmat(root_delta)[..., None, :, :]
        positions = forward_kinematics(skeleton, torch.cat([root, R], dim=-3), translation)[0]
        return R, root[..., 0, :, :], positions

    def objective() -> torch.Tensor:  # (H, T)
        R, _, positions = pose(delta, root_delta, translation)
        data = (geman_mcclure(((positions - target) ** 2).sum(-1), scale) * weight).sum(-1)
        if prior is not None and config.prior_weight > 0:
            data = data + config.prior_weight * prior.energy(R)
        return data

    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(variables, lr=config.lr)
        # Cosine decay: Adam's normalised steps otherwise keep oscillating around the minimum at ~lr.
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.steps)
        for _ in range(config.steps):
            optimizer.zero_grad(set_to_none=True)
            objective().sum().backward()
            optimizer.step()
            schedule.step()
    else:
        optimizer = torch.optim.LBFGS(variables, lr=config.lr, max_iter=config.steps, history_size=20, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            loss = objective().sum()
            loss.backward()
            return loss

        optimizer.step(closure)

    with torch.no_grad():
        final = objective()
        final = torch.where(torch.isfinite(final), final, math.inf)
        R, root, positions = pose(delta, root_delta, translation)
        order = final.argsort(dim=0)  # (H, T), best first
        best = order[0]
        frames = torch.arange(T, device=device)
        result = dict(
            rotations=R[best, frames],
            root_rotation=root[best, frames],
            root_translation=translation[best, frames],
            positions=positions[best, frames],
            objective=final[best, frames],
        )
        if H > 1:
            result["hypotheses"] = R[order, frames].transpose(0, 1)
            result["hypotheses_objective"] = final[order, frames].transpose(0, 1)
    return FitResult(**{k: v.detach() for k, v in result.items()})
