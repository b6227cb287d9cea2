"""Foundation numbers (docs/benchmarks.md, "Foundation"): reading speed, FK speed, the CMU BVH vs ASF/AMC
agreement, and the full bandai-v1 preparation.

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/foundation.py [--shared ../shared/data] [--skip-prepare]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from poseprior.data.bandai import prepare_bandai
from poseprior.io import iter_bvh, read_asf_amc, read_bvh
from poseprior.skeleton import forward_kinematics


def bvh_reading(zip_path: Path) -> str:
    t = time.perf_counter()
    takes = frames = 0
    for _, motion in iter_bvh(zip_path):
        takes += 1
        frames += motion.num_frames
    dt = time.perf_counter() - t
    return f"| BVH reading, {zip_path.name} | {takes} takes, {frames:,} frames in {dt:.1f} s | {frames / dt:,.0f} frames/s |"


def fk_speed(skeleton) -> str:
    R, _ = torch.linalg.qr(torch.randn(1000, skeleton.num_joints, 3, 3))
    R = R * torch.linalg.det(R).sign()[..., None, None]
    t0 = torch.zeros(1000, 3)
    for _ in range(3):
        forward_kinematics(skeleton, R, t0)
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < 2.0:
        forward_kinematics(skeleton, R, t0)
        n += 1
    dt = (time.perf_counter() - t) / n
    return f"| forward kinematics, {skeleton.num_joints} joints, batch 1000, float32 | {dt * 1e3:.2f} ms per batch | {1000 / dt:,.0f} poses/s |"


def cmu_agreement(cmu: Path) -> list[str]:
    """FK of CMU 01_01 from its BVH conversion and from the ASF/AMC: BVH frame i + 1 is AMC frame i.

    The converter collapsed the ``thorax``, ``lwrist`` and ``rwrist`` bones to zero length, so the rows
    are: the joints not below those bones, and all joints with the BVH's rotations on the ASF's offsets.
    """
    asf = read_asf_amc(cmu / "01.asf", cmu / "01_01.amc")
    bvh = read_bvh(cmu / "01_01.bvh", unit="asf")
    R, root = bvh.rotations[1:], bvh.root_translation[1:]
    p_asf = asf.positions()
    sk = bvh.skeleton
    collapsed = {asf.joint_names.index(n) for n in ("thorax", "lwrist", "rwrist")}

    def below(j: int) -> bool:
        while j >= 0:
            if sk.parents[j] in collapsed:
                return True
            j = sk.parents[j]
        return False

    kept = [j for j in range(sk.num_joints) if not below(j)]
    e1 = (forward_kinematics(sk, R, root)[0] - p_asf)[:, kept].norm(dim=-1) * asf.unit
    e2 = (forward_kinematics(sk.with_offsets(asf.skeleton.offsets), R, root)[0] - p_asf).norm(dim=-1) * asf.unit
    n = asf.num_frames
    return [
        f"| CMU 01_01 BVH vs ASF/AMC FK, {len(kept)} joints not below a collapsed bone, {n} frames | max {e1.max():.4f} mm | mean {e1.mean():.4f} mm |",
        f"| CMU 01_01 BVH rotations on ASF offsets vs ASF/AMC FK, 31 joints, {n} frames | max {e2.max():.4f} mm | mean {e2.mean():.4f} mm |",
    ]


def prepare(source: Path) -> list[str]:
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        summary = prepare_bandai(source, Path(out) / "bandai-v1", progress=False)
        dt = time.perf_counter() - t
    total = sum(c.poses for c in summary.splits.values())
    rows = [f"| `prepare_bandai` on both zips (2 workers) | {dt:.1f} s | {total:,} poses |"]
    rows += [
        f"| bandai-v1 {split} | {c.takes:,} takes, {c.frames:,} frames at 30 fps | {c.poses:,} poses |"
        for split, c in summary.splits.items()
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--skip-prepare", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    bandai = args.shared / "bandai-namco"
    rows = ["| what | measured | rate / second figure |", "|---|---|---|"]
    rows.append(bvh_reading(bandai / "bandai-namco-motion-1.zip"))
    rows.append(fk_speed(read_bvh(args.shared / "cmu" / "01_01.bvh").skeleton))
    rows += cmu_agreement(args.shared / "cmu")
    if not args.skip_prepare:
        rows += prepare(bandai)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
