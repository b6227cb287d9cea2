"""Pose-prior numbers on bandai-v1 (docs/benchmarks.md, "Flow prior"): test log-likelihood, speed, memory.

For each ``--model`` (a zoo name or an exported model path) and for the two baselines fitted on train
(independent per-joint and full-covariance tangent-space Gaussians, :mod:`poseprior.models.baseline`):

- mean log-likelihood in nats/pose on bandai-v1 **test** (never used for fitting or tuning), and on the fixed
  subset of the first 1000 test poses (splits.json order, every 3rd frame), the number recorded beside shipped
  weights and checked by the tests;
- throughput of ``log_prob`` (validating its input, as a user calls it) and of ``sample``, poses/s at
  batch 1000;
- for trainable models, one training step at batch 2000 (``-log_prob(R, validate=False).mean()``, backward,
  Adam step) in steps/s, and the peak resident memory (max RSS) of a fresh process that loads the train split
  and the model and runs those steps;
- parameter counts (trainable parameters; for the Gaussians, means and covariances).

Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/flow.py --model flow-bandai [--model runs/flow/export/flow.json] [--subset N]

``--subset N`` scores only the first N test poses (quick runs); the fixed-subset column is unaffected.
``--record`` writes each exported model's fixed-subset number into its ``NAME.json`` (``training`` record
``fixed_subset_log_likelihood``), the number ``tests/models/flow/test_prior.py`` checks shipped weights against.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable

import torch

from poseprior.data import load_prepared
from poseprior.models.baseline import TangentGaussianPrior
from poseprior.models.prior import ExactPosePrior, PoseJoints
from poseprior.zoo import load
from record import save

FIXED_SUBSET = 1000
BATCH = 1000
TRAIN_BATCH = 2000


def rate(fn: Callable[[], object], items: int, seconds: float = 3.0) -> float:
    """Items per second of ``fn``, after 2 warm-up calls, over at least ``seconds`` (and 3 calls)."""
    for _ in range(2):
        fn()
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return items * calls / (time.perf_counter() - start)


@torch.no_grad()
def mean_log_likelihood(prior: ExactPosePrior, R: torch.Tensor) -> float:
    return torch.cat([prior.log_prob(R[i : i + 4096]).double() for i in range(0, R.shape[0], 4096)]).mean().item()


def train_step_child(model: str, data: str, threads: int, steps: int) -> None:
    """In a fresh process: train steps at batch 2000 on the train split; prints steps/s and max RSS as JSON."""
    torch.set_num_threads(threads)
    train = load_prepared(data, ["train"]).splits["train"].rotations
    prior = load(model).train()
    optimizer = torch.optim.Adam(prior.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)

    def step() -> None:
        batch = train[torch.randint(0, train.shape[0], (TRAIN_BATCH,), generator=g)]
        loss = -prior.log_prob(batch, validate=False).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    steps_per_s = rate(step, 1, seconds=steps)
    print(
        json.dumps(
            {"steps_per_s": steps_per_s, "max_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
        )
    )


def train_step(model: str, data: str, threads: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--data",
            data,
            "--threads",
            str(threads),
            "--train-seconds",
            str(seconds),
            "--child",
            model,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(
    prior: ExactPosePrior, params: int, test: torch.Tensor, fixed: torch.Tensor, datasets: dict[str, torch.Tensor]
) -> dict:
    """Log-likelihoods (all test poses, the fixed subset, each dataset) and speeds of one prior."""
    R = test[:BATCH]
    with torch.no_grad():
        lp = rate(lambda: prior.log_prob(R), BATCH)
        sp = rate(lambda: prior.sample(BATCH), BATCH)
    return {
        "parameters": params,
        "test_log_likelihood_nats": mean_log_likelihood(prior, test),
        "fixed_subset_log_likelihood_nats": mean_log_likelihood(prior, fixed),
        **{
            f"{d}_log_likelihood_nats": mean_log_likelihood(prior, test[rows]) if len(rows) else None
            for d, rows in datasets.items()
        },
        "log_prob_per_s": lp,
        "sample_per_s": sp,
    }


def training_record(model: str) -> dict:
    """How the model was trained, from its card: steps, wall time, threads, the best validation log-likelihood."""
    from poseprior.zoo import info

    record = info(model).training or {}
    config = record.get("train_config", {})
    return {
        "steps": record.get("steps"),
        "wall_time_s": record.get("wall_time_s"),
        "threads": config.get("threads"),
        "batch_size": config.get("batch_size"),
        "best_val_log_likelihood_nats": record.get("best_val_log_likelihood"),
        "data": record.get("data"),
    }


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' blocks from the results file, ``results()`` (``benchmarks/report.py``)."""
    r = results()
    s = r["subset"]
    head = (
        f"| model | parameters | test log-likelihood, all {s['poses']:,} poses (nats/pose) | dataset 1 ({s['dataset1_poses']:,}) "
        f"| dataset 2 ({s['dataset2_poses']:,}) | first {FIXED_SUBSET} test poses | log_prob (poses/s, batch {BATCH}) "
        f"| sample (poses/s, batch {BATCH}) | training step, batch {TRAIN_BATCH} |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    rows = [
        (f"{n} ({m['class']})", m, f"{m['train_steps_per_s']:.2f} steps/s, peak RSS {m['train_peak_rss_gb']:.2f} GB")
        for n, m in r["results"]["models"].items()
    ]
    rows += [
        (f"baseline: {LABELS[k]}", m, f"closed-form fit on train: {m['fit_s']:.1f} s")
        for k, m in r["results"].get("baselines", {}).items()
    ]
    for name, m, training in rows:
        lines.append(
            f"| {name} | {m['parameters']:,} | {m['test_log_likelihood_nats']:.2f} | {_nats(m['dataset1_log_likelihood_nats'])} "
            f"| {_nats(m['dataset2_log_likelihood_nats'])} | {m['fixed_subset_log_likelihood_nats']:.3f} | {m['log_prob_per_s']:,.0f} "
            f"| {m['sample_per_s']:,.0f} | {training} |"
        )
    return {"table": "\n".join(lines)}


