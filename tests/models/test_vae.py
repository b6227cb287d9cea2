"""``VAEPrior``: shapes, valid rotations, interpolation, inference behaviour, VPoser's size, training on real
bandai poses (energy of real vs noisy poses, reconstruction), export round trip, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import roma
import torch

from poseprior.data import BANDAI_V1, extract_poses
from poseprior.errors import ValidationError
from poseprior.geometry import geodesic_distance, is_rotation
from poseprior.io import Archive, parse_bvh
from poseprior.models.prior import PoseJoints, PosePrior
from poseprior.models.vae import VAEConfig, VAEPrior
from poseprior.train import TrainConfig, export, train
from poseprior.zoo import info, load

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def tiny(K: int = 3, **kw) -> VAEPrior:
    torch.manual_seed(0)
    return VAEPrior(VAEConfig(K, hidden=32, latent=4, **kw))


def noisy(R: torch.Tensor, deg: float, seed: int) -> torch.Tensor:
    """``R`` times random rotations whose rotation vectors are isotropic Gaussians of RMS angle ``deg``."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(*R.shape[:-2], 3, generator=g, dtype=R.dtype) * math.radians(deg) / math.sqrt(3)
    return R @ roma.rotvec_to_rotmat(v)


# ------------------------------------------------------------------------------------------- untrained
@pytest.mark.parametrize("architecture, input", [("mlp", "rotmat"), ("mlp", "sixd"), ("vposer", "rotvec")])
def test_shapes_and_valid_rotations(architecture: str, input: str):
    prior = tiny(architecture=architecture, input=input)
    R = prior.sample(6).reshape(2, 3, 3, 3, 3)
    assert R.shape == (2, 3, 3, 3, 3) and is_rotation(R, tol=1e-5).all()
    q = prior.encode(R)
    assert q.mean.shape == q.stddev.shape == (2, 3, 4) and (q.stddev > 0).all()
    assert is_rotation(prior.decode(5 * torch.randn(7, 1, 4)), tol=1e-5).all()  # far from the prior's mass too
    assert prior.energy(R).shape == (2, 3) and prior.project(R).shape == R.shape
    assert prior.interpolate(R[0], R[1, :1], 5).shape == (5, 3, 3, 3, 3)  # batch dimensions broadcast
    assert prior.sample(0).shape == (0, 3, 3, 3)
    assert isinstance(prior, PosePrior) and prior.joint_names == ("joint0", "joint1", "joint2")


def test_interpolation_ends_are_the_projections_and_the_path_is_gradual():
    prior = tiny()
    R0, R1 = prior.sample(2, temperature=2.0, generator=torch.Generator().manual_seed(1))
    path = prior.interpolate(R0, R1, 9)
    torch.testing.assert_close(path[0], prior.project(R0))
    torch.testing.assert_close(path[-1], prior.project(R1))
    steps = geodesic_distance(path[1:], path[:-1]).amax(-1)
    assert steps.max() < 0.5 * geodesic_distance(path[0], path[-1]).max()


def test_inference_ignores_the_module_mode_and_the_batch():
    """BatchNorm (running statistics) and dropout (off) act as in eval mode in every inference method, so a
    prior in training mode gives the same, batch-independent energies and does not touch its statistics."""
    prior = tiny(architecture="vposer", dropout=0.5)
    with torch.no_grad():  # statistics and affine parameters away from their initial values
        for name, buf in prior.named_buffers():
            if "running_var" in name:
                buf.uniform_(0.5, 2.0)
        for p in prior.parameters():
            p.add_(0.1 * torch.randn_like(p))
    R = prior.sample(8, temperature=2.0)
    before = {k: v.clone() for k, v in prior.state_dict().items()}
    e_train = prior.train().energy(R)
    assert torch.equal(e_train, prior.energy(R))  # no dropout
    torch.testing.assert_close(prior.energy(R[:1]), e_train[:1])  # no batch statistics
    torch.testing.assert_close(e_train, prior.eval().energy(R))
    assert all(torch.equal(v, before[k]) for k, v in prior.state_dict().items())


def test_energy_is_differentiable_and_finite_at_exact_reconstructions():
    prior = tiny()
    R = prior.project(prior.sample(4)).detach().requires_grad_(True)  # decoded poses: near-zero residuals
    prior.energy(R).sum().backward()
    assert torch.isfinite(R.grad).all()


