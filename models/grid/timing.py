"""The grid engines' register-to-register paths (:mod:`shiftadd.models.timing`).

The systolic array (:mod:`shiftadd.hw.systolic_os`, :mod:`shiftadd.hw.systolic_ws`) and the
2D matrix (:mod:`shiftadd.hw.matrix2d`, the output-stationary grid without skew) have no
pipeline inside a PE: every PE is one register-to-register stage, built by
:mod:`shiftadd.hw.systolic_pe` from the mode's arithmetic (:mod:`shiftadd.hw.arith`):

* the operand nets: a registered activation drives its PE's lane logic (a systolic array
  passes it on through a register per PE); the 2D matrix broadcasts an activation to the
  ``cols`` PEs of its row and a weight to the ``rows`` PEs of its column, nets of ``PEs x
  loads per PE`` gate inputs through a buffer tree (with Booth partial products a row's
  PEs share one encoder, and a column's one ``-w`` negator, the net's critical sink, which
  the timing-driven buffer tree drives from its root);
* the lane's term and the accumulation, carry-propagate: ``addsub``/``ternary`` a
  conditional inverter (and zero gate) whose ``ab + 1``-bit term is sign-extended to the
  accumulator width ``W`` (one net drives every position above it) into one ``W``-bit adder
  (the ``+1`` of a negated term rides in its carry-in). ``mac`` multiplies: when the
  product is sign-extended to ``W`` (a signed product narrower than ``W``) synthesis keeps
  the multiplier (its own carry-propagate adder over the ``P`` product bits) and the
  accumulator adder apart; the adder's low bits overlap the product's carry chain, so
  the path is the multiplier, the sign-extension net and an adder over the ``W - P + 2``
  bits from the product's top two (set together by its last carry). Otherwise (unsigned
  product, or ``W = P``) synthesis folds the accumulator into the multiplier as one more
  row of its compressor tree (one more 3:2 level where that row deepens the tree Yosys'
  ``maccmap`` builds from the shorter operand's bits); above the product's bits the
  final adder holds the accumulator alone, an incrementer the product's late carry
  enters (its net over the ``W - P`` positions and one AND level). A PE that adds to
  nothing (a one-row weight-stationary array, a cube one layer deep) registers the
  product, or the term plus its carry-in (an incrementer);
* carry-save accumulation (``carry_save_accumulate``): the radix-4 Booth encoder on the
  activation, whose digit wires select ``0, +-w, +-2w`` in ``weight_bits + 2`` selectors
  (the 2D matrix shares a row's encoders, so a digit wire drives the selectors of ``cols``
  PEs; from the weight register the ``-w`` prefix-OR negator, a balanced tree of OR
  gates, feeds the ``-w``-or-``w`` selectors of every negatable row, a path of its own,
  timed even where the weight is held); a partial product's sign bit drives every
  position above it; or the ``+-a`` term of ``addsub``/``ternary``; then the 3:2
  compressor levels of :attr:`~shiftadd.design.systolic.GridDesign.csa_plan` (where the
  first level adds three rows' sign wires, one shared full adder drives every such
  position of the next);
* the register's input: output-stationary accumulators restart after a tile's last step
  (an AND gate) and drain registers choose between loading the total and shifting (a 2:1
  mux); every register loads under an enable (a 2:1 mux).

Around the PEs: output-stationary arrays drain a column's results through a thermometer of
row enables, ``shift[p] = shift[p - 1] | phase[p - 1]``, a ripple of ``rows - 1`` OR gates
(each tap also drives its row's enable logic) whose last tap loads the result register;
carry-save results are resolved by one ``W``-bit carry-propagate adder per column on their
way out. The step flags (valid, last) of a PE come from a shift register; in the 2D matrix
one flag drives every PE. A PE's registers load on ``advance & valid`` (accumulator) or
``advance & (last | shift)`` (drain): synthesis builds each distinct product once, so one
gate drives the enables of all PEs sharing it (the whole 2D matrix, a systolic
anti-diagonal; a 2D-matrix row's drain). A weight-stationary array writes a weight row
when the write is allowed (``quiet >= row + cols``, a comparator: one carry chain, the
constant folded in), valid and decoded: ``valid & ready & (row == i)`` loads row ``i``,
the row-decoded write (:func:`~shiftadd.models.timing.decoded_write`, calibrated as one
block: synthesis maps the decode onto one wide NOR gate driving the row's load enables).
Backpressure is the global ``advance = ~result.valid | result.ready``, a gate (not a
register) that enables every register of the array through a buffer tree, priced as the
calibrated two-row decoded write (the same structure, its one-bit index a literal); the
PE enable gates are its critical sinks, on the first level of its tree.

Logic without a calibrated block of its own is composed from the gate units: the Booth
encoder and selectors, OR chains (priced as AND gates, the same two-input cell structure),
comparators (an adder's carry chain).
"""

