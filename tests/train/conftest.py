"""Tiny synthetic data for the training tests: correlated rotations of a 3-joint chain, and a prepared folder."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import roma
import torch

from poseprior.data.cache import TakePoses, begin_prepare, write_prepared
from poseprior.data.protocol import BANDAI_V1
from poseprior.skeleton import Skeleton

PARENTS = (-1, 0, 1)


def chain_rotations(n: int, seed: int, joints: int = 3) -> torch.Tensor:
    """``(n, joints, 3, 3)`` rotations whose rotation vectors are correlated Gaussians (something to learn)."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(n, joints, 3, generator=g) * torch.tensor([0.3, 0.5, 0.2])
    v[:, 1:] += 0.6 * v[:, :-1]
    return roma.rotvec_to_rotmat(v)


def tiny_prepared(out: Path, sizes: dict[str, int]) -> Path:
    """A prepared folder (the format of ``poseprior data prepare``) of a 4-joint skeleton: root ``Hips`` and a
    3-joint chain, one take per split with ``sizes[split]`` poses."""
    sk = Skeleton(
        ("Hips", "A", "B", "C"), (-1, 0, 1, 2), torch.tensor([[0.0, 0, 0], [0, 10, 0], [0, 10, 0], [0, 10, 0]])
    )
    takes = {}
    for i, (split, n) in enumerate(sizes.items()):
        g = torch.Generator().manual_seed(100 + i)
        poses = {
            "rotations": chain_rotations(n, i),
            "root_rotation": roma.random_rotmat(n, generator=g),
            "root_position": torch.randn(n, 3, generator=g) * 10,
            "frame": torch.arange(n) * 3,
        }
        takes[split] = [TakePoses.from_skeleton(f"{split}.bvh", f"test:{split}", poses, 3 * n, 30.0, sk)]
    root = begin_prepare(out)
    write_prepared(
        root, takes, dataset="test", protocol=BANDAI_V1, unit=10.0, source={"path": "x"}, started=time.perf_counter()
    )
    return root


@pytest.fixture(scope="session")
def prepared_tiny(tmp_path_factory) -> Path:
    return tiny_prepared(tmp_path_factory.mktemp("prepared") / "tiny", {"train": 600, "val": 200, "test": 50})
