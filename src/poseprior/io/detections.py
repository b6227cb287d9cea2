"""Readers for 2D pose detector output (OpenPose, MediaPipe Pose) as COCO-17 :class:`Keypoints`.

**OpenPose** (``--write_json``): one file per frame, ``{"version": ..., "people": [{"pose_keypoints_2d":
[x0, y0, c0, x1, y1, c1, ...]}, ...]}``, pixels unless OpenPose ran with ``--keypoint_scale``. The model is
told by the length: 25 keypoints (BODY_25) or 18 (COCO). OpenPose writes ``0, 0, 0`` for an undetected
keypoint; ``c == 0`` is read as missing. People are not tracked across frames: ``person`` is the index in
each frame's list (OpenPose's ``--number_people_max 1`` keeps one).

**MediaPipe Pose** has no file format of its own; this module reads a JSON list of frames, each ``null``
or ``[]`` (no detection) or the 33 landmarks ``{"x": .., "y": .., "z": .., "visibility": ..}`` with ``x, y``
normalised by the image width and height as MediaPipe gives them (``z`` is ignored), or that list wrapped
as ``{"fps": 30, "image_width": W, "image_height": H, "frames": [...]}``.

Source indices of each COCO-17 keypoint (OpenPose ``poseParameters.cpp``, MediaPipe ``PoseLandmark``):

==============  ==============  ============  =================
COCO-17         BODY_25         COCO-18       MediaPipe (33)
==============  ==============  ============  =================
nose            0 Nose          0 Nose        0 nose
left/right eye  16 / 15         15 / 14       2 / 5 (eye centre)
left/right ear  18 / 17         17 / 16       7 / 8
shoulder        5 / 2           5 / 2         11 / 12
elbow           6 / 3           6 / 3         13 / 14
wrist           7 / 4           7 / 4         15 / 16
hip             12 / 9          11 / 8        23 / 24
knee            13 / 10         12 / 9        25 / 26
ankle           14 / 11         13 / 10       27 / 28
==============  ==============  ============  =================

Example:
    >>> OPENPOSE_MODELS["BODY_25"][:3]
    ('Nose', 'Neck', 'RShoulder')
    >>> read_openpose_json("run1/json/", fps=25)  # doctest: +SKIP
    Keypoints(300 frames at 25 fps, 17 joints, 2D in pixels, layout coco17)
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from poseprior.errors import FormatError, ValidationError
from poseprior.io.keypoints import Keypoints, read_keypoints_npz
from poseprior.skeleton.layouts import COCO17

__all__ = [
    "OPENPOSE_MODELS",
    "MEDIAPIPE_POSE_LANDMARKS",
    "read_openpose_json",
    "read_mediapipe_json",
    "read_keypoints_2d",
]

#: OpenPose keypoint names by model, in the order of ``pose_keypoints_2d`` (``poseParameters.cpp``).
OPENPOSE_MODELS: dict[str, tuple[str, ...]] = {
    "BODY_25": (
        "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip",
        "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe",
        "LHeel", "RBigToe", "RSmallToe", "RHeel",
    ),
    "COCO": (
        "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "RHip", "RKnee",
        "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    ),
}  # fmt: skip

#: MediaPipe Pose's 33 landmark names in index order (``mediapipe.solutions.pose.PoseLandmark``).
MEDIAPIPE_POSE_LANDMARKS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip


def _coco_name_to_openpose(name: str) -> str:
    side, _, part = name.partition("_")
    return "Nose" if name == "nose" else ("L" if side == "left" else "R") + part.capitalize()


# COCO-17 index -> source index; MediaPipe already uses COCO's names.
_OPENPOSE_TO_COCO = {
    model: np.array([names.index(_coco_name_to_openpose(n)) for n in COCO17.joint_names])
    for model, names in OPENPOSE_MODELS.items()
}
_MEDIAPIPE_TO_COCO = np.array([MEDIAPIPE_POSE_LANDMARKS.index(n) for n in COCO17.joint_names])
_MODEL_BY_COUNT = {len(names): model for model, names in OPENPOSE_MODELS.items()}


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise FormatError(path, f"malformed JSON: {e.msg} (column {e.colno})", line=e.lineno) from e
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(path, f"cannot read file: {e}") from e


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _openpose_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    files = sorted(path.glob("*_keypoints.json"))
    if not files:
        raise FormatError(path, "no OpenPose '*_keypoints.json' files in this directory")
    return files


def _openpose_frame(file: Path, person: int) -> tuple[str | None, np.ndarray | None]:
    """(model, ``(K, 3)`` x, y, c) of person ``person`` in one OpenPose file, (None, None) if absent."""
    data = _load_json(file)
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise FormatError(file, "not an OpenPose JSON file: expected an object with a 'people' list")
    if person >= len(data["people"]):
        return None, None
    entry = data["people"][person]
    # OpenPose before 1.2 wrote "pose_keypoints".
    values = entry.get("pose_keypoints_2d", entry.get("pose_keypoints")) if isinstance(entry, dict) else None
    if not isinstance(values, list):
        raise FormatError(file, f"people[{person}]: expected a 'pose_keypoints_2d' list")
    model = _MODEL_BY_COUNT.get(len(values) // 3) if len(values) % 3 == 0 else None
    if model is None:
        counts = " or ".join(f"{3 * len(n)} ({m}: {len(n)} keypoints x 3)" for m, n in OPENPOSE_MODELS.items())
        raise FormatError(file, f"people[{person}].pose_keypoints_2d has {len(values)} values; supported: {counts}")
    for i, v in enumerate(values):
        if not _is_number(v):
            name = OPENPOSE_MODELS[model][i // 3]
            raise FormatError(file, f"people[{person}], keypoint {i // 3} ({name}): not a finite number ({v!r})")
    return model, np.asarray(values, dtype=np.float64).reshape(-1, 3)


def read_openpose_json(
    path_or_dir: str | Path, *, fps: float = 30.0, person: int = 0, camera: np.ndarray | None = None
) -> Keypoints:
    """Read OpenPose ``--write_json`` output (one file, or a directory of ``*_keypoints.json`` frames).

    Args:
        path_or_dir: one frame's ``.json`` file, or a directory whose ``*_keypoints.json`` files, sorted by
            name, are the frames.
        fps: the video's frame rate (OpenPose does not store it).
        person: which entry of each frame's ``people`` list to read; frames with fewer people are missing.
        camera: optional ``(3, 3)`` intrinsics of the video's camera.

    Returns:
        ``(T, 17, 2)`` pixel keypoints in the ``coco17`` layout, ``confidence`` = OpenPose's ``c``, ``mask``
        False (and position NaN) where ``c == 0`` or the person is absent. ``metadata["model"]`` is
        ``"BODY_25"`` or ``"COCO"`` (None when no frame has the person).

    Raises:
        FormatError: naming the file, for malformed JSON, a missing ``people`` list, a keypoint count that is
            neither model's, a non-numeric value (naming the keypoint), or models mixed across files.
    """
    path = Path(path_or_dir)
    if person < 0:
        raise ValidationError(f"person: expected an index >= 0, got {person}")
    files = _openpose_files(path)
    positions = np.full((len(files), COCO17.num_joints, 2), np.nan)
    confidence = np.zeros((len(files), COCO17.num_joints))
    model = first = None
    for t, file in enumerate(files):
        frame_model, values = _openpose_frame(file, person)
        if values is None:
            continue
        if model is None:
            model, first = frame_model, file
        elif frame_model != model:
            raise FormatError(file, f"OpenPose model {frame_model} here, but {model} in {first.name}; mixed models")
        picked = values[_OPENPOSE_TO_COCO[model]]
        positions[t] = picked[:, :2]
        confidence[t] = picked[:, 2]
    mask = confidence > 0
    positions[~mask] = np.nan
    meta = {"path": str(path), "format": "openpose-json", "model": model, "person": person}
    return Keypoints(
        positions, COCO17.joint_names, fps=fps, mask=mask, confidence=confidence, camera=camera, layout="coco17",
        metadata=meta,
    )  # fmt: skip


def _image_size(path: Path, header: dict, image_size: Sequence[float] | None) -> tuple[float, float]:
    if "image_width" in header or "image_height" in header:
        w, h = header.get("image_width"), header.get("image_height")
        where = "'image_width' and 'image_height'"
    elif image_size is not None:
        w, h = tuple(image_size) if len(image_size) == 2 else (None, None)
        where = "image_size=(W, H)"
    else:
        raise FormatError(
            path, "coordinates are normalised but the file has no 'image_width'/'image_height'; pass image_size=(W, H)"
        )
    if not (_is_number(w) and _is_number(h) and w > 0 and h > 0):
        raise FormatError(path, f"{where}: expected two positive numbers, got {w!r}, {h!r}")
    return float(w), float(h)


def read_mediapipe_json(
    path: str | Path,
    *,
    fps: float | None = None,
    image_size: Sequence[float] | None = None,
    camera: np.ndarray | None = None,
    min_confidence: float = 0.0,
) -> Keypoints:
    """Read MediaPipe Pose landmarks saved as JSON (shape in the module docstring) as COCO-17 pixels.

    Args:
        path: the ``.json`` file.
        fps: frame rate when the file has no ``"fps"`` (the file's value wins otherwise).
        image_size: ``(W, H)`` in pixels when the file has no ``image_width``/``image_height`` (the file's
            values win otherwise); ``x`` is scaled by ``W`` and ``y`` by ``H``.
        camera: optional ``(3, 3)`` intrinsics.
        min_confidence: landmarks with ``visibility`` below it are masked. The default 0 keeps them all
            (MediaPipe always places all 33), so only frames without a detection are masked.

    Returns:
        ``(T, 17, 2)`` pixel keypoints in the ``coco17`` layout, ``confidence`` = ``visibility``.

    Raises:
        FormatError: naming the file and frame (and landmark), for malformed JSON, a frame without 33
            landmarks, a missing or non-numeric ``x``, ``y`` or ``visibility``, or no fps or image size.
    """
    path = Path(path)
    data = _load_json(path)
    header = data if isinstance(data, dict) else {}
    frames = header.get("frames") if isinstance(data, dict) else data
    if not isinstance(frames, list):
        raise FormatError(path, "expected a JSON list of frames, or an object with a 'frames' list")
    if "fps" in header:
        fps = header["fps"]
        if not (_is_number(fps) and fps > 0):
            raise FormatError(path, f"'fps': expected a positive number, got {fps!r}")
    if fps is None:
        raise FormatError(
            path, "no frame rate: the file has no 'fps'; give it (--fps on the command line, fps= in Python)"
        )
    width, height = _image_size(path, header, image_size)
    n = len(MEDIAPIPE_POSE_LANDMARKS)
    values = np.full((len(frames), n, 3), np.nan)
    for t, frame in enumerate(frames):
        if frame is None or frame == []:
            continue
        if not isinstance(frame, list) or len(frame) != n:
            got = f"{len(frame)} landmarks" if isinstance(frame, list) else type(frame).__name__
            raise FormatError(
                path, f"frame {t}: expected null, [] or a list of {n} MediaPipe Pose landmarks, got {got}"
            )
        for j, landmark in enumerate(frame):
            for k, key in enumerate(("x", "y", "visibility")):
                v = landmark.get(key) if isinstance(landmark, dict) else None
                if not _is_number(v):
                    where = f"frame {t}, landmark {j} ({MEDIAPIPE_POSE_LANDMARKS[j]})"
                    raise FormatError(path, f"{where}: {key!r} missing or not a finite number ({v!r})")
                values[t, j, k] = v
    picked = values[:, _MEDIAPIPE_TO_COCO]
    positions = picked[..., :2] * np.array([width, height])
    detected = ~np.isnan(picked[..., 2])
    confidence = np.where(detected, picked[..., 2], 0.0)
    mask = detected & (confidence >= min_confidence)
    positions[~mask] = np.nan
    meta = {"path": str(path), "format": "mediapipe-json", "image_size": (width, height)}
    return Keypoints(
        positions, COCO17.joint_names, fps=fps, mask=mask, confidence=confidence, camera=camera, layout="coco17",
        metadata=meta,
    )  # fmt: skip


def read_keypoints_2d(path: str | Path, **kw: Any) -> Keypoints:
    """Read 2D keypoints from a keypoints ``.npz``, OpenPose JSON (file or directory) or MediaPipe JSON.

    A ``.json`` file with a ``"people"`` key, or a directory, is OpenPose; another ``.json`` is MediaPipe.
    ``kw`` goes to :func:`~poseprior.io.keypoints.read_keypoints_npz`, :func:`read_openpose_json` or
    :func:`read_mediapipe_json`.

    Raises:
        FormatError: for another suffix, a 3D npz, or the chosen reader's errors.
    """
    path = Path(path)
    if path.is_dir():
        return read_openpose_json(path, **kw)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        kp = read_keypoints_npz(path, **kw)
        if kp.dims != 2:
            raise FormatError(path, "holds 3D keypoints ('positions'); expected 2D ('keypoints_2d')")
        return kp
    if suffix == ".json":
        data = _load_json(path)
        if isinstance(data, dict) and "people" in data:
            return read_openpose_json(path, **kw)
        return read_mediapipe_json(path, **kw)
    kind = suffix or "(no suffix)"
    raise FormatError(
        path, f"unknown 2D keypoint format {kind!r}; expected .npz, .json or a directory of OpenPose .json"
    )
