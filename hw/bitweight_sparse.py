"""The multiplier-adder tree with ``digit_sparse`` (OPT3 + OPT4 of the HPCA 2025 paper).

Per vector, the array walks the activations' EN-T digits bit weight by bit weight and spends
one cycle per nonzero digit instead of one per operand::

    act stream -> EN-T encoders -> encoded input register (sign, digit codes)
               -> sequencer: current bit weight j, lanes still pending at j
               -> per group of G lanes: pick the lowest pending lane (one nonzero digit),
                  broadcast (lane, 0/+-1/+-2) to the group's PE in every neuron
               -> PE (group g, neuron n): lane mux, w or 2w, invert, 3:2 compressor into a
                  carry-save accumulator (no carry propagation in the loop)
               -> flush, once per bit weight and neuron: carry-save tree over the groups'
                  (sum, carry) pairs, one carry-propagate adder, shift by 2j, accumulate
               -> [register] -> output register -> result stream

At bit weight ``j`` every group takes ``max_g nnz[g, j]`` cycles (groups move in lockstep);
bit weights without a nonzero digit in any lane are skipped; a vector takes at least one
cycle. The input (activations and weights alike) is ready in the cycle of the current
vector's last step, so the next vector starts right after it. A weight write takes effect
for the vectors accepted after it.

Backpressure is a global stall, as in :class:`~shiftadd.hw.adder_tree_array.AdderTreeArray`:
everything advances when the output register is empty or being read.

The PEs accumulate modulo ``2**pe_width``, wide enough for one bit weight's sum over all
``k`` lanes, so the groups' pairs add up exactly before the shift.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..design.adder_tree import AdderTreeDesign
from ._util import output_advance, validating
from .adder_tree_array import weight_write_layout
from .booth import DIGIT_LAYOUT, ent_codes, select_row
from .csa import CarrySaveAccumulator, reduce_rows, runs_value
from .shapes import shape_of_range

__all__ = ["DigitSparseArray"]


def _lowest_one_hot(m: Module, bits: list, name: str) -> list:
    """One-hot of the lowest set bit (a priority chain)."""
    out, seen = [], None
    for t, b in enumerate(bits):
        pick = Signal(name=f"{name}_{t}")
        m.d.comb += pick.eq(b if seen is None else b & ~seen)
        out.append(pick)
        seen = b if seen is None else (seen | b)
    return out


class DigitSparseArray(wiring.Component):
    """``n`` neurons of ``k`` lanes that skip zero activation digits.

    Parameters
    ----------
    design : AdderTreeDesign
        A ``mac`` design with ``digit_sparse``.

    Members
    -------
    act : In(stream.Signature(ArrayLayout(act_shape, k)))
    weights : In(stream.Signature(weight_write_layout))
    result : Out(stream.Signature(ArrayLayout(acc_shape, n)))

    Attributes
    ----------
    probes : dict
        After elaboration, internal signals for block-level tests: ``codes`` and
        ``negative`` (the encoded input register, per lane), ``bitweight`` and ``step``
        (sequencer), ``flush_valid``/``flush_bitweight``, ``pe_sum``/``pe_carry``
        (``[group][neuron]``), ``group_sums`` (per neuron, the resolved sum of a flush).
    """

    def __init__(self, *, design: AdderTreeDesign):
        with validating(self):
            if not isinstance(design, AdderTreeDesign) or not design.digit_sparse:
                raise TypeError(
                    f"Design must be an AdderTreeDesign with digit_sparse, not {design!r}"
                )
        self._design = design
        act_shape = signed(design.act_bits)
        weight_shape = signed(design.weight_bits)
        self.probes = {}
        super().__init__(
            {
                "act": In(stream.Signature(data.ArrayLayout(act_shape, design.k))),
                "weights": In(stream.Signature(weight_write_layout(design, weight_shape))),
                "result": Out(
                    stream.Signature(data.ArrayLayout(shape_of_range(*design.acc_range), design.n))
                ),
            }
        )

    @property
    def design(self) -> AdderTreeDesign:
        return self._design

    @property
    def latency(self) -> int:
        """Cycles from the handshake of a one-cycle vector to its result."""
        return self._design.latency

    def elaborate(self, platform):
        m = Module()
        d = self._design
        plan = d.bitweight
        k, n, dd, g, groups = d.k, d.n, plan.digits, plan.group, plan.groups
        pw, w = plan.pe_width, plan.width
        probes = self.probes

        advance = output_advance(m, self.result)

        # -- encoders at the port and the encoded input register -----------------------------
        codes = [Signal(2 * dd, name=f"codes{i}", reset_less=True) for i in range(k)]
        negative = [Signal(name=f"negative{i}", reset_less=True) for i in range(k)]
        incoming_any = [[] for _ in range(dd)]
        incoming = []
        for i in range(k):
            neg_in, codes_in = ent_codes(m, self.act.payload[i], d.act_bits, True, name=f"enc{i}")
            code_sig = Cat(*codes_in)
            incoming.append((neg_in, code_sig))
            for j in range(dd):
                incoming_any[j].append(code_sig[2 * j : 2 * j + 2].any())
        # The first bit weight with a nonzero digit in the incoming vector (0 if none).
        in_any = Signal(dd, name="incoming_nonzero")
        m.d.comb += in_any.eq(Cat(*(Cat(*bits).any() for bits in incoming_any)))
        in_first = Signal(range(dd), name="incoming_first_bitweight")
        for j in reversed(range(dd)):
            with m.If(in_any[j]):
                m.d.comb += in_first.eq(j)

        # -- sequencer ---------------------------------------------------------------------------
        busy = Signal(name="busy")
        bw = Signal(range(dd), name="bitweight", reset_less=True)
        consumed = Signal(k, name="consumed", reset_less=True)
        first = Signal(name="first", reset_less=True)
        nz = [[codes[i][2 * j : 2 * j + 2].any() for j in range(dd)] for i in range(k)]
        # The current bit weight, one-hot (an AND-OR select, no variable shifter).
        at = [Signal(name=f"at_bitweight{j}") for j in range(dd)]
        for j in range(dd):
            m.d.comb += at[j].eq(bw == j)
        nz_now = Signal(k, name="nonzero_at_bitweight")
        m.d.comb += nz_now.eq(
            Cat(*(_or_all([nz[i][j] & at[j] for j in range(dd)]) for i in range(k)))
        )
        pending = Signal(k, name="pending")
        m.d.comb += pending.eq(nz_now & ~consumed)
        picks, valids = [], []
        for grp in range(groups):
            bits = [pending[grp * g + t] for t in range(g)]
            picks.append(_lowest_one_hot(m, bits, name=f"pick{grp}"))
            valid = Signal(name=f"valid{grp}")
            m.d.comb += valid.eq(Cat(*bits).any())
            valids.append(valid)
        pick_all = Cat(*(p for grp in picks for p in grp))
        bw_done = Signal(name="bitweight_done")
        m.d.comb += bw_done.eq(~(pending & ~pick_all).any())
        any_nz = [None] + [Cat(*(nz[i][j] for i in range(k))).any() for j in range(1, dd)]
        nxt = Signal(range(dd), name="next_bitweight")
        nxt_valid = Signal(name="next_valid")
        for j in reversed(range(1, dd)):
            with m.If(any_nz[j] & (bw < j)):
                m.d.comb += [nxt.eq(j), nxt_valid.eq(1)]
        last = Signal(name="last_step")
        m.d.comb += last.eq(bw_done & ~nxt_valid)
        ready = Signal(name="input_ready")
        m.d.comb += [
            ready.eq(advance & (~busy | last)),
            self.act.ready.eq(ready),
            self.weights.ready.eq(ready),
        ]
        step = Signal(name="step")
        m.d.comb += step.eq(advance & busy)

        flush_valid = Signal(name="flush_valid")
        flush_bw = Signal(range(dd), name="flush_bitweight", reset_less=True)
        flush_last = Signal(name="flush_last", reset_less=True)
        with m.If(step):
            m.d.sync += [
                consumed.eq((consumed | pick_all) & ~bw_done.replicate(k)),
                first.eq(bw_done),
            ]
            with m.If(bw_done & nxt_valid):
                m.d.sync += bw.eq(nxt)
            with m.If(last):
                m.d.sync += busy.eq(0)
        with m.If(advance):
            m.d.sync += [flush_valid.eq(busy & bw_done), flush_bw.eq(bw), flush_last.eq(last)]
        # A vector accepted this cycle starts next cycle (after the statements above, so it
        # takes precedence over the end of the previous vector).
        with m.If(self.act.valid & ready):
            m.d.sync += [busy.eq(1), bw.eq(in_first), consumed.eq(0), first.eq(1)]
            for i in range(k):
                m.d.sync += [codes[i].eq(incoming[i][1]), negative[i].eq(incoming[i][0])]

        # -- broadcast: per group, the picked lane's digit at the current bit weight ------------
        digits = []
        for grp in range(groups):
            lanes = range(grp * g, (grp + 1) * g)
            lane_codes = Signal(2 * dd, name=f"digit{grp}_lane_codes")
            code = Signal(2, name=f"digit{grp}_code")
            sign = Signal(name=f"digit{grp}_sign")
            m.d.comb += [
                # The picked lane's codes, then the current bit weight's code.
                lane_codes.eq(
                    _or_all(
                        [picks[grp][t].replicate(2 * dd) & codes[i] for t, i in enumerate(lanes)]
                    )
                ),
                code.eq(
                    _or_all([at[j].replicate(2) & lane_codes[2 * j : 2 * j + 2] for j in range(dd)])
                ),
                sign.eq(_or_all([picks[grp][t] & negative[i] for t, i in enumerate(lanes)])),
            ]
            digit = Signal(DIGIT_LAYOUT, name=f"digit{grp}")
            # A picked digit is nonzero: code 1 or 3 selects w, code 2 selects 2w.
            m.d.comb += [
                digit.one.eq(code[0]),
                digit.two.eq(code[1] & ~code[0]),
                digit.neg.eq(sign ^ (code[1] & code[0])),
            ]
            digits.append(digit)

        # The flush tags as the shift-and-accumulate stage sees them (one register later with
        # pipeline_stages = 1, like the resolved group sums).
        stages = d.pipeline_stages
        if stages:
            fv = Signal(name="flush_valid_reg")
            fbw = Signal.like(flush_bw, name="flush_bitweight_reg", reset_less=True)
            flast = Signal(name="flush_last_reg", reset_less=True)
            with m.If(advance):
                m.d.sync += [fv.eq(flush_valid), fbw.eq(flush_bw), flast.eq(flush_last)]
        else:
            fv, fbw, flast = flush_valid, flush_bw, flush_last
        flush_at = [Signal(name=f"flush_at_bitweight{j}") for j in range(dd)]
        for j in range(dd):
            m.d.comb += flush_at[j].eq(fbw == j)

        # -- weights, PEs, flush -------------------------------------------------------------
        wp = self.weights.payload
        pe_sum = [[None] * n for _ in range(groups)]
        pe_carry = [[None] * n for _ in range(groups)]
        group_sums = []
        for nn in range(n):
            w_reg = Signal(wp.values.shape(), name=f"w{nn}", reset_less=True)
            with m.If(self.weights.valid & self.weights.ready & (wp.neuron == nn)):
                m.d.sync += w_reg.eq(wp.values)
            rows = []
            for grp in range(groups):
                lanes = range(grp * g, (grp + 1) * g)
                wsel = Signal(signed(d.weight_bits), name=f"pe{grp}_{nn}_w")
                m.d.comb += wsel.eq(
                    _or_all(
                        [
                            picks[grp][t].replicate(d.weight_bits) & w_reg[i].as_unsigned()
                            for t, i in enumerate(lanes)
                        ]
                    )
                )
                row = select_row(m, wsel, digits[grp], name=f"pe{grp}_{nn}_row")
                acc = CarrySaveAccumulator(width=pw)
                m.submodules[f"pe{grp}_{nn}"] = acc
                m.d.comb += [
                    acc.addend.eq(row),  # sign-extended to the PE width
                    acc.inject.eq(digits[grp].neg),
                    acc.valid.eq(valids[grp]),
                    acc.start.eq(first),
                    acc.en.eq(step),
                ]
                pe_sum[grp][nn], pe_carry[grp][nn] = acc.sum, acc.carry
                rows += [[(0, pw, acc.sum)], [(0, pw, acc.carry)]]
            root = reduce_rows(m, rows, plan.flush_csa, name=f"flush{nn}")
            resolved = Signal(signed(pw), name=f"group_sum{nn}")
            m.d.comb += resolved.eq(runs_value(root[0], pw) + runs_value(root[1], pw))
            group_sums.append(resolved)
            value = resolved
            if stages:
                value = Signal(signed(pw), name=f"group_sum{nn}_reg", reset_less=True)
                with m.If(advance):
                    m.d.sync += value.eq(resolved)
            shifted = Signal(w, name=f"shifted{nn}")
            wide = Signal(signed(w), name=f"group_sum{nn}_wide")
            m.d.comb += wide.eq(value)
            # Shift by 2j as an AND-OR over the decoded bit weight (no case statement).
            m.d.comb += shifted.eq(
                _or_all(
                    [
                        flush_at[j].replicate(w)
                        & (Cat(Const(0, 2 * j), wide[: w - 2 * j]) if j else wide)
                        for j in range(dd)
                    ]
                )
            )
            # Reset: the first vector's first flush adds to it (a random power-up value would
            # end up in the first result; found by simulating with random initial values).
            accumulator = Signal(w, name=f"accumulator{nn}")
            total = Signal(w, name=f"total{nn}")
            m.d.comb += total.eq(accumulator + shifted)
            with m.If(advance & fv):
                with m.If(flast):
                    m.d.sync += [self.result.payload[nn].eq(total), accumulator.eq(0)]
                with m.Else():
                    m.d.sync += accumulator.eq(total)
        with m.If(advance):
            m.d.sync += self.result.valid.eq(fv & flast)

        probes.update(
            codes=codes,
            negative=negative,
            bitweight=bw,
            step=step,
            first=first,
            flush_valid=flush_valid,
            flush_bitweight=flush_bw,
            pe_sum=pe_sum,
            pe_carry=pe_carry,
            group_sums=group_sums,
        )
        return m


def _or_all(values):
    out = values[0]
    for v in values[1:]:
        out = out | v
    return out
