"""Scale application as shifts: the barrel shifter and the two scale policies.

A BCQ scale is ``alpha = sum_t sign_t * 2**shift_t`` (APoT; one term is a power of two), so
``alpha * v = sum_t sign_t * (v << shift_t)``. Each term becomes one leaf of the column's
plane-sum tree. A negative term enters as the one's complement ``~(v << s) = -(v << s) - 1``
(an XOR per bit instead of an incrementer), and the number of negative terms is added once
per column as one more leaf, as the add/sub PE does (:class:`shiftadd.hw.arith.AddSub`).

The engine is generic over the policy:

:class:`BarrelScales`
    shift amounts and signs arrive with every weight transfer (they change from block to
    block); each term has a logarithmic barrel shifter of ``shift_bits`` mux2 stages.
:class:`ConstantScales`
    the design fixes every plane's scale; shifts are wiring and signs are constants, so the
    only logic left per term is the inversion of negative terms.
"""

from __future__ import annotations

import abc

from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..design.shiftadd import barrel_stage_widths
from ..design.tree import plan_tree
from ._util import checked_register_after, validating
from .adder_tree import Popcount, build_tree
from .shapes import shape_of_range

__all__ = [
    "BarrelShifter",
    "TermTree",
    "ScalePolicy",
    "BarrelScales",
    "ConstantScales",
    "scales_for",
    "SIGN_SHAPE",
]

# A term's sign as two's complement 2 bits: +1 = 0b01, -1 = 0b11, 0 = 0b00 (0b10 acts as 0).
SIGN_SHAPE = signed(2)


class BarrelShifter(wiring.Component):
    """``shifted = value << amount`` in ``bits`` stages of 2:1 muxes (stage ``j`` shifts by
    ``2**j`` when amount bit ``j`` is set).

    Parameters
    ----------
    value_shape : Shape
        Shape of the value (signed values stay signed).
    bits : int
        Width of ``amount``, 1 to 6: shifts 0 to ``2**bits - 1``.

    Members
    -------
    value : In(value_shape)
    amount : In(bits)
    shifted : Out(value_shape widened by ``2**bits - 1`` bits)
    """

    def __init__(self, *, value_shape, bits: int):
        with validating(self):
            value_shape = Shape.cast(value_shape)
            if not isinstance(bits, int) or not 1 <= bits <= 6:
                raise ValueError(f"Shift width must be an integer from 1 to 6, not {bits!r}")
        self._value_shape = value_shape
        self._bits = bits
        width = value_shape.width + (1 << bits) - 1
        self._out_shape = signed(width) if value_shape.signed else unsigned(width)
        super().__init__(
            {
                "value": In(value_shape),
                "amount": In(unsigned(bits)),
                "shifted": Out(self._out_shape),
            }
        )

    @property
    def bits(self) -> int:
        return self._bits

    @property
    def stage_widths(self) -> tuple[int, ...]:
        """Output width of every stage (its count of mux2 nodes)."""
        return barrel_stage_widths(self._value_shape.width, self._bits)

    def elaborate(self, platform):
        m = Module()
        if not self._value_shape.signed:
            level = self.value
            for j, width in enumerate(self.stage_widths):
                stage = Signal(unsigned(width), name=f"stage{j}")
                m.d.comb += stage.eq(Mux(self.amount[j], level << (1 << j), level))
                level = stage
            m.d.comb += self.shifted.eq(level)
            return m
        # Signed: the top bit of every stage is the input's sign bit whatever the amount,
        # so it is wired, not muxed, and each stage signal holds only the muxed bits (a
        # stage signal whose top bit merely copied the sign would be left unread after
        # optimisation, which verilator -Wall reports).
        sign = self.value[-1]
        low = self.value[:-1]
        for j, width in enumerate(self.stage_widths):
            k = 1 << j
            level = Cat(low, sign)  # the previous stage, signed
            moved = Cat(Const(0, k), low)  # level << k without its sign bit
            kept = Cat(low, sign.replicate(width - 1 - len(low)))
            stage = Signal(unsigned(width - 1), name=f"stage{j}")
            m.d.comb += stage.eq(Mux(self.amount[j], moved, kept))
            low = stage
        m.d.comb += self.shifted.eq(Cat(low, sign))
        return m


class TermTree(wiring.Component):
    """Sum of leaves with individual value ranges: a balanced binary adder tree.

    Every node is exactly as wide as its range (from
    :func:`shiftadd.design.adder_tree.plan_tree`), so leaves of different widths (shifted
    by different constants) cost no more than they must.

    Parameters
    ----------
    leaf_ranges : sequence of (lo, hi)
    register_after : tuple of int
        Logic layers followed by a register (0: the leaves, ``j``: adder level ``j``);
        registers advance when ``en`` is high.

    Members
    -------
    leaf0 .. leafN : In(shape of each range)
    en : In(1)
    total : Out(shape of the root range)
    """

    def __init__(self, *, leaf_ranges, register_after: tuple[int, ...] = ()):
        with validating(self):
            ranges = [tuple(r) for r in leaf_ranges]
            if not ranges or any(len(r) != 2 or r[0] > r[1] for r in ranges):
                raise ValueError(f"Leaf ranges must be (lo, hi) pairs, not {leaf_ranges!r}")
            self._plan = plan_tree(ranges)
            register_after = checked_register_after(register_after, self._plan.depth)
        self._register_after = register_after
        members = {f"leaf{k}": In(shape_of_range(*r)) for k, r in enumerate(ranges)}
        members["en"] = In(1)
        members["total"] = Out(shape_of_range(*self._plan.root))
        super().__init__(members)

    @property
    def plan(self):
        return self._plan

    @property
    def register_after(self) -> tuple[int, ...]:
        return self._register_after

    def elaborate(self, platform):
        m = Module()
        leaves = [getattr(self, f"leaf{k}") for k in range(len(self._plan.levels[0]))]
        m.d.comb += self.total.eq(build_tree(m, self._plan, leaves, self._register_after, self.en))
        return m


