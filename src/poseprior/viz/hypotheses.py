"""Many 3D pose hypotheses overlaid (a lifter's or a sampler's spread), with the true pose on top.

Hypotheses from a lifter are in the camera frame (x right, y down, z forward): pass ``up="-y"`` so the
pose stands upright, depth running away from the viewer.

Example:
    >>> hyps = lifter.sample(keypoints, 50)  # (50, 17, 3), camera frame, metres  # doctest: +SKIP
    >>> fig = plot_hypotheses(hyps, H36M17.parents, truth=gt, up="-y")  # doctest: +SKIP
    >>> save_figure(fig, "hypotheses.png")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mpl_toolkits.mplot3d.art3d import Line3DCollection

from poseprior.errors import ValidationError
from poseprior.viz.skeleton_plot import (
    _as_points,
    _check_parents,
    _setup_panel,
    _to_plot_frame,
)

__all__ = ["plot_hypotheses"]


def plot_hypotheses(
    hypotheses: torch.Tensor | np.ndarray,
    parents: Sequence[int],
    *,
    truth: torch.Tensor | np.ndarray | None = None,
    up: str = "y",
    alpha: float | None = None,
    views: Sequence[tuple[float, float]] = ((15.0, -60.0), (15.0, 30.0)),
    color: str = "tab:blue",
    truth_color: str = "tab:red",
    labels: tuple[str, str] = ("hypotheses", "truth"),
    linewidth: float = 1.2,
    panel_size: float = 3.0,
    dpi: int = 100,
    title: str | None = None,
) -> Figure:
    """All ``N`` hypotheses drawn translucent in one 3D panel per viewpoint, ``truth`` solid on top.

    Every panel shows the same cube around all the points (hypotheses and truth), with a grey floor grid
    at the lowest point; a legend above the panels names the two colours.

    Args:
        hypotheses: ``(N, K, 3)`` joint positions, any length unit.
        parents: ``K`` parent indices, ``-1`` for the root.
        truth: optional ``(K, 3)`` true pose in the same frame, drawn on top in ``truth_color``.
        up: the data's up axis: ``"y"``, ``"z"``, or ``"-y"`` for camera-frame poses (x right, y down,
            z forward; with this, ``(0, -90)`` is the camera's own view).
        alpha: the hypotheses' opacity in ``(0, 1]``; default ``clip(3 / N, 0.05, 0.8)``, so the overlay
            darkens where hypotheses agree.
        views: ``(elev, azim)`` in degrees per panel (matplotlib's ``view_init``).
        color, truth_color: the hypotheses' and the truth's colours.
        labels: legend entries for the hypotheses and the truth.
        linewidth: bone width in points (the truth's is 1.6 times this).
        panel_size: width and height of each panel in inches.
        dpi: resolution; the picture is ``len(views) * panel_size * dpi`` by ``panel_size * dpi`` pixels.
        title: optional figure title.

    Returns:
        A :class:`matplotlib.figure.Figure` on an Agg canvas.
    """
    h = _as_points(hypotheses, "hypotheses", 3)
    N, K = h.shape[:2]
    if N == 0:
        raise ValidationError("hypotheses: need at least one hypothesis to plot")
    parents = _check_parents(parents, K)
    t = None
    if truth is not None:
        t = _as_points(truth, "truth", 2)
        if t.shape[0] != K:
            raise ValidationError(f"truth: expected shape ({K}, 3) like each hypothesis, got {t.shape}")
    if alpha is None:
        alpha = float(np.clip(3.0 / N, 0.05, 0.8))
    elif not 0 < alpha <= 1:
        raise ValidationError(f"alpha: expected a value in (0, 1], got {alpha}")
    views = [tuple(v) for v in views]
    if not views or any(len(v) != 2 for v in views):
        raise ValidationError(f"views: expected one or more (elev, azim) pairs, got {views}")

    q = _to_plot_frame(h, up)
    qt = _to_plot_frame(t, up) if t is not None else None
    everything = q.reshape(-1, 3) if qt is None else np.concatenate([q.reshape(-1, 3), qt])
    lo, hi = everything.min(axis=0), everything.max(axis=0)
    half = max(float((hi - lo).max()), 1e-9) / 2 * 1.05
    bones = [(parent, j) for j, parent in enumerate(parents) if parent >= 0]
    segments = q[:, bones].reshape(-1, 2, 3)  # (N * bones, 2, 3)

    fig = Figure(figsize=(panel_size * len(views), panel_size), dpi=dpi)
    FigureCanvasAgg(fig)
    for i, (elev, azim) in enumerate(views):
        ax = fig.add_subplot(1, len(views), i + 1, projection="3d")
        ax.computed_zorder = False  # draw in zorder so the truth stays on top whatever the depth
        _setup_panel(ax, (lo + hi) / 2, half, float(lo[2]), elev, azim)
        ax.add_collection3d(Line3DCollection(segments, colors=color, alpha=alpha, linewidths=linewidth, zorder=2))
        if qt is not None:
            truth_segments = qt[bones]
            ax.add_collection3d(
                Line3DCollection(truth_segments, colors=truth_color, linewidths=1.6 * linewidth, zorder=3)
            )
            ax.scatter(qt[:, 0], qt[:, 1], qt[:, 2], s=8, c=truth_color, depthshade=False, zorder=4)
    handles = [Line2D([], [], color=color, alpha=max(alpha, 0.5), linewidth=linewidth, label=f"{labels[0]} ({N})")]
    if qt is not None:
        handles.append(
            Line2D([], [], color=truth_color, linewidth=1.6 * linewidth, marker="o", markersize=3, label=labels[1])
        )
    title_height = 0.25 / panel_size if title else 0.0  # figure fraction for the title line
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - title_height),
        ncol=len(handles),
        frameon=False,
        fontsize=8,
    )
    if title:
        fig.suptitle(title, y=0.995, fontsize=10, va="top")
    top = 0.9 - title_height
    fig.subplots_adjust(left=0, right=1, bottom=0, top=top, wspace=0)
    return fig
