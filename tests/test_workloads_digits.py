"""Booth and EN-T encoders (exhaustive), bit planes and digit statistics."""

import numpy as np
import pytest

from shiftadd.errors import InputError
from shiftadd.workloads.digits import (
    bit_planes,
    booth_decode,
    booth_digit_count,
    booth_encode,
    code_histogram,
    digit_stats,
    ent_decode,
    ent_digit_count,
    ent_encode,
    value_range,
)

ALL_INT8 = np.arange(-128, 128)


def test_booth_reconstructs_every_int8():
    d = booth_encode(ALL_INT8, 8)
    assert d.shape == (256, 4) and d.dtype == np.int8
    assert set(np.unique(d)) <= {-2, -1, 0, 1, 2}
    assert np.array_equal(booth_decode(d), ALL_INT8)


def test_ent_reconstructs_every_int8():
    neg, d = ent_encode(ALL_INT8, 8)
    assert d.shape == (256, 4)
    assert set(np.unique(d)) <= {-1, 0, 1, 2}
    assert np.array_equal(neg, ALL_INT8 < 0)
    assert np.array_equal(ent_decode(neg, d), ALL_INT8)
    # Digits are magnitude digits: each operand's digit string is that of |x|.
    _, mag = ent_encode(np.abs(ALL_INT8[1:]), 8)
    assert np.array_equal(mag, d[1:])


@pytest.mark.parametrize("bits", range(1, 11))
@pytest.mark.parametrize("signed", [True, False])
def test_every_width_reconstructs(bits, signed):
    lo, hi = value_range(bits, signed)
    v = np.arange(lo, hi + 1)
    b = booth_encode(v, bits, signed)
    assert b.shape[-1] == booth_digit_count(bits, signed)
    assert np.array_equal(booth_decode(b), v)
    neg, e = ent_encode(v, bits, signed)
    assert e.shape[-1] == ent_digit_count(bits, signed)
    assert np.array_equal(ent_decode(neg, e), v)


def test_known_digit_strings():
    assert booth_encode(np.array(127), 8).tolist() == [-1, 0, 0, 2]
    assert booth_encode(np.array(-1), 8).tolist() == [-1, 0, 0, 0]
    assert booth_encode(np.array(-128), 8).tolist() == [0, 0, 0, -2]
    assert ent_encode(np.array(3), 8)[1].tolist() == [-1, 1, 0, 0]
    assert ent_encode(np.array(15), 8)[1].tolist() == [-1, 0, 1, 0]
    neg, d = ent_encode(np.array(-128), 8)
    assert bool(neg) and d.tolist() == [0, 0, 0, 2]
    # Unsigned 255 needs the fifth digit: 255 = -1 + 4^4.
    assert ent_encode(np.array(255), 8, signed=False)[1].tolist() == [-1, 0, 0, 0, 1]
    assert booth_encode(np.array(255), 8, signed=False).tolist() == [-1, 0, 0, 0, 1]


def test_bit_planes_are_twos_complement():
    p = bit_planes(ALL_INT8, 8)
    assert np.array_equal(
        p,
        np.unpackbits(ALL_INT8.astype(np.int8).view(np.uint8)[:, None], axis=1, bitorder="little"),
    )
    assert bit_planes(np.array([-1]), 3).tolist() == [[1, 1, 1]]
    assert bit_planes(np.array([5]), 3, signed=False).tolist() == [[1, 0, 1]]


def test_stats_match_direct_counts():
    rng = np.random.default_rng(4)
    codes = np.clip(np.rint(rng.normal(0, 25, (300, 70))), -128, 127).astype(np.int8)
    s = digit_stats(codes, 8)
    assert s["operands"] == codes.size
    assert np.isclose(s["booth_nonzero"], np.count_nonzero(booth_encode(codes), -1).mean())
    assert np.isclose(s["ent_nonzero"], np.count_nonzero(ent_encode(codes)[1], -1).mean())
    assert np.allclose(s["bit_density"], bit_planes(codes, 8).reshape(-1, 8).mean(axis=0))
    assert np.isclose(s["zero_fraction"], (codes == 0).mean())
    assert s["booth_digits"] == 4 and s["ent_digits"] == 4
    # EN-T never needs more nonzero digits than Booth for these operands.
    assert s["ent_nonzero"] <= s["booth_nonzero"]


@pytest.mark.parametrize(
    "std, measured", [(10, 1.71), (20, 2.05), (30, 2.27), (40, 2.45), (50, 2.57)]
)
def test_ent_density_matches_reference_measurements(std, measured):
    # REFERENCE.md section 1: nonzero EN-T digits per int8 operand of normal inputs. Their
    # rounding of the samples is not stated, hence the tolerance; dense radix-4 needs 4.
    rng = np.random.default_rng(std)
    x = np.clip(np.rint(rng.normal(0, std, 200_000)), -128, 127).astype(np.int8)
    assert abs(digit_stats(x)["ent_nonzero"] - measured) < 0.08


def test_histogram_checks_range_and_type():
    hist = code_histogram(np.array([-2, -2, 0, 1], np.int8), 2)
    assert hist.tolist() == [2, 0, 1, 1]
    with pytest.raises(InputError, match="outside"):
        code_histogram(np.array([2]), 2)
    with pytest.raises(InputError, match="outside"):
        booth_encode(np.array([200]), 8)
    with pytest.raises(InputError, match="integer"):
        code_histogram(np.array([0.5]), 8)
    with pytest.raises(InputError):
        ent_encode(np.array([1]), 0)
