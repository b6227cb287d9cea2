"""``poseprior score FILE``: the log-likelihood of every pose of a motion or poses file under a prior.

The prior's joints are picked from the file by name; their local rotations are scored as they are, so the
file's tree must give each picked joint the parent the prior expects (checked, with an error naming the joint).
The last line printed is the mean log-likelihood in nats per pose (normalized Haar measure on SO(3)^K,
uniform = 0), or, for a prior without an exact density, its mean energy, labelled so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from poseprior.cli.options import check_device_option
from poseprior.cli.prior_option import MAP_HELP

if TYPE_CHECKING:
    import torch

    from poseprior.models.prior import PosePrior

__all__ = ["score", "poses_from_file", "pick_joints"]


def pick_joints(
    prior: PosePrior, rotations: torch.Tensor, names: tuple[str, ...], parents: tuple[int, ...] | None, source: str
) -> torch.Tensor:
    """The prior's joints ``(..., K, 3, 3)`` picked by name from ``rotations (..., J, 3, 3)`` named ``names``.

    Args:
        parents: the file's tree (``J`` parent indices), checked against the prior's when both are known.
        source: the file, for error messages.
    """
    from poseprior.models.prior import match_prior_joints

    return rotations[..., match_prior_joints(prior, names, parents, source, in_file=True), :, :]


def poses_from_file(path: Path, prior: PosePrior, mapping: Path | None = None) -> tuple[torch.Tensor, str | None]:
    """The prior's joints' local rotations ``(N, K, 3, 3)`` from a motion file or a poses npz, and a line saying
    how the file was retargeted onto the canonical body (None when its skeleton has the prior's joints)."""
    import numpy as np

    from poseprior.io import read_motion
    from poseprior.io.poses import POSES_FORMAT, read_poses_npz
    from poseprior.retarget import onto_joints

    if path.suffix.lower() == ".npz" and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                keys = set(z.files)
                fmt = str(z["format"]) if "format" in keys else None
        except (OSError, ValueError):
            keys, fmt = set(), None  # read_motion names the file in its error
        if fmt == POSES_FORMAT or (fmt is None and {"rotations", "joint_names"} <= keys and "parents" not in keys):
            rotations, names = read_poses_npz(path)
            return pick_joints(prior, rotations, names, None, str(path)), None
    motion, _, report = onto_joints(read_motion(path, min_frames=1), prior.joint_names, mapping)
    sk = motion.skeleton
    note = None if report is None else f"{path}: {report}; retargeted onto the canonical body"
    return pick_joints(prior, motion.rotations, sk.joint_names, sk.parents, str(path)), note


def score(
    file: Annotated[
        Path,
        typer.Argument(help="Motion (.bvh, interchange or AMASS .npz, .amc, archive.zip:member.bvh) or poses .npz."),
    ],
    model: Annotated[
        str, typer.Option(help="Zoo name (flow-bandai) or path of an exported model (NAME.json).")
    ] = "flow-bandai",
    per_frame: Annotated[
        Path | None, typer.Option(help="Write each frame's log-likelihood (or energy) to this .csv or .npz.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Poses scored at once.")] = 4096,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default cpu).", callback=check_device_option)] = None,
    map: Annotated[Path | None, typer.Option("--map", help=MAP_HELP)] = None,
) -> None:
    """Score every pose of FILE under a prior; the last line is the mean log-likelihood in nats per pose.

    A motion on any humanoid rig is retargeted onto the canonical body first (one line says how)."""
    import torch
    from rich.console import Console

    from poseprior.errors import ValidationError
    from poseprior.models.prior import ExactPosePrior
    from poseprior.zoo import load

    if per_frame is not None and per_frame.suffix.lower() not in (".csv", ".npz"):
        raise ValidationError(f"per-frame: expected a .csv or .npz file, got {str(per_frame)!r}")
    prior = load(model, device, kind="prior")
    R, note = poses_from_file(file, prior, map)
    if R.shape[0] == 0:
        raise ValidationError(f"{file}: no poses to score")
    exact = isinstance(prior, ExactPosePrior)
    with torch.no_grad():
        chunks = [R[i : i + batch_size].to(device or "cpu", torch.float32) for i in range(0, R.shape[0], batch_size)]
        values = torch.cat([(prior.log_prob(c) if exact else prior.energy(c)).cpu().double() for c in chunks])
    label = "log_likelihood" if exact else "energy"
    if per_frame is not None:
        _write_per_frame(per_frame, values, label)
    console = Console(highlight=False, soft_wrap=True)
    if note is not None:
        console.print(note, markup=False)
    console.print(
        f"{file}: {values.shape[0]} poses, {prior.num_joints} joints picked by name, model {model}", markup=False
    )
    if exact:
        console.print(f"mean log-likelihood: {values.mean():.4f} nats/pose", markup=False)
    else:
        console.print(f"mean energy (not a log-likelihood): {values.mean():.4f}", markup=False)


def _write_per_frame(path: Path, values: torch.Tensor, label: str) -> None:
    import numpy as np

    from poseprior._atomic import atomic_open, atomic_path

    if path.suffix.lower() == ".npz":
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **{label: values.numpy()})
    else:
        with atomic_open(path, "w") as f:
            f.write(f"frame,{label}\n")
            f.writelines(f"{i},{v:.6f}\n" for i, v in enumerate(values.tolist()))