from __future__ import annotations

from ...design.systolic import GridDesign, SystolicDesign
from ..timing import (
    Element,
    TimingPath,
    adder,
    csa,
    decoded_write,
    fanout,
    gates,
    loaded_stages,
    mult,
)
from .cost import booth_digit_gates, booth_row_bits

__all__ = [
    "timing_paths",
    "operand_nets",
    "term_elements",
    "operands",
    "pe_elements",
    "advance_loads",
    "incrementer_levels",
    "mac_tree_rows",
    "csa_tree_levels",
]


def _bits(n: int) -> int:
    """Bits of a counter holding 0..n."""
    return max(1, int(n).bit_length())


def _net(loads: int, what: str) -> list[Element]:
    """A net of ``loads`` gate inputs (nothing for a single load)."""
    return [fanout(loads, what)] if loads > 1 else []


def _enable() -> Element:
    return gates("mux2", 1, "register load enable")


def _bank_enable(bits: int, what: str) -> list[Element]:
    """A gate combining enable flags (``advance & valid``) that drives the load enables of
    ``bits`` register bits in both polarities (two gate inputs a bit, through the buffer
    tree synthesis inserts), then their enable muxes."""
    return [
        gates("and2", 1, what),
        *_net(2 * max(1, bits), f"{what}: enable net"),
        _enable(),
    ]


def _enable_groups(design: GridDesign) -> tuple[int, int]:
    """PEs whose accumulator enable, and PEs whose drain enable, is one shared gate.

    A PE's accumulator loads on ``advance & valid`` of its step flag and its drain register
    on ``advance & (last | shift[row])``: synthesis computes each distinct product once. The
    2D matrix gives every PE the same flags (one accumulator enable for the array, one
    drain enable per row); the systolic array taps the flags at the PE's skew, so the PEs
    of an anti-diagonal share the accumulator enable and every PE has its own drain one."""
    d = design
    if d.skewed:
        return min(d.rows, d.cols), 1
    return d.rows * d.cols, d.cols


def _or_chain(levels: int, what: str) -> Element:
    """A ripple of ``levels`` OR gates (priced as AND gates, the same two-input cell
    structure)."""
    return gates("and2", levels, what)


def _value_bits(design: GridDesign) -> int:
    """Bits of one accumulator or partial sum as its registers hold it (carry-save: the
    bits of the pair that can be set)."""
    d = design
    if not d.carry_save_accumulate:
        return d.acc_width
    if d.is_output_stationary:
        return sum(bin(mk).count("1") for mk in d.acc_masks)
    return max(bin(s).count("1") + bin(c).count("1") for s, c in d.psum_masks)


def _broadcast(design: GridDesign) -> bool:
    """Whether operands reach the PEs by broadcast (2D matrix) rather than PE to PE."""
    return design.is_output_stationary and not design.skewed


