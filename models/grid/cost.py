"""Cost model of the grid engines: blocks counted as :mod:`shiftadd.hw.systolic_os` and
:mod:`shiftadd.hw.systolic_ws` build them, register switching from the PE arithmetic, and the
port activity for vectorless synthesis power."""

from __future__ import annotations

import dataclasses
import functools
from typing import cast

import numpy as np

from ...design.arith import Arithmetic
from ...design.systolic import GridDesign
from ...workloads.activity_stats import (
    DataActivity,
    bus_toggle_rate,
    zero_fraction,
)
from ..cost import Item
from ..cost import Item as _CostItem
from ..data_activity import (
    MAX_VECTORS,
    act_values,
    digit_toggles,
    from_switching,
    lane_terms,
    term_width,
    value_toggles,
    weight_values,
)

__all__ = [
    "BoothDigitGates",
    "booth_digit_gates",
    "first_layer_width",
    "switching_factors",
    "booth_row_bits",
    "term_rows",
    "compressor_cells",
    "carry_save_chain",
    "pe_items",
    "chain_pe_items",
    "switching_summary",
    "bill_of_materials",
    "paper_os_items",
    "activity_profile",
    "data_activity",
]


def _popcount(x: int) -> int:
    return bin(int(x)).count("1")


def _mask_row(mask: int, width: int, name: str) -> list:
    """A bit row of distinct wires where ``mask`` has bits (a register, a term)."""
    return [(name, p) if mask >> p & 1 else None for p in range(width)]


def booth_row_bits(design: GridDesign) -> list[list]:
    """The Booth partial-product rows of one PE as :func:`shiftadd.hw.booth.booth_rows` and
    :func:`shiftadd.hw.csa.bit_row` build them, bit by bit: a label per distinct wire, the
    sign wire itself repeated above a signed row's top bit, nothing above an unsigned row
    (the top digit of an unsigned activation, never negative, times an unsigned weight).

    Parameters
    ----------
    design : GridDesign
        A design with Booth partial products (``mac`` and ``carry_save_accumulate``).

    Returns
    -------
    list of list
        Per row, ``acc_width`` entries: a wire label or None.
    """
    d = design
    W, ab, wb = d.acc_width, d.act_bits, d.weight_bits
    assert wb is not None
    rows = []
    for j in range(d.booth_digits):
        shift = 2 * j
        if shift >= W:
            break
        # The top digit of an unsigned code has no negative form: 0, w or 2w at the
        # weight's own signedness, one bit narrower.
        never_negative = j > 0 and not d.act_signed and 2 * j + 1 >= ab
        n, signed_row = (wb + 1, d.weight_signed) if never_negative else (wb + 2, True)
        n = min(n, W - shift)
        row: list = [None] * W
        for i in range(n):
            row[shift + i] = ("pp", j, i)
        if signed_row:
            for p in range(shift + n, W):
                row[p] = ("pp", j, n - 1)
        rows.append(row)
    return rows


@dataclasses.dataclass(frozen=True)
class BoothDigitGates:
    """The logic of one radix-4 Booth digit of a PE, as :func:`shiftadd.hw.booth` wires it.

    Parameters
    ----------
    encoder_xor : int
        XOR gates of the digit's encoder (``one``, ``two``, ``neg`` from three activation
        bits).
    encoder_and : int
        AND gates of the encoder.
    two : bool
        Whether ``two`` can be 1 (else the row selects ``w`` alone: no 2:1 mux).
    neg : bool
        Whether the digit can be negative (else the row has no inverters).
    levels : int
        Gate levels from the activation bits to the slowest of the digit's wires.
    """

    encoder_xor: int
    encoder_and: int
    two: bool
    neg: bool
    levels: int


