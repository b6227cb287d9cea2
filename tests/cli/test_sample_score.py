"""``poseprior sample`` and ``poseprior score`` on a tiny exported flow over the Bandai joints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from poseprior.cli.sample import sample
from poseprior.cli.score import score
from poseprior.errors import FormatError, ValidationError
from poseprior.io import Motion, read_motion, write_motion
from poseprior.io.poses import POSES_FORMAT
from poseprior.models.flow import FlowConfig, FlowPrior
from poseprior.models.prior import PoseJoints
from poseprior.skeleton import upright_rotation
from poseprior.skeleton.smpl import POSE_JOINTS
from poseprior.zoo import write_model

# The two commands as the main app registers them (``poseprior sample`` / ``poseprior score``).
app = typer.Typer()
app.command("sample")(sample)
app.command("score")(score)
runner = CliRunner()

BANDAI_POSE = (
    "Spine",
    "Chest",
    "Neck",
    "Head",
    "Shoulder_L",
    "UpperArm_L",
    "LowerArm_L",
    "Hand_L",
    "Shoulder_R",
    "UpperArm_R",
    "LowerArm_R",
    "Hand_R",
    "UpperLeg_L",
    "LowerLeg_L",
    "Foot_L",
    "Toes_L",
    "UpperLeg_R",
    "LowerLeg_R",
    "Foot_R",
    "Toes_R",
)


def invoke(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def last_number(output: str) -> float:
    last = output.strip().splitlines()[-1]
    assert last.startswith("mean log-likelihood: ") and last.endswith(" nats/pose"), last
    return float(last.split()[2])


@pytest.fixture(scope="module")
def take(bandai_dir: Path) -> str:
    return f"{bandai_dir / 'bandai-namco-motion-1.zip'}:data/dataset-1_bow_old_001.bvh"


@pytest.fixture(scope="module")
def motion(take: str) -> Motion:
    return read_motion(take)


def export(prior: FlowPrior, folder: Path, name: str) -> Path:
    return write_model(prior, folder / name)


@pytest.fixture(scope="module")
def model(motion: Motion, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FlowPrior]:
    """A 2-layer flow over the 20 Bandai pose joints, centred on the take, with the skeleton below Hips."""
    joints = PoseJoints.from_skeleton(motion.skeleton.subset(("Hips", *BANDAI_POSE)), motion.unit)
    rotations = motion.rotations[:, motion.skeleton.indices(BANDAI_POSE)].float()
    torch.manual_seed(0)
    prior = FlowPrior.from_data(FlowConfig(20, joints.parents, layers=2, hidden=(16,), joints=joints), rotations).eval()
    return export(prior, tmp_path_factory.mktemp("model"), "tiny"), prior


def test_score_bvh_prints_the_mean_log_likelihood_last_and_writes_per_frame(
    take: str, motion: Motion, model, tmp_path: Path
):
    path, prior = model
    out = invoke("score", take, "--model", path, "--per-frame", tmp_path / "frames.csv")
    with torch.no_grad():
        expected = prior.log_prob(motion.rotations[:, motion.skeleton.indices(BANDAI_POSE)].float())
    assert abs(last_number(out) - expected.mean().item()) < 1e-3
    lines = (tmp_path / "frames.csv").read_text().splitlines()
    assert lines[0] == "frame,log_likelihood" and len(lines) == motion.num_frames + 1
    per_frame = torch.tensor([float(line.split(",")[1]) for line in lines[1:]])
    torch.testing.assert_close(per_frame, expected, rtol=0, atol=1e-5)


def test_score_interchange_npz_matches_the_bvh(take: str, motion: Motion, model, tmp_path: Path):
    path, _ = model
    write_motion(motion, tmp_path / "take.npz")
    bvh = last_number(invoke("score", take, "--model", path))
    npz = last_number(invoke("score", tmp_path / "take.npz", "--model", path, "--per-frame", tmp_path / "f.npz"))
    assert abs(bvh - npz) < 1e-3
    with np.load(tmp_path / "f.npz") as z:
        assert z["log_likelihood"].shape == (motion.num_frames,)


def test_sample_npz_holds_rotations_names_and_exact_log_prob(model, tmp_path: Path):
    path, prior = model
    invoke("sample", "--model", path, "-n", 16, "-o", tmp_path / "a.npz", "--seed", 3)
    invoke("sample", "--model", path, "-n", 16, "-o", tmp_path / "b.npz", "--seed", 3)
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert str(a["format"]) == POSES_FORMAT and tuple(a["joint_names"]) == BANDAI_POSE
        assert a["rotations"].shape == (16, 20, 3, 3) and a["log_prob"].shape == (16,)
        np.testing.assert_array_equal(a["rotations"], b["rotations"])  # same seed, same poses
        with torch.no_grad():
            direct = prior.log_prob(torch.from_numpy(a["rotations"]))
        np.testing.assert_allclose(a["log_prob"], direct.numpy(), atol=1e-4)
        stored = a["log_prob"].mean()
    assert abs(last_number(invoke("score", tmp_path / "a.npz", "--model", path)) - stored) < 1e-3


def test_sample_bvh_is_a_motion_on_the_model_skeleton_that_scores_the_same(model, tmp_path: Path):
    path, _ = model
    invoke("sample", "--model", path, "-n", 5, "-o", tmp_path / "s.npz", "--seed", 7)
    invoke("sample", "--model", path, "-n", 5, "-o", tmp_path / "s.bvh", "--seed", 7)
    m = read_motion(tmp_path / "s.bvh")
    assert m.joint_names == ("Hips", *BANDAI_POSE) and m.num_frames == 5
    # The root stands the rest pose up (Bandai's lies along +X), the same for every frame.
    torch.testing.assert_close(m.rotations[:, 0], upright_rotation(m.skeleton).expand(5, 3, 3), rtol=0, atol=1e-6)
    with np.load(tmp_path / "s.npz") as z:
        torch.testing.assert_close(m.rotations[:, 1:].float(), torch.from_numpy(z["rotations"]), rtol=0, atol=1e-5)
        stored = z["log_prob"].mean()
    assert abs(last_number(invoke("score", tmp_path / "s.bvh", "--model", path)) - stored) < 1e-2


def test_errors_name_the_problem(take: str, motion: Motion, model, tmp_path: Path):
    path, prior = model
    # A prior over a joint the file lacks.
    renamed = PoseJoints(("Tail", *BANDAI_POSE[1:]), prior.joints.parents, "Hips", prior.joints.offsets)
    other = export(FlowPrior(FlowConfig(20, renamed.parents, layers=1, hidden=(8,), joints=renamed)), tmp_path, "tail")
    with pytest.raises(
        ValidationError, match="missing joint\\(s\\) Tail that the prior models; the file has: joint_Root, Hips"
    ):
        invoke("score", take, "--model", other)
    # A prior whose tree hangs the hands elsewhere: their local rotations would not mean the same.
    parents = list(prior.joints.parents)
    parents[BANDAI_POSE.index("Hand_L")] = BANDAI_POSE.index("UpperArm_L")
    moved = PoseJoints(BANDAI_POSE, tuple(parents), "Hips")
    other = export(FlowPrior(FlowConfig(20, moved.parents, layers=1, hidden=(8,), joints=moved)), tmp_path, "moved")
    with pytest.raises(
        ValidationError, match="joint 'Hand_L' has parent 'LowerArm_L' in the file but 'UpperArm_L' in the prior"
    ):
        invoke("score", take, "--model", other)
    # No skeleton offsets: no BVH.
    bare = export(FlowPrior(FlowConfig(3, layers=1, hidden=(8,))), tmp_path, "bare")
    with pytest.raises(ValidationError, match="carries no skeleton"):
        invoke("sample", "--model", bare, "-o", tmp_path / "x.bvh")
    with pytest.raises(ValidationError, match="output: expected a .npz or .bvh"):
        invoke("sample", "--model", path, "-o", tmp_path / "x.txt")
    with pytest.raises(ValidationError, match="per-frame: expected a .csv or .npz"):
        invoke("score", take, "--model", path, "--per-frame", tmp_path / "x.txt")
    with pytest.raises(ValidationError, match="unknown model 'no-such-model'"):
        invoke("score", take, "--model", "no-such-model")
    np.savez(
        tmp_path / "poses.npz",
        format=POSES_FORMAT,
        rotations=np.zeros((2, 19, 3, 3)),
        joint_names=np.array(BANDAI_POSE),
    )
    with pytest.raises(FormatError, match=r"poses.npz: rotations: expected float \(N, 20, 3, 3\)"):
        invoke("score", tmp_path / "poses.npz", "--model", path)
    np.savez(
        tmp_path / "poses.npz",
        format=POSES_FORMAT,
        rotations=np.zeros((2, 20, 3, 3)),
        joint_names=np.array(BANDAI_POSE),
    )
    with pytest.raises(FormatError, match="poses.npz: rotations: matrix at index \\(0, 0\\) is not a rotation"):
        invoke("score", tmp_path / "poses.npz", "--model", path)


@pytest.mark.parametrize("model", ["flow-bandai", "vae-bandai", "ndf-bandai"])
def test_every_shipped_prior_samples_and_scores(model: str, tmp_path: Path, take: str):
    """``sample`` and ``score`` take any prior; the last line is a log-likelihood only where it is exact."""
    invoke("sample", "--model", model, "-n", "3", "-o", tmp_path / "poses.npz", "--seed", "0")
    with np.load(tmp_path / "poses.npz") as z:
        assert z["rotations"].shape == (3, 20, 3, 3) and tuple(z["joint_names"]) == POSE_JOINTS
    last = invoke("score", take, "--model", model).strip().splitlines()[-1]  # a Bandai take, retargeted
    if model == "flow-bandai":
        assert last.startswith("mean log-likelihood: ")
    else:
        assert last.startswith("mean energy (not a log-likelihood): ")
        assert np.isfinite(float(last.split()[-1]))
