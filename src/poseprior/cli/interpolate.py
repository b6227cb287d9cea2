"""``poseprior interpolate A B -o OUT --steps N --prior NAME``: a transition between a pose of A and one of B.

The poses are frame ``--frame-a`` of A and ``--frame-b`` of B (negative counts from the end; by default A's
last frame and B's first, a transition from A into B). The prior's joints follow
:func:`poseprior.tasks.interpolate.interpolate` (``--method auto``: the prior's own kind, straight slerp for
``none``); every other joint is slerped, the root position and animated joint translations are linear. OUT is a
motion of ``N`` frames on A's skeleton at A's frame rate, ``.bvh`` or interchange ``.npz`` by extension, written
atomically. B must have A's joints (matched by name; its bone lengths may differ: A's are used).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from poseprior.cli.options import check_device_option
from poseprior.cli.prior_option import MAP_HELP, PRIOR_OPTION_HELP

if TYPE_CHECKING:
    from poseprior.io import Motion

__all__ = ["interpolate", "frame_index"]


def frame_index(motion: Motion, frame: int, option: str) -> int:
    """``frame`` as an index into ``motion`` (negative from the end); :class:`ValidationError` naming ``option``."""
    from poseprior.errors import ValidationError

    T = motion.num_frames
    if not -T <= frame < T:
        raise ValidationError(
            f"{option}: frame {frame} is outside the motion's {T} frames (0 .. {T - 1}, or negative from the end)"
        )
    return frame % T


#: Most frames one ``interpolate`` writes (about 64 KB each in memory with every prior, measured).
MAX_STEPS = 10_000


def interpolate(
    a: Annotated[Path, typer.Argument(help="Motion with the start pose (.bvh, .npz, .amc, archive.zip:member.bvh).")],
    b: Annotated[Path, typer.Argument(help="Motion with the end pose (A's joints, matched by name).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .bvh or interchange .npz (by extension).")],
    steps: Annotated[
        int,
        typer.Option(min=2, max=MAX_STEPS, help=f"Frames of the output, both ends included (at most {MAX_STEPS:,})."),
    ] = 30,
    prior: Annotated[str, typer.Option(help=PRIOR_OPTION_HELP)] = "vae-bandai",
    method: Annotated[
        str,
        typer.Option(
            help="auto (the prior's own: geodesic for none), geodesic, latent (VAE), projected (distance field) or energy (flow)."
        ),
    ] = "auto",
    frame_a: Annotated[int, typer.Option(help="Frame of A (negative: from the end).")] = -1,
    frame_b: Annotated[int, typer.Option(help="Frame of B (negative: from the end).")] = 0,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default cpu).", callback=check_device_option)] = None,
    map: Annotated[Path | None, typer.Option("--map", help=MAP_HELP)] = None,
) -> None:
    """Interpolate between a pose of A and a pose of B, guided by a prior; write the transition as a motion.

    Motions on any humanoid rig are retargeted onto the canonical body; the transition is written on A's rig."""
    from dataclasses import replace

    import roma
    import torch
    from rich.console import Console

    from poseprior.cli.prior_option import load_prior_option
    from poseprior.errors import ValidationError
    from poseprior.geometry import nearest_rotation
    from poseprior.io import read_motion, write_motion
    from poseprior.retarget import from_canonical, onto_joints
    from poseprior.tasks.denoise import prior_joint_indices
    from poseprior.tasks.interpolate import METHODS, method_for
    from poseprior.tasks.interpolate import interpolate as interpolate_poses

    if out.suffix.lower() not in (".bvh", ".npz"):
        raise ValidationError(f"out: expected a .bvh or .npz path, got {str(out)!r}")
    if method not in METHODS:
        raise ValidationError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    original_a = read_motion(a, min_frames=1)
    pose_prior = load_prior_option(prior, device)
    motion_a, rig_a, report_a = onto_joints(original_a, pose_prior.joint_names, map)
    original_b = read_motion(b, min_frames=1)
    same_rig = rig_a is not None and original_b.skeleton.same_tree(original_a.skeleton)  # retargeted alike
    motion_b, _, report_b = onto_joints(original_b, pose_prior.joint_names, map, rig_a if same_rig else None)
    names = motion_a.skeleton.joint_names
    missing = [n for n in names if n not in motion_b.skeleton.joint_names]
    if missing:
        raise ValidationError(f"{b}: lacks joint(s) {', '.join(missing)} of {a}; both motions need the same joints")
    i, j = frame_index(motion_a, frame_a, "frame-a"), frame_index(motion_b, frame_b, "frame-b")
    joints = prior_joint_indices(motion_a.skeleton, pose_prior, str(a))
    prior_joint_indices(motion_b.skeleton, pose_prior, str(b))

    order = motion_b.skeleton.indices(names)  # B's joints in A's order
    R_a, R_b = motion_a.rotations[i], motion_b.rotations[j][order]
    t = torch.linspace(0, 1, steps, dtype=torch.float64)
    rotations = roma.rotmat_slerp(R_a, R_b, t)  # (steps, J, 3, 3): every joint, straight
    path = interpolate_poses(R_a[joints], R_b[joints], steps, pose_prior, method)
    rotations[:, joints] = nearest_rotation(path.double())

    def lerp(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x + t.reshape(-1, *[1] * x.ndim) * (y - x)

    scale = motion_b.unit / motion_a.unit  # B's lengths in A's unit
    root = lerp(motion_a.root_translation[i], motion_b.root_translation[j] * scale)
    translations = None
    if motion_a.translations is not None and motion_b.translations is not None:
        translations = lerp(motion_a.translations[i], motion_b.translations[j][order] * scale)
    result = replace(
        motion_a,
        rotations=rotations,
        root_translation=root,
        translations=translations,
        metadata={**motion_a.metadata, "source": "poseprior interpolate"},
    )
    console = Console(highlight=False, soft_wrap=True)
    for path, report in ((a, report_a), (b, report_b)):
        if report is not None:
            console.print(f"{path}: {report}; retargeted onto the canonical body", markup=False)
    if rig_a is not None:  # back on A's rig, its other joints as in A's frame
        result = from_canonical(result, rig_a, up=report_a.up, template=original_a.frames([i] * steps))
    write_motion(result, out)
    used = method_for(pose_prior) if method == "auto" else method
    console.print(
        f"{a} frame {i} -> {b} frame {j}: {steps} frames, {len(joints)} joints by {used} interpolation (prior {prior}) -> {out}",
        markup=False,
    )