def booth_digit_gates(design: GridDesign) -> list[BoothDigitGates]:
    """Per Booth digit of the activation, least significant first, the encoder's gates and
    which selections its row needs.

    A digit reads ``a[2j-1], a[2j], a[2j+1]`` of the sign- (or zero-) extended code. A full
    digit is the general encoder (two XOR and four AND gates). Digit 0 reads the implicit
    ``a[-1] = 0``: ``one = a[0]`` and ``neg = a[1]`` are wires, ``two = a[1] & ~a[0]`` one
    gate. The top digit of an unsigned code is never negative: ``one = a[2j] ^ a[2j-1]``,
    ``two = a[2j] & a[2j-1]`` (or ``one = a[2j-1]`` alone and ``two = 0`` above the code's
    bits). The top digit of an odd-width signed code reads the sign bit twice: ``two = 0``.
    Synthesis folds every constant, so those digits cost less than the general encoder and
    their rows drop the 2:1 select (``two = 0``) or the inverters (never negative).

    Levels: the general ``two = (hi & ~mid & ~lo) | (~hi & mid & lo)`` complements the
    bits, ANDs three and ORs two (3 levels; ``one`` is one XOR, ``neg = hi & ~(mid & lo)``
    two levels); digit 0's ``two`` is a complement and an AND (2); an unsigned code's top
    digit one XOR or AND (1); an odd signed code's top digit ``neg = a & ~lo`` (2).

    Parameters
    ----------
    design : GridDesign
        A design with Booth partial products.

    Returns
    -------
    list of BoothDigitGates
        One entry per digit (:attr:`~shiftadd.design.systolic.GridDesign.booth_digits`).
    """
    d = design
    ab, signed = d.act_bits, d.act_signed

    def bit(i: int) -> int | None:
        # The bit's index in the code (the sign bit above a signed code), None for a 0.
        if i < 0:
            return None
        if i < ab:
            return i
        return ab - 1 if signed else None

    out = []
    for j in range(d.booth_digits):
        lo, mid, hi = bit(2 * j - 1), bit(2 * j), bit(2 * j + 1)
        if lo is None:
            two = hi is not None and mid is not None and hi != mid
            out.append(BoothDigitGates(0, int(two), two, hi is not None, 2 if two else 0))
        elif hi is None:
            m = int(mid is not None)
            out.append(BoothDigitGates(m, m, mid is not None, False, m))
        elif hi == mid:
            # The sign bit read twice: one = a ^ lo, neg = a & ~lo, two = 0.
            out.append(BoothDigitGates(1, 1, False, True, 2))
        else:
            out.append(BoothDigitGates(2, 4, True, True, 3))
    return out


def term_rows(design: GridDesign) -> tuple[list[list], list]:
    """A carry-save PE's term rows and injected single bits as wire labels (as
    :meth:`shiftadd.hw.arith.PEArithmetic.csa_terms` builds them): Booth partial products
    (:func:`booth_row_bits`) with digit 0's sign, activation bit 1, as the injected bit; or
    the ``+-a`` row, sign-extended by its own top bit (signed ``a``, with a separate
    carry-in) or by the sign wire that is also its injected ``+1`` (unsigned ``a``).

    Parameters
    ----------
    design : GridDesign
        A design with ``carry_save_accumulate``.

    Returns
    -------
    tuple of (list of list, list)
        The term rows (``acc_width`` wire labels or None each) and the injected bits.
    """
    d = design
    W = d.acc_width
    if d.booth:
        return booth_row_bits(d), [("act", 1)]
    n = min(d.act_bits, W)
    above = ("term", n - 1) if d.act_signed else ("sign",)
    row = [("term", i) for i in range(n)] + [above] * (W - n)
    return [row], [("carry-in",) if d.act_signed else ("sign",)]


def compressor_cells(rows, plan, width: int, bits=()) -> tuple[int, int, tuple[list, list]]:
    """``(full adders, half adders, (sum, carry))`` of one 3:2 reduction of bit rows, as
    synthesis keeps them: a bit where three rows meet is a full adder, two a half adder,
    one a wire, and cells with the same inputs are one cell (above the rows' top bits the
    same sign wires meet at every position, so one adder serves them all).

    Parameters
    ----------
    rows : list of list
        Bit rows (wire labels or None, ``width`` each), in the plan's row order.
    plan : CsaPlan
        The reduction.
    width : int
        Row width.
    bits : sequence
        Wire labels of the single bits the plan injects (into bit 0 of a carry row).

    Returns
    -------
    tuple
        Distinct full and half adders, and the result's sum and carry rows.
    """
    rows = [list(r) for r in rows]
    injected = {plan.inject_step(i): b for i, b in enumerate(bits)}
    full: set = set()
    half: set = set()
    for step, (x, y, z) in enumerate(plan.steps):
        a, b, c = rows[x], rows[y], rows[z]
        sums: list = [None] * width
        carries: list = [None] * width
        for p in range(width):
            ins = tuple(v for v in (a[p], b[p], c[p]) if v is not None)
            if len(ins) == 1:
                sums[p] = ins[0]
                continue
            if len(ins) < 2:
                continue
            (full if len(ins) == 3 else half).add(ins)
            sums[p] = ("s", ins)
            if p + 1 < width:
                carries[p + 1] = ("c", ins)
        if step in injected:
            carries[0] = injected[step]
        rows += [sums, carries]
    return len(full), len(half), (rows[-2], rows[-1])


