"""Motion denoising on bandai-v1 takes (docs/benchmarks.md, "Motion denoising"): no prior, flow, VAE and
distance field through :func:`~poseprior.tasks.denoise.denoise_motion`.

Takes: the first ``--takes`` (default 10) names of a split in ``splits.json`` (``--split test``; the defaults of
:class:`~poseprior.tasks.denoise.DenoiseConfig` were chosen with ``--split val``), read from the zips at 30 fps
as captured, whole. Noise: each of the 20 bandai-v1 pose joints' local rotation, in every frame, is multiplied by
``exp(omega)`` with ``omega ~ N(0, s^2 I_3)``, ``s = 20 / sqrt(3)`` degrees per axis, i.e. 20 degrees RMS angle
per joint (``--noise-deg`` sets the RMS angle); the root trajectory and the ``Hips`` rotation stay clean. Seeds
are fixed per take.

Metrics, frame-weighted over the takes, on the 20 pose joints' global positions (forward kinematics of each
take's own skeleton, mm) and local rotations:

- **MPJPE** (mm) and **geodesic error** (degrees per joint) to the clean take, of the noisy input and of the
  denoised motion; "removed" is the share of the noisy MPJPE that denoising took away (and its smallest value
  over the takes);
- **jitter** (mm/s^2, :func:`poseprior.metrics.jitter`) of the clean, noisy and denoised motions, and how many
  takes end within 1.5 times their clean jitter (and the largest ratio);
- **ms/frame**: wall time of ``denoise_motion`` per frame (``--threads`` CPU threads).

``--sweep KEY=V1,V2`` (repeatable; a grid over the product) varies :class:`DenoiseConfig` fields, as done on
the val split to choose the defaults:

    .venv/bin/python benchmarks/denoise.py --threads 1
    .venv/bin/python benchmarks/denoise.py --split val --takes 12 --prior ndf-bandai --sweep prior_weight=20,50,100
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path, PurePosixPath

import torch

from poseprior.data.protocol import BANDAI_JOINTS
from poseprior.io import Archive, Motion, list_members, parse_bvh
from poseprior.metrics import geodesic_error, jitter, mpjpe
from poseprior.models.baseline import UniformPrior
from poseprior.models.prior import PoseJoints, PosePrior
from poseprior.tasks.denoise import DenoiseConfig, add_rotation_noise, denoise_motion
from poseprior.zoo import info, load

PRIORS = ("none", "flow-bandai", "vae-bandai", "ndf-bandai")


def read_takes(source: Path, split: str, count: int) -> list[tuple[str, Motion]]:
    """The first ``count`` takes of ``split`` (splits.json order), read from the zips in ``source``."""
    names = json.loads((source / "splits.json").read_text())[split][:count]
    where = {}
    for z in sorted(source.glob("*.zip")):
        for member in list_members(z, ".bvh"):
            where[PurePosixPath(member).name] = (z, member)
    takes = []
    for name in names:
        z, member = where[name]
        with Archive(z) as archive:
            takes.append((name, parse_bvh(archive.read_text(member), source=f"{z}:{member}", unit="cm")))
    return takes


def load_prior(name: str) -> PosePrior:
    if name == "none":
        return UniformPrior(len(BANDAI_JOINTS), PoseJoints.from_dict(info("flow-bandai").config["joints"]))
    return load(name).eval()


def evaluate(prior: PosePrior, config: DenoiseConfig, takes: list[tuple[str, Motion]], noise_deg: float) -> dict[str, float]:
    """Frame-weighted metrics (module docstring) of denoising ``takes`` with ``prior``."""
    sums: dict[str, float] = {}
    frames = seconds = 0.0
    ratios, removed = [], []  # per take: jitter denoised / clean, share of the noisy MPJPE removed
    for i, (_, clean) in enumerate(takes):
        joints = clean.skeleton.indices(BANDAI_JOINTS)
        noisy = add_rotation_noise(clean, joints, noise_deg, torch.Generator().manual_seed(1000 + i))
        start = time.perf_counter()
        denoised = denoise_motion(noisy, prior, config=config)
        seconds += time.perf_counter() - start
        T = clean.num_frames
        frames += T
        truth = clean.positions(millimetres=True)[:, joints]
        for tag, m in (("noisy", noisy), ("denoised", denoised)):
            p = m.positions(millimetres=True)[:, joints]
            sums[f"mpjpe_{tag}"] = sums.get(f"mpjpe_{tag}", 0.0) + T * float(mpjpe(p, truth))
            geo = geodesic_error(m.rotations[:, joints], clean.rotations[:, joints]).mean()
            sums[f"geo_{tag}"] = sums.get(f"geo_{tag}", 0.0) + T * float(geo)
            sums[f"jitter_{tag}"] = sums.get(f"jitter_{tag}", 0.0) + T * float(jitter(p, clean.fps))
        sums["jitter_clean"] = sums.get("jitter_clean", 0.0) + T * float(jitter(truth, clean.fps))
        p_noisy, p_denoised = noisy.positions(millimetres=True)[:, joints], denoised.positions(millimetres=True)[:, joints]
        ratios.append(float(jitter(p_denoised, clean.fps) / jitter(truth, clean.fps)))
        removed.append(1 - float(mpjpe(p_denoised, truth) / mpjpe(p_noisy, truth)))
    out = {k: v / frames for k, v in sums.items()}
    out["ms_per_frame"] = 1000.0 * seconds / frames
    out["frames"] = frames
    out["jitter_ok"] = sum(r <= 1.5 for r in ratios)
    out["jitter_ratio_max"] = max(ratios)
    out["removed_min"] = min(removed)
    out["takes"] = len(takes)
    return out


def parse_value(key: str, text: str) -> object:
    """A ``--sweep`` value: ``none`` -> None, an integer for ``steps``, a number, or a word (``optimizer=adam``)."""
    if text.lower() == "none":
        return None
    if key == "steps":
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def parse_sweep(items: list[str]) -> list[dict[str, object]]:
    """``["a=1,2", "b=3"]`` -> the grid ``[{a: 1, b: 3}, {a: 2, b: 3}]``."""
    keys, values = [], []
    for item in items:
        key, _, vals = item.partition("=")
        keys.append(key)
        values.append([parse_value(key, v) for v in vals.split(",")])
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)] or [{}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="../shared/data/bandai-namco", help="folder of the Bandai zips + splits.json")
    parser.add_argument("--split", default="test")
    parser.add_argument("--takes", type=int, default=10, help="the first N takes of the split")
    parser.add_argument("--prior", action="append", default=[], help=f"zoo name or none (repeatable; default {', '.join(PRIORS)})")
    parser.add_argument("--noise-deg", type=float, default=20.0, help="RMS rotation angle of the noise per joint, degrees")
    parser.add_argument("--sweep", action="append", default=[], help="KEY=V1,V2,... DenoiseConfig fields to vary (repeatable)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    takes = read_takes(Path(args.source), args.split, args.takes)
    total = sum(m.num_frames for _, m in takes)
    print(
        f"bandai {args.split}: first {len(takes)} takes, {total} frames at {takes[0][1].fps:g} fps; noise "
        f"{args.noise_deg:g} deg RMS per joint ({args.noise_deg / math.sqrt(3):.2f} deg per axis); {args.threads} thread(s)\n"
    )
    print(
        "| prior | config | MPJPE noisy -> denoised (mm) | removed (worst take) | geodesic noisy -> denoised (deg) | "
        "jitter clean / noisy / denoised (mm/s^2) | takes with jitter <= 1.5x clean (worst ratio) | ms/frame |"
    )
    print("|---|---|---|---|---|---|---|---|", flush=True)
    for name in args.prior or PRIORS:
        prior = load_prior(name)
        for overrides in parse_sweep(args.sweep):
            config = DenoiseConfig(**overrides)
            r = evaluate(prior, config, takes, args.noise_deg)
            removed = 1 - r["mpjpe_denoised"] / r["mpjpe_noisy"]
            label = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "default"
            print(
                f"| {name} | {label} | {r['mpjpe_noisy']:.1f} -> {r['mpjpe_denoised']:.1f} | {removed:.0%} ({r['removed_min']:.0%}) | "
                f"{r['geo_noisy']:.2f} -> {r['geo_denoised']:.2f} | {r['jitter_clean']:,.0f} / {r['jitter_noisy']:,.0f} / "
                f"{r['jitter_denoised']:,.0f} | {r['jitter_ok']} of {r['takes']} ({r['jitter_ratio_max']:.1f}x) | {r['ms_per_frame']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
