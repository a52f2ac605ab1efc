"""The adder-tree array's cost model: its bill of materials, counted from the same tree
plans the generator builds (plain trees, and the bit-weight options' encoders, selectors,
carry-save trees and narrow adders), and the port activity for vectorless synthesis power."""

from __future__ import annotations

import functools

import numpy as np

from ...design.adder_tree import AdderTreeDesign
from ...design.base import range_width
from ...design.bitweight import ENCODER_LAYER, SELECT_LAYER, expected_vector_cycles
from ...design.carry_save import CsaPlan
from ...design.tree import plan_tree, tree_adders
from ...workloads.activity_stats import (
    DataActivity,
    bus_toggle_rate,
    zero_fraction,
)
from ..cost import Item
from ..data_activity import (
    MAX_TILES,
    MAX_VECTORS,
    act_values,
    digit_toggles,
    from_switching,
    lane_terms,
    term_width,
    tree_toggles,
    value_toggles,
    weight_values,
)
from .bitweight import option_plan

__all__ = [
    "bill_of_materials",
    "plain_bill",
    "accumulate_bill",
    "accumulate_switching",
    "accumulator_toggle",
    "bitweight_bill",
    "activity_profile",
    "data_activity",
    "multiplier_items",
]


def bill_of_materials(design: AdderTreeDesign) -> list[Item]:
    """The building blocks of an adder-tree design (with or without bit-weight options).

    Parameters
    ----------
    design : AdderTreeDesign
        The design.

    Returns
    -------
    list of Item
        The building blocks, to be priced with a unit table
        (:func:`shiftadd.models.cost.estimate`).
    """
    if design.accumulate:
        return accumulate_bill(design)
    if design.bitweight is None:
        return plain_bill(design)
    return bitweight_bill(design)


#: Partial-product rows up to which a lane multiplier is its AND gates and one row adder.
SMALL_MULT_ROWS = 2

#: Switching of a partial-product bit relative to a random operand bit: on random operands
#: ``a & w`` is 1 a quarter of the time, so it toggles 2 * 1/4 * 3/4 = 3/8 of the cycles
#: against 1/2 for the operands the gate and adder units are calibrated on.
PARTIAL_PRODUCT_TOGGLE = 0.75


def multiplier_items(
    act_bits: int, weight_bits: int, lanes: int, *, narrow_signed: bool = True
) -> list[Item]:
    """The lane multipliers of ``lanes`` lanes.

    A multiplier whose narrower operand has at most :data:`SMALL_MULT_ROWS` bits holds that
    many partial-product rows: an AND gate per partial-product bit and, for two rows, one
    carry-propagate adder of the rows (the wider operand's width plus the carry; one row
    of a signed 1-bit operand is negated, through the same adder). Synthesis
    builds exactly that; the ``mult`` unit, fitted on multipliers of 3 to 8 rows, would
    price such a block by extrapolation (its fixed part alone outweighs a 2 x 2 multiplier).
    The gates and the adder switch with the partial products
    (:data:`PARTIAL_PRODUCT_TOGGLE`).

    Parameters
    ----------
    act_bits, weight_bits : int
        Operand widths in bits.
    lanes : int
        Multipliers.
    narrow_signed : bool
        Whether the narrower operand is two's complement.

    Returns
    -------
    list of Item
        The multipliers' items, driven by the lanes' terms.
    """
    rows = min(act_bits, weight_bits)
    if rows > SMALL_MULT_ROWS:
        return [
            Item(
                "mult",
                "lane multipliers",
                lanes,
                bits=lanes * act_bits * weight_bits,
                io=lanes * (act_bits + weight_bits),
                driver="term",
            )
        ]
    items = [
        Item(
            "and2",
            "lane multipliers: partial products",
            lanes * act_bits * weight_bits,
            toggle=PARTIAL_PRODUCT_TOGGLE,
            driver="term",
        )
    ]
    if rows == 2 or narrow_signed:
        width = max(act_bits, weight_bits) + 1
        items.append(
            Item(
                "adder",
                "lane multipliers: row adders",
                lanes,
                bits=lanes * width,
                toggle=PARTIAL_PRODUCT_TOGGLE,
                driver="term",
            )
        )
    return items


