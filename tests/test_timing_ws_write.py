"""The row-decoded register write in the timing model: the weight-stationary array's
weight write (:mod:`shiftadd.models.grid.timing`), its delay unit
(:func:`shiftadd.models.timing.decoded_write`) and the calibration block that measures it."""

from __future__ import annotations

import copy

import pytest
from amaranth.hdl import Fragment

from shiftadd.design.systolic import SystolicDesign
from shiftadd.flows.calibrate import (
    DELAY_WRITE_BITS,
    DELAY_WRITE_MAX_BITS,
    DELAY_WRITE_ROWS,
    DecodedWrite,
    delay_blocks,
    fit_delays,
    isotonic,
)
from shiftadd.models.grid.timing import timing_paths
from shiftadd.models.timing import (
    critical_path,
    decoded_write,
    element_delay,
    has_delays,
    path_delay,
)
from shiftadd.models.units import UnitTable, load_unit_table


@pytest.fixture(scope="module")
def table():
    t = load_unit_table("ihp-sg13g2")
    if not has_delays(t) or "write" not in t["delay"]:
        pytest.skip("the installed ihp-sg13g2 unit table has no [delay.write] unit yet")
    return t


def _ws(**kw):
    base = {
        "rows": 4,
        "cols": 4,
        "mode": "mac",
        "act_bits": 2,
        "act_signed": True,
        "weight_bits": 4,
        "weight_signed": True,
        "acc_bits": 6,
        "wrap": True,
        "carry_save_accumulate": True,
        "dataflow": "ws",
    }
    base.update(kw)
    return SystolicDesign(**base)


def _write_path(design):
    (path,) = [p for p in timing_paths(design) if p.name.startswith("weight write")]
    return path


@pytest.mark.parametrize("rows,cols,wb", [(4, 4, 4), (6, 3, 2), (5, 4, 6), (2, 7, 3)])
def test_the_write_path_ends_in_the_row_decoded_write_of_a_weight_row(rows, cols, wb):
    d = _ws(rows=rows, cols=cols, weight_bits=wb, acc_bits=None, wrap=False)
    (write,) = [e for e in _write_path(d).elements if e.kind == "write"]
    assert write.get("rows") == rows and write.get("bits") == cols * wb
    # The unit runs into the register: nothing follows it.
    assert _write_path(d).elements[-1] == write


def test_a_single_row_has_no_decode():
    path = _write_path(_ws(rows=1, cols=5, mode="addsub", weight_bits=1, weight_signed=False))
    assert not [e for e in path.elements if e.kind == "write"]
    assert [e for e in path.elements if e.what == "row write enable net"]


def test_the_unit_hits_its_measured_points_and_grows_with_rows(table):
    w = table["delay"]["write"]
    for i, r in enumerate(w["rows"]):
        for j, b in enumerate(w["bits"]):
            if w["ns"][i][j] == w["ns"][i][j]:  # NaN: too large to measure
                assert element_delay(decoded_write(r, b, "x"), table["delay"]) == pytest.approx(
                    w["ns"][i][j]
                )
    for b in (5, 16, 40):
        rows = [element_delay(decoded_write(r, b, "x"), table["delay"]) for r in (2, 3, 5, 9, 17)]
        assert rows == sorted(rows)


def test_beyond_the_widest_measured_row_the_write_never_gets_faster(table):
    widest = table["delay"]["write"]["bits"][-1]
    ns = [element_delay(decoded_write(2, b, "x"), table["delay"]) for b in (widest, 3 * widest)]
    assert ns[1] >= ns[0] > 0


def test_a_table_without_the_unit_composes_it_from_gates_and_nets(table):
    units = copy.deepcopy(table.units)
    del units["delay"]["write"]
    old = UnitTable(name="no-write", meta=table.meta, units=units)
    composed = element_delay(decoded_write(4, 16, "x"), old["delay"])
    d = old["delay"]
    # write & decode (1 + 2 AND levels), the write net to 4 rows, 32 enable inputs, the mux.
    expected = 3 * d["gate"]["and2"] + d["gate"]["mux2"]
    assert composed > expected
    assert critical_path(_ws(), old).critical_path_ns > 0


def test_more_rows_never_make_the_write_faster(table):
    delay = table["delay"]
    ns = [path_delay(_write_path(_ws(rows=r)), delay) for r in (2, 3, 5, 9, 17)]
    assert ns == sorted(ns) and ns[-1] > ns[0]


