"""Inverse kinematics with uncertainty: joint rotations from keypoints, with a conditional flow.

:func:`solve_ik` gives, per frame, the most likely pose among sampled candidates (the *mode*), ``N``
hypotheses drawn from ``p(R | keypoints)`` with their exact log-densities, and their forward kinematics.
Keypoints come as a :class:`~poseprior.io.Keypoints` (joints matched to the model's by name, lengths converted
to the model's unit, 2D pixels with the file's ``camera``) or as a tensor in the model's joint order and unit.

Example:
    >>> model = poseprior.load("flow-ik-bandai")  # doctest: +SKIP
    >>> result = solve_ik(model, read_keypoints_npz("walk_keypoints.npz"), hypotheses=10)  # doctest: +SKIP
    >>> result.rotations.shape, result.hypotheses.shape  # doctest: +SKIP
    (torch.Size([120, 20, 3, 3]), torch.Size([120, 10, 20, 3, 3]))
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

import numpy as np
import roma
import torch

from poseprior.errors import ValidationError
from poseprior.io import Keypoints, Motion
from poseprior.models.flow.conditional import ConditionalFlowPrior, pick_best
from poseprior.retarget import map_point_names
from poseprior.skeleton import Skeleton
from poseprior.skeleton.smpl import POSE_JOINTS

__all__ = ["IKResult", "solve_ik", "keypoints_for_model"]

# Samples drawn at once (frames x candidates): bounds memory to a few hundred MB.
_SAMPLES_PER_CHUNK = 20_000


@dataclass(frozen=True, eq=False)
class IKResult:
    """Inverse kinematics of ``T`` frames with ``N`` hypotheses, on the model's ``J = K + 1``-joint skeleton.

    Attributes:
        rotations: ``(T, K, 3, 3)`` the mode: per frame the most likely of the candidates (the flow's
            base-mode pose and the samples; see :meth:`ConditionalFlowPrior.mode`).
        log_prob: ``(T,)`` its log-density (nats, normalized Haar measure on SO(3)^K).
        hypotheses: ``(T, N, K, 3, 3)`` independent samples from ``p(R | keypoints)``.
        hypotheses_log_prob: ``(T, N)`` their log-densities.
        positions: ``(T, J, 3)`` pelvis-frame joint positions of the mode (root at the origin, identity root
            rotation), in the skeleton's unit.
        hypotheses_positions: ``(T, N, J, 3)`` the same for the hypotheses.
        skeleton: the model's skeleton (root, then the ``K`` pose joints).
        unit_mm: millimetres per length unit of ``skeleton`` and the positions.
    """

    rotations: torch.Tensor
    log_prob: torch.Tensor
    hypotheses: torch.Tensor
    hypotheses_log_prob: torch.Tensor
    positions: torch.Tensor
    hypotheses_positions: torch.Tensor
    skeleton: Skeleton
    unit_mm: float

    def to_motion(self, fps: float) -> Motion:
        """The mode as a :class:`~poseprior.io.Motion` of the skeleton, identity root rotation, root at the origin."""
        T = self.rotations.shape[0]
        R = self.rotations.detach().cpu().double()
        root = torch.eye(3, dtype=R.dtype).expand(T, 1, 3, 3)
        # Re-orthonormalise float32 samples so the Motion's rotation check holds in float64.
        R = roma.special_procrustes(R)
        return Motion(
            self.skeleton,
            torch.cat([root, R], dim=1),
            torch.zeros(T, 3, dtype=R.dtype),
            fps,
            self.unit_mm,
            metadata={"source": "poseprior ik"},
        )


def keypoints_for_model(
    model: ConditionalFlowPrior, keypoints: Keypoints
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(positions (T, J, D), mask (T, J), camera)`` of ``keypoints`` in the model's joint order and unit.

    Joints are matched by name; extra joints are ignored. A missing joint is an error, except the root for
    3D keypoints (it is the origin of the pelvis frame by definition). 3D lengths are converted from the
    file's unit to the model's; 2D keypoints are pixels and need the camera intrinsics.
    """
    names = model.skeleton.joint_names
    is_3d = keypoints.dims == 3
    keypoints = _named_like(keypoints, names)
    missing = [n for n in names if n not in keypoints.joint_names and not (is_3d and n == names[0])]
    if missing:
        raise ValidationError(
            f"keypoints: joints {missing} of the model are missing; the keypoints have "
            f"{', '.join(keypoints.joint_names)} (mark unseen joints with NaN and a False mask instead)"
        )
    if not is_3d and keypoints.camera is None:
        raise ValidationError(
            "camera: 2D keypoints are pixels and need the camera intrinsics (a 'camera' (3, 3) array); for "
            "orthographic pelvis-frame x, y, pass a (T, J, 2) tensor in the model's unit to solve_ik"
        )
    T, D = keypoints.num_frames, keypoints.dims
    positions = torch.zeros(T, len(names), D, dtype=torch.float64)
    mask = torch.ones(T, len(names), dtype=torch.bool)
    visible = torch.from_numpy(keypoints.visible)
    scale = keypoints.unit / model.unit_mm if is_3d else 1.0
    for j, name in enumerate(names):
        if name in keypoints.joint_names:
            i = keypoints.joint_names.index(name)
            positions[:, j] = torch.from_numpy(keypoints.positions[:, i]) * scale
            mask[:, j] = visible[:, i]
    camera = None if is_3d else torch.from_numpy(keypoints.camera)
    return positions, mask, camera


