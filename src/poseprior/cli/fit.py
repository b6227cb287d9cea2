"""``poseprior fit3d`` and ``poseprior fit2d``: joint rotations that explain keypoints, with any prior.

Inputs: a keypoints npz (:mod:`poseprior.io.keypoints`: ``positions`` (T, J, 3) or ``keypoints_2d`` (T, J, 2),
``joint_names`` or ``layout``, optional ``mask`` / ``confidence`` / ``camera``), for 3D also a motion (BVH,
interchange npz: its joint positions), for 2D also OpenPose or MediaPipe JSON (:mod:`poseprior.io.detections`).
Keypoints named like the skeleton's joints are matched by name (others are ignored); a ``layout`` file
(``h36m17``, ``coco17``) is fitted through the layout's joint map.

Output by extension: BVH, or the interchange npz (:mod:`poseprior.io.npz`) plus the fit's extra arrays:

================================  ===================  ================================================
``objective``                     ``(T,)``             final objective of the best-ranked hypothesis
``hypotheses``                    ``(T, H, K, 3, 3)``  all hypotheses' local rotations, best first
``hypotheses_objective``          ``(T, H)``           their objectives
``hypotheses_root_rotation``      ``(T, H, 3, 3)``     2D only: their root rotations (camera frame)
``hypotheses_root_translation``   ``(T, H, 3)``        2D only: their root positions (camera frame)
``pixels``                        ``(T, P, 2)``        2D only: the fit's keypoints reprojected
================================  ===================  ================================================

3D results are in the input's unit and frame; 2D results in the camera frame (OpenCV axes), in millimetres.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from poseprior.cli.prior_option import MAP_HELP, PRIOR_OPTION_HELP

if TYPE_CHECKING:
    import torch

    from poseprior.io import Keypoints, Motion
    from poseprior.models.prior import PosePrior
    from poseprior.retarget import Rig
    from poseprior.skeleton import Skeleton

__all__ = ["fit3d", "fit2d", "fit_skeleton", "keypoint_targets", "camera_for"]

#: Frames fitted per batch: bounds memory, and paces the progress bar.
CHUNK = 512

SKELETON_HELP = "Subject skeleton (hierarchy and bone offsets) from a BVH or interchange npz; default: the prior's own."
INIT_HELP = "IK model whose mode (and samples) start the fit, or 'none' for the rest pose and prior samples."


def fit_skeleton(
    prior: PosePrior, skeleton_file: Path | None, mapping: Path | None = None
) -> tuple[Skeleton, float, Rig | None, Motion | None]:
    """The skeleton to fit (root + the prior's joints), its millimetres per unit, and, when it comes from a rig
    of another naming (retargeted), that rig and its motion: from ``skeleton_file`` (a motion file; a rig with
    the prior's joints is restricted to them by name, tree checked), else the prior's own."""
    from poseprior.errors import ValidationError
    from poseprior.io import read_motion
    from poseprior.retarget import onto_joints

    joints = prior.joints
    if skeleton_file is None:
        if joints is None or joints.skeleton is None:
            raise ValidationError("prior: it carries no skeleton; pass --skeleton FILE")
        return joints.skeleton, joints.unit_mm, None, None
    original = read_motion(skeleton_file)
    motion, rig, _ = onto_joints(original, prior.joint_names, mapping)
    sk = motion.skeleton
    root = joints.root if joints is not None else None
    names = ((root,) if root else ()) + prior.joint_names
    missing = [n for n in names if n not in sk.joint_names]
    if missing:
        raise ValidationError(
            f"skeleton: {skeleton_file} lacks joint(s) {', '.join(missing)} of the prior; it has {', '.join(sk.joint_names)}"
        )
    sub = sk.subset(names)
    if joints is not None and set(sub.joint_names) == set(names) and sub.joint_names != names:
        try:
            sub = sub.reordered(names)  # a BVH lists joints depth first
        except ValidationError:
            pass  # not the prior's tree: said below
    if joints is not None and tuple(sub.parents[1:]) != tuple(p + 1 for p in joints.parents):
        raise ValidationError(f"skeleton: {skeleton_file}'s tree over the prior's joints differs from the prior's")
    return sub, motion.unit, rig, None if rig is None else original


def camera_for(kp: Keypoints, source: Path, image_size: tuple[int, int] | None, focal: float | None) -> torch.Tensor:
    """``(3, 3)`` intrinsics: the file's own, else :func:`~poseprior.geometry.default_camera` of ``--image-size``
    (and ``--focal``); a clear error naming ``source`` when there are neither."""
    import torch

    from poseprior.errors import ValidationError
    from poseprior.geometry import default_camera

    if kp.camera is not None:
        return torch.from_numpy(kp.camera).float()
    if image_size is None:
        raise ValidationError(
            f"camera: {source} has no camera intrinsics; pass --image-size W H (and --focal F if known)"
        )
    if not all(0 < v <= 100_000 for v in image_size):
        raise ValidationError(
            f"--image-size: expected two pixel counts from 1 to 100,000, got {image_size[0]} {image_size[1]}"
        )
    if focal is not None and not 0 < focal <= 1e6:
        raise ValidationError(f"--focal: expected a focal length from 0 to 1e6 pixels, got {focal:g}")
    return default_camera(image_size, focal)


def keypoint_targets(
    kp: Keypoints, skeleton: Skeleton, source: Path, rig: Rig | None = None
) -> tuple[torch.Tensor, torch.Tensor, str | None]:
    """``(values (T, P, D), weights (T, P), layout)`` of ``kp`` for ``skeleton``: the layout's keypoints as
    they are, or the skeleton's joints picked by name, or, with the ``rig`` the skeleton was retargeted from,
    keypoints named as the rig's joints (missing ones weigh 0). A weight is the keypoint's confidence (1
    without), 0 where it is masked."""
    import torch

    from poseprior.errors import ValidationError
    from poseprior.retarget import keypoints_onto_pose, map_point_names

    values = torch.from_numpy(kp.positions)
    weights = torch.from_numpy(kp.visible).double()
    if kp.confidence is not None:
        weights = weights * torch.from_numpy(kp.confidence).clamp_min(0)
    if kp.layout is not None:
        return values, weights, kp.layout
    if rig is not None and not set(skeleton.joint_names) & set(kp.joint_names):
        out, found = keypoints_onto_pose(values, kp.joint_names, rig)  # in the pose skeleton's order
        w, _ = keypoints_onto_pose(weights[..., None], kp.joint_names, rig)
        if int(found.sum()) >= 4:
            return out, torch.nan_to_num(w[..., 0]), None
    index = {n: i for i, n in enumerate(kp.joint_names)}
    found = [n for n in skeleton.joint_names if n in index]
    if len(found) < 4:  # named after another rig's joints: the canonical joints they stand for
        index = {n: i for n, i in map_point_names(kp.joint_names).items() if n in skeleton.joint_names}
        found = list(index)
    if len(found) < 4:
        raise ValidationError(
            f"{source}: its keypoints ({', '.join(kp.joint_names)}) match {len(found)} of the skeleton's joints "
            f"({', '.join(skeleton.joint_names)}); name them like the skeleton's joints, give a 'layout' (h36m17, coco17), "
            "or pass --skeleton RIG (a motion file of the rig whose joint names they carry)"
        )
    T, J = kp.num_frames, skeleton.num_joints
    out = torch.full((T, J, kp.dims), float("nan"), dtype=values.dtype)
    w = torch.zeros(T, J, dtype=weights.dtype)
    for j, name in enumerate(skeleton.joint_names):
        if name in index:
            out[:, j], w[:, j] = values[:, index[name]], weights[:, index[name]]
    return out, w, None


def _check_scale(values: torch.Tensor, visible: torch.Tensor, skeleton: Skeleton, source: Path, unit_mm: float) -> None:
    """Refuse keypoints whose bones (between visible keypoints of joint and parent) are not the skeleton's
    length to within a factor of 3 (median over bones and frames): the file's unit is wrong."""
    import torch

    from poseprior.errors import ValidationError
    from poseprior.io.units import unit_name

    ratios = []
    for j, parent in enumerate(skeleton.parents):
        length = float(skeleton.offsets[j].norm())
        if parent < 0 or length <= 0:
            continue
        both = visible[:, j] & visible[:, parent]
        if bool(both.any()):
            ratios.append((values[both, j] - values[both, parent]).norm(dim=-1) / length)
    if not ratios:
        return
    ratio = float(torch.cat(ratios).median())
    if not 1 / 3 < ratio < 3:
        raise ValidationError(
            f"{source}: its bones are {ratio:.3g} times the skeleton's (median over frames and bones) with the keypoints in "
            f"{unit_name(unit_mm)}: the unit is wrong; give the right one with --unit (mm, cm, m or mm per unit)"
        )


def _read_keypoints_3d(path: Path, unit: float | None, fps: float | None) -> tuple[Keypoints, bool]:
    """3D keypoints from a keypoints npz, or a motion file's joint positions; and whether it was a motion."""
    import numpy as np

    from poseprior.io import Keypoints, read_keypoints_npz, read_motion
    from poseprior.io.npz import is_motion_npz
    from poseprior.io.plausible import check_keypoints

    if path.suffix.lower() == ".npz" and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                motion_file = is_motion_npz(z.files)
        except (OSError, ValueError):
            motion_file = False  # read_keypoints_npz names the file in its error
        if not motion_file:
            return check_keypoints(read_keypoints_npz(path, fps=fps, unit=unit), path), False
    motion = read_motion(path, min_frames=1)
    return Keypoints(motion.positions().numpy(), motion.skeleton.joint_names, motion.fps, unit=motion.unit), True


def _init_model(init: str, skeleton: Skeleton):
    """The IK model named ``init`` when it matches ``skeleton``'s joints, else None (``none``)."""
    from poseprior import zoo
    from poseprior.errors import ValidationError

    if init == "none":
        return None
    model = zoo.load(init, kind="ik")
    if model.skeleton.joint_names != skeleton.joint_names:
        raise ValidationError(
            f"init: IK model {init!r} has joints {model.skeleton.joint_names}, not the skeleton's; pass --init none"
        )
    return model


def _chunks(T: int, what: str):
    """Frame slices of at most :data:`CHUNK`, with a progress bar when there is more than one."""
    from rich.progress import Progress

    slices = [slice(s, min(s + CHUNK, T)) for s in range(0, T, CHUNK)]
    if len(slices) == 1:
        yield from slices
        return
    with Progress(transient=True) as progress:
        task = progress.add_task(what, total=T)
        for sl in slices:
            yield sl
            progress.advance(task, sl.stop - sl.start)


def _write(motion, out: Path, extra: dict) -> None:
    from poseprior.io import write_motion
    from poseprior.io.npz import write_motion_npz

    if out.suffix.lower() == ".npz":
        write_motion_npz(motion, out, {k: v.detach().cpu().numpy() for k, v in extra.items()})
    else:
        write_motion(motion, out)


def _check_output(out: Path) -> None:
    from poseprior.errors import ValidationError

    if out.suffix.lower() not in (".npz", ".bvh"):
        raise ValidationError(f"out: expected a .npz or .bvh path, got {out}")


def fit3d(
    file: Annotated[
        Path,
        typer.Argument(
            help="3D keypoints .npz (positions, joint_names or layout, optional mask), or a motion (BVH, interchange npz)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .bvh or .npz (interchange motion + hypotheses).")],
    prior: Annotated[str, typer.Option(help=PRIOR_OPTION_HELP)] = "vae-bandai",
    skeleton: Annotated[Path | None, typer.Option(help=SKELETON_HELP)] = None,
    init: Annotated[str, typer.Option(help=INIT_HELP)] = "flow-ik-bandai",
    noise_mm: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1e5,
            help="Expected keypoint noise, mm per coordinate, at most 1e5 (weighs data against prior).",
        ),
    ] = 20.0,
    steps: Annotated[int, typer.Option(min=1, max=100_000, help="Adam steps, at most 100,000.")] = 60,
    hypotheses: Annotated[
        int, typer.Option(min=1, max=100, help="Restarts per frame, ranked by objective (at most 100).")
    ] = 1,
    pelvis_frame: Annotated[
        bool, typer.Option(help="Keypoints are pelvis-frame (root at the origin, unrotated): do not fit the root.")
    ] = False,
    unit: Annotated[
        str | None,
        typer.Option(help="Length unit of the keypoints when the file has none (mm, cm, m, or mm per unit)."),
    ] = None,
    fps: Annotated[float | None, typer.Option(help="Frame rate when the file has none.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the restarts' sampling.")] = 0,
    map: Annotated[Path | None, typer.Option("--map", help=MAP_HELP)] = None,
) -> None:
    """Fit joint rotations (and the root's rotation and position) to 3D keypoints, regularised by a prior.

    A motion, or keypoints named as the joints of --skeleton's rig, is fitted on the canonical body in that
    rig's proportions and written back on the rig (its names, bone lengths and unit)."""
    from dataclasses import replace

    import torch
    from rich.console import Console

    from poseprior.cli.prior_option import load_prior_option
    from poseprior.errors import ValidationError
    from poseprior.geometry import nearest_rotation
    from poseprior.io import Motion
    from poseprior.io.units import parse_unit
    from poseprior.retarget import from_canonical
    from poseprior.tasks import FitConfig, fit_keypoints_3d

    _check_output(out)
    if not noise_mm > 0:
        raise ValidationError(f"noise-mm: expected a positive number of millimetres, got {noise_mm}")
    kp, is_motion = _read_keypoints_3d(file, parse_unit(unit), fps)
    pose_prior = load_prior_option(prior)
    # A motion is its own skeleton: fitted on the canonical body in its proportions, written back on its rig.
    sk, unit_mm, rig, original = fit_skeleton(
        pose_prior, skeleton if skeleton is not None or not is_motion else file, map
    )
    values, weights, layout = keypoint_targets(kp, sk, file, rig)
    if rig is not None and is_motion and skeleton is None:
        kp = replace(kp, unit=rig.unit)  # a guessed unit (BVH) holds for its joint positions too
    values, visible = values * (kp.unit / unit_mm), weights > 0
    if layout is None:
        _check_scale(values, visible, sk, file, kp.unit)
        matched = int(visible.any(0).sum())
        if matched < sk.num_joints // 2:
            Console(stderr=True, highlight=False, soft_wrap=True).print(
                f"warning: {file}: keypoints for only {matched} of the skeleton's {sk.num_joints} joints; the rest are free",
                markup=False,
            )
    config = FitConfig(
        steps=steps,
        hypotheses=hypotheses,
        keypoint_sigma_mm=noise_mm,
        fit_root_rotation=not pelvis_frame,
        fit_root_translation=not pelvis_frame,
    )
    model = _init_model(init, sk)
    generator = torch.Generator().manual_seed(seed)
    parts = []
    for sl in _chunks(kp.num_frames, "fitting"):
        parts.append(
            fit_keypoints_3d(
                values[sl].float(),
                visible[sl],
                sk,
                pose_prior,
                unit_mm=unit_mm,
                layout=layout,
                init=model,
                config=config,
                generator=generator,
            )
        )
    fitted = torch.cat([p.positions for p in parts]).double()  # the fit's own forward kinematics
    error = _keypoint_error_mm(fitted, values, visible, sk, layout) * unit_mm
    extra = {"objective": torch.cat([p.objective for p in parts])}
    if hypotheses > 1:
        extra["hypotheses"] = torch.cat([p.hypotheses for p in parts])
        extra["hypotheses_objective"] = torch.cat([p.hypotheses_objective for p in parts])
    rotations = torch.cat([torch.cat([p.root_rotation[:, None], p.rotations], dim=1) for p in parts]).double()
    root = torch.cat([p.root_translation for p in parts]).double()
    frames, fps, kp_unit = kp.num_frames, kp.fps, kp.unit
    del parts, fitted, values, visible, kp  # a long take's copies, before the motion goes back onto the rig
    motion = Motion(
        sk, nearest_rotation(rotations), root, fps, unit_mm, metadata={"source": "poseprior fit3d"}
    ).with_unit(kp_unit)
    del rotations, root
    if rig is not None:  # back on the rig, in its world (the fit is in the keypoints' world already)
        template = original if is_motion and skeleton is None else None
        motion = from_canonical(motion, rig, up="+y", scale=1.0, template=template)
    _write(motion, out, extra)
    console = Console(highlight=False, soft_wrap=True)
    if rig is not None:
        console.print(
            f"{skeleton or file}: {rig.describe()}; fitted on the canonical body, written on its rig", markup=False
        )
    console.print(
        f"{file} -> {out}: {frames} frames fitted with prior {prior} (init {init}); mean distance to the "
        f"visible keypoints {error:.1f} mm",
        markup=False,
    )


