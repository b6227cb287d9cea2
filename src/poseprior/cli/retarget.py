"""``poseprior retarget IN OUT``: a motion on any humanoid rig moved onto the canonical body (SMPL's 22 joints,
the default ``--to body``) or onto another rig (``--to TARGET.bvh``), through :mod:`poseprior.retarget`.

The joints are placed by name (:mod:`poseprior.retarget.names` lists the conventions) or by ``--map FILE``;
the first line printed says what was found (naming, joints filled in, a guessed unit, a Z-up world turned).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from poseprior.cli.prior_option import MAP_HELP

__all__ = ["retarget"]


def retarget(
    input: Annotated[
        Path, typer.Argument(help="Motion on any humanoid rig: .bvh, .amc (+ .asf), .npz (interchange or AMASS).")
    ],
    output: Annotated[Path, typer.Argument(help="Output .bvh or interchange .npz (by extension).")],
    to: Annotated[
        str,
        typer.Option(
            help="'body' for the canonical body (in the input's proportions and unit), or a target rig file (.bvh, .npz, .amc)."
        ),
    ] = "body",
    map: Annotated[Path | None, typer.Option("--map", help=MAP_HELP)] = None,
    target_map: Annotated[
        Path | None, typer.Option("--target-map", help="Joint mapping file of the target rig.")
    ] = None,
    up: Annotated[
        str | None, typer.Option(help="Up axis of the input's world (+y, +z, ...; default: found from the motion).")
    ] = None,
) -> None:
    """Retarget a motion onto the canonical body or onto another rig; prints what it found and wrote."""
    from dataclasses import replace

    from rich.console import Console

    from poseprior.errors import ValidationError
    from poseprior.io import read_motion, write_motion
    from poseprior.retarget import retarget as move
    from poseprior.retarget import source_rig, to_body
    from poseprior.retarget.transfer import AXES, motion_up

    if output.suffix.lower() not in (".bvh", ".npz"):
        raise ValidationError(f"output: expected a .bvh or .npz path, got {str(output)!r}")
    if up is not None and up not in AXES:
        raise ValidationError(f"--up: expected one of {', '.join(AXES)}, got {up!r}")
    motion = read_motion(input, min_frames=1)
    if to == "body":
        result, report = to_body(motion, map, up=up)
        where = "the canonical body"
    else:
        target_motion = read_motion(to)
        target = source_rig(target_motion, target_map)
        result, report = move(
            motion, target, source_rig(motion, map), up=up, target_up=motion_up(target_motion, target)
        )
        where = f"{to} ({target.describe()})"
    write_motion(replace(result, metadata={**result.metadata, "source": f"poseprior retarget {input}"}), output)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"{input}: {report}", markup=False)
    console.print(
        f"-> {output}: {result.num_frames} frames at {result.fps:g} fps on {where}, {result.skeleton.num_joints} joints",
        markup=False,
    )
