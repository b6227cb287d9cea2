"""``VAEPrior``: a variational autoencoder over the rotations of ``K`` joints (VPoser's design, any skeleton).

Pavlakos et al., "Expressive Body Capture: 3D Hands, Face, and Body from a Single Image" (CVPR 2019), trained
VPoser, a VAE (Kingma and Welling, ICLR 2014) over SMPL's 21 body joints: an MLP encoder of the pose to a
diagonal Gaussian ``q(z | R)`` over a 32-dimensional latent, a standard normal prior ``p(z)``, and an MLP
decoder from ``z`` to one rotation per joint through the continuous 6D representation (Zhou et al., "On the
Continuity of Rotation Representations in Neural Networks", CVPR 2019: two 3-vectors, orthonormalised by
Gram-Schmidt, :func:`roma.special_gramschmidt`). This module builds the same model for any ``K`` joints.

Architectures (``VAEConfig.architecture``):

- ``"vposer"``: VPoser V02's networks (human_body_prior, ``vposer_model.py``), hidden width ``h``:
  encoder ``BatchNorm1d(in) -> Linear(in, h) -> LeakyReLU -> BatchNorm1d(h) -> Dropout -> Linear(h, h) ->
  Linear(h, h) -> (Linear(h, d) = mean, softplus(Linear(h, d)) = std)``; decoder ``Linear(d, h) -> LeakyReLU
  -> Dropout -> Linear(h, h) -> LeakyReLU -> Linear(h, 6K) -> 6D -> rotation``. :meth:`VAEConfig.vposer_v02`
  is the reference configuration (axis-angle input as VPoser's, h = 512, d = 32, dropout 0.1; 936,252
  parameters for 21 joints, 931,632 for bandai-v1's 20).
- ``"mlp"``: ``layers`` blocks ``Linear -> SiLU`` on each side (dropout after each when ``dropout > 0``),
  no BatchNorm, the input standardised by fixed statistics of the training data (:meth:`VAEPrior.from_data`).

The defaults, ``VAEConfig(K)``: ``"mlp"`` on rotation matrices, width 512, 2 layers, latent 32 (729,272
parameters for 20 joints), loss weights 2 / 10 / 0.01 and denoising training up to 40 degrees. Measured on
bandai-v1 val after 3.5 minutes of single-thread training each (batch 512), defaults vs the VPoser V02
reference: reconstruction 4.5 vs 3.4 degrees per joint (20 vs 16 mm), the price of denoising; poses with 10 /
40 degrees of noise projected to 4.9 / 8.3 vs 18.8 / 25.4 degrees from the clean ones; 2,000 samples 6.0 vs
6.6 degrees from their nearest val pose, val poses 6.4 vs 6.5 degrees from their nearest sample.

Input features (``VAEConfig.input``): ``"rotmat"`` (the ``9K`` matrix entries, continuous), ``"sixd"``
(``6K``) or ``"rotvec"`` (``3K`` axis-angle, VPoser's; discontinuous at angle pi).

Training loss (:meth:`VAEPrior.loss`), per pose, averaged over the batch, with ``z ~ q(z | R)`` by
reparameterisation:

    rotation_weight * mean_j angle(R_j, R^_j)                       (radians; VPoser's geodesic loss)
  + position_weight * mean_j |p_j - p^_j|                           (metres, forward kinematics on the skeleton)
  + kl_weight * w(step) * KL(q(z | R) || N(0, I))                   (nats, summed over the latent)

where ``R^ = decode(z)``, ``p = forward_kinematics(skeleton, R)`` with the root at its rest position (only when
``config.joints`` has offsets), and ``w`` ramps linearly from 0 to 1 over ``kl_warmup`` training steps. With
``input_noise_deg > 0`` the encoder sees a noisy copy of ``R`` and the terms compare with the clean ``R`` (a
denoising VAE, Im et al., AAAI 2017), so that :meth:`~VAEPrior.project` removes noise instead of encoding it:
measured on bandai-v1 val, VPoser's plain training projects poses with 10 degrees of noise to 19 degrees from
the clean ones.

Energy (:meth:`VAEPrior.energy`), dimensionless (nats of an unnormalised density), lower is more plausible:

    E(R) = 0.5 |mu(R)|^2 + sum_j |R_j - R^_j|_F^2 / (4 sigma^2),    R^ = decode(mu(R)),  sigma = energy_sigma_deg

i.e. the negative log of the standard normal prior at the encoder's mean plus an isotropic Gaussian of std
``sigma`` on each joint's reconstruction residual: ``|R - R^|_F^2 / 4 = 2 sin^2(theta / 2)`` equals
``theta^2 / 2`` to second order in the residual angle ``theta`` and, unlike ``theta^2``, is smooth everywhere.
A pose the decoder reproduces exactly, with a typical latent, has energy about ``d / 2``. Measured with the
defaults after 8 minutes of training: median 11 on bandai-v1 val poses, 590 with 40 degrees of noise.

Inference behaviour: :meth:`~VAEPrior.encode`, :meth:`~VAEPrior.decode`, :meth:`~VAEPrior.energy`,
:meth:`~VAEPrior.project`, :meth:`~VAEPrior.sample` and :meth:`~VAEPrior.interpolate` always run the networks
as in eval mode (BatchNorm's running statistics, no dropout), whether the module is in train or eval mode, so
they are deterministic and independent of the batch; only :meth:`~VAEPrior.loss` follows ``self.training``.

Example:
    >>> prior = VAEPrior(VAEConfig(num_joints=3, hidden=32, latent=4))
    >>> R = prior.sample(5)
    >>> prior.energy(R).shape, prior.project(R).shape, prior.interpolate(R[0], R[1], 7).shape
    (torch.Size([5]), torch.Size([5, 3, 3, 3]), torch.Size([7, 3, 3, 3]))
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import roma
import torch
import torch.nn.functional as F
from torch import nn

from poseprior.errors import ValidationError
from poseprior.geometry import check_rotations, matrix_to_sixd
from poseprior.metrics import mpjpe
from poseprior.models.prior import ConfiguredJoints, PoseJoints
from poseprior.skeleton import posed_joints

__all__ = ["VAEConfig", "VAEPrior", "ARCHITECTURES", "INPUTS"]

#: Values of :attr:`VAEConfig.architecture`.
ARCHITECTURES = ("vposer", "mlp")
#: Values of :attr:`VAEConfig.input`: features per joint 9, 6 and 3.
INPUTS = {"rotmat": 9, "sixd": 6, "rotvec": 3}


@dataclass(frozen=True)
class VAEConfig:
    """Architecture, losses and energy scale of a :class:`VAEPrior` (see the module docstring).

    Attributes:
        num_joints: ``K``.
        architecture: ``"vposer"`` (VPoser V02's networks) or ``"mlp"``.
        input: encoder features, ``"rotmat"``, ``"sixd"`` or ``"rotvec"``.
        hidden: width of the hidden layers.
        layers: ``"mlp"`` only: hidden layers of the encoder and of the decoder (``"vposer"`` has its own).
        latent: dimension ``d`` of the latent code.
        dropout: dropout probability (``"vposer"``: after the encoder's second BatchNorm and the decoder's
            first activation, as VPoser; ``"mlp"``: after every activation).
        rotation_weight: weight of the mean geodesic reconstruction error (radians per joint).
        position_weight: weight of the mean joint position error (metres) through forward kinematics; unused
            when ``joints`` has no offsets.
        kl_weight: weight of the KL divergence (nats summed over the latent).
        kl_warmup: training steps over which the KL weight ramps up linearly from 0 (0: none).
        input_noise_deg: denoising training: the encoder sees each training pose with random noise on every
            joint, of RMS angle drawn uniformly in ``[0, input_noise_deg]`` per pose (degrees), and the decoder
            must reconstruct the clean pose; 0 for VPoser's plain autoencoding.
        energy_sigma_deg: ``sigma`` of the energy's reconstruction term, degrees.
        joints: joint names and skeleton (:class:`~poseprior.models.prior.PoseJoints`); generic names if None.
    """

    num_joints: int
    architecture: str = "mlp"
    input: str = "rotmat"
    hidden: int = 512
    layers: int = 2
    latent: int = 32
    dropout: float = 0.0
    rotation_weight: float = 2.0
    position_weight: float = 10.0
    kl_weight: float = 0.01
    kl_warmup: int = 0
    input_noise_deg: float = 40.0
    energy_sigma_deg: float = 5.0
    joints: PoseJoints | None = None

    def __post_init__(self) -> None:
        for name in ("num_joints", "hidden", "layers", "latent"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValidationError(f"{name}: expected a positive integer, got {v!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValidationError(f"architecture: expected one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.input not in INPUTS:
            raise ValidationError(f"input: expected one of {tuple(INPUTS)}, got {self.input!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValidationError(f"dropout: expected a probability in [0, 1), got {self.dropout!r}")
        for name in ("rotation_weight", "position_weight", "kl_weight"):
            if not getattr(self, name) >= 0.0:
                raise ValidationError(f"{name}: expected a non-negative weight, got {getattr(self, name)!r}")
        if isinstance(self.kl_warmup, bool) or not isinstance(self.kl_warmup, int) or self.kl_warmup < 0:
            raise ValidationError(f"kl_warmup: expected a non-negative number of steps, got {self.kl_warmup!r}")
        if not self.input_noise_deg >= 0.0:
            raise ValidationError(f"input_noise_deg: expected a non-negative angle, got {self.input_noise_deg!r}")
        if not self.energy_sigma_deg > 0.0:
            raise ValidationError(f"energy_sigma_deg: expected a positive angle, got {self.energy_sigma_deg!r}")
        if self.joints is not None and len(self.joints.names) != self.num_joints:
            raise ValidationError(f"joints: expected {self.num_joints} joint names, got {len(self.joints.names)}")

    @classmethod
    def vposer_v02(cls, num_joints: int, **overrides) -> VAEConfig:
        """VPoser V02 (human_body_prior): its networks, axis-angle input, width 512, latent 32, dropout 0.1,
        and its loss weights (geodesic 2, joints 2, KL 0.005; VPoser's joint loss is an L1 in metres, here
        the mean Euclidean distance). ``overrides`` replace fields (e.g. ``joints=...``)."""
        base = cls(
            num_joints,
            architecture="vposer",
            input="rotvec",
            hidden=512,
            latent=32,
            dropout=0.1,
            rotation_weight=2.0,
            position_weight=2.0,
            kl_weight=0.005,
            input_noise_deg=0.0,
        )
        return replace(base, **overrides)

    def to_dict(self) -> dict:
        return {**asdict(self), "joints": self.joints and self.joints.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> VAEConfig:
        d = dict(d)
        d["joints"] = PoseJoints.from_dict(d["joints"]) if d.get("joints") else None
        return cls(**d)


class _Gaussian(nn.Module):
    """VPoser's ``NormalDistDecoder``: mean and softplus standard deviation of ``q(z | R)``."""

    def __init__(self, width: int, latent: int):
        super().__init__()
        self.mu = nn.Linear(width, latent)
        self.logvar = nn.Linear(width, latent)  # VPoser's name; it goes through a softplus, not an exp

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # A floor keeps log(std) in the KL finite.
        return self.mu(h), F.softplus(self.logvar(h)) + 1e-6


def _run(net: nn.Sequential, x: torch.Tensor, train: bool) -> torch.Tensor:
    """``net(x)`` with BatchNorm and Dropout in train or inference behaviour as asked, whatever the module's
    mode (so inference methods need not flip the module's state)."""
    for layer in net:
        if isinstance(layer, nn.BatchNorm1d):
            x = F.batch_norm(
                x, layer.running_mean, layer.running_var, layer.weight, layer.bias, train, layer.momentum, layer.eps
            )
        elif isinstance(layer, nn.Dropout):
            x = F.dropout(x, layer.p, train)
        else:
            x = layer(x)
    return x


def _networks(config: VAEConfig) -> tuple[nn.Sequential, nn.Sequential]:
    """The encoder (features -> (mean, std)) and decoder (latent -> 6K) of ``config``."""
    n_in, h, d, p, K = (
        INPUTS[config.input] * config.num_joints,
        config.hidden,
        config.latent,
        config.dropout,
        config.num_joints,
    )
    if config.architecture == "vposer":
        encoder = nn.Sequential(
            nn.BatchNorm1d(n_in), nn.Linear(n_in, h), nn.LeakyReLU(), nn.BatchNorm1d(h), nn.Dropout(p),
            nn.Linear(h, h), nn.Linear(h, h), _Gaussian(h, d),
        )  # fmt: skip
        decoder = nn.Sequential(
            nn.Linear(d, h), nn.LeakyReLU(), nn.Dropout(p), nn.Linear(h, h), nn.LeakyReLU(), nn.Linear(h, 6 * K)
        )
        return encoder, decoder

    def blocks(width_in: int) -> list[nn.Module]:
        out: list[nn.Module] = []
        for i in range(config.layers):
            out += [nn.Linear(width_in if i == 0 else h, h), nn.SiLU()] + ([nn.Dropout(p)] if p > 0 else [])
        return out

    return nn.Sequential(*blocks(n_in), _Gaussian(h, d)), nn.Sequential(*blocks(d), nn.Linear(h, 6 * K))


class VAEPrior(ConfiguredJoints, nn.Module):
    """VAE pose prior over ``K`` joint rotations; see the module docstring.

    Args:
        config: architecture, losses, energy scale, joints.
        input_loc, input_scale: standardisation of the encoder's input features (``(F,)`` each, ``F = 9K``,
            ``6K`` or ``3K``); zeros and ones unless given (:meth:`from_data` fits them).

    Example:
        >>> prior = VAEPrior(VAEConfig(num_joints=2, hidden=16, latent=3))
        >>> q = prior.encode(prior.sample(4))
        >>> q.mean.shape, prior.decode(q.mean).shape
        (torch.Size([4, 3]), torch.Size([4, 2, 3, 3]))
    """

    def __init__(
        self, config: VAEConfig, input_loc: torch.Tensor | None = None, input_scale: torch.Tensor | None = None
    ):
        super().__init__()
        if not isinstance(config, VAEConfig):
            raise ValidationError(f"config: expected a VAEConfig, got {type(config).__name__}")
        self.config = config
        n_in = INPUTS[config.input] * config.num_joints
        self.register_buffer(
            "input_loc", torch.zeros(n_in) if input_loc is None else input_loc.detach().float().clone()
        )
        self.register_buffer(
            "input_scale", torch.ones(n_in) if input_scale is None else input_scale.detach().float().clone()
        )
        if self.input_loc.shape != (n_in,) or self.input_scale.shape != (n_in,):
            raise ValidationError(f"input_loc, input_scale: expected shape ({n_in},) each for {config.input!r} input")
        # Training steps seen by loss(): drives the KL warm-up and is saved with the weights, so resumes continue it.
        self.register_buffer("kl_step", torch.zeros((), dtype=torch.long))
        self.encoder, self.decoder = _networks(config)
        self._skeleton = config.joints.skeleton if config.joints is not None else None

    @classmethod
    def from_data(cls, config: VAEConfig, rotations: torch.Tensor) -> VAEPrior:
        """A prior whose input standardisation is the mean and standard deviation (floored at 0.01) of the
        features of training ``rotations (N, K, 3, 3)``. The ``"vposer"`` networks' first BatchNorm makes it
        redundant there (its output does not change), so the two architectures train from the same call."""
        K = config.num_joints
        if not isinstance(rotations, torch.Tensor) or rotations.ndim != 4 or rotations.shape[1:] != (K, 3, 3):
            raise ValidationError(
                f"rotations: expected shape (N, {K}, 3, 3), got {tuple(getattr(rotations, 'shape', ()))}"
            )
        if rotations.shape[0] < 2:
            raise ValidationError(f"rotations: need at least 2 poses, got {rotations.shape[0]}")
        check_rotations(rotations, "rotations", tol=1e-3)
        x = _features(rotations.float(), config.input)
        return cls(config, x.mean(0), x.std(0).clamp_min(0.01))

    # -- the protocol -----------------------------------------------------------------------------------------

    @property
    def latent_dim(self) -> int:
        return self.config.latent

    def num_parameters(self) -> int:
        """Trainable parameters (BatchNorm's running statistics and the standardisation are not)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def _check(self, R: torch.Tensor, name: str = "R", validate: bool = False) -> torch.Tensor:
        K = self.num_joints
        if not isinstance(R, torch.Tensor) or R.ndim < 3 or R.shape[-3:] != (K, 3, 3):
            raise ValidationError(
                f"{name}: expected shape (..., {K}, 3, 3) for this {K}-joint prior, got {tuple(getattr(R, 'shape', ()))}"
            )
        if validate:
            check_rotations(R, name, tol=1e-3)
        return R.to(self.input_loc.dtype)

    def _encode(self, R: torch.Tensor, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std ``(..., d)`` of ``q(z | R)`` for ``R (..., K, 3, 3)``."""
        x = (_features(R, self.config.input) - self.input_loc) / self.input_scale
        mu, std = _run(self.encoder, x.reshape(-1, x.shape[-1]), train)
        return mu.reshape(*x.shape[:-1], -1), std.reshape(*x.shape[:-1], -1)

    def _decode(self, z: torch.Tensor, train: bool) -> torch.Tensor:
        out = _run(self.decoder, z.reshape(-1, z.shape[-1]), train)
        # VPoser's layout: each joint's 6 numbers are a 3x2 matrix, row-major, whose columns are orthonormalised.
        R = roma.special_gramschmidt(out.reshape(-1, self.num_joints, 3, 2), epsilon=1e-8)
        return R.reshape(*z.shape[:-1], self.num_joints, 3, 3)

    def encode(self, R: torch.Tensor, validate: bool = True) -> torch.distributions.Normal:
        """The posterior ``q(z | R)``: a :class:`torch.distributions.Normal` with mean and std ``(..., d)``.

        Args:
            R: ``(..., K, 3, 3)`` local joint rotations.
            validate: check that ``R`` holds rotations.
        """
        mu, std = self._encode(self._check(R, validate=validate), train=False)
        return torch.distributions.Normal(mu, std, validate_args=False)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Rotations ``(..., K, 3, 3)`` from latent codes ``z (..., d)``; differentiable."""
        d = self.config.latent
        if not isinstance(z, torch.Tensor) or z.ndim < 1 or z.shape[-1] != d:
            raise ValidationError(
                f"z: expected shape (..., {d}) for this prior's {d}-dimensional latent, got {tuple(getattr(z, 'shape', ()))}"
            )
        return self._decode(z.to(self.input_loc.dtype), train=False)

    def to_latent(self, R: torch.Tensor) -> torch.Tensor:
        """The posterior means ``(..., d)`` of poses ``R (..., K, 3, 3)``; differentiable."""
        return self._encode(self._check(R), train=False)[0]

    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """:meth:`decode`: poses ``(..., K, 3, 3)`` of codes ``z (..., d)``."""
        return self.decode(z)

    def energy(self, R: torch.Tensor) -> torch.Tensor:
        """Energy ``(...)`` of ``R (..., K, 3, 3)``: ``0.5 |mu(R)|^2 + sum_j |R_j - R^_j|_F^2 / (4 sigma^2)``,
        dimensionless (see the module docstring); lower is more plausible; differentiable in ``R``."""
        R = self._check(R)
        mu, _ = self._encode(R, train=False)
        residual = (self._decode(mu, train=False) - R).square().sum((-1, -2, -3))
        return 0.5 * mu.square().sum(-1) + residual / (4 * math.radians(self.config.energy_sigma_deg) ** 2)

    def project(self, R: torch.Tensor) -> torch.Tensor:
        """``decode(mean of q(z | R))`` ``(..., K, 3, 3)``: the poses reconstructed through the latent's mean,
        one pass through both networks, in ``R``'s dtype."""
        mu, _ = self._encode(self._check(R, validate=True), train=False)
        return self._decode(mu, train=False).to(R.dtype)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` poses ``(n, K, 3, 3)``: decoded draws ``z ~ N(0, temperature^2 I)`` (below 1: more typical poses).

        Args:
            n: number of poses.
            temperature: standard deviation of the latent draws.
            generator: a CPU generator for reproducible draws.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValidationError(f"n: expected a non-negative number of samples, got {n!r}")
        if not temperature >= 0:
            raise ValidationError(f"temperature: expected a non-negative number, got {temperature!r}")
        z = torch.randn(n, self.config.latent, generator=generator, dtype=self.input_loc.dtype) * temperature
        return self._decode(z.to(self.input_loc.device), train=False)

    def interpolate(self, R0: torch.Tensor, R1: torch.Tensor, steps: int) -> torch.Tensor:
        """Poses ``(steps, ..., K, 3, 3)`` decoded along the straight line between the latent means of ``R0``
        and ``R1`` (``(..., K, 3, 3)`` each, batch dimensions broadcast); the ends are :meth:`project` of each."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise ValidationError(f"steps: expected an integer >= 2 (both ends included), got {steps!r}")
        z0 = self._encode(self._check(R0, "R0", validate=True), train=False)[0]
        z1 = self._encode(self._check(R1, "R1", validate=True), train=False)[0]
        try:
            z0, z1 = torch.broadcast_tensors(z0, z1)
        except RuntimeError:
            raise ValidationError(
                f"R0 {tuple(R0.shape)} and R1 {tuple(R1.shape)}: batch dimensions do not broadcast"
            ) from None
        t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device).reshape(steps, *[1] * z0.ndim)
        return self._decode(z0 + t * (z1 - z0), train=False)

    # -- training (the Trainable protocol of poseprior.train.loop) --------------------------------------------

    def _terms(self, R: torch.Tensor, generator: torch.Generator | None, train: bool) -> dict[str, torch.Tensor]:
        """Batch means of the loss terms (``rotation`` rad, ``position`` m, ``kl`` nats) for ``R (B, K, 3, 3)``."""
        mu, std = self._encode(self._noisy(R, generator), train)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        R_hat = self._decode(mu + std * eps, train)
        terms = {
            # Clamped below 1 inside the arcsin: an infinite derivative at exactly 180 degrees would poison the step.
            "rotation": roma.rotmat_geodesic_distance(R_hat, R, clamping=1 - 1e-6).mean(),
            "kl": 0.5 * (mu.square() + std.square() - 1 - 2 * std.log()).sum(-1).mean(),
        }
        if self._skeleton is not None:
            p, p_hat = self._positions_mm(R), self._positions_mm(R_hat)
            # A floor of 1e-3 mm under the norm: the joints below the root never move (zero distance, no gradient).
            terms["position"] = ((p - p_hat).square().sum(-1) + 1e-6).sqrt().mean() / 1000
        return terms

    def _noisy(self, R: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """``R (B, K, 3, 3)`` with the training input noise (``config.input_noise_deg``), or ``R`` without."""
        if self.config.input_noise_deg == 0:
            return R
        level = torch.rand(R.shape[0], 1, 1, generator=generator, dtype=R.dtype, device=R.device)
        v = torch.randn(*R.shape[:-2], 3, generator=generator, dtype=R.dtype, device=R.device)
        # Isotropic rotation vectors of RMS angle level * input_noise_deg: sqrt(3) coordinates share it.
        return R @ roma.rotvec_to_rotmat(v * level * math.radians(self.config.input_noise_deg) / math.sqrt(3))

    def _positions_mm(self, R: torch.Tensor) -> torch.Tensor:
        """Positions ``(..., K, 3)`` in mm of the pose joints, the root (identity rotation) at its rest offset."""
        p, _ = posed_joints(self._skeleton, R, root_translation=self._skeleton.offsets[0].to(R))
        return p[..., 1:, :] * self.config.joints.unit_mm

    def _kl_weight(self, warm: bool) -> float:
        c = self.config
        if not warm or c.kl_warmup == 0:
            return c.kl_weight
        return c.kl_weight * min(1.0, (int(self.kl_step) + 1) / c.kl_warmup)

    def _objective(self, terms: dict[str, torch.Tensor], warm: bool) -> torch.Tensor:
        c = self.config
        loss = c.rotation_weight * terms["rotation"] + self._kl_weight(warm) * terms["kl"]
        if "position" in terms:
            loss = loss + c.position_weight * terms["position"]
        return loss

    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """The training loss (module docstring) of ``batch["rotations"] (B, K, 3, 3)``, a scalar.

        BatchNorm and dropout follow ``self.training``; ``generator`` (on the parameters' device) draws the
        latent noise. In training mode with gradients on, each call counts one step of the KL warm-up.
        """
        R = self._check(batch["rotations"], 'batch["rotations"]')
        counting = self.training and torch.is_grad_enabled()
        loss = self._objective(self._terms(R, generator, self.training), warm=counting)
        if counting:
            self.kl_step += 1
        return loss

    @torch.no_grad()
    def validation_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Means over ``batch["rotations"] (B, K, 3, 3)``:

        - ``loss``: the training loss at the full KL weight, in inference mode, latent noise from a fixed seed
          (so evaluations compare);
        - ``kl``: its KL term, nats;
        - ``geodesic_deg``: angle between each joint and its :meth:`project` reconstruction, degrees;
        - ``mpjpe_mm``: joint position error of that reconstruction, mm (when the skeleton is known).
        """
        R = self._check(batch["rotations"], 'batch["rotations"]')
        g = torch.Generator(device=R.device).manual_seed(0)
        terms = self._terms(R, g, train=False)
        R_hat = self._decode(self._encode(R, train=False)[0], train=False)
        out = {
            "loss": self._objective(terms, warm=False).item(),
            "kl": terms["kl"].item(),
            "geodesic_deg": torch.rad2deg(roma.rotmat_geodesic_distance(R_hat, R)).mean().item(),
        }
        if self._skeleton is not None:
            out["mpjpe_mm"] = mpjpe(self._positions_mm(R_hat), self._positions_mm(R)).item()
        return out


def _features(R: torch.Tensor, kind: str) -> torch.Tensor:
    """Encoder features ``(..., F)`` of ``R (..., K, 3, 3)``."""
    if kind == "rotmat":
        return R.flatten(-3)
    if kind == "sixd":
        return matrix_to_sixd(R).flatten(-2)
    return roma.rotmat_to_rotvec(R).flatten(-2)
