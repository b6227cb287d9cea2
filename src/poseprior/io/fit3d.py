"""Fit3D SMPL-X parameter files (``<subset>/<subject>/smplx/<action>.json``) to :class:`~poseprior.io.Motion`.

Fit3D (Fieraru et al., "AIFit", CVPR 2021) ships one JSON object per subject and action, with one array per
SMPL-X input of ``smplx``'s ``SMPLXLayer`` (the layer its toolkit, ``imar_vision_datasets_tools``, poses the
body with), over ``T`` frames at 50 fps:

=============================================  ====================  ==========================================
key                                            shape                 value
=============================================  ====================  ==========================================
``transl``                                     ``(T, 3)``            body translation, metres
``global_orient``                              ``(T, 1, 3, 3)``      pelvis rotation
``body_pose``                                  ``(T, 21, 3, 3)``     local rotations of the 21 body joints
``jaw_pose``, ``leye_pose``, ``reye_pose``     ``(T, 1, 3, 3)``      jaw and eyes
``left_hand_pose``, ``right_hand_pose``        ``(T, 15, 3, 3)``     finger joints
``betas``                                      ``(T, 10)``           shape coefficients, one row per frame
``expression``                                 ``(T, 10)``           face expression (ignored)
=============================================  ====================  ==========================================

Rotations are matrices, column vectors, in SMPL-X's joint order; the hands are full rotations (the layer adds
no mean hand pose). ``expression`` is not read: the rest joints come from ``betas``. As for every SMPL body,
``transl`` moves the whole body, so the pelvis is at ``transl + J_rest[0]``: :func:`read_fit3d_smplx` puts that
in ``root_translation``. The world frame is the capture's, kept as is. HumanSC3D files have the same layout;
CHI3D files hold two people (a leading axis of 2 on every array): pick one with ``person=``.

Example:
    >>> motion = read_fit3d_smplx("fit3d/train/s03/smplx/squat.json", model_path="body_models")  # doctest: +SKIP
    >>> motion.positions(millimetres=True).shape  # doctest: +SKIP
    torch.Size([T, 55, 3])
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from poseprior.errors import FormatError
from poseprior.geometry import is_rotation, nearest_rotation
from poseprior.io.motion import Motion
from poseprior.io.units import unit_to_mm
from poseprior.skeleton.smpl import (
    rest_joints_from_model,
    smpl_skeleton,
    template_rest_joints,
)

__all__ = ["FIT3D_FPS", "read_fit3d_smplx"]

#: Frame rate of Fit3D's motion capture and SMPL-X fits (the files store none).
FIT3D_FPS = 50.0

# Pose keys in the SMPL-X tree's order (pelvis, body, jaw, eyes, left hand, right hand), with joint counts.
_POSE_KEYS = (
    ("global_orient", 1), ("body_pose", 21), ("jaw_pose", 1), ("leye_pose", 1), ("reye_pose", 1),
    ("left_hand_pose", 15), ("right_hand_pose", 15),
)  # fmt: skip
_REQUIRED = ("transl", "global_orient", "body_pose")
_TEMPLATE = "generic template (approximate, not the SMPL model)"


def _array(path: Path, data: dict, key: str, person: int | None) -> np.ndarray:
    try:
        array = np.asarray(data[key], dtype=np.float64)
    except (ValueError, TypeError) as e:
        raise FormatError(path, f"'{key}' is not a regular array of numbers: {e}") from None
    if person is None:
        return array
    if array.ndim == 0 or not -array.shape[0] <= person < array.shape[0]:
        raise FormatError(
            path, f"person={person}, but '{key}' has shape {array.shape}: no such person on its first axis"
        )
    return array[person]


def _finite(path: Path, key: str, array: np.ndarray) -> None:
    if not np.isfinite(array).all():
        frame = "" if array.ndim < 2 else f" (first at frame {int(np.argwhere(~np.isfinite(array))[0, 0])})"
        raise FormatError(path, f"'{key}' contains NaN or inf{frame}")


def read_fit3d_smplx(
    path: str | Path,
    *,
    model_path: str | Path | None = None,
    gender: str = "neutral",
    unit: str | float = "m",
    fps: float = FIT3D_FPS,
    person: int | None = None,
) -> Motion:
    """Read a Fit3D (or HumanSC3D, CHI3D) SMPL-X parameter ``.json`` file.

    Args:
        path: the file, e.g. ``fit3d/train/s03/smplx/squat.json``.
        model_path: a SMPL-X model file or folder (see :func:`~poseprior.skeleton.smpl.rest_joints_from_model`)
            for the subject's exact rest joints, from the first frame's ``betas``; ``None`` uses the approximate
            generic template. Fit3D's toolkit poses the bodies with ``SMPLX_NEUTRAL`` of SMPL-X v1.1.
        gender: picks the model file in a folder (the files do not say; Fit3D's fits are ``"neutral"``).
        unit: the length unit of ``transl`` (metres in Fit3D); the motion keeps it.
        fps: the frame rate (the files store none; Fit3D captures at 50 fps).
        person: for files with one leading axis per person (CHI3D: 0 or 1), the person to read.

    Returns:
        A :class:`~poseprior.io.Motion` on the SMPL-X tree (55 joints), rotations ``(T, 55, 3, 3)`` float64
        (identity for the jaw, eyes or hands when their key is absent), ``root_translation`` ``(T, 3)`` the
        pelvis. ``metadata`` holds ``format="fit3d"``, ``path``, ``model_type="smplx"``, ``gender``,
        ``betas`` (the first frame's: the skeleton has one rest pose), ``betas_spread`` (the largest change
        of any coefficient from the first frame, 0 when the shape is constant), ``pose_keys`` (the rotation
        keys read), ``rest_joints`` (the model or the template) and, for files in Fit3D's layout,
        ``subject`` and ``action``.

    Raises:
        FormatError: naming the file: not JSON, not an object, missing ``transl``, ``global_orient`` or
            ``body_pose``, a shape that is not the table's (with the file's frame count), NaN or inf, or a
            matrix that is not a rotation (more than 1e-4 off; smaller float32 rounding is projected away).

    Example:
        >>> import json, pathlib, shutil, tempfile
        >>> data = {"transl": [[0.0, 0.0, 0.9]] * 2, "global_orient": torch.eye(3).expand(2, 1, 3, 3).tolist(),
        ...         "body_pose": torch.eye(3).expand(2, 21, 3, 3).tolist()}
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "squat.json"
        >>> _ = path.write_text(json.dumps(data))
        >>> m = read_fit3d_smplx(path)
        >>> m.rotations.shape, m.fps, m.metadata["pose_keys"]
        (torch.Size([2, 55, 3, 3]), 50.0, ['global_orient', 'body_pose'])
        >>> shutil.rmtree(path.parent)
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(path, f"not a JSON file: {e}") from e
    if not isinstance(data, dict):
        raise FormatError(
            path, f"expected a JSON object of Fit3D SMPL-X parameters, found a JSON {type(data).__name__}"
        )
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise FormatError(
            path,
            f"missing keys {missing}; not a Fit3D SMPL-X file (keys: {', '.join(map(str, data))}); 2D detector "
            "JSON (OpenPose, MediaPipe) reads with poseprior.io.read_keypoints_2d",
        )

    transl = _array(path, data, "transl", person)
    if transl.ndim != 2 or transl.shape[1] != 3:
        hint = "; files of several people (CHI3D) need person=" if person is None and transl.ndim == 3 else ""
        raise FormatError(path, f"'transl' must be (T, 3), got {transl.shape}{hint}")
    T = transl.shape[0]  # JSON's empty list has shape (0,), so T > 0 here
    _finite(path, "transl", transl)

    rotations = np.broadcast_to(np.eye(3), (T, 55, 3, 3)).copy()
    pose_keys, first = [], 0
    for key, n in _POSE_KEYS:
        if key in data:
            R = _array(path, data, key, person)
            if R.shape != (T, n, 3, 3):
                raise FormatError(
                    path, f"'{key}' must be ({T}, {n}, 3, 3) to match 'transl' ({T} frames), got {R.shape}"
                )
            _finite(path, key, R)
            ok = is_rotation(torch.from_numpy(R))
            if not ok.all():
                t, j = (~ok).nonzero()[0].tolist()
                raise FormatError(
                    path, f"'{key}' at frame {t}, joint {j} is not a rotation (orthonormal, det +1, tol 1e-4)"
                )
            rotations[:, first : first + n] = R
            pose_keys.append(key)
        first += n

    betas = np.zeros((T, 0))
    if "betas" in data:
        betas = _array(path, data, "betas", person)
        if betas.ndim != 2 or betas.shape[0] != T:
            raise FormatError(path, f"'betas' must be ({T}, B), one shape per frame as 'transl', got {betas.shape}")
        _finite(path, "betas", betas)

    if model_path is not None:
        joints_m = rest_joints_from_model(model_path, "smplx", gender, betas[0])
        source = str(model_path)
    else:
        joints_m = template_rest_joints("smplx")
        source = _TEMPLATE
    skeleton = smpl_skeleton("smplx", joints_m * (1000.0 / unit_to_mm(unit)))  # model joints are in metres
    metadata = {
        "path": str(path), "format": "fit3d", "model_type": "smplx", "gender": gender,
        "betas": betas[0].tolist(), "betas_spread": float(np.abs(betas - betas[:1]).max(initial=0.0)),
        "pose_keys": pose_keys, "rest_joints": source,
    }  # fmt: skip
    if path.parent.name == "smplx":  # <subset>/<subject>/smplx/<action>.json
        metadata.update(subject=path.parent.parent.name, action=path.stem)
    # JSON keeps the float32 fits' rounding: project onto SO(3) so the float64 rotations are exact.
    R = nearest_rotation(torch.from_numpy(rotations))
    root = torch.from_numpy(transl) + skeleton.offsets[0]
    return Motion(skeleton, R, root, fps=float(fps), unit=unit, metadata=metadata)
