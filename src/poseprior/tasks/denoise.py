"""Motion denoising with any pose prior: every frame of a noisy motion optimised at once.

Pose-NDF's motion denoising (Tiwari et al., "Pose-NDF: Modeling Human Pose Manifolds with Neural Distance
Fields", ECCV 2022): a data term keeps the motion near the noisy input, a temporal term makes it smooth, the
prior's energy makes each frame plausible. :func:`denoise_motion` minimises, over the local rotations
``R (T, K, 3, 3)`` of the prior's ``K`` joints (picked from the motion by name), the sum over frames ``t`` of

    sum_j |R_tj - R^_tj|_F^2 / (4 s_rot^2)                      rotations near the input R^ (~ theta^2 / 2 s_rot^2)
  + sum_i |p_ti - p^_ti|^2 / (2 s_pos^2)                        joint positions near the input's p^
  + sum_i |p_t+1,i - 2 p_ti + p_t-1,i|^2 fps^4 / (2 s_acc^2)    small joint accelerations
  + sum_j |R_t+1,j - 2 R_tj + R_t-1,j|_F^2 fps^4 / (4 s_ang^2)  small local angular accelerations
  + prior_weight * E(R_t)                                       the prior's energy

with ``p`` the forward kinematics of the motion's own skeleton, root trajectory and animated translations (all
its joints, mm converted to the motion's unit). Each term but the last is the negative log of a Gaussian
(nats), so the ``s_*`` read as noise levels: ``s_rot`` the input's rotation noise per axis (degrees), ``s_pos``
its position noise (mm), ``s_acc`` (m/s^2) and ``s_ang`` (rad/s^2) the spread of a clean motion's accelerations.
The angular term is what smooths joints whose rotation moves no other joint (bandai's Head, Hands and Toes end
in zero-length end sites); ``|dR|_F^2 / 2`` is the squared angle to second order.

Adaptive smoothness: one acceleration scale cannot suit both a bow (clean bandai takes: 0.4 m/s^2 of mean
acceleration per joint) and a dash (18 m/s^2). With :attr:`DenoiseConfig.adaptive` ``kappa``, the variances
vary per frame and joint, ``s_acc^2 + kappa^2 a^2(t, i)``, where ``a^2`` is the mean square acceleration, over
a Gaussian window in time, of the input filtered enough to remove most of the noise: an empirical-Bayes
estimate of how fast that joint moves there (likewise for ``s_ang``). Measured on 12 bandai val takes without a
prior: with a fixed scale, either slow takes kept their jitter (``s_acc`` 5 m/s^2: 4 takes above 1.5 times the
clean take's jitter, up to 4.7 times) or fast ones were over-smoothed (2 m/s^2 and 5 rad/s^2: 23% of the noise's
MPJPE removed on a dash); adaptive, every take is within 1.1 times, and 48% is removed on the worst one.

Optimisation: rotations are parametrised as ``R0 @ exp(delta)`` (``roma.rotvec_to_rotmat``), ``R0`` the input
filtered over time (:func:`smooth_rotations`, :attr:`DenoiseConfig.init_smoothing_s`), and ``delta (T, K, 3)`` is
optimised by L-BFGS for all frames at once: a 120-frame take is one batch of 120 poses through the prior per
evaluation. Only the prior's joints change: the root's trajectory, the rotation of the joints above the pose
(the global orientation: ``Hips`` in bandai-v1, which the priors do not model) and any joint outside the prior
(fingers...) are kept as given. Without a prior (``prior=None``) every joint below the skeleton's root is
denoised, by the data and smoothness terms alone.

Prior weights: energies have different units (the flow's ``-log p`` in nats, and sharp: about -300 on clean
bandai poses, +3,000 with 5 degrees of noise; the VAE's dimensionless energy, about 12; the distance field's
radians, about 0.01), so :attr:`DenoiseConfig.prior_weights` holds one weight per prior class, chosen on
bandai-v1 **validation** takes (never test) with 20 degrees RMS noise per joint, as :data:`MEASURED_ON` says.
``prior_weight`` overrides the table (needed for a prior class not in it). At 20 degrees of white noise per
frame the temporal terms do most of the work; the priors improve the result by a few percent (see
``benchmarks/denoise.py``).

Example:
    >>> from poseprior.skeleton import Skeleton
    >>> from poseprior.io import Motion
    >>> sk = Skeleton(("root", "a", "b"), (-1, 0, 1), torch.tensor([[0.0, 0, 0], [0, 10, 0], [0, 10, 0]]))
    >>> T = 30
    >>> R = roma.rotvec_to_rotmat(0.3 * torch.randn(T, 3, 3, dtype=torch.float64))
    >>> noisy = Motion(sk, R, torch.zeros(T, 3, dtype=torch.float64), fps=30.0)
    >>> clean = denoise_motion(noisy, config=DenoiseConfig(steps=20))
    >>> clean.rotations.shape
    torch.Size([30, 3, 3, 3])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import check_rotations, nearest_rotation
from poseprior.io import Motion
from poseprior.models.prior import PosePrior, match_prior_joints
from poseprior.skeleton import Skeleton, forward_kinematics
from poseprior.tasks.pose_variables import minimise

__all__ = [
    "DenoiseConfig",
    "denoise_motion",
    "denoise_blocks",
    "add_rotation_noise",
    "prior_joint_indices",
    "smooth_rotations",
    "MEASURED_ON",
    "OPTIMIZERS",
]

#: How the defaults of :class:`DenoiseConfig` were chosen.
MEASURED_ON = (
    "bandai-v1 validation takes (the first 12 of splits.json's 'val', 1,837 frames at 30 fps as captured), the 20 "
    "pose joints' rotations perturbed by Gaussian rotation vectors of 20/sqrt(3) degrees per axis (20 degrees RMS "
    "angle), fixed seeds: benchmarks/denoise.py --split val --takes 12 --sweep ...; per prior, the weight "
    "minimising MPJPE + geodesic error, each relative to no prior"
)

#: Optimisers of :attr:`DenoiseConfig.optimizer`.
OPTIMIZERS = ("adam", "lbfgs")


def _default_prior_weights() -> dict[str, float]:
    # Chosen as MEASURED_ON says, with the other defaults (`benchmarks/denoise.py --split val --sweep`; the
    # sweep's numbers are in docs/benchmarks.md, "Motion denoising").
    return {"UniformPrior": 0.0, "FlowPrior": 0.03, "VAEPrior": 0.01, "DistanceFieldPrior": 50.0}


@dataclass(frozen=True)
class DenoiseConfig:
    """Settings of :func:`denoise_motion` (the terms are in the module docstring); defaults measured as
    :data:`MEASURED_ON` says.

    Attributes:
        steps: optimiser iterations: L-BFGS objective evaluations (at most), or Adam steps.
        lr: Adam's step size, radians of rotation vector per step (cosine-decayed to 0); unused by L-BFGS.
        optimizer: ``"lbfgs"`` (strong Wolfe line search) or ``"adam"``. L-BFGS is the default: the smoothness terms
            couple the frames, and Adam's per-coordinate steps spread a correction slowly along time (Adam
            ended further from the clean motion in a development check on bandai-v1 val; no published run).
        init_smoothing_s: the optimisation starts from the input filtered over time by a Gaussian of this
            standard deviation, seconds (:func:`smooth_rotations`), None from the input itself. An
            over-smoothed start converges fastest: near-static takes need heavy smoothing, which L-BFGS takes
            about 1,000 evaluations to reach from a 2-frame filter and 150 from 0.3 s, while the detail of fast
            motion, which the data supports, comes back within those 150.
        rotation_sigma_deg: ``s_rot``, the input's assumed rotation noise per axis, degrees; None drops the term.
        position_sigma_mm: ``s_pos``, the input's assumed joint position noise, mm; None drops the term.
        acceleration_sigma: ``s_acc``, m/s^2, the joint acceleration scale (with ``adaptive``, its floor);
            None drops the term.
        angular_acceleration_sigma: ``s_ang``, rad/s^2, the same for local angular accelerations.
        adaptive: ``kappa``: each frame's and joint's acceleration variance is ``s^2 + kappa^2 a^2``, with
            ``a^2`` the local mean square acceleration of the input filtered over ``adaptive_estimate_s``
            (module docstring); None: the fixed ``s``.
        adaptive_estimate_s: standard deviation of that filter, seconds.
        adaptive_window_s: standard deviation of the Gaussian window of the local mean, seconds.
        prior_weight: weight of the prior's energy; None takes it from ``prior_weights`` by the prior's class.
        prior_weights: prior class name -> weight of its energy, chosen on bandai-v1 val (the sweep is in
            docs/benchmarks.md): ``FlowPrior`` 0.03 (the flow's ``-log p`` is very sharp, so a nat counts for
            little, and heavier weights stall L-BFGS), ``VAEPrior`` 0.01 (no measurable gain; heavier weights
            drift the poses towards the decoder's reconstructions), ``DistanceFieldPrior`` 50 (0.02 rad of distance weighs
            1 nat), ``UniformPrior`` 0. A class not in the table needs ``prior_weight``.
        block_s: a longer motion is denoised in blocks of this many seconds (memory stays that of one block:
            a 200,000-frame take needs no more than a minute of it), each optimised on its own, ...
        overlap_s: ... overlapping by this many seconds, where the two blocks' results are blended linearly
            (slerp): the smoothness terms pull a block's ends, which the neighbour's overlap then replaces.
    """

    steps: int = 150
    lr: float = 0.05
    optimizer: str = "lbfgs"
    init_smoothing_s: float | None = 0.3
    rotation_sigma_deg: float | None = 11.5
    position_sigma_mm: float | None = 100.0
    acceleration_sigma: float | None = 0.5
    angular_acceleration_sigma: float | None = 15.0
    adaptive: float | None = 1.0
    adaptive_estimate_s: float = 0.2
    adaptive_window_s: float = 0.25
    prior_weight: float | None = None
    prior_weights: dict[str, float] = field(default_factory=_default_prior_weights)
    block_s: float = 60.0
    overlap_s: float = 2.0

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise ValidationError(f"steps: expected a non-negative integer, got {self.steps!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValidationError(f"lr: expected a positive step size, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValidationError(f"optimizer: expected one of {OPTIMIZERS}, got {self.optimizer!r}")
        optional = (
            "init_smoothing_s",
            "rotation_sigma_deg",
            "position_sigma_mm",
            "acceleration_sigma",
            "angular_acceleration_sigma",
            "adaptive",
        )
        for name in (*optional, "adaptive_estimate_s", "adaptive_window_s"):
            value = getattr(self, name)
            if (value is not None or name not in optional) and not (
                isinstance(value, (int, float)) and 0 < value < math.inf
            ):
                none = " or None" if name in optional else ""
                raise ValidationError(f"{name}: expected a positive number{none}, got {value!r}")
        if not (
            isinstance(self.block_s, (int, float))
            and isinstance(self.overlap_s, (int, float))
            and 0 < self.overlap_s < self.block_s / 2 < math.inf
        ):
            raise ValidationError(
                f"block_s, overlap_s: expected 0 < overlap_s < block_s / 2, got {self.block_s!r}, {self.overlap_s!r}"
            )
        if self.rotation_sigma_deg is None and self.position_sigma_mm is None:
            raise ValidationError(
                "rotation_sigma_deg, position_sigma_mm: at least one data term is needed (both are None)"
            )
        if self.prior_weight is not None and not (
            isinstance(self.prior_weight, (int, float)) and 0 <= self.prior_weight < math.inf
        ):
            raise ValidationError(f"prior_weight: expected a non-negative number or None, got {self.prior_weight!r}")
        if not isinstance(self.prior_weights, dict) or any(
            not (isinstance(w, (int, float)) and 0 <= w < math.inf) for w in self.prior_weights.values()
        ):
            raise ValidationError(
                f"prior_weights: expected a dict of prior class name -> non-negative weight, got {self.prior_weights!r}"
            )

    def weight_for(self, prior: PosePrior | None) -> float:
        """The weight of ``prior``'s energy: ``prior_weight``, else the table's entry for its class."""
        if prior is None:
            return 0.0
        if self.prior_weight is not None:
            return float(self.prior_weight)
        kind = type(prior).__name__
        if kind not in self.prior_weights:
            raise ValidationError(
                f"prior_weight: no measured weight for a {kind}'s energy (known: {', '.join(self.prior_weights)}); "
                "energies have different units, so set DenoiseConfig(prior_weight=...)"
            )
        return float(self.prior_weights[kind])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DenoiseConfig:
        return cls(**d)


def add_rotation_noise(
    motion: Motion, joints: list[int], noise_deg: float, generator: torch.Generator | None = None
) -> Motion:
    """``motion`` with each listed joint's local rotation times ``exp(omega)``, ``omega ~ N(0, s^2 I)`` per
    frame and joint, ``s = noise_deg / sqrt(3)`` radians per axis (``noise_deg``: the RMS rotation angle,
    degrees). The denoising benchmark's corruption; other joints and the root trajectory stay clean.

    Example:
        >>> noisy = add_rotation_noise(motion, prior_joint_indices(motion.skeleton, prior), 20.0)  # doctest: +SKIP
    """
    sigma = math.radians(noise_deg) / math.sqrt(3)
    omega = torch.randn(motion.num_frames, len(joints), 3, generator=generator, dtype=torch.float64) * sigma
    R = motion.rotations.clone()
    R[:, joints] = R[:, joints] @ roma.rotvec_to_rotmat(omega).to(R)
    return replace(motion, rotations=R)


def prior_joint_indices(skeleton: Skeleton, prior: PosePrior, source: str = "motion") -> list[int]:
    """Indices in ``skeleton`` of the prior's ``K`` joints, matched by name, in the prior's order.

    Raises :class:`ValidationError`, starting with ``source`` (the argument or file), naming the missing
    joints, or a joint whose parent in ``skeleton`` is not its parent in the prior (its local rotation would
    not mean the same).

    Example:
        >>> from poseprior.models.baseline import UniformPrior
        >>> from poseprior.models.prior import PoseJoints
        >>> sk = Skeleton(("root", "a", "b"), (-1, 0, 1), torch.zeros(3, 3))
        >>> prior_joint_indices(sk, UniformPrior(1, PoseJoints(("b",), (-1,), root="a")))
        [2]
    """
    return match_prior_joints(prior, skeleton.joint_names, skeleton.parents, source)


def denoise_motion(
    motion: Motion,
    prior: PosePrior | None = None,
    *,
    config: DenoiseConfig = DenoiseConfig(),
    on_step: Callable[[int, int], None] | None = None,
) -> Motion:
    """The motion with its prior joints' rotations denoised (see the module docstring).

    Args:
        motion: ``T`` frames; the prior's joints are picked from its skeleton by name.
        prior: any :class:`PosePrior` (``UniformPrior``: smoothing only), or None to denoise every joint below
            the root without a prior.
        config: a :class:`DenoiseConfig`.
        on_step: called as ``on_step(step, steps)`` after each optimiser step (a progress bar).

    Returns:
        A new :class:`Motion`: same skeleton, root trajectory, frame rate, unit and metadata; float64 rotations.
    """
    if not isinstance(motion, Motion):
        raise ValidationError(f"motion: expected a poseprior.io.Motion, got {type(motion).__name__}")
    if not isinstance(config, DenoiseConfig):
        raise ValidationError(f"config: expected a DenoiseConfig, got {type(config).__name__}")
    if prior is not None and not isinstance(prior, PosePrior):
        raise ValidationError(
            f"prior: expected a PosePrior (energy, sample, project) or None, got {type(prior).__name__}"
        )
    # A Motion validates at construction, but its tensors can be written in place afterwards.
    check_rotations(motion.rotations, "motion.rotations", tol=1e-3)
    skeleton, T = motion.skeleton, motion.num_frames
    if T == 0:
        raise ValidationError("motion: has no frames")
    joints = list(range(1, skeleton.num_joints)) if prior is None else prior_joint_indices(skeleton, prior)
    if not joints:
        raise ValidationError("motion: its skeleton has no joint below the root to denoise")
    weight = config.weight_for(prior)
    blocks = denoise_blocks(T, motion.fps, config)
    if len(blocks) == 1:
        return replace(motion, rotations=_denoise_block(motion, prior, joints, weight, config, on_step))
    total = config.steps * len(blocks)
    R_out = motion.rotations.clone()
    done = 0  # frames of R_out already final
    for k, block in enumerate(blocks):

        def progress(i: int, n: int, k: int = k) -> None:
            if on_step is not None:
                on_step(k * config.steps + i, total)

        R = _denoise_block(motion.frames(block), prior, joints, weight, config, progress)
        overlap = done - block.start  # frames shared with the previous block: blend from it to this one
        if overlap > 0:
            w = (torch.arange(1, overlap + 1, dtype=torch.float64) / (overlap + 1))[:, None]
            previous = R_out[block.start : done, joints]
            R_out[block.start : done, joints] = _slerp(previous, R[:overlap, joints], w)
        R_out[done : block.stop] = R[max(overlap, 0) :]
        done = block.stop
    return replace(motion, rotations=R_out)


def denoise_blocks(T: int, fps: float, config: DenoiseConfig) -> list[slice]:
    """The frame blocks :func:`denoise_motion` optimises one at a time: one block up to ``config.block_s``
    seconds, else blocks of that length spread evenly over the motion, overlapping by at least
    ``config.overlap_s`` seconds."""
    size = max(3, round(config.block_s * fps))
    if T <= size:
        return [slice(0, T)]
    overlap = max(1, round(config.overlap_s * fps))
    n = math.ceil((T - overlap) / (size - overlap))
    starts = [round(i * (T - size) / (n - 1)) for i in range(n)]
    return [slice(a, a + size) for a in starts]


def _slerp(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Rotations ``a`` turned towards ``b`` (both ``(F, J, 3, 3)``) by weight ``w (F, 1)``."""
    delta = roma.rotmat_to_rotvec(a.transpose(-1, -2) @ b)
    return a @ roma.rotvec_to_rotmat(delta * w[..., None].to(delta))


