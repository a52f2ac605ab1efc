"""Bit-weight options of the multiplier-adder tree, as a PE arithmetic policy.

:class:`BitWeightMac` plugs into :class:`~shiftadd.hw.adder_tree_array.AdderTreeArray` like
the plain :class:`~shiftadd.hw.arith.Mac` policy: the array keeps its streams, registers,
weight port and pipeline control, and asks the policy for

* :meth:`BitWeightMac.shared`: once per array, one digit encoder per lane (radix-4 Booth for
  ``carry_save_accumulate`` alone, EN-T otherwise) and the sums of the negative digits'
  ``+1`` bits, which depend on the activation only and so are formed once for all neurons;
  with any pipeline register the first one holds these (the encoder register), and weight
  writes wait one step to match (:attr:`BitWeightMac.weight_delay`);
* :meth:`BitWeightMac.neuron`: per neuron a :class:`BitWeightNeuron`, either one carry-save
  tree over every partial product with one carry-propagate adder at the root (OPT1, and
  OPT1 + OPT2 with the same-bit-weight rows reduced first), or narrow same-bit-weight adder
  trees whose sums are shifted and added once (OPT2).

The structure (rows, masks, levels, widths, register layers) comes from
:attr:`shiftadd.design.AdderTreeDesign.bitweight`, which the golden and cost models read
too (:mod:`shiftadd.models.bitweight`).
"""

from __future__ import annotations

import dataclasses

from amaranth.hdl import Cat, Const, Module, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..design.adder_tree import AdderTreeDesign, plan_tree
from ..design.bitweight import ENCODER_LAYER
from ._util import validating
from .adder_tree import AdderTree, Popcount, build_tree
from .arith import Mac
from .booth import DIGIT_LAYOUT, booth_digits, ent_codes, ent_digit, select_row
from .csa import reduce_rows, runs_value
from .shapes import shape_of_range

__all__ = ["BitWeightMac", "BitWeightNeuron", "SharedDigits", "lane_digits", "sum_tree"]


@dataclasses.dataclass
class SharedDigits:
    """What the shared encoder logic hands to every neuron.

    ``digits[i][j]``: digit ``j`` of lane ``i`` (:data:`DIGIT_LAYOUT`); ``correction``: the
    carry-save trees' shared row; ``negcounts[j]``: negative digits at bit weight ``j``.
    """

    digits: list
    correction: Value | None = None
    negcounts: list | None = None


def lane_digits(m: Module, act: Value, design: AdderTreeDesign, name: str) -> list:
    """The digits of one activation as select wires, with the design's encoder."""
    plan = design.bitweight
    if plan.encoder == "booth":
        return booth_digits(m, act, design.act_bits, design.act_signed, name=name)
    negative, codes = ent_codes(m, act, design.act_bits, design.act_signed, name=name)
    return [ent_digit(m, code, negative, name=f"{name}_d{j}") for j, code in enumerate(codes)]


def sum_tree(
    m: Module, leaves: list[Value], ranges, register_after=(), en: Value = None, name: str = "sum"
) -> Value:
    """Balanced adder tree over leaves of different ranges (``plan_tree``), every node at its
    exact width, registers after the listed levels (1-based) when ``en`` is high."""
    return build_tree(m, plan_tree(ranges), leaves, tuple(register_after), en, prefix=f"{name}_")


