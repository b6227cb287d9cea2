"""BVH reading and writing: real CMU and Bandai Namco files, round trips, and malformed input."""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import replace

import pytest
import torch

from poseprior.errors import FormatError, ValidationError
from poseprior.io import Motion
from poseprior.io.bvh import format_bvh, iter_bvh, parse_bvh, read_bvh, write_bvh
from poseprior.io.units import UNITS_MM
from poseprior.skeleton import Skeleton

# A small file with every feature: 6 channels on the root, a 3-channel joint, a non-root joint with position
# channels in another rotation order, end sites. Line numbers matter to the malformed-input tests below.
VALID = """HIERARCHY
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
    End Site
    {
      OFFSET 0 -40 0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.0333333
1 90 2 10 20 30 5 -10 15 10 1 0 45 30 -60
2 91 3 11 21 31 6 -11 16 11 2 1 46 31 -61
3 92 4 12 22 32 7 -12 17 12 3 2 47 32 -62
"""

ROOT_CHANNELS = "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"


def elementary(axis: str, degrees: float) -> torch.Tensor:
    """The rotation about one axis, written out (independent of the code under test)."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    m = {
        "X": [[1, 0, 0], [0, c, -s], [0, s, c]],
        "Y": [[c, 0, s], [0, 1, 0], [-s, 0, c]],
        "Z": [[c, -s, 0], [s, c, 0], [0, 0, 1]],
    }
    return torch.tensor(m[axis], dtype=torch.float64)


def euler(order: str, angles: list[float]) -> torch.Tensor:
    R = torch.eye(3, dtype=torch.float64)
    for axis, a in zip(order, angles, strict=False):
        R = R @ elementary(axis, a)
    return R


def header_frames(text: str) -> tuple[int, int, list[str]]:
    """(Frames: value, number of frame lines, first frame's tokens), read with plain regular expressions."""
    declared = int(re.search(r"^Frames:\s*(\d+)", text, re.M).group(1))
    body = text[re.search(r"^Frame Time:.*$", text, re.M).end() :]
    lines = [ln for ln in body.splitlines() if ln.strip()]
    return declared, len(lines), lines[0].split()


# ------------------------------------------------------------------------------------------ the small file
def test_small_file_values():
    m = parse_bvh(VALID, source="small.bvh")
    assert m.joint_names == ("hips", "spine", "leg")
    assert m.skeleton.parents == (-1, 0, 0)
    assert m.skeleton.end_site_parents == (1, 2)
    assert m.skeleton.end_site_offsets.tolist() == [[0, 20, 0], [0, -40, 0]]
    assert m.num_frames == 3 and m.fps == 30.0 and m.unit == 10.0
    assert m.metadata["source"] == "small.bvh" and m.metadata["frame_time"] == 0.0333333
    assert m.metadata["bvh_channels"][1] == ["Zrotation", "Xrotation", "Yrotation"]
    assert m.root_translation[1].tolist() == [2, 91, 3]
    # Non-root position channels replace the offset; the root's row is its translation.
    assert m.translations is not None
    assert m.translations[2, 2].tolist() == [12, 3, 2]
    assert m.translations[2, 1].tolist() == [0, 10, 0]
    assert m.translations[2, 0].tolist() == [3, 92, 4]
    # File order is intrinsic: Zrotation Xrotation Yrotation -> Rz @ Rx @ Ry; the leg reads Y, X, Z.
    torch.testing.assert_close(m.rotations[0, 0], euler("ZXY", [10, 20, 30]))
    torch.testing.assert_close(m.rotations[1, 1], euler("ZXY", [6, -11, 16]))
    torch.testing.assert_close(m.rotations[2, 2], euler("YXZ", [47, 32, -62]))
    # Forward kinematics uses the animated leg translation.
    p = m.positions()
    leg = torch.tensor([10.0, 1, 0], dtype=torch.float64)
    torch.testing.assert_close(p[0, 2], m.root_translation[0] + m.rotations[0, 0] @ leg)


def test_root_without_position_channels_stays_at_offset_and_zero_channel_joint_is_identity():
    text = VALID.replace(ROOT_CHANNELS, "CHANNELS 3 Yrotation Xrotation Zrotation")
    text = text.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 0")
    rows = ["1 2 3 4 5 6 7 8 9", "1 2 3 4 5 6 7 8 9", "1 2 3 4 5 6 7 8 9"]
    text = text.split("MOTION")[0] + "MOTION\nFrames: 3\nFrame Time: 0.01\n" + "\n".join(rows) + "\n"
    m = parse_bvh(text)
    assert m.root_translation.tolist() == [[0, 90, 0]] * 3
    assert torch.equal(m.rotations[:, 1], torch.eye(3, dtype=torch.float64).expand(3, 3, 3))
    torch.testing.assert_close(m.rotations[0, 0], euler("YXZ", [1, 2, 3]))
    assert m.fps == 100.0


def test_crlf_trailing_blank_lines_and_bom_are_fine():
    m = parse_bvh("\ufeff" + VALID.replace("\n", "\r\n") + "\r\n\r\n  \n")
    assert torch.equal(m.rotations, parse_bvh(VALID).rotations)


def test_frame_rate_is_snapped_only_to_the_digits_written():
    def fps(frame_time: str) -> float:
        return parse_bvh(VALID.replace("0.0333333", frame_time)).fps

    assert fps("0.0333333") == 30.0 and fps(".0083333") == 120.0 and fps("0.016667") == 60.0 and fps("0.04") == 25.0
    assert fps("0.0333") == pytest.approx(1 / 0.0333)  # 30.03 fps: too far from 1/30 for the digits given
    assert fps("0.0333667") == pytest.approx(29.97, abs=1e-3)


def test_unit_argument():
    assert parse_bvh(VALID, unit="asf").unit == UNITS_MM["asf"]
    assert parse_bvh(VALID, unit=1.0).unit == 1.0
    with pytest.raises(ValidationError, match="unit"):
        parse_bvh(VALID, unit="furlong")


# --------------------------------------------------------------------------------------- malformed input
def edit(line: int, new: str | None = None, *, insert: bool = False, text: str = VALID) -> str:
    """``text`` with 1-based ``line`` replaced, deleted (``new=None``) or ``new`` inserted before it."""
    lines = text.split("\n")
    if insert:
        lines.insert(line - 1, new)
    elif new is None:
        del lines[line - 1]
    else:
        lines[line - 1] = new
    return "\n".join(lines)


FRAME_2 = "2 91 3 11 21 31 6 -11 16 11 2 1 46 31 -61"
BAD = {
    "truncated": (edit(30), 30, "truncated: 'Frames:' declares 3 frames but the file has 2"),
    "truncated mid-line": (VALID[: VALID.index("3 92 4 12") + 9], 30, "frame 3 has 4 values, expected 15"),
    "too few values": (edit(29, FRAME_2.rsplit(" ", 1)[0]), 29, "frame 2 has 14 values, expected 15"),
    "too many values": (edit(29, FRAME_2 + " 7"), 29, "frame 2 has 16 values, expected 15"),
    "more frames than header": (VALID + FRAME_2 + "\n", 31, "more frame lines than the 3 frames"),
    "unknown channel": (edit(9, "CHANNELS 3 Zrotation Xrotation Yrot"), 9, "unknown channel name 'Yrot'"),
    "channel count": (edit(9, "CHANNELS 2 Zrotation Xrotation Yrotation"), 9, "declares 2 channels but names 3"),
    "channel count too big": (edit(9, "CHANNELS 7 Zrotation Xrotation Yrotation"), 9, "count from 0 to 6"),
    "repeated channel": (edit(9, "CHANNELS 3 Zrotation Xrotation Zrotation"), 9, "repeated channel"),
    "no HIERARCHY": (edit(1), 1, "expected HIERARCHY, got 'ROOT'"),
    "no ROOT": (edit(2, "JOINT hips"), 2, "expected ROOT"),
    "no MOTION": (edit(25), 25, "expected MOTION after the hierarchy, got 'Frames:'"),
    "no MOTION at all": (VALID.split("MOTION")[0], 25, "no MOTION section"),
    "no Frames": (edit(26), 26, "expected 'Frames: N' after MOTION"),
    "no Frame Time": (edit(27), 27, "expected 'Frame Time: seconds' after Frames"),
    "Frames not an integer": (edit(26, "Frames: 2.5"), 26, "non-negative integer"),
    "Frames too large": (edit(26, "Frames: " + "9" * 5000), 26, "non-negative integer below 1e18"),
    "huge channel count": (
        edit(9, "CHANNELS " + "0" * 5000 + "3 Zrotation Xrotation Yrotation"),
        9,
        "count from 0 to 6",
    ),
    "missing closing brace": (edit(24), 24, "unbalanced braces: the block of joint 'hips' (line 2) is not closed"),
    "missing inner brace": (edit(14), 24, "unbalanced braces"),
    "extra closing brace": (edit(25, "}", insert=True), 25, "unbalanced braces: '}' without a matching '{'"),
    "extra opening brace": (edit(5, "{", insert=True), 5, "unbalanced braces: unexpected '{'"),
    "non-numeric value": (edit(28, FRAME_2.replace("11 2 1", "11 abc 1")), 28, "non-numeric value 'abc' in frame 1"),
    "non-numeric offset": (edit(8, "OFFSET 0 ten 0"), 8, "OFFSET values must be numbers"),
    "short offset": (edit(8, "OFFSET 0 10"), 8, "OFFSET needs 3 numbers, got 2"),
    "nan offset": (edit(8, "OFFSET 0 nan 0"), 8, "NaN or inf"),
    "nan value": (edit(29, FRAME_2.replace(" 46 ", " nan ")), 29, "NaN or infinite value 'nan' in frame 2"),
    "inf value": (edit(30, FRAME_2.replace(" 46 ", " -inf ")), 30, "NaN or infinite value '-inf' in frame 3"),
    "negative frame time": (edit(27, "Frame Time: -0.03"), 27, "is outside (0.0001 s, 10 s)"),
    "zero frame time": (edit(27, "Frame Time: 0"), 27, "is outside (0.0001 s, 10 s)"),
    "non-numeric frame time": (edit(27, "Frame Time: fast"), 27, "needs a number"),
    "duplicate joint": (edit(15, "  JOINT spine"), 15, "duplicate joint name 'spine'"),
    "joint without name": (edit(15, "  JOINT"), 15, "joint without a name"),
    "no OFFSET": (edit(8), 13, "joint 'spine' (line 6) has no OFFSET line"),
    "no CHANNELS": (edit(9), 13, "joint 'spine' (line 6) has no CHANNELS line"),
    "second ROOT": (edit(25, "ROOT other", insert=True), 25, "a second ROOT"),
    "bad End Site": (edit(10, "    End Sight"), 10, "expected 'End Site'"),
    "stray keyword": (
        edit(9, "ROTATION 3", insert=True),
        9,
        "expected OFFSET, CHANNELS, JOINT, End Site or '}', got 'ROTATION'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_input_names_source_and_line(case):
    text, line, message = BAD[case]
    with pytest.raises(FormatError) as info:
        parse_bvh(text, source="bad.bvh")
    err = info.value
    assert err.path == "bad.bvh" and err.line == line, str(err)
    assert f"bad.bvh, line {line}: " in str(err)
    assert message in str(err)


def test_angles_beyond_any_pose_are_refused_naming_frame_and_joint():
    with pytest.raises(FormatError, match=r"frame 1, joint 'hips': Xrotation of 1\.7e\+308 degrees is beyond any pose"):
        parse_bvh(edit(28, "0 90 2 10 1.7e308 30 5 -10 15 10 1 0 45 30 -6"))


def test_unwrapped_angles_and_far_positions_stay_exact_and_write_back():
    text = edit(28, "1e6 90 2 10 3590 30 5 -10 15 10 1 0 45 30 -6000")
    m = parse_bvh(text)
    torch.testing.assert_close(m.rotations[0, 0], euler("ZXY", [10, math.fmod(3590, 360), 30]))
    assert m.root_translation[0, 0] == 1e6
    back = parse_bvh(format_bvh(m, precision=10))
    assert back.root_translation[0, 0] == 1e6
    torch.testing.assert_close(back.rotations, m.rotations, atol=1e-9, rtol=0)


def test_blank_lines_between_frames_are_skipped():
    assert parse_bvh(edit(29, "", insert=True)).num_frames == 3


def test_zero_frames():
    m = parse_bvh(VALID.split("Frames:")[0] + "Frames: 0\nFrame Time: 0.1\n")
    assert m.num_frames == 0 and m.rotations.shape == (0, 3, 3, 3)
    assert parse_bvh(format_bvh(m)).num_frames == 0


# ------------------------------------------------------------------------------------------------ real data
def test_cmu_01_01(cmu_dir):
    path = cmu_dir / "01_01.bvh"
    m = read_bvh(path, unit="asf")
    declared, lines, first = header_frames(path.read_text())
    assert m.skeleton.num_joints == 31 and m.num_frames == declared == lines == 2752
    assert m.fps == 120.0 and m.unit == UNITS_MM["asf"]
    assert m.metadata["source"] == str(path)
    assert m.metadata["bvh_channels"][0] == [
        "Xposition",
        "Yposition",
        "Zposition",
        "Zrotation",
        "Yrotation",
        "Xrotation",
    ]
    assert all(len(c) == 3 for c in m.metadata["bvh_channels"][1:])
    assert m.translations is None
    assert len(m.skeleton.end_site_parents) == path.read_text().count("End Site") == 7
    values = [float(v) for v in first]
    torch.testing.assert_close(m.root_translation[0], torch.tensor(values[:3], dtype=torch.float64))
    torch.testing.assert_close(m.rotations[0, 0], euler("ZYX", values[3:6]))
    lhip = m.skeleton.index("LeftUpLeg")  # joint 2: values 9..11 of each frame
    assert lhip == 2
    last = [float(v) for v in path.read_text().strip().splitlines()[-1].split()]
    torch.testing.assert_close(m.rotations[-1, lhip], euler("ZYX", last[9:12]))


BANDAI_PARENTS = {"Hips": "joint_Root", "Spine": "Hips", "Chest": "Spine", "Neck": "Chest", "Head": "Neck"}
for side in "LR":
    BANDAI_PARENTS.update(
        {
            f"Shoulder_{side}": "Chest",
            f"UpperArm_{side}": f"Shoulder_{side}",
            f"LowerArm_{side}": f"UpperArm_{side}",
            f"Hand_{side}": f"LowerArm_{side}",
            f"UpperLeg_{side}": "Hips",
            f"LowerLeg_{side}": f"UpperLeg_{side}",
            f"Foot_{side}": f"LowerLeg_{side}",
            f"Toes_{side}": f"Foot_{side}",
        }
    )


@pytest.mark.parametrize("archive,step", [("bandai-namco-motion-1.zip", 45), ("bandai-namco-motion-2.zip", 727)])
def test_bandai_sample(bandai_dir, archive, step):
    path = bandai_dir / archive
    with zipfile.ZipFile(path) as z:
        members = sorted(n for n in z.namelist() if n.endswith(".bvh"))[::step]
        texts = {n: z.read(n).decode() for n in members}
    assert len(members) == 4
    names = [n.rsplit("/", 1)[1] for n in members]  # bare names, as splits.json lists them
    seen = []
    for member, m in iter_bvh(path, names=names):
        seen.append(member)
        declared, lines, first = header_frames(texts[member])
        assert m.num_frames == declared == lines
        assert m.skeleton.num_joints == 22 and m.fps == 30.0 and m.unit == 10.0
        assert m.metadata["source"] == f"{path}:{member}"
        sk = m.skeleton
        assert sk.joint_names[0] == "joint_Root"
        assert {sk.joint_names[j]: sk.joint_names[p] for j, p in enumerate(sk.parents) if p >= 0} == BANDAI_PARENTS
        six = ["Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"]
        assert all(c == six for c in m.metadata["bvh_channels"])
        values = torch.tensor([float(v) for v in first], dtype=torch.float64).reshape(22, 6)
        torch.testing.assert_close(m.translations[0], values[:, :3])
        torch.testing.assert_close(m.root_translation[0], values[0, :3])
        hips = sk.index("Hips")
        torch.testing.assert_close(m.rotations[0, hips], euler("ZXY", values[hips, 3:].tolist()))
        assert torch.isfinite(m.positions()).all()
    assert seen == members


# ----------------------------------------------------------------------------------------------- round trips
def assert_same_motion(a: Motion, b: Motion, tol: float) -> None:
    assert a.joint_names == b.joint_names and a.skeleton.parents == b.skeleton.parents
    assert a.num_frames == b.num_frames and a.fps == b.fps
    assert (a.rotations - b.rotations).abs().max() <= tol
    assert (a.positions() - b.positions()).abs().max() <= tol * 1000
    assert (a.skeleton.end_site_offsets - b.skeleton.end_site_offsets).abs().max() <= tol


@pytest.fixture(scope="module")
def bandai_take(bandai_dir) -> Motion:
    return read_bvh(bandai_dir / "bandai-namco-motion-1.zip", member="data/dataset-1_run_masculinity_001.bvh")


@pytest.fixture(scope="module")
def cmu_take(cmu_dir) -> Motion:
    return read_bvh(cmu_dir / "01_01.bvh", unit="asf").frames(slice(0, 400))


@pytest.mark.parametrize("take", ["bandai_take", "cmu_take"])
def test_round_trip_real_data(take, request, tmp_path):
    m = request.getfixturevalue(take)
    path = tmp_path / "out.bvh"
    write_bvh(m, path, precision=10)
    assert [p.name for p in tmp_path.iterdir()] == ["out.bvh"]  # no temporary file left behind
    back = read_bvh(path, unit=m.unit)
    assert_same_motion(m, back, 1e-9)
    assert back.metadata["bvh_channels"] == m.metadata["bvh_channels"]
    assert (back.translations is None) == (m.translations is None)
    for precision in (6, 10):
        text = format_bvh(m, precision=precision)
        assert format_bvh(parse_bvh(text, unit=m.unit), precision=precision) == text
    write_bvh(back, path, precision=10)
    assert path.read_text() == format_bvh(m, precision=10)


def test_precision_6_is_close(bandai_take):
    back = parse_bvh(format_bvh(bandai_take), unit="cm")
    assert_same_motion(bandai_take, back, 1e-6)


def test_default_layout_and_rotation_order(bandai_take, cmu_take):
    for m in (bandai_take, cmu_take):
        bare = replace(m, metadata={})
        text = format_bvh(bare, rotation_order="xyz", precision=10)
        back = parse_bvh(text, unit=m.unit)
        assert back.metadata["bvh_channels"][0] == [
            "Xposition",
            "Yposition",
            "Zposition",
            "Xrotation",
            "Yrotation",
            "Zrotation",
        ]
        n = 6 if m.translations is not None else 3
        assert all(len(c) == n for c in back.metadata["bvh_channels"][1:])
        assert_same_motion(m, back, 1e-9)
    # rotation_order overrides the stored layout's rotations and keeps its position channels
    back = parse_bvh(format_bvh(cmu_take, rotation_order="YZX", precision=10), unit="asf")
    assert back.metadata["bvh_channels"][0] == [
        "Xposition",
        "Yposition",
        "Zposition",
        "Yrotation",
        "Zrotation",
        "Xrotation",
    ]
    assert back.metadata["bvh_channels"][1] == ["Yrotation", "Zrotation", "Xrotation"]
    assert_same_motion(cmu_take, back, 1e-9)


def test_partial_channel_layout_round_trips():
    text = VALID.replace(ROOT_CHANNELS, "CHANNELS 4 Yposition Xrotation Zrotation Zposition")
    text = text.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 0")
    text = text.replace(
        "CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation", "CHANNELS 1 Yrotation"
    )
    rows = ["91 10 20 3 45", "92 -170 90 4 -45", "93 180 -90 5 0"]
    m = parse_bvh(text.split("MOTION")[0] + "MOTION\nFrames: 3\nFrame Time: 0.0333333\n" + "\n".join(rows) + "\n")
    assert m.translations is None and m.root_translation[:, 0].tolist() == [0, 0, 0]
    torch.testing.assert_close(m.rotations[1, 0], euler("XZ", [-170, 90]))
    out = format_bvh(m, precision=8)
    assert (
        "CHANNELS 4 Yposition Xrotation Zrotation Zposition" in out
        and "CHANNELS 0" in out
        and "CHANNELS 1 Yrotation" in out
    )
    back = parse_bvh(out)
    assert_same_motion(m, back, 1e-9)
    assert format_bvh(back, precision=8) == out


def test_layout_that_cannot_hold_the_motion_is_an_error(bandai_take):
    m = parse_bvh(VALID)
    channels = [list(c) for c in m.metadata["bvh_channels"]]
    channels[1] = []  # spine rotates, but would get no rotation channel
    with pytest.raises(ValidationError, match="joint 'spine' rotates about axes outside"):
        format_bvh(replace(m, metadata={"bvh_channels": channels}))
    channels = [list(c) for c in m.metadata["bvh_channels"]]
    channels[2] = channels[2][3:]  # leg moves, but would get no position channel
    with pytest.raises(ValidationError, match="joint 'leg' moves along X"):
        format_bvh(replace(m, metadata={"bvh_channels": channels}))
    with pytest.raises(ValidationError, match="one channel list per joint"):
        format_bvh(replace(m, metadata={"bvh_channels": channels[:2]}))
    with pytest.raises(ValidationError, match="Wrotation"):
        format_bvh(replace(m, metadata={"bvh_channels": [["Wrotation"]] * 3}))


def test_writer_argument_errors():
    m = parse_bvh(VALID)
    for bad in (-1, 18, 2.5, True):
        with pytest.raises(ValidationError, match="precision"):
            format_bvh(m, precision=bad)
    for bad in ("ZXX", "ZX", "abc"):
        with pytest.raises(ValidationError, match="rotation_order"):
            format_bvh(m, rotation_order=bad)
    bad_name = replace(m, skeleton=Skeleton(("hips", "spine {", "leg"), m.skeleton.parents, m.skeleton.offsets))
    with pytest.raises(ValidationError, match="cannot be written to BVH"):
        format_bvh(replace(bad_name, metadata={}))


def test_non_depth_first_skeleton_comes_back_depth_first():
    offsets = torch.tensor([[0.0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0]])
    sk = Skeleton(("root", "a", "b", "a1"), (-1, 0, 0, 1), offsets, (3,), torch.tensor([[0.0, 1, 0]]))
    g = torch.Generator().manual_seed(0)
    R = euler("ZXY", [30, 40, 50]).expand(5, 4, 3, 3).clone()
    R[:, 2] = euler("XYZ", [10, -20, 170])
    m = Motion(sk, R, torch.randn(5, 3, generator=g, dtype=torch.float64), fps=24.0, unit="m")
    back = parse_bvh(format_bvh(m, precision=10), unit="m")
    assert back.joint_names == ("root", "a", "a1", "b")
    perm = [0, 1, 3, 2]
    torch.testing.assert_close(back.rotations, m.rotations[:, perm], atol=1e-9, rtol=0)
    torch.testing.assert_close(back.positions(), m.positions()[:, perm], atol=1e-9, rtol=0)
    assert back.skeleton.end_site_parents == (2,) and back.fps == 24.0 and back.unit == 1000.0


def test_read_bvh_path_forms(bandai_dir, tmp_path):
    zip_path = bandai_dir / "bandai-namco-motion-1.zip"
    member = "data/dataset-1_run_masculinity_001.bvh"
    a = read_bvh(f"{zip_path}:{member}")
    b = read_bvh(zip_path, member=member)
    (tmp_path / "data").mkdir()
    (tmp_path / member).write_bytes(zipfile.ZipFile(zip_path).read(member))
    c = read_bvh(tmp_path, member=member)
    d = read_bvh(tmp_path / member)
    for m in (b, c, d):
        assert torch.equal(m.rotations, a.rotations)
    assert a.metadata["source"] == b.metadata["source"] == f"{zip_path}:{member}"
    assert d.metadata["source"] == str(tmp_path / member)
    with pytest.raises(FormatError, match="no such member"):
        read_bvh(zip_path, member="data/missing.bvh")
    with pytest.raises(FormatError, match="no such file"):
        read_bvh(tmp_path / "missing.bvh")
    (tmp_path / "bad.bvh").write_text(VALID.replace("1 90 2", "1 x 2"))
    with pytest.raises(FormatError, match=r"bad\.bvh, line 28: non-numeric value 'x'"):
        read_bvh(tmp_path / "bad.bvh")
