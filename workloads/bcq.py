"""Binary-coding quantization (BCQ) with shift-friendly scales, after ShiftAddLLM.

A weight matrix ``W`` of shape ``(N, K)`` = ``(out_features, in_features)`` is approximated as

    W ~= sum_{i=1..q} alpha_i * B_i,   B_i in {-1, +1},  alpha_i > 0,

where one set of ``q`` scales ``alpha`` is shared by a *group* of weights:

* ``layout="column"``: ``group_rows`` consecutive output rows of one input column;
* ``layout="kernel"``: a block of ``group_rows`` output rows x ``mu`` consecutive input
  columns. This is the layout a LUT-GEMM kernel needs: the ``mu`` activations a table is
  built from all see the same scale, so one lookup is followed by one scale multiplication.
  The column layout is the kernel layout with ``mu = 1``, and that is how it is implemented.

The solver is the one of the paper: a greedy start (``b = sign(r)``, ``alpha = mean|r|``,
``r -= alpha * b`` per bit) followed by alternating refinement: least squares for the scales
given the bit planes, then for every weight the nearest of the ``2^q`` codes given the scales.
The scales are then restricted to a form the hardware applies without a multiplier:

* ``"free"``: stored as float16 (one multiplication per scale);
* ``"pow2"``: a single power of two (one shift);
* ``"apot"``: a sum of ``apot_terms`` signed powers of two (``t`` shifts, ``t - 1`` adds).

Rounded scales take part in the refinement (least squares, round, keep the new scales of a
group only if they lower that group's error, re-fit the codes), so the reported error
history never increases, and the final bit planes are always the optimal codes for the final
(rounded) scales.

Integer (fixed-point) form of the pow2/apot scales
--------------------------------------------------
All scales of a layer share one binary point. With ``e_max`` the exponent of the layer's
largest weight magnitude as returned by :func:`numpy.frexp` (so ``max|W| < 2**e_max``) and
``D = 2**shift_bits - 1``, the layer LSB is ``2**exp_base`` with ``exp_base = e_max - D``.
Every scale is

    alpha[i, g, b] = 2**exp_base * sum_t sign[i, g, b, t] * 2**shift[i, g, b, t]

with ``shift`` in ``[0, D]`` (an unsigned ``shift_bits``-bit field) and ``sign`` in
``{-1, 0, +1}`` (0: term unused). ``alpha_int = sum_t sign * 2**shift`` is an integer, and
the integer weight ``W_int = sum_i (2*planes[i] - 1) * alpha_int`` times ``2**exp_base`` is
the reconstruction (exactly representable in float32 for ``shift_bits <= 4``; for 5 the
float32 arrays are rounded once and the integer form is authoritative). Terms are stored
largest shift first; the first term is always present and positive.

Output-aware mode
-----------------
Given calibration activations ``X`` (``calib``, shape ``(samples, K)``), the layer output
error ``||X W^T - X Wq^T||^2`` is minimized GPTQ-style: ``H = X^T X`` (plus damping), the
input columns are processed in blocks with the quantization error fed back to the columns
not yet quantized through the upper Cholesky factor of ``H^-1``. As in ShiftAddLLM's kernel
mode, the scales of a ``mu``-column block are fitted when the block is reached (on the
error-compensated weights) and each column's codes are re-fitted after the feedback from the
previous columns of the block.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from .quant_base import QuantizedTensor, check_weights, register_format

__all__ = [
    "BCQResult",
    "bcq_quantize",
    "bcq_fixed_quantize",
    "scale_bits",
    "shift_add_per_scale",
    "LAYOUTS",
    "SCALE_FORMS",
    "APOT_SEARCH",
]

LAYOUTS = ("column", "kernel")
SCALE_FORMS = ("free", "pow2", "apot")
APOT_SEARCH = ("nearest", "greedy")

# Weights in one solver chunk: bounds the temporaries (index arrays, comparisons) to tens of
# MB and keeps them cache-friendly, independent of the layer size.
_CHUNK_ELEMS = 1 << 21
# Weights per alpha set when group_rows is not given (the reference uses 128: 128 rows of a
# column, or 16 rows x 8 columns in the kernel layout).
_DEFAULT_GROUP_WEIGHTS = 128
_FP16_MAX = 65504.0
_FP16_MIN = 2.0**-24  # smallest positive float16 (subnormal)


# ---------------------------------------------------------------------------------------
# scale forms
# ---------------------------------------------------------------------------------------


def scale_bits(scale_form: str, apot_terms: int = 3, shift_bits: int = 4) -> int:
    """Storage bits of one scale ``alpha``.

    Parameters
    ----------
    scale_form : {"free", "pow2", "apot"}
        How the scale is stored (see the module docstring).
    apot_terms : int
        Terms per APoT scale.
    shift_bits : int
        Width of one shift field.

    Returns
    -------
    int
        ``free``: 16 (float16); ``pow2``: ``shift_bits`` (the sign is always +);
        ``apot``: ``t * shift_bits + 2 * (t - 1)`` (the first term is always +, the others
        carry a 2-bit sign in {-1, 0, +1}).
    """
    if scale_form == "free":
        return 16
    if scale_form == "pow2":
        return shift_bits
    return apot_terms * shift_bits + 2 * (apot_terms - 1)


def shift_add_per_scale(scale_form: str, apot_terms: int = 3) -> dict[str, int]:
    """Operations one multiplication by a scale costs in each form.

    Parameters
    ----------
    scale_form : {"free", "pow2", "apot"}
        How the scale is applied (see the module docstring).
    apot_terms : int
        Terms per APoT scale (apot only).

    Returns
    -------
    dict
        ``{"shifts", "adds", "mults"}``: pow2 1/0/0, apot ``t``/``t-1``/0, free 0/0/1.
    """
    if scale_form == "free":
        return {"shifts": 0, "adds": 0, "mults": 1}
    if scale_form == "pow2":
        return {"shifts": 1, "adds": 0, "mults": 0}
    return {"shifts": apot_terms, "adds": apot_terms - 1, "mults": 0}


def _nearest_exponent(x: np.ndarray) -> np.ndarray:
    """Integer ``e`` minimizing ``|x - 2**e|`` for ``x > 0`` (linear, not log, distance)."""
    f, p = np.frexp(x)  # x = f * 2**p, f in [0.5, 1)
    # 2**(p-1) <= x < 2**p; the linear midpoint of the two candidates is 0.75 * 2**p.
    return (p - 1 + (f > 0.75)).astype(np.int64)


@functools.lru_cache(maxsize=32)
def _apot_table(terms: int, dmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All positive values ``sum_t s_t 2**d_t`` (``d`` distinct in ``[0, dmax]``), ascending.

    Each value keeps its representation with the fewest nonzero terms, terms ordered by
    shift, largest first, unused terms last (shift 0, sign 0). Built once per (t, D): at most
    ``sum_k C(D+1, k) 2**k`` candidates (4,993 for t=3, D=15).
    """
    vals: Any  # lists of parts, then their concatenation
    shs: Any
    sgs: Any
    vals, shs, sgs = [], [], []
    for k in range(1, terms + 1):
        for ds in itertools.combinations(range(dmax, -1, -1), k):  # descending shifts
            d = np.array(ds, dtype=np.int64)
            # first term +1 (a positive value's largest term is positive), others +-1
            signs = np.array(
                list(itertools.product((1, -1), repeat=k - 1)), dtype=np.int64
            ).reshape(1 << (k - 1), k - 1)
            signs = np.concatenate([np.ones((len(signs), 1), np.int64), signs], axis=1)
            v = signs @ (np.int64(1) << d)
            pad = terms - k
            vals.append(v)
            shs.append(
                np.broadcast_to(np.concatenate([d, np.zeros(pad, np.int64)]), (len(v), terms))
            )
            sgs.append(np.concatenate([signs, np.zeros((len(v), pad), np.int64)], axis=1))
    vals = np.concatenate(vals)
    shs = np.concatenate(shs)
    sgs = np.concatenate(sgs)
    nnz = np.count_nonzero(sgs, axis=1)
    order = np.lexsort((nnz, vals))
    vals, shs, sgs = vals[order], shs[order], sgs[order]
    keep = np.concatenate([[True], vals[1:] != vals[:-1]]) & (vals > 0)
    return vals[keep], shs[keep].astype(np.uint8), sgs[keep].astype(np.int8)


