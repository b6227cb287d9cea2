"""``poseprior ik FILE -o OUT.npz``: joint rotations, with uncertainty, from a keypoints file.

OUT is an interchange npz (:mod:`poseprior.io.npz`) of the mode on the model's skeleton (identity root
rotation, root at the origin), readable by ``poseprior convert`` and every motion reader, with extra keys:

=======================  ===================  ==========================================================
``hypotheses``           ``(T, N, K, 3, 3)``  N samples per frame of the K pose joints (``joint_names[1:]``)
``hypotheses_log_prob``  ``(T, N)``           their log-densities, nats (normalized Haar measure on SO(3)^K)
``log_prob``             ``(T,)``             the mode's log-density
=======================  ===================  ==========================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from poseprior.tasks.ik import IKResult

__all__ = ["ik", "write_ik_npz"]


def write_ik_npz(result: IKResult, fps: float, path: str | Path) -> None:
    """Write ``result`` as the interchange npz of its mode plus the hypotheses (module docstring), atomically."""
    from poseprior.io.npz import write_motion_npz

    extra = {
        "hypotheses": result.hypotheses.detach().cpu().numpy(),
        "hypotheses_log_prob": result.hypotheses_log_prob.detach().cpu().numpy(),
        "log_prob": result.log_prob.detach().cpu().numpy(),
    }
    write_motion_npz(result.to_motion(fps), path, extra)


#: Most frames times hypotheses one ``ik`` output holds (each a pose of 20 rotations, 720 bytes).
MAX_FRAME_HYPOTHESES = 2_000_000


def ik(
    file: Annotated[
        Path,
        typer.Argument(
            help="Keypoints .npz: positions (T, J, 3) or keypoints_2d (T, J, 2) + camera (3, 3), joint_names, optional mask (T, J)."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Output .npz: the mode as an interchange motion, plus 'hypotheses' (T, N, K, 3, 3)."
        ),
    ],
    model: Annotated[
        str, typer.Option(help="Zoo name (flow-ik-bandai) or path of an exported conditional model (NAME.json).")
    ] = "flow-ik-bandai",
    hypotheses: Annotated[
        int, typer.Option(min=1, max=1000, help="Samples per frame written under 'hypotheses' (at most 1,000).")
    ] = 10,
    candidates: Annotated[
        int,
        typer.Option(
            min=1, max=10_000, help="Samples per frame scored to pick the mode (the most likely; at most 10,000)."
        ),
    ] = 100,
    temperature: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Scale of the samples' base noise: 1 samples p(R | keypoints); below 1, likelier, less diverse.",
        ),
    ] = 1.0,
    unit: Annotated[
        str | None,
        typer.Option(help="Length unit of 3D keypoints when the file has no 'unit' key (mm, cm, m, or mm per unit)."),
    ] = None,
    fps: Annotated[float | None, typer.Option(help="Frame rate when the file has no 'fps' key.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampling.")] = 0,
) -> None:
    """Inverse kinematics with uncertainty: the most likely joint rotations per frame of keypoints, and samples.

    3D keypoints are in the pelvis frame (the model's skeleton with identity root rotation); 2D ones are pixels.

    Joints are matched to the model's by name (others are ignored); the file's 'mask' marks hidden ones.
    """
    from rich.console import Console

    from poseprior.errors import ValidationError
    from poseprior.io import read_keypoints_npz
    from poseprior.io.plausible import check_keypoints
    from poseprior.io.units import parse_unit
    from poseprior.tasks.ik import solve_ik
    from poseprior.zoo import load

    if out.suffix.lower() != ".npz":
        raise ValidationError(
            f"out: expected a .npz path, got {out}; convert the result afterwards with `poseprior convert`"
        )
    keypoints = check_keypoints(read_keypoints_npz(file, fps=fps, unit=parse_unit(unit)), file)
    if keypoints.num_frames * hypotheses > MAX_FRAME_HYPOTHESES:
        raise ValidationError(
            f"--hypotheses {hypotheses}: {keypoints.num_frames:,} frames of {file} times {hypotheses} hypotheses is more than the "
            f"{MAX_FRAME_HYPOTHESES:,} frame-hypotheses one output holds (about 1.4 GB of rotations); use fewer or split the file"
        )
    ik_model = load(model, kind="ik")
    result = solve_ik(
        ik_model, keypoints, hypotheses=hypotheses, candidates=candidates, temperature=temperature, seed=seed
    )
    write_ik_npz(result, keypoints.fps, out)
    kind = "3D" if keypoints.dims == 3 else "2D perspective"
    Console(highlight=False, soft_wrap=True).print(
        f"{file} -> {out}: {keypoints.num_frames} frames of {kind} keypoints, {ik_model.num_joints} joint rotations, "
        f"mode of {max(candidates, hypotheses)} samples + {hypotheses} hypotheses per frame; mean log-density of "
        f"the mode {float(result.log_prob.mean()):.1f} nats",
        markup=False,
    )
