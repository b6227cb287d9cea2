"""Lifting numbers (docs/benchmarks.md, "Lifting"): the learned lifters against the optimisation-based 2D fit.

Views: ``--limit`` test poses spread evenly over bandai-v1 test, each with its window of the take's
neighbouring poses (10 fps, clamped at the take's ends; ``window_indices``), the whole window seen by one
random camera (``poseprior.data.lifting.random_views`` with ``LiftingConfig()`` defaults: level camera, yaw
0-360 degrees, pitch -10 to 30, distance 3-6 m, aim jitter 0.3 m, focal 1000 px, 1000 x 1000 image; fixed seed).
Pixels are the exact projections (``--pixel-noise`` adds Gaussian noise, default 0), nothing dropped. Every
method sees the centre frame; the rotation lifter its window.

The 2D input is never a detector's output: each lifter reads the keypoints it was trained on, computed from the
same poses' skeleton joints by forward kinematics: the skeleton's 21 joints themselves, or a layout's keypoints
(COCO-17: ``layout_keypoints(skeleton, R, "coco17")``, the layout map from the joints), projected through the same
camera. The lifters were trained on such views with pixel noise and dropped keypoints (their configs say how
much; the results record it).

- rotation lifters: MPJPE and PA-MPJPE (mm, root-relative, camera frame, the skeleton's joints), MPJAE
  (degrees, the 20 local rotations), frames/s of a whole sequence (the first 1,000 views' centre frames);
- flow lifters, against their own keypoints (relative to their layout's root): MPJPE / PA-MPJPE of the mode
  and its frames/s on every view; on ``--sample-limit`` views spread evenly over all (the split lists dataset
  1's harder takes first), best-of-N MPJPE and PA-MPJPE (N = 1, 10, 200 samples), calibration (the share of true
  non-root keypoints inside each keypoint's 50% and 90% hypothesis regions: balls around the hypotheses' mean
  whose radius is that quantile of the 200 hypotheses' distances to it) and diversity (APD of 10 samples, mm);
- ``fit_keypoints_2d`` with the VAE prior (the fitting benchmark's best), IK init ``flow-ik-bandai``, 5
  hypotheses, on the skeleton's joints: MPJPE, PA-MPJPE, best-of-5, MPJAE, frames/s, on ``--fit-limit`` views
  spread evenly over all, beside the rotation lifters on the same views.

Every accuracy number is given over all its views and apart for Bandai's dataset 1 (takes ``dataset-1_*``:
held-out styles, 8% of the training poses) and dataset 2 (``dataset-2_*``: repeated contents).

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/lifting.py [--rot lifter-rot-bandai --rot lifter-rot-coco17] [--flow lifter-flow-bandai --flow lifter-flow-coco17] [--limit 2000] [--sample-limit 2000] [--fit-limit 300] [--threads 2]
    .venv/bin/python benchmarks/lifting.py --quick --threads 1   # a few views: a smoke run, numbers not for publication
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

import poseprior.zoo as zoo
from poseprior.data import load_prepared
from poseprior.data.lifting import LiftingConfig, layout_keypoints, random_views, root_indices
from poseprior.metrics import apd, best_of_n, mpjae, mpjpe, pa_mpjpe
from poseprior.models.lifter.rotation import window_indices
from poseprior.tasks import Fit2DConfig, fit_keypoints_2d
from record import save, settle_arguments

ROT = ("lifter-rot-bandai", "lifter-rot-coco17")
FLOW = ("lifter-flow-bandai", "lifter-flow-coco17")
SAMPLES = 200
BEST_OF = (1, 10, 200)
APD_SAMPLES = 10
REGIONS = (50, 90)
SEQUENCE = 1000  # frames of the rotation lifters' throughput sequence
FIT_PRIOR, FIT_INIT = "vae-bandai", "flow-ik-bandai"
DATASETS = {"dataset1": "dataset-1", "dataset2": "dataset-2"}  # results key -> take-name prefix
SEED = 0  # cameras, the flows' samples and the fit's starts

#: Option defaults of a full run and of ``--quick`` (an explicit option wins over both).
FULL = dict(limit=2000, sample_limit=2000, fit_limit=300, repeats=3)
QUICK = dict(limit=16, sample_limit=4, fit_limit=4, repeats=1)


# ------------------------------------------------------------------------------------------------ views
def views(
    skeleton,
    unit_mm: float,
    window_R: torch.Tensor,
    window_root: torch.Tensor,
    layouts=(None,),
    seed: int = SEED,
    noise_px: float = 0.0,
) -> dict:
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
    v = random_views(world, torch.eye(3).expand(B, 3, 3), LiftingConfig(pixel_noise_px=noise_px), unit_mm, g)
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
    return {
        "pixels": pixels,
        "camera": v["camera"],
        "truth": camera_frame(keypoints, (0,)),
        "layout_truth": layout_truth,
        "rotations": window_R[:, c],
    }


def split_by_dataset(per_view: dict[str, torch.Tensor], dataset: list[str]) -> tuple[dict, dict]:
    """The view counts and the mean of each per-view metric ``(N,)`` over all views and within each dataset
    (``None`` where a dataset has no view)."""
    rows = {"all": torch.ones(len(dataset), dtype=torch.bool)}
    rows |= {key: torch.tensor([d == prefix for d in dataset], dtype=torch.bool) for key, prefix in DATASETS.items()}
    counts = {key: int(r.sum()) for key, r in rows.items()}
    metrics = {
        key: {name: float(v[r].double().mean()) if r.any() else None for name, v in per_view.items()}
        for key, r in rows.items()
    }
    return counts, metrics


def rate(fn, frames: int, repeats: int = 3) -> float:
    """Frames per second of ``fn()``: the best of ``repeats`` runs after one warm-up run."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return frames / best


