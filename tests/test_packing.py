import numpy as np
import pytest
from amaranth.hdl import signed, unsigned
from amaranth.lib import data
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.sim.packing import (bits_to_hex, bits_to_ints, hex_to_bits, ints_to_bits, pack,
                                  unpack)

LAYOUT = data.StructLayout({
    "index": unsigned(3),
    "values": data.ArrayLayout(signed(5), 4),
    "threshold": signed(7),
    "flip": 1,
})


@given(st.integers(1, 30), st.integers(0, 2**31))
@settings(max_examples=30, deadline=None)
def test_struct_round_trip(n, seed):
    rng = np.random.default_rng(seed)
    values = {"index": rng.integers(0, 8, n), "values": rng.integers(-16, 16, (n, 4)),
              "threshold": rng.integers(-64, 64, n), "flip": rng.integers(0, 2, n)}
    bits = pack(LAYOUT, values)
    assert bits.shape == (n, LAYOUT.size)
    back = unpack(LAYOUT, bits)
    for key in values:
        assert np.array_equal(back[key], values[key])


def test_field_positions_follow_the_layout():
    bits = pack(LAYOUT, {"index": [5], "values": [[0, 0, 0, 0]], "threshold": [0], "flip": [1]})
    assert bits[0, :3].tolist() == [True, False, True]      # 5, LSB first at offset 0
    assert bits[0, LAYOUT.size - 1]                          # flip is the last field
    assert bits[0].sum() == 3


@given(st.integers(1, 40), st.integers(0, 2**31))
@settings(max_examples=30, deadline=None)
def test_hex_round_trip(width, seed):
    rng = np.random.default_rng(seed)
    bits = rng.random((17, width)) < 0.5
    text = bits_to_hex(bits)
    assert np.array_equal(hex_to_bits(text, width), bits)
    # a $writememh-style header and upper-case digits parse the same
    assert np.array_equal(hex_to_bits(b"// memory dump\n" + text.upper(), width), bits)


def test_hex_rejects_unknown_values():
    with pytest.raises(ValueError, match="x, z"):
        hex_to_bits(b"0f\n1x\n", 8)


def test_twos_complement():
    v = np.array([-8, -1, 0, 7])
    assert np.array_equal(bits_to_ints(ints_to_bits(v, 4), signed=True), v)
    assert np.array_equal(bits_to_ints(ints_to_bits(v, 4), signed=False), v % 16)
