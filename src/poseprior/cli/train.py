"""``poseprior train``: train a pose model on a prepared dataset: the flow prior (``flow``), its
keypoint-conditioned version (``flow-ik``), the VAE prior (``vae``), the distance-field prior (``ndf``) or
the lifters (``lifter-flow``, ``lifter-rot``), with checkpoints, ``--resume``, a time limit, multi-process data
parallelism and an export
for :func:`poseprior.load`.

Registered in :mod:`poseprior.cli.app` as ``app.add_typer(train.app, name="train")``. Several processes:
``--nproc N`` (this machine), or the same command under ``torchrun --nproc_per_node N -m poseprior.cli.app
train flow ...`` (several machines too); the batch size is per process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from poseprior.cli.options import check_device_option

app = typer.Typer(help="Train pose priors on a prepared dataset (see `poseprior data prepare`).", no_args_is_help=True)

Data = Annotated[
    Path, typer.Option("--data", help="A prepared dataset folder (train and val splits).", show_default=False)
]
Out = Annotated[
    Path, typer.Option("--out", help="Run folder: checkpoints, metrics.jsonl, run.json.", show_default=False)
]
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
Device = Annotated[
    str | None, typer.Option(help="cpu, cuda or cuda:N (default: cuda if available).", callback=check_device_option)
]
Nproc = Annotated[
    int, typer.Option("--nproc", min=1, help="Processes on this machine (data parallel, torchrun's agent).")
]
Export = Annotated[
    Path | None,
    typer.Option("--export", help="Exported model NAME (NAME.json + NAME.safetensors); default OUT/<model>."),
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
    noise: Annotated[
        float, typer.Option(min=0.0, help="Noise on visible training observations (fractions of the skeleton size).")
    ] = 0.002,
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


Layout = Annotated[
    str | None,
    typer.Option(help="2D keypoint layout the lifter reads: h36m17, coco17, or none for the skeleton's joints."),
]
PixelNoise = Annotated[
    float, typer.Option("--pixel-noise", min=0.0, help="Gaussian noise on the training pixels (px per coordinate).")
]
DropProbability = Annotated[
    float,
    typer.Option("--drop", min=0.0, max=1.0, help="Probability of dropping each training keypoint (confidence 0)."),
]


@app.command("lifter-flow")
def lifter_flow(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="A prepared dataset folder, or Human3.6M 3D joints (VideoPose3D's data_3d_h36m.npz; layout h36m17).",
            show_default=False,
        ),
    ],
    out: Out,
    steps: Steps = 10_000,
    batch_size: BatchSize = 256,
    lr: Lr = 1e-3,
    warmup: Warmup = 200,
    weight_decay: WeightDecay = 0.0,
    grad_clip: GradClip = 5.0,
    layers: Annotated[int, typer.Option(min=1, help="Autoregressive spline transforms of the flow.")] = 5,
    hidden: Hidden = 256,
    mlp_layers: MlpLayers = 2,
    bins: Bins = 8,
    context: Annotated[int, typer.Option(min=1, help="Size of the 2D encoding fed to the flow.")] = 64,
    passes: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Coupling transforms with this many passes (2: one-pass sampling, 17x faster on bandai-v1); default autoregressive.",
        ),
    ] = None,
    layout: Layout = None,
    pixel_noise: PixelNoise = 2.0,
    drop: DropProbability = 0.1,
    train_subjects: Annotated[
        str, typer.Option("--train-subjects", help="Human3.6M data: training subjects.")
    ] = "S1,S5,S6,S7",
    val_subjects: Annotated[
        str, typer.Option("--val-subjects", help="Human3.6M data: validation subjects (S9, S11 are the usual test).")
    ] = "S8",
    every: Annotated[int, typer.Option(min=1, help="Human3.6M data: keep every N-th frame (5: 50 fps to 10 fps).")] = 5,
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
    """The flow lifter (ProbabilisticLifter): 2D keypoints to many 3D hypotheses with exact likelihoods.

    Trains on a prepared motion dataset (poses by forward kinematics), or on Human3.6M-style 3D joints
    (every 5th frame by default, seen by the same random cameras; the layout is h36m17).

    Example: poseprior train lifter-flow --data prepared/bandai-v1 --out runs/lifter-flow --minutes 30
    """
    _main("lifter-flow", locals())


@app.command("lifter-rot")
def lifter_rot(
    data: Data,
    out: Out,
    steps: Steps = 10_000,
    batch_size: BatchSize = 256,
    lr: Lr = 1e-3,
    warmup: Warmup = 200,
    weight_decay: WeightDecay = 0.0,
    grad_clip: GradClip = 5.0,
    window: Annotated[int, typer.Option(min=1, help="Frames per input window (odd), centred on the lifted frame.")] = 9,
    channels: Annotated[int, typer.Option(min=1, help="Channels of the temporal convolution.")] = 512,
    blocks: Annotated[int, typer.Option(min=0, help="Per-frame blocks after the temporal ones.")] = 1,
    layout: Layout = None,
    pixel_noise: PixelNoise = 2.0,
    drop: DropProbability = 0.1,
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
    """The rotation lifter (RotationLifter): windows of 2D keypoints to 3D joints and joint rotations.

    Example: poseprior train lifter-rot --data prepared/bandai-v1 --out runs/lifter-rot --minutes 30
    """
    _main("lifter-rot", locals())


@app.command("vae")
def vae(
    data: Data,
    out: Out,
    steps: Steps = 8000,
    batch_size: BatchSize = 512,
    lr: Lr = 1e-3,
    warmup: Warmup = 200,
    weight_decay: WeightDecay = 0.0,
    grad_clip: GradClip = 5.0,
    hidden: Annotated[int, typer.Option(min=1, help="Width of the hidden layers.")] = 512,
    layers: Annotated[int, typer.Option(min=1, help="Hidden layers of the encoder and of the decoder (mlp).")] = 2,
    latent: Annotated[int, typer.Option(min=1, help="Dimension of the latent code.")] = 32,
    dropout: Annotated[float, typer.Option(min=0.0, max=0.99, help="Dropout probability.")] = 0.0,
    input: Annotated[
        str, typer.Option("--input", help="Encoder features: rotmat, sixd or rotvec (axis-angle).")
    ] = "rotmat",
    rotation_weight: Annotated[
        float, typer.Option("--rotation-weight", min=0.0, help="Weight of the geodesic error (rad).")
    ] = 2.0,
    position_weight: Annotated[
        float, typer.Option("--position-weight", min=0.0, help="Weight of the joint position error (m).")
    ] = 10.0,
    kl_weight: Annotated[
        float, typer.Option("--kl-weight", min=0.0, help="Weight of the KL divergence (nats).")
    ] = 0.01,
    kl_warmup: Annotated[int, typer.Option("--kl-warmup", min=0, help="Steps of linear KL weight warm-up from 0.")] = 0,
    input_noise: Annotated[
        float,
        typer.Option("--input-noise", min=0.0, help="Denoising: max RMS noise angle on the encoder's input, degrees."),
    ] = 40.0,
    energy_sigma: Annotated[
        float, typer.Option("--energy-sigma", min=0.0, help="Energy's reconstruction scale, degrees.")
    ] = 5.0,
    reference_architecture: Annotated[
        bool,
        typer.Option(
            "--reference-architecture",
            help="VPoser V02's networks (axis-angle in, width 512, latent 32, dropout 0.1), ignoring the options "
            "above them; the loss options still apply.",
        ),
    ] = False,
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
    """The VAE prior over the dataset's pose joints (VAEPrior, VPoser's design): geodesic, joint position and
    KL losses.

    Example: poseprior train vae --data prepared/bandai-v1 --out runs/vae --minutes 8 --export runs/vae-bandai
    """
    _main("vae", locals())


@app.command("ndf")
def ndf(
    data: Data,
    out: Out,
    steps: Steps = 20_000,
    batch_size: BatchSize = 1000,
    lr: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="Peak learning rate (AdamW, warm-up then cosine decay); default 3e-2, 1e-3 for the reference."
        ),
    ] = None,
    warmup: Warmup = 200,
    weight_decay: WeightDecay = 0.0,
    grad_clip: GradClip = 5.0,
    hidden: Annotated[int, typer.Option(min=1, help="Width of the distance MLP's hidden layers.")] = 256,
    mlp_layers: Annotated[int, typer.Option("--mlp-layers", min=1, help="Hidden layers of the distance MLP.")] = 2,
    encoder_features: Annotated[
        int, typer.Option("--encoder-features", min=1, help="Feature size per joint of the tree encoder.")
    ] = 8,
    input: Annotated[str, typer.Option("--input", help="Per-joint input: matrix or quaternion.")] = "matrix",
    pairs: Annotated[
        int, typer.Option(min=1, help="Labelled training poses (perturbed train poses and sampler seeds).")
    ] = 100_000,
    val_pairs: Annotated[
        int, typer.Option("--val-pairs", min=1, help="Labelled validation poses (perturbed val poses).")
    ] = 5_000,
    nn_reference: Annotated[
        int, typer.Option("--nn-reference", min=0, help="Train poses to label against (a seeded subset; 0: all).")
    ] = 0,
    reference_architecture: Annotated[
        bool,
        typer.Option(
            "--reference-architecture",
            help="Pose-NDF's published network, losses and 100-step projection, ignoring the network options above.",
        ),
    ] = False,
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
    """The distance-field prior (DistanceFieldPrior, Pose-NDF's idea): distances of perturbed poses to their
    nearest training pose, labelled once before training (its time is not in --minutes).

    Example: poseprior train ndf --data prepared/bandai-v1 --out runs/ndf --minutes 8 --export runs/ndf-bandai
    """
    if lr is None:
        lr = 1e-3 if reference_architecture else 3e-2  # measured on bandai-v1: 3e-2 beat 1e-2 and 3e-3
    _main("ndf", locals())


def _main(kind: str, opts: dict[str, Any]) -> None:
    from rich.console import Console

    from poseprior.data.cache import read_manifest
    from poseprior.errors import FormatError, ValidationError
    from poseprior.train.checkpoint import latest_checkpoint
    from poseprior.train.distributed import resolve_device

    # Bad input fails here, before any process starts.
    if _is_h36m(kind, opts):
        if not opts["data"].is_file():
            raise FormatError(opts["data"], "no such file (--data: a prepared folder or a data_3d_h36m.npz)")
        if opts["layout"] not in (None, "h36m17"):
            raise ValidationError(f"--layout: Human3.6M joints give the h36m17 layout, not {opts['layout']}")
    else:
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

    from poseprior.train import TrainConfig, export, train

    torch.manual_seed(opts["seed"])
    job = _h36m_flow_lifter(opts) if _is_h36m(kind, opts) else _prepared_job(kind, opts)
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
    result = train(job.objective, job.train_data, job.val_data, train_config, resume=opts["resume"])
    if result.rank != 0:
        return None
    path = export(
        job.model,
        opts["export"],
        result=result,
        data=job.source,
        description=job.description,
        licence=job.licence,
        extra={"train_config": train_config.to_dict()},
    )
    return {**result.to_dict(), "export": str(path), "kind": kind}


@dataclass
class _Job:
    """What one training run needs: the model to export, the objective to train (the model itself, or a
    wrapper holding it), the data, and the export's description of both."""

    model: Any
    objective: Any
    train_data: Any
    val_data: Any
    description: str
    source: str
    licence: str


def _prepared_job(kind: str, opts: dict[str, Any]) -> _Job:
    """The model of ``kind`` and its train and val data from the prepared dataset ``--data``."""
    from poseprior.data import load_prepared
    from poseprior.models.prior import PoseJoints

    data = load_prepared(opts["data"], ["train", "val"])
    joints = PoseJoints.from_skeleton(data.skeleton, data.unit)
    flow_args = (
        {"layers": opts["layers"], "hidden": (opts["hidden"],) * opts["mlp_layers"], "bins": opts["bins"]}
        if kind.startswith("flow")
        else {}
    )
    train_split, val_split = data["train"], data["val"]
    objective = None  # the model trains itself, but for the flow
    if kind == "vae":
        model = _vae_model(opts, joints, train_split.rotations)
        keys = ("rotations",)
        description = (
            f"VAE prior over the {len(joints.names)} {data.protocol.name} joint rotations (VAEPrior, VPoser's design)."
        )
    elif kind == "flow":
        from poseprior.models.flow import FlowConfig, FlowPrior
        from poseprior.train import FlowObjective

        config = FlowConfig(num_joints=len(joints.names), parents=joints.parents, joints=joints, **flow_args)
        model = FlowPrior.from_data(config, train_split.rotations)
        objective, keys = FlowObjective(model), ("rotations",)
        description = f"Flow prior over the {len(joints.names)} {data.protocol.name} joint rotations (FlowPrior)."
    elif kind == "ndf":
        model = _ndf_model(opts, joints, train_split.rotations)
        train_data, val_data = _ndf_pairs(model, opts, train_split.rotations, val_split.rotations)
        description = (
            f"Distance field to the {data.protocol.name} training poses (DistanceFieldPrior, Pose-NDF's idea)."
        )
    elif kind == "lifter-flow":
        from poseprior.data.lifting import LiftingConfig
        from poseprior.models.lifter import FlowLifterConfig, ProbabilisticLifter

        lifting = LiftingConfig(
            layout=opts["layout"], pixel_noise_px=opts["pixel_noise"], drop_probability=opts["drop"]
        )
        config = FlowLifterConfig(
            joints=joints,
            lifting=lifting,
            transforms=opts["layers"],
            hidden=(opts["hidden"],) * opts["mlp_layers"],
            bins=opts["bins"],
            context=opts["context"],
            passes=opts["passes"],
        )
        model = ProbabilisticLifter.from_data(
            config, {"rotations": train_split.rotations, "root_rotation": train_split.root_rotation}
        )
        keys = ("rotations", "root_rotation")
        description = f"Flow lifter from 2D keypoints to {data.protocol.name} root-relative 3D joints, many hypotheses (ProbabilisticLifter)."
    elif kind == "lifter-rot":
        from poseprior.data.lifting import LiftingConfig
        from poseprior.models.lifter.rotation import (
            RotationLifter,
            RotationLifterConfig,
            sequence_windows,
        )

        lifting = LiftingConfig(
            layout=opts["layout"], pixel_noise_px=opts["pixel_noise"], drop_probability=opts["drop"]
        )
        config = RotationLifterConfig(
            joints=joints, lifting=lifting, window=opts["window"], channels=opts["channels"], blocks=opts["blocks"]
        )
        model = RotationLifter.from_data(config, train_split.rotations, train_split.root_rotation)
        train_data, val_data = (
            sequence_windows(train_split, opts["window"]),
            sequence_windows(val_split, opts["window"]),
        )
        description = f"Lifter from windows of 2D keypoints to {data.protocol.name} 3D joints and joint rotations (RotationLifter)."
    else:
        from poseprior.models.flow.condition import ConditionConfig
        from poseprior.models.flow.conditional import (
            ConditionalFlowConfig,
            ConditionalFlowPrior,
        )

        up = (0.0, 0.0, 1.0) if data.manifest.get("dataset") == "amass" else (0.0, 1.0, 0.0)
        condition = ConditionConfig(context=opts["context"], noise=opts["noise"], up=up)
        config = ConditionalFlowConfig.for_joints(joints, condition, **flow_args)
        model = ConditionalFlowPrior.from_data(config, train_split.rotations, train_split.root_rotation)
        keys = ("rotations", "root_rotation")
        description = (
            f"Flow over the {data.protocol.name} joint rotations conditioned on 3D/2D keypoints (ConditionalFlowPrior)."
        )
    if kind not in ("ndf", "lifter-rot"):
        train_data = {k: getattr(train_split, k) for k in keys}
        val_data = {k: getattr(val_split, k)[_val_rows(kind)] for k in keys}
    source = f"{data.root} ({data.protocol.name} train split, {len(train_split)} poses)"
    return _Job(
        model,
        model if objective is None else objective,
        train_data,
        val_data,
        description,
        source,
        _licence(data.manifest.get("dataset", "")),
    )


def _val_rows(kind: str) -> slice:
    # The flow lifter's mode inverts an autoregressive flow (one pass per coordinate): validate on every
    # 10th val pose so that an evaluation takes seconds, not minutes.
    return slice(None, None, 10) if kind == "lifter-flow" else slice(None)


def _is_h36m(kind: str, opts: dict[str, Any]) -> bool:
    """Whether ``--data`` is a Human3.6M 3D joints file rather than a prepared dataset folder."""
    return kind == "lifter-flow" and opts["data"].suffix.lower() == ".npz"


def _subjects(text: str, option: str) -> tuple[str, ...]:
    from poseprior.errors import ValidationError

    subjects = tuple(s.strip() for s in text.split(",") if s.strip())
    if not subjects:
        raise ValidationError(f"{option}: expected comma-separated subjects such as S1,S5, got {text!r}")
    return subjects


def _h36m_flow_lifter(opts: dict[str, Any]) -> _Job:
    """The flow lifter of the options and its data, from Human3.6M-style 3D joints (h36m17 keypoints)."""
    from poseprior.data.lifting import H36M_UP, LiftingConfig, h36m_lifting_splits
    from poseprior.models.lifter import FlowLifterConfig, ProbabilisticLifter
    from poseprior.models.prior import PoseJoints
    from poseprior.skeleton.layouts import H36M17

    train_subjects = _subjects(opts["train_subjects"], "--train-subjects")
    splits = h36m_lifting_splits(
        opts["data"], train_subjects, _subjects(opts["val_subjects"], "--val-subjects"), every=opts["every"]
    )
    # The 17 keypoints below the pelvis, as a pose without rest offsets: the training data are keypoints.
    joints = PoseJoints(
        H36M17.joint_names[1:], tuple(p - 1 for p in H36M17.parents[1:]), root=H36M17.joint_names[0], unit_mm=1.0
    )
    lifting = LiftingConfig(
        layout="h36m17", pixel_noise_px=opts["pixel_noise"], drop_probability=opts["drop"], up=H36M_UP
    )
    config = FlowLifterConfig(
        joints=joints,
        lifting=lifting,
        transforms=opts["layers"],
        hidden=(opts["hidden"],) * opts["mlp_layers"],
        bins=opts["bins"],
        context=opts["context"],
        passes=opts["passes"],
    )
    train_data = {"keypoints": splits["train"]}
    model = ProbabilisticLifter.from_data(config, train_data)
    val_data = {"keypoints": splits["val"][_val_rows("lifter-flow")]}
    description = "Flow lifter from 2D keypoints to Human3.6M-style root-relative 3D joints (h36m17), many hypotheses (ProbabilisticLifter)."
    source = f"{opts['data']} (subjects {', '.join(train_subjects)}, every {opts['every']} frames, {len(splits['train'])} poses)"
    return _Job(model, model, train_data, val_data, description, source, _licence("human3.6m"))


def _vae_model(opts: dict[str, Any], joints: Any, rotations: Any) -> Any:
    """The untrained VAEPrior of the ``vae`` command's options, its input standardised on ``rotations``."""
    from poseprior.models.vae import VAEConfig, VAEPrior

    K = len(joints.names)
    losses = {
        "rotation_weight": opts["rotation_weight"],
        "position_weight": opts["position_weight"],
        "kl_weight": opts["kl_weight"],
        "kl_warmup": opts["kl_warmup"],
        "input_noise_deg": opts["input_noise"],
        "energy_sigma_deg": opts["energy_sigma"],
        "joints": joints,
    }
    if opts["reference_architecture"]:
        config = VAEConfig.vposer_v02(K, **losses)
    else:
        net = {k: opts[k] for k in ("input", "hidden", "layers", "latent", "dropout")}
        config = VAEConfig(K, architecture="mlp", **net, **losses)
    return VAEPrior.from_data(config, rotations)


def _ndf_model(opts: dict[str, Any], joints: Any, rotations: Any) -> Any:
    """The untrained DistanceFieldPrior of the ``ndf`` command's options, centred on ``rotations``."""
    from poseprior.models.ndf import DistanceFieldConfig, DistanceFieldPrior

    K = len(joints.names)
    if opts["reference_architecture"]:
        config = DistanceFieldConfig.posendf_reference(K, joints.parents, joints=joints)
    else:
        net = {"hidden": (opts["hidden"],) * opts["mlp_layers"], "encoder_features": opts["encoder_features"]}
        config = DistanceFieldConfig(K, joints.parents, features=opts["input"], joints=joints, **net)
    return DistanceFieldPrior.from_data(config, rotations)


def _ndf_pairs(model: Any, opts: dict[str, Any], train_rotations: Any, val_rotations: Any) -> tuple[dict, dict]:
    """Labelled training and validation pairs (seeded: a resumed run gets the same), both labelled against the
    training poses (a seeded subset of ``--nn-reference`` of them when given)."""
    import time

    import torch
    from rich.console import Console

    if opts["threads"]:
        torch.set_num_threads(opts["threads"])
    reference = train_rotations
    if 0 < opts["nn_reference"] < len(train_rotations):
        keep = torch.randperm(len(train_rotations), generator=torch.Generator().manual_seed(opts["seed"]))
        reference = train_rotations[keep[: opts["nn_reference"]].sort().values]
    start = time.perf_counter()
    train_pairs = model.training_pairs(train_rotations, opts["pairs"], reference, seed=opts["seed"])
    val_pairs = model.training_pairs(val_rotations, opts["val_pairs"], reference, seed=opts["seed"] + 1)
    if int(os.environ.get("RANK", "0")) == 0:
        Console().print(
            f"labelled {opts['pairs']} + {opts['val_pairs']} poses against {len(reference)} training poses "
            f"in {time.perf_counter() - start:.1f} s",
            highlight=False,
        )
    return train_pairs, val_pairs


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
