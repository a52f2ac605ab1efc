"""Datapath paths of the adder tree with bit-weight options (OPT1 carry-save, OPT2 same
bit-weight trees, OPT3/4 digit-sparse), per :class:`~shiftadd.design.bitweight.BitWeightPlan`
and the generators :mod:`shiftadd.hw.bitweight` and :mod:`shiftadd.hw.bitweight_sparse`.

Carry save and same bit weight (fully pipelined, registers after the plan's logic layers):

* layer 0 (``ENCODER_LAYER``): the input register feeds one digit encoder per lane
  (radix-4 Booth, or EN-T with its prefix-OR negation and the carry between the radix-4
  chunks), shared by all neurons, and the shared count of negative digits; with any
  pipeline register the first one follows this layer (the encoder register), so the digit
  wires and the count start the next stage from flip-flops;
* layer 1 (``SELECT_LAYER``): each digit wire drives one partial-product row in every
  neuron; the row is an AND-OR of ``w`` and ``2w`` and an XOR with the digit's sign;
* carry save: the 3:2 compressor levels, then the carry-propagate adder; the negative
  digits' ``+1`` bits are summed once by a shared adder tree (plus the rows' sign
  constants) into a correction row, which joins the compressors at the level where the
  Wallace plan first groups it: a second path from the encoders (or from the encoder
  register);
* same bit weight: per bit weight an adder tree over the rows, then the tree adding the
  shifted sums; synthesis merges the additions of a pipeline stage into one multi-operand
  adder per neuron. The negative digits of a bit weight are counted by a popcount shared
  by all neurons (the tree's last leaf): when the plan adds it within the first stage, it
  enters that stage's merged adder late and passes its whole depth.

Digit sparse (one vector over several cycles): the sequencer decodes the current bit
weight, finds each lane's digit there and the lanes still pending, picks the lowest pending
lane per group (a priority chain), and broadcasts that lane's weight and digit to the
group's PE in every neuron, where a row is selected and added into the carry-save
accumulator; the same pending lanes decide whether the bit weight is done, hence whether
the input is accepted (the encoded input and weight registers' load enable). Once per bit
weight the groups' pairs are reduced by a carry-save tree and a carry-propagate adder,
shifted by the bit weight and added into the accumulator (a register between the two with
``pipeline_stages = 1``).

The ``advance`` enable into every register and the weight write enable are
:func:`shiftadd.models.adder_tree.timing.control_paths`.
"""

from __future__ import annotations

import math

from ...design.adder_tree import AdderTreeDesign
from ...design.base import range_width
from ...design.bitweight import ENCODER_LAYER, SELECT_LAYER
from ...design.carry_save import CsaPlan, carry_mask
from ...design.tree import TreePlan
from ..timing import Element, TimingPath, adder, csa, fanout, gates, tree, weak_buffer_net

__all__ = ["bitweight_paths", "encoder_elements", "join_level", "csa_join_level"]


def _clog2(x: int) -> int:
    """Levels of a balanced binary tree over ``x`` inputs (0 for one input)."""
    return max(0, math.ceil(math.log2(x))) if x > 1 else 0


def _decode_levels(values: int) -> int:
    """Gate levels of ``x == j`` for an ``x`` that takes ``values`` values (an AND of its
    ``ceil(log2 values)`` bits, or their inverses)."""
    bits = _clog2(values)
    return max(1, _clog2(bits)) if bits else 0


def _count_levels(k: int) -> float:
    """Levels a popcount over ``k`` lanes adds, as a full tree of ``log2 k`` levels: a
    balanced tree ``ceil(log2 k)`` deep whose short branches end early (as the plain
    tree's weight-load count, :func:`shiftadd.models.adder_tree.timing.control_paths`)."""
    return math.log2(k) if k > 1 else 0.0


def _enable() -> Element:
    return gates("mux2", 1, "register load enable")


