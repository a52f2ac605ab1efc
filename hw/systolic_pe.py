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
model. The hierarchical forms (docs/hierarchy.md) instantiate :class:`DrainingPE` (output
stationary) and :class:`ChainPE` (weight-stationary array, cube: :func:`chain_unit`,
:func:`hop_register`), whose ports carry only the bits the flat array's registers hold.
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
    "paper_os_pe",
    "ws_pe",
    "register_bits",
    "unpack_rows",
    "register_row",
    "row_mask",
    "spread",
    "gather",
    "AccumulatorPE",
    "PartialSumPE",
    "DrainingPE",
    "ChainPE",
    "chain_unit",
    "hop_register",
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


def _csa_accumulator(m: Module, arith: PEArithmetic, width: int, act, weight, name: str):
    """A carry-save accumulating PE's terms and accumulator registers: ``(heap, bits,
    digits, plan, masks, regs, acc)``, the term rows and their bits (:func:`_heap`), the
    3:2 reduction plan of the terms plus the fed-back (sum, carry) pair, the pair's bit
    masks, its registers (only the bits that can be set) and the pair spread to ``width``."""
    heap, bits, digits = _heap(m, arith, width, act, weight, name)
    plan = plan_csa(len(heap) + 2, len(bits))
    masks = accumulator_masks([row_mask(r) for r in heap], plan, width)
    regs = [
        Signal(bin(mask).count("1"), name=f"{name}_acc_{part}")
        for mask, part in zip(masks, ("s", "c"))
    ]
    acc = tuple(spread(reg, mask, width) for reg, mask in zip(regs, masks))
    return heap, bits, digits, plan, masks, regs, acc


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


def _distinct_bits(rows: list) -> tuple[list, tuple]:
    """The distinct bits of some bit rows in order of first appearance, and each row as
    positions in that list (None where the row has no bit)."""
    unique, position = [], {}
    for bits in rows:
        for b in bits:
            if b is not None and id(b) not in position:
                position[id(b)] = len(unique)
                unique.append(b)
    index = tuple(tuple(None if b is None else position[id(b)] for b in bits) for bits in rows)
    return unique, index


def register_bits(m: Module, rows: list, en, name: str) -> tuple[Signal | None, tuple]:
    """Registers (advancing with ``en``) for the distinct bits of some bit rows.

    A bit that appears more than once (sign extension, or the same wire in two rows) is
    registered once.

    Parameters
    ----------
    m : Module
        Where the register is built.
    rows : list of list
        Bit rows (a bit, or None where the row has none).
    en : Value
        The register's enable.
    name : str
        The register's name.

    Returns
    -------
    reg : Signal or None
        The register, the distinct bits in order of first appearance; None when the rows
        hold no bit.
    index : tuple of tuple
        Each row as the positions of its bits in ``reg`` (None where the row has no bit).
    """
    unique, index = _distinct_bits(rows)
    if not unique:
        return None, index
    reg = Signal(len(unique), name=name, reset_less=True)
    with m.If(en):
        m.d.sync += reg.eq(Cat(*unique))
    return reg, index


def unpack_rows(value, index) -> list:
    """Bit rows from a value holding their distinct bits, ``index`` as
    :func:`register_bits` returns it.

    One bit object per bit of ``value``, so compressors downstream see repeats as repeats.

    Parameters
    ----------
    value : Value or None
        The distinct bits (None when there are none).
    index : tuple of tuple
        Each row as positions in ``value`` (None where the row has no bit).

    Returns
    -------
    list of list
        The rows.
    """
    q = [] if value is None else [value[i] for i in range(len(value))]
    return [[None if i is None else q[i] for i in row] for row in index]


