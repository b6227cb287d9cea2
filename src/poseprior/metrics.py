"""Pose metrics: joint position errors (MPJPE, PA-MPJPE, N-MPJPE), joint angle errors, the best-of-N /
diversity metrics of multi-hypothesis estimation, and the jitter of a motion.

Millimetres:
    Position metrics take millimetres and report millimetres, the unit papers report. Nothing is converted
    (a result is in the unit of its inputs), so convert first: a :class:`~poseprior.io.Motion` gives
    ``motion.positions(millimetres=True)``. Angle metrics report degrees.

Shapes and reduction:
    A *sample* is one pose: ``(..., J, 3)`` positions or ``(..., J, 3, 3)`` rotations, with any batch
    dimensions ``...``. Every metric first computes one value per sample (a mean over its valid joints);
    ``reduction="none"`` returns those values, shape ``(...)``; ``reduction="mean"`` (the default) returns
    their mean over the samples, a scalar.

Masks:
    ``mask`` is ``(..., J)`` (it broadcasts, so ``(J,)`` applies to every sample), boolean or numeric with
    nonzero meaning valid. Masked-out joints may hold anything, NaN included; they do not enter the value
    nor its gradient. A sample with no valid joint has value NaN under ``reduction="none"`` and is left out
    of ``reduction="mean"``; a mask that leaves no valid joint anywhere is an error.

Example:
    >>> import torch
    >>> target = torch.zeros(2, 17, 3)
    >>> mpjpe(target + torch.tensor([3.0, 4.0, 0.0]), target)  # every joint 5 mm off
    tensor(5.)
"""

from __future__ import annotations

from typing import Literal

import torch

from poseprior.errors import ValidationError, describe_type
from poseprior.geometry.alignment import check_point_pair, procrustes_align
from poseprior.geometry.rotations import geodesic_distance

__all__ = ["mpjpe", "pa_mpjpe", "n_mpjpe", "geodesic_error", "mpjae", "best_of_n", "mean_of_n", "apd", "jitter"]

Reduction = Literal["mean", "none"]


