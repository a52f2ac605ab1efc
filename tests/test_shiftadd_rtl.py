"""Generated Verilog of the shift-add engine: lint-clean under verilator -Wall, manifest."""

import json

import pytest

from shiftadd.design import ShiftAddDesign, load_design
from shiftadd.rtl_gen.emit import generate_verilog, write_rtl
from shiftadd.rtl_gen.lint import lint_verilog

LINT_CASES = [
    dict(mu=1, q=1, terms=1, shift_bits=1, act_bits=2, columns=1),
    dict(mu=2, q=2, terms=2, shift_bits=2, act_bits=4, columns=2),
    dict(mu=4, q=3, terms=3, columns=4, lut_slots=2, pipeline_stages=2),
    dict(
        mu=3,
        q=4,
        terms=4,
        shift_bits=5,
        act_bits=16,
        columns=6,
        scale_rows=3,
        lut_slots=3,
        acc_groups=7,
        pipeline_stages=5,
    ),
    dict(mu=8, q=2, terms=1, columns=2, pipeline_stages=1),
    dict(
        mu=4,
        q=3,
        terms=2,
        shifter="constant",
        const_shifts=[[3, 1], [2, 0], [0, 0]],
        const_signs=[[1, -1], [1, 1], [-1, 0]],
        columns=3,
        lut_slots=2,
    ),
    dict(mu=5, q=2, terms=1, shifter="constant", columns=2, act_bits=6),
]


@pytest.mark.parametrize(
    "params", LINT_CASES, ids=lambda p: "-".join(f"{k}{v}" for k, v in list(p.items())[:6])
)
def test_generated_verilog_is_lint_clean(params):
    design = ShiftAddDesign(name="sa_lint", **params)
    rtl = generate_verilog(design)
    result = lint_verilog(rtl.verilog, design.name, is_text=True)
    assert result.ok, result.warnings[:5]


def test_manifest_describes_streams(tmp_path):
    design = ShiftAddDesign(name="sa_manifest", mu=4, q=3, terms=3, columns=4, lut_slots=2)
    v_path, j_path = write_rtl(design, tmp_path)
    manifest = json.loads(j_path.read_text())
    assert "module sa_manifest(" in v_path.read_text()
    assert manifest["arch"] == "shiftadd" and manifest["latency_cycles"] == 2
    streams = manifest["streams"]
    assert set(streams) == {"act", "weights", "result"}
    act = [f["name"] for f in streams["act"]["payload"]["fields"]]
    weights = {f["name"]: f for f in streams["weights"]["payload"]["fields"]}
    assert act == ["slot", "values"]
    assert list(weights) == ["slot", "last", "keys", "shifts", "signs"]
    assert weights["keys"]["length"] == 4 * 3 and weights["keys"]["element"]["width"] == 4
    assert weights["shifts"]["length"] == 3 * 3
    assert streams["weights"]["payload"]["width"] == design.weight_transfer_bits
    result = streams["result"]["payload"]
    assert result["length"] == 4 and result["element"]["width"] == design.acc_width


def test_constant_scales_carry_no_scale_fields():
    design = ShiftAddDesign(mu=4, q=2, terms=1, shifter="constant", columns=2)
    fields = generate_verilog(design).manifest["streams"]["weights"]["payload"]["fields"]
    assert [f["name"] for f in fields] == ["keys"]  # one slot, no accumulation
    assert design.scale_bits_per_transfer == 0


@pytest.mark.parametrize(
    "path",
    [
        "examples/shiftadd_q3_mu4.toml",
        "examples/shiftadd_q2_mu8_pow2.toml",
        "examples/shiftadd_q3_const.yaml",
    ],
)
def test_example_design_files_load(path):
    """The examples load and build their interface (their constructs are linted above)."""
    from pathlib import Path

    from shiftadd.rtl_gen.emit import generate_verilog

    design = load_design(Path(__file__).resolve().parent.parent / path)
    assert isinstance(design, ShiftAddDesign)
    assert set(generate_verilog(design).streams) == {"act", "weights", "result"}
