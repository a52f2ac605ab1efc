"""Gate-level simulation pieces: liberty functions as Verilog, SAIF reading, STA annotation,
and the model-fidelity check that uses them."""

from __future__ import annotations

import itertools
import re

import pytest

from shiftadd.design import AdderTreeDesign, load_design
from shiftadd.errors import InputError, ToolError
from shiftadd.rtl_gen.activity import read_saif, sta_annotation
from shiftadd.rtl_gen.cells import cell_models, liberty_expr_to_verilog


def _eval_verilog(expr: str, **bits: int) -> int:
    """Evaluate a translated expression on single bits. Python's ~ & ^ | are bitwise with
    Verilog's precedence order, and bit 0 of the result is the one-bit result."""
    py = expr.replace("1'b0", "0").replace("1'b1", "1")
    return eval(py, {}, bits) & 1  # noqa: S307  (test-only, generated text)


@pytest.mark.parametrize(
    "expr,truth",
    [
        ("A*B", lambda A, B, C: A & B),
        ("A B + C", lambda A, B, C: (A & B) | C),
        ("!(A+B)", lambda A, B, C: 1 - (A | B)),
        ("A'+B", lambda A, B, C: (1 - A) | B),
        ("A^B C", lambda A, B, C: (A ^ B) & C),  # ^ binds tighter than AND in liberty
        ("(A^B)^C", lambda A, B, C: A ^ B ^ C),
        ("!A&!B|C", lambda A, B, C: ((1 - A) & (1 - B)) | C),
        ("(A*B)+(A*C)+(B*C)", lambda A, B, C: int(A + B + C >= 2)),
    ],
)
def test_liberty_functions_translate_exactly(expr, truth):
    verilog = liberty_expr_to_verilog(expr)
    for A, B, C in itertools.product((0, 1), repeat=3):
        assert _eval_verilog(verilog, A=A, B=B, C=C) == truth(A, B, C), (expr, verilog, A, B, C)


@pytest.mark.parametrize("bad", ["A*", "(A+B", "A # B", "A+)"])
def test_untranslatable_functions_are_errors(bad):
    with pytest.raises(ToolError):
        liberty_expr_to_verilog(bad)


def test_cell_models_cover_combinational_and_flip_flops(liberty):
    text = cell_models(liberty, ["sg13g2_nand2_1", "sg13g2_dfrbp_1", "sg13g2_xor2_1"])
    assert text.count("endmodule") == 3
    assert "module sg13g2_dfrbp_1" in text and "posedge CLK" in text
    assert "negedge RESET_B" in text  # asynchronous active-low reset
    with pytest.raises(ToolError, match="not in"):
        cell_models(liberty, ["no_such_cell"])


SAIF = """(SAIFILE
(SAIFVERSION "2.0")
(DIRECTION "backward")
(DESIGN "x")
(TIMESCALE 1ps)
(DURATION 100000)
(INSTANCE shiftadd_harness
  (INSTANCE dut
    (NET
      (a\\[0\\] (T0 50000) (T1 50000) (TZ 0) (TC 5))
      (b (T0 100000) (T1 0) (TZ 0) (TC 0))
    )
    (INSTANCE _12_
      (NET (Y (T0 25000) (T1 75000) (TC 2)))
    )
  )
  (NET (clk (T0 50000) (T1 50000) (TC 20)))
)
)
"""


def test_saif_rates_are_per_cycle_and_scoped(tmp_path):
    path = tmp_path / "a.saif"
    path.write_text(SAIF)
    act = read_saif(path, clock_ns=10.0)
    assert act.cycles == pytest.approx(10.0)  # 100 ns at 10 ns
    assert act.nets["a[0]"] == pytest.approx((0.5, 0.5))
    assert act.nets["b"] == (0.0, 0.0)
    assert act.nets["_12_/Y"] == pytest.approx((0.2, 0.75))
    assert "clk" not in act.nets  # outside the DUT's scope
    tcl = sta_annotation(act, ["a"])
    assert "set_power_activity -input_ports [get_ports {a[0]}] -activity 0.5" in tcl
    assert "{_12_/Y} 0.2 0.75" in tcl
    (tmp_path / "bad.saif").write_text("(NOTSAIF)")
    with pytest.raises(ValueError, match="not a SAIF"):
        read_saif(tmp_path / "bad.saif")


