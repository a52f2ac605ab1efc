"""Cost model of the shift-add engine: its bill of materials (LUT builder and slots, lookup
muxes, shifters, plane-sum trees, accumulators) and the port activity for vectorless
synthesis power; :func:`lut_build_energy` prices one table load."""

from __future__ import annotations

import dataclasses

from ...design.base import range_width
from ...design.shiftadd import ShiftAddDesign
from ...design.tree import plan_tree, tree_adders
from ..cost import Item, price, unit_table

__all__ = [
    "builder_items",
    "entry_widths",
    "lookup_mux2",
    "bill_of_materials",
    "activity_profile",
    "lut_build_energy",
]


def builder_items(design: ShiftAddDesign) -> list[Item]:
    """The LUT builder, its input register and the table slots: busy only while a table is
    loaded (once per ``mu`` activations and vector, shared by all ``N`` rows).

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    list of Item
        The builder's items, all inactive in the steady state (their data energy is priced
        per table load by :func:`lut_build_energy`).
    """
    d = design
    sum_count, sum_bits = tree_adders(plan_tree([d.act_range] * d.mu))
    widths = entry_widths(d)
    # entries 1 .. 2**mu - 1: one adder each, as wide as the entry's exact range
    t0_bits, inc_bits = widths[0], sum(widths[1:])
    entry_bits = sum(widths)
    return [
        Item(
            "dffe",
            "act input register",
            d.mu * d.act_bits + (d.slot_bits if d.lut_slots > 1 else 0) + 1,
            active=False,
        ),
        Item("tree_adder", "LUT builder: group sum", sum_count, bits=sum_bits, active=False),
        Item("adder", "LUT builder: negation (entry 0)", 1, bits=t0_bits, active=False),
        Item(
            "adder", "LUT builder: incremental entries", d.entries - 1, bits=inc_bits, active=False
        ),
        # Each entry is stored at its exact width (the sign-extension bits of the uniform
        # table field duplicate a stored bit and are merged), and every entry's least
        # significant bit is the parity of the group (adding 2 x_s keeps it), stored once.
        Item("dffe", "table slots", d.lut_slots * (entry_bits - (d.entries - 1)), active=False),
        Item(
            "and2",
            "table slot write decode",
            d.lut_slots * d.slot_bits if d.lut_slots > 1 else 0,
            active=False,
        ),
    ]


def entry_widths(design: ShiftAddDesign) -> list[int]:
    """Exact width of every table entry (the builder's signals).

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    list of int
        Width in bits of entry ``T[key]``, for ``key`` 0 to ``2**mu - 1``.
    """
    return [range_width(*design.entry_range(key))[0] for key in range(design.entries)]


def lookup_mux2(design: ShiftAddDesign) -> int:
    """Distinct mux2 nodes of one lookup PE's ``2**mu``:1 tree after logic sharing.

    Bit 0 of every entry is the group's parity (``T[0]`` plus even numbers), one net, so
    it needs no mux; bits above an entry's exact width copy its sign bit, so a tree node
    whose entries are all narrower than bit ``b`` computes the same function for ``b`` as
    for ``b - 1`` and synthesis merges the two. A node over entries of widths ``w_e`` thus
    costs ``max(w_e) - 1`` mux2, not ``lut_width``.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    int
        The mux2 count of one lookup PE.
    """
    level = [[w] for w in entry_widths(design)]
    total = 0
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            span = level[i] + level[i + 1]
            total += max(span) - 1
            nxt.append(span)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return total


def _offset_alone(levels, depth: int) -> bool:
    """Whether the last node of ``levels[depth]`` is still the last leaf alone (an odd
    last node passes through every level unchanged)."""
    return all(len(levels[j]) % 2 for j in range(depth))


