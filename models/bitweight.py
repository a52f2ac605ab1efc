"""Golden, cycle and cost models of the bit-weight options of the multiplier-adder tree.

Golden model
    The options compute the same dot products as the plain ``mac`` tree
    (:func:`shiftadd.models.golden.adder_tree_reference`), so the bench's expectations do not
    change. What differs is the representation on the way, and each form the RTL holds has a
    golden twin here so that a mismatch is located, not just seen:
    :func:`signed_digits` and :func:`ent_codes` (encoders), :func:`partial_product_rows`
    (ones'-complement rows and their ``neg`` bits), :func:`correction_row` (the shared
    constant-and-negation row), :func:`csa_fold` / :func:`carry_save_pair` (the carry-save
    pair modulo ``2**W`` at the root, bit for bit, following the same
    :class:`~shiftadd.design.carry_save.CsaPlan`), :func:`bitweight_sums` (the
    same-bit-weight sums), and :func:`digit_sparse_trace` (steps per bit weight, each
    PE's carry-save pair at every flush, the resolved group sums).

Cycle model
    ``carry_save_accumulate`` and ``shared_encoder_same_bitweight`` keep the plain tree's
    full-rate pipeline (latency ``pipeline_stages + 2``). ``digit_sparse`` spends, per
    vector, ``max(1, sum_j max_g nnz[g, j])`` cycles: at bit weight ``j`` every group of
    ``digit_group`` lanes takes one cycle per nonzero digit and the groups move in lockstep;
    all-zero bit weights are skipped. :func:`digit_sparse_vector_cycles` computes it from the
    data, :func:`digit_sparse_output_cycles` the cycle of every result of a transfer
    sequence, :func:`digit_sparse_gemm_cycles` a tiled GEMM, all exact (the bench checks
    them against simulation); :func:`expected_vector_cycles` is the expectation for
    independent lanes with a given code histogram (used when no data is given).

Cost model
    :func:`bill_of_materials` adds the encoders, partial-product selectors, 3:2 compressor
    bits (unit ``csa``), half adders, narrow adder trees, muxes and registers of each option,
    counted from the same plans the generator builds.
"""

from __future__ import annotations

import numpy as np

from ..design import AdderTreeDesign
from ..design.adder_tree import plan_tree
from ..design.base import range_width
from ..design.carry_save import CsaPlan, carry_mask
from . import cost as _cost
from . import cycles as _cycles
from . import perf as _perf
from ..rtl_gen import synth as _synth
from .cost import Item, _tree_adders
from .golden import check_operand

__all__ = ["signed_digits", "ent_codes", "partial_product_rows", "correction_row",
           "csa_leaves", "csa_fold", "carry_save_pair", "bitweight_sums",
           "digit_sparse_trace", "digit_sparse_vector_cycles", "digit_sparse_output_cycles",
           "digit_sparse_gemm_cycles", "expected_vector_cycles", "bitweight_bill"]


def _plan(design: AdderTreeDesign):
    plan = design.bitweight
    if plan is None:
        raise ValueError(f"design {design.name!r} has no bit-weight option")
    return plan


def _act(design, act) -> np.ndarray:
    return check_operand("act", act, *design.act_range, (None, design.k))


def _weights(design, weights) -> np.ndarray:
    return check_operand("weights", weights, *design.weight_range, (design.n, design.k))


# -- encoders --------------------------------------------------------------------------------
def ent_codes(design: AdderTreeDesign, act) -> tuple[np.ndarray, np.ndarray]:
    """EN-T encoding as the RTL holds it: ``(negative[v, i], codes[v, i, j])`` with codes in
    0..3 (3 is the digit -1)."""
    from ..workloads.digits import ent_encode

    x = _act(design, act)
    negative, digits = ent_encode(x, design.act_bits, design.act_signed)
    return negative, (digits.astype(np.int16) % 4).astype(np.uint8)


def signed_digits(design: AdderTreeDesign, act) -> np.ndarray:
    """The digit each lane's partial product ``j`` uses, ``d[v, i, j]`` in {-2..2}, with
    ``act = sum_j d_j 4**j``: radix-4 Booth (``carry_save_accumulate`` alone) or EN-T with
    the sign applied (every other option)."""
    from ..workloads.digits import booth_encode, ent_encode

    plan = _plan(design)
    x = _act(design, act)
    if plan.encoder == "booth":
        return booth_encode(x, design.act_bits, design.act_signed).astype(np.int8)
    negative, digits = ent_encode(x, design.act_bits, design.act_signed)
    return np.where(negative[..., None], -digits, digits).astype(np.int8)


