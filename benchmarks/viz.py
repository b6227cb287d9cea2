"""Pictures, animations and the report (docs/benchmarks.md, "Pictures and the report"): wall time of each
figure type on the shipped Bandai clip, and of the whole ``poseprior demo`` (a fresh process, cold imports).

Each figure is drawn and saved ``--repeats`` times, the best time kept; the demo runs once. The hypotheses are
the clip's frame 32 plus Gaussian noise of 30 mm per coordinate (seed 0); the 2D keypoints are that frame's
x, y scaled by 0.3 into a 1000 x 1000 canvas.

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/viz.py [--repeats 3] [--threads 1]
    .venv/bin/python benchmarks/viz.py --quick   # one run of each figure, no demo (--demo: `poseprior demo --quick`): a smoke run, not published
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from poseprior.data.clips import bandai_clip
from poseprior.viz import animate_motion, plot_hypotheses, plot_keypoints_2d, plot_poses, plot_sample_grid, save_figure
from poseprior.viz.report import ReportFigure, ReportSection, write_html_report
from record import save, settle_arguments

SEED = 0
HYPOTHESES = 200
NOISE_MM = 30.0
FRAME = 32
DEMO_TARGET_S = 120.0

#: Option defaults of a full run and of ``--quick`` (an explicit option wins over both).
FULL = dict(repeats=3, demo=True)
QUICK = dict(
    repeats=1, demo=False
)  # the demo alone takes 10-20 s (tests/cli/test_demo.py runs `poseprior demo --quick`)


def best_time(fn, repeats: int) -> float:
    """Best of ``repeats`` wall times of ``fn()``, seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, help=f"runs of each figure, the best kept (default {FULL['repeats']})")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--demo", action=argparse.BooleanOptionalAction, help="time `poseprior demo` (default: yes; with --quick no)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run of each figure, no demo (a smoke run; written under record.quick_dir(), not published)",
    )
    parser.add_argument("--out", help="another folder for the results file")
    return settle_arguments(parser, parser.parse_args(argv), FULL, QUICK)


