"""ASF/AMC reading and writing, checked against CMU's BVH conversion of the same take."""

from __future__ import annotations

import dataclasses
import math
import re
import time
from pathlib import Path

import pytest
import torch

from poseprior.errors import FormatError, ValidationError
from poseprior.geometry import euler_to_matrix, geodesic_distance, random_rotations
from poseprior.io import Motion
from poseprior.io.asf_amc import (
    AsfSkeleton,
    read_amc,
    read_asf,
    read_asf_amc,
    write_asf_amc,
)
from poseprior.skeleton import Skeleton, end_site_positions, forward_kinematics

CMU_NAMES = (
    "root lhipjoint lfemur ltibia lfoot ltoes rhipjoint rfemur rtibia rfoot rtoes lowerback upperback thorax "
    "lowerneck upperneck head lclavicle lhumerus lradius lwrist lhand lfingers lthumb rclavicle rhumerus rradius "
    "rwrist rhand rfingers rthumb"
).split()

MINI_ASF = """\
# a small skeleton: comments are allowed
:version 1.10
:name mini
:units
  mass 1.0
  length 0.45
  angle deg
:documentation
  three bones
:root
  order TX TY TZ RX RY RZ
  axis XYZ
  position 0 0 0
  orientation 0 0 0
:bonedata
  begin
    id 1
    name hip
    direction 0 -1 0
    length 2
    axis 0 0 90 XYZ
    dof rx ry rz
    limits (-90.0 45.0)
           (-30 30)
           (-30 30)
  end
  begin
    id 2
    name knee
    direction 0 -1 0
    length 3
    axis 0 0 0 XYZ
    dof rx
  end
  begin
    id 3
    name spine
    direction 0 1 0
    length 4
    axis 0 0 0 XYZ
  end
:hierarchy
  begin
    root hip spine
    hip knee
  end
"""

MINI_AMC = """\
#!OML:ASF mini.asf
# Copyright line, as in the shared files
:FULLY-SPECIFIED
:DEGREES
1
root 0 1 2 0 0 0
hip 0 0 0
knee 90
# a comment between frames
2
root 0 1 2 10 20 30
knee 45
hip 90 0 0
"""


def _write(tmp_path: Path, asf: str = MINI_ASF, amc: str = MINI_AMC) -> tuple[Path, Path]:
    (tmp_path / "mini.asf").write_text(asf)
    (tmp_path / "mini.amc").write_text(amc)
    return tmp_path / "mini.asf", tmp_path / "mini.amc"


@pytest.fixture(scope="module")
def cmu01_timed(cmu_dir: Path) -> tuple[Motion, float]:
    start = time.perf_counter()
    motion = read_asf_amc(cmu_dir / "01.asf", cmu_dir / "01_01.amc")
    return motion, time.perf_counter() - start


@pytest.fixture(scope="module")
def cmu01(cmu01_timed: tuple[Motion, float]) -> Motion:
    return cmu01_timed[0]


@pytest.fixture(scope="module")
def cmu01_bvh(cmu_dir: Path) -> Motion:
    from poseprior.io.bvh import read_bvh

    return read_bvh(cmu_dir / "01_01.bvh", unit="asf")


