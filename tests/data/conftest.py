"""Synthetic motions on the Bandai tree, for tests that need no BVH reader."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch

from poseprior.data.protocol import BANDAI_JOINTS, PoseProtocol
from poseprior.geometry import random_rotations
from poseprior.io import Motion
from poseprior.skeleton import Skeleton

_PARENTS = {
    "Hips": "joint_Root", "Spine": "Hips", "Chest": "Spine", "Neck": "Chest", "Head": "Neck",
    "Shoulder_L": "Chest", "UpperArm_L": "Shoulder_L", "LowerArm_L": "UpperArm_L", "Hand_L": "LowerArm_L",
    "Shoulder_R": "Chest", "UpperArm_R": "Shoulder_R", "LowerArm_R": "UpperArm_R", "Hand_R": "LowerArm_R",
    "UpperLeg_L": "Hips", "LowerLeg_L": "UpperLeg_L", "Foot_L": "LowerLeg_L", "Toes_L": "Foot_L",
    "UpperLeg_R": "Hips", "LowerLeg_R": "UpperLeg_R", "Foot_R": "LowerLeg_R", "Toes_R": "Foot_R",
}  # fmt: skip
NAMES = ("joint_Root", "Hips", *BANDAI_JOINTS)
#: bandai-v1's sampling on the files' own joints (no retargeting), for the cache machinery's tests.
RAW_BANDAI = PoseProtocol(name="bandai-raw", root="Hips", joints=BANDAI_JOINTS, stride=3, source_fps=30.0)


def bandai_like_motion(T: int, seed: int = 0, fps: float = 30.0) -> Motion:
    """A random ``T``-frame motion on the 22-joint Bandai tree, with animated translations like the BVH files."""
    g = torch.Generator().manual_seed(seed)
    parents = tuple(-1 if n == "joint_Root" else NAMES.index(_PARENTS[n]) for n in NAMES)
    offsets = torch.randn(len(NAMES), 3, generator=g, dtype=torch.float64) * 10
    sk = Skeleton(NAMES, parents, offsets)
    R = random_rotations(T, len(NAMES), generator=g, dtype=torch.float64)
    tr = offsets.expand(T, -1, -1).clone()
    tr[:, 1] += torch.randn(T, 3, generator=g, dtype=torch.float64) * 50
    return Motion(sk, R, torch.zeros(T, 3, dtype=torch.float64), fps, unit="cm", translations=tr)


@pytest.fixture
def make_motion():
    return bandai_like_motion


#: A few short takes of each split and each zip (about 400 kB of BVH).
MINI_SPLITS = {
    "train": ["dataset-1_dash_normal_001.bvh", "dataset-1_run_normal_001.bvh",
              "dataset-2_wave-left-hand_active_011.bvh", "dataset-2_raise-up-both-hands_active_022.bvh"],
    "val": ["dataset-1_dash_musical_001.bvh", "dataset-2_raise-up-both-hands_active_025.bvh"],
    "test": ["dataset-1_dash_chimpira_001.bvh", "dataset-2_raise-up-left-hand_active_020.bvh"],
}  # fmt: skip


def build_mini_bandai(bandai_dir: Path, out: Path, splits=MINI_SPLITS, edit=None) -> Path:
    """A Bandai-like source folder in ``out``: two small zips with the takes of ``splits`` copied from the real
    zips (BVH, label JSON, cfg), and its splits.json. ``edit(name, text) -> text`` may alter a BVH."""
    out.mkdir(parents=True, exist_ok=True)
    wanted = {n for names in splits.values() for n in names}
    for real in sorted(bandai_dir.glob("*.zip")):
        with zipfile.ZipFile(real) as src, zipfile.ZipFile(out / real.name, "w", zipfile.ZIP_DEFLATED) as dst:
            for member in src.namelist():
                stem = member.rsplit("/", 1)[-1]
                if member.startswith("cfg/") and member.endswith(".txt"):
                    dst.writestr(member, src.read(member))
                elif stem.endswith(".bvh") and stem in wanted:
                    text = src.read(member).decode()
                    dst.writestr(member, edit(stem, text) if edit else text)
                elif stem.endswith(".json") and stem[:-5] + ".bvh" in wanted:
                    dst.writestr(member, src.read(member))
    (out / "splits.json").write_text(json.dumps({"rule": "test subset", **splits}))
    return out


@pytest.fixture(scope="session")
def mini_bandai(bandai_dir, tmp_path_factory) -> Path:
    return build_mini_bandai(bandai_dir, tmp_path_factory.mktemp("mini-bandai"))
