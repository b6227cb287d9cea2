"""BVH (Biovision Hierarchy) motion files: read one, iterate over a folder or zip of them, write one.

Conventions:

- **Rotations.** A joint's rotation channels compose in file order as *intrinsic* Euler angles in degrees:
  ``Zrotation Xrotation Yrotation`` is ``R = Rz @ Rx @ Ry`` (``euler_to_matrix("ZXY", angles, degrees=True)``).
  A joint may have any subset of the six channels (``CHANNELS 0`` to ``CHANNELS 6``, any order); a joint
  without rotation channels has the identity rotation.
- **Positions.** The root's position channels give ``Motion.root_translation``; a root without them stays at
  its ``OFFSET``. Position channels of other joints *replace* their offset (the Bandai Namco files give every
  joint six channels and keep the body's translation in ``Hips``, below a static ``joint_Root``); then
  ``Motion.translations (T, K, 3)`` holds every joint's local translation (the offset where a joint has no
  position channel). Axes without a channel keep the offset's value.
- **Units.** The format has no length unit. The :class:`~poseprior.io.Motion`'s ``unit`` is the ``unit``
  argument: ``"cm"`` by default, as in the Bandai Namco data; CMU's BVH conversions are in ASF units, so read
  them with ``unit="asf"``. :func:`write_bvh` writes lengths in the motion's unit, unchanged.
- **Frame rate.** ``fps = 1 / Frame Time``, rounded to the nearest integer when the written frame time is
  that integer's reciprocal to the digits given (``0.0333333`` is 30 fps, not 30.00003).
- **Metadata.** ``"source"`` (the file, or ``archive.zip:member``), ``"frame_time"`` (as written) and
  ``"bvh_channels"`` (one list of channel names per joint), which :func:`write_bvh` uses to reproduce the
  file's channel layout.
- **Joint order.** Joints are numbered depth-first, in file order, which is the order of the frame values.

Example:
    >>> m = read_bvh("bandai-namco-motion-1.zip:data/dataset-1_walk_normal_001.bvh")  # doctest: +SKIP
    >>> m.skeleton.joint_names[:3], m.fps  # doctest: +SKIP
    (('joint_Root', 'Hips', 'Spine'), 30.0)
    >>> write_bvh(m, "walk.bvh", precision=6)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import torch

from poseprior._atomic import atomic_open
from poseprior.errors import FormatError, ValidationError
from poseprior.geometry import euler_to_matrix, matrix_to_euler
from poseprior.io.archive import Archive, read_text, split_member
from poseprior.io.motion import Motion
from poseprior.io.plausible import MAX_ANGLE_DEG, check_frame_time, first_beyond
from poseprior.io.units import unit_to_mm
from poseprior.skeleton import Skeleton

__all__ = ["parse_bvh", "read_bvh", "iter_bvh", "format_bvh", "write_bvh", "CHANNEL_NAMES"]

#: The six BVH channel names, as written.
CHANNEL_NAMES: tuple[str, ...] = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")
_CANONICAL = {c.lower(): c for c in CHANNEL_NAMES}
_AXIS = {"X": 0, "Y": 1, "Z": 2}
_MOTION_LINE = re.compile(r"^[ \t]*MOTION[ \t]*$", re.M | re.I)
_FRAMES_LINE = re.compile(r"\s*Frames\s*:\s*(\S+)\s*", re.I)
_FRAME_TIME_LINE = re.compile(r"\s*Frame\s+Time\s*:\s*(\S+)\s*", re.I)
_INTEGER = re.compile(r"[0-9]+")


# ------------------------------------------------------------------------------------------------ reading
@dataclass
class _Hierarchy:
    """The parsed HIERARCHY block; ``channels`` are canonical names, in file order."""

    names: list[str] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    offsets: list[list[float] | None] = field(default_factory=list)
    channels: list[list[str] | None] = field(default_factory=list)
    end_parents: list[int] = field(default_factory=list)
    end_offsets: list[list[float]] = field(default_factory=list)


class _Tokens:
    """Whitespace-separated tokens of the hierarchy text, each with its 1-based line number."""

    def __init__(self, text: str, source: str, end_line: int):
        self.items = [(tok, n) for n, line in enumerate(text.split("\n"), 1) for tok in line.split()]
        self.i = 0
        self.source = source
        self.end_line = end_line  # where running out of tokens is reported

    def error(self, message: str, line: int) -> FormatError:
        return FormatError(self.source, message, line=line)

    def peek(self) -> tuple[str | None, int]:
        return self.items[self.i] if self.i < len(self.items) else (None, self.end_line)

    def next(self, expected: str) -> tuple[str, int]:
        tok, line = self.peek()
        if tok is None:
            raise self.error(f"expected {expected}, found the end of the hierarchy", line)
        self.i += 1
        return tok, line

    def rest_of_line(self, line: int, stop: str | None = None) -> list[str]:
        """Consume the tokens left on ``line`` (up to, not including, a ``stop`` token)."""
        out = []
        while self.i < len(self.items) and self.items[self.i][1] == line and self.items[self.i][0] != stop:
            out.append(self.items[self.i][0])
            self.i += 1
        return out

    def numbers(self, keyword: str, line: int) -> list[float]:
        values = self.rest_of_line(line)
        if len(values) != 3:
            raise self.error(f"{keyword} needs 3 numbers, got {len(values)}", line)
        try:
            out = [float(v) for v in values]
        except ValueError:
            raise self.error(f"{keyword} values must be numbers, got {' '.join(values)!r}", line) from None
        if not all(math.isfinite(v) for v in out):
            raise self.error(f"{keyword} contains NaN or inf: {' '.join(values)!r}", line)
        return out

    def expect_open(self) -> None:
        tok, line = self.next("'{'")
        if tok != "{":
            raise self.error(f"expected '{{', got {tok!r}", line)


def _parse_hierarchy(tokens: _Tokens) -> _Hierarchy:
    h = _Hierarchy()
    tok, line = tokens.next("HIERARCHY")
    if tok.upper() != "HIERARCHY":
        raise tokens.error(f"expected HIERARCHY, got {tok!r}", line)
    tok, line = tokens.next("ROOT")
    if tok.upper() != "ROOT":
        raise tokens.error(f"expected ROOT, got {tok!r}", line)
    stack: list[tuple[int, int]] = []  # (joint, line of its ROOT/JOINT) for each open block

    def open_joint(line: int, parent: int) -> None:
        name = " ".join(tokens.rest_of_line(line, stop="{"))
        if not name:
            raise tokens.error("joint without a name", line)
        if name in h.names:
            raise tokens.error(f"duplicate joint name {name!r}", line)
        tokens.expect_open()
        h.names.append(name)
        h.parents.append(parent)
        h.offsets.append(None)
        h.channels.append(None)
        stack.append((len(h.names) - 1, line))

    open_joint(line, -1)
    while stack:
        j, opened = stack[-1]
        if tokens.peek()[0] is None:
            message = f"unbalanced braces: the block of joint {h.names[j]!r} (line {opened}) is not closed"
            raise tokens.error(message, tokens.end_line)
        tok, line = tokens.next("")
        key = tok.upper()
        if key == "OFFSET":
            if h.offsets[j] is not None:
                raise tokens.error(f"second OFFSET for joint {h.names[j]!r}", line)
            h.offsets[j] = tokens.numbers("OFFSET", line)
        elif key == "CHANNELS":
            if h.channels[j] is not None:
                raise tokens.error(f"second CHANNELS line for joint {h.names[j]!r}", line)
            h.channels[j] = _parse_channels(tokens, line)
        elif key == "JOINT":
            open_joint(line, j)
        elif key == "END":
            site = tokens.rest_of_line(line, stop="{")
            if [s.upper() for s in site] != ["SITE"]:
                raise tokens.error(f"expected 'End Site', got {' '.join(['End', *site])!r}", line)
            tokens.expect_open()
            tok, off_line = tokens.next("OFFSET")
            if tok.upper() != "OFFSET":
                raise tokens.error(f"expected OFFSET in the End Site block, got {tok!r}", off_line)
            h.end_offsets.append(tokens.numbers("OFFSET", off_line))
            h.end_parents.append(j)
            tok, close_line = tokens.next("'}'")
            if tok != "}":
                raise tokens.error(f"expected '}}' closing the End Site block, got {tok!r}", close_line)
        elif tok == "}":
            for what, value in (("OFFSET", h.offsets[j]), ("CHANNELS", h.channels[j])):
                if value is None:
                    raise tokens.error(f"joint {h.names[j]!r} (line {opened}) has no {what} line", line)
            stack.pop()
        elif tok == "{":
            raise tokens.error("unbalanced braces: unexpected '{'", line)
        else:
            raise tokens.error(f"expected OFFSET, CHANNELS, JOINT, End Site or '}}', got {tok!r}", line)
    tok, line = tokens.peek()
    if tok is not None:
        if tok.upper() == "ROOT":
            raise tokens.error("a second ROOT: files with several hierarchies are not supported", line)
        if tok == "}":
            raise tokens.error("unbalanced braces: '}' without a matching '{'", line)
        raise tokens.error(f"expected MOTION after the hierarchy, got {tok!r}", line)
    return h


def _parse_channels(tokens: _Tokens, line: int) -> list[str]:
    words = tokens.rest_of_line(line)
    if not words or not _INTEGER.fullmatch(words[0]) or len(words[0]) > 3 or int(words[0]) > 6:
        raise tokens.error(f"CHANNELS needs a count from 0 to 6, got {words[0] if words else 'nothing'!r}", line)
    count, names = int(words[0]), words[1:]
    if len(names) != count:
        raise tokens.error(f"CHANNELS declares {count} channels but names {len(names)}", line)
    out = []
    for name in names:
        if name.lower() not in _CANONICAL:
            raise tokens.error(f"unknown channel name {name!r}; expected {', '.join(CHANNEL_NAMES)}", line)
        out.append(_CANONICAL[name.lower()])
    if len(set(out)) != len(out):
        raise tokens.error(f"repeated channel in {' '.join(names)!r}", line)
    return out


def _next_line(text: str, pos: int, line: int) -> tuple[str | None, int, int]:
    """The next non-blank line at or after ``pos`` (which starts line ``line``): (text, its line, end pos)."""
    while pos <= len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        if text[pos:end].strip():
            return text[pos:end], line, end + 1
        pos, line = end + 1, line + 1
    return None, line, pos


def _frame_rate(token: str, frame_time: float) -> float:
    """``1 / frame_time``, snapped to an integer that the written frame time rounds (see module docs)."""
    rate = 1.0 / frame_time
    n = round(rate)
    try:
        exponent = Decimal(token).as_tuple().exponent
    except InvalidOperation:
        return rate
    if n >= 1 and isinstance(exponent, int):
        if abs(frame_time - 1.0 / n) <= 0.5 * 10.0**exponent and abs(frame_time * n - 1.0) < 1e-4:
            return float(n)
    return rate


def _parse_frames(body: str, T: int, C: int, source: str, first_line: int) -> np.ndarray:
    """The ``(T, C)`` frame values; ``body`` is the text after the Frame Time line (line ``first_line``)."""
    if body and not body.isspace():
        # numpy's C parser straight from the text (no copy of it: a 200,000-frame take is 150 MB of text);
        # any disagreement (a bad token, a wrong count per line) is diagnosed line by line below
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fromstring warns on a bad token, then stops
            try:
                data = np.fromstring(body, dtype=np.float64, sep=" ")
            except ValueError:  # numpy 2: a bad token
                data = np.zeros(0)
        if (
            data.size == T * C
            and np.isfinite(data).all()
            and all(len(line.split()) in (0, C) for line in body.split("\n"))
        ):
            return data.reshape(T, C)
    rows: list[list[float]] = []
    last = first_line - 1
    for k, line in enumerate(body.split("\n")):
        words = line.split()
        if not words:
            continue
        n = first_line + k
        if len(rows) == T:
            raise FormatError(source, f"more frame lines than the {T} frames that 'Frames:' declares", line=n)
        if len(words) != C:
            raise FormatError(source, f"frame {len(rows) + 1} has {len(words)} values, expected {C}", line=n)
        values = []
        for w in words:
            try:
                v = float(w)
            except ValueError:
                raise FormatError(source, f"non-numeric value {w!r} in frame {len(rows) + 1}", line=n) from None
            if not math.isfinite(v):
                raise FormatError(source, f"NaN or infinite value {w!r} in frame {len(rows) + 1}", line=n)
            values.append(v)
        rows.append(values)
        last = n
    if len(rows) < T:
        raise FormatError(
            source, f"truncated: 'Frames:' declares {T} frames but the file has {len(rows)}", line=last + 1
        )
    return np.array(rows, dtype=np.float64).reshape(T, C)


def parse_bvh(text: str, source: str = "<string>", unit: str | float = "cm") -> Motion:
    """Parse the text of a BVH file into a :class:`~poseprior.io.Motion` (float64, CPU).

    Args:
        text: the whole file. ``\\r\\n`` line ends and trailing blank lines are accepted.
        source: how errors and ``metadata["source"]`` name the file.
        unit: the length unit of the file (a name of :data:`~poseprior.io.units.UNITS_MM` or millimetres per
            unit); BVH does not record it. ``"cm"`` for the Bandai Namco data, ``"asf"`` for CMU's BVH.

    Raises:
        FormatError: naming ``source`` and the line, for any malformed hierarchy, header or frame (a wrong
            count of values, a non-numeric, NaN or inf value, fewer or more frame lines than ``Frames:``).
        ValidationError: for an unknown ``unit``.

    Example:
        >>> text = '''HIERARCHY
        ... ROOT hips
        ... {
        ...   OFFSET 0 0 0
        ...   CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
        ...   End Site
        ...   {
        ...     OFFSET 0 10 0
        ...   }
        ... }
        ... MOTION
        ... Frames: 1
        ... Frame Time: 0.0333333
        ... 1 2 3 90 0 0
        ... '''
        >>> m = parse_bvh(text)
        >>> m.fps, m.root_translation.tolist(), m.metadata["bvh_channels"][0][3:]
        (30.0, [[1.0, 2.0, 3.0]], ['Zrotation', 'Xrotation', 'Yrotation'])
    """
    unit = unit_to_mm(unit)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.removeprefix("\ufeff")
    found = _MOTION_LINE.search(text)
    header = text if found is None else text[: found.start()]
    motion_line = header.count("\n") + 1
    h = _parse_hierarchy(_Tokens(header, source, end_line=motion_line))
    if found is None:
        raise FormatError(source, "no MOTION section after the hierarchy", line=motion_line)

    line_text, line, pos = _next_line(text, found.end() + 1, motion_line + 1)
    match = None if line_text is None else _FRAMES_LINE.fullmatch(line_text)
    if match is None:
        raise FormatError(
            source, f"expected 'Frames: N' after MOTION, got {line_text or 'the end of the file'!r}", line=line
        )
    if not _INTEGER.fullmatch(match.group(1)) or len(match.group(1)) > 18:
        raise FormatError(
            source, f"'Frames:' needs a non-negative integer below 1e18, got {match.group(1)!r}", line=line
        )
    T = int(match.group(1))
    line_text, line, pos = _next_line(text, pos, line + 1)
    match = None if line_text is None else _FRAME_TIME_LINE.fullmatch(line_text)
    if match is None:
        got = line_text or "the end of the file"
        raise FormatError(source, f"expected 'Frame Time: seconds' after Frames, got {got!r}", line=line)
    try:
        frame_time = float(match.group(1))
    except ValueError:
        raise FormatError(source, f"'Frame Time:' needs a number, got {match.group(1)!r}", line=line) from None
    check_frame_time(frame_time, source, line, written=match.group(1))

    channels: list[list[str]] = h.channels  # type: ignore[assignment]  # every joint has one after parsing
    C = sum(len(c) for c in channels)
    if C == 0:
        raise FormatError(
            source, "the hierarchy declares no channels, so there are no frame values to read", line=motion_line
        )
    data = torch.from_numpy(_parse_frames(text[pos:], T, C, source, line + 1))
    _check_angles(h, channels, data, source)
    return _to_motion(h, channels, data, _frame_rate(match.group(1), frame_time), frame_time, unit, source)


def _check_angles(h: _Hierarchy, channels: list[list[str]], data: torch.Tensor, source: str) -> None:
    """Refuse a rotation channel beyond :data:`~poseprior.io.plausible.MAX_ANGLE_DEG`, naming frame and joint."""
    columns = [(h.names[j], c) for j, chans in enumerate(channels) for c in chans]
    rotation = torch.tensor([c.endswith("rotation") for _, c in columns])
    hit = first_beyond(data[:, rotation], MAX_ANGLE_DEG)
    if hit is not None:
        name, channel = [col for col, r in zip(columns, rotation.tolist(), strict=False) if r][hit[1]]
        value = float(data[hit[0], rotation.nonzero()[hit[1]]])
        raise FormatError(
            source,
            f"frame {hit[0] + 1}, joint {name!r}: {channel} of {value:g} degrees is beyond any pose (limit {MAX_ANGLE_DEG:g})",
        )


_BLOCK_FRAMES = 16_384


def _long(index: list) -> torch.Tensor:
    return torch.tensor(index, dtype=torch.long)


def _to_motion(
    h: _Hierarchy,
    channels: list[list[str]],
    data: torch.Tensor,
    fps: float,
    frame_time: float,
    unit: float,
    source: str,
) -> Motion:
    """Turn the hierarchy and the ``(T, C)`` frame values into a Motion: one batched Euler call per order."""
    K, T = len(h.names), data.shape[0]
    offsets = torch.tensor(h.offsets, dtype=torch.float64)
    local = offsets.expand(T, K, 3).clone()
    pos_cols, pos_joints, pos_axes = [], [], []
    by_order: dict[str, tuple[list[int], list[list[int]]]] = {}
    col = 0
    for j, chans in enumerate(channels):
        rot_cols, order = [], ""
        for c in chans:
            if c.endswith("position"):
                pos_cols.append(col)
                pos_joints.append(j)
                pos_axes.append(_AXIS[c[0]])
            else:
                rot_cols.append(col)
                order += c[0]
            col += 1
        if order:
            joints, cols = by_order.setdefault(order, ([], []))
            joints.append(j)
            cols.append(rot_cols)
    local[:, _long(pos_joints), _long(pos_axes)] = data[:, _long(pos_cols)]
    rotations = torch.eye(3, dtype=torch.float64).repeat(T, K, 1, 1)
    for order, (joints, cols) in by_order.items():
        for a in range(0, T, _BLOCK_FRAMES):  # bounded temporaries on long takes
            angles = torch.fmod(data[a : a + _BLOCK_FRAMES, _long(cols)], 360.0)  # exact, keeps sin and cos precise
            rotations[a : a + _BLOCK_FRAMES, _long(joints)] = euler_to_matrix(order, angles, degrees=True)
    skeleton = Skeleton(
        tuple(h.names),
        tuple(h.parents),
        offsets,
        tuple(h.end_parents),
        torch.tensor(h.end_offsets, dtype=torch.float64).reshape(-1, 3),
    )
    animated = any(j != 0 for j in pos_joints)
    return Motion(
        skeleton,
        rotations,
        local[:, 0].clone(),
        fps,
        unit=unit,
        translations=local if animated else None,
        metadata={"source": source, "frame_time": frame_time, "bvh_channels": [list(c) for c in channels]},
    )


def read_bvh(path: str | Path, *, unit: str | float = "cm", member: str | None = None) -> Motion:
    """Read a BVH file: a ``.bvh`` path, a zip or folder with ``member``, or ``"archive.zip:member"``.

    See :func:`parse_bvh` for ``unit`` and the errors; missing or unreadable files raise
    :class:`~poseprior.errors.FormatError` too.
    """
    source, member = (Path(path), member) if member is not None else split_member(path)
    name = str(source) if member is None else f"{source}:{member}"
    return parse_bvh(read_text(source, member), source=name, unit=unit)


def iter_bvh(
    source: str | Path, names: Iterable[str] | None = None, unit: str | float = "cm"
) -> Iterator[tuple[str, Motion]]:
    """Yield ``(member, motion)`` for the BVH files of a zip archive or a folder, opening the archive once.

    Args:
        source: a ``.zip`` archive or a folder (searched recursively).
        names: which files, in this order; default every ``.bvh`` member in sorted order. A name matches a
            member exactly or by its base name (``"a.bvh"`` matches ``"data/a.bvh"``), as in ``splits.json``.
        unit: the files' length unit, as in :func:`parse_bvh`.

    Yields:
        The member's full relative name (``"data/a.bvh"``) and its motion.

    Raises:
        FormatError: a name that matches no member or several, or any unreadable or malformed file.
    """
    unit = unit_to_mm(unit)
    with Archive(source) as archive:
        chosen = archive.members(".bvh") if names is None else _match_members(archive, list(names))
        for member in chosen:
            yield member, parse_bvh(archive.read_text(member), source=f"{archive.path}:{member}", unit=unit)


def _match_members(archive: Archive, names: Sequence[str]) -> list[str]:
    members = archive.members(None)
    exact = set(members)
    by_base: dict[str, list[str]] = {}
    for m in members:
        by_base.setdefault(m.rsplit("/", 1)[-1], []).append(m)
    out = []
    for name in names:
        if name in exact:
            out.append(name)
            continue
        found = by_base.get(name, [])
        if not found:
            raise FormatError(f"{archive.path}:{name}", "no member of this name or base name")
        if len(found) > 1:
            raise FormatError(archive.path, f"{name!r} matches several members: {', '.join(found)}")
        out.append(found[0])
    return out


# ------------------------------------------------------------------------------------------------ writing
def _layout(motion: Motion, rotation_order: str | None) -> list[list[str]]:
    """The channel names of every joint: the file's (``metadata["bvh_channels"]``) or the default."""
    K = motion.skeleton.num_joints
    rotation = None if rotation_order is None else [f"{a}rotation" for a in rotation_order]
    stored = motion.metadata.get("bvh_channels")
    if stored is None:
        rot = rotation or ["Zrotation", "Xrotation", "Yrotation"]
        pos = ["Xposition", "Yposition", "Zposition"]
        return [pos + rot] + [(pos + rot) if motion.translations is not None else list(rot) for _ in range(K - 1)]
    where = "motion.metadata['bvh_channels']"
    if not isinstance(stored, (list, tuple)) or len(stored) != K:
        raise ValidationError(
            f"{where}: expected one channel list per joint ({K}); delete the key to write the default layout"
        )
    layout = []
    for name, chans in zip(motion.joint_names, stored, strict=False):
        if isinstance(chans, str) or not all(isinstance(c, str) and c.lower() in _CANONICAL for c in chans):
            raise ValidationError(
                f"{where}: joint {name!r} has channels {chans!r}; allowed: {', '.join(CHANNEL_NAMES)}"
            )
        chans = [_CANONICAL[c.lower()] for c in chans]
        if len(set(chans)) != len(chans):
            raise ValidationError(f"{where}: joint {name!r} repeats a channel in {chans!r}")
        if rotation is not None:
            chans = [c for c in chans if c.endswith("position")] + rotation
        layout.append(chans)
    return layout