def layout_label(layout: str | None) -> str:
    """``COCO-17`` for ``coco17``, ``H36M-17`` for ``h36m17``."""
    return layout.upper().replace("COCO", "COCO-").replace("H36M", "H36M-") if layout else "skeleton"


def input_record(layout: str | None, joints: int, noise_px: float) -> dict:
    """What a lifter reads: which keypoints and how their pixels were made, in words and numbers."""
    what = (
        f"the skeleton's {joints} joints"
        if layout is None
        else f"{layout_label(layout)} keypoints computed from the skeleton's joints"
    )
    pixels = "exact pixels" if noise_px == 0 else f"{noise_px:g} px Gaussian noise per coordinate"
    return {"input": f"{what}, {pixels}, none dropped", "input_pixel_noise_px": noise_px, "input_dropped_keypoints": 0}


def training_split(train) -> dict:
    """How much of bandai-v1 train each dataset provides: takes and poses."""
    takes = [name.split("_")[0] for name in train.take_names]
    per_pose = torch.bincount(train.take, minlength=len(takes))
    out = {"takes": {"all": len(takes)}, "poses": {"all": len(train)}}
    for key, prefix in DATASETS.items():
        rows = torch.tensor([t == prefix for t in takes], dtype=torch.bool)
        out["takes"][key], out["poses"][key] = int(rows.sum()), int(per_pose[rows].sum())
    out["dataset1_poses_percent"] = 100 * out["poses"]["dataset1"] / out["poses"]["all"]
    return out


def trained_with(model) -> dict:
    lifting = model.config.lifting
    return {
        "training_pixel_noise_px": float(lifting.pixel_noise_px),
        "training_drop_percent": 100 * float(lifting.drop_probability),
    }


