"""``poseprior view``: bad input is one clear line (exit 2) and starts no server; the real command serves the
page, prints its URL and stops cleanly on Ctrl-C; the skeletons it offers for files without one."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from poseprior.cli import app as app_module
from poseprior.cli.view import display_available, reference_skeletons
from poseprior.io import read_motion, write_motion
from poseprior.io.poses import write_poses_npz
from poseprior.skeleton.smpl import POSE_JOINTS
from poseprior.viz import viewer
from poseprior.viz.viewer_load import ViewOptions, load_scene_motion

CLIP = Path(__file__).resolve().parents[2] / "src/poseprior/assets/cmu_01_01.bvh"


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """``poseprior view ARGS`` through the console entry point; ``(exit code, stderr)``. Starting a server fails."""

    def no_server(*a, **k):
        raise AssertionError("a server was started for bad input")

    monkeypatch.setattr(viewer.MotionViewer, "__init__", no_server)
    monkeypatch.setenv("COLUMNS", "1000")  # rich wraps the error line at the terminal's width
    monkeypatch.setattr(sys, "argv", ["poseprior", "view", *args])
    with pytest.raises(SystemExit) as stop:
        app_module.main()
    return stop.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.bvh", None, "missing.bvh: no such file"),
        ("walk.fbx", "x", "cannot tell the motion format of .*walk.fbx"),
        ("loss.npz", {"loss": np.zeros(3)}, "loss.npz: npz with keys \\['loss'\\] is none of what the viewer shows"),
        ("broken.bvh", "HIERARCHY\nROOT Hips\n{\n", "broken.bvh"),
    ],
)
def test_bad_input_is_one_line_and_starts_no_server(
    monkeypatch, capsys, tmp_path: Path, name, content, message
) -> None:
    path = tmp_path / name
    if isinstance(content, dict):
        np.savez(path, **content)
    elif content is not None:
        path.write_text(content)
    code, err = run_main(monkeypatch, capsys, str(path), "--no-open")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(message, lines[0]), lines[0]


def test_a_bad_second_file_is_named(monkeypatch, capsys, tmp_path: Path) -> None:
    code, err = run_main(monkeypatch, capsys, str(CLIP), str(tmp_path / "denoised.npz"), "--no-open")
    assert code == 2 and "denoised.npz: no such file" in err
    code, err = run_main(monkeypatch, capsys, str(CLIP), "--up", "x")
    assert code == 2 and "up: expected one of y, z, -y" in err


def test_the_command_serves_prints_its_url_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    clip = tmp_path / "clip.bvh"
    write_motion(read_motion(CLIP).frames(slice(0, 10)), clip)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "poseprior.cli.app", "view", str(clip), "--port", str(port), "--no-open"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()  # blocks until the server is up
        assert f"clip.bvh (10 frames): viewer at http://127.0.0.1:{port} (Ctrl-C to stop)" in line, (
            line + proc.stderr.read()
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)  # generous: CI runs it beside other tests
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "viewer stopped" in out and "Traceback" not in err


def test_reference_skeletons_let_sampled_poses_show(tmp_path: Path, bandai_first_test_poses: torch.Tensor) -> None:
    refs = reference_skeletons(None)
    assert [r.name for r in refs][:1] == ["flow-bandai"]  # the zoo's skeleton (the canonical body's pose joints), once
    assert len({(r.skeleton.joint_names, r.skeleton.parents) for r in refs}) == len(refs)
    # `poseprior sample -o poses.npz` on the shipped priors: their 20 joints, no skeleton in the file
    write_poses_npz(tmp_path / "poses.npz", bandai_first_test_poses[:2], POSE_JOINTS, log_prob=torch.zeros(2))
    m = load_scene_motion(tmp_path / "poses.npz", ViewOptions(skeletons=refs))
    assert m.joint_names == ("pelvis", *POSE_JOINTS) and "flow-bandai skeleton" in m.note
    for pose in m.positions:  # the first test take starts standing: its head joint 1.1-1.7 m over the feet, Z up
        z = dict(zip(m.joint_names, pose[:, 2], strict=False))
        assert 1.1 < z["head"] - (z["left_ankle"] + z["right_ankle"]) / 2 < 1.7, z

    clip_refs = reference_skeletons(str(CLIP))
    assert clip_refs[0].name == "cmu_01_01.bvh" and clip_refs[0].unit_mm == 10.0
    assert reference_skeletons("flow-bandai")[0].name == "flow-bandai"


def test_a_browser_opens_only_where_a_display_is(monkeypatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION"):
        monkeypatch.delenv(key, raising=False)
    assert not display_available()
    monkeypatch.setenv("DISPLAY", ":0")
    assert display_available()
    monkeypatch.setenv("SSH_CONNECTION", "1.2.3.4 5 6.7.8.9 22")
    assert not display_available()