def _children(skeleton: Skeleton) -> list[list[int]]:
    children: list[list[int]] = [[] for _ in range(skeleton.num_joints)]
    for j, p in enumerate(skeleton.parents):
        if p >= 0:
            children[p].append(j)
    return children


def _depth_first(children: list[list[int]]) -> list[int]:
    """Joints in depth-first order, children by index: the order BVH writes (and reads back)."""
    order, stack = [], [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(children[j]))
    return order


def _channel_values(motion: Motion, layout: list[list[str]]) -> list[torch.Tensor]:
    """Per joint, its ``(T, n_j)`` channel values (angles in degrees), checking the layout can hold them."""
    sk, T = motion.skeleton, motion.num_frames

    def cpu(x: torch.Tensor) -> torch.Tensor:
        return x.detach().to("cpu", torch.float64)

    rotations = cpu(motion.rotations)
    local = (
        sk.offsets.expand(T, sk.num_joints, 3) if motion.translations is None else cpu(motion.translations)
    ).clone()
    local[:, 0] = cpu(motion.root_translation)
    scale = max(1.0, float(sk.offsets.abs().max()))
    angles: dict[int, torch.Tensor] = {}
    by_order: dict[str, list[int]] = {}
    for j, chans in enumerate(layout):
        order = "".join(c[0] for c in chans if c.endswith("rotation"))
        full = order + "".join(a for a in "ZXY" if a not in order)  # a partial order completed to 3 axes
        by_order.setdefault(full, []).append(j)
    for full, joints in by_order.items():
        euler = matrix_to_euler(full, rotations[:, joints], degrees=True)
        for i, j in enumerate(joints):
            angles[j] = euler[:, i]
    values = []
    for j, chans in enumerate(layout):
        name = motion.joint_names[j]
        order = "".join(c[0] for c in chans if c.endswith("rotation"))
        kept = angles[j][:, : len(order)]
        if len(order) < 3:  # fewer than 3 rotation channels: the rotation must need only those axes
            R = rotations[:, j]
            back = euler_to_matrix(order, kept, degrees=True) if order else torch.eye(3, dtype=R.dtype).expand_as(R)
            if T and (back - R).abs().max() > 1e-6:
                raise ValidationError(
                    f"motion: joint {name!r} rotates about axes outside its BVH rotation channels {order or 'none'!r}; "
                    "pass rotation_order to write three rotation channels"
                )
        used = {_AXIS[c[0]] for c in chans if c.endswith("position")}
        for axis in set(range(3)) - used:
            if T and (local[:, j, axis] - sk.offsets[j, axis]).abs().max() > 1e-6 * scale:
                raise ValidationError(
                    f"motion: joint {name!r} moves along {'XYZ'[axis]} but its BVH channels have no {'XYZ'[axis]}position; "
                    "delete motion.metadata['bvh_channels'] to write the default layout"
                )
        cols = []
        for c in chans:
            if c.endswith("position"):
                cols.append(local[:, j, _AXIS[c[0]]])
            else:
                cols.append(kept[:, order.index(c[0])])
        values.append(torch.stack(cols, dim=-1) if cols else torch.zeros(T, 0, dtype=torch.float64))
    return values


