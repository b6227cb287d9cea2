"""Every shipped model still measures what was published for it, within twice its run-to-run noise
(``benchmarks/regression.py`` measured both, on fixed small subsets of bandai-v1 test)."""

from __future__ import annotations

import json

import pytest
import regression
import torch

PUBLISHED = json.loads((regression.REPO / "benchmarks" / "results" / "regression.json").read_text())["results"]


@pytest.fixture(scope="module")
def data():
    return regression.test_poses()


@pytest.mark.parametrize("name", list(regression.CHECKS))
def test_shipped_model_matches_its_published_check(name, data):
    published = PUBLISHED[name]
    threads = torch.get_num_threads()
    try:
        value = regression.measure(name, data, seed=0, threads=1)
    finally:
        torch.set_num_threads(threads)
    assert abs(value - published["value"]) <= published["tolerance"], (
        f"{name}: {published['check']} measures {value:.4f} {published['unit']}, published {published['value']:.4f} "
        f"+- {published['tolerance']:.4f}"
    )