def test_vposer_v02_reference_size():
    """VPoser V02 takes SMPL's 21 body joints as axis-angle (63 inputs): 936,252 parameters (issue: 0.94 M)."""
    assert VAEPrior(VAEConfig.vposer_v02(21)).num_parameters() == 936_252
    prior = VAEPrior(VAEConfig.vposer_v02(20))
    assert prior.num_parameters() == 931_632 and prior.config.latent == 32 and prior.config.hidden == 512
    kinds = [type(m).__name__ for m in prior.encoder] + ["|"] + [type(m).__name__ for m in prior.decoder]
    assert kinds == [
        "BatchNorm1d", "Linear", "LeakyReLU", "BatchNorm1d", "Dropout", "Linear", "Linear", "_Gaussian", "|",
        "Linear", "LeakyReLU", "Dropout", "Linear", "LeakyReLU", "Linear",
    ]  # fmt: skip


def test_kl_warm_up_counts_training_steps_only():
    prior = tiny(kl_warmup=4, kl_weight=1.0)
    batch = {"rotations": prior.sample(16)}
    g = torch.Generator()
    prior.train()
    for _ in range(2):
        prior.loss(batch, g).backward()
    with torch.no_grad():
        prior.loss(batch, g)
    prior.eval().loss(batch, g)
    assert int(prior.kl_step) == 2 and prior._kl_weight(warm=True) == 0.75 and prior._kl_weight(warm=False) == 1.0


def test_denoising_input_noise_has_the_configured_spread():
    """Per pose an RMS angle uniform in [0, 30] degrees: the mean squared angle is 30^2 / 3 (to 3%, 8000 x 3
    joints), and the decoder's target stays the clean pose (the loss compares with ``R``, not the noisy copy)."""
    prior = tiny(input_noise_deg=30.0)
    R = prior.sample(8000)
    angle = geodesic_distance(prior._noisy(R, torch.Generator().manual_seed(0)), R, degrees=True)
    assert angle.square().mean().item() == pytest.approx(300.0, rel=0.03)
    assert torch.equal(tiny(input_noise_deg=0.0)._noisy(R, None), R)


def test_config_round_trip():
    joints = PoseJoints(("a", "b"), (-1, 0), "root", ((0, 0, 0), (0, 1, 0), (0, 1, 0)), 10.0)
    config = VAEConfig.vposer_v02(2, joints=joints, kl_warmup=5)
    assert VAEConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert VAEPrior(config).joint_names == ("a", "b") and VAEPrior(config).joints == joints


def test_bad_input_gives_clear_errors():
    prior = tiny()
    R = prior.sample(2)
    with pytest.raises(ValidationError, match=r"R: expected shape \(\.\.\., 3, 3, 3\)"):
        prior.energy(R[:, :2])
    with pytest.raises(ValidationError, match="R: matrix at index .* is not a rotation"):
        prior.project(2 * R)
    with pytest.raises(ValidationError, match="R1: matrix"):
        prior.interpolate(R, 2 * R, 3)
    with pytest.raises(ValidationError, match="do not broadcast"):
        prior.interpolate(R, prior.sample(3), 3)
    with pytest.raises(ValidationError, match="steps"):
        prior.interpolate(R, R, 1)
    with pytest.raises(ValidationError, match=r"z: expected shape \(\.\.\., 4\)"):
        prior.decode(torch.zeros(2, 5))
    with pytest.raises(ValidationError, match="n: "):
        prior.sample(-1)
    with pytest.raises(ValidationError, match="temperature"):
        prior.sample(2, temperature=-1.0)
    with pytest.raises(ValidationError, match=r"rotations: expected shape \(N, 3, 3, 3\)"):
        VAEPrior.from_data(prior.config, R[:, :2])
    for bad, match in [
        ({"architecture": "gan"}, "architecture"),
        ({"input": "euler"}, "input"),
        ({"latent": 0}, "latent"),
        ({"dropout": 1.0}, "dropout"),
        ({"kl_weight": -1.0}, "kl_weight"),
        ({"energy_sigma_deg": 0.0}, "energy_sigma_deg"),
        ({"joints": PoseJoints(("a",), (-1,))}, "joints"),
    ]:
        with pytest.raises(ValidationError, match=match):
            VAEConfig(3, **bad)


@pytest.mark.parametrize("device", DEVICES)
def test_device_placement(device: str):
    prior = tiny().to(device)
    R = prior.sample(4)
    assert R.device.type == device and prior.energy(R).device.type == device
    g = torch.Generator(device=device).manual_seed(0)
    assert prior.train().loss({"rotations": R}, g).device.type == device


# ------------------------------------------------------------------------------ trained on real poses
def bandai_poses(bandai_dir: Path, rig, split: str, every: int) -> tuple[torch.Tensor, PoseJoints]:
    """bandai-v1 poses ``(N, 20, 3, 3)`` of every ``every``-th take of ``split`` in the first zip, straight from
    the BVH files (no prepared folder needed), and the pose joints with their skeleton."""
    names = json.loads((bandai_dir / "splits.json").read_text())[split]
    poses = []
    with Archive(bandai_dir / "bandai-namco-motion-1.zip") as archive:
        for name in [n for n in names if n.startswith("dataset-1")][::every]:
            motion = parse_bvh(archive.read_text(f"data/{name}"), source=name, unit="cm")
            poses.append(extract_poses(motion, BANDAI_V1, rig)["rotations"])
    return torch.cat(poses), PoseJoints.from_skeleton(rig.pose_skeleton(), 10.0)