def encoder_elements(design: AdderTreeDesign, *, digit: bool = True) -> list[Element]:
    """One lane's digit encoder, from the activation bits to a digit's sign wire.

    Booth: a digit's ``neg`` (``hi & ~(mid & lo)``) and ``two`` take two gate levels.
    EN-T (:func:`shiftadd.hw.booth.ent_codes`, the operand is signed): a magnitude bit
    flips when the code is negative and a lower bit is 1 (the sign AND the OR of the bits
    below, then an XOR); the carry between the radix-4 chunks ripples from the low chunks
    through every chunk below the top one (an AND-OR each); the top code bit is the chunk
    bit XOR (``lo & carry``); the digit's sign wire
    (:func:`~shiftadd.hw.booth.ent_digit`) is ``(negative ^ (c1 & c0)) & (c0 | c1)``.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with bit-weight options.
    digit : bool, default True
        Include the digit's sign wire (EN-T); without it, the encoder ends at the codes
        (what the digit-sparse array registers).

    Returns
    -------
    list of Element
        The encoder's logic in series.
    """
    plan = design.bitweight
    assert plan is not None
    if plan.encoder == "booth":
        return [gates("and2", 2, "Booth digit (neg, two)")]
    out = [
        gates("and2", 1, "EN-T negation: sign AND (OR of the bits below)"),
        gates("xor2", 1, "EN-T magnitude bit"),
        gates("and2", 2 * (plan.digits - 1), "EN-T carry through the lower chunks (AND-OR)"),
        gates("and2", 1, "EN-T top code bit: lo & carry"),
        gates("xor2", 1, "EN-T top code bit: XOR"),
    ]
    if digit:
        out += [
            gates("and2", 2, "EN-T digit sign: c1 & c0, nonzero"),
            gates("xor2", 1, "EN-T digit sign: negative ^ ..."),
        ]
    return out


def _select(what: str = "partial-product row") -> list[Element]:
    """:func:`shiftadd.hw.booth.select_row`: ``one & w[i] | two & w[i-1]`` (an AND-OR,
    priced as a 2:1 mux), then the XOR with the digit's sign."""
    return [gates("mux2", 1, f"{what}: w / 2w (AND-OR)"), gates("xor2", 1, f"{what}: sign XOR")]


def _front(design: AdderTreeDesign, first: int, last: int) -> list[Element]:
    """The shared encoder layer and the selection layer among layers ``first..last``: the
    encoder, then the digit wire's net (one row bit in every neuron, plus the shared count
    of negative digits when not registered) and the row select."""
    plan = design.bitweight
    assert plan is not None
    out: list[Element] = []
    if first <= ENCODER_LAYER <= last:
        out += encoder_elements(design)
    if first <= SELECT_LAYER <= last:
        loads = design.n * plan.select_width + 1
        what = "digit wire -> every neuron's row"
        # From the encoder register the wire is a flip-flop's net, which synthesis buffers
        # on the weakest cells (catalog mac_k16_opt2_same_bitweight: buf_1, inv_1, buf_1 on
        # its 37 loads, 0.93 ns, against 0.45 ns for the fan-out unit's tree).
        net = fanout(loads, what) if first < SELECT_LAYER else weak_buffer_net(loads, what)
        out += [net, *_select()]
    return out


def join_level(plan: TreePlan, leaf: int) -> int:
    """The tree level at which leaf ``leaf`` of a balanced tree first meets another node
    (:func:`shiftadd.design.tree.plan_tree` passes an odd last node up unchanged).

    Parameters
    ----------
    plan : TreePlan
        The tree.
    leaf : int
        Index of the leaf.

    Returns
    -------
    int
        The level (1 to ``plan.depth``) of its first adder; 0 for a tree of one leaf.
    """
    idx = leaf
    for level in range(1, plan.depth + 1):
        size = len(plan.levels[level - 1])
        if idx % 2 or idx + 1 < size:
            return level
        idx //= 2
    return 0


