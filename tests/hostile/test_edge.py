"""The command line's one rule (issue 14): every failure is one line naming the file, line or flag, exit 2 for
bad input or arguments and 1 for the environment, never a traceback; nothing half-written is left."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from poseprior.cli.app import main
from poseprior.io import read_motion


def set_value(row: int, column: int, value: str):
    """An ``edit`` for :func:`write_bvh_text` that sets one value of one frame line."""

    def edit(rows: list[str]) -> None:
        values = rows[row].split()
        values[column] = value
        rows[row] = " ".join(values)

    return edit


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """``cli(*args) -> (exit status, stderr)``, run in this process from ``tmp_path``."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in args])
        return info.value.code, capsys.readouterr().err

    return run


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def nothing_written(folder: Path, *names: str) -> None:
    left = [p.name for p in folder.iterdir() if p.name in names or ".poseprior-" in p.name]
    assert not left, left


# ------------------------------------------------------------------------------------------------ readers
@pytest.mark.parametrize(
    ("frame_time", "edit", "declared", "expected"),
    [
        ("1e300", None, None, "frame time 1e300 s is outside (0.0001 s, 10 s)"),
        ("1e-300", None, None, "frame time 1e-300 s is outside"),
        (
            "0.0083333",
            set_value(10, 5, "1e30"),
            None,
            "frame 11, joint 'Hips': Xrotation of 1e+30 degrees is beyond any pose",
        ),
        ("0.0083333", set_value(10, 0, "1e30"), None, "frame 11: the root of 'Hips' is 1e+25 km from the origin"),
        ("0.0083333", set_value(10, 0, "1e300"), None, "frame 11: the root of 'Hips'"),
        ("0.0083333", lambda rows: rows.clear(), 0, "has 0 frames; at least 1 needed"),
    ],
    ids=["frame-time-1e300", "frame-time-1e-300", "angle-1e30", "position-1e30", "position-1e300", "zero-frames"],
)
@pytest.mark.parametrize("command", ["convert", "denoise", "score"])
def test_implausible_files_are_refused_naming_file_frame_and_joint(
    cli, tmp_path, write_bvh_text, frame_time, edit, declared, expected, command
):
    path = write_bvh_text("bad.bvh", frame_time=frame_time, edit=edit, declared=declared)
    args = {
        "convert": ["convert", path, "out.npz"],
        "denoise": ["denoise", path, "-o", "out.bvh", "--steps", "1"],
        "score": ["score", path],
    }[command]
    code, err = cli(*args)
    assert code == 2
    assert one_line(err).startswith(f"error: {path}") and expected in err, err
    nothing_written(tmp_path, "out.npz", "out.bvh")


def test_an_npz_declaring_terabytes_is_refused_before_reading(cli, huge_npz):
    code, err = cli("convert", huge_npz, "out.bvh")
    assert code == 2 and "GiB in memory (largest: 'rotations', shape (100000, 100000, 100)" in one_line(err)
    assert "more than the 2 GiB poseprior reads from one file" in err


def test_a_manifest_without_a_key_names_the_file_and_key(cli, tmp_path):
    folder = tmp_path / "prepared"
    folder.mkdir()
    from poseprior.data import cache

    (folder / "prepared.json").write_text(
        f'{{"format": "{cache._FORMAT}", "version": {cache._VERSION}, "files": {{}}}}'
    )
    code, err = cli("data", "info", folder)
    assert code == 2 and f"{folder / 'prepared.json'}: manifest lacks key(s) dataset" in one_line(err)


def test_zero_frame_keypoints_are_refused(cli, keypoints_npz, cmu_dir):
    path = keypoints_npz(
        "empty.npz", np.zeros((0, 31, 3)), list(read_motion(cmu_dir / "01_01.bvh").skeleton.joint_names)
    )
    code, err = cli("fit3d", path, "--skeleton", cmu_dir / "01_01.bvh", "-o", "fit.bvh")
    assert code == 2 and "empty.npz: has 0 frames; at least 1 needed" in one_line(err)


def test_keypoints_in_the_wrong_unit_are_refused_naming_the_flag(cli, keypoints_npz, write_bvh_text):
    rig = write_bvh_text("rig.bvh", frames=5)
    motion = read_motion(rig)
    path = keypoints_npz("kp.npz", motion.positions().numpy() * 1000, list(motion.skeleton.joint_names), unit="cm")
    code, err = cli("fit3d", path, "--skeleton", rig, "-o", "fit.bvh", "--prior", "none", "--steps", "1")
    assert code == 2 and "the unit is wrong; give the right one with --unit" in one_line(err)


