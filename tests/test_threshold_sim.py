"""Threshold-logic arrays' generated Verilog under cocotb + Verilator: the RTL running the
scheduler's programs equals the golden binary layer (and the NumPy interpreter, which the
bench checks against it first) bit for bit, for several fan-ins per build (odd, not powers of
two, tiny) and thresholds beyond both ends, and every result arrives in the cycle the
program predicts."""

import pytest

from shiftadd.design.threshold import ThresholdDesign
from shiftadd.models.cycles import gemm_cycles
from shiftadd.sim.bench_threshold import ThresholdBench
from shiftadd.sim.runner import simulate

pytestmark = pytest.mark.sim

BASE = dict(name="sim_tl", k=45, pes=4, memory_bits=16)
POOLED = dict(
    name="sim_tl_pool",
    k=100,
    pes=3,
    vectors=4,
    pool=2,
    memory_bits=24,
    neuron_weights=[4, 2, 1, 1, 1, 1, 1],
    data_bits=8,
)


@pytest.mark.parametrize("params,results", [(BASE, 600), (POOLED, 300)], ids=["base", "pooled"])
def test_verilator_matches_golden_and_cycle_model(params, results, sim_build_root):
    design = ThresholdDesign(**params)
    fan_ins = ThresholdBench(design).fan_ins()
    assert len(fan_ins) >= 6 and any(k % 2 for k in fan_ins) and 1 in fan_ins
    report = simulate(design, vectors=results, seed=3, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.vectors >= results and report.mismatches == 0
    assert report.cycle_checked == report.vectors and report.cycle_mismatches == 0


def test_bench_reports_a_fault(sim_build_root):
    report = simulate(
        ThresholdDesign(**BASE), vectors=100, fault="expected", build_root=sim_build_root
    )
    assert not report.passed and report.mismatches == 1


def test_backpressure_and_input_gaps(sim_build_root):
    report = simulate(
        ThresholdDesign(**BASE), vectors=200, seed=5, stall=True, build_root=sim_build_root
    )
    assert report.passed, report.first_mismatches
    assert report.vectors >= 200


@pytest.mark.parametrize("gemm", [(37, 5, 45), (10, 3, 64)])
def test_binary_layer_gemm_product_and_cycles(gemm, sim_build_root):
    design = ThresholdDesign(**BASE)
    report = simulate(design, gemm=gemm, seed=2, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.gemm["gemm_matches"]
    assert (
        report.gemm["gemm_cycles_sim"]
        == report.gemm["gemm_cycles_model"]
        == gemm_cycles(design, *gemm).cycles
    )


RING = dict(name="sim_tl_ring", k=45, pes=4, pe="tulip", neuron_register_bits=10)


@pytest.mark.parametrize("init", ["zero", "random", "icarus"])
def test_ring_pe_matches_golden_and_cycle_model(init, sim_build_root):
    """The TULIP-like PE (per-neuron registers, ring interconnect) on Verilator, on Verilator
    with random initial registers, and on Icarus: bit- and cycle-exact."""
    kw = {"icarus": dict(simulator="icarus"), "random": dict(random_init=True)}.get(init, {})
    report = simulate(ThresholdDesign(**RING), vectors=200, seed=3, build_root=sim_build_root, **kw)
    assert report.passed, report.first_mismatches
    assert report.vectors >= 200 and report.mismatches == 0
    assert report.cycle_checked == report.vectors and report.cycle_mismatches == 0


def test_ring_pe_gemm_product_and_cycles(sim_build_root):
    design = ThresholdDesign(**RING)
    report = simulate(design, gemm=(37, 5, 45), seed=2, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.gemm["gemm_matches"]
    assert (
        report.gemm["gemm_cycles_sim"]
        == report.gemm["gemm_cycles_model"]
        == gemm_cycles(design, 37, 5, 45).cycles
    )
