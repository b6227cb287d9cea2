"""Property tests: a damaged BVH file either parses or raises FormatError with a line; random motions
round-trip through the writer."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poseprior.errors import FormatError
from poseprior.geometry import random_rotations
from poseprior.io import Motion
from poseprior.io.bvh import format_bvh, parse_bvh
from poseprior.skeleton import Skeleton

SMALL = """HIERARCHY
ROOT hips
{
  OFFSET 0 90 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 20 0
    }
  }
  JOINT leg
  {
    OFFSET 10 0 0
    CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
1 90 2 10 20 30 5 -10 15 10 1 0 45 30 -60
2 91 3 11 21 31 6 -11 16 11 2 1 46 31 -61
"""

KEYWORDS = [
    "HIERARCHY",
    "ROOT",
    "JOINT",
    "End",
    "Site",
    "OFFSET",
    "CHANNELS",
    "MOTION",
    "Frames:",
    "Frame",
    "Time:",
    "{",
    "}",
]
TOKENS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        KEYWORDS + ["Xrotation", "Zposition", "nan", "-inf", "1e309", "1e300", "-1.7e308", "0", "-1", "7", "1e-320"]
    ),
    st.integers(-10, 10).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def damaged(draw) -> str:
    lines = SMALL.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "token", "insert", "truncate"]))
        i = draw(st.integers(0, len(lines) - 1))
        if kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "token":
            words = lines[i].split()
            if words:
                words[draw(st.integers(0, len(words) - 1))] = draw(TOKENS)
                lines[i] = " ".join(words)
        elif kind == "insert":
            lines.insert(i, " ".join(draw(st.lists(TOKENS, max_size=4))))
        else:
            text = "\n".join(lines)
            lines = text[: draw(st.integers(0, len(text)))].split("\n")
    return "\n".join(lines)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_text_parses_or_raises_format_error(text):
    try:
        m = parse_bvh(text, source="fuzz.bvh")
    except FormatError as e:
        assert e.path == "fuzz.bvh"
        assert e.line is not None and 1 <= e.line <= text.count("\n") + 2, str(e)
    else:
        assert isinstance(m, Motion)
        assert torch.isfinite(m.rotations).all() and torch.isfinite(m.root_translation).all()
        assert m.rotations.shape == (m.num_frames, m.skeleton.num_joints, 3, 3)
        assert math.isfinite(m.fps) and m.fps > 0


@st.composite
def motions(draw) -> Motion:
    """A random tree with a random channel layout per joint (any rotation order, optional positions)."""
    K = draw(st.integers(1, 6))
    T = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    parents = [-1] + [draw(st.integers(0, j - 1)) for j in range(1, K)]
    offsets = torch.randn(K, 3, generator=g, dtype=torch.float64) * 10
    ends = [j for j in range(K) if draw(st.booleans())]
    end_offsets = torch.randn(len(ends), 3, generator=g, dtype=torch.float64)
    sk = Skeleton(tuple(f"j{j}" for j in range(K)), tuple(parents), offsets, tuple(ends), end_offsets)
    orders = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]
    layout, moving = [], []
    for j in range(K):
        rot = [f"{a}rotation" for a in draw(st.sampled_from(orders))]
        pos = ["Xposition", "Yposition", "Zposition"] if (j == 0 or draw(st.booleans())) else []
        chans = pos + rot if draw(st.booleans()) else rot + pos
        layout.append(chans)
        moving.append(bool(pos) and j > 0)
    translations = offsets.expand(T, K, 3).clone()
    translations[:, moving] += torch.randn(T, sum(moving), 3, generator=g, dtype=torch.float64)
    root = torch.randn(T, 3, generator=g, dtype=torch.float64) * 50
    R = random_rotations(T, K, generator=g, dtype=torch.float64)
    fps = draw(st.sampled_from([24.0, 30.0, 29.97, 120.0, 7.5]))
    translations = translations if any(moving) else None
    return Motion(sk, R, root, fps, unit="cm", translations=translations, metadata={"bvh_channels": layout})


@settings(max_examples=60, deadline=None)
@given(motions())
def test_random_motions_round_trip(m):
    text = format_bvh(m, precision=10)
    back = parse_bvh(text)
    order = [m.joint_names.index(n) for n in back.joint_names]  # the file is depth-first
    assert sorted(order) == list(range(m.skeleton.num_joints))
    assert back.metadata["bvh_channels"] == [m.metadata["bvh_channels"][j] for j in order]
    assert (back.rotations - m.rotations[:, order]).abs().max() <= 1e-9
    assert (back.positions() - m.positions()[:, order]).abs().max() <= 1e-7
    assert back.fps == pytest.approx(m.fps, rel=1e-9)
    assert format_bvh(back, precision=10) == text