def register_row(m: Module, rows: list, en, name: str) -> list:
    """Registers (advancing with ``en``) for the distinct bits of some bit rows
    (:func:`register_bits`); returns the registered rows."""
    return unpack_rows(*register_bits(m, rows, en, name))


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
    state = _csa_accumulator(m, arith, width, act, weight, name)
    heap, bits, digits, plan, masks, regs, acc = state
    total = reduce_bit_rows(m, heap + list(acc), bits, width, plan, name=f"{name}_csa")
    with m.If(en & valid):
        for reg, row, mask in zip(regs, total, masks):
            m.d.sync += reg.eq(Mux(last, 0, gather(row, mask)))
    return total, acc, digits, masks


def paper_os_pe(
    m: Module, arith: PEArithmetic, carry_save: bool, width: int, act, weight, first, name: str
):
    """An output-stationary PE as the paper's public RTL builds it, into ``m``: the
    accumulator loads every cycle (no enable), ``acc + act * weight``, or the product
    alone on a tile's ``first`` step. Idle cycles must bring zero operands (their product
    is 0, so the value holds).

    Returns ``(acc, masks)``: the registered accumulator (carry-propagate, a ``width``-bit
    signal; carry-save, a pair of bit rows whose existing bits are ``masks``, None for
    carry-propagate).
    """
    keep = Signal(name=f"{name}_keep")
    m.d.comb += keep.eq(~first)
    if not carry_save:
        acc = Signal(width, name=f"{name}_acc")
        prev = Signal(width, name=f"{name}_prev")
        # Restarting is an AND on the fed-back value, not a mux on the register input.
        m.d.comb += prev.eq(acc & keep.replicate(width))
        total, _ = accumulate(m, arith, False, width, act, weight, prev, name=name)
        m.d.sync += acc.eq(total)
        return acc, None
    heap, bits, _, plan, masks, regs, acc = _csa_accumulator(m, arith, width, act, weight, name)
    fed = [[None if b is None else b & keep for b in row] for row in acc]
    total = reduce_bit_rows(m, heap + fed, bits, width, plan, name=f"{name}_csa")
    for reg, row, mask in zip(regs, total, masks):
        m.d.sync += reg.eq(gather(row, mask))
    return acc, masks


def _ws_pe(m: Module, arith, carry_save: bool, width: int, act, weight, psum_in, en, name: str):
    """:func:`ws_pe`'s hardware; returns ``(reg, index, digits, total)``: the partial-sum
    register, its bits' places in the carry-save pair (:func:`register_bits`; None for
    carry-propagate), the Booth digits and what the register loads."""
    total, digits = accumulate(m, arith, carry_save, width, act, weight, psum_in, name=name)
    if carry_save:
        reg, index = register_bits(m, list(total), en, f"{name}_psum")
        return reg, index, digits, total
    reg = Signal.like(total, name=f"{name}_psum", reset_less=True)
    with m.If(en):
        m.d.sync += reg.eq(total)
    return reg, None, digits, total


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
    reg, index, digits, _ = _ws_pe(m, arith, carry_save, width, act, weight, psum_in, en, name)
    if carry_save:
        return tuple(unpack_rows(reg, index)), digits
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


_CHAIN_FORMS: dict = {}


def _form_shape(form, carry_save: bool):
    """The port shape of a partial sum of ``form`` (see :attr:`ChainPE.psum_form`)."""
    if carry_save:
        return unsigned(1 + max(i for row in form for i in row if i is not None))
    width, is_signed = form
    return signed(width) if is_signed else unsigned(width)


def _form_of(reg, index, carry_save: bool):
    """The form of a partial-sum register :func:`_ws_pe` built."""
    if reg is None:
        raise ValueError("the PE registers no partial-sum bit")
    return index if carry_save else (len(reg), reg.shape().signed)


def _operand_copies(total, operands: dict) -> dict:
    """Bits of a carry-save partial-sum register that are plain operand bits: ``{operand
    name: {operand bit: register bit}}``.

    Flat synthesis merges such a register bit with the operand's hop register (same data,
    same enable); a unit cannot, so the array takes the hop register's bit from the unit
    instead (:func:`hop_register`). Amaranth has no public structural comparison of values;
    their printed forms are compared (both sides are slices of the same probe signal)."""
    unique, _ = _distinct_bits(list(total))
    printed = {repr(b): r for r, b in enumerate(unique)}
    copies = {}
    for name, value in operands.items():
        found = {}
        for i in range(len(value)):
            for bit in (value[i], value.as_unsigned()[i], value.as_signed()[i]):
                if repr(bit) in printed:
                    found[i] = printed[repr(bit)]
                    break
        copies[name] = found
    return copies


