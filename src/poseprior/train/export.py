"""Export a trained model for :func:`poseprior.zoo.load`: ``NAME.safetensors`` + ``NAME.json``.

The format is :mod:`poseprior.zoo.files`; this module adds the training record.

Example:
    >>> result = train(FlowObjective(prior), data, val, config)  # doctest: +SKIP
    >>> export(prior, "runs/flow/flow", result=result, data="prepared/bandai-v1")  # doctest: +SKIP
    >>> prior = poseprior.zoo.load("runs/flow/flow.json")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from poseprior.train.loop import HEADLINE, TrainResult
from poseprior.zoo.files import write_model

__all__ = ["export"]


def export(
    model: nn.Module,
    path: str | Path,
    *,
    result: TrainResult | None = None,
    data: str | None = None,
    description: str = "",
    licence: str = "",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (of a class registered in :mod:`poseprior.zoo.classes`) to ``NAME.safetensors`` +
    ``NAME.json``, atomically; returns the json path. The joints and skeleton come from the model (see
    :func:`~poseprior.zoo.files.write_model`).

    Args:
        model: the trained model (for a flow trained through ``FlowObjective``, its ``prior``).
        path: ``NAME``, ``NAME.json`` or ``NAME.safetensors``.
        result: the :func:`~poseprior.train.train` result, recorded as steps, wall time and validation metrics.
        data: a description of the training data (e.g. the prepared folder and split).
        description, licence: one line each; the licence must carry the training data's conditions.
        extra: more training metadata.
    """
    training: dict[str, Any] = {"data": data}
    if result is not None:
        training.update(
            steps=result.steps,
            wall_time_s=round(result.elapsed_s, 1),
            val_log_likelihood=result.val.get(HEADLINE),
            best_val_log_likelihood=result.best_val.get(HEADLINE),
            val=result.val,
            world_size=result.world_size,
            stopped_early=result.stopped_early,
        )
    training.update(extra or {})
    return write_model(model, path, description=description, licence=licence, training=training)
