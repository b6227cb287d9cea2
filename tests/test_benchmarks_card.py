"""The benchmark card shipped in poseprior/assets (the demo report's table) agrees with docs/benchmarks.md."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from poseprior import zoo

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def test_every_number_is_in_the_docs():
    card = json.loads((resources.files("poseprior") / "assets" / "benchmarks.json").read_text())
    docs = DOCS.read_text()
    known = {entry.name for entry in zoo.available()}
    assert len(card["rows"]) >= 8
    for row in card["rows"]:
        assert row["model"] in known, row
        assert (DOCS.parents[1] / row["script"]).is_file(), row
        for number in re.findall(r"\d[\d,]*\.?\d*", row["value"]):
            assert number in docs, f"{row['model']}: {number} is not in docs/benchmarks.md"
