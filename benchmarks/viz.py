"""Pictures, animations and the report (docs/benchmarks.md, "Pictures and the report"): wall time of each
figure type on the shipped Bandai clip, and of the whole ``poseprior demo`` (a fresh process, cold imports).

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/viz.py [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from poseprior.cli.demo import bandai_clip
from poseprior.viz import animate_motion, plot_hypotheses, plot_keypoints_2d, plot_poses, plot_sample_grid, save_figure
from poseprior.viz.report import ReportFigure, ReportSection, write_html_report


def best_time(fn, repeats: int) -> float:
    """Best of ``repeats`` wall times of ``fn()``, seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clip = bandai_clip()
    positions = clip.positions(millimetres=True)  # (65, 22, 3)
    parents = clip.skeleton.parents
    g = torch.Generator().manual_seed(0)
    hypotheses = positions[32] + 30 * torch.randn(200, *positions.shape[1:], generator=g)
    pixels = positions[32, :, :2] * torch.tensor([0.3, -0.3]) + torch.tensor([500.0, 700.0])
    out = Path(tempfile.mkdtemp(prefix="poseprior-viz-bench-"))
    cases = {
        "plot_poses, 4 panels, PNG": lambda: save_figure(plot_poses(positions[::16][:4], parents), out / "poses.png"),
        "plot_sample_grid, 8 poses, PNG": lambda: save_figure(plot_sample_grid(positions[::8][:8], parents), out / "grid.png"),
        "plot_hypotheses, 200 hypotheses, 2 views, PNG": lambda: save_figure(plot_hypotheses(hypotheses, parents, truth=positions[32]), out / "hyp.png"),
        "plot_keypoints_2d, 1000 x 1000 canvas, PNG": lambda: save_figure(plot_keypoints_2d(pixels, parents, image_size=(1000, 1000), scale=0.4), out / "kp.png"),
        f"animate_motion, {clip.num_frames} frames x 3 panels, GIF": lambda: animate_motion([positions] * 3, parents, out / "m.gif", fps=clip.fps, dpi=60),
        f"animate_motion, {clip.num_frames} frames x 3 panels, MP4": lambda: animate_motion([positions] * 3, parents, out / "m.mp4", fps=clip.fps, dpi=60),
    }
    print(f"{args.threads} thread(s), best of {args.repeats}\n")
    print("| what | seconds | output |")
    print("|---|---|---|")
    for name, fn in cases.items():
        seconds = best_time(fn, args.repeats)
        produced = max(out.iterdir(), key=lambda p: p.stat().st_mtime)
        print(f"| {name} | {seconds:.2f} | {produced.stat().st_size / 1e3:,.0f} kB |", flush=True)
    figures = [ReportFigure(p, p.name) for p in sorted(out.iterdir()) if p.suffix in (".png", ".gif")]
    seconds = best_time(lambda: write_html_report([ReportSection("all", figures=figures)], out / "report.html", title="bench"), args.repeats)
    print(f"| write_html_report, {len(figures)} figures embedded | {seconds:.2f} | {(out / 'report.html').stat().st_size / 1e3:,.0f} kB |", flush=True)
    script = Path(sys.executable).with_name("poseprior")
    start = time.perf_counter()
    subprocess.run([str(script), "demo", "--out", str(out / "demo")], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    print(f"| `poseprior demo` (fresh process, shipped defaults) | {seconds:.1f} | {(out / 'demo' / 'report.html').stat().st_size / 1e3:,.0f} kB report |")


if __name__ == "__main__":
    main()