def _chain_form(arith: PEArithmetic, width: int, carry_save: bool, form_in):
    """The form of the partial sum a :class:`ChainPE` passes on and the operand bits its
    register holds as they are (:func:`_operand_copies`), from one PE built on probe signals
    (once per arithmetic, width and incoming form)."""
    key = (type(arith), arith.description, width, carry_save, form_in)
    if key not in _CHAIN_FORMS:
        probe = Module()
        prev = None
        if form_in is not None:
            port = Signal(_form_shape(form_in, carry_save))
            prev = tuple(unpack_rows(port, form_in)) if carry_save else port
        act = Signal(arith.act_shape, name="probe_act")
        weight = Signal(arith.weight_shape, name="probe_weight")
        reg, index, _, total = _ws_pe(
            probe, arith, carry_save, width, act, weight, prev, Signal(), "probe"
        )
        Fragment.get(probe, None)  # elaborated, so not reported as an unused elaboratable
        copies = (
            _operand_copies(total, {"act": act, "weight": weight})
            if carry_save
            else {"act": {}, "weight": {}}
        )
        _CHAIN_FORMS[key] = (_form_of(reg, index, carry_save), copies)
    return _CHAIN_FORMS[key]


class ChainPE(wiring.Component):
    """Weight-stationary PE (:func:`ws_pe`) with the ports the hierarchical forms of a
    weight-stationary array and of a cube instantiate, one unit per PE of a partial-sum
    chain: ``psum_in`` and ``psum_out`` carry exactly the bits of the partial-sum registers
    the flat array builds (carry-save: each distinct bit once), so no port bit is a constant
    or a copy of another, and the widths and registers are the flat array's.

    Parameters
    ----------
    arithmetic : PEArithmetic
    width : int
        ``W``, bits of the partial sums (of each half in carry-save form).
    carry_save : bool
        Pass the partial sums on as carry-save pairs (OPT1).
    psum_in : tuple or None
        :attr:`psum_form` of the PE before this one in the chain; None for the first PE
        (which has no ``psum_in`` port).

    Members
    -------
    act, weight : In
    en : In(1)
    psum_in : In, absent on the first PE of a chain
        The previous PE's ``psum_out``.
    psum_out : Out
        The registered ``psum_in + act * weight`` (carry-save: the register bits of the pair,
        placed by :attr:`psum_form`).
    """

    def __init__(
        self, *, arithmetic: PEArithmetic, width: int, carry_save: bool, psum_in=None
    ) -> None:
        with validating(self):
            _check_pe(arithmetic, width)
        self._arith, self._width, self._carry_save = arithmetic, width, bool(carry_save)
        self._form_in = psum_in
        self._form, self._copies = _chain_form(arithmetic, width, self._carry_save, psum_in)
        ports = {
            "act": In(arithmetic.act_shape),
            "weight": In(arithmetic.weight_shape),
            "en": In(1),
        }
        if psum_in is not None:
            ports["psum_in"] = In(_form_shape(psum_in, self._carry_save))
        ports["psum_out"] = Out(_form_shape(self._form, self._carry_save))
        super().__init__(ports)

    @property
    def psum_form(self):
        """The partial sum ``psum_out`` carries: carry-propagate, ``(width, signed)``;
        carry-save, the (sum, carry) rows as positions in ``psum_out`` (None where a row has
        no bit), as :func:`register_bits` returns them."""
        return self._form

    @property
    def copies(self) -> dict:
        """Bits of ``psum_out`` that hold an operand bit as it came in (registered with the
        same enable as the operands' hop registers): ``{"act": {operand bit: psum_out
        bit}, "weight": {...}}``."""
        return self._copies

    def psum(self):
        """``psum_out`` as :func:`ws_pe` returns the partial sum: a value (carry-propagate)
        or a pair of bit rows (carry-save)."""
        if not self._carry_save:
            return self.psum_out
        return tuple(unpack_rows(self.psum_out, self._form))

    def elaborate(self, platform):
        m = Module()
        prev = None
        if self._form_in is not None:
            prev = (
                tuple(unpack_rows(self.psum_in, self._form_in))
                if self._carry_save
                else self.psum_in
            )
        reg, index, _, _ = _ws_pe(
            m,
            self._arith,
            self._carry_save,
            self._width,
            self.act,
            self.weight,
            prev,
            self.en,
            "pe",
        )
        if _form_of(reg, index, self._carry_save) != self._form:
            raise ValueError("the PE's partial sum differs from its probe's")
        m.d.comb += self.psum_out.eq(reg)
        return m


