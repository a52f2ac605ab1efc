"""Stimulus and reference for the grid engines: systolic (os, ws) and, through the same
output-stationary plan, the 2D matrix (:mod:`shiftadd.sim.bench_matrix2d`).

Output-stationary arrays take tiles: ``K_t`` steps on the ``feed`` stream (a column of
activations, a row of weights, ``last`` on the final step) and return the tile's ``rows``
result rows. Weight-stationary arrays take weight-row writes and activation vectors on two
streams and return one result row per vector. Every expected value comes from the golden
model (:mod:`shiftadd.models.systolic`) and, at full rate, every result's cycle from the
cycle model.

Paper mode (``paper_mode``) returns each tile as one transfer of every PE's accumulator;
carry-save pairs are expected bit for bit (golden ``paper_tile_reference``) and added up
here (:meth:`GridBench.result_values`), where the paper's testbench adds them, for the
GEMM. Its result ``ready`` is not read, so it is played without output backpressure.
"""

from __future__ import annotations

import numpy as np

from ..design.systolic import GridDesign
from ..models.cycles import check_gemm, gemm_cycles
from ..models.grid.cycles import os_output_cycles, ws_accept_cycles
from ..models.grid.golden import gemm_reference, paper_tile_reference, resolve, tile_reference
from .benches import biased_operands, small_int_type
from .plan import Burst, Chunk, Expectation

__all__ = ["GridBench"]


