"""Files to :class:`~poseprior.viz.viewer_scene.SceneMotion`: every kind of motion the viewer shows.

=================================================  ===========================================================
input                                              shown
=================================================  ===========================================================
``.bvh``, ``.amc`` (+ ``.asf``), motion ``.npz``   the motion (:func:`poseprior.io.read_motion`: interchange
(interchange, AMASS), ``archive.zip:member.bvh``   or AMASS npz)
``poseprior fit3d`` / ``fit2d`` / ``lift`` npz     the motion; ``hypotheses`` (rotations ``(T, H, K, 3, 3)``
(interchange + extra arrays)                       or positions ``(T, H, J, 3)``) as alternative poses
``poseprior lift`` npz of a flow lifter,           ``positions`` ``(T, J, 3)``, ``hypotheses`` ``(T, N, J, 3)``;
keypoints npz (:mod:`poseprior.io.keypoints`)      joints connected by their layout or a known skeleton
``poseprior sample`` poses npz                     one pose per frame (1 fps), on a known skeleton, stood up
a prepared folder (``prepared/bandai-v1``) or      one take of one split (default the first take of the
one of its split files (``test.pt``)               manifest's first split)
=================================================  ===========================================================

Per-joint values to colour by: the per-joint distance between two motions on the same joints (in
:func:`load_scene`), or an npz array of shape ``(T, J)`` or ``(J,)`` (``ViewOptions.values`` names it;
otherwise the first such array that is not part of the file's layout, e.g. a keypoints file's
``confidence``). Arrays of shape ``(T,)`` (``objective``, ``log_prob``) are shown per frame as text.

Up axis, unless ``ViewOptions.up`` says: ``"z"`` for AMASS, ``"-y"`` (camera frame) for the outputs of
``poseprior fit2d`` and ``poseprior lift``, ``"y"`` for everything else.

Example:
    >>> scene = load_scene(["noisy.npz", "denoised.npz"])  # coloured by the distance between them  # doctest: +SKIP
    >>> scene.motions[1].value_label  # doctest: +SKIP
    'distance between the two motions (mm)'
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from poseprior.errors import FormatError, ValidationError
from poseprior.io import Motion, read_keypoints_npz, read_motion
from poseprior.io.archive import split_member
from poseprior.io.npz import is_motion_npz, read_npz_arrays
from poseprior.io.poses import POSES_FORMAT, read_poses_npz
from poseprior.skeleton import Skeleton, forward_kinematics, posed_joints, upright_rotation
from poseprior.skeleton.layouts import LAYOUTS, KeypointLayout, get_layout
from poseprior.viz.viewer_scene import UP_AXES, MotionScene, SceneMotion, to_z_up

__all__ = ["ReferenceSkeleton", "ViewOptions", "load_scene", "load_scene_motion", "joint_distances"]

# Arrays that are part of a file's layout, never per-joint or per-frame values.
_LAYOUT_KEYS = frozenset(
    {
        "format", "joint_names", "parents", "offsets", "rotations", "root_translation", "positions", "fps", "unit_mm",
        "translations", "end_site_parents", "end_site_offsets", "metadata", "unit", "layout", "mask", "camera",
        "keypoints_2d", "pixels", "poses", "trans", "betas", "gender", "mocap_framerate", "mocap_frame_rate",
    }
)  # fmt: skip
_UNCONNECTED = "no known skeleton has these joints: drawn unconnected"
_POSES_FPS = 1.0  # a poses npz is shown one pose per second, as `poseprior sample` writes its BVH


@dataclass(frozen=True)
class ReferenceSkeleton:
    """A skeleton to connect joints of files that store none (keypoints, lifter output) and to pose the
    rotations of a poses npz; e.g. a zoo model's training skeleton.

    Attributes:
        name: where it comes from (``"flow-bandai"``, a file name), for messages.
        skeleton: the tree and rest offsets.
        unit_mm: millimetres per length unit of ``skeleton``'s offsets.
    """

    name: str
    skeleton: Skeleton
    unit_mm: float


@dataclass(frozen=True)
class ViewOptions:
    """How files are read for viewing.

    Attributes:
        up: the data's up axis (one of :data:`~poseprior.viz.viewer_scene.UP_AXES`); ``None`` guesses per
            file (module docstring).
        fps: frame rate replacing the files' own (AMC files store none: 120 by default).
        unit: length unit of keypoint files that record none (``"mm"``, ``"m"`` or millimetres per unit).
        values: name of the npz array of per-joint values to colour by; ``None`` picks one (module docstring).
        split: prepared datasets: the split to show (default the manifest's first).
        take: prepared datasets: a take name or index in the split (default 0).
        skeletons: known skeletons, tried in order for files without one.
    """

    up: str | None = None
    fps: float | None = None
    unit: str | float | None = None
    values: str | None = None
    split: str | None = None
    take: str | int | None = None
    skeletons: tuple[ReferenceSkeleton, ...] = ()

    def __post_init__(self) -> None:
        if self.up is not None and self.up not in UP_AXES:
            raise ValidationError(f"up: expected one of {', '.join(UP_AXES)}, got {self.up!r}")
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise ValidationError(f"fps: must be a positive number, got {self.fps!r}")
        object.__setattr__(self, "skeletons", tuple(self.skeletons))


@dataclass
class _Read:
    """A file's content before turning it upright: positions and hypotheses in metres, the file's axes."""

    name: str
    positions: np.ndarray
    parents: tuple[int, ...]
    joint_names: tuple[str, ...]
    fps: float
    up: str
    hypotheses: np.ndarray | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    joint_values: np.ndarray | None = None
    value_label: str = ""
    note: str = ""
    edges: tuple[tuple[int, int], ...] = ()


def load_scene(paths: Sequence[str | Path], options: ViewOptions | None = None) -> MotionScene:
    """A :class:`MotionScene` of one or two files side by side (``options.split`` and ``take`` apply to the
    prepared datasets among them).

    With two files on the same clock (same frame count) sharing joints by name, and no ``options.values``,
    both are coloured by the per-joint distance between them (:func:`joint_distances`, millimetres).
    """
    options = options or ViewOptions()
    if not 1 <= len(paths) <= 2:
        raise ValidationError(f"paths: expected one or two files, got {len(paths)}")
    datasets = [_is_prepared(p) for p in paths]
    # split and take choose within the dataset(s); a motion file beside one ignores them (alone, it refuses them)
    plain = replace(options, split=None, take=None) if any(datasets) else options
    motions = [
        load_scene_motion(p, options if is_dataset else plain) for p, is_dataset in zip(paths, datasets, strict=False)
    ]
    if len(motions) == 2:
        motions = [_borrow_tree(motions[0], motions[1]), _borrow_tree(motions[1], motions[0])]
    if len(motions) == 2 and options.values is None:
        a, b = motions
        if a.num_frames != b.num_frames:
            note = f"not compared: {a.num_frames} and {b.num_frames} frames"
            motions = [replace(m, note="; ".join(filter(None, (m.note, note)))) for m in motions]
        else:
            da, db = joint_distances(a, b)
            if np.isfinite(da).any():
                label = "distance between the two motions (mm)"
                motions = [
                    replace(a, joint_values=da, value_label=label),
                    replace(b, joint_values=db, value_label=label),
                ]
    return MotionScene(tuple(motions))


def _borrow_tree(m: SceneMotion, other: SceneMotion) -> SceneMotion:
    """``m`` with bones from ``other``'s tree when ``m`` has none and ``other`` has all its joints."""
    if any(p >= 0 for p in m.parents) or not any(p >= 0 for p in other.parents):
        return m
    parents = _parents_from_tree(m.joint_names, other.joint_names, other.parents)
    if parents is None:
        return m
    return replace(m, parents=parents, note=m.note.replace(_UNCONNECTED, f"bones from {other.name}"))


def joint_distances(a: SceneMotion, b: SceneMotion) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the distance in millimetres between the joints of ``a`` and ``b`` with the same name:
    ``(T, J_a)`` and ``(T, J_b)``, NaN for joints the other motion lacks (or misses in that frame). Both
    need ``T`` frames; positions are compared as loaded (before the viewer places them side by side)."""
    if a.num_frames != b.num_frames:
        raise ValidationError(f"a, b: need the same number of frames, got {a.num_frames} and {b.num_frames}")
    index_b = {n: j for j, n in enumerate(b.joint_names)}
    pairs = [(i, index_b[n]) for i, n in enumerate(a.joint_names) if n in index_b]
    da = np.full((a.num_frames, a.num_joints), np.nan)
    db = np.full((b.num_frames, b.num_joints), np.nan)
    if pairs:
        ia, ib = np.array(pairs).T
        d = np.linalg.norm(a.positions[:, ia] - b.positions[:, ib], axis=-1) * 1000.0
        da[:, ia], db[:, ib] = d, d
    return da, db


def load_scene_motion(path: str | Path, options: ViewOptions | None = None) -> SceneMotion:
    """One file (module docstring) as a :class:`SceneMotion` in metres, Z up.

    Raises:
        FormatError: naming the file: missing, unreadable, or an npz of no kind the viewer knows.
        ValidationError: unknown extension, bad options (``values``, ``split``, ``take``).
    """
    options = options or ViewOptions()
    path_text = str(path)
    archive, member = split_member(path_text)
    dataset = _prepared_root(archive) if member is None else None
    if dataset is None and (options.split is not None or options.take is not None):
        raise ValidationError(f"split, take: only for a prepared dataset folder, and {path_text} is not one")
    if dataset is not None:
        read = _read_prepared(*dataset, options)
    elif member is None and archive.suffix.lower() == ".npz":
        read = _read_npz(archive, options)
    elif member is None and archive.is_dir():
        raise FormatError(
            archive,
            "a folder, but not a prepared dataset (no prepared.json); give a motion file or a folder written by `poseprior data prepare`",
        )
    else:
        read = _from_motion(path_text, read_motion(path_text, fps=options.fps), {}, options)
    if read.joint_values is None:
        read.joint_values, read.value_label = _joint_values(path_text, read, options.values)
    up = options.up or read.up
    frame_values = {
        k: v
        for k, v in read.arrays.items()
        if k not in _LAYOUT_KEYS and _numeric(v) and v.shape == (len(read.positions),)
    }
    return SceneMotion(
        name=read.name,
        positions=to_z_up(read.positions, up),
        parents=read.parents,
        fps=options.fps or read.fps,
        joint_names=read.joint_names,
        hypotheses=None if read.hypotheses is None else to_z_up(read.hypotheses, up),
        joint_values=read.joint_values,
        value_label=read.value_label,
        frame_values=frame_values,
        note="; ".join(filter(None, (read.note, f"up axis {up}"))),
        edges=read.edges,
    )


# ------------------------------------------------------------------------------------------------ motions
def _from_motion(path: str, motion: Motion, arrays: dict[str, np.ndarray], options: ViewOptions) -> _Read:
    """A :class:`Motion` (and its file's extra arrays, for hypotheses and values)."""
    to_m = motion.unit / 1000.0
    source = str(_json_metadata(arrays).get("source", ""))
    camera_frame = source.startswith(("poseprior fit2d", "poseprior lift"))
    up = "z" if motion.metadata.get("format") == "amass" else "-y" if camera_frame else "y"
    read = _Read(
        name=_display_name(path),
        positions=motion.positions().numpy() * to_m,
        parents=motion.skeleton.parents,
        joint_names=motion.joint_names,
        fps=motion.fps,
        up=up,
        arrays=arrays,
    )
    if "hypotheses" in arrays:
        read.hypotheses = _motion_hypotheses(Path(path), motion, arrays) * to_m
    return read


def _motion_hypotheses(path: Path, motion: Motion, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """``(T, H, K, 3)`` hypothesis positions (motion unit) from a fit's ``hypotheses`` rotations of the joints
    below the root (``(T, H, K - 1, 3, 3)``; the root from ``hypotheses_root_rotation`` /
    ``hypotheses_root_translation`` (mm) when present, else the motion's), or given as positions ``(T, H, K, 3)``."""
    h = arrays["hypotheses"]
    T, K = motion.num_frames, motion.skeleton.num_joints
    if h.ndim == 4 and h.shape[0] == T and h.shape[2:] == (K, 3) and _numeric(h):
        return h.astype(np.float64)
    if not (h.ndim == 5 and h.shape[0] == T and h.shape[2:] == (K - 1, 3, 3) and _numeric(h)):
        raise FormatError(
            path, f"hypotheses: expected rotations ({T}, H, {K - 1}, 3, 3) or positions ({T}, H, {K}, 3), got {h.shape}"
        )
    H = h.shape[1]
    R = torch.from_numpy(h.astype(np.float64))
    if "hypotheses_root_rotation" in arrays:
        root_R = torch.from_numpy(_shaped(path, arrays, "hypotheses_root_rotation", (T, H, 3, 3)))
        root_t = torch.from_numpy(_shaped(path, arrays, "hypotheses_root_translation", (T, H, 3))) / motion.unit
    else:
        root_R = motion.rotations[:, None, 0].double().expand(T, H, 3, 3)
        root_t = motion.root_translation[:, None].double().expand(T, H, 3)
    return posed_joints(motion.skeleton, R, root_R, root_t)[0].numpy()


def _shaped(path: Path, arrays: dict[str, np.ndarray], key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in arrays:
        raise FormatError(path, f"{key}: missing (it comes with the other hypotheses_* arrays)")
    a = arrays[key]
    if a.shape != shape or not _numeric(a) or not np.isfinite(a).all():
        raise FormatError(path, f"{key}: expected finite numbers of shape {shape}, got {a.shape}, dtype {a.dtype}")
    return a.astype(np.float64)


# ------------------------------------------------------------------------------------------------ npz
def _read_npz(path: Path, options: ViewOptions) -> _Read:
    arrays = read_npz_arrays(path)
    keys = set(arrays)
    if "format" in keys and str(arrays["format"]) == POSES_FORMAT:
        return _read_poses(path, arrays, options)
    if is_motion_npz(keys) or {"poses", "trans"} <= keys:
        return _from_motion(str(path), read_motion(path, fps=options.fps), arrays, options)
    if "positions" in keys:
        return _read_keypoints(path, arrays, options)
    if "keypoints_2d" in keys:
        raise FormatError(
            path,
            "holds 2D keypoints (keypoints_2d), and the viewer shows 3D joints: lift or fit them first (poseprior lift, poseprior fit2d)",
        )
    raise FormatError(
        path,
        f"npz with keys {sorted(keys)} is none of what the viewer shows: a motion ('rotations' and 'joint_names', "
        "or AMASS 'poses' and 'trans'), 3D joints ('positions' and 'joint_names' or 'layout'), or sampled poses "
        f"(format {POSES_FORMAT!r})",
    )


def _read_keypoints(path: Path, arrays: dict[str, np.ndarray], options: ViewOptions) -> _Read:
    """A keypoints npz, or a flow lifter's output (the same keys plus ``hypotheses``)."""
    fps_note = "" if "fps" in arrays or options.fps else "no fps in the file: 30 assumed"
    kp = read_keypoints_npz(path, fps=options.fps or 30.0, unit=options.unit)
    if kp.dims != 3:
        raise FormatError(path, "positions: expected 3D keypoints (T, J, 3)")
    to_m = kp.unit / 1000.0
    positions = np.where(kp.visible[..., None], kp.positions, np.nan) * to_m
    # The file's layout, or a layout with exactly its joint names.
    layout = (
        get_layout(kp.layout)
        if kp.layout
        else next((lay for lay in LAYOUTS.values() if lay.joint_names == kp.joint_names), None)
    )
    parents, tree_note = _parents_for(kp.joint_names, layout, options.skeletons)
    read = _Read(
        name=path.name,
        positions=positions,
        parents=parents,
        joint_names=kp.joint_names,
        fps=kp.fps,
        up="-y" if "hypotheses_log_prob" in arrays else "y",  # a lifter's output is in the camera frame
        arrays=arrays,
        note="; ".join(filter(None, (tree_note, fps_note))),
        edges=tuple(layout.edges) if layout is not None else (),
    )
    if "hypotheses" in arrays:
        h = arrays["hypotheses"]
        T, J = positions.shape[:2]
        if not (h.ndim == 4 and h.shape[0] == T and h.shape[2:] == (J, 3) and _numeric(h)):
            raise FormatError(path, f"hypotheses: expected positions ({T}, N, {J}, 3), got {h.shape}")
        read.hypotheses = h.astype(np.float64) * to_m
    return read


def _read_poses(path: Path, arrays: dict[str, np.ndarray], options: ViewOptions) -> _Read:
    """``poseprior sample``'s poses npz: rotations ``(N, K, 3, 3)`` of the joints below a root, posed on the
    first known skeleton with those joints, the root at its rest position, unrotated."""
    rotations, names = read_poses_npz(path, arrays)
    for ref in options.skeletons:
        sk = ref.skeleton
        if set(names) <= set(sk.joint_names[1:]):
            sub = sk.subset((sk.joint_names[0], *names))
            if sub.joint_names[1:] == names:
                break
    else:
        known = ", ".join(r.name for r in options.skeletons) or "none"
        raise FormatError(
            path,
            f"sampled poses hold joint rotations but no skeleton, and no known skeleton ({known}) has its joints "
            f"({', '.join(names)}); give a motion file on these joints as the skeleton (--skeleton FILE)",
        )
    N = rotations.shape[0]
    root = upright_rotation(sub)
    rotations = torch.cat([root.expand(N, 1, 3, 3), rotations], dim=1)
    positions = forward_kinematics(sub, rotations, sub.offsets[0].expand(N, 3))[0].numpy()
    return _Read(
        name=path.name,
        positions=positions * ref.unit_mm / 1000.0,
        parents=sub.parents,
        joint_names=sub.joint_names,
        fps=_POSES_FPS,
        up="y",
        arrays=arrays,
        note=f"{N} sampled poses, one per second, on the {ref.name} skeleton, stood upright",
    )


# ------------------------------------------------------------------------------------------------ prepared
def _prepared_root(path: Path) -> tuple[Path, str | None] | None:
    """``(folder, split file's split or None)`` when ``path`` is a prepared folder or one of its split files."""
    if path.is_dir() and (path / "prepared.json").is_file():
        return path, None
    if path.suffix == ".pt" and (path.parent / "prepared.json").is_file():
        from poseprior.data.cache import read_manifest

        manifest = read_manifest(path.parent)
        for split, entry in manifest["splits"].items():
            if entry.get("file") == path.name:
                return path.parent, split
        raise FormatError(
            path, f"not a split file of the prepared dataset {path.parent} (splits: {', '.join(manifest['splits'])})"
        )
    return None


def _is_prepared(path: str | Path) -> bool:
    archive, member = split_member(str(path))
    return member is None and _prepared_root(archive) is not None


def _read_prepared(root: Path, file_split: str | None, options: ViewOptions) -> _Read:
    """One take of a prepared split, posed on the canonical skeleton with the take's own bone offsets."""
    from poseprior.data import load_prepared
    from poseprior.data.cache import read_manifest

    splits = list(read_manifest(root)["splits"])
    if options.split is not None and file_split is not None and options.split != file_split:
        raise ValidationError(f"split: {options.split!r} given, but {root} split file is the {file_split!r} split")
    split = options.split or file_split or splits[0]
    if split not in splits:
        raise ValidationError(f"split: {split!r} is not in {root}; splits: {', '.join(splits)}")
    dataset = load_prepared(root, [split])
    data = dataset[split]
    take = 0 if options.take is None else options.take
    if isinstance(take, str) and take not in data.take_names:
        if not take.lstrip("-").isdigit():
            raise ValidationError(
                f"take: no take {take!r} in the {split} split of {root} (its first: {', '.join(data.take_names[:3])}, ...)"
            )
        take = int(take)
    index = data.take_names.index(take) if isinstance(take, str) else int(take)
    if not 0 <= index < len(data.take_names):
        raise ValidationError(
            f"take: index {index} out of range; the {split} split of {root} has {len(data.take_names)} takes"
        )
    rows = torch.nonzero(data.take == index).flatten()
    rows = rows[torch.argsort(data.frame[rows])]
    if not len(rows):
        raise FormatError(root, f"take {data.take_names[index]!r} of the {split} split has no poses")
    skeleton = dataset.skeleton.with_offsets(data.take_offsets[index].double())
    R = torch.cat([data.root_rotation[rows, None], data.rotations[rows]], dim=1).double()
    positions = forward_kinematics(skeleton, R, data.root_position[rows].double())[0].numpy()
    fps = dataset.fps or dataset.protocol.fps or 30.0
    labels = ", ".join(f"{k} {v[index]}" for k, v in sorted(data.take_labels.items()))
    return _Read(
        name=f"{root.name} {split}: {data.take_names[index]}",
        positions=positions * dataset.unit / 1000.0,
        parents=skeleton.parents,
        joint_names=skeleton.joint_names,
        fps=fps,
        up="y",
        note=f"take {index} of {len(data.take_names)} in the {split} split" + (f" ({labels})" if labels else ""),
    )


# ------------------------------------------------------------------------------------------------ helpers
def _parents_for(
    names: tuple[str, ...], layout: KeypointLayout | None, skeletons: Sequence[ReferenceSkeleton]
) -> tuple[tuple[int, ...], str]:
    """``(parents, note)`` connecting named joints: their ``layout``'s tree, else each joint's nearest ancestor
    among them in the first known skeleton that has them all, else none (joints drawn unconnected)."""
    if layout is not None:
        if layout.parents is not None:
            return tuple(layout.parents), ""
        return _spanning_tree(
            len(names), layout.edges
        ), ""  # the layout's other edges are drawn too (SceneMotion.edges)
    for ref in skeletons:
        parents = _parents_from_tree(names, ref.skeleton.joint_names, ref.skeleton.parents)
        if parents is not None:
            return parents, f"bones from the {ref.name} skeleton"
    return (-1,) * len(names), _UNCONNECTED


def _parents_from_tree(
    names: Sequence[str], tree_names: Sequence[str], tree_parents: Sequence[int]
) -> tuple[int, ...] | None:
    """Each of ``names``' nearest ancestor among ``names`` in a tree holding them all (``-1``: none), or None
    when the tree lacks one of them."""
    if not set(names) <= set(tree_names):
        return None
    index, tree_index = {n: i for i, n in enumerate(names)}, {n: i for i, n in enumerate(tree_names)}
    parents = []
    for n in names:
        p = tree_parents[tree_index[n]]
        while p != -1 and tree_names[p] not in index:
            p = tree_parents[p]
        parents.append(-1 if p == -1 else index[tree_names[p]])
    return tuple(parents)


def _spanning_tree(n: int, edges: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Parents of a breadth-first tree over an undirected graph's ``edges`` (joints it misses are roots)."""
    neighbours: dict[int, list[int]] = {i: [] for i in range(n)}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    parents, seen = [-1] * n, set()
    for start in range(n):
        if start in seen:
            continue
        seen.add(start)
        queue = [start]
        while queue:
            j = queue.pop(0)
            for k in neighbours[j]:
                if k not in seen:
                    seen.add(k)
                    parents[k] = j
                    queue.append(k)
    return tuple(parents)


def _joint_values(path: str, read: _Read, key: str | None) -> tuple[np.ndarray | None, str]:
    """``(values (T, J) or (J,), label)`` from the file's arrays: ``key``, or the first per-joint array."""
    T, J = read.positions.shape[:2]

    def per_joint(a: np.ndarray) -> bool:
        return _numeric(a) and a.shape in ((T, J), (J,))

    if key is not None:
        if key not in read.arrays:
            found = [k for k, a in read.arrays.items() if k not in _LAYOUT_KEYS and per_joint(a)]
            raise ValidationError(f"values: {path} has no array {key!r}; its per-joint arrays: {found or 'none'}")
        if not per_joint(read.arrays[key]):
            raise ValidationError(
                f"values: {path}'s {key!r} has shape {read.arrays[key].shape}; per-joint values need ({T}, {J}) or ({J},)"
            )
        return read.arrays[key].astype(np.float64), key
    for k, a in read.arrays.items():
        if k not in _LAYOUT_KEYS and not k.startswith("hypotheses") and per_joint(a):
            return a.astype(np.float64), k
    return None, ""


def _numeric(a: np.ndarray) -> bool:
    return a.dtype.kind in "fiu"


def _json_metadata(arrays: dict[str, np.ndarray]) -> dict:
    try:
        meta = json.loads(str(arrays["metadata"])) if "metadata" in arrays else {}
    except json.JSONDecodeError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _display_name(path: str) -> str:
    archive, member = split_member(path)
    return Path(member).name if member else archive.name
