"""LUT-GEMM blocks: the table builder, the lookup PE and the mux tree both rely on.

The builder turns ``mu`` activations into the ``2**mu``-entry table
``T[key] = sum_j (2 key_j - 1) x_j`` (bit ``j`` of the key selects the sign of input ``j``)
with the incremental construction of :func:`shiftadd.models.lutgemm.build_luts`:
``T[0] = -(x_0 + ... + x_{mu-1})``, then ``T[key] = T[key - 2**s] + 2 x_s`` for the keys whose
top set bit is ``s``: ``mu - 1`` adders and one negation for ``T[0]`` and ``2**mu - 1`` adders
for the rest, ``2**mu + mu - 1`` operations in all, as the golden model counts them.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..design.shiftadd import entry_range, table_range
from ._util import validating
from .adder_tree import AdderTree
from .shapes import shape_of_range, shape_range

__all__ = ["LutBuilder", "LutLookup", "mux_tree"]


def mux_tree(m: Module, values: list, select, shape, name: str) -> Signal:
    """``values[select]`` as a balanced tree of 2:1 muxes, select bit ``j`` at level ``j``.

    With a count that is not a power of two, the odd last value of a level passes through,
    so an out-of-range ``select`` returns one of the values. Each node is a signal of
    ``shape``: the tree is exactly ``len(values) - 1`` mux2 nodes per bit.
    """
    level = list(values)
    depth = 0
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            node = Signal(shape, name=f"{name}_l{depth}_n{i // 2}")
            m.d.comb += node.eq(Mux(select[depth], level[i + 1], level[i]))
            nxt.append(node)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        depth += 1
    return level[0]


class LutBuilder(wiring.Component):
    """The ``2**mu``-entry table of ``mu`` activations, combinational.

    Parameters
    ----------
    mu : int
        Activations per table, 1 to 12.
    act_shape : Shape
        Shape of one activation.

    Members
    -------
    x : In(ArrayLayout(act_shape, mu))
    table : Out(ArrayLayout(entry_shape, 2**mu))
        ``table[key] = sum_j (2 * key_j - 1) * x[j]``; ``entry_shape`` holds
        :func:`table_range`.
    """

    def __init__(self, *, mu: int, act_shape):
        with validating(self):
            if not isinstance(mu, int) or not 1 <= mu <= 12:
                raise ValueError(f"Table width mu must be an integer from 1 to 12, not {mu!r}")
            act_shape = Shape.cast(act_shape)
        self._mu = mu
        self._act_shape = act_shape
        self._act_range = shape_range(act_shape)
        self._entry_shape = shape_of_range(*table_range(mu, self._act_range))
        super().__init__(
            {
                "x": In(data.ArrayLayout(act_shape, mu)),
                "table": Out(data.ArrayLayout(self._entry_shape, 1 << mu)),
            }
        )

    @property
    def mu(self) -> int:
        return self._mu

    @property
    def entry_shape(self) -> Shape:
        return self._entry_shape

    @property
    def adders(self) -> int:
        """Add/subtract operations: ``2**mu + mu - 1`` (``mu`` for entry 0)."""
        return (1 << self._mu) + self._mu - 1

    def elaborate(self, platform):
        m = Module()
        mu, (alo, ahi) = self._mu, self._act_range
        # Entry 0: every input counted -1, i.e. minus the sum of the group.
        m.submodules.group_sum = total = AdderTree(count=mu, term_range=self._act_range)
        for j in range(mu):
            m.d.comb += total.terms[j].eq(self.x[j])
        t0 = Signal(shape_of_range(*entry_range(0, mu, self._act_range)), name="t0")
        m.d.comb += t0.eq(-total.total)
        entries = [t0]
        for s in range(mu):
            doubled = Signal(shape_of_range(2 * alo, 2 * ahi), name=f"x{s}_x2")
            m.d.comb += doubled.eq(self.x[s] << 1)
            for key in range(1 << s, 1 << (s + 1)):
                below = entries[key - (1 << s)]
                blo, bhi = shape_range(below.shape())
                # Both operands at one common width, so the adder is that width plus carry;
                # the entry keeps its exact range (the sum is an identity, it always fits).
                common = shape_of_range(min(blo, 2 * alo), max(bhi, 2 * ahi))
                a = Signal(common, name=f"t{key}_a")
                b = Signal(common, name=f"t{key}_b")
                entry = Signal(
                    shape_of_range(*entry_range(key, mu, self._act_range)), name=f"t{key}"
                )
                m.d.comb += [a.eq(below), b.eq(doubled), entry.eq(a + b)]
                entries.append(entry)
        for key, entry in enumerate(entries):
            m.d.comb += self.table[key].eq(entry)
        return m


class LutLookup(wiring.Component):
    """The lookup PE: ``value = table[key]`` through a tree of ``2**mu - 1`` mux2 per bit.

    Parameters
    ----------
    mu : int
        Key width, 1 to 12.
    entry_shape : Shape
        Shape of one table entry.

    Members
    -------
    table : In(ArrayLayout(entry_shape, 2**mu))
    key : In(mu)
    value : Out(entry_shape)
    """

    def __init__(self, *, mu: int, entry_shape):
        with validating(self):
            if not isinstance(mu, int) or not 1 <= mu <= 12:
                raise ValueError(f"Key width mu must be an integer from 1 to 12, not {mu!r}")
            entry_shape = Shape.cast(entry_shape)
        self._mu = mu
        self._entry_shape = entry_shape
        super().__init__(
            {
                "table": In(data.ArrayLayout(entry_shape, 1 << mu)),
                "key": In(unsigned(mu)),
                "value": Out(entry_shape),
            }
        )

    @property
    def mu(self) -> int:
        return self._mu

    @property
    def mux2_per_bit(self) -> int:
        return (1 << self._mu) - 1

    def elaborate(self, platform):
        m = Module()
        values = [self.table[i] for i in range(1 << self._mu)]
        m.d.comb += self.value.eq(mux_tree(m, values, self.key, self._entry_shape, "sel"))
        return m
