"""IK numbers (docs/benchmarks.md, "Inverse kinematics"): conditional flows on bandai-v1 test.

For each model and observation kind: the mode's MPJPE (mm, root-relative: the pelvis-frame joints of the
21-joint skeleton, root included), PA-MPJPE (mm), geodesic error of the 20 local rotations (degrees), the
best-of-N MPJPE of N hypotheses, the mean log-likelihood of the true pose (nats) and the IK speed; each
accuracy and likelihood also for dataset 1 (Bandai's ``dataset-1_*`` takes: held-out styles) and dataset 2
(``dataset-2_*``: repeated contents) apart. Then, with ``--prior``, the gap between the model with every joint
hidden and an unconditional prior on the same poses.

Observations of the true poses, all with a fixed seed (``--seed``):
- 3D: the pelvis-frame keypoints, every joint visible;
- 3D, 30% hidden: 6 of the 20 non-root joints hidden per pose (the root is the origin: always known);
- 2D orthographic: the pelvis-frame x, y (z hidden, as in HuProSO3);
- 2D perspective: pixels of a 1920 x 1080 camera (focal length 1000 px) at a random yaw, pitch and distance
  from the model's training ranges, aimed at a random point up to 0.5 m from the pelvis along each axis (so
  the pelvis is off the image centre), with the real root orientation of each pose.

**Conditioning check** (every run, on the same poses): the truth's mean log-likelihood with every joint
visible, with the same 30% hidden, and with every joint hidden (the model as an unconditional prior), and the
first two again with the keypoints blurred by the model's training noise (``noise x length_scale`` per
coordinate, Gaussian, non-root joints; the observations the model was trained on). Beside each, the mean
log-density of the model's own samples for that observation (10 per pose, temperature 1: minus the model's
conditional entropy) and how often the truth scores above them. Seeing more of a pose should never make the
truth less likely on average (the mutual information is not negative); a model that scores the truth below
its unconditional self when joints are visible, or far below its own samples, is not conditioning right.
Then the same in steps (:data:`HIDDEN_PERCENTS`): the truth's mean log-likelihood with 0%, 10%, ..., 100% of
the non-root joints hidden at random (one mask per pose and rate, nested: each rate hides the previous rate's
joints and more), exact and with the training noise; it should fall as joints are hidden, never rise.

Results (``record.save``): ``benchmarks/results/ik.json`` for a run at temperature 1 with every kind (the main
table, the gap and the check); a run at another ``--temperature``, or at temperature 1 with only some
``--kind``, writes ``ik-temperature-T.json`` (e.g. ``ik-temperature-0.5.json``), the rows of the temperature
table. ``results``: ``conditions`` (hypotheses, candidates, temperature, seed, threads, kinds,
check_samples), then ``models``, per model spec: ``parameters``, ``kinds`` (per kind key ``3d``,
``3d_masked30``, ``orthographic``, ``perspective``: ``mode_mpjpe_mm``, ``pa_mpjpe_mm``, ``geodesic_deg``,
``best_of_n_mpjpe_mm``, ``truth_log_likelihood_nats``, each also prefixed ``dataset1_``, ``dataset2_``, and
``ik_frames_per_s``), ``conditioning`` (per observation key ``visible``, ``masked30``, ``unobserved``,
``visible_noisy``, ``masked30_noisy``: ``truth_log_likelihood_nats`` and its ``dataset1_``, ``dataset2_``
values, ``samples_log_density_nats``, ``truth_above_samples_percent``; ``noise_mm``, the training noise; and
``by_hidden_percent``, per percentage ``"0"`` ... ``"100"``: ``truth_log_likelihood_nats`` and
``noisy_truth_log_likelihood_nats``)
and, with ``--prior``, ``unobserved_gap`` (``prior``, ``unobserved_log_likelihood_nats``,
``prior_log_likelihood_nats``, ``gap_nats``, and their ``dataset1_``, ``dataset2_`` values).

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/ik.py --model flow-ik-bandai [--model PATH ...] [--prior flow-bandai] \\
        [--limit 2000] [--hypotheses 10] [--candidates 100] [--temperature 1] [--kind "3D, 30% hidden"] [--threads 2]

``--quick``: 200 poses evenly spaced over the split (``--limit 200``), written under ``record.quick_dir()``,
never over the published results.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

import torch

from poseprior.data import load_prepared
from poseprior.metrics import best_of_n, mpjae, mpjpe, pa_mpjpe
from poseprior.models.flow.condition import perspective_pixels
from poseprior.models.flow.conditional import ConditionalFlowPrior
from poseprior.tasks.ik import solve_ik
from record import save

#: The perspective camera: 1920 x 1080 pixels, focal length 1000 px.
INTRINSICS = torch.tensor([[1000.0, 0.0, 960.0], [0.0, 1000.0, 540.0], [0.0, 0.0, 1.0]])
KINDS = ("3D", "3D, 30% hidden", "2D orthographic", "2D perspective")
#: Results key of each kind.
KIND_KEYS = dict(zip(KINDS, ("3d", "3d_masked30", "orthographic", "perspective"), strict=False))
#: The conditioning check's observations: results key -> label.
CHECKS = {
    "visible": "every joint visible",
    "masked30": "30% hidden (the table's mask)",
    "unobserved": "every joint hidden",
    "visible_noisy": "every joint visible, training noise",
    "masked30_noisy": "30% hidden, training noise",
}
#: The conditioning check's steps: percentages of the non-root joints hidden.
HIDDEN_PERCENTS = (0, 10, 30, 50, 70, 90, 100)
#: Samples per pose of the conditioning check.
CHECK_SAMPLES = 10
#: The temperature table: the rows below temperature 1 (each its own results file) and its two kinds.
TEMPERATURES = (0.7, 0.5)
TEMPERATURE_KINDS = ("3D, 30% hidden", "2D perspective")
METRICS = ("mode_mpjpe_mm", "pa_mpjpe_mm", "geodesic_deg", "best_of_n_mpjpe_mm", "truth_log_likelihood_nats")
QUICK_POSES = 200


def observations(model: ConditionalFlowPrior, R: torch.Tensor, root_rotation: torch.Tensor, seed: int = 0) -> dict:
    """Per observation kind: ``(keypoints, mask, camera)`` of the true poses ``R (N, K, 3, 3)``."""
    g = torch.Generator().manual_seed(seed)
    N, K = R.shape[:2]
    keypoints = model.keypoints(R)
    mask = masked30(N, K, g)
    cond = model.config.condition
    yaw = 2 * math.pi * torch.rand(N, generator=g)
    lo, hi = (math.radians(a) for a in cond.pitch_deg)
    pitch = lo + (hi - lo) * torch.rand(N, generator=g)
    d_lo, d_hi = cond.distance_mm
    distance = (d_lo + (d_hi - d_lo) * torch.rand(N, generator=g)) / model.unit_mm
    aim = (torch.rand(N, 3, generator=g) * 2 - 1) * (500.0 / model.unit_mm)
    pixels = perspective_pixels(keypoints, root_rotation, INTRINSICS, yaw, pitch, distance, cond.up, aim)
    return {
        "3D": (keypoints, None, None),
        "3D, 30% hidden": (keypoints, mask, None),
        "2D orthographic": (keypoints[..., :2], None, None),
        "2D perspective": (pixels, None, INTRINSICS),
    }


def masked30(N: int, K: int, generator: torch.Generator) -> torch.Tensor:
    """``(N, K + 1)`` visibility: per pose, 30% of the ``K`` non-root joints hidden at random (the root visible)."""
    hidden = torch.rand(N, K, generator=generator).argsort(-1)[:, : round(0.3 * K)] + 1
    return torch.ones(N, K + 1, dtype=torch.bool).scatter(1, hidden, False)


def _means(values: torch.Tensor, datasets: dict[str, torch.Tensor], key: str) -> dict[str, float | None]:
    """``{key: mean over all, dataset1_key: ..., dataset2_key: ...}`` of per-pose ``values (N,)`` (None: no pose)."""
    out: dict[str, float | None] = {key: float(values.double().mean())}
    for d, rows in datasets.items():
        out[f"{d}_{key}"] = float(values[rows].double().mean()) if len(rows) else None
    return out


def truth_log_likelihood(
    model: ConditionalFlowPrior, R: torch.Tensor, keypoints: torch.Tensor, mask, camera
) -> torch.Tensor:
    """``(N,)`` exact ``log p(R | observation)`` of the true poses, in chunks."""
    with torch.no_grad():
        return torch.cat([model.log_prob(r, k, m, camera) for r, k, m in _chunks(R, keypoints, mask)])


def evaluate(
    model: ConditionalFlowPrior,
    R: torch.Tensor,
    root_rotation: torch.Tensor,
    hypotheses: int = 10,
    candidates: int = 100,
    kinds: tuple[str, ...] = KINDS,
    temperature: float = 1.0,
    seed: int = 0,
    datasets: dict[str, torch.Tensor] | None = None,
) -> dict[str, dict[str, float | None]]:
    """Per observation kind (results key), the metrics of the module docstring on true poses ``R (N, K, 3, 3)``;
    ``datasets`` maps ``dataset1``/``dataset2`` to row indices of ``R``."""
    datasets = datasets or {}
    truth_mm = model.keypoints(R) * model.unit_mm
    results = {}
    for kind, (keypoints, mask, camera) in observations(model, R, root_rotation, seed).items():
        if kind not in kinds:
            continue
        t = time.perf_counter()
        ik = solve_ik(
            model, keypoints, mask, hypotheses, candidates=candidates, camera=camera, temperature=temperature, seed=seed
        )
        seconds = time.perf_counter() - t
        mode_mm = ik.positions * model.unit_mm
        per_pose = {
            "mode_mpjpe_mm": mpjpe(mode_mm, truth_mm, align_root=0, reduction="none"),
            "pa_mpjpe_mm": pa_mpjpe(mode_mm, truth_mm, reduction="none"),
            "geodesic_deg": mpjae(ik.rotations, R, reduction="none"),
            "best_of_n_mpjpe_mm": best_of_n(
                ik.hypotheses_positions * model.unit_mm, truth_mm, align_root=0, reduction="none"
            ),
            "truth_log_likelihood_nats": truth_log_likelihood(model, R, keypoints, mask, camera),
        }
        row: dict[str, float | None] = {}
        for key, values in per_pose.items():
            row.update(_means(values, datasets, key))
        row["ik_frames_per_s"] = R.shape[0] / seconds
        results[KIND_KEYS[kind]] = row
    return results


def conditioning_check(
    model: ConditionalFlowPrior,
    R: torch.Tensor,
    datasets: dict[str, torch.Tensor],
    seed: int = 0,
    samples: int = CHECK_SAMPLES,
) -> dict[str, dict[str, float | None]]:
    """The module docstring's conditioning check on ``R (N, K, 3, 3)`` (the 30% mask is the table's: same seed)."""
    N, K = R.shape[:2]
    keypoints = model.keypoints(R)
    mask = masked30(N, K, torch.Generator().manual_seed(seed))
    # The training observations' noise (ConditionConfig.noise, in units of length_scale) on the non-root joints.
    sigma = model.config.condition.noise * model.config.length_scale
    noise = sigma * torch.randn(
        keypoints.shape, generator=torch.Generator().manual_seed(seed + 1), dtype=keypoints.dtype
    )
    noisy = keypoints + torch.cat([torch.zeros_like(noise[:, :1]), noise[:, 1:]], dim=1)
    hidden = torch.zeros(N, K + 1, dtype=torch.bool)
    cases = {
        "visible": (keypoints, None),
        "masked30": (keypoints, mask),
        "unobserved": (keypoints, hidden),
        "visible_noisy": (noisy, None),
        "masked30_noisy": (noisy, mask),
    }
    g = torch.Generator().manual_seed(seed + 2)
    out = {}
    for key, (k, m) in cases.items():
        truth = truth_log_likelihood(model, R, k, m, None)
        sampled = []
        with torch.no_grad():
            for _r, kc, mc in _chunks(R, k, m, size=max(1, 2000 // samples)):
                state = torch.random.get_rng_state()
                torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
                try:
                    sampled.append(model.sample_with_log_prob(samples, kc, mc)[1].T)  # (n, samples)
                finally:
                    torch.random.set_rng_state(state)
        logq = torch.cat(sampled)
        out[key] = {
            **_means(truth, datasets, "truth_log_likelihood_nats"),
            "samples_log_density_nats": float(logq.double().mean()),
            "truth_above_samples_percent": 100.0 * float((logq < truth.unsqueeze(1)).double().mean()),
        }
    out["noise_mm"] = sigma * model.unit_mm
    # Nested masks: one random order of the non-root joints per pose, the first p% of it hidden.
    order = torch.rand(N, K, generator=torch.Generator().manual_seed(seed + 3)).argsort(-1) + 1
    out["by_hidden_percent"] = {}
    for percent in HIDDEN_PERCENTS:
        m = torch.ones(N, K + 1, dtype=torch.bool).scatter(1, order[:, : round(percent / 100 * K)], False)
        out["by_hidden_percent"][str(percent)] = {
            "truth_log_likelihood_nats": float(truth_log_likelihood(model, R, keypoints, m, None).double().mean()),
            "noisy_truth_log_likelihood_nats": float(truth_log_likelihood(model, R, noisy, m, None).double().mean()),
        }
    return out


def unobserved_gap(
    model: ConditionalFlowPrior, prior, name: str, R: torch.Tensor, datasets: dict[str, torch.Tensor]
) -> dict:
    """The conditional model with every joint hidden against an unconditional prior on the same poses."""
    with torch.no_grad():
        unobserved = torch.cat([model.log_prob_unobserved(r, validate=False) for r in R.split(2000)])
        unconditional = torch.cat([prior.log_prob(r) for r in R.split(2000)])
    return {
        "prior": name,
        **_means(unobserved, datasets, "unobserved_log_likelihood_nats"),
        **_means(unconditional, datasets, "prior_log_likelihood_nats"),
        **_means(unconditional - unobserved, datasets, "gap_nats"),
    }


def _chunks(R: torch.Tensor, keypoints: torch.Tensor, mask: torch.Tensor | None, size: int = 2000):
    for s in range(0, R.shape[0], size):
        yield R[s : s + size], keypoints[s : s + size], None if mask is None else mask[s : s + size]


# ------------------------------------------------------------------------------------------------ rendering
def _f(x: float | None, fmt: str = ".1f") -> str:
    return "-" if x is None else format(x, fmt)


def _setting(temperature: float, kinds: tuple[str, ...]) -> str:
    """The results file's setting: "" for the main run (temperature 1, every kind), else ``temperature-T``."""
    return "" if temperature == 1.0 and set(kinds) == set(KINDS) else f"temperature-{temperature:g}"


