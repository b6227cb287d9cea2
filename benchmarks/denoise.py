"""Motion denoising on bandai-v1 takes (docs/benchmarks.md, "Motion denoising"): no prior, flow, VAE and
distance field through :func:`~poseprior.tasks.denoise.denoise_motion`.

Takes: ``--takes`` (default 10) takes of a split (``--split test``; the defaults of
:class:`~poseprior.tasks.denoise.DenoiseConfig` were chosen with ``--split val``), spread over the split so that
both datasets are represented: half of them (the odd one to dataset 1) from dataset 1 (``dataset-1_*``: held-out
styles) and half from dataset 2 (``dataset-2_*``: repeated contents); of a dataset's ``m`` takes of the split, in
``splits.json`` order, ``k`` are taken: take ``floor(i m / k)``, ``i = 0 .. k-1`` (every ``m/k``-th, from the
first). ``--select first`` takes the first ``--takes`` of the split instead (the choice before; all from dataset 1
on test and val). Each is read from the zips at 30 fps as captured, whole (``--max-frames`` cuts them), and
retargeted onto the canonical pose joints (with Bandai's shipped twist profile, as bandai-v1 is).

Noise: each of the 20 bandai-v1 pose joints' local rotation, in every frame, is multiplied by ``exp(omega)``
with ``omega ~ N(0, s^2 I_3)``: ``s = 20 / sqrt(3) = 11.55`` degrees **per axis** of the rotation vector, i.e.
an RMS rotation angle of 20 degrees **per joint** (``--noise-deg`` sets that RMS angle); the root trajectory and
the pelvis rotation stay clean. Seeds are fixed per take: ``1000 +`` the take's index in the split's list of
``splits.json``, whichever takes are chosen.

Metrics, frame-weighted over the takes, on the 20 pose joints' global positions (forward kinematics of each
take's own skeleton, mm) and local rotations, over all takes and over each dataset's:

- **MPJPE** (mm) and **geodesic error** (degrees per joint) to the clean take, of the noisy input and of the
  denoised motion; "removed" is the share of the noisy MPJPE that denoising took away (and its smallest value
  over the takes);
- **jitter** (mm/s^2, :func:`poseprior.metrics.jitter`) of the clean, noisy and denoised motions, and how many
  takes end within 1.5 times their clean jitter (and the largest ratio);
- **ms/frame**: wall time of ``denoise_motion`` per frame (``--threads`` CPU threads).

``--sweep`` (validation split only) varies :class:`DenoiseConfig` fields, as done to choose the defaults. Bare,
it tries each prior's weight at :data:`SWEEP`'s values; ``--sweep KEY=V1,V2`` (repeatable; a grid over the
product) varies a field for every prior, ``--sweep PRIOR:KEY=V1,V2`` for one. Each prior also runs at its
defaults, and no prior always runs: the best setting per prior is the one with the lowest
``MPJPE / MPJPE(no prior) + geodesic / geodesic(no prior)`` over all takes (the rule of
:data:`~poseprior.tasks.denoise.MEASURED_ON`).

Results go to ``benchmarks/results/denoise-<split>.json`` (``denoise-val-sweep.json`` with ``--sweep``;
``record.save``); ``render(results)`` builds the docs' tables from them; a run prints its own. ``--quick``
denoises the first 30 frames of 2 takes (one per dataset) with 30 evaluations (a bare ``--sweep`` tries the first
and last weights of :data:`SWEEP`), written under ``record.quick_dir()``.

    .venv/bin/python benchmarks/denoise.py --threads 1                          # denoise-test
    .venv/bin/python benchmarks/denoise.py --split val --takes 12 --sweep       # denoise-val-sweep
    .venv/bin/python benchmarks/denoise.py --split val --takes 12 --prior none --prior ndf-bandai --sweep ndf-bandai:prior_weight=20,50,100
    .venv/bin/python benchmarks/denoise.py --quick
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any

import torch

from poseprior.io import Archive, Motion, list_members, parse_bvh
from poseprior.metrics import geodesic_error, jitter, mpjpe
from poseprior.models.baseline import UniformPrior
from poseprior.models.prior import PoseJoints, PosePrior
from poseprior.retarget import to_pose
from poseprior.skeleton.smpl import POSE_JOINTS
from poseprior.tasks.denoise import DenoiseConfig, add_rotation_noise, denoise_motion
from poseprior.zoo import info, load
from record import load_optional, save

PRIORS = ("none", "flow-bandai", "vae-bandai", "ndf-bandai")
#: Prior weights a bare ``--sweep`` tries (each prior's default is added).
SWEEP = {"flow-bandai": (0.01, 0.03, 0.1, 0.3), "vae-bandai": (0.003, 0.01, 0.03), "ndf-bandai": (20.0, 50.0, 100.0)}
JITTER_OK = 1.5
#: ``--quick``: this many takes (one per dataset), cut to this many frames, this many optimiser evaluations (and a
#: sweep of the first and last weights of :data:`SWEEP`), written under record.quick_dir().
QUICK_TAKES, QUICK_FRAMES, QUICK_STEPS = 2, 30, 30
GROUPS = ("pooled", "dataset1", "dataset2")
CRITERION = "lowest MPJPE / MPJPE(no prior) + geodesic / geodesic(no prior), over all takes"


def dataset_of(name: str) -> int:
    return 1 if name.startswith("dataset-1") else 2


def choose_takes(names: list[str], count: int, select: str = "spread") -> list[str]:
    """``count`` of the split's take ``names`` (splits.json order), kept in that order: spread (module docstring),
    or the first ``count``."""
    if select == "first":
        return names[:count]
    groups = {d: [n for n in names if dataset_of(n) == d] for d in (1, 2)}
    k1 = min(len(groups[1]), (count + 1) // 2)
    k2 = min(len(groups[2]), count - k1)
    k1 = min(len(groups[1]), count - k2)  # dataset 2 short: dataset 1 makes up the count
    chosen = {g[(i * len(g)) // k] for g, k in ((groups[1], k1), (groups[2], k2)) for i in range(k)}
    return [n for n in names if n in chosen]


def read_takes(source: Path, names: list[str], max_frames: int | None = None) -> list[tuple[str, Motion]]:
    """The takes ``names``, read from the zips in ``source`` and retargeted onto the canonical pose joints
    (with Bandai's shipped twist profile, as bandai-v1 is); the first ``max_frames`` frames of each if given."""
    where = {}
    for z in sorted(source.glob("*.zip")):
        for member in list_members(z, ".bvh"):
            where[PurePosixPath(member).name] = (z, member)
    takes = []
    for name in names:
        z, member = where[name]
        with Archive(z) as archive:
            motion = parse_bvh(archive.read_text(member), source=f"{z}:{member}", unit="cm")
        motion = to_pose(motion)[0]  # on the canonical pose joints, as bandai-v1 is
        takes.append((name, motion.frames(slice(0, max_frames)) if max_frames else motion))
    return takes


def load_prior(name: str) -> PosePrior:
    if name == "none":
        return UniformPrior(len(POSE_JOINTS), PoseJoints.from_dict(info("flow-bandai").config["joints"]))
    return load(name).eval()


def take_key(name: str) -> str:
    """A take's name without ``.bvh`` (results keys hold no dots: ``report.py`` paths are dotted)."""
    return name.removesuffix(".bvh")


def denoise_takes(
    prior: PosePrior, config: DenoiseConfig, takes: list[tuple[str, Motion]], seeds: dict[str, int], noise_deg: float
) -> dict[str, dict]:
    """Per take (keyed by :func:`take_key`): its metrics (module docstring) with ``prior``."""
    out = {}
    for name, clean in takes:
        joints = clean.skeleton.indices(POSE_JOINTS)
        noisy = add_rotation_noise(clean, joints, noise_deg, torch.Generator().manual_seed(seeds[name]))
        start = time.perf_counter()
        denoised = denoise_motion(noisy, prior, config=config)
        seconds = time.perf_counter() - start
        truth = clean.positions(millimetres=True)[:, joints]
        r: dict[str, Any] = {"dataset": dataset_of(name), "frames": clean.num_frames}
        for tag, m in (("noisy", noisy), ("denoised", denoised)):
            p = m.positions(millimetres=True)[:, joints]
            r[f"mpjpe_{tag}_mm"] = float(mpjpe(p, truth))
            r[f"geodesic_{tag}_deg"] = float(geodesic_error(m.rotations[:, joints], clean.rotations[:, joints]).mean())
            r[f"jitter_{tag}_mm_per_s2"] = float(jitter(p, clean.fps))
        r["jitter_clean_mm_per_s2"] = float(jitter(truth, clean.fps))
        r["removed"] = 1 - r["mpjpe_denoised_mm"] / r["mpjpe_noisy_mm"]
        r["jitter_ratio"] = r["jitter_denoised_mm_per_s2"] / r["jitter_clean_mm_per_s2"]
        r["seconds_s"] = seconds
        out[take_key(name)] = r
    return out


def aggregate(per_take: dict[str, dict], dataset: int | None = None) -> dict[str, Any] | None:
    """Frame-weighted metrics over the takes (of ``dataset``, or all); None when there are none."""
    rows = [r for r in per_take.values() if dataset is None or r["dataset"] == dataset]
    if not rows:
        return None
    frames = sum(r["frames"] for r in rows)
    out: dict[str, Any] = {"takes": len(rows), "frames": frames}
    for key in (
        "mpjpe_noisy_mm",
        "mpjpe_denoised_mm",
        "geodesic_noisy_deg",
        "geodesic_denoised_deg",
        "jitter_clean_mm_per_s2",
        "jitter_noisy_mm_per_s2",
        "jitter_denoised_mm_per_s2",
    ):
        out[key] = sum(r["frames"] * r[key] for r in rows) / frames
    out["removed"] = 1 - out["mpjpe_denoised_mm"] / out["mpjpe_noisy_mm"]
    out["removed_min"] = min(r["removed"] for r in rows)
    out["jitter_within_1_5x"] = sum(r["jitter_ratio"] <= JITTER_OK for r in rows)
    out["jitter_ratio_max"] = max(r["jitter_ratio"] for r in rows)
    out["ms_per_frame"] = 1000.0 * sum(r["seconds_s"] for r in rows) / frames
    return out


def evaluate(
    prior: PosePrior, config: DenoiseConfig, takes: list[tuple[str, Motion]], seeds: dict[str, int], noise_deg: float
) -> dict[str, Any]:
    """``pooled``, ``dataset1``, ``dataset2`` (:func:`aggregate`) and ``takes`` (per take) of one setting."""
    per_take = denoise_takes(prior, config, takes, seeds, noise_deg)
    return {
        "pooled": aggregate(per_take),
        "dataset1": aggregate(per_take, 1),
        "dataset2": aggregate(per_take, 2),
        "takes": per_take,
    }


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


def parse_sweep(items: list[str], prior: str, quick: bool = False) -> list[dict[str, object]]:
    """The grid of :class:`DenoiseConfig` overrides for ``prior`` from ``--sweep`` items (``KEY=V1,V2`` for every
    prior, ``PRIOR:KEY=V1,V2`` for one); no items: its weights of :data:`SWEEP`. No prior has no weight to vary."""
    keys, values = [], []
    for item in items:
        head, _, vals = item.partition("=")
        only, _, key = head.rpartition(":")
        if (only and only != prior) or (prior == "none" and key == "prior_weight"):
            continue
        keys.append(key)
        values.append([parse_value(key, v) for v in vals.split(",")])
    if not items and prior in SWEEP:
        keys, values = ["prior_weight"], [[SWEEP[prior][0], SWEEP[prior][-1]] if quick else list(SWEEP[prior])]
    return [dict(zip(keys, combo, strict=False)) for combo in itertools.product(*values)] or [{}]


def _fmt(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def effective(config: DenoiseConfig, prior: PosePrior) -> dict[str, Any]:
    """``config`` as it acts on ``prior`` (the weight resolved from the table)."""
    d = asdict(config)
    d.pop("prior_weights")
    d["prior_weight"] = config.weight_for(prior)
    return d


def sweep_prior(
    name: str,
    prior: PosePrior,
    grid: list[dict],
    run: Callable[[DenoiseConfig], dict],
    reference: dict | None,
    base: dict,
) -> dict[str, Any]:
    """Every setting of ``grid`` (and the defaults), scored against ``reference`` (no prior's pooled metrics);
    ``base``: overrides under every setting (``--quick``'s steps)."""
    default = effective(DenoiseConfig(**base), prior)
    if not any(effective(DenoiseConfig(**base, **o), prior) == default for o in grid):
        grid = [{}, *grid]
    runs = []
    for overrides in grid:
        config = DenoiseConfig(**{**base, **overrides})
        r = run(config)
        r.pop("takes")
        entry = {
            "config": overrides,
            "prior_weight": config.weight_for(prior),
            "default": effective(config, prior) == default,
            **r,
        }
        if reference is None:  # no prior itself: the reference is its own default run
            reference = r["pooled"] if entry["default"] else reference
        runs.append(entry)
        label = ", ".join(f"{k}={_fmt(v)}" for k, v in overrides.items()) or "default"
        print(f"  {name} {label}: MPJPE {r['pooled']['mpjpe_denoised_mm']:.1f} mm", file=sys.stderr, flush=True)
    for entry in runs:
        p = entry["pooled"]
        entry["score"] = (
            p["mpjpe_denoised_mm"] / reference["mpjpe_denoised_mm"]
            + p["geodesic_denoised_deg"] / reference["geodesic_denoised_deg"]
        )
    best = min(runs, key=lambda e: e["score"])
    return {
        "default_prior_weight": default["prior_weight"],
        "runs": runs,
        "best": best,
        "default": next(e for e in runs if e["default"]),
    }


# ---------------------------------------------------------------------------------------------------------
# Rendering: the docs' tables from the results files only.


def _group(g: str, subset: dict) -> str:
    return {
        "pooled": f"all {subset['takes']}",
        "dataset1": f"dataset 1 ({subset['dataset1_takes']})",
        "dataset2": f"dataset 2 ({subset['dataset2_takes']})",
    }[g]


def _bold(text: str, best: bool) -> str:
    return f"**{text}**" if best else text


def _conditions(payload: dict) -> str:
    s = payload["subset"]
    quick = " **Quick run: not a published number.**" if payload.get("quick") or s.get("quick") else ""
    return (
        f"{s['split']} takes: {s['takes']} ({s['dataset1_takes']} from dataset 1, held-out styles; {s['dataset2_takes']} from dataset 2, "
        f"repeated contents), {s['chosen']}; {s['frames']:,} frames at {s['fps']:g} fps, {s['length']}. Noise: {s['noise']}. "
        f"Seeds: {s['seeds']}. {s['method']}. {s['metrics']}.{quick}\n\n"
    )


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _metric_cells(g: dict, best_mpjpe: bool, best_geo: bool) -> list[str]:
    return [
        f"{g['mpjpe_noisy_mm']:.1f} -> " + _bold(f"{g['mpjpe_denoised_mm']:.1f}", best_mpjpe),
        f"{g['removed']:.0%} ({g['removed_min']:.0%})",
        f"{g['geodesic_noisy_deg']:.2f} -> " + _bold(f"{g['geodesic_denoised_deg']:.2f}", best_geo),
        f"{g['jitter_clean_mm_per_s2']:,.0f} / {g['jitter_noisy_mm_per_s2']:,.0f} / {g['jitter_denoised_mm_per_s2']:,.0f}",
        f"{g['jitter_within_1_5x']} of {g['takes']} ({g['jitter_ratio_max']:.1f}x)",
        f"{g['ms_per_frame']:.1f}",
    ]


METRIC_HEAD = (
    "MPJPE noisy -> denoised (mm) | share removed (worst take) | geodesic noisy -> denoised (deg) | "
    "jitter clean / noisy / denoised (mm/s^2) | takes within 1.5x clean jitter (worst ratio) | ms/frame"
)


def _table(payload: dict) -> str:
    """Rows per takes group (all, dataset 1, dataset 2) and prior; the best denoised numbers of a group in bold."""
    s, priors = payload["subset"], payload["results"]["priors"]
    lines = [f"| takes | prior | weight | {METRIC_HEAD} |", "|---|---|---|---|---|---|---|---|---|"]
    for g in GROUPS:
        rows = {name: p[g] for name, p in priors.items() if p[g] is not None}
        if not rows:
            continue
        low_mpjpe = min(r["mpjpe_denoised_mm"] for r in rows.values())
        low_geo = min(r["geodesic_denoised_deg"] for r in rows.values())
        for name, r in rows.items():
            cells = [_group(g, s), name, f"{priors[name]['prior_weight']:g}"]
            lines.append(
                _row(
                    cells + _metric_cells(r, r["mpjpe_denoised_mm"] == low_mpjpe, r["geodesic_denoised_deg"] == low_geo)
                )
            )
    return "\n".join(lines)


def _takes_table(payload: dict) -> str:
    """Per take: frames, clean jitter, the noisy MPJPE and each prior's denoised MPJPE (share removed)."""
    priors = payload["results"]["priors"]
    names = list(priors)
    first = priors[names[0]]["takes"]
    lines = [
        "| take | dataset | frames | clean jitter (mm/s^2) | noisy MPJPE (mm) | "
        + " | ".join(f"{n}: denoised MPJPE (mm, removed)" for n in names)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(names),
    ]
    for take, t in first.items():
        cells = [
            take,
            str(t["dataset"]),
            f"{t['frames']:,}",
            f"{t['jitter_clean_mm_per_s2']:,.0f}",
            f"{t['mpjpe_noisy_mm']:.1f}",
        ]
        cells += [
            f"{priors[n]['takes'][take]['mpjpe_denoised_mm']:.1f} ({priors[n]['takes'][take]['removed']:.0%})"
            for n in names
        ]
        lines.append(_row(cells))
    return "\n".join(lines)


def _sweep_table(payload: dict) -> str:
    """One row per prior and setting (all takes; MPJPE per dataset too); each prior's best setting in bold."""
    s, r = payload["subset"], payload["results"]
    lines = [
        f"| prior | setting | weight | MPJPE denoised (mm) | dataset 1 ({s['dataset1_takes']}) | dataset 2 ({s['dataset2_takes']}) | "
        f"geodesic denoised (deg) | score (no prior: 2) | takes within 1.5x clean jitter | ms/frame |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, p in r["priors"].items():
        for e in p["runs"]:
            best = len(p["runs"]) > 1 and e == p["best"]
            label = ", ".join(f"{k}={_fmt(v)}" for k, v in e["config"].items()) or "defaults"
            label += " (default)" if e["default"] and e["config"] else ""
            g = e["pooled"]
            per = [f"{e[d]['mpjpe_denoised_mm']:.1f}" if e[d] else "-" for d in ("dataset1", "dataset2")]
            cells = [name, label, f"{e['prior_weight']:g}", _bold(f"{g['mpjpe_denoised_mm']:.1f}", best), *per,
                     _bold(f"{g['geodesic_denoised_deg']:.2f}", best), _bold(f"{e['score']:.3f}", best),
                     f"{g['jitter_within_1_5x']} of {g['takes']}", f"{g['ms_per_frame']:.1f}"]  # fmt: skip
            lines.append(_row(cells))
    noisy = next(iter(r["priors"].values()))["runs"][0]["pooled"]
    picks = "; ".join(
        f"{n} weight {b['prior_weight']:g} (default {b['default_prior_weight']:g}{': the same' if b['default_is_best'] else ''})"
        for n, b in r["best_prior_weights"].items()
    )
    lines.append(
        f"\nNoisy input: {noisy['mpjpe_noisy_mm']:.1f} mm, {noisy['geodesic_noisy_deg']:.2f} deg. "
        f"Best on {s['split']} ({r['criterion']}): {picks}."
    )
    return "\n".join(lines)


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' blocks from the results files (``benchmarks/report.py``): ``table`` and ``takes`` from
    ``denoise-test``, ``sweep`` from ``denoise-val-sweep``. A missing file leaves its blocks out."""
    blocks: dict[str, str] = {}
    test = load_optional(results, "test")
    if test is not None:
        blocks["table"] = _conditions(test) + _table(test)
        blocks["takes"] = _takes_table(test)
    sweep = load_optional(results, "val-sweep")
    if sweep is not None:
        blocks["sweep"] = _conditions(sweep) + _sweep_table(sweep)
    return blocks


# ---------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", default="../shared/data/bandai-namco", help="folder of the Bandai zips + splits.json"
    )
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--takes", type=int, default=10, help="how many takes of the split (half from each dataset)")
    parser.add_argument(
        "--select",
        default="spread",
        choices=("spread", "first"),
        help="spread over both datasets (default), or the first N of splits.json",
    )
    parser.add_argument(
        "--max-frames", type=int, default=None, help="only the first N frames of each take (default: whole)"
    )
    parser.add_argument(
        "--prior", action="append", default=[], help=f"zoo name or none (repeatable; default {', '.join(PRIORS)})"
    )
    parser.add_argument(
        "--noise-deg",
        type=float,
        default=20.0,
        help="RMS rotation angle of the noise per joint, degrees (per axis: this / sqrt(3))",
    )
    parser.add_argument("--sweep", action="append", nargs="?", const="", default=None,
                        help="vary DenoiseConfig fields (val only): bare, each prior's weights; KEY=V1,V2 or PRIOR:KEY=V1,V2 (repeatable)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--setting", help="name of the results file's setting (default: the split, then -sweep)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_TAKES} takes, first {QUICK_FRAMES} frames, written under record.quick_dir() (not published)",
    )
    args = parser.parse_args(argv)
    sweeping = args.sweep is not None
    if sweeping and args.split != "val":
        parser.error(
            "--sweep chooses settings, which is done on the validation split only: add --split val (test numbers are never tuned on)"
        )
    priors = list(dict.fromkeys(args.prior or PRIORS))
    if sweeping and "none" not in priors:
        priors.insert(0, "none")  # the reference of the score
    items = [s for s in args.sweep or [] if s]
    unknown = {i.partition("=")[0].rpartition(":")[0] for i in items} - {""} - set(priors)
    if unknown:
        parser.error(f"--sweep names priors not run: {', '.join(sorted(unknown))}")
    count = min(args.takes, QUICK_TAKES) if args.quick else args.takes
    max_frames = args.max_frames or (QUICK_FRAMES if args.quick else None)
    base = {"steps": QUICK_STEPS} if args.quick else {}
    torch.set_num_threads(args.threads)

    source = Path(args.source)
    split_names = json.loads((source / "splits.json").read_text())[args.split]
    names = choose_takes(split_names, count, args.select)
    seeds = {n: 1000 + split_names.index(n) for n in names}
    takes = read_takes(source, names, max_frames)
    fps = takes[0][1].fps
    frames = sum(m.num_frames for _, m in takes)
    d1 = sum(dataset_of(n) == 1 for n in names)
    n1 = sum(dataset_of(n) == 1 for n in split_names)
    chosen = (
        f"the first {count} of the split's {len(split_names)} in splits.json"
        if args.select == "first"
        else f"spread over the split: of each dataset's m takes in splits.json order ({n1} and {len(split_names) - n1} in {args.split}), "
        "k are taken, take floor(i m / k) for i = 0..k-1, half of them (the odd one to dataset 1) from each dataset"
    )
    subset = {
        "split": args.split,
        "takes": len(names),
        "dataset1_takes": d1,
        "dataset2_takes": len(names) - d1,
        "split_takes": {"dataset1": n1, "dataset2": len(split_names) - n1},
        "chosen": chosen,
        "names": [take_key(n) for n in names],
        "frames": frames,
        "fps": fps,
        "length": "whole takes as captured" if not max_frames else f"the first {max_frames} frames of each take",
        "source": "the Bandai zips (splits.json), read as BVH and retargeted onto the canonical 20 pose joints (Bandai's shipped twist profile)",
        "noise": (
            f"every frame's 20 pose-joint local rotations multiplied by exp(omega), omega ~ N(0, s^2 I_3), s = {args.noise_deg:g} / sqrt(3) = "
            f"{args.noise_deg / math.sqrt(3):.2f} deg per axis: {args.noise_deg:g} deg RMS rotation angle per joint; root trajectory and pelvis rotation clean"
        ),
        "noise_rms_deg_per_joint": args.noise_deg,
        "noise_std_deg_per_axis": args.noise_deg / math.sqrt(3),
        "seeds": "1000 + the take's index in the split's splits.json list",
        "method": f"denoise_motion with DenoiseConfig defaults ({DenoiseConfig().optimizer}, {DenoiseConfig(**base).steps} evaluations), each prior at its default weight"
        + (" unless the setting says otherwise" if sweeping else ""),
        "metrics": "MPJPE over the 20 pose joints' global positions (each take's own skeleton), geodesic error per joint, jitter = mean joint acceleration; frame-weighted over the takes",
        "threads": args.threads,
        "quick": args.quick,
    }
    if sweeping:
        subset["sweep"] = {
            "items": items or ["each prior's weights"],
            "weights": {k: list(v) for k, v in SWEEP.items()},
            "criterion": CRITERION,
        }
    print(
        f"bandai {args.split}: {len(takes)} takes ({d1} from dataset 1), {frames} frames at {fps:g} fps; noise {args.noise_deg:g} deg RMS per joint; {args.threads} thread(s)",
        file=sys.stderr,
    )

    results: dict[str, Any] = {"priors": {}}
    reference = None
    for name in priors:
        prior = load_prior(name)
        if sweeping:
            grid = parse_sweep(items, name, args.quick)
            out = sweep_prior(
                name, prior, grid, lambda c, p=prior: evaluate(p, c, takes, seeds, args.noise_deg), reference, base
            )
            if name == "none":
                reference = out["default"]["pooled"]
            results["priors"][name] = out
        else:
            config = DenoiseConfig(**base)
            results["priors"][name] = {
                "prior_weight": config.weight_for(prior),
                **evaluate(prior, config, takes, seeds, args.noise_deg),
            }
            print(
                f"  {name}: MPJPE {results['priors'][name]['pooled']['mpjpe_denoised_mm']:.1f} mm",
                file=sys.stderr,
                flush=True,
            )
    if sweeping:
        results["criterion"] = CRITERION
        results["best_prior_weights"] = {
            name: {
                "prior_weight": p["best"]["prior_weight"],
                "config": p["best"]["config"],
                "score": p["best"]["score"],
                "default_prior_weight": p["default_prior_weight"],
                "default_score": p["default"]["score"],
                "default_is_best": p["best"] is p["default"],
            }
            for name, p in results["priors"].items()
            if name != "none"
        }
    setting = args.setting or (f"{args.split}-sweep" if sweeping else args.split)
    save("denoise", results, subset=subset, setting=setting, quick=args.quick)
    payload = {"quick": args.quick, "subset": subset, "results": results}
    print(
        _conditions(payload) + (_sweep_table(payload) if sweeping else _table(payload) + "\n\n" + _takes_table(payload))
    )
    return {"setting": setting, "subset": subset, "results": results}


if __name__ == "__main__":
    main()