def carry_save_chain(design: GridDesign, length: int) -> list[tuple[list, int, int]]:
    """The carry-save adders of a weight-stationary column (or a cube's depth), each adding
    its terms to the registered pair the previous one passes on, as the registers hold it:
    one flip-flop per distinct wire of the pair (:func:`shiftadd.hw.systolic_pe.register_row`),
    so a sign wire repeated over the upper bits is one register whose output the next
    adder sees repeated again.

    Parameters
    ----------
    design : GridDesign
        A design with ``carry_save_accumulate``.
    length : int
        Adders in the chain.

    Returns
    -------
    list of tuple
        Per adder: the incoming pair (two bit rows of wire labels), the flip-flops of the
        pair it passes on, and how many of those hold the raw activation bit 1 (Booth
        digit 0's sign, injected into the carry): the same flip-flop as bit 1 of a
        register passing the activation on (same input and enable; synthesis keeps one).
    """
    d = design
    W = d.acc_width
    plan = d.csa_plan
    assert plan is not None
    terms, bits = term_rows(d)
    prev: list = [[None] * W, [None] * W]
    out = []
    for i in range(length):
        _, _, pair = compressor_cells([*terms, *prev], plan, W, bits)
        regs: dict = {}
        for row in pair:
            for v in row:
                if v is not None:
                    regs.setdefault(v, ("psum", i, len(regs)))
        raw_act = int(d.booth and ("act", 1) in regs)
        out.append((prev, len(regs), raw_act))
        prev = [[None if v is None else regs[v] for v in row] for row in pair]
    return out


# Accumulations of at most this many steps are simulated for the switching factors; longer
# reductions change only the upper bits' sign-change rate, which is already small there.
_TOGGLE_STEPS = 64
_TOGGLE_TRIALS = 512


@functools.lru_cache(maxsize=512)
def toggle_factors(arith: Arithmetic, width: int, steps: int) -> tuple[float, float]:
    """``(accumulator, result)`` switching of ``width``-bit registers relative to random
    data (toggles per bit per write / 0.5), from the PE arithmetic on uniformly random
    operands.

    *accumulator*: a register that adds one product per step and restarts every ``steps``
    steps (an output-stationary accumulator; a weight-stationary partial-sum register sees
    sums of independent vectors instead, the *result* case with fewer terms). *result*: a
    register that holds successive independent sums of ``steps`` products (result, drain
    and de-skew registers). Low bits toggle like random data; the bits above the sums'
    magnitude change only with the sign.
    """
    rng = np.random.default_rng(12345)
    shape = (_TOGGLE_TRIALS, 4 * steps)
    a = rng.integers(arith.act_range[0], arith.act_range[1] + 1, size=shape, dtype=np.int64)
    w = arith.random_weight_values(rng, shape)
    p = (a * w).reshape(_TOGGLE_TRIALS, 4, steps)
    sums = np.cumsum(p, axis=2)  # the register after each step, restarting every tile
    mask = np.int64((1 << width) - 1) if width < 63 else np.int64(-1)

    def mean_toggles(x, y):
        diff = (x ^ y) & mask
        bits = np.unpackbits(diff.astype("<u8").view(np.uint8)[..., None], axis=-1)
        return bits.sum() / diff.size / width

    seq = sums.reshape(_TOGGLE_TRIALS, -1)
    acc = mean_toggles(seq[:, 1:], seq[:, :-1]) / 0.5
    finals = sums[:, :, -1]
    res = mean_toggles(finals[:, 1:], finals[:, :-1]) / 0.5
    return float(min(acc, 2.0)), float(min(res, 2.0))


