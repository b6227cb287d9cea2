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
samples as further hypotheses, ranked by the objective. The IK model reads pelvis-frame keypoints, so world-frame
keypoints (a root that moves and turns, as in a mocap take) first need the root: the IK model's typical pose is
placed on all the visible keypoints, whichever they are, by weighted Procrustes (:func:`place_root`; each
keypoint weighs the inverse of its expected error: the keypoint noise, plus the starting pose's error, which
grows with the distance from the root); the IK model's pose given the keypoints in that pelvis frame is placed
in turn, and kept where it fits better. The IK model then starts the pose in that frame, and Adam moves root and
pose together. (The root's rigid neighbours alone, :func:`root_from_keypoints`, are two to four points a
hand-span apart: with some of them hidden or noisy the root was tens of degrees off in a fifth to a third of the
frames of bandai-v1 takes, and the fit did not recover.) Adam with a cosine-decayed step, not L-BFGS: on
bandai-v1 validation L-BFGS's line search stalls or diverges on the flow's and the VAE's terms
(``benchmarks/fitting.py --optimizer lbfgs``).

Example:
    >>> from poseprior.skeleton import pelvis_keypoints
    >>> ik = poseprior.load("flow-ik-bandai")  # doctest: +SKIP
    >>> vae = poseprior.load("vae-bandai")  # doctest: +SKIP
    >>> keypoints = pelvis_keypoints(ik.skeleton, vae.sample(200))  # (200, 21, 3), cm  # doctest: +SKIP
    >>> fit = fit_keypoints_3d(keypoints, None, ik.skeleton, vae, unit_mm=ik.unit_mm, init=ik)  # doctest: +SKIP
    >>> fit.rotations.shape  # doctest: +SKIP
    torch.Size([200, 20, 3, 3])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry.alignment import procrustes
from poseprior.models.flow.conditional import ConditionalFlowPrior
from poseprior.models.prior import PosePrior
from poseprior.skeleton import Skeleton, pelvis_keypoints, posed_joints
from poseprior.skeleton.layouts import KeypointLayout
from poseprior.tasks.ik import solve_ik
from poseprior.tasks.pose_variables import (
    PoseVariables,
    default_prior_weight,
    ik_seed,
    minimise,
    rank,
    starting_poses,
    uses_latent,
)
from poseprior.tasks.targets import joint_targets, keypoint_matrix

__all__ = ["FitConfig", "FitResult", "fit_keypoints_3d", "geman_mcclure", "place_root", "root_from_keypoints"]

#: Error of a starting pose's keypoint per unit of its path length beyond the root's rigid part (about the
#: start's joint-angle error, radians), for placing the root (:func:`_placement_weights`). bandai-v1
#: validation, 200 world-frame poses, 30% of the joints hidden, MPJPE without prior / with vae-bandai (mm):
#: exact keypoints 7.9 / 5.9 for 0.1, 0.3 and 1; 20 mm noise 33.7 / 25.8, 33.7 / 25.0 and 36.5 / 28.2.
_START_ERROR = 0.3
#: Adam moves the root's position by about ``lr`` times this many millimetres a step, whatever the unit.
_TRANSLATION_STEP_MM = 10.0


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
        fit_root_translation: also fit the root's position (else the origin: pelvis-frame keypoints). With
            either, the root starts from a search over the visible keypoints (see the module docstring).
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
            raise ValidationError(
                f"parametrisation: expected 'auto', 'rotations' or 'latent', got {self.parametrisation!r}"
            )
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


