"""What a bench sends and what it expects back, independent of the simulator.

A :class:`Chunk` is an ordered list of :class:`Burst`\\ s (consecutive transfers on one input
stream) and, per output stream, an :class:`Expectation` computed by the golden model and, when
the analytic model covers it, the cycle of every output transfer. The same chunk is played by
the Amaranth simulator (:mod:`shiftadd.sim.amaranth_play`) and by the Verilog harness under
cocotb (:mod:`shiftadd.sim.harness`), and checked by the same :class:`Checker`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Burst", "Expectation", "Chunk", "Recorded", "Checker", "CheckReport"]


@dataclasses.dataclass
class Burst:
    """``count`` consecutive transfers on input stream ``stream``; ``values`` in the payload
    layout's value form (see :mod:`shiftadd.sim.packing`)."""

    stream: str
    values: Any
    count: int


@dataclasses.dataclass
class Expectation:
    """Expected transfers on one output stream.

    Attributes
    ----------
    values : ndarray
        One row per transfer: the payload the RTL must produce (compared exactly).
    cycles : ndarray of int64 or None
        Cycle of each transfer predicted by the analytic model (cycle 0 is the first cycle
        the harness presents input), or None when the model does not predict it.
    """

    values: np.ndarray
    cycles: np.ndarray | None = None

    @property
    def count(self) -> int:
        return int(self.values.shape[0])


@dataclasses.dataclass
class Chunk:
    """Transfers to send, in order, and the outputs they must produce.

    ``finish``, when set, is called with the recorded outputs after the chunk is checked and
    returns extra figures for the report (a GEMM assembles its tiles and compares the whole
    product, and compares the simulated cycle count with the analytic one).
    """

    bursts: list[Burst]
    expected: dict[str, Expectation]
    label: str = ""
    finish: Callable[[dict[str, Recorded]], dict] | None = None
    #: Cycles the chunk takes at full rate when a transfer can occupy the design for more
    #: than one cycle (the players size their time-outs by it); None: one per transfer.
    cycles: int | None = None

    @property
    def entries(self) -> int:
        return sum(b.count for b in self.bursts)


@dataclasses.dataclass
class Recorded:
    """Transfers observed on one output stream: payload values and cycle stamps."""

    values: np.ndarray
    cycles: np.ndarray


@dataclasses.dataclass
class CheckReport:
    """Running totals of a bench."""

    vectors: int = 0
    mismatches: int = 0
    cycle_checked: int = 0
    cycle_mismatches: int = 0
    missing: int = 0
    extra: int = 0
    first_mismatches: list = dataclasses.field(default_factory=list)
    last_cycle: int = 0

    @property
    def passed(self) -> bool:
        return not (self.mismatches or self.cycle_mismatches or self.missing or self.extra)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["passed"] = self.passed
        return d


class Checker:
    """Compares recorded outputs with the expectation; keeps the first few mismatches.

    A transfer mismatches when any element of its payload differs. Cycle stamps are checked
    against the analytic model whenever the expectation carries them.
    """

    def __init__(self, *, keep: int = 5):
        self.report = CheckReport()
        self._keep = keep

    def check(self, chunk: Chunk, recorded: dict[str, Recorded]) -> CheckReport:
        r = self.report
        for name, exp in chunk.expected.items():
            got = recorded[name]
            n_exp, n_got = exp.count, got.values.shape[0]
            n = min(n_exp, n_got)
            r.vectors += n_exp
            r.missing += max(0, n_exp - n_got)
            r.extra += max(0, n_got - n_exp)
            e = exp.values[:n].reshape(n, -1)
            g = np.asarray(got.values[:n]).reshape(n, -1)
            bad = np.flatnonzero((e != g).any(axis=1))
            r.mismatches += int(bad.size)
            for i in bad[: max(0, self._keep - len(r.first_mismatches))]:
                cols = np.flatnonzero(e[i] != g[i])[:8]
                r.first_mismatches.append(
                    {
                        "chunk": chunk.label,
                        "stream": name,
                        "transfer": int(i),
                        "lanes": cols.tolist(),
                        "expected": e[i, cols].tolist(),
                        "got": g[i, cols].tolist(),
                    }
                )
            if exp.cycles is not None and n:
                r.cycle_checked += n
                r.cycle_mismatches += int(np.count_nonzero(exp.cycles[:n] != got.cycles[:n]))
            if n_got:
                r.last_cycle = max(r.last_cycle, int(got.cycles[-1]))
        return r