def _named_like(keypoints: Keypoints, names: tuple[str, ...]) -> Keypoints:
    """Keypoints named after another rig's joints renamed to the canonical joints ``names`` they stand for
    (:func:`~poseprior.retarget.map_point_names`); the joints they do not give are hidden (NaN, masked)."""
    if set(names) <= set(keypoints.joint_names) or not set(names) <= {"pelvis", *POSE_JOINTS}:
        return keypoints
    found = map_point_names(keypoints.joint_names)
    kept = [n for n in names if n in found]
    if len(kept) < 4:
        return keypoints
    index = [found[n] for n in kept]
    absent = [n for n in names if n not in found]
    shape = (keypoints.num_frames, len(absent), keypoints.dims)
    positions = np.concatenate([keypoints.positions[:, index], np.full(shape, np.nan)], axis=1)
    visible = np.concatenate([keypoints.visible[:, index], np.zeros(shape[:2], dtype=bool)], axis=1)
    confidence = (
        None
        if keypoints.confidence is None
        else np.concatenate([keypoints.confidence[:, index], np.zeros(shape[:2])], axis=1)
    )
    return replace(
        keypoints, positions=positions, joint_names=tuple(kept) + tuple(absent), mask=visible, confidence=confidence
    )


@torch.no_grad()
def solve_ik(
    model: ConditionalFlowPrior,
    keypoints: torch.Tensor | Keypoints,
    mask: torch.Tensor | None = None,
    hypotheses: int = 10,
    *,
    candidates: int = 100,
    camera: torch.Tensor | None = None,
    temperature: float = 1.0,
    seed: int | None = None,
) -> IKResult:
    """Joint rotations, with uncertainty, that explain ``keypoints``.

    Args:
        model: a conditional flow (e.g. ``poseprior.load("flow-ik-bandai")``).
        keypoints: a :class:`~poseprior.io.Keypoints` (matched by joint name; its mask, unit and camera are
            used), or a tensor ``(T, J, 3)`` of pelvis-frame 3D keypoints, ``(T, J, 2)`` orthographic 2D
            keypoints, or ``(T, J, 2)`` pixels with ``camera``, in the order of ``model.skeleton`` (root
            first) and the model's unit.
        mask: for a tensor, ``(T, J)`` (or ``(T, J, 3)`` per coordinate for 3D), True where visible; hidden
            values may be NaN. A :class:`Keypoints` carries its own mask.
        hypotheses: ``N``, samples per frame returned.
        candidates: samples per frame scored to pick the mode, besides the flow's base-mode pose (at least
            ``hypotheses`` are drawn; the hypotheses are among them).
        camera: ``(3, 3)`` or ``(T, 3, 3)`` intrinsics for a pixel tensor.
        temperature: scale of the base noise of the samples (1: exact samples of ``p(R | keypoints)``; below
            1, more likely and less diverse ones, as in Glow; their log-densities stay the model's).
        seed: seed of the sampling (the global random state is left unchanged); None draws fresh samples.

    Returns:
        An :class:`IKResult`, tensors on the model's device.
    """
    if not isinstance(model, ConditionalFlowPrior):
        raise ValidationError(
            f"model: expected a ConditionalFlowPrior (an IK model such as flow-ik-bandai), got {type(model).__name__}"
        )
    for name, value in (("hypotheses", hypotheses), ("candidates", candidates)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(f"{name}: expected a positive integer, got {value!r}")
    if isinstance(keypoints, Keypoints):
        if mask is not None or camera is not None:
            raise ValidationError(
                "mask, camera: a Keypoints object carries its own mask and camera; leave these as None"
            )
        keypoints, mask, camera = keypoints_for_model(model, keypoints)
    elif not isinstance(keypoints, torch.Tensor) or keypoints.ndim != 3:
        shape = tuple(keypoints.shape) if isinstance(keypoints, torch.Tensor) else type(keypoints).__name__
        raise ValidationError(f"keypoints: expected a Keypoints or a (T, J, 3) / (T, J, 2) tensor, got {shape}")
    device, dtype = model.flow.loc.device, model.flow.loc.dtype
    keypoints = keypoints.to(device, dtype)
    T = keypoints.shape[0]
    if mask is not None:
        mask = torch.as_tensor(mask, device=device)
        if mask.shape not in (keypoints.shape[:-1], keypoints.shape):
            raise ValidationError(
                f"mask: expected shape {tuple(keypoints.shape[:-1])} (or {tuple(keypoints.shape)} per coordinate), got {tuple(mask.shape)}"
            )
    if camera is not None:
        camera = torch.as_tensor(camera, device=device, dtype=dtype)
        if camera.shape not in ((3, 3), (T, 3, 3)):
            raise ValidationError(f"camera: expected shape (3, 3) or ({T}, 3, 3), got {tuple(camera.shape)}")
    model.observe(keypoints, mask, camera)  # validate everything before sampling anything

    draws = max(candidates, hypotheses)
    chunk = max(1, _SAMPLES_PER_CHUNK // draws)
    parts: list[tuple[torch.Tensor, ...]] = []
    with _seeded(seed, device):
        for start in range(0, T, chunk):
            sl = slice(start, start + chunk)
            m = None if mask is None else mask[sl]
            c = None if camera is None or camera.ndim == 2 else camera[sl]
            R, logp = model.sample_with_log_prob(draws, keypoints[sl], m, camera if c is None else c, temperature)
            R0, logp0 = model.base_mode(keypoints[sl], m, camera if c is None else c)
            best, best_logp = pick_best(torch.cat([R0.unsqueeze(0), R]), torch.cat([logp0.unsqueeze(0), logp]))
            parts.append((best, best_logp, R[:hypotheses].transpose(0, 1), logp[:hypotheses].transpose(0, 1)))
    mode, mode_logp, hyp, hyp_logp = (torch.cat(p) for p in zip(*parts, strict=False))
    return IKResult(
        rotations=mode,
        log_prob=mode_logp,
        hypotheses=hyp,
        hypotheses_log_prob=hyp_logp,
        positions=model.keypoints(mode),
        hypotheses_positions=model.keypoints(hyp),
        skeleton=model.skeleton,
        unit_mm=model.unit_mm,
    )


@contextlib.contextmanager
def _seeded(seed: int | None, device: torch.device):
    """Seed torch's generator for the block (zuko samples from it) and restore its state afterwards."""
    if seed is None:
        yield
        return
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
