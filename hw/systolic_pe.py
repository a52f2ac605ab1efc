"""Processing elements of the grid engines, generic over the arithmetic policy.

One datapath (:func:`accumulate`) in one of two accumulator forms:

* carry-propagate: a ``W``-bit value, ``acc + term (+ carry-in)`` with one adder;
* carry-save (``carry_save_accumulate``, OPT1): a pair ``(sum, carry)`` of ``W``-bit rows,
  reduced with the new terms by a 3:2 compressor tree (:func:`shiftadd.hw.csa.reduce_bit_rows`,
  following :attr:`shiftadd.design.systolic.GridDesign.csa_plan`); the value is
  ``sum + carry`` modulo ``2**W`` and is resolved outside the PE.

The arrays build their PEs with :func:`os_pe` (accumulate in place, restart after a tile's
last step) and :func:`ws_pe` (add to the partial sum from above, register it for the PE
below) directly into their module, so no wire of the generated Verilog holds a constant or a
copy of another bit (a PE submodule's full-width ports would). :class:`AccumulatorPE` and
:class:`PartialSumPE` wrap the same builders as components with full-width ports, for block
tests that compare the registered carry-save pairs and the Booth digits with the golden
model.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Fragment, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..design.systolic import accumulator_masks, plan_csa
from ..workloads.digits import booth_digit_count
from ._util import validating
from .arith import PEArithmetic
from .csa import bit_row, extend, reduce_bit_rows, row_value, value_bits

__all__ = [
    "value_layout",
    "accumulate",
    "resolve",
    "os_pe",
    "ws_pe",
    "register_row",
    "row_mask",
    "spread",
    "gather",
    "AccumulatorPE",
    "PartialSumPE",
    "DrainingPE",
]


def value_layout(width: int, carry_save: bool):
    """Shape of an accumulator or partial sum as a port carries it."""
    if carry_save:
        return data.StructLayout({"sum": width, "carry": width})
    return unsigned(width)


def _heap(m: Module, arith: PEArithmetic, width: int, act, weight, name: str):
    """The policy's carry-save terms as bit rows, and its single bits."""
    rows, bits, digits = arith.csa_terms(m, act, weight, width, name)
    heap = [
        bit_row(
            m, row[0], width, row[1], name=f"{name}_pp{i}", sign=row[2] if len(row) > 2 else None
        )
        for i, row in enumerate(rows)
    ]
    return heap, bits, digits


def accumulate(
    m: Module,
    arith: PEArithmetic,
    carry_save: bool,
    width: int,
    act,
    weight,
    prev,
    name: str = "mac",
):
    """``prev + act * weight`` modulo ``2**width``, built into ``m``.

    ``prev`` is None (zero) or the previous value: carry-propagate, a value (extended by its
    signedness); carry-save, a pair of bit rows ``(sum, carry)``. Returns ``(total,
    digits)``: a named signal (carry-propagate; without ``prev`` just the term, at its own
    width), or a pair of bit rows; ``digits`` are the Booth digits when used.
    """
    if not carry_save:
        term, cin = arith.addend(m, act, weight, name)
        if prev is None and cin is None:
            total = Signal(
                term.shape() if len(term) <= width else unsigned(width), name=f"{name}_total"
            )
            m.d.comb += total.eq(term)
            return total, None
        total = Signal(width, name=f"{name}_total")
        t = extend(term, width)  # two's complement at W bits (or wrapped when narrower)
        if prev is None:
            m.d.comb += total.eq(t + cin)
        elif cin is None:
            m.d.comb += total.eq(extend(prev, width) + t)
        else:
            # Synthesis (alumacc) turns the 1-bit addend into the adder's carry-in: no
            # incrementer for the -a = ~a + 1 of a negative weight.
            m.d.comb += total.eq(extend(prev, width) + t + cin)
        return total, None
    heap, bits, digits = _heap(m, arith, width, act, weight, name)
    zero = [None] * width
    ps, pc = prev if prev is not None else (zero, zero)
    # The same plan as the golden model: the terms, then the previous sum and carry.
    plan = plan_csa(len(heap) + 2, len(bits))
    return reduce_bit_rows(m, heap + [ps, pc], bits, width, plan, name=f"{name}_csa"), digits