# ------------------------------------------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["sample", "-n", "1000000000", "-o", "s.npz"], "'-n' / '--num'"),
        (["sample", "-n", "5", "-o", "s.npz", "--device", "tpu"], "'--device': device 'tpu': not a device name"),
        (["interpolate", "A", "A", "--steps", "100000000", "-o", "i.npz"], "'--steps'"),
        (["denoise", "A", "-o", "d.bvh", "--prior-weight", "1e300"], "'--prior-weight'"),
        (["denoise", "A", "-o", "d.bvh", "--noise-deg", "1e300"], "'--noise-deg'"),
        (["lift", "A", "-o", "l.npz", "--hypotheses", "200000"], "'--hypotheses'"),
        (["ik", "A", "-o", "i.npz", "--candidates", "100000000"], "'--candidates'"),
        (["convert", "A", "B", "--fps", "abc"], "'--fps'"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
    ids=[
        "sample-n",
        "device-tpu",
        "interpolate-steps",
        "prior-weight",
        "noise-deg",
        "lift-hypotheses",
        "ik-candidates",
        "fps-text",
        "command",
    ],
)
def test_bad_arguments_are_one_usage_line_naming_the_flag(cli, write_bvh_text, args, flag):
    path = str(write_bvh_text("a.bvh", frames=5))
    code, err = cli(*[path if a == "A" else a for a in args])
    assert code == 2 and flag in one_line(err) and "--help" in err, err


@pytest.mark.skipif(torch.cuda.is_available(), reason="the message is for a machine without CUDA")
def test_cuda_on_a_machine_without_it_is_a_usage_error(cli):
    code, err = cli("sample", "-n", "2", "-o", "s.npz", "--device", "cuda")
    assert code == 2 and "this machine or torch build has no CUDA" in one_line(err)


def test_resampling_beyond_any_capture_rate_is_refused(cli, tmp_path, write_bvh_text):
    code, err = cli("convert", write_bvh_text("a.bvh", frames=5), "out.npz", "--fps", "1e7")
    assert code == 2 and "fps: 10000000.0 is outside (0.1, 10000)" in one_line(err)
    nothing_written(tmp_path, "out.npz")


def test_more_frame_hypotheses_than_an_output_holds_are_refused(cli, tmp_path):
    path = tmp_path / "kp2d.npz"
    np.savez(path, keypoints_2d=np.full((6000, 17, 2), 100.0, np.float32), layout="coco17", fps=30.0)
    code, err = cli("lift", path, "-o", "l.npz", "--hypotheses", "1000", "--image-size", "640", "480")
    assert code == 2 and "--hypotheses 1000: 6,000 frames" in one_line(err)


# ------------------------------------------------------------------------------------------------ environment
def test_an_unwritable_output_is_exit_1_naming_the_target(cli, write_bvh_text):
    code, err = cli("convert", write_bvh_text("a.bvh", frames=5), "/proc/poseprior-test/out.npz")
    assert code == 1 and one_line(err).startswith("error: /proc/poseprior-test/out.npz: ")


def test_a_permission_error_while_writing_is_exit_1_naming_the_target(cli, tmp_path, write_bvh_text, monkeypatch):
    import poseprior._atomic as atomic

    def refuse(src, dst):  # as os.replace fails: the temporary file named first
        raise PermissionError(13, "Permission denied", str(src), None, str(dst))

    monkeypatch.setattr(atomic.os, "replace", refuse)
    code, err = cli("convert", write_bvh_text("a.bvh", frames=5), "out.npz")
    assert code == 1 and one_line(err) == "error: out.npz: permission denied"
    nothing_written(tmp_path, "out.npz")


def test_an_internal_error_is_one_line_and_a_traceback_file(cli, write_bvh_text, monkeypatch):
    import poseprior.io.formats as formats

    def broken(*_args, **_kwargs):
        raise RuntimeError("an invariant broke")

    monkeypatch.setattr(formats, "check_motion", broken)
    code, err = cli("convert", write_bvh_text("a.bvh", frames=5), "out.npz")
    line = one_line(err)
    assert code == 1 and "internal error (RuntimeError: an invariant broke); this is a bug" in line
    trace = Path(line.rsplit(" ", 1)[-1])
    assert "an invariant broke" in trace.read_text() and "Traceback" in trace.read_text()
    trace.unlink()


def test_ctrl_c_is_one_line_and_leaves_nothing(cli, tmp_path, write_bvh_text, monkeypatch):
    import poseprior.io.npz as npz

    def interrupted(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # as the user's Ctrl-C arrives mid-write

    monkeypatch.setattr(npz.np, "savez_compressed", interrupted)
    monkeypatch.setattr(npz.np, "savez", interrupted)
    before = signal.getsignal(signal.SIGINT)  # the default handler, or SIG_IGN in a background job
    code, err = cli("convert", write_bvh_text("a.bvh", frames=5), "out.npz")
    assert code == 130 and one_line(err) == (
        f"stopped: poseprior convert {tmp_path / 'a.bvh'} interrupted (Ctrl-C); files are written whole or not at all, so none was left half-written"
    )
    nothing_written(tmp_path, "out.npz")
    assert signal.getsignal(signal.SIGINT) is before  # the handler is given back
