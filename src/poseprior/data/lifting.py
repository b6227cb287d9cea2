"""Synthetic 2D-3D training pairs for lifting models: random cameras looking at posed skeletons.

A lifter maps 2D keypoints ``(..., P, 2)`` (pixels of a camera with known intrinsics ``(..., 3, 3)``) to
root-relative 3D keypoints ``(..., P, 3)`` in the **camera frame** (OpenCV axes: x right, y down, z forward),
in millimetres. Motion-capture poses have no images, so training pairs are made here: each pose is seen by its
own random level camera (:func:`random_views`), as the synthetic views of ProHPE-style training (Wehrbein et
al., "Probabilistic Monocular 3D Human Pose Estimation with Normalizing Flows", ICCV 2021, trains on
Human3.6M's four real cameras; random cameras cover every viewing direction instead). Real Human3.6M 3D poses
and cameras are read by :mod:`poseprior.io.h36m`.

Keypoints are the skeleton's joints (``layout=None``) or a standard layout (``"h36m17"``, ``"coco17"``) mapped
from them (:func:`layout_keypoints`). The **root** of a layout is keypoint 0 (the pelvis), or for COCO, which
has no pelvis, the midpoint of the two hips (:func:`root_indices`).

:func:`normalise_2d` turns pixels into the model input: rays ``K^-1 (u, v, 1)`` (removes the intrinsics),
centred on the root and divided by their RMS distance to it over the visible points (removes the image
position and, to first order, the camera's distance).

Example:
    >>> import roma
    >>> from poseprior.skeleton import Skeleton
    >>> skeleton = Skeleton(("root", "a", "b"), (-1, 0, 1), torch.tensor([[0.0, 0, 0], [0, 40, 0], [0, 40, 0]]))
    >>> R = roma.random_rotmat((4, 2))
    >>> keypoints = layout_keypoints(skeleton, R)  # (4, 3, 3) pelvis frame, skeleton unit (cm)
    >>> views = random_views(keypoints, roma.random_rotmat(4), LiftingConfig(), 10.0, torch.Generator().manual_seed(0))
    >>> views["pixels"].shape, views["points_camera"].shape, normalise_2d(views["pixels"], views["camera"], views["confidence"]).shape
    (torch.Size([4, 3, 2]), torch.Size([4, 3, 3]), torch.Size([4, 3, 2]))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from poseprior.errors import ValidationError
from poseprior.geometry.camera import intrinsics, level_camera_rotations, project_points
from poseprior.io.keypoints import Keypoints
from poseprior.skeleton import Skeleton, pelvis_keypoints
from poseprior.skeleton.layouts import get_layout, layout_map_for

__all__ = [
    "LiftingConfig",
    "root_indices",
    "layout_keypoints",
    "random_views",
    "normalise_2d",
    "root_translation",
    "reproject",
    "keypoint_training_data",
    "h36m_lifting_splits",
    "H36M_UP",
]

# Layouts without a root keypoint: the root is the mean of these keypoints.
_ROOTS = {"coco17": (11, 12)}  # left_hip, right_hip


@dataclass(frozen=True)
class LiftingConfig:
    """Keypoints and the random cameras of synthetic lifting data.

    Attributes:
        layout: ``None`` for the skeleton's own joints, or a layout name (``"h36m17"``, ``"coco17"``).
        yaw_deg: range of the camera's direction around the world up axis, degrees (uniform).
        pitch_deg: range of the camera's elevation, degrees (positive: above the body, looking down).
        distance_mm: range of the camera's distance from the point it aims at, millimetres.
        focal_px: range of the focal length, pixels (square pixels, no skew).
        image_size: ``(width, height)`` pixels; the principal point is the image centre.
        aim_jitter_mm: the camera aims at the pelvis plus a uniform offset in ``[-a, a]`` per world axis, so
            that the root is not always on the optical axis.
        pixel_noise_px: standard deviation of Gaussian noise added to the pixels.
        drop_probability: probability that a non-root keypoint is dropped (confidence 0).
        up: the world's up axis, in which the root rotations are given (``(0, 1, 0)``: Y-up BVH data).
    """

    layout: str | None = None
    yaw_deg: tuple[float, float] = (0.0, 360.0)
    pitch_deg: tuple[float, float] = (-10.0, 30.0)
    distance_mm: tuple[float, float] = (3000.0, 6000.0)
    focal_px: tuple[float, float] = (1000.0, 1000.0)
    image_size: tuple[int, int] = (1000, 1000)
    aim_jitter_mm: float = 300.0
    pixel_noise_px: float = 0.0
    drop_probability: float = 0.0
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)

    def __post_init__(self) -> None:
        if self.layout is not None:
            object.__setattr__(self, "layout", get_layout(self.layout).name)  # validates, canonical name
        for name in ("yaw_deg", "pitch_deg", "distance_mm", "focal_px"):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise ValidationError(f"{name}: expected (min, max) with min <= max, got {(lo, hi)}")
        if not self.distance_mm[0] > 0 or not self.focal_px[0] > 0:
            raise ValidationError(f"distance_mm, focal_px: must be positive, got {self.distance_mm}, {self.focal_px}")
        if not (-90 < self.pitch_deg[0] and self.pitch_deg[1] < 90):
            raise ValidationError(f"pitch_deg: must lie in (-90, 90) for a level camera, got {self.pitch_deg}")
        if self.aim_jitter_mm < 0 or self.pixel_noise_px < 0:
            raise ValidationError("aim_jitter_mm, pixel_noise_px: must be non-negative")
        if not 0 <= self.drop_probability < 1:
            raise ValidationError(f"drop_probability: must be in [0, 1), got {self.drop_probability}")

    @property
    def root(self) -> tuple[int, ...]:
        """Indices of the keypoints whose mean is the root (:func:`root_indices`)."""
        return root_indices(self.layout)

    def num_keypoints(self, skeleton_joints: int) -> int:
        """``P``: the layout's keypoints, or ``skeleton_joints`` (the skeleton's own joints) without a layout."""
        return skeleton_joints if self.layout is None else get_layout(self.layout).num_joints

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LiftingConfig:
        d = dict(d)
        for key in ("yaw_deg", "pitch_deg", "distance_mm", "focal_px", "image_size", "up"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


def root_indices(layout: str | None) -> tuple[int, ...]:
    """The keypoints whose mean is the root: ``(0,)`` (the pelvis), or ``(11, 12)`` (the hips) for COCO."""
    return (0,) if layout is None else _ROOTS.get(get_layout(layout).name, (0,))


def layout_keypoints(skeleton: Skeleton, rotations: torch.Tensor, layout: str | None = None) -> torch.Tensor:
    """Pelvis-frame keypoints ``(..., P, 3)`` of poses ``rotations (..., J - 1, 3, 3)``, in the skeleton's unit.

    Forward kinematics with the root's rotation set to identity and the root at the origin; ``layout=None``
    gives the ``P = J`` skeleton joints, a layout name its ``P`` keypoints (joints-only approximations of
    :func:`~poseprior.skeleton.layouts.layout_map_for`).
    """
    J = skeleton.num_joints
    if rotations.ndim < 3 or rotations.shape[-3:] != (J - 1, 3, 3):
        raise ValidationError(
            f"rotations: expected shape (..., {J - 1}, 3, 3) for this {J}-joint skeleton, got {tuple(rotations.shape)}"
        )
    joints = pelvis_keypoints(skeleton, rotations)
    if layout is None:
        return joints
    W = layout_map_for(skeleton, layout).matrix(skeleton)[:, :J]
    return W.to(joints) @ joints


def _uniform(generator: torch.Generator | None, shape, lo: float, hi: float, like: torch.Tensor) -> torch.Tensor:
    device = generator.device if generator is not None else like.device
    u = torch.rand(tuple(shape), generator=generator, device=device, dtype=like.dtype).to(like.device)
    return lo + (hi - lo) * u


def random_views(
    keypoints_pelvis: torch.Tensor,
    root_rotation: torch.Tensor,
    config: LiftingConfig,
    unit_mm: float,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Each pose seen by its own random level camera (synthetic lifting data).

    The body stands with its pelvis at the world origin, turned by ``root_rotation (..., 3, 3)`` (world up:
    ``config.up``); the camera sits at a random distance from the pelvis plus a random aim offset, in a random
    direction (yaw, pitch), looking at that point with its x axis level. All draws use ``generator``.

    Args:
        keypoints_pelvis: ``(..., P, 3)`` pelvis-frame keypoints (:func:`layout_keypoints`), skeleton unit.
        root_rotation: ``(..., 3, 3)`` the pelvis's world orientation.
        config: camera ranges, noise and dropping.
        unit_mm: millimetres per skeleton unit (10 for centimetres).

    Returns:
        ``pixels (..., P, 2)`` (with ``config.pixel_noise_px`` noise; dropped keypoints keep their value: read
        ``confidence``), ``camera (..., 3, 3)`` intrinsics, ``R_cw (..., 3, 3)`` world-to-camera rotation,
        ``points_camera (..., P, 3)`` root-relative camera-frame keypoints in mm, ``root_camera (..., 3)`` the
        root's camera-frame position in mm (``project_points(points_camera + root_camera)`` are the noise-free
        pixels), ``confidence (..., P)``: 1, or 0 for dropped keypoints (the root's are never dropped).
    """
    if keypoints_pelvis.ndim < 2 or keypoints_pelvis.shape[-1] != 3:
        raise ValidationError(f"keypoints_pelvis: expected shape (..., P, 3), got {tuple(keypoints_pelvis.shape)}")
    batch, P = keypoints_pelvis.shape[:-2], keypoints_pelvis.shape[-2]
    if root_rotation.shape != (*batch, 3, 3):
        raise ValidationError(f"root_rotation: expected shape {(*batch, 3, 3)}, got {tuple(root_rotation.shape)}")
    root = config.root
    if max(root) >= P:
        raise ValidationError(f"keypoints_pelvis: {P} keypoints, but layout {config.layout!r} has its root at {root}")
    x = keypoints_pelvis
    yaw = _uniform(generator, batch, *(math.radians(a) for a in config.yaw_deg), x)
    pitch = _uniform(generator, batch, *(math.radians(a) for a in config.pitch_deg), x)
    distance = _uniform(generator, batch, *config.distance_mm, x)
    focal = _uniform(generator, batch, *config.focal_px, x)
    aim = _uniform(generator, (*batch, 3), -config.aim_jitter_mm, config.aim_jitter_mm, x)
    R_cw, direction = level_camera_rotations(x.new_tensor(config.up), yaw, pitch)
    eye = aim + distance.unsqueeze(-1) * direction
    world = unit_mm * x @ root_rotation.to(x).transpose(-1, -2)
    cam = (world - eye.unsqueeze(-2)) @ R_cw.transpose(-1, -2)
    root_camera = cam[..., root, :].mean(-2)
    camera = intrinsics(focal, config.image_size)
    pixels = project_points(cam, camera)
    if config.pixel_noise_px > 0:
        device = generator.device if generator is not None else x.device
        noise = torch.randn(pixels.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)
        pixels = pixels + config.pixel_noise_px * noise
    confidence = (_uniform(generator, (*batch, P), 0.0, 1.0, x) >= config.drop_probability).to(x.dtype)
    confidence[..., root] = 1.0
    return {
        "pixels": pixels,
        "camera": camera,
        "R_cw": R_cw,
        "points_camera": cam - root_camera.unsqueeze(-2),
        "root_camera": root_camera,
        "confidence": confidence,
    }


