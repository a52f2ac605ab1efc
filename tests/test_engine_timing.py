"""Analytic timing of the shift-add engine and the threshold array
(:mod:`shiftadd.models.shiftadd.timing`, :mod:`shiftadd.models.threshold.timing`): every
register-to-register path is described, and the critical path responds to the structure
as it must (more pipeline registers never lengthen it; bigger tables, more terms and wider
data never shorten it)."""

from pathlib import Path

import pytest

from shiftadd.design import load_design
from shiftadd.design.shiftadd import ShiftAddDesign
from shiftadd.design.threshold import ThresholdDesign
from shiftadd.models.timing import TimingPath, critical_path, has_delays, timing_paths
from shiftadd.models.units import load_unit_table

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def table():
    t = load_unit_table("ihp-sg13g2")
    if not has_delays(t):
        pytest.skip("the ihp-sg13g2 unit table has no [delay] section yet (shiftadd calibrate)")
    return t


def cp(design, table) -> float:
    return critical_path(design, table).critical_path_ns


def shiftadd(**kw) -> ShiftAddDesign:
    params = {"mu": 3, "q": 2, "terms": 2, "shift_bits": 3, "act_bits": 6, "columns": 2}
    return ShiftAddDesign.from_dict({**params, **kw})


def threshold(**kw) -> ThresholdDesign:
    params = {"k": 20, "pes": 2, "neurons": 4, "memory_bits": 16, "data_bits": 4}
    return ThresholdDesign.from_dict({**params, **kw})


@pytest.mark.parametrize(
    "example", ["shiftadd_q3_mu4.toml", "shiftadd_q3_const.yaml", "threshold_k64.toml"]
)
def test_every_example_has_named_paths(example, table):
    design = load_design(EXAMPLES / example)
    paths = timing_paths(design)
    assert paths and all(isinstance(p, TimingPath) and p.elements for p in paths)
    assert len({p.name for p in paths}) == len(paths)
    report = critical_path(design, table)
    assert 0 < report.critical_path_ns < 20
    assert report.path in {p.name for p in paths}


def test_shiftadd_paths_cover_builder_stages_and_control():
    d = shiftadd(lut_slots=2, acc_groups=4, pipeline_stages=2)
    names = [p.name for p in timing_paths(d)]
    assert any(n.startswith("LUT builder") for n in names)
    stages = {n.split(" (")[0] for n in names if n.startswith("datapath stage")}
    assert stages == {f"datapath stage {i}" for i in (1, 2, 3)}
    for start in ("weight keys", "slot select", "shift amounts", "term signs"):
        assert any(n.endswith(f"from {start}") for n in names)
    assert any(n.startswith("load enable") for n in names)
    assert any(n.startswith("accumulator clear") for n in names)
    constant = [p.name for p in timing_paths(shiftadd(shifter="constant"))]
    assert not any("shift amounts" in n or "term signs" in n for n in constant)


def test_threshold_paths_cover_neurons_memory_and_emit():
    names = [p.name for p in timing_paths(threshold())]
    for part in ("source select -> neuron register", "emit", "memory store", "data load"):
        assert any(part in n for n in names)


@pytest.mark.parametrize(
    "base, datapath_bound",
    [
        ({"mu": 1, "q": 4, "terms": 4, "shift_bits": 5, "act_bits": 8}, True),
        ({"mu": 2, "q": 3, "terms": 3, "shifter": "constant", "acc_groups": 16}, True),
        # The LUT builder is not pipelined: with mu = 6 it bounds the clock at every depth.
        ({"mu": 6, "lut_slots": 3, "acc_groups": 8}, False),
    ],
)
def test_more_pipeline_stages_never_lengthen_the_critical_path(base, datapath_bound, table):
    design = shiftadd(**base)
    cps = [
        cp(design.replace(pipeline_stages=s), table) for s in range(design.max_pipeline_stages + 1)
    ]
    assert all(b <= a + 1e-9 for a, b in zip(cps, cps[1:])), cps
    assert (cps[-1] < cps[0]) == datapath_bound, cps


@pytest.mark.parametrize(
    "field, values",
    [
        ("mu", (1, 2, 4, 6, 8)),
        ("terms", (1, 2, 3, 4)),
        ("q", (1, 2, 3, 4)),
        ("act_bits", (2, 4, 8, 12, 16)),
        ("shift_bits", (1, 3, 5)),
        ("lut_slots", (1, 2, 4, 8)),
    ],
)
def test_bigger_shiftadd_never_has_a_shorter_critical_path(field, values, table):
    cps = [cp(shiftadd(**{field: v}), table) for v in values]
    assert all(b >= a - 1e-9 for a, b in zip(cps, cps[1:])), (field, cps)
    assert cps[-1] > cps[0]


@pytest.mark.parametrize(
    "field, values",
    [
        ("data_bits", (1, 4, 16, 64)),
        ("memory_bits", (16, 64, 256)),
        ("pes", (1, 4, 16, 64)),
        ("neurons", (4, 8, 16)),
        ("neuron_weights", ((2, 1, 1, 1), (2, 1, 1, 1, 1), (4, 2, 1, 1, 1, 1, 1))),
    ],
)
def test_wider_threshold_arrays_never_have_a_shorter_critical_path(field, values, table):
    cps = [cp(threshold(**{field: v}), table) for v in values]
    assert all(b >= a - 1e-9 for a, b in zip(cps, cps[1:])), (field, cps)
    assert cps[-1] > cps[0]
