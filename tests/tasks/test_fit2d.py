"""fit_keypoints_2d: reprojection within the noise with each shipped prior and none, layouts, ranking, bad input."""

from __future__ import annotations

import math

import pytest
import torch

import poseprior.zoo
from poseprior.errors import ValidationError
from poseprior.geometry import default_camera, is_rotation, project_points
from poseprior.models.baseline import UniformPrior
from poseprior.models.flow.condition import perspective_pixels
from poseprior.skeleton import pelvis_keypoints
from poseprior.skeleton.layouts import keypoints_from_positions
from poseprior.tasks import Fit2DConfig, fit_keypoints_2d

FRAMES = slice(0, 300, 30)  # 10 varied poses of the test split
NOISE_PX = 3.0
CAMERA = default_camera((1000, 1000), 1000.0)


@pytest.fixture(scope="module")
def scene(bandai_first_test_takes):
    ik = poseprior.zoo.load("flow-ik-bandai").eval()
    skeleton, unit = ik.skeleton, ik.unit_mm
    R = bandai_first_test_takes["rotations"][FRAMES].float()
    root = bandai_first_test_takes["root_rotation"][FRAMES].float()
    g = torch.Generator().manual_seed(0)
    yaw = 2 * math.pi * torch.rand(10, generator=g)
    pitch = torch.deg2rad(torch.rand(10, generator=g) * 20)
    distance = (3000 + 3000 * torch.rand(10, generator=g)) / unit
    body = pelvis_keypoints(skeleton, R)
    exact = perspective_pixels(body, root, CAMERA, yaw, pitch, distance)
    noisy = exact + NOISE_PX * torch.randn(exact.shape, generator=g)
    return dict(ik=ik, skeleton=skeleton, unit=unit, R=R, root=root, exact=exact, noisy=noisy, body=body)


@pytest.mark.parametrize("name", ["none", "flow-bandai", "vae-bandai", "ndf-bandai"])
def test_fit_reprojects_within_the_noise(scene, name):
    prior = UniformPrior(20) if name == "none" else poseprior.zoo.load(name).eval()
    config = Fit2DConfig(hypotheses=2)
    fit = fit_keypoints_2d(
        scene["noisy"],
        None,
        CAMERA,
        scene["skeleton"],
        prior,
        unit_mm=scene["unit"],
        init=scene["ik"],
        config=config,
        generator=torch.Generator().manual_seed(0),
    )
    error = (fit.pixels - scene["noisy"]).norm(dim=-1).mean()
    # The mean length of 2D Gaussian noise of 3 px per coordinate is 3 sqrt(pi / 2) = 3.76 px; a fit that
    # follows the keypoints no further than the noise stays below it.
    assert error < NOISE_PX * math.sqrt(math.pi / 2)
    assert (fit.pixels - scene["exact"]).norm(dim=-1).mean() < 2 * NOISE_PX
    assert is_rotation(fit.rotations).all() and is_rotation(fit.root_rotation).all()
    assert (fit.positions[..., 2] > 0).all()  # in front of the camera
    assert torch.allclose(project_points(fit.positions, CAMERA), fit.pixels, atol=1e-3)


def test_hypotheses_are_ranked_and_confidence_zero_is_ignored(scene):
    pixels, confidence = scene["noisy"].clone(), torch.ones(10, 21)
    confidence[:, 7], pixels[:, 7] = 0.0, float("nan")  # an occluded joint: NaN with zero confidence
    config = Fit2DConfig(steps=30, hypotheses=3)
    fit = fit_keypoints_2d(
        pixels,
        confidence,
        CAMERA,
        scene["skeleton"],
        poseprior.zoo.load("vae-bandai").eval(),
        unit_mm=scene["unit"],
        init=scene["ik"],
        config=config,
    )
    assert fit.hypotheses.shape == (10, 3, 20, 3, 3) and fit.hypotheses_positions.shape == (10, 3, 21, 3)
    assert (fit.hypotheses_objective.diff(dim=1) >= 0).all()
    assert torch.equal(fit.hypotheses[:, 0], fit.rotations) and torch.equal(
        fit.hypotheses_objective[:, 0], fit.objective
    )
    assert torch.isfinite(fit.positions).all()


@pytest.mark.parametrize("layout", ["coco17", "h36m17"])
def test_layout_keypoints(scene, layout):
    # The posed skeleton at 4 m in front of the camera, seen through a layout's joint map.
    R_cam = torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])  # world y up -> camera y down
    points = scene["body"] @ (R_cam @ scene["root"]).transpose(-1, -2) + torch.tensor(
        [0.0, 0.0, 4000.0 / scene["unit"]]
    )
    pixels = project_points(keypoints_from_positions(points.double(), scene["skeleton"], layout).float(), CAMERA)
    config = Fit2DConfig(hypotheses=2)
    fit = fit_keypoints_2d(
        pixels,
        None,
        CAMERA,
        scene["skeleton"],
        poseprior.zoo.load("ndf-bandai").eval(),
        unit_mm=scene["unit"],
        layout=layout,
        init=scene["ik"],
        config=config,
    )
    assert fit.pixels.shape == (10, 17, 2)
    assert (fit.pixels - pixels).norm(dim=-1).mean() < NOISE_PX  # exact keypoints: closer than the usual noise


def test_bad_input(scene):
    sk, unit, px = scene["skeleton"], scene["unit"], scene["noisy"]
    with pytest.raises(ValidationError, match="keypoints: NaN"):
        bad = px.clone()
        bad[2, 4] = float("nan")
        fit_keypoints_2d(bad, None, CAMERA, sk, None, unit_mm=unit)
    with pytest.raises(ValidationError, match="at least 4"):
        confidence = torch.ones(10, 21)
        confidence[3] = 0
        fit_keypoints_2d(px, confidence, CAMERA, sk, None, unit_mm=unit)
    zero = CAMERA.clone()
    zero[0, 0] = 0
    with pytest.raises(ValidationError, match="focal"):
        fit_keypoints_2d(px, None, zero, sk, None, unit_mm=unit)
    with pytest.raises(ValidationError, match="layout"):
        fit_keypoints_2d(px[:, :17], None, CAMERA, sk, None, unit_mm=unit)  # 17 keypoints named by no layout
    with pytest.raises(ValidationError, match="h36m17"):
        fit_keypoints_2d(px, None, CAMERA, sk, None, unit_mm=unit, layout="h36m17")  # 21 keypoints, 17 in the layout
    with pytest.raises(ValidationError, match="prior"):
        fit_keypoints_2d(px, None, CAMERA, sk, UniformPrior(5), unit_mm=unit)
    with pytest.raises(ValidationError, match="camera"):
        fit_keypoints_2d(px, None, torch.eye(4), sk, None, unit_mm=unit)
    with pytest.raises(ValidationError, match="hypotheses"):
        Fit2DConfig(hypotheses=0)
    assert Fit2DConfig.from_dict(Fit2DConfig(steps=7).to_dict()) == Fit2DConfig(steps=7)
