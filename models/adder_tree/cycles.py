"""The adder-tree array's cycle model and sweep kernel.

Weight-stationary tiles: for each K-tile and N-tile, write the tile's weight rows (one neuron
per cycle), then stream all M activation vectors; partial sums of K-tiles are added outside
the array. Tiles follow back to back: a weight write only affects vectors accepted after it,
so nothing waits for the pipeline to drain (:func:`adder_tree_cycles`, the one formula of the
scalar model, the sweep kernel and the bench).

With ``accumulate`` (the binary MAC form) weights and thresholds stream with every chunk:
there are no weight writes, and each of the ``M x ceil(N/n)`` outputs of ``n`` lanes takes
``ceil(K/k)`` chunks, one per cycle, so the same formula holds with zero weight writes. A
fan-in beyond ``accumulate_k`` is refused (:func:`check_accumulate_k`).

Every plain design and the ``carry_save_accumulate`` and ``shared_encoder_same_bitweight``
options are fully pipelined: each accepted vector leaves ``latency`` cycles later.
``digit_sparse`` spends, per vector, ``max(1, sum_j max_g nnz[g, j])`` cycles: at bit weight
``j`` every group of ``digit_group`` lanes takes one cycle per nonzero digit and the groups
move in lockstep; all-zero bit weights are skipped. :func:`digit_sparse_vector_cycles`
computes it from the data, :func:`digit_sparse_output_cycles` the cycle of every result of a
transfer sequence, :func:`digit_sparse_gemm_cycles` a tiled GEMM, all exact (the bench checks
them against simulation); without data the model uses
:func:`~shiftadd.design.bitweight.expected_vector_cycles`. A sweep point priced on data
(``activity = "data"``) takes the mean vector cycles of the activations each GEMM sees
(:func:`data_vector_cycles`, through the point's measured activity).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ...design.adder_tree import AdderTreeDesign
from ...design.bitweight import expected_vector_cycles
from ...errors import InputError
from .bitweight import option_plan, signed_digits

__all__ = [
    "adder_tree_cycles",
    "check_accumulate_k",
    "stream_output_cycles",
    "gemm_cycles_batch",
    "design_vector",
    "kernel",
    "validation_gemm",
    "vector_cycles",
    "nonzero_per_group",
    "digit_sparse_vector_cycles",
    "digit_sparse_output_cycles",
    "digit_sparse_gemm_cycles",
    "digit_sparse_mean_cycles",
    "data_vector_cycles",
]


def adder_tree_cycles(tile_k, tile_n, latency, m, n, k, vector_cycles=1, accumulate=0):
    """Weight-stationary tiles, back to back (see the module docstring).

    Parameters
    ----------
    tile_k, tile_n : int or ndarray of int
        Array size: inputs per neuron (K-tile) and neurons (N-tile).
    latency : int or ndarray of int
        Pipeline latency: cycles from a vector's handshake to its result.
    m, n, k : int or ndarray of int
        GEMM shape ``Y[M, N] = X[M, K] @ W[N, K].T`` (arrays broadcast).
    vector_cycles : float, ndarray or Fraction, default 1
        Cycles one activation vector occupies the array (1 at full rate; ``digit_sparse``
        designs: the mean over the vectors, exact given the data, or an expectation).
    accumulate : bool, int or ndarray, default 0
        Designs with ``accumulate`` (1): weights stream with the chunks, no weight writes.

    Returns
    -------
    dict
        ``cycles`` (until the last result), ``transfers`` (weight writes plus vectors),
        ``tiles``, ``weight_writes``, ``k_tiles``, ``n_tiles``; arrays when the inputs are.
    """
    k_tiles = -(-k // tile_k)
    n_tiles = -(-n // tile_n)
    weight_writes = k_tiles * n * (1 - np.asarray(accumulate, np.int64))
    transfers = weight_writes + k_tiles * n_tiles * m
    busy = weight_writes + k_tiles * n_tiles * m * vector_cycles
    return {
        "cycles": busy + latency,
        "transfers": transfers,
        "tiles": k_tiles * n_tiles,
        "weight_writes": weight_writes,
        "k_tiles": k_tiles,
        "n_tiles": n_tiles,
    }


def check_accumulate_k(design_k_max, k) -> None:
    """Refuse GEMMs whose fan-in ``K`` an accumulating design cannot cover in one output.

    Parameters
    ----------
    design_k_max : float or ndarray
        Per design, its ``accumulate_k`` (``inf`` for designs without ``accumulate``).
    k : int or ndarray of int
        Fan-in of every GEMM (broadcasts against ``design_k_max``).

    Raises
    ------
    InputError
        Some ``K`` exceeds its design's ``accumulate_k``.
    """
    k_max, kk = np.broadcast_arrays(np.asarray(design_k_max, float), np.asarray(k))
    over = kk > k_max
    if np.any(over):
        i = np.flatnonzero(over.ravel())[0]
        raise InputError(
            f"a GEMM with K = {int(kk.ravel()[i])} does not fit one accumulated output of "
            f"accumulate_k = {int(k_max.ravel()[i])}",
            field="accumulate_k",
            allowed=f"a multiple of k that is at least {int(kk.ravel()[i])}",
        )


def stream_output_cycles(design: AdderTreeDesign, input_positions) -> np.ndarray:
    """Cycle of each result for vectors accepted at ``input_positions`` at full rate: fully
    pipelined, every vector leaves exactly ``latency`` cycles later. A ``digit_sparse``
    design's cycles depend on the data (:func:`digit_sparse_output_cycles`).

    Parameters
    ----------
    design : AdderTreeDesign
        A design without ``digit_sparse``.
    input_positions : array_like of int
        Handshake cycle of each accepted activation vector.

    Returns
    -------
    ndarray of int64
        Cycle in which each vector's result is valid.

    Raises
    ------
    TypeError
        The design is ``digit_sparse``.
    """
    if design.digit_sparse:
        raise TypeError(
            "a digit_sparse design's output cycles depend on the data: use "
            "digit_sparse_output_cycles"
        )
    return np.asarray(input_positions, dtype=np.int64) + design.latency


def vector_cycles(design: AdderTreeDesign) -> float:
    """Cycles one activation vector occupies the array: 1, or for ``digit_sparse`` the
    expectation for uniformly random activation codes.

    Parameters
    ----------
    design : AdderTreeDesign
        The design.

    Returns
    -------
    float
        Cycles per activation vector.
    """
    return expected_vector_cycles(design) if design.digit_sparse else 1.0


def gemm_cycles_batch(design: AdderTreeDesign, m, n, k) -> dict[str, np.ndarray]:
    """Cycles of GEMMs ``Y[M, N] = X[M, K] @ W[N, K].T`` (arrays of shapes) by the tiled
    schedule. ``digit_sparse`` without data: the expected vector cycles for uniformly random
    activation codes, rounded up to whole cycles (the bench uses
    :func:`digit_sparse_gemm_cycles` with the actual data).

    Parameters
    ----------
    design : AdderTreeDesign
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
    if design.accumulate:
        check_accumulate_k(design.max_chunks * design.k, k)
    if design.digit_sparse:
        c = adder_tree_cycles(
            design.k, design.n, design.latency, m, n, k, expected_vector_cycles(design)
        )
        cycles = np.ceil(c["cycles"] - 1e-9).astype(np.int64)
    else:
        c = adder_tree_cycles(
            design.k, design.n, design.latency, m, n, k, accumulate=int(design.accumulate)
        )
        cycles = c["cycles"]
    macs = m * n * k
    return {
        "cycles": cycles,
        "transfers": c["transfers"],
        "tiles": c["tiles"],
        "weight_writes": c["weight_writes"],
        "macs": macs,
        "utilization": macs / (cycles * design.k * design.n),
    }