def mpjpe(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    align_root: int | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Mean per-joint position error: the Euclidean distance between predicted and true joints, in mm.

    Args:
        pred: ``(..., J, 3)`` predicted joint positions, mm.
        target: ``(..., J, 3)`` true joint positions, mm, same shape.
        mask: optional ``(..., J)`` valid joints (see the module notes).
        align_root: a joint index; when given both poses are first translated so that this joint is at the
            origin (root-relative MPJPE, Human3.6M protocol 1 with the pelvis). That joint must be valid
            in every sample.
        reduction: ``"mean"`` (scalar, mean over samples) or ``"none"`` (``(...)``, one value per sample).

    Returns:
        Per sample the mean over valid joints of ``|pred_j - target_j|``; averaged over samples unless
        ``reduction="none"``.

    Reference: Ionescu et al., "Human3.6M: Large Scale Datasets and Predictive Methods for 3D Human Sensing
    in Natural Environments", TPAMI 2014.

    Example:
        >>> mpjpe(torch.tensor([[0.0, 0, 0], [1, 0, 0]]), torch.tensor([[0.0, 0, 0], [0, 0, 0]]))
        tensor(0.5000)
    """
    _check_reduction(reduction)
    check_point_pair(pred, target)
    valid = _check_mask(mask, pred.shape[:-1])
    pred, target = _clear_masked(pred, valid), _clear_masked(target, valid)
    if align_root is not None:
        pred, target = _root_relative(pred, target, align_root, valid)
    return _reduce(_joint_distances(pred, target), valid, reduction)


def pa_mpjpe(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Procrustes-aligned MPJPE: the MPJPE after moving each predicted pose onto its target by the best
    similarity transform (rotation, translation and scale; never a reflection), in mm.

    Arguments are those of :func:`mpjpe` (no ``align_root``: the alignment includes a translation). The
    alignment fits the valid joints only. Also called reconstruction error, or Human3.6M protocol 2.

    Reference: Umeyama, "Least-squares estimation of transformation parameters between two point
    patterns", TPAMI 1991, for the alignment (:func:`poseprior.geometry.alignment.procrustes`).

    Example:
        >>> x = torch.randn(17, 3)
        >>> bool(pa_mpjpe(3 * x + 1, x) < 1e-4)
        True
    """
    _check_reduction(reduction)
    check_point_pair(pred, target)
    valid = _check_mask(mask, pred.shape[:-1])
    pred, target = _clear_masked(pred, valid), _clear_masked(target, valid)
    weights = None
    if valid is not None:
        # A sample with no valid joint gets uniform weights: its value is NaN anyway, and the solver needs a
        # positive total weight.
        weights = valid | ~valid.any(-1, keepdim=True)
    aligned = procrustes_align(pred, target, weights, scale=True)
    return _reduce(_joint_distances(aligned, target), valid, reduction)


def n_mpjpe(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    align_root: int | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Normalized MPJPE: the MPJPE after scaling each predicted pose by the least-squares optimal factor
    ``s = sum_j <pred_j, target_j> / sum_j |pred_j|^2`` (over valid joints), in mm.

    The scaling is about the origin, as in the reference implementation, so poses should be root-relative:
    pass them so, or give ``align_root`` (applied before the scale is fitted). Other arguments are those of
    :func:`mpjpe`. A prediction that is all zeros gets ``s = 0``.

    Reference: Rhodin et al., "Unsupervised Geometry-Aware Representation for 3D Human Pose Estimation",
    ECCV 2018.

    Example:
        >>> x = torch.randn(17, 3)
        >>> bool(n_mpjpe(0.5 * x, x) < 1e-5)
        True
    """
    _check_reduction(reduction)
    check_point_pair(pred, target)
    valid = _check_mask(mask, pred.shape[:-1])
    pred, target = _clear_masked(pred, valid), _clear_masked(target, valid)
    if align_root is not None:
        pred, target = _root_relative(pred, target, align_root, valid)
    # Masked-out joints are zero here, so they drop out of both sums.
    num = (pred * target).sum(dim=(-1, -2), keepdim=True)
    den = (pred * pred).sum(dim=(-1, -2), keepdim=True)
    scale = num / den.clamp_min(torch.finfo(den.dtype).tiny)
    return _reduce(_joint_distances(scale * pred, target), valid, reduction)


def geodesic_error(R_pred: torch.Tensor, R_target: torch.Tensor, degrees: bool = True) -> torch.Tensor:
    """Per-joint rotation error ``(..., J)``: the angle of ``R_pred^T R_target``, in degrees (radians with
    ``degrees=False``), in ``[0, 180]``.

    Args:
        R_pred: ``(..., J, 3, 3)`` predicted rotations.
        R_target: ``(..., J, 3, 3)`` true rotations, same shape.

    Example:
        >>> from poseprior.geometry import rotvec_to_matrix
        >>> geodesic_error(rotvec_to_matrix(torch.tensor([[0.0, 0.0, torch.pi / 2]])), torch.eye(3)[None])
        tensor([90.])
    """
    _check_rotation_pair(R_pred, R_target)
    return geodesic_distance(R_pred, R_target, degrees=degrees)


def mpjae(
    R_pred: torch.Tensor, R_target: torch.Tensor, mask: torch.Tensor | None = None, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Mean per-joint angle error: the geodesic distance between predicted and true rotations, in degrees.

    Args:
        R_pred: ``(..., J, 3, 3)`` predicted rotations, local or global (the metric does not care; say which
            when reporting it: errors of global rotations accumulate along the tree).
        R_target: ``(..., J, 3, 3)`` true rotations, same shape.
        mask: optional ``(..., J)`` valid joints (see the module notes).
        reduction: ``"mean"`` or ``"none"`` as in :func:`mpjpe`.

    Returns:
        Per sample the mean over valid joints of :func:`geodesic_error`; averaged over samples unless
        ``reduction="none"``.

    Reference: Huang et al., "Deep Inertial Poser: Learning to Reconstruct Human Pose from Sparse Inertial
    Measurements in Real Time", SIGGRAPH Asia 2018 (joint angle error).

    Example:
        >>> mpjae(torch.eye(3).expand(4, 3, 3), torch.eye(3).expand(4, 3, 3))
        tensor(0.)
    """
    _check_reduction(reduction)
    _check_rotation_pair(R_pred, R_target)
    valid = _check_mask(mask, R_pred.shape[:-2])
    if valid is not None:
        eye = torch.eye(3, dtype=R_pred.dtype, device=R_pred.device)
        keep = valid[..., None, None]
        R_pred, R_target = torch.where(keep, R_pred, eye), torch.where(keep, R_target, eye)
    return _reduce(geodesic_distance(R_pred, R_target, degrees=True), valid, reduction)


def best_of_n(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    align_root: int | None = None,
    procrustes: bool = False,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Best-of-N (minimum) MPJPE of ``N`` hypotheses: per sample the smallest MPJPE over the hypotheses, in mm.

    Args:
        pred: ``(..., N, J, 3)`` hypotheses, mm.
        target: ``(..., J, 3)`` the true pose of each sample, mm.
        mask: optional ``(..., J)`` valid joints of the target.
        align_root: as in :func:`mpjpe`.
        procrustes: use PA-MPJPE (:func:`pa_mpjpe`) for each hypothesis instead of MPJPE; excludes ``align_root``.
        reduction: ``"mean"`` or ``"none"`` as in :func:`mpjpe`.

    Returns:
        ``min_n MPJPE(pred[..., n, :, :], target)``, shape ``(...)`` under ``reduction="none"``, else its mean
        over samples. The minimum is taken per sample, never over a whole batch.

    Reference: Jahangiri and Yuille, "Generating Multiple Diverse Hypotheses for Human 3D Pose Consistent with
    2D Joint Detections", ICCV Workshops 2017; Li and Lee, "Generating Multiple Hypotheses for 3D Human Pose
    Estimation with Mixture Density Network", CVPR 2019.

    Example:
        >>> target = torch.zeros(17, 3)
        >>> best_of_n(torch.stack([target + 10, target + 1]), target)  # the second hypothesis wins
        tensor(1.7321)
    """
    errors, valid = _per_hypothesis(pred, target, mask, align_root, procrustes, reduction)
    return _reduce_samples(errors.amin(-1), valid, reduction)


def mean_of_n(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    align_root: int | None = None,
    procrustes: bool = False,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Mean MPJPE over ``N`` hypotheses: per sample the average of the hypotheses' MPJPE, in mm.

    Arguments and shapes are those of :func:`best_of_n`; this is what a user picking a hypothesis at random
    would see, next to best-of-N's oracle choice.

    Example:
        >>> target = torch.zeros(17, 3)
        >>> mean_of_n(torch.stack([target + 3, target + 1]), target)  # (3*sqrt(3) + sqrt(3)) / 2
        tensor(3.4641)
    """
    errors, valid = _per_hypothesis(pred, target, mask, align_root, procrustes, reduction)
    return _reduce_samples(errors.mean(-1), valid, reduction)


def apd(hypotheses: torch.Tensor, reduction: Reduction = "mean") -> torch.Tensor:
    """Average pairwise distance between ``N`` hypotheses of the same pose: a measure of diversity, in mm.

    For each sample ``APD = 1 / (N (N - 1)) * sum_{m != n} 1/J sum_j |h_m,j - h_n,j|``: the MPJPE between two
    hypotheses, averaged over all ordered pairs of distinct hypotheses (equivalently over unordered pairs).

    Note: the motion-prediction literature (Yuan and Kitani, "DLow: Diversifying Latent Flows for Diverse
    Human Motion Prediction", ECCV 2020) defines APD with the Euclidean norm of the whole flattened pose
    instead of a mean of per-joint distances; that value is larger (roughly ``sqrt(J)`` times) and not
    comparable with this one.

    Args:
        hypotheses: ``(..., N, J, 3)`` with ``N >= 2``, mm. Memory grows as ``N^2 J`` per sample.
        reduction: ``"mean"`` (scalar, mean over samples) or ``"none"`` (``(...)``).

    Example:
        >>> h = torch.zeros(3, 17, 3)
        >>> h[1, :, 0] = 6.0  # hypotheses 0 and 2 coincide, 1 is 6 mm away from both
        >>> apd(h)  # (6 + 6 + 0) / 3
        tensor(4.)
    """
    _check_reduction(reduction)
    if not isinstance(hypotheses, torch.Tensor) or not hypotheses.is_floating_point():
        raise ValidationError(f"hypotheses: expected a floating-point torch.Tensor, got {describe_type(hypotheses)}")
    if hypotheses.ndim < 3 or hypotheses.shape[-1] != 3 or hypotheses.shape[-3] < 2:
        raise ValidationError(f"hypotheses: expected shape (..., N, J, 3) with N >= 2, got {tuple(hypotheses.shape)}")
    m, n = torch.triu_indices(hypotheses.shape[-3], hypotheses.shape[-3], offset=1, device=hypotheses.device)
    pairs = _joint_distances(hypotheses[..., m, :, :], hypotheses[..., n, :, :]).mean(dim=(-1, -2))
    return pairs.mean() if reduction == "mean" else pairs


def jitter(positions: torch.Tensor, fps: float, reduction: Reduction = "mean") -> torch.Tensor:
    """Jitter of a motion: the mean norm of the joints' acceleration by second finite differences, in input
    units per second squared (mm/s^2 for millimetres).

    For each motion ``jitter = 1 / ((T - 2) J) * sum_{t=1}^{T-2} sum_j |p_{t+1,j} - 2 p_{t,j} + p_{t-1,j}| * fps^2``.
    Frame-to-frame noise shows as a large value; a smooth capture of the same motion has a small one, so
    compare a denoised motion with the clean one (the ratio is what matters; the value grows with ``fps`` for
    white noise). The motion-capture and video-pose literature also reports acceleration error
    (mm/frame^2) or jerk (third differences); this is neither.

    Args:
        positions: ``(..., T, J, 3)`` joint positions over ``T >= 3`` frames (a motion is one sample).
        fps: frames per second of the motion.
        reduction: ``"mean"`` (scalar, mean over motions) or ``"none"`` (``(...)``, one value per motion).

    Example:
        >>> x = torch.tensor([0.0, 1, 4, 9, 16])  # mm: second differences 2 mm/frame^2
        >>> positions = torch.zeros(5, 1, 3)  # 5 frames, one joint
        >>> positions[:, 0, 0] = x
        >>> jitter(positions, fps=10.0)  # 2 mm/frame^2 * (10 frames/s)^2
        tensor(200.)
    """
    _check_reduction(reduction)
    if not isinstance(positions, torch.Tensor) or not positions.is_floating_point():
        raise ValidationError(f"positions: expected a floating-point torch.Tensor, got {describe_type(positions)}")
    if positions.ndim < 3 or positions.shape[-1] != 3 or positions.shape[-3] < 3:
        raise ValidationError(
            f"positions: expected shape (..., T, J, 3) with T >= 3 frames, got {tuple(positions.shape)}"
        )
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < float("inf"):
        raise ValidationError(f"fps: expected a positive number of frames per second, got {fps!r}")
    acceleration = positions[..., 2:, :, :] - 2 * positions[..., 1:-1, :, :] + positions[..., :-2, :, :]
    per_motion = torch.linalg.vector_norm(acceleration, dim=-1).mean(dim=(-1, -2)) * fps**2
    return per_motion.mean() if reduction == "mean" else per_motion


# --------------------------------------------------------------------------------------------- helpers
def _per_hypothesis(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None,
    align_root: int | None,
    procrustes: bool,
    reduction: Reduction,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Validated ``(..., N)`` MPJPE (or PA-MPJPE) of each hypothesis, and the ``(..., J)`` valid joints."""
    _check_reduction(reduction)
    for name, x, ndim, dims in (("pred", pred, 3, "(..., N, J, 3)"), ("target", target, 2, "(..., J, 3)")):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValidationError(f"{name}: expected a floating-point torch.Tensor, got {describe_type(x)}")
        if x.ndim < ndim or x.shape[-1] != 3:
            raise ValidationError(f"{name}: expected shape {dims}, got {tuple(x.shape)}")
    if pred.shape[:-3] + pred.shape[-2:] != target.shape:
        raise ValidationError(
            f"target: shape {tuple(target.shape)} does not match pred {tuple(pred.shape)}; expected "
            f"{tuple(pred.shape[:-3] + pred.shape[-2:])} with the hypotheses on dim -3 of pred"
        )
    if procrustes and align_root is not None:
        raise ValidationError("align_root: procrustes=True already aligns translation; leave align_root as None")
    valid = _check_mask(mask, target.shape[:-1])
    hyp_mask = None if valid is None else valid.unsqueeze(-2)
    target = target.unsqueeze(-3).expand_as(pred)
    if procrustes:
        return pa_mpjpe(pred, target, hyp_mask, reduction="none"), valid
    return mpjpe(pred, target, hyp_mask, align_root, reduction="none"), valid


def _check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "none"):
        raise ValidationError(f"reduction: expected 'mean' or 'none', got {reduction!r}")


def _check_rotation_pair(R_pred: torch.Tensor, R_target: torch.Tensor) -> None:
    for name, R in (("R_pred", R_pred), ("R_target", R_target)):
        if not isinstance(R, torch.Tensor) or not R.is_floating_point():
            raise ValidationError(f"{name}: expected a floating-point torch.Tensor, got {describe_type(R)}")
        if R.ndim < 3 or R.shape[-2:] != (3, 3):
            raise ValidationError(f"{name}: expected shape (..., J, 3, 3), got {tuple(R.shape)}")
    if R_pred.shape != R_target.shape:
        raise ValidationError(f"R_target: shape {tuple(R_target.shape)} differs from R_pred's {tuple(R_pred.shape)}")


def _check_mask(mask: torch.Tensor | None, shape: torch.Size) -> torch.Tensor | None:
    """The mask as a boolean tensor of ``shape`` (``(..., J)``), or None."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise ValidationError(f"mask: expected a torch.Tensor or None, got {describe_type(mask)}")
    try:
        return (mask != 0).expand(shape)
    except RuntimeError:
        raise ValidationError(f"mask: shape {tuple(mask.shape)} does not broadcast to {tuple(shape)}") from None


def _clear_masked(x: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    # Zero (not multiply) masked joints so NaN placeholders reach neither the value nor the gradient.
    return x if valid is None else torch.where(valid.unsqueeze(-1), x, 0.0)


def _root_relative(
    pred: torch.Tensor, target: torch.Tensor, root: int, valid: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    J = pred.shape[-2]
    if isinstance(root, bool) or not isinstance(root, int) or not 0 <= root < J:
        raise ValidationError(f"align_root: expected a joint index in [0, {J}), got {root!r}")
    if valid is not None and not valid[..., root].all():
        raise ValidationError(f"mask: align_root joint {root} is masked out in some samples")
    return pred - pred[..., root : root + 1, :], target - target[..., root : root + 1, :]


def _joint_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(a - b, dim=-1)


def _reduce(errors: torch.Tensor, valid: torch.Tensor | None, reduction: Reduction) -> torch.Tensor:
    """Per-joint ``errors (..., J)`` to per-sample means over valid joints, then the sample reduction."""
    if valid is None:
        return _reduce_samples(errors.mean(-1), None, reduction)
    per_sample = torch.where(valid, errors, 0.0).sum(-1) / valid.sum(-1)  # 0/0 = NaN: no valid joint
    return _reduce_samples(per_sample, valid, reduction)


def _reduce_samples(values: torch.Tensor, valid: torch.Tensor | None, reduction: Reduction) -> torch.Tensor:
    """Per-sample ``values (...)`` to the requested reduction; ``valid (..., J)`` tells which samples count."""
    if reduction == "none":
        return values
    if valid is None:
        return values.mean()
    counted = valid.any(-1)
    if not counted.any():
        raise ValidationError("mask: no sample has a valid joint")
    return values[counted].mean()
