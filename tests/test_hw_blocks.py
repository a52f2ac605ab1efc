"""Amaranth-simulator tests of the building blocks: adder tree, popcount, threshold."""

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.hw.adder_tree import AdderTree, Popcount
from shiftadd.hw.folded_threshold import FoldedThreshold


def run_comb(component, cases, inputs, output):
    """Drive ``cases`` (list of dicts of port values) and collect ``output`` for each."""
    results = []

    async def bench(ctx):
        for case in cases:
            for name, value in case.items():
                ctx.set(inputs[name], value)
            results.append(ctx.get(output))

    sim = Simulator(component)
    sim.add_testbench(bench)
    sim.run()
    return results


@given(st.integers(1, 20), st.integers(-8, 0), st.integers(0, 8), st.booleans(), st.data())
@settings(max_examples=40, deadline=None)
def test_adder_tree_sums_any_terms(count, lo, span, with_offset, data):
    hi = lo + span
    offset_range = (-5, 9) if with_offset else None
    tree = AdderTree(count=count, term_range=(lo, hi), offset_range=offset_range)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    terms = rng.integers(lo, hi + 1, size=(12, count))
    # extremes: everything at the bottom, everything at the top
    terms = np.vstack([terms, np.full(count, lo), np.full(count, hi)])
    offsets = (
        rng.integers(-5, 10, size=terms.shape[0]) if with_offset else np.zeros(terms.shape[0], int)
    )
    if with_offset:
        offsets[-2:] = [-5, 9]
    cases = []
    for row, off in zip(terms, offsets):
        case = {"terms": [int(v) for v in row]}
        if with_offset:
            case["offset"] = int(off)
        cases.append(case)
    inputs = {"terms": tree.terms}
    if with_offset:
        inputs["offset"] = tree.offset
    got = run_comb(tree, cases, inputs, tree.total)
    assert got == list(terms.sum(axis=1) + offsets)


@pytest.mark.parametrize("register_after", [(0,), (1, 3), (0, 1, 2, 3, 4)])
def test_pipelined_tree_has_one_cycle_per_register(register_after):
    count = 13
    tree = AdderTree(count=count, term_range=(-3, 4), register_after=register_after)
    assert tree.latency == len(register_after)
    rng = np.random.default_rng(1)
    vectors = rng.integers(-3, 5, size=(20, count))
    seen = []

    async def bench(ctx):
        ctx.set(tree.en, 1)
        for cycle in range(len(vectors) + tree.latency):
            if cycle < len(vectors):
                ctx.set(tree.terms, [int(v) for v in vectors[cycle]])
            seen.append(ctx.get(tree.total))
            await ctx.tick()

    sim = Simulator(tree)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen[tree.latency :] == list(vectors.sum(axis=1))


def test_pipelined_tree_holds_without_enable():
    tree = AdderTree(count=4, term_range=(0, 3), register_after=(1,))
    seen = []

    async def bench(ctx):
        ctx.set(tree.en, 1)
        ctx.set(tree.terms, [1, 2, 3, 3])
        await ctx.tick()
        ctx.set(tree.en, 0)
        ctx.set(tree.terms, [0, 0, 0, 0])
        for _ in range(3):
            await ctx.tick()
            seen.append(ctx.get(tree.total))

    sim = Simulator(tree)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen == [9, 9, 9]


@pytest.mark.parametrize("width", [1, 2, 3, 5, 8])
def test_popcount_exhaustive(width):
    pc = Popcount(width=width)
    values = list(range(1 << width))
    got = run_comb(pc, [{"bits": v} for v in values], {"bits": pc.bits}, pc.count)
    assert got == [bin(v).count("1") for v in values]


def test_folded_threshold_exhaustive():
    cmp = FoldedThreshold(diff_range=(-9, 7))
    cases = [{"diff": d, "flip": f} for d, f in itertools.product(range(-9, 8), (0, 1))]
    got = run_comb(cmp, cases, {"diff": cmp.diff, "flip": cmp.flip}, cmp.fire)
    want = [int(c["diff"] <= 0) if c["flip"] else int(c["diff"] >= 0) for c in cases]
    assert got == want


def test_folded_threshold_unsigned_difference():
    cmp = FoldedThreshold(diff_range=(0, 5))
    cases = [{"diff": d, "flip": f} for d, f in itertools.product(range(6), (0, 1))]
    got = run_comb(cmp, cases, {"diff": cmp.diff, "flip": cmp.flip}, cmp.fire)
    assert got == [int(c["diff"] == 0) if c["flip"] else 1 for c in cases]


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"count": 0, "term_range": (0, 1)}, TypeError),
        ({"count": 3, "term_range": (2, 1)}, ValueError),
        ({"count": 3, "term_range": (0, 1), "register_after": (5,)}, ValueError),
        ({"count": 3, "term_range": (0, 1), "register_after": (1, 1)}, ValueError),
    ],
)
def test_adder_tree_rejects_bad_parameters(kwargs, error):
    with pytest.raises(error):
        AdderTree(**kwargs)
