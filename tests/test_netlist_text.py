"""Gate-level netlist rewrites for OpenSTA (shiftadd.rtl_gen.netlist_text)."""

import os

from shiftadd.rtl_gen.netlist_text import split_concatenated_assigns
from shiftadd.rtl_gen.synth import synthesize_external

HERE = os.path.dirname(__file__)


def test_concatenation_split_per_bit():
    text = "  assign { y[3:2], \\a.b [1], z } = { 2'b01, x[0:1] };\n"
    assert split_concatenated_assigns(text).splitlines() == [
        "  assign y[3] = 1'b0;",
        "  assign y[2] = 1'b1;",
        "  assign \\a.b [1] = x[0];",
        "  assign z = x[1];",
    ]


def test_unparsed_or_unequal_statements_left_alone():
    odd = "  assign { y[1:0] } = { a + b };\n  assign { y[2:0] } = { x[1:0] };\n"
    assert split_concatenated_assigns(odd) == odd
    plain = "  assign y = x;\n"
    assert split_concatenated_assigns(plain) == plain


def test_tied_output_bits_reach_opensta(need_yosys, need_sta, liberty, tmp_path):
    r = synthesize_external(
        [os.path.join(HERE, "data", "verilog", "tied_outputs.v")],
        "tied_outputs",
        liberty=liberty,
        clock_ns=5.0,
        workdir=tmp_path,
    )
    netlist = (tmp_path / "tied_outputs_netlist.v").read_text()
    assert "assign {" not in netlist
    # the adder's carry chain, not nothing: OpenSTA read the netlist and timed it
    assert r.critical_path_ns is not None and r.critical_path_ns > 0.3