def plain_bill(design: AdderTreeDesign) -> list[Item]:
    """The bill of materials of an adder-tree design without bit-weight options.

    Parameters
    ----------
    design : AdderTreeDesign
        A design without bit-weight options.

    Returns
    -------
    list of Item
        The building blocks, to be priced with a unit table
        (:func:`shiftadd.models.cost.estimate`).
    """
    d = design
    assert d.act_bits is not None and d.weight_bits is not None
    k, n = d.k, d.n
    plan = d.tree
    count, bits = tree_adders(plan)
    items = [
        Item("dffe", "input register", k * d.act_bits + 1, driver="act"),
        Item("dffe", "output register", n * d.output_bits_per_neuron + 1, driver="sum"),
        Item("dffe", "weight registers", n * k * d.weight_bits, active=False, driver="weight"),
        Item("tree_adder", "adder trees", n * count, bits=n * bits, driver="sum"),
    ]
    # Pipeline registers: every node of a registered level, the valid bit and, with a
    # threshold, the flip bit of each neuron.
    for slot in d.register_slots:
        widths = plan.level_bits(slot)
        items.append(
            Item(
                "dffe",
                f"pipeline register after layer {slot}",
                n * widths + 1 + (n if d.threshold else 0),
                driver="sum",
            )
        )
    arith = d.arith
    if arith.multiplier:
        narrow_signed = bool(d.act_signed if d.act_bits <= d.weight_bits else d.weight_signed)
        items += multiplier_items(d.act_bits, d.weight_bits, n * k, narrow_signed=narrow_signed)
    else:
        # One gate per bit of the lane's term (an XNOR lane's term is one bit).
        term_width = range_width(*d.term_range)[0]
        items += [
            Item(unit, f"lane {part}", n * k * term_width, driver="term")
            for unit, part in arith.lane_gates
        ]
    if d.has_offset_leaf:
        offset_width = range_width(*d.offset_range)[0]
        items.append(Item("dffe", "offset registers", n * offset_width, active=False))
        if arith.complements:
            c, b = tree_adders(plan_tree([(0, 1)] * k))
            items.append(
                Item("tree_adder", "load port: count of -1 weights", c, bits=b, active=False)
            )
        if d.threshold:
            items.append(
                Item("adder", "load port: offset - threshold", 1, bits=offset_width, active=False)
            )
    if d.threshold:
        root_width = range_width(*plan.root)[0]
        items.append(Item("dffe", "flip registers", n, active=False))
        items.append(
            Item("and2", "threshold zero detect", n * max(0, root_width - 1), driver="sum")
        )
        items.append(Item("mux2", "threshold select", n, driver="sum"))
    index_bits = max(1, (n - 1).bit_length())
    items.append(Item("and2", "load port: neuron decode", n * index_bits, active=False))
    return items


# Outputs simulated for the accumulator's switching (at most about this many cycles).
_ACC_TOGGLE_CYCLES = 1 << 15


