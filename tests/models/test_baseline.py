"""``TangentGaussianPrior``: the independent per-joint and full-covariance baselines."""

from __future__ import annotations

import json
import math

import pytest
import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import is_rotation, random_rotations
from poseprior.models.baseline import GaussianConfig, TangentGaussianPrior
from poseprior.models.prior import ExactPosePrior, PoseJoints


def gaussian_poses(
    n: int, K: int, std: float, seed: int, correlated: bool = False, axes: tuple[float, float, float] = (1.0, 0.7, 0.4)
) -> tuple[torch.Tensor, torch.Tensor]:
    """Poses ``(n, K, 3, 3)`` around random centres ``(K, 3, 3)``: rotation vectors with std ``std * axes``,
    every joint equal to the first one's when ``correlated``."""
    g = torch.Generator().manual_seed(seed)
    C = roma.random_rotmat(K, generator=g, dtype=torch.float64)
    v = std * torch.randn(n, K, 3, generator=g, dtype=torch.float64) * torch.tensor(axes, dtype=torch.float64)
    if correlated:
        v = v[:, :1].expand(n, K, 3) + 0.05 * torch.randn(n, K, 3, generator=g, dtype=torch.float64)
    return C @ roma.rotvec_to_rotmat(v), C


@pytest.mark.parametrize("covariance", ["joint", "full"])
def test_log_prob_integrates_to_one_under_uniform_haar(covariance: str):
    """A wide Gaussian (17% of its mass outside the balls |v| < pi) is normalised by the fitted mass:
    E_uniform[exp(log_prob)] = 1 within 4 standard errors of the 2^17-sample estimate (SE measured 0.0026),
    which the unnormalised density (off by 17%) would miss by about 70 SE."""
    R, _ = gaussian_poses(4000, 2, 1.4, seed=0, axes=(1.0, 1.0, 1.0))
    prior = TangentGaussianPrior.fit(R, covariance)
    assert prior.log_mass.item() < -0.15  # the truncation matters here
    U = random_rotations(2**17, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    p = prior.log_prob(U).double().exp()
    mean, se = p.mean().item(), (p.std() / math.sqrt(p.numel())).item()
    assert se < 0.005 and abs(mean - 1) < 4 * se, (mean, se)


def test_fit_recovers_centres_and_covariance():
    R, C = gaussian_poses(20000, 3, 0.2, seed=2)
    prior = TangentGaussianPrior.fit(R, "joint")
    assert roma.rotmat_geodesic_distance(prior.centers.double(), C).max() < 0.01
    cov = prior.scale_tril @ prior.scale_tril.T
    expected = torch.diag(torch.tensor([0.2, 0.14, 0.08]).square().repeat(3))
    assert (cov - expected).abs().max() < 2e-3
    assert prior.log_mass.item() == 0.0  # no draw falls outside the balls at this width


def test_samples_follow_the_density():
    """Sampler and density agree: P(angle of joint 0 from its centre < 1.5) from samples and from
    E_uniform[p * indicator] (both Monte Carlo, 2^16 draws; 5 combined standard errors)."""
    R, _ = gaussian_poses(4000, 2, 1.0, seed=3)
    prior = TangentGaussianPrior.fit(R, "full")
    S = prior.sample(2**16, generator=torch.Generator().manual_seed(4))
    assert S.shape == (2**16, 2, 3, 3) and is_rotation(S, tol=1e-4).all()

    def inside(X: torch.Tensor) -> torch.Tensor:
        return (roma.rotmat_geodesic_distance(X[:, 0], prior.centers[0].to(X.dtype)) < 1.5).double()

    a = inside(S)
    U = random_rotations(2**16, 2, generator=torch.Generator().manual_seed(5))
    b = prior.log_prob(U).double().exp() * inside(U)
    se = math.hypot(a.std() / math.sqrt(a.numel()), b.std() / math.sqrt(b.numel()))
    assert abs(a.mean() - b.mean()) < 5 * se, (a.mean(), b.mean(), se)


def test_full_covariance_captures_correlated_joints():
    train, _ = gaussian_poses(5000, 3, 0.3, seed=6, correlated=True)
    test, _ = gaussian_poses(2000, 3, 0.3, seed=6, correlated=True)
    joint, full = TangentGaussianPrior.fit(train, "joint"), TangentGaussianPrior.fit(train, "full")
    # The joint model's covariance is block-diagonal; the full model's is not.
    block = torch.block_diag(*[torch.ones(3, 3)] * 3).bool()
    assert joint.scale_tril[~block].abs().max() == 0 and full.scale_tril[~block].abs().max() > 0.1
    assert full.log_prob(test).mean() > joint.log_prob(test).mean() + 5
    assert joint.num_parameters() == 9 + 18 and full.num_parameters() == 9 + 45


def test_energy_is_minus_log_prob_with_finite_gradients_at_centre_and_near_pi():
    R, _ = gaussian_poses(1000, 2, 0.5, seed=7)
    prior = TangentGaussianPrior.fit(R, "full")
    axis = torch.nn.functional.normalize(torch.tensor([[1.0, 2.0, -0.5], [0.3, -1.0, 0.2]]), dim=-1)
    for angle in (0.0, 1e-7, math.pi - 1e-3):
        X = (prior.centers @ roma.rotvec_to_rotmat(axis * angle)).requires_grad_()
        e = prior.energy(X)
        e.backward()
        assert torch.isfinite(e) and torch.isfinite(X.grad).all(), angle
        torch.testing.assert_close(e, -prior.log_prob(X.detach()))


def test_state_dict_round_trip_rebuilds_the_same_prior():
    """What the zoo does: build from the config, then load the buffers."""
    R, _ = gaussian_poses(500, 2, 0.4, seed=8)
    joints = PoseJoints(("a", "b"), (-1, 0), "root", ((0, 0, 0), (0, 1, 0), (0, 1, 0)))
    prior = TangentGaussianPrior.fit(R, "full", joints)
    config = GaussianConfig.from_dict(json.loads(json.dumps(prior.config.to_dict())))
    rebuilt = TangentGaussianPrior(config)
    rebuilt.load_state_dict(prior.state_dict())
    torch.testing.assert_close(rebuilt.log_prob(R), prior.log_prob(R))
    assert rebuilt.joint_names == ("a", "b") and isinstance(rebuilt, ExactPosePrior)
    assert TangentGaussianPrior(GaussianConfig(2)).joint_names == ("joint0", "joint1")


def test_bad_input_gives_clear_errors():
    R, _ = gaussian_poses(50, 2, 0.4, seed=9)
    prior = TangentGaussianPrior.fit(R)
    with pytest.raises(ValidationError, match=r"R: expected shape \(\.\.\., 2, 3, 3\)"):
        prior.log_prob(R[:, :1])
    bad = R.clone()
    bad[3, 1, 0, 0] = float("nan")
    with pytest.raises(ValidationError, match="R: contains NaN"):
        prior.log_prob(bad)
    with pytest.raises(ValidationError, match="not a rotation"):
        prior.log_prob(R * 1.1)
    with pytest.raises(ValidationError, match="rotations: expected shape"):
        TangentGaussianPrior.fit(R[0])
    with pytest.raises(ValidationError, match="at least 2 poses"):
        TangentGaussianPrior.fit(R[:1])
    with pytest.raises(ValidationError, match="not a rotation"):
        TangentGaussianPrior.fit(R * 2)
    with pytest.raises(ValidationError, match="covariance"):
        TangentGaussianPrior.fit(R, "diagonal")
    with pytest.raises(ValidationError, match="joints: expected 2 joint names"):
        TangentGaussianPrior.fit(R, joints=PoseJoints(("a",), (-1,)))
