"""Stimulus and reference for the shift-add engine (``arch = "shiftadd"``).

Two kinds of traffic, both checked bit for bit against the LUT-GEMM golden model
(:mod:`shiftadd.models.lutgemm`) and cycle for cycle against the analytic model:

* :meth:`ShiftAddBench.chunks`: random traffic. Table loads into random slots are mixed
  between weight transfers (often into the slot the next transfer reads, so every write must
  take effect for the transfers after it and only for those), accumulations of random length
  read random slots with random keys and scale terms. The first chunk starts with edge cases:
  extreme activations, all-zero and all-one keys, the largest shifts with all-positive and
  all-negative signs over the longest accumulation (the ends of the accumulator range).
* :meth:`ShiftAddBench.gemm` / :meth:`ShiftAddBench.layer_chunk`: a whole layer run with the
  GEMM schedule of :func:`shiftadd.models.cycles.gemm_cycles`, on BCQ-quantized slices of a
  synthetic Llama-2-7B-shaped matrix (barrel shifters) or random planes (constant scales).
  ``finish`` adds the K-tiles up and compares the product with ``lut_gemm`` over the whole
  layer and with the dense integer product of the dequantized weights. The GEMM draws its
  operands through :meth:`ShiftAddBench.random_act` and :meth:`ShiftAddBench.random_weights`
  (packed BCQ codes, :mod:`shiftadd.models.shiftadd.codes`), so it runs given operands too
  (:func:`shiftadd.sim.operands.use_operands`, ``shiftadd validate --data``).
"""

from __future__ import annotations

import numpy as np

from ..design.shiftadd import ShiftAddDesign
from ..models.cycles import check_gemm, gemm_cycles
from ..models.lutgemm import dense_reference, dequantize_int, lut_gemm
from ..models.shiftadd.codes import pack_weight_codes, unpack_weight_codes
from ..models.shiftadd.cycles import stream_output_cycles
from ..models.shiftadd.golden import accumulate, constant_scales, engine_scales, transfer_sums
from ..workloads import load_model_config, weight_manifest
from ..workloads.bcq import bcq_quantize
from ..workloads.synthetic import iter_synthetic_rows
from .benches import biased_operands
from .plan import Burst, Chunk, Expectation

__all__ = ["ShiftAddBench", "SOURCE_MODEL", "SOURCE_MATRIX"]

# Quantized tiles are slices of a synthetic matrix with the shape of this model's layer.
SOURCE_MODEL = "llama-2-7b"
SOURCE_MATRIX = "gate_proj"
_RELOAD_RATE = 0.08  # table loads inserted between random weight transfers
_MAX_RANDOM_ACC = 16  # longest random accumulation (the edge cases use acc_groups, <= 64)


