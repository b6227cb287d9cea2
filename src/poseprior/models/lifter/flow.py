"""A probabilistic 2D-to-3D lifter: a conditional normalizing flow over root-relative 3D keypoints.

After ProHPE (Wehrbein et al., "Probabilistic Monocular 3D Human Pose Estimation with Normalizing Flows",
ICCV 2021): the density ``p(X | x)`` of the 3D keypoints ``X`` given their 2D detections ``x`` is a normalizing
flow whose layers see a context vector computed from the 2D input, so that one 2D pose gives many plausible 3D
poses (depth ambiguity, occlusions). Differences: the flow is a zuko neural spline flow
(:class:`zuko.flows.NSF`, autoregressive rational-quadratic splines; Durkan et al., NeurIPS 2019) rather than
ProHPE's coupling INN; it is trained by maximum likelihood alone (no reprojection or adversarial terms) on
synthetic views of motion capture (:func:`poseprior.data.lifting.random_views`, a new random camera for
every pose at every step); the context also sees per-keypoint confidences, with dropped keypoints in training.

Shapes and units:

- 2D input: ``pixels (..., P, 2)`` of a camera with intrinsics ``camera (3, 3)`` or ``(..., 3, 3)``, optional
  ``confidence (..., P)`` (0: missing, the value may be NaN; the root keypoints must be visible). It is
  normalised by :func:`~poseprior.data.lifting.normalise_2d` and, with the confidences, fed to an MLP giving
  the context ``(..., C)``.
- 3D output: ``(..., P, 3)`` root-relative keypoints in the camera frame (x right, y down, z forward), mm.
  The flow's ``F = 3 (P - 1)`` features are these without the last root keypoint (fixed by the others: 0 for
  a single root, minus the other hip for COCO's hip-midpoint root), standardised by per-feature means and
  standard deviations of training views (buffers ``loc``, ``scale`` in mm, :meth:`ProbabilisticLifter.from_data`).

Example:
    >>> from poseprior.models.prior import PoseJoints
    >>> from poseprior.skeleton import Skeleton
    >>> skeleton = Skeleton(("root", "a", "b"), (-1, 0, 1), torch.tensor([[0.0, 0, 0], [0, 40, 0], [0, 40, 0]]))
    >>> config = FlowLifterConfig(PoseJoints.from_skeleton(skeleton), transforms=1, hidden=(16,), context_hidden=(16,), context=8)
    >>> lifter = ProbabilisticLifter(config)
    >>> pixels, camera = torch.tensor([[[500.0, 500], [500, 420], [510, 340]]]), torch.tensor([[1000.0, 0, 500], [0, 1000, 500], [0, 0, 1]])
    >>> lifter.sample(4, pixels, camera).shape  # (n, T, P, 3) mm
    torch.Size([4, 1, 3, 3])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import zuko
from torch import nn

from poseprior.data.lifting import (
    LiftingConfig,
    layout_keypoints,
    normalise_2d,
    random_views,
)
from poseprior.errors import ValidationError
from poseprior.models.lifter.protocol import LiftResult
from poseprior.models.prior import PoseJoints
from poseprior.skeleton import Skeleton

__all__ = ["FlowLifterConfig", "ProbabilisticLifter"]

_VALIDATION_SEED = 0


@dataclass(frozen=True)
class FlowLifterConfig:
    """Architecture and training data of a :class:`ProbabilisticLifter`.

    Attributes:
        joints: the pose joints and the skeleton (with offsets) whose poses make the training views.
        lifting: the keypoints (``lifting.layout``) and the random training cameras, noise and dropping.
        transforms: number of autoregressive spline transforms of the flow.
        hidden: widths of each transform's MADE network.
        bins: spline bins per transform.
        context: size of the context vector.
        context_hidden: widths of the context MLP.
        passes: ``None``: fully autoregressive transforms (sampling inverts them one coordinate at a time, ``F``
            passes); ``2``: coupling transforms (half the coordinates conditioned on the other half, alternating;
            sampling in one pass: 17x the frames/s of the mode on bandai-v1, docs/benchmarks.md). zuko's ``passes``.
    """

    joints: PoseJoints
    lifting: LiftingConfig = LiftingConfig()
    transforms: int = 5
    hidden: tuple[int, ...] = (256, 256)
    bins: int = 8
    context: int = 64
    context_hidden: tuple[int, ...] = (256, 256)
    passes: int | None = None

    def __post_init__(self) -> None:
        if self.joints.skeleton is None and self.lifting.layout is None:
            raise ValidationError(
                "joints: a lifter of the skeleton's own joints needs rest offsets to make training views; "
                "without them (3D keypoints as training data) give lifting.layout"
            )
        if self.passes is not None and self.passes < 2:
            raise ValidationError(f"passes: None (autoregressive) or at least 2 (coupling), got {self.passes}")
        if self.transforms < 1 or self.bins < 1 or self.context < 1:
            raise ValidationError(
                f"transforms, bins, context: must be positive, got {self.transforms}, {self.bins}, {self.context}"
            )

    @property
    def num_keypoints(self) -> int:
        """``P``, the keypoints of the layout (the skeleton's joints when ``lifting.layout`` is None)."""
        return self.lifting.num_keypoints(len(self.joints.names) + 1)

    def to_dict(self) -> dict:
        return {
            "joints": self.joints.to_dict(),
            "lifting": self.lifting.to_dict(),
            "transforms": self.transforms,
            "hidden": list(self.hidden),
            "bins": self.bins,
            "context": self.context,
            "context_hidden": list(self.context_hidden),
            "passes": self.passes,
        }

    @classmethod
    def from_dict(cls, d: dict) -> FlowLifterConfig:
        d = dict(d)
        d["joints"] = PoseJoints.from_dict(d["joints"])
        d["lifting"] = LiftingConfig.from_dict(d.get("lifting", {}))
        for key in ("hidden", "context_hidden"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


class ProbabilisticLifter(nn.Module):
    """``p(3D keypoints | 2D keypoints)``, a conditional neural spline flow; see the module docstring.

    Args:
        config: the architecture; the standardisation starts at ``loc = 0``, ``scale = 1000`` mm:
            :meth:`from_data` fits it to training views (loading weights restores it).
    """

    def __init__(self, config: FlowLifterConfig):
        super().__init__()
        self.config = config
        P = config.num_keypoints
        self.root = config.lifting.root
        self._skeleton = config.joints.skeleton
        self.register_buffer("loc", torch.zeros(3 * (P - 1)))
        self.register_buffer("scale", torch.full((3 * (P - 1),), 1000.0))
        widths = [3 * P, *config.context_hidden]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=False):
            layers += [nn.Linear(a, b), nn.SiLU()]
        self.encoder = nn.Sequential(*layers, nn.Linear(widths[-1], config.context))
        self.flow = zuko.flows.NSF(
            3 * (P - 1), context=config.context, transforms=config.transforms, hidden_features=config.hidden, bins=config.bins,
            passes=config.passes,
        )  # fmt: skip
        # zuko keeps each MADE layer's mask as a buffer as large as its weight; the masks follow from the
        # config (deterministic orders), so they are not saved: the weight file halves.
        for module in self.flow.modules():
            if "mask" in module._buffers:
                module.register_buffer("mask", module._buffers["mask"], persistent=False)
        # The flow's features: every keypoint but the last root one (which the others fix).
        self._kept = [p for p in range(P) if p != self.root[-1]]

    @classmethod
    def from_data(cls, config: FlowLifterConfig, data: dict[str, torch.Tensor]) -> ProbabilisticLifter:
        """A model whose standardisation (``loc``, ``scale``) fits random views (fixed seed) of up to 10 000
        training poses ``data`` (see :meth:`random_views` for its two kinds)."""
        model = cls(config)
        g = torch.Generator().manual_seed(0)
        N = next(iter(data.values())).shape[0]
        pick = torch.randperm(N, generator=g)[:10_000]
        views = model.random_views({k: v[pick].float() for k, v in data.items()}, g)
        x = model._features(views["points_camera"])
        model.loc.copy_(x.mean(0))
        model.scale.copy_(x.std(0).clamp_min(1.0))  # mm; a floor for rigid or constant features
        return model

    # ---------------------------------------------------------------------------------------- description
    @property
    def num_keypoints(self) -> int:
        """``P``."""
        return self.config.num_keypoints

    @property
    def skeleton(self) -> Skeleton | None:
        """The ``J``-joint skeleton (root first) whose poses make the training views, in :attr:`unit_mm`; None
        for a lifter trained on 3D keypoints."""
        return self._skeleton

    @property
    def unit_mm(self) -> float:
        """Millimetres per length unit of the skeleton."""
        return self.config.joints.unit_mm

    def random_views(self, data: dict[str, torch.Tensor], generator: torch.Generator | None) -> dict[str, torch.Tensor]:
        """Training views (:func:`~poseprior.data.lifting.random_views`) of a batch of poses, in the model's dtype.

        ``data`` holds either ``rotations (B, K, 3, 3)`` and ``root_rotation (B, 3, 3)`` (a motion dataset: the
        keypoints come from the skeleton's forward kinematics), or ``keypoints (B, P, 3)``: the layout's 3D
        keypoints in mm, relative to the root, axes of the world (up: ``lifting.up``), as read from
        Human3.6M-style files (:func:`~poseprior.data.lifting.keypoint_training_data`).
        """
        dtype = self.loc.dtype
        if "keypoints" in data:
            keypoints = data["keypoints"].to(dtype)
            P = self.num_keypoints
            if keypoints.ndim != 3 or keypoints.shape[-2:] != (P, 3):
                raise ValidationError(
                    f"keypoints: expected shape (B, {P}, 3) for this lifter, got {tuple(keypoints.shape)}"
                )
            eye = torch.eye(3, dtype=dtype, device=keypoints.device).expand(keypoints.shape[0], 3, 3)
            return random_views(keypoints, eye, self.config.lifting, 1.0, generator)
        if self._skeleton is None:
            raise ValidationError("data: this lifter has no skeleton to pose; train it on 3D keypoints ('keypoints')")
        keypoints = layout_keypoints(self._skeleton, data["rotations"].to(dtype), self.config.lifting.layout)
        return random_views(keypoints, data["root_rotation"].to(dtype), self.config.lifting, self.unit_mm, generator)

    # ------------------------------------------------------------------------------------------ density
    def log_prob(
        self, points3d: torch.Tensor, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Log-density ``(...)`` of root-relative camera-frame keypoints ``points3d (..., P, 3)`` in mm given the
        2D input (see the module docstring), with respect to the ``3 (P - 1)`` free coordinates in millimetres.

        Add ``scale.log().sum()`` for the density of the standardised coordinates (the training metric).
        """
        P = self.num_keypoints
        if not isinstance(points3d, torch.Tensor) or points3d.ndim < 2 or points3d.shape[-2:] != (P, 3):
            raise ValidationError(
                f"points3d: expected shape (..., {P}, 3), got {tuple(getattr(points3d, 'shape', ()))}"
            )
        if not torch.isfinite(points3d).all():
            raise ValidationError("points3d: contains NaN or inf")
        return self._log_prob_standardised(points3d, self.context(pixels, camera, confidence)) - self.scale.log().sum()

    def _log_prob_standardised(self, points3d: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = (self._features(points3d.to(self.loc)) - self.loc) / self.scale
        return self.flow(context).log_prob(x)

    def _features(self, points3d: torch.Tensor) -> torch.Tensor:
        """``(..., 3 (P - 1))`` root-relative coordinates (mm) without the last root keypoint."""
        centred = points3d - points3d[..., list(self.root), :].mean(-2, keepdim=True)
        return centred[..., self._kept, :].flatten(-2)

    def _points(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`_features` on standardised ``x (..., F)``: keypoints ``(..., P, 3)`` mm."""
        kept = (x * self.scale + self.loc).unflatten(-1, (-1, 3))
        P = self.num_keypoints
        points = kept.new_zeros(*kept.shape[:-2], P, 3)
        points[..., self._kept, :] = kept
        others = [r for r in self.root[:-1]]
        if others:
            points[..., self.root[-1], :] = -points[..., others, :].sum(-2)
        return points

    # ------------------------------------------------------------------------------------------- context
    def context(
        self, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Validate the 2D input and encode it: context ``(..., C)``."""
        P = self.num_keypoints
        if not isinstance(pixels, torch.Tensor) or not pixels.is_floating_point():
            raise ValidationError(f"pixels: expected a floating-point tensor, got {type(pixels).__name__}")
        if pixels.ndim < 2 or pixels.shape[-2:] != (P, 2):
            raise ValidationError(
                f"pixels: expected shape (..., {P}, 2) for this lifter's {P} keypoints, got {tuple(pixels.shape)}"
            )
        if pixels.numel() == 0:
            raise ValidationError(f"pixels: empty batch {tuple(pixels.shape)}")
        dtype = self.loc.dtype
        pixels = pixels.to(dtype)
        camera = torch.as_tensor(camera, dtype=dtype, device=pixels.device)
        if camera.ndim < 2 or camera.shape[-2:] != (3, 3) or not torch.isfinite(camera).all():
            raise ValidationError(
                f"camera: expected finite (3, 3) or (..., 3, 3) intrinsics, got shape {tuple(camera.shape)}"
            )
        if torch.linalg.det(camera).abs().min() < 1e-12:
            raise ValidationError("camera: intrinsics matrix is singular")
        if confidence is None:
            confidence = torch.ones(pixels.shape[:-1], dtype=dtype, device=pixels.device)
        confidence = torch.as_tensor(confidence, dtype=dtype, device=pixels.device)
        if confidence.shape != pixels.shape[:-1]:
            raise ValidationError(
                f"confidence: expected shape {tuple(pixels.shape[:-1])}, got {tuple(confidence.shape)}"
            )
        if not torch.isfinite(confidence).all() or (confidence < 0).any():
            raise ValidationError("confidence: expected finite non-negative values")
        bad = ~torch.isfinite(pixels).all(-1) & (confidence > 0)
        if bad.any():
            raise ValidationError(
                f"pixels: NaN or inf at keypoint {int(bad.nonzero()[0][-1])} with confidence > 0; set its confidence to 0"
            )
        if not (confidence[..., list(self.root)] > 0).all():
            raise ValidationError(
                f"confidence: the root keypoints {list(self.root)} must be visible (they anchor the 2D normalisation)"
            )
        return self._encode(pixels, camera, confidence)

    def _encode(self, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        view = normalise_2d(pixels, camera, confidence, self.root)
        return self.encoder(torch.cat([view.flatten(-2), confidence.clamp(max=1.0)], dim=-1))

    # ----------------------------------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample(
        self,
        n: int,
        pixels: torch.Tensor,
        camera: torch.Tensor,
        confidence: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``n`` hypotheses ``(n, ..., P, 3)`` (root-relative camera frame, mm) for each 2D input ``(..., P, 2)``
        (no gradients; base draws from ``generator``)."""
        if n < 1:
            raise ValidationError(f"n: must be positive, got {n}")
        context = self.context(pixels, camera, confidence)
        device = generator.device if generator is not None else context.device
        z = torch.randn(
            (n, *context.shape[:-1], self.loc.shape[0]), generator=generator, device=device, dtype=context.dtype
        )
        return self._decode(z.to(context.device), context)

    @torch.no_grad()
    def mode(self, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor | None = None) -> torch.Tensor:
        """One estimate ``(..., P, 3)`` mm per 2D input: the image of the base distribution's mode ``z = 0``.

        ProHPE's single-estimate choice: deterministic and one inverse pass. Picking the most likely of M
        samples costs M times more and was worse in our check (h36m17, 300 steps batch 256, 500 val views:
        95 mm for ``z = 0``, 121 mm for the best of 10 by log-density, 130 mm for one sample): the density
        favours poses that are sharply determined, not the central one. It is the image of the base mode,
        not the exact mode of a non-Gaussian posterior.
        """
        context = self.context(pixels, camera, confidence)
        return self._decode(context.new_zeros(*context.shape[:-1], self.loc.shape[0]), context)

    #: :class:`~poseprior.models.lifter.Lifter`: each frame is lifted on its own, to joints only.
    context_frames = 0
    gives_rotations = False

    @torch.no_grad()
    def lift(
        self, pixels: torch.Tensor, camera: torch.Tensor, confidence: torch.Tensor | None = None, hypotheses: int = 0
    ) -> LiftResult:
        """:meth:`mode` of each frame of ``pixels (T, P, 2)``, and ``hypotheses`` samples with their log
        densities (:class:`~poseprior.models.lifter.Lifter`; draws from torch's global generator)."""
        if confidence is None:
            confidence = pixels.new_ones(pixels.shape[:-1])
        mode = self.mode(pixels, camera, confidence)
        if hypotheses < 1:
            return LiftResult(mode)
        samples = self.sample(hypotheses, pixels, camera, confidence)  # (H, T, J, 3)
        many = (hypotheses, *pixels.shape)
        log_prob = self.log_prob(samples, pixels.expand(many), camera, confidence.expand(many[:-1]))
        return LiftResult(mode, hypotheses=samples.transpose(0, 1), hypotheses_log_prob=log_prob.transpose(0, 1))

    def _decode(self, z: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        # zuko's NSF has a standard normal base: z is a base point as is.
        return self._points(self.flow(context).transform.inv(z))

    # ----------------------------------------------------------------------------------------- training
    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> torch.Tensor:
        """Mean negative log-likelihood (standardised units) of a random view of each pose of ``batch``
        (:meth:`random_views`); the views use ``generator``."""
        views = self.random_views(batch, generator)
        context = self._encode(views["pixels"], views["camera"], views["confidence"])
        return -self._log_prob_standardised(views["points_camera"], context).mean()

    @torch.no_grad()
    def validation_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """On views from a fixed-seed generator: ``log_likelihood`` (mean nats per pose of the standardised
        3D coordinates, :attr:`scale` units; higher is better), ``loss`` (its negative) and ``mpjpe_mm`` (mean
        per-keypoint error of :meth:`mode`, root-relative, mm)."""
        device = next(iter(batch.values())).device
        generator = torch.Generator(device=device).manual_seed(_VALIDATION_SEED)
        views = self.random_views(batch, generator)
        context = self._encode(views["pixels"], views["camera"], views["confidence"])
        log_likelihood = self._log_prob_standardised(views["points_camera"], context).mean()
        mode = self._decode(context.new_zeros(*context.shape[:-1], self.loc.shape[0]), context)
        mpjpe = (mode - views["points_camera"].to(mode)).norm(dim=-1).mean()
        return {"loss": float(-log_likelihood), "log_likelihood": float(log_likelihood), "mpjpe_mm": float(mpjpe)}
