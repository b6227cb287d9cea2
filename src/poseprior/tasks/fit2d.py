"""Fitting a posed skeleton to 2D keypoints of a perspective camera, with a pose prior as regulariser.

:func:`fit_keypoints_2d` estimates, per frame, the local rotations of the prior's ``K`` joints and the body's
rotation and position in the camera frame (the camera's extrinsics relative to the body), so that the
perspective projection of the skeleton's keypoints matches the detections. The objective is SMPLify's (Bogo
et al., ECCV 2016): a robust Geman-McClure reprojection term weighted by each keypoint's confidence, in nats of
Gaussian pixel noise of ``keypoint_sigma_px`` for small errors, plus the weighted prior term
(:mod:`poseprior.tasks.pose_variables`). Depth is ambiguous from one view, so the fit keeps several
hypotheses (the IK model's mode and samples, or prior samples), ranked by the objective.

Steps: (1) starting poses from the IK model given the pixels (:func:`~poseprior.tasks.ik.solve_ik`, whose
perspective observation marginalises the view) or from the prior; (2) for each, the body's orientation from
24 starts (the rotations of the cube, so no up axis is assumed) and its depth from the keypoints' spread,
refined with the pose held; (3) everything together by Adam.

Keypoints may be the skeleton's joints or a layout (``"coco17"``, ``"h36m17"``), whose keypoints are fixed
affine combinations of joints (:func:`~poseprior.skeleton.layouts.layout_map_for`).

Example:
    >>> prior = poseprior.load("vae-bandai")  # doctest: +SKIP
    >>> fit = fit_keypoints_2d(pixels, confidence, camera, prior.joints.skeleton, prior, unit_mm=10.0)  # doctest: +SKIP
    >>> fit.positions.shape  # camera frame  # doctest: +SKIP
    torch.Size([100, 21, 3])
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry.camera import project_points
from poseprior.models.flow.conditional import ConditionalFlowPrior
from poseprior.models.prior import PosePrior
from poseprior.skeleton import Skeleton, pelvis_keypoints, posed_joints
from poseprior.skeleton.layouts import KeypointLayout
from poseprior.tasks.fit3d import geman_mcclure
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

__all__ = ["Fit2DConfig", "Fit2DResult", "fit_keypoints_2d"]


@dataclass(frozen=True)
class Fit2DConfig:
    """Settings of :func:`fit_keypoints_2d`.

    Attributes:
        steps: Adam steps of the joint fit of pose, orientation and position.
        root_steps: Adam steps of each orientation start, the pose held.
        lr: Adam step size (radians of rotation vector; the position moves in units of its starting depth).
        keypoint_sigma_px: expected detection noise, pixels per coordinate: the data term of a keypoint is
            ``confidence * error^2 / (2 sigma^2)`` nats for small errors.
        robust_scale_px: Geman-McClure scale: a keypoint's term saturates at ``(s / sigma)^2 / 2`` nats.
        prior_weight: weight of the prior's term, or None for its kind's default
            (:func:`~poseprior.tasks.pose_variables.default_prior_weight`).
        hypotheses: pose hypotheses per frame, ranked by objective.
        parametrisation: ``"auto"``, ``"rotations"`` or ``"latent"`` (see :class:`~poseprior.tasks.FitConfig`).
        residual_deg: standard deviation of the latent parametrisation's residual rotations, degrees.
    """

    steps: int = 100
    root_steps: int = 30
    lr: float = 0.05
    keypoint_sigma_px: float = 3.0
    robust_scale_px: float = 30.0
    prior_weight: float | None = None
    hypotheses: int = 5
    parametrisation: str = "auto"
    residual_deg: float = 5.0

    def __post_init__(self) -> None:
        for name in ("steps", "root_steps", "hypotheses"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name}: expected a positive integer, got {value!r}")
        for name in ("lr", "keypoint_sigma_px", "robust_scale_px", "residual_deg"):
            if not getattr(self, name) > 0:
                raise ValidationError(f"{name}: expected a positive number, got {getattr(self, name)!r}")
        if self.prior_weight is not None and not self.prior_weight >= 0:
            raise ValidationError(f"prior_weight: expected a non-negative number, got {self.prior_weight!r}")
        if self.parametrisation not in ("auto", "rotations", "latent"):
            raise ValidationError(
                f"parametrisation: expected 'auto', 'rotations' or 'latent', got {self.parametrisation!r}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Fit2DConfig:
        return cls(**d)


@dataclass(frozen=True, eq=False)
class Fit2DResult:
    """The fit of ``T`` frames: best-ranked hypothesis first, then all ``H`` of them, ranked.

    Attributes:
        rotations: ``(T, K, 3, 3)`` local rotations of the prior's joints.
        root_rotation: ``(T, 3, 3)`` the root's rotation in the camera frame (OpenCV: x right, y down, z forward).
        root_translation: ``(T, 3)`` the root's position in the camera frame, skeleton unit.
        positions: ``(T, J, 3)`` joint positions in the camera frame, skeleton unit.
        pixels: ``(T, P, 2)`` the fit's keypoints projected into the image.
        objective: ``(T,)`` final objective.
        hypotheses: ``(T, H, K, 3, 3)``; ``hypotheses_root_rotation (T, H, 3, 3)``,
            ``hypotheses_root_translation (T, H, 3)``, ``hypotheses_positions (T, H, J, 3)``,
            ``hypotheses_objective (T, H)`` likewise.
    """

    rotations: torch.Tensor
    root_rotation: torch.Tensor
    root_translation: torch.Tensor
    positions: torch.Tensor
    pixels: torch.Tensor
    objective: torch.Tensor
    hypotheses: torch.Tensor
    hypotheses_root_rotation: torch.Tensor
    hypotheses_root_translation: torch.Tensor
    hypotheses_positions: torch.Tensor
    hypotheses_objective: torch.Tensor


#: Position steps per unit of the optimiser's variable, as a fraction of the depth: a rotation step of 0.05 rad
#: then moves the body by 0.5% of its distance, the scale at which joints move under such a rotation.
_SHIFT = 0.1


def _cube_rotations(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The 24 rotations ``(24, 3, 3)`` of the cube: signed permutation matrices of determinant +1."""
    mats = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            M = torch.zeros(3, 3, dtype=dtype, device=device)
            M[range(3), perm] = torch.tensor(signs, dtype=dtype, device=device)
            if torch.linalg.det(M) > 0:
                mats.append(M)
    return torch.stack(mats)