def fit2d(
    file: Annotated[
        Path,
        typer.Argument(
            help="2D keypoints: .npz (keypoints_2d, joint_names or layout, confidence, camera), OpenPose JSON (file or folder) or MediaPipe JSON."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .bvh or .npz (camera-frame motion + hypotheses).")],
    prior: Annotated[str, typer.Option(help=PRIOR_OPTION_HELP)] = "vae-bandai",
    skeleton: Annotated[Path | None, typer.Option(help=SKELETON_HELP)] = None,
    init: Annotated[str, typer.Option(help=INIT_HELP)] = "flow-ik-bandai",
    focal: Annotated[
        float | None,
        typer.Option(help="Focal length in pixels when the file has no camera (default: the image's larger side)."),
    ] = None,
    image_size: Annotated[
        tuple[int, int] | None, typer.Option(help="Image width and height in pixels when the file has no camera.")
    ] = None,
    hypotheses: Annotated[
        int,
        typer.Option(
            min=1, max=100, help="Hypotheses per frame (depth is ambiguous), ranked by objective (at most 100)."
        ),
    ] = 5,
    steps: Annotated[int, typer.Option(min=1, max=100_000, help="Adam steps of the joint fit, at most 100,000.")] = 100,
    fps: Annotated[float | None, typer.Option(help="Frame rate when the file has none.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the hypotheses' sampling.")] = 0,
) -> None:
    """Fit joint rotations, body orientation and position to 2D keypoints of a perspective camera."""
    import torch
    from rich.console import Console

    from poseprior.cli.prior_option import load_prior_option
    from poseprior.geometry import nearest_rotation
    from poseprior.io import Motion
    from poseprior.io.detections import read_keypoints_2d
    from poseprior.io.plausible import check_keypoints
    from poseprior.retarget import from_canonical
    from poseprior.tasks import Fit2DConfig, fit_keypoints_2d

    _check_output(out)
    kp = check_keypoints(read_keypoints_2d(file, **({} if fps is None else {"fps": fps})), file)
    camera = camera_for(kp, file, image_size, focal)
    pose_prior = load_prior_option(prior)
    sk, unit_mm, rig, _ = fit_skeleton(pose_prior, skeleton)
    values, confidence, layout = keypoint_targets(kp, sk, file, rig)
    confidence = confidence.float()
    config = Fit2DConfig(steps=steps, hypotheses=hypotheses)
    model = _init_model(init, sk)
    generator = torch.Generator().manual_seed(seed)
    parts = []
    for sl in _chunks(kp.num_frames, "fitting"):
        parts.append(
            fit_keypoints_2d(
                values[sl].float(),
                confidence[sl],
                camera,
                sk,
                pose_prior,
                unit_mm=unit_mm,
                layout=layout,
                init=model,
                config=config,
                generator=generator,
            )
        )

    def cat(name: str) -> torch.Tensor:
        return torch.cat([getattr(p, name) for p in parts])

    rotations = torch.cat([cat("root_rotation")[:, None], cat("rotations")], dim=1).double()
    motion = Motion(
        sk,
        nearest_rotation(rotations),
        cat("root_translation").double(),
        kp.fps,
        unit_mm,
        metadata={"source": "poseprior fit2d"},
    ).with_unit(1.0)
    if rig is not None:  # on the rig whose joints the keypoints are named after (camera frame, mm)
        motion = from_canonical(motion, rig, up="+y", scale=1.0).with_unit(1.0)
    names = (
        "objective",
        "hypotheses",
        "hypotheses_objective",
        "hypotheses_root_rotation",
        "hypotheses_root_translation",
        "pixels",
    )
    extra = {n: cat(n) for n in names}
    extra["hypotheses_root_translation"] = extra["hypotheses_root_translation"] * unit_mm
    _write(motion, out, extra)
    seen = confidence > 0
    error = float((extra["pixels"] - torch.nan_to_num(values.float())).norm(dim=-1)[seen].mean())
    Console(highlight=False, soft_wrap=True).print(
        f"{file} -> {out}: {kp.num_frames} frames fitted with prior {prior} (init {init}), {hypotheses} hypotheses; "
        f"mean reprojection error {error:.1f} px",
        markup=False,
    )


def _keypoint_error_mm(positions, values, visible, sk, layout) -> float:
    """Mean distance (skeleton unit) of the fit's keypoints to the visible targets."""
    from poseprior.tasks.targets import keypoint_matrix

    A = keypoint_matrix(sk, layout, values.shape[1]).to(positions.dtype)
    return float(((A @ positions) - values.to(positions.dtype)).norm(dim=-1)[visible].mean())