def operand_nets(design: GridDesign) -> dict[str, int]:
    """Gate inputs on one registered operand bit's net, for the activation and the weight.

    A systolic PE's operand drives its own lane logic and the register passing it on; a
    2D matrix broadcasts an activation to ``cols`` PEs and a weight to ``rows`` PEs. The
    loads per PE: a multiplier's partial-product gates (one per bit of the other operand),
    a conditional inverter per activation bit (the weight bit drives all of them and the
    carry-in), the Booth encoder (an activation bit feeds two digits' encoders).

    Parameters
    ----------
    design : GridDesign
        A grid design.

    Returns
    -------
    dict of str to int
        ``{"activation": loads, "weight": loads}``.
    """
    d = design
    ab, wb = d.act_bits, d.weight_bits
    assert wb is not None
    if d.booth:
        # An activation bit feeds the encoders of two digits (one, two, neg gates).
        per_act, per_w = 6, 2 * d.booth_digits + 2
    elif d.arith.multiplier:
        per_act, per_w = wb, ab
    else:
        # One inverter per activation bit; the weight bit selects all of them (and the
        # carry-in, and a carry-save row's sign extension up to W bits).
        per_act = 1
        per_w = (ab + 2) if not d.carry_save_accumulate else d.acc_width + 1
    if _broadcast(d):
        # A row's PEs encode the same activation: synthesis keeps one Booth encoder per
        # row (structural hashing), whose digit wires fan out instead (_booth_elements).
        act_pes = 1 if d.booth else d.cols
        return {"activation": act_pes * per_act, "weight": d.rows * per_w}
    if d.is_output_stationary:
        return {"activation": per_act + 1, "weight": per_w + 1}
    # Weight-stationary: the weight is held in the PE's own register.
    return {"activation": per_act + 1, "weight": per_w}


def term_elements(design: GridDesign) -> list[Element]:
    """The lane logic of a PE with a carry-propagate accumulator, before the adder.

    Parameters
    ----------
    design : GridDesign
        A grid design without ``carry_save_accumulate``.

    Returns
    -------
    list of Element
        A multiplier, or the mode's gates.
    """
    d = design
    if d.arith.multiplier:
        assert d.weight_bits is not None
        return [mult(d.act_bits, d.weight_bits, "PE multiplier")]
    return [gates(unit, 1, f"PE {part}") for unit, part in d.arith.lane_gates]


def _booth_elements(design: GridDesign, operand: str) -> list[Element]:
    """Booth partial products from the activation (encoder, digit nets, selectors), from
    the weight (the selectors) or through its negation (``"negated weight"``: the
    prefix-OR negator, the -w net, then the selectors)."""
    d = design
    wb = d.weight_bits
    assert wb is not None
    # Every PE of a 2D-matrix row encodes the same activation: synthesis shares the
    # encoders (structural hashing), so one digit wire drives the selectors of the row.
    pes = d.cols if _broadcast(d) else 1
    # A partial-product row is wb + 2 bits; its sign bit drives every position above it
    # up to the accumulator width (row 0's extension is the longest).
    ext_bits = d.acc_width - (wb + 2)
    ext = [fanout(2 * ext_bits, "partial-product sign extension")] if ext_bits > 1 else []
    select = [
        gates("mux2", 1, "select -w or w"),
        gates("mux2", 1, "select 2w or w"),
        gates("and2", 1, "zero digit"),
    ]
    if operand == "activation":
        # Off the array's longest paths at the 10 ns target, synthesis maps the encoder on
        # the weakest cells and leaves its nets unbuffered: the complemented activation bit
        # (the encoder's first level) drives the gates of the two digits reading the bit,
        # and the digit's last gate drives the digit wire (catalog systolic_ws_csa_int4_8x8,
        # held-out cube #025: inv_1 0.23-0.25 ns, then nand3/nand2, then an inv_1 of 0.17-
        # 0.19 ns on the wire), each a calibrated loaded stage rather than a unit gate.
        # Only a general digit (3 levels) has that complement of six loads; the end digits
        # of a short code are a gate or two that synthesis merges into the selectors (held-
        # out #004, 2-bit unsigned: inv_1 0.10, nor3 0.13, a21oi 0.07), priced as before.
        levels = _encoder_levels(d)
        if levels < 3:
            return [
                gates("and2", levels, "Booth encoder"),
                fanout(pes * (wb + 2), "digit wire to its row's selectors"),
                *select,
                *ext,
            ]
        # The encoder's last gate drives the digit wire itself (seed 20261299 #033: inv,
        # nor3, then a nor2_1 of 0.24 ns on the wire); where synthesis adds an inverter
        # before the wire (catalog systolic_ws_csa_int4_8x8) the path is a light gate longer.
        return [
            loaded_stages(1, 6, "Booth encoder: complemented activation bit"),
            gates("and2", levels - 2, "Booth encoder"),
            loaded_stages(1, pes * (wb + 2), "Booth encoder's last gate on the digit wire"),
            *select,
            *ext,
        ]
    if operand == "weight":
        return [*select, *ext]
    # -w of the wb + 1-bit extended weight: bit i flips when any bit below it is set. The
    # negation is a subtraction (Yosys $alu, a prefix carry network), so the OR of the
    # wb - 1 bits below the top one is a balanced tree, not a ripple (held-out systolic
    # 20261508 #004, 7-bit weight: from the weight register inv, nor3, a21oi, then the
    # compressors; priced as a 6-gate ripple it read +13.6 %).
    or_levels = max(1, (wb - 2).bit_length())
    negator = [_or_chain(or_levels, "-w prefix-OR tree"), gates("xor2", 1, "-w bit")]
    # One negator per weight register (a 2D-matrix column's PEs share it: structural
    # hashing); each -w bit drives the -w-or-w selector of every negatable row (row 0
    # complements instead, an unsigned activation's top digit is never negative).
    negatable = sum(
        1
        for j in range(1, d.booth_digits)
        if 2 * j < d.acc_width and (d.act_signed or 2 * j + 1 < d.act_bits)
    )
    neg_net = _net(d.rows * negatable if _broadcast(d) else negatable, "-w to the selectors")
    return [*negator, *neg_net, *select, *ext]


