"""The shift-add engine's design file, golden helpers, cycle, cost and layer-energy models."""

import numpy as np
import pandas as pd
import pytest

from shiftadd import InputError
from shiftadd.design import AdderTreeDesign, ShiftAddDesign, design_from_dict
from shiftadd.models import lutgemm as lg
from shiftadd.models.cost import bill_of_materials, estimate
from shiftadd.models.cycles import gemm_cycles
from shiftadd.models.shiftadd import cost as sa_cost
from shiftadd.models.shiftadd import cycles as sa_cycles
from shiftadd.models.shiftadd import golden as sa_golden
from shiftadd.models.shiftadd import study as sa_study
from shiftadd.sim.benches import bench_for
from shiftadd.workloads.bcq import bcq_quantize

# -- design file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params,field",
    [
        (dict(mu=9), "mu"),
        (dict(q=5), "q"),
        (dict(terms=0), "terms"),
        (dict(columns=6, scale_rows=4), "scale_rows"),
        (dict(lut_slots=17), "lut_slots"),
        (dict(shifter="float"), "shifter"),
        (dict(const_shifts=[[1]]), "const_shifts"),
        (dict(shifter="constant", q=2, terms=1, const_shifts=[[1], [2], [3]]), "const_shifts"),
        (dict(shifter="constant", q=1, terms=1, const_shifts=[[32]]), "const_shifts[0][0]"),
        (dict(shifter="constant", q=1, terms=2, const_signs=[[0, 0]]), "const_signs"),
        (dict(act_bits=16, shift_bits=5, q=4, terms=4, mu=8, acc_groups=65536), "acc_groups"),
        (dict(pipeline_stages=9), "pipeline_stages"),
    ],
)
def test_bad_design_fields_are_named(params, field):
    with pytest.raises(InputError) as info:
        ShiftAddDesign(**params)
    assert info.value.field == field


def test_unknown_field_and_arch_registration():
    d = design_from_dict({"arch": "shiftadd", "mu": 2, "q": 1})
    assert isinstance(d, ShiftAddDesign) and d.scale_rows == d.columns
    with pytest.raises(InputError) as info:
        design_from_dict({"arch": "shiftadd", "colums": 4})
    assert info.value.field == "colums" and "columns" in str(info.value)


def test_derived_ranges():
    d = ShiftAddDesign(mu=8, q=3, terms=3, shift_bits=4, act_bits=8, columns=8, lut_slots=2)
    assert d.lut_range == (-1024, 1024) and d.lut_width == 12
    assert d.plane_sum_range == (-9 * (1024 << 15), 9 * (1024 << 15))
    assert d.acc_range == (-2 * 9 * (1024 << 15), 2 * 9 * (1024 << 15))
    assert d.accumulates and d.weights_per_cycle == 64 and d.ops_per_cycle == 128
    assert d.weight_transfer_bits == 1 + 1 + 8 * 3 * 8 + 3 * 3 * 6
    c = ShiftAddDesign(mu=4, q=3, terms=1, shifter="constant")
    assert c.const_shifts == ((2,), (1,), (0,)) and c.const_signs == ((1,), (1,), (1,))
    assert c.plane_sum_range == (-7 * 512, 7 * 512) and not c.accumulates


# -- golden helpers ------------------------------------------------------------------------


def test_engine_scales_reproduce_the_layer():
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((32, 64)) * 0.05).astype(np.float32)
    res = bcq_quantize(w, 3, mu=8, group_rows=16, apot_terms=2, iters=3)
    x = rng.integers(-128, 128, size=(3, 64))
    d = ShiftAddDesign(mu=4, q=3, terms=3, columns=8, scale_rows=8)
    sh, sg = sa_golden.engine_scales(d, res.shifts, res.signs, 32, 64)
    assert sh.shape == (3, 4, 16, 3)
    np.testing.assert_array_equal(lg.lut_gemm(x, res.planes, sh, sg, mu=4), lg.lut_gemm_bcq(x, res))
    with pytest.raises(InputError) as info:
        sa_golden.engine_scales(
            ShiftAddDesign(mu=4, q=3, columns=6, scale_rows=3), res.shifts, res.signs, 32, 64
        )
    assert info.value.field == "scale_rows"
    with pytest.raises(InputError) as info:
        sa_golden.engine_scales(ShiftAddDesign(mu=4, q=3, terms=1), res.shifts, res.signs, 32, 64)
    assert info.value.field == "terms"


