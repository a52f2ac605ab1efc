"""Structure the grid and cube cost and timing models take from the RTL: shared compressor
cells over sign extensions, carry-save partial-sum registers as the RTL declares them,
shared enable gates, the accumulator's upper bits in a merged multiply-accumulate."""

from __future__ import annotations

import re

import pytest

from shiftadd.design.cube import CubeDesign
from shiftadd.design.matrix2d import Matrix2DDesign
from shiftadd.design.systolic import SystolicDesign, plan_csa
from shiftadd.models.cube.timing import timing_paths as cube_timing_paths
from shiftadd.models.grid.cost import (
    bill_of_materials,
    booth_digit_gates,
    booth_row_bits,
    carry_save_chain,
    compressor_cells,
)
from shiftadd.models.grid.timing import (
    advance_loads,
    incrementer_levels,
    pe_elements,
    timing_paths,
)
from shiftadd.models.timing import has_delays, path_delay
from shiftadd.models.units import load_unit_table
from shiftadd.rtl_gen.emit import generate_verilog


@pytest.fixture(scope="module")
def delay():
    t = load_unit_table("ihp-sg13g2")
    if not has_delays(t):
        pytest.skip("the installed ihp-sg13g2 unit table has no [delay] section yet")
    return t["delay"]


def _psum_widths(design) -> dict[str, int]:
    """Bits of every partial-sum register the emitted Verilog declares."""
    text = generate_verilog(design).verilog
    found = re.finditer(r"reg\s*(?:\[(\d+):0\])?\s*\\?(pe[\d_]+_psum)\b", text)
    return {m.group(2): int(m.group(1) or 0) + 1 for m in found}


def test_identical_sign_rows_share_one_full_adder():
    # Three rows, all of them one sign wire above bit 1: one full adder serves every
    # upper position; a mask count would have one per position.
    rows = [[("r", j, 0), ("r", j, 1)] + [("r", j, 1)] * 6 for j in range(3)]
    plan = plan_csa(3, 0)
    full, half, (s, c) = compressor_cells(rows, plan, 8)
    assert (full, half) == (2, 0)
    assert len({v for v in s[1:]}) == 1


def test_unsigned_top_booth_digit_is_not_sign_extended():
    # An unsigned activation's top digit is never negative: its row (times an unsigned
    # weight) has nothing above its top bit.
    d = SystolicDesign(
        name="t", rows=2, cols=2, mode="mac", act_bits=6, act_signed=False, weight_bits=2,
        weight_signed=False,
        k_max=111, carry_save_accumulate=True,
    )  # fmt: skip
    rows = booth_row_bits(d)
    assert len(rows) == d.booth_digits
    top = rows[-1]
    assert top[-1] is None and top[2 * (len(rows) - 1)] is not None
    assert all(v is not None for v in rows[0])  # signed rows extend to the top


@pytest.mark.parametrize(
    "design",
    [
        SystolicDesign(
            name="ws_booth", rows=3, cols=2, mode="mac", act_bits=5, act_signed=True,
            weight_bits=2, acc_bits=8, wrap=True, carry_save_accumulate=True, dataflow="ws",
        ),
        SystolicDesign(
            name="ws_addsub", rows=3, cols=2, mode="addsub", act_bits=3,
            carry_save_accumulate=True, dataflow="ws",
        ),
        CubeDesign(
            name="cube_addsub", rows=1, cols=1, depth=3, mode="addsub", act_bits=2,
            acc_bits=6, carry_save_accumulate=True,
        ),
        CubeDesign(
            name="cube_ternary", rows=2, cols=1, depth=2, mode="ternary", act_bits=4,
            carry_save_accumulate=True,
        ),
    ],
    ids=lambda d: d.name,
)  # fmt: skip
def test_carry_save_chain_registers_match_the_rtl(design):
    # register_row keeps one flip-flop per distinct wire: a sign wire repeated over the
    # upper bits is one register.
    length = design.depth if isinstance(design, CubeDesign) else design.rows
    chain = carry_save_chain(design, length)
    widths = _psum_widths(design)
    assert widths
    for name, bits in widths.items():
        layer = int(name[2:].split("_")[1 if isinstance(design, CubeDesign) else 0])
        assert bits == chain[layer][1], name


def test_two_d_matrix_shares_one_accumulator_enable():
    # Every PE of a 2D matrix loads on the same advance & valid: one gate drives the
    # enables of the whole array; a systolic array's drives one anti-diagonal's PEs.
    def enable_bits(design):
        (path,) = [p for p in timing_paths(design) if p.name.startswith("step valid flag")]
        return path.elements[-1].get("bits")

    kw = {"rows": 4, "mode": "addsub", "act_bits": 6}
    vb = Matrix2DDesign(name="v", cols=2, **kw).acc_width
    assert enable_bits(Matrix2DDesign(name="a", cols=2, **kw)) == 8 * vb
    assert enable_bits(Matrix2DDesign(name="b", cols=16, **kw)) == 64 * vb
    for cols in (4, 16):
        d = SystolicDesign(name="c", cols=cols, **kw)
        assert enable_bits(d) == 4 * d.acc_width


