"""ConditionalFlowPrior: shapes, exactness of the sampler's densities, the mode, observations, bad input, and that
the observation really informs the pose (a tiny model trained for a few seconds on a synthetic problem)."""

from __future__ import annotations

import json
import math

import pytest
import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import is_rotation, level_camera_rotations, random_rotations
from poseprior.models.flow import FlowConfig, FlowPrior
from poseprior.models.flow.condition import (
    ConditionConfig,
    observe_perspective,
    perspective_pixels,
    perspective_view,
    random_observation,
)
from poseprior.models.flow.conditional import (
    ConditionalFlowConfig,
    ConditionalFlowPrior,
    unobserved_gap,
)
from poseprior.models.prior import PoseJoints

# A 7-joint skeleton (root + 6 pose joints) with a branching tree; lengths in decimetres.
JOINTS = PoseJoints(
    names=("spine", "head", "arm", "hand", "leg", "foot"),
    parents=(-1, 0, 0, 2, -1, 4),
    root="pelvis",
    offsets=((0, 0, 0), (0, 1, 0), (0, 0.5, 0), (0.3, 0.8, 0), (0.8, 0, 0), (-0.3, -0.1, 0), (0, -1, 0)),
    unit_mm=100.0,
)
J = 7
CAMERA = torch.tensor([[500.0, 0.0, 320.0], [0.0, 520.0, 240.0], [0.0, 0.0, 1.0]])


def tiny(condition: ConditionConfig | None = None, seed: int = 0) -> ConditionalFlowPrior:
    torch.manual_seed(seed)
    condition = condition or ConditionConfig(context=8, hidden=(16,))
    return ConditionalFlowPrior(ConditionalFlowConfig.for_joints(JOINTS, condition, layers=2, hidden=(16,))).eval()


def hinge_poses(n: int, g: torch.Generator) -> torch.Tensor:
    """Poses that their keypoints determine: one hinge per joint, perpendicular to its bone, leaves fixed."""
    axes = torch.tensor([[1.0, 0, 0], [0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 0, 1]])
    theta = (torch.rand(n, 6, 1, generator=g) * 2 - 1) * 1.2
    theta[:, [1, 3, 5]] = 0  # head, hand and foot are leaves: no keypoint sees their rotation
    return roma.rotvec_to_rotmat(theta * axes + 0.05 * torch.randn(n, 6, 3, generator=g))


def upright(n: int, g: torch.Generator) -> torch.Tensor:
    """Root orientations turned about the vertical (y) axis only."""
    return roma.rotvec_to_rotmat(torch.tensor([0.0, 1.0, 0.0]) * 6.3 * torch.rand(n, 1, generator=g))


