"""Carry-save reduction: 3:2 compressors and trees of them.

A 3:2 compressor (a row of full adders without carry propagation) turns three ``W``-bit rows
into a sum ``x ^ y ^ z`` and a carry ``maj(x, y, z) << 1`` with the same total modulo
``2**W``. Bit 0 of every carry is free, so a tree can absorb one single-bit addend per
compressor there (the ``+1`` of a two's complement negation ``-a = ~a + 1``) at no cost.

The tree follows :func:`shiftadd.design.systolic.plan_csa`, which the golden model
(:func:`shiftadd.models.systolic.csa_reduce`) follows too: the carry-save pairs agree bit for
bit, so a mismatch points at the compressor that differs.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..design.carry_save import carry_mask
from ..design.systolic import plan_csa
from ._util import checked_register_after, validating

__all__ = [
    "extend",
    "compress_3_2",
    "reduce_carry_save",
    "CarrySaveTree",
    "bit_row",
    "value_bits",
    "row_value",
    "reduce_bit_rows",
    "masked",
    "runs_value",
    "compress_runs",
    "reduce_rows",
    "CarrySaveReduction",
    "CarrySaveAccumulator",
]


def extend(value: Value, width: int) -> Value:
    """``value`` as exactly ``width`` bits, by an explicit sign (or zero) extension or a
    truncation: an expression, so no named wire is left with duplicated bits."""
    n = len(value)
    if n >= width:
        return value.as_unsigned()[:width]
    if value.shape().signed:
        return Cat(value, value.as_unsigned()[-1].replicate(width - n))
    return Cat(value, Const(0, width - n))


def compress_3_2(
    m: Module,
    x: Value,
    y: Value,
    z: Value,
    width: int,
    inject: Value | None = None,
    name: str = "csa",
) -> tuple[Value, Value]:
    """One 3:2 compressor over ``width``-bit rows (narrower operands are extended by their
    signedness).

    Returns ``(sum, carry)`` expressions with ``sum + carry == x + y + z (+ inject)``
    modulo ``2**width``; ``inject`` (one bit) occupies the carry's free bit 0.
    """
    x, y, z = (extend(v, width) for v in (x, y, z))
    # The carry out of the top bit leaves the word: its majority is never built.
    xm, ym, zm = x[: width - 1], y[: width - 1], z[: width - 1]
    carry = Cat(inject if inject is not None else Const(0, 1), (xm & ym) | (xm & zm) | (ym & zm))
    return x ^ y ^ z, carry


def reduce_carry_save(
    m: Module, rows: list, bits: list, width: int, plan=None, name: str = "csa"
) -> tuple[Value, Value]:
    """Reduce ``rows`` (each ``width`` bits or narrower, extended by signedness) and single
    ``bits`` of weight 1 to a carry-save pair, following ``plan`` (default
    :func:`shiftadd.design.systolic.plan_csa`): bit ``i`` goes to the free bit 0 of the carry
    of step ``plan.inject_step(i)``. Returns ``(sum, carry)`` expressions."""
    plan = plan_csa(len(rows), len(bits)) if plan is None else plan
    work = list(rows)
    inject = {plan.inject_step(i): bit for i, bit in enumerate(bits)}
    for i, (x, y, z) in enumerate(plan.steps):
        work += compress_3_2(m, work[x], work[y], work[z], width, inject.get(i), name=f"{name}{i}")
    return work[-2], work[-1]


class CarrySaveTree(wiring.Component):
    """Reduce ``rows`` ``width``-bit rows (and ``injections`` single bits of weight 1) to a
    carry-save pair, with ``rows - 2`` compressors (:func:`reduce_carry_save`).

    Parameters
    ----------
    width : int
        Bits of every row; the arithmetic is modulo ``2**width``.
    rows : int
        Rows to reduce, at least 3.
    injections : int
        Bits added at weight 1, each in the free bit 0 of one of the last carries.

    Members
    -------
    rows : In(ArrayLayout(width, rows))
    inject : In(injections), present when ``injections > 0``
    sum, carry : Out(width)
        ``sum + carry == sum(rows) + sum(inject bits)`` modulo ``2**width``.
    """

    def __init__(self, *, width: int, rows: int, injections: int = 0):
        with validating(self):
            if not isinstance(width, int) or width < 2:
                raise TypeError(f"Width must be an integer of at least 2, not {width!r}")
            if not isinstance(rows, int) or rows < 3:
                raise TypeError(f"Row count must be an integer of at least 3, not {rows!r}")
            self._plan = plan_csa(rows, injections)
        self._width = width
        members = {
            "rows": In(data.ArrayLayout(width, rows)),
            "sum": Out(width),
            "carry": Out(width),
        }
        if injections:
            members["inject"] = In(injections)
        super().__init__(members)

    @property
    def width(self) -> int:
        return self._width

    @property
    def plan(self):
        return self._plan

    def elaborate(self, platform):
        m = Module()
        rows = [self.rows[i] for i in range(self._plan.rows)]
        bits = [self.inject[i] for i in range(self._plan.injections)]
        s, c = reduce_carry_save(m, rows, bits, self._width, self._plan)
        m.d.comb += [self.sum.eq(s), self.carry.eq(c)]
        return m


# -- Carry-save rows as lists of bits ----------------------------------------------------------
# A *bit row* is a list of ``width`` one-bit values, None where the bit is always 0. Sign
# extension repeats the same bit object, so a compressor meets the same triple at every
# position above its operands and builds (and names) it once; a position with one present
# bit passes it on unchanged, two make a half adder, three a full adder. Every named wire
# thus holds only bits that are new logic, none constant or duplicated, which keeps the
# generated Verilog clean under ``verilator -Wall`` after Yosys' optimizations.


def bit_row(
    m: Module,
    value: Value,
    width: int,
    shift: int = 0,
    name: str = "row",
    sign: Value | None = None,
) -> list:
    """The bits of ``value << shift`` as a ``width``-bit row (two's complement extension
    by ``value``'s signedness, or by the one-bit ``sign`` above an unsigned ``value``;
    truncation above ``width``). ``value`` is named once, at the width the row uses; the
    ``sign`` object itself fills the extension, so other users of it share the wire."""
    n = min(len(value), width - shift)
    if n <= 0:
        return [None] * width
    sig = Signal(signed(n) if value.shape().signed and n == len(value) else n, name=name)
    m.d.comb += sig.eq(value)
    bits = [sig[i] for i in range(n)]
    if n < width - shift:
        if sign is not None:
            bits += [sign] * (width - shift - n)
        elif value.shape().signed:
            bits += [bits[-1]] * (width - shift - n)
        else:
            bits += [None] * (width - shift - n)
    return [None] * shift + bits


def value_bits(value: Value, width: int) -> list:
    """The bits of an existing named ``width``-bit value (a register) as a row."""
    return [value[i] for i in range(width)]


def row_value(bits: list) -> Value:
    """A row as one value (zeros where bits are absent)."""
    return Cat(*[Const(0, 1) if b is None else b for b in bits])


def _compress_bits(
    m: Module, x: list, y: list, z: list, width: int, inject, name: str
) -> tuple[list, list]:
    rows = (x, y, z)
    sums, carries = [None] * width, [None] * width
    memo = {}  # identical present bits -> the bit position that built them
    runs = []  # [pattern, first position, positions...]: built as one word each
    for p in range(width):
        pattern = tuple(r for r in range(3) if rows[r][p] is not None)
        if len(pattern) < 2:
            sums[p] = rows[pattern[0]][p] if pattern else None
            continue
        key = tuple(sorted(id(rows[r][p]) for r in pattern))
        if key in memo:  # the same bits again (sign extension): the same sum and carry
            sums[p] = ("s", memo[key])
            if p + 1 < width:
                carries[p + 1] = ("c", memo[key])
            continue
        memo[key] = p
        if runs and runs[-1][0] == pattern and runs[-1][-1] == p - 1:
            runs[-1].append(p)
        else:
            runs.append([pattern, p])
    built = [p for run in runs for p in run[1:]]
    if not built:
        carries[0] = inject
        return sums, carries
    s_vec = Signal(len(built), name=f"{name}_s")
    with_carry = [p for p in built if p + 1 < width]  # the top bit's carry leaves the word
    c_vec = Signal(len(with_carry), name=f"{name}_c") if with_carry else None
    s_at = {p: i for i, p in enumerate(built)}
    c_at = {p: i for i, p in enumerate(with_carry)}
    s_bits = [s_vec[i] for i in range(len(built))]
    c_bits = [c_vec[i] for i in range(len(with_carry))] if c_vec is not None else []
    for pattern, *positions in runs:
        words = [Cat(*[rows[r][p] for p in positions]) for r in pattern]
        lo = s_at[positions[0]]
        if len(words) == 3:
            a, b, c = words
            s_expr, c_expr = a ^ b ^ c, (a & b) | (a & c) | (b & c)
        else:
            a, b = words
            s_expr, c_expr = a ^ b, a & b
        m.d.comb += s_vec[lo : lo + len(positions)].eq(s_expr)
        keep = [i for i, p in enumerate(positions) if p in c_at]
        if keep:
            clo = c_at[positions[keep[0]]]
            m.d.comb += c_vec[clo : clo + len(keep)].eq(c_expr[: len(keep)])
    for p in range(width):
        if isinstance(sums[p], tuple):
            sums[p] = s_bits[s_at[sums[p][1]]]
        elif p in s_at:
            sums[p] = s_bits[s_at[p]]
    for p in range(width - 1):
        src = carries[p + 1][1] if isinstance(carries[p + 1], tuple) else (p if p in c_at else None)
        carries[p + 1] = c_bits[c_at[src]] if src is not None and src in c_at else None
    carries[0] = inject
    return sums, carries


def reduce_bit_rows(
    m: Module, rows: list, bits: list, width: int, plan=None, name: str = "csa"
) -> tuple[list, list]:
    """Reduce bit rows (:func:`bit_row`) and single ``bits`` of weight 1 to a carry-save
    pair of bit rows, following ``plan`` (default :func:`shiftadd.design.systolic.plan_csa`;
    bit ``i`` goes to the free bit 0 of the carry of step ``plan.inject_step(i)``). Bit for
    bit the same as :func:`reduce_carry_save` on the rows' values."""
    plan = plan_csa(len(rows), len(bits)) if plan is None else plan
    work = list(rows)
    inject = {plan.inject_step(i): bit for i, bit in enumerate(bits)}
    for i, (x, y, z) in enumerate(plan.steps):
        work += _compress_bits(
            m, work[x], work[y], work[z], width, inject.get(i), name=f"{name}{i}"
        )
    return work[-2], work[-1]