class ShiftAddBench:
    """Random, edge-case and layer traffic for a :class:`ShiftAddDesign`."""

    def __init__(self, design: ShiftAddDesign):
        self.design = design
        # the BCQ result and float slice behind the last random_weights draw (barrel)
        self._drawn: tuple | None = None

    # -- operands ------------------------------------------------------------------------
    def random_act(
        self, rng: np.random.Generator, count: int, cols: int | None = None
    ) -> np.ndarray:
        """Activations, a quarter of the rows biased towards one end of the range."""
        lo, hi = self.design.act_range
        return biased_operands(
            rng, lo, hi, count, self.design.mu if cols is None else cols, dtype=np.int64
        )

    def edge_act(self) -> np.ndarray:
        """All lowest, all highest, zeros, alternating ends, all -1."""
        lo, hi = self.design.act_range
        mu = self.design.mu
        alternating = np.where(np.arange(mu) % 2 == 0, lo, hi)
        return np.array(
            [
                np.full(mu, lo),
                np.full(mu, hi),
                np.zeros(mu, np.int64),
                alternating,
                alternating[::-1].copy(),
                np.full(mu, -1),
            ],
            np.int64,
        )

    def random_weights(
        self, rng: np.random.Generator, count: int, cols: int | None = None
    ) -> np.ndarray:
        """Packed weight codes ``(count, cols)`` of a random layer
        (:mod:`shiftadd.models.shiftadd.codes`: plane bits and scale fields per weight):
        with barrel shifters a BCQ-quantized slice of a synthetic ``SOURCE_MODEL`` matrix
        (kept for :meth:`gemm`'s float comparison), with constant scales random planes.
        Given operands (:func:`shiftadd.sim.operands.use_operands`) replace this method."""
        d = self.design
        cols = d.mu if cols is None else int(cols)
        if d.shifter == "constant":
            planes, shifts, signs = self.random_layer(rng, count, cols)
            return pack_weight_codes(d, planes, shifts, signs)
        result, w_float = self.quantized_layer(rng, count, cols)
        rows, kcols = result.planes.shape[1:]
        shifts, signs = engine_scales(d, result.shifts, result.signs, rows, kcols)
        self._drawn = (result, w_float)
        return pack_weight_codes(d, result.planes[:, :count, :cols], shifts, signs)

    def random_keys(self, rng: np.random.Generator, count: int) -> np.ndarray:
        d = self.design
        return rng.integers(0, d.entries, size=(count, d.columns, d.q), dtype=np.int64)

    def random_scales(self, rng: np.random.Generator, count: int):
        """Shift amounts and signs ``(count, scale_sets, q, terms)`` (barrel designs)."""
        d = self.design
        shape = (count, d.scale_sets, d.q, d.terms)
        shifts = rng.integers(0, d.max_shift + 1, size=shape, dtype=np.int64)
        signs = rng.choice(np.array([-1, 0, 1]), size=shape, p=[0.4, 0.2, 0.4])
        return shifts, signs

    # -- payloads ------------------------------------------------------------------------
    def _act_values(self, slots: np.ndarray, x: np.ndarray) -> dict:
        values = {"values": x}
        if self.design.lut_slots > 1:
            values["slot"] = slots
        return values

    def _weight_values(self, slots, last, keys, shifts, signs) -> dict:
        d = self.design
        n = keys.shape[0]
        values = {"last": last.astype(np.int64), "keys": keys.reshape(n, d.columns * d.q)}
        if d.lut_slots > 1:
            values["slot"] = slots
        if d.shifter == "barrel":
            values["shifts"] = shifts.reshape(n, -1)
            values["signs"] = signs.reshape(n, -1)
        return values

    @staticmethod
    def _take(values: dict, sel) -> dict:
        return {k: v[sel] for k, v in values.items()}

    def _bursts(self, act_pos, act_values, w_pos, w_values) -> list[Burst]:
        """Bursts in position order from the positions of every act and weight transfer."""
        kinds = np.zeros(len(act_pos) + len(w_pos), np.int8)
        kinds[w_pos] = 1
        change = np.flatnonzero(np.diff(kinds)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [kinds.size]])
        # index of each transfer within its own stream
        rank = np.empty(kinds.size, np.int64)
        rank[act_pos] = np.arange(len(act_pos))
        rank[w_pos] = np.arange(len(w_pos))
        bursts = []
        for s, e in zip(starts, ends):
            sel = slice(rank[s], rank[s] + (e - s))
            if kinds[s]:
                bursts.append(Burst("weights", self._take(w_values, sel), int(e - s)))
            else:
                bursts.append(Burst("act", self._take(act_values, sel), int(e - s)))
        return bursts

    # -- random traffic ------------------------------------------------------------------
    def _edge_results(self):
        """Weight transfers of the first chunk's edge results (read slot 0, all lowest
        activations) and their accumulation lengths."""
        d = self.design
        length = min(d.acc_groups, 64)
        full = d.entries - 1
        alt = int("01" * 8, 2) & full
        patterns = [  # (key, shift, sign)
            (0, d.max_shift, 1),
            (0, d.max_shift, -1),
            (full, d.max_shift, 1),
            (full, d.max_shift, -1),
            (alt, 0, 1),
            (0, 0, 0),
            (full, 0, 1),
        ]
        keys, shifts, signs, lengths = [], [], [], []
        for key, shift, sign in patterns:
            keys.append(np.full((length, d.columns, d.q), key, np.int64))
            shifts.append(np.full((length, d.scale_sets, d.q, d.terms), shift, np.int64))
            signs.append(np.full((length, d.scale_sets, d.q, d.terms), sign, np.int64))
            lengths.append(length)
        return (
            np.concatenate(keys),
            np.concatenate(shifts),
            np.concatenate(signs),
            np.array(lengths, np.int64),
        )

    def _random_plan(self, rng, results: int, budget: int, first: bool):
        """Weight transfers of up to ``results`` accumulations fitting in ``budget`` entries
        (reload entries included)."""
        d = self.design
        cap = min(d.acc_groups, _MAX_RANDOM_ACC)
        count = max(1, min(results, budget))
        lengths = rng.integers(1, cap + 1, size=count)
        lengths[rng.random(count) < 0.3] = cap
        total = int(lengths.sum())
        keys = self.random_keys(rng, total)
        shifts, signs = self.random_scales(rng, total)
        reload = rng.random(total) < _RELOAD_RATE
        if first:
            ek, es, eg, el = self._edge_results()
            keys = np.concatenate([ek, keys])
            shifts = np.concatenate([es, shifts])
            signs = np.concatenate([eg, signs])
            reload = np.concatenate([np.zeros(ek.shape[0], bool), reload])
            lengths = np.concatenate([el, lengths])
        # keep whole results while the entries (transfers plus reloads) fit the budget
        ends = np.cumsum(lengths)
        entries = np.cumsum(1 + reload.astype(np.int64))[ends - 1]
        keep = max(1, int(np.searchsorted(entries, budget, side="right")))
        lengths = lengths[:keep]
        w = int(lengths.sum())
        return keys[:w], shifts[:w], signs[:w], reload[:w], lengths

    def chunks(
        self,
        rng: np.random.Generator,
        vectors: int,
        max_entries: int = 65536,
        model_cycles: bool = True,
    ):
        """Yield chunks totalling ``vectors`` results (accumulations).

        Parameters
        ----------
        rng : numpy.random.Generator
        vectors : int
            Results to check.
        max_entries : int
            Most transfers per chunk (the harness memory depth).
        model_cycles : bool
            Attach the analytic model's cycle of every result (valid only when the chunk is
            played at full rate without backpressure).
        """
        d = self.design
        g = d.lut_slots
        remaining, first, index = vectors, True, 0
        edge = self.edge_act()
        while remaining > 0:
            budget = max_entries - g
            if budget < 2 * 64:
                raise ValueError(f"max_entries={max_entries} is too small for this design")
            keys, shifts, signs, reload, lengths = self._random_plan(rng, remaining, budget, first)
            if first and lengths.size > remaining:
                lengths = lengths[:remaining]
                w = int(lengths.sum())
                keys, shifts, signs, reload = keys[:w], shifts[:w], signs[:w], reload[:w]
            w = keys.shape[0]
            slots = rng.integers(0, g, size=w)
            if first:  # edge results read slot 0, loaded with the lowest activations
                slots[: min(w, int(self._edge_results()[3].sum()))] = 0
            last = np.zeros(w, bool)
            last[np.cumsum(lengths) - 1] = True

            # positions: initial loads, then each weight transfer preceded by its reload
            w_pos = g + np.arange(w) + np.cumsum(reload)
            reload_pos = w_pos[reload] - 1
            n_reload = reload_pos.size
            reload_slot = np.where(
                rng.random(n_reload) < 0.5, slots[reload], rng.integers(0, g, size=n_reload)
            )
            init_x = edge[np.arange(g) % len(edge)] if first else self.random_act(rng, g)
            load_x = np.concatenate([init_x, self.random_act(rng, n_reload)])
            load_pos = np.concatenate([np.arange(g), reload_pos])
            load_slot = np.concatenate([np.arange(g), reload_slot])
            # the table each weight transfer reads: the latest load of its slot before it
            table_of = np.empty(w, np.int64)
            for s in range(g):
                loads = np.flatnonzero(load_slot == s)
                reads = np.flatnonzero(slots == s)
                at = np.searchsorted(load_pos[loads], w_pos[reads], side="left") - 1
                table_of[reads] = loads[at]

            sums = transfer_sums(d, load_x, table_of, keys, shifts, signs)
            values = accumulate(sums, lengths)
            out_pos = w_pos[last]
            # The model's cycles size the harness budget even when they are not compared.
            predicted = stream_output_cycles(d, out_pos)
            cycles = predicted if model_cycles else None
            bursts = self._bursts(
                load_pos,
                self._act_values(load_slot, load_x),
                w_pos,
                self._weight_values(slots, last, keys, shifts, signs),
            )
            yield Chunk(
                bursts,
                {"result": Expectation(values, cycles)},
                label=f"chunk{index}",
                cycles=int(predicted[-1]) + 1,
            )
            remaining -= lengths.size
            first = False
            index += 1

    # -- layers --------------------------------------------------------------------------
    def random_layer(self, rng: np.random.Generator, n: int, k: int):
        """Random bit planes ``(q, N, K)`` and engine-granularity scales for a layer."""
        d = self.design
        groups, rows = -(-k // d.mu), -(-n // d.scale_rows)
        planes = rng.random((d.q, n, k)) < 0.5
        if d.shifter == "constant":
            shifts, signs = constant_scales(d, rows, groups)
        else:
            sh, sg = self.random_scales(rng, rows * groups)
            shifts = sh.reshape(rows, groups, d.q, d.terms).transpose(2, 0, 1, 3)
            signs = sg.reshape(rows, groups, d.q, d.terms).transpose(2, 0, 1, 3)
        return planes, shifts, signs

    def quantized_layer(self, rng: np.random.Generator, n: int, k: int, *, iters: int = 8):
        """A BCQ-quantized slice of a synthetic matrix shaped like ``SOURCE_MODEL``'s
        ``SOURCE_MATRIX`` (barrel designs).

        Returns the :class:`~shiftadd.workloads.bcq.BCQResult` of an ``(N', K')`` slice
        (``N'`` rounded up to whole column tiles, ``K'`` to whole groups) and the float slice.
        """

        d = self.design
        if d.shifter != "barrel":
            raise ValueError("quantized layers need runtime scales (shifter = 'barrel')")
        rows = -(-n // d.columns) * d.columns
        cols = -(-k // d.mu) * d.mu
        spec = next(
            s for s in weight_manifest(load_model_config(SOURCE_MODEL)) if s.name == SOURCE_MATRIX
        )
        src_rows, src_cols = spec.shape
        if rows > src_rows or cols > src_cols:
            src_rows, src_cols = max(rows, src_rows), max(cols, src_cols)
        blocks, have = [], 0
        r0 = 0
        for _start, block in iter_synthetic_rows((src_rows, src_cols), seed=0):
            blocks.append(block)
            have += block.shape[0]
            if have >= rows:
                break
        src = np.concatenate(blocks)
        r0 = int(rng.integers(0, src.shape[0] - rows + 1))
        c0 = int(rng.integers(0, src_cols - cols + 1))
        w = src[r0 : r0 + rows, c0 : c0 + cols]
        limit = max(d.scale_rows, 128 // d.mu)
        group = max(
            g
            for g in range(d.scale_rows, rows + 1, d.scale_rows)
            if rows % g == 0 and (g <= limit or g == d.scale_rows)
        )
        result = bcq_quantize(
            w,
            d.q,
            layout="kernel",
            mu=d.mu,
            group_rows=group,
            scale_form="pow2" if d.terms == 1 else "apot",
            apot_terms=max(1, d.terms),
            shift_bits=d.shift_bits,
            iters=iters,
            block_size=d.mu * max(1, 128 // d.mu),
        )
        return result, w

    def layer_chunk(
        self,
        x,
        planes,
        shifts,
        signs,
        *,
        label: str = "gemm",
        reference=None,
        extra: dict | None = None,
    ) -> Chunk:
        """One chunk computing ``Y = X @ W_int.T`` with the GEMM schedule.

        Parameters
        ----------
        x : ndarray of int, shape (M, K)
        planes : ndarray of bool, shape (q, N, K)
        shifts, signs : ndarray, shape (q, ceil(N / scale_rows), ceil(K / mu), terms)
            Scales at the engine's granularity (:func:`engine_scales`).
        reference : ndarray of int64, shape (M, N), optional
            An independent expectation of the whole product (the dense integer product of
            the dequantized weights); ``finish`` compares with it too.
        extra : dict, optional
            Figures added to the report.
        """
        d = self.design
        x = np.asarray(x, np.int64)
        m, k = x.shape
        q, n, _ = planes.shape
        groups, n_tiles = -(-k // d.mu), -(-n // d.columns)
        g = d.lut_slots
        rows, kp = n_tiles * d.columns, groups * d.mu
        xp = np.zeros((m, kp), np.int64)
        xp[:, :k] = x
        pp = np.zeros((q, rows, kp), bool)  # padding: zero activations, any planes
        pp[:, :n, :k] = planes
        sets = rows // d.scale_rows
        shp = np.zeros((q, sets, groups, d.terms), np.int64)
        sgp = np.zeros_like(shp)
        if d.shifter == "constant":
            # The hardware applies its constant scales to every row, padding rows too: the
            # padding lanes' expected sums use them (zero scales there expected 0 where the
            # RTL, rightly, sums the padding planes' lookups).
            shp[...] = np.asarray(d.const_shifts, np.int64)[:, None, None, :]
            sgp[...] = np.asarray(d.const_signs, np.int64)[:, None, None, :]
        shp[:, : shifts.shape[1], : shifts.shape[2]] = shifts
        sgp[:, : signs.shape[1], : signs.shape[2]] = signs
        # keys (q, rows, groups) -> per transfer (groups, n_tiles, columns, q)
        bits = pp.reshape(q, rows, groups, d.mu)
        keys = (bits.astype(np.int64) << np.arange(d.mu)).sum(axis=-1)
        keys = keys.transpose(2, 1, 0).reshape(groups, n_tiles, d.columns, q)
        tshift = shp.transpose(2, 1, 0, 3).reshape(groups, n_tiles, d.scale_sets, q, d.terms)
        tsign = sgp.transpose(2, 1, 0, 3).reshape(groups, n_tiles, d.scale_sets, q, d.terms)

        act_parts, w_parts, outputs = [], [], []
        position = 0
        act_pos, w_pos, out_pos = [], [], []
        for g0 in range(0, groups, g):
            g1 = min(groups, g0 + g)
            span = g1 - g0
            # expected sums of this K-tile for every vector and column
            y = lut_gemm(
                xp[:, g0 * d.mu : g1 * d.mu],
                pp[:, :, g0 * d.mu : g1 * d.mu],
                shp[:, :, g0:g1],
                sgp[:, :, g0:g1],
                d.mu,
            )
            outputs.append(y.reshape(m, n_tiles, d.columns).reshape(m * n_tiles, d.columns))
            block = span * (1 + n_tiles)
            base = position + np.arange(m)[:, None] * block  # (m, 1)
            a_pos = base + np.arange(span)[None, :]  # (m, span)
            wp = base[:, :, None] + span + np.arange(n_tiles * span).reshape(1, n_tiles, span)
            act_pos.append(a_pos.ravel())
            w_pos.append(wp.ravel())
            out_pos.append(wp[:, :, -1].ravel())
            act_parts.append(
                {
                    "x": xp[:, g0 * d.mu : g1 * d.mu].reshape(m * span, d.mu),
                    "slot": np.tile(np.arange(span), m),
                }
            )
            sel = np.broadcast_to(np.arange(g0, g1)[None, None, :], (m, n_tiles, span))
            tiles = np.broadcast_to(np.arange(n_tiles)[None, :, None], (m, n_tiles, span))
            last = np.zeros((m, n_tiles, span), bool)
            last[..., -1] = True
            w_parts.append(
                {
                    "group": sel.ravel(),
                    "tile": tiles.ravel(),
                    "slot": (sel - g0).ravel(),
                    "last": last.ravel(),
                }
            )
            position += m * block
        a = {key: np.concatenate([p[key] for p in act_parts]) for key in act_parts[0]}
        w = {key: np.concatenate([p[key] for p in w_parts]) for key in w_parts[0]}
        gi, ti = w["group"], w["tile"]
        bursts = self._bursts(
            np.concatenate(act_pos),
            self._act_values(a["slot"], a["x"]),
            np.concatenate(w_pos),
            self._weight_values(w["slot"], w["last"], keys[gi, ti], tshift[gi, ti], tsign[gi, ti]),
        )
        values = np.concatenate(outputs)
        cycles = stream_output_cycles(d, np.concatenate(out_pos))
        model = gemm_cycles(d, m, n, k)
        whole = lut_gemm(xp, pp, shp, sgp, d.mu)[:, :n]
        dense = None if reference is None else np.asarray(reference, np.int64)
        tiles_k = -(-groups // g)

        def finish(recorded):
            got = np.asarray(recorded["result"].values)
            y = np.zeros((m, rows), np.int64)
            if got.shape[0] == values.shape[0]:
                y = got.reshape(tiles_k, m, rows).sum(axis=0)
            y = y[:, :n]
            matches = bool(np.array_equal(y, whole)) and (
                dense is None or bool(np.array_equal(y, dense))
            )
            cycles_sim = (
                int(recorded["result"].cycles[-1]) + 1 if recorded["result"].cycles.size else 0
            )
            return {
                "gemm": [m, n, k],
                "gemm_matches": matches,
                "gemm_cycles_sim": cycles_sim,
                "gemm_cycles_model": model.cycles,
                "gemm_utilization": model.utilization,
                **(extra or {}),
            }

        return Chunk(
            bursts,
            {"result": Expectation(values, cycles)},
            label=label,
            finish=finish,
            cycles=max(model.cycles, int(cycles[-1]) + 1),
        )

    def gemm(self, rng: np.random.Generator, m: int, n: int, k: int) -> Chunk:
        """``Y[M, N] = X[M, K] @ W[N, K].T`` on the engine: ``X`` from :meth:`random_act`,
        ``W`` the packed codes of :meth:`random_weights` (with barrel shifters a
        BCQ-quantized slice of a synthetic ``SOURCE_MODEL`` matrix, with constant scales
        random planes), or both given (:func:`shiftadd.sim.operands.use_operands`)."""

        d = self.design
        m, n, k = check_gemm(m, n, k)
        x = self.random_act(rng, m, cols=k)
        self._drawn = None
        planes, shifts, signs = unpack_weight_codes(d, self.random_weights(rng, n, k))
        drawn, self._drawn = self._drawn, None
        if d.shifter == "constant":
            dense = dense_reference(x, dequantize_int(planes, shifts[:, :1, :1], signs[:, :1, :1]))
            return self.layer_chunk(x, planes, shifts, signs, reference=dense)
        groups = shifts.shape[2]
        if drawn is None:
            # Given codes: the dense reference of the padded layer (zero activations and
            # -1 planes in the padding), cropped to the layer's rows.
            sets = shifts.shape[1]
            xp = np.zeros((m, groups * d.mu), np.int64)
            xp[:, :k] = x
            pp = np.zeros((d.q, sets * d.scale_rows, groups * d.mu), bool)
            pp[:, :n, :k] = planes
            dense = dense_reference(xp, dequantize_int(pp, shifts, signs))[:, :n]
            extra = {"gemm_source": f"given operands, bcq{d.q}"}
            return self.layer_chunk(x, planes, shifts, signs, reference=dense, extra=extra)
        result, w_float = drawn
        cols = result.planes.shape[2]
        xp = np.zeros((m, cols), np.int64)
        xp[:, :k] = x
        # the float layer in the same fixed point: how far the exact integer result is from it
        y_float = xp.astype(np.float64) @ (w_float.astype(np.float64).T / 2.0**result.exp_base)
        y_int = lut_gemm(xp, result.planes, result.shifts, result.signs, d.mu)
        err = float(np.linalg.norm(y_int - y_float) / max(np.linalg.norm(y_float), 1e-30))
        extra = {
            "gemm_source": f"{SOURCE_MODEL} {SOURCE_MATRIX} (synthetic), bcq{d.q}",
            "gemm_rel_error_vs_float": err,
            "gemm_weight_mse": float(result.errors.get("weight_mse", 0.0)),
        }
        dense = dense_reference(xp, result.dequantized_int())[:, :n]
        return self.layer_chunk(x, planes, shifts, signs, reference=dense, extra=extra)
