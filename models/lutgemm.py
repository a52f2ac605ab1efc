"""Integer-exact golden model of a LUT-GEMM with BCQ weights and shift (pow2/APoT) scales.

The layer computes ``Y[M, N] = X[M, K] @ W[N, K].T`` with integer (fixed-point) activations
``X`` and BCQ weights (see :mod:`shiftadd.workloads.bcq`)::

    W_int[n, k] = sum_i (2 * planes[i, n, k] - 1) * alpha_int[i, n // gr, k // mu_a]
    alpha_int   = sum_t signs[..., t] * 2**shifts[..., t]

The real-valued weights are ``W_int * 2**exp_base`` (the layer's fixed-point LSB), so the
real output is ``Y_int * 2**exp_base`` times the activations' own scale.

How the hardware computes it, and this model step by step:

1. For every activation vector and every group of ``mu`` consecutive inputs, a table of
   ``2**mu`` entries ``T[key] = sum_j (2 * key_j - 1) * x_j`` (bit j of the key = input j of
   the group) is built incrementally: ``T[0] = -x_0 - ... - x_{mu-1}`` (``mu`` add/subtract
   operations counting the first negation), then for ``s = 0 .. mu-1`` the entries
   ``T[2**s .. 2**(s+1) - 1] = T[key - 2**s] + 2 * x_s``: ``2**mu - 1`` adds and ``mu``
   shifts (the doublings ``2 * x_s``). Exactly ``2**mu + mu - 1`` adds and ``mu`` shifts per
   table (263 adds and 8 shifts for ``mu = 8``). (Using ``T[~key] = -T[key]`` would halve
   the adds; the model does not, so the counts are those of the plain construction.)
2. Per output row, bit plane and group: one lookup keyed by the ``mu`` bits of the plane.
3. The looked-up value is multiplied by the group's scale as shifts: one shift per nonzero
   APoT term and one add/subtract to combine each further term.
4. The scaled values are accumulated over groups and planes: ``q * K / mu - 1`` adds per
   output.

The scale block width ``mu_a`` (input columns per alpha set) must be a multiple of the LUT
width ``mu``; the column layout (``mu_a = 1``) therefore needs ``mu = 1``.
"""

from __future__ import annotations

import operator

import numpy as np

from ..errors import InputError

__all__ = [
    "lut_build_cost",
    "build_luts",
    "keys_from_planes",
    "alpha_int_from_terms",
    "dequantize_int",
    "dense_reference",
    "lut_gemm",
    "lut_gemm_ops",
    "lut_gemm_bcq",
]

MAX_MU = 12  # 2**12-entry tables: beyond that the tables dwarf the layer itself

# Elements of the (M, q, rows, K/mu) lookup array processed at once: bounds the temporaries
# (~32 MB of int64 each) whatever the layer size.
_CHUNK_ELEMS = 1 << 22


def _check_mu(mu) -> int:
    try:
        if isinstance(mu, bool):
            raise TypeError
        mu = operator.index(mu)
    except TypeError:
        raise InputError(
            f"expected an integer, got {mu!r}", field="mu", allowed=f"an integer in [1, {MAX_MU}]"
        ) from None
    if not 1 <= mu <= MAX_MU:
        raise InputError(
            f"{mu} is out of range", field="mu", allowed=f"an integer in [1, {MAX_MU}]"
        )
    return mu


def _check_x(x_int, mu: int | None = None) -> np.ndarray:
    x = np.asarray(x_int)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.size == 0:
        raise InputError(
            f"expected a non-empty (M, K) integer matrix, got shape {x.shape}", field="x_int"
        )
    if not np.issubdtype(x.dtype, np.integer):
        raise InputError(
            f"expected integers (fixed-point activations), got dtype {x.dtype}", field="x_int"
        )
    if mu is not None and x.shape[1] % mu:
        raise InputError(
            f"must divide in_features={x.shape[1]}",
            field="mu",
            allowed=f"a divisor of {x.shape[1]}",
        )
    return x.astype(np.int64, copy=False)


def _check_planes(planes) -> np.ndarray:
    p = np.asarray(planes)
    if p.ndim != 3 or p.size == 0:
        raise InputError(
            f"expected a non-empty (q, N, K) array, got shape {p.shape}", field="planes"
        )
    if p.dtype != bool:
        raise InputError(f"expected booleans (True = +1), got dtype {p.dtype}", field="planes")
    return p