# -- Reductions of sparse rows (bit heaps), optionally pipelined --------------------------------
# A row is a list of runs ``(lo, hi, value)``: bits ``lo..hi-1`` of the row are ``value``,
# every other bit is 0. Compressors are built per stretch of positions with the same rows
# present (three: full adders, two: half adders, one: a wire), so no cell ever sees a
# constant input and every bit built is used, as the plan counts it.


def _runs(mask: int):
    """``(start, stop)`` of each run of consecutive ones in ``mask``."""
    i = 0
    while mask >> i:
        if (mask >> i) & 1:
            j = i
            while (mask >> j) & 1:
                j += 1
            yield i, j
            i = j
        else:
            i += 1


def masked(value: Value, mask: int, width: int) -> list:
    """The runs of ``value`` that ``mask`` keeps (bits outside it are taken as 0)."""
    return [(lo, hi, value[lo:hi]) for lo, hi in _runs(mask & ((1 << width) - 1))]


def runs_value(runs, width: int) -> Value:
    """A ``width``-bit value from runs, zero between them."""
    parts, at = [], 0
    for lo, hi, value in sorted(runs, key=lambda r: r[0]):
        if lo > at:
            parts.append(Const(0, lo - at))
        parts.append(value)
        at = hi
    if at < width:
        parts.append(Const(0, width - at))
    return Cat(*parts)


