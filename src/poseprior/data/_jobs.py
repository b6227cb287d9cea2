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


def run_jobs(
    fn: Callable[..., R],
    jobs: Sequence[tuple],
    *,
    workers: int = 1,
    progress: bool = False,
    description: str = "",
    sizes: Sequence[int] | None = None,
) -> list[R]:
    """``[fn(*job) for job in jobs]``, in order, over ``workers`` processes when more than one.

    ``fn`` must be a module-level function (workers are spawned, not forked: forking a process that has
    started torch's thread pools can hang). The first exception cancels the pending jobs and is re-raised.
    ``sizes`` counts the items of each job for the progress bar (default one per job).
    """
    sizes = [1] * len(jobs) if sizes is None else list(sizes)
    out: list[R] = []
    with _progress_bar(progress, description, sum(sizes)) as advance:
        if workers <= 1 or len(jobs) <= 1:
            with _one_thread():
                for job, n in zip(jobs, sizes, strict=True):
                    out.append(fn(*job))
                    advance(n)
            return out
        ex = ProcessPoolExecutor(
            min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
        )
        try:
            for result, n in zip(ex.map(fn, *zip(*jobs, strict=True)), sizes, strict=True):
                out.append(result)
                advance(n)
        except BaseException:
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        ex.shutdown()
    return out


def _init_worker() -> None:
    # One core per worker; and per-take tensors are small: intra-op threads cost more than they save
    # (10x slower on a busy 2-core machine).
    torch.set_num_threads(1)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run the block with one torch intra-op thread (as in a worker), then restore the setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _progress_bar(show: bool, description: str, total: int) -> Iterator[Callable[[int], Any]]:
    """Yield a function that advances a rich progress bar on stderr (a no-op when not shown)."""
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