def main(argv: list[str] | None = None) -> dict:
    """Time every figure and the demo, print the table, write the results file; returns its subset and results."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    torch.set_num_threads(args.threads)
    clip = bandai_clip()
    positions = clip.positions(millimetres=True)  # (65, 21, 3)
    parents = clip.skeleton.parents
    g = torch.Generator().manual_seed(SEED)
    hypotheses = positions[FRAME] + NOISE_MM * torch.randn(HYPOTHESES, *positions.shape[1:], generator=g)
    pixels = positions[FRAME, :, :2] * torch.tensor([0.3, -0.3]) + torch.tensor([500.0, 700.0])
    out = Path(tempfile.mkdtemp(prefix="poseprior-viz-bench-"))
    T = clip.num_frames
    # key: (what, output file, draw)
    cases: dict[str, tuple[str, str, Callable[[], object]]] = {
        "plot_poses": ("plot_poses, 4 panels, PNG", "poses.png", lambda: save_figure(plot_poses(positions[::16][:4], parents), out / "poses.png")),
        "plot_sample_grid": ("plot_sample_grid, 8 poses, PNG", "grid.png", lambda: save_figure(plot_sample_grid(positions[::8][:8], parents), out / "grid.png")),
        "plot_hypotheses": (f"plot_hypotheses, {HYPOTHESES} hypotheses, 2 views, PNG", "hyp.png",
                            lambda: save_figure(plot_hypotheses(hypotheses, parents, truth=positions[FRAME]), out / "hyp.png")),
        "plot_keypoints_2d": ("plot_keypoints_2d, 1000 x 1000 canvas, PNG", "kp.png",
                              lambda: save_figure(plot_keypoints_2d(pixels, parents, image_size=(1000, 1000), scale=0.4), out / "kp.png")),
        "animate_motion_gif": (f"animate_motion, {T} frames x 3 panels, GIF", "m.gif", lambda: animate_motion([positions] * 3, parents, out / "m.gif", fps=clip.fps, dpi=60)),
        "animate_motion_mp4": (f"animate_motion, {T} frames x 3 panels, MP4", "m.mp4", lambda: animate_motion([positions] * 3, parents, out / "m.mp4", fps=clip.fps, dpi=60)),
    }  # fmt: skip
    figures: dict[str, dict] = {}
    for key, (what, file, fn) in cases.items():
        seconds = best_time(fn, args.repeats)
        figures[key] = {"what": what, "best_s": seconds, "output_bytes": (out / file).stat().st_size, "output": "file"}
        print(f"{key}: done", file=sys.stderr, flush=True)
    embedded = [ReportFigure(p, p.name) for p in sorted(out.iterdir()) if p.suffix in (".png", ".gif")]
    seconds = best_time(
        lambda: write_html_report([ReportSection("all", figures=embedded)], out / "report.html", title="bench"),
        args.repeats,
    )
    figures["write_html_report"] = {
        "what": f"write_html_report, {len(embedded)} figures embedded",
        "best_s": seconds,
        "output_bytes": (out / "report.html").stat().st_size,
        "output": "file",
    }
    results: dict = {"figures": figures}
    if args.demo:
        script = Path(sys.executable).with_name("poseprior")
        command = [str(script), "demo", "--out", str(out / "demo"), *(["--quick"] if args.quick else [])]
        env = (
            dict(os.environ, OMP_NUM_THREADS=str(args.threads)) if args.quick else None
        )  # a full run: torch's default, as a user gets
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        seconds = time.perf_counter() - start
        results["demo"] = {"what": f"`poseprior demo{' --quick' if args.quick else ''}` (fresh process, {'quick' if args.quick else 'shipped'} defaults)", "wall_s": seconds,
                           "output_bytes": (out / "demo" / "report.html").stat().st_size, "output": "report", "target_s": DEMO_TARGET_S}  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    subset = {
        "quick": args.quick,
        "clip": f"the shipped Bandai Namco clip (bandai_clip(): {T} frames at {clip.fps:g} fps, canonical body, {positions.shape[1]} joints)",
        "hypotheses": f"frame {FRAME} plus N(0, {NOISE_MM:g} mm) per coordinate, {HYPOTHESES} of them, seed {SEED}",
        "keypoints_2d": f"frame {FRAME}'s x, y scaled by 0.3 (y flipped) plus (500, 700) px",
        "timing": f"best of {args.repeats} run(s) of each figure (drawn and saved)" + ("; the demo one run, a fresh process with cold imports" if args.demo else ""),
        "demo_threads": (args.threads if args.quick else "torch's default (the machine's cores)") if args.demo else None,
        "demo_options": ("--quick" if args.quick else "shipped defaults") if args.demo else "not run",
    }  # fmt: skip
    save("viz", results, subset=subset, quick=args.quick, out=None if args.out is None else Path(args.out))
    print(render(lambda setting="": {"subset": subset, "results": results})["table"])
    return {"subset": subset, "results": results}


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' block ``table`` (``benchmarks/report.py``): seconds and output size of each figure and of the
    demo, the conditions and the demo's target under it."""
    r = results()
    s, res = r["subset"], r["results"]
    lines = ["| what | seconds | output |", "|---|---|---|"]
    for f in res["figures"].values():
        lines.append(f"| {f['what']} | {f['best_s']:.2f} | {f['output_bytes'] / 1e3:,.0f} kB |")
    d = res.get("demo")
    if d:
        lines.append(f"| {d['what']} | {d['wall_s']:.1f} | {d['output_bytes'] / 1e3:,.0f} kB report |")
    under = f"{s['clip'][0].upper()}{s['clip'][1:]}; {s['timing']}"
    if d:
        met = "met" if d["wall_s"] < d["target_s"] else "not met"
        under += f" (demo threads: {s['demo_threads']}). The demo's target is under {d['target_s'] / 60:g} minutes on this CPU: {d['wall_s']:.1f} s, {met}."
    else:
        under += "; the demo not run."
    lines += ["", under]
    return {"table": "\n".join(lines)}


if __name__ == "__main__":
    main()
