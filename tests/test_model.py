import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.design import AdderTreeDesign
from shiftadd.errors import InputError
from shiftadd.models.cost import bill_of_materials, estimate
from shiftadd.models.cycles import gemm_cycles, gemm_cycles_batch, stream_output_cycles
from shiftadd.models.units import available_tables, load_unit_table


@given(st.integers(1, 300), st.integers(1, 300), st.integers(1, 2000),
       st.integers(1, 64), st.integers(1, 16), st.integers(0, 3))
@settings(max_examples=100, deadline=None)
def test_gemm_schedule_counts(m, n, k, hw_k, hw_n, stages):
    d = AdderTreeDesign(mode="mac", k=hw_k, n=hw_n,
                        pipeline_stages=min(stages, AdderTreeDesign(mode="mac", k=hw_k,
                                                                    n=hw_n).max_pipeline_stages))
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
    assert e.energy_per_cycle_pj == pytest.approx(sum(r["energy_per_cycle_pj"]
                                                      for r in e.breakdown))
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
    bad.write_text('[meta]\ndata_activity = 0.5\n[dff]\narea = 1.0\n')
    with pytest.raises(InputError, match="dff.energy_clock"):
        load_unit_table(bad)
