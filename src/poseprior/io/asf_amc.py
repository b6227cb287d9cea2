"""ASF/AMC (Acclaim) skeletons and motions, the format of the CMU motion capture database.

An ASF file describes the skeleton as *bones*, each with a ``direction`` (unit vector in the global rest
frame), a ``length``, an ``axis`` (the orientation of the frame its degrees of freedom turn about) and its
``dof`` list; ``:hierarchy`` links them under ``root``. An AMC file then gives, frame by frame, the ``dof``
values of every bone that has some.

Conventions of :func:`read_amc` (checked against the CMU BVH conversion of the same take, see
``tests/io/test_asf_amc.py``):

- Joints: ``root`` plus one joint per bone, named after the bone, in depth-first order of ``:hierarchy``
  (children in the order listed). A joint sits at the *start* of its bone, so its offset is its parent
  bone's ``direction * length`` (zero for the root's children, which start at the root, and the root's
  offset is ``:root position``); the end of each leaf bone is an end site.
- Rotations: ``axis ax ay az XYZ`` gives ``C = Rz(az) @ Ry(ay) @ Rx(ax)``: the order names the axes in the
  order the rotations apply to a vector (about fixed axes, i.e. extrinsic, ``euler_to_matrix("xyz", ...)``).
  The AMC values, in the order of ``dof``, give ``M`` the same way (``dof rx ry rz`` -> ``Rz @ Ry @ Rx``;
  ``dof rx rz`` -> ``Rz @ Rx``). The joint's local rotation in world-aligned rest frames is ``C @ M @ C^T``,
  so that :func:`~poseprior.skeleton.forward_kinematics` on the rest offsets places every joint. The root
  works the same way with ``orientation`` as its axis angles, ``axis`` as their order and the rotation
  channels of ``order``.
- Lengths stay in the ASF's unit. ``:units length L`` means lengths are inches times ``L`` (CMU: 0.45), so
  one unit is ``25.4 / L`` millimetres: that is :attr:`Motion.unit` unless ``unit=`` says otherwise.
  ``:units angle deg|rad`` sets the ASF's angles; AMC values are degrees after ``:DEGREES``, radians after
  ``:RADIANS``, else in the ASF's angle unit. The AMC root translation is absolute.
- AMC files have no frame rate: pass ``fps`` (CMU: 120).

Translation and length dofs of non-root bones (``tx``, ``ty``, ``tz``, ``l``) are not supported: such
files raise :class:`~poseprior.errors.FormatError`.

Example:
    >>> motion = read_asf_amc("01.asf", "01_01.amc")  # doctest: +SKIP
    >>> motion.positions(millimetres=True).shape  # doctest: +SKIP
    torch.Size([2751, 31, 3])
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from poseprior._atomic import atomic_open
from poseprior.errors import FormatError, ValidationError
from poseprior.geometry import euler_to_matrix, geodesic_distance, matrix_to_euler
from poseprior.io.motion import Motion
from poseprior.io.plausible import MAX_ANGLE_DEG, first_beyond
from poseprior.io.units import unit_to_mm
from poseprior.skeleton import Skeleton

__all__ = ["AsfSkeleton", "read_asf", "read_amc", "read_asf_amc", "write_asf_amc"]

_ROTATION_DOFS = ("rx", "ry", "rz")
_ROOT_DOFS = ("tx", "ty", "tz", "rx", "ry", "rz")
# Largest angle (radians) by which a rotation may miss what a bone's dofs can express and still be written
# with that bone's dofs.
_FIT_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class AsfSkeleton:
    """The content of an ASF file, one entry per joint: ``root`` first, then the bones in depth-first order.

    Attributes:
        names: ``K`` joint names, ``"root"`` then the bone names.
        parents: ``K`` parent indices (``-1`` for the root), topological.
        directions: ``(K, 3)`` unit bone directions in the global rest frame (zero for the root).
        lengths: ``(K,)`` bone lengths in the ASF's length unit (zero for the root).
        axes: ``(K, 3)`` axis angles in radians (the root's ``orientation`` in row 0).
        axis_orders: ``K`` upper-case orders of the axis angles, e.g. ``"XYZ"`` (the root's ``axis`` first).
        dofs: ``K`` tuples of lower-case dof names in AMC value order: ``("rx", "ry", "rz")``; the root's
            entry is its ``order``, e.g. ``("tx", "ty", "tz", "rx", "ry", "rz")``.
        limits: ``K`` tuples of ``(low, high)`` per dof (radians for rotations, ASF units for translations);
            empty where the file gives none.
        root_position: ``(3,)`` rest position of the root, in ASF units.
        length_scale: the ``:units length`` value ``L`` (lengths are inches times ``L``).
        angle_unit: ``"deg"`` or ``"rad"``, the ``:units angle`` of the file (values here are radians).
        name: the ``:name`` of the skeleton.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    directions: torch.Tensor
    lengths: torch.Tensor
    axes: torch.Tensor
    axis_orders: tuple[str, ...]
    dofs: tuple[tuple[str, ...], ...]
    limits: tuple[tuple[tuple[float, float], ...], ...]
    root_position: torch.Tensor
    length_scale: float = 1.0
    angle_unit: str = "deg"
    name: str = "poseprior"

    @property
    def num_joints(self) -> int:
        """``K``: the root and the bones."""
        return len(self.names)

    @property
    def root_order(self) -> tuple[str, ...]:
        """The root's AMC channels, e.g. ``("tx", "ty", "tz", "rx", "ry", "rz")``."""
        return self.dofs[0]

    @property
    def root_axis(self) -> str:
        """The order of the root's ``orientation`` angles, e.g. ``"XYZ"``."""
        return self.axis_orders[0]

    @property
    def unit(self) -> float:
        """Millimetres per ASF length unit, ``25.4 / length_scale``."""
        return 25.4 / self.length_scale

    @property
    def skeleton(self) -> Skeleton:
        """The :class:`Skeleton`: joints at bone starts, offsets ``direction * length`` of the parent bone."""
        vectors = self.directions * self.lengths[:, None]
        offsets = torch.stack([self.root_position if p < 0 else vectors[p] for p in self.parents])
        leaves = [j for j in range(1, self.num_joints) if j not in self.parents]
        return Skeleton(self.names, self.parents, offsets, leaves, vectors[leaves])

    def axis_rotations(self) -> torch.Tensor:
        """``(K, 3, 3)`` the matrices ``C`` of the joints' dof frames (see the module's conventions)."""
        return torch.stack([euler_to_matrix(o.lower(), a) for o, a in zip(self.axis_orders, self.axes, strict=False)])

    def local_rotations(self, values: Sequence[torch.Tensor]) -> torch.Tensor:
        """Local rotations ``(T, K, 3, 3)`` in world-aligned rest frames, ``C @ M @ C^T``.

        Args:
            values: per joint, ``(T, len(dofs[k]))`` dof values in radians (translations of the root ignored).
        """
        C = self.axis_rotations()
        T = values[0].shape[0]
        out = torch.eye(3, dtype=torch.float64).repeat(T, self.num_joints, 1, 1)
        groups: dict[str, list[int]] = {}  # joints by rotation axes, one Euler conversion per group
        for k, dofs in enumerate(self.dofs):
            axes = "".join(d[1] for d in dofs if d in _ROTATION_DOFS)
            if axes:
                groups.setdefault(axes, []).append(k)
        for axes, joints in groups.items():
            columns = [[i for i, d in enumerate(self.dofs[k]) if d in _ROTATION_DOFS] for k in joints]
            angles = torch.stack([values[k][:, c] for k, c in zip(joints, columns, strict=False)], dim=1)
            Cg = C[joints]
            out[:, joints] = Cg @ euler_to_matrix(axes, angles) @ Cg.transpose(-1, -2)
        return out


# ------------------------------------------------------------------------------------------------- lines
def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line number, tokens)`` of the non-blank, non-comment lines of a text file."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise FormatError(path, f"cannot read file ({e.strerror or e})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if tokens and not tokens[0].startswith("#"):
            yield number, tokens


def _floats(path: Path, line: int, tokens: Sequence[str], what: str) -> list[float]:
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        raise FormatError(path, f"{what}: expected numbers, got {' '.join(tokens)!r}", line) from None
    if not all(math.isfinite(v) for v in values):
        raise FormatError(path, f"{what}: NaN or infinite value in {' '.join(tokens)!r}", line)
    return values


def _order(path: Path, line: int, token: str) -> str:
    order = token.upper()
    if len(order) != 3 or set(order) != set("XYZ"):
        raise FormatError(path, f"axis order must be a permutation of XYZ, got {token!r}", line)
    return order


# ---------------------------------------------------------------------------------------------------- ASF
@dataclass
class _Bone:
    line: int
    name: str | None = None
    direction: list[float] | None = None
    length: float | None = None
    axis: tuple[list[float], str] = field(default_factory=lambda: ([0.0, 0.0, 0.0], "XYZ"))
    dofs: tuple[str, ...] = ()
    limits: tuple[tuple[float, float], ...] = ()


def _sections(path: Path) -> dict[str, tuple[int, list[str], list[tuple[int, list[str]]]]]:
    """``{keyword: (line, inline tokens, body lines)}`` for each ``:keyword`` section of an ASF file."""
    sections: dict[str, tuple[int, list[str], list[tuple[int, list[str]]]]] = {}
    current: list[tuple[int, list[str]]] | None = None
    for number, tokens in _lines(path):
        if tokens[0].startswith(":"):
            key = tokens[0][1:].lower()
            if key in sections:
                raise FormatError(path, f"section ':{key}' appears twice", number)
            current = []
            sections[key] = (number, tokens[1:], current)
        elif current is None:
            raise FormatError(path, f"expected a ':keyword' section, got {tokens[0]!r}", number)
        else:
            current.append((number, tokens))
    for required in ("bonedata", "hierarchy"):
        if required not in sections:
            raise FormatError(path, f"not an ASF file: no ':{required}' section")
    return sections


def _blocks(
    path: Path, body: list[tuple[int, list[str]]], section: str
) -> list[tuple[int, list[tuple[int, list[str]]]]]:
    """The ``begin ... end`` blocks of a section: ``(line of begin, lines inside)``."""
    blocks: list[tuple[int, list[tuple[int, list[str]]]]] = []
    inside: list[tuple[int, list[str]]] | None = None
    start = 0
    for number, tokens in body:
        word = tokens[0].lower()
        if word == "begin":
            if inside is not None:
                raise FormatError(
                    path, f":{section}: 'begin' inside the block opened at line {start} (missing 'end')", number
                )
            inside, start = [], number
        elif word == "end":
            if inside is None:
                raise FormatError(path, f":{section}: 'end' without 'begin'", number)
            blocks.append((start, inside))
            inside = None
        elif inside is None:
            raise FormatError(path, f":{section}: {tokens[0]!r} outside a 'begin ... end' block", number)
        else:
            inside.append((number, tokens))
    if inside is not None:
        raise FormatError(path, f":{section}: the block opened at line {start} has no 'end'", start)
    return blocks


def _bone(path: Path, start: int, body: list[tuple[int, list[str]]], to_rad: float) -> _Bone:
    bone = _Bone(start)
    limits: list[float] = []
    in_limits = False
    for number, tokens in body:
        key = tokens[0].lower()
        args = tokens[1:]
        if key.startswith("("):  # continuation of 'limits'
            if not in_limits:
                raise FormatError(path, f"unexpected {tokens[0]!r} outside 'limits'", number)
            args = tokens
        else:
            in_limits = key == "limits"
        if key == "name":
            if len(args) != 1:
                raise FormatError(path, "name: expected one word", number)
            bone.name = args[0]
        elif key == "direction":
            if len(args) != 3:
                raise FormatError(path, f"direction: expected 3 numbers, got {len(args)}", number)
            bone.direction = _floats(path, number, args, "direction")
        elif key == "length":
            if len(args) != 1:
                raise FormatError(path, f"length: expected 1 number, got {len(args)}", number)
            bone.length = _floats(path, number, args, "length")[0]
            if bone.length < 0:
                raise FormatError(path, f"length: must not be negative, got {bone.length}", number)
        elif key == "axis":
            if len(args) != 4:
                raise FormatError(path, "axis: expected 3 angles and an order such as XYZ", number)
            angles = [a * to_rad for a in _floats(path, number, args[:3], "axis")]
            bone.axis = (angles, _order(path, number, args[3]))
        elif key == "dof":
            dofs = tuple(a.lower() for a in args)
            unknown = [d for d in dofs if d not in _ROTATION_DOFS]
            if unknown:
                raise FormatError(
                    path, f"dof {unknown[0]!r}: only rotation dofs rx, ry, rz are supported on bones", number
                )
            if len(set(dofs)) != len(dofs):
                raise FormatError(path, f"dof: repeated entry in {' '.join(args)!r}", number)
            bone.dofs = dofs
        elif in_limits:
            limits += _floats(path, number, " ".join(args).replace("(", " ").replace(")", " ").split(), "limits")
    if bone.name is None or bone.direction is None or bone.length is None:
        missing = [
            k for k, v in (("name", bone.name), ("direction", bone.direction), ("length", bone.length)) if v is None
        ]
        raise FormatError(path, f"bone block without {', '.join(missing)}", start)
    if limits:
        if len(limits) != 2 * len(bone.dofs):
            raise FormatError(path, f"bone {bone.name!r}: {len(limits) // 2} limits for {len(bone.dofs)} dofs", start)
        bone.limits = tuple((limits[2 * i] * to_rad, limits[2 * i + 1] * to_rad) for i in range(len(bone.dofs)))
    norm = math.sqrt(sum(d * d for d in bone.direction))
    if norm == 0 and bone.length > 0:
        raise FormatError(path, f"bone {bone.name!r}: zero direction with a nonzero length", start)
    if norm > 0:
        bone.direction = [d / norm for d in bone.direction]
    return bone


def _units(path: Path, body: list[tuple[int, list[str]]]) -> tuple[float, str]:
    length, angle = 1.0, "deg"
    for number, tokens in body:
        key = tokens[0].lower()
        if len(tokens) != 2:
            raise FormatError(path, f":units: expected 'name value', got {' '.join(tokens)!r}", number)
        if key == "length":
            length = _floats(path, number, tokens[1:], "length")[0]
            if length <= 0:
                raise FormatError(path, f":units length must be positive, got {length}", number)
        elif key == "angle":
            angle = tokens[1].lower()
            if angle not in ("deg", "rad"):
                raise FormatError(path, f":units angle must be deg or rad, got {tokens[1]!r}", number)
    return length, angle


def _root(path: Path, line: int, body: list[tuple[int, list[str]]], to_rad: float) -> tuple[_Bone, list[float]]:
    """The root as a bone (its ``orientation`` as axis, ``order`` as dofs) and its rest ``position``."""
    root = _Bone(line, "root", [0.0, 0.0, 0.0], 0.0, dofs=_ROOT_DOFS)
    position = [0.0, 0.0, 0.0]
    for number, tokens in body:
        key, args = tokens[0].lower(), tokens[1:]
        if key == "order":
            dofs = tuple(a.lower() for a in args)
            if any(d not in _ROOT_DOFS for d in dofs) or len(set(dofs)) != len(dofs):
                raise FormatError(
                    path, f":root order: expected distinct TX TY TZ RX RY RZ, got {' '.join(args)!r}", number
                )
            root.dofs = dofs
        elif key == "axis":
            if len(args) != 1:
                raise FormatError(path, ":root axis: expected an order such as XYZ", number)
            root.axis = (root.axis[0], _order(path, number, args[0]))
        elif key in ("position", "orientation"):
            if len(args) != 3:
                raise FormatError(path, f":root {key}: expected 3 numbers, got {len(args)}", number)
            values = _floats(path, number, args, f":root {key}")
            if key == "position":
                position = values
            else:
                root.axis = ([v * to_rad for v in values], root.axis[1])
    return root, position


def _hierarchy(path: Path, body: list[tuple[int, list[str]]], bones: dict[str, _Bone]) -> list[tuple[str, int]]:
    """``(name, parent index)`` in depth-first order, the root first."""
    blocks = _blocks(path, body, "hierarchy")
    if len(blocks) != 1:
        raise FormatError(path, f":hierarchy: expected one 'begin ... end' block, got {len(blocks)}")
    children: dict[str, list[str]] = {}
    parent_of: dict[str, str] = {}
    for number, tokens in blocks[0][1]:
        parent = tokens[0]
        if parent != "root" and parent not in bones:
            raise FormatError(path, f":hierarchy: bone {parent!r} is not defined in :bonedata", number)
        for child in tokens[1:]:
            if child not in bones:
                raise FormatError(path, f":hierarchy: bone {child!r} is not defined in :bonedata", number)
            if child in parent_of:
                raise FormatError(path, f":hierarchy: bone {child!r} already has parent {parent_of[child]!r}", number)
            parent_of[child] = parent
            children.setdefault(parent, []).append(child)
    order: list[tuple[str, int]] = []
    stack: list[tuple[str, int]] = [("root", -1)]
    while stack:
        name, parent = stack.pop()
        index = len(order)
        order.append((name, parent))
        stack += [(c, index) for c in reversed(children.get(name, []))]
    reached = {name for name, _ in order}
    unreached = [n for n in bones if n not in reached]
    if unreached:
        raise FormatError(path, f":hierarchy: bones not connected to root: {', '.join(unreached)}")
    return order


def read_asf(path: str | Path) -> AsfSkeleton:
    """Read an ASF skeleton file.

    Args:
        path: the ``.asf`` file.

    Returns:
        The :class:`AsfSkeleton` (its :attr:`~AsfSkeleton.skeleton` is the joint tree motions use).

    Without ``:units``, lengths are inches (``L = 1``) and angles degrees.

    Raises:
        FormatError: naming the file and line, for a missing ``:bonedata``/``:hierarchy``, malformed
            ``begin``/``end`` blocks, a hierarchy naming an undefined bone, bad numbers, unsupported dofs.

    Example:
        >>> asf = read_asf("01.asf")  # doctest: +SKIP
        >>> asf.names[:3], asf.unit  # doctest: +SKIP
        (('root', 'lhipjoint', 'lfemur'), 56.44...)
    """
    path = Path(path)
    sections = _sections(path)
    length_scale, angle_unit = _units(path, sections["units"][2]) if "units" in sections else (1.0, "deg")
    to_rad = math.pi / 180 if angle_unit == "deg" else 1.0
    root, position = _root(path, *sections["root"][::2], to_rad) if "root" in sections else _root(path, 0, [], to_rad)
    bones: dict[str, _Bone] = {}
    for start, body in _blocks(path, sections["bonedata"][2], "bonedata"):
        bone = _bone(path, start, body, to_rad)
        if bone.name == "root" or bone.name in bones:
            why = "is reserved for the root" if bone.name == "root" else "is used by two bones"
            raise FormatError(path, f"bone name {bone.name!r} {why}", start)
        bones[bone.name] = bone
    order = _hierarchy(path, sections["hierarchy"][2], bones)
    entries = [root if name == "root" else bones[name] for name, _ in order]
    return AsfSkeleton(
        names=tuple(name for name, _ in order),
        parents=tuple(p for _, p in order),
        directions=torch.tensor([[0.0, 0.0, 0.0]] + [b.direction for b in entries[1:]], dtype=torch.float64),
        lengths=torch.tensor([b.length for b in entries], dtype=torch.float64),
        axes=torch.tensor([b.axis[0] for b in entries], dtype=torch.float64),
        axis_orders=tuple(b.axis[1] for b in entries),
        dofs=tuple(b.dofs for b in entries),
        limits=tuple(b.limits for b in entries),
        root_position=torch.tensor(position, dtype=torch.float64),
        length_scale=length_scale,
        angle_unit=angle_unit,
        name=" ".join(sections["name"][1]) if "name" in sections else path.stem,
    )


# ---------------------------------------------------------------------------------------------------- AMC
def _amc_values(path: Path, asf: AsfSkeleton) -> tuple[list[torch.Tensor], float | None, int]:
    """Per joint, the ``(T, len(dofs))`` values as written; the header's radians per value (``None`` when
    the file does not say); the first frame number."""
    index = {name: k for k, name in enumerate(asf.names)}
    required = {k for k in range(asf.num_joints) if asf.dofs[k]}
    rows: list[list[list[str]]] = [[] for _ in asf.names]
    row_lines: list[list[int]] = [[] for _ in asf.names]
    to_rad: float | None = None
    first = frame = None
    frame_line = 0
    seen: set[int] = set()

    def close_frame() -> None:
        missing = required - seen
        if missing:
            names = ", ".join(asf.names[k] for k in sorted(missing))
            raise FormatError(path, f"frame {frame} has no values for bones {names} (truncated file?)", frame_line)

    for number, tokens in _lines(path):
        head = tokens[0]
        if head.startswith(":"):
            if frame is not None:
                raise FormatError(path, f"header keyword {head!r} after the first frame", number)
            key = head[1:].upper()
            if key == "DEGREES":
                to_rad = math.pi / 180
            elif key == "RADIANS":
                to_rad = 1.0
            continue
        if len(tokens) == 1 and head.lstrip("-").isdigit():
            if frame is not None:
                close_frame()
                if int(head) != frame + 1:
                    raise FormatError(
                        path, f"frame number {head} after frame {frame}: frames must be consecutive", number
                    )
            else:
                first = int(head)
            frame, frame_line = int(head), number
            seen = set()
            continue
        if frame is None:
            raise FormatError(path, f"expected a frame number before bone values, got {head!r}", number)
        k = index.get(head)
        if k is None:
            raise FormatError(path, f"unknown bone {head!r} (not in the ASF skeleton)", number)
        if k in seen:
            raise FormatError(path, f"bone {head!r} appears twice in frame {frame}", number)
        seen.add(k)
        dofs = asf.dofs[k]
        if len(tokens) - 1 != len(dofs):
            raise FormatError(
                path,
                f"bone {head!r} has {len(dofs)} dofs ({' '.join(dofs) or 'none'}) but {len(tokens) - 1} values",
                number,
            )
        rows[k].append(tokens[1:])
        row_lines[k].append(number)
    if frame is None:
        raise FormatError(path, "no frames (not an AMC file?)")
    close_frame()
    T = frame - first + 1
    values = []
    for k, dofs in enumerate(asf.dofs):
        try:  # numpy converts all values at once; the slow per-line path only finds the bad line
            array = np.array(rows[k], dtype=np.float64).reshape(T, len(dofs))
        except ValueError:
            bad = next(i for i, r in enumerate(rows[k]) if not _is_numeric(r))
            text = " ".join(rows[k][bad])
            raise FormatError(
                path, f"bone {asf.names[k]!r}: expected numbers, got {text!r}", row_lines[k][bad]
            ) from None
        finite = np.isfinite(array).all(axis=1)
        if not finite.all():
            bad = int(np.argmin(finite))
            text = " ".join(rows[k][bad])
            raise FormatError(path, f"bone {asf.names[k]!r}: NaN or infinite value in {text!r}", row_lines[k][bad])
        values.append(torch.from_numpy(array))
    return values, to_rad, first


def _is_numeric(tokens: Sequence[str]) -> bool:
    try:
        [float(t) for t in tokens]
    except ValueError:
        return False
    return True


def read_amc(
    amc_path: str | Path, asf: AsfSkeleton | str | Path, *, unit: str | float | None = None, fps: float = 120.0
) -> Motion:
    """Read an AMC motion against its ASF skeleton.

    Args:
        amc_path: the ``.amc`` file.
        asf: the skeleton, read by :func:`read_asf` or a path to the ``.asf`` file.
        unit: the length unit (name or millimetres per unit); default ``25.4 / L`` from ``:units length L``.
        fps: frames per second (AMC files do not store it; CMU captures are 120).

    Returns:
        A :class:`Motion` on ``asf.skeleton``: ``(T, K, 3, 3)`` float64 rotations, root translation in ASF
        units, ``metadata`` with ``source``, ``first_frame`` and ``asf`` (the :class:`AsfSkeleton`, which
        lets :func:`write_asf_amc` write the same skeleton back).

    Raises:
        FormatError: naming the file and line, for an unknown bone, a wrong number of values, a value that is
            not a finite number, non-consecutive frame numbers or a frame missing bones.
    """
    amc_path = Path(amc_path)
    metadata: dict = {"source": str(amc_path)}
    if not isinstance(asf, AsfSkeleton):
        metadata["asf_path"] = str(asf)
        asf = read_asf(asf)
    unit_mm = asf.unit if unit is None else unit_to_mm(unit)
    values, to_rad, first = _amc_values(amc_path, asf)
    if to_rad is None:
        to_rad = math.pi / 180 if asf.angle_unit == "deg" else 1.0
    T = values[0].shape[0]
    root_translation = asf.root_position.repeat(T, 1)
    for i, d in enumerate(asf.root_order):
        if d in ("tx", "ty", "tz"):
            root_translation[:, "xyz".index(d[1])] = values[0][:, i]
    scales = [
        torch.tensor([to_rad if d in _ROTATION_DOFS else 1.0 for d in dofs], dtype=torch.float64) for dofs in asf.dofs
    ]
    for k, (v, dofs) in enumerate(zip(values, asf.dofs, strict=False)):
        rotation = torch.tensor([d in _ROTATION_DOFS for d in dofs], dtype=torch.bool)
        hit = first_beyond(v[:, rotation] * (to_rad * 180 / math.pi), MAX_ANGLE_DEG)
        if hit is not None:
            dof = [d for d in dofs if d in _ROTATION_DOFS][hit[1]]
            raise FormatError(
                amc_path,
                f"frame {first + hit[0]}, bone {asf.names[k]!r}: {dof} is beyond any pose (limit {MAX_ANGLE_DEG:g} degrees)",
            )
    angles = [v * scale for v, scale in zip(values, scales, strict=False)]
    metadata.update(first_frame=first, asf=asf)
    return Motion(asf.skeleton, asf.local_rotations(angles), root_translation, float(fps), unit_mm, metadata=metadata)


def read_asf_amc(
    asf_path: str | Path, amc_path: str | Path, *, unit: str | float | None = None, fps: float = 120.0
) -> Motion:
    """Read an ASF skeleton and an AMC motion: ``read_amc(amc_path, read_asf(asf_path), ...)``."""
    return read_amc(amc_path, asf_path, unit=unit, fps=fps)


# ------------------------------------------------------------------------------------------------- writer
def write_asf_amc(motion: Motion, asf_path: str | Path, amc_path: str | Path) -> None:
    """Write a motion as an ASF skeleton and an AMC motion (angles in degrees, frames numbered from 1).

    The skeleton written is:

    - the motion's source ASF (``motion.metadata["asf"]``, set by :func:`read_amc`) when the motion still
      has that skeleton and its rotations fit the bones' dofs (a 1-dof knee bent about its own axis only), so
      that a CMU motion reads back with the same joints, axes and dofs;
    - otherwise a generic ASF: one bone per joint, named after it, starting at the joint, with ``axis 0 0 0
      XYZ`` and ``dof rx ry rz`` (the AMC values are then the extrinsic ``xyz`` Euler angles of the local
      rotations). A bone points at its first child (or, for a leaf, its first end site). A child whose offset
      is not that bone's vector hangs from a dof-less ``<child>_link`` bone going from the bone's end to the
      child, and further end sites become dof-less leaf bones ``<joint>_end<i>``: these link bones turn
      with their parent joint, so reading the files back gives every joint and end site the same position.
      The root joint is always called ``root`` in an ASF.

    ``:units length`` is ``25.4 / motion.unit``, so the motion reads back in its unit.

    Args:
        motion: the motion; animated local translations of non-root joints (``motion.translations``
            varying over time) cannot be stored in ASF/AMC.
        asf_path: the ``.asf`` file to write (atomically).
        amc_path: the ``.amc`` file to write (atomically).

    Raises:
        ValidationError: for animated non-root translations, or joint names an ASF cannot hold.

    Example:
        >>> write_asf_amc(read_bvh("01_01.bvh", unit="asf"), "out.asf", "out.amc")  # doctest: +SKIP
    """
    skeleton = _rest_skeleton(motion)
    rotations = motion.rotations.detach().to(device="cpu", dtype=torch.float64)
    root = motion.root_translation.detach().to(device="cpu", dtype=torch.float64)
    source = motion.metadata.get("asf")
    written = None
    if isinstance(source, AsfSkeleton) and _same_skeleton(source.skeleton, skeleton):
        values, error = _dof_values(source, rotations, root)
        if error <= _FIT_TOL:
            written = source
    if written is None:
        written, joint_rotations = _generic(skeleton, rotations)
        values, _ = _dof_values(written, joint_rotations, root)
    written = replace(written, length_scale=float(f"{25.4 / motion.unit:.12g}"), angle_unit="deg")
    asf_text, amc_text = _asf_text(written), _amc_text(written, values)
    with atomic_open(asf_path, "w", encoding="utf-8") as f:
        f.write(asf_text)
    with atomic_open(amc_path, "w", encoding="utf-8") as f:
        f.write(amc_text)


def _rest_skeleton(motion: Motion) -> Skeleton:
    """The motion's skeleton, with static per-joint translations (if any) as its offsets."""
    if motion.translations is None:
        return motion.skeleton
    local = motion.translations[:, 1:].detach().to(device="cpu", dtype=torch.float64)
    moving = (local - local[:1]).abs().amax(dim=(0, 2)) > 1e-9 * (1 + local.abs().max())
    if moving.any():
        names = [motion.joint_names[j + 1] for j in moving.nonzero()[:, 0].tolist()]
        raise ValidationError(f"motion: ASF/AMC cannot store the animated translations of non-root joints {names}")
    offsets = motion.skeleton.offsets.clone()
    offsets[1:] = local[0]
    return motion.skeleton.with_offsets(offsets)


def _same_skeleton(a: Skeleton, b: Skeleton) -> bool:
    if not a.same_tree(b) or a.end_site_parents != b.end_site_parents:
        return False
    tol = 1e-9 * (1 + float(a.offsets.abs().max()))
    return torch.allclose(a.offsets, b.offsets, rtol=0, atol=tol) and torch.allclose(
        a.end_site_offsets, b.end_site_offsets, rtol=0, atol=tol
    )


def _euler_order(axes: str) -> tuple[str, list[int]]:
    """A three-axis extrinsic order that reproduces a 1-3 axis dof order when the extra angles are zero,
    and where the dof angles sit in it. Dof axes go first and last: those angles are not limited to 90 degrees."""
    rest = [a for a in "xyz" if a not in axes]
    if len(axes) == 2:
        return axes[0] + rest[0] + axes[1], [0, 2]
    return axes + "".join(rest), list(range(len(axes)))


def _dof_values(
    asf: AsfSkeleton, rotations: torch.Tensor, root_translation: torch.Tensor
) -> tuple[list[torch.Tensor], float]:
    """Per joint, ``(T, len(dofs))`` AMC values (degrees, ASF units) reproducing float64 ``rotations``
    ``(T, K, 3, 3)``, and how far they miss what the dofs can express: the largest angle in radians (or
    root translation, for a root without some translation channel)."""
    C = asf.axis_rotations()
    R = rotations
    T = R.shape[0]
    out, error = [], 0.0
    for k, dofs in enumerate(asf.dofs):
        M = C[k].T @ R[:, k] @ C[k]
        values = torch.zeros(T, len(dofs), dtype=torch.float64)
        cols = [i for i, d in enumerate(dofs) if d in _ROTATION_DOFS]
        axes = "".join(dofs[i][1] for i in cols)
        if axes:
            order, where = _euler_order(axes)
            angles = matrix_to_euler(order, M)[:, where]
            values[:, cols] = torch.rad2deg(angles)
            M_dofs = euler_to_matrix(axes, angles)
        else:
            M_dofs = torch.eye(3, dtype=torch.float64).expand_as(M)
        error = max(error, float(geodesic_distance(M, M_dofs).max()))
        for i, d in enumerate(dofs):
            if d in ("tx", "ty", "tz"):
                values[:, i] = root_translation[:, "xyz".index(d[1])]
        out.append(values)
    missing = [i for i, d in enumerate(("tx", "ty", "tz")) if d not in asf.root_order]
    if missing:  # a root without some translation channel stays at its rest position along that axis
        error = max(error, float((root_translation[:, missing] - asf.root_position[missing]).abs().max()))
    return out, error


def _generic(skeleton: Skeleton, rotations: torch.Tensor) -> tuple[AsfSkeleton, torch.Tensor]:
    """The generic ASF of a skeleton (see :func:`write_asf_amc`) and the rotations of its joints ``(T, K', 3, 3)``."""
    for j, name in enumerate(skeleton.joint_names):
        if (
            any(c.isspace() for c in name)
            or name[:1] in "#:("
            or name.lower() in ("begin", "end")
            or (j and name == "root")
        ):
            raise ValidationError(f"motion: joint name {name!r} cannot be an ASF bone name")
    taken = set(skeleton.joint_names)

    def unique(name: str) -> str:
        candidate, i = name, 1
        while candidate in taken:
            candidate, i = f"{name}{i}", i + 1
        taken.add(candidate)
        return candidate

    ends: dict[int, list[torch.Tensor]] = {}
    for j, e in zip(skeleton.end_site_parents, skeleton.end_site_offsets, strict=False):
        ends.setdefault(j, []).append(e)
    names, parents, vectors, source = [], [], [], []  # source: the motion joint whose rotation a bone takes

    def add(name: str, parent: int, vector: torch.Tensor, joint: int | None) -> int:
        names.append(name)
        parents.append(parent)
        vectors.append(vector)
        source.append(joint)
        return len(names) - 1

    def visit(j: int, parent: int) -> None:
        children = skeleton.children(j)
        own_ends = ends.get(j, [])
        zero = torch.zeros(3, dtype=torch.float64)
        if j == 0:
            vector = zero
        else:
            vector = skeleton.offsets[children[0]] if children else (own_ends[0] if own_ends else zero)
        me = add("root" if j == 0 else skeleton.joint_names[j], parent, vector, j)
        for c in children:
            offset = skeleton.offsets[c]
            if torch.allclose(offset, vector, rtol=0, atol=1e-12):
                visit(c, me)
            else:
                visit(c, add(unique(f"{skeleton.joint_names[c]}_link"), me, offset - vector, None))
        for i, e in enumerate(own_ends[0 if children or j == 0 else 1 :]):
            add(unique(f"{skeleton.joint_names[j]}_end{i}"), me, e - vector, None)

    visit(0, -1)
    K = len(names)
    vectors_t = torch.stack(vectors)
    lengths = vectors_t.norm(dim=-1)
    up = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)  # any unit direction for zero-length bones
    directions = torch.where(lengths[:, None] > 0, vectors_t / lengths.clamp_min(1e-300)[:, None], up)
    directions[0] = 0.0
    asf = AsfSkeleton(
        names=tuple(names),
        parents=tuple(parents),
        directions=directions,
        lengths=lengths,
        axes=torch.zeros(K, 3, dtype=torch.float64),
        axis_orders=("XYZ",) * K,
        dofs=tuple(_ROOT_DOFS if k == 0 else (_ROTATION_DOFS if source[k] is not None else ()) for k in range(K)),
        limits=((),) * K,
        root_position=skeleton.offsets[0].clone(),
    )
    eye = torch.eye(3, dtype=rotations.dtype).expand(rotations.shape[0], 3, 3)
    return asf, torch.stack([eye if j is None else rotations[:, j] for j in source], dim=1)


