"""Cost model of the grid engines: blocks counted as :mod:`shiftadd.hw.systolic_os` and
:mod:`shiftadd.hw.systolic_ws` build them, register switching from the PE arithmetic, and the
port activity for vectorless synthesis power."""

from __future__ import annotations

import functools
from typing import cast

import numpy as np

from ...design.arith import Arithmetic
from ...design.systolic import GridDesign
from ..cost import Item
from ..cost import Item as _CostItem

__all__ = ["switching_factors", "bill_of_materials", "activity_profile"]


def _popcount(x: int) -> int:
    return bin(int(x)).count("1")


def _csa_cells(row_masks, plan, width: int) -> tuple[int, int]:
    """``(full adders, half adders)`` of one 3:2 reduction as :mod:`shiftadd.hw.csa` builds
    it: a bit where three rows meet is a full adder, two a half adder, one a wire."""
    full_mask = (1 << width) - 1
    masks = [int(m) & full_mask for m in row_masks]
    full = half = 0
    for x, y, z in plan.steps:
        a, b, c = masks[x], masks[y], masks[z]
        three = a & b & c
        two = ((a & b) | (a & c) | (b & c)) & ~three
        full += _popcount(three)
        half += _popcount(two)
        masks += [a | b | c, (((a & b) | (a & c) | (b & c)) << 1) & full_mask]
    return full, half


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
    lane_gates = [Item(unit, f"{label}: {part}", pes * (ab + 1)) for unit, part in arith.lane_gates]
    if not d.carry_save_accumulate:
        if arith.multiplier:
            items.append(
                Item("mult", f"{label}: multipliers", pes, bits=pes * ab * wb, io=pes * (ab + wb))
            )
        else:
            items += lane_gates
        # The top row of a weight-stationary column adds its product to nothing; a carry-in
        # still needs an adder.
        if prev_masks != (0, 0) or arith.complements:
            items.append(Item("adder", f"{label}: accumulator adders", pes, bits=pes * w))
        return items
    plan = d.csa_plan
    terms = list(d.csa_term_masks)
    if d.booth:
        nd = d.booth_digits
        items += [
            Item("xor2", f"{label}: Booth encoders", pes * nd * 2),
            Item("and2", f"{label}: Booth encoders", pes * nd * 4),
            Item("mux2", f"{label}: partial-product select (w or 2w)", pes * len(terms) * (wb + 1)),
            Item("xor2", f"{label}: partial-product invert", pes * len(terms) * (wb + 1)),
            Item("and2", f"{label}: partial-product zero", pes * len(terms) * (wb + 1)),
        ]
    else:
        items += lane_gates
    full, half = _csa_cells([*terms, *prev_masks], plan, w)
    items.append(Item("csa", f"{label}: 3:2 compressor bits", pes * full))
    if half:
        items += [
            Item("xor2", f"{label}: half-adder sums", pes * half),
            Item("and2", f"{label}: half-adder carries", pes * half),
        ]
    return items


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
            Item("dffe", "input register (step, valid, last)", R * ab + C * wb + 2),
            Item("dffe", "step flags (valid, last) per skew", 2 * (skew + 1)),
            Item("dffe", "tile-spacing counter", max(1, d.last_spacing.bit_length())),
            Item("dffe", "drain phase", max(0, R - 1)),
        ]
        if d.skewed:
            items += [
                Item(
                    "dffe", "operand skew registers", ab * R * (R - 1) // 2 + wb * C * (C - 1) // 2
                ),
                Item("dffe", "operand pass registers", ab * R * (C - 1) + wb * (R - 1) * C),
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
            Item("dffe", "PE accumulators", pes * bits, per="mac", macs=pes, toggle=f["acc"]),
            Item(
                "and2", "PE accumulator restart", pes * bits, per="mac", macs=pes, toggle=f["acc"]
            ),
            Item("dffe", "drain registers", pes * bits, active=False),
            per_output("dffe", "drain registers", bits * (R + 1) / 2),
            Item("mux2", "drain load or shift", (R - 1) * C * bits, active=False),
            per_output("mux2", "drain load or shift", bits * (R - 1) / 2),
        ]
        return items
    # weight-stationary
    items += [
        Item("dffe", "input register (vector, valid)", R * ab + 1),
        Item("dffe", "weight registers", pes * wb, active=False),
        Item("and2", "weight row decode", R * max(1, (R - 1).bit_length()), active=False),
        Item("dffe", "activation skew registers", ab * R * (R - 1) // 2),
        Item("dffe", "activation pass registers", ab * R * (C - 1)),
        Item("dffe", "valid delay", R + C - 1),
        Item("dffe", "write-wait counter", max(1, (R - 1 + C).bit_length())),
        # Column c's results wait C - 1 - c cycles: (C - 1) / 2 writes on average.
        Item("dffe", "de-skew registers", W * C * (C - 1) // 2, active=False),
        per_output("dffe", "de-skew registers", W * (C - 1) / 2),
    ]
    if cs:
        masks = d.psum_masks
        items += _pe_items(d, C, (0, 0), "top-row PEs")
        for i in range(1, R):
            items += _pe_items(d, C, masks[i - 1], f"row {i} PEs")
        bits = sum(_popcount(s) + _popcount(c) for s, c in masks)
        items.append(
            Item(
                "dffe",
                "partial-sum registers (carry-save)",
                C * bits,
                per="mac",
                macs=pes,
                toggle=f["psum"],
            )
        )
    else:
        items += _pe_items(d, C, (0, 0), "top-row PEs")
        if R > 1:
            items += _pe_items(d, (R - 1) * C, None, "PEs")
        items.append(
            Item("dffe", "partial-sum registers", pes * W, per="mac", macs=pes, toggle=f["psum"])
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