def csa_join_level(plan: CsaPlan, row: int) -> int:
    """The compressor level at which leaf row ``row`` of a carry-save plan is first grouped
    with two other rows (before, it passes through unchanged).

    Parameters
    ----------
    plan : CsaPlan
        The reduction.
    row : int
        Index of the leaf row.

    Returns
    -------
    int
        The level (1 to ``plan.depth``); ``plan.depth + 1`` when it reaches the root as is.
    """
    idx = row
    for level, ops in enumerate(plan.ops, start=1):
        below, out, new = plan.rows[level - 1], 0, None
        for op in ops:
            if idx in op:
                if len(op) == 3:
                    return level
                new = out + op.index(idx)
            if len(op) == 3:
                ma, mb, mc = (below[i] for i in op)
                out += 1 + (1 if carry_mask(ma, mb, mc, plan.width) else 0)
            else:
                out += len(op)
        assert new is not None
        idx = new
    return plan.depth + 1


def _stages(design: AdderTreeDesign) -> list[tuple[int, int]]:
    """``(first, last)`` logic layer of every pipeline stage."""
    bounds = [-1, *design.register_slots, design.logic_layers - 1]
    return [(bounds[i] + 1, bounds[i + 1]) for i in range(len(bounds) - 1)]


def _name(i: int, first: int, last: int, what: str = "") -> str:
    tail = f": {what}" if what else ""
    return f"datapath stage {i + 1} (layers {first}-{last}){tail}"


# -- carry save (OPT1, OPT1 + OPT2) --------------------------------------------------------


def _carry_save_logic(design: AdderTreeDesign, lo: int, hi: int) -> list[Element]:
    """Compressor levels and the root adder among layers ``lo..hi`` (layer ``l`` is
    compressor level ``l``; layer ``depth + 1`` the carry-propagate adder)."""
    plan = design.bitweight
    assert plan is not None and plan.csa is not None
    depth = plan.csa.depth
    out: list[Element] = []
    levels = min(hi, depth) - max(lo, 1) + 1
    if levels > 0:
        out.append(csa(levels, f"3:2 compressor levels {max(lo, 1)}-{min(hi, depth)}"))
    if lo <= depth + 1 <= hi:
        out.append(adder(plan.width, "root carry-propagate adder"))
    return out


def _correction_elements(design: AdderTreeDesign, registered: bool = False) -> list[Element]:
    """The shared correction row from the encoders: the weighted count of negative digits,
    plus the rows' sign constants, then its net into every neuron's compressors.

    The count is a balanced tree over the lanes whose leaves hold one bit per digit, two
    bits apart: the digit fields add side by side, priced as one popcount of the lanes,
    ``ceil(log2 k)`` full levels deep (an odd lane's word joins whole, a level later); a
    count that ends at the encoder register is a multi-operand adder of its own over the
    lanes' whole words, ``log2 k`` levels deep. The constant is zero below bit
    ``select_width - 1``: when the count fits below that, adding it is wiring; otherwise its
    carries run on from the count's top bits, one level more of the count's carry chain
    (which also stands for the fields' overflow into each other).
    The correction row then waits, passing through, until the compressor level where the
    Wallace plan first groups it (:func:`csa_join_level`). ``registered``: the encoder
    register follows, so the digit sign drives only it and the count, and the path ends at
    the register holding the row.
    """
    plan = design.bitweight
    assert plan is not None
    # The lanes' words add side by side, priced as one popcount of the lanes; a lane count
    # that is not a power of two adds its odd words as whole words a level later (each
    # holds a bit of every digit field), so the tree is ceil(log2 k) full levels deep,
    # not the 1-bit popcount's log2 k.
    count_levels, leaf = float(_clog2(design.k)), 1
    if registered:
        # Ending at its own register the count is a multi-operand adder of its own, which
        # reduces every bit column with the carries of the column below, the empty columns
        # between the digit fields included: its leaves are the lanes' whole words, and
        # as a popcount's its short branches end early (log2 k full levels). OpenSTA's
        # worst path of held-out 20261508 #018 (45 lanes, two fields) passes about 21 sum
        # stages before the final carry chain.
        count_levels, leaf = _count_levels(design.k), range_width(*plan.negsum_lane_range)[0]
    out = [
        *encoder_elements(design),
        _sign_net(design, registered),
        tree(count_levels, leaf, False, "shared count of negative digits"),
    ]
    count_bits = range_width(*plan.negsum_range)[0]
    if plan.correction_constant and count_bits > plan.select_width - 1:
        out.append(tree(1, leaf, False, "+ sign constants", after=count_levels))
    if not registered:
        out.append(fanout(2 * design.n, "correction row -> every neuron's compressors"))
    return out


