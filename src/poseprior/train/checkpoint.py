"""Training checkpoints: ``OUT/checkpoints/step-00001234.pt``, written atomically, the latest few kept.

A checkpoint holds everything that makes a resumed run continue exactly as if it had not stopped: the
model, optimiser and scheduler states, the random generators of every process, the step, the training time
so far and the best validation metrics. It is a ``torch.save`` dict readable with ``weights_only=True``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from poseprior._atomic import atomic_path
from poseprior.errors import FormatError

__all__ = [
    "CHECKPOINT_DIR",
    "checkpoint_path",
    "list_checkpoints",
    "latest_checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "remove_temporary",
]

CHECKPOINT_DIR = "checkpoints"
FORMAT = "poseprior-checkpoint"
_NAME = re.compile(r"step-(\d+)\.pt")


def checkpoint_path(out: str | Path, step: int) -> Path:
    return Path(out) / CHECKPOINT_DIR / f"step-{step:08d}.pt"


def list_checkpoints(out: str | Path) -> list[Path]:
    """Complete checkpoints of a run folder, oldest first (temporary files of killed writes are ignored)."""
    folder = Path(out) / CHECKPOINT_DIR
    found = [(int(m.group(1)), p) for p in folder.glob("step-*.pt") if (m := _NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(out: str | Path) -> Path | None:
    found = list_checkpoints(out)
    return found[-1] if found else None


def save_checkpoint(out: str | Path, state: dict[str, Any], keep: int = 2) -> Path:
    """Write ``state`` (with its ``"step"``) atomically, then delete all but the ``keep`` latest checkpoints."""
    path = checkpoint_path(out, state["step"])
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
    for old in list_checkpoints(out)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint's state dict (tensors on CPU); :class:`FormatError` if it is not one."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError) as e:
        raise FormatError(path, f"unreadable checkpoint ({e})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise FormatError(path, "not a poseprior training checkpoint")
    return state


def remove_temporary(out: str | Path) -> None:
    """Delete the temporary files that a write killed mid-way left in the checkpoint folder."""
    for tmp in (Path(out) / CHECKPOINT_DIR).glob(".step-*.tmp*"):
        tmp.unlink(missing_ok=True)
