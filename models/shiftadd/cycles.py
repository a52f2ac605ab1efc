"""Cycle model and sweep kernel of the shift-add engine.

One input transfer per cycle; a GEMM loads ``ceil(K/mu)`` tables per activation vector and
streams ``ceil(N/columns)`` weight transfers per table (:func:`shiftadd_cycles`, shared by
:func:`gemm_cycles_batch` and the sweep :func:`kernel`); every result leaves ``latency``
cycles after its ``last`` transfer (:func:`stream_output_cycles`).
"""

from __future__ import annotations

import numpy as np

from ...design.shiftadd import ShiftAddDesign

__all__ = [
    "stream_output_cycles",
    "shiftadd_cycles",
    "gemm_cycles_batch",
    "design_vector",
    "kernel",
    "validation_gemm",
]


def stream_output_cycles(design: ShiftAddDesign, input_positions) -> np.ndarray:
    """Cycle of each result for ``last`` weight transfers accepted at ``input_positions``:
    fully pipelined, a result leaves ``latency`` cycles after its transfer.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.
    input_positions : array_like of int
        Cycle each ``last`` weight transfer is accepted in.

    Returns
    -------
    numpy.ndarray of int64
        Cycle each result leaves in, shaped like ``input_positions``.
    """
    return np.asarray(input_positions, dtype=np.int64) + design.latency


