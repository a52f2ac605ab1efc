"""Weight codes of the shift-add engine: one int64 per weight holding what its transfers carry.

A BCQ weight is not one code: the engine's ports carry its ``q`` plane bits (the lookup
keys) and, with barrel shifters, the shift amounts and signs of its scale set (``scale_rows``
rows x ``mu`` inputs). To pass a layer through the one-code-per-weight interfaces (the
operand files of :mod:`shiftadd.sim.operands`, ``data_activity(design, w_codes, x_codes)``)
each weight's code packs them:

* bits ``0 .. q - 1``: plane ``i``'s bit (1 = +1);
* barrel shifters, for every plane ``i`` and term ``t`` (field ``f = i * terms + t``) from bit
  ``q + f * (shift_bits + 2)``: the shift amount (``shift_bits`` bits), then the sign as the
  port's 2-bit two's complement (+1 = 0b01, -1 = 0b11, 0 = 0b00).

Every weight of a scale set carries the same scale fields (:func:`unpack_weight_codes`
checks it). Constant-scale designs carry the plane bits only.
"""

from __future__ import annotations

import numpy as np

from ...design.shiftadd import ShiftAddDesign
from ...errors import InputError
from .golden import constant_scales

__all__ = ["code_bits", "pack_weight_codes", "unpack_weight_codes", "scale_grid"]

#: Bits an int64 code can hold without touching its sign.
MAX_CODE_BITS = 63


def code_bits(design: ShiftAddDesign) -> int:
    """Bits of one packed weight code of ``design``.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    int
        ``q`` plus, with barrel shifters, ``q * terms * (shift_bits + 2)``.
    """
    d = design
    if d.shifter == "constant":
        return d.q
    return d.q + d.q * d.terms * (d.shift_bits + 2)


def _check_fits(design: ShiftAddDesign) -> None:
    bits = code_bits(design)
    if bits > MAX_CODE_BITS:
        raise InputError(
            f"a weight code of this design needs {bits} bits (q plane bits plus q x terms x "
            f"(shift_bits + 2) scale bits), more than the {MAX_CODE_BITS} an int64 holds",
            field="terms",
            allowed="designs with q + q * terms * (shift_bits + 2) <= 63",
        )


def scale_grid(design: ShiftAddDesign, n: int, k: int) -> tuple[int, int]:
    """Scale sets ``(rows, groups)`` covering an ``(n, k)`` layer: ``ceil(n / scale_rows)``
    and ``ceil(k / mu)``.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.
    n, k : int
        Output rows and inputs of the layer.

    Returns
    -------
    (int, int)
        Scale row groups and input groups.
    """
    assert design.scale_rows is not None  # defaulted by ShiftAddDesign.__post_init__
    return -(-n // design.scale_rows), -(-k // design.mu)


def pack_weight_codes(design: ShiftAddDesign, planes, shifts=None, signs=None) -> np.ndarray:
    """One int64 code per weight (module docstring) from bit planes and engine scales.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.
    planes : array_like of bool, shape (q, N, K)
        Bit planes (True = +1).
    shifts, signs : array_like of int, shape (q, >= ceil(N / scale_rows), >= ceil(K / mu), terms)
        Barrel designs: the scale terms at the engine's granularity
        (:func:`~shiftadd.models.shiftadd.golden.engine_scales`); ignored for constant scales.

    Returns
    -------
    numpy.ndarray of int64, shape (N, K)
        The packed codes.
    """
    d = design
    _check_fits(d)
    p = np.asarray(planes, bool)
    q, n, k = p.shape
    codes = (p.astype(np.int64) << np.arange(q, dtype=np.int64)[:, None, None]).sum(axis=0)
    if d.shifter == "constant":
        return codes
    sh = np.asarray(shifts, np.int64)
    sg = np.asarray(signs, np.int64)
    assert d.scale_rows is not None  # defaulted by ShiftAddDesign.__post_init__
    rows = np.arange(n) // d.scale_rows
    cols = np.arange(k) // d.mu
    # (q, N, K, terms): each weight's scale set
    sh = sh[:, rows][:, :, cols]
    sg = sg[:, rows][:, :, cols]
    width = d.shift_bits + 2
    field = np.arange(q * d.terms, dtype=np.int64).reshape(q, 1, 1, d.terms)
    base = q + field * width
    fields = (sh << base) | ((sg & 3) << (base + d.shift_bits))
    return codes | np.bitwise_or.reduce(fields.transpose(1, 2, 0, 3).reshape(n, k, -1), axis=-1)


def unpack_weight_codes(design: ShiftAddDesign, codes) -> tuple[np.ndarray, ...]:
    """Bit planes and engine scales from packed weight codes (:func:`pack_weight_codes`).

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.
    codes : array_like of int, shape (N, K)
        Packed codes.

    Returns
    -------
    planes : numpy.ndarray of bool, shape (q, N, K)
    shifts, signs : numpy.ndarray of int64, shape (q, ceil(N / scale_rows), ceil(K / mu), terms)
        The scale terms of every scale set (constant designs: their fixed scales).

    Raises
    ------
    InputError
        Codes with bits the design does not use, a sign field of 0b10, or weights of one
        scale set that disagree on its scales.
    """
    d = design
    _check_fits(d)
    c = np.asarray(codes, np.int64)
    if c.ndim != 2:
        raise InputError(f"weight codes must be a matrix, got shape {c.shape}", field="operands")
    n, k = c.shape
    bits = code_bits(d)
    if c.size and (c.min() < 0 or c.max() >> bits):
        raise InputError(
            f"weight codes use bits above the {bits} a {d.name} code has", field="operands"
        )
    planes = ((c[None] >> np.arange(d.q, dtype=np.int64)[:, None, None]) & 1).astype(bool)
    rows, groups = scale_grid(d, n, k)
    if d.shifter == "constant":
        shifts, signs = constant_scales(d, rows, groups)
        return planes, shifts, signs
    width = d.shift_bits + 2
    assert d.scale_rows is not None  # defaulted by ShiftAddDesign.__post_init__
    field = np.arange(d.q * d.terms, dtype=np.int64).reshape(d.q, d.terms)
    base = d.q + field * width  # (q, terms)
    first = c[:: d.scale_rows, :: d.mu]  # the first weight of every scale set
    shifts = (first[None, :, :, None] >> base[:, None, None, :]) & ((1 << d.shift_bits) - 1)
    raw = (first[None, :, :, None] >> (base + d.shift_bits)[:, None, None, :]) & 3
    if np.any(raw == 2):
        raise InputError("a sign field of the weight codes is 0b10", field="operands")
    signs = np.where(raw == 3, -1, raw)
    scale_mask = ~np.int64((1 << d.q) - 1)
    held = (c & scale_mask)[:, np.arange(k) // d.mu * d.mu]  # each weight's set head (columns)
    held = held[np.arange(n) // d.scale_rows * d.scale_rows]
    if not np.array_equal(c & scale_mask, held):
        raise InputError("weights of one scale set carry different scale fields", field="operands")
    assert shifts.shape == (d.q, rows, groups, d.terms)
    return planes, shifts, signs
