"""Rotations: conversions, validation and distances, over `roma`.

Conventions (see docs/conventions.md):

- A rotation is a matrix ``R`` of shape ``(..., 3, 3)`` acting on column vectors (``v' = R @ v``).
- Quaternions follow roma: ``(x, y, z, w)``, scalar last. Use :func:`roma.quat_wxyz_to_xyzw` to convert.
- Euler angles carry an explicit axis order string. Upper case (``"ZXY"``) is *intrinsic*: the rotation is
  ``Rz @ Rx @ Ry``, which is how BVH channel orders read. Lower case (``"zxy"``) is
  extrinsic (roma's convention).
- Angles are radians unless a function takes ``degrees=True``.

Example:
    >>> import torch
    >>> R = euler_to_matrix("ZXY", torch.tensor([[90.0, 0.0, 0.0]]), degrees=True)
    >>> torch.allclose(R @ torch.tensor([1.0, 0.0, 0.0]), torch.tensor([[0.0, 1.0, 0.0]]), atol=1e-6)
    True
"""

from __future__ import annotations

import math

import roma
import torch

from poseprior.errors import ValidationError

__all__ = [
    "euler_to_matrix",
    "matrix_to_euler",
    "quat_to_matrix",
    "matrix_to_quat",
    "rotvec_to_matrix",
    "matrix_to_rotvec",
    "sixd_to_matrix",
    "matrix_to_sixd",
    "geodesic_distance",
    "rotvec_between",
    "swing_between",
    "is_rotation",
    "check_rotations",
    "random_rotations",
    "nearest_rotation",
    "LOG_HAAR_VOLUME",
    "log_haar_density_rotvec",
]

#: log of the volume of SO(3) under the measure ``dR`` induced by rotation vectors near identity
#: (``8 pi^2``). A density ``p`` w.r.t. that measure becomes ``p * 8 pi^2`` w.r.t. the normalized Haar
#: measure, under which the uniform distribution has density 1 (log-density 0).
LOG_HAAR_VOLUME = math.log(8 * math.pi**2)


def log_haar_density_rotvec(v: torch.Tensor) -> torch.Tensor:
    """Log-density ``(...)`` of the normalized Haar measure at rotation vectors ``v (..., 3)``, ``|v| < pi``,
    with respect to Lebesgue measure on the ball: ``h(v) = (1 - cos t) / (4 pi^2 t^2) = sinc(t / 2)^2 /
    (8 pi^2)``, ``t = |v|`` (unnormalized sinc, stable at 0). A density ``p_v`` of rotation vectors is
    ``p_v(v) / h(v)`` with respect to Haar.

    Example:
        >>> round(float(log_haar_density_rotvec(torch.zeros(3))), 4)  # -log(8 pi^2) at the identity
        -4.3689
    """
    t = v.norm(dim=-1)
    return 2 * torch.log(torch.sinc(t / (2 * math.pi))) - LOG_HAAR_VOLUME


def _check_order(order: str) -> None:
    if not order or len(order) > 3 or not (order.isupper() or order.islower()) or set(order.lower()) - set("xyz"):
        raise ValidationError(
            f"order: expected 1 to 3 of X/Y/Z, all upper (intrinsic) or all lower case, got {order!r}"
        )


def euler_to_matrix(order: str, angles: torch.Tensor, degrees: bool = False) -> torch.Tensor:
    """Euler angles ``(..., 3)`` in the given axis ``order`` to rotation matrices ``(..., 3, 3)``.

    ``angles[..., i]`` is the angle about axis ``order[i]``. Upper case orders are intrinsic:
    ``"ZXY"`` gives ``Rz(a0) @ Rx(a1) @ Ry(a2)``; lower case are extrinsic, ``"zxy"`` gives
    ``Ry(a2) @ Rx(a1) @ Rz(a0)``. Any order of one to three axes is allowed, as long as ``angles`` has
    ``len(order)`` components.
    """
    _check_order(order)
    if angles.shape[-1] != len(order):
        raise ValidationError(
            f"angles: last dimension must be {len(order)} for order {order!r}, got {tuple(angles.shape)}"
        )
    return roma.euler_to_rotmat(order, angles, degrees=degrees)


