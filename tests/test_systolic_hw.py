"""Amaranth-simulator tests of the grid engines' PEs and arrays.

The carry-save PEs (OPT1: Booth partial products with ``mac``, ``+-a`` with add/sub and
ternary weights, no carry-propagate adder) are checked exhaustively on small widths against
the plain MAC PE (same value every cycle) and against the golden model (the same carry-save
pair, bit for bit, and the same Booth digits).
"""

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator

from shiftadd.design import design_from_dict
from shiftadd.hw import build_component
from shiftadd.hw.arith import pe_arithmetic
from shiftadd.hw.systolic_pe import AccumulatorPE, PartialSumPE
from shiftadd.models.grid import golden as grid_golden
from shiftadd.sim.amaranth_play import play_amaranth
from shiftadd.sim.benches import bench_for
from shiftadd.sim.plan import Checker

# Small PE arithmetic, every (activation, weight) pair enumerable.
SMALL = {
    "mac4s": dict(mode="mac", act_bits=4, weight_bits=4),
    "mac3u": dict(mode="mac", act_bits=3, act_signed=False, weight_bits=3, weight_signed=False),
    "mac4u_w3s": dict(mode="mac", act_bits=4, act_signed=False, weight_bits=3),
    "mac5s_w2s": dict(mode="mac", act_bits=5, weight_bits=2),
    "addsub4s": dict(mode="addsub", act_bits=4),
    "addsub3u": dict(mode="addsub", act_bits=3, act_signed=False),
    "ternary4s": dict(mode="ternary", act_bits=4),
    "ternary3u": dict(mode="ternary", act_bits=3, act_signed=False),
}


def _design(params, cs, acc_bits=None, dataflow="os"):
    extra = dict(k_max=16) if dataflow == "os" else {}
    if acc_bits is not None:
        extra.update(acc_bits=acc_bits, wrap=True)
    return design_from_dict(
        dict(
            arch="systolic",
            rows=2,
            cols=2,
            dataflow=dataflow,
            carry_save_accumulate=cs,
            **params,
            **extra,
        )
    )


def _pairs(design, rng):
    alo, ahi = design.act_range
    wlo, whi = design.weight_range
    pairs = np.array(list(itertools.product(range(alo, ahi + 1), range(wlo, whi + 1))))
    return pairs[rng.permutation(len(pairs))]


def _run_os_pe(design, cs, acts, weights, lasts):
    arith = pe_arithmetic(design.arith)
    pe = AccumulatorPE(arithmetic=arith, width=design.acc_width, carry_save=cs)
    acc, digits = [], []

    async def bench(ctx):
        ctx.set(pe.en, 1)
        ctx.set(pe.valid, 1)
        for a, w, last in zip(acts, weights, lasts):
            ctx.set(pe.act, int(a))
            ctx.set(pe.weight, int(w))  # ternary -1 is the signed(2) code 0b11
            ctx.set(pe.last, int(last))
            if cs and design.booth:
                digits.append([ctx.get(pe.digits[j]) for j in range(design.booth_digits)])
            await ctx.tick()
            if cs:
                acc.append((ctx.get(pe.acc.sum), ctx.get(pe.acc.carry)))
            else:
                acc.append(ctx.get(pe.acc))

    sim = Simulator(pe)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return acc, digits


