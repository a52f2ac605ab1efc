"""Structure of the shift-add cost model where random designs showed it miscounted: constant
shifts (wiring, constant low bits, shared plane values, equal terms, the constant offset),
planes without terms, held scale fields and the GEMM's accumulation length."""

import pytest

from shiftadd.design.base import range_width
from shiftadd.design.shiftadd import ShiftAddDesign
from shiftadd.design.tree import tree_adders
from shiftadd.models.cost import bill_of_materials
from shiftadd.models.shiftadd import cost as sa_cost


def _items(design):
    return {i.part: i for i in bill_of_materials(design)}


def _flops(design):
    return sum(i.count for i in bill_of_materials(design) if i.unit in ("dff", "dffe"))


def test_barrel_tree_is_every_node_at_full_width():
    d = ShiftAddDesign(mu=3, q=2, terms=2, shift_bits=3, columns=3, pipeline_stages=2)
    tree = sa_cost.plane_tree(d)
    assert (tree.adders, tree.adder_bits) == tree_adders(d.tree)
    assert tree.half_bits == 0 and tree.root_zero_bits == 0 and tree.offset_flops == 0
    widths = [sum(range_width(*r)[0] for r in level) for level in d.tree.levels]
    assert list(tree.level_bits) == widths
    assert sa_cost.used_planes(d) == d.q


def test_constant_shifts_leave_constant_low_bits_out_of_the_adders():
    # leaves v0 << 2, v1 << 1, v2 (11-bit lookups): the first adder carries from bit 2 (bit
    # 1 is v1's, bit 0 zero), the second from bit 1
    d = ShiftAddDesign(
        mu=4, q=3, terms=1, shifter="constant", const_shifts=[[2], [1], [0]], columns=4
    )
    tree = sa_cost.plane_tree(d)
    nodes = [range_width(*r)[0] for r in d.tree.levels[1]] + [range_width(*d.tree.root)[0]]
    assert tree.adders == 2 and tree.adder_bits == (nodes[0] - 2) + (nodes[2] - 1)
    assert tree.half_bits == 0
    # layer-0 registers hold each looked-up value once, not its shifted zeros
    assert tree.level_bits[0] == 3 * d.lut_width


def test_equal_terms_add_as_a_shift_and_share_their_register():
    # two identical terms v << 2 of one plane: their sum is v << 3, no adder, one register
    d = ShiftAddDesign(
        mu=4,
        q=1,
        terms=3,
        shifter="constant",
        const_shifts=[[2, 2, 2]],
        const_signs=[[1, 0, 1]],
        columns=3,
        acc_groups=10,
        pipeline_stages=1,
    )
    tree = sa_cost.plane_tree(d)
    assert tree.adders == 0 and tree.half_bits == 0
    assert tree.level_bits[0] == d.lut_width and tree.root_zero_bits == 3
    items = _items(d)
    assert "plane-sum trees" not in items
    assert items["pipeline register after layer 0"].count == d.columns * d.lut_width + 2
    # the sum's three zero low bits are wires in the accumulator's adder
    assert items["accumulators"].bits == d.columns * (d.acc_width - 3)
    # this design's flops as yosys keeps them (332 in its synthesized netlist)
    assert _flops(d) == 332


def test_constant_offset_is_a_half_adder_chain_and_one_register():
    # ~v + 1 = -v: an incrementer over the lookup's width, no carry-save adder
    d = ShiftAddDesign(
        mu=3, q=1, terms=2, shifter="constant", const_shifts=[[0, 6]], const_signs=[[-1, 0]]
    )
    tree = sa_cost.plane_tree(d)
    assert tree.adders == 0 and tree.half_bits == d.lut_width
    items = _items(d)
    assert items["plane-sum constant additions"].count == d.columns * d.lut_width
    assert items["plane-sum constant carries"].count == d.columns * d.lut_width
    # with a register after the leaves the constant offset (1) is one idle flop for all columns
    p = ShiftAddDesign(
        mu=3,
        q=1,
        terms=2,
        shifter="constant",
        const_shifts=[[0, 6]],
        const_signs=[[-1, 0]],
        columns=4,
        pipeline_stages=1,
    )
    assert p.register_slots == (0,)
    offset = _items(p)["offset register after layer 0"]
    assert offset.count == 1 and not offset.active
    assert _items(p)["pipeline register after layer 0"].count == 4 * p.lut_width + 1


def test_negative_terms_invert_each_plane_once():
    d = ShiftAddDesign(
        mu=2,
        q=2,
        terms=3,
        shifter="constant",
        const_shifts=[[2, 6, 5], [6, 2, 1]],
        const_signs=[[0, 0, -1], [-1, -1, -1]],
        act_bits=5,
        columns=3,
    )
    assert _items(d)["negative-term inverters"].count == d.columns * 2 * d.lut_width


def test_planes_without_terms_have_no_lookups_or_keys():
    kw = dict(mu=3, q=3, terms=1, shifter="constant", columns=2, const_shifts=[[1], [0], [2]])
    full = ShiftAddDesign(**kw, const_signs=[[1], [1], [1]])
    unused = ShiftAddDesign(**kw, const_signs=[[1], [0], [1]])
    assert sa_cost.used_planes(full) == 3 and sa_cost.used_planes(unused) == 2
    a, b = _items(full), _items(unused)
    per_pe = sa_cost.lookup_mux2(full)
    assert a["lookup PEs (2**mu:1 muxes)"].count == 2 * 3 * per_pe
    assert b["lookup PEs (2**mu:1 muxes)"].count == 2 * 2 * per_pe
    assert (
        a["weight input register"].count - b["weight input register"].count
        == unused.columns * unused.mu
    )


def test_barrel_scale_fields_and_sign_logic_are_held():
    d = ShiftAddDesign(
        mu=1, q=3, terms=2, shift_bits=2, act_bits=6, columns=1, acc_groups=2, pipeline_stages=3
    )
    items = _items(d)
    scales = items["weight input register: scale fields"]
    assert scales.count == d.scale_bits_per_transfer and not scales.active
    keys = items["weight input register"]
    assert keys.active and keys.count + scales.count == d.weight_transfer_bits + 1
    assert not items["negative-term flags"].active
    assert not items["negative-term counts"].active
    # the count of negatives, alone after layer 1, is one idle register per scale set
    offset = items["offset register after layer 1"]
    assert not offset.active and offset.count == d.scale_sets * 3
    # every flop still counted once (204 in this design's synthesized netlist)
    assert _flops(d) == 204


@pytest.mark.parametrize("slots,groups,length", [(1, 2, 1), (2, 2, 2), (3, 40, 3), (2, 1, 1)])
def test_accumulation_follows_the_k_tile(slots, groups, length):
    d = ShiftAddDesign(mu=2, q=1, terms=1, columns=2, lut_slots=slots, acc_groups=groups)
    assert sa_cost.accumulation_length(d) == length
    items = _items(d)
    assert items["output register"].toggle == pytest.approx(1 / length)
    if d.accumulates:
        acc = items["accumulator registers"]
        assert acc.active == (length > 1)
        assert acc.toggle == pytest.approx((length - 1) / length)
