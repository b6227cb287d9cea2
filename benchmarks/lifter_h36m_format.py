"""The Human3.6M-format training path of the flow lifter against the motion-dataset path, on the same poses
(docs/benchmarks.md, "Lifting from Human3.6M-style joints").

Human3.6M is not on this machine, so bandai-v1 stands in: its train and val poses are written as a
``data_3d_h36m.npz`` in VideoPose3D's exact format (H36M-17 keypoints by forward kinematics with the root's
orientation, metres, z up; train as subject S1, val as S8), and two flow lifters with the same architecture,
seed and steps are trained with ``poseprior train lifter-flow``: one from the prepared dataset
(``--layout h36m17``), one from the npz (``--every 1``: bandai-v1 is already 10 fps). Both are scored on every
10th val pose, each pose seen by a random camera (fixed seed): the validation log-likelihood (nats per pose of
the standardised coordinates) and the mode's MPJPE (mm). The paths should agree within run-to-run noise.

Run from the repository root (about 2 x 5 minutes at the defaults on one thread):

    .venv/bin/python benchmarks/lifter_h36m_format.py [--data prepared/bandai-v1] [--out runs/h36m-format] [--steps 1500] [--threads 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import poseprior.zoo as zoo
from poseprior.data import load_prepared
from poseprior.data.lifting import layout_keypoints
from poseprior.io.h36m import H36M32_TO_17


def write_h36m_file(data_dir: Path, path: Path) -> dict:
    """bandai-v1 train and val as VideoPose3D's ``data_3d_h36m.npz``; returns the val rotations for scoring."""
    data = load_prepared(data_dir, ["train", "val"])
    subjects = {}
    for split, subject in (("train", "S1"), ("val", "S8")):
        R, root = data[split].rotations.float(), data[split].root_rotation.float()
        world_cm = torch.cat([layout_keypoints(data.skeleton, R[i : i + 20_000], "h36m17") @ root[i : i + 20_000].transpose(-1, -2) for i in range(0, len(R), 20_000)])
        z_up_m = torch.stack([world_cm[..., 0], -world_cm[..., 2], world_cm[..., 1]], -1).numpy() * (data.unit / 1000)
        full = np.repeat(z_up_m[:, :1], 32, axis=1)
        full[:, list(H36M32_TO_17)] = z_up_m
        subjects[subject] = {f"bandai-v1 {split}": full.astype(np.float32)}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, positions_3d=subjects)
    return {"rotations": data["val"].rotations[::10], "root_rotation": data["val"].root_rotation[::10]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("prepared/bandai-v1"))
    parser.add_argument("--out", type=Path, default=Path("runs/h36m-format"))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    npz = args.out / "data_3d_h36m.npz"
    val_poses = write_h36m_file(args.data, npz)
    common = ["--steps", str(args.steps), "--threads", str(args.threads), "--eval-every", str(args.steps), "--no-progress", "--device", "cpu"]
    runs = {
        "prepared dataset (rotations)": ["--data", str(args.data), "--layout", "h36m17"],
        "data_3d_h36m.npz (keypoints)": ["--data", str(npz), "--every", "1", "--train-subjects", "S1", "--val-subjects", "S8"],
    }
    print(f"{'training data':32s} {'val log-lik':>12s} {'mode MPJPE mm':>14s} {'minutes':>8s}")
    for i, (name, data_args) in enumerate(runs.items()):
        out = args.out / f"run-{i}"
        subprocess.run([sys.executable, "-m", "poseprior.cli.app", "train", "lifter-flow", *data_args, "--out", str(out), *common], check=True, capture_output=True)
        model = zoo.load(out / "lifter-flow")
        card = zoo.info(out / "lifter-flow")
        if model.skeleton is None:  # the keypoints of the same val poses, as the npz holds them
            from poseprior.data.lifting import h36m_lifting_splits

            batch = {"keypoints": h36m_lifting_splits(npz, ("S1",), ("S8",), every=1)["val"][::10]}
        else:
            batch = val_poses
        m = model.validation_metrics(batch)
        print(f"{name:32s} {m['log_likelihood']:12.1f} {m['mpjpe_mm']:14.1f} {card.training['wall_time_s'] / 60:8.1f}", flush=True)


if __name__ == "__main__":
    main()
