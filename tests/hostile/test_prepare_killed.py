"""``kill -9`` during ``poseprior data prepare`` (issue 14): the folder never reads as complete, and the same
command run again writes the very cache an uninterrupted run writes (a prepare starts over; it is minutes)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from poseprior.cli.app import main
from poseprior.data.cache import MANIFEST

# The prepare, stalled while it writes its first split file: the moment the kill comes.
STALLING_PREPARE = """
import sys, time, torch

def stall(obj, file, *args, **kwargs):
    with open(file, "wb") as f:
        f.write(b"half a split")
    time.sleep(120)

torch.save = stall
from poseprior.cli.app import main
main(sys.argv[1:])
"""


@pytest.fixture
def amass_source(tmp_path: Path) -> Path:
    """Six small AMASS takes (SMPL-H layout, 60 fps)."""
    rng = np.random.default_rng(0)
    for i in range(6):
        path = tmp_path / "source" / "CMU" / f"{i:02d}" / f"{i:02d}_01_poses.npz"
        path.parent.mkdir(parents=True)
        np.savez(
            path,
            poses=rng.normal(0, 0.3, (40, 156)),
            trans=rng.normal(0, 1, (40, 3)),
            betas=np.zeros(16),
            gender="male",
            mocap_framerate=60.0,
        )
    return tmp_path / "source"


def prepare(source: Path, out: Path) -> list[str]:
    return ["data", "prepare", "amass", "--source", str(source), "--out", str(out), "--workers", "1", "--no-progress"]


def run(args: list[str], capsys) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
    capsys.readouterr()
    return info.value.code


def test_a_killed_prepare_reruns_to_the_same_cache(tmp_path, amass_source, capsys):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", STALLING_PREPARE, *prepare(amass_source, killed)], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not (killed.is_dir() and any(".tmp" in p.name for p in killed.iterdir())):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the prepare never started writing"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert not (killed / MANIFEST).exists()  # never reads as complete
    assert run(["data", "info", str(killed)], capsys) == 2

    assert run(prepare(amass_source, killed), capsys) == 0  # the same command again
    clean = tmp_path / "clean"
    assert run(prepare(amass_source, clean), capsys) == 0
    assert not [p.name for p in killed.iterdir() if ".tmp" in p.name]  # the killed run's temporary file is gone
    manifests = [json.loads((folder / MANIFEST).read_text()) for folder in (killed, clean)]
    for m in manifests:
        del m["created"], m["elapsed_s"], m["source"]
    assert manifests[0] == manifests[1]
    for name in manifests[0]["files"]:
        if name.endswith(".pt"):  # torch.save names its archive after the (temporary) file: compare the contents
            a, b = (torch.load(folder / name, weights_only=True) for folder in (killed, clean))
            assert a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a), name
        else:
            assert (killed / name).read_bytes() == (clean / name).read_bytes(), name


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    return a == b
