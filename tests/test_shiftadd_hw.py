"""The shift-add engine's blocks and the whole engine in the Amaranth simulator.

Blocks (LUT builder, lookup PE, barrel shifter, term tree) against their definitions and
the LUT-GEMM golden model; the engine against the bench's golden expectations and the
analytic cycle model, at full rate and under random input gaps and output backpressure.
"""

import itertools

import numpy as np
import pytest
from amaranth.hdl import signed, unsigned
from amaranth.sim import Simulator

from shiftadd.design import ShiftAddDesign
from shiftadd.design.shiftadd import table_range
from shiftadd.hw import build_component
from shiftadd.hw.shiftadd_lut import LutBuilder, LutLookup
from shiftadd.hw.shiftadd_shift import BarrelShifter, TermTree
from shiftadd.models.lutgemm import build_luts
from shiftadd.sim.amaranth_play import check_on_amaranth, play_amaranth
from shiftadd.sim.benches import bench_for
from shiftadd.sim.plan import Checker


def run_comb(component, cases, output):
    """Drive each case (a list of ``(port, value)``) and read ``output`` (combinational)."""
    got = []

    async def bench(ctx):
        for case in cases:
            for port, value in case:
                ctx.set(port, value)
            got.append(ctx.get(output))

    sim = Simulator(component)
    sim.add_testbench(bench)
    sim.run()
    return got


# -- LUT builder ---------------------------------------------------------------------------


@pytest.mark.parametrize("mu,bits", [(1, 4), (2, 3), (3, 8), (4, 8), (8, 8)])
def test_lut_builder_matches_golden_tables(mu, bits):
    builder = LutBuilder(mu=mu, act_shape=signed(bits))
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    rng = np.random.default_rng(mu)
    x = rng.integers(lo, hi + 1, size=(6, mu))
    x = np.vstack(
        [
            x,
            np.full(mu, lo),
            np.full(mu, hi),
            np.zeros(mu, int),
            np.where(np.arange(mu) % 2, lo, hi),
        ]
    )
    got = run_comb(builder, [[(builder.x, [int(v) for v in row])] for row in x], builder.table)
    got = np.array([[int(t[i]) for i in range(1 << mu)] for t in got])
    want = build_luts(x, mu)[:, 0, :]
    np.testing.assert_array_equal(got, want)
    # definition: T[key] = sum_j (2 key_j - 1) x_j
    signs = 2 * ((np.arange(1 << mu)[:, None] >> np.arange(mu)) & 1) - 1
    np.testing.assert_array_equal(want, x @ signs.T)
    lo_t, hi_t = table_range(mu, (lo, hi))
    assert want.min() >= lo_t and want.max() <= hi_t
    assert builder.adders == (1 << mu) + mu - 1


def test_lut_builder_rejects_bad_width():
    with pytest.raises(ValueError, match="mu must be an integer from 1 to 12"):
        LutBuilder(mu=0, act_shape=signed(8))


# -- lookup PE -----------------------------------------------------------------------------


@pytest.mark.parametrize("mu", [1, 3, 8])
def test_lookup_reads_the_keyed_entry(mu):
    pe = LutLookup(mu=mu, entry_shape=signed(9))
    rng = np.random.default_rng(mu)
    table = [int(v) for v in rng.integers(-256, 256, size=1 << mu)]
    keys = range(1 << mu) if mu <= 3 else rng.integers(0, 1 << mu, size=64)
    got = run_comb(pe, [[(pe.table, table), (pe.key, int(k))] for k in keys], pe.value)
    assert got == [table[int(k)] for k in keys]
    assert pe.mux2_per_bit == (1 << mu) - 1


