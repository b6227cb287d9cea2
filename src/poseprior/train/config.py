"""``TrainConfig``: how a model is trained (optimiser, schedule, evaluation, checkpoints, limits)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from poseprior.errors import ValidationError

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`poseprior.train.train`.

    Attributes:
        out: run folder: ``checkpoints/``, ``metrics.jsonl``, ``run.json``.
        steps: optimiser steps in total (a resumed run continues up to it).
        batch_size: poses per step *per process*; the global batch is ``batch_size x world size``.
        lr: peak learning rate (AdamW).
        warmup_steps: linear warm-up from 0 to ``lr``, then a cosine decay to ``lr * min_lr_ratio`` at ``steps``.
        min_lr_ratio: final learning rate as a fraction of ``lr``.
        weight_decay: AdamW's decoupled weight decay.
        grad_clip: clip the global gradient norm to this (``None``: no clipping).
        eval_every: steps between evaluations on the whole validation split (also at the last step).
        eval_batch_size: poses per validation batch.
        checkpoint_every: steps between checkpoints (also at the last step and when the time limit stops the run).
        keep_checkpoints: how many of the latest checkpoints to keep.
        log_every: steps between lines of ``metrics.jsonl`` (mean training loss over those steps).
        seed: seed of the minibatch sampling and of the generator passed to the model's loss.
        threads: ``torch.set_num_threads`` per process (``None``: torch's default).
        minutes: time limit on the run's total training time (summed over resumes): when reached, the run
            evaluates, checkpoints and stops cleanly before ``steps``.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` (``None``: CUDA if available; under torchrun each process
            takes ``cuda:LOCAL_RANK``).
        progress: show a rich progress bar (rank 0 only).
    """

    out: Path
    steps: int = 10_000
    batch_size: int = 2000
    lr: float = 1e-3
    warmup_steps: int = 200
    min_lr_ratio: float = 0.0
    weight_decay: float = 0.0
    grad_clip: float | None = 5.0
    eval_every: int = 500
    eval_batch_size: int = 4096
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 10
    seed: int = 0
    threads: int | None = None
    minutes: float | None = None
    device: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        positive = ("steps", "batch_size", "eval_every", "eval_batch_size", "checkpoint_every", "keep_checkpoints",
                    "log_every", "threads")  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValidationError(f"{name}: expected a positive integer, got {value!r}")
        for name in ("lr", "grad_clip", "minutes"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValidationError(f"{name}: expected a positive number, got {value!r}")
        if not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ValidationError(f"warmup_steps: expected a non-negative integer, got {self.warmup_steps!r}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValidationError(f"min_lr_ratio: expected a number in [0, 1], got {self.min_lr_ratio!r}")
        if not self.weight_decay >= 0:
            raise ValidationError(f"weight_decay: expected a non-negative number, got {self.weight_decay!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


#: Fields that define the optimisation trajectory: a resumed run must keep them (the others may change).
TRAJECTORY_FIELDS = ("batch_size", "lr", "warmup_steps", "min_lr_ratio", "weight_decay", "grad_clip", "seed")