def normalise_2d(
    pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor | None = None, root: tuple[int, ...] = (0,)
) -> torch.Tensor:
    """The normalised 2D view ``(..., P, 2)`` of ``pixels (..., P, 2)`` from a camera ``(..., 3, 3)``.

    Pixels become rays ``K^-1 (u, v, 1)`` (on the plane z = 1: the intrinsics are removed), are centred on the
    root (the mean of keypoints ``root``, which must be visible) and divided by their RMS distance to it over
    the visible keypoints (``confidence > 0``; all when None), which removes the camera's distance to first
    order (exactly for a scaled scene). Invisible keypoints come out as 0 (they may hold NaN). The result is
    invariant to translating the pixels and to scaling them about any point, hence to the focal length.
    """
    visible = (
        torch.ones(pixels.shape[:-1], dtype=torch.bool, device=pixels.device) if confidence is None else confidence > 0
    )
    safe = torch.where(visible.unsqueeze(-1), pixels, 0.0)
    homogeneous = torch.cat([safe, torch.ones_like(safe[..., :1])], dim=-1)
    rays = homogeneous @ torch.linalg.inv(camera.to(pixels)).transpose(-1, -2)
    xy = rays[..., :2] / rays[..., 2:]
    centred = torch.where(visible.unsqueeze(-1), xy - xy[..., list(root), :].mean(-2, keepdim=True), 0.0)
    n = visible.sum(-1).clamp_min(1).to(xy.dtype)
    rms = (centred.square().sum((-1, -2)) / n).sqrt().clamp_min(1e-12)
    return centred / rms[..., None, None]


