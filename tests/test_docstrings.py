"""Every docstring example in the package runs and prints what it shows (``torch`` and ``roma`` are in scope;
examples that need data or weights beside the package are marked ``+SKIP``)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import roma
import torch

import poseprior

MODULES = sorted(m.name for m in pkgutil.walk_packages(poseprior.__path__, "poseprior."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, extraglobs={"roma": roma, "torch": torch}, optionflags=flags, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (see the output above)"
