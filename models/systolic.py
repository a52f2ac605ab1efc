"""Golden, cycle and cost models of the grid engines (systolic OS/WS, and 2D matrix).

Golden model
    :func:`tile_reference` and :func:`gemm_reference` compute what the arrays output; the
    intermediate representations the RTL exposes are reproduced bit for bit:
    :func:`booth_digits` (the PE's ``digits`` port), :func:`csa_terms` (partial-product rows
    and injected bits), :func:`csa_reduce` (one carry-save step, following the same
    compressor plan as the RTL), :func:`pe_trace` (an output-stationary PE's registered
    accumulator, step by step) and :func:`ws_column_trace` (the carry-save partial sums
    passed down a weight-stationary column). Carry-save pairs are ``uint64`` patterns
    modulo ``2**W``.
Cycle model
    :func:`os_output_cycles` and :func:`ws_accept_cycles` predict the cycle of every output
    transfer of a stream of transfers at full rate; ``gemm_cycles_batch`` (registered with
    :mod:`shiftadd.models.cycles`) counts a tiled GEMM in closed form. The benches check
    both against simulation.
Cost model
    ``bill_of_materials`` (registered with :mod:`shiftadd.models.cost`) and the synthesis
    activity profile.
"""

from __future__ import annotations

import functools

import numpy as np

from ..design.systolic import GridDesign, SystolicDesign
from ..errors import InputError
from ..rtl_gen.synth import activity_profile
from .cost import Item, bill_of_materials
from .cost import Item as _Item
from .cycles import gemm_cycles_batch
from .perf import design_vector, register_kernel
from .golden import check_operand, dot_products
from .validation import validation_gemm

__all__ = ["to_bits", "from_bits", "weight_values", "wrap", "tile_reference",
           "gemm_reference", "booth_digits", "csa_terms", "csa_reduce", "resolve",
           "pe_trace", "ws_column_trace", "os_tile_last_cycles", "os_output_cycles",
           "ws_accept_cycles", "grid_cycles", "gemm_schedule"]


# -- bit patterns --------------------------------------------------------------------------
def _mask(width: int) -> np.uint64:
    return np.uint64((1 << width) - 1)


def to_bits(values, width: int) -> np.ndarray:
    """Two's complement patterns of integers modulo ``2**width`` (``uint64``)."""
    v = np.asarray(values)
    return v.astype(np.int64).astype(np.uint64) & _mask(width)


def from_bits(bits, width: int, signed: bool) -> np.ndarray:
    """Integers from ``width``-bit patterns, two's complement when ``signed``."""
    b = np.asarray(bits, dtype=np.uint64) & _mask(width)
    v = b.astype(np.int64)
    if signed:
        v = np.where(v >= (1 << (width - 1)), v - (np.int64(1) << width), v)
    return v


# -- values --------------------------------------------------------------------------------
def weight_values(design: GridDesign, codes) -> np.ndarray:
    """The numbers weight codes stand for (addsub: bit 1 = +1, bit 0 = -1)."""
    c = np.asarray(codes, dtype=np.int64)
    return 2 * c - 1 if design.mode == "addsub" else c


