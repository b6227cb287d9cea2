"""Benchmark results as data: every script writes what it measured, and under which conditions, to
``benchmarks/results/<script>[-<setting>].json``; ``benchmarks/report.py`` renders the docs from those files.

A results file holds:

- ``meta``: the command line, the git commit (and whether the tree had uncommitted changes), the date, the CPU,
  the torch thread count and version, and the wall time of the run;
- ``subset``: what was measured on: split, how many poses/takes/views, how they were chosen, seeds;
- ``results``: the numbers, nested as the script likes; a key's suffix gives its unit (``_mm``, ``_deg``,
  ``_nats``, ``_per_s``, ``_s``, ``_ms``, ``_gb``, ``_percent``, ``_mm_per_s2``); ratios and counts have none.

Example (in a script)::

    from record import save
    save("flow", {"flow-bandai": {"test_log_likelihood_nats": 285.3}}, subset={"split": "test", "poses": 12620})
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

__all__ = ["RESULTS", "save", "load", "load_optional", "meta", "quick_dir", "settle_arguments"]

REPO = Path(__file__).resolve().parents[1]
#: Where the published results live.
RESULTS = REPO / "benchmarks" / "results"
_IMPORTED = time.time()
#: What a benchmark run itself writes (results) or report.py renders from them: not counted as a dirty tree.
RENDERED = ("benchmarks/results", "docs", "README.md", "src/poseprior/assets/benchmarks.json")


def _process_started() -> float:
    """When this process started (epoch seconds), from /proc where there is one, else when this module loaded."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return _IMPORTED


def quick_dir() -> Path:
    """Where ``--quick`` runs write (never the published folder): ``$POSEPRIOR_QUICK_RESULTS`` or a temp folder."""
    return Path(
        os.environ.get("POSEPRIOR_QUICK_RESULTS", Path(os.environ.get("TMPDIR", "/tmp")) / "poseprior-quick-results")
    )


def meta() -> dict[str, Any]:
    """Where and how the numbers were made (see the module docstring)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO, check=False)
        return done.stdout.strip()

    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            cpu,
        )
    return {
        "command": " ".join([".venv/bin/python", *[str(a) for a in sys.argv]]),
        "commit": git("rev-parse", "HEAD"),
        # Uncommitted changes to tracked files, but for results and the pages rendered from them: a batch of
        # scripts run one after another writes those, and they are not what the numbers were measured with.
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", *(f":!{p}" for p in RENDERED))),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "wall_s": round(time.time() - _process_started(), 1),  # the whole run, imports included
    }


def save(
    script: str,
    results: dict[str, Any],
    *,
    subset: dict[str, Any],
    setting: str = "",
    quick: bool = False,
    out: Path | None = None,
) -> Path:
    """Write ``results`` (and :func:`meta`, ``subset``) to ``<script>[-<setting>].json``, atomically.

    Args:
        script: the script's name (``"flow"``).
        results: the numbers (JSON-ready: floats, ints, strings, lists, dicts).
        subset: what they were measured on.
        setting: for scripts run in several settings (``"temperature"``), a name for this one.
        quick: a ``--quick`` run: written under :func:`quick_dir`, never over published results.
        out: another folder to write to.

    Returns:
        The path written.
    """
    folder = out if out is not None else (quick_dir() if quick else RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"{script}-{setting}.json" if setting else f"{script}.json")
    payload = {
        "script": f"benchmarks/{script}.py",
        "setting": setting,
        "quick": quick,
        "meta": meta(),
        "subset": subset,
        "results": results,
    }
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n")
    tmp.replace(path)
    print(f"results written to {path}", file=sys.stderr)
    return path


def load(name: str, folder: Path = RESULTS) -> dict[str, Any]:
    """The results file ``name`` (``"flow"`` or ``"ik-temperature"``) from ``folder``."""
    path = folder / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such results file; run benchmarks/{name.split('-')[0]}.py")
    return json.loads(path.read_text())


def settle_arguments(
    parser: argparse.ArgumentParser, args: argparse.Namespace, full: dict[str, Any], quick: dict[str, Any]
) -> argparse.Namespace:
    """Fill the options left unset (None) from ``quick`` or ``full`` (by ``args.quick``), and refuse to write a
    quick run's numbers into the published folder (``args.out``)."""
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.quick and args.out is not None and Path(args.out).resolve() == RESULTS.resolve():
        parser.error("--quick numbers are not for publication: not writing them to benchmarks/results")
    return args


def load_optional(results: Callable[..., dict[str, Any]], setting: str) -> dict[str, Any] | None:
    """``results(setting)`` in a script's ``render``, or None when that results file does not exist (its blocks
    are then left out)."""
    try:
        return results(setting)
    except Exception as e:  # report.Missing, or FileNotFoundError of load
        if type(e).__name__ in ("Missing", "FileNotFoundError"):
            return None
        raise
