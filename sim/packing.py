"""Vectorized conversion between NumPy values and the bits of stream payload layouts.

A stream payload's layout fixes where every field sits. It is given either as the
description the Verilog manifest records (:func:`shiftadd.rtl_gen.emit.describe_layout`:
``{"kind": "int", "width", "signed"}``, ``{"kind": "array", "length", "element"}`` or
``{"kind": "struct", "width", "fields": [{"name", "offset", ...}]}``, nested freely) or as
the Amaranth shape or layout itself, which is converted to that description. The driver
packs whole batches of payloads into bit matrices, and the monitor unpacks recorded bit
matrices, from that one definition, so the bench can never disagree with the RTL about bit
positions.

Values: a plain shape takes an integer array of shape ``(n,)``; an ``ArrayLayout`` of length
``L`` an array of shape ``(n, L, ...)``; a ``StructLayout`` a dict of field values. Bit
matrices are boolean arrays of shape ``(n, width)``, least significant bit first.

The stimulus path packs straight to bytes (:func:`pack_bytes`): a field of 8, 16 or 32-bit
elements on a byte boundary is one integer cast, any other field goes through bits alone, so
a bench never builds a bit matrix of its whole payload.
"""

from __future__ import annotations

import numpy as np

from ..rtl_gen.emit import describe_layout

__all__ = [
    "layout_width",
    "pack",
    "pack_bytes",
    "unpack",
    "bits_to_records",
    "records_from_bytes",
    "words_to_bits",
    "bits_to_ints",
    "ints_to_bits",
    "as_description",
]


def as_description(layout) -> dict:
    """The description of a layout: itself when it is one, else the description of the
    Amaranth shape or layout (:func:`~shiftadd.rtl_gen.emit.describe_layout`)."""
    return layout if isinstance(layout, dict) else describe_layout(layout)


def layout_width(layout) -> int:
    """Width in bits of a shape, layout or layout description."""
    return int(as_description(layout)["width"])


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
    return _pack(as_description(layout), values, n)


def _pack(d: dict, values, n: int | None) -> np.ndarray:
    kind = d["kind"]
    if kind == "int":
        v = np.asarray(values, dtype=np.int64)
        if n is None:
            n = v.shape[0]
        return ints_to_bits(np.broadcast_to(v, (n,)), d["width"])
    if kind == "array":
        elem, length = d["element"], d["length"]
        if elem["kind"] == "int":
            v = np.asarray(values).astype(np.int64, copy=False)
            if n is None:
                n = v.shape[0]
            v = np.broadcast_to(v, (n, length))
            return ints_to_bits(v, elem["width"]).reshape(n, length * elem["width"])
        if n is None:
            n = np.asarray(values).shape[0]
        parts = [_pack(elem, np.asarray(values)[:, i], n) for i in range(length)]
        return np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), bool)
    if kind == "struct":
        if n is None:
            n = next(np.asarray(v).shape[0] for v in values.values() if np.ndim(v) > 0)
        out = np.zeros((n, d["width"]), bool)
        missing = {f["name"] for f in d["fields"]} - set(values)
        if missing:
            raise KeyError(f"missing payload fields {sorted(missing)}")
        for f in d["fields"]:
            lo = f["offset"]
            out[:, lo : lo + f["width"]] = _pack(f, values[f["name"]], n)
        return out
    raise TypeError(f"unsupported layout {d!r}")


