"""MotionScene and its helpers: validation, the upright turn, placement, bones as cylinders, value colours."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch

from poseprior.errors import ValidationError
from poseprior.viz.viewer_scene import (
    MotionScene,
    SceneMotion,
    bone_transforms,
    to_z_up,
    value_colors_rgb,
)


def chain(T: int = 4, x: float = 0.0) -> SceneMotion:
    """A 3-joint vertical chain 1 m tall standing at ``x``, rising 0.1 m per frame."""
    p = np.array([[x, 0.0, 0.0], [x, 0.0, 0.5], [x, 0.0, 1.0]]) + np.arange(T)[:, None, None] * [0, 0, 0.1]
    return SceneMotion("chain", p, parents=(-1, 0, 1), fps=10.0, joint_names=("a", "b", "c"))


def test_to_z_up_is_a_proper_rotation_that_stands_each_convention_upright() -> None:
    p = np.random.default_rng(0).normal(size=(5, 3))
    for up, axis in (("y", [0, 1, 0]), ("z", [0, 0, 1]), ("-y", [0, -1, 0])):
        assert np.allclose(to_z_up(np.array(axis, float), up), [0, 0, 1])
        # a rotation keeps lengths and handedness (the triple product of three points)
        q = to_z_up(p, up)
        assert np.allclose(np.linalg.norm(q, axis=1), np.linalg.norm(p, axis=1))
        assert np.isclose(np.linalg.det(q[:3]), np.linalg.det(p[:3]))
    with pytest.raises(ValidationError, match="up"):
        to_z_up(p, "x")


def test_scene_motion_validates_shapes_and_broadcasts_per_joint_values() -> None:
    m = chain()
    with pytest.raises(ValidationError, match="positions"):
        SceneMotion("x", np.zeros((4, 3)), parents=(-1, 0, 1), fps=10)
    with pytest.raises(ValidationError, match="parents"):
        SceneMotion("x", m.positions, parents=(-1, 0), fps=10)
    with pytest.raises(ValidationError, match="parents"):
        SceneMotion("x", m.positions, parents=(-1, 1, 1), fps=10)  # its own parent
    with pytest.raises(ValidationError, match="fps"):
        SceneMotion("x", m.positions, parents=(-1, 0, 1), fps=0)
    with pytest.raises(ValidationError, match="hypotheses"):
        SceneMotion("x", m.positions, parents=(-1, 0, 1), fps=10, hypotheses=np.zeros((4, 2, 2, 3)))
    with pytest.raises(ValidationError, match="frame_values"):
        SceneMotion("x", m.positions, parents=(-1, 0, 1), fps=10, frame_values={"objective": np.zeros(3)})
    v = SceneMotion("x", m.positions, parents=(-1, 0, 1), fps=10, joint_values=np.array([1.0, 2.0, 3.0]))
    assert v.joint_values.shape == (4, 3) and (v.joint_values[2] == [1, 2, 3]).all()
    with pytest.raises(ValidationError, match="motions"):
        MotionScene(())


def test_placement_puts_motions_on_the_ground_side_by_side() -> None:
    a, b = chain(x=5.0), chain(x=5.0)
    b = SceneMotion("b", b.positions + [0.0, 3.0, -2.0], parents=b.parents, fps=10)
    scene = MotionScene((a, b), gap=0.5)
    placed = [m.positions + shift for m, shift in zip(scene.motions, scene.placements(), strict=False)]
    for p in placed:
        assert np.isclose(p[..., 2].min(), 0.0)  # standing on the ground
        assert np.isclose(p[..., 1].min() + p[..., 1].max(), 0.0)  # centred in depth
    assert np.isclose(placed[0][..., 0].mean(), 0.0)  # the first at the origin
    assert placed[1][..., 0].min() - placed[0][..., 0].max() == pytest.approx(0.5)  # the second beside it
    lo, hi = scene.extent()
    assert np.allclose(lo, [0, 0, 0]) and np.allclose(hi, [0.5, 0, 1.3])
    position, look_at = scene.camera()
    assert position[1] < lo[1] and lo[2] <= look_at[2] <= hi[2]  # in front, looking at the middle


def test_clock_maps_time_to_each_motions_nearest_frame() -> None:
    fast = SceneMotion("fast", np.zeros((9, 1, 3)), parents=(-1,), fps=20.0)
    scene = MotionScene((chain(T=5), fast))  # 10 fps clock
    assert scene.num_frames == 5 and scene.fps == 10.0
    assert [scene.frame_of(1, t) for t in range(5)] == [0, 2, 4, 6, 8]
    slow = SceneMotion("slow", np.zeros((2, 1, 3)), parents=(-1,), fps=10.0)
    assert [MotionScene((chain(T=5), slow)).frame_of(1, t) for t in range(5)] == [0, 1, 1, 1, 1]  # held at its end


def test_bone_transforms_turn_a_unit_z_cylinder_onto_each_bone() -> None:
    rng = np.random.default_rng(1)
    p = rng.normal(size=(2, 6, 3))
    p[1, 4] = np.nan  # a missing joint
    p[0, 2] = p[0, 1] - [0, 0, 0.7]  # a bone straight down (-Z): the half-way quaternion's singular case
    bones = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    centres, wxyz, lengths = bone_transforms(p, bones)
    R = roma.unitquat_to_rotmat(torch.from_numpy(wxyz[..., [1, 2, 3, 0]])).numpy()  # roma takes xyzw
    tip = centres + R[..., :, 2] * lengths[..., None] / 2  # the cylinder's +Z end
    ok = np.isfinite(p[:, bones[:, 1]]).all(-1) & np.isfinite(p[:, bones[:, 0]]).all(-1)
    assert np.allclose(tip[ok], p[:, bones[:, 1]][ok])
    assert np.allclose(lengths[ok], np.linalg.norm(p[:, bones[:, 1]] - p[:, bones[:, 0]], axis=-1)[ok])
    assert (lengths[~ok] == 0).all() and np.isfinite(wxyz).all() and np.isfinite(centres).all()


def test_value_colours_follow_the_colormap_and_mark_missing_values() -> None:
    rgb = value_colors_rgb(np.array([[0.0, 5.0, 10.0, np.nan, 20.0]]), 0.0, 10.0)
    assert rgb.shape == (1, 5, 3) and rgb.dtype == np.uint8
    assert (rgb[0, 2] == rgb[0, 4]).all()  # clipped at the top
    assert (rgb[0, 3] == 150).all()
    assert not (rgb[0, 0] == rgb[0, 2]).all()
    assert (value_colors_rgb(np.array([3.0, 3.0]), 3.0, 3.0)[0] == value_colors_rgb(np.array([0.0]), 0.0, 1.0)[0]).all()


def test_value_ranges_are_shared_by_motions_with_the_same_label() -> None:
    a = SceneMotion(
        "a", np.zeros((2, 2, 3)), (-1, 0), 10, joint_values=np.array([[1.0, 2.0], [3.0, np.nan]]), value_label="err"
    )
    b = SceneMotion("b", np.zeros((2, 2, 3)), (-1, 0), 10, joint_values=np.array([0.5, 2.5]), value_label="err")
    c = SceneMotion("c", np.zeros((2, 2, 3)), (-1, 0), 10, joint_values=np.array([7.0, 9.0]), value_label="conf")
    assert MotionScene((a, b, c)).value_ranges() == {"err": (0.5, 3.0), "conf": (7.0, 9.0)}


def test_extra_edges_close_loops():
    """A layout's edges beyond the parent tree (COCO's shoulder-hip loop) are drawn as bones too."""
    positions = np.zeros((2, 4, 3))
    positions[:, :, 0] = np.arange(4)
    m = SceneMotion("loop", positions, (-1, 0, 1, 2), fps=10.0, edges=((3, 0), (0, 1)))
    assert sorted(map(tuple, MotionScene((m,)).bones(0).tolist())) == [(0, 1), (1, 2), (2, 3), (3, 0)]
    with pytest.raises(ValidationError, match="edges"):
        SceneMotion("bad", positions, (-1, 0, 1, 2), fps=10.0, edges=((0, 4),))
