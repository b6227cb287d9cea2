"""3D stick-figure plots of poses with matplotlib's Agg backend (no display needed, no pyplot state).

Motion files are Y-up (BVH, the CMU and Bandai data) or Z-up (AMASS); matplotlib's 3D axes are Z-up, so
points are turned by the proper rotation ``(x, y, z) -> (x, -z, y)`` when ``up="y"``: the figure stands
upright and keeps its handedness (left stays left). Camera-frame poses (a lifter's output: x right, y down,
z forward) take ``up="-y"``, the rotation ``(x, y, z) -> (x, z, -y)``: the pose stands upright and depth
runs away from the viewer, so ``elev=0, azim=-90`` shows it as the camera saw it.

Joints can be coloured by a value each (error in mm, log-likelihood) with ``joint_values``; see
:mod:`poseprior.viz.colors`.

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
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

from poseprior._atomic import atomic_path
from poseprior.errors import ValidationError
from poseprior.skeleton import Skeleton
from poseprior.viz.colors import _as_values, value_colors, value_mappable

__all__ = ["plot_skeleton", "plot_poses", "save_figure", "side_colors"]

_UP = ("y", "z", "-y")
# Colours for joints on one side, the other side, and the midline (matplotlib's tab10 blue/orange, grey).
_SIDE_COLORS = ("tab:blue", "tab:orange", "0.25")


def _to_plot_frame(points: np.ndarray, up: str) -> np.ndarray:
    """``(..., 3)`` points in the data's frame to matplotlib's Z-up frame, by a proper rotation.

    ``up="y"``: Y-up data, ``(x, y, z) -> (x, -z, y)``; ``"z"``: Z-up data, unchanged; ``"-y"``: camera
    frame (x right, y down, z forward), ``(x, y, z) -> (x, z, -y)``.
    """
    if up not in _UP:
        raise ValidationError(f"up: expected one of {_UP}, got {up!r}")
    if up == "z":
        return points
    if up == "-y":
        return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def _as_points(positions: torch.Tensor | np.ndarray, name: str, ndim: int) -> np.ndarray:
    p = positions.detach().cpu().numpy() if isinstance(positions, torch.Tensor) else np.asarray(positions)
    if p.ndim != ndim or p.shape[-1] != 3:
        shape = "(K, 3)" if ndim == 2 else "(N, K, 3)"
        raise ValidationError(f"{name}: expected shape {shape}, got {p.shape}")
    if not np.isfinite(p).all():
        raise ValidationError(f"{name}: contains NaN or inf")
    return p.astype(np.float64)


def _check_parents(parents: Sequence[int], K: int) -> list[int]:
    """``parents`` as a list of ``K`` indices in ``[-1, K)``."""
    try:
        parents = [int(q) for q in parents]
    except (TypeError, ValueError):
        raise ValidationError(f"parents: expected {K} integer indices, got {parents!r}") from None
    if len(parents) != K:
        raise ValidationError(f"parents: expected {K} entries (one per joint), got {len(parents)}")
    if any(not -1 <= q < K for q in parents):
        raise ValidationError(f"parents: indices must lie in [-1, {K}), got {parents}")
    return parents


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
    colors: Sequence | None = None,
    linewidth: float = 2.0,
    joint_size: float = 6.0,
    joint_values: torch.Tensor | np.ndarray | Sequence[float] | None = None,
    cmap: str | Colormap = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> None:
    """Draw one pose on a 3D ``ax``: a segment from each joint to its parent and a dot per joint.

    Args:
        ax: a matplotlib 3D axes (``projection="3d"``).
        positions: ``(K, 3)`` global joint positions, any length unit.
        parents: ``K`` parent indices, ``-1`` for the root.
        up: the data's up axis: ``"y"``, ``"z"``, or ``"-y"`` for camera-frame poses (y down).
        colors: optional colour per joint; a bone takes its child joint's colour.
        linewidth: bone width in points.
        joint_size: joint marker area in points squared (0 hides the joints).
        joint_values: optional ``(K,)`` value per joint (error in mm, log-likelihood, ...) that colours the
            joints through ``cmap`` instead of ``colors`` (see :func:`~poseprior.viz.colors.value_colors`).
        cmap, vmin, vmax: the colormap and the values at its ends (default the values' range).

    Example:
        >>> fig = Figure(); ax = fig.add_subplot(projection="3d")  # doctest: +SKIP
        >>> plot_skeleton(ax, pose, parents, joint_values=error_mm, cmap="magma", vmin=0, vmax=100)  # doctest: +SKIP
    """
    p = _to_plot_frame(_as_points(positions, "positions", 2), up)
    K = p.shape[0]
    parents = _check_parents(parents, K)
    if joint_values is not None:
        if colors is not None:
            raise ValidationError("colors, joint_values: give one of them, not both")
        values = _as_values(joint_values, "joint_values", None)
        if values.shape != (K,):
            raise ValidationError(f"joint_values: expected shape ({K},) (one per joint), got {values.shape}")
        colors = value_colors(values, cmap, vmin, vmax)
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
    colors: Sequence | None = None,
    panel_size: float = 3.0,
    dpi: int = 100,
    elev: float = 15.0,
    azim: float = -60.0,
    joint_values: torch.Tensor | np.ndarray | None = None,
    cmap: str | Colormap = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar_label: str | None = None,
) -> Figure:
    """A figure with the ``N`` poses side by side, one 3D panel each.

    Every panel has the same scale (the largest pose extent over all panels) and is centred horizontally
    on its own pose, so a clip that travels far still fills each panel; the vertical range is shared, with
    a grey grid on the floor (the lowest point over all poses along the up axis) under each pose.

    Args:
        positions: ``(N, K, 3)`` global joint positions.
        parents: ``K`` parent indices.
        up: the data's up axis: ``"y"``, ``"z"``, or ``"-y"`` for camera-frame poses (y down).
        titles: optional ``N`` panel titles.
        colors: optional colour per joint (see :func:`side_colors`).
        panel_size: width and height of each panel in inches.
        dpi: resolution when saved; the picture is ``N * panel_size * dpi`` by ``panel_size * dpi`` pixels
            (plus ``COLORBAR_WIDTH * dpi`` pixels of width for the colour bar with ``joint_values``).
        elev, azim: the camera's elevation and azimuth in degrees (matplotlib's ``view_init``).
        joint_values: optional ``(N, K)`` value per joint (error in mm, log-likelihood, ...) colouring the
            joints through ``cmap`` instead of ``colors``; one colour scale for all panels, shown by a
            colour bar on the right.
        cmap, vmin, vmax: the colormap and the values at its ends (default the range over all panels).
        colorbar_label: the colour bar's label (``"error (mm)"``).

    Returns:
        A :class:`matplotlib.figure.Figure` drawn on an Agg canvas; save it with :func:`save_figure`.

    Example:
        >>> fig = plot_poses(predicted, parents, joint_values=per_joint_error_mm, colorbar_label="error (mm)")  # doctest: +SKIP
    """
    p = _as_points(positions, "positions", 3)
    N = p.shape[0]
    if N == 0:
        raise ValidationError("positions: need at least one pose to plot")
    if titles is not None and len(titles) != N:
        raise ValidationError(f"titles: expected {N} entries (one per pose), got {len(titles)}")
    mappable = None
    if joint_values is not None:
        if colors is not None:
            raise ValidationError("colors, joint_values: give one of them, not both")
        values = _as_values(joint_values, "joint_values", None)
        if values.shape != p.shape[:2]:
            raise ValidationError(
                f"joint_values: expected shape {p.shape[:2]} (one per pose and joint), got {values.shape}"
            )
        mappable = value_mappable(values, cmap, vmin, vmax)
        vmin, vmax = mappable.norm.vmin, mappable.norm.vmax
    q = _to_plot_frame(p, up)
    centres = (q.max(axis=1) + q.min(axis=1)) / 2
    floor, top = float(q[..., 2].min()), float(q[..., 2].max())
    # Horizontally each panel follows its pose; vertically all share the floor, so jumps show.
    centres[:, 2] = (floor + top) / 2
    half = max(float((q.max(axis=1) - q.min(axis=1))[:, :2].max()), top - floor, 1e-9) / 2 * 1.05

    extra = COLORBAR_WIDTH if mappable is not None else 0.0
    fig = Figure(figsize=(panel_size * N + extra, panel_size), dpi=dpi)
    FigureCanvasAgg(fig)
    for i in range(N):
        ax = fig.add_subplot(1, N, i + 1, projection="3d")
        _setup_panel(ax, centres[i], half, floor, elev, azim)
        if mappable is not None:
            plot_skeleton(ax, p[i], parents, up=up, joint_values=values[i], cmap=cmap, vmin=vmin, vmax=vmax)
        else:
            plot_skeleton(ax, p[i], parents, up=up, colors=colors)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    right = panel_size * N / (panel_size * N + extra)
    fig.subplots_adjust(left=0, right=right, bottom=0, top=0.92, wspace=0)
    if mappable is not None:
        _add_colorbar(fig, mappable, right, colorbar_label)
    return fig


#: Width in inches that :func:`plot_poses` adds to the figure for the colour bar.
COLORBAR_WIDTH = 1.0


def _add_colorbar(fig: Figure, mappable, left: float, label: str | None) -> None:
    """A vertical colour bar in the figure's right margin, starting at figure fraction ``left``."""
    width = fig.get_figwidth()
    cax = fig.add_axes((left + 0.1 / width, 0.1, 0.15 / width, 0.75))
    bar = fig.colorbar(mappable, cax=cax)
    bar.ax.tick_params(labelsize=8)
    if label:
        bar.set_label(label, fontsize=9)


def _setup_panel(
    ax: Axes, centre: np.ndarray, half: float, floor: float, elev: float, azim: float, grid: bool = True
) -> None:
    """A cube of half-width ``half`` about ``centre`` (plot frame), the camera, no axes; a floor grid
    at height ``floor`` under the centre."""
    cx, cy, cz = (float(c) for c in centre)
    if grid:
        _floor_grid(ax, cx, cy, floor, half)
    ax.set_xlim(cx - half, cx + half)
    ax.set_ylim(cy - half, cy + half)
    ax.set_zlim(cz - half, cz + half)
    ax.set_box_aspect((1, 1, 1), zoom=1.25)
    ax.view_init(elev=elev, azim=azim)
    ax.set_axis_off()


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
        raise ValidationError(
            f"path: unsupported image format {fmt!r}; use one of {sorted(fig.canvas.get_supported_filetypes())}"
        )
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt)
    return path
