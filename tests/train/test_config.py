"""``TrainConfig`` checks and round trip; the warm-up + cosine schedule."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from poseprior.errors import ValidationError
from poseprior.train import TrainConfig, warmup_cosine


def test_config_round_trip_and_checks():
    c = TrainConfig("runs/x", steps=10, minutes=1.5, grad_clip=None, device="cpu")
    assert c.out == Path("runs/x") and TrainConfig.from_dict(c.to_dict()) == c
    assert c.to_dict()["out"] == "runs/x"
    for bad, name in [(dict(batch_size=0), "batch_size"), (dict(warmup_steps=-1), "warmup_steps"),
                      (dict(minutes=0), "minutes"), (dict(threads=0), "threads"), (dict(weight_decay=-1), "weight_decay"),
                      (dict(eval_every=1.5), "eval_every")]:  # fmt: skip
        with pytest.raises(ValidationError, match=name):
            TrainConfig("x", **bad)


def test_warmup_cosine():
    f = lambda s: warmup_cosine(s, steps=110, warmup_steps=10, min_lr_ratio=0.1)  # noqa: E731
    assert [f(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert f(10) == pytest.approx(1.0) and f(60) == pytest.approx(0.55) and f(110) == pytest.approx(0.1)
    assert f(500) == pytest.approx(0.1)
    assert warmup_cosine(0, steps=4, warmup_steps=0) == 1.0
    assert warmup_cosine(2, steps=4, warmup_steps=0) == pytest.approx(0.5 * (1 + math.cos(math.pi / 2)))
