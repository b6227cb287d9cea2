"""``poseprior demo``: the main job on the shipped defaults. It reads the sample clips shipped in the package
(a CMU take and a Bandai Namco test take), draws them, samples the three shipped priors, runs inverse
kinematics, lifting, fitting and denoising with the shipped models, and writes everything as one HTML report
(images embedded) beside the pictures; the console prints a one-screen summary and where the report is.

The demo is a list of :class:`~poseprior.viz.report.ReportSection` s, each built by one function; the console
renders their facts as tables, :func:`~poseprior.viz.report.write_html_report` the whole.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from poseprior.viz.report import ReportFigure, ReportSection, ReportTable

if TYPE_CHECKING:
    import torch
    from rich.console import Console

    from poseprior.io import Motion

__all__ = [
    "REPORT",
    "clip_section",
    "poses_section",
    "priors_section",
    "ik_section",
    "lifting_section",
    "fitting_section",
    "denoise_section",
    "benchmarks_section",
    "retarget_section",
    "render_sections",
    "demo",
]

#: File name of the HTML report in the output folder.
REPORT = "report.html"
_SAMPLE_DESCRIPTION = "CMU subject 1, take 1: forward jumps"
_CMU_CREDIT = "mocap.cs.cmu.edu, database created with funding from NSF EIA-0196217"
_BANDAI_CREDIT = "Bandai Namco Research Motion dataset (CC BY-NC 4.0; Kobayashi et al., arXiv 2306.08861)"


def clip_section(motion: Motion, name: str, positions: torch.Tensor, up: str, fk_seconds: float) -> ReportSection:
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
        bone_range = (
            f"{float(bones.min()):.2f} to {float(bones.max()):.2f} {unit} ({bones.numel()} bones of nonzero length)"
        )
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
    return ReportSection("Clip", rows)


def poses_section(motion: Motion, positions: torch.Tensor, out: Path, frames: int, up: str) -> ReportSection:
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
    caption = (
        f"{frames} evenly spaced frames of the clip by forward kinematics, one side of the body blue, the other orange."
    )
    return ReportSection("Picture", rows, [ReportFigure(path, caption)])


def _clip_poses(clip: Motion) -> dict[str, torch.Tensor]:
    """bandai-v1 poses of every frame of the canonical ``clip`` (the shipped clip is at the protocol's 10 fps)."""
    import dataclasses

    from poseprior.data import BANDAI_V1, extract_poses

    return extract_poses(clip, dataclasses.replace(BANDAI_V1, stride=1, source_fps=None, retarget=False))


def retarget_section(motion: Motion, out: Path, frames: int, up: str) -> ReportSection:
    """The clip retargeted onto the canonical body, drawn beside its source at the same frames."""
    import torch

    from poseprior.retarget import to_body
    from poseprior.viz.skeleton_plot import plot_poses, save_figure, side_colors

    start = time.perf_counter()
    body, report = to_body(motion)
    seconds = time.perf_counter() - start
    index = torch.linspace(0, motion.num_frames - 1, frames).round().long().tolist()
    figures = []
    for m, name, what in (
        (motion, "retarget_source.png", "the source rig"),
        (body, "retarget_body.png", "the canonical body"),
    ):
        fig = plot_poses(
            m.positions()[index],
            m.skeleton.parents,
            up="y" if m is body else up,
            titles=[f"frame {i}" for i in index],
            colors=side_colors(m.skeleton),
        )
        figures.append(
            ReportFigure(
                save_figure(fig, out / name),
                f"The clip on {what} ({m.skeleton.num_joints} joints) at frames {', '.join(map(str, index))}.",
            )
        )
    rows = [
        ("source", str(report)),
        (
            "canonical body",
            f"{body.skeleton.num_joints} joints (SMPL's body tree, Y-up) in the clip's proportions; {motion.num_frames} frames in {seconds * 1e3:.0f} ms",
        ),
    ]
    return ReportSection("Retargeting onto the canonical body", rows, figures)


def priors_section(out: Path, samples: int = 8, seed: int = 0) -> ReportSection:
    """Sample each shipped prior (flow, VAE, distance field), score every sample with the flow's exact
    log-likelihood, and draw each prior's samples as a grid (``out/samples_<prior>.png``).

    Args:
        out: the output folder.
        samples: poses per prior (1 to 16).
        seed: the sampling seed.
    """
    import torch

    from poseprior.skeleton import pelvis_keypoints, upright_rotation
    from poseprior.viz import plot_sample_grid, save_figure, side_colors
    from poseprior.zoo import load

    flow = load("flow-bandai")
    skeleton = flow.joints.skeleton
    stand = upright_rotation(skeleton).float()
    section = ReportSection("Pose priors: samples")
    for name in ("flow-bandai", "vae-bandai", "ndf-bandai"):
        prior = flow if name == "flow-bandai" else load(name)
        start = time.perf_counter()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            R = prior.sample(samples)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            log_prob = flow.log_prob(R)
        fig = plot_sample_grid(
            pelvis_keypoints(skeleton, R) @ stand.T, skeleton.parents, columns=4,
            titles=[f"{float(v):.0f} nats" for v in log_prob], colors=side_colors(skeleton),
        )  # fmt: skip
        path = save_figure(fig, out / f"samples_{name}.png")
        section.rows.append(
            (
                name,
                f"{samples} samples in {seconds * 1e3:.0f} ms; flow log-likelihood median {float(log_prob.median()):.0f} nats/pose (uniform = 0)",
            )
        )
        section.figures.append(
            ReportFigure(
                path,
                f"{samples} random poses from {name}, stood upright (the priors model the 20 joints below the hips, not the body's orientation); each titled with its log-likelihood under flow-bandai.",
            )
        )
    return section


def ik_section(clip: Motion, out: Path, hypotheses: int = 10, seed: int = 0) -> ReportSection:
    """Inverse kinematics of the Bandai clip from its 3D keypoints with 30% of the joints hidden: the shipped
    conditional flow's mode over the whole clip, and its hypotheses for one frame (``out/ik_hypotheses.png``)."""
    import torch

    from poseprior.metrics import mpjpe
    from poseprior.skeleton import pelvis_keypoints, upright_rotation
    from poseprior.tasks.ik import solve_ik
    from poseprior.viz import plot_hypotheses, save_figure
    from poseprior.zoo import load

    model = load("flow-ik-bandai")
    skeleton, unit = model.skeleton, model.unit_mm
    poses = _clip_poses(clip)
    truth = pelvis_keypoints(skeleton, poses["rotations"].float())
    T, J = truth.shape[:2]
    g = torch.Generator().manual_seed(seed)
    hidden = torch.rand(T, J - 1, generator=g).argsort(-1)[:, : round(0.3 * (J - 1))] + 1
    mask = torch.ones(T, J, dtype=torch.bool).scatter(1, hidden, False)
    start = time.perf_counter()
    ik = solve_ik(model, truth.masked_fill(~mask[..., None], float("nan")), mask, hypotheses=hypotheses, seed=seed)
    seconds = time.perf_counter() - start
    error = float(mpjpe(ik.positions * unit, truth * unit))
    visible_error = float(mpjpe(ik.positions * unit, truth * unit, mask=mask))
    frame = T // 2
    stand = upright_rotation(skeleton).float()
    fig = plot_hypotheses(
        ik.hypotheses_positions[frame] @ stand.T, skeleton.parents, truth=truth[frame] @ stand.T,
        title=f"frame {frame}: {hypotheses} hypotheses, {int((~mask[frame]).sum())} joints hidden",
    )  # fmt: skip
    path = save_figure(fig, out / "ik_hypotheses.png")
    return ReportSection(
        "Inverse kinematics with hypotheses",
        [
            (
                "clip",
                f"{T} frames of a Bandai test take at {clip.fps:g} fps, 3D keypoints with {hidden.shape[1]} of {J - 1} joints hidden per frame",
            ),
            (
                "flow-ik-bandai",
                f"mode MPJPE {error:.1f} mm (visible joints {visible_error:.1f} mm), {hypotheses} hypotheses per frame, {T / seconds:.0f} frames/s",
            ),
        ],
        [
            ReportFigure(
                path,
                f"The {hypotheses} IK hypotheses (blue, translucent) for frame {frame} of the clip, against the true pose (red): they agree where joints are seen and spread over the hidden ones.",
            )
        ],
    )


def lifting_section(clip: Motion, out: Path, hypotheses: int = 50, seed: int = 0) -> ReportSection:
    """Lift the Bandai clip, seen by one random camera, to 3D: the rotation lifter over the whole sequence and
    the flow lifter's hypotheses for one frame (``out/lift_input.png``, ``out/lift_hypotheses.png``)."""
    import torch

    from poseprior.data.lifting import LiftingConfig, layout_keypoints, random_views
    from poseprior.metrics import best_of_n, mpjae, mpjpe
    from poseprior.viz import plot_hypotheses, plot_keypoints_2d, save_figure
    from poseprior.zoo import load

    rot, coco, flow = load("lifter-rot-bandai"), load("lifter-rot-coco17"), load("lifter-flow-bandai")
    skeleton, unit = rot.skeleton, rot.unit_mm
    poses = _clip_poses(clip)
    R, root = poses["rotations"].float(), poses["root_rotation"].float()
    keypoints = layout_keypoints(skeleton, R)  # (T, J, 3) pelvis frame
    T, J = keypoints.shape[:2]
    # The skeleton's joints and the COCO-17 keypoints (what a detector gives) through one camera.
    points = torch.cat([keypoints, layout_keypoints(skeleton, R, "coco17")], dim=1)
    world = (points @ root.transpose(-1, -2)).reshape(1, -1, 3)
    view = random_views(world, torch.eye(3)[None], LiftingConfig(), unit, torch.Generator().manual_seed(seed))
    all_pixels, camera = view["pixels"][0].reshape(T, points.shape[1], 2), view["camera"][0]
    pixels, coco_pixels = all_pixels[:, :J], all_pixels[:, J:]
    truth = (keypoints @ root.transpose(-1, -2)) @ view["R_cw"][0].T * unit
    truth = truth - truth[:, :1]
    start = time.perf_counter()
    with torch.no_grad():
        lifted = rot(pixels, camera)
        rot_seconds = time.perf_counter() - start
        from_coco = coco(coco_pixels, camera)
    rot_error, rot_angle = float(mpjpe(lifted["positions"], truth)), float(mpjae(lifted["rotations"], R))
    coco_error, coco_angle = float(mpjpe(from_coco["positions"], truth)), float(mpjae(from_coco["rotations"], R))
    frame = T // 2
    start = time.perf_counter()
    samples = flow.sample(hypotheses, pixels[frame], camera, generator=torch.Generator().manual_seed(seed))
    mode = flow.mode(pixels[frame], camera)
    flow_seconds = time.perf_counter() - start
    best = float(best_of_n(samples, truth[frame]))
    input_fig = plot_keypoints_2d(
        pixels[frame], skeleton.parents, image_size=(1000, 1000), scale=0.4, title=f"frame {frame}: 2D input"
    )
    input_path = save_figure(input_fig, out / "lift_input.png")
    fig = plot_hypotheses(
        samples,
        skeleton.parents,
        truth=truth[frame],
        up="-y",
        title=f"frame {frame}: {hypotheses} hypotheses of lifter-flow-bandai",
    )
    path = save_figure(fig, out / "lift_hypotheses.png")
    return ReportSection(
        "2D-to-3D lifting",
        [
            (
                "input",
                f"the clip's {T} frames projected by one random camera ({float(view['root_camera'][0].norm()) / 1000:.1f} m away, focal 1000 px)",
            ),
            (
                "lifter-rot-bandai",
                f"whole clip: MPJPE {rot_error:.1f} mm, MPJAE {rot_angle:.1f} deg, in {rot_seconds * 1e3:.0f} ms",
            ),
            (
                "lifter-rot-coco17",
                f"whole clip from its COCO-17 keypoints (as OpenPose or MediaPipe give): MPJPE {coco_error:.1f} mm, MPJAE {coco_angle:.1f} deg",
            ),
            (
                "lifter-flow-bandai",
                f"frame {frame}: mode MPJPE {float(mpjpe(mode, truth[frame])):.1f} mm, best of {hypotheses} {best:.1f} mm, in {flow_seconds * 1e3:.0f} ms",
            ),
        ],
        [
            ReportFigure(
                input_path,
                f"The 2D keypoints of frame {frame} as the camera sees them (pixels, 1000 x 1000 image): the lifters' only input.",
            ),
            ReportFigure(
                path,
                f"{hypotheses} 3D hypotheses of the flow lifter for that frame (blue), camera frame, against the truth (red): depth is where they differ.",
            ),
        ],
    )


def denoise_section(clip: Motion, out: Path, noise_deg: float = 20.0, seed: int = 0) -> ReportSection:
    """Add rotation noise to the Bandai clip and denoise it with the distance-field prior; the three motions
    side by side as ``out/denoise.gif``."""
    import torch

    from poseprior.metrics import jitter, mpjpe
    from poseprior.tasks.denoise import (
        add_rotation_noise,
        denoise_motion,
        prior_joint_indices,
    )
    from poseprior.viz import animate_motion
    from poseprior.zoo import load

    prior = load("ndf-bandai")
    noisy = add_rotation_noise(
        clip, prior_joint_indices(clip.skeleton, prior), noise_deg, torch.Generator().manual_seed(seed)
    )
    start = time.perf_counter()
    denoised = denoise_motion(noisy, prior)
    seconds = time.perf_counter() - start
    truth, p_noisy, p_denoised = (m.positions(millimetres=True) for m in (clip, noisy, denoised))
    path = animate_motion(
        [p_noisy, p_denoised, truth],
        clip.skeleton.parents,
        out / "denoise.gif",
        fps=clip.fps,
        titles=["noisy", "denoised (ndf-bandai)", "clean"],
        dpi=60,
    )
    return ReportSection(
        "Motion denoising",
        [
            (
                "noise",
                f"{noise_deg:g} deg RMS on each of the 20 joint rotations below the hips, the clip's {clip.num_frames} frames",
            ),
            (
                "ndf-bandai",
                f"MPJPE {float(mpjpe(p_noisy, truth)):.1f} -> {float(mpjpe(p_denoised, truth)):.1f} mm; jitter {float(jitter(p_noisy, clip.fps)):,.0f} -> {float(jitter(p_denoised, clip.fps)):,.0f} mm/s^2 (clean {float(jitter(truth, clip.fps)):,.0f}); {seconds:.1f} s",
            ),
        ],
        [
            ReportFigure(
                path,
                "The noisy clip, its denoised version and the clean original, played side by side at the clip's frame rate.",
            )
        ],
    )


def benchmarks_section() -> ReportSection:
    """The benchmark card shipped with the weights (``poseprior/assets/benchmarks.json``) as a table."""
    import json

    card = json.loads((resources.files("poseprior") / "assets" / "benchmarks.json").read_text())
    rows = tuple((r["task"], r["model"], r["metric"], r["value"], r["subset"], r["script"]) for r in card["rows"])
    table = ReportTable(("task", "model", "metric", "result", "measured on", "script"), rows)
    return ReportSection("Benchmarks of the shipped models", tables=[table], notes=[card["note"]])


def fitting_section(frames: int = 8, seed: int = 0) -> ReportSection:
    """Fit poses of the shipped VAE to their noisy, partly hidden 3D keypoints and to their pixels in a camera,
    with the VAE as prior and with none (both started from the IK model's mode)."""
    import math

    import torch

    from poseprior.geometry import default_camera
    from poseprior.metrics import mpjpe, pa_mpjpe
    from poseprior.models.baseline import UniformPrior
    from poseprior.models.flow.condition import perspective_pixels
    from poseprior.skeleton import pelvis_keypoints, upright_rotation
    from poseprior.tasks import fit_keypoints_2d, fit_keypoints_3d
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
    stand = upright_rotation(skeleton).float().expand(frames, 3, 3)
    camera = default_camera((1000, 1000), 1000.0)
    yaw = 2 * math.pi * torch.rand(frames, generator=g)
    pixels = perspective_pixels(truth, stand, camera, yaw, torch.zeros(frames), torch.full((frames,), 4000.0 / unit))
    pixels = pixels + 3.0 * torch.randn(pixels.shape, generator=g)
    rows = []
    for label, prior in (("vae-bandai", vae), ("no prior", UniformPrior(20))):
        start = time.perf_counter()
        fit = fit_keypoints_3d(
            noisy, mask, skeleton, prior, unit_mm=unit, init=ik_model, generator=torch.Generator().manual_seed(seed)
        )
        seconds = time.perf_counter() - start
        error = float(mpjpe(fit.positions * unit, truth * unit))
        rows.append(
            (
                f"3D, {label}",
                f"{frames} poses, 20 mm noise + 30% hidden: MPJPE {error:.1f} mm in {seconds * 1e3:.0f} ms",
            )
        )
    start = time.perf_counter()
    fit = fit_keypoints_2d(
        pixels, None, camera, skeleton, vae, unit_mm=unit, init=ik_model, generator=torch.Generator().manual_seed(seed)
    )
    seconds = time.perf_counter() - start
    reprojection = float((fit.pixels - pixels).norm(dim=-1).mean())
    # The fit is in the camera frame, the truth in the pelvis frame: compare after Procrustes alignment.
    error = float(pa_mpjpe(fit.positions * unit, truth * unit))
    rows.append(
        (
            "2D, vae-bandai",
            f"pixels of a camera 4 m away, 3 px noise: reprojection {reprojection:.1f} px, PA-MPJPE {error:.1f} mm, {fit.hypotheses.shape[1]} ranked hypotheses in {seconds * 1e3:.0f} ms",
        )
    )
    return ReportSection("Fitting keypoints with a prior", rows)


def render_sections(sections: list[ReportSection], console: Console) -> None:
    """Print every section's facts, a line each (the pictures and tables are in the report)."""
    from rich.markup import escape

    for section in sections:
        if section.rows:
            console.print(section.title, style="bold", markup=False)
        for label, value in section.rows:
            console.print(f"  [cyan]{escape(label)}[/]: {escape(value)}", soft_wrap=True)


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the report and its pictures (created if needed).")] = Path(
        "poseprior-demo"
    ),
    frames: Annotated[int, typer.Option(help="How many frames of the clip to draw side by side.")] = 4,
    clip: Annotated[
        Path | None, typer.Option(help="Use this motion file (.bvh, .amc, .npz) instead of the shipped CMU sample.")
    ] = None,
    unit: Annotated[
        str | None, typer.Option(help="Length unit of --clip when its reader's default is wrong (mm, cm, m, in, asf).")
    ] = None,
    up: Annotated[str, typer.Option(help="Up axis of the clip: y (BVH, CMU, Bandai) or z (AMASS).")] = "y",
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer samples and hypotheses: a faster, smaller report (for tests).")
    ] = False,
) -> None:
    """Run the shipped models on the shipped clips (draw, sample the priors, IK, lifting, fitting, denoising) and
    write an HTML report with every picture embedded; print a summary and where the report is."""
    from rich.console import Console
    from rich.text import Text

    from poseprior.data.clips import SAMPLE_CLIP, bandai_clip, sample_clip
    from poseprior.errors import ValidationError
    from poseprior.io.formats import read_motion
    from poseprior.io.units import parse_unit
    from poseprior.viz.report import write_html_report

    if up not in ("y", "z"):
        raise ValidationError(f"up: expected 'y' or 'z', got {up!r}")

    started = time.perf_counter()
    path = sample_clip() if clip is None else clip
    motion = read_motion(path, unit=parse_unit(unit))
    name = f"{SAMPLE_CLIP} ({_SAMPLE_DESCRIPTION})" if clip is None else str(clip)

    fk_start = time.perf_counter()
    positions = motion.positions()
    fk_seconds = time.perf_counter() - fk_start

    bandai = bandai_clip()
    sections = [
        clip_section(motion, name, positions, up, fk_seconds),
        poses_section(motion, positions, out, frames, up),
        retarget_section(motion, out, frames, up),
        priors_section(out, samples=4 if quick else 8),
        ik_section(bandai, out, hypotheses=5 if quick else 10),
        lifting_section(bandai, out, hypotheses=10 if quick else 50),
        fitting_section(frames=4 if quick else 8),
        denoise_section(bandai.frames(slice(0, 20)) if quick else bandai, out),
        benchmarks_section(),
    ]
    credits = [f"Data: {_BANDAI_CREDIT}."] + ([f"Data: {_CMU_CREDIT}."] if clip is None else [])
    sections[-1].notes += credits
    seconds = time.perf_counter() - started
    report = write_html_report(
        sections, out / REPORT, title="poseprior demo",
        intro=f"The shipped models on the shipped clips, made by `poseprior demo{' --quick' if quick else ''}` in {seconds:.1f} s on this machine's CPU.",
    )  # fmt: skip
    console = Console(highlight=False)
    console.print(
        Text("poseprior demo", style="bold"),
        Text("- clips, priors, IK, lifting, fitting, denoising with the shipped models"),
    )
    render_sections(sections, console)
    for line in credits:
        console.print(line, markup=False, soft_wrap=True)
    console.print(f"Done in {time.perf_counter() - started:.1f} s; report: {report}", markup=False, soft_wrap=True)
