"""The Human3.6M-format training path of the flow lifter against the motion-dataset path, on the same poses
(docs/benchmarks.md, "Lifting from Human3.6M-style joints").

Human3.6M is not on this machine, so bandai-v1 stands in: its train and val poses are written as a
``data_3d_h36m.npz`` in VideoPose3D's exact format (H36M-17 keypoints by forward kinematics with the root's
orientation, metres, z up; train as subject S1, val as S8), and two flow lifters with the same architecture,
seed and steps are trained with ``poseprior train lifter-flow`` (its defaults otherwise: 2 px pixel noise, 10% of
keypoints dropped): one from the prepared dataset (``--layout h36m17``), one from the npz (``--every 1``:
bandai-v1 is already 10 fps). Both are scored on every 10th val pose, each pose seen by a random camera (the
model's ``validation_metrics``: fixed seed): the validation log-likelihood (nats per pose of the standardised
coordinates) and the mode's MPJPE (mm). The paths should agree within run-to-run noise.

Run from the repository root (about 2 x 5 minutes at the defaults on one thread):

    .venv/bin/python benchmarks/lifter_h36m_format.py [--data prepared/bandai-v1] [--out runs/h36m-format] [--steps 1500] [--threads 1]
    .venv/bin/python benchmarks/lifter_h36m_format.py --quick   # 5 steps each, 2 coupling transforms: a smoke run, not published
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import poseprior.zoo as zoo
from poseprior.data import load_prepared
from poseprior.data.lifting import layout_keypoints
from poseprior.io.h36m import H36M32_TO_17
from record import RESULTS, save

EVERY = 10  # every 10th val pose is scored
RUNS = {
    "prepared": "prepared dataset (rotations, `--layout h36m17`)",
    "npz": "`data_3d_h36m.npz` (keypoints, `--every 1`)",
}

#: Option defaults of a full run and of ``--quick`` (an explicit option wins over both).
FULL = dict(steps=1500, layers=None, passes=None)  # None: the trainer's default (5 autoregressive transforms)
QUICK = dict(
    steps=5, layers=2, passes=2
)  # coupling: its mode (the scoring) inverts in one pass, not one per coordinate


def write_h36m_file(data_dir: Path, path: Path) -> dict:
    """bandai-v1 train and val as VideoPose3D's ``data_3d_h36m.npz``; returns the scored val rotations and the
    pose counts."""
    data = load_prepared(data_dir, ["train", "val"])
    subjects = {}
    for split, subject in (("train", "S1"), ("val", "S8")):
        R, root = data[split].rotations.float(), data[split].root_rotation.float()
        world_cm = torch.cat(
            [
                layout_keypoints(data.skeleton, R[i : i + 20_000], "h36m17") @ root[i : i + 20_000].transpose(-1, -2)
                for i in range(0, len(R), 20_000)
            ]
        )
        z_up_m = torch.stack([world_cm[..., 0], -world_cm[..., 2], world_cm[..., 1]], -1).numpy() * (data.unit / 1000)
        full = np.repeat(z_up_m[:, :1], 32, axis=1)
        full[:, list(H36M32_TO_17)] = z_up_m
        subjects[subject] = {f"bandai-v1 {split}": full.astype(np.float32)}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, positions_3d=subjects)
    return {
        "batch": {"rotations": data["val"].rotations[::EVERY], "root_rotation": data["val"].root_rotation[::EVERY]},
        "train_poses": len(data["train"]),
        "val_poses": len(data["val"]),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("prepared/bandai-v1"))
    parser.add_argument(
        "--out",
        type=Path,
        help="folder of the npz and the two runs (default runs/h36m-format; with --quick a temporary folder)",
    )
    parser.add_argument("--steps", type=int, help=f"training steps of each lifter (default {FULL['steps']})")
    parser.add_argument("--layers", type=int, help="flow transforms of both lifters (default the trainer's: 5)")
    parser.add_argument(
        "--passes", type=int, help="coupling transforms with this many passes (default the trainer's: autoregressive)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a handful of steps (a smoke run; written under record.quick_dir(), not published)",
    )
    parser.add_argument("--results", type=Path, help="another folder for the results file")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.quick and args.results is not None and args.results.resolve() == RESULTS.resolve():
        parser.error("--quick numbers are not for publication: not writing them to benchmarks/results")
    return args


def main(argv: list[str] | None = None) -> dict:
    """Write the npz, train both lifters, score them, print the table, write the results file."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="poseprior-h36m-format-") as tmp:
        out = args.out or (Path(tmp) if args.quick else Path("runs/h36m-format"))
        return run(args, out)


