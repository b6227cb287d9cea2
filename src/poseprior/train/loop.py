"""The training loop shared by every model: :func:`train`.

The model protocol
------------------
A model plugs in by being a :class:`Trainable`: an ``nn.Module`` with

- ``config``: a dataclass with ``to_dict()`` (recorded in checkpoints; a resumed run must match it);
- ``loss(batch, generator) -> Tensor``: the scalar loss of a minibatch, differentiable in every parameter
  (data-parallel training needs all of them in the graph). ``batch`` maps each key of the training data to
  its rows for this minibatch, on the training device; ``generator`` is a ``torch.Generator`` on that device
  for any randomness of the loss (e.g. random masking), saved in checkpoints so resumed runs repeat it;
- ``validation_metrics(batch) -> dict[str, float]``: means over a validation batch (called under
  ``torch.no_grad()`` in eval mode). The loop averages them over the whole validation split, weighted by
  batch size. A ``"log_likelihood"`` key (nats per pose, higher is better) is the headline metric: the
  progress bar shows it and the best evaluation is chosen by it (by the lowest ``"loss"`` without it).

:class:`~poseprior.train.objectives.FlowObjective` adapts a :class:`~poseprior.models.flow.FlowPrior`; the
conditional flow implements the protocol itself.

Data are in-memory dicts of tensors sharing their first dimension (``{"rotations": (N, K, 3, 3), ...}``).
Minibatches are drawn by random index with replacement, with no epochs.

Distributed runs
----------------
Under ``torchrun`` (see :mod:`poseprior.train.distributed`) each of the ``W`` processes draws the same global
minibatch of ``W x batch_size`` indices from a shared generator and keeps its own slice; DDP averages the
gradients, so a step equals a single-process step on the global batch up to floating-point rounding and the
loss's own randomness. Validation is split between the processes. Only rank 0 writes files and prints.

Run folder
----------
``OUT/run.json`` (configs), ``OUT/metrics.jsonl`` (:mod:`poseprior.train.log`) and ``OUT/checkpoints/``
(:mod:`poseprior.train.checkpoint`). ``resume=True`` continues from the latest checkpoint bit for bit.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch
from torch import nn

from poseprior._atomic import atomic_open
from poseprior.errors import PosePriorError, ValidationError
from poseprior.train.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    remove_temporary,
    save_checkpoint,
)
from poseprior.train.config import TRAJECTORY_FIELDS, TrainConfig
from poseprior.train.distributed import DistContext, init_distributed
from poseprior.train.log import MetricsLog
from poseprior.train.schedule import warmup_cosine

__all__ = ["Trainable", "TrainResult", "train"]

HEADLINE = "log_likelihood"
_MAX_BAD_STEPS = 100  # consecutive non-finite gradients before giving up


@runtime_checkable
class Trainable(Protocol):
    """What :func:`train` needs from a model (see the module docstring)."""

    config: Any

    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> torch.Tensor: ...

    def validation_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, float]: ...


@dataclass(frozen=True)
class TrainResult:
    """What a :func:`train` call did.

    Attributes:
        steps: the step reached.
        elapsed_s: training wall time in seconds, summed over resumes.
        loss: the last logged mean training loss (``None`` before the first log).
        val: validation metrics at the last evaluation (with its ``"step"``).
        best_val: validation metrics at the evaluation with the highest ``log_likelihood`` (lowest ``loss``
            without it; the last evaluation if the model reports neither).
        stopped_early: the time limit stopped the run before ``config.steps``.
        checkpoint: the last checkpoint written (``None`` on ranks > 0).
        skipped_steps: steps skipped because the gradient was not finite.
        rank, world_size: this process in the run.
    """

    steps: int
    elapsed_s: float
    loss: float | None
    val: dict[str, float] = field(default_factory=dict)
    best_val: dict[str, float] = field(default_factory=dict)
    stopped_early: bool = False
    checkpoint: Path | None = None
    skipped_steps: int = 0
    rank: int = 0
    world_size: int = 1

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["checkpoint"] = None if self.checkpoint is None else str(self.checkpoint)
        return d


if TYPE_CHECKING:
    from rich.console import Console


class _PlainConsole:
    """Where the loop prints when rich (the ``[cli]`` extra) is not installed: stdout, no bar."""

    def print(self, text: str, **_: Any) -> None:
        print(text, flush=True)


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *_: Any) -> None:
        return None

    def add_task(self, *_: Any, **__: Any) -> int:
        return 0

    def update(self, *_: Any, **__: Any) -> None:
        return None


def _default_console() -> Console | _PlainConsole:
    try:
        from rich.console import Console
    except ImportError:
        return _PlainConsole()
    return Console()


def _progress_bar(console: Console | _PlainConsole, show: bool):
    """rich's progress bar on ``console`` when asked for and rich is there, else one that shows nothing."""
    if not show or isinstance(console, _PlainConsole):
        return _NoProgress()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]train"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console)


