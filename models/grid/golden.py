"""Golden models of the grid engines (systolic OS/WS and 2D matrix).

:func:`tile_reference` and :func:`gemm_reference` compute what the arrays output; the
intermediate representations the RTL exposes are reproduced bit for bit:
:func:`booth_digits` (the PE's ``digits`` port), :func:`csa_terms` (partial-product rows and
injected bits), :func:`csa_reduce` (one carry-save step, following the same compressor plan
as the RTL), :func:`pe_trace` (an output-stationary PE's registered accumulator, step by
step), :func:`ws_column_trace` (the carry-save partial sums passed down a
weight-stationary column) and :func:`paper_tile_reference` (a paper-mode tile's exposed
accumulators). Carry-save pairs are ``uint64`` patterns modulo ``2**W``.
"""

from __future__ import annotations

import numpy as np

from ...design.systolic import GridDesign
from ...errors import InputError
from ...workloads.digits import booth_encode
from ..golden import check_operand

__all__ = [
    "to_bits",
    "from_bits",
    "weight_values",
    "wrap",
    "tile_reference",
    "gemm_reference",
    "booth_digits",
    "csa_terms",
    "csa_reduce",
    "resolve",
    "pe_trace",
    "ws_column_trace",
    "paper_tile_reference",
]


# -- bit patterns --------------------------------------------------------------------------
def _mask(width: int) -> np.uint64:
    return np.uint64((1 << width) - 1)


def to_bits(values, width: int) -> np.ndarray:
    """Two's complement patterns of integers modulo ``2**width`` (``uint64``).

    Parameters
    ----------
    values : array_like of int
        Integers.
    width : int
        Pattern width in bits.

    Returns
    -------
    ndarray of uint64
        The patterns, shaped like ``values``.
    """
    v = np.asarray(values)
    return v.astype(np.int64).astype(np.uint64) & _mask(width)


def from_bits(bits, width: int, signed: bool) -> np.ndarray:
    """Integers from ``width``-bit patterns, two's complement when ``signed``.

    Parameters
    ----------
    bits : array_like of int
        Bit patterns; bits above ``width`` are ignored.
    width : int
        Pattern width in bits.
    signed : bool
        Two's complement (else unsigned).

    Returns
    -------
    ndarray of int64
        The integers, shaped like ``bits``.
    """
    b = np.asarray(bits, dtype=np.uint64) & _mask(width)
    v = b.astype(np.int64)
    if signed:
        v = np.where(v >= (1 << (width - 1)), v - (np.int64(1) << width), v)
    return v


# -- values --------------------------------------------------------------------------------
def weight_values(design: GridDesign, codes) -> np.ndarray:
    """The numbers weight codes stand for (addsub: bit 1 = +1, bit 0 = -1).

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).
    codes : array_like of int
        Weight codes as the ports carry them.

    Returns
    -------
    ndarray of int
        The weight values, shaped like ``codes``.
    """
    c = np.asarray(codes, dtype=np.int64)
    return design.arith.weight_values(c)


def wrap(design: GridDesign, values) -> np.ndarray:
    """Results as the result port carries them: modulo ``2**acc_width`` when the design
    wraps, otherwise unchanged (they fit).

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).
    values : array_like of int
        Exact results.

    Returns
    -------
    ndarray of int64
        The results as the port shows them.
    """
    v = np.asarray(values, dtype=np.int64)
    if not design.wraps:
        return v
    return from_bits(to_bits(v, design.acc_width), design.acc_width, design.acc_signed)


def _check(design: GridDesign, act, weights, k: int | None = None):
    x = check_operand("act", act, *design.act_range, (None, k))
    w = check_operand("weights", weights, *design.weight_range, (None, x.shape[1]))
    return x, w


def tile_reference(design: GridDesign, act, weights) -> np.ndarray:
    """One tile's results: ``act[m, k]`` against ``weights[n, k]`` (codes as the ports
    carry them), ``Y[m, n] = sum_k a[m, k] * w[n, k]`` wrapped to the accumulator.

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).
    act : array_like of int, shape (m, k)
        Activation codes as the ports carry them.
    weights : array_like of int, shape (n, k)
        Weight codes as the ports carry them.

    Returns
    -------
    ndarray of int64, shape (m, n)
        The tile's results as the result port carries them.
    """
    x, w = _check(design, act, weights)
    return wrap(design, design.arith.dot(x, w))


def gemm_reference(design: GridDesign, act, weights) -> np.ndarray:
    """``Y = X @ W.T`` as the tiled schedule produces it: the reduction is cut into tiles
    (``k_max`` steps output-stationary, ``rows`` weight-stationary), each tile's result is
    wrapped to the accumulator, and the host adds the tiles.

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).
    act : array_like of int, shape (m, k)
        Activation codes as the ports carry them.
    weights : array_like of int, shape (n, k)
        Weight codes as the ports carry them.

    Returns
    -------
    ndarray of int64, shape (m, n)
        The GEMM's results, the tiles added.
    """
    x, w = _check(design, act, weights)
    k = x.shape[1]
    step = design.reduction_length
    if not design.wraps or k <= step:
        return tile_reference(design, x, w)
    out = np.zeros((x.shape[0], w.shape[0]), np.int64)
    for k0 in range(0, k, step):  # tiles, not elements
        out += tile_reference(design, x[:, k0 : k0 + step], w[:, k0 : k0 + step])
    return out


