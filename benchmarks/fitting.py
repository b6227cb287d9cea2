"""Fitting numbers (docs/benchmarks.md, "Fitting"): 3D and 2D keypoint fitting on bandai-v1, with each prior.

Poses: ``--limit`` poses spread evenly over the split (pose ``round(i (n - 1) / (limit - 1))`` of the split's
``n``, in splits.json take order; bandai-v1 keeps every 3rd frame of the 30 fps takes), float32, fixed seeds.
Dataset 1 (takes ``dataset-1_*``: held-out styles) and dataset 2 (``dataset-2_*``: repeated contents) are
reported apart, beside the pooled MPJPE.

3D (``--part 3d``): the pelvis-frame keypoints of the 21-joint skeleton (root at the origin), with
- noise: Gaussian noise of standard deviation 20 mm on each coordinate (x, y, z independently: 34.6 mm RMS
  displacement per joint) of every non-root joint;
- 30% missing: 6 of the 20 non-root joints hidden per pose (exact values elsewhere);
- both.
Methods: ``none (rest)`` (no prior, started from the rest pose: nothing learnt), ``none (IK init)`` (no
prior, started from the flow-ik-bandai mode given the observed keypoints), and each prior started from that
same mode, at its default weight (``poseprior.tasks.pose_variables.default_prior_weight``). Adam,
``FitConfig`` defaults but ``--steps``. MPJPE and PA-MPJPE (mm, all 21 joints), geodesic error of the 20 local
rotations (degrees), and ms per frame of the whole call (IK initialisation included).

World frame (``--part world``): the same poses under the take's real root rotation and position (a mocap
take's keypoints), 30% missing (6 of the 20 non-root joints hidden, the root visible): exact keypoints fitted
at the default 20 mm noise level (as the pelvis-frame rows) and declared exact (``keypoint_sigma_mm=1``),
and 20 mm noise per coordinate on every joint, root included (*both*); the root's rotation and position are
fitted too (``fit_root_rotation``, ``fit_root_translation``). MPJPE of the world-frame joints (root position
error included), PA-MPJPE, geodesic error of the local rotations, mean distance to the visible keypoints (mm:
what the fit can be held to on exact ones), geodesic error of the root's rotation (degrees), ms per frame.

2D (``--part 2d``): the posed skeleton (real root orientation) seen by a level camera at a random yaw,
pitch in [-10, 30] degrees and distance 3-6 m aimed at the pelvis, focal length 1000 px, 1000 x 1000 image,
Gaussian pixel noise of standard deviation 3 px on each image axis, 10% of the joints (2 of the 20 non-root
joints) dropped. ``fit_keypoints_2d`` with 5 hypotheses; MPJPE / PA-MPJPE (mm, root-relative, camera frame)
of the best-ranked hypothesis and the best of the 5, and ms per frame.

``--sweep`` (validation split only; parts 3d and world) tries prior weights instead, for choosing the defaults:
each prior at the weights of :data:`SWEEP` and at its default; the best weight per prior is the one with the
lowest MPJPE in the *both* case (noise and missing joints: the case ``default_prior_weight`` was chosen on).

Results go to ``benchmarks/results/fitting-<setting>.json`` (``record.save``): the setting is the split, then
the parts when not the mode's default ones (all three; with ``--sweep`` 3d and world; with L-BFGS 3d), then
``sweep`` and ``lbfgs`` as they apply (``--setting`` names it otherwise). ``render(results)`` builds the docs'
tables from those files; a run prints its own. ``--quick`` measures a few poses and writes under
``record.quick_dir()``.

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/fitting.py --split test --limit 1000 --threads 1        # fitting-test
    .venv/bin/python benchmarks/fitting.py --split val --limit 300 --sweep              # fitting-val-sweep
    .venv/bin/python benchmarks/fitting.py --split val --limit 300 --optimizer lbfgs --steps 20  # fitting-val-lbfgs
    .venv/bin/python benchmarks/fitting.py --quick
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

import poseprior.zoo as zoo
from poseprior.data import load_prepared
from poseprior.geometry import level_camera_rotations
from poseprior.metrics import best_of_n, geodesic_error, mpjpe, pa_mpjpe
from poseprior.models.baseline import UniformPrior
from poseprior.models.flow.condition import perspective_pixels
from poseprior.skeleton import forward_kinematics, pelvis_keypoints
from poseprior.tasks import Fit2DConfig, FitConfig, fit_keypoints_2d, fit_keypoints_3d
from poseprior.tasks.pose_variables import default_prior_weight, uses_latent
from record import load_optional, save

PRIORS = ("flow-bandai", "vae-bandai", "ndf-bandai")
#: Prior weights tried by ``--sweep`` (each prior's default weight is added).
SWEEP = {"flow-bandai": (0.03, 0.1, 0.3, 1.0), "vae-bandai": (0.3, 1.0, 3.0), "ndf-bandai": (30.0, 100.0, 300.0)}
PARTS = ("3d", "world", "2d")
NOISE_MM = 20.0
MISSING = 0.3
CAMERA = torch.tensor([[1000.0, 0.0, 500.0], [0.0, 1000.0, 500.0], [0.0, 0.0, 1.0]])
PIXEL_NOISE_PX = 3.0
DROPPED = 2
#: ``--quick``: this many poses (and fewer optimiser steps), written under record.quick_dir().
QUICK_LIMIT, QUICK_STEPS, QUICK_STEPS_2D = 6, 10, 10
#: Case keys and their labels.
CASES_3D = {"noise": "20 mm noise", "missing": "30% missing", "both": "both"}
CASES_WORLD = {
    "missing": "world, 30% missing",
    "missing_sigma_1mm": "world, 30% missing, sigma 1 mm",
    "both": "world, both",
}
#: The case the best sweep weight is chosen on (as ``default_prior_weight`` was).
CRITERION_CASE = "both"


def cases_3d(
    keypoints: torch.Tensor, unit_mm: float, seed: int = 0
) -> dict[str, tuple[torch.Tensor, torch.Tensor | None]]:
    """``{case: (keypoints (N, J, 3), mask (N, J) or None)}`` of exact pelvis-frame keypoints (keys of :data:`CASES_3D`)."""
    g = torch.Generator().manual_seed(seed)
    N, J, _ = keypoints.shape
    noisy = keypoints + torch.randn(keypoints.shape, generator=g) * (NOISE_MM / unit_mm)
    noisy[:, 0] = 0  # the root is the origin of the pelvis frame
    hidden = torch.rand(N, J - 1, generator=g).argsort(-1)[:, : round(MISSING * (J - 1))] + 1
    mask = torch.ones(N, J, dtype=torch.bool).scatter(1, hidden, False)
    return {"noise": (noisy, None), "missing": (keypoints, mask), "both": (noisy, mask)}


def cases_world(
    keypoints: torch.Tensor, unit_mm: float, seed: int = 0
) -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """``{case: (keypoints (N, J, 3), mask (N, J), keypoint_sigma_mm)}`` from exact world-frame keypoints: 30% of
    the non-root joints hidden; exact, fitted at the default noise level (as the pelvis-frame rows) or declared
    exact (1 mm), or with 20 mm noise per coordinate on every joint (the root is measured like the others)."""
    g = torch.Generator().manual_seed(seed)
    N, J, _ = keypoints.shape
    noisy = keypoints + torch.randn(keypoints.shape, generator=g) * (NOISE_MM / unit_mm)
    hidden = torch.rand(N, J - 1, generator=g).argsort(-1)[:, : round(MISSING * (J - 1))] + 1
    mask = torch.ones(N, J, dtype=torch.bool).scatter(1, hidden, False)
    default = FitConfig().keypoint_sigma_mm
    return {
        "missing": (keypoints, mask, default),
        "missing_sigma_1mm": (keypoints, mask, 1.0),
        "both": (noisy, mask, default),
    }


def default_weights(priors: dict, parametrisation: str) -> dict[str, float]:
    """Each prior's default weight (``default_prior_weight``) under ``parametrisation``."""
    return {name: default_prior_weight(p, None, uses_latent(p, parametrisation)) for name, p in priors.items()}


