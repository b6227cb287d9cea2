"""Multi-process data-parallel training over ``torch.distributed`` (gloo on CPU, NCCL on CUDA).

A run is distributed when it is started by ``torchrun`` (or by :func:`launch`, which runs the same elastic
agent in-process): the environment then holds ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous
address, and :func:`init_distributed` joins the process group.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.elastic.multiprocessing.errors import record

from poseprior._device import check_device
from poseprior.errors import PosePriorError

__all__ = ["DistContext", "init_distributed", "resolve_device", "launch"]


@dataclass(frozen=True)
class DistContext:
    """This process's place in a run: ``rank`` of ``world_size`` processes, and its device."""

    rank: int
    world_size: int
    device: torch.device
    owns_group: bool  # True when init_distributed created the process group (and must destroy it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce(self, values: list[float], op: str = "sum") -> list[float]:
        """Sum (``"sum"``) or maximum (``"max"``) of ``values`` element-wise over the processes."""
        if self.world_size == 1:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX)
        return t.tolist()

    def all_gather(self, obj: Any) -> list[Any]:
        """``obj`` of every process, by rank (picklable objects)."""
        if self.world_size == 1:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every process."""
        if self.world_size == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def resolve_device(device: str | torch.device | None, local_rank: int = 0) -> torch.device:
    """The training device: ``device``, or CUDA if available, else CPU; a bare ``"cuda"`` means ``cuda:local_rank``."""
    dev = check_device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local_rank)
    return dev


def init_distributed(device: str | torch.device | None = None) -> DistContext:
    """Join the torchrun process group if the environment describes one, else a single-process context."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1 and not dist.is_initialized():
        return DistContext(0, 1, resolve_device(device), False)
    dev = resolve_device(device, int(os.environ.get("LOCAL_RANK", "0")))
    if dev.type == "cuda":
        torch.cuda.set_device(dev)  # NCCL works on the current device
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), dev, owns)


def launch(nproc: int, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(*args)`` in ``nproc`` processes on this machine, as ``torchrun --standalone --nproc_per_node``
    would (torch's elastic agent, c10d rendezvous on a free local port); returns rank 0's return value.

    ``fn`` must be importable (a module-level function) and ``args`` picklable: workers are spawned.
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=str(uuid.uuid4()),
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        start_method="spawn",
    )
    try:
        results = elastic_launch(config, _call_recorded)(fn, *args)
    except ChildFailedError as e:
        failures = "; ".join(f"rank {r}: {_message(f)}" for r, f in sorted(e.failures.items()))
        raise PosePriorError(f"a training process failed ({failures})") from None
    return results[0]


@record  # a worker's exception is written where the agent reads it, so launch can report its message
def _call_recorded(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


def _message(failure: Any) -> str:
    """The worker's exception message (recorded as ``{"message": ...}``), else its exit code."""
    message = failure.message
    if isinstance(message, dict):
        message = message.get("message")
    return message or f"exit code {failure.exitcode}"
