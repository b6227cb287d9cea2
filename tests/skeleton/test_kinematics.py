"""Forward kinematics, end sites and rest-pose changes (poseprior.skeleton.kinematics)."""

from __future__ import annotations

import math

import pytest
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import is_rotation, random_rotations, rotvec_to_matrix
from poseprior.skeleton import (
    Skeleton,
    change_rest_pose,
    end_site_positions,
    forward_kinematics,
)

F64 = torch.float64


def random_tree(K: int, seed: int, end_sites: int = 3) -> Skeleton:
    g = torch.Generator().manual_seed(seed)
    parents = [-1] + [int(torch.randint(0, j, (), generator=g)) for j in range(1, K)]
    offsets = torch.randn(K, 3, generator=g, dtype=F64)
    ends = torch.randint(0, K, (end_sites,), generator=g).tolist()
    end_offsets = torch.randn(end_sites, 3, generator=g, dtype=F64)
    return Skeleton(tuple(f"j{j}" for j in range(K)), tuple(parents), offsets, tuple(ends), end_offsets)


def naive_fk(sk: Skeleton, R: torch.Tensor, root: torch.Tensor | None = None):
    """One joint at a time, straight from the convention in the docs."""
    G, P = [None] * sk.num_joints, [None] * sk.num_joints
    for j, p in enumerate(sk.parents):
        if p < 0:
            G[j] = R[..., j, :, :]
            P[j] = sk.offsets[j].expand(*R.shape[:-3], 3) if root is None else root
        else:
            G[j] = G[p] @ R[..., j, :, :]
            P[j] = P[p] + G[p] @ sk.offsets[j]
    return torch.stack(P, dim=-2), torch.stack(G, dim=-3)


def test_matches_a_naive_loop_on_a_random_tree():
    sk = random_tree(15, seed=0)
    R = random_rotations(2, 3, 15, generator=torch.Generator().manual_seed(1), dtype=F64)
    root = torch.randn(2, 3, 3, dtype=F64)
    for root_translation in (None, root):
        P, G = forward_kinematics(sk, R, root_translation)
        P_ref, G_ref = naive_fk(sk, R, root_translation)
        torch.testing.assert_close(P, P_ref)
        torch.testing.assert_close(G, G_ref)


def test_by_hand_two_joint_chain():
    # Root turned 90 degrees about z: the child's offset (1, 0, 0) points along +y.
    sk = Skeleton(("root", "child"), (-1, 0), torch.tensor([[0.0, 0, 0], [1, 0, 0]]))
    R = torch.stack([rotvec_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=F64)), torch.eye(3, dtype=F64)])
    P, G = forward_kinematics(sk, R, torch.tensor([10.0, 0, 0], dtype=F64))
    torch.testing.assert_close(P, torch.tensor([[10.0, 0, 0], [10, 1, 0]], dtype=F64))
    torch.testing.assert_close(G[1], R[0])


def test_identity_rotations_give_the_rest_pose():
    sk = random_tree(10, seed=2)
    P, G = forward_kinematics(sk, torch.eye(3, dtype=F64).expand(10, 3, 3))
    cumulative = torch.stack([sk.offsets[[j, *ancestors(sk, j)]].sum(0) for j in range(10)])
    torch.testing.assert_close(P, cumulative)
    torch.testing.assert_close(G, torch.eye(3, dtype=F64).expand(10, 3, 3))


def ancestors(sk: Skeleton, j: int) -> list[int]:
    out = []
    while sk.parents[j] >= 0:
        j = sk.parents[j]
        out.append(j)
    return out


@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
def test_batch_shapes_and_dtype(batch):
    sk = random_tree(6, seed=3)
    R = random_rotations(*batch, 6, generator=torch.Generator().manual_seed(4))
    P, G = forward_kinematics(sk, R, torch.zeros(3))  # a root translation without batch dims broadcasts
    assert P.shape == (*batch, 6, 3) and G.shape == (*batch, 6, 3, 3)
    assert P.dtype == G.dtype == torch.float32
    assert end_site_positions(sk, P, G).shape == (*batch, 3, 3)


def test_animated_translations_replace_offsets():
    sk = random_tree(5, seed=5)
    R = random_rotations(2, 5, generator=torch.Generator().manual_seed(6), dtype=F64)
    translations = torch.randn(2, 5, 3, dtype=F64)
    P, _ = forward_kinematics(sk, R, translations=translations)
    P_ref, _ = naive_fk(sk.with_offsets(translations[0]), R[:1])
    torch.testing.assert_close(P[:1], P_ref)
    # With a root translation, row 0 of translations is ignored.
    root = torch.randn(2, 3, dtype=F64)
    P2, _ = forward_kinematics(sk, R, root, translations)
    torch.testing.assert_close(P2 - P2[..., :1, :], P - P[..., :1, :])
    torch.testing.assert_close(P2[..., 0, :], root)