def _denoise_block(
    motion: Motion,
    prior: PosePrior | None,
    joints: list[int],
    weight: float,
    config: DenoiseConfig,
    on_step: Callable[[int, int], None] | None,
) -> torch.Tensor:
    """``(T, K, 3, 3)`` float64: the motion's rotations with joints ``joints`` denoised in one optimisation."""
    skeleton, T = motion.skeleton, motion.num_frames
    params = list(prior.parameters()) if isinstance(prior, torch.nn.Module) else []
    device = params[0].device if params else torch.device("cpu")
    dtype = params[0].dtype if params and params[0].is_floating_point() else torch.float32
    as_opt = dict(device=device, dtype=dtype)
    # The start R0, in float64 on the CPU: the result is R0 @ exp(delta) composed there, orthonormal to the
    # Motion's tolerance whatever the optimisation's dtype.
    start = motion.rotations[:, joints]
    if config.init_smoothing_s is not None:
        start = smooth_rotations(start, config.init_smoothing_s * motion.fps)
    R_in = motion.rotations.to(**as_opt)
    root = motion.root_translation.to(**as_opt)
    translations = None if motion.translations is None else motion.translations.to(**as_opt)
    idx = torch.tensor(joints, device=device)
    R_obs, R0 = R_in[:, idx], start.to(**as_opt)
    with torch.no_grad():
        p_in = forward_kinematics(skeleton, R_in, root, translations)[0]

    mm_per_unit, fps = motion.unit, motion.fps
    c_rot = 0.0 if config.rotation_sigma_deg is None else 0.25 / math.radians(config.rotation_sigma_deg) ** 2
    c_pos = 0.0 if config.position_sigma_mm is None else 0.5 / (config.position_sigma_mm / mm_per_unit) ** 2
    s_acc = None if config.acceleration_sigma is None else config.acceleration_sigma * 1000.0 / mm_per_unit
    s_ang = config.angular_acceleration_sigma
    smooth = T >= 3 and (s_acc is not None or s_ang is not None)
    # Variances of the accelerations, per frame and joint: the floor s^2, plus with `adaptive` the local
    # mean square acceleration of a smoothed input (units^2/s^4, rad^2/s^4).
    var_acc = var_ang = None
    if smooth:
        var_acc = None if s_acc is None else torch.full((T - 2, skeleton.num_joints), s_acc**2, **as_opt)
        var_ang = None if s_ang is None else torch.full((T - 2, len(joints)), s_ang**2, **as_opt)
        if config.adaptive is not None:
            with torch.no_grad():
                est = smooth_rotations(motion.rotations[:, joints], config.adaptive_estimate_s * fps).to(**as_opt)
                window = config.adaptive_window_s * fps
                if var_ang is not None:
                    var_ang += (
                        config.adaptive**2
                        * _gaussian_filter(_second_difference(est).square().sum((-1, -2)) / 2, window)
                        * fps**4
                    )
                if var_acc is not None:
                    p_est = forward_kinematics(skeleton, R_in.index_copy(1, idx, est), root, translations)[0]
                    var_acc += (
                        config.adaptive**2
                        * _gaussian_filter(_second_difference(p_est).square().sum(-1), window)
                        * fps**4
                    )
    need_positions = c_pos > 0 or var_acc is not None
    delta = torch.zeros(T, len(joints), 3, **as_opt, requires_grad=True)

    def objective() -> torch.Tensor:
        R = R0 @ roma.rotvec_to_rotmat(delta)
        total = torch.zeros((), **as_opt)
        if c_rot > 0:
            total = total + c_rot * (R - R_obs).square().sum()
        if var_ang is not None:
            # |d2R|_F^2 / 2 ~ angle^2: Gaussian of variance var_ang on the angular acceleration.
            total = total + (_second_difference(R).square().sum((-1, -2)) * fps**4 / (4 * var_ang)).sum()
        if need_positions:
            p = forward_kinematics(skeleton, R_in.index_copy(1, idx, R), root, translations)[0]
            if c_pos > 0:
                total = total + c_pos * (p - p_in).square().sum()
            if var_acc is not None:
                total = total + (_second_difference(p).square().sum(-1) * fps**4 / (2 * var_acc)).sum()
        if weight > 0:
            total = total + weight * prior.energy(R).sum()
        return total

    # L-BFGS at its natural step 1, one evaluation per counted step (the progress bar's unit).
    lr = config.lr if config.optimizer == "adam" else 1.0
    minimise(objective, [delta], config.steps, lr, config.optimizer, max_eval=config.steps, on_step=on_step)
    R_out = motion.rotations.clone()
    R_out[:, joints] = start @ roma.rotvec_to_rotmat(delta.detach().to("cpu", torch.float64))
    if not torch.isfinite(R_out).all():
        raise ValidationError(
            "prior: the optimisation diverged (non-finite rotations); lower config.lr or prior_weight"
        )
    return R_out


