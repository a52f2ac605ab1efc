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

__all__ = ["layout_width", "pack", "unpack", "bits_to_records", "words_to_bits",
           "bits_to_ints", "ints_to_bits"]


def layout_width(layout) -> int:
    """Width in bits of a shape or layout."""
    return Shape.cast(layout).width


def _is_plain(layout) -> bool:
    return not isinstance(layout, data.Layout)


def _uint_type(width: int):
    for t in ("<u1", "<u2", "<u4", "<u8"):
        if np.dtype(t).itemsize * 8 >= width:
            return np.dtype(t)
    raise ValueError(f"plain fields wider than 64 bits are not supported ({width})")


def ints_to_bits(values: np.ndarray, width: int) -> np.ndarray:
    """Two's complement bits of integers: shape ``values.shape + (width,)``, LSB first."""
    v = np.asarray(values)
    if width > 63:
        raise ValueError(f"plain fields wider than 63 bits are not supported ({width})")
    if width == 1:
        return (v & 1).astype(bool)[..., None]
    t = _uint_type(width)
    # Integer -> unsigned casts wrap modulo 2**bits: exactly two's complement truncation.
    src = v if np.issubdtype(v.dtype, np.integer) else v.astype(np.int64)
    octets = src.astype(t).view(np.uint8).reshape(*v.shape, t.itemsize)
    return np.unpackbits(octets, axis=-1, bitorder="little")[..., :width].view(bool)


def bits_to_ints(bits: np.ndarray, signed: bool) -> np.ndarray:
    """Integers from bits (last axis, LSB first), two's complement when ``signed``."""
    bits = np.asarray(bits, dtype=bool)
    width = bits.shape[-1]
    if width > 63:
        raise ValueError(f"plain fields wider than 63 bits are not supported ({width})")
    if width == 0:
        return np.zeros(bits.shape[:-1], np.int64)
    t = _uint_type(width)
    pad = t.itemsize * 8 - width
    if pad:
        bits = np.concatenate([bits, np.zeros(bits.shape[:-1] + (pad,), bool)], axis=-1)
    octets = np.packbits(bits, axis=-1, bitorder="little")
    v = np.ascontiguousarray(octets).view(t)[..., 0].astype(np.int64)
    if signed:
        v = np.where(v >= (1 << (width - 1)), v - (np.int64(1) << width), v)
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


def bits_to_records(bits: np.ndarray) -> bytes:
    """Rows of bits as the bytes ``$fread`` loads into a memory: each row (one memory word)
    in ``ceil(width / 8)`` bytes, most significant byte first."""
    bits = np.asarray(bits, dtype=bool)
    n, width = bits.shape
    pad = (-width) % 8
    if pad:  # zero bits above the most significant one
        bits = np.concatenate([bits, np.zeros((n, pad), bool)], axis=1)
    little = np.packbits(bits, axis=1, bitorder="little")  # byte 0 holds bits 0..7
    return np.ascontiguousarray(little[:, ::-1]).tobytes()


def words_to_bits(raw: bytes, width: int) -> np.ndarray:
    """Rows written with ``$fwrite(fd, "%u", word)``: each row is ``ceil(width / 32)``
    little-endian 32-bit words, least significant word first; returns bits LSB first."""
    words = -(-width // 32)
    if len(raw) % (4 * words):
        raise ValueError(f"record file of {len(raw)} bytes is not a whole number of "
                         f"{4 * words}-byte records")
    octets = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 4 * words)
    bits = np.unpackbits(octets, axis=1, bitorder="little").astype(bool)
    return bits[:, :width]
