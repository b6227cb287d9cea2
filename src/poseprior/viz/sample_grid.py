"""A grid of 3D poses at one scale: samples of a prior, a batch of fits, a data set at a glance.

Example:
    >>> positions = prior_positions[:12]  # (12, K, 3) samples, Y-up  # doctest: +SKIP
    >>> fig = plot_sample_grid(positions, skeleton.parents, columns=4, titles=[f"{x:.1f}" for x in log_prob])  # doctest: +SKIP
    >>> save_figure(fig, "samples.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from poseprior.errors import ValidationError
from poseprior.viz.skeleton_plot import (
    _as_points,
    _check_parents,
    _setup_panel,
    _to_plot_frame,
    plot_skeleton,
)

__all__ = ["plot_sample_grid"]


def plot_sample_grid(
    positions: torch.Tensor | np.ndarray,
    parents: Sequence[int],
    *,
    columns: int = 4,
    up: str = "y",
    titles: Sequence[str] | None = None,
    colors: Sequence | None = None,
    panel_size: float = 2.0,
    dpi: int = 100,
    elev: float = 15.0,
    azim: float = -60.0,
) -> Figure:
    """``N`` poses in a grid of ``ceil(N / columns)`` rows by ``min(N, columns)`` columns, one 3D panel each.

    Every panel has the same scale (the largest extent of any pose along any axis) and is centred on its
    own pose, which stands on a grey floor grid at its own lowest point; so sizes compare across panels
    while a pose's place in the world (root translation) is ignored. Panels fill the rows left to right;
    the last row may be short.

    Args:
        positions: ``(N, K, 3)`` joint positions, any length unit.
        parents: ``K`` parent indices, ``-1`` for the root.
        columns: panels per row.
        up: the data's up axis: ``"y"``, ``"z"``, or ``"-y"`` for camera-frame poses (y down).
        titles: optional ``N`` panel titles (a sample's log-likelihood, a clip name).
        colors: optional colour per joint (see :func:`~poseprior.viz.skeleton_plot.side_colors`).
        panel_size: width and height of each panel in inches.
        dpi: resolution; the picture is ``min(N, columns) * panel_size * dpi`` by
            ``rows * panel_size * dpi`` pixels.
        elev, azim: the camera's elevation and azimuth in degrees, the same for every panel.

    Returns:
        A :class:`matplotlib.figure.Figure` on an Agg canvas; save it with
        :func:`~poseprior.viz.skeleton_plot.save_figure`.
    """
    p = _as_points(positions, "positions", 3)
    N, K = p.shape[:2]
    if N == 0:
        raise ValidationError("positions: need at least one pose to plot")
    _check_parents(parents, K)
    if int(columns) != columns or columns < 1:
        raise ValidationError(f"columns: expected a positive integer, got {columns!r}")
    if titles is not None and len(titles) != N:
        raise ValidationError(f"titles: expected {N} entries (one per pose), got {len(titles)}")
    cols = min(N, int(columns))
    rows = math.ceil(N / cols)

    q = _to_plot_frame(p, up)
    lo, hi = q.min(axis=1), q.max(axis=1)
    centres = (lo + hi) / 2
    half = max(float((hi - lo).max()), 1e-9) / 2 * 1.05

    fig = Figure(figsize=(panel_size * cols, panel_size * rows), dpi=dpi)
    FigureCanvasAgg(fig)
    for i in range(N):
        ax = fig.add_subplot(rows, cols, i + 1, projection="3d")
        _setup_panel(ax, centres[i], half, float(lo[i, 2]), elev, azim)
        plot_skeleton(ax, p[i], parents, up=up, colors=colors)
        if titles is not None:
            # Inside the panel: a 3D axes' title sits above its (zoomed) box and would be cut off the top row.
            ax.text2D(0.5, 0.97, titles[i], transform=ax.transAxes, ha="center", va="top", fontsize=9)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1, wspace=0, hspace=0)
    return fig
