"""The library needs torch, roma, zuko, numpy and safetensors only: the command line (``[cli]``: typer, rich)
and the pictures (``[viz]``: matplotlib, imageio, viser) are extras (pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

EXTRAS = ("rich", "typer", "matplotlib", "imageio", "imageio_ffmpeg", "viser")
BLOCK = f"import sys\nfor m in {EXTRAS!r}:\n    sys.modules[m] = None  # importing it raises ImportError\n"


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=300)


def test_every_library_module_imports_without_the_extras():
    code = """
import importlib, pkgutil, poseprior
failed = []
for info in pkgutil.walk_packages(poseprior.__path__, "poseprior."):
    if not info.name.startswith(("poseprior.cli.", "poseprior.viz")):
        try:
            importlib.import_module(info.name)
        except ImportError as e:
            failed.append(f"{info.name}: {e}")
print("\\n".join(failed))
"""
    result = run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_training_prints_without_rich(tmp_path):
    code = f"""
import torch
from pathlib import Path
from poseprior.models.baseline import TangentGaussianPrior
from poseprior.models.flow import FlowConfig, FlowPrior
from poseprior.train import FlowObjective, TrainConfig, train
from poseprior.geometry import random_rotations
R = random_rotations(64, 3, generator=torch.Generator().manual_seed(0))
prior = FlowPrior.from_data(FlowConfig(3, layers=2, hidden=(8,), bins=4), R)
config = TrainConfig(Path({str(tmp_path)!r}), steps=3, batch_size=16, eval_every=3, eval_batch_size=16, checkpoint_every=3)
train(FlowObjective(prior), {{"rotations": R}}, {{"rotations": R[:16]}}, config)
"""
    result = run(code)
    assert result.returncode == 0, result.stderr
    assert "step 3: val" in result.stdout


def test_the_command_line_without_its_extra_says_what_to_install():
    result = run("from poseprior.cli import main\nmain(['--help'])")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: poseprior's command line needs rich, which is not installed: pip install 'poseprior[cli]'"
    ]
