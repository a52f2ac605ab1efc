"""The shift-add engine's register-to-register paths (:mod:`shiftadd.models.timing`).

The generator (:mod:`shiftadd.hw.shiftadd_engine`) has two independent pipelines.

**The LUT builder** (:class:`~shiftadd.hw.shiftadd_lut.LutBuilder`) runs from the activation
input register straight into the table-slot flip-flops, unpipelined whatever
``pipeline_stages`` is. Its longest chain is the group sum ``T[0] = -(x_0 + ... +
x_{mu-1})`` (a balanced tree of ``ceil(log2 mu)`` adder levels over ``act_bits``-bit signed
leaves, then its negation, a carry-propagate operation synthesis keeps apart), then the
incremental entries ``T[2**(s+1) - 1] = T[2**s - 1] + 2 x_s``: ``mu`` carry-propagate adders
in series up to ``T[2**mu - 1]``, each kept apart because its entry is also stored. In such
a chain of ripple adders the carries overlap: the first adder costs a whole
``lut_width``-bit carry-propagate adder, each further one a full adder on the diagonal
(priced as a 3:2 compressor level, the calibrated full-adder delay). The negation is one
more adder of the chain (OpenSTA's worst path of a ``mu = 2`` builder passes four sum
stages: group sum, negation, two entries); a group sum of one adder (``mu = 2``) heads the
chain itself, a multi-level one is the balanced tree and the chain starts after it
(:func:`entry_chain`). An entry feeds the
adders of every entry above it (``mu - s`` for ``T[2**s - 1]``, two gate inputs per operand
bit) and its flip-flop in each of the ``lut_slots`` table slots, a fan-out net after each
adder; the activation ``x_{mu-1}``
feeds the group sum and the ``2**(mu-1)`` adders of the upper entries; the table write
enable selects the new entry at every slot flip-flop (a mux2).

**The datapath** runs from the weight input register through ``logic_layers`` layers into
the output register, with ``pipeline_stages`` registers after the layers
:attr:`~shiftadd.design.shiftadd.ShiftAddDesign.register_slots` names. Layer 0 is the lookup
and shift layer: the shared slot mux (``ceil(log2 lut_slots)`` levels, select bit 0 driving
a mux per bit of every table entry: with two slots a ``mux2`` cell per bit, with more an
AND-OR-invert decode; the select net a tree of weak buffers, :func:`weak_buffer_net`) and
the lookup PE (a ``2**mu``:1 mux tree, key bit 0
driving ``2**(mu-1)`` muxes per entry bit; a table bit drives ``columns * q`` lookups), both
trees of 2:1 muxes whose nodes feed one node each, which synthesis maps onto AND-OR-invert
cells, priced as and2 levels; then per term the barrel shifter (``shift_bits`` stages, each
output driving two muxes of the next stage, priced as mux2 levels; a shift bit drives one
stage of the ``scale_rows`` columns sharing it), the sign's inversion (XOR) and the term
enable (AND); with constant scales the shifts are wiring, and the constant low bits they
leave generate no carry: an adder's chain starts above its addends' constant bits. Layers
1 to depth are the plane-sum tree's levels; synthesis merges a stage's adder levels into
one multi-operand adder, so every leaf, including the count of negative terms (an AND per
term flag, then a popcount tree over ``q * terms`` bits, barrel scales only), passes all
the levels of the stage. The last stage ends in the accumulator, a two-input adder after
the tree's root that synthesis keeps apart (:func:`accumulator_chain`), or directly in the
output register.

Every register loads under the global ``advance`` enable (``~result.valid |
result.ready``) through a 2:1 enable mux at its input; ``advance`` drives every register of
the engine through a buffer tree, its AND with the activation valid (and the slot decode)
every flip-flop of the table slot written, and the ``fresh`` flag the accumulator clear of
every column.
"""

from __future__ import annotations

import math

from ...design.base import range_width
from ...design.shiftadd import ShiftAddDesign
from ..timing import (
    FLOP_DRIVEN_LOADS,
    Element,
    TimingPath,
    adder,
    csa,
    fanout,
    gates,
    tree,
    weak_buffer_net,
)
from .cost import entry_widths

__all__ = [
    "FLOP_DRIVEN_LOADS",
    "timing_paths",
    "builder_paths",
    "entry_chain",
    "accumulator_chain",
    "layer0_prefixes",
    "weak_buffer_net",
    "datapath_paths",
    "control_paths",
    "register_bits",
]

