"""Why the rotation lifter is a temporal convolution (docs/benchmarks.md, "Lifting"): frames/s of the shipped
``RotationLifter`` against transformer encoders of similar size over the same 9-frame windows.

On a sequence the convolution computes each frame's features once for every window that holds it; a
transformer over windows recomputes every window. Timed on ``--frames`` frames of random 2D input (pixels
``500 + 60 N(0, 1)``, seed 0; the transformers' windows ``N(0, 1)``), best of ``--repeats`` runs after one
warm-up: the lifter's whole forward (normalisation, network, Gram-Schmidt, forward kinematics), the
transformers' network alone (embedding, encoder, a 6D head on the centre token; untrained, seed 0), so the
comparison favours the transformers. It compares speed, not accuracy.

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/lifter_architecture.py [--frames 1000] [--repeats 5] [--threads 1]
    .venv/bin/python benchmarks/lifter_architecture.py --quick   # 100 frames, 2 runs: a smoke run, not published
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

import poseprior.zoo as zoo
from record import save, settle_arguments

LIFTER = "lifter-rot-bandai"
TRANSFORMERS = ((128, 2), (256, 4))  # (width, layers); 8 heads, feed-forward 2 x width, no dropout
HEADS = 8
SEED = 0

#: Option defaults of a full run and of ``--quick`` (an explicit option wins over both).
FULL = dict(frames=1000, repeats=5)
QUICK = dict(frames=100, repeats=2)


def best_rate(fn, frames: int, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return frames / min(times)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, help=f"frames of the timed sequence (default {FULL['frames']})")
    parser.add_argument(
        "--repeats", type=int, help=f"timed runs after a warm-up, the best kept (default {FULL['repeats']})"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short sequence (a smoke run; written under record.quick_dir(), not published)",
    )
    parser.add_argument("--out", help="another folder for the results file")
    return settle_arguments(parser, parser.parse_args(argv), FULL, QUICK)


def main(argv: list[str] | None = None) -> dict:
    """Time the models, print the table, write the results file; returns its subset and results."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    torch.set_num_threads(args.threads)
    lifter = zoo.load(LIFTER).eval()
    P, W, T = lifter.num_keypoints, lifter.config.window, args.frames
    g = torch.Generator().manual_seed(SEED)
    pixels = 500 + 60 * torch.randn(T, P, 2, generator=g)
    camera = torch.tensor([[1000.0, 0, 500], [0, 1000.0, 500], [0, 0, 1]])
    results: dict = {}
    with torch.no_grad():
        rate = best_rate(lambda: lifter(pixels, camera), T, args.repeats)
        results["lifter"] = {"name": LIFTER, "architecture": "temporal convolution", "timed": "whole forward incl. normalisation and forward kinematics",
                             "parameters": sum(p.numel() for p in lifter.parameters()), "frames_per_s": rate}  # fmt: skip
        windows = torch.randn(T, W, 3 * P, generator=g)  # the per-window input a transformer would see
        results["transformers"] = {}
        for width, layers in TRANSFORMERS:
            torch.manual_seed(SEED)
            encoder = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(width, HEADS, 2 * width, dropout=0.0, batch_first=True), layers
            ).eval()
            embed, head = nn.Linear(3 * P, width), nn.Linear(width, 6 * P)
            rate = best_rate(lambda: head(encoder(embed(windows))[:, W // 2]), T, args.repeats)  # noqa: B023 (called here)
            params = sum(p.numel() for m in (encoder, embed, head) for p in m.parameters())
            results["transformers"][f"width{width}-layers{layers}"] = {"width": width, "layers": layers, "heads": HEADS, "feedforward": 2 * width,
                                                                       "timed": "network only", "parameters": params, "frames_per_s": rate}  # fmt: skip
            print(f"transformer width {width}, {layers} layers: done", file=sys.stderr, flush=True)
    # The transformer closest in size to the lifter, and how much slower it is.
    lifter_params = results["lifter"]["parameters"]
    closest = min(results["transformers"], key=lambda k: abs(results["transformers"][k]["parameters"] - lifter_params))
    results["similar_size"] = {
        "transformer": closest,
        "lifter_speedup": results["lifter"]["frames_per_s"] / results["transformers"][closest]["frames_per_s"],
    }
    subset = {
        "quick": args.quick,
        "frames": T,
        "window": W,
        "keypoints": P,
        "input": f"random: pixels 500 + 60 N(0, 1) of {P} keypoints per frame, camera focal 1000 px, centre (500, 500); the transformers' windows N(0, 1) of shape ({W}, {3 * P}); seed {SEED}",
        "models": f"{LIFTER} as shipped (eval mode); transformers untrained (seed {SEED}), eval mode, no dropout",
        "timing": f"best of {args.repeats} runs after one warm-up, torch.no_grad(), batch = the whole sequence",
    }  # fmt: skip
    save(
        "lifter_architecture",
        results,
        subset=subset,
        quick=args.quick,
        out=None if args.out is None else Path(args.out),
    )
    print(render(lambda setting="": {"subset": subset, "results": results})["table"])
    return {"subset": subset, "results": results}


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' block ``table`` (``benchmarks/report.py``): frames/s of the lifter and the transformers, the
    conditions under it, and how much faster the lifter is than the transformer of similar size."""
    r = results()
    s, res = r["subset"], r["results"]
    lifter = res["lifter"]
    lines = [
        "| model | parameters | frames/s |",
        "|---|---|---|",
        f"| {lifter['name']} ({lifter['architecture']}, {lifter['timed']}) | {lifter['parameters'] / 1e6:.1f} M | {lifter['frames_per_s']:,.0f} |",
    ]
    for t in res["transformers"].values():
        lines.append(
            f"| transformer over the {s['window']}-frame windows, width {t['width']}, {t['layers']} layers ({t['timed']}) | {t['parameters'] / 1e6:.1f} M | {t['frames_per_s']:,.0f} |"
        )
    similar = res["transformers"][res["similar_size"]["transformer"]]
    lines += [
        "",
        f"{s['frames']:,} frames of random 2D input ({s['keypoints']} keypoints), {s['timing']}; the transformers untrained (this compares speed, not accuracy). "
        f"At a similar size (width {similar['width']}, {similar['layers']} layers, {similar['parameters'] / 1e6:.1f} M parameters) the transformer is "
        f"{res['similar_size']['lifter_speedup']:.0f}x slower than the lifter, though its time counts the network alone.",
    ]  # fmt: skip
    return {"table": "\n".join(lines)}


if __name__ == "__main__":
    main()
