"""Bit-level encodings of integer operands: bit planes, radix-4 Booth digits, EN-T digits.

Radix-4 Booth
    A ``2n``-bit two's complement ``x`` is ``sum_j d_j * 4^j`` with
    ``d_j = -2*b[2j+1] + b[2j] + b[2j-1]`` (``b[-1] = 0``), ``d_j`` in {-2, -1, 0, +1, +2}.
    Each digit selects a partial product ``0, +-w, +-2w``.
EN-T (ICCD 2024; REFERENCE.md section 1)
    Sign and magnitude; the magnitude is cut into 2-bit chunks from the least significant
    end and each chunk plus the carry from below, ``v`` in 0..4, becomes a digit in
    {0, +1, +2, -1}: ``v = 3`` gives ``-1`` and carries 1, ``v = 4`` gives 0 and carries 1.
    ``x = sign * sum_j d_j * 4^j``.

Operand widths: a signed ``b``-bit code is two's complement in ``[-2^(b-1), 2^(b-1) - 1]``;
an unsigned ``b``-bit code lies in ``[0, 2^b - 1]`` and is Booth-encoded as the
``(b+1)``-bit signed number it equals, so it needs ``ceil((b+1)/2)`` digits. EN-T needs
``ceil(b/2)`` digits for signed codes (the magnitude is at most ``2^(b-1)``) and
``ceil((b+1)/2)`` for unsigned ones (a carry can leave the top chunk).

All encoders loop over digit positions only (at most 5 for 8-bit codes), never over elements.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError

__all__ = [
    "value_range",
    "booth_digit_count",
    "ent_digit_count",
    "booth_encode",
    "booth_decode",
    "ent_encode",
    "ent_decode",
    "bit_planes",
    "code_histogram",
    "digit_tables",
    "stats_from_histogram",
    "digit_stats",
]

_HIST_CHUNK = 1 << 22  # elements per bincount call: bounds its intp temporary to 32 MB


def _check_bits(bits) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
        raise InputError(f"operand width must be an integer in 1..16, got {bits!r}", field="bits")
    return int(bits)


def value_range(bits: int, signed: bool = True) -> tuple[int, int]:
    """Smallest and largest code of a ``bits``-wide signed or unsigned operand.

    Parameters
    ----------
    bits : int
        Operand width, 1 to 16.
    signed : bool
        Two's complement (True) or unsigned codes.

    Returns
    -------
    tuple of (int, int)
        ``(lo, hi)``, both included.
    """
    bits = _check_bits(bits)
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def booth_digit_count(bits: int, signed: bool = True) -> int:
    """Radix-4 Booth digits per operand (dense): ``ceil(b/2)``, or ``ceil((b+1)/2)`` unsigned.

    Parameters
    ----------
    bits : int
        Operand width, 1 to 16.
    signed : bool
        Two's complement (True) or unsigned codes.

    Returns
    -------
    int
        Number of digits.
    """
    bits = _check_bits(bits)
    return math.ceil((bits if signed else bits + 1) / 2)


def ent_digit_count(bits: int, signed: bool = True) -> int:
    """EN-T digits per operand: ``ceil(b/2)`` signed, ``ceil((b+1)/2)`` unsigned.

    Parameters
    ----------
    bits : int
        Operand width, 1 to 16.
    signed : bool
        Two's complement (True) or unsigned codes.

    Returns
    -------
    int
        Number of digits.
    """
    return booth_digit_count(bits, signed)


def _as_checked_int(x, bits: int, signed: bool) -> np.ndarray:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise InputError(f"expected integer codes, got dtype {x.dtype}", field="codes")
    lo, hi = value_range(bits, signed)
    if x.size and (int(x.min()) < lo or int(x.max()) > hi):
        kind = "signed" if signed else "unsigned"
        raise InputError(
            f"values span [{int(x.min())}, {int(x.max())}], outside the {bits}-bit "
            f"{kind} range [{lo}, {hi}]",
            field="codes",
        )
    return x.astype(np.int32)


def booth_encode(x, bits: int = 8, signed: bool = True) -> np.ndarray:
    """Radix-4 Booth digits of integer codes.

    Parameters
    ----------
    x : array of int
        Integer codes within the ``bits``-wide range.
    bits : int
        Operand width.
    signed : bool
        Two's complement (True) or unsigned codes.

    Returns
    -------
    numpy.ndarray
        int8, shape ``x.shape + (booth_digit_count(bits, signed),)``, least significant
        digit first, values in {-2, -1, 0, 1, 2}.
    """
    x = _as_checked_int(x, bits, signed)
    n = booth_digit_count(bits, signed)
    out = np.empty(x.shape + (n,), dtype=np.int8)
    below = np.zeros(x.shape, dtype=np.int32)  # b[2j-1], 0 for the first digit
    for j in range(n):
        # Arithmetic shifts sign-extend, which is exactly the two's complement extension
        # Booth needs when 2n exceeds the operand width.
        mid = (x >> (2 * j)) & 1
        high = (x >> (2 * j + 1)) & 1
        out[..., j] = below + mid - 2 * high
        below = high
    return out


def booth_decode(digits) -> np.ndarray:
    """``sum_j d_j * 4^j`` of Booth (or any radix-4) digits, least significant first.

    Parameters
    ----------
    digits : array of int
        Digits along the last axis, least significant first.

    Returns
    -------
    numpy.ndarray
        int64 values, the shape of ``digits`` without its last axis.
    """
    d = np.asarray(digits, dtype=np.int64)
    return d @ (4 ** np.arange(d.shape[-1], dtype=np.int64))


def ent_encode(x, bits: int = 8, signed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """EN-T encoding: sign and magnitude digits in {0, +1, +2, -1}.

    Parameters
    ----------
    x : array of int
        Integer codes within the ``bits``-wide range.
    bits : int
        Operand width, 1 to 16.
    signed : bool
        Two's complement (True) or unsigned codes.

    Returns
    -------
    negative : numpy.ndarray of bool
        ``x < 0``.
    digits : numpy.ndarray
        int8, shape ``x.shape + (ent_digit_count(bits, signed),)``, least significant first.
    """
    x = _as_checked_int(x, bits, signed)
    n = ent_digit_count(bits, signed)
    mag = np.abs(x)
    out = np.empty(x.shape + (n,), dtype=np.int8)
    carry = np.zeros(x.shape, dtype=np.int32)
    for j in range(n):
        v = ((mag >> (2 * j)) & 3) + carry
        carry = (v >= 3).astype(np.int32)
        out[..., j] = v - 4 * carry  # 3 -> -1, 4 -> 0, others unchanged
    if carry.any():  # pragma: no cover - the digit counts make this impossible
        raise AssertionError("EN-T carry out of the top digit")
    return x < 0, out


def ent_decode(negative, digits) -> np.ndarray:
    """Value of an EN-T encoding: ``(-1 if negative) * sum_j d_j * 4^j``.

    Parameters
    ----------
    negative : array of bool
        Sign of each value, as :func:`ent_encode` returns it.
    digits : array of int
        Magnitude digits along the last axis, least significant first.

    Returns
    -------
    numpy.ndarray
        int64 values, the shape of ``negative``.
    """
    mag = booth_decode(digits)
    return np.where(np.asarray(negative), -mag, mag)


def bit_planes(x, bits: int = 8, signed: bool = True) -> np.ndarray:
    """Bits of the two's complement (or unsigned) codes, shape ``x.shape + (bits,)``, LSB first.

    Parameters
    ----------
    x : array of int
        Integer codes within the ``bits``-wide range.
    bits : int
        Operand width, 1 to 16.
    signed : bool
        Two's complement (True) or unsigned codes.

    Returns
    -------
    numpy.ndarray
        uint8 bits (0 or 1), shape ``x.shape + (bits,)``, least significant first.
    """
    x = _as_checked_int(x, bits, signed)
    shifts = np.arange(bits, dtype=np.int32)
    return ((x[..., None] >> shifts) & 1).astype(np.uint8)


def code_histogram(codes, bits: int = 8, signed: bool = True) -> np.ndarray:
    """Counts of every code value, index ``value - value_range(bits, signed)[0]``.

    Parameters
    ----------
    codes : array of int
        Integer codes, any shape.
    bits : int
        Operand width, 1 to 16.
    signed : bool
        Two's complement (True) or unsigned codes.

    Returns
    -------
    numpy.ndarray
        int64, length ``2**bits``.

    Raises
    ------
    InputError
        Non-integer codes or codes outside the ``bits``-wide range.
    """
    bits = _check_bits(bits)
    codes = np.asarray(codes)
    lo, hi = value_range(bits, signed)
    if not np.issubdtype(codes.dtype, np.integer):
        raise InputError(f"expected integer codes, got dtype {codes.dtype}", field="codes")
    flat = codes.reshape(-1)
    hist = np.zeros(1 << bits, dtype=np.int64)
    if flat.size == 0:
        return hist
    if int(flat.min()) < lo or int(flat.max()) > hi:
        raise InputError(
            f"codes span [{int(flat.min())}, {int(flat.max())}], outside the "
            f"{bits}-bit range [{lo}, {hi}]",
            field="codes",
        )
    for start in range(0, flat.size, _HIST_CHUNK):
        chunk = flat[start : start + _HIST_CHUNK].astype(np.int32) - lo
        hist += np.bincount(chunk, minlength=1 << bits)
    return hist


def digit_tables(bits: int = 8, signed: bool = True) -> dict[str, np.ndarray]:
    """Per-value lookup tables over the whole code range, from the vectorized encoders.

    Parameters
    ----------
    bits : int
        Operand width, 1 to 16.
    signed : bool
        Two's complement (True) or unsigned codes.

    Returns
    -------
    dict
        ``"values"`` (every code, ascending), ``"ones"`` ``(2**bits, bits)`` bit matrix,
        ``"booth_nonzero"`` and ``"ent_nonzero"`` nonzero digits per value.
    """
    lo, hi = value_range(bits, signed)
    values = np.arange(lo, hi + 1, dtype=np.int32)
    _, ent = ent_encode(values, bits, signed)
    return {
        "values": values,
        "ones": bit_planes(values, bits, signed),
        "booth_nonzero": np.count_nonzero(booth_encode(values, bits, signed), axis=-1),
        "ent_nonzero": np.count_nonzero(ent, axis=-1),
    }


def stats_from_histogram(hist: np.ndarray, bits: int = 8, signed: bool = True) -> dict:
    """Bit and digit statistics of a code population given its :func:`code_histogram`.

    Parameters
    ----------
    hist : numpy.ndarray
        Counts per code value, length ``2**bits``, as :func:`code_histogram` returns.
    bits : int
        Operand width, 1 to 16.
    signed : bool
        Two's complement (True) or unsigned codes.

    Returns
    -------
    dict
        ``operands`` (count), ``zero_fraction``, ``code_entropy_bits`` (Shannon entropy of
        the code distribution), ``bit_density`` (list: fraction of ones per bit plane, LSB
        first, two's complement for signed codes), ``booth_digits`` and ``ent_digits``
        (dense digits per operand), ``booth_nonzero`` and ``ent_nonzero`` (mean nonzero
        digits per operand). Means are NaN when the histogram is empty.
    """
    hist = np.asarray(hist, dtype=np.float64)
    total = hist.sum()
    tables = digit_tables(bits, signed)
    lo, _ = value_range(bits, signed)
    if total == 0:
        nan = float("nan")
        return {
            "operands": 0,
            "zero_fraction": nan,
            "code_entropy_bits": nan,
            "bit_density": [nan] * bits,
            "booth_digits": booth_digit_count(bits, signed),
            "ent_digits": ent_digit_count(bits, signed),
            "booth_nonzero": nan,
            "ent_nonzero": nan,
        }
    p = hist / total
    nz = p[p > 0]
    zero_index = -lo
    return {
        "operands": int(total),
        "zero_fraction": float(p[zero_index]),
        "code_entropy_bits": float(-(nz * np.log2(nz)).sum()),
        "bit_density": [float(v) for v in p @ tables["ones"]],
        "booth_digits": booth_digit_count(bits, signed),
        "ent_digits": ent_digit_count(bits, signed),
        "booth_nonzero": float(p @ tables["booth_nonzero"]),
        "ent_nonzero": float(p @ tables["ent_nonzero"]),
    }


def digit_stats(values, bits: int = 8, signed: bool = True) -> dict:
    """Bit and digit statistics of integer operands (weights codes or activations).

    Equivalent to ``stats_from_histogram(code_histogram(values, bits, signed), bits, signed)``.

    Parameters
    ----------
    values : array of int
        Integer operands, any shape.
    bits : int
        Operand width, 1 to 16.
    signed : bool
        Two's complement (True) or unsigned codes.

    Returns
    -------
    dict
        As :func:`stats_from_histogram`.
    """
    return stats_from_histogram(code_histogram(values, bits, signed), bits, signed)
