"""Stimulus and reference for threshold-logic PE arrays (``arch = "threshold"``).

Each chunk is a random binary layer run on the array: the scheduler's program for the
layer's fan-in is instantiated for every output neuron (weights as input polarities,
thresholds as neuron thresholds) and streamed step by step with the input bits of ``pes *
vectors`` input rows per run. The expectation is the golden binary layer
(:func:`shiftadd.models.threshold.binary_layer_reference`, built on the foundation's
``xnor_matches`` and ``threshold_compare``); the NumPy interpreter of the same step stream
(:func:`shiftadd.models.threshold.execute`) must agree with it before the chunk is sent.
Every result's cycle is predicted from the program: the run's start plus the emitting step
plus the latency.

The hardware is independent of the fan-in (only the program changes), so one simulation
checks several: the design's ``k``, an odd one and one that is not a power of two, and tiny
ones (1, 2, 3). The first chunk uses thresholds at and beyond the ends (``T < 0``, ``T = 0``,
``T = K``, ``T > K``) and all-zero / all-one inputs.

The GEMM mode draws its operands through :meth:`ThresholdBench.random_act` and
:meth:`ThresholdBench.random_weights`, so :func:`shiftadd.sim.operands.use_operands` can make
it run given bits (``validate --data``); the thresholds are then drawn from the counts of the
given rows, as for random ones.
"""

from __future__ import annotations

import numpy as np

from ..design.threshold import ThresholdDesign
from ..design.threshold_program import schedule
from ..errors import InputError, SimulationMismatch
from ..models.cycles import check_gemm, gemm_cycles
from ..models.threshold.golden import binary_layer_reference, execute, layer_runs
from .plan import Burst, Chunk, Expectation

__all__ = ["ThresholdBench"]


