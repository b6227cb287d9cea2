"""``poseprior sample``: draw poses from a prior, as a poses npz (:mod:`poseprior.io.poses`) or a BVH motion.

A ``.bvh`` output is a motion of ``N`` frames (one pose per second) on the prior's skeleton (root + the ``K``
joints, rest offsets from the model), the root at its rest position and turned so that the rest pose stands
upright, Y up (:func:`~poseprior.skeleton.upright_rotation`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from poseprior.cli.options import check_device_option

if TYPE_CHECKING:
    import torch

    from poseprior.models.prior import PosePrior

__all__ = ["sample", "MAX_SAMPLES"]

#: Most poses one ``sample`` writes: measured peaks at this count were 1.3 GB (npz) and 2.9 GB (BVH).
MAX_SAMPLES = 200_000
_CHUNK = 4096


def sample(
    model: Annotated[
        str, typer.Option(help="Zoo name (flow-bandai) or path of an exported model (NAME.json).")
    ] = "flow-bandai",
    n: Annotated[
        int,
        typer.Option(
            "-n",
            "--num",
            min=1,
            max=MAX_SAMPLES,
            help=f"Number of poses (at most {MAX_SAMPLES:,}: drawn {_CHUNK:,} at a time, kept as they are written).",
        ),
    ] = 16,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="poses.npz (rotations, joint_names, log_prob) or poses.bvh.")
    ] = Path("poses.npz"),
    seed: Annotated[int | None, typer.Option(help="Random seed, for reproducible samples.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default cpu).", callback=check_device_option)] = None,
) -> None:
    """Draw N poses from a pose prior; write them as a poses npz or a BVH motion (one pose per frame)."""
    import torch
    from rich.console import Console

    from poseprior.errors import ValidationError
    from poseprior.models.prior import ExactPosePrior

    suffix = output.suffix.lower()
    if suffix not in (".npz", ".bvh"):
        raise ValidationError(f"output: expected a .npz or .bvh file, got {str(output)!r}")
    from poseprior.zoo import load

    prior = load(model, device, kind="prior")
    if suffix == ".bvh" and (prior.joints is None or prior.joints.skeleton is None):
        raise ValidationError(
            f"output: model {model!r} carries no skeleton (rest offsets), so it cannot write BVH; write .npz"
        )
    if seed is not None:
        torch.manual_seed(seed)
    exact = isinstance(prior, ExactPosePrior)
    parts, scores = [], []
    with torch.no_grad():
        for start in range(0, n, _CHUNK):  # a model's temporaries for a few thousand poses at a time
            R = prior.sample(min(_CHUNK, n - start))
            scores.append((prior.log_prob(R) if exact else prior.energy(R)).cpu())
            parts.append(R.cpu())
    R, score = torch.cat(parts), torch.cat(scores)
    if suffix == ".npz":
        from poseprior.io.poses import write_poses_npz

        write_poses_npz(output, R, prior.joint_names, **{"log_prob" if exact else "energy": score})
    else:
        _write_bvh(prior, R, output)
    what = f"mean log-likelihood {score.mean():.2f} nats/pose" if exact else f"mean energy {score.mean():.2f}"
    Console(highlight=False, soft_wrap=True).print(
        f"{output}: {n} poses of {prior.num_joints} joints from {model}, {what}", markup=False
    )


def _write_bvh(prior: PosePrior, R: torch.Tensor, output: Path) -> None:
    import torch

    from poseprior.io import Motion, write_motion
    from poseprior.skeleton import upright_rotation

    skeleton = prior.joints.skeleton
    n = R.shape[0]
    # The poses carry no orientation: stand each up (some rest poses, Bandai's, lie along +X).
    rotations = torch.cat([upright_rotation(skeleton).expand(n, 1, 3, 3), R.detach().cpu().double()], dim=1)
    root = skeleton.offsets[0].expand(n, 3)
    write_motion(Motion(skeleton, rotations, root, fps=1.0, unit=prior.joints.unit_mm), output)
