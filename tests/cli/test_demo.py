"""``poseprior demo``: the shipped clip, the picture and the summary."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from poseprior.cli.app import app
from poseprior.cli.demo import sample_clip
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


def test_console_command_writes_picture_and_summary(tmp_path):
    script = Path(sys.executable).with_name("poseprior")
    assert script.is_file(), f"console script not installed beside {sys.executable}"
    out = tmp_path / "demo"
    result = subprocess.run([str(script), "demo", "--out", str(out)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    picture = out / "poses.png"
    assert png_size(picture) == (1200, 300)  # 4 panels of 300 x 300 px
    assert picture.stat().st_size > 10_000
    assert png_size(out / "prior_samples.png") == (1200, 300)
    assert sorted(p.name for p in out.iterdir()) == ["poses.png", "prior_samples.png"]  # no temporary files left
    text = result.stdout
    for expected in ("cmu_01_01.bvh", "31 (root Hips", "121 at 30 fps, 4.00 s", "cm", "bone lengths", "m travelled", "poses.png (1200 x 300 px)",
                     "Flow prior", "flow-bandai", "nats/pose", "IK (flow-ik-bandai)", "prior_samples.png", "Fitting", "3D, vae-bandai",
                     "reprojection", f"outputs in {out}\n"):
        assert expected in text, expected
    assert "mocap.cs.cmu.edu" in text
    assert len(text.splitlines()) < 40  # one screen


def test_demo_on_a_user_clip(tmp_path):
    clip = read_motion(sample_clip()).frames(slice(0, 30))
    write_motion(clip, tmp_path / "mine.npz")
    result = runner.invoke(app, ["demo", "--clip", str(tmp_path / "mine.npz"), "--out", str(tmp_path / "o"), "--frames", "2", "--up", "z"])
    assert result.exit_code == 0, result.output
    assert png_size(tmp_path / "o" / "poses.png") == (600, 300)
    assert "mine.npz" in result.output and "30 at 30 fps" in result.output and "mocap.cs.cmu.edu" not in result.output


@pytest.mark.parametrize("args, words", [(["--frames", "0"], "frames"), (["--up", "x"], "up")])
def test_bad_options(tmp_path, args, words):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "o"), *args])
    assert isinstance(result.exception, ValidationError) and words in str(result.exception)
    assert not (tmp_path / "o" / "poses.png").exists()
