"""The threshold array's cycle model and sweep kernel.

One program run per output neuron and group of ``pes * vectors`` input rows, back to back,
one step per cycle (:func:`threshold_cycles`); the scalar model, the sweep kernel and the
bench's cycle check use the same formula.
"""

from __future__ import annotations

import numpy as np

from ...design.threshold import ThresholdDesign
from ...design.threshold_program import compile_program, schedule
from ...errors import InputError

__all__ = [
    "run_cycles",
    "design_vector",
    "threshold_cycles",
    "kernel",
    "validation_gemm",
    "gemm_cycles_batch",
]


def run_cycles(design: ThresholdDesign, k: int | None = None) -> int:
    """Cycles of one program run at full rate (its steps).

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.
    k : int, optional
        Fan-in the program is scheduled for; default ``design.k``.

    Returns
    -------
    int
        The program's steps.
    """
    return schedule(design, k).steps


# Program parameters a sweep carries per design point (numbers only: the neuron weights
# are packed four bits each, a weight is at most 8).
_PROGRAM_KEYS = (
    "neurons",
    "neuron_weights",
    "data_bits",
    "vectors",
    "pool",
    "memory_bits",
    "ring",
    "neuron_register_bits",
)


def _pack_weights(weights) -> int:
    return sum(int(w) << (4 * i) for i, w in enumerate(weights))


def _unpack_weights(code: int, count: int) -> tuple:
    return tuple((int(code) >> (4 * i)) & 0xF for i in range(count))


def design_vector(design: ThresholdDesign) -> dict[str, float]:
    """The numbers :func:`kernel` and :func:`threshold_cycles` need about one design.

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.

    Returns
    -------
    dict of str to float
        Tile sizes, ``latency`` (cycles), operand widths (1 bit), ``lanes`` and the program
        parameters (``neurons``, ``neuron_weights`` packed four bits each, ``fan_in``,
        ``data_bits``, ``vectors``, ``pool``, ``memory_bits``, ``pes``, ``ring`` (1 for
        ``pe = "tulip"``), ``neuron_register_bits``).
    """
    d = design
    return {
        "tile_k": d.pes * d.data_bits,
        "tile_n": d.pes,
        "latency": d.latency,
        "act_bits": 1,
        "weight_bits": 1,
        "out_bits": 1,
        "psum_bits": 1,
        # XNOR-accumulates per cycle at full rate for the design's own fan-in
        "lanes": d.ops_per_cycle / 2,
        "pes": d.pes,
        "neurons": d.neurons,
        "neuron_weights": _pack_weights(d.neuron_weights),
        "fan_in": d.fan_in,
        "data_bits": d.data_bits,
        "vectors": d.vectors,
        "pool": d.pool,
        "memory_bits": d.memory_bits,
        "ring": float(d.ring),
        "neuron_register_bits": d.neuron_register_bits,
    }


