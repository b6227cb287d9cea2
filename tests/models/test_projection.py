"""MAP projection (models/projection.py) and the ``project`` of the exact priors."""

import math

import pytest
import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import geodesic_distance
from poseprior.models.baseline import TangentGaussianPrior, UniformPrior
from poseprior.models.flow import FlowConfig, FlowPrior
from poseprior.models.prior import PosePrior
from poseprior.models.projection import latent_map_projection, map_projection


def _poses(n: int, K: int = 4, spread: float = 0.2, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = roma.rotvec_to_rotmat(torch.tensor([0.3, -0.2, 0.5]).expand(K, 3))
    return base @ roma.rotvec_to_rotmat(spread * torch.randn(n, K, 3, generator=g))


def _noisy(R: torch.Tensor, deg: float, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return R @ roma.rotvec_to_rotmat(math.radians(deg) * torch.randn(*R.shape[:-2], 3, generator=g))


def test_projection_moves_noisy_poses_back_towards_the_clean_ones():
    prior = TangentGaussianPrior.fit(_poses(2000), covariance="joint", mass_samples=2**14)
    clean = _poses(200, seed=5)
    noisy = _noisy(clean, 40.0)
    projected = prior.project(noisy, noise_deg=40.0, steps=100, lr=0.05)
    assert roma.is_rotation_matrix(projected, epsilon=1e-4)
    assert prior.energy(projected).mean() < prior.energy(noisy).mean() - 5
    before = geodesic_distance(noisy, clean).mean()
    after = geodesic_distance(projected, clean).mean()
    assert after < 0.8 * before


def test_a_large_noise_level_goes_to_the_mode_and_a_small_one_stays_put():
    prior = TangentGaussianPrior.fit(_poses(2000), covariance="joint", mass_samples=2**14)
    noisy = _noisy(_poses(50, seed=3), 40.0)
    near = prior.project(noisy, noise_deg=0.5, steps=100, lr=0.05)
    far = prior.project(noisy, noise_deg=1000.0, steps=300, lr=0.05)
    assert geodesic_distance(near, noisy).max() < math.radians(2.0)
    mode = prior.centers @ roma.rotvec_to_rotmat(prior.loc.view(-1, 3))
    assert geodesic_distance(far, mode.expand_as(far)).mean() < math.radians(3.0)


def test_flow_project_lowers_its_energy():
    torch.manual_seed(0)
    prior = FlowPrior.from_data(FlowConfig(num_joints=4, layers=2, hidden=(16,)), _poses(500))
    noisy = _noisy(_poses(64, seed=7), 30.0)
    projected = prior.project(noisy, steps=30)
    assert projected.shape == noisy.shape
    assert prior.energy(projected).mean() < prior.energy(noisy).mean()


def test_uniform_prior_is_no_prior():
    prior = UniformPrior(3)
    assert isinstance(prior, PosePrior)
    R = prior.sample(5)
    assert R.shape == (5, 3, 3, 3) and roma.is_rotation_matrix(R, epsilon=1e-5)
    assert torch.equal(prior.log_prob(R), torch.zeros(5)) and torch.equal(prior.project(R), R)
    with pytest.raises(ValidationError, match="R: expected shape"):
        prior.energy(torch.zeros(5, 2, 3, 3))


@pytest.mark.parametrize(
    "kwargs, match", [({"noise_deg": 0.0}, "noise_deg"), ({"steps": -1}, "steps"), ({"lr": 0.0}, "lr")]
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        map_projection(lambda R: R.sum((-1, -2, -3)), _poses(2), **kwargs)


def test_latent_map_projection_trades_the_code_against_the_pose():
    """With ``g(z) = C exp(0.3 z)`` per joint, a tiny noise level keeps the pose and a huge one decodes z = 0."""
    center = roma.rotvec_to_rotmat(torch.tensor([0.2, 0.1, -0.3])).expand(3, 3, 3)

    def from_latent(z):
        return center @ roma.rotvec_to_rotmat(0.3 * z.unflatten(-1, (3, 3)))

    def to_latent(R):
        return roma.rotmat_to_rotvec(center.transpose(-1, -2) @ R).flatten(-2) / 0.3

    R = from_latent(torch.randn(16, 9, generator=torch.Generator().manual_seed(0)))
    near = latent_map_projection(to_latent, from_latent, R, noise_deg=0.1, steps=200, lr=0.05)
    far = latent_map_projection(to_latent, from_latent, R, noise_deg=1e4, steps=200, lr=0.05)
    assert geodesic_distance(near, R).max() < math.radians(2.0)
    assert geodesic_distance(far, center.expand_as(far)).max() < math.radians(2.0)