def _check_name(name: str) -> str:
    if not name or " ".join(name.split()) != name or "{" in name or "}" in name:
        raise ValidationError(
            f"skeleton.joint_names: {name!r} cannot be written to BVH (no braces, tabs, line breaks or double spaces)"
        )
    return name


def format_bvh(motion: Motion, *, rotation_order: str | None = None, precision: int = 6) -> str:
    """The BVH text of ``motion``; see :func:`write_bvh`."""
    return "".join(_bvh_text(motion, rotation_order, precision))


def _bvh_text(motion: Motion, rotation_order: str | None, precision: int) -> Iterator[str]:
    """The BVH text of ``motion`` in pieces: the hierarchy, then a block of frames at a time (a long take is
    never held as one string)."""
    if isinstance(precision, bool) or not isinstance(precision, int) or not 0 <= precision <= 17:
        raise ValidationError(f"precision: expected an integer number of decimals from 0 to 17, got {precision!r}")
    if rotation_order is not None:
        if not isinstance(rotation_order, str) or sorted(rotation_order.upper()) != ["X", "Y", "Z"]:
            raise ValidationError(f"rotation_order: expected three distinct axes such as 'ZXY', got {rotation_order!r}")
        rotation_order = rotation_order.upper()
    sk = motion.skeleton
    layout = _layout(motion, rotation_order)
    children = _children(sk)
    order = _depth_first(children)
    angle = np.array([c.endswith("rotation") for j in order for c in layout[j]], dtype=bool)

    def rounded(x: np.ndarray) -> np.ndarray:
        # Values past 1e15 have no fractional digits to round (and x * 10**precision would overflow);
        # + 0.0 turns -0.0 into 0.0, so re-reading gives the same text.
        small = np.abs(x) < 1e15
        return np.where(small, np.round(np.where(small, x, 0.0), precision), x) + 0.0

    def values(frames: slice) -> np.ndarray:  # a block of frames at a time: bounded Euler temporaries
        per_joint = _channel_values(motion.frames(frames), layout)
        data = rounded(torch.cat([per_joint[j] for j in order], dim=-1).numpy())
        # Angles at the +-180 branch cut print as 180, whichever side the decomposition landed on.
        data[:, angle] = np.where(data[:, angle] <= -180.0, data[:, angle] + 360.0, data[:, angle])
        return data

    num = f"%.{precision}f"
    ends: list[list[int]] = [[] for _ in range(sk.num_joints)]
    for e, p in enumerate(sk.end_site_parents):
        ends[p].append(e)
    offsets, end_offsets = rounded(sk.offsets.numpy()), rounded(sk.end_site_offsets.numpy())

    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "\t" * depth
        lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {_check_name(sk.joint_names[j])}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}\tOFFSET " + " ".join(num % v for v in offsets[j]))
        lines.append(f"{pad}\tCHANNELS {len(layout[j])}" + "".join(f" {c}" for c in layout[j]))
        for c in children[j]:
            emit(c, depth + 1)
        for e in ends[j]:
            end = " ".join(num % v for v in end_offsets[e])
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {end}", f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    emit(0, 0)
    lines += ["MOTION", f"Frames: {motion.num_frames}", f"Frame Time: {1.0 / motion.fps:.10g}"]
    yield "\n".join(lines) + "\n"
    row = " ".join([num] * int(angle.size))
    for a in range(0, motion.num_frames, _BLOCK_FRAMES):  # Python floats for a block of frames at a time
        yield "".join(row % tuple(r) + "\n" for r in values(slice(a, a + _BLOCK_FRAMES)).tolist())


