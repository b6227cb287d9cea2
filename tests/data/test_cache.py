"""The prepared-cache format, on synthetic takes: writing, loading, and refusing incomplete folders."""

import json
import time

import pytest
import torch

from poseprior.data.cache import (
    MANIFEST,
    TakePoses,
    begin_prepare,
    read_manifest,
    write_prepared,
)
from poseprior.data.dataset import PoseDataset, load_prepared
from poseprior.data.protocol import BANDAI_JOINTS, canonical_skeleton, extract_poses
from poseprior.errors import FormatError, ValidationError

from .conftest import RAW_BANDAI


def _take(motion, name, **labels):
    sk = canonical_skeleton(motion.skeleton, RAW_BANDAI)
    return TakePoses.from_skeleton(
        name, f"test:{name}", extract_poses(motion, RAW_BANDAI), motion.num_frames, motion.fps, sk, labels
    )


@pytest.fixture
def prepared(tmp_path, make_motion):
    motions = {"train": [make_motion(10, 0), make_motion(7, 1)], "val": [make_motion(5, 2)], "test": []}
    takes = {s: [_take(m, f"{s}{i}.bvh", style=f"s{i}") for i, m in enumerate(ms)] for s, ms in motions.items()}
    out = begin_prepare(tmp_path / "prep")
    summary = write_prepared(
        out, takes, dataset="test", protocol=RAW_BANDAI, unit=10.0, source={"path": "x"}, started=time.perf_counter()
    )
    return out, motions, summary


def test_counts_and_manifest(prepared):
    out, motions, summary = prepared
    assert {s: (c.takes, c.frames, c.poses) for s, c in summary.splits.items()} == {
        "train": (2, 17, 7),
        "val": (1, 5, 2),
        "test": (0, 0, 0),
    }
    m = read_manifest(out)
    assert m["protocol"]["name"] == "bandai-raw" and m["fps"] == 10.0 and m["unit"] == 10.0
    assert m["joint_names"] == list(BANDAI_JOINTS) and m["root"] == "Hips"
    assert set(m["files"]) == {"train.pt", "val.pt", "test.pt", "skeleton.json"}


def test_load_prepared(prepared):
    out, motions, _ = prepared
    data = load_prepared(out)
    train = data["train"]
    assert train.rotations.shape == (7, 20, 3, 3) and train.rotations.dtype == torch.float32
    assert train.root_rotation.shape == (7, 3, 3) and train.root_position.shape == (7, 3)
    assert train.take.tolist() == [0, 0, 0, 0, 1, 1, 1] and train.frame.tolist() == [0, 3, 6, 9, 0, 3, 6]
    assert train.take_names == ["train0.bvh", "train1.bvh"] and train.take_frames.tolist() == [10, 7]
    assert train.labels("style") == ["s0"] * 4 + ["s1"] * 3
    idx = motions["train"][1].skeleton.indices(BANDAI_JOINTS)
    torch.testing.assert_close(train.rotations[5], motions["train"][1].rotations[3, idx].float())
    # canonical offsets: the mean over the train takes only, per-take offsets kept
    per_take = [canonical_skeleton(m.skeleton, RAW_BANDAI).offsets for m in motions["train"]]
    torch.testing.assert_close(train.take_offsets, torch.stack(per_take))
    mean = torch.stack(per_take).mean(0)
    mean[0] = 0.0  # the root offset is zeroed
    torch.testing.assert_close(data.skeleton.offsets, mean)
    assert data.skeleton.joint_names == ("Hips", *BANDAI_JOINTS) and data.joint_names == BANDAI_JOINTS
    assert data.protocol == RAW_BANDAI and data["test"].rotations.shape == (0, 20, 3, 3)
    with pytest.raises(ValidationError, match="nope"):
        load_prepared(out, ["nope"])
    with pytest.raises(ValidationError, match="kind"):
        train.labels("content")


def test_pose_dataset(prepared):
    out, _, _ = prepared
    ds = PoseDataset(out, "val", dtype=torch.float64)
    assert len(ds) == 2 and ds[1].shape == (20, 3, 3) and ds[1].dtype == torch.float64
    assert ds.rotations.shape == (2, 20, 3, 3) and ds.data.take_names == ["val0.bvh"]
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))
    torch.testing.assert_close(batch, ds.rotations)


def test_incomplete_folder_is_refused(prepared, tmp_path):
    out, _, _ = prepared
    (out / "val.pt").write_bytes(b"truncated")
    with pytest.raises(FormatError, match="val.pt.*re-run `poseprior data prepare"):
        PoseDataset(out, "train")
    begin_prepare(out)  # what a new (then interrupted) prepare run does first
    assert not (out / MANIFEST).exists()
    with pytest.raises(FormatError, match="prepared.json: missing.*re-run"):
        load_prepared(out)
    with pytest.raises(FormatError, match="no such prepared"):
        PoseDataset(tmp_path / "absent")
    (out / MANIFEST).write_text(json.dumps({"format": "poseprior-prepared", "version": 99, "files": {}}))
    with pytest.raises(FormatError, match="version 99"):
        load_prepared(out)
    (out / MANIFEST).write_text("{")
    with pytest.raises(FormatError, match="not valid JSON"):
        load_prepared(out)


def test_takes_with_another_tree_are_rejected(tmp_path, make_motion):
    a = _take(make_motion(3), "a.bvh")
    b = _take(make_motion(3), "b.bvh")
    b = TakePoses(b.name, b.source, b.poses, b.num_frames, b.fps, b.joint_names[::-1], b.parents, b.offsets)
    with pytest.raises(FormatError, match="test:b.bvh: skeleton"):
        write_prepared(tmp_path, {"train": [a, b]}, dataset="t", protocol=RAW_BANDAI, unit=10.0, source={}, started=0.0)
    assert not (tmp_path / MANIFEST).exists()
