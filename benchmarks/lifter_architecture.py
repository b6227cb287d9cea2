"""Why the rotation lifter is a temporal convolution (docs/benchmarks.md, "Lifting"): frames/s of the shipped
``RotationLifter`` against transformer encoders of similar size over the same 9-frame windows.

On a sequence the convolution computes each frame's features once for every window that holds it; a
transformer over windows recomputes every window. Timed on ``--frames`` frames of random 2D input, best of 5
runs, after one warm-up: the lifter's whole forward (normalisation, network, Gram-Schmidt, forward kinematics),
the transformers' network alone (embedding, encoder, a 6D head on the centre token), so the comparison favours
the transformers.

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/lifter_architecture.py [--frames 1000] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

import poseprior.zoo as zoo


def best_rate(fn, frames: int, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return frames / min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    lifter = zoo.load("lifter-rot-bandai").eval()
    P, W, T = lifter.num_keypoints, lifter.config.window, args.frames
    g = torch.Generator().manual_seed(0)
    pixels = 500 + 60 * torch.randn(T, P, 2, generator=g)
    camera = torch.tensor([[1000.0, 0, 500], [0, 1000.0, 500], [0, 0, 1]])
    print(f"{T} frames, window {W}, {args.threads} thread(s)\n")
    print("| model | parameters | frames/s |")
    print("|---|---|---|")
    with torch.no_grad():
        rate = best_rate(lambda: lifter(pixels, camera), T)
        print(f"| lifter-rot-bandai (temporal convolution, whole forward) | {sum(p.numel() for p in lifter.parameters()) / 1e6:.1f} M | {rate:,.0f} |")
        windows = torch.randn(T, W, 3 * P, generator=g)  # the per-window input a transformer would see
        for width, layers in ((128, 2), (256, 4)):
            torch.manual_seed(0)
            encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(width, 8, 2 * width, dropout=0.0, batch_first=True), layers).eval()
            embed, head = nn.Linear(3 * P, width), nn.Linear(width, 6 * P)
            rate = best_rate(lambda: head(encoder(embed(windows))[:, W // 2]), T)
            params = sum(p.numel() for m in (encoder, embed, head) for p in m.parameters())
            print(f"| transformer, width {width}, {layers} layers (network only) | {params / 1e6:.1f} M | {rate:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
