"""Threshold-logic arrays on the IHP SG13G2 liberty: the neuron's characterization behind the
standard-cell preset, and the array's synthesis against its bill of materials."""

import pytest

from shiftadd.design.threshold import ThresholdDesign
from shiftadd.flows.threshold_cells import measure_cell
from shiftadd.models.cost import bill_of_materials, estimate
from shiftadd.models.threshold.cells import load_cell_presets
from shiftadd.rtl_gen.synth import synthesize

pytestmark = pytest.mark.synth


def test_standard_cell_preset_is_the_measured_neuron(need_yosys, need_sta, liberty):
    """The data file's standard-cell figures are what the measurement command produces."""
    m = measure_cell(liberty)
    preset = load_cell_presets()["standard_cell"]
    assert preset.weights == (2, 1, 1, 1)
    for key in ("area_um2", "energy_eval_pj", "energy_idle_pj", "delay_ns"):
        assert getattr(preset, key) == pytest.approx(m[key], rel=1e-6), key
    assert m["energy_eval_pj"] > m["energy_idle_pj"] > 0
    assert any(name.startswith("sg13g2_df") for name in m["cell_types"])  # its register


def test_array_synthesizes_with_the_modelled_flip_flops(need_yosys, need_sta, liberty):
    d = ThresholdDesign(name="syn_tl", k=16, pes=2, memory_bits=8, data_bits=4)
    r = synthesize(d, liberty=liberty)
    flops = sum(i.count for i in bill_of_materials(d) if i.unit in ("dff", "dffe"))
    neurons = d.pes * d.neurons  # each neuron holds its own output register
    assert r.sequential_cells == flops + neurons
    assert r.area == pytest.approx(estimate(d).area, rel=0.1)  # validation target
    assert 0 < r.critical_path_ns < d.clock_ns and r.power_mw["total"] > 0


def test_modelled_fanout_buffers_match_the_netlist(need_yosys, liberty):
    """The buffers the model prices on the array's broadcast nets (decoded selects shared by
    16 PEs, memory and data bits feeding every neuron input, the reset) are about the
    buffers ABC inserts."""
    from shiftadd.models.cost import buffers_per_net
    from shiftadd.models.threshold.cost import threshold_bom
    from shiftadd.models.units import load_unit_table
    from shiftadd.rtl_gen.liberty import read_liberty

    d = ThresholdDesign(name="syn_tl_fanout", k=16, pes=16, memory_bits=8, data_bits=4)
    r = synthesize(d, liberty=liberty)
    synthesized, _ = read_liberty(liberty).buffer_usage(r.cell_types)
    unit = load_unit_table("ihp-sg13g2")["fanout_buf"]
    modelled = sum(
        i.count * buffers_per_net(unit, i.bits) for i in threshold_bom(d) if i.unit == "fanout_buf"
    )
    assert synthesized > 300  # broadcast nets are buffered
    assert modelled == pytest.approx(synthesized, rel=0.2)
