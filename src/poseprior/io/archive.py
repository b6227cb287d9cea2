"""Reading motion files from a folder, a ``.zip`` archive, or one member of either.

A member of a zip archive can be named in one string as ``"archive.zip:data/take.bvh"``
(:func:`split_member`). Member names are relative, ``/``-separated paths, as the zip stores them.
Errors name the archive and the member: ``FormatError("x.zip:data/a.bvh", ...)``.

Example:
    >>> names = list_members("bandai-namco-motion-1.zip")  # doctest: +SKIP
    >>> text = read_text("bandai-namco-motion-1.zip", names[0])  # doctest: +SKIP
    >>> with Archive("bandai-namco-motion-1.zip") as archive:  # one open for many members  # doctest: +SKIP
    ...     texts = [archive.read_text(name) for name in names]
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from poseprior.errors import FormatError

__all__ = ["Archive", "split_member", "list_members", "read_text"]

_ZIP_SEP = ".zip:"


def split_member(path: str | Path) -> tuple[Path, str | None]:
    """Split ``"archive.zip:member"`` into ``(Path("archive.zip"), "member")``; other paths give ``(path, None)``.

    A path that exists as written is never split, so a file whose name contains ``.zip:`` still reads.
    """
    text = str(path)
    cut = text.lower().find(_ZIP_SEP)
    if cut < 0 or Path(text).exists():
        return Path(text), None
    member = text[cut + len(_ZIP_SEP) :]
    return Path(text[: cut + len(".zip")]), member or None


def _decode(data: bytes, where: str) -> str:
    """UTF-8 text (a leading byte-order mark dropped); :class:`FormatError` with the line of a bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise FormatError(where, f"not UTF-8 text (byte {e.start}: {e.reason})", line=line) from None


class Archive:
    """A folder or a ``.zip`` archive of motion files, opened once for reading many members.

    Use it as a context manager (or call :meth:`close`) so the zip file is closed.

    Args:
        source: a folder or a zip archive (any file that :func:`zipfile.is_zipfile` accepts, or that ends
            in ``.zip``).

    Raises:
        FormatError: ``source`` does not exist, is neither a folder nor a zip, or the zip is unreadable.
    """

    def __init__(self, source: str | Path):
        self.path = Path(source)
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            return
        if not self.path.exists():
            raise FormatError(self.path, "no such file or folder")
        if self.path.suffix.lower() != ".zip" and not zipfile.is_zipfile(self.path):
            raise FormatError(self.path, "not a folder or a .zip archive")
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise FormatError(self.path, f"not a readable zip archive ({e})") from None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def members(self, suffix: str | None = ".bvh") -> list[str]:
        """Sorted relative names of the files ending in ``suffix`` (case-insensitive; ``None``: all files)."""
        if self._zip is not None:
            names = [i.filename for i in self._zip.infolist() if not i.is_dir()]
        else:
            names = [p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()]
        if suffix:
            names = [n for n in names if n.lower().endswith(suffix.lower())]
        return sorted(names)

    def read_bytes(self, member: str) -> bytes:
        """The raw content of ``member``."""
        where = f"{self.path}:{member}"
        if self._zip is not None:
            try:
                return self._zip.read(member)
            except KeyError:
                raise FormatError(where, "no such member in the archive") from None
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as e:
                raise FormatError(where, f"cannot read the member ({e})") from None
        file = self.path / member
        if not file.is_file():
            raise FormatError(where, "no such file in the folder")
        try:
            return file.read_bytes()
        except OSError as e:
            raise FormatError(where, f"cannot read the file ({e})") from None

    def read_text(self, member: str) -> str:
        """The UTF-8 text of ``member``; :class:`FormatError` naming ``archive:member`` if it is not UTF-8."""
        return _decode(self.read_bytes(member), f"{self.path}:{member}")


def list_members(source: str | Path, suffix: str | None = ".bvh") -> list[str]:
    """Sorted relative names of the files ending in ``suffix`` in a folder or a zip archive.

    Example:
        >>> list_members("bandai-namco-motion-1.zip")[:1]  # doctest: +SKIP
        ['data/dataset-1_bow_active_001.bvh']
    """
    with Archive(source) as archive:
        return archive.members(suffix)


def read_text(source: str | Path, member: str | None = None) -> str:
    """The UTF-8 text of a file, of a member of a folder or zip, or of ``"archive.zip:member"``.

    Raises:
        FormatError: naming the file (``archive:member`` for members) when it is missing, unreadable, not
            UTF-8, or when ``source`` is a folder or archive and no member is given.
    """
    if member is None:
        source, member = split_member(source)
    path = Path(source)
    if member is None:
        if path.is_dir() or path.suffix.lower() == ".zip":
            raise FormatError(path, "is a folder or zip archive: name a member (archive.zip:member)")
        if not path.is_file():
            raise FormatError(path, "no such file")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise FormatError(path, f"cannot read the file ({e})") from None
        return _decode(data, str(path))
    with Archive(path) as archive:
        return archive.read_text(member)
