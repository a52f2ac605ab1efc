"""Stimulus and reference per design family: what to send, and what must come back.

A bench only plans (:class:`~shiftadd.sim.plan.Chunk`\\ s of bursts with expectations); the
drivers and monitors that play a plan on a simulator live in :mod:`shiftadd.sim.harness`
(Verilog under cocotb) and :mod:`shiftadd.sim.amaranth_play` (Amaranth simulator), and the
comparison in :class:`~shiftadd.sim.plan.Checker`.
"""

from __future__ import annotations

import numpy as np

from ..families import family_of

__all__ = ["bench_for", "biased_operands", "small_int_type"]


def bench_for(design):
    """The bench of ``design``'s family: an object with ``chunks(rng, vectors, max_entries,
    model_cycles)`` and ``gemm(rng, m, n, k)`` returning :class:`~shiftadd.sim.plan.Chunk` s
    with golden expectations and model cycles."""
    return family_of(design).get("bench")(design)


def small_int_type(lo: int, hi: int):
    """Narrowest NumPy integer type holding [lo, hi] (random stimulus is generated in it)."""
    for t in (np.int8, np.int16, np.int32):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return t
    return np.int64


def biased_operands(
    rng: np.random.Generator, lo: int, hi: int, count: int, cols: int, dtype=None
) -> np.ndarray:
    """Uniform integers in ``[lo, hi]``, shape ``(count, cols)``, a quarter of the rows
    leaning to one end (80% of their entries at ``lo`` or ``hi``) so sums reach their
    extremes. ``dtype`` defaults to the narrowest type holding the range."""
    x = rng.integers(lo, hi + 1, size=(count, cols), dtype=dtype or small_int_type(lo, hi))
    biased = rng.random(count) < 0.25
    if biased.any():
        end = np.where(rng.random(int(biased.sum())) < 0.5, lo, hi)[:, None]
        keep = rng.random((int(biased.sum()), cols)) < 0.8
        x[biased] = np.where(keep, end, x[biased])
    return x
