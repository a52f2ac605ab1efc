"""The weight-stationary systolic array (dataflow ``ws``).

PE ``(i, j)`` holds ``W[n0 + j, k0 + i]`` of the current weight tile. Activation vectors
(one K-tile's ``rows`` values per transfer) are skewed in, row ``i`` by ``i`` cycles, and hop
right one PE per cycle; partial sums hop down, so the bottom of column ``j`` holds the dot
product ``Y[m, n0 + j]`` ``rows + j`` cycles after the vector entered. With
``carry_save_accumulate`` the partial sums travel as carry-save pairs (twice the wires) and
one carry-propagate adder per column resolves them at the bottom edge. Column ``j`` is then
delayed ``cols - 1 - j`` more cycles, so one transfer carries a whole result row::

    act stream -> input register -> skew -> PE rows (activations right, sums down)
               -> [CPA per column] -> de-skew -> result register -> result stream

Weights are written one array row per transfer (``{row, values}``) straight into the PE
registers, which reset to zero (a tile with fewer reduction steps than ``rows`` leaves the
last rows unwritten, and every column sum passes through them). Vectors in flight must keep
the weights they were accepted with, so a write to row ``i`` is held (``ready`` low) until
``i + cols`` cycles after the last accepted vector, when every earlier vector has passed row
``i``; a vector accepted in or after the cycle of a write sees the new weights. Writes in
row order therefore wait ``cols - 1`` cycles once after a burst of vectors and then go one
per cycle.

Backpressure is a global stall: everything advances when the result register is empty or
being read.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..design.systolic import SystolicDesign
from ._util import output_advance, pe_units, validating
from .arith import pe_arithmetic
from .systolic_os import delay, result_layout
from .systolic_pe import chain_unit, hop_register, resolve, ws_pe

__all__ = ["WeightStationaryArray", "ws_weight_layout"]


def ws_weight_layout(design: SystolicDesign, weight_shape) -> data.StructLayout:
    """One weight write: array row ``row`` (the tile's reduction index ``k - k0``) and its
    ``cols`` weights. A row index of ``rows`` or more writes nothing."""
    return data.StructLayout(
        {
            "row": max(1, (design.rows - 1).bit_length()),
            "values": data.ArrayLayout(weight_shape, design.cols),
        }
    )


class WeightStationaryArray(wiring.Component):
    """A weight-stationary ``rows x cols`` systolic array.

    Parameters
    ----------
    design : SystolicDesign
        With ``dataflow = "ws"``.
    hierarchical : bool
        Build every PE as a :class:`~shiftadd.hw.systolic_pe.ChainPE` submodule
        (:attr:`hierarchy_units`), for hierarchical synthesis; the same logic, widths and
        registers as the default form, which builds the PEs into the array's module. The
        weight registers and the activations' hop registers stay in the array.

    Members
    -------
    act : In(stream.Signature(ArrayLayout(act_shape, rows)))
        One activation vector (a K-tile of one row of X) per transfer, never held.
    weights : In(stream.Signature(ws_weight_layout))
        One array row of weights per transfer; held as described above.
    result : Out(stream.Signature(ArrayLayout(result shape, cols)))
        ``Y[m, n0:n0 + cols]`` for each vector, ``design.latency`` cycles after it.
    """

    def __init__(self, *, design: SystolicDesign, hierarchical: bool = False):
        with validating(self):
            if not isinstance(design, SystolicDesign) or design.dataflow != "ws":
                raise TypeError(
                    f"Design must be a SystolicDesign with dataflow 'ws', not {design!r}"
                )
        self._design = design
        self._hierarchical = bool(hierarchical)
        self._arith = pe_arithmetic(design.arith)
        super().__init__(
            {
                "act": In(stream.Signature(data.ArrayLayout(self._arith.act_shape, design.rows))),
                "weights": In(stream.Signature(ws_weight_layout(design, self._arith.weight_shape))),
                "result": Out(stream.Signature(result_layout(design))),
            }
        )

    @property
    def design(self) -> SystolicDesign:
        return self._design

    @property
    def arithmetic(self):
        return self._arith

    @property
    def hierarchy_units(self) -> dict[str, str]:
        """Submodules kept as modules of their own by hierarchical emission (name to the
        kind of unit); empty in the default form."""
        return pe_units(self._hierarchical, self._design.rows, self._design.cols)

    def elaborate(self, platform):
        m = Module()
        d = self._design
        R, C, W, cs = d.rows, d.cols, d.acc_width, d.carry_save_accumulate
        act, weights, result = self.act, self.weights, self.result

        advance = output_advance(m, result)

        # Cycles of advance since the last accepted vector, saturating where every write
        # is allowed.
        top = R - 1 + d.weight_write_wait
        quiet = Signal(range(top + 1), init=top)
        row = weights.payload.row
        m.d.comb += [
            act.ready.eq(advance),
            weights.ready.eq(advance & (quiet >= row + d.weight_write_wait)),
        ]
        act_accept = act.valid & act.ready
        with m.If(advance):
            with m.If(act_accept):
                m.d.sync += quiet.eq(1)
            with m.Elif(quiet != top):
                m.d.sync += quiet.eq(quiet + 1)

        in_act = Signal(act.payload.shape(), reset_less=True)
        in_valid = Signal()
        with m.If(advance):
            m.d.sync += [in_act.eq(act.payload), in_valid.eq(act_accept)]

        write = weights.valid & weights.ready
        w_regs = []
        for i in range(R):
            # Reset to zero: a GEMM with K < rows never writes the last rows, and their
            # products (zero activations times these weights) still reach every column sum,
            # so a result must not read them uninitialized (X in a four-state simulation).
            regs = Signal(weights.payload.values.shape(), name=f"w_row{i}")
            with m.If(write & (row == i)):
                m.d.sync += regs.eq(weights.payload.values)
            w_regs.append(regs)

        act_edge = [delay(m, in_act[i], i, advance, f"act_row{i}") for i in range(R)]
        psums = [[None] * C for _ in range(R)]
        units = [[None] * C for _ in range(R)]
        act_pass = [[None] * C for _ in range(R)]
        for i in range(R):
            for j in range(C):
                a = act_edge[i] if j == 0 else act_pass[i][j - 1]
                if self._hierarchical:
                    units[i][j] = chain_unit(
                        m,
                        self._arith,
                        cs,
                        W,
                        a,
                        w_regs[i][j],
                        None if i == 0 else units[i - 1][j],
                        advance,
                        name=f"pe{i}_{j}",
                    )
                    psums[i][j] = units[i][j].psum()
                else:
                    psums[i][j], _ = ws_pe(
                        m,
                        self._arith,
                        cs,
                        W,
                        a,
                        w_regs[i][j],
                        None if i == 0 else psums[i - 1][j],
                        advance,
                        name=f"pe{i}_{j}",
                    )
                if j < C - 1:
                    act_pass[i][j] = hop_register(
                        m, a, units[i][j], "act", advance, name=f"act_{i}_{j}"
                    )

        valid = delay(m, in_valid, R + C - 1, advance, "valid", reset=True)
        with m.If(advance):
            m.d.sync += result.valid.eq(valid)
            for j in range(C):
                y = resolve(m, psums[R - 1][j], W, cs, name=f"cpa{j}")
                m.d.sync += result.payload[j].eq(delay(m, y, C - 1 - j, advance, f"deskew{j}"))
        return m
