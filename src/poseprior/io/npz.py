"""The interchange npz: one :class:`~poseprior.io.Motion` as plain numpy arrays, readable without poseprior.

Keys (``K`` joints, ``T`` frames, ``E`` end sites; lengths in the file's unit, ``unit_mm`` millimetres each):

====================  ==============  ====================================================================
``format``            ``()`` str      ``"poseprior-motion/1"``
``joint_names``       ``(K,)`` str    unicode array, topological order, joint 0 is the root
``parents``           ``(K,)`` int    parent index, ``-1`` for the root
``offsets``           ``(K, 3)``      rest offset of each joint in its parent's frame
``rotations``         ``(T, K, 3, 3)`` local rotations, acting on column vectors, parent to child
``root_translation``  ``(T, 3)``      root position
``positions``         ``(T, K, 3)``   global joint positions from forward kinematics (derived; ignored on reading)
``fps``               ``()`` float    frames per second
``unit_mm``           ``()`` float    millimetres per length unit (10 for centimetres)
``translations``      ``(T, K, 3)``   optional animated local translations (joints with position channels)
``end_site_parents``  ``(E,)`` int    optional joints carrying an end site
``end_site_offsets``  ``(E, 3)``      optional end-site offsets in their joint's frame
``metadata``          ``()`` str      optional JSON object: facts about the source (e.g. BVH channel layout)
====================  ==============  ====================================================================

The file holds no pickled objects: ``numpy.load(path)`` opens it with the default ``allow_pickle=False``.

Example:
    >>> write_motion_npz(motion, "walk.npz")  # doctest: +SKIP
    >>> read_motion_npz("walk.npz").rotations.shape  # doctest: +SKIP
    torch.Size([120, 31, 3, 3])
"""

from __future__ import annotations

import contextlib
import json
import math
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from poseprior._atomic import atomic_path
from poseprior.errors import FormatError, PosePriorError, ValidationError
from poseprior.io.motion import Motion
from poseprior.skeleton import Skeleton

__all__ = [
    "FORMAT",
    "MAX_NPZ_BYTES",
    "write_motion_npz",
    "read_motion_npz",
    "is_motion_npz",
    "read_npz_arrays",
    "check_npz_sizes",
    "npz_errors",
    "open_npz",
]

#: Value of the ``format`` key; the number changes only if the layout does.
FORMAT = "poseprior-motion/1"

_REQUIRED = ("joint_names", "parents", "offsets", "rotations", "root_translation", "positions", "fps", "unit_mm")

#: Most bytes the arrays of one npz may take once loaded (a 200k-frame take of 52 joints takes about 1 GiB).
MAX_NPZ_BYTES = 2 * 2**30


def write_motion_npz(motion: Motion, path: str | Path, extra: dict[str, np.ndarray] | None = None) -> None:
    """Write ``motion`` to ``path`` (atomically) in the interchange npz layout described in this module.

    Rotations and translations keep their dtype (float64 from the readers), so reading the file back gives
    the same numbers. Metadata entries that are not JSON-serializable are left out. ``extra`` arrays (e.g. a
    fit's hypotheses) are stored under their own keys, which must not be the layout's.
    """
    sk = motion.skeleton
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "joint_names": np.array(sk.joint_names, dtype=np.str_),
        "parents": np.array(sk.parents, dtype=np.int64),
        "offsets": sk.offsets.numpy(),
        "rotations": motion.rotations.detach().cpu().numpy(),
        "root_translation": motion.root_translation.detach().cpu().numpy(),
        "positions": motion.positions().detach().cpu().numpy(),
        "fps": np.array(float(motion.fps)),
        "unit_mm": np.array(float(motion.unit)),
        "metadata": np.array(json.dumps(_jsonable(motion.metadata))),
    }
    if motion.translations is not None:
        arrays["translations"] = motion.translations.detach().cpu().numpy()
    if sk.end_site_parents:
        arrays["end_site_parents"] = np.array(sk.end_site_parents, dtype=np.int64)
        arrays["end_site_offsets"] = sk.end_site_offsets.numpy()
    for key, value in (extra or {}).items():
        if key in arrays or key in ("translations", "end_site_parents", "end_site_offsets"):
            raise ValidationError(f"extra: key {key!r} is part of the interchange layout")
        arrays[key] = np.asarray(value)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def is_motion_npz(keys: set[str] | list[str]) -> bool:
    """Whether an npz with these keys is meant as an interchange file (it has ``format``, or ``rotations``
    and ``joint_names``)."""
    keys = set(keys)
    return "format" in keys or {"rotations", "joint_names"} <= keys


