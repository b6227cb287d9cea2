"""Plausibility limits the readers hold a file to: numbers that parse but make no physical sense (a frame
time of 1e-300 s, an angle of 1e30 degrees, a joint 1e30 cm away) are refused with the frame and joint,
rather than turned into a motion that looks fine and is garbage.

The limits are far outside any capture: frame times from 0.1 ms (10,000 fps) to 10 s, angles within
:data:`MAX_ANGLE_DEG` (a hundred turns; BVH exporters write unwrapped angles of a few thousand degrees), and
positions within :data:`MAX_DISTANCE_MM` (100 km) of the origin.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from poseprior.errors import FormatError

__all__ = [
    "FRAME_TIME_S",
    "MAX_ANGLE_DEG",
    "MAX_DISTANCE_MM",
    "MAX_PIXELS",
    "check_frame_time",
    "check_fps",
    "first_beyond",
    "check_motion",
    "check_keypoints",
]

#: Open interval of plausible frame times, seconds.
FRAME_TIME_S = (1e-4, 10.0)
#: Largest plausible magnitude of a written Euler angle, degrees.
MAX_ANGLE_DEG = 36_000.0
#: Largest plausible distance of a position from the origin, millimetres.
MAX_DISTANCE_MM = 1e8
#: Largest plausible pixel coordinate.
MAX_PIXELS = 1e6


def check_frame_time(seconds: float, source: str | Path, line: int | None = None, written: str | None = None) -> None:
    """Raise :class:`FormatError` unless ``seconds`` lies in :data:`FRAME_TIME_S`."""
    low, high = FRAME_TIME_S
    if not (math.isfinite(seconds) and low < seconds < high):
        text = written if written is not None else f"{seconds:g}"
        raise FormatError(
            source, f"frame time {text} s is outside ({low:g} s, {high:g} s): not a capture's frame rate", line=line
        )


def check_fps(fps: float, source: str | Path, what: str = "frame rate") -> None:
    """Raise :class:`FormatError` unless ``1 / fps`` lies in :data:`FRAME_TIME_S` (``what`` names the field)."""
    low, high = FRAME_TIME_S
    if not (math.isfinite(fps) and 1 / high < fps < 1 / low):
        raise FormatError(
            source, f"{what} {fps:g} fps is outside ({1 / high:g}, {1 / low:g}): not a capture's frame rate"
        )


def first_beyond(values: torch.Tensor, limit: float) -> tuple[int, int] | None:
    """``(frame, column)`` of the first value of ``values (T, C)`` whose magnitude passes ``limit``, or None."""
    bad = values.abs() > limit
    if not bool(bad.any()):
        return None
    t = int(bad.any(dim=1).nonzero()[0])
    return t, int(bad[t].nonzero()[0])


def check_motion(motion, source: str | Path) -> None:
    """Raise :class:`FormatError` for a motion whose frame rate or positions make no sense: the frame rate
    outside :data:`FRAME_TIME_S`, or a root or joint position beyond :data:`MAX_DISTANCE_MM` (naming the
    frame and joint)."""
    check_fps(motion.fps, source)
    names = motion.skeleton.joint_names
    limit = MAX_DISTANCE_MM / motion.unit
    hit = first_beyond(motion.root_translation.flatten(1), limit)
    if hit is not None:
        raise FormatError(
            source,
            f"frame {hit[0] + 1}: the root of {names[0]!r} is {_far(motion.root_translation[hit[0]], motion.unit)}",
        )
    if motion.translations is not None:
        hit = first_beyond(motion.translations.flatten(1), limit)
        if hit is not None:
            j = hit[1] // 3
            raise FormatError(
                source,
                f"frame {hit[0] + 1}: joint {names[j]!r} is offset {_far(motion.translations[hit[0], j], motion.unit)}",
            )


def _far(v: torch.Tensor, unit_mm: float) -> str:
    return f"{float(v.abs().max()) * unit_mm / 1e6:.3g} km from the origin (limit {MAX_DISTANCE_MM / 1e6:g} km)"


def check_keypoints(keypoints, source: str | Path, min_frames: int = 1):
    """``keypoints`` (a :class:`~poseprior.io.Keypoints`), if their frame rate, positions and length make sense:
    :class:`FormatError` for a frame rate outside :data:`FRAME_TIME_S`, a 3D point beyond
    :data:`MAX_DISTANCE_MM` or a pixel beyond :data:`MAX_PIXELS` (naming the frame and joint), or fewer than
    ``min_frames`` frames."""
    check_fps(keypoints.fps, source)
    if keypoints.num_frames < min_frames:
        raise FormatError(source, f"has {keypoints.num_frames} frames; at least {min_frames} needed")
    values = torch.as_tensor(keypoints.positions).flatten(1)
    limit = MAX_PIXELS if keypoints.dims == 2 else MAX_DISTANCE_MM / keypoints.unit
    hit = first_beyond(torch.nan_to_num(values, nan=0.0), limit)
    if hit is not None:
        what = "pixels from the image origin" if keypoints.dims == 2 else f"{keypoints.unit:g} mm units from the origin"
        raise FormatError(
            source,
            f"frame {hit[0] + 1}, keypoint {keypoints.joint_names[hit[1] // keypoints.dims]!r}: {float(values[hit]):g} {what} is beyond sense (limit {limit:g})",
        )
    return keypoints
