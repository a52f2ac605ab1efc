"""Yosys synthesis and OpenSTA timing/power on the IHP SG13G2 liberty (and without one)."""

import pytest

from shiftadd.design import AdderTreeDesign
from shiftadd.errors import InputError
from shiftadd.models.cost import bill_of_materials, estimate
from shiftadd.rtl_gen.liberty import read_liberty
from shiftadd.rtl_gen.synth import synthesize

pytestmark = pytest.mark.synth

DESIGN = AdderTreeDesign(
    name="syn_xnor", mode="xnor", k=32, n=2, threshold=True, pipeline_stages=1, clock_ns=5.0
)


def test_liberty_flow_gives_area_timing_and_power(need_yosys, need_sta, liberty, tmp_path):
    r = synthesize(DESIGN, liberty=liberty, workdir=tmp_path)
    assert r.area_unit == "um^2" and r.area > 0 and r.cells > 0
    # the netlist has exactly the flip-flops the bill of materials counts
    flops = sum(i.count for i in bill_of_materials(DESIGN) if i.unit in ("dff", "dffe"))
    assert r.sequential_cells == flops == 169
    assert all(name.startswith("sg13g2_") for name in r.cell_types)
    assert 0 < r.critical_path_ns and r.fmax_mhz == pytest.approx(1000 / r.critical_path_ns)
    assert r.critical_path_ns == pytest.approx(DESIGN.clock_ns - r.slack_ns)
    p = r.power_mw
    assert p["total"] == pytest.approx(p["internal"] + p["switching"] + p["leakage"], rel=1e-3)
    assert r.energy_per_op_pj == pytest.approx(p["total"] * 5.0 / DESIGN.ops_per_cycle)
    assert (tmp_path / "sta.log").is_file() and (tmp_path / "syn_xnor_netlist.v").is_file()
    assert r.area_ge == pytest.approx(r.area / read_liberty(liberty).nand2_area())


def test_activity_changes_power(need_yosys, need_sta, liberty):
    quiet = synthesize(DESIGN, liberty=liberty, data_activity=0.0)
    busy = synthesize(DESIGN, liberty=liberty, data_activity=0.5)
    assert quiet.area == busy.area
    assert busy.power_mw["switching"] > 2 * quiet.power_mw["switching"]


def test_slower_clock_meets_timing(need_yosys, need_sta, liberty):
    r = synthesize(DESIGN, liberty=liberty, clock_ns=50.0)
    assert r.slack_ns > 0 and r.clock_ns == 50.0


def test_generic_gate_count_without_liberty(need_yosys, monkeypatch):
    monkeypatch.delenv("SHIFTADD_LIBERTY", raising=False)
    r = synthesize(DESIGN)
    assert r.area_unit == "GE" and r.area > 100 and r.liberty is None
    assert r.fmax_mhz is None and r.power_mw is None
    assert any("no liberty" in n for n in r.notes)
    assert "$_DFF_P_" in r.cell_types


def test_model_area_tracks_synthesis(need_yosys, need_sta, liberty):
    """The calibrated analytic area stays near the synthesized area (issue-7 tightens this
    into a generated validation table)."""
    for design in (
        DESIGN,
        AdderTreeDesign(name="syn_mac", mode="mac", k=8, n=2, pipeline_stages=1),
    ):
        r = synthesize(design, liberty=liberty, clock_ns=10.0)
        model = estimate(design, clock_ns=10.0)
        assert model.area == pytest.approx(r.area, rel=0.2)


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"liberty": "/nonexistent.lib"}, "--liberty"),
        ({"clock_ns": 0.0}, "--clock-ns"),
        ({"data_activity": 1.5}, "--activity"),
        ({"effort": "max"}, "--effort"),
    ],
)
def test_bad_arguments(need_yosys, kwargs, field):
    with pytest.raises(InputError) as info:
        synthesize(DESIGN, **kwargs)
    assert info.value.field == field