#: Gate inputs one operand bit of a carry-propagate adder drives (its sum and carry logic).
ADDER_INPUT_LOADS = 2


def _log2_ceil(n: int) -> int:
    return math.ceil(math.log2(n)) if n > 1 else 0


def _enable() -> Element:
    return gates("mux2", 1, "register load enable")


def _popcount_levels(design: ShiftAddDesign) -> float:
    """Adder levels of the count of negative terms (barrel scales; 0 without one): a
    popcount's short branches end early, as deep as a full tree of ``log2`` of its flags."""
    flags = design.q * design.terms
    return math.log2(flags) if design.shifter == "barrel" and flags > 1 else 0.0


def entry_chain(design: ShiftAddDesign) -> list[Element]:
    """The builder's carry-propagating logic from the activations to the last entry.

    The chain is the group sum, its negation ``T[0] = -(x_0 + ... + x_{mu-1})`` (a
    carry-propagate operation of its own: synthesis keeps it apart from the sum, whose
    result it reads) and the ``mu`` incremental entry adders. Two-input ripple adders in
    series overlap their carries: the first costs a whole carry-propagate adder (at the
    entries' width, where the chain's carries end), each further one a full adder on the
    diagonal (priced as a 3:2 compressor level). A group of one or two activations sums in
    at most one such adder, which heads the chain; a group of three or more is a
    multi-operand adder (a balanced tree of ``log2 mu`` levels; a group that is not a power
    of two leaves short branches, as deep as a full tree of ``log2 mu`` levels), after
    which the negation starts a new chain.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    list of Element
        The chain's elements in series.
    """
    d = design
    group_levels = math.log2(d.mu)
    if group_levels <= 1:
        # Group sum (none for one activation), negation, mu entry adders: one chain.
        steps = int(group_levels) + d.mu
        first, rest = ("group sum", "negation and entry") if d.mu > 1 else ("negation", "entry")
        return [
            adder(d.lut_width, f"{first} (first adder of the chain)"),
            csa(steps, f"{steps} further {rest} adders, carries overlapping"),
        ]
    return [
        tree(group_levels, d.act_bits, True, f"group sum ({d.mu} activations)"),
        adder(d.lut_width, "negation T[0] = -(group sum)"),
        csa(d.mu, f"{d.mu} entry adders, carries overlapping"),
    ]


def builder_paths(design: ShiftAddDesign) -> list[TimingPath]:
    """The LUT builder: activation register to the table slots.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    list of TimingPath
        The chain from the group sum through the last incremental entry.
    """
    d = design
    # x_{mu-1} feeds a group-sum adder and the 2**(mu-1) adders of the upper entries.
    loads = ADDER_INPUT_LOADS * ((1 << (d.mu - 1)) + 1)
    elements: list[Element] = [
        fanout(loads, f"activation x{d.mu - 1} to its entry adders"),
        *entry_chain(d),
    ]
    # The chain's entry T[2**s - 1] feeds the adders of the entries above it (mu - s of them,
    # T[0] all mu) and its flip-flop in every table slot.
    elements += [
        fanout(
            ADDER_INPUT_LOADS * (d.mu - s) + d.lut_slots, f"entry T[{(1 << s) - 1}] to its adders"
        )
        for s in range(d.mu)
    ]
    elements.append(gates("mux2", 1, "table slot write enable"))
    return [TimingPath("LUT builder (act register -> table slot)", tuple(elements))]


