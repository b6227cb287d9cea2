"""Format dispatch: each extension reaches its reader and writer, and every wrong input is named."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest
import torch

from poseprior.errors import FormatError, ValidationError
from poseprior.geometry import random_rotations
from poseprior.io import Motion
from poseprior.io.asf_amc import read_amc
from poseprior.io.bvh import read_bvh
from poseprior.io.formats import find_asf, read_motion, write_motion
from poseprior.io.npz import read_motion_npz, write_motion_npz
from poseprior.skeleton.smpl import smpl_skeleton, template_rest_joints


@pytest.fixture(scope="module")
def amc_motion(cmu_dir) -> Motion:
    """CMU 11_01, first 40 frames (the reader is the slow part; trimming keeps the writers fast)."""
    return read_amc(cmu_dir / "11_01.amc", cmu_dir / "11.asf").frames(slice(0, 40))


@pytest.fixture(scope="module")
def bvh_file(tmp_path_factory, amc_motion):
    path = tmp_path_factory.mktemp("bvh") / "clip.bvh"
    write_motion(amc_motion, path)
    return path


def smplh_motion(T: int = 5) -> Motion:
    sk = smpl_skeleton("smplh", template_rest_joints("smplh"))
    R = random_rotations(T, sk.num_joints, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    root = sk.offsets[0] + torch.linspace(0, 1, T, dtype=torch.float64)[:, None] * torch.tensor(
        [1.0, 0, 0], dtype=torch.float64
    )
    return Motion(sk, R, root, fps=60.0, unit="m", metadata={"betas": [0.0] * 16, "gender": "neutral"})


def same_positions_mm(a: Motion, b: Motion, atol: float = 1e-3) -> None:
    assert a.num_frames == b.num_frames and a.fps == b.fps
    torch.testing.assert_close(a.positions(millimetres=True), b.positions(millimetres=True), atol=atol, rtol=0)


# ----------------------------------------------------------------------------------------------------- BVH
def test_bvh_is_read_by_read_bvh(bvh_file):
    m = read_motion(bvh_file)
    ref = read_bvh(bvh_file)
    assert torch.equal(m.rotations, ref.rotations) and m.unit == 10.0


def test_bvh_is_written_in_centimetres_so_it_reads_back_at_the_same_size(bvh_file, amc_motion):
    assert amc_motion.unit == pytest.approx(25.4 / 0.45)  # ASF units in memory
    same_positions_mm(read_motion(bvh_file), amc_motion)


def test_bvh_member_of_a_zip(tmp_path, bvh_file):
    archive = tmp_path / "takes.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(bvh_file, "data/clip.bvh")
    m = read_motion(f"{archive}:data/clip.bvh")
    assert torch.equal(m.rotations, read_bvh(bvh_file).rotations)
    with pytest.raises(FormatError, match="no such member"):
        read_motion(f"{archive}:data/other.bvh")


def test_bandai_member(bandai_dir):
    m = read_motion(bandai_dir / "bandai-namco-motion-1.zip:data/dataset-1_walk_normal_001.bvh")
    assert m.joint_names[:2] == ("joint_Root", "Hips") and m.fps == 30.0


def test_unit_and_fps_overrides(bvh_file):
    m = read_motion(bvh_file, unit="mm", fps=60)
    ref = read_motion(bvh_file)
    assert m.unit == 1.0 and m.fps == 60.0
    assert torch.equal(m.root_translation, ref.root_translation)  # the numbers are reinterpreted, not rescaled
    with pytest.raises(ValidationError, match="unit"):
        read_motion(bvh_file, unit="furlong")
    with pytest.raises(ValidationError, match="fps"):
        read_motion(bvh_file, fps=0)


# ------------------------------------------------------------------------------------------------- ASF/AMC
def test_amc_finds_its_asf_by_cmu_naming(cmu_dir):
    assert find_asf(cmu_dir / "11_01.amc") == cmu_dir / "11.asf"
    assert find_asf(cmu_dir / "01_01.amc") == cmu_dir / "01.asf"


def test_amc_write_writes_asf_beside_it_and_reads_back(tmp_path, amc_motion):
    written = write_motion(amc_motion, tmp_path / "take.amc")
    assert written == [tmp_path / "take.asf", tmp_path / "take.amc"]
    back = read_motion(tmp_path / "take.amc")  # same stem .asf
    assert back.unit == pytest.approx(amc_motion.unit)
    same_positions_mm(back, amc_motion)
    assert read_motion(tmp_path / "take.amc", fps=60).fps == 60.0  # AMC stores no rate: 120 unless told


def test_amc_with_explicit_skeleton_and_missing_skeleton(tmp_path, amc_motion):
    write_motion(amc_motion, tmp_path / "a.amc")
    (tmp_path / "b").mkdir()
    shutil.move(tmp_path / "a.amc", tmp_path / "b" / "07_03.amc")
    with pytest.raises(FormatError) as e:
        read_motion(tmp_path / "b" / "07_03.amc")
    msg = str(e.value)
    assert "07_03.asf" in msg and "07.asf" in msg and "--skeleton" in msg  # lists every path tried
    m = read_motion(tmp_path / "b" / "07_03.amc", skeleton_file=tmp_path / "a.asf")
    same_positions_mm(m, amc_motion)
    with pytest.raises(FormatError, match="nothere.asf"):
        read_motion(tmp_path / "b" / "07_03.amc", skeleton_file=tmp_path / "nothere.asf")


# ----------------------------------------------------------------------------------------------------- npz
def test_interchange_npz(tmp_path, amc_motion):
    assert write_motion(amc_motion, tmp_path / "m.npz") == [tmp_path / "m.npz"]
    m = read_motion(tmp_path / "m.npz")
    assert torch.equal(m.rotations, amc_motion.rotations) and m.unit == amc_motion.unit
    assert read_motion(tmp_path / "m.npz", unit="cm").unit == 10.0


def test_amass_npz_is_told_apart_by_its_keys(tmp_path):
    motion = smplh_motion()
    write_motion(motion, tmp_path / "a_poses.npz", format="amass")
    with np.load(tmp_path / "a_poses.npz") as z:
        assert {"poses", "trans"} <= set(z.files)
    m = read_motion(tmp_path / "a_poses.npz")
    assert m.metadata["format"] == "amass" and m.unit == 1000.0 and m.fps == 60.0
    torch.testing.assert_close(m.rotations, motion.rotations, atol=1e-9, rtol=0)
    torch.testing.assert_close(m.root_translation, motion.root_translation, atol=1e-9, rtol=0)
    # an AMASS motion also converts to the interchange npz and back
    write_motion(m, tmp_path / "i.npz")
    assert "format" in np.load(tmp_path / "i.npz").files
    same_positions_mm(read_motion(tmp_path / "i.npz"), m, atol=1e-9)


def test_npz_of_unknown_layout(tmp_path):
    np.savez(tmp_path / "x.npz", foo=np.zeros(3), bar=np.ones(2))
    with pytest.raises(FormatError, match=r"keys \['bar', 'foo'\]"):
        read_motion(tmp_path / "x.npz")
    np.savez(tmp_path / "k.npz", positions=np.zeros((2, 17, 3)), layout=np.str_("h36m17"), fps=50.0, unit=1.0)
    with pytest.raises(FormatError, match="read_keypoints_npz"):
        read_motion(tmp_path / "k.npz")
    (tmp_path / "y.npz").write_text("not a zip")
    with pytest.raises(FormatError, match="not an npz"):
        read_motion(tmp_path / "y.npz")


def test_interchange_npz_detected_without_format_key(tmp_path, amc_motion):
    write_motion_npz(amc_motion, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        arrays = {k: z[k] for k in z.files if k != "format"}
    np.savez(tmp_path / "n.npz", **arrays)
    assert torch.equal(read_motion(tmp_path / "n.npz").rotations, read_motion_npz(tmp_path / "m.npz").rotations)


# ------------------------------------------------------------------------------------------------- errors
def test_unknown_extensions(tmp_path, amc_motion):
    with pytest.raises(ValidationError, match=r"\.bvh, \.amc, \.npz"):
        read_motion(tmp_path / "a.fbx")
    with pytest.raises(ValidationError, match="give the .amc"):
        read_motion(tmp_path / "a.asf")
    with pytest.raises(ValidationError, match=r"\.bvh, \.amc, \.npz"):
        write_motion(amc_motion, tmp_path / "out.c3d")
    with pytest.raises(ValidationError, match="extension .npz"):
        write_motion(amc_motion, tmp_path / "out.bvh", format="amass")
    with pytest.raises(ValidationError, match="format"):
        write_motion(amc_motion, tmp_path / "out.npz", format="fbx")
    with pytest.raises(FormatError, match="no such file"):
        read_motion(tmp_path / "missing.bvh")
