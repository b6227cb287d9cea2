"""Read and write a :class:`~poseprior.io.Motion` in any supported format, chosen by the file's extension.

=========================  ====================================================================================
``.bvh``                   Biovision hierarchy (:mod:`poseprior.io.bvh`); default unit cm
``.amc`` (+ ``.asf``)      Acclaim motion + skeleton (:mod:`poseprior.io.asf_amc`); unit from the ASF header
``.npz``                   the interchange npz (:mod:`poseprior.io.npz`) when it has ``format``, or
                           ``rotations`` and ``joint_names``; an AMASS file (:mod:`poseprior.io.amass`, unit m)
                           when it has ``poses`` and ``trans``
``.json``                  Fit3D / HumanSC3D SMPL-X parameters (:mod:`poseprior.io.fit3d`, unit m, 50 fps)
``archive.zip:member.bvh``  a file inside a zip archive, read without extracting it
=========================  ====================================================================================

Example:
    >>> m = read_motion("01_01.amc")  # finds 01_01.asf or 01.asf beside it  # doctest: +SKIP
    >>> write_motion(m.resample(30), "01_01_30fps.bvh")  # doctest: +SKIP
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

from poseprior.errors import FormatError, ValidationError
from poseprior.io.motion import Motion
from poseprior.io.npz import is_motion_npz, read_motion_npz, write_motion_npz
from poseprior.io.plausible import check_motion
from poseprior.io.units import unit_to_mm

__all__ = ["READ_FORMATS", "WRITE_FORMATS", "read_motion", "write_motion", "find_asf"]

#: Extensions :func:`read_motion` accepts (``.npz`` is the interchange or an AMASS file, told apart by its keys).
READ_FORMATS = (".bvh", ".amc", ".npz", ".json")
#: Values of :func:`write_motion`'s ``format``; by default it follows the extension.
WRITE_FORMATS = ("bvh", "amc", "npz", "amass")


def _split(path: str | Path) -> tuple[Path, str | None, str]:
    """``(file on disk, zip member or None, extension of the motion file)``."""
    from poseprior.io.archive import split_member

    archive, member = split_member(path)
    suffix = Path(member if member is not None else archive).suffix.lower()
    return Path(archive), member, suffix


def read_motion(
    path: str | Path,
    *,
    unit: str | float | None = None,
    fps: float | None = None,
    skeleton_file: str | Path | None = None,
    min_frames: int = 0,
) -> Motion:
    """Read a motion file of any supported format (see the module docstring), choosing by extension.

    Args:
        path: a ``.bvh``, ``.amc``, ``.npz`` or Fit3D ``.json`` file, or ``archive.zip:member.bvh``.
        unit: the length unit of the file's numbers (a name in :data:`~poseprior.io.UNITS_MM` or millimetres
            per unit), replacing the reader's default (BVH cm, ASF its ``:units`` header, AMASS and Fit3D m)
            or the unit stored in an interchange npz. Lengths are not rescaled: use :meth:`Motion.with_unit`
            for that.
        fps: the frame rate of the file's frames. Needed for AMC files, which store none (default 120);
            for the other formats it replaces the stored rate, or Fit3D's 50 fps (no resampling: use
            :meth:`Motion.resample`).
        skeleton_file: the ``.asf`` of an ``.amc``; by default ``X.asf`` beside ``X.amc``, then the CMU
            naming ``01.asf`` for ``01_01.amc``.
        min_frames: refuse a file with fewer frames (1 for anything that needs a pose).

    Raises:
        ValidationError: unknown extension (the message lists the supported ones), or bad ``unit``/``fps``.
        FormatError: from the readers, naming the file (and line); a frame rate, angle or position beyond
            physical sense (:mod:`poseprior.io.plausible`), naming the frame and joint; too few frames.
    """
    if unit is not None:
        unit_to_mm(unit)  # fail early, naming the argument
    if fps is not None and not fps > 0:
        raise ValidationError(f"fps: must be a positive number, got {fps!r}")
    archive, member, suffix = _split(path)
    if suffix not in READ_FORMATS:
        hint = "; for ASF/AMC give the .amc file (its .asf is found beside it)" if suffix == ".asf" else ""
        raise ValidationError(
            f"path: cannot tell the motion format of {str(path)!r} from its extension {suffix or '(none)'!r}; "
            f"supported: {', '.join(READ_FORMATS)} (and 'archive.zip:member.bvh'){hint}"
        )
    if member is None and not archive.is_file():
        raise FormatError(path, "is a folder; give a motion file" if archive.is_dir() else "no such file")
    if suffix == ".bvh":
        from poseprior.io.bvh import read_bvh

        motion = read_bvh(path) if unit is None else read_bvh(path, unit=unit)
        if unit is None:  # BVH states no unit: centimetres is a guess that retargeting may revise
            motion = replace(motion, metadata={**motion.metadata, "unit_assumed": True})
    elif suffix == ".amc":
        from poseprior.io.asf_amc import read_amc

        if member is not None:
            raise ValidationError(f"path: AMC files cannot be read from inside an archive yet, got {str(path)!r}")
        asf = find_asf(archive, skeleton_file)
        return _plausible(read_amc(archive, asf, unit=unit, fps=120.0 if fps is None else fps), path, min_frames)
    elif suffix == ".json":
        from poseprior.io.fit3d import FIT3D_FPS, read_fit3d_smplx

        if member is not None:
            raise ValidationError(f"path: JSON files cannot be read from inside an archive, got {str(path)!r}")
        return _plausible(
            read_fit3d_smplx(archive, unit="m" if unit is None else unit, fps=FIT3D_FPS if fps is None else fps),
            path,
            min_frames,
        )
    else:  # .npz
        if member is not None:
            raise ValidationError(f"path: npz files cannot be read from inside an archive, got {str(path)!r}")
        keys = _npz_keys(archive)
        if is_motion_npz(keys):
            motion = read_motion_npz(archive)
            if unit is not None:
                motion = replace(motion, unit=unit)
        elif {"poses", "trans"} <= keys:
            from poseprior.io.amass import read_amass

            return _plausible(read_amass(archive, unit="m" if unit is None else unit, fps=fps), path, min_frames)
        else:
            hint = ""
            if keys & {"positions", "keypoints_2d"}:
                hint = "; keypoints without rotations read with poseprior.io.keypoints.read_keypoints_npz"
            raise FormatError(
                path,
                f"npz with keys {sorted(keys)} is neither a poseprior motion (needs 'format', or 'rotations' and "
                f"'joint_names') nor an AMASS file (needs 'poses' and 'trans'){hint}",
            )
    motion = motion if fps is None else replace(motion, fps=float(fps))
    return _plausible(motion, path, min_frames)


def _plausible(motion: Motion, path: str | Path, min_frames: int) -> Motion:
    """The motion, if its frame rate, positions and length make sense (:mod:`poseprior.io.plausible`)."""
    check_motion(motion, path)
    if motion.num_frames < min_frames:
        raise FormatError(path, f"has {motion.num_frames} frames; at least {min_frames} needed")
    return motion


def write_motion(motion: Motion, path: str | Path, *, format: str | None = None) -> list[Path]:
    """Write ``motion`` (atomically) in the format given by ``path``'s extension, or by ``format``.

    Lengths are written in the unit :func:`read_motion` assumes for the format (BVH: centimetres), so
    reading the file back gives the same motion in millimetres.

    Args:
        motion: the motion to write.
        path: ``X.bvh``; ``X.amc`` (also writes the skeleton to ``X.asf``); ``X.npz`` (the interchange npz,
            unless ``format="amass"``).
        format: one of :data:`WRITE_FORMATS`, for an npz in AMASS layout (which needs an SMPL-family skeleton).

    Returns:
        The files written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    by_suffix = {".bvh": "bvh", ".amc": "amc", ".npz": "npz"}
    if format is None:
        if suffix not in by_suffix:
            raise ValidationError(
                f"path: cannot tell which format to write from the extension of {str(path)!r}; "
                f"supported: {', '.join(by_suffix)}"
            )
        format = by_suffix[suffix]
    if format not in WRITE_FORMATS:
        raise ValidationError(f"format: expected one of {WRITE_FORMATS}, got {format!r}")
    expected = ".npz" if format == "amass" else f".{format}"
    if suffix != expected:
        raise ValidationError(f"path: a {format} file needs the extension {expected}, got {str(path)!r}")

    if format == "bvh":
        from poseprior.io.bvh import write_bvh

        # BVH records no unit and read_motion assumes centimetres, so write centimetres.
        write_bvh(motion.with_unit("cm"), path)
        return [path]
    if format == "amc":
        from poseprior.io.asf_amc import write_asf_amc

        asf = path.with_suffix(".asf")
        write_asf_amc(motion, asf, path)
        return [asf, path]
    if format == "amass":
        from poseprior.io.amass import write_amass

        write_amass(motion, path)
        return [path]
    write_motion_npz(motion, path)
    return [path]


def find_asf(amc: str | Path, skeleton_file: str | Path | None = None) -> Path:
    """The ASF skeleton of an AMC file: ``skeleton_file`` if given, else ``X.asf`` beside ``X.amc``, else the
    CMU naming (``01.asf`` for ``01_01.amc``).

    Raises:
        FormatError: naming the AMC file and every ASF path tried.
    """
    amc = Path(amc)
    if skeleton_file is not None:
        tried = [Path(skeleton_file)]
    else:
        tried = [amc.with_suffix(".asf")]
        if "_" in amc.stem:
            tried.append(amc.with_name(amc.stem.rsplit("_", 1)[0] + ".asf"))
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise FormatError(
        amc,
        f"no ASF skeleton found; tried {', '.join(str(p) for p in tried)}; give one with skeleton_file (--skeleton)",
    )


def _npz_keys(path: Path) -> set[str]:
    """The array names in an npz, read from the zip directory without loading any array."""
    try:
        with zipfile.ZipFile(path) as z:
            return {name.removesuffix(".npy") for name in z.namelist()}
    except (zipfile.BadZipFile, OSError) as e:
        raise FormatError(path, f"not an npz archive ({e})") from None