# ------------------------------------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepared", default="prepared/bandai-v1")
    parser.add_argument("--rot", action="append", help=f"rotation lifters (repeatable; default {' and '.join(ROT)})")
    parser.add_argument("--flow", action="append", help=f"flow lifters (repeatable; default {' and '.join(FLOW)})")
    parser.add_argument("--limit", type=int, help=f"views (default {FULL['limit']})")
    parser.add_argument("--fit-limit", type=int, help=f"views fitted by fit_keypoints_2d (default {FULL['fit_limit']})")
    parser.add_argument(
        "--sample-limit",
        type=int,
        help=f"views whose {SAMPLES} flow samples are drawn (default {FULL['sample_limit']})",
    )
    parser.add_argument(
        "--repeats", type=int, help=f"timed runs after a warm-up, the best kept (default {FULL['repeats']})"
    )
    parser.add_argument(
        "--pixel-noise",
        type=float,
        default=0.0,
        help="Gaussian noise on the test pixels, px per coordinate (default 0: exact)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few views (a smoke run; written under record.quick_dir(), not published)",
    )
    parser.add_argument("--out", help="another folder for the results file")
    return settle_arguments(parser, parser.parse_args(argv), FULL, QUICK)


def main(argv: list[str] | None = None) -> dict:
    """Measure, print the tables, write the results file; returns its subset and results."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)  # the flows' samples
    prepared = load_prepared(args.prepared, ["test", "train"])
    split = prepared.splits["test"]
    rots = {name: zoo.load(name).eval() for name in (args.rot or ROT)}
    first = next(iter(rots.values()))
    window = first.config.window
    if any(r.config.window != window for r in rots.values()):
        raise SystemExit("--rot: the rotation lifters must share a window length (one set of views)")
    N = min(args.limit, len(split))
    pick = torch.linspace(0, len(split) - 1, N).round().long()
    index = window_indices(split.take, split.frame, window)[pick]  # (N, W) rows of each picked pose's window
    flows = {name: zoo.load(name).eval() for name in (args.flow or FLOW)}
    layouts = {m.config.lifting.layout for m in (*rots.values(), *flows.values())} | {None}
    v = views(
        first.skeleton,
        first.unit_mm,
        split.rotations.float()[index],
        split.root_rotation.float()[index],
        tuple(layouts),
        noise_px=args.pixel_noise,
    )
    c = window // 2
    J = first.skeleton.num_joints
    # Bandai's two datasets, by take name ("dataset-1_bow_chimpira_001.bvh"): different actors and styles.
    dataset = [split.take_names[int(split.take[i])].split("_")[0] for i in pick.tolist()]
    results: dict = {
        "training_split": training_split(prepared.splits["train"]),
        "rotation_lifters": {},
        "flow_lifters": {},
    }

    outs = {}
    for name, rot in rots.items():
        layout = rot.config.lifting.layout
        with torch.no_grad():
            out = outs[name] = rot(
                v["pixels"][layout], v["camera"][:, None].expand(-1, window, 3, 3)
            )  # (N, W, ...): each window a sequence
            pred = out["positions"][:, c]
            # Throughput: one sequence of centre frames (the windows share their frames' features).
            seq = v["pixels"][layout][:SEQUENCE, c]
            fps = rate(lambda: rot(seq, v["camera"][0]), seq.shape[0], args.repeats)  # noqa: B023 (called here)
        counts, metrics = split_by_dataset({
            "mpjpe_mm": mpjpe(pred, v["truth"], reduction="none"),
            "pa_mpjpe_mm": pa_mpjpe(pred, v["truth"], reduction="none"),
            "mpjae_deg": mpjae(out["rotations"][:, c], v["rotations"], reduction="none"),
        }, dataset)  # fmt: skip
        results["rotation_lifters"][name] = {
            "class": type(rot).__name__, "layout": layout or "skeleton", **input_record(layout, J, args.pixel_noise),
            "window": window, "parameters": sum(p.numel() for p in rot.parameters()), **trained_with(rot),
            "views": counts, "metrics": metrics, "sequence_frames": int(seq.shape[0]), "frames_per_s": fps,
        }  # fmt: skip
        print(f"{name}: done", file=sys.stderr, flush=True)

    S = min(args.sample_limit, N)  # sampling 200 hypotheses per view is the slow part: fewer views
    # The sampled views spread evenly over all views (the split lists dataset 1's harder takes first).
    sampled = torch.linspace(0, N - 1, S).round().long()
    for name, flow in flows.items():
        layout = flow.config.lifting.layout
        truth_all = v["layout_truth"][layout]
        with torch.no_grad():
            pixels, camera = v["pixels"][layout][:, c], v["camera"]
            mode_all = flow.mode(pixels, camera)
            fps = rate(lambda: flow.mode(pixels, camera), N, args.repeats)  # noqa: B023 (called here)
            pixels, camera = pixels[sampled], camera[sampled]
            samples = torch.cat(
                [flow.sample(SAMPLES, pixels[i : i + 50], camera[i : i + 50]) for i in range(0, S, 50)], dim=1
            )
        hyp, truth, mode = samples.transpose(0, 1), truth_all[sampled], mode_all[sampled]  # hyp (S, 200, P, 3)
        mode_counts, mode_metrics = split_by_dataset(
            {
                "mpjpe_mm": mpjpe(mode_all, truth_all, reduction="none"),
                "pa_mpjpe_mm": pa_mpjpe(mode_all, truth_all, reduction="none"),
            },
            dataset,
        )
        mean = hyp.mean(1, keepdim=True)
        spread = (hyp - mean).norm(dim=-1)  # (S, 200, P)
        miss = (truth - mean[:, 0]).norm(dim=-1)  # (S, P)
        free = [p for p in range(truth.shape[1]) if p not in root_indices(layout)]  # the root is fixed by construction
        per_view = {
            "mode_mpjpe_mm": mpjpe(mode, truth, reduction="none"),
            "mode_pa_mpjpe_mm": pa_mpjpe(mode, truth, reduction="none"),
        }
        per_view |= {f"best_of_{n}_mpjpe_mm": best_of_n(hyp[:, :n], truth, reduction="none") for n in BEST_OF}
        per_view |= {
            f"best_of_{n}_pa_mpjpe_mm": best_of_n(hyp[:, :n], truth, procrustes=True, reduction="none") for n in BEST_OF
        }
        per_view |= {
            f"inside_{q}_percent": 100 * (miss[:, free] <= spread.quantile(q / 100, dim=1)[:, free]).double().mean(1)
            for q in REGIONS
        }
        per_view[f"apd_{APD_SAMPLES}_mm"] = apd(hyp[:, :APD_SAMPLES], reduction="none")
        sample_counts, sample_metrics = split_by_dataset(per_view, [dataset[i] for i in sampled.tolist()])
        results["flow_lifters"][name] = {
            "class": type(flow).__name__, "layout": layout or "skeleton", **input_record(layout, J, args.pixel_noise),
            "output": f"{truth.shape[1]} {'skeleton joints' if layout is None else layout_label(layout) + ' keypoints'}, relative to {'the pelvis' if root_indices(layout) == (0,) else 'the hips midpoint'}",
            "parameters": sum(p.numel() for p in flow.parameters()), **trained_with(flow),
            "mode": {"views": mode_counts, "metrics": mode_metrics, "frames_per_s": fps},
            "samples": {"per_view": SAMPLES, "best_of": list(BEST_OF), "regions_percent": list(REGIONS), "apd_samples": APD_SAMPLES,
                        "views": sample_counts, "metrics": sample_metrics},
        }  # fmt: skip
        print(f"{name}: done", file=sys.stderr, flush=True)

    M = min(args.fit_limit, N)
    fitted = torch.linspace(0, N - 1, M).round().long()
    vae, ik = zoo.load(FIT_PRIOR).eval(), zoo.load(FIT_INIT).eval()
    config = Fit2DConfig()
    start = time.perf_counter()
    fit = fit_keypoints_2d(v["pixels"][None][fitted, c].float(), None, v["camera"][fitted], ik.skeleton, vae, unit_mm=ik.unit_mm, init=ik, config=config,
                           generator=torch.Generator().manual_seed(SEED))  # fmt: skip
    fps = M / (time.perf_counter() - start)
    pos = (fit.positions - fit.positions[:, :1]) * ik.unit_mm
    hyp = (fit.hypotheses_positions - fit.hypotheses_positions[:, :, :1]) * ik.unit_mm
    truth = v["truth"][fitted]
    fit_dataset = [dataset[i] for i in fitted.tolist()]
    H = hyp.shape[1]
    counts, metrics = split_by_dataset({
        "mpjpe_mm": mpjpe(pos, truth, reduction="none"), "pa_mpjpe_mm": pa_mpjpe(pos, truth, reduction="none"),
        f"best_of_{H}_mpjpe_mm": best_of_n(hyp, truth, reduction="none"), "mpjae_deg": mpjae(fit.rotations, v["rotations"][fitted], reduction="none"),
    }, fit_dataset)  # fmt: skip
    same_views = {}
    for name, out in outs.items():
        pred = out["positions"][fitted, c]
        same_views[name] = split_by_dataset({
            "mpjpe_mm": mpjpe(pred, truth, reduction="none"), "pa_mpjpe_mm": pa_mpjpe(pred, truth, reduction="none"),
            "mpjae_deg": mpjae(out["rotations"][fitted, c], v["rotations"][fitted], reduction="none"),
        }, fit_dataset)[1]  # fmt: skip
    results["fit"] = {
        "method": "fit_keypoints_2d", "prior": FIT_PRIOR, "init": FIT_INIT, "hypotheses": H, "steps": config.steps, "root_steps": config.root_steps,
        **input_record(None, J, args.pixel_noise), "views": counts, "metrics": metrics, "frames_per_s": fps,
        "rotation_lifters_same_views": same_views,
    }  # fmt: skip

    cfg = LiftingConfig()
    subset = {
        "split": "test",
        "quick": args.quick,
        "views": N,
        "views_dataset1": sum(d == DATASETS["dataset1"] for d in dataset),
        "views_dataset2": sum(d == DATASETS["dataset2"] for d in dataset),
        "chosen": f"{N} test poses evenly spaced over the split (splits.json order: dataset 1's takes first)",
        "indices": f"torch.linspace(0, {len(split) - 1}, {N}).round() of the {len(split):,} test poses",
        "window": f"each pose's window of {window} neighbouring poses of its take ({f'{prepared.fps:g}' if prepared.fps else '?'} fps), clamped at the take's ends; every method sees the centre frame, the rotation lifters the whole window",
        "camera": {"per": "window (one random camera for all its frames and keypoint sets)", "seed": SEED, "yaw_deg": list(cfg.yaw_deg), "pitch_deg": list(cfg.pitch_deg),
                   "distance_mm": list(cfg.distance_mm), "aim_jitter_mm": cfg.aim_jitter_mm, "focal_px": list(cfg.focal_px), "image_size": list(cfg.image_size), "level": True},
        "keypoints": "computed from the poses' skeleton joints by forward kinematics (the skeleton's joints, or a layout's keypoints by its layout map), projected through the camera; no detector",
        "pixel_noise_px": args.pixel_noise,
        "dropped_keypoints": 0,
        "samples": {"views": S, "per_view": SAMPLES, "chosen": f"{S} of the views evenly spaced over all", "seed": f"torch.manual_seed({SEED}) before the run"},
        "fit": {"views": M, "chosen": f"{M} of the views evenly spaced over all", "seed": SEED},
        "timing": f"best of {args.repeats} run(s) after a warm-up; rotation lifters on one sequence of the first {min(SEQUENCE, N)} views' centre frames, flow modes on all {N} views at once; the fit one run",
        "datasets": "dataset 1: takes dataset-1_* (held-out styles); dataset 2: takes dataset-2_* (repeated contents); by take name",
    }  # fmt: skip
    save("lifting", results, subset=subset, quick=args.quick, out=None if args.out is None else Path(args.out))
    for name, text in render(lambda setting="": {"subset": subset, "results": results}).items():
        print(f"\n<!-- {name} -->\n{text}")
    return {"subset": subset, "results": results}


# ------------------------------------------------------------------------------------------------ render
def _mm(x: float | None, fmt: str = ".1f") -> str:
    return "-" if x is None else format(x, fmt)


def _camera(cam: dict) -> str:
    (y0, y1), (p0, p1), (d0, d1) = cam["yaw_deg"], cam["pitch_deg"], cam["distance_mm"]
    f0, f1 = cam["focal_px"]
    focal = f"focal {f0:g} px" if f0 == f1 else f"focal {f0:g}-{f1:g} px"
    return (f"one random {'level ' if cam.get('level') else ''}camera per window (yaw {y0:g}-{y1:g}, pitch {p0:g} to {p1:g} degrees, "
            f"{d0 / 1000:g}-{d1 / 1000:g} m, aim jitter {cam['aim_jitter_mm'] / 1000:g} m, {focal}, {cam['image_size'][0]} x {cam['image_size'][1]} image, seed {cam['seed']})")  # fmt: skip


def _input(m: dict) -> str:
    """Short input label of a lifter: ``skeleton joints, exact pixels``, ``COCO-17 keypoints computed from the joints, 2 px noise``."""
    what = (
        "skeleton joints"
        if m["layout"] == "skeleton"
        else f"{layout_label(m['layout'])} keypoints computed from the joints"
    )
    noise = m["input_pixel_noise_px"]
    return f"{what}, {'exact pixels' if not noise else f'{noise:g} px noise'}"


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' blocks from the results file, ``results()`` (``benchmarks/report.py``):

    - ``table``: every method's accuracy over all views, and speed, with the views and input under it;
    - ``calibration``: the flow lifters' region coverage and diversity;
    - ``by-dataset``: every accuracy number over all views, dataset 1 and dataset 2;
    - ``targets``: the design targets, met or not.
    """
    r = results()
    s, res = r["subset"], r["results"]
    rots, flows, fit = res["rotation_lifters"], res["flow_lifters"], res["fit"]
    noise = "exact pixels" if not s["pixel_noise_px"] else f"{s['pixel_noise_px']:g} px Gaussian noise per coordinate"
    named = sorted({m["layout"] for m in (*rots.values(), *flows.values())} - {"skeleton"})
    layouts = "".join(f", or {layout_label(x)} keypoints by the {x} layout map" for x in named)

    lines = ["| method | input | views | MPJPE (mm) | PA-MPJPE (mm) | best-of-10 (mm) | best-of-200 (mm) | MPJAE (deg) | frames/s |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, m in rots.items():
        a = m["metrics"]["all"]
        lines.append(
            f"| {name} (window of {m['window']}) | {_input(m)} | {m['views']['all']:,} | {_mm(a['mpjpe_mm'])} | {_mm(a['pa_mpjpe_mm'])} | - | - | {_mm(a['mpjae_deg'])} | {m['frames_per_s']:,.0f} |"
        )
    for name, m in flows.items():
        a, sm = m["mode"]["metrics"]["all"], m["samples"]["metrics"]["all"]
        lines.append(
            f"| {name}, mode (single frame; out: {m['output']}) | {_input(m)} | {m['mode']['views']['all']:,} | {_mm(a['mpjpe_mm'])} | {_mm(a['pa_mpjpe_mm'])} | - | - | - | {m['mode']['frames_per_s']:,.0f} |"
        )
        lines.append(
            f"| {name}, {m['samples']['per_view']} samples (mode there: {_mm(sm['mode_mpjpe_mm'])}, PA {_mm(sm['mode_pa_mpjpe_mm'])}; best-of-1: {_mm(sm['best_of_1_mpjpe_mm'])}, PA {_mm(sm['best_of_1_pa_mpjpe_mm'])}) "
            f"| {_input(m)} | {m['samples']['views']['all']:,} | | | {_mm(sm['best_of_10_mpjpe_mm'])} (PA {_mm(sm['best_of_10_pa_mpjpe_mm'])}) | {_mm(sm['best_of_200_mpjpe_mm'])} (PA {_mm(sm['best_of_200_pa_mpjpe_mm'])}) | - | |"
        )  # fmt: skip
    M = fit["views"]["all"]
    for name, m in fit["rotation_lifters_same_views"].items():
        a = m["all"]
        lines.append(
            f"| {name}, the fit's views | {_input(rots[name])} | {M:,} | {_mm(a['mpjpe_mm'])} | {_mm(a['pa_mpjpe_mm'])} | - | - | {_mm(a['mpjae_deg'])} | |"
        )
    a, H = fit["metrics"]["all"], fit["hypotheses"]
    lines.append(
        f"| `{fit['method']}`, {fit['prior']}, {H} hypotheses (init {fit['init']}) | {_input({'layout': 'skeleton', **fit})} | {M:,} | {_mm(a['mpjpe_mm'])} | {_mm(a['pa_mpjpe_mm'])} | best-of-{H} {_mm(a[f'best_of_{H}_mpjpe_mm'])} | - | {_mm(a['mpjae_deg'])} | {fit['frames_per_s']:.1f} |"
    )
    lines += [
        "",
        f"bandai-v1 {s['split']}: {s['views']:,} views ({s['views_dataset1']:,} of dataset 1, {s['views_dataset2']:,} of dataset 2), {s['chosen']}; {s['window']}; "
        f"{_camera(s['camera'])}. Input: keypoints computed from the poses' joints, not detections: the skeleton's joints{layouts}, "
        f"projected with {noise}, none dropped (the lifters were trained on such views with {_training(rots, flows)}). Rotation lifters and the fit: MPJPE over the skeleton's "
        f"joints, root-relative, camera frame; MPJAE over the local rotations. Flow lifters: scored on the keypoints they output. Samples on {s['samples']['views']:,} views "
        f"and the fit on {s['fit']['views']:,} views, spread evenly over all. frames/s: {s['timing']}.",
    ]  # fmt: skip

    calibration = []
    for name, m in flows.items():
        sm, q, k = m["samples"]["metrics"]["all"], m["samples"]["regions_percent"], m["samples"]["apd_samples"]
        inside = [_mm(sm[f"inside_{x}_percent"]) for x in q]
        calibration.append(
            f"- {name} ({m['samples']['views']['all']:,} views, {m['samples']['per_view']} samples each, non-root keypoints): "
            f"{inside[0]}% of the true keypoints inside the {q[0]}% regions, {inside[1]}% inside the {q[1]}% regions; "
            f"APD {_mm(sm[f'apd_{k}_mm'])} mm ({k} samples)"
        )

    by = [
        "| method | views: all (dataset 1 + dataset 2) | metric | all | dataset 1 | dataset 2 |",
        "|---|---|---|---|---|---|",
    ]

    def rows(label: str, counts: dict, metrics: dict, names: list[tuple[str, str]]) -> None:
        views = f"{counts['all']:,} ({counts['dataset1']:,} + {counts['dataset2']:,})"
        for key, title in names:
            by.append(
                f"| {label} | {views} | {title} | {_mm(metrics['all'][key])} | {_mm(metrics['dataset1'][key])} | {_mm(metrics['dataset2'][key])} |"
            )

    rot_metrics = [("mpjpe_mm", "MPJPE (mm)"), ("pa_mpjpe_mm", "PA-MPJPE (mm)"), ("mpjae_deg", "MPJAE (deg)")]
    for name, m in rots.items():
        rows(f"{name} (in: {_input(m)})", m["views"], m["metrics"], rot_metrics)
    for name, m in flows.items():
        rows(
            f"{name} mode (in: {_input(m)})",
            m["mode"]["views"],
            m["mode"]["metrics"],
            [("mpjpe_mm", "MPJPE (mm)"), ("pa_mpjpe_mm", "PA-MPJPE (mm)")],
        )
        sm = m["samples"]
        names = [("mode_mpjpe_mm", "mode MPJPE (mm)")] + [
            (f"best_of_{n}_mpjpe_mm", f"best-of-{n} MPJPE (mm)") for n in sm["best_of"]
        ]
        names += [("mode_pa_mpjpe_mm", "mode PA-MPJPE (mm)")] + [
            (f"best_of_{n}_pa_mpjpe_mm", f"best-of-{n} PA-MPJPE (mm)") for n in sm["best_of"]
        ]
        names += [(f"inside_{q}_percent", f"inside the {q}% regions (%)") for q in sm["regions_percent"]] + [
            (f"apd_{sm['apd_samples']}_mm", f"APD, {sm['apd_samples']} samples (mm)")
        ]
        rows(f"{name}, {sm['per_view']} samples", sm["views"], sm["metrics"], names)
    for name, m in fit["rotation_lifters_same_views"].items():
        rows(f"{name}, the fit's views", fit["views"], m, rot_metrics)
    rows(
        f"`{fit['method']}`, {fit['prior']}",
        fit["views"],
        fit["metrics"],
        [*rot_metrics[:2], (f"best_of_{H}_mpjpe_mm", f"best-of-{H} MPJPE (mm)"), rot_metrics[2]],
    )
    train = res["training_split"]
    by += [
        "",
        f"Dataset 1: Bandai takes `dataset-1_*` (held-out styles; {train['takes']['dataset1']:,} of the {train['takes']['all']:,} training takes, "
        f"{train['dataset1_poses_percent']:.1f}% of the training poses); dataset 2: `dataset-2_*` (repeated contents). The same views, input and cameras as above.",
    ]

    targets = []
    for name, m in rots.items():
        a = m["metrics"]["all"]
        met = m["frames_per_s"] >= 1000 and a["mpjae_deg"] < 10
        targets.append(f"- {name}: 1,000 frames/s or more with MPJAE under 10 degrees: {m['frames_per_s']:,.0f} frames/s (a {m['sequence_frames']:,}-frame sequence) "
                       f"and {a['mpjae_deg']:.1f} degrees: {'met' if met else 'not met'}")  # fmt: skip
    fa = fit["metrics"]["all"]
    for name, m in fit["rotation_lifters_same_views"].items():
        targets.append(f"- {name} against `{fit['method']}` on the fit's {M:,} views: {rots[name]['frames_per_s'] / fit['frames_per_s']:,.0f}x faster; "
                       f"MPJPE {m['all']['mpjpe_mm']:.1f} vs {fa['mpjpe_mm']:.1f} mm, MPJAE {m['all']['mpjae_deg']:.1f} vs {fa['mpjae_deg']:.1f} degrees")  # fmt: skip
    for name, m in flows.items():
        sm = m["samples"]["metrics"]["all"]
        ratio = 100 * sm["best_of_200_mpjpe_mm"] / sm["mode_mpjpe_mm"]
        inside = sm["inside_90_percent"]
        targets.append(f"- {name}: best-of-200 at most 60% of its mode's MPJPE (same {m['samples']['views']['all']:,} views): {sm['best_of_200_mpjpe_mm']:.1f} / "
                       f"{sm['mode_mpjpe_mm']:.1f} = {ratio:.0f}%: {'met' if ratio <= 60 else 'not met'}; 90% regions holding 85-95% of the true keypoints: "
                       f"{inside:.1f}%: {'met' if 85 <= inside <= 95 else 'not met'}")  # fmt: skip
    return {
        "table": "\n".join(lines),
        "calibration": "\n".join(calibration),
        "by-dataset": "\n".join(by),
        "targets": "\n".join(targets),
    }


def _training(rots: dict, flows: dict) -> str:
    """``2 px noise, 10% of keypoints dropped`` (or per lifter, where they differ)."""
    setups = {
        name: (m["training_pixel_noise_px"], m["training_drop_percent"]) for name, m in (*rots.items(), *flows.items())
    }
    if len(set(setups.values())) == 1:
        noise, drop = next(iter(setups.values()))
        return f"{noise:g} px noise, {drop:g}% of keypoints dropped"
    return "; ".join(f"{name}: {noise:g} px noise, {drop:g}% dropped" for name, (noise, drop) in setups.items())


if __name__ == "__main__":
    main()
