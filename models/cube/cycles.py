"""Cycle model and sweep kernel of the 3D-Cube engine (:mod:`shiftadd.hw.cube`).

The cube accepts one tile per cycle (a ``rows x depth`` block of X and a ``cols x depth``
block of W) and returns its ``rows x cols`` partial results ``latency`` cycles later; it
never stalls its input at full rate. A GEMM ``Y[M, N] = X[M, K] @ W[N, K].T`` is
``ceil(M / rows) * ceil(N / cols) * ceil(K / depth)`` tiles streamed back to back (the
reduction slices of one output block consecutive, so the host adds them as they come), so
the last result is valid in cycle ``tiles - 1 + latency`` and the GEMM takes
``tiles + latency`` cycles (docs/cube.md).
"""

from __future__ import annotations

import numpy as np

from ...design.cube import CubeDesign

__all__ = [
    "cube_cycles",
    "result_cycles",
    "gemm_cycles_batch",
    "design_vector",
    "kernel",
    "validation_gemm",
]


def result_cycles(design: CubeDesign, tiles: int) -> np.ndarray:
    """Cycle in which each tile's result transfer is valid, for ``tiles`` tiles streamed
    back to back from cycle 0 at full rate.

    Parameters
    ----------
    design : CubeDesign
        The design.
    tiles : int
        Tiles in the stream.

    Returns
    -------
    ndarray of int64, shape (tiles,)
        ``i + latency`` for tile ``i``.
    """
    return np.arange(tiles, dtype=np.int64) + design.latency


