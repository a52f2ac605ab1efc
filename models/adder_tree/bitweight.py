"""Golden twins of the bit-weight options' internal forms (``mac`` adder trees with
``carry_save_accumulate``, ``shared_encoder_same_bitweight`` or ``digit_sparse``).

The options compute the same dot products as the plain ``mac`` tree
(:func:`shiftadd.models.adder_tree.golden.adder_tree_reference`), so the bench's expectations
do not change. What differs is the representation on the way, and each form the RTL holds has
a golden twin here so that a mismatch is located, not just seen: :func:`signed_digits` and
:func:`ent_codes` (encoders), :func:`partial_product_rows` (ones'-complement rows and their
``neg`` bits), :func:`correction_row` (the shared constant-and-negation row),
:func:`csa_fold` / :func:`carry_save_pair` (the carry-save pair modulo ``2**W`` at the root,
bit for bit, following the same :class:`~shiftadd.design.carry_save.CsaPlan`),
:func:`bitweight_sums` (the same-bit-weight sums), and :func:`digit_sparse_trace` (steps per
bit weight, each PE's carry-save pair at every flush, the resolved group sums).
"""

from __future__ import annotations

import numpy as np

from ...design.adder_tree import AdderTreeDesign
from ...design.bitweight import BitWeightPlan
from ...design.carry_save import CsaPlan, carry_mask
from ...workloads.digits import booth_encode, ent_encode
from ..golden import check_operand

__all__ = [
    "signed_digits",
    "ent_codes",
    "partial_product_rows",
    "correction_row",
    "csa_leaves",
    "csa_fold",
    "carry_save_pair",
    "bitweight_sums",
    "resolve",
    "digit_sparse_trace",
    "option_plan",
]


def option_plan(design: AdderTreeDesign) -> BitWeightPlan:
    """The design's :class:`~shiftadd.design.bitweight.BitWeightPlan`; a design without
    options is an error.

    Parameters
    ----------
    design : AdderTreeDesign
        An adder-tree design.

    Returns
    -------
    BitWeightPlan
        The plan of the design's bit-weight options.

    Raises
    ------
    ValueError
        The design has no bit-weight option.
    """
    plan = design.bitweight
    if plan is None:
        raise ValueError(f"design {design.name!r} has no bit-weight option")
    return plan


def _act(design: AdderTreeDesign, act) -> np.ndarray:
    return check_operand("act", act, *design.act_range, (None, design.k))


def _weights(design: AdderTreeDesign, weights) -> np.ndarray:
    return check_operand("weights", weights, *design.weight_range, (design.n, design.k))


# -- encoders --------------------------------------------------------------------------------
def ent_codes(design: AdderTreeDesign, act) -> tuple[np.ndarray, np.ndarray]:
    """EN-T encoding as the RTL holds it: ``(negative[v, i], codes[v, i, j])`` with codes in
    0..3 (3 is the digit -1).

    Parameters
    ----------
    design : AdderTreeDesign
        An adder-tree design with bit-weight options.
    act : array_like of int, shape (vectors, k)
        Activation vectors as the port carries them.

    Returns
    -------
    negative : ndarray of bool, shape (vectors, k)
        The activation is negative (the encoder works on its magnitude).
    codes : ndarray of uint8, shape (vectors, k, D)
        The 2-bit code of each radix-4 digit, least significant first.
    """
    x = _act(design, act)
    assert design.act_bits is not None and design.act_signed is not None
    negative, digits = ent_encode(x, design.act_bits, design.act_signed)
    return negative, (digits.astype(np.int16) % 4).astype(np.uint8)


def signed_digits(design: AdderTreeDesign, act) -> np.ndarray:
    """The digit each lane's partial product ``j`` uses, ``d[v, i, j]`` in {-2..2}, with
    ``act = sum_j d_j 4**j``: radix-4 Booth (``carry_save_accumulate`` alone) or EN-T with
    the sign applied (every other option).

    Parameters
    ----------
    design : AdderTreeDesign
        An adder-tree design with bit-weight options.
    act : array_like of int, shape (vectors, k)
        Activation vectors as the port carries them.

    Returns
    -------
    ndarray of int8, shape (vectors, k, D)
        The signed radix-4 digits, least significant first.
    """
    plan = option_plan(design)
    x = _act(design, act)
    assert design.act_bits is not None and design.act_signed is not None
    if plan.encoder == "booth":
        return booth_encode(x, design.act_bits, design.act_signed).astype(np.int8)
    negative, digits = ent_encode(x, design.act_bits, design.act_signed)
    return np.where(negative[..., None], -digits, digits).astype(np.int8)


