"""Prepare the Bandai Namco Research Motiondataset (1 and 2) under a pose protocol (default bandai-v1).

The BVH takes are read straight from the zips (never extracted); the split is the ``splits.json`` beside
them (split name -> bare BVH file names). See ``docs/datasets.md``.

Example:
    >>> summary = prepare_bandai("../shared/data/bandai-namco", "prepared/bandai-v1")  # doctest: +SKIP
    >>> summary.splits["train"].takes  # doctest: +SKIP
    2487
"""

from __future__ import annotations

import json
import time
from pathlib import Path, PurePosixPath

from poseprior.data._jobs import run_jobs
from poseprior.data.cache import PreparedSummary, TakePoses, begin_prepare, write_prepared
from poseprior.data.protocol import BANDAI_V1, PoseProtocol, canonical_skeleton, extract_poses
from poseprior.errors import FormatError, PosePriorError, ValidationError
from poseprior.io.archive import Archive, list_members
from poseprior.io.bvh import parse_bvh

__all__ = ["prepare_bandai", "read_splits"]

_UNIT = "cm"
_CHUNK = 32


def prepare_bandai(
    source_dir: str | Path,
    out_dir: str | Path,
    protocol: PoseProtocol = BANDAI_V1,
    progress: bool = True,
    workers: int = 2,
) -> PreparedSummary:
    """Read every take named in the splits file from the zips in ``source_dir`` and cache its poses.

    Args:
        source_dir: folder with the dataset zips (``*.zip``, BVH under ``data/``) and ``protocol.splits``.
        out_dir: the prepared folder (see :mod:`poseprior.data.cache`); whatever was prepared there before is
            invalidated first, so an interrupted run leaves no manifest and re-running redoes it.
        protocol: the pose protocol; offsets and root positions are in centimetres.
        progress: show a progress bar on stderr.
        workers: worker processes reading the takes.

    Returns:
        The per-split take, frame and pose counts and the elapsed time.

    Raises:
        FormatError: a name in the splits file is not in any zip (or in two), a take fails to parse, has
            other joints below the root than the protocol's, or runs at another frame rate.
    """
    started = time.perf_counter()
    source = Path(source_dir)
    if not source.is_dir():
        raise ValidationError(f"source_dir: {source} is not a folder")
    splits_path = source / protocol.splits
    splits = read_splits(splits_path)
    zips = sorted(source.glob("*.zip"))
    if not zips:
        raise FormatError(source, "no .zip archives in this folder (expected the Bandai Namco dataset zips)")

    where: dict[str, tuple[Path, str]] = {}
    for z in zips:
        for member in list_members(z, ".bvh"):
            name = PurePosixPath(member).name
            if name in where:
                raise FormatError(z, f"take {name!r} is also in {where[name][0].name}:{where[name][1]}")
            where[name] = (z, member)
    missing = [n for names in splits.values() for n in names if n not in where]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        archives = ", ".join(z.name for z in zips)
        raise FormatError(splits_path, f"{len(missing)} take(s) not found in {archives}: {shown}")
    labels = {z: _label_names(z) for z in zips}

    out = begin_prepare(out_dir)
    # Jobs of up to _CHUNK takes of one zip: opening the 5,810-member zip costs as much as parsing a take.
    chunks: list[tuple[Path, list[str]]] = []
    for n in (n for names in splits.values() for n in names):
        z, member = where[n]
        if not chunks or chunks[-1][0] != z or len(chunks[-1][1]) == _CHUNK:
            chunks.append((z, []))
        chunks[-1][1].append(member)
    jobs = [(str(z), members, protocol, labels[z]) for z, members in chunks]
    sizes = [len(members) for _, members in chunks]
    chunked = run_jobs(_load_takes, jobs, workers=workers, progress=progress, description="bandai takes", sizes=sizes)
    results = iter([t for ts in chunked for t in ts])
    takes = {split: [next(results) for _ in names] for split, names in splits.items()}
    files = {p.name: p.stat().st_size for p in [*zips, splits_path]}
    return write_prepared(
        out,
        takes,
        dataset="bandai",
        protocol=protocol,
        unit=10.0,
        source={"path": str(source.resolve()), "files": files},
        started=started,
    )


