"""Output-stationary grids: the systolic array (dataflow ``os``) and the 2D matrix.

Both accumulate ``Y[i, j]`` of a tile in PE ``(i, j)`` while the tile's K steps stream in,
one step per transfer (a column of activations and a row of weights), and drain the tile's
results while the next tile accumulates. They differ only in how operands reach the PEs:

* systolic (``design.skewed``): the array skews the operands in (physical row ``p`` is
  delayed ``p`` cycles, column ``j`` by ``j``), activations hop right and weights down one
  PE per cycle, so PE ``(p, j)`` sees step ``k`` ``p + j`` cycles after it entered;
* 2D matrix: every row's activation and every column's weight is broadcast to its PEs in
  the same cycle.

Schedule (cycle counts in :mod:`shiftadd.models.systolic`, derivation in docs/systolic.md)::

    feed stream -> input register -> skew (or broadcast) -> PE accumulators
                -> drain registers, shifted down the columns -> [CPA] -> result register

Each PE's control (valid, last) comes from one shift register tapped at the PE's delay. On
a tile's last step the PE loads its finished value into its drain register and restarts.
``skew_max + 1`` cycles after the last step every drain register is loaded, and the columns
shift down for ``R`` cycles, physical row ``p`` only while rows above it still hold results
(a thermometer of row enables); the bottom row goes out, one tile row per transfer. Logical
tile row ``r`` sits in physical row ``R - 1 - r``, so rows leave in order ``0 .. R - 1``.
The next tile's last step is accepted only ``last_spacing`` cycles after the previous one,
when every drain register it loads has been emptied; other steps never wait.

Backpressure is a global stall: everything advances when the result register is empty or
being read.

Paper mode (``design.paper_structured``, the HPCA 2025 paper's public OS RTL): no stall, no
drain, no carry-propagate adder. Every register loads every cycle; a step not accepted
enters as zero operands (a zero product keeps every accumulator's value), and a PE restarts
on its tile's first step (the fed-back accumulator is ANDed off) instead of after its last.
``skew_max + 1`` cycles after the last step, when PE ``(R-1, C-1)`` has taken it, the
accumulators of all PEs leave as one transfer, read straight from their registers, and the
next tile's first step is accepted only then (:attr:`GridDesign.last_spacing`). The result
must be taken in the cycle it is valid: its ``ready`` is not read.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..design.systolic import GridDesign
from ._util import output_advance, pe_units, validating
from .arith import pe_arithmetic
from .csa import row_value
from .shapes import shape_of_range
from .systolic_pe import DrainingPE, gather, os_pe, paper_os_pe, resolve, spread

__all__ = ["OutputStationaryArray", "feed_layout", "result_layout", "paper_result_layout", "delay"]


def feed_layout(design: GridDesign, act_shape, weight_shape) -> data.StructLayout:
    """One K step of a tile: the tile's column of activations (``act[r]`` for tile row
    ``r``), its row of weights (``weight[c]`` for tile column ``c``), and ``last``, set on
    the tile's final step."""
    return data.StructLayout(
        {
            "act": data.ArrayLayout(act_shape, design.rows),
            "weight": data.ArrayLayout(weight_shape, design.cols),
            "last": 1,
        }
    )


def result_layout(design: GridDesign) -> data.ArrayLayout:
    """One row of a tile's results (``cols`` values)."""
    lo, hi = design.result_range
    return data.ArrayLayout(shape_of_range(lo, hi), design.cols)


def paper_result_layout(design: GridDesign) -> data.ArrayLayout:
    """Paper mode: a whole tile's accumulators in one transfer, element ``r * cols + c``
    for tile row ``r`` and column ``c``: the ``acc_width``-bit value; with
    ``carry_save_accumulate`` elements ``2 i`` and ``2 i + 1`` are the sum and carry of
    accumulator ``i``, unsigned ``acc_width``-bit rows (their sum modulo
    ``2**acc_width`` is the value)."""
    n = design.rows * design.cols
    if design.carry_save_accumulate:
        return data.ArrayLayout(unsigned(design.acc_width), 2 * n)
    return data.ArrayLayout(shape_of_range(*design.result_range), n)


