"""Local worker processes that never outlive, nor out-shout, the command that started them.

A sweep evaluates its chunks (and scores its number formats) in a process pool. Two faults
must not leave work or noise behind:

- The parent is killed outright (SIGKILL, the OOM killer): nothing in the parent runs, and
  the workers, re-parented to init, would go on computing for minutes. Each worker asks the
  kernel to SIGKILL it when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``); where that
  is not available a daemon thread polls for the parent instead.
- Ctrl-C: the terminal sends SIGINT to the whole foreground process group. Workers ignore
  it (else each prints its own ``KeyboardInterrupt`` traceback); the parent alone gets
  ``KeyboardInterrupt``, and :func:`worker_pool` then kills the workers instead of waiting
  for their tasks, so the command stops at once. The pool has no helper threads, so
  nothing can be left blocked on a pipe a killed worker half wrote (the interpreter would
  hang at exit joining such a thread, as it can with ``ProcessPoolExecutor``).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import multiprocessing.connection as mp_connection
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["worker_pool", "WorkerPool", "WorkerTraceback", "worker_init", "PARENT_POLL_S"]

#: Seconds between two checks for the parent where the kernel cannot signal its death.
PARENT_POLL_S = 1.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (the pid was reused)
        return False
    return True


def _kill_on_parent_death() -> bool:
    """Ask Linux to SIGKILL this process when the thread that forked it exits."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int, ppid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != ppid or not _alive(parent_pid):
            os.kill(os.getpid(), signal.SIGKILL)


def worker_init(parent_pid: int) -> None:
    """Pool initializer: ignore SIGINT and die with the parent.

    Parameters
    ----------
    parent_pid : int
        Process id of the command that owns the pool.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ppid = os.getppid()
    if not _kill_on_parent_death():
        threading.Thread(
            target=_watch_parent, args=(parent_pid, ppid), name="parent-watch", daemon=True
        ).start()
    # The parent may have died between the fork and the prctl call, in which case the
    # kernel never sends the signal: check once by hand.
    if not _alive(parent_pid):
        os.kill(os.getpid(), signal.SIGKILL)


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a worker (the ``__cause__`` of the one
    re-raised here)."""


def _serve(conn, parent_pid: int) -> None:
    """A worker's loop: run ``(key, fn, args)`` messages until told to stop (None)."""
    worker_init(parent_pid)
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent closed its end: nothing more to do
            return
        if message is None:
            return
        key, fn, args = message
        try:
            reply = (key, True, fn(*args), "")
        except Exception as exc:  # noqa: BLE001 - sent back and re-raised by the parent
            reply = (key, False, exc, traceback.format_exc())
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - a result or an exception that will not pickle
            conn.send((key, False, RuntimeError(f"cannot send the result back: {exc!r}"), ""))


class WorkerPool:
    """Worker processes fed one task at a time through a pipe each, with no helper threads.

    Unlike :class:`concurrent.futures.ProcessPoolExecutor`, whose feeder and manager threads
    can block for ever on a pipe a killed worker left half-written (so the interpreter
    hangs at exit), this pool can be killed at any moment: :meth:`kill` ends the workers
    and closes the pipes, and nothing is left to join.

    Parameters
    ----------
    workers : int
        Worker processes (started at once).
    """

    def __init__(self, workers: int):
        ctx = multiprocessing.get_context()
        self._conns = []
        self._procs = []
        for _ in range(max(1, int(workers))):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(theirs, os.getpid()), daemon=True)
            proc.start()
            theirs.close()  # so that a dead worker reads as end-of-file here
            self._conns.append(ours)
            self._procs.append(proc)

    def imap_unordered(self, fn: Callable, arglist: Iterable[tuple]) -> Iterator[tuple[int, Any]]:
        """Run ``fn(*args)`` for every ``args``; yield ``(position, result)`` as each ends.

        The first calls (one per worker) start at once, before the first result is asked
        for, so the caller can do other work meanwhile; the others start as results are
        taken.

        Parameters
        ----------
        fn : callable
            A module-level function (it is pickled to the workers).
        arglist : iterable of tuple
            The arguments of each call.

        Returns
        -------
        iterator of tuple
            The call's position in ``arglist`` and its result, as each call ends.

        Raises
        ------
        Exception
            The first exception a call raised (its worker traceback as ``__cause__``), or
            :class:`ChildProcessError` when a worker died, when its result is taken.
        """
        pending = collections.deque(enumerate(arglist))
        busy: dict[int, int] = {}  # worker -> position of its call

        def feed(w: int) -> None:
            if pending:
                key, args = pending.popleft()
                self._conns[w].send((key, fn, tuple(args)))
                busy[w] = key

        for w in range(len(self._procs)):
            feed(w)
        return self._results(busy, feed)

    def _results(
        self, busy: dict[int, int], feed: Callable[[int], None]
    ) -> Iterator[tuple[int, Any]]:
        while busy:
            by_conn: dict[Any, int] = {self._conns[w]: w for w in busy}
            by_sentinel: dict[Any, int] = {self._procs[w].sentinel: w for w in busy}
            for ready in mp_connection.wait([*by_conn, *by_sentinel]):
                w = by_conn[ready] if ready in by_conn else by_sentinel[ready]
                if w not in busy:
                    continue
                conn = self._conns[w]
                if ready not in by_conn and not conn.poll():
                    proc = self._procs[w]
                    proc.join(timeout=1)
                    raise ChildProcessError(
                        f"a worker process died (exit code {proc.exitcode}) while "
                        f"running a task; out of memory?"
                    )
                try:
                    key, ok, value, tb = conn.recv()
                except EOFError:
                    proc = self._procs[w]
                    proc.join(timeout=1)
                    raise ChildProcessError(
                        f"a worker process died (exit code {proc.exitcode}) while sending a result"
                    ) from None
                del busy[w]
                if not ok:
                    raise value from WorkerTraceback(tb)
                feed(w)
                yield key, value

    def close(self) -> None:
        """Let the workers finish and exit (they are idle between calls)."""
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.exitcode is None:
                proc.kill()
                proc.join()
        for conn in self._conns:
            conn.close()

    def kill(self) -> None:
        """End the workers now, whatever they are doing."""
        for proc in self._procs:
            if proc.exitcode is None:
                proc.kill()
        for proc in self._procs:
            proc.join(timeout=5)
        for conn in self._conns:
            conn.close()


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[WorkerPool]:
    """A :class:`WorkerPool` whose workers die with this process and ignore Ctrl-C.

    On leaving the block normally the workers are told to stop and joined. On any
    exception, ``KeyboardInterrupt`` included, they are killed at once (their unfinished
    calls are lost; a sweep's finished chunks are already on disk), then the exception goes
    on.

    Parameters
    ----------
    workers : int
        Worker processes.

    Yields
    ------
    WorkerPool
        The pool.
    """
    pool = WorkerPool(workers)
    try:
        yield pool
    except BaseException:
        pool.kill()
        raise
    pool.close()
