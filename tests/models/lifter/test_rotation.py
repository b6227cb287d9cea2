"""RotationLifter: shapes, valid rotations, joints = forward kinematics of the rotations, invariance to translating
the 2D input, sequences = their windows, training lowers the loss, windows never cross takes, bad input."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import roma
import torch

from poseprior.data.lifting import LiftingConfig, root_translation
from poseprior.errors import ValidationError
from poseprior.geometry import is_rotation, project_points
from poseprior.models.lifter.rotation import (
    RotationLifter,
    RotationLifterConfig,
    sequence_windows,
    temporal_dilations,
    window_indices,
)
from poseprior.models.prior import PoseJoints
from poseprior.skeleton import forward_kinematics

# A 7-joint skeleton (root + 6 pose joints) with a branching tree; lengths in decimetres.
JOINTS = PoseJoints(
    names=("spine", "head", "arm", "hand", "leg", "foot"),
    parents=(-1, 0, 0, 2, -1, 4),
    root="pelvis",
    offsets=((0, 0, 0), (0, 1, 0), (0, 0.5, 0), (0.3, 0.8, 0), (0.8, 0, 0), (-0.3, -0.1, 0), (0, -1, 0)),
    unit_mm=100.0,
)
K, J = 6, 7


def motion(takes: int, frames: int, g: torch.Generator) -> SimpleNamespace:
    """Smooth random motions (a PreparedSplit's fields): rotations drift slowly, each take turns about +y."""
    steps = 0.08 * torch.randn(takes, frames, K, 3, generator=g)
    rotvec = 0.5 * torch.randn(takes, 1, K, 3, generator=g) + steps.cumsum(1)
    yaw = 6.3 * torch.rand(takes, 1, 1, generator=g) + 0.05 * torch.arange(frames).view(1, -1, 1)
    return SimpleNamespace(
        rotations=roma.rotvec_to_rotmat(rotvec).flatten(0, 1),
        root_rotation=roma.rotvec_to_rotmat(yaw * torch.tensor([0.0, 1.0, 0.0])).flatten(0, 1),
        take=torch.arange(takes).repeat_interleave(frames),
        frame=(3 * torch.arange(frames)).repeat(takes),
    )


def tiny(
    window: int = 5, lifting: LiftingConfig | None = None, joints: PoseJoints = JOINTS, data=None
) -> RotationLifter:
    torch.manual_seed(0)
    config = RotationLifterConfig(joints, lifting or LiftingConfig(), window=window, channels=32, blocks=1, dropout=0.0)
    if data is None:
        return RotationLifter(config).eval()
    return RotationLifter.from_data(config, data.rotations, data.root_rotation, samples=500).eval()


def views(model: RotationLifter, R: torch.Tensor, root: torch.Tensor, seed: int = 0) -> dict:
    """One random camera for a whole sequence ``R (T, K, 3, 3)``: the training views of one window."""
    return model._views(R.unsqueeze(0), root.unsqueeze(0), torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def data() -> SimpleNamespace:
    return motion(8, 40, torch.Generator().manual_seed(0))


def test_window_indices_stay_in_their_take():
    g = torch.Generator().manual_seed(1)
    take = torch.tensor([0] * 4 + [1] * 1 + [2] * 6)
    frame = torch.cat([torch.arange(4) * 3, torch.tensor([9]), torch.arange(6) * 3 + 30])
    perm = torch.randperm(len(take), generator=g)  # rows in any order
    take, frame = take[perm], frame[perm]
    index = window_indices(take, frame, 5)
    assert index.shape == (11, 5) and index.dtype == torch.long
    assert torch.equal(index[:, 2], torch.arange(11))  # the centre is the row itself
    assert torch.equal(take[index], take[:, None].expand(-1, 5))  # never across takes
    f = frame[index]
    assert (f.diff(dim=1) >= 0).all()  # in frame order, clamped (repeated) at the take's ends
    single = (take == 1).nonzero().item()
    assert (index[single] == single).all()  # a one-row take repeats itself
    first = ((take == 2) & (frame == 30)).nonzero().item()
    assert frame[index[first]].tolist() == [30, 30, 30, 33, 36]
    with pytest.raises(ValidationError, match="window"):
        window_indices(take, frame, 4)


def test_sequence_windows(data):
    out = sequence_windows(data, 5)
    assert out["window_rotations"].shape == (320, 5, K, 3, 3) and out["window_root_rotation"].shape == (320, 5, 3, 3)
    assert out["window_rotations"].dtype == torch.float32
    assert torch.equal(out["window_rotations"][:, 2], data.rotations)
    assert torch.equal(out["window_rotations"][41, 0], data.rotations[40])  # take 1 starts at row 40: clamped
    assert torch.equal(out["window_root_rotation"][39, 4], data.root_rotation[39])


def test_dilations_cover_the_window():
    for window in (3, 5, 7, 9, 11, 27, 81):
        assert 3 + 2 * sum(temporal_dilations(window)) == window


def test_shapes_rotations_and_forward_kinematics(data):
    model = tiny(data=data)
    v = views(model, data.rotations[:11], data.root_rotation[:11])
    out = model(v["pixels"][0], v["camera"][0])
    assert out["rotations"].shape == (11, K, 3, 3) and out["root_rotation"].shape == (11, 3, 3)
    assert out["positions"].shape == (11, J, 3)
    assert is_rotation(out["rotations"], tol=1e-4).all() and is_rotation(out["root_rotation"], tol=1e-4).all()
    # the joints are forward kinematics of the returned rotations (root at the origin, camera frame, mm)
    R = torch.cat([out["root_rotation"].unsqueeze(1), out["rotations"]], dim=1).double()
    fk = forward_kinematics(JOINTS.skeleton, R, torch.zeros(11, 3, dtype=torch.float64))[0] * JOINTS.unit_mm
    torch.testing.assert_close(out["positions"].double(), fk, atol=1e-3, rtol=1e-5)
    # batches of sequences and per-frame intrinsics give the same
    both = model(v["pixels"].expand(2, -1, -1, -1), v["camera"][0].expand(2, 11, 3, 3))
    torch.testing.assert_close(both["rotations"][1], out["rotations"], atol=1e-5, rtol=1e-5)


def test_sequence_equals_its_windows(data):
    """Each frame of a sequence is lifted from its own window, the ends padded by repeating the end frames."""
    model = tiny(data=data)
    T, W = 9, model.config.window
    v = views(model, data.rotations[:T], data.root_rotation[:T])
    out = model(v["pixels"][0], v["camera"][0])
    features = model._features(v["pixels"][0], v["camera"][0].expand(T, 3, 3), v["confidence"][0])
    index = (torch.arange(T)[:, None] + torch.arange(W) - W // 2).clamp(0, T - 1)
    root, local = model._predict_windows(features[index])
    torch.testing.assert_close(local, out["rotations"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(root, out["root_rotation"], atol=1e-5, rtol=1e-5)


def test_invariant_to_translating_the_2d_input(data):
    model = tiny(data=data)
    v = views(model, data.rotations[:6], data.root_rotation[:6])
    pixels, camera, confidence = v["pixels"][0], v["camera"][0], v["confidence"][0]
    confidence[:, 3] = 0.0
    a = model(pixels, camera, confidence)
    b = model(pixels + torch.tensor([37.0, -120.0]), camera, confidence)
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-4, rtol=1e-4)


def test_training_lowers_the_loss(data):
    model = tiny(data=data)
    windows = sequence_windows(data, model.config.window)
    val = {k: v[:128] for k, v in windows.items()}
    model.eval()
    before = model.validation_metrics(val)
    assert before == model.validation_metrics(val)  # fixed-seed views
    assert set(before) >= {"loss", "mpjpe_mm", "mpjae_deg"}
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        idx = torch.randint(0, 320, (64,), generator=g)
        loss = model.loss({k: v[idx] for k, v in windows.items()}, g)
        assert loss.ndim == 0 and torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = model.eval().validation_metrics(val)
    assert after["loss"] < 0.8 * before["loss"] and after["mpjpe_mm"] < before["mpjpe_mm"]


def test_one_camera_per_window(data):
    """All frames of a training window are seen by one camera (each window by its own)."""
    model = tiny(data=data)
    windows = {k: v[:3] for k, v in sequence_windows(data, 5).items()}
    v = model._views(windows["window_rotations"], windows["window_root_rotation"], torch.Generator().manual_seed(0))
    assert v["pixels"].shape == (3, 5, J, 2) and v["camera"].shape == (3, 3, 3) and v["confidence"].shape == (3, 5, J)
    # the root stays at the world origin, so it is at one pixel through a window, another in another window
    root = v["pixels"][:, :, 0]
    torch.testing.assert_close(root, root[:, :1].expand(-1, 5, -1))
    assert (root[0, 0] - root[1, 0]).norm() > 1.0
    # the camera-frame joints of the true camera-frame root rotations, placed by frame 0, give every frame's pixels
    points = model.positions(v["root_rotation"], windows["window_rotations"])
    t = root_translation(points[:, 0], v["pixels"][:, 0], v["camera"])
    torch.testing.assert_close(
        project_points(points + t[:, None, None], v["camera"].unsqueeze(1)), v["pixels"], atol=1e-2, rtol=1e-4
    )


def test_layouts_with_the_bandai_skeleton():
    from poseprior.zoo import load

    skeleton = load("flow-ik-bandai").skeleton
    joints = PoseJoints.from_skeleton(skeleton, 10.0)
    g = torch.Generator().manual_seed(0)
    R = roma.rotvec_to_rotmat(0.2 * torch.randn(30, 20, 3, generator=g))
    roots = roma.rotvec_to_rotmat(torch.tensor([0.0, 1.0, 0.0]) * torch.rand(30, 1, generator=g) * 6)
    for layout, P in (("h36m17", 17), ("coco17", 17)):
        model = tiny(
            3,
            LiftingConfig(layout=layout, drop_probability=0.2),
            joints,
            SimpleNamespace(rotations=R, root_rotation=roots),
        )
        assert model.num_keypoints == P
        v = views(model, R[:4], roots[:4])
        assert (v["confidence"][..., list(model.config.lifting.root)] == 1).all()  # every frame's root
        out = model(v["pixels"][0], v["camera"][0], v["confidence"][0])
        assert out["rotations"].shape == (4, 20, 3, 3) and out["positions"].shape == (4, 21, 3)
        windows = {
            "window_rotations": R[:8, None].expand(8, 3, 20, 3, 3),
            "window_root_rotation": roots[:8, None].expand(8, 3, 3, 3),
        }
        assert torch.isfinite(model.train().loss(windows, g))


def test_config_round_trip_and_state(data):
    model = tiny(data=data)
    config = RotationLifterConfig.from_dict(json.loads(json.dumps(model.config.to_dict())))
    assert config == model.config
    copy = RotationLifter(config)
    copy.load_state_dict(model.state_dict())
    v = views(model, data.rotations[:6], data.root_rotation[:6])
    torch.testing.assert_close(
        copy.eval()(v["pixels"][0], v["camera"][0])["positions"], model(v["pixels"][0], v["camera"][0])["positions"]
    )


def test_bad_input(data):
    model = tiny()
    camera = torch.tensor([[1000.0, 0, 500], [0, 1000.0, 500], [0, 0, 1]])
    pixels = 500 + 50 * torch.randn(6, J, 2)
    with pytest.raises(ValidationError, match="empty"):
        model(pixels[:0], camera)
    with pytest.raises(ValidationError, match="shorter than the model's window"):
        model(pixels[: model.config.window - 1], camera)
    with pytest.raises(ValidationError, match=r"pixels: expected shape \(T, 7, 2\)"):
        model(pixels[:, :5], camera)
    with pytest.raises(ValidationError, match="pixels"):
        model(pixels[0], camera)
    nan = pixels.clone()
    nan[2, 4] = float("nan")
    with pytest.raises(ValidationError, match="frame 2, keypoint 4"):
        model(nan, camera, torch.ones(6, J))
    with pytest.raises(ValidationError, match="NaN"):
        model(nan, camera)
    confidence = torch.ones(6, J)
    confidence[2, 4] = 0.0
    assert torch.isfinite(model(nan, camera, confidence)["positions"]).all()  # missing keypoints may be NaN
    confidence[1, 0] = 0.0
    with pytest.raises(ValidationError, match="root"):
        model(pixels, camera, confidence)
    with pytest.raises(ValidationError, match="confidence"):
        model(pixels, camera, torch.ones(6, J - 1))
    with pytest.raises(ValidationError, match="camera"):
        model(pixels, torch.eye(2))
    with pytest.raises(ValidationError, match="window"):
        RotationLifterConfig(JOINTS, window=4)
    with pytest.raises(ValidationError, match="window_rotations"):
        model.loss(
            {
                "window_rotations": data.rotations[:2, None].expand(2, 3, K, 3, 3),
                "window_root_rotation": data.root_rotation[:2, None].expand(2, 3, 3, 3),
            },
            torch.Generator(),
        )
