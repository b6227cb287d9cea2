"""Exact nearest-pose search (geometry/nearest.py) against a direct computation."""

import pytest
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import geodesic_distance, nearest_poses, random_rotations


def test_matches_brute_force_in_every_chunking():
    g = torch.Generator().manual_seed(0)
    query, reference = random_rotations(17, 5, generator=g), random_rotations(40, 5, generator=g)
    direct = geodesic_distance(query[:, None], reference[None]).mean(-1)  # (17, 40)
    want_d, want_i = direct.min(-1)
    for max_elements in (1, 5 * 40 * 3, 2**26):
        d, i = nearest_poses(query, reference, max_elements=max_elements)
        assert torch.equal(i, want_i)
        torch.testing.assert_close(d, want_d, atol=1e-3, rtol=0)


def test_bad_input():
    R = random_rotations(3, 2)
    with pytest.raises(ValidationError, match="different joint counts"):
        nearest_poses(R, random_rotations(3, 4))
    with pytest.raises(ValidationError, match="query: expected shape"):
        nearest_poses(R[0], R)
    with pytest.raises(ValidationError, match="no poses"):
        nearest_poses(R, R[:0])