# -- partial products and carry-save rows ----------------------------------------------------
def partial_product_rows(design: AdderTreeDesign, act, weights) -> tuple[np.ndarray, np.ndarray]:
    """Ones'-complement partial-product rows and their ``neg`` bits.

    Returns
    -------
    rows : ndarray of int64, shape (vectors, n, k, D)
        ``sel`` or ``~sel`` (``sel = |d| * w``) as ``select_width``-bit two's complement
        numbers; ``rows + neg == d * w``.
    neg : ndarray of bool, shape (vectors, k, D)
        The digit is negative (depends on the activation only: shared by all neurons).
    """
    plan = _plan(design)
    d = signed_digits(design, act).astype(np.int64)
    w = _weights(design, weights).astype(np.int64)
    neg = d < 0
    sel = np.abs(d)[:, None, :, :] * w[None, :, :, None]
    rows = np.where(neg[:, None], ~sel, sel)
    lo, hi = plan.row_range
    assert rows.size == 0 or (rows.min() >= lo and rows.max() <= hi)
    return rows, neg


def correction_row(design: AdderTreeDesign, act) -> np.ndarray:
    """The shared row of every neuron's carry-save tree, per vector: the ``neg`` bits at
    their weights plus the partial products' sign constants, modulo ``2**W``."""
    plan = _plan(design)
    d = signed_digits(design, act)
    negsum = ((d < 0) * (4 ** np.arange(plan.digits, dtype=np.int64))).sum(axis=(1, 2))
    return (negsum + plan.correction_constant) % (1 << plan.width)


def csa_leaves(design: AdderTreeDesign, act, weights) -> np.ndarray:
    """The leaf rows of each neuron's carry-save tree, ``(vectors, n, leaves)`` as unsigned
    ``W``-bit patterns in :attr:`BitWeightPlan.leaf_lanes` order: each partial-product row
    with its sign bit inverted, shifted by ``2j``; the correction row last."""
    plan = _plan(design)
    rows, _ = partial_product_rows(design, act, weights)
    b = plan.select_width
    u = (rows & ((1 << b) - 1)) ^ (1 << (b - 1))
    mask = (1 << plan.width) - 1
    lanes = np.array([ij for ij in plan.leaf_lanes if ij[0] >= 0], np.int64)
    shifted = (u[:, :, lanes[:, 0], lanes[:, 1]] << (2 * lanes[:, 1])) & mask
    corr = np.broadcast_to(correction_row(design, act)[:, None, None],
                           shifted.shape[:2] + (1,))
    return np.concatenate([shifted, corr], axis=-1).astype(np.uint64)


def csa_fold(plan: CsaPlan, leaves: np.ndarray, level: int | None = None) -> list[np.ndarray]:
    """Rows after ``level`` (default: the root) of a carry-save plan applied to ``leaves``
    (``(..., len(plan.leaves))`` unsigned patterns), exactly as the RTL builds them."""
    mask = np.uint64((1 << plan.width) - 1)
    one = np.uint64(1)
    rows = [np.asarray(leaves[..., i], np.uint64) & np.uint64(m)
            for i, m in enumerate(plan.leaves)]
    stop = plan.depth if level is None else level
    for lvl in range(1, stop + 1):
        below, rows = rows, []
        for op in plan.ops[lvl - 1]:
            if len(op) == 3:
                x, y, z = (below[i] for i in op)
                rows.append(x ^ y ^ z)
                carry = (((x & y) | (x & z) | (y & z)) << one) & mask
                if carry_mask(*(plan.rows[lvl - 1][i] for i in op), plan.width):
                    rows.append(carry)
            else:
                rows.extend(below[i] for i in op)
    return rows


def carry_save_pair(design: AdderTreeDesign, act, weights) -> tuple[np.ndarray, np.ndarray]:
    """``(sum, carry)`` at the root of each neuron's carry-save tree, ``(vectors, n)``
    unsigned ``W``-bit patterns; ``(sum + carry) mod 2**W`` is the dot product."""
    plan = _plan(design)
    if plan.csa is None:
        raise ValueError("the design keeps no carry-save pair (carry_save_accumulate is off)")
    rows = csa_fold(plan.csa, csa_leaves(design, act, weights))
    carry = rows[1] if len(rows) > 1 else np.zeros_like(rows[0])
    return rows[0], carry


