"""``DistanceFieldPrior`` (Pose-NDF's idea) and its training pairs (``ndf_data``)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import roma
import torch
from typer.testing import CliRunner

from poseprior.cli.train import app
from poseprior.data.cache import TakePoses, begin_prepare, write_prepared
from poseprior.data.protocol import BANDAI_V1
from poseprior.errors import ValidationError
from poseprior.geometry import is_rotation, random_rotations
from poseprior.models.ndf import DistanceFieldConfig, DistanceFieldPrior
from poseprior.models.ndf_data import (
    distance_pairs,
    nearest_poses_rms,
    perturb,
    pose_distance,
)
from poseprior.models.prior import PoseJoints, PosePrior
from poseprior.skeleton import Skeleton
from poseprior.train import TrainConfig, train
from poseprior.zoo import info, load, write_model

PARENTS = (-1, 0, 1, -1, 3)  # two chains hanging from the root


def manifold_poses(n: int, seed: int) -> torch.Tensor:
    """Poses ``(n, 5, 3, 3)`` on a fixed curved 2D surface in SO(3)^5 (a latent ``(a, b)`` uniform on a square)."""
    basis = torch.randn(3, 5, 3, generator=torch.Generator().manual_seed(123)) * 0.5
    ab = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    a, b = ab[:, :1, None], ab[:, 1:, None]
    return roma.rotvec_to_rotmat(a * basis[0] + b * basis[1] + a * b * basis[2])


# ------------------------------------------------------------------------------ nearest-neighbour labels
def brute_force(query: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    d = (
        torch.stack([pose_distance(q, reference) for q in query.double()])
        if len(query)
        else torch.zeros(0, len(reference))
    )
    return d.min(1)


def test_pose_distance_is_the_rms_joint_angle():
    R = random_rotations(4, generator=torch.Generator().manual_seed(0))
    moved = R.clone()
    moved[2] = R[2] @ roma.rotvec_to_rotmat(torch.tensor([0.0, 0.3, 0.0]))
    assert math.isclose(pose_distance(R, moved).item(), 0.3 / math.sqrt(4), rel_tol=1e-5)
    assert pose_distance(R, R).item() < 1e-6


def test_nearest_search_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    reference = manifold_poses(300, 0)
    query = torch.cat(
        [perturb(reference[:60], 8.0, g), perturb(reference[60:90], 30.0, g), random_rotations(10, 5, generator=g)]
    )
    d_true, i_true = brute_force(query, reference)
    found = nearest_poses_rms(query, reference, k=16, max_elements=1000)  # several chunks
    cert = found.certified
    assert cert[:60].all() and cert.float().mean() > 0.5  # near the data the certificate holds
    assert torch.equal(found.index[cert], i_true[cert])
    torch.testing.assert_close(found.distance.double()[cert], d_true[cert], atol=1e-4, rtol=0)
    # far from the data (uniform poses) the chordal ranking may miss the nearest pose: an upper bound, close
    assert (found.distance.double() >= d_true - 1e-4).all() and (found.distance.double() <= 1.05 * d_true).all()
    exhaustive = nearest_poses_rms(query, reference, k=300)
    assert exhaustive.certified.all() and torch.equal(exhaustive.index, i_true)


def test_distance_pairs_shapes_and_labels():
    R = manifold_poses(100, 0)
    pairs = distance_pairs(R, 70, noise_deg=(2.0, 20.0), extra=R[:5], generator=torch.Generator().manual_seed(0))
    assert pairs["rotations"].shape == (75, 5, 3, 3) and pairs["distance"].shape == (75,)
    torch.testing.assert_close(
        pairs["distance"], pose_distance(pairs["rotations"], pairs["nearest"]), atol=1e-5, rtol=0
    )
    assert pairs["distance"][-5:].max() < 1e-3  # the extra poses are training poses
    assert pairs["distance"][1:70:2].mean() > 3 * pairs["distance"][0:70:2].mean()  # 20 vs 2 degrees


# ------------------------------------------------------------------------------ the network
def test_encoder_follows_the_tree():
    prior = DistanceFieldPrior(DistanceFieldConfig(5, PARENTS, hidden=(8,)))
    R = random_rotations(3, 5, generator=torch.Generator().manual_seed(0))
    base = prior.joint_features(R)
    for joint, affected in ((2, {2}), (1, {1, 2}), (3, {3, 4}), (0, {0, 1, 2})):
        moved = R.clone()
        moved[:, joint] = R[:, joint] @ roma.rotvec_to_rotmat(torch.tensor([0.4, 0.0, 0.2]))
        changed = {j for j in range(5) if not torch.allclose(prior.joint_features(moved)[:, j], base[:, j])}
        assert changed == affected, (joint, changed)


@pytest.mark.parametrize("K", [20, 21])
def test_posendf_reference_size(K: int):
    """Pose-NDF's published network: 1,365,565 parameters on SMPL's 21 body joints (3 attached to the pelvis)."""
    smpl = (-1, -1, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 11, 12, 13, 15, 16, 17, 18)
    parents = smpl if K == 21 else (-1, 0, 1, 2, 1, 4, 5, 6, 1, 8, 9, 10, -1, 12, 13, 14, -1, 16, 17, 18)
    prior = DistanceFieldPrior(DistanceFieldConfig.posendf_reference(K, parents))
    # the MLP of Pose-NDF's yaml on the 6K features, 116 parameters per root joint and 176 per other joint
    mlp = sum(
        a * b + b
        for a, b in zip([6 * K, 256, 512, 1024, 512, 256, 64], [256, 512, 1024, 512, 256, 64, 1], strict=False)
    )
    assert prior.num_parameters() == mlp + 3 * 116 + (K - 3) * 176
    assert prior.num_parameters() == (1_365_565 if K == 21 else 1_363_853)


def test_riemannian_gradient_matches_finite_differences():
    prior = DistanceFieldPrior(DistanceFieldConfig(5, PARENTS, hidden=(16,), activation="softplus")).double()
    R = random_rotations(2, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    omega = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    raw, g = prior._raw_and_gradient(R, create_graph=False)
    eps = 1e-6
    plus, minus = (
        prior._raw(R @ roma.rotvec_to_rotmat(eps * omega)),
        prior._raw(R @ roma.rotvec_to_rotmat(-eps * omega)),
    )
    numeric = (plus - minus) / (2 * eps)
    torch.testing.assert_close((g / math.sqrt(5) * omega).sum((1, 2)), numeric, rtol=1e-5, atol=1e-8)


def test_sample_shapes_and_protocol():
    prior = DistanceFieldPrior.from_data(DistanceFieldConfig(5, PARENTS, hidden=(16,)), manifold_poses(200, 0))
    assert isinstance(prior, PosePrior) and prior.joint_names[0] == "joint0" and prior.joints is None
    S = prior.sample(6, generator=torch.Generator().manual_seed(0))
    assert S.shape == (6, 5, 3, 3) and is_rotation(S, tol=1e-4).all()
    R = S.reshape(2, 3, 5, 3, 3)
    assert prior.energy(R).shape == (2, 3) and prior.project(R).shape == R.shape and (prior.energy(R) >= 0).all()


def test_bad_input_gives_clear_errors():
    prior = DistanceFieldPrior(DistanceFieldConfig(5, PARENTS, hidden=(8,)))
    with pytest.raises(ValidationError, match=r"R: expected shape \(\.\.\., 5, 3, 3\)"):
        prior.distance(torch.eye(3).expand(2, 4, 3, 3))
    with pytest.raises(ValidationError, match="R: matrix at index"):
        prior.distance(2 * torch.eye(3).expand(2, 5, 3, 3))
    with pytest.raises(ValidationError, match="steps"):
        prior.project(torch.eye(3).expand(1, 5, 3, 3), steps=-1)
    with pytest.raises(ValidationError, match="batch: missing 'nearest'"):
        prior.loss({"rotations": torch.eye(3).expand(1, 5, 3, 3), "distance": torch.zeros(1)})
    with pytest.raises(ValidationError, match="parents"):
        DistanceFieldConfig(3, (0, -1, 1))
    with pytest.raises(ValidationError, match="features"):
        DistanceFieldConfig(3, features="euler")
    with pytest.raises(ValidationError, match="rotations: expected shape"):
        DistanceFieldPrior.from_data(DistanceFieldConfig(3), torch.eye(3).expand(4, 2, 3, 3))
    with pytest.raises(ValidationError, match="query: expected shape"):
        nearest_poses_rms(torch.eye(3), torch.eye(3).expand(4, 2, 3, 3))
    with pytest.raises(ValidationError, match="reference: expected 2 joints"):
        nearest_poses_rms(torch.eye(3).expand(1, 2, 3, 3), torch.eye(3).expand(4, 3, 3, 3))


# ------------------------------------------------------------------------------ trained on a known manifold
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small field trained for 500 steps (a few seconds) on 500 poses of the 2D surface, validated on pairs
    around 200 held-out poses of it."""
    R_train, R_val = manifold_poses(500, 0), manifold_poses(200, 1)
    torch.manual_seed(0)
    prior = DistanceFieldPrior.from_data(DistanceFieldConfig(5, PARENTS, hidden=(64, 64), encoder_features=8), R_train)
    noise = (1.0, 3.0, 6.0, 12.0, 24.0)
    pairs = prior.training_pairs(R_train, 6000, noise_deg=noise)
    val = prior.training_pairs(R_val, 1000, reference=R_train, noise_deg=noise, seed=1)
    config = TrainConfig(tmp_path_factory.mktemp("ndf"), steps=500, batch_size=256, lr=2e-2, warmup_steps=20, eval_every=250,
                         checkpoint_every=500, progress=False)  # fmt: skip
    start = time.perf_counter()
    result = train(prior, pairs, val, config)
    return {
        "prior": prior.eval(),
        "result": result,
        "train": R_train,
        "val": R_val,
        "seconds": time.perf_counter() - start,
    }


