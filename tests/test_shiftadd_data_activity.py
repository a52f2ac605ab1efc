"""Data-driven activity of the shift-add (LUT-GEMM) engine: packed BCQ codes, the switching
of its nets on data, and the bench running given operands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shiftadd.design import ShiftAddDesign, load_design
from shiftadd.errors import InputError
from shiftadd.models.cost import estimate
from shiftadd.models.data_activity import design_codes, has_data_model, measure
from shiftadd.models.lutgemm import dequantize_int
from shiftadd.models.shiftadd.codes import code_bits, pack_weight_codes, unpack_weight_codes
from shiftadd.models.shiftadd.cost import bill_of_materials, data_activity
from shiftadd.workloads.quality import quantize_weights

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DESIGNS = ["shiftadd_q3_mu4.toml", "shiftadd_q2_mu8_pow2.toml", "shiftadd_q3_const.yaml"]


def _random_packed(d: ShiftAddDesign, n: int, k: int, m: int, seed: int):
    """Uniformly random planes, scale fields (signs +-1) and activations, packed."""
    rng = np.random.default_rng(seed)
    planes = rng.random((d.q, n, k)) < 0.5
    sets, groups = -(-n // d.scale_rows), -(-k // d.mu)
    shape = (d.q, sets, groups, d.terms)
    shifts = rng.integers(0, 1 << d.shift_bits, size=shape)
    signs = rng.choice(np.array([-1, 1]), size=shape)
    lo, hi = d.act_range
    x = rng.integers(lo, hi + 1, size=(m, k))
    return pack_weight_codes(d, planes, shifts, signs), x, (planes, shifts, signs)


@pytest.mark.parametrize("name", DESIGNS)
def test_codes_round_trip(name):
    d = load_design(EXAMPLES / name)
    wc, _, (planes, shifts, signs) = _random_packed(d, 37, 21, 2, seed=1)
    assert wc.shape == (37, 21) and 0 <= wc.min() and int(wc.max()) < 1 << code_bits(d)
    p, sh, sg = unpack_weight_codes(d, wc)
    assert np.array_equal(p, planes)
    if d.shifter == "barrel":
        assert np.array_equal(sh, shifts) and np.array_equal(sg, signs)


def test_bad_codes_are_refused():
    d = load_design(EXAMPLES / "shiftadd_q3_mu4.toml")
    wc, x, _ = _random_packed(d, 32, 16, 3, seed=2)
    bad = wc.copy()
    bad[1, 0] ^= 1 << (d.q + d.shift_bits)  # one weight of a scale set changes its sign
    with pytest.raises(InputError, match="scale set"):
        unpack_weight_codes(d, bad)
    with pytest.raises(InputError, match="outside"):
        data_activity(d, wc, x + 1000)
    with pytest.raises(InputError, match="not \\(M, 16\\)"):
        data_activity(d, wc, x[:, :8])
    # A design whose codes do not fit an int64: a one-line error naming the field.
    big = ShiftAddDesign(q=4, terms=4, shift_bits=5, columns=4)
    with pytest.raises(InputError) as err:
        pack_weight_codes(big, np.zeros((4, 4, 8), bool))
    assert err.value.field == "terms" and "\n" not in str(err.value)


@pytest.mark.parametrize("name", DESIGNS)
def test_design_codes_are_the_quantized_layer(name):
    d = load_design(EXAMPLES / name)
    rng = np.random.default_rng(3)
    w = (0.02 * rng.standard_normal((48, 24))).astype(np.float32)  # whole scale sets
    x = rng.standard_normal((5, 24)).astype(np.float32)
    wc, xc = design_codes(d, w, x)
    assert wc.shape == w.shape and xc.shape == x.shape
    lo, hi = d.act_range
    assert lo <= xc.min() and xc.max() <= hi
    qt = quantize_weights(w, d.number_format)
    planes, shifts, signs = unpack_weight_codes(d, wc)
    if d.shifter == "barrel":
        w_int = dequantize_int(planes, shifts, signs)
        exp = float(np.asarray(qt.payload["exp_base"]))
        # the packed integers are the quantizer's dequantized weights in its fixed point
        assert np.allclose(w_int * 2.0**exp, qt.dequantized, rtol=1e-6, atol=1e-12)
    else:
        w_int = dequantize_int(planes, shifts[:, :1, :1], signs[:, :1, :1])
        scales = np.asarray(qt.payload["scales"], np.float64)[:, None]
        assert np.allclose(w_int * scales, qt.dequantized, rtol=1e-6)


@pytest.mark.parametrize("name", DESIGNS)
def test_random_codes_price_as_random_data(name):
    # Uniformly random codes (another seed than the model's reference) are random data:
    # term and sum near 0.5, buses near 0.5, and the energy the 0.5-activity figure.
    d = load_design(EXAMPLES / name)
    assert has_data_model(d)
    k = 8 * d.mu * d.lut_slots
    wc, x, _ = _random_packed(d, 4 * d.columns, k, 64, seed=7)
    act = data_activity(d, wc, x)
    for field in ("act_toggle", "weight_toggle", "term", "sum"):
        assert getattr(act, field) == pytest.approx(0.5, abs=0.03), field
    e = estimate(d, data_activity=act).energy_per_cycle_pj
    assert e == pytest.approx(estimate(d).energy_per_cycle_pj, rel=0.03)


@pytest.mark.parametrize("name", DESIGNS)
def test_zero_activations_switch_the_lookups_less(name):
    d = load_design(EXAMPLES / name)
    k = 4 * d.mu * d.lut_slots
    wc, x, _ = _random_packed(d, 2 * d.columns, k, 16, seed=4)
    still = data_activity(d, wc, np.zeros_like(x))
    busy = data_activity(d, wc, x)
    # All-zero tables: every lookup is 0 whatever the keys; only the barrel designs'
    # negative terms (~0 = -1) still switch with their signs.
    assert still.term < busy.term and still.sum < busy.sum
    if d.shifter == "constant":
        assert still.term == 0.0 and still.sum == 0.0
    assert still.act_toggle == 0.0 and still.act_zero == 1.0
    assert estimate(d, data_activity=still).energy_per_cycle_pj < (
        estimate(d, data_activity=busy).energy_per_cycle_pj
    )


def test_every_streaming_item_names_its_nets():
    # Priced on data, no active item may fall back to the activation bus (idle here).
    for name in DESIGNS:
        d = load_design(EXAMPLES / name)
        loose = [i.part for i in bill_of_materials(d) if i.active and i.driver == "data"]
        assert loose == [], (name, loose)


def test_measure_on_real_shaped_floats_and_bench_takes_them():
    from shiftadd.sim.bench_shiftadd import ShiftAddBench
    from shiftadd.sim.operands import use_operands

    d = load_design(EXAMPLES / "shiftadd_q3_mu4.toml")
    rng = np.random.default_rng(5)
    w = (0.02 * rng.standard_t(4, size=(40, 24))).astype(np.float32)
    x = rng.standard_normal((6, 24)).astype(np.float32)
    act = measure(d, w, x, source="t")
    assert act.source == "t" and 0 < act.term < 1 and act.weight_zero < 0.5
    # The bench plays the same codes (padding 40 rows to 3 tiles of 16, 24 inputs to
    # 3 K-tiles) and its expectations agree with the dense product of the codes.
    wc, xc = design_codes(d, w, x)
    bench = ShiftAddBench(d)
    use_operands(bench, xc, wc)
    chunk = bench.gemm(np.random.default_rng(0), 6, 40, 24)
    report = chunk.finish({"result": chunk.expected["result"]})
    assert report["gemm_matches"] and report["gemm_source"].startswith("given")
    # a wrong expectation is caught (the check can fail)
    wrong = chunk.expected["result"]
    wrong.values[0, 0] += 1
    assert not chunk.finish({"result": wrong})["gemm_matches"]


def test_bunched_scales_are_not_counted_as_data():
    # The calibrated 0.5 figure is for quantizer scales (shifts bunched near the top of
    # the field): random planes and activations under any fixed scales measure as random.
    d = load_design(EXAMPLES / "shiftadd_q2_mu8_pow2.toml")
    rng = np.random.default_rng(6)
    n, k = 4 * d.columns, 8 * d.mu
    planes = rng.random((d.q, n, k)) < 0.5
    shape = (d.q, n // d.scale_rows, k // d.mu, d.terms)
    shifts, signs = np.full(shape, 13), np.ones(shape, np.int64)
    x = rng.integers(*d.act_range, size=(64, k), endpoint=True)
    act = data_activity(d, pack_weight_codes(d, planes, shifts, signs), x)
    assert act.term == pytest.approx(0.5, abs=0.03) and act.sum == pytest.approx(0.5, abs=0.03)


@pytest.mark.sim
def test_rtl_gemm_runs_given_codes(tmp_path, sim_build_root):
    # A small engine simulated on a quantized float layer's packed codes (a partial N-tile,
    # a partial K group): the RTL's sums equal the golden LUT-GEMM of exactly those codes.
    from shiftadd.sim.operands import save_operands
    from shiftadd.sim.runner import simulate

    d = ShiftAddDesign(
        name="sa_given", mu=2, q=2, terms=2, shift_bits=2, act_bits=4, columns=2, lut_slots=2
    )
    rng = np.random.default_rng(8)
    w = rng.standard_normal((5, 7)).astype(np.float32)
    x = rng.standard_normal((3, 7)).astype(np.float32)
    wc, xc = design_codes(d, w, x)
    path = save_operands(tmp_path / "codes.npz", xc, wc)
    report = simulate(d, gemm=(3, 5, 7), seed=0, operands=path, build_root=sim_build_root)
    assert report.passed and report.gemm["gemm_matches"], report.first_mismatches
    assert report.gemm["gemm_cycles_sim"] == report.gemm["gemm_cycles_model"]
    # The bench draws from the given codes: a GEMM with more vectors than given is refused.
    with pytest.raises(InputError, match="activation codes"):
        simulate(d, gemm=(4, 5, 7), seed=0, operands=path, build_root=sim_build_root)
