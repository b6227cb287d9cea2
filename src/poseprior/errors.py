"""Exceptions raised by poseprior.

Every error about user input names where the problem is: the file, the line when there is one, or the
argument. Catch :class:`PosePriorError` to handle all of them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PosePriorError", "FormatError", "ValidationError", "MissingDependencyError", "describe_type"]


class PosePriorError(Exception):
    """Base class of every error poseprior raises on purpose."""


class FormatError(PosePriorError, ValueError):
    """A file could not be read as the format it claims to be.

    Args:
        path: the file (or ``archive.zip:member``) being read.
        message: what is wrong.
        line: 1-based line number, when the format is line-based and the line is known.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.message = message
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {message}")


class ValidationError(PosePriorError, ValueError):
    """An argument has the wrong shape, values or type; the message names the argument."""


class MissingDependencyError(PosePriorError, ImportError):
    """An optional package that a feature needs is not installed; the message says how to install it."""


def describe_type(x: object) -> str:
    """A short description of a value's type for error messages: the dtype of a tensor, else the class name."""
    dtype = getattr(x, "dtype", None)
    return f"tensor of dtype {dtype}" if dtype is not None and hasattr(x, "shape") else type(x).__name__