class ThresholdBench:
    """Random and edge-case binary layers for a threshold array."""

    def __init__(self, design: ThresholdDesign):
        self.design = design

    def fan_ins(self) -> list[int]:
        """Fan-ins the bench cycles through: ``k``, then odd and non-power-of-two ones below
        it and tiny ones, each kept only if its program fits the local memory."""
        k = self.design.k
        candidates = [k, k - 1 if k % 2 == 0 else k - 2, (3 * k) // 4 + 1, k // 2 + 3, 3, 1, 2]
        out = []
        for c in candidates:
            if c >= 1 and c not in out:
                try:
                    schedule(self.design, c)
                except InputError:
                    continue
                out.append(c)
        return out

    def random_act(self, rng: np.random.Generator, count: int, cols: int | None = None):
        """Input bits ``(count, cols)`` (1 = +1) of a density drawn from 0.2 to 0.8.

        Parameters
        ----------
        rng : numpy.random.Generator
        count : int
            Input rows.
        cols : int, optional
            Fan-in; default the design's ``k``.

        Returns
        -------
        numpy.ndarray of int8
        """
        cols = self.design.k if cols is None else int(cols)
        return (rng.random((count, cols)) < rng.uniform(0.2, 0.8)).astype(np.int8)

    def random_weights(self, rng: np.random.Generator, count: int, cols: int | None = None):
        """Uniformly random weight bits ``(count, cols)`` (1 = +1).

        Parameters
        ----------
        rng : numpy.random.Generator
        count : int
            Output neurons.
        cols : int, optional
            Fan-in; default the design's ``k``.

        Returns
        -------
        numpy.ndarray of int8
        """
        cols = self.design.k if cols is None else int(cols)
        return rng.integers(0, 2, (count, cols), dtype=np.int8)

    def random_layer(
        self, rng: np.random.Generator, rows: int, outputs: int, k: int, edge: bool = False
    ):
        """Inputs ``(rows, k)``, weights ``(outputs, k)``, thresholds and flips."""
        x = self.random_act(rng, rows, k)
        w = self.random_weights(rng, outputs, k)
        # use_operands shadows the two draws on this instance: given operands are used as
        # they are (no rows moved near a weight row).
        given = "random_act" in vars(self)
        # A quarter of the rows close to a weight row (or its complement), so counts reach
        # the ends of [0, K] and thresholds there matter.
        near = rng.random(rows) < 0.25
        if near.any() and not given:
            pick = w[rng.integers(0, outputs, int(near.sum()))]
            noise = rng.random(pick.shape) < 0.05
            pick = np.where(rng.random((pick.shape[0], 1)) < 0.5, pick, 1 - pick)
            x[near] = pick ^ noise
        if edge:
            x[: min(rows, 2)] = [[0], [1]][: min(rows, 2)]
        # Thresholds near the counts that occur, plus the extremes.
        counts = (x[:, None, :] == w[None, :, :]).sum(-1)
        t = counts[rng.integers(0, rows, outputs), np.arange(outputs)] + rng.integers(
            -1, 2, outputs
        )
        extremes = np.array([-1, k + 1, 0, k, -5, k + 7], np.int64)
        if edge:
            t[: min(outputs, len(extremes))] = extremes[: min(outputs, len(extremes))]
        else:
            wild = rng.random(outputs) < 0.15
            t[wild] = rng.choice(extremes, int(wild.sum()))
        flips = rng.random(outputs) < 0.5
        return x, w, t.astype(np.int64), flips

    def _chunk(
        self,
        rng,
        runs_wanted: int,
        k: int,
        edge: bool,
        label: str,
        model_cycles: bool,
        max_runs: int | None = None,
    ) -> Chunk:
        d = self.design
        per_group = d.pes * d.vectors
        outputs = int(min(max(1, runs_wanted // 2), 8))
        groups = max(1, -(-runs_wanted // outputs))
        if max_runs is not None:  # rounding up to whole groups must not overflow the chunk
            outputs = max(1, min(outputs, max_runs))
            groups = max(1, min(groups, max_runs // outputs))
        rows = groups * per_group
        if edge:
            rows -= per_group // 2 if per_group > d.pool else 0  # a partial last group
            rows -= rows % d.pool
            rows = max(rows, d.pool)
        x, w, t, f = self.random_layer(rng, rows, outputs, k, edge=edge)
        lr = layer_runs(d, x, w, t, f)
        # The interpreter of the step stream must agree with the golden layer.
        model = execute(d, lr.fields, lr.data)
        if not np.array_equal(model, lr.expected):
            raise SimulationMismatch(
                f"the program for K={k} disagrees with the golden layer in the NumPy interpreter"
            )
        prog = lr.program
        steps = lr.runs * prog.steps
        starts = np.arange(lr.runs) * prog.steps
        # The model's cycles size the harness budget even when they are not compared.
        predicted = (starts[:, None] + prog.emit_steps[None, :] + d.latency).reshape(-1)
        return Chunk(
            [Burst("step", lr.payload(), steps)],
            {
                "result": Expectation(
                    lr.expected.reshape(-1, d.pes), predicted if model_cycles else None
                )
            },
            label=label,
            cycles=int(predicted[-1]) + 1,
        )

    def chunks(
        self,
        rng: np.random.Generator,
        vectors: int,
        max_entries: int = 65536,
        model_cycles: bool = True,
    ):
        """Yield chunks totalling ``vectors`` result transfers (``pes`` outputs each).

        Parameters
        ----------
        rng : numpy.random.Generator
        vectors : int
            Result transfers to check.
        max_entries : int
            Most steps per chunk (the harness memory depth).
        model_cycles : bool
            Attach the predicted cycle of every result (valid only at full rate).
        """
        d = self.design
        ks = self.fan_ins()
        remaining, index = vectors, 0
        while remaining > 0:
            k = ks[index % len(ks)]
            prog = schedule(d, k)
            per_run = prog.outputs
            fit = max(1, max_entries // prog.steps)
            runs = max(1, min(fit, -(-remaining // per_run)))
            # Small first chunks for every fan-in, so a short run still covers them all.
            if index < len(ks):
                runs = max(1, min(runs, -(-max(1, remaining // len(ks)) // per_run)))
            chunk = self._chunk(
                rng,
                runs,
                k,
                edge=index == 0,
                label=f"chunk{index} K={k}",
                model_cycles=model_cycles,
                max_runs=fit,
            )
            if chunk.entries > max_entries:
                raise ValueError(
                    f"max_entries={max_entries} is shorter than one run ({prog.steps} steps)"
                )
            yield chunk
            remaining -= next(iter(chunk.expected.values())).count
            index += 1

    def gemm(self, rng: np.random.Generator, m: int, n: int, k: int) -> Chunk:
        """One chunk running the binary layer ``Y[M, N] = [XNOR-popcount(X, W) >= T]``
        (pooled when the design pools): checks every output and compares the simulated
        cycle count with :func:`shiftadd.models.cycles.gemm_cycles`."""

        d = self.design
        m, n, k = check_gemm(m, n, k)
        if m % d.pool:
            raise InputError(
                f"{m} rows are not whole pooling windows of {d.pool}",
                field="gemm.M",
                allowed=f"a multiple of {d.pool}",
            )
        x, w, t, f = self.random_layer(rng, m, n, k)
        lr = layer_runs(d, x, w, t, f)
        prog = lr.program
        starts = np.arange(lr.runs) * prog.steps
        cycles = (starts[:, None] + prog.emit_steps[None, :] + d.latency).reshape(-1)
        model = gemm_cycles(d, m, n, k)

        whole = binary_layer_reference(x, w, t, f, d.pool)
        P, E = d.pes, prog.outputs

        def finish(recorded):
            got = recorded["result"]
            values = np.asarray(got.values).reshape(-1, P)
            y = np.zeros((lr.runs, E, P), np.int64)
            usable = min(values.shape[0], lr.runs * E)
            y.reshape(-1, P)[:usable] = values[:usable]
            # Reassemble Y[row, neuron] from (run, emit, PE).
            rows = (lr.group[:, None, None] * P + np.arange(P)[None, None, :]) * E + np.arange(E)[
                None, :, None
            ]
            full = np.zeros((-(-m // (P * d.vectors)) * P * E, n), np.int64)
            full[rows, lr.neuron[:, None, None]] = y
            sim_cycles = int(got.cycles[-1]) + 1 if got.cycles.size else 0
            return {
                "gemm": [m, n, k],
                "gemm_matches": bool(np.array_equal(full[: m // d.pool], whole)),
                "gemm_cycles_sim": sim_cycles,
                "gemm_cycles_model": model.cycles,
                "gemm_utilization": model.utilization,
            }

        return Chunk(
            [Burst("step", lr.payload(), lr.runs * prog.steps)],
            {"result": Expectation(lr.expected.reshape(-1, P), cycles)},
            label="gemm",
            finish=finish,
            cycles=max(model.cycles, int(cycles[-1]) + 1),
        )