@functools.lru_cache(maxsize=256)
def accumulator_toggle(k: int, chunks: int, width: int) -> float:
    """Switching of a lane's ``width``-bit accumulator relative to random data (toggles per
    bit per cycle / 0.5), for outputs of ``chunks`` chunks of ``k`` uniformly random XNOR
    terms at full rate.

    The register loads the running match count on every chunk but the last (which it
    holds) and restarts on the next output's first chunk. Its low bits change like random
    data; the bits above one chunk's count step like a counter's, and the top bits only
    on the restart. Simulated on a fixed seed (a few ten thousand cycles).

    Parameters
    ----------
    k : int
        Inputs per chunk.
    chunks : int
        Chunks per output.
    width : int
        Accumulator bits.

    Returns
    -------
    float
        In ``[0, 2]``; 0 for one-chunk outputs (the register never loads).
    """
    if chunks < 2:
        return 0.0
    rng = np.random.default_rng(12345)
    outputs = max(2, _ACC_TOGGLE_CYCLES // chunks)
    # A chunk's count: k terms that each match with probability 1/2.
    sums = np.cumsum(rng.binomial(k, 0.5, size=(outputs, chunks - 1)), axis=1)
    seq = np.concatenate([sums, sums[:, -1:]], axis=1).ravel()  # the last chunk holds
    diff = seq[1:] ^ seq[:-1]
    flips = sum(int(((diff >> j) & 1).sum()) for j in range(width))
    return float(min(2.0, flips / (diff.size * width) / 0.5))


def accumulate_switching(design: AdderTreeDesign) -> dict[str, float]:
    """Switching of the accumulating array's slow nets relative to random data, at outputs
    of the full fan-in (``accumulate_k``, :attr:`AdderTreeDesign.max_chunks` chunks each).

    ``offset``: the offset register and the pipeline register bits that hold the offset
    leaf alone; the port loads ``-T`` on an output's last chunk and 0 on the others, so
    each bit changes (half of them, on random thresholds) when ``last`` rises and when it
    falls, ``2 / chunks`` of the cycles (never with one-chunk outputs: every chunk is the
    last, and the outputs of a group of columns share their thresholds). ``offset_sum``:
    the adder bits above the terms' count once the offset has joined, and the accumulated
    sum's bits above the accumulator's: held while the offset is 0, they follow the sign
    of ``count - T`` on the last chunk (every chunk with one-chunk outputs, like the
    weight-stationary tree's). ``tag``: the ``first``/``last`` tags and the result valid,
    ``4 / chunks``. ``acc``: the accumulators (:func:`accumulator_toggle`). ``threshold``:
    the threshold and flip fields and the ``-T`` incrementer: a chunk other than the last
    carries don't-care values (random, as the bench sends them: data rate), the last one
    its columns' own, which the rows of a group of columns share (with one-chunk outputs
    they hold).

    Parameters
    ----------
    design : AdderTreeDesign
        A design with ``accumulate``.

    Returns
    -------
    dict of str to float
        ``offset``, ``offset_sum``, ``tag``, ``acc`` and ``threshold``, each in ``[0, 2]``.
    """
    c = design.max_chunks
    acc_width = range_width(*design.accumulator_range)[0]
    return {
        "offset": 2.0 / c if c > 1 else 0.0,
        "offset_sum": min(1.0, 2.0 / c),
        "tag": min(2.0, 4.0 / c) if c > 1 else 0.0,
        "acc": accumulator_toggle(design.k, c, acc_width),
        "threshold": 1.0 if c > 1 else 0.0,
    }


def _offset_only_bits(design: AdderTreeDesign) -> tuple[list[tuple[int, int]], int]:
    """Bits of the tree that only the offset leaf drives: per level, ``(bits of the node
    that is the offset alone, bits of the node holding it with terms beyond their count's
    width)``; and those bits summed over the adders whose result holds the offset."""
    plan = design.tree
    # The same tree with the offset leaf at 0: its node widths are the terms' counts alone.
    counts = plan_tree((*design.leaf_ranges[:-1], (0, 0)))
    per_level = []
    for full, part in zip(plan.levels, counts.levels):
        # The offset is the last leaf, so the last node of every level holds it.
        whole = range_width(*full[-1])[0]
        if part[-1] == (0, 0):
            per_level.append((whole, 0))
        else:
            per_level.append((0, whole - range_width(*part[-1])[0]))
    adders = sum(wf - wc for (_, wf, _), (_, wc, _) in zip(plan.adders(), counts.adders()))
    return per_level, adders


def accumulate_bill(design: AdderTreeDesign) -> list[Item]:
    """The bill of materials of the accumulating binary MAC array (``accumulate``).

    Per cycle the input register loads a chunk: ``k`` activation bits, every lane's ``k``
    weight bits, and per lane the offset leaf (``-T`` on the last chunk, else 0, formed at
    the port by an incrementer, ``~T + 1``) and flip bit, plus the ``first``/``last`` tags.
    Each lane: ``k`` XNORs, the adder tree over them and the offset leaf, the accumulator
    adder and register (cleared by ``first``), the folded threshold on the accumulated
    value. No weight registers and no weight-load port: the weights stream.

    What switches at what rate (:func:`accumulate_switching`): a lane's weight bits only
    when it carries a real output column (per MAC: a partial group of columns streams
    padding, held, to the others; the XNORs and trees still follow the activations);
    the offset register and the tree bits only the offset leaf drives (the offset, the
    last of ``k + 1`` leaves, passes alone down to the level where it joins: for a power
    of two ``k`` the root) only when ``last`` changes; the accumulator and its adder like
    a counter.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with ``accumulate``.

    Returns
    -------
    list of Item
        The building blocks, to be priced with a unit table
        (:func:`shiftadd.models.cost.estimate`).
    """
    d = design
    k, n = d.k, d.n
    plan = d.tree
    count, bits = tree_adders(plan)
    rate = accumulate_switching(d)
    offset_level_bits, offset_adder_bits = _offset_only_bits(d)
    offset_width = range_width(*d.offset_range)[0]
    acc_width = range_width(*d.accumulator_range)[0]
    sum_width = range_width(*d.accumulated_range)[0]
    # The accumulated sum holds the accumulator's count on every chunk but the last: it
    # switches like the accumulator over the accumulator's bits, its upper bits only
    # around the last chunk.
    sum_toggle = (
        rate["acc"] * acc_width + rate["offset_sum"] * (sum_width - acc_width)
    ) / sum_width
    items = [
        Item("dffe", "input register: activations", k, driver="act"),
        Item("dffe", "input register: valid", 1, active=False),
        # The weights change every chunk: streamed data, not held state.
        Item("dffe", "input register: weights", n * k, per="mac", macs=n * k, driver="weight"),
        Item("dffe", "input register: offsets", n * offset_width, toggle=rate["offset"]),
        Item("dffe", "input register: flips", n, toggle=rate["threshold"]),
        Item("dffe", "input register: first/last tags", 2, toggle=rate["tag"]),
        # -T = ~T + 1: a half adder per bit (the inverters fold into it).
        Item("xor2", "port: -T (incrementer sum bits)", n * offset_width, toggle=rate["threshold"]),
        Item("and2", "port: -T (incrementer carries)", n * offset_width, toggle=rate["threshold"]),
        Item("and2", "port: offset gated by last", n * offset_width, toggle=rate["offset"]),
        Item("xnor2", "lane XNORs", n * k, driver="term"),
        Item(
            "tree_adder",
            "adder trees",
            n * count,
            bits=n * (bits - offset_adder_bits),
            driver="sum",
        ),
        # Above the count's width only the offset has live bits: each such adder bit adds
        # the carry to one operand bit, a half adder (XOR for the sum, AND for the carry).
        Item(
            "xor2",
            "adder trees: bits only the offset leaf drives (half-adder sums)",
            n * offset_adder_bits,
            toggle=rate["offset_sum"],
            driver="sum",
        ),
        Item(
            "and2",
            "adder trees: bits only the offset leaf drives (half-adder carries)",
            n * offset_adder_bits,
            toggle=rate["offset_sum"],
            driver="sum",
        ),
    ]
    for slot in d.register_slots:
        alone, joined = offset_level_bits[slot]
        items += [
            Item(
                "dffe",
                f"pipeline register after layer {slot}",
                n * (plan.level_bits(slot) - alone - joined),
                driver="sum",
            ),
            Item(
                "dffe",
                f"pipeline register after layer {slot}: flips",
                n,
                toggle=rate["threshold"],
            ),
            Item(
                "dffe",
                f"pipeline register after layer {slot}: offset-only bits",
                n * (alone + joined),
                toggle=(rate["offset"] * alone + rate["offset_sum"] * joined)
                / max(1, alone + joined),
                driver="sum",
            ),
            Item("dffe", f"pipeline register after layer {slot}: tags", 2, toggle=rate["tag"]),
            Item("dffe", f"pipeline register after layer {slot}: valid", 1, active=False),
        ]
    if d.max_chunks > 1:
        # (With one-chunk outputs the 1-bit accumulator only ever holds 0: synthesis folds
        # it into the root adder as a carry-in.)
        items.append(
            Item(
                "adder",
                "accumulator adders",
                n,
                bits=n * sum_width,
                toggle=sum_toggle,
                driver="sum",
            )
        )
    items += [
        Item(
            "and2",
            "accumulator clear (first)",
            n * acc_width,
            toggle=rate["acc"],
            driver="sum",
        ),
        Item(
            "dffe",
            "accumulator registers",
            n * acc_width,
            toggle=rate["acc"],
            driver="sum",
        ),
        Item("and2", "threshold zero detect", n * max(0, sum_width - 1), driver="sum"),
        Item("mux2", "threshold select", n, driver="sum"),
        # The compare runs on every chunk, so the result bits change every cycle.
        Item("dffe", "output register", n, driver="sum"),
        Item("dffe", "output register: valid", 1, toggle=rate["tag"]),
    ]
    return items


def _csa_items(plan: CsaPlan, part: str, copies: int) -> list[Item]:
    items = [Item("csa", f"{part}: 3:2 compressor bits", copies * plan.full_adders, driver="sum")]
    if plan.half_adders:
        items += [
            Item("xor2", f"{part}: half-adder sums", copies * plan.half_adders, driver="sum"),
            Item("and2", f"{part}: half-adder carries", copies * plan.half_adders, driver="sum"),
        ]
    return items


def _ent_encoder_items(design, lanes: int, active: bool = True) -> list[Item]:
    plan = design.bitweight
    b = design.act_bits
    items = []
    if design.act_signed:
        # Prefix-OR negator (an OR and an XOR per bit) and the magnitude mux.
        items += [
            Item(
                "and2",
                "EN-T encoders: negator prefix OR",
                lanes * (b - 1),
                active=active,
                driver="digit",
            ),
            Item("xor2", "EN-T encoders: negator", lanes * b, active=active, driver="digit"),
            Item(
                "mux2", "EN-T encoders: magnitude select", lanes * b, active=active, driver="digit"
            ),
        ]
    # Per digit: the 2-bit increment with carry, and the select wires.
    items += [
        Item(
            "xor2",
            "EN-T encoders: digit codes",
            lanes * plan.digits * 3,
            active=active,
            driver="digit",
        ),
        Item(
            "and2",
            "EN-T encoders: carries and select wires",
            lanes * plan.digits * 5,
            active=active,
            driver="digit",
        ),
    ]
    return items


def bitweight_bill(design: AdderTreeDesign) -> list[Item]:
    """The bill of materials of an adder-tree design with bit-weight options.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with bit-weight options.

    Returns
    -------
    list of Item
        The building blocks, to be priced with a unit table
        (:func:`shiftadd.models.cost.estimate`).
    """
    d = design
    plan = option_plan(d)
    assert d.act_bits is not None and d.weight_bits is not None
    k, n = d.k, d.n
    items = [
        Item("dffe", "output register", n * d.output_bits_per_neuron + 1, driver="sum"),
        Item("dffe", "weight registers", n * k * d.weight_bits, active=False, driver="weight"),
        Item("and2", "load port: neuron decode", n * max(1, (n - 1).bit_length()), active=False),
    ]
    b = plan.select_width
    if plan.sparse:
        return items + _sparse_items(d, plan)
    items.append(Item("dffe", "input register", k * d.act_bits + 1, driver="act"))
    # Encoders: one per lane, shared by all neurons.
    if plan.encoder == "booth":
        items += [
            Item("xor2", "Booth encoders", k * plan.digits * 2, driver="digit"),
            Item("and2", "Booth encoders", k * plan.digits * 4, driver="digit"),
        ]
    else:
        items += _ent_encoder_items(d, k)
    # Partial-product selectors: per bit an AND-OR of w and 2w, then the conditional
    # inversion (hw.booth.select_row), calibrated as one unit: synthesis merges the three
    # gates into an AOI22 and an XNOR.
    pps = n * k * plan.digits
    items.append(Item("booth_sel", "partial-product selectors", pps * b, driver="digit"))
    # The neuron's own layers from its selection (0) on; the encoder layer is shared.
    slots = [s - SELECT_LAYER for s in d.register_slots if s >= SELECT_LAYER]
    if ENCODER_LAYER in d.register_slots:
        # One register for all neurons: the digit wires (one, two, neg) and the shared
        # count of negative digits, or the correction row; the rows then read the weights
        # a step later, so weight writes wait in a register as long.
        shared_bits = (
            plan.correction_width if plan.carry_save else plan.digits * range_width(0, k)[0]
        )
        items += [
            Item(
                "dffe",
                f"pipeline register after layer {ENCODER_LAYER} (shared encoders)",
                k * plan.digits * 3 + shared_bits + 1,
                driver="digit",
            ),
            Item(
                "dffe",
                "weight write delay register",
                k * d.weight_bits + max(1, (n - 1).bit_length()) + 1,
                active=False,
                driver="weight",
            ),
        ]
    if plan.carry_save:
        assert plan.csa is not None
        # Shared: the weighted count of negative digits plus the constants, one row.
        c, bits = tree_adders(plan_tree([plan.negsum_lane_range] * k))
        items += [
            Item("tree_adder", "shared count of negative digits", c, bits=bits, driver="digit"),
            Item("adder", "shared correction constant", 1, bits=plan.width, driver="digit"),
        ]
        items += _csa_items(plan.csa, "carry-save trees", n)
        items.append(Item("adder", "root carry-propagate adders", n, bits=plan.width, driver="sum"))
        for slot in slots:
            if slot <= plan.csa.depth:
                bits = plan.csa.level_bits(slot)
            else:
                bits = plan.width
            items.append(
                Item(
                    "dffe",
                    f"pipeline register after layer {slot + SELECT_LAYER}",
                    n * bits + 1,
                    driver="sum",
                )
            )
        return items
    # Same bit weight, plain adders: per bit weight a narrow tree with the shared count of
    # negative digits as one more leaf, then one tree over the shifted sums.
    for j in range(plan.digits):
        c, bits = tree_adders(plan_tree([(0, 1)] * k))
        items.append(
            Item(
                "tree_adder",
                f"shared negative-digit count, bit weight {j}",
                c,
                bits=bits,
                driver="digit",
            )
        )
    bw = plan.bitweight_tree
    c, bits = tree_adders(bw)
    items.append(
        Item(
            "tree_adder",
            "same-bit-weight trees",
            n * plan.digits * c,
            bits=n * plan.digits * bits,
            driver="sum",
        )
    )
    c, bits = tree_adders(plan.combine_tree)
    items.append(
        Item(
            "tree_adder", "shift-and-add of the bit-weight sums", n * c, bits=n * bits, driver="sum"
        )
    )
    for slot in slots:
        if slot <= bw.depth:
            bits = plan.digits * bw.level_bits(slot)
        else:
            bits = plan.combine_tree.level_bits(slot - bw.depth)
        items.append(
            Item(
                "dffe",
                f"pipeline register after layer {slot + SELECT_LAYER}",
                n * bits + 1,
                driver="sum",
            )
        )
    return items


def _sparse_items(d: AdderTreeDesign, plan) -> list[Item]:
    k, n = d.k, d.n
    g, groups, dd, pw, b = plan.group, plan.groups, plan.digits, plan.pe_width, plan.select_width
    w = plan.width
    sel_bits = max(1, (dd - 1).bit_length())
    items = [
        # The encoders sit before the input register, which then holds sign and codes.
        *_ent_encoder_items(d, k),
        Item(
            "dffe", "encoded input register (sign, digit codes)", k * (1 + 2 * dd), driver="digit"
        ),
        Item("dffe", "sequencer state (busy, bit weight, first, consumed lanes)", 3 + sel_bits + k),
        Item(
            "mux2",
            "sequencer: digit of the current bit weight per lane",
            k * 2 * (dd - 1),
            driver="digit",
        ),
        Item("and2", "sequencer: pending digits and lowest-lane pick", k * 3),
        Item("and2", "sequencer: next nonzero bit weight", k * dd + 4 * dd),
        Item("and2", "encoder broadcast: picked digit per group", groups * g * 3, driver="digit"),
        Item("dffe", "flush tags (valid, bit weight, last)", 2 + sel_bits),
        # PEs: one per group and neuron.
        Item(
            "and2", "PE lane mux (one-hot AND-OR)", n * groups * g * d.weight_bits, driver="digit"
        ),
        Item(
            "booth_sel",
            "PE partial-product selectors (w / 2w, inversion)",
            n * groups * b,
            driver="digit",
        ),
        Item("csa", "PE carry-save accumulators", n * groups * pw, driver="sum"),
        Item("mux2", "PE accumulator start/hold", n * groups * 2 * pw, driver="sum"),
        Item("dffe", "PE (sum, carry) registers", n * groups * 2 * pw, driver="sum"),
    ]
    items += _csa_items(plan.flush_csa, "flush: carry-save tree over the groups", n)
    items += [
        Item("adder", "flush: carry-propagate adder", n, bits=pw, driver="sum"),
        Item("mux2", "flush: shift by 2 x bit weight", n * w * (dd - 1), driver="sum"),
        Item("adder", "flush: accumulate", n, bits=w, driver="sum"),
        Item("dffe", "neuron accumulators", n * w, driver="sum"),
    ]
    if d.pipeline_stages:
        items.append(
            Item(
                "dffe",
                "pipeline register (resolved group sums, tags)",
                n * pw + 2 + sel_bits,
                driver="sum",
            )
        )
    return items


def activity_profile(design: AdderTreeDesign, data_activity: float):
    """Switching of the input ports while the array streams, as ``(port glob, toggles per
    cycle, duty)`` rules (first match wins), for vectorless synthesis power.

    Parameters
    ----------
    design : AdderTreeDesign
        The design.
    data_activity : float
        Toggles per cycle of a streamed data bit (0.5: uniformly random data).

    Returns
    -------
    list of tuple of (str, float, float)
        ``(port glob, toggles per cycle, duty)`` rules, the catch-all ``"*"`` last.
    """
    # Streaming at full rate: a new random activation vector every cycle, weights static
    # (loaded once per tile, which is rare next to the vectors), output always read. With
    # accumulate the act payload also carries the streamed weights, thresholds, flips and
    # tags: a rule covers a whole port, so they all toggle at the data rate here (an upper
    # bound for the tags and thresholds; gate-level activity has them exact). A
    # digit_sparse vector is held on the port until its last step: per cycle its bits toggle
    # data_activity / (expected cycles per vector), uniformly random codes.
    per_cycle = (
        data_activity / expected_vector_cycles(design) if design.digit_sparse else data_activity
    )
    return [
        ("act__payload*", per_cycle, 0.5),
        ("act__valid", 0.0, 1.0),
        ("weights__*", 0.0, 0.0),
        ("result__ready", 0.0, 1.0),
        ("rst", 0.0, 0.0),
        ("*", 0.0, 0.0),
    ]


def _tile_order(design: AdderTreeDesign, n: int, k: int, tiles: int) -> list[tuple[int, int]]:
    """``(k0, n0)`` of up to ``tiles`` tiles, evenly spaced in the order the GEMM streams them
    (K-tile outer, N-tile inner, as :func:`shiftadd.models.cycles.gemm_cycles` schedules)."""
    order = [(k0, n0) for k0 in range(0, k, design.k) for n0 in range(0, n, design.n)]
    pick = np.unique(np.linspace(0, len(order) - 1, min(len(order), tiles)).round().astype(int))
    return [order[i] for i in pick]


def _tile_switching(design: AdderTreeDesign, w: np.ndarray, x: np.ndarray, tiles: int) -> dict:
    """Flips and bit-cycles of the adder tree's nets when ``x`` streams through tiles of
    ``w``: the activation bus, the weight load stream, the lanes' terms, the trees' sums and
    (bit-weight options) the activations' digit selects."""
    d = design
    arith = d.arith
    act_pad, weight_pad = arith.pad
    assert d.act_bits is not None and d.weight_bits is not None and d.act_signed is not None
    n, k = w.shape
    tw = term_width(arith)
    # Vectors per tile bounded so one tile's terms stay near 2 M elements.
    m = max(2, min(x.shape[0], MAX_VECTORS, (1 << 21) // (d.n * d.k)))
    acts, loads, term, tree = [], [], [0.0, 0.0], [0.0, 0.0]
    for k0, n0 in _tile_order(d, n, k, tiles):
        k1, n1 = min(k, k0 + d.k), min(n, n0 + d.n)
        xt = np.full((m, d.k), act_pad, np.int64)
        xt[:, : k1 - k0] = x[:m, k0:k1]
        wt = np.full((d.n, d.k), weight_pad, np.int64)
        wt[: n1 - n0, : k1 - k0] = w[n0:n1, k0:k1]
        acts.append(xt)
        loads.append(wt)
        # Weights sit still in the array; every neuron's lanes see the same vector.
        terms = lane_terms(arith, xt[:, None, :], wt[None, :, :])  # (m, n, k)
        for acc, (f, b) in ((term, value_toggles(terms, tw)), (tree, tree_toggles(terms, tw))):
            acc[0] += f
            acc[1] += b
    stream = np.concatenate(acts)
    out = {
        "act": bus_toggle_rate(stream, d.act_bits),
        "weight": bus_toggle_rate(np.concatenate(loads), d.weight_bits),
        "term": tuple(term),
        "sum": tuple(tree),
        "act_zero": zero_fraction(act_values(arith, stream)),
        "weight_zero": zero_fraction(weight_values(arith, np.concatenate(loads))),
        "digit": None,
        "density": None,
    }
    if d.bitweight is not None:
        rate, density = digit_toggles(stream, d.act_bits, d.act_signed, d.bitweight.encoder)
        out["digit"], out["density"] = rate, density
    return out


def _chunk_switching(design: AdderTreeDesign, w: np.ndarray, x: np.ndarray, tiles: int) -> dict:
    """:func:`_tile_switching` for ``accumulate``: per group of ``n`` output columns, every
    row's chunks in turn, each with its own slice of the weights (both operands stream)."""
    d = design
    arith = d.arith
    act_pad, weight_pad = arith.pad
    n, k = w.shape
    chunks = -(-k // d.k)
    kp = chunks * d.k
    # Rows bounded so one group's terms (rows x chunks x n x k) stay near 2 M elements.
    m = max(2, min(x.shape[0], MAX_VECTORS, (1 << 21) // (d.n * kp)))
    xp = np.full((m, kp), act_pad, np.int64)
    xp[:, :k] = x[:m]
    stream = xp.reshape(m * chunks, d.k)
    starts = list(range(0, n, d.n))
    pick = np.unique(np.linspace(0, len(starts) - 1, min(len(starts), tiles)).round().astype(int))
    loads, term, tree = [], [0.0, 0.0], [0.0, 0.0]
    for n0 in (starts[i] for i in pick):
        n1 = min(n, n0 + d.n)
        wt = np.full((d.n, kp), weight_pad, np.int64)
        wt[: n1 - n0, :k] = w[n0:n1]
        per_chunk = wt.reshape(d.n, chunks, d.k).transpose(1, 0, 2)
        ws = np.tile(per_chunk, (m, 1, 1))  # (cycles, n, k): the weights of each chunk
        # The weight register's energy is priced per MAC (lanes of real columns only), so
        # its switching is measured on those lanes; padding lanes hold their weights.
        loads.append(ws[:, : n1 - n0].reshape(m * chunks, -1))
        terms = lane_terms(arith, stream[:, None, :], ws)
        for acc, (f, b) in ((term, value_toggles(terms, 1)), (tree, tree_toggles(terms, 1))):
            acc[0] += f
            acc[1] += b
    acts = np.concatenate([stream] * len(loads))
    weight_rate = sum(bus_toggle_rate(load, 1) * load.size for load in loads) / sum(
        load.size for load in loads
    )
    weights = np.concatenate([load.ravel() for load in loads])
    return {
        "act": bus_toggle_rate(acts, 1),
        "weight": float(weight_rate),
        "term": tuple(term),
        "sum": tuple(tree),
        "act_zero": zero_fraction(act_values(arith, acts)),
        "weight_zero": zero_fraction(weight_values(arith, weights)),
        "digit": None,
        "density": None,
    }


def data_activity(
    design: AdderTreeDesign, w_codes: np.ndarray, x_codes: np.ndarray, *, tiles: int = MAX_TILES
) -> DataActivity:
    """Switching of an adder-tree array running activation codes ``x_codes`` (M, K) against
    weight codes ``w_codes`` (N, K), tile by tile as the GEMM streams them.

    The weights sit still (loaded per tile); each activation vector is broadcast to the
    ``n`` neurons. With ``accumulate`` both operands stream: each row's chunks follow one
    another, each with its slice of every lane's weights. The activation bus and input
    register switch with the activation codes; the lanes' terms (products, XNORs,
    complements) with the codes against the held weights; the tree adders, pipeline and
    output registers with the trees' partial sums; the EN-T or Booth encoders and digit
    selects (bit-weight options) with the activations' digits.
    ``term``, ``sum`` and ``digit`` are each compared with uniformly random codes laid out
    the same way.

    Parameters
    ----------
    design : AdderTreeDesign
        The design.
    w_codes, x_codes : numpy.ndarray
        Weight and activation codes in the design's ranges.
    tiles : int
        Tiles laid out at most (evenly spaced in streaming order).

    Returns
    -------
    DataActivity
        The measured switching.
    """
    switching = _chunk_switching if design.accumulate else _tile_switching
    return from_switching(design, switching, w_codes, x_codes, tiles)
