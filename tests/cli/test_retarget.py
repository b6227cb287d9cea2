"""``poseprior retarget``, and the commands that take a motion or keypoints on any humanoid rig (score, denoise,
interpolate, fit3d, ik) with their default models: they retarget on the way in, say so in one line, and write
motions back on the input's own rig."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from poseprior.cli.app import app, main
from poseprior.io import Keypoints, read_motion, write_keypoints_npz, write_motion
from poseprior.retarget import source_rig, to_body
from poseprior.skeleton.smpl import BODY_JOINTS

runner = CliRunner()
CMU = Path(__file__).resolve().parents[2] / "src" / "poseprior" / "assets" / "cmu_01_01.bvh"


def invoke(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def run_main(monkeypatch, capsys, *args: object) -> tuple[int, str]:
    """The console entry point, as a user runs it: ``(exit code, stderr)``."""
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.setattr(sys, "argv", ["poseprior", *map(str, args)])
    with pytest.raises(SystemExit) as stop:
        main()
    return stop.value.code, capsys.readouterr().err


@pytest.fixture(scope="module")
def cmu_clip(tmp_path_factory) -> Path:
    """30 frames of the CMU asset (MotionBuilder naming, 31 joints)."""
    path = tmp_path_factory.mktemp("cmu") / "cmu.bvh"
    write_motion(read_motion(CMU).frames(slice(0, 60, 2)), path)
    return path


def test_retarget_to_the_body_and_onto_another_rig(cmu_clip, bandai_dir, tmp_path):
    out = invoke("retarget", cmu_clip, tmp_path / "body.npz")
    assert "motionbuilder joint names" in out and "on the canonical body, 22 joints" in out
    body = read_motion(tmp_path / "body.npz")
    assert body.skeleton.joint_names == BODY_JOINTS and body.num_frames == 30
    torch.testing.assert_close(body.positions(), to_body(read_motion(cmu_clip))[0].positions())
    bandai = f"{bandai_dir / 'bandai-namco-motion-1.zip'}:data/dataset-1_bow_old_001.bvh"
    out = invoke("retarget", cmu_clip, tmp_path / "on_bandai.bvh", "--to", bandai)
    moved = read_motion(tmp_path / "on_bandai.bvh")
    assert "bandai joint names" in out and moved.skeleton.joint_names == read_motion(bandai).skeleton.joint_names


def test_retarget_with_a_mapping_file(cmu_clip, tmp_path):
    renamed = tmp_path / "renamed.bvh"
    renamed.write_text(cmu_clip.read_text().replace("Left", "Port").replace("Right", "Starboard"))
    mapping = tmp_path / "ship.map"
    lines = []
    for side, spelt in (("left", "Port"), ("right", "Starboard")):
        lines += [f"{side}_hip = {spelt}UpLeg", f"{side}_knee = {spelt}Leg", f"{side}_ankle = {spelt}Foot", f"{side}_foot = {spelt}ToeBase",
                  f"{side}_collar = {spelt}Shoulder", f"{side}_shoulder = {spelt}Arm", f"{side}_elbow = {spelt}ForeArm", f"{side}_wrist = {spelt}Hand"]  # fmt: skip
    mapping.write_text("\n".join(["# a ship's rig", "head = Head", *lines]))
    invoke("retarget", renamed, tmp_path / "mapped.npz", "--map", mapping)
    invoke("retarget", cmu_clip, tmp_path / "named.npz")
    torch.testing.assert_close(
        read_motion(tmp_path / "mapped.npz").positions(), read_motion(tmp_path / "named.npz").positions()
    )


def test_an_unmappable_rig_is_one_line_and_exit_2(cmu_clip, tmp_path, monkeypatch, capsys):
    renamed = tmp_path / "ship.bvh"
    renamed.write_text(cmu_clip.read_text().replace("Left", "Port").replace("Right", "Starboard"))
    for command in (("retarget", renamed, tmp_path / "x.npz"), ("score", renamed)):
        code, err = run_main(monkeypatch, capsys, *command)
        assert code == 2 and err.count("\n") == 1 and "ship.bvh: cannot place left_hip" in err and "--map" in err
    assert not (tmp_path / "x.npz").exists()


def test_score_denoise_and_interpolate_take_any_rig_with_the_defaults(cmu_clip, tmp_path):
    out = invoke("score", cmu_clip)
    assert "retargeted onto the canonical body" in out and out.strip().splitlines()[-1].startswith(
        "mean log-likelihood: "
    )
    out = invoke("denoise", cmu_clip, "-o", tmp_path / "clean.bvh", "--steps", "10")
    assert "written back on its rig" in out
    source, clean = read_motion(cmu_clip), read_motion(tmp_path / "clean.bvh")
    assert clean.skeleton.joint_names == source.skeleton.joint_names and clean.num_frames == source.num_frames
    # Joints outside the canonical body (the fingers) keep the input's rotations.
    fingers = source.skeleton.index("LThumb")
    torch.testing.assert_close(clean.rotations[:, fingers], source.rotations[:, fingers], atol=1e-5, rtol=0)
    out = invoke(
        "interpolate",
        cmu_clip,
        cmu_clip,
        "-o",
        tmp_path / "path.bvh",
        "--steps",
        "5",
        "--frame-a",
        "0",
        "--frame-b",
        "-1",
    )
    path = read_motion(tmp_path / "path.bvh")
    assert path.skeleton.joint_names == source.skeleton.joint_names and path.num_frames == 5
    # Both files of one rig are retargeted alike: the ends come back where they were, to a millimetre (the
    # joints outside the canonical body, such as the second neck joint, keep A's frame all along).
    joints = list(source_rig(source).joint_map.joints.values())
    torch.testing.assert_close(
        path.positions()[[0, -1]][:, joints], source.positions()[[0, -1]][:, joints], atol=0.1, rtol=0
    )


def test_fit3d_writes_a_motion_back_on_its_rig(cmu_clip, tmp_path):
    out = invoke("fit3d", cmu_clip, "-o", tmp_path / "fit.bvh", "--noise-mm", "5")
    assert "fitted on the canonical body, written on its rig" in out
    source, fit = read_motion(cmu_clip), read_motion(tmp_path / "fit.bvh")
    assert fit.skeleton.joint_names == source.skeleton.joint_names
    rig = source_rig(source)
    joints = list(rig.joint_map.joints.values())
    error_mm = ((fit.positions() - source.positions())[:, joints] * rig.unit).norm(dim=-1)
    assert float(error_mm.mean()) < 20.0


def test_keypoints_named_after_a_rig_fit_on_that_rig(cmu_clip, tmp_path):
    source = read_motion(cmu_clip)
    rig = source_rig(source)
    mm = (source.positions() * rig.unit).numpy()
    write_keypoints_npz(Keypoints(mm, source.skeleton.joint_names, fps=source.fps, unit="mm"), tmp_path / "kp.npz")
    out = invoke("fit3d", tmp_path / "kp.npz", "-o", tmp_path / "fit.npz", "--skeleton", cmu_clip, "--noise-mm", "5")
    assert "written on its rig" in out
    fit = read_motion(tmp_path / "fit.npz")
    # On the rig: its joint names, its bone lengths, its unit.
    assert fit.skeleton.joint_names == source.skeleton.joint_names and fit.unit == rig.unit
    torch.testing.assert_close(fit.skeleton.offsets, source.skeleton.offsets, atol=1e-9, rtol=0)
    joints = list(rig.joint_map.joints.values())
    assert (
        float((fit.positions(millimetres=True)[:, joints] - torch.from_numpy(mm)[:, joints]).norm(dim=-1).mean()) < 20.0
    )
    # Without the rig, keypoints named after its joints still give the IK model the joints they stand for.
    out = invoke("ik", tmp_path / "kp.npz", "-o", tmp_path / "ik.npz", "--hypotheses", "2", "--candidates", "4")
    with np.load(tmp_path / "ik.npz") as z:
        assert z["hypotheses"].shape[:3] == (30, 2, 20)