def design_vector(design: AdderTreeDesign) -> dict[str, float]:
    """The numbers :func:`kernel` needs about one design. Every adder-tree design carries
    ``vector_cycles``, so one sweep block may mix options.

    Parameters
    ----------
    design : AdderTreeDesign
        The design.

    Returns
    -------
    dict of str to float
        ``tile_k``, ``tile_n``, ``latency`` (cycles), ``act_bits``, ``weight_bits``,
        ``out_bits``, ``psum_bits`` (bits), ``lanes``, ``vector_cycles``, ``accumulate``
        (1 or 0) and ``max_k`` (``accumulate_k``, ``inf`` without ``accumulate``).
    """
    assert design.act_bits is not None and design.weight_bits is not None
    return {
        "tile_k": design.k,
        "tile_n": design.n,
        "latency": design.latency,
        "act_bits": design.act_bits,
        "weight_bits": design.weight_bits,
        "out_bits": design.output_bits_per_neuron,
        "psum_bits": design.acc_width,
        "lanes": design.k * design.n,
        "vector_cycles": vector_cycles(design),
        "accumulate": float(design.accumulate),
        "max_k": float(design.max_chunks * design.k) if design.accumulate else float("inf"),
    }


def kernel(v: dict, m, n, k, act_buf_bits, weight_buf_bits, out_buf_bits):
    """Cycles and traffic of the weight-stationary adder-tree schedule.

    Weights are read from DRAM once (staged through the weight buffer). For each K-tile
    the ``M x tile_k`` activation block is streamed once per N-tile from the activation
    buffer; it comes from DRAM once if the block fits the buffer, else once per N-tile.
    Partial sums of K-tiles accumulate in the output buffer when an ``M x tile_n`` block
    fits, else they go to DRAM and back.

    ``accumulate`` designs (``v["accumulate"] == 1``) stream every chunk's weights from the
    weight buffer (``tile_n x tile_k`` weights a cycle) and keep partial sums in the lanes'
    accumulators: no partial sums in the output buffer or DRAM. A ``K`` beyond a design's
    ``max_k`` is refused.

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
    accumulate = np.asarray(v.get("accumulate", 0.0)) > 0
    check_accumulate_k(v.get("max_k", np.inf), k)
    c = adder_tree_cycles(
        v["tile_k"],
        v["tile_n"],
        v["latency"],
        m,
        n,
        k,
        v.get("vector_cycles", 1),
        accumulate.astype(np.int64),
    )
    k_tiles, n_tiles = c["k_tiles"], c["n_tiles"]
    ab, wb, pb, ob = v["act_bits"], v["weight_bits"], v["psum_bits"], v["out_bits"]
    weights = n * k * wb
    act_block = m * v["tile_k"] * ab
    act_fits = act_block <= act_buf_bits
    act_dram = np.where(act_fits, m * k * ab, m * k * ab * n_tiles)
    act_stream = m * v["tile_k"] * ab * k_tiles * n_tiles
    psum_block = m * v["tile_n"] * pb
    psum_fits = psum_block <= out_buf_bits
    extra = np.where(accumulate, 0, np.maximum(k_tiles - 1, 0) * m * n * pb)
    out_final = m * n * ob
    # accumulate: every chunk reads its tile_n x tile_k weights from the buffer.
    chunks = m * k_tiles * n_tiles
    weight_reads = np.where(
        accumulate, chunks * v["tile_n"] * v["tile_k"] * wb, weights * np.ones_like(act_stream)
    )
    out = {
        "cycles": c["cycles"],
        "dram_read_bits": weights + act_dram + np.where(psum_fits, 0, extra),
        "dram_write_bits": out_final + np.where(psum_fits, 0, extra),
        "act_buf_read_bits": act_stream,
        "act_buf_write_bits": act_dram,
        "weight_buf_read_bits": weight_reads,
        "weight_buf_write_bits": weights * np.ones_like(act_stream),
        "out_buf_read_bits": np.where(psum_fits, extra, 0) + out_final,
        "out_buf_write_bits": np.where(psum_fits, extra, 0) + out_final,
    }
    return out


def validation_gemm(design: AdderTreeDesign) -> tuple[int, int, int]:
    """The GEMM ``(M, N, K)`` a design is validated on: 256 activation rows, one and a half
    N-tiles (a partial tile) and one K-tile, as
    :func:`shiftadd.models.perf.default_validation_gemm` picks; with ``accumulate`` a fan-in
    of nearly ``accumulate_k`` instead (the most chunks, the last one partial), over fewer
    rows so the run stays near the same length.

    Parameters
    ----------
    design : AdderTreeDesign
        The design.

    Returns
    -------
    tuple of (int, int, int)
        The GEMM dimensions ``(M, N, K)``.
    """
    n = design.n + max(1, design.n // 2)
    if not design.accumulate:
        return 256, n, design.k
    chunks = design.max_chunks
    return max(16, 256 // chunks), n, chunks * design.k - design.k // 2


def nonzero_per_group(design: AdderTreeDesign, act) -> np.ndarray:
    """``nnz[v, g, j]``: nonzero digits of group ``g`` at bit weight ``j``.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with ``digit_sparse``.
    act : array_like of int, shape (vectors, k)
        Activation vectors as the port carries them.

    Returns
    -------
    ndarray of int, shape (vectors, groups, D)
        Nonzero digit counts.
    """
    plan = option_plan(design)
    d = signed_digits(design, act)
    v = d.shape[0]
    return np.count_nonzero(d.reshape(v, plan.groups, plan.group, plan.digits), axis=2)


def digit_sparse_vector_cycles(design: AdderTreeDesign, act) -> np.ndarray:
    """Cycles each vector occupies the PEs: ``max(1, sum_j max_g nnz[g, j])``.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with ``digit_sparse``.
    act : array_like of int, shape (vectors, k)
        Activation vectors as the port carries them.

    Returns
    -------
    ndarray of int64, shape (vectors,)
        Cycles of each vector.
    """
    steps = nonzero_per_group(design, act).max(axis=1)
    return np.maximum(1, steps.sum(axis=1)).astype(np.int64)


def digit_sparse_output_cycles(
    design: AdderTreeDesign, durations: np.ndarray, is_vector: np.ndarray
) -> np.ndarray:
    """Cycle of each vector's result for transfers presented back to back.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with ``digit_sparse``.
    durations : ndarray of int
        Per transfer in order: its vector cycles (:func:`digit_sparse_vector_cycles`) for
        an activation vector, 1 for a weight write.
    is_vector : ndarray of bool
        Which transfers are activation vectors.

    Returns
    -------
    ndarray of int64
        Per activation vector, the cycle its result is valid: the transfer's handshake
        (the sum of the earlier durations: the input is ready again in the cycle of a
        vector's last step) plus its own cycles plus ``latency - 1`` (flush, optional
        register, output register).
    """
    durations = np.asarray(durations, np.int64)
    handshake = np.concatenate([[0], np.cumsum(durations)[:-1]])
    sel = np.asarray(is_vector, bool)
    return handshake[sel] + durations[sel] + design.latency - 1


def digit_sparse_mean_cycles(design: AdderTreeDesign, x) -> Fraction:
    """Mean cycles per activation vector of a ``digit_sparse`` design streaming ``x``
    tile by tile: each row of ``x`` split into K-tiles of ``k`` lanes (the last padded with
    zeros), every tile one vector of :func:`digit_sparse_vector_cycles`; exact.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with ``digit_sparse``.
    x : array_like of int, shape (M, K)
        The activations as the port carries them.

    Returns
    -------
    fractions.Fraction
        Total cycles of the ``M x ceil(K / k)`` vectors over their number.
    """
    x = np.asarray(x)
    m, k = x.shape
    hw_k = design.k
    k_tiles = -(-k // hw_k)
    pad = np.zeros((m, k_tiles * hw_k), np.int64)
    pad[:, :k] = x
    tiles = pad.reshape(m, k_tiles, hw_k).transpose(1, 0, 2).reshape(-1, hw_k)
    return Fraction(int(digit_sparse_vector_cycles(design, tiles).sum()), tiles.shape[0])


def data_vector_cycles(design: AdderTreeDesign, x_codes) -> float | None:
    """Cycles one activation vector occupies the array on the data ``x_codes``: for a
    ``digit_sparse`` design the mean over the data's vectors
    (:func:`digit_sparse_mean_cycles`), None for a design whose cycles do not depend on the
    data. What a sweep's ``activity = "data"`` point uses instead of the random-data
    expectation (:func:`~shiftadd.design.bitweight.expected_vector_cycles`).

    Parameters
    ----------
    design : AdderTreeDesign
        The design.
    x_codes : array_like of int, shape (M, K)
        Activation codes in the design's range, as the port carries them.

    Returns
    -------
    float or None
        Mean cycles per vector, or None.
    """
    if not design.digit_sparse or np.asarray(x_codes).size == 0:
        return None
    return float(digit_sparse_mean_cycles(design, x_codes))


def digit_sparse_gemm_cycles(design: AdderTreeDesign, x: np.ndarray, n: int) -> int:
    """Cycles of the bench's tiled GEMM ``X[M, K] @ W[N, K].T`` on a ``digit_sparse``
    design (same schedule as :func:`adder_tree_cycles`: per K-tile and
    N-tile, the tile's weight rows, then the M vectors), exactly, given the activations.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with ``digit_sparse``.
    x : ndarray of int, shape (M, K)
        The activations as the port carries them.
    n : int
        Output columns N (rows of W).

    Returns
    -------
    int
        Cycles until the last result is out.
    """
    m, k = np.shape(x)
    # The sweep's formula with the tiles' mean vector cycles, kept exact as a fraction.
    mean = digit_sparse_mean_cycles(design, x)
    cycles = adder_tree_cycles(design.k, design.n, design.latency, m, int(n), k, mean)
    return int(cycles["cycles"])