def methods(ik, priors: dict, sweep: bool, defaults: dict[str, float]) -> list[tuple]:
    """``(key, label, prior, init, weight)`` of each fit: none from the rest pose and from the IK mode, each
    prior (at the :data:`SWEEP` weights and its default with ``sweep``; weight None: the default)."""
    runs = [("none_rest", "none (rest)", None, None, None), ("none_ik", "none (IK init)", None, ik, None)]
    for name, prior in priors.items():
        weights = sorted({*SWEEP[name], defaults[name]}) if sweep else [None]
        runs += [(name, name, prior, ik, w) for w in weights]
    return runs


def split_errors(per_pose: torch.Tensor, datasets: dict[str, torch.Tensor]) -> dict[str, float | None]:
    """The mean of ``per_pose (N,)`` errors over the poses of each dataset (None where it has none)."""
    return {f"{d}_mpjpe_mm": float(per_pose[rows].mean()) if bool(rows.any()) else None for d, rows in datasets.items()}


def collect(
    rows: dict[str, Any],
    key: str,
    label: str,
    prior,
    weight: float | None,
    defaults: dict[str, float],
    metrics: dict[str, Any],
    sweep: bool,
) -> None:
    """File one fit's ``metrics`` under its method ``key`` (a list of weights with ``sweep``; see :func:`summarise`)."""
    used = 0.0 if prior is None else (defaults[key] if weight is None else weight)
    entry = {"prior_weight": used, **metrics}
    if prior is None or not sweep:
        rows[key] = {"label": label, "prior": None if prior is None else key, **entry}
        return
    method = rows.setdefault(key, {"label": label, "prior": key, "default_prior_weight": defaults[key], "weights": []})
    method["weights"].append(entry)


