"""PE arithmetic policies of the accumulating grids (systolic, 2D matrix).

The arrays are generic over a policy (as the adder-tree array is over
:class:`~shiftadd.hw.arith.PEArithmetic`). A policy says what one activation and one weight
add to an accumulator, in two forms:

* :meth:`AccumulateArithmetic.addend`: one term and an optional carry-in bit, for a PE with
  a carry-propagate accumulator (``acc + term + cin``);
* :meth:`AccumulateArithmetic.csa_terms`: rows modulo ``2**W`` and single bits of weight 1,
  for a PE whose accumulator is a carry-save pair (``carry_save_accumulate``): Booth partial
  products for ``mac``, the one row ``+-a`` for ``addsub`` and ``ternary``.

Negation never needs an incrementer per PE: ``-a = ~a + 1`` and the ``+1`` rides as the
carry-in (a carry-propagate accumulator one bit wider at the bottom) or in a carry's free
bit 0 (carry-save); Booth's ``-w`` comes from a prefix-OR negator.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Value, signed, unsigned

from .arith import PEArithmetic
from .booth import booth_rows

__all__ = ["AccumulateArithmetic", "IntMac", "BinaryAddSub", "TernaryAddSub",
           "grid_arithmetic_for"]


def _shape(bits: int, is_signed: bool):
    return signed(bits) if is_signed else unsigned(bits)


def _range(bits: int, is_signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if is_signed else (0, (1 << bits) - 1)


class AccumulateArithmetic(PEArithmetic):
    """What one (activation, weight) pair adds to an accumulator.

    :meth:`term` (from :class:`PEArithmetic`) is the exact product as one expression;
    the two methods below are the forms the PEs build.
    """

    def __init__(self, *, act_bits: int, act_signed: bool, weight_shape, term_range):
        self._act_bits, self._act_signed = act_bits, act_signed
        super().__init__(act_shape=_shape(act_bits, act_signed), weight_shape=weight_shape,
                         term_range=term_range)

    @property
    def injections(self) -> int:
        """Single bits :meth:`csa_terms` returns."""
        return 0

    def addend(self, m: Module, act: Value, weight: Value, name: str) -> tuple[Value, Value | None]:
        """``(term, carry_in)`` with ``term + carry_in == act * weight``."""
        return self.term(act, weight), None

    def csa_terms(self, m: Module, act: Value, weight: Value, width: int,
                  name: str) -> tuple[list[Value], list[Value], list | None]:
        """``(rows, bits, digits)``: rows ``(value, shift)`` (the row is ``value << shift``,
        extended by ``value``'s signedness) or ``(value, shift, sign)`` (an unsigned
        ``value`` extended by the one-bit ``sign``), and single bits, whose sum is
        ``act * weight`` modulo ``2**width``; ``digits`` are the Booth digits when the
        policy encodes the activation (else None)."""
        return [(self.term(act, weight), 0)], [], None

    def _wide_act(self, m: Module, act: Value, name: str) -> Value:
        """The activation as a signed value (one bit wider when unsigned), so ``~a`` is
        ``-a - 1`` exactly."""
        if self._act_signed:
            return act
        return Cat(act, Const(0, 1)).as_signed()


class IntMac(AccumulateArithmetic):
    """Integer activations and weights; carry-save form: radix-4 Booth partial products of
    the activation's digits times the weight (OPT1)."""

    name = "mac"

    def __init__(self, *, act_bits, act_signed, weight_bits, weight_signed):
        alo, ahi = _range(act_bits, act_signed)
        wlo, whi = _range(weight_bits, weight_signed)
        corners = (alo * wlo, alo * whi, ahi * wlo, ahi * whi)
        self._weight_bits, self._weight_signed = weight_bits, weight_signed
        super().__init__(act_bits=act_bits, act_signed=act_signed,
                         weight_shape=_shape(weight_bits, weight_signed),
                         term_range=(min(corners), max(corners)))

    def term(self, act, weight):
        return act * weight

    @property
    def injections(self):
        return 1

    def csa_terms(self, m, act, weight, width, name):
        rows, bit, digits = booth_rows(m, act, self._act_bits, self._act_signed, weight,
                                       self._weight_bits, self._weight_signed, width,
                                       name=name)
        return rows, [bit], digits


class BinaryAddSub(AccumulateArithmetic):
    """Binary weights (bit 1 = +1, bit 0 = -1): the term is ``w ? a : ~a`` and the weight's
    complement is the carry-in that makes ``~a`` into ``-a``."""

    name = "addsub"

    def __init__(self, *, act_bits, act_signed):
        alo, ahi = _range(act_bits, act_signed)
        super().__init__(act_bits=act_bits, act_signed=act_signed, weight_shape=unsigned(1),
                         term_range=(min(alo, -ahi), max(ahi, -alo)))

    @property
    def injections(self):
        return 1

    def term(self, act, weight):
        return Mux(weight, act, -act)

    def addend(self, m, act, weight, name):
        a = self._wide_act(m, act, name)
        return Mux(weight, a, ~a), ~weight[0]

    def csa_terms(self, m, act, weight, width, name):
        if not self._act_signed:
            # +-a of an unsigned a: the low bits w ? a : ~a, and above them ~w, which is
            # also the +1 of the negation: one wire for both.
            sign = ~weight[0]
            return [(Mux(weight, act, ~act), 0, sign)], [sign], None
        term, cin = self.addend(m, act, weight, name)
        return [(term, 0)], [cin], None


class TernaryAddSub(AccumulateArithmetic):
    """Ternary weights as 2-bit two's complement codes (0b01 = +1, 0b00 = 0, 0b11 = -1):
    bit 0 enables the term, bit 1 selects ``~a`` and the carry-in. The unused code 0b10
    contributes 0."""

    name = "ternary"

    def __init__(self, *, act_bits, act_signed):
        alo, ahi = _range(act_bits, act_signed)
        super().__init__(act_bits=act_bits, act_signed=act_signed, weight_shape=signed(2),
                         term_range=(min(alo, -ahi, 0), max(ahi, -alo, 0)))

    @property
    def injections(self):
        return 1

    def term(self, act, weight):
        return Mux(weight[0], Mux(weight[1], -act, act), 0)

    def addend(self, m, act, weight, name):
        a = self._wide_act(m, act, name)
        nonzero, negative = weight[0], weight[1]
        return Mux(nonzero, Mux(negative, ~a, a), 0), nonzero & negative

    def csa_terms(self, m, act, weight, width, name):
        if not self._act_signed:
            # As for add/sub: the sign of +-a (or of 0) is the +1 of the negation.
            sign = weight[0] & weight[1]
            return [(Mux(weight[0], Mux(weight[1], ~act, act), 0), 0, sign)], [sign], None
        term, cin = self.addend(m, act, weight, name)
        return [(term, 0)], [cin], None


def grid_arithmetic_for(design) -> AccumulateArithmetic:
    """The policy a grid design's ``mode`` names."""
    if design.mode == "mac":
        return IntMac(act_bits=design.act_bits, act_signed=design.act_signed,
                      weight_bits=design.weight_bits, weight_signed=design.weight_signed)
    if design.mode == "addsub":
        return BinaryAddSub(act_bits=design.act_bits, act_signed=design.act_signed)
    if design.mode == "ternary":
        return TernaryAddSub(act_bits=design.act_bits, act_signed=design.act_signed)
    raise ValueError(f"no accumulating arithmetic for mode {design.mode!r}")