def _check_inputs(
    keypoints, mask, skeleton: Skeleton, prior, layout
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if (
        not isinstance(keypoints, torch.Tensor)
        or keypoints.ndim != 3
        or keypoints.shape[-1] != 3
        or keypoints.shape[0] == 0
    ):
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
        raise ValidationError(
            f"keypoints: non-finite values where mask is True (first at frame {t}, keypoint {j}); set the mask False there"
        )
    empty = ~mask.any(-1)
    if empty.any():
        raise ValidationError(f"mask: every joint is masked in frame {empty.nonzero()[0].item()}; nothing to fit there")
    J = skeleton.num_joints
    if prior is not None and prior.num_joints != J - 1:
        raise ValidationError(
            f"prior: expected a {J - 1}-joint prior for this {J}-joint skeleton (root + K), got {prior.num_joints} joints"
        )
    return keypoints, mask, A


def root_from_keypoints(
    keypoints: torch.Tensor, mask: torch.Tensor, skeleton: Skeleton
) -> tuple[torch.Tensor, torch.Tensor]:
    """Root rotation ``(T, 3, 3)`` and position ``(T, 3)`` from the root and its children's keypoints.

    A child of the root sits at ``root + R_root @ offset`` whatever the pose, so the root's rigid transform is
    the Procrustes fit (Kabsch) of the rest offsets to the visible ones among the root and its children. Frames
    with fewer than three such points get identity and the visible keypoints' centroid. Exact on exact
    keypoints, but a few points a hand-span apart: noise or hidden joints make it poor, and
    :func:`fit_keypoints_3d` places the root on every visible keypoint instead.
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


def place_root(
    body: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, rotation: bool = True, translation: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """The root's rotation ``(..., 3, 3)`` and position ``(..., 3)`` that best carry pelvis-frame keypoints onto
    world-frame ones: they minimise ``sum_p w_p |R body_p + t - target_p|^2``.

    Args:
        body: ``(..., P, 3)`` keypoints of a pose with its root at the origin, unrotated.
        target: ``(..., P, 3)`` keypoints to reach, same unit (hidden ones may hold anything finite).
        weight: ``(..., P)`` non-negative weights, 0 for a hidden keypoint; each batch entry needs a positive
            total. The three broadcast together.
        rotation: fit ``R`` (rigid Procrustes, Kabsch, :func:`~poseprior.geometry.alignment.procrustes`); else
            the identity.
        translation: fit ``t``; else the origin (the rotation is then about the origin).

    Example:
        >>> body = torch.randn(5, 3, dtype=torch.float64)
        >>> R = roma.random_rotmat(dtype=torch.float64)
        >>> R_hat, t_hat = place_root(body, body @ R.T + 1.0, torch.ones(5))
        >>> torch.allclose(R_hat, R), torch.allclose(t_hat, torch.ones(3, dtype=torch.float64))
        (True, True)
    """
    shape = torch.broadcast_shapes(body.shape, target.shape, (*weight.shape, 1))
    body, target = body.expand(shape), target.expand(shape)
    w = weight.to(body.dtype).expand(shape[:-1])
    eye = torch.eye(3, dtype=body.dtype, device=body.device).expand(*shape[:-2], 3, 3)
    if not translation:
        # Wahba's problem about the origin: the rotation closest to the weighted cross-covariance.
        cross = (target * w[..., None]).transpose(-1, -2) @ body
        return (roma.special_procrustes(cross) if rotation else eye), body.new_zeros(shape[:-2] + (3,))
    if rotation:
        R, t, _ = procrustes(body, target, w, scale=False)
        return R, t
    return eye, ((target - body) * w[..., None]).sum(-2) / w.sum(-1, keepdim=True)


def _placement_weights(A: torch.Tensor, skeleton: Skeleton, unit_mm: float, sigma_mm: float) -> torch.Tensor:
    """``(P,)`` inverse variances (mm^-2) of the keypoints for placing the root on a starting pose:
    ``1 / (sigma^2 + (k d)^2)``, the keypoint noise ``sigma`` plus the start's own error, which grows with ``d``,
    the keypoint's path length (mm, along the rest skeleton) beyond the root and its children (rigid with the
    root in any pose, ``d = 0``), at ``k =`` :data:`_START_ERROR` per unit length. On exact keypoints the rigid
    ones decide wherever three are visible; on noisy ones the weight spreads over the body."""
    rigid = {0, *skeleton.children(0)}
    length = skeleton.offsets.norm(dim=-1).tolist()
    beyond = [0.0] * skeleton.num_joints
    for j, parent in enumerate(skeleton.parents):
        if j not in rigid:
            beyond[j] = beyond[parent] + length[j]
    d = (A @ torch.tensor(beyond, dtype=A.dtype, device=A.device)).clamp_min(0) * unit_mm
    return 1 / (sigma_mm**2 + (_START_ERROR * d) ** 2)


@torch.no_grad()
def _search_root(
    pose: torch.Tensor,
    A: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    skeleton: Skeleton,
    *,
    sigma_mm: float,
    unit_mm: float,
    rotation: bool,
    translation: bool,
    repose: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The root's rotation ``(..., T, 3, 3)`` and position ``(..., T, 3)`` that place ``pose (..., T, K, 3, 3)``
    (or any shape broadcasting to it) best on world-frame keypoints ``target (T, P, 3)`` (visible where ``weight
    (T, P)`` is positive; keypoints ``= A (P, J) @ joints``, ``sigma_mm`` their noise): the weighted Procrustes
    fit of :func:`place_root`, with the weights of :func:`_placement_weights`. With ``repose(R (T, 3, 3), t
    (T, 3)) -> (T, K, 3, 3)`` (an IK model given the keypoints in the pelvis frame of that root; ``pose`` then
    without leading dimensions), the root is placed again on the pose found in its frame, and that placement
    kept in the frames where its own pose fits better (by the same weighted residual; one round: more did no
    better on bandai-v1 validation, nor did a second candidate placed on the root's rigid neighbours alone).
    """
    w = weight * _placement_weights(A, skeleton, unit_mm, sigma_mm)

    def place(poses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return place_root(A @ pelvis_keypoints(skeleton, poses), target, w, rotation, translation)

    def residual(poses: torch.Tensor, R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return (((A @ posed_joints(skeleton, poses, R, t)[0] - target) ** 2).sum(-1) * w).sum(-1)

    R, t = place(pose)
    if repose is None:
        return R, t
    first = repose(R, t)
    R2, t2 = place(first)
    better = residual(repose(R2, t2), R2, t2) < residual(first, R, t)
    return torch.where(better[:, None, None], R2, R), torch.where(better[:, None], t2, t)


@torch.no_grad()
def _root_from_ik(
    model: ConditionalFlowPrior,
    points: torch.Tensor,
    seen: torch.Tensor,
    A: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    skeleton: Skeleton,
    **search,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_search_root` (``search``: its keyword arguments) started from the IK model's typical pose (its
    base-mode pose given no keypoints: more of its samples did no better) and reposed by its base-mode pose
    given the joint targets ``points (T, J, 3)`` (``seen (T, J)``) in the pelvis frame of each root."""

    to_model = search["unit_mm"] / model.unit_mm  # the IK model reads its own unit

    def repose(R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        local, visible = _pelvis_frame(points, seen, R, t)
        return model.base_mode((local * to_model).to(model.flow.loc), visible.to(model.flow.loc.device))[0].to(target)

    nothing = model.flow.loc.new_zeros(1, skeleton.num_joints, 3)
    typical = model.base_mode(nothing, nothing[..., 0].bool())[0].to(target)
    return _search_root(typical[0], A, target, weight, skeleton, repose=repose, **search)


def _pelvis_frame(
    points: torch.Tensor, seen: torch.Tensor, R: torch.Tensor, t: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Joint targets ``(..., T, J, 3)`` and visibility ``(..., T, J)`` for the IK model in the frame of the root
    ``(R (..., T, 3, 3), t (..., T, 3))``: ``R^T (p - t)``, the root at the origin and seen, by definition."""
    local = (points - t[..., None, :]) @ R
    root = torch.zeros_like(seen)
    root[..., 0] = True
    seen = (seen | root).expand(local.shape[:-1])
    return torch.where(seen[..., None] & ~root[..., None], local, 0.0), seen


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
            root is fitted, world-frame (any root rotation and position) when it is.
        mask: ``(T, P)`` True where a keypoint is observed (hidden ones may be NaN), or None for all. With the
            root fitted any keypoints may be hidden, the root's included, as long as enough are left to place
            the body (three, not in a line, for its rotation).
        skeleton: the ``J = K + 1`` joints (usually ``prior.joints.skeleton``).
        prior: a :class:`PosePrior` over the ``K`` joints, or None (also ``UniformPrior``) for no prior.
        unit_mm: millimetres per length unit of ``skeleton`` and ``keypoints``.
        layout: the keypoints' layout (``"coco17"``, ``"h36m17"``), or None for the skeleton's joints.
        init: an IK model (:class:`~poseprior.models.flow.conditional.ConditionalFlowPrior`, e.g.
            ``flow-ik-bandai``): start from its mode given the keypoints (and its samples for the other
            hypotheses); or a ``(T, K, 3, 3)`` / ``(K, 3, 3)`` initial pose; default identity (the rest pose).
            With the root fitted, the root starts where the starting poses best fit the keypoints (see the
            module docstring; with an IK model, its poses given no keypoints seed the search).
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
    A = A.to(device=device, dtype=dtype)
    joint_target, joint_seen = joint_targets(A, target, mask.to(device), skeleton)
    scale = config.robust_scale_mm / unit_mm
    variance2 = 2 * (config.keypoint_sigma_mm / unit_mm) ** 2

    def data_term(positions: torch.Tensor) -> torch.Tensor:  # (..., T, J, 3) -> (..., T)
        return (geman_mcclure(((A @ positions - target) ** 2).sum(-1), scale) * weight).sum(-1) / variance2

    latent = uses_latent(prior, config.parametrisation)
    prior_weight = default_prior_weight(prior, config.prior_weight, latent)
    model = init if isinstance(init, ConditionalFlowPrior) else None
    if model is not None and model.skeleton.joint_names != skeleton.joint_names:
        raise ValidationError(
            f"init: the IK model's joints {model.skeleton.joint_names} are not the skeleton's {skeleton.joint_names}"
        )
    moving = config.fit_root_rotation or config.fit_root_translation
    search = dict(
        sigma_mm=config.keypoint_sigma_mm,
        unit_mm=unit_mm,
        rotation=config.fit_root_rotation,
        translation=config.fit_root_translation,
    )
    root0 = torch.eye(3, device=device, dtype=dtype).expand(H, T, 3, 3)
    translation0 = torch.zeros(H, T, 3, device=device, dtype=dtype)
    ik = None
    if model is not None:
        if moving:
            R, t = _root_from_ik(model, joint_target, joint_seen, A, target, weight, skeleton, **search)
            root0, translation0 = R.expand(H, T, 3, 3), t.expand(H, T, 3)
        points, seen = _pelvis_frame(joint_target, joint_seen, root0[0], translation0[0])
        points = points * (unit_mm / model.unit_mm)  # the IK model reads its own unit
        ik = solve_ik(model, points, seen, hypotheses=max(H - 1, 1), candidates=max(20, H), seed=ik_seed(generator))
    R0 = starting_poses(
        init if ik is None else None, ik, prior, (H, T, K), generator=generator, device=device, dtype=dtype
    )
    if moving and ik is None:
        root0, translation0 = _search_root(R0, A, target, weight, skeleton, repose=None, **search)

    pose_vars = PoseVariables(R0, prior, prior_weight, latent, config.residual_deg)
    root_delta = torch.zeros(H, T, 3, device=device, dtype=dtype, requires_grad=config.fit_root_rotation)
    shift = torch.zeros(H, T, 3, device=device, dtype=dtype, requires_grad=config.fit_root_translation)
    variables = pose_vars.parameters + [v for v in (root_delta, shift) if v.requires_grad]

    def pose():
        R = pose_vars.rotations()
        root = root0 @ roma.rotvec_to_rotmat(root_delta)
        translation = translation0 + shift * (_TRANSLATION_STEP_MM / unit_mm)
        return R, root, translation, posed_joints(skeleton, R, root, translation)[0]

    def objective() -> torch.Tensor:  # (H, T)
        R, _, _, positions = pose()
        return data_term(positions) + pose_vars.prior_term(R)

    minimise(objective, variables, config.steps, config.lr, config.optimizer)
    with torch.no_grad():
        final = objective()
        R, root, translation, positions = pose()
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
