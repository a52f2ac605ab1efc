"""Structure the adder-tree, shift-add and threshold models price (issue 14): where a
pipelined threshold tree's offset leaf joins, the popcount-minus-threshold carry,
non-power-of-two trees after a multiplier, the accumulator's clear net and its merge with
the root, the bit-weight correction count, the LUT builder's group sum and table slots, the
adders that constant shifts narrow, the barrel shifter's AND-filled bits, the pooled
threshold PE's decoded lines and the table slot select's weak buffer tree and mux2 cells.
Each test checks the element the netlist holds and that the model moves the way that
structure must."""

import math

import pytest

from shiftadd.design.adder_tree import AdderTreeDesign
from shiftadd.design.base import range_width
from shiftadd.design.bitweight import ENCODER_LAYER
from shiftadd.design.shiftadd import ShiftAddDesign
from shiftadd.design.threshold import ThresholdDesign
from shiftadd.models.adder_tree.cost import bill_of_materials as tree_bill
from shiftadd.models.adder_tree.timing import datapath_paths
from shiftadd.models.shiftadd.cost import bill_of_materials, entry_widths
from shiftadd.models.shiftadd.timing import (
    FLOP_DRIVEN_LOADS,
    accumulator_chain,
    builder_paths,
    layer0_prefixes,
    weak_buffer_net,
)
from shiftadd.models.shiftadd.timing import datapath_paths as sa_datapath_paths
from shiftadd.models.threshold.timing import source_mux_elements
from shiftadd.models.timing import (
    GATE_KINDS,
    TimingPath,
    adder,
    element_delay,
    fanout,
    has_delays,
    path_delay,
    timing_paths,
    tree,
)
from shiftadd.models.units import load_unit_table


@pytest.fixture(scope="module")
def delay():
    t = load_unit_table("ihp-sg13g2")
    if not has_delays(t):
        pytest.skip("the ihp-sg13g2 unit table has no [delay] section yet (shiftadd calibrate)")
    return t["delay"]


def tree_design(**kw) -> AdderTreeDesign:
    return AdderTreeDesign.from_dict({"name": "t", **kw})


def path(design, name):
    return next(p for p in timing_paths(design) if p.name == name)


def trees(p):
    return [e for e in p.elements if e.kind == "tree"]


def test_threshold_root_stage_adds_the_offset_signed():
    # xnor k=38 with a threshold: the root adds the 6-bit count of the lanes to the signed
    # -T leaf; the sign the test reads comes out of a signed adder.
    d = tree_design(mode="xnor", k=38, n=1, threshold=True, pipeline_stages=5)
    last = [p for p in datapath_paths(d) if p.name.startswith("datapath stage 6")]
    (root,) = [e for p in last for e in trees(p)]
    assert root.get("signed") == 1.0 and root.get("levels") == 1
    assert root.get("leaf_width") == range_width(*d.tree.levels[5][0])[0]


def test_threshold_stage_without_the_offset_stays_unsigned():
    # Before the offset joins, a stage's adders add lane counts only (unsigned).
    d = tree_design(mode="xnor", k=38, n=1, threshold=True, pipeline_stages=5)
    first = [p for p in datapath_paths(d) if p.name.startswith("datapath stage 1")]
    assert first and all(e.get("signed") == 0.0 for p in first for e in trees(p))


def test_offset_minus_threshold_carries_through_the_wide_offset(delay):
    # count - T: the count's top bit arrives last and its carry runs on through T's bits
    # above it, so a wider threshold field lengthens the weight-load path.
    narrow = tree_design(mode="addsub", k=9, n=2, act_bits=2, act_signed=False, threshold=True)
    wide = tree_design(mode="addsub", k=9, n=2, act_bits=8, act_signed=False, threshold=True)
    name = "weight-load port: offset"
    (carry,) = [e for e in path(wide, name).elements if e.kind == "adder"]
    assert carry.get("width") == range_width(*wide.offset_range)[0] - wide.k.bit_length() + 1
    assert path_delay(path(wide, name), delay) > path_delay(path(narrow, name), delay)


