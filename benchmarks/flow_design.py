"""The flow prior's chart axes, argued on val (docs/benchmarks.md, "Pose priors on SO(3)^20").

A coupling flow transforms the three chart coordinates of a joint together with elementwise splines, so it
cannot model a correlation *inside* a joint. Which coordinates those are depends on how a rig orients its
joint frames: a knee hinge a few degrees off the frame's x axis is, once each coordinate is standardised, a
diagonal line. This script trains the shipped ``flow-bandai`` architecture twice from the same seed on
bandai-v1 train, with the chart's axes along the canonical body's joint frames (``rig``) and along each
joint's principal axes (``principal``, :meth:`poseprior.models.flow.SO3Chart.fit`), for
``--steps`` steps (the learning-rate schedule ends there), and scores both on the whole val split, dataset 1
(``dataset-1_*`` takes) and dataset 2 apart. Beside each: the largest absolute correlation between two
standardised coordinates of one joint on val, over the 20 joints (what the flow cannot model), and the
median log-likelihood per cross-lab source (``benchmarks/crosslab.py``'s takes at 10 fps on the canonical body:
other labs' motion, development data, never trained on), which says whether a choice generalises beyond
Bandai's rig.

Results (``record.save``): ``benchmarks/results/flow_design.json``: ``conditions`` (steps, batch_size, lr,
layers, hidden, bins, seed, threads) and ``variants``, per key ``rig`` and ``principal``:
``log_likelihood_nats``, ``dataset1_log_likelihood_nats``, ``dataset2_log_likelihood_nats``,
``max_joint_correlation``, ``train_minutes`` and ``crosslab_median_log_likelihood_nats`` (per source).

    .venv/bin/python benchmarks/flow_design.py [--steps 500] [--threads 2]

``--quick``: 10 steps on 5,000 train and 2,000 val poses and one take per cross-lab source, written under
``record.quick_dir()``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console

from crosslab import CROSSLAB, POSE_FPS, on_pose_skeleton, source_list
from poseprior.data import load_prepared
from poseprior.io import read_motion
from poseprior.models.flow import FlowConfig, FlowPrior, SO3Chart
from poseprior.models.prior import PoseJoints
from poseprior.retarget import source_rig
from poseprior.train import FlowObjective, TrainConfig, train
from record import save

#: The variants: results key -> label.
VARIANTS = {"rig": "the rig's joint frames (default)", "principal": "principal axes"}
REPO = Path(__file__).resolve().parents[1]


def crosslab_poses(shared: Path, takes: int | None) -> dict[str, torch.Tensor]:
    """Per cross-lab source, the ``(N, 20, 3, 3)`` pose rotations of its takes at 10 fps on the canonical body."""
    out = {}
    for source in source_list(shared, takes, 0):
        if source.name not in CROSSLAB:
            continue
        poses = []
        for path in source.paths:
            motion = read_motion(path)
            motion = motion.frames(slice(1, None)) if source.drop_first else motion
            poses.append(on_pose_skeleton(motion.resample(POSE_FPS), source_rig(motion)).rotations[:, 1:].float())
        out[source.name] = torch.cat(poses)
    return out


def build(config: FlowConfig, rotations: torch.Tensor, variant: str) -> FlowPrior:
    """``flow-bandai``'s initialisation (:meth:`FlowPrior.from_data`: the rig's frames), with the chart's axes of ``variant``."""
    chart = SO3Chart.fit(rotations)
    if variant == "rig":
        chart = SO3Chart(chart.centers)
    z = chart.to_euclidean(rotations.float())[0]
    return FlowPrior(config, chart.centers, z.mean(0), z.std(0).clamp_min(1e-6), chart.axes)


