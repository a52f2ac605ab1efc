"""The adder-tree array's register-to-register paths (:mod:`shiftadd.models.timing`).

The generator (:mod:`shiftadd.hw.adder_tree_array`) builds, per neuron: the lane terms
(layer 0), the balanced adder tree (layers 1 to depth) with pipeline registers after the
layers :attr:`~shiftadd.design.adder_tree.AdderTreeDesign.register_slots` names, and, with a
threshold, the sign test and zero detect, into the output register. Every register loads
under the global ``advance`` enable, so each register input passes the enable's 2:1 mux, and
``advance`` itself (``~result.valid | result.ready``) drives every register of the array
through a buffer tree. The weight-load port counts a neuron's -1 weights with a popcount
tree (and subtracts the threshold) into the offset register, unpipelined.

With ``accumulate`` (:mod:`shiftadd.hw.adder_tree_mac`) the last stage also holds the
accumulator adder (cleared by ``first``) between the tree's root and the threshold test: it
adds one level to the tree's carry chains (the accumulator waits in its register), at the
signed width of the offset leaf, as do the tree adders whose result holds the offset; each
distinct mix of narrow count adders and wide ones on a way through the last stage is a
path, and the accumulator's own loop (clear gate, the adder's carry chain, the test) is one
too.
The input register loads every lane's weights, offset and flip bit each cycle, and the port
forms ``-T`` (gated by ``last``) on the way into it instead of a weight-load port.

Without ``accumulate``, a threshold's offset leaf holds ``-T``: from the level where it
joins, a path's adders carry into the sign bit the test reads, priced signed at the
count's width (the offset's upper bits, straight from a register, only pass the carry on);
each mix of count adders and joined ones through a stage is a path. The weight-load port
forms ``count - T`` at the offset's width: the count's top bit arrives last and its carry
runs on through the threshold's bits above it. After a multiplier, a stage reducing a
number of nodes that is not a power of two is as deep as log2 of it (its short branches
end early). With ``accumulate``, a chain from the offset's own node (no count adder before
it) is a ripple chain, a carry-propagate adder at the offset's width and a full adder per
further level; the accumulator's loop starts at the ``first`` flag's net into every
accumulator bit's clear and, when tree levels share its stage, passes a 3:2 level of the
multi-operand adder synthesis merges them into.
"""

from __future__ import annotations

import math

from ...design.adder_tree import AdderTreeDesign
from ...design.base import range_width
from ...design.tree import plan_tree
from ..timing import Element, TimingPath, adder, csa, fanout, gates, mult, tree
from .cost import SMALL_MULT_ROWS
from .timing_bitweight import bitweight_paths

__all__ = ["timing_paths", "term_elements", "register_bits", "offset_join_level"]


def term_elements(design: AdderTreeDesign) -> list[Element]:
    """The logic of layer 0, one lane's term: a multiplier or the mode's gates.

    Parameters
    ----------
    design : AdderTreeDesign
        A design without bit-weight options.

    Returns
    -------
    list of Element
        The lane's logic in series.
    """
    arith = design.arith
    if arith.multiplier:
        assert design.act_bits is not None and design.weight_bits is not None
        a, w = design.act_bits, design.weight_bits
        if min(a, w) <= SMALL_MULT_ROWS:
            # Two partial-product rows (cost.multiplier_items): AND gates, one row adder.
            return [
                gates("and2", 1, "lane multiplier: partial products"),
                adder(max(a, w) + 1, "lane multiplier: row adder"),
            ]
        return [mult(a, w, "lane multiplier")]
    return [gates(unit, 1, f"lane {part}") for unit, part in arith.lane_gates]


def register_bits(design: AdderTreeDesign) -> int:
    """Flip-flops the ``advance`` enable drives: input, pipeline and output registers.

    Parameters
    ----------
    design : AdderTreeDesign
        The design.

    Returns
    -------
    int
        Register bits with the pipeline's load enable.
    """
    d = design
    assert d.act_bits is not None
    bits = d.k * d.act_bits + 1 + d.n * d.output_bits_per_neuron + 1
    if d.accumulate:
        # The chunk's weights, offsets, flips and tags; the tags and flips in every
        # pipeline register; the accumulators (their enable adds a gate, not a new net).
        offset = range_width(*d.offset_range)[0]
        bits += d.n * (d.k + offset + 1) + 2 + len(d.register_slots) * (d.n + 2)
        bits += d.n * range_width(*d.accumulator_range)[0]
    if d.bitweight is None:
        for slot in d.register_slots:
            bits += d.n * d.tree.level_bits(slot) + 1
    else:
        bits += d.pipeline_stages * (d.n * d.bitweight.width + 1)
    return bits