def _encoder_levels(design: GridDesign) -> int:
    """Gate levels of the slowest Booth encoder among the PE's partial-product rows
    (:func:`~shiftadd.models.grid.cost.booth_digit_gates`): 3 where any digit is a general
    one (complement, AND of three, OR), fewer at the ends of a short code."""
    rows = len(booth_row_bits(design))
    return max((g.levels for g in booth_digit_gates(design)[:rows]), default=0)


def operands(design: GridDesign) -> tuple[str, ...]:
    """The operand paths into a PE: the activation and the weight registers, and with Booth
    partial products the weight through its negator as a path of its own.

    Parameters
    ----------
    design : GridDesign
        A grid design.

    Returns
    -------
    tuple of str
        Operand names for :func:`pe_elements`.
    """
    return ("activation", "weight", "negated weight") if design.booth else ("activation", "weight")


def _shared_sign_positions(design: GridDesign) -> int:
    """Positions where the PE's first 3:2 step adds three Booth rows' sign wires (one
    shared full adder, :func:`shiftadd.models.grid.cost.compressor_cells`)."""
    plan = design.csa_plan
    rows = booth_row_bits(design)
    if plan is None or not plan.steps or len(rows) < 3 or tuple(plan.steps[0]) != (0, 1, 2):
        return 0
    W = design.acc_width
    return sum(1 for p in range(W) if all(r[p] is not None and r[p] == r[W - 1] for r in rows[:3]))


def pe_elements(
    design: GridDesign, operand: str, loads: int | None = None, *, accumulate: bool = True
) -> list[Element]:
    """From an operand register through a grid PE's lane logic and accumulation, up to the
    register's own input logic (also the 3D-Cube's PE).

    Parameters
    ----------
    design : GridDesign
        A grid design.
    operand : {"activation", "weight", "negated weight"}
        The register the path starts from (``"negated weight"``: the weight register
        through the Booth negator, with Booth partial products only; see
        :func:`operands`).
    loads : int, optional
        Gate inputs on the operand's net; default :func:`operand_nets`.
    accumulate : bool
        Whether any PE adds its term to an incoming value (False: a weight-stationary
        array of one row, a cube one layer deep, where a multiplier's product is
        registered as it is).

    Returns
    -------
    list of Element
        The operand net, the lane logic (multiplier, Booth or gates) and the accumulation.
    """
    return _pe_elements(design, operand, loads, accumulate=accumulate)


