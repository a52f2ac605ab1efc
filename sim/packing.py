"""Vectorized conversion between NumPy values and the bits of Amaranth data layouts.

A stream payload's layout (an Amaranth shape, :class:`~amaranth.lib.data.ArrayLayout` or
:class:`~amaranth.lib.data.StructLayout`, nested freely) fixes where every field sits. The
driver packs whole batches of payloads into bit matrices, and the monitor unpacks recorded
bit matrices, from that one definition, so the bench can never disagree with the RTL about
bit positions.

Values: a plain shape takes an integer array of shape ``(n,)``; an ``ArrayLayout`` of length
``L`` an array of shape ``(n, L, ...)``; a ``StructLayout`` a dict of field values. Bit
matrices are boolean arrays of shape ``(n, width)``, least significant bit first.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Shape
from amaranth.lib import data

__all__ = ["layout_width", "pack", "unpack", "bits_to_hex", "hex_to_bits", "bits_to_ints",
           "ints_to_bits"]


def layout_width(layout) -> int:
    """Width in bits of a shape or layout."""
    return Shape.cast(layout).width


def _is_plain(layout) -> bool:
    return not isinstance(layout, data.Layout)


def ints_to_bits(values: np.ndarray, width: int) -> np.ndarray:
    """Two's complement bits of integers: shape ``values.shape + (width,)``, LSB first."""
    v = np.asarray(values, dtype=np.int64)
    if width > 63:
        raise ValueError(f"plain fields wider than 63 bits are not supported ({width})")
    return ((v[..., None] >> np.arange(width, dtype=np.int64)) & 1).astype(bool)


def bits_to_ints(bits: np.ndarray, signed: bool) -> np.ndarray:
    """Integers from bits (last axis, LSB first), two's complement when ``signed``."""
    width = bits.shape[-1]
    if width > 63:
        raise ValueError(f"plain fields wider than 63 bits are not supported ({width})")
    weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
    v = (bits.astype(np.int64) * weights).sum(axis=-1)
    if signed and width:
        v = np.where(bits[..., -1], v - (np.int64(1) << width), v)
    return v


def pack(layout, values, n: int | None = None) -> np.ndarray:
    """Bits of ``n`` payloads of ``layout``: boolean array ``(n, width)``, LSB first."""
    if _is_plain(layout):
        shape = Shape.cast(layout)
        v = np.asarray(values, dtype=np.int64)
        if n is None:
            n = v.shape[0]
        return ints_to_bits(np.broadcast_to(v, (n,)), shape.width)
    if isinstance(layout, data.ArrayLayout):
        v = np.asarray(values) if _is_plain(layout.elem_shape) else values
        if _is_plain(layout.elem_shape):
            v = v.astype(np.int64, copy=False)
            if n is None:
                n = v.shape[0]
            v = np.broadcast_to(v, (n, layout.length))
            width = Shape.cast(layout.elem_shape).width
            return ints_to_bits(v, width).reshape(n, layout.length * width)
        if n is None:
            n = np.asarray(values).shape[0]
        parts = [pack(layout.elem_shape, np.asarray(values)[:, i], n) for i in range(layout.length)]
        return np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), bool)
    if isinstance(layout, data.StructLayout):
        if n is None:
            n = next(np.asarray(v).shape[0] for v in values.values() if np.ndim(v) > 0)
        out = np.zeros((n, layout.size), bool)
        missing = set(dict(layout.members)) - set(values)
        if missing:
            raise KeyError(f"missing payload fields {sorted(missing)}")
        for name, field in layout:
            width = Shape.cast(field.shape).width
            out[:, field.offset:field.offset + width] = pack(field.shape, values[name], n)
        return out
    raise TypeError(f"unsupported layout {layout!r}")


