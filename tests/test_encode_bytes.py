"""The byte-level stimulus encoder (pack_bytes, encode_entries) against the bit-matrix
route it replaced: byte-identical images on random layouts."""

import numpy as np
import pytest
from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from shiftadd.sim.harness import HarnessSpec, StreamInfo, encode_entries
from shiftadd.sim.packing import (
    as_description,
    bits_to_records,
    pack,
    pack_bytes,
    records_from_bytes,
)
from shiftadd.sim.plan import Burst, Chunk


def reference_entries(spec, chunk, bubbles=None) -> bytes:
    """The encoder as it was: a boolean matrix of every entry's bits, then packbits."""
    index = {s.name: i for i, s in enumerate(spec.inputs)}
    layouts = {s.name: s.layout for s in spec.inputs}
    pw, sw = spec.payload_bits, spec.select_bits
    blocks = []
    row_bits = -(-spec.entry_bits // 8) * 8
    for burst in chunk.bursts:
        bits = pack(layouts[burst.stream], burst.values, burst.count)
        block = np.zeros((burst.count, row_bits), bool)
        block[:, : bits.shape[1]] = bits
        block[:, pw : pw + sw] = ((index[burst.stream] >> np.arange(sw)) & 1).astype(bool)
        blocks.append(block)
    entries = np.concatenate(blocks, axis=0) if blocks else np.zeros((0, row_bits), bool)
    if bubbles is not None and bubbles.any():
        rows = np.zeros((int(bubbles.sum()), row_bits), bool)
        rows[:, spec.entry_bits - 1] = True
        entries = np.insert(entries, np.flatnonzero(bubbles), rows, axis=0)
    return bits_to_records(entries)


def random_layout(rng, depth=0) -> dict:
    """A layout description: ints of any width (byte-aligned or not, signed or not),
    arrays of them or of structs, structs with gaps between fields."""
    kind = rng.choice(["int", "array", "struct"] if depth < 2 else ["int"])
    if kind == "int":
        width = int(rng.choice([1, 2, 3, 5, 7, 8, 9, 12, 16, 17, 24, 28, 32, 33, 47, 63]))
        return {"kind": "int", "width": width, "signed": bool(rng.integers(2))}
    if kind == "array":
        element = random_layout(rng, depth + 1)
        length = int(rng.integers(1, 6))
        return {
            "kind": "array",
            "width": length * element["width"],
            "length": length,
            "element": element,
        }
    fields, offset = [], 0
    for i in range(int(rng.integers(1, 5))):
        offset += int(rng.integers(0, 3))  # a gap the layout leaves zero
        field = random_layout(rng, depth + 1)
        fields.append({"name": f"f{i}", "offset": offset, **field})
        offset += field["width"]
    return {"kind": "struct", "width": offset, "fields": fields}


def random_values(rng, d: dict, n: int):
    """Values of ``n`` payloads, beyond each field's range too (they are truncated), a
    plain int field sometimes given as one scalar for all payloads."""
    if d["kind"] == "int":
        w = d["width"]
        lo, hi = -(1 << min(w, 62)), 1 << min(w, 62)
        if rng.random() < 0.2:
            return int(rng.integers(lo, hi))
        dtype = rng.choice([np.int64, np.int32, np.int8]) if w <= 8 else np.int64
        v = rng.integers(lo, hi, n)
        return v.astype(dtype)
    if d["kind"] == "array":
        if d["element"]["kind"] == "struct":  # pack takes no arrays of structs
            return None
        shape, e = [], d
        while e["kind"] == "array":
            shape.append(e["length"])
            e = e["element"]
        w = e["width"]
        lo, hi = -(1 << min(w, 62)), 1 << min(w, 62)
        return rng.integers(lo, hi, (n, *shape))
    out = {}
    for f in d["fields"]:
        v = random_values(rng, f, n)
        if v is None:
            return None
        out[f["name"]] = v
    return out


def random_case(rng):
    inputs = []
    while len(inputs) < int(rng.integers(1, 4)):
        d = random_layout(rng)
        if random_values(rng, d, 1) is not None:
            inputs.append(StreamInfo(f"s{len(inputs)}", d["width"], d))
    out = StreamInfo("y", 8, {"kind": "int", "width": 8, "signed": False})
    spec = HarnessSpec(dut="dut", inputs=tuple(inputs), outputs=(out,), depth=1 << 12)
    bursts = []
    for _ in range(int(rng.integers(1, 6))):
        s = inputs[int(rng.integers(len(inputs)))]
        count = int(rng.integers(1, 40))
        bursts.append(Burst(s.name, random_values(rng, s.layout, count), count))
    return spec, Chunk(bursts, {})


@pytest.mark.parametrize("seed", range(60))
def test_encode_entries_matches_the_bit_matrix_route(seed):
    rng = np.random.default_rng(seed)
    spec, chunk = random_case(rng)
    assert encode_entries(spec, chunk) == reference_entries(spec, chunk)
    bubbles = rng.random(chunk.entries) < 0.3
    bubbles[0] = seed % 2 == 0  # a bubble before the first transfer, or not
    assert encode_entries(spec, chunk, bubbles) == reference_entries(spec, chunk, bubbles)
    none = np.zeros(chunk.entries, bool)
    assert encode_entries(spec, chunk, none) == reference_entries(spec, chunk, none)


@pytest.mark.parametrize("seed", range(40))
def test_pack_bytes_matches_pack(seed):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(1, 50))
    values = None
    while values is None:  # pack takes no values for arrays of structs: draw again
        d = random_layout(rng)
        values = random_values(rng, d, n)
    assert records_from_bytes(pack_bytes(d, values, n)) == bits_to_records(pack(d, values, n))


def test_pack_bytes_of_an_amaranth_layout_at_an_offset():
    layout = data.StructLayout(
        {"a": data.ArrayLayout(signed(8), 3), "b": unsigned(5), "c": signed(16)}
    )
    values = {"a": [[-128, 127, -1], [0, 1, 2]], "b": [31, 32], "c": [-32768, 65535]}
    out = pack_bytes(layout, values, offset=3)
    bits = pack(layout, values)
    shifted = np.concatenate([np.zeros((2, 3), bool), bits], axis=1)
    assert records_from_bytes(out) == bits_to_records(shifted)
    assert out.shape == (2, -(-(3 + as_description(layout)["width"]) // 8))


def test_pack_bytes_rejects_what_pack_rejects():
    with pytest.raises(KeyError, match="missing payload fields"):
        pack_bytes(data.StructLayout({"a": unsigned(4), "b": unsigned(4)}), {"a": [1]})
    with pytest.raises(ValueError, match="wider than 63"):
        pack_bytes({"kind": "int", "width": 64, "signed": False}, [1])
    with pytest.raises(ValueError, match="cannot hold"):
        pack_bytes(unsigned(12), [1, 2], out=np.zeros((2, 1), np.uint8))


def test_encode_entries_checks_the_depth():
    d = {"kind": "int", "width": 8, "signed": False}
    spec = HarnessSpec("dut", (StreamInfo("x", 8, d),), (StreamInfo("y", 8, d),), depth=4)
    chunk = Chunk([Burst("x", np.arange(3), 3)], {})
    assert len(encode_entries(spec, chunk)) == 3 * 2  # 1 + 1 + 8 bits: two bytes a row
    with pytest.raises(ValueError, match="harness depth"):
        encode_entries(spec, chunk, np.array([True, True, False]))
