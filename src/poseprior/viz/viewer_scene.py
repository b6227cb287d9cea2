"""What the 3D viewer draws, without any server: :class:`MotionScene`, a few skeletons animated over time.

Everything here is plain numpy, in the viewer's frame: metres, Z up (viser's default world frame), so it is
testable without a browser. :mod:`poseprior.viz.viewer` serves a scene with viser.

Motion files are Y-up (BVH, the CMU and Bandai data) or Z-up (AMASS); :func:`to_z_up` turns them upright by
a proper rotation (left stays left): ``up="y"`` maps ``(x, y, z) -> (x, -z, y)``, ``up="-y"`` (camera frame:
x right, y down, z forward) maps ``(x, y, z) -> (x, z, -y)``.

Example:
    >>> walk = SceneMotion("walk", np.zeros((2, 3, 3)), parents=(-1, 0, 1), fps=30.0)
    >>> scene = MotionScene((walk,))
    >>> scene.num_frames, scene.bones(0).tolist()
    (2, [[0, 1], [1, 2]])
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib
import numpy as np

from poseprior.errors import ValidationError

__all__ = ["UP_AXES", "SceneMotion", "MotionScene", "to_z_up", "bone_transforms", "value_colors_rgb"]

#: Values of ``up``: which axis of the data points up.
UP_AXES = ("y", "z", "-y")


def to_z_up(points: np.ndarray, up: str) -> np.ndarray:
    """``(..., 3)`` points whose up axis is ``up`` (see :data:`UP_AXES`), turned so that Z is up.

    Example:
        >>> to_z_up(np.array([1.0, 2.0, 3.0]), "y").tolist()  # 2 up, 3 towards the viewer
        [1.0, -3.0, 2.0]
    """
    if up not in UP_AXES:
        raise ValidationError(f"up: expected one of {UP_AXES}, got {up!r}")
    p = np.asarray(points, dtype=np.float64)
    if up == "z":
        return p.copy()
    if up == "-y":
        return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


@dataclass(frozen=True, eq=False)
class SceneMotion:
    """One skeleton animated over ``T`` frames, as the viewer draws it.

    Attributes:
        name: shown beside the skeleton and in the GUI (usually the file name).
        positions: ``(T, J, 3)`` joint positions in metres, Z up; NaN marks a joint missing in a frame.
        parents: ``J`` parent indices, ``-1`` for a joint drawn without a bone to a parent.
        fps: frames per second.
        joint_names: ``J`` names (empty: unnamed).
        hypotheses: optional ``(T, H, J, 3)`` alternative poses (a fit's restarts, a lifter's samples), metres.
        joint_values: optional ``(T, J)`` value per joint and frame to colour joints by (NaN: no value).
        value_label: what ``joint_values`` are, with their unit (``"distance to noisy.npz (mm)"``).
        frame_values: per-frame numbers shown as text (``{"objective": (T,)}``).
        note: one line about how the motion was read, shown in the GUI (``""`` for none).
        edges: extra ``(a, b)`` joint pairs drawn as bones besides the parent links: the edges of a keypoint
            layout that are not a tree (COCO-17's shoulder-hip loop).
    """

    name: str
    positions: np.ndarray
    parents: tuple[int, ...]
    fps: float
    joint_names: tuple[str, ...] = ()
    hypotheses: np.ndarray | None = None
    joint_values: np.ndarray | None = None
    value_label: str = ""
    frame_values: Mapping[str, np.ndarray] = field(default_factory=dict)
    note: str = ""
    edges: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        p = np.asarray(self.positions, dtype=np.float64)
        if p.ndim != 3 or p.shape[-1] != 3 or p.shape[0] < 1 or p.shape[1] < 1:
            raise ValidationError(f"positions: expected shape (T, J, 3) with T, J >= 1, got {p.shape}")
        T, J, _ = p.shape
        object.__setattr__(self, "positions", p)
        parents = tuple(int(i) for i in self.parents)
        if len(parents) != J or any(not -1 <= i < J or i == j for j, i in enumerate(parents)):
            raise ValidationError(f"parents: expected {J} indices in [-1, {J}) (none its own parent), got {parents}")
        object.__setattr__(self, "parents", parents)
        edges = tuple((int(a), int(b)) for a, b in self.edges)
        if any(not (0 <= a < J and 0 <= b < J) or a == b for a, b in edges):
            raise ValidationError(f"edges: expected pairs of distinct joint indices in [0, {J}), got {edges}")
        object.__setattr__(self, "edges", edges)
        names = tuple(str(n) for n in self.joint_names)
        if names and len(names) != J:
            raise ValidationError(f"joint_names: expected {J} names, got {len(names)}")
        object.__setattr__(self, "joint_names", names)
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValidationError(f"fps: must be a positive number, got {self.fps!r}")
        object.__setattr__(self, "fps", float(self.fps))
        if self.hypotheses is not None:
            h = np.asarray(self.hypotheses, dtype=np.float64)
            if h.ndim != 4 or h.shape[0] != T or h.shape[2:] != (J, 3):
                raise ValidationError(f"hypotheses: expected shape ({T}, H, {J}, 3), got {h.shape}")
            object.__setattr__(self, "hypotheses", h)
        if self.joint_values is not None:
            v = np.asarray(self.joint_values, dtype=np.float64)
            if v.shape == (J,):
                v = np.broadcast_to(v, (T, J))
            if v.shape != (T, J):
                raise ValidationError(f"joint_values: expected shape ({T}, {J}) or ({J},), got {v.shape}")
            object.__setattr__(self, "joint_values", v)
        frame_values = {str(k): np.asarray(v, dtype=np.float64) for k, v in self.frame_values.items()}
        for key, v in frame_values.items():
            if v.shape != (T,):
                raise ValidationError(f"frame_values[{key!r}]: expected shape ({T},), got {v.shape}")
        object.__setattr__(self, "frame_values", frame_values)

    @property
    def num_frames(self) -> int:
        """``T``."""
        return self.positions.shape[0]

    @property
    def num_joints(self) -> int:
        """``J``."""
        return self.positions.shape[1]


@dataclass(frozen=True, eq=False)
class MotionScene:
    """Skeletons shown together, side by side along X, on one clock.

    The first motion sets the clock: the frame slider runs over its frames, and at its frame ``t`` (time
    ``t / fps``) every other motion shows its frame nearest that time (held at its last frame).

    Attributes:
        motions: one or more :class:`SceneMotion`.
        gap: metres of free space between two motions placed side by side.
    """

    motions: tuple[SceneMotion, ...]
    gap: float = 0.5

    def __post_init__(self) -> None:
        motions = tuple(self.motions)
        if not motions or not all(isinstance(m, SceneMotion) for m in motions):
            raise ValidationError("motions: expected one or more SceneMotion")
        object.__setattr__(self, "motions", motions)
        if not (math.isfinite(self.gap) and self.gap >= 0):
            raise ValidationError(f"gap: expected a non-negative number of metres, got {self.gap!r}")

    @property
    def num_frames(self) -> int:
        """Frames on the slider: the first motion's ``T``."""
        return self.motions[0].num_frames

    @property
    def fps(self) -> float:
        """The clock's frame rate: the first motion's."""
        return self.motions[0].fps

    @property
    def has_hypotheses(self) -> bool:
        return any(m.hypotheses is not None for m in self.motions)

    def frame_of(self, motion: int, frame: int) -> int:
        """The frame of ``motions[motion]`` shown at the clock's ``frame``."""
        m = self.motions[motion]
        t = frame / self.fps
        return int(min(max(round(t * m.fps), 0), m.num_frames - 1))

    def bones(self, motion: int) -> np.ndarray:
        """``(B, 2)`` int joint pairs of ``motions[motion]`` drawn as bones: ``(parent, child)`` links, then its
        extra ``edges`` not among them."""
        m = self.motions[motion]
        pairs = [(p, j) for j, p in enumerate(m.parents) if p >= 0]
        links = {frozenset(pair) for pair in pairs}
        pairs += [(a, b) for a, b in m.edges if frozenset((a, b)) not in links]
        return np.array(pairs, dtype=np.int64).reshape(-1, 2)

    def placements(self) -> np.ndarray:
        """``(M, 3)`` translation added to each motion (and its hypotheses) so that it stands on the ground
        (``z = 0`` at its lowest joint) and the motions sit side by side along X, the first centred at the
        origin, each centred on its own bounding box, ``gap`` metres apart."""
        out = np.zeros((len(self.motions), 3))
        cursor = 0.0
        for k, m in enumerate(self.motions):
            lo, hi = _bounds(m)
            half_width = (hi[0] - lo[0]) / 2
            centre_x = cursor + (half_width if k else 0.0)
            out[k] = (centre_x - (lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2])
            cursor = centre_x + half_width + self.gap
        return out

    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` corners ``(3,)`` of the placed scene's bounding box, in metres."""
        lows, highs = [], []
        for m, shift in zip(self.motions, self.placements(), strict=False):
            lo, hi = _bounds(m)
            lows.append(lo + shift)
            highs.append(hi + shift)
        return np.min(lows, axis=0), np.max(highs, axis=0)

    def value_ranges(self) -> dict[str, tuple[float, float]]:
        """Per value label, the ``(low, high)`` of the finite joint values of all motions carrying it: motions
        with the same label share one colour scale."""
        by_label: dict[str, list[np.ndarray]] = {}
        for m in self.motions:
            if m.joint_values is not None:
                by_label.setdefault(m.value_label, []).append(m.joint_values[np.isfinite(m.joint_values)])
        out = {}
        for label, parts in by_label.items():
            v = np.concatenate([p.ravel() for p in parts])
            out[label] = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
        return out

    def camera(self) -> tuple[np.ndarray, np.ndarray]:
        """``(position, look_at)`` of a camera in front of the placed scene, looking along +Y at its centre from a
        little above, close enough that the scene's width and height fill about 80% of a 75 degree view."""
        lo, hi = self.extent()
        centre = (lo + hi) / 2
        width, depth, height = np.maximum(hi - lo, 0.5)
        half_fov = math.radians(75.0) / 2
        # distance from the scene's front face that fits the height, and the width on a 4:3 screen
        distance = max(height / 2, width / 2 / (4 / 3)) / math.tan(half_fov) / 0.8
        position = np.array([centre[0], lo[1] - distance, centre[2] + 0.25 * distance])
        return position, centre


def _bounds(m: SceneMotion) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` ``(3,)`` over every frame and joint of ``m`` (zeros when all are missing)."""
    p = m.positions.reshape(-1, 3)
    p = p[np.isfinite(p).all(axis=1)]
    if not len(p):
        return np.zeros(3), np.zeros(3)
    return p.min(axis=0), p.max(axis=0)


def bone_transforms(positions: np.ndarray, bones: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where to put a unit cylinder (along Z, centred at the origin) to draw each bone.

    Args:
        positions: ``(..., J, 3)`` joint positions.
        bones: ``(B, 2)`` ``(parent, child)`` joint indices.

    Returns:
        ``centres (..., B, 3)``, unit quaternions ``wxyz (..., B, 4)`` turning Z onto the bone, and bone
        ``lengths (..., B)``; a bone with a missing (NaN) end gets length 0 at the origin.

    Example:
        >>> c, q, n = bone_transforms(np.array([[0.0, 0, 0], [0, 0, 2]]), np.array([[0, 1]]))
        >>> c.tolist(), q.tolist(), n.tolist()
        ([[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0, 0.0]], [2.0])
    """
    a, b = positions[..., bones[:, 0], :], positions[..., bones[:, 1], :]
    ok = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    a, b = np.where(ok[..., None], a, 0.0), np.where(ok[..., None], b, 0.0)
    d = b - a
    lengths = np.linalg.norm(d, axis=-1)
    u = d / np.maximum(lengths, 1e-12)[..., None]
    # Half-way quaternion from Z to u: (1 + z.u, z x u), normalised; undefined only for u = -Z.
    w = 1.0 + u[..., 2]
    q = np.stack([w, 0.0 - u[..., 1], u[..., 0], np.zeros_like(w)], axis=-1)  # 0 - 0 is +0, not -0
    flipped = w < 1e-9
    q[flipped] = (0.0, 1.0, 0.0, 0.0)  # half a turn about X
    short = lengths < 1e-12
    q[short] = (1.0, 0.0, 0.0, 0.0)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return (a + b) / 2, q, lengths


def value_colors_rgb(
    values: np.ndarray, low: float, high: float, cmap: str = "viridis", missing: Sequence[int] = (150, 150, 150)
) -> np.ndarray:
    """``(..., 3)`` uint8 colours of ``values`` mapped linearly from ``[low, high]`` onto matplotlib's ``cmap``
    (clipped at the ends); NaN values get ``missing``.

    Example:
        >>> value_colors_rgb(np.array([0.0, np.nan]), 0.0, 1.0).tolist()
        [[68, 1, 84], [150, 150, 150]]
    """
    v = np.asarray(values, dtype=np.float64)
    t = np.clip((v - low) / (high - low), 0.0, 1.0) if high > low else np.zeros_like(v)
    rgb = (matplotlib.colormaps[cmap](np.nan_to_num(t))[..., :3] * 255).round().astype(np.uint8)
    rgb[~np.isfinite(v)] = missing
    return rgb
