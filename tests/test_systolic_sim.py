"""The grid engines' Verilog (systolic OS/WS, 2D matrix) under cocotb + Verilator, against
the golden model (every result, bit-exact) and the analytic cycle model (every result's
cycle, and the whole GEMM's cycle count).

Every engine x dataflow x ``carry_save_accumulate`` x PE arithmetic is built once (small,
non-square arrays so transposition bugs show), then runs random traffic that starts with the
edge cases (extreme operands such as -128 x -128 for ``k_max`` steps, all zeros, alternating
signs, one-step tiles) and one tiled GEMM whose M, N, K are not multiples of the array.
"""

import pytest

from shiftadd.design import design_from_dict
from shiftadd.models.cycles import gemm_cycles
from shiftadd.sim.runner import simulate

pytestmark = pytest.mark.sim

ENGINES = {
    "os": dict(arch="systolic", dataflow="os", rows=3, cols=2, k_max=40),
    "ws": dict(arch="systolic", dataflow="ws", rows=3, cols=2),
    "m2d": dict(arch="matrix2d", rows=2, cols=3, k_max=40),
}
ARITHMETIC = {
    "mac8": dict(mode="mac"),
    # 4-bit unsigned activations, 4-bit signed weights, a 9-bit wrapping accumulator
    "mac4": dict(mode="mac", act_bits=4, act_signed=False, weight_bits=4, acc_bits=9, wrap=True),
    "addsub": dict(mode="addsub"),
    "ternary": dict(mode="ternary", act_bits=6, act_signed=False),
}
# GEMMs per engine: none of M, N, K a multiple of the array's rows or columns
GEMMS = {"os": (7, 5, 53), "ws": (5, 3, 11), "m2d": (5, 4, 45)}


def _design(engine, arith, cs):
    params = dict(ENGINES[engine], **ARITHMETIC[arith], carry_save_accumulate=cs)
    params["name"] = f"sim_{engine}_{arith}_{'cs' if cs else 'cpa'}"
    return design_from_dict(params)


@pytest.mark.parametrize("cs", [False, True], ids=["cpa", "csa"])
@pytest.mark.parametrize("arith", list(ARITHMETIC))
@pytest.mark.parametrize("engine", list(ENGINES))
def test_random_edge_and_gemm_bit_exact_with_exact_cycles(engine, arith, cs, sim_build_root):
    design = _design(engine, arith, cs)
    report = simulate(design, vectors=400, seed=3, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.mismatches == 0 and report.missing == 0 and report.extra == 0
    assert report.vectors > 0 and report.cycle_checked == report.vectors
    assert report.cycle_mismatches == 0

    m, n, k = GEMMS[engine]
    report = simulate(design, gemm=(m, n, k), seed=4, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.gemm["gemm_matches"]
    assert (
        report.gemm["gemm_cycles_sim"]
        == report.gemm["gemm_cycles_model"]
        == gemm_cycles(design, m, n, k).cycles
    )


@pytest.mark.parametrize("engine", ["os", "ws", "m2d"])
def test_backpressure_and_input_gaps(engine, sim_build_root):
    design = _design(engine, "mac8", True)
    report = simulate(design, vectors=600, seed=8, stall=True, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.mismatches == 0 and report.vectors > 0


def test_bench_reports_a_fault(sim_build_root):
    report = simulate(
        _design("ws", "mac8", False), vectors=200, fault="expected", build_root=sim_build_root
    )
    assert not report.passed and report.mismatches == 1
