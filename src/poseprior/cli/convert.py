"""``poseprior convert IN OUT``: convert a motion between BVH, ASF/AMC, AMASS and the interchange npz."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["convert"]


def convert(
    input: Annotated[
        Path,
        typer.Argument(
            help="Motion to read: .bvh, .amc (+ .asf), .npz (interchange or AMASS), or archive.zip:member.bvh."
        ),
    ],
    output: Annotated[
        Path, typer.Argument(help="File to write; the format follows the extension (.bvh, .amc writes .asf too, .npz).")
    ],
    unit: Annotated[
        str | None,
        typer.Option(
            help="Length unit of the INPUT's numbers (mm, cm, m, in, asf, or mm per unit) when the reader's default is wrong: BVH cm, ASF its header, AMASS m."
        ),
    ] = None,
    fps: Annotated[float | None, typer.Option(help="Resample the motion to this frame rate before writing.")] = None,
    skeleton: Annotated[
        Path | None,
        typer.Option(help="The .asf skeleton of an .amc input (default: X.asf, then CMU's 01.asf for 01_01.amc)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            help="Output format when the extension is not enough: 'amass' writes an AMASS npz (SMPL-family skeletons)."
        ),
    ] = None,
) -> None:
    """Convert a motion file to another format, optionally resampling it; prints a one-line summary."""
    from rich.console import Console

    from poseprior.io.formats import read_motion, write_motion
    from poseprior.io.units import parse_unit, unit_name

    motion = read_motion(input, unit=parse_unit(unit), skeleton_file=skeleton, min_frames=1)
    source_fps = motion.fps
    if fps is not None:
        motion = motion.resample(fps)
    written = write_motion(motion, output, format=to)
    rate = f"{motion.fps:g} fps" if fps is None else f"{source_fps:g} -> {motion.fps:g} fps"
    duration = (motion.num_frames - 1) / motion.fps if motion.num_frames > 1 else 0.0
    Console(highlight=False, soft_wrap=True).print(
        f"{input} -> {', '.join(map(str, written))}: {motion.skeleton.num_joints} joints, {motion.num_frames} frames, "
        f"{rate}, {duration:.2f} s, unit {unit_name(motion.unit)}",
        markup=False,
    )