def _unique_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(table, axis=0, return_inverse=True)`` through one integer key per row
    (mixed radix over each column's distinct values): sorting rows lexicographically
    dominated the kernel, sorting one key column does not."""
    key = np.zeros(len(table), np.int64)
    radix = 1
    for column in table.T:
        values, codes = np.unique(column, return_inverse=True)
        if radix * len(values) >= 1 << 62:  # re-code the key before it could overflow
            _, key = np.unique(key, return_inverse=True)
            radix = int(key.max(initial=0)) + 1
        key = key * len(values) + codes.reshape(-1)  # distinct rows -> distinct keys
        radix *= len(values)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return table[first], inverse.reshape(-1)


def _program_lengths(v: dict, k) -> tuple[np.ndarray, np.ndarray]:
    """Steps per run and step of the last emit for every (design point, fan-in) pair.

    ``v`` holds :func:`design_vector` columns and ``k`` broadcasts against them. Programs are
    compiled once per distinct (PE configuration, K) pair (cached), never per element.
    """
    cols = [np.asarray(v[key]) for key in (*_PROGRAM_KEYS, "fan_in")]
    k = np.asarray(np.asarray(k, np.float64), np.int64)
    # Distinct PE configurations over the design rows and distinct K apart, then one
    # integer code per (configuration, K) element: no sort over the broadcast
    # (points x GEMMs) table, which dominated the kernel.
    dshape = np.broadcast_shapes(*(c.shape for c in cols))
    dtable = np.stack(
        [np.broadcast_to(np.asarray(c, np.float64), dshape).ravel() for c in cols], axis=1
    ).astype(np.int64)
    configs, config_code = _unique_rows(dtable)
    ks, k_code = np.unique(k.ravel(), return_inverse=True)
    pair = config_code.reshape(dshape) * len(ks) + k_code.reshape(k.shape)
    used = np.zeros(len(configs) * len(ks), bool)
    used[pair.ravel()] = True
    steps = np.zeros(len(used), np.int64)
    last = np.zeros(len(used), np.int64)
    for code in np.flatnonzero(used):
        c, j = divmod(int(code), len(ks))
        neurons, wcode, data_bits, vectors, pool, memory, ring, reg_bits, fan_in = configs[c]
        kk = int(ks[j])
        prog = compile_program(
            kk,
            int(neurons),
            _unpack_weights(wcode, int(fan_in)),
            int(data_bits),
            int(vectors),
            int(pool),
            "tulip" if ring else "pooled",
        )
        if ring and prog.memory_used > reg_bits:
            raise InputError(
                f"the program for K={kk} needs {prog.memory_used} bits in a neuron's "
                f"register, the design has {reg_bits}",
                field="neuron_register_bits",
                allowed=f"an integer from {prog.memory_used} to 64",
            )
        if not ring and prog.memory_used > memory:
            raise InputError(
                f"the program for K={kk} needs {prog.memory_used} bits of local "
                f"memory, the design has {memory}",
                field="memory_bits",
                allowed=f"an integer from {prog.memory_used} to 256",
            )
        steps[code], last[code] = prog.steps, prog.emit_steps[-1]
    return steps[pair], last[pair]


def threshold_cycles(v: dict, m, n, k) -> dict:
    """Cycles of the binary layer ``Y[M, N]`` (fan-in ``K``) on threshold arrays described
    by :func:`design_vector` columns ``v`` (broadcasting).

    One run per output neuron and group of ``pes * vectors`` input rows, back to back, one
    step per cycle; each run emits its last result in its last-emit step, ``latency``
    cycles later out. The scalar model (:func:`gemm_cycles_batch`) and the sweep kernel
    both use this formula.

    Parameters
    ----------
    v : dict
        :func:`design_vector` columns, broadcast against the GEMM dimensions.
    m, n, k : int or array_like of int
        GEMM dimensions: input rows ``M``, output neurons ``N``, fan-in ``K``.

    Returns
    -------
    dict of str to ndarray
        Broadcast arrays: ``cycles``, ``transfers`` (steps issued), ``runs``, ``groups``,
        ``steps`` (per run) and ``rows_per_group``.
    """
    m, n, k = (np.asarray(x, dtype=np.int64) for x in (m, n, k))
    steps, last = _program_lengths(v, k)
    rows = (np.asarray(v["pes"]) * np.asarray(v["vectors"])).astype(np.int64)
    groups = -(-m // rows)
    runs = n * groups
    transfers = runs * steps
    cycles = (runs - 1) * steps + last + np.asarray(v["latency"]).astype(np.int64) + 1
    return {
        "cycles": cycles,
        "transfers": transfers,
        "runs": runs,
        "groups": groups,
        "steps": steps,
        "rows_per_group": rows,
    }


def kernel(v: dict, m, n, k, act_buf_bits, weight_buf_bits, out_buf_bits):
    """Cycles and traffic of a binary GEMM on SIMD threshold PEs.

    Order: for each group of ``pes * vectors`` input rows, every output neuron in turn (its
    weights are the instruction's input polarities). The group's ``rows * K`` input bits are
    streamed into the data registers once per output neuron from the activation buffer; they
    come from DRAM once when the block fits the buffer, else once per neuron. The ``N * K``
    weight bits are read once per group from the weight buffer; from DRAM once when they fit,
    else once per group. One output bit per (pooled) row and neuron; no partial sums. The
    instruction stream's program memory is outside the model (as the adder tree's control).

    Parameters
    ----------
    v : dict
        Design vectors (:func:`design_vector`), values of shape ``(P, 1)``.
    m, n, k : ndarray of int
        GEMM dimensions, shape ``(1, L)``.
    act_buf_bits, weight_buf_bits, out_buf_bits : ndarray
        Activation, weight and output buffer capacities in bits, shape ``(P, 1)``.

    Returns
    -------
    dict of str to ndarray
        Shape ``(P, L)``: ``cycles`` and the traffic in bits of
        :data:`shiftadd.models.perf.TRAFFIC_KEYS`.
    """
    c = threshold_cycles(v, m, n, k)
    m, n, k = (np.asarray(x, dtype=np.int64) for x in (m, n, k))
    rows, groups, runs = c["rows_per_group"], c["groups"], c["runs"]
    act = m * k
    act_fits = rows * k <= act_buf_bits
    act_dram = np.where(act_fits, act, act * n)
    weights = n * k
    w_fits = weights <= weight_buf_bits
    w_dram = np.where(w_fits, weights, weights * groups)
    outs = -(-m // np.asarray(v["pool"]).astype(np.int64)) * n
    ones = np.ones_like(c["cycles"])
    return {
        "cycles": c["cycles"],
        "dram_read_bits": act_dram + w_dram,
        "dram_write_bits": outs * ones,
        "act_buf_read_bits": runs * rows * k,
        "act_buf_write_bits": act_dram * ones,
        "weight_buf_read_bits": runs * k,
        "weight_buf_write_bits": w_dram * ones,
        "out_buf_read_bits": outs * ones,
        "out_buf_write_bits": outs * ones,
    }


def validation_gemm(design: ThresholdDesign) -> tuple[int, int, int]:
    """The GEMM a threshold design is validated on.

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.

    Returns
    -------
    tuple of (int, int, int)
        ``(M, N, K)``: up to eight groups of input rows, four (or two) output neurons and
        the design's own fan-in, within 6000 steps.
    """
    # Up to eight groups of input rows and four output neurons at the design's own fan-in
    # (the program the model prices; the generic default's K, a buffer word, means nothing
    # here), kept within 6000 steps: the whole GEMM is one chunk of the activity harness
    # (8192 entries).
    steps = schedule(design).steps
    n = 4 if 4 * 8 * steps <= 6000 else 2
    groups = max(1, min(8, 6000 // (n * steps)))
    return groups * design.pes * design.vectors, n, design.k


def gemm_cycles_batch(design: ThresholdDesign, m, n, k) -> dict[str, np.ndarray]:
    """Cycles of binary layers (arrays of shapes): :func:`threshold_cycles`.

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.
    m, n, k : int or array_like of int
        GEMM dimensions ``(M, N, K)``, broadcast together.

    Returns
    -------
    dict of str to ndarray
        ``cycles``, ``transfers``, ``tiles`` (runs), ``weight_writes`` (0), ``macs`` and
        ``utilization``.
    """
    m, n, k = (np.asarray(x, dtype=np.int64) for x in (m, n, k))
    m, n, k = np.broadcast_arrays(m, n, k)
    c = threshold_cycles(design_vector(design), m, n, k)
    macs = m * n * k
    slots = c["runs"] * design.pes * design.vectors
    return {
        "cycles": c["cycles"],
        "transfers": c["transfers"],
        "tiles": c["runs"],
        "weight_writes": np.zeros_like(c["runs"]),
        "macs": macs,
        "utilization": (m * n) / slots * (c["transfers"] / c["cycles"]),
    }
