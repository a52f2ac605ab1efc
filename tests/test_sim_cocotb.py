"""Generated Verilog under cocotb: Verilator by default, Icarus for one small case."""

import pytest

from shiftadd.design import AdderTreeDesign
from shiftadd.models.cycles import gemm_cycles
from shiftadd.sim.runner import simulate

pytestmark = pytest.mark.sim

CASES = [
    (dict(name="sim_xnor", mode="xnor", k=64, n=4, threshold=True, pipeline_stages=3), 20000),
    (
        dict(
            name="sim_addsub",
            mode="addsub",
            k=33,
            n=3,
            act_bits=5,
            act_signed=False,
            threshold=True,
            pipeline_stages=1,
        ),
        5000,
    ),
    (dict(name="sim_mac", mode="mac", k=16, n=3, pipeline_stages=2), 5000),
    (
        dict(
            name="sim_mac_u", mode="mac", k=5, n=2, act_bits=4, weight_bits=3, weight_signed=False
        ),
        3000,
    ),
]


@pytest.mark.parametrize("params,vectors", CASES, ids=[c[0]["name"] for c in CASES])
def test_verilator_matches_golden_and_cycle_model(params, vectors, sim_build_root):
    report = simulate(
        AdderTreeDesign(**params), vectors=vectors, seed=11, build_root=sim_build_root
    )
    assert report.passed, report.first_mismatches
    assert report.vectors == vectors and report.mismatches == 0
    assert report.cycle_checked == vectors and report.cycle_mismatches == 0


def test_backpressure_and_input_gaps(sim_build_root):
    design = AdderTreeDesign(**CASES[0][0])
    report = simulate(design, vectors=4000, seed=5, stall=True, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    # gaps and stalls make the run longer than one vector per cycle
    assert report.sim_cycles > 4000 + 100


@pytest.mark.parametrize(
    "params,gemm",
    [
        (CASES[2][0], (33, 10, 150)),
        (CASES[0][0], (7, 4, 64)),
        (dict(name="sim_gemm_xnor", mode="xnor", k=16, n=4), (9, 11, 40)),
        # Fewer output columns than neurons: rows never written keep their initial weights.
        (dict(name="sim_gemm_xnor", mode="xnor", k=16, n=4), (5, 3, 20)),
    ],
)
def test_tiled_gemm_product_and_cycles(params, gemm, sim_build_root):
    design = AdderTreeDesign(**params)
    report = simulate(design, gemm=gemm, seed=2, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.mismatches == 0 and report.missing == 0
    assert report.gemm["gemm_matches"]
    assert (
        report.gemm["gemm_cycles_sim"]
        == report.gemm["gemm_cycles_model"]
        == gemm_cycles(design, *gemm).cycles
    )


def test_bench_reports_a_fault(sim_build_root):
    report = simulate(
        AdderTreeDesign(**CASES[3][0]), vectors=500, fault="expected", build_root=sim_build_root
    )
    assert not report.passed and report.mismatches == 1
    assert report.first_mismatches[0]["transfer"] >= 0


def test_icarus(need_iverilog, sim_build_root):
    design = AdderTreeDesign(
        name="sim_icarus", mode="addsub", k=6, n=2, act_bits=4, threshold=True, pipeline_stages=1
    )
    report = simulate(design, vectors=300, simulator="icarus", build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.cycle_checked == 300
