"""``poseprior demo``: read the sample clip shipped in the package, run forward kinematics, draw a few
frames; sample, score and draw poses of the shipped flow prior and recover them with the shipped IK model;
print a one-screen summary.

The demo is a list of report :class:`Section` s, each built by one function from the clip; the console
renders them as tables, and a later HTML report can render the same list (with its pictures).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import torch
    from rich.console import Console

    from poseprior.io import Motion

__all__ = [
    "Section",
    "SAMPLE_CLIP",
    "sample_clip",
    "clip_section",
    "poses_section",
    "prior_section",
    "render_sections",
    "demo",
]

#: File name of the sample clip in ``poseprior/assets`` (see the README there for its source and credit).
SAMPLE_CLIP = "cmu_01_01.bvh"
_SAMPLE_DESCRIPTION = "CMU subject 1, take 1: forward jumps"
_CMU_CREDIT = "mocap.cs.cmu.edu, database created with funding from NSF EIA-0196217"


@dataclass
class Section:
    """One part of the demo report.

    Attributes:
        title: the heading.
        rows: ``(label, value)`` facts, already formatted.
        files: files the section wrote (pictures), in the order to show them.
    """

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def sample_clip() -> Path:
    """Path of the sample BVH clip shipped in the package (Y-up, centimetres)."""
    return Path(str(resources.files("poseprior") / "assets" / SAMPLE_CLIP))


def clip_section(motion: Motion, name: str, positions: torch.Tensor, up: str, fk_seconds: float) -> Section:
    """Facts about the clip: joints, frames, rate, unit, bone lengths, how far the root travels.

    Args:
        motion: the clip.
        name: how to call it.
        positions: ``(T, K, 3)`` its joint positions from forward kinematics, in its unit.
        up: its up axis, ``"y"`` or ``"z"``.
        fk_seconds: how long forward kinematics took.
    """
    from poseprior.io.units import unit_name

    sk = motion.skeleton
    T, K = motion.num_frames, sk.num_joints
    unit = unit_name(motion.unit)
    duration = (T - 1) / motion.fps
    lengths = sk.bone_lengths()[1:]
    bones = lengths[lengths > 1e-9]
    to_m = motion.unit / 1000.0
    root = motion.root_translation
    path_m = float((root[1:] - root[:-1]).norm(dim=-1).sum()) * to_m
    net_m = float((root[-1] - root[0]).norm()) * to_m
    vertical = positions[..., "xyz".index(up)]
    height = float((vertical.amax(dim=-1) - vertical.amin(dim=-1)).amax()) * to_m
    if bones.numel():
        bone_range = f"{float(bones.min()):.2f} to {float(bones.max()):.2f} {unit} ({bones.numel()} bones of nonzero length)"
    else:
        bone_range = "all zero"
    rows = [
        ("clip", name),
        ("joints", f"{K} (root {sk.joint_names[0]}, {len(sk.end_site_parents)} end sites)"),
        ("frames", f"{T} at {motion.fps:g} fps, {duration:.2f} s"),
        ("unit", f"{unit} ({motion.unit:g} mm per unit)"),
        ("bone lengths", bone_range),
        ("root path", f"{path_m:.2f} m travelled, {net_m:.2f} m from start to end"),
        ("height span", f"{height:.2f} m (largest vertical spread of the joints)"),
        ("forward kinematics", f"{T} frames x {K} joints in {fk_seconds * 1e3:.1f} ms"),
    ]
    return Section("Clip", rows)


def poses_section(motion: Motion, positions: torch.Tensor, out: Path, frames: int, up: str) -> Section:
    """Draw ``frames`` evenly spaced frames side by side and save them to ``out/poses.png``.

    Args:
        motion: the clip (for its skeleton and frame rate).
        positions: ``(T, K, 3)`` joint positions.
        out: the output folder.
        frames: how many frames to draw.
        up: the clip's up axis, ``"y"`` or ``"z"``.
    """
    import torch

    from poseprior.errors import ValidationError
    from poseprior.viz.skeleton_plot import plot_poses, save_figure, side_colors

    T = motion.num_frames
    if not 1 <= frames <= min(T, 12):
        raise ValidationError(f"frames: expected 1 to {min(T, 12)} frames to draw, got {frames}")
    index = torch.linspace(0, T - 1, frames).round().long().tolist()
    fig = plot_poses(
        positions[index],
        motion.skeleton.parents,
        up=up,
        titles=[f"frame {i}, {i / motion.fps:.2f} s" for i in index],
        colors=side_colors(motion.skeleton),
    )
    path = save_figure(fig, out / "poses.png")
    width, height = (int(round(v)) for v in fig.get_size_inches() * fig.dpi)
    rows = [("frames drawn", ", ".join(map(str, index))), ("image", f"{path.name} ({width} x {height} px)")]
    return Section("Picture", rows, [path])


def prior_section(out: Path, samples: int = 4, seed: int = 0) -> Section:
    """Sample poses from the shipped flow prior, score them, recover them from their 3D keypoints with the
    shipped IK model, and draw the samples to ``out/prior_samples.png``.

    Args:
        out: the output folder.
        samples: how many poses to draw (1 to 12).
        seed: the sampling seed.
    """
    import roma
    import torch

    from poseprior.geometry import rotvec_between
    from poseprior.metrics import mpjpe
    from poseprior.models.flow.condition import pelvis_keypoints
    from poseprior.tasks.ik import solve_ik
    from poseprior.viz.skeleton_plot import plot_poses, save_figure, side_colors
    from poseprior.zoo import load

    start = time.perf_counter()
    prior, ik_model = load("flow-bandai"), load("flow-ik-bandai")
    load_seconds = time.perf_counter() - start
    skeleton = prior.joints.skeleton
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        start = time.perf_counter()
        R = prior.sample(samples)
        sample_seconds = time.perf_counter() - start
    with torch.no_grad():
        log_prob = prior.log_prob(R)
    positions = pelvis_keypoints(skeleton, R)
    # The pose has no global orientation: stand it up for the picture by turning the rest spine (the root's
    # first child bone) onto +y by the smallest rotation.
    spine = skeleton.offsets[skeleton.children(0)[0]].float()
    stand = roma.rotvec_to_rotmat(rotvec_between(spine / spine.norm(), torch.tensor([0.0, 1.0, 0.0])))
    start = time.perf_counter()
    ik = solve_ik(ik_model, positions, hypotheses=1, candidates=20, seed=seed)
    ik_seconds = time.perf_counter() - start
    error = float(mpjpe(ik.positions * ik_model.unit_mm, positions * prior.joints.unit_mm))
    fig = plot_poses(
        positions @ stand.T,
        skeleton.parents,
        up="y",
        titles=[f"sample {i}: {float(lp):.0f} nats" for i, lp in enumerate(log_prob)],
        colors=side_colors(skeleton),
    )
    path = save_figure(fig, out / "prior_samples.png")
    rows = [
        ("model", f"flow-bandai ({sum(p.numel() for p in prior.parameters()):,} parameters, loaded in {load_seconds:.2f} s)"),
        ("samples", f"{samples} poses of {prior.num_joints} joints in {sample_seconds * 1e3:.1f} ms"),
        ("log-likelihood", ", ".join(f"{float(v):.1f}" for v in log_prob) + " nats/pose (uniform = 0)"),
        ("IK (flow-ik-bandai)", f"from their 3D keypoints: mode MPJPE {error:.1f} mm in {ik_seconds * 1e3:.0f} ms"),
        ("image", path.name),
    ]
    return Section("Flow prior", rows, [path])


def fitting_section(frames: int = 8, seed: int = 0) -> Section:
    """Fit poses of the shipped VAE to their noisy, partly hidden 3D keypoints and to their pixels in a camera,
    with the VAE as prior and with none (both started from the IK model's mode)."""
    import math

    import roma
    import torch

    from poseprior.geometry import rotvec_between
    from poseprior.metrics import mpjpe, pa_mpjpe
    from poseprior.models.baseline import UniformPrior
    from poseprior.models.flow.condition import pelvis_keypoints, perspective_pixels
    from poseprior.tasks import default_camera, fit_keypoints_2d, fit_keypoints_3d
    from poseprior.zoo import load

    vae, ik_model = load("vae-bandai"), load("flow-ik-bandai")
    skeleton, unit = ik_model.skeleton, ik_model.unit_mm
    g = torch.Generator().manual_seed(seed)
    R = vae.sample(frames, generator=g)
    truth = pelvis_keypoints(skeleton, R)
    noisy = truth + torch.randn(truth.shape, generator=g) * (20.0 / unit)
    noisy[:, 0] = 0
    hidden = torch.rand(frames, 20, generator=g).argsort(-1)[:, :6] + 1
    mask = torch.ones(frames, 21, dtype=torch.bool).scatter(1, hidden, False)
    spine = skeleton.offsets[skeleton.children(0)[0]].float()
    stand = roma.rotvec_to_rotmat(rotvec_between(spine / spine.norm(), torch.tensor([0.0, 1.0, 0.0]))).expand(frames, 3, 3)
    camera = default_camera((1000, 1000), 1000.0)
    yaw = 2 * math.pi * torch.rand(frames, generator=g)
    pixels = perspective_pixels(truth, stand, camera, yaw, torch.zeros(frames), torch.full((frames,), 4000.0 / unit))
    pixels = pixels + 3.0 * torch.randn(pixels.shape, generator=g)
    rows = []
    for label, prior in (("vae-bandai", vae), ("no prior", UniformPrior(20))):
        start = time.perf_counter()
        fit = fit_keypoints_3d(noisy, mask, skeleton, prior, unit_mm=unit, init=ik_model, generator=torch.Generator().manual_seed(seed))
        seconds = time.perf_counter() - start
        error = float(mpjpe(fit.positions * unit, truth * unit))
        rows.append((f"3D, {label}", f"{frames} poses, 20 mm noise + 30% hidden: MPJPE {error:.1f} mm in {seconds * 1e3:.0f} ms"))
    start = time.perf_counter()
    fit = fit_keypoints_2d(pixels, None, camera, skeleton, vae, unit_mm=unit, init=ik_model, generator=torch.Generator().manual_seed(seed))
    seconds = time.perf_counter() - start
    reprojection = float((fit.pixels - pixels).norm(dim=-1).mean())
    # The fit is in the camera frame, the truth in the pelvis frame: compare after Procrustes alignment.
    error = float(pa_mpjpe(fit.positions * unit, truth * unit))
    rows.append(("2D, vae-bandai", f"pixels of a camera 4 m away, 3 px noise: reprojection {reprojection:.1f} px, PA-MPJPE {error:.1f} mm, {fit.hypotheses.shape[1]} ranked hypotheses in {seconds * 1e3:.0f} ms"))
    return Section("Fitting", rows, [])


def render_sections(sections: list[Section], console: Console) -> None:
    """Print each section as a two-column table."""
    from rich import box
    from rich.table import Table

    for section in sections:
        table = Table(title=section.title, title_justify="left", title_style="bold", show_header=False, box=box.SIMPLE)
        table.add_column(style="cyan", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in section.rows:
            table.add_row(label, value)
        console.print(table)


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the outputs (created if needed).")] = Path("poseprior-demo"),
    frames: Annotated[int, typer.Option(help="How many frames of the clip to draw side by side.")] = 4,
    clip: Annotated[Path | None, typer.Option(help="Use this motion file (.bvh, .amc, .npz) instead of the shipped CMU sample.")] = None,
    unit: Annotated[str | None, typer.Option(help="Length unit of --clip when its reader's default is wrong (mm, cm, m, in, asf).")] = None,
    up: Annotated[str, typer.Option(help="Up axis of the clip: y (BVH, CMU, Bandai) or z (AMASS).")] = "y",
) -> None:
    """Read a sample clip and draw a few frames; sample the flow prior, score the samples, recover them by IK; fit
    keypoints with a prior; print a summary."""
    from rich.console import Console
    from rich.text import Text

    from poseprior.cli.convert import parse_unit
    from poseprior.errors import ValidationError
    from poseprior.io.formats import read_motion

    if up not in ("y", "z"):
        raise ValidationError(f"up: expected 'y' or 'z', got {up!r}")

    started = time.perf_counter()
    path = sample_clip() if clip is None else clip
    motion = read_motion(path, unit=parse_unit(unit))
    name = f"{SAMPLE_CLIP} ({_SAMPLE_DESCRIPTION})" if clip is None else str(clip)

    fk_start = time.perf_counter()
    positions = motion.positions()
    fk_seconds = time.perf_counter() - fk_start

    sections = [
        clip_section(motion, name, positions, up, fk_seconds),
        poses_section(motion, positions, out, frames, up),
        prior_section(out),
        fitting_section(),
    ]
    console = Console(highlight=False)
    console.print(Text("poseprior demo", style="bold"), Text("- a clip's forward kinematics, the flow prior, IK, fitting"))
    render_sections(sections, console)
    if clip is None:
        console.print(f"Data: {_CMU_CREDIT}.", markup=False)
    console.print(f"Done in {time.perf_counter() - started:.1f} s; outputs in {out}", markup=False, soft_wrap=True)