def _level_width(design: AdderTreeDesign, level: int) -> tuple[int, bool]:
    """Width in bits and signedness of the typical (median) node of tree level ``level``
    (0: the leaves). The lanes' terms make up all nodes but the one the offset leaf joins,
    and a balanced tree's slowest path runs through the lanes' nodes: synthesis places
    the offset's wider, signed bits off the carry chains that set the delay."""
    nodes = sorted(design.tree.levels[level], key=lambda r: (r[1] - r[0], r[0]))
    lo, hi = nodes[(len(nodes) - 1) // 2]
    return range_width(lo, hi)[0], lo < 0


def _tail(design: AdderTreeDesign) -> list[Element]:
    """Logic after the last tree level: the threshold test, then the output enable mux."""
    d = design
    out: list[Element] = []
    if d.threshold:
        root = range_width(*(d.accumulated_range if d.accumulate else d.tree.root))[0]
        # The zero detect over the sum's bits runs beside the carry chain; only its last
        # gate follows the top bit.
        out.append(gates("and2", 1 if root > 1 else 0, "threshold zero detect"))
        out.append(gates("mux2", 1, "threshold select"))
    return out


def offset_join_level(design: AdderTreeDesign) -> int:
    """The tree level whose adder first adds the offset leaf to terms (the offset passes
    alone through the levels below it: an odd last node).

    Parameters
    ----------
    design : AdderTreeDesign
        A design with an offset leaf.

    Returns
    -------
    int
        The level, from 1 to the tree's depth.
    """
    # The same tree with the offset leaf at 0: its last node is empty until the join.
    counts = plan_tree((*design.leaf_ranges[:-1], (0, 0)))
    return next(j for j, level in enumerate(counts.levels) if j and level[-1] != (0, 0))


def _accumulating_levels(
    design: AdderTreeDesign,
    lo_level: int,
    hi_level: int,
    width: int,
    signed: bool,
    *,
    accumulator: bool = True,
) -> list[list[Element]]:
    """Tree levels ``lo_level`` to ``hi_level`` of the last stage, then the accumulator
    adder (``accumulate``): the logic of each distinct path through them.

    The accumulator adder continues the tree's carry chains as one more level (the
    accumulator waits in its register while the root settles), but at the accumulated
    sum's full width: the adders whose result holds the offset leaf (the last node of
    each level, from the one where the offset joins) are as wide as the signed offset, so
    a path's chain runs across that width from its first such adder on. Before it a path
    adds narrow term counts. An odd last node passes a level without an adder, so paths
    from different nodes hold different numbers of each: one list per distinct
    ``(narrow, wide)`` pair.

    Without ``accumulator`` (a tree whose offset leaf holds the threshold, any stage): the
    same paths without the accumulator adder; the wide adders' top bit is the sign the
    threshold test reads, so their carry chains set the stage's delay once the offset has
    joined."""
    d = design
    levels = d.tree.levels
    # One-chunk outputs leave a 1-bit accumulator that only ever holds 0, which synthesis
    # folds into the root adder as its carry-in: no level of its own.
    acc = 1 if accumulator and d.max_chunks > 1 else 0
    pairs = set()
    for start in range(len(levels[lo_level - 1])):
        node, narrow, wide = start, 0, 0
        for j in range(lo_level, hi_level + 1):
            below = len(levels[j - 1])
            added = node < below - 1 or below % 2 == 0  # else: an odd last node passes
            node //= 2
            if added and node == len(levels[j]) - 1:  # the last node holds the offset
                wide += 1
            elif added:
                narrow += 1
        pairs.add((narrow, wide + acc))
    # With the accumulator the wide chains run at the accumulated offset's width. Without
    # it the -T leaf's bits come straight from a register: the carry chain runs across the
    # count's bits and only ripples on through the offset's upper bits into the sign, so
    # the adders are priced at the count's width, signed.
    offset_width = range_width(*d.offset_range)[0] if accumulator else width
    out = []
    for narrow, wide in sorted(pairs):
        elements = []
        if narrow:
            elements.append(tree(narrow, width, signed, f"{narrow} count adder levels"))
        if not wide:
            out.append(elements)
            continue
        # "wide": signed (at the offset's width with the accumulator).
        tree_levels = wide - acc
        what = f"{tree_levels} wide adder level{'s' if tree_levels != 1 else ''}"
        if acc:
            what = f"{what} + accumulator adder" if tree_levels else "accumulator adder"
        if narrow or not accumulator:
            elements.append(tree(wide, offset_width, True, what, after=narrow))
        else:
            # From the offset's own node: its adders add narrow counts to the wide offset
            # in series, a ripple chain whose carries overlap: one carry-propagate adder
            # at the offset's width, then a full adder per further level.
            elements.append(adder(offset_width, f"{what}: first"))
            if wide > 1:
                elements.append(csa(wide - 1, f"{what}: further levels, carries overlapping"))
        out.append(elements)
    return out


def _enable() -> Element:
    return gates("mux2", 1, "register load enable")


def datapath_paths(design: AdderTreeDesign) -> list[TimingPath]:
    """The datapath between the input register and the output register, one path per
    pipeline stage.

    Parameters
    ----------
    design : AdderTreeDesign
        A design without bit-weight options.

    Returns
    -------
    list of TimingPath
        One path per pipeline stage, in order.
    """
    d = design
    layers = d.logic_layers
    bounds = [-1, *d.register_slots, layers - 1]
    paths = []
    for i in range(len(bounds) - 1):
        first, last = bounds[i] + 1, bounds[i + 1]
        elements: list[Element] = []
        if first == 0:
            elements += term_elements(d)
        lo_level, hi_level = max(1, first), last
        if hi_level >= lo_level:
            levels = hi_level - lo_level + 1
            width, signed = _level_width(d, lo_level - 1)
            what = f"adder levels {lo_level}-{hi_level}"
            if first == 0 and d.arith.multiplier:
                # The products' carry chains run on into the tree: it continues the
                # multiplier's partial-product tree (weight_bits rows of act_bits bits).
                # A level count that is not a power of two leaves short branches: the
                # carry chains are as long as log2 of the nodes the stage reduces.
                assert d.act_bits is not None and d.weight_bits is not None
                a, w = d.act_bits, d.weight_bits
                nodes = len(d.tree.levels[lo_level - 1]) / len(d.tree.levels[hi_level])
                if min(a, w) <= SMALL_MULT_ROWS:
                    # The lanes' two AND rows are leaves of the stage's tree: their row
                    # adder is its first level (one balanced tree over 2 x nodes rows).
                    elements = elements[:-1]  # the row adder: the tree's first level
                    rows = math.log2(nodes) + 1
                    elements.append(tree(rows, max(a, w), signed, f"row adders + {what}"))
                else:
                    elements.append(tree(math.log2(nodes), a, signed, what, after=math.log2(w)))
            elif d.accumulate and i == len(bounds) - 2:
                name = f"datapath stage {i + 1} (layers {first}-{last})"
                for j, chain in enumerate(
                    _accumulating_levels(d, lo_level, hi_level, width, signed)
                ):
                    path = [*elements, *chain, *_tail(d), _enable()]
                    paths.append(TimingPath(f"{name}, path {j + 1}" if j else name, tuple(path)))
                continue
            elif d.threshold and not d.accumulate:
                # The offset leaf holds -T: once it joins, a path's adders carry into the
                # sign the test reads, signed (one path per mix of count and joined adders).
                name = f"datapath stage {i + 1} (layers {first}-{last})"
                last_stage = i == len(bounds) - 2
                chains = _accumulating_levels(
                    d, lo_level, hi_level, width, signed, accumulator=False
                )
                for j, chain in enumerate(chains):
                    path = [*elements, *chain, *(_tail(d) if last_stage else []), _enable()]
                    paths.append(TimingPath(f"{name}, path {j + 1}" if j else name, tuple(path)))
                continue
            else:
                elements.append(tree(levels, width, signed, what))
        elif d.accumulate and i == len(bounds) - 2:
            # The root is registered: the accumulator adder alone, from registers.
            elements.append(adder(range_width(*d.accumulated_range)[0], "accumulator adder"))
        if i == len(bounds) - 2:
            elements += _tail(d)
        elements.append(_enable())
        paths.append(TimingPath(f"datapath stage {i + 1} (layers {first}-{last})", tuple(elements)))
    if d.accumulate:
        # The accumulator's own loop: register (or the ``first`` flag's net), clear gate,
        # the adder's full carry chain, the threshold test into the output register (and
        # back into the accumulator).
        acc_bits = range_width(*d.accumulated_range)[0]
        # With tree levels in the last stage, synthesis merges them and the accumulator
        # adder into one multi-operand adder: the accumulator operand passes a 3:2
        # compressor level before the carry-propagate adder.
        merged = bounds[-1] >= max(1, bounds[-2] + 1)
        loop: list[Element] = [
            # The registered ``first`` flag clears every accumulator bit of every neuron.
            fanout(d.n * acc_bits, "first -> every accumulator's clear"),
            gates("and2", 1, "accumulator clear (first)"),
            *([csa(1, "merged with the tree's last level (3:2)")] if merged else []),
            adder(acc_bits, "accumulator adder"),
            *_tail(d),
            _enable(),
        ]
        paths.append(TimingPath("accumulator loop (acc -> sum -> threshold)", tuple(loop)))
    return paths


def control_paths(design: AdderTreeDesign) -> list[TimingPath]:
    """The load enable's path and the weight-load port's paths.

    Parameters
    ----------
    design : AdderTreeDesign
        The design.

    Returns
    -------
    list of TimingPath
        The ``advance`` enable into every register, the weight write enable into a
        neuron's weight registers and, with an offset leaf, the offset computation.
    """
    d = design
    assert d.weight_bits is not None
    weight_bits = d.k * d.weight_bits
    advance_loads = register_bits(d) + d.n
    if d.accumulate:
        return [
            TimingPath(
                "load enable (result.ready -> every register)",
                (
                    gates("and2", 1, "advance = ~valid | ready"),
                    fanout(advance_loads, "advance net"),
                    _enable(),
                ),
            ),
            TimingPath(
                "chunk port: offset = last ? -T : 0",
                (
                    adder(range_width(*d.offset_range)[0], "-T"),
                    gates("and2", 1, "gated by last"),
                    _enable(),
                ),
            ),
        ]
    paths = [
        TimingPath(
            "load enable (result.ready -> every register)",
            (
                gates("and2", 1, "advance = ~valid | ready"),
                fanout(advance_loads, "advance net"),
                _enable(),
            ),
        ),
        TimingPath(
            "weight write enable",
            (
                gates("and2", 1, "advance = ~valid | ready"),
                fanout(advance_loads, "advance net"),
                gates("and2", max(1, math.ceil(math.log2(max(2, d.n)))), "neuron decode"),
                fanout(weight_bits, "write enable net"),
                _enable(),
            ),
        ),
    ]
    if d.has_offset_leaf and d.arith.complements:
        # k leaves: a balanced tree ceil(log2 k) deep whose carry chains are as long as a
        # full tree of log2(k) levels (its short branches end early).
        count_levels = max(1.0, math.log2(d.k))
        elements: list[Element] = [tree(count_levels, 1, False, "count of -1 weights")]
        if d.threshold:
            # count - T at the offset's signed width: the count's top bit arrives last and
            # its carry runs on through T's bits above the count, a carry-propagate chain
            # from that bit to the offset's sign.
            count_bits = d.k.bit_length()
            offset_bits = range_width(*d.offset_range)[0]
            elements.append(
                adder(
                    max(1, offset_bits - count_bits + 1),
                    "offset - threshold (carry above the count)",
                )
            )
        elements.append(_enable())
        paths.append(TimingPath("weight-load port: offset", tuple(elements)))
    return paths


def timing_paths(design: AdderTreeDesign) -> list[TimingPath]:
    """Every register-to-register path of an adder-tree design.

    Parameters
    ----------
    design : AdderTreeDesign
        The design.

    Returns
    -------
    list of TimingPath
        Datapath stages, the load enable and the weight-load port.
    """
    if design.bitweight is not None:
        return bitweight_paths(design) + control_paths(design)
    return datapath_paths(design) + control_paths(design)
