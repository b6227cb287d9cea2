"""Hostile input: files and arguments a careless or hostile user gives the command line (issue 14)."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def cmu_bvh_text(cmu_dir: Path) -> tuple[str, list[str]]:
    """CMU 01_01.bvh as its hierarchy text and its frame lines."""
    head, motion = (cmu_dir / "01_01.bvh").read_text().split("MOTION\n", 1)
    return head, [line for line in motion.splitlines()[2:] if line.strip()]


@pytest.fixture
def write_bvh_text(tmp_path: Path, cmu_bvh_text):
    """``write(name, frames=60, frame_time="0.0083333", edit=None, declared=None)``: a BVH of CMU's rig with the
    first ``frames`` frame lines of 01_01, ``edit(lines)`` applied to them."""
    head, lines = cmu_bvh_text

    def write(
        name: str, frames: int = 60, frame_time: str = "0.0083333", edit=None, declared: int | None = None
    ) -> Path:
        rows = list(lines[:frames])
        if edit is not None:
            edit(rows)
        path = tmp_path / name
        count = len(rows) if declared is None else declared
        path.write_text(head + "MOTION\n" + f"Frames: {count}\nFrame Time: {frame_time}\n" + "\n".join(rows) + "\n")
        return path

    return write


@pytest.fixture
def huge_npz(tmp_path: Path) -> Path:
    """An interchange npz whose every array's header declares 7.5 TiB (the data is a few bytes)."""
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100), }"
    header = header + b" " * (64 - (10 + len(header) + 1) % 64) + b"\n"
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\x00" * 64
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as z:
        for key in (
            "rotations",
            "joint_names",
            "parents",
            "offsets",
            "root_translation",
            "positions",
            "fps",
            "unit_mm",
        ):
            z.writestr(key + ".npy", blob)
    return path


@pytest.fixture
def keypoints_npz(tmp_path: Path):
    """``write(name, positions, names, unit="cm")``: a 3D keypoints npz at 120 fps."""

    def write(name: str, positions: np.ndarray, names: list[str], unit: str = "cm") -> Path:
        path = tmp_path / name
        np.savez(path, positions=positions, joint_names=np.array(names), fps=120.0, unit=unit)
        return path

    return write
