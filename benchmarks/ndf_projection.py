"""Distance-field projection speed against Pose-NDF's architecture (docs/benchmarks.md, "Distance field:
projection"), in one run on bandai-v1 test.

1,000 test poses (evenly spaced over the split) with Gaussian rotation-vector noise of ``--noise`` degrees per
axis on every joint are projected by each model's own ``project`` (the Pose-NDF reference configuration: 100
steps ``x <- x - f grad f``; poseprior's default: Newton steps with early stopping). Reported: milliseconds per
pose (batch 1000, the best of ``--repeats`` timed projections), the field value after projection, and the true
distance before and after projection, the RMS per-joint geodesic angle to the nearest **train** pose
(:func:`~poseprior.models.ndf_data.nearest_poses_rms`), in radians and degrees; the distances also over the
poses of dataset 1 (Bandai's ``dataset-1_*`` takes: held-out styles) and dataset 2 (``dataset-2_*``: repeated
contents) apart. The reference model is trained by the same command with ``--reference-architecture``:

    poseprior train ndf --data prepared/bandai-v1 --out runs/ndf-ref --reference-architecture --steps 1000 \\
        --minutes 8 --threads 1 --export runs/ndf-ref/export/ndf-ref
    .venv/bin/python benchmarks/ndf_projection.py --model runs/ndf-ref/export/ndf-ref.json --model ndf-bandai

Results (``record.save``): ``benchmarks/results/ndf_projection.json``. ``results``: ``conditions`` (batch,
repeats, threads, noise_deg, seed), ``noise`` (per noise level ``"10"``, ``"20"``: ``distance_before_rad``,
with its ``dataset1_`` and ``dataset2_`` values), and ``models``, per model spec: ``label`` (the row's name:
the spec, or "Pose-NDF reference" for that architecture), ``class``, ``parameters``, ``projection`` (how it
projects: ``steps``, ``newton``, ``tol``) and, per noise level, ``project_ms``, ``field_after``,
``distance_after_rad`` (with its ``dataset1_``, ``dataset2_`` values) and ``distance_after_deg``; when the
run has a Pose-NDF reference model, the other models also have ``reference_project_ms_over_this`` (how many
times faster they project) and ``distance_after_over_reference`` (their distance after, as a fraction of the
reference's).

``--quick``: 200 poses, 1 timed projection, written under ``record.quick_dir()``, never over the published
results.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

import torch

from poseprior.data import load_prepared
from poseprior.models.ndf_data import nearest_poses_rms, perturb
from poseprior.zoo import load
from record import save

POSES = 1000
QUICK_POSES = 200


def _means(values: torch.Tensor, datasets: dict[str, torch.Tensor], key: str) -> dict[str, float | None]:
    """``{key: mean, dataset1_key: ..., dataset2_key: ...}`` of per-pose ``values (N,)`` (None: no pose there)."""
    out: dict[str, float | None] = {key: float(values.double().mean())}
    for d, rows in datasets.items():
        out[f"{d}_{key}"] = float(values[rows].double().mean()) if len(rows) else None
    return out


def projection_label(projection: dict) -> str:
    """How a model projects, in words: "100 steps" (Pose-NDF's ``f grad f``) or "Newton, at most 8 steps"."""
    return f"Newton, at most {projection['steps']} steps" if projection["newton"] else f"{projection['steps']} steps"


def model_label(spec: str, model) -> str:
    """The row's name: "Pose-NDF reference" for a model of that architecture, else ``spec``."""
    from poseprior.models.ndf import DistanceFieldConfig

    config = getattr(model, "config", None)
    if isinstance(config, DistanceFieldConfig):
        ref = DistanceFieldConfig.posendf_reference(config.num_joints, config.parents)
        fields = ("features", "encoder_features", "hidden", "activation", "project_steps", "newton")
        if all(getattr(config, f) == getattr(ref, f) for f in fields):
            return "Pose-NDF reference"
    return spec


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' block ``table`` from ``ndf_projection.json`` (``benchmarks/report.py``)."""
    return _blocks(results())


def _blocks(run: dict) -> dict[str, str]:
    s, r = run["subset"], run["results"]
    c = r["conditions"]
    head = (
        f"| model ({s['poses']:,} noisy test poses: dataset 1 {s['dataset1_poses']:,}, dataset 2 {s['dataset2_poses']:,}; batch {c['batch']:,}) "
        "| parameters | noise (deg/axis) | distance before (rad) | project (ms/pose) | field after | distance after (rad) "
        "| dataset 1 | dataset 2 | (deg/joint, RMS) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for m in r["models"].values():
        for noise, before in r["noise"].items():
            x = m["noise"][noise]
            lines.append(
                f"| {m['label']}, {projection_label(m['projection'])} | {m['parameters']:,} | {float(noise):g} "
                f"| {before['distance_before_rad']:.3f} | {x['project_ms']:.3f} | {x['field_after']:.3f} | {x['distance_after_rad']:.3f} "
                f"| {_f(x['dataset1_distance_after_rad'])} | {_f(x['dataset2_distance_after_rad'])} | {x['distance_after_deg']:.1f} |"
            )
    return {"table": "\n".join(lines)}


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="distance-field model (repeatable)")
    parser.add_argument("--data", default="prepared/bandai-v1")
    parser.add_argument(
        "--noise", type=float, action="append", help="noise, degrees per axis (repeatable; default 10, 20)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed projections per model (the best is kept)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_POSES} poses, 1 repeat, written under record.quick_dir() (not published)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    poses = QUICK_POSES if args.quick else POSES
    if args.quick:
        args.repeats = 1
    data = load_prepared(args.data, ["train", "test"])
    train, split = data["train"].rotations, data["test"]
    index = torch.linspace(0, len(split) - 1, poses).round().long()
    clean = split.rotations[index]
    dataset1 = torch.tensor([name.startswith("dataset-1") for name in split.take_names])[split.take][index]
    datasets = {"dataset1": dataset1.nonzero().squeeze(1), "dataset2": (~dataset1).nonzero().squeeze(1)}
    noises = args.noise or [10.0, 20.0]
    start_rows, before = {}, {}
    for noise in noises:
        R = perturb(clean, noise, torch.Generator().manual_seed(0))
        start_rows[noise] = R
        before[f"{noise:g}"] = _means(nearest_poses_rms(R, train).distance, datasets, "distance_before_rad")
    print(f"bandai-v1 test, {poses} noisy poses, batch {poses}, {args.threads} threads", file=sys.stderr)
    models: dict[str, dict] = {}
    for spec in args.model:
        model = load(spec).eval()
        config = model.config
        entry: dict = {
            "label": model_label(spec, model),
            "class": type(model).__name__,
            "parameters": sum(p.numel() for p in model.parameters()),
            "projection": {"steps": config.project_steps, "newton": config.newton, "tol": config.project_tol},
            "noise": {},
        }
        for noise, R in start_rows.items():
            model.project(R[:10])  # warm-up
            best = math.inf
            for _ in range(args.repeats):
                t = time.perf_counter()
                P = model.project(R)
                best = min(best, time.perf_counter() - t)
            with torch.no_grad():
                field = float(model.distance(P).mean())
            after = nearest_poses_rms(P, train).distance
            entry["noise"][f"{noise:g}"] = {
                "project_ms": 1000 * best / poses,
                "field_after": field,
                **_means(after, datasets, "distance_after_rad"),
                "distance_after_deg": math.degrees(float(after.double().mean())),
            }
        models[spec] = entry
    # Against the Pose-NDF reference architecture, when the run has one: how many times faster, how far.
    reference = next((m for m in models.values() if m["label"] == "Pose-NDF reference"), None)
    for m in models.values():
        if reference is not None and m is not reference:
            for noise, x in m["noise"].items():
                ref = reference["noise"][noise]
                x["reference_project_ms_over_this"] = ref["project_ms"] / x["project_ms"]
                x["distance_after_over_reference"] = x["distance_after_rad"] / ref["distance_after_rad"]
    out = {
        "conditions": {
            "batch": poses,
            "repeats": args.repeats,
            "threads": args.threads,
            "noise_deg": noises,
            "seed": 0,
        },
        "noise": before,
        "models": models,
    }
    subset = {
        "split": "test",
        "poses": poses,
        "chosen": f"{poses:,} test poses evenly spaced over the split (torch.linspace over its splits.json order, rounded)",
        "dataset1_poses": int(datasets["dataset1"].numel()),
        "dataset2_poses": int(datasets["dataset2"].numel()),
        "noise": "rotation-vector noise N(0, sigma^2 I_3) per joint, torch.Generator seed 0 for every level",
        "distance_to": f"the {len(train):,} train poses (exact nearest neighbour, nearest_poses_rms)",
    }
    save("ndf_projection", out, subset=subset, quick=args.quick)
    shown = {"subset": subset, "results": out}
    print(_blocks(shown)["table"])
    return shown


if __name__ == "__main__":
    main()
