"""The prepared-dataset cache: the files ``poseprior data prepare`` writes and how they are checked.

A prepared folder holds, each written atomically (:mod:`poseprior._atomic`):

- ``<split>.pt`` (``torch.save``, loadable with ``weights_only=True``), one per split, with ``N`` poses of
  ``J`` joints from ``M`` takes: ``rotations (N, J, 3, 3)`` float32 local rotations of the pose joints,
  ``root_rotation (N, 3, 3)`` and ``root_position (N, 3)`` float32 global pose of the root joint (length unit
  in the manifest), ``take (N,)`` and ``frame (N,)`` int64 (the take index in this split and the source frame),
  ``take_names`` (``M`` str), ``take_frames (M,)`` int64 source frames, ``take_offsets (M, J + 1, 3)``
  float64 each take's skeleton offsets, and ``take_labels`` (label kind -> ``M`` str, e.g. content, style).
- ``skeleton.json``: the canonical ``J + 1``-joint skeleton (root + pose joints), offsets averaged over the
  train takes, the root's offset zero (its rest position is arbitrary in the files: in the Bandai BVH it is
  wherever the take starts; ``root_position`` holds its real position).
- ``prepared.json``, the manifest, written LAST: format version, protocol, per-split counts, source file sizes
  and the byte size of every file above. A folder without a valid manifest is incomplete and never read.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from poseprior import __version__
from poseprior._atomic import atomic_open, atomic_path
from poseprior.data.protocol import PoseProtocol
from poseprior.errors import FormatError
from poseprior.skeleton import Skeleton

__all__ = [
    "MANIFEST",
    "SKELETON_FILE",
    "TakePoses",
    "SplitCounts",
    "PreparedSummary",
    "begin_prepare",
    "write_prepared",
    "read_manifest",
    "skeleton_from_json",
]

MANIFEST = "prepared.json"
# What readers of a manifest use: a manifest without one is refused whole, naming it.
_MANIFEST_KEYS = (
    "dataset",
    "protocol",
    "splits",
    "files",
    "joint_names",
    "root",
    "fps",
    "unit",
    "created",
    "elapsed_s",
)
_PROTOCOL_KEYS = ("name", "stride", "fps", "splits")
_SPLIT_KEYS = ("file", "takes", "frames", "poses")
SKELETON_FILE = "skeleton.json"
_FORMAT = "poseprior-prepared"
_VERSION = 1
_RERUN = "re-run `poseprior data prepare bandai|amass --source ... --out {root}`"


@dataclass(frozen=True, eq=False)
class TakePoses:
    """What one source take contributes to a prepared split (numpy, so that worker processes can return it).

    Attributes:
        name: the take's name in the split (a BVH file name, an AMASS path).
        source: where it was read from, for error messages (``archive.zip:member``).
        poses: :func:`~poseprior.data.protocol.extract_poses` output as numpy arrays.
        num_frames, fps: the source take's length and frame rate.
        joint_names, parents: the canonical skeleton's tree (root + pose joints).
        offsets: ``(J + 1, 3)`` the take's canonical skeleton offsets.
        end_site_parents, end_site_offsets: its end sites, ``(E, 3)``.
        labels: label kind -> value (``{"content": "walk", "style": "happy"}``).
    """

    name: str
    source: str
    poses: dict[str, np.ndarray]
    num_frames: int
    fps: float
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    end_site_parents: tuple[int, ...] = ()
    end_site_offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_skeleton(
        cls,
        name: str,
        source: str,
        poses: dict[str, torch.Tensor],
        num_frames: int,
        fps: float,
        skeleton: Skeleton,
        labels: dict[str, str] | None = None,
    ) -> TakePoses:
        return cls(
            name,
            source,
            {k: v.numpy() for k, v in poses.items()},
            num_frames,
            fps,
            skeleton.joint_names,
            skeleton.parents,
            skeleton.offsets.numpy(),
            skeleton.end_site_parents,
            skeleton.end_site_offsets.numpy(),
            dict(labels or {}),
        )


@dataclass(frozen=True)
class SplitCounts:
    """Size of one prepared split: source takes, source frames, poses."""

    takes: int
    frames: int
    poses: int


@dataclass(frozen=True)
class PreparedSummary:
    """What a ``prepare_*`` call wrote."""

    root: Path
    dataset: str
    protocol: PoseProtocol
    splits: dict[str, SplitCounts]
    fps: float | None
    unit: float
    elapsed_s: float


def begin_prepare(out_dir: str | Path) -> Path:
    """Create ``out_dir`` and invalidate what is there: the manifest goes first, so an interrupted run never
    leaves a folder that reads as complete; temporary files of killed runs are removed."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    for tmp in out.glob(".*.tmp*"):
        tmp.unlink(missing_ok=True)
    return out