def test_merged_mac_prices_the_accumulator_upper_bits(delay):
    # Unsigned operands: the accumulator merges into the multiplier; a wider accumulator
    # adds the late carry into its upper bits.
    kw = {"rows": 2, "cols": 2, "mode": "mac", "act_bits": 6, "weight_bits": 2}
    narrow = SystolicDesign(name="n", acc_bits=9, wrap=True, **kw)
    wide = SystolicDesign(name="w", acc_bits=17, wrap=True, **kw)

    def pe(d):
        return sum(
            path_delay(p, delay) for p in timing_paths(d) if p.name.startswith("PE accumulate (w")
        )

    assert pe(wide) > pe(narrow)


def test_a_pe_without_an_incoming_value_is_shorter(delay):
    from shiftadd.models.timing import TimingPath

    # 6 x 3 signed: 4 partial-product rows, 5 with the accumulator (2 -> 3 compressor
    # levels; a 6 x 4 product's 5 -> 6 rows keep 3 levels, see the test below).
    for mode, extra in (("mac", {"weight_bits": 3, "act_signed": True}), ("addsub", {})):
        d = SystolicDesign(name="x", rows=1, cols=3, mode=mode, act_bits=6, dataflow="ws", **extra)
        full = TimingPath("a", tuple(pe_elements(d, "activation")))
        alone = TimingPath("b", tuple(pe_elements(d, "activation", accumulate=False)))
        assert path_delay(alone, delay) < path_delay(full, delay)


@pytest.mark.parametrize(
    ("mode", "act_bits", "act_signed", "chain"),
    # term bits: a signed activation as it is, an unsigned one zero-extended by a bit;
    # the chain stops below the accumulator's top bit (acc_width - 1).
    [("addsub", 7, False, 7), ("ternary", 7, True, 7), ("ternary", 5, False, 5)],
)
def test_a_cube_one_layer_deep_ripples_its_incrementer(mode, act_bits, act_signed, chain):
    # Held-out cubes one layer deep (term + carry-in, nothing else to add) show the
    # incrementer's carry as a chain of cells, one AND level per term bit, not a
    # log-depth prefix: the weight path holds exactly that ripple and the sum's XOR.
    d = CubeDesign(
        name="c", rows=2, cols=1, depth=1, mode=mode, act_bits=act_bits, act_signed=act_signed,
        weight_bits=2 if mode == "ternary" else 1, weight_signed=mode == "ternary",
    )  # fmt: skip
    (path,) = [p for p in cube_timing_paths(d) if p.name.startswith("PE partial sum (weight")]
    kinds = [(e.what, e.get("levels") if e.kind == "gate" else None) for e in path.elements]
    assert ("incrementer carry ripple", chain) in kinds
    assert kinds[-2:] == [("incrementer sum", 1), ("register load enable", 1)]
    assert incrementer_levels(d) == min(d.acc_width - 1, chain)
    assert not any(e.kind in ("adder", "mult", "csa") for e in path.elements)


def _booth_design(act_bits, act_signed):
    return SystolicDesign(
        name="b", rows=2, cols=2, mode="mac", act_bits=act_bits, act_signed=act_signed,
        weight_bits=3, weight_signed=True, carry_save_accumulate=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("act_bits", "act_signed", "expected"),
    # (encoder XOR, encoder AND, two, neg, levels) per digit
    [
        # digit 0 reads a[-1] = 0: one and neg are wires, two a complement and an AND
        (8, True, [(0, 1, True, True, 2)] + [(2, 4, True, True, 3)] * 3),
        # an odd signed code's top digit reads the sign twice: two = 0
        (7, True, [(0, 1, True, True, 2)] + [(2, 4, True, True, 3)] * 2 + [(1, 1, False, True, 2)]),
        # an unsigned code's top digit is never negative; above the code, one = a[2j-1]
        (
            8,
            False,
            [(0, 1, True, True, 2)] + [(2, 4, True, True, 3)] * 3 + [(0, 0, False, False, 0)],
        ),
        (5, False, [(0, 1, True, True, 2), (2, 4, True, True, 3), (1, 1, True, False, 1)]),
        (2, False, [(0, 1, True, True, 2), (0, 0, False, False, 0)]),
    ],
)
def test_booth_digit_gates_follow_the_digit_wires(act_bits, act_signed, expected):
    d = _booth_design(act_bits, act_signed)
    got = [(g.encoder_xor, g.encoder_and, g.two, g.neg, g.levels) for g in booth_digit_gates(d)]
    assert got == expected
    # The activation path passes the slowest encoder: 3 levels wherever a general digit is,
    # whose first level (the complemented bit) and last (on the digit wire) are loaded
    # stages.
    (path,) = [p for p in timing_paths(d) if p.name.startswith("PE accumulate (activation")]
    (enc,) = [e for e in path.elements if e.what == "Booth encoder"]
    loaded = [e for e in path.elements if e.kind == "stage"]
    levels = max(e[4] for e in expected)
    assert len(loaded) == (2 if levels == 3 else 0)
    assert enc.get("levels") + len(loaded) == levels


