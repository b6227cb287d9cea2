"""3D stick-figure plots of poses with matplotlib's Agg backend (no display needed, no pyplot state).

Motion files are Y-up (BVH, the CMU and Bandai data) or Z-up (AMASS); matplotlib's 3D axes are Z-up, so
points are turned by the proper rotation ``(x, y, z) -> (x, -z, y)`` when ``up="y"``: the figure stands
upright and keeps its handedness (left stays left).

Example:
    >>> positions = motion.positions()[::30][:4]  # doctest: +SKIP
    >>> fig = plot_poses(positions, motion.skeleton.parents, up="y", titles=["0 s", "1 s", "2 s", "3 s"])  # doctest: +SKIP
    >>> save_figure(fig, "poses.png")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from poseprior._atomic import atomic_path
from poseprior.errors import ValidationError
from poseprior.skeleton import Skeleton

__all__ = ["plot_skeleton", "plot_poses", "save_figure", "side_colors"]

_UP = ("y", "z")
# Colours for joints on one side, the other side, and the midline (matplotlib's tab10 blue/orange, grey).
_SIDE_COLORS = ("tab:blue", "tab:orange", "0.25")


def _to_plot_frame(points: np.ndarray, up: str) -> np.ndarray:
    """``(..., 3)`` points in the data's frame to matplotlib's Z-up frame."""
    if up not in _UP:
        raise ValidationError(f"up: expected one of {_UP}, got {up!r}")
    if up == "z":
        return points
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def _as_points(positions: torch.Tensor | np.ndarray, name: str, ndim: int) -> np.ndarray:
    p = positions.detach().cpu().numpy() if isinstance(positions, torch.Tensor) else np.asarray(positions)
    if p.ndim != ndim or p.shape[-1] != 3:
        shape = "(K, 3)" if ndim == 2 else "(N, K, 3)"
        raise ValidationError(f"{name}: expected shape {shape}, got {p.shape}")
    if not np.isfinite(p).all():
        raise ValidationError(f"{name}: contains NaN or inf")
    return p.astype(np.float64)


def side_colors(skeleton: Skeleton) -> list[str]:
    """One matplotlib colour per joint: one for each side of the body (the side listed first in the file
    gets blue), grey for the midline; all grey when joint names do not mark sides consistently."""
    try:
        mirror = skeleton.mirror_indices()
    except ValidationError:
        return [_SIDE_COLORS[2]] * skeleton.num_joints
    return [_SIDE_COLORS[0] if m > j else _SIDE_COLORS[1] if m < j else _SIDE_COLORS[2] for j, m in enumerate(mirror)]


def plot_skeleton(
    ax: Axes,
    positions: torch.Tensor | np.ndarray,
    parents: Sequence[int],
    *,
    up: str = "y",
    colors: Sequence[str] | None = None,
    linewidth: float = 2.0,
    joint_size: float = 6.0,
) -> None:
    """Draw one pose on a 3D ``ax``: a segment from each joint to its parent and a dot per joint.

    Args:
        ax: a matplotlib 3D axes (``projection="3d"``).
        positions: ``(K, 3)`` global joint positions, any length unit.
        parents: ``K`` parent indices, ``-1`` for the root.
        up: the data's up axis, ``"y"`` or ``"z"``.
        colors: optional colour per joint; a bone takes its child joint's colour.
        linewidth: bone width in points.
        joint_size: joint marker area in points squared (0 hides the joints).
    """
    p = _to_plot_frame(_as_points(positions, "positions", 2), up)
    K = p.shape[0]
    if len(parents) != K:
        raise ValidationError(f"parents: expected {K} entries (one per joint), got {len(parents)}")
    colors = list(colors) if colors is not None else [_SIDE_COLORS[2]] * K
    if len(colors) != K:
        raise ValidationError(f"colors: expected {K} entries (one per joint), got {len(colors)}")
    for j, parent in enumerate(parents):
        if parent >= 0:
            seg = p[[parent, j]]
            ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=colors[j], linewidth=linewidth, solid_capstyle="round")
    if joint_size > 0:
        ax.scatter(p[:, 0], p[:, 1], p[:, 2], s=joint_size, c=colors, depthshade=False)


def plot_poses(
    positions: torch.Tensor | np.ndarray,
    parents: Sequence[int],
    *,
    up: str = "y",
    titles: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    panel_size: float = 3.0,
    dpi: int = 100,
    elev: float = 15.0,
    azim: float = -60.0,
) -> Figure:
    """A figure with the ``N`` poses side by side, one 3D panel each.

    Every panel has the same scale (the largest pose extent over all panels) and is centred horizontally
    on its own pose, so a clip that travels far still fills each panel; the vertical range is shared, with
    a grey grid on the floor (the lowest point over all poses along the up axis) under each pose.

    Args:
        positions: ``(N, K, 3)`` global joint positions.
        parents: ``K`` parent indices.
        up: the data's up axis, ``"y"`` or ``"z"``.
        titles: optional ``N`` panel titles.
        colors: optional colour per joint (see :func:`side_colors`).
        panel_size: width and height of each panel in inches.
        dpi: resolution when saved; the picture is ``N * panel_size * dpi`` by ``panel_size * dpi`` pixels.
        elev, azim: the camera's elevation and azimuth in degrees (matplotlib's ``view_init``).

    Returns:
        A :class:`matplotlib.figure.Figure` drawn on an Agg canvas; save it with :func:`save_figure`.
    """
    p = _as_points(positions, "positions", 3)
    N = p.shape[0]
    if N == 0:
        raise ValidationError("positions: need at least one pose to plot")
    if titles is not None and len(titles) != N:
        raise ValidationError(f"titles: expected {N} entries (one per pose), got {len(titles)}")
    q = _to_plot_frame(p, up)
    centres = (q.max(axis=1) + q.min(axis=1)) / 2
    floor, top = float(q[..., 2].min()), float(q[..., 2].max())
    # Horizontally each panel follows its pose; vertically all share the floor, so jumps show.
    centres[:, 2] = (floor + top) / 2
    half = max(float((q.max(axis=1) - q.min(axis=1))[:, :2].max()), top - floor, 1e-9) / 2 * 1.05

    fig = Figure(figsize=(panel_size * N, panel_size), dpi=dpi)
    FigureCanvasAgg(fig)
    for i in range(N):
        ax = fig.add_subplot(1, N, i + 1, projection="3d")
        cx, cy, cz = centres[i]
        _floor_grid(ax, cx, cy, floor, half)
        plot_skeleton(ax, p[i], parents, up=up, colors=colors)
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy - half, cy + half)
        ax.set_zlim(cz - half, cz + half)
        ax.set_box_aspect((1, 1, 1), zoom=1.25)
        ax.view_init(elev=elev, azim=azim)
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=0.92, wspace=0)
    return fig


def _floor_grid(ax: Axes, cx: float, cy: float, floor: float, half: float, lines: int = 5) -> None:
    """A light square grid on the floor plane under a pose, so the ground and the scale read at a glance."""
    ticks = np.linspace(-half, half, lines)
    for t in ticks:
        ax.plot([cx - half, cx + half], [cy + t, cy + t], [floor, floor], color="0.85", linewidth=0.8)
        ax.plot([cx + t, cx + t], [cy - half, cy + half], [floor, floor], color="0.85", linewidth=0.8)


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` atomically, the format taken from the extension (``.png``, ``.pdf``, ``.svg``)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if not fmt:
        raise ValidationError(f"path: needs an extension naming the image format, got {str(path)!r}")
    if fmt not in fig.canvas.get_supported_filetypes():
        raise ValidationError(f"path: unsupported image format {fmt!r}; use one of {sorted(fig.canvas.get_supported_filetypes())}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt)
    return path
