"""Observations of a pose (keypoints with visibility masks) and their encoding into a flow's context vector.

A pose lives on a skeleton of ``J`` joints: the root (joint 0, the pelvis) and the ``K = J - 1`` pose joints
whose local rotations the flow models. An observation mixes two kinds of measurement, each with its mask:

1. **Pelvis-frame 3D coordinates, masked per coordinate.** The keypoints ``(..., J, 3)`` are the joint
   positions that forward kinematics gives with the root's rotation set to identity and the root at the
   origin (:func:`~poseprior.skeleton.pelvis_keypoints`), in the skeleton's length unit; the mask is ``(..., J, 3)``. Full 3D
   keypoints (all visible), partial 3D keypoints (a ``(..., J)`` joint mask, broadcast over x, y, z) and
   **orthographic 2D keypoints** as in HuProSO3 (Dünkel et al., CVPR 2024: the pelvis-frame x, y with z
   hidden) are all this one kind, so one model serves them all. Coordinates are divided by the model's
   ``length_scale`` (the rest skeleton's largest joint distance from the root) so that they are of order 1
   whatever the unit.
2. **Perspective 2D keypoints** ``(..., J, 2)``, pixels of a camera with known intrinsics ``(3, 3)`` whose
   pose relative to the body is unknown. What the intrinsics and the image position can tell is removed
   exactly (:func:`perspective_view`): pixels become rays ``K^-1 (u, v, 1)``; the camera is turned, as a
   pan-tilt head would turn it (pan about its y axis, then tilt), until the root's ray is its optical axis;
   the rays are projected again and divided by their RMS distance from the root over the visible joints,
   which removes the unknown distance. The remaining unknown, the viewing direction, is *marginalised*:
   in training the body (with its real global orientation, ``root_rotation``, in a world whose up axis is
   ``ConditionConfig.up``) is seen by a level camera at a random yaw (uniform), pitch
   (``ConditionConfig.pitch_deg``) and distance (``ConditionConfig.distance_mm``) aimed at the pelvis, so
   the conditional flow learns ``p(local rotations | 2D keypoints)`` with the view integrated out. The view
   itself (the pelvis orientation in the camera frame) is not modelled: a pose sample fixes it up to the
   fit of its keypoints to the rays. The root must be visible: it anchors the view.

An observation becomes a feature vector (:meth:`Observation.features`): the masked values and the masks of
the ``K`` non-root joints (the root is the origin of both kinds by construction), ``9 K`` numbers; an MLP
(:class:`ObservationEncoder`) turns it into the context vector of the flow's coupling layers. With every
joint hidden the features are all zeros, whatever the kind, so the context is one constant vector and the
conditional flow is an unconditional prior there (trained so by the random masking of
:func:`random_observation`). :class:`BoneAlignment` turns visible 3D bones into analytic joint rotations,
which the conditional flow uses to pin the joints (:mod:`poseprior.models.flow.conditional`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import roma
import torch
from torch import nn

from poseprior.errors import ValidationError
from poseprior.geometry.camera import level_camera_rotations, project_points
from poseprior.skeleton import Skeleton

__all__ = [
    "ConditionConfig",
    "Observation",
    "ObservationEncoder",
    "observe_3d",
    "perspective_view",
    "observe_perspective",
    "random_observation",
    "perspective_pixels",
    "BoneAlignment",
]


@dataclass(frozen=True)
class ConditionConfig:
    """How observations are encoded and how they are drawn in training.

    Attributes:
        context: size of the encoder's output (the flow's context adds one alignment flag per joint).
        hidden: widths of the encoder MLP.
        p_3d, p_orthographic, p_perspective: training mix of observation kinds (normalised to sum 1):
            pelvis-frame 3D keypoints, their orthographic x, y (z hidden), perspective 2D keypoints.
        p_full: probability that a training observation hides no joint.
        p_empty: probability that it hides every joint (the model then learns the unconditional prior).
        otherwise each non-root joint is hidden with a rate drawn uniformly in ``[0, 1)`` per observation.
        noise: standard deviation of Gaussian noise added to visible training observations, in normalised
            units (3D: fractions of ``length_scale``, 0.002 is about 2 mm for bandai-v1; perspective: of the
            2D RMS spread). Some noise keeps the density of joints pinned by their bones finite, and it
            helped every observation kind in our runs (30% hidden: 24 mm instead of 42 mm after 8 minutes).
        estimates: also give the flow, per pinned joint, the local rotation its visible bones imply (in the
            flow's standardised chart coordinates; 0 where not pinned). A pinned joint's own flow coordinates
            are only what the bones leave free, so without these the coupling layers lose the joint's rotation,
            which they use to predict its neighbours; the 64-value encoder output alone did not carry it
            (val: 30% hidden scored below every joint hidden, see docs/benchmarks.md).
        up: the world's up axis, in which ``root_rotation`` is given (``(0, 1, 0)``: Y-up BVH data).
        distance_mm: range of the training camera's distance from the pelvis, millimetres.
        pitch_deg: range of the training camera's elevation above the pelvis, degrees (positive: looking down).
    """

    context: int = 64
    hidden: tuple[int, ...] = (256, 256)
    p_3d: float = 0.5
    p_orthographic: float = 0.25
    p_perspective: float = 0.25
    p_full: float = 0.3
    p_empty: float = 0.1
    noise: float = 0.002
    estimates: bool = True
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)
    distance_mm: tuple[float, float] = (3000.0, 6000.0)
    pitch_deg: tuple[float, float] = (-10.0, 30.0)

    def __post_init__(self) -> None:
        kinds = (self.p_3d, self.p_orthographic, self.p_perspective)
        if min(kinds) < 0 or sum(kinds) <= 0:
            raise ValidationError(
                f"p_3d, p_orthographic, p_perspective: need non-negative values with a positive sum, got {kinds}"
            )
        if not (0 <= self.p_full and 0 <= self.p_empty and self.p_full + self.p_empty <= 1):
            raise ValidationError(
                f"p_full, p_empty: need non-negative values summing to at most 1, got {self.p_full}, {self.p_empty}"
            )
        if self.context < 1:
            raise ValidationError(f"context: must be positive, got {self.context}")
        if not 0 < self.distance_mm[0] <= self.distance_mm[1]:
            raise ValidationError(f"distance_mm: expected 0 < min <= max, got {self.distance_mm}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ConditionConfig:
        d = dict(d)
        for key in ("hidden", "up", "distance_mm", "pitch_deg"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


class Observation(NamedTuple):
    """A normalised observation of poses with batch shape ``(...)`` on a ``J``-joint skeleton.

    Attributes:
        points: ``(..., J, 3)`` pelvis-frame coordinates divided by the length scale, 0 where hidden.
        points_mask: ``(..., J, 3)`` bool, True where a coordinate is visible.
        image: ``(..., J, 2)`` canonical perspective view (:func:`perspective_view`), 0 where hidden.
        image_mask: ``(..., J)`` bool, True where a perspective keypoint is visible.
    """

    points: torch.Tensor
    points_mask: torch.Tensor
    image: torch.Tensor
    image_mask: torch.Tensor

    def features(self) -> torch.Tensor:
        """``(..., 9 (J - 1))`` encoder input: masked values and masks of the non-root joints."""
        parts = (self.points, self.points_mask, self.image, self.image_mask.unsqueeze(-1))
        return torch.cat([p[..., 1:, :].to(self.points.dtype).flatten(-2) for p in parts], dim=-1)


_MIN_STD = 0.02


class ObservationEncoder(nn.Module):
    """MLP from an :class:`Observation` of ``J`` joints to a context vector ``(..., C)``.

    Visible coordinates are first standardised per joint and axis (``points_loc``, ``points_scale``
    ``(J, 3)``, ``image_loc``, ``image_scale`` ``(J, 2)``: means and standard deviations on training data,
    at least 0.02 normalised units, :meth:`fit`), so that the MLP sees how a pose differs from the average
    one; hidden ones stay 0.
    """

    def __init__(self, num_joints: int, config: ConditionConfig):
        super().__init__()
        widths = [9 * (num_joints - 1), *config.hidden]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=False):
            layers += [nn.Linear(a, b), nn.SiLU()]
        layers.append(nn.Linear(widths[-1], config.context))
        self.net = nn.Sequential(*layers)
        self.register_buffer("points_loc", torch.zeros(num_joints, 3))
        self.register_buffer("points_scale", torch.ones(num_joints, 3))
        self.register_buffer("image_loc", torch.zeros(num_joints, 2))
        self.register_buffer("image_scale", torch.ones(num_joints, 2))

    @torch.no_grad()
    def fit(self, observation: Observation) -> None:
        """Set the standardisation from a batch of fully visible training observations of each kind."""
        for name, values, mask in (
            ("points", observation.points, observation.points_mask),
            ("image", observation.image, observation.image_mask.unsqueeze(-1)),
        ):
            mask = mask.expand_as(values).to(values.dtype)
            n = mask.sum(0)
            loc = (values * mask).sum(0) / n.clamp_min(1)
            # The floor keeps near-rigid coordinates (the spine's, fixed by the pelvis) from turning a user's
            # slightly different bone lengths into huge inputs.
            std = (((values - loc).square() * mask).sum(0) / n.clamp_min(1)).sqrt().clamp_min(_MIN_STD)
            seen = n > 1  # coordinates never seen (e.g. no perspective data) keep the identity
            getattr(self, f"{name}_loc").copy_(torch.where(seen, loc, 0.0))
            getattr(self, f"{name}_scale").copy_(torch.where(seen, std, 1.0))

    def forward(self, observation: Observation) -> torch.Tensor:
        points = torch.where(observation.points_mask, (observation.points - self.points_loc) / self.points_scale, 0.0)
        visible = observation.image_mask.unsqueeze(-1)
        image = torch.where(visible, (observation.image - self.image_loc) / self.image_scale, 0.0)
        return self.net(observation._replace(points=points, image=image).features())


def observe_3d(keypoints: torch.Tensor, mask: torch.Tensor, length_scale: float) -> Observation:
    """Observation of pelvis-frame keypoints ``(..., J, 3)`` (skeleton unit) with a ``(..., J, 3)`` bool mask.

    Hidden coordinates may hold anything (NaN included): they are replaced by 0.
    """
    points = torch.where(mask, keypoints / length_scale, 0.0)
    batch = keypoints.shape[:-1]
    return Observation(
        points, mask, keypoints.new_zeros(*batch, 2), torch.zeros(batch, dtype=torch.bool, device=keypoints.device)
    )


def perspective_view(rays: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Canonical 2D view ``(..., J, 2)`` of camera rays ``(..., J, 3)`` (``K^-1 (u, v, 1)``) with root ray 0.

    The camera is panned about its y axis and tilted about its new x axis until the root's ray is the optical
    axis (a level camera stays level), the rays are projected again (the root lands at the origin) and
    divided by their RMS distance from the root over the visible non-root joints ``mask (..., J)``, which
    removes the camera's distance. Hidden joints come out as 0.
    """
    z = rays[..., :1, :] / rays[..., :1, :].norm(dim=-1, keepdim=True)
    y_axis = torch.tensor([0.0, 1.0, 0.0], dtype=rays.dtype, device=rays.device).expand_as(z)
    x = torch.linalg.cross(y_axis, z)
    x = x / x.norm(dim=-1, keepdim=True)
    y = torch.linalg.cross(z, x)
    view = torch.cat([x, y, z], dim=-2)  # (..., 3, 3), rows: the turned camera's axes
    safe = torch.where(mask.unsqueeze(-1), rays, z)  # hidden joints may hold NaN
    q = safe @ view.transpose(-1, -2)
    xy = q[..., :2] / q[..., 2:]
    visible = mask.clone()
    visible[..., 0] = False
    n = visible.sum(-1, keepdim=True).clamp_min(1)
    rms = (torch.where(visible.unsqueeze(-1), xy, 0.0).square().sum((-1, -2)).unsqueeze(-1) / n).sqrt()
    return torch.where(mask.unsqueeze(-1), xy / rms.clamp_min(1e-12).unsqueeze(-1), 0.0)


def observe_perspective(pixels: torch.Tensor, camera: torch.Tensor, mask: torch.Tensor) -> Observation:
    """Observation of pixels ``(..., J, 2)`` of a camera with intrinsics ``(..., 3, 3)``, mask ``(..., J)``.

    The root (joint 0) must be visible; see :func:`perspective_view` for the normalisation.
    """
    homogeneous = torch.cat([torch.where(mask.unsqueeze(-1), pixels, 0.0), torch.ones_like(pixels[..., :1])], dim=-1)
    rays = homogeneous @ torch.linalg.inv(camera).transpose(-1, -2)
    image = perspective_view(rays, mask)
    batch = pixels.shape[:-1]
    return Observation(
        pixels.new_zeros(*batch, 3), torch.zeros(*batch, 3, dtype=torch.bool, device=pixels.device), image, mask
    )


def perspective_pixels(
    keypoints: torch.Tensor,
    root_rotation: torch.Tensor,
    camera: torch.Tensor,
    yaw: torch.Tensor,
    pitch: torch.Tensor,
    distance: torch.Tensor,
    up: tuple[float, float, float] = (0.0, 1.0, 0.0),
    aim: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pixels ``(..., J, 2)`` of pelvis-frame keypoints ``(..., J, 3)`` seen by a level camera (synthetic data).

    The body stands with its root at the world origin, oriented by ``root_rotation (..., 3, 3)``; the camera
    (intrinsics ``camera (3, 3)`` or ``(..., 3, 3)``) is at ``distance (...)`` (keypoint unit) from the point
    it aims at, the origin plus ``aim (..., 3)`` (world offset, default 0: the pelvis in the image centre),
    in the direction given by ``yaw`` and ``pitch`` radians ``(...)`` about the world ``up`` axis
    (:func:`~poseprior.geometry.level_camera_rotations`). This is the camera of :func:`random_observation`, in pixels.
    """
    R_cw, direction = level_camera_rotations(
        torch.tensor(up, dtype=keypoints.dtype, device=keypoints.device), yaw, pitch
    )
    target = torch.zeros_like(direction) if aim is None else aim
    eye = target + distance.unsqueeze(-1) * direction
    world = keypoints @ root_rotation.transpose(-1, -2)
    cam = (world - eye.unsqueeze(-2)) @ R_cw.transpose(-1, -2)
    return project_points(cam, camera)


def random_observation(
    keypoints: torch.Tensor,
    root_rotation: torch.Tensor | None,
    config: ConditionConfig,
    length_scale: float,
    unit_mm: float,
    generator: torch.Generator | None = None,
) -> Observation:
    """A random training observation of pelvis-frame keypoints ``(B, J, 3)`` (skeleton unit).

    Each observation draws its kind (3D, orthographic, perspective, by the ``p_*`` weights of ``config``) and
    which joints it hides (none with probability ``p_full``, all with ``p_empty``, else each non-root joint
    with a rate uniform in ``[0, 1)``). Perspective observations need ``root_rotation (B, 3, 3)``, the root's
    world orientation, to place the level training camera (see the module docstring).
    """
    B, J, _ = keypoints.shape
    device, dtype = keypoints.device, keypoints.dtype

    def rand(*shape: int) -> torch.Tensor:
        g_device = generator.device if generator is not None else device
        return torch.rand(shape, generator=generator, device=g_device, dtype=dtype).to(device)

    weights = torch.tensor([config.p_3d, config.p_orthographic, config.p_perspective], dtype=dtype)
    bounds = (weights.cumsum(0) / weights.sum()).to(device)
    kind = torch.searchsorted(bounds, rand(B).unsqueeze(-1).contiguous(), right=True).squeeze(-1).clamp(max=2)
    u = rand(B)
    rate = torch.where(u < config.p_full, 0.0, torch.where(u < config.p_full + config.p_empty, 1.0, rand(B)))
    visible = rand(B, J) >= rate.unsqueeze(-1)
    visible[:, 0] = True  # the root is the origin of both kinds: "hidden" means nothing for it

    points_mask = (visible & (kind != 2).unsqueeze(-1)).unsqueeze(-1).repeat(1, 1, 3)
    points_mask[..., 2] &= (kind == 0).unsqueeze(-1)
    points = keypoints / length_scale
    if config.noise > 0:
        points = points + config.noise * _randn(generator, (B, J, 3), dtype, device)
    points = torch.where(points_mask, points, 0.0)

    image_mask = visible & (kind == 2).unsqueeze(-1)
    image = keypoints.new_zeros(B, J, 2)
    persp = (kind == 2).nonzero().squeeze(-1)
    if len(persp):
        if root_rotation is None:
            raise ValidationError(
                "root_rotation: perspective training observations need each pose's root (pelvis) orientation in "
                "the world; pass it in the batch, or set p_perspective=0"
            )
        n = len(persp)
        yaw = 2 * math.pi * rand(n)
        lo, hi = (math.radians(a) for a in config.pitch_deg)
        pitch = lo + (hi - lo) * rand(n)
        distance = (config.distance_mm[0] + (config.distance_mm[1] - config.distance_mm[0]) * rand(n)) / unit_mm
        R_cw, _ = level_camera_rotations(torch.tensor(config.up, dtype=dtype, device=device), yaw, pitch)
        R = R_cw @ root_rotation[persp].to(dtype)
        cam = keypoints[persp] @ R.transpose(-1, -2)
        cam = cam + torch.stack([torch.zeros_like(distance), torch.zeros_like(distance), distance], -1).unsqueeze(-2)
        view = perspective_view(cam, image_mask[persp])
        if config.noise > 0:
            view = torch.where(
                image_mask[persp].unsqueeze(-1), view + config.noise * _randn(generator, view.shape, dtype, device), 0.0
            )
        image = image.index_copy(0, persp, view)
    return Observation(points, points_mask, image, image_mask)


def _randn(generator: torch.Generator | None, shape, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    g_device = generator.device if generator is not None else device
    return torch.randn(tuple(shape), generator=generator, device=g_device, dtype=dtype).to(device)


class BoneAlignment(nn.Module):
    """Analytic pelvis-frame (global) rotations of the pose joints that put their visible 3D bones onto the keypoints.

    For pose joint ``j`` with children ``c`` (skeleton joints), each bone whose two ends are visible in 3D gives
    the observed direction ``b_c`` of the rest offset ``o_c``: ``G_j o_c`` should point along ``b_c``. The
    estimate is the rotation maximising ``sum_c <b_c, G o_c> / (|b_c| |o_c|) + eps tr(G^T ref_j)`` (a Procrustes
    problem, :func:`roma.special_procrustes`) for a reference rotation ``ref_j``: with two or more bones it is
    their best fit, with one bone it turns that bone onto its direction and keeps the reference's twist, and
    with none it is the reference.

    Args:
        skeleton: the ``J``-joint skeleton (root first; the pose joints are ``1 .. J - 1``).
        eps: weight of the reference, which only decides what the bones leave free (it tilts them by about
            ``eps`` radians).
    """

    def __init__(self, skeleton: Skeleton, eps: float = 1e-6):
        super().__init__()
        J = skeleton.num_joints
        children = [skeleton.children(j) for j in range(1, J)]
        width = max(1, max(len(c) for c in children))
        index = torch.zeros(J - 1, width, dtype=torch.long)
        valid = torch.zeros(J - 1, width, dtype=torch.bool)
        for j, cs in enumerate(children):
            for k, c in enumerate(cs):
                if float(skeleton.offsets[c].norm()) > 1e-9:  # a zero-length bone has no direction
                    index[j, k], valid[j, k] = c, True
        rest = skeleton.offsets.float()[index]
        self.register_buffer("child", index, persistent=False)
        self.register_buffer("valid", valid, persistent=False)
        self.register_buffer("rest", rest / rest.norm(dim=-1, keepdim=True).clamp_min(1e-12), persistent=False)
        self.eps = eps

    def forward(self, observation: Observation) -> tuple[torch.Tensor, torch.Tensor]:
        """``(M (..., K, 3, 3), pinned (..., K))``: each joint's bone matrix ``sum_c b_c o_c^T`` (unit vectors,
        visible bones only; float64) and whether it has a visible bone."""
        points, seen = observation.points, observation.points_mask.all(-1)
        joint = torch.arange(1, points.shape[-2], device=points.device)
        bones = (points[..., self.child, :] - points[..., joint, None, :]).double()  # (..., K, width, 3)
        length = bones.norm(dim=-1, keepdim=True)
        weight = (seen[..., self.child] & seen[..., joint, None] & self.valid & (length.squeeze(-1) > 1e-9)).double()
        M = torch.einsum("...kc,...kci,kcj->...kij", weight, bones / length.clamp_min(1e-12), self.rest.double())
        return M, weight.sum(-1) > 0

    def solve(self, M: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """The estimates ``(..., K, 3, 3)`` (dtype of ``reference``) for bone matrices ``M`` and references
        ``(..., K, 3, 3)``. Float64, so that the reference's tiny weight is still resolved."""
        return roma.special_procrustes(M + self.eps * reference.double()).to(reference.dtype)
