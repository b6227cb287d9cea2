"""Fitting numbers (docs/benchmarks.md, "Fitting"): 3D and 2D keypoint fitting on bandai-v1, with each prior.

Poses: ``--limit`` poses spread evenly over the split (every ``n // limit``-th), float32, fixed seeds.

3D (``--part 3d``): the pelvis-frame keypoints of the 21-joint skeleton (root at the origin), with
- noise: Gaussian noise of 20 mm standard deviation per coordinate on every non-root joint;
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
and 20 mm noise on every joint, root included (*both*); the root's rotation and position are fitted too
(``fit_root_rotation``, ``fit_root_translation``). MPJPE of the world-frame joints (root position error
included), PA-MPJPE, geodesic error of the local rotations, mean distance to the visible keypoints (mm: what
the fit can be held to on exact ones), geodesic error of the root's rotation (degrees), ms per frame.

2D (``--part 2d``): the posed skeleton (real root orientation) seen by a level camera at a random yaw,
pitch in [-10, 30] degrees and distance 3-6 m aimed at the pelvis, focal length 1000 px, 1000 x 1000 image,
3 px Gaussian pixel noise, 10% of the joints (2 of the 20 non-root joints) dropped. ``fit_keypoints_2d``
with 5 hypotheses; MPJPE / PA-MPJPE (mm, root-relative, camera frame) of the best-ranked hypothesis and
the best of the 5, and ms per frame.

``--sweep`` (validation split only) tries prior weights instead, for choosing the defaults.

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/fitting.py [--split test] [--limit 1000] [--part 3d] [--part world] [--part 2d] [--threads 1]
    .venv/bin/python benchmarks/fitting.py --split val --limit 300 --part 3d --sweep
    .venv/bin/python benchmarks/fitting.py --split val --limit 200 --part world --sweep
    .venv/bin/python benchmarks/fitting.py --split val --limit 300 --part 3d --optimizer lbfgs --steps 20
"""

from __future__ import annotations

import argparse
import math
import time

import torch

import poseprior.zoo as zoo
from poseprior.data import load_prepared
from poseprior.metrics import best_of_n, geodesic_error, mpjpe, pa_mpjpe
from poseprior.models.baseline import UniformPrior
from poseprior.models.flow.condition import pelvis_keypoints, perspective_pixels
from poseprior.skeleton import forward_kinematics
from poseprior.tasks import Fit2DConfig, FitConfig, fit_keypoints_2d, fit_keypoints_3d

PRIORS = ("flow-bandai", "vae-bandai", "ndf-bandai")
SWEEP = {"flow-bandai": (0.03, 0.1, 0.3, 1.0), "vae-bandai": (0.3, 1.0, 3.0), "ndf-bandai": (30.0, 100.0, 300.0)}
CAMERA = torch.tensor([[1000.0, 0.0, 500.0], [0.0, 1000.0, 500.0], [0.0, 0.0, 1.0]])


def cases_3d(keypoints: torch.Tensor, unit_mm: float, seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor | None]]:
    """``{case: (keypoints (N, J, 3), mask (N, J) or None)}`` of exact pelvis-frame keypoints."""
    g = torch.Generator().manual_seed(seed)
    N, J, _ = keypoints.shape
    noisy = keypoints + torch.randn(keypoints.shape, generator=g) * (20.0 / unit_mm)
    noisy[:, 0] = 0  # the root is the origin of the pelvis frame
    hidden = torch.rand(N, J - 1, generator=g).argsort(-1)[:, : round(0.3 * (J - 1))] + 1
    mask = torch.ones(N, J, dtype=torch.bool).scatter(1, hidden, False)
    return {"20 mm noise": (noisy, None), "30% missing": (keypoints, mask), "both": (noisy, mask)}


