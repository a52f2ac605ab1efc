"""The 3D-Cube's Verilog under cocotb, against the golden model (every result, bit-exact)
and the analytic cycle model (every result's cycle, and a whole tiled GEMM's cycle count).

Small cubes with unequal sides (a transposed index shows) and the 4 x 4 x 4 examples, MAC
and OPT1 (carry-save, Booth) PEs and the other PE arithmetics; the traffic starts with the
edge cases (-128 x -128 in every PE, extremes of both signs, zeros, alternating signs, a
tile whose every element differs). Verilator with registers at zero and at random values
(a register the design forgets to reset would show), and Icarus (registers start unknown).
"""

from pathlib import Path

import pytest

from shiftadd.design import design_from_dict, load_design
from shiftadd.models.cycles import gemm_cycles
from shiftadd.sim.runner import simulate

pytestmark = pytest.mark.sim

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CUBES = {
    "mac8": dict(rows=2, cols=3, depth=2),
    "mac8_csa": dict(rows=3, cols=2, depth=2, carry_save_accumulate=True),
    "mac4_wrap_csa": dict(
        rows=2,
        cols=2,
        depth=3,
        act_bits=4,
        act_signed=False,
        weight_bits=4,
        acc_bits=9,
        wrap=True,
        carry_save_accumulate=True,
    ),
    "addsub_csa": dict(rows=2, cols=2, depth=2, mode="addsub", carry_save_accumulate=True),
    "ternary": dict(rows=2, cols=1, depth=3, mode="ternary", act_bits=6, act_signed=False),
}


def _design(key):
    return design_from_dict({"arch": "cube", "name": f"cube_sim_{key}", **CUBES[key]})


@pytest.mark.parametrize("key", list(CUBES))
def test_random_edge_and_gemm_bit_exact_with_exact_cycles(key, sim_build_root):
    design = _design(key)
    report = simulate(design, vectors=300, seed=3, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.mismatches == 0 and report.missing == 0 and report.extra == 0
    assert report.vectors == 300 and report.cycle_checked == report.vectors
    assert report.cycle_mismatches == 0

    m, n, k = 5, 4, 7  # partial tiles on every side
    report = simulate(design, gemm=(m, n, k), seed=4, build_root=sim_build_root)
    assert report.passed and report.gemm["gemm_matches"], report.first_mismatches
    assert (
        report.gemm["gemm_cycles_sim"]
        == report.gemm["gemm_cycles_model"]
        == gemm_cycles(design, m, n, k).cycles
    )


@pytest.mark.parametrize("example", ["cube_int8_4x4x4.toml", "cube_csa_int8_4x4x4.toml"])
@pytest.mark.parametrize("init", ["zero", "random", "icarus"])
def test_examples_on_verilator_random_init_and_icarus(example, init, sim_build_root, need_iverilog):
    design = load_design(EXAMPLES / example)
    kw = {"icarus": dict(simulator="icarus"), "random": dict(random_init=True)}.get(init, {})
    report = simulate(design, vectors=200, seed=11, build_root=sim_build_root, **kw)
    assert report.passed and report.mismatches == 0, report.first_mismatches
    assert report.cycle_checked == report.vectors == 200 and report.cycle_mismatches == 0


def test_stalls_keep_every_result(sim_build_root):
    design = _design("mac8_csa")
    report = simulate(design, vectors=200, seed=5, stall=True, build_root=sim_build_root)
    assert report.passed and report.vectors == 200, report.first_mismatches


def test_the_bench_catches_a_corrupted_expectation(sim_build_root):
    report = simulate(
        _design("mac8"), vectors=50, seed=1, fault="expected", build_root=sim_build_root
    )
    assert not report.passed and report.mismatches >= 1
