"""``poseprior convert``: round trips among BVH, ASF/AMC, AMASS and the interchange npz, resampling, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from poseprior.cli.app import app, main
from poseprior.data.clips import sample_clip
from poseprior.errors import ValidationError
from poseprior.geometry import random_rotations
from poseprior.io import Motion
from poseprior.io.formats import read_motion, write_motion
from poseprior.skeleton.smpl import smpl_skeleton, template_rest_joints

runner = CliRunner()


def convert(*args: str) -> str:
    result = runner.invoke(app, ["convert", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def assert_same_motion(a: Motion, b: Motion, atol_mm: float = 1e-2) -> None:
    assert a.joint_names == b.joint_names and a.num_frames == b.num_frames and a.fps == b.fps
    torch.testing.assert_close(a.positions(millimetres=True), b.positions(millimetres=True), atol=atol_mm, rtol=0)


@pytest.fixture(scope="module")
def clip() -> Motion:
    return read_motion(sample_clip())


def test_bvh_to_npz_to_bvh(tmp_path, clip):
    out = convert(sample_clip(), tmp_path / "clip.npz")
    assert "31 joints, 121 frames, 30 fps, 4.00 s, unit cm" in out and "clip.npz" in out
    npz = read_motion(tmp_path / "clip.npz")
    assert torch.equal(npz.rotations, clip.rotations)  # the npz is exact
    assert npz.metadata["bvh_channels"] == clip.metadata["bvh_channels"]  # and keeps the BVH channel layout
    convert(tmp_path / "clip.npz", tmp_path / "back.bvh")
    back = read_motion(tmp_path / "back.bvh")
    assert_same_motion(back, clip)
    assert (tmp_path / "back.bvh").read_text().splitlines()[4] == (sample_clip()).read_text().splitlines()[
        4
    ]  # same CHANNELS


def test_bvh_to_amc_to_bvh(tmp_path, clip):
    out = convert(sample_clip(), tmp_path / "clip.amc")
    assert "clip.asf" in out and "clip.amc" in out
    amc = read_motion(tmp_path / "clip.amc", fps=30)
    assert amc.joint_names == ("root", *clip.joint_names[1:])  # an ASF root is always called root
    torch.testing.assert_close(amc.positions(millimetres=True), clip.positions(millimetres=True), atol=1e-2, rtol=0)
    convert(tmp_path / "clip.amc", tmp_path / "back.bvh")  # AMC has no frame rate: read at 120 fps
    assert read_motion(tmp_path / "back.bvh").fps == 120.0


def test_cmu_amc_with_unit_and_skeleton_options(tmp_path, cmu_dir):
    # The CMU BVH conversion is in ASF units: --unit asf reads it at the right size, as the AMC is.
    out = convert(cmu_dir / "11_01.amc", tmp_path / "a.npz", "--skeleton", cmu_dir / "11.asf", "--fps", "10")
    assert "120 -> 10 fps" in out
    amc = read_motion(tmp_path / "a.npz")
    assert amc.fps == 10.0 and amc.num_frames == 50  # 597 frames at 120 fps last 4.97 s
    hips = amc.positions(millimetres=True)[:, 0]
    assert 700 < float(hips[:, 1].mean()) < 1200  # the pelvis is about a metre up: lengths are right


def test_fps_resamples(tmp_path, clip):
    out = convert(sample_clip(), tmp_path / "half.bvh", "--fps", "15")
    assert "30 -> 15 fps" in out and "61 frames" in out
    half = read_motion(tmp_path / "half.bvh")
    assert half.fps == 15.0 and half.num_frames == 61
    torch.testing.assert_close(half.positions()[::2], clip.positions()[::4], atol=1e-3, rtol=0)


def test_unit_option_reinterprets_the_input(tmp_path, clip):
    convert(sample_clip(), tmp_path / "mm.npz", "--unit", "mm")
    m = read_motion(tmp_path / "mm.npz")
    assert m.unit == 1.0 and torch.equal(m.root_translation, clip.root_translation)
    convert(sample_clip(), tmp_path / "num.npz", "--unit", "25.4")
    assert read_motion(tmp_path / "num.npz").unit == 25.4


def test_amass_round_trip(tmp_path):
    sk = smpl_skeleton("smplh", template_rest_joints("smplh"))
    R = random_rotations(4, sk.num_joints, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    motion = Motion(sk, R, sk.offsets[0].expand(4, 3).clone(), fps=60.0, unit="m")
    write_motion(motion, tmp_path / "a_poses.npz", format="amass")
    convert(tmp_path / "a_poses.npz", tmp_path / "i.npz")
    assert "format" in np.load(tmp_path / "i.npz").files
    out = convert(tmp_path / "i.npz", tmp_path / "b_poses.npz", "--to", "amass")
    assert "52 joints" in out
    back = read_motion(tmp_path / "b_poses.npz")
    assert back.metadata["format"] == "amass"
    assert_same_motion(back, motion, atol_mm=1e-6)


def test_errors(tmp_path, monkeypatch, capsys):
    with pytest.raises(ValidationError, match=r"\.bvh, \.amc, \.npz"):
        convert(sample_clip(), tmp_path / "x.fbx")
    # the console entry point turns the error into one line on stderr and exit status 2
    monkeypatch.setattr(sys, "argv", ["poseprior", "convert", str(tmp_path / "missing.bvh"), str(tmp_path / "x.npz")])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "missing.bvh: no such file" in err
    assert not (tmp_path / "x.npz").exists()
