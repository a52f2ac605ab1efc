import numpy as np
import pytest
from amaranth.hdl import signed, unsigned
from amaranth.lib import data
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.sim.packing import (
    bits_to_ints,
    bits_to_records,
    ints_to_bits,
    pack,
    unpack,
    words_to_bits,
)

LAYOUT = data.StructLayout(
    {
        "index": unsigned(3),
        "values": data.ArrayLayout(signed(5), 4),
        "threshold": signed(7),
        "flip": 1,
    }
)


@given(st.integers(1, 30), st.integers(0, 2**31))
@settings(max_examples=30, deadline=None)
def test_struct_round_trip(n, seed):
    rng = np.random.default_rng(seed)
    values = {
        "index": rng.integers(0, 8, n),
        "values": rng.integers(-16, 16, (n, 4)),
        "threshold": rng.integers(-64, 64, n),
        "flip": rng.integers(0, 2, n),
    }
    bits = pack(LAYOUT, values)
    assert bits.shape == (n, LAYOUT.size)
    back = unpack(LAYOUT, bits)
    for key in values:
        assert np.array_equal(back[key], values[key])


def test_field_positions_follow_the_layout():
    bits = pack(LAYOUT, {"index": [5], "values": [[0, 0, 0, 0]], "threshold": [0], "flip": [1]})
    assert bits[0, :3].tolist() == [True, False, True]  # 5, LSB first at offset 0
    assert bits[0, LAYOUT.size - 1]  # flip is the last field
    assert bits[0].sum() == 3


def test_fread_image_is_big_endian_per_word():
    # a 12-bit word 0xABC is stored in 2 bytes, most significant first: 0x0A 0xBC
    bits = ints_to_bits(np.array([0xABC, 0x001]), 12)
    assert bits_to_records(bits) == bytes([0x0A, 0xBC, 0x00, 0x01])


def test_fwrite_u_records_are_little_endian_words():
    # a 40-bit record takes two 32-bit words, least significant word first
    value = 0x12_3456_789A
    raw = (value & 0xFFFFFFFF).to_bytes(4, "little") + (value >> 32).to_bytes(4, "little")
    bits = words_to_bits(raw * 3, 40)
    assert bits.shape == (3, 40)
    assert int("".join("1" if b else "0" for b in bits[0][::-1]), 2) == value
    with pytest.raises(ValueError, match="whole number"):
        words_to_bits(raw[:-1], 40)


def test_twos_complement():
    v = np.array([-8, -1, 0, 7])
    assert np.array_equal(bits_to_ints(ints_to_bits(v, 4), signed=True), v)
    assert np.array_equal(bits_to_ints(ints_to_bits(v, 4), signed=False), v % 16)