def unpack(layout, bits: np.ndarray):
    """Values of a batch of payloads from their bits; the inverse of :func:`pack`."""
    bits = np.asarray(bits, dtype=bool)
    if _is_plain(layout):
        shape = Shape.cast(layout)
        return bits_to_ints(bits, shape.signed)
    if isinstance(layout, data.ArrayLayout):
        width = Shape.cast(layout.elem_shape).width
        n = bits.shape[0]
        if _is_plain(layout.elem_shape):
            signed = Shape.cast(layout.elem_shape).signed
            return bits_to_ints(bits.reshape(n, layout.length, width), signed)
        return [unpack(layout.elem_shape, bits[:, i * width:(i + 1) * width])
                for i in range(layout.length)]
    if isinstance(layout, data.StructLayout):
        return {name: unpack(field.shape,
                             bits[:, field.offset:field.offset + Shape.cast(field.shape).width])
                for name, field in layout}
    raise TypeError(f"unsupported layout {layout!r}")


_HEX_LUT = np.array([f"{i:02x}" for i in range(256)], dtype="S2")


def bits_to_hex(bits: np.ndarray) -> bytes:
    """``$readmemh`` text: one line per row, most significant digit first."""
    bits = np.asarray(bits, dtype=bool)
    n, width = bits.shape
    pad = (-width) % 8
    msb_first = np.concatenate([np.zeros((n, pad), bool), bits[:, ::-1]], axis=1)
    octets = np.packbits(msb_first, axis=1)
    if octets.shape[1] == 0:
        octets = np.zeros((n, 1), np.uint8)
    lines = _HEX_LUT[octets].view(f"S{2 * octets.shape[1]}").ravel()
    return b"\n".join(lines) + b"\n" if n else b""


def hex_to_bits(text: bytes, width: int) -> np.ndarray:
    """Rows of a ``$writememh`` file as bits ``(rows, width)``, LSB first.

    Comment lines (``//``) and address markers (``@``) are skipped; ``x``/``z`` digits raise.
    """
    fast = _fixed_width_rows(text)
    if fast is not None:
        return _nibbles_to_bits(fast, width)
    words = [w for w in (line.strip() for line in text.splitlines())
             if w and not w.startswith((b"//", b"@"))]
    if not words:
        return np.zeros((0, width), bool)
    digits = len(words[0])
    if any(len(w) != digits for w in words):
        raise ValueError("rows of unequal length in memory dump")
    raw = np.frombuffer(b"".join(words), dtype=np.uint8).reshape(len(words), digits)
    return _nibbles_to_bits(raw, width)


# ASCII code -> nibble value; 255 marks anything that is not a hex digit (x, z, ...).
_NIBBLE = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
    _NIBBLE[bytes([_c]).upper()[0]] = _i


def _fixed_width_rows(text: bytes) -> np.ndarray | None:
    """The data rows as a ``(rows, digits)`` byte matrix when, after leading comment lines,
    every line has the same length (what ``$writememh`` produces); else None."""
    start = 0
    while text.startswith(b"//", start):
        end = text.find(b"\n", start)
        if end < 0:
            return None
        start = end + 1
    body = text[start:]
    line = body.find(b"\n")
    if line <= 0 or len(body) % (line + 1):
        return None
    rows = np.frombuffer(body, np.uint8).reshape(-1, line + 1)
    if (rows[:, -1] != ord("\n")).any():
        return None
    return rows[:, :-1]


def _nibbles_to_bits(raw: np.ndarray, width: int) -> np.ndarray:
    nibbles = _NIBBLE[raw]
    if (nibbles == 255).any():
        raise ValueError("memory dump contains x, z or non-hex digits")
    rows, digits = nibbles.shape
    bits = np.unpackbits(nibbles[:, :, None], axis=2)[:, :, 4:].reshape(rows, digits * 4)
    bits = bits[:, ::-1].astype(bool)  # LSB first
    if bits.shape[1] < width:
        bits = np.concatenate([bits, np.zeros((rows, width - bits.shape[1]), bool)], axis=1)
    return bits[:, :width]