def train(
    model: nn.Module,
    train_data: dict[str, torch.Tensor],
    val_data: dict[str, torch.Tensor] | None,
    config: TrainConfig,
    *,
    resume: bool = False,
    console: Console | _PlainConsole | None = None,
) -> TrainResult:
    """Train ``model`` (a :class:`Trainable`) in place with AdamW, warm-up + cosine schedule and gradient clipping.

    Args:
        model: the model; moved to the training device.
        train_data: ``{key: (N, ...)}`` training tensors (any device; copied to the training device).
        val_data: ``{key: (M, ...)}`` validation tensors, evaluated whole every ``config.eval_every`` steps
            (``None``: no validation).
        config: the settings; ``config.out`` is the run folder.
        resume: continue from the latest checkpoint in ``config.out`` (starts afresh if there is none).
            Without it, a folder that holds checkpoints is refused rather than overwritten.
        console: where rank 0 prints (default: stdout).

    Returns:
        a :class:`TrainResult`. Under torchrun it must be called by every process.

    Example:
        >>> result = train(FlowObjective(prior), {"rotations": R}, {"rotations": R_val},  # doctest: +SKIP
        ...                TrainConfig("runs/flow", steps=2000))
    """
    if not isinstance(model, nn.Module) or not isinstance(model, Trainable):
        raise ValidationError(
            "model: expected an nn.Module with config, loss(batch, generator) and validation_metrics(batch)"
        )
    ctx = init_distributed(config.device)
    try:
        return _Trainer(model, train_data, val_data, config, ctx, console or _default_console()).run(resume)
    finally:
        if ctx.owns_group:
            torch.distributed.destroy_process_group()


