"""Bit-weight options of the multiplier-adder tree in the Amaranth simulator.

Exhaustive equivalence with the plain MAC on small widths, and the golden model's
intermediate forms (Booth and EN-T digits, carry-save pairs, same-bit-weight sums, the
digit-sparse PEs' pairs at every flush) against the RTL's.
"""

import numpy as np
import pytest
from amaranth.hdl import Const, Elaboratable, Module, Signal, signed
from amaranth.lib import data
from amaranth.sim import Simulator

from shiftadd.design import AdderTreeDesign
from shiftadd.hw import build_component
from shiftadd.hw.bitweight import BitWeightMac
from shiftadd.hw.booth import BoothEncoder, EntEncoder
from shiftadd.models.adder_tree import bitweight as bw_golden
from shiftadd.models.adder_tree.golden import adder_tree_reference
from shiftadd.sim.amaranth_play import play_amaranth
from shiftadd.sim.benches import bench_for
from shiftadd.sim.plan import Burst, Checker, Chunk, Expectation
from shiftadd.workloads.digits import booth_encode

OPTIONS = {
    "csa": dict(carry_save_accumulate=True),
    "same": dict(shared_encoder_same_bitweight=True),
    "csa_same": dict(carry_save_accumulate=True, shared_encoder_same_bitweight=True),
    "sparse_g1": dict(digit_sparse=True, digit_group=1),
    "sparse_g2": dict(digit_sparse=True, digit_group=2),
}


def _play(design, weights, act):
    """Load ``weights`` (one row per neuron), stream ``act``; the recorded results."""
    chunk = Chunk(
        [
            Burst("weights", {"neuron": np.arange(design.n), "values": weights}, design.n),
            Burst("act", act, act.shape[0]),
        ],
        {"result": Expectation(adder_tree_reference(design, act, weights).outputs)},
    )
    limit = 40 * (act.shape[0] + design.n) + 200
    recorded = play_amaranth(build_component(design), chunk, max_cycles=limit)
    report = Checker().check(chunk, recorded)
    return recorded["result"].values, report


@pytest.mark.parametrize("weight_bits", [4, 3])
@pytest.mark.parametrize("option", list(OPTIONS), ids=list(OPTIONS))
def test_exhaustive_equivalence_with_plain_mac(option, weight_bits):
    """Every (activation, weight) pair of 4-bit activations in both lanes of a 2-lane tree,
    against the plain MAC array on the same transfers (and the golden dot products)."""
    k = 2
    wvals = np.arange(-(1 << (weight_bits - 1)), 1 << (weight_bits - 1))
    n = wvals.size
    weights = np.stack([wvals, wvals[::-1]], axis=1)  # lane 0 and lane 1 see all
    grid = np.arange(-8, 8)
    act = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, k)
    params = dict(mode="mac", k=k, n=n, act_bits=4, weight_bits=weight_bits)
    plain, plain_report = _play(AdderTreeDesign(**params), weights, act)
    optimized, report = _play(AdderTreeDesign(**params, **OPTIONS[option]), weights, act)
    assert plain_report.passed and report.passed, report.first_mismatches
    assert np.array_equal(plain, optimized)
    assert optimized.shape == (256, n)


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_encoders_match_golden_digits_exhaustively(bits):
    booth = BoothEncoder(bits=bits)
    ent = EntEncoder(bits=bits)
    codes = np.arange(-(1 << (bits - 1)), 1 << (bits - 1))
    design = AdderTreeDesign(
        mode="mac", k=1, n=1, act_bits=bits, weight_bits=4, shared_encoder_same_bitweight=True
    )
    neg_gold, codes_gold = bw_golden.ent_codes(design, codes[:, None])
    booth_gold = booth_encode(codes, bits, True)
    seen = []

    async def bench(ctx):
        for a in codes:
            ctx.set(booth.act, int(a))
            ctx.set(ent.act, int(a))
            seen.append(
                (
                    [ctx.get(booth.value[j]) for j in range(len(booth.value))],
                    ctx.get(ent.negative),
                    [ctx.get(ent.codes[j]) for j in range(len(ent.codes))],
                )
            )

    m = Module()
    m.submodules.booth, m.submodules.ent = booth, ent
    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    rtl_booth = np.array([s[0] for s in seen])
    assert np.array_equal(rtl_booth, booth_gold)
    assert np.array_equal(rtl_booth @ (4 ** np.arange(rtl_booth.shape[1])), codes)
    assert np.array_equal(np.array([s[1] for s in seen], bool), neg_gold[:, 0])
    assert np.array_equal(np.array([s[2] for s in seen]), codes_gold[:, 0])


