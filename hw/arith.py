"""PE arithmetic in hardware: one Amaranth class per mode of :mod:`shiftadd.design.arith`.

The arrays are generic over it. An instance wraps a mode's description (operand shapes,
value ranges) and builds what one lane contributes, in the form each array needs:

* :meth:`PEArithmetic.term`: the lane's leaf of an adder tree; a mode that negates by
  complement (``addsub``) emits ``w ? a : ~a`` and :meth:`PEArithmetic.load_offset` supplies
  the per-neuron count of -1 weights (computed once when the weights are loaded, one more
  leaf), which restores the exact sum; :meth:`PEArithmetic.shared` and
  :meth:`PEArithmetic.neuron` let a mode build logic shared by all neurons and its own
  neuron datapath (the bit-weight options do, :mod:`shiftadd.hw.bitweight`);
* :meth:`PEArithmetic.addend`: one term and an optional carry-in bit, for a PE with a
  carry-propagate accumulator (``acc + term + cin``);
* :meth:`PEArithmetic.csa_terms`: rows modulo ``2**W`` and single bits of weight 1, for a PE
  whose accumulator is a carry-save pair (``carry_save_accumulate``): Booth partial products
  for ``mac``, the one row ``+-a`` for ``addsub`` and ``ternary``.

Negation never needs an incrementer per lane: ``-a = ~a + 1`` and the ``+1`` rides in the
tree's offset leaf, as the carry-in (a carry-propagate accumulator one bit wider at the
bottom) or in a carry's free bit 0 (carry-save); Booth's ``-w`` comes from a prefix-OR
negator. :func:`pe_arithmetic` gives the class of a description.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..design.arith import AddSub as AddSubMode
from ..design.arith import Arithmetic
from ..design.arith import Mac as MacMode
from ..design.arith import Ternary as TernaryMode
from ..design.arith import Xnor as XnorMode
from ..design.tree import TreePlan, plan_tree
from .adder_tree import AdderTree, Popcount, build_tree
from .booth import booth_rows
from .shapes import operand_shape, shape_of_range

__all__ = [
    "PEArithmetic",
    "XnorPopcount",
    "AddSub",
    "Ternary",
    "Mac",
    "LaneSlice",
    "pe_arithmetic",
    "slice_lanes",
]

#: Lanes of one neuron slice in the hierarchical form of an adder-tree array.
SLICE_LANES = 16


def slice_lanes(k: int, limit: int = SLICE_LANES) -> int:
    """Lanes per slice when a ``k``-lane neuron is cut into identical slices: the largest
    power of two up to ``limit`` that divides ``k`` and leaves at least two slices, or 0 when
    none of at least 4 lanes exists (the neuron stays whole)."""
    s = limit
    while s >= 4:
        if k % s == 0 and k // s >= 2:
            return s
        s //= 2
    return 0


class PEArithmetic:
    """One lane's arithmetic in hardware, for a mode's description.

    Parameters
    ----------
    description : Arithmetic
        The mode and its operand codes (:mod:`shiftadd.design.arith`).
    """

    #: The description class this hardware class builds.
    describes: type[Arithmetic] = Arithmetic
    #: Pipeline steps between a vector leaving the input register and its lanes reading the
    #: weights (a policy that registers shared logic first reads them later); the array
    #: delays weight writes as much, so a write still applies to the vectors accepted after.
    weight_delay: int = 0

    def __init__(self, *, description: Arithmetic):
        if not isinstance(description, self.describes):
            raise TypeError(f"Description must be a {self.describes.__name__}, not {description!r}")
        self._description = description

    @property
    def description(self) -> Arithmetic:
        return self._description

    @property
    def name(self) -> str:
        return self._description.mode

    @property
    def act_shape(self) -> Shape:
        d = self._description
        return operand_shape(d.act_bits, d.act_signed)

    @property
    def weight_shape(self) -> Shape:
        d = self._description
        return operand_shape(d.weight_bits, d.weight_signed)

    @property
    def term_range(self) -> tuple[int, int]:
        return self._description.term_range

    @property
    def term_shape(self) -> Shape:
        return shape_of_range(*self.term_range)

    # -- adder-tree lanes ---------------------------------------------------------------
    def term(self, act: Value, weight: Value) -> Value:
        """The tree leaf of one lane, an expression fitting :attr:`term_shape`."""
        raise NotImplementedError(f"{self.name} lanes have no adder-tree term")

    def shared(self, m: Module, act: Value, *, en: Value | None = None):
        """Logic built once per array on the registered activation vector ``act`` and used by
        every neuron (e.g. digit encoders), built into ``m``; the result is handed to
        :meth:`neuron`. ``en`` is the pipeline advance, for a policy that registers its
        shared logic. The default shares nothing and hands the lanes on."""
        return act

    def neuron(
        self,
        m: Module,
        *,
        name: str,
        shared,
        weights: Value,
        k: int,
        offset: Value | None,
        offset_range,
        register_after: tuple[int, ...],
        en: Value,
        slices: int = 0,
    ) -> tuple[Value, tuple[int, int]]:
        """Build one neuron's datapath into ``m``: ``k`` lanes of ``shared`` against
        ``weights`` (plus the ``offset`` leaf), with pipeline registers after the logic
        layers ``register_after``, advancing when ``en`` is high.

        Returns ``(total, total_range)``. The default sums the lane terms of :meth:`term`
        with a balanced :class:`~shiftadd.hw.adder_tree.AdderTree` (submodule ``name``).
        With ``slices`` (lanes per slice, :func:`slice_lanes`) the same tree is cut into
        identical :class:`LaneSlice` submodules ``<name>_slice<g>`` (the lanes' terms and the
        tree's lowest levels) under the remaining levels, for hierarchical synthesis: the
        value and every node's width and register are those of the whole tree.
        """
        if slices:
            return self._sliced_neuron(
                m, name, shared, weights, k, offset, offset_range, register_after, en, slices
            )
        tree = AdderTree(
            count=k,
            term_range=self.term_range,
            offset_range=offset_range,
            register_after=register_after,
        )
        m.submodules[name] = tree
        m.d.comb += tree.en.eq(en)
        for i in range(k):
            m.d.comb += tree.terms[i].eq(self.term(shared[i], weights[i]))
        if offset is not None:
            m.d.comb += tree.offset.eq(offset)
        return tree.total, tree.plan.root

    def _sliced_neuron(
        self, m, name, shared, weights, k, offset, offset_range, register_after, en, lanes
    ):
        if k % lanes or lanes & (lanes - 1):
            raise ValueError(f"{lanes} lanes per slice do not cut {k} lanes into equal slices")
        leaves = [self.term_range] * k + ([tuple(offset_range)] if offset is not None else [])
        plan = plan_tree(leaves)
        # With k a multiple of the slice (a power of two), the tree's lowest log2(lanes)
        # levels are the slices' own trees, and the offset leaf passes through them alone.
        low = lanes.bit_length() - 1
        inner = tuple(d for d in register_after if d <= low)
        outer = tuple(d - low for d in register_after if d > low)
        lane_width = self.act_shape.width
        if any(len(Value.cast(shared[i])) != lane_width for i in range(k)):
            raise ValueError("slices take the lanes as shared() hands them on, unchanged")
        roots = []
        for g in range(k // lanes):
            part = LaneSlice(arithmetic=self, lanes=lanes, register_after=inner)
            m.submodules[f"{name}_slice{g}"] = part
            lane_ids = range(g * lanes, (g + 1) * lanes)
            m.d.comb += [
                part.shared.eq(Cat(*(shared[i] for i in lane_ids))),
                part.weights.eq(Cat(*(weights[i] for i in lane_ids))),
                part.en.eq(en),
            ]
            roots.append(part.total)
        if offset is not None:
            # The offset leaf meets the registers of the levels it passes inside the slices.
            for i in range(len(inner)):
                reg = Signal(
                    shape_of_range(*offset_range), name=f"{name}_offset_d{i + 1}", reset_less=True
                )
                with m.If(en):
                    m.d.sync += reg.eq(offset)
                offset = reg
            roots.append(offset)
        upper = TreePlan(levels=plan.levels[low:])
        return build_tree(m, upper, roots, outer, en, prefix=f"{name}_"), plan.root

    def load_offset(self, m: Module, weights: Value) -> Value | None:
        """Per-neuron constant computed from a row of weights (all ``k`` weight bits as one
        value) at load time, built into module ``m``; ``None`` when the mode has none."""
        return None

    # -- accumulating PEs ---------------------------------------------------------------
    @property
    def injections(self) -> int:
        """Single bits :meth:`csa_terms` returns."""
        return 0

    def addend(self, m: Module, act: Value, weight: Value, name: str) -> tuple[Value, Value | None]:
        """``(term, carry_in)`` with ``term + carry_in == act * weight``."""
        return self.term(act, weight), None

    def csa_terms(
        self, m: Module, act: Value, weight: Value, width: int, name: str
    ) -> tuple[list, list, list | None]:
        """``(rows, bits, digits)``: rows ``(value, shift)`` (the row is ``value << shift``,
        extended by ``value``'s signedness) or ``(value, shift, sign)`` (an unsigned
        ``value`` extended by the one-bit ``sign``), and single bits, whose sum is
        ``act * weight`` modulo ``2**width``; ``digits`` are the Booth digits when the
        mode encodes the activation (else None)."""
        return [(self.term(act, weight), 0)], [], None

    def _wide_act(self, act: Value) -> Value:
        """The activation as a signed value (one bit wider when unsigned), so ``~a`` is
        ``-a - 1`` exactly."""
        if self._description.act_signed:
            return act
        return Cat(act, Const(0, 1)).as_signed()

    def __repr__(self):
        return f"{type(self).__name__}({self._description!r})"


class XnorPopcount(PEArithmetic):
    """Binary activations and weights (bit 1 = +1): the leaf is ``XNOR(a, w)``, 1 on a match."""

    describes = XnorMode

    def term(self, act, weight):
        return ~(act ^ weight)


class AddSub(PEArithmetic):
    """Binary weights (bit 1 = +1, bit 0 = -1) and integer activations: the lane emits
    ``w ? a : ~a`` (``~a = -a - 1``); the weight's complement is the +1 (the tree's count of
    -1 weights, or a PE's carry-in)."""

    describes = AddSubMode

    def term(self, act, weight):
        wide = self._wide_act(act)
        return Mux(weight, wide, ~wide)

    def load_offset(self, m, weights):
        m.submodules.minus_one_count = count = Popcount(width=len(weights))
        m.d.comb += count.bits.eq(~weights)
        return count.count

    @property
    def injections(self):
        return 1

    def addend(self, m, act, weight, name):
        return self.term(act, weight), ~weight[0]

    def csa_terms(self, m, act, weight, width, name):
        if not self._description.act_signed:
            # +-a of an unsigned a: the low bits w ? a : ~a, and above them ~w, which is
            # also the +1 of the negation: one wire for both.
            sign = ~weight[0]
            return [(Mux(weight, act, ~act), 0, sign)], [sign], None
        term, cin = self.addend(m, act, weight, name)
        return [(term, 0)], [cin], None


class Ternary(PEArithmetic):
    """Ternary weights as 2-bit two's complement codes (0b01 = +1, 0b00 = 0, 0b11 = -1):
    bit 0 enables the term, bit 1 selects ``~a`` and the carry-in. The unused code 0b10
    contributes 0."""

    describes = TernaryMode

    def term(self, act, weight):
        wide = self._wide_act(act)
        return Mux(weight[0], Mux(weight[1], ~wide, wide), 0)

    @property
    def injections(self):
        return 1

    def addend(self, m, act, weight, name):
        nonzero, negative = weight[0], weight[1]
        return self.term(act, weight), nonzero & negative

    def csa_terms(self, m, act, weight, width, name):
        if not self._description.act_signed:
            # As for add/sub: the sign of +-a (or of 0) is the +1 of the negation.
            sign = weight[0] & weight[1]
            return [(Mux(weight[0], Mux(weight[1], ~act, act), 0), 0, sign)], [sign], None
        term, cin = self.addend(m, act, weight, name)
        return [(term, 0)], [cin], None


class Mac(PEArithmetic):
    """Integer activations and weights: the leaf is the product ``a * w``; in carry-save
    form, radix-4 Booth partial products of the activation's digits times the weight
    (OPT1)."""

    describes = MacMode

    def term(self, act, weight):
        return act * weight

    @property
    def injections(self):
        return 1

    def csa_terms(self, m, act, weight, width, name):
        d = self._description
        rows, bit, digits = booth_rows(
            m,
            act,
            d.act_bits,
            d.act_signed,
            weight,
            d.weight_bits,
            d.weight_signed,
            width,
            name=name,
        )
        return rows, [bit], digits


class LaneSlice(wiring.Component):
    """``lanes`` lanes of a neuron: the arithmetic's terms and the balanced adder tree over
    them, the unit the hierarchical form of an adder-tree array synthesizes once.

    Parameters
    ----------
    arithmetic : PEArithmetic
        Builds each lane's term (:meth:`PEArithmetic.term`).
    lanes : int
        Lanes, a power of two of at least 2.
    register_after : tuple of int
        Tree levels followed by a pipeline register (as :class:`AdderTree`).

    Members
    -------
    shared, weights : In(ArrayLayout)
        The lanes' activations (as :meth:`PEArithmetic.shared` hands them on) and weights.
    en : In(1)
        Pipeline advance.
    total : Out(shape of the sum)
    """

    def __init__(self, *, arithmetic: PEArithmetic, lanes: int, register_after=()):
        if not isinstance(arithmetic, PEArithmetic):
            raise TypeError(f"Arithmetic must be a PEArithmetic, not {arithmetic!r}")
        if not isinstance(lanes, int) or lanes < 2 or lanes & (lanes - 1):
            raise TypeError(f"Lanes must be a power of two of at least 2, not {lanes!r}")
        self._arith = arithmetic
        self._plan = plan_tree([arithmetic.term_range] * lanes)
        self._register_after = tuple(register_after)
        super().__init__(
            {
                "shared": In(data.ArrayLayout(arithmetic.act_shape, lanes)),
                "weights": In(data.ArrayLayout(arithmetic.weight_shape, lanes)),
                "en": In(1),
                "total": Out(shape_of_range(*self._plan.root)),
            }
        )

    @property
    def lanes(self) -> int:
        """Lanes of the slice."""
        return len(self._plan.levels[0])

    def elaborate(self, platform):
        m = Module()
        # The arithmetic's own (unsliced) neuron over the slice's lanes.
        total, _ = self._arith.neuron(
            m,
            name="tree",
            shared=self.shared,
            weights=self.weights,
            k=self.lanes,
            offset=None,
            offset_range=None,
            register_after=self._register_after,
            en=self.en,
        )
        m.d.comb += self.total.eq(total)
        return m


_BY_DESCRIPTION = {cls.describes: cls for cls in (XnorPopcount, AddSub, Ternary, Mac)}


def pe_arithmetic(description: Arithmetic) -> PEArithmetic:
    """The hardware arithmetic of a mode's description."""
    return _BY_DESCRIPTION[type(description)](description=description)
