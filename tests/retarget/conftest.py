"""Motions on the rigs of the shared data, cut short so that the retargeting tests stay fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from poseprior.io import Motion, read_motion

#: A take of each rig in the shared data: path relative to ``../shared/data`` (``zip:member`` inside archives).
RIGS = {
    "bandai": "bandai-namco/bandai-namco-motion-1.zip:data/dataset-1_walk_active_001.bvh",
    "motionbuilder": "cmu/01_01.bvh",
    "asf": "cmu/01_01.amc",
    "3dsmax": "crosslab/crosslab-dev.zip:cmu-max/131_02.bvh",
    "reallusion": "crosslab/crosslab-dev.zip:cmu-cc3/005_04.bvh",
    "reallusion_zup": "crosslab/crosslab-dev.zip:cmu-cc3/007_01.bvh",
    "blender": "crosslab/crosslab-dev.zip:reactidle/001_acted.bvh",
}


def read_rig(shared_data: Path, name: str, frames: int = 600) -> Motion:
    """The first ``frames`` frames of rig ``name``'s take (every 2nd frame of the 120 fps CMU ones)."""
    motion = read_motion(f"{shared_data}/{RIGS[name]}")
    step = 2 if motion.fps > 100 else 1
    return motion.frames(slice(0, frames * step, step))


@pytest.fixture(scope="session")
def rig_motions(shared_data: Path) -> dict[str, Motion]:
    return {name: read_rig(shared_data, name) for name in RIGS}
