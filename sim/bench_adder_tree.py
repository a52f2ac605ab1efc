"""Stimulus and reference of the adder-tree family: random and edge-case traffic for the
pipelined array (plain trees and the OPT1/OPT2 bit-weight options, which keep the plain
tree's full-rate pipeline, golden dot products and cycle model), and the ``digit_sparse``
option's bench with data-dependent cycle predictions.

``digit_sparse`` spends a data-dependent number of cycles per vector, so its bench predicts
every result's cycle from the stimulus itself
(:func:`shiftadd.models.adder_tree.cycles.digit_sparse_output_cycles`, never from the RTL),
and the GEMM's total through :func:`~shiftadd.models.adder_tree.cycles.digit_sparse_gemm_cycles`.
Its activations mix digit-dense and digit-sparse vectors (uniform codes, small normal values,
mostly zeros, all zeros) so skipped bit weights and idle groups are exercised.
"""

from __future__ import annotations

import numpy as np

from ..design.adder_tree import AdderTreeDesign
from ..errors import InputError
from ..models.adder_tree.cycles import (
    digit_sparse_gemm_cycles,
    digit_sparse_output_cycles,
    digit_sparse_vector_cycles,
    stream_output_cycles,
)
from ..models.adder_tree.golden import adder_tree_reference
from ..models.cycles import GemmCycles, check_gemm, gemm_cycles
from ..models.golden import threshold_compare
from .benches import biased_operands
from .plan import Burst, Chunk, Expectation

__all__ = ["AdderTreeBench", "BinaryMacBench", "DigitSparseBench", "adder_tree_bench"]


def adder_tree_bench(design: AdderTreeDesign) -> AdderTreeBench:
    """The bench of an adder-tree design."""
    if design.accumulate:
        return BinaryMacBench(design)
    return DigitSparseBench(design) if design.digit_sparse else AdderTreeBench(design)


