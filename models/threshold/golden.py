"""The threshold array's golden models: the binary layer, and a NumPy interpreter of the
instruction stream with exactly the RTL's semantics.

The same program (:mod:`shiftadd.design.threshold_program`) runs on every PE and, with
different weights and thresholds, for every output neuron: :func:`instantiate` fills in the
input polarities and thresholds. :func:`execute` interprets the resulting instruction stream
on a model of the array's state (neuron registers, local memory, data registers); the bench
checks it against :func:`binary_layer_reference` before the stream is sent to the RTL.
"""

from __future__ import annotations

import dataclasses
from typing import cast

import numpy as np

from ...design.arith import xnor_matches
from ...design.threshold import ThresholdDesign
from ...design.threshold_program import Program, schedule
from ...errors import InputError
from ..golden import check_operand, threshold_compare

__all__ = ["instantiate", "binary_layer_reference", "LayerRuns", "layer_runs", "execute"]


def _effective_thresholds(program: Program, thresholds, flips):
    """``(T', constant)`` per output neuron: the compare chain tests ``count' >= T'`` on
    ``B``-bit counts (complemented for ``<= T``); ``constant`` is -1 when the chain decides,
    else the output every input gives (0 or 1)."""
    K, B = program.k, program.count_bits
    t = np.asarray(thresholds, dtype=np.int64)
    f = np.asarray(flips, dtype=bool)
    full = (1 << B) - 1
    tp = np.where(f, full - t, t)
    const = np.where(
        f, np.where(t < 0, 0, np.where(t >= K, 1, -1)), np.where(t <= 0, 1, np.where(t > K, 0, -1))
    )
    return np.clip(tp, 0, full), const


def instantiate(program: Program, design: ThresholdDesign, weights, thresholds, flips) -> dict:
    """Instruction fields of ``program`` for output neurons with these weights (bits, 1 =
    +1), thresholds and compare directions.

    Parameters
    ----------
    program : Program
    design : ThresholdDesign
        Fixes the source encoding and the neuron's weight sum.
    weights : array_like of int, shape (outputs, K)
    thresholds : array_like of int, shape (outputs,)
    flips : array_like of bool, shape (outputs,)
        Compare ``<= T`` instead of ``>= T``.

    Returns
    -------
    dict of ndarray
        The step payload's instruction fields, each with a leading axis of outputs:
        ``load (O, S)``, ``en (O, S, N)``, ``t (O, S, N)``, ``src (O, S, N, F)``,
        ``inv (O, S, N, F)``, ``store``, ``addr (O, S, N)``, ``emit``, ``emit_src``,
        ``emit_inv (O, S)``.
    """
    w = check_operand("weights", weights, 0, 1, (None, program.k)).astype(bool)
    outs = w.shape[0]
    t = check_operand("thresholds", thresholds, -(1 << 40), 1 << 40, (outs,))
    f = check_operand("flips", flips, 0, 1, (outs,)).astype(bool)
    tp, const = _effective_thresholds(program, t, f)
    S = program.steps
    # XNOR with a known weight: invert the activation where the weight bit is 0 (-1).
    dep = program.weight_dep
    xnor = np.zeros((outs,) + dep.shape, bool)
    has = dep >= 0
    xnor[:, has] = ~w[:, dep[has]]
    inv = program.invert[None] ^ xnor ^ (program.flip_dep[None] & f[:, None, None, None])
    # Compare thresholds from the bits of T'.
    bit = np.clip(program.cmp_bit, 0, None)
    tb = lambda i: (tp[:, None, None] >> i[None]) & 1
    cmp_t = (
        np.where(program.cmp_pair[None], 2 * tb(bit + 1) + tb(bit), 2 * tb(bit))
        + program.cmp_g[None]
    )
    last = program.cmp_last[None] & (const[:, None, None] >= 0)
    cmp_t = np.where(last, np.where(const[:, None, None] == 1, 0, design.weight_sum + 1), cmp_t)
    thr = np.where(program.cmp_bit[None] >= 0, cmp_t, program.threshold[None])
    rep = lambda a: np.broadcast_to(a[None], (outs,) + a.shape)
    return {
        "load": rep(program.load),
        "en": rep(program.en),
        "t": thr,
        "src": rep(program.sources(design, program.src_kind, program.src_index)),
        "inv": inv,
        "store": rep(program.store),
        "addr": rep(program.address),
        "emit": rep(program.emit),
        "emit_src": rep(program.emit_sources(design, program.emit_kind, program.emit_index)),
        "emit_inv": rep(np.zeros(S, bool)),
    }


