"""The TULIP-like PE option of the threshold family (``pe = "tulip"``): per-neuron registers,
a ring interconnect, its scheduler, the NumPy interpreter against the golden layer, the RTL in
the Amaranth simulator (bit- and cycle-exact), lint, the cycle and cost models, validation."""

import functools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.design.threshold import ThresholdDesign
from shiftadd.design.threshold_program import (
    SRC_MEM,
    SRC_REG,
    compile_program,
    format_schedule,
)
from shiftadd.errors import InputError
from shiftadd.hw.threshold_array import ThresholdArray, step_layout
from shiftadd.models.cycles import gemm_cycles
from shiftadd.models.perf import design_vector
from shiftadd.models.threshold.cost import threshold_bom, threshold_estimate
from shiftadd.models.threshold.golden import execute, layer_runs
from shiftadd.models.threshold.timing import timing_paths
from shiftadd.rtl_gen.emit import generate_verilog
from shiftadd.rtl_gen.lint import lint_verilog
from shiftadd.sim.amaranth_play import check_on_amaranth, play_amaranth
from shiftadd.sim.benches import bench_for

NEURONS = [(2, 1, 1, 1), (2, 1, 1, 1, 1), (4, 2, 1, 1, 1, 1, 1), (1, 2, 1, 1, 2)]