def switching_factors(design: GridDesign) -> dict[str, float]:
    """Switching of a grid engine's value registers relative to random data, from its PE
    arithmetic (:func:`toggle_factors`): ``acc`` (OS accumulators, per step), ``psum``
    (WS partial-sum registers, averaged over the rows), ``result`` (results leaving the
    array).

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).

    Returns
    -------
    dict of str to float
        ``acc``, ``psum`` and ``result`` switching factors, each in ``[0, 2]``.
    """
    d = design
    key = (d.arith, d.acc_width)
    steps = min(d.reduction_length, _TOGGLE_STEPS)
    acc, result = toggle_factors(*key, steps)
    if d.is_output_stationary:
        return {"acc": acc, "psum": acc, "result": result}
    psum = float(np.mean([toggle_factors(*key, i)[1] for i in range(1, d.rows + 1)]))
    return {"acc": psum, "psum": psum, "result": result}


def _pe_items(d: GridDesign, pes: int, prev_masks, label: str) -> list:
    """Datapath of ``pes`` PEs that add one product to a value whose (carry-save) bits are
    ``prev_masks`` (None: a carry-propagate value of ``acc_width`` bits; (0, 0): nothing).
    Data energy per useful MAC."""
    ab, wb, w = d.act_bits, d.weight_bits, d.acc_width
    assert wb is not None
    arith = d.arith
    items = []
    # The datapath of a PE switches only when its lane multiplies real operands: the zero
    # padding of a partial tile leaves it quiet, so its data energy is per useful MAC.
    Item = functools.partial(_CostItem, per="mac", macs=d.rows * d.cols)
    # A complementing lane: conditional inverters (and zero gates) over a + its carry-in.
    lane_gates = [
        Item(unit, f"{label}: {part}", pes * (ab + 1), driver="term")
        for unit, part in arith.lane_gates
    ]
    if not d.carry_save_accumulate:
        if arith.multiplier:
            items.append(
                Item(
                    "mult",
                    f"{label}: multipliers",
                    pes,
                    bits=pes * ab * wb,
                    io=pes * (ab + wb),
                    driver="term",
                )
            )
        else:
            items += lane_gates
        # The top row of a weight-stationary column adds its product to nothing; a carry-in
        # still needs an adder.
        if prev_masks != (0, 0) or arith.complements:
            items.append(
                Item("adder", f"{label}: accumulator adders", pes, bits=pes * w, driver="sum")
            )
        return items
    plan = d.csa_plan
    terms = list(d.csa_term_masks)
    if d.booth:
        digits = booth_digit_gates(d)[: len(terms)]
        enc_xor = sum(g.encoder_xor for g in digits)
        enc_and = sum(g.encoder_and for g in digits)
        # A digit whose ``two`` is constant 0 selects w alone (no mux), one that is never
        # negative has no inverters: synthesis folds both (hw.booth's digit wires).
        muxes = sum(g.two for g in digits)
        inverters = sum(g.neg for g in digits)
        items += [
            Item("xor2", f"{label}: Booth encoders", pes * enc_xor, driver="digit"),
            Item("and2", f"{label}: Booth encoders", pes * enc_and, driver="digit"),
            Item(
                "mux2",
                f"{label}: partial-product select (w or 2w)",
                pes * muxes * (wb + 1),
                driver="digit",
            ),
            Item(
                "xor2",
                f"{label}: partial-product invert",
                pes * inverters * (wb + 1),
                driver="digit",
            ),
            Item(
                "and2",
                f"{label}: partial-product zero",
                pes * len(digits) * (wb + 1),
                driver="digit",
            ),
        ]
    else:
        items += lane_gates
    rows, bits = term_rows(d)
    if prev_masks and isinstance(prev_masks[0], list):
        prev_rows = list(prev_masks)  # a pair of bit rows (carry_save_chain)
    else:
        prev_rows = [_mask_row(m, w, part) for m, part in zip(prev_masks, ("sum", "carry"))]
    full, half, _ = compressor_cells([*rows, *prev_rows], plan, w, bits)
    items.append(Item("csa", f"{label}: 3:2 compressor bits", pes * full, driver="sum"))
    if half:
        items += [
            Item("xor2", f"{label}: half-adder sums", pes * half, driver="sum"),
            Item("and2", f"{label}: half-adder carries", pes * half, driver="sum"),
        ]
    return items