def _sign_net(design: AdderTreeDesign, registered: bool) -> Element:
    """The net of a digit's sign wire: into every neuron's row and the shared count, or
    with the encoder register only into that register and the count."""
    plan = design.bitweight
    assert plan is not None
    if registered:
        return fanout(2, "digit sign -> encoder register and the shared count")
    return fanout(design.n * plan.select_width + 1, "digit sign -> rows and the shared count")


def _carry_save_paths(design: AdderTreeDesign) -> list[TimingPath]:
    plan = design.bitweight
    assert plan is not None and plan.csa is not None
    entry = csa_join_level(plan.csa, len(plan.csa.leaves) - 1)
    paths = []
    for i, (first, last) in enumerate(_stages(design)):
        # The neuron's own layers: 0 its selection, then the compressor levels, the CPA.
        lo, hi = first - SELECT_LAYER, last - SELECT_LAYER
        rows = _front(design, first, last) + _carry_save_logic(design, lo, hi)
        paths.append(TimingPath(_name(i, first, last), (*rows, _enable())))
        if first == ENCODER_LAYER:
            corr = _correction_elements(design, registered=last == ENCODER_LAYER)
            corr += _carry_save_logic(design, entry, hi)
            paths.append(TimingPath(_name(i, first, last, "correction row"), (*corr, _enable())))
        elif first == SELECT_LAYER:
            corr = [
                fanout(2 * design.n, "correction register -> every neuron's compressors"),
                *_carry_save_logic(design, entry, hi),
            ]
            paths.append(TimingPath(_name(i, first, last, "correction row"), (*corr, _enable())))
    return paths


# -- same bit weight, adder trees (OPT2) ------------------------------------------------------