@pytest.fixture(scope="module")
def trained() -> ConditionalFlowPrior:
    """About 20 seconds of training on hinge poses, half of the observations perspective (bodies upright,
    facing any way)."""
    g = torch.Generator().manual_seed(0)
    R, roots = hinge_poses(20000, g), upright(20000, g)
    condition = ConditionConfig(
        context=16,
        hidden=(64, 64),
        p_3d=0.5,
        p_orthographic=0.0,
        p_perspective=0.5,
        distance_mm=(3000, 6000),
        pitch_deg=(-10, 30),
    )
    config = ConditionalFlowConfig.for_joints(JOINTS, condition, layers=4, hidden=(64, 64))
    torch.manual_seed(0)
    model = ConditionalFlowPrior.from_data(config, R, roots)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        idx = torch.randint(0, len(R), (256,), generator=g)
        loss = model.loss({"rotations": R[idx], "root_rotation": roots[idx]}, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_config_round_trip_and_validation():
    config = ConditionalFlowConfig.for_joints(JOINTS, ConditionConfig(context=8), layers=2, hidden=(16,))
    assert (
        config.flow.context == 8 + 6 + 3 * 6 and config.flow.num_joints == 6 and config.flow.parents == JOINTS.parents
    )
    d = json.loads(json.dumps(config.to_dict()))
    assert ConditionalFlowConfig.from_dict(d) == config
    with pytest.raises(ValidationError, match="flow.context"):
        ConditionalFlowConfig(FlowConfig(6, JOINTS.parents, context=8 + 6), ConditionConfig(context=8), JOINTS, 1.0)
    assert ConditionalFlowConfig.for_joints(JOINTS, ConditionConfig(context=8, estimates=False)).flow.context == 8 + 6
    with pytest.raises(ValidationError, match="offsets"):
        ConditionalFlowConfig.for_joints(PoseJoints(JOINTS.names, JOINTS.parents))
    with pytest.raises(ValidationError, match="p_full, p_empty"):
        ConditionConfig(p_full=0.8, p_empty=0.5)


def test_length_scale_is_the_farthest_rest_joint():
    config = ConditionalFlowConfig.for_joints(JOINTS, layers=2, hidden=(16,))
    # Rest pose: hand at spine + arm + hand offsets = (0, 1, 0) + (0.3, 0.8, 0) + (0.8, 0, 0).
    assert config.length_scale == pytest.approx(math.hypot(1.1, 1.8))


def test_shapes_and_rotations():
    model = tiny()
    R = random_rotations(5, 6)
    kp = model.keypoints(R)
    assert kp.shape == (5, J, 3) and torch.allclose(kp[:, 0], torch.zeros(3))
    assert model.log_prob(R, kp).shape == (5,)
    S = model.sample(3, kp)
    assert S.shape == (3, 5, 6, 3, 3) and is_rotation(S, tol=1e-4).all()
    assert model.mode(kp, candidates=4).shape == (5, 6, 3, 3)
    # A (J,) joint mask broadcasts; a per-coordinate mask (..., J, 3); orthographic and perspective inputs.
    hidden = torch.tensor([True, True, False, True, True, False, True])
    assert model.log_prob(R, kp, hidden).shape == (5,)
    assert model.log_prob(R, kp, torch.rand(5, J, 3) > 0.5).shape == (5,)
    assert model.log_prob(R, kp[..., :2]).shape == (5,)
    pixels = perspective_pixels(kp, random_rotations(5), CAMERA, torch.rand(5), torch.zeros(5), torch.full((5,), 40.0))
    assert model.sample(2, pixels, camera=CAMERA).shape == (2, 5, 6, 3, 3)
    # Batch dimensions: one observation scores many poses.
    assert model.log_prob(random_rotations(4, 5, 6), kp).shape == (4, 5)
    assert model.num_joints == 6 and model.joint_names == JOINTS.names and model.skeleton.num_joints == J


def test_sampler_log_prob_is_the_density():
    model = tiny()
    kp = model.keypoints(random_rotations(4, 6))
    mask = torch.rand(4, J) > 0.3
    S, logp = model.sample_with_log_prob(6, kp, mask)
    assert torch.allclose(model.log_prob(S, kp, mask), logp, atol=2e-3)
    assert torch.allclose(
        model.log_prob_unobserved(S), model.log_prob(S, kp, torch.zeros(J, dtype=torch.bool)), atol=1e-5
    )


def test_mode_is_the_best_candidate():
    model = tiny()
    kp = model.keypoints(random_rotations(3, 6))
    R0, logp0 = model.base_mode(kp)
    assert R0.shape == (3, 6, 3, 3) and torch.allclose(model.log_prob(R0, kp), logp0, atol=2e-3)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        S, logp = model.sample_with_log_prob(16, kp)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        mode = model.mode(kp, candidates=16)
    candidates, scores = torch.cat([R0.unsqueeze(0), S]), torch.cat([logp0.unsqueeze(0), logp])
    assert torch.equal(mode, candidates[scores.argmax(0), torch.arange(3)])
    assert (model.log_prob(mode, kp) >= model.log_prob(candidates, kp).amax(0) - 1e-3).all()


def test_temperature():
    model = tiny()
    kp = model.keypoints(random_rotations(3, 6))
    R0, logp0 = model.base_mode(kp)
    S, logp = model.sample_with_log_prob(2, kp, temperature=0.0)  # no noise: the base mode, twice
    torch.testing.assert_close(S, R0.expand_as(S))
    torch.testing.assert_close(logp, logp0.expand_as(logp))
    S, logp = model.sample_with_log_prob(5, kp, temperature=0.5)
    assert torch.allclose(model.log_prob(S, kp), logp, atol=2e-3)  # the model's own density
    with pytest.raises(ValidationError, match="temperature"):
        model.sample(2, kp, temperature=-1.0)


def test_hidden_values_may_be_nan_but_visible_ones_not():
    model = tiny()
    kp = model.keypoints(random_rotations(2, 6))
    mask = torch.ones(2, J, dtype=torch.bool)
    mask[1, 4] = False
    bad = kp.clone()
    bad[1, 4] = float("nan")
    assert torch.allclose(model.log_prob(random_rotations(2, 6), bad, mask).isfinite(), torch.tensor([True, True]))
    with pytest.raises(ValidationError, match="NaN or inf at a visible keypoint \\(joint 'hand'\\)"):
        model.log_prob(random_rotations(2, 6), bad)


def test_bad_inputs():
    model = tiny()
    R = random_rotations(2, 6)
    kp = model.keypoints(R)
    with pytest.raises(ValidationError, match=r"R: expected shape \(\.\.\., 6, 3, 3\)"):
        model.log_prob(random_rotations(2, 5), kp)
    with pytest.raises(ValidationError, match=r"keypoints: expected shape \(\.\.\., 7, 3\) or \(\.\.\., 7, 2\)"):
        model.log_prob(R, kp[:, :6])
    with pytest.raises(ValidationError, match="mask: shape \\(2, 6\\) does not fit"):
        model.log_prob(R, kp, torch.ones(2, 6, dtype=torch.bool))
    with pytest.raises(ValidationError, match="R: batch shape"):
        model.log_prob(random_rotations(3, 6), kp)
    with pytest.raises(ValidationError, match="R: "):
        model.log_prob(torch.randn(2, 6, 3, 3), kp)  # not rotations
    with pytest.raises(ValidationError, match="camera: intrinsics go with 2D"):
        model.log_prob(R, kp, camera=CAMERA)
    with pytest.raises(ValidationError, match="camera: expected finite"):
        model.log_prob(R, kp[..., :2], camera=torch.eye(4))
    with pytest.raises(ValidationError, match="singular"):
        model.log_prob(R, kp[..., :2], camera=torch.zeros(3, 3))
    hidden_root = torch.ones(J, dtype=torch.bool)
    hidden_root[0] = False
    with pytest.raises(ValidationError, match="root 'pelvis' visible"):
        model.log_prob(R, kp[..., :2] * 100 + 300, hidden_root, camera=CAMERA)
    with pytest.raises(ValidationError, match="root_rotation"):
        model.loss({"rotations": R[:1].expand(64, 6, 3, 3)}, torch.Generator().manual_seed(0))  # perspective needs it


def test_unobserved_observations_are_one_constant_context():
    model = tiny()
    kp = model.keypoints(random_rotations(3, 6))
    none = torch.zeros(J, dtype=torch.bool)
    with torch.no_grad():
        model.affine.weight.normal_()  # a trained-looking affine layer, so that its outputs are compared too
        c3d = torch.cat([c.flatten(1) for c in model.condition(kp, none)], -1)
        c2d = torch.cat([c.flatten(1) for c in model.condition(kp[..., :2], none)], -1)
        pixels = kp[..., :2] * 100 + 300
        cp = torch.cat([c.flatten(1) for c in model.condition(pixels, torch.arange(J) == 0, CAMERA)], -1)
    assert torch.allclose(c3d, c3d[:1].expand_as(c3d)) and torch.allclose(c3d, c2d) and torch.allclose(c3d, cp)


def test_perspective_view_removes_intrinsics_and_matches_training():
    g = torch.Generator().manual_seed(0)
    model = tiny()
    R, roots = random_rotations(8, 6, generator=g), random_rotations(8, generator=g)
    kp = model.keypoints(R)
    yaw, pitch, dist = (
        torch.rand(8, generator=g) * 6.3,
        torch.rand(8, generator=g) - 0.3,
        30 + 30 * torch.rand(8, generator=g),
    )
    mask = torch.ones(8, J, dtype=torch.bool)
    a = observe_perspective(perspective_pixels(kp, roots, CAMERA, yaw, pitch, dist), CAMERA, mask).image
    other = torch.tensor([[900.0, 0.0, 100.0], [0.0, 700.0, 600.0], [0.0, 0.0, 1.0]])
    b = observe_perspective(perspective_pixels(kp, roots, other, yaw, pitch, dist), other, mask).image
    assert torch.allclose(a, b, atol=1e-4)
    # The training observation (camera coordinates, no pixels) is the same canonical view.
    R_cw, _ = level_camera_rotations(torch.tensor([0.0, 1.0, 0.0]), yaw, pitch)
    cam = kp @ (R_cw @ roots).transpose(-1, -2) + torch.stack([0 * dist, 0 * dist, dist], -1).unsqueeze(-2)
    assert torch.allclose(a, perspective_view(cam, mask), atol=1e-4)
    # A level camera aimed off the pelvis: the pan-tilt turn brings back a level camera aimed at it.
    aim = torch.randn(8, 3, generator=g) * 3
    c = observe_perspective(
        perspective_pixels(kp, roots, CAMERA, yaw, torch.zeros(8), dist, aim=aim), CAMERA, mask
    ).image
    eye = aim + dist.unsqueeze(-1) * level_camera_rotations(torch.tensor([0.0, 1.0, 0.0]), yaw, torch.zeros(8))[1]
    d = eye.norm(dim=-1)
    new_yaw = torch.atan2(eye[:, 0], eye[:, 2])  # level_camera_rotations' horizontal axes for Y-up: h1 = z, h2 = x
    new_pitch = torch.asin(eye[:, 1] / d)
    expected = observe_perspective(perspective_pixels(kp, roots, CAMERA, new_yaw, new_pitch, d), CAMERA, mask).image
    assert torch.allclose(c, expected, atol=1e-4)


def test_bone_alignment_turns_visible_bones_onto_the_keypoints():
    model = tiny()
    R = random_rotations(5, 6)
    kp = model.keypoints(R)
    mask = torch.ones(5, J, 3, dtype=torch.bool)
    mask[:, 4] = False  # the hand is hidden: the arm's estimate falls back to the centre
    M, pinned = model.align(model.observe(kp, mask))
    assert pinned.tolist() == [[True, False, False, False, True, False]] * 5  # spine, leg; arm's only bone hidden
    reference = random_rotations(5, 6)
    G = model.align.solve(M, reference)
    torch.testing.assert_close(G[:, ~pinned[0]], reference[:, ~pinned[0]])  # no visible bone: the reference
    # Spine: two bones (head, arm) fix its global rotation; leg: one bone fixes its direction.
    offsets = model.skeleton.offsets.float()
    for j, child in ((0, 2), (0, 3), (4, 6)):
        bone = kp[:, child] - kp[:, j + 1]
        torch.testing.assert_close((G[:, j] @ offsets[child]), bone, atol=1e-4, rtol=0)
    eye = torch.eye(3).expand(5, 1, 3, 3)
    spine_global = torch.cat([eye, R], 1)[:, 1]
    torch.testing.assert_close(G[:, 0], spine_global, atol=1e-4, rtol=0)


def test_pinned_frame_is_a_bijection_centred_on_the_keypoints():
    model = tiny()
    R = random_rotations(6, 6)
    kp = model.keypoints(R)
    mask = torch.rand(6, J, generator=torch.Generator().manual_seed(0)) > 0.4
    condition = model.condition(kp, mask)
    D = model._to_flow(R, condition)
    torch.testing.assert_close(model._from_flow(D, condition), R, atol=1e-5, rtol=0)
    # Pinned by its exact bones, a joint's flow rotation turns its rest bones like the chart centre does.
    pinned = condition.pinned
    assert pinned.any() and (~pinned).any()
    centers, offsets = model.flow.chart.centers, model.skeleton.offsets.float()
    for j, child in ((0, 2), (4, 6)):
        rows = pinned[:, j]
        torch.testing.assert_close(
            D[rows, j] @ offsets[child], (centers[j] @ offsets[child]).expand(int(rows.sum()), 3), atol=1e-4, rtol=0
        )
    torch.testing.assert_close(D[~pinned], R[~pinned])
    # In the flow's chart, turned to the bone axes, what a joint pinned by its (longest) bone has left is a
    # twist about the x axis; the spine, pinned by two bones, has nothing left.
    full = model.condition(kp)
    z = model.flow.chart.to_euclidean(model._to_flow(R, full))[0].unflatten(-1, (6, 3))
    assert z[:, [2, 4], 1:].abs().max() < 1e-3 and z[:, [2, 4], 0].abs().max() > 0.1
    assert z[:, 0].abs().max() < 1e-3


def test_from_data_starts_with_the_sharpness_the_bones_give():
    g = torch.Generator().manual_seed(0)
    R = hinge_poses(3000, g)
    torch.manual_seed(0)
    config = ConditionalFlowConfig.for_joints(
        JOINTS, ConditionConfig(context=8, hidden=(16,), noise=0.002), layers=2, hidden=(16,)
    )
    model = ConditionalFlowPrior.from_data(config, R).eval()
    kp = model.keypoints(R[:200])
    gain = model.log_prob(R[:200], kp).mean() - model.log_prob_unobserved(R[:200]).mean()
    assert gain > 10  # untrained: only the bone alignment and the affine layer's initialisation


def test_random_observation_mix():
    g = torch.Generator().manual_seed(0)
    kp = torch.randn(4000, J, 3)
    config = ConditionConfig(p_3d=0.5, p_orthographic=0.25, p_perspective=0.25, p_full=0.3, p_empty=0.1)
    obs = random_observation(kp, random_rotations(4000, generator=g), config, 2.0, 100.0, g)
    is_3d = obs.points_mask[:, 1:, 2].any(-1)
    is_persp = obs.image_mask[:, 0]
    assert not (is_3d & is_persp).any()
    assert 0.2 < is_persp.float().mean() < 0.3  # a quarter perspective
    visible = torch.where(is_persp.unsqueeze(-1), obs.image_mask, obs.points_mask[..., 0])[:, 1:]
    assert 0.07 < (~visible.any(-1)).float().mean() < 0.2  # ~10% hide every joint (and some by chance)
    assert 0.25 < visible.all(-1).float().mean() < 0.4  # ~30% hide none
    # Orthographic ones see x, y but not z; hidden coordinates are zero.
    ortho = ~is_persp & ~is_3d & obs.points_mask[:, 1:, 0].any(-1)
    assert ortho.any() and not obs.points_mask[ortho][..., 2].any()
    assert (obs.points[~obs.points_mask] == 0).all() and (obs.image[~obs.image_mask] == 0).all()


def test_loss_trains_every_parameter_and_validation_metrics():
    model = tiny().train()
    R = random_rotations(64, 6)
    batch = {"rotations": R, "root_rotation": random_rotations(64)}
    loss = model.loss(batch, torch.Generator().manual_seed(0))
    loss.backward()
    assert loss.ndim == 0 and loss.isfinite()
    assert all(p.grad is not None for p in model.parameters())
    metrics = model.validation_metrics(batch)
    assert set(metrics) == {
        "log_likelihood",
        "ll_3d",
        "ll_3d_masked30",
        "ll_orthographic",
        "ll_perspective",
        "ll_unobserved",
    }
    assert metrics == model.validation_metrics(batch)  # fixed seed


def test_observation_informs_the_pose(trained):
    g = torch.Generator().manual_seed(1)
    R = hinge_poses(300, g)
    kp = trained.keypoints(R)

    def error(keypoints, mask=None, camera=None):
        """Per-joint mean distance of sampled poses' keypoints from the truth, in decimetres."""
        S = trained.sample(4, keypoints, mask, camera)
        return (trained.keypoints(S) - kp).norm(dim=-1).mean((0, 1))

    full, none = error(kp), error(kp, torch.zeros(J, dtype=torch.bool))
    assert full.mean() < 0.1 * none.mean()
    lp_full = trained.log_prob(R, kp).mean()
    assert lp_full > trained.log_prob_unobserved(R).mean() + 20
    # Hiding the arm and hand keypoints: their errors grow, the legs' stay small.
    mask = torch.ones(J, dtype=torch.bool)
    mask[[3, 4]] = False
    partial = error(kp, mask)
    assert partial[[3, 4]].mean() > 2 * full[[3, 4]].mean() and partial[6] < 0.5 * none[6]
    # Perspective pixels from random views carry information too (slower to learn: the view is unknown).
    roots = upright(300, g)
    pixels = perspective_pixels(
        kp,
        roots,
        CAMERA,
        6.3 * torch.rand(300, generator=g),
        0.3 * torch.rand(300, generator=g),
        torch.full((300,), 45.0),
    )
    persp = error(pixels, None, CAMERA)
    assert persp.mean() < 0.9 * none.mean()


def test_unobserved_gap():
    model = tiny()
    prior = FlowPrior(FlowConfig(6, JOINTS.parents, layers=2, hidden=(16,)))
    R = random_rotations(50, 6)
    gap = unobserved_gap(model, prior, R, batch_size=20)
    assert gap["gap"] == pytest.approx(gap["prior"] - gap["unobserved"])
    assert gap["unobserved"] == pytest.approx(float(model.log_prob_unobserved(R).detach().mean()), abs=1e-4)


def test_bone_estimates_recover_fully_pinned_joints_and_vanish_elsewhere():
    model = tiny()
    g = torch.Generator().manual_seed(3)
    R = hinge_poses(8, g)
    mask = torch.ones(8, J, dtype=torch.bool)
    mask[:, 6] = False  # the foot: the leg loses its only bone
    condition = model.condition(model.keypoints(R), mask)
    estimates = condition.context[..., -3 * 6 :].unflatten(-1, (6, 3))
    # The spine's two bones (head, arm) fix its whole rotation: the estimate is its true chart coordinate.
    flow = model.flow
    z = flow.chart.to_euclidean(R)[0]
    truth = ((z - flow.loc) / flow.scale).unflatten(-1, (6, 3))
    assert torch.allclose(estimates[:, 0], truth[:, 0], atol=1e-4)
    assert condition.pinned[:, 4].logical_not().all() and (estimates[:, 4] == 0).all()
