"""Cycle models and sweep kernel of the grid engines (systolic OS/WS and 2D matrix).

:func:`os_output_cycles` and :func:`ws_accept_cycles` predict the cycle of every output
transfer of a stream of transfers at full rate; :func:`gemm_schedule` counts a tiled GEMM in
closed form (:func:`grid_cycles`, shared with the sweep :func:`kernel`). The benches check
both against simulation.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from ...design.systolic import GridDesign, SystolicDesign

__all__ = [
    "os_tile_last_cycles",
    "os_output_cycles",
    "ws_accept_cycles",
    "grid_cycles",
    "gemm_schedule",
    "gemm_cycles_batch",
    "design_vector",
    "kernel",
    "validation_gemm",
]


def os_tile_last_cycles(design: GridDesign, tile_steps) -> np.ndarray:
    """Handshake cycle of each tile's last step, for output-stationary tiles of
    ``tile_steps`` steps streamed back to back from cycle 0.

    A tile's last step is held until ``last_spacing`` cycles after the previous one;
    the other steps never wait. Paper mode: a tile's first step is held until
    ``last_spacing`` cycles after the previous tile's last, so each tile after the first
    takes its steps plus ``tile_overhead`` cycles.

    Parameters
    ----------
    design : GridDesign
        An output-stationary grid design.
    tile_steps : array_like of int
        Steps (reduction length) of each tile, in stream order.

    Returns
    -------
    ndarray of int64
        Handshake cycle of each tile's last step.
    """
    steps = np.asarray(tile_steps, dtype=np.int64)
    inc = np.maximum(steps + design.tile_overhead, design.last_spacing)
    if inc.size:
        inc[0] = steps[0]
    return np.cumsum(inc) - 1


def os_output_cycles(design: GridDesign, tile_steps) -> np.ndarray:
    """Cycle of every result transfer (``result_transfers`` per tile: its rows, or one
    in paper mode, in order) of :func:`os_tile_last_cycles`' stream.

    Parameters
    ----------
    design : GridDesign
        An output-stationary grid design.
    tile_steps : array_like of int
        Steps (reduction length) of each tile, in stream order.

    Returns
    -------
    ndarray of int64, shape (tiles * result_transfers,)
        Cycle in which each result transfer is valid, tile by tile.
    """
    last = os_tile_last_cycles(design, tile_steps)
    return (last[:, None] + design.latency + np.arange(design.result_transfers)).reshape(-1)


def ws_accept_cycles(design: SystolicDesign, is_write, rows) -> np.ndarray:
    """Handshake cycle of each transfer of a weight-stationary stream at full rate.

    Activation vectors never wait; a write to row ``i`` waits until ``i + cols`` cycles
    after the last activation vector before it.

    Parameters
    ----------
    design : SystolicDesign
        A weight-stationary systolic design.
    is_write : array of bool
        Per transfer, a weight write (True) or an activation vector.
    rows : array of int
        The written array row of each write (ignored for activations).

    Returns
    -------
    ndarray of int64
        Handshake cycle of each transfer.
    """
    w = np.asarray(is_write, bool)
    r = np.asarray(rows, np.int64)
    n = w.size
    h = np.empty(n, np.int64)
    edges = np.flatnonzero(np.diff(w.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges]) if n else np.zeros(0, np.int64)
    ends = np.concatenate([edges, [n]]) if n else np.zeros(0, np.int64)
    prev, last_act = -1, None
    for s, e in zip(starts, ends):  # runs of transfers, not elements
        k = np.arange(e - s)
        if not w[s]:
            h[s:e] = prev + 1 + k
            last_act = int(h[e - 1])
        else:
            base = np.full(e - s, prev + 1, np.int64)
            if last_act is not None:
                bound = last_act + design.weight_write_wait + r[s:e] - k
                base = np.maximum(base, np.maximum.accumulate(bound))
            h[s:e] = base + k
        prev = int(h[e - 1])
    return h


def grid_cycles(os_flag, rows, cols, tile_k, spacing, latency, m, n, k, overhead=0, transfers=None):
    """Cycles of a tiled GEMM on a grid engine, in closed form; every argument broadcasts
    (integers or float arrays of integral values, as the sweep passes them).

    Output-stationary (``os_flag`` true; systolic ``os`` and 2D matrix): for each block of
    ``rows`` rows of X and ``cols`` rows of W, the reduction is cut into tiles of at most
    ``tile_k = k_max`` steps that stream back to back, a tile's last step at least
    ``spacing`` cycles after the previous tile's; the last tile's ``rows`` result rows leave
    ``latency`` cycles after its last step. Weight-stationary: for each K-tile of ``rows``
    and N-tile of ``cols``, write the tile's weight rows, then stream all M activation
    vectors; every weight tile after the first waits ``cols - 1`` cycles for the vectors
    in flight. (docs/systolic.md derives both.) Paper mode: a tile takes its steps plus
    ``overhead`` cycles (no overlap) and leaves as ``transfers = 1`` transfer.

    Parameters
    ----------
    os_flag : bool or ndarray of bool
        Output-stationary (else weight-stationary).
    rows, cols : int or ndarray
        Array size ``R x C``.
    tile_k : int or ndarray
        Steps of a reduction tile: ``k_max`` (output-stationary) or ``rows``.
    spacing : int or ndarray
        Output-stationary: least cycles between two tiles' last steps (``last_spacing``).
    latency : int or ndarray
        Cycles from a tile's last step (OS) or a vector's handshake (WS) to its result.
    m, n, k : int or ndarray of int
        GEMM shape ``Y[M, N] = X[M, K] @ W[N, K].T`` (arrays broadcast).
    overhead : int or ndarray
        Output-stationary: cycles a tile adds to its steps (``tile_overhead``).
    transfers : int or ndarray, optional
        Output-stationary: result transfers per tile (default ``rows``).

    Returns
    -------
    dict
        ``cycles`` (until the last result), ``transfers``, ``tiles``, ``weight_writes``,
        ``k_tiles``, ``m_tiles``, ``n_tiles``; arrays when the inputs are.
    """
    mt, nt = -(-m // rows), -(-n // cols)
    kt = -(-k // tile_k)
    # output-stationary
    out = rows if transfers is None else transfers
    rest = k - (kt - 1) * tile_k
    per_block = (kt - 1) * np.maximum(spacing, tile_k + overhead) + np.maximum(
        spacing, rest + overhead
    )
    first = np.where(kt > 1, tile_k, k)
    os_cycles = (
        first - 1 + mt * nt * per_block - np.maximum(spacing, first + overhead) + latency + out
    )
    os_tiles = mt * nt * kt
    # weight-stationary
    ws_tiles = kt * nt
    writes = nt * k
    ws_transfers = writes + ws_tiles * m
    ws_cycles = ws_transfers + (ws_tiles - 1) * (cols - 1) + latency
    return {
        "cycles": np.where(os_flag, os_cycles, ws_cycles),
        "transfers": np.where(os_flag, mt * nt * k, ws_transfers),
        "tiles": np.where(os_flag, os_tiles, ws_tiles),
        "weight_writes": np.where(os_flag, 0 * writes, writes),
        "k_tiles": kt,
        "m_tiles": mt,
        "n_tiles": nt,
    }


def gemm_schedule(design: GridDesign, m, n, k) -> dict[str, np.ndarray]:
    """Tiled GEMM counts of one design, vectorized over arrays of ``M, N, K``: the sweep
    kernel's formula (:func:`grid_cycles` with :func:`design_vector`'s numbers).

    Parameters
    ----------
    design : GridDesign
        The design.
    m, n, k : int or ndarray of int
        GEMM shape ``Y[M, N] = X[M, K] @ W[N, K].T`` (arrays broadcast).

    Returns
    -------
    dict of str to ndarray
        ``cycles``, ``transfers``, ``tiles``, ``weight_writes``, ``macs`` and
        ``utilization`` (``macs`` over the array's MAC slots in ``cycles``), per GEMM.
    """
    m, n, k = (np.asarray(v, dtype=np.int64) for v in (m, n, k))
    v = design_vector(design)
    c = grid_cycles(
        bool(v["os"]),
        design.rows,
        design.cols,
        int(v["tile_k"]),
        int(v["spacing"]),
        design.latency,
        m,
        n,
        k,
        int(v["overhead"]),
        int(v["result_transfers"]),
    )
    macs = m * n * k
    return {
        "cycles": c["cycles"],
        "transfers": c["transfers"],
        "tiles": c["tiles"],
        "weight_writes": c["weight_writes"],
        "macs": macs,
        "utilization": macs / (c["cycles"] * design.rows * design.cols),
    }


# -- sweep plug-in ---------------------------------------------------------------------------
def design_vector(design: GridDesign) -> dict[str, float]:
    """The numbers :func:`kernel` needs about one design.

    Parameters
    ----------
    design : GridDesign
        The design.

    Returns
    -------
    dict of str to float
        Tiling (``tile_k``, ``tile_n``, ``tile_m``, ``os``, ``spacing``), ``latency``
        (cycles), operand and result widths (bits), ``lanes`` and the buffer word widths
        ``act_word_bits``, ``weight_word_bits``, ``out_word_bits`` (bits).
    """
    os_ = design.is_output_stationary
    assert design.weight_bits is not None
    return {
        "tile_k": cast(int, design.k_max) if os_ else design.rows,
        "tile_n": design.cols,
        "tile_m": design.rows,
        "latency": design.latency,
        "act_bits": design.act_bits,
        "weight_bits": design.weight_bits,
        "out_bits": design.acc_width,
        "psum_bits": design.acc_width,
        "lanes": design.rows * design.cols,
        "os": 1.0 if os_ else 0.0,
        "spacing": design.last_spacing if os_ else 1,
        # Paper mode: a tile's extra cycles, and one result transfer per tile.
        "overhead": design.tile_overhead if os_ else 0,
        "result_transfers": design.result_transfers if os_ else design.rows,
        # Buffer ports: a column of activations and a row of weights per step, a row of
        # results per transfer (the sweep sizes the SRAM macros' words by these).
        "act_word_bits": design.rows * design.act_bits,
        "weight_word_bits": design.cols * design.weight_bits,
        "out_word_bits": design.outputs_per_transfer
        * (design.value_bits if design.paper_structured else design.acc_width),
    }


def kernel(v: dict, m, n, k, act_buf_bits, weight_buf_bits, out_buf_bits):
    """Cycles and traffic of the grid engines' schedules (see :func:`grid_cycles`).

    Output-stationary: every step reads a column of ``rows`` activations and a row of
    ``cols`` weights from the buffers, so X is streamed once per N-block and W once per
    M-block; each comes from DRAM once when the buffer holds the operand it re-reads
    (X's ``rows x K`` block / all of W), else once per pass. Reductions longer than
    ``k_max`` leave partial results, added in the output buffer when an ``M x cols`` block
    fits, else through DRAM. Weight-stationary: as the adder-tree kernel: W from DRAM
    once, X's ``M x rows`` block per K-tile streamed once per N-tile, K-tile partial sums
    in the output buffer when they fit.

    Parameters
    ----------
    v : dict of str to ndarray
        :func:`design_vector`'s numbers, as arrays that broadcast against the shapes.
    m, n, k : int or ndarray of int
        GEMM shape ``Y[M, N] = X[M, K] @ W[N, K].T`` (arrays broadcast).
    act_buf_bits, weight_buf_bits, out_buf_bits : float or ndarray
        Capacities of the activation, weight and output buffers, in bits.

    Returns
    -------
    dict of str to ndarray
        ``cycles``; DRAM traffic ``dram_read_bits``, ``dram_write_bits``; buffer traffic
        ``{act,weight,out}_buf_{read,write}_bits`` (all in bits).
    """
    rows, cols, tk = v["tile_m"], v["tile_n"], v["tile_k"]
    c = grid_cycles(
        v["os"] > 0,
        rows,
        cols,
        tk,
        v["spacing"],
        v["latency"],
        m,
        n,
        k,
        v.get("overhead", 0),
        v.get("result_transfers", rows),
    )
    mt, nt, kt = c["m_tiles"], c["n_tiles"], c["k_tiles"]
    ab, wb, pb, ob = v["act_bits"], v["weight_bits"], v["psum_bits"], v["out_bits"]
    os_ = v["os"] > 0
    x_bits, w_bits = m * k * ab, n * k * wb
    # the block of X a pass re-reads: rows x K (os) or M x rows (ws)
    x_block = np.where(os_, rows * k, m * rows) * ab
    x_dram = np.where(x_block <= act_buf_bits, x_bits, x_bits * nt)
    w_dram = np.where(os_ & (w_bits > weight_buf_bits), w_bits * mt, w_bits)
    x_stream = x_bits * nt
    w_stream = np.where(os_, w_bits * mt, w_bits)
    psum_fits = m * cols * pb <= out_buf_bits
    extra = np.maximum(kt - 1, 0) * m * n * pb
    out_final = m * n * ob
    on_chip = np.where(psum_fits, extra, 0)
    return {
        "cycles": c["cycles"],
        "dram_read_bits": x_dram + w_dram + np.where(psum_fits, 0, extra),
        "dram_write_bits": out_final + np.where(psum_fits, 0, extra),
        "act_buf_read_bits": x_stream,
        "act_buf_write_bits": x_dram,
        "weight_buf_read_bits": w_stream,
        "weight_buf_write_bits": w_dram,
        "out_buf_read_bits": on_chip + out_final,
        "out_buf_write_bits": on_chip + out_final,
    }


def gemm_cycles_batch(design: GridDesign, m, n, k) -> dict[str, np.ndarray]:
    """Cycles of tiled GEMMs (arrays of shapes): :func:`gemm_schedule`.

    Parameters
    ----------
    design : GridDesign
        The design.
    m, n, k : int or ndarray of int
        GEMM shape ``Y[M, N] = X[M, K] @ W[N, K].T`` (arrays broadcast).

    Returns
    -------
    dict of str to ndarray
        ``cycles``, ``transfers``, ``tiles``, ``weight_writes``, ``macs`` and
        ``utilization`` (``macs`` over the array's MAC slots in ``cycles``), per GEMM.
    """
    return gemm_schedule(design, m, n, k)


def validation_gemm(design: GridDesign) -> tuple[int, int, int]:
    """The GEMM a grid design is validated on.

    Parameters
    ----------
    design : GridDesign
        The design.

    Returns
    -------
    tuple of (int, int, int)
        ``(M, N, K)``.
    """
    # A few row blocks, one and a half column blocks and a short reduction (several K-tiles
    # for WS): the default's K of a whole k_max would not fit the harness memory.
    return 4 * design.rows + design.rows // 2, design.cols + design.cols // 2, 2 * design.rows + 3
