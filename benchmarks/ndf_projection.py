"""Distance-field projection speed against Pose-NDF's architecture (docs/benchmarks.md, "Distance field:
projection"), in one run on bandai-v1 test.

1,000 test poses (evenly spaced over the split) with Gaussian rotation-vector noise of ``--noise`` degrees per
axis on every joint are projected by each model's own ``project`` (the Pose-NDF reference configuration: 100
steps ``x <- x - f grad f``; poseprior's default: Newton steps with early stopping). Reported: milliseconds per
pose (batch 1000), the field value after projection, and the true distance after projection, the RMS per-joint
geodesic angle to the nearest **train** pose (:func:`~poseprior.models.ndf_data.nearest_poses_rms`), in radians
and degrees. The reference model is trained by the same command with ``--reference-architecture``:

    poseprior train ndf --data prepared/bandai-v1 --out runs/ndf-ref --reference-architecture --steps 1000 \\
        --minutes 8 --threads 1 --export runs/ndf-ref/export/ndf-ref
    .venv/bin/python benchmarks/ndf_projection.py --model runs/ndf-ref/export/ndf-ref.json --model ndf-bandai
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from poseprior.data import load_prepared
from poseprior.models.ndf_data import nearest_poses_rms, perturb
from poseprior.zoo import load

POSES = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="distance-field model (repeatable)")
    parser.add_argument("--data", default="prepared/bandai-v1")
    parser.add_argument("--noise", type=float, action="append", help="noise, degrees per axis (repeatable; default 10, 20)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed projections per model (the best is kept)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_prepared(args.data, ["train", "test"])
    train, test = data["train"].rotations, data["test"].rotations
    clean = test[torch.linspace(0, len(test) - 1, POSES).round().long()]
    start_rows = {}
    for noise in args.noise or [10.0, 20.0]:
        R = perturb(clean, noise, torch.Generator().manual_seed(0))
        start_rows[noise] = (R, float(nearest_poses_rms(R, train).distance.mean()))
    print(f"bandai-v1 test, {POSES} noisy poses, batch {POSES}, {args.threads} threads\n")
    print("| model | parameters | noise (deg/axis) | distance before (rad) | project (ms/pose) | field after | distance after (rad) | (deg/joint, RMS) |")
    print("|---|---|---|---|---|---|---|---|")
    for spec in args.model:
        model = load(spec).eval()
        params = sum(p.numel() for p in model.parameters())
        for noise, (R, before) in start_rows.items():
            model.project(R[:10])  # warm-up
            best = math.inf
            for _ in range(args.repeats):
                t = time.perf_counter()
                P = model.project(R)
                best = min(best, time.perf_counter() - t)
            with torch.no_grad():
                field = float(model.distance(P).mean())
            after = float(nearest_poses_rms(P, train).distance.mean())
            print(
                f"| {spec} | {params:,} | {noise:g} | {before:.3f} | {1000 * best / POSES:.3f} | {field:.3f} | "
                f"{after:.3f} | {math.degrees(after):.1f} |"
            )


if __name__ == "__main__":
    main()
