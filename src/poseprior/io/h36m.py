"""Readers for the Human3.6M-style arrays that lifting code (VideoPose3D and its descendants) passes around.

- ``data_3d_h36m.npz``: key ``positions_3d``, a pickled dict ``subject -> action -> (T, 32, 3)`` float32
  world positions in metres (Human3.6M's world frame, ``z`` up), 50 fps. The 17 joints of
  :data:`~poseprior.skeleton.layouts.H36M17` are the 32-joint indices :data:`H36M32_TO_17`.
- ``data_2d_h36m_<source>.npz``: key ``positions_2d``, a pickled dict ``subject -> action -> [4 cameras]``
  of ``(T, J, 2)`` pixel coordinates, and ``metadata`` (``layout_name`` ``"h36m"`` or ``"coco"``,
  ``num_joints``, ``keypoints_symmetry``). Ground truth files have no ``layout_name``: Human3.6M order.
- A plain ``(T, 17, 3)`` (or ``(T, 32, 3)``) array, as ``.npy``, a one-array ``.npz`` or in memory.

Everything comes back as :class:`~poseprior.io.keypoints.Keypoints`. The first two formats store pickled
Python objects: numpy can only read them with ``allow_pickle``, which can run code, so open only files
you trust.

Example:
    >>> data = read_h36m_3d("data/data_3d_h36m.npz", subjects=["S9"])  # doctest: +SKIP
    >>> data["S9"]["Walking"]  # doctest: +SKIP
    Keypoints(3294 frames at 50 fps, 17 joints, 3D in m, layout h36m17)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from poseprior.errors import FormatError, ValidationError
from poseprior.io.keypoints import Keypoints
from poseprior.skeleton.layouts import H36M17, KeypointLayout, get_layout

__all__ = ["H36M32_TO_17", "H36M_FPS", "read_h36m_3d", "read_h36m_2d", "read_h36m_positions"]

#: Indices, among Human3.6M's 32 joints, of the 17 that move (VideoPose3D's ``remove_static_joints``).
H36M32_TO_17: tuple[int, ...] = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
#: Human3.6M's motion capture and video frame rate.
H36M_FPS = 50.0


def _load(path: Path, key: str) -> tuple[dict, dict]:
    """The pickled dict under ``key`` and the ``metadata`` dict (empty when absent)."""
    try:
        npz = np.load(path, allow_pickle=True)
    except (OSError, ValueError) as e:
        raise FormatError(path, f"not a readable npz file: {e}") from e
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise FormatError(path, f"expected an .npz archive with a {key!r} key, found a single array")
    with npz:
        if key not in npz.files:
            raise FormatError(path, f"missing key {key!r} (keys: {', '.join(npz.files)})")
        data = npz[key]
        meta = npz["metadata"] if "metadata" in npz.files else None
    data = data.item() if data.dtype == object and data.shape == () else data
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise FormatError(path, f"{key!r} must be a dict subject -> action -> arrays, got {type(data).__name__}")
    meta = meta.item() if meta is not None and meta.dtype == object and meta.shape == () else {}
    return data, meta if isinstance(meta, dict) else {}


def _select(
    path: Path, data: dict, subjects: Sequence[str] | None, actions: Sequence[str] | None
) -> list[tuple[str, str]]:
    if subjects is not None:
        unknown = [s for s in subjects if s not in data]
        if unknown:
            raise ValidationError(f"subjects: {unknown} not in {path} (has {', '.join(map(str, data))})")
    picked = [(s, a) for s in (subjects if subjects is not None else data) for a in data[s]]
    if actions is not None:
        known = {a for _, a in picked}
        unknown = [a for a in actions if a not in known]
        if unknown:
            raise ValidationError(f"actions: {unknown} not in {path} for these subjects")
        picked = [(s, a) for s, a in picked if a in actions]
    return picked


def _joints17(array: Any) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim != 3 or a.shape[-1] != 3 or a.shape[1] not in (17, 32):
        raise ValidationError(f"positions: expected shape (T, 32, 3) or (T, 17, 3), got {a.shape}")
    return a[:, list(H36M32_TO_17)] if a.shape[1] == 32 else a


def _keypoints(where: str | None, positions: Any, **kwargs) -> Keypoints:
    """Keypoints from 2D ``positions``, or 3D ones of 17 or 32 joints; errors name ``where`` (a file) if given."""
    try:
        return Keypoints(_joints17(positions) if np.shape(positions)[-1:] == (3,) else positions, **kwargs)
    except ValidationError as e:
        if where is None:
            raise
        raise FormatError(where, str(e)) from e


def read_h36m_3d(
    path: str | Path, *, subjects: Sequence[str] | None = None, actions: Sequence[str] | None = None
) -> dict[str, dict[str, Keypoints]]:
    """Read VideoPose3D's ``data_3d_h36m.npz``: ``{subject: {action: Keypoints (T, 17, 3) in metres}}``.

    Args:
        path: the file.
        subjects, actions: read only these (all by default).

    Raises:
        FormatError: naming the file (and ``subject/action``) for a missing key, a wrong structure or shape,
            or NaN.
    """
    path = Path(path)
    data, _ = _load(path, "positions_3d")
    out: dict[str, dict[str, Keypoints]] = {}
    for subject, action in _select(path, data, subjects, actions):
        where = f"{path}:{subject}/{action}"
        out.setdefault(subject, {})[action] = _keypoints(
            where, data[subject][action], joint_names=H36M17.joint_names,
            fps=H36M_FPS, unit="m", layout=H36M17.name,
            metadata={"path": str(path), "subject": subject, "action": action, "frame": "Human3.6M world, z up"},
        )  # fmt: skip
    return out


def _layout_2d(path: Path, meta: dict, num_joints: int) -> KeypointLayout:
    name = meta.get("layout_name")
    if name is None:
        if num_joints != 17:
            raise FormatError(
                path, f"{num_joints} keypoints and no metadata layout_name; expected 17 (Human3.6M order)"
            )
        return H36M17
    try:
        layout = get_layout(str(name))
    except ValidationError as e:
        raise FormatError(path, f"metadata layout_name: {e}") from e
    if layout.num_joints != num_joints:
        raise FormatError(
            path, f"layout {layout.name} has {layout.num_joints} keypoints but the arrays have {num_joints}"
        )
    return layout


def read_h36m_2d(
    path: str | Path, *, subjects: Sequence[str] | None = None, actions: Sequence[str] | None = None
) -> dict[str, dict[str, list[Keypoints]]]:
    """Read a VideoPose3D ``data_2d_h36m_*.npz``: ``{subject: {action: [Keypoints (T, J, 2) per camera]}}``.

    The layout comes from ``metadata["layout_name"]`` (``"h36m"`` -> ``h36m17``, ``"coco"`` -> ``coco17``;
    Human3.6M order when absent). A third coordinate, where present, is read as the detector confidence.
    Each :class:`Keypoints` records its camera index (0-3) in ``metadata["camera"]``; the intrinsics are not
    in the file, so ``camera`` is None.
    """
    path = Path(path)
    data, meta = _load(path, "positions_2d")
    out: dict[str, dict[str, list[Keypoints]]] = {}
    for subject, action in _select(path, data, subjects, actions):
        views = data[subject][action]
        if not isinstance(views, (list, tuple)) or not views:
            raise FormatError(
                path, f"{subject}/{action}: expected a list of per-camera arrays, got {type(views).__name__}"
            )
        per_camera = []
        for cam, array in enumerate(views):
            where = f"{path}:{subject}/{action}/camera {cam}"
            a = np.asarray(array)
            if a.ndim != 3 or a.shape[-1] not in (2, 3):
                raise FormatError(where, f"expected 2D keypoints of shape (T, J, 2) or (T, J, 3), got {a.shape}")
            layout = _layout_2d(path, meta, a.shape[1])
            per_camera.append(
                _keypoints(
                    where,
                    a[..., :2],
                    joint_names=layout.joint_names,
                    fps=H36M_FPS,
                    layout=layout.name,
                    confidence=a[..., 2] if a.shape[-1] == 3 else None,
                    metadata={"path": str(path), "subject": subject, "action": action, "camera": cam},
                )  # fmt: skip
            )
        out.setdefault(subject, {})[action] = per_camera
    return out


def read_h36m_positions(
    source: str | Path | np.ndarray, *, unit: str | float = "m", fps: float = H36M_FPS
) -> Keypoints:
    """Human3.6M-ordered 3D keypoints from a plain ``(T, 17, 3)`` or ``(T, 32, 3)`` array.

    Args:
        source: an array, a ``.npy`` file, or an ``.npz`` holding exactly one array.
        unit: the array's length unit (metres by default, as in VideoPose3D; Human3.6M's own files are mm).
        fps: frame rate (Human3.6M's 50 by default).
    """
    where = None
    if isinstance(source, (str, Path)):
        where = str(source)
        try:
            loaded = np.load(source, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise FormatError(where, f"not a readable .npy/.npz file: {e}") from e
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                if len(loaded.files) != 1:
                    raise FormatError(where, f"expected one array in the npz, found {loaded.files}")
                loaded = loaded[loaded.files[0]]
        source = loaded
    return _keypoints(
        where,
        source,
        joint_names=H36M17.joint_names,
        fps=fps,
        unit=unit,
        layout=H36M17.name,
        metadata={"path": where} if where else {},
    )