class BitWeightNeuron(wiring.Component):
    """One neuron of the multiplier-adder tree with bit-weight options.

    Parameters
    ----------
    design : AdderTreeDesign
        A ``mac`` design with ``carry_save_accumulate`` and/or
        ``shared_encoder_same_bitweight``.
    register_after : tuple of int
        Logic layers followed by a pipeline register (the design's ``register_slots``,
        numbered as :attr:`~shiftadd.design.bitweight.BitWeightPlan.logic_layers`): 0 is the
        shared encoders, registered by :meth:`BitWeightMac.shared` and ignored here; 1 the
        partial-product selection; then the carry-save levels and the root adder, or the
        same-bit-weight tree levels and the combining tree levels.

    Members
    -------
    digits : In(ArrayLayout(ArrayLayout(DIGIT_LAYOUT, D), k))
        Every lane's digits (from the shared encoders).
    correction : In(W)
        Carry save: the shared row (negative digits' ``+1`` bits and sign constants).
    negcounts : In(ArrayLayout(range(k + 1), D))
        Plain same bit weight: negative digits per bit weight.
    weights : In(ArrayLayout(weight_shape, k))
    en : In(1)
    total : Out(acc_shape)
        The dot product.
    sum, carry : Out(W)
        Carry save: the pair at the tree's root (before the root adder), modulo ``2**W``.
    bitweight_sums : Out(ArrayLayout(signed, D))
        Plain same bit weight: the sum of each bit weight's partial products.
    """

    def __init__(self, *, design: AdderTreeDesign, register_after: tuple[int, ...] = ()):
        with validating(self):
            if (
                not isinstance(design, AdderTreeDesign)
                or design.bitweight is None
                or design.digit_sparse
            ):
                raise TypeError(
                    f"Design must be an AdderTreeDesign with carry_save_accumulate "
                    f"or shared_encoder_same_bitweight, not {design!r}"
                )
            register_after = tuple(sorted(register_after))
            if any(not 0 <= r < design.bitweight.logic_layers for r in register_after):
                raise ValueError(
                    f"Register layers must lie within "
                    f"0..{design.bitweight.logic_layers - 1}, not {register_after!r}"
                )
        self._design = design
        self._register_after = register_after
        # The neuron's own layers, from its partial-product selection (0) on.
        self._inner = tuple(r - ENCODER_LAYER - 1 for r in register_after if r > ENCODER_LAYER)
        plan = design.bitweight
        members = {
            "digits": In(data.ArrayLayout(data.ArrayLayout(DIGIT_LAYOUT, plan.digits), design.k)),
            "weights": In(
                data.ArrayLayout(
                    signed(design.weight_bits)
                    if design.weight_signed
                    else unsigned(design.weight_bits),
                    design.k,
                )
            ),
            "en": In(1),
            "total": Out(shape_of_range(*design.acc_range)),
        }
        if plan.carry_save:
            members.update(
                correction=In(plan.correction_width), sum=Out(plan.width), carry=Out(plan.width)
            )
        else:
            sums = shape_of_range(*plan.bitweight_tree.root)
            members.update(
                negcounts=In(data.ArrayLayout(shape_of_range(0, design.k), plan.digits)),
                bitweight_sums=Out(data.ArrayLayout(sums, plan.digits)),
            )
        super().__init__(members)

    @property
    def design(self) -> AdderTreeDesign:
        return self._design

    @property
    def register_after(self) -> tuple[int, ...]:
        return self._register_after

    def elaborate(self, platform):
        m = Module()
        if self._design.bitweight.carry_save:
            self._elaborate_carry_save(m)
        else:
            self._elaborate_same_bitweight(m)
        return m

    def _row(self, m, i, j):
        return select_row(m, self.weights[i], self.digits[i][j], name=f"pp{i}_{j}")

    def _elaborate_carry_save(self, m):
        d = self._design
        plan = d.bitweight
        b, w = plan.select_width, plan.width
        depth = plan.csa.depth
        leaves = []
        for i, j in plan.leaf_lanes:
            if i < 0:
                leaves.append([(0, plan.correction_width, self.correction)])
                continue
            shift = 2 * j
            if shift + b <= w:
                # Sign bit inverted: the row becomes unsigned; its -2**(b-1) is in the
                # correction constant.
                row = select_row(
                    m, self.weights[i], self.digits[i][j], name=f"pp{i}_{j}", biased=True
                )
                leaves.append([(shift, shift + b, row)])
            else:
                # Only the bits below the frame's top matter (arithmetic modulo 2**W); the
                # low bits of a two's complement row do not depend on its width, and the
                # inverted sign bit lies outside, so the constant (shifted out too) does not
                # change the result.
                row = select_row(
                    m, self.weights[i], self.digits[i][j], width=w - shift, name=f"pp{i}_{j}"
                )
                leaves.append([(shift, w, row.as_unsigned())])
        root = reduce_rows(
            m,
            leaves,
            plan.csa,
            register_after=[r for r in self._inner if r <= depth],
            en=self.en,
            name="csa",
        )
        m.d.comb += self.sum.eq(runs_value(root[0], w))
        if len(root) > 1:
            m.d.comb += self.carry.eq(runs_value(root[1], w))
        # The one carry-propagate adder, modulo 2**W (the dot product fits W bits).
        total = Signal(w, name="root_sum")
        m.d.comb += total.eq(self.sum + self.carry)
        if depth + 1 in self._inner:
            reg = Signal(w, name="root_reg", reset_less=True)
            with m.If(self.en):
                m.d.sync += reg.eq(total)
            total = reg
        m.d.comb += self.total.eq(total)

    def _elaborate_same_bitweight(self, m):
        d = self._design
        plan = d.bitweight
        bw_depth = plan.bitweight_tree.depth
        sums = []
        for j in range(plan.digits):
            tree = AdderTree(
                count=d.k,
                term_range=plan.row_range,
                offset_range=(0, d.k),
                register_after=tuple(r for r in self._inner if r <= bw_depth),
            )
            m.submodules[f"bitweight{j}"] = tree
            m.d.comb += [tree.en.eq(self.en), tree.offset.eq(self.negcounts[j])]
            for i in range(d.k):
                m.d.comb += tree.terms[i].eq(self._row(m, i, j))
            m.d.comb += self.bitweight_sums[j].eq(tree.total)
            sums.append(tree.total)
        # Shift the same-bit-weight sums by 2j and add them once.
        leaves = [Cat(Const(0, 2 * j), s).as_signed() if j else s for j, s in enumerate(sums)]
        root = sum_tree(
            m,
            leaves,
            plan.combine_ranges,
            register_after=tuple(r - bw_depth for r in self._inner if r > bw_depth),
            en=self.en,
            name="combine",
        )
        m.d.comb += self.total.eq(root[: plan.width])