def bitweight_sums(design: AdderTreeDesign, act, weights) -> np.ndarray:
    """``S[v, n, j] = sum_i d_ij * w_ni``: the same-bit-weight sums (what the narrow adder
    trees of ``shared_encoder_same_bitweight`` output, and the group sums ``digit_sparse``
    resolves); ``sum_j S_j 4**j`` is the dot product."""
    d = signed_digits(design, act).astype(np.int64)
    w = _weights(design, weights).astype(np.int64)
    return np.einsum("vij,ni->vnj", d, w)


def resolve(pattern: np.ndarray, width: int, signed: bool = True) -> np.ndarray:
    """A ``width``-bit pattern as the integer it encodes."""
    p = np.asarray(pattern).astype(np.int64) & ((1 << width) - 1)
    if signed:
        p = np.where(p >= (1 << (width - 1)), p - (1 << width), p)
    return p


# -- digit sparse ----------------------------------------------------------------------------
def _nonzero_per_group(design, act) -> np.ndarray:
    """``nnz[v, g, j]``: nonzero digits of group ``g`` at bit weight ``j``."""
    plan = _plan(design)
    d = signed_digits(design, act)
    v = d.shape[0]
    return np.count_nonzero(d.reshape(v, plan.groups, plan.group, plan.digits), axis=2)


def digit_sparse_vector_cycles(design: AdderTreeDesign, act) -> np.ndarray:
    """Cycles each vector occupies the PEs: ``max(1, sum_j max_g nnz[g, j])``."""
    steps = _nonzero_per_group(design, act).max(axis=1)
    return np.maximum(1, steps.sum(axis=1)).astype(np.int64)


def digit_sparse_output_cycles(design: AdderTreeDesign, durations: np.ndarray,
                               is_vector: np.ndarray) -> np.ndarray:
    """Cycle of each vector's result for transfers presented back to back.

    Parameters
    ----------
    durations : ndarray of int
        Per transfer in order: its vector cycles (:func:`digit_sparse_vector_cycles`) for
        an activation vector, 1 for a weight write.
    is_vector : ndarray of bool
        Which transfers are activation vectors.

    Returns
    -------
    ndarray of int64
        Per activation vector, the cycle its result is valid: the transfer's handshake
        (the sum of the earlier durations: the input is ready again in the cycle of a
        vector's last step) plus its own cycles plus ``latency - 1`` (flush, optional
        register, output register).
    """
    durations = np.asarray(durations, np.int64)
    handshake = np.concatenate([[0], np.cumsum(durations)[:-1]])
    sel = np.asarray(is_vector, bool)
    return handshake[sel] + durations[sel] + design.latency - 1


