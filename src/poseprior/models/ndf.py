"""``DistanceFieldPrior``: a neural distance field to the manifold of training poses (Pose-NDF's idea).

Tiwari et al., "Pose-NDF: Modeling Human Pose Manifolds with Neural Distance Fields" (ECCV 2022): a network
``f(R) >= 0`` approximates the distance from a pose ``R (K, 3, 3)`` to the set of training poses; plausible
poses are its zero set, and a pose is projected onto it by steps down the gradient.

Distance (the field's unit, also of :meth:`~DistanceFieldPrior.energy`): the root-mean-square per-joint geodesic
angle in **radians** to the nearest training pose, ``d = sqrt(mean_j theta_j^2)`` (:mod:`poseprior.models.ndf_data`;
e.g. 0.1 is about 6 degrees per joint). It is a Riemannian distance on SO(3)^K, so the true field has a unit
gradient (eikonal equation) pointing away from the nearest pose, and one Newton step projects exactly.

Network (``DistanceFieldConfig``):

1. Per-joint input ``x_j`` of the rotation relative to the joint's mean rotation ``C_j`` (fitted by
   :meth:`DistanceFieldPrior.from_data`): ``"quaternion"``, the unit quaternion of ``C_j^T R_j`` with ``w >= 0``
   (Pose-NDF's input; the sign cut at 180 degrees from the mean is far from real poses), or ``"matrix"``, the 9
   entries of ``C_j^T R_j - I`` (continuous everywhere); standardised by the training data's mean and, per
   joint, RMS spread.
2. Pose-NDF's hierarchical encoder (from LEAP, Mihajlovic et al., CVPR 2021): joint ``j``'s feature
   ``h_j = mlp_j([x_j, h_parent(j)])`` (two layers, width ``dim(x) + F``, ``F = encoder_features``), a joint
   attached to the root having a zero parent feature. The tree is ``config.parents``. Pose-NDF's released code
   gets it wrong: its ``get_parent_mapping`` gives SMPL's parent indices counted with the pelvis to a list of
   the 21 body joints counted without it, so every joint not attached to the pelvis reads the feature of the
   joint after its parent (the left knee reads the right hip). Joints of one tree depth run as one batched matmul.
3. An MLP on the ``K * F`` concatenated features to one number ``raw``; ``f = max(raw, 0)``.

:meth:`DistanceFieldConfig.posendf_reference` is Pose-NDF's published configuration (``configs/amass.yaml``):
quaternions, ``F = 6``, MLP widths 256-512-1024-512-256-64, LeakyReLU, L1 + manifold + eikonal losses, and
projection by 100 steps ``x <- x - f grad f``: 1,363,853 parameters for bandai-v1's 20 joints (1.37 M for
SMPL's 21). The default configuration is smaller and projects by Newton steps with early stopping (see
``docs/benchmarks.md`` for the speed and the final distances of both).

Training (:meth:`~DistanceFieldPrior.loss`) on rows ``{"rotations": x, "distance": d, "nearest": y}`` from
:func:`~poseprior.models.ndf_data.distance_pairs` (``y`` the nearest training pose, ``d = d(x, y)``):

    |raw(x) - d|  (or squared, ``loss="l2"``)                          distance, on the raw output
  + manifold_weight * |raw(y)|                                         zero on training poses
  + eikonal_weight  * (|grad f(x)| - 1)^2                              Pose-NDF's eikonal term
  + gradient_weight * |grad f(x) - u|^2,   u = -log_x(y) / |log_x(y)|  the true field's gradient

Gradients are Riemannian, w.r.t. right perturbations ``R_j exp(omega_j)`` in the metric of ``d`` (their norm is
``sqrt(K)`` times the Euclidean norm of ``df/domega``). The distance term acts on ``raw``, not ``f``, so that a
negative output still receives a gradient. The gradient term is this module's addition: it includes the eikonal
term and fixes the direction too, which is what Newton projection needs.

Projection (:meth:`~DistanceFieldPrior.project`): per pose, ``omega = -f g / max(|g|, 1/2)^2`` (Newton) or
``omega = -f g`` (Pose-NDF's rule), ``R_j <- R_j exp(omega_j)``, for at most ``project_steps`` steps, each pose
stopping once ``f <= project_tol``. The floor on ``|g|`` caps a Newton step at twice ``f``.

Sampling (:meth:`~DistanceFieldPrior.sample`): Pose-NDF projects random poses. Here the starting points are
drawn from a stored per-joint Gaussian of the training data's rotation vectors ``log(C_j^T R_j)`` (independent
joints, a 3x3 covariance each; fitted by :meth:`~DistanceFieldPrior.from_data` and, with the input
standardisation, the only statistics of the training poses kept), then projected. Such draws are part of the
training pairs (:meth:`~DistanceFieldPrior.training_pairs`), so the field is trained where the projection starts.

Example:
    >>> prior = DistanceFieldPrior(DistanceFieldConfig(num_joints=3, parents=(-1, 0, 1), hidden=(16,)))
    >>> R = prior.sample(4)
    >>> prior.distance(R).shape, prior.project(R).shape
    (torch.Size([4]), torch.Size([4, 3, 3, 3]))
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import roma
import torch
from torch import nn

from poseprior.errors import ValidationError
from poseprior.geometry import check_rotations
from poseprior.models.ndf_data import DEFAULT_NOISE_DEG, distance_pairs
from poseprior.models.prior import ConfiguredJoints, PoseJoints

__all__ = ["DistanceFieldConfig", "DistanceFieldPrior", "FEATURES", "ACTIVATIONS"]

#: Values of :attr:`DistanceFieldConfig.features` and their size per joint.
FEATURES = {"quaternion": 4, "matrix": 9}
#: Values of :attr:`DistanceFieldConfig.activation`.
ACTIVATIONS = {"leaky_relu": nn.LeakyReLU, "relu": nn.ReLU, "silu": nn.SiLU, "softplus": nn.Softplus}

_MIN_GRAD = 0.5  # floor on the gradient norm of a Newton step: a step is at most 2 f long


@dataclass(frozen=True)
class DistanceFieldConfig:
    """Architecture, losses and projection of a :class:`DistanceFieldPrior`.

    Attributes:
        num_joints: ``K``.
        parents: parent index of each joint within the pose, ``-1`` for joints attached to the root (default:
            a chain); each parent must come before its child.
        features: per-joint input, ``"matrix"`` or ``"quaternion"`` (see the module docstring).
        encoder_features: ``F``, the size of each joint's feature.
        hidden: widths of the MLP's hidden layers.
        activation: ``"silu"``, ``"leaky_relu"``, ``"relu"`` or ``"softplus"`` (encoder and MLP).
        loss: ``"l1"`` or ``"l2"`` on the distance.
        manifold_weight, eikonal_weight, gradient_weight: weights of the other loss terms.
        project_steps: the most steps of :meth:`DistanceFieldPrior.project`.
        project_tol: a pose stops once its distance is at most this (radians; 0: run every step).
        newton: Newton steps (``f g / |g|^2``); False: Pose-NDF's ``f g``.
        joints: joint names and skeleton (:class:`~poseprior.models.prior.PoseJoints`); generic names if None.
    """

    num_joints: int
    parents: tuple[int, ...] = ()
    features: str = "matrix"
    encoder_features: int = 8
    hidden: tuple[int, ...] = (256, 256)
    activation: str = "silu"
    loss: str = "l1"
    manifold_weight: float = 1.0
    eikonal_weight: float = 0.0
    gradient_weight: float = 1.0
    project_steps: int = 8
    project_tol: float = 0.005
    newton: bool = True
    joints: PoseJoints | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "parents", tuple(int(p) for p in self.parents))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        K = self.num_joints
        if isinstance(K, bool) or not isinstance(K, int) or K < 1:
            raise ValidationError(f"num_joints: expected a positive integer, got {K!r}")
        if self.parents and (len(self.parents) != K or any(not -1 <= p < j for j, p in enumerate(self.parents))):
            raise ValidationError(f"parents: expected {K} indices, each -1 or before its joint, got {self.parents}")
        if self.features not in FEATURES:
            raise ValidationError(f"features: expected one of {tuple(FEATURES)}, got {self.features!r}")
        if self.activation not in ACTIVATIONS:
            raise ValidationError(f"activation: expected one of {tuple(ACTIVATIONS)}, got {self.activation!r}")
        if self.loss not in ("l1", "l2"):
            raise ValidationError(f"loss: expected 'l1' or 'l2', got {self.loss!r}")
        if self.encoder_features < 1 or not self.hidden or min(self.hidden) < 1:
            sizes = f"{self.encoder_features}, {self.hidden}"
            raise ValidationError(f"encoder_features, hidden: expected positive sizes, got {sizes}")
        for name in ("manifold_weight", "eikonal_weight", "gradient_weight", "project_tol"):
            if not getattr(self, name) >= 0:
                raise ValidationError(f"{name}: expected a non-negative number, got {getattr(self, name)!r}")
        if self.project_steps < 0:
            raise ValidationError(f"project_steps: expected a non-negative integer, got {self.project_steps!r}")
        if self.joints is not None and len(self.joints.names) != K:
            raise ValidationError(f"joints: expected {K} joint names, got {len(self.joints.names)}")

    @classmethod
    def posendf_reference(cls, num_joints: int, parents: tuple[int, ...] = (), **overrides) -> DistanceFieldConfig:
        """Pose-NDF's published architecture, losses and projection (``configs/amass.yaml`` of the released
        code): quaternion input, encoder features 6, MLP 256-512-1024-512-256-64 with LeakyReLU, L1 distance +
        manifold + eikonal losses of weight 1, 100 projection steps ``x <- x - f grad f``; the tree fixed."""
        ref = dict(
            features="quaternion",
            encoder_features=6,
            hidden=(256, 512, 1024, 512, 256, 64),
            activation="leaky_relu",
            loss="l1",
            manifold_weight=1.0,
            eikonal_weight=1.0,
            gradient_weight=0.0,
            project_steps=100,
            project_tol=0.0,
            newton=False,
        )
        return cls(num_joints, parents, **{**ref, **overrides})

    def to_dict(self) -> dict:
        return {**asdict(self), "joints": self.joints and self.joints.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> DistanceFieldConfig:
        d = dict(d)
        d["parents"] = tuple(d.get("parents", ()))
        d["hidden"] = tuple(d.get("hidden", (256, 256)))
        d["joints"] = PoseJoints.from_dict(d["joints"]) if d.get("joints") else None
        return cls(**d)


def _depths(parents: tuple[int, ...]) -> list[int]:
    depth: list[int] = []
    for p in parents:
        depth.append(0 if p < 0 else depth[p] + 1)
    return depth


class TreeEncoder(nn.Module):
    """Pose-NDF's hierarchical per-joint encoder: ``h_j = mlp_j([x_j, h_parent(j)])`` along ``parents``.

    Each joint has its own two-layer MLP (``in + F -> in + F -> F``, activation after both, as Pose-NDF's
    ``BoneMLP``); joints attached to the root get a zero parent feature (the ``F`` weights that would read it are
    zero and get no gradient). The joints of one tree depth are evaluated together by a batched matmul.

    Args:
        parents: ``K`` parent indices, each ``-1`` or before its joint.
        in_features: size of each joint's input.
        features: ``F``.
        activation: module class of the nonlinearity.

    Shapes: ``forward(x (B, K, in)) -> (B, K, F)``, joint ``j``'s feature at ``[:, j]``.
    """

    def __init__(self, parents: tuple[int, ...], in_features: int, features: int, activation: type[nn.Module]):
        super().__init__()
        K, F, D = len(parents), features, in_features
        H = D + F
        depth = _depths(parents)
        order = sorted(range(K), key=lambda j: (depth[j], j))
        slot = {j: i + 1 for i, j in enumerate(order)}  # position in the feature stack; slot 0 is the zero feature
        self.levels: list[tuple[list[int], list[int]]] = []
        self.w1, self.b1, self.w2, self.b2 = (nn.ParameterList() for _ in range(4))
        for level in range(max(depth) + 1):
            joints = [j for j in order if depth[j] == level]
            self.levels.append((joints, [slot[parents[j]] if parents[j] >= 0 else 0 for j in joints]))
            n = len(joints)
            fan_in = torch.tensor([D if parents[j] < 0 else D + F for j in joints], dtype=torch.float32)
            bound1 = fan_in.rsqrt()[:, None]  # nn.Linear's initialisation, per joint
            w1 = (torch.rand(n, D + F, H) * 2 - 1) * bound1[:, :, None]
            w1[[i for i, j in enumerate(joints) if parents[j] < 0], D:] = 0
            self.w1.append(nn.Parameter(w1))
            self.b1.append(nn.Parameter((torch.rand(n, 1, H) * 2 - 1) * bound1[:, :, None]))
            self.w2.append(nn.Parameter((torch.rand(n, H, F) * 2 - 1) / math.sqrt(H)))
            self.b2.append(nn.Parameter((torch.rand(n, 1, F) * 2 - 1) / math.sqrt(H)))
        self.act = activation()
        self.register_buffer("inverse", torch.tensor([slot[j] - 1 for j in range(K)]), persistent=False)
        self.num_unused = sum(F * H for p in parents if p < 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xt = x.transpose(0, 1)  # (K, B, in): joints first, for batched matmuls over a level's joints
        stack = xt.new_zeros(1, x.shape[0], self.w2[0].shape[-1])  # (slots, B, F)
        for (joints, parent_slots), w1, b1, w2, b2 in zip(
            self.levels, self.w1, self.b1, self.w2, self.b2, strict=False
        ):
            inp = torch.cat([xt[joints], stack[parent_slots]], -1)
            h = self.act(torch.baddbmm(b1, inp, w1))
            stack = torch.cat([stack, self.act(torch.baddbmm(b2, h, w2))])
        return stack[1:][self.inverse].transpose(0, 1)


def _mlp(sizes: list[int], activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def _tangent(R: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """``df/domega (..., 3)`` at ``omega = 0`` for ``f(R exp(omega))``, from the matrix gradient ``G = df/dR``."""
    A = R.transpose(-1, -2) @ G
    A = A - A.transpose(-1, -2)
    return torch.stack([A[..., 2, 1], A[..., 0, 2], A[..., 1, 0]], -1)


class DistanceFieldPrior(ConfiguredJoints, nn.Module):
    """Neural distance field over ``K`` joint rotations; see the module docstring.

    Args:
        config: the architecture, losses and projection.
        centers: ``(K, 3, 3)`` per-joint mean rotations (input centring, and the sampler's centres).
        seed_loc: ``(K, 3)`` mean of the training rotation vectors ``log(C_j^T R_j)`` (the sampler's seeds).
        seed_scale_tril: ``(K, 3, 3)`` lower Cholesky factors of their per-joint covariances.
        input_loc, input_scale: ``(K, D)`` and ``(K, 1)``, the standardisation of the per-joint inputs.
    """

    def __init__(
        self,
        config: DistanceFieldConfig,
        centers: torch.Tensor | None = None,
        seed_loc: torch.Tensor | None = None,
        seed_scale_tril: torch.Tensor | None = None,
        input_loc: torch.Tensor | None = None,
        input_scale: torch.Tensor | None = None,
    ):
        super().__init__()
        K = config.num_joints
        self.config = config
        self.parents = config.parents or tuple(range(-1, K - 1))
        act = ACTIVATIONS[config.activation]
        self.encoder = TreeEncoder(self.parents, FEATURES[config.features], config.encoder_features, act)
        self.head = _mlp([K * config.encoder_features, *config.hidden, 1], act)
        eye = torch.eye(3).expand(K, 3, 3)
        self.register_buffer("centers", eye.clone() if centers is None else centers.detach().float().clone())
        self.register_buffer("seed_loc", torch.zeros(K, 3) if seed_loc is None else seed_loc.detach().float().clone())
        tril = 0.3 * eye if seed_scale_tril is None else seed_scale_tril.detach().float()
        self.register_buffer("seed_scale_tril", tril.clone())
        D = FEATURES[config.features]
        x_loc = torch.zeros(K, D) if input_loc is None else input_loc.detach().float()
        x_scale = torch.ones(K, 1) if input_scale is None else input_scale.detach().float()
        self.register_buffer("input_loc", x_loc.clone())
        self.register_buffer("input_scale", x_scale.clone())

    @classmethod
    def from_data(cls, config: DistanceFieldConfig, rotations: torch.Tensor) -> DistanceFieldPrior:
        """An untrained field with the per-joint centres (chordal means), the input standardisation and the
        sampler's per-joint Gaussian fitted to training ``rotations (N, K, 3, 3)``."""
        K = config.num_joints
        if not isinstance(rotations, torch.Tensor) or rotations.ndim != 4 or rotations.shape[1:] != (K, 3, 3):
            shape = tuple(getattr(rotations, "shape", ()))
            raise ValidationError(f"rotations: expected shape (N, {K}, 3, 3), got {shape}")
        if rotations.shape[0] < 2:
            raise ValidationError(f"rotations: need at least 2 poses, got {rotations.shape[0]}")
        R = rotations.double()
        centers = roma.special_procrustes(R.mean(0))
        v = roma.rotmat_to_rotvec(centers.transpose(-1, -2) @ R)  # (N, K, 3)
        loc = v.mean(0)
        cov = torch.einsum("nki,nkj->kij", v - loc, v - loc) / v.shape[0]
        tril = torch.linalg.cholesky(cov + 1e-8 * torch.eye(3, dtype=cov.dtype))
        prior = cls(config, centers, loc, tril)
        with torch.no_grad():
            x = prior._inputs(rotations.float())  # unstandardised: the buffers are still 0 and 1
            prior.input_loc.copy_(x.mean(0))
            # one scale per joint keeps its input isotropic; the floor keeps a joint that barely moves from
            # turning small perturbations into huge inputs
            prior.input_scale.copy_((x - x.mean(0)).square().sum(-1, keepdim=True).mean(0).sqrt().clamp_min(0.05))
        return prior

    def num_parameters(self) -> int:
        """Trainable parameters, less the encoder's always-zero weights of root joints' absent parent feature."""
        return sum(p.numel() for p in self.parameters()) - self.encoder.num_unused

    # -- the field --------------------------------------------------------------------------------------------

    def _check(self, R: object, name: str = "R", validate: bool = False) -> torch.Tensor:
        K = self.num_joints
        if not isinstance(R, torch.Tensor) or R.ndim < 3 or R.shape[-3:] != (K, 3, 3):
            shape = tuple(getattr(R, "shape", ()))
            raise ValidationError(f"{name}: expected shape (..., {K}, 3, 3) for this {K}-joint prior, got {shape}")
        if validate:
            check_rotations(R, name, tol=1e-3)
        return R.to(self.centers.dtype)

    def _inputs(self, R: torch.Tensor) -> torch.Tensor:
        Rc = self.centers.transpose(-1, -2) @ R
        if self.config.features == "quaternion":
            q = roma.rotmat_to_unitquat(Rc)
            x = torch.where(q[..., 3:] < 0, -q, q)
        else:
            x = (Rc - torch.eye(3, dtype=R.dtype, device=R.device)).flatten(-2)
        return (x - self.input_loc) / self.input_scale

    def joint_features(self, R: torch.Tensor) -> torch.Tensor:
        """The encoder's per-joint features ``(B, K, F)`` of poses ``R (B, K, 3, 3)``."""
        return self.encoder(self._inputs(self._check(R)))

    def _raw(self, R: torch.Tensor) -> torch.Tensor:
        """The network's output ``(B,)`` for ``R (B, K, 3, 3)``, before the clamp at 0."""
        return self.head(self.encoder(self._inputs(R)).flatten(1)).squeeze(-1)

    def _raw_and_gradient(self, R: torch.Tensor, create_graph: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """``raw (B,)`` and its Riemannian gradient ``(B, K, 3)`` (see the module docstring) at ``R (B, K, 3, 3)``."""
        R = R.detach().requires_grad_(True)
        with torch.enable_grad():
            raw = self._raw(R)
            (G,) = torch.autograd.grad(raw.sum(), R, create_graph=create_graph)
        return raw, math.sqrt(self.num_joints) * _tangent(R, G)

    def distance(self, R: torch.Tensor, validate: bool = True) -> torch.Tensor:
        """The field ``(...)``: RMS per-joint angle in radians from ``R (..., K, 3, 3)`` to the training poses,
        as learnt; differentiable.

        Args:
            R: local joint rotations.
            validate: check that ``R`` holds rotations (a clear error instead of a silent wrong number).
        """
        R = self._check(R, validate=validate)
        return self._raw(R.reshape(-1, *R.shape[-3:])).clamp_min(0).reshape(R.shape[:-3])

    def energy(self, R: torch.Tensor) -> torch.Tensor:
        """``distance(R)`` ``(...)``, radians (RMS per-joint angle to the training poses); differentiable."""
        return self.distance(R, validate=False)

    def project(self, R: torch.Tensor, steps: int | None = None, tol: float | None = None) -> torch.Tensor:
        """Poses ``(..., K, 3, 3)`` moved onto the field's zero set from ``R (..., K, 3, 3)``, detached.

        Args:
            R: local joint rotations.
            steps: the most steps per pose (default ``config.project_steps``).
            tol: a pose stops once its distance is at most ``tol`` radians (default ``config.project_tol``).
        """
        steps = self.config.project_steps if steps is None else steps
        tol = self.config.project_tol if tol is None else tol
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValidationError(f"steps: expected a non-negative integer, got {steps!r}")
        if not tol >= 0:
            raise ValidationError(f"tol: expected a non-negative distance, got {tol!r}")
        R0 = self._check(R, validate=True)
        X = R0.detach().reshape(-1, *R0.shape[-3:]).clone()
        active = torch.arange(X.shape[0], device=X.device)
        for _ in range(steps):
            if active.numel() == 0:
                break
            raw, g = self._raw_and_gradient(X[active], create_graph=False)
            f = raw.detach().clamp_min(0)
            moving = f > tol
            active, f, g = active[moving], f[moving], g[moving]
            scale = f * math.sqrt(self.num_joints)
            if self.config.newton:
                scale = scale / g.flatten(1).square().sum(1).clamp_min(_MIN_GRAD**2)
            X[active] = X[active] @ roma.rotvec_to_rotmat(-scale[:, None, None] * g)
        return X.reshape(R0.shape).to(R.dtype)

    @torch.no_grad()
    def draw_seeds(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` starting poses ``(n, K, 3, 3)`` of :meth:`sample`: the stored per-joint Gaussian, unprojected."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValidationError(f"n: expected a non-negative number of samples, got {n!r}")
        eps = torch.randn(n, self.num_joints, 3, 1, generator=generator).to(self.seed_loc)
        v = self.seed_loc + (self.seed_scale_tril @ eps).squeeze(-1)
        return self.centers @ roma.rotvec_to_rotmat(v)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` poses ``(n, K, 3, 3)``: :meth:`draw_seeds`, projected by :meth:`project`."""
        return self.project(self.draw_seeds(n, generator))

    # -- training ---------------------------------------------------------------------------------------------

    def training_pairs(
        self,
        rotations: torch.Tensor,
        num_pairs: int,
        reference: torch.Tensor | None = None,
        noise_deg: tuple[float, ...] = DEFAULT_NOISE_DEG,
        seed: int = 0,
    ) -> dict[str, torch.Tensor]:
        """Labelled pairs for :meth:`loss` (:func:`~poseprior.models.ndf_data.distance_pairs`): ``num_pairs``
        poses, one share per noise level of ``noise_deg`` around ``rotations (N, K, 3, 3)`` and one share of
        :meth:`draw_seeds`, labelled against ``reference`` (default ``rotations``: the training poses)."""
        g = torch.Generator().manual_seed(seed)
        n_seeds = num_pairs // (len(noise_deg) + 1)
        seeds = self.draw_seeds(n_seeds, g).cpu()
        return distance_pairs(rotations, num_pairs - n_seeds, reference, noise_deg, extra=seeds, generator=g)

    def _terms(
        self, batch: dict[str, torch.Tensor], create_graph: bool
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None]:
        """The loss terms of a batch, the raw output ``(B,)`` and (when computed) its gradient ``(B, 3K)``."""
        cfg = self.config
        for key in ("rotations", "distance", "nearest"):
            if key not in batch:
                raise ValidationError(f"batch: missing {key!r} (build batches with training_pairs)")
        R, Y = self._check(batch["rotations"]), self._check(batch["nearest"])
        d = batch["distance"].to(self.centers.dtype)
        g = None
        if cfg.eikonal_weight > 0 or cfg.gradient_weight > 0 or not create_graph:
            raw, g = self._raw_and_gradient(R, create_graph=create_graph)
        else:
            raw = self._raw(R)
        err = raw - d
        terms = {"distance": err.abs().mean() if cfg.loss == "l1" else err.square().mean()}
        terms["manifold"] = self._raw(Y).abs().mean()
        if g is not None:
            omega = roma.rotmat_to_rotvec(R.transpose(-1, -2) @ Y).flatten(1)  # log_x(y), (B, 3K)
            norm = omega.norm(dim=1, keepdim=True)
            far = (norm.squeeze(1) > 1e-6).to(omega.dtype)  # at a training pose the direction is undefined
            g = g.flatten(1)
            terms["eikonal"] = (g.norm(dim=1) - 1).square().mean()
            miss = (g + omega / norm.clamp_min(1e-6)).square().sum(1)
            terms["gradient"] = (miss * far).sum() / far.sum().clamp_min(1)
        return terms, raw, g

    def _objective(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        cfg = self.config
        total = terms["distance"] + cfg.manifold_weight * terms["manifold"]
        if cfg.eikonal_weight > 0:
            total = total + cfg.eikonal_weight * terms["eikonal"]
        if cfg.gradient_weight > 0:
            total = total + cfg.gradient_weight * terms["gradient"]
        return total

    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """The training loss (module docstring) of a batch of :meth:`training_pairs` rows:
        ``{"rotations": (B, K, 3, 3), "distance": (B,), "nearest": (B, K, 3, 3)}``."""
        return self._objective(self._terms(batch, create_graph=True)[0])

    @torch.no_grad()
    def validation_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Means over a batch of :meth:`training_pairs` rows (labelled against the training poses).

        Keys: ``loss`` (the training loss, the headline: lower is better), its terms ``distance``, ``manifold``,
        ``eikonal``, ``gradient``; ``distance_mae`` (mean ``|f(x) - d|``, radians), ``manifold_distance`` (mean
        ``f`` on the nearest training poses, radians) and ``gradient_norm`` (mean ``|grad f|``, 1 for a true field).
        """
        terms, raw, g = self._terms(batch, create_graph=False)
        d = batch["distance"].to(raw.dtype)
        out = {k: v.item() for k, v in terms.items()}
        out["loss"] = self._objective(terms).item()
        out["distance_mae"] = (raw.clamp_min(0) - d).abs().mean().item()
        out["manifold_distance"] = self._raw(self._check(batch["nearest"])).clamp_min(0).mean().item()
        out["gradient_norm"] = g.flatten(1).norm(dim=1).mean().item()
        return out
