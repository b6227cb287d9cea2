"""Stick-figure plots: drawn pixels, sizes, the up axis, atomic saving, argument checks."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.image import imread

from poseprior.errors import ValidationError
from poseprior.skeleton import Skeleton, forward_kinematics
from poseprior.viz.skeleton_plot import (
    _to_plot_frame,
    plot_poses,
    plot_skeleton,
    save_figure,
    side_colors,
)

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


def test_camera_frame_stands_upright():
    p = np.array([[1.0, 2.0, 3.0]])
    assert _to_plot_frame(p, "-y").tolist() == [[1.0, 3.0, -2.0]]  # y down becomes z up, depth goes away
    assert np.isclose(np.linalg.det(_to_plot_frame(np.eye(3), "-y")), 1.0)


def test_joint_values_colour_the_joints_with_a_colour_bar(tmp_path):
    cmap = matplotlib.colormaps["cool"]  # cyan to magenta: colours nothing else in the figure has
    values = torch.tensor([[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]])
    fig = plot_poses(
        poses(2), SKELETON.parents, joint_values=values * 80, cmap="cool", colorbar_label="error (mm)", dpi=50
    )
    assert len(fig.axes) == 3 and fig.axes[-1].get_ylabel() == "error (mm)"  # two panels and the bar
    img = imread(save_figure(fig, tmp_path / "err.png"))[..., :3]
    assert img.shape[:2] == (150, 350)  # 2 panels of 3 inches plus the 1 inch colour bar at 50 dpi
    for end in (0.0, 1.0):
        near = np.abs(img - np.array(cmap(end)[:3])).max(-1) < 0.1
        assert near[:, :300].sum() > 20  # in the panels, not only in the bar
    low, high = (np.abs(img[:, :150] - np.array(cmap(e)[:3])).max(-1) < 0.1 for e in (0.0, 1.0))
    assert low.sum() > high.sum()  # the first pose is mostly at the low end


def test_plot_skeleton_joint_values():
    fig = Figure(figsize=(2, 2), dpi=50)
    ax = fig.add_subplot(projection="3d")
    plot_skeleton(ax, poses(1)[0], SKELETON.parents, joint_values=np.arange(7.0), cmap="viridis", vmin=0, vmax=6)
    viridis = matplotlib.colormaps["viridis"]
    assert np.allclose(matplotlib.colors.to_rgba(ax.lines[-1].get_color()), viridis(1.0))  # last bone: child 6
    with pytest.raises(ValidationError, match="joint_values"):
        plot_skeleton(ax, poses(1)[0], SKELETON.parents, joint_values=np.arange(6.0))
    with pytest.raises(ValidationError, match="colors, joint_values"):
        plot_skeleton(ax, poses(1)[0], SKELETON.parents, joint_values=np.arange(7.0), colors=["k"] * 7)


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
    with pytest.raises(ValidationError, match="joint_values"):
        plot_poses(poses(2), SKELETON.parents, joint_values=torch.zeros(7))
    with pytest.raises(ValidationError, match="joint_values"):
        plot_poses(poses(1), SKELETON.parents, joint_values=torch.full((1, 7), float("nan")))
    fig = plot_poses(poses(1), SKELETON.parents)
    with pytest.raises(ValidationError, match="format"):
        save_figure(fig, tmp_path / "p.xyz")
    with pytest.raises(ValidationError, match="extension"):
        save_figure(fig, tmp_path / "p")