def test_gradcheck_on_a_tiny_tree():
    sk = Skeleton(("a", "b", "c"), (-1, 0, 0), torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 1]]))
    R = random_rotations(2, 3, generator=torch.Generator().manual_seed(7), dtype=F64).requires_grad_(True)
    root = torch.randn(2, 3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda R, t: forward_kinematics(sk, R, t), (R, root))


def test_end_sites():
    offsets, end_offsets = torch.tensor([[0.0, 0, 0], [0, 1, 0]]), torch.tensor([[0.0, 2, 0], [0, 0, 3]])
    sk = Skeleton(("root", "tip"), (-1, 0), offsets, (1, 0), end_offsets)
    rest = torch.eye(3, dtype=F64).expand(2, 3, 3)
    P, G = forward_kinematics(sk, rest)
    torch.testing.assert_close(end_site_positions(sk, P, G), torch.tensor([[0.0, 3, 0], [0, 0, 3]], dtype=F64))
    # Turn the tip 90 degrees about x: its end site (0, 2, 0) now points along +z from the tip at (0, 1, 0).
    R = torch.stack([torch.eye(3, dtype=F64), rotvec_to_matrix(torch.tensor([math.pi / 2, 0.0, 0.0], dtype=F64))])
    P, G = forward_kinematics(sk, R)
    torch.testing.assert_close(end_site_positions(sk, P, G), torch.tensor([[0.0, 1, 2], [0, 0, 3]], dtype=F64))
    no_ends = Skeleton(("root",), (-1,), torch.zeros(1, 3))
    P, G = forward_kinematics(no_ends, torch.eye(3).expand(5, 1, 3, 3))
    assert end_site_positions(no_ends, P, G).shape == (5, 0, 3)


def test_change_rest_pose_keeps_positions_and_makes_the_new_rest_identity():
    sk = random_tree(12, seed=8)
    g = torch.Generator().manual_seed(9)
    rest = random_rotations(12, generator=g, dtype=F64)
    R = random_rotations(7, 12, generator=g, dtype=F64)
    root = torch.randn(7, 3, dtype=F64)
    new_sk, new_R = change_rest_pose(sk, R, rest)
    assert new_sk.same_tree(sk) and new_R.shape == R.shape and bool(is_rotation(new_R).all())
    P, G = forward_kinematics(sk, R, root)
    P_new, G_new = forward_kinematics(new_sk, new_R, root)
    torch.testing.assert_close(P_new, P)
    torch.testing.assert_close(end_site_positions(new_sk, P_new, G_new), end_site_positions(sk, P, G))
    # Global rotations become R_global @ Q^T, Q being the globals of the new rest pose.
    Q = forward_kinematics(sk, rest)[1]
    torch.testing.assert_close(G_new, G @ Q.transpose(-1, -2))
    # The new rest pose, expressed against the new skeleton, has identity rotations; bone lengths are kept.
    _, rest_in_new = change_rest_pose(sk, rest, rest)
    torch.testing.assert_close(rest_in_new, torch.eye(3, dtype=F64).expand(12, 3, 3))
    torch.testing.assert_close(new_sk.bone_lengths(), sk.bone_lengths())
    new_rest_positions = forward_kinematics(new_sk, torch.eye(3, dtype=F64).expand(12, 3, 3))[0]
    torch.testing.assert_close(new_rest_positions, forward_kinematics(sk, rest)[0])


def test_change_rest_pose_to_identity_changes_nothing():
    sk = random_tree(6, seed=10)
    R = random_rotations(3, 6, generator=torch.Generator().manual_seed(11), dtype=F64)
    new_sk, new_R = change_rest_pose(sk, R, torch.eye(3, dtype=F64).expand(6, 3, 3))
    torch.testing.assert_close(new_sk.offsets, sk.offsets)
    torch.testing.assert_close(new_R, R)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda sk: forward_kinematics(sk, torch.eye(3).expand(5, 3, 3)), "rotations"),
        (lambda sk: forward_kinematics(sk, torch.eye(3).expand(4, 3, 3)[..., :2]), "rotations"),
        (lambda sk: forward_kinematics(sk, torch.eye(3).expand(4, 3, 3), torch.zeros(2)), "root_translation"),
        (lambda sk: forward_kinematics(sk, torch.eye(3).expand(4, 3, 3), None, torch.zeros(3, 3)), "translations"),
        (lambda sk: change_rest_pose(sk, torch.eye(3).expand(4, 3, 3), torch.eye(3).expand(3, 3, 3)), "rest_rotations"),
    ],
)
def test_bad_shapes_raise(call, name):
    with pytest.raises(ValidationError, match=name):
        call(random_tree(4, seed=12, end_sites=0))
