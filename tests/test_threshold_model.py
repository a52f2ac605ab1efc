"""Threshold-logic arrays: the scheduler's programs run by the NumPy interpreter against the
golden binary layer, the cycle model, the cost model and the design's validation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.design import design_from_dict
from shiftadd.design.arith import xnor_matches
from shiftadd.design.threshold import ThresholdDesign
from shiftadd.design.threshold_program import (
    compile_program,
    counter_menu,
    format_schedule,
    schedule,
)
from shiftadd.errors import InputError
from shiftadd.models.cost import bill_of_materials, estimate
from shiftadd.models.cycles import gemm_cycles, gemm_cycles_batch
from shiftadd.models.golden import threshold_compare
from shiftadd.models.perf import TRAFFIC_KEYS, design_vector, kernel_for
from shiftadd.models.threshold.cells import cell_preset, load_cell_presets
from shiftadd.models.threshold.cost import program_activity, threshold_estimate
from shiftadd.models.threshold.golden import (
    binary_layer_reference,
    execute,
    instantiate,
    layer_runs,
)

NEURONS = [
    (2, 1, 1, 1),
    (2, 1, 1, 1, 1),
    (4, 2, 1, 1, 1, 1, 1),
    (4, 2, 1, 1, 1, 1, 1, 1, 1),
    (1, 2, 1, 1, 2),
]


def _layer(rng, rows, outs, k):
    x = rng.integers(0, 2, (rows, k))
    x[0], x[-1] = 0, 1  # all -1 and all +1 inputs
    w = rng.integers(0, 2, (outs, k))
    t = rng.integers(-3, k + 4, outs)
    t[: min(outs, 4)] = [-1, 0, k, k + 1][: min(outs, 4)]  # the extremes
    return x, w, t, rng.random(outs) < 0.5


@given(
    k=st.integers(1, 160),
    vectors=st.integers(1, 3),
    pool=st.integers(1, 3),
    weights=st.sampled_from(NEURONS),
    neurons=st.integers(2, 6),
    data_bits=st.integers(1, 8),
    pes=st.integers(1, 3),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=60, deadline=None)
def test_interpreter_runs_the_golden_layer(
    k, vectors, pool, weights, neurons, data_bits, pes, seed
):
    if vectors % pool:
        pool = 1
    d = ThresholdDesign(
        k=k,
        pes=pes,
        vectors=vectors,
        pool=pool,
        neurons=neurons,
        neuron_weights=weights,
        data_bits=data_bits,
        memory_bits=256,
    )
    rng = np.random.default_rng(seed)
    rows = pes * vectors * int(rng.integers(1, 3)) - pool
    rows = max(pool, rows - rows % pool)  # often a partial last group
    x, w, t, f = _layer(rng, rows, 4, k)
    lr = layer_runs(d, x, w, t, f)
    # Start from random state: a correct program never reads what it has not written.
    got = execute(d, lr.fields, lr.data, rng=rng)
    assert np.array_equal(got, lr.expected)
    # ...and the expectation is the foundation's golden layer, output row by output row.
    y = threshold_compare(xnor_matches(x, w), t, f).reshape(-1, pool, 4).any(1)
    E = lr.program.outputs
    out_rows = (lr.group[:, None, None] * pes + np.arange(pes)) * E + np.arange(E)[:, None]
    keep = out_rows < rows // pool
    assert np.array_equal(
        lr.expected[keep],
        y[out_rows[keep], np.broadcast_to(lr.neuron[:, None, None], out_rows.shape)[keep]],
    )


def test_a_wrong_program_is_caught():
    """The interpreter check is sensitive: corrupting one threshold changes outputs."""
    d = ThresholdDesign(k=37, pes=4, memory_bits=64)
    rng = np.random.default_rng(5)
    x, w, _, f = _layer(rng, 32, 6, 37)
    t = np.full(6, 18)  # near the median count: both outcomes occur
    lr = layer_runs(d, x, w, t, f)
    assert np.array_equal(execute(d, lr.fields, lr.data), lr.expected)
    # Toggle counting (for the cost model) does not change the run, and counts what moved.
    tog = {}
    assert np.array_equal(execute(d, lr.fields, lr.data, toggles=tog), lr.expected)
    assert tog["steps"] == lr.runs * lr.program.steps
    assert 0 < tog["reg"] <= lr.program.evaluations * lr.runs * d.pes
    assert 0 < tog["mem"] <= lr.program.store.sum() * lr.runs * d.pes
    bad = dict(lr.fields)
    bad["t"] = lr.fields["t"].copy()
    s, n = np.argwhere(lr.program.en & (lr.program.threshold == 2))[3]  # a carry
    bad["t"][:, s, n] = 1  # now an OR
    assert not np.array_equal(execute(d, bad, lr.data), lr.expected)


def test_neuron_is_and_or_majority_and_a_full_adder():
    """One neuron's truth tables, reprogrammed (REFERENCE.md section 3)."""
    from itertools import product

    w = np.array([2, 1, 1, 1])
    fire = lambda x, t: int(x @ w >= t)
    for a, b, c in product((0, 1), repeat=3):
        x = np.array([0, a, b, c])
        assert fire(x, 1) == (a | b | c)  # OR
        assert fire(x, 3) == (a & b & c)  # AND
        carry = fire(x, 2)
        assert carry == int(a + b + c >= 2)  # majority = carry
        assert fire(np.array([1 - carry, a, b, c]), 3) == (a ^ b ^ c)  # sum


