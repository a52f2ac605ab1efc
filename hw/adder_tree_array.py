"""The adder-tree array: ``n`` neurons sharing one activation vector per cycle.

Dataflow, one vector per cycle at full rate::

    act stream -> input register -> per neuron: k lane terms (policy) + offset leaf
               -> balanced adder tree (pipeline registers as the design asks)
               -> [threshold sign test] -> output register -> result stream

Weights live in registers written through the ``weights`` stream, one neuron per
transfer; a write takes effect for every vector accepted after it. Everything that depends on
the weights (lane terms, offset leaf) is consumed in the first pipeline stage, and the flip
bit travels down the pipeline with its vector, so rewriting weights while vectors are in
flight never mixes old and new weights in one result. (A policy that registers logic
shared by all neurons first, the bit-weight encoders, reads the weights a step later:
the writes then wait as many steps in a register, ``weight_delay``.)

Backpressure is a global stall: the whole pipeline advances when the output register is
empty or being read, so ``act.ready = weights.ready = ~result.valid | result.ready``. Weight
writes wait during a stall because the vector held in the input register still reads the
weights.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..design.adder_tree import AdderTreeDesign
from ._util import delay_through, output_advance, register_input, validating
from .arith import pe_arithmetic, slice_lanes
from .bitweight import BitWeightMac
from .folded_threshold import FoldedThreshold
from .shapes import shape_of_range

__all__ = ["AdderTreeArray", "weight_write_layout"]


def weight_write_layout(design: AdderTreeDesign, weight_shape) -> data.StructLayout:
    """Payload of one weight write: the neuron index, its ``k`` weights and, with
    ``threshold``, its threshold and flip bit."""
    fields = {
        "neuron": max(1, (design.n - 1).bit_length()),
        "values": data.ArrayLayout(weight_shape, design.k),
    }
    if design.threshold:
        fields["threshold"] = signed(design.threshold_width)
        fields["flip"] = 1
    return data.StructLayout(fields)


class AdderTreeArray(wiring.Component):
    """``n`` neurons, each a ``k``-input dot product reduced by a balanced adder tree.

    Parameters
    ----------
    design : AdderTreeDesign
        The validated design; every width and the pipeline come from it.
    hierarchical : bool
        Cut each neuron's lanes into identical :class:`~shiftadd.hw.arith.LaneSlice`
        submodules (:attr:`hierarchy_units`), for hierarchical synthesis; the same logic as
        the default form. The bit-weight options keep their neurons whole.

    Members
    -------
    act : In(stream.Signature(ArrayLayout(act_shape, k)))
        Activation vectors, one per transfer.
    weights : In(stream.Signature(weight_write_layout))
        Weight writes, one neuron per transfer; ready whenever the pipeline advances.
    result : Out(stream.Signature(ArrayLayout(acc_shape or 1, n)))
        Per neuron, the dot product, or with ``threshold`` the output bit.
    """

    def __init__(self, *, design: AdderTreeDesign, hierarchical: bool = False):
        with validating(self):
            if not isinstance(design, AdderTreeDesign):
                raise TypeError(f"Design must be an AdderTreeDesign, not {design!r}")
        self._design = design
        # The bit-weight options (OPT1, OPT2) replace the mac lane arithmetic.
        self._arith = (
            BitWeightMac(design=design)
            if design.bitweight is not None
            else pe_arithmetic(design.arith)
        )
        self._slices = slice_lanes(design.k) if hierarchical and design.bitweight is None else 0
        out_shape = 1 if design.threshold else shape_of_range(*design.acc_range)
        super().__init__(
            {
                "act": In(stream.Signature(data.ArrayLayout(self._arith.act_shape, design.k))),
                "weights": In(
                    stream.Signature(weight_write_layout(design, self._arith.weight_shape))
                ),
                "result": Out(stream.Signature(data.ArrayLayout(out_shape, design.n))),
            }
        )

    @property
    def design(self) -> AdderTreeDesign:
        return self._design

    @property
    def arithmetic(self):
        return self._arith

    @property
    def latency(self) -> int:
        return self._design.latency

    @property
    def hierarchy_units(self) -> dict[str, str]:
        """Submodules kept as modules of their own by hierarchical emission (name to the
        kind of unit); empty in the default form."""
        if not self._slices:
            return {}
        count = self._design.k // self._slices
        return {f"neuron{n}_slice{g}": "slice" for n in range(self._design.n) for g in range(count)}

    def elaborate(self, platform):
        m = Module()
        d = self._design
        arith = self._arith
        slots = d.register_slots

        advance = output_advance(m, self.result, ready=(self.act, self.weights))
        act_reg, act_valid = register_input(m, self.act, advance)
        # The valid bit follows the data through every datapath register.
        valid = delay_through(m, slots, advance, valid=act_valid)

        wp = self.weights.payload
        fire = self.weights.valid & self.weights.ready
        for step in range(arith.weight_delay):
            # The lanes read the weights this many steps after the input register (shared
            # logic registered first): the write waits as long, moving with the pipeline.
            wp_next = Signal(wp.shape(), name=f"weight_write_d{step}", reset_less=True)
            fire_next = Signal(name=f"weight_write_d{step}_valid")
            with m.If(advance):
                m.d.sync += [wp_next.eq(wp), fire_next.eq(fire)]
            wp, fire = wp_next, fire_next & advance
        load_offset = None
        if d.has_offset_leaf:
            # Shared by all neurons: computed once at the write port, stored per neuron.
            minus_ones = arith.load_offset(m, wp.values.as_value())
            load_offset = Signal(shape_of_range(*d.offset_range))
            if not d.threshold:
                m.d.comb += load_offset.eq(minus_ones)
            else:
                # offset = minus_ones - T, both operands at the offset's own width.
                subtrahend = Signal(load_offset.shape(), name="threshold_ext")
                m.d.comb += subtrahend.eq(wp.threshold)
                if minus_ones is None:
                    m.d.comb += load_offset.eq(-subtrahend)
                else:
                    minuend = Signal(load_offset.shape(), name="minus_ones_ext")
                    m.d.comb += [minuend.eq(minus_ones), load_offset.eq(minuend - subtrahend)]

        # Logic on the vector shared by all neurons (encoders), per the policy.
        shared = arith.shared(m, act_reg, en=advance)
        for n in range(d.n):
            w_reg = Signal(wp.values.shape(), name=f"w{n}", reset_less=True)
            write = fire & (wp.neuron == n)
            with m.If(write):
                m.d.sync += w_reg.eq(wp.values)

            offset_reg = None
            if load_offset is not None:
                offset_reg = Signal.like(load_offset, name=f"offset{n}", reset_less=True)
                with m.If(write):
                    m.d.sync += offset_reg.eq(load_offset)
            # The policy builds the neuron's datapath (default: lane terms and an adder tree).
            total, total_range = arith.neuron(
                m,
                name=f"neuron{n}",
                shared=shared,
                weights=w_reg,
                k=d.k,
                offset=offset_reg,
                offset_range=d.offset_range if d.has_offset_leaf else None,
                register_after=slots,
                en=advance,
                **({"slices": self._slices} if self._slices else {}),
            )

            if d.threshold:
                flip_reg = Signal(name=f"flip{n}", reset_less=True)
                with m.If(write):
                    m.d.sync += flip_reg.eq(wp.flip)
                flip = delay_through(m, slots, advance, **{f"flip{n}": flip_reg})
                m.submodules[f"threshold{n}"] = compare = FoldedThreshold(diff_range=total_range)
                m.d.comb += [compare.diff.eq(total), compare.flip.eq(flip)]
                outcome = compare.fire
            else:
                outcome = total

            with m.If(advance):
                m.d.sync += self.result.payload[n].eq(outcome)

        with m.If(advance):
            m.d.sync += self.result.valid.eq(valid)
        return m
