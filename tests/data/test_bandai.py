"""prepare_bandai on a small copy of the real zips (a few takes per split)."""

import json
import math
import shutil

import pytest
import torch

from poseprior.data.bandai import prepare_bandai, read_splits
from poseprior.data.cache import MANIFEST
from poseprior.data.dataset import PoseDataset, load_prepared
from poseprior.data.protocol import BANDAI_V1, extract_poses
from poseprior.errors import FormatError
from poseprior.io.bvh import read_bvh
from poseprior.retarget import Rig
from poseprior.retarget.rig import rig_profile
from poseprior.skeleton import forward_kinematics
from poseprior.skeleton.smpl import POSE_JOINTS

from .conftest import MINI_SPLITS, build_mini_bandai


@pytest.fixture(scope="module")
def prepared(mini_bandai, tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared")
    return out, prepare_bandai(mini_bandai, out, progress=False, workers=1)


def _motion(source, name):
    zip_name = "bandai-namco-motion-1.zip" if name.startswith("dataset-1") else "bandai-namco-motion-2.zip"
    return read_bvh(source / zip_name, member=f"data/{name}")


def test_counts_follow_the_takes(prepared, mini_bandai):
    out, summary = prepared
    data = load_prepared(out)
    for split, names in MINI_SPLITS.items():
        lengths = [_motion(mini_bandai, n).num_frames for n in names]
        s = data[split]
        assert s.take_names == names and s.take_frames.tolist() == lengths
        assert torch.bincount(s.take, minlength=len(names)).tolist() == [math.ceil(t / 3) for t in lengths]
        assert (summary.splits[split].takes, summary.splits[split].frames, summary.splits[split].poses) == (
            len(names),
            sum(lengths),
            len(s),
        )
    m = json.loads((out / MANIFEST).read_text())
    assert m["fps"] == 10.0 and m["unit"] == 10.0 and m["protocol"]["name"] == "bandai-v1"
    assert set(m["source"]["files"]) == {"bandai-namco-motion-1.zip", "bandai-namco-motion-2.zip", "splits.json"}


def test_poses_match_the_bvh(prepared, mini_bandai):
    """The cache holds the takes retargeted onto the canonical pose joints by the Bandai rig with its shipped
    twist profile: in the rig's proportions, their forward kinematics puts every joint where the BVH has it."""
    out, _ = prepared
    data = load_prepared(out)
    assert data.joint_names == POSE_JOINTS and data.skeleton.joint_names == ("pelvis", *POSE_JOINTS)
    val = data["val"]
    name = val.take_names[1]
    motion = _motion(mini_bandai, name)
    sel = val.take == 1
    assert val.frame[sel].tolist() == list(range(0, motion.num_frames, 3))
    rig = Rig.from_skeleton(motion.skeleton, motion.unit, source="bandai")
    rig = rig.with_profile(rig_profile(motion.skeleton, rig.joint_map.convention))
    expected = extract_poses(motion, BANDAI_V1, rig)
    for key in ("rotations", "root_rotation", "root_position"):
        torch.testing.assert_close(getattr(val, key)[sel], expected[key])
    R = torch.cat([val.root_rotation[sel][:, None], val.rotations[sel]], 1).double()
    p, _ = forward_kinematics(data.skeleton, R, val.root_position[sel].double())
    source = motion.positions()[::3, [rig.joint_map.joints[n] for n in data.skeleton.joint_names]]
    torch.testing.assert_close(p, source, atol=2e-3, rtol=0)  # centimetres; the cache is float32
    torch.testing.assert_close(val.take_offsets[1], rig.pose_skeleton().offsets)
    assert val.take_labels["style"] == ["musical", "active"] and val.take_labels["content"] == [
        "dash",
        "raise-up-both-hands",
    ]
    train = data["train"]
    torch.testing.assert_close(data.skeleton.offsets[1:], train.take_offsets[:, 1:].mean(0))
    assert data.skeleton.offsets[0].tolist() == [0.0, 0.0, 0.0]


def test_dataset(prepared):
    out, summary = prepared
    ds = PoseDataset(out, "train")
    assert len(ds) == summary.splits["train"].poses and ds[0].shape == (20, 3, 3)
    torch.testing.assert_close(
        ds.rotations.transpose(-1, -2) @ ds.rotations, torch.eye(3).expand_as(ds.rotations), atol=1e-5, rtol=0
    )


def test_two_workers_give_the_same_cache(prepared, mini_bandai, tmp_path):
    out, _ = prepared
    prepare_bandai(mini_bandai, tmp_path, progress=False, workers=2)
    a, b = load_prepared(out)["test"], load_prepared(tmp_path)["test"]
    assert a.take_names == b.take_names
    assert torch.equal(a.rotations, b.rotations) and torch.equal(a.root_position, b.root_position)


def test_missing_take_is_named(mini_bandai, tmp_path):
    source = tmp_path / "src"
    shutil.copytree(mini_bandai, source)
    splits = {**MINI_SPLITS, "test": [*MINI_SPLITS["test"], "dataset-1_nope_001.bvh"]}
    (source / "splits.json").write_text(json.dumps(splits))
    with pytest.raises(FormatError, match=r"splits.json: 1 take\(s\) not found .*dataset-1_nope_001.bvh"):
        prepare_bandai(source, tmp_path / "out", progress=False, workers=1)
    (source / "splits.json").write_text(json.dumps({"train": ["a.bvh"], "val": ["a.bvh"]}))
    with pytest.raises(FormatError, match="in both"):
        read_splits(source / "splits.json")


def test_interrupted_prepare_leaves_no_manifest(bandai_dir, mini_bandai, tmp_path):
    """A take failing mid-way (here a truncated file) aborts the run: the folder, complete before, is no
    longer read as complete; re-running on a good source completes it."""
    out = tmp_path / "out"
    prepare_bandai(mini_bandai, out, progress=False, workers=1)
    assert (out / MANIFEST).exists()
    bad = MINI_SPLITS["val"][1]

    def truncate(name, text):
        return text[: len(text) * 2 // 3] if name == bad else text

    broken = build_mini_bandai(bandai_dir, tmp_path / "broken", edit=truncate)
    with pytest.raises(FormatError, match=f"bandai-namco-motion-2.zip:data/{bad}"):
        prepare_bandai(broken, out, progress=False, workers=1)
    assert not (out / MANIFEST).exists()
    assert not list(out.glob(".*.tmp*"))
    with pytest.raises(FormatError, match="re-run `poseprior data prepare"):
        PoseDataset(out, "train")
    prepare_bandai(mini_bandai, out, progress=False, workers=1)
    assert len(PoseDataset(out, "val")) > 0


def test_take_with_other_joints_is_rejected(bandai_dir, tmp_path):
    splits = {"train": MINI_SPLITS["train"][:2]}
    bad = splits["train"][1]

    def rename(name, text):
        return text.replace("JOINT Toes_R", "JOINT Toe_R") if name == bad else text

    source = build_mini_bandai(bandai_dir, tmp_path / "src", splits=splits, edit=rename)
    with pytest.raises(FormatError, match=f"{bad}: expected the joints .*Toe_R"):
        prepare_bandai(source, tmp_path / "out", progress=False, workers=1)