# -- intermediate representations ----------------------------------------------------------
def booth_digits(design: GridDesign, act) -> np.ndarray:
    """Radix-4 Booth digits of activations, least significant first (what a PE's
    ``digits`` port shows); :func:`shiftadd.workloads.digits.booth_encode`.

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).
    act : array_like of int
        Activation codes.

    Returns
    -------
    ndarray of int8, shape ``act.shape + (digits,)``
        Digits in {-2..2}, least significant first.
    """
    return booth_encode(np.asarray(act), design.act_bits, design.act_signed)


def csa_terms(design: GridDesign, act, weight) -> tuple[np.ndarray, np.ndarray]:
    """What one (activation, weight) pair feeds the carry-save tree: ``rows`` (``uint64``,
    shape ``(..., terms)``, modulo ``2**W``) and injected bits (``(..., injections)``).

    Booth (``mac``): row ``j`` is ``d_j * w * 4**j``, except row 0, which is
    ``~(|d_0| w)`` when ``d_0 < 0`` with the bit ``d_0 < 0`` (its ``+1``). ``addsub``:
    ``w ? a : ~a`` and the bit ``~w``. ``ternary``: ``a``, ``~a`` or 0, and the bit
    ``w == -1``.

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).
    act : array_like of int
        Activation codes.
    weight : array_like of int
        Weight codes (broadcast against ``act``).

    Returns
    -------
    rows : ndarray of uint64, shape (..., terms)
        The partial-product rows, modulo ``2**acc_width``.
    bits : ndarray of uint64, shape (..., injections)
        The injected ``+1`` bits.
    """
    width = design.acc_width
    a = np.asarray(act, dtype=np.int64)
    w = np.asarray(weight, dtype=np.int64)
    a, w = np.broadcast_arrays(a, w)
    if design.booth:
        d = booth_digits(design, a).astype(np.int64)
        scale = np.int64(4) ** np.arange(d.shape[-1], dtype=np.int64)
        values = d * w[..., None] * scale
        neg0 = d[..., 0] < 0
        values[..., 0] = np.where(neg0, ~(-d[..., 0] * w), values[..., 0])
        return to_bits(values, width), neg0.astype(np.uint64)[..., None]
    term, bit = design.arith.complement_term(a, w)
    return to_bits(term, width)[..., None], bit.astype(np.uint64)[..., None]


def csa_reduce(design: GridDesign, rows, bits) -> tuple[np.ndarray, np.ndarray]:
    """Reduce rows (last axis) and injected bits to a carry-save pair, compressor by
    compressor as :attr:`GridDesign.csa_plan` (and the RTL) does.

    Parameters
    ----------
    design : GridDesign
        A design with ``carry_save_accumulate``.
    rows : array_like of uint64, shape (..., plan.rows)
        The rows to reduce, ``acc_width``-bit patterns.
    bits : array_like of uint64, shape (..., plan.injections)
        The bits injected into the carries.

    Returns
    -------
    sum, carry : ndarray of uint64
        The carry-save pair, shape ``rows.shape[:-1]``.

    Raises
    ------
    InputError
        The design has no carry-save accumulator.
    """
    plan = design.csa_plan
    if plan is None:
        raise InputError(
            "the design has no carry-save accumulator",
            field="carry_save_accumulate",
            allowed=[True],
        )
    mask = _mask(design.acc_width)
    rows = np.asarray(rows, dtype=np.uint64)
    bits = np.asarray(bits, dtype=np.uint64)
    if rows.shape[-1] != plan.rows:
        raise ValueError(f"expected {plan.rows} rows, got {rows.shape[-1]}")
    work = [rows[..., i] for i in range(plan.rows)]
    inject = {plan.inject_step(i): i for i in range(plan.injections)}
    one = np.uint64(1)
    for i, (x, y, z) in enumerate(plan.steps):
        a, b, c = work[x], work[y], work[z]
        maj = (a & b) | (a & c) | (b & c)
        carry = (maj << one) & mask
        if i in inject:
            carry = carry | bits[..., inject[i]]
        work += [a ^ b ^ c, carry]
    return work[-2], work[-1]


def resolve(design: GridDesign, s, c) -> np.ndarray:
    """The value a carry-save pair stands for, as the result port shows it.

    Parameters
    ----------
    design : GridDesign
        A grid design (systolic or 2D matrix).
    s, c : array_like of uint64
        Sum and carry patterns.

    Returns
    -------
    ndarray of int64
        ``(s + c) mod 2**acc_width``, two's complement when the accumulator is signed.
    """
    width = design.acc_width
    total = (np.asarray(s, np.uint64) + np.asarray(c, np.uint64)) & _mask(width)
    return from_bits(total, width, design.acc_signed)


