"""Analytic cycle models. Every figure here is checked against RTL simulation.

Cycle 0 is the first cycle in which input is presented; a transfer presented at cycle ``c``
with no stall completes its handshake in cycle ``c``; a result is counted at the cycle its
``valid`` is high. A workload's cycle count is the index of the cycle after its last result.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import InputError
from ..families import family_of
from ..workloads.configs import check_gemm_sizes

__all__ = ["GemmCycles", "gemm_cycles", "gemm_cycles_batch", "check_gemm"]


def check_gemm(m: int, n: int, k: int) -> tuple[int, int, int]:
    """Validate GEMM dimensions (``Y[M, N] = X[M, K] @ W[N, K].T``).

    Parameters
    ----------
    m, n, k : int
        GEMM dimensions, each a positive integer.

    Returns
    -------
    tuple of (int, int, int)
        ``(m, n, k)`` as Python ints.

    Raises
    ------
    InputError
        A dimension is not a positive integer, or ``m * n * k`` exceeds
        :data:`shiftadd.workloads.configs.MAX_GEMM_MACS`.
    """
    for name, v in (("M", m), ("N", n), ("K", k)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(
                f"{v!r} is not a positive integer", field=f"gemm.{name}", allowed="an integer >= 1"
            )
    # The cycle models count in int64: past 2**53 MACs a count could wrap or lose digits.
    check_gemm_sizes(int(m), int(n), int(k), field="gemm")
    return int(m), int(n), int(k)


@dataclasses.dataclass(frozen=True)
class GemmCycles:
    """Cycles of one GEMM on a design, and how they arise.

    Parameters
    ----------
    cycles : int
        Cycles until the last result is out.
    transfers : int
        Input transfers (weight writes plus activation vectors), one per cycle.
    tiles : int
        Weight tiles loaded.
    weight_writes : int
        Weight-write transfers.
    macs : int
        Useful multiply-accumulates, ``M * N * K``.
    utilization : float
        ``macs`` over the array's multiply-accumulate slots in ``cycles``.
    """

    cycles: int
    transfers: int
    tiles: int
    weight_writes: int
    macs: int
    utilization: float


def gemm_cycles(design, m: int, n: int, k: int) -> GemmCycles:
    """Cycles of ``Y[M, N] = X[M, K] @ W[N, K].T`` with the design's tiling schedule.

    Parameters
    ----------
    design : Design
        A design of any family with a cycle model.
    m, n, k : int
        GEMM dimensions.

    Returns
    -------
    GemmCycles
        Cycles, transfers, tiles, weight writes, MACs and utilization.

    Raises
    ------
    InputError
        A dimension is not a positive integer, or the family has no cycle model.
    """
    m, n, k = check_gemm(m, n, k)
    r = gemm_cycles_batch(design, m, n, k)
    return GemmCycles(
        cycles=int(r["cycles"]),
        transfers=int(r["transfers"]),
        tiles=int(r["tiles"]),
        weight_writes=int(r["weight_writes"]),
        macs=int(r["macs"]),
        utilization=float(r["utilization"]),
    )


def gemm_cycles_batch(design, m, n, k) -> dict[str, np.ndarray]:
    """:func:`gemm_cycles` vectorized over arrays of GEMM shapes: the design's family's
    cycle model.

    Parameters
    ----------
    design : Design
        A design of any family with a cycle model.
    m, n, k : int or array_like of int
        GEMM dimensions (arrays broadcast).

    Returns
    -------
    dict of str to ndarray
        ``cycles``, ``transfers``, ``tiles``, ``weight_writes``, ``macs`` and
        ``utilization``, per GEMM.
    """
    return family_of(design).get("gemm_cycles")(design, m, n, k)
