"""Run one function over many takes, in worker processes, with a progress bar."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import torch

__all__ = ["run_jobs"]

R = TypeVar("R")


def run_jobs(fn: Callable[..., R], jobs: Sequence[tuple], *, workers: int = 1, progress: bool = False,
             description: str = "") -> list[R]:  # fmt: skip
    """``[fn(*job) for job in jobs]``, in order, over ``workers`` processes when more than one.

    ``fn`` must be a module-level function (workers are spawned, not forked: forking a process that has
    started torch's thread pools can hang). The first exception cancels the pending jobs and is re-raised.
    """
    out: list[R] = []
    with _progress_bar(progress, description, len(jobs)) as advance:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                out.append(fn(*job))
                advance()
            return out
        ex = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker)
        try:
            for result in ex.map(fn, *zip(*jobs)):
                out.append(result)
                advance()
        except BaseException:
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        ex.shutdown()
    return out


def _init_worker() -> None:
    torch.set_num_threads(1)  # one core per worker process


@contextlib.contextmanager
def _progress_bar(show: bool, description: str, total: int) -> Iterator[Callable[[], Any]]:
    """Yield a function that advances a rich progress bar on stderr by one (a no-op when not shown)."""
    if not show:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)
