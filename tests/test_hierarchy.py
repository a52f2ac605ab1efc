"""Hierarchical emission and synthesis (issue 19): identical units (PEs, neuron slices) kept as
one module each, simulated bit-exact against the golden model, and synthesized to the same
area and power as the flat netlist within a few percent."""

import re
import subprocess

import pytest
from amaranth.back import rtlil
from amaranth.hdl import Fragment, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from shiftadd.cli import main
from shiftadd.design import design_from_dict
from shiftadd.hw import build_component
from shiftadd.hw.arith import slice_lanes
from shiftadd.rtl_gen.emit import component_verilog, generate_verilog
from shiftadd.rtl_gen.hierarchy import mark_units
from shiftadd.rtl_gen.lint import lint_verilog
from shiftadd.rtl_gen.synth import synthesize
from shiftadd.rtl_gen.tools import find_yosys
from shiftadd.sim.runner import simulate

# Small designs with units: sliced adder trees (registers inside and above the slices, the
# offset leaf of add/sub passing through them) and output-stationary grids.
DESIGNS = {
    "at_mac": (
        dict(arch="adder_tree", mode="mac", k=32, n=2, pipeline_stages=2),
        {"slice": 4},
        None,
    ),
    "at_addsub_threshold": (
        dict(
            arch="adder_tree",
            mode="addsub",
            k=48,
            n=2,
            act_bits=4,
            threshold=True,
            pipeline_stages=4,
        ),
        {"slice": 6},
        None,
    ),
    "at_xnor": (
        dict(arch="adder_tree", mode="xnor", k=64, n=3, pipeline_stages=5),
        {"slice": 12},
        None,
    ),
    "systolic_os_csa": (
        dict(
            arch="systolic",
            dataflow="os",
            rows=3,
            cols=2,
            k_max=40,
            mode="mac",
            act_bits=8,
            weight_bits=8,
            carry_save_accumulate=True,
        ),
        {"pe": 6},
        (5, 3, 11),
    ),
    "matrix2d": (
        dict(arch="matrix2d", rows=2, cols=3, k_max=40, mode="ternary", act_bits=4),
        {"pe": 6},
        (5, 4, 9),
    ),
}


def _design(key):
    return design_from_dict({**DESIGNS[key][0], "name": f"hier_{key}"})


class _Scale(wiring.Component):
    a: In(8)
    y: Out(16)

    def __init__(self, factor):
        self._factor = factor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        r = Signal(16)
        m.d.sync += r.eq(self.a * self._factor)
        m.d.comb += self.y.eq(r)
        return m


class _Chain(wiring.Component):
    a: In(8)
    y: Out(16)

    def __init__(self, factors):
        self._factors = factors
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        value = self.a
        for i, f in enumerate(self._factors):
            m.submodules[f"u{i}"] = u = _Scale(f)
            m.d.comb += u.a.eq(value)
            value = u.y[:8]
        m.d.comb += self.y.eq(value)
        return m


def _chain_verilog(factors):
    units = {f"u{i}": "scale" for i in range(len(factors))}
    return component_verilog(_Chain(factors), "top", units)


def test_identical_units_become_one_module_and_distinct_ones_stay_apart(need_yosys, tmp_path):
    # u0 is fed by a port and u1..u3 by their neighbours: Yosys names and orders their
    # statements differently, yet u0, u1 and u3 are the same unit.
    verilog = _chain_verilog([3, 3, 5, 3])
    assert re.findall(r"^module (\w+)", verilog, re.M) == ["top", "top_scale", "top_scale1"]
    assert len(re.findall(r"^\s*top_scale ", verilog, re.M)) == 3
    assert len(re.findall(r"^\s*top_scale1 ", verilog, re.M)) == 1
    # Yosys reads the merged design and finds every instance's ports on its module.
    (tmp_path / "t.v").write_text(verilog)
    yosys = find_yosys()[0]
    subprocess.run(
        [yosys, "-q", "-p", f"read_verilog {tmp_path / 't.v'}; hierarchy -check -top top"],
        check=True,
    )