# -- barrel shifter ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,bits",
    [(signed(6), 1), (signed(5), 3), (signed(12), 4), (unsigned(4), 2), (signed(2), 5)],
)
def test_barrel_shifter_shifts_by_every_amount(shape, bits):
    shifter = BarrelShifter(value_shape=shape, bits=bits)
    lo, hi = (
        (-(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1)
        if shape.signed
        else (0, (1 << shape.width) - 1)
    )
    values = sorted({lo, hi, 0, -1 if shape.signed else 1, lo + 1, hi - 1})
    pairs = list(itertools.product(values, range(1 << bits)))
    cases = [[(shifter.value, v), (shifter.amount, a)] for v, a in pairs]
    got = run_comb(shifter, cases, shifter.shifted)
    assert got == [v << a for v, a in pairs]
    assert len(shifter.shifted) == shape.width + (1 << bits) - 1


def test_barrel_shifter_rejects_bad_width():
    with pytest.raises(ValueError, match="Shift width must be an integer from 1 to 6"):
        BarrelShifter(value_shape=signed(8), bits=7)


# -- term tree -----------------------------------------------------------------------------


@pytest.mark.parametrize("register_after", [(), (0,), (1, 2)])
def test_term_tree_sums_leaves_of_different_ranges(register_after):
    ranges = [(-4096, 4095), (-8, 7), (0, 9), (-1025, 1024), (3, 3)]
    tree = TermTree(leaf_ranges=ranges, register_after=register_after)
    rng = np.random.default_rng(1)
    leaves = np.stack([rng.integers(lo, hi + 1, size=20) for lo, hi in ranges], axis=1)
    leaves = np.vstack([leaves, [r[0] for r in ranges], [r[1] for r in ranges]])
    got = []
    latency = len(register_after)

    async def bench(ctx):
        ctx.set(tree.en, 1)
        for i in range(leaves.shape[0] + latency):
            if i < leaves.shape[0]:
                for k, v in enumerate(leaves[i]):
                    ctx.set(getattr(tree, f"leaf{k}"), int(v))
            if i >= latency:
                got.append(ctx.get(tree.total))
            if latency:
                await ctx.tick()

    sim = Simulator(tree)
    if register_after:
        sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == list(leaves.sum(axis=1))


# -- the engine ----------------------------------------------------------------------------

ENGINES = [
    dict(mu=2, q=2, terms=2, shift_bits=2, act_bits=4, columns=2),
    dict(
        mu=3,
        q=2,
        terms=2,
        shift_bits=3,
        act_bits=5,
        columns=4,
        scale_rows=2,
        lut_slots=3,
        acc_groups=5,
        pipeline_stages=2,
    ),
    dict(mu=4, q=1, terms=1, shift_bits=4, act_bits=8, columns=1, lut_slots=2),
    dict(
        mu=2,
        q=3,
        terms=2,
        act_bits=4,
        shifter="constant",
        const_shifts=[[3, 1], [2, 0], [0, 0]],
        const_signs=[[1, -1], [1, 1], [-1, 0]],
        columns=3,
        lut_slots=2,
        pipeline_stages=1,
    ),
]


def check(design, results, seed=0, stall=False, max_entries=200):
    return check_on_amaranth(design, results, seed=seed, stall=stall, max_entries=max_entries)


@pytest.mark.parametrize(
    "params", ENGINES, ids=lambda p: "-".join(f"{k}{v}" for k, v in list(p.items())[:5])
)
def test_engine_matches_golden_and_cycle_model(params):
    design = ShiftAddDesign(**params)
    report = check(design, results=80)
    assert report.passed, report.first_mismatches
    assert report.vectors == 80 and report.cycle_checked == 80


@pytest.mark.parametrize("params", ENGINES[1:3], ids=["slots", "single-column"])
def test_engine_under_backpressure_and_gaps(params):
    report = check(ShiftAddDesign(**params), results=50, seed=3, stall=True)
    assert report.passed, report.first_mismatches
    assert report.cycle_checked == 0


@pytest.mark.parametrize("params", [ENGINES[1], ENGINES[3]], ids=["barrel", "constant"])
def test_engine_runs_a_layer(params):
    design = ShiftAddDesign(**params)
    rng = np.random.default_rng(5)
    chunk = bench_for(design).gemm(rng, 2, 2 * design.columns + 1, 4 * design.mu + 1)
    recorded = play_amaranth(build_component(design), chunk)
    report = Checker().check(chunk, recorded)
    assert report.passed, report.first_mismatches
    result = chunk.finish(recorded)
    assert result["gemm_matches"]
    assert result["gemm_cycles_sim"] == result["gemm_cycles_model"]


def test_checker_sees_a_wrong_reference():
    """A deliberately wrong expectation (one table entry off by one) is caught."""
    design = ShiftAddDesign(**ENGINES[0])
    chunk = next(bench_for(design).chunks(np.random.default_rng(0), 30, max_entries=200))
    recorded = play_amaranth(build_component(design), chunk)
    assert Checker().check(chunk, recorded).passed
    chunk.expected["result"].values[11, 1] += 1
    chunk.expected["result"].cycles[4] += 1
    report = Checker().check(chunk, recorded)
    assert report.mismatches == 1 and report.cycle_mismatches == 1 and not report.passed


def test_table_write_takes_effect_for_later_transfers_only():
    """act at cycle 0 (table A), weight at 1 reads A, act at 2 (table B), weight at 3 reads B;
    a weight accepted in the same cycle as an act still reads the older table."""
    design = ShiftAddDesign(mu=2, q=1, terms=1, act_bits=4, columns=1)
    dut = build_component(design)
    seen = []

    async def bench(ctx):
        ctx.set(dut.result.ready, 1)
        ctx.set(dut.weights.payload.shifts, [0])
        ctx.set(dut.weights.payload.signs, [1])
        ctx.set(dut.weights.payload.keys, [3])  # T[3] = x0 + x1
        steps = [
            ("act", [1, 2]),
            ("w", None),
            ("act", [5, 6]),
            ("both", [-3, -4]),
            ("w", None),
            (None, None),
            (None, None),
        ]
        for kind, x in steps:
            ctx.set(dut.act.valid, kind in ("act", "both"))
            ctx.set(dut.weights.valid, kind in ("w", "both"))
            if x is not None:
                ctx.set(dut.act.payload.values, x)
            if ctx.get(dut.result.valid):
                seen.append(ctx.get(dut.result.payload[0]))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert seen == [3, 11, -7]


def test_inputs_stall_on_backpressure():
    design = ShiftAddDesign(mu=2, q=1, terms=1, act_bits=4, columns=1)
    dut = build_component(design)
    seen = []

    async def bench(ctx):
        ctx.set(dut.result.ready, 0)
        ctx.set(dut.weights.valid, 1)
        for _ in range(4):
            seen.append(
                (ctx.get(dut.act.ready), ctx.get(dut.weights.ready), ctx.get(dut.result.valid))
            )
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert [s[1] for s in seen] == [1, 1, 0, 0]
    assert [s[0] for s in seen] == [1, 1, 0, 0]
    assert [s[2] for s in seen] == [0, 0, 1, 1]


def test_engine_rejects_a_foreign_design():
    from shiftadd.design import AdderTreeDesign
    from shiftadd.hw.shiftadd_engine import ShiftAddEngine

    with pytest.raises(TypeError, match="Design must be a ShiftAddDesign"):
        ShiftAddEngine(design=AdderTreeDesign())