def resolve(m: Module, value, width: int, carry_save: bool, name: str = "cpa"):
    """The number an accumulator holds (``width`` bits): for a carry-save pair (a value of
    :func:`value_layout`, or a pair of bit rows), one carry-propagate adder."""
    if not carry_save:
        return value
    if isinstance(value, tuple):
        s, c = (row_value(bits) for bits in value)
    else:
        s, c = value.sum, value.carry
    out = Signal(width, name=name)
    m.d.comb += out.eq(s + c)
    return out


def register_row(m: Module, rows: list, en, name: str) -> list:
    """Registers (advancing with ``en``) for the distinct bits of some bit rows; returns the
    registered rows. A bit that appears more than once (sign extension, or the same wire in
    two rows) is registered once."""
    unique, index = [], {}
    for bits in rows:
        for b in bits:
            if b is not None and id(b) not in index:
                index[id(b)] = len(unique)
                unique.append(b)
    if not unique:
        return [[None] * len(bits) for bits in rows]
    reg = Signal(len(unique), name=name, reset_less=True)
    with m.If(en):
        m.d.sync += reg.eq(Cat(*unique))
    # One bit object per register bit, so compressors downstream see repeats as repeats.
    q = [reg[i] for i in range(len(unique))]
    return [[None if b is None else q[index[id(b)]] for b in bits] for bits in rows]


def _digit_values(m: Module, port, digits) -> None:
    for j, d in enumerate(digits):
        mag = Cat(d.one, d.two, Const(0, 1)).as_signed()  # 0, 1 or 2
        m.d.comb += port[j].eq(Mux(d.neg, -mag, mag))


def row_mask(bits: list) -> int:
    """Positions of a bit row that hold a bit (bit ``p`` set for ``bits[p]``)."""
    return sum(1 << p for p, b in enumerate(bits) if b is not None)


def spread(reg, mask: int, width: int) -> list:
    """A bit row from a register holding only the bits of ``mask`` (low to high)."""
    q = [reg[i] for i in range(len(reg))]
    out, i = [], 0
    for p in range(width):
        if mask >> p & 1:
            out.append(q[i])
            i += 1
        else:
            out.append(None)
    return out


def gather(bits: list, mask: int) -> Value:
    """The bits of a row at the positions of ``mask``, packed (what a register holds)."""
    picked = [bits[p] for p in range(len(bits)) if mask >> p & 1]
    if any(b is None for b in picked):
        raise ValueError("a bit the mask expects is absent from the row")
    return Cat(*picked)


def os_pe(
    m: Module,
    arith: PEArithmetic,
    carry_save: bool,
    width: int,
    act,
    weight,
    valid,
    last,
    en,
    name: str,
):
    """An output-stationary PE built into ``m``: while ``en & valid`` the accumulator takes
    ``acc + act * weight``, and restarts from 0 after a ``last`` step.

    Returns ``(total, acc, digits, masks)``: ``total`` (this cycle's accumulator plus
    product, for the drain) and ``acc`` (the registered accumulator): carry-propagate, a
    ``width``-bit value; carry-save, a pair of bit rows whose existing bits are ``masks``
    (:func:`shiftadd.design.systolic.accumulator_masks`; None for carry-propagate).
    """
    if not carry_save:
        acc = Signal(width, name=f"{name}_acc")
        total, digits = accumulate(m, arith, False, width, act, weight, acc, name=name)
        with m.If(en & valid):
            m.d.sync += acc.eq(Mux(last, 0, total))
        return total, acc, digits, None
    heap, bits, digits = _heap(m, arith, width, act, weight, name)
    plan = plan_csa(len(heap) + 2, len(bits))
    masks = accumulator_masks([row_mask(r) for r in heap], plan, width)
    regs = [
        Signal(bin(mask).count("1"), name=f"{name}_acc_{part}")
        for mask, part in zip(masks, ("s", "c"))
    ]
    acc = tuple(spread(reg, mask, width) for reg, mask in zip(regs, masks))
    total = reduce_bit_rows(m, heap + list(acc), bits, width, plan, name=f"{name}_csa")
    with m.If(en & valid):
        for reg, row, mask in zip(regs, total, masks):
            m.d.sync += reg.eq(Mux(last, 0, gather(row, mask)))
    return total, acc, digits, masks