@dataclass(frozen=True)
class _ScaleGrid:
    """How scales are rounded for one layer (see the module docstring for the format)."""

    form: str
    terms: int  # terms per scale (0 for free)
    exp_base: int  # layer LSB exponent (pow2/apot)
    dmax: int  # largest shift amount
    search: str = "nearest"

    def round(self, a: np.ndarray):
        """Round positive scales ``a`` (any shape); return (values, shifts, signs).

        ``shifts``/``signs`` have shape ``a.shape + (terms,)`` (None for free scales).
        """
        if self.form == "free":
            v = np.clip(a, _FP16_MIN, _FP16_MAX).astype(np.float16).astype(np.float64)
            return v, None, None
        lsb = math.ldexp(1.0, self.exp_base)
        if self.form == "pow2":
            d = np.clip(_nearest_exponent(np.maximum(a, lsb)) - self.exp_base, 0, self.dmax)
            return (
                np.ldexp(1.0, d + self.exp_base),
                d.astype(np.uint8)[..., None],
                np.ones(a.shape + (1,), np.int8),
            )
        if self.search == "nearest":
            return self._round_apot_nearest(a, lsb)
        return self._round_apot_greedy(a, lsb)

    def _round_apot_nearest(self, a, lsb):
        vals, shs, sgs = _apot_table(self.terms, self.dmax)
        u = a / lsb
        hi = np.clip(np.searchsorted(vals, u), 1, len(vals) - 1)
        lo = hi - 1
        pick = np.where(np.abs(vals[hi] - u) < np.abs(u - vals[lo]), hi, lo)
        return vals[pick].astype(np.float64) * lsb, shs[pick], sgs[pick]

    def _round_apot_greedy(self, a, lsb):
        # Each term is the signed power of two nearest to the residual, or 0 when 0 is nearer;
        # the residual magnitude never grows, so the sum stays positive once the first term
        # is (values below one LSB are set to one LSB, the nearest positive grid value).
        t = self.terms
        shifts = np.zeros(a.shape + (t,), np.uint8)
        signs = np.zeros(a.shape + (t,), np.int8)
        r = a.astype(np.float64).copy()
        val = np.zeros_like(r)
        for k in range(t):
            mag = np.abs(r)
            e = np.clip(
                _nearest_exponent(np.maximum(mag, lsb)), self.exp_base, self.exp_base + self.dmax
            )
            p = np.ldexp(1.0, e)
            use = np.ones(r.shape, bool) if k == 0 else (p < 2.0 * mag)
            s = np.where(use, np.where(r < 0, -1, 1), 0)
            val += s * p
            r -= s * p
            shifts[..., k] = np.where(use, e - self.exp_base, 0)
            signs[..., k] = s
        small = a < lsb
        if np.any(small):
            val[small] = lsb
            shifts[small] = 0
            signs[small] = 0
            signs[small, 0] = 1
        return val, shifts, signs


def _sign_table(q: int) -> np.ndarray:
    """(2**q, q) float64: entry [c, i] = +1 if bit i of code c is set, else -1."""
    c = np.arange(1 << q)[:, None]
    return 2.0 * ((c >> np.arange(q)[None, :]) & 1) - 1.0


# ---------------------------------------------------------------------------------------
# the group solver (all groups of a chunk at once)
# ---------------------------------------------------------------------------------------


