"""A size bound on the simulator build cache.

Every simulator build (RTL or gate-level netlist, per simulator and flags) keeps its own
folder under ``$SHIFTADD_CACHE/sim`` so that a later run reuses it. Gate-level builds of
random designs take 100-200 MB each, so without a bound a few validation runs fill a disk
(69 GB after a week of development here). The cache keeps the most recently used builds up
to ``$SHIFTADD_SIM_CACHE_GB`` gigabytes (default :data:`DEFAULT_LIMIT_GB`): after each new
build the least recently used folders are removed, except those used in the last
:data:`IDLE_SECONDS` (another process may be running them) and those another process holds
locked.
"""

from __future__ import annotations

import fcntl
import math
import os
import shutil
import time
from pathlib import Path

from ..errors import InputError

__all__ = ["DEFAULT_LIMIT_GB", "IDLE_SECONDS", "limit_bytes", "mark_used", "record_size", "prune"]

#: Default size bound of the build cache, in GB (10^9 bytes).
DEFAULT_LIMIT_GB = 20.0
#: A build used this recently (seconds) is never removed: a simulation may be running it.
IDLE_SECONDS = 2 * 3600
_SIZE_FILE = ".size"
_ENV = "SHIFTADD_SIM_CACHE_GB"


def limit_bytes() -> int:
    """The cache's size bound in bytes, from ``$SHIFTADD_SIM_CACHE_GB`` (default 20).

    Raises
    ------
    InputError
        The variable is not a number from 0.1 to 100000.
    """
    text = os.environ.get(_ENV, "")
    if not text.strip():
        return int(DEFAULT_LIMIT_GB * 1e9)
    try:
        gb = float(text)
    except ValueError:
        gb = math.nan
    if not 0.1 <= gb <= 100_000:
        raise InputError(
            f"expected a size in GB, got {text!r}",
            field=_ENV,
            allowed="a number from 0.1 to 100000",
        )
    return int(gb * 1e9)


def mark_used(build_dir: Path) -> None:
    """Record that ``build_dir`` is being used now (its modification time)."""
    os.utime(build_dir)


def _tree_size(path: Path) -> int:
    total = 0
    for base, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                pass  # removed meanwhile
    return total


def record_size(build_dir: Path) -> int:
    """Measure a finished build's folder once and keep the figure beside it."""
    size = _tree_size(build_dir)
    (build_dir / _SIZE_FILE).write_text(str(size))
    return size


def _size(build_dir: Path) -> int:
    try:
        return int((build_dir / _SIZE_FILE).read_text())
    except (OSError, ValueError):
        return record_size(build_dir)


def prune(root: Path, limit: int, *, keep: Path | None = None, now: float | None = None) -> int:
    """Remove the least recently used builds under ``root`` until they fit ``limit`` bytes.

    Parameters
    ----------
    root : Path
        The build cache folder (one sub-folder per build).
    limit : int
        Size bound in bytes.
    keep : Path, optional
        A build never removed (the one just made).
    now : float, optional
        The current time (seconds since the epoch); default :func:`time.time`.

    Returns
    -------
    int
        Bytes removed.
    """
    now = time.time() if now is None else now
    builds = []
    for d in root.iterdir() if root.is_dir() else ():
        if d.is_dir():
            try:
                builds.append((d.stat().st_mtime, d))
            except OSError:
                continue  # removed meanwhile
    sizes = {d: _size(d) for _, d in builds}
    total = sum(sizes.values())
    freed = 0
    for mtime, d in sorted(builds):
        if total <= limit:
            break
        if d == keep or now - mtime < IDLE_SECONDS:
            continue
        try:
            with open(d / ".lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            continue  # locked by another process (or gone): leave it
        total -= sizes[d]
        freed += sizes[d]
    return freed