def root_translation(
    points: torch.Tensor, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor | None = None
) -> torch.Tensor:
    """The camera-frame root position ``(..., 3)`` that best puts root-relative ``points (..., P, 3)`` on ``pixels``.

    Least squares on the linear equations ``x_i + t_x = a_i (z_i + t_z)``, ``y_i + t_y = b_i (z_i + t_z)``
    with rays ``(a_i, b_i, 1) = K^-1 (u_i, v_i, 1)``, weighted by ``confidence (..., P)``: the algebraic
    error, in the points' unit. ``points`` may have more leading dimensions than the 2D input (e.g. samples).
    """
    w = (
        torch.ones(pixels.shape[:-1], dtype=points.dtype, device=points.device)
        if confidence is None
        else confidence.to(points)
    )
    safe = torch.where(w.unsqueeze(-1) > 0, pixels.to(points), 0.0)
    rays = torch.cat([safe, torch.ones_like(safe[..., :1])], dim=-1) @ torch.linalg.inv(camera.to(points)).transpose(
        -1, -2
    )
    a, b, w, _ = torch.broadcast_tensors(rays[..., 0], rays[..., 1], w, points[..., 0])  # samples (n, ..., P, 3)
    one, zero = torch.ones_like(a), torch.zeros_like(a)
    A = torch.stack([torch.stack([one, zero, -a], -1), torch.stack([zero, one, -b], -1)], -3)  # (..., 2, P, 3)
    y = torch.stack([a * points[..., 2] - points[..., 0], b * points[..., 2] - points[..., 1]], -2)  # (..., 2, P)
    A, y, w = A.flatten(-3, -2), y.flatten(-2), w.unsqueeze(-2).expand(*w.shape[:-1], 2, w.shape[-1]).flatten(-2)
    AtA = (A * w.unsqueeze(-1)).transpose(-1, -2) @ A
    Aty = ((A * w.unsqueeze(-1)).transpose(-1, -2) @ y.unsqueeze(-1)).squeeze(-1)
    return torch.linalg.solve(AtA, Aty)


