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
def bandai_rig(bandai_dir: Path):
    """The Bandai Namco rig calibrated as ``poseprior data prepare bandai`` calibrates it (on the train split)."""
    from poseprior.data.bandai import reference_rig

    return reference_rig(bandai_dir)


@pytest.fixture(scope="session")
def bandai_first_test_takes(bandai_dir: Path, bandai_rig) -> dict[str, torch.Tensor]:
    """The first 1000 poses of the bandai-v1 test split, straight from the zips: ``rotations (1000, 20, 3, 3)``
    and the root's global ``root_rotation (1000, 3, 3)``; the takes in splits.json order, every 3rd frame,
    retargeted by the calibrated rig (the same tensors as ``load_prepared(...).splits["test"]``'s first 1000;
    this way tests need no prepared folder)."""
    from poseprior.data import BANDAI_V1, extract_poses
    from poseprior.io import Archive, parse_bvh

    names = json.loads((bandai_dir / "splits.json").read_text())["test"]
    parts, have = [], 0
    with Archive(bandai_dir / "bandai-namco-motion-1.zip") as archive:
        for name in names:
            motion = parse_bvh(archive.read_text(f"data/{name}"), source=name, unit="cm")
            parts.append(extract_poses(motion, BANDAI_V1, bandai_rig))
            have += parts[-1]["rotations"].shape[0]
            if have >= 1000:
                return {k: torch.cat([p[k] for p in parts])[:1000] for k in ("rotations", "root_rotation")}
    raise AssertionError("the first bandai-v1 test takes are expected in bandai-namco-motion-1.zip")


@pytest.fixture(scope="session")
def bandai_first_test_poses(bandai_first_test_takes: dict[str, torch.Tensor]) -> torch.Tensor:
    """The first 1000 poses ``(1000, 20, 3, 3)`` of the bandai-v1 test split (see ``bandai_first_test_takes``)."""
    return bandai_first_test_takes["rotations"]


@pytest.fixture(scope="session")
def h36m_3d_file(tmp_path_factory, bandai_first_test_takes) -> Path:
    """A ``data_3d_h36m.npz`` in VideoPose3D's exact format (``positions_3d``: pickled dict subject -> action ->
    ``(T, 32, 3)`` float32 metres, z up) holding the H36M-17 keypoints of bandai-v1 test poses: S1 (two
    actions, 250 frames), S5, S6, S7 (50 each), S8 (200) and S9 (100). The 15 static joints repeat the pelvis."""
    import numpy as np

    from poseprior import zoo
    from poseprior.data.lifting import layout_keypoints
    from poseprior.io.h36m import H36M32_TO_17

    skeleton = zoo.load("flow-ik-bandai").skeleton
    rotations, root = bandai_first_test_takes["rotations"][:700], bandai_first_test_takes["root_rotation"][:700]
    world_cm = layout_keypoints(skeleton, rotations, "h36m17") @ root.transpose(-1, -2) + torch.tensor([50.0, 90, -20])
    z_up_m = torch.stack([world_cm[..., 0], -world_cm[..., 2], world_cm[..., 1]], -1).numpy() / 100
    full = np.repeat(z_up_m[:, :1], 32, axis=1)
    full[:, list(H36M32_TO_17)] = z_up_m
    full = full.astype(np.float32)
    data = {
        "S1": {"Walking": full[:150], "Eating 2": full[150:250]},
        **{s: {"Walking": full[250 + 50 * i : 300 + 50 * i]} for i, s in enumerate(("S5", "S6", "S7"))},
        "S8": {"Walking": full[400:600]},
        "S9": {"Sitting": full[600:]},
    }
    path = tmp_path_factory.mktemp("h36m") / "data_3d_h36m.npz"
    np.savez_compressed(path, positions_3d=data)
    return path