def summarise(cases: dict[str, dict], sweep: bool) -> dict[str, Any]:
    """With ``sweep``, each prior's ``best`` (lowest MPJPE) and ``default`` weights in every case, and over the
    whole sweep the best weight on :data:`CRITERION_CASE`."""
    if not sweep:
        return {}
    for case in cases.values():
        for m in case["methods"].values():
            if "weights" in m:
                m["best"] = min(m["weights"], key=lambda e: e["mpjpe_mm"])
                m["default"] = next(e for e in m["weights"] if e["prior_weight"] == m["default_prior_weight"])
    criterion = cases[CRITERION_CASE]["methods"]
    best = {
        name: {
            "prior_weight": m["best"]["prior_weight"],
            "mpjpe_mm": m["best"]["mpjpe_mm"],
            "default_prior_weight": m["default_prior_weight"],
            "default_mpjpe_mm": m["default"]["mpjpe_mm"],
            "default_is_best": m["best"]["prior_weight"] == m["default_prior_weight"],
        }
        for name, m in criterion.items()
        if "weights" in m
    }
    return {"best_prior_weights": {"case": CRITERION_CASE, "criterion": "lowest MPJPE", "priors": best}}


def headline(cases: dict[str, dict]) -> dict[str, Any]:
    """The best prior in the *both* case against the two no-prior fits (the docs' targets)."""
    rows = cases["both"]["methods"]
    priors = {k: m for k, m in rows.items() if m["prior"] is not None and "mpjpe_mm" in m}
    if not priors:
        return {}
    name = min(priors, key=lambda k: priors[k]["mpjpe_mm"])
    best = priors[name]["mpjpe_mm"]
    return {
        "both_best_prior": name,
        "both_best_prior_mpjpe_mm": best,
        "both_best_prior_over_none_rest": best / rows["none_rest"]["mpjpe_mm"],
        "both_best_prior_over_none_ik": best / rows["none_ik"]["mpjpe_mm"],
    }


def run_3d(
    R: torch.Tensor, ik, priors: dict, datasets: dict, steps: int, sweep: bool, optimizer: str = "adam"
) -> dict[str, Any]:
    skeleton, unit = ik.skeleton, ik.unit_mm
    truth = pelvis_keypoints(skeleton, R)
    defaults = default_weights(priors, FitConfig().parametrisation)
    cases: dict[str, dict] = {}
    for case, (keypoints, mask) in cases_3d(truth, unit).items():
        rows: dict[str, Any] = {}
        for key, label, prior, init, weight in methods(ik, priors, sweep, defaults):
            lr = {"adam": FitConfig().lr, "lbfgs": 1.0}[optimizer]
            config = FitConfig(steps=steps, prior_weight=weight, optimizer=optimizer, lr=lr)
            start = time.perf_counter()
            fit = fit_keypoints_3d(
                keypoints,
                mask,
                skeleton,
                prior,
                unit_mm=unit,
                init=init,
                config=config,
                generator=torch.Generator().manual_seed(0),
            )
            ms = 1000 * (time.perf_counter() - start) / R.shape[0]
            per_pose = mpjpe(fit.positions * unit, truth * unit, reduction="none")
            metrics = {
                "mpjpe_mm": float(per_pose.mean()),
                **split_errors(per_pose, datasets),
                "pa_mpjpe_mm": float(pa_mpjpe(fit.positions * unit, truth * unit)),
                "geodesic_deg": float(geodesic_error(fit.rotations, R).mean()),
                "ms_per_frame": ms,
            }
            collect(rows, key, label, prior, weight, defaults, metrics, sweep)
            print(
                f"  3d {CASES_3D[case]}, {label}, weight {weight if weight is not None else 'default'}: MPJPE {metrics['mpjpe_mm']:.1f} mm",
                file=sys.stderr,
                flush=True,
            )
        cases[case] = {"label": CASES_3D[case], "methods": rows}
    out: dict[str, Any] = {"default_prior_weights": defaults, "cases": cases, **summarise(cases, sweep)}
    if not sweep:
        out["summary"] = headline(cases)
    return out