def test_counter_menu():
    assert counter_menu((2, 1, 1, 1)) == [(3, 2)]
    assert counter_menu((4, 2, 1, 1, 1, 1, 1, 1, 1)) == [(7, 3), (6, 3), (5, 3), (3, 2)]
    assert counter_menu((2, 1, 1, 1, 1)) == [(3, 2)]  # (4, 3) is worse than a full adder


def test_schedule_is_close_to_the_evaluation_bound_and_grows_linearly():
    steps = {}
    for k in (64, 256, 1024, 4096):
        p = compile_program(k)
        steps[k] = p.steps
        # two evaluations per full adder, about one full adder per input bit
        assert 2 * (k - k.bit_length()) <= p.evaluations <= 2 * k + 2 * k.bit_length()
        assert p.evaluation_bound <= p.steps <= p.evaluation_bound + 3 * k.bit_length()
        assert p.memory_used <= 2 * k.bit_length() + 4
    assert steps[4096] - steps[1024] == pytest.approx((4096 - 1024) / 2, rel=0.02)
    # more neurons per PE: fewer steps
    assert compile_program(256, neurons=8, data_bits=12).steps < 0.6 * steps[256]
    # overlapping two vectors hides part of the carry ripple
    assert compile_program(64, vectors=2).steps < 2 * steps[64]


def test_schedule_text_and_summary():
    p = compile_program(12)
    text = format_schedule(p)
    assert "load x[0..5]" in text and "carry v0 c0" in text and "emit" in text.splitlines()[-1]
    s = p.summary()
    assert s["steps"] == p.steps and s["memory_bits_used"] == p.memory_used


def test_design_validation():
    with pytest.raises(InputError, match="memory_bits"):
        ThresholdDesign(k=1024, memory_bits=8)
    with pytest.raises(InputError, match="neuron_weights"):
        ThresholdDesign(neuron_weights=[1, 1, 1])
    with pytest.raises(InputError, match="neuron_weights"):
        ThresholdDesign(neuron_weights=[2, 1, 9, 1])
    with pytest.raises(InputError, match="pool"):
        ThresholdDesign(vectors=3, pool=2)
    with pytest.raises(InputError, match="pes"):
        ThresholdDesign(pes=0)
    d = design_from_dict({"arch": "threshold", "k": 33, "neuron_weights": [2, 1, 1, 1]})
    assert d.neuron_weights == (2, 1, 1, 1) and d.to_dict()["neuron_weights"] == [2, 1, 1, 1]
    assert d.sources == 1 + d.neurons + d.memory_bits + d.data_bits
    with pytest.raises(InputError, match="'k'"):
        schedule(d, 0)