@pytest.mark.parametrize("shifter", ["barrel", "constant"])
def test_transfer_sums_equal_the_dense_dot_product(shifter):
    d = ShiftAddDesign(mu=3, q=2, terms=2, shift_bits=3, columns=4, scale_rows=2, shifter=shifter)
    bench = bench_for(d)
    rng = np.random.default_rng(1)
    loads = bench.random_act(rng, 5)
    table_of = rng.integers(0, 5, size=40)
    keys = bench.random_keys(rng, 40)
    sh, sg = bench.random_scales(rng, 40)
    if shifter == "constant":
        sh = np.broadcast_to(np.asarray(d.const_shifts)[None, None], sh.shape)
        sg = np.broadcast_to(np.asarray(d.const_signs)[None, None], sg.shape)
    got = sa_golden.transfer_sums(d, loads, table_of, keys, sh, sg)
    bits = 2 * ((keys[..., None] >> np.arange(d.mu)) & 1) - 1  # (W, cols, q, mu)
    alpha = lg.alpha_int_from_terms(sh, sg)[:, np.arange(d.columns) // d.scale_rows]
    w_int = (bits * alpha[..., None]).sum(axis=2)  # (W, cols, mu)
    want = np.einsum("wj,wcj->wc", loads[table_of], w_int)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        sa_golden.accumulate(got, [3, 1, 36]), [got[:3].sum(0), got[3], got[4:].sum(0)]
    )


# -- cycles ----------------------------------------------------------------------------------


def test_gemm_cycles_closed_form():
    d = ShiftAddDesign(mu=4, q=2, columns=8, lut_slots=2, pipeline_stages=1)
    g = gemm_cycles(d, 3, 20, 17)
    groups, tiles = 5, 3
    assert g.weight_writes == 3 * groups * tiles
    assert g.transfers == 3 * groups * (1 + tiles)
    assert g.cycles == g.transfers + d.latency
    assert g.macs == 3 * 20 * 17 and 0 < g.utilization < 1
    batch = sa_cycles.gemm_cycles_batch(
        d, np.array([3, 1]), np.array([20, 4096]), np.array([17, 4096])
    )
    assert list(batch["cycles"]) == [g.cycles, 1024 * (1 + 512) + d.latency]


# -- cost ------------------------------------------------------------------------------------


def test_bill_of_materials_follows_the_design():
    d = ShiftAddDesign(mu=4, q=3, terms=3, columns=16, pipeline_stages=1)
    items = {i.part: i for i in bill_of_materials(d)}
    # 16 entries at their exact widths (T[0] in [-508, 512]: 11 bits, the others 10 bits:
    # 161 bits), the parity bit shared by all entries stored once: 161 - 15 flops.
    assert items["table slots"].count == 161 - 15 and not items["table slots"].active
    # per lookup tree, node bits = widest entry below it - 1 (no bit 0 mux, sign copies
    # merged): levels of 8, 4, 2, 1 nodes, the one over T[0] 10 bits, the others 9
    assert sa_cost.lookup_mux2(d) == 139
    assert items["lookup PEs (2**mu:1 muxes)"].count == 16 * 3 * 139
    assert "barrel shifters" in items and "accumulators" not in items
    c = {i.part for i in bill_of_materials(ShiftAddDesign(mu=4, q=3, terms=1, shifter="constant"))}
    assert "barrel shifters" not in c and "term enables" not in c
    a = {i.part for i in bill_of_materials(ShiftAddDesign(mu=4, lut_slots=2))}
    assert {"accumulators", "accumulator registers", "table slot select (shared)"} <= a
    e4, e8 = estimate(ShiftAddDesign(mu=4, columns=16)), estimate(ShiftAddDesign(mu=8))
    assert e8.energy_per_cycle_pj > e4.energy_per_cycle_pj > 0
    assert (
        sa_cost.lut_build_energy(ShiftAddDesign(mu=8))
        > sa_cost.lut_build_energy(ShiftAddDesign())
        > 0
    )