def matrix_to_euler(order: str, R: torch.Tensor, degrees: bool = False) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` to Euler angles ``(..., 3)``; inverse of :func:`euler_to_matrix`.

    ``order`` must have three axes with the middle one different from its neighbours (Tait-Bryan or
    proper Euler). The second angle lies in ``[-pi/2, pi/2]`` (Tait-Bryan) or ``[0, pi]`` (proper Euler).
    """
    _check_order(order)
    if len(order) != 3 or order[0].lower() == order[1].lower() or order[1].lower() == order[2].lower():
        raise ValidationError(f"order: matrix_to_euler needs three axes, each different from the next, got {order!r}")
    return roma.rotmat_to_euler(order, R, degrees=degrees)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternions ``(..., 4)`` in ``(x, y, z, w)`` order to matrices ``(..., 3, 3)``; ``q`` is normalized first."""
    return roma.unitquat_to_rotmat(roma.quat_normalize(q))


def matrix_to_quat(R: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` to unit quaternions ``(..., 4)``, ``(x, y, z, w)``, sign arbitrary."""
    return roma.rotmat_to_unitquat(R)


def rotvec_to_matrix(v: torch.Tensor) -> torch.Tensor:
    """Rotation vectors (axis times angle in radians) ``(..., 3)`` to matrices ``(..., 3, 3)``."""
    return roma.rotvec_to_rotmat(v)


def matrix_to_rotvec(R: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` to rotation vectors ``(..., 3)`` with angle in ``[0, pi]``."""
    return roma.rotmat_to_rotvec(R)


def sixd_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """The 6D representation ``(..., 6)`` to rotation matrices ``(..., 3, 3)`` by Gram-Schmidt.

    The 6 numbers are the first two *columns* of the matrix, ``[c0, c1]`` (Zhou et al., "On the Continuity
    of Rotation Representations in Neural Networks", CVPR 2019).
    """
    return roma.special_gramschmidt(x.reshape(*x.shape[:-1], 2, 3).transpose(-1, -2))


