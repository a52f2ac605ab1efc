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
    lanes : ndarray of bool or None
        Which elements of each payload carry a result, shape ``(count, elements)`` or
        ``(elements,)`` for every transfer alike; None: all of them. A lane that carries no
        result (a neuron or column a partial GEMM tile leaves unused, whose weights were
        never written) holds whatever the hardware's uninitialized state gives and is not
        compared; every lane that is a result is compared, and must be known (not X).
    """

    values: np.ndarray
    cycles: np.ndarray | None = None
    lanes: np.ndarray | None = None

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
    #: Cycles the chunk takes at full rate by the family's cycle model (the cycle after its
    #: last output); the players size their time-outs by it. None: one per transfer.
    cycles: int | None = None

    @property
    def entries(self) -> int:
        return sum(b.count for b in self.bursts)

    def budget(self, stall: bool = False) -> int:
        """Cycles a player allows the chunk before it declares a time-out.

        Twice the model's cycle count (:attr:`cycles`, or one cycle per transfer when the
        bench gives none) plus a constant for pipeline latency and drain; four times that
        with random input gaps and output backpressure (20% bubbles, 70% ready).

        Parameters
        ----------
        stall : bool
            The chunk is played with random input gaps and output backpressure.

        Returns
        -------
        int
            The budget in clock cycles.
        """
        model = self.cycles if self.cycles is not None else self.entries
        return (4 if stall else 1) * (2 * (int(model) + 1) + 1000)


@dataclasses.dataclass
class Recorded:
    """Transfers observed on one output stream: payload values and cycle stamps, and, from a
    four-state simulator, which payload elements held an unknown (X or Z) bit."""

    values: np.ndarray
    cycles: np.ndarray
    unknown: np.ndarray | None = None


@dataclasses.dataclass
class CheckReport:
    """Running totals of a bench."""

    vectors: int = 0
    mismatches: int = 0
    cycle_checked: int = 0
    cycle_mismatches: int = 0
    missing: int = 0
    extra: int = 0
    unknown: int = 0
    unchecked_lanes: int = 0
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

    A transfer mismatches when any element of its payload that carries a result
    (:attr:`Expectation.lanes`) differs or, from a four-state simulator, is unknown (X);
    ``unknown`` counts such transfers and ``unchecked_lanes`` the elements that carry no
    result. Cycle stamps are checked against the analytic model whenever the expectation
    carries them.
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
            # elements per transfer, explicit: reshape(0, -1) fails when nothing came back
            width = int(np.prod(exp.values.shape[1:], dtype=np.int64))
            e = exp.values[:n].reshape(n, width)
            g = np.asarray(got.values[:n]).reshape(n, width)
            lanes = np.ones(e.shape, bool)
            if exp.lanes is not None:
                mask = np.asarray(exp.lanes, bool).reshape(-1, width)
                lanes = np.broadcast_to(mask if mask.shape[0] == 1 else mask[:n], e.shape)
                r.unchecked_lanes += int(np.count_nonzero(~lanes))
            x = np.zeros(e.shape, bool)
            if got.unknown is not None:
                x = np.asarray(got.unknown[:n], bool).reshape(n, width) & lanes
            wrong = ((e != g) & lanes) | x
            bad = np.flatnonzero(wrong.any(axis=1))
            r.mismatches += int(bad.size)
            r.unknown += int(np.count_nonzero(x.any(axis=1)))
            for i in bad[: max(0, self._keep - len(r.first_mismatches))]:
                cols = np.flatnonzero(wrong[i])[:8]
                r.first_mismatches.append(
                    {
                        "chunk": chunk.label,
                        "stream": name,
                        "transfer": int(i),
                        "lanes": cols.tolist(),
                        "expected": e[i, cols].tolist(),
                        "got": ["x" if x[i, c] else int(g[i, c]) for c in cols],
                    }
                )
            if exp.cycles is not None and n:
                r.cycle_checked += n
                r.cycle_mismatches += int(np.count_nonzero(exp.cycles[:n] != got.cycles[:n]))
            if n_got:
                r.last_cycle = max(r.last_cycle, int(got.cycles[-1]))
        return r
