"""Clock-gated storage of the threshold-logic arrays (``clock_gating = true``, issue 17).

The gated register groups (the ring PE's neuron registers ``R_n``, the pooled PE's local
memory, the data registers, the result register) are clocked through one latch-based clock
gate each. The gated RTL must compute what the golden model computes, in the cycles the
cycle model predicts, on Verilator (zero and random initial registers) and on Icarus (every
register starting unknown); a gate without its latch (which glitches when its enable changes
while the clock is high) must fail. Synthesis maps the gate onto the liberty's integrated
clock gate; the cost model clocks gated flip-flops only on the cycles their gate opens.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from shiftadd.design import design_from_dict
from shiftadd.design.threshold import ThresholdDesign
from shiftadd.errors import InputError
from shiftadd.hw import threshold_array
from shiftadd.hw.clock_gate import CLOCK_GATE_ATTRIBUTE
from shiftadd.hw.threshold_array import ThresholdArray, clock_gate_module_name
from shiftadd.models.threshold.cost import gate_open_shares, threshold_bom, threshold_estimate
from shiftadd.rtl_gen.cells import cell_models
from shiftadd.rtl_gen.emit import generate_verilog
from shiftadd.rtl_gen.lint import lint_verilog
from shiftadd.rtl_gen.synth import map_clock_gates
from shiftadd.sim.amaranth_play import check_on_amaranth
from shiftadd.sim.runner import simulate

RING = dict(name="tg_ring", k=45, pes=4, pe="tulip", neuron_register_bits=10, clock_gating=True)
POOLED = dict(name="tg_pooled", k=29, pes=3, memory_bits=20, vectors=2, clock_gating=True)


def test_option_is_validated_and_left_out_when_off():
    plain = ThresholdDesign(name="tg", k=16, pes=2, memory_bits=16)
    assert not plain.clock_gating and "clock_gating" not in plain.to_dict()
    assert plain.clock_gates == 0
    gated = plain.replace(clock_gating=True)
    assert gated.to_dict()["clock_gating"] is True
    assert gated.design_hash != plain.design_hash
    # One gate per PE's memory (pooled) or per neuron register (ring), data and result.
    assert gated.clock_gates == 2 + 2
    ring = ThresholdDesign(**RING)
    assert ring.clock_gates == 4 * 4 + 2
    with pytest.raises(InputError) as exc:
        design_from_dict({"arch": "threshold", "clock_gating": "yes"})
    assert exc.value.field == "clock_gating" and "true, false" in str(exc.value.allowed)
    with pytest.raises(InputError) as exc:
        ThresholdDesign(clock_gating=1)
    assert exc.value.field == "clock_gating"


@pytest.mark.parametrize("params", [RING, POOLED], ids=["ring", "pooled"])
def test_gated_verilog_is_lint_clean_with_one_gate_per_group(params):
    d = ThresholdDesign(**params)
    rtl = generate_verilog(d)
    result = lint_verilog(rtl.verilog, d.name, is_text=True)
    assert result.ok, result.warnings[:5]
    gate = clock_gate_module_name(d)
    assert rtl.manifest["separate_modules"][-1] == gate
    assert len(re.findall(rf"^\s*{gate} \S+\s*\(", rtl.verilog, re.M)) == d.clock_gates
    # Without gating the same design has no gate at all.
    plain = generate_verilog(d.replace(clock_gating=False)).verilog
    assert CLOCK_GATE_ATTRIBUTE not in plain and "gclk" not in plain


def test_amaranth_form_keeps_the_groups_on_sync():
    """Amaranth's simulator cannot run a derived clock exactly, so its form of the gated
    array keeps the write enables on ``sync``; it must still match the golden model."""
    d = ThresholdDesign(**{**RING, "separate_neuron": False})
    report = check_on_amaranth(
        d,
        30,
        component=lambda x: ThresholdArray(design=x, neuron_cell=False, clock_gate_cells=False),
        seed=2,
        stall=True,
        max_entries=600,
    )
    assert report.passed, report.first_mismatches


@pytest.mark.parametrize(
    "params, init",
    [(RING, "zero"), (RING, "random"), (RING, "icarus"), (POOLED, "random"), (POOLED, "icarus")],
    ids=["ring-verilator", "ring-random", "ring-icarus", "pooled-random", "pooled-icarus"],
)
def test_gated_rtl_matches_golden_and_cycle_model(params, init, sim_build_root):
    kw = {"icarus": dict(simulator="icarus"), "random": dict(random_init=True)}.get(init, {})
    report = simulate(
        ThresholdDesign(**params), vectors=150, seed=5, build_root=sim_build_root, **kw
    )
    assert report.passed, report.first_mismatches
    assert report.vectors >= 150 and report.mismatches == 0
    assert report.cycle_checked == report.vectors and report.cycle_mismatches == 0


def test_gated_rtl_under_backpressure_and_gaps(sim_build_root):
    """Stalls hold the gated groups' enables low for many cycles (values only: a stalled
    run has no cycle prediction)."""
    d = ThresholdDesign(**RING)
    report = simulate(
        d, vectors=150, seed=6, build_root=sim_build_root, stall=True, simulator="icarus"
    )
    assert report.passed, report.first_mismatches
    assert report.vectors >= 150 and report.mismatches == 0


def test_gated_gemm_product_and_cycles_on_icarus(sim_build_root):
    d = ThresholdDesign(**RING)
    report = simulate(d, gemm=(9, 3, 45), seed=1, build_root=sim_build_root, simulator="icarus")
    assert report.passed and report.gemm["gemm_matches"]
    assert report.gemm["gemm_cycles_sim"] == report.gemm["gemm_cycles_model"]


def test_a_gate_without_its_latch_is_caught(monkeypatch, tmp_path):
    """``gclk = clk & en`` glitches: the enable changes just after the rising edge, while
    the clock is high, which clocks the group a second time. The bench must see it."""

    def glitching(module):
        return (
            f"(* {CLOCK_GATE_ATTRIBUTE} *)\nmodule {module}(clk, en, gclk);\n"
            "  input wire clk;\n  input wire en;\n  output wire gclk;\n"
            "  assign gclk = clk & en;\nendmodule\n"
        )

    monkeypatch.setattr(threshold_array, "clock_gate_verilog", glitching)
    d = ThresholdDesign(**{**RING, "name": "tg_glitch"})
    report = simulate(d, vectors=60, seed=5, build_root=tmp_path, simulator="icarus")
    assert not report.passed and report.mismatches > 0


def test_synthesis_maps_the_gate_onto_the_liberty_cell(liberty):
    d = ThresholdDesign(**RING)
    text = generate_verilog(d).verilog
    mapped = map_clock_gates(text, liberty)
    assert mapped.count("sg13g2_lgcp_1 icg (.CLK(clk), .GATE(en), .GCLK(gclk));") == 1
    assert "(* blackbox *)\nmodule sg13g2_lgcp_1(" in mapped
    # Without a liberty the latch becomes a falling-edge flip-flop (plain D flip-flops only).
    generic = map_clock_gates(text, None)
    assert "always @(negedge clk) en_latched <= en;" in generic and "lgcp" not in generic
    assert map_clock_gates("module a; endmodule\n", liberty) == "module a; endmodule\n"


def test_gate_cell_model_is_a_latch_and_an_and(liberty):
    model = cell_models(liberty, ["sg13g2_lgcp_1"])
    assert "always @(CLK or GATE) if (!CLK) int_GATE = GATE;" in model
    assert "assign GCLK = CLK & int_GATE;" in model


def test_synthesized_gated_array_has_one_cell_per_gate_and_is_timed(
    liberty, need_yosys, need_sta, tmp_path
):
    from shiftadd.rtl_gen.synth import synthesize

    d = ThresholdDesign(**{**RING, "pes": 2})
    r = synthesize(d, liberty=liberty, workdir=tmp_path)
    assert r.cell_types.get("sg13g2_lgcp_1") == d.clock_gates
    assert r.critical_path_ns is not None and r.critical_path_ns < d.clock_ns
    plain = synthesize(d.replace(clock_gating=False), liberty=None, workdir=tmp_path / "g")
    gated = synthesize(d, liberty=None, workdir=tmp_path / "gg")
    # Generic flow: a flip-flop and an AND per gate more than the ungated array.
    assert gated.area > plain.area


def test_cost_model_clocks_gated_groups_only_when_open():
    d = ThresholdDesign(**RING)
    prog = d.program_for()
    shares = gate_open_shares(d, prog)
    assert shares["data"] == pytest.approx(np.mean(prog.load))
    assert shares["result"] == pytest.approx(prog.outputs / prog.steps)
    assert shares["storage"] == pytest.approx(np.mean(prog.store))
    assert 0 < shares["storage"] < 1 and 0 < shares["data"] < 1
    gated, plain = threshold_bom(d), threshold_bom(d.replace(clock_gating=False))
    gates = [i for i in gated if i.unit == "icg"]
    assert sum(i.count for i in gates) == d.clock_gates
    assert not any(i.unit == "icg" for i in plain)
    regs = [i for i in gated if i.part.startswith("neuron registers R_n")]
    assert regs and all(i.clock == pytest.approx(shares["storage"]) for i in regs)
    e_gated, e_plain = threshold_estimate(d), threshold_estimate(d.replace(clock_gating=False))
    assert e_gated["energy_per_cycle_pj"] < e_plain["energy_per_cycle_pj"]
    assert e_gated["area_um2"] > e_plain["area_um2"]