def digit_sparse_gemm_cycles(design: AdderTreeDesign, x: np.ndarray, n: int) -> int:
    """Cycles of the bench's tiled GEMM ``X[M, K] @ W[N, K].T`` on a ``digit_sparse``
    design (same schedule as :func:`shiftadd.models.cycles.gemm_cycles`: per K-tile and
    N-tile, the tile's weight rows, then the M vectors), exactly, given the activations."""
    from fractions import Fraction

    from .perf import adder_tree_cycles

    x = np.asarray(x)
    m, k = x.shape
    hw_k = design.k
    k_tiles = -(-k // hw_k)
    pad = np.zeros((m, k_tiles * hw_k), np.int64)
    pad[:, :k] = x
    tiles = pad.reshape(m, k_tiles, hw_k).transpose(1, 0, 2).reshape(-1, hw_k)
    # The sweep's formula with the tiles' mean vector cycles, kept exact as a fraction.
    mean = Fraction(int(digit_sparse_vector_cycles(design, tiles).sum()), tiles.shape[0])
    cycles = adder_tree_cycles(design.k, design.n, design.latency, m, int(n), k, mean)
    return int(cycles["cycles"])


def expected_vector_cycles(design: AdderTreeDesign, histogram=None) -> float:
    """Expected cycles per vector of a ``digit_sparse`` design when every lane draws its code
    independently from ``histogram`` (counts per code from the range's low end, as
    :func:`shiftadd.workloads.digits.code_histogram` returns; default uniform).

    Exact for independent lanes: per bit weight, a group's nonzero digits are binomial, the
    step count is their maximum over the groups, and ``E[max(1, S)] = E[S] + P(S = 0)``.
    """
    from math import comb

    from ..workloads.digits import ent_encode

    plan = _plan(design)
    lo, hi = design.act_range
    codes = np.arange(lo, hi + 1)
    p_code = np.ones(codes.size) if histogram is None else np.asarray(histogram, float)
    p_code = p_code / p_code.sum()
    _, digits = ent_encode(codes, design.act_bits, design.act_signed)
    p_nz = p_code @ (digits != 0)                       # per bit weight
    g, groups = plan.group, plan.groups
    t = np.arange(g + 1)
    expected = 0.0
    for p in p_nz:
        pmf = np.array([comb(g, i) * p ** i * (1 - p) ** (g - i) for i in t])
        cdf = np.cumsum(pmf)
        expected += float(np.sum(1.0 - cdf[:-1] ** groups))
    p_zero = float(p_code[codes == 0].sum()) if (codes == 0).any() else 0.0
    return expected + p_zero ** design.k


def digit_sparse_trace(design: AdderTreeDesign, act, weights) -> dict:
    """Everything a ``digit_sparse`` array holds on the way, per vector.

    Returns
    -------
    dict
        ``steps`` ``(v, D)``: cycles spent at each bit weight (0: skipped);
        ``cycles`` ``(v,)``; ``pe_sum``, ``pe_carry`` ``(v, D, groups, n)``: each PE's
        carry-save pair (``pe_width`` bits) when bit weight ``j`` is flushed (zero for a
        group without digits there); ``group_sums`` ``(v, n, D)``: the resolved sum over the
        groups at each bit weight (equal to :func:`bitweight_sums`).
    """
    plan = _plan(design)
    d = signed_digits(design, act).astype(np.int64)
    w = _weights(design, weights).astype(np.int64)
    v = d.shape[0]
    g, groups, dd, pw = plan.group, plan.groups, plan.digits, plan.pe_width
    mask = np.int64((1 << pw) - 1)
    dg = d.reshape(v, groups, g, dd)                       # (v, groups, g, D)
    nz = dg != 0
    rank = np.cumsum(nz, axis=2) - 1                       # order the encoder picks them
    wg = w.reshape(design.n, groups, g)                    # (n, groups, g)
    # Each lane's row (sel or ~sel, sign-extended to pe_width) and its +1 bit.
    sel = np.abs(dg)[:, None] * wg[None, :, :, :, None]    # (v, n, groups, g, D)
    neg = (dg < 0)[:, None]
    rows = np.where(neg, ~sel, sel) & mask
    s = np.zeros((v, design.n, groups, dd), np.int64)
    c = np.zeros_like(s)
    for t in range(g):
        pick = (nz & (rank == t))[:, None]                 # one lane or none
        valid = pick.any(axis=3)
        x = (rows * pick).sum(axis=3)
        inject = (neg & pick).any(axis=3).astype(np.int64)
        if t == 0:
            s_new, c_new = x, inject
        else:
            s_new = s ^ c ^ x
            c_new = ((((s & c) | (s & x) | (c & x)) << 1) | inject) & mask
        s = np.where(valid, s_new, s)
        c = np.where(valid, c_new, c)
    steps = nz.sum(axis=2).max(axis=1)
    total = resolve((s + c).sum(axis=2), pw)               # (v, n, D)
    return {"steps": steps, "cycles": np.maximum(1, steps.sum(axis=1)),
            "pe_sum": s.transpose(0, 3, 2, 1), "pe_carry": c.transpose(0, 3, 2, 1),
            "group_sums": total}


# -- cost --------------------------------------------------------------------------------------
def _csa_items(plan: CsaPlan, part: str, copies: int) -> list[Item]:
    items = [Item("csa", f"{part}: 3:2 compressor bits", copies * plan.full_adders)]
    if plan.half_adders:
        items += [Item("xor2", f"{part}: half-adder sums", copies * plan.half_adders),
                  Item("and2", f"{part}: half-adder carries", copies * plan.half_adders)]
    return items


def _ent_encoder_items(design, lanes: int, active: bool = True) -> list[Item]:
    plan = design.bitweight
    b = design.act_bits
    items = []
    if design.act_signed:
        # Prefix-OR negator (an OR and an XOR per bit) and the magnitude mux.
        items += [Item("and2", "EN-T encoders: negator prefix OR", lanes * (b - 1), active=active),
                  Item("xor2", "EN-T encoders: negator", lanes * b, active=active),
                  Item("mux2", "EN-T encoders: magnitude select", lanes * b, active=active)]
    # Per digit: the 2-bit increment with carry, and the select wires.
    items += [Item("xor2", "EN-T encoders: digit codes", lanes * plan.digits * 3, active=active),
              Item("and2", "EN-T encoders: carries and select wires",
                   lanes * plan.digits * 5, active=active)]
    return items


def bitweight_bill(design: AdderTreeDesign) -> list[Item]:
    """The bill of materials of an adder-tree design with bit-weight options."""
    d = design
    plan = _plan(d)
    k, n = d.k, d.n
    items = [Item("dffe", "output register", n * d.output_bits_per_neuron + 1),
             Item("dffe", "weight registers", n * k * d.weight_bits, active=False),
             Item("and2", "load port: neuron decode", n * max(1, (n - 1).bit_length()),
                  active=False)]
    b = plan.select_width
    if plan.sparse:
        return items + _sparse_items(d, plan)
    items.append(Item("dffe", "input register", k * d.act_bits + 1))
    # Encoders: one per lane, shared by all neurons.
    if plan.encoder == "booth":
        items += [Item("xor2", "Booth encoders", k * plan.digits * 2),
                  Item("and2", "Booth encoders", k * plan.digits * 4)]
    else:
        items += _ent_encoder_items(d, k)
    # Partial-product selectors: per bit an AND-OR of w and 2w, then the conditional
    # inversion (hw.booth.select_row), calibrated as one unit: synthesis merges the three
    # gates into an AOI22 and an XNOR.
    pps = n * k * plan.digits
    items.append(Item("booth_sel", "partial-product selectors", pps * b))
    slots = d.register_slots
    if plan.carry_save:
        # Shared: the weighted count of negative digits plus the constants, one row.
        c, bits = _tree_adders(plan_tree([plan.negsum_lane_range] * k))
        items += [Item("tree_adder", "shared count of negative digits", c, bits=bits),
                  Item("adder", "shared correction constant", 1, bits=plan.width)]
        items += _csa_items(plan.csa, "carry-save trees", n)
        items.append(Item("adder", "root carry-propagate adders", n, bits=plan.width))
        for slot in slots:
            if slot <= plan.csa.depth:
                bits = plan.csa.level_bits(slot)
            else:
                bits = plan.width
            items.append(Item("dffe", f"pipeline register after layer {slot}", n * bits + 1))
        return items
    # Same bit weight, plain adders: per bit weight a narrow tree with the shared count of
    # negative digits as one more leaf, then one tree over the shifted sums.
    for j in range(plan.digits):
        c, bits = _tree_adders(plan_tree([(0, 1)] * k))
        items.append(Item("tree_adder", f"shared negative-digit count, bit weight {j}", c,
                          bits=bits))
    bw = plan.bitweight_tree
    c, bits = _tree_adders(bw)
    items.append(Item("tree_adder", "same-bit-weight trees", n * plan.digits * c,
                      bits=n * plan.digits * bits))
    c, bits = _tree_adders(plan.combine_tree)
    items.append(Item("tree_adder", "shift-and-add of the bit-weight sums", n * c, bits=n * bits))
    for slot in slots:
        if slot <= bw.depth:
            bits = plan.digits * sum(range_width(lo, hi)[0] for lo, hi in bw.levels[slot])
        else:
            level = plan.combine_tree.levels[slot - bw.depth]
            bits = sum(range_width(lo, hi)[0] for lo, hi in level)
        items.append(Item("dffe", f"pipeline register after layer {slot}", n * bits + 1))
    return items


def _sparse_items(d: AdderTreeDesign, plan) -> list[Item]:
    k, n = d.k, d.n
    g, groups, dd, pw, b = plan.group, plan.groups, plan.digits, plan.pe_width, plan.select_width
    w = plan.width
    sel_bits = max(1, (dd - 1).bit_length())
    items = [
        # The encoders sit before the input register, which then holds sign and codes.
        *_ent_encoder_items(d, k),
        Item("dffe", "encoded input register (sign, digit codes)", k * (1 + 2 * dd)),
        Item("dffe", "sequencer state (busy, bit weight, first, consumed lanes)",
             3 + sel_bits + k),
        Item("mux2", "sequencer: digit of the current bit weight per lane", k * 2 * (dd - 1)),
        Item("and2", "sequencer: pending digits and lowest-lane pick", k * 3),
        Item("and2", "sequencer: next nonzero bit weight", k * dd + 4 * dd),
        Item("and2", "encoder broadcast: picked digit per group", groups * g * 3),
        Item("dffe", "flush tags (valid, bit weight, last)", 2 + sel_bits),
        # PEs: one per group and neuron.
        Item("and2", "PE lane mux (one-hot AND-OR)", n * groups * g * d.weight_bits),
        Item("booth_sel", "PE partial-product selectors (w / 2w, inversion)",
             n * groups * b),
        Item("csa", "PE carry-save accumulators", n * groups * pw),
        Item("mux2", "PE accumulator start/hold", n * groups * 2 * pw),
        Item("dffe", "PE (sum, carry) registers", n * groups * 2 * pw),
    ]
    items += _csa_items(plan.flush_csa, "flush: carry-save tree over the groups", n)
    items += [Item("adder", "flush: carry-propagate adder", n, bits=pw),
              Item("mux2", "flush: shift by 2 x bit weight", n * w * (dd - 1)),
              Item("adder", "flush: accumulate", n, bits=w),
              Item("dffe", "neuron accumulators", n * w)]
    if d.pipeline_stages:
        items.append(Item("dffe", "pipeline register (resolved group sums, tags)",
                          n * pw + 2 + sel_bits))
    return items


# -- registrations: more specific behaviour for designs with options -------------------------
_plain_bill = _cost.bill_of_materials.dispatch(AdderTreeDesign)
_plain_vector = _perf.design_vector.dispatch(AdderTreeDesign)
_plain_activity = _synth.activity_profile.dispatch(AdderTreeDesign)
_plain_stream = _cycles.stream_output_cycles.dispatch(AdderTreeDesign)
_plain_gemm = _cycles.gemm_cycles_batch.dispatch(AdderTreeDesign)


@_cost.bill_of_materials.register
def _(design: AdderTreeDesign) -> list[Item]:
    if design.bitweight is None:
        return _plain_bill(design)
    return bitweight_bill(design)


@_cycles.stream_output_cycles.register
def _(design: AdderTreeDesign, input_positions):
    if design.digit_sparse:
        raise TypeError("a digit_sparse design's output cycles depend on the data: use "
                        "shiftadd.models.bitweight.digit_sparse_output_cycles")
    return _plain_stream(design, input_positions)


@_cycles.gemm_cycles_batch.register
def _(design: AdderTreeDesign, m, n, k):
    r = _plain_gemm(design, m, n, k)
    if not design.digit_sparse:
        return r
    # Without data: the sweep kernel's formula with the expected vector cycles for uniformly
    # random activation codes (independent lanes), rounded up to whole cycles; the bench
    # uses digit_sparse_gemm_cycles with the actual data.
    from .perf import adder_tree_cycles

    m, n, k = (np.asarray(v, dtype=np.int64) for v in (m, n, k))
    c = adder_tree_cycles(design.k, design.n, design.latency, m, n, k,
                          expected_vector_cycles(design))
    cycles = np.ceil(c["cycles"] - 1e-9).astype(np.int64)
    r = dict(r)
    r["cycles"] = cycles
    r["utilization"] = r["macs"] / (cycles * design.k * design.n)
    return r


@_perf.design_vector.register
def _(design: AdderTreeDesign) -> dict[str, float]:
    # Every adder-tree design carries vector_cycles (one sweep block may mix options).
    v = dict(_plain_vector(design))
    v["vector_cycles"] = expected_vector_cycles(design) if design.digit_sparse else 1.0
    return v


@_synth.activity_profile.register
def _(design: AdderTreeDesign, data_activity: float):
    rules = _plain_activity(design, data_activity)
    if not design.digit_sparse:
        return rules
    # A vector is held on the port until its last step: per cycle the activations toggle
    # data_activity / (expected cycles per vector), uniformly random codes.
    per_cycle = data_activity / expected_vector_cycles(design)
    return [(glob, per_cycle if glob == "act__payload*" else toggles, duty)
            for glob, toggles, duty in rules]
