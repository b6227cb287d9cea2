"""``RotationLifter``: 2D keypoint sequences to full 3D poses (joint rotations and joints) at once.

The efficient uplifter of Dünkel et al. ("Efficient 2D to Full 3D Human Pose Uplifting including Joint
Rotations", CVsports 2025) on poseprior's skeletons:

1. Each frame's 2D keypoints are normalised (:func:`poseprior.data.lifting.normalise_2d`: intrinsics,
   image position and distance removed), standardised per keypoint and stacked with their confidences.
2. A temporal convolution over a window of ``W`` frames (VideoPose3D's dilated 1D convolutions, Pavllo et
   al., "3D human pose estimation in video with temporal convolutions and semi-supervised training", CVPR
   2019: kernel 3, dilations 1, 3, 9, ... until the receptive field is ``W``, each a residual block) gives the
   centre frame's features. Run on a whole sequence it shares the work of overlapping windows, which is what
   makes it fast.
3. A linear head predicts, per joint, the 6D representation of its rotation (Zhou et al., "On the Continuity
   of Rotation Representations in Neural Networks", CVPR 2019), made a rotation by Gram-Schmidt
   (:func:`roma.special_gramschmidt`), relative to the training data's mean rotation: the local rotations of
   the ``K`` pose joints and the root's rotation in the camera frame.
4. Forward kinematics of the skeleton turns them into root-relative 3D joints in the camera frame (x right,
   y down, z forward), millimetres, so joints and rotations agree by construction.

Training (:meth:`RotationLifter.loss`) sees windows of real motion (:func:`sequence_windows`) through one
random camera per window (:func:`poseprior.data.lifting.random_views`), with a joint position loss (MPJPE,
metres) and geodesic losses on the local and root rotations.

Why a temporal convolution: run on a sequence, each frame's features are computed once for all the windows
that hold it, while a transformer over windows recomputes every window. ``benchmarks/lifter_architecture.py``
on one CPU thread, 1,000 frames: this model at the default size (window 9, 512 channels, 1.7M parameters)
lifts about 21,000 frames/s including normalisation and forward kinematics; a transformer encoder of similar
size over the same windows (9 tokens, width 256, 4 layers, 2.2M parameters) about 1,700 frames/s for the
network alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import roma
import torch
from torch import nn

from poseprior.data.lifting import (
    LiftingConfig,
    layout_keypoints,
    normalise_2d,
    random_views,
)
from poseprior.errors import ValidationError
from poseprior.metrics import mpjae, mpjpe
from poseprior.models.lifter.protocol import LiftResult
from poseprior.models.prior import PoseJoints
from poseprior.skeleton import Skeleton, posed_joints

__all__ = ["RotationLifterConfig", "RotationLifter", "sequence_windows", "window_indices"]

_MIN_STD = 0.02  # floor of the input standardisation (normalised 2D units), as in the flow's encoder


@dataclass(frozen=True)
class RotationLifterConfig:
    """Architecture and training views of a :class:`RotationLifter`.

    Attributes:
        joints: the ``K`` pose joints and the skeleton (root first, rest offsets, ``unit_mm``) that forward
            kinematics uses.
        lifting: the 2D keypoints (layout) and the random training cameras, noise and dropped keypoints.
        window: ``W``, frames seen per output frame (odd; the centre frame is lifted). 9 frames are 0.9 s at
            bandai-v1's 10 fps.
        channels: width of the temporal convolution.
        blocks: per-frame residual blocks (kernel 1) after the temporal ones.
        dropout: dropout rate after each convolution.
        rotation_weight: weight of the geodesic rotation loss (radians) beside the joint loss (metres).
    """

    joints: PoseJoints
    lifting: LiftingConfig = field(default_factory=LiftingConfig)
    window: int = 9
    channels: int = 512
    blocks: int = 1
    dropout: float = 0.1
    rotation_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.window < 1 or self.window % 2 == 0:
            raise ValidationError(f"window: expected a positive odd number of frames, got {self.window}")
        if self.channels < 1 or self.blocks < 0:
            raise ValidationError(
                f"channels, blocks: expected positive / non-negative, got {self.channels}, {self.blocks}"
            )
        if not 0 <= self.dropout < 1:
            raise ValidationError(f"dropout: expected a rate in [0, 1), got {self.dropout}")
        if not self.joints.offsets:
            raise ValidationError("joints: the rotation lifter needs rest offsets for forward kinematics")

    @property
    def num_keypoints(self) -> int:
        """``P``, the 2D keypoints: the layout's, or the skeleton's ``K + 1`` joints without a layout."""
        return self.lifting.num_keypoints(len(self.joints.names) + 1)

    def to_dict(self) -> dict:
        return {
            "joints": self.joints.to_dict(),
            "lifting": self.lifting.to_dict(),
            "window": self.window,
            "channels": self.channels,
            "blocks": self.blocks,
            "dropout": self.dropout,
            "rotation_weight": self.rotation_weight,
        }

    @classmethod
    def from_dict(cls, d: dict) -> RotationLifterConfig:
        d = dict(d)
        return cls(PoseJoints.from_dict(d.pop("joints")), LiftingConfig.from_dict(d.pop("lifting")), **d)


def temporal_dilations(window: int) -> tuple[int, ...]:
    """Dilations of the kernel-3 convolutions after the first one whose receptive field is ``window`` frames.

    VideoPose3D's schedule 3, 9, 27, ... (the first convolution has dilation 1), the last one shortened so
    that the field is exactly ``window``; none for ``window <= 3``.

    Example:
        >>> temporal_dilations(9), temporal_dilations(27), temporal_dilations(7)
        ((3,), (3, 9), (2,))
    """
    remaining, dilation, out = window - 3, 3, []
    while remaining > 0:
        step = min(dilation, remaining // 2)
        out.append(step)
        remaining -= 2 * step
        dilation *= 3
    return tuple(out)


class _Block(nn.Module):
    """VideoPose3D's residual block: a (dilated) convolution then a kernel-1 one, each with BN, ReLU, dropout;
    the skip connection is cropped to the frames the convolution keeps."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.crop = (kernel - 1) // 2 * dilation
        self.net = nn.Sequential(
            nn.Conv1d(channels, channels, kernel, dilation=dilation, bias=False),
            nn.BatchNorm1d(channels, momentum=0.1),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv1d(channels, channels, 1, bias=False),
            nn.BatchNorm1d(channels, momentum=0.1),
            nn.ReLU(),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x[..., self.crop : x.shape[-1] - self.crop]
        return skip + self.net(x)


class RotationLifter(nn.Module):
    """Lifts 2D keypoint sequences to local joint rotations, the root's camera-frame rotation and 3D joints.

    Args:
        config: the architecture. The standardisation of the 2D input and the mean rotations start as
            identities: :meth:`from_data` fits them to training poses (loading weights restores them).

    Example:
        >>> joints = PoseJoints.from_skeleton(load_prepared("prepared/bandai-v1", []).skeleton)  # doctest: +SKIP
        >>> model = RotationLifter(RotationLifterConfig(joints)).eval()  # doctest: +SKIP
        >>> out = model(pixels, camera)  # pixels (T, P, 2), camera (3, 3)  # doctest: +SKIP
        >>> out["rotations"].shape, out["positions"].shape  # doctest: +SKIP
        (torch.Size([T, 20, 3, 3]), torch.Size([T, 21, 3]))
    """

    def __init__(self, config: RotationLifterConfig):
        super().__init__()
        self.config = config
        self._skeleton = config.joints.skeleton
        K, P, C = len(config.joints.names), config.num_keypoints, config.channels
        first = 3 if config.window >= 3 else 1
        layers: list[nn.Module] = [
            nn.Conv1d(3 * P, C, first, bias=False),
            nn.BatchNorm1d(C, momentum=0.1),
            nn.ReLU(),
            nn.Dropout(config.dropout),
        ]
        layers += [_Block(C, 3, d, config.dropout) for d in temporal_dilations(config.window)]
        layers += [_Block(C, 1, 1, config.dropout) for _ in range(config.blocks)]
        self.net = nn.Sequential(*layers)
        self.head = nn.Conv1d(C, 6 * (K + 1), 1)
        with torch.no_grad():  # start at the mean rotations (see _rotations)
            self.head.weight.mul_(0.01)
            self.head.bias.zero_()
        self.register_buffer("input_loc", torch.zeros(P, 2))
        self.register_buffer("input_scale", torch.ones(P, 2))
        self.register_buffer("mean_rotations", torch.eye(3).repeat(K, 1, 1))
        self.register_buffer("mean_root_rotation", torch.eye(3))

    @classmethod
    def from_data(
        cls, config: RotationLifterConfig, rotations: torch.Tensor, root_rotation: torch.Tensor, samples: int = 10_000
    ) -> RotationLifter:
        """A model fitted to training poses before training: ``rotations (N, K, 3, 3)`` local rotations and
        ``root_rotation (N, 3, 3)`` the root's world rotation (world up +y). Sets the mean local rotations, the
        mean camera-frame root rotation and the per-keypoint standardisation of the normalised 2D input, from
        up to ``samples`` poses seen by random cameras (fixed seed)."""
        model = cls(config)
        g = torch.Generator().manual_seed(0)
        rows = torch.randperm(rotations.shape[0], generator=g)[:samples]
        R, root = rotations[rows].float(), root_rotation[rows].float()
        with torch.no_grad():
            views = model._views(R.unsqueeze(1), root.unsqueeze(1), g)
            x = normalise_2d(views["pixels"], views["camera"].unsqueeze(1), views["confidence"], config.lifting.root)[
                :, 0
            ]
            seen = (views["confidence"][:, 0] > 0).unsqueeze(-1).expand_as(x).float()
            n = seen.sum(0).clamp_min(1)
            loc = (x * seen).sum(0) / n
            std = (((x - loc).square() * seen).sum(0) / n).sqrt().clamp_min(_MIN_STD)
            model.input_loc.copy_(loc)
            model.input_scale.copy_(std)
            model.mean_rotations.copy_(roma.special_procrustes(R.mean(0)))
            model.mean_root_rotation.copy_(roma.special_procrustes(views["root_rotation"][:, 0].mean(0)))
        return model

    # --------------------------------------------------------------------------------------- description
    @property
    def joints(self) -> PoseJoints:
        """The pose joints, their tree and the skeleton's rest offsets."""
        return self.config.joints

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The ``K`` pose joints (the rotations' order)."""
        return self.config.joints.names

    @property
    def skeleton(self) -> Skeleton:
        """The ``J = K + 1``-joint skeleton of the positions (root first)."""
        return self._skeleton

    @property
    def unit_mm(self) -> float:
        """Millimetres per length unit of the skeleton."""
        return self.config.joints.unit_mm

    @property
    def num_keypoints(self) -> int:
        """``P``, the 2D keypoints of the input."""
        return self.config.num_keypoints

    # ------------------------------------------------------------------------------------------ lifting
    def forward(
        self, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Lift every frame of a sequence of at least ``window`` frames (each frame with its window; the ends
        padded by repeating the end frames).

        Args:
            pixels: ``(T, P, 2)`` 2D keypoints in pixels (``(..., T, P, 2)`` for a batch of sequences); may be
                NaN where ``confidence`` is 0.
            camera: ``(3, 3)`` intrinsics, or ``(..., T, 3, 3)`` per frame.
            confidence: ``(..., T, P)`` in ``[0, 1]``, 0 for missing keypoints; default all 1.

        Returns:
            ``rotations (..., T, K, 3, 3)`` local rotations of the pose joints, ``root_rotation (..., T, 3, 3)``
            the root's rotation in the camera frame (x right, y down, z forward), and ``positions
            (..., T, J, 3)`` the skeleton's joints by forward kinematics of both, root-relative, camera frame, mm.
        """
        pixels, camera, confidence = self._check_input(pixels, camera, confidence)
        batch, T = pixels.shape[:-3], pixels.shape[-3]
        x = self._features(pixels, camera, confidence).reshape(-1, T, 3 * self.num_keypoints)
        h = self.config.window // 2
        x = torch.cat([x[:, :1].expand(-1, h, -1), x, x[:, -1:].expand(-1, h, -1)], dim=1)
        root, local = self._rotations(self.head(self.net(x.transpose(1, 2))).transpose(1, 2))
        root, local = root.reshape(*batch, T, 3, 3), local.reshape(*batch, T, *local.shape[-3:])
        return {"rotations": local, "root_rotation": root, "positions": self.positions(root, local)}

    @property
    def context_frames(self) -> int:
        """:class:`~poseprior.models.lifter.Lifter`: a frame is lifted from its window, ``window // 2`` frames
        either side."""
        return self.config.window // 2

    #: :class:`~poseprior.models.lifter.Lifter`: gives joint rotations.
    gives_rotations = True

    @torch.no_grad()
    def lift(
        self, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor | None = None, hypotheses: int = 0
    ) -> LiftResult:
        """:meth:`forward` on one sequence ``pixels (T, P, 2)`` (:class:`~poseprior.models.lifter.Lifter`;
        ``hypotheses`` is ignored: the lift is deterministic)."""
        out = self(pixels, camera, confidence)
        return LiftResult(out["positions"], out["rotations"], out["root_rotation"])

    def positions(self, root_rotation: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
        """Root-relative joints ``(..., J, 3)`` in mm of root rotations ``(..., 3, 3)`` and local ``(..., K, 3, 3)``."""
        return posed_joints(self._skeleton, rotations, root_rotation)[0] * self.unit_mm

    def _check_input(self, pixels, camera, confidence):
        P = self.num_keypoints
        if not isinstance(pixels, torch.Tensor) or not pixels.is_floating_point():
            raise ValidationError(f"pixels: expected a floating-point tensor, got {type(pixels).__name__}")
        if pixels.ndim < 3 or pixels.shape[-2:] != (P, 2):
            raise ValidationError(
                f"pixels: expected shape (T, {P}, 2) for this model's {P} keypoints, got {tuple(pixels.shape)}"
            )
        if pixels.shape[-3] == 0:
            raise ValidationError("pixels: empty sequence (T = 0 frames)")
        if pixels.shape[-3] < self.config.window:
            raise ValidationError(
                f"pixels: a sequence of {pixels.shape[-3]} frames is shorter than the model's window of {self.config.window} frames"
            )
        if not isinstance(camera, torch.Tensor) or camera.shape[-2:] != (3, 3):
            raise ValidationError(
                f"camera: expected (3, 3) or (T, 3, 3) intrinsics, got {getattr(camera, 'shape', camera)}"
            )
        if not torch.isfinite(camera).all():
            raise ValidationError("camera: not finite")
        if confidence is None:
            confidence = torch.isfinite(pixels).all(-1).to(pixels.dtype)
            if not bool(confidence.all()):
                raise ValidationError(
                    "pixels: NaN or infinite keypoints; give confidence 0 where keypoints are missing"
                )
        elif not isinstance(confidence, torch.Tensor) or confidence.shape != pixels.shape[:-1]:
            raise ValidationError(
                f"confidence: expected shape {tuple(pixels.shape[:-1])}, got {getattr(confidence, 'shape', confidence)}"
            )
        else:
            bad = (confidence > 0) & ~torch.isfinite(pixels).all(-1)
            if bool(bad.any()):
                t, p = (int(i) for i in bad.nonzero()[0, -2:])
                raise ValidationError(f"pixels: NaN or infinite at frame {t}, keypoint {p} with positive confidence")
        hidden_root = (confidence[..., list(self.config.lifting.root)] <= 0).any(-1)
        if bool(hidden_root.any()):
            t = int(hidden_root.nonzero()[0, -1])
            raise ValidationError(
                f"confidence: the root keypoint(s) {self.config.lifting.root} must be visible in every frame; not in frame {t}"
            )
        try:
            camera = camera.to(pixels.dtype).expand(*pixels.shape[:-2], 3, 3)
        except RuntimeError:
            raise ValidationError(
                f"camera: shape {tuple(camera.shape)} does not fit pixels {tuple(pixels.shape)}"
            ) from None
        pixels = torch.where(confidence.unsqueeze(-1) > 0, pixels, 0.0)
        return pixels.float(), camera.float(), confidence.to(pixels.dtype).float()

    def _features(self, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        """``(..., 3P)`` per frame: standardised normalised 2D (0 where missing) and confidences."""
        x = normalise_2d(pixels, camera, confidence, self.config.lifting.root)
        seen = confidence.unsqueeze(-1) > 0
        x = torch.where(seen, (x - self.input_loc) / self.input_scale, 0.0)
        return torch.cat([x, confidence.unsqueeze(-1)], dim=-1).flatten(-2)

    def _rotations(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(root (..., 3, 3), local (..., K, 3, 3))`` from head outputs ``(..., 6 (K + 1))``: 6D (two columns)
        added to the identity's, Gram-Schmidt, applied after the mean rotations."""
        six = out.unflatten(-1, (-1, 2, 3)).transpose(-1, -2)
        six = six + torch.eye(3, 2, dtype=out.dtype, device=out.device)
        R = roma.special_gramschmidt(six)
        return self.mean_root_rotation @ R[..., 0, :, :], self.mean_rotations @ R[..., 1:, :, :]

    def _predict_windows(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Centre-frame rotations of windows of features ``(B, W, 3P)``."""
        return self._rotations(self.head(self.net(features.transpose(1, 2))).squeeze(-1))

    # ----------------------------------------------------------------------------------------- training
    def _views(self, rotations: torch.Tensor, root_rotation: torch.Tensor, generator: torch.Generator | None) -> dict:
        """Random views of windows ``rotations (B, W, K, 3, 3)``, ``root_rotation (B, W, 3, 3)`` (world), one
        camera per window: ``pixels (B, W, P, 2)``, ``camera (B, 3, 3)``, ``confidence (B, W, P)`` and the true
        camera-frame ``root_rotation (B, W, 3, 3)``.

        The window's keypoints are turned to world orientation (root at the origin) and handed to
        :func:`random_views` as one point set with an identity root rotation, so one camera sees them all.
        """
        B, W = rotations.shape[:2]
        keypoints = layout_keypoints(self._skeleton, rotations, self.config.lifting.layout)  # (B, W, P, 3)
        world = (keypoints @ root_rotation.transpose(-1, -2)).flatten(1, 2)  # (B, W P, 3)
        eye = torch.eye(3, dtype=world.dtype, device=world.device).expand(B, 3, 3)
        views = random_views(world, eye, self.config.lifting, self.unit_mm, generator)
        P = self.num_keypoints
        confidence = views["confidence"].unflatten(1, (W, P)).clone()
        confidence[..., list(self.config.lifting.root)] = 1.0  # every frame's root, not only the first's
        return {
            "pixels": views["pixels"].unflatten(1, (W, P)),
            "camera": views["camera"],
            "confidence": confidence,
            "root_rotation": views["R_cw"].unsqueeze(1) @ root_rotation,
        }

    def _errors(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        R, root = batch["window_rotations"], batch["window_root_rotation"]
        if R.shape[1] != self.config.window:
            raise ValidationError(
                f"window_rotations: windows of {R.shape[1]} frames for a model of window {self.config.window}"
            )
        views = self._views(R, root, generator)
        features = self._features(views["pixels"], views["camera"].unsqueeze(1), views["confidence"])
        pred_root, pred_local = self._predict_windows(features)
        c = self.config.window // 2
        true_root, true_local = views["root_rotation"][:, c], R[:, c]
        pred_positions, true_positions = self.positions(pred_root, pred_local), self.positions(true_root, true_local)
        return {
            "joint_m": (pred_positions - true_positions).norm(dim=-1).mean() / 1000,
            "local_rad": _geodesic(pred_local, true_local).mean(),
            "root_rad": _geodesic(pred_root, true_root).mean(),
            "pred_positions": pred_positions,
            "true_positions": true_positions,
            "pred_local": pred_local,
            "true_local": true_local,
        }

    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> torch.Tensor:
        """MPJPE (metres) + ``rotation_weight`` x geodesic error (radians, mean over the ``K`` local rotations and
        the root's) of the centre frames of ``batch`` windows (``window_rotations (B, W, K, 3, 3)``,
        ``window_root_rotation (B, W, 3, 3)``, :func:`sequence_windows`), each seen by one random camera."""
        e = self._errors(batch, generator)
        K = len(self.joint_names)
        rotation = (K * e["local_rad"] + e["root_rad"]) / (K + 1)
        return e["joint_m"] + self.config.rotation_weight * rotation

    @torch.no_grad()
    def validation_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """``loss``, ``mpjpe_mm`` (root-relative joints), ``mpjae_deg`` (local rotations) and ``root_error_deg``
        (camera-frame root rotation), on views drawn with a fixed seed (the same for every evaluation)."""
        device = batch["window_rotations"].device
        generator = torch.Generator(device=device).manual_seed(0)
        e = self._errors(batch, generator)
        K = len(self.joint_names)
        rotation = (K * e["local_rad"] + e["root_rad"]) / (K + 1)
        return {
            "loss": float(e["joint_m"] + self.config.rotation_weight * rotation),
            "mpjpe_mm": float(mpjpe(e["pred_positions"], e["true_positions"])),
            "mpjae_deg": float(mpjae(e["pred_local"], e["true_local"])),
            "root_error_deg": math.degrees(float(e["root_rad"])),
        }


def _geodesic(R1: torch.Tensor, R2: torch.Tensor) -> torch.Tensor:
    """Angle ``(...)`` in radians between rotations ``(..., 3, 3)``, from the chordal distance: ``2 asin(|R1 - R2|_F
    / (2 sqrt 2))``, whose gradient stays finite near 0 and 180 degrees (unlike ``acos`` of the trace)."""
    chord = ((R1 - R2).square().sum((-1, -2)) + 1e-12).sqrt()
    return 2 * torch.asin((chord / (2 * math.sqrt(2))).clamp(max=1 - 1e-7))


def window_indices(take: torch.Tensor, frame: torch.Tensor, window: int) -> torch.Tensor:
    """``(N, W)`` rows of each row's window: its neighbours in frame order within its take, clamped at the take's
    ends (the first and last rows repeat), the row itself at the centre ``W // 2``.

    Args:
        take: ``(N,)`` int take index of each row.
        frame: ``(N,)`` int frame of each row in its take (any order of rows).
        window: ``W``, odd.

    Example:
        >>> window_indices(torch.tensor([0, 0, 0, 1, 1]), torch.tensor([0, 3, 6, 0, 3]), 3).tolist()
        [[0, 0, 1], [0, 1, 2], [1, 2, 2], [3, 3, 4], [3, 4, 4]]
    """
    if window < 1 or window % 2 == 0:
        raise ValidationError(f"window: expected a positive odd number of frames, got {window}")
    if take.ndim != 1 or take.shape != frame.shape:
        raise ValidationError(f"take, frame: expected equal (N,) shapes, got {tuple(take.shape)}, {tuple(frame.shape)}")
    N = take.shape[0]
    if N == 0:
        return torch.zeros(0, window, dtype=torch.long)
    frame = frame.long()
    order = torch.argsort(take.long() * (int(frame.max()) - int(frame.min()) + 1) + frame - frame.min(), stable=True)
    sorted_take = take[order]
    pos = torch.arange(N)
    first = torch.ones(N, dtype=torch.bool)
    first[1:] = sorted_take[1:] != sorted_take[:-1]
    last = torch.ones(N, dtype=torch.bool)
    last[:-1] = first[1:]
    start = torch.where(first, pos, 0).cummax(0).values
    end = torch.where(last, pos, N).flip(0).cummin(0).values.flip(0)
    offsets = torch.arange(window) - window // 2
    neighbours = order[torch.maximum(torch.minimum(pos[:, None] + offsets, end[:, None]), start[:, None])]
    out = torch.empty_like(neighbours)
    out[order] = neighbours
    return out


def sequence_windows(split, window: int) -> dict[str, torch.Tensor]:
    """Training data of a :class:`RotationLifter`: each row's window of poses from a prepared split.

    Args:
        split: a :class:`~poseprior.data.dataset.PreparedSplit` (``rotations``, ``root_rotation``, ``take``,
            ``frame``).
        window: ``W``, odd.

    Returns:
        ``window_rotations (N, W, K, 3, 3)`` and ``window_root_rotation (N, W, 3, 3)``, float32, the rows of
        :func:`window_indices` (never across takes). Memory: ``N W (9 K + 9) 4`` bytes, about 0.8 GB for
        bandai-v1's 114k training poses at ``W = 9``.

    Example:
        >>> data = sequence_windows(load_prepared("prepared/bandai-v1", ["val"]).splits["val"], 9)  # doctest: +SKIP
        >>> data["window_rotations"].shape  # doctest: +SKIP
        torch.Size([13695, 9, 20, 3, 3])
    """
    index = window_indices(split.take, split.frame, window)
    return {
        "window_rotations": split.rotations.float()[index],
        "window_root_rotation": split.root_rotation.float()[index],
    }