def test_instantiate_folds_weights_and_thresholds():
    d = ThresholdDesign(k=5, pes=1, memory_bits=16)
    p = schedule(d)
    w = np.array([[1, 1, 1, 1, 1], [0, 0, 0, 0, 0]])
    f = instantiate(p, d, w, [3, 3], [False, False])
    # XNOR with weight 0 inverts exactly the inputs that read input bits
    reads_input = p.weight_dep >= 0
    assert np.array_equal(f["inv"][0] ^ f["inv"][1], reads_input)
    # thresholds out of range make the last compare constant
    g = instantiate(p, d, w[:1].repeat(4, 0), [-1, 6, -1, 5], [False, False, True, True])
    last = np.argwhere(p.cmp_last)[0]
    assert g["t"][:, last[0], last[1]].tolist() == [0, d.weight_sum + 1, d.weight_sum + 1, 0]


def test_binary_layer_reference_pools_with_or():
    x = np.array([[1, 1], [0, 0], [0, 0], [0, 0]])
    w = np.array([[1, 1]])
    assert binary_layer_reference(x, w, [2], pool=2).tolist() == [[1], [0]]
    assert binary_layer_reference(x, w, [2], [True], pool=2).tolist() == [[1], [1]]
    with pytest.raises(InputError):
        binary_layer_reference(x[:3], w, [2], pool=2)


def test_gemm_cycles():
    d = ThresholdDesign(k=64, pes=8, memory_bits=16)
    S = schedule(d).steps
    g = gemm_cycles(d, 100, 3, 64)
    runs = 3 * math.ceil(100 / 8)
    assert g.tiles == runs and g.transfers == runs * S and g.cycles == runs * S + d.latency
    assert g.utilization == pytest.approx(100 / 104 * g.transfers / g.cycles)
    batch = gemm_cycles_batch(d, np.array([100, 8]), np.array([3, 1]), np.array([64, 33]))
    assert batch["cycles"].tolist() == [g.cycles, schedule(d, 33).steps + d.latency]


def test_cost_model():
    d = ThresholdDesign(k=64, pes=8, memory_bits=16)
    bom = bill_of_materials(d)
    items = {i.part: i for i in bom}
    count = lambda part: sum(i.count for i in bom if i.part in (part, f"{part} (held share)"))
    assert count("local memory") == pytest.approx(8 * 16)
    assert count("neuron input multiplexers") == pytest.approx(8 * 4 * 4 * d.sources)
    assert items["threshold neurons (standard_cell)"].count == 32
    # Parts are priced at the toggle rates the program gives them: local memory is written
    # rarely, the instruction toggles less than random data.
    act = program_activity(d)
    assert 0 < act["mem"] < act["data"] < act["reg"] <= 0.5
    assert 0.1 < act["instruction"] < 0.5
    assert not items["local memory (held share)"].active
    assert items["local memory"].count == pytest.approx(8 * 16 * act["mem"] / 0.5)
    e = estimate(d)
    assert e.area == pytest.approx(sum(r["area"] for r in e.breakdown))
    presets = load_cell_presets()
    std, custom = presets["standard_cell"], presets["custom_cell"]
    assert custom.area_um2 == pytest.approx(std.area_um2 * (1 - 0.797))
    assert custom.energy_eval_pj == pytest.approx(std.energy_eval_pj * (1 - 0.611))
    a = threshold_estimate(d, "standard_cell")
    b = threshold_estimate(d, "custom_cell")
    assert b["area_um2"] == pytest.approx(a["area_um2"] - 32 * (std.area_um2 - custom.area_um2))
    assert b["energy_per_evaluation_pj"] < a["energy_per_evaluation_pj"]
    assert a["area_um2"] == pytest.approx(e.area)
    # Other neurons: measured variants, or interpolated between them (and said so).
    wide = cell_preset("custom_cell", (2, 1, 1, 1, 1))
    assert "variant" in wide.source and wide.area_um2 > custom.area_um2
    five = ThresholdDesign(neuron_weights=[2, 1, 1, 1, 1])
    assert threshold_estimate(five, "custom_cell")["area_um2"] < estimate(five).area
    guess = cell_preset("standard_cell", (2, 1, 1, 1, 1, 1))
    assert "interpolated" in guess.source
    assert (
        wide.area_um2 / (1 - 0.797)
        < guess.area_um2
        < cell_preset("standard_cell", (4, 2, 1, 1, 1, 1, 1)).area_um2
    )
    with pytest.raises(InputError, match="unknown preset"):
        threshold_estimate(d, "spice_cell")


