"""interpolate: geodesic paths (ends, count, even spacing, batches), every shipped prior's path more plausible than
the geodesic one between two real poses far apart, the automatic method, bad input."""

from __future__ import annotations

import pytest
import roma
import torch

import poseprior.zoo
from poseprior.errors import ValidationError
from poseprior.geometry import geodesic_distance
from poseprior.models.baseline import UniformPrior
from poseprior.tasks.interpolate import METHODS, interpolate, method_for

F64 = torch.float64


@pytest.fixture(scope="module")
def far_pair(bandai_first_test_poses) -> tuple[torch.Tensor, torch.Tensor]:
    """Two real poses far apart: the first test pose and the one of the first 1000 farthest from it."""
    R = bandai_first_test_poses.float()
    far = geodesic_distance(R, R[:1]).mean(-1).argmax()
    return R[0], R[far]


@pytest.fixture(scope="module")
def priors() -> dict:
    return {name: poseprior.zoo.load(name).eval() for name in ("flow-bandai", "vae-bandai", "ndf-bandai")}


def random_pose(K: int, seed: int, dtype=F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return roma.rotvec_to_rotmat(torch.randn(K, 3, generator=g, dtype=dtype))


def test_geodesic_path_ends_count_and_even_spacing():
    a, b = random_pose(4, 0), random_pose(4, 1)
    path = interpolate(a, b, 9)
    assert path.shape == (9, 4, 3, 3) and path.dtype == F64
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    # Each joint turns at constant speed along the shortest arc: equal steps, distance from a growing linearly.
    steps = geodesic_distance(path[1:], path[:-1])  # (8, 4)
    total = geodesic_distance(a, b)  # (4,)
    torch.testing.assert_close(steps, (total / 8).expand(8, 4))
    from_a = geodesic_distance(path, a.expand_as(path))
    assert (from_a.diff(dim=0) > 0).all()
    torch.testing.assert_close(from_a, torch.linspace(0, 1, 9, dtype=F64)[:, None] * total)
    assert interpolate(a, b, 2).shape == (2, 4, 3, 3)


def test_batches_broadcast_and_uniform_prior_is_geodesic():
    a = torch.stack([random_pose(3, 0), random_pose(3, 1)])  # (2, 3, 3, 3)
    b = random_pose(3, 2)
    path = interpolate(a, b, 5)
    assert path.shape == (5, 2, 3, 3, 3)
    torch.testing.assert_close(path[:, 1], interpolate(a[1], b, 5))
    assert torch.equal(path[-1], b.expand(2, 3, 3, 3))
    assert method_for(UniformPrior(3)) == "geodesic" and method_for(None) == "geodesic"
    torch.testing.assert_close(interpolate(a, b, 5, UniformPrior(3)), path)


@pytest.mark.parametrize(
    ("name", "method"), [("flow-bandai", "energy"), ("vae-bandai", "latent"), ("ndf-bandai", "projected")]
)
def test_prior_paths_are_more_plausible_than_the_geodesic(far_pair, priors, name, method):
    a, b = far_pair
    prior = priors[name]
    assert method_for(prior) == method
    # The flow's elastic path with fewer, larger steps than the default 200 x 0.003 rad, to keep the test short.
    options = dict(iterations=60, lr=0.006) if method == "energy" else {}
    path = interpolate(a, b, 9, prior, **options)
    assert path.shape == (9, 20, 3, 3) and path.dtype == a.dtype
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    assert torch.isfinite(path).all()
    with torch.no_grad():
        guided, straight = prior.energy(path[1:-1]).mean(), prior.energy(interpolate(a, b, 9)[1:-1]).mean()
    assert guided < straight, (float(guided), float(straight))
    # Still a path between the two: no step longer than a third of the whole way (per joint, on average).
    steps = geodesic_distance(path[1:], path[:-1]).mean(-1)
    assert steps.max() < geodesic_distance(a, b).mean() / 3


def test_any_method_runs_with_any_prior_that_supports_it(far_pair, priors):
    a, b = far_pair
    for method in ("geodesic", "projected", "energy"):
        path = interpolate(a, b, 4, priors["vae-bandai"], method, iterations=5)
        assert path.shape == (4, 20, 3, 3) and torch.equal(path[0], a)


def test_bad_arguments_name_the_problem(far_pair, priors):
    a, b = far_pair
    flow = priors["flow-bandai"]
    for steps in (1, 0, 2.5, True):
        with pytest.raises(ValidationError, match="steps"):
            interpolate(a, b, steps)
    with pytest.raises(ValidationError, match="method: expected one of"):
        interpolate(a, b, 3, flow, "spline")
    assert "auto" in METHODS
    with pytest.raises(ValidationError, match="'latent' needs a prior with a latent space"):
        interpolate(a, b, 3, flow, "latent")
    with pytest.raises(ValidationError, match="needs a prior"):
        interpolate(a, b, 3, None, "projected")
    with pytest.raises(ValidationError, match="prior: expected a PosePrior"):
        interpolate(a, b, 3, "flow-bandai")
    bad = a.clone()
    bad[2, 0, 0] = float("nan")
    with pytest.raises(ValidationError, match="pose_a: contains NaN"):
        interpolate(bad, b, 3)
    with pytest.raises(ValidationError, match="pose_b: expected 20 joints"):
        interpolate(a, b[:5], 3, flow)
    with pytest.raises(ValidationError, match="pose_b: 5 joints"):
        interpolate(a, b[:5], 3)
    with pytest.raises(ValidationError, match="do not broadcast"):
        interpolate(a.expand(2, 20, 3, 3), b.expand(3, 20, 3, 3), 3)
    with pytest.raises(ValidationError, match="pose_a: expected a floating-point tensor"):
        interpolate(a[0], b, 3)
    with pytest.raises(ValidationError, match="stiffness"):
        interpolate(a, b, 3, flow, "energy", stiffness=0.0)
