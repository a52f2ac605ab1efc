"""Tests of the BCQ quantizer (shiftadd.workloads.bcq)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd import InputError
from shiftadd.workloads import bcq
from shiftadd.workloads.bcq import bcq_quantize
from shiftadd.workloads.quant import QuantizedTensor, available_formats, quantize


def _weights(n=32, k=64, seed=0, scale=0.02):
    rng = np.random.default_rng(seed)
    # rows of different magnitude, like real layers, so groups differ
    return (rng.standard_normal((n, k)) * scale * np.exp(0.5 * rng.standard_normal((n, 1)))).astype(
        np.float32
    )


def _naive_dequant(planes, alphas, gr, mu):
    q, n, k = planes.shape
    a = np.repeat(np.repeat(alphas.astype(np.float64), gr, axis=1), mu, axis=2)
    return np.sum(np.where(planes, a, -a), axis=0)


def _correlated_calib(m, k, seed=1):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((m, 8)) @ rng.standard_normal((8, k))
    x = z + 0.2 * rng.standard_normal((m, k))
    return x * np.exp(rng.standard_normal(k))  # uneven feature scales, as in LLM activations


# --- registry and payload ---------------------------------------------------------------


def test_formats_registered():
    pats = available_formats()
    assert any("bcq" in p for p in pats)
    for q in (1, 2, 3, 4):
        qt = quantize(_weights(), f"bcq{q}")
        assert isinstance(qt, QuantizedTensor) and qt.fmt == f"bcq{q}"
        assert qt.payload["planes"].shape == (q, 32, 64)
    with pytest.raises(InputError) as ei:
        quantize(_weights(), "bcq5")
    assert ei.value.field == "format"


def test_payload_keys_shapes_and_dtypes():
    w = _weights()
    qt = quantize(w, "bcq3", layout="kernel", mu=8, group_rows=4, scale_form="apot")
    p = qt.payload
    assert set(p) == {"planes", "alphas", "scale_shifts", "scale_signs", "alpha_int", "exp_base"}
    assert p["planes"].dtype == bool and p["planes"].shape == (3, 32, 64)
    assert p["alphas"].dtype == np.float32 and p["alphas"].shape == (3, 8, 8)
    assert p["scale_shifts"].shape == (3, 8, 8, 3) and p["scale_shifts"].dtype == np.uint8
    assert p["scale_signs"].dtype == np.int8
    assert p["exp_base"].shape == () and np.issubdtype(p["exp_base"].dtype, np.integer)
    # the payload alone reproduces the reconstruction
    deq = _naive_dequant(p["planes"], p["alphas"], 4, 8)
    np.testing.assert_array_equal(deq.astype(np.float32), qt.dequantized)
    ai = (p["scale_signs"].astype(np.int64) << p["scale_shifts"].astype(np.int64)).sum(-1)
    np.testing.assert_array_equal(ai, p["alpha_int"])
    np.testing.assert_array_equal(ai * 2.0 ** int(p["exp_base"]), p["alphas"])
    assert qt.params["group_rows"] == 4 and qt.params["layout"] == "kernel"
    free = quantize(w, "bcq2", scale_form="free").payload
    assert set(free) == {"planes", "alphas"}


def test_unknown_option_rejected():
    with pytest.raises(InputError) as ei:
        quantize(_weights(), "bcq2", groupsize=8)
    assert ei.value.field == "groupsize"


# --- reconstruction, layouts, fixed point -------------------------------------------------


@pytest.mark.parametrize(
    "layout,mu,gr", [("kernel", 8, 4), ("kernel", 4, 8), ("column", 8, 16), ("kernel", 1, 2)]
)
@pytest.mark.parametrize("form", ["free", "pow2", "apot"])
def test_reconstruction_matches_layout(layout, mu, gr, form):
    w = _weights()
    r = bcq_quantize(w, 3, layout=layout, mu=mu, group_rows=gr, scale_form=form, iters=4)
    mu_eff = 1 if layout == "column" else mu
    assert r.mu == mu_eff and r.group_rows == gr
    assert r.alphas.shape == (3, 32 // gr, 64 // mu_eff)
    assert np.all(r.alphas > 0)
    assert np.all(np.diff(r.alphas, axis=0) <= 0), "alphas sorted descending"
    np.testing.assert_array_equal(
        r.dequantized(), _naive_dequant(r.planes, r.alphas, gr, mu_eff).astype(np.float32)
    )


@pytest.mark.parametrize("form,terms", [("pow2", 1), ("apot", 2), ("apot", 3), ("apot", 4)])
@pytest.mark.parametrize("search", ["nearest", "greedy"])
def test_fixed_point_form_is_exact(form, terms, search):
    w = _weights(seed=5) * 7.0
    r = bcq_quantize(
        w, 3, scale_form=form, apot_terms=terms, apot_search=search, shift_bits=4, iters=5
    )
    t = 1 if form == "pow2" else terms
    assert r.shifts.shape == r.alphas.shape + (t,)
    assert r.shifts.min() >= 0 and r.shifts.max() <= 15
    assert set(np.unique(r.signs)) <= {-1, 0, 1}
    assert np.all(r.signs[..., 0] == 1), "first term present and positive"
    # largest weight magnitude sets the binary point: max|W| < 2**(exp_base + 15)
    assert np.abs(w).max() < 2.0 ** (r.exp_base + 15) <= 2 * np.abs(w).max()
    np.testing.assert_array_equal(r.alpha_int * 2.0**r.exp_base, r.alphas)
    np.testing.assert_array_equal(r.dequantized_int() * 2.0**r.exp_base, r.dequantized())
    if form == "pow2":
        # one power of two per scale
        a = r.alphas.astype(np.float64)
        np.testing.assert_array_equal(a, 2.0 ** np.round(np.log2(a)))


def test_free_scales_have_no_integer_form():
    r = bcq_quantize(_weights(), 2, scale_form="free")
    assert r.shifts is None and r.exp_base is None
    # stored as float16
    np.testing.assert_array_equal(r.alphas, r.alphas.astype(np.float16).astype(np.float32))
    with pytest.raises(InputError):
        _ = r.alpha_int


# --- solver -------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["free", "pow2", "apot"])
@pytest.mark.parametrize("q", [1, 2, 3, 4])
def test_error_history_non_increasing(form, q):
    w = _weights(48, 64, seed=q)
    r = bcq_quantize(w, q, scale_form=form, iters=12, group_rows=6)
    h = np.array(r.errors["history"])
    assert len(h) == 13
    assert np.all(np.diff(h) <= 1e-9 * h[0]), h
    # the reported MSE is the final history entry and matches the reconstruction
    direct = np.mean((r.dequantized().astype(np.float64) - w) ** 2)
    assert r.errors["weight_mse"] == pytest.approx(h[-1] / w.size, rel=1e-9)
    assert r.errors["weight_mse"] == pytest.approx(direct, rel=1e-5)


@pytest.mark.parametrize("q", [2, 3, 4])
def test_refinement_beats_greedy(q):
    w = _weights(32, 64, seed=7)
    greedy = bcq_quantize(w, q, scale_form="free", iters=0).errors["weight_mse"]
    refined = bcq_quantize(w, q, scale_form="free", iters=20).errors["weight_mse"]
    assert refined < 0.95 * greedy


def test_more_bits_less_error():
    w = _weights(seed=11)
    errs = [bcq_quantize(w, q).errors["weight_mse"] for q in (1, 2, 3, 4)]
    assert all(a > 1.5 * b for a, b in zip(errs, errs[1:])), errs


@pytest.mark.parametrize("form", ["free", "pow2", "apot"])
def test_codes_are_nearest_given_scales(form):
    # brute force over all 2**q codes of every weight's group
    q, gr, mu = 3, 4, 8
    w = _weights(16, 32, seed=2)
    r = bcq_quantize(w, q, group_rows=gr, mu=mu, scale_form=form, iters=6)
    a = np.repeat(np.repeat(r.alphas.astype(np.float64), gr, axis=1), mu, axis=2)  # (q,N,K)
    codes = np.array(list(itertools.product((-1.0, 1.0), repeat=q)))  # (8, q)
    vals = np.einsum("cq,qnk->cnk", codes, a)
    best = np.min(np.abs(vals - w[None].astype(np.float64)), axis=0)
    ours = np.abs(r.dequantized().astype(np.float64) - w)
    assert np.all(ours <= best + 1e-6 * np.abs(w).max())


def test_free_scales_are_least_squares_at_convergence():
    q, gr, mu = 3, 8, 8
    w = _weights(32, 64, seed=3)
    r = bcq_quantize(w, q, scale_form="free", group_rows=gr, mu=mu, iters=50)
    for g, b in itertools.product(range(32 // gr), range(64 // mu)):
        blk = w[g * gr : (g + 1) * gr, b * mu : (b + 1) * mu].ravel().astype(np.float64)
        bmat = np.stack(
            [
                2.0 * r.planes[i, g * gr : (g + 1) * gr, b * mu : (b + 1) * mu].ravel() - 1
                for i in range(q)
            ],
            axis=1,
        )
        ours = np.sum((blk - bmat @ r.alphas[:, g, b]) ** 2)
        ls = np.linalg.lstsq(bmat, blk, rcond=None)[0]
        best = np.sum((blk - bmat @ ls) ** 2)
        assert ours <= best * (1 + 1e-3) + 1e-12  # float16 storage of the scales only


def test_scale_forms_ordering():
    w = _weights(64, 128, seed=4)
    e = {f: bcq_quantize(w, 3, scale_form=f).errors["weight_mse"] for f in ("free", "pow2", "apot")}
    assert e["apot"] < e["pow2"]
    assert e["apot"] < 1.1 * e["free"], e  # 3 APoT terms lose little against float scales
    e2 = bcq_quantize(w, 3, scale_form="apot", apot_terms=1).errors["weight_mse"]
    assert e2 == pytest.approx(e["pow2"], rel=0.05)


def test_apot_rounding_is_nearest():
    # the exhaustive search returns the representable value nearest to each scale
    grid = bcq._ScaleGrid("apot", 2, exp_base=-6, dmax=7, search="nearest")
    rng = np.random.default_rng(0)
    a = np.exp(rng.uniform(np.log(2.0**-8), np.log(3.0), 2000))
    v, sh, sg = grid.round(a)
    reps = [0.0] + [s * 2.0 ** (d - 6) for d in range(8) for s in (1, -1)]
    allv = np.unique([x + y for x in reps for y in reps])
    allv = allv[allv > 0]
    best = allv[np.argmin(np.abs(allv[None, :] - a[:, None]), axis=1)]
    np.testing.assert_allclose(np.abs(v - a), np.abs(best - a), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(((sg.astype(np.int64) << sh).sum(-1)) * 2.0**-6, v)
    g = bcq._ScaleGrid("apot", 2, exp_base=-6, dmax=7, search="greedy").round(a)[0]
    assert np.all(g > 0) and np.all(np.abs(g - a) >= np.abs(v - a) - 1e-15)


def test_shift_add_counts():
    w = _weights()
    for form, t, per in (("pow2", 1, (1, 0, 0)), ("apot", 3, (3, 2, 0)), ("free", 3, (0, 0, 1))):
        r = bcq_quantize(w, 2, scale_form=form, apot_terms=t, mu=8, group_rows=4)
        c = r.shift_add_counts
        assert (c["per_scale_shifts"], c["per_scale_adds"], c["per_scale_mults"]) == per
        assert c["scale_mults"] == 2 * 32 * 64 // 8
        assert c["total_shifts"] == per[0] * c["scale_mults"]
        assert c["total_adds"] == per[1] * c["scale_mults"]
        if form != "free":
            nnz = np.count_nonzero(r.signs, axis=-1)
            assert c["effective_shifts"] == int(nnz.sum()) * 4 <= c["total_shifts"]
            assert c["effective_adds"] == int((nnz - 1).sum()) * 4


def test_storage_bits():
    w = _weights()
    r = bcq_quantize(w, 3, scale_form="apot", apot_terms=3, shift_bits=4, group_rows=4)
    n_scales = 3 * 8 * 8
    assert r.storage_bits == 3 * w.size + n_scales * (3 * 4 + 2 * 2) + 8
    r = bcq_quantize(w, 2, scale_form="free", group_rows=4)
    assert r.storage_bits == 2 * w.size + 2 * 8 * 8 * 16
    assert r.to_quantized_tensor().bits_per_weight == pytest.approx(r.storage_bits / w.size)


def test_default_group_rows():
    assert bcq_quantize(_weights(64, 64), 2).group_rows == 16  # 128 weights / mu=8
    assert bcq_quantize(_weights(64, 64), 2, layout="column").group_rows == 64
    assert bcq_quantize(_weights(24, 64), 2).group_rows == 12  # largest divisor <= 16


# --- output-aware mode --------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["kernel", "column"])
def test_output_aware_lowers_output_error(layout):
    w = _weights(32, 128, seed=9)
    x = _correlated_calib(256, 128)
    r = bcq_quantize(w, 2, layout=layout, group_rows=8, calib=x, iters=6)
    e = r.errors
    assert e["output_mse"] < 0.7 * e["plain_output_mse"], e
    # the reported figures are what they say
    d = x @ (w.astype(np.float64) - r.dequantized()).T
    assert e["output_mse"] == pytest.approx(np.mean(d * d), rel=1e-9)
    assert e["weight_mse"] == pytest.approx(
        np.mean((w.astype(np.float64) - r.dequantized()) ** 2), rel=1e-9
    )
    plain = bcq_quantize(w, 2, layout=layout, group_rows=8, iters=6)
    assert e["plain_weight_mse"] == pytest.approx(plain.errors["weight_mse"], rel=1e-5)
    # fixed-point form holds in this mode too
    np.testing.assert_array_equal(r.dequantized_int() * 2.0**r.exp_base, r.dequantized())


def test_output_aware_block_size_does_not_change_the_math():
    # lazy batch updates are an evaluation order, not a different algorithm
    w = _weights(16, 64, seed=4)
    x = _correlated_calib(64, 64, seed=2)
    a = bcq_quantize(w, 2, calib=x, block_size=8, group_rows=4, report_plain=False)
    b = bcq_quantize(w, 2, calib=x, block_size=64, group_rows=4, report_plain=False)
    assert a.errors["output_mse"] == pytest.approx(b.errors["output_mse"], rel=1e-4)
    assert "plain_output_mse" not in a.errors


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"q": 0}, "q"),
        ({"q": 5}, "q"),
        ({"q": 2.5}, "q"),
        ({"group_rows": 5}, "group_rows"),
        ({"group_rows": 0}, "group_rows"),
        ({"mu": 7}, "mu"),
        ({"mu": 32}, "mu"),
        ({"layout": "rows"}, "layout"),
        ({"scale_form": "int"}, "scale_form"),
        ({"apot_terms": 0}, "apot_terms"),
        ({"iters": -1}, "iters"),
        ({"apot_search": "x"}, "apot_search"),
        ({"shift_bits": 0}, "shift_bits"),
        ({"calib": np.zeros((0, 64))}, "calib"),
        ({"calib": np.ones((4, 63))}, "calib"),
        ({"calib": np.full((4, 64), np.nan)}, "calib"),
        ({"damp": 0.0}, "damp"),
        ({"block_size": 12}, "block_size"),
    ],
)
def test_bad_arguments(kwargs, field):
    args = {"q": 2, **kwargs}
    q = args.pop("q")
    with pytest.raises(InputError) as ei:
        bcq_quantize(_weights(32, 64), q, **args)
    assert ei.value.field == field


def test_group_rows_message_names_the_divisor():
    with pytest.raises(InputError, match="must divide out_features=32") as ei:
        bcq_quantize(_weights(32, 64), 2, group_rows=3)
    assert ei.value.allowed == "a divisor of 32"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(bad):
    w = _weights()
    w[3, 5] = bad
    with pytest.raises(InputError) as ei:
        bcq_quantize(w, 2)
    assert ei.value.field == "weights"
    with pytest.raises(InputError):
        quantize(w, "bcq2")


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    q=st.integers(1, 4),
    ng=st.integers(1, 3),
    gr=st.sampled_from([1, 2, 4]),
    kb=st.integers(1, 3),
    mu=st.sampled_from([1, 2, 8]),
    form=st.sampled_from(["free", "pow2", "apot"]),
    seed=st.integers(0, 2**16),
    scale=st.floats(1e-3, 1e3),
    iters=st.integers(0, 5),
)
def test_invariants_random(q, ng, gr, kb, mu, form, seed, scale, iters):
    n, k = ng * gr, kb * mu
    w = (np.random.default_rng(seed).standard_normal((n, k)) * scale).astype(np.float32)
    r = bcq_quantize(w, q, mu=mu, group_rows=gr, scale_form=form, iters=iters)
    assert r.planes.shape == (q, n, k) and r.planes.dtype == bool
    assert r.alphas.shape == (q, ng, kb) and np.all(r.alphas > 0)
    h = np.array(r.errors["history"])
    assert np.all(np.diff(h) <= 1e-9 * max(h[0], 1e-30))
    deq = r.dequantized()
    np.testing.assert_array_equal(
        deq, _naive_dequant(r.planes, r.alphas, gr, mu).astype(np.float32)
    )
    if form != "free":
        np.testing.assert_array_equal(r.dequantized_int() * 2.0**r.exp_base, deq)
        assert r.shifts.max() <= 15 and np.all(r.signs[..., 0] == 1)
