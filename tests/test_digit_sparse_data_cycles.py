"""Digit-sparse cycles from data: a data point of a sweep streams each GEMM at the mean
vector cycles of the activations that GEMM sees (``DataActivity.vector_cycles``), which
gives exactly the cycles of the golden schedule, the bench's model and the RTL on that
operand set; a point at a number keeps the random-data expectation."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from shiftadd.design import AdderTreeDesign
from shiftadd.design.bitweight import expected_vector_cycles
from shiftadd.errors import InputError
from shiftadd.models.adder_tree import bitweight as bw_golden
from shiftadd.models.adder_tree import cycles as bw_cycles
from shiftadd.models.data_activity import design_codes, measure, workload_gemm_operands
from shiftadd.models.perf import design_vector, kernel_for
from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec
from shiftadd.sim.bench_adder_tree import adder_tree_bench
from shiftadd.sim.operands import save_operands
from shiftadd.workloads.activity_stats import DataActivity, checkpoint_operands

SPARSE = dict(mode="mac", k=16, n=4, digit_sparse=True, digit_group=4)


@pytest.fixture(scope="module")
def real():
    """The first query layer of all-MiniLM-L6-v2 and its calibration inputs (a slice)."""
    w, x, _ = checkpoint_operands(
        "all-minilm-l6-v2", "encoder.layer.0.attention.self.query.weight", rows=11, cols=37
    )
    return w, x[:60]


def kernel_cycles(design, vector_cycles, m, n, k) -> float:
    v = {key: np.array([[float(val)]]) for key, val in design_vector(design).items()}
    v["vector_cycles"] = np.array([[vector_cycles]])
    big = np.array([[1e12]])
    return float(kernel_for("adder_tree")(v, m, n, k, big, big, big)["cycles"][0, 0])


def test_data_cycles_equal_the_golden_and_the_bench_on_real_operands(real):
    w, x = real
    design = AdderTreeDesign(**SPARSE)
    wc, xc = design_codes(design, w, x)
    got = measure(design, w, x, tiles=2).vector_cycles  # few tiles: cycles use every vector
    m, k = xc.shape
    n = wc.shape[0]
    # The golden schedule (digit_sparse_trace) per vector, over every K-tile of every row.
    k_tiles = -(-k // design.k)
    pad = np.zeros((m, k_tiles * design.k), np.int64)
    pad[:, :k] = xc
    tiles = pad.reshape(m, k_tiles, design.k).transpose(1, 0, 2).reshape(-1, design.k)
    trace = bw_golden.digit_sparse_trace(design, tiles, np.zeros((design.n, design.k), np.int64))
    mean = Fraction(int(trace["cycles"].sum()), len(tiles))
    assert got == float(mean)
    # This real slice has fewer nonzero digits than uniformly random codes.
    assert got < expected_vector_cycles(design)
    exact = bw_cycles.digit_sparse_gemm_cycles(design, xc, n)
    bench = adder_tree_bench(design).gemm_model(xc, n, k).cycles
    sweep = kernel_cycles(design, got, m, n, k)
    assert exact == bench == round(sweep)
    assert abs(sweep - exact) < 1e-6
    # The exact count differs from the random-data expectation the sweep used before.
    assert kernel_cycles(design, expected_vector_cycles(design), m, n, k) > exact + 1


def test_designs_whose_cycles_do_not_follow_the_data_have_none(real):
    w, x = real
    assert measure(AdderTreeDesign(mode="mac", k=16, n=4), w, x).vector_cycles is None
    csa = AdderTreeDesign(mode="mac", k=16, n=4, carry_save_accumulate=True)
    assert measure(csa, w, x).vector_cycles is None


def test_vector_cycles_average_over_equal_runs_and_are_checked():
    a = DataActivity(0.4, 0.4, vector_cycles=3.0)
    b = DataActivity(0.5, 0.5, vector_cycles=6.0)
    assert DataActivity.mean([a, b]).vector_cycles == 4.5
    assert DataActivity.mean([a, DataActivity(0.5, 0.5)]).vector_cycles is None
    for bad in (0.5, float("nan"), float("inf")):
        with pytest.raises(InputError, match="vector_cycles"):
            DataActivity(0.4, 0.4, vector_cycles=bad)


def test_sweep_data_points_take_the_cycles_of_their_data():
    """Prefill of 256 tokens: each weight GEMM's M equals the 256 calibration rows sampled
    per layer, so its sweep cycles are the mean over the sampled layers of the exact
    cycles of those rows."""
    data = {
        "name": "digit-sparse-data",
        "workload": {
            "spec": "all-minilm-l6-v2",
            "phase": "prefill",
            "seq": 256,
            "include_head": False,
        },
        "options": {"quality": "off"},
        "engines": [
            {"arch": "adder_tree", **SPARSE, "activity": [0.5, "data"]},
            {"arch": "adder_tree", "mode": "mac", "k": 16, "n": 4, "activity": [0.5, "data"]},
        ],
    }
    spec = parse_sweep_spec(data)
    points, layers = evaluate_chunk(spec, 0, spec.points)
    assert points["cycles_source"].tolist() == ["model", "data", "model", "model"]
    cyc = layers.pivot(index="gemm", columns="point", values="cycles")
    sparse, plain = spec.blocks[0].designs[0], spec.blocks[1].designs[0]
    # Not digit-sparse: the data changes the energy, not the cycles.
    assert (cyc[2] == cyc[3]).all()
    assert points["energy_uj"][3] < points["energy_uj"][2]
    L = spec.layers.set_index("name")
    ops = {o.name: o for o in workload_gemm_operands("all-minilm-l6-v2", spec.gemm_keys())}
    for name in ("q_proj", "fc1", "fc2"):
        m, n, k = (int(L.loc[name, c]) for c in ("M", "N", "K"))
        # At a number: the expectation for uniformly random codes.
        assert cyc.loc[name, 0] == pytest.approx(
            kernel_cycles(sparse, expected_vector_cycles(sparse), m, n, k), rel=1e-12
        )
        exact = []
        for w, x in ops[name].samples:
            assert x.shape == (m, k)
            _, xc = design_codes(sparse, w, x)
            exact.append(bw_cycles.digit_sparse_gemm_cycles(sparse, xc, n))
        assert cyc.loc[name, 1] == pytest.approx(np.mean(exact), rel=1e-12, abs=1e-6), name
        assert cyc.loc[name, 1] < cyc.loc[name, 0]
    # Fewer cycles: less clock energy and latency on the data point.
    assert points["cycles"][1] < points["cycles"][0]
    assert points["latency_us"][1] < points["latency_us"][0]
    assert points["energy_uj"][1] < points["energy_uj"][0]
    assert plain.digit_sparse is False


@pytest.mark.sim
def test_rtl_cycles_on_real_operands_equal_the_data_cycles(real, tmp_path, sim_build_root):
    """The RTL on real codes (Verilator): simulated GEMM cycles == the bench's model == the
    sweep formula at the data's vector cycles."""
    from shiftadd.sim.runner import simulate  # deferred: the simulator stack

    w, x = real
    design = AdderTreeDesign(
        name="bw_sparse", mode="mac", k=6, n=2, digit_sparse=True, digit_group=3, pipeline_stages=1
    )
    wc, xc = design_codes(design, w[:7, :21], x[:13, :21])
    path = save_operands(tmp_path / "ops.npz", xc, wc)
    report = simulate(design, gemm=(13, 7, 21), operands=path, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.gemm["gemm_matches"]
    vc = measure(design, w[:7, :21], x[:13, :21]).vector_cycles
    sweep = kernel_cycles(design, vc, 13, 7, 21)
    assert report.gemm["gemm_cycles_sim"] == report.gemm["gemm_cycles_model"] == round(sweep)
    assert abs(sweep - report.gemm["gemm_cycles_sim"]) < 1e-6
