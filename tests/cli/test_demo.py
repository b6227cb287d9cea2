"""``poseprior demo``: the shipped clip, the picture and the summary."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from poseprior.cli.app import app
from poseprior.data.clips import sample_clip
from poseprior.errors import ValidationError
from poseprior.io.formats import read_motion, write_motion

runner = CliRunner()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_sample_clip_is_shipped_small_and_credited():
    clip = sample_clip()
    assert clip.is_file() and clip.stat().st_size < 200_000
    m = read_motion(clip)
    assert (m.num_frames, m.fps, m.skeleton.num_joints, m.unit) == (121, 30.0, 31, 10.0)
    readme = (clip.parent / "README.md").read_text()
    assert "obtained from mocap.cs.cmu.edu" in readme and "NSF EIA-0196217" in readme


def test_console_command_writes_report_and_summary(tmp_path):
    """The main job in its reduced mode, through the installed console script: every figure lands in one HTML
    file with its caption, the console summary fits a screen and says where the report is."""
    script = Path(sys.executable).with_name("poseprior")
    assert script.is_file(), f"console script not installed beside {sys.executable}"
    out = tmp_path / "demo"
    result = subprocess.run(
        [str(script), "demo", "--quick", "--out", str(out)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    pictures = [
        "poses.png",
        "retarget_source.png",
        "retarget_body.png",
        "samples_flow-bandai.png",
        "samples_vae-bandai.png",
        "samples_ndf-bandai.png",
        "ik_hypotheses.png",
        "lift_input.png",
        "lift_hypotheses.png",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*pictures, "denoise.gif", "report.html"]
    )  # no temporary files left
    assert png_size(out / "poses.png") == (1200, 300)  # 4 panels of 300 x 300 px
    for name in pictures:
        assert (out / name).stat().st_size > 5_000, name
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == len(pictures) and report.count("data:image/gif;base64,") == 1
    assert report.count("<figcaption>") == len(pictures) + 1
    for words in (
        "Retargeting onto the canonical body",
        "Pose priors",
        "Inverse kinematics",
        "2D-to-3D lifting",
        "Motion denoising",
        "Benchmarks of the shipped models",
        "lifter-rot-bandai",
        "lifter-rot-coco17",
        "benchmarks/lifting.py",
        "CC BY-NC 4.0",
    ):
        assert words in report, words
    text = result.stdout
    for expected in (
        "cmu_01_01.bvh",
        "31 (root Hips",
        "motionbuilder joint names",
        "22 joints (SMPL's body tree",
        "121 at 30 fps, 4.00 s",
        "bone lengths",
        "m travelled",
        "poses.png (1200 x 300 px)",
        "flow-bandai",
        "vae-bandai",
        "ndf-bandai",
        "nats/pose",
        "flow-ik-bandai: mode MPJPE",
        "lifter-flow-bandai",
        "3D, vae-bandai",
        "reprojection",
        "MPJPE",
        f"report: {out / 'report.html'}\n",
    ):
        assert expected in text, expected
    assert "mocap.cs.cmu.edu" in text and "Bandai Namco" in text
    assert len(text.splitlines()) < 45  # one screen


def test_demo_on_a_user_clip(tmp_path):
    clip = read_motion(sample_clip()).frames(slice(0, 30))
    write_motion(clip, tmp_path / "mine.npz")
    result = runner.invoke(
        app, ["demo", "--clip", str(tmp_path / "mine.npz"), "--out", str(tmp_path / "o"), "--frames", "2", "--up", "z"]
    )
    assert result.exit_code == 0, result.output
    assert png_size(tmp_path / "o" / "poses.png") == (600, 300)
    assert "mine.npz" in result.output and "30 at 30 fps" in result.output and "mocap.cs.cmu.edu" not in result.output


@pytest.mark.parametrize("args, words", [(["--frames", "0"], "frames"), (["--up", "x"], "up")])
def test_bad_options(tmp_path, args, words):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "o"), *args])
    assert isinstance(result.exception, ValidationError) and words in str(result.exception)
    assert not (tmp_path / "o" / "poses.png").exists()
