"""IK numbers (docs/benchmarks.md, "Inverse kinematics"): conditional flows on bandai-v1 test.

For each model and observation kind: the mode's MPJPE (mm, root-relative: the pelvis-frame joints of the
21-joint skeleton, root included), PA-MPJPE (mm), geodesic error of the 20 local rotations (degrees), the
best-of-N MPJPE of N hypotheses, the mean log-likelihood of the true pose (nats) and the IK speed; then the
gap between the model with every joint hidden and an unconditional prior.

Observations of the true poses, all with a fixed seed:
- 3D: the pelvis-frame keypoints, every joint visible;
- 3D, 30% hidden: 6 of the 20 non-root joints hidden per pose (the root is the origin: always known);
- 2D orthographic: the pelvis-frame x, y (z hidden, as in HuProSO3);
- 2D perspective: pixels of a 1920 x 1080 camera (focal length 1000 px) at a random yaw, pitch and distance
  from the model's training ranges, aimed at a random point up to 0.5 m from the pelvis along each axis (so
  the pelvis is off the image centre), with the real root orientation of each pose.

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/ik.py --model flow-ik-bandai [--model PATH ...] [--prior flow-bandai] \\
        [--limit 2000] [--hypotheses 10] [--candidates 100] [--temperature 1] [--kind "3D, 30% hidden"] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from poseprior.data import load_prepared
from poseprior.metrics import best_of_n, mpjae, mpjpe, pa_mpjpe
from poseprior.models.flow.condition import perspective_pixels
from poseprior.models.flow.conditional import ConditionalFlowPrior, unobserved_gap
from poseprior.tasks.ik import solve_ik

#: The perspective camera: 1920 x 1080 pixels, focal length 1000 px.
INTRINSICS = torch.tensor([[1000.0, 0.0, 960.0], [0.0, 1000.0, 540.0], [0.0, 0.0, 1.0]])
KINDS = ("3D", "3D, 30% hidden", "2D orthographic", "2D perspective")


def observations(model: ConditionalFlowPrior, R: torch.Tensor, root_rotation: torch.Tensor, seed: int = 0) -> dict:
    """Per observation kind: ``(keypoints, mask, camera)`` of the true poses ``R (N, K, 3, 3)``."""
    g = torch.Generator().manual_seed(seed)
    N, K = R.shape[:2]
    keypoints = model.keypoints(R)
    hidden = torch.rand(N, K, generator=g).argsort(-1)[:, : round(0.3 * K)] + 1
    mask = torch.ones(N, K + 1, dtype=torch.bool).scatter(1, hidden, False)
    cond = model.config.condition
    yaw = 2 * math.pi * torch.rand(N, generator=g)
    lo, hi = (math.radians(a) for a in cond.pitch_deg)
    pitch = lo + (hi - lo) * torch.rand(N, generator=g)
    d_lo, d_hi = cond.distance_mm
    distance = (d_lo + (d_hi - d_lo) * torch.rand(N, generator=g)) / model.unit_mm
    aim = (torch.rand(N, 3, generator=g) * 2 - 1) * (500.0 / model.unit_mm)
    pixels = perspective_pixels(keypoints, root_rotation, INTRINSICS, yaw, pitch, distance, cond.up, aim)
    return {
        "3D": (keypoints, None, None),
        "3D, 30% hidden": (keypoints, mask, None),
        "2D orthographic": (keypoints[..., :2], None, None),
        "2D perspective": (pixels, None, INTRINSICS),
    }


def evaluate(
    model: ConditionalFlowPrior,
    R: torch.Tensor,
    root_rotation: torch.Tensor,
    hypotheses: int = 10,
    candidates: int = 100,
    kinds: tuple[str, ...] = KINDS,
    temperature: float = 1.0,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Per observation kind, the metrics of the module docstring on true poses ``R (N, K, 3, 3)``."""
    truth_mm = model.keypoints(R) * model.unit_mm
    results = {}
    for kind, (keypoints, mask, camera) in observations(model, R, root_rotation, seed).items():
        if kind not in kinds:
            continue
        t = time.perf_counter()
        ik = solve_ik(model, keypoints, mask, hypotheses, candidates=candidates, camera=camera, temperature=temperature, seed=seed)
        seconds = time.perf_counter() - t
        mode_mm = ik.positions * model.unit_mm
        results[kind] = {
            "mpjpe": float(mpjpe(mode_mm, truth_mm, align_root=0)),
            "pa_mpjpe": float(pa_mpjpe(mode_mm, truth_mm)),
            "geodesic": float(mpjae(ik.rotations, R)),
            "best_of_n": float(best_of_n(ik.hypotheses_positions * model.unit_mm, truth_mm, align_root=0)),
            "log_lik": float(torch.cat([model.log_prob(r, k, m, camera).detach() for r, k, m in _chunks(R, keypoints, mask)]).mean()),
            "frames_per_s": R.shape[0] / seconds,
        }
    return results


