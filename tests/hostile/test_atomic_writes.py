"""Signals during a write (issue 14): SIGTERM removes the temporary file as Ctrl-C does, and one left by
``kill -9`` is removed by the next write to the same target."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from poseprior._atomic import atomic_path
from poseprior.cli.app import main

# A convert whose npz writer stalls after writing part of the temporary file: the moment a signal hits.
STALLING_CONVERT = """
import sys, time
import numpy as np
import poseprior.io.npz as npz

def stall(file, **arrays):
    file.write(b"half an npz")
    file.flush()
    time.sleep(120)

npz.np.savez = npz.np.savez_compressed = stall
from poseprior.cli.app import main
main(sys.argv[1:])
"""


def start_stalled_convert(source: Path, out: Path) -> tuple[subprocess.Popen, Path]:
    """A ``poseprior convert`` process stalled mid-write, and its temporary file."""
    proc = subprocess.Popen(
        [sys.executable, "-c", STALLING_CONVERT, "convert", str(source), str(out)], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        temporary = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.poseprior-{proc.pid}-")]
        if temporary:
            return proc, temporary[0]
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the temporary file never appeared")


@pytest.fixture
def source(write_bvh_text) -> Path:
    return write_bvh_text("take.bvh", frames=30)


def test_sigterm_mid_write_leaves_nothing(tmp_path, source):
    out = tmp_path / "out.npz"
    proc, temporary = start_stalled_convert(source, out)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip().startswith("stopped: poseprior convert") and "(SIGTERM)" in err and "Traceback" not in err
    assert not temporary.exists() and not out.exists()


def test_a_temporary_file_left_by_kill_9_is_removed_by_the_next_write(tmp_path, source, capsys):
    out = tmp_path / "out.npz"
    proc, temporary = start_stalled_convert(source, out)
    proc.kill()
    proc.wait(timeout=60)
    assert temporary.exists()  # nothing can clean up after SIGKILL ...
    with pytest.raises(SystemExit) as info:
        main(["convert", str(source), str(out)])
    assert info.value.code == 0 and out.is_file()
    assert not temporary.exists()  # ... but the next write to the same target does
    capsys.readouterr()


def test_temporary_files_of_running_processes_and_other_targets_are_kept(tmp_path):
    target = tmp_path / "a.npz"
    alive = tmp_path / f".a.npz.poseprior-{os.getppid()}-x.tmp.npz"  # a process that runs (pytest's parent)
    other = tmp_path / ".b.npz.poseprior-999999999-x.tmp.npz"  # another target's
    mine = tmp_path / ".a.npz.unrelated.tmp.npz"  # not ours
    for p in (alive, other, mine):
        p.write_bytes(b"x")
    with atomic_path(target) as tmp:
        assert tmp.name.startswith(f".a.npz.poseprior-{os.getpid()}-") and tmp.name.endswith(".tmp.npz")
        tmp.write_bytes(b"done")
    assert target.read_bytes() == b"done" and alive.exists() and other.exists() and mine.exists()