def _coalesce(runs) -> list:
    """Join touching runs (a concatenation, no logic), so each run ends at a zero bit and a
    stretch of positions with one pattern of present rows lies inside one run of each."""
    out = []
    for lo, hi, value in sorted(runs, key=lambda r: r[0]):
        if out and out[-1][1] == lo:
            plo, _, pvalue = out.pop()
            out.append((plo, hi, Cat(pvalue, value)))
        else:
            out.append((lo, hi, value))
    return out


def _slice(runs, lo: int, hi: int) -> Value | None:
    """Bits ``lo..hi-1`` of a row, which must lie inside one run."""
    for a, b, value in runs:
        if a <= lo and hi <= b:
            return value[lo - a : hi - a]
    return None


def compress_runs(m: Module, x, y, z, width: int, name: str = "csa") -> tuple[list, list]:
    """One 3:2 compressor over rows given as runs, built into ``m``; returns the sum and
    carry rows. Computed bits get named wires of exactly their width (every bit used);
    a position with one row present passes its bits through as a slice, not a new wire."""
    rows = (x, y, z)
    cuts = sorted({0, width, width - 1} | {p for r in rows for a, b, _ in r for p in (a, b)})
    s_runs, c_runs = [], []
    seg = []  # consecutive elementary segments with one pattern of present rows

    def present(lo, hi):
        return tuple(i for i, r in enumerate(rows) if any(a <= lo and hi <= b for a, b, _ in r))

    def flush():
        if not seg:
            return
        lo, hi, pattern = seg[0][0], seg[-1][1], seg[0][2]
        ins = [_slice(rows[i], lo, hi) for i in pattern]
        top = min(hi, width - 1)  # the carry out of the frame's top bit is dropped
        if len(ins) == 1:
            s_runs.append((lo, hi, ins[0]))
            seg.clear()
            return
        total = Signal(hi - lo, name=f"{name}_s{lo}")
        m.d.comb += total.eq(ins[0] ^ ins[1] ^ ins[2] if len(ins) == 3 else ins[0] ^ ins[1])
        s_runs.append((lo, hi, total))
        if top > lo:
            a, b = (v[: top - lo] for v in ins[:2])
            maj = Signal(top - lo, name=f"{name}_c{lo + 1}")
            if len(ins) == 3:
                c = ins[2][: top - lo]
                m.d.comb += maj.eq((a & b) | (a & c) | (b & c))
            else:
                m.d.comb += maj.eq(a & b)
            c_runs.append((lo + 1, top + 1, maj))
        seg.clear()

    for lo, hi in zip(cuts, cuts[1:]):
        if hi > width:
            break
        pattern = present(lo, hi)
        if seg and (pattern != seg[-1][2] or lo != seg[-1][1]):
            flush()
        if pattern:
            seg.append((lo, hi, pattern))
    flush()
    return _coalesce(s_runs), _coalesce(c_runs)