def binary_layer_reference(x, w, thresholds, flips=None, pool: int = 1) -> np.ndarray:
    """``Y[m, n] = OR over the pool window of [popcount(XNOR(x_m, w_n)) >= T_n]`` (``<= T_n``
    where ``flips[n]``), windows of ``pool`` consecutive rows; returns ``(M // pool, N)``
    bits. Built from :func:`shiftadd.design.arith.xnor_matches` and
    :func:`~shiftadd.models.golden.threshold_compare`.

    Parameters
    ----------
    x : array_like of int, shape (M, K)
        Input bits (1 = +1, 0 = -1).
    w : array_like of int, shape (N, K)
        Weight bits (1 = +1, 0 = -1).
    thresholds : array_like of int, shape (N,)
        Threshold ``T_n`` of each output neuron, on the popcount.
    flips : array_like of bool, shape (N,), optional
        Compare ``<= T_n`` instead of ``>= T_n``; default none.
    pool : int
        Rows per max-pooling (OR) window; must divide ``M``.

    Returns
    -------
    numpy.ndarray of int64, shape (M // pool, N)
        The output bits.
    """
    x = check_operand("x", x, 0, 1, (None, None))
    w = check_operand("weights", w, 0, 1, (None, x.shape[1]))
    t = check_operand("thresholds", thresholds, -(1 << 40), 1 << 40, (w.shape[0],))
    f = (
        np.zeros(w.shape[0], bool)
        if flips is None
        else check_operand("flips", flips, 0, 1, (w.shape[0],)).astype(bool)
    )
    if x.shape[0] % pool:
        raise InputError(
            f"{x.shape[0]} rows are not whole pooling windows of {pool}",
            field="x",
            allowed=f"a multiple of {pool} rows",
        )
    y = threshold_compare(xnor_matches(x, w), t, f)
    return cast(np.ndarray, y.reshape(-1, pool, w.shape[0]).any(axis=1).astype(np.int64))


@dataclasses.dataclass
class LayerRuns:
    """A binary layer laid out as program runs on an array.

    Run ``r`` computes output neuron ``neuron[r]`` for input-row group ``group[r]``; PE ``p``
    handles rows ``(group * P + p) * V + v`` (all-zero rows beyond ``M``) and emits output rows
    ``(group * P + p) * V / pool + e``.

    Parameters
    ----------
    program : Program
        The program every run executes.
    neuron : ndarray of int, shape (runs,)
        Output neuron of each run.
    group : ndarray of int, shape (runs,)
        Input-row group of each run.
    fields : dict of ndarray
        Instruction fields per run and step, leading axes ``(runs, S)``.
    data : ndarray, shape (runs, S, P, D)
        Data register bits of every step.
    expected : ndarray, shape (runs, outputs per run, P)
        The golden layer's outputs in emission order (rows beyond M: of the zero rows).
    rows : int
        The layer's input rows ``M``.
    """

    program: Program
    neuron: np.ndarray
    group: np.ndarray
    fields: dict
    data: np.ndarray
    expected: np.ndarray
    rows: int

    @property
    def runs(self) -> int:
        """Number of program runs."""
        return int(self.neuron.shape[0])

    def payload(self) -> dict:
        """Step-stream payload values for :func:`shiftadd.sim.packing.pack`, runs flattened.

        Returns
        -------
        dict of ndarray
            The instruction fields and ``data``, leading axis ``runs * S``.
        """
        flat = {k: np.reshape(v, (-1,) + v.shape[2:]) for k, v in self.fields.items()}
        flat["data"] = self.data.reshape((-1,) + self.data.shape[2:])
        return flat


