"""Atomic file output: write to a temporary name in the same folder, then rename.

A crash or an exception part-way leaves either the old file or no file, never a half-written
one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "atomic_path", "write_json", "cache_root"]


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
