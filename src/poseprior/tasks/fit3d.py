"""Fitting joint rotations to 3D keypoints, with a pose prior as regulariser.

:func:`fit_keypoints_3d` optimises, for every frame at once, the local rotations of the prior's ``K`` joints (and
optionally the root's rotation and translation) so that the forward kinematics of the skeleton match full,
partial or noisy keypoints. The objective per frame is SMPLify's (Bogo et al., ECCV 2016): a robust
Geman-McClure data term (Geman & McClure 1987) on keypoint positions plus the weighted prior term
(:mod:`poseprior.tasks.pose_variables`: the prior's energy over the pose, or the VAE's latent code as
SMPLify-X fits VPoser's). The data term is in nats: for small errors it is the negative log-likelihood of
isotropic Gaussian keypoint noise of standard deviation ``keypoint_sigma_mm``, so that with an exact prior and
``prior_weight = 1`` the fit is the maximum a posteriori pose; beyond ``robust_scale_mm`` an error stops
counting more (outliers).

The fit starts from an IK model's mode given the keypoints (:func:`~poseprior.tasks.ik.solve_ik`), with its
samples as further hypotheses, ranked by the objective; the root from the Procrustes fit of the root's children
(:func:`root_from_keypoints`). Adam with a cosine-decayed step, not L-BFGS: on bandai-v1 validation L-BFGS's
line search stalls or diverges on the flow's and the VAE's terms (``benchmarks/fitting.py --optimizer lbfgs``).

Example:
    >>> from poseprior.models.flow.condition import pelvis_keypoints
    >>> ik = poseprior.load("flow-ik-bandai")  # doctest: +SKIP
    >>> vae = poseprior.load("vae-bandai")  # doctest: +SKIP
    >>> keypoints = pelvis_keypoints(ik.skeleton, vae.sample(200))  # (200, 21, 3), cm  # doctest: +SKIP
    >>> fit = fit_keypoints_3d(keypoints, None, ik.skeleton, vae, unit_mm=ik.unit_mm, init=ik)  # doctest: +SKIP
    >>> fit.rotations.shape  # doctest: +SKIP
    torch.Size([200, 20, 3, 3])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry.alignment import procrustes
from poseprior.models.flow.conditional import ConditionalFlowPrior
from poseprior.models.prior import PosePrior
from poseprior.skeleton import Skeleton, forward_kinematics
from poseprior.skeleton.layouts import KeypointLayout
from poseprior.tasks.ik import solve_ik
from poseprior.tasks.pose_variables import PoseVariables, default_prior_weight, ik_seed, minimise, rank, starting_poses, uses_latent
from poseprior.tasks.targets import joint_targets, keypoint_matrix

__all__ = ["FitConfig", "FitResult", "fit_keypoints_3d", "geman_mcclure", "root_from_keypoints"]


@dataclass(frozen=True)
class FitConfig:
    """Settings of :func:`fit_keypoints_3d`.

    Attributes:
        steps: optimiser iterations (Adam steps, or L-BFGS outer iterations).
        lr: learning rate (radians of rotation vector per Adam step; L-BFGS step scale).
        optimizer: ``"adam"`` or ``"lbfgs"``.
        keypoint_sigma_mm: expected keypoint noise, standard deviation per coordinate: the data term of a joint
            is ``error^2 / (2 sigma^2)`` nats for small errors.
        robust_scale_mm: Geman-McClure scale ``s``: a joint's data term is ``s^2 e^2 / (e^2 + s^2) / (2 sigma^2)``,
            which saturates at ``s^2 / (2 sigma^2)`` nats, so outliers do not dominate.
        prior_weight: weight of the prior's term against the data term (1 for an exact prior is the MAP), or
            None for the weight measured best on the bandai-v1 validation split for the prior's kind
            (:func:`~poseprior.tasks.pose_variables.default_prior_weight`).
        fit_root_rotation: also fit the root's global rotation (else identity: pelvis-frame keypoints).
        fit_root_translation: also fit the root's position (else the origin: pelvis-frame keypoints).
        hypotheses: restarts, ranked by objective: the first from the initial pose, the others from the IK
            model's samples when ``init`` is one, else from prior samples.
        parametrisation: ``"rotations"`` (the pose, under the prior's energy), ``"latent"`` (a
            :class:`~poseprior.models.prior.LatentPosePrior`'s code ``z`` under ``|z|^2 / 2``, plus a per-joint
            residual rotation under ``|r|^2 / (2 residual_deg^2)`` so that any pose stays reachable), or
            ``"auto"``: latent for a latent prior without an exact density (the VAE), rotations otherwise. On
            bandai-v1 validation the flow fits worse through its latent than through its density.
        residual_deg: standard deviation of the latent parametrisation's residual rotations, degrees.
    """

    steps: int = 60
    lr: float = 0.05
    optimizer: str = "adam"
    keypoint_sigma_mm: float = 20.0
    robust_scale_mm: float = 100.0
    prior_weight: float | None = None
    fit_root_rotation: bool = False
    fit_root_translation: bool = False
    hypotheses: int = 1
    parametrisation: str = "auto"
    residual_deg: float = 5.0

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValidationError(f"optimizer: expected 'adam' or 'lbfgs', got {self.optimizer!r}")
        if self.parametrisation not in ("auto", "rotations", "latent"):
            raise ValidationError(f"parametrisation: expected 'auto', 'rotations' or 'latent', got {self.parametrisation!r}")
        if not self.residual_deg > 0:
            raise ValidationError(f"residual_deg: expected a positive number of degrees, got {self.residual_deg!r}")
        for name in ("steps", "hypotheses"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name}: expected a positive integer, got {value!r}")
        for name in ("lr", "keypoint_sigma_mm", "robust_scale_mm"):
            if not getattr(self, name) > 0:
                raise ValidationError(f"{name}: expected a positive number, got {getattr(self, name)!r}")
        if self.prior_weight is not None and not self.prior_weight >= 0:
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
    """Geman-McClure penalty ``s^2 e^2 / (e^2 + s^2)`` of squared errors ``e^2`` (same shape, same unit): about
    ``e^2`` for errors well below the scale ``s``, saturating at ``s^2`` well above it.

    Example:
        >>> geman_mcclure(torch.tensor([0.01, 1.0, 1e6]), scale=1.0)
        tensor([0.0099, 0.5000, 1.0000])
    """
    return squared_error * scale**2 / (squared_error + scale**2)


def _check_inputs(keypoints, mask, skeleton: Skeleton, prior, layout) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if not isinstance(keypoints, torch.Tensor) or keypoints.ndim != 3 or keypoints.shape[-1] != 3 or keypoints.shape[0] == 0:
        shape = tuple(keypoints.shape) if isinstance(keypoints, torch.Tensor) else type(keypoints).__name__
        raise ValidationError(f"keypoints: expected shape (T, P, 3) with T > 0, got {shape}")
    A = keypoint_matrix(skeleton, layout, keypoints.shape[1])
    if mask is None:
        mask = torch.ones(keypoints.shape[:2], dtype=torch.bool, device=keypoints.device)
    elif not isinstance(mask, torch.Tensor) or mask.shape != keypoints.shape[:2]:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValidationError(f"mask: expected shape {tuple(keypoints.shape[:2])} (T, P), got {shape}")
    mask = mask.to(device=keypoints.device, dtype=torch.bool)
    bad = mask & ~torch.isfinite(keypoints).all(-1)
    if bad.any():
        t, j = bad.nonzero()[0].tolist()
        raise ValidationError(f"keypoints: non-finite values where mask is True (first at frame {t}, keypoint {j}); set the mask False there")
    empty = ~mask.any(-1)
    if empty.any():
        raise ValidationError(f"mask: every joint is masked in frame {empty.nonzero()[0].item()}; nothing to fit there")
    J = skeleton.num_joints
    if prior is not None and prior.num_joints != J - 1:
        raise ValidationError(f"prior: expected a {J - 1}-joint prior for this {J}-joint skeleton (root + K), got {prior.num_joints} joints")
    return keypoints, mask, A


def root_from_keypoints(keypoints: torch.Tensor, mask: torch.Tensor, skeleton: Skeleton) -> tuple[torch.Tensor, torch.Tensor]:
    """Root rotation ``(T, 3, 3)`` and position ``(T, 3)`` from the root and its children's keypoints.

    A child of the root sits at ``root + R_root @ offset`` whatever the pose, so the root's rigid transform is
    the Procrustes fit (Kabsch) of the rest offsets to the visible ones among the root and its children. Frames
    with fewer than three such points get identity and the visible keypoints' centroid (then fit the root with
    several hypotheses).
    """
    near = [0] + skeleton.children(0)
    rest = skeleton.offsets.to(keypoints)[near].clone()
    rest[0] = 0
    w = mask[:, near].to(keypoints.dtype)
    R, t, _ = procrustes(rest.expand(keypoints.shape[0], -1, -1), torch.nan_to_num(keypoints[:, near]), w, scale=False)
    enough = w.sum(-1) >= 3
    centroid = (torch.nan_to_num(keypoints) * mask[..., None]).sum(-2) / mask.sum(-1, keepdim=True).clamp_min(1)
    eye = torch.eye(3, dtype=keypoints.dtype, device=keypoints.device).expand_as(R)
    return torch.where(enough[:, None, None], R, eye), torch.where(enough[:, None], t, centroid)


def fit_keypoints_3d(
    keypoints: torch.Tensor,
    mask: torch.Tensor | None,
    skeleton: Skeleton,
    prior: PosePrior | None = None,
    *,
    unit_mm: float,
    layout: str | KeypointLayout | None = None,
    init: ConditionalFlowPrior | torch.Tensor | None = None,
    config: FitConfig = FitConfig(),
    generator: torch.Generator | None = None,
) -> FitResult:
    """Local rotations that explain 3D ``keypoints``, regularised by ``prior``.

    Args:
        keypoints: ``(T, P, 3)`` in the skeleton's unit: its ``J`` joints in its order (root first), or the
            ``P`` keypoints of ``layout``; pelvis-frame (root at the origin, identity root rotation) unless the
            root is fitted.
        mask: ``(T, P)`` True where a keypoint is observed (hidden ones may be NaN), or None for all.
        skeleton: the ``J = K + 1`` joints (usually ``prior.joints.skeleton``).
        prior: a :class:`PosePrior` over the ``K`` joints, or None (also ``UniformPrior``) for no prior.
        unit_mm: millimetres per length unit of ``skeleton`` and ``keypoints``.
        layout: the keypoints' layout (``"coco17"``, ``"h36m17"``), or None for the skeleton's joints.
        init: an IK model (:class:`~poseprior.models.flow.conditional.ConditionalFlowPrior`, e.g.
            ``flow-ik-bandai``): start from its mode given the keypoints (and its samples for the other
            hypotheses); or a ``(T, K, 3, 3)`` / ``(K, 3, 3)`` initial pose; default identity (the rest pose).
            With ``fit_root_rotation`` the root starts from :func:`root_from_keypoints`.
        config: a :class:`FitConfig`.
        generator: random source of the restarts' samples (seeds the IK model's sampling; passed to
            ``prior.sample``, which must then accept ``generator=``; with no prior: uniform rotations).

    Returns:
        A :class:`FitResult`, tensors detached, in the dtype and device of the optimisation (the prior's
        parameters' when it has any, else the keypoints').
    """
    if not isinstance(config, FitConfig):
        raise ValidationError(f"config: expected a FitConfig, got {type(config).__name__}")
    if not unit_mm > 0:
        raise ValidationError(f"unit_mm: expected a positive number, got {unit_mm!r}")
    keypoints, mask, A = _check_inputs(keypoints, mask, skeleton, prior, layout)
    params = list(prior.parameters()) if isinstance(prior, torch.nn.Module) else []
    device = params[0].device if params else keypoints.device
    dtype = params[0].dtype if params else (keypoints.dtype if keypoints.is_floating_point() else torch.float32)
    T, J = keypoints.shape[0], skeleton.num_joints
    K, H = J - 1, config.hypotheses
    target = torch.where(mask[..., None], keypoints, 0.0).to(device=device, dtype=dtype)
    weight = mask.to(device=device, dtype=dtype)
    eye = torch.eye(3, device=device, dtype=dtype)
    A = A.to(device=device, dtype=dtype)
    joint_target, joint_seen = joint_targets(A, target, mask.to(device), skeleton)

    root0 = eye.expand(T, 3, 3)
    translation0 = torch.zeros(T, 3, device=device, dtype=dtype)
    if config.fit_root_rotation:
        root0, translation0 = root_from_keypoints(joint_target, joint_seen, skeleton)
    elif config.fit_root_translation:
        translation0 = target.sum(-2) / weight.sum(-1, keepdim=True)  # refined below, once the pose is known
    ik = None
    if isinstance(init, ConditionalFlowPrior):
        if init.skeleton.joint_names != skeleton.joint_names:
            raise ValidationError(f"init: the IK model's joints {init.skeleton.joint_names} are not the skeleton's {skeleton.joint_names}")
        pelvis = (joint_target - translation0[:, None]) @ root0  # R^T (p - t), row vectors
        ik = solve_ik(init, pelvis, joint_seen, hypotheses=max(H - 1, 1), candidates=max(20, H), seed=ik_seed(generator))
    R0 = starting_poses(init if ik is None else None, ik, prior, (H, T, K), generator=generator, device=device, dtype=dtype)

    latent = uses_latent(prior, config.parametrisation)
    pose_vars = PoseVariables(R0, prior, default_prior_weight(prior, config.prior_weight, latent), latent, config.residual_deg)
    root_delta = torch.zeros(H, T, 3, device=device, dtype=dtype, requires_grad=config.fit_root_rotation)
    translation = translation0.expand(H, T, 3).clone()
    if config.fit_root_translation and not config.fit_root_rotation:
        # Shift by the offset between the observed centroid and the initial pose's.
        with torch.no_grad():
            rest = A @ forward_kinematics(skeleton, torch.cat([eye.expand(H, T, 1, 3, 3), R0], dim=-3))[0]
            translation = (target - rest).mul(weight[..., None]).sum(-2) / weight.sum(-1, keepdim=True)[None]
    translation.requires_grad_(config.fit_root_translation)
    variables = pose_vars.parameters + [v for v in (root_delta, translation) if v.requires_grad]
    scale = config.robust_scale_mm / unit_mm
    variance2 = 2 * (config.keypoint_sigma_mm / unit_mm) ** 2

    def pose():
        R = pose_vars.rotations()
        root = (root0 @ roma.rotvec_to_rotmat(root_delta))[..., None, :, :]
        positions = forward_kinematics(skeleton, torch.cat([root, R], dim=-3), translation)[0]
        return R, root[..., 0, :, :], positions

    def objective() -> torch.Tensor:  # (H, T)
        R, _, positions = pose()
        data = (geman_mcclure(((A @ positions - target) ** 2).sum(-1), scale) * weight).sum(-1) / variance2
        return data + pose_vars.prior_term(R)

    minimise(objective, variables, config.steps, config.lr, config.optimizer)
    with torch.no_grad():
        final = objective()
        R, root, positions = pose()
        order = rank(final)
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