def write_bvh(motion: Motion, path: str | Path, *, rotation_order: str | None = None, precision: int = 6) -> None:
    """Write ``motion`` as a BVH file, atomically.

    The channel layout is ``motion.metadata["bvh_channels"]`` when present (so a file read with
    :func:`read_bvh` keeps its layout); otherwise the root gets ``Xposition Yposition Zposition`` and three
    rotation channels, other joints three rotation channels, plus position channels when
    ``motion.translations`` is set. Lengths are written in the motion's unit (BVH records none).

    Args:
        motion: the motion. Joints are written depth-first, so a skeleton in another topological order
            (SMPL's) reads back reordered.
        path: the output file.
        rotation_order: Euler order of the rotation channels (``"ZXY"`` writes ``Zrotation Xrotation
            Yrotation``, ``R = Rz @ Rx @ Ry``); default the stored layout's, else ``"ZXY"``.
        precision: decimals of every number (angles in degrees). 6 keeps rotations to about 1e-8 rad
            (positions to 1e-6 units), 8 to 1e-10, 10 to 1e-12.

    Raises:
        ValidationError: a bad argument, a stored layout that does not fit the motion (a joint that moves
            along an axis with no position channel, or rotates about one with no rotation channel), or a
            joint name that BVH cannot hold.

    Example:
        >>> write_bvh(motion, "out.bvh", rotation_order="ZXY", precision=6)  # doctest: +SKIP
    """
    pieces = _bvh_text(motion, rotation_order, precision)
    first = next(pieces)  # a bad argument is refused before the file is opened
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(first)
        for piece in pieces:
            f.write(piece)
