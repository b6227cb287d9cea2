"""The poses npz of ``poseprior sample`` (``poseprior-poses/1``): poses without a skeleton, readable with
``numpy.load`` (no pickles).

=============  =================  ==========================================================================
``format``     ``()`` str         ``"poseprior-poses/1"``
``rotations``  ``(N, K, 3, 3)``   local joint rotations (column vectors, parent to child), no root
``joint_names`` ``(K,)`` str      the prior's joints, in order
``log_prob``   ``(N,)``           exact log-density, nats w.r.t. the normalized Haar measure (exact priors)
``energy``     ``(N,)``           the prior's energy, for priors without an exact density
=============  =================  ==========================================================================

Example:
    >>> write_poses_npz("poses.npz", prior.sample(8), prior.joint_names)  # doctest: +SKIP
    >>> rotations, names = read_poses_npz("poses.npz")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from poseprior._atomic import atomic_path
from poseprior.errors import FormatError, ValidationError
from poseprior.geometry import check_rotations
from poseprior.io.npz import read_npz_arrays

__all__ = ["POSES_FORMAT", "write_poses_npz", "read_poses_npz"]

#: The ``format`` key of a poses npz.
POSES_FORMAT = "poseprior-poses/1"


def write_poses_npz(
    path: str | Path,
    rotations: torch.Tensor,
    joint_names: tuple[str, ...],
    log_prob: torch.Tensor | None = None,
    energy: torch.Tensor | None = None,
) -> None:
    """Write poses ``rotations (N, K, 3, 3)`` of ``joint_names`` (and their scores) as a poses npz, atomically."""
    arrays = {
        "format": np.array(POSES_FORMAT),
        "rotations": rotations.detach().cpu().numpy(),
        "joint_names": np.array(joint_names, dtype=np.str_),
    }
    if log_prob is not None:
        arrays["log_prob"] = log_prob.detach().cpu().numpy()
    if energy is not None:
        arrays["energy"] = energy.detach().cpu().numpy()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def read_poses_npz(
    path: str | Path, arrays: dict[str, np.ndarray] | None = None
) -> tuple[torch.Tensor, tuple[str, ...]]:
    """``rotations (N, K, 3, 3)`` float64 and ``joint_names`` of a poses npz (``arrays``: its contents, when
    already read); :class:`FormatError` naming the file for a wrong format, key, shape or non-rotation."""
    path = Path(path)
    data = read_npz_arrays(path) if arrays is None else arrays
    if "format" in data and str(data["format"]) != POSES_FORMAT:
        raise FormatError(path, f"format: expected {POSES_FORMAT!r}, got {str(data['format'])!r}")
    missing = [k for k in ("rotations", "joint_names") if k not in data]
    if missing:
        raise FormatError(
            path, f"missing key(s) {missing}; a poses npz holds 'rotations' (N, K, 3, 3) and 'joint_names' (K,)"
        )
    names, R = data["joint_names"], data["rotations"]
    if names.ndim != 1 or names.dtype.kind != "U":
        raise FormatError(
            path, f"joint_names: expected a (K,) unicode string array, got shape {names.shape}, dtype {names.dtype}"
        )
    if R.ndim != 4 or R.shape[1:] != (names.shape[0], 3, 3) or R.dtype.kind != "f":
        raise FormatError(
            path, f"rotations: expected float (N, {names.shape[0]}, 3, 3), got shape {R.shape}, dtype {R.dtype}"
        )
    rotations = torch.from_numpy(np.ascontiguousarray(R, dtype=np.float64))
    try:
        check_rotations(rotations, "rotations", tol=1e-3)
    except ValidationError as e:
        raise FormatError(path, str(e)) from None
    return rotations, tuple(str(n) for n in names)