def run(args: argparse.Namespace, folder: Path) -> dict:
    npz = folder / "data_3d_h36m.npz"
    start = time.perf_counter()
    val = write_h36m_file(args.data, npz)
    write_s = time.perf_counter() - start
    arch = [
        *(["--layers", str(args.layers)] if args.layers else []),
        *(["--passes", str(args.passes)] if args.passes else []),
    ]
    common = [
        *arch,
        "--steps",
        str(args.steps),
        "--threads",
        str(args.threads),
        "--eval-every",
        str(args.steps),
        "--no-progress",
        "--device",
        "cpu",
    ]
    data_args = {
        "prepared": ["--data", str(args.data), "--layout", "h36m17"],
        "npz": ["--data", str(npz), "--every", "1", "--train-subjects", "S1", "--val-subjects", "S8"],
    }
    results: dict = {"runs": {}}
    cards = {}
    for i, (key, extra) in enumerate(data_args.items()):
        out = folder / f"run-{i}"
        command = ["poseprior", "train", "lifter-flow", *extra, "--out", str(out), *common]
        subprocess.run([sys.executable, "-m", "poseprior.cli.app", *command[1:]], check=True, capture_output=True)
        model = zoo.load(out / "lifter-flow")
        card = cards[key] = zoo.info(out / "lifter-flow")
        if model.skeleton is None:  # the keypoints of the same val poses, as the npz holds them
            from poseprior.data.lifting import h36m_lifting_splits

            batch = {"keypoints": h36m_lifting_splits(npz, ("S1",), ("S8",), every=1)["val"][::EVERY]}
        else:
            batch = val["batch"]
        with torch.no_grad():
            m = model.validation_metrics(batch)
        results["runs"][key] = {
            "training_data": RUNS[key],
            "command": " ".join(command).replace(str(folder), "OUT"),
            "scored_poses": int(next(iter(batch.values())).shape[0]),
            "val_log_likelihood_nats": m["log_likelihood"],
            "mode_mpjpe_mm": m["mpjpe_mm"],
            "training_s": card.training["wall_time_s"],
            "steps": card.training["steps"],
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        print(f"{key}: done", file=sys.stderr, flush=True)
    a, b = results["runs"]["prepared"], results["runs"]["npz"]
    results["difference_npz_minus_prepared"] = {k: b[k] - a[k] for k in ("val_log_likelihood_nats", "mode_mpjpe_mm")}
    results["write_npz_s"] = write_s
    config, train = cards["prepared"].config, cards["prepared"].training.get("train_config", {})
    lifting = config["lifting"]
    subset = {
        "quick": args.quick,
        "train": f"bandai-v1 train ({val['train_poses']:,} poses; in the npz as subject S1)",
        "val": f"bandai-v1 val ({val['val_poses']:,} poses; in the npz as subject S8)",
        "scored": f"every {EVERY}th val pose ({a['scored_poses']:,} poses), each seen by one random camera of the training ranges (validation_metrics: seed 0, the model's pixel noise and dropping)",
        "npz": "VideoPose3D's data_3d_h36m.npz format: H36M-17 keypoints by forward kinematics with the root's orientation, metres, z up, in the 32-joint array",
        "steps": args.steps,
        "seed": train.get("seed"),
        "batch_size": train.get("batch_size"),
        "lr": train.get("lr"),
        "architecture": {k: config.get(k) for k in ("transforms", "hidden", "bins", "context", "context_hidden", "passes")},
        "camera": {k: lifting[k] for k in ("yaw_deg", "pitch_deg", "distance_mm", "aim_jitter_mm", "focal_px", "image_size")},
        "pixel_noise_px": lifting["pixel_noise_px"],
        "drop_percent": 100 * lifting["drop_probability"],
        "threads": args.threads,
    }  # fmt: skip
    save("lifter_h36m_format", results, subset=subset, quick=args.quick, out=args.results)
    print(render(lambda setting="": {"subset": subset, "results": results})["table"])
    return {"subset": subset, "results": results}


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' block ``table`` (``benchmarks/report.py``): the two training paths side by side, the
    conditions under it."""
    r = results()
    s, res = r["subset"], r["results"]
    lines = [
        "| training data | val log-likelihood (nats/pose, standardised) | mode MPJPE (mm) | minutes |",
        "|---|---|---|---|",
    ]
    for m in res["runs"].values():
        lines.append(
            f"| {m['training_data']} | {m['val_log_likelihood_nats']:.1f} | {m['mode_mpjpe_mm']:.1f} | {m['training_s'] / 60:.1f} |"
        )
    d = res["difference_npz_minus_prepared"]
    arch = s["architecture"]
    kind = (
        f"coupling spline transforms ({arch['passes']} passes)"
        if arch.get("passes")
        else "autoregressive spline transforms"
    )
    lines += [
        "",
        f"Both trained {s['steps']:,} steps (seed {s['seed']}, batch {s['batch_size']}, {s['threads']} thread(s)) on {s['train']}, {arch['transforms']} {kind}, "
        f"{s['pixel_noise_px']:g} px pixel noise, {s['drop_percent']:g}% of keypoints dropped; scored on {s['scored']}. "
        f"npz minus prepared: {d['val_log_likelihood_nats']:+.1f} nats, {d['mode_mpjpe_mm']:+.1f} mm.",
    ]  # fmt: skip
    return {"table": "\n".join(lines)}


if __name__ == "__main__":
    main()