def pack_bytes(
    layout, values, n: int | None = None, *, out: np.ndarray | None = None, offset: int = 0
) -> np.ndarray:
    """Bytes of ``n`` payloads of ``layout``, least significant byte first.

    Byte for byte the same as packing the bits (:func:`pack`) and then the bytes, without
    the bit matrix: whole-byte fields are cast, and only the other fields are unpacked to
    bits (the simulated stimulus memory holds tens of thousands of 250-bit payloads per
    chunk, and bit matrices cost more than simulating them).

    Parameters
    ----------
    layout : dict or Amaranth shape or layout
        The payload layout (see the module).
    values
        The payload values (see the module).
    n : int, optional
        Number of payloads; by default the length of the values.
    out : ndarray of uint8, shape (n, bytes), optional
        Row image to write into, one row per payload; the bits the layout occupies, from
        bit ``offset`` of each row, must be zero. By default a new zeroed array of
        ``ceil((offset + width) / 8)`` bytes per row.
    offset : int
        Bit of each row where the payload's bit 0 goes.

    Returns
    -------
    ndarray of uint8, shape (n, bytes)
        ``out`` (or the new array): byte ``j`` of a row holds its bits ``8 j .. 8 j + 7``.

    Raises
    ------
    KeyError
        A struct's field is missing from ``values``.
    ValueError
        A plain field wider than 63 bits, or ``out`` too narrow for the layout.
    """
    d = as_description(layout)
    if n is None:
        n = _count(d, values)
    if out is None:
        out = np.zeros((n, -(-(offset + int(d["width"])) // 8)), np.uint8)
    elif out.shape[0] != n or out.shape[1] * 8 < offset + int(d["width"]):
        raise ValueError(f"out of shape {out.shape} cannot hold {n} payloads of {d['width']} bits")
    _pack_bytes(d, values, n, out, offset)
    return out


def _count(d: dict, values) -> int:
    """Number of payloads in ``values`` (their leading length), as :func:`pack` infers it."""
    if d["kind"] == "struct":
        return next(np.asarray(v).shape[0] for v in values.values() if np.ndim(v) > 0)
    return np.asarray(values).shape[0]


def _int_run(d: dict) -> tuple[dict, tuple[int, ...]] | None:
    """A plain int, or an array (nested) of plain ints: its element and array shape, since
    those are one run of equal fields; None for anything holding a struct."""
    if d["kind"] == "int":
        return d, ()
    if d["kind"] == "array":
        inner = _int_run(d["element"])
        if inner is not None:
            return inner[0], (int(d["length"]), *inner[1])
    return None


def _pack_bytes(d: dict, values, n: int, out: np.ndarray, offset: int) -> None:
    run = _int_run(d)
    if run is not None:
        elem, shape = run
        v = np.asarray(values)
        if not np.issubdtype(v.dtype, np.integer):
            v = v.astype(np.int64)  # as pack does: floats truncate, bools count 0 / 1
        count = int(np.prod(shape, dtype=np.int64))
        _put_ints(out, offset, int(elem["width"]), np.broadcast_to(v, (n, *shape)), count)
        return
    if d["kind"] == "array":
        width = int(d["element"]["width"])
        for i in range(int(d["length"])):
            _pack_bytes(d["element"], np.asarray(values)[:, i], n, out, offset + i * width)
        return
    if d["kind"] == "struct":
        missing = {f["name"] for f in d["fields"]} - set(values)
        if missing:
            raise KeyError(f"missing payload fields {sorted(missing)}")
        for f in d["fields"]:
            _pack_bytes(f, values[f["name"]], n, out, offset + int(f["offset"]))
        return
    raise TypeError(f"unsupported layout {d!r}")


_WHOLE_BYTES = {8: np.dtype("<u1"), 16: np.dtype("<u2"), 32: np.dtype("<u4")}


def _put_ints(out: np.ndarray, offset: int, width: int, v: np.ndarray, count: int) -> None:
    """Write ``count`` consecutive ``width``-bit fields per row (``v``: ``(n, ...)``
    integers, truncated to two's complement) from bit ``offset`` of each row of ``out``."""
    if width > 63:
        raise ValueError(f"plain fields wider than 63 bits are not supported ({width})")
    n = out.shape[0]
    if count == 0 or width == 0 or n == 0:
        return
    lo = offset // 8
    if offset % 8 == 0 and width in _WHOLE_BYTES:
        # Integer -> unsigned casts wrap modulo 2**bits: two's complement truncation.
        octets = v.astype(_WHOLE_BYTES[width]).reshape(n, count).view(np.uint8)
        out[:, lo : lo + octets.shape[1]] = octets
        return
    shift = offset % 8
    span = -(-(shift + count * width) // 8)
    if count == 1 and shift + width <= 64:
        # One narrow field: mask, shift into place and keep the bytes it spans.
        mask = np.uint64((1 << width) - 1)
        u = (v.reshape(n).astype(np.uint64) & mask) << np.uint64(shift)
        out[:, lo : lo + span] |= u.astype("<u8").view(np.uint8).reshape(n, 8)[:, :span]
        return
    bits = np.zeros((n, span * 8), bool)
    bits[:, shift : shift + count * width] = ints_to_bits(v, width).reshape(n, count * width)
    out[:, lo : lo + span] |= np.packbits(bits, axis=1, bitorder="little")


def records_from_bytes(octets: np.ndarray) -> bytes:
    """Rows of little-endian bytes (:func:`pack_bytes`) as the records ``$fread`` loads.

    Parameters
    ----------
    octets : ndarray of uint8, shape (n, bytes)
        One row per memory word, least significant byte first.

    Returns
    -------
    bytes
        Each row most significant byte first: the same bytes as :func:`bits_to_records` of
        the rows' bits.
    """
    return np.ascontiguousarray(np.asarray(octets, np.uint8)[:, ::-1]).tobytes()


def unpack(layout, bits: np.ndarray):
    """Values of a batch of payloads from their bits; the inverse of :func:`pack`."""
    return _unpack(as_description(layout), np.asarray(bits, dtype=bool))


def _unpack(d: dict, bits: np.ndarray):
    kind = d["kind"]
    if kind == "int":
        return bits_to_ints(bits, d["signed"])
    if kind == "array":
        elem, length = d["element"], d["length"]
        width, n = elem["width"], bits.shape[0]
        if elem["kind"] == "int":
            return bits_to_ints(bits.reshape(n, length, width), elem["signed"])
        return [_unpack(elem, bits[:, i * width : (i + 1) * width]) for i in range(length)]
    if kind == "struct":
        return {
            f["name"]: _unpack(f, bits[:, f["offset"] : f["offset"] + f["width"]])
            for f in d["fields"]
        }
    raise TypeError(f"unsupported layout {d!r}")


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
        raise ValueError(
            f"record file of {len(raw)} bytes is not a whole number of {4 * words}-byte records"
        )
    octets = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 4 * words)
    bits = np.unpackbits(octets, axis=1, bitorder="little").astype(bool)
    return bits[:, :width]