def wrap(design: GridDesign, values) -> np.ndarray:
    """Results as the result port carries them: modulo ``2**acc_width`` when the design
    wraps, otherwise unchanged (they fit)."""
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
    carry them), ``Y[m, n] = sum_k a[m, k] * w[n, k]`` wrapped to the accumulator."""
    x, w = _check(design, act, weights)
    return wrap(design, dot_products("mac", x, weight_values(design, w)))


def gemm_reference(design: GridDesign, act, weights) -> np.ndarray:
    """``Y = X @ W.T`` as the tiled schedule produces it: the reduction is cut into tiles
    (``k_max`` steps output-stationary, ``rows`` weight-stationary), each tile's result is
    wrapped to the accumulator, and the host adds the tiles."""
    x, w = _check(design, act, weights)
    k = x.shape[1]
    step = design.reduction_length
    if not design.wraps or k <= step:
        return tile_reference(design, x, w)
    out = np.zeros((x.shape[0], w.shape[0]), np.int64)
    for k0 in range(0, k, step):  # tiles, not elements
        out += tile_reference(design, x[:, k0:k0 + step], w[:, k0:k0 + step])
    return out


# -- intermediate representations ----------------------------------------------------------
def booth_digits(design: GridDesign, act) -> np.ndarray:
    """Radix-4 Booth digits of activations, least significant first (what a PE's
    ``digits`` port shows); :func:`shiftadd.workloads.digits.booth_encode`."""
    from ..workloads.digits import booth_encode

    return booth_encode(np.asarray(act), design.act_bits, design.act_signed)


def csa_terms(design: GridDesign, act, weight) -> tuple[np.ndarray, np.ndarray]:
    """What one (activation, weight) pair feeds the carry-save tree: ``rows`` (``uint64``,
    shape ``(..., terms)``, modulo ``2**W``) and injected bits (``(..., injections)``).

    Booth (``mac``): row ``j`` is ``d_j * w * 4**j``, except row 0, which is
    ``~(|d_0| w)`` when ``d_0 < 0`` with the bit ``d_0 < 0`` (its ``+1``). ``addsub``:
    ``w ? a : ~a`` and the bit ``~w``. ``ternary``: ``a``, ``~a`` or 0, and the bit
    ``w == -1``.
    """
    width = design.acc_width
    a = np.asarray(act, dtype=np.int64)
    w = np.asarray(weight, dtype=np.int64)
    a, w = np.broadcast_arrays(a, w)
    if design.mode == "mac":
        d = booth_digits(design, a).astype(np.int64)
        scale = np.int64(4) ** np.arange(d.shape[-1], dtype=np.int64)
        values = d * w[..., None] * scale
        neg0 = d[..., 0] < 0
        values[..., 0] = np.where(neg0, ~(-d[..., 0] * w), values[..., 0])
        return to_bits(values, width), neg0.astype(np.uint64)[..., None]
    if design.mode == "addsub":
        term = np.where(w == 1, a, ~a)
        bit = (w == 0)
    else:
        term = np.where(w == 0, 0, np.where(w < 0, ~a, a))
        bit = (w < 0)
    return to_bits(term, width)[..., None], bit.astype(np.uint64)[..., None]


def csa_reduce(design: GridDesign, rows, bits) -> tuple[np.ndarray, np.ndarray]:
    """Reduce rows (last axis) and injected bits to a carry-save pair, compressor by
    compressor as :attr:`GridDesign.csa_plan` (and the RTL) does. Returns ``(sum, carry)``.
    """
    plan = design.csa_plan
    if plan is None:
        raise InputError("the design has no carry-save accumulator",
                         field="carry_save_accumulate", allowed=[True])
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
    """The value a carry-save pair stands for, as the result port shows it."""
    width = design.acc_width
    total = (np.asarray(s, np.uint64) + np.asarray(c, np.uint64)) & _mask(width)
    return from_bits(total, width, design.acc_signed)


def _step(design: GridDesign, a, w, state):
    """One accumulation step in the design's accumulator form."""
    width = design.acc_width
    if design.carry_save_accumulate:
        rows, bits = csa_terms(design, a, w)
        s, c = state
        return csa_reduce(design, np.concatenate([rows, s[..., None], c[..., None]], axis=-1),
                          bits)
    prod = np.asarray(a, np.int64) * weight_values(design, w)
    return (state + to_bits(prod, width)) & _mask(width)


def _zero_state(design: GridDesign, shape):
    z = np.zeros(shape, np.uint64)
    return (z, z.copy()) if design.carry_save_accumulate else z


def pe_trace(design: GridDesign, act, weight, last=None):
    """Registered accumulator of an output-stationary PE after each step.

    Parameters
    ----------
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
    act : array of int, shape (vectors, rows)
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


# -- cycle model ---------------------------------------------------------------------------
def os_tile_last_cycles(design: GridDesign, tile_steps) -> np.ndarray:
    """Handshake cycle of each tile's last step, for output-stationary tiles of
    ``tile_steps`` steps streamed back to back from cycle 0.

    A tile's last step is held until ``last_spacing`` cycles after the previous one;
    the other steps never wait.
    """
    steps = np.asarray(tile_steps, dtype=np.int64)
    inc = np.maximum(steps, design.last_spacing)
    if inc.size:
        inc[0] = steps[0]
    return np.cumsum(inc) - 1


def os_output_cycles(design: GridDesign, tile_steps) -> np.ndarray:
    """Cycle of every result transfer (``rows`` per tile, in order) of
    :func:`os_tile_last_cycles`' stream."""
    last = os_tile_last_cycles(design, tile_steps)
    return (last[:, None] + design.latency + np.arange(design.rows)).reshape(-1)


