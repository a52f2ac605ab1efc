"""The ShiftAddLLM engine: shared LUT builder, lookup PEs, shifters and accumulators.

Dataflow (activations stationary, weights streaming, one weight transfer per cycle)::

    act stream -> input register -> LUT builder -> table slot (flip-flops)
                                                        |  (slot mux, shared)
    weights    -> input register -> per column, per plane: lookup PE (key = mu plane bits)
                                 -> per term: shift (barrel or wiring), conditional invert
                                 -> plane-sum adder tree (+ count of negative terms)
                                 -> accumulator -> output register on ``last`` -> result

An activation transfer writes one table slot; a table write takes effect for every weight
transfer accepted after it (a weight transfer accepted in the same cycle still reads the
previous table). A weight transfer names the slot it reads and carries, for each of
``columns`` output rows, the ``mu``-bit key of every plane, plus the scale terms
(``shifter = "barrel"``). Results accumulate over consecutive weight transfers; the one
flagged ``last`` emits the sums and the next transfer starts from zero. A design with
``acc_groups = 1`` has no accumulators and no ``last`` field: every transfer emits its sums.

Backpressure is a global stall, as in the adder-tree array:
``act.ready = weights.ready = ~result.valid | result.ready``, and table writes happen only
when the pipeline advances, so a stalled weight transfer never sees a later table.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..design.shiftadd import ShiftAddDesign
from ._util import delay_through, output_advance, register_input, validating
from .shapes import shape_of_range
from .shiftadd_lut import LutBuilder, LutLookup, mux_tree
from .shiftadd_shift import TermTree, scales_for

__all__ = ["ShiftAddEngine", "act_layout", "weight_layout"]


def _act_shape(design: ShiftAddDesign):
    return signed(design.act_bits)


def act_layout(design: ShiftAddDesign) -> data.StructLayout:
    """Payload of one activation transfer: the table slot to write (with more than one
    slot) and ``mu`` activations."""
    fields = {"values": data.ArrayLayout(_act_shape(design), design.mu)}
    if design.lut_slots > 1:
        fields = {"slot": unsigned(design.slot_bits), **fields}
    return data.StructLayout(fields)


def weight_layout(design: ShiftAddDesign) -> data.StructLayout:
    """Payload of one weight transfer: slot to read (with more than one slot), ``last``
    (when the design accumulates, ``acc_groups > 1``),
    ``keys[column * q + plane]`` (``mu`` bits, bit ``j`` = input ``j`` of the group, 1 = +1)
    and, with barrel shifters, ``shifts`` / ``signs`` ``[(scale set * q + plane) * terms +
    term]``. Flat arrays: the bench packs them in one vectorized step."""
    fields = {}
    if design.lut_slots > 1:
        fields["slot"] = unsigned(design.slot_bits)
    if design.accumulates:
        fields["last"] = unsigned(1)
    fields["keys"] = data.ArrayLayout(unsigned(design.mu), design.columns * design.q)
    fields.update(scales_for(design).payload_fields())
    return data.StructLayout(fields)


class ShiftAddEngine(wiring.Component):
    """LUT-and-shift engine for binary-coded weights (see the module docstring).

    Parameters
    ----------
    design : ShiftAddDesign

    Members
    -------
    act : In(stream.Signature(act_layout))
        Activation groups, one table per transfer.
    weights : In(stream.Signature(weight_layout))
        Weight transfers, one per cycle at full rate.
    result : Out(stream.Signature(ArrayLayout(acc_shape, columns)))
        Accumulated sums, one transfer per ``last`` weight transfer.
    """

    def __init__(self, *, design: ShiftAddDesign):
        with validating(self):
            if not isinstance(design, ShiftAddDesign):
                raise TypeError(f"Design must be a ShiftAddDesign, not {design!r}")
        self._design = design
        self._scales = scales_for(design)
        super().__init__(
            {
                "act": In(stream.Signature(act_layout(design))),
                "weights": In(stream.Signature(weight_layout(design))),
                "result": Out(
                    stream.Signature(
                        data.ArrayLayout(shape_of_range(*design.acc_range), design.columns)
                    )
                ),
            }
        )

    @property
    def design(self) -> ShiftAddDesign:
        return self._design

    @property
    def scales(self):
        return self._scales

    @property
    def latency(self) -> int:
        return self._design.latency

    def elaborate(self, platform):
        m = Module()
        d = self._design
        slots = d.register_slots

        advance = output_advance(m, self.result, ready=(self.act, self.weights))

        # -- tables: input register, builder, slots ----------------------------------------
        act_reg, act_valid = register_input(m, self.act, advance)
        m.submodules.builder = builder = LutBuilder(mu=d.mu, act_shape=_act_shape(d))
        m.d.comb += builder.x.eq(act_reg.values)
        tables = []
        for s in range(d.lut_slots):
            table = Signal(builder.table.shape(), name=f"table{s}", reset_less=True)
            hit = act_valid & advance
            if d.lut_slots > 1:
                hit = hit & (act_reg.slot == s)
            with m.If(hit):
                m.d.sync += table.eq(builder.table)
            tables.append(table)

        # -- weights: input register, lookups, shifts, plane trees --------------------------
        w_reg = Signal(self.weights.payload.shape(), reset_less=True)
        w_valid = Signal()
        with m.If(advance):
            m.d.sync += [w_reg.eq(self.weights.payload), w_valid.eq(self.weights.valid)]
        if d.lut_slots > 1:
            # One slot mux shared by every lookup PE.
            raw = mux_tree(
                m,
                [t.as_value() for t in tables],
                w_reg.slot,
                unsigned(len(tables[0].as_value())),
                "slot_sel",
            )
            table = data.View(builder.table.shape(), raw)
        else:
            table = tables[0]

        offsets = [self._scales.offset(m, w_reg, s) for s in range(d.scale_sets)]
        totals = []
        for c in range(d.columns):
            values = []
            for i in range(d.q):
                pe = LutLookup(mu=d.mu, entry_shape=builder.entry_shape)
                m.submodules[f"c{c}_p{i}_lookup"] = pe
                m.d.comb += [pe.table.eq(table), pe.key.eq(w_reg.keys[c * d.q + i])]
                values.append(pe.value)
            scale_set = c // d.scale_rows
            leaves = self._scales.leaves(m, values, w_reg, scale_set, f"c{c}")
            offset = offsets[scale_set]
            if offset is not None:
                leaves = [*leaves, offset]
            tree = TermTree(leaf_ranges=d.tree.levels[0], register_after=slots)
            m.submodules[f"c{c}_tree"] = tree
            m.d.comb += tree.en.eq(advance)
            for k, leaf in enumerate(leaves):
                m.d.comb += getattr(tree, f"leaf{k}").eq(leaf)
            totals.append(tree.total)

        acc_shape = shape_of_range(*d.acc_range)
        if not d.accumulates:
            # One transfer per result: no accumulators, every transfer emits its sums.
            valid = delay_through(m, slots, advance, valid=w_valid)
            with m.If(advance):
                m.d.sync += self.result.valid.eq(valid)
                for c, total in enumerate(totals):
                    out = Signal(acc_shape, name=f"sum{c}")
                    m.d.comb += out.eq(total)
                    m.d.sync += self.result.payload[c].eq(out)
            return m

        # valid and last follow the data through every datapath register.
        valid, last = delay_through(m, slots, advance, valid=w_valid, last=w_reg.last)

        # -- accumulators ---------------------------------------------------------------------
        fresh = Signal(init=1)  # the next transfer starts a new sum
        with m.If(advance & valid):
            m.d.sync += fresh.eq(last)
        for c, total in enumerate(totals):
            acc = Signal(acc_shape, name=f"acc{c}", reset_less=True)
            base = Signal(acc_shape, name=f"acc{c}_base")
            addend = Signal(acc_shape, name=f"acc{c}_addend")
            nxt = Signal(acc_shape, name=f"acc{c}_next")
            # The sum fits acc_shape by construction (acc_range bounds it), so the
            # truncation of the adder's carry-out is exact.
            m.d.comb += [base.eq(Mux(fresh, 0, acc)), addend.eq(total), nxt.eq(base + addend)]
            with m.If(advance & valid):
                with m.If(last):
                    m.d.sync += self.result.payload[c].eq(nxt)
                with m.Else():
                    m.d.sync += acc.eq(nxt)
        with m.If(advance):
            m.d.sync += self.result.valid.eq(valid & last)
        return m
