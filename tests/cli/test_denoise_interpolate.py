"""``poseprior denoise`` and ``poseprior interpolate`` on a short Bandai clip, and the shared ``--prior`` option."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import roma
import torch
import typer
from typer.testing import CliRunner

import poseprior.zoo
from poseprior.cli.denoise import denoise
from poseprior.cli.interpolate import interpolate
from poseprior.cli.prior_option import load_prior_option
from poseprior.data.protocol import BANDAI_JOINTS
from poseprior.errors import ValidationError
from poseprior.io import Motion, read_motion, write_motion
from poseprior.metrics import geodesic_error
from poseprior.models.baseline import UniformPrior
from poseprior.skeleton.smpl import POSE_JOINTS

# The two commands as the main app registers them.
app = typer.Typer()
app.command("denoise")(denoise)
app.command("interpolate")(interpolate)
runner = CliRunner()
ASSETS = Path(__file__).resolve().parents[2] / "src" / "poseprior" / "assets"


def invoke(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def clip(bandai_dir: Path) -> Motion:
    """40 frames of a bandai-v1 test take."""
    return read_motion(f"{bandai_dir / 'bandai-namco-motion-1.zip'}:data/dataset-1_dash_old_001.bvh").frames(
        slice(0, 40)
    )


@pytest.fixture()
def noisy_bvh(clip: Motion, tmp_path: Path) -> Path:
    """``clip`` with 20 degrees RMS of rotation noise on the 20 pose joints, as a BVH file."""
    joints = clip.skeleton.indices(BANDAI_JOINTS)
    g = torch.Generator().manual_seed(0)
    omega = torch.randn(clip.num_frames, 20, 3, generator=g, dtype=torch.float64) * math.radians(20 / math.sqrt(3))
    R = clip.rotations.clone()
    R[:, joints] = R[:, joints] @ roma.rotvec_to_rotmat(omega)
    path = tmp_path / "noisy.bvh"
    write_motion(replace(clip, rotations=R), path)
    return path


@pytest.fixture(scope="module")
def unnamed_bvh(tmp_path_factory) -> Path:
    """The CMU asset with its sides renamed out of every naming convention (Port/Starboard for Left/Right)."""
    path = tmp_path_factory.mktemp("unnamed") / "ship.bvh"
    path.write_text((ASSETS / "cmu_01_01.bvh").read_text().replace("Left", "Port").replace("Right", "Starboard"))
    return path


def pose_error_deg(motion: Motion, clean: Motion) -> float:
    joints = clean.skeleton.indices(BANDAI_JOINTS)
    return float(geodesic_error(motion.rotations[:, joints], clean.rotations[:, joints]).mean())


@pytest.mark.parametrize(("prior", "suffix"), [("none", ".bvh"), ("ndf-bandai", ".npz")])
def test_denoise_round_trip(clip, noisy_bvh, tmp_path, prior, suffix):
    out = tmp_path / f"clean{suffix}"
    output = invoke("denoise", noisy_bvh, "-o", out, "--prior", prior, "--steps", 60)
    assert f"40 frames at 30 fps, 20 joints denoised with prior {prior}" in output
    denoised, noisy = read_motion(out), read_motion(noisy_bvh)
    assert denoised.num_frames == 40 and denoised.skeleton.joint_names == clip.skeleton.joint_names
    torch.testing.assert_close(denoised.root_translation, noisy.root_translation)
    assert pose_error_deg(denoised, clip) < 0.6 * pose_error_deg(noisy, clip)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["noisy.bvh", out.name])  # no temporary left


def test_denoise_errors(noisy_bvh, unnamed_bvh, tmp_path):
    with pytest.raises(ValidationError, match="out: expected a .bvh or .npz"):
        invoke("denoise", noisy_bvh, "-o", tmp_path / "x.csv")
    # A rig in no naming convention: the error names the file, what it cannot place and the closest names.
    with pytest.raises(ValidationError, match=r"ship.bvh: cannot place left_hip \(closest: [^)]*PortUpLeg"):
        invoke("denoise", unnamed_bvh, "-o", tmp_path / "x.bvh", "--prior", "none")
    with pytest.raises(ValidationError, match="unknown model 'no-such-prior'"):
        invoke("denoise", noisy_bvh, "-o", tmp_path / "x.bvh", "--prior", "no-such-prior")
    assert not (tmp_path / "x.bvh").exists()


def test_interpolate_between_frames_of_two_files(clip, noisy_bvh, tmp_path):
    a = tmp_path / "a.bvh"
    write_motion(clip, a)
    out = tmp_path / "transition.bvh"
    output = invoke(
        "interpolate", a, noisy_bvh, "-o", out, "--steps", 7, "--prior", "none", "--frame-a", 3, "--frame-b", -1
    )
    assert "a.bvh frame 3 -> " in output and "frame 39: 7 frames, 20 joints by geodesic interpolation" in output
    path, noisy = read_motion(out), read_motion(noisy_bvh)
    assert path.num_frames == 7 and path.fps == clip.fps
    # BVH stores Euler angles with 6 decimals: the ends match to well under a hundredth of a degree.
    assert geodesic_error(path.rotations[0], clip.rotations[3]).max() < 0.01
    assert geodesic_error(path.rotations[-1], noisy.rotations[-1]).max() < 0.01
    hips = clip.skeleton.index("Hips")  # Bandai's body moves in Hips (below a static joint_Root)
    ends = torch.stack([clip.positions()[3, hips], noisy.positions()[-1, hips]])
    torch.testing.assert_close(path.positions()[[0, -1], hips], ends, atol=1e-4, rtol=0)
    # With a prior (the VAE: latent interpolation), the same ends and another interior.
    out_vae = tmp_path / "transition.npz"
    assert "by latent interpolation (prior vae-bandai)" in invoke(
        "interpolate", a, noisy_bvh, "-o", out_vae, "--steps", 7, "--frame-a", 3, "--frame-b", -1
    )
    guided = read_motion(out_vae)
    assert geodesic_error(guided.rotations[-1], noisy.rotations[-1]).max() < 0.01
    assert geodesic_error(guided.rotations[3], path.rotations[3]).mean() > 0.5


def test_interpolate_errors(clip, noisy_bvh, unnamed_bvh, tmp_path):
    with pytest.raises(ValidationError, match="frame-a: frame 40 is outside the motion's 40 frames"):
        invoke("interpolate", noisy_bvh, noisy_bvh, "-o", tmp_path / "x.bvh", "--prior", "none", "--frame-a", 40)
    with pytest.raises(ValidationError, match="method: expected one of"):
        invoke("interpolate", noisy_bvh, noisy_bvh, "-o", tmp_path / "x.bvh", "--method", "spline")
    with pytest.raises(ValidationError, match="ship.bvh: cannot place"):
        invoke("interpolate", noisy_bvh, unnamed_bvh, "-o", tmp_path / "x.bvh", "--prior", "none")
    with pytest.raises(ValidationError, match="out: expected a .bvh or .npz"):
        invoke("interpolate", noisy_bvh, noisy_bvh, "-o", tmp_path / "x.txt")


def test_load_prior_option():
    none = load_prior_option("none")
    assert isinstance(none, UniformPrior) and none.joint_names == POSE_JOINTS
    assert none.joints == poseprior.zoo.load("flow-bandai").joints  # the default prior's joints, skeleton and unit
    assert isinstance(load_prior_option(" None "), UniformPrior)
    assert type(load_prior_option("ndf-bandai")).__name__ == "DistanceFieldPrior"
    with pytest.raises(ValidationError, match="not an unconditional pose prior"):
        load_prior_option("flow-ik-bandai")
    with pytest.raises(ValidationError, match="unknown model"):
        load_prior_option("nonsense")
    with pytest.raises(ValidationError, match="prior: expected a zoo name"):
        load_prior_option("")
