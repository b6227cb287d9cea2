"""The interchange npz: exact round trips and a clear error for every kind of bad file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from poseprior.errors import FormatError
from poseprior.geometry import random_rotations
from poseprior.io import Motion
from poseprior.io.npz import FORMAT, read_motion_npz, write_motion_npz
from poseprior.skeleton import Skeleton


def make_motion(T: int = 7, translations: bool = False, dtype=torch.float64) -> Motion:
    g = torch.Generator().manual_seed(0)
    sk = Skeleton(
        ("Hips", "Spine", "LeftLeg", "RightLeg"),
        (-1, 0, 0, 0),
        torch.tensor([[0.0, 90, 0], [0, 10, 0], [10, -5, 0], [-10, -5, 0]]),
        (1, 2),
        torch.tensor([[0.0, 20, 0], [0, -40, 0]]),
    )
    R = random_rotations(T, 4, generator=g, dtype=dtype)
    root = torch.randn(T, 3, generator=g, dtype=dtype) * 50
    tr = sk.offsets.to(dtype).expand(T, 4, 3) + torch.randn(T, 4, 3, generator=g, dtype=dtype) if translations else None
    return Motion(
        sk, R, root, fps=30.0, unit=10.0, translations=tr, metadata={"channels": [["Xposition"]], "obj": object()}
    )


def assert_same_motion(a: Motion, b: Motion) -> None:
    assert a.skeleton.joint_names == b.skeleton.joint_names
    assert a.skeleton.parents == b.skeleton.parents
    assert a.skeleton.end_site_parents == b.skeleton.end_site_parents
    assert torch.equal(a.skeleton.offsets, b.skeleton.offsets)
    assert torch.equal(a.skeleton.end_site_offsets, b.skeleton.end_site_offsets)
    assert a.rotations.dtype == b.rotations.dtype
    assert torch.equal(a.rotations, b.rotations)
    assert torch.equal(a.root_translation, b.root_translation)
    assert (a.translations is None) == (b.translations is None)
    if a.translations is not None:
        assert torch.equal(a.translations, b.translations)
    assert a.fps == b.fps and a.unit == b.unit


@pytest.mark.parametrize("translations", [False, True])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_round_trip_is_exact(tmp_path, translations, dtype):
    m = make_motion(translations=translations, dtype=dtype)
    write_motion_npz(m, tmp_path / "m.npz")
    back = read_motion_npz(tmp_path / "m.npz")
    assert_same_motion(m, back)
    assert back.metadata["channels"] == [["Xposition"]]  # JSON-able metadata survives, the rest is dropped
    assert "obj" not in back.metadata
    assert list(tmp_path.iterdir()) == [tmp_path / "m.npz"]  # atomic write leaves no temporary file


def test_file_is_plain_arrays_with_documented_keys(tmp_path):
    m = make_motion()
    write_motion_npz(m, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:  # allow_pickle=False by default: no object arrays inside
        keys = set(z.files)
        assert {
            "format",
            "joint_names",
            "parents",
            "offsets",
            "rotations",
            "root_translation",
            "positions",
            "fps",
            "unit_mm",
        } <= keys
        assert str(z["format"]) == FORMAT
        assert z["joint_names"].dtype.kind == "U" and list(z["joint_names"]) == list(m.joint_names)
        assert z["rotations"].shape == (7, 4, 3, 3)
        assert z["fps"].shape == () and float(z["unit_mm"]) == 10.0
        # positions are the forward kinematics of the stored rotations, in the file's unit
        np.testing.assert_allclose(z["positions"], m.positions().numpy(), atol=1e-9)
        assert json.loads(str(z["metadata"])) == {"channels": [["Xposition"]]}


def _rewrite(tmp_path, **changes) -> str:
    """Write a valid file, then a copy with some keys replaced (or removed when the value is None)."""
    write_motion_npz(make_motion(), tmp_path / "ok.npz")
    with np.load(tmp_path / "ok.npz") as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    out = tmp_path / "bad.npz"
    np.savez(out, **arrays)
    return str(out)


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"rotations": None}, ["missing", "rotations"]),
        ({"positions": None}, ["missing", "positions"]),
        ({"rotations": np.zeros((7, 4, 3))}, ["rotations", "shape"]),
        ({"root_translation": np.zeros((6, 3))}, ["root_translation", "(7, 3)"]),
        ({"offsets": np.full((4, 3), np.nan)}, ["offsets", "NaN"]),
        ({"root_translation": np.full((7, 3), np.inf)}, ["root_translation", "NaN or inf"]),
        ({"rotations": np.ones((7, 4, 3, 3))}, ["rotations", "not a rotation"]),
        ({"parents": np.array([0, 0, 0, 0])}, ["parents", "root"]),
        ({"parents": np.array([-1.0, 0, 0, 0])}, ["parents", "integers"]),
        ({"joint_names": np.array([1, 2, 3, 4])}, ["joint_names", "unicode"]),
        ({"fps": np.array([30.0])}, ["fps"]),
        ({"format": np.array("poseprior-motion/9")}, ["format", "poseprior-motion/1"]),
        ({"end_site_offsets": None}, ["end_site_parents", "end_site_offsets"]),
        ({"metadata": np.array("{oops")}, ["metadata", "JSON"]),
    ],
)
def test_bad_files_raise_format_error_naming_file_and_key(tmp_path, changes, words):
    bad = _rewrite(tmp_path, **changes)
    with pytest.raises(FormatError) as e:
        read_motion_npz(bad)
    assert e.value.path == bad
    for w in words:
        assert w in str(e.value)


def test_not_an_npz(tmp_path):
    (tmp_path / "x.npz").write_text("HIERARCHY\n")
    with pytest.raises(FormatError, match="not a readable npz"):
        read_motion_npz(tmp_path / "x.npz")
    np.save(tmp_path / "y.npy", np.zeros(3))
    with pytest.raises(FormatError, match="not a readable npz"):
        read_motion_npz(tmp_path / "y.npy")
    with pytest.raises(FormatError, match="no such file"):
        read_motion_npz(tmp_path / "missing.npz")


def test_pickled_arrays_are_refused(tmp_path):
    bad = _rewrite(tmp_path, joint_names=np.array(["a", 1, None, 2.0], dtype=object))
    with pytest.raises(FormatError, match="pickle"):
        read_motion_npz(bad)
