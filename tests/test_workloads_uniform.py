"""sign, ternary and int-k quantizers: payloads, error bounds, storage, options, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shiftadd.errors import InputError
from shiftadd.workloads import available_formats, quantize, synthetic_weights


@pytest.fixture(scope="module")
def w():
    return synthetic_weights((48, 128), seed=11)


def test_formats_are_registered():
    patterns = available_formats()
    for p in ("sign", "ternary", r"int(?P<bits>\d+)", r"int(?P<bits>\d+)_asym"):
        assert p in patterns


@pytest.mark.parametrize("bits", range(2, 9))
@pytest.mark.parametrize("group_size", [None, 32])
def test_int_symmetric(w, bits, group_size):
    qt = quantize(w, f"int{bits}", group_size=group_size)
    codes, scales = qt.payload["codes"], qt.payload["scales"]
    qmax = 2 ** (bits - 1) - 1
    assert codes.dtype == np.int8 and codes.shape == w.shape
    assert scales.dtype == np.float32
    groups = 1 if group_size is None else 128 // group_size
    assert scales.shape == (48, groups)
    assert np.abs(codes).max() <= qmax
    g = codes.reshape(48, groups, -1)
    assert (np.abs(g).max(axis=2) == qmax).all()  # each group's largest weight hits the rail
    deq = (g * scales[:, :, None]).reshape(w.shape)
    assert np.allclose(qt.dequantized, deq)
    step = np.repeat(scales, w.shape[1] // groups, axis=1)
    assert (np.abs(qt.dequantized - w) <= step / 2 * (1 + 1e-5)).all()
    assert qt.storage_bits == bits * w.size + 16 * scales.size
    assert qt.params["bits"] == bits and qt.params["signed"] is True
    assert qt.params["group_size"] == group_size


@pytest.mark.parametrize("fmt, bits", [("int4_asym", 4), ("int8_asym", 8), ("int3_asym", 3)])
def test_int_asymmetric(w, fmt, bits):
    x = w.copy()
    x[:, 5] = 0.0
    qt = quantize(x, fmt, group_size=64, scale_bits=8)
    codes, z, s = qt.payload["codes"], qt.payload["zero_points"], qt.payload["scales"]
    assert codes.dtype == np.uint8 and z.dtype == np.uint8 and z.shape == s.shape == (48, 2)
    assert codes.max() <= 2**bits - 1
    g = codes.reshape(48, 2, 64).astype(np.float32)
    assert np.allclose(qt.dequantized, ((g - z[:, :, None]) * s[:, :, None]).reshape(x.shape))
    assert (qt.dequantized[:, 5] == 0).all()  # zero is exactly representable
    step = np.repeat(s, 64, axis=1)
    assert (np.abs(qt.dequantized - x) <= step / 2 * (1 + 1e-5)).all()
    assert qt.storage_bits == bits * x.size + s.size * (8 + bits)
    assert qt.params["signed"] is False


def test_error_shrinks_with_bits(w):
    errs = [quantize(w, f"int{b}").error(w)["mse"] for b in range(2, 9)]
    assert all(a > b for a, b in zip(errs, errs[1:]))
    assert quantize(w, "int4_asym").error(w)["mse"] < quantize(w, "int3").error(w)["mse"]


def test_sign_is_xnor_net(w):
    qt = quantize(w, "sign")
    signs, planes, scales = qt.payload["signs"], qt.payload["planes"], qt.payload["scales"]
    assert set(np.unique(signs)) == {-1, 1}
    assert planes.shape == (1,) + w.shape and planes.dtype == bool
    assert np.array_equal(planes[0], signs > 0)
    assert np.allclose(scales[:, 0], np.abs(w).mean(axis=1))
    assert np.allclose(qt.dequantized, signs * scales)
    # mean|w| minimizes ||alpha*sign(w) - w|| over alpha: perturbing it only hurts.
    base = qt.error(w)["mse"]
    for f in (0.9, 1.1):
        assert np.mean((signs * scales * f - w) ** 2) > base
    assert qt.storage_bits == w.size + 16 * 48
    grouped = quantize(w, "sign", group_size=16)
    assert grouped.payload["scales"].shape == (48, 8)
    assert grouped.error(w)["mse"] < base


def test_ternary_twn(w):
    qt = quantize(w, "ternary")
    codes, scales = qt.payload["codes"], qt.payload["scales"]
    assert set(np.unique(codes)) <= {-1, 0, 1}
    delta = 0.7 * np.abs(w).mean(axis=1, keepdims=True)
    assert np.array_equal(codes != 0, np.abs(w) > delta)
    assert np.array_equal(codes[codes != 0], np.sign(w)[codes != 0].astype(np.int8))
    kept = np.where(codes != 0, np.abs(w), 0).sum(axis=1) / (codes != 0).sum(axis=1)
    assert np.allclose(scales[:, 0], kept)
    assert qt.storage_bits == 2 * w.size + 16 * 48
    assert 0.2 < (codes == 0).mean() < 0.8
    assert qt.error(w)["mse"] < quantize(w, "sign").error(w)["mse"]


def test_all_zero_rows_stay_zero():
    x = np.zeros((3, 8), np.float32)
    x[1] = np.arange(8) - 3.5
    for fmt in ("int8", "int4_asym", "ternary", "sign"):
        qt = quantize(x, fmt)
        assert np.isfinite(qt.dequantized).all()
        assert (qt.dequantized[0] == 0).all() and (qt.dequantized[2] == 0).all()


def test_bad_options():
    x = np.ones((4, 12), np.float32)
    with pytest.raises(InputError) as err:
        quantize(x, "int8", group_size=5)
    assert err.value.field == "group_size"
    with pytest.raises(InputError):
        quantize(x, "sign", group_size=0)
    with pytest.raises(InputError) as err:
        quantize(x, "int17")
    assert err.value.field == "format"
    with pytest.raises(InputError):
        quantize(x, "int1_asym")
    with pytest.raises(InputError):
        quantize(x, "ternary", threshold=-1)
    with pytest.raises(InputError):
        quantize(x, "int4", scale_bits=-2)
    with pytest.raises(InputError, match="unknown weight format"):
        quantize(x, "int4_sym")


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 6), st.sampled_from([4, 8, 16])),
        elements=st.floats(-1e3, 1e3, width=32),
    ),
    st.integers(2, 8),
    st.booleans(),
)
def test_int_codes_in_range_and_error_bounded(x, bits, asym):
    fmt = f"int{bits}_asym" if asym else f"int{bits}"
    qt = quantize(x, fmt, group_size=4)
    codes = qt.payload["codes"].astype(int)
    if asym:
        assert codes.min() >= 0 and codes.max() <= 2**bits - 1
    else:
        assert np.abs(codes).max() <= 2 ** (bits - 1) - 1
    step = np.repeat(qt.payload["scales"], 4, axis=1)
    assert (np.abs(qt.dequantized - x) <= step / 2 * (1 + 1e-4) + 1e-30).all()


@pytest.mark.parametrize("fmt,dtype", [("int12", np.int16), ("int16_asym", np.uint16)])
def test_wide_integer_formats(fmt, dtype):
    # mac engines take weights up to 16 bits; their codes need 16-bit payloads
    w = np.random.default_rng(5).standard_normal((8, 64)).astype(np.float32)
    qt = quantize(w, fmt)
    assert qt.payload["codes"].dtype == dtype
    bits = int(fmt[3:5])
    assert qt.error(w)["max_abs"] <= float(np.abs(w).max()) / (2 ** (bits - 1) - 1)