def max_joint_correlation(prior: FlowPrior, R: torch.Tensor) -> float:
    """Largest ``|correlation|`` between two standardised chart coordinates of one joint, over the joints."""
    z = prior.chart.to_euclidean(R.float())[0].unflatten(-1, (prior.num_joints, 3))
    c = torch.stack([torch.corrcoef(z[:, j].T) for j in range(prior.num_joints)]) - torch.eye(3)
    return float(c.abs().amax())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("prepared/bandai-v1"))
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--shared", type=Path, default=Path(os.environ.get("POSEPRIOR_SHARED", REPO.parent / "shared")) / "data"
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_prepared(args.data, ["train", "val"])
    train_R, val = data["train"].rotations, data["val"]
    val_R = val.rotations
    dataset1 = torch.tensor([n.startswith("dataset-1") for n in val.take_names])[val.take]
    steps = args.steps
    crosslab = crosslab_poses(args.shared, 1 if args.quick else None)
    if args.quick:
        train_R, val_R, dataset1, steps = train_R[:5000], val_R[:2000], dataset1[:2000], 10
    # flow-bandai's shipped architecture and optimiser (zoo/weights/flow-bandai.json).
    joints = PoseJoints.from_skeleton(data.skeleton, data.unit)
    config = FlowConfig(
        num_joints=len(joints.names), parents=joints.parents, joints=joints, layers=6, hidden=(256, 256), bins=6
    )
    settings = {"steps": steps, "batch_size": 2000, "lr": 1e-3, "warmup_steps": min(200, steps // 2)}
    variants = {}
    for key in VARIANTS:
        torch.manual_seed(0)
        prior = build(config, train_R, key)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            train(
                FlowObjective(prior),
                {"rotations": train_R},
                None,
                TrainConfig(
                    Path(out), seed=0, threads=args.threads, progress=False, checkpoint_every=steps, **settings
                ),
                console=Console(quiet=True),
            )
            minutes = (time.perf_counter() - start) / 60
        with torch.no_grad():
            ll = torch.cat([prior.eval().log_prob(r, validate=False) for r in val_R.split(4096)]).double()
            other = {
                k: float(torch.cat([prior.log_prob(r, validate=False) for r in R.split(4096)]).median())
                for k, R in crosslab.items()
            }
        variants[key] = {
            "log_likelihood_nats": float(ll.mean()),
            "dataset1_log_likelihood_nats": float(ll[dataset1].mean()),
            "dataset2_log_likelihood_nats": float(ll[~dataset1].mean()),
            "max_joint_correlation": max_joint_correlation(prior, val_R),
            "train_minutes": minutes,
            "crosslab_median_log_likelihood_nats": other,
        }
        print(
            f"{VARIANTS[key]}: val {variants[key]['log_likelihood_nats']:.1f} nats/pose ({minutes:.1f} min)", flush=True
        )
    result = {
        "conditions": {**settings, "layers": 6, "hidden": [256, 256], "bins": 6, "seed": 0, "threads": args.threads},
        "variants": variants,
    }
    subset = {
        "train": f"bandai-v1 train, {len(train_R):,} poses",
        "val": f"bandai-v1 val, {len(val_R):,} poses ({int(dataset1.sum()):,} dataset 1)",
        "crosslab": ", ".join(f"{k} {len(R):,}" for k, R in crosslab.items())
        + f" poses at {POSE_FPS:g} fps ({'one take per source' if args.quick else 'every take'} of crosslab-dev.zip and ../shared/data/cmu)",
    }
    save("flow_design", result, subset=subset, quick=args.quick)
    print(render(lambda setting="": {"results": result, "subset": subset})["chart_axes"])
    return result


def render(results) -> dict[str, str]:
    """The docs' blocks (``benchmarks/report.py``)."""
    r = results()
    c = r["results"]["conditions"]
    sources = list(r["results"]["variants"]["rig"].get("crosslab_median_log_likelihood_nats", {}))
    lines = [
        f"| chart axes | val log-likelihood (nats/pose): all / dataset 1 / dataset 2 | largest within-joint correlation | training ({c['steps']} steps) |"
        + "".join(f" {k}: median (nats/pose) |" for k in sources),
        "|---|---|---|---|" + "---|" * len(sources),
    ]
    for key, label in VARIANTS.items():
        v = r["results"]["variants"][key]
        lines.append(
            f"| {label} | {v['log_likelihood_nats']:.1f} / {v['dataset1_log_likelihood_nats']:.1f} / {v['dataset2_log_likelihood_nats']:.1f} "
            f"| {v['max_joint_correlation']:.2f} | {v['train_minutes']:.0f} min |"
            + "".join(f" {v['crosslab_median_log_likelihood_nats'][k]:.0f} |" for k in sources)
        )
    crosslab = f"; cross-lab: {r['subset']['crosslab']}" if "crosslab" in r["subset"] else ""
    lines.append(
        f"\n{r['subset']['val']}; trained on {r['subset']['train']}, seed {c['seed']}, {c['threads']} threads{crosslab}."
    )
    return {"chart_axes": "\n".join(lines)}


if __name__ == "__main__":
    main()