def _register_shared(m: Module, shared: SharedDigits, en: Value) -> SharedDigits:
    """The encoder register: every lane's digit wires and the shared count (or correction
    row), loaded when ``en`` is high; one copy for all neurons."""

    def reg(value, shape, name):
        r = Signal(shape, name=name, reset_less=True)
        with m.If(en):
            m.d.sync += r.eq(value)
        return r

    digits = [
        [reg(dig, DIGIT_LAYOUT, f"enc{i}_r{j}") for j, dig in enumerate(lane)]
        for i, lane in enumerate(shared.digits)
    ]
    correction = negcounts = None
    if shared.correction is not None:
        correction = reg(shared.correction, shared.correction.shape(), "correction_r")
    if shared.negcounts is not None:
        negcounts = [reg(c, c.shape(), f"negcount{j}_r") for j, c in enumerate(shared.negcounts)]
    return SharedDigits(digits=digits, correction=correction, negcounts=negcounts)


class BitWeightMac(Mac):
    """The ``mac`` policy with bit-weight options: shared encoders, per-neuron
    :class:`BitWeightNeuron`."""

    def __init__(self, *, design: AdderTreeDesign):
        super().__init__(description=design.arith)
        self._design = design

    @property
    def name(self) -> str:
        return "mac_bitweight"

    @property
    def weight_delay(self) -> int:  # type: ignore[override]
        """1 with the encoder register: the rows read the weights one step later."""
        return int(ENCODER_LAYER in self._design.register_slots)

    @property
    def design(self) -> AdderTreeDesign:
        return self._design

    def shared(self, m, act, *, en: Value | None = None):
        """The digit encoders of every lane and the shared count of negative digits (plain
        same bit weight) or correction row (carry save), registered when the design's
        :attr:`~shiftadd.design.AdderTreeDesign.register_slots` include the encoder layer
        (the register advances with ``en``, the pipeline's advance)."""
        d = self._design
        plan = d.bitweight
        registered = ENCODER_LAYER in d.register_slots
        if registered and en is None:
            raise ValueError("the encoder register needs the pipeline advance (en)")
        digits = [lane_digits(m, act[i], d, name=f"enc{i}") for i in range(d.k)]
        if registered:
            # Named wires: the register and the shared count read the same digit (without
            # them the emitted count tree keeps half-used operand wires, which lint flags).
            named = []
            for i, lane in enumerate(digits):
                named.append([])
                for j, dig in enumerate(lane):
                    wire = Signal(DIGIT_LAYOUT, name=f"enc{i}_w{j}")
                    m.d.comb += wire.eq(dig)
                    named[-1].append(wire)
            digits = named
        if plan.carry_save:
            # Weighted count of the negative digits' +1 bits plus every row's sign constant:
            # one row for all neurons' trees.
            m.submodules.negsum = tree = AdderTree(count=d.k, term_range=plan.negsum_lane_range)
            m.d.comb += tree.en.eq(1)
            top = (
                max(j for j in range(plan.digits) if plan.negative_digits[j])
                if any(plan.negative_digits)
                else -1
            )
            for i in range(d.k):
                bits = []
                for j in range(top + 1):
                    bits += [
                        digits[i][j].neg if plan.negative_digits[j] else Const(0, 1),
                        Const(0, 1),
                    ]
                m.d.comb += tree.terms[i].eq(Cat(*bits[:-1]) if bits else 0)
            correction = Signal(plan.correction_width, name="correction")
            m.d.comb += correction.eq(tree.total + plan.correction_constant)
            shared = SharedDigits(digits=digits, correction=correction)
            return _register_shared(m, shared, en) if registered else shared
        negcounts = []
        for j in range(plan.digits):
            count = Popcount(width=d.k)
            m.submodules[f"negcount{j}"] = count
            m.d.comb += count.bits.eq(Cat(*(digits[i][j].neg for i in range(d.k))))
            negcounts.append(count.count)
        shared = SharedDigits(digits=digits, negcounts=negcounts)
        return _register_shared(m, shared, en) if registered else shared

    def neuron(self, m, *, name, shared, weights, k, offset, offset_range, register_after, en):
        d = self._design
        neuron = BitWeightNeuron(design=d, register_after=register_after)
        m.submodules[name] = neuron
        m.d.comb += [neuron.en.eq(en), neuron.weights.eq(weights)]
        for i in range(k):
            for j, digit in enumerate(shared.digits[i]):
                m.d.comb += neuron.digits[i][j].eq(digit)
        if shared.correction is not None:
            m.d.comb += neuron.correction.eq(shared.correction)
        else:
            for j, count in enumerate(shared.negcounts):
                m.d.comb += neuron.negcounts[j].eq(count)
        return neuron.total, d.acc_range
