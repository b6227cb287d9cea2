"""2D keypoint plots: pixel size and orientation, overlaid poses, missing and uncertain keypoints, edges."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from poseprior.errors import ValidationError
from poseprior.skeleton.layouts import COCO17, H36M17
from poseprior.viz.keypoints_2d import edge_pairs, plot_keypoints_2d
from poseprior.viz.skeleton_plot import save_figure

# A chain of 4 keypoints down the left half of a 200 x 120 (W x H) canvas, and a lone point far right.
CHAIN = np.array([[40.0, 20], [40, 50], [40, 80], [40, 110], [170, 60]])
PARENTS = (-1, 0, 1, 2, -1)


def near(img: np.ndarray, color: str, tol: float = 0.1) -> np.ndarray:
    return np.abs(img[..., :3] - np.array(to_rgb(color))).max(-1) < tol


def test_blank_canvas_has_the_image_size_and_y_points_down(tmp_path):
    fig = plot_keypoints_2d(torch.from_numpy(CHAIN), PARENTS, image_size=(200, 120))
    img = imread(save_figure(fig, tmp_path / "k.png"))
    assert img.shape[:2] == (120, 200)
    blue = near(img, "C0")
    rows, cols = np.nonzero(blue)
    assert blue.sum() > 100
    assert abs(cols[cols < 100].mean() - 40) < 3  # the chain sits at x = 40 ...
    assert rows[cols < 100].min() < 25 and rows[cols < 100].max() > 105  # ... from y = 20 (top) to 110
    assert blue[50:70, 160:180].sum() > 10  # the lone point
    fig = plot_keypoints_2d(CHAIN, PARENTS, image_size=(200, 120), scale=0.5)
    assert imread(save_figure(fig, tmp_path / "half.png")).shape[:2] == (60, 100)


def test_over_an_image_with_two_poses_and_a_legend(tmp_path):
    image = np.zeros((120, 200, 3), dtype=np.uint8)
    image[:10, :10] = (0, 255, 0)  # a green mark at the top-left corner
    other = CHAIN + np.array([60.0, 0])
    fig = plot_keypoints_2d(np.stack([CHAIN, other]), PARENTS, image=image, labels=["detections", "reprojection"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["detections", "reprojection"]
    img = imread(save_figure(fig, tmp_path / "k.png"))
    assert img.shape[:2] == (120, 200)
    assert near(img[:8, :8], "lime").all()  # the image's first row is at the top
    assert near(img, "C0")[:, :50].sum() > 50 and near(img, "C1")[:, 80:110].sum() > 50  # one colour per pose


def test_missing_and_uncertain_keypoints(tmp_path):
    pixels = CHAIN.copy()
    pixels[3] = np.nan  # missing: neither it nor its bone is drawn
    confidence = np.array([1.0, 1.0, 1.0, 1.0, 0.0])  # the lone point is uncertain: hollow
    fig = plot_keypoints_2d(pixels, PARENTS, confidence=confidence, image_size=(200, 120), marker_size=200)
    img = imread(save_figure(fig, tmp_path / "k.png"))
    blue = near(img, "C0", 0.2)
    assert blue[96:120, 30:50].sum() == 0  # below the third keypoint's marker (y = 80, radius 10): nothing
    assert blue[50:70, 155:185].sum() > 10  # the hollow point's ring ...
    assert not blue[59:62, 169:172].any()  # ... around an empty centre
    assert blue[10:30, 30:50].sum() > 10 and blue[18:22, 38:42].all()  # a sure keypoint is filled


def test_edge_pairs():
    assert edge_pairs([-1, 0, 1], 3).tolist() == [[0, 1], [1, 2]]
    assert edge_pairs([(0, 2)], 3).tolist() == [[0, 2]]
    assert edge_pairs(COCO17, 17).tolist() == [list(e) for e in COCO17.edges]
    assert len(edge_pairs(H36M17, 17)) == 16
    with pytest.raises(ValidationError, match="edges"):
        edge_pairs(COCO17, 5)
    with pytest.raises(ValidationError, match="edges"):
        edge_pairs([-1, 0], 3)
    with pytest.raises(ValidationError, match="edges"):
        edge_pairs([(0, 3)], 3)
    with pytest.raises(ValidationError, match="edges"):
        edge_pairs(["a", "b"], 2)


def test_bad_arguments():
    with pytest.raises(ValidationError, match="pixels"):
        plot_keypoints_2d(np.zeros((5, 3)), PARENTS)
    with pytest.raises(ValidationError, match="pixels"):
        plot_keypoints_2d(np.full((5, 2), np.inf), PARENTS)
    with pytest.raises(ValidationError, match="pixels"):
        plot_keypoints_2d(np.full((5, 2), np.nan), PARENTS)  # nothing to frame
    with pytest.raises(ValidationError, match="edges"):
        plot_keypoints_2d(CHAIN, PARENTS[:4])
    with pytest.raises(ValidationError, match="confidence"):
        plot_keypoints_2d(CHAIN, PARENTS, confidence=np.ones(4))
    with pytest.raises(ValidationError, match="confidence"):
        plot_keypoints_2d(CHAIN, PARENTS, confidence=np.full(5, np.nan))
    with pytest.raises(ValidationError, match="image"):
        plot_keypoints_2d(CHAIN, PARENTS, image=np.zeros((10, 10, 2)))
    with pytest.raises(ValidationError, match="image_size"):
        plot_keypoints_2d(CHAIN, PARENTS, image=np.zeros((120, 200)), image_size=(120, 200))
    with pytest.raises(ValidationError, match="image_size"):
        plot_keypoints_2d(CHAIN, PARENTS, image_size=(0, 10))
    with pytest.raises(ValidationError, match="labels"):
        plot_keypoints_2d(CHAIN, PARENTS, image_size=(200, 120), labels=["a", "b"])
