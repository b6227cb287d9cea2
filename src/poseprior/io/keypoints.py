"""The :class:`Keypoints`: keypoint sequences without rotations (detections, Human3.6M arrays), and their npz.

The keypoints npz holds:

================  =========================================================================================
key               value
================  =========================================================================================
``positions``     ``(T, J, 3)`` 3D keypoints, or instead
``keypoints_2d``  ``(T, J, 2)`` image keypoints in pixels (x right, y down)
``joint_names``   ``(J,)`` strings, or instead
``layout``        a layout name, ``"h36m17"`` or ``"coco17"`` (:mod:`poseprior.skeleton.layouts`)
``mask``          optional ``(T, J)`` bool, True where the keypoint is visible (NaN allowed elsewhere)
``confidence``    optional ``(T, J)`` detector scores
``camera``        optional ``(3, 3)`` intrinsics ``K`` of the camera of ``keypoints_2d``
``fps``           frame rate (or pass ``fps=`` to the reader)
``unit``          for 3D: millimetres per unit (a number) or a unit name such as ``"m"`` (or pass ``unit=``)
================  =========================================================================================

Example:
    >>> kp = Keypoints(np.zeros((2, 17, 3)), get_layout("h36m17").joint_names, fps=50, unit="m", layout="h36m17")
    >>> kp
    Keypoints(2 frames at 50 fps, 17 joints, 3D in m, layout h36m17)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from poseprior._atomic import atomic_open
from poseprior.errors import FormatError, ValidationError
from poseprior.io.npz import npz_errors, open_npz
from poseprior.io.units import unit_name, unit_to_mm
from poseprior.skeleton.layouts import get_layout

__all__ = ["Keypoints", "read_keypoints_npz", "write_keypoints_npz"]


@dataclass(frozen=True, eq=False)
class Keypoints:
    """``T`` frames of ``J`` named keypoints in 3D or in an image, without joint rotations.

    Attributes:
        positions: ``(T, J, 3)`` float64 3D positions in ``unit``, or ``(T, J, 2)`` pixel coordinates.
        joint_names: ``J`` keypoint names.
        fps: frames per second.
        unit: millimetres per length unit for 3D keypoints (a name such as ``"m"`` is converted);
            ``None`` for 2D (pixels).
        mask: optional ``(T, J)`` bool, True where visible; invisible entries may be NaN.
        confidence: optional ``(T, J)`` float64 detector scores.
        camera: optional ``(3, 3)`` intrinsics of the camera the 2D keypoints are in.
        layout: the layout name when the keypoints follow one (``"h36m17"``, ``"coco17"``), else None.
        metadata: free-form facts about the source.

    Construction checks shapes and that every visible value is finite.
    """

    positions: np.ndarray
    joint_names: tuple[str, ...]
    fps: float
    unit: float | str | None = None
    mask: np.ndarray | None = None
    confidence: np.ndarray | None = None
    camera: np.ndarray | None = None
    layout: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pos = np.asarray(self.positions, dtype=np.float64)
        names = tuple(str(n) for n in self.joint_names)
        object.__setattr__(self, "positions", pos)
        object.__setattr__(self, "joint_names", names)
        if pos.ndim != 3 or pos.shape[-1] not in (2, 3):
            raise ValidationError(f"positions: expected shape (T, J, 3) or (T, J, 2), got {pos.shape}")
        T, J, D = pos.shape
        if len(names) != J or len(set(names)) != J:
            raise ValidationError(
                f"joint_names: expected {J} unique names, got {len(names)} ({len(set(names))} unique)"
            )
        if self.layout is not None:
            layout = get_layout(self.layout)
            if layout.joint_names != names:
                raise ValidationError(f"layout: joint_names are not those of layout {layout.name}")
            object.__setattr__(self, "layout", layout.name)
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValidationError(f"fps: must be a positive number, got {self.fps!r}")
        object.__setattr__(self, "fps", float(self.fps))
        if D == 3 and self.unit is None:
            raise ValidationError("unit: 3D keypoints need a length unit (a name such as 'm', or millimetres per unit)")
        if D == 2 and self.unit is not None:
            raise ValidationError("unit: 2D keypoints are in pixels; leave unit as None")
        if self.unit is not None:
            object.__setattr__(self, "unit", unit_to_mm(self.unit))
        for name in ("mask", "confidence"):
            value = getattr(self, name)
            if value is None:
                continue
            value = np.asarray(value, dtype=bool if name == "mask" else np.float64)
            if value.shape != (T, J):
                raise ValidationError(f"{name}: expected shape ({T}, {J}), got {value.shape}")
            object.__setattr__(self, name, value)
        if self.camera is not None:
            K = np.asarray(self.camera, dtype=np.float64)
            if K.shape != (3, 3) or not np.isfinite(K).all():
                raise ValidationError(f"camera: expected finite (3, 3) intrinsics, got shape {K.shape}")
            object.__setattr__(self, "camera", K)
        visible = self.visible
        bad = ~np.isfinite(pos).all(-1) & visible
        if bad.any():
            t, j = np.argwhere(bad)[0]
            hint = "" if self.mask is not None else " (give a mask to mark missing keypoints)"
            raise ValidationError(f"positions: NaN or inf at visible keypoint {names[j]!r}, frame {t}{hint}")
        if self.confidence is not None and not np.isfinite(self.confidence[visible]).all():
            raise ValidationError("confidence: NaN or inf at a visible keypoint")

    @property
    def num_frames(self) -> int:
        """``T``."""
        return self.positions.shape[0]

    @property
    def num_joints(self) -> int:
        """``J``."""
        return self.positions.shape[1]

    @property
    def dims(self) -> int:
        """3 for 3D keypoints, 2 for image keypoints."""
        return self.positions.shape[2]

    @property
    def visible(self) -> np.ndarray:
        """``(T, J)`` bool: the mask, or all True."""
        return self.mask if self.mask is not None else np.ones(self.positions.shape[:2], dtype=bool)

    def __len__(self) -> int:
        return self.num_frames

    def __repr__(self) -> str:
        space = f"3D in {unit_name(self.unit)}" if self.dims == 3 else "2D in pixels"
        layout = f", layout {self.layout}" if self.layout else ""
        return f"Keypoints({self.num_frames} frames at {self.fps:g} fps, {self.num_joints} joints, {space}{layout})"

    def frames(self, index: slice | list[int] | np.ndarray) -> Keypoints:
        """The keypoints restricted to some frames (``fps`` unchanged)."""

        def pick(a):
            return None if a is None else a[index]

        return replace(self, positions=self.positions[index], mask=pick(self.mask), confidence=pick(self.confidence))

    def with_unit(self, unit: str | float) -> Keypoints:
        """3D keypoints converted to another length unit (name or millimetres per unit)."""
        if self.dims != 3:
            raise ValidationError("unit: 2D keypoints are in pixels and have no length unit")
        target = unit_to_mm(unit)
        return replace(self, positions=self.positions * (self.unit / target), unit=target)


def _text(value: np.ndarray) -> str:
    item = np.asarray(value).item()
    return item.decode() if isinstance(item, bytes) else str(item)


def read_keypoints_npz(path: str | Path, *, fps: float | None = None, unit: str | float | None = None) -> Keypoints:
    """Read a keypoints npz (layout in the module docstring).

    Args:
        path: the ``.npz`` file.
        fps: frame rate when the file has no ``fps`` key (the file's value wins otherwise).
        unit: for 3D files without a ``unit`` key: the unit name or millimetres per unit.

    Raises:
        FormatError: naming the file, for a missing or ambiguous key, bad shapes, NaN at visible keypoints,
            or a missing frame rate or unit.
    """
    path = Path(path)
    with npz_errors(path), open_npz(path) as npz:
        keys = set(npz.files)
        if ("positions" in keys) == ("keypoints_2d" in keys):
            raise FormatError(
                path, f"expected exactly one of 'positions' (3D) or 'keypoints_2d' (2D); keys: {sorted(keys)}"
            )
        if ("joint_names" in keys) == ("layout" in keys):
            raise FormatError(path, f"expected exactly one of 'joint_names' or 'layout'; keys: {sorted(keys)}")
        positions = npz["positions" if "positions" in keys else "keypoints_2d"]
        try:
            layout = get_layout(_text(npz["layout"])) if "layout" in keys else None
        except ValidationError as e:
            raise FormatError(path, str(e)) from e
        names = layout.joint_names if layout else tuple(_text(n) for n in npz["joint_names"])
        if "fps" in keys:
            fps = float(npz["fps"])
        if fps is None:
            raise FormatError(path, "no 'fps' key: give the frame rate (--fps on the command line, fps= in Python)")
        if "positions" in keys:
            if "unit" in keys:
                u = npz["unit"]
                unit = _text(u) if u.dtype.kind in "US" else float(u)
            if unit is None:
                raise FormatError(
                    path,
                    "3D keypoints without a 'unit' key: give the unit (--unit on the command line, unit= in Python; e.g. m or mm)",
                )
        else:
            unit = None
        optional = {k: npz[k] for k in ("mask", "confidence", "camera") if k in keys}
    try:
        return Keypoints(
            positions, names, fps=fps, unit=unit, layout=layout.name if layout else None,
            metadata={"path": str(path), "format": "keypoints-npz"}, **optional,
        )  # fmt: skip
    except ValidationError as e:
        raise FormatError(path, str(e)) from e


def write_keypoints_npz(kp: Keypoints, path: str | Path) -> None:
    """Write ``kp`` as a keypoints npz that :func:`read_keypoints_npz` reads back unchanged (atomically)."""
    arrays: dict[str, Any] = {"positions" if kp.dims == 3 else "keypoints_2d": kp.positions, "fps": np.float64(kp.fps)}
    if kp.layout:
        arrays["layout"] = np.str_(kp.layout)
    else:
        arrays["joint_names"] = np.array(kp.joint_names, dtype=str)
    if kp.dims == 3:
        arrays["unit"] = np.float64(kp.unit)
    for name in ("mask", "confidence", "camera"):
        if getattr(kp, name) is not None:
            arrays[name] = getattr(kp, name)
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)