def run_world(
    R: torch.Tensor,
    root_rotation: torch.Tensor,
    root_position: torch.Tensor,
    ik,
    priors: dict,
    datasets: dict,
    steps: int,
    sweep: bool,
) -> dict[str, Any]:
    """World-frame 3D fitting: ``root_position (N, 3)`` in the IK model's unit."""
    skeleton, unit = ik.skeleton, ik.unit_mm
    truth = forward_kinematics(skeleton, torch.cat([root_rotation[:, None], R], dim=1), root_position)[0]
    defaults = default_weights(priors, FitConfig().parametrisation)
    cases: dict[str, dict] = {}
    for case, (keypoints, mask, sigma) in cases_world(truth, unit).items():
        rows: dict[str, Any] = {}
        for key, label, prior, init, weight in methods(ik, priors, sweep, defaults):
            config = FitConfig(
                steps=steps,
                prior_weight=weight,
                keypoint_sigma_mm=sigma,
                fit_root_rotation=True,
                fit_root_translation=True,
            )
            start = time.perf_counter()
            fit = fit_keypoints_3d(
                keypoints,
                mask,
                skeleton,
                prior,
                unit_mm=unit,
                init=init,
                config=config,
                generator=torch.Generator().manual_seed(0),
            )
            ms = 1000 * (time.perf_counter() - start) / R.shape[0]
            per_pose = mpjpe(fit.positions * unit, truth * unit, reduction="none")
            metrics = {
                "mpjpe_mm": float(per_pose.mean()),
                **split_errors(per_pose, datasets),
                "pa_mpjpe_mm": float(pa_mpjpe(fit.positions * unit, truth * unit)),
                "geodesic_deg": float(geodesic_error(fit.rotations, R).mean()),
                "visible_mm": float((fit.positions - keypoints).norm(dim=-1)[mask].mean() * unit),
                "root_rotation_deg": float(geodesic_error(fit.root_rotation[:, None], root_rotation[:, None]).mean()),
                "ms_per_frame": ms,
            }
            collect(rows, key, label, prior, weight, defaults, metrics, sweep)
            print(
                f"  world {CASES_WORLD[case]}, {label}, weight {weight if weight is not None else 'default'}: MPJPE {metrics['mpjpe_mm']:.1f} mm",
                file=sys.stderr,
                flush=True,
            )
        cases[case] = {"label": CASES_WORLD[case], "keypoint_sigma_mm": sigma, "methods": rows}
    return {"default_prior_weights": defaults, "cases": cases, **summarise(cases, sweep)}


def run_2d(
    R: torch.Tensor, root_rotation: torch.Tensor, ik, priors: dict, datasets: dict, hypotheses: int, steps: int
) -> dict[str, Any]:
    skeleton, unit = ik.skeleton, ik.unit_mm
    N = R.shape[0]
    g = torch.Generator().manual_seed(1)
    truth = pelvis_keypoints(skeleton, R)
    yaw = 2 * math.pi * torch.rand(N, generator=g)
    pitch = torch.deg2rad(-10 + 40 * torch.rand(N, generator=g))
    distance = (3000 + 3000 * torch.rand(N, generator=g)) / unit
    clean = perspective_pixels(truth, root_rotation, CAMERA, yaw, pitch, distance)
    pixels = clean + PIXEL_NOISE_PX * torch.randn(clean.shape, generator=g)
    dropped = torch.rand(N, 20, generator=g).argsort(-1)[:, :DROPPED] + 1
    mask = torch.ones(N, 21, dtype=torch.bool).scatter(1, dropped, False)
    confidence = mask.float()
    defaults = default_weights(priors, Fit2DConfig().parametrisation)
    # Root-relative joints in the body frame of the truth, and the rotation from each camera to the world.
    true_cam = truth @ root_rotation.transpose(-1, -2)
    R_cw, _ = level_camera_rotations(torch.tensor([0.0, 1.0, 0.0]), yaw, pitch)
    to_world = R_cw.transpose(-1, -2)
    rows: dict[str, Any] = {}
    runs = [
        ("none_rest", "none (rest)", UniformPrior(20), None),
        ("none_ik", "none (IK init)", UniformPrior(20), ik),
    ] + [(n, n, p, ik) for n, p in priors.items()]
    for key, label, prior, init in runs:
        config = Fit2DConfig(steps=steps, hypotheses=hypotheses)
        start = time.perf_counter()
        fit = fit_keypoints_2d(
            pixels,
            confidence,
            CAMERA,
            skeleton,
            prior,
            unit_mm=unit,
            init=init,
            config=config,
            generator=torch.Generator().manual_seed(0),
        )
        ms = 1000 * (time.perf_counter() - start) / N
        fit_cam = fit.positions - fit.positions[:, :1]
        hyp_cam = fit.hypotheses_positions - fit.hypotheses_positions[:, :, :1]
        # The camera frame is unknown to the truth: compare in the truth's world frame, aligned by the camera.
        fit_w = fit_cam @ to_world.transpose(-1, -2)
        hyp_w = hyp_cam @ to_world[:, None].transpose(-1, -2)
        per_pose = mpjpe(fit_w * unit, true_cam * unit, reduction="none")
        rows[key] = {
            "label": label,
            "prior": None if key.startswith("none") else key,
            "prior_weight": 0.0 if key.startswith("none") else defaults[key],
            "mpjpe_mm": float(per_pose.mean()),
            **split_errors(per_pose, datasets),
            "pa_mpjpe_mm": float(pa_mpjpe(fit_w * unit, true_cam * unit)),
            "best_of_n_mpjpe_mm": float(best_of_n(hyp_w * unit, true_cam * unit)),
            "best_of_n_pa_mpjpe_mm": float(best_of_n(hyp_w * unit, true_cam * unit, procrustes=True)),
            "reprojection_px": float(((fit.pixels - pixels).norm(dim=-1))[mask].mean()),
            "ms_per_frame": ms,
        }
        print(f"  2d {label}: MPJPE {rows[key]['mpjpe_mm']:.1f} mm", file=sys.stderr, flush=True)
    noise = (pixels - clean).norm(dim=-1)[mask].mean()
    return {
        "default_prior_weights": defaults,
        "hypotheses": hypotheses,
        "pixel_noise_mean_length_px": float(noise),
        "methods": rows,
    }