def matrix_to_sixd(R: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` to the 6D representation ``(..., 6)``: the first two columns."""
    return R[..., :, :2].transpose(-1, -2).reshape(*R.shape[:-2], 6)


def rotvec_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Rotation vector ``(3,)`` of the smallest rotation taking unit vector ``a (3,)`` to unit vector ``b (3,)``
    (for opposite vectors, a half turn about an axis perpendicular to ``a``).

    Example:
        >>> rotvec_between(torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]))
        tensor([0.0000, 0.0000, 1.5708])
    """
    axis = torch.linalg.cross(a, b)
    angle = torch.atan2(axis.norm(), (a * b).sum())
    if float(axis.norm()) < 1e-12:  # parallel (angle 0) or opposite (any perpendicular axis)
        other = (
            torch.tensor([0.0, 1.0, 0.0], dtype=a.dtype)
            if abs(float(a[0])) > 0.9
            else torch.tensor([1.0, 0.0, 0.0], dtype=a.dtype)
        )
        axis = torch.linalg.cross(a, other)
    return axis / axis.norm() * angle


def swing_between(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``(..., 3, 3)``: the smallest rotations taking directions ``a (..., 3)`` to directions ``b (..., 3)``.

    Batched Rodrigues formula on the normalised vectors, ``R = I + [v]x + [v]x^2 / (1 + c)`` with
    ``v = a x b``, ``c = a . b``. Directions of zero length give the identity. Opposite directions have no
    smallest rotation: use :func:`rotvec_between`, which picks a half turn, for those.

    Example:
        >>> R = swing_between(torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 2.0, 0.0]))
        >>> (R @ torch.tensor([1.0, 0.0, 0.0])).round(decimals=6).tolist()
        [0.0, 1.0, 0.0]
    """
    a = a / a.norm(dim=-1, keepdim=True).clamp_min(eps)
    b = b / b.norm(dim=-1, keepdim=True).clamp_min(eps)
    v = torch.linalg.cross(a, b, dim=-1)
    c = (a * b).sum(-1)
    zero = torch.zeros_like(c)
    K = torch.stack(
        [
            torch.stack([zero, -v[..., 2], v[..., 1]], -1),
            torch.stack([v[..., 2], zero, -v[..., 0]], -1),
            torch.stack([-v[..., 1], v[..., 0], zero], -1),
        ],
        dim=-2,
    )
    eye = torch.eye(3, dtype=a.dtype, device=a.device).expand_as(K)
    return eye + K + K @ K / (1 + c).clamp_min(eps)[..., None, None]


def geodesic_distance(R1: torch.Tensor, R2: torch.Tensor, degrees: bool = False) -> torch.Tensor:
    """Angle of ``R1^T R2``: the geodesic distance on SO(3), shape ``(...)``, radians unless ``degrees``.

    Numerically stable near 0 and pi (roma's arctan2 form), with finite gradients away from exactly 0.
    """
    angle = roma.rotmat_geodesic_distance(R1, R2)
    return torch.rad2deg(angle) if degrees else angle


def is_rotation(R: torch.Tensor, tol: float = 1e-4) -> torch.Tensor:
    """Boolean ``(...)``: whether each ``(3, 3)`` matrix is orthonormal with determinant +1 within ``tol``."""
    eye = torch.eye(3, dtype=R.dtype, device=R.device)
    ortho = (R.transpose(-1, -2) @ R - eye).abs().amax(dim=(-1, -2)) <= tol
    det = (torch.linalg.det(R) - 1).abs() <= tol
    return ortho & det & torch.isfinite(R).all(dim=-1).all(dim=-1)


def check_rotations(R: torch.Tensor, name: str = "rotations", tol: float = 1e-4) -> torch.Tensor:
    """Raise :class:`ValidationError` naming ``name`` unless ``R`` is ``(..., 3, 3)`` of finite rotations.

    Returns ``R`` so it can be used inline.
    """
    if not isinstance(R, torch.Tensor):
        raise ValidationError(f"{name}: expected a torch.Tensor, got {type(R).__name__}")
    if R.ndim < 2 or R.shape[-2:] != (3, 3):
        raise ValidationError(f"{name}: expected shape (..., 3, 3), got {tuple(R.shape)}")
    if not torch.isfinite(R).all():
        raise ValidationError(f"{name}: contains NaN or inf")
    flat = R.detach().reshape(-1, 3, 3)
    for a in range(0, flat.shape[0], 65_536):  # bounded temporaries for a long take's millions of matrices
        ok = is_rotation(flat[a : a + 65_536].double(), tol=tol)
        if not ok.all():
            bad = torch.unravel_index(torch.tensor(a + int((~ok).nonzero()[0])), R.shape[:-2])
            raise ValidationError(
                f"{name}: matrix at index {tuple(int(i) for i in bad)} is not a rotation (orthonormal, det +1, tol {tol})"
            )
    return R


def random_rotations(
    *shape: int, generator: torch.Generator | None = None, dtype=torch.float32, device=None
) -> torch.Tensor:
    """Rotations ``(*shape, 3, 3)`` drawn uniformly (Haar) on SO(3), from normalized Gaussian quaternions."""
    q = torch.randn(*shape, 4, generator=generator, dtype=dtype, device=device)
    return quat_to_matrix(q)


def nearest_rotation(M: torch.Tensor, block: int = 65_536) -> torch.Tensor:
    """The rotation nearest each matrix of ``M (..., 3, 3)`` (:func:`roma.special_procrustes`), ``block``
    matrices at a time: a batched SVD's workspace over millions of matrices (a long take's joints) takes
    gigabytes, blocks of 65,536 take megabytes.

    Example:
        >>> R = nearest_rotation(torch.eye(3).expand(4, 3, 3) * 1.01)
        >>> bool(torch.allclose(R, torch.eye(3).expand(4, 3, 3)))
        True
    """
    flat = M.reshape(-1, 3, 3)
    out = torch.empty_like(flat)
    for a in range(0, flat.shape[0], block):
        out[a : a + block] = roma.special_procrustes(flat[a : a + block])
    return out.reshape(M.shape)