def ws_pe(
    m: Module,
    arith: PEArithmetic,
    carry_save: bool,
    width: int,
    act,
    weight,
    psum_in,
    en,
    name: str,
):
    """A weight-stationary PE built into ``m``: registers ``psum_in + act * weight`` when
    ``en``. ``psum_in`` is None (top row), a value (carry-propagate) or a pair of bit rows
    (carry-save). Returns ``(psum_out, digits)`` in the same form."""
    total, digits = accumulate(m, arith, carry_save, width, act, weight, psum_in, name=name)
    if carry_save:
        return tuple(register_row(m, list(total), en, f"{name}_psum")), digits
    reg = Signal.like(total, name=f"{name}_psum", reset_less=True)
    with m.If(en):
        m.d.sync += reg.eq(total)
    return reg, digits


def _check_pe(arithmetic, width) -> None:
    """The parameter checks every PE component makes."""
    if not isinstance(arithmetic, PEArithmetic):
        raise TypeError(f"Arithmetic must be a PEArithmetic, not {arithmetic!r}")
    if not isinstance(width, int) or width < 2:
        raise TypeError(f"Accumulator width must be an integer of at least 2, not {width!r}")


class _PEBase(wiring.Component):
    """Checks and members shared by the PE components; ``members(layout)`` adds a PE's own."""

    def __init__(self, *, arithmetic, width, carry_save, members):
        with validating(self):
            _check_pe(arithmetic, width)
        self._arith, self._width, self._carry_save = arithmetic, width, bool(carry_save)
        self._booth = self._carry_save and arithmetic.description.multiplier
        ports = {
            "act": In(arithmetic.act_shape),
            "weight": In(arithmetic.weight_shape),
            "en": In(1),
            **members(value_layout(width, carry_save)),
        }
        if self._booth:
            n = booth_digit_count(arithmetic.act_shape.width, arithmetic.act_shape.signed)
            ports["digits"] = Out(data.ArrayLayout(signed(3), n))
        super().__init__(ports)

    @property
    def arithmetic(self) -> PEArithmetic:
        return self._arith

    @property
    def width(self) -> int:
        return self._width

    @property
    def carry_save(self) -> bool:
        return self._carry_save


class AccumulatorPE(_PEBase):
    """Output-stationary PE (:func:`os_pe`) as a component.

    Parameters
    ----------
    arithmetic : PEArithmetic
    width : int
        ``W``, bits of the accumulator (of each half in carry-save form).
    carry_save : bool
        Keep the accumulator as a carry-save pair (OPT1).

    Members
    -------
    act, weight : In
    valid, last, en : In(1)
        A step is taken when ``en & valid``; ``last`` ends the tile.
    total : Out(value layout)
        The accumulator plus this cycle's product (combinational).
    acc : Out(value layout)
        The registered accumulator (carry-save: the pair the golden model reproduces).
    digits : Out(ArrayLayout(signed(3), n)), with Booth partial products
        This cycle's Booth digits of ``act``.
    """

    def __init__(self, *, arithmetic: PEArithmetic, width: int, carry_save: bool):
        super().__init__(
            arithmetic=arithmetic,
            width=width,
            carry_save=carry_save,
            members=lambda layout: {
                "valid": In(1),
                "last": In(1),
                "total": Out(layout),
                "acc": Out(layout),
            },
        )

    def elaborate(self, platform):
        m = Module()
        total, acc, digits, _ = os_pe(
            m,
            self._arith,
            self._carry_save,
            self._width,
            self.act,
            self.weight,
            self.valid,
            self.last,
            self.en,
            "pe",
        )
        if self._carry_save:
            m.d.comb += [
                self.total.sum.eq(row_value(total[0])),
                self.total.carry.eq(row_value(total[1])),
                self.acc.sum.eq(row_value(acc[0])),
                self.acc.carry.eq(row_value(acc[1])),
            ]
        else:
            m.d.comb += [self.total.eq(total), self.acc.eq(acc)]
        if self._booth:
            _digit_values(m, self.digits, digits)
        return m


