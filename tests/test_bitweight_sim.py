"""Generated Verilog of the bit-weight options: lint, and cocotb on Verilator against the
golden model, bit-exact, with the analytic cycles equal to the simulated ones."""

import pytest

from shiftadd.design import AdderTreeDesign
from shiftadd.models.cycles import gemm_cycles
from shiftadd.rtl_gen.emit import generate_verilog
from shiftadd.rtl_gen.lint import lint_verilog
from shiftadd.sim.runner import simulate

pytestmark = pytest.mark.sim

DESIGNS = {
    "bw_csa": dict(carry_save_accumulate=True, pipeline_stages=2),
    "bw_same": dict(shared_encoder_same_bitweight=True, pipeline_stages=1),
    "bw_csa_same": dict(carry_save_accumulate=True, shared_encoder_same_bitweight=True),
    "bw_sparse": dict(digit_sparse=True, digit_group=3, pipeline_stages=1),
    # The encoder register alone (the first slot), and a register after every layer.
    "bw_csa_enc": dict(carry_save_accumulate=True, pipeline_stages=1),
    "bw_same_max": dict(shared_encoder_same_bitweight=True, pipeline_stages=7),
    "bw_csa_same_p3": dict(
        carry_save_accumulate=True, shared_encoder_same_bitweight=True, pipeline_stages=3
    ),
}


def design_of(name, **extra):
    return AdderTreeDesign(name=name, mode="mac", k=6, n=2, **{**DESIGNS[name], **extra})


def test_the_pipelined_cases_cover_the_encoder_register_and_the_maximum():
    assert design_of("bw_csa_enc").register_slots == (0,)
    same = design_of("bw_same_max")
    assert same.pipeline_stages == same.max_pipeline_stages


@pytest.mark.parametrize(
    "params",
    [
        dict(carry_save_accumulate=True),
        dict(carry_save_accumulate=True, pipeline_stages=4, weight_bits=5),
        dict(shared_encoder_same_bitweight=True, act_bits=4, weight_bits=3, pipeline_stages=3),
        dict(carry_save_accumulate=True, shared_encoder_same_bitweight=True, pipeline_stages=2),
        dict(shared_encoder_same_bitweight=True, pipeline_stages=7),
        dict(digit_sparse=True, digit_group=2),
        dict(digit_sparse=True, digit_group=1, act_bits=6, pipeline_stages=1),
    ],
    ids=["csa", "csa_p4_w5", "same_4x3", "csa_same", "same_max", "sparse", "sparse_g1"],
)
def test_generated_verilog_is_lint_clean(params):
    design = AdderTreeDesign(name="bwlint", mode="mac", k=6, n=2, **params)
    result = lint_verilog(generate_verilog(design).verilog, design.name, is_text=True)
    assert result.ok, result.warnings[:5]


@pytest.mark.parametrize("name", list(DESIGNS))
def test_verilator_stream_and_gemms(name, sim_build_root):
    """Random vectors (the first chunk starts with the extremes: all -128, all 127, zeros,
    alternating, against -128 / 127 weights), with every result's cycle predicted by the
    model; then tiled GEMMs with M, N, K not multiples of the array."""
    design = design_of(name)
    report = simulate(design, vectors=1500, seed=3, build_root=sim_build_root)
    assert report.passed, report.first_mismatches
    assert report.vectors == 1500 and report.cycle_checked == 1500
    for seed, gemm in enumerate([(13, 7, 21)]):
        report = simulate(design, gemm=gemm, seed=seed, build_root=sim_build_root)
        assert report.passed, report.first_mismatches
        assert report.gemm["gemm_matches"]
        assert report.gemm["gemm_cycles_sim"] == report.gemm["gemm_cycles_model"]
        if not design.digit_sparse:
            assert report.gemm["gemm_cycles_model"] == gemm_cycles(design, *gemm).cycles