def _second_difference(x: torch.Tensor) -> torch.Tensor:
    """``x[t+1] - 2 x[t] + x[t-1]`` over dim 0: ``(T - 2, ...)``."""
    return x[2:] - 2 * x[1:-1] + x[:-2]


def _gaussian_filter(x: torch.Tensor, sigma_frames: float) -> torch.Tensor:
    """``x (T, ...)`` filtered over dim 0 by a Gaussian of ``sigma_frames`` (weights renormalised at the ends)."""
    T = x.shape[0]
    radius = max(1, int(math.ceil(3 * sigma_frames)))
    kernel = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device) / sigma_frames) ** 2)
    # A sum of shifted copies rather than conv1d: conv1d unfolds the signal once per tap (2.2 GB for a
    # 60 s block at 120 fps, a 217-tap kernel and 20 joints); this holds two copies of it.
    padded = torch.nn.functional.pad(x.reshape(1, T, -1), (0, 0, radius, radius))[0]
    inside = torch.nn.functional.pad(torch.ones(1, T, 1, dtype=x.dtype, device=x.device), (0, 0, radius, radius))[0]
    total, weight = torch.zeros_like(padded[:T]), torch.zeros_like(inside[:T])
    for i, k in enumerate(kernel):
        total += k * padded[i : i + T]
        weight += k * inside[i : i + T]
    return (total / weight).reshape(x.shape)


def smooth_rotations(R: torch.Tensor, sigma_frames: float) -> torch.Tensor:
    """Rotations ``(T, ..., 3, 3)`` filtered over time (dim 0) by a Gaussian of ``sigma_frames``: the weighted
    chordal mean of each window (weights renormalised at the ends), projected back onto SO(3) by
    :func:`roma.special_procrustes`.

    Example:
        >>> R = roma.rotvec_to_rotmat(torch.tensor([[0.0, 0, 0.1], [0, 0, 0.5], [0, 0, 0.1]]))
        >>> angle = roma.rotmat_to_rotvec(smooth_rotations(R, 1.0))[:, 2]
        >>> bool(angle[1] < 0.5 and angle[0] > 0.1)  # the spike is spread out
        True
    """
    if sigma_frames <= 0 or R.shape[0] < 2:
        return R
    return nearest_rotation(_gaussian_filter(R, sigma_frames))
