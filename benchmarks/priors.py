"""Prior comparison on bandai-v1 test (docs/benchmarks.md, "Priors compared"): flow, VAE, distance field, the
independent-joint baseline and no prior, through the one :class:`~poseprior.models.prior.PosePrior` interface.

For each prior:

- **realism**: for 5,000 samples, the mean over samples of the distance to the nearest test pose;
- **coverage**: for each test pose, the distance to the nearest of those 5,000 samples (mean over test poses,
  and over the test poses of dataset 1, Bandai's ``dataset-1_*`` takes (held-out styles), and of dataset 2,
  ``dataset-2_*`` (repeated contents), apart); both in degrees per joint (the mean per-joint geodesic angle,
  :func:`~poseprior.geometry.nearest_poses`);
- **denoising by projection**: 1,000 test poses (evenly spaced over the split) with Gaussian noise on every
  joint (rotation vector ``N(0, sigma^2 I_3)``, ``sigma`` = 10, 20, 40 degrees per axis; 0: the clean poses,
  which says how much projection changes real poses, for the VAE its reconstruction error; the "no prior"
  row is the noisy input itself), projected with each prior's default ``project``; geodesic error to the clean
  pose (degrees per joint) and MPJPE (mm) of the pelvis-frame forward kinematics of the 21-joint skeleton,
  over all of them and over those of dataset 1 and dataset 2 apart;
- **speed** at batch 1000: ``energy`` alone and with its gradient (poses/s), ``sample`` (poses/s), ``project``
  (ms per pose);
- parameter counts.

The independent-joint baseline is fitted on train when the script runs; "no prior" is
:class:`~poseprior.models.baseline.UniformPrior`. Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/priors.py --model flow-bandai --model vae-bandai --model ndf-bandai [--threads 2]

Results (``record.save``): ``benchmarks/results/priors.json`` for a run with the baselines (the main table);
a run with ``--no-baselines`` (the seed systems' reference architectures, docs' second table) writes
``priors-references.json``; ``--setting NAME`` chooses another name. ``results``: ``conditions`` (samples,
denoise_poses, noise_deg, batch, threads, seeds), then ``priors``, keyed by model spec (``independent`` and
``none`` for the baselines), each with ``label`` (the row's name: the spec, or the reference architecture
it has and its class), ``class``, ``parameters``, ``realism_deg``, ``coverage_deg``,
``dataset1_coverage_deg``, ``dataset2_coverage_deg``, per noise ``S`` (0, 10, 20, 40) ``geo_S_deg`` and
``mpjpe_S_mm`` with their ``dataset1_``, ``dataset2_`` values, ``energy_per_s``, ``energy_grad_per_s``,
``sample_per_s``, ``project_ms``.

``--quick``: 500 test poses evenly spaced over the split for realism and coverage, 500 samples, 200 denoising
poses, shorter timing; written under ``record.quick_dir()``, never over the published results.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

import torch

from poseprior.data import load_prepared
from poseprior.geometry import nearest_poses
from poseprior.metrics import mpjae, mpjpe
from poseprior.models.baseline import TangentGaussianPrior, UniformPrior
from poseprior.models.ndf_data import perturb
from poseprior.models.prior import PoseJoints, PosePrior
from poseprior.skeleton import pelvis_keypoints
from poseprior.zoo import load
from record import save

SAMPLES = 5000
DENOISE_POSES = 1000
NOISE_DEG = (0.0, 10.0, 20.0, 40.0)
BATCH = 1000
#: ``--quick``: test poses (realism and coverage), samples, denoising poses, seconds per timing.
QUICK = {"test_poses": 500, "samples": 500, "denoise_poses": 200, "seconds": 0.5}
BASELINES = {"independent": "independent (tangent Gaussians)", "none": "no prior"}


def rate(fn: Callable[[], object], items: int, seconds: float = 3.0) -> float:
    """Items per second of ``fn``, after a warm-up call, over at least ``seconds`` (and 2 calls)."""
    fn()
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return items * calls / (time.perf_counter() - start)


def _means(values: torch.Tensor, datasets: dict[str, torch.Tensor], key: str) -> dict[str, float | None]:
    """``{key: mean, dataset1_key: ..., dataset2_key: ...}`` of per-pose ``values (N,)`` (None: no pose there)."""
    out: dict[str, float | None] = {key: float(values.double().mean())}
    for d, rows in datasets.items():
        out[f"{d}_{key}"] = float(values[rows].double().mean()) if len(rows) else None
    return out


def evaluate(
    prior: PosePrior,
    test: torch.Tensor,
    clean: torch.Tensor,
    joints: PoseJoints,
    test_datasets: dict[str, torch.Tensor],
    clean_datasets: dict[str, torch.Tensor],
    samples: int = SAMPLES,
    seconds: float = 3.0,
) -> dict[str, float | None]:
    """The module docstring's metrics of ``prior`` on test poses ``test (N, K, 3, 3)`` and the denoising subset
    ``clean``; ``*_datasets`` map ``dataset1``/``dataset2`` to row indices of each."""
    out: dict[str, float | None] = {}
    torch.manual_seed(0)
    drawn = torch.cat([prior.sample(min(BATCH, samples - s)) for s in range(0, samples, BATCH)])
    out["realism_deg"] = math.degrees(float(nearest_poses(drawn, test)[0].mean()))
    out.update(_means(torch.rad2deg(nearest_poses(test, drawn)[0]), test_datasets, "coverage_deg"))
    skeleton = joints.skeleton
    truth_mm = pelvis_keypoints(skeleton, clean.double()) * joints.unit_mm
    for i, sigma in enumerate(NOISE_DEG):
        R = perturb(clean, sigma, torch.Generator().manual_seed(i))
        P = torch.cat([prior.project(r).detach() for r in R.split(BATCH)])
        out.update(_means(mpjae(P, clean, reduction="none"), clean_datasets, f"geo_{sigma:g}_deg"))
        position_mm = pelvis_keypoints(skeleton, P.double()) * joints.unit_mm
        out.update(_means(mpjpe(position_mm, truth_mm, reduction="none"), clean_datasets, f"mpjpe_{sigma:g}_mm"))
    R = test[:BATCH]

    def energy() -> None:
        with torch.no_grad():
            prior.energy(R)

    def energy_grad() -> None:
        x = R.clone().requires_grad_(True)
        prior.energy(x).sum().backward()

    out["energy_per_s"] = rate(energy, len(R), seconds)
    out["energy_grad_per_s"] = rate(energy_grad, len(R), seconds)
    out["sample_per_s"] = rate(lambda: prior.sample(BATCH), BATCH, seconds)
    Rn = perturb(R, 20.0, torch.Generator().manual_seed(9))
    out["project_ms"] = 1000.0 / rate(lambda: prior.project(Rn), len(Rn), seconds=2.0 * seconds / 3.0)
    if isinstance(prior, TangentGaussianPrior):
        out["parameters"] = int(prior.num_parameters())
    else:
        out["parameters"] = int(sum(p.numel() for p in prior.parameters())) if isinstance(prior, torch.nn.Module) else 0
    return out


def reference_label(prior: PosePrior) -> str | None:
    """The seed system whose architecture ``prior`` has (trained with ``--reference-architecture``), or None."""
    config = getattr(prior, "config", None)
    if type(prior).__name__ == "VAEPrior" and getattr(config, "architecture", None) == "vposer":
        return "VPoser V02 reference"
    if type(prior).__name__ == "DistanceFieldPrior":
        from poseprior.models.ndf import DistanceFieldConfig

        ref = DistanceFieldConfig.posendf_reference(config.num_joints, config.parents)
        fields = ("features", "encoder_features", "hidden", "activation", "project_steps", "newton")
        if all(getattr(config, f) == getattr(ref, f) for f in fields):
            return "Pose-NDF reference"
    return None


def label(spec: str, prior: PosePrior) -> str:
    ref = reference_label(prior)
    return spec if ref is None else f"{ref} ({type(prior).__name__})"


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' blocks from the results files (``benchmarks/report.py``): ``table`` and ``datasets`` (the
    denoising of dataset 1 and dataset 2 apart) from ``priors.json``, ``references`` and
    ``references_datasets`` from ``priors-references.json`` (left out while it is missing)."""
    blocks = _blocks(results())
    try:
        references = results("references")
    except Exception:  # no reference run yet: the main blocks still render
        return blocks
    blocks.update({"references" if k == "table" else f"references_{k}": v for k, v in _blocks(references).items()})
    return blocks


