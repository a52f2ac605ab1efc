"""Tests of the LUT-GEMM golden model (shiftadd.models.lutgemm)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd import InputError
from shiftadd.models import lutgemm as lg
from shiftadd.workloads.bcq import bcq_quantize


def _layer(n=32, k=64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, k)) * 0.05).astype(np.float32)


def _acts(m, k, seed=1, bits=8):
    rng = np.random.default_rng(seed)
    lim = 2 ** (bits - 1) - 1
    return rng.integers(-lim, lim + 1, size=(m, k)).astype(np.int8 if bits <= 8 else np.int32)


# --- tables and keys ----------------------------------------------------------------------


@pytest.mark.parametrize("mu", [1, 2, 3, 5, 8])
def test_build_luts_matches_definition(mu):
    x = _acts(3, 4 * mu, seed=mu)
    t = lg.build_luts(x, mu)
    assert t.shape == (3, 4, 2**mu) and t.dtype == np.int64
    xs = x.astype(np.int64).reshape(3, 4, mu)
    for key in range(2**mu):
        bits = np.array([(key >> j) & 1 for j in range(mu)])
        np.testing.assert_array_equal(t[:, :, key], xs @ (2 * bits - 1))


def test_lut_build_cost():
    assert lg.lut_build_cost(8) == {"adds": 263, "shifts": 8, "entries": 256}
    assert lg.lut_build_cost(1) == {"adds": 2, "shifts": 1, "entries": 2}


@pytest.mark.parametrize("mu", [1, 3, 8, 10])
def test_keys_bit_j_is_column_j(mu):
    rng = np.random.default_rng(mu)
    planes = rng.random((2, 5, 3 * mu)) < 0.5
    keys = lg.keys_from_planes(planes, mu)
    assert keys.shape == (2, 5, 3)
    expect = (planes.reshape(2, 5, 3, mu).astype(np.int64) << np.arange(mu)).sum(-1)
    np.testing.assert_array_equal(keys.astype(np.int64), expect)
    one = np.zeros((1, 1, mu), bool)
    one[0, 0, mu - 1] = True
    assert int(lg.keys_from_planes(one, mu)[0, 0, 0]) == 1 << (mu - 1)


# --- exactness ----------------------------------------------------------------------------


@pytest.mark.parametrize("form,terms", [("pow2", 1), ("apot", 3), ("apot", 2)])
@pytest.mark.parametrize(
    "layout,mu,lut_mu", [("kernel", 8, 8), ("kernel", 8, 4), ("kernel", 4, 4), ("column", 1, 1)]
)
def test_lut_gemm_equals_dense_integer_product(form, terms, layout, mu, lut_mu):
    w = _layer(seed=3)
    r = bcq_quantize(
        w, 3, layout=layout, mu=mu, group_rows=8, scale_form=form, apot_terms=terms, iters=4
    )
    x = _acts(5, 64)
    y, ops = lg.lut_gemm_bcq(x, r, lut_mu, return_ops=True)
    w_int = lg.dequantize_int(r.planes, r.shifts, r.signs)
    np.testing.assert_array_equal(w_int, r.dequantized_int())
    ref = lg.dense_reference(x, w_int)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, ref)
    # and against an independent float64 product (exact: all values far below 2**53)
    np.testing.assert_array_equal(
        y, (x.astype(np.float64) @ w_int.T.astype(np.float64)).astype(np.int64)
    )
    assert ops["lookups"] == 5 * 3 * 32 * (64 // lut_mu)


def test_close_to_float_reference():
    rng = np.random.default_rng(40)  # not the weights' seed: independent activations
    w = _layer(64, 256, seed=4)
    x = rng.standard_normal((8, 256))
    sx = np.abs(x).max() / 127
    xi = np.round(x / sx).astype(np.int8)
    ref = x @ w.T.astype(np.float64)
    rel = {}
    for q in (2, 3, 4):
        r = bcq_quantize(w, q, scale_form="apot")
        y = lg.lut_gemm_bcq(xi, r) * sx * 2.0**r.exp_base
        # exactly the float product of the dequantized operands...
        np.testing.assert_allclose(
            y, (xi * sx) @ r.dequantized().T.astype(np.float64), rtol=1e-12, atol=1e-12
        )
        rel[q] = np.linalg.norm(y - ref) / np.linalg.norm(ref)
        # ...and within the quantization error of the float layer
        w_rel = np.sqrt(r.errors["weight_mse"] / np.mean(w.astype(np.float64) ** 2))
        assert rel[q] < 1.5 * w_rel + 0.02, (q, rel[q], w_rel)
    assert rel[2] > rel[3] > rel[4]
    print("LUT-GEMM relative error vs float X @ W.T (int8 activations):", rel)


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(1, 4),
    q=st.integers(1, 4),
    ng=st.integers(1, 3),
    gr=st.sampled_from([1, 3]),
    kba=st.integers(1, 3),
    mua=st.sampled_from([1, 2, 4, 6]),
    t=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_exact_on_random_terms(m, q, ng, gr, kba, mua, t, seed, data):
    # arbitrary planes and shift terms (negative signs, unused terms, repeated shifts)
    n, k = ng * gr, kba * mua
    mu = data.draw(st.sampled_from([d for d in range(1, mua + 1) if mua % d == 0]))
    rng = np.random.default_rng(seed)
    planes = rng.random((q, n, k)) < 0.5
    shifts = rng.integers(0, 12, size=(q, ng, kba, t)).astype(np.uint8)
    signs = rng.integers(-1, 2, size=(q, ng, kba, t)).astype(np.int8)
    x = rng.integers(-(2**15), 2**15, size=(m, k)).astype(np.int16)
    y = lg.lut_gemm(x, planes, shifts, signs, mu)
    a = (signs.astype(np.int64) << shifts.astype(np.int64)).sum(-1)
    w_int = np.zeros((n, k), np.int64)
    for i, r, c in itertools.product(range(q), range(n), range(k)):
        w_int[r, c] += (1 if planes[i, r, c] else -1) * a[i, r // gr, c // mua]
    np.testing.assert_array_equal(y, x.astype(np.int64) @ w_int.T)


# --- operation counts ---------------------------------------------------------------------


def test_operation_counts():
    w = _layer(32, 64, seed=5)
    m, q, n, k, mu = 4, 3, 32, 64, 8
    r = bcq_quantize(w, q, mu=mu, group_rows=4, scale_form="apot", apot_terms=3)
    _, ops = lg.lut_gemm_bcq(_acts(m, k), r, return_ops=True)
    kb = k // mu
    assert ops["lut_tables"] == m * kb
    assert ops["lut_build_adds"] == m * kb * (2**mu - 1 + mu)
    assert ops["lut_build_shifts"] == m * kb * mu
    assert ops["lookups"] == m * q * n * kb
    # the scale counts agree with what the quantizer reports per activation vector
    c = r.shift_add_counts
    assert ops["scale_shifts"] == m * c["effective_shifts"] <= m * c["total_shifts"]
    assert ops["scale_adds"] == m * c["effective_adds"]
    assert ops["accumulate_adds"] == m * n * (q * kb - 1)
    assert ops["adds"] == ops["lut_build_adds"] + ops["scale_adds"] + ops["accumulate_adds"]
    assert ops["mults"] == 0
    p2 = bcq_quantize(w, q, mu=mu, group_rows=4, scale_form="pow2")
    _, ops2 = lg.lut_gemm_bcq(_acts(m, k), p2, return_ops=True)
    assert ops2["scale_shifts"] == ops2["lookups"] and ops2["scale_adds"] == 0
    # a narrower LUT: more tables and lookups, same scale work per weight column block
    _, ops4 = lg.lut_gemm_bcq(_acts(m, k), r, 4, return_ops=True)
    assert ops4["lookups"] == 2 * ops["lookups"]
    assert ops4["lut_build_adds"] == m * (k // 4) * (2**4 - 1 + 4)


# --- bad input ----------------------------------------------------------------------------


def test_bad_inputs():
    w = _layer()
    r = bcq_quantize(w, 2, mu=8, group_rows=8)
    x = _acts(2, 64)
    with pytest.raises(InputError) as ei:
        lg.lut_gemm_bcq(x.astype(np.float32), r)
    assert ei.value.field == "x_int"
    with pytest.raises(InputError) as ei:
        lg.lut_gemm_bcq(_acts(2, 60), r)
    assert ei.value.field in ("x_int", "mu")
    with pytest.raises(InputError) as ei:
        lg.lut_gemm_bcq(x, r, 16)
    assert ei.value.field == "mu"
    with pytest.raises(InputError) as ei:
        lg.lut_gemm_bcq(x, r, 3)
    assert ei.value.field == "mu"
    with pytest.raises(InputError) as ei:
        lg.build_luts(x, 13)
    assert ei.value.field == "mu"
    with pytest.raises(InputError) as ei:
        lg.lut_gemm(x, r.planes.astype(np.int8), r.shifts, r.signs, 8)
    assert ei.value.field == "planes"
    with pytest.raises(InputError) as ei:
        lg.lut_gemm(x, r.planes, r.shifts[:, :3], r.signs[:, :3], 8)
    assert ei.value.field == "shifts"
    with pytest.raises(InputError) as ei:
        lg.lut_gemm(x, r.planes, r.shifts, r.signs * 2, 8)
    assert ei.value.field == "signs"
    with pytest.raises(InputError) as ei:
        lg.lut_gemm_bcq(x, bcq_quantize(w, 2, scale_form="free"))
    assert ei.value.field == "scale_form"
    with pytest.raises(InputError) as ei:
        lg.lut_gemm(np.full((1, 64), 2**40, np.int64), r.planes, r.shifts + 20, r.signs, 8)
    assert ei.value.field == "x_int"
    with pytest.raises(InputError):
        lg.dense_reference(x, np.ones((4, 63), np.int64))
