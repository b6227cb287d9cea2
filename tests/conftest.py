"""Shared fixtures: where the real data beside the project lives."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEPRIOR_SHARED", REPO.parent / "shared"))

# Tests work on small tensors, where a second thread costs more in synchronisation than it saves.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (override with ``POSEPRIOR_SHARED``); it is part of every CI checkout."""
    path = SHARED / "data"
    assert path.is_dir(), f"shared data folder not found at {path}; set POSEPRIOR_SHARED"
    return path


@pytest.fixture(scope="session")
def cmu_dir(shared_data: Path) -> Path:
    return shared_data / "cmu"


@pytest.fixture(scope="session")
def bandai_dir(shared_data: Path) -> Path:
    return shared_data / "bandai-namco"


@pytest.fixture(scope="session")
def bandai_first_test_takes(bandai_dir: Path) -> dict[str, torch.Tensor]:
    """The first 1000 poses of the bandai-v1 test split, straight from the zips: ``rotations (1000, 20, 3, 3)``
    and the root's global ``root_rotation (1000, 3, 3)``; the takes in splits.json order, every 3rd frame (the
    same tensors as ``load_prepared(...).splits["test"]``'s first 1000, checked equal when this was written;
    this way tests need no prepared folder)."""
    from poseprior.data import BANDAI_V1, extract_poses
    from poseprior.io import Archive, parse_bvh

    names = json.loads((bandai_dir / "splits.json").read_text())["test"]
    parts, have = [], 0
    with Archive(bandai_dir / "bandai-namco-motion-1.zip") as archive:
        for name in names:
            motion = parse_bvh(archive.read_text(f"data/{name}"), source=name, unit="cm")
            parts.append(extract_poses(motion, BANDAI_V1))
            have += parts[-1]["rotations"].shape[0]
            if have >= 1000:
                return {k: torch.cat([p[k] for p in parts])[:1000] for k in ("rotations", "root_rotation")}
    raise AssertionError("the first bandai-v1 test takes are expected in bandai-namco-motion-1.zip")


@pytest.fixture(scope="session")
def bandai_first_test_poses(bandai_first_test_takes: dict[str, torch.Tensor]) -> torch.Tensor:
    """The first 1000 poses ``(1000, 20, 3, 3)`` of the bandai-v1 test split (see ``bandai_first_test_takes``)."""
    return bandai_first_test_takes["rotations"]
