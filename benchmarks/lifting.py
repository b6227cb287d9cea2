"""Lifting numbers (docs/benchmarks.md, "Lifting"): the learned lifters against the optimisation-based 2D fit.

Views: ``--limit`` test poses spread evenly over bandai-v1 test, each with its window of the take's
neighbouring poses (10 fps, clamped at the take's ends; ``sequence_windows``), the whole window seen by one
random camera (``poseprior.data.lifting.random_views`` with ``LiftingConfig()`` defaults: level camera, yaw
0-360 degrees, pitch -10 to 30, distance 3-6 m, aim jitter 0.3 m, focal 1000 px, 1000 x 1000 image; exact
pixels, nothing dropped; fixed seed). Every method sees the centre frame; the rotation lifter its window.

Each lifter reads the keypoints it was trained on (the skeleton's joints, or a layout's keypoints of the same
poses through the same camera).

- rotation lifters: MPJPE and PA-MPJPE (mm, root-relative, camera frame, the skeleton's joints), MPJAE
  (degrees, the 20 local rotations), frames/s of a whole 1,000-frame sequence;
- flow lifters, against their own keypoints (relative to their layout's root): MPJPE / PA-MPJPE of the mode
  and its frames/s on every view; on ``--sample-limit`` views
  spread evenly over all (sampling is slow; the split lists dataset 1's harder takes first), best-of-N
  MPJPE and PA-MPJPE (N = 1, 10, 200 samples), calibration (the share of true joints inside each joint's 50%
  and 90% hypothesis regions: balls around the hypotheses' mean whose radius is that quantile of the 200
  hypotheses' distances to it) and diversity (APD, mm);
- ``fit_keypoints_2d`` with the VAE prior (the fitting benchmark's best), 5 hypotheses: MPJPE, best-of-5,
  frames/s, on ``--fit-limit`` views spread evenly over all, beside the rotation lifter on the same views.

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/lifting.py [--rot lifter-rot-bandai --rot lifter-rot-coco17] [--flow lifter-flow-bandai --flow lifter-flow-coco17] [--limit 2000] [--sample-limit 2000] [--fit-limit 300] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

import poseprior.zoo as zoo
from poseprior.data import load_prepared
from poseprior.data.lifting import LiftingConfig, layout_keypoints, random_views, root_indices
from poseprior.metrics import apd, best_of_n, mpjae, mpjpe, pa_mpjpe
from poseprior.models.lifter.rotation import sequence_windows
from poseprior.tasks import Fit2DConfig, fit_keypoints_2d


def views(skeleton, unit_mm: float, window_R: torch.Tensor, window_root: torch.Tensor, layouts=(None,), seed: int = 0) -> dict:
    """One camera per window: ``pixels[layout] (B, W, P, 2)`` of the skeleton's joints (layout None) and of each
    layout's keypoints, camera ``(B, 3, 3)``, the centre frame's true camera-frame root-relative joints
    ``truth (B, J, 3)`` mm (and ``layout_truth[layout] (B, P, 3)`` of each layout's keypoints) and local
    rotations ``(B, K, 3, 3)``."""
    g = torch.Generator().manual_seed(seed)
    B, W = window_R.shape[:2]
    keypoints = layout_keypoints(skeleton, window_R, None)
    sets = {layout: layout_keypoints(skeleton, window_R, layout) for layout in layouts}
    # One camera for all sets: project them together (the skeleton's joints first: its pelvis is the aim).
    points = torch.cat([keypoints, *sets.values()], dim=2)
    world = (points @ window_root.transpose(-1, -2)).flatten(1, 2)
    v = random_views(world, torch.eye(3).expand(B, 3, 3), LiftingConfig(), unit_mm, g)
    all_pixels = v["pixels"].unflatten(1, (W, points.shape[2]))
    pixels, start = {}, keypoints.shape[2]
    for layout, kp in sets.items():
        pixels[layout] = all_pixels[:, :, start : start + kp.shape[2]]
        start += kp.shape[2]
    c = W // 2

    def camera_frame(points: torch.Tensor, root: tuple[int, ...]) -> torch.Tensor:
        centre = (points[:, c] @ window_root[:, c].transpose(-1, -2)) @ v["R_cw"].transpose(-1, -2) * unit_mm
        return centre - centre[:, list(root)].mean(1, keepdim=True)

    # The flow lifters' truth: their own keypoints, relative to their layout's root.
    layout_truth = {layout: camera_frame(kp, root_indices(layout)) for layout, kp in sets.items()}
    return {"pixels": pixels, "camera": v["camera"], "truth": camera_frame(keypoints, (0,)), "layout_truth": layout_truth, "rotations": window_R[:, c]}


def by_dataset(errors: torch.Tensor, datasets: list[str]) -> str:
    """``"dataset-1 X (n), dataset-2 Y (m)"``: the mean of per-view ``errors (N,)`` within each dataset."""
    parts = []
    for name in sorted(set(datasets)):
        rows = torch.tensor([d == name for d in datasets])
        parts.append(f"{name} {float(errors[rows].mean()):.1f} ({int(rows.sum())} views)")
    return ", ".join(parts)


def rate(fn, frames: int, repeats: int = 3) -> float:
    """Frames per second of ``fn()``: the best of ``repeats`` runs after one warm-up run."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return frames / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepared", default="prepared/bandai-v1")
    parser.add_argument("--rot", action="append", help="rotation lifters (repeatable; default lifter-rot-bandai and lifter-rot-coco17)")
    parser.add_argument("--flow", action="append", help="flow lifters (repeatable; default lifter-flow-bandai and lifter-flow-coco17)")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--fit-limit", type=int, default=300)
    parser.add_argument("--sample-limit", type=int, default=2000, help="views whose 200 flow samples are drawn")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)  # the flow's samples
    split = load_prepared(args.prepared, ["test"]).splits["test"]
    rots = {name: zoo.load(name).eval() for name in (args.rot or ["lifter-rot-bandai", "lifter-rot-coco17"])}
    first = next(iter(rots.values()))
    window = first.config.window
    if any(r.config.window != window for r in rots.values()):
        raise SystemExit("--rot: the rotation lifters must share a window length (one set of views)")
    windows = sequence_windows(split, window)
    pick = torch.linspace(0, len(split) - 1, args.limit).round().long()
    flows = {name: zoo.load(name).eval() for name in (args.flow or ["lifter-flow-bandai", "lifter-flow-coco17"])}
    layouts = {m.config.lifting.layout for m in (*rots.values(), *flows.values())} | {None}
    v = views(first.skeleton, first.unit_mm, windows["window_rotations"][pick], windows["window_root_rotation"][pick], tuple(layouts))
    c = window // 2
    N = args.limit
    # Bandai's two datasets, by take name ("dataset-1_bow_chimpira_001.bvh"): different actors and styles.
    datasets = [split.take_names[int(split.take[i])].split("_")[0] for i in pick.tolist()]
    breakdown = {}  # method -> per-view errors, printed by dataset after the table
    print(f"bandai-v1 test, {N} views (one random camera per window), {args.threads} thread(s)\n")
    print("| method | MPJPE (mm) | PA-MPJPE (mm) | best-of-10 MPJPE | best-of-200 MPJPE | MPJAE (deg) | frames/s |")
    print("|---|---|---|---|---|---|---|")

    outs = {}
    for name, rot in rots.items():
        layout = rot.config.lifting.layout
        with torch.no_grad():
            out = outs[name] = rot(v["pixels"][layout], v["camera"][:, None].expand(-1, window, 3, 3))  # (N, W, ...): each window a sequence
            pred = out["positions"][:, c]
            breakdown[f"{name} MPJPE"] = mpjpe(pred, v["truth"], reduction="none")
            # Throughput: one 1,000-frame sequence (the windows share their frames' features).
            seq = v["pixels"][layout][:1000, c]
            fps = rate(lambda: rot(seq, v["camera"][0]), seq.shape[0])
        print(f"| {name} ({layout or 'skeleton joints'} in) | {float(mpjpe(pred, v['truth'])):.1f} | {float(pa_mpjpe(pred, v['truth'])):.1f} | - | - | "
              f"{float(mpjae(out['rotations'][:, c], v['rotations'])):.1f} | {fps:,.0f} |", flush=True)

    S = min(args.sample_limit, N)  # an autoregressive flow samples slowly (about 75 samples/s here): fewer views
    # The sampled views spread evenly over all views (the split lists dataset 1's harder takes first).
    sampled = torch.linspace(0, N - 1, S).round().long()
    calibration = []
    for name, flow in flows.items():
        layout = flow.config.lifting.layout
        truth_all = v["layout_truth"][layout]
        with torch.no_grad():
            pixels, camera = v["pixels"][layout][:, c], v["camera"]
            mode_all = flow.mode(pixels, camera)
            fps = rate(lambda: flow.mode(pixels, camera), N)
            pixels, camera = pixels[sampled], camera[sampled]
            samples = torch.cat([flow.sample(200, pixels[i : i + 50], camera[i : i + 50]) for i in range(0, S, 50)], dim=1)
        hyp, truth, mode = samples.transpose(0, 1), truth_all[sampled], mode_all[sampled]  # hyp (S, 200, P, 3)
        breakdown[f"{name} mode MPJPE"] = mpjpe(mode_all, truth_all, reduction="none")
        b1, b10, b200 = (float(best_of_n(hyp[:, :n], truth)) for n in (1, 10, 200))
        pa1, pa10, pa200 = (float(best_of_n(hyp[:, :n], truth, procrustes=True)) for n in (1, 10, 200))
        what = f"{layout or 'skeleton joints'} in and out"
        print(f"| {name} mode ({what}) | {float(mpjpe(mode_all, truth_all)):.1f} | {float(pa_mpjpe(mode_all, truth_all)):.1f} | - | - | - | {fps:,.0f} |")
        print(f"| {name} samples, {S} of the views (mode there {float(mpjpe(mode, truth)):.1f}) | best-of-1 {b1:.1f} | - | {b10:.1f} | {b200:.1f} | - | - |")
        print(f"| {name} samples, PA-MPJPE, {S} of the views (mode there {float(pa_mpjpe(mode, truth)):.1f}) | - | best-of-1 {pa1:.1f} | {pa10:.1f} | {pa200:.1f} | - | - |", flush=True)
        mean = hyp.mean(1, keepdim=True)
        spread = (hyp - mean).norm(dim=-1)  # (S, 200, P)
        miss = (truth - mean[:, 0]).norm(dim=-1)  # (S, P)
        free = [p for p in range(truth.shape[1]) if p not in root_indices(layout)]  # the root is fixed by construction
        inside = {q: float((miss[:, free] <= spread.quantile(q, dim=1)[:, free]).float().mean()) for q in (0.5, 0.9)}
        calibration.append(f"{name}: {100 * inside[0.5]:.1f}% inside the 50% regions, {100 * inside[0.9]:.1f}% inside the 90% regions; "
                           f"APD {float(apd(hyp[:, :10])):.1f} mm (10 samples)")
    print(f"\nflow calibration (non-root keypoints, {S} views spread over all):")
    for line in calibration:
        print(f"- {line}")

    print("\nby dataset (mm):")
    for method, errors in breakdown.items():
        print(f"- {method}: {by_dataset(errors, datasets)}")

    M = min(args.fit_limit, N)
    fitted = torch.linspace(0, N - 1, M).round().long()
    vae, ik = zoo.load("vae-bandai").eval(), zoo.load("flow-ik-bandai").eval()
    start = time.perf_counter()
    fit = fit_keypoints_2d(v["pixels"][None][fitted, c].float(), None, v["camera"][fitted], ik.skeleton, vae, unit_mm=ik.unit_mm, init=ik, config=Fit2DConfig(), generator=torch.Generator().manual_seed(0))
    fps = M / (time.perf_counter() - start)
    pos = (fit.positions - fit.positions[:, :1]) * ik.unit_mm
    hyp = (fit.hypotheses_positions - fit.hypotheses_positions[:, :, :1]) * ik.unit_mm
    truth = v["truth"][fitted]
    print(f"\nfit_keypoints_2d (vae-bandai, 5 hypotheses) on {M} views spread over all: MPJPE {float(mpjpe(pos, truth)):.1f} mm, "
          f"PA-MPJPE {float(pa_mpjpe(pos, truth)):.1f}, best-of-5 {float(best_of_n(hyp, truth)):.1f}, "
          f"MPJAE {float(mpjae(fit.rotations, v['rotations'][fitted])):.1f} deg, {fps:.1f} frames/s")
    for name, out in outs.items():
        pred = out["positions"][fitted, c]
        print(f"{name} on the same views: MPJPE {float(mpjpe(pred, truth)):.1f} mm, PA-MPJPE {float(pa_mpjpe(pred, truth)):.1f}, "
              f"MPJAE {float(mpjae(out['rotations'][fitted, c], v['rotations'][fitted])):.1f} deg")


if __name__ == "__main__":
    main()