def test_multiplier_tree_depth_is_log2_of_its_leaves():
    # Ten products reduce as a tree of log2(10) levels (its short branches end early);
    # sixteen as four full levels.
    for k, levels in ((10, math.log2(10)), (16, 4.0)):
        d = tree_design(mode="mac", k=k, n=1, act_bits=6, weight_bits=5)
        (stage,) = datapath_paths(d)
        (t,) = trees(stage)
        assert t.get("levels") == pytest.approx(levels)


def test_accumulator_loop_starts_at_the_first_flag_net():
    d = tree_design(mode="xnor", k=14, n=3, threshold=True, accumulate=True, accumulate_k=252)
    loop = next(p for p in datapath_paths(d) if p.name.startswith("accumulator loop"))
    net = loop.elements[0]
    assert net.kind == "fanout"
    assert net.get("loads") == d.n * range_width(*d.accumulated_range)[0]


def shiftadd(**kw) -> ShiftAddDesign:
    params = {"mu": 5, "q": 2, "terms": 2, "shift_bits": 3, "act_bits": 2, "columns": 1}
    return ShiftAddDesign.from_dict({**params, **kw})


def test_group_sum_depth_is_log2_of_the_group():
    # A multi-level group sum is a balanced tree of log2(mu) levels.
    for mu in (3, 4, 5):
        (p,) = builder_paths(shiftadd(mu=mu))
        group = next(e for e in p.elements if e.what.startswith("group sum"))
        assert group.kind == "tree"
        assert group.get("levels") == pytest.approx(math.log2(mu))


def chain(d):
    return [
        (e.kind, e.get("width") if e.kind == "adder" else e.get("levels"))
        for e in builder_paths(d)[0].elements
        if e.kind in ("tree", "adder", "csa")
    ]


def test_builder_chain_holds_the_negation_and_every_entry_adder():
    # The carry-propagating operations in series: the group sum, its negation (an adder of
    # its own in the netlist) and the mu entry adders. Two-input ripple adders overlap
    # their carries: one whole adder at the entries' width, a full adder per further one.
    # mu = 2: one group-sum adder heads the chain (4 adders: 1 whole + 3 steps).
    d = shiftadd(mu=2, act_bits=7)
    assert chain(d) == [("adder", d.lut_width), ("csa", 3)]
    # mu = 1: negation and the one entry adder.
    d = shiftadd(mu=1, act_bits=4)
    assert chain(d) == [("adder", d.lut_width), ("csa", 1)]
    # mu = 4: the two-level group tree, then the negation and the four entries.
    d = shiftadd(mu=4, act_bits=8)
    assert chain(d) == [("tree", 2.0), ("adder", d.lut_width), ("csa", 4)]


def test_one_adder_group_sum_is_not_priced_twice(delay):
    # mu = 2's group sum is one two-input adder whose carries overlap the rest of the
    # chain: its builder costs less than a whole group adder plus a whole entry adder in
    # series (the model before 2026-12-08, 12-20 % above OpenSTA on such builders), but
    # more than the mu = 1 chain, which lacks the group adder and one entry adder.
    two, one = shiftadd(mu=2, act_bits=7), shiftadd(mu=1, act_bits=7)
    chain_two = sum(
        path_delay(TimingPath("c", (e,)), delay)
        for e in builder_paths(two)[0].elements
        if e.kind in ("tree", "adder", "csa")
    )
    group_adder = tree(1, two.act_bits, True, "group sum")
    entry_adder = adder(two.lut_width, "entry adder")
    in_series = path_delay(TimingPath("s", (group_adder, entry_adder)), delay)
    assert chain_two < in_series
    assert path_delay(builder_paths(two)[0], delay) > path_delay(builder_paths(one)[0], delay)


def test_every_table_slot_loads_the_entry_chain(delay):
    one, three = shiftadd(lut_slots=1), shiftadd(lut_slots=3)
    nets = [
        [e.get("loads") for e in builder_paths(d)[0].elements if e.what.startswith("entry")]
        for d in (one, three)
    ]
    assert [b - a for a, b in zip(*nets)] == [2] * one.mu
    assert path_delay(builder_paths(three)[0], delay) >= path_delay(builder_paths(one)[0], delay)


