"""Synthetic lifting views: cameras, projection, normalisation."""

from __future__ import annotations

import math

import pytest
import roma
import torch

from poseprior import zoo
from poseprior.data.lifting import (
    LiftingConfig,
    h36m_lifting_splits,
    keypoint_training_data,
    layout_keypoints,
    normalise_2d,
    random_views,
    reproject,
    root_translation,
)
from poseprior.errors import ValidationError
from poseprior.geometry import project_points


@pytest.fixture(scope="module")
def skeleton():
    return zoo.load("flow-ik-bandai").skeleton


@pytest.fixture(scope="module")
def poses(bandai_first_test_takes):
    return bandai_first_test_takes["rotations"][:200].double(), bandai_first_test_takes["root_rotation"][:200].double()


def _views(skeleton, poses, seed=0, **config):
    config = LiftingConfig(**config)
    keypoints = layout_keypoints(skeleton, poses[0], config.layout)
    return keypoints, random_views(keypoints, poses[1], config, 10.0, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("layout", [None, "h36m17", "coco17"])
def test_projection_consistency(skeleton, poses, layout):
    keypoints, views = _views(skeleton, poses, layout=layout)
    P = 21 if layout is None else 17
    assert keypoints.shape == (200, P, 3) and views["pixels"].shape == (200, P, 2)
    pixels = project_points(views["points_camera"] + views["root_camera"].unsqueeze(-2), views["camera"])
    torch.testing.assert_close(pixels, views["pixels"])
    # The camera frame is a rotation of the world: root-relative distances are the pelvis frame's, in mm.
    root = views["points_camera"][..., list(LiftingConfig(layout=layout).root), :].mean(-2)
    torch.testing.assert_close(root, torch.zeros_like(root), atol=1e-9, rtol=0)
    relative = keypoints - keypoints[..., list(LiftingConfig(layout=layout).root), :].mean(-2, keepdim=True)
    torch.testing.assert_close(views["points_camera"].norm(dim=-1), 10.0 * relative.norm(dim=-1))
    torch.testing.assert_close(
        views["R_cw"] @ views["R_cw"].transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(200, 3, 3)
    )


def test_ranges_respected(skeleton, poses):
    config = dict(pitch_deg=(5.0, 20.0), distance_mm=(4000.0, 4500.0), focal_px=(800.0, 1200.0), aim_jitter_mm=0.0)
    _, views = _views(skeleton, poses, **config)
    depth = views["root_camera"].norm(dim=-1)  # no aim jitter: the camera looks at the pelvis from distance d
    assert depth.min() >= 4000 - 1e-6 and depth.max() <= 4500 + 1e-6
    torch.testing.assert_close(views["root_camera"][:, :2], torch.zeros(200, 2, dtype=torch.float64), atol=1e-6, rtol=0)
    focal = views["camera"][:, 0, 0]
    assert focal.min() >= 800 and focal.max() <= 1200 and focal.std() > 50
    torch.testing.assert_close(
        views["camera"][:, :2, 2], torch.tensor([500.0, 500.0], dtype=torch.float64).expand(200, 2)
    )
    # Pitch: the camera's forward axis (row 2 of R_cw) points down by the elevation angle; level x axis.
    forward, right = views["R_cw"][:, 2], views["R_cw"][:, 0]
    pitch = torch.rad2deg(torch.asin(-forward[:, 1]))
    assert pitch.min() >= 5 - 1e-6 and pitch.max() <= 20 + 1e-6
    torch.testing.assert_close(right[:, 1], torch.zeros(200, dtype=torch.float64), atol=1e-9, rtol=0)
    # Yaw covers the circle.
    yaw = torch.atan2(forward[:, 0], forward[:, 2])
    assert torch.histc(yaw, bins=4, min=-math.pi, max=math.pi).min() > 20


def test_views_reproducible_and_batch_shaped(skeleton, poses):
    _, a = _views(skeleton, poses, seed=3)
    _, b = _views(skeleton, poses, seed=3)
    torch.testing.assert_close(a["pixels"], b["pixels"])
    keypoints = layout_keypoints(skeleton, poses[0][:12].reshape(3, 4, 20, 3, 3), "h36m17")
    views = random_views(keypoints, poses[1][:12].reshape(3, 4, 3, 3), LiftingConfig(layout="h36m17"), 10.0)
    assert (
        views["pixels"].shape == (3, 4, 17, 2)
        and views["camera"].shape == (3, 4, 3, 3)
        and views["confidence"].shape == (3, 4, 17)
    )


def test_dropped_keypoints_have_zero_confidence(skeleton, poses):
    _, views = _views(skeleton, poses, layout="coco17", drop_probability=0.3, pixel_noise_px=2.0)
    confidence = views["confidence"]
    assert set(confidence.unique().tolist()) == {0.0, 1.0}
    assert (confidence[:, [11, 12]] == 1).all()  # COCO's root, the hips, stays visible
    rate = 1 - confidence[:, [p for p in range(17) if p not in (11, 12)]].mean()
    assert 0.25 < rate < 0.35
    clean = project_points(views["points_camera"] + views["root_camera"].unsqueeze(-2), views["camera"])
    noise = views["pixels"] - clean
    assert 1.8 < float(noise.std()) < 2.2
    # Normalisation ignores dropped keypoints whatever they hold.
    corrupted = torch.where(confidence.unsqueeze(-1) > 0, views["pixels"], torch.nan)
    a = normalise_2d(views["pixels"], views["camera"], confidence, (11, 12))
    b = normalise_2d(corrupted, views["camera"], confidence, (11, 12))
    torch.testing.assert_close(a, b)
    assert (b[confidence == 0] == 0).all()


def test_normalisation_invariances(skeleton, poses):
    _, views = _views(skeleton, poses, layout="h36m17", drop_probability=0.2)
    pixels, camera, confidence = views["pixels"], views["camera"], views["confidence"]
    base = normalise_2d(pixels, camera, confidence)
    visible = confidence > 0
    assert torch.allclose(base[..., 0, :], torch.zeros(2, dtype=torch.float64))
    rms = (base.square().sum(-1).sum(-1) / visible.sum(-1)).sqrt()
    torch.testing.assert_close(rms, torch.ones_like(rms))
    # 2D translation.
    shifted = normalise_2d(pixels + torch.tensor([37.0, -81.0], dtype=torch.float64), camera, confidence)
    torch.testing.assert_close(shifted, base)
    # Scaling the image about any point (e.g. a longer focal length) changes nothing.
    zoomed_camera = camera.clone()
    zoomed_camera[:, :2, :2] *= 1.7
    zoomed = normalise_2d(500 + 1.7 * (pixels - 500), zoomed_camera, confidence)
    torch.testing.assert_close(zoomed, base)
    # Camera distance: a camera 3x farther (same direction) sees nearly the same normalised view.
    points, root = views["points_camera"], views["root_camera"]
    far = normalise_2d(project_points(points + 3 * root.unsqueeze(-2), camera), camera, confidence)
    near = normalise_2d(project_points(points + root.unsqueeze(-2), camera), camera, confidence)
    change = (far - near).abs()
    assert change.mean() < 0.03 and change.max() > 1e-3  # perspective effects only, shrinking with distance
    farther = normalise_2d(project_points(points + 30 * root.unsqueeze(-2), camera), camera, confidence)
    assert (farther - far).abs().mean() < 0.5 * change.mean()


def test_root_translation_recovers_root(skeleton, poses):
    _, views = _views(skeleton, poses, layout="h36m17")
    t = root_translation(views["points_camera"], views["pixels"], views["camera"], views["confidence"])
    torch.testing.assert_close(t, views["root_camera"])
    torch.testing.assert_close(reproject(views["points_camera"], views["pixels"], views["camera"]), views["pixels"])


def test_layouts_and_bad_input(skeleton, poses):
    assert LiftingConfig(layout="H36M").layout == "h36m17"
    assert LiftingConfig(layout="coco").root == (11, 12) and LiftingConfig().root == (0,)
    config = LiftingConfig(layout="coco17", pitch_deg=(0.0, 10.0))
    assert LiftingConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValidationError, match="layout"):
        LiftingConfig(layout="mpii")
    with pytest.raises(ValidationError, match="distance_mm"):
        LiftingConfig(distance_mm=(5000.0, 3000.0))
    with pytest.raises(ValidationError, match="drop_probability"):
        LiftingConfig(drop_probability=1.0)
    with pytest.raises(ValidationError, match="rotations"):
        layout_keypoints(skeleton, poses[0][:, :19])
    with pytest.raises(ValidationError, match="root_rotation"):
        random_views(torch.zeros(5, 17, 3), torch.eye(3), LiftingConfig(), 10.0)
    rest = torch.eye(3, dtype=torch.float64).expand(2, 20, 3, 3)
    assert layout_keypoints(skeleton, rest, "coco17").shape == (2, 17, 3)
    # Rotating the root rotation about the world up axis is the same as turning the camera's yaw.
    turn = roma.rotvec_to_rotmat(torch.tensor([0.0, 0.7, 0.0], dtype=torch.float64))
    keypoints = layout_keypoints(skeleton, poses[0][:4])
    config = LiftingConfig(yaw_deg=(30.0, 30.0), aim_jitter_mm=0.0)
    a = random_views(keypoints, poses[1][:4], config, 10.0, torch.Generator().manual_seed(0))
    turned = LiftingConfig(yaw_deg=(30.0 + math.degrees(0.7),) * 2, aim_jitter_mm=0.0)
    b = random_views(keypoints, turn @ poses[1][:4], turned, 10.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(a["points_camera"], b["points_camera"], atol=1e-6, rtol=0)


def test_h36m_training_data(h36m_3d_file):
    import numpy as np

    from poseprior.io.h36m import read_h36m_3d
    from poseprior.io.keypoints import Keypoints

    splits = h36m_lifting_splits(h36m_3d_file)  # train S1, val S8, every 5th frame
    assert splits["train"].shape == (50 + 30, 17, 3) and splits["val"].shape == (40, 17, 3)
    assert splits["train"][:, 0].abs().max() == 0  # root-relative
    # Millimetres, z up: the head is about 0.5-0.8 m above the pelvis, and the thigh about 0.4 m long.
    head = splits["train"][:, 10, 2]
    assert 450 < float(head.median()) < 850
    thigh = (splits["train"][:, 2] - splits["train"][:, 1]).norm(dim=-1)
    assert 300 < float(thigh.median()) < 550
    # The same frames as the reader's, in mm relative to the pelvis.
    walking = read_h36m_3d(h36m_3d_file, subjects=["S1"])["S1"]["Walking"].positions[::5]
    expected = torch.from_numpy(1000 * (walking - walking[:, :1])).float()
    torch.testing.assert_close(splits["train"][:30], expected, atol=1e-3, rtol=0)  # float32 metres
    with pytest.raises(ValidationError, match="both"):
        h36m_lifting_splits(h36m_3d_file, ("S1", "S8"), ("S8",))
    with pytest.raises(ValidationError, match="subjects"):
        h36m_lifting_splits(h36m_3d_file, ("S2",))
    with pytest.raises(ValidationError, match="every"):
        keypoint_training_data([], every=0)
    with pytest.raises(ValidationError, match="clips"):
        keypoint_training_data([])
    flat = Keypoints(np.zeros((3, 17, 2)), tuple(f"j{i}" for i in range(17)), fps=50.0)
    with pytest.raises(ValidationError, match="3D"):
        keypoint_training_data([flat])
