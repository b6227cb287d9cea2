"""Pose metrics (poseprior.metrics) against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import random_rotations, rotvec_to_matrix
from poseprior.io import Motion
from poseprior.metrics import (
    apd,
    best_of_n,
    geodesic_error,
    jitter,
    mean_of_n,
    mpjae,
    mpjpe,
    n_mpjpe,
    pa_mpjpe,
)
from poseprior.skeleton import Skeleton

GEN = torch.Generator().manual_seed(0)
F64 = torch.float64


def t(x) -> torch.Tensor:
    return torch.tensor(x, dtype=F64)


# Three joints whose errors against the origin are 5 (3-4-5), 2 and 3 (1-2-2) mm.
PRED = t([[3.0, 4.0, 0.0], [0.0, 0.0, 2.0], [1.0, 2.0, 2.0]])
ZERO = torch.zeros(3, 3, dtype=F64)


# ------------------------------------------------------------------------------------------------------ MPJPE
def test_mpjpe_by_hand():
    assert float(mpjpe(PRED, ZERO)) == pytest.approx((5 + 2 + 3) / 3)
    # Batch of two samples: the second is off by 1 mm at every joint.
    pred = torch.stack([PRED, ZERO + t([0.0, 1.0, 0.0])])
    target = torch.zeros(2, 3, 3, dtype=F64)
    torch.testing.assert_close(mpjpe(pred, target, reduction="none"), t([10 / 3, 1.0]))
    assert float(mpjpe(pred, target)) == pytest.approx((10 / 3 + 1) / 2)


def test_mpjpe_align_root():
    # Moving both poses by different translations changes MPJPE but not the root-relative one:
    # relative to joint 0 the prediction is (0,0,0), (-3,-4,2), (-2,-2,2) and the target all zeros,
    # so the errors are 0, sqrt(9+16+4) = sqrt(29) and sqrt(4+4+4) = sqrt(12).
    pred = PRED + t([10.0, 0.0, 0.0])
    expected = (0 + math.sqrt(29) + math.sqrt(12)) / 3
    assert float(mpjpe(pred, ZERO, align_root=0)) == pytest.approx(expected)
    assert float(mpjpe(pred + 50, ZERO - 7, align_root=0)) == pytest.approx(expected)


def test_mpjpe_mask_averages_valid_joints_then_samples():
    # Sample 0 keeps joints 0 and 1 (errors 5 and 2 -> 3.5); sample 1 keeps joint 2 only (error 3), and its
    # other joints hold NaN, which must not leak. Sample-weighted mean: (3.5 + 3) / 2 = 3.25, not the
    # joint-weighted (5 + 2 + 3) / 3.
    pred = torch.stack([PRED, PRED])
    target = torch.zeros(2, 3, 3, dtype=F64)
    target[1, :2] = float("nan")
    mask = torch.tensor([[True, True, False], [False, False, True]])
    torch.testing.assert_close(mpjpe(pred, target, mask, reduction="none"), t([3.5, 3.0]))
    assert float(mpjpe(pred, target, mask)) == pytest.approx(3.25)
    # A numeric mask works the same (nonzero = valid), and a (J,) mask broadcasts over samples.
    assert float(mpjpe(pred, target.nan_to_num(), mask.double())) == pytest.approx(3.25)
    torch.testing.assert_close(
        mpjpe(pred, target.nan_to_num(), torch.tensor([1, 0, 1]), reduction="none"), t([4.0, 4.0])
    )


def test_mpjpe_sample_without_valid_joint():
    pred = torch.stack([PRED, PRED])
    mask = torch.tensor([[True, True, True], [False, False, False]])
    values = mpjpe(pred, torch.zeros_like(pred), mask, reduction="none")
    assert values[0] == pytest.approx(10 / 3) and torch.isnan(values[1])
    assert float(mpjpe(pred, torch.zeros_like(pred), mask)) == pytest.approx(10 / 3)  # left out of the mean
    with pytest.raises(ValidationError, match="mask"):
        mpjpe(pred, torch.zeros_like(pred), torch.zeros(3, dtype=torch.bool))


def test_masked_nan_gives_finite_gradients():
    pred = torch.randn(4, 17, 3, generator=GEN, dtype=F64, requires_grad=True)
    target = torch.randn(4, 17, 3, generator=GEN, dtype=F64)
    target[0, 3] = float("nan")
    mask = torch.ones(4, 17, dtype=torch.bool)
    mask[0, 3] = False
    mask[1] = False
    for metric in (mpjpe, pa_mpjpe, n_mpjpe):
        pred.grad = None
        value = metric(pred, target, mask)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(pred.grad).all(), metric.__name__
        assert pred.grad[1].abs().sum() == 0  # the fully masked sample contributes nothing


def test_metrics_report_the_input_unit_so_convert_to_mm():
    # A motion in centimetres: the same error measured on positions(millimetres=True) is 10 times larger.
    sk = Skeleton(("root", "a", "b"), (-1, 0, 1), t([[0.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 10.0, 0.0]]))
    R = random_rotations(4, 3, generator=GEN, dtype=F64)
    motion = Motion(sk, R, torch.zeros(4, 3, dtype=F64), fps=30.0, unit="cm")
    moved = Motion(sk, R, torch.ones(4, 3, dtype=F64), fps=30.0, unit="cm")
    cm = mpjpe(moved.positions(), motion.positions())
    mm = mpjpe(moved.positions(millimetres=True), motion.positions(millimetres=True))
    assert float(cm) == pytest.approx(math.sqrt(3))
    assert float(mm) == pytest.approx(10 * math.sqrt(3))


# ---------------------------------------------------------------------------------------- PA-MPJPE, N-MPJPE
# A square in the xy-plane and a prediction lifted alternately by +d and -d along z. By symmetry the best
# rotation is the identity and the centroids are at the origin; the cross-covariance is diag(2, 2, 0), so the
# best scale is s = tr(M) / sum|x|^2 = 4 / (4 (1 + d^2)). With d = 1: s = 1/2 and every joint is off by
# |(s - 1, 0, s d)| = sqrt(1/4 + 1/4) = sqrt(1/2).
SQUARE = t([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
LIFTED = t([[1.0, 0.0, 1.0], [0.0, 1.0, -1.0], [-1.0, 0.0, 1.0], [0.0, -1.0, -1.0]])


def test_pa_mpjpe_by_hand():
    assert float(mpjpe(LIFTED, SQUARE)) == pytest.approx(1.0)
    assert float(pa_mpjpe(LIFTED, SQUARE)) == pytest.approx(math.sqrt(0.5))
    # Invariant to a similarity transform of the prediction.
    R = random_rotations(generator=GEN, dtype=F64)
    moved = 3.7 * LIFTED @ R.T + t([100.0, -20.0, 5.0])
    assert float(pa_mpjpe(moved, SQUARE)) == pytest.approx(math.sqrt(0.5))
    assert float(mpjpe(moved, SQUARE)) > 10


def test_pa_mpjpe_zero_for_similar_poses_and_not_for_mirrored():
    target = torch.randn(8, 17, 3, generator=GEN, dtype=F64) * 100
    R = random_rotations(8, generator=GEN, dtype=F64)
    pred = 0.8 * target @ R.transpose(-1, -2) + 40
    torch.testing.assert_close(pa_mpjpe(pred, target, reduction="none"), torch.zeros(8, dtype=F64), atol=1e-9, rtol=0)
    mirrored = target * t([-1.0, 1.0, 1.0])
    assert bool((pa_mpjpe(mirrored, target, reduction="none") > 1.0).all())


def test_pa_mpjpe_mask_fits_valid_joints_only():
    pred = torch.cat([LIFTED, t([[500.0, 500.0, 500.0]])])
    target = torch.cat([SQUARE, t([[float("nan")] * 3])])
    assert float(pa_mpjpe(pred, target, torch.tensor([True, True, True, True, False]))) == pytest.approx(math.sqrt(0.5))


def test_n_mpjpe_by_hand():
    # Same square: s = sum<p, t> / sum|p|^2 = 4 / 8 = 1/2, as for Procrustes.
    assert float(n_mpjpe(LIFTED, SQUARE)) == pytest.approx(math.sqrt(0.5))
    # pred (1,0,0), (0,1,1) against (2,0,0), (0,2,0): s = (2 + 2) / (1 + 2) = 4/3; the errors are
    # |(4/3 - 2, 0, 0)| = 2/3 and |(0, 4/3 - 2, 4/3)| = sqrt(4/9 + 16/9) = sqrt(20)/3.
    pred, target = t([[1.0, 0, 0], [0, 1, 1]]), t([[2.0, 0, 0], [0, 2, 0]])
    assert float(n_mpjpe(pred, target)) == pytest.approx((2 / 3 + math.sqrt(20) / 3) / 2)
    assert float(n_mpjpe(pred / 5, target)) == pytest.approx((2 / 3 + math.sqrt(20) / 3) / 2)  # scale-free
    # A zero prediction gets s = 0: the error is |target|.
    assert float(n_mpjpe(torch.zeros(2, 3, dtype=F64), target)) == pytest.approx(2.0)


def test_n_mpjpe_align_root_before_scaling():
    target = torch.randn(17, 3, generator=GEN, dtype=F64)
    pred = 2 * (target - target[0]) + 100  # right up to scale once root-relative
    assert float(n_mpjpe(pred, target, align_root=0)) == pytest.approx(0.0, abs=1e-9)
    assert float(n_mpjpe(pred, target)) > 0.1


# --------------------------------------------------------------------------------------------- joint angles
def rot_z(degrees: float) -> torch.Tensor:
    return rotvec_to_matrix(t([0.0, 0.0, math.radians(degrees)]))


def test_geodesic_error_and_mpjae_by_hand():
    R_pred = torch.stack([rot_z(30), rot_z(90), rot_z(180)])
    R_target = torch.eye(3, dtype=F64).expand(3, 3, 3)
    torch.testing.assert_close(geodesic_error(R_pred, R_target), t([30.0, 90.0, 180.0]))
    torch.testing.assert_close(geodesic_error(R_pred, R_target, degrees=False), t([math.pi / 6, math.pi / 2, math.pi]))
    assert float(mpjae(R_pred, R_target)) == pytest.approx((30 + 90 + 180) / 3)
    # The error is relative: rotating both by the same rotation on the left changes nothing.
    Q = random_rotations(generator=GEN, dtype=F64)
    assert float(mpjae(Q @ R_pred, Q @ R_target)) == pytest.approx(100.0)


def test_mpjae_mask_and_reduction():
    R_pred = torch.stack([torch.stack([rot_z(30), rot_z(90)]), torch.stack([rot_z(10), rot_z(20)])])
    R_target = torch.eye(3, dtype=F64).expand(2, 2, 3, 3).clone()
    R_target[0, 1] = float("nan")  # masked out below
    mask = torch.tensor([[True, False], [True, True]])
    torch.testing.assert_close(mpjae(R_pred, R_target, mask, reduction="none"), t([30.0, 15.0]))
    assert float(mpjae(R_pred, R_target, mask)) == pytest.approx(22.5)


# ------------------------------------------------------------------------------------ multiple hypotheses
def test_best_of_n_picks_each_samples_best_hypothesis():
    target = torch.zeros(2, 4, 3, dtype=F64)
    offsets = t([[5.0, 3.0, 1.0], [2.0, 7.0, 4.0]])  # (sample, hypothesis): every joint is off by this along x
    pred = torch.zeros(2, 3, 4, 3, dtype=F64)
    pred[..., 0] = offsets[..., None]
    torch.testing.assert_close(best_of_n(pred, target, reduction="none"), t([1.0, 2.0]))  # hypotheses 2 and 0
    assert float(best_of_n(pred, target)) == pytest.approx(1.5)  # not the batch-wide minimum 1
    torch.testing.assert_close(mean_of_n(pred, target, reduction="none"), t([3.0, 13 / 3]))
    assert float(mean_of_n(pred, target)) == pytest.approx((3 + 13 / 3) / 2)


def test_best_of_n_with_one_hypothesis_is_mpjpe():
    pred = torch.randn(5, 1, 17, 3, generator=GEN, dtype=F64)
    target = torch.randn(5, 17, 3, generator=GEN, dtype=F64)
    torch.testing.assert_close(best_of_n(pred, target, align_root=0), mpjpe(pred[:, 0], target, align_root=0))
    torch.testing.assert_close(mean_of_n(pred, target, procrustes=True), pa_mpjpe(pred[:, 0], target))


def test_best_of_n_procrustes_and_mask():
    target = torch.randn(17, 3, generator=GEN, dtype=F64)
    R = random_rotations(2, generator=GEN, dtype=F64)
    noisy = target + torch.randn(17, 3, generator=GEN, dtype=F64)
    similar = 2 * target @ R[0].T + 5  # exact up to a similarity
    pred = torch.stack([noisy, similar])
    assert float(best_of_n(pred, target, procrustes=True)) == pytest.approx(0.0, abs=1e-9)
    assert float(best_of_n(pred, target)) > 0.1
    # Masking joint 3 of the target (holding NaN) leaves the values finite.
    target_nan = target.clone()
    target_nan[3] = float("nan")
    mask = torch.ones(17, dtype=torch.bool)
    mask[3] = False
    assert torch.isfinite(best_of_n(pred, target_nan, mask, procrustes=True))
    expected = mpjpe(noisy[mask], target[mask])
    torch.testing.assert_close(best_of_n(pred[:1], target_nan, mask), expected)


def test_apd_by_hand():
    # J = 2. h0 at the origin; h1 moves joint 0 to (3,4,0); h2 moves joint 1 to (0,0,2).
    # Pairwise MPJPE: d01 = (5 + 0)/2 = 2.5, d02 = (0 + 2)/2 = 1, d12 = (5 + 2)/2 = 3.5 -> APD = 7/3.
    h = torch.zeros(3, 2, 3, dtype=F64)
    h[1, 0] = t([3.0, 4.0, 0.0])
    h[2, 1] = t([0.0, 0.0, 2.0])
    assert float(apd(h)) == pytest.approx(7 / 3)
    # Order of hypotheses does not matter; batches give one value per sample.
    batch = torch.stack([h, h[[2, 0, 1]], torch.zeros(3, 2, 3, dtype=F64)])
    torch.testing.assert_close(apd(batch, reduction="none"), t([7 / 3, 7 / 3, 0.0]))


def test_apd_of_identical_hypotheses_is_zero_with_finite_gradient():
    h = torch.randn(17, 3, generator=GEN, dtype=F64).expand(10, 17, 3).clone().requires_grad_(True)
    value = apd(h)
    assert float(value.detach()) == 0.0
    value.backward()
    assert torch.isfinite(h.grad).all()


# ----------------------------------------------------------------------------------------------------- jitter
def test_jitter_by_hand():
    # Joint 0 moves along x as 0, 1, 4, 9 mm (second differences 2, 2), joint 1 jumps by 3 mm in z at frame 2
    # (second differences 3, -3): per motion (2 + 2 + 3 + 3) / 4 = 2.5 mm/frame^2, times fps^2.
    p = torch.zeros(4, 2, 3, dtype=F64)
    p[:, 0, 0] = t([0.0, 1.0, 4.0, 9.0])
    p[2:, 1, 2] = 3.0
    assert float(jitter(p, fps=1.0)) == pytest.approx(2.5)
    assert float(jitter(p, fps=30.0)) == pytest.approx(2.5 * 900)
    # Constant velocity has no jitter, whatever the offset; a batch of motions reduces per motion.
    line = torch.arange(5, dtype=F64)[:, None, None] * t([[1.0, 2.0, 3.0], [0.0, -1.0, 0.0]]) + 7.0
    assert float(jitter(line, fps=10.0)) == 0.0
    both = torch.stack([line[:4], p])
    torch.testing.assert_close(jitter(both, 1.0, reduction="none"), t([0.0, 2.5]))
    assert float(jitter(both, 1.0)) == pytest.approx(1.25)


def test_jitter_of_noise_grows_with_the_frame_rate():
    noise = torch.randn(200, 5, 3, generator=GEN, dtype=F64)
    assert float(jitter(noise, 60.0)) == pytest.approx(4 * float(jitter(noise, 30.0)))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: jitter(torch.zeros(2, 5, 3), 30.0), "positions"),  # fewer than 3 frames
        (lambda: jitter(torch.zeros(4, 5, 2), 30.0), "positions"),
        (lambda: jitter(torch.zeros(4, 5, 3, dtype=torch.long), 30.0), "positions"),
        (lambda: jitter(torch.zeros(4, 5, 3), 0.0), "fps"),
        (lambda: jitter(torch.zeros(4, 5, 3), float("nan")), "fps"),
        (lambda: jitter(torch.zeros(4, 5, 3), 30.0, reduction="sum"), "reduction"),
    ],
)
def test_jitter_bad_arguments(call, name):
    with pytest.raises(ValidationError, match=name):
        call()


# -------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: mpjpe(torch.zeros(17, 3), torch.zeros(16, 3)), "target"),
        (lambda: mpjpe(torch.zeros(4, 17, 3), torch.zeros(17, 3)), "target"),  # no silent broadcasting
        (lambda: mpjpe(torch.zeros(17, 2), torch.zeros(17, 2)), "pred"),
        (lambda: mpjpe(torch.zeros(17, 3, dtype=torch.long), torch.zeros(17, 3)), "pred"),
        (lambda: mpjpe(torch.zeros(17, 3).numpy(), torch.zeros(17, 3)), "pred"),
        (lambda: mpjpe(torch.zeros(17, 3), torch.zeros(17, 3), reduction="sum"), "reduction"),
        (lambda: mpjpe(torch.zeros(2, 17, 3), torch.zeros(2, 17, 3), torch.ones(16)), "mask"),
        (lambda: mpjpe(torch.zeros(17, 3), torch.zeros(17, 3), align_root=17), "align_root"),
        (lambda: mpjpe(torch.zeros(17, 3), torch.zeros(17, 3), torch.arange(17) != 0, align_root=0), "mask"),
        (lambda: pa_mpjpe(torch.zeros(17, 3), torch.zeros(17, 4)), "target"),
        (lambda: n_mpjpe(torch.zeros(17, 3), torch.zeros(17, 3), reduction="max"), "reduction"),
        (lambda: mpjae(torch.eye(3).expand(2, 3, 3), torch.eye(3).expand(3, 3, 3)), "R_target"),
        (lambda: mpjae(torch.eye(3), torch.eye(3)), "R_pred"),
        (lambda: geodesic_error(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)), "R_pred"),
        (lambda: best_of_n(torch.zeros(5, 17, 3), torch.zeros(5, 17, 3)), "target"),
        (lambda: best_of_n(torch.zeros(2, 5, 17, 3), torch.zeros(3, 17, 3)), "target"),
        (lambda: best_of_n(torch.zeros(17, 3), torch.zeros(17, 3)), "pred"),
        (lambda: best_of_n(torch.zeros(5, 17, 3), torch.zeros(17, 3), align_root=0, procrustes=True), "align_root"),
        (lambda: mean_of_n(torch.zeros(5, 17, 3), torch.zeros(17, 3), torch.ones(3)), "mask"),
        (lambda: apd(torch.zeros(1, 17, 3)), "hypotheses"),
        (lambda: apd(torch.zeros(17, 3)), "hypotheses"),
        (lambda: apd(torch.zeros(4, 17, 3), reduction="sum"), "reduction"),
    ],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValidationError, match=name):
        call()
