"""``poseprior denoise IN -o OUT --prior NAME``: denoise a motion with any pose prior.

Every frame is optimised at once (:func:`poseprior.tasks.denoise.denoise_motion`): the prior's joints, picked
from the motion by name, are pulled towards the input, smoothed over time and made plausible under the prior;
the root trajectory, the global orientation and joints outside the prior are kept. OUT's format follows its
extension: ``.bvh``, or ``.npz`` (the interchange npz, :mod:`poseprior.io.npz`); it is written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from poseprior.cli.options import check_device_option
from poseprior.cli.prior_option import MAP_HELP, PRIOR_OPTION_HELP

__all__ = ["denoise", "DEFAULT_PRIOR"]

#: The default ``--prior``: on bandai-v1 val (20 degrees of noise) it denoised best with the flow (35.1 vs 35.5 mm
#: MPJPE, 5.61 vs 5.60 degrees; no prior 36.3 mm, 5.90 degrees) at a fifth of its time (about 10 vs 50 ms per
#: frame, one thread); see ``benchmarks/denoise.py`` and :class:`~poseprior.tasks.denoise.DenoiseConfig`.
DEFAULT_PRIOR = "ndf-bandai"


def denoise(
    file: Annotated[
        Path,
        typer.Argument(help="Motion to denoise: .bvh, .npz (interchange or AMASS), .amc, or archive.zip:member.bvh."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .bvh or interchange .npz (by extension).")],
    prior: Annotated[str, typer.Option(help=PRIOR_OPTION_HELP)] = DEFAULT_PRIOR,
    steps: Annotated[
        int | None,
        typer.Option(min=0, max=100_000, help="Optimiser steps, at most 100,000 (default: DenoiseConfig's)."),
    ] = None,
    noise_deg: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=180.0,
            help="Expected rotation noise of the input per axis, degrees, at most 180 (default: DenoiseConfig's 11.5).",
        ),
    ] = None,
    prior_weight: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1e6, help="Weight of the prior's energy, at most 1e6 (default: measured per prior type)."
        ),
    ] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default cpu).", callback=check_device_option)] = None,
    map: Annotated[Path | None, typer.Option("--map", help=MAP_HELP)] = None,
) -> None:
    """Denoise a motion: data + temporal smoothness + prior, all frames at once (Pose-NDF's motion denoising).

    A motion on any humanoid rig is retargeted onto the canonical body, denoised there and written back on
    its own rig (its joints outside the canonical body unchanged)."""
    import dataclasses
    import time

    import torch
    from rich.console import Console
    from rich.progress import Progress

    from poseprior.cli.prior_option import load_prior_option
    from poseprior.errors import ValidationError
    from poseprior.io import read_motion, write_motion
    from poseprior.metrics import geodesic_error
    from poseprior.retarget import from_canonical, onto_joints
    from poseprior.tasks.denoise import (
        DenoiseConfig,
        denoise_motion,
        prior_joint_indices,
    )

    if out.suffix.lower() not in (".bvh", ".npz"):
        raise ValidationError(f"out: expected a .bvh or .npz path, got {str(out)!r}")
    overrides = {"steps": steps, "rotation_sigma_deg": noise_deg, "prior_weight": prior_weight}
    try:
        config = dataclasses.replace(DenoiseConfig(), **{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:  # the settings' names are the flags' here
        flags = {"rotation_sigma_deg": "--noise-deg", "prior_weight": "--prior-weight", "steps": "--steps"}
        field = str(e).split(":", 1)[0]
        raise ValidationError(str(e).replace(field, flags.get(field, field), 1)) from None
    original = read_motion(file, min_frames=1)
    pose_prior = load_prior_option(prior, device)
    motion, rig, report = onto_joints(original, pose_prior.joint_names, map)
    joints = prior_joint_indices(motion.skeleton, pose_prior, str(file))  # a clear error before any work
    started = time.perf_counter()
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"denoising {motion.num_frames} frames", total=config.steps)
        denoised = denoise_motion(
            motion, pose_prior, config=config, on_step=lambda i, n: progress.update(task, completed=i, total=n)
        )
    elapsed = time.perf_counter() - started
    with torch.no_grad():
        change = torch.cat(
            [  # a block of frames at a time: a long take's copies would double its memory
                geodesic_error(denoised.rotations[a : a + 16_384, joints], motion.rotations[a : a + 16_384, joints])
                for a in range(0, motion.num_frames, 16_384)
            ]
        ).mean()
    frames, fps = motion.num_frames, motion.fps
    del motion  # a long take's canonical copy is not needed any more
    if rig is not None:
        denoised = from_canonical(denoised, rig, up=report.up, template=original)
        Console(highlight=False, soft_wrap=True).print(
            f"{file}: {report}; denoised on the canonical body, written back on its rig", markup=False
        )
    write_motion(denoised, out)
    Console(highlight=False, soft_wrap=True).print(
        f"{file} -> {out}: {frames} frames at {fps:g} fps, {len(joints)} joints denoised with prior "
        f"{prior}; mean change {float(change):.2f} deg per joint; {1000 * elapsed / max(frames, 1):.1f} ms/frame",
        markup=False,
    )