def shiftadd_cycles(mu, columns, lut_slots, latency, m, n, k) -> dict:
    """The GEMM schedule's cycles, vectorized (NumPy broadcasting over every argument).

    Per K-tile of ``lut_slots`` groups of ``mu`` inputs and per activation vector: load the
    tile's tables (one transfer per group), then for every N-tile of ``columns`` rows one
    weight transfer per group, the last one emitting the tile's partial sums. Tables are
    loaded once per vector and group whatever ``lut_slots`` is, and transfers follow back to
    back (a table write only affects later weight transfers), so
    ``transfers = M * G * (1 + ceil(N / columns))`` and the last result leaves ``latency``
    cycles after the last transfer. The scalar model (:func:`gemm_cycles_batch`) and the
    sweep kernel both call this.

    Parameters
    ----------
    mu : int or array_like of int
        LUT width (activations per table).
    columns : int or array_like of int
        Output rows per weight transfer.
    lut_slots : int or array_like of int
        Tables held at once (groups per K-tile).
    latency : int or array_like of int
        Cycles from a transfer to its result.
    m, n, k : int or array_like of int
        GEMM dimensions: activation vectors, output rows, inputs.

    Returns
    -------
    dict of str to ndarray
        Broadcast arrays: ``cycles``, ``transfers``, ``tiles`` (K-tiles times N-tiles),
        ``weight_writes``, ``groups`` (tables per vector), ``k_tiles`` and ``n_tiles``.
    """
    groups = -(-k // mu)
    n_tiles = -(-n // columns)
    k_tiles = -(-groups // lut_slots)
    weight_writes = m * groups * n_tiles
    transfers = m * groups + weight_writes
    return {
        "cycles": transfers + latency,
        "transfers": transfers,
        "tiles": k_tiles * n_tiles,
        "weight_writes": weight_writes,
        "groups": groups,
        "k_tiles": k_tiles,
        "n_tiles": n_tiles,
    }


def gemm_cycles_batch(design: ShiftAddDesign, m, n, k) -> dict[str, np.ndarray]:
    """Cycles of tiled GEMMs (arrays of shapes): :func:`shiftadd_cycles`.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.
    m, n, k : int or array_like of int
        GEMM dimensions ``(M, N, K)``, broadcast together.

    Returns
    -------
    dict of str to ndarray
        ``cycles``, ``transfers``, ``tiles``, ``weight_writes``, ``macs`` and
        ``utilization`` (MACs per lane-cycle, lanes = ``columns * mu``).
    """
    m, n, k = (np.asarray(v, dtype=np.int64) for v in (m, n, k))
    c = shiftadd_cycles(design.mu, design.columns, design.lut_slots, design.latency, m, n, k)
    macs = m * n * k
    return {
        "cycles": c["cycles"],
        "transfers": c["transfers"],
        "tiles": c["tiles"],
        "weight_writes": c["weight_writes"],
        "macs": macs,
        "utilization": macs / (c["cycles"] * design.columns * design.mu),
    }


def design_vector(design: ShiftAddDesign) -> dict[str, float]:
    """The numbers :func:`kernel` needs about one design.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    dict of str to float
        Tile sizes ``tile_k`` and ``tile_n``, ``latency`` (cycles), operand widths in bits
        (``act_bits``, ``weight_bits`` per weight with its share of the scale fields,
        ``out_bits``, ``psum_bits``), ``lanes``, ``mu``, ``columns`` and ``lut_slots``.
    """
    d = design
    # Weight bits as the transfers carry them: q planes plus the scale fields of the
    # transfer spread over its columns * mu weights (slot and last are control).
    weight_bits = d.q + d.scale_bits_per_transfer / (d.columns * d.mu)
    return {
        "tile_k": d.mu,
        "tile_n": d.columns,
        "latency": d.latency,
        "act_bits": d.act_bits,
        "weight_bits": weight_bits,
        "out_bits": d.acc_width,
        "psum_bits": d.acc_width,
        "lanes": d.columns * d.mu,
        "mu": d.mu,
        "columns": d.columns,
        "lut_slots": d.lut_slots,
    }


def kernel(v: dict, m, n, k, act_buf_bits, weight_buf_bits, out_buf_bits):
    """Cycles and traffic of the shift-add engine's schedule (:func:`shiftadd_cycles`).

    Activations are read from DRAM once and from the activation buffer once per table
    load. The weights of a K-tile (``N x lut_slots * mu``) are streamed once per activation
    vector: from DRAM once if the block fits the weight buffer, else once per vector.
    Partial sums of K-tiles accumulate in the output buffer when the ``M x N`` block fits,
    else they go to DRAM and back.

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
    c = shiftadd_cycles(v["mu"], v["columns"], v["lut_slots"], v["latency"], m, n, k)
    k_tiles = c["k_tiles"]
    ab, wb, pb, ob = v["act_bits"], v["weight_bits"], v["psum_bits"], v["out_bits"]
    weights = n * k * wb
    w_block = n * np.minimum(k, v["lut_slots"] * v["mu"]) * wb
    w_dram = np.where(w_block <= weight_buf_bits, weights, weights * m)
    w_stream = c["weight_writes"] * v["columns"] * v["mu"] * wb
    act = m * k * ab
    act_stream = m * c["groups"] * v["mu"] * ab
    psum_fits = m * n * pb <= out_buf_bits
    extra = np.maximum(k_tiles - 1, 0) * m * n * pb
    out_final = m * n * ob
    ones = np.ones_like(c["cycles"])
    return {
        "cycles": c["cycles"],
        "dram_read_bits": w_dram + act * ones + np.where(psum_fits, 0, extra),
        "dram_write_bits": out_final * ones + np.where(psum_fits, 0, extra),
        "act_buf_read_bits": act_stream * ones,
        "act_buf_write_bits": act * ones,
        "weight_buf_read_bits": w_stream * ones,
        "weight_buf_write_bits": w_dram * ones,
        "out_buf_read_bits": np.where(psum_fits, extra, 0) + out_final * ones,
        "out_buf_write_bits": np.where(psum_fits, extra, 0) + out_final * ones,
    }


def validation_gemm(design: ShiftAddDesign) -> tuple[int, int, int]:
    """The GEMM a shift-add design is validated on.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    tuple of (int, int, int)
        ``(M, N, K)``: four activation vectors, 17 N-tiles (the last partial), two K-tiles.
    """
    # The cost model prices the steady state of a layer: weight transfers streaming past
    # held tables (the builder works once per 1 + ceil(N / columns) transfers). The default
    # GEMM (one and a half N-tiles) would make every third transfer a table load, so the
    # fidelity check runs a decode-like slice: 17 N-tiles (the last one partial), two
    # K-tiles (partial sums leave the engine), four activation vectors.
    return 4, 16 * design.columns + max(1, design.columns // 2), 2 * design.mu * design.lut_slots
