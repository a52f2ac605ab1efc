"""Stimulus and reference for the 3D-Cube engine (:mod:`shiftadd.hw.cube`).

A transfer on ``feed`` is one tile: ``act`` (``rows x depth`` activation codes) and
``weight`` (``cols x depth`` weight codes); the cube returns the tile's ``rows x cols``
results ``act @ weight.T`` (wrapped to the accumulator) ``latency`` cycles later, one tile
per cycle. Every expected value comes from the grid engines' golden model
(:mod:`shiftadd.models.grid.golden`) and every result's cycle from the cube's cycle model.
"""

from __future__ import annotations

import numpy as np

from ..design.cube import CubeDesign
from ..models.cube.cycles import result_cycles
from ..models.cycles import check_gemm, gemm_cycles
from ..models.grid.golden import gemm_reference, tile_reference
from .benches import biased_operands, small_int_type
from .plan import Burst, Chunk, Expectation

__all__ = ["CubeBench"]


class CubeBench:
    """Random and edge-case tiles for a cube, and tiled GEMMs.

    ``vectors`` in :meth:`chunks` counts tiles (``rows * cols * depth`` multiply-accumulates
    each). The first chunk starts with edge cases: every operand at the ends of its range
    (int8: -128 x -128 in every PE, the largest sum the partial sums reach), all zeros,
    signs alternating along the reduction, and a tile whose every element differs (a
    transposed or misrouted operand shows).
    """

    def __init__(self, design: CubeDesign):
        self.design = design
        self._act_type = small_int_type(*design.act_range)
        self._weight_type = small_int_type(*design.weight_range)

    # -- operands ------------------------------------------------------------------------
    def random_act(self, rng: np.random.Generator, count: int, cols: int) -> np.ndarray:
        """Activation codes, shape ``(count, cols)``, a quarter of the rows biased to one
        end of the range."""
        lo, hi = self.design.act_range
        return biased_operands(rng, lo, hi, count, cols, dtype=self._act_type)

    def random_weights(self, rng: np.random.Generator, count: int, cols: int) -> np.ndarray:
        """Uniform weight codes, shape ``(count, cols)``."""
        lo, hi = self.design.weight_range
        return rng.integers(lo, hi + 1, size=(count, cols), dtype=self._weight_type)

    def edge_tiles(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The edge-case tiles ``[(act (rows, depth), weights (cols, depth)), ...]``."""
        d = self.design
        R, C, D = d.rows, d.cols, d.depth
        alo, ahi = d.act_range
        wlo, whi = d.weight_range
        tiles = [
            (np.full((R, D), a), np.full((C, D), w))
            for a, w in ((alo, wlo), (alo, whi), (ahi, whi), (ahi, wlo), (0, 0))
        ]
        signs = np.where(np.arange(D) % 2 == 0, alo, ahi)
        tiles.append((np.tile(signs, (R, 1)), np.full((C, D), whi)))
        # Every element different (within the ranges): a swapped index changes a result.
        span_a, span_w = ahi - alo + 1, whi - wlo + 1
        act = alo + (np.arange(R * D).reshape(R, D) * 7 + 3) % span_a
        w = wlo + (np.arange(C * D).reshape(C, D) * 5 + 1) % span_w
        tiles.append((act, w))
        return tiles

    # -- chunks --------------------------------------------------------------------------
    def _chunk(self, acts, weights, label: str, model_cycles: bool, finish=None) -> Chunk:
        """A chunk of tiles ``acts`` (n, rows, depth) and ``weights`` (n, cols, depth)."""
        d = self.design
        n = acts.shape[0]
        expected = np.stack([tile_reference(d, a, w) for a, w in zip(acts, weights)])
        predicted = result_cycles(d, n)
        return Chunk(
            [Burst("feed", {"act": acts, "weight": weights}, n)],
            {"result": Expectation(expected, predicted if model_cycles else None)},
            label=label,
            finish=finish,
            cycles=int(predicted[-1]) + 1,
        )

    def chunks(
        self,
        rng: np.random.Generator,
        vectors: int,
        max_entries: int = 65536,
        model_cycles: bool = True,
    ):
        """Yield chunks totalling ``vectors`` tiles, the edge cases first.

        Parameters
        ----------
        rng : numpy.random.Generator
        vectors : int
        max_entries : int
            Most transfers per chunk (the harness memory depth).
        model_cycles : bool
            Attach the cycle model's cycle of every result (full rate only).
        """
        d = self.design
        R, C, D = d.rows, d.cols, d.depth
        remaining, index = vectors, 0
        edge = self.edge_tiles()
        while remaining > 0:
            n = min(remaining, max_entries)
            acts = self.random_act(rng, n * R, D).reshape(n, R, D).astype(np.int64)
            weights = self.random_weights(rng, n * C, D).reshape(n, C, D).astype(np.int64)
            if index == 0:
                for i, (a, w) in enumerate(edge[:n]):
                    acts[i], weights[i] = a, w
            yield self._chunk(acts, weights, f"chunk{index}", model_cycles)
            remaining -= n
            index += 1

    def gemm(self, rng: np.random.Generator, m: int, n: int, k: int) -> Chunk:
        """One chunk computing ``Y[M, N] = X[M, K] @ W[N, K].T`` tile by tile, as
        :func:`shiftadd.models.cycles.gemm_cycles` schedules it (docs/cube.md): output
        blocks row-block-major, each over its reduction slices.

        Partial tiles are padded with zero codes (a zero activation contributes nothing in
        every mode); every tile's results are checked, then ``finish`` adds the slices up on
        the host, compares the product with
        :func:`~shiftadd.models.grid.golden.gemm_reference` and the simulated cycle count
        with the model's.
        """
        d = self.design
        m, n, k = check_gemm(m, n, k)
        R, C, D = d.rows, d.cols, d.depth
        x = self.random_act(rng, m, k).astype(np.int64)
        w = self.random_weights(rng, n, k).astype(np.int64)
        model = gemm_cycles(d, m, n, k)
        acts, weights, blocks = [], [], []
        for m0 in range(0, m, R):
            for n0 in range(0, n, C):
                for k0 in range(0, k, D):
                    k1 = min(k, k0 + D)
                    xt = np.zeros((R, D), np.int64)
                    wt = np.zeros((C, D), np.int64)
                    xt[: min(R, m - m0), : k1 - k0] = x[m0 : m0 + R, k0:k1]
                    wt[: min(C, n - n0), : k1 - k0] = w[n0 : n0 + C, k0:k1]
                    acts.append(xt)
                    weights.append(wt)
                    blocks.append((m0, n0))
        whole = gemm_reference(d, x, w)

        def finish(recorded):
            got = np.asarray(recorded["result"].values).reshape(-1, R, C)
            y = np.zeros((m, n), np.int64)
            for (m0, n0), tile in zip(blocks, got):
                rows, cols = min(R, m - m0), min(C, n - n0)
                y[m0 : m0 + rows, n0 : n0 + cols] += tile[:rows, :cols]
            cycles = recorded["result"].cycles
            sim_cycles = int(cycles[-1]) + 1 if cycles.size else 0
            return {
                "gemm": [m, n, k],
                "gemm_matches": bool(got.shape[0] == len(blocks) and np.array_equal(y, whole)),
                "gemm_cycles_sim": sim_cycles,
                "gemm_cycles_model": model.cycles,
                "gemm_utilization": model.utilization,
            }

        chunk = self._chunk(np.stack(acts), np.stack(weights), "gemm", True, finish)
        chunk.cycles = max(int(chunk.cycles or 0), model.cycles)
        return chunk