def test_validation_needs_a_liberty(monkeypatch):
    from shiftadd.flows.validate import validate_design

    monkeypatch.delenv("SHIFTADD_LIBERTY", raising=False)
    with pytest.raises(InputError, match="liberty"):
        validate_design(AdderTreeDesign(name="v", mode="xnor", k=8, n=2), liberty=None)


def test_validation_of_a_small_array(liberty, need_yosys, need_sta, tmp_path):
    """Cycles exact; the gate-level netlist passes the golden model; every pin annotated;
    the model's area and energy near synthesis and OpenSTA."""
    from shiftadd.flows.validate import validate_design

    design = AdderTreeDesign(name="val_xnor", mode="xnor", k=32, n=4, pipeline_stages=1)
    row = validate_design(design, liberty=liberty, workdir=tmp_path / "w")
    assert row.rtl_passed and row.gate_level_passed
    assert row.cycles_error == 0 and row.cycles_sim > 256
    assert row.annotated_pins > 100
    assert abs(row.area_error) <= 0.10, row.to_dict()
    assert abs(row.energy_error) <= 0.25, row.to_dict()


def test_calibration_blocks_measured_with_simulated_activity(
    liberty, need_yosys, need_sta, tmp_path
):
    """One gate-level simulation for several blocks; their power follows their activity."""
    from shiftadd.flows.calibrate import CalibrationBlock, measure_blocks
    from shiftadd.hw.calibration import Adder, Register

    planned = [
        CalibrationBlock("cal_adder8", lambda: Adder(width=8), 0.5),
        CalibrationBlock("cal_reg_toggling", lambda: Register(width=16, enable=False), 0.5),
        CalibrationBlock("cal_reg_held", lambda: Register(width=16, enable=False), 0.0),
    ]
    got = measure_blocks(planned, liberty=liberty, workdir=tmp_path)
    assert set(got) == {b.label for b in planned}
    assert got["cal_adder8"]["area"] > 0 and got["cal_adder8"]["energy"] > 0
    # Same netlist, data held vs toggling: clock energy only vs clock and data energy.
    held, toggling = got["cal_reg_held"], got["cal_reg_toggling"]
    assert held["seq_area"] == toggling["seq_area"]
    assert 0 < held["seq_energy"] < toggling["seq_energy"]
    # Every block's power came from the simulation (OpenSTA's log says how many pins).
    for label in got:
        log = (tmp_path / label / "sta.log").read_text()
        annotated = int(re.search(r"annotated (\d+) pins", log).group(1))
        assert annotated > 10, label


def test_validation_report_reuses_measurements_and_recomputes_the_model(tmp_path, monkeypatch):
    """A rerun keeps the measured columns of unchanged designs (same emitted Verilog, GEMM,
    liberty, tools) and recomputes the model's columns; a changed GEMM or Verilog is measured
    again."""
    import json

    from shiftadd.flows import validate as validation
    from shiftadd.models.cost import cost_terms
    from shiftadd.models.timing import critical_path_ns
    from shiftadd.rtl_gen.emit import generate_verilog

    lib = tmp_path / "cells.lib"
    lib.write_text("library (x) { }\n")
    design_file = tmp_path / "d.toml"
    design_file.write_text('arch = "adder_tree"\nname = "re"\nmode = "xnor"\nk = 16\nn = 2\n')
    measured = []

    def fake_validate(design, *, liberty, source=""):
        measured.append(design.name)
        return validation.ValidationRow(
            design=design.name,
            arch=design.arch,
            source=source,
            gemm=tuple(validation.validation_gemm(design)),
            design_hash=design.design_hash,
            rtl_passed=True,
            cycles_model=100,
            cycles_sim=100,
            area_model_um2=1.0,
            area_synth_um2=2000.0,
            energy_model_pj=1.0,
            energy_sta_pj=50.0,
            gate_level_passed=True,
            simulated_cycles=120.0,
            annotated_pins=10,
            clock_ns=10.0,
            seconds=1.0,
            critical_path_sta_ns=4.0,
        )

    monkeypatch.setattr(validation, "validate_design", fake_validate)
    out = tmp_path / "v.json"
    validation.validation_report([design_file], liberty=lib, out_json=out)
    assert measured == ["re"]
    first = json.loads(out.read_text())["rows"][0]
    assert first["area_model_um2"] == 1.0  # as the (fake) measurement returned it
    # Stale model columns in the file: the rerun measures nothing and recomputes them.
    rows = validation.validation_report([design_file], liberty=lib, out_json=out)
    assert measured == ["re"]
    design = load_design(design_file)
    assert rows[0].area_synth_um2 == 2000.0 and rows[0].energy_sta_pj == 50.0
    assert rows[0].critical_path_sta_ns == 4.0
    assert rows[0].critical_path_model_ns == pytest.approx(critical_path_ns(design))
    assert rows[0].area_model_um2 == pytest.approx(cost_terms(design).area)
    assert rows[0].energy_model_pj == pytest.approx(
        validation.model_energy_pj(
            design, rows[0].gemm, 100, 120.0, 10.0, validation.MODEL_DATA_ACTIVITY
        )
    )
    # A row measured on another GEMM is measured again.
    data = json.loads(out.read_text())
    data["rows"][0]["gemm"] = [1, 2, 3]
    out.write_text(json.dumps(data))
    validation.validation_report([design_file], liberty=lib, out_json=out)
    assert measured == ["re", "re"]
    # The same design parameters with other hardware (a generator changed): measured again.
    data = json.loads(out.read_text())
    assert data["rows"][0]["rtl_sha256"] == generate_verilog(design).body_sha256
    data["rows"][0]["rtl_sha256"] = "0" * 64
    out.write_text(json.dumps(data))
    validation.validation_report([design_file], liberty=lib, out_json=out)
    assert measured == ["re", "re", "re"]