def _tree_node_width(design: AdderTreeDesign, layer: int) -> int:
    """Width of the median node after logic layer ``layer`` (0: the rows; then the
    bit-weight tree's levels, then the combining tree's)."""
    plan = design.bitweight
    assert plan is not None
    bw = plan.bitweight_tree
    if layer <= bw.depth:
        nodes = bw.levels[layer][: design.k] if layer == 0 else bw.levels[layer]
    else:
        nodes = plan.combine_tree.levels[layer - bw.depth]
    widths = sorted(range_width(lo, hi)[0] for lo, hi in nodes)
    return widths[(len(widths) - 1) // 2]


def _tree_logic(design: AdderTreeDesign, lo: int, hi: int) -> list[Element]:
    """The bit-weight trees' levels and the combining tree's levels among layers
    ``lo..hi`` (one pipeline stage).

    Synthesis merges the additions between two registers into one multi-operand adder
    per neuron (Yosys ``alumacc``), priced as a balanced tree of as many levels; the
    combining levels continue the bit-weight levels' carry chains. The shifted sums make
    the result wider than an aligned tree's, which grows one bit a level: the final carry
    runs through those bits as well.
    """
    plan = design.bitweight
    assert plan is not None
    bwd = plan.bitweight_tree.depth
    lo = max(lo, 1)
    out: list[Element] = []
    after = 0
    nb = min(hi, bwd) - lo + 1
    if nb > 0:
        width = _tree_node_width(design, lo - 1)
        what = f"bit-weight tree levels {lo}-{lo + nb - 1}"
        out.append(tree(nb, width, True, what, after=after))
        after += nb
    c_lo, c_hi = max(lo, bwd + 1) - bwd, hi - bwd
    if c_hi >= c_lo:
        width = _tree_node_width(design, bwd + c_lo - 1)
        what = f"combining tree levels {c_lo}-{c_hi}"
        out.append(tree(c_hi - c_lo + 1, width, True, what, after=after))
        # The sums are shifted apart: the result is wider than an aligned tree's (one bit
        # a level) by the offsets, and the final carry runs through those bits too.
        top = max(range_width(a, b)[0] for a, b in plan.combine_tree.levels[c_hi])
        extra = top - width - (c_hi - c_lo + 1)
        out.append(gates("and2", max(0, extra), "carry through the shifted sums' offsets"))
    return out


def _same_bitweight_paths(design: AdderTreeDesign) -> list[TimingPath]:
    plan = design.bitweight
    assert plan is not None
    bw = plan.bitweight_tree
    entry = join_level(bw, design.k)  # the count of negative digits is the last leaf
    count_levels = _count_levels(design.k)
    paths = []
    for i, (first, last) in enumerate(_stages(design)):
        # The neuron's own layers: 0 its selection, then the trees' levels.
        hi = last - SELECT_LAYER
        rows = _front(design, first, last) + _tree_logic(design, first - SELECT_LAYER, hi)
        paths.append(TimingPath(_name(i, first, last), (*rows, _enable())))
        count: list[Element] = []
        if first == ENCODER_LAYER:
            count = [
                *encoder_elements(design),
                _sign_net(design, registered=last == ENCODER_LAYER),
                tree(count_levels, 1, False, "popcount of negative digits"),
            ]
        elif first == SELECT_LAYER:
            count = [fanout(design.n, "negative-digit count register -> every neuron's tree")]
        if count:
            if entry <= hi:
                # The plan adds the count within this stage: in the merged adder it is
                # one more operand, late, and passes the adder's whole depth.
                count += _tree_logic(design, 1, hi)
            paths.append(
                TimingPath(_name(i, first, last, "negative-digit count"), (*count, _enable()))
            )
    return paths


def _sparse_front(design: AdderTreeDesign) -> list[Element]:
    """From the bit-weight register to each lane's pending bit."""
    plan = design.bitweight
    assert plan is not None
    dd, k = plan.digits, design.k
    return [
        gates("and2", _decode_levels(dd), "decode bit weight (bw == j)"),
        fanout(k + 2 * plan.groups, "decoded bit weight -> lanes and groups"),
        gates("and2", 1, "lane's digit nonzero (code bits OR)"),
        gates("mux2", _clog2(dd), "lane's digit at the bit weight (AND-OR)"),
        gates("and2", 1, "pending = nonzero & ~consumed"),
    ]


def _pick_levels(group: int) -> int:
    """Gate levels of the lowest-pending-lane pick over ``group`` lanes: the OR of the
    lanes below the last one, then the AND with its own pending bit."""
    return _clog2(group - 1) + 1 if group > 1 else 0


def _sparse_paths(design: AdderTreeDesign) -> list[TimingPath]:
    plan = design.bitweight
    assert plan is not None and plan.flush_csa is not None
    assert design.weight_bits is not None
    dd, k, n, g = plan.digits, design.k, design.n, plan.group
    pick = _pick_levels(g)
    if g > 1:
        broadcast = [
            *_sparse_front(design),
            gates("and2", pick, "pick the lowest pending lane of the group"),
            fanout(n * design.weight_bits + 2 * dd + 1, "pick -> weight and digit muxes"),
            gates("mux2", _clog2(g), "picked lane's digit codes (AND-OR over lanes)"),
            gates("mux2", _clog2(dd), "picked digit at the bit weight (AND-OR)"),
        ]
    else:
        # One lane per group: its digit at the bit weight, gated by ~consumed.
        broadcast = [
            gates("and2", _decode_levels(dd), "decode bit weight (bw == j)"),
            fanout(k + 2 * plan.groups, "decoded bit weight -> lanes and groups"),
            gates("mux2", _clog2(dd), "lane's digit at the bit weight (AND-OR)"),
            gates("and2", 1, "gated by ~consumed"),
        ]
    pe = [
        *broadcast,
        gates("and2", 1, "digit sign (c1 & c0)"),
        gates("xor2", 1, "digit sign (sign ^ ...)"),
        fanout(n * plan.select_width, "broadcast digit -> every neuron's PE"),
        *_select("PE row"),
        gates("and2", 1, "addend gated by the group's valid"),
        csa(1, "carry-save accumulator"),
        gates("mux2", 1, "accumulator start / load enable"),
    ]
    done = [
        *_sparse_front(design),
        # Lane t is pending but not picked when a lower lane of its group is pending.
        gates("and2", max(1, pick), "pending and not picked"),
        gates("and2", _clog2(k), "bit weight done (OR over the lanes)"),
        gates("and2", 3, "last step, input ready, accept"),
    ]
    paths = [
        TimingPath("digit-sparse PE: pick, broadcast, select, accumulate", tuple(pe)),
        TimingPath(
            "digit-sparse sequencer: accept -> encoded input register",
            (
                *done,
                fanout(k * (2 * dd + 1) + k + 3, "accept -> input and sequencer registers"),
                _enable(),
            ),
        ),
        TimingPath(
            "digit-sparse sequencer: accept -> weight registers",
            (
                *done,
                gates("and2", max(1, _clog2(max(2, n))), "neuron decode"),
                fanout(k * design.weight_bits, "write enable net"),
                _enable(),
            ),
        ),
        TimingPath(
            "digit-sparse input port: encoder -> encoded input register",
            (*encoder_elements(design, digit=False), _enable()),
        ),
    ]
    flush = [
        csa(plan.flush_csa.depth, "flush: carry-save tree over the groups' pairs"),
        adder(plan.pe_width, "flush: carry-propagate adder"),
    ]
    shift = gates("mux2", _clog2(dd), "shift by the bit weight (AND-OR)")
    load = gates("mux2", 1, "accumulator / result load")
    # From the flush tag register: the decoded bit weight selects the shift, then the
    # accumulate adder's whole carry chain (with or without the pipeline register).
    tagged = TimingPath(
        "digit-sparse flush: bit weight tag, shift, accumulate",
        (
            gates("and2", _decode_levels(dd), "decode flush bit weight"),
            fanout(n * plan.width, "decoded bit weight -> shifters"),
            shift,
            adder(plan.width, "accumulate"),
            load,
        ),
    )
    if design.pipeline_stages:
        paths.append(TimingPath("digit-sparse flush: group sums", (*flush, _enable())))
    else:
        # The accumulate adder's carry chain follows the flush adder's: beyond it, what
        # remains is the chain through the accumulator's bits above the group sum.
        tail = adder(max(2, plan.width - plan.pe_width + 1), "accumulate (bits above the sum)")
        paths.append(
            TimingPath(
                "digit-sparse flush: group sums, shift, accumulate", (*flush, shift, tail, load)
            )
        )
    paths.append(tagged)
    return paths


def bitweight_paths(design: AdderTreeDesign) -> list[TimingPath]:
    """The datapath paths of a bit-weight design.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with bit-weight options.

    Returns
    -------
    list of TimingPath
        Carry save and same bit weight: per pipeline stage, the rows' path, and in the
        first stage also the path through the shared count of negative digits. Digit
        sparse: the PE accumulate path, the sequencer's accept paths, the input encoder,
        and the flush (one or two stages).
    """
    plan = design.bitweight
    assert plan is not None
    if plan.sparse:
        return _sparse_paths(design)
    if plan.carry_save:
        return _carry_save_paths(design)
    return _same_bitweight_paths(design)
