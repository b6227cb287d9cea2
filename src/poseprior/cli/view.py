"""``poseprior view FILE [FILE2]``: an interactive 3D viewer in the browser (viser), served on this machine.

FILE is a motion (BVH, ASF/AMC, interchange or AMASS npz), an npz written by ``poseprior sample``, ``fit3d``,
``fit2d`` or ``lift``, a 3D keypoints npz, or a prepared dataset folder (``prepared/bandai-v1``; ``--split``,
``--take``). With FILE2 the two stand side by side on one frame slider, their joints coloured by the distance
between them when they share joints (noisy vs denoised). See :mod:`poseprior.viz.viewer_load`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from poseprior.viz.viewer_load import ReferenceSkeleton

__all__ = ["view", "reference_skeletons", "display_available"]


def reference_skeletons(skeleton: str | None) -> tuple[ReferenceSkeleton, ...]:
    """Skeletons for files that store joints without a tree: ``skeleton`` (a motion file, or a zoo model
    name / exported model ``NAME.json``) first, then every installed zoo model's training skeleton."""
    from poseprior import zoo
    from poseprior.io import read_motion
    from poseprior.viz.viewer_load import ReferenceSkeleton

    refs: list[ReferenceSkeleton] = []
    if skeleton is not None:
        names = {e.name for e in zoo.available()}
        if skeleton in names or skeleton.lower().endswith(".json"):
            card = zoo.info(skeleton)
            if card.skeleton is None:
                from poseprior.errors import ValidationError

                raise ValidationError(f"skeleton: model {skeleton!r} records no skeleton; give a motion file")
            refs.append(ReferenceSkeleton(card.name, card.skeleton, card.unit or 10.0))
        else:
            motion = read_motion(skeleton)
            refs.append(ReferenceSkeleton(Path(skeleton).name, motion.skeleton, motion.unit))
    seen = {(r.skeleton.joint_names, r.skeleton.parents) for r in refs}
    for entry in zoo.available():
        if not entry.installed:
            continue
        card = zoo.info(entry.name)
        if card.skeleton is not None and (card.skeleton.joint_names, card.skeleton.parents) not in seen:
            seen.add((card.skeleton.joint_names, card.skeleton.parents))
            refs.append(ReferenceSkeleton(card.name, card.skeleton, card.unit or 10.0))
    return tuple(refs)


def display_available() -> bool:
    """Whether a browser window could open here: macOS, Windows, or a Linux desktop session not over SSH."""
    if sys.platform in ("darwin", "win32"):
        return True
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return has_display and not os.environ.get("SSH_CONNECTION")


def view(
    file: Annotated[
        str,
        typer.Argument(
            help="Motion (.bvh, .amc, .npz, archive.zip:member.bvh), an npz from sample / fit3d / fit2d / lift, 3D keypoints npz, or a prepared dataset folder."
        ),
    ],
    file2: Annotated[
        str | None,
        typer.Argument(help="A second motion shown beside FILE on the same frame slider (e.g. denoised beside noisy)."),
    ] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on (the next free one if busy).")] = 8080,
    host: Annotated[
        str, typer.Option(help="Address to listen on: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).")
    ] = "127.0.0.1",
    up: Annotated[
        str | None,
        typer.Option(
            help="The data's up axis: y, z, or -y (camera frame). Default: z for AMASS, -y for fit2d / lift outputs, else y."
        ),
    ] = None,
    fps: Annotated[
        float | None, typer.Option(help="Frame rate replacing the files' own (AMC files store none: 120).")
    ] = None,
    values: Annotated[
        str | None,
        typer.Option(
            help="npz array of per-joint values (T, J) or (J,) to colour joints by (default: the distance between FILE and FILE2, else the file's first per-joint array)."
        ),
    ] = None,
    split: Annotated[str | None, typer.Option(help="Prepared dataset: the split to show (default its first).")] = None,
    take: Annotated[
        str | None, typer.Option(help="Prepared dataset: take name or index in the split (default 0).")
    ] = None,
    skeleton: Annotated[
        str | None,
        typer.Option(
            help="Skeleton for files without one (keypoints, sampled poses): a motion file or a zoo model name. Default: the zoo models' skeletons."
        ),
    ] = None,
    unit: Annotated[
        str | None, typer.Option(help="Length unit of keypoint files that record none (mm, cm, m, or mm per unit).")
    ] = None,
    open_browser: Annotated[
        bool | None,
        typer.Option("--open/--no-open", help="Open a browser tab (default: only where a display is available)."),
    ] = None,
) -> None:
    """Show motions in an interactive 3D viewer in the browser: play, scrub, compare two side by side."""
    import contextlib

    from rich.console import Console

    from poseprior.io.units import parse_unit
    from poseprior.viz.viewer import MotionViewer
    from poseprior.viz.viewer_load import ViewOptions, load_scene

    options = ViewOptions(
        up=up,
        fps=fps,
        unit=parse_unit(unit),
        values=values,
        split=split,
        take=take,
        skeletons=reference_skeletons(skeleton),
    )
    paths = [file] if file2 is None else [file, file2]
    scene = load_scene(paths, options)  # every input error surfaces here, before any server starts
    console = Console(highlight=False, soft_wrap=True)
    with MotionViewer(scene, host=host, port=port, title=" vs ".join(m.name for m in scene.motions)) as viewer:
        what = ", ".join(f"{m.name} ({m.num_frames} frames)" for m in scene.motions)
        console.print(f"{what}: viewer at {viewer.url} (Ctrl-C to stop)", markup=False)
        with contextlib.suppress(KeyboardInterrupt):  # a Ctrl-C before run() takes over the signal
            if open_browser or (open_browser is None and display_available()):
                import webbrowser

                webbrowser.open(viewer.url)
            viewer.run()
    console.print("viewer stopped", markup=False)