def write_prepared(
    out_dir: str | Path,
    takes: dict[str, list[TakePoses]],
    *,
    dataset: str,
    protocol: PoseProtocol,
    unit: float,
    source: dict[str, Any],
    started: float,
) -> PreparedSummary:
    """Write the split files, the skeleton and, last, the manifest.

    Args:
        out_dir: the folder, already through :func:`begin_prepare`.
        takes: split name -> its takes in order. The canonical offsets are the mean over ``"train"`` (over
            every take when there is no train split).
        dataset: ``"bandai"``, ``"amass"``.
        protocol: the protocol the poses were extracted with.
        unit: millimetres per length unit of ``root_position`` and the offsets.
        source: facts about the source recorded in the manifest (path, file sizes, split rule).
        started: ``time.perf_counter()`` when the preparation began, for the recorded elapsed time.
    """
    out = Path(out_dir)
    every = [t for ts in takes.values() for t in ts]
    if not every:
        raise FormatError(source.get("path", out), "no takes to prepare")
    first = every[0]
    for t in every:
        if (t.joint_names, t.parents, t.end_site_parents) != (first.joint_names, first.parents, first.end_site_parents):
            raise FormatError(
                t.source,
                f"skeleton {list(t.joint_names)} differs from the first take's "
                f"({first.source}): {list(first.joint_names)}",
            )
    rates = {round(protocol.pose_fps(t.fps), 6) for t in every}
    pose_fps = rates.pop() if len(rates) == 1 else None  # None: takes at several rates

    files: dict[str, int] = {}
    counts: dict[str, SplitCounts] = {}
    for split, ts in takes.items():
        data = _assemble(ts, len(first.joint_names) - 1)
        name = f"{split}.pt"
        with atomic_path(out / name) as tmp:
            torch.save(data, tmp)
        files[name] = (out / name).stat().st_size
        counts[split] = SplitCounts(len(ts), int(data["take_frames"].sum()), int(data["rotations"].shape[0]))

    ref = takes.get("train") or every
    offsets = np.mean([t.offsets for t in ref], axis=0)
    offsets[0] = 0.0  # the root's rest position is arbitrary per take (its pose is stored per frame)
    skeleton = {
        "joint_names": list(first.joint_names),
        "parents": list(first.parents),
        "offsets": offsets.tolist(),
        "end_site_parents": list(first.end_site_parents),
        "end_site_offsets": np.mean([t.end_site_offsets for t in ref], axis=0).reshape(-1, 3).tolist(),
        "unit": unit,
        "offsets_from": "train" if "train" in takes and takes["train"] else "all",
    }
    with atomic_open(out / SKELETON_FILE, "w") as f:
        json.dump(skeleton, f, indent=1)
    files[SKELETON_FILE] = (out / SKELETON_FILE).stat().st_size

    elapsed = time.perf_counter() - started
    manifest = {
        "format": _FORMAT,
        "version": _VERSION,
        "dataset": dataset,
        "protocol": protocol.to_dict(),
        "joint_names": list(first.joint_names[1:]),
        "root": first.joint_names[0],
        "fps": pose_fps,
        "unit": unit,
        "splits": {
            s: {"takes": c.takes, "frames": c.frames, "poses": c.poses, "file": f"{s}.pt"} for s, c in counts.items()
        },
        "files": files,
        "source": source,
        "elapsed_s": round(elapsed, 3),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "poseprior_version": __version__,
    }
    with atomic_open(out / MANIFEST, "w") as f:
        json.dump(manifest, f, indent=1)
    return PreparedSummary(out, dataset, protocol, counts, pose_fps, unit, elapsed)