class AdderTreeBench:
    """Random and edge-case traffic for an adder-tree array.

    Each chunk loads a fresh weight set (all neurons), then alternates bursts of activation
    vectors with rewrites of a few neurons, so results are checked across weight changes
    with vectors still in flight. The first chunk starts with edge cases: all-zero, all-one,
    most negative and most positive activations and weights, and thresholds at and beyond
    the ends of the accumulator range.
    """

    def __init__(self, design: AdderTreeDesign):
        self.design = design

    # -- operand generators -------------------------------------------------------------
    def random_act(
        self, rng: np.random.Generator, count: int, cols: int | None = None
    ) -> np.ndarray:
        lo, hi = self.design.act_range
        return biased_operands(rng, lo, hi, count, self.design.k if cols is None else cols)

    def random_weights(
        self, rng: np.random.Generator, rows: int, cols: int | None = None
    ) -> np.ndarray:
        lo, hi = self.design.weight_range
        cols = self.design.k if cols is None else cols
        return rng.integers(lo, hi + 1, size=(rows, cols), dtype=np.int64)

    def edge_act(self) -> np.ndarray:
        d = self.design
        lo, hi = d.act_range
        k = d.k
        alternating = np.where(np.arange(k) % 2 == 0, lo, hi)
        rows = [
            np.full(k, lo),
            np.full(k, hi),
            np.zeros(k, np.int64),
            alternating,
            alternating[::-1].copy(),
        ]
        if lo < 0:
            rows.append(np.full(k, -1))
        return np.array(rows, dtype=np.int64)

    def edge_weights(self) -> np.ndarray:
        d = self.design
        lo, hi = d.weight_range
        k = d.k
        base = [np.full(k, lo), np.full(k, hi), np.where(np.arange(k) % 2 == 0, lo, hi)]
        rows = [base[i % len(base)] for i in range(d.n)]
        return np.array(rows, dtype=np.int64)

    def random_thresholds(
        self, rng: np.random.Generator, weights: np.ndarray, edge: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        d = self.design
        if not d.threshold:
            return np.zeros(weights.shape[0], np.int64), np.zeros(weights.shape[0], bool)
        # Thresholds near the values the neurons actually produce, so both outcomes occur,
        # plus the extremes of the accumulator range and of the threshold field.
        probe = adder_tree_reference(
            d.replace(threshold=False, n=weights.shape[0], k=weights.shape[1]),
            self.random_act(rng, 8, cols=weights.shape[1]),
            weights,
        ).acc
        t = probe[rng.integers(0, probe.shape[0], weights.shape[0]), np.arange(weights.shape[0])]
        t = t + rng.integers(-1, 2, t.shape)
        alo, ahi = d.acc_range
        tlo, thi = d.threshold_range
        extremes = np.array([alo - 1, ahi + 1, alo, ahi, tlo, thi], np.int64)
        if edge:
            m = min(len(extremes), t.shape[0])
            t[:m] = extremes[:m]
        else:
            wild = rng.random(t.shape) < 0.1
            t[wild] = rng.choice(extremes, int(wild.sum()))
        return np.clip(t, tlo, thi), rng.random(t.shape) < 0.5

    # -- plan ----------------------------------------------------------------------------
    def _weight_burst(self, rows: np.ndarray, w: np.ndarray, t: np.ndarray, f: np.ndarray) -> Burst:
        values = {"neuron": rows, "values": w[rows]}
        if self.design.threshold:
            values["threshold"] = t[rows]
            values["flip"] = f[rows].astype(np.int64)
        return Burst("weights", values, len(rows))

    def chunks(
        self,
        rng: np.random.Generator,
        vectors: int,
        max_entries: int = 65536,
        model_cycles: bool = True,
    ):
        """Yield chunks totalling ``vectors`` activation vectors.

        Parameters
        ----------
        rng : numpy.random.Generator
        vectors : int
            Activation vectors to check.
        max_entries : int
            Most transfers per chunk (the harness memory depth).
        model_cycles : bool
            Attach the analytic model's cycle of every result (valid only when the chunk is
            played at full rate without backpressure).
        """
        d = self.design
        n = d.n
        remaining = vectors
        first = True
        index = 0
        while remaining > 0:
            bursts: list[Burst] = []
            outputs = []
            act_positions = []
            position = 0
            if first:
                w = self.edge_weights()
                t, f = self.random_thresholds(rng, w, edge=True)
            else:
                w = self.random_weights(rng, n)
                t, f = self.random_thresholds(rng, w)
            all_rows = np.arange(n)
            bursts.append(self._weight_burst(all_rows, w, t, f))
            position += n
            budget = min(remaining, max_entries - n)
            if budget <= 0:
                raise ValueError(
                    f"max_entries={max_entries} leaves no room after {n} weight writes"
                )
            sent = 0
            while sent < budget:
                if first and sent == 0:
                    x = self.edge_act()[:budget]
                else:
                    size = int(min(budget - sent, rng.integers(1, max(2, budget // 3) + 1)))
                    x = self.random_act(rng, size)
                bursts.append(Burst("act", x, x.shape[0]))
                act_positions.append(position + np.arange(x.shape[0]))
                position += x.shape[0]
                ref = adder_tree_reference(d, x, w, t, f)
                outputs.append(ref.outputs)
                sent += x.shape[0]
                # Rewrite a few neurons between bursts while earlier vectors are in flight.
                room = max_entries - position
                if sent < budget and room > budget - sent and rng.random() < 0.5:
                    rewrite = min(room - (budget - sent), int(rng.integers(1, n + 1)))
                    if rewrite > 0:
                        rows = rng.choice(n, size=rewrite, replace=False)
                        w = w.copy()
                        w[rows] = self.random_weights(rng, rewrite)
                        t2, f2 = self.random_thresholds(rng, w)
                        t = np.where(np.isin(all_rows, rows), t2, t)
                        f = np.where(np.isin(all_rows, rows), f2, f)
                        bursts.append(self._weight_burst(rows, w, t, f))
                        position += rewrite
            values = np.concatenate(outputs, axis=0)
            # The model's cycles size the harness budget even when they are not compared.
            predicted = self.output_cycles(bursts, np.concatenate(act_positions))
            cycles = predicted if model_cycles else None
            yield Chunk(
                bursts,
                {"result": Expectation(values, cycles)},
                label=f"chunk{index}",
                cycles=int(predicted[-1]) + 1,
            )
            remaining -= sent
            first = False
            index += 1

    def output_cycles(self, bursts: list[Burst], act_positions: np.ndarray) -> np.ndarray:
        """The analytic model's cycle of every result of ``bursts`` played back to back
        (``act_positions``: the transfer index of each activation vector). A family whose
        cycles depend on the data overrides this."""
        return stream_output_cycles(self.design, act_positions)

    def gemm_model(self, x: np.ndarray, n: int, k: int):
        """The analytic model of the tiled GEMM of activations ``x`` (``M x K``) against
        ``n`` weight rows (:class:`~shiftadd.models.cycles.GemmCycles`)."""
        return gemm_cycles(self.design, x.shape[0], n, k)

    def pad_values(self) -> tuple[int, int]:
        """Activation and weight that contribute nothing when padding a partial K tile.

        xnor: act bit 0 (-1) with weight bit 1 (+1) never matches; addsub: act 0 with
        weight +1 (no -1 weight to count); mac: zeros.
        """
        return self.design.arith.pad

    def gemm(self, rng: np.random.Generator, m: int, n: int, k: int) -> Chunk:
        """One chunk computing ``Y[M, N] = X[M, K] @ W[N, K].T`` by tiling, as the analytic
        model schedules it (:func:`shiftadd.models.cycles.gemm_cycles`).

        Every tile's outputs are checked against the golden model; ``finish`` then adds the
        K-tiles up on the host, compares the whole product with a direct NumPy GEMM, and
        compares the simulated cycle count with the model's.
        """
        d = self.design
        m, n, k = check_gemm(m, n, k)
        if d.threshold and k > d.k:
            raise InputError(
                f"a thresholded array can only run GEMMs with K <= k = {d.k}: the compare "
                "applies to the whole dot product",
                field="gemm.K",
                allowed=f"1 to {d.k}",
            )
        x = self.random_act(rng, m, cols=k)
        w = self.random_weights(rng, n, cols=k)
        t_cols, f_cols = self.random_thresholds(rng, w) if d.threshold else (None, None)
        act_pad, weight_pad = self.pad_values()
        k_tiles, n_tiles = -(-k // d.k), -(-n // d.n)
        # What the array holds in the rows a tile writes. Rows a partial N tile leaves
        # unwritten keep older weights or none (registers without reset): their lanes carry
        # no result and are not compared (Expectation.lanes).
        state_w = np.zeros((d.n, d.k), np.int64)
        state_t = np.zeros(d.n, np.int64)
        state_f = np.zeros(d.n, bool)
        bursts, outputs, positions, tiles, lanes = [], [], [], [], []
        position = 0
        for kt in range(k_tiles):
            k0, k1 = kt * d.k, min(k, (kt + 1) * d.k)
            x_tile = np.full((m, d.k), act_pad, np.int64)
            x_tile[:, : k1 - k0] = x[:, k0:k1]
            for nt in range(n_tiles):
                n0, n1 = nt * d.n, min(n, (nt + 1) * d.n)
                rows = np.arange(n1 - n0)
                state_w[rows] = weight_pad
                state_w[rows, : k1 - k0] = w[n0:n1, k0:k1]
                if d.threshold:
                    state_t[rows], state_f[rows] = t_cols[n0:n1], f_cols[n0:n1]
                bursts.append(self._weight_burst(rows, state_w, state_t, state_f))
                position += rows.size
                bursts.append(Burst("act", x_tile, m))
                positions.append(position + np.arange(m))
                position += m
                outputs.append(adder_tree_reference(d, x_tile, state_w, state_t, state_f).outputs)
                lanes.append(np.broadcast_to(np.arange(d.n) < n1 - n0, (m, d.n)))
                tiles.append((n0, n1))
        values = np.concatenate(outputs, axis=0)
        cycles = self.output_cycles(bursts, np.concatenate(positions))
        model = self.gemm_model(x, n, k)
        whole = d.arith.dot(x, w)
        if d.threshold:
            whole = threshold_compare(whole, t_cols, f_cols).astype(np.int64)

        def finish(recorded):
            got = recorded["result"]
            y = np.zeros((m, n), np.int64)
            for i, (n0, n1) in enumerate(tiles):
                block = np.asarray(got.values[i * m : (i + 1) * m]).reshape(-1, d.n)
                if block.shape[0] == m:
                    y[:, n0:n1] += block[:, : n1 - n0]
            sim_cycles = int(got.cycles[-1]) + 1 if got.cycles.size else 0
            return {
                "gemm": [m, n, k],
                "gemm_matches": bool(np.array_equal(y, whole)),
                "gemm_cycles_sim": sim_cycles,
                "gemm_cycles_model": model.cycles,
                "gemm_utilization": model.utilization,
            }

        return Chunk(
            bursts,
            {"result": Expectation(values, cycles, lanes=np.concatenate(lanes))},
            label="gemm",
            finish=finish,
            cycles=max(model.cycles, int(cycles[-1]) + 1),
        )


class DigitSparseBench(AdderTreeBench):
    """:class:`AdderTreeBench` with data-dependent cycle predictions."""

    def random_act(
        self, rng: np.random.Generator, count: int, cols: int | None = None
    ) -> np.ndarray:
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
        return GemmCycles(
            cycles=cycles,
            transfers=k_tiles * n + k_tiles * n_tiles * m,
            tiles=k_tiles * n_tiles,
            weight_writes=k_tiles * n,
            macs=macs,
            utilization=macs / (cycles * d.k * d.n),
        )

    # chunks() and gemm() are inherited: both size a chunk by output_cycles, which here
    # follows the data (a vector takes as many cycles as its digits need).


class BinaryMacBench(AdderTreeBench):
    """Traffic for the accumulating binary MAC array (``accumulate``): every output is a run
    of ``ceil(K / k)`` chunks tagged ``first`` and ``last``, each carrying its activation
    bits, every lane's weight bits, thresholds and flip bits.

    An output's fan-in ``K`` is drawn from 1 to ``accumulate_k`` (a third of them at
    ``accumulate_k``, the most chunks the accumulator holds); partial chunks are padded
    with activation 0 against weight 1 (no match). The thresholds and flip bits of chunks
    other than the last are random, since the hardware must ignore them. The first chunk of
    a run starts with edge cases: all matches and no match at the largest and at the
    smallest fan-ins, against thresholds at and beyond both ends of the range.
    """

    def _outputs(self, rng: np.random.Generator, count: int, edge: bool):
        """``count`` outputs: per output its fan-in, activations, weights, thresholds,
        flips."""
        d = self.design
        k_max = d.max_chunks * d.k
        fan_in = rng.integers(1, k_max + 1, count)
        fan_in[rng.random(count) < 1 / 3] = k_max
        # (fan-in, activation bit, weight bit): every match and no match at the largest,
        # the smallest and a just-over-one-chunk fan-in (xnor: equal bits match).
        edges = [
            (k_max, 1, 1),
            (k_max, 0, 1),
            (1, 1, 1),
            (1, 0, 1),
            (min(d.k + 1, k_max), 1, 0),
            (k_max, 0, 0),
        ]
        outs = []
        for i, kk in enumerate(fan_in):
            kk = int(kk)
            x = self.random_act(rng, 1, cols=kk)[0].astype(np.int64)
            w = self.random_weights(rng, d.n, cols=kk)
            is_edge = edge and i < len(edges)
            if is_edge:
                kk, xbit, wbit = edges[i]
                x = np.full(kk, xbit, np.int64)
                w = np.full((d.n, kk), wbit, np.int64)
            acc = d.arith.dot(x[None, :], w)[0]
            t, f = self._thresholds(rng, acc, is_edge)
            outs.append((x, w, t, f))
        return outs

    def _thresholds(self, rng: np.random.Generator, acc: np.ndarray, edge: bool):
        d = self.design
        tlo, thi = d.threshold_range
        alo, ahi = d.acc_range
        t = acc + rng.integers(-1, 2, acc.shape)
        extremes = np.array([alo - 1, ahi + 1, alo, ahi, tlo, thi], np.int64)
        wild = rng.random(t.shape) < (1.0 if edge else 0.1)
        t[wild] = rng.choice(extremes, int(wild.sum()))
        return np.clip(t, tlo, thi), rng.random(t.shape) < 0.5

    def _chunks_of(self, rng: np.random.Generator, x, w, t, f) -> dict:
        """The transfers of one output (a dict of payload fields, one row per chunk)."""
        d = self.design
        act_pad, weight_pad = self.pad_values()
        chunks = -(-x.shape[0] // d.k)
        xp = np.full(chunks * d.k, act_pad, np.int64)
        xp[: x.shape[0]] = x
        wp = np.full((w.shape[0], chunks * d.k), weight_pad, np.int64)
        wp[:, : w.shape[1]] = w
        tlo, thi = d.threshold_range
        thresholds = rng.integers(tlo, thi + 1, (chunks, d.n))
        flips = rng.integers(0, 2, (chunks, d.n))
        thresholds[-1], flips[-1] = t, f
        tags = np.arange(chunks)
        return {
            "values": xp.reshape(chunks, d.k),
            "weights": wp.reshape(d.n, chunks, d.k).transpose(1, 0, 2),
            "threshold": thresholds,
            "flip": flips,
            "first": (tags == 0).astype(np.int64),
            "last": (tags == chunks - 1).astype(np.int64),
        }

    @staticmethod
    def _burst(parts: list[dict]) -> Burst:
        values = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        return Burst("act", values, int(values["values"].shape[0]))

    def chunks(
        self,
        rng: np.random.Generator,
        vectors: int,
        max_entries: int = 65536,
        model_cycles: bool = True,
    ):
        """Yield chunks totalling ``vectors`` outputs (each of up to ``accumulate_k / k``
        transfers).

        Parameters
        ----------
        rng : numpy.random.Generator
        vectors : int
            Outputs to check.
        max_entries : int
            Most transfers per chunk (the harness memory depth).
        model_cycles : bool
            Attach the analytic model's cycle of every result (valid only at full rate).
        """
        d = self.design
        if max_entries < d.max_chunks:
            raise ValueError(f"max_entries={max_entries} is less than one output's chunks")
        remaining, index = vectors, 0
        while remaining > 0:
            count = min(remaining, max(1, max_entries // d.max_chunks))
            parts, expected, last = [], [], []
            position = 0
            for x, w, t, f in self._outputs(rng, count, edge=index == 0):
                part = self._chunks_of(rng, x, w, t, f)
                parts.append(part)
                position += part["values"].shape[0]
                last.append(position - 1)
                expected.append(adder_tree_reference(self.design, x[None, :], w, t, f).outputs)
            predicted = stream_output_cycles(d, np.array(last))
            yield Chunk(
                [self._burst(parts)],
                {
                    "result": Expectation(
                        np.concatenate(expected), predicted if model_cycles else None
                    )
                },
                label=f"chunk{index}",
                cycles=int(predicted[-1]) + 1,
            )
            remaining -= count
            index += 1

    def gemm(self, rng: np.random.Generator, m: int, n: int, k: int) -> Chunk:
        """One chunk computing the thresholded ``Y[M, N] = X[M, K] @ W[N, K].T`` as the
        cycle model schedules it: per group of ``n`` output columns and per row, the
        ``ceil(K / k)`` chunks of one accumulated output. ``finish`` assembles the groups,
        compares the whole thresholded product with NumPy and the cycles with the model."""
        d = self.design
        m, n, k = check_gemm(m, n, k)
        k_max = d.max_chunks * d.k
        if k > k_max:
            raise InputError(
                f"an accumulating array runs GEMMs with K <= accumulate_k = {k_max}",
                field="gemm.K",
                allowed=f"1 to {k_max}",
            )
        x = self.random_act(rng, m, cols=k).astype(np.int64)
        w = self.random_weights(rng, n, cols=k)
        acc = d.arith.dot(x, w)
        t_cols, f_cols = self._thresholds(rng, acc[rng.integers(0, m, n), np.arange(n)], False)
        _, weight_pad = self.pad_values()
        parts, outputs, lanes, last, tiles = [], [], [], [], []
        position = 0
        for n0 in range(0, n, d.n):
            n1 = min(n, n0 + d.n)
            # Lanes past the tile's columns get padding weights and threshold 0: driven
            # from the stream (no unwritten state), but they carry no result.
            state_w = np.full((d.n, k), weight_pad, np.int64)
            state_w[: n1 - n0] = w[n0:n1]
            state_t = np.zeros(d.n, np.int64)
            state_f = np.zeros(d.n, bool)
            state_t[: n1 - n0], state_f[: n1 - n0] = t_cols[n0:n1], f_cols[n0:n1]
            for row in range(m):
                part = self._chunks_of(rng, x[row], state_w, state_t, state_f)
                parts.append(part)
                position += part["values"].shape[0]
                last.append(position - 1)
            outputs.append(adder_tree_reference(d, x, state_w, state_t, state_f).outputs)
            lanes.append(np.broadcast_to(np.arange(d.n) < n1 - n0, (m, d.n)))
            tiles.append((n0, n1))
        values = np.concatenate(outputs, axis=0)
        cycles = stream_output_cycles(d, np.array(last))
        model = self.gemm_model(x, n, k)
        whole = threshold_compare(acc, t_cols, f_cols).astype(np.int64)

        def finish(recorded):
            got = recorded["result"]
            y = np.zeros((m, n), np.int64)
            for i, (n0, n1) in enumerate(tiles):
                block = np.asarray(got.values[i * m : (i + 1) * m]).reshape(-1, d.n)
                if block.shape[0] == m:
                    y[:, n0:n1] = block[:, : n1 - n0]
            sim_cycles = int(got.cycles[-1]) + 1 if got.cycles.size else 0
            return {
                "gemm": [m, n, k],
                "gemm_matches": bool(np.array_equal(y, whole)),
                "gemm_cycles_sim": sim_cycles,
                "gemm_cycles_model": model.cycles,
                "gemm_utilization": model.utilization,
            }

        return Chunk(
            [self._burst(parts)],
            {"result": Expectation(values, cycles, lanes=np.concatenate(lanes))},
            label="gemm",
            finish=finish,
            cycles=max(model.cycles, int(cycles[-1]) + 1),
        )
