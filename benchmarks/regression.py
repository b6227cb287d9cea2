"""Regression numbers of the shipped models on fixed small subsets, and their run-to-run noise.

Each shipped model gets one quick measurement (:data:`CHECKS`) on a fixed subset of bandai-v1 test (the first
test poses, or views of them, from the zips: no prepared folder needed). This script measures each at seed 0
with 1 thread (the published value) and again with other seeds and 2 threads: the largest difference is the
run-to-run noise. ``tests/benchmarks/test_regression.py`` recomputes every check (seed 0, 1 thread) and fails
when it leaves ``published +- 2 x noise`` (with a floor of :data:`FLOOR` for checks that are deterministic).
Written to ``benchmarks/results/regression.json``.

    .venv/bin/python benchmarks/regression.py
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
from lifting import views

from poseprior import zoo
from poseprior.data import BANDAI_V1, extract_poses
from poseprior.data.bandai import reference_rig
from poseprior.io import Archive, parse_bvh
from poseprior.metrics import best_of_n, geodesic_error, mpjae, mpjpe
from poseprior.models.ndf_data import perturb
from poseprior.tasks.ik import solve_ik

REPO = Path(__file__).resolve().parents[1]
BANDAI = Path(os.environ.get("POSEPRIOR_SHARED", REPO.parent / "shared")) / "data" / "bandai-namco"
#: Smallest tolerance: deterministic checks move only by rounding.
FLOOR = 1e-3
SEEDS = (0, 1, 2)


def test_poses(count: int = 1000) -> dict[str, torch.Tensor]:
    """The first ``count`` poses of the bandai-v1 test split (as ``load_prepared(...)['test']``'s), with their
    root rotation and, for windows, the take and frame of each."""
    names = json.loads((BANDAI / "splits.json").read_text())["test"]
    rig = reference_rig(BANDAI)
    parts = []
    with Archive(BANDAI / "bandai-namco-motion-1.zip") as archive:
        for take, name in enumerate(names):
            motion = parse_bvh(archive.read_text(f"data/{name}"), source=name, unit="cm")
            poses = extract_poses(motion, BANDAI_V1, rig)
            poses["take"] = torch.full((poses["rotations"].shape[0],), take)
            parts.append(poses)
            if sum(p["rotations"].shape[0] for p in parts) >= count:
                break
    return {k: torch.cat([p[k] for p in parts])[:count] for k in ("rotations", "root_rotation", "take")}


def _views(model, data: dict, count: int, seed: int, window: int) -> dict:
    """``count`` views (one random camera each, as the lifting benchmark makes them, seeded) of windows of
    ``window`` frames of one take around evenly spaced test poses (clamped at the take's ends)."""
    centre = torch.arange(count) * (data["rotations"].shape[0] // count)
    frames = (centre[:, None] + torch.arange(window) - window // 2).clamp(0, data["rotations"].shape[0] - 1)
    frames = torch.where(data["take"][frames] == data["take"][centre][:, None], frames, centre[:, None])
    layout = model.config.lifting.layout
    skeleton, unit_mm = zoo.load("lifter-rot-bandai").skeleton, zoo.load("lifter-rot-bandai").unit_mm
    return views(
        skeleton, unit_mm, data["rotations"][frames], data["root_rotation"][frames], layouts=(layout,), seed=seed
    ) | {"layout": layout}


# ------------------------------------------------------------------------------------------------ checks
def flow_log_likelihood(data: dict, seed: int) -> float:
    """flow-bandai: mean log-likelihood of the first 1000 test poses (nats; deterministic)."""
    with torch.no_grad():
        return float(zoo.load("flow-bandai").log_prob(data["rotations"]).mean())


def vae_reconstruction(data: dict, seed: int) -> float:
    """vae-bandai: mean geodesic error of decode(encode(R)) over the first 1000 test poses (deg)."""
    vae = zoo.load("vae-bandai")
    with torch.no_grad():
        return float(geodesic_error(vae.decode(vae.encode(data["rotations"]).mean), data["rotations"]).mean())


def ndf_projection(data: dict, seed: int) -> float:
    """ndf-bandai: mean geodesic error to the clean pose after projecting 200 test poses with 20 deg of noise."""
    R = data["rotations"][::5]
    noisy = perturb(R, 20.0, torch.Generator().manual_seed(seed))
    return float(geodesic_error(zoo.load("ndf-bandai").project(noisy).detach(), R).mean())


def ik_masked(data: dict, seed: int) -> float:
    """flow-ik-bandai: mode MPJPE (mm) from exact 3D keypoints of 200 test poses with 30% of the joints hidden."""
    model = zoo.load("flow-ik-bandai")
    R = data["rotations"][::5]
    keypoints = model.keypoints(R)
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(keypoints.shape[:2], dtype=torch.bool)
    hidden = torch.rand(R.shape[0], R.shape[1], generator=g).argsort(-1)[:, : round(0.3 * R.shape[1])] + 1
    mask.scatter_(1, hidden, False)
    result = solve_ik(model, keypoints, mask, hypotheses=2, candidates=20, seed=seed)
    return float(mpjpe(result.positions * model.unit_mm, keypoints * model.unit_mm))


def rotation_lifter(name: str) -> Callable[[dict, int], float]:
    def check(data: dict, seed: int) -> float:
        model = zoo.load(name)
        v = _views(model, data, 200, seed, model.config.window)
        with torch.no_grad():
            out = model(v["pixels"][v["layout"]], v["camera"][:, None].expand(-1, model.config.window, 3, 3))
        return float(mpjae(out["rotations"][:, model.config.window // 2], v["rotations"]))

    check.__doc__ = f"{name}: MPJAE (deg) on 200 views (random cameras) of windows of test poses."
    return check


def flow_lifter(name: str) -> Callable[[dict, int], float]:
    def check(data: dict, seed: int) -> float:
        model = zoo.load(name)
        v = _views(model, data, 100, seed, 1)
        truth = v["layout_truth"][v["layout"]]  # the lifter's own keypoints (the joints for layout None)
        with torch.no_grad():
            samples = model.sample(
                50, v["pixels"][v["layout"]][:, 0], v["camera"], generator=torch.Generator().manual_seed(seed)
            )
        return float(best_of_n(samples.transpose(0, 1), truth))

    check.__doc__ = f"{name}: best-of-50 MPJPE (mm) on 100 views (random cameras) of test poses."
    return check


#: name -> (check, unit): one check per shipped model.
CHECKS: dict[str, tuple[Callable[[dict, int], float], str]] = {
    "flow-bandai": (flow_log_likelihood, "nats"),
    "vae-bandai": (vae_reconstruction, "deg"),
    "ndf-bandai": (ndf_projection, "deg"),
    "flow-ik-bandai": (ik_masked, "mm"),
    "lifter-rot-bandai": (rotation_lifter("lifter-rot-bandai"), "deg"),
    "lifter-rot-coco17": (rotation_lifter("lifter-rot-coco17"), "deg"),
    "lifter-flow-bandai": (flow_lifter("lifter-flow-bandai"), "mm"),
    "lifter-flow-coco17": (flow_lifter("lifter-flow-coco17"), "mm"),
}


def measure(name: str, data: dict, seed: int = 0, threads: int = 1) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    return CHECKS[name][0](data, seed)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one variation only (not published)")
    args = parser.parse_args(argv)
    from record import save

    data = test_poses()
    results = {}
    for name, (check, unit) in CHECKS.items():
        value = measure(name, data)
        variations = [(s, t) for s in SEEDS for t in (1, 2) if (s, t) != (0, 1)][: 1 if args.quick else None]
        others = [measure(name, data, s, t) for s, t in variations]
        noise = max(abs(o - value) for o in others)
        results[name] = {
            "check": check.__doc__,
            "unit": unit,
            "value": value,
            "noise": noise,
            "tolerance": 2 * max(noise, FLOOR),
        }
        print(f"{name}: {value:.4f} {unit}, noise {noise:.4f} over {len(others)} variations", flush=True)
    subset = {
        "poses": "the first 1000 bandai-v1 test poses (splits.json order, every 3rd frame)",
        "seeds": list(SEEDS),
        "threads": [1, 2],
    }
    save("regression", results, subset=subset, quick=args.quick)
    return results


def render(results: Callable[..., dict]) -> dict[str, str]:
    r = results()["results"]
    lines = ["| model | check | value | run-to-run noise | test tolerance |", "|---|---|---|---|---|"]
    lines += [
        f"| {n} | {c['check'].split(': ', 1)[1]} | {c['value']:.3f} {c['unit']} | {c['noise']:.4f} | {c['tolerance']:.4f} |"
        for n, c in r.items()
    ]
    return {"table": "\n".join(lines)}


if __name__ == "__main__":
    main()
