"""The programmable threshold neuron: ``y <= [sum_i w_i x_i >= t]`` on an enabled clock edge.

The neuron is behavioural (a small weighted sum and a compare, then its output register), so
the array simulates and synthesizes from standard cells. It is also the unit a user may
replace with a characterized mixed-signal cell (an edge-triggered threshold-logic cell such
as TULIP's or a flash threshold-logic cell computes exactly this on a clock edge): the array
instantiates it as a separate Verilog module, see :func:`neuron_instance`.

Reprogramming ``t`` with weights ``(2, 1, 1, 1)`` gives, over the unit inputs ``a, b, c``:
OR (``t = 1``), majority and a full adder's carry (``t = 2``), AND (``t = 3``), and with the
weight-2 input fed the inverted carry, the full adder's sum (``t = 3``).
"""

from __future__ import annotations

from amaranth.hdl import Array, C, ClockSignal, Instance, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ._util import validating

__all__ = ["ThresholdNeuron", "neuron_instance"]


class ThresholdNeuron(wiring.Component):
    """One threshold neuron with fixed input weights and a programmable threshold.

    Parameters
    ----------
    weights : tuple of int
        Weight of each input, positive integers.
    threshold_bits : int, optional
        Width of ``t``; default just wide enough for ``sum(weights) + 1`` (never fires).

    Members
    -------
    x : In(len(weights))
        Binary inputs.
    t : In(threshold_bits)
        Threshold: 0 always fires, ``sum(weights) + 1`` never.
    en : In(1)
        Evaluate on this clock edge; otherwise the output holds.
    y : Out(1)
        The output register (reset to 0).
    """

    def __init__(self, *, weights, threshold_bits: int | None = None):
        with validating(self):
            weights = tuple(weights)
            if not weights or any(
                not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in weights
            ):
                raise ValueError(f"Weights must be positive integers, not {weights!r}")
            need = (sum(weights) + 1).bit_length()
            if threshold_bits is None:
                threshold_bits = need
            if not isinstance(threshold_bits, int) or threshold_bits < need:
                raise ValueError(
                    f"Threshold width must be an integer >= {need}, not {threshold_bits!r}"
                )
        self._weights = weights
        self._threshold_bits = threshold_bits
        super().__init__({"x": In(len(weights)), "t": In(threshold_bits), "en": In(1), "y": Out(1)})

    @property
    def weights(self) -> tuple:
        return self._weights

    @property
    def threshold_bits(self) -> int:
        return self._threshold_bits

    def elaborate(self, platform):
        m = Module()
        # The weighted sum as a table over the inputs (at most 2**9 entries): synthesis
        # gets the whole function to optimize, and no adder operand is wider than its
        # value, which keeps the flattened Verilog clean under verilator -Wall.
        width = sum(self._weights).bit_length()
        table = Array(
            [
                C(sum(w for i, w in enumerate(self._weights) if code >> i & 1), width)
                for code in range(1 << len(self._weights))
            ]
        )
        total = Signal(width)
        m.d.comb += total.eq(table[self.x])
        fire = Signal()
        m.d.comb += fire.eq(total >= self.t)
        with m.If(self.en):
            m.d.sync += self.y.eq(fire)
        return m


def neuron_instance(module: str, *, x, t, en, y) -> Instance:
    """An instance of the separately emitted neuron module ``module`` (the ports of
    :class:`ThresholdNeuron` as Amaranth emits them: ``clk``, ``rst``, ``x``, ``t``, ``en``,
    ``y``)."""
    return Instance(module, i_clk=ClockSignal(), i_rst=ResetSignal(), i_x=x, i_t=t, i_en=en, o_y=y)