def read_motion_npz(path: str | Path) -> Motion:
    """Read an interchange npz written by :func:`write_motion_npz` (or by any tool following the layout).

    Raises:
        FormatError: naming the file and the key, for a file that is not an npz, a missing key, a wrong
            shape or dtype, NaN or inf, or matrices that are not rotations.
    """
    path = Path(path)
    with contextlib.suppress(zipfile.BadZipFile, OSError):  # an unreadable file is reported by read_npz_arrays
        with zipfile.ZipFile(path) as archive:  # missing keys are told before anything is decompressed
            listed = {n.removesuffix(".npy") for n in archive.namelist()}
        missing = [k for k in _REQUIRED if k not in listed]
        if missing:
            raise FormatError(path, f"missing key(s) {missing}; found {sorted(listed)}")
    data = read_npz_arrays(path)
    fmt = data.get("format")
    if fmt is not None and str(fmt) != FORMAT:
        raise FormatError(path, f"format: expected {FORMAT!r}, got {str(fmt)!r}")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise FormatError(path, f"missing key(s) {missing}; found {sorted(data)}")

    names = data["joint_names"]
    _check_shape(path, "joint_names", names, ("K",))
    if names.dtype.kind != "U":
        raise FormatError(path, f"joint_names: expected a unicode string array, got dtype {names.dtype}")
    K = names.shape[0]
    parents = _ints(path, data, "parents", (K,))
    offsets = _floats(path, data, "offsets", (K, 3))
    rotations = _floats(path, data, "rotations", ("T", K, 3, 3), keep_dtype=True)
    T = rotations.shape[0]
    root = _floats(path, data, "root_translation", (T, 3), keep_dtype=True)
    _floats(path, data, "positions", (T, K, 3))
    fps = _scalar(path, data, "fps")
    unit_mm = _scalar(path, data, "unit_mm")
    translations = _floats(path, data, "translations", (T, K, 3), keep_dtype=True) if "translations" in data else None
    if ("end_site_parents" in data) != ("end_site_offsets" in data):
        raise FormatError(path, "end_site_parents and end_site_offsets must be both present or both absent")
    end_parents = _ints(path, data, "end_site_parents", ("E",)) if "end_site_parents" in data else np.zeros(0, np.int64)
    end_offsets = (
        _floats(path, data, "end_site_offsets", (end_parents.shape[0], 3))
        if "end_site_offsets" in data
        else torch.zeros(0, 3)
    )
    metadata = _metadata(path, data)
    metadata["source"] = str(path)

    try:
        skeleton = Skeleton(
            tuple(str(n) for n in names), tuple(parents.tolist()), offsets, tuple(end_parents.tolist()), end_offsets
        )
        return Motion(skeleton, rotations, root, fps, unit_mm, translations, metadata)
    except ValidationError as e:
        raise FormatError(path, str(e)) from None


def read_npz_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of the npz at ``path`` (no pickles), loaded eagerly so the file is closed on return;
    :class:`FormatError` naming the file when it is missing or not a plain npz archive."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "is a folder, not an npz file" if path.is_dir() else "no such file")
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            raise FormatError(path, "not a readable npz archive (no zip header)")  # else np.load tries a pickle
    check_npz_sizes(path)
    try:
        with npz_errors(path), np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FormatError as e:
        if "allow_pickle" in str(e):
            raise FormatError(
                path, "holds pickled object arrays, which are not read for safety; save plain arrays"
            ) from None
        raise


