"""Sample grids: rows and columns, one scale for all panels, drawn pixels, argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from poseprior.errors import ValidationError
from poseprior.viz.sample_grid import plot_sample_grid
from poseprior.viz.skeleton_plot import save_figure

PARENTS = (-1, 0, 1, 0, 3, 0, 5)  # hips, spine, head, left leg (2), right leg (2)
STAND = np.array([[0.0, 90, 0], [0, 120, 0], [0, 150, 0], [10, 90, 0], [10, 45, 0], [-10, 90, 0], [-10, 45, 0]])


def samples(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return STAND + rng.normal(0, 5, (n, 7, 3)) + np.arange(n)[:, None, None] * np.array([100.0, 0, 0])


def test_grid_has_rows_of_panels_at_one_scale(tmp_path):
    fig = plot_sample_grid(torch.from_numpy(samples(6)), PARENTS, columns=4, panel_size=1.5, dpi=40)
    assert len(fig.axes) == 6
    widths = {round(float(np.diff(getattr(ax, f"get_{a}lim")())[0]), 9) for ax in fig.axes for a in "xyz"}
    assert len(widths) == 1  # every panel, every axis: the same extent
    img = imread(save_figure(fig, tmp_path / "grid.png"))[..., :3]
    assert img.shape == (2 * 60, 4 * 60, 3)  # 2 rows x 4 columns of 1.5 inch at 40 dpi
    ink = img.sum(-1) < 2.0
    assert ink.mean() > 0.01
    cells = [ink[r * 60 : (r + 1) * 60, c * 60 : (c + 1) * 60] for r in range(2) for c in range(4)]
    assert all(cell.sum() > 10 for cell in cells[:6])  # a pose in each of the 6 panels
    assert all(cell.sum() == 0 for cell in cells[6:])  # the last row's two empty places stay blank


def test_fewer_poses_than_columns_and_titles(tmp_path):
    fig = plot_sample_grid(samples(2), PARENTS, columns=4, titles=["a", "b"], panel_size=1.0, dpi=50)
    img = imread(save_figure(fig, tmp_path / "two.png"))
    assert img.shape[:2] == (50, 100)
    assert [[t.get_text() for t in ax.texts] for ax in fig.axes] == [["a"], ["b"]]


def test_bad_arguments():
    with pytest.raises(ValidationError, match="positions"):
        plot_sample_grid(STAND, PARENTS)
    bad = samples(2)
    bad[1, 3, 0] = np.nan
    with pytest.raises(ValidationError, match="positions"):
        plot_sample_grid(bad, PARENTS)
    with pytest.raises(ValidationError, match="parents"):
        plot_sample_grid(samples(2), PARENTS[:-1])
    with pytest.raises(ValidationError, match="parents"):
        plot_sample_grid(samples(2), (-1, 0, 1, 0, 3, 0, 9))
    with pytest.raises(ValidationError, match="columns"):
        plot_sample_grid(samples(2), PARENTS, columns=0)
    with pytest.raises(ValidationError, match="titles"):
        plot_sample_grid(samples(2), PARENTS, titles=["one"])
