"""Generated valid files round-trip through every writer and reader (issue 14): random trees, rotations,
root paths and frame rates, written as interchange npz, BVH and ASF/AMC, and random keypoints as a keypoints
npz, read back to the same joint positions (BVH's channel layouts are covered by
``tests/io/test_bvh_properties.py``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poseprior.geometry import random_rotations
from poseprior.io import (
    Keypoints,
    Motion,
    read_keypoints_npz,
    read_motion,
    write_keypoints_npz,
    write_motion,
)
from poseprior.skeleton import Skeleton

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@st.composite
def motions(draw) -> Motion:
    K, T = draw(st.integers(1, 7)), draw(st.integers(1, 5))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    parents = [-1] + [draw(st.integers(0, j - 1)) for j in range(1, K)]
    offsets = torch.randn(K, 3, generator=g, dtype=torch.float64) * 10
    offsets[1:] += torch.sign(offsets[1:])  # no zero-length bone: ASF needs a direction
    skeleton = Skeleton(tuple(f"j{j}" for j in range(K)), tuple(parents), offsets)
    R = random_rotations(T, K, generator=g, dtype=torch.float64)
    root = torch.randn(T, 3, generator=g, dtype=torch.float64) * 50
    fps = draw(st.sampled_from([24.0, 30.0, 60.0, 120.0, 7.5]))
    return Motion(skeleton, R, root, fps, unit=draw(st.sampled_from(["mm", "cm", "m"])))


@given(motions(), st.sampled_from([".npz", ".bvh", ".amc"]))
@SETTINGS
def test_motions_round_trip(m, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"take{suffix}"
        write_motion(m, path)
        back = read_motion(
            path, fps=m.fps if suffix == ".amc" else None
        )  # write_motion writes BVH in cm, as readers assume
    assert back.num_frames == m.num_frames and abs(back.fps - m.fps) <= 1e-8 * m.fps  # BVH writes 1 / fps to 10 digits
    # ASF names bones, not joints: a generic tree comes back with a bone per joint and a link bone per offset
    # (its root is "root", and each joint hangs from a "_link" bone)
    named = {m.skeleton.joint_names[0]: "root"} if suffix == ".amc" else {}
    common = [n for n in m.skeleton.joint_names if named.get(n, n) in back.skeleton.joint_names]
    assert len(common) == m.skeleton.num_joints
    mine = [m.skeleton.joint_names.index(n) for n in common]
    theirs = [back.skeleton.joint_names.index(named.get(n, n)) for n in common]
    torch.testing.assert_close(
        back.positions(millimetres=True)[:, theirs], m.positions(millimetres=True)[:, mine], atol=1e-3, rtol=1e-6
    )  # text: 6 decimals


@given(st.integers(1, 6), st.integers(1, 20), st.booleans(), st.integers(0, 2**31 - 1))
@SETTINGS
def test_keypoints_round_trip(T, J, three_d, seed):
    rng = np.random.default_rng(seed)
    positions = rng.normal(0, 500, (T, J, 3 if three_d else 2))
    mask = rng.random((T, J)) > 0.2
    kp = Keypoints(positions, tuple(f"k{j}" for j in range(J)), fps=30.0, unit="mm" if three_d else None, mask=mask)
    with tempfile.TemporaryDirectory() as folder:
        write_keypoints_npz(kp, Path(folder) / "kp.npz")
        back = read_keypoints_npz(Path(folder) / "kp.npz")
    assert back.joint_names == kp.joint_names and back.fps == kp.fps and back.dims == kp.dims
    np.testing.assert_array_equal(back.visible, kp.visible)
    np.testing.assert_allclose(back.positions[kp.visible], kp.positions[kp.visible])