class _LossModule(nn.Module):
    """``forward = model.loss``, so that DDP's forward hooks see the loss computation."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> torch.Tensor:
        return self.model.loss(batch, generator)


class _Trainer:
    def __init__(
        self, model, train_data, val_data, cfg: TrainConfig, ctx: DistContext, console: Console | _PlainConsole
    ):
        if cfg.threads is not None:
            torch.set_num_threads(cfg.threads)
        self.cfg, self.ctx, self.console = cfg, ctx, console
        self.model = model.to(ctx.device).train()
        self.train_data = _prepare_data(train_data, "train_data", ctx.device)
        self.val_data = None if val_data is None else _prepare_data(val_data, "val_data", ctx.device)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        factor = partial(warmup_cosine, steps=cfg.steps, warmup_steps=cfg.warmup_steps, min_lr_ratio=cfg.min_lr_ratio)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, factor)
        self.data_gen = torch.Generator().manual_seed(cfg.seed)
        self.loss_gen = torch.Generator(device=ctx.device).manual_seed(_loss_seed(cfg.seed, ctx.rank, 0))
        self.log = MetricsLog(cfg.out / "metrics.jsonl", enabled=ctx.is_main)
        self.step, self.prev_elapsed, self.skipped, self.bad = 0, 0.0, 0, 0
        self.loss_sum, self.loss_count = torch.zeros((), dtype=torch.float64, device=ctx.device), 0
        self.last_loss: float | None = None
        self.last_val: dict[str, float] = {}
        self.best_val: dict[str, float] = {}

    # -- state ---------------------------------------------------------------------------------------------

    def _rank_state(self) -> dict[str, Any]:
        return {
            "loss_rng": self.loss_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.ctx.device) if self.ctx.device.type == "cuda" else None,
            "loss_sum": float(self.loss_sum),
            "loss_count": self.loss_count,
        }

    def _state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "elapsed_s": self._elapsed(),
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "data_rng": self.data_gen.get_state(),
            "ranks": self.ctx.all_gather(self._rank_state()),
            "world_size": self.ctx.world_size,
            "skipped_steps": self.skipped,
            "last_loss": self.last_loss,
            "last_val": self.last_val,
            "best_val": self.best_val,
            "model_config": _plain(self.model.config.to_dict()),
            "train_config": self.cfg.to_dict(),
        }

    def _find_checkpoint(self, resume: bool) -> tuple[dict[str, Any] | None, str | None]:
        """On rank 0: the checkpoint to resume from, or why the run cannot start."""
        out = self.cfg.out
        remove_temporary(out)
        path = latest_checkpoint(out)
        if path is None:
            return None, None
        if not resume:
            return None, f"out: {out} already holds a run ({path.name}); resume it (--resume) or choose another folder"
        state = load_checkpoint(path)
        if state["model_config"] != _plain(self.model.config.to_dict()):
            return None, f"resume: the model config differs from the one of {path} ({state['model_config']})"
        changed = [k for k in TRAJECTORY_FIELDS if state["train_config"].get(k) != getattr(self.cfg, k)]
        if changed:
            old = ", ".join(f"{k}={state['train_config'].get(k)!r}" for k in changed)
            return None, f"resume: {path} was trained with {old}; resume with the same settings"
        return state, None

    def _restore(self, resume: bool) -> None:
        state, error = self.ctx.broadcast(self._find_checkpoint(resume) if self.ctx.is_main else (None, None))
        if error:
            raise ValidationError(error)
        if state is None:
            return
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        self.data_gen.set_state(state["data_rng"])
        self.step, self.prev_elapsed, self.skipped = state["step"], state["elapsed_s"], state["skipped_steps"]
        self.last_loss, self.last_val, self.best_val = state["last_loss"], state["last_val"], state["best_val"]
        if state["world_size"] == self.ctx.world_size:
            mine = state["ranks"][self.ctx.rank]
            self.loss_gen.set_state(mine["loss_rng"])
            torch.set_rng_state(mine["torch_rng"])
            if mine["cuda_rng"] is not None and self.ctx.device.type == "cuda":
                torch.cuda.set_rng_state(mine["cuda_rng"], self.ctx.device)
            self.loss_sum.fill_(mine["loss_sum"])
            self.loss_count = mine["loss_count"]
        else:  # another process count: the trajectory changes anyway, keep the loss randomness distinct per rank
            self.loss_gen.manual_seed(_loss_seed(self.cfg.seed, self.ctx.rank, self.step))
            self._print(f"resuming a {state['world_size']}-process run on {self.ctx.world_size}: not bit-identical")

    # -- steps -----------------------------------------------------------------------------------------------

    def _elapsed(self) -> float:
        return self.prev_elapsed + time.perf_counter() - self.t0

    def _out_of_time(self) -> bool:
        if self.cfg.minutes is None:
            return False
        late = float(self._elapsed() >= 60 * self.cfg.minutes)
        return self.ctx.all_reduce([late], "max")[0] > 0  # every rank stops at the same step

    def _batch(self) -> dict[str, torch.Tensor]:
        B, r = self.cfg.batch_size, self.ctx.rank
        n = next(iter(self.train_data.values())).shape[0]
        idx = torch.randint(n, (B * self.ctx.world_size,), generator=self.data_gen)[r * B : (r + 1) * B]
        idx = idx.to(self.ctx.device)
        return {k: v[idx] for k, v in self.train_data.items()}

    def _train_step(self, forward: nn.Module) -> None:
        loss = forward(self._batch(), self.loss_gen)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip or math.inf)
        lr = self.opt.param_groups[0]["lr"]
        if torch.isfinite(norm):  # gradients are already averaged over ranks: all take the same branch
            self.opt.step()
            self.loss_sum += loss.detach().double()
            self.loss_count += 1
            self.bad = 0
        else:
            self.skipped += 1
            self.bad += 1
            if self.bad >= _MAX_BAD_STEPS:
                raise PosePriorError(
                    f"step {self.step}: {self.bad} steps in a row had non-finite gradients; lower the learning rate"
                )
        self.sched.step()
        self.step += 1
        self.last_norm, self.last_lr = float(norm), lr

    def _log_train(self) -> None:
        total, count = self.ctx.all_reduce([float(self.loss_sum), float(self.loss_count)])
        self.loss_sum.zero_()
        self.loss_count = 0
        if count:
            self.last_loss = total / count
        session = time.perf_counter() - self.t0
        self.log.write(
            {
                "step": self.step,
                "kind": "train",
                "loss": self.last_loss,
                "lr": self.last_lr,
                "grad_norm": self.last_norm,
                "skipped_steps": self.skipped,
                "elapsed_s": round(self._elapsed(), 3),
                "steps_per_s": round((self.step - self.start) / max(session, 1e-9), 3),
            }
        )

    @torch.no_grad()
    def _evaluate(self) -> None:
        data = self.val_data
        n = next(iter(data.values())).shape[0]
        W, r, eb = self.ctx.world_size, self.ctx.rank, self.cfg.eval_batch_size
        lo, hi = r * n // W, (r + 1) * n // W
        sums: dict[str, float] = {}
        self.model.eval()
        for s in range(lo, hi, eb):
            e = min(s + eb, hi)
            for k, v in self.model.validation_metrics({k: t[s:e] for k, t in data.items()}).items():
                sums[k] = sums.get(k, 0.0) + float(v) * (e - s)
        self.model.train()
        merged: dict[str, float] = {}
        for part in self.ctx.all_gather(sums):
            for k, v in part.items():
                merged[k] = merged.get(k, 0.0) + v
        self.last_val = {"step": self.step, **{k: v / n for k, v in sorted(merged.items())}}
        if not self.best_val or _score(self.last_val) >= _score(self.best_val):
            self.best_val = dict(self.last_val)
        self.log.write({"step": self.step, "kind": "val", **{k: v for k, v in self.last_val.items() if k != "step"}})
        shown = ", ".join(f"{k} {v:.4g}" for k, v in self.last_val.items() if k != "step")
        self._print(f"step {self.step}: val {shown}")

    def _checkpoint(self) -> Path | None:
        state = self._state()  # every rank joins the gathering of generator states
        if not self.ctx.is_main:
            return None
        return save_checkpoint(self.cfg.out, state, keep=self.cfg.keep_checkpoints)

    def _print(self, text: str) -> None:
        if self.ctx.is_main:
            self.console.print(text, highlight=False, soft_wrap=True)

    # -- the run ---------------------------------------------------------------------------------------------

    def _write_run_json(self) -> None:
        if not self.ctx.is_main:
            return
        run = {
            "model_class": type(self.model).__name__,
            "model_config": _plain(self.model.config.to_dict()),
            "train_config": self.cfg.to_dict(),
            "world_size": self.ctx.world_size,
            "global_batch_size": self.cfg.batch_size * self.ctx.world_size,
            "data": {
                "train": next(iter(self.train_data.values())).shape[0],
                "val": None if self.val_data is None else next(iter(self.val_data.values())).shape[0],
            },
        }
        with atomic_open(self.cfg.out / "run.json", "w") as f:
            json.dump(run, f, indent=1)

    def run(self, resume: bool) -> TrainResult:
        cfg = self.cfg
        if self.ctx.is_main:
            cfg.out.mkdir(parents=True, exist_ok=True)
        self._restore(resume)
        self.log.restart_at(self.step)
        self._write_run_json()
        forward: nn.Module = _LossModule(self.model)
        if self.ctx.world_size > 1:
            ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            forward = nn.parallel.DistributedDataParallel(forward, device_ids=ids)
        self.t0, self.start = time.perf_counter(), self.step
        self.last_norm, self.last_lr = math.nan, self.opt.param_groups[0]["lr"]
        stopped, checkpoint, evaluated_at, saved_at = False, None, -1, -1
        progress = _progress_bar(self.console, cfg.progress and self.ctx.is_main)
        with progress:
            task = progress.add_task("train", total=cfg.steps, completed=self.step, stats="")
            while self.step < cfg.steps:
                if self._out_of_time():
                    stopped = True
                    break
                self._train_step(forward)
                last = self.step == cfg.steps
                if self.step % cfg.log_every == 0 or last:
                    self._log_train()
                if self.val_data is not None and (self.step % cfg.eval_every == 0 or last):
                    self._evaluate()
                    evaluated_at = self.step
                if self.step % cfg.checkpoint_every == 0 or last:
                    checkpoint, saved_at = self._checkpoint(), self.step
                progress.update(task, completed=self.step, stats=self._stats())
            if stopped:
                self._print(f"time limit of {cfg.minutes:g} min reached at step {self.step}")
                if self.loss_count:
                    self._log_train()
                if self.val_data is not None and evaluated_at != self.step:
                    self._evaluate()
                if saved_at != self.step:
                    checkpoint = self._checkpoint()
        return TrainResult(
            steps=self.step,
            elapsed_s=self._elapsed(),
            loss=self.last_loss,
            val=self.last_val,
            best_val=self.best_val,
            stopped_early=stopped,
            checkpoint=checkpoint or (latest_checkpoint(cfg.out) if self.ctx.is_main else None),
            skipped_steps=self.skipped,
            rank=self.ctx.rank,
            world_size=self.ctx.world_size,
        )

    def _stats(self) -> str:
        parts = []
        if self.last_loss is not None:
            parts.append(f"loss {self.last_loss:.4g}")
        if HEADLINE in self.last_val:
            parts.append(f"val {self.last_val[HEADLINE]:.2f}")
        session = time.perf_counter() - self.t0
        parts.append(f"{(self.step - self.start) / max(session, 1e-9):.2f} steps/s")
        return " | ".join(parts)


def _score(metrics: dict[str, float]) -> float:
    """Higher is better: the headline log-likelihood, else minus the loss, else 0 (the last evaluation wins)."""
    if HEADLINE in metrics:
        return metrics[HEADLINE]
    return -metrics["loss"] if "loss" in metrics else 0.0


def _loss_seed(seed: int, rank: int, step: int) -> int:
    """Seed of a rank's loss generator, distinct from the data generator's and between ranks."""
    return (seed * 1_000_003 + (rank + 1) * 7919 + step) % (2**63)


def _plain(config: dict[str, Any]) -> Any:
    """``config`` through JSON (tuples become lists), so that saved and live configs compare equal."""
    return json.loads(json.dumps(config))


def _prepare_data(data: dict[str, torch.Tensor], name: str, device: torch.device) -> dict[str, torch.Tensor]:
    if not isinstance(data, dict) or not data:
        raise ValidationError(f"{name}: expected a non-empty dict of tensors")
    sizes = set()
    for k, v in data.items():
        if not isinstance(v, torch.Tensor) or v.ndim == 0:
            raise ValidationError(f"{name}[{k!r}]: expected a tensor with a first (pose) dimension")
        sizes.add(v.shape[0])
    if len(sizes) != 1 or 0 in sizes:
        raise ValidationError(f"{name}: the tensors must share a non-zero first dimension, got {sorted(sizes)}")
    return {k: v.to(device) for k, v in data.items()}
