"""``metrics.jsonl``: one JSON object per line, ``{"step": ..., "kind": "train" | "val", ...}``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from poseprior._atomic import atomic_open

__all__ = ["MetricsLog", "read_metrics"]


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``; an incomplete last line (a killed write) is skipped."""
    records = []
    p = Path(path)
    if not p.is_file():
        return records
    for line in p.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


class MetricsLog:
    """Appends records to ``path``, flushing each line; does nothing when ``enabled`` is False (ranks > 0)."""

    def __init__(self, path: str | Path, enabled: bool = True):
        self.path = Path(path)
        self.enabled = enabled

    def restart_at(self, step: int) -> None:
        """Keep only the records up to ``step`` (a resumed run rewrites what followed its checkpoint)."""
        if not self.enabled:
            return
        kept = [r for r in read_metrics(self.path) if isinstance(r, dict) and r.get("step", 0) <= step]
        with atomic_open(self.path, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in kept)

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
