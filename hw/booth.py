"""Radix-4 Booth encoding and partial-product selection, without carry-propagate adders.

An activation ``a`` (``b`` bits, two's complement; an unsigned code is read as the
``b + 1``-bit signed number it equals) is ``sum_j d_j 4^j`` with
``d_j = -2 a[2j+1] + a[2j] + a[2j-1]`` in {-2, -1, 0, +1, +2} (``a[-1] = 0``), exactly the
digits :func:`shiftadd.workloads.digits.booth_encode` returns. Each digit is three wires:

``one``  ``|d| = 1``;  ``two``  ``|d| = 2``;  ``neg``  ``d < 0``.

A partial product picks ``0, +-w, +-2w``. ``-w`` comes from a negator that flips every bit
above the lowest 1 (a prefix-OR chain: no adder), once per PE; in a weight-stationary
array it is computed from the held weight and does not toggle.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..workloads.digits import booth_digit_count
from ._util import validating

__all__ = [
    "DIGIT_LAYOUT",
    "booth_digits",
    "negate",
    "booth_rows",
    "BoothEncoder",
    "BoothPartialProducts",
    "ent_digit_count",
    "ent_codes",
    "ent_digit",
    "EntEncoder",
    "select_row",
]

#: One radix-4 Booth digit as wires.
DIGIT_LAYOUT = data.StructLayout({"one": 1, "two": 1, "neg": 1})


def _booth_wires(act: Value, bits: int, signed_code: bool) -> list[tuple]:
    """``(one, two, neg)`` of each digit as expressions; ``neg`` is None where it is always
    0 (the top digit of an unsigned code)."""
    n = booth_digit_count(bits, signed_code)
    a = act.as_unsigned()

    def bit(i):  # a[i] of the sign- (or zero-) extended code; None for a constant 0
        if i < 0:
            return None
        if i < bits:
            return a[i]
        return a[bits - 1] if signed_code else None

    zero = Const(0, 1)
    wires = []
    for j in range(n):
        lo, mid, hi = bit(2 * j - 1), bit(2 * j), bit(2 * j + 1)
        if lo is None:  # the implicit a[-1] = 0
            one = mid if mid is not None else zero
            two = (hi & ~mid) if hi is not None and mid is not None else zero
            neg = hi
        elif hi is None:  # the top digit of an unsigned code: (0, mid, lo), never negative
            one = lo if mid is None else mid ^ lo
            two = zero if mid is None else mid & lo
            neg = None
        else:
            one = mid ^ lo
            two = (hi & ~mid & ~lo) | (~hi & mid & lo)
            # 111 is digit 0, not "-0": negative only when some magnitude is selected.
            neg = hi & ~(mid & lo)
        wires.append((one, two, neg))
    return wires


def booth_digits(
    m: Module, act: Value, bits: int, signed_code: bool, name: str = "booth"
) -> list[data.View]:
    """Radix-4 Booth digits of ``act``, least significant first, as views of
    :data:`DIGIT_LAYOUT` over expressions (no named wires that synthesis could leave
    partly constant or unused)."""
    return [
        data.View(DIGIT_LAYOUT, Cat(one, two, Const(0, 1) if neg is None else neg))
        for one, two, neg in _booth_wires(act, bits, signed_code)
    ]


def negate(m: Module, value: Value, name: str = "neg") -> Value:
    """``-value`` modulo ``2**len(value)`` as a prefix-OR chain: bit ``i`` flips when any bit
    below it is 1 (no adder). An expression of ``value``'s shape; the caller widens
    ``value`` first where ``-value`` needs the room."""
    v = value.as_unsigned()
    out, below = [v[0]], v[0]
    for i in range(1, len(v)):
        out.append(v[i] ^ below)
        if i + 1 < len(v):
            below = below | v[i]
    neg = Cat(*out)
    return neg.as_signed() if value.shape().signed else neg


def _one_or_two(two: Value, src: Value, is_signed: bool) -> Value:
    """``2 * src`` if ``two`` else ``src``, one bit wider. A signed value's top bit is its
    sign either way, so it is taken straight from ``src`` rather than through the mux
    (Yosys would find the mux bit redundant and leave a wire bit unused)."""
    n = len(src)
    s = src.as_unsigned()
    low = Mux(two, Cat(Const(0, 1), s[: n - 1]), s)
    return Cat(low, s[n - 1]).as_signed() if is_signed else Cat(low, two & s[n - 1])


def booth_rows(
    m: Module,
    act: Value,
    act_bits: int,
    act_signed: bool,
    weight: Value,
    weight_bits: int,
    weight_signed: bool,
    width: int,
    name: str = "pp",
) -> tuple[list[tuple[Value, int]], Value, list[data.View]]:
    """Booth partial products of ``act * weight`` modulo ``2**width``.

    Returns ``(rows, bit, digits)``: ``rows[j] = (value, 2j)`` with ``value`` a signed
    ``weight_bits + 2``-bit expression, the row being ``value << 2j``; row ``j`` is
    ``d_j * weight * 4**j``, except row 0, which is in ones'-complement form
    (``~(|d_0| w)`` for a negative digit) with its ``+1`` in ``bit``, for a carry's free
    bit 0. The other rows take ``-w`` from a prefix-OR negator shared by all of them. Rows
    shifted entirely out of ``width`` bits are left out.
    """
    wires = _booth_wires(act, act_bits, act_signed)
    digits = booth_digits(m, act, act_bits, act_signed, name=f"{name}_booth")
    # w and -w at one common width; -w of the most negative (or largest unsigned) w fits.
    w = weight.as_unsigned()
    w_ext = Cat(w, w[-1] if weight_signed else Const(0, 1)).as_signed()
    w_neg = negate(m, w_ext)
    rows = []
    for j, (one, two, neg) in enumerate(wires):
        if 2 * j >= width:
            break
        if neg is None:
            # Never negative: 0, w or 2w at the weight's own signedness (an unsigned row
            # has no sign bit to extend).
            pp = Mux(one | two, _one_or_two(two, weight, weight_signed), 0)
        elif j == 0:
            mag = Mux(two, Cat(Const(0, 1), w_ext).as_signed(), Mux(one, w_ext, 0))
            pp = (mag.as_unsigned() ^ neg.replicate(weight_bits + 2)).as_signed()
        else:
            pp = Mux(one | two, _one_or_two(two, Mux(neg, w_neg, w_ext), True), 0)
        rows.append((pp, 2 * j))
    neg0 = wires[0][2]
    return rows, Const(0, 1) if neg0 is None else neg0, digits


class BoothEncoder(wiring.Component):
    """Radix-4 Booth digits of one activation code.

    Members
    -------
    act : In(signed or unsigned ``bits``)
    digits : Out(ArrayLayout(DIGIT_LAYOUT, n))
    value : Out(ArrayLayout(signed(3), n))
        Each digit as a number in {-2..2} (what the golden model returns).
    """

    def __init__(self, *, bits: int, signed_code: bool = True):
        with validating(self):
            if not isinstance(bits, int) or not 2 <= bits <= 16:
                raise TypeError(f"Width must be an integer from 2 to 16, not {bits!r}")
        self._bits, self._signed = bits, bool(signed_code)
        n = booth_digit_count(bits, signed_code)
        super().__init__(
            {
                "act": In(signed(bits) if signed_code else unsigned(bits)),
                "digits": Out(data.ArrayLayout(DIGIT_LAYOUT, n)),
                "value": Out(data.ArrayLayout(signed(3), n)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        for j, d in enumerate(booth_digits(m, self.act, self._bits, self._signed)):
            mag = Cat(d.one, d.two, Const(0, 1)).as_signed()  # 0, 1 or 2
            m.d.comb += [self.digits[j].eq(d), self.value[j].eq(Mux(d.neg, -mag, mag))]
        return m


class BoothPartialProducts(wiring.Component):
    """The Booth partial-product rows of ``act * weight`` modulo ``2**width``.

    Members
    -------
    act, weight : In
    rows : Out(ArrayLayout(width, digits))
    bit : Out(1)
        ``sum(rows) + bit == act * weight`` modulo ``2**width`` (row 0 is in
        ones'-complement form, ``bit`` its ``+1``).
    """

    def __init__(
        self, *, act_bits: int, act_signed: bool, weight_bits: int, weight_signed: bool, width: int
    ):
        with validating(self):
            for label, v in (("Activation width", act_bits), ("Weight width", weight_bits)):
                if not isinstance(v, int) or not 2 <= v <= 16:
                    raise TypeError(f"{label} must be an integer from 2 to 16, not {v!r}")
            if not isinstance(width, int) or width < 2:
                raise TypeError(f"Row width must be an integer of at least 2, not {width!r}")
        self._p = (act_bits, act_signed, weight_bits, weight_signed, width)
        n = booth_digit_count(act_bits, act_signed)
        super().__init__(
            {
                "act": In(signed(act_bits) if act_signed else unsigned(act_bits)),
                "weight": In(signed(weight_bits) if weight_signed else unsigned(weight_bits)),
                "rows": Out(data.ArrayLayout(width, n)),
                "bit": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        ab, as_, wb, ws, width = self._p
        rows, bit, _ = booth_rows(m, self.act, ab, as_, self.weight, wb, ws, width)
        for j, (value, shift) in enumerate(rows):
            placed = Cat(Const(0, shift), value).as_signed() if shift else value
            m.d.comb += self.rows[j].eq(placed)
        m.d.comb += self.bit.eq(bit)
        return m


# -- EN-T (sign and magnitude) digits --------------------------------------------------------
# EN-T (ICCD 2024; REFERENCE.md section 1) encodes |a| in radix 4 with the digit set
# {0, +1, +2, -1}: each 2-bit chunk plus the carry from below, v in 0..4, is kept as
# ``v mod 4`` (3 meaning -1) and carries 1 when v >= 3. A digit is two wires, its *code*
# ``v mod 4``; with the operand's sign it selects 0, +-w or +-2w like a Booth digit.


def ent_digit_count(bits: int, signed_code: bool) -> int:
    """EN-T digits of a ``bits``-wide code: ``ceil(bits/2)``, or ``ceil((bits+1)/2)`` unsigned
    (the magnitude of a signed code is at most ``2**(bits-1)``; an unsigned code's top chunk
    may carry out)."""
    return (bits + (0 if signed_code else 1) + 1) // 2


def ent_codes(
    m: Module, act: Value, bits: int, signed_code: bool, name: str = "ent"
) -> tuple[Value, list[Value]]:
    """EN-T encoding of ``act``: ``(negative, codes)``, codes least significant first, each
    2 bits (``3`` is the digit -1). The magnitude comes from a conditional prefix-OR
    negation (bit ``i`` flips when the code is negative and a lower bit is 1), so the
    encoder has no carry-propagate adder. Everything is returned as expressions (no named
    wires that synthesis could leave partly unused)."""
    n = ent_digit_count(bits, signed_code)
    a = act.as_unsigned()
    if signed_code:
        negative = act[-1]
        mag_bits, below = [a[0]], a[0]
        for i in range(1, bits):
            mag_bits.append(a[i] ^ (negative & below))
            if i + 1 < bits:
                below = below | a[i]
    else:
        negative = Const(0, 1)
        mag_bits = [a[i] for i in range(bits)]
    mag_bits += [None] * (2 * n - bits)
    codes = []
    carry = None
    for j in range(n):
        lo, hi = mag_bits[2 * j], mag_bits[2 * j + 1]
        if lo is None:
            lo = Const(0, 1)
        if hi is None:
            hi = Const(0, 1)
        if carry is None:
            # (chunk + carry) mod 4 and the carry out (v >= 3), without constant operands.
            codes.append(Cat(lo, hi))
            carry = hi & lo
        else:
            codes.append(Cat(lo ^ carry, hi ^ (lo & carry)))
            carry = hi & (lo | carry)
    return negative, codes


def ent_digit(m: Module, code: Value, negative: Value, name: str = "ent_d") -> Signal:
    """The Booth-style wires (:data:`DIGIT_LAYOUT`) of one EN-T digit of a signed operand:
    ``one`` for codes 1 and 3, ``two`` for code 2, ``neg`` when the signed digit is below 0
    (never for code 0, so a zero digit selects nothing and adds nothing)."""
    d = Signal(DIGIT_LAYOUT, name=name)
    m.d.comb += [
        d.one.eq(code[0]),
        d.two.eq(code[1] & ~code[0]),
        d.neg.eq((negative ^ (code[1] & code[0])) & (code[0] | code[1])),
    ]
    return d


class EntEncoder(wiring.Component):
    """EN-T digits of one activation code.

    Members
    -------
    act : In(signed or unsigned ``bits``)
    negative : Out(1)
    codes : Out(ArrayLayout(2, n))
        ``v mod 4`` per digit, least significant first (3 is -1), as
        :func:`shiftadd.workloads.digits.ent_encode` returns them modulo 4.
    digits : Out(ArrayLayout(DIGIT_LAYOUT, n))
        The signed digits as select wires.
    """

    def __init__(self, *, bits: int, signed_code: bool = True):
        with validating(self):
            if not isinstance(bits, int) or not 2 <= bits <= 16:
                raise TypeError(f"Width must be an integer from 2 to 16, not {bits!r}")
        self._bits, self._signed = bits, bool(signed_code)
        n = ent_digit_count(bits, signed_code)
        super().__init__(
            {
                "act": In(signed(bits) if signed_code else unsigned(bits)),
                "negative": Out(1),
                "codes": Out(data.ArrayLayout(2, n)),
                "digits": Out(data.ArrayLayout(DIGIT_LAYOUT, n)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        negative, codes = ent_codes(m, self.act, self._bits, self._signed)
        m.d.comb += self.negative.eq(negative)
        for j, code in enumerate(codes):
            m.d.comb += [
                self.codes[j].eq(code),
                self.digits[j].eq(ent_digit(m, code, negative, name=f"d{j}")),
            ]
        return m


def select_row(
    m: Module,
    weight: Value,
    digit,
    width: int | None = None,
    name: str = "row",
    biased: bool = False,
) -> Signal:
    """One partial-product row in ones'-complement form: ``sel`` or ``~sel`` for
    ``sel`` in {0, w, 2w}, as a two's complement number of ``w``'s width plus one (signed
    ``w``) or plus two (unsigned ``w``), or only its low ``width`` bits.

    The row plus ``digit.neg`` is ``d * w``; the caller adds the ``neg`` bits (which depend
    only on the activation) once for all neurons instead of an incrementer per row. Every
    bit is an AND-OR of weight bits (no constant-extended operand, so synthesis never
    narrows a cell and leaves half-used wires behind).

    With ``biased``, the full-width row is returned with its sign bit inverted, as an
    unsigned number: the row plus ``2**(width-1)``, the form carry-save trees add (the
    constant goes into a shared correction).
    """
    wb = len(weight)
    is_signed = weight.shape().signed
    full = wb + 1 if is_signed else wb + 2
    width = full if width is None else width
    if not 1 <= width <= full:
        raise ValueError(f"row width must be 1..{full}, not {width}")
    one, two, neg = digit.one, digit.two, digit.neg
    # Bit i of sel is one & w[i] | two & w[i-1]. Each bit position appears once per cell
    # (a repeated sign bit inside one vector cell would be merged bitwise by synthesis).
    pieces = [one & weight[0]]
    mid_hi = min(width, wb)
    if mid_hi > 1:
        n = mid_hi - 1
        pieces.append(
            (one.replicate(n) & weight[1:mid_hi]) | (two.replicate(n) & weight[: mid_hi - 1])
        )
    if width > wb:
        # Bit wb: the sign of w (signed) or the top of 2w (unsigned).
        pieces.append(((one | two) if is_signed else two) & weight[-1])
    sel = Cat(*pieces)
    if biased and width != full:
        raise ValueError("a biased row has the full width")
    if biased and is_signed:
        value = Cat(sel[:-1] ^ neg.replicate(len(sel) - 1), ~(sel[-1] ^ neg))
    else:
        value = sel ^ neg.replicate(len(sel))
    if not is_signed and width > wb + 1:
        # Bit wb+1 of sel is always 0, so the row's sign is neg (inverted when biased).
        # Gated by "digit nonzero" (which neg implies) so the bit is a gate output, not a
        # second name for the neg wire that synthesis would leave unused.
        value = Cat(value, ~neg if biased else neg & (one | two))
    row = Signal(unsigned(width) if biased else signed(width), name=name)
    m.d.comb += row.eq(value)
    return row