def _pe_elements(
    design: GridDesign, operand: str, loads: int | None = None, *, accumulate: bool = True
) -> list[Element]:
    """From an operand register through the lane logic and the accumulation, up to the
    register's own input logic."""
    d = design
    W = d.acc_width
    if loads is None:
        loads = operand_nets(d)["weight" if operand == "negated weight" else operand]
    if operand == "negated weight" and _broadcast(d):
        # The column's one negator is the broadcast weight's critical sink, which the
        # timing-driven buffer tree drives from its root: the path sees the negator's own
        # inputs, then the -w net (_booth_elements).
        loads = 2
    out: list[Element] = _net(loads, f"{operand} net")
    if d.carry_save_accumulate:
        plan = d.csa_plan
        assert plan is not None
        if d.booth:
            out += _booth_elements(d, operand)
            # Where the first compressor step takes three partial-product rows, every
            # position above their top bits adds the same three sign wires: synthesis
            # builds that full adder once, and its outputs drive all of those positions of
            # the next level (a net as long as the sign extension's).
            shared = _shared_sign_positions(d)
            if shared > 1 and plan.depth > 1:
                out.append(csa(1, "3:2 compressor level over the sign extension"))
                out.append(fanout(2 * shared, "shared sign-extension compressor outputs"))
                out.append(csa(plan.depth - 1, "3:2 compressor levels"))
                return out
        else:
            out += [gates(unit, 1, f"PE {part}") for unit, part in d.arith.lane_gates]
        out.append(csa(plan.depth, "3:2 compressor levels"))
        return out
    out += term_elements(d)
    if not d.arith.multiplier:
        # The term (``ab + 1`` bits) is sign-extended to W: its top bit drives the adder
        # inputs of every position above it.
        term_bits = d.act_bits + 1
        if W > term_bits:
            out.append(fanout(W - term_bits + 1, "term sign extension"))
        if not accumulate:
            # Nothing to add to: the term plus its carry-in, an incrementer. The incrementer
            # is off every other path's critical length, so synthesis (the 10 ns target
            # leaves it slack) maps its carry as a ripple: the top bit's carry ANDs the
            # carry-in with every distinct term bit below it, one AND level each (the
            # netlists of held-out cubes one layer deep show 4-6 chained cells for 6-8
            # bits, not a log-depth prefix), then an XOR.
            out.append(gates("and2", incrementer_levels(d), "incrementer carry ripple"))
            out.append(gates("xor2", 1, "incrementer sum"))
            return out
        out.append(adder(W, "accumulator adder"))
        return out
    P = d.product_width
    if not accumulate:
        return out
    if _merged_mac(d):
        # One multiply-accumulate: the accumulator is one more row of the multiplier's
        # compressor tree, resolved by its carry-propagate adder. Above the product's P
        # bits that adder holds the accumulator alone: an incrementer whose AND prefixes of
        # the accumulator bits are ready early, so the product's late carry drives the
        # W - P positions and passes one more AND level (a single extra bit is the carry
        # out itself, taken in the product's last level).
        # Yosys (maccmap) builds the tree from rows of the shorter operand's bits (a
        # signed product one correction row more) and compresses three rows into two per
        # level: the accumulator row adds a level only where it deepens that tree (a 6 x 5
        # unsigned product: 5 rows and 6 rows both take 3 levels; held-out cube
        # 20261508 #007, +19.5 % with the level priced).
        rows = mac_tree_rows(d)
        if csa_tree_levels(rows + 1) > csa_tree_levels(rows):
            out.append(csa(1, "accumulator row of the multiplier's compressor tree"))
        if W - P >= 2:
            out.append(fanout(W - P, "product carry into the accumulator's upper bits"))
            out.append(gates("and2", 1, "carry & upper prefix"))
    elif W > P:
        # The product's carry-propagate adder, then the accumulator adder: its low bits
        # overlap the product's carry chain, its carry then runs on over the product's
        # sign extension (whose top bit drives every position above it). The product's
        # last carry sets its top two bits together, so the accumulator's late chain
        # starts at bit P - 2 and spans W - P + 2 positions (held-out cubes 20261508 #001,
        # #013, #025 and systolic 20261401 #010, W = P + 1: after the product's last XOR
        # the netlists show a carry and a sum level, 0.3-0.4 ns, priced 0.04 as a 2-bit
        # adder).
        out.append(fanout(W - P + 1, "product sign extension"))
        out.append(adder(W - P + 2, "accumulator carry from the product's top two bits"))
    return out


