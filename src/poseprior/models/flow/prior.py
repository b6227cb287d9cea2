"""``FlowPrior``: an exact-likelihood normalizing flow on SO(3)^K.

Layers, bottom (data) to top (base):

1. :class:`~poseprior.models.flow.chart.SO3Chart`: per-joint centring, exponential chart, a radial map
   of the ball onto R^3 and principal axes (hand-written: no library has SO(3) densities; Falorsi et al.,
   AISTATS 2019).
2. A fixed per-dimension standardisation (mean and scale of the training data in the chart).
3. ``L`` coupling layers (Dinh et al., "NICE", 2014 / "Density estimation using Real NVP", 2017) whose
   elementwise maps are monotonic rational-quadratic splines (Durkan et al., "Neural Spline Flows",
   NeurIPS 2019), from ``zuko`` (:class:`zuko.flows.GeneralCouplingTransform`). Each layer transforms one
   group of joints (all three coordinates of each) in parallel, conditioned on the other group: the groups
   alternate between the kinematic tree's even and odd depths (so every joint is updated given its parent
   and children), the tree's upper and lower body, and fixed random halves. The depth of the network is
   ``L``, whatever the number of joints, and the inverse is closed-form (spline inverse), unlike the
   joint-by-joint Möbius flows of HuProSO3 (Dünkel et al., CVPR 2024) that invert by bisection.
4. A standard normal base on R^{3K}.

``log_prob`` is exact with respect to the normalized Haar measure on SO(3)^K (uniform = 0 nats), up to the
measure-zero set where some joint's angle from its centre is pi.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import partial

import torch
import torch.nn.functional as F
import zuko
from torch import nn
from zuko.transforms import MonotonicRQSTransform

from poseprior.errors import ValidationError
from poseprior.geometry import check_rotations
from poseprior.models.flow.chart import SO3Chart
from poseprior.models.prior import ConfiguredJoints, PoseJoints
from poseprior.models.projection import latent_map_projection

__all__ = ["FlowConfig", "FlowPrior", "coupling_masks"]


@dataclass(frozen=True)
class FlowConfig:
    """Architecture of a :class:`FlowPrior`.

    Attributes:
        num_joints: ``K``.
        parents: parent index of each of the ``K`` joints within the pose (-1 where the parent is outside it,
            e.g. the pelvis): used to build tree-aware coupling groups.
        layers: number of coupling layers.
        hidden: widths of each coupling layer's MLP.
        bins: spline bins per coordinate.
        bound: the splines act on ``[-bound, bound]`` (identity outside), in standardised units.
        context: size of the conditioning vector (0 for an unconditional prior).
        seed: seed of the random coupling groups.
        joints: the joints' names and skeleton (:class:`~poseprior.models.prior.PoseJoints`), so that files
            can be scored by joint name and samples written as motions; generic names if None.
    """

    num_joints: int
    parents: tuple[int, ...] = ()
    layers: int = 8
    hidden: tuple[int, ...] = (256, 256)
    bins: int = 8
    bound: float = 5.0
    context: int = 0
    seed: int = 0
    joints: PoseJoints | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "joints": self.joints and self.joints.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> FlowConfig:
        d = dict(d)
        d["parents"] = tuple(d.get("parents", ()))
        d["hidden"] = tuple(d.get("hidden", (256, 256)))
        d["joints"] = PoseJoints.from_dict(d["joints"]) if d.get("joints") else None
        return cls(**d)


def _softmax(x: torch.Tensor) -> torch.Tensor:
    e = (x - x.amax(dim=-1, keepdim=True)).exp()
    return e / e.sum(dim=-1, keepdim=True)


class _RQSpline(MonotonicRQSTransform):
    """zuko's monotonic rational-quadratic spline, with the softmax over bins written out: torch's softmax
    over a last dimension of a few bins is about 3x slower on CPU than exp and sum (measured: 1.9 vs 0.56 ms
    for 1000 x 30 x 6), and it took a third of ``log_prob``'s time. Same parameterisation as zuko's: its
    ``__init__`` body is rewritten here (zuko's own is skipped), so pyproject pins zuko's minor version and
    ``test_the_spline_is_zukos_spline`` fails if the two part."""

    def __init__(
        self,
        widths: torch.Tensor,
        heights: torch.Tensor,
        derivatives: torch.Tensor,
        bound: float = 5.0,
        slope: float = 1e-3,
    ):
        super(MonotonicRQSTransform, self).__init__()
        log_slope = math.log(slope)
        widths = widths / (1 + abs(2 * widths / log_slope))
        heights = heights / (1 + abs(2 * heights / log_slope))
        derivatives = derivatives / (1 + abs(derivatives / log_slope))
        self.horizontal = bound * (2 * torch.cumsum(F.pad(_softmax(widths), (1, 0), value=0), dim=-1) - 1)
        self.vertical = bound * (2 * torch.cumsum(F.pad(_softmax(heights), (1, 0), value=0), dim=-1) - 1)
        self.derivatives = torch.exp(F.pad(derivatives, (1, 1), value=0))


def coupling_masks(parents: tuple[int, ...], layers: int, seed: int = 0) -> list[torch.Tensor]:
    """Boolean masks ``(3K,)`` (True = conditioning group) for ``layers`` coupling layers.

    The joint partitions cycle through: even vs odd tree depth, upper vs lower body (the subtrees of the
    root's children split in two by size), and random halves; each partition is followed by its complement
    so every joint is transformed.
    """
    K = len(parents)
    depth = [0] * K
    top = [0] * K  # index of the top-level subtree each joint belongs to
    for j, p in enumerate(parents):
        depth[j] = 0 if p < 0 else depth[p] + 1
        top[j] = j if p < 0 else top[p]
    partitions = [torch.tensor([d % 2 == 0 for d in depth])]
    roots = sorted(set(top), key=lambda r: -top.count(r))
    if len(roots) > 1:
        first = set(roots[::2])
        partitions.append(torch.tensor([t in first for t in top]))
    g = torch.Generator().manual_seed(seed)
    while len(partitions) * 2 < layers:
        perm = torch.randperm(K, generator=g)
        partitions.append(torch.zeros(K, dtype=torch.bool).index_fill_(0, perm[: K // 2], True))
    masks = []
    for i in range(layers):
        part = partitions[(i // 2) % len(partitions)]
        joint_mask = part if i % 2 == 0 else ~part
        if joint_mask.all() or not joint_mask.any():  # a single-joint pose: split coordinates instead
            masks.append(torch.tensor([True, False, False] * K) ^ torch.tensor(i % 2 == 1))
        else:
            masks.append(joint_mask.repeat_interleave(3))
    return masks


class FlowPrior(ConfiguredJoints, nn.Module):
    """Normalizing flow prior over ``K`` joint rotations; see the module docstring for the layers.

    Args:
        config: the architecture.
        centers: ``(K, 3, 3)`` per-joint centre rotations (mean rotation of the training data).
        axes: ``(K, 3, 3)`` per-joint chart axes (principal axes of the training data; see :class:`SO3Chart`).
        loc, scale: ``(3K,)`` standardisation of the chart coordinates.

    Example:
        >>> prior = FlowPrior(FlowConfig(num_joints=3, parents=(-1, 0, 1), layers=2, hidden=(16,)))
        >>> R = prior.sample(4)
        >>> prior.log_prob(R).shape
        torch.Size([4])
    """

    def __init__(
        self,
        config: FlowConfig,
        centers: torch.Tensor | None = None,
        loc: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
        axes: torch.Tensor | None = None,
    ):
        super().__init__()
        K = config.num_joints
        parents = config.parents or tuple([-1] + list(range(K - 1)))
        if len(parents) != K:
            raise ValidationError(f"config.parents: expected {K} entries, got {len(parents)}")
        if config.joints is not None and len(config.joints.names) != K:
            raise ValidationError(f"config.joints: expected {K} joint names, got {len(config.joints.names)}")
        self.config = config
        self.chart = SO3Chart(centers, num_joints=K, axes=axes)
        D = 3 * K
        self.register_buffer("loc", torch.zeros(D) if loc is None else loc.detach().float().clone())
        self.register_buffer("scale", torch.ones(D) if scale is None else scale.detach().float().clone())
        spline = partial(_RQSpline, bound=config.bound)
        shapes = [(config.bins,), (config.bins,), (config.bins - 1,)]
        transforms = [
            zuko.flows.GeneralCouplingTransform(
                D,
                config.context,
                mask=m,
                univariate=spline,
                shapes=shapes,
                hidden_features=config.hidden,
                activation=nn.SiLU,
            )
            for m in coupling_masks(parents, config.layers, config.seed)
        ]
        base = zuko.flows.UnconditionalDistribution(
            zuko.distributions.DiagNormal, torch.zeros(D), torch.ones(D), buffer=True
        )
        self.flow = zuko.flows.Flow(transforms, base)

    @classmethod
    def from_data(cls, config: FlowConfig, rotations: torch.Tensor) -> FlowPrior:
        """A prior whose chart (centres at each joint's mean rotation, :meth:`SO3Chart.fit`) and
        standardisation (mean and standard deviation of the chart coordinates) are fitted to training
        ``rotations (N, K, 3, 3)``.

        The chart's axes are the rig's joint frames, not the principal axes :meth:`SO3Chart.fit` finds:
        principal axes fit the training styles better but generalise worse, both to held-out styles and to
        other labs' motion (``benchmarks/flow_design.py``; docs/benchmarks.md, "Chart axes")."""
        if rotations.ndim != 4 or rotations.shape[1:] != (config.num_joints, 3, 3):
            raise ValidationError(
                f"rotations: expected shape (N, {config.num_joints}, 3, 3), got {tuple(rotations.shape)}"
            )
        chart = SO3Chart(SO3Chart.fit(rotations).centers)
        z, _ = chart.to_euclidean(rotations.float())
        return cls(config, chart.centers, z.mean(0), z.std(0).clamp_min(1e-6), chart.axes)

    def _check(self, R: torch.Tensor, name: str = "R") -> None:
        K = self.num_joints
        if R.ndim < 3 or R.shape[-3:] != (K, 3, 3):
            raise ValidationError(
                f"{name}: expected shape (..., {K}, 3, 3) for this {K}-joint prior, got {tuple(R.shape)}"
            )

    def _standardised(self, R: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, ladj = self.chart.to_euclidean(R)
        return (z - self.loc) / self.scale, ladj - self.scale.log().sum()

    def _distribution(self, context: torch.Tensor | None):
        return self.flow(context)

    def log_prob(self, R: torch.Tensor, context: torch.Tensor | None = None, validate: bool = True) -> torch.Tensor:
        """Exact log-density ``(...)`` in nats w.r.t. the normalized Haar measure on SO(3)^K.

        Args:
            R: ``(..., K, 3, 3)`` local joint rotations.
            context: ``(..., C)`` conditioning vector for conditional flows.
            validate: check that ``R`` holds rotations (a clear error instead of a silent wrong number).
        """
        self._check(R)
        if validate:
            check_rotations(R, "R", tol=1e-3)
        u, ladj = self._standardised(R.to(self.loc.dtype))
        return self._distribution(context).log_prob(u) + ladj

    def energy(self, R: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """``-log_prob(R)`` ``(...)``: lower is more plausible; differentiable, for use as a loss."""
        return -self.log_prob(R, context, validate=False)

    def project(self, R: torch.Tensor, noise_deg: float = 30.0, steps: int = 30, lr: float = 0.1) -> torch.Tensor:
        """Poses ``(..., K, 3, 3)`` near ``R`` decoded from their MAP base point under Gaussian noise of
        ``noise_deg`` per joint (:func:`~poseprior.models.projection.latent_map_projection`)."""
        self._check(R)
        check_rotations(R, "R", tol=1e-3)
        return latent_map_projection(self.to_latent, self.from_latent, R.to(self.loc.dtype), noise_deg, steps, lr)

    @property
    def latent_dim(self) -> int:
        """``D = 3 K``: the base space of the flow."""
        return self.loc.shape[-1]

    def to_latent(self, R: torch.Tensor) -> torch.Tensor:
        """Base points ``(..., 3 K)`` of poses ``R (..., K, 3, 3)`` (standard normal for poses of the prior)."""
        self._check(R)
        return self.flow().transform(self._standardised(R.to(self.loc.dtype))[0])

    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Poses ``(..., K, 3, 3)`` of base points ``z (..., 3 K)``; differentiable (the coupling layers invert
        in closed form)."""
        return self.chart.to_rotations(self.flow().transform.inv(z) * self.scale + self.loc)[0]

    def rsample_with_log_prob(self, n: int, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable samples ``(n, ..., K, 3, 3)`` with their exact log-densities ``(n, ...)``."""
        u, log_pu = self._distribution(context).rsample_and_log_prob((n,))
        z = u * self.scale + self.loc
        R, ladj = self.chart.to_rotations(z)
        return R, log_pu - ladj - self.scale.log().sum()

    def rsample(self, n: int, context: torch.Tensor | None = None) -> torch.Tensor:
        """Differentiable (reparameterised) samples ``(n, ..., K, 3, 3)``."""
        u = self._distribution(context).rsample((n,))
        return self.chart.to_rotations(u * self.scale + self.loc)[0]

    @torch.no_grad()
    def sample(self, n: int, context: torch.Tensor | None = None) -> torch.Tensor:
        """Samples ``(n, ..., K, 3, 3)``."""
        return self.rsample(n, context)