@pytest.mark.parametrize(("rows", "cols", "bits"), [(2, 2, 2), (5, 3, 3), (8, 8, 4)])
def test_weight_write_compares_over_the_counter_bits(rows, cols, bits):
    # The quiet counter's comparison with row + wait (wait = cols) is one carry chain over
    # the counter's bits (the extra bit of row + wait comes from the row port, early).
    d = SystolicDesign(
        name="w", rows=rows, cols=cols, mode="mac", act_bits=4, weight_bits=4, dataflow="ws"
    )
    (path,) = [p for p in timing_paths(d) if p.name.startswith("weight write")]
    (cmp,) = [e for e in path.elements if e.kind == "adder"]
    assert cmp.get("width") == bits


def test_booth_rows_without_two_or_sign_drop_their_selectors():
    # A 2-bit unsigned activation: digit 1 is a[1] alone (no 2w, never negative), so its
    # row is the zero gates only; the bill holds no mux or inverter for it.
    d = _booth_design(2, False)
    items: dict[str, float] = {}
    for it in bill_of_materials(d):
        part = it.part.split(": ", 1)[-1]
        items[part] = items.get(part, 0) + it.count
    pes, wb1 = d.rows * d.cols, d.weight_bits + 1
    assert items["partial-product select (w or 2w)"] == pes * wb1
    assert items["partial-product invert"] == pes * wb1
    assert items["partial-product zero"] == pes * 2 * wb1


def test_output_stationary_advance_drives_its_whole_net_on_a_loaded_stage():
    # The advance gate drives every register enable, the PE enable gates among them, on
    # weak cells: one loaded stage over the whole net, larger for a larger array.
    def stage(d):
        (path,) = [p for p in timing_paths(d) if p.name.startswith("advance -> PE enable")]
        (e,) = [e for e in path.elements if e.kind == "stage"]
        return e

    kw = {"mode": "mac", "act_bits": 4, "weight_bits": 4}
    small = Matrix2DDesign(name="s", rows=2, cols=2, **kw)
    big = Matrix2DDesign(name="b", rows=6, cols=6, **kw)
    assert stage(small).get("loads") == advance_loads(small)
    assert stage(big).get("loads") > stage(small).get("loads")


@pytest.mark.parametrize(
    ("rows", "levels"), [(2, 0), (3, 1), (4, 2), (5, 3), (6, 3), (7, 4), (9, 4), (10, 5)]
)
def test_csa_tree_levels_follow_maccmap(rows, levels):
    # Yosys maccmap: every full group of three rows becomes two, the rest pass on.
    from shiftadd.models.grid.timing import csa_tree_levels

    assert csa_tree_levels(rows) == levels


def test_accumulator_row_adds_a_level_only_where_it_deepens_the_tree():
    from shiftadd.models.grid.timing import mac_tree_rows

    def levels(d):
        return sum(e.get("levels") for e in pe_elements(d, "activation") if e.kind == "csa")

    kw = dict(name="x", rows=2, cols=2, mode="mac", act_signed=False, weight_signed=False)
    # unsigned 6 x 5 (held-out cube 20261508 #007's shape): 5 rows, 6 with the accumulator,
    # both 3 levels; unsigned 6 x 4: 4 rows -> 5, 2 -> 3 levels.
    same = SystolicDesign(act_bits=6, weight_bits=5, **kw)
    deeper = SystolicDesign(act_bits=6, weight_bits=4, **kw)
    assert mac_tree_rows(same) == 5 and mac_tree_rows(deeper) == 4
    assert levels(same) == 0
    assert levels(deeper) == 1


def test_the_accumulator_chain_after_a_sign_extended_product_spans_its_top_two_bits(delay):
    # W = P + 1 (held-out cubes 20261508 #001, #013, #025): the accumulator's late carry
    # chain starts at the product's bit P - 2, three positions, not a 2-bit adder.
    from shiftadd.models.timing import adder, element_delay

    d = SystolicDesign(
        name="x", rows=2, cols=2, mode="mac", act_bits=4, weight_bits=2, acc_bits=7, wrap=True
    )
    assert d.acc_width == d.product_width + 1
    els = pe_elements(d, "activation")
    assert els[-1].kind == "adder" and els[-1].get("width") == 3
    assert element_delay(els[-1], delay) == element_delay(adder(3, "x"), delay)
