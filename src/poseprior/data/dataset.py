"""Reading a prepared folder: :func:`load_prepared` and the torch :class:`PoseDataset`.

Example:
    >>> train = PoseDataset("prepared/bandai-v1", "train")  # doctest: +SKIP
    >>> train[0].shape, train.rotations.shape  # doctest: +SKIP
    (torch.Size([20, 3, 3]), torch.Size([112945, 20, 3, 3]))
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from poseprior.data.cache import SKELETON_FILE, read_manifest, skeleton_from_json
from poseprior.data.protocol import PoseProtocol
from poseprior.errors import FormatError, ValidationError
from poseprior.skeleton import Skeleton

__all__ = ["PreparedSplit", "PreparedDataset", "load_prepared", "PoseDataset"]


@dataclass(frozen=True, eq=False)
class PreparedSplit:
    """One split of a prepared dataset: ``N`` poses of ``J`` joints from ``M`` takes.

    Attributes:
        rotations: ``(N, J, 3, 3)`` float32 local rotations of the pose joints.
        root_rotation: ``(N, 3, 3)`` float32 global rotation of the root joint.
        root_position: ``(N, 3)`` float32 global position of the root joint, in the dataset's unit.
        take: ``(N,)`` int64 index of each pose's take in ``take_names``.
        frame: ``(N,)`` int64 source frame of each pose in its take.
        take_names: ``M`` take names.
        take_frames: ``(M,)`` int64 source frames per take.
        take_offsets: ``(M, J + 1, 3)`` float64 each take's skeleton offsets (the actor's bone lengths).
        take_labels: label kind (``"content"``, ``"style"``, ``"dataset"``) -> ``M`` values.
    """

    rotations: torch.Tensor
    root_rotation: torch.Tensor
    root_position: torch.Tensor
    take: torch.Tensor
    frame: torch.Tensor
    take_names: list[str]
    take_frames: torch.Tensor
    take_offsets: torch.Tensor
    take_labels: dict[str, list[str]]

    def __len__(self) -> int:
        return self.rotations.shape[0]

    def labels(self, kind: str) -> list[str]:
        """Per pose, the label ``kind`` of its take."""
        if kind not in self.take_labels:
            raise ValidationError(f"kind: no label {kind!r} in this split; labels: {sorted(self.take_labels)}")
        values = self.take_labels[kind]
        return [values[i] for i in self.take.tolist()]


@dataclass(frozen=True, eq=False)
class PreparedDataset:
    """A prepared folder: protocol, canonical skeleton and the loaded splits.

    Attributes:
        root: the folder.
        manifest: the parsed ``prepared.json``.
        protocol: the pose protocol the poses were extracted with.
        skeleton: the canonical ``J + 1``-joint skeleton (root joint + pose joints), offsets averaged over
            the train takes, in ``unit``.
        joint_names: the ``J`` pose joints (``skeleton.joint_names[1:]``).
        fps: poses per second (``None`` when the takes have several rates).
        unit: millimetres per length unit (10 for the Bandai centimetres, 1000 for AMASS metres).
        splits: split name -> :class:`PreparedSplit`.
    """

    root: Path
    manifest: dict[str, Any]
    protocol: PoseProtocol
    skeleton: Skeleton
    joint_names: tuple[str, ...]
    fps: float | None
    unit: float
    splits: dict[str, PreparedSplit]

    def __getitem__(self, split: str) -> PreparedSplit:
        if split not in self.splits:
            raise ValidationError(f"split: {split!r} is not loaded from {self.root}; splits: {sorted(self.splits)}")
        return self.splits[split]


def load_prepared(root: str | Path, splits: Sequence[str] | None = None) -> PreparedDataset:
    """Load a prepared folder (all splits, or only ``splits``).

    Raises :class:`~poseprior.errors.FormatError` telling to re-run ``poseprior data prepare`` when the folder
    is incomplete (no valid manifest, a file missing or changed); :class:`ValidationError` for an unknown split.
    """
    root = Path(root)
    manifest = read_manifest(root)
    names = list(manifest["splits"]) if splits is None else list(splits)
    unknown = [s for s in names if s not in manifest["splits"]]
    if unknown:
        raise ValidationError(f"splits: {unknown} not in {root}; prepared splits: {list(manifest['splits'])}")
    loaded = {s: _load_split(root / manifest["splits"][s]["file"]) for s in names}
    return PreparedDataset(
        root=root,
        manifest=manifest,
        protocol=PoseProtocol.from_dict(manifest["protocol"]),
        skeleton=skeleton_from_json(root / SKELETON_FILE),
        joint_names=tuple(manifest["joint_names"]),
        fps=manifest["fps"],
        unit=float(manifest["unit"]),
        splits=loaded,
    )


def _load_split(path: Path) -> PreparedSplit:
    try:
        data = torch.load(path, weights_only=True)
        return PreparedSplit(**data)
    except (RuntimeError, TypeError, EOFError, OSError, pickle.UnpicklingError) as e:
        raise FormatError(path, f"unreadable prepared split ({e}); re-run `poseprior data prepare`") from None


class PoseDataset(Dataset):
    """One split of a prepared folder as a torch ``Dataset`` of poses.

    ``dataset[i]`` is the ``(J, 3, 3)`` rotations of pose ``i``; :attr:`rotations` is the whole
    ``(N, J, 3, 3)`` split for full-batch use, and :attr:`data` every per-pose field (root pose, take, frame).

    Args:
        root: a folder written by ``poseprior data prepare``.
        split: ``"train"``, ``"val"``, ``"test"`` (or any split the folder has).
        dtype: dtype of the returned rotations (stored as float32).
    """

    def __init__(self, root: str | Path, split: str = "train", dtype: torch.dtype = torch.float32):
        self.prepared = load_prepared(root, [split])
        self.split = split
        self.data = self.prepared.splits[split]
        self.rotations = self.data.rotations.to(dtype)

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.prepared.joint_names

    @property
    def skeleton(self) -> Skeleton:
        return self.prepared.skeleton

    def __len__(self) -> int:
        return self.rotations.shape[0]

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.rotations[index]

    def __repr__(self) -> str:
        where = f"{self.prepared.root}, split={self.split!r}"
        return f"PoseDataset({where}, {len(self)} poses of {len(self.joint_names)} joints)"