def _step(design: GridDesign, a, w, state):
    """One accumulation step in the design's accumulator form."""
    width = design.acc_width
    if design.carry_save_accumulate:
        rows, bits = csa_terms(design, a, w)
        s, c = state
        return csa_reduce(design, np.concatenate([rows, s[..., None], c[..., None]], axis=-1), bits)
    prod = np.asarray(a, np.int64) * weight_values(design, w)
    return (state + to_bits(prod, width)) & _mask(width)


def _zero_state(design: GridDesign, shape):
    z = np.zeros(shape, np.uint64)
    return (z, z.copy()) if design.carry_save_accumulate else z


def pe_trace(design: GridDesign, act, weight, last=None):
    """Registered accumulator of an output-stationary PE after each step.

    Parameters
    ----------
    design : GridDesign
        An output-stationary grid design.
    act, weight : array of int, shape (steps, ...)
        One step per row (any further axes are independent PEs).
    last : array of bool, shape (steps, ...), optional
        Steps that end a tile: the accumulator restarts from 0 after them.

    Returns
    -------
    ndarray or (ndarray, ndarray)
        ``uint64`` patterns, shape ``(steps, ...)``: the value (carry-propagate) or the
        ``(sum, carry)`` pair (carry-save), as the PE's ``acc`` port shows it one cycle
        after each step.
    """
    a = np.asarray(act, np.int64)
    w = np.asarray(weight, np.int64)
    last = np.zeros(a.shape, bool) if last is None else np.asarray(last, bool)
    state = _zero_state(design, a.shape[1:])
    out = []
    for t in range(a.shape[0]):  # accumulation is sequential in time
        nxt = _step(design, a[t], w[t], state)
        if design.carry_save_accumulate:
            state = tuple(np.where(last[t], np.uint64(0), v) for v in nxt)
        else:
            state = np.where(last[t], np.uint64(0), nxt)
        out.append(state)
    if design.carry_save_accumulate:
        return np.stack([s for s, _ in out]), np.stack([c for _, c in out])
    return np.stack(out)


def ws_column_trace(design: GridDesign, act, weights):
    """Partial sums a weight-stationary column passes down, for each activation vector.

    Parameters
    ----------
    design : GridDesign
        A weight-stationary grid design.
    act : array of int, shape (vectors, rows)
        Activation codes, one column per array row.
    weights : array of int, shape (rows,)
        The column's held weights, top row first.

    Returns
    -------
    ndarray or (ndarray, ndarray)
        ``uint64``, shape ``(vectors, rows)``: after each row, the registered partial sum
        (or carry-save pair) that PE's ``psum_out`` shows.
    """
    a = np.asarray(act, np.int64)
    w = np.asarray(weights, np.int64)
    state = _zero_state(design, a.shape[:1])
    out = []
    for i in range(a.shape[1]):  # down the column
        state = _step(design, a[:, i], w[i], state)
        out.append(state)
    if design.carry_save_accumulate:
        return np.stack([s for s, _ in out], axis=1), np.stack([c for _, c in out], axis=1)
    return np.stack(out, axis=1)


def paper_tile_reference(design: GridDesign, act, weights) -> np.ndarray:
    """A paper-mode tile's one result transfer (``paper_mode``), bit for bit.

    Element ``r * cols + c`` is PE ``(R-1-r, c)``'s accumulator when the transfer leaves,
    ``skew_max + 1`` cycles after the tile's last step. A carry-propagate accumulator holds
    the tile's result. A carry-save pair has, after the tile's K steps (streamed back to
    back), taken ``skew_max - p - c`` idle steps with zero operands while the PEs further
    down the skew finished (physical row ``p``): the value stays, the bits do not; the
    consumer adds the pair (:func:`resolve`).

    Parameters
    ----------
    design : GridDesign
        An output-stationary grid design (paper mode).
    act : array_like of int, shape (rows, k)
        Activation codes of the tile.
    weights : array_like of int, shape (cols, k)
        Weight codes of the tile.

    Returns
    -------
    ndarray of int64
        Shape ``(rows * cols,)``: the values; with ``carry_save_accumulate`` shape
        ``(rows * cols, 2)``: the ``(sum, carry)`` patterns.
    """
    R, C = design.rows, design.cols
    x, w = _check(design, act, weights)
    if x.shape[0] != R or w.shape[0] != C:
        raise ValueError(f"a tile is {R} activation rows and {C} weight rows")
    if not design.carry_save_accumulate:
        return tile_reference(design, x, w).reshape(-1)
    k = x.shape[1]
    a = np.broadcast_to(x.T[:, :, None], (k, R, C))
    b = np.broadcast_to(w.T[:, None, :], (k, R, C))
    state = _zero_state(design, (R, C))
    for t in range(k):  # accumulation is sequential in time
        state = _step(design, a[t], b[t], state)
    physical = (R - 1 - np.arange(R))[:, None] + np.arange(C)[None, :]
    idle = design.skew_max - physical
    zero = np.zeros((R, C), np.int64)
    for t in range(design.skew_max):
        nxt = _step(design, zero, zero, state)
        state = tuple(np.where(idle > t, n, s) for n, s in zip(nxt, state))
    return np.stack(state, axis=-1).reshape(R * C, 2).astype(np.int64)