def _ring_reads_only_neighbours(prog):
    """Every register or stored value a neuron reads was produced by it or its predecessor."""
    N, stride = prog.neurons, max(1, prog.memory_used)
    reader = np.arange(N)[None, :, None]
    owner = np.where(prog.src_kind == SRC_MEM, prog.src_index // stride, prog.src_index)
    stored = (prog.src_kind == SRC_REG) | (prog.src_kind == SRC_MEM)
    near = (owner == reader) | (owner == (reader - 1) % N)
    return bool(np.all(near | ~stored))


@given(
    k=st.integers(1, 140),
    vectors=st.integers(1, 3),
    pool=st.integers(1, 3),
    weights=st.sampled_from(NEURONS),
    neurons=st.integers(2, 6),
    data_bits=st.integers(1, 8),
    pes=st.integers(1, 3),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=50, deadline=None)
def test_ring_interpreter_runs_the_golden_layer(
    k, vectors, pool, weights, neurons, data_bits, pes, seed
):
    """Random PEs, fan-ins, pools and thresholds at and beyond the ends, from random state."""
    if vectors % pool or pool > len(weights):
        pool = 1
    d = ThresholdDesign(
        k=k,
        pes=pes,
        neurons=neurons,
        neuron_weights=list(weights),
        data_bits=data_bits,
        vectors=vectors,
        pool=pool,
        pe="tulip",
        neuron_register_bits=64,
    )
    rng = np.random.default_rng(seed)
    rows = pool * int(rng.integers(1, 6))
    x = rng.integers(0, 2, (rows, k))
    x[0] = 0
    w = rng.integers(0, 2, (3, k))
    t = np.array([-1, k + 1, int(rng.integers(0, k + 1))])
    lr = layer_runs(d, x, w, t, rng.random(3) < 0.5)
    assert np.array_equal(execute(d, lr.fields, lr.data, rng=rng), lr.expected)
    assert _ring_reads_only_neighbours(lr.program)


def test_a_wrong_ring_program_is_caught():
    d = ThresholdDesign(k=40, pes=2, pe="tulip")
    rng = np.random.default_rng(3)
    x, w = rng.integers(0, 2, (2, 40)), rng.integers(0, 2, (4, 40))
    lr = layer_runs(d, x, w, np.array([18, 20, 22, 25]))
    assert np.array_equal(execute(d, lr.fields, lr.data), lr.expected)
    # Every read of a neuron's own register goes to its predecessor's instead.
    src = np.array(lr.fields["src"])
    own = (src >= 3) & (src < 3 + d.neuron_register_bits)
    assert own.any()
    src[own] += d.neuron_register_bits
    bad = dict(lr.fields, src=src)
    assert not np.array_equal(execute(d, bad, lr.data), lr.expected)


def test_ring_schedule_against_the_pooled_pe():
    """Steps, evaluations and register depth for K = 16 .. 1024 (the table in
    docs/threshold.md): the ring needs no more than 1.6x the pooled PE's steps, stays above
    the evaluation bound, and its copies are few."""
    for k in (16, 64, 256, 1024):
        pooled = compile_program(k, 4, (2, 1, 1, 1), 6)
        ring = compile_program(k, 4, (2, 1, 1, 1), 6, pe="tulip")
        assert ring.pe == "tulip" and pooled.pe == "pooled"
        assert ring.evaluation_bound <= ring.steps <= 1.6 * pooled.steps
        assert ring.copies <= 8 and ring.memory_used <= 2 * k.bit_length()
        assert _ring_reads_only_neighbours(ring)
        assert ring.summary()["copies"] == ring.copies and "copies" not in pooled.summary()
    # the steps grow like the evaluations: within 12 % of the bound at K = 1024
    ring = compile_program(1024, 4, (2, 1, 1, 1), 6, pe="tulip")
    assert ring.steps <= 1.12 * ring.evaluation_bound
    text = format_schedule(ring, 0, 4)
    assert "g0 c0" in text and len(text.splitlines()) == 4


def test_design_fields_and_validation():
    d = ThresholdDesign(k=64, pes=8, pe="tulip")
    assert d.ring and d.neuron_register_bits == 8 and d.storage_bits == 32
    # 0, own output, the predecessor's, 8 + 8 register bits, 6 data bits
    assert d.sources == 25 and d.select_bits == 5 and d.address_bits == 3
    assert d.emit_sources == 1 + 4 + 32 + 6 and d.emit_select_bits == 6
    assert step_layout(d).size == d.step_bits == d.instruction_bits + 8 * 6
    assert d.to_dict()["pe"] == "tulip" and d.to_dict()["neuron_register_bits"] == 8
    pooled = ThresholdDesign(k=64, pes=8, memory_bits=16)
    assert "pe" not in pooled.to_dict() and "neuron_register_bits" not in pooled.to_dict()
    with pytest.raises(InputError) as exc:
        ThresholdDesign(k=64, pe="crossbar")
    assert exc.value.field == "pe"
    with pytest.raises(InputError) as exc:
        ThresholdDesign(k=1024, pe="tulip")  # needs more than 8 bits per neuron
    assert exc.value.field == "neuron_register_bits"
    assert ThresholdDesign(k=1024, pe="tulip", neuron_register_bits=16).program_steps > 0
    with pytest.raises(InputError) as exc:
        ThresholdDesign(k=16, pe="tulip", neuron_register_bits=0)
    assert exc.value.field == "neuron_register_bits"


DESIGNS = [
    dict(k=13, pes=3, pe="tulip"),
    dict(k=20, pes=2, vectors=2, pool=2, data_bits=4, pe="tulip"),
    dict(k=9, pes=2, neurons=3, neuron_weights=[4, 2, 1, 1, 1, 1, 1], pe="tulip"),
    dict(k=30, pes=2, neurons=2, data_bits=3, pe="tulip", neuron_register_bits=12),
]


# The behavioural neuron: the Amaranth simulator cannot run the custom-cell instance.
_check = functools.partial(
    check_on_amaranth,
    component=lambda d: ThresholdArray(design=d, neuron_cell=False),
    max_entries=600,
)


@pytest.mark.parametrize("params", DESIGNS, ids=lambda p: "-".join(f"{k}{v}" for k, v in p.items()))
def test_ring_array_matches_golden_and_cycle_model(params):
    """Amaranth simulator: every result bit and its cycle, several fan-ins per design."""
    report = _check(ThresholdDesign(**params), results=40, seed=1, stall=False)
    assert report.passed, report.first_mismatches
    assert report.vectors >= 40 and report.cycle_checked == report.vectors


def test_ring_array_under_backpressure_and_gaps():
    report = _check(ThresholdDesign(**DESIGNS[0]), results=20, seed=4, stall=True)
    assert report.passed, report.first_mismatches


def test_ring_array_gemm_cycles():
    d = ThresholdDesign(**DESIGNS[0])
    chunk = bench_for(d).gemm(np.random.default_rng(2), 7, 3, 13)
    recorded = play_amaranth(ThresholdArray(design=d, neuron_cell=False), chunk)
    out = chunk.finish(recorded)
    assert out["gemm_matches"]
    assert out["gemm_cycles_sim"] == out["gemm_cycles_model"] == gemm_cycles(d, 7, 3, 13).cycles


@pytest.mark.parametrize("separate", [True, False])
def test_ring_verilog_is_lint_clean(separate):
    d = ThresholdDesign(name="tl_ring_lint", k=24, pes=2, pe="tulip", separate_neuron=separate)
    rtl = generate_verilog(d)
    result = lint_verilog(rtl.verilog, d.name, is_text=True)
    assert result.ok, result.warnings[:5]
    # the registers R_n exist per PE and neuron; the pooled memory does not
    assert re.search(r"\br3\b", rtl.verilog) and not re.search(r"\bmemory\b", rtl.verilog)


def test_ring_cost_timing_and_sweep_vector():
    d = ThresholdDesign(name="tl_ring", k=64, pes=8, pe="tulip")
    pooled = ThresholdDesign(name="tl_pool", k=64, pes=8, memory_bits=16)
    parts = {item.part: item for item in threshold_bom(d)}
    assert not any("local memory" in p for p in parts)
    regs = sum(i.count for p, i in parts.items() if p.startswith("neuron registers R_n"))
    assert regs == pytest.approx(8 * 4 * 8)
    mux = sum(i.count for p, i in parts.items() if p.startswith("ring input multiplexers"))
    assert mux == pytest.approx(8 * 4 * 4 * d.sources)
    est, ref = threshold_estimate(d), threshold_estimate(pooled)
    assert est["steps"] == d.program_steps > ref["steps"]
    assert est["area_um2"] > 0 and est["energy_per_evaluation_pj"] > 0
    names = [p.name for p in timing_paths(d)]
    assert "memory store: address -> memory bit" in names
    v = design_vector(d)
    assert v["ring"] == 1.0 and v["neuron_register_bits"] == 8
    assert design_vector(pooled)["ring"] == 0.0


def test_sweep_over_the_pe_option_matches_the_scalar_model():
    from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec

    spec = parse_sweep_spec(
        {
            "name": "tl_ring",
            "workload": {"spec": "opt-125m", "phase": "decode", "batch": 3, "context": 64},
            "engines": [
                {
                    "arch": "threshold",
                    "k": 64,
                    "pes": [4, 16],
                    "pe": ["pooled", "tulip"],
                    "neuron_register_bits": 32,
                    "memory_bits": 32,
                }
            ],
        }
    )
    points, layers = evaluate_chunk(spec, 0, spec.points)
    assert sorted(points["pe"]) == ["pooled", "pooled", "tulip", "tulip"]
    for _, row in points.iterrows():
        d = ThresholdDesign(
            name="x",
            k=64,
            pes=int(row["pes"]),
            pe=row["pe"],
            neuron_register_bits=32,
            memory_bits=32,
        )
        for _, g in layers[layers["point"] == row["point"]].iterrows():
            assert g["cycles"] == gemm_cycles(d, g["M"], g["N"], g["K"]).cycles