def test_sweep_with_threshold_engines_matches_the_scalar_models():
    """A sweep spec with arch = "threshold" runs, and its per-layer cycles are the scalar
    cycle model's (one formula: models.threshold.threshold_cycles)."""
    from shiftadd.models.cost import cost_terms
    from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec

    spec = parse_sweep_spec(
        {
            "name": "tl",
            "workload": {"spec": "opt-125m", "phase": "decode", "batch": 3, "context": 64},
            "engines": [
                {
                    "arch": "threshold",
                    "k": 64,
                    "pes": [4, 16],
                    "neurons": [2, 4],
                    "data_bits": [4, 8],
                    "memory_bits": 32,
                    "act_buffer_kib": [1, 64],
                }
            ],
        }
    )
    points, layers = evaluate_chunk(spec, 0, spec.points)
    assert spec.points == 16 and len(points) == 16 and set(points["arch"]) == {"threshold"}
    assert np.isfinite(points[["energy_uj", "latency_us", "area_mm2"]].to_numpy()).all()
    for _, row in points.sample(4, random_state=0).iterrows():
        d = ThresholdDesign(
            name="threshold_sweep",
            k=64,
            pes=int(row["pes"]),
            neurons=int(row["neurons"]),
            data_bits=int(row["data_bits"]),
            memory_bits=32,
        )
        lay = layers[layers["point"] == row["point"]]
        for _, g in lay.iterrows():
            assert g["cycles"] == gemm_cycles(d, g["M"], g["N"], g["K"]).cycles
        assert row["area_logic_mm2"] == pytest.approx(cost_terms(d).area * 1e-6)
    # Traffic: the whole weight matrix and activations at least once, outputs one bit each.
    d = ThresholdDesign(k=64, pes=8, memory_bits=32)
    v = {key: np.array([[val]], float) for key, val in design_vector(d).items()}
    m, n, k = np.array([[16, 16]]), np.array([[10, 10]]), np.array([[100, 100]])
    big = np.array([[1 << 20]])
    out = kernel_for("threshold")(v, m, n, k, np.array([[1 << 20], [8 * 100 - 1]]), big, big)
    assert set(out) == {"cycles", *TRAFFIC_KEYS}
    assert out["dram_read_bits"][0, 0] == 16 * 100 + 10 * 100
    assert out["dram_read_bits"][1, 0] == 16 * 100 * 10 + 10 * 100  # act block too big
    assert out["dram_write_bits"][0, 0] == 16 * 10
    assert out["act_buf_read_bits"][0, 0] == 10 * 2 * 8 * 100
    assert out["cycles"][0, 0] == gemm_cycles(d, 16, 10, 100).cycles
    # A layer whose program needs more local memory than the design has: a clear error.
    tight = ThresholdDesign(k=64, pes=8, memory_bits=16)
    with pytest.raises(InputError, match="local memory") as info:
        gemm_cycles(tight, 8, 2, 4096)
    assert info.value.field == "memory_bits"


def test_validation_gemm_fits_one_harness_chunk():
    from shiftadd.flows.validate import validation_gemm

    for params in (
        dict(k=64, pes=8, memory_bits=16),
        dict(k=288, pes=16, vectors=4, pool=4, memory_bits=32),
    ):
        d = ThresholdDesign(**params)
        m, n, k = validation_gemm(d)
        assert k == d.k and m % d.pool == 0
        assert 0 < gemm_cycles(d, m, n, k).transfers <= 6000