def const(shifts, signs) -> ShiftAddDesign:
    return ShiftAddDesign.from_dict(
        {
            "mu": 2,
            "q": len(shifts),
            "terms": len(shifts[0]),
            "act_bits": 3,
            "columns": 1,
            "shifter": "constant",
            "const_shifts": shifts,
            "const_signs": signs,
            "pipeline_stages": 1,
        }
    )


def first_tree(design):
    stage = next(p for p in sa_datapath_paths(design) if "stage 1" in p.name)
    return trees(stage)[0]


def test_constant_shifts_shorten_the_first_adders_chain():
    # A leaf shifted by 6 has 6 constant low bits: its adder's carry chain starts there.
    shifted = const([[4, 6], [2, 0]], [[-1, 1], [1, 0]])
    aligned = const([[0, 0], [0, 0]], [[-1, 1], [1, 0]])
    widest_leaf = max(range_width(lo, hi)[0] for lo, hi in shifted.tree.levels[0])
    assert first_tree(shifted).get("leaf_width") < widest_leaf
    assert first_tree(aligned).get("leaf_width") == max(
        range_width(lo, hi)[0] for lo, hi in aligned.tree.levels[0]
    )


def test_barrel_shifter_adders_keep_their_full_width():
    d = shiftadd(pipeline_stages=1)
    widest = max(range_width(lo, hi)[0] for lo, hi in d.tree.levels[0])
    assert first_tree(d).get("leaf_width") == widest


def test_accumulator_merged_with_the_root_passes_a_compressor():
    # With tree levels in the last stage the accumulator adder is one multi-operand adder
    # with them: its loop passes a 3:2 level; with the root registered it does not.
    d = tree_design(mode="xnor", k=14, n=3, threshold=True, accumulate=True, accumulate_k=252)
    kinds = [e.kind for e in path(d, "accumulator loop (acc -> sum -> threshold)").elements]
    assert kinds[:4] == ["fanout", "gate", "csa", "adder"]
    top = tree_design(
        mode="xnor", k=14, n=3, threshold=True, accumulate=True, accumulate_k=252
    ).max_pipeline_stages
    registered = tree_design(
        mode="xnor",
        k=14,
        n=3,
        threshold=True,
        accumulate=True,
        accumulate_k=252,
        pipeline_stages=top,
    )
    loop = path(registered, "accumulator loop (acc -> sum -> threshold)")
    assert "csa" not in [e.kind for e in loop.elements]


def test_wide_chain_from_the_offset_node_is_a_ripple_chain():
    # The offset's own node adds narrow counts to the wide offset in series: a
    # carry-propagate adder at the offset's width, then a full adder per further level.
    d = tree_design(
        mode="xnor", k=7, n=5, threshold=True, accumulate=True, accumulate_k=28, pipeline_stages=1
    )
    stage = [p for p in datapath_paths(d) if p.name.startswith("datapath stage 2")]
    chains = [[e.kind for e in p.elements if e.kind in ("tree", "adder", "csa")] for p in stage]
    assert ["adder", "csa"] in chains
    (first,) = [e for p in stage for e in p.elements if e.kind == "adder"]
    assert first.get("width") == range_width(*d.offset_range)[0]


def correction_count(pipeline_stages):
    d = tree_design(
        mode="mac",
        k=5,
        n=3,
        act_bits=6,
        act_signed=True,
        weight_bits=7,
        weight_signed=True,
        pipeline_stages=pipeline_stages,
        carry_save_accumulate=True,
        shared_encoder_same_bitweight=True,
    )
    p = next(p for p in timing_paths(d) if p.name.endswith("correction row"))
    (count,) = [e for e in p.elements if e.what == "shared count of negative digits"]
    return d, count


def test_correction_count_is_ceil_log2_levels_of_the_lanes():
    # Unregistered, five lanes' words add as three full levels of one-bit leaves (the
    # fifth word joins whole at the top).
    d, count = correction_count(0)
    assert ENCODER_LAYER not in d.register_slots
    assert (count.get("levels"), count.get("leaf_width")) == (3, 1)