def _blocks(run: dict) -> dict[str, str]:
    s, r = run["subset"], run["results"]
    c = r["conditions"]
    n1, n2 = s["dataset1_poses"], s["dataset2_poses"]
    d1, d2 = s["denoise_dataset1_poses"], s["denoise_dataset2_poses"]
    noise = NOISE_DEG  # the keys' names (conditions.noise_deg says the same, as data)
    sig = " | ".join(("clean" if x == 0 else f"{x:g} deg") + ": geo / MPJPE" for x in noise)
    head = (
        f"| prior ({c['samples']:,} samples; {s['poses']:,} test poses; denoising {s['denoise_poses']:,}) | realism (deg) "
        f"| coverage (deg) | dataset 1 ({n1:,}) | dataset 2 ({n2:,}) | {sig} | energy /s | energy+grad /s | sample /s "
        f"| project ms/pose | parameters |"
    )
    lines = [head, "|---" * (10 + len(noise)) + "|"]
    for m in r["priors"].values():
        den = " | ".join(f"{m[f'geo_{x:g}_deg']:.1f} / {m[f'mpjpe_{x:g}_mm']:.0f}" for x in noise)
        # The no-prior energy is identically 0: its speed says nothing, so it is left out.
        uniform = m["class"] == "UniformPrior"
        energy = " | " if uniform else f"{m['energy_per_s']:,.0f} | {m['energy_grad_per_s']:,.0f}"
        lines.append(
            f"| {m['label']} | {m['realism_deg']:.2f} | {m['coverage_deg']:.2f} | {_f(m['dataset1_coverage_deg'], '.2f')} "
            f"| {_f(m['dataset2_coverage_deg'], '.2f')} | {den} | {energy} | {m['sample_per_s']:,.0f} | {m['project_ms']:.3f} "
            f"| {m['parameters']:,} |"
        )
    cells = [
        f"{'clean' if x == 0 else f'{x:g} deg'}: dataset {d} ({n:,})" for x in noise for d, n in ((1, d1), (2, d2))
    ]
    by_dataset = [
        "| prior: denoising geo (deg) / MPJPE (mm) | " + " | ".join(cells) + " |",
        "|---" * (1 + len(cells)) + "|",
    ]
    for m in r["priors"].values():
        vals = [
            f"{_f(m[f'dataset{d}_geo_{x:g}_deg'])} / {_f(m[f'dataset{d}_mpjpe_{x:g}_mm'], '.0f')}"
            for x in noise
            for d in (1, 2)
        ]
        by_dataset.append(f"| {m['label']} | " + " | ".join(vals) + " |")
    return {"table": "\n".join(lines), "datasets": "\n".join(by_dataset)}