def reduce_rows(
    m: Module, leaves: list, plan, *, register_after=(), en: Value | None = None, name: str = "csa"
) -> list:
    """Build ``plan`` (a :class:`shiftadd.design.carry_save.CsaPlan`) into ``m`` on leaf
    rows given as runs; registers (advancing with ``en``) hold only the present bits of the
    rows after each listed level (0: the leaves). Returns the root rows as runs."""
    w = plan.width
    rows = list(leaves)
    for level in range(plan.depth + 1):
        if level:
            below, rows = rows, []
            for op in plan.ops[level - 1]:
                if len(op) == 3:
                    s_row, c_row = compress_runs(
                        m, *(below[i] for i in op), w, name=f"{name}_l{level}_r{len(rows)}"
                    )
                    rows.append(s_row)
                    # The plan keeps a group's carry only when it can be nonzero.
                    if carry_mask(*(plan.rows[level - 1][i] for i in op), w):
                        rows.append(c_row)
                else:
                    rows.extend(below[i] for i in op)
        if level in register_after:
            staged = []
            for i, row in enumerate(rows):
                regs = []
                for lo, hi, value in row:
                    reg = Signal(hi - lo, name=f"{name}_r{level}_row{i}_{lo}", reset_less=True)
                    with m.If(en):
                        m.d.sync += reg.eq(value)
                    regs.append((lo, hi, reg))
                staged.append(_coalesce(regs))
            rows = staged
    return rows