# -- partial products and carry-save rows ----------------------------------------------------
def partial_product_rows(design: AdderTreeDesign, act, weights) -> tuple[np.ndarray, np.ndarray]:
    """Ones'-complement partial-product rows and their ``neg`` bits.

    Parameters
    ----------
    design : AdderTreeDesign
        An adder-tree design with bit-weight options.
    act : array_like of int, shape (vectors, k)
        Activation vectors as the port carries them.
    weights : array_like of int, shape (n, k)
        Weights as the port carries them.

    Returns
    -------
    rows : ndarray of int64, shape (vectors, n, k, D)
        ``sel`` or ``~sel`` (``sel = |d| * w``) as ``select_width``-bit two's complement
        numbers; ``rows + neg == d * w``.
    neg : ndarray of bool, shape (vectors, k, D)
        The digit is negative (depends on the activation only: shared by all neurons).
    """
    plan = option_plan(design)
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
    their weights plus the partial products' sign constants, modulo ``2**W``.

    Parameters
    ----------
    design : AdderTreeDesign
        An adder-tree design with bit-weight options.
    act : array_like of int, shape (vectors, k)
        Activation vectors as the port carries them.

    Returns
    -------
    ndarray of int64, shape (vectors,)
        The correction row of each vector, in ``[0, 2**W)``.
    """
    plan = option_plan(design)
    d = signed_digits(design, act)
    negsum = ((d < 0) * (4 ** np.arange(plan.digits, dtype=np.int64))).sum(axis=(1, 2))
    return (negsum + plan.correction_constant) % (1 << plan.width)


def csa_leaves(design: AdderTreeDesign, act, weights) -> np.ndarray:
    """The leaf rows of each neuron's carry-save tree, ``(vectors, n, leaves)`` as unsigned
    ``W``-bit patterns in :attr:`BitWeightPlan.leaf_lanes` order: each partial-product row
    with its sign bit inverted, shifted by ``2j``; the correction row last.

    Parameters
    ----------
    design : AdderTreeDesign
        An adder-tree design with bit-weight options.
    act : array_like of int, shape (vectors, k)
        Activation vectors as the port carries them.
    weights : array_like of int, shape (n, k)
        Weights as the port carries them.

    Returns
    -------
    ndarray of uint64, shape (vectors, n, leaves)
        The leaf rows of every neuron's carry-save tree.
    """
    plan = option_plan(design)
    rows, _ = partial_product_rows(design, act, weights)
    b = plan.select_width
    u = (rows & ((1 << b) - 1)) ^ (1 << (b - 1))
    mask = (1 << plan.width) - 1
    lanes = np.array([ij for ij in plan.leaf_lanes if ij[0] >= 0], np.int64)
    shifted = (u[:, :, lanes[:, 0], lanes[:, 1]] << (2 * lanes[:, 1])) & mask
    corr = np.broadcast_to(correction_row(design, act)[:, None, None], shifted.shape[:2] + (1,))
    return np.concatenate([shifted, corr], axis=-1).astype(np.uint64)


def csa_fold(plan: CsaPlan, leaves: np.ndarray, level: int | None = None) -> list[np.ndarray]:
    """Rows after ``level`` (default: the root) of a carry-save plan applied to ``leaves``
    (``(..., len(plan.leaves))`` unsigned patterns), exactly as the RTL builds them.

    Parameters
    ----------
    plan : CsaPlan
        The carry-save tree (its leaves' bit masks and 3:2 compressor levels).
    leaves : ndarray of uint64, shape (..., leaves)
        The leaf rows, ``W``-bit unsigned patterns in the plan's leaf order.
    level : int, optional
        Fold this many levels; default all (``plan.depth``), down to the root.

    Returns
    -------
    list of ndarray of uint64
        The rows after ``level``, each of shape ``leaves.shape[:-1]``; at the root the sum
        row and, when it can be nonzero, the carry row.
    """
    mask = np.uint64((1 << plan.width) - 1)
    one = np.uint64(1)
    rows = [np.asarray(leaves[..., i], np.uint64) & np.uint64(m) for i, m in enumerate(plan.leaves)]
    stop = plan.depth if level is None else level
    for lvl in range(1, stop + 1):
        below, rows = rows, []
        for op in plan.ops[lvl - 1]:
            if len(op) == 3:
                x, y, z = (below[i] for i in op)
                rows.append(x ^ y ^ z)
                carry = (((x & y) | (x & z) | (y & z)) << one) & mask
                ma, mb, mc = (plan.rows[lvl - 1][i] for i in op)
                if carry_mask(ma, mb, mc, plan.width):
                    rows.append(carry)
            else:
                rows.extend(below[i] for i in op)
    return rows


def carry_save_pair(design: AdderTreeDesign, act, weights) -> tuple[np.ndarray, np.ndarray]:
    """``(sum, carry)`` at the root of each neuron's carry-save tree, ``(vectors, n)``
    unsigned ``W``-bit patterns; ``(sum + carry) mod 2**W`` is the dot product.

    Parameters
    ----------
    design : AdderTreeDesign
        An adder-tree design with ``carry_save_accumulate``.
    act : array_like of int, shape (vectors, k)
        Activation vectors as the port carries them.
    weights : array_like of int, shape (n, k)
        Weights as the port carries them.

    Returns
    -------
    sum, carry : ndarray of uint64, shape (vectors, n)
        The root's sum and carry rows (the carry all zero when the tree has none).

    Raises
    ------
    ValueError
        The design keeps no carry-save pair.
    """
    plan = option_plan(design)
    if plan.csa is None:
        raise ValueError("the design keeps no carry-save pair (carry_save_accumulate is off)")
    rows = csa_fold(plan.csa, csa_leaves(design, act, weights))
    carry = rows[1] if len(rows) > 1 else np.zeros_like(rows[0])
    return rows[0], carry


def bitweight_sums(design: AdderTreeDesign, act, weights) -> np.ndarray:
    """``S[v, n, j] = sum_i d_ij * w_ni``: the same-bit-weight sums (what the narrow adder
    trees of ``shared_encoder_same_bitweight`` output, and the group sums ``digit_sparse``
    resolves); ``sum_j S_j 4**j`` is the dot product.

    Parameters
    ----------
    design : AdderTreeDesign
        An adder-tree design with bit-weight options.
    act : array_like of int, shape (vectors, k)
        Activation vectors as the port carries them.
    weights : array_like of int, shape (n, k)
        Weights as the port carries them.

    Returns
    -------
    ndarray of int64, shape (vectors, n, D)
        The same-bit-weight sums, least significant bit weight first.
    """
    d = signed_digits(design, act).astype(np.int64)
    w = _weights(design, weights).astype(np.int64)
    return np.einsum("vij,ni->vnj", d, w)


def resolve(pattern: np.ndarray, width: int, signed: bool = True) -> np.ndarray:
    """A ``width``-bit pattern as the integer it encodes.

    Parameters
    ----------
    pattern : array_like of int
        Bit patterns; bits above ``width`` are ignored.
    width : int
        Pattern width in bits.
    signed : bool, default True
        Two's complement (else unsigned).

    Returns
    -------
    ndarray of int64
        The encoded integers, shaped like ``pattern``.
    """
    p = np.asarray(pattern).astype(np.int64) & ((1 << width) - 1)
    if signed:
        p = np.where(p >= (1 << (width - 1)), p - (1 << width), p)
    return p


def digit_sparse_trace(design: AdderTreeDesign, act, weights) -> dict:
    """Everything a ``digit_sparse`` array holds on the way, per vector.

    Parameters
    ----------
    design : AdderTreeDesign
        An adder-tree design with ``digit_sparse``.
    act : array_like of int, shape (vectors, k)
        Activation vectors as the port carries them.
    weights : array_like of int, shape (n, k)
        Weights as the port carries them.

    Returns
    -------
    dict
        ``steps`` ``(v, D)``: cycles spent at each bit weight (0: skipped);
        ``cycles`` ``(v,)``; ``pe_sum``, ``pe_carry`` ``(v, D, groups, n)``: each PE's
        carry-save pair (``pe_width`` bits) when bit weight ``j`` is flushed (zero for a
        group without digits there); ``group_sums`` ``(v, n, D)``: the resolved sum over the
        groups at each bit weight (equal to :func:`bitweight_sums`).
    """
    plan = option_plan(design)
    d = signed_digits(design, act).astype(np.int64)
    w = _weights(design, weights).astype(np.int64)
    v = d.shape[0]
    g, groups, dd, pw = plan.group, plan.groups, plan.digits, plan.pe_width
    mask = np.int64((1 << pw) - 1)
    dg = d.reshape(v, groups, g, dd)  # (v, groups, g, D)
    nz = dg != 0
    rank = np.cumsum(nz, axis=2) - 1  # order the encoder picks them
    wg = w.reshape(design.n, groups, g)  # (n, groups, g)
    # Each lane's row (sel or ~sel, sign-extended to pe_width) and its +1 bit.
    sel = np.abs(dg)[:, None] * wg[None, :, :, :, None]  # (v, n, groups, g, D)
    neg = (dg < 0)[:, None]
    rows = np.where(neg, ~sel, sel) & mask
    s = np.zeros((v, design.n, groups, dd), np.int64)
    c = np.zeros_like(s)
    for t in range(g):
        pick = (nz & (rank == t))[:, None]  # one lane or none
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
    total = resolve((s + c).sum(axis=2), pw)  # (v, n, D)
    return {
        "steps": steps,
        "cycles": np.maximum(1, steps.sum(axis=1)),
        "pe_sum": s.transpose(0, 3, 2, 1),
        "pe_carry": c.transpose(0, 3, 2, 1),
        "group_sums": total,
    }