# ----------------------------------------------------------------------------------------------- reading
def test_read_cmu_01(cmu01: Motion, cmu_dir: Path) -> None:
    m = cmu01
    assert m.num_frames == 2751 and m.fps == 120.0
    assert list(m.joint_names) == CMU_NAMES  # root, then the bones depth-first in :hierarchy order
    assert m.unit == pytest.approx(25.4 / 0.45)
    sk = m.skeleton
    # A joint sits at its bone's start: ltibia's offset is lfemur's direction * length.
    assert sk.offsets[sk.index("ltibia")].tolist() == pytest.approx(
        [0.34202 * 7.1578, -0.939693 * 7.1578, 0.0], abs=1e-5
    )
    assert sk.offsets[sk.index("lfemur")].norm().item() == pytest.approx(2.40479)  # lhipjoint's length
    assert sk.offsets[sk.index("lhipjoint")].tolist() == [0.0, 0.0, 0.0]  # the root's children start at the root
    leaves = ("ltoes", "rtoes", "head", "lfingers", "lthumb", "rfingers", "rthumb")
    assert sorted(sk.end_site_parents) == sorted(sk.indices(leaves))
    assert m.root_translation[0].tolist() == [9.37216, 17.8693, -17.3198]
    assert m.metadata["first_frame"] == 1 and m.metadata["asf_path"] == str(cmu_dir / "01.asf")
    asf = m.metadata["asf"]
    assert isinstance(asf, AsfSkeleton)
    assert asf.dofs[sk.index("lfoot")] == ("rx", "rz") and asf.dofs[sk.index("lhipjoint")] == ()
    assert asf.root_order == ("tx", "ty", "tz", "rx", "ry", "rz") and asf.root_axis == "XYZ"
    assert asf.limits[sk.index("lfemur")][0] == pytest.approx((math.radians(-160), math.radians(20)))
    assert asf.axes[sk.index("lhumerus")].tolist() == pytest.approx([math.pi, -math.pi / 6, -math.pi / 2])
    # Dof-less bones do not rotate.
    assert torch.equal(m.rotations[:, sk.index("lhipjoint")], torch.eye(3, dtype=torch.float64).expand(2751, 3, 3))


def test_read_cmu_11(cmu_dir: Path) -> None:
    asf = read_asf(cmu_dir / "11.asf")
    m = read_amc(cmu_dir / "11_01.amc", asf)  # an AsfSkeleton works as well as a path
    assert m.num_frames == 597 and m.skeleton.num_joints == 31 and m.metadata["asf"] is asf
    assert torch.isfinite(m.positions()).all()


def test_parsing_is_fast(cmu01_timed: tuple[Motion, float]) -> None:
    # 0.3-0.6 s of CPU for 2,751 frames; the bound (wall clock, on a shared machine) only catches a pathological slowdown.
    assert cmu01_timed[1] < 6.0


def test_conventions_by_hand(tmp_path: Path) -> None:
    """Hand-computed poses of the mini skeleton: root at (0, 1, 2), knee bent 90 degrees about x."""
    m = read_asf_amc(*_write(tmp_path))
    p, R = m.forward_kinematics()
    root, hip, knee, spine = (m.skeleton.index(n) for n in ("root", "hip", "knee", "spine"))
    assert p[0, hip].tolist() == [0, 1, 2] and p[0, knee].tolist() == pytest.approx([0, -1, 2])
    # The knee bone, (0, -3, 0) at rest, turned 90 degrees about x points along -z.
    ends = end_site_positions(m.skeleton, p, R)
    assert ends[0, m.skeleton.end_site_parents.index(knee)].tolist() == pytest.approx([0, -1, -1], abs=1e-12)
    assert ends[0, m.skeleton.end_site_parents.index(spine)].tolist() == pytest.approx([0, 5, 2], abs=1e-12)
    # hip has axis 0 0 90 XYZ: its rx turns about C @ x = y, so 90 degrees takes z to x.
    assert (m.rotations[1, hip] @ torch.tensor([0.0, 0, 1], dtype=torch.float64)).tolist() == pytest.approx(
        [1, 0, 0], abs=1e-12
    )
    # root order RX RY RZ is extrinsic xyz: Rz(30) @ Ry(20) @ Rx(10).
    expected = euler_to_matrix("ZYX", torch.tensor([30.0, 20, 10], dtype=torch.float64), degrees=True)
    assert torch.allclose(m.rotations[1, root], expected, atol=1e-12)


def test_dof_order_is_the_rotation_order(tmp_path: Path) -> None:
    """``dof rz rx`` turns about z first, then about (fixed) x: (90, 90) takes x to y, then to z."""
    amc_text = MINI_AMC.replace("knee 90", "knee 90 90").replace("knee 45", "knee 0 0")
    asf, amc = _write(tmp_path, MINI_ASF.replace("dof rx\n", "dof rz rx\n"), amc_text)
    m = read_asf_amc(asf, amc)
    R = m.rotations[0, m.skeleton.index("knee")]
    assert (R @ torch.tensor([1.0, 0, 0], dtype=torch.float64)).tolist() == pytest.approx([0, 0, 1], abs=1e-12)