def _subset_text(s: dict) -> str:
    return f"bandai-v1 {s['split']}, {s['poses']:,} poses evenly spaced over the split"


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' blocks from the results files (``benchmarks/report.py``): ``table`` (per model, every kind,
    with dataset 1 and 2 apart), ``gap`` (every joint hidden against the unconditional prior), ``conditioning``
    (the conditioning check), ``temperature`` (mode and best-of-N at temperature 1, from ``ik.json``, and at
    each of :data:`TEMPERATURES`, from ``ik-temperature-T.json``; left out while one of those is missing)."""
    main = results()
    blocks = _blocks(main)
    try:
        others = [results(f"temperature-{t:g}") for t in TEMPERATURES]
    except Exception:  # a temperature run's file is missing: every other block still renders
        return blocks
    blocks["temperature"] = _temperature_table(main, others)
    return blocks


def _blocks(run: dict) -> dict[str, str]:
    """``table``, ``gap`` and ``conditioning`` of one results file (see :func:`render`)."""
    s, r = run["subset"], run["results"]
    c = r["conditions"]
    n1, n2 = s["dataset1_poses"], s["dataset2_poses"]
    tables, gaps, checks = [], [], []
    for spec, m in r["models"].items():
        head = (
            f"| {spec} ({m['parameters'] / 1e6:.2f} M parameters); {_subset_text(s)} | mode MPJPE (mm) | dataset 1 ({n1:,}) "
            f"| dataset 2 ({n2:,}) | PA-MPJPE (mm) | geodesic (deg) | best-of-{c['hypotheses']} MPJPE (mm) "
            f"| log-lik of truth (nats) | dataset 1 | dataset 2 | IK frames/s ({c['candidates']} candidates) |"
        )
        lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|"]
        for kind in KINDS:
            k = m["kinds"].get(KIND_KEYS[kind])
            if k is None:
                continue
            lines.append(
                f"| {kind} | {_f(k['mode_mpjpe_mm'])} | {_f(k['dataset1_mode_mpjpe_mm'])} | {_f(k['dataset2_mode_mpjpe_mm'])} "
                f"| {_f(k['pa_mpjpe_mm'])} | {_f(k['geodesic_deg'])} | {_f(k['best_of_n_mpjpe_mm'])} "
                f"| {_f(k['truth_log_likelihood_nats'])} | {_f(k['dataset1_truth_log_likelihood_nats'])} "
                f"| {_f(k['dataset2_truth_log_likelihood_nats'])} | {k['ik_frames_per_s']:,.0f} |"
            )
        tables.append("\n".join(lines))
        g = m.get("unobserved_gap")
        if g is not None:
            gaps.append(
                f"{spec}, every joint hidden: {g['unobserved_log_likelihood_nats']:.1f} nats/pose (dataset 1 "
                f"{_f(g['dataset1_unobserved_log_likelihood_nats'])}, dataset 2 {_f(g['dataset2_unobserved_log_likelihood_nats'])}); "
                f"the unconditional prior {g['prior']}: {g['prior_log_likelihood_nats']:.1f} on the same {s['poses']:,} poses "
                f"({_f(g['dataset1_prior_log_likelihood_nats'])}, {_f(g['dataset2_prior_log_likelihood_nats'])}); "
                f"**gap {g['gap_nats']:.1f} nats/pose**."
            )
        ch = m["conditioning"]
        lines = [
            f"| {spec}: observation of the truth ({s['poses']:,} poses) | truth's log-lik (nats) | dataset 1 ({n1:,}) | dataset 2 ({n2:,}) "
            f"| model's samples' log-density ({c['check_samples']} per pose) | truth above its samples |",
            "|---|---|---|---|---|---|",
        ]
        for key, label in CHECKS.items():
            x = ch[key]
            if key.endswith("_noisy"):
                label = f"{label} ({ch['noise_mm']:.1f} mm)"
            lines.append(
                f"| {label} | {x['truth_log_likelihood_nats']:.1f} | {_f(x['dataset1_truth_log_likelihood_nats'])} "
                f"| {_f(x['dataset2_truth_log_likelihood_nats'])} | {x['samples_log_density_nats']:.1f} | {x['truth_above_samples_percent']:.0f}% |"
            )
        steps = ch.get("by_hidden_percent")
        if steps:
            lines += [
                "",
                f"| {spec}: non-root joints hidden at random | " + " | ".join(f"{p}%" for p in steps) + " |",
                "|---" * (len(steps) + 1) + "|",
                "| truth's log-lik (nats), exact keypoints | "
                + " | ".join(f"{v['truth_log_likelihood_nats']:.1f}" for v in steps.values())
                + " |",
                f"| the same, training noise ({ch['noise_mm']:.1f} mm) | "
                + " | ".join(f"{v['noisy_truth_log_likelihood_nats']:.1f}" for v in steps.values())
                + " |",
            ]
        checks.append("\n".join(lines))
    return {"table": "\n\n".join(tables), "gap": "\n\n".join(gaps), "conditioning": "\n\n".join(checks)}


def _temperature_table(main: dict, others: list[dict]) -> str:
    """Mode / best-of-N MPJPE of :data:`TEMPERATURE_KINDS` per temperature, for the first model of each file."""
    n = main["results"]["conditions"]["hypotheses"]
    head = ["temperature", "poses (dataset 1 / 2)"]
    for kind in TEMPERATURE_KINDS:
        head += [f"{kind}: mode / best-of-{n} MPJPE (mm)", "dataset 1", "dataset 2"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for run in [main, *others]:
        s = run["subset"]
        model = next(iter(run["results"]["models"].values()))
        cells = [
            f"{run['results']['conditions']['temperature']:.1f}",
            f"{s['poses']:,} ({s['dataset1_poses']:,} / {s['dataset2_poses']:,})",
        ]
        for kind in TEMPERATURE_KINDS:
            k = model["kinds"][KIND_KEYS[kind]]
            cells += [
                f"{_f(k[f'{p}mode_mpjpe_mm'])} / {_f(k[f'{p}best_of_n_mpjpe_mm'])}"
                for p in ("", "dataset1_", "dataset2_")
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    from poseprior import zoo

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="IK model name or exported file (repeatable)")
    parser.add_argument("--prior", help="unconditional prior (name or file) for the all-hidden log-likelihood gap")
    parser.add_argument("--data", default="prepared/bandai-v1")
    parser.add_argument("--split", default="test")
    parser.add_argument(
        "--limit", type=int, default=2000, help="evaluate N poses evenly spaced over the split (0: all)"
    )
    parser.add_argument("--hypotheses", type=int, default=10)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--temperature", type=float, default=1.0, help="base-noise scale of the samples (1: exact)")
    parser.add_argument(
        "--kind", action="append", choices=KINDS, help="observation kinds to run (repeatable; default all)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_POSES} poses, written under record.quick_dir() (not published)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.limit = min(args.limit, QUICK_POSES) if args.limit > 0 else QUICK_POSES

    split = load_prepared(args.data, [args.split])[args.split]
    n = len(split) if args.limit <= 0 else min(args.limit, len(split))
    # Evenly spaced poses across the whole split, so every take's style is represented.
    index = torch.linspace(0, len(split) - 1, n).round().long()
    R, root = split.rotations[index], split.root_rotation[index]
    # Dataset 1 (held-out styles) and dataset 2 (repeated contents) apart: they measure different things.
    dataset1 = torch.tensor([name.startswith("dataset-1") for name in split.take_names])[split.take][index]
    datasets = {"dataset1": dataset1.nonzero().squeeze(1), "dataset2": (~dataset1).nonzero().squeeze(1)}
    prior = zoo.load(args.prior) if args.prior else None
    kinds = tuple(k for k in KINDS if k in args.kind) if args.kind else KINDS
    print(
        f"bandai-v1 {args.split}, {n} poses; {args.hypotheses} hypotheses (temperature {args.temperature:g}), mode among "
        f"{args.candidates} candidates + the base mode, {args.threads} threads\n",
        file=sys.stderr,
    )
    models: dict[str, dict] = {}
    for spec in args.model:
        model = zoo.load(spec, kind="ik")
        entry: dict = {"parameters": sum(p.numel() for p in model.parameters())}
        entry["kinds"] = evaluate(
            model, R, root, args.hypotheses, args.candidates, kinds, args.temperature, args.seed, datasets
        )
        entry["conditioning"] = conditioning_check(model, R, datasets, args.seed)
        if prior is not None:
            entry["unobserved_gap"] = unobserved_gap(model, prior, args.prior, R, datasets)
        models[spec] = entry
    out = {
        "conditions": {
            "hypotheses": args.hypotheses,
            "candidates": args.candidates,
            "temperature": args.temperature,
            "seed": args.seed,
            "threads": args.threads,
            "kinds": list(kinds),
            "check_samples": CHECK_SAMPLES,
        },
        "models": models,
    }
    subset = {
        "split": args.split,
        "poses": n,
        "chosen": f"{n:,} {args.split} poses evenly spaced over the split (torch.linspace over its splits.json order, rounded)",
        "dataset1_poses": int(datasets["dataset1"].numel()),
        "dataset2_poses": int(datasets["dataset2"].numel()),
        "seeds": (
            f"observations (30% mask, perspective views): torch.Generator seed {args.seed}; IK sampling: seed {args.seed}; "
            f"conditioning check: training noise seed {args.seed + 1}, samples seed {args.seed + 2}, hidden-joint order seed {args.seed + 3}"
        ),
    }
    setting = _setting(args.temperature, kinds)
    save("ik", out, subset=subset, setting=setting, quick=args.quick)
    shown = {"subset": subset, "results": out}
    print("\n\n".join(text for text in _blocks(shown).values() if text))
    return shown


if __name__ == "__main__":
    main()