def check_npz_sizes(path: str | Path, limit: int | None = None) -> None:
    """Refuse an npz whose arrays would take more than ``limit`` bytes (default :data:`MAX_NPZ_BYTES`) once
    loaded, from the sizes their headers declare and the archive lists, before anything is decompressed.

    Raises:
        FormatError: naming the file and the largest array, its declared shape and size.
    """
    limit = MAX_NPZ_BYTES if limit is None else limit
    sizes: dict[str, tuple[int, tuple]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                declared, shape = info.file_size, ()
                if info.filename.endswith(".npy"):
                    with archive.open(info) as f, contextlib.suppress(*_DAMAGE):
                        version = np.lib.format.read_magic(f)
                        read = (
                            np.lib.format.read_array_header_1_0
                            if version == (1, 0)
                            else np.lib.format.read_array_header_2_0
                        )
                        shape, _, dtype = read(f)
                        declared = max(declared, math.prod(shape) * dtype.itemsize)
                sizes[info.filename.removesuffix(".npy")] = (declared, shape)
    except _DAMAGE:
        return  # the loader reports an unreadable archive, naming the file
    total = sum(n for n, _ in sizes.values())
    if total > limit:
        key, (n, shape) = max(sizes.items(), key=lambda kv: kv[1][0])
        raise FormatError(
            path,
            f"its arrays would take {total / 2**30:.3g} GiB in memory (largest: {key!r}, shape {shape}, {n / 2**30:.3g} GiB), "
            f"more than the {limit / 2**30:g} GiB poseprior reads from one file",
        )


#: What numpy and zipfile raise on a damaged member of an npz, read lazily (a bad header, bad CRC, cut data).
_DAMAGE = (
    ValueError,
    TypeError,
    OSError,
    EOFError,
    OverflowError,
    zipfile.BadZipFile,
    zlib.error,
    SyntaxError,
    tokenize.TokenError,
    NotImplementedError,
)


def open_npz(path: str | Path) -> np.lib.npyio.NpzFile:
    """An npz of named arrays opened lazily, once :func:`check_npz_sizes` allows it; read its arrays inside
    :func:`npz_errors`.

    Raises:
        FormatError: naming the file, when it is too large, not an npz, or a single ``.npy`` array.
    """
    check_npz_sizes(path)
    with npz_errors(path):
        npz = np.load(path, allow_pickle=False)
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise FormatError(path, "expected an .npz archive of named arrays, found a single .npy array")
    return npz


@contextlib.contextmanager
def npz_errors(path: str | Path) -> Iterator[None]:
    """Turn what reading a damaged npz raises inside the block into a :class:`FormatError` naming ``path``."""
    try:
        yield
    except PosePriorError:
        raise
    except _DAMAGE as e:
        raise FormatError(path, f"not a readable npz archive ({type(e).__name__}: {e})") from None


# ------------------------------------------------------------------------------------------------ helpers
def _check_shape(path: Path, key: str, a: np.ndarray, shape: tuple[int | str, ...]) -> None:
    """``shape`` holds sizes, or names for sizes that any value may take."""
    if a.ndim != len(shape) or any(isinstance(s, int) and s != n for s, n in zip(shape, a.shape, strict=False)):
        want = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        raise FormatError(path, f"{key}: expected shape {want}, got {a.shape}")


def _ints(path: Path, data: dict[str, np.ndarray], key: str, shape: tuple[int | str, ...]) -> np.ndarray:
    a = data[key]
    _check_shape(path, key, a, shape)
    if a.dtype.kind not in "iu":
        raise FormatError(path, f"{key}: expected integers, got dtype {a.dtype}")
    return a.astype(np.int64)


def _floats(
    path: Path, data: dict[str, np.ndarray], key: str, shape: tuple[int | str, ...], keep_dtype: bool = False
) -> torch.Tensor:
    a = data[key]
    _check_shape(path, key, a, shape)
    if a.dtype.kind not in "fiu":
        raise FormatError(path, f"{key}: expected numbers, got dtype {a.dtype}")
    if not np.isfinite(a).all():
        raise FormatError(path, f"{key}: contains NaN or inf")
    # Float32/float64 rotations keep their dtype so a round trip is exact; other dtypes become float64.
    if not (keep_dtype and a.dtype in (np.float32, np.float64)):
        a = a.astype(np.float64)
    return torch.from_numpy(np.ascontiguousarray(a))


def _scalar(path: Path, data: dict[str, np.ndarray], key: str) -> float:
    a = data[key]
    if a.shape != () or a.dtype.kind not in "fiu" or not np.isfinite(a):
        raise FormatError(path, f"{key}: expected a finite number (a 0-d array), got {a!r}")
    return float(a)


def _metadata(path: Path, data: dict[str, np.ndarray]) -> dict[str, Any]:
    if "metadata" not in data:
        return {}
    try:
        meta = json.loads(str(data["metadata"]))
    except json.JSONDecodeError as e:
        raise FormatError(path, f"metadata: not a JSON string ({e})") from None
    if not isinstance(meta, dict):
        raise FormatError(path, "metadata: expected a JSON object")
    return meta


def _jsonable(metadata: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``metadata`` that survive a JSON round trip (tuples become lists)."""
    out = {}
    for k, v in metadata.items():
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        out[str(k)] = v
    return out
