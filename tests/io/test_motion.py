"""The Motion container: validation, frames, units and resampling."""

from __future__ import annotations

import math

import pytest
import roma
import torch

from poseprior.errors import ValidationError
from poseprior.geometry import geodesic_distance, random_rotations
from poseprior.io import Motion
from poseprior.skeleton import Skeleton

F64 = torch.float64
K = 4


def skeleton() -> Skeleton:
    offsets = torch.tensor([[0.0, 90, 0], [10, 0, 0], [0, -40, 0], [0, -40, 0]])
    return Skeleton(("hips", "hip_l", "knee_l", "ankle_l"), (-1, 0, 1, 2), offsets, (3,), torch.tensor([[0.0, 0, 15]]))


def motion(T: int = 10, fps: float = 30.0, translations: bool = True, seed: int = 0, **kwargs) -> Motion:
    g = torch.Generator().manual_seed(seed)
    return Motion(
        skeleton(),
        random_rotations(T, K, generator=g, dtype=F64),
        torch.randn(T, 3, generator=g, dtype=F64) * 50,
        fps=fps,
        unit="cm",
        translations=torch.randn(T, K, 3, generator=g, dtype=F64) if translations else None,
        **kwargs,
    )


# ----------------------------------------------------------------------------------------------- validation
def test_valid_motion():
    m = motion(metadata={"source": "test"})
    assert len(m) == m.num_frames == 10 and m.unit == 10.0 and m.joint_names == skeleton().joint_names
    assert m.metadata == {"source": "test"}
    assert repr(m) == "Motion(10 frames at 30 fps, 4 joints, unit=cm)"
    assert Motion(skeleton(), torch.eye(3).expand(2, K, 3, 3), torch.zeros(2, 3), fps=30.0).unit == 10.0  # cm default


def replaced(**changes):
    m = motion()
    fields = dict(
        skeleton=m.skeleton,
        rotations=m.rotations,
        root_translation=m.root_translation,
        fps=m.fps,
        unit=m.unit,
        translations=m.translations,
    )
    fields.update(changes)
    return Motion(**fields)


def with_entry(x: torch.Tensor, index, value) -> torch.Tensor:
    x = x.clone()
    x[index] = value
    return x


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        (lambda m: dict(rotations=with_entry(m.rotations, (3, 1), 2 * m.rotations[3, 1])), "rotations"),  # scaled
        (lambda m: dict(rotations=with_entry(m.rotations, (3, 1), -m.rotations[3, 1])), "rotations"),  # det -1
        (lambda m: dict(rotations=with_entry(m.rotations, (3, 1, 0, 0), float("nan"))), "rotations"),
        (lambda m: dict(rotations=m.rotations[:, :3]), "rotations"),
        (lambda m: dict(rotations=m.rotations[0]), "rotations"),
        (lambda m: dict(root_translation=m.root_translation[:9]), "root_translation"),
        (lambda m: dict(root_translation=with_entry(m.root_translation, (2, 0), float("nan"))), "root_translation"),
        (lambda m: dict(translations=m.translations[:, :3]), "translations"),
        (lambda m: dict(translations=with_entry(m.translations, (2, 1, 0), float("inf"))), "translations"),
        (lambda m: dict(fps=0.0), "fps"),
        (lambda m: dict(fps=-30.0), "fps"),
        (lambda m: dict(fps=float("nan")), "fps"),
        (lambda m: dict(unit="furlong"), "unit"),
        (lambda m: dict(unit=-1.0), "unit"),
    ],
)
def test_invalid_motions_raise(changes, name):
    with pytest.raises(ValidationError, match=name):
        replaced(**changes(motion()))


# ------------------------------------------------------------------------------------------- frames, units
def test_frames():
    m = motion()
    part = m.frames(slice(2, 8, 2))
    assert part.num_frames == 3 and part.fps == 30.0  # a slice does not change fps
    assert torch.equal(part.rotations, m.rotations[2:8:2])
    assert torch.equal(part.root_translation, m.root_translation[[2, 4, 6]])
    assert torch.equal(part.translations, m.translations[[2, 4, 6]])
    picked = m.frames([9, 0])
    assert torch.equal(picked.rotations, m.rotations[[9, 0]])
    assert torch.equal(m.frames(torch.tensor([1, 1])).root_translation, m.root_translation[[1, 1]])
    assert motion(translations=False).frames(slice(0, 2)).translations is None


