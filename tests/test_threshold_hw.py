"""The threshold neuron and the threshold-logic array in the Amaranth simulator, and their
generated Verilog (lint, the neuron as a separate module)."""

import functools
import itertools
import json
import re

import numpy as np
import pytest
from amaranth.sim import Simulator

from shiftadd.design.threshold import ThresholdDesign
from shiftadd.hw.threshold_array import ThresholdArray, neuron_module_name, step_layout
from shiftadd.hw.threshold_neuron import ThresholdNeuron
from shiftadd.rtl_gen.emit import generate_verilog, write_rtl
from shiftadd.rtl_gen.lint import lint_verilog
from shiftadd.sim.amaranth_play import check_on_amaranth, play_amaranth
from shiftadd.sim.benches import bench_for
from shiftadd.sim.plan import Checker


@pytest.mark.parametrize("weights", [(2, 1, 1, 1), (4, 2, 1, 1, 1)])
def test_neuron_exhaustive(weights):
    """Every input pattern and threshold, evaluating and holding."""
    dut = ThresholdNeuron(weights=weights)
    tmax = sum(weights) + 1
    cases = list(itertools.product(range(1 << len(weights)), range(tmax + 1)))
    seen = []

    async def bench(ctx):
        previous = 0
        for i, (x, t) in enumerate(cases):
            en = i % 3 != 2
            ctx.set(dut.x, x)
            ctx.set(dut.t, t)
            ctx.set(dut.en, en)
            await ctx.tick()
            total = sum(w for b, w in enumerate(weights) if x >> b & 1)
            previous = int(total >= t) if en else previous
            seen.append((ctx.get(dut.y), previous))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert all(got == want for got, want in seen)


def test_neuron_reprogrammed_as_and_or_majority_and_full_adder():
    """The hardware neuron (2, 1, 1, 1) as OR, AND, majority, and a full adder in two
    evaluations: carry, then sum with the weight-2 input fed its own inverted register."""
    dut = ThresholdNeuron(weights=(2, 1, 1, 1))
    got = {}

    async def bench(ctx):
        ctx.set(dut.en, 1)
        for a, b, c in itertools.product((0, 1), repeat=3):
            unit = a << 1 | b << 2 | c << 3  # weight-2 input (bit 0) at 0
            for name, t in (("or", 1), ("maj", 2), ("and", 3)):
                ctx.set(dut.x, unit)
                ctx.set(dut.t, t)
                await ctx.tick()
                got[name, a, b, c] = ctx.get(dut.y)
            ctx.set(dut.t, 2)  # carry into the register...
            await ctx.tick()
            carry = ctx.get(dut.y)
            ctx.set(dut.x, unit | (1 - carry))  # ...its inverse on the weight-2 input
            ctx.set(dut.t, 3)
            await ctx.tick()
            got["carry", a, b, c], got["sum", a, b, c] = carry, ctx.get(dut.y)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    for a, b, c in itertools.product((0, 1), repeat=3):
        assert got["or", a, b, c] == (a | b | c)
        assert got["and", a, b, c] == (a & b & c)
        assert got["maj", a, b, c] == got["carry", a, b, c] == int(a + b + c >= 2)
        assert got["sum", a, b, c] == a ^ b ^ c
        assert 2 * got["carry", a, b, c] + got["sum", a, b, c] == a + b + c


def test_neuron_rejects_bad_parameters():
    with pytest.raises(ValueError, match="positive integers"):
        ThresholdNeuron(weights=(2, 0, 1))
    with pytest.raises(ValueError, match="Threshold width"):
        ThresholdNeuron(weights=(2, 1, 1, 1), threshold_bits=2)


DESIGNS = [
    dict(k=13, pes=3, memory_bits=16),
    dict(k=20, pes=2, vectors=2, pool=2, memory_bits=16, data_bits=4),
    dict(k=9, pes=2, neurons=3, neuron_weights=[4, 2, 1, 1, 1, 1, 1], memory_bits=12),
]


# The behavioural neuron: the Amaranth simulator cannot run the custom-cell instance.
_check = functools.partial(
    check_on_amaranth,
    component=lambda d: ThresholdArray(design=d, neuron_cell=False),
    max_entries=600,
)


@pytest.mark.parametrize("params", DESIGNS, ids=lambda p: "-".join(f"{k}{v}" for k, v in p.items()))
def test_array_matches_golden_and_cycle_model(params):
    """Several fan-ins per design (odd, not powers of two, 1..3) and thresholds at the ends."""
    report = _check(ThresholdDesign(**params), results=40, seed=1, stall=False)
    assert report.passed, report.first_mismatches
    assert report.vectors >= 40 and report.cycle_checked == report.vectors


def test_array_under_backpressure_and_gaps():
    report = _check(ThresholdDesign(**DESIGNS[0]), results=20, seed=4, stall=True)
    assert report.passed, report.first_mismatches


def test_checker_sees_a_wrong_result():
    d = ThresholdDesign(**DESIGNS[0])
    chunk = next(bench_for(d).chunks(np.random.default_rng(0), 50, max_entries=600))
    recorded = play_amaranth(ThresholdArray(design=d, neuron_cell=False), chunk)
    assert recorded["result"].values.shape[0] >= 2
    recorded["result"].values[0, 1] ^= 1
    recorded["result"].cycles[-1] += 1
    report = Checker().check(chunk, recorded)
    assert report.mismatches == 1 and report.cycle_mismatches == 1


@pytest.mark.parametrize("separate", [True, False])
def test_generated_verilog_is_lint_clean(separate):
    d = ThresholdDesign(
        name="tl_lint",
        k=24,
        pes=2,
        memory_bits=16,
        separate_neuron=separate,
        neuron_weights=[2, 1, 1, 1, 1],
    )
    rtl = generate_verilog(d)
    result = lint_verilog(rtl.verilog, d.name, is_text=True)
    assert result.ok, result.warnings[:5]
    modules = re.findall(r"^module (\w+)", rtl.verilog, re.M)
    if separate:
        # one neuron module, instantiated pes * neurons times: swappable for a custom cell
        assert modules == ["tl_lint", neuron_module_name(d)]
        assert len(re.findall(rf"^\s*{neuron_module_name(d)} \S+\s+\(", rtl.verilog, re.M)) == 8
        assert rtl.manifest["separate_modules"] == [neuron_module_name(d)]
    else:
        assert modules == ["tl_lint"] and "separate_modules" not in rtl.manifest


def test_manifest_and_interface(tmp_path):
    d = ThresholdDesign(name="tl_man", k=16, pes=3, memory_bits=16)
    _, j_path = write_rtl(d, tmp_path)
    manifest = json.loads(j_path.read_text())
    streams = manifest["streams"]
    assert set(streams) == {"step", "result"}
    fields = [f["name"] for f in streams["step"]["payload"]["fields"]]
    assert fields[0] == "load" and fields[-1] == "data"
    assert streams["step"]["payload"]["width"] == d.step_bits == step_layout(d).size
    assert streams["result"]["payload"]["width"] == 3
    assert manifest["latency_cycles"] == 2
    assert manifest["initiation_interval"] == d.program_steps
    # the top's members are all streams (what the harness drives)
    assert {p["name"].split("__")[0] for p in manifest["ports"]} == {"clk", "rst", "step", "result"}
