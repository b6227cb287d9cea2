"""Shared fixtures: where the real data beside the project lives."""

from __future__ import annotations

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