def reproject(
    points: torch.Tensor, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor | None = None
) -> torch.Tensor:
    """Pixels ``(..., P, 2)`` of root-relative camera-frame ``points (..., P, 3)`` placed at their best root
    (:func:`root_translation` for ``pixels``, ``camera``, ``confidence``): how well a 3D estimate explains 2D."""
    t = root_translation(points, pixels, camera, confidence)
    return project_points(points + t.unsqueeze(-2), camera)


#: Human3.6M's world up axis (``z``), for :attr:`LiftingConfig.up` of lifters trained on its 3D joints.
H36M_UP = (0.0, 0.0, 1.0)


def keypoint_training_data(clips: Sequence[Keypoints], *, every: int = 1, root: tuple[int, ...] = (0,)) -> torch.Tensor:
    """Training poses ``keypoints (N, P, 3)`` for a lifter (``ProbabilisticLifter.random_views``) from 3D
    keypoint clips: every ``every``-th frame of each, in mm, minus the root (the mean of keypoints ``root``),
    in the clips' world axes (the cameras of :func:`random_views` turn around the world up axis, so the
    clips' facing direction does not matter).

    Example:
        >>> kp = Keypoints(np.random.rand(10, 17, 3), get_layout("h36m17").joint_names, fps=50, unit="m", layout="h36m17")  # doctest: +SKIP
        >>> keypoint_training_data([kp], every=5).shape  # doctest: +SKIP
        torch.Size([2, 17, 3])
    """
    if every < 1:
        raise ValidationError(f"every: must be positive, got {every}")
    if not clips:
        raise ValidationError("clips: no keypoint clips to train on")
    parts = []
    for clip in clips:
        if clip.dims != 3:
            raise ValidationError(f"clips: expected 3D keypoints, got 2D ({clip!r})")
        if not clip.visible.all():
            raise ValidationError(f"clips: training keypoints must all be present, {clip!r} has missing ones")
        x = torch.from_numpy(clip.with_unit("mm").positions[::every]).float()
        parts.append(x - x[:, list(root)].mean(1, keepdim=True))
    return torch.cat(parts)


def h36m_lifting_splits(
    path: str | Path,
    train_subjects: Sequence[str] = ("S1", "S5", "S6", "S7"),
    val_subjects: Sequence[str] = ("S8",),
    *,
    every: int = 5,
) -> dict[str, torch.Tensor]:
    """``{"train": (N, 17, 3), "val": (M, 17, 3)}`` lifter training poses (:func:`keypoint_training_data`, mm,
    root-relative, Human3.6M's z-up world axes) from VideoPose3D's ``data_3d_h36m.npz`` at ``path``.

    The defaults hold out S8 for validation and leave the usual test subjects S9 and S11 alone; ``every=5``
    takes Human3.6M's 50 fps to 10 fps, as bandai-v1 does.
    """
    from poseprior.io.h36m import read_h36m_3d

    overlap = set(train_subjects) & set(val_subjects)
    if overlap:
        raise ValidationError(f"subjects: {sorted(overlap)} are in both the train and the val subjects")
    clips = read_h36m_3d(path, subjects=[*train_subjects, *val_subjects])
    return {
        split: keypoint_training_data([kp for s in subjects for kp in clips[s].values()], every=every)
        for split, subjects in (("train", train_subjects), ("val", val_subjects))
    }
