"""Data-driven activity: switching statistics of real tensors and the energy they price."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from shiftadd.design import load_design
from shiftadd.errors import InputError
from shiftadd.families import family_of
from shiftadd.models.cost import cost_terms, estimate, gemm_energy_pj
from shiftadd.models.data_activity import design_codes, measure, random_codes
from shiftadd.workloads.activity_stats import (
    DataActivity,
    act_codes,
    bus_toggle_rate,
    digit_density,
    synthetic_operands,
    weight_codes,
    zero_fraction,
)
from shiftadd.workloads.formats import NumberFormat

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CATALOG = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".toml", ".yaml", ".yml"))
# The families with a data-activity model and their catalog designs.
MODELLED = [
    "mac_int8_k64.toml",
    "bnn_xnor_k256.toml",
    "binaryconnect_k128.yaml",
    "bnn_threshold_k64.toml",
    "mac_k16_opt12.toml",
    "mac_k16_opt1_csa.toml",
    "mac_k16_opt34_digit_sparse.toml",
    "systolic_ws_int8_8x8.toml",
    "systolic_os_int8_16x16.toml",
    "systolic_os_ternary_8x8.toml",
    "systolic_ws_csa_int4_8x8.toml",
    "systolic_os_csa_int8_8x8.toml",
    "matrix2d_int8_8x8.toml",
]


def test_bus_toggle_rate_counts_flipping_bits():
    alternating = np.array([[0, -1], [-1, 0], [0, -1]])  # every bit of 8 flips every cycle
    assert bus_toggle_rate(alternating, 8) == 1.0
    assert bus_toggle_rate(np.full((5, 3), 7), 4) == 0.0
    one_bit = np.array([[0b0000], [0b0001], [0b0001], [0b0011]])  # 2 flips in 3 x 4 bits
    assert bus_toggle_rate(one_bit, 4) == pytest.approx(2 / 12)
    rng = np.random.default_rng(0)
    assert bus_toggle_rate(rng.integers(-128, 128, (4000, 16)), 8) == pytest.approx(0.5, abs=0.01)
    assert bus_toggle_rate(np.zeros((1, 4)), 8) == 0.0


def test_zero_and_digit_statistics():
    assert zero_fraction([0, 1, 0, 2]) == 0.5
    # Radix-4 Booth digits of 8-bit codes: 0 has none nonzero, 1 one of four, -1 one.
    assert digit_density([0], 8, True, "booth") == 0.0
    assert digit_density([1], 8, True, "booth") == 0.25
    assert digit_density([-1], 8, True, "booth") == 0.25
    assert digit_density([0b01010101], 8, True, "booth") == 1.0


def test_codes_follow_the_number_format():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((6, 16)).astype(np.float32)
    x = rng.standard_normal((5, 16)).astype(np.float32)
    c = weight_codes(w, NumberFormat("int4", "int8"))
    assert c.dtype == np.int64 and c.shape == w.shape and np.abs(c).max() == 7
    assert np.array_equal(np.sign(c[np.abs(w) > 0.3]), np.sign(w[np.abs(w) > 0.3]))
    assert set(np.unique(weight_codes(w, NumberFormat("sign", "sign")))) == {0, 1}
    assert set(np.unique(weight_codes(w, NumberFormat("ternary", "int8")))) <= {-1, 0, 1}
    a = act_codes(x, "int8")
    assert np.abs(a).max(axis=1).tolist() == [127] * 5  # per-token scale: the largest is 127
    u = act_codes(x, "uint4")
    assert u.min() == 0 and u.max() == 15
    assert np.array_equal(act_codes(x, "sign"), (x >= 0).astype(np.int64))
    with pytest.raises(InputError):
        act_codes(x, "fp")
    with pytest.raises(InputError):
        weight_codes(w, NumberFormat("bcq2", "int8"))


@pytest.mark.parametrize("path", CATALOG, ids=lambda p: p.name)
def test_uniform_activity_is_the_single_number_model(path):
    # Nothing changes when no data is given: uniform(a) prices exactly as activity a.
    d = load_design(path)
    for a in (0.5, 0.2):
        ref = estimate(d, data_activity=a)
        got = estimate(d, data_activity=DataActivity.uniform(a))
        assert got.energy_per_cycle_pj == pytest.approx(ref.energy_per_cycle_pj, rel=1e-12)
        assert got.area == ref.area
        old, new = cost_terms(d), cost_terms(d, activity=DataActivity.uniform(a))
        run = dict(gemm_cycles=100, total_cycles=130, macs=5000, outputs=40, clock_ns=2.0)
        assert gemm_energy_pj(new, data_activity=new.calibration_activity, **run) == (
            pytest.approx(gemm_energy_pj(old, data_activity=a, **run), rel=1e-12)
        )


@pytest.mark.parametrize("name", MODELLED)
def test_random_codes_measure_as_random_data(name):
    # Uniformly random codes (another seed than the reference) are random data: every
    # equivalent activity near 0.5, and the energy near the random-data figure.
    d = load_design(EXAMPLES / name)
    fn = family_of(d).get("bill_of_materials").__module__
    data_activity = __import__(fn, fromlist=["data_activity"]).data_activity
    # Whole tiles: a partial tile's padding is constant and would lower the rates.
    w, x = random_codes(d, (48, 512), (200, 512), seed=7)
    act = data_activity(d, w, x)
    for field in ("act_toggle", "term", "sum", "digit"):
        assert getattr(act, field) == pytest.approx(0.5, abs=0.04), field
    e = estimate(d, data_activity=act).energy_per_cycle_pj
    assert e == pytest.approx(estimate(d).energy_per_cycle_pj, rel=0.06)
    if d.arith.weight_bits == 1:
        assert act.weight_zero == 0.0  # a 1-bit weight is -1 or +1, never 0


@pytest.mark.parametrize(
    "name, weights_held",
    [
        ("mac_int8_k64.toml", True),
        ("systolic_ws_int8_8x8.toml", True),
        ("systolic_os_int8_16x16.toml", False),
    ],
)
def test_still_data_switches_nothing_and_costs_less(name, weights_held):
    d = load_design(EXAMPLES / name)
    rng = np.random.default_rng(2)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    x = np.tile(rng.standard_normal((1, 64)).astype(np.float32), (40, 1))  # one token, repeated
    act = measure(d, w, x, tiles=1)
    if weights_held:
        # The same vector against still weights: no net of the datapath switches.
        assert act.act_toggle == 0.0 and act.term == 0.0 and act.sum == 0.0
    else:
        # Output-stationary: a step is one column of the token, so the bus still switches.
        assert 0.0 < act.act_toggle < 0.5
    assert estimate(d, data_activity=act).energy_per_cycle_pj < estimate(d).energy_per_cycle_pj


def test_each_operand_drives_its_own_nets():
    # Weight toggles cost energy only where weights stream (output-stationary), not where
    # they sit still (weight-stationary, adder tree).
    quiet_weights = dataclasses.replace(DataActivity.uniform(0.5), weight_toggle=0.0)
    for name, streams in (
        ("systolic_os_int8_16x16.toml", True),
        ("systolic_ws_int8_8x8.toml", False),
        ("mac_int8_k64.toml", False),
    ):
        d = load_design(EXAMPLES / name)
        base = estimate(d).energy_per_cycle_pj
        got = estimate(d, data_activity=quiet_weights).energy_per_cycle_pj
        assert (got < base) if streams else (got == pytest.approx(base, rel=1e-12)), name
    # Quiet activations lower every family's energy.
    quiet_acts = dataclasses.replace(DataActivity.uniform(0.5), act_toggle=0.0)
    for name in MODELLED:
        d = load_design(EXAMPLES / name)
        assert (
            estimate(d, data_activity=quiet_acts).energy_per_cycle_pj
            < estimate(d).energy_per_cycle_pj
        )


def test_digit_selects_follow_the_digits():
    d = load_design(EXAMPLES / "mac_k16_opt12.toml")
    rng = np.random.default_rng(3)
    w = rng.standard_normal((8, 32)).astype(np.float32)
    # Activations whose codes are powers of 4 (one nonzero radix-4 digit) vs dense ones.
    x_sparse = np.where(rng.random((64, 32)) < 0.5, 1.0, 0.0).astype(np.float32)
    x_sparse[:, 0] = 127.0  # per-token scale: the rest round to 0 or 1
    sparse = measure(d, w, x_sparse)
    dense = measure(d, w, rng.standard_normal((64, 32)).astype(np.float32))
    assert sparse.digit_density is not None and sparse.digit_density < 0.3
    assert sparse.digit < dense.digit


def test_synthetic_operands_and_errors(monkeypatch):
    w, x, what = synthetic_operands(32, 64, tokens=20)
    assert w.shape == (32, 64) and x.shape == (20, 64) and "synthetic" in what
    d = load_design(EXAMPLES / "mac_int8_k64.toml")
    act = measure(d, w, x, source=what)
    assert act.source == what and 0 < act.act_toggle < 1
    with pytest.raises(InputError):
        design_codes(d, w, x[:, :10])  # K differs
    # A family whose cost module defines no data_activity is refused in one line.
    import shiftadd.models.shiftadd.cost as shiftadd_cost

    monkeypatch.delattr(shiftadd_cost, "data_activity")
    with pytest.raises(InputError, match="no data-driven activity"):
        measure(load_design(EXAMPLES / "shiftadd_q3_mu4.toml"), w, x)
    monkeypatch.undo()
    with pytest.raises(InputError):
        DataActivity(1.5, 0.5)
    # A preset without weights: synthetic tensors, and the source says so.
    from shiftadd.models.data_activity import workload_activity

    assert workload_activity(d, "llama-2-7b").source.startswith("synthetic")


def test_minilm_tiles():
    # The packaged checkpoint is installed by the set-up (offline after that).
    from shiftadd.workloads.activity_stats import checkpoint_operands

    w, x, what = checkpoint_operands("all-minilm-l6-v2", rows=16, cols=64, tokens=32)
    assert w.shape == (16, 64) and x.shape == (32, 64) and "query" in what
    d = load_design(EXAMPLES / "systolic_ws_csa_int4_8x8.toml")
    act = measure(d, w, x)
    # Real int4 activations of a LayerNorm output: many zero codes, so the lanes' products
    # switch less than on random data.
    assert act.act_zero > 0.1 and act.term < 0.47
    with pytest.raises(InputError):
        checkpoint_operands("/nonexistent/folder")
    with pytest.raises(InputError):
        checkpoint_operands("all-minilm-l6-v2", "encoder.layer.9.nothing.weight")


def test_bench_runs_given_operands():
    from shiftadd.sim.benches import bench_for
    from shiftadd.sim.operands import use_operands

    d = load_design(EXAMPLES / "mac_int8_k64.toml")
    rng = np.random.default_rng(0)
    x = rng.integers(-5, 6, (7, 70))
    w = rng.integers(-5, 6, (9, 70))
    bench = bench_for(d)
    use_operands(bench, x, w)
    chunk = bench.gemm(np.random.default_rng(1), 7, 9, 70)
    # The bench's first tile sends the given activations (first 64 columns).
    acts = [b for b in chunk.bursts if b.stream == "act"]
    assert np.array_equal(np.asarray(acts[0].values)[:, :64], x[:, :64])
    with pytest.raises(InputError):
        bench.random_act(rng, 8, 70)  # more rows than given
    with pytest.raises(InputError):
        # A bench that does not draw its operands through random_act / random_weights.
        use_operands(object(), x, w)


def test_operands_file_round_trip(tmp_path):
    from shiftadd.sim.operands import load_operands, save_operands

    x, w = np.arange(12).reshape(3, 4), -np.arange(8).reshape(2, 4)
    got = load_operands(save_operands(tmp_path / "o.npz", x, w))
    assert np.array_equal(got[0], x) and np.array_equal(got[1], w)
    with pytest.raises(InputError):
        save_operands(tmp_path / "bad.npz", x, w[:, :3])


@pytest.mark.sim
def test_rtl_gemm_runs_given_operands(tmp_path, sim_build_root):
    # The digit-sparse array takes as many cycles per vector as its digits need, so the
    # simulated cycles show which activations reached the RTL. Same design as
    # tests/test_bitweight_sim.py (its simulator build is reused).
    from shiftadd.design import AdderTreeDesign
    from shiftadd.sim.operands import save_operands
    from shiftadd.sim.runner import simulate

    d = AdderTreeDesign(
        name="bw_sparse", mode="mac", k=6, n=2, digit_sparse=True, digit_group=3, pipeline_stages=1
    )
    rng = np.random.default_rng(5)
    w = rng.integers(-128, 128, (7, 21))
    runs = {}
    for kind, x in (("zeros", np.zeros((13, 21), np.int64)), ("dense", np.full((13, 21), 85))):
        path = save_operands(tmp_path / f"{kind}.npz", x, w)
        report = simulate(d, gemm=(13, 7, 21), seed=0, operands=path, build_root=sim_build_root)
        assert report.passed and report.gemm["gemm_matches"], report.first_mismatches
        assert report.gemm["gemm_cycles_sim"] == report.gemm["gemm_cycles_model"]
        runs[kind] = report.gemm["gemm_cycles_sim"]
    # 85 = 0b01010101: a nonzero radix-4 digit at every position, zero none.
    assert runs["zeros"] < runs["dense"]
    with pytest.raises(InputError):
        simulate(d, vectors=10, operands=tmp_path / "zeros.npz")


def test_data_energy_row_and_table():
    from shiftadd.flows.validate import DataEnergyRow, data_energy_markdown

    act = DataActivity(0.3, 0.4, act_zero=0.1, term=0.35, sum=0.4).to_dict()
    row = DataEnergyRow(
        design="d",
        arch="adder_tree",
        source="x.toml",
        data="minilm layer",
        gemm=(4, 2, 8),
        activity=act,
        random_model_pj=1100.0,
        random_sta_pj=1000.0,
        data_model_pj=700.0,
        data_sta_pj=1000.0,
        cycles_random=10,
        cycles_data=10,
        gate_level_passed=True,
        clock_ns=2.0,
        seconds=1.0,
    )
    assert row.random_error == pytest.approx(0.1) and row.data_error == pytest.approx(-0.3)
    assert row.model_shift == pytest.approx(700 / 1100 - 1) and row.sta_shift == 0.0
    assert not row.passed  # -30% on real data is outside the 25% target
    text = data_energy_markdown([row], command="shiftadd validate --data minilm x.toml")
    assert "| d | adder_tree | 4,2,8 | 0.300 | 0.400 | 10.0% |" in text
    assert "-30.0%" in text and "0 of 1 designs" in text and "Data: minilm layer." in text


def test_remodel_data_reprices_a_stored_row_with_the_current_models():
    """A reused real-data row keeps its measurements and gets the current model's energies:
    the same formula as a fresh measurement, on the same operands; a row without cycle
    counts of a digit-sparse design (cycles follow its data) must be measured again."""
    from shiftadd.design import AdderTreeDesign
    from shiftadd.flows.validate import (
        MODEL_DATA_ACTIVITY,
        DataEnergyRow,
        model_energy_pj,
        remodel_data,
        validation_gemm,
    )
    from shiftadd.models.cycles import gemm_cycles
    from shiftadd.workloads.activity_stats import checkpoint_operands

    d = AdderTreeDesign(name="rm", mode="mac", k=8, n=2)
    gemm = tuple(validation_gemm(d))
    stale = DataEnergyRow(
        design="rm",
        arch="adder_tree",
        source="rm.toml",
        data="stored",
        gemm=gemm,
        activity={},
        random_model_pj=1.0,
        random_sta_pj=1000.0,
        data_model_pj=1.0,
        data_sta_pj=900.0,
        cycles_random=gemm[0] + 40,
        cycles_data=gemm[0] + 40,
        gate_level_passed=True,
        clock_ns=10.0,
        seconds=5.0,
        design_hash=d.design_hash,
    )
    row = remodel_data(stale, d, checkpoint="all-minilm-l6-v2")
    cycles = int(gemm_cycles(d, *gemm).cycles)
    assert row.model_cycles_random == row.model_cycles_data == cycles
    m, n, k = gemm
    w, x, _ = checkpoint_operands("all-minilm-l6-v2", rows=n, cols=k, tokens=m)
    act = measure(d, w, x, tiles=1 << 20)
    want_random = model_energy_pj(d, gemm, cycles, gemm[0] + 40, 10.0, MODEL_DATA_ACTIVITY)
    want_data = model_energy_pj(
        d, gemm, cycles, gemm[0] + 40, 10.0, MODEL_DATA_ACTIVITY, activity=act
    )
    assert row.random_model_pj == pytest.approx(want_random)
    assert row.data_model_pj == pytest.approx(want_data)
    assert row.random_model_pj != 1.0 and row.data_model_pj != row.random_model_pj
    # measurements untouched
    assert (row.random_sta_pj, row.data_sta_pj, row.seconds) == (1000.0, 900.0, 5.0)
    sparse = AdderTreeDesign(name="rs", mode="mac", k=8, n=2, digit_sparse=True)
    assert remodel_data(stale, sparse, checkpoint="all-minilm-l6-v2") is None


def test_cli_validate_data_bad_checkpoint(tmp_path, capsys, liberty):
    from shiftadd.cli import main

    lib = liberty
    out = tmp_path / "table.md"
    code = main(
        [
            "validate",
            "--data",
            str(tmp_path / "nothing"),
            "--liberty",
            str(lib),
            "--out",
            str(out),
            str(EXAMPLES / "mac_int8_k64.toml"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "checkpoint" in err
    assert not out.exists()  # nothing half written