def test_registered_correction_count_adds_the_lanes_whole_words(delay):
    # Ending at the encoder register the count is a multi-operand adder of its own over
    # the lanes' whole words (three digit fields: 4**0 + 4**1 + 4**2 = 21, five bits),
    # log2 k levels as a popcount.
    d, count = correction_count(4)
    assert ENCODER_LAYER in d.register_slots
    assert count.get("levels") == pytest.approx(math.log2(5))
    assert count.get("leaf_width") == range_width(*d.bitweight.negsum_lane_range)[0] == 5
    # Wider words make the same lanes' count slower.
    narrow = tree(count.get("levels"), 1, False, "count")
    assert element_delay(count, delay) > element_delay(narrow, delay)


def threshold(**kw) -> ThresholdDesign:
    params = {"k": 20, "pes": 6, "neurons": 2, "memory_bits": 16, "data_bits": 4}
    return ThresholdDesign.from_dict({**params, **kw})


def test_pooled_decoded_line_gates_both_polarities_in_every_pe(delay):
    def line(d):
        return next(e for e in source_mux_elements(d) if e.what.startswith("decoded line"))

    assert line(threshold()).get("loads") == 2 * 6
    assert line(threshold(pe="tulip")).get("loads") == 6
    # More PEs never make the select path shorter.
    few, many = threshold(pes=2), threshold(pes=8)
    name = "neuron input: source select -> neuron register"
    assert path_delay(path(many, name), delay) >= path_delay(path(few, name), delay)


def test_barrel_stages_fill_with_and_gates():
    d = shiftadd(mu=2, q=1, terms=1, shift_bits=3, act_bits=2, columns=2)
    items = {i.part: i for i in bill_of_materials(d)}
    lut = range_width(*d.lut_range)[0]
    terms = d.columns * d.q * d.terms
    widths = (lut, *d.barrel_stage_widths)
    # Stage j: muxes where both the value and its shift reach, 2**(j+1) AND gates.
    assert items["barrel shifters"].count == terms * sum(widths[j] - (1 << j) for j in range(3))
    assert items["barrel shifters: zero fill"].count == terms * (2 + 4 + 8)


def test_two_row_multiplier_is_and_gates_and_one_row_adder():
    # A lane multiplier whose narrower operand has two bits holds two partial-product rows:
    # AND gates and one adder of the rows (wider width + carry), as synthesis builds it; the
    # fitted mult unit (fitted on 3 to 8 rows) would charge its fixed part to each lane.
    small = tree_design(mode="mac", k=26, n=1, act_bits=2, weight_bits=2, pipeline_stages=4)
    items = {i.part: i for i in tree_bill(small)}
    assert "lane multipliers" not in items
    pp = items["lane multipliers: partial products"]
    rows = items["lane multipliers: row adders"]
    assert (pp.unit, pp.count) == ("and2", 26 * 2 * 2)
    assert (rows.unit, rows.count, rows.bits) == ("adder", 26, 26 * 3)
    # Wide operands keep the fitted multiplier.
    wide = tree_design(mode="mac", k=26, n=1, act_bits=6, weight_bits=5)
    assert any(i.unit == "mult" for i in tree_bill(wide))


def test_two_row_multiplier_rows_are_the_first_tree_level():
    # The lanes' AND rows are leaves of the first stage's tree: its row adder is one more
    # tree level over the wider operand's width, not a priced multiplier followed by the
    # tree (26 lanes, one level before the register: 2 x 26 rows -> 13 nodes, 2 levels).
    d = tree_design(mode="mac", k=26, n=1, act_bits=2, weight_bits=2, pipeline_stages=4)
    stage = next(p for p in datapath_paths(d) if p.name.startswith("datapath stage 1"))
    kinds = [(e.kind, e.get("levels") if e.kind == "tree" else None) for e in stage.elements]
    assert kinds == [("gate", None), ("tree", 2.0), ("gate", None)]
    assert trees(stage)[0].get("leaf_width") == 2
    # Wider operands keep the multiplier, its partial-product tree continuing into the tree.
    wide = tree_design(mode="mac", k=26, n=1, act_bits=6, weight_bits=5, pipeline_stages=4)
    stage = next(p for p in datapath_paths(wide) if p.name.startswith("datapath stage 1"))
    assert [e.kind for e in stage.elements][:2] == ["mult", "tree"]


