"""Similarity / rigid Procrustes alignment (poseprior.geometry.alignment)."""

from __future__ import annotations

import pytest
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import is_rotation, random_rotations
from poseprior.geometry.alignment import procrustes, procrustes_align

GEN = torch.Generator().manual_seed(0)


def random_similarity(*batch: int, dtype=torch.float64):
    R = random_rotations(*batch, generator=GEN, dtype=dtype)
    t = torch.randn(*batch, 3, generator=GEN, dtype=dtype) * 100
    s = torch.rand(*batch, generator=GEN, dtype=dtype) * 2 + 0.5
    return R, t, s


def apply(R, t, s, x):
    return s[..., None, None] * (x @ R.transpose(-1, -2)) + t.unsqueeze(-2)


def test_recovers_a_known_similarity_exactly():
    x = torch.randn(2, 5, 17, 3, generator=GEN, dtype=torch.float64) * 300
    R, t, s = random_similarity(2, 5)
    y = apply(R, t, s, x)
    R_hat, t_hat, s_hat = procrustes(x, y)
    assert R_hat.shape == (2, 5, 3, 3) and t_hat.shape == (2, 5, 3) and s_hat.shape == (2, 5)
    torch.testing.assert_close(R_hat, R, atol=1e-10, rtol=0)
    torch.testing.assert_close(s_hat, s, atol=1e-10, rtol=0)
    torch.testing.assert_close(t_hat, t, atol=1e-8, rtol=0)
    torch.testing.assert_close(procrustes_align(x, y), y, atol=1e-8, rtol=0)


def test_float32_recovery_within_float_precision():
    x = torch.randn(64, 17, 3, generator=GEN) * 300
    R, t, s = random_similarity(64, dtype=torch.float32)
    y = apply(R, t, s, x)
    assert (procrustes_align(x, y) - y).norm(dim=-1).max() < 0.05  # mm, on poses ~300 mm across


def test_rigid_mode_keeps_scale_one():
    x = torch.randn(8, 17, 3, generator=GEN, dtype=torch.float64)
    R, t, _ = random_similarity(8)
    y = apply(R, t, torch.full((8,), 2.0, dtype=torch.float64), x)
    R_hat, t_hat, s_hat = procrustes(x, y, scale=False)
    torch.testing.assert_close(s_hat, torch.ones(8, dtype=torch.float64))
    torch.testing.assert_close(R_hat, R, atol=1e-10, rtol=0)  # the rotation is still found exactly
    # With the scale fixed at 1 the fit is not exact: the residual is what the missing factor 2 leaves.
    assert (procrustes_align(x, y, scale=False) - y).norm(dim=-1).mean() > 0.1
    expected = apply(R, t / 2, torch.ones(8, dtype=torch.float64), x)
    torch.testing.assert_close(procrustes_align(x, y / 2, scale=False), expected)


def test_never_reflects():
    # The target is the mirror image of a random (chiral) point set. An orthogonal Procrustes solver that allows
    # reflections would fit it exactly; ours must return proper rotations and leave a residual.
    x = torch.randn(32, 17, 3, generator=GEN, dtype=torch.float64)
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    y = x @ mirror
    R, _, s = procrustes(x, y)
    assert torch.allclose(torch.linalg.det(R), torch.ones(32, dtype=torch.float64))
    assert bool(is_rotation(R, tol=1e-9).all())
    residual = (procrustes_align(x, y) - y).norm(dim=-1).mean(-1)
    assert bool((residual > 1e-3).all())
    # An unconstrained orthogonal fit (U V^T without the det correction) is the reflection and fits exactly.
    xc, yc = x - x.mean(-2, keepdim=True), y - y.mean(-2, keepdim=True)
    U, _, Vh = torch.linalg.svd(yc.transpose(-1, -2) @ xc)
    assert torch.allclose(torch.linalg.det(U @ Vh), -torch.ones(32, dtype=torch.float64))
    assert torch.allclose(xc @ (U @ Vh).transpose(-1, -2), yc, atol=1e-10)
    assert bool((s > 0).all())


def test_weights_ignore_dropped_points_even_nan():
    x = torch.randn(4, 10, 3, generator=GEN, dtype=torch.float64)
    R, t, s = random_similarity(4)
    y = apply(R, t, s, x)
    y[:, 7] = torch.tensor([1e4, -1e4, 5e3])  # an outlier
    y[0, 8] = float("nan")  # a missing joint
    mask = torch.ones(4, 10, dtype=torch.bool)
    mask[:, 7] = False
    mask[0, 8] = False
    R_hat, t_hat, s_hat = procrustes(x, y, weights=mask)
    torch.testing.assert_close(R_hat, R, atol=1e-10, rtol=0)
    torch.testing.assert_close(s_hat, s, atol=1e-10, rtol=0)
    torch.testing.assert_close(t_hat, t, atol=1e-8, rtol=0)
    # Broadcast weights: one (J,) row for every sample; float weights scale the fit, not its optimum here.
    w = torch.ones(10, dtype=torch.float64) * 3
    w[7] = 0
    w[8] = 0
    torch.testing.assert_close(procrustes(x, y.nan_to_num(), weights=w)[0], R, atol=1e-10, rtol=0)


def test_collapsed_prediction_maps_to_target_centroid():
    x = torch.full((2, 6, 3), 0.1, dtype=torch.float64)
    y = torch.randn(2, 6, 3, generator=GEN, dtype=torch.float64)
    R, t, s = procrustes(x, y)
    torch.testing.assert_close(s, torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(t, y.mean(-2))
    torch.testing.assert_close(procrustes_align(x, y), y.mean(-2, keepdim=True).expand(2, 6, 3))
    assert bool(is_rotation(R).all())


def test_gradients_are_finite():
    x = torch.randn(3, 17, 3, generator=GEN, dtype=torch.float64, requires_grad=True)
    y = torch.randn(3, 17, 3, generator=GEN, dtype=torch.float64)
    (procrustes_align(x, y) - y).norm(dim=-1).mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("pred", "target", "weights", "name"),
    [
        (torch.zeros(5, 3), torch.zeros(6, 3), None, "target"),
        (torch.zeros(5, 2), torch.zeros(5, 2), None, "pred"),
        (torch.zeros(5, 3, dtype=torch.long), torch.zeros(5, 3), None, "pred"),
        (torch.zeros(5, 3), [[0.0] * 3] * 5, None, "target"),
        (torch.zeros(2, 5, 3), torch.zeros(2, 5, 3), torch.ones(4), "weights"),
        (torch.zeros(2, 5, 3), torch.zeros(2, 5, 3), -torch.ones(5), "weights"),
        (torch.zeros(2, 5, 3), torch.zeros(2, 5, 3), torch.tensor([[1, 1, 1, 1, 1], [0, 0, 0, 0, 0]]), "weights"),
    ],
)
def test_bad_arguments_name_the_argument(pred, target, weights, name):
    with pytest.raises(ValidationError, match=name):
        procrustes_align(pred, target, weights)
