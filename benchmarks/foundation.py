"""Foundation numbers (docs/benchmarks.md, "Foundation"): reading speed, FK speed, the CMU BVH vs ASF/AMC
agreement, and the full bandai-v1 preparation.

- BVH reading: every take of each Bandai Namco zip (``iter_bvh``, centimetres), frames/s;
- forward kinematics: a batch of 1000 random poses (QR rotations, seed 0) of the CMU 01_01 BVH skeleton,
  float32, after 3 warm-up calls, timed over ``--fk-seconds``;
- CMU 01_01: FK of its BVH conversion against FK of its ASF/AMC (BVH frame i + 1 is AMC frame i), both read with
  the ASF's unit; the local rotations' largest disagreement; how far the converter's collapsed bones move the
  joints below them;
- ``prepare_bandai`` of both zips into a temporary folder (``--workers``), and its per-split counts.

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/foundation.py [--shared ../shared/data] [--skip-prepare] [--threads 2]
    .venv/bin/python benchmarks/foundation.py --quick --threads 1   # 20 takes of zip 1, no preparation: a smoke run, not published
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from poseprior.data.bandai import prepare_bandai
from poseprior.data.protocol import BANDAI_V1
from poseprior.io import iter_bvh, read_asf_amc, read_bvh
from poseprior.metrics import geodesic_error
from poseprior.skeleton import forward_kinematics
from record import RESULTS, save

ZIPS = ("bandai-namco-motion-1.zip", "bandai-namco-motion-2.zip")
FK_BATCH = 1000
COLLAPSED = ("thorax", "lwrist", "rwrist")
SEED = 0

#: Option defaults of a full run and of ``--quick`` (an explicit option wins over both).
FULL = dict(zips=list(ZIPS), takes=None, fk_seconds=2.0, prepare=True)
QUICK = dict(zips=[ZIPS[0]], takes=20, fk_seconds=0.3, prepare=False)


def bvh_reading(zip_path: Path, limit: int | None) -> dict:
    t = time.perf_counter()
    takes = frames = 0
    for _, motion in iter_bvh(zip_path):
        takes += 1
        frames += motion.num_frames
        if limit is not None and takes >= limit:
            break
    dt = time.perf_counter() - t
    return {"takes": takes, "all_takes": limit is None, "frames": frames, "wall_s": dt, "frames_per_s": frames / dt}


def fk_speed(skeleton, seconds: float) -> dict:
    g = torch.Generator().manual_seed(SEED)
    R, _ = torch.linalg.qr(torch.randn(FK_BATCH, skeleton.num_joints, 3, 3, generator=g))
    R = R * torch.linalg.det(R).sign()[..., None, None]
    t0 = torch.zeros(FK_BATCH, 3)
    for _ in range(3):
        forward_kinematics(skeleton, R, t0)
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds:
        forward_kinematics(skeleton, R, t0)
        n += 1
    dt = (time.perf_counter() - t) / n
    return {
        "joints": skeleton.num_joints,
        "batch": FK_BATCH,
        "dtype": str(R.dtype).removeprefix("torch."),
        "calls": n,
        "batch_ms": dt * 1e3,
        "poses_per_s": FK_BATCH / dt,
    }


def cmu_agreement(cmu: Path) -> dict:
    """FK of CMU 01_01 from its BVH conversion and from the ASF/AMC: BVH frame i + 1 is AMC frame i.

    The converter collapsed the ``thorax``, ``lwrist`` and ``rwrist`` bones to zero length, so the rows
    are: the joints not below those bones, and all joints with the BVH's rotations on the ASF's offsets.
    """
    asf = read_asf_amc(cmu / "01.asf", cmu / "01_01.amc")
    bvh = read_bvh(cmu / "01_01.bvh", unit="asf")
    R, root = bvh.rotations[1:], bvh.root_translation[1:]
    p_asf = asf.positions()
    sk = bvh.skeleton
    collapsed = {asf.joint_names.index(n) for n in COLLAPSED}

    def collapsed_above(j: int) -> int | None:
        """The nearest collapsed bone (its start joint) above joint ``j``, or None."""
        while j >= 0:
            if sk.parents[j] in collapsed:
                return sk.parents[j]
            j = sk.parents[j]
        return None

    kept = [j for j in range(sk.num_joints) if collapsed_above(j) is None]
    e1 = (forward_kinematics(sk, R, root)[0] - p_asf)[:, kept].norm(dim=-1) * asf.unit
    e2 = (forward_kinematics(sk.with_offsets(asf.skeleton.offsets), R, root)[0] - p_asf).norm(dim=-1) * asf.unit
    moved = (forward_kinematics(sk, R, root)[0] - p_asf).norm(dim=-1) * asf.unit
    below = {}
    for c in sorted(collapsed):
        joints = [j for j in range(sk.num_joints) if collapsed_above(j) == c]
        below[asf.joint_names[c]] = {
            "joints": len(joints),
            "mean_mm": float(moved[:, joints].mean()),
            "max_mm": float(moved[:, joints].max()),
        }
    return {
        "frames": asf.num_frames,
        "unit_mm": float(asf.unit),
        "kept_joints": {"joints": len(kept), "max_mm": float(e1.max()), "mean_mm": float(e1.mean())},
        "asf_offsets": {"joints": sk.num_joints, "max_mm": float(e2.max()), "mean_mm": float(e2.mean())},
        "local_rotations_max_deg": float(geodesic_error(asf.rotations, R).max()),
        "below_collapsed_bone": below,
    }


def prepare(source: Path, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        summary = prepare_bandai(source, Path(out) / "bandai-v1", progress=False, workers=workers)
        dt = time.perf_counter() - t
    splits = {split: {"takes": c.takes, "frames": c.frames, "poses": c.poses} for split, c in summary.splits.items()}
    return {
        "workers": workers,
        "wall_s": dt,
        "poses": sum(c["poses"] for c in splits.values()),
        "source_fps": BANDAI_V1.source_fps,
        "splits": splits,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=Path(os.environ.get("POSEPRIOR_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data",
    )
    parser.add_argument("--skip-prepare", action="store_true", help="leave out the bandai-v1 preparation")
    parser.add_argument("--workers", type=int, default=2, help="prepare_bandai's worker processes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="20 takes of zip 1, a short FK timing, no preparation (a smoke run; written under record.quick_dir(), not published)",
    )
    parser.add_argument("--out", help="another folder for the results file")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        setattr(args, key, value)
    args.prepare = args.prepare and not args.skip_prepare
    if args.quick and args.out is not None and Path(args.out).resolve() == RESULTS.resolve():
        parser.error("--quick numbers are not for publication: not writing them to benchmarks/results")
    return args


def main(argv: list[str] | None = None) -> dict:
    """Measure, print the tables, write the results file; returns its subset and results."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    torch.set_num_threads(args.threads)
    bandai = args.shared / "bandai-namco"
    results: dict = {"bvh_reading": {name: bvh_reading(bandai / name, args.takes) for name in args.zips}}
    results["forward_kinematics"] = fk_speed(read_bvh(args.shared / "cmu" / "01_01.bvh").skeleton, args.fk_seconds)
    results["cmu_01_01"] = cmu_agreement(args.shared / "cmu")
    if args.prepare:
        results["prepare_bandai"] = prepare(bandai, args.workers)
    subset = {
        "quick": args.quick,
        "bvh_reading": f"{'the first ' + str(args.takes) + ' takes' if args.takes else 'every take'} (sorted member order) of {', '.join(args.zips)}, unit cm",
        "forward_kinematics": f"the CMU 01_01 BVH skeleton, {FK_BATCH} random rotations per joint (QR of N(0, 1), seed {SEED}), float32; mean over calls for {args.fk_seconds:g} s after 3 warm-up calls",
        "cmu_01_01": "shared/data/cmu: 01.asf + 01_01.amc against 01_01.bvh read with unit='asf' (25.4 / 0.45 mm), BVH frames 1..end against AMC frames 0..end-1",
        "prepare_bandai": f"both zips and splits.json of shared/data/bandai-namco into a temporary folder, {args.workers} workers" if args.prepare else "not run",
    }  # fmt: skip
    save("foundation", results, subset=subset, quick=args.quick, out=None if args.out is None else Path(args.out))
    for name, text in render(lambda setting="": {"subset": subset, "results": results}).items():
        print(f"\n<!-- {name} -->\n{text}")
    return {"subset": subset, "results": results}


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' blocks (``benchmarks/report.py``): ``table`` (reading, FK, the CMU agreement, the preparation)
    and ``notes`` (the CMU conversion's collapsed bones and rotations)."""
    res = results()["results"]
    rows = ["| what | measured | rate / second figure |", "|---|---|---|"]
    for name, r in res["bvh_reading"].items():
        takes = f"{r['takes']} takes" if r["all_takes"] else f"the first {r['takes']} takes"
        rows.append(
            f"| BVH reading, {name} | {takes}, {r['frames']:,} frames in {r['wall_s']:.1f} s | {r['frames_per_s']:,.0f} frames/s |"
        )
    fk = res["forward_kinematics"]
    rows.append(
        f"| forward kinematics, {fk['joints']} joints, batch {fk['batch']}, {fk['dtype']} | {fk['batch_ms']:.2f} ms per batch | {fk['poses_per_s']:,.0f} poses/s |"
    )
    c = res["cmu_01_01"]
    for what, r in (("CMU 01_01 BVH vs ASF/AMC FK, {j} joints not below a collapsed bone", c["kept_joints"]),
                    ("CMU 01_01 BVH rotations on ASF offsets vs ASF/AMC FK, {j} joints", c["asf_offsets"])):  # fmt: skip
        rows.append(
            f"| {what.format(j=r['joints'])}, {c['frames']} frames | max {r['max_mm']:.4f} mm | mean {r['mean_mm']:.4f} mm |"
        )
    if "prepare_bandai" in res:
        p = res["prepare_bandai"]
        rows.append(
            f"| `prepare_bandai` on both zips ({p['workers']} workers) | {p['wall_s']:.1f} s | {p['poses']:,} poses |"
        )
        for split, s in p["splits"].items():
            rows.append(
                f"| bandai-v1 {split} | {s['takes']:,} takes, {s['frames']:,} frames at {p['source_fps']:g} fps | {s['poses']:,} poses |"
            )
    below = c["below_collapsed_bone"]
    trunk = below.get("thorax")
    wrists = [v for k, v in below.items() if k != "thorax"]
    notes = [
        f"- CMU's BVH conversion of 01_01 collapsed {len(below)} bones ({', '.join(f'`{k}`' for k in below)}) to zero length, so joints below them sit "
        + (f"{trunk['mean_mm']:.2f} mm (the {trunk['joints']} joints below `thorax`: neck, arms; mean over frames)" if trunk else "")
        + (f" to {max(w['max_mm'] for w in wrists):.1f} mm (hands, at most)" if wrists else "")
        + f" away from the ASF/AMC positions: that is the file, not the readers. The local rotations of the two files agree to "
        f"{c['local_rotations_max_deg']:.1e} degrees at most (the BVH keeps four decimals); both are read with the ASF's unit ({c['unit_mm']:.2f} mm).",
    ]  # fmt: skip
    return {"table": "\n".join(rows), "notes": "\n".join(notes)}


if __name__ == "__main__":
    main()
