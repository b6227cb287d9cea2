"""The probabilistic (normalizing-flow) lifter: shapes, training signal, geometry, bad input."""

from __future__ import annotations

import pytest
import torch

from poseprior import zoo
from poseprior.data.lifting import LiftingConfig, reproject
from poseprior.errors import ValidationError
from poseprior.models.lifter import FlowLifterConfig, ProbabilisticLifter
from poseprior.models.prior import PoseJoints
from poseprior.train.loop import Trainable
from poseprior.zoo.classes import ModelClass


@pytest.fixture(scope="module")
def joints():
    return PoseJoints.from_skeleton(zoo.load("flow-ik-bandai").skeleton)


@pytest.fixture(scope="module")
def data(bandai_first_test_takes):
    return {
        "rotations": bandai_first_test_takes["rotations"][:400],
        "root_rotation": bandai_first_test_takes["root_rotation"][:400],
    }


def _config(joints, layout="h36m17", **lifting):
    return FlowLifterConfig(
        joints,
        LiftingConfig(layout=layout, **lifting),
        transforms=2,
        hidden=(64, 64),
        bins=4,
        context=16,
        context_hidden=(64,),
    )


@pytest.fixture(scope="module")
def trained(joints, data):
    """A tiny lifter after a few hundred steps, and its validation metrics before and after."""
    torch.manual_seed(0)
    model = ProbabilisticLifter.from_data(_config(joints), data)
    held_out = {k: v[300:] for k, v in data.items()}
    before = model.validation_metrics(held_out)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(1)
    for _ in range(150):
        index = torch.randint(0, 300, (64,), generator=generator)
        loss = model.loss({k: v[index] for k, v in data.items()}, generator)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    return model, before, model.validation_metrics(held_out)


def _views(model, data, n=8, seed=5):
    batch = {k: v[300 : 300 + n] for k, v in data.items()}
    return model.random_views(batch, torch.Generator().manual_seed(seed))


def test_config_roundtrip_and_standardisation(joints, data):
    config = _config(joints, "coco17", drop_probability=0.1)
    assert FlowLifterConfig.from_dict(config.to_dict()) == config
    assert (
        ModelClass("ProbabilisticLifter", "poseprior.models.lifter.flow", "ProbabilisticLifter", "FlowLifterConfig")
        .build(config.to_dict())
        .num_keypoints
        == 17
    )
    model = ProbabilisticLifter.from_data(config, data)
    assert model.loc.shape == model.scale.shape == (48,)
    # Root-relative keypoints scatter by tens of centimetres; random yaw centres x and z (y: head up, feet down).
    loc = model.loc.unflatten(-1, (16, 3))
    assert 50 < float(model.scale.median()) < 800 and float(loc[:, [0, 2]].abs().max()) < 150
    assert float(loc[:, 1].min()) < -400 and float(loc[:, 1].max()) > 600
    # Export: a model built from the config and loaded with the state dict gives the same outputs.
    rebuilt = ProbabilisticLifter(FlowLifterConfig.from_dict(config.to_dict()))
    rebuilt.load_state_dict(model.state_dict())
    views = _views(model, data, n=3)
    torch.testing.assert_close(
        rebuilt.mode(views["pixels"], views["camera"]), model.mode(views["pixels"], views["camera"])
    )