class CarrySaveReduction(wiring.Component):
    """Reduce rows with known nonzero bits to a carry-save pair, as a
    :class:`shiftadd.design.carry_save.CsaPlan` says (see :func:`reduce_rows`).

    Parameters
    ----------
    plan : CsaPlan
        Rows, masks and levels (Wallace, possibly in phases).
    register_after : tuple of int
        Levels followed by a register: 0 registers the leaves, ``l >= 1`` the rows after
        level ``l``. Registers advance when ``en`` is high.

    Members
    -------
    rows : In(ArrayLayout(width, len(plan.leaves)))
        Leaf rows; bits outside each leaf's mask are ignored.
    en : In(1)
    sum, carry : Out(width)
        ``sum + carry == sum(rows)`` modulo ``2**width``, ``len(register_after)`` cycles
        after the rows. With one row left, ``carry`` is 0.
    """

    def __init__(self, *, plan, register_after: tuple[int, ...] = ()):
        with validating(self):
            register_after = checked_register_after(register_after, plan.depth, "levels")
        self._plan = plan
        self._register_after = register_after
        super().__init__(
            {
                "rows": In(data.ArrayLayout(plan.width, len(plan.leaves))),
                "en": In(1),
                "sum": Out(plan.width),
                "carry": Out(plan.width),
            }
        )

    @property
    def plan(self):
        return self._plan

    @property
    def register_after(self) -> tuple[int, ...]:
        return self._register_after

    @property
    def latency(self) -> int:
        return len(self._register_after)

    def elaborate(self, platform):
        m = Module()
        plan, w = self._plan, self._plan.width
        leaves = [masked(self.rows[i], mask, w) for i, mask in enumerate(plan.leaves)]
        root = reduce_rows(m, leaves, plan, register_after=self._register_after, en=self.en)
        m.d.comb += self.sum.eq(runs_value(root[0], w))
        if len(root) > 1:
            m.d.comb += self.carry.eq(runs_value(root[1], w))
        return m


class CarrySaveAccumulator(wiring.Component):
    """A carry-save accumulator: ``(sum, carry)`` registers updated through one 3:2
    compressor, so no carry propagates in the loop.

    Each cycle with ``en``: if ``start``, the pair becomes ``(addend, inject)`` (or zero when
    ``valid`` is low), else, if ``valid``, it becomes the compression of ``sum``, ``carry``
    and ``addend``, with ``inject`` (the +1 of a negated addend) in the carry's free bit 0.
    ``sum + carry`` equals the accumulated total modulo ``2**width``.

    Members
    -------
    addend : In(width)
    inject, valid, start, en : In(1)
    sum, carry : Out(width)
    """

    def __init__(self, *, width: int):
        with validating(self):
            if not isinstance(width, int) or width < 2:
                raise TypeError(f"Width must be an integer of at least 2, not {width!r}")
        self._width = width
        super().__init__(
            {
                "addend": In(width),
                "inject": In(1),
                "valid": In(1),
                "start": In(1),
                "en": In(1),
                "sum": Out(width),
                "carry": Out(width),
            }
        )

    @property
    def width(self) -> int:
        return self._width

    def elaborate(self, platform):
        m = Module()
        w = self._width
        acc_s = Signal(w, reset_less=True)
        acc_c = Signal(w, reset_less=True)
        # Starting clears the pair on the compressor's inputs; an invalid cycle adds zero.
        # (Gating instead of a mux with constant inputs: no half-constant cells.)
        keep = (~self.start).replicate(w)
        addend = Signal(w, name="addend_gated")
        m.d.comb += addend.eq(self.addend & self.valid.replicate(w))
        s_in = Signal(w, name="sum_in")
        c_in = Signal(w, name="carry_in")
        m.d.comb += [s_in.eq(acc_s & keep), c_in.eq(acc_c & keep)]
        # The carry's free bit 0 takes the inject bit; only the bits below the top get a
        # majority (the top carry leaves the word).
        s_runs, c_runs = compress_runs(
            m, [(0, w, s_in)], [(0, w, c_in)], [(0, w, addend)], w, name="acc"
        )
        with m.If(self.en & (self.start | self.valid)):
            m.d.sync += [
                acc_s.eq(runs_value(s_runs, w)),
                acc_c.eq(Cat(self.inject & self.valid, runs_value(c_runs, w)[1:])),
            ]
        m.d.comb += [self.sum.eq(acc_s), self.carry.eq(acc_c)]
        return m