def test_fanout_calibration_counts_the_buffers_synthesis_inserts(
    liberty, need_yosys, need_sta, tmp_path
):
    """Fan-out blocks: no buffer on nets of 4 loads, more on 32 than on 16; the unit built
    from them prices a buffer at a buffer cell's area and interpolates its measurements."""
    from shiftadd.flows.calibrate import FANOUT_NETS, CalibrationBlock, fanout_unit, measure_blocks
    from shiftadd.hw.calibration import Fanout
    from shiftadd.models.cost import buffers_per_net
    from shiftadd.rtl_gen.liberty import read_liberty

    fanouts = (4, 16, 32)
    planned = [
        CalibrationBlock(f"fo{f}", lambda f=f: Fanout(nets=FANOUT_NETS, loads=f)) for f in fanouts
    ]
    got = measure_blocks(planned, liberty=liberty, workdir=tmp_path)
    counts = [got[f"fo{f}"]["buffers"] for f in fanouts]
    assert counts[0] == 0 < counts[1] < counts[2]
    unit = fanout_unit({f: got[f"fo{f}"] for f in fanouts})
    assert unit["area"] in {c.area for c in read_liberty(liberty).buffers()}
    assert unit["energy"] > 0
    for f, n in zip(fanouts, counts):
        assert buffers_per_net(unit, f) == pytest.approx(n / FANOUT_NETS)


def test_validation_in_worker_processes_keeps_the_order(liberty, need_yosys, need_sta, tmp_path):
    """``jobs = 2`` measures two designs in two processes; the rows come back in the order
    given, measured as in one process, and a rerun reuses them without measuring."""
    import json

    from shiftadd.flows.validate import validation_report

    files = []
    for name, k, n in (("jobs_b", 8, 1), ("jobs_a", 4, 2)):
        f = tmp_path / f"{name}.toml"
        f.write_text(f'arch = "adder_tree"\nname = "{name}"\nmode = "xnor"\nk = {k}\nn = {n}\n')
        files.append(f)
    out = tmp_path / "v.json"
    rows = validation_report(files, liberty=liberty, out_json=out, jobs=2)
    assert [r.design for r in rows] == ["jobs_b", "jobs_a"]
    assert all(r.rtl_passed and r.gate_level_passed and r.cycles_error == 0 for r in rows)
    data = json.loads(out.read_text())
    assert data["pending"] == 0 and not data["failures"]
    assert [r["design"] for r in data["rows"]] == ["jobs_b", "jobs_a"]
    again = validation_report(files, liberty=liberty, out_json=out, jobs=2)
    assert [r.seconds for r in again] == [r.seconds for r in rows]
    with pytest.raises(InputError, match="jobs"):
        validation_report(files, liberty=liberty, jobs=0)