@pytest.mark.parametrize("layout", [None, "h36m17", "coco17"])
def test_shapes(joints, data, layout):
    model = ProbabilisticLifter.from_data(_config(joints, layout), data)
    P = model.num_keypoints
    assert P == (21 if layout is None else 17)
    views = _views(model, data, n=5)
    pixels, camera = views["pixels"], views["camera"]
    log_prob = model.log_prob(views["points_camera"], pixels, camera)
    assert log_prob.shape == (5,) and torch.isfinite(log_prob).all()
    samples = model.sample(3, pixels, camera[0], generator=torch.Generator().manual_seed(0))
    assert samples.shape == (3, 5, P, 3) and torch.isfinite(samples).all()
    root = samples[..., list(model.root), :].mean(-2)
    torch.testing.assert_close(root, torch.zeros_like(root), atol=1e-3, rtol=0)  # root-relative
    again = model.sample(3, pixels, camera[0], generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(samples, again)
    assert model.mode(pixels, camera).shape == (5, P, 3) and model.skeleton.num_joints == 21
    # Many hypotheses scored at once: 2D broadcast to the samples, one camera for all.
    scores = model.log_prob(samples, pixels.expand(3, 5, P, 2), camera[0], torch.ones(3, 5, P))
    assert scores.shape == (3, 5) and torch.isfinite(scores).all()
    assert model.sample(2, pixels.reshape(5, 1, P, 2), camera.reshape(5, 1, 3, 3)).shape == (2, 5, 1, P, 3)


def test_training_increases_log_likelihood(trained, data):
    model, before, after = trained
    assert isinstance(model, Trainable) and set(after) == {"loss", "log_likelihood", "mpjpe_mm"}
    assert after["log_likelihood"] > before["log_likelihood"] + 10  # nats per pose, 48 standardised coordinates
    assert after["loss"] == pytest.approx(-after["log_likelihood"])
    assert after["mpjpe_mm"] < 0.8 * before["mpjpe_mm"]
    assert model.validation_metrics({k: v[300:] for k, v in data.items()}) == after  # fixed-seed views


def test_log_prob_units(trained, data):
    model, _, _ = trained
    views = _views(model, data)
    context = model.context(views["pixels"], views["camera"])
    standardised = model._log_prob_standardised(views["points_camera"], context)
    in_mm = model.log_prob(views["points_camera"], views["pixels"], views["camera"])
    torch.testing.assert_close(in_mm, standardised - model.scale.log().sum())
    # The true 3D is more likely than another pose's under this 2D.
    other = views["points_camera"].roll(1, 0)
    assert (model.log_prob(other, views["pixels"], views["camera"]) < in_mm).float().mean() >= 0.75


def test_samples_reproject_near_input(trained, data):
    model, _, _ = trained
    views = _views(model, data, n=16)
    pixels, camera = views["pixels"], views["camera"]
    samples = model.sample(8, pixels, camera, generator=torch.Generator().manual_seed(2))
    error = (reproject(samples, pixels, camera) - pixels).norm(dim=-1)  # pixels, after the best root fit
    # The 2D is about 150-400 px tall; a 2D-blind sample (another pose) reprojects with far larger errors.
    blind = (reproject(samples.roll(1, 1), pixels, camera) - pixels).norm(dim=-1)
    assert float(error.median()) < 0.7 * float(blind.median())
    mode = model.mode(pixels, camera)
    mode_error = (reproject(mode, pixels, camera) - pixels).norm(dim=-1)
    assert float(mode_error.median()) < 0.7 * float(blind.median())
    # The mode is a valid pose: root-relative, finite, of human size (under 2.5 m between any two keypoints).
    assert torch.isfinite(mode).all() and float(torch.cdist(mode, mode).max()) < 2500


def test_confidence_masks_keypoints(trained, data):
    model, _, _ = trained
    views = _views(model, data, n=4)
    confidence = torch.ones(4, 17)
    confidence[:, [13, 16]] = 0  # wrists missing
    pixels = views["pixels"].clone()
    pixels[:, [13, 16]] = torch.nan
    a = model.mode(pixels, views["camera"], confidence)
    other = views["pixels"].clone()
    other[:, [13, 16]] = 123.0
    b = model.mode(other, views["camera"], confidence)
    torch.testing.assert_close(a, b)


def test_bad_input(trained, data):
    model, _, _ = trained
    views = _views(model, data, n=2)
    pixels, camera = views["pixels"], views["camera"]
    with pytest.raises(ValidationError, match="pixels: expected shape"):
        model.mode(pixels[:, :16], camera)
    with pytest.raises(ValidationError, match="points3d"):
        model.log_prob(views["points_camera"][:, :16], pixels, camera)
    nan = pixels.clone()
    nan[0, 5] = torch.nan
    with pytest.raises(ValidationError, match="keypoint 5"):
        model.sample(2, nan, camera)
    with pytest.raises(ValidationError, match="empty"):
        model.sample(2, pixels[:0], camera)
    with pytest.raises(ValidationError, match="camera"):
        model.mode(pixels, torch.zeros(3, 3))
    with pytest.raises(ValidationError, match="root"):
        model.mode(pixels, camera, torch.ones(2, 17).index_fill(1, torch.tensor([0]), 0.0))
    with pytest.raises(ValidationError, match="confidence"):
        model.mode(pixels, camera, torch.ones(2, 16))
    with pytest.raises(ValidationError, match="n:"):
        model.sample(0, pixels, camera)


def test_keypoint_data_gives_the_same_views(joints, data):
    """3D keypoints (world axes, mm, root-relative) are seen exactly as the poses they come from."""
    from poseprior.data.lifting import layout_keypoints

    model = ProbabilisticLifter.from_data(_config(joints), data)
    batch = {k: v[:6] for k, v in data.items()}
    keypoints = (
        10.0
        * layout_keypoints(model.skeleton, batch["rotations"].float(), "h36m17")
        @ batch["root_rotation"].float().transpose(-1, -2)
    )
    a = model.random_views(batch, torch.Generator().manual_seed(3))
    b = model.random_views({"keypoints": keypoints}, torch.Generator().manual_seed(3))
    for key in ("pixels", "points_camera", "confidence"):
        torch.testing.assert_close(a[key], b[key], atol=1e-3, rtol=1e-5)


def test_lifter_trained_on_keypoints(h36m_3d_file):
    """A lifter with no skeleton (Human3.6M-style joints): trains from keypoints alone, refuses poses."""
    from poseprior.data.lifting import H36M_UP, h36m_lifting_splits
    from poseprior.skeleton.layouts import H36M17

    splits = h36m_lifting_splits(h36m_3d_file)
    joints = PoseJoints(H36M17.joint_names[1:], tuple(p - 1 for p in H36M17.parents[1:]), root="Hip", unit_mm=1.0)
    config = FlowLifterConfig(
        joints,
        LiftingConfig(layout="h36m17", up=H36M_UP),
        transforms=2,
        hidden=(64, 64),
        bins=4,
        context=16,
        context_hidden=(64,),
    )
    assert FlowLifterConfig.from_dict(config.to_dict()) == config
    torch.manual_seed(0)
    model = ProbabilisticLifter.from_data(config, {"keypoints": splits["train"]})
    assert model.skeleton is None
    val = {"keypoints": splits["val"]}
    before = model.validation_metrics(val)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(1)
    for _ in range(100):
        loss = model.loss(
            {"keypoints": splits["train"][torch.randint(0, len(splits["train"]), (64,), generator=generator)]},
            generator,
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    after = model.validation_metrics(val)
    assert after["log_likelihood"] > before["log_likelihood"] + 5 and after["mpjpe_mm"] < before["mpjpe_mm"]
    with pytest.raises(ValidationError, match="no skeleton"):
        model.random_views(
            {"rotations": torch.eye(3).expand(2, 16, 3, 3), "root_rotation": torch.eye(3).expand(2, 3, 3)}, None
        )
    with pytest.raises(ValidationError, match="keypoints: expected shape"):
        model.random_views({"keypoints": splits["val"][:, :16]}, None)
    with pytest.raises(ValidationError, match="rest offsets"):
        FlowLifterConfig(joints)


def test_coupling_flow_samples_in_one_pass(joints, data):
    """``passes=2``: coupling transforms; the same interface, and sampling inverts the flow exactly."""
    config = FlowLifterConfig(
        joints,
        LiftingConfig(layout="h36m17"),
        transforms=2,
        hidden=(32,),
        bins=4,
        context=8,
        context_hidden=(32,),
        passes=2,
    )
    assert FlowLifterConfig.from_dict(config.to_dict()) == config
    model = ProbabilisticLifter.from_data(config, data)
    views = _views(model, data, n=3)
    samples = model.sample(4, views["pixels"], views["camera"], generator=torch.Generator().manual_seed(0))
    assert samples.shape == (4, 3, 17, 3)
    # Exact inverse: the samples' features map back to the base draws.
    context = model.context(views["pixels"], views["camera"])
    x = (model._features(samples) - model.loc) / model.scale
    z = model.flow(context).transform(x)
    torch.testing.assert_close(
        z, torch.randn((4, 3, 48), generator=torch.Generator().manual_seed(0)), atol=1e-3, rtol=1e-3
    )
    with pytest.raises(ValidationError, match="passes"):
        FlowLifterConfig(joints, LiftingConfig(layout="h36m17"), passes=1)