@pytest.fixture(scope="module")
def trained(
    bandai_dir: Path, bandai_rig, tmp_path_factory: pytest.TempPathFactory
) -> tuple[VAEPrior, torch.Tensor, dict]:
    """A small VAE trained for 600 steps on the 9,600 bandai-v1 training poses of the first zip (a few seconds),
    with the 600 held-out validation poses of the same zip and the training run."""
    R_train, joints = bandai_poses(bandai_dir, bandai_rig, "train", every=1)
    R_val, _ = bandai_poses(bandai_dir, bandai_rig, "val", every=1)
    torch.manual_seed(0)
    prior = VAEPrior.from_data(VAEConfig(20, hidden=128, latent=16, joints=joints), R_train)
    out = tmp_path_factory.mktemp("vae")
    config = TrainConfig(
        out, steps=600, batch_size=256, lr=3e-3, warmup_steps=50, eval_every=300, checkpoint_every=600, progress=False
    )
    result = train(prior, {"rotations": R_train}, {"rotations": R_val}, config)
    return prior.eval(), R_val, {"result": result, "train": R_train}


def test_training_reports_the_vae_metrics(trained):
    prior, _, run = trained
    result = run["result"]
    assert set(result.val) == {"step", "loss", "kl", "geodesic_deg", "mpjpe_mm"}  # no log-likelihood: no exact one
    first, last = result.val, result.best_val
    assert result.steps == 600 and result.skipped_steps == 0 and last["loss"] <= first["loss"] + 1e-9


def test_energy_is_lower_for_real_poses_than_for_noisy_ones(trained):
    """Held-out real poses vs the same poses with 40 degrees (RMS) of noise per joint: lower on average and
    for nearly every pose (measured: 100% of 330 poses after this short training)."""
    prior, R, _ = trained
    with torch.no_grad():
        e_real, e_noisy = prior.energy(R), prior.energy(noisy(R, 40.0, seed=0))
    assert e_real.mean() < e_noisy.mean()
    assert (e_real < e_noisy).float().mean() > 0.95


def test_reconstruction_of_held_out_poses(trained):
    """decode(encode(x)) with the default (denoising) configuration after this short training, mean joint angle
    error measured at 8.8 degrees on training poses and 17.6 degrees (75 mm) on the held-out ones, whose arm
    poses differ (other styles than this small subset's training takes), against 37 degrees for 40-degree noise.
    The shipped model, trained on all of bandai-v1 train, is at 4.0 degrees (18 mm) on the val split."""
    prior, R, run = trained
    with torch.no_grad():
        R_hat, R_train = prior.project(R), run["train"][:2000]
        train_err = geodesic_distance(prior.project(R_train), R_train, degrees=True).mean().item()
    err = geodesic_distance(R_hat, R, degrees=True).mean().item()
    assert train_err < 12.0 and err < 22.0, (train_err, err)
    assert err == pytest.approx(run["result"].val["geodesic_deg"], rel=1e-4)
    assert run["result"].val["mpjpe_mm"] < 100.0
    assert err < 0.6 * geodesic_distance(noisy(R, 40.0, seed=1), R, degrees=True).mean()


def test_projection_removes_noise(trained):
    """Held-out poses with 40 degrees (RMS) of noise per joint (37 degrees mean error) project to 20 degrees
    from the clean poses (measured), the denoising training at work; about 8 degrees for the shipped model."""
    prior, R, _ = trained
    R_noisy = noisy(R, 40.0, seed=2)
    with torch.no_grad():
        before = geodesic_distance(R_noisy, R, degrees=True).mean()
        after = geodesic_distance(prior.project(R_noisy), R, degrees=True).mean()
    assert after < 0.7 * before, (after, before)


def test_export_and_load_round_trip(trained, tmp_path):
    prior, R, run = trained
    path = export(prior, tmp_path / "vae", result=run["result"], data="bandai subset", licence="CC BY-NC 4.0")
    loaded = load(path)
    assert type(loaded) is VAEPrior and not loaded.training and loaded.config == prior.config
    assert loaded.joint_names == prior.joint_names and info(path).model_class == "VAEPrior"
    assert info(path).skeleton.joint_names[0] == "pelvis" and info(path).parameters == prior.num_parameters()
    torch.testing.assert_close(loaded.energy(R[:50]), prior.energy(R[:50]), rtol=0, atol=0)
    g0, g1 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    torch.testing.assert_close(loaded.sample(5, generator=g0), prior.sample(5, generator=g1), rtol=0, atol=0)
