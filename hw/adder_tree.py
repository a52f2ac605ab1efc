"""Balanced binary adder trees, optionally pipelined, and the popcount built from one.

Every node's width is the exact width of its value range (from
:func:`shiftadd.design.adder_tree.plan_tree`), so no adder is wider than it must be and the
golden model, the analytic area model and the RTL agree on every width.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..design.adder_tree import plan_tree
from ._util import checked_register_after, validating
from .shapes import shape_of_range

__all__ = ["AdderTree", "Popcount", "build_tree"]


def build_tree(
    m: Module, plan, leaves: list, register_after: tuple[int, ...], en, prefix: str = ""
) -> Value:
    """Build the adder tree of ``plan`` (:func:`shiftadd.design.adder_tree.plan_tree`) over
    ``leaves`` into module ``m``, with registers after the logic layers ``register_after``
    (0: the leaves, ``j``: adder level ``j``) advancing when ``en`` is high; returns the
    root. Every node is exactly as wide as its range; signal names start with ``prefix``."""
    level = list(leaves)
    for depth, ranges in enumerate(plan.levels):
        if depth > 0:
            below, below_ranges, level = level, plan.levels[depth - 1], []
            for i, (lo, hi) in enumerate(ranges):
                node = Signal(shape_of_range(lo, hi), name=f"{prefix}l{depth}_n{i}")
                if 2 * i + 1 < len(below):
                    (alo, ahi), (blo, bhi) = below_ranges[2 * i], below_ranges[2 * i + 1]
                    # Both operands at one common width: the adder is then exactly as wide
                    # as its operands (plus carry), which Verilator -Wall accepts.
                    common = shape_of_range(min(alo, blo), max(ahi, bhi))
                    a = Signal(common, name=f"{prefix}l{depth}_n{i}_a")
                    b = Signal(common, name=f"{prefix}l{depth}_n{i}_b")
                    m.d.comb += [a.eq(below[2 * i]), b.eq(below[2 * i + 1]), node.eq(a + b)]
                else:
                    m.d.comb += node.eq(below[2 * i])
                level.append(node)
        if depth in register_after:
            staged = []
            for i, (lo, hi) in enumerate(ranges):
                reg = Signal(shape_of_range(lo, hi), name=f"{prefix}r{depth}_n{i}", reset_less=True)
                with m.If(en):
                    m.d.sync += reg.eq(level[i])
                staged.append(reg)
            level = staged
    return level[0]


class AdderTree(wiring.Component):
    """Sum of ``count`` equal-shape terms and an optional offset, as a balanced binary tree.

    Parameters
    ----------
    count : int
        Number of terms, at least 1.
    term_range : tuple of int
        ``(lo, hi)`` range of every term.
    offset_range : tuple of int, optional
        Range of the extra ``offset`` leaf; without it the port is absent.
    register_after : tuple of int
        Logic layers followed by a pipeline register: 0 registers the leaves, ``j >= 1`` the
        outputs of the ``j``-th adder level. Registers advance when ``en`` is high.

    Members
    -------
    terms : In(ArrayLayout(term_shape, count))
    offset : In(offset_shape), present with ``offset_range``
    en : In(1)
        Pipeline advance.
    total : Out(total_shape)
        The sum, ``len(register_after)`` cycles after its terms.
    """

    def __init__(
        self,
        *,
        count: int,
        term_range: tuple[int, int],
        offset_range: tuple[int, int] | None = None,
        register_after: tuple[int, ...] = (),
    ):
        with validating(self):
            if not isinstance(count, int) or count < 1:
                raise TypeError(f"Term count must be a positive integer, not {count!r}")
            if term_range[0] > term_range[1]:
                raise ValueError(f"Term range must be (lo, hi) with lo <= hi, not {term_range!r}")
            leaves = [tuple(term_range)] * count
            if offset_range is not None:
                leaves.append(tuple(offset_range))
            self._plan = plan_tree(leaves)
            register_after = checked_register_after(register_after, self._plan.depth)
        self._count = count
        self._term_range = tuple(term_range)
        self._offset_range = None if offset_range is None else tuple(offset_range)
        self._register_after = register_after
        members = {
            "terms": In(data.ArrayLayout(shape_of_range(*term_range), count)),
            "en": In(1),
            "total": Out(shape_of_range(*self._plan.root)),
        }
        if offset_range is not None:
            members["offset"] = In(shape_of_range(*offset_range))
        super().__init__(members)

    @property
    def count(self) -> int:
        return self._count

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
        level = [self.terms[i] for i in range(self._count)]
        if self._offset_range is not None:
            level.append(self.offset)
        m.d.comb += self.total.eq(build_tree(m, self._plan, level, self._register_after, self.en))
        return m


class Popcount(wiring.Component):
    """Number of ones in a ``width``-bit vector: a combinational adder tree over the bits.

    Members
    -------
    bits : In(width)
    count : Out(range(width + 1))
    """

    def __init__(self, *, width: int):
        with validating(self):
            if not isinstance(width, int) or width < 1:
                raise TypeError(f"Width must be a positive integer, not {width!r}")
        self._width = width
        super().__init__({"bits": In(width), "count": Out(shape_of_range(0, width))})

    @property
    def width(self) -> int:
        return self._width

    def elaborate(self, platform):
        m = Module()
        m.submodules.tree = tree = AdderTree(count=self._width, term_range=(0, 1))
        m.d.comb += [
            tree.terms.eq(self.bits),
            self.count.eq(tree.total),
        ]
        return m
