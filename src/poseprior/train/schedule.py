"""The learning-rate schedule: linear warm-up, then cosine decay (Loshchilov & Hutter, "SGDR", ICLR 2017)."""

from __future__ import annotations

import math

__all__ = ["warmup_cosine"]


def warmup_cosine(step: int, *, steps: int, warmup_steps: int, min_lr_ratio: float = 0.0) -> float:
    """Learning-rate factor for optimiser step ``step`` (0-based) of ``steps``.

    Rises linearly to 1 over the first ``warmup_steps`` steps (``(step + 1) / warmup_steps``), then follows a
    half cosine from 1 down to ``min_lr_ratio`` at ``steps``; stays there beyond.

    Example:
        >>> [round(warmup_cosine(s, steps=10, warmup_steps=2), 3) for s in (0, 1, 2, 6, 10)]
        [0.5, 1.0, 1.0, 0.5, 0.0]
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, steps - warmup_steps))
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
