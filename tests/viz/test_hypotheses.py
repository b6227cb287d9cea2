"""Hypothesis overlays: one panel per view, translucent hypotheses, the truth on top, argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from poseprior.errors import ValidationError
from poseprior.viz.hypotheses import plot_hypotheses
from poseprior.viz.skeleton_plot import save_figure

PARENTS = (-1, 0, 1, 0, 3, 0, 5)
# Camera frame (x right, y down, z forward), metres: the head has the smallest y.
TRUTH = np.array([[0.0, 0, 4], [0, -0.3, 4], [0, -0.6, 4], [0.1, 0, 4], [0.1, 0.45, 4], [-0.1, 0, 4], [-0.1, 0.45, 4]])


def hypotheses(n: int = 20) -> np.ndarray:
    return TRUTH + np.random.default_rng(1).normal(0, 0.03, (n, 7, 3))


def pixels_near(img: np.ndarray, color: str, tol: float = 0.12) -> int:
    return int((np.abs(img[..., :3] - np.array(to_rgb(color))).max(-1) < tol).sum())


def test_hypotheses_with_truth_in_two_views(tmp_path):
    fig = plot_hypotheses(hypotheses(), PARENTS, truth=TRUTH, up="-y", panel_size=2.0, dpi=50, title="lifter")
    assert len(fig.axes) == 2 and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["hypotheses (20)", "truth"]
    img = imread(save_figure(fig, tmp_path / "h.png"))
    assert img.shape[:2] == (100, 200)  # two views of 2 x 2 inches at 50 dpi
    assert pixels_near(img, "tab:red", 0.08) > 40  # the truth, solid on top
    # The translucent blue of the hypotheses shows around the truth, in both panels.
    bluish = (img[..., 2] > img[..., 0] + 0.1) & (img[..., :3].sum(-1) < 2.7)
    assert bluish[:, :100].sum() > 20 and bluish[:, 100:].sum() > 20


def test_camera_frame_pose_stands_upright():
    fig = plot_hypotheses(TRUTH[None], PARENTS, up="-y", views=((0, -90),))
    ax = fig.axes[0]
    floor = {float(z) for line in ax.lines for z in line.get_data_3d()[2]}  # the floor grid's lines
    assert floor == {-0.45}  # the feet (largest y, y pointing down) stand on the floor: y down became z up
    low, high = ax.get_zlim()
    assert low < -0.45 and high > 0.6  # the head (y = -0.6) is at the top


def test_without_truth_and_alpha(tmp_path):
    fig = plot_hypotheses(hypotheses(3), PARENTS, alpha=1.0, views=((10, 0),), dpi=40, panel_size=2.0)
    img = imread(save_figure(fig, tmp_path / "h.png"))
    assert img.shape[:2] == (80, 80)
    assert pixels_near(img, "tab:blue") > 20 and pixels_near(img, "tab:red", 0.08) == 0


def test_bad_arguments():
    with pytest.raises(ValidationError, match="hypotheses"):
        plot_hypotheses(TRUTH, PARENTS)
    with pytest.raises(ValidationError, match="truth"):
        plot_hypotheses(hypotheses(), PARENTS, truth=TRUTH[:5])
    with pytest.raises(ValidationError, match="truth"):
        plot_hypotheses(hypotheses(), PARENTS, truth=np.full((7, 3), np.nan))
    with pytest.raises(ValidationError, match="parents"):
        plot_hypotheses(hypotheses(), PARENTS[:5])
    with pytest.raises(ValidationError, match="alpha"):
        plot_hypotheses(hypotheses(), PARENTS, alpha=0)
    with pytest.raises(ValidationError, match="views"):
        plot_hypotheses(hypotheses(), PARENTS, views=((10, 20, 30),))
    with pytest.raises(ValidationError, match="up"):
        plot_hypotheses(hypotheses(), PARENTS, up="-z")