def _check_terms(planes: np.ndarray, shifts, signs) -> tuple[np.ndarray, np.ndarray]:
    q, n, k = planes.shape
    sh = np.asarray(shifts)
    sg = np.asarray(signs)
    if sh.ndim == 3:  # pow2: one term
        sh = sh[..., None]
    if sg.ndim == 3:
        sg = sg[..., None]
    if sh.ndim != 4 or sh.shape[0] != q:
        raise InputError(
            f"expected shape (q={q}, N/group_rows, K/mu, terms), got {sh.shape}", field="shifts"
        )
    if sg.shape != sh.shape:
        raise InputError(f"shape {sg.shape} differs from shifts {sh.shape}", field="signs")
    if not (np.issubdtype(sh.dtype, np.integer) and np.issubdtype(sg.dtype, np.integer)):
        raise InputError("shifts and signs must be integers", field="shifts")
    if sh.shape[1] == 0 or n % sh.shape[1] or sh.shape[2] == 0 or k % sh.shape[2]:
        raise InputError(
            f"scale grid {sh.shape[1:3]} does not tile the layer ({n}, {k})", field="shifts"
        )
    if sh.size and (sh.min() < 0 or sh.max() > 40):
        raise InputError("shift amounts must lie in [0, 40]", field="shifts")
    if sg.size and np.any(np.abs(sg) > 1):
        raise InputError("signs must be -1, 0 or +1", field="signs")
    return sh.astype(np.int64), sg.astype(np.int64)


def lut_build_cost(mu: int) -> dict[str, int]:
    """Operations to build one ``2**mu``-entry table (see the module docstring).

    Parameters
    ----------
    mu : int
        LUT width (inputs per table), 1 to 12.

    Returns
    -------
    dict
        ``adds`` = ``2**mu - 1`` (incremental entries) ``+ mu`` (entry 0), ``shifts`` = ``mu``,
        ``entries`` = ``2**mu``.
    """
    mu = _check_mu(mu)
    return {"adds": (1 << mu) - 1 + mu, "shifts": mu, "entries": 1 << mu}


