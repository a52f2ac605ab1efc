"""The adder-tree array in the Amaranth simulator, checked against the golden model."""

import numpy as np
import pytest

from shiftadd.design import AdderTreeDesign
from shiftadd.hw import build_component
from shiftadd.sim.amaranth_play import check_on_amaranth, play_amaranth
from shiftadd.sim.benches import bench_for
from shiftadd.sim.plan import Checker

CASES = [
    dict(mode="xnor", k=7, n=3),
    dict(mode="xnor", k=16, n=2, threshold=True, pipeline_stages=5),
    dict(mode="addsub", k=5, n=3, act_bits=4),
    dict(mode="addsub", k=6, n=2, act_bits=3, act_signed=False, threshold=True, pipeline_stages=2),
    dict(mode="mac", k=3, n=2, act_bits=4, weight_bits=3, pipeline_stages=1),
    dict(mode="mac", k=9, n=1, act_bits=3, weight_bits=5, act_signed=False, threshold=True),
    dict(mode="xnor", k=1, n=1),
]


def check(design, vectors, seed=0, stall=False, max_entries=48):
    return check_on_amaranth(design, vectors, seed=seed, stall=stall, max_entries=max_entries)


@pytest.mark.parametrize("params", CASES, ids=lambda p: "-".join(f"{k}{v}" for k, v in p.items()))
def test_array_matches_golden_and_cycle_model(params):
    report = check(AdderTreeDesign(**params), vectors=120)
    assert report.passed, report.first_mismatches
    assert report.vectors == 120 and report.cycle_checked == 120


@pytest.mark.parametrize("params", CASES[:4], ids=str)
def test_array_under_backpressure_and_gaps(params):
    report = check(AdderTreeDesign(**params), vectors=80, seed=3, stall=True)
    assert report.passed, report.first_mismatches


def test_checker_sees_a_wrong_result():
    design = AdderTreeDesign(mode="mac", k=4, n=2, act_bits=3, weight_bits=3)
    rng = np.random.default_rng(0)
    chunk = next(bench_for(design).chunks(rng, 20, max_entries=32))
    recorded = play_amaranth(build_component(design), chunk)
    recorded["result"].values[5, 1] += 1
    recorded["result"].cycles[7] += 1
    report = Checker().check(chunk, recorded)
    assert report.mismatches == 1 and report.cycle_mismatches == 1 and not report.passed
    assert report.first_mismatches[0]["transfer"] == 5


def test_inputs_stall_on_backpressure():
    from amaranth.sim import Simulator

    design = AdderTreeDesign(mode="xnor", k=4, n=1)
    dut = build_component(design)
    seen = []

    async def bench(ctx):
        ctx.set(dut.result.ready, 0)
        ctx.set(dut.act.valid, 1)
        for _ in range(4):
            seen.append(
                (ctx.get(dut.act.ready), ctx.get(dut.weights.ready), ctx.get(dut.result.valid))
            )
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    # the output register fills after `latency` cycles, then both inputs stall
    assert [s[0] for s in seen] == [1, 1, 0, 0]
    assert [s[1] for s in seen] == [1, 1, 0, 0]
    assert [s[2] for s in seen] == [0, 0, 1, 1]
