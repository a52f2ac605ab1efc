"""PE arithmetic policies: how one lane turns an activation and a weight into a tree leaf.

The arrays are generic over a policy; a policy knows the operand shapes, builds the per-lane
term, and optionally a per-neuron constant computed once when the weights are loaded
(the *offset*), which the array feeds to its tree as one extra leaf.
"""

from __future__ import annotations

import abc

from amaranth.hdl import Cat, Const, Module, Mux, Shape, Value, signed, unsigned

from ..design.base import range_width

__all__ = ["PEArithmetic", "XnorPopcount", "AddSub", "Mac", "arithmetic_for", "shape_of_range",
           "shape_range"]


def shape_of_range(lo: int, hi: int) -> Shape:
    """The smallest Amaranth shape holding every integer in ``[lo, hi]``."""
    width, is_signed = range_width(lo, hi)
    return signed(width) if is_signed else unsigned(width)


def shape_range(shape: Shape) -> tuple[int, int]:
    """``(lo, hi)`` of every value of an Amaranth shape."""
    if shape.signed:
        return -(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1
    return 0, (1 << shape.width) - 1


class PEArithmetic(abc.ABC):
    """One lane's arithmetic.

    Parameters
    ----------
    act_shape, weight_shape : Shape
        Shapes of one activation and one weight as the ports carry them.
    term_range : tuple of int
        Range of the term :meth:`term` produces.
    """

    name: str = ""

    def __init__(self, *, act_shape: Shape, weight_shape: Shape, term_range: tuple[int, int]):
        self._act_shape = Shape.cast(act_shape)
        self._weight_shape = Shape.cast(weight_shape)
        self._term_range = tuple(term_range)

    @property
    def act_shape(self) -> Shape:
        return self._act_shape

    @property
    def weight_shape(self) -> Shape:
        return self._weight_shape

    @property
    def term_range(self) -> tuple[int, int]:
        return self._term_range

    @property
    def term_shape(self) -> Shape:
        return shape_of_range(*self._term_range)

    @abc.abstractmethod
    def term(self, act: Value, weight: Value) -> Value:
        """The tree leaf of one lane, an expression fitting :attr:`term_shape`."""

    def shared(self, m: Module, act: Value):
        """Logic built once per array on the registered activation vector ``act`` and used by
        every neuron (e.g. digit encoders), built into ``m``; the result is handed to
        :meth:`neuron`. The default shares nothing and hands the lanes on."""
        return act

    def neuron(self, m: Module, *, name: str, shared, weights: Value, k: int,
               offset: Value | None, offset_range, register_after: tuple[int, ...],
               en: Value) -> tuple[Value, tuple[int, int]]:
        """Build one neuron's datapath into ``m``: ``k`` lanes of ``shared`` against
        ``weights`` (plus the ``offset`` leaf), with pipeline registers after the logic
        layers ``register_after``, advancing when ``en`` is high.

        Returns ``(total, total_range)``. The default sums the lane terms of :meth:`term`
        with a balanced :class:`~shiftadd.hw.adder_tree.AdderTree` (submodule ``name``).
        """
        from .adder_tree import AdderTree

        tree = AdderTree(count=k, term_range=self.term_range, offset_range=offset_range,
                         register_after=register_after)
        m.submodules[name] = tree
        m.d.comb += tree.en.eq(en)
        for i in range(k):
            m.d.comb += tree.terms[i].eq(self.term(shared[i], weights[i]))
        if offset is not None:
            m.d.comb += tree.offset.eq(offset)
        return tree.total, tree.plan.root

    def load_offset(self, m: Module, weights: Value) -> Value | None:
        """Per-neuron constant computed from a row of weights (all ``k`` weight bits as one
        value) at load time, built into module ``m``; ``None`` when the policy has none."""
        return None

    def __repr__(self):
        return f"{type(self).__name__}(act={self._act_shape!r}, weight={self._weight_shape!r})"


class XnorPopcount(PEArithmetic):
    """Binary activations and weights (bit 1 = +1): the leaf is ``XNOR(a, w)``, 1 on a match."""

    name = "xnor"

    def __init__(self):
        super().__init__(act_shape=unsigned(1), weight_shape=unsigned(1), term_range=(0, 1))

    def term(self, act, weight):
        return ~(act ^ weight)


class AddSub(PEArithmetic):
    """Binary weights (bit 1 = +1, bit 0 = -1) and integer activations.

    ``-a`` costs an incrementer per lane in two's complement; the lane instead emits
    ``w ? a : ~a`` (``~a = -a - 1``) and :meth:`load_offset` supplies the number of -1 weights,
    added once per neuron, which restores the exact sum.
    """

    name = "addsub"

    def __init__(self, *, act_bits: int, act_signed: bool):
        if act_signed:
            lo, hi = -(1 << (act_bits - 1)), (1 << (act_bits - 1)) - 1
        else:
            # ~a of an unsigned a needs one more bit, as a signed value.
            lo, hi = -(1 << act_bits), (1 << act_bits) - 1
        self._act_signed = act_signed
        super().__init__(act_shape=signed(act_bits) if act_signed else unsigned(act_bits),
                         weight_shape=unsigned(1), term_range=(lo, hi))

    def term(self, act, weight):
        wide = act if self._act_signed else Cat(act, Const(0, 1)).as_signed()
        return Mux(weight, wide, ~wide)

    def load_offset(self, m, weights):
        from .adder_tree import Popcount

        m.submodules.minus_one_count = count = Popcount(width=len(weights))
        m.d.comb += count.bits.eq(~weights)
        return count.count


class Mac(PEArithmetic):
    """Integer activations and weights: the leaf is the product ``a * w``."""

    name = "mac"

    def __init__(self, *, act_bits, act_signed, weight_bits, weight_signed):
        a = signed(act_bits) if act_signed else unsigned(act_bits)
        w = signed(weight_bits) if weight_signed else unsigned(weight_bits)
        alo, ahi = shape_range(a)
        wlo, whi = shape_range(w)
        corners = (alo * wlo, alo * whi, ahi * wlo, ahi * whi)
        super().__init__(act_shape=a, weight_shape=w, term_range=(min(corners), max(corners)))

    def term(self, act, weight):
        return act * weight


def arithmetic_for(design) -> PEArithmetic:
    """The policy a design's ``mode`` names."""
    if design.mode == "xnor":
        return XnorPopcount()
    if design.mode == "addsub":
        return AddSub(act_bits=design.act_bits, act_signed=design.act_signed)
    if design.mode == "mac":
        return Mac(act_bits=design.act_bits, act_signed=design.act_signed,
                   weight_bits=design.weight_bits, weight_signed=design.weight_signed)
    raise ValueError(f"no arithmetic policy for mode {design.mode!r}")
