"""``poseprior train lifter-flow|lifter-rot``: on a tiny prepared dataset and on Human3.6M-style 3D joints;
the exported lifter lifts through ``poseprior lift``."""

from __future__ import annotations

import numpy as np
import torch
from typer.testing import CliRunner

from poseprior.cli.app import app
from poseprior.data.lifting import H36M_UP, LiftingConfig, random_views
from poseprior.errors import FormatError, ValidationError
from poseprior.io import Keypoints, write_keypoints_npz
from poseprior.io.h36m import read_h36m_3d
from poseprior.skeleton.layouts import H36M17
from poseprior.train import read_metrics
from poseprior.zoo import info, load

COMMON = ["--batch-size", "32", "--threads", "1", "--device", "cpu", "--no-progress", "--eval-every", "10", "--checkpoint-every", "10"]  # fmt: skip
FLOW = ["--layers", "1", "--hidden", "16", "--mlp-layers", "1", "--bins", "4", "--context", "8", *COMMON]


def _invoke(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result


def test_lifters_on_a_prepared_dataset(prepared_tiny, tmp_path):
    _invoke("train", "lifter-flow", "--data", prepared_tiny, "--out", tmp_path / "flow", "--steps", "10", *FLOW)
    card = info(tmp_path / "flow" / "lifter-flow")
    assert card.model_class == "ProbabilisticLifter" and load(
        tmp_path / "flow" / "lifter-flow"
    ).skeleton.joint_names == ("Hips", "A", "B", "C")
    rot = ["--window", "3", "--channels", "16", "--blocks", "0", *COMMON]
    _invoke("train", "lifter-rot", "--data", prepared_tiny, "--out", tmp_path / "rot", "--steps", "10", *rot)
    assert info(tmp_path / "rot" / "lifter-rot").model_class == "RotationLifter"


def test_flow_lifter_on_h36m_joints(h36m_3d_file, tmp_path):
    out = tmp_path / "run"
    result = _invoke(
        "train", "lifter-flow", "--data", h36m_3d_file, "--out", out, "--steps", "30", "--lr", "3e-3", *FLOW
    )
    assert "30 steps in" in result.output
    card = info(out / "lifter-flow")
    assert "S1, S5, S6, S7" in card.training["data"] and "80 poses" in card.training["data"]
    assert "inherit" in card.licence
    val = [r for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "val"]
    assert [r["step"] for r in val] == [10, 20, 30] and val[-1]["log_likelihood"] > val[0]["log_likelihood"]
    lifter = load(out / "lifter-flow")
    assert lifter.skeleton is None and lifter.config.lifting.layout == "h36m17" and lifter.config.lifting.up == H36M_UP

    # Lift held-out S9 keypoints seen by a camera: the output names the H36M-17 joints, mm, root-relative.
    s9 = read_h36m_3d(h36m_3d_file, subjects=["S9"])["S9"]["Sitting"].with_unit("mm").positions[:4]
    world = torch.from_numpy(s9 - s9[:, :1]).float().reshape(1, -1, 3)
    view = random_views(
        world, torch.eye(3)[None], LiftingConfig(layout="h36m17", up=H36M_UP), 1.0, torch.Generator().manual_seed(0)
    )
    kp = Keypoints(
        view["pixels"][0].reshape(4, 17, 2).numpy(),
        H36M17.joint_names,
        fps=10,
        camera=view["camera"][0].numpy(),
        layout="h36m17",
    )
    write_keypoints_npz(kp, tmp_path / "kp.npz")
    _invoke(
        "lift", tmp_path / "kp.npz", "-o", tmp_path / "lifted.npz", "--model", out / "lifter-flow", "--hypotheses", "3"
    )
    with np.load(tmp_path / "lifted.npz") as z:
        assert tuple(z["joint_names"]) == H36M17.joint_names and str(z["unit"]) == "mm"
        assert z["positions"].shape == (4, 17, 3) and z["hypotheses"].shape == (4, 3, 17, 3)
        assert np.abs(z["positions"][:, 0]).max() < 1e-3  # root-relative


def test_h36m_bad_options(h36m_3d_file, tmp_path):
    runner = CliRunner()
    base = ["train", "lifter-flow", "--data", str(h36m_3d_file), "--out", str(tmp_path / "o"), "--steps", "5", *FLOW]
    result = runner.invoke(app, [*base, "--layout", "coco17"])
    assert isinstance(result.exception, ValidationError) and "h36m17" in str(result.exception)
    result = runner.invoke(app, [*base, "--val-subjects", "S1"])
    assert isinstance(result.exception, ValidationError) and "both" in str(result.exception)
    result = runner.invoke(app, [*base, "--train-subjects", " , "])
    assert isinstance(result.exception, ValidationError) and "--train-subjects" in str(result.exception)
    missing = ["train", "lifter-flow", "--data", str(tmp_path / "nowhere.npz"), "--out", str(tmp_path / "o"), *FLOW]
    result = runner.invoke(app, missing)
    assert isinstance(result.exception, FormatError) and "nowhere.npz" in str(result.exception)
    assert not (tmp_path / "o").exists()
