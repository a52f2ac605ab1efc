"""Golden helpers of the shift-add engine: the engine computes
:func:`shiftadd.models.lutgemm.lut_gemm` tile by tile; these map a BCQ layer onto the engine's
scale granularity (:func:`engine_scales`) and compute what a stream of weight transfers
accumulates (:func:`transfer_sums`, built on :func:`~shiftadd.models.lutgemm.build_luts`)."""

from __future__ import annotations

import numpy as np

from ...design.shiftadd import ShiftAddDesign
from ...errors import InputError
from ..lutgemm import alpha_int_from_terms, build_luts

__all__ = ["constant_scales", "engine_scales", "transfer_sums", "accumulate"]


def constant_scales(
    design: ShiftAddDesign, rows: int, groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """The fixed scales of a ``shifter = "constant"`` design broadcast to the scale grid
    ``(q, rows, groups, terms)`` of :func:`shiftadd.models.lutgemm.lut_gemm`.

    Parameters
    ----------
    design : ShiftAddDesign
        A design with ``shifter = "constant"`` (its ``const_shifts`` and ``const_signs``).
    rows : int
        Scale row groups of the layer (``N / group_rows``).
    groups : int
        Scale blocks along the inputs (``K / mu_a``).

    Returns
    -------
    shifts, signs : numpy.ndarray of int64, shape (q, rows, groups, terms)
        The design's scale terms, the same in every block.
    """
    sh = np.asarray(design.const_shifts, np.int64)[:, None, None, :]
    sg = np.asarray(design.const_signs, np.int64)[:, None, None, :]
    shape = (design.q, rows, groups, design.terms)
    return np.broadcast_to(sh, shape).copy(), np.broadcast_to(sg, shape).copy()


def engine_scales(design: ShiftAddDesign, shifts, signs, n_rows: int, k_cols: int):
    """Scale terms of a layer at the engine's granularity.

    Parameters
    ----------
    design : ShiftAddDesign
    shifts, signs : array_like, shape (q, N / group_rows, K / mu_a[, t])
        A layer's scale terms (:class:`~shiftadd.workloads.bcq.BCQResult` ``shifts`` and
        ``signs``); ``t`` may be smaller than the design's ``terms`` (missing terms are 0).
    n_rows, k_cols : int
        The layer's ``N`` and ``K``.

    Returns
    -------
    shifts, signs : numpy.ndarray of int64, shape (q, N / scale_rows, K / mu, terms)
        One scale set per ``scale_rows`` rows and ``mu`` inputs, as the weight transfers
        carry them.

    Raises
    ------
    InputError
        When the layer's groups are not whole multiples of the engine's (``scale_rows``
        must divide the row group, ``mu`` the scale block width).
    """
    sh = np.asarray(shifts, np.int64)
    sg = np.asarray(signs, np.int64)
    if sh.ndim == 3:
        sh, sg = sh[..., None], sg[..., None]
    q, ng, kb, t = sh.shape
    if q != design.q:
        raise InputError(
            f"the layer has {q} bit planes, the design {design.q}", field="q", allowed=[q]
        )
    if t > design.terms:
        raise InputError(
            f"the layer's scales have {t} terms, the design {design.terms}",
            field="terms",
            allowed=f"an integer >= {t}",
        )
    gr, mua = n_rows // ng, k_cols // kb
    if gr % design.scale_rows:
        raise InputError(
            f"{design.scale_rows} does not divide the layer's row group {gr}",
            field="scale_rows",
            allowed=f"a divisor of {gr}",
        )
    if mua % design.mu:
        raise InputError(
            f"{design.mu} does not divide the layer's scale block {mua}",
            field="mu",
            allowed=f"a divisor of {mua}",
        )
    if t < design.terms:
        pad = ((0, 0), (0, 0), (0, 0), (0, design.terms - t))
        sh, sg = np.pad(sh, pad), np.pad(sg, pad)
    reps = (gr // design.scale_rows, mua // design.mu)
    sh = np.repeat(np.repeat(sh, reps[0], axis=1), reps[1], axis=2)
    sg = np.repeat(np.repeat(sg, reps[0], axis=1), reps[1], axis=2)
    return sh, sg


def transfer_sums(
    design: ShiftAddDesign, act_groups, table_of, keys, shifts=None, signs=None
) -> np.ndarray:
    """What each weight transfer adds to the ``columns`` accumulators.

    Parameters
    ----------
    design : ShiftAddDesign
    act_groups : array_like of int, shape (loads, mu)
        The activation groups of every table load.
    table_of : array_like of int, shape (transfers,)
        Which load's table each weight transfer reads.
    keys : array_like of int, shape (transfers, columns, q)
        The ``mu``-bit keys (bit ``j`` = input ``j``, 1 = +1).
    shifts, signs : array_like of int, shape (transfers, scale_sets, q, terms), optional
        Barrel designs: the scale terms of each transfer (constant designs use their own).

    Returns
    -------
    numpy.ndarray of int64, shape (transfers, columns)
        ``sum_i sum_t sign * (T[key_i] << shift)`` with the tables of
        :func:`~shiftadd.models.lutgemm.build_luts`.
    """
    d = design
    tables = build_luts(np.asarray(act_groups, np.int64), d.mu)[:, 0, :]  # (loads, 2**mu)
    keys = np.asarray(keys, np.int64)
    table_of = np.asarray(table_of, np.int64)
    looked = tables[table_of[:, None, None], keys]  # (W, columns, q)
    if d.shifter == "constant":
        alpha = alpha_int_from_terms(np.asarray(d.const_shifts), np.asarray(d.const_signs))
        return (looked * alpha[None, None, :]).sum(axis=2)
    sh = np.asarray(shifts, np.int64)
    sg = np.asarray(signs, np.int64)
    assert d.scale_rows is not None  # set to columns by ShiftAddDesign.__post_init__
    cols = np.arange(d.columns) // d.scale_rows
    sh, sg = sh[:, cols], sg[:, cols]  # (W, columns, q, t)
    return (sg * (looked[..., None] << sh)).sum(axis=(2, 3))


def accumulate(sums: np.ndarray, lengths) -> np.ndarray:
    """Results of consecutive accumulations of ``lengths`` transfers each (``sums`` in
    transfer order).

    Parameters
    ----------
    sums : numpy.ndarray, shape (transfers, ...)
        What each weight transfer adds (:func:`transfer_sums`).
    lengths : array_like of int
        Transfers per accumulation, in order; they sum to ``transfers``.

    Returns
    -------
    numpy.ndarray, shape (len(lengths), ...)
        The sum of each run of transfers.
    """
    lengths = np.asarray(lengths, np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.add.reduceat(sums, starts, axis=0)