def test_flop_drives_a_small_net_and_weak_buffers_a_large_one(delay):
    # Up to FLOP_DRIVEN_LOADS the flip-flop drives the net (seed 20261207 #002: 13 loads,
    # no buffer); beyond, ceil(log10 loads) levels of buf_1, each a loaded stage.
    small = weak_buffer_net(FLOP_DRIVEN_LOADS, "net")
    assert small.kind == "fanout" and small.get("loads") == FLOP_DRIVEN_LOADS
    for loads, levels, tap in ((17, 2, 5), (100, 2, 10), (192, 3, 6), (1000, 3, 10)):
        net = weak_buffer_net(loads, "net")
        assert net.kind == "stage"
        assert (net.get("stages"), net.get("loads")) == (levels, tap)
    # The weak tree is slower than the timing-driven buffer tree the fan-out unit measured.
    assert element_delay(weak_buffer_net(192, "net"), delay) > element_delay(
        fanout(192, "net"), delay
    )


def slot_prefix(design):
    return next(prefix for start, prefix, _ in layer0_prefixes(design) if start == "slot select")


def test_two_slot_mux_is_a_mux2_cell_on_a_weak_select_net():
    two, three = shiftadd(lut_slots=2), shiftadd(lut_slots=3)
    net, mux = slot_prefix(two)[:2]
    assert net.kind == "stage"  # (2 // 2) * 32 entries of the table's bits: > 16 loads
    assert net.get("stages") == math.ceil(math.log10(sum(entry_widths(two))))
    assert (mux.kind, mux.get("levels"), mux.get("unit")) == ("gate", 1, GATE_KINDS.index("mux2"))
    # Three slots decode their two select bits into AND-OR-invert cells.
    mux3 = slot_prefix(three)[1]
    assert (mux3.get("levels"), mux3.get("unit")) == (2, GATE_KINDS.index("and2"))


def test_accumulator_is_an_adder_after_the_tree_root():
    # The accumulator adds the root in a two-input adder of its own (never merged with the
    # plane tree): a full-adder step overlapping the root's carries, then its carry through
    # the root's sign extension over the accumulator's higher bits.
    d = shiftadd(pipeline_stages=1, acc_groups=2)
    assert d.accumulates
    last = [p for p in sa_datapath_paths(d) if p.name.startswith("datapath stage 2")]
    assert last
    root = range_width(*d.tree.root)[0]
    for p in last:
        kinds = [e.kind for e in p.elements]
        assert kinds[-4:] == ["tree", "csa", "adder", "gate"]
        assert "accumulator" not in trees(p)[-1].what
        assert p.elements[-2].get("width") == max(1, d.acc_width - root) + 2
    assert [e.kind for e in accumulator_chain(d)] == ["csa", "adder"]
    # Without accumulation the last stage ends at the tree.
    plain = shiftadd(pipeline_stages=1, acc_groups=1)
    assert not plain.accumulates
    for p in sa_datapath_paths(plain):
        assert "csa" not in [e.kind for e in p.elements]


def test_registered_digit_wire_is_a_weak_buffer_tree():
    # From the encoder register a digit wire of more than FLOP_DRIVEN_LOADS loads is a
    # flip-flop's net on weak buffers (the loaded-stage unit); unregistered it follows the
    # encoder's gates and stays the fan-out unit's net.
    # The catalog's mac_k16_opt2_same_bitweight, with and without its encoder register.
    params = dict(mode="mac", k=16, n=4, act_bits=8, weight_bits=8)
    params["shared_encoder_same_bitweight"] = True
    registered = tree_design(**params, pipeline_stages=1)
    plain = tree_design(**params)
    assert registered.register_slots == (0,) and plain.register_slots == ()

    def wire(d):
        return next(
            e for p in timing_paths(d) for e in p.elements if e.what.startswith("digit wire")
        )

    assert wire(registered).kind == "stage"
    assert wire(plain).kind == "fanout"
    assert wire(plain).get("loads") > FLOP_DRIVEN_LOADS