def layer0_prefixes(design: ShiftAddDesign) -> list[tuple[str, list[Element], float]]:
    """Layer 0 (lookup and shift) from each of its start points.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    list of (str, list of Element, int)
        ``(start point, logic in series up to a plane-tree leaf, carry-propagating levels
        the leaf comes out of)``: the levels are 0 except for the count of negative terms,
        a popcount whose carry chains overlap the plane tree's.
    """
    d = design
    lookups = d.columns * d.q
    lookup = gates("and2", d.mu, f"lookup PE ({d.entries}:1 mux tree)")
    shift: list[Element] = []
    if d.shifter == "barrel":
        shift = [
            gates("mux2", d.shift_bits, f"barrel shifter ({d.shift_bits} stages)"),
            gates("xor2", 1, "term sign inversion"),
            gates("and2", 1, "term enable"),
        ]
    out: list[tuple[str, list[Element], float]] = [
        (
            "weight keys",
            [
                fanout((1 << (d.mu - 1)) * d.lut_width, "key bit 0 to its lookup muxes"),
                lookup,
                *shift,
            ],
            0,
        )
    ]
    if d.lut_slots > 1:
        slot_loads = (d.lut_slots // 2) * sum(entry_widths(d))
        # Two slots: a mux2 cell per table bit, its select pin on the net; more slots
        # decode the select bits into AND-OR-invert cells (and2 levels).
        slot_mux = [
            weak_buffer_net(slot_loads, "slot select bit 0 to the slot muxes"),
            gates(
                "mux2" if d.lut_slots == 2 else "and2",
                _log2_ceil(d.lut_slots),
                f"table slot mux ({d.lut_slots}:1)",
            ),
        ]
        out.append(
            (
                "slot select",
                [*slot_mux, fanout(lookups, "table bit to every lookup PE"), lookup, *shift],
                0,
            )
        )
    else:
        out.append(
            ("table slot", [fanout(lookups, "table bit to every lookup PE"), lookup, *shift], 0)
        )
    assert d.scale_rows is not None  # set by ShiftAddDesign.__post_init__
    if d.shifter == "barrel":
        leaf_width = range_width(*d.leaf_range)[0]
        stage0 = d.barrel_stage_widths[0]
        out.append(
            (
                "shift amounts",
                [fanout(d.scale_rows * stage0, "shift bit 0 to its shifter stage"), *shift],
                0,
            )
        )
        levels = _popcount_levels(d)
        out.append(
            (
                "term signs",
                [
                    fanout(d.scale_rows * leaf_width, "sign bit to its term's inverters"),
                    gates("and2", 1, "negative-term flag"),
                    tree(levels, 1, False, f"count of negative terms ({d.q * d.terms} flags)"),
                ],
                levels,
            )
        )
    return out


def _constant_low_bits(design: ShiftAddDesign) -> list[list[int | None]]:
    """Per plane-tree level and node, how many low bits are constants (None: the whole
    node is a constant, the offset leaf).

    A constant shift ``s`` leaves ``s`` constant low bits in its leaf (zeros, or ones in a
    one's complement); barrel leaves have none. A sum's low bits are constants where
    both addends' are."""
    d = design
    low: list[int | None] = [s if d.shifter == "constant" else 0 for *_, s, _ in d.active_terms]
    if d.offset_range is not None:
        low.append(None)
    out = [low]
    while len(low) > 1:
        nxt: list[int | None] = []
        for i in range(0, len(low) - 1, 2):
            a, b = low[i], low[i + 1]
            nxt.append(b if a is None else a if b is None else min(a, b))
        if len(low) % 2:
            nxt.append(low[-1])
        low = nxt
        out.append(low)
    return out


def _level_width(design: ShiftAddDesign, level: int) -> tuple[int, bool]:
    """Widest carry chain of the adders reducing plane-tree level ``level`` (0: the leaves),
    as a leaf width, and whether any node is signed.

    An adder's chain starts above the constant low bits of its addends: below the higher
    of the two counts only one addend (or neither) has live bits and no carry forms, and
    a constant addend (the offset leaf) only passes a carry along the other's live bits.
    With constant shifts synthesis removes those bits' logic; a node passing the level
    alone keeps its width."""
    nodes = design.tree.levels[level]
    signed = any(lo < 0 for lo, _ in nodes)
    widths = [range_width(lo, hi)[0] for lo, hi in nodes]
    low = _constant_low_bits(design)[level]
    chains = [w - (low[i] or 0) for i, w in enumerate(widths)]
    for i in range(0, len(nodes) - 1, 2):
        a, b = low[i], low[i + 1]
        if a is None or b is None:
            live = low[i + 1] if a is None else a
            start = live or 0
        else:
            start = max(a, b)
        chains[i] = chains[i + 1] = max(widths[i], widths[i + 1]) - start
    return max(1, max(chains)), signed


def _stage_tree(
    design: ShiftAddDesign, lo_level: int, hi_level: int, accumulate: bool, after: float = 0
) -> list[Element]:
    """Adder levels ``lo_level`` to ``hi_level`` of the plane tree, then the accumulator
    adder when it follows in the same stage (:func:`accumulator_chain`)."""
    d = design
    levels = max(0, hi_level - lo_level + 1)
    if levels == 0:
        return [adder(d.acc_width, "accumulator adder")] if accumulate else []
    width, signed = _level_width(d, lo_level - 1)
    out = [tree(levels, width, signed, f"plane-tree levels {lo_level}-{hi_level}", after=after)]
    if accumulate:
        out += accumulator_chain(d)
    return out


def accumulator_chain(design: ShiftAddDesign) -> list[Element]:
    """The accumulator adder after the plane tree's root, in the same stage.

    Synthesis keeps ``acc + sext(root)`` a two-input adder of its own (never merged with
    the tree's multi-operand adder): a ripple adder in series with the root's. Their
    carries overlap up to the root's top bit, one full-adder step on the diagonal (the
    ``csa`` unit, as the LUT builder's chained entries, :func:`entry_chain`); the root's
    sign, the last bit to settle, is extended over the accumulator's bits above the root,
    and the accumulator's carry runs on through them: a carry-propagate adder over those
    ``acc_width - root_width`` bits plus the root's top bit and the carry out.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine (accumulating).

    Returns
    -------
    list of Element
        The full-adder step and the carry through the sign extension.
    """
    d = design
    root = range_width(*d.tree.root)[0]
    top = max(1, d.acc_width - root) + 2
    return [
        csa(1, "accumulator adder, carries overlapping the root's"),
        adder(top, f"accumulator carry through the root's sign extension ({top} bits)"),
    ]


def datapath_paths(design: ShiftAddDesign) -> list[TimingPath]:
    """The datapath, one path per pipeline stage (layer 0 from each of its start points).

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    list of TimingPath
        The paths of every stage, in order.
    """
    d = design
    layers = d.logic_layers
    bounds = [-1, *d.register_slots, layers - 1]
    paths = []
    for i in range(len(bounds) - 1):
        first, last = bounds[i] + 1, bounds[i + 1]
        accumulate = i == len(bounds) - 2 and d.accumulates
        name = f"datapath stage {i + 1} (layers {first}-{last})"
        if first == 0:
            for start, prefix, after in layer0_prefixes(d):
                body = _stage_tree(d, 1, last, accumulate, after)
                paths.append(TimingPath(f"{name} from {start}", (*prefix, *body, _enable())))
        else:
            body = _stage_tree(d, first, last, accumulate)
            paths.append(TimingPath(name, (*body, _enable())))
    return paths


def register_bits(design: ShiftAddDesign) -> int:
    """Flip-flops loaded under ``advance`` directly: input, pipeline, accumulator and
    output registers (the table slots load under their own write enable).

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    int
        Register bits with the pipeline's load enable.
    """
    d = design
    bits = d.mu * d.act_bits + (d.slot_bits if d.lut_slots > 1 else 0) + 1
    bits += d.weight_transfer_bits + 1
    for slot in d.register_slots:
        bits += d.columns * d.tree.level_bits(slot)
        bits += 1 + int(d.accumulates)
    bits += d.columns * d.acc_width + 1
    if d.accumulates:
        bits += d.columns * d.acc_width + 1
    return bits


def control_paths(design: ShiftAddDesign) -> list[TimingPath]:
    """The global enable into every register, the table write enable and the accumulator
    clear.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    list of TimingPath
        ``advance`` into every register, the slot write enable into a table slot's
        flip-flops and, when the engine accumulates, ``fresh`` through the accumulator.
    """
    d = design
    advance = (
        gates("and2", 1, "advance = ~valid | ready"),
        fanout(register_bits(d) + d.lut_slots, "advance net"),
    )
    decode = 1 + (_log2_ceil(d.slot_bits) + 1 if d.lut_slots > 1 else 0)
    paths = [
        TimingPath("load enable (result.ready -> every register)", (*advance, _enable())),
        TimingPath(
            "table write enable (advance & act valid -> table slot)",
            (
                *advance,
                gates("and2", decode, "act valid & slot decode"),
                fanout(d.entries * d.lut_width, "slot write enable net"),
                gates("mux2", 1, "table slot write enable"),
            ),
        ),
    ]
    if d.accumulates:
        paths.append(
            TimingPath(
                "accumulator clear (fresh -> accumulator adder)",
                (
                    fanout(d.columns * d.acc_width, "fresh net"),
                    gates("and2", 1, "accumulator clear"),
                    adder(d.acc_width, "accumulator adder"),
                    _enable(),
                ),
            )
        )
    return paths


def timing_paths(design: ShiftAddDesign) -> list[TimingPath]:
    """Every register-to-register path of a shift-add engine.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    list of TimingPath
        The LUT builder, the datapath stages and the control paths.
    """
    return builder_paths(design) + datapath_paths(design) + control_paths(design)