def test_training_reports_the_field_metrics(trained):
    result = trained["result"]
    assert {"loss", "distance_mae", "manifold_distance", "gradient_norm", "eikonal", "gradient"} <= set(result.val)
    assert result.steps == 500 and result.skipped_steps == 0
    assert result.val["distance_mae"] < 0.04  # radians, on held-out pairs (distances 0.05 to 0.7)
    assert abs(result.val["gradient_norm"] - 1) < 0.15  # eikonal: unit gradient


def test_distance_is_small_on_the_manifold_and_grows_with_noise(trained):
    prior, R_train, R_val = trained["prior"], trained["train"], trained["val"]
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        on_train, on_val = prior.distance(R_train).mean(), prior.distance(R_val).mean()
        noisy = [prior.distance(perturb(R_val, s, g)).mean() for s in (5.0, 10.0, 20.0)]
    assert on_train < 0.015 and on_val < 0.02, (on_train, on_val)
    assert on_val < noisy[0] < noisy[1] < noisy[2], noisy


def test_projection_reduces_the_distance(trained):
    prior, R_train, R_val = trained["prior"], trained["train"], trained["val"]
    noisy = perturb(R_val, 10.0, torch.Generator().manual_seed(6))
    projected = prior.project(noisy)
    assert is_rotation(projected, tol=1e-4).all()
    before, after = prior.distance(noisy), prior.distance(projected)
    assert (after <= before + 1e-6).all() and after.mean() < 0.2 * before.mean()
    # closer to the true training poses too, and to the clean pose the noise came from
    true_before = nearest_poses_rms(noisy, R_train).distance.mean()
    assert nearest_poses_rms(projected, R_train).distance.mean() < 0.5 * true_before
    assert pose_distance(projected, R_val).mean() < pose_distance(noisy, R_val).mean()
    assert prior.project(noisy, steps=0).equal(noisy)