def read_splits(path: str | Path) -> dict[str, list[str]]:
    """Split name -> take names from a JSON file; keys whose value is not a list (comments) are ignored."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FormatError(path, "splits file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FormatError(path, f"not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise FormatError(path, "expected an object mapping split names to lists of take names")
    splits = {k: v for k, v in data.items() if isinstance(v, list)}
    if not splits:
        raise FormatError(path, "no split (a key whose value is a list of take names)")
    seen: dict[str, str] = {}
    for split, names in splits.items():
        for n in names:
            if not isinstance(n, str):
                raise FormatError(path, f"split {split!r}: take names must be strings, got {n!r}")
            if n in seen:
                raise FormatError(path, f"take {n!r} is in both {seen[n]!r} and {split!r}")
            seen[n] = split
    return splits


def _label_names(path: Path) -> dict[str, list[str]]:
    """Content and style names by id from the zip's ``cfg/*_label.txt`` (``dataset-1_walk`` -> ``walk``)."""
    out = {}
    with Archive(path) as archive:
        for member in archive.members("_label.txt"):
            kind = PurePosixPath(member).name.removesuffix("_label.txt")
            lines = [s.strip() for s in archive.read_text(member).splitlines() if s.strip()]
            out[kind] = [s.split("_", 1)[1] if s.startswith("dataset-") and "_" in s else s for s in lines]
    return out


def _load_takes(
    path: str, members: list[str], protocol: PoseProtocol, label_names: dict[str, list[str]]
) -> list[TakePoses]:
    """The poses of some takes of one zip (runs in a worker process)."""
    with Archive(path) as archive:
        labelled = set(archive.members(".json"))
        return [_load_take(archive, m, protocol, label_names, labelled) for m in members]


def _load_take(
    archive: Archive, member: str, protocol: PoseProtocol, label_names: dict[str, list[str]], labelled: set[str]
) -> TakePoses:
    where = f"{archive.path}:{member}"
    motion = parse_bvh(archive.read_text(member), source=where, unit=_UNIT)
    sk = motion.skeleton
    try:
        if protocol.joints is not None:
            below = {sk.joint_names[j] for j in sk.descendants(sk.index(protocol.root))}
            if below != set(protocol.joints):
                raise ValidationError(
                    f"expected the joints {sorted(protocol.joints)} below {protocol.root!r}, got {sorted(below)}"
                )
        canonical = canonical_skeleton(sk, protocol)
        poses = extract_poses(motion, protocol)
    except PosePriorError as e:
        raise FormatError(where, str(e)) from None
    return TakePoses.from_skeleton(
        PurePosixPath(member).name,
        where,
        poses,
        motion.num_frames,
        motion.fps,
        canonical,
        _take_labels(archive, member, label_names, labelled),
    )


def _take_labels(
    archive: Archive, member: str, label_names: dict[str, list[str]], labelled: set[str]
) -> dict[str, str]:
    """``{"content": ..., "style": ...}`` from the JSON beside the BVH; empty when there is none."""
    path = str(PurePosixPath(member).with_suffix(".json"))
    if path not in labelled:
        return {}
    try:
        ids = json.loads(archive.read_bytes(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FormatError(f"{archive.path}:{path}", f"unreadable labels: {e}") from None
    try:
        return {
            k: label_names[k][ids[k]] if k in label_names else str(ids[k]) for k in ("content", "style") if k in ids
        }
    except (TypeError, IndexError) as e:
        raise FormatError(f"{archive.path}:{path}", f"bad label ids {ids!r}: {e}") from None