@pytest.mark.parametrize("name", list(SMALL))
def test_carry_save_os_pe_equals_plain_mac_pe_exhaustively(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    # A narrow accumulator that wraps, so the modulo-2**W behaviour is exercised too.
    width = _design(SMALL[name], True).product_width + 3
    cs_design = _design(SMALL[name], True, acc_bits=width)
    plain = _design(SMALL[name], False, acc_bits=width)
    pairs = _pairs(cs_design, rng)
    acts, weights = pairs[:, 0], pairs[:, 1]
    lasts = rng.random(len(pairs)) < 0.1
    got_cs, digits = _run_os_pe(cs_design, True, acts, weights, lasts)
    got_plain, _ = _run_os_pe(plain, False, acts, weights, lasts)

    s, c = grid_golden.pe_trace(cs_design, acts, weights, lasts)
    assert [tuple(p) for p in got_cs] == list(zip(s.tolist(), c.tolist()))  # bit for bit
    value_cs = grid_golden.resolve(
        cs_design,
        np.array([p[0] for p in got_cs], np.uint64),
        np.array([p[1] for p in got_cs], np.uint64),
    )
    value_plain = grid_golden.from_bits(np.array(got_plain, np.uint64), width, cs_design.acc_signed)
    assert np.array_equal(value_cs, value_plain)
    # and both are the running sum, wrapped, restarting after each last step
    expect, run = [], 0
    wv = grid_golden.weight_values(cs_design, weights)
    for a, w, last in zip(acts, wv, lasts):
        run = 0 if last else run + int(a) * int(w)
        expect.append(run)
    assert cs_design.wraps  # the width above is narrower than exact
    assert np.array_equal(value_plain, grid_golden.wrap(cs_design, np.array(expect)))
    if cs_design.booth:
        assert np.array_equal(np.array(digits), grid_golden.booth_digits(cs_design, acts))


@pytest.mark.parametrize("name", ["mac4s", "mac3u", "addsub3u", "ternary4s", "ternary3u"])
def test_carry_save_ws_pe_adds_to_any_incoming_pair(name):
    rng = np.random.default_rng(7)
    design = _design(SMALL[name], True, dataflow="ws")
    width = design.acc_width
    arith = pe_arithmetic(design.arith)
    pe = PartialSumPE(arithmetic=arith, width=width, carry_save=True)
    plain = PartialSumPE(arithmetic=arith, width=width, carry_save=False)
    pairs = _pairs(design, rng)
    ps = rng.integers(0, 1 << width, len(pairs), dtype=np.uint64)
    pc = rng.integers(0, 1 << width, len(pairs), dtype=np.uint64)
    got, got_plain = [], []

    async def bench(ctx):
        ctx.set(pe.en, 1)
        ctx.set(plain.en, 1)
        for (a, w), s, c in zip(pairs, ps, pc):
            for p in (pe, plain):
                ctx.set(p.act, int(a))
                ctx.set(p.weight, int(w))
            ctx.set(pe.psum_in.sum, int(s))
            ctx.set(pe.psum_in.carry, int(c))
            ctx.set(plain.psum_in, (int(s) + int(c)) % (1 << width))
            await ctx.tick()
            got.append((ctx.get(pe.psum_out.sum), ctx.get(pe.psum_out.carry)))
            got_plain.append(ctx.get(plain.psum_out))

    from amaranth.hdl import Module

    top = Module()
    top.submodules.cs = pe
    top.submodules.plain = plain
    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    rows, bits = grid_golden.csa_terms(design, pairs[:, 0], pairs[:, 1])
    es, ec = grid_golden.csa_reduce(
        design, np.concatenate([rows, ps[:, None], pc[:, None]], axis=1), bits
    )
    assert got == list(zip(es.tolist(), ec.tolist()))
    resolved = grid_golden.resolve(
        design, np.array([g[0] for g in got], np.uint64), np.array([g[1] for g in got], np.uint64)
    )
    mask = (1 << width) - 1
    expect = (
        ps
        + pc
        + grid_golden.to_bits(pairs[:, 0] * grid_golden.weight_values(design, pairs[:, 1]), width)
    ) & np.uint64(mask)
    assert np.array_equal(grid_golden.to_bits(resolved, width), expect)
    assert np.array_equal(np.array(got_plain, np.uint64), expect)


ARRAYS = [
    dict(arch="systolic", dataflow="os", rows=3, cols=2, k_max=12),
    dict(
        arch="systolic",
        dataflow="os",
        rows=2,
        cols=3,
        k_max=12,
        carry_save_accumulate=True,
        mode="ternary",
    ),
    dict(arch="systolic", dataflow="ws", rows=3, cols=2, mode="addsub"),
    dict(arch="systolic", dataflow="ws", rows=2, cols=2, carry_save_accumulate=True),
    dict(arch="matrix2d", rows=2, cols=3, k_max=12, carry_save_accumulate=True),
    dict(arch="matrix2d", rows=1, cols=1, k_max=3),
]


@pytest.mark.parametrize("params", ARRAYS, ids=lambda p: "-".join(map(str, p.values())))
def test_array_in_amaranth_simulator_matches_golden_and_cycles(params):
    design = design_from_dict(params)
    bench = bench_for(design)
    rng = np.random.default_rng(5)
    checker = Checker()
    for chunk in bench.chunks(rng, 60, max_entries=60):
        recorded = play_amaranth(build_component(design), chunk)
        checker.check(chunk, recorded)
    gemm = bench.gemm(rng, 4, 3, 7)
    recorded = play_amaranth(build_component(design), gemm)
    checker.check(gemm, recorded)
    info = gemm.finish(recorded)
    report = checker.report
    assert report.passed, report.first_mismatches
    assert report.cycle_checked == report.vectors > 0
    assert info["gemm_matches"] and info["gemm_cycles_sim"] == info["gemm_cycles_model"]