def test_export_and_load_round_trip(trained, tmp_path: Path):
    prior = trained["prior"]
    path = write_model(prior, tmp_path / "ndf")
    loaded = load(path)
    assert type(loaded) is DistanceFieldPrior and loaded.config == prior.config
    R = trained["val"][:10]
    torch.testing.assert_close(loaded.distance(R), prior.distance(R), rtol=0, atol=0)
    assert info(path).parameters == sum(p.numel() for p in prior.parameters())
    assert DistanceFieldConfig.from_dict(prior.config.to_dict()) == prior.config


# ------------------------------------------------------------------------------ the command
def test_cli_train_ndf(tmp_path: Path):
    sk = Skeleton(
        ("Hips", "A", "B", "C"), (-1, 0, 1, 2), torch.tensor([[0.0, 0, 0], [0, 10, 0], [0, 10, 0], [0, 10, 0]])
    )
    takes = {}
    for i, (split, n) in enumerate({"train": 300, "val": 100, "test": 20}.items()):
        g = torch.Generator().manual_seed(i)
        poses = {
            "rotations": roma.rotvec_to_rotmat(0.3 * torch.randn(n, 3, 3, generator=g)),
            "root_rotation": roma.random_rotmat(n, generator=g),
            "root_position": torch.randn(n, 3, generator=g),
            "frame": torch.arange(n),
        }
        takes[split] = [TakePoses.from_skeleton(f"{split}.bvh", f"test:{split}", poses, n, 30.0, sk)]
    data = begin_prepare(tmp_path / "prepared")
    write_prepared(
        data, takes, dataset="test", protocol=BANDAI_V1, unit=10.0, source={"path": "x"}, started=time.perf_counter()
    )
    out = tmp_path / "run"
    args = ["ndf", "--data", str(data), "--out", str(out), "--steps", "6", "--eval-every", "3", "--hidden", "16",
            "--pairs", "700", "--val-pairs", "70", "--batch-size", "32", "--threads", "1", "--device", "cpu", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "labelled 700 + 70 poses against 300 training poses" in result.output and "best val" in result.output
    prior, card = load(out / "ndf"), info(out / "ndf")
    assert type(prior) is DistanceFieldPrior and prior.joint_names == ("A", "B", "C") and card.training["steps"] == 6
    assert "distance_mae" in card.training["val"] and "inherit" in card.licence
    ref = CliRunner().invoke(
        app, [*args[:4], str(tmp_path / "ref"), *args[5:], "--steps", "1", "--reference-architecture"]
    )
    assert ref.exit_code == 0, ref.output
    assert load(tmp_path / "ref" / "ndf").config.hidden == (256, 512, 1024, 512, 256, 64)


def test_joints_are_carried():
    joints = PoseJoints(("a", "b", "c", "d", "e"), PARENTS)
    prior = DistanceFieldPrior(DistanceFieldConfig(5, PARENTS, hidden=(8,), joints=joints))
    assert prior.joint_names == ("a", "b", "c", "d", "e") and prior.joints == joints
