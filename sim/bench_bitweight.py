"""Bench of the multiplier-adder tree's ``digit_sparse`` option.

The other bit-weight options keep the plain tree's full-rate pipeline, so
:class:`~shiftadd.sim.benches.AdderTreeBench` checks them unchanged (same golden dot
products, same cycle model). ``digit_sparse`` spends a data-dependent number of cycles per
vector, so its bench predicts every result's cycle from the stimulus itself through
:func:`shiftadd.models.bitweight.digit_sparse_output_cycles` (never from the RTL), and the
GEMM's total through :func:`shiftadd.models.bitweight.digit_sparse_gemm_cycles`. Its
activations mix digit-dense and digit-sparse vectors (uniform codes, small normal values,
mostly zeros, all zeros) so skipped bit weights and idle groups are exercised.
"""

from __future__ import annotations

import numpy as np

from ..design import AdderTreeDesign
from ..models.bitweight import (digit_sparse_gemm_cycles, digit_sparse_output_cycles,
                                digit_sparse_vector_cycles)
from ..models.cycles import GemmCycles
from .benches import AdderTreeBench, bench_for
from .plan import Burst

__all__ = ["DigitSparseBench"]


class DigitSparseBench(AdderTreeBench):
    """:class:`AdderTreeBench` with data-dependent cycle predictions."""

    def random_act(self, rng: np.random.Generator, count: int,
                   cols: int | None = None) -> np.ndarray:
        lo, hi = self.design.act_range
        cols = self.design.k if cols is None else cols
        x = super().random_act(rng, count, cols).astype(np.int64)
        kind = rng.choice(4, size=count, p=[0.35, 0.45, 0.15, 0.05])
        std = rng.choice([2.0, 10.0, 30.0], size=(count, 1))
        normal = np.clip(np.rint(rng.normal(0.0, 1.0, (count, cols)) * std), lo, hi)
        sparse = np.where(rng.random((count, cols)) < 0.9, 0, x)
        x = np.where((kind == 1)[:, None], normal, x)
        x = np.where((kind == 2)[:, None], sparse, x)
        x = np.where((kind == 3)[:, None], 0, x)
        return x.astype(np.int64)

    def _durations(self, bursts: list[Burst]) -> tuple[np.ndarray, np.ndarray]:
        durations, is_vector = [], []
        for burst in bursts:
            if burst.stream == "act":
                durations.append(digit_sparse_vector_cycles(self.design, burst.values))
                is_vector.append(np.ones(burst.count, bool))
            else:
                durations.append(np.ones(burst.count, np.int64))
                is_vector.append(np.zeros(burst.count, bool))
        return np.concatenate(durations), np.concatenate(is_vector)

    def output_cycles(self, bursts, act_positions):
        durations, is_vector = self._durations(bursts)
        return digit_sparse_output_cycles(self.design, durations, is_vector)

    def gemm_model(self, x, n, k):
        d = self.design
        m = x.shape[0]
        cycles = digit_sparse_gemm_cycles(d, x, n)
        k_tiles, n_tiles = -(-k // d.k), -(-n // d.n)
        macs = m * n * k
        return GemmCycles(cycles=cycles, transfers=k_tiles * n + k_tiles * n_tiles * m,
                          tiles=k_tiles * n_tiles, weight_writes=k_tiles * n, macs=macs,
                          utilization=macs / (cycles * d.k * d.n))

    def _with_cycles(self, chunk):
        chunk.cycles = int(self._durations(chunk.bursts)[0].sum()) + self.design.latency
        return chunk

    def chunks(self, rng, vectors, max_entries=65536, model_cycles=True):
        for chunk in super().chunks(rng, vectors, max_entries, model_cycles):
            yield self._with_cycles(chunk)

    def gemm(self, rng, m, n, k):
        return self._with_cycles(super().gemm(rng, m, n, k))


_plain_bench = bench_for.dispatch(AdderTreeDesign)


@bench_for.register
def _(design: AdderTreeDesign):
    if design.digit_sparse:
        return DigitSparseBench(design)
    return _plain_bench(design)