def delay(m: Module, value, cycles: int, en, name: str, reset: bool = False):
    """``value`` delayed by ``cycles`` registers that advance when ``en`` (every cycle when
    ``en`` is None, as in paper mode)."""
    for i in range(cycles):
        reg = Signal.like(value, name=f"{name}_d{i + 1}", reset_less=not reset)
        if en is None:
            m.d.sync += reg.eq(value)
        else:
            with m.If(en):
                m.d.sync += reg.eq(value)
        value = reg
    return value


class OutputStationaryArray(wiring.Component):
    """An output-stationary ``rows x cols`` grid of accumulating PEs.

    Parameters
    ----------
    design : GridDesign
        A systolic design with ``dataflow = "os"`` or a 2D-matrix design.
    hierarchical : bool
        Build every PE as a :class:`~shiftadd.hw.systolic_pe.DrainingPE` submodule
        (:attr:`hierarchy_units`), for hierarchical synthesis; the same logic as the default
        form, which builds the PEs into the array's module.

    Members
    -------
    feed : In(stream.Signature(feed_layout))
        K steps of tiles, one per transfer; a step with ``last`` is held until
        ``design.last_spacing`` cycles after the previous tile's last step.
    result : Out(stream.Signature(ArrayLayout(result shape, cols)))
        Each tile's ``rows`` result rows in order, ``design.latency`` cycles after its last
        step and then one per cycle.
    """

    def __init__(self, *, design: GridDesign, hierarchical: bool = False):
        with validating(self):
            if not isinstance(design, GridDesign) or not design.is_output_stationary:
                raise TypeError(f"Design must be an output-stationary GridDesign, not {design!r}")
        self._design = design
        self._hierarchical = bool(hierarchical)
        self._arith = pe_arithmetic(design.arith)
        out_layout = (
            paper_result_layout(design) if design.paper_structured else result_layout(design)
        )
        super().__init__(
            {
                "feed": In(
                    stream.Signature(
                        feed_layout(design, self._arith.act_shape, self._arith.weight_shape)
                    )
                ),
                "result": Out(stream.Signature(out_layout)),
            }
        )

    @property
    def design(self) -> GridDesign:
        return self._design

    @property
    def arithmetic(self):
        return self._arith

    @property
    def hierarchy_units(self) -> dict[str, str]:
        """Submodules kept as modules of their own by hierarchical emission (name to the
        kind of unit); empty in the default form and in paper mode (built flat)."""
        if self._design.paper_structured:
            return {}
        return pe_units(self._hierarchical, self._design.rows, self._design.cols)

    def _pe(self, m, a, w, v, e, advance, p, j):
        """PE (p, j): ``(total, masks)`` as :func:`os_pe` returns them."""
        d = self._design
        cs = d.carry_save_accumulate
        if not self._hierarchical:
            total, _, _, masks = os_pe(
                m, self._arith, cs, d.acc_width, a, w, v, e, advance, name=f"pe{p}_{j}"
            )
            return total, masks
        pe = DrainingPE(arithmetic=self._arith, width=d.acc_width, carry_save=cs)
        m.submodules[f"pe{p}_{j}"] = pe
        m.d.comb += [pe.act.eq(a), pe.weight.eq(w), pe.valid.eq(v), pe.last.eq(e)]
        m.d.comb += pe.en.eq(advance)
        return (pe.rows(pe.total) if cs else pe.total), pe.masks

    def elaborate(self, platform):
        if self._design.paper_structured:
            return self._elaborate_paper()
        m = Module()
        d = self._design
        R, C, W, cs = d.rows, d.cols, d.acc_width, d.carry_save_accumulate
        skewed = d.skewed
        feed, result = self.feed, self.result

        advance = output_advance(m, result)

        # A tile's last step waits until the previous tile's results have left the drain
        # registers it would load (last_spacing cycles of advance since the previous last).
        spacing = d.last_spacing
        gap = Signal(range(spacing + 1), init=spacing)
        gap_ok = Signal()
        m.d.comb += [
            gap_ok.eq(gap == spacing),
            feed.ready.eq(advance & (~feed.payload.last | gap_ok)),
        ]
        accept = feed.valid & feed.ready
        with m.If(advance):
            with m.If(accept & feed.payload.last):
                m.d.sync += gap.eq(1)
            with m.Elif(~gap_ok):
                m.d.sync += gap.eq(gap + 1)

        in_act = Signal(feed.payload.act.shape(), reset_less=True)
        in_w = Signal(feed.payload.weight.shape(), reset_less=True)
        in_valid = Signal()
        in_end = Signal()
        with m.If(advance):
            m.d.sync += [
                in_act.eq(feed.payload.act),
                in_w.eq(feed.payload.weight),
                in_valid.eq(accept),
                in_end.eq(accept & feed.payload.last),
            ]

        # Step flags delayed 0 .. skew_max + 1 cycles; PE (p, j) taps its own delay.
        flags = [(in_valid, in_end)]
        for t in range(1, d.skew_max + 2):
            v, e = Signal(name=f"valid_t{t}"), Signal(name=f"end_t{t}")
            with m.If(advance):
                m.d.sync += [v.eq(flags[-1][0]), e.eq(flags[-1][1])]
            flags.append((v, e))

        def skew(p: int, j: int) -> int:
            return p + j if skewed else 0

        # Operands at the array edge: physical row p carries tile row R - 1 - p.
        act_edge = [
            delay(m, in_act[R - 1 - p], p if skewed else 0, advance, f"act_row{p}")
            for p in range(R)
        ]
        w_edge = [delay(m, in_w[j], j if skewed else 0, advance, f"w_col{j}") for j in range(C)]

        drain = [[None] * C for _ in range(R)]
        totals = [[None] * C for _ in range(R)]
        loads = [[None] * C for _ in range(R)]
        act_pass = [[None] * C for _ in range(R)]  # registered operands for the next PE
        w_pass = [[None] * C for _ in range(R)]
        for p in range(R):
            for j in range(C):
                if skewed:
                    a = act_edge[p] if j == 0 else act_pass[p][j - 1]
                    w = w_edge[j] if p == 0 else w_pass[p - 1][j]
                else:
                    a, w = act_edge[p], w_edge[j]
                v, e = flags[skew(p, j)]
                totals[p][j], masks = self._pe(m, a, w, v, e, advance, p, j)
                loads[p][j] = e  # a tile's last step (the end flag implies valid)
                # Systolic: operands hop one PE per cycle (no register past the edge).
                if skewed and j < C - 1:
                    act_pass[p][j] = Signal.like(a, name=f"act_{p}_{j}", reset_less=True)
                    with m.If(advance):
                        m.d.sync += act_pass[p][j].eq(a)
                if skewed and p < R - 1:
                    w_pass[p][j] = Signal.like(w, name=f"w_{p}_{j}", reset_less=True)
                    with m.If(advance):
                        m.d.sync += w_pass[p][j].eq(w)
                # Drain registers hold what the accumulator holds (carry-save: only the
                # bits that can be set).
                drain[p][j] = (
                    Signal(W, name=f"drain_{p}_{j}", reset_less=True)
                    if not cs
                    else tuple(
                        Signal(bin(mk).count("1"), name=f"drain_{p}_{j}_{part}", reset_less=True)
                        for mk, part in zip(masks, "sc")
                    )
                )

        # Drain: starts skew_max + 1 cycles after a tile's last step (all loaded), then
        # R cycles; row p shifts during the first p of them (while rows above hold results).
        start = flags[d.skew_max + 1][1]
        phase = [start]
        for s in range(1, R):
            reg = Signal(name=f"drain_phase{s}")
            with m.If(advance):
                m.d.sync += reg.eq(phase[-1])
            phase.append(reg)
        shift = [None]
        for p in range(1, R + 1):
            sh = Signal(name=f"drain_shift{p}")
            m.d.comb += sh.eq(phase[p - 1] if p == 1 else shift[p - 1] | phase[p - 1])
            shift.append(sh)
        out_en = shift[R]

        def load(p, j):
            if not cs:
                return [drain[p][j].eq(totals[p][j])]
            return [
                reg.eq(gather(row, mk)) for reg, row, mk in zip(drain[p][j], totals[p][j], masks)
            ]

        def move(p, j):
            if not cs:
                return [drain[p][j].eq(drain[p - 1][j])]
            return [a.eq(b) for a, b in zip(drain[p][j], drain[p - 1][j])]

        for p in range(R):
            for j in range(C):
                with m.If(advance):
                    with m.If(loads[p][j]):
                        m.d.sync += load(p, j)
                    if p > 0:
                        with m.Elif(shift[p]):
                            m.d.sync += move(p, j)

        with m.If(advance):
            m.d.sync += result.valid.eq(out_en)
            with m.If(out_en):
                for j in range(C):
                    out = drain[R - 1][j]
                    if cs:
                        out = tuple(spread(reg, mk, W) for reg, mk in zip(out, masks))
                    m.d.sync += result.payload[j].eq(resolve(m, out, W, cs, name=f"cpa{j}"))
        return m

    def _elaborate_paper(self):
        """Paper mode (see the module docstring): no enables, no drain, no adder."""
        m = Module()
        d = self._design
        R, C, cs = d.rows, d.cols, d.carry_save_accumulate
        feed, result = self.feed, self.result

        # A tile's first step waits until the previous tile's results have left
        # (last_spacing cycles after its last step); other steps never wait.
        spacing = d.last_spacing
        gap = Signal(range(spacing + 1), init=spacing)
        gap_ok = Signal()
        fresh = Signal(init=1)  # the next accepted step starts a tile
        m.d.comb += [gap_ok.eq(gap == spacing), feed.ready.eq(~fresh | gap_ok)]
        accept = feed.valid & feed.ready
        with m.If(accept & feed.payload.last):
            m.d.sync += gap.eq(1)
        with m.Elif(~gap_ok):
            m.d.sync += gap.eq(gap + 1)
        with m.If(accept):
            m.d.sync += fresh.eq(feed.payload.last)

        # Input registers load every cycle; a cycle without a step brings zero operands.
        in_act = Signal(feed.payload.act.shape(), reset_less=True)
        in_w = Signal(feed.payload.weight.shape(), reset_less=True)
        in_first = Signal()
        in_end = Signal()
        m.d.sync += [
            in_act.eq(Mux(accept, feed.payload.act, 0)),
            in_w.eq(Mux(accept, feed.payload.weight, 0)),
            in_first.eq(accept & fresh),
            in_end.eq(accept & feed.payload.last),
        ]
        # First-step flags for PE (p, j) at delay p + j; the end flag one stage further
        # marks the cycle PE (R-1, C-1) has taken the last step.
        firsts, ends = [in_first], [in_end]
        for t in range(1, d.skew_max + 2):
            f, e = Signal(name=f"first_t{t}"), Signal(name=f"end_t{t}")
            m.d.sync += [f.eq(firsts[-1]), e.eq(ends[-1])]
            firsts.append(f)
            ends.append(e)

        # Physical row p carries tile row R - 1 - p (as the default form).
        act_edge = [delay(m, in_act[R - 1 - p], p, None, f"act_row{p}") for p in range(R)]
        w_edge = [delay(m, in_w[j], j, None, f"w_col{j}") for j in range(C)]
        acc = [[None] * C for _ in range(R)]
        act_pass = [[None] * C for _ in range(R)]
        w_pass = [[None] * C for _ in range(R)]
        for p in range(R):
            for j in range(C):
                a = act_edge[p] if j == 0 else act_pass[p][j - 1]
                w = w_edge[j] if p == 0 else w_pass[p - 1][j]
                acc[p][j], _ = paper_os_pe(
                    m, self._arith, cs, d.acc_width, a, w, firsts[p + j], name=f"pe{p}_{j}"
                )
                if j < C - 1:
                    act_pass[p][j] = delay(m, a, 1, None, f"act_{p}_{j}")
                if p < R - 1:
                    w_pass[p][j] = delay(m, w, 1, None, f"w_{p}_{j}")

        m.d.comb += result.valid.eq(ends[d.skew_max + 1])
        for r in range(R):
            for c in range(C):
                value, i = acc[R - 1 - r][c], r * C + c
                if cs:
                    m.d.comb += [
                        result.payload[2 * i].eq(row_value(value[0])),
                        result.payload[2 * i + 1].eq(row_value(value[1])),
                    ]
                else:
                    m.d.comb += result.payload[i].eq(value)
        return m
