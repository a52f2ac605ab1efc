"""The 3D-Cube engine (:class:`~shiftadd.design.cube.CubeDesign`).

PE ``(r, k, c)`` of a ``rows x depth x cols`` cube multiplies the activation ``X[r, k]``
of the current tile by the weight ``W[c, k]`` and registers the sum of that product and the
partial sum of PE ``(r, k - 1, c)``. Activations enter at the ``c = 0`` face and hop along
``c``, weights enter at the ``r = 0`` face and hop along ``r``, one register per PE, and the
partial sums chain along ``k``: the dataflow of the bit-weight paper's public cube RTL
(REFERENCE.md section 8), whose PEs are built here by the grid engines' partial-sum PE
(:func:`shiftadd.hw.systolic_pe.ws_pe`, plain or carry-save). PE ``(r, k, c)`` works on a
tile ``r + k + c`` cycles after the input register, so the cube skews ``X[r, k]`` by
``r + k`` and ``W[c, k]`` by ``c + k`` cycles in, and de-skews result ``(r, c)`` by
``(rows - 1 - r) + (cols - 1 - c)`` cycles out, so one transfer carries a whole tile::

    feed stream -> input register -> skew -> PE cube (act along c, weight along r,
                   partial sums along k) -> [CPA per output] -> de-skew
                -> result register -> result stream

With ``carry_save_accumulate`` the partial sums travel as carry-save pairs (only the bits
that can be set are wires and registers) and one carry-propagate adder per output resolves
them at the ``k = depth - 1`` face. One tile is accepted per cycle and leaves
``design.latency`` cycles later; nothing accumulates over time, so no register needs a
reset but the valid flags. Backpressure is a global stall: everything advances when the
result register is empty or being read.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..design.cube import CubeDesign
from ._util import output_advance, pe_units, validating
from .arith import pe_arithmetic
from .shapes import shape_of_range
from .systolic_os import delay
from .systolic_pe import chain_unit, hop_register, resolve, ws_pe

__all__ = ["CubeArray", "cube_feed_layout", "cube_result_layout", "cube_top"]


def cube_feed_layout(design: CubeDesign, act_shape, weight_shape) -> data.StructLayout:
    """One tile: ``act[r][k]`` (``rows x depth`` activations, X's rows by reduction step)
    and ``weight[c][k]`` (``cols x depth`` weight codes, W's rows by reduction step)."""
    return data.StructLayout(
        {
            "act": data.ArrayLayout(data.ArrayLayout(act_shape, design.depth), design.rows),
            "weight": data.ArrayLayout(data.ArrayLayout(weight_shape, design.depth), design.cols),
        }
    )


def cube_result_layout(design: CubeDesign) -> data.ArrayLayout:
    """One tile's results, row by row: element ``r * cols + c`` is ``Y[r, c]`` (one flat
    array, as the other grid engines' result rows)."""
    lo, hi = design.result_range
    return data.ArrayLayout(shape_of_range(lo, hi), design.rows * design.cols)


class CubeArray(wiring.Component):
    """A ``rows x depth x cols`` 3D-Cube engine.

    Parameters
    ----------
    design : CubeDesign
    hierarchical : bool
        Build every PE as a :class:`~shiftadd.hw.systolic_pe.ChainPE` submodule
        (:attr:`hierarchy_units`), for hierarchical synthesis; the same logic, widths and
        registers as the default form, which builds the PEs into the cube's module. The
        operands' hop registers stay in the cube.

    Members
    -------
    feed : In(stream.Signature(cube_feed_layout))
        One tile (a ``rows x depth`` block of X and a ``cols x depth`` block of W) per
        transfer; accepted whenever the pipeline advances.
    result : Out(stream.Signature(cube_result_layout))
        Each tile's ``rows x cols`` partial products, ``design.latency`` cycles after it.
    """

    def __init__(self, *, design: CubeDesign, hierarchical: bool = False):
        with validating(self):
            if not isinstance(design, CubeDesign):
                raise TypeError(f"Design must be a CubeDesign, not {design!r}")
        self._design = design
        self._hierarchical = bool(hierarchical)
        self._arith = pe_arithmetic(design.arith)
        super().__init__(
            {
                "feed": In(
                    stream.Signature(
                        cube_feed_layout(design, self._arith.act_shape, self._arith.weight_shape)
                    )
                ),
                "result": Out(stream.Signature(cube_result_layout(design))),
            }
        )

    @property
    def design(self) -> CubeDesign:
        return self._design

    @property
    def arithmetic(self):
        return self._arith

    @property
    def hierarchy_units(self) -> dict[str, str]:
        """Submodules kept as modules of their own by hierarchical emission (name to the
        kind of unit); empty in the default form."""
        d = self._design
        return pe_units(self._hierarchical, d.rows, d.depth, d.cols)

    def elaborate(self, platform):
        m = Module()
        d = self._design
        R, C, D = d.rows, d.cols, d.depth
        W, cs = d.acc_width, d.carry_save_accumulate
        feed, result = self.feed, self.result

        advance = output_advance(m, result, ready=(feed,))
        in_act = Signal(feed.payload.act.shape(), reset_less=True)
        in_w = Signal(feed.payload.weight.shape(), reset_less=True)
        in_valid = Signal()
        with m.If(advance):
            m.d.sync += [
                in_act.eq(feed.payload.act),
                in_w.eq(feed.payload.weight),
                in_valid.eq(feed.valid),
            ]

        # Skew: PE (r, k, c) works r + k + c cycles after the input register.
        act_edge = [
            [delay(m, in_act[r][k], r + k, advance, f"act_{r}_{k}_skew") for k in range(D)]
            for r in range(R)
        ]
        w_edge = [
            [delay(m, in_w[c][k], c + k, advance, f"w_{c}_{k}_skew") for k in range(D)]
            for c in range(C)
        ]

        psum, units = {}, {}
        act_at, w_at = {}, {}
        for r in range(R):
            for k in range(D):
                for c in range(C):
                    a = act_edge[r][k] if c == 0 else act_at[r, k, c - 1]
                    w = w_edge[c][k] if r == 0 else w_at[r - 1, k, c]
                    unit = None
                    if self._hierarchical:
                        unit = units[r, k, c] = chain_unit(
                            m,
                            self._arith,
                            cs,
                            W,
                            a,
                            w,
                            None if k == 0 else units[r, k - 1, c],
                            advance,
                            name=f"pe{r}_{k}_{c}",
                        )
                        psum[r, k, c] = unit.psum()
                    # Operands hop one PE per cycle, registered in the PE that used them.
                    if c < C - 1:
                        act_at[r, k, c] = hop_register(
                            m, a, unit, "act", advance, name=f"act_{r}_{k}_{c}"
                        )
                    if r < R - 1:
                        w_at[r, k, c] = hop_register(
                            m, w, unit, "weight", advance, name=f"w_{r}_{k}_{c}"
                        )
                    if not self._hierarchical:
                        psum[r, k, c], _ = ws_pe(
                            m,
                            self._arith,
                            cs,
                            W,
                            a,
                            w,
                            None if k == 0 else psum[r, k - 1, c],
                            advance,
                            name=f"pe{r}_{k}_{c}",
                        )

        valid = delay(m, in_valid, R + C + D - 2, advance, "valid", reset=True)
        with m.If(advance):
            m.d.sync += result.valid.eq(valid)
            for r in range(R):
                for c in range(C):
                    y = resolve(m, psum[r, D - 1, c], W, cs, name=f"cpa{r}_{c}")
                    late = delay(m, y, (R - 1 - r) + (C - 1 - c), advance, f"deskew{r}_{c}")
                    m.d.sync += result.payload[r * C + c].eq(late)
        return m


def cube_top(*, design: CubeDesign, hierarchical: bool = False) -> CubeArray:
    """The top-level component of a cube design (the family's ``component``).

    Parameters
    ----------
    design : CubeDesign
        The design.
    hierarchical : bool
        The form with every PE a submodule (:attr:`CubeArray.hierarchy_units`).

    Returns
    -------
    CubeArray
        Its streaming engine.
    """
    return CubeArray(design=design, hierarchical=hierarchical)
