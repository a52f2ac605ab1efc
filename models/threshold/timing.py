"""The threshold array's register-to-register paths (:mod:`shiftadd.models.timing`).

The generator (:mod:`shiftadd.hw.threshold_array`) has one logic stage between the step
register (the instruction, broadcast to every PE) and the PEs' state. Per PE and neuron
input, the source multiplexer over ``sources = 1 + neurons + memory_bits + data_bits`` bits
is a one-hot multiplexer (yosys' ``$pmux``): the select field is compared with every source
index, and these decoders read only the instruction, so synthesis shares them between the
PEs; a decoded line then gates one source bit in each of the ``pes`` PEs (in the pooled PE
in both polarities, synthesis folding the programmable inversion into the AND-OR: two
gates per PE), and an OR tree collects the gated bits. The path from a select bit thus
runs through the net of the ``sources`` decoders reading it, a decoder (an AND of
``select_bits`` literals), the net of its gates in the PEs, the AND-OR (one AND level,
``ceil(log2 sources)`` OR levels, priced as and2 levels: NOR and NAND are AND's duals),
the programmable inversion (an XOR), the threshold neuron, and its enable into the
neuron's output register.

The neuron (:class:`~shiftadd.hw.threshold_neuron.ThresholdNeuron`) computes
``[sum_i w_i x_i >= t]``; its structure is the weighted sum's carry-save reduction and the
compare's carry chain: the weighted input bits (input ``i`` in the columns of the set bits
of ``w_i``) and the complemented threshold ``~t`` (the ``+1`` of ``-t`` is the carry-in)
are reduced to two rows by 3:2 compressor levels (Dadda's sequence of column heights), and
the compare is the carry out of their ``threshold_bits``-wide sum, a carry-propagate adder.

The other paths: the emit multiplexer (same decoder and AND-OR, inversion, into the result
register); the local-memory stores (``commit & store[n] & (addr[n] == a)``: the address
decoder, shared by the PEs like the source decoders, then per memory bit a priority chain
of ``neurons`` 2:1 muxes, the highest neuron winning, each feeding only the next and so
mapped onto AND-OR-invert cells, priced as and2 levels); the threshold field into each
neuron's compare; and the global enable ``advance = ~result.valid | result.ready``, which
loads the step register and, ANDed with the executing step's valid (``commit``), every
neuron's, memory bit's and result bit's enable, and with the step's ``load`` bit the data
registers.
"""

from __future__ import annotations

import math

from ...design.threshold import ThresholdDesign
from ..timing import Element, TimingPath, adder, csa, fanout, gates

__all__ = ["timing_paths", "neuron_elements", "compressor_levels", "source_mux_elements"]

#: Column heights Dadda's reduction passes through: a column of height ``h`` needs as many
#: 3:2 levels as entries of this sequence below ``h`` (beyond 2).
_DADDA = (2, 3, 4, 6, 9, 13, 19, 28, 42, 63)


def _log2_ceil(n: int) -> int:
    return math.ceil(math.log2(n)) if n > 1 else 0


def compressor_levels(design: ThresholdDesign) -> int:
    """3:2 compressor levels reducing a neuron's weighted inputs and ``~t`` to two rows.

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.

    Returns
    -------
    int
        Levels of Dadda's reduction for the tallest bit column.
    """
    d = design
    heights: dict[int, int] = {}
    for w in d.neuron_weights:
        for b in range(w.bit_length()):
            if w >> b & 1:
                heights[b] = heights.get(b, 0) + 1
    for b in range(d.threshold_bits):
        heights[b] = heights.get(b, 0) + 1
    tallest = max(heights.values())
    return sum(1 for h in _DADDA if h < tallest)


def neuron_elements(design: ThresholdDesign) -> list[Element]:
    """The threshold neuron from its inputs to its output register's D input.

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.

    Returns
    -------
    list of Element
        The carry-save reduction, the compare's carry chain and the enable mux.
    """
    d = design
    return [
        csa(compressor_levels(d), f"neuron weighted sum {list(d.neuron_weights)} and ~t (3:2)"),
        adder(d.threshold_bits, f"neuron compare (carry of a {d.threshold_bits}-bit sum)"),
        gates("mux2", 1, "neuron enable"),
    ]


