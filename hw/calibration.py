"""Building blocks that ``shiftadd calibrate`` synthesizes and measures to price the units
of the cost model (:mod:`shiftadd.models.units`); each is the unit as the arrays build it.

:class:`Registered` wraps a block between registers, as inside the arrays, so it sees
realistic drivers and loads.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .booth import DIGIT_LAYOUT, select_row

__all__ = [
    "Register",
    "Adder",
    "Multiplier",
    "Compressor",
    "BoothSelect",
    "Fanout",
    "Lanes",
    "Registered",
]


class Register(wiring.Component):
    """A bank of ``width`` flip-flops, with a load enable when ``enable``."""

    def __init__(self, *, width: int, enable: bool):
        self._enable = enable
        members = {"d": In(width), "q": Out(width)}
        if enable:
            members["en"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        reg = Signal(len(self.d), reset_less=True)
        if self._enable:
            with m.If(self.en):
                m.d.sync += reg.eq(self.d)
        else:
            m.d.sync += reg.eq(self.d)
        m.d.comb += self.q.eq(reg)
        return m


class Adder(wiring.Component):
    """A two-input signed adder of ``width``-bit operands."""

    def __init__(self, *, width: int):
        super().__init__(
            {"a": In(signed(width)), "b": In(signed(width)), "s": Out(signed(width + 1))}
        )

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.s.eq(self.a + self.b)
        return m


class Multiplier(wiring.Component):
    """A signed ``a_bits`` x ``w_bits`` multiplier."""

    def __init__(self, *, a_bits: int, w_bits: int):
        super().__init__(
            {"a": In(signed(a_bits)), "w": In(signed(w_bits)), "p": Out(signed(a_bits + w_bits))}
        )

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.p.eq(self.a * self.w)
        return m


class Compressor(wiring.Component):
    """A row of 3:2 compressors (full adders kept in carry-save form)."""

    def __init__(self, *, lanes: int):
        super().__init__(
            {"x": In(lanes), "y": In(lanes), "z": In(lanes), "s": Out(lanes), "c": Out(lanes)}
        )

    def elaborate(self, platform):
        m = Module()
        x, y, z = self.x, self.y, self.z
        m.d.comb += [self.s.eq(x ^ y ^ z), self.c.eq((x & y) | (x & z) | (y & z))]
        return m


class BoothSelect(wiring.Component):
    """Booth partial-product selector rows exactly as the adder-tree options build them
    (:func:`shiftadd.hw.booth.select_row`): per bit ``(one & w[i] | two & w[i-1]) ^ neg``.
    The weights are held (static ports); each digit's three wires drive one row of
    ``weight_bits + 1`` bits and toggle as independent random bits."""

    def __init__(self, *, rows: int, weight_bits: int):
        self._rows, self._wb = rows, weight_bits
        super().__init__(
            {
                "w": In(rows * weight_bits),
                "one": In(rows),
                "two": In(rows),
                "neg": In(rows),
                "y": Out(rows * (weight_bits + 1)),
            }
        )

    @property
    def bits(self) -> int:
        return self._rows * (self._wb + 1)

    def elaborate(self, platform):
        m = Module()
        wb = self._wb
        rows = []
        for j in range(self._rows):
            weight = self.w[j * wb : (j + 1) * wb].as_signed()
            digit = data.View(DIGIT_LAYOUT, Cat(self.one[j], self.two[j], self.neg[j]))
            rows.append(select_row(m, weight, digit, name=f"row{j}"))
        m.d.comb += self.y.eq(Cat(*rows))
        return m


class Fanout(wiring.Component):
    """``nets`` wires each driving ``loads`` two-input gates: ``y[i, j] = a[i] & b[j]``.

    The ``a`` wires (behind their input registers) have fan-out ``loads``; the ``b`` wires
    fan-out ``nets``, kept small so that only the ``a`` wires need buffering. Measures how
    many buffers synthesis inserts on a wire of a given fan-out (shared select lines,
    broadcast data and reset nets in the arrays)."""

    def __init__(self, *, nets: int, loads: int):
        self._nets, self._loads = nets, loads
        super().__init__({"a": In(nets), "b": In(loads), "y": Out(nets * loads)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(
            Cat(*(self.a[i] & self.b[j] for i in range(self._nets) for j in range(self._loads)))
        )
        return m


class Lanes(wiring.Component):
    """``lanes`` two-input gates of one kind: ``xnor2``, ``xor2``, ``and2`` or ``mux2``
    (``s`` selects ``a``)."""

    def __init__(self, *, op: str, lanes: int):
        self._op = op
        members = {"a": In(lanes), "b": In(lanes), "y": Out(lanes)}
        if op == "mux2":
            members["s"] = In(lanes)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        a, b = self.a, self.b
        if self._op == "xnor2":
            m.d.comb += self.y.eq(~(a ^ b))
        elif self._op == "xor2":
            m.d.comb += self.y.eq(a ^ b)
        elif self._op == "and2":
            m.d.comb += self.y.eq(a & b)
        else:
            m.d.comb += self.y.eq((a & self.s) | (b & ~self.s))
        return m


class Registered(wiring.Component):
    """``block`` between registers: every input and output passes a flip-flop, as inside
    the arrays, so the block sees realistic drivers and loads."""

    def __init__(self, block):
        self._block = block
        super().__init__(
            {
                name: (In if m.flow == wiring.In else Out)(m.shape)
                for name, m in block.signature.members.items()
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.block = block = self._block
        for name, member in block.signature.members.items():
            reg = Signal(member.shape, name=f"{name}_reg", reset_less=True)
            if member.flow == wiring.In:
                m.d.sync += reg.eq(getattr(self, name))
                m.d.comb += getattr(block, name).eq(reg)
            else:
                m.d.sync += reg.eq(getattr(block, name))
                m.d.comb += getattr(self, name).eq(reg)
        return m
