"""Helpers every golden model shares: operand checks, the folded batch-norm compare, the +-1
dot product of a popcount. Each family's golden model is in its own subpackage; the exact dot
products of a PE arithmetic are :meth:`shiftadd.design.arith.Arithmetic.dot`."""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["check_operand", "threshold_compare", "xnor_dot"]


def check_operand(name: str, values, lo: int, hi: int, shape: tuple[int | None, ...]) -> np.ndarray:
    """Validate an integer operand array: its shape (``None`` = any) and value range.

    Parameters
    ----------
    name : str
        Operand name, reported in the error's ``field``.
    values : array_like of int or bool
        The operand; booleans are converted to ``int8``.
    lo, hi : int
        Inclusive range every value must lie in.
    shape : tuple of int or None
        Expected shape; ``None`` matches any length along that axis.

    Returns
    -------
    ndarray of int
        ``values`` as an integer array.

    Raises
    ------
    InputError
        On a wrong shape, a non-integer dtype or a value outside ``[lo, hi]``.
    """
    arr = np.asarray(values)
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise InputError(f"expected shape {want}, got {arr.shape}", field=name)
    if arr.dtype == bool:
        arr = arr.astype(np.int8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"expected integers, got dtype {arr.dtype}", field=name)
    if arr.size and (arr.min() < lo or arr.max() > hi):
        raise InputError(
            f"values must lie in [{lo}, {hi}], got [{arr.min()}, {arr.max()}]", field=name
        )
    return arr


def threshold_compare(acc: np.ndarray, thresholds: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """Folded batch norm: ``acc >= T``, or ``acc <= T`` where ``flip`` is set.

    Parameters
    ----------
    acc : ndarray of int, shape (M, N)
        Accumulated dot products, one column per output neuron.
    thresholds : ndarray of int, shape (N,)
        Threshold ``T`` of each output neuron.
    flips : ndarray of bool, shape (N,)
        Compare ``acc <= T`` instead of ``acc >= T`` for that neuron.

    Returns
    -------
    ndarray of bool, shape (M, N)
        Whether each neuron fires.
    """
    t = np.asarray(thresholds)[None, :]
    return np.where(np.asarray(flips, bool)[None, :], acc <= t, acc >= t)


def xnor_dot(popcount, k: int) -> np.ndarray:
    """The +-1 dot product ``2 p - k`` from the xnor popcount ``p``.

    Parameters
    ----------
    popcount : array_like of int
        Number of matching (XNOR = 1) bit positions ``p``.
    k : int
        Vector length the popcount is over.

    Returns
    -------
    ndarray of int64
        The +-1 dot products, shaped like ``popcount``.
    """
    return 2 * np.asarray(popcount, dtype=np.int64) - k