# ---------------------------------------------------------------------------------------------------------
# Rendering: the docs' tables from the results files only.


def _mm(x: float | None, best: bool = False) -> str:
    if x is None:
        return "-"
    return f"**{x:.1f}**" if best else f"{x:.1f}"


def _w(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def _lowest(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return min(values) if values else None


def _poses(s: dict) -> str:
    return f"{s['poses']:,} {s['split']} poses (dataset 1: {s['dataset1_poses']:,}, dataset 2: {s['dataset2_poses']:,}), {s['chosen']}"


def _conditions(payload: dict, part: str) -> str:
    s = payload["subset"]
    p = s[part]
    quick = " **Quick run: not a published number.**" if payload.get("quick") or s.get("quick") else ""
    optimiser = f"{p['optimizer']} {p['steps']} steps" + (
        f", {p['hypotheses']} hypotheses" if "hypotheses" in p else ""
    )
    return f"{_poses(s)}; {optimiser}; {p['conditions']}.{quick}\n\n"


def _case_table(payload: dict, part: str) -> str:
    r = payload["results"][part]
    world = part == "world"
    head = "| case | method | weight | MPJPE (mm) | dataset 1 | dataset 2 | PA-MPJPE (mm) | geodesic (deg) |"
    head += " visible (mm) | root rotation (deg) |" if world else ""
    head += " ms/frame | frames/s |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for case in r["cases"].values():
        rows = list(case["methods"].values())
        low = {
            k: _lowest(rows, k)
            for k in ("mpjpe_mm", "dataset1_mpjpe_mm", "dataset2_mpjpe_mm", "pa_mpjpe_mm", "geodesic_deg")
        }
        for m in rows:
            cells = [case["label"], m["label"], "-" if m["prior"] is None else _w(m["prior_weight"])]
            cells += [_mm(m[k], m[k] is not None and m[k] == low[k]) for k in low]
            if world:
                cells += [f"{m['visible_mm']:.1f}", f"{m['root_rotation_deg']:.1f}"]
            cells += [f"{m['ms_per_frame']:.1f}", f"{1000 / m['ms_per_frame']:,.0f}"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _table_2d(payload: dict) -> str:
    r = payload["results"]["2d"]
    n = r["hypotheses"]
    rows = list(r["methods"].values())
    keys = (
        "mpjpe_mm",
        "dataset1_mpjpe_mm",
        "dataset2_mpjpe_mm",
        "pa_mpjpe_mm",
        "best_of_n_mpjpe_mm",
        "best_of_n_pa_mpjpe_mm",
    )
    low = {k: _lowest(rows, k) for k in keys}
    lines = [
        f"| method | weight | MPJPE (mm) | dataset 1 | dataset 2 | PA-MPJPE (mm) | best-of-{n} MPJPE (mm) | best-of-{n} PA-MPJPE (mm) | reprojection (px) | ms/frame |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in rows:
        cells = [m["label"], "-" if m["prior"] is None else _w(m["prior_weight"])]
        cells += [_mm(m[k], m[k] is not None and m[k] == low[k]) for k in keys]
        cells += [f"{m['reprojection_px']:.1f}", f"{m['ms_per_frame']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(
        f"\nThe pixel noise's mean length over the visible keypoints: {r['pixel_noise_mean_length_px']:.2f} px."
    )
    return "\n".join(lines)


def _sweep_table(payload: dict, part: str) -> str:
    """One row per prior and weight, one column per case (MPJPE, mm); the best weight per prior and case in bold."""
    r = payload["results"][part]
    labels = {k: c["label"] for k, c in r["cases"].items()}
    lines = [
        "| prior | weight | " + " | ".join(f"{v} MPJPE (mm)" for v in labels.values()) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    first = next(iter(r["cases"].values()))["methods"]
    for key, m in first.items():
        if "weights" not in m:
            cells = [r["cases"][c]["methods"][key]["mpjpe_mm"] for c in labels]
            lines.append(f"| {m['label']} | - | " + " | ".join(_mm(x) for x in cells) + " |")
            continue
        for i, entry in enumerate(m["weights"]):
            w = entry["prior_weight"]
            shown = f"{w:g} (default)" if w == m["default_prior_weight"] else f"{w:g}"
            cells = []
            for c in labels:
                mc = r["cases"][c]["methods"][key]
                cells.append(_mm(mc["weights"][i]["mpjpe_mm"], mc["best"]["prior_weight"] == w))
            lines.append(f"| {key} | {shown} | " + " | ".join(cells) + " |")
    best = r["best_prior_weights"]
    picks = "; ".join(
        f"{k} {b['prior_weight']:g} ({b['mpjpe_mm']:.1f} mm; default {b['default_prior_weight']:g}: "
        f"{'the same' if b['default_is_best'] else format(b['default_mpjpe_mm'], '.1f') + ' mm'})"
        for k, b in best["priors"].items()
    )
    lines.append(
        f"\nBest weight on {payload['subset']['split']} by {best['criterion']} in the *{labels[best['case']]}* case: {picks}."
    )
    return "\n".join(lines)


def _optimizer_table(lbfgs: dict, adam: dict | None) -> str:
    """MPJPE per case of the L-BFGS run (each prior at its default weight), beside Adam's from the sweep."""
    r = lbfgs["results"]["3d"]
    p = lbfgs["subset"]["3d"]
    labels = {k: c["label"] for k, c in r["cases"].items()}
    same = (
        adam is not None
        and "3d" in adam["results"]
        and adam["subset"]["poses"] == lbfgs["subset"]["poses"]
        and adam["subset"]["split"] == lbfgs["subset"]["split"]
    )
    lines = [
        "| method | " + " | ".join(f"{v}: L-BFGS" + (" / Adam" if same else "") for v in labels.values()) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for key, m in next(iter(r["cases"].values()))["methods"].items():
        cells = []
        for c in labels:
            x = f"{r['cases'][c]['methods'][key]['mpjpe_mm']:.1f}"
            if same:
                a = adam["results"]["3d"]["cases"][c]["methods"][key]
                x += f" / {(a['default'] if 'default' in a else a)['mpjpe_mm']:.1f}"
            cells.append(x)
        lines.append(f"| {m['label']} | " + " | ".join(cells) + " |")
    adam_note = (
        f" Adam: {adam['subset']['3d']['steps']} steps, the sweep's default-weight rows (same poses)." if same else ""
    )
    quick = " **Quick run: not a published number.**" if lbfgs.get("quick") else ""
    head = f"MPJPE (mm), {_poses(lbfgs['subset'])}; L-BFGS (strong Wolfe, lr 1) {p['steps']} iterations, each prior at its default weight.{adam_note}{quick}\n\n"
    return head + "\n".join(lines)


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' blocks from the results files (``benchmarks/report.py``): ``3d``, ``world``, ``2d`` from
    ``fitting-test``; ``sweep_3d``, ``sweep_world`` from ``fitting-val-sweep`` (or, part by part,
    ``fitting-val-3d-sweep`` and ``fitting-val-world-sweep``); ``optimizer`` from ``fitting-val-lbfgs`` (beside
    Adam's numbers of the 3d sweep when it measured the same poses). A missing file leaves its blocks out."""
    blocks: dict[str, str] = {}
    test = load_optional(results, "test")
    if test is not None:
        for part in ("3d", "world"):
            if part in test["results"]:
                blocks[part] = _conditions(test, part) + _case_table(test, part)
        if "2d" in test["results"]:
            blocks["2d"] = _conditions(test, "2d") + _table_2d(test)
    sweep = load_optional(results, "val-sweep")
    for part in ("3d", "world"):
        # Both parts swept in one run (fitting-val-sweep), or each alone (fitting-val-3d-sweep, fitting-val-world-sweep).
        source = (
            sweep if sweep is not None and part in sweep["results"] else load_optional(results, f"val-{part}-sweep")
        )
        if source is not None and part in source["results"]:
            blocks[f"sweep_{part}"] = _conditions(source, part) + _sweep_table(source, part)
        if part == "3d" and source is not None and "3d" in source["results"]:
            sweep = source  # the Adam numbers beside L-BFGS's
    lbfgs = load_optional(results, "val-lbfgs")
    if lbfgs is not None and "3d" in lbfgs["results"]:
        blocks["optimizer"] = _optimizer_table(lbfgs, sweep)
    return blocks


def render_run(payload: dict) -> str:
    """This run's tables, as the docs would show them."""
    out = []
    for part in ("3d", "world", "2d"):
        if part not in payload["results"]:
            continue
        if any(
            "weights" in m for c in payload["results"][part].get("cases", {}).values() for m in c["methods"].values()
        ):
            table = _sweep_table(payload, part)
        elif part == "2d":
            table = _table_2d(payload)
        else:
            table = _case_table(payload, part)
        out.append(f"### {part}\n\n" + _conditions(payload, part) + table)
    return "\n\n".join(out)


# ---------------------------------------------------------------------------------------------------------


def setting_name(split: str, parts: list[str], default_parts: list[str], sweep: bool, optimizer: str) -> str:
    name = split
    if sorted(parts) != sorted(default_parts):
        name += "-" + "-".join(parts)
    if sweep:
        name += "-sweep"
    if optimizer != "adam":
        name += f"-{optimizer}"
    return name


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepared", default="prepared/bandai-v1")
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--limit", type=int, default=1000, help="poses, evenly spaced over the split")
    parser.add_argument(
        "--part", action="append", choices=PARTS, help="default: all three (with --sweep: 3d and world; with lbfgs: 3d)"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help=f"3D and world optimiser steps (default {FitConfig().steps})"
    )
    parser.add_argument("--hypotheses", type=int, default=5)
    parser.add_argument("--sweep", action="store_true", help="try prior weights (validation split only; 3d and world)")
    parser.add_argument(
        "--optimizer", default="adam", choices=("adam", "lbfgs"), help="3D: Adam, or L-BFGS (lr 1, strong Wolfe)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--setting", help="name of the results file's setting (default: from split, parts, sweep, optimizer)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_LIMIT} poses, {QUICK_STEPS} steps (2D {QUICK_STEPS_2D}), written under record.quick_dir() (not published)",
    )
    args = parser.parse_args(argv)
    if args.sweep and args.split != "val":
        parser.error("--sweep tunes weights: validation split only (--split val)")
    default_parts = ["3d"] if args.optimizer != "adam" else (["3d", "world"] if args.sweep else list(PARTS))
    parts = list(dict.fromkeys(args.part)) if args.part else default_parts
    if args.sweep and "2d" in parts:
        parser.error("--sweep tries weights for the 3d and world parts only")
    if args.optimizer != "adam" and parts != ["3d"]:
        parser.error("--optimizer lbfgs applies to --part 3d only")
    limit = min(args.limit, QUICK_LIMIT) if args.quick else args.limit
    steps = args.steps or (QUICK_STEPS if args.quick else FitConfig().steps)
    steps_2d = QUICK_STEPS_2D if args.quick else Fit2DConfig().steps
    torch.set_num_threads(args.threads)

    prepared = load_prepared(args.prepared, [args.split])
    split = prepared.splits[args.split]
    n = split.rotations.shape[0]
    pick = torch.linspace(0, n - 1, limit).round().long()
    R, root = split.rotations[pick].float(), split.root_rotation[pick].float()
    ik = zoo.load("flow-ik-bandai").eval()
    position = split.root_position[pick].float() * (prepared.unit / ik.unit_mm)
    priors = {name: zoo.load(name).eval() for name in PRIORS}
    dataset1 = torch.tensor([name.startswith("dataset-1") for name in split.take_names])[split.take[pick]]
    datasets = {"dataset1": dataset1, "dataset2": ~dataset1}
    print(f"bandai-v1 {args.split}, {limit} poses, {args.threads} thread(s)", file=sys.stderr)

    results: dict[str, Any] = {}
    subset: dict[str, Any] = {
        "split": args.split,
        "poses": limit,
        "dataset1_poses": int(dataset1.sum()),
        "dataset2_poses": int((~dataset1).sum()),
        "chosen": f"evenly spaced over the split's {n:,} (pose round(i (n - 1) / (limit - 1)), splits.json take order, every 3rd frame at 30 fps)",
        "data": args.prepared,
        "dtype": "float32",
        "ik_model": "flow-ik-bandai",
        "priors": list(PRIORS),
        "quick": args.quick,
    }
    fits = "the fit's IK-sampling generator seeded 0"
    weights = (
        "each prior at the weights "
        + ", ".join(f"{k} {'/'.join(f'{w:g}' for w in v)}" for k, v in SWEEP.items())
        + " and at its default"
        if args.sweep
        else "each prior's default"
    )
    for part in parts:
        if part == "3d":
            results["3d"] = run_3d(R, ik, priors, datasets, steps, args.sweep, args.optimizer)
            subset["3d"] = {
                "frame": "pelvis (root at the origin, identity root rotation)",
                "optimizer": args.optimizer,
                "steps": steps,
                "lr": FitConfig().lr if args.optimizer == "adam" else 1.0,
                "keypoint_sigma_mm": FitConfig().keypoint_sigma_mm,
                "cases": {
                    "noise": f"Gaussian noise of standard deviation {NOISE_MM:g} mm per coordinate (x, y, z independent; {NOISE_MM * math.sqrt(3):.1f} mm RMS per joint) on the 20 non-root joints",
                    "missing": f"{round(MISSING * 20)} of the 20 non-root joints hidden per pose (uniformly at random), exact elsewhere",
                    "both": "the noise and the hidden joints together",
                },
                "seeds": f"noise then hidden joints from one generator seeded 0; {fits}",
                "conditions": (
                    f"pelvis-frame keypoints; *20 mm noise* = Gaussian, standard deviation {NOISE_MM:g} mm per coordinate "
                    f"({NOISE_MM * math.sqrt(3):.1f} mm RMS per joint) on every non-root joint; *30% missing* = {round(MISSING * 20)} of "
                    "the 20 non-root joints hidden, exact elsewhere; *both*; data term at the default 20 mm noise level; "
                    "`none (rest)` from the rest pose, every other row from the flow-ik-bandai mode (its time included); "
                    f"weight: {weights}; MPJPE and PA-MPJPE over 21 joints (dataset 1: held-out styles, "
                    "dataset 2: repeated contents), geodesic error of the 20 local rotations; seeds 0"
                ),
            }
        elif part == "world":
            results["world"] = run_world(R, root, position, ik, priors, datasets, steps, args.sweep)
            subset["world"] = {
                "frame": "world: each take's real root rotation and position",
                "optimizer": "adam",
                "steps": steps,
                "lr": FitConfig().lr,
                "fit_root_rotation": True,
                "fit_root_translation": True,
                "cases": {
                    "missing": f"{round(MISSING * 20)} of the 20 non-root joints hidden per pose (the root visible), exact keypoints fitted at keypoint_sigma_mm {FitConfig().keypoint_sigma_mm:g}",
                    "missing_sigma_1mm": "the same keypoints declared exact: keypoint_sigma_mm 1",
                    "both": f"Gaussian noise of standard deviation {NOISE_MM:g} mm per coordinate on every joint, root included, and the hidden joints; keypoint_sigma_mm {FitConfig().keypoint_sigma_mm:g}",
                },
                "seeds": f"noise then hidden joints from one generator seeded 0; {fits}",
                "conditions": (
                    f"world-frame keypoints (each take's real root rotation and position), {round(MISSING * 20)} of the 20 non-root "
                    f"joints hidden, the root visible: exact keypoints fitted at the default {FitConfig().keypoint_sigma_mm:g} mm noise "
                    f"level, declared exact (sigma 1 mm), and (*both*) Gaussian noise of {NOISE_MM:g} mm per coordinate on every joint; "
                    f"root rotation and position fitted; weight: {weights}; MPJPE of the world-frame joints, visible = mean distance to the visible "
                    "keypoints; seeds 0"
                ),
            }
        else:
            results["2d"] = run_2d(R, root, ik, priors, datasets, args.hypotheses, steps_2d)
            subset["2d"] = {
                "optimizer": "adam",
                "steps": steps_2d,
                "hypotheses": args.hypotheses,
                "camera": {
                    "focal_px": 1000.0,
                    "principal_point_px": [500.0, 500.0],
                    "image_px": [1000, 1000],
                    "level": True,
                    "yaw_deg": [0.0, 360.0],
                    "pitch_deg": [-10.0, 30.0],
                    "distance_m": [3.0, 6.0],
                    "aimed_at": "pelvis",
                },  # fmt: skip
                "pixel_noise": f"Gaussian, standard deviation {PIXEL_NOISE_PX:g} px on each image axis",
                "dropped": f"{DROPPED} of the 20 non-root joints per pose (10%), confidence 0",
                "seeds": "cameras, pixel noise and dropped joints from one generator seeded 1; the fit's generator seeded 0",
                "conditions": (
                    "the posed skeleton (real root orientation) seen by a level camera, yaw uniform in 0-360 degrees, pitch -10 to 30, "
                    f"distance 3-6 m, aimed at the pelvis, focal 1000 px, 1000 x 1000 image; Gaussian pixel noise of {PIXEL_NOISE_PX:g} px "
                    f"per image axis; {DROPPED} of the 20 non-root joints dropped (confidence 0); MPJPE root-relative over 21 joints of "
                    "the best-ranked hypothesis, best-of-n over all; reprojection = mean pixel distance to the noisy visible keypoints; seeds 1 (views), 0 (fits)"
                ),
            }
    setting = args.setting or setting_name(args.split, parts, default_parts, args.sweep, args.optimizer)
    save("fitting", results, subset=subset, setting=setting, quick=args.quick)
    print(render_run({"setting": setting, "quick": args.quick, "subset": subset, "results": results}))
    return {"setting": setting, "subset": subset, "results": results}


if __name__ == "__main__":
    main()