def _f(x: float | None, fmt: str = ".1f") -> str:
    return "-" if x is None else format(x, fmt)


def _datasets(split, index: torch.Tensor) -> dict[str, torch.Tensor]:
    """Rows of ``index`` (into ``split``) from dataset 1 and from dataset 2."""
    dataset1 = torch.tensor([name.startswith("dataset-1") for name in split.take_names])[split.take][index]
    return {"dataset1": dataset1.nonzero().squeeze(1), "dataset2": (~dataset1).nonzero().squeeze(1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", default=[], help="zoo name or exported model (repeatable)")
    parser.add_argument("--data", default="prepared/bandai-v1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-baselines", action="store_true", help="only the --model rows")
    parser.add_argument("--setting", help='results file setting (default: "" with the baselines, "references" without)')
    parser.add_argument(
        "--quick", action="store_true", help="a small subset, written under record.quick_dir() (not published)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    data = load_prepared(args.data, ["train", "test"])
    joints = PoseJoints.from_skeleton(data.skeleton, data.unit)
    split = data["test"]
    samples, denoise_poses, seconds = SAMPLES, DENOISE_POSES, 3.0
    test_index = torch.arange(len(split))
    if args.quick:
        samples, denoise_poses, seconds = QUICK["samples"], QUICK["denoise_poses"], QUICK["seconds"]
        test_index = torch.linspace(0, len(split) - 1, QUICK["test_poses"]).round().long()
    test = split.rotations[test_index]
    clean_index = torch.linspace(0, len(split) - 1, denoise_poses).round().long()
    clean = split.rotations[clean_index]
    test_datasets, clean_datasets = _datasets(split, test_index), _datasets(split, clean_index)
    priors: dict[str, PosePrior] = {spec: load(spec).eval() for spec in args.model}
    if not args.no_baselines:
        priors["independent"] = TangentGaussianPrior.fit(data["train"].rotations, "joint", joints)
        priors["none"] = UniformPrior(len(joints.names), joints)
    print(
        f"bandai-v1 test: {len(test)} poses; {samples} samples; denoising {denoise_poses} poses; {args.threads} threads",
        file=sys.stderr,
    )
    rows: dict[str, dict] = {}
    for key, prior in priors.items():
        name = BASELINES[key] if key in BASELINES and key not in args.model else label(key, prior)
        rows[key] = {
            "label": name,
            "class": type(prior).__name__,
            **evaluate(prior, test, clean, joints, test_datasets, clean_datasets, samples, seconds),
        }
        print(f"{name}: done", file=sys.stderr, flush=True)
    out = {
        "conditions": {
            "samples": samples,
            "denoise_poses": denoise_poses,
            "noise_deg": list(NOISE_DEG),
            "batch": BATCH,
            "threads": args.threads,
            "seeds": "samples: torch.manual_seed(0); noise of level i (0, 10, 20, 40 deg): torch.Generator seed i; "
            "the project timing's 20-degree noise: seed 9",
        },
        "priors": rows,
    }
    subset = {
        "split": "test",
        "poses": len(test),
        "chosen": "all test poses" if not args.quick else f"{len(test)} test poses evenly spaced over the split",
        "dataset1_poses": int(test_datasets["dataset1"].numel()),
        "dataset2_poses": int(test_datasets["dataset2"].numel()),
        "denoise_poses": denoise_poses,
        "denoise_chosen": f"{denoise_poses:,} test poses evenly spaced over the split (torch.linspace over its splits.json order, rounded)",
        "denoise_dataset1_poses": int(clean_datasets["dataset1"].numel()),
        "denoise_dataset2_poses": int(clean_datasets["dataset2"].numel()),
        "speed_poses": "the first 1,000 of those test poses",
        "baselines_fitted_on": None if args.no_baselines else "train",
    }
    setting = args.setting if args.setting is not None else ("references" if args.no_baselines else "")
    save("priors", out, subset=subset, setting=setting, quick=args.quick)
    shown = {"subset": subset, "results": out}
    print("\n\n".join(_blocks(shown).values()))
    return shown


if __name__ == "__main__":
    main()
