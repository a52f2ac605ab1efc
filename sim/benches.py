"""Stimulus and reference per design family: what to send, and what must come back.

A bench only plans (:class:`~shiftadd.sim.plan.Chunk`\\ s of bursts with expectations); the
drivers and monitors that play a plan on a simulator live in :mod:`shiftadd.sim.harness`
(Verilog under cocotb) and :mod:`shiftadd.sim.amaranth_play` (Amaranth simulator), and the
comparison in :class:`~shiftadd.sim.plan.Checker`.
"""

from __future__ import annotations

import functools

import numpy as np

from ..design import AdderTreeDesign
from ..models.cycles import stream_output_cycles
from ..models.golden import adder_tree_reference, dot_products, threshold_compare
from .plan import Burst, Chunk, Expectation

__all__ = ["bench_for", "AdderTreeBench"]


def _small_int(lo: int, hi: int):
    """Narrowest NumPy integer type holding [lo, hi] (random stimulus is generated in it)."""
    for t in (np.int8, np.int16, np.int32):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return t
    return np.int64


def biased_operands(rng: np.random.Generator, lo: int, hi: int, count: int, cols: int,
                    dtype=None) -> np.ndarray:
    """Uniform integers in ``[lo, hi]``, shape ``(count, cols)``, a quarter of the rows
    leaning to one end (80% of their entries at ``lo`` or ``hi``) so sums reach their
    extremes. ``dtype`` defaults to the narrowest type holding the range."""
    x = rng.integers(lo, hi + 1, size=(count, cols), dtype=dtype or _small_int(lo, hi))
    biased = rng.random(count) < 0.25
    if biased.any():
        end = np.where(rng.random(int(biased.sum())) < 0.5, lo, hi)[:, None]
        keep = rng.random((int(biased.sum()), cols)) < 0.8
        x[biased] = np.where(keep, end, x[biased])
    return x


