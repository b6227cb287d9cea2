"""``poseprior lift FILE [--model NAME] -o OUT``: 3D poses from 2D keypoints with a learned lifter (by default
the shipped rotation lifter for the file's keypoints: ``lifter-rot-coco17`` for COCO-17 detections such as
OpenPose's and MediaPipe's, ``lifter-rot-bandai`` for the bandai-v1 skeleton's joints).

FILE is a keypoints npz (``keypoints_2d`` (T, P, 2), ``joint_names`` or ``layout``, optional ``confidence``,
optional ``camera`` (3, 3)) or OpenPose / MediaPipe JSON. A lifter trained on a skeleton's own joints reads
keypoints named by those joints (others ignored, missing ones confidence 0); one trained on a layout reads
that layout.

OUT (``.npz``) holds ``joint_names``, ``positions`` (T, J, 3) root-relative in millimetres (camera frame),
``fps`` and ``unit`` (``"mm"``), so it is also a 3D keypoints npz (``poseprior fit3d`` reads it); a rotation
lifter adds ``rotations`` (T, J, 3, 3) (root first: its rotation in the camera frame) and writes the
interchange layout (readable by every motion reader), or a BVH for ``.bvh``; a flow lifter adds
``hypotheses`` (T, N, J, 3) and ``hypotheses_log_prob`` (T, N).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["lift", "DEFAULT_MODELS"]

#: The shipped lifter ``poseprior lift`` uses for a file's keypoint layout (None: joints named like bandai-v1's).
DEFAULT_MODELS = {None: "lifter-rot-bandai", "coco17": "lifter-rot-coco17"}


#: Most hypotheses per frame, and frames times hypotheses per output (every hypothesis is written: 2 million
#: of 17 joints take 400 MB, and about 1.5 GB while they are written).
MAX_HYPOTHESES = 1000
MAX_FRAME_HYPOTHESES = 2_000_000


def lift(
    file: Annotated[
        Path,
        typer.Argument(
            help="2D keypoints: .npz (keypoints_2d, joint_names or layout, confidence, camera), OpenPose JSON (file or folder) or MediaPipe JSON."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Output .npz (positions, rotations or hypotheses), or .bvh for a rotation lifter."
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(
            help="Zoo name (lifter-rot-bandai, lifter-rot-coco17, lifter-flow-bandai) or path of an exported lifter (NAME.json). Default: the rotation lifter for the file's keypoints (COCO-17 detections: lifter-rot-coco17; the bandai skeleton's joints: lifter-rot-bandai)."
        ),
    ] = None,
    hypotheses: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_HYPOTHESES,
            help=f"Flow lifter: samples per frame written under 'hypotheses' (at most {MAX_HYPOTHESES:,}).",
        ),
    ] = 10,
    focal: Annotated[
        float | None,
        typer.Option(help="Focal length in pixels when the file has no camera (default: the image's larger side)."),
    ] = None,
    image_size: Annotated[
        tuple[int, int] | None, typer.Option(help="Image width and height in pixels when the file has no camera.")
    ] = None,
    fps: Annotated[float | None, typer.Option(help="Frame rate when the file has none.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the flow lifter's sampling.")] = 0,
) -> None:
    """Lift 2D keypoints to root-relative 3D joints (and joint rotations, for a rotation lifter)."""
    import numpy as np
    import torch
    from rich.console import Console

    from poseprior import zoo
    from poseprior._atomic import atomic_path
    from poseprior.cli.fit import camera_for, keypoint_targets
    from poseprior.errors import ValidationError
    from poseprior.geometry import nearest_rotation
    from poseprior.io import Motion, write_motion
    from poseprior.io.detections import read_keypoints_2d
    from poseprior.io.npz import write_motion_npz
    from poseprior.io.plausible import check_keypoints
    from poseprior.skeleton.layouts import get_layout
    from poseprior.tasks.lift import lift_sequence

    suffix = out.suffix.lower()
    if suffix not in (".npz", ".bvh"):
        raise ValidationError(f"out: expected a .npz or .bvh path, got {out}")
    kp = check_keypoints(read_keypoints_2d(file, **({} if fps is None else {"fps": fps})), file)
    if kp.num_frames * hypotheses > MAX_FRAME_HYPOTHESES:
        raise ValidationError(
            f"--hypotheses {hypotheses}: {kp.num_frames:,} frames of {file} times {hypotheses} hypotheses is more than the "
            f"{MAX_FRAME_HYPOTHESES:,} frame-hypotheses one output holds (about 400 MB); use fewer hypotheses or split the file"
        )
    if model is None:
        model = DEFAULT_MODELS.get(kp.layout)
        if model is None:
            raise ValidationError(
                f"model: no shipped lifter reads the {kp.layout} layout of {file}; train one (poseprior train lifter-rot --layout {kp.layout}) and pass --model"
            )
    lifter = zoo.load(model, kind="lifter")
    if suffix == ".bvh" and not lifter.gives_rotations:
        raise ValidationError("out: a flow lifter gives joints, not rotations; write .npz")
    camera = camera_for(kp, file, image_size, focal)
    layout = lifter.config.lifting.layout
    if layout is None and kp.layout is not None:
        raise ValidationError(
            f"{file}: the lifter reads the skeleton's joints by name ({', '.join(lifter.skeleton.joint_names)}), the file has the {kp.layout} layout"
        )
    if layout is not None and kp.layout != get_layout(layout).name:
        raise ValidationError(
            f"{file}: the lifter reads the {layout} layout, the file has {kp.layout or 'named joints'} ({kp.num_joints} keypoints)"
        )
    pixels, confidence, _ = keypoint_targets(kp, lifter.skeleton, file)
    names = (
        lifter.skeleton.joint_names if layout is None else get_layout(layout).joint_names
    )  # the flow's output joints
    pixels, confidence = torch.nan_to_num(pixels.float()), confidence.float().clamp(0, 1)
    torch.manual_seed(seed)
    with torch.no_grad():
        result = lift_sequence(lifter, pixels, camera, confidence, hypotheses)
        positions = result.positions
        if lifter.gives_rotations:
            rotations = torch.cat([result.root_rotation[:, None], result.rotations], dim=1).double()
            motion = Motion(
                lifter.skeleton.scaled(lifter.unit_mm),
                nearest_rotation(rotations),
                torch.zeros(kp.num_frames, 3, dtype=torch.float64),
                kp.fps,
                1.0,
                metadata={"source": f"poseprior lift ({model})"},
            )
            if suffix == ".bvh":
                write_motion(motion, out)
            else:
                write_motion_npz(motion, out, {"unit": np.array("mm")})
            extra = ""
        else:
            arrays = {
                "joint_names": np.array(names, dtype=np.str_),
                "positions": positions.cpu().numpy(),
                "hypotheses": result.hypotheses.cpu().numpy(),
                "hypotheses_log_prob": result.hypotheses_log_prob.cpu().numpy(),
                "fps": np.array(float(kp.fps)),
                "unit": np.array("mm"),
            }
            with atomic_path(out) as tmp, open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)
            extra = f", {hypotheses} hypotheses per frame"
    Console(highlight=False, soft_wrap=True).print(
        f"{file} -> {out}: {kp.num_frames} frames lifted to {positions.shape[-2]} 3D joints with {model}{extra}",
        markup=False,
    )
