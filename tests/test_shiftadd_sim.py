"""The shift-add engine's Verilog under cocotb + Verilator, against the LUT-GEMM golden
model (values) and the analytic cycle model (every result's cycle, GEMM totals)."""

import pytest

from shiftadd.design import ShiftAddDesign
from shiftadd.models.cycles import gemm_cycles
from shiftadd.sim.runner import simulate

pytestmark = pytest.mark.sim

BARREL = dict(
    name="sim_sa_barrel",
    mu=4,
    q=3,
    terms=3,
    columns=4,
    scale_rows=2,
    lut_slots=2,
    acc_groups=4,
    pipeline_stages=1,
)
MU8 = dict(name="sim_sa_mu8", mu=8, q=2, terms=1, columns=2)
CONSTANT = dict(
    name="sim_sa_const",
    mu=3,
    q=2,
    terms=2,
    act_bits=6,
    shifter="constant",
    const_shifts=[[4, 1], [2, 0]],
    const_signs=[[1, -1], [-1, 0]],
    columns=3,
    lut_slots=3,
    pipeline_stages=2,
)


@pytest.mark.parametrize(
    "params,results",
    [(BARREL, 6000), (MU8, 2000), (CONSTANT, 3000)],
    ids=["barrel", "mu8", "constant"],
)
def test_random_traffic_matches_golden_and_cycle_model(params, results, sim_build_root):
    report = simulate(ShiftAddDesign(**params), vectors=results, seed=11, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.vectors == results and report.mismatches == 0
    assert report.cycle_checked == results and report.cycle_mismatches == 0
    assert report.dot_products == results * params["columns"]


@pytest.mark.parametrize(
    "params,gemm",
    [(BARREL, (3, 37, 130)), (MU8, (2, 5, 200)), (CONSTANT, (4, 7, 50))],
    ids=["barrel-llama-slice", "mu8-llama-slice", "constant"],
)
def test_layer_product_and_cycles(params, gemm, sim_build_root):
    """Barrel designs run BCQ-quantized slices of a synthetic Llama-2-7B gate_proj."""
    design = ShiftAddDesign(**params)
    report = simulate(design, gemm=gemm, seed=2, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.gemm["gemm_matches"]
    assert (
        report.gemm["gemm_cycles_sim"]
        == report.gemm["gemm_cycles_model"]
        == gemm_cycles(design, *gemm).cycles
    )


def test_backpressure_and_input_gaps(sim_build_root):
    report = simulate(
        ShiftAddDesign(**BARREL), vectors=3000, seed=5, stall=True, build_root=sim_build_root
    )
    assert report.passed, report.first_mismatches
    assert report.sim_cycles > 3000 * 2


def test_bench_reports_a_fault(sim_build_root):
    report = simulate(
        ShiftAddDesign(**CONSTANT), vectors=500, fault="expected", build_root=sim_build_root
    )
    assert not report.passed and report.mismatches == 1
