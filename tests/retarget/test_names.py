"""Joint maps: every naming convention found in real files (and in files written here in their exact format),
the spine and neck placed by structure, mapping files, and clear errors for what cannot be mapped."""

from __future__ import annotations

import pytest
import torch

from poseprior.errors import FormatError, ValidationError
from poseprior.retarget import find_joint_map, read_joint_map_file
from poseprior.skeleton import Skeleton
from poseprior.skeleton.layouts import H36M17
from poseprior.skeleton.smpl import BODY_JOINTS, smpl_skeleton


def named(m, skeleton) -> dict[str, str]:
    return {c: skeleton.joint_names[j] for c, j in m.joints.items()}


@pytest.mark.parametrize(
    "rig, expected",
    [
        (
            "bandai",
            {
                "pelvis": "Hips",
                "spine1": "Spine",
                "spine3": "Chest",
                "left_knee": "LowerLeg_L",
                "left_collar": "Shoulder_L",
                "head": "Head",
            },
        ),
        (
            "motionbuilder",
            {
                "pelvis": "Hips",
                "spine1": "LowerBack",
                "spine2": "Spine",
                "spine3": "Spine1",
                "left_hip": "LeftUpLeg",
                "left_collar": "LeftShoulder",
                "left_shoulder": "LeftArm",
                "neck": "Neck",
            },
        ),
        (
            "asf",
            {
                "pelvis": "root",
                "spine1": "lowerback",
                "spine2": "upperback",
                "spine3": "thorax",
                "left_hip": "lfemur",
                "left_knee": "ltibia",
                "left_shoulder": "lhumerus",
                "neck": "lowerneck",
            },
        ),
        (
            "3dsmax",
            {
                "pelvis": "Hips",
                "spine3": "Chest2",
                "left_hip": "LeftHip",
                "left_collar": "LeftCollar",
                "left_shoulder": "LeftShoulder",
                "left_wrist": "LeftWrist",
            },
        ),
        (
            "reallusion",
            {
                "pelvis": "CC_Base_Hip",
                "spine1": "CC_Base_Waist",
                "spine3": "CC_Base_Spine02",
                "left_hip": "CC_Base_L_Thigh",
                "neck": "CC_Base_NeckTwist01",
                "head": "CC_Base_Head",
            },
        ),
        (
            "blender",
            {
                "pelvis": "pelvis",
                "spine1": "spine",
                "spine3": "spine.001",
                "left_hip": "thigh.L",
                "left_shoulder": "upper_arm.L",
                "head": "face",
            },
        ),
    ],
)
def test_real_rigs_map_by_convention(rig_motions, rig, expected):
    sk = rig_motions[rig].skeleton
    m = find_joint_map(sk)
    assert m.convention == rig
    assert expected.items() <= named(m, sk).items()
    # every joint takes one role, and the required ones are all there
    assert len(set(m.joints.values())) == len(m.joints)


def test_reallusion_twist_finger_and_face_bones_are_left_out(rig_motions):
    sk = rig_motions["reallusion"].skeleton
    used = set(named(find_joint_map(sk), sk).values())
    assert not {n for n in used if "Twist" in n and "Neck" not in n}
    assert not {n for n in used if any(k in n for k in ("Index", "Thumb", "Jaw", "Eye", "Tongue", "Breast"))}


def test_reactidle_lacks_hands_and_toes_but_has_their_end_sites(rig_motions):
    sk = rig_motions["blender"].skeleton
    m = find_joint_map(sk)
    assert m.missing == ("spine2", "left_foot", "right_foot", "left_wrist", "right_wrist")
    assert set(m.end_points) == {"left_wrist", "right_wrist", "left_foot", "right_foot"}
    assert "no spine2, left_foot" in m.describe(sk)


def _tree(names_parents: list[tuple[str, str | None]]) -> Skeleton:
    """A skeleton from (name, parent name) pairs in topological order, unit offsets pointing down a line."""
    names = [n for n, _ in names_parents]
    parents = [-1 if p is None else names.index(p) for _, p in names_parents]
    offsets = torch.zeros(len(names), 3)
    for j in range(1, len(names)):
        offsets[j] = torch.tensor([0.1 * (j % 3), 1.0, 0.05 * j])
    return Skeleton(tuple(names), tuple(parents), offsets)


def _humanoid(name: str) -> list[tuple[str, str | None]]:
    """A generic humanoid tree with names made by ``name(role)``."""
    out = [(name("hips"), None), (name("spine"), name("hips")), (name("spine1"), name("spine")), (name("spine2"), name("spine1")),
           (name("neck"), name("spine2")), (name("head"), name("neck"))]  # fmt: skip
    for s in ("L", "R"):
        out += [(name(f"shoulder{s}"), name("spine2")), (name(f"arm{s}"), name(f"shoulder{s}")), (name(f"forearm{s}"), name(f"arm{s}")),
                (name(f"hand{s}"), name(f"forearm{s}")), (name(f"upleg{s}"), name("hips")), (name(f"leg{s}"), name(f"upleg{s}")),
                (name(f"foot{s}"), name(f"leg{s}")), (name(f"toe{s}"), name(f"foot{s}"))]  # fmt: skip
    return out


MIXAMO = {"hips": "Hips", "spine": "Spine", "spine1": "Spine1", "spine2": "Spine2", "neck": "Neck", "head": "Head"}
MIXAMO |= {f"{r}{s}": f"{side}{n}" for s, side in (("L", "Left"), ("R", "Right")) for r, n in (
    ("shoulder", "Shoulder"), ("arm", "Arm"), ("forearm", "ForeArm"), ("hand", "Hand"), ("upleg", "UpLeg"), ("leg", "Leg"), ("foot", "Foot"), ("toe", "ToeBase"))}  # fmt: skip