def ws_accept_cycles(design: SystolicDesign, is_write, rows) -> np.ndarray:
    """Handshake cycle of each transfer of a weight-stationary stream at full rate.

    Parameters
    ----------
    is_write : array of bool
        Per transfer, a weight write (True) or an activation vector.
    rows : array of int
        The written array row of each write (ignored for activations).

    Activation vectors never wait; a write to row ``i`` waits until ``i + cols`` cycles
    after the last activation vector before it.
    """
    w = np.asarray(is_write, bool)
    r = np.asarray(rows, np.int64)
    n = w.size
    h = np.empty(n, np.int64)
    edges = np.flatnonzero(np.diff(w.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges]) if n else np.zeros(0, np.int64)
    ends = np.concatenate([edges, [n]]) if n else np.zeros(0, np.int64)
    prev, last_act = -1, None
    for s, e in zip(starts, ends):  # runs of transfers, not elements
        k = np.arange(e - s)
        if not w[s]:
            h[s:e] = prev + 1 + k
            last_act = int(h[e - 1])
        else:
            base = np.full(e - s, prev + 1, np.int64)
            if last_act is not None:
                bound = last_act + design.weight_write_wait + r[s:e] - k
                base = np.maximum(base, np.maximum.accumulate(bound))
            h[s:e] = base + k
        prev = int(h[e - 1])
    return h