def pe_items(design: GridDesign, pes: int, prev_masks, label: str, *, macs: float) -> list:
    """The datapath items of ``pes`` grid PEs that add one product to a value, for an engine
    whose whole array has ``macs`` MAC lanes (the 3D-Cube reuses the grid PEs).

    Parameters
    ----------
    design : GridDesign
        A grid design (its PE arithmetic and accumulator form).
    pes : int
        PEs counted.
    prev_masks : tuple of (int, int), pair of bit rows, or None
        Bits of the incoming carry-save pair (``(0, 0)``: nothing comes in); None: a
        carry-propagate value of ``acc_width`` bits.
    label : str
        What the PEs are (shown in the breakdown).
    macs : float
        MAC lanes of the whole engine (per-MAC data energy).

    Returns
    -------
    list of Item
        Multipliers or lane gates, Booth encoders and selectors, compressors and adders.
    """
    return [
        dataclasses.replace(i, macs=macs) if i.per == "mac" else i
        for i in _pe_items(design, pes, prev_masks, label)
    ]


def first_layer_width(design: GridDesign) -> int:
    """Distinct bits of a first-layer partial sum (one product, no sum from before).

    The product's width and one more for the carry-in of a negating PE, at most the
    accumulator's; the register bits above are copies of the sign bit, which synthesis
    keeps as one flip-flop (a 3 x 3 x 1 ternary cube with 10-bit accumulators keeps 7 bits
    of each partial-sum, de-skew and result register).

    Parameters
    ----------
    design : GridDesign
        A grid or cube design.

    Returns
    -------
    int
        Bits.
    """
    return min(design.acc_width, design.product_width + 1)


def chain_pe_items(
    design: GridDesign,
    per_layer: int,
    layers: int,
    *,
    passers: int,
    labels: tuple[str, str],
    toggle: float,
    macs: float | None = None,
) -> list:
    """PEs whose partial sums pass from layer to layer (a weight-stationary grid's rows, a
    cube's depth) and the partial-sum registers between them.

    Parameters
    ----------
    design : GridDesign
        A grid design (its PE arithmetic and accumulator form).
    per_layer : int
        PEs in one layer.
    layers : int
        Layers along the chain.
    passers : int
        PEs of a layer that pass their activation on: with carry-save sums their
        activation bits shared with the partial-sum register are one flip-flop
        (:func:`carry_save_chain`).
    labels : (str, str)
        The first layer's label and the others' (formatted with the layer index).
    toggle : float
        Toggle factor of the partial sums.
    macs : float, optional
        MAC lanes of the whole engine (default ``per_layer * layers``).

    Returns
    -------
    list of Item
        The PEs' datapaths and the partial-sum registers.
    """
    d = design
    pes = per_layer * layers
    macs = pes if macs is None else macs
    first, other = labels
    if d.carry_save_accumulate:
        chain = carry_save_chain(d, layers)
        items = pe_items(d, per_layer, chain[0][0], first, macs=macs)
        for i in range(1, layers):
            items += pe_items(d, per_layer, chain[i][0], other.format(i), macs=macs)
        part = "partial-sum registers (carry-save)"
        bits = per_layer * sum(b for _, b, _ in chain) - passers * sum(a for _, _, a in chain)
    else:
        items = pe_items(d, per_layer, (0, 0), first, macs=macs)
        if layers > 1:
            items += pe_items(d, (layers - 1) * per_layer, None, "PEs", macs=macs)
        # The first layer's sum is one product, sign-extended to the accumulator: the
        # register bits above the product (plus the carry-in bit of a negating PE) copy its
        # sign bit, and synthesis keeps one flip-flop for them.
        part = "partial-sum registers"
        bits = per_layer * first_layer_width(d) + (pes - per_layer) * d.acc_width
    items.append(Item("dffe", part, bits, per="mac", macs=macs, toggle=toggle, driver="sum"))
    return items


def _accumulator_items(register: str, pes: int, bits: int, toggle: float) -> list[Item]:
    """Every PE's accumulator (``bits`` register bits of kind ``register``) and the gate per
    bit that clears it for a tile's first step, switching with the accumulated sums."""
    return [
        Item(
            register,
            "PE accumulators",
            pes * bits,
            per="mac",
            macs=pes,
            toggle=toggle,
            driver="sum",
        ),
        Item(
            "and2",
            "PE accumulator restart",
            pes * bits,
            per="mac",
            macs=pes,
            toggle=toggle,
            driver="sum",
        ),
    ]


