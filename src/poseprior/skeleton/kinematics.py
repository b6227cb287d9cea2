"""Forward kinematics and changes of rest pose, batched and differentiable in torch.

Convention: local rotations compose parent to child, ``R_global[j] = R_global[parent[j]] @ R_local[j]`` and
``p[j] = p[parent[j]] + R_global[parent[j]] @ t[j]``, where ``t[j]`` is the joint's local translation (its
rest offset, or an animated translation where the file has one) and the root is placed at
``root_translation`` (or its offset when none is given).
"""

from __future__ import annotations

import torch

from poseprior.errors import ValidationError
from poseprior.skeleton.skeleton import Skeleton

__all__ = ["forward_kinematics", "posed_joints", "pelvis_keypoints", "end_site_positions", "change_rest_pose"]


def _levels(skeleton: Skeleton) -> list[list[int]]:
    depths = skeleton.depths()
    levels: list[list[int]] = [[] for _ in range(max(depths) + 1)]
    for j, d in enumerate(depths):
        levels[d].append(j)
    return levels


def forward_kinematics(
    skeleton: Skeleton,
    rotations: torch.Tensor,
    root_translation: torch.Tensor | None = None,
    translations: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Global joint positions and rotations from local rotations.

    Args:
        skeleton: the tree and rest offsets (``K`` joints).
        rotations: ``(..., K, 3, 3)`` local joint rotations.
        root_translation: ``(..., 3)`` position of the root joint, in the skeleton's length unit; defaults
            to the root's rest offset.
        translations: optional ``(..., K, 3)`` animated local translations replacing the rest offsets (BVH
            files whose joints carry position channels); row 0 is ignored when ``root_translation`` is given.

    Returns:
        ``positions (..., K, 3)`` and ``global_rotations (..., K, 3, 3)``, in the dtype and device of
        ``rotations``. The joints are processed one tree level at a time, so the cost grows with the
        tree's depth, not with ``K``.

    Example:
        >>> from poseprior.skeleton import Skeleton
        >>> sk = Skeleton(("a", "b"), (-1, 0), torch.tensor([[0., 0, 0], [1, 0, 0]]))
        >>> R = torch.eye(3).expand(2, 3, 3)
        >>> forward_kinematics(sk, R)[0].tolist()
        [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    K = skeleton.num_joints
    if rotations.ndim < 3 or rotations.shape[-3:] != (K, 3, 3):
        raise ValidationError(
            f"rotations: expected shape (..., {K}, 3, 3) for this {K}-joint skeleton, got {tuple(rotations.shape)}"
        )
    batch = rotations.shape[:-3]
    offsets = skeleton.offsets.to(device=rotations.device, dtype=rotations.dtype)
    if translations is not None and (translations.ndim < 2 or translations.shape[-2:] != (K, 3)):
        raise ValidationError(f"translations: expected shape (..., {K}, 3), got {tuple(translations.shape)}")
    if root_translation is not None and (root_translation.ndim < 1 or root_translation.shape[-1] != 3):
        raise ValidationError(f"root_translation: expected shape (..., 3), got {tuple(root_translation.shape)}")
    try:
        if translations is not None:
            batch = torch.broadcast_shapes(batch, translations.shape[:-2])
        if root_translation is not None:
            batch = torch.broadcast_shapes(batch, root_translation.shape[:-1])
    except RuntimeError:
        raise ValidationError(
            f"rotations {tuple(rotations.shape)}, root_translation "
            f"{None if root_translation is None else tuple(root_translation.shape)} and translations "
            f"{None if translations is None else tuple(translations.shape)} have batch dimensions that do not broadcast"
        ) from None
    rotations = rotations.expand(*batch, K, 3, 3)
    local_t = offsets if translations is None else translations.to(rotations.dtype)
    local_t = local_t.expand(*batch, K, 3)
    root_p = local_t[..., 0, :] if root_translation is None else root_translation.to(rotations.dtype).expand(*batch, 3)

    levels = _levels(skeleton)
    # Per level: global rotations and positions of that level's joints, stacked on dim -3 / -2.
    level_R = [rotations[..., levels[0], :, :]]
    level_p = [root_p.unsqueeze(-2)]
    position_in_level = {j: (0, i) for i, j in enumerate(levels[0])}
    for d in range(1, len(levels)):
        joints = levels[d]
        parent_slots = [position_in_level[skeleton.parents[j]][1] for j in joints]
        parent_R = level_R[d - 1][..., parent_slots, :, :]
        parent_p = level_p[d - 1][..., parent_slots, :]
        level_R.append(parent_R @ rotations[..., joints, :, :])
        level_p.append(parent_p + (parent_R @ local_t[..., joints, :].unsqueeze(-1)).squeeze(-1))
        position_in_level.update({j: (d, i) for i, j in enumerate(joints)})
    order = [j for level in levels for j in level]
    inverse = torch.empty(K, dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(K)
    inverse = inverse.to(rotations.device)
    global_R = torch.cat(level_R, dim=-3).index_select(-3, inverse)
    positions = torch.cat(level_p, dim=-2).index_select(-2, inverse)
    return positions, global_R


def posed_joints(
    skeleton: Skeleton,
    pose: torch.Tensor,
    root_rotation: torch.Tensor | None = None,
    root_translation: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`forward_kinematics` of a pose given apart from its root: the models' pose is the local rotations
    ``pose (..., K - 1, 3, 3)`` of joints ``1 .. K - 1``, the root (joint 0) is placed by ``root_rotation
    (..., 3, 3)`` (default identity: the pelvis frame) and ``root_translation (..., 3)`` (default the origin).

    Returns:
        ``positions (..., K, 3)`` (skeleton unit) and ``global_rotations (..., K, 3, 3)``.

    Example:
        >>> from poseprior.skeleton import Skeleton
        >>> sk = Skeleton(("a", "b"), (-1, 0), torch.tensor([[5., 0, 0], [1, 0, 0]]))
        >>> posed_joints(sk, torch.eye(3).expand(1, 1, 3, 3))[0].tolist()  # the root at the origin
        [[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]]
    """
    batch = pose.shape[:-3]
    if root_rotation is None:
        root = torch.eye(3, dtype=pose.dtype, device=pose.device).expand(*batch, 1, 3, 3)
    else:
        batch = torch.broadcast_shapes(batch, root_rotation.shape[:-2])
        root = root_rotation.to(pose).unsqueeze(-3).expand(*batch, 1, 3, 3)
    rotations = torch.cat([root, pose.expand(*batch, *pose.shape[-3:])], dim=-3)
    translation = pose.new_zeros(*batch, 3) if root_translation is None else root_translation
    return forward_kinematics(skeleton, rotations, translation)


def pelvis_keypoints(skeleton: Skeleton, pose: torch.Tensor) -> torch.Tensor:
    """Pelvis-frame joint positions ``(..., K, 3)`` of ``pose (..., K - 1, 3, 3)``: :func:`posed_joints` with the
    root unrotated at the origin."""
    return posed_joints(skeleton, pose)[0]


def end_site_positions(skeleton: Skeleton, positions: torch.Tensor, global_rotations: torch.Tensor) -> torch.Tensor:
    """``(..., E, 3)`` positions of the skeleton's end sites from the output of :func:`forward_kinematics`."""
    if not skeleton.end_site_parents:
        return positions.new_zeros(*positions.shape[:-2], 0, 3)
    idx = list(skeleton.end_site_parents)
    offs = skeleton.end_site_offsets.to(device=positions.device, dtype=positions.dtype)
    return positions[..., idx, :] + (global_rotations[..., idx, :, :] @ offs.unsqueeze(-1)).squeeze(-1)


def change_rest_pose(
    skeleton: Skeleton, rotations: torch.Tensor, rest_rotations: torch.Tensor
) -> tuple[Skeleton, torch.Tensor]:
    """Re-express local rotations against a new rest pose, keeping every joint's position unchanged.

    The new rest pose is the pose the old skeleton takes with local rotations ``rest_rotations`` ``(K, 3, 3)``
    (for example a T-pose frame). With ``Q[j]`` the global rotation of joint ``j`` in that pose, the new
    offsets are ``Q[parent] @ offset[j]`` and the new local rotations ``Q[parent] @ R[j] @ Q[j]^T``, so the
    new rest pose has identity rotations everywhere, and global rotations become ``R_global @ Q^T``. Since
    the map is a left and right multiplication by fixed rotations it preserves the Haar measure:
    log-likelihoods on SO(3)^K do not change.

    Args:
        skeleton: the current skeleton.
        rotations: ``(..., K, 3, 3)`` local rotations against the current rest pose.
        rest_rotations: ``(K, 3, 3)`` local rotations, against the current rest pose, of the new rest pose.

    Returns:
        The new skeleton and the ``(..., K, 3, 3)`` rotations against it.
    """
    K = skeleton.num_joints
    if rest_rotations.shape != (K, 3, 3):
        raise ValidationError(f"rest_rotations: expected shape ({K}, 3, 3), got {tuple(rest_rotations.shape)}")
    _, Q = forward_kinematics(skeleton, rest_rotations.to(torch.float64))
    parent_Q = torch.stack([Q[p] if p >= 0 else torch.eye(3, dtype=Q.dtype) for p in skeleton.parents])
    new_offsets = (parent_Q @ skeleton.offsets.unsqueeze(-1)).squeeze(-1)
    new_offsets[0] = skeleton.offsets[0]
    end_Q = Q[list(skeleton.end_site_parents)] if skeleton.end_site_parents else Q[:0]
    new_ends = (end_Q @ skeleton.end_site_offsets.unsqueeze(-1)).squeeze(-1)
    new_skeleton = Skeleton(skeleton.joint_names, skeleton.parents, new_offsets, skeleton.end_site_parents, new_ends)
    pQ = parent_Q.to(device=rotations.device, dtype=rotations.dtype)
    jQ = Q.to(device=rotations.device, dtype=rotations.dtype)
    return new_skeleton, pQ @ rotations @ jQ.transpose(-1, -2)
