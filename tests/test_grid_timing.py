"""The grid engines' analytic timing model (:mod:`shiftadd.models.grid.timing`)."""

from __future__ import annotations

import itertools

import pytest

from shiftadd.design.matrix2d import Matrix2DDesign
from shiftadd.design.systolic import SystolicDesign
from shiftadd.models.grid.timing import timing_paths
from shiftadd.models.timing import critical_path, element_delay, has_delays, path_delay
from shiftadd.models.units import load_unit_table

MODES = ("mac", "addsub", "ternary")


@pytest.fixture(scope="module")
def table():
    t = load_unit_table("ihp-sg13g2")
    if not has_delays(t):
        pytest.skip("the installed ihp-sg13g2 unit table has no [delay] section yet")
    return t


def _grid(cls, **kw):
    base = {"rows": 3, "cols": 4, "act_bits": 6}
    base.update(kw)
    if base.get("mode", "mac") == "mac":
        base.setdefault("weight_bits", 5)
    return cls(**base)


def _designs():
    out = []
    for mode, cs, signed in itertools.product(MODES, (False, True), (False, True)):
        for dataflow in ("os", "ws"):
            out.append(
                _grid(
                    SystolicDesign,
                    mode=mode,
                    carry_save_accumulate=cs,
                    act_signed=signed,
                    dataflow=dataflow,
                )
            )
        out.append(_grid(Matrix2DDesign, mode=mode, carry_save_accumulate=cs, act_signed=signed))
    # Edge shapes: a single PE, a single row or column, a wrapped accumulator.
    out += [
        _grid(SystolicDesign, rows=1, cols=1),
        _grid(SystolicDesign, rows=1, cols=5, dataflow="ws"),
        _grid(Matrix2DDesign, rows=5, cols=1, mode="addsub"),
        _grid(SystolicDesign, dataflow="ws", acc_bits=11, wrap=True),
    ]
    return out


DESIGNS = _designs()


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: f"{d.arch}-{getattr(d, 'dataflow', '')}")
def test_paths_exist_for_every_mode_and_dataflow(design):
    paths = timing_paths(design)
    names = [p.name for p in paths]
    assert len(names) == len(set(names))
    assert any(n.startswith("PE ") for n in names)
    assert any(n.startswith("advance") for n in names)
    assert all(p.elements for p in paths)
    if design.carry_save_accumulate:
        assert any("carry-propagate adder" in n for n in names)
    if design.is_output_stationary:
        assert any("drain shift" in n for n in names)
    else:
        assert any("weight write" in n for n in names)


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: f"{d.arch}-{d.mode}")
def test_every_element_has_a_positive_delay(design, table):
    delay = table["delay"]
    for path in timing_paths(design):
        for element in path.elements:
            assert element_delay(element, delay) > 0, (path.name, element)


def _cp(design, table) -> float:
    return critical_path(design, table).critical_path_ns


@pytest.mark.parametrize("dataflow", ["os", "ws"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cs", [False, True])
def test_wider_operands_are_not_faster(table, dataflow, mode, cs):
    last = 0.0
    for bits in (2, 4, 6, 8):
        kw = {"act_bits": bits, "mode": mode, "carry_save_accumulate": cs, "dataflow": dataflow}
        if mode == "mac":
            kw["weight_bits"] = bits
        cp = _cp(_grid(SystolicDesign, **kw), table)
        assert cp >= last - 1e-9, (bits, cp, last)
        last = cp


def test_wider_accumulator_is_not_faster(table):
    last = 0.0
    for k_max in (4, 64, 1024, 65536):
        cp = _cp(_grid(SystolicDesign, act_bits=8, weight_bits=8, k_max=k_max), table)
        assert cp >= last - 1e-9
        last = cp


@pytest.mark.parametrize("cls", [SystolicDesign, Matrix2DDesign])
@pytest.mark.parametrize("k_max", [1024, 4096, 1 << 20])
def test_carry_save_accumulate_is_not_slower_for_wide_accumulators(table, cls, k_max):
    kw = {"rows": 8, "cols": 8, "act_bits": 8, "weight_bits": 8, "k_max": k_max}
    plain = _cp(_grid(cls, **kw), table)
    carry_save = _cp(_grid(cls, carry_save_accumulate=True, **kw), table)
    assert carry_save <= plain


def _broadcast_ns(design, table) -> float:
    delay = table["delay"]
    return max(
        delay["reg"] + path_delay(p, delay)
        for p in timing_paths(design)
        if "activation register" in p.name
    )


@pytest.mark.parametrize("mode", MODES)
def test_matrix2d_more_columns_longer_broadcast(table, mode):
    narrow = _broadcast_ns(_grid(Matrix2DDesign, mode=mode, act_bits=8, cols=2), table)
    wide = _broadcast_ns(_grid(Matrix2DDesign, mode=mode, act_bits=8, cols=32), table)
    assert wide > narrow


def test_systolic_operands_do_not_broadcast(table):
    # A systolic PE passes its activation on: the column count does not load the net.
    narrow = _broadcast_ns(_grid(SystolicDesign, cols=2), table)
    wide = _broadcast_ns(_grid(SystolicDesign, cols=32), table)
    assert wide == pytest.approx(narrow)


def test_longer_drain_column_is_slower(table):
    def drain(rows):
        design = _grid(SystolicDesign, mode="addsub", act_bits=3, rows=rows, cols=4, k_max=16)
        delay = table["delay"]
        (path,) = [p for p in timing_paths(design) if p.name.startswith("drain shift")]
        return path_delay(path, delay)

    assert drain(12) > drain(4) > drain(2)


def test_family_registers_the_model(table):
    for design in (_grid(SystolicDesign), _grid(Matrix2DDesign)):
        report = critical_path(design, table)
        assert report.critical_path_ns > table["delay"]["reg"]
        assert report.path in {p.name for p in timing_paths(design)}
