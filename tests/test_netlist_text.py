"""Gate-level netlist rewrites for OpenSTA (shiftadd.rtl_gen.netlist_text)."""

import os
import re

from shiftadd.rtl_gen.netlist_text import buffer_unit_inputs, split_concatenated_assigns
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


def _hier_netlist(count: int) -> str:
    inst = "".join(
        f"  unit u{i} (\n    .clk(clk),\n    .en(\\en_q[0] ),\n    .d({{ \\x[{i}] , a[1] }}),"
        f"\n    .y(y[{i}])\n  );\n"
        for i in range(count)
    )
    return (
        f"module top(clk, a, y);\n  input clk;\n  input [1:0] a;\n  output [{count - 1}:0] y;\n"
        f"  wire \\en_q[0] ;\n{inst}endmodule\n"
        "module unit(clk, en, d, y);\n  input clk;\n  input en;\n  input [1:0] d;\n"
        "  output y;\nendmodule\n"
    )


def test_buffer_trees_on_nets_into_many_units():
    text, added = buffer_unit_inputs(
        _hier_netlist(40), "top", ["unit"], ("BUF", "A", "X"), max_fanout=16, ideal=("clk",)
    )
    # en and a[1] each reach 40 pins: 3 buffers each (16 + 16 + 8), driven by the net.
    assert added == 6
    assert text.count(".clk(clk)") == 40  # the clock stays ideal
    assert text.count(".en(\\en_q[0] )") == 0 and text.count(".A(\\en_q[0] )") == 3
    assert text.count(".A(a[1])") == 3
    for b in range(6):
        loads = len(re.findall(rf"\b_hbuf{b}_\b(?!cell)", text)) - 2  # its wire and output
        assert 1 <= loads <= 16
    assert "\\x[39] , _hbuf" in text  # the other bit of the concatenation is kept


def test_few_loads_need_no_buffer():
    text, added = buffer_unit_inputs(_hier_netlist(8), "top", ["unit"], ("BUF", "A", "X"))
    assert added == 0 and text == _hier_netlist(8)


def test_a_whole_vector_on_unit_pins_is_buffered_bit_by_bit():
    inst = "".join(f"  unit u{i} (\n    .v(a),\n    .y(y[{i}])\n  );\n" for i in range(20))
    text = (
        "module top(a, y);\n  input [1:0] a;\n  output [19:0] y;\n"
        f"{inst}endmodule\nmodule unit(v, y);\n  input [1:0] v;\n  output y;\nendmodule\n"
    )
    out, added = buffer_unit_inputs(text, "top", ["unit"], ("BUF", "A", "X"), max_fanout=16)
    # Each bit of a reaches 20 pins: two buffers of 10 loads each.
    assert added == 4
    assert out.count(".A(a[1])") == 2 and out.count(".A(a[0])") == 2
    assert ".v(a)" not in out
    assert all(len(re.findall(rf"_hbuf{b}_ ?[,}}]", out)) == 10 for b in range(4))


def test_pins_count_the_gates_they_drive_inside_the_unit():
    # 8 units whose input b drives 8 gates each: 64 gate inputs, four buffers of two pins.
    gates = "".join(f"  INV g{g} (\n    .A(b),\n    .Y(y{g})\n  );\n" for g in range(8))
    inst = "".join(f"  unit u{i} (\n    .b(x),\n    .y(y[{i}])\n  );\n" for i in range(8))
    text = (
        f"module top(x, y);\n  input x;\n  output [7:0] y;\n{inst}endmodule\n"
        f"module unit(b, y);\n  input b;\n  output y;\n{gates}endmodule\n"
    )
    out, added = buffer_unit_inputs(text, "top", ["unit"], ("BUF", "A", "X"), max_fanout=16)
    assert added == 4 and out.count(".A(x)") == 4
    assert all(out.count(f".b(_hbuf{b}_)") == 2 for b in range(4))
