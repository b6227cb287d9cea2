"""Rotation conversions, distances and validation (poseprior.geometry.rotations), property-based where it helps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import roma
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from poseprior.errors import ValidationError
from poseprior.geometry import (
    check_rotations,
    euler_to_matrix,
    geodesic_distance,
    is_rotation,
    log_haar_density_rotvec,
    matrix_to_euler,
    matrix_to_quat,
    matrix_to_rotvec,
    matrix_to_sixd,
    quat_to_matrix,
    random_rotations,
    rotvec_to_matrix,
    sixd_to_matrix,
)

TAIT_BRYAN = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]
PROPER = ["XYX", "XZX", "YXY", "YZY", "ZXZ", "ZYZ"]
ORDERS = [o for base in TAIT_BRYAN + PROPER for o in (base, base.lower())]
FAST = settings(max_examples=15, deadline=None)
PI = math.pi


def elementary(axis: str, angle: float) -> np.ndarray:
    """The rotation by ``angle`` about one coordinate axis, written out by hand (column-vector convention)."""
    c, s = math.cos(angle), math.sin(angle)
    return {
        "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis.lower()]


def angles(low: float, high: float, n: int = 3):
    return arrays(np.float64, (n,), elements=st.floats(low, high, allow_nan=False))


def quaternions():
    # Bounded away from zero norm so normalization is well defined.
    return arrays(np.float64, (4,), elements=st.floats(-1, 1)).filter(lambda q: np.linalg.norm(q) > 0.1)


# --------------------------------------------------------------------------------------------------- Euler
@pytest.mark.parametrize("order", ORDERS)
@FAST
@given(a=angles(-2 * PI, 2 * PI))
def test_euler_matrix_euler_matrix_round_trip(order, a):
    R = euler_to_matrix(order, torch.from_numpy(a))
    assert bool(is_rotation(R, tol=1e-9))
    back = euler_to_matrix(order, matrix_to_euler(order, R))
    # Within 1e-7 rad of gimbal lock roma snaps the middle angle (its epsilon), hence not 1e-12.
    torch.testing.assert_close(back, R, atol=1e-6, rtol=0)


@pytest.mark.parametrize("order", ORDERS)
@FAST
@given(a=angles(-PI + 0.05, PI - 0.05), middle=st.floats(0.05, PI - 0.05))
def test_euler_angles_recovered_away_from_gimbal_lock(order, a, middle):
    # Canonical ranges: the middle angle lies in [-pi/2, pi/2] (Tait-Bryan) or [0, pi] (proper Euler).
    a = a.copy()
    a[1] = middle - PI / 2 if order.upper() in TAIT_BRYAN else middle
    got = matrix_to_euler(order, euler_to_matrix(order, torch.from_numpy(a)))
    np.testing.assert_allclose(got.numpy(), a, atol=1e-7)


@pytest.mark.parametrize("order", ORDERS)
@FAST
@given(a=angles(-PI, PI))
def test_euler_matches_hand_built_products(order, a):
    factors = [elementary(axis, angle) for axis, angle in zip(order, a, strict=False)]
    # Intrinsic (upper case): R = R_a0 @ R_a1 @ R_a2; extrinsic (lower case): the reverse product.
    expected = factors[0] @ factors[1] @ factors[2] if order.isupper() else factors[2] @ factors[1] @ factors[0]
    np.testing.assert_allclose(euler_to_matrix(order, torch.from_numpy(a)).numpy(), expected, atol=1e-12)


def test_intrinsic_zxy_is_rz_rx_ry_as_bvh_reads():
    z, x, y = 0.3, -1.1, 2.0
    expected = elementary("z", z) @ elementary("x", x) @ elementary("y", y)
    got = euler_to_matrix("ZXY", torch.tensor([z, x, y], dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
    # The same angles read extrinsically compose the other way round.
    got_ext = euler_to_matrix("zxy", torch.tensor([z, x, y], dtype=torch.float64))
    expected_ext = elementary("y", y) @ elementary("x", x) @ elementary("z", z)
    np.testing.assert_allclose(got_ext.numpy(), expected_ext, atol=1e-12)


def test_euler_degrees_and_batch_shape():
    deg = torch.tensor([[[90.0, 45.0, -30.0]] * 4] * 2, dtype=torch.float64)
    R = euler_to_matrix("ZXY", deg, degrees=True)
    assert R.shape == (2, 4, 3, 3)
    torch.testing.assert_close(R, euler_to_matrix("ZXY", torch.deg2rad(deg)))
    torch.testing.assert_close(matrix_to_euler("ZXY", R, degrees=True), deg)
    # 90 degrees about Z maps x to y.
    Rz = euler_to_matrix("Z", torch.tensor([90.0], dtype=torch.float64), degrees=True)
    torch.testing.assert_close(Rz[:, 0], torch.tensor([0.0, 1, 0], dtype=torch.float64))


@pytest.mark.parametrize("order", ["", "XYZX", "XyZ", "ABC", "xyw"])
def test_euler_to_matrix_rejects_bad_orders(order):
    with pytest.raises(ValidationError, match="order"):
        euler_to_matrix(order, torch.zeros(max(len(order), 1)))


def test_euler_to_matrix_rejects_wrong_angle_count():
    with pytest.raises(ValidationError, match="angles"):
        euler_to_matrix("ZXY", torch.zeros(5, 2))


def test_matrix_to_euler_needs_three_axes():
    with pytest.raises(ValidationError, match="order"):
        matrix_to_euler("XY", torch.eye(3))


@pytest.mark.parametrize("order", ["XYz", "XXY", "abc"])
def test_matrix_to_euler_rejects_bad_orders(order):
    with pytest.raises(ValidationError, match="order"):
        matrix_to_euler(order, torch.eye(3))


# ------------------------------------------------------------------------------------ quaternions, rotvec, 6D
@FAST
@given(q=quaternions())
def test_quaternion_round_trip_up_to_sign(q):
    q = torch.from_numpy(q)
    back = matrix_to_quat(quat_to_matrix(q))
    unit = q / q.norm()
    sign = torch.sign((back * unit).sum())
    torch.testing.assert_close(sign * back, unit, atol=1e-9, rtol=0)


def test_quaternion_is_xyzw():
    theta = 0.7
    q = torch.tensor([0.0, 0.0, math.sin(theta / 2), math.cos(theta / 2)], dtype=torch.float64)
    np.testing.assert_allclose(quat_to_matrix(q).numpy(), elementary("z", theta), atol=1e-12)


@FAST
@given(v=arrays(np.float64, (3,), elements=st.floats(-1.8, 1.8)))
def test_rotvec_round_trip(v):
    v = torch.from_numpy(v)  # |v| <= 1.8 * sqrt(3) < pi - 0.02: the angle is unambiguous
    torch.testing.assert_close(matrix_to_rotvec(rotvec_to_matrix(v)), v, atol=1e-9, rtol=0)


def test_rotvec_about_axis():
    R = rotvec_to_matrix(torch.tensor([0.0, 0.4, 0.0], dtype=torch.float64))
    np.testing.assert_allclose(R.numpy(), elementary("y", 0.4), atol=1e-12)


@FAST
@given(q=quaternions())
def test_sixd_round_trip(q):
    R = quat_to_matrix(torch.from_numpy(q))
    six = matrix_to_sixd(R)
    assert six.shape == (6,)
    torch.testing.assert_close(six, torch.cat([R[:, 0], R[:, 1]]))  # the first two columns
    torch.testing.assert_close(sixd_to_matrix(six), R, atol=1e-12, rtol=0)


@FAST
@given(x=arrays(np.float64, (6,), elements=st.floats(-1, 1)), scale=st.floats(0.5, 4.0))
def test_sixd_gram_schmidt_of_arbitrary_input(x, scale):
    a1, a2 = x[:3], x[3:]
    # Keep the two vectors well away from zero and from parallel.
    if np.linalg.norm(a1) < 0.2 or np.linalg.norm(np.cross(a1, a2)) < 0.1:
        return
    R = sixd_to_matrix(torch.from_numpy(x))
    assert bool(is_rotation(R, tol=1e-9))
    np.testing.assert_allclose(R[:, 0].numpy(), a1 / np.linalg.norm(a1), atol=1e-12)
    # Scaling both vectors by a positive factor does not change the result.
    torch.testing.assert_close(sixd_to_matrix(torch.from_numpy(x * scale)), R, atol=1e-12, rtol=0)


def test_batched_conversions_keep_batch_shape():
    R = random_rotations(2, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert matrix_to_quat(R).shape == (2, 5, 4)
    assert matrix_to_rotvec(R).shape == (2, 5, 3)
    assert matrix_to_sixd(R).shape == (2, 5, 6)
    assert matrix_to_euler("ZXY", R).shape == (2, 5, 3)
    torch.testing.assert_close(sixd_to_matrix(matrix_to_sixd(R)), R)
    torch.testing.assert_close(rotvec_to_matrix(matrix_to_rotvec(R)), R)


# ------------------------------------------------------------------------------------------ geodesic distance
@FAST
@given(q1=quaternions(), q2=quaternions())
def test_geodesic_distance_symmetric_and_bounded(q1, q2):
    R1, R2 = quat_to_matrix(torch.from_numpy(q1)), quat_to_matrix(torch.from_numpy(q2))
    d = geodesic_distance(R1, R2)
    assert 0.0 <= float(d) <= PI
    torch.testing.assert_close(d, geodesic_distance(R2, R1), atol=1e-12, rtol=0)
    assert float(geodesic_distance(R1, R1)) == pytest.approx(0.0, abs=1e-7)
    # It is the rotation angle of R1^T R2, and left multiplication by a common rotation does not change it.
    torch.testing.assert_close(d, matrix_to_rotvec(R1.T @ R2).norm(), atol=1e-7, rtol=0)
    Q = quat_to_matrix(torch.from_numpy(q1[::-1].copy()))
    torch.testing.assert_close(geodesic_distance(Q @ R1, Q @ R2), d, atol=1e-7, rtol=0)


def test_geodesic_distance_known_values_and_degrees():
    eye = torch.eye(3, dtype=torch.float64)
    R = torch.stack([rotvec_to_matrix(torch.tensor([0.0, 0.0, a], dtype=torch.float64)) for a in (0.0, PI / 2, PI)])
    radians = torch.tensor([0.0, PI / 2, PI], dtype=torch.float64)
    torch.testing.assert_close(geodesic_distance(eye.expand(3, 3, 3), R), radians)
    torch.testing.assert_close(geodesic_distance(eye, R, degrees=True), torch.rad2deg(radians))


# ----------------------------------------------------------------------------------------------- validation
def test_check_rotations_accepts_rotations_and_returns_input():
    R = random_rotations(4, 3, generator=torch.Generator().manual_seed(1))
    assert check_rotations(R) is R
    assert bool(is_rotation(R).all())


@pytest.mark.parametrize(
    "case",
    ["reflection", "scaled", "nan", "inf", "shear"],
)
def test_check_rotations_rejects_non_rotations(case):
    R = random_rotations(5, generator=torch.Generator().manual_seed(2), dtype=torch.float64).clone()
    bad = {
        "reflection": torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)) @ R[3],
        "scaled": 2.0 * R[3],
        "nan": R[3].masked_fill(torch.eye(3, dtype=torch.bool), float("nan")),
        "inf": R[3].masked_fill(torch.eye(3, dtype=torch.bool), float("inf")),
        "shear": R[3] + torch.tensor([[0.0, 0.1, 0.0], [0, 0, 0], [0, 0, 0]], dtype=torch.float64),
    }[case]
    R[3] = bad
    assert not bool(is_rotation(R[3]))
    assert is_rotation(R).tolist() == [True, True, True, False, True]
    with pytest.raises(ValidationError, match="my_rotations"):
        check_rotations(R, "my_rotations")


def test_check_rotations_names_the_bad_index():
    R = torch.eye(3).repeat(2, 3, 1, 1)
    R[1, 2] *= -1
    with pytest.raises(ValidationError, match=r"index \(1, 2\)"):
        check_rotations(R)


@pytest.mark.parametrize("value", [torch.eye(4), torch.zeros(3), np.eye(3)])
def test_check_rotations_rejects_wrong_shape_or_type(value):
    with pytest.raises(ValidationError, match="rotations"):
        check_rotations(value)


def test_random_rotations_are_rotations_and_reproducible():
    R = random_rotations(1000, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert R.shape == (1000, 3, 3)
    assert bool(is_rotation(R, tol=1e-9).all())
    again = random_rotations(1000, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(R, again)
    # Haar-uniform: the mean of a uniform rotation matrix is zero (each entry has variance 1/3).
    assert R.mean(0).abs().max() < 4 * math.sqrt(1 / 3 / 1000)
    # The angle of a Haar rotation has density (1 - cos t) / pi, so its mean is pi/2 + 2/pi.
    mean_angle = roma.rotmat_to_rotvec(R).norm(dim=-1).mean()
    assert float(mean_angle) == pytest.approx(PI / 2 + 2 / PI, abs=0.06)


def test_haar_density_of_rotation_vectors_integrates_to_one():
    # Radial integral of h over the ball of radius pi: 4 pi t^2 h(t) dt, by the trapezoid rule.
    t = torch.linspace(0, math.pi, 200001, dtype=torch.float64)
    h = log_haar_density_rotvec(t[:, None] * torch.tensor([1.0, 0, 0], dtype=torch.float64)).exp()
    assert abs(torch.trapezoid(4 * math.pi * t**2 * h, t).item() - 1) < 1e-9
    # At the identity h = 1 / (8 pi^2): the volume of SO(3) in the measure of rotation vectors.
    torch.testing.assert_close(h[0], torch.tensor(1 / (8 * math.pi**2), dtype=torch.float64))