def test_an_unknown_unit_is_refused():
    text = rtlil.convert(_Chain([3]), name="top", emit_src=False)
    with pytest.raises(ValueError, match="not submodules"):
        mark_units(text, "top", {"v0": "scale"})


def test_slice_lanes():
    assert [slice_lanes(k) for k in (256, 48, 24, 12, 8, 9, 4)] == [16, 16, 8, 4, 4, 0, 0]


@pytest.mark.parametrize("key", sorted(DESIGNS))
def test_hierarchical_verilog_keeps_one_module_per_distinct_unit(key):
    design = _design(key)
    _, modules, _ = DESIGNS[key]
    component = build_component(design, hierarchical=True)
    units = component.hierarchy_units
    Fragment.get(component, None)  # elaborated: not an unused elaboratable
    assert len(units) == sum(modules.values())
    rtl = generate_verilog(design, hierarchical=True)
    names = [f"{design.name}_{kind}" for kind in modules]
    assert rtl.manifest["hierarchy"] == sorted(names)
    for name, count in zip(names, modules.values()):
        assert len(re.findall(rf"^\s*{name} ", rtl.verilog, re.M)) == count
    # Verilator -Wall accepts it (the demo lints the hierarchical form it synthesizes).
    lint = lint_verilog(rtl.verilog, design.name, is_text=True)
    assert lint.ok, lint.warnings
    # The default form is flat, as before.
    assert re.findall(r"^module (\w+)", generate_verilog(design).verilog, re.M) == [design.name]


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
@pytest.mark.parametrize("key", sorted(DESIGNS))
def test_hierarchical_verilog_is_bit_exact(key, simulator, sim_build_root, request):
    if simulator == "icarus":
        request.getfixturevalue("need_iverilog")
    design = _design(key)
    gemm = DESIGNS[key][2]
    kwargs = {"gemm": gemm} if gemm else {"vectors": 300}
    report = simulate(
        design,
        hierarchical=True,
        simulator=simulator,
        random_init=simulator == "verilator",
        seed=11,
        build_root=sim_build_root,
        **kwargs,
    )
    assert report.passed and report.mismatches == 0 and report.cycle_mismatches == 0


@pytest.mark.parametrize("key", ["at_mac", "systolic_os_csa"])
def test_hierarchical_synthesis_matches_flat(key, need_yosys, need_sta, liberty, tmp_path):
    design = _design(key)
    flat = synthesize(design, liberty=liberty, workdir=tmp_path / "flat")
    hier = synthesize(design, liberty=liberty, workdir=tmp_path / "hier", hierarchical=True)
    assert any("hierarchical" in n for n in hier.notes)
    assert hier.sequential_cells == flat.sequential_cells
    assert hier.area == pytest.approx(flat.area, rel=0.03)
    assert hier.power_mw["total"] == pytest.approx(flat.power_mw["total"], rel=0.03)
    assert hier.critical_path_ns == pytest.approx(flat.critical_path_ns, rel=0.10)
    netlist = (tmp_path / "hier" / f"{design.name}_netlist.v").read_text()
    assert len(re.findall(r"^module ", netlist, re.M)) == 2


def test_hierarchical_synthesis_without_liberty(need_yosys, no_liberty_env):
    design = _design("at_mac")
    flat = synthesize(design, liberty="none")
    hier = synthesize(design, liberty="none", hierarchical=True)
    assert hier.area_unit == "GE" and hier.area == pytest.approx(flat.area, rel=0.03)


def test_hierarchical_flag_refuses_external_rtl(tmp_path, capsys):
    v = tmp_path / "t.v"
    v.write_text("module t(input a, output y); assign y = a; endmodule\n")
    assert main(["synth", "--verilog", str(v), "--top", "t", "--hierarchical"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--hierarchical" in err[0]