class GridBench:
    """Random and edge-case traffic for a grid engine, and tiled GEMMs.

    ``vectors`` in :meth:`chunks` counts input data transfers: K steps (output-stationary)
    or activation vectors (weight-stationary); each one is ``rows * cols``
    multiply-accumulates of the array. The first chunk starts with edge cases: operands at
    both ends of their ranges (int8: -128 x -128 in every PE, ``k_max`` times, the largest
    sum the accumulator holds), all zeros, alternating signs, one-step tiles.
    """

    def __init__(self, design: GridDesign):
        self.design = design
        # Operand types once: a chunk draws thousands of small tiles.
        self._act_type = small_int_type(*design.act_range)
        self._weight_type = small_int_type(*design.weight_range)

    # -- operands ------------------------------------------------------------------------
    def random_act(self, rng: np.random.Generator, count: int, cols: int) -> np.ndarray:
        lo, hi = self.design.act_range
        return biased_operands(rng, lo, hi, count, cols, dtype=self._act_type)

    def random_weights(self, rng: np.random.Generator, count: int, cols: int) -> np.ndarray:
        lo, hi = self.design.weight_range
        return rng.integers(lo, hi + 1, size=(count, cols), dtype=self._weight_type)

    def _edge_pairs(self) -> list[tuple[int, int]]:
        """(activation, weight code) pairs at the corners of the ranges, largest sums
        first."""
        alo, ahi = self.design.act_range
        wlo, whi = self.design.weight_range
        return [(alo, wlo), (alo, whi), (ahi, whi), (ahi, wlo), (0, 0)]

    # -- output-stationary ---------------------------------------------------------------
    def _os_chunk(self, tiles, label: str, model_cycles: bool, finish=None) -> Chunk:
        """One chunk of tiles ``[(act (R, K_t), weights (C, K_t)), ...]``."""
        d = self.design
        acts = np.concatenate([x.T for x, _ in tiles], axis=0)
        weights = np.concatenate([w.T for _, w in tiles], axis=0)
        steps = np.array([x.shape[1] for x, _ in tiles], np.int64)
        last = np.zeros(acts.shape[0], np.int64)
        last[np.cumsum(steps) - 1] = 1
        if d.paper_structured:
            expected = np.stack([paper_tile_reference(d, x, w) for x, w in tiles])
        else:
            expected = np.concatenate([tile_reference(d, x, w) for x, w in tiles], axis=0)
        # The model's cycles size the harness budget even when they are not compared.
        predicted = os_output_cycles(d, steps)
        cycles = predicted if model_cycles else None
        burst = Burst("feed", {"act": acts, "weight": weights, "last": last}, acts.shape[0])
        return Chunk(
            [burst],
            {"result": Expectation(expected, cycles)},
            label=label,
            finish=finish,
            cycles=int(predicted[-1]) + 1,
        )

    def _os_edge_tiles(self, budget: int) -> list:
        d = self.design
        R, C = d.rows, d.cols
        long = d.k_max if budget >= 4 * d.k_max else max(1, min(d.k_max, budget // 8))
        tiles = []
        for a, w in self._edge_pairs():
            k = long if (a, w) != (0, 0) else 3
            tiles.append((np.full((R, k), a), np.full((C, k), w)))
        k = min(d.k_max, 6)
        signs = np.where(np.arange(k) % 2 == 0, *d.act_range)
        tiles.append((np.tile(signs, (R, 1)), np.full((C, k), d.weight_range[1])))
        tiles.append((np.full((R, 1), d.act_range[0]), np.full((C, 1), d.weight_range[0])))
        return tiles

    def _os_random_tile(self, rng, room: int):
        d = self.design
        spacing = d.last_spacing
        if rng.random() < 0.25:
            k = int(rng.integers(1, spacing + 1))
        else:
            k = int(rng.integers(spacing, max(spacing, min(d.k_max, 8 * spacing)) + 1))
        k = max(1, min(k, d.k_max, room))
        return self.random_act(rng, d.rows, k), self.random_weights(rng, d.cols, k)

    def _os_chunks(self, rng, vectors, max_entries, model_cycles):
        remaining, index, first = vectors, 0, True
        while remaining > 0:
            budget = min(remaining, max_entries)
            tiles, used = [], 0
            if first:
                for x, w in self._os_edge_tiles(budget):
                    if used + x.shape[1] > budget:
                        break
                    tiles.append((x, w))
                    used += x.shape[1]
            while used < budget:
                x, w = self._os_random_tile(rng, budget - used)
                tiles.append((x, w))
                used += x.shape[1]
            yield self._os_chunk(tiles, f"chunk{index}", model_cycles)
            remaining -= used
            first = False
            index += 1

    # -- weight-stationary ---------------------------------------------------------------
    def _ws_plan(self, events, label: str, model_cycles: bool, finish=None) -> Chunk:
        """A chunk from ``[("w", rows, values (len(rows), C)) | ("a", vectors (n, R))]``."""
        d = self.design
        R, C = d.rows, d.cols
        state = np.zeros((R, C), np.int64)
        bursts, outputs, kinds, rows = [], [], [], []
        for ev in events:
            if ev[0] == "w":
                _, r, v = ev
                state = state.copy()
                state[r] = v
                bursts.append(Burst("weights", {"row": r, "values": v}, len(r)))
                kinds.append(np.ones(len(r), bool))
                rows.append(np.asarray(r, np.int64))
            else:
                x = ev[1]
                bursts.append(Burst("act", x, x.shape[0]))
                outputs.append(tile_reference(d, x, state.T))
                kinds.append(np.zeros(x.shape[0], bool))
                rows.append(np.zeros(x.shape[0], np.int64))
        is_write = np.concatenate(kinds)
        # The model's cycles size the harness budget even when they are not compared.
        predicted = ws_accept_cycles(d, is_write, np.concatenate(rows))[~is_write] + d.latency
        return Chunk(
            bursts,
            {
                "result": Expectation(
                    np.concatenate(outputs, axis=0), predicted if model_cycles else None
                )
            },
            label=label,
            finish=finish,
            cycles=int(predicted[-1]) + 1,
        )

    def _ws_chunks(self, rng, vectors, max_entries, model_cycles):
        d = self.design
        R, C = d.rows, d.cols
        remaining, index, first = vectors, 0, True
        while remaining > 0:
            events, used, entries = [], 0, 0
            if first:
                pairs = self._edge_pairs()
                w = np.array([[pairs[(i + j) % 4][1] for j in range(C)] for i in range(R)])
                acts = [a for a, _ in pairs[:4]]
                edge = np.array([[acts[(i + r) % 4] for i in range(R)] for r in range(4)])
                edge = np.concatenate(
                    [np.full((1, R), d.act_range[0]), edge, np.zeros((1, R), np.int64)]
                )
            else:
                w, edge = self.random_weights(rng, R, C), None
            events.append(("w", np.arange(R), w))
            entries += R
            budget = min(remaining, max_entries - R)
            if budget <= 0:
                raise ValueError(
                    f"max_entries={max_entries} leaves no room after {R} weight writes"
                )
            while used < budget:
                if edge is not None:
                    x, edge = edge[:budget], None
                else:
                    x = self.random_act(
                        rng, int(min(budget - used, rng.integers(1, max(2, budget // 3) + 1))), R
                    )
                events.append(("a", x))
                used += x.shape[0]
                entries += x.shape[0]
                room = max_entries - entries - (budget - used)
                if used < budget and room > 0 and rng.random() < 0.5:
                    count = int(min(room, rng.integers(1, R + 1)))
                    r = np.sort(rng.choice(R, size=count, replace=False))
                    events.append(("w", r, self.random_weights(rng, count, C)))
                    entries += count
            yield self._ws_plan(events, f"chunk{index}", model_cycles)
            remaining -= used
            first = False
            index += 1

    def result_values(self, values) -> np.ndarray:
        """Result transfers as numbers, rows of ``cols``-wide tile rows: the final
        carry-propagate add of paper-mode carry-save pairs happens here."""
        v = np.asarray(values, dtype=np.int64)
        d = self.design
        if d.paper_structured and d.carry_save_accumulate:
            pairs = v.reshape(v.shape[0], -1, 2).astype(np.uint64)
            v = resolve(d, pairs[..., 0], pairs[..., 1])
        return v

    # -- entry points --------------------------------------------------------------------
    def chunks(
        self,
        rng: np.random.Generator,
        vectors: int,
        max_entries: int = 65536,
        model_cycles: bool = True,
    ):
        """Yield chunks totalling ``vectors`` input data transfers (see the class).

        Parameters
        ----------
        rng : numpy.random.Generator
        vectors : int
        max_entries : int
            Most transfers per chunk (the harness memory depth).
        model_cycles : bool
            Attach the cycle model's cycle of every result (full rate only).
        """
        if self.design.is_output_stationary:
            yield from self._os_chunks(rng, vectors, max_entries, model_cycles)
        else:
            yield from self._ws_chunks(rng, vectors, max_entries, model_cycles)

    def gemm(self, rng: np.random.Generator, m: int, n: int, k: int) -> Chunk:
        """One chunk computing ``Y[M, N] = X[M, K] @ W[N, K].T`` tile by tile, as
        :func:`shiftadd.models.cycles.gemm_cycles` schedules it (docs/systolic.md).

        Partial tiles are padded with zero activations (and zero weight codes); every tile's
        results are checked, then ``finish`` adds the tiles up on the host, compares the
        product with :func:`~shiftadd.models.systolic.gemm_reference` and the simulated cycle
        count with the model's.
        """
        d = self.design
        m, n, k = check_gemm(m, n, k)
        R, C = d.rows, d.cols
        x = self.random_act(rng, m, k).astype(np.int64)
        w = self.random_weights(rng, n, k).astype(np.int64)
        model = gemm_cycles(d, m, n, k)
        blocks = []  # (row offset, column offset, rows of the tile's results used)
        if d.is_output_stationary:
            tiles = []
            for m0 in range(0, m, R):
                for n0 in range(0, n, C):
                    for k0 in range(0, k, d.k_max):
                        k1 = min(k, k0 + d.k_max)
                        xt = np.zeros((R, k1 - k0), np.int64)
                        wt = np.zeros((C, k1 - k0), np.int64)
                        xt[: min(R, m - m0)] = x[m0 : m0 + R, k0:k1]
                        wt[: min(C, n - n0)] = w[n0 : n0 + C, k0:k1]
                        tiles.append((xt, wt))
                        blocks.append((m0, n0, R))
            make = lambda fin: self._os_chunk(tiles, "gemm", True, fin)  # noqa: E731
        else:
            events = []
            for k0 in range(0, k, R):
                r = min(R, k - k0)
                xt = np.zeros((m, R), np.int64)
                xt[:, :r] = x[:, k0 : k0 + r]
                for n0 in range(0, n, C):
                    values = np.zeros((r, C), np.int64)
                    values[:, : min(C, n - n0)] = w[n0 : n0 + C, k0 : k0 + r].T
                    events += [("w", np.arange(r), values), ("a", xt)]
                    blocks.append((0, n0, m))
            make = lambda fin: self._ws_plan(events, "gemm", True, fin)  # noqa: E731
        whole = gemm_reference(d, x, w)

        def finish(recorded):
            got = self.result_values(recorded["result"].values).reshape(-1, C)
            y = np.zeros((m, n), np.int64)
            row = 0
            for m0, n0, count in blocks:
                block = got[row : row + count]
                row += count
                if block.shape[0] == count:
                    rows_used, cols_used = min(count, m - m0), min(C, n - n0)
                    y[m0 : m0 + rows_used, n0 : n0 + cols_used] += block[:rows_used, :cols_used]
            cycles = recorded["result"].cycles
            sim_cycles = int(cycles[-1]) + 1 if cycles.size else 0
            return {
                "gemm": [m, n, k],
                "gemm_matches": bool(np.array_equal(y, whole)),
                "gemm_cycles_sim": sim_cycles,
                "gemm_cycles_model": model.cycles,
                "gemm_utilization": model.utilization,
            }

        chunk = make(finish)
        chunk.cycles = max(int(chunk.cycles or 0), model.cycles)
        return chunk