def bill_of_materials(design: ShiftAddDesign) -> list[Item]:
    """The building blocks of a shift-add engine.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    list of Item
        Every part with a nonzero count, priced by :func:`shiftadd.models.cost.estimate`.
    """
    d = design
    lookups = d.columns * d.q
    items = builder_items(d)
    items += [
        Item("dffe", "weight input register", d.weight_transfer_bits + 1),
        Item("mux2", "lookup PEs (2**mu:1 muxes)", lookups * lookup_mux2(d)),
    ]
    if d.lut_slots > 1:
        # Per entry, a slot tree over its exact width (sign copies merged, see lookup_mux2;
        # bit 0 differs between slots, so it is muxed here).
        items.append(
            Item("mux2", "table slot select (shared)", (d.lut_slots - 1) * sum(entry_widths(d)))
        )
    if d.shifter == "barrel":
        per_shifter = sum(width - 1 for width in d.barrel_stage_widths)
        leaf_width = range_width(*d.leaf_range)[0]
        terms = lookups * d.terms
        c, b = tree_adders(plan_tree([(0, 1)] * (d.q * d.terms)))
        items += [
            Item("mux2", "barrel shifters", terms * per_shifter),
            Item("xor2", "term sign inverters", terms * leaf_width),
            Item("and2", "term enables", terms * leaf_width),
            Item("and2", "negative-term flags", d.scale_sets * d.q * d.terms),
            Item("tree_adder", "negative-term counts", d.scale_sets * c, bits=d.scale_sets * b),
        ]
    else:
        negatives = sum(
            range_width(*d.leaf_range_of(s, g))[0] for *_, s, g in d.active_terms if g < 0
        )
        items.append(Item("xor2", "negative-term inverters", d.columns * negatives))
    count, bits = tree_adders(d.tree)
    items.append(Item("tree_adder", "plane-sum trees", d.columns * count, bits=d.columns * bits))
    for slot in d.register_slots:
        levels = d.tree.levels
        widths = [range_width(lo, hi)[0] for lo, hi in levels[slot]]
        flops = d.columns * sum(widths) + 1 + int(d.accumulates)
        # The offset leaf (count of negative terms) depends on the scale set only: while it
        # has not met a term it is the same register in every column of the set.
        if d.offset_range is not None and _offset_alone(levels, slot):
            flops -= (d.columns - d.scale_sets) * widths[-1]
        items.append(Item("dffe", f"pipeline register after layer {slot}", flops))
    acc = d.acc_width
    items.append(Item("dffe", "output register", d.columns * acc + 1))
    if d.accumulates:
        items += [
            Item("and2", "accumulator clear", d.columns * acc),
            Item("adder", "accumulators", d.columns, bits=d.columns * acc),
            Item("dffe", "accumulator registers", d.columns * acc),
            Item("dff", "accumulation state", 1),
        ]
    return [i for i in items if i.count]


def activity_profile(
    design: ShiftAddDesign, data_activity: float
) -> list[tuple[str, float, float]]:
    """Port switching while a layer streams (for vectorless synthesis power).

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.
    data_activity : float
        Toggles per cycle of a streamed data bit (0 to 1).

    Returns
    -------
    list of (str, float, float)
        ``(port glob, toggles per cycle, duty)`` rules, first match wins: weight payloads
        toggle at ``data_activity``, tables and activations are held.
    """
    # The steady state of a layer: a weight transfer every cycle (random key and scale
    # bits), tables held (a table load is one transfer in 1 + ceil(N / columns), so the
    # builder's energy is accounted per build, see lut_build_energy), output always read.
    return [
        ("weights__payload*", data_activity, 0.5),
        ("weights__valid", 0.0, 1.0),
        ("act__*", 0.0, 0.0),
        ("result__ready", 0.0, 1.0),
        ("rst", 0.0, 0.0),
        ("*", 0.0, 0.0),
    ]


def lut_build_energy(design: ShiftAddDesign, table=None, *, data_activity: float = 0.5) -> float:
    """Energy in pJ of loading one table: the data energy of the act register, the builder
    and the slot written, as if they toggled at ``data_activity`` for one cycle (their clock
    energy and leakage are in :func:`~shiftadd.models.cost.estimate`'s every-cycle figure).

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.
    table : UnitTable or str, optional
        Unit table, its name or file; default the calibrated IHP SG13G2 table.
    data_activity : float
        Toggles per cycle of the builder's data bits (0 to 1).

    Returns
    -------
    float
        Energy of one table load, in pJ.
    """
    table = unit_table(table)
    scale = data_activity / table.calibration_activity
    total = 0.0
    for item in builder_items(design):
        if item.part == "table slots":  # one slot of lut_slots is written
            item = dataclasses.replace(item, count=item.count / design.lut_slots)
        if item.count:
            total += scale * price(dataclasses.replace(item, active=True), table)[2]
    return total
