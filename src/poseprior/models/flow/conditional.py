"""``ConditionalFlowPrior``: inverse kinematics with uncertainty, ``p(R | keypoints)`` on SO(3)^K.

The model, from the pose to the base distribution (each step a bijection with an exact Jacobian, so the
density is exact with respect to the normalized Haar measure on SO(3)^K for every observation):

1. **Pinned joints** (:class:`~poseprior.models.flow.condition.BoneAlignment`). Parents first, each joint's
   rotation becomes ``D_j = C_j A_j^T G_j``: ``G_j`` its pelvis-frame global rotation, ``C_j`` the flow's
   chart centre, and ``A_j`` the analytic rotation that puts the joint's visible 3D bones onto the keypoints,
   with the twist (or, without visible bones, all) of the reference ``G_parent C_j``. ``D_j`` is ``R_j``
   multiplied on the left by a rotation that depends only on the observation and the ancestors
   (``C_j A_j^T G_parent``), which preserves the Haar measure: ``R -> D`` is a bijection of SO(3)^K with unit
   Jacobian and ``p(R | obs) = p_flow(D | obs)``. Without visible bones ``D_j = R_j`` (the model is a prior
   over local rotations there, like :class:`FlowPrior`); a joint pinned by its bones is left with what they
   do not fix (its twist, noise), centred on ``C_j`` whatever its ancestors do, which makes IK accurate.
2. **Conditional affine layer** (:class:`Condition`): in the flow's chart (each joint's three coordinates
   along axes whose first is its longest child bone, so that a pinned joint's twist is the first
   coordinate alone, and whose other two are the data's principal axes) and after its standardisation, each coordinate is shifted and scaled
   by amounts an MLP predicts from the observation's context vector (the conditional base of Winkler et
   al., "Learning Likelihoods with Conditional Normalizing Flows", 2019).
3. The :class:`~poseprior.models.flow.prior.FlowPrior` (chart, standardisation, spline coupling layers that
   also see the context, standard normal base): the conditional flow of HuProSO3 (Dünkel et al., CVPR 2024)
   on poseprior's parallel coupling flow.

The context comes from a small MLP (:class:`~poseprior.models.flow.condition.ObservationEncoder`) over the
standardised, masked keypoints.

Observations (:mod:`poseprior.models.flow.condition` has the precise definitions):

- 3D keypoints ``(..., J, 3)``: the ``J`` skeleton joints (root first) in the pelvis frame, the skeleton's
  unit, with a visibility mask per joint ``(..., J)`` or per coordinate ``(..., J, 3)``;
- orthographic 2D keypoints ``(..., J, 2)``: the pelvis-frame x, y (3D keypoints with z hidden);
- perspective 2D keypoints ``(..., J, 2)`` in pixels, with ``camera=`` intrinsics ``(3, 3)``: the view is
  marginalised (the model was trained on random views), the root must be visible.

One model serves them all, and any subset of visible joints: training draws the kind and hides joints at
random (none, all, or each with a random rate), so with every joint hidden the model is an unconditional
prior (:func:`unobserved_gap` measures how close to a separately trained one).

Example:
    >>> model = ConditionalFlowPrior(ConditionalFlowConfig.for_joints(joints, layers=2, hidden=(32,)))  # doctest: +SKIP
    >>> model.sample(10, keypoints).shape  # keypoints (T, J, 3) -> (10, T, K, 3, 3)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch import nn

from poseprior.errors import ValidationError
from poseprior.geometry import check_rotations
from poseprior.models.flow.chart import SO3Chart, axes_with_first
from poseprior.models.flow.condition import (
    BoneAlignment,
    ConditionConfig,
    Observation,
    ObservationEncoder,
    observe_3d,
    observe_perspective,
    random_observation,
)
from poseprior.models.flow.prior import FlowConfig, FlowPrior
from poseprior.models.prior import PoseJoints
from poseprior.skeleton import Skeleton, forward_kinematics, pelvis_keypoints, posed_joints

__all__ = ["ConditionalFlowConfig", "ConditionalFlowPrior", "Condition", "unobserved_gap"]

# Bound of the conditional log-scales (tanh-clipped): scales between e^-4 and e^4 standard deviations.
_MAX_LOG_SCALE = 4.0


@dataclass(frozen=True)
class ConditionalFlowConfig:
    """Architecture and training observations of a :class:`ConditionalFlowPrior`.

    Attributes:
        flow: the flow over the ``K`` pose joints; ``flow.context`` is :meth:`context_size`: the encoder's
            output, the bone alignment's per-joint flags and, with ``condition.estimates``, ``3K`` bone estimates.
        condition: observation encoder and training observations.
        joints: the pose joints and the skeleton (root + pose joints, rest offsets, unit) used for forward
            kinematics of the keypoints.
        length_scale: keypoints are divided by it, in the skeleton's unit (default from :meth:`for_joints`:
            the rest skeleton's largest joint distance from the root).
    """

    flow: FlowConfig
    condition: ConditionConfig
    joints: PoseJoints
    length_scale: float

    def __post_init__(self) -> None:
        K = len(self.joints.names)
        if self.flow.num_joints != K:
            raise ValidationError(f"flow.num_joints: {self.flow.num_joints} for {K} pose joints")
        if self.flow.context != self.context_size(self.condition, K):
            raise ValidationError(
                f"flow.context ({self.flow.context}) must be {self.context_size(self.condition, K)} for {K} joints"
            )
        if not self.joints.offsets:
            raise ValidationError("joints: the conditional flow needs rest offsets for forward kinematics")
        if not self.length_scale > 0:
            raise ValidationError(f"length_scale: must be positive, got {self.length_scale}")

    @staticmethod
    def context_size(condition: ConditionConfig, num_joints: int) -> int:
        """Length of the coupling layers' context: ``condition.context + K`` (``+ 3K`` with estimates)."""
        return condition.context + num_joints * (4 if condition.estimates else 1)

    @classmethod
    def for_joints(
        cls, joints: PoseJoints, condition: ConditionConfig | None = None, **flow: object
    ) -> ConditionalFlowConfig:
        """A config for ``joints`` (with offsets); ``flow`` are :class:`FlowConfig` fields (layers, hidden, ...).

        Example:
            >>> joints = PoseJoints.from_skeleton(load_prepared("prepared/bandai-v1", []).skeleton)  # doctest: +SKIP
            >>> ConditionalFlowConfig.for_joints(joints, layers=8, hidden=(256, 256))  # doctest: +SKIP
        """
        condition = condition or ConditionConfig()
        K = len(joints.names)
        flow_config = FlowConfig(num_joints=K, parents=joints.parents, context=cls.context_size(condition, K), **flow)
        skeleton = joints.skeleton
        if skeleton is None:
            raise ValidationError("joints: the conditional flow needs rest offsets for forward kinematics")
        rest = forward_kinematics(skeleton, torch.eye(3, dtype=torch.float64).expand(skeleton.num_joints, 3, 3))[0]
        length_scale = float((rest - rest[0]).norm(dim=-1).max())
        return cls(flow_config, condition, joints, length_scale if length_scale > 0 else 1.0)

    def to_dict(self) -> dict:
        return {
            "flow": self.flow.to_dict(),
            "condition": self.condition.to_dict(),
            "joints": self.joints.to_dict(),
            "length_scale": self.length_scale,
        }

    @classmethod
    def from_dict(cls, d: dict) -> ConditionalFlowConfig:
        return cls(
            FlowConfig.from_dict(d["flow"]),
            ConditionConfig.from_dict(d["condition"]),
            PoseJoints.from_dict(d["joints"]),
            float(d["length_scale"]),
        )