def chain_unit(
    m: Module,
    arith: PEArithmetic,
    carry_save: bool,
    width: int,
    act,
    weight,
    above,
    en,
    name: str,
) -> ChainPE:
    """A :class:`ChainPE` added to ``m`` as submodule ``name`` and wired: the hierarchical
    counterpart of :func:`ws_pe`.

    Parameters
    ----------
    m : Module
        The array's module.
    arith : PEArithmetic
    carry_save : bool
    width : int
        As :class:`ChainPE`.
    act, weight, en : Value
        The PE's operands and enable.
    above : ChainPE or None
        The previous PE of the chain (its ``psum_out`` feeds this one); None for the first.
    name : str
        Submodule name (the array lists it in ``hierarchy_units``).

    Returns
    -------
    ChainPE
        The PE; :meth:`ChainPE.psum` is its partial sum.
    """
    pe = ChainPE(
        arithmetic=arith,
        width=width,
        carry_save=carry_save,
        psum_in=None if above is None else above.psum_form,
    )
    m.submodules[name] = pe
    m.d.comb += [pe.act.eq(act), pe.weight.eq(weight), pe.en.eq(en)]
    if above is not None:
        m.d.comb += pe.psum_in.eq(above.psum_out)
    return pe


def hop_register(m: Module, value, unit: ChainPE | None, operand: str, en, name: str):
    """``value`` registered (advancing with ``en``) for the next PE, as the flat arrays
    register an operand that hops on: ``Signal.like(value)``, reset-less.

    In the hierarchical form (``unit``, the PE that reads ``value``), bits the unit's
    partial-sum register already holds as they are (:attr:`ChainPE.copies`) are taken from
    its ``psum_out`` instead of being registered twice: flat synthesis merges those two
    flip-flops, which a unit's boundary would prevent.

    Parameters
    ----------
    m : Module
        The array's module.
    value : Value
        The operand the PE reads.
    unit : ChainPE or None
        The PE in the hierarchical form; None in the flat form.
    operand : {"act", "weight"}
        Which operand ``value`` is.
    en : Value
        The enable of the hop registers and of the PE.
    name : str
        The register's name.

    Returns
    -------
    Value
        ``value`` one cycle later, of its shape.
    """
    copies = {} if unit is None else unit.copies[operand]
    if not copies:
        reg = Signal.like(value, name=name, reset_less=True)
        with m.If(en):
            m.d.sync += reg.eq(value)
        return reg
    rest = [i for i in range(len(value)) if i not in copies]
    kept = {}
    if rest:
        reg = Signal(len(rest), name=name, reset_less=True)
        with m.If(en):
            m.d.sync += reg.eq(Cat(*(value[i] for i in rest)))
        kept = {i: reg[n] for n, i in enumerate(rest)}
    # One signal for the operand, so the next unit's port is driven whole (a port driven by
    # pieces of several signals is emitted as a port per piece).
    out = Signal.like(value, name=f"{name}_q")
    m.d.comb += out.eq(
        Cat(*(unit.psum_out[copies[i]] if i in copies else kept[i] for i in range(len(value))))
    )
    return out