def grid_cycles(os_flag, rows, cols, tile_k, spacing, latency, m, n, k):
    """Cycles of a tiled GEMM on a grid engine, in closed form; every argument broadcasts
    (integers or float arrays of integral values, as the sweep passes them).

    Output-stationary (``os_flag`` true; systolic ``os`` and 2D matrix): for each block of
    ``rows`` rows of X and ``cols`` rows of W, the reduction is cut into tiles of at most
    ``tile_k = k_max`` steps that stream back to back, a tile's last step at least
    ``spacing`` cycles after the previous tile's; the last tile's ``rows`` result rows leave
    ``latency`` cycles after its last step. Weight-stationary: for each K-tile of ``rows``
    and N-tile of ``cols``, write the tile's weight rows, then stream all M activation
    vectors; every weight tile after the first waits ``cols - 1`` cycles for the vectors
    in flight. (docs/systolic.md derives both.)
    """
    mt, nt = -(-m // rows), -(-n // cols)
    kt = -(-k // tile_k)
    # output-stationary
    rest = k - (kt - 1) * tile_k
    per_block = (kt - 1) * np.maximum(spacing, tile_k) + np.maximum(spacing, rest)
    first = np.where(kt > 1, tile_k, k)
    os_cycles = first - 1 + mt * nt * per_block - np.maximum(spacing, first) + latency + rows
    os_tiles = mt * nt * kt
    # weight-stationary
    ws_tiles = kt * nt
    writes = nt * k
    ws_transfers = writes + ws_tiles * m
    ws_cycles = ws_transfers + (ws_tiles - 1) * (cols - 1) + latency
    return {"cycles": np.where(os_flag, os_cycles, ws_cycles),
            "transfers": np.where(os_flag, mt * nt * k, ws_transfers),
            "tiles": np.where(os_flag, os_tiles, ws_tiles),
            "weight_writes": np.where(os_flag, 0 * writes, writes),
            "k_tiles": kt, "m_tiles": mt, "n_tiles": nt}


def gemm_schedule(design: GridDesign, m, n, k) -> dict[str, np.ndarray]:
    """Tiled GEMM counts of one design, vectorized over arrays of ``M, N, K``: the sweep
    kernel's formula (:func:`grid_cycles` with :func:`design_vector`'s numbers)."""
    m, n, k = (np.asarray(v, dtype=np.int64) for v in (m, n, k))
    v = design_vector(design)
    c = grid_cycles(bool(v["os"]), design.rows, design.cols, int(v["tile_k"]),
                    int(v["spacing"]), design.latency, m, n, k)
    macs = m * n * k
    return {"cycles": c["cycles"], "transfers": c["transfers"], "tiles": c["tiles"],
            "weight_writes": c["weight_writes"], "macs": macs,
            "utilization": macs / (c["cycles"] * design.rows * design.cols)}


# -- sweep plug-in ---------------------------------------------------------------------------
@design_vector.register
def _(design: GridDesign) -> dict[str, float]:
    os_ = design.is_output_stationary
    return {"tile_k": design.k_max if os_ else design.rows, "tile_n": design.cols,
            "tile_m": design.rows, "latency": design.latency, "act_bits": design.act_bits,
            "weight_bits": design.weight_bits, "out_bits": design.acc_width,
            "psum_bits": design.acc_width, "lanes": design.rows * design.cols,
            "os": 1.0 if os_ else 0.0, "spacing": design.last_spacing if os_ else 1,
            # Buffer ports: a column of activations and a row of weights per step, a row of
            # results per transfer (the sweep sizes the SRAM macros' words by these).
            "act_word_bits": design.rows * design.act_bits,
            "weight_word_bits": design.cols * design.weight_bits,
            "out_word_bits": design.cols * design.acc_width}


def _grid_kernel(v: dict, m, n, k, act_buf_bits, weight_buf_bits, out_buf_bits):
    """Cycles and traffic of the grid engines' schedules (see :func:`grid_cycles`).

    Output-stationary: every step reads a column of ``rows`` activations and a row of
    ``cols`` weights from the buffers, so X is streamed once per N-block and W once per
    M-block; each comes from DRAM once when the buffer holds the operand it re-reads
    (X's ``rows x K`` block / all of W), else once per pass. Reductions longer than
    ``k_max`` leave partial results, added in the output buffer when an ``M x cols`` block
    fits, else through DRAM. Weight-stationary: as the adder-tree kernel: W from DRAM
    once, X's ``M x rows`` block per K-tile streamed once per N-tile, K-tile partial sums
    in the output buffer when they fit.
    """
    rows, cols, tk = v["tile_m"], v["tile_n"], v["tile_k"]
    c = grid_cycles(v["os"] > 0, rows, cols, tk, v["spacing"], v["latency"], m, n, k)
    mt, nt, kt = c["m_tiles"], c["n_tiles"], c["k_tiles"]
    ab, wb, pb, ob = v["act_bits"], v["weight_bits"], v["psum_bits"], v["out_bits"]
    os_ = v["os"] > 0
    x_bits, w_bits = m * k * ab, n * k * wb
    # the block of X a pass re-reads: rows x K (os) or M x rows (ws)
    x_block = np.where(os_, rows * k, m * rows) * ab
    x_dram = np.where(x_block <= act_buf_bits, x_bits, x_bits * nt)
    w_dram = np.where(os_ & (w_bits > weight_buf_bits), w_bits * mt, w_bits)
    x_stream = x_bits * nt
    w_stream = np.where(os_, w_bits * mt, w_bits)
    psum_fits = m * cols * pb <= out_buf_bits
    extra = np.maximum(kt - 1, 0) * m * n * pb
    out_final = m * n * ob
    on_chip = np.where(psum_fits, extra, 0)
    return {
        "cycles": c["cycles"],
        "dram_read_bits": x_dram + w_dram + np.where(psum_fits, 0, extra),
        "dram_write_bits": out_final + np.where(psum_fits, 0, extra),
        "act_buf_read_bits": x_stream,
        "act_buf_write_bits": x_dram,
        "weight_buf_read_bits": w_stream,
        "weight_buf_write_bits": w_dram,
        "out_buf_read_bits": on_chip + out_final,
        "out_buf_write_bits": on_chip + out_final,
    }


register_kernel("systolic")(_grid_kernel)
register_kernel("matrix2d")(_grid_kernel)


@gemm_cycles_batch.register
def _(design: GridDesign, m, n, k):
    return gemm_schedule(design, m, n, k)


# -- cost model ------------------------------------------------------------------------------
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
def _toggle_factors(mode: str, act_range: tuple, weight_range: tuple, width: int,
                    steps: int) -> tuple[float, float]:
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
    a = rng.integers(act_range[0], act_range[1] + 1, size=shape, dtype=np.int64)
    if mode == "addsub":
        w = 2 * rng.integers(0, 2, size=shape, dtype=np.int64) - 1
    else:
        w = rng.integers(weight_range[0], weight_range[1] + 1, size=shape, dtype=np.int64)
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
    arithmetic (:func:`_toggle_factors`): ``acc`` (OS accumulators, per step), ``psum``
    (WS partial-sum registers, averaged over the rows), ``result`` (results leaving the
    array)."""
    d = design
    key = (d.mode, tuple(d.act_range), tuple(d.weight_value_range), d.acc_width)
    steps = min(d.reduction_length, _TOGGLE_STEPS)
    acc, result = _toggle_factors(*key, steps)
    if d.is_output_stationary:
        return {"acc": acc, "psum": acc, "result": result}
    psum = float(np.mean([_toggle_factors(*key, i)[1] for i in range(1, d.rows + 1)]))
    return {"acc": psum, "psum": psum, "result": result}


def _pe_items(d: GridDesign, pes: int, prev_masks, label: str) -> list:
    """Datapath of ``pes`` PEs that add one product to a value whose (carry-save) bits are
    ``prev_masks`` (None: a carry-propagate value of ``acc_width`` bits; (0, 0): nothing).
    Data energy per useful MAC."""
    ab, wb, w = d.act_bits, d.weight_bits, d.acc_width
    items = []
    # The datapath of a PE switches only when its lane multiplies real operands: the zero
    # padding of a partial tile leaves it quiet, so its data energy is per useful MAC.
    Item = functools.partial(_Item, per="mac", macs=d.rows * d.cols)
    if not d.carry_save_accumulate:
        if d.mode == "mac":
            items.append(Item("mult", f"{label}: multipliers", pes, bits=pes * ab * wb,
                              io=pes * (ab + wb)))
        else:
            items.append(Item("xor2", f"{label}: conditional inverters", pes * (ab + 1)))
            if d.mode == "ternary":
                items.append(Item("and2", f"{label}: zero-weight gates", pes * (ab + 1)))
        if prev_masks != (0, 0) or d.mode != "mac":
            items.append(Item("adder", f"{label}: accumulator adders", pes, bits=pes * w))
        return items
    plan = d.csa_plan
    terms = list(d.csa_term_masks)
    if d.booth:
        nd = d.booth_digits
        items += [Item("xor2", f"{label}: Booth encoders", pes * nd * 2),
                  Item("and2", f"{label}: Booth encoders", pes * nd * 4),
                  Item("mux2", f"{label}: partial-product select (w or 2w)",
                       pes * len(terms) * (wb + 1)),
                  Item("xor2", f"{label}: partial-product invert", pes * len(terms) * (wb + 1)),
                  Item("and2", f"{label}: partial-product zero", pes * len(terms) * (wb + 1))]
    else:
        items.append(Item("xor2", f"{label}: conditional inverters", pes * (ab + 1)))
        if d.mode == "ternary":
            items.append(Item("and2", f"{label}: zero-weight gates", pes * (ab + 1)))
    full, half = _csa_cells([*terms, *prev_masks], plan, w)
    items.append(Item("csa", f"{label}: 3:2 compressor bits", pes * full))
    if half:
        items += [Item("xor2", f"{label}: half-adder sums", pes * half),
                  Item("and2", f"{label}: half-adder carries", pes * half)]
    return items


@bill_of_materials.register
def _(design: GridDesign) -> list:
    """Blocks of a grid engine as :mod:`shiftadd.hw.systolic_os` / ``systolic_ws`` build
    them: edge registers, skew and pass registers, PEs, drain or de-skew, carry-propagate
    adders at the edge (carry-save), control counters."""
    d = design
    R, C, W = d.rows, d.cols, d.acc_width
    ab, wb, cs = d.act_bits, d.weight_bits, d.carry_save_accumulate
    pes = R * C
    f = switching_factors(d)
    # Outputs leaving the array per cycle at full rate: a tile's R x C results per k_max
    # steps (output-stationary), C partial results per activation vector (weight-stationary).
    rate = pes / d.k_max if d.is_output_stationary else C

    def per_output(unit, part, count, bits=0.0):
        # Energy of the parts an output element passes on its way out (area, clock and
        # leakage are in the structural item beside it).
        return Item(unit, f"{part} (per output)", count, bits=bits, per="output", rate=rate,
                    toggle=f["result"], structural=False)

    items = [Item("dffe", "result register", C * W + 1, active=False),
             per_output("dffe", "result register", W)]
    if cs:
        items += [Item("adder", "carry-propagate adders at the array edge", C, bits=C * W,
                       active=False),
                  per_output("adder", "carry-propagate adders at the array edge", 1, bits=W)]
    if d.is_output_stationary:
        skew = d.skew_max
        items += [Item("dffe", "input register (step, valid, last)", R * ab + C * wb + 2),
                  Item("dffe", "step flags (valid, last) per skew", 2 * (skew + 1)),
                  Item("dffe", "tile-spacing counter", max(1, d.last_spacing.bit_length())),
                  Item("dffe", "drain phase", max(0, R - 1))]
        if d.skewed:
            items += [Item("dffe", "operand skew registers",
                           ab * R * (R - 1) // 2 + wb * C * (C - 1) // 2),
                      Item("dffe", "operand pass registers",
                           ab * R * (C - 1) + wb * (R - 1) * C)]
        if cs:
            acc = d.acc_masks
            bits = _popcount(acc[0]) + _popcount(acc[1])
            items += _pe_items(d, pes, acc, "PEs")
        else:
            bits = W
            items += _pe_items(d, pes, None, "PEs")
        # A result is loaded into the drain and shifted down its column: (R + 1) / 2
        # register writes and (R - 1) / 2 load-or-shift muxes on average.
        items += [Item("dffe", "PE accumulators", pes * bits, per="mac", macs=pes,
                       toggle=f["acc"]),
                  Item("and2", "PE accumulator restart", pes * bits, per="mac", macs=pes,
                       toggle=f["acc"]),
                  Item("dffe", "drain registers", pes * bits, active=False),
                  per_output("dffe", "drain registers", bits * (R + 1) / 2),
                  Item("mux2", "drain load or shift", (R - 1) * C * bits, active=False),
                  per_output("mux2", "drain load or shift", bits * (R - 1) / 2)]
        return items
    # weight-stationary
    items += [Item("dffe", "input register (vector, valid)", R * ab + 1),
              Item("dffe", "weight registers", pes * wb, active=False),
              Item("and2", "weight row decode", R * max(1, (R - 1).bit_length()),
                   active=False),
              Item("dffe", "activation skew registers", ab * R * (R - 1) // 2),
              Item("dffe", "activation pass registers", ab * R * (C - 1)),
              Item("dffe", "valid delay", R + C - 1),
              Item("dffe", "write-wait counter", max(1, (R - 1 + C).bit_length())),
              # Column c's results wait C - 1 - c cycles: (C - 1) / 2 writes on average.
              Item("dffe", "de-skew registers", W * C * (C - 1) // 2, active=False),
              per_output("dffe", "de-skew registers", W * (C - 1) / 2)]
    if cs:
        masks = d.psum_masks
        items += _pe_items(d, C, (0, 0), "top-row PEs")
        for i in range(1, R):
            items += _pe_items(d, C, masks[i - 1], f"row {i} PEs")
        bits = sum(_popcount(s) + _popcount(c) for s, c in masks)
        items.append(Item("dffe", "partial-sum registers (carry-save)", C * bits, per="mac",
                          macs=pes, toggle=f["psum"]))
    else:
        items += _pe_items(d, C, (0, 0), "top-row PEs")
        if R > 1:
            items += _pe_items(d, (R - 1) * C, None, "PEs")
        items.append(Item("dffe", "partial-sum registers", pes * W, per="mac", macs=pes,
                          toggle=f["psum"]))
    return items


@activity_profile.register
def _(design: GridDesign, data_activity: float):
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


@validation_gemm.register
def _(design: GridDesign) -> tuple[int, int, int]:
    # A few row blocks, one and a half column blocks and a short reduction (several K-tiles
    # for WS): the default's K of a whole k_max would not fit the harness memory.
    return 4 * design.rows + design.rows // 2, design.cols + design.cols // 2, \
        2 * design.rows + 3
