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

import torch

from poseprior.data._jobs import run_jobs
from poseprior.data.cache import (
    PreparedSummary,
    TakePoses,
    begin_prepare,
    write_prepared,
)
from poseprior.data.protocol import (
    BANDAI_JOINTS,
    BANDAI_V1,
    PoseProtocol,
    canonical_skeleton,
    extract_poses,
)
from poseprior.errors import FormatError, PosePriorError, ValidationError
from poseprior.io.archive import Archive, list_members
from poseprior.io.bvh import parse_bvh
from poseprior.retarget import Rig
from poseprior.retarget.rig import rig_profile

__all__ = ["prepare_bandai", "read_splits", "reference_rig"]

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

    rig = _shipped_rig(source, where) if protocol.retarget else None
    out = begin_prepare(out_dir)
    # Jobs of up to _CHUNK takes of one zip: opening the 5,810-member zip costs as much as parsing a take.
    chunks: list[tuple[Path, list[str]]] = []
    for n in (n for names in splits.values() for n in names):
        z, member = where[n]
        if not chunks or chunks[-1][0] != z or len(chunks[-1][1]) == _CHUNK:
            chunks.append((z, []))
        chunks[-1][1].append(member)
    jobs = [(str(z), members, protocol, labels[z], rig) for z, members in chunks]
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


def reference_rig(source_dir: str | Path, protocol: PoseProtocol = BANDAI_V1, every: int = 25) -> Rig:
    """The Bandai Namco rig as retargeting sees it, its twists calibrated (:meth:`Rig.calibrated`) on every
    ``every``-th take of the train split together, so that every take of every split is retargeted the same
    way (one take alone would turn the elbows' frames by up to 13 degrees from another)."""
    source = Path(source_dir)
    splits = read_splits(source / protocol.splits)
    wanted = {n for n in splits.get("train", [])[::every]}
    rotations, skeleton = [], None
    for z in sorted(source.glob("*.zip")):
        members = [m for m in list_members(z, ".bvh") if PurePosixPath(m).name in wanted]
        with Archive(z) as archive:
            for member in members:
                motion = parse_bvh(archive.read_text(member), source=f"{z}:{member}", unit=_UNIT)
                skeleton = motion.skeleton if skeleton is None else skeleton
                if motion.skeleton.joint_names != skeleton.joint_names:
                    raise FormatError(f"{z}:{member}", "its skeleton differs from the other takes'")
                rotations.append(motion.rotations[:: protocol.stride or 1])
    if skeleton is None:
        raise FormatError(source / protocol.splits, "no train take to calibrate the rig on")
    return Rig.from_skeleton(skeleton, _UNIT, source="bandai").calibrated(torch.cat(rotations))


def _shipped_rig(source: Path, where: dict[str, tuple[Path, str]]) -> Rig:
    """The Bandai rig with its shipped twist profile (what :func:`reference_rig` found on the train split)."""
    z, member = next(iter(where.values()))
    with Archive(z) as archive:
        skeleton = parse_bvh(archive.read_text(member), source=f"{z}:{member}", unit=_UNIT).skeleton
    rig = Rig.from_skeleton(skeleton, _UNIT, source="bandai")
    profile = rig_profile(skeleton, rig.joint_map.convention)
    if profile is None:
        raise FormatError(
            f"{z}:{member}", "its skeleton is not the Bandai Namco rig of the shipped retargeting profile"
        )
    return rig.with_profile(profile)


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
    path: str, members: list[str], protocol: PoseProtocol, label_names: dict[str, list[str]], rig: Rig | None
) -> list[TakePoses]:
    """The poses of some takes of one zip (runs in a worker process)."""
    with Archive(path) as archive:
        labelled = set(archive.members(".json"))
        return [_load_take(archive, m, protocol, label_names, labelled, rig) for m in members]


def _load_take(
    archive: Archive,
    member: str,
    protocol: PoseProtocol,
    label_names: dict[str, list[str]],
    labelled: set[str],
    rig: Rig | None,
) -> TakePoses:
    where = f"{archive.path}:{member}"
    motion = parse_bvh(archive.read_text(member), source=where, unit=_UNIT)
    sk = motion.skeleton
    root, joints = ("Hips", BANDAI_JOINTS) if protocol.retarget else (protocol.root, protocol.joints)
    try:
        if joints is not None:
            below = {sk.joint_names[j] for j in sk.descendants(sk.index(root))}
            if below != set(joints):
                raise ValidationError(f"expected the joints {sorted(joints)} below {root!r}, got {sorted(below)}")
        canonical = rig.pose_skeleton() if rig is not None else canonical_skeleton(sk, protocol)
        poses = extract_poses(motion, protocol, rig)
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