def _num(x: float) -> str:
    return repr(float(x))


def _asf_text(asf: AsfSkeleton) -> str:
    deg = [[math.degrees(a) for a in row] for row in asf.axes.tolist()]
    lines = [
        "# ASF written by poseprior",
        ":version 1.10",
        f":name {asf.name}",
        ":units",
        "  mass 1.0",
        f"  length {_num(asf.length_scale)}",
        "  angle deg",
        ":documentation",
        f"  Lengths are inches times {_num(asf.length_scale)}, i.e. {_num(asf.unit)} mm per unit.",
        ":root",
        f"  order {' '.join(d.upper() for d in asf.root_order)}",
        f"  axis {asf.root_axis}",
        f"  position {' '.join(map(_num, asf.root_position.tolist()))}",
        f"  orientation {' '.join(map(_num, deg[0]))}",
        ":bonedata",
    ]
    for k in range(1, asf.num_joints):
        lines += [
            "  begin",
            f"    id {k}",
            f"    name {asf.names[k]}",
            f"    direction {' '.join(map(_num, asf.directions[k].tolist()))}",
            f"    length {_num(asf.lengths[k])}",
            f"    axis {' '.join(map(_num, deg[k]))} {asf.axis_orders[k]}",
        ]
        if asf.dofs[k]:
            lines.append(f"    dof {' '.join(asf.dofs[k])}")
        for i, (low, high) in enumerate(asf.limits[k]):
            lines.append(
                f"    {'limits' if i == 0 else '      '} ({_num(math.degrees(low))} {_num(math.degrees(high))})"
            )
        lines.append("  end")
    lines += [":hierarchy", "  begin"]
    for k in range(asf.num_joints):
        children = [asf.names[c] for c, p in enumerate(asf.parents) if p == k]
        if children:
            lines.append(f"    {asf.names[k]} {' '.join(children)}")
    lines.append("  end")
    return "\n".join(lines) + "\n"


def _amc_text(asf: AsfSkeleton, values: list[torch.Tensor]) -> str:
    bones = [k for k in range(asf.num_joints) if asf.dofs[k]]
    rows = [
        [(asf.names[k] + " %.12g" * len(asf.dofs[k])) % tuple(r) for r in values[k].numpy().tolist()] for k in bones
    ]
    lines = ["# AMC written by poseprior", ":FULLY-SPECIFIED", ":DEGREES"]
    for t in range(values[0].shape[0]):
        lines.append(str(t + 1))
        lines += [r[t] for r in rows]
    return "\n".join(lines) + "\n"
