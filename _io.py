"""Atomic file output: write to a temporary name in the same folder, then rename.

A crash or an exception part-way leaves either the old file or no file, never a half-written
one. :func:`check_output_path` tells a bad output path before any work starts, and
:func:`read_input_bytes` reads a user's input file with a size bound and one-line errors.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from .errors import InputError

__all__ = [
    "atomic_write",
    "atomic_path",
    "write_json",
    "cache_root",
    "check_output_path",
    "read_input_bytes",
    "MAX_INPUT_BYTES",
]

#: Largest text input file (design, sweep spec, config) read: 16 MiB, a thousand times the
#: largest real one, so a multi-gigabyte file is refused before it is read.
MAX_INPUT_BYTES = 16 * 1024 * 1024


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    Use this for writers that want a file name (``DataFrame.to_parquet``, ``savefig``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates the file 0600; give it the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text or bytes) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)
    return Path(path)


def write_json(path: str | os.PathLike, obj, *, indent: int = 2) -> Path:
    """Serialize ``obj`` as JSON to ``path`` atomically."""
    return atomic_write(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n")


def cache_root() -> Path:
    """The folder shiftadd caches into: ``$SHIFTADD_CACHE``, default ``~/.cache/shiftadd``."""
    return Path(os.environ.get("SHIFTADD_CACHE", Path.home() / ".cache" / "shiftadd"))


def check_output_path(
    path: str | os.PathLike, field: str, kind: str = "file", *, suffixes=None
) -> Path:
    """Check, before any work, that ``path`` can be written as a ``kind``; return it.

    A file path may exist as a file (it is replaced) but not as a folder; a folder path may
    exist as a folder but not as a file. No part of the path above it may be a file, and the
    nearest existing folder must take a new file (tried with a temporary file, removed at
    once, so a read-only file system or ``/proc`` is caught even as root).

    Parameters
    ----------
    path : str or os.PathLike
        The output path a user gave.
    field : str
        The flag or key it came from (``"--out"``), named in the error.
    kind : {"file", "folder"}
        What will be written there.
    suffixes : sequence of str, optional
        For a file: the allowed suffixes (lower case, with the dot).

    Returns
    -------
    pathlib.Path
        ``path`` as a Path.

    Raises
    ------
    InputError
        The path is of the wrong kind, lies under a file, has a suffix not allowed, or its
        folder cannot be written.
    """
    if kind not in ("file", "folder"):
        raise ValueError(f"kind must be 'file' or 'folder', not {kind!r}")
    text = os.fspath(path)
    if not text or "\x00" in text:
        raise InputError("an empty path or a path with a NUL byte", field=field)
    path = Path(text)
    try:
        if kind == "file" and suffixes is not None and path.suffix.lower() not in suffixes:
            raise InputError(
                f"{path.name!r} does not name the file type by its suffix",
                field=field,
                allowed=", ".join(suffixes),
            )
        if path.is_symlink() and not path.exists():
            raise InputError("a dangling or looping symbolic link", field=field, source=text)
        if path.exists():
            if kind == "file" and path.is_dir():
                raise InputError("is a folder; give a file name", field=field, source=text)
            if kind == "folder" and not path.is_dir():
                raise InputError("exists and is not a folder", field=field, source=text)
        probe = path if kind == "folder" and path.is_dir() else path.parent
        while not probe.exists():
            if probe.is_symlink():
                raise InputError(
                    "a dangling or looping symbolic link", field=field, source=str(probe)
                )
            probe = probe.parent
        if not probe.is_dir():
            raise InputError(f"{str(probe)!r} is a file, not a folder", field=field, source=text)
        fd, tmp = tempfile.mkstemp(prefix=".shiftadd-probe.", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise InputError(
            f"cannot write there: {exc.strerror or exc}", field=field, source=text
        ) from None
    return path


def read_input_bytes(
    path: str | os.PathLike, field: str | None = None, *, limit: int = MAX_INPUT_BYTES
) -> bytes:
    """The bytes of a user's input file, at most ``limit`` of them.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    field : str, optional
        The flag or key it came from, named in errors.
    limit : int
        Largest size accepted, in bytes.

    Returns
    -------
    bytes
        The file's contents.

    Raises
    ------
    InputError
        No such file, a folder, a symbolic-link loop, an unreadable file or one too large.
    """
    text = os.fspath(path)
    try:
        path = Path(text)
        if not path.exists():
            loop = " (a dangling or looping symbolic link)" if path.is_symlink() else ""
            raise InputError(f"no such file{loop}", field=field, source=text)
        if not path.is_file():
            raise InputError("not a regular file", field=field, source=text)
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", field=field, source=text) from None
    if len(data) > limit:
        raise InputError(
            f"larger than {limit:,} bytes", field=field, allowed="a smaller file", source=text
        )
    return data
