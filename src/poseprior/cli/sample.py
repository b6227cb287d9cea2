"""``poseprior sample``: draw poses from a prior, as a poses npz or a BVH motion.

The poses npz (``poseprior-poses/1``), readable with ``numpy.load`` (no pickles):

=============  =================  ==========================================================================
``format``     ``()`` str         ``"poseprior-poses/1"``
``rotations``  ``(N, K, 3, 3)``   local joint rotations (column vectors, parent to child), no root
``joint_names`` ``(K,)`` str      the prior's joints, in order
``log_prob``   ``(N,)``           exact log-density, nats w.r.t. the normalized Haar measure (exact priors)
``energy``     ``(N,)``           the prior's energy, for priors without an exact density
=============  =================  ==========================================================================

A ``.bvh`` output is a motion of ``N`` frames (one pose per second) on the prior's skeleton (root + the ``K``
joints, rest offsets from the model), with the root at the origin and unrotated.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import torch

    from poseprior.models.prior import PosePrior

__all__ = ["sample", "load_prior", "write_poses_npz", "read_poses_npz", "POSES_FORMAT"]

#: The ``format`` key of a poses npz.
POSES_FORMAT = "poseprior-poses/1"


def load_prior(model: str, device: str | None = None) -> PosePrior:
    """An unconditional :class:`~poseprior.models.prior.PosePrior` by zoo name or exported-model path."""
    from poseprior.errors import ValidationError
    from poseprior.models.prior import PosePrior
    from poseprior.zoo import load

    prior = load(model, device=device)
    if not isinstance(prior, PosePrior):
        raise ValidationError(
            f"model: {model!r} is a {type(prior).__name__}, not an unconditional pose prior (one with joints, energy "
            "and sample(n)); conditional models are used by `poseprior ik`"
        )
    return prior


def write_poses_npz(
    path: Path,
    rotations: torch.Tensor,
    joint_names: tuple[str, ...],
    log_prob: torch.Tensor | None = None,
    energy: torch.Tensor | None = None,
) -> None:
    """Write a poses npz (module docstring) atomically."""
    import numpy as np

    from poseprior._atomic import atomic_path

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


def read_poses_npz(path: Path) -> tuple[torch.Tensor, tuple[str, ...]]:
    """``rotations (N, K, 3, 3)`` float64 and ``joint_names`` of a poses npz; :class:`FormatError` naming the file."""
    import numpy as np
    import torch

    from poseprior.errors import FormatError, ValidationError
    from poseprior.geometry import check_rotations

    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise FormatError(path, f"not a readable npz archive ({e})") from None
    if "format" in data and str(data["format"]) != POSES_FORMAT:
        raise FormatError(path, f"format: expected {POSES_FORMAT!r}, got {str(data['format'])!r}")
    missing = [k for k in ("rotations", "joint_names") if k not in data]
    if missing:
        raise FormatError(path, f"missing key(s) {missing}; a poses npz holds 'rotations' (N, K, 3, 3) and 'joint_names' (K,)")
    names, R = data["joint_names"], data["rotations"]
    if names.ndim != 1 or names.dtype.kind != "U":
        raise FormatError(path, f"joint_names: expected a (K,) unicode string array, got shape {names.shape}, dtype {names.dtype}")
    if R.ndim != 4 or R.shape[1:] != (names.shape[0], 3, 3) or R.dtype.kind != "f":
        raise FormatError(path, f"rotations: expected float (N, {names.shape[0]}, 3, 3), got shape {R.shape}, dtype {R.dtype}")
    rotations = torch.from_numpy(np.ascontiguousarray(R, dtype=np.float64))
    try:
        check_rotations(rotations, "rotations", tol=1e-3)
    except ValidationError as e:
        raise FormatError(path, str(e)) from None
    return rotations, tuple(str(n) for n in names)


def sample(
    model: Annotated[str, typer.Option(help="Zoo name (flow-bandai) or path of an exported model (NAME.json).")] = "flow-bandai",
    n: Annotated[int, typer.Option("-n", "--num", min=1, help="Number of poses.")] = 16,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="poses.npz (rotations, joint_names, log_prob) or poses.bvh.")
    ] = Path("poses.npz"),
    seed: Annotated[int | None, typer.Option(help="Random seed, for reproducible samples.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default cpu).")] = None,
) -> None:
    """Draw N poses from a pose prior; write them as a poses npz or a BVH motion (one pose per frame)."""
    import torch
    from rich.console import Console

    from poseprior.errors import ValidationError
    from poseprior.models.prior import ExactPosePrior

    suffix = output.suffix.lower()
    if suffix not in (".npz", ".bvh"):
        raise ValidationError(f"output: expected a .npz or .bvh file, got {str(output)!r}")
    prior = load_prior(model, device)
    if suffix == ".bvh" and (prior.joints is None or prior.joints.skeleton is None):
        raise ValidationError(f"output: model {model!r} carries no skeleton (rest offsets), so it cannot write BVH; write .npz")
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        R = prior.sample(n)
        exact = isinstance(prior, ExactPosePrior)
        score = prior.log_prob(R) if exact else prior.energy(R)
    if suffix == ".npz":
        write_poses_npz(output, R, prior.joint_names, **{"log_prob" if exact else "energy": score})
    else:
        _write_bvh(prior, R, output)
    what = f"mean log-likelihood {score.mean():.2f} nats/pose" if exact else f"mean energy {score.mean():.2f}"
    Console(highlight=False, soft_wrap=True).print(f"{output}: {n} poses of {prior.num_joints} joints from {model}, {what}", markup=False)


def _write_bvh(prior: PosePrior, R: torch.Tensor, output: Path) -> None:
    import torch

    from poseprior.io import Motion, write_motion

    skeleton = prior.joints.skeleton
    n = R.shape[0]
    rotations = torch.cat([torch.eye(3, dtype=torch.float64).expand(n, 1, 3, 3), R.detach().cpu().double()], dim=1)
    root = skeleton.offsets[0].expand(n, 3)
    write_motion(Motion(skeleton, rotations, root, fps=1.0, unit=prior.joints.unit_mm), output)