def _chunks(R: torch.Tensor, keypoints: torch.Tensor, mask: torch.Tensor | None, size: int = 2000):
    for s in range(0, R.shape[0], size):
        yield R[s : s + size], keypoints[s : s + size], None if mask is None else mask[s : s + size]


def table(name: str, results: dict[str, dict[str, float]], hypotheses: int, candidates: int) -> list[str]:
    lines = [
        f"| {name} | mode MPJPE (mm) | PA-MPJPE (mm) | geodesic (deg) | best-of-{hypotheses} MPJPE (mm) | log-lik of truth (nats) | IK frames/s ({candidates} candidates) |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, r in results.items():
        lines.append(
            f"| {kind} | {r['mpjpe']:.1f} | {r['pa_mpjpe']:.1f} | {r['geodesic']:.1f} | {r['best_of_n']:.1f} | "
            f"{r['log_lik']:.1f} | {r['frames_per_s']:,.0f} |"
        )
    return lines


def main() -> None:
    from poseprior import zoo
    from poseprior.cli.ik import load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="IK model name or exported file (repeatable)")
    parser.add_argument("--prior", help="unconditional prior (name or file) for the all-hidden log-likelihood gap")
    parser.add_argument("--data", default="prepared/bandai-v1")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=2000, help="evaluate the first N poses of the split (0: all)")
    parser.add_argument("--hypotheses", type=int, default=10)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--temperature", type=float, default=1.0, help="base-noise scale of the samples (1: exact)")
    parser.add_argument("--kind", action="append", choices=KINDS, help="observation kinds to run (repeatable; default all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    split = load_prepared(args.data, [args.split])[args.split]
    n = len(split) if args.limit <= 0 else min(args.limit, len(split))
    # Evenly spaced poses across the whole split, so every take's style is represented.
    index = torch.linspace(0, len(split) - 1, n).round().long()
    R, root = split.rotations[index], split.root_rotation[index]
    prior = zoo.load(args.prior) if args.prior else None
    print(
        f"bandai-v1 {args.split}, {n} poses; {args.hypotheses} hypotheses (temperature {args.temperature:g}), mode among "
        f"{args.candidates} candidates + the base mode, {args.threads} threads\n"
    )
    for spec in args.model:
        model = load_model(spec)
        kinds = tuple(args.kind) if args.kind else KINDS
        results = evaluate(model, R, root, args.hypotheses, args.candidates, kinds, args.temperature, args.seed)
        params = sum(p.numel() for p in model.parameters())
        print("\n".join(table(f"{spec} ({params / 1e6:.2f} M parameters)", results, args.hypotheses, args.candidates)))
        if prior is not None:
            gap = unobserved_gap(model, prior, R)
            print(
                f"\nEvery joint hidden: {gap['unobserved']:.1f} nats/pose; unconditional prior {args.prior}: "
                f"{gap['prior']:.1f}; gap {gap['gap']:.1f} nats/pose"
            )
        print()


if __name__ == "__main__":
    main()