class _OneNeuron(Elaboratable):
    """The shared encoders and one neuron of a bit-weight tree, combinational."""

    def __init__(self, design):
        self.design = design
        self.act = Signal(data.ArrayLayout(signed(design.act_bits), design.k))
        self.weights = Signal(data.ArrayLayout(signed(design.weight_bits), design.k))
        self.neuron = None

    def elaborate(self, platform):
        m = Module()
        arith = BitWeightMac(design=self.design)
        shared = arith.shared(m, self.act)
        arith.neuron(
            m,
            name="neuron",
            shared=shared,
            weights=self.weights,
            k=self.design.k,
            offset=None,
            offset_range=None,
            register_after=(),
            en=Const(1),
        )
        self.neuron = m.submodules["neuron"]
        return m


@pytest.mark.parametrize("option", ["csa", "same", "csa_same"])
def test_golden_intermediates_match_the_neuron(option):
    design = AdderTreeDesign(mode="mac", k=5, n=1, **OPTIONS[option])
    rng = np.random.default_rng(4)
    bench = bench_for(design)
    act = np.concatenate([bench.edge_act(), bench.random_act(rng, 40)])
    weights = np.concatenate([bench.edge_weights()[:1], bench.random_weights(rng, 1)])
    weights = np.repeat(weights, [act.shape[0] // 2, act.shape[0] - act.shape[0] // 2], axis=0)
    dut = _OneNeuron(design)
    got = []

    async def tb(ctx):
        nr = dut.neuron
        for x, w in zip(act, weights):
            for i in range(design.k):
                ctx.set(dut.act[i], int(x[i]))
                ctx.set(dut.weights[i], int(w[i]))
            row = {"total": ctx.get(nr.total)}
            if design.bitweight.carry_save:
                row["pair"] = (ctx.get(nr.sum), ctx.get(nr.carry))
            else:
                row["sums"] = [
                    ctx.get(nr.bitweight_sums[j]) for j in range(design.bitweight.digits)
                ]
            got.append(row)

    sim = Simulator(dut)
    sim.add_testbench(tb)
    sim.run()
    for v, (x, w) in enumerate(zip(act, weights)):
        assert got[v]["total"] == int(x @ w)
        if design.bitweight.carry_save:
            s, c = bw_golden.carry_save_pair(design, x[None], w[None])
            assert got[v]["pair"] == (int(s[0, 0]), int(c[0, 0])), v
        else:
            assert (
                got[v]["sums"] == bw_golden.bitweight_sums(design, x[None], w[None])[0, 0].tolist()
            )


@pytest.mark.parametrize("group,stages", [(2, 0), (3, 1)])
def test_digit_sparse_flushes_match_the_trace(group, stages):
    """Every flush of the digit-sparse array: bit weight, each PE's carry-save pair and the
    resolved group sums, against :func:`digit_sparse_trace`; and the cycles per vector."""
    design = AdderTreeDesign(
        mode="mac", k=6, n=2, digit_sparse=True, digit_group=group, pipeline_stages=stages
    )
    rng = np.random.default_rng(7)
    bench = bench_for(design)
    act = np.concatenate([bench.edge_act(), bench.random_act(rng, 30)])
    weights = bench.random_weights(rng, design.n)
    trace = bw_golden.digit_sparse_trace(design, act, weights)
    plan = design.bitweight
    dut = build_component(design)
    flushes, accepted = [], []

    async def driver(ctx):
        ctx.set(dut.result.ready, 1)
        ctx.set(dut.weights.valid, 1)
        for nn in range(design.n):
            ctx.set(dut.weights.payload.neuron, nn)
            ctx.set(dut.weights.payload.values, [int(v) for v in weights[nn]])
            await ctx.tick().until(dut.weights.ready)
        ctx.set(dut.weights.valid, 0)
        ctx.set(dut.act.valid, 1)
        for cycle in range(5000):
            if len(accepted) == act.shape[0]:
                ctx.set(dut.act.valid, 0)
            else:
                ctx.set(dut.act.payload, [int(v) for v in act[len(accepted)]])
            p = dut.probes
            if ctx.get(p["flush_valid"]):
                flushes.append(
                    (
                        ctx.get(p["flush_bitweight"]),
                        [
                            [ctx.get(p["pe_sum"][g][nn]) for nn in range(design.n)]
                            for g in range(plan.groups)
                        ],
                        [
                            [ctx.get(p["pe_carry"][g][nn]) for nn in range(design.n)]
                            for g in range(plan.groups)
                        ],
                        [ctx.get(p["group_sums"][nn]) for nn in range(design.n)],
                    )
                )
            fire = ctx.get(dut.act.valid) and ctx.get(dut.act.ready)
            await ctx.tick()
            if fire:
                accepted.append(cycle)
            if len(accepted) == act.shape[0] and cycle > accepted[-1] + 80:
                break

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(driver)
    sim.run()
    # The hand-shakes are spaced by each vector's cycles.
    assert np.array_equal(np.diff(accepted), trace["cycles"][:-1])
    expected = []
    for v in range(act.shape[0]):
        visited = np.flatnonzero(trace["steps"][v]) if trace["steps"][v].any() else [0]
        for j in visited:
            expected.append(
                (
                    int(j),
                    trace["pe_sum"][v, j].tolist(),
                    trace["pe_carry"][v, j].tolist(),
                    trace["group_sums"][v, :, j].tolist(),
                )
            )
    assert len(flushes) == len(expected)
    for got, want in zip(flushes, expected):
        assert got == want
    assert np.array_equal(trace["group_sums"], bw_golden.bitweight_sums(design, act, weights))


@pytest.mark.parametrize(
    "params",
    [
        dict(carry_save_accumulate=True, pipeline_stages=3),
        dict(shared_encoder_same_bitweight=True, pipeline_stages=2, weight_bits=5),
        dict(carry_save_accumulate=True, shared_encoder_same_bitweight=True, pipeline_stages=1),
        dict(digit_sparse=True, digit_group=3, pipeline_stages=1),
        # Only the encoder register (the first slot), and one register after every layer.
        dict(carry_save_accumulate=True, pipeline_stages=1),
        dict(shared_encoder_same_bitweight=True, pipeline_stages=1),
        dict(carry_save_accumulate=True, pipeline_stages=-1),
        dict(shared_encoder_same_bitweight=True, pipeline_stages=-1, weight_bits=5),
        dict(carry_save_accumulate=True, shared_encoder_same_bitweight=True, pipeline_stages=-1),
    ],
    ids=[
        "csa",
        "same",
        "csa_same",
        "sparse",
        "csa_enc",
        "same_enc",
        "csa_max",
        "same_max",
        "csa_same_max",
    ],
)
def test_options_under_backpressure_and_cycle_model(params):
    """Random vectors with weight rewrites in flight, stalls and input gaps; every result
    and (without stalls) its cycle against the models. ``pipeline_stages = -1``: the
    design's maximum."""
    if params["pipeline_stages"] < 0:
        probe = AdderTreeDesign(mode="mac", k=6, n=2, **{**params, "pipeline_stages": 0})
        params = {**params, "pipeline_stages": probe.max_pipeline_stages}
    design = AdderTreeDesign(mode="mac", k=6, n=2, **params)
    rng = np.random.default_rng(1)
    checker = Checker()
    for stall in (False, True):
        for chunk in bench_for(design).chunks(rng, 30, max_entries=64, model_cycles=not stall):
            bubbles = rng.random(chunk.entries) < 0.3 if stall else None
            ready = (lambda c: (c * 2654435761) % 7 < 4) if stall else None
            recorded = play_amaranth(
                build_component(design),
                chunk,
                out_ready=ready,
                bubbles=bubbles,
                max_cycles=40 * chunk.entries + 500,
            )
            checker.check(chunk, recorded)
    report = checker.report
    assert report.passed, report.first_mismatches
    assert report.vectors == 60 and report.cycle_checked == 30


@pytest.mark.parametrize("option", ["csa", "same", "csa_same"])
def test_encoder_register_is_the_first_slot(option):
    """With any pipeline register the first follows the shared encoders (layer 0): the
    digit wires and the shared count are registered once for all neurons, the weight
    writes wait one step, and the latency stays ``pipeline_stages + 2``."""
    base = AdderTreeDesign(mode="mac", k=6, n=2, **OPTIONS[option])
    assert base.register_slots == ()
    for stages in range(1, base.max_pipeline_stages + 1):
        d = AdderTreeDesign(mode="mac", k=6, n=2, pipeline_stages=stages, **OPTIONS[option])
        assert d.register_slots[0] == 0 and len(d.register_slots) == stages
        assert d.latency == stages + 2
    one = AdderTreeDesign(mode="mac", k=6, n=2, pipeline_stages=1, **OPTIONS[option])
    assert BitWeightMac(design=one).weight_delay == 1
    assert BitWeightMac(design=base).weight_delay == 0


def test_zero_digit_selects_a_constant_row():
    """Zero-digit gating: a zero digit (one = two = neg = 0, as both encoders give it)
    selects the all-zero row for every weight (the paper's bit_enable clears its partial
    product register), so a registered row of zero digits never toggles; in carry-save
    form (sign bit inverted) it is the constant bias alone."""
    from shiftadd.hw.booth import DIGIT_LAYOUT, select_row

    m = Module()
    w = Signal(signed(5))
    digit = Signal(DIGIT_LAYOUT)
    plain = select_row(m, w, digit, name="plain")
    biased = select_row(m, w, digit, name="biased", biased=True)
    sim = Simulator(m)
    seen = []

    async def bench(ctx):
        ctx.set(digit.as_value(), 0)
        for value in range(-16, 16):
            ctx.set(w, value)
            seen.append((ctx.get(plain), ctx.get(biased)))

    sim.add_testbench(bench)
    sim.run()
    width = len(plain)
    assert {p & ((1 << width) - 1) for p, _ in seen} == {0}
    assert {b for _, b in seen} == {1 << (width - 1)}