def incrementer_levels(design: GridDesign) -> int:
    """AND levels of the ripple carry of a PE that adds nothing but its carry-in (``term +
    cin``: a weight-stationary array of one row, a cube one layer deep, carry-propagate).

    The carry into the accumulator's top bit ``W - 1`` ANDs the carry-in with the term's
    bits below it; the term's sign extension repeats its top bit, which synthesis ANDs
    once. So the chain has ``min(W - 1, T)`` levels for a term of ``T`` distinct bits
    (``act_bits`` for a signed activation, one more for an unsigned one, which is
    zero-extended to a signed value before ``~a``).

    Parameters
    ----------
    design : GridDesign
        A grid design (or cube) whose lane emits a term and a carry-in (``addsub``,
        ``ternary``).

    Returns
    -------
    int
        Two-input AND levels on the carry, at least 1.
    """
    d = design
    term_bits = d.act_bits + (0 if d.act_signed else 1)
    return max(1, min(d.acc_width - 1, term_bits))


def mac_tree_rows(design: GridDesign) -> int:
    """Partial-product rows of a PE multiplier as Yosys ``maccmap`` builds them: one row per
    bit of the shorter operand, and a signed product's correction row.

    Parameters
    ----------
    design : GridDesign
        A grid design (or cube) whose lane multiplies.

    Returns
    -------
    int
        Rows entering the compressor tree (without the accumulator).
    """
    d = design
    assert d.weight_bits is not None
    a = d.arith
    if not (a.act_signed or a.weight_signed):
        return min(d.act_bits, d.weight_bits)
    # A signed product zero-extends an unsigned operand by a bit (Amaranth's signed cast).
    act = d.act_bits + (0 if a.act_signed else 1)
    weight = d.weight_bits + (0 if a.weight_signed else 1)
    return min(act, weight) + 1