def _check_camera(camera, T: int) -> torch.Tensor:
    if not isinstance(camera, torch.Tensor) or camera.shape not in ((3, 3), (T, 3, 3)):
        shape = tuple(camera.shape) if isinstance(camera, torch.Tensor) else type(camera).__name__
        raise ValidationError(f"camera: expected intrinsics of shape (3, 3) or ({T}, 3, 3), got {shape}")
    if not torch.isfinite(camera).all():
        raise ValidationError("camera: intrinsics hold NaN or inf")
    if not ((camera[..., 0, 0] > 0) & (camera[..., 1, 1] > 0)).all():
        raise ValidationError(
            "camera: the focal lengths K[0, 0] and K[1, 1] must be positive pixels (got zero or negative)"
        )
    return camera


def fit_keypoints_2d(
    keypoints: torch.Tensor,
    confidence: torch.Tensor | None,
    camera: torch.Tensor,
    skeleton: Skeleton,
    prior: PosePrior | None = None,
    *,
    unit_mm: float,
    layout: str | KeypointLayout | None = None,
    init: ConditionalFlowPrior | torch.Tensor | None = None,
    config: Fit2DConfig = Fit2DConfig(),
    generator: torch.Generator | None = None,
) -> Fit2DResult:
    """Local rotations, body orientation and position that explain 2D ``keypoints``, regularised by ``prior``.

    Args:
        keypoints: ``(T, P, 2)`` pixels (x right, y down): the skeleton's ``J`` joints in its order, or the
            ``P`` keypoints of ``layout``. Unseen ones may be NaN (confidence 0).
        confidence: ``(T, P)`` weights in ``[0, inf)`` (detector scores; 0 = occluded or missing), or None
            for all 1.
        camera: ``(3, 3)`` or ``(T, 3, 3)`` intrinsics (:func:`~poseprior.geometry.default_camera` when unknown).
        skeleton: the ``J = K + 1`` joints with the subject's bone lengths (usually ``prior.joints.skeleton``).
        prior: a :class:`PosePrior` over the ``K`` joints, or None for no prior.
        unit_mm: millimetres per length unit of ``skeleton``.
        layout: the keypoints' layout name, or None for the skeleton's joints.
        init: an IK model (e.g. ``flow-ik-bandai``): its mode and samples given the pixels start the
            hypotheses; or ``(T, K, 3, 3)`` / ``(K, 3, 3)`` rotations; default the rest pose and prior samples.
        config: a :class:`Fit2DConfig`.
        generator: random source of the hypotheses' samples.

    Returns:
        A :class:`Fit2DResult` (tensors detached) in the camera frame.
    """
    if not isinstance(config, Fit2DConfig):
        raise ValidationError(f"config: expected a Fit2DConfig, got {type(config).__name__}")
    if not unit_mm > 0:
        raise ValidationError(f"unit_mm: expected a positive number, got {unit_mm!r}")
    if (
        not isinstance(keypoints, torch.Tensor)
        or keypoints.ndim != 3
        or keypoints.shape[-1] != 2
        or keypoints.shape[0] == 0
    ):
        shape = tuple(keypoints.shape) if isinstance(keypoints, torch.Tensor) else type(keypoints).__name__
        raise ValidationError(f"keypoints: expected pixels of shape (T, P, 2) with T > 0, got {shape}")
    T, P, _ = keypoints.shape
    J, K, H = skeleton.num_joints, skeleton.num_joints - 1, config.hypotheses
    if prior is not None and prior.num_joints != K:
        raise ValidationError(
            f"prior: expected a {K}-joint prior for this {J}-joint skeleton (root + K), got {prior.num_joints} joints"
        )
    if confidence is None:
        confidence = torch.ones(T, P)
    if not isinstance(confidence, torch.Tensor) or confidence.shape != (T, P):
        shape = tuple(confidence.shape) if isinstance(confidence, torch.Tensor) else type(confidence).__name__
        raise ValidationError(f"confidence: expected shape ({T}, {P}), got {shape}")
    if not (torch.isfinite(confidence).all() and (confidence >= 0).all()):
        raise ValidationError("confidence: expected finite, non-negative weights")
    visible = confidence > 0
    bad = visible & ~torch.isfinite(keypoints).all(-1)
    if bad.any():
        t, p = bad.nonzero()[0].tolist()
        raise ValidationError(
            f"keypoints: NaN or inf at frame {t}, keypoint {p} whose confidence is positive; set its confidence to 0"
        )
    empty = visible.sum(-1) < 4
    if empty.any():
        raise ValidationError(
            f"confidence: frame {empty.nonzero()[0].item()} has {int(visible[empty][0].sum())} visible keypoints; a 2D fit needs at least 4"
        )
    camera = _check_camera(camera, T)
    A = keypoint_matrix(skeleton, layout, P)

    params = list(prior.parameters()) if isinstance(prior, torch.nn.Module) else []
    device = params[0].device if params else keypoints.device
    dtype = params[0].dtype if params else torch.float32
    pixels = torch.where(visible[..., None], keypoints, 0.0).to(device=device, dtype=dtype)
    weight = confidence.to(device=device, dtype=dtype)
    camera = camera.to(device=device, dtype=dtype).expand(T, 3, 3)
    A = A.to(device=device, dtype=dtype)

    # (1) Starting poses.
    ik = None
    if isinstance(init, ConditionalFlowPrior):
        if init.skeleton.joint_names != skeleton.joint_names:
            raise ValidationError(
                f"init: the IK model's joints {init.skeleton.joint_names} are not the skeleton's {skeleton.joint_names}"
            )
        joint_px, seen = joint_targets(A, pixels, visible.to(device), skeleton)
        if not seen[:, 0].all():
            raise ValidationError(
                "keypoints: the IK model needs the root (or one of its children) visible in every frame; pass init=None"
            )
        ik = solve_ik(
            init,
            joint_px,
            seen,
            hypotheses=max(H - 1, 1),
            candidates=max(20, H),
            camera=camera,
            seed=ik_seed(generator),
        )
    R0 = starting_poses(
        init if ik is None else None, ik, prior, (H, T, K), generator=generator, device=device, dtype=dtype
    )

    scale, variance2 = config.robust_scale_px, 2 * config.keypoint_sigma_px**2

    def data_term(points: torch.Tensor) -> torch.Tensor:  # camera-frame keypoints (..., T, P, 3) -> (..., T)
        error = (project_points(points, camera) - pixels).square().sum(-1)
        behind = torch.relu(1e-2 - points[..., 2]).square() * 1e6  # keep the body in front of the camera
        return ((geman_mcclure(error, scale) + behind) * weight).sum(-1) / variance2

    # (2) Orientation and depth per hypothesis, the pose held: 24 starts, the best kept.
    with torch.no_grad():
        body = pelvis_keypoints(skeleton, R0)
        body = A @ body  # (H, T, P, 3) pelvis-frame keypoints
        starts = _cube_rotations(dtype, device)  # (S, 3, 3)
        S = starts.shape[0]
        rays = torch.cat([pixels, torch.ones_like(pixels[..., :1])], -1) @ torch.linalg.inv(camera).transpose(-1, -2)
        w = visible.to(device=device, dtype=dtype)
        n = w.sum(-1, keepdim=True)
        centre_ray = (rays * w[..., None]).sum(-2) / n  # (T, 3)
        spread_img = ((rays[..., :2] - centre_ray[:, None, :2]).square().sum(-1) * w).sum(-1).div(n[..., 0]).sqrt()
        oriented = body[None] @ starts[:, None, None].transpose(-1, -2)  # (S, H, T, P, 3)
        centre = (oriented * w[..., None]).sum(-2, keepdim=True) / n[..., None]
        spread = ((oriented - centre)[..., :2].square().sum(-1) * w).sum(-1).div(n[..., 0]).sqrt()
        depth = spread / spread_img.clamp_min(1e-6)  # (S, H, T)
        t0 = centre_ray * depth[..., None] - centre[..., 0, :]
    root_delta = torch.zeros(S, H, T, 3, device=device, dtype=dtype, requires_grad=True)
    shift = torch.zeros(S, H, T, 3, device=device, dtype=dtype, requires_grad=True)

    def placed(points: torch.Tensor, rotation: torch.Tensor, d: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """Points ``(..., P, 3)`` rotated, then moved to ``base + depth * d`` (steps relative to the depth)."""
        translation = base + d * base[..., 2:].abs() * _SHIFT
        return points @ rotation.transpose(-1, -2) + translation[..., None, :]

    def root_objective() -> torch.Tensor:
        rotation = starts[:, None, None] @ roma.rotvec_to_rotmat(root_delta)
        return data_term(placed(body[None], rotation, shift, t0))

    minimise(root_objective, [root_delta, shift], config.root_steps, config.lr)
    with torch.no_grad():
        best = root_objective().argmin(0)  # (H, T)
        h, t = torch.meshgrid(torch.arange(H, device=device), torch.arange(T, device=device), indexing="ij")
        root0 = (starts[:, None, None] @ roma.rotvec_to_rotmat(root_delta))[best, h, t]  # (H, T, 3, 3)
        base = t0[best, h, t] + shift[best, h, t] * t0[best, h, t][..., 2:].abs() * _SHIFT

    # (3) Everything together.
    latent = uses_latent(prior, config.parametrisation)
    pose_vars = PoseVariables(
        R0, prior, default_prior_weight(prior, config.prior_weight, latent), latent, config.residual_deg
    )
    root_delta = torch.zeros(H, T, 3, device=device, dtype=dtype, requires_grad=True)
    shift = torch.zeros(H, T, 3, device=device, dtype=dtype, requires_grad=True)

    def pose():
        R = pose_vars.rotations()
        root = root0 @ roma.rotvec_to_rotmat(root_delta)
        translation = base + shift * base[..., 2:].abs() * _SHIFT
        positions = posed_joints(skeleton, R, root, translation)[0]
        return R, root, translation, positions

    def objective() -> torch.Tensor:
        R, _, _, positions = pose()
        return data_term(A @ positions) + pose_vars.prior_term(R)

    minimise(objective, pose_vars.parameters + [root_delta, shift], config.steps, config.lr)
    with torch.no_grad():
        final = objective()
        R, root, translation, positions = pose()
        order = rank(final)
        frames = torch.arange(T, device=device)

        def ranked(x: torch.Tensor) -> torch.Tensor:  # (H, T, ...) -> (T, H, ...), best first
            return x[order, frames].transpose(0, 1)

        hyp_positions = ranked(positions)
        return Fit2DResult(
            rotations=ranked(R)[:, 0],
            root_rotation=ranked(root)[:, 0],
            root_translation=ranked(translation)[:, 0],
            positions=hyp_positions[:, 0],
            pixels=project_points(A @ hyp_positions[:, 0], camera),
            objective=ranked(final)[:, 0],
            hypotheses=ranked(R),
            hypotheses_root_rotation=ranked(root),
            hypotheses_root_translation=ranked(translation),
            hypotheses_positions=hyp_positions,
            hypotheses_objective=ranked(final),
        )