LABELS = {"joint": "independent per-joint tangent Gaussians", "full": "full-covariance tangent Gaussian"}


def _nats(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def record_fixed_subset(model: str, value: float) -> None:
    """Write ``value`` (3 decimals) as ``training.fixed_subset_log_likelihood`` in the model's json, atomically."""
    from poseprior._atomic import atomic_open
    from poseprior.zoo import info

    json_path = info(model).path
    card = json.loads(json_path.read_text())
    card.setdefault("training", {})["fixed_subset_log_likelihood"] = round(value, 3)
    with atomic_open(json_path, "w") as f:
        json.dump(card, f, indent=1)
        f.write("\n")
    print(f"recorded {value:.3f} in {json_path}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="prepared/bandai-v1", help="prepared bandai-v1 folder")
    parser.add_argument("--model", action="append", default=[], help="zoo name or exported model path (repeatable)")
    parser.add_argument("--subset", type=int, default=None, help="score only the first N test poses")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-seconds", type=int, default=10, help="time the training step over this long")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--record", action="store_true", help="write the fixed-subset number into each model's json")
    parser.add_argument(
        "--quick", action="store_true", help="a small subset, written under record.quick_dir() (not published)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        train_step_child(args.child, args.data, args.threads, args.train_seconds)
        return
    if args.quick:
        args.subset, args.train_seconds = args.subset or 500, 1
    torch.set_num_threads(args.threads)
    ds = load_prepared(args.data)
    split = ds.splits["test"]
    test_all = split.rotations
    test = test_all[: args.subset] if args.subset else test_all
    fixed = test_all[:FIXED_SUBSET]
    # Dataset 1 (held-out styles) and dataset 2 (repeated contents) apart: they measure different things.
    dataset = torch.tensor([name.startswith("dataset-1") for name in split.take_names])[split.take][: test.shape[0]]
    datasets = {"dataset1": dataset.nonzero().squeeze(1), "dataset2": (~dataset).nonzero().squeeze(1)}
    models: dict[str, dict] = {}
    for name in args.model:
        prior = load(name)
        if not isinstance(prior, ExactPosePrior):
            print(f"skipping {name}: a {type(prior).__name__} has no unconditional log_prob", file=sys.stderr)
            continue
        params = sum(p.numel() for p in prior.parameters() if p.requires_grad)
        t = train_step(name, args.data, args.threads, args.train_seconds)
        models[name] = {
            "class": type(prior).__name__,
            **measure(prior, params, test, fixed, datasets),
            "train_steps_per_s": t["steps_per_s"],
            "train_peak_rss_gb": t["max_rss_gb"],
        }
        models[name]["training"] = training_record(name)
        if args.record:
            record_fixed_subset(name, models[name]["fixed_subset_log_likelihood_nats"])
    out: dict = {"models": models}
    if not args.skip_baselines:
        joints = PoseJoints.from_skeleton(ds.skeleton, ds.unit)
        train = ds.splits["train"].rotations
        out["baselines"] = {}
        for covariance in LABELS:
            start = time.perf_counter()
            prior = TangentGaussianPrior.fit(train, covariance, joints)
            fit_s = time.perf_counter() - start
            out["baselines"][covariance] = {
                "class": "TangentGaussianPrior",
                **measure(prior, prior.num_parameters(), test, fixed, datasets),
                "fit_s": fit_s,
            }
    subset = {
        "split": "test",
        "poses": int(test.shape[0]),
        "chosen": "all test poses" if not args.subset else f"the first {args.subset} test poses (splits.json order)",
        "dataset1_poses": int(datasets["dataset1"].numel()),
        "dataset2_poses": int(datasets["dataset2"].numel()),
        "fixed_subset": f"the first {FIXED_SUBSET} test poses (splits.json order, every 3rd frame)",
        "baselines_fitted_on": "train",
    }
    save("flow", out, subset=subset, quick=args.quick)
    print(render(lambda setting="": {"subset": subset, "results": out})["table"])


if __name__ == "__main__":
    main()