class Condition(NamedTuple):
    """What the flow sees of an observation, batch shape ``(...)`` (see the module docstring).

    With ``x (..., 3K)`` the flow's standardised chart coordinates of ``D``, the flow's input is
    ``u = (x - shift) / exp(log_scale)``, an elementwise affine layer with Jacobian ``-sum(log_scale)``: a
    Gaussian regression of the pose inside the flow, which gives the likelihood a direct path to the
    observation from the first training steps.

    Attributes:
        context: ``(..., C + K [+ 3K])`` the coupling layers' context vector: the encoder's output, per joint 1
            where the bone alignment used visible bones (0 elsewhere) and, with ``estimates``, per joint the
            standardised chart coordinates of the local rotation its bones imply (0 where not pinned).
        shift: ``(..., 3K)`` predicted location in the standardised chart.
        log_scale: ``(..., 3K)`` predicted log-scale, within ``[-4, 4]``.
        bones: ``(..., K, 3, 3)`` float64 bone matrices of the bone alignment (step 1 of the module docstring).
        pinned: ``(..., K)`` bool, where visible bones pin the joint.
    """

    context: torch.Tensor
    shift: torch.Tensor
    log_scale: torch.Tensor
    bones: torch.Tensor
    pinned: torch.Tensor


class ConditionalFlowPrior(nn.Module):
    """``p(R | observation)`` over the local rotations ``R (..., K, 3, 3)``; see the module docstring.

    Args:
        config: the architecture. The chart centres and the standardisations start as identities:
            :meth:`from_data` fits them to training poses (loading weights restores them).

    Keypoint arguments (all methods): ``keypoints (..., J, 3)`` pelvis-frame 3D keypoints, or ``(..., J, 2)``
    orthographic 2D (pelvis-frame x, y), or, with ``camera (3, 3)`` or ``(..., 3, 3)`` intrinsics, perspective
    pixels; ``J = K + 1`` joints in :attr:`skeleton` order (root first) and unit. ``mask`` is True where
    visible: ``(..., J)`` (or ``(J,)``, broadcast), or per coordinate ``(..., J, 3)`` for 3D; hidden values
    may be NaN. The observation's batch shape ``(...)`` is that of the rotations.
    """

    def __init__(self, config: ConditionalFlowConfig):
        super().__init__()
        self.config = config
        # Until from_data fits them, the chart's axes put each joint's longest child bone first.
        self.flow = FlowPrior(config.flow, axes=axes_with_first(_bone_directions(config.joints.skeleton)).float())
        self.encoder = ObservationEncoder(len(config.joints.names) + 1, config.condition)
        self.align = BoneAlignment(config.joints.skeleton)
        # The conditional affine layer (see Condition), the identity at initialisation.
        self.affine = nn.Linear(config.flow.context, 6 * config.flow.num_joints)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)
        self._skeleton = config.joints.skeleton

    @classmethod
    def from_data(
        cls, config: ConditionalFlowConfig, rotations: torch.Tensor, root_rotation: torch.Tensor | None = None
    ) -> ConditionalFlowPrior:
        """A model fitted to training poses ``rotations (N, K, 3, 3)`` before training: the flow's chart
        centres and standardisation, and the encoder's standardisation of the keypoints (of perspective
        views too when ``root_rotation (N, 3, 3)`` is given, with a fixed seed)."""
        model = cls(config)
        # Each joint's first chart axis is its longest child bone, so that a pinned joint's twist is the first
        # coordinate alone; the other two are the data's principal axes (SO3Chart).
        chart = SO3Chart.fit(rotations, first=_bone_directions(config.joints.skeleton))
        z = chart.to_euclidean(rotations.float())[0]  # nothing pinned: D = R
        model.flow = FlowPrior(config.flow, chart.centers, z.mean(0), z.std(0).clamp_min(1e-6), chart.axes)
        g = torch.Generator().manual_seed(0)
        sample = torch.randperm(rotations.shape[0], generator=g)[:10_000]
        R = rotations[sample].float()
        keypoints = pelvis_keypoints(model._skeleton, R)
        full = replace(config.condition, p_full=1.0, p_empty=0.0, noise=0.0)
        kinds = replace(full, p_3d=1.0, p_orthographic=0.0, p_perspective=1.0 if root_rotation is not None else 0.0)
        roots = None if root_rotation is None else root_rotation[sample].float()
        model.encoder.fit(random_observation(keypoints, roots, kinds, config.length_scale, config.joints.unit_mm, g))
        with torch.no_grad():
            observed = replace(full, noise=config.condition.noise, p_3d=1.0, p_orthographic=0.0, p_perspective=0.0)
            model._init_affine(
                R, random_observation(keypoints, None, observed, config.length_scale, config.joints.unit_mm, g)
            )
        return model

    def _init_affine(self, R: torch.Tensor, observation: Observation) -> None:
        """Data-dependent initialisation (as ActNorm's, Kingma and Dhariwal, "Glow", 2018): the affine layer's
        weights from each joint's pinned flag start at the mean and log-spread of the flow's standardised
        coordinates of pinned joints, so that the sharpness the bones give is there from the first step
        (Adam would take thousands of steps to move a log-scale by several units)."""
        condition = self._condition(observation)
        flow = self.flow
        x = (flow.chart.to_euclidean(self._to_flow(R, condition))[0] - flow.loc) / flow.scale
        x, pinned = x.unflatten(-1, (self.num_joints, 3)), condition.pinned
        C, K = self.config.condition.context, self.num_joints
        for j in range(K):
            if pinned[:, j].sum() < 2:
                continue
            values = x[pinned[:, j], j]
            log_scale = values.std(0).clamp_min(1e-6).log().clamp(-0.95 * _MAX_LOG_SCALE, 0.0)
            self.affine.weight[3 * j : 3 * j + 3, C + j] = values.mean(0)
            self.affine.weight[3 * K + 3 * j : 3 * K + 3 * j + 3, C + j] = _MAX_LOG_SCALE * torch.atanh(
                log_scale / _MAX_LOG_SCALE
            )

    # --------------------------------------------------------------------------------------- description
    @property
    def num_joints(self) -> int:
        """``K``, the pose joints."""
        return self.config.flow.num_joints

    @property
    def joints(self) -> PoseJoints:
        """The pose joints, their tree and the skeleton's rest offsets."""
        return self.config.joints

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The ``K`` pose joints."""
        return self.config.joints.names

    @property
    def skeleton(self) -> Skeleton:
        """The ``J = K + 1``-joint skeleton of the keypoints (root first), in :attr:`unit_mm`."""
        return self._skeleton

    @property
    def unit_mm(self) -> float:
        """Millimetres per length unit of the skeleton and of 3D keypoints."""
        return self.config.joints.unit_mm

    # ------------------------------------------------------------------------------------- observations
    def keypoints(self, R: torch.Tensor) -> torch.Tensor:
        """Pelvis-frame 3D keypoints ``(..., J, 3)`` of poses ``R (..., K, 3, 3)``, in the skeleton's unit."""
        self._check(R)
        return pelvis_keypoints(self._skeleton, R)

    def observe(
        self, keypoints: torch.Tensor, mask: torch.Tensor | None = None, camera: torch.Tensor | None = None
    ) -> Observation:
        """Validate and normalise an observation (see the class docstring for the arguments)."""
        J = self.num_joints + 1
        if not isinstance(keypoints, torch.Tensor) or not keypoints.is_floating_point():
            raise ValidationError(f"keypoints: expected a floating-point tensor, got {type(keypoints).__name__}")
        if keypoints.ndim < 2 or keypoints.shape[-2] != J or keypoints.shape[-1] not in (2, 3):
            raise ValidationError(
                f"keypoints: expected shape (..., {J}, 3) or (..., {J}, 2) for this model's {J} skeleton joints "
                f"({', '.join(self._skeleton.joint_names)}), got {tuple(keypoints.shape)}"
            )
        dtype = self.flow.loc.dtype
        keypoints = keypoints.to(dtype)
        D = keypoints.shape[-1]
        # A mask ending in (J, 3) is per coordinate (3D only); otherwise per joint, broadcast to (..., J).
        per_coordinate = mask is not None and D == 3 and mask.ndim >= 2 and tuple(mask.shape[-2:]) == (J, 3)
        visible = _check_mask(mask, keypoints.shape if per_coordinate else keypoints.shape[:-1], keypoints.device)
        joint_visible = visible.all(-1) if per_coordinate else visible
        coord_visible = visible if per_coordinate else visible.unsqueeze(-1).expand(keypoints.shape)
        bad = ~torch.isfinite(keypoints) & coord_visible
        if bad.any():
            j = int(bad.nonzero()[0][-2])
            raise ValidationError(
                f"keypoints: NaN or inf at a visible keypoint (joint {self._skeleton.joint_names[j]!r}); mask it out"
            )
        if camera is not None:
            if D != 2:
                raise ValidationError(f"camera: intrinsics go with 2D pixel keypoints (..., {J}, 2), got 3D keypoints")
            camera = torch.as_tensor(camera, dtype=dtype, device=keypoints.device)
            if camera.ndim < 2 or camera.shape[-2:] != (3, 3) or not torch.isfinite(camera).all():
                raise ValidationError(
                    f"camera: expected finite (3, 3) or (..., 3, 3) intrinsics, got shape {tuple(camera.shape)}"
                )
            if torch.linalg.det(camera).abs().min() < 1e-12:
                raise ValidationError("camera: intrinsics matrix is singular")
            if not joint_visible[..., 0].all():
                raise ValidationError(
                    f"mask: perspective keypoints need the root {self._skeleton.joint_names[0]!r} visible (it anchors the view)"
                )
            return observe_perspective(keypoints, camera, joint_visible)
        if D == 2:  # orthographic: the pelvis-frame x, y with z hidden
            keypoints = torch.cat([keypoints, torch.zeros_like(keypoints[..., :1])], dim=-1)
            coord_visible = torch.cat([coord_visible, torch.zeros_like(coord_visible[..., :1])], dim=-1)
        # Root-relative: a visible root keypoint is moved to the origin, where the model's keypoints start.
        root = torch.where(coord_visible[..., :1, :], keypoints[..., :1, :], 0.0)
        return observe_3d(keypoints - root, coord_visible, self.config.length_scale)

    def condition(
        self, keypoints: torch.Tensor, mask: torch.Tensor | None = None, camera: torch.Tensor | None = None
    ) -> Condition:
        """The :class:`Condition` the flow sees for an observation (batch shape ``(...)``)."""
        return self._condition(self.observe(keypoints, mask, camera))

    def _condition(self, observation: Observation) -> Condition:
        bones, pinned = self.align(observation)
        # The pinned flags go straight to the flow: whether bones pin a joint is the first thing its density
        # depends on, and the encoder would otherwise have to learn it from the masks.
        parts = [self.encoder(observation), pinned.to(observation.points.dtype)]
        if self.config.condition.estimates:
            parts.append(self._estimates(bones, pinned))
        context = torch.cat(parts, dim=-1)
        shift, log_scale = self.affine(context).chunk(2, dim=-1)
        return Condition(context, shift, _MAX_LOG_SCALE * torch.tanh(log_scale / _MAX_LOG_SCALE), bones, pinned)

    def _estimates(self, bones: torch.Tensor, pinned: torch.Tensor) -> torch.Tensor:
        """``(..., 3K)``: per pinned joint, its local rotation as its visible bones alone imply it (parents
        first, each twist from the parent's estimate turned by the chart centre), in the flow's standardised
        chart coordinates; 0 for joints that are not pinned. Depends on the observation only."""
        flow = self.flow
        dtype = flow.loc.dtype
        C = flow.chart.centers.to(dtype)
        eye = torch.eye(3, dtype=dtype, device=bones.device).expand(*bones.shape[:-3], 3, 3)
        G: list[torch.Tensor] = []
        local: list[torch.Tensor] = []
        for j, p in enumerate(self.config.joints.parents):
            parent = eye if p < 0 else G[p]
            G.append(self.align.solve(bones[..., j, :, :], parent @ C[j]))
            local.append(parent.transpose(-1, -2) @ G[j])
        z = flow.chart.to_euclidean(torch.stack(local, dim=-3))[0]
        x = ((z - flow.loc) / flow.scale).unflatten(-1, (self.num_joints, 3))
        return torch.where(pinned.unsqueeze(-1), x, 0.0).flatten(-2)

    def _unobserved(self, batch: tuple[int, ...]) -> Condition:
        J, dtype, device = self.num_joints + 1, self.flow.loc.dtype, self.flow.loc.device
        hidden = torch.zeros(*batch, J, 3, dtype=torch.bool, device=device)
        return self._condition(observe_3d(torch.zeros(*batch, J, 3, dtype=dtype, device=device), hidden, 1.0))

    def _log_prob(self, R: torch.Tensor, condition: Condition, validate: bool) -> torch.Tensor:
        if validate:
            check_rotations(R, "R", tol=1e-3)
        flow = self.flow
        z, ladj = flow.chart.to_euclidean(self._to_flow(R.to(flow.loc.dtype), condition))
        u = ((z - flow.loc) / flow.scale - condition.shift) * torch.exp(-condition.log_scale)
        ladj = ladj - flow.scale.log().sum() - condition.log_scale.sum(-1)
        return flow.flow(condition.context).log_prob(u) + ladj

    def _to_flow(self, R: torch.Tensor, condition: Condition) -> torch.Tensor:
        """The flow's rotations ``D_j = C_j A_j^T G_j`` (step 1 of the module docstring), from the pelvis-frame
        global rotations ``G`` and the bone alignment ``A_j`` with reference ``G_parent C_j``."""
        G = posed_joints(self._skeleton, R)[1]  # the root unrotated
        parents = [p + 1 for p in self.config.joints.parents]
        C = self.flow.chart.centers.to(R.dtype)
        A = self.align.solve(condition.bones, G[..., parents, :, :] @ C)
        G = G[..., 1:, :, :]
        return C @ A.transpose(-1, -2) @ G

    def _from_flow(self, D: torch.Tensor, condition: Condition) -> torch.Tensor:
        """Inverse of :meth:`_to_flow`, parents before children: ``G_j = A_j C_j^T D_j``, ``R_j = G_parent^T G_j``."""
        eye = torch.eye(3, dtype=D.dtype, device=D.device).expand(*D.shape[:-3], 3, 3)
        bones = condition.bones.expand(*D.shape[:-3], *condition.bones.shape[-3:])
        C = self.flow.chart.centers.to(D.dtype)
        G: list[torch.Tensor] = []
        R: list[torch.Tensor] = []
        for j, p in enumerate(self.config.joints.parents):
            parent = eye if p < 0 else G[p]
            A = self.align.solve(bones[..., j, :, :], parent @ C[j])
            G.append(A @ C[j].transpose(-1, -2) @ D[..., j, :, :])
            R.append(parent.transpose(-1, -2) @ G[j])
        return torch.stack(R, dim=-3)

    def _sample(
        self, n: int | None, condition: Condition, temperature: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` samples (base noise scaled by ``temperature``), or with ``n=None`` the image of the base
        distribution's mode (no sample dimension); with their exact log-densities under the model."""
        flow = self.flow
        distribution = flow.flow(condition.context)
        if n is None:
            base = torch.zeros_like(condition.shift)
        else:
            base = temperature * torch.randn(
                n, *condition.shift.shape, dtype=condition.shift.dtype, device=condition.shift.device
            )
        u, ladj = distribution.transform.inv.call_and_ladj(base)
        log_pu = distribution.base.log_prob(base) - ladj
        z = (u * torch.exp(condition.log_scale) + condition.shift) * flow.scale + flow.loc
        G, ladj = flow.chart.to_rotations(z)
        return self._from_flow(G, condition), log_pu - ladj - flow.scale.log().sum() - condition.log_scale.sum(-1)

    # --------------------------------------------------------------------------------------- densities
    def log_prob(
        self,
        R: torch.Tensor,
        keypoints: torch.Tensor,
        mask: torch.Tensor | None = None,
        camera: torch.Tensor | None = None,
        validate: bool = True,
    ) -> torch.Tensor:
        """Exact ``log p(R | observation)`` ``(...)`` in nats w.r.t. the normalized Haar measure on SO(3)^K.

        ``R (..., K, 3, 3)``; the observation's batch shape must broadcast with ``(...)``.
        """
        self._check(R)
        condition = self.condition(keypoints, mask, camera)
        try:
            batch = torch.broadcast_shapes(condition.context.shape[:-1], R.shape[:-3])
        except RuntimeError:
            raise ValidationError(
                f"R: batch shape {tuple(R.shape[:-3])} does not broadcast with the observation's "
                f"{tuple(condition.context.shape[:-1])}"
            ) from None
        n = condition.context.ndim - 1
        return self._log_prob(R, Condition(*(c.expand(*batch, *c.shape[n:]) for c in condition)), validate)

    def log_prob_unobserved(self, R: torch.Tensor, validate: bool = True) -> torch.Tensor:
        """``log p(R | nothing observed)`` ``(...)``: the model as an unconditional prior."""
        self._check(R)
        return self._log_prob(R, self._unobserved(tuple(R.shape[:-3])), validate)

    def _check(self, R: torch.Tensor) -> None:
        K = self.num_joints
        if not isinstance(R, torch.Tensor) or R.ndim < 3 or R.shape[-3:] != (K, 3, 3):
            shape = tuple(R.shape) if isinstance(R, torch.Tensor) else type(R).__name__
            raise ValidationError(f"R: expected shape (..., {K}, 3, 3) for this {K}-joint model, got {shape}")

    def sample(
        self,
        n: int,
        keypoints: torch.Tensor,
        mask: torch.Tensor | None = None,
        camera: torch.Tensor | None = None,
        temperature: float = 1.0,
    ) -> torch.Tensor:
        """``n`` poses per observation ``(n, ..., K, 3, 3)``; see :meth:`sample_with_log_prob`."""
        return self.sample_with_log_prob(n, keypoints, mask, camera, temperature)[0]

    @torch.no_grad()
    def sample_with_log_prob(
        self,
        n: int,
        keypoints: torch.Tensor,
        mask: torch.Tensor | None = None,
        camera: torch.Tensor | None = None,
        temperature: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` poses per observation ``(n, ..., K, 3, 3)`` and their exact log-densities ``(n, ...)``.

        ``temperature`` scales the base distribution's noise (Kingma and Dhariwal, "Glow", 2018): 1 draws
        from ``p(R | observation)``; below 1, less diverse and more likely poses (the log-densities stay the
        model's own).
        """
        if not temperature >= 0:
            raise ValidationError(f"temperature: expected a number >= 0, got {temperature!r}")
        return self._sample(n, self.condition(keypoints, mask, camera), temperature)

    def mode(
        self,
        keypoints: torch.Tensor,
        mask: torch.Tensor | None = None,
        camera: torch.Tensor | None = None,
        candidates: int = 100,
    ) -> torch.Tensor:
        """The most likely pose ``(..., K, 3, 3)`` among candidates, per observation.

        An approximation of the posterior mode: the candidates are the image of the base distribution's mode
        (the flow's zero-temperature pose, :meth:`base_mode`) and ``candidates`` random samples, each scored
        by its exact log-density; the best is kept. More candidates get closer (and cost linearly more).
        """
        R, logp = self.sample_with_log_prob(candidates, keypoints, mask, camera)
        R0, logp0 = self.base_mode(keypoints, mask, camera)
        return pick_best(torch.cat([R0.unsqueeze(0), R]), torch.cat([logp0.unsqueeze(0), logp]))[0]

    @torch.no_grad()
    def base_mode(
        self, keypoints: torch.Tensor, mask: torch.Tensor | None = None, camera: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The pose ``(..., K, 3, 3)`` the flow maps the base distribution's mode (0) to, and its log-density
        ``(...)``: a deterministic, usually very likely pose, the first candidate of :meth:`mode`."""
        return self._sample(None, self.condition(keypoints, mask, camera))

    # ------------------------------------------------------------------------------------------ training
    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean negative log-likelihood (nats per pose) of ``batch["rotations"] (B, K, 3, 3)`` given random
        observations of them (:func:`~poseprior.models.flow.condition.random_observation`; perspective ones
        need ``batch["root_rotation"] (B, 3, 3)``, the root's world orientation)."""
        R = batch["rotations"].to(self.flow.loc.dtype)
        with torch.no_grad():
            keypoints = pelvis_keypoints(self._skeleton, R)
            observation = random_observation(
                keypoints,
                batch.get("root_rotation"),
                self.config.condition,
                self.config.length_scale,
                self.unit_mm,
                generator,
            )
        return -self._log_prob(R, self._condition(observation), validate=False).mean()

    @torch.no_grad()
    def validation_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Mean log-likelihoods (nats per pose) of ``batch["rotations"]`` under fixed observations.

        Keys: ``log_likelihood`` (the training objective's opposite, with a fixed seed: the headline metric of
        the training loop), ``ll_3d`` (full 3D keypoints),
        ``ll_3d_masked30`` (30% of the joints hidden), ``ll_orthographic``, ``ll_perspective`` (when the batch
        has ``root_rotation`` and the model trains on it), ``ll_unobserved`` (every joint hidden).
        """
        R = batch["rotations"].to(self.flow.loc.dtype)
        B, J = R.shape[0], self.num_joints + 1
        g = torch.Generator(device=R.device).manual_seed(0)
        keypoints = pelvis_keypoints(self._skeleton, R)

        def ll(keypoints: torch.Tensor, mask: torch.Tensor | None = None, camera: torch.Tensor | None = None) -> float:
            return float(self.log_prob(R, keypoints, mask, camera, validate=False).mean())

        out = {"log_likelihood": -float(self.loss(batch, g))}
        out["ll_3d"] = ll(keypoints)
        out["ll_3d_masked30"] = ll(keypoints, torch.rand(B, J, generator=g, device=R.device) >= 0.3)
        out["ll_orthographic"] = ll(keypoints[..., :2])
        if "root_rotation" in batch and self.config.condition.p_perspective > 0:
            only = replace(
                self.config.condition,
                p_3d=0.0,
                p_orthographic=0.0,
                p_perspective=1.0,
                p_full=1.0,
                p_empty=0.0,
                noise=0.0,
            )
            obs = random_observation(keypoints, batch["root_rotation"], only, self.config.length_scale, self.unit_mm, g)
            out["ll_perspective"] = float(self._log_prob(R, self._condition(obs), validate=False).mean())
        out["ll_unobserved"] = float(self.log_prob_unobserved(R, validate=False).mean())
        return out


def _bone_directions(skeleton: Skeleton) -> torch.Tensor:
    """``(K, 3)`` per pose joint, the unit direction of its longest child bone (rest offset); 0 for leaves."""
    rows = []
    for j in range(1, skeleton.num_joints):
        children = [c for c in skeleton.children(j) if float(skeleton.offsets[c].norm()) > 1e-9]
        if not children:
            rows.append(torch.zeros(3, dtype=torch.float64))
            continue
        bone = max((skeleton.offsets[c].double() for c in children), key=lambda o: float(o.norm()))
        rows.append(bone / bone.norm())
    return torch.stack(rows)


def _check_mask(mask: torch.Tensor | None, shape: torch.Size, device: torch.device) -> torch.Tensor:
    """``mask`` as a bool tensor expanded to ``shape`` (all True when None); a clear error if it does not fit."""
    if mask is None:
        return torch.ones(shape, dtype=torch.bool, device=device)
    mask = torch.as_tensor(mask, device=device)
    try:
        return (mask != 0).expand(shape)
    except RuntimeError:
        raise ValidationError(
            f"mask: shape {tuple(mask.shape)} does not fit keypoints {tuple(shape)}: expected (..., J) per joint "
            "(or (..., J, 3) per coordinate for 3D keypoints), True where visible"
        ) from None


def pick_best(R: torch.Tensor, logp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """From candidates ``R (n, ..., K, 3, 3)`` with log-densities ``(n, ...)``: the best ``(..., K, 3, 3)`` and its ``(...)``."""
    best = logp.argmax(0)
    index = best.reshape(1, *best.shape, 1, 1, 1).expand(1, *R.shape[1:])
    return R.gather(0, index).squeeze(0), logp.gather(0, best.unsqueeze(0)).squeeze(0)


@torch.no_grad()
def unobserved_gap(
    model: ConditionalFlowPrior, prior: nn.Module, rotations: torch.Tensor, batch_size: int = 1000
) -> dict[str, float]:
    """How far the conditional model with every joint hidden is from an unconditional prior, on ``rotations``.

    Args:
        model: the conditional flow.
        prior: an unconditional model of the same joints with ``log_prob(R)`` (e.g. a :class:`FlowPrior`).
        rotations: ``(N, K, 3, 3)`` poses (a test split).

    Returns:
        ``unobserved`` and ``prior``, the mean log-likelihoods (nats per pose), and ``gap = prior - unobserved``
        (positive when the separate prior is better).
    """
    check_rotations(rotations, "rotations", tol=1e-3)
    a, b = [], []
    for chunk in rotations.split(batch_size):
        a.append(model.log_prob_unobserved(chunk, validate=False))
        b.append(prior.log_prob(chunk))
    unobserved, unconditional = float(torch.cat(a).mean()), float(torch.cat(b).mean())
    return {"unobserved": unobserved, "prior": unconditional, "gap": unconditional - unobserved}