class ScalePolicy(abc.ABC):
    """How a column's looked-up values become plane-tree leaves.

    Parameters
    ----------
    design : ShiftAddDesign
    """

    name = ""

    def __init__(self, design):
        self._design = design

    @property
    def design(self):
        return self._design

    def payload_fields(self) -> dict:
        """Fields the weight transfer carries for the scales (none for constant scales)."""
        return {}

    @abc.abstractmethod
    def leaves(
        self, m: Module, values: list[Value], scales, scale_set: int, name: str
    ) -> list[Value]:
        """Leaves of one column: ``values[i]`` is the looked-up entry of plane ``i``;
        ``scales`` the registered weight transfer (its scale fields)."""

    @abc.abstractmethod
    def offset(self, m: Module, scales, scale_set: int) -> Value | None:
        """The count of negative terms of a scale set (the tree's offset leaf), or None."""


class BarrelScales(ScalePolicy):
    """Runtime scales: ``shifts`` and ``signs`` per transfer, indexed
    ``(set * q + plane) * terms + term``; a barrel shifter and a conditional inverter per
    term."""

    name = "barrel"

    def payload_fields(self) -> dict:
        d = self._design
        count = d.scale_sets * d.q * d.terms
        return {
            "shifts": data.ArrayLayout(unsigned(d.shift_bits), count),
            "signs": data.ArrayLayout(SIGN_SHAPE, count),
        }

    def _index(self, scale_set: int, plane: int, term: int) -> int:
        d = self._design
        return (scale_set * d.q + plane) * d.terms + term

    def leaves(self, m, values, scales, scale_set, name):
        d = self._design
        leaf_shape = shape_of_range(*d.leaf_range)
        out = []
        for i, value in enumerate(values):
            for t in range(d.terms):
                shifter = BarrelShifter(value_shape=value.shape(), bits=d.shift_bits)
                m.submodules[f"{name}_p{i}_t{t}_shift"] = shifter
                sign = scales.signs[self._index(scale_set, i, t)]
                m.d.comb += [
                    shifter.value.eq(value),
                    shifter.amount.eq(scales.shifts[self._index(scale_set, i, t)]),
                ]
                shifted = Signal(leaf_shape, name=f"{name}_p{i}_t{t}_shifted")
                leaf = Signal(leaf_shape, name=f"{name}_p{i}_t{t}_leaf")
                m.d.comb += [
                    shifted.eq(shifter.shifted),
                    # bit 0 enables the term, bit 1 negates it (one's complement here, the
                    # +1 comes from the offset leaf).
                    leaf.eq(Mux(sign[0], Mux(sign[1], ~shifted, shifted), 0)),
                ]
                out.append(leaf)
        return out

    def offset(self, m, scales, scale_set):
        d = self._design
        count = Popcount(width=d.q * d.terms)
        m.submodules[f"negatives_set{scale_set}"] = count
        bits = [
            scales.signs[self._index(scale_set, i, t)] for i in range(d.q) for t in range(d.terms)
        ]
        for k, sign in enumerate(bits):
            m.d.comb += count.bits[k].eq(sign[0] & sign[1])
        return count.count


class ConstantScales(ScalePolicy):
    """Scales fixed by the design (``const_shifts``, ``const_signs``): every shift is
    wiring, zero terms are left out, negative terms are inverted."""

    name = "constant"

    def leaves(self, m, values, scales, scale_set, name):
        d = self._design
        out = []
        for i, t, shift, sign in d.active_terms:
            leaf_shape = shape_of_range(*d.leaf_range_of(shift, sign))
            leaf = Signal(leaf_shape, name=f"{name}_p{i}_t{t}_leaf")
            shifted = Signal(leaf_shape, name=f"{name}_p{i}_t{t}_shifted")
            m.d.comb += [shifted.eq(values[i] << shift), leaf.eq(shifted if sign > 0 else ~shifted)]
            out.append(leaf)
        return out

    def offset(self, m, scales, scale_set):
        rng = self._design.offset_range
        return None if rng is None else Const(rng[0], shape_of_range(*rng))


def scales_for(design) -> ScalePolicy:
    """The scale policy a design's ``shifter`` names."""
    if design.shifter == "barrel":
        return BarrelScales(design)
    if design.shifter == "constant":
        return ConstantScales(design)
    raise ValueError(f"no scale policy for shifter {design.shifter!r}")