def test_activity_profile_streams_weights_and_holds_tables():
    from shiftadd.rtl_gen.synth import activity_profile

    rules = dict((p, a) for p, a, _ in activity_profile(ShiftAddDesign(), 0.5))
    assert rules["weights__payload*"] == 0.5 and rules["act__*"] == 0.0


# -- layer energy ------------------------------------------------------------------------------


def _table():
    t = pd.DataFrame(
        {
            "name": ["q_proj", "down_proj", "lm_head", "attn_score"],
            "M": [2, 2, 2, 2],
            "N": [64, 32, 100, 8],
            "K": [32, 96, 32, 16],
            "count": [1, 2, 1, 4],
            "kind": ["act x weight"] * 3 + ["act x act"],
            "block": ["attention", "mlp", "head", "attention"],
        }
    )
    t.attrs.update(model="toy", phase="decode")
    return t


def test_op_counts_equal_the_golden_models_counts():
    q, n, k, mu, t = 3, 24, 40, 4, 2
    signs = np.ones((q, n // 8, k // 8, t), np.int8)
    want = lg.lut_gemm_ops(5, (q, n, k), signs, mu)
    got = sa_study.shiftadd_op_counts(5, n, k, q=q, mu=mu, terms=t)
    for key, value in got.items():
        assert int(value) == want[key], key


def test_layer_energy_by_operation_counts():
    u = sa_study.PAPER_45NM
    df = sa_study.layer_energy_ops(_table(), q=2, mu=4, terms=3, dram_pj_per_bit=10.0)
    macs = 2 * 64 * 32 + 2 * (2 * 32 * 96)  # linear layers only: no head, no act x act
    assert df.attrs["macs"] == macs
    fp16 = df.loc["fp16"]
    assert fp16["mult"] == pytest.approx(macs * u.fp16_mult)
    assert fp16["dram_weights"] == pytest.approx((64 * 32 + 2 * 32 * 96) * 16 * 10.0)
    ops = [
        sa_study.shiftadd_op_counts(2, n, k, q=2, mu=4, terms=3) for n, k in ((64, 32), (32, 96))
    ]
    lookups = ops[0]["lookups"] + 2 * ops[1]["lookups"]
    sa = df.loc["shiftadd"]
    assert sa["lookup"] == pytest.approx(lookups * u.lookup)
    assert sa["shift"] == pytest.approx(3 * lookups * u.shift)
    # planes, APoT scales per 32 x 4 block, one 8-bit exponent base per matrix
    bits = 2 + 2 * (3 * 4 + 4) / (32 * 4) + 8 * 3 / (64 * 32 + 2 * 32 * 96)
    assert sa["weight_bits"] == pytest.approx(bits)
    assert sa["vs_fp16"] == pytest.approx(1 - sa["total"] / fp16["total"])
    assert sa_study.layer_energy_ops(_table(), scope="all").attrs["macs"] > macs
    with pytest.raises(InputError):
        sa_study.layer_energy_ops(_table(), scope="attention")


def test_layer_energy_from_the_engines():
    d = ShiftAddDesign(mu=4, q=3, terms=3, columns=16)
    b = AdderTreeDesign(mode="mac", k=4, n=16)
    ihp = sa_study.layer_energy_hw(_table(), d, b)
    assert list(ihp.index) == ["fp16", "shiftadd", "int8"] and "vs_fp16" in ihp
    # Horowitz's FP16 MAC scaled from 45 nm / 0.9 V to 130 nm / 1.2 V
    assert ihp.loc["fp16", "compute_per_mac_pj"] == pytest.approx(1.5 * 130 / 45 * (1.2 / 0.9) ** 2)
    h = sa_study.layer_energy_hw(_table(), d, b, unit_table="horowitz-45nm")
    assert list(h.index) == ["fp16", "shiftadd", "int8"]
    assert h.loc["fp16", "compute_per_mac_pj"] == pytest.approx(1.5)
    no_fp16 = sa_study.layer_energy_hw(_table(), d, b, fp16_mac_pj=0.0)
    assert list(no_fp16.index) == ["shiftadd", "int8"] and "vs_int8" in no_fp16
    # same DRAM traffic whatever the node; compute scales with the unit table
    assert h.loc["shiftadd", "memory"] == pytest.approx(ihp.loc["shiftadd", "memory"])
    assert h.loc["shiftadd", "compute"] < ihp.loc["shiftadd", "compute"]
    per_cycle = sa_study.engine_energy_per_cycle(d)
    assert per_cycle["lookup"] > 0 and per_cycle["shift"] > 0 and per_cycle["mult"] == 0


# -- sweep -------------------------------------------------------------------------------------


def test_sweep_with_shiftadd_engines_matches_the_scalar_models():
    from shiftadd.models.cost import cost_terms
    from shiftadd.models.perf import design_vector, kernel_for
    from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec

    spec = parse_sweep_spec(
        {
            "name": "sa",
            "workload": {"spec": "opt-125m", "phase": "prefill", "batch": 1, "seq": 64},
            "engines": [
                {
                    "arch": "shiftadd",
                    "mu": [4, 8],
                    "q": [2, 3],
                    "columns": [8, 16],
                    "lut_slots": [1, 2],
                    "terms": 3,
                    "weight_buffer_kib": [1, 256],
                }
            ],
        }
    )
    assert spec.points == 2 * 2 * 2 * 2 * 2
    points, layers = evaluate_chunk(spec, 0, spec.points)
    assert len(points) == spec.points and (points["cycles"] > 0).all()
    for _, row in points.sample(8, random_state=0).iterrows():
        d = ShiftAddDesign(
            name="shiftadd_sweep",
            mu=int(row["mu"]),
            q=int(row["q"]),
            columns=int(row["columns"]),
            lut_slots=int(row["lut_slots"]),
            terms=3,
        )
        lay = layers[layers["point"] == row["point"]]
        weight = lay[lay["kind"] == "act x weight"]
        for _, g in weight.iterrows():
            assert g["cycles"] == gemm_cycles(d, g["M"], g["N"], g["K"]).cycles
        assert row["area_logic_mm2"] == pytest.approx(cost_terms(d).area * 1e-6)
    # traffic: a weight block that does not fit the buffer is re-read per vector
    d = ShiftAddDesign(mu=4, q=3, columns=16, lut_slots=2)
    v = {key: np.array([[val]], float) for key, val in design_vector(d).items()}
    m, n, k = (np.array([[x]]) for x in (16, 4096, 4096))
    small = kernel_for("shiftadd")(v, m, n, k, 1e9, 1.0, 1e9)
    big = kernel_for("shiftadd")(v, m, n, k, 1e9, 1e9, 1e9)
    wbits = 4096 * 4096 * design_vector(d)["weight_bits"]
    assert design_vector(d)["weight_bits"] == pytest.approx(3 + 3 * 3 * 6 / 64)
    assert big["weight_buf_write_bits"][0, 0] == pytest.approx(wbits)
    assert small["weight_buf_write_bits"][0, 0] == pytest.approx(16 * wbits)
    assert big["weight_buf_read_bits"][0, 0] == pytest.approx(16 * wbits)
    assert big["cycles"][0, 0] == gemm_cycles(d, 16, 4096, 4096).cycles
