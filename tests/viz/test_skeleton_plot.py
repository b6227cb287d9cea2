"""Stick-figure plots: drawn pixels, sizes, the up axis, atomic saving, argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.image import imread

from poseprior.errors import ValidationError
from poseprior.skeleton import Skeleton, forward_kinematics
from poseprior.viz.skeleton_plot import _to_plot_frame, plot_poses, plot_skeleton, save_figure, side_colors

SKELETON = Skeleton(
    ("Hips", "Spine", "Head", "LeftUpLeg", "LeftLeg", "RightUpLeg", "RightLeg"),
    (-1, 0, 1, 0, 3, 0, 5),
    torch.tensor([[0.0, 90, 0], [0, 30, 0], [0, 30, 0], [10, 0, 0], [0, -45, 0], [-10, 0, 0], [0, -45, 0]]),
)


def poses(n: int = 3) -> torch.Tensor:
    R = torch.eye(3, dtype=torch.float64).expand(n, 7, 3, 3)
    root = torch.tensor([[0.0, 90, 0]]) + torch.arange(n)[:, None] * torch.tensor([[50.0, 0, 0]])
    return forward_kinematics(SKELETON, R, root.double())[0]


def coloured_pixels(path) -> dict[str, int]:
    img = imread(path)[..., :3]
    blue = (img[..., 2] > 0.6) & (img[..., 0] < 0.3)
    orange = (img[..., 0] > 0.9) & (img[..., 1] > 0.4) & (img[..., 1] < 0.6) & (img[..., 2] < 0.2)
    return {"ink": int((img.sum(-1) < 2.5).sum()), "blue": int(blue.sum()), "orange": int(orange.sum())}


def test_plot_poses_draws_every_panel(tmp_path):
    fig = plot_poses(poses(3), SKELETON.parents, titles=["a", "b", "c"], colors=side_colors(SKELETON), dpi=50)
    assert len(fig.axes) == 3
    path = save_figure(fig, tmp_path / "p.png")
    img = imread(path)
    assert img.shape[:2] == (150, 450)  # 3 panels of 3 x 3 inches at 50 dpi
    counts = coloured_pixels(path)
    assert counts["ink"] > 500 and counts["blue"] > 20 and counts["orange"] > 20
    for third in np.array_split(img[..., :3], 3, axis=1):  # each panel has a figure in it
        assert (third.sum(-1) < 1.5).sum() > 20
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]


def test_plot_skeleton_on_given_axes(tmp_path):
    fig = Figure(figsize=(2, 2), dpi=50)
    ax = fig.add_subplot(projection="3d")
    plot_skeleton(ax, poses(1)[0], SKELETON.parents, up="y")
    assert len(ax.lines) == SKELETON.num_joints - 1  # one segment per bone
    save_figure(fig, tmp_path / "one.svg")
    assert (tmp_path / "one.svg").read_text().lstrip().startswith("<?xml")


def test_up_axis_turns_y_up_data_upright_and_keeps_handedness():
    p = np.array([[1.0, 2.0, 3.0]])
    assert _to_plot_frame(p, "y").tolist() == [[1.0, -3.0, 2.0]]  # data y becomes plot z
    assert _to_plot_frame(p, "z").tolist() == p.tolist()
    M = _to_plot_frame(np.eye(3), "y")
    assert np.isclose(np.linalg.det(M), 1.0)  # a rotation: a left foot stays a left foot


def test_side_colors():
    colors = side_colors(SKELETON)
    assert colors[3] == colors[4] != colors[5] == colors[6] and colors[0] == colors[1] == colors[2]
    lopsided = Skeleton(("root", "LeftArm"), (-1, 0), torch.zeros(2, 3))
    assert len(set(side_colors(lopsided))) == 1


def test_bad_arguments(tmp_path):
    with pytest.raises(ValidationError, match="positions"):
        plot_poses(torch.zeros(7, 3), SKELETON.parents)
    with pytest.raises(ValidationError, match="NaN"):
        plot_poses(torch.full((1, 7, 3), float("nan")), SKELETON.parents)
    with pytest.raises(ValidationError, match="parents"):
        plot_poses(poses(1), SKELETON.parents[:-1])
    with pytest.raises(ValidationError, match="titles"):
        plot_poses(poses(2), SKELETON.parents, titles=["one"])
    with pytest.raises(ValidationError, match="up"):
        plot_poses(poses(1), SKELETON.parents, up="x")
    fig = plot_poses(poses(1), SKELETON.parents)
    with pytest.raises(ValidationError, match="format"):
        save_figure(fig, tmp_path / "p.xyz")
    with pytest.raises(ValidationError, match="extension"):
        save_figure(fig, tmp_path / "p")