def source_mux_elements(design: ThresholdDesign) -> list[Element]:
    """A PE's one-hot source multiplexer from a select bit of the instruction.

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.

    Returns
    -------
    list of Element
        The select bit's net, the shared decoder, the decoded line's net to the PEs, and
        the AND-OR.
    """
    d = design
    # In the pooled PE synthesis folds the programmable inversion into the AND-OR: the
    # decoded line gates its source bit in both polarities, two gates per PE (seen in the
    # netlists of tl_bnn_k64 and of 6-PE arrays; some small arrays keep one). The ring
    # PE's netlists show one.
    per_pe = 1 if d.ring else 2
    return [
        fanout(d.sources, "select bit to the source decoders"),
        gates("and2", max(1, _log2_ceil(d.select_bits)), "source decoder (shared by the PEs)"),
        fanout(per_pe * d.pes, "decoded line to every PE"),
        gates("and2", 1 + _log2_ceil(d.sources), f"AND-OR over {d.sources} sources"),
    ]


def _commit_loads(design: ThresholdDesign) -> int:
    """Gates ``commit`` drives: each neuron's enable, each store condition, the result."""
    d = design
    depth = d.neuron_register_bits if d.ring else d.memory_bits
    return d.neurons + d.neurons * depth + 1


def timing_paths(design: ThresholdDesign) -> list[TimingPath]:
    """Every register-to-register path of a threshold array.

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.

    Returns
    -------
    list of TimingPath
        Neuron evaluation (from a source select, a source bit and the threshold field),
        emit, memory store, and the enable paths.
    """
    d = design
    P, N, F = d.pes, d.neurons, d.fan_in
    L = d.neuron_register_bits if d.ring else d.memory_bits
    inversion = gates("xor2", 1, "input inversion")
    neuron = neuron_elements(d)
    # A neuron's register feeds every neuron input's multiplexer, the emit multiplexer and
    # the store chain of every memory bit (a memory or data bit only its hold mux). On the
    # ring PE: its own and the next neuron's inputs, the emit, its own register's bits.
    source_loads = 2 * F + 1 + L if d.ring else N * F + 1 + L
    # The store into a bit: the pooled PE's priority chain over the neurons; on the ring
    # PE only the owning neuron writes, through the bit's enable.
    chain = 1 if d.ring else N
    emit_mux = (
        [
            fanout(d.emit_sources, "emit select bit to its decoder"),
            gates("and2", max(1, _log2_ceil(d.emit_select_bits)), "emit decoder (shared)"),
            fanout(d.pes, "decoded line to every PE"),
            gates("and2", 1 + _log2_ceil(d.emit_sources), f"AND-OR over {d.emit_sources}"),
        ]
        if d.ring
        else source_mux_elements(d)
    )
    advance = [
        gates("and2", 1, "advance = ~valid | ready"),
        fanout(d.instruction_bits + 2 + P * d.data_bits, "advance net"),
    ]
    commit = [gates("and2", 1, "commit = advance & valid"), fanout(_commit_loads(d), "commit")]
    paths = [
        TimingPath(
            "neuron input: source select -> neuron register",
            (*source_mux_elements(d), inversion, *neuron),
        ),
        TimingPath(
            "neuron input: neuron register -> neuron register",
            (
                fanout(source_loads, "neuron register to every multiplexer"),
                gates("and2", 1 + _log2_ceil(d.sources), f"AND-OR over {d.sources} sources"),
                inversion,
                *neuron,
            ),
        ),
        TimingPath(
            "threshold field -> neuron register",
            (fanout(P, "threshold bit to every PE"), *neuron[1:]),
        ),
        TimingPath(
            "emit: source select -> result register",
            (*emit_mux, inversion, gates("mux2", 1, "result enable")),
        ),
        TimingPath(
            "memory store: address -> memory bit",
            (
                fanout(L, "address bit to the store decoders"),
                gates(
                    "and2",
                    max(1, _log2_ceil(d.address_bits)) + 1,
                    "store decoder & store & commit (shared by the PEs)",
                ),
                fanout(P, "store line to every PE"),
                gates("and2", chain, f"priority chain of {chain} stores"),
            ),
        ),
        TimingPath(
            "memory store: commit -> memory bit",
            (
                *advance,
                *commit,
                gates("and2", 1, "store condition"),
                fanout(P, "store line to every PE"),
                gates("and2", chain, f"priority chain of {chain} stores"),
            ),
        ),
        TimingPath(
            "neuron enable: commit -> neuron register",
            (*advance, *commit, gates("and2", 1, "commit & en"), fanout(P, "enable"), neuron[-1]),
        ),
        TimingPath(
            "data load: advance & load -> data registers",
            (
                *advance,
                gates("and2", 1, "advance & valid & load"),
                fanout(P * d.data_bits, "data load enable"),
                gates("mux2", 1, "data register enable"),
            ),
        ),
        TimingPath("step register enable", (*advance, gates("mux2", 1, "register load enable"))),
    ]
    return paths
