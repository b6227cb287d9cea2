"""Peak memory and time of the commands a long take goes through, as a user runs them (issue 14: bounded memory).

A take of ``--frames`` frames (default 200,000: 28 minutes at 120 fps) is CMU's 01_01 (``../shared/data/cmu``,
its first frame, an added T-pose, left out) played again and again, each copy walking on from where the last
one ended, written as BVH (about 190 MB). Then each command runs in a process of its own (the console script,
default settings but the output) and its peak resident memory is read from the operating system
(``wait4``'s ``ru_maxrss``):

- ``convert`` the BVH to npz, ``score`` it, ``denoise`` it and ``fit3d`` to it (the take's own joints as exact
  keypoints), on the BVH;
- ``lift`` 2D keypoints of it (its canonical pose joints seen by a pinhole camera following the walker 4 m in
  front, 1000 px focal length, every frame), with the default rotation lifter.

Written to ``benchmarks/results/memory.json``. ``--quick`` runs 1,000 frames (not published).

    .venv/bin/python benchmarks/memory.py [--frames 200000]   # about 40 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from poseprior.io import Keypoints, Motion, read_motion, write_keypoints_npz, write_motion
from poseprior.retarget import to_pose
from poseprior.skeleton.smpl import POSE_JOINTS
from record import save

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEPRIOR_SHARED", REPO.parent / "shared")) / "data"
#: (name, arguments after the command's input file); ``{out}`` is a file in the run's folder.
COMMANDS = (
    ("convert", ["{out}.npz"]),
    ("score", []),
    ("denoise", ["-o", "{out}.bvh"]),
    ("fit3d", ["-o", "{out}.bvh"]),
    ("lift", ["-o", "{out}.npz"]),
)


def long_take(frames: int) -> Motion:
    """CMU 01_01 repeated to ``frames`` frames, each copy's root moved on by the take's own horizontal travel."""
    take = read_motion(SHARED / "cmu" / "01_01.bvh").frames(slice(1, None))
    copies = -(-frames // take.num_frames)
    travel = (take.root_translation[-1] - take.root_translation[0]) * torch.tensor([1.0, 0.0, 1.0])
    root = torch.cat([take.root_translation + i * travel for i in range(copies)])[:frames]
    return replace(take, rotations=take.rotations.repeat(copies, 1, 1, 1)[:frames], root_translation=root)


def keypoints_2d(motion: Motion, block: int = 20_000) -> Keypoints:
    """The motion's canonical pose joints (pelvis and the 20 pose joints) seen by a camera that follows the
    walker, 4 m in front of the pelvis (+z towards the camera), 1000 px focal length, 1000 x 1000 px image."""
    names = ("pelvis", *POSE_JOINTS)
    parts = []
    for a in range(0, motion.num_frames, block):
        pose, _ = to_pose(motion.frames(slice(a, a + block)))
        parts.append(pose.positions().double() * pose.unit / 1000.0)  # metres
    p = torch.cat(parts)
    centre = p[:, :1]  # each frame's pelvis: the camera keeps the walker in view
    depth = 4.0 + (centre[..., 2] - p[..., 2])  # the camera on the +z side, looking along -z
    f, c = 1000.0, 500.0
    pixels = torch.stack(
        [c - f * (p[..., 0] - centre[..., 0]) / depth, c - f * (p[..., 1] - centre[..., 1]) / depth], dim=-1
    )
    camera = np.array([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]])
    return Keypoints(pixels.numpy(), names, fps=motion.fps, camera=camera, confidence=np.ones(pixels.shape[:2]))


def run(command: str, path: Path, extra: list[str], folder: Path) -> dict:
    """One command in a process of its own: exit status, seconds, peak resident memory (GB) and its last line."""
    args = [
        str(Path(sys.executable).with_name("poseprior")),
        command,
        str(path),
        *(a.format(out=folder / command) for a in extra),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read() if process.stdout is not None else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    lines = output.strip().splitlines()
    return {
        "exit": process.returncode,
        "seconds": time.perf_counter() - start,
        "peak_rss_gb": usage.ru_maxrss * 1024 / 1e9,  # Linux reports kilobytes
        "last_line": lines[-1] if lines else "",
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200_000, help="frames of the long take")
    parser.add_argument("--quick", action="store_true", help="1,000 frames (not published)")
    parser.add_argument("--only", nargs="*", default=None, help="run these commands only (not published)")
    args = parser.parse_args(argv)
    frames = 1_000 if args.quick else args.frames
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="poseprior-memory-") as tmp:
        folder = Path(tmp)
        motion = long_take(frames)
        write_motion(motion, folder / "take.bvh")
        write_keypoints_npz(keypoints_2d(motion), folder / "keypoints.npz")
        sizes = {
            "take.bvh": (folder / "take.bvh").stat().st_size,
            "keypoints.npz": (folder / "keypoints.npz").stat().st_size,
        }
        for command, extra in COMMANDS:
            if args.only is not None and command not in args.only:
                continue
            source = folder / ("keypoints.npz" if command == "lift" else "take.bvh")
            results[command] = run(command, source, extra, folder)
            r = results[command]
            print(
                f"{command}: exit {r['exit']}, {r['seconds']:.0f} s, peak {r['peak_rss_gb']:.2f} GB: {r['last_line']}",
                file=sys.stderr,
                flush=True,
            )
    subset = {
        "take": f"CMU 01_01.bvh without its first frame, repeated to {frames:,} frames at {motion.fps:g} fps, each copy walking on",
        "frames": frames,
        "input_bytes": sizes,
        "lift_input": "its canonical pose joints projected by a pinhole camera following the walker 4 m in front (f 1000 px), every frame",
    }
    save("memory", {"commands": results}, subset=subset, quick=args.quick or args.only is not None)
    return results


def render(results) -> dict[str, str]:
    r = results()
    frames = r["subset"]["frames"]
    rows = [
        f"| `poseprior {name}` | {c['exit']} | {c['peak_rss_gb']:.2f} | {c['seconds']:,.0f} | {1000 * c['seconds'] / frames:.2f} |"
        for name, c in r["results"]["commands"].items()
    ]
    head = (
        f"A take of {frames:,} frames (CMU 01_01 repeated, 120 fps, {r['subset']['input_bytes']['take.bvh'] / 1e6:,.0f} MB of BVH), "
        f"each command with its default settings, {r['meta']['threads']} thread(s):\n\n"
    )
    table = "| command | exit | peak memory (GB) | time (s) | ms per frame |\n|---|---|---|---|---|\n" + "\n".join(rows)
    commands = r["results"]["commands"]
    names = ", ".join(f"`{n}`" for n in commands)
    peak = max(c["peak_rss_gb"] for c in commands.values())
    failed = [n for n, c in commands.items() if c["exit"] != 0]
    readme = f"a take of {frames:,} frames goes through {names} in at most {peak:.1f} GB of memory" + (
        f" ({', '.join(failed)} failed)" if failed else ""
    )
    return {"table": head + table, "readme": readme}


if __name__ == "__main__":
    main()
