"""Cost model of the shift-add engine: its bill of materials (LUT builder and slots, lookup
muxes, shifters, plane-sum trees, accumulators) and the port activity for vectorless
synthesis power; :func:`lut_build_energy` prices one table load.

The bill counts what synthesis keeps. With constant scales (:func:`plane_tree`) shifts are
wiring: a leaf shifted by ``s`` has ``s`` constant low bits that neither adders nor
registers carry, a plane's shifted copies are one set of nets, equal terms add as a shift,
the offset is a constant (a half-adder chain, one register for all columns), and planes
without a term lose their lookups and keys (:func:`used_planes`). In the steady state the
tables, activations and the scale fields of the weight transfers are held (a quantization
group spans many consecutive transfers), and a result sums the ``lut_slots`` transfers of a
K-tile (:func:`accumulation_length`): the output register loads once per result, the
accumulator on the other transfers.

On data (:func:`data_activity`, :func:`design_codes`), each item follows the nets that drive
it (``Item.driver``): the weight register the transfers' key bits, lookups, shifters and
inverters the looked-up entries and plane-tree leaves (``term``), adders, later pipeline
registers, accumulators and results the sums (``sum``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from ...design.base import range_width
from ...design.shiftadd import ShiftAddDesign
from ...design.tree import plan_tree, tree_adders
from ...errors import InputError
from ...workloads.activity_stats import DataActivity, act_codes, zero_fraction
from ..cost import Item, price, unit_table
from ..data_activity import MAX_VECTORS, ratio, tree_toggles, value_toggles
from ..lutgemm import alpha_int_from_terms, build_luts
from .codes import pack_weight_codes, unpack_weight_codes
from .golden import engine_scales

__all__ = [
    "builder_items",
    "entry_widths",
    "lookup_mux2",
    "PlaneTree",
    "plane_tree",
    "used_planes",
    "accumulation_length",
    "bill_of_materials",
    "activity_profile",
    "lut_build_energy",
    "design_codes",
    "data_activity",
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


@dataclasses.dataclass(frozen=True)
class _Node:
    """A plane-tree node as synthesis sees it: ``width`` bits, of which the ``low`` least
    significant are constants of value ``const``; ``key`` names a constant-shift leaf
    ``(plane, shift, sign)`` (equal keys are the same nets); ``fixed``: every bit constant."""

    width: int
    low: int = 0
    const: int = 0
    key: tuple[int, int, int] | None = None
    fixed: bool = False

    @property
    def varying(self) -> int:
        """Bits that are not constants (what a register of the node holds)."""
        return 0 if self.fixed else self.width - self.low


@dataclasses.dataclass(frozen=True)
class PlaneTree:
    """One column's plane-sum tree as synthesis builds it (see :func:`plane_tree`).

    Parameters
    ----------
    adders : int
        Two-input adders with a carry chain (both operands varying).
    adder_bits : int
        Their summed widths, the bits where both operands vary.
    half_bits : int
        Bits where a varying operand meets a nonzero constant (the other operand's constant
        low bits, the constant offset): a half-adder chain, an XOR and an AND (OR) a bit.
    level_bits : tuple of int
        Per tree level, the varying bits one column registers after it: a level-0 register
        of a constant-scale design holds each plane's looked-up value once per sign (its
        shifted copies are the same nets); the constant offset is not included.
    offset_flops : int
        Flops of a register slot that holds the constant offset alone (its set bits, one
        copy for all columns: the flops of equal constants merge).
    root_zero_bits : int
        Least significant bits of the column sum that are constant zeros (the smallest
        constant shift): wiring in the accumulator's adder.
    """

    adders: int
    adder_bits: int
    half_bits: int
    level_bits: tuple[int, ...]
    offset_flops: int
    root_zero_bits: int


def _trailing_zeros(value: int) -> int:
    return (value & -value).bit_length() - 1


def _add(x: _Node, y: _Node, width: int) -> tuple[_Node, int, int]:
    """The node ``x + y`` of ``width`` bits and its ``(carry-chain bits, half-adder bits)``.

    Below the shorter constant run both operands are constants (the sum is a constant);
    up to the longer one a varying operand meets constant bits (wiring where they and the
    carry are zero, else a half-adder chain from the lowest nonzero bit); above, both
    vary. A leaf added to itself is the leaf shifted by one: wiring."""
    if x.key is not None and x.key == y.key:
        low = x.low + 1
        return _Node(width, low, (x.const << 1) & ((1 << low) - 1)), 0, 0
    if x.fixed and y.fixed:
        return _Node(width, width, x.const + y.const, fixed=True), 0, 0
    # z: the operand with the longer constant run, o: the other (varying from o.low up)
    z, o = (x, y) if x.fixed or (not y.fixed and x.low >= y.low) else (y, x)
    lo = min(o.low, width)
    hi = width if z.fixed else min(z.low, width)
    mask = (1 << lo) - 1
    low_sum = (o.const & mask) + (z.const & mask)
    span = hi - lo
    mixed = ((z.const >> lo) & ((1 << span) - 1)) + (low_sum >> lo)
    half = 0 if mixed % (1 << span) == 0 else span - _trailing_zeros(mixed)
    return _Node(width, lo, low_sum & mask), width - hi, half


def _leaves(design: ShiftAddDesign) -> list[_Node]:
    """The tree's leaves (plus the offset leaf): constant shifts leave ``shift`` constant
    low bits (zeros, or ones for a one's complement), constant scales a constant offset."""
    d = design
    constant = d.shifter == "constant"
    nodes = []
    for i, _, s, g in d.active_terms:
        width = range_width(*d.leaf_range_of(s, g))[0]
        if constant:
            nodes.append(_Node(width, s, 0 if g > 0 else (1 << s) - 1, (i, s, g)))
        else:
            nodes.append(_Node(width))
    if d.offset_range is not None:
        width = range_width(*d.offset_range)[0]
        if constant:
            nodes.append(_Node(width, width, d.offset_range[0], fixed=True))
        else:
            nodes.append(_Node(width))
    return nodes


def plane_tree(design: ShiftAddDesign) -> PlaneTree:
    """One column's plane-sum tree as synthesis builds it.

    With barrel shifters every leaf bit varies: each tree node is an adder as wide as its
    range (:func:`~shiftadd.design.tree.tree_adders`). With constant scales the shifts are
    wiring, so a leaf shifted by ``s`` has ``s`` constant low bits and the offset leaf is a
    constant: an adder only carries where both operands vary, adds a constant where one
    does (a half-adder chain), a term added to an equal term (same plane, shift and sign)
    is a shift, and registers hold only the varying bits, each plane's looked-up value once
    per sign at the leaves.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    PlaneTree
        Adders, half-adder bits and registered bits of one column.
    """
    d = design
    plan = d.tree
    level = _leaves(d)
    groups = {(n.key[0], n.key[2]): n.varying for n in level if n.key is not None}
    first = sum(groups.values()) + sum(n.varying for n in level if n.key is None)
    level_bits = [first]
    adders = adder_bits = half_bits = 0
    for depth in range(1, len(plan.levels)):
        nxt = []
        for k in range(0, len(level) - 1, 2):
            width = range_width(*plan.levels[depth][k // 2])[0]
            node, full, half = _add(level[k], level[k + 1], width)
            adders += int(full > 0)
            adder_bits += full
            half_bits += half
            nxt.append(node)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        level_bits.append(sum(n.varying for n in level))
    root = level[0]
    zeros = root.low if root.const == 0 else min(root.low, _trailing_zeros(root.const))
    offset = d.offset_range
    return PlaneTree(
        adders=adders,
        adder_bits=adder_bits,
        half_bits=half_bits,
        level_bits=tuple(level_bits),
        offset_flops=bin(offset[0]).count("1") if d.shifter == "constant" and offset else 0,
        root_zero_bits=0 if root.fixed else zeros,
    )


def used_planes(design: ShiftAddDesign) -> int:
    """Bit planes whose looked-up value is used: all ``q`` with barrel shifters; with
    constant scales only the planes with a nonzero term (synthesis removes the lookup PEs
    and key bits of the others).

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    int
        Planes with lookup PEs per column.
    """
    return len({i for i, *_ in design.active_terms})


def accumulation_length(design: ShiftAddDesign) -> int:
    """Weight transfers summed into one result by the GEMM schedule: the ``lut_slots``
    groups of a K-tile (:func:`~shiftadd.models.shiftadd.cycles.shiftadd_cycles`), or 1
    without accumulators.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.

    Returns
    -------
    int
        Transfers per result, at least 1.
    """
    return design.lut_slots if design.accumulates else 1


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
    planes = used_planes(d)
    lookups = d.columns * planes
    tree = plane_tree(d)
    scale_bits = d.scale_bits_per_transfer
    items = builder_items(d)
    items += [
        # the keys of planes without a term (constant scales) drive nothing: removed
        Item(
            "dffe",
            "weight input register",
            d.weight_transfer_bits + 1 - d.columns * (d.q - planes) * d.mu - scale_bits,
            driver="weight",
        ),
        # Shift amounts and signs belong to a quantization group (a row group times a block
        # of K), which the schedule streams over many consecutive transfers (every row of a
        # K-tile is sent before the next table): held like the tables.
        Item("dffe", "weight input register: scale fields", scale_bits, active=False),
        Item("mux2", "lookup PEs (2**mu:1 muxes)", lookups * lookup_mux2(d), driver="term"),
    ]
    if d.lut_slots > 1:
        # Per entry, a slot tree over its exact width (sign copies merged, see lookup_mux2;
        # bit 0 differs between slots, so it is muxed here).
        items.append(
            Item(
                "mux2",
                "table slot select (shared)",
                (d.lut_slots - 1) * sum(entry_widths(d)),
                driver="term",
            )
        )
    if d.shifter == "barrel":
        # Stage j shifts by 2**j: only the bits both inputs reach are 2:1 muxes; the low
        # 2**j bits (a shifted-in zero) and the top 2**j (the shifted value alone) are an
        # AND with the shift bit.
        widths = (range_width(*d.lut_range)[0], *d.barrel_stage_widths)
        per_shifter = sum(widths[j] - (1 << j) for j in range(d.shift_bits))
        per_shifter_and = sum(2 << j for j in range(d.shift_bits))
        leaf_width = range_width(*d.leaf_range)[0]
        terms = lookups * d.terms
        c, b = tree_adders(plan_tree([(0, 1)] * (d.q * d.terms)))
        items += [
            Item("mux2", "barrel shifters", terms * per_shifter, driver="term"),
            Item("and2", "barrel shifters: zero fill", terms * per_shifter_and, driver="term"),
            Item("xor2", "term sign inverters", terms * leaf_width, driver="term"),
            Item("and2", "term enables", terms * leaf_width, driver="term"),
            # functions of the held signs only
            Item("and2", "negative-term flags", d.scale_sets * d.q * d.terms, active=False),
            Item(
                "tree_adder",
                "negative-term counts",
                d.scale_sets * c,
                bits=d.scale_sets * b,
                active=False,
            ),
        ]
    else:
        # ~(v << s) inverts the looked-up value v (its low s bits are constant ones): one
        # inverter a bit of v per plane with a negative term, whatever its shifts.
        inverted = {
            i: range_width(*d.leaf_range_of(s, g))[0] - s for i, _, s, g in d.active_terms if g < 0
        }
        items.append(
            Item(
                "xor2",
                "negative-term inverters",
                d.columns * sum(inverted.values()),
                driver="term",
            )
        )
    items += [
        Item(
            "tree_adder",
            "plane-sum trees",
            d.columns * tree.adders,
            bits=d.columns * tree.adder_bits,
            driver="sum",
        ),
        Item("xor2", "plane-sum constant additions", d.columns * tree.half_bits, driver="sum"),
        Item("and2", "plane-sum constant carries", d.columns * tree.half_bits, driver="sum"),
    ]
    levels = d.tree.levels
    for slot in d.register_slots:
        flops = d.columns * tree.level_bits[slot] + 1 + int(d.accumulates)
        offset = 0
        if d.offset_range is not None and _offset_alone(levels, slot):
            if d.shifter == "barrel":
                # The offset leaf (count of negative terms) depends on the scale set only:
                # while it has not met a term it is the same register in every column of
                # the set, and it holds with the signs.
                width = range_width(*levels[slot][-1])[0]
                flops -= d.columns * width
                offset = d.scale_sets * width
            else:
                offset = tree.offset_flops
        items += [
            # after layer 0 the register holds the leaves (terms), later ones partial sums
            Item(
                "dffe",
                f"pipeline register after layer {slot}",
                flops,
                driver="term" if slot == 0 else "sum",
            ),
            Item("dffe", f"offset register after layer {slot}", offset, active=False),
        ]
    acc = d.acc_width
    # A GEMM sums a K-tile's lut_slots transfers into one result (shiftadd_cycles): the
    # output register loads on the last of them, the accumulator on the others.
    length = accumulation_length(d)
    items.append(
        Item("dffe", "output register", d.columns * acc + 1, toggle=1 / length, driver="sum")
    )
    if d.accumulates:
        held = (length - 1) / length
        items += [
            Item(
                "and2",
                "accumulator clear",
                d.columns * acc,
                active=held > 0,
                toggle=held,
                driver="sum",
            ),
            # the sum's constant zero low bits (constant shifts) pass the adder as wires
            Item(
                "adder",
                "accumulators",
                d.columns,
                bits=d.columns * (acc - tree.root_zero_bits),
                driver="sum",
            ),
            Item(
                "dffe",
                "accumulator registers",
                d.columns * acc,
                active=held > 0,
                toggle=held,
                driver="sum",
            ),
            Item("dff", "accumulation state", 1, active=held > 0, driver="weight"),
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
    # bits: the payload is one port, so its scale fields toggle here, where the bill of
    # materials holds them), tables held (a table load is one transfer in
    # 1 + ceil(N / columns), so the builder's energy is accounted per build, see
    # lut_build_energy), output always read.
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


# -- switching on data ----------------------------------------------------------------------
#: Most lookup-tree leaves laid out per K-tile (bounds the work on large layers).
_LEAF_BUDGET = 1 << 21


def _fixed_planes(design: ShiftAddDesign, payload: Mapping) -> np.ndarray:
    """Bit planes ``(q, N, K)`` of ``bcq<q>_fixed`` codes (indices into the sorted levels):
    the sign pattern whose plane scales sum to each level (the first one if several do)."""
    d = design
    alpha = alpha_int_from_terms(np.asarray(d.const_shifts), np.asarray(d.const_signs))
    patterns = np.arange(1 << d.q)
    bits = (patterns[:, None] >> np.arange(d.q)) & 1
    values = (2 * bits - 1) @ alpha.astype(np.float64)
    levels = np.asarray(payload["levels"], np.float64)
    level_of = np.abs(values[:, None] - levels[None, :]).argmin(axis=1)
    pattern = np.zeros(levels.size, np.int64)
    pattern[level_of[::-1]] = patterns[::-1]  # the first pattern of a level wins
    idx = np.asarray(payload["codes"], np.int64)
    return ((pattern[idx][None] >> np.arange(d.q)[:, None, None]) & 1).astype(bool)


def design_codes(design: ShiftAddDesign, weights, acts) -> tuple[np.ndarray, np.ndarray]:
    """Float weights ``(N, K)`` and activations ``(M, K)`` as the codes the engine's ports
    carry: the weights BCQ-quantized in the design's number format (``bcq<q>`` with the
    engine's scale sets, or ``bcq<q>_fixed`` with its constant plane scales), each weight's
    plane bits and scale fields packed into one code
    (:mod:`~shiftadd.models.shiftadd.codes`); the activations rounded per token to
    ``act_bits``.

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.
    weights : array_like
        Float weights ``(N, K)``.
    acts : array_like
        Float activations ``(M, K)``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        int64 packed weight codes ``(N, K)`` and activation codes ``(M, K)``.
    """
    from ...workloads.quality import quantize_weights  # deferred: quantizers only for data

    d = design
    w = np.asarray(weights, dtype=np.float32)
    x = np.asarray(acts, dtype=np.float32)
    if w.ndim != 2 or x.ndim != 2 or w.shape[1] != x.shape[1]:
        raise InputError(
            f"weights {w.shape} and activations {x.shape} are not (N, K) and (M, K)",
            field="data",
        )
    n, k = w.shape
    fmt = d.number_format
    payload = quantize_weights(w, fmt).payload
    if d.shifter == "constant":
        wc = pack_weight_codes(d, _fixed_planes(d, payload))
    else:
        planes = np.asarray(payload["planes"], bool)
        shifts, signs = engine_scales(
            d, payload["scale_shifts"], payload["scale_signs"], *planes.shape[1:]
        )
        wc = pack_weight_codes(d, planes[:, :n, :k], shifts, signs)
    return wc, act_codes(x, fmt.act)


def _spread(count: int, most: int) -> np.ndarray:
    """At most ``most`` indices of ``range(count)``, evenly spaced."""
    return np.unique(np.linspace(0, count - 1, max(1, min(count, most))).round().astype(int))


def _switching(design: ShiftAddDesign, planes, shifts, signs, x, tiles: int) -> dict:
    """``(flips, bit-cycles)`` of the engine's nets running ``x @ W.T`` with the GEMM
    schedule: per K-tile of ``lut_slots`` groups and per vector, the tables loaded, then one
    weight transfer per group for every N-tile of ``columns`` rows (as the bench plays it,
    partial tiles padded with zero activations, -1 planes and zero scales)."""
    d = design
    q, n, k = planes.shape
    m = x.shape[0]
    mu, cols = d.mu, d.columns
    assert d.scale_rows is not None  # defaulted by ShiftAddDesign.__post_init__
    groups, n_tiles = -(-k // mu), -(-n // cols)
    rows = n_tiles * cols
    xp = np.zeros((m, groups * mu), np.int64)
    xp[:, :k] = x
    pp = np.zeros((q, rows, groups * mu), bool)
    pp[:, :n, :k] = planes
    keys = (pp.reshape(q, rows, groups, mu).astype(np.int64) << np.arange(mu)).sum(axis=-1)
    keys = keys.transpose(2, 1, 0).reshape(groups, n_tiles, cols, q)
    set_of = (np.arange(rows) // d.scale_rows).reshape(n_tiles, cols)
    sets = rows // d.scale_rows
    shp = np.zeros((q, sets, groups, d.terms), np.int64)
    sgp = np.zeros_like(shp)
    shp[:, : shifts.shape[1]] = shifts[:, :sets, :groups]
    sgp[:, : signs.shape[1]] = signs[:, :sets, :groups]
    # (groups, n_tiles, columns, q, terms): the scales each column's terms use
    col_shift = shp.transpose(2, 1, 0, 3)[:, set_of]
    col_sign = sgp.transpose(2, 1, 0, 3)[:, set_of]
    tables = build_luts(xp, mu)  # (m, groups, entries)
    vectors = min(m, MAX_VECTORS)
    leaf_width = range_width(*d.leaf_range)[0]
    leaves_per_column = len(d.active_terms) + int(d.shifter == "barrel")
    tot = {key: [0.0, 0.0] for key in ("act", "weight", "term", "sum")}

    def add(key, flips_bits):
        tot[key][0] += flips_bits[0]
        tot[key][1] += flips_bits[1]

    span = d.lut_slots
    for kt in _spread(-(-groups // span), tiles):
        g0 = int(kt) * span
        g1 = min(groups, g0 + span)
        sk = g1 - g0
        nt = min(n_tiles, max(1, _LEAF_BUDGET // (vectors * sk * cols * leaves_per_column)))
        # table loads: the sk groups of every vector, in order
        add("act", value_toggles(xp[:vectors, g0 * mu : g1 * mu].reshape(-1, mu), d.act_bits))
        kk = keys[g0:g1, :nt].transpose(1, 0, 2, 3)  # (nt, sk, columns, q)
        stream_keys = np.broadcast_to(kk, (vectors,) + kk.shape).reshape(-1, cols * q)
        add("weight", value_toggles(stream_keys, mu))
        tab = tables[:vectors, g0:g1]  # (vectors, sk, entries)
        looked = tab[:, np.arange(sk)[None, :, None, None], kk]  # (vectors, nt, sk, cols, q)
        transfers = vectors * nt * sk
        if d.shifter == "barrel":
            sh = col_shift[g0:g1, :nt].transpose(1, 0, 2, 3, 4)[None]
            sg = col_sign[g0:g1, :nt].transpose(1, 0, 2, 3, 4)[None]
            shifted = looked[..., None] << sh
            leaf = np.where(sg > 0, shifted, np.where(sg < 0, ~shifted, 0))
            leaf = leaf.reshape(transfers, cols, q * d.terms)
            negatives = np.broadcast_to((sg < 0).sum(axis=(-1, -2)), looked.shape[:-1])
            leaves = np.concatenate([leaf, negatives.reshape(transfers, cols, 1)], axis=-1)
        else:
            parts = []
            for i, _, s, g in d.active_terms:
                v = looked[..., i] << s
                parts.append(v if g > 0 else ~v)
            leaves = np.stack(parts, axis=-1).reshape(transfers, cols, -1)
        add("term", value_toggles(looked.reshape(transfers, cols, q), d.lut_width))
        add("term", value_toggles(leaves, leaf_width))
        add("sum", tree_toggles(leaves, leaf_width))
        sums = leaves.sum(axis=-1)  # one's complements: off by the constant offset
        acc = np.cumsum(sums.reshape(vectors * nt, sk, cols), axis=1).reshape(transfers, cols)
        add("sum", value_toggles(acc, d.acc_width))
    return {key: (f, b) for key, (f, b) in tot.items()}


def _rate(flips_bits) -> float:
    flips, bits = flips_bits
    return float(min(1.0, flips / bits)) if bits else 0.0


def data_activity(
    design: ShiftAddDesign, w_codes: np.ndarray, x_codes: np.ndarray, *, tiles: int = 8
) -> DataActivity:
    """Switching of a shift-add engine running activation codes ``x_codes`` (M, K) against
    packed BCQ weight codes ``w_codes`` (N, K) (:func:`design_codes`), laid out with the
    GEMM schedule (activations stationary in the tables, weight transfers streaming).

    ``weight``: the key bits of the weight transfers (the weight input register; the scale
    fields are held, :func:`bill_of_materials`). ``term``: the looked-up table entries and the
    plane-tree leaves (shifted, conditionally inverted or disabled terms): the lookup muxes,
    shifters, inverters and term enables. ``sum``: the plane-sum tree levels and the
    accumulated sums: adders, pipeline, accumulator and output registers. ``term`` and
    ``sum`` are compared with uniformly random plane bits and activations laid out the
    same way under the data's own scales (the scales are the quantizer's in both: the
    calibrated figure is for quantizer scales, see the comment in the code). ``act``: the
    table loads (idle in the steady state; their energy is :func:`lut_build_energy`'s).

    Parameters
    ----------
    design : ShiftAddDesign
        The shift-add engine.
    w_codes, x_codes : numpy.ndarray
        Packed weight codes and activation codes in the design's ranges.
    tiles : int
        K-tiles laid out at most (evenly spaced in streaming order).

    Returns
    -------
    DataActivity
        The measured switching.
    """
    d = design
    planes, shifts, signs = unpack_weight_codes(d, w_codes)
    x = np.asarray(x_codes, np.int64)
    lo, hi = d.act_range
    if x.ndim != 2 or x.shape[1] != planes.shape[2]:
        raise InputError(f"activation codes {x.shape} are not (M, {planes.shape[2]})", field="data")
    if x.size and (x.min() < lo or x.max() > hi):
        raise InputError(f"activation codes fall outside [{lo}, {hi}]", field="data")
    data = _switching(d, planes, shifts, signs, x, tiles)
    # The reference: uniformly random plane bits and activations under the data's own
    # scales. The calibrated 0.5 figure holds for the quantizer's scales (the bench's
    # random GEMM is a BCQ-quantized layer: shifts bunched near the top of the field), not
    # for uniformly random shift fields; against those, the data's bunched shifts would
    # count as a 20-25 % saving that gate level does not show (docs/quality.md).
    rng = np.random.default_rng([0, 0x5EED])
    r_planes = rng.random(planes.shape) < 0.5
    r_x = rng.integers(lo, hi + 1, size=x.shape)
    rand = _switching(d, r_planes, shifts, signs, r_x, tiles)
    alpha = alpha_int_from_terms(shifts, signs)  # (q, sets, groups)
    n, k = planes.shape[1:]
    assert d.scale_rows is not None  # defaulted by ShiftAddDesign.__post_init__
    full = alpha[:, np.arange(n) // d.scale_rows][:, :, np.arange(k) // d.mu]
    act = _rate(data["act"])
    return DataActivity(
        act_toggle=act,
        weight_toggle=_rate(data["weight"]),
        act_zero=zero_fraction(x),
        weight_zero=zero_fraction(np.where(planes, full, -full).sum(axis=0)),
        term=ratio(data["term"], rand["term"]),
        sum=ratio(data["sum"], rand["sum"]),
        digit=act,
        digit_density=None,
    )