def test_units(tmp_path: Path) -> None:
    degrees = read_asf_amc(*_write(tmp_path))
    assert degrees.unit == pytest.approx(25.4 / 0.45)
    assert read_asf_amc(*_write(tmp_path), unit="mm").unit == 1.0
    # Radians throughout: the ASF's axis angles and, without :DEGREES, the AMC's values.
    rad_asf = MINI_ASF.replace("angle deg", "angle rad").replace("axis 0 0 90 XYZ", f"axis 0 0 {math.pi / 2!r} XYZ")
    rad_amc = (
        MINI_AMC.replace(":DEGREES\n", "")
        .replace("knee 90", f"knee {math.pi / 2!r}")
        .replace("knee 45", f"knee {math.pi / 4!r}")
        .replace("hip 90 0 0", f"hip {math.pi / 2!r} 0 0")
        .replace("10 20 30", " ".join(repr(math.radians(a)) for a in (10, 20, 30)))
    )
    radians = read_asf_amc(*_write(tmp_path, rad_asf, rad_amc))
    assert torch.allclose(radians.rotations, degrees.rotations, atol=1e-12)
    inches = read_asf(_write(tmp_path, MINI_ASF.replace("length 0.45", "length 1.0"))[0])
    assert inches.unit == 25.4


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("knee 90", "ankle 90", 8, "unknown bone 'ankle'"),
        ("knee 90", "knee 90 10", 8, "1 dofs (rx) but 2 values"),
        ("hip 0 0 0", "hip 0 zero 0", 7, "expected numbers"),
        ("knee 90", "knee nan", 8, "NaN or infinite"),
        ("knee 45", "knee inf", 12, "NaN or infinite"),
        ("\n2\n", "\n3\n", 10, "frames must be consecutive"),
        ("knee 45\nhip 90 0 0\n", "knee 45\n", 10, "frame 2 has no values for bones hip"),
        ("1\nroot", "root", 5, "expected a frame number"),
        ("hip 0 0 0\nknee 90", "hip 0 0 0\nhip 0 0 0", 8, "appears twice"),
    ],
)
def test_bad_amc(tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    assert old in MINI_AMC
    asf, amc = _write(tmp_path, amc=MINI_AMC.replace(old, new))
    with pytest.raises(FormatError, match=re.escape(message)) as info:
        read_asf_amc(asf, amc)
    assert info.value.path == str(amc) and info.value.line == line


def test_amc_without_frames(tmp_path: Path) -> None:
    asf, amc = _write(tmp_path, amc=":FULLY-SPECIFIED\n:DEGREES\n")
    with pytest.raises(FormatError, match="no frames"):
        read_asf_amc(asf, amc)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        (":bonedata", ":bones", None, "no ':bonedata' section"),
        (":hierarchy\n  begin\n    root hip spine\n    hip knee\n  end\n", "", None, "no ':hierarchy' section"),
        ("hip knee\n", "hip knee ankle\n", 45, "bone 'ankle' is not defined"),
        ("root hip spine", "pelvis hip spine", 44, "bone 'pelvis' is not defined"),
        ("root hip spine", "root hip", None, "not connected to root: spine"),
        ("hip knee\n", "hip knee\n    spine knee\n", 46, "'knee' already has parent 'hip'"),
        ("    dof rx\n  end\n", "    dof rx\n", 34, "'begin' inside the block opened at line 27"),
        ("  end\n:hierarchy", "  end\n  end\n:hierarchy", 42, "'end' without 'begin'"),
        ("  begin\n    id 3", "    id 3", 35, "'id' outside a 'begin ... end' block"),
        ("name knee", "bone knee", 27, "without name"),
        ("dof rx\n", "dof rx tx\n", 33, "dof 'tx'"),
        ("length 3", "length three", 31, "expected numbers"),
        ("           (-30 30)\n  end", "  end", 16, "2 limits for 3 dofs"),
        ("axis 0 0 0 XYZ\n    dof rx", "axis 0 0 0 XYW\n    dof rx", 32, "permutation of XYZ"),
    ],
)
def test_bad_asf(tmp_path: Path, old: str, new: str, line: int | None, message: str) -> None:
    assert old in MINI_ASF
    asf, amc = _write(tmp_path, asf=MINI_ASF.replace(old, new, 1))
    with pytest.raises(FormatError, match=re.escape(message)) as info:
        read_asf(asf)
    assert info.value.path == str(asf) and info.value.line == line


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        read_asf(tmp_path / "nope.asf")