class PartialSumPE(_PEBase):
    """Weight-stationary PE (:func:`ws_pe`) as a component: ``psum_out <= psum_in + act *
    weight`` when ``en``.

    Members
    -------
    act, weight : In
    psum_in : In(value layout)
    en : In(1)
    psum_out : Out(value layout)
        Registered (carry-save: the pair the golden model reproduces).
    digits : Out, with Booth partial products
    """

    def __init__(self, *, arithmetic: PEArithmetic, width: int, carry_save: bool):
        super().__init__(
            arithmetic=arithmetic,
            width=width,
            carry_save=carry_save,
            members=lambda layout: {"psum_in": In(layout), "psum_out": Out(layout)},
        )

    def elaborate(self, platform):
        m = Module()
        w = self._width
        prev = (
            (value_bits(self.psum_in.sum, w), value_bits(self.psum_in.carry, w))
            if self._carry_save
            else self.psum_in
        )
        psum, digits = ws_pe(
            m, self._arith, self._carry_save, w, self.act, self.weight, prev, self.en, "pe"
        )
        if self._carry_save:
            m.d.comb += [
                self.psum_out.sum.eq(row_value(psum[0])),
                self.psum_out.carry.eq(row_value(psum[1])),
            ]
        else:
            m.d.comb += self.psum_out.eq(psum)
        if self._booth:
            _digit_values(m, self.digits, digits)
        return m


_MASKS: dict = {}


def _carry_save_masks(arith: PEArithmetic, width: int) -> tuple[int, int]:
    """The masks :func:`os_pe` finds for a carry-save PE of ``arith`` and ``width`` (from one
    PE built on probe signals, once per arithmetic and width)."""
    key = (type(arith), arith.description, width)
    if key not in _MASKS:
        probe = Module()
        *_, masks = os_pe(
            probe,
            arith,
            True,
            width,
            Signal(arith.act_shape),
            Signal(arith.weight_shape),
            Signal(),
            Signal(),
            Signal(),
            "probe",
        )
        Fragment.get(probe, None)  # elaborated, so not reported as an unused elaboratable
        _MASKS[key] = masks
    return _MASKS[key]


class DrainingPE(wiring.Component):
    """Output-stationary PE (:func:`os_pe`) with the ports the hierarchical form of an
    output-stationary array instantiates: ``total`` carries only the bits a drain register
    loads (carry-save: the bits of :attr:`masks`, sum then carry), so no port bit is a
    constant.

    Parameters
    ----------
    arithmetic : PEArithmetic
    width : int
        ``W``, bits of the accumulator (of each half in carry-save form).
    carry_save : bool
        Keep the accumulator as a carry-save pair (OPT1).

    Members
    -------
    act, weight : In
    valid, last, en : In(1)
        A step is taken when ``en & valid``; ``last`` ends the tile.
    total : Out(total_width)
        The accumulator plus this cycle's product, as the drain register holds it.
    """

    def __init__(self, *, arithmetic: PEArithmetic, width: int, carry_save: bool):
        with validating(self):
            _check_pe(arithmetic, width)
        self._arith, self._width, self._carry_save = arithmetic, width, bool(carry_save)
        self._masks = _carry_save_masks(arithmetic, width) if self._carry_save else None
        total_width = width if not carry_save else sum(bin(m).count("1") for m in self._masks)
        super().__init__(
            {
                "act": In(arithmetic.act_shape),
                "weight": In(arithmetic.weight_shape),
                "valid": In(1),
                "last": In(1),
                "en": In(1),
                "total": Out(total_width),
            }
        )

    @property
    def masks(self) -> tuple[int, int] | None:
        """Bits of the carry-save (sum, carry) pair that can be set; None for
        carry-propagate."""
        return self._masks

    def rows(self, total) -> tuple[list, list]:
        """The (sum, carry) bit rows of a carry-save ``total`` as the array reads them."""
        n_sum = bin(self._masks[0]).count("1")
        return (
            spread(total[:n_sum], self._masks[0], self._width),
            spread(total[n_sum:], self._masks[1], self._width),
        )

    def elaborate(self, platform):
        m = Module()
        total, _, _, masks = os_pe(
            m,
            self._arith,
            self._carry_save,
            self._width,
            self.act,
            self.weight,
            self.valid,
            self.last,
            self.en,
            "pe",
        )
        if self._carry_save:
            if tuple(masks) != tuple(self._masks):
                raise ValueError("the PE's carry-save masks differ from its probe's")
            m.d.comb += self.total.eq(Cat(*(gather(row, mk) for row, mk in zip(total, masks))))
        else:
            m.d.comb += self.total.eq(total)
        return m
