"""``poseprior train``: train the flow prior (``flow``) or its keypoint-conditioned version (``flow-ik``) on a
prepared dataset, with checkpoints, ``--resume``, a time limit, multi-process data parallelism and an export
for :func:`poseprior.load`.

Registered in :mod:`poseprior.cli.app` as ``app.add_typer(train.app, name="train")``. Several processes:
``--nproc N`` (this machine), or the same command under ``torchrun --nproc_per_node N -m poseprior.cli.app
train flow ...`` (several machines too); the batch size is per process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Train pose priors on a prepared dataset (see `poseprior data prepare`).", no_args_is_help=True)

Data = Annotated[Path, typer.Option("--data", help="A prepared dataset folder (train and val splits).", show_default=False)]
Out = Annotated[Path, typer.Option("--out", help="Run folder: checkpoints, metrics.jsonl, run.json.", show_default=False)]
Steps = Annotated[int, typer.Option(min=1, help="Optimiser steps in total.")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Poses per step per process.")]
Lr = Annotated[float, typer.Option(min=0.0, help="Peak learning rate (AdamW, warm-up then cosine decay).")]
Warmup = Annotated[int, typer.Option(min=0, help="Warm-up steps.")]
WeightDecay = Annotated[float, typer.Option("--weight-decay", min=0.0, help="AdamW weight decay.")]
GradClip = Annotated[float, typer.Option("--grad-clip", min=0.0, help="Gradient norm clip (0: none).")]
Layers = Annotated[int, typer.Option(min=1, help="Coupling layers of the flow.")]
Hidden = Annotated[int, typer.Option(min=1, help="Width of each coupling layer's MLP.")]
MlpLayers = Annotated[int, typer.Option("--mlp-layers", min=1, help="Hidden layers of each coupling layer's MLP.")]
Bins = Annotated[int, typer.Option(min=2, help="Spline bins per coordinate.")]
Minutes = Annotated[
    float | None, typer.Option(min=0.0, help="Time limit on total training time: checkpoint and stop when reached.")
]
Resume = Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its latest checkpoint.")]
Seed = Annotated[int, typer.Option(help="Seed of the initialisation and the minibatches.")]
CheckpointEvery = Annotated[int, typer.Option("--checkpoint-every", min=1, help="Steps between checkpoints.")]
EvalEvery = Annotated[int, typer.Option("--eval-every", min=1, help="Steps between evaluations on the val split.")]
Threads = Annotated[int | None, typer.Option(min=1, help="Torch threads per process (default: cores / processes).")]
Device = Annotated[str | None, typer.Option(help="cpu, cuda or cuda:N (default: cuda if available).")]
Nproc = Annotated[int, typer.Option("--nproc", min=1, help="Processes on this machine (data parallel, torchrun's agent).")]
Export = Annotated[
    Path | None, typer.Option("--export", help="Exported model NAME (NAME.json + NAME.safetensors); default OUT/<model>.")
]
ShowProgress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]


@app.command("flow")
def flow(
    data: Data,
    out: Out,
    steps: Steps = 20_000,
    batch_size: BatchSize = 2000,
    lr: Lr = 1e-3,
    warmup: Warmup = 200,
    weight_decay: WeightDecay = 0.0,
    grad_clip: GradClip = 5.0,
    layers: Layers = 8,
    hidden: Hidden = 256,
    mlp_layers: MlpLayers = 2,
    bins: Bins = 8,
    minutes: Minutes = None,
    resume: Resume = False,
    seed: Seed = 0,
    checkpoint_every: CheckpointEvery = 500,
    eval_every: EvalEvery = 500,
    threads: Threads = None,
    device: Device = None,
    nproc: Nproc = 1,
    export: Export = None,
    progress: ShowProgress = True,
) -> None:
    """The flow prior over the dataset's pose joints (FlowPrior), by maximum likelihood.

    Example: poseprior train flow --data prepared/bandai-v1 --out runs/flow --minutes 25 --export runs/flow-bandai
    """
    _main("flow", locals())


@app.command("flow-ik")
def flow_ik(
    data: Data,
    out: Out,
    steps: Steps = 20_000,
    batch_size: BatchSize = 2000,
    lr: Lr = 1e-3,
    warmup: Warmup = 200,
    weight_decay: WeightDecay = 0.0,
    grad_clip: GradClip = 5.0,
    layers: Layers = 8,
    hidden: Hidden = 256,
    mlp_layers: MlpLayers = 2,
    bins: Bins = 8,
    context: Annotated[int, typer.Option(min=1, help="Size of the observation encoding fed to the flow.")] = 64,
    noise: Annotated[float, typer.Option(min=0.0, help="Noise on visible training observations (fractions of the skeleton size).")] = 0.002,
    minutes: Minutes = None,
    resume: Resume = False,
    seed: Seed = 0,
    checkpoint_every: CheckpointEvery = 500,
    eval_every: EvalEvery = 500,
    threads: Threads = None,
    device: Device = None,
    nproc: Nproc = 1,
    export: Export = None,
    progress: ShowProgress = True,
) -> None:
    """The flow conditioned on 3D/2D keypoints with random masking (ConditionalFlowPrior): IK with uncertainty.

    Example: poseprior train flow-ik --data prepared/bandai-v1 --out runs/flow-ik --export runs/flow-ik-bandai
    """
    _main("flow-ik", locals())


def _main(kind: str, opts: dict[str, Any]) -> None:
    from rich.console import Console

    from poseprior.data.cache import read_manifest
    from poseprior.errors import ValidationError
    from poseprior.train.checkpoint import latest_checkpoint
    from poseprior.train.distributed import resolve_device

    # Bad input fails here, before any process starts.
    read_manifest(opts["data"])
    resolve_device(opts["device"])
    if not opts["resume"] and latest_checkpoint(opts["out"]) is not None:
        raise ValidationError(f"--out: {opts['out']} already holds a run; pass --resume or choose another folder")
    if opts["export"] is None:
        opts["export"] = opts["out"] / kind
    if opts["nproc"] > 1 and "WORLD_SIZE" not in os.environ:
        from poseprior.train.distributed import launch

        summary = launch(opts["nproc"], run, kind, opts)
    else:
        summary = run(kind, opts)
    if summary is not None:
        _print_summary(Console(), summary)


def run(kind: str, opts: dict[str, Any]) -> dict[str, Any] | None:
    """Train in this process (one of several under torchrun); rank 0 exports and returns a summary."""
    import torch

    from poseprior.data import load_prepared
    from poseprior.models.prior import PoseJoints
    from poseprior.train import TrainConfig, export, train

    torch.manual_seed(opts["seed"])
    data = load_prepared(opts["data"], ["train", "val"])
    joints = PoseJoints.from_skeleton(data.skeleton, data.unit)
    flow_args = {"layers": opts["layers"], "hidden": (opts["hidden"],) * opts["mlp_layers"], "bins": opts["bins"]}
    train_split, val_split = data["train"], data["val"]
    if kind == "flow":
        from poseprior.models.flow import FlowConfig, FlowPrior
        from poseprior.train import FlowObjective

        config = FlowConfig(num_joints=len(joints.names), parents=joints.parents, joints=joints, **flow_args)
        model = FlowPrior.from_data(config, train_split.rotations)
        objective, keys = FlowObjective(model), ("rotations",)
        description = f"Flow prior over the {len(joints.names)} {data.protocol.name} joint rotations (FlowPrior)."
    else:
        from poseprior.models.flow.condition import ConditionConfig
        from poseprior.models.flow.conditional import ConditionalFlowConfig, ConditionalFlowPrior

        up = (0.0, 0.0, 1.0) if data.manifest.get("dataset") == "amass" else (0.0, 1.0, 0.0)
        condition = ConditionConfig(context=opts["context"], noise=opts["noise"], up=up)
        config = ConditionalFlowConfig.for_joints(joints, condition, **flow_args)
        model = objective = ConditionalFlowPrior.from_data(config, train_split.rotations, train_split.root_rotation)
        keys = ("rotations", "root_rotation")
        description = f"Flow over the {data.protocol.name} joint rotations conditioned on 3D/2D keypoints (ConditionalFlowPrior)."
    threads = opts["threads"]
    if threads is None and int(os.environ.get("LOCAL_WORLD_SIZE", "1")) > 1:
        threads = max(1, (os.cpu_count() or 1) // int(os.environ["LOCAL_WORLD_SIZE"]))
    train_config = TrainConfig(
        out=opts["out"],
        steps=opts["steps"],
        batch_size=opts["batch_size"],
        lr=opts["lr"],
        warmup_steps=opts["warmup"],
        weight_decay=opts["weight_decay"],
        grad_clip=opts["grad_clip"] or None,
        eval_every=opts["eval_every"],
        checkpoint_every=opts["checkpoint_every"],
        seed=opts["seed"],
        threads=threads,
        minutes=opts["minutes"] or None,
        device=opts["device"],
        progress=opts["progress"],
    )
    result = train(
        objective,
        {k: getattr(train_split, k) for k in keys},
        {k: getattr(val_split, k) for k in keys},
        train_config,
        resume=opts["resume"],
    )
    if result.rank != 0:
        return None
    path = export(
        model,
        opts["export"],
        result=result,
        data=f"{data.root} ({data.protocol.name} train split, {len(train_split)} poses)",
        description=description,
        licence=_licence(data.manifest.get("dataset", "")),
        extra={"train_config": train_config.to_dict()},
    )
    return {**result.to_dict(), "export": str(path), "kind": kind}


def _licence(dataset: str) -> str:
    from poseprior.zoo import BANDAI_LICENCE

    if dataset == "bandai":
        return BANDAI_LICENCE
    return f"trained on {dataset or 'user'} data: the weights inherit the licence of that data"


def _print_summary(console: Any, s: dict[str, Any]) -> None:
    best = s["best_val"]
    if "log_likelihood" in best:
        headline = f"best val log-likelihood {best['log_likelihood']:.2f} nats/pose (step {best['step']})"
    elif best:
        headline = "best val " + ", ".join(f"{k} {v:.4g}" for k, v in best.items())
    else:
        headline = "no validation"
    stop = " (time limit reached)" if s["stopped_early"] else ""
    t = s["elapsed_s"]
    took = f"{t:.1f} s" if t < 120 else f"{t / 60:.1f} min"
    console.print(f"{s['steps']} steps{stop} in {took} on {s['world_size']} process(es); {headline}", soft_wrap=True)
    console.print(f"exported to {s['export']} (+ .safetensors); checkpoint {s['checkpoint']}", soft_wrap=True)
