"""Prepare AMASS (SMPL-H / SMPL-X ``*.npz`` takes) into the same cache format as Bandai.

Layout: ``<source>/<dataset>/<subject>/<take>_poses.npz`` (``shape.npz`` and ``*_stagei.npz`` hold only body
shapes and are skipped). Each take is resampled to ``fps`` (default 10, the bandai-v1 rate: AMASS is
mostly captured at 60-250 fps, where consecutive poses are near duplicates) and its pose is the 21 SMPL body
joints below the pelvis (no hands, no global orientation). The split goes by dataset folder, VPoser's by
default: val = HumanEva, MPI_HDM05, SFU, MPI_mosh; test = Transitions_mocap, SSM_synced; train = the rest
(the newer AMASS folder names HDM05, MoSh, Transitions, SSM count as the same; names match case-insensitively).

Example:
    >>> summary = prepare_amass("AMASS/", "prepared/amass")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from poseprior.data._jobs import run_jobs
from poseprior.data.cache import (
    PreparedSummary,
    TakePoses,
    begin_prepare,
    write_prepared,
)
from poseprior.data.protocol import PoseProtocol, canonical_skeleton, extract_poses
from poseprior.errors import FormatError, PosePriorError, ValidationError
from poseprior.io.amass import read_amass

__all__ = ["prepare_amass", "find_amass_takes", "VPOSER_SPLITS", "NUM_BODY_JOINTS"]

#: VPoser's split by AMASS dataset (``vald`` named ``val`` here); every other dataset is train.
VPOSER_SPLITS: dict[str, tuple[str, ...]] = {
    "val": ("HumanEva", "MPI_HDM05", "HDM05", "SFU", "MPI_mosh", "MoSh"),
    "test": ("Transitions_mocap", "Transitions", "SSM_synced", "SSM"),
}
#: Joints ``1 .. 21`` of the SMPL-H and SMPL-X trees: the SMPL body below the pelvis, without hands.
NUM_BODY_JOINTS = 21
_SHAPE_ONLY = ("shape.npz", "_stagei.npz")


def prepare_amass(
    source_dir: str | Path,
    out_dir: str | Path,
    *,
    fps: float = 10.0,
    joints: Sequence[str] | None = None,
    splits: str | Path | None = None,
    model_path: str | Path | None = None,
    progress: bool = True,
    workers: int = 2,
) -> PreparedSummary:
    """Read every AMASS take under ``source_dir``, resample it and cache its poses (lengths in metres).

    Args:
        source_dir: the AMASS root: one folder per dataset.
        out_dir: the prepared folder (see :mod:`poseprior.data.cache`), invalidated first.
        fps: pose rate; every take is resampled to it (slerp).
        joints: the pose joints (names in the reader's SMPL tree, all below its root); default the 21 body
            joints (tree joints 1 to 21).
        splits: a JSON file mapping split names to dataset names, replacing :data:`VPOSER_SPLITS`. Datasets
            it does not name go to ``train``, unless it has a ``train`` list: then they are left out. Every
            name in it must be a dataset folder under ``source_dir``.
        model_path: SMPL-H / SMPL-X model files (see :func:`~poseprior.io.amass.read_amass`) for each
            subject's exact offsets; default the generic template skeleton (approximate offsets, the rotations
            are exact either way).
        progress: show a progress bar on stderr.
        workers: worker processes reading the takes.
    """
    started = time.perf_counter()
    source = Path(source_dir)
    files = find_amass_takes(source)
    datasets = sorted({f.relative_to(source).parts[0] for f in files})
    assign = _assign_splits(datasets, splits)

    first = read_amass(files[0], unit="m", model_path=model_path)
    sk = first.skeleton
    root = sk.joint_names[0]
    body = sk.joint_names[1 : NUM_BODY_JOINTS + 1]
    if joints is None:
        if sk.num_joints <= NUM_BODY_JOINTS:
            raise FormatError(
                files[0], f"expected an SMPL-H/SMPL-X tree (more than {NUM_BODY_JOINTS} joints), got {sk.num_joints}"
            )
        joints = body
    defaults = splits is None and fps == 10.0 and tuple(joints) == body
    protocol = PoseProtocol(
        name="amass-v1" if defaults else "amass-custom",
        root=root,
        joints=tuple(joints),
        fps=fps,
        splits="vposer" if splits is None else str(splits),
    )
    try:
        canonical_skeleton(sk, protocol)
    except ValidationError as e:
        raise ValidationError(f"{e} (checked on {files[0]})") from None

    out = begin_prepare(out_dir)
    rank = {"train": 0, "val": 1, "test": 2}
    order = sorted({"train", *assign.values()}, key=lambda s: (rank.get(s, 3), s))
    by_split = {s: [f for f in files if assign.get(f.relative_to(source).parts[0]) == s] for s in order}
    jobs = [(str(f), source.as_posix(), protocol, model_path) for s in order for f in by_split[s]]
    results = iter(run_jobs(_load_take, jobs, workers=workers, progress=progress, description="AMASS takes"))
    takes = {s: [next(results) for _ in by_split[s]] for s in order}
    info = {
        "path": str(source.resolve()),
        "takes": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "datasets": {d: assign.get(d) for d in datasets},
        "rest_joints": first.metadata.get("rest_joints"),
    }
    return write_prepared(out, takes, dataset="amass", protocol=protocol, unit=1000.0, source=info, started=started)


def find_amass_takes(source_dir: str | Path) -> list[Path]:
    """Sorted AMASS take files ``<dataset>/.../<take>.npz`` under ``source_dir`` (shape-only files skipped)."""
    source = Path(source_dir)
    if not source.is_dir():
        raise ValidationError(f"source_dir: {source} is not a folder")
    files = sorted(f for f in source.rglob("*.npz") if not f.name.endswith(_SHAPE_ONLY))
    if not files:
        raise FormatError(source, "no AMASS take (*.npz) in this folder; expected <dataset>/<subject>/<take>_poses.npz")
    flat = [f for f in files if len(f.relative_to(source).parts) < 2]
    if flat:
        raise FormatError(
            flat[0], "AMASS takes must be inside a dataset folder: <source>/<dataset>/<subject>/<take>.npz"
        )
    return files


def _assign_splits(datasets: list[str], splits: str | Path | None) -> dict[str, str]:
    """Dataset folder name -> split name (datasets left out are absent)."""
    if splits is None:
        table = {name.lower(): s for s, names in VPOSER_SPLITS.items() for name in names}
        return {d: table.get(d.lower(), "train") for d in datasets}
    path = Path(splits)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FormatError(path, "splits file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FormatError(path, f"not valid JSON: {e}") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in data.values()
    ):
        raise FormatError(
            path, 'expected an object mapping split names to lists of dataset names: {"val": ["HumanEva"], ...}'
        )
    known = {d.lower(): d for d in datasets}
    table: dict[str, str] = {}
    for split, names in data.items():
        for name in names:
            if name.lower() not in known:
                raise FormatError(path, f"split {split!r}: no dataset folder {name!r}; datasets: {', '.join(datasets)}")
            if known[name.lower()] in table:
                raise FormatError(path, f"dataset {name!r} is in both {table[known[name.lower()]]!r} and {split!r}")
            table[known[name.lower()]] = split
    if "train" not in data:
        table = {d: table.get(d, "train") for d in datasets}
    return table


def _load_take(path: str, source: str, protocol: PoseProtocol, model_path: str | Path | None) -> TakePoses:
    """One take's poses (runs in a worker process)."""
    motion = read_amass(path, unit="m", model_path=model_path)
    try:
        canonical = canonical_skeleton(motion.skeleton, protocol)
        poses = extract_poses(motion, protocol)
    except PosePriorError as e:
        raise FormatError(path, str(e)) from None
    rel = Path(path).relative_to(source)
    name = rel.with_suffix("").as_posix()
    return TakePoses.from_skeleton(
        name, path, poses, motion.num_frames, motion.fps, canonical, {"dataset": rel.parts[0]}
    )