RIGIFY = {
    "hips": "spine",
    "spine": "spine.001",
    "spine1": "spine.002",
    "spine2": "spine.003",
    "neck": "spine.004",
    "head": "spine.006",
}
RIGIFY |= {f"{r}{s}": f"{n}.{s}" for s in "LR" for r, n in (
    ("shoulder", "shoulder"), ("arm", "upper_arm"), ("forearm", "forearm"), ("hand", "hand"), ("upleg", "thigh"), ("leg", "shin"), ("foot", "foot"), ("toe", "toe"))}  # fmt: skip


def test_mixamo_with_its_namespace_prefix():
    sk = _tree(_humanoid(lambda r: f"mixamorig:{MIXAMO[r]}"))
    m = find_joint_map(sk)
    assert m.convention == "motionbuilder" and m.missing == ()
    got = named(m, sk)
    assert got["left_hip"] == "mixamorig:LeftUpLeg" and got["left_collar"] == "mixamorig:LeftShoulder"
    assert (got["spine1"], got["spine2"], got["spine3"]) == ("mixamorig:Spine", "mixamorig:Spine1", "mixamorig:Spine2")


def test_rigify_deform_bones():
    sk = _tree(_humanoid(lambda r: f"DEF-{RIGIFY[r]}"))
    m = find_joint_map(sk)
    got = named(m, sk)
    assert m.convention == "blender"
    assert got["pelvis"] == "DEF-spine" and got["spine3"] == "DEF-spine.003" and got["head"] == "DEF-spine.006"
    assert got["left_hip"] == "DEF-thigh.L" and got["left_elbow"] == "DEF-forearm.L"


@pytest.mark.parametrize("model_type", ["smpl", "smplh", "smplx"])
def test_smpl_family_maps_one_to_one(model_type):
    sk = smpl_skeleton(model_type)
    m = find_joint_map(sk)
    assert m.convention == "smpl" and m.missing == ()
    assert named(m, sk) == {n: n for n in BODY_JOINTS}


def test_human36m_keypoint_tree():
    sk = Skeleton(H36M17.joint_names, H36M17.parents, torch.randn(17, 3))
    m = find_joint_map(sk)
    got = named(m, sk)
    assert m.convention == "h36m"
    assert (got["pelvis"], got["spine1"], got["spine3"], got["neck"]) == ("Hip", "Spine", "Thorax", "Neck/Nose")
    assert got["left_ankle"] == "LFoot" and "left_collar" in m.missing


def test_unmappable_rig_names_what_it_cannot_place():
    sk = _tree(_humanoid(lambda r: f"bone_{r}"))
    with pytest.raises(ValidationError) as e:
        find_joint_map(sk, source="rig.bvh")
    text = str(e.value)
    assert text.startswith("rig.bvh: cannot place left_hip")
    assert "closest: bone_" in text and "--map" in text and "\n" not in text


def test_mapping_file_maps_any_rig(tmp_path):
    sk = _tree(_humanoid(lambda r: f"bone_{r}"))
    path = tmp_path / "rig.map"
    lines = ["# canonical = rig", "pelvis = bone_hips"]
    for s, side in (("L", "left"), ("R", "right")):
        lines += [f"{side}_hip = bone_upleg{s}", f"{side}_knee = bone_leg{s}", f"{side}_ankle = bone_foot{s}  # ankle",
                  f"{side}_shoulder = bone_arm{s}", f"{side}_elbow = bone_forearm{s}", f"{side}_wrist = bone_hand{s}",
                  f"{side}_collar = bone_shoulder{s}"]  # fmt: skip
    lines += ["head = bone_head", ""]
    path.write_text("\n".join(lines))
    m = find_joint_map(sk, path)
    got = named(m, sk)
    assert got["left_knee"] == "bone_legL" and got["head"] == "bone_head"
    # the trunk still comes from the tree
    assert (got["spine1"], got["spine2"], got["spine3"], got["neck"]) == (
        "bone_spine",
        "bone_spine1",
        "bone_spine2",
        "bone_neck",
    )


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("pelvis Hips\n", "expected 'canonical_joint = rig_joint'", 1),
        ("pelvis = Hips\nleft_knees = LeftLeg\n", "'left_knees' is not a canonical joint (closest: left_knee", 2),
        ("pelvis = Hips\n\npelvis = Root\n", "'pelvis' is mapped twice (first on line 1)", 3),
        ("# nothing\n", "no 'canonical_joint = rig_joint' lines", None),
    ],
)
def test_bad_mapping_files_name_the_line(tmp_path, text, message, line):
    path = tmp_path / "bad.map"
    path.write_text(text)
    with pytest.raises(FormatError) as e:
        read_joint_map_file(path)
    assert message in str(e.value) and e.value.line == line and str(path) in str(e.value)


def test_mapping_to_a_joint_the_rig_lacks(tmp_path, rig_motions):
    path = tmp_path / "typo.map"
    path.write_text("left_knee = LeftLegg\n")
    with pytest.raises(
        ValidationError, match=r"typo.map, line 1: .* has no joint 'LeftLegg' for left_knee \(closest: LeftLeg"
    ):
        find_joint_map(rig_motions["motionbuilder"].skeleton, path, source="01_01.bvh")