def test_with_unit():
    m = motion()
    mm = m.with_unit("mm")
    assert mm.unit == 1.0
    torch.testing.assert_close(mm.skeleton.offsets, m.skeleton.offsets * 10)
    torch.testing.assert_close(mm.skeleton.end_site_offsets, m.skeleton.end_site_offsets * 10)
    torch.testing.assert_close(mm.root_translation, m.root_translation * 10)
    torch.testing.assert_close(mm.translations, m.translations * 10)
    torch.testing.assert_close(mm.positions(), m.positions() * 10)
    # Millimetre positions do not depend on the unit the motion is stored in.
    for unit in ("m", "in", "asf", 2.5):
        torch.testing.assert_close(m.with_unit(unit).positions(millimetres=True), m.positions(millimetres=True))
    torch.testing.assert_close(m.positions(millimetres=True), m.positions() * 10)
    assert torch.equal(mm.rotations, m.rotations)
    with pytest.raises(ValidationError, match="unit"):
        m.with_unit("furlong")


# ---------------------------------------------------------------------------------------------- resampling
def test_resample_same_fps_is_identity():
    m = motion()
    same = m.resample(30)
    assert same.num_frames == 10 and same.fps == 30.0
    assert torch.equal(same.rotations, m.rotations)
    assert torch.equal(same.root_translation, m.root_translation)
    assert torch.equal(same.translations, m.translations)


def test_resample_30_to_10_picks_every_third_frame_exactly():
    m = motion(T=10)
    low = m.resample(10)
    assert low.num_frames == 4 and low.fps == 10.0  # frames 0, 3, 6, 9
    assert torch.equal(low.rotations, m.rotations[[0, 3, 6, 9]])
    assert torch.equal(low.root_translation, m.root_translation[[0, 3, 6, 9]])
    assert torch.equal(low.translations, m.translations[[0, 3, 6, 9]])
    assert motion(T=12).resample(10).num_frames == 4  # frames 10 and 11 have no output frame at 1/10 s steps


def test_resample_30_to_60_interpolates_midpoints_by_slerp():
    m = motion(T=5)
    high = m.resample(60)
    assert high.num_frames == 9 and high.fps == 60.0
    assert torch.equal(high.rotations[::2], m.rotations)  # the original frames stay exactly
    assert torch.equal(high.root_translation[::2], m.root_translation)
    q0, q1 = roma.rotmat_to_unitquat(m.rotations[:-1]), roma.rotmat_to_unitquat(m.rotations[1:])
    mid = roma.unitquat_to_rotmat(roma.unitquat_slerp(q0, q1, torch.tensor([0.5], dtype=F64), shortest_arc=True)[0])
    torch.testing.assert_close(high.rotations[1::2], mid)
    # The midpoint is halfway along the geodesic.
    half = geodesic_distance(m.rotations[:-1], m.rotations[1:]) / 2
    torch.testing.assert_close(geodesic_distance(m.rotations[:-1], high.rotations[1::2]), half)
    torch.testing.assert_close(geodesic_distance(high.rotations[1::2], m.rotations[1:]), half)
    torch.testing.assert_close(high.root_translation[1::2], (m.root_translation[:-1] + m.root_translation[1:]) / 2)
    torch.testing.assert_close(high.translations[1::2], (m.translations[:-1] + m.translations[1:]) / 2)


def test_resample_non_integer_ratio():
    m = motion(T=31, translations=False)  # one second at 30 fps
    r = m.resample(25)
    assert r.num_frames == 26 and r.translations is None
    # Output frame 1 is at t = 1/25 s = input frame 1.2: 20% of the way from frame 1 to frame 2.
    torch.testing.assert_close(r.root_translation[1], 0.8 * m.root_translation[1] + 0.2 * m.root_translation[2])
    total = geodesic_distance(m.rotations[1], m.rotations[2])
    torch.testing.assert_close(geodesic_distance(m.rotations[1], r.rotations[1]), 0.2 * total)


@pytest.mark.parametrize("fps", [0.0, -10.0, math.inf, math.nan])
def test_resample_rejects_bad_fps(fps):
    with pytest.raises(ValidationError, match="fps"):
        motion().resample(fps)


def test_positions_and_forward_kinematics():
    m = motion(translations=False)
    P, G = m.forward_kinematics()
    assert P.shape == (10, K, 3) and G.shape == (10, K, 3, 3)
    torch.testing.assert_close(P[:, 0], m.root_translation)
    torch.testing.assert_close(m.positions(), P)
