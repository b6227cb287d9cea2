"""The benchmark card shipped in poseprior/assets (the demo report's table): rendered from the results files
by benchmarks/report.py (tests/benchmarks/test_report.py checks it agrees with them); here, its shape."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from poseprior import zoo

REPO = Path(__file__).resolve().parents[1]


def test_every_row_names_a_shipped_model_its_script_and_subset():
    card = json.loads((resources.files("poseprior") / "assets" / "benchmarks.json").read_text())
    known = {entry.name for entry in zoo.available()}
    assert len(card["rows"]) >= 8 and "benchmarks/report.py" in card["note"]
    for row in card["rows"]:
        assert row["model"] in known, row
        assert (REPO / row["script"]).is_file(), row
        assert row["subset"] and any(c.isdigit() for c in row["value"]), row