def cases_world(keypoints: torch.Tensor, unit_mm: float, seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """``{case: (keypoints (N, J, 3), mask (N, J), keypoint_sigma_mm)}`` from exact world-frame keypoints: 30% of
    the non-root joints hidden; exact, fitted at the default noise level (as the pelvis-frame rows) or declared
    exact (1 mm), or with 20 mm noise on every joint (the root is measured like the others)."""
    g = torch.Generator().manual_seed(seed)
    N, J, _ = keypoints.shape
    noisy = keypoints + torch.randn(keypoints.shape, generator=g) * (20.0 / unit_mm)
    hidden = torch.rand(N, J - 1, generator=g).argsort(-1)[:, : round(0.3 * (J - 1))] + 1
    mask = torch.ones(N, J, dtype=torch.bool).scatter(1, hidden, False)
    default = FitConfig().keypoint_sigma_mm
    return {
        "world, 30% missing": (keypoints, mask, default),
        "world, 30% missing, sigma 1 mm": (keypoints, mask, 1.0),
        "world, both": (noisy, mask, default),
    }


def methods(ik, priors: dict, sweep: bool) -> list[tuple]:
    """``(label, prior, init, weight)`` of each fit: none from the rest pose and from the IK mode, each prior."""
    runs = [("none (rest)", None, None, None), ("none (IK init)", None, ik, None)]
    for name, prior in priors.items():
        runs += [(name, prior, ik, w) for w in (SWEEP[name] if sweep else (None,))]
    return runs


def run_3d(R: torch.Tensor, ik, priors: dict, steps: int, sweep: bool, optimizer: str = "adam") -> None:
    skeleton, unit = ik.skeleton, ik.unit_mm
    truth = pelvis_keypoints(skeleton, R)
    print(f"\n3D fitting, {R.shape[0]} poses, {optimizer} {steps} steps\n")
    print("| case | method | weight | MPJPE mm | PA-MPJPE mm | geodesic deg | ms/frame |")
    print("|---|---|---|---|---|---|---|")
    for case, (keypoints, mask) in cases_3d(truth, unit).items():
        for label, prior, init, weight in methods(ik, priors, sweep):
            lr = {"adam": FitConfig().lr, "lbfgs": 1.0}[optimizer]
            config = FitConfig(steps=steps, prior_weight=weight, optimizer=optimizer, lr=lr)
            start = time.perf_counter()
            fit = fit_keypoints_3d(keypoints, mask, skeleton, prior, unit_mm=unit, init=init, config=config, generator=torch.Generator().manual_seed(0))
            ms = 1000 * (time.perf_counter() - start) / R.shape[0]
            err = float(mpjpe(fit.positions * unit, truth * unit))
            pa = float(pa_mpjpe(fit.positions * unit, truth * unit))
            geo = float(geodesic_error(fit.rotations, R).mean())
            shown = "-" if prior is None else ("default" if weight is None else f"{weight:g}")
            print(f"| {case} | {label} | {shown} | {err:.1f} | {pa:.1f} | {geo:.1f} | {ms:.2f} |", flush=True)


def run_world(R: torch.Tensor, root_rotation: torch.Tensor, root_position: torch.Tensor, ik, priors: dict, steps: int, sweep: bool) -> None:
    """World-frame 3D fitting: ``root_position (N, 3)`` in the IK model's unit."""
    skeleton, unit = ik.skeleton, ik.unit_mm
    truth = forward_kinematics(skeleton, torch.cat([root_rotation[:, None], R], dim=1), root_position)[0]
    print(f"\n3D fitting in the world frame, {R.shape[0]} poses, adam {steps} steps\n")
    print("| case | method | weight | MPJPE mm | PA-MPJPE mm | geodesic deg | visible mm | root deg | ms/frame |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case, (keypoints, mask, sigma) in cases_world(truth, unit).items():
        for label, prior, init, weight in methods(ik, priors, sweep):
            config = FitConfig(steps=steps, prior_weight=weight, keypoint_sigma_mm=sigma, fit_root_rotation=True, fit_root_translation=True)
            start = time.perf_counter()
            fit = fit_keypoints_3d(keypoints, mask, skeleton, prior, unit_mm=unit, init=init, config=config, generator=torch.Generator().manual_seed(0))
            ms = 1000 * (time.perf_counter() - start) / R.shape[0]
            err = float(mpjpe(fit.positions * unit, truth * unit))
            pa = float(pa_mpjpe(fit.positions * unit, truth * unit))
            geo = float(geodesic_error(fit.rotations, R).mean())
            visible = float((fit.positions - keypoints).norm(dim=-1)[mask].mean() * unit)
            root = float(geodesic_error(fit.root_rotation[:, None], root_rotation[:, None]).mean())
            shown = "-" if prior is None else ("default" if weight is None else f"{weight:g}")
            print(f"| {case} | {label} | {shown} | {err:.1f} | {pa:.1f} | {geo:.1f} | {visible:.1f} | {root:.1f} | {ms:.2f} |", flush=True)


def run_2d(R: torch.Tensor, root_rotation: torch.Tensor, ik, priors: dict, hypotheses: int, steps: int) -> None:
    skeleton, unit = ik.skeleton, ik.unit_mm
    N = R.shape[0]
    g = torch.Generator().manual_seed(1)
    truth = pelvis_keypoints(skeleton, R)
    yaw = 2 * math.pi * torch.rand(N, generator=g)
    pitch = torch.deg2rad(-10 + 40 * torch.rand(N, generator=g))
    distance = (3000 + 3000 * torch.rand(N, generator=g)) / unit
    pixels = perspective_pixels(truth, root_rotation, CAMERA, yaw, pitch, distance)
    pixels = pixels + 3.0 * torch.randn(pixels.shape, generator=g)
    dropped = torch.rand(N, 20, generator=g).argsort(-1)[:, :2] + 1
    mask = torch.ones(N, 21, dtype=torch.bool).scatter(1, dropped, False)
    confidence = mask.float()
    print(f"\n2D fitting, {N} poses, {hypotheses} hypotheses, Adam {steps} steps\n")
    print("| method | MPJPE mm | PA-MPJPE mm | best-of-5 MPJPE mm | best-of-5 PA-MPJPE mm | reprojection px | ms/frame |")
    print("|---|---|---|---|---|---|---|")
    runs = [("none (rest)", UniformPrior(20), None), ("none (IK init)", UniformPrior(20), ik)] + [(n, p, ik) for n, p in priors.items()]
    for label, prior, init in runs:
        config = Fit2DConfig(steps=steps, hypotheses=hypotheses)
        start = time.perf_counter()
        fit = fit_keypoints_2d(pixels, confidence, CAMERA, skeleton, prior, unit_mm=unit, init=init, config=config, generator=torch.Generator().manual_seed(0))
        ms = 1000 * (time.perf_counter() - start) / N
        # Root-relative joints in the body frame of the truth: rotate the fit's camera-frame pose into it.
        true_cam = truth @ root_rotation.transpose(-1, -2)
        fit_cam = fit.positions - fit.positions[:, :1]
        hyp_cam = fit.hypotheses_positions - fit.hypotheses_positions[:, :, :1]
        # The camera frame is unknown to the truth: compare in the truth's world frame, aligned by the camera.
        from poseprior.models.flow.condition import camera_rotations

        R_cw, _ = camera_rotations(torch.tensor([0.0, 1.0, 0.0]), yaw, pitch)
        to_world = R_cw.transpose(-1, -2)
        fit_w = fit_cam @ to_world.transpose(-1, -2)
        hyp_w = hyp_cam @ to_world[:, None].transpose(-1, -2)
        mm = unit
        err = float(mpjpe(fit_w * mm, true_cam * mm))
        pa = float(pa_mpjpe(fit_w * mm, true_cam * mm))
        best = float(best_of_n(hyp_w * mm, true_cam * mm))
        best_pa = float(best_of_n(hyp_w * mm, true_cam * mm, procrustes=True))
        reproj = float(((fit.pixels - pixels).norm(dim=-1))[mask].mean())
        print(f"| {label} | {err:.1f} | {pa:.1f} | {best:.1f} | {best_pa:.1f} | {reproj:.1f} | {ms:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepared", default="prepared/bandai-v1")
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--part", action="append", choices=("3d", "world", "2d"), help="default: all three")
    parser.add_argument("--steps", type=int, default=FitConfig().steps)
    parser.add_argument("--hypotheses", type=int, default=5)
    parser.add_argument("--sweep", action="store_true", help="try prior weights (validation split only)")
    parser.add_argument("--optimizer", default="adam", choices=("adam", "lbfgs"), help="3D: Adam, or L-BFGS (lr 1, strong Wolfe)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.sweep and args.split != "val":
        parser.error("--sweep tunes weights: validation split only")
    torch.set_num_threads(args.threads)
    prepared = load_prepared(args.prepared, [args.split])
    split = prepared.splits[args.split]
    pick = torch.linspace(0, split.rotations.shape[0] - 1, args.limit).round().long()
    R, root = split.rotations[pick].float(), split.root_rotation[pick].float()
    ik = zoo.load("flow-ik-bandai").eval()
    position = split.root_position[pick].float() * (prepared.unit / ik.unit_mm)
    priors = {name: zoo.load(name).eval() for name in PRIORS}
    print(f"bandai-v1 {args.split}, {args.limit} poses, {args.threads} thread(s)")
    for part in args.part or ["3d", "world", "2d"]:
        if part == "3d":
            run_3d(R, ik, priors, args.steps, args.sweep, args.optimizer)
        elif part == "world":
            run_world(R, root, position, ik, priors, args.steps, args.sweep)
        else:
            run_2d(R, root, ik, priors, args.hypotheses, Fit2DConfig().steps)


if __name__ == "__main__":
    main()