def layer_runs(
    design: ThresholdDesign, x, w, thresholds, flips=None, *, k: int | None = None
) -> LayerRuns:
    """Every run of the binary layer ``x (M, K)``, ``w (N, K)`` on ``design``, output neuron
    by output neuron, with golden expectations.

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.
    x : array_like of int, shape (M, K)
        Input bits; ``M`` must be a multiple of the design's ``pool``.
    w : array_like of int, shape (N, K)
        Weight bits (1 = +1).
    thresholds : array_like of int, shape (N,)
        Threshold of each output neuron.
    flips : array_like of bool, shape (N,), optional
        Compare ``<= T`` instead of ``>= T``; default none.
    k : int, optional
        Fan-in the program is scheduled for; default ``x``'s columns.

    Returns
    -------
    LayerRuns
        One run per output neuron and group of ``pes * vectors`` input rows (neuron-major),
        with its instruction fields, data and expected outputs.
    """
    x = check_operand("x", x, 0, 1, (None, None))
    K = x.shape[1] if k is None else k
    prog = schedule(design, K)
    w = check_operand("weights", w, 0, 1, (None, K))
    outs = w.shape[0]
    t = np.asarray(thresholds, dtype=np.int64)
    f = np.zeros(outs, bool) if flips is None else np.asarray(flips, dtype=bool)
    P, V, pool = design.pes, design.vectors, design.pool
    M = x.shape[0]
    if M % pool:
        raise InputError(
            f"{M} rows are not whole pooling windows of {pool}",
            field="gemm.M",
            allowed=f"a multiple of {pool}",
        )
    groups = -(-M // (P * V))
    padded = np.zeros((groups * P * V, K), np.int8)
    padded[:M] = x
    # Rows beyond M are zeros; the array computes their outputs like any other's.
    golden = binary_layer_reference(padded, w, t, f, pool)
    per_output = instantiate(prog, design, w, t, f)
    neuron = np.repeat(np.arange(outs), groups)
    group = np.tile(np.arange(groups), outs)
    fields = {key: val[neuron] for key, val in per_output.items()}
    # Data: step s, PE p, slot d holds input load_input[s, d] = v * K + i of row
    # (g * P + p) * V + v.
    li = prog.load_input
    v_idx, i_idx = np.where(li >= 0, li // K, 0), np.where(li >= 0, li % K, 0)
    rows = (group[:, None, None, None] * P + np.arange(P)[None, None, :, None]) * V + v_idx[
        None, :, None, :
    ]
    data = padded[rows, i_idx[None, :, None, :]]
    data = np.where((li >= 0)[None, :, None, :], data, 0).astype(np.int8)
    # Between loads the data bus holds the last loaded bits (the array ignores them; a
    # controller would not toggle them).
    last_load = np.maximum.accumulate(np.where(prog.load, np.arange(prog.steps), 0))
    data = data[:, last_load]
    E = prog.outputs
    out_rows = (group[:, None, None] * P + np.arange(P)[None, None, :]) * E + np.arange(E)[
        None, :, None
    ]
    expected = golden[out_rows, neuron[:, None, None]]
    return LayerRuns(
        program=prog,
        neuron=neuron,
        group=group,
        fields=fields,
        data=data,
        expected=expected,
        rows=M,
    )


def execute(
    design: ThresholdDesign,
    fields: dict,
    data,
    *,
    rng: np.random.Generator | None = None,
    toggles: dict | None = None,
) -> np.ndarray:
    """Run instruction streams on a model of the array, exactly as the RTL does.

    Parameters
    ----------
    design : ThresholdDesign
    fields : dict of ndarray
        Instruction fields with leading axes ``(runs, S)`` (as from :func:`instantiate`).
    data : ndarray, shape (runs, S, P, D)
    rng : numpy.random.Generator, optional
        Start from random register, memory and data-register contents (a correct program
        never reads a location before writing it); default all zero.
    toggles : dict, optional
        Filled with bit toggle counts summed over runs, PEs and steps: ``"reg"`` (neuron
        registers), ``"mem"`` (local memory), ``"data"`` (data registers), ``"x"`` (neuron
        inputs after the inversion), and ``"steps"`` (runs times steps).

    Returns
    -------
    ndarray, shape (runs, emits, P)
        The emitted bits in order.
    """
    if design.ring:
        return _execute_ring(design, fields, data, rng=rng, toggles=toggles)
    N, L, D, P = design.neurons, design.memory_bits, design.data_bits, design.pes
    data = np.asarray(data, dtype=bool)
    R, S = data.shape[:2]
    weights = np.asarray(design.neuron_weights, dtype=np.int64)
    shape = lambda n: (R, P, n)
    if rng is None:
        nreg, mem, dreg = (np.zeros(shape(n), bool) for n in (N, L, D))
    else:
        nreg, mem, dreg = (rng.random(shape(n)) < 0.5 for n in (N, L, D))
    g = {key: np.asarray(val) for key, val in fields.items()}
    out = []
    rows = np.arange(R)
    count = {"reg": 0, "mem": 0, "data": 0, "x": 0, "steps": R * S}
    x_prev = None
    for s in range(S):
        new_dreg = np.where(g["load"][:, s, None, None], data[:, s], dreg)
        if toggles is not None and s:
            count["data"] += int((new_dreg != dreg).sum())
        dreg = new_dreg
        sources = np.concatenate([np.zeros(shape(1), bool), nreg, mem, dreg], axis=2)
        src = g["src"][:, s].reshape(R, 1, -1)
        x = np.take_along_axis(sources, np.broadcast_to(src, (R, P, src.shape[2])), axis=2)
        x = x.reshape(R, P, N, -1) ^ g["inv"][:, s][:, None]
        if toggles is not None:
            if x_prev is not None:
                count["x"] += int((x != x_prev).sum())
            x_prev = x
            mem_before, nreg_before = mem.copy(), nreg
        y = (x.astype(np.int64) @ weights) >= g["t"][:, s][:, None, :]
        if g["emit"][0, s]:
            value = sources[rows, :, g["emit_src"][:, s]] ^ g["emit_inv"][:, s][:, None]
            out.append(value)
        # Stores copy a neuron's register as it was before this step's evaluations.
        for n in range(N):  # in neuron order: the highest neuron wins a shared address
            r = np.flatnonzero(g["store"][:, s, n])
            if r.size:
                mem[r, :, g["addr"][r, s, n]] = nreg[r, :, n]
        nreg = np.where(g["en"][:, s][:, None, :], y, nreg)
        if toggles is not None:
            count["mem"] += int((mem != mem_before).sum())
            count["reg"] += int((nreg != nreg_before).sum())
    if toggles is not None:
        toggles.update(count)
    return np.stack(out, axis=1).astype(np.int64) if out else np.zeros((R, 0, P), np.int64)


def _execute_ring(
    design: ThresholdDesign,
    fields: dict,
    data,
    *,
    rng: np.random.Generator | None,
    toggles: dict | None,
) -> np.ndarray:
    """:func:`execute` on the ring PE (``pe = "tulip"``): neuron ``n``'s inputs select from
    ``[0, y_n, y_(n-1), R_n, R_(n-1), data]``, a store writes ``y_n`` into ``R_n``, the emit
    selects from ``[0, y, R_0 .. R_(N-1), data]``. ``toggles["mem"]`` counts the registers'."""
    N, L, D, P = design.neurons, design.neuron_register_bits, design.data_bits, design.pes
    data = np.asarray(data, dtype=bool)
    R, S = data.shape[:2]
    weights = np.asarray(design.neuron_weights, dtype=np.int64)
    if rng is None:
        nreg, dreg = np.zeros((R, P, N), bool), np.zeros((R, P, D), bool)
        regs = np.zeros((R, P, N, L), bool)
    else:
        nreg, dreg = rng.random((R, P, N)) < 0.5, rng.random((R, P, D)) < 0.5
        regs = rng.random((R, P, N, L)) < 0.5
    left = (np.arange(N) - 1) % N  # each neuron's ring predecessor
    g = {key: np.asarray(val) for key, val in fields.items()}
    out = []
    rows = np.arange(R)
    count = {"reg": 0, "mem": 0, "data": 0, "x": 0, "steps": R * S}
    x_prev = None
    for s in range(S):
        new_dreg = np.where(g["load"][:, s, None, None], data[:, s], dreg)
        if toggles is not None and s:
            count["data"] += int((new_dreg != dreg).sum())
        dreg = new_dreg
        sources = np.concatenate(
            [
                np.zeros((R, P, N, 1), bool),
                nreg[..., None],
                nreg[:, :, left, None],
                regs,
                regs[:, :, left],
                np.broadcast_to(dreg[:, :, None, :], (R, P, N, D)),
            ],
            axis=3,
        )
        src = np.broadcast_to(g["src"][:, s][:, None], (R, P) + g["src"].shape[2:])
        x = np.take_along_axis(sources, src, axis=3) ^ g["inv"][:, s][:, None]
        if toggles is not None:
            if x_prev is not None:
                count["x"] += int((x != x_prev).sum())
            x_prev = x
            regs_before, nreg_before = regs.copy(), nreg
        y = (x.astype(np.int64) @ weights) >= g["t"][:, s][:, None, :]
        if g["emit"][0, s]:
            flat = np.concatenate(
                [np.zeros((R, P, 1), bool), nreg, regs.reshape(R, P, N * L), dreg], axis=2
            )
            out.append(flat[rows, :, g["emit_src"][:, s]] ^ g["emit_inv"][:, s][:, None])
        # A store copies the neuron's output as it was before this step into its own register.
        store = g["store"][:, s].astype(bool)  # (R, N)
        hit = store[:, :, None] & (g["addr"][:, s][:, :, None] == np.arange(L))  # (R, N, L)
        regs = np.where(hit[:, None], nreg[..., None], regs)
        nreg = np.where(g["en"][:, s][:, None, :], y, nreg)
        if toggles is not None:
            count["mem"] += int((regs != regs_before).sum())
            count["reg"] += int((nreg != nreg_before).sum())
    if toggles is not None:
        toggles.update(count)
    return np.stack(out, axis=1).astype(np.int64) if out else np.zeros((R, 0, P), np.int64)
