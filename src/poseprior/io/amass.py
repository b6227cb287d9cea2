"""AMASS ``.npz`` motions (SMPL-H and SMPL-X bodies) to and from :class:`~poseprior.io.Motion`.

An AMASS file holds:

========================================  ================================================================
key                                       value
========================================  ================================================================
``poses``                                 ``(T, 156)`` SMPL-H (52 joints) or ``(T, 165)`` SMPL-X (55 joints)
                                          axis-angle local rotations, joint-major; the first 3 are the
                                          global orientation of the pelvis
``trans``                                 ``(T, 3)`` body translation, metres
``betas``                                 ``(16,)`` (or 10) shape coefficients
``gender``                                ``"male"``, ``"female"`` or ``"neutral"``
``mocap_framerate`` / ``mocap_frame_rate``  frame rate (SMPL-H releases / SMPL-X releases)
``surface_model_type``                    optional, ``"smplh"`` or ``"smplx"`` (SMPL-X releases)
========================================  ================================================================

Other keys (``dmpls``, ``root_orient``, ``pose_body``, marker data ...) are ignored. SMPL's ``trans``
moves the whole body, so the pelvis sits at ``trans + J_rest[0]``: :func:`read_amass` puts that in
``root_translation``. The rest joints ``J_rest`` come from the licensed model file when ``model_path`` is
given (through ``smplx``), else from the generic template of :mod:`poseprior.skeleton.smpl`, which is
approximate (``metadata["rest_joints"]`` says which).

Example:
    >>> motion = read_amass("CMU/01/01_01_poses.npz", model_path="body_models/smplh")  # doctest: +SKIP
    >>> motion.positions(millimetres=True).shape  # doctest: +SKIP
    torch.Size([2751, 52, 3])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from poseprior._atomic import atomic_open
from poseprior.errors import FormatError, ValidationError
from poseprior.geometry import matrix_to_rotvec, rotvec_to_matrix
from poseprior.io.motion import Motion
from poseprior.io.npz import npz_errors, open_npz
from poseprior.io.units import unit_to_mm
from poseprior.skeleton.smpl import (
    rest_joints_from_model,
    smpl_joint_names,
    smpl_model_type,
    smpl_skeleton,
    template_rest_joints,
)

__all__ = ["read_amass", "write_amass"]

_WIDTHS = {3 * len(smpl_joint_names(t)): t for t in ("smplh", "smplx")}
_TEMPLATE = "generic template (approximate, not the SMPL model)"


def _text(value: np.ndarray) -> str:
    item = np.asarray(value).item()
    return (item.decode() if isinstance(item, bytes) else str(item)).strip()


def read_amass(
    path: str | Path,
    *,
    model_path: str | Path | None = None,
    gender: str | None = None,
    unit: str | float = "m",
    fps: float | None = None,
) -> Motion:
    """Read an AMASS ``.npz`` motion.

    Args:
        path: the file.
        model_path: a SMPL-H / SMPL-X model file or folder (see
            :func:`~poseprior.skeleton.smpl.rest_joints_from_model`) for the subject's exact rest joints;
            ``None`` uses the approximate generic template.
        gender: overrides the file's ``gender`` when picking the model.
        unit: the length unit of ``trans`` (AMASS uses metres); the motion keeps it.
        fps: overrides the file's frame rate; required when the file has none.

    Returns:
        A :class:`~poseprior.io.Motion` on the SMPL-H (52) or SMPL-X (55) tree, rotations float64.
        ``metadata`` holds ``model_type``, ``gender``, ``betas``, ``rest_joints`` (the model file or the
        template), ``path`` and ``format="amass"``.

    Raises:
        FormatError: naming the file: not an npz, missing keys, a ``poses`` width that is neither 156 nor
            165, ``poses`` and ``trans`` with different frame counts, NaN or inf, no frame rate.
    """
    path = Path(path)
    with npz_errors(path), open_npz(path) as npz:
        missing = [k for k in ("poses", "trans") if k not in npz.files]
        if missing:
            raise FormatError(path, f"missing keys {missing}; not an AMASS motion (keys: {', '.join(npz.files)})")
        try:
            poses, trans = np.asarray(npz["poses"], np.float64), np.asarray(npz["trans"], np.float64)
            betas = np.asarray(npz["betas"], np.float64).reshape(-1) if "betas" in npz.files else np.zeros(0)
            file_gender = _text(npz["gender"]) if "gender" in npz.files else "neutral"
            surface = _text(npz["surface_model_type"]).lower() if "surface_model_type" in npz.files else None
            rate_key = next((k for k in ("mocap_framerate", "mocap_frame_rate") if k in npz.files), None)
            file_fps = float(npz[rate_key]) if rate_key else None
        except (ValueError, TypeError) as e:
            raise FormatError(path, f"an array has the wrong type: {e}") from e

    if poses.ndim != 2 or poses.shape[1] not in _WIDTHS:
        raise FormatError(path, f"'poses' must be (T, 156) for SMPL-H or (T, 165) for SMPL-X, got {poses.shape}")
    model_type = _WIDTHS[poses.shape[1]]
    T = poses.shape[0]
    if T == 0:
        raise FormatError(path, "'poses' has no frames")
    if surface is not None and surface != model_type:
        raise FormatError(
            path, f"surface_model_type is {surface!r} but 'poses' has the {model_type} width {poses.shape[1]}"
        )
    if trans.shape != (T, 3):
        raise FormatError(path, f"'trans' must be ({T}, 3) to match 'poses' ({T} frames), got {trans.shape}")
    for name, array in (("poses", poses), ("trans", trans), ("betas", betas)):
        if not np.isfinite(array).all():
            frame = "" if array.ndim < 2 else f" (first at frame {int(np.argwhere(~np.isfinite(array))[0, 0])})"
            raise FormatError(path, f"'{name}' contains NaN or inf{frame}")
    if fps is None:
        fps = file_fps
    if fps is None:
        raise FormatError(
            path,
            "no 'mocap_framerate' or 'mocap_frame_rate' key: add one to the file (the capture's frames per second), or give fps= to poseprior.io.read_motion",
        )

    gender = gender or file_gender
    if model_path is not None:
        joints_m = rest_joints_from_model(model_path, model_type, gender, betas)
        source = str(model_path)
    else:
        joints_m = template_rest_joints(model_type)
        source = _TEMPLATE
    scale = 1000.0 / unit_to_mm(unit)  # model joints are in metres
    skeleton = smpl_skeleton(model_type, joints_m * scale)
    K = skeleton.num_joints
    rotations = rotvec_to_matrix(torch.from_numpy(poses).reshape(T, K, 3))
    root = torch.from_numpy(trans) + skeleton.offsets[0]
    metadata = {
        "path": str(path), "format": "amass", "model_type": model_type, "gender": gender,
        "betas": betas.tolist(), "rest_joints": source,
    }  # fmt: skip
    return Motion(skeleton, rotations, root, fps=float(fps), unit=unit, metadata=metadata)


def write_amass(motion: Motion, path: str | Path) -> None:
    """Write a motion on the SMPL-H or SMPL-X tree as an AMASS ``.npz`` (atomically), in metres.

    ``poses`` are the axis-angle rotations, ``trans`` the root position minus the skeleton's rest pelvis
    position; ``betas`` and ``gender`` come from ``motion.metadata`` (zeros and ``"neutral"`` when absent).
    The skeleton's offsets are not stored: AMASS keeps the shape as ``betas``, so reading the file back
    gives the same rotations and root positions, and the rest joints of whatever model it is read with.
    SMPL-X files get ``surface_model_type`` and ``mocap_frame_rate``, SMPL-H files ``mocap_framerate``,
    as the two AMASS releases do.

    Raises:
        ValidationError: the motion is not on the SMPL-H / SMPL-X tree, or has animated joint translations.
    """
    model_type = smpl_model_type(motion.skeleton)
    if model_type not in ("smplh", "smplx"):
        raise ValidationError(
            f"motion: AMASS stores SMPL-H (52 joints) or SMPL-X (55 joints) motions; this skeleton "
            f"({motion.skeleton.num_joints} joints, root {motion.joint_names[0]!r}) is neither tree"
        )
    if motion.translations is not None:
        raise ValidationError("motion: AMASS has no per-joint translations; this motion animates them")
    m = motion.with_unit("m")
    T = m.num_frames
    arrays = {
        "poses": matrix_to_rotvec(m.rotations.to(torch.float64)).reshape(T, -1).numpy(),
        "trans": (m.root_translation.to(torch.float64) - m.skeleton.offsets[0]).numpy(),
        "betas": np.asarray(motion.metadata.get("betas", np.zeros(16)), np.float64),
        "gender": np.array(str(motion.metadata.get("gender", "neutral"))),
    }
    if model_type == "smplx":
        arrays.update(mocap_frame_rate=np.float64(m.fps), surface_model_type=np.array("smplx"))
    else:
        arrays["mocap_framerate"] = np.float64(m.fps)
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)