# -------------------------------------------------------------------------- the BVH conversion of 01_01
def _depth_first(parents: tuple[int, ...]) -> list[int]:
    """Joint indices in depth-first order, children in index order: the tree position of each joint."""
    order, stack = [], [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack += [c for c in range(len(parents) - 1, 0, -1) if parents[c] == j]
    return order


def test_matches_cmu_bvh(cmu01: Motion, cmu01_bvh: Motion, cmu_dir: Path, tmp_path: Path) -> None:
    """``01_01.bvh`` is CMU's BVH conversion of ``01.asf`` + ``01_01.amc``: BVH frame ``i + 1`` is AMC frame ``i``.

    Joints are matched by tree position (both files have 31). What was measured over all 2,751 frames:

    - local rotations agree to 1.07e-4 degrees at most (the BVH keeps 4 decimals);
    - the BVH's offsets are the ASF's ``direction * length`` (to its 5 decimals), except that the converter
      collapsed the three bones that branch, ``thorax``, ``lwrist`` and ``rwrist``, to zero length: their
      children sit at the bone's start. Every joint above them is therefore displaced by exactly that bone
      in the BVH (116.55 mm for the neck and arms, up to 214.5 mm for the hands);
    - FK positions of the 14 joints not below a collapsed bone: max 0.0052 mm, mean 0.0016 mm;
    - FK positions of all 31 joints with the BVH's rotations and root on the ASF's offsets: max 0.0049 mm,
      mean 0.0017 mm.

    The opposite (intrinsic) reading of the ASF ``axis`` order would disagree by up to 180 degrees.
    """
    bvh = cmu01_bvh
    assert bvh.num_frames == cmu01.num_frames + 1 and bvh.unit == cmu01.unit and bvh.fps == cmu01.fps
    # Both readers number joints depth-first, so joints at the same tree position have the same index.
    asf_sk, bvh_sk = cmu01.skeleton, bvh.skeleton
    assert asf_sk.parents == bvh_sk.parents and _depth_first(asf_sk.parents) == list(range(31))
    R_bvh, root_bvh = bvh.rotations[1:], bvh.root_translation[1:]
    R_asf, names = cmu01.rotations, list(cmu01.joint_names)
    assert torch.allclose(root_bvh, cmu01.root_translation, rtol=0, atol=5.1e-5)

    angle = geodesic_distance(R_asf, R_bvh, degrees=True)
    assert angle.max() < 1.2e-4

    collapsed = [names.index(n) for n in ("thorax", "lwrist", "rwrist")]
    below_collapsed = {j for j, p in enumerate(bvh_sk.parents) if p in collapsed}
    asf_offsets = asf_sk.offsets
    for j in range(31):
        expected = torch.zeros(3, dtype=torch.float64) if j in below_collapsed else asf_offsets[j]
        assert torch.allclose(bvh_sk.offsets[j], expected, atol=1e-5), names[j]

    asf_p = cmu01.positions()
    bvh_p = forward_kinematics(bvh_sk, R_bvh, root_bvh)[0]
    error_mm = (asf_p - bvh_p).norm(dim=-1) * cmu01.unit
    unaffected = [j for j in range(31) if not any(a in below_collapsed for a in _ancestors_and_self(bvh_sk.parents, j))]
    assert len(unaffected) == 14
    assert error_mm[:, unaffected].max() < 0.006 and error_mm[:, unaffected].mean() < 0.002
    neck = names.index("lowerneck")
    thorax_mm = asf_sk.offsets[asf_sk.index("lowerneck")].norm() * cmu01.unit
    assert torch.allclose(error_mm[:, neck], thorax_mm.expand(error_mm.shape[0]), atol=0.01)

    restored = forward_kinematics(bvh_sk.with_offsets(asf_offsets), R_bvh, root_bvh)[0]
    error_mm = (asf_p - restored).norm(dim=-1) * cmu01.unit
    assert error_mm.max() < 0.006 and error_mm.mean() < 0.002

    # The control, on the first 100 frames.
    text = (cmu_dir / "01_01.amc").read_text()
    (tmp_path / "head.amc").write_text(text[: text.index("\n101\n") + 1])
    intrinsic = dataclasses.replace(
        cmu01.metadata["asf"], axis_orders=tuple(o[::-1] for o in cmu01.metadata["asf"].axis_orders)
    )
    wrong = read_amc(tmp_path / "head.amc", intrinsic).rotations
    assert geodesic_distance(wrong, R_bvh[:100], degrees=True).max() > 90


def _ancestors_and_self(parents: tuple[int, ...], j: int) -> list[int]:
    out = [j]
    while parents[out[-1]] >= 0:
        out.append(parents[out[-1]])
    return out


# ----------------------------------------------------------------------------------------------- writing
def test_round_trip_cmu(cmu01: Motion, tmp_path: Path) -> None:
    write_asf_amc(cmu01, tmp_path / "out.asf", tmp_path / "out.amc")
    back = read_asf_amc(tmp_path / "out.asf", tmp_path / "out.amc")
    src, new = cmu01.metadata["asf"], back.metadata["asf"]
    assert back.joint_names == cmu01.joint_names and back.unit == cmu01.unit and back.num_frames == cmu01.num_frames
    assert new.dofs == src.dofs and new.axis_orders == src.axis_orders
    flat = [[v for dof in joint for v in dof] for joint in src.limits]
    assert [[v for dof in joint for v in dof] for joint in new.limits] == [pytest.approx(f) for f in flat]
    assert torch.allclose(new.axes, src.axes, atol=1e-12)
    assert (back.positions() - cmu01.positions()).abs().max() < 1e-6
    assert (back.rotations - cmu01.rotations).abs().max() < 1e-6
    # The AMC keeps CMU's values: the first frame's lines read as in the original file.
    text = (tmp_path / "out.amc").read_text().splitlines()
    assert "root 9.37216 17.8693 -17.3198 -2.01677 -7.59696 -3.23164" in text[:6] and "lfoot -16.1868 6.57726" in text


def _positions_by_name(m: Motion) -> dict[str, torch.Tensor]:
    p, R = m.forward_kinematics()
    ends = end_site_positions(m.skeleton, p, R)
    out = {name: p[:, j] for j, name in enumerate(m.joint_names)}
    out.update({f"end{e}": ends[:, e] for e in range(ends.shape[1])})
    return out


def test_generic_writer(tmp_path: Path) -> None:
    """A skeleton an ASF cannot hold bone for bone: root offset, branches with distinct offsets, end sites on a
    joint that has children, two end sites on one leaf, float32 rotations, static per-joint translations."""
    names = ("Hips", "Spine", "Head", "LArm", "RArm", "LLeg", "RLeg", "Tail")
    parents = (-1, 0, 1, 1, 1, 0, 0, 0)
    offsets = torch.tensor(
        [[1.0, 90, 2], [0, 10, 0], [0, 20, 1], [15, 18, 0], [-15, 18, 0], [9, -5, 0], [-9, -5, 0], [0, 0, 0]],
        dtype=torch.float64,
    )
    skeleton = Skeleton(
        names, parents, offsets, (2, 2, 5, 1), torch.tensor([[0, 8.0, 0], [0, 4, 4], [0, -40, 0], [0, 3, -3]])
    )
    g = torch.Generator().manual_seed(0)
    T = 7
    motion = Motion(
        skeleton,
        random_rotations(T, 8, generator=g),
        torch.randn(T, 3, generator=g, dtype=torch.float64) * 50,
        fps=30.0,
        unit="cm",
        translations=offsets.expand(T, 8, 3).clone(),
    )
    write_asf_amc(motion, tmp_path / "g.asf", tmp_path / "g.amc")
    back = read_asf_amc(tmp_path / "g.asf", tmp_path / "g.amc", fps=30.0)
    assert back.unit == 10.0 and back.joint_names[0] == "root"
    assert {"Spine_link", "LArm_link", "RArm_link", "LLeg_link", "RLeg_link"} <= set(back.joint_names)
    expected, got = _positions_by_name(motion), _positions_by_name(back)
    got["Hips"] = got.pop("root")
    for key in ("Hips", "Spine", "Head", "LArm", "RArm", "LLeg", "RLeg", "Tail"):
        assert (got[key] - expected[key]).abs().max() < 1e-4, key  # float32 rotations
    # Every end site of the source is an end site of the result (the extra ones on a leaf bone of their own).
    found = list(got.values())
    for key in (k for k in expected if k.startswith("end")):
        assert any(v.shape == expected[key].shape and (v - expected[key]).abs().max() < 1e-4 for v in found), key


def test_generic_writer_on_cmu_bvh(cmu01_bvh: Motion, tmp_path: Path) -> None:
    """A BVH-derived skeleton (CMU's conversion, 20 frames): the generic ASF reads back with the same positions."""
    bvh = cmu01_bvh.frames(slice(0, 20))
    write_asf_amc(bvh, tmp_path / "b.asf", tmp_path / "b.amc")
    back = read_asf_amc(tmp_path / "b.asf", tmp_path / "b.amc")
    assert back.skeleton.num_joints == 31 and back.unit == bvh.unit  # no link bones needed
    order = [0] + [back.skeleton.index(n) for n in bvh.joint_names[1:]]
    assert (back.positions()[:, order] - bvh.positions()).abs().max() < 1e-6
    assert (back.rotations[:, order] - bvh.rotations).abs().max() < 1e-6


def test_rotations_outside_the_dofs_fall_back_to_generic(cmu01: Motion, tmp_path: Path) -> None:
    """A CMU motion whose knee twists (ltibia has only rx) is written with three dofs per bone."""
    m = cmu01.frames(slice(0, 10))
    R = m.rotations.clone()
    R[:, m.skeleton.index("ltibia")] = random_rotations(
        10, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    m = dataclasses.replace(m, rotations=R)
    write_asf_amc(m, tmp_path / "t.asf", tmp_path / "t.amc")
    back = read_asf_amc(tmp_path / "t.asf", tmp_path / "t.amc")
    assert back.metadata["asf"].dofs[back.skeleton.index("ltibia")] == ("rx", "ry", "rz")
    assert back.joint_names == m.joint_names
    assert (back.positions() - m.positions()).abs().max() < 1e-6
    assert (back.rotations - m.rotations).abs().max() < 1e-6


def test_animated_translations_are_refused(tmp_path: Path) -> None:
    skeleton = Skeleton(("a", "b"), (-1, 0), torch.tensor([[0.0, 0, 0], [0, 1, 0]]))
    translations = torch.zeros(3, 2, 3, dtype=torch.float64)
    translations[:, 1, 1] = torch.tensor([1.0, 2.0, 3.0])
    motion = Motion(
        skeleton, torch.eye(3).expand(3, 2, 3, 3).double(), torch.zeros(3, 3), 30.0, translations=translations
    )
    with pytest.raises(ValidationError, match=r"animated translations of non-root joints \['b'\]"):
        write_asf_amc(motion, tmp_path / "x.asf", tmp_path / "x.amc")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_unwritable_joint_name(tmp_path: Path) -> None:
    skeleton = Skeleton(("a", "left arm"), (-1, 0), torch.tensor([[0.0, 0, 0], [0, 1, 0]]))
    motion = Motion(skeleton, torch.eye(3).expand(1, 2, 3, 3).double(), torch.zeros(1, 3), 30.0)
    with pytest.raises(ValidationError, match="'left arm'"):
        write_asf_amc(motion, tmp_path / "x.asf", tmp_path / "x.amc")