def _rows_take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a[g, idx[g, j]]`` for 2-D ``a``, via one flat take (cheaper than take_along_axis)."""
    a = np.ascontiguousarray(a)
    off = (np.arange(a.shape[0], dtype=np.intp) * a.shape[1])[:, None]
    return a.ravel().take(idx.astype(np.intp, copy=False) + off)


def _rows_put(shape, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Array of ``shape`` with ``out[g, idx[g, j]] = vals[g, j]`` (idx a permutation per row)."""
    out = np.empty(shape, vals.dtype)
    off = (np.arange(shape[0], dtype=np.intp) * shape[1])[:, None]
    out.ravel()[idx.astype(np.intp, copy=False) + off] = vals
    return out


def _code_table(alpha: np.ndarray, sgn: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the codes sorted by value and the midpoints between consecutive values."""
    v = alpha @ sgn.T  # (groups, 2**q)
    order = np.argsort(v, axis=1, kind="stable")
    vs = _rows_take(v, order)
    return order.astype(np.uint8), (0.5 * (vs[:, 1:] + vs[:, :-1])).astype(dtype)


def _assign_codes(g: np.ndarray, order: np.ndarray, mids: np.ndarray) -> np.ndarray:
    """Nearest code of every weight of ``g`` (groups, S) given its group's code table.

    The reachable values of a group form a sorted 1-D set, so the nearest code is found by
    counting the midpoints below the weight: 2**q - 1 comparisons, no distance array.
    """
    idx = np.zeros(g.shape, np.uint8)
    for t in range(mids.shape[1]):
        idx += g > mids[:, t : t + 1]
    ng, size = g.shape
    return _rows_take(order, idx.reshape(ng, size))


def _count_not_above(gs: np.ndarray, mids: np.ndarray) -> np.ndarray:
    """For rows ``gs`` sorted ascending: how many entries of each row are <= each mid.

    A branch-free binary search run on all (group, midpoint) pairs at once: log2(S) gathers
    on a (groups, 2**q - 1) index array instead of 2**q - 1 comparisons of every weight.
    """
    ng, s = gs.shape
    flat = gs.ravel()
    row0 = (np.arange(ng, dtype=np.intp) * s - 1)[:, None]  # flat index of entry -1 of a row
    pos = np.zeros(mids.shape, np.intp)
    step = 1 << (s.bit_length() - 1)
    while step:
        cand = pos + step
        ok = cand <= s
        ok &= flat.take(row0 + np.minimum(cand, s)) <= mids
        pos = np.where(ok, cand, pos)
        step >>= 1
    return pos


def _sorted_stats(gs, csum, order, mids):
    """Count and sum of the weights per group and code under the nearest-code assignment.

    ``gs`` are the group's weights sorted ascending and ``csum`` their prefix sums: the
    weights given the k-th smallest code value form one contiguous run between two
    midpoints, so its count and sum are differences at the run boundaries.
    """
    ng, s = gs.shape
    bounds = np.concatenate(
        [np.zeros((ng, 1), np.intp), _count_not_above(gs, mids), np.full((ng, 1), s, np.intp)],
        axis=1,
    )
    cnt_pos = np.diff(bounds, axis=1).astype(np.float64)
    sw_pos = np.diff(_rows_take(csum, bounds), axis=1)
    return _rows_put(cnt_pos.shape, order, cnt_pos), _rows_put(sw_pos.shape, order, sw_pos)


def _group_sse(alpha, cnt, sw, sumsq, sgn):
    """Squared error per group of codes (summarized by cnt, sw) with scales ``alpha``."""
    v = alpha @ sgn.T
    return sumsq - 2.0 * np.einsum("gc,gc->g", v, sw) + np.einsum("gc,gc->g", cnt, v * v)


def _sort_desc(alpha, shifts, signs):
    order = np.argsort(-alpha, axis=1, kind="stable")
    alpha = _rows_take(alpha, order)
    if shifts is not None:
        shifts = np.take_along_axis(shifts, order[..., None], axis=1)
        signs = np.take_along_axis(signs, order[..., None], axis=1)
    return alpha, shifts, signs


def _fit_groups(g: np.ndarray, q: int, iters: int, grid: _ScaleGrid):
    """BCQ of every row of ``g`` (groups, S): greedy start, then alternating refinement.

    Returns codes (groups, S) uint8 (bit i set = plane i is +1), alphas (groups, q) float64
    on the grid, sorted descending, shifts/signs (groups, q, t) or None, and the total
    squared error after the start and after every iteration (length iters + 1).
    """
    ng, s = g.shape
    sgn = _sign_table(q)
    ncodes = 1 << q
    # outer products of the sign vectors, to assemble B^T B from the code counts
    outer = (sgn[:, :, None] * sgn[:, None, :]).reshape(ncodes, q * q)
    ridge = 1e-9 * s * np.eye(q)  # keeps B^T B invertible when two planes coincide

    # The weights of a group never change (plain mode) and the nearest-code assignment only
    # depends on where each weight falls among the sorted code values, so the refinement
    # works on each group sorted once, with prefix sums; codes are assigned at the end.
    gs = np.sort(g, axis=1)
    csum = np.zeros((ng, s + 1))
    np.cumsum(gs, axis=1, dtype=np.float64, out=csum[:, 1:])
    sumsq = np.einsum("gs,gs->g", gs, gs, dtype=np.float64)

    # greedy start: b = sign(r), alpha = mean|r|, r -= alpha * b
    r = gs.astype(np.float32, copy=True)
    alpha0 = np.empty((ng, q))
    for i in range(q):
        a = np.abs(r).mean(axis=1, dtype=np.float64)
        alpha0[:, i] = a
        r -= np.where(r >= 0, np.float32(1), np.float32(-1)) * a[:, None].astype(np.float32)
    del r
    alpha, shifts, signs = grid.round(np.maximum(alpha0, _FP16_MIN))
    alpha, shifts, signs = _sort_desc(alpha, shifts, signs)

    hist = np.empty(iters + 1)
    for it in range(iters + 1):
        # B step (nearest codes for the current scales), summarized per group and code
        order, mids = _code_table(alpha, sgn, gs.dtype)
        cnt, sw = _sorted_stats(gs, csum, order, mids)
        sse_cur = _group_sse(alpha, cnt, sw, sumsq, sgn)
        hist[it] = sse_cur.sum()
        if it == iters:
            break
        # least squares for the scales given the planes: (B^T B) alpha = B^T w per group
        a_mat = (cnt @ outer).reshape(ng, q, q) + ridge
        rhs = sw @ sgn
        a_ls = np.linalg.solve(a_mat, rhs[..., None])[..., 0]
        # |alpha| with the plane flipped is the same reconstruction; round the magnitudes
        mag = np.maximum(np.abs(a_ls), _FP16_MIN)
        a_new, sh_new, sg_new = grid.round(mag)
        signed = np.where(a_ls < 0, -a_new, a_new)
        better = _group_sse(signed, cnt, sw, sumsq, sgn) < sse_cur
        # a group keeps its scales unless the new (rounded) ones lower its error: with the
        # exact nearest-code step that follows, the error can never increase
        alpha = np.where(better[:, None], a_new, alpha)
        if shifts is not None:
            shifts = np.where(better[:, None, None], sh_new, shifts)
            signs = np.where(better[:, None, None], sg_new, signs)
        alpha, shifts, signs = _sort_desc(alpha, shifts, signs)
    codes = _assign_codes(g, order, mids)
    return codes, alpha, shifts, signs, hist


def _dequantize(planes, per_group, gr, mu, dtype) -> np.ndarray:
    """sum_i (2*planes[i] - 1) * per_group[i] broadcast over (gr rows, mu columns)."""
    q, n, k = planes.shape
    ng = per_group.shape[1]
    # float sums are accumulated in float64 and rounded once (free float16 scales of very
    # different magnitudes need more than float32's 24 bits); integer sums are exact
    acc = np.int64 if np.issubdtype(dtype, np.integer) else np.float64
    out = np.zeros((n, k), acc)
    view = out.reshape(ng, gr, k)
    for i in range(q):
        # scales repeated along the columns only (small); rows broadcast through the view
        a = np.repeat(per_group[i].astype(acc), mu, axis=1)[:, None, :]
        view += np.where(planes[i].reshape(ng, gr, k), a, -a)
    return out.astype(dtype, copy=False)


# ---------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BCQResult:
    """A BCQ-quantized weight matrix.

    Parameters
    ----------
    planes : numpy.ndarray
        bool ``(q, N, K)``; True = +1, False = -1.
    alphas : numpy.ndarray
        float32 ``(q, N // group_rows, K // mu)``, descending along axis 0, all > 0:
        ``W[n, k] ~= sum_i alphas[i, n // group_rows, k // mu] * (2 * planes[i, n, k] - 1)``.
    shifts, signs : numpy.ndarray or None
        pow2/apot only: uint8 / int8 ``(q, N // group_rows, K // mu, t)`` with
        ``alphas == 2**exp_base * sum_t signs * 2**shifts`` (t = 1 for pow2).
    exp_base : int or None
        The layer's fixed-point LSB exponent (pow2/apot only).
    q, group_rows, mu : int
        Bits, rows per group and input columns per alpha set (1 for the column layout).
    layout : {"kernel", "column"}
        Alpha-set layout (see the module docstring).
    scale_form : {"apot", "pow2", "free"}
        How the scales are stored and applied.
    apot_terms : int
        Terms per scale: as given for apot, 1 for pow2, 0 for free.
    shift_bits : int
        Width of one shift field.
    errors : dict
        ``weight_mse``; ``history`` (total squared weight error after the greedy start and
        every refinement iteration, non-increasing; plain mode); with calibration data
        ``output_mse`` and, when the plain run is also made, ``plain_weight_mse`` and
        ``plain_output_mse``.
    params : dict
        The resolved options.
    """

    planes: np.ndarray
    alphas: np.ndarray
    shifts: np.ndarray | None
    signs: np.ndarray | None
    exp_base: int | None
    q: int
    layout: str
    mu: int
    group_rows: int
    scale_form: str
    apot_terms: int
    shift_bits: int
    errors: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the weight matrix, ``(N, K)``."""
        return tuple(self.planes.shape[1:])

    @property
    def alpha_int(self) -> np.ndarray:
        """int64 ``(q, N // group_rows, K // mu)``: ``alphas / 2**exp_base`` (pow2/apot)."""
        if self.shifts is None:
            raise InputError(
                "free scales have no integer form", field="scale_form", allowed=["pow2", "apot"]
            )
        assert self.signs is not None
        return (self.signs.astype(np.int64) << self.shifts.astype(np.int64)).sum(axis=-1)

    def dequantized(self) -> np.ndarray:
        """float32 ``(N, K)`` reconstruction (computed on each call).

        For pow2/APoT scales it is ``dequantized_int() * 2**exp_base`` rounded once to
        float32 (exact for ``shift_bits <= 4``, where every value fits float32's mantissa).

        Returns
        -------
        numpy.ndarray
            float32 ``(N, K)``.
        """
        if self.shifts is not None:
            assert self.exp_base is not None
            wf = self.dequantized_int().astype(np.float64)
            wf *= 2.0**self.exp_base  # exact: a power of two
            return wf.astype(np.float32)
        return _dequantize(self.planes, self.alphas, self.group_rows, self.mu, np.float32)

    def dequantized_int(self) -> np.ndarray:
        """int64 ``(N, K)`` integer weights: ``dequantized() == this * 2**exp_base``.

        Returns
        -------
        numpy.ndarray
            int64 ``(N, K)``.

        Raises
        ------
        InputError
            Free scales, which have no integer form.
        """
        return _dequantize(self.planes, self.alpha_int, self.group_rows, self.mu, np.int64)

    @property
    def n_scales(self) -> int:
        """Number of scales (alpha values) stored."""
        return int(self.alphas.size)

    @property
    def storage_bits(self) -> int:
        """Bit planes + scales (+ 8 bits for ``exp_base`` in the fixed-point forms)."""
        bits = self.planes.size + self.n_scales * scale_bits(
            self.scale_form, self.apot_terms, self.shift_bits
        )
        return int(bits + (8 if self.exp_base is not None else 0))

    @property
    def shift_add_counts(self) -> dict[str, int]:
        """Cost of applying the scales, per activation vector, in a LUT-GEMM.

        Every (bit plane, output row, block of ``mu`` inputs) lookup is followed by one
        scale multiplication: ``scale_mults = q * N * K / mu`` per activation vector.
        ``per_scale_*`` is the nominal cost of one (pow2: 1 shift; apot: t shifts, t - 1
        adds; free: 1 multiply), ``total_*`` = nominal x ``scale_mults``, and
        ``effective_*`` counts the terms actually present (an APoT scale may need fewer).
        """
        n, k = self.shape
        per = shift_add_per_scale(self.scale_form, self.apot_terms)
        mults = self.q * n * (k // self.mu)
        rows = self.group_rows
        out = {
            "per_scale_shifts": per["shifts"],
            "per_scale_adds": per["adds"],
            "per_scale_mults": per["mults"],
            "scale_mults": mults,
            "total_shifts": per["shifts"] * mults,
            "total_adds": per["adds"] * mults,
            "total_mults": per["mults"] * mults,
        }
        if self.signs is None:
            out.update(effective_shifts=0, effective_adds=0, effective_mults=mults)
        else:
            nnz = int(np.count_nonzero(self.signs)) * rows
            out.update(
                effective_shifts=nnz, effective_adds=nnz - self.n_scales * rows, effective_mults=0
            )
        return out

    def to_quantized_tensor(self) -> QuantizedTensor:
        """The result in the common :class:`~shiftadd.workloads.quant.QuantizedTensor` form.

        Payload keys: ``planes`` (bool (q, N, K)), ``alphas`` (float32 (q, N/group_rows,
        K/mu)); pow2/apot also ``scale_shifts`` (uint8 (q, N/group_rows, K/mu, t)),
        ``scale_signs`` (int8, same shape), ``alpha_int`` (int64 (q, N/group_rows, K/mu))
        and ``exp_base`` (0-d int32).

        Returns
        -------
        QuantizedTensor
            Format ``bcq<q>``, with :meth:`dequantized`, :attr:`storage_bits` and
            :attr:`params`.
        """
        payload = {"planes": self.planes, "alphas": self.alphas}
        if self.shifts is not None:
            assert self.signs is not None
            payload.update(
                scale_shifts=self.shifts,
                scale_signs=self.signs,
                alpha_int=self.alpha_int,
                exp_base=np.array(self.exp_base, dtype=np.int32),
            )
        return QuantizedTensor(
            fmt=f"bcq{self.q}",
            dequantized=self.dequantized(),
            storage_bits=self.storage_bits,
            payload=payload,
            params=dict(self.params),
        )


# ---------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------


def _int_arg(value, name: str, lo: int, hi: int | None = None) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        v = operator.index(value)
    except TypeError:
        raise InputError(
            f"expected an integer, got {value!r}",
            field=name,
            allowed=f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}",
        ) from None
    if v < lo or (hi is not None and v > hi):
        raise InputError(
            f"{v} is out of range",
            field=name,
            allowed=f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}",
        )
    return v


def _choice(value, name: str, choices) -> str:
    if value not in choices:
        raise InputError(f"unknown value {value!r}", field=name, allowed=list(choices))
    return value


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def check_calibration(calib, k: int) -> np.ndarray:
    """Calibration activations ``(samples, k)`` as float64, checked (shape, finite)."""
    x = np.asarray(calib)
    if x.ndim == 1:
        x = x[None, :] if x.size else x.reshape(0, k)
    if x.ndim != 2:
        raise InputError(
            f"expected a 2-D (samples, in_features) array, got shape {x.shape}", field="calib"
        )
    if x.shape[0] == 0:
        raise InputError(
            "the calibration set is empty", field="calib", allowed="at least one sample"
        )
    if x.shape[1] != k:
        raise InputError(
            f"has {x.shape[1]} features per sample, the layer has in_features={k}",
            field="calib",
            allowed=f"shape (samples, {k})",
        )
    if not np.issubdtype(x.dtype, np.number):
        raise InputError(f"expected numbers, got dtype {x.dtype}", field="calib")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise InputError("contains NaN or infinite values", field="calib")
    return x


def _layer_grid(w: np.ndarray, form: str, terms: int, shift_bits: int, search: str):
    dmax = (1 << shift_bits) - 1
    if form == "free":
        if float(np.max(np.abs(w))) > _FP16_MAX:
            raise InputError(
                "weights exceed the float16 range of free scales",
                field="scale_form",
                allowed=["pow2", "apot"],
            )
        return _ScaleGrid("free", 0, 0, 0)
    wmax = float(np.max(np.abs(w)))
    e_max = int(np.frexp(wmax)[1]) if wmax > 0 else 0  # max|W| < 2**e_max
    return _ScaleGrid(form, 1 if form == "pow2" else terms, e_max - dmax, dmax, search)


# ---------------------------------------------------------------------------------------
# drivers
# ---------------------------------------------------------------------------------------


def _to_groups(rows: np.ndarray, gr: int, mu: int) -> np.ndarray:
    """(n_rows, K) -> (row_groups * K/mu, gr*mu) group-major copy."""
    n, k = rows.shape
    return rows.reshape(n // gr, gr, k // mu, mu).transpose(0, 2, 1, 3).reshape(-1, gr * mu)


def _from_groups(codes: np.ndarray, n: int, k: int, gr: int, mu: int) -> np.ndarray:
    return codes.reshape(n // gr, k // mu, gr, mu).transpose(0, 2, 1, 3).reshape(n, k)


def _store_planes(planes, n0, codes_nk, q):
    for i in range(q):
        planes[i, n0 : n0 + codes_nk.shape[0]] = (codes_nk >> np.uint8(i)) & np.uint8(1)


def _quantize_plain(w, q, gr, mu, iters, grid):
    n, k = w.shape
    ng, kb = n // gr, k // mu
    t = grid.terms
    planes = np.empty((q, n, k), bool)
    alphas = np.empty((q, ng, kb), np.float32)
    shifts = np.empty((q, ng, kb, t), np.uint8) if t else None
    signs = np.empty((q, ng, kb, t), np.int8) if t else None
    hist = np.zeros(iters + 1)
    rows = max(gr, (_CHUNK_ELEMS // k) // gr * gr)
    # Groups are independent, so the layer is solved in chunks of whole row groups.
    for n0 in range(0, n, rows):
        n1 = min(n, n0 + rows)
        g0, g1 = n0 // gr, n1 // gr
        grp = _to_groups(w[n0:n1], gr, mu)
        codes, a, sh, sg, h = _fit_groups(grp, q, iters, grid)
        hist += h
        _store_planes(planes, n0, _from_groups(codes, n1 - n0, k, gr, mu), q)
        alphas[:, g0:g1] = a.reshape(g1 - g0, kb, q).transpose(2, 0, 1)
        if t:
            shifts[:, g0:g1] = sh.reshape(g1 - g0, kb, q, t).transpose(2, 0, 1, 3)
            signs[:, g0:g1] = sg.reshape(g1 - g0, kb, q, t).transpose(2, 0, 1, 3)
    return planes, alphas, shifts, signs, hist


def _inverse_hessian_factor(x: np.ndarray, damp: float) -> np.ndarray:
    """Upper Cholesky factor U of (X^T X + damping)^-1, as GPTQ uses it.

    Works in place through LAPACK (potrf, potri) on one K x K float64 array (970 MB for
    K = 11008) plus small temporaries.
    """
    from scipy.linalg import lapack  # deferred for start-up time: only GPTQ needs SciPy

    h = x.T @ x
    diag = np.arange(h.shape[0])
    dead = h[diag, diag] == 0
    h[diag[dead], diag[dead]] = 1.0  # an input that is always 0 does not affect the output
    h[diag, diag] += damp * float(np.mean(h[diag, diag]))
    # h is symmetric: its transpose is a Fortran-ordered view LAPACK can overwrite in place
    c, info = lapack.dpotrf(h.T, lower=1, overwrite_a=1)
    if info != 0:
        raise InputError(
            "the calibration Hessian is not positive definite; raise damp", field="damp"
        )
    hinv, info = lapack.dpotri(c, lower=1, overwrite_c=1)  # lower triangle of H^-1
    del c, h
    k = hinv.shape[0]
    for b0 in range(0, k, 512):  # mirror the lower triangle in place, block by block
        b1 = min(k, b0 + 512)
        blk = hinv[b0:b1, b0:b1]
        blk[...] = np.tril(blk) + np.tril(blk, -1).T
        hinv[b0:b1, b1:] = hinv[b1:, b0:b1].T
    u, info = lapack.dpotrf(hinv, lower=0, overwrite_a=1)
    if info != 0:
        raise InputError(
            "the inverse calibration Hessian is not positive definite; raise damp", field="damp"
        )
    for b0 in range(0, k, 512):  # potrf leaves the strict lower triangle as it was
        b1 = min(k, b0 + 512)
        u[b0:b1, b0:b1] = np.triu(u[b0:b1, b0:b1])
        u[b1:, b0:b1] = 0.0
    return u  # Fortran-ordered; a C-ordered copy would double the peak memory


def _quantize_output_aware(w, x, q, gr, mu, iters, grid, damp, block):
    n, k = w.shape
    ng, kb = n // gr, k // mu
    t = grid.terms
    sgn = _sign_table(q)
    u = _inverse_hessian_factor(x, damp)
    work = w.astype(np.float64, copy=True)
    codes_all = np.empty((n, k), np.uint8)
    alphas = np.empty((q, ng, kb), np.float32)
    shifts = np.empty((q, ng, kb, t), np.uint8) if t else None
    signs = np.empty((q, ng, kb, t), np.int8) if t else None
    # GPTQ with lazy batch updates: columns of a block get the feedback of earlier columns
    # of the block right away; the rest of the matrix once per block, as one matmul.
    for i1 in range(0, k, block):
        i2 = min(k, i1 + block)
        w1 = work[:, i1:i2].copy()
        err1 = np.zeros_like(w1)
        for j0 in range(0, i2 - i1, mu):
            b = (i1 + j0) // mu
            # alpha set for this mu-column block, fitted on the compensated weights
            grp = w1[:, j0 : j0 + mu].reshape(ng, gr * mu).astype(np.float32)
            _, a, sh, sg, _ = _fit_groups(grp, q, iters, grid)
            alphas[:, :, b] = a.T
            if t:
                shifts[:, :, b] = sh.transpose(1, 0, 2)
                signs[:, :, b] = sg.transpose(1, 0, 2)
            vals = a @ sgn.T  # (ng, 2**q)
            order, mids = _code_table(a, sgn, np.float64)
            for j in range(j0, j0 + mu):
                col = w1[:, j]
                # codes re-fitted after the feedback from the block's earlier columns
                c = _assign_codes(col.reshape(ng, gr), order, mids)
                qcol = _rows_take(vals, c).ravel()
                codes_all[:, i1 + j] = c.ravel()
                d = u[i1 + j, i1 + j]
                e = (col - qcol) / d
                w1[:, j + 1 :] -= np.outer(e, u[i1 + j, i1 + j + 1 : i2])
                err1[:, j] = e
        for c0 in range(i2, k, 2048):  # in column slices: no (N, K) temporary
            c1 = min(k, c0 + 2048)
            work[:, c0:c1] -= err1 @ u[i1:i2, c0:c1]
    del u, work  # the K x K factor is the largest array; free it before the planes
    planes = np.empty((q, n, k), bool)
    _store_planes(planes, 0, codes_all, q)
    return planes, alphas, shifts, signs


def _weight_mse(w: np.ndarray, wq: np.ndarray) -> float:
    d = w.astype(np.float64) - wq
    return float(np.mean(d * d))


def _output_mse(x: np.ndarray, w: np.ndarray, wq: np.ndarray) -> float:
    d = x @ (w.astype(np.float64) - wq.astype(np.float64)).T
    return float(np.mean(d * d))


def bcq_quantize(
    w,
    q: int,
    *,
    layout: str = "kernel",
    mu: int = 8,
    group_rows: int | None = None,
    scale_form: str = "apot",
    apot_terms: int = 3,
    apot_search: str = "nearest",
    shift_bits: int = 4,
    iters: int = 15,
    calib=None,
    damp: float = 0.01,
    block_size: int = 128,
    report_plain: bool = True,
) -> BCQResult:
    """Binary-coding quantization of a weight matrix with shift-friendly scales.

    Parameters
    ----------
    w : array_like
        Weights, shape ``(out_features N, in_features K)``, finite.
    q : int
        Number of bit planes, 1 to 4.
    layout : {"kernel", "column"}
        ``"kernel"``: one alpha set per ``group_rows`` rows x ``mu`` input columns;
        ``"column"``: one alpha set per ``group_rows`` rows of one input column (``mu`` is
        ignored and taken as 1).
    mu : int
        Input columns per alpha set in the kernel layout (1 to 16, divides K); 8 in the
        reference, matching a 256-entry LUT.
    group_rows : int, optional
        Output rows per alpha set; must divide N. Default: the largest divisor of N not
        above ``128 // mu`` (128 weights per alpha set, the reference's group size).
    scale_form : {"apot", "pow2", "free"}
        How scales are stored and applied (see the module docstring).
    apot_terms : int
        Signed power-of-two terms per APoT scale, 1 to 4 (default 3).
    apot_search : {"nearest", "greedy"}
        APoT rounding: the nearest representable value (exhaustive table over the exponent
        range) or the paper's greedy term-by-term rounding.
    shift_bits : int
        Width of a shift field, 1 to 5: exponents span ``2**shift_bits`` values below the
        layer's largest weight.
    iters : int
        Alternating refinement iterations (0: greedy start, rounded, codes re-fitted).
    calib : array_like, optional
        Calibration activations ``(samples, K)``; enables the output-aware (GPTQ-style) mode.
    damp : float
        Hessian damping, as a fraction of the mean diagonal (output-aware mode).
    block_size : int
        Columns per GPTQ block; a multiple of the alpha block width (output-aware mode).
    report_plain : bool
        In output-aware mode, also run the plain quantizer and report its errors.

    Returns
    -------
    BCQResult
        Bit planes, scales (with their shift/sign form for pow2/apot) and errors.

    Raises
    ------
    InputError
        Bad shapes, ranges or values, naming the argument.
    """
    w = check_weights(w, name="weights")
    n, k = w.shape
    q = _int_arg(q, "q", 1, 4)
    layout = _choice(layout, "layout", LAYOUTS)
    scale_form = _choice(scale_form, "scale_form", SCALE_FORMS)
    apot_search = _choice(apot_search, "apot_search", APOT_SEARCH)
    apot_terms = _int_arg(apot_terms, "apot_terms", 1, 4)
    shift_bits = _int_arg(shift_bits, "shift_bits", 1, 5)
    iters = _int_arg(iters, "iters", 0, 10_000)
    if layout == "kernel":
        mu = _int_arg(mu, "mu", 1, 16)
        if k % mu:
            raise InputError(
                f"must divide in_features={k}", field="mu", allowed=f"a divisor of {k} up to 16"
            )
    else:
        mu = 1
    if group_rows is None:
        target = max(1, _DEFAULT_GROUP_WEIGHTS // mu)
        group_rows = max(d for d in _divisors(n) if d <= target)
    else:
        group_rows = _int_arg(group_rows, "group_rows", 1, n)
        if n % group_rows:
            raise InputError(
                f"must divide out_features={n}", field="group_rows", allowed=f"a divisor of {n}"
            )
    try:
        damp = float(damp)
    except (TypeError, ValueError):
        raise InputError(f"expected a number, got {damp!r}", field="damp") from None
    if not (damp > 0 and math.isfinite(damp)):
        raise InputError(f"{damp} is out of range", field="damp", allowed="a number > 0")
    block_size = _int_arg(block_size, "block_size", 1)
    if block_size % mu:
        raise InputError(
            f"must be a multiple of the alpha block width {mu}",
            field="block_size",
            allowed=f"a multiple of {mu}",
        )
    x = check_calibration(calib, k) if calib is not None else None

    grid = _layer_grid(w, scale_form, apot_terms, shift_bits, apot_search)
    params: dict[str, Any] = {
        "q": q,
        "layout": layout,
        "mu": mu,
        "group_rows": group_rows,
        "scale_form": scale_form,
        "apot_terms": apot_terms if scale_form == "apot" else (1 if scale_form == "pow2" else 0),
        "apot_search": apot_search,
        "shift_bits": shift_bits,
        "iters": iters,
        "output_aware": x is not None,
    }
    errors: dict[str, Any] = {}
    if x is None:
        planes, alphas, shifts, signs, hist = _quantize_plain(w, q, group_rows, mu, iters, grid)
        errors["history"] = tuple(float(h) for h in hist)
    else:
        params.update(calib_samples=int(x.shape[0]), damp=damp, block_size=block_size)
        planes, alphas, shifts, signs = _quantize_output_aware(
            w, x, q, group_rows, mu, iters, grid, damp, block_size
        )
    res = BCQResult(
        planes=planes,
        alphas=alphas,
        shifts=shifts,
        signs=signs,
        exp_base=None if scale_form == "free" else grid.exp_base,
        q=q,
        layout=layout,
        mu=mu,
        group_rows=group_rows,
        scale_form=scale_form,
        apot_terms=params["apot_terms"],
        shift_bits=shift_bits,
        errors=errors,
        params=params,
    )
    if x is None:
        # the solver's own total (float64 sums over the final codes and scales)
        errors["weight_mse"] = float(hist[-1]) / w.size
    else:
        wq = res.dequantized()
        errors["weight_mse"] = _weight_mse(w, wq)
        errors["output_mse"] = _output_mse(x, w, wq)
        if report_plain:
            pp, pa, _, _, _ = _quantize_plain(w, q, group_rows, mu, iters, grid)
            pw = _dequantize(pp, pa, group_rows, mu, np.float32)
            errors["plain_weight_mse"] = _weight_mse(w, pw)
            errors["plain_output_mse"] = _output_mse(x, w, pw)
    return res


_OPTIONS = (
    "layout",
    "mu",
    "group_rows",
    "scale_form",
    "apot_terms",
    "apot_search",
    "shift_bits",
    "iters",
    "calib",
    "damp",
    "block_size",
    "report_plain",
)


@register_format(
    r"bcq(?P<q>[1-4])",
    "binary-coding quantization, q bit planes with pow2/APoT/free scales (ShiftAddLLM)",
)
def _bcq_format(weights, match, **options) -> QuantizedTensor:
    for name in options:
        if name not in _OPTIONS:
            raise InputError(
                f"unknown option {name!r} for BCQ formats", field=name, allowed=list(_OPTIONS)
            )
    return bcq_quantize(weights, int(match["q"]), **options).to_quantized_tensor()


def bcq_fixed_quantize(w, q: int, *, plane_scales=None, iters: int = 10) -> QuantizedTensor:
    """Binary coding with plane scales fixed in hardware, times one float scale per row.

    The constant-shifter shift-add engine (``shifter = "constant"``) applies the same scale
    ``c_i`` to bit plane ``i`` of every block, so a weight takes one of the ``2**q`` values
    ``s_row * sum_i b_i c_i`` (``b_i`` = +-1), the row scale ``s_row`` applied after the
    array. The default ``c_i = 2**(q - 1 - i)`` gives the odd integers ``+-1, +-3, ...,
    +-(2**q - 1)``. Codes and row scales alternate (Lloyd): each weight takes the nearest
    value, then each row's scale is the least-squares one for its codes.

    Parameters
    ----------
    w : array_like
        Weights, ``(out_features, in_features)``, finite.
    q : int
        Bit planes, 1 to 4.
    plane_scales : sequence of float, optional
        ``c_i``, one per plane; default powers of two from ``2**(q - 1)`` down to 1.
    iters : int
        Lloyd iterations, 1 to 100.

    Returns
    -------
    QuantizedTensor
        Payload ``"codes"`` (uint8 index into the sorted values ``"levels"``, shape
        ``(out, in)``), ``"levels"`` (float64, ``2**q``), ``"scales"`` (float32 per row).
        Storage: ``q`` bits per weight plus a 16-bit scale per row.
    """
    w = check_weights(w)
    q = _int_arg(q, "q", 1, 4)
    iters = _int_arg(iters, "iters", 1, 100)
    if plane_scales is None:
        c = np.array([2.0 ** (q - 1 - i) for i in range(q)])
    else:
        c = np.asarray(plane_scales, dtype=np.float64)
        if c.shape != (q,) or not np.isfinite(c).all() or not np.any(c):
            raise InputError(
                f"expected {q} finite plane scales, not all zero, got {plane_scales!r}",
                field="plane_scales",
            )
    levels = np.unique(_sign_table(q) @ c)
    mids = 0.5 * (levels[1:] + levels[:-1])
    w64 = w.astype(np.float64)
    top = np.max(np.abs(levels))
    scale = np.max(np.abs(w64), axis=1) / top
    scale = np.where(scale > 0, scale, 1.0)
    for _ in range(iters):
        idx = np.searchsorted(mids, w64 / scale[:, None])
        v = levels[idx]
        vv = np.sum(v * v, axis=1)
        new = np.where(vv > 0, np.sum(w64 * v, axis=1) / np.where(vv > 0, vv, 1.0), 0.0)
        scale = np.where(new > 0, new, scale)
    idx = np.searchsorted(mids, w64 / scale[:, None])
    deq = (levels[idx] * scale[:, None]).astype(np.float32)
    return QuantizedTensor(
        fmt=f"bcq{q}_fixed",
        dequantized=deq,
        storage_bits=int(q * w.size + 16 * w.shape[0]),
        payload={
            "codes": idx.astype(np.uint8),
            "levels": levels,
            "scales": scale.astype(np.float32),
        },
        params={"q": q, "plane_scales": tuple(float(x) for x in c), "iters": iters},
    )


@register_format(
    r"bcq(?P<q>[1-4])_fixed",
    "q bit planes with scales fixed in hardware (default odd integers), a float scale per row",
)
def _bcq_fixed_format(weights, match, **options) -> QuantizedTensor:
    allowed = ("plane_scales", "iters")
    for name in options:
        if name not in allowed:
            raise InputError(
                f"unknown option {name!r} for fixed-scale BCQ", field=name, allowed=allowed
            )
    return bcq_fixed_quantize(weights, int(match["q"]), **options)
