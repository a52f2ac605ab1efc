"""Progress of long steps on stderr: the stage name, the elapsed time and, where the total is
known, a bar.

A stage is a context manager, ``with stage("yosys map"): ...``. On a terminal one line is
redrawn about once a second while stages run (nested stages show as ``outer > inner``); when
stderr is not a terminal (a log, CI) a stage writes one line when it starts and one with its
elapsed time when it ends, and nothing in between. Progress is off unless turned on
(:func:`set_enabled`, which the command line does), so library use stays silent; stdout is
never written, so ``--json`` output stays pure.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sized
from typing import TextIO, TypeVar

__all__ = ["Stage", "stage", "track", "set_enabled", "is_enabled", "format_elapsed", "note"]

T = TypeVar("T")

#: Seconds between two redraws of the terminal line.
REFRESH_SECONDS = 1.0

_state = {"enabled": False}
_lock = threading.RLock()


def set_enabled(flag: bool) -> bool:
    """Turn progress on or off for the process (default off); return the previous setting.

    Parameters
    ----------
    flag : bool
        Whether stages with ``enabled=None`` report.

    Returns
    -------
    bool
        The setting before the call.
    """
    with _lock:
        previous = _state["enabled"]
        _state["enabled"] = bool(flag)
    return previous


def is_enabled() -> bool:
    """Whether stages with ``enabled=None`` report (see :func:`set_enabled`)."""
    return _state["enabled"]


def format_elapsed(seconds: float) -> str:
    """A duration for people: ``0.4 s``, ``12.3 s``, ``2 min 05 s``, ``1 h 02 min``.

    Parameters
    ----------
    seconds : float
        Non-negative duration.

    Returns
    -------
    str
    """
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = min(width, max(0, done * width // total)) if total else 0
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


class Stage:
    """One running stage: its name, start time and, optionally, a count towards a total.

    Made by :func:`stage`; :meth:`advance` moves its bar.
    """

    def __init__(self, name: str, total: int | None, stream: TextIO | None, tty: bool):
        self.name, self.total, self.done = name, total, 0
        self.start = time.perf_counter()
        self.stream, self.tty = stream, tty

    @property
    def elapsed(self) -> float:
        """Seconds since the stage started."""
        return time.perf_counter() - self.start

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more items done towards the total (redrawn at the next tick)."""
        self.done += n

    def describe(self) -> str:
        """The stage's status: name, bar (if the total is known) and elapsed time."""
        bar = f" {_bar(self.done, self.total)}" if self.total else ""
        return f"{self.name}{bar} {format_elapsed(self.elapsed)}"


# The terminal line is shared by every running stage (a flow's stage runs tool stages
# inside it): one ticker thread draws the whole stack, so nested stages do not fight.
_stack: list[Stage] = []
_ticker: dict = {"thread": None, "stop": None, "drawn": False}


def _line() -> str:
    # Outer stages by name and bar, the innermost (the one running now) with its time too.
    outer = " > ".join(
        s.name + (f" {_bar(s.done, s.total)}" if s.total else "") for s in _stack[:-1]
    )
    return (outer + " > " if outer else "") + _stack[-1].describe()


def _draw(stream: TextIO) -> None:
    with _lock:
        if not _stack:
            return
        stream.write("\r\x1b[K" + _line())
        stream.flush()
        _ticker["drawn"] = True


def _clear(stream: TextIO) -> None:
    if _ticker["drawn"]:
        stream.write("\r\x1b[K")
        stream.flush()
        _ticker["drawn"] = False


def _tick(stream: TextIO, stop: threading.Event) -> None:
    while not stop.wait(REFRESH_SECONDS):
        _draw(stream)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def stage(
    name: str,
    *,
    total: int | None = None,
    enabled: bool | None = None,
    stream: TextIO | None = None,
) -> Iterator[Stage]:
    """Report a long step on stderr while it runs.

    Parameters
    ----------
    name : str
        What the step does, e.g. ``"yosys map mac_int8"``.
    total : int, optional
        Number of items, when known: the stage then shows a bar moved by
        :meth:`Stage.advance`.
    enabled : bool, optional
        Report or not; default: the process setting (:func:`set_enabled`, off in library use).
    stream : file, optional
        Where to write (default ``sys.stderr``); a terminal gets a redrawn line, anything else
        one line at the start and one at the end.

    Yields
    ------
    Stage
        The running stage (works, and counts, when disabled too).
    """
    on = is_enabled() if enabled is None else enabled
    out = (sys.stderr if stream is None else stream) if on else None
    tty = out is not None and _is_tty(out)
    current = Stage(name, total, out, tty)
    if out is None:
        yield current
        return
    if not tty:
        out.write(f"{name} ...\n")
        out.flush()
    with _lock:
        _stack.append(current)
        if tty and _ticker["thread"] is None:
            stop = threading.Event()
            thread = threading.Thread(target=_tick, args=(out, stop), daemon=True)
            _ticker.update(thread=thread, stop=stop)
            thread.start()
    if tty:
        _draw(out)
    outcome = "failed after"
    try:
        yield current
        outcome = "done in"
    except GeneratorExit:  # a tracked loop left early (break, or an error in its body)
        outcome = "stopped after"
        raise
    finally:
        ending: threading.Thread | None = None
        with _lock:
            _stack.remove(current)
            if tty:
                _clear(out)
            bar = f" ({current.done}/{current.total})" if current.total else ""
            out.write(f"{name}: {outcome} {format_elapsed(current.elapsed)}{bar}\n")
            if not _stack and _ticker["thread"] is not None:
                ending = _ticker["thread"]
                _ticker["stop"].set()
                _ticker.update(thread=None, stop=None)
            out.flush()
        if ending is not None:
            ending.join()
        if tty:
            _draw(out)


def track(
    items: Iterable[T],
    name: str,
    *,
    total: int | None = None,
    enabled: bool | None = None,
    stream: TextIO | None = None,
) -> Iterator[T]:
    """Iterate over ``items`` as one :func:`stage` whose bar counts the items done.

    Parameters
    ----------
    items : iterable
    name : str
        The stage's name.
    total : int, optional
        Number of items (default ``len(items)`` when it has one).
    enabled, stream
        As for :func:`stage`.

    Yields
    ------
    object
        Each item; the bar moves when the next one is asked for.
    """
    if total is None and isinstance(items, Sized):
        total = len(items)
    with stage(name, total=total, enabled=enabled, stream=stream) as running:
        for item in items:
            yield item
            running.advance()


def note(message: str, *, stream: TextIO | None = None) -> None:
    """Print one line on stderr without breaking a terminal's progress line.

    Parameters
    ----------
    message : str
    stream : file, optional
        Default ``sys.stderr``.
    """
    out = sys.stderr if stream is None else stream
    with _lock:
        _clear(out)
        out.write(message + "\n")
        out.flush()
    if _is_tty(out):
        _draw(out)
