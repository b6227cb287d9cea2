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
    print(json.dumps({"steps_per_s": steps_per_s, "max_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


def train_step(model: str, data: str, threads: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--data", data, "--threads", str(threads), "--train-seconds", str(seconds), "--child", model],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(name: str, prior: ExactPosePrior, params: int, test: torch.Tensor, fixed: torch.Tensor, training: str) -> str:
    ll = mean_log_likelihood(prior, test)
    ll_fixed = mean_log_likelihood(prior, fixed)
    R = test[:BATCH]
    with torch.no_grad():
        lp = rate(lambda: prior.log_prob(R), BATCH)
        sp = rate(lambda: prior.sample(BATCH), BATCH)
    return f"| {name} | {params:,} | {ll:.2f} | {ll_fixed:.3f} | {lp:,.0f} | {sp:,.0f} | {training} |"


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
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        train_step_child(args.child, args.data, args.threads, args.train_seconds)
        return
    torch.set_num_threads(args.threads)
    ds = load_prepared(args.data)
    test_all = ds.splits["test"].rotations
    test = test_all[: args.subset] if args.subset else test_all
    fixed = test_all[:FIXED_SUBSET]
    rows = [
        f"| model | parameters | test log-likelihood, {test.shape[0]:,} poses (nats/pose) | first {FIXED_SUBSET} test poses "
        f"| log_prob (poses/s, batch {BATCH}) | sample (poses/s, batch {BATCH}) | training step, batch {TRAIN_BATCH} |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.model:
        prior = load(name)
        if not isinstance(prior, ExactPosePrior):
            print(f"skipping {name}: a {type(prior).__name__} has no unconditional log_prob", file=sys.stderr)
            continue
        params = sum(p.numel() for p in prior.parameters() if p.requires_grad)
        t = train_step(name, args.data, args.threads, args.train_seconds)
        training = f"{t['steps_per_s']:.2f} steps/s, peak RSS {t['max_rss_gb']:.2f} GB"
        rows.append(row(name, prior, params, test, fixed, training))
        if args.record:
            record_fixed_subset(name, mean_log_likelihood(prior, fixed))
    if not args.skip_baselines:
        joints = PoseJoints.from_skeleton(ds.skeleton, ds.unit)
        train = ds.splits["train"].rotations
        for covariance, label in (("joint", "independent per-joint tangent Gaussians"), ("full", "full-covariance tangent Gaussian")):
            start = time.perf_counter()
            prior = TangentGaussianPrior.fit(train, covariance, joints)
            fit = f"closed-form fit on train: {time.perf_counter() - start:.1f} s"
            rows.append(row(f"baseline: {label}", prior, prior.num_parameters(), test, fixed, fit))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
