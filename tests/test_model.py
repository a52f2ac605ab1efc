import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.design import AdderTreeDesign
from shiftadd.errors import InputError
from shiftadd.models.adder_tree.cycles import stream_output_cycles
from shiftadd.models.cost import bill_of_materials, estimate
from shiftadd.models.cycles import gemm_cycles, gemm_cycles_batch
from shiftadd.models.units import available_tables, load_unit_table


@given(
    st.integers(1, 300),
    st.integers(1, 300),
    st.integers(1, 2000),
    st.integers(1, 64),
    st.integers(1, 16),
    st.integers(0, 3),
)
@settings(max_examples=100, deadline=None)
def test_gemm_schedule_counts(m, n, k, hw_k, hw_n, stages):
    d = AdderTreeDesign(
        mode="mac",
        k=hw_k,
        n=hw_n,
        pipeline_stages=min(
            stages, AdderTreeDesign(mode="mac", k=hw_k, n=hw_n).max_pipeline_stages
        ),
    )
    g = gemm_cycles(d, m, n, k)
    k_tiles, n_tiles = math.ceil(k / hw_k), math.ceil(n / hw_n)
    assert g.tiles == k_tiles * n_tiles
    assert g.transfers == k_tiles * n + g.tiles * m
    assert g.cycles == g.transfers + d.latency
    assert 0 < g.utilization <= 1
    batch = gemm_cycles_batch(d, np.array([m, 1]), np.array([n, 1]), np.array([k, 1]))
    assert batch["cycles"][0] == g.cycles


def test_full_rate_outputs_follow_latency():
    d = AdderTreeDesign(k=8, pipeline_stages=2)
    assert stream_output_cycles(d, np.array([0, 1, 5])).tolist() == [4, 5, 9]


def test_gemm_rejects_bad_dimensions():
    with pytest.raises(InputError, match="gemm.K"):
        gemm_cycles(AdderTreeDesign(), 4, 4, 0)


def test_bill_of_materials_counts():
    d = AdderTreeDesign(mode="xnor", k=64, n=4)
    items = {i.part: i for i in bill_of_materials(d)}
    assert items["lane XNORs"].count == 256
    assert items["weight registers"].count == 256 and not items["weight registers"].active
    assert items["adder trees"].count == 4 * 63
    assert items["input register"].count == 65
    assert items["output register"].count == 4 * 7 + 1


def test_estimate_adds_up():
    d = AdderTreeDesign(mode="addsub", k=32, n=4, threshold=True, pipeline_stages=2)
    e = estimate(d)
    assert e.area == pytest.approx(sum(r["area"] for r in e.breakdown))
    assert e.energy_per_cycle_pj == pytest.approx(
        sum(r["energy_per_cycle_pj"] for r in e.breakdown)
    )
    assert e.energy_per_op_pj == pytest.approx(e.energy_per_cycle_pj / d.ops_per_cycle)
    assert e.tops_per_watt == pytest.approx(1 / e.energy_per_op_pj)
    # more data activity costs more energy, never less
    assert estimate(d, data_activity=0.1).energy_per_cycle_pj < e.energy_per_cycle_pj


def test_binary_arithmetic_is_cheaper_per_op_than_multiplying():
    xnor = estimate(AdderTreeDesign(mode="xnor", k=256, n=4))
    mac = estimate(AdderTreeDesign(mode="mac", k=256, n=4))
    assert xnor.energy_per_op_pj < mac.energy_per_op_pj / 5
    assert xnor.area < mac.area / 5


def test_unit_tables():
    assert "ihp-sg13g2" in available_tables()
    t = load_unit_table("ihp-sg13g2")
    assert t.meta["liberty"].startswith("sg13g2") and t.calibration_activity == 0.5
    with pytest.raises(InputError, match="--units"):
        load_unit_table("nope")


def test_unit_table_validation(tmp_path):
    bad = tmp_path / "t.toml"
    bad.write_text("[meta]\ndata_activity = 0.5\n[dff]\narea = 1.0\n")
    with pytest.raises(InputError, match="dff.energy_clock"):
        load_unit_table(bad)


def test_fanout_buffers_follow_the_calibrated_points():
    """Buffers per net: none below the first measured fan-out, the measured values at the
    measured fan-outs, linear in between and one per ``loads_per_buffer`` beyond."""
    from shiftadd.models.cost import buffers_per_net

    unit = {
        "fanouts": [4, 8, 16, 32],
        "buffers_per_net": [0.0, 0.0, 1.0, 3.0],
        "loads_per_buffer": 8.0,
    }
    assert buffers_per_net(unit, 2) == 0.0
    assert buffers_per_net(unit, 8) == 0.0
    assert buffers_per_net(unit, 12) == pytest.approx(0.5)
    assert buffers_per_net(unit, 32) == pytest.approx(3.0)
    assert buffers_per_net(unit, 48) == pytest.approx(5.0)
    got = buffers_per_net(unit, np.array([8, 16, 48]))
    assert np.allclose(got, [0.0, 1.0, 5.0])
    # The calibrated table: a net of fan-out 4 is left alone, one of 594 (a reset) is not.
    fo = load_unit_table("ihp-sg13g2")["fanout_buf"]
    assert buffers_per_net(fo, 4) == 0.0 and 40 < buffers_per_net(fo, 594) < 100


def test_unit_table_rejects_bad_fanout_points(tmp_path):
    import tomli_w

    t = load_unit_table("ihp-sg13g2")
    units = {k: dict(v) for k, v in t.units.items()}
    units["fanout_buf"]["buffers_per_net"] = units["fanout_buf"]["buffers_per_net"][:-1]
    bad = tmp_path / "t.toml"
    bad.write_text(tomli_w.dumps({"meta": t.meta, **units}))
    with pytest.raises(InputError, match="fanout_buf.fanouts"):
        load_unit_table(bad)
    units = {k: dict(v) for k, v in t.units.items()}
    units["fanout_buf"]["loads_per_buffer"] = 0.0
    bad.write_text(tomli_w.dumps({"meta": t.meta, **units}))
    with pytest.raises(InputError, match="fanout_buf.loads_per_buffer"):
        load_unit_table(bad)


def test_threshold_array_prices_buffers_on_its_broadcast_nets():
    """The instruction's decoded selects drive every PE: with 16 PEs they are buffered, with
    4 not; a PE's memory bits feed every neuron input whatever the PE count."""
    from shiftadd.design.threshold import ThresholdDesign
    from shiftadd.models.cost import price
    from shiftadd.models.threshold.cost import threshold_bom, threshold_fanout_nets

    table = load_unit_table("ihp-sg13g2")

    def buffer_area(design, part):
        return sum(
            price(i, table)[0]
            for i in threshold_bom(design)
            if i.unit == "fanout_buf" and part in i.part
        )

    small = ThresholdDesign(name="fo4", k=64, pes=4, memory_bits=16)
    large = small.replace(name="fo16", pes=16)
    nets = {name: (n, f) for name, n, f, _ in threshold_fanout_nets(large)}
    assert nets["one-hot source selects"] == (17 * large.sources, 16)
    assert nets["local memory bits"] == (16 * 16, 4 * 4 + 2)
    assert buffer_area(small, "selects") == 0 < buffer_area(large, "selects")
    per_pe = buffer_area(large, "memory bits") / 16
    assert per_pe == pytest.approx(buffer_area(small, "memory bits") / 4) and per_pe > 0