def cube_cycles(rows, cols, depth, latency, m, n, k) -> dict:
    """Cycles of a tiled GEMM on a cube, in closed form; every argument broadcasts
    (integers or float arrays of integral values, as the sweep passes them).

    Parameters
    ----------
    rows, cols, depth : int or ndarray
        Cube sides (M, N and K per tile).
    latency : int or ndarray
        Cycles from a tile's handshake to its result.
    m, n, k : int or ndarray of int
        GEMM shape ``Y[M, N] = X[M, K] @ W[N, K].T``.

    Returns
    -------
    dict
        ``cycles`` (until the last result), ``transfers`` (= ``tiles``), ``m_tiles``,
        ``n_tiles``, ``k_tiles``.
    """
    mt, nt, kt = -(-m // rows), -(-n // cols), -(-k // depth)
    tiles = mt * nt * kt
    return {
        "cycles": tiles + latency,
        "transfers": tiles,
        "tiles": tiles,
        "m_tiles": mt,
        "n_tiles": nt,
        "k_tiles": kt,
    }


def gemm_cycles_batch(design: CubeDesign, m, n, k) -> dict[str, np.ndarray]:
    """Cycles of tiled GEMMs on a cube, vectorized over arrays of ``M, N, K`` (the sweep
    kernel's formula, :func:`cube_cycles`).

    Parameters
    ----------
    design : CubeDesign
        The design.
    m, n, k : int or ndarray of int
        GEMM shape ``Y[M, N] = X[M, K] @ W[N, K].T`` (arrays broadcast).

    Returns
    -------
    dict of str to ndarray
        ``cycles``, ``transfers``, ``tiles``, ``weight_writes`` (none: weights stream with
        the activations), ``macs`` and ``utilization`` (``macs`` over the cube's MAC slots in
        ``cycles``), per GEMM.
    """
    m, n, k = (np.asarray(v, dtype=np.int64) for v in (m, n, k))
    d = design
    c = cube_cycles(d.rows, d.cols, d.depth, d.latency, m, n, k)
    macs = m * n * k
    return {
        "cycles": c["cycles"],
        "transfers": c["transfers"],
        "tiles": c["tiles"],
        "weight_writes": 0 * c["tiles"],
        "macs": macs,
        "utilization": macs / (c["cycles"] * d.pes),
    }


# -- sweep plug-in ---------------------------------------------------------------------------
def design_vector(design: CubeDesign) -> dict[str, float]:
    """The numbers :func:`kernel` needs about one cube.

    Parameters
    ----------
    design : CubeDesign
        The design.

    Returns
    -------
    dict of str to float
        Tiling (``tile_m``, ``tile_n``, ``tile_k``), ``latency`` (cycles), operand and
        result widths (bits), ``lanes`` (MAC slots per cycle) and the buffer word widths
        ``act_word_bits``, ``weight_word_bits``, ``out_word_bits`` (a tile per cycle).
    """
    d = design
    assert d.weight_bits is not None
    return {
        "tile_m": d.rows,
        "tile_n": d.cols,
        "tile_k": d.depth,
        "latency": d.latency,
        "act_bits": d.act_bits,
        "weight_bits": d.weight_bits,
        "out_bits": d.acc_width,
        "psum_bits": d.acc_width,
        "lanes": d.pes,
        "act_word_bits": d.rows * d.depth * d.act_bits,
        "weight_word_bits": d.cols * d.depth * d.weight_bits,
        "out_word_bits": d.rows * d.cols * d.acc_width,
    }


def kernel(v: dict, m, n, k, act_buf_bits, weight_buf_bits, out_buf_bits):
    """Cycles and traffic of the cube's schedule (see :func:`cube_cycles`).

    Every tile reads a ``rows x depth`` block of X and a ``cols x depth`` block of W from
    the buffers, so X is streamed once per N-block and W once per M-block whatever the
    order of the tiles; the order changes only what comes from DRAM and where partial sums
    wait, and the cycles not at all (:func:`cube_cycles`), so each GEMM takes the order
    with the least DRAM traffic of four:

    * W held: as many ``cols x K`` blocks of W as the weight buffer holds (at least one),
      every M-block streamed past them, each output block over its reduction slices: W
      from DRAM once, X once when it all fits the activation buffer, else once per group
      of held W blocks; one ``rows x cols`` block of partial sums live;
    * X held: the same with the roles of X and W swapped (the bench's order when X's
      ``rows x K`` block fits);
    * reduction-slice-major (as the weight-stationary array): for each slice and N-block
      all M-blocks, so W comes from DRAM once and X once when its ``M x depth`` slice fits
      (else once per N-block); all ``M x N`` partial sums live, in the output buffer when
      they fit, else through DRAM;
    * nothing held: X once per N-block, W once per M-block.

    The ``ceil(K / depth) - 1`` partial-sum additions per output are in the output buffer
    whenever their live block fits it.

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
    rows, cols, depth = v["tile_m"], v["tile_n"], v["tile_k"]
    c = cube_cycles(rows, cols, depth, v["latency"], m, n, k)
    mt, nt, kt = c["m_tiles"], c["n_tiles"], c["k_tiles"]
    ab, wb, pb, ob = v["act_bits"], v["weight_bits"], v["psum_bits"], v["out_bits"]
    x_bits, w_bits = m * k * ab, n * k * wb
    extra = np.maximum(kt - 1, 0) * m * n * pb
    out_final = m * n * ob
    spill_block = np.where(rows * cols * pb <= out_buf_bits, 0, extra)
    never = np.inf  # an order whose held block does not fit
    w_groups = np.floor(weight_buf_bits / (cols * k * wb))  # W blocks held at once
    x_groups = np.floor(act_buf_bits / (rows * k * ab))  # X blocks held at once
    # Per order: X from DRAM, W from DRAM, partial-sum bits through DRAM (each way).
    orders = [
        (
            np.where(
                x_bits <= act_buf_bits, x_bits, x_bits * np.ceil(nt / np.maximum(w_groups, 1))
            ),
            np.where(w_groups >= 1, w_bits, never),
            spill_block,
        ),
        (
            np.where(x_groups >= 1, x_bits, never),
            np.where(
                w_bits <= weight_buf_bits, w_bits, w_bits * np.ceil(mt / np.maximum(x_groups, 1))
            ),
            spill_block,
        ),
        (
            np.where(m * depth * ab <= act_buf_bits, x_bits, x_bits * nt),
            w_bits,
            np.where(m * n * pb <= out_buf_bits, 0, extra),
        ),
        (x_bits * nt, w_bits * mt, spill_block),
    ]
    shape = np.broadcast_shapes(*(np.shape(t) for order in orders for t in order))
    x_o, w_o, p_o = (
        np.stack([np.broadcast_to(order[i], shape) for order in orders]) for i in range(3)
    )
    best = np.argmin(x_o + w_o + 2 * p_o, axis=0)[None]
    x_dram, w_dram, spill = (np.take_along_axis(t, best, axis=0)[0] for t in (x_o, w_o, p_o))
    on_chip = extra - spill
    return {
        "cycles": c["cycles"],
        "dram_read_bits": x_dram + w_dram + spill,
        "dram_write_bits": out_final + spill,
        "act_buf_read_bits": x_bits * nt,
        "act_buf_write_bits": x_dram,
        "weight_buf_read_bits": w_bits * mt,
        "weight_buf_write_bits": w_dram,
        "out_buf_read_bits": on_chip + out_final,
        "out_buf_write_bits": on_chip + out_final,
    }


def validation_gemm(design: CubeDesign) -> tuple[int, int, int]:
    """The GEMM a cube is validated on: partial tiles on every side, several reduction
    slices.

    Parameters
    ----------
    design : CubeDesign
        The design.

    Returns
    -------
    tuple of (int, int, int)
        ``(M, N, K)``.
    """
    d = design
    return 2 * d.rows + d.rows // 2 + 1, d.cols + d.cols // 2 + 1, 2 * d.depth + 1
