"""Training: one loop for every model (:func:`train`), its settings (:class:`TrainConfig`), checkpoints,
multi-process data parallelism through torchrun, and the export of trained models.

Example:
    >>> from poseprior.train import FlowObjective, TrainConfig, export, train  # doctest: +SKIP
    >>> result = train(FlowObjective(prior), {"rotations": R}, {"rotations": R_val},  # doctest: +SKIP
    ...                TrainConfig("runs/flow", steps=2000, batch_size=2000, minutes=25))
    >>> export(prior, "runs/flow/flow", result=result)  # doctest: +SKIP
"""

from poseprior.train.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
)
from poseprior.train.config import TrainConfig
from poseprior.train.distributed import DistContext, init_distributed, launch
from poseprior.train.export import export
from poseprior.train.log import read_metrics
from poseprior.train.loop import Trainable, TrainResult, train
from poseprior.train.objectives import FlowObjective
from poseprior.train.schedule import warmup_cosine

__all__ = [
    "train",
    "TrainConfig",
    "TrainResult",
    "Trainable",
    "FlowObjective",
    "export",
    "read_metrics",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "launch",
    "init_distributed",
    "DistContext",
    "warmup_cosine",
]
