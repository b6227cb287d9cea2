"""Atomic file output: write to a temporary file beside the target, then rename.

A crash or Ctrl-C mid-write leaves either the old file or no file, never a half-written one that a later
run could mistake for complete. The temporary file is named ``.TARGET.poseprior-PID-XXXX.tmp.SUFFIX``: the
command line removes it on SIGTERM as on Ctrl-C, and one left by a killed process (``kill -9``, a power cut)
is removed by the next write to the same target once its process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_path", "atomic_open"]


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` if the block succeeds.

    Raises:
        OSError: the folder cannot be made or written, with ``filename`` the target (not the temporary file).

    Example:
        >>> with atomic_path("out.npz") as tmp:  # doctest: +SKIP
        ...     numpy.savez(tmp, x=1)
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(path)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.poseprior-{os.getpid()}-", suffix=".tmp" + "".join(path.suffixes), dir=path.parent
        )
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
            # mkstemp makes the file 0600; give it the permissions a plain open() would.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
            os.replace(tmp_path, path)
        except OSError as e:
            if e.filename is None or str(e.filename) == str(tmp_path):
                raise OSError(e.errno, e.strerror, str(path)) from None
            raise
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` only when the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as f:
        yield f


def _remove_stale(path: Path) -> None:
    """Remove our temporary files beside ``path`` whose process no longer runs."""
    pattern = re.compile(re.escape(f".{path.name}.poseprior-") + r"(\d+)-[^/]*\.tmp")
    with contextlib.suppress(OSError):
        for other in path.parent.iterdir():
            m = pattern.fullmatch(other.name) or pattern.match(other.name)
            if m is not None and not _running(int(m.group(1))):
                other.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True