def test_the_weight_write_is_the_critical_path_of_a_small_carry_save_array(table):
    # OpenSTA on the IHP netlist of this design (a random design of seed 20261208) puts the
    # worst path through the write decode into a weight register (2.27 ns); the PE's Booth
    # selectors and compressor level are shorter.
    report = critical_path(_ws(), table)
    assert report.path.startswith("weight write")
    assert 2.27 * 0.9 <= report.critical_path_ns <= 2.27 * 1.1


def test_calibration_measures_the_write_on_its_grid_and_pools_it_along_the_rows():
    labels = {b.label for b in delay_blocks() if b.label.startswith("delay_write")}
    assert labels == {
        f"delay_write{r}x{b}"
        for r in DELAY_WRITE_ROWS
        for b in DELAY_WRITE_BITS
        if r * b <= DELAY_WRITE_MAX_BITS
    }
    # A fit from made-up critical paths: every other block at a constant; the write
    # blocks dip at 12 bits (synthesis buffers that row's enables) and one 4-row cell is
    # slow (one unlucky mapping).
    cp = {b.label: 1.0 for b in delay_blocks()}
    cp.update({"dff_toggling": 0.25, "xnor2": 0.4, "xor2": 0.4, "and2": 0.35, "mux2": 0.45})
    cp.update({"csa": 0.6})
    cp.update({k: 1.0 for k in ("adder4", "adder8", "adder16", "adder32")})
    cp.update({f"fanout{f}": 0.5 for f in (4, 8, 12, 16, 24, 32, 48, 64, 128)})
    for r in DELAY_WRITE_ROWS:
        for b in DELAY_WRITE_BITS:
            cp[f"delay_write{r}x{b}"] = 1.0 + 0.1 * r - (0.3 if b == 12 else 0.0)
    cp["delay_write4x16"] += 0.6
    w = fit_delays(cp)["write"]
    assert w["rows"] == list(DELAY_WRITE_ROWS) and w["bits"] == list(DELAY_WRITE_BITS)
    j8, j12, j16 = (DELAY_WRITE_BITS.index(b) for b in (8, 12, 16))
    i2, i4 = (DELAY_WRITE_ROWS.index(r) for r in (2, 4))
    # The measured dip along the bits stays.
    assert w["ns"][i2][j12] == pytest.approx(w["ns"][i2][j8] - 0.3)
    # The slow cell is pooled with the next row counts (below its own measurement), not
    # carried into every larger one: the largest banks keep their measured delays.
    assert w["ns"][i4][j16] < 1.0 + 0.4 + 0.6 - 0.25 - 0.1
    assert w["ns"][i4 + 1][j16] > 1.0 + 0.1 * DELAY_WRITE_ROWS[i4 + 1] - 0.25
    assert w["ns"][-1][j16] == pytest.approx(1.0 + 0.1 * DELAY_WRITE_ROWS[-1] - 0.25)
    assert w["ns"][-1][j8] == pytest.approx(1.0 + 0.1 * DELAY_WRITE_ROWS[-1] - 0.25)
    for col in zip(*w["ns"]):
        measured = [v for v in col if v == v]
        assert measured == sorted(measured)
    # Cells beyond the measured register bits are left open (NaN).
    big = [b for b in DELAY_WRITE_BITS if DELAY_WRITE_ROWS[-1] * b > DELAY_WRITE_MAX_BITS]
    assert big
    assert all(v != v for v in w["ns"][-1][DELAY_WRITE_BITS.index(big[0]) :])


def test_isotonic_pools_a_dip_instead_of_carrying_the_maximum():
    assert list(isotonic([1.0, 3.0, 2.0, 4.0])) == [1.0, 2.5, 2.5, 4.0]
    assert list(isotonic([1.0, 2.0, 3.0])) == [1.0, 2.0, 3.0]
    assert list(isotonic([0.5, 1.9, 1.0, 1.1, 1.2])) == pytest.approx([0.5, 1.3, 1.3, 1.3, 1.3])


def test_the_calibration_block_decodes_the_row_index_itself():
    block = DecodedWrite(rows=5, bits=3)
    ports = {name: len(getattr(block, name)) for name in ("row", "valid", "ready", "data", "y")}
    assert ports == {"row": 3, "valid": 1, "ready": 1, "data": 3, "y": 15}
    # It elaborates (and so is used: no UnusedElaboratable warning).
    assert Fragment.get(block, None) is not None