def build_luts(x_int, mu: int) -> np.ndarray:
    """Tables ``T[m, g, key] = sum_j (2 * key_j - 1) * x[m, g * mu + j]``.

    Parameters
    ----------
    x_int : array_like of int, shape (M, K)
        Fixed-point activations.
    mu : int
        Inputs per table (1 to 12); must divide K.

    Returns
    -------
    numpy.ndarray of int64, shape (M, K // mu, 2**mu)
        Built with the incremental construction (each doubling step adds ``2 * x_s`` to a
        copy of the entries built so far), vectorized over all groups and vectors.
    """
    mu = _check_mu(mu)
    x = _check_x(x_int, mu)
    m, k = x.shape
    xg = x.reshape(m, k // mu, mu)
    table = -xg.sum(axis=2, keepdims=True)  # key 0: every input taken as -1
    for s in range(mu):
        # keys with bit s set: the same key without it, with x_s flipped from -1 to +1
        table = np.concatenate([table, table + 2 * xg[:, :, s : s + 1]], axis=2)
    return table


def keys_from_planes(planes, mu: int) -> np.ndarray:
    """Pack each group of ``mu`` plane bits into a table key (bit j = column j of the group).

    Parameters
    ----------
    planes : numpy.ndarray of bool, shape (q, N, K)
    mu : int

    Returns
    -------
    numpy.ndarray, shape (q, N, K // mu)
        uint8 for ``mu <= 8``, else uint16.
    """
    mu = _check_mu(mu)
    p = _check_planes(planes)
    q, n, k = p.shape
    if k % mu:
        raise InputError(f"must divide in_features={k}", field="mu", allowed=f"a divisor of {k}")
    pg = p.reshape(q, n, k // mu, mu)
    if mu == 8:
        return np.packbits(pg, axis=-1, bitorder="little")[..., 0]
    dtype = np.uint8 if mu <= 8 else np.uint16
    keys = np.zeros((q, n, k // mu), dtype)
    for j in range(mu):
        keys |= pg[..., j].astype(dtype) << dtype(j)
    return keys


def alpha_int_from_terms(shifts, signs) -> np.ndarray:
    """Integer scales ``sum_t signs * 2**shifts`` (int64; last axis = terms).

    Parameters
    ----------
    shifts : array_like of int, shape (..., terms)
        Shift amount of each scale term.
    signs : array_like of int, shape (..., terms)
        Sign of each term: -1, 0 (unused term) or +1.

    Returns
    -------
    numpy.ndarray of int64, shape (...)
        The integer scales ``alpha_int``.
    """
    sh = np.asarray(shifts).astype(np.int64)
    sg = np.asarray(signs).astype(np.int64)
    return (sg << sh).sum(axis=-1)


def dequantize_int(planes, shifts, signs) -> np.ndarray:
    """Integer weights ``W_int[n, k] = sum_i (2 * planes[i, n, k] - 1) * alpha_int``.

    Parameters
    ----------
    planes : numpy.ndarray of bool, shape (q, N, K)
    shifts, signs : numpy.ndarray, shape (q, N / group_rows, K / mu_a, terms)

    Returns
    -------
    numpy.ndarray of int64, shape (N, K)
    """
    p = _check_planes(planes)
    sh, sg = _check_terms(p, shifts, signs)
    q, n, k = p.shape
    a = alpha_int_from_terms(sh, sg)  # (q, Ng, Kba)
    gr, mua = n // a.shape[1], k // a.shape[2]
    full = np.repeat(np.repeat(a, gr, axis=1), mua, axis=2)
    return np.where(p, full, -full).sum(axis=0)


def dense_reference(x_int, w_int) -> np.ndarray:
    """Exact ``X @ W.T`` in int64 (no floating point anywhere).

    Parameters
    ----------
    x_int : array_like of int, shape (M, K)
    w_int : array_like of int, shape (N, K)

    Returns
    -------
    numpy.ndarray of int64, shape (M, N)
    """
    x = _check_x(x_int)
    w = np.asarray(w_int)
    if w.ndim != 2 or w.shape[1] != x.shape[1]:
        raise InputError(f"expected shape (N, {x.shape[1]}), got {w.shape}", field="w_int")
    if not np.issubdtype(w.dtype, np.integer):
        raise InputError(f"expected integers, got dtype {w.dtype}", field="w_int")
    return x @ w.astype(np.int64).T


def lut_gemm_ops(m: int, planes_shape: tuple[int, int, int], signs, mu: int) -> dict[str, int]:
    """Operation counts of :func:`lut_gemm` for ``m`` activation vectors.

    Parameters
    ----------
    m : int
        Activation vectors (batch).
    planes_shape : (q, N, K)
    signs : numpy.ndarray, shape (q, N / group_rows, K / mu_a, terms)
        The scale term signs (0 = unused term); only the count of nonzero terms matters.
    mu : int
        LUT width.

    Returns
    -------
    dict
        ``lut_tables``, ``lut_build_adds``, ``lut_build_shifts``, ``lookups``,
        ``scale_shifts`` (one per nonzero term per lookup, a shift by 0 included),
        ``scale_adds`` (terms - 1 per lookup), ``accumulate_adds``, and the totals ``adds``
        and ``shifts``; ``mults`` is 0.
    """
    mu = _check_mu(mu)
    q, n, k = planes_shape
    sg = np.asarray(signs)
    if sg.ndim == 3:
        sg = sg[..., None]
    kb = k // mu
    ng, kba = sg.shape[1], sg.shape[2]
    gr, ratio = n // ng, (k // kba) // mu  # rows and LUT blocks sharing a scale
    per_scale = np.count_nonzero(sg, axis=-1)  # terms present in each scale
    nnz = int(per_scale.sum())
    combine = int(np.maximum(per_scale - 1, 0).sum())
    per_table = lut_build_cost(mu)
    ops = {
        "lut_tables": m * kb,
        "lut_build_adds": m * kb * per_table["adds"],
        "lut_build_shifts": m * kb * per_table["shifts"],
        "lookups": m * q * n * kb,
        "scale_shifts": m * gr * ratio * nnz,
        "scale_adds": m * gr * ratio * combine,
        "accumulate_adds": m * n * (q * kb - 1),
        "mults": 0,
    }
    ops["adds"] = ops["lut_build_adds"] + ops["scale_adds"] + ops["accumulate_adds"]
    ops["shifts"] = ops["lut_build_shifts"] + ops["scale_shifts"]
    return ops


def lut_gemm(x_int, planes, shifts, signs, mu: int = 8, *, return_ops: bool = False):
    """Exact integer LUT-GEMM ``Y_int = X_int @ W_int.T`` the way the hardware computes it.

    Parameters
    ----------
    x_int : array_like of int, shape (M, K)
        Fixed-point activations.
    planes : numpy.ndarray of bool, shape (q, N, K)
        Bit planes, True = +1.
    shifts, signs : numpy.ndarray, shape (q, N / group_rows, K / mu_a, terms)
        Scale terms: ``alpha_int = sum_t signs * 2**shifts`` (a 3-D array is one term).
    mu : int
        LUT width (inputs per table); must divide the scale block width ``mu_a``.
    return_ops : bool
        Also return the operation counts of :func:`lut_gemm_ops`.

    Returns
    -------
    numpy.ndarray of int64, shape (M, N)
        Equal to ``dense_reference(x_int, dequantize_int(planes, shifts, signs))``.
    dict
        Only with ``return_ops``.
    """
    mu = _check_mu(mu)
    p = _check_planes(planes)
    x = _check_x(x_int, mu)
    sh, sg = _check_terms(p, shifts, signs)
    q, n, k = p.shape
    if x.shape[1] != k:
        raise InputError(
            f"has {x.shape[1]} columns, the weights have in_features={k}",
            field="x_int",
            allowed=f"shape (M, {k})",
        )
    ng, kba, nterms = sh.shape[1:]
    gr, mua = n // ng, k // kba
    if mua % mu:
        raise InputError(
            f"must divide the scale block width {mua}", field="mu", allowed=f"a divisor of {mua}"
        )
    # int64 headroom: |Y| <= max|x| * K * q * max|alpha_int|
    amax = int(np.abs(alpha_int_from_terms(sh, sg)).max())
    if int(np.abs(x).max()) * k * q * max(amax, 1) >= 2**62:
        raise InputError(
            "the result could overflow int64; use narrower activations or fewer shift bits",
            field="x_int",
        )

    m = x.shape[0]
    kb = k // mu
    ratio = mua // mu
    ops = lut_gemm_ops(m, p.shape, sg, mu) if return_ops else None
    flat_tables = build_luts(x, mu).reshape(m, kb * (1 << mu))
    keys = keys_from_planes(p, mu)
    base = np.arange(kb, dtype=np.intp) << mu  # start of each group's table
    if ratio > 1:  # one scale spans several LUT groups
        sh = np.repeat(sh, ratio, axis=2)
        sg = np.repeat(sg, ratio, axis=2)
    y = np.empty((m, n), np.int64)
    rows = max(gr, (_CHUNK_ELEMS // max(1, m * q * kb)) // gr * gr)
    for n0 in range(0, n, rows):
        n1 = min(n, n0 + rows)
        g0, g1 = n0 // gr, n1 // gr
        # 2. one lookup per (vector, plane, row, group)
        looked = flat_tables[:, keys[:, n0:n1].astype(np.intp) + base]  # (M, q, rows, kb)
        looked = looked.reshape(m, q, g1 - g0, gr, kb)
        # 3. scale as shifts: sum over terms of sign * (value << shift)
        acc = np.zeros_like(looked)
        for t in range(nterms):
            d = sh[:, g0:g1, None, :, t]
            s = sg[:, g0:g1, None, :, t]
            acc += s * (looked << d)
        # 4. accumulate over planes and groups
        y[:, n0:n1] = acc.sum(axis=(1, 4)).reshape(m, n1 - n0)
    return (y, ops) if return_ops else y


def lut_gemm_bcq(x_int, result, mu: int | None = None, *, return_ops: bool = False):
    """:func:`lut_gemm` with the planes and scale terms of a
    :class:`~shiftadd.workloads.bcq.BCQResult` (pow2/APoT scales).

    ``mu`` defaults to the result's scale block width. The real-valued output is
    ``Y_int * 2**result.exp_base`` times the activation scale.

    Parameters
    ----------
    x_int : array_like of int, shape (M, K)
        Fixed-point activations.
    result : BCQResult
        Quantized weights; its scales must be pow2 or APoT (``shifts`` not None).
    mu : int, optional
        LUT width (inputs per table); default the result's scale block width ``result.mu``.
    return_ops : bool
        Also return the operation counts of :func:`lut_gemm_ops`.

    Returns
    -------
    numpy.ndarray of int64, shape (M, N)
        The integer output ``Y_int``.
    dict
        Only with ``return_ops``.
    """
    if result.shifts is None:
        raise InputError(
            "free (float) scales cannot be applied as shifts",
            field="scale_form",
            allowed=["pow2", "apot"],
        )
    return lut_gemm(
        x_int,
        result.planes,
        result.shifts,
        result.signs,
        result.mu if mu is None else mu,
        return_ops=return_ops,
    )
