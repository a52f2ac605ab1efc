"""Hierarchical form of the partial-sum chains (issue 19): the weight-stationary systolic
array and the 3D-Cube, each PE a ``ChainPE`` unit; identical PEs one module, simulated
bit-exact against the golden model with the model's cycle count, and synthesized."""

import json
import re

import pytest
from amaranth.hdl import Fragment

from shiftadd.cli import main
from shiftadd.design import design_from_dict, load_design
from shiftadd.hw import build_component
from shiftadd.rtl_gen.emit import generate_verilog
from shiftadd.rtl_gen.hierarchy import mark_units
from shiftadd.rtl_gen.lint import lint_verilog
from shiftadd.rtl_gen.synth import synthesize
from shiftadd.sim.runner import simulate

# Small designs: (fields, GEMM (m, n, k) for the simulation). The chain position of PE
# ``pe{i}_{j}`` (weight-stationary) is ``i``, of ``pe{r}_{k}_{c}`` (cube) ``k``.
DESIGNS = {
    "ws_mac": (
        dict(arch="systolic", dataflow="ws", rows=3, cols=2, mode="mac", act_bits=8, weight_bits=8),
        (5, 3, 7),
    ),
    "ws_csa": (
        dict(
            arch="systolic",
            dataflow="ws",
            rows=4,
            cols=2,
            mode="mac",
            act_bits=4,
            weight_bits=4,
            carry_save_accumulate=True,
        ),
        (5, 3, 9),
    ),
    "cube_mac": (
        dict(arch="cube", rows=2, cols=2, depth=3, mode="mac", act_bits=8, weight_bits=8),
        (3, 5, 7),
    ),
    "cube_csa": (
        dict(
            arch="cube",
            rows=2,
            cols=2,
            depth=3,
            mode="mac",
            act_bits=4,
            weight_bits=4,
            carry_save_accumulate=True,
        ),
        (3, 5, 7),
    ),
}


def _design(key):
    return design_from_dict({**DESIGNS[key][0], "name": f"hier_{key}"})


def _unit_class(design, unit: str) -> tuple[int, bool]:
    """What a PE's module depends on: its place in the chain (the first PE has no partial
    sum in, the second takes the first's narrower one, from the third on they are the same
    here) and, with Booth carry-save PEs, whether it is in the first column (there the
    activation comes in whole; further on one bit of it is the left PE's partial-sum bit, as
    flat synthesis shares that flip-flop)."""
    indices = [int(x) for x in re.findall(r"\d+", unit)]
    if design.arch == "systolic":
        position, column = indices[0], indices[1]
    else:
        position, column = indices[1], indices[2]
    booth = design.carry_save_accumulate and design.mode == "mac"
    return min(position, 2), booth and column == 0


@pytest.mark.parametrize("key", sorted(DESIGNS))
def test_chain_pes_are_one_module_per_chain_position(key):
    design = _design(key)
    component = build_component(design, hierarchical=True)
    units = component.hierarchy_units
    Fragment.get(component, None)  # elaborated: not an unused elaboratable
    n_pes = design.rows * design.cols * getattr(design, "depth", 1)
    assert len(units) == n_pes and set(units.values()) == {"pe"}
    rtl = generate_verilog(design, hierarchical=True)
    instances = dict(
        (inst, module)
        for module, inst in re.findall(rf"^\s*({design.name}_pe\d*) (\w+) \(", rtl.verilog, re.M)
    )
    assert sorted(instances) == sorted(units)
    by_class = {}
    for inst, module in instances.items():
        by_class.setdefault(_unit_class(design, inst), set()).add(module)
    assert all(len(modules) == 1 for modules in by_class.values())
    assert len(set(instances.values())) == len(by_class) == (6 if key.endswith("csa") else 3)
    assert rtl.manifest["hierarchy"] == sorted(set(instances.values()))
    lint = lint_verilog(rtl.verilog, design.name, is_text=True)
    assert lint.ok, lint.warnings
    # The default form stays flat.
    assert re.findall(r"^module (\w+)", generate_verilog(design).verilog, re.M) == [design.name]


@pytest.mark.parametrize(
    "key, simulator",
    [("ws_csa", "verilator"), ("cube_csa", "verilator"), ("ws_mac", "icarus")],
)
def test_hierarchical_chain_is_bit_exact(key, simulator, sim_build_root, request):
    if simulator == "icarus":
        request.getfixturevalue("need_iverilog")
    report = simulate(
        _design(key),
        hierarchical=True,
        gemm=DESIGNS[key][1],
        simulator=simulator,
        random_init=simulator == "verilator",
        seed=5,
        build_root=sim_build_root,
    )
    assert report.passed and report.mismatches == 0 and report.cycle_mismatches == 0


CUBE_TOML = """arch = "cube"
name = "hier_cli_cube"
rows = 2
cols = 2
depth = 3
mode = "mac"
act_bits = 4
weight_bits = 4
carry_save_accumulate = true
"""


def test_cli_synth_hierarchical_cube(need_yosys, need_sta, liberty, tmp_path, capsys):
    path = tmp_path / "cube.toml"
    path.write_text(CUBE_TOML)
    out = tmp_path / "hier.json"
    args = ["synth", str(path), "--hierarchical", "--liberty", str(liberty)]
    assert main([*args, "--workdir", str(tmp_path / "hier"), "--out", str(out)]) == 0
    assert "hier_cli_cube" in capsys.readouterr().out
    hier = json.loads(out.read_text())
    assert any("hierarchical" in note for note in hier["notes"])
    netlist = (tmp_path / "hier" / "hier_cli_cube_netlist.v").read_text()
    assert len(re.findall(r"^module ", netlist, re.M)) == 7  # the top and six PE variants
    flat = synthesize(load_design(path), liberty=liberty, workdir=tmp_path / "flat")
    # The same flip-flops: a partial-sum bit that is a Booth sign (an activation bit as it
    # came in) is shared with the activation's hop register, as flat synthesis merges them.
    assert hier["sequential_cells"] == flat.sequential_cells
    assert hier["area"] == pytest.approx(flat.area, rel=0.05)


def test_hierarchical_ws_carry_save_keeps_the_flat_flip_flops(need_yosys, tmp_path):
    design = _design("ws_csa")
    flat = synthesize(design, liberty="none", workdir=tmp_path / "flat")
    hier = synthesize(design, liberty="none", workdir=tmp_path / "hier", hierarchical=True)
    assert hier.sequential_cells == flat.sequential_cells
    assert hier.area == pytest.approx(flat.area, rel=0.05)


def test_unit_ports_are_declared_in_name_order():
    # Amaranth declares a unit's ports in the order its parent drives them; two identical
    # units must read the same, so marking sorts them (attribute lines move with their wire).
    text = (
        "module \\top\n  wire width 1 input 0  \\b\nend\n"
        "module \\top.u0\n  wire width 1 input 0  \\clk\n\n  wire width 8 input 1  signed \\b\n"
        "\n  attribute \\init 8'00000000\n  wire width 8 output 2  \\a\n\n  wire width 8 \\x\n"
        "end\n"
    )
    marked = mark_units(text, "top", {"u0": "pe"})
    unit = marked[marked.index("module \\top.u0") :]
    assert re.findall(r"^  wire .*$", unit, re.M) == [
        "  wire width 8 output 0  \\a",
        "  wire width 8 input 1  signed \\b",
        "  wire width 1 input 2  \\clk",
        "  wire width 8 \\x",
    ]
    assert "attribute \\init 8'00000000\n  wire width 8 output 0  \\a" in unit
    assert "module \\top\n  wire width 1 input 0  \\b\n" in marked  # the top as it was