@functools.singledispatch
def bench_for(design):
    """The bench of ``design``'s family."""
    raise TypeError(f"no bench for {type(design).__name__}")


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
    def random_act(self, rng: np.random.Generator, count: int,
                   cols: int | None = None) -> np.ndarray:
        lo, hi = self.design.act_range
        return biased_operands(rng, lo, hi, count, self.design.k if cols is None else cols)

    def random_weights(self, rng: np.random.Generator, rows: int,
                       cols: int | None = None) -> np.ndarray:
        lo, hi = self.design.weight_range
        cols = self.design.k if cols is None else cols
        return rng.integers(lo, hi + 1, size=(rows, cols), dtype=np.int64)

    def edge_act(self) -> np.ndarray:
        d = self.design
        lo, hi = d.act_range
        k = d.k
        alternating = np.where(np.arange(k) % 2 == 0, lo, hi)
        rows = [np.full(k, lo), np.full(k, hi), np.zeros(k, np.int64), alternating,
                alternating[::-1].copy()]
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

    def random_thresholds(self, rng: np.random.Generator, weights: np.ndarray,
                          edge: bool = False) -> tuple[np.ndarray, np.ndarray]:
        d = self.design
        if not d.threshold:
            return np.zeros(weights.shape[0], np.int64), np.zeros(weights.shape[0], bool)
        # Thresholds near the values the neurons actually produce, so both outcomes occur,
        # plus the extremes of the accumulator range and of the threshold field.
        probe = adder_tree_reference(d.replace(threshold=False, n=weights.shape[0],
                                               k=weights.shape[1]),
                                     self.random_act(rng, 8, cols=weights.shape[1]), weights).acc
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
    def _weight_burst(self, rows: np.ndarray, w: np.ndarray, t: np.ndarray,
                      f: np.ndarray) -> Burst:
        values = {"neuron": rows, "values": w[rows]}
        if self.design.threshold:
            values["threshold"] = t[rows]
            values["flip"] = f[rows].astype(np.int64)
        return Burst("weights", values, len(rows))

    def chunks(self, rng: np.random.Generator, vectors: int, max_entries: int = 65536,
               model_cycles: bool = True):
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
                raise ValueError(f"max_entries={max_entries} leaves no room after {n} weight writes")
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
                    rewrite = min(room - (budget - sent),
                                  int(rng.integers(1, n + 1)))
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
            cycles = self.output_cycles(bursts, np.concatenate(act_positions)) \
                if model_cycles else None
            yield Chunk(bursts, {"result": Expectation(values, cycles)}, label=f"chunk{index}")
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
        from ..models.cycles import gemm_cycles

        return gemm_cycles(self.design, x.shape[0], n, k)

    def pad_values(self) -> tuple[int, int]:
        """Activation and weight that contribute nothing when padding a partial K tile.

        xnor: act bit 0 (-1) with weight bit 1 (+1) never matches; addsub: act 0 with
        weight +1 (no -1 weight to count); mac: zeros.
        """
        if self.design.mode == "mac":
            return 0, 0
        return 0, 1

    def gemm(self, rng: np.random.Generator, m: int, n: int, k: int) -> Chunk:
        """One chunk computing ``Y[M, N] = X[M, K] @ W[N, K].T`` by tiling, as the analytic
        model schedules it (:func:`shiftadd.models.cycles.gemm_cycles`).

        Every tile's outputs are checked against the golden model; ``finish`` then adds the
        K-tiles up on the host, compares the whole product with a direct NumPy GEMM, and
        compares the simulated cycle count with the model's.
        """
        from ..models.cycles import check_gemm

        d = self.design
        m, n, k = check_gemm(m, n, k)
        if d.threshold and k > d.k:
            raise ValueError("a thresholded array can only run GEMMs with K <= k: the compare "
                             "applies to the whole dot product")
        x = self.random_act(rng, m, cols=k)
        w = self.random_weights(rng, n, cols=k)
        t_cols, f_cols = self.random_thresholds(rng, w) if d.threshold else (None, None)
        act_pad, weight_pad = self.pad_values()
        k_tiles, n_tiles = -(-k // d.k), -(-n // d.n)
        # What the array holds: rows not rewritten by a tile keep their previous contents,
        # and rows never written hold the registers' initial value, 0.
        state_w = np.zeros((d.n, d.k), np.int64)
        state_t = np.zeros(d.n, np.int64)
        state_f = np.zeros(d.n, bool)
        bursts, outputs, positions, tiles = [], [], [], []
        position = 0
        for kt in range(k_tiles):
            k0, k1 = kt * d.k, min(k, (kt + 1) * d.k)
            x_tile = np.full((m, d.k), act_pad, np.int64)
            x_tile[:, :k1 - k0] = x[:, k0:k1]
            for nt in range(n_tiles):
                n0, n1 = nt * d.n, min(n, (nt + 1) * d.n)
                rows = np.arange(n1 - n0)
                state_w[rows] = weight_pad
                state_w[rows, :k1 - k0] = w[n0:n1, k0:k1]
                if d.threshold:
                    state_t[rows], state_f[rows] = t_cols[n0:n1], f_cols[n0:n1]
                bursts.append(self._weight_burst(rows, state_w, state_t, state_f))
                position += rows.size
                bursts.append(Burst("act", x_tile, m))
                positions.append(position + np.arange(m))
                position += m
                outputs.append(adder_tree_reference(d, x_tile, state_w, state_t, state_f).outputs)
                tiles.append((n0, n1))
        values = np.concatenate(outputs, axis=0)
        cycles = self.output_cycles(bursts, np.concatenate(positions))
        model = self.gemm_model(x, n, k)
        whole = dot_products(d.mode, x, w)
        if d.threshold:
            whole = threshold_compare(whole, t_cols, f_cols).astype(np.int64)

        def finish(recorded):
            got = recorded["result"]
            y = np.zeros((m, n), np.int64)
            for i, (n0, n1) in enumerate(tiles):
                block = np.asarray(got.values[i * m:(i + 1) * m]).reshape(-1, d.n)
                if block.shape[0] == m:
                    y[:, n0:n1] += block[:, :n1 - n0]
            sim_cycles = int(got.cycles[-1]) + 1 if got.cycles.size else 0
            return {"gemm": [m, n, k], "gemm_matches": bool(np.array_equal(y, whole)),
                    "gemm_cycles_sim": sim_cycles, "gemm_cycles_model": model.cycles,
                    "gemm_utilization": model.utilization}

        return Chunk(bursts, {"result": Expectation(values, cycles)}, label="gemm", finish=finish)


@bench_for.register
def _(design: AdderTreeDesign):
    return AdderTreeBench(design)