def _assemble(takes: list[TakePoses], J: int) -> dict[str, Any]:
    """One split's tensors from its takes of ``J`` pose joints."""

    def cat(key: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        if not takes:
            return torch.zeros(0, *shape, dtype=dtype)
        return torch.from_numpy(np.concatenate([t.poses[key] for t in takes])).to(dtype)

    lengths = [len(t.poses["frame"]) for t in takes]
    kinds = sorted({k for t in takes for k in t.labels})
    return {
        "rotations": cat("rotations", (J, 3, 3), torch.float32),
        "root_rotation": cat("root_rotation", (3, 3), torch.float32),
        "root_position": cat("root_position", (3,), torch.float32),
        "take": torch.repeat_interleave(torch.arange(len(takes)), torch.tensor(lengths, dtype=torch.long)),
        "frame": cat("frame", (), torch.int64),
        "take_names": [t.name for t in takes],
        "take_frames": torch.tensor([t.num_frames for t in takes], dtype=torch.int64),
        "take_offsets": torch.from_numpy(np.stack([t.offsets for t in takes]))
        if takes
        else torch.zeros(0, J + 1, 3, dtype=torch.float64),
        "take_labels": {k: [t.labels.get(k, "") for t in takes] for k in kinds},
    }


def read_manifest(root: str | Path) -> dict[str, Any]:
    """The manifest of a prepared folder, after checking that the folder is complete.

    Raises :class:`FormatError` when the manifest is missing (preparation never ran or did not finish), is not
    one this version reads, or when a file it lists is missing or has another size.
    """
    root = Path(root)
    path = root / MANIFEST
    if not root.is_dir():
        raise FormatError(root, f"no such prepared dataset folder; {_RERUN.format(root=root)}")
    if not path.is_file():
        raise FormatError(
            path,
            f"missing: the folder is not a complete prepared dataset (preparation did not finish?); "
            f"{_RERUN.format(root=root)}",
        )
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FormatError(path, f"not valid JSON ({e}); {_RERUN.format(root=root)}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise FormatError(path, f"not a poseprior prepared-dataset manifest; {_RERUN.format(root=root)}")
    if manifest.get("version") != _VERSION:
        raise FormatError(
            path,
            f"cache format version {manifest.get('version')!r}, this poseprior reads {_VERSION}; "
            f"{_RERUN.format(root=root)}",
        )
    missing = [k for k in _MANIFEST_KEYS if k not in manifest]
    if missing:
        raise FormatError(path, f"manifest lacks key(s) {', '.join(missing)}; {_RERUN.format(root=root)}")
    if (
        not isinstance(manifest["files"], dict)
        or not isinstance(manifest["splits"], dict)
        or not isinstance(manifest["protocol"], dict)
    ):
        raise FormatError(
            path, f"manifest's 'files', 'splits' or 'protocol' is not a mapping; {_RERUN.format(root=root)}"
        )
    for where, entry, keys in (
        ("protocol", manifest["protocol"], _PROTOCOL_KEYS),
        *((f"split {n!r}", e, _SPLIT_KEYS) for n, e in manifest["splits"].items()),
    ):
        lacking = [k for k in keys if not isinstance(entry, dict) or k not in entry]
        if lacking:
            raise FormatError(path, f"manifest's {where} lacks key(s) {', '.join(lacking)}; {_RERUN.format(root=root)}")
    for name, size in manifest["files"].items():
        f = root / name
        if not f.is_file() or f.stat().st_size != size:
            raise FormatError(
                f, f"missing or changed since preparation (expected {size} bytes); {_RERUN.format(root=root)}"
            )
    return manifest


def skeleton_from_json(path: str | Path) -> Skeleton:
    """The canonical skeleton stored in a prepared folder's ``skeleton.json``."""
    d = json.loads(Path(path).read_text())
    offsets = torch.tensor(d["offsets"], dtype=torch.float64)
    ends = torch.tensor(d["end_site_offsets"], dtype=torch.float64).reshape(-1, 3)
    return Skeleton(tuple(d["joint_names"]), tuple(d["parents"]), offsets, tuple(d["end_site_parents"]), ends)
