"""The binary MAC array: the adder tree with on-chip accumulation (``accumulate = true``).

Each of the ``n`` lanes is a multi-cycle XNOR-popcount MAC: per cycle it takes one chunk of
``k`` activation bits (shared by the lanes) and its own ``k`` weight bits, adds the chunk's
match count to its accumulator, and on the chunk tagged ``last`` compares the total with its
threshold (the folded batch norm), one output bit per lane every ``ceil(K / k)`` cycles.
This is the conventional MAC-based BNN datapath (docs/tulip_facts.md, step 3 design note):
operands come from buffers every cycle, nothing is weight-stationary.

Dataflow, one chunk per cycle at full rate::

    act stream {values, weights, threshold, flip, first, last}
        -> port: offset = last ? -T : 0            (per lane)
        -> input register
        -> per lane: k XNOR terms + offset leaf -> balanced adder tree (pipeline registers)
        -> sum = (first ? 0 : acc) + tree           acc <= sum unless last
        -> [last] folded threshold sign test -> output register -> result stream

``-T`` enters the tree as its extra leaf on the last chunk only, so the accumulator holds a
match count (:attr:`~shiftadd.design.adder_tree.AdderTreeDesign.accumulator_range`, exact)
and the tags, the flip bit and the valid bit travel down the pipeline with their chunk.
Backpressure is the global stall of the other streaming engines.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..design.adder_tree import AdderTreeDesign
from ._util import delay_through, output_advance, validating
from .arith import pe_arithmetic, slice_lanes
from .folded_threshold import FoldedThreshold
from .shapes import shape_of_range

__all__ = ["BinaryMacArray", "chunk_layout"]


def chunk_layout(design: AdderTreeDesign, act_shape, weight_shape) -> data.StructLayout:
    """Payload of one chunk: ``k`` activations, every lane's ``k`` weights, every lane's
    threshold and flip bit (read on the ``last`` chunk only) and the two tags."""
    return data.StructLayout(
        {
            "values": data.ArrayLayout(act_shape, design.k),
            "weights": data.ArrayLayout(data.ArrayLayout(weight_shape, design.k), design.n),
            "threshold": data.ArrayLayout(signed(design.threshold_width), design.n),
            "flip": data.ArrayLayout(1, design.n),
            "first": 1,
            "last": 1,
        }
    )


class BinaryMacArray(wiring.Component):
    """``n`` XNOR-popcount MAC lanes accumulating chunks of ``k`` inputs.

    Parameters
    ----------
    design : AdderTreeDesign
        A validated design with ``accumulate``.
    hierarchical : bool
        Cut each lane's XNOR terms into identical lane slices, as
        :class:`~shiftadd.hw.adder_tree_array.AdderTreeArray` does.

    Members
    -------
    act : In(stream.Signature(chunk_layout))
        One chunk per transfer; an output's chunks are tagged ``first`` (the first) and
        ``last`` (the final one), at most ``accumulate_k / k`` of them.
    result : Out(stream.Signature(ArrayLayout(1, n)))
        One transfer per ``last`` chunk: every lane's output bit.
    """

    def __init__(self, *, design: AdderTreeDesign, hierarchical: bool = False):
        with validating(self):
            if not isinstance(design, AdderTreeDesign) or not design.accumulate:
                raise TypeError(
                    f"Design must be an AdderTreeDesign with accumulate, not {design!r}"
                )
        self._design = design
        self._arith = pe_arithmetic(design.arith)
        self._slices = slice_lanes(design.k) if hierarchical else 0
        layout = chunk_layout(design, self._arith.act_shape, self._arith.weight_shape)
        super().__init__(
            {
                "act": In(stream.Signature(layout)),
                "result": Out(stream.Signature(data.ArrayLayout(1, design.n))),
            }
        )

    @property
    def design(self) -> AdderTreeDesign:
        return self._design

    @property
    def latency(self) -> int:
        return self._design.latency

    @property
    def hierarchy_units(self) -> dict[str, str]:
        """Submodules kept as modules of their own by hierarchical emission."""
        if not self._slices:
            return {}
        count = self._design.k // self._slices
        return {f"neuron{n}_slice{g}": "slice" for n in range(self._design.n) for g in range(count)}

    def elaborate(self, platform):
        m = Module()
        d = self._design
        arith = self._arith
        slots = d.register_slots
        p = self.act.payload
        advance = output_advance(m, self.result, ready=(self.act,))

        # The port turns each threshold into the offset leaf (-T on the last chunk, else 0),
        # as the weight-stationary array's load port does, so the tree's first stage reads a
        # register.
        offset_shape = shape_of_range(*d.offset_range)
        values = Signal(p.values.shape(), name="act_reg", reset_less=True)
        weights = Signal(p.weights.shape(), name="w_reg", reset_less=True)
        offsets = Signal(data.ArrayLayout(offset_shape, d.n), name="offset_reg", reset_less=True)
        flips = Signal(d.n, name="flip_reg", reset_less=True)
        first = Signal(name="first_reg", reset_less=True)
        last = Signal(name="last_reg", reset_less=True)
        valid = Signal(name="act_valid")
        port_offsets = []
        for n in range(d.n):
            minus_t = Signal(offset_shape, name=f"minus_threshold{n}")
            m.d.comb += minus_t.eq(-p.threshold[n])
            port_offsets.append(Mux(p.last, minus_t, 0))
        with m.If(advance):
            m.d.sync += [
                values.eq(p.values),
                weights.eq(p.weights),
                *(offsets[n].eq(port_offsets[n]) for n in range(d.n)),
                flips.eq(p.flip.as_value()),
                first.eq(p.first),
                last.eq(p.last),
                valid.eq(self.act.valid),
            ]
        # Tags, flip bits and valid follow the chunk through every datapath register.
        valid_d, first_d, last_d, flips_d = delay_through(
            m, slots, advance, valid=valid, first=first, last=last, flips=flips
        )

        shared = arith.shared(m, values)
        acc_shape = shape_of_range(*d.accumulator_range)
        sum_shape = shape_of_range(*d.accumulated_range)
        for n in range(d.n):
            total, _ = arith.neuron(
                m,
                name=f"neuron{n}",
                shared=shared,
                weights=weights[n],
                k=d.k,
                offset=offsets[n],
                offset_range=d.offset_range,
                register_after=slots,
                en=advance,
                **({"slices": self._slices} if self._slices else {}),
            )
            # The lane's accumulator: cleared by a first chunk, loaded by every other
            # chunk but the last (whose sum carries -T and goes to the compare only).
            acc = Signal(acc_shape, name=f"acc{n}", reset_less=True)
            total_sum = Signal(sum_shape, name=f"sum{n}")
            m.d.comb += total_sum.eq(Mux(first_d, 0, acc) + total)
            with m.If(advance & valid_d & ~last_d):
                m.d.sync += acc.eq(total_sum)
            m.submodules[f"threshold{n}"] = compare = FoldedThreshold(
                diff_range=d.accumulated_range
            )
            m.d.comb += [compare.diff.eq(total_sum), compare.flip.eq(flips_d[n])]
            with m.If(advance):
                m.d.sync += self.result.payload[n].eq(compare.fire)

        with m.If(advance):
            m.d.sync += self.result.valid.eq(valid_d & last_d)
        return m