def paper_os_items(design: GridDesign) -> list[Item]:
    """Blocks of a paper-mode output-stationary array (``paper_mode``,
    :mod:`shiftadd.hw.systolic_os`): registers without enables (``dff``), zero operands
    off a step, the PEs with their accumulators; no drain, no result register, no
    carry-propagate adder (the accumulators are the outputs).

    Parameters
    ----------
    design : GridDesign
        An output-stationary design with ``paper_structured``.

    Returns
    -------
    list of Item
        The building blocks.
    """
    d = design
    R, C, skew = d.rows, d.cols, d.skew_max
    ab, wb = d.act_bits, d.weight_bits
    assert wb is not None
    pes = R * C
    f = switching_factors(d)
    acc = d.acc_masks if d.carry_save_accumulate else None
    bits = _popcount(acc[0]) + _popcount(acc[1]) if acc is not None else d.acc_width
    return [
        Item("dff", "input register (step, first, last)", R * ab + 2, driver="act"),
        Item("dff", "input register (weights of the step)", C * wb, driver="weight"),
        Item("and2", "zero operands off a step", R * ab + C * wb, driver="act"),
        Item("dff", "step flags (first, last) per skew", 2 * (skew + 1) + 1),
        Item("dffe", "tile-spacing counter", max(1, d.last_spacing.bit_length()) + 1),
        Item("dff", "operand skew registers", ab * R * (R - 1) // 2, driver="act"),
        Item("dff", "operand skew registers (weights)", wb * C * (C - 1) // 2, driver="weight"),
        Item("dff", "operand pass registers", ab * R * (C - 1), driver="act"),
        Item("dff", "operand pass registers (weights)", wb * (R - 1) * C, driver="weight"),
        *_pe_items(d, pes, acc, "PEs"),
        *_accumulator_items("dff", pes, bits, f["acc"]),
    ]


def bill_of_materials(design: GridDesign) -> list[Item]:
    """Blocks of a grid engine as :mod:`shiftadd.hw.systolic_os` / ``systolic_ws`` build
    them: edge registers, skew and pass registers, PEs, drain or de-skew, carry-propagate
    adders at the edge (carry-save), control counters.

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).

    Returns
    -------
    list of Item
        The building blocks, to be priced with a unit table
        (:func:`shiftadd.models.cost.estimate`).
    """
    d = design
    if d.paper_structured:
        return paper_os_items(d)
    R, C, W = d.rows, d.cols, d.acc_width
    ab, wb, cs = d.act_bits, d.weight_bits, d.carry_save_accumulate
    assert wb is not None
    pes = R * C
    f = switching_factors(d)
    # Outputs leaving the array per cycle at full rate: a tile's R x C results per k_max
    # steps (output-stationary), C partial results per activation vector (weight-stationary).
    rate = pes / cast(int, d.k_max) if d.is_output_stationary else C

    def per_output(unit, part, count, bits=0.0):
        # Energy of the parts an output element passes on its way out (area, clock and
        # leakage are in the structural item beside it).
        return Item(
            unit,
            f"{part} (per output)",
            count,
            bits=bits,
            per="output",
            rate=rate,
            toggle=f["result"],
            structural=False,
            driver="sum",
        )

    items = [
        Item("dffe", "result register", C * W + 1, active=False),
        per_output("dffe", "result register", W),
    ]
    if cs:
        items += [
            Item("adder", "carry-propagate adders at the array edge", C, bits=C * W, active=False),
            per_output("adder", "carry-propagate adders at the array edge", 1, bits=W),
        ]
    if d.is_output_stationary:
        skew = d.skew_max
        items += [
            # The step's activations and weights come from different streams.
            Item("dffe", "input register (step, valid, last)", R * ab + 2, driver="act"),
            Item("dffe", "input register (weights of the step)", C * wb, driver="weight"),
            Item("dffe", "step flags (valid, last) per skew", 2 * (skew + 1)),
            Item("dffe", "tile-spacing counter", max(1, d.last_spacing.bit_length())),
            Item("dffe", "drain phase", max(0, R - 1)),
        ]
        if d.skewed:
            items += [
                Item("dffe", "operand skew registers", ab * R * (R - 1) // 2, driver="act"),
                Item(
                    "dffe",
                    "operand skew registers (weights)",
                    wb * C * (C - 1) // 2,
                    driver="weight",
                ),
                Item("dffe", "operand pass registers", ab * R * (C - 1), driver="act"),
                Item("dffe", "operand pass registers (weights)", wb * (R - 1) * C, driver="weight"),
            ]
        if cs:
            acc = d.acc_masks
            bits = _popcount(acc[0]) + _popcount(acc[1])
            items += _pe_items(d, pes, acc, "PEs")
        else:
            bits = W
            items += _pe_items(d, pes, None, "PEs")
        # A result is loaded into the drain and shifted down its column: (R + 1) / 2
        # register writes and (R - 1) / 2 load-or-shift muxes on average.
        items += [
            *_accumulator_items("dffe", pes, bits, f["acc"]),
            Item("dffe", "drain registers", pes * bits, active=False),
            per_output("dffe", "drain registers", bits * (R + 1) / 2),
            Item("mux2", "drain load or shift", (R - 1) * C * bits, active=False),
            per_output("mux2", "drain load or shift", bits * (R - 1) / 2),
        ]
        return items
    # weight-stationary
    items += [
        Item("dffe", "input register (vector, valid)", R * ab + 1, driver="act"),
        Item("dffe", "weight registers", pes * wb, active=False, driver="weight"),
        # They reset to zero (a tile with K < rows leaves the last rows unwritten): IHP has
        # no synchronous-reset flip-flop, so one gate per bit.
        Item("and2", "weight register reset", pes * wb, active=False),
        Item("and2", "weight row decode", R * max(1, (R - 1).bit_length()), active=False),
        Item("dffe", "activation skew registers", ab * R * (R - 1) // 2, driver="act"),
        Item("dffe", "activation pass registers", ab * R * (C - 1), driver="act"),
        Item("dffe", "valid delay", R + C - 1),
        Item("dffe", "write-wait counter", max(1, (R - 1 + C).bit_length())),
        # Column c's results wait C - 1 - c cycles: (C - 1) / 2 writes on average.
        Item("dffe", "de-skew registers", W * C * (C - 1) // 2, active=False),
        per_output("dffe", "de-skew registers", W * (C - 1) / 2),
    ]
    items += chain_pe_items(
        d, C, R, passers=C - 1, labels=("top-row PEs", "row {} PEs"), toggle=f["psum"]
    )
    return items


def activity_profile(design: GridDesign, data_activity: float):
    """Port switching while the array streams (for vectorless synthesis power).

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).
    data_activity : float
        Toggles per cycle of a streamed data bit (0.5: uniformly random data).

    Returns
    -------
    list of tuple of (str, float, float)
        ``(port glob, toggles per cycle, duty)`` rules (first match wins), the catch-all
        ``"*"`` last.
    """
    # Streaming at full rate with random operands. Output-stationary: a new step (column of
    # activations and row of weights) every cycle. Weight-stationary: a new activation
    # vector every cycle, weights held (loaded once per tile, rare next to the vectors).
    return [
        ("feed__payload*", data_activity, 0.5),
        ("feed__valid", 0.0, 1.0),
        ("act__payload*", data_activity, 0.5),
        ("act__valid", 0.0, 1.0),
        ("weights__*", 0.0, 0.0),
        ("result__ready", 0.0, 1.0),
        ("rst", 0.0, 0.0),
        ("*", 0.0, 0.0),
    ]


def _spread(items: list, tiles: int) -> list:
    """Up to ``tiles`` of ``items``, evenly spaced (the first and the last included)."""
    pick = np.unique(np.linspace(0, len(items) - 1, min(len(items), tiles)).round().astype(int))
    return [items[i] for i in pick]


def _grid_switching(design: GridDesign, w: np.ndarray, x: np.ndarray, tiles: int) -> dict:
    """Flips and bit-cycles of a grid engine's nets running ``x @ w.T`` tile by tile."""
    d = design
    arith = d.arith
    R, C, W = d.rows, d.cols, d.acc_width
    (n, k), m = w.shape, x.shape[0]
    tw = term_width(arith)
    acts, weights, term, acc = [], [], [0.0, 0.0], [0.0, 0.0]
    if d.is_output_stationary:
        # A step brings a column of R activations and a row of C weights; PE (r, c) adds
        # x[r, k] * w[c, k] into its accumulator, which restarts every k_max steps.
        steps = max(2, min(cast(int, d.k_max), (1 << 21) // (R * C)))
        order = [
            (m0, n0, k0)
            for m0 in range(0, m, R)
            for n0 in range(0, n, C)
            for k0 in range(0, k, steps)
        ]
        for m0, n0, k0 in _spread(order, tiles):
            k1 = min(k, k0 + steps)
            xt = np.zeros((k1 - k0, R), np.int64)
            wt = np.zeros((k1 - k0, C), np.int64)
            xt[:, : min(R, m - m0)] = x[m0 : m0 + R, k0:k1].T
            wt[:, : min(C, n - n0)] = w[n0 : n0 + C, k0:k1].T
            acts.append(xt)
            weights.append(wt)
            terms = lane_terms(arith, xt[:, :, None], wt[:, None, :])  # (steps, R, C)
            for tot, (f, b) in (
                (term, value_toggles(terms, tw)),
                (acc, value_toggles(np.cumsum(terms, axis=0), W)),
            ):
                tot[0] += f
                tot[1] += b
    else:
        # Weights sit still (W[r, c] = w[n0 + c, k0 + r]); each cycle a vector of R
        # activations enters; column c's partial sums grow down the rows.
        vectors = max(2, min(m, MAX_VECTORS, (1 << 21) // (R * C)))
        pairs = [(k0, n0) for k0 in range(0, k, R) for n0 in range(0, n, C)]
        for k0, n0 in _spread(pairs, tiles):
            r = min(R, k - k0)
            xt = np.zeros((vectors, R), np.int64)
            xt[:, :r] = x[:vectors, k0 : k0 + r]
            held = np.zeros((R, C), np.int64)
            held[:r, : min(C, n - n0)] = w[n0 : n0 + C, k0 : k0 + r].T
            acts.append(xt)
            weights.append(held)  # loaded row by row
            terms = lane_terms(arith, xt[:, :, None], held[None, :, :])  # (vectors, R, C)
            for tot, (f, b) in (
                (term, value_toggles(terms, tw)),
                (acc, value_toggles(np.cumsum(terms, axis=1), W)),
            ):
                tot[0] += f
                tot[1] += b
    return switching_summary(d, np.concatenate(acts), np.concatenate(weights), term, acc)


def switching_summary(design, stream: np.ndarray, loads: np.ndarray, term, acc) -> dict:
    """The switching record of a grid-PE engine (systolic, 2D matrix, cube) from the
    activation codes it streamed, the weight codes it loaded, and the (flips, bit-cycles)
    totals of its product terms and partial sums.

    Parameters
    ----------
    design : GridDesign or CubeDesign
        The engine (operand widths, PE arithmetic, Booth digits).
    stream : ndarray of int
        Activation codes in the order they entered, one row per cycle.
    loads : ndarray of int
        Weight codes in the order they were loaded.
    term, acc : sequence of float
        (flips, bit-cycles) of the product terms and of the partial sums.

    Returns
    -------
    dict
        Toggle rates of the ``act`` and ``weight`` buses, ``term`` and ``sum`` totals,
        zero fractions, and Booth ``digit`` / ``density`` switching (None without Booth).
    """
    d = design
    ab, wb = d.act_bits, cast(int, d.weight_bits)
    out = {
        "act": bus_toggle_rate(stream, ab),
        "weight": bus_toggle_rate(loads, wb),
        "term": tuple(term),
        "sum": tuple(acc),
        "act_zero": zero_fraction(act_values(d.arith, stream)),
        "weight_zero": zero_fraction(weight_values(d.arith, loads)),
        "digit": None,
        "density": None,
    }
    if d.booth:
        out["digit"], out["density"] = digit_toggles(stream, ab, d.act_signed, "booth")
    return out


def data_activity(
    design: GridDesign, w_codes: np.ndarray, x_codes: np.ndarray, *, tiles: int = 8
) -> DataActivity:
    """Switching of a grid engine running activation codes ``x_codes`` (M, K) against weight
    codes ``w_codes`` (N, K), tile by tile as the GEMM streams them.

    Output-stationary: activations and weights both stream (a column of ``rows``
    activations and a row of ``cols`` weights per step) and every PE accumulates its
    products. Weight-stationary: the weights sit still, one activation vector enters per
    cycle and partial sums flow down the columns. The activation and weight registers switch
    with their streams; multipliers and lane gates with the products; adders, accumulators,
    partial sums and results with the accumulated values; Booth encoders and selects with
    the activations' digits. ``term``, ``sum`` and ``digit`` are each compared with
    uniformly random codes laid out the same way.

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).
    w_codes, x_codes : numpy.ndarray
        Weight and activation codes in the design's ranges.
    tiles : int
        Tiles laid out at most (evenly spaced in streaming order).

    Returns
    -------
    DataActivity
        The measured switching.
    """
    return from_switching(design, _grid_switching, w_codes, x_codes, tiles)