def csa_tree_levels(rows: int) -> int:
    """3:2 levels that reduce ``rows`` rows to two the way Yosys ``maccmap`` does: each
    level turns every full group of three rows into two and passes the rest on.

    Parameters
    ----------
    rows : int
        Rows entering the tree.

    Returns
    -------
    int
        Compressor levels (0 for two rows or fewer).
    """
    levels = 0
    while rows > 2:
        rows = 2 * (rows // 3) + rows % 3
        levels += 1
    return levels


def _merged_mac(design: GridDesign) -> bool:
    """Whether synthesis folds the accumulator adder into the multiplier (one multiply-
    accumulate: the accumulator a row of its compressor tree). It does unless the product
    is sign-extended to the accumulator width (then the product's top bit has several
    users and the adder stays a separate carry-propagate adder)."""
    d = design
    return not (d.product_range[0] < 0 and d.acc_width > d.product_width)


def advance_loads(design: GridDesign) -> int:
    """Gate inputs on the global ``advance`` enable: every register loading under it
    directly and, output-stationary, one enable gate per PE register bank (accumulator,
    drain) that combines it with the PE's own condition.

    Parameters
    ----------
    design : GridDesign
        A grid design.

    Returns
    -------
    int
        Loads on the ``advance`` net.
    """
    d = design
    R, C, W = d.rows, d.cols, d.acc_width
    ab, wb = d.act_bits, d.weight_bits
    assert wb is not None
    result = C * W + 1
    if d.is_output_stationary:
        skew = d.skew_max
        loads = R * ab + C * wb + 2 + 2 * (skew + 1) + _bits(d.last_spacing) + max(0, R - 1)
        if d.skewed:
            loads += ab * R * (R - 1) // 2 + wb * C * (C - 1) // 2
            loads += ab * R * (C - 1) + wb * (R - 1) * C
        # One enable gate per distinct accumulator and drain enable (_enable_groups).
        acc_group, drain_group = _enable_groups(d)
        return loads + result + (R * C) // acc_group + (R * C) // drain_group
    assert isinstance(d, SystolicDesign)  # weight-stationary: only the systolic array
    vb = _value_bits(d)
    loads = R * ab + 1 + ab * R * (R - 1) // 2 + ab * R * (C - 1) + (R + C - 1)
    loads += _bits(R - 1 + d.weight_write_wait) + R * C * vb + W * C * (C - 1) // 2
    return loads + result


def _os_paths(design: GridDesign) -> list[TimingPath]:
    d = design
    R, C, W = d.rows, d.cols, d.acc_width
    cs = d.carry_save_accumulate
    vb = _value_bits(d)
    paths = []
    for operand in operands(d):
        body = _pe_elements(d, operand)
        paths.append(
            TimingPath(
                f"PE accumulate ({operand} register -> accumulator)",
                (*body, gates("and2", 1, "restart after the last step"), _enable()),
            )
        )
        paths.append(
            TimingPath(
                f"PE drain load ({operand} register -> drain register)",
                (*body, gates("mux2", 1, "load or shift"), _enable()),
            )
        )
    # PEs that one step flag drives: an anti-diagonal of the systolic array, all of the
    # 2D matrix.
    flag_pes, drain_pes = _enable_groups(d)
    paths += [
        TimingPath(
            "step end flag -> accumulator restart and drain load",
            (
                *_net(flag_pes * 2 * vb, "last-step flag net"),
                gates("mux2", 1, "load or shift"),
                _enable(),
            ),
        ),
        TimingPath(
            "step valid flag -> accumulator enable",
            (decoded_write(2, flag_pes * vb, "advance & valid -> accumulator enables"),),
        ),
    ]
    # Drain thermometer: out_en = shift[R] after rows - 1 ORs loads the result register
    # (the taps before it shift a drain row each). A tap drives the next OR and its row's
    # enable gates, one per PE, which synthesis buffers beyond two. (The calibrated loaded
    # stage reproduces the ripple's weak-cell stages, 0.34-0.37 ns at 8 loads against
    # 0.39 measured in catalog systolic_os_int8_16x16, but the path's end is then priced
    # too long: see docs/timing.md, not applied here.)
    stage = [_or_chain(1, "thermometer OR"), fanout(1 + min(C, 2), "thermometer tap")]
    paths.append(
        TimingPath(
            "drain shift enables (phase -> result register)",
            (
                *(stage * (R - 1)),
                *_bank_enable(max(C * W + 1, drain_pes * vb), "advance & shift"),
            ),
        )
    )
    if cs:
        paths.append(
            TimingPath(
                "drain -> carry-propagate adder -> result register",
                (adder(W, "carry-propagate adder at the array edge"), _enable()),
            )
        )
    gap = _bits(d.last_spacing)
    paths += [
        TimingPath(
            "tile-spacing counter",
            (adder(gap + 1, "gap + 1"), gates("mux2", 1, "count or restart"), _enable()),
        ),
        TimingPath(
            "feed handshake (result.ready -> input register)",
            (
                gates("and2", 1, "advance = ~valid | ready"),
                gates("and2", 1, "ready = advance & (~last | gap_ok)"),
                gates("and2", 1, "accept = valid & ready"),
                fanout(2 + gap, "accept net"),
                gates("mux2", 1, "restart the gap"),
                _enable(),
            ),
        ),
    ]
    return paths


def _paper_os_paths(design: GridDesign) -> list[TimingPath]:
    """Paper mode (``paper_mode``): registers load every cycle (no enable mux, no
    ``advance``), no drain, no adder at the edge; a PE restarts by ANDing its fed-back
    accumulator off on the first step, and a step not accepted enters as zero operands."""
    d = design
    vb = _value_bits(d)
    ab, wb = d.act_bits, d.weight_bits
    assert wb is not None
    paths = [
        TimingPath(
            f"PE accumulate ({operand} register -> accumulator)", tuple(_pe_elements(d, operand))
        )
        for operand in operands(d)
    ]
    flag_pes, _ = _enable_groups(d)
    plan = d.csa_plan
    into = (
        csa(plan.depth, "3:2 compressor levels")
        if plan is not None
        else adder(d.acc_width, "accumulator adder")
    )
    gap = _bits(d.last_spacing)
    paths += [
        TimingPath(
            "first-step flag -> accumulator restart",
            (
                *_net(flag_pes * vb, "first-step flag net"),
                gates("and2", 1, "restart: fed-back accumulator AND ~first"),
                into,
            ),
        ),
        TimingPath(
            "tile-spacing counter",
            (adder(gap + 1, "gap + 1"), gates("mux2", 1, "count or restart"), _enable()),
        ),
        TimingPath(
            "feed handshake (gap -> input register)",
            (
                gates("and2", 1, "ready = ~fresh | gap_ok"),
                gates("and2", 1, "accept = valid & ready"),
                fanout(d.rows * ab + d.cols * wb + 3 + gap, "accept net"),
                gates("and2", 1, "zero operands off a step"),
            ),
        ),
    ]
    return paths


def _ws_paths(design: GridDesign) -> list[TimingPath]:
    d = design
    R, C, W = d.rows, d.cols, d.acc_width
    wb = d.weight_bits
    assert wb is not None
    cs = d.carry_save_accumulate
    paths = []
    for operand in operands(d):
        body = _pe_elements(d, operand, accumulate=R > 1)
        paths.append(
            TimingPath(
                f"PE partial sum ({operand} register -> partial-sum register)",
                (*body, _enable()),
            )
        )
    if cs:
        paths.append(
            TimingPath(
                "bottom partial sum -> carry-propagate adder -> result register",
                (adder(W, "carry-propagate adder at the array edge"), _enable()),
            )
        )
    assert isinstance(d, SystolicDesign)  # weight-stationary: only the systolic array
    cmp_bits = _bits(R - 1 + d.weight_write_wait)
    # valid & ready & (row == i) loads row i's C weights: the row decode, which synthesis
    # maps onto one wide NOR gate per row driving the row's load enables in both
    # polarities (2 C wb gate inputs), priced by the calibrated row-decoded write. A
    # single row has no decode: the write flag drives the enables.
    if R > 1:
        write: tuple[Element, ...] = (
            decoded_write(R, C * wb, "valid & ready & (row == i) -> row's enable muxes"),
        )
    else:
        write = (
            gates("and2", 1, "write = valid & ready"),
            *_net(2 * C * wb, "row write enable net"),
            _enable(),
        )
    paths += [
        TimingPath(
            "weight write (row -> weight registers)",
            (
                # The comparison's carry chain spans the counter's bits: the extra bit of
                # row + wait comes from the row port, early (OpenSTA from the quiet
                # registers: catalog systolic_ws_csa_int4_8x8, held-out #034).
                adder(cmp_bits, "quiet >= row + wait (one carry chain)"),
                gates("and2", 1, "ready = advance & allowed"),
                *write,
            ),
        ),
        TimingPath(
            "write-wait counter",
            (adder(cmp_bits + 1, "quiet + 1"), gates("mux2", 1, "count or restart"), _enable()),
        ),
    ]
    return paths


def timing_paths(design: GridDesign) -> list[TimingPath]:
    """Every register-to-register path of a grid design (systolic array or 2D matrix).

    Parameters
    ----------
    design : GridDesign
        A :class:`~shiftadd.design.systolic.SystolicDesign` (either dataflow) or a
        :class:`~shiftadd.design.matrix2d.Matrix2DDesign`.

    Returns
    -------
    list of TimingPath
        The PE datapath from each operand register, the control nets (step flags, drain
        enables, the weight write), the carry-propagate adders at the edge (carry-save),
        and the global ``advance`` enable.
    """
    d = design
    if d.paper_structured:
        return _paper_os_paths(d)
    paths = _os_paths(d) if d.is_output_stationary else _ws_paths(d)
    # advance is a gate (not a register) driving register enables through a buffer tree:
    # the two-row decoded write, the block calibrated on that structure (its one-bit index
    # a literal, so the decode is the same single gate).
    paths.append(
        TimingPath(
            "advance (result.ready -> every register enable)",
            (decoded_write(2, advance_loads(d), "advance = ~valid | ready -> register enables"),),
        )
    )
    if d.is_output_stationary:
        # Output-stationary PE registers load on advance & their own condition: one gate per
        # group of PEs sharing it drives the group's register enables. The advance gate
        # drives its whole net (every register enable, these gates among them) on weak
        # cells: the 10 ns target leaves the net slack, so synthesis neither sizes its
        # driver nor puts the enable gates at the root of a timing-driven tree (2D matrices
        # 20261207 #006, 20261299 #036: the gate, then buf_1 cells of 0.23-0.25 ns before
        # the enable gate), a calibrated loaded stage over the net's loads; then the enable
        # gate driving its group's register enables (the calibrated two-row write block).
        acc_group, drain_group = _enable_groups(d)
        paths.append(
            TimingPath(
                "advance -> PE enable gates -> PE register enables",
                (
                    gates("and2", 1, "advance = ~valid | ready"),
                    loaded_stages(1, advance_loads(d), "advance net to the PE enable gates"),
                    decoded_write(2, max(acc_group, drain_group) * _value_bits(d), "PE enable"),
                ),
            )
        )
    return paths
