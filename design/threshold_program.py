"""The threshold-array program: the schedule that computes one binary neuron on a PE of
threshold neurons (``arch = "threshold"``).

The scheduler compiles one binary neuron ``y = [popcount(XNOR(x, w)) >= T]`` (or ``<= T``;
optionally OR-pooled over several input vectors) into a program for one PE's threshold
neurons:

* XNOR with a known weight bit is the identity or an inversion, so it costs no evaluation:
  the weight becomes the polarity of the neuron input that reads the activation bit;
* the popcount is a carry-save reduction over bit columns by counters made of neurons. A full
  adder is two evaluations, ``carry = [a + b + c >= 2]`` then ``sum = [a + b + c +
  2 * ~carry >= 3]``; neurons with more inputs also offer larger counters (an ``(m, b)``
  counter computes the ``b`` bits of the count of ``m`` bits MSB first, each fed back
  inverted with weight ``2**l``). Input bits stream in through the data register, the
  reduction runs while they arrive, and the columns are resolved by half adders at the end;
* the compare is bit-serial from the least significant bit: ``G_{j+2} = [2 p_{j+1} + p_j +
  G_j >= 2 T_{j+1} + T_j + 1]``, two bits of the count per evaluation thanks to the weight-2
  input (``<= T`` is ``~p >= ~T`` on the complemented bits, a matter of input polarity);
  thresholds outside ``[0, K]`` make the last evaluation constant;
* max-pool is an OR evaluation ``[y_1 + ... + y_pool >= 1]``.

The list scheduler works step by step: in every step it first places compare evaluations,
then pooling ORs, then counters (oldest vector, lowest column first; a counter's
evaluations occupy consecutive steps and keep their inputs readable), loads the next input
bits when the data register is used up and the reducible backlog is small, and emits
outputs. Every value lives in the producing neuron's register for one step and in local
memory when it is read later; memory addresses are assigned afterwards by interval colouring.

The program is derived structure of a :class:`~shiftadd.design.threshold.ThresholdDesign`,
like the adder tree's :class:`~shiftadd.design.tree.TreePlan`: the generator, the NumPy
interpreter (:mod:`shiftadd.models.threshold.golden`), and the cycle and cost models all read
the same :class:`Program`, independent of weights and thresholds.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:  # the design module imports this one
    from .threshold import ThresholdDesign

__all__ = [
    "Program",
    "schedule",
    "compile_program",
    "counter_menu",
    "format_schedule",
    "SRC_ZERO",
    "SRC_REG",
    "SRC_MEM",
    "SRC_DATA",
]

#: Ring scheduler variants :func:`compile_program` tries: the input bits per group by which
#: the groups stop receiving input before a vector's end.
RING_TAPERS = (0, 3, 6)

# Source kinds of a neuron input (the multiplexer's input groups, in index order).
SRC_ZERO, SRC_REG, SRC_MEM, SRC_DATA = 0, 1, 2, 3


# ----------------------------------------------------------------------------------------
# The compiled program
# ----------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class Program:
    """A schedule for one PE as instruction arrays, independent of weights and thresholds.

    ``S`` steps, ``N`` neurons with ``F`` inputs each, ``D`` data slots. Sources are
    ``(kind, index)`` pairs (:data:`SRC_ZERO`, :data:`SRC_REG` neuron, :data:`SRC_MEM`
    address, :data:`SRC_DATA` slot); :meth:`sources` encodes them for a design.

    Parameters
    ----------
    k, vectors, pool : int
        Fan-in, input vectors per run, pooling window.
    neurons : int
        Threshold neurons per PE (``N``).
    weights : tuple of int
        Input weights of every neuron (``F`` of them).
    data_bits : int
        Data register slots (``D``).
    count_bits : int
        Bits of the popcount, ``K.bit_length()``.
    load : ndarray (S,) of bool
        Steps that load the data register.
    load_input : ndarray (S, D) of int
        Input loaded into each data slot, as ``vector * K + index``; -1 when unused.
    en : ndarray (S, N) of bool
        Neurons that evaluate.
    threshold : ndarray (S, N) of int
        Thresholds of counter, OR and copy evaluations.
    cmp_bit, cmp_pair, cmp_g, cmp_last : ndarray (S, N)
        Compare evaluations: lowest count bit (-1: not a compare), two bits or one,
        whether the previous ``G`` is an input, whether it is the chain's last evaluation.
    src_kind, src_index : ndarray (S, N, F) of int
        Source of every neuron input.
    invert : ndarray (S, N, F) of bool
        Input inversion fixed by the schedule.
    weight_dep : ndarray (S, N, F) of int
        Input index whose weight bit folds into the inversion (XNOR), or -1.
    flip_dep : ndarray (S, N, F) of bool
        Inversion that follows the compare direction (``<= T``).
    store, address : ndarray (S, N)
        Stores of the neuron's register (as it was before the step's evaluations) into
        local memory: a value evaluated in step ``s`` is stored in step ``s + 1``.
    emit : ndarray (S,) of bool
        Steps that emit a result.
    emit_kind, emit_index : ndarray (S,) of int
        Source of the emitted result.
    memory_used : int
        Local memory bits the program needs; on the ring PE (``pe = "tulip"``) the bits of
        the deepest neuron register ``R_n`` it needs.
    evaluations : int
        Neuron evaluations per run.
    ops : tuple of tuple of str
        Per step, a description of each evaluation (for :func:`format_schedule`).
    pe : str
        ``"pooled"`` (one local memory; :data:`SRC_MEM` indices and ``address`` are memory
        addresses) or ``"tulip"`` (a register per neuron: a :data:`SRC_MEM` index is
        ``owner * memory_used + bit`` and ``address`` is the bit in the storing neuron's own
        register; a neuron reads only its own and its ring predecessor's output and register).
    copies : int
        Copy evaluations (one input, threshold 1): the ring PE's moves of a value to a
        neuron that can read it, and input bits copied out of the data register.
    """

    k: int
    vectors: int
    pool: int
    neurons: int
    weights: tuple
    data_bits: int
    count_bits: int
    load: np.ndarray
    load_input: np.ndarray
    en: np.ndarray
    threshold: np.ndarray
    cmp_bit: np.ndarray
    cmp_pair: np.ndarray
    cmp_g: np.ndarray
    cmp_last: np.ndarray
    src_kind: np.ndarray
    src_index: np.ndarray
    invert: np.ndarray
    weight_dep: np.ndarray
    flip_dep: np.ndarray
    store: np.ndarray
    address: np.ndarray
    emit: np.ndarray
    emit_kind: np.ndarray
    emit_index: np.ndarray
    memory_used: int
    evaluations: int
    ops: tuple
    pe: str = "pooled"
    copies: int = 0

    @property
    def steps(self) -> int:
        """Program length S: cycles per run at full rate."""
        return int(self.load.shape[0])

    @property
    def emit_steps(self) -> np.ndarray:
        """Indices of the steps that emit a result."""
        return np.flatnonzero(self.emit)

    @property
    def outputs(self) -> int:
        """Results emitted per run (``vectors / pool``)."""
        return int(self.emit.sum())

    @property
    def loads(self) -> int:
        """Steps that load the data register."""
        return int(self.load.sum())

    @property
    def evaluation_bound(self) -> int:
        """Lower bound on the steps of any schedule with this many evaluations."""
        return -(-self.evaluations // self.neurons)

    @property
    def utilization(self) -> float:
        """Fraction of neuron-steps that evaluate."""
        return self.evaluations / (self.steps * self.neurons)

    def sources(self, design: ThresholdDesign, kind: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Multiplexer select values of ``(kind, index)`` neuron-input sources on
        ``design``'s PE.

        Parameters
        ----------
        design : ThresholdDesign
            The design whose PE the program runs on (its ``neurons`` and ``memory_bits``;
            on the tulip PE its ``neuron_register_bits``).
        kind : ndarray of int
            Source kinds (:data:`SRC_ZERO` to :data:`SRC_DATA`), shape ``(..., N, F)``
            (the reading neuron on the second-last axis matters on the tulip PE, whose
            encoding is relative to it).
        index : ndarray of int
            Neuron, address or data slot of each source, same shape as ``kind``.

        Returns
        -------
        ndarray of int
            Select values, same shape as ``kind``.
        """
        if self.pe != "tulip":
            base = np.array([0, 1, 1 + design.neurons, 1 + design.neurons + design.memory_bits])
            return np.where(kind == SRC_ZERO, 0, base[kind] + index)
        N, L = design.neurons, design.neuron_register_bits
        reader = np.arange(N).reshape(N, 1)
        stride = max(1, self.memory_used)
        owner = np.where(kind == SRC_MEM, index // stride, index)
        left = owner != reader  # the ring predecessor's output or register
        reg = np.where(left, 2, 1)
        mem = 3 + np.where(left, L, 0) + index % stride
        data = 3 + 2 * L + index
        return np.select([kind == SRC_REG, kind == SRC_MEM, kind == SRC_DATA], [reg, mem, data], 0)

    def emit_sources(
        self, design: ThresholdDesign, kind: np.ndarray, index: np.ndarray
    ) -> np.ndarray:
        """Emit-multiplexer select values of ``(kind, index)`` sources (as :meth:`sources`
        on the pooled PE; on the tulip PE over 0, the neuron outputs, every register bit
        neuron-major and the data bits).

        Parameters
        ----------
        design : ThresholdDesign
            The design whose PE the program runs on.
        kind, index : ndarray of int
            Source kinds and indices, any shape.

        Returns
        -------
        ndarray of int
            Select values, same shape as ``kind``.
        """
        if self.pe != "tulip":
            return self.sources(design, kind, index)
        N, L = design.neurons, design.neuron_register_bits
        stride = max(1, self.memory_used)
        mem = 1 + N + (index // stride) * L + index % stride
        return np.select(
            [kind == SRC_REG, kind == SRC_MEM, kind == SRC_DATA],
            [1 + index, mem, 1 + N + N * L + index],
            0,
        )

    def summary(self) -> dict:
        """Headline figures of the program (steps, evaluations, memory use, ...).

        Returns
        -------
        dict
            Plain Python values by name, for reports.
        """
        return {
            "k": self.k,
            "vectors": self.vectors,
            "pool": self.pool,
            "steps": self.steps,
            "evaluations": self.evaluations,
            "evaluation_bound_steps": self.evaluation_bound,
            "neuron_utilization": self.utilization,
            "loads": self.loads,
            "memory_bits_used": self.memory_used,
            "neuron_registers": self.neurons,
            "data_register_bits": self.data_bits,
            "count_bits": self.count_bits,
            **({"pe": self.pe, "copies": self.copies} if self.pe == "tulip" else {}),
        }


def counter_menu(weights) -> list[tuple[int, int]]:
    """``(m, b)`` counters a neuron with these input weights can build, best first.

    An ``(m, b)`` counter reduces ``m`` bits of one column to the ``b = m.bit_length()``
    bits of their count with ``b`` evaluations; it needs ``m`` weight-1 inputs and one input
    of each weight ``2, 4, ..., 2**(b-1)``. Only counters that remove at least half a bit per
    evaluation (a full adder's rate) are offered; the full adder ``(3, 2)`` always is.

    Parameters
    ----------
    weights : sequence of int
        Input weights of the neuron.

    Returns
    -------
    list of tuple of (int, int)
        ``(m, b)`` of every counter, highest rate (bits removed per evaluation) first.
    """
    weights = tuple(weights)
    units = weights.count(1)
    menu = []
    for m in range(3, units + 1):
        b = m.bit_length()
        if all((1 << lvl) in weights for lvl in range(1, b)) and (m == 3 or (m - b) / b > 0.5):
            menu.append((m, b))
    menu.sort(key=lambda mb: (-(mb[0] - mb[1]) / mb[1], -mb[0]))
    return menu


# ----------------------------------------------------------------------------------------
# The scheduler
# ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Value:
    kind: str  # 'x' input bit, 'bit' column bit, 'g' compare, 'or' pooled
    vector: int
    column: int
    step: int  # evaluation step (input bits: load step)
    neuron: int | None  # producing neuron (input bits: None)
    slot: int | None = None  # data slot (input bits)
    index: int | None = None  # input index (input bits)
    reads: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Eval:
    step: int
    neuron: int
    ports: list  # per neuron input: None or (value id | None for constant 0,
    #                             invert, flip-dependent)
    threshold: int | tuple  # int, or ('cmp', bit, pair, has_g, last)
    out: int
    label: str


class _Scheduler:
    """Greedy list scheduler of one program run (see the module docstring)."""

    #: Whether the PE is the ring of the TULIP-like option (per-neuron registers).
    ring = False

    # Loads wait while more bits than there are neurons sit in columns beyond the two each
    # column may hold waiting for a partner: it keeps the reduction abreast of the input, so
    # the memory stays logarithmic in K instead of growing with it.

    def __init__(self, k, neurons, weights, data_bits, vectors, pool):
        self.k, self.n, self.w = k, neurons, tuple(weights)
        self.d, self.v, self.pool = data_bits, vectors, pool
        self.menu = counter_menu(self.w)
        self.bits = max(1, k.bit_length())
        self.values: list[_Value] = []
        self.evals: list[_Eval] = []
        self.busy = defaultdict(set)  # step -> neurons taken
        self.loads: dict[int, list[int]] = {}
        self.emits: dict[int, int] = {}
        self.copies = 0

    # -- helpers ---------------------------------------------------------------------------
    def _value(self, **kw) -> _Value:
        self.values.append(_Value(**kw))
        return self.values[-1]

    def _free(self, step) -> int:
        return self.n - len(self.busy[step])

    def _readable(self, vid, step) -> bool:
        v = self.values[vid]
        return v.step <= step if v.kind == "x" else v.step + 1 <= step

    def _ports(self, operands):
        """Assign ``(value, weight, invert, flip_dep)`` operands to inputs of that weight."""
        ports = [None] * len(self.w)
        for vid, weight, inv, fdep in sorted(operands, key=lambda o: -o[1]):
            for i, wi in enumerate(self.w):
                if ports[i] is None and wi == weight:
                    ports[i] = (vid, inv, fdep)
                    break
            else:  # pragma: no cover - the menu and the validation rule this out
                raise AssertionError(f"no free neuron input of weight {weight}")
        return ports

    def _place(self, step, operands, threshold, kind, vector, column, label, neuron=None) -> int:
        if neuron is None:
            neuron = next(i for i in range(self.n) if i not in self.busy[step])
        assert neuron not in self.busy[step]
        self.busy[step].add(neuron)
        ports = self._ports(operands)
        self._value(kind=kind, vector=vector, column=column, step=step, neuron=neuron)
        vid = len(self.values) - 1
        for p in ports:
            if p is not None and p[0] is not None:
                self.values[p[0]].reads.append(step)
        self.evals.append(_Eval(step, neuron, ports, threshold, vid, label))
        return vid

    def _place_compare(self, step, vector, j, bits, g, neuron=None) -> tuple[int, bool]:
        """One evaluation of a vector's compare chain: the final column bits ``bits`` (one,
        or two as (bit j, bit j + 1); None is a constant zero) weighted 2 (and 1), plus the
        running comparison ``g`` weighted 1. Returns the value id and whether the chain ends."""
        pair = len(bits) == 2
        ops = (
            [(bits[1], 2, False, True), (bits[0], 1, False, True)]
            if pair
            else [(bits[0], 2, False, True)]
        )
        has_g = g is not None
        if has_g:
            ops.append((g, 1, False, False))
        last = j + len(bits) >= self.bits
        label = f"cmp v{vector} p{j}" + (f"-{j + 1}" if pair else "")
        vid = self._place(
            step, ops, ("cmp", j, pair, has_g, last), "g", vector, -1, label, neuron=neuron
        )
        return vid, last

    # -- the run ---------------------------------------------------------------------------
    def run(self):
        K, V, B = self.k, self.v, self.bits
        cols = [[[] for _ in range(B)] for _ in range(V)]
        loaded = [0] * V
        final = [[None] * B for _ in range(V)]  # value id, or -1: constant zero
        done = [[False] * B for _ in range(V)]
        cmp_next = [0] * V
        g_val: list = [None] * V
        y_val: list = [None] * V
        groups = V // self.pool
        out_val: list = [None] * groups
        emitted = 0
        data: list[int] = []  # unconsumed values in the data register
        data_busy = -1  # last step that reads the data register
        next_vector = 0
        step = 0

        def closed(q, j):
            return loaded[q] == K if j == 0 else done[q][j - 1]

        def take_data(vid, until):
            nonlocal data_busy
            if self.values[vid].kind == "x" and vid in data:
                data.remove(vid)
                data_busy = max(data_busy, until)

        while emitted < groups:
            if step > 8 * K * V + 64 * B + 256:  # pragma: no cover - a scheduler bug
                raise RuntimeError("threshold scheduler made no progress")
            # 1. Load the next input bits when the register is used up and the reduction
            # keeps up with the input.
            backlog = sum(max(0, len(c) - 2) for q in range(V) for c in cols[q])
            if not data and data_busy < step and next_vector < V and backlog <= self.n:
                slots = []
                while len(slots) < self.d and next_vector < V:
                    q = next_vector
                    vid = len(self.values)
                    self._value(
                        kind="x",
                        vector=q,
                        column=0,
                        step=step,
                        neuron=None,
                        slot=len(slots),
                        index=loaded[q],
                    )
                    loaded[q] += 1
                    cols[q][0].append(vid)
                    data.append(vid)
                    slots.append(vid)
                    if loaded[q] == K:
                        next_vector += 1
                self.loads[step] = slots
            # 2. A closed column with at most one bit is final: that bit is p_j.
            changed = True
            while changed:
                changed = False
                for q in range(V):
                    for j in range(B):
                        if not done[q][j] and closed(q, j) and len(cols[q][j]) <= 1:
                            final[q][j] = cols[q][j][0] if cols[q][j] else -1
                            cols[q][j] = []
                            done[q][j] = changed = True
            # 3. Compare chain, least significant bits first, oldest vector first.
            for q in range(V):
                while self._free(step) and y_val[q] is None:
                    j = cmp_next[q]
                    pair = j + 1 < B
                    need = [j, j + 1] if pair else [j]
                    if not all(done[q][i] for i in need) or not all(
                        final[q][i] == -1 or self._readable(final[q][i], step) for i in need
                    ):
                        break
                    if g_val[q] is not None and not self._readable(g_val[q], step):
                        break
                    bits = [None if final[q][i] == -1 else final[q][i] for i in need]
                    vid, last = self._place_compare(step, q, j, bits, g_val[q])
                    for i in need:
                        if final[q][i] != -1:
                            take_data(final[q][i], step)
                    g_val[q] = vid
                    cmp_next[q] += len(need)
                    if last:
                        y_val[q] = vid
            # 4. Max-pool: one OR of the group's outputs.
            for g in range(groups):
                if out_val[g] is not None or not self._free(step):
                    continue
                members = y_val[g * self.pool : (g + 1) * self.pool]
                if any(m is None or not self._readable(m, step) for m in members):
                    continue
                if self.pool == 1:
                    out_val[g] = members[0]
                    continue
                weights = sorted(self.w, reverse=True)
                ops = [(m, wt, False, False) for m, wt in zip(members, weights)]
                out_val[g] = self._place(step, ops, 1, "or", g, -1, f"or group {g}")
            # 5. Counters: oldest vector, lowest column first.
            while self._free(step):
                choice = None
                for q in range(V):
                    for j in range(B):
                        if done[q][j]:
                            continue
                        ready = [v for v in cols[q][j] if self._readable(v, step)]
                        waiting = len(cols[q][j]) - len(ready)
                        fits = lambda b, step=step: all(self._free(step + i) for i in range(b))
                        mb = next(
                            ((m, b) for m, b in self.menu if len(ready) >= m and fits(b)), None
                        )
                        if (
                            mb is None
                            and closed(q, j)
                            and not waiting
                            and len(ready) == 2
                            and fits(2)
                        ):
                            mb = (2, 2)  # half adder: the column gets nothing more
                        if mb is not None:
                            choice = (q, j, mb, ready)
                            break
                    if choice:
                        break
                if choice is None:
                    break
                q, j, (m, b), ready = choice
                # Data bits first (frees the register), then the oldest bits.
                ready.sort(key=lambda v: (self.values[v].kind != "x", self.values[v].step))
                ins = ready[:m]
                for v in ins:
                    cols[q][j].remove(v)
                    take_data(v, step + b - 1)
                outs = {}
                for i in range(b - 1, -1, -1):
                    ops = [(v, 1, False, False) for v in ins]
                    ops += [(outs[lvl], 1 << lvl, True, False) for lvl in range(i + 1, b)]
                    thr = sum(1 << lvl for lvl in range(i, b))
                    name = {(3, 2): ("carry", "sum"), (2, 2): ("ha carry", "ha sum")}.get(
                        (m, b), tuple(f"({m},{b}) bit{lvl}" for lvl in range(b - 1, -1, -1))
                    )
                    outs[i] = self._place(
                        step + b - 1 - i, ops, thr, "bit", q, j + i, f"{name[b - 1 - i]} v{q} c{j}"
                    )
                    # A carry beyond the count's width is always 0 (the count is <= K).
                    if j + i < B:
                        cols[q][j + i].append(outs[i])
            # 6. Input bits stranded in the data register (fewer than a counter needs, and
            # nothing in flight to join them) are copied to memory so the next load can go.
            if data and self._free(step) and next_vector < V:
                q = self.values[data[0]].vector
                if not any(not self._readable(v, step) for v in cols[q][0]):
                    for vid in list(data):
                        if not self._free(step):
                            break
                        cols[q][0].remove(vid)
                        take_data(vid, step)
                        self.copies += 1
                        cols[q][0].append(
                            self._place(
                                step,
                                [(vid, 1, False, False)],
                                1,
                                "bit",
                                q,
                                0,
                                f"copy v{q} x{self.values[vid].index}",
                            )
                        )
            # 7. Emit the next output in order.
            if (
                emitted < groups
                and out_val[emitted] is not None
                and self._readable(out_val[emitted], step)
            ):
                self.emits[step] = out_val[emitted]
                self.values[out_val[emitted]].reads.append(step)
                emitted += 1
            step += 1
        return step

    # -- arrays ----------------------------------------------------------------------------
    def program(self, steps: int) -> Program:
        S, N, F, D = steps, self.n, len(self.w), self.d
        # Memory: values read later than the step after their evaluation. The neuron's
        # register holds a value in the step after its evaluation; a store in that step
        # copies it to memory, readable from the next one: interval colouring of
        # [evaluation + 2, last read].
        spans = sorted(
            (v.step + 2, max(v.reads), vid)
            for vid, v in enumerate(self.values)
            if v.kind != "x" and v.reads and max(v.reads) > v.step + 1
        )
        # One pool of addresses, or on the ring PE one per neuron register (a value is
        # stored in the register of the neuron that produced it).
        by_owner: dict[int, list] = defaultdict(list)
        for span in spans:
            owner = self.values[span[2]].neuron if self.ring else 0
            by_owner[owner or 0].append(span)
        address: dict[int, int] = {}
        depth = 0
        for owner_spans in by_owner.values():
            ends: list[int] = []
            for start, end, vid in owner_spans:
                for a, last in enumerate(ends):
                    if last < start:
                        ends[a] = end
                        address[vid] = a
                        break
                else:
                    address[vid] = len(ends)
                    ends.append(end)
            depth = max(depth, len(ends))
        stride = max(1, depth)
        load_steps = sorted(self.loads)

        def source(vid, step):
            if vid is None:
                return SRC_ZERO, 0
            v = self.values[vid]
            if v.kind == "x":
                nxt = next((s for s in load_steps if s > v.step), S)
                assert v.step <= step < nxt, "input bit read outside its data window"
                return SRC_DATA, v.slot
            if step == v.step + 1:
                return SRC_REG, v.neuron
            assert vid in address and v.step + 2 <= step <= max(v.reads)
            return SRC_MEM, (v.neuron * stride if self.ring else 0) + address[vid]

        z = lambda shape, dtype=np.int64, fill=0: np.full(shape, fill, dtype)
        arr = dict(
            load=z(S, bool),
            load_input=z((S, D), fill=-1),
            en=z((S, N), bool),
            threshold=z((S, N)),
            cmp_bit=z((S, N), fill=-1),
            cmp_pair=z((S, N), bool),
            cmp_g=z((S, N), bool),
            cmp_last=z((S, N), bool),
            src_kind=z((S, N, F)),
            src_index=z((S, N, F)),
            invert=z((S, N, F), bool),
            weight_dep=z((S, N, F), fill=-1),
            flip_dep=z((S, N, F), bool),
            store=z((S, N), bool),
            address=z((S, N)),
            emit=z(S, bool),
            emit_kind=z(S),
            emit_index=z(S),
        )
        for s, slots in self.loads.items():
            arr["load"][s] = True
            for d, vid in enumerate(slots):
                v = self.values[vid]
                arr["load_input"][s, d] = v.vector * self.k + v.index
        ops: list[list[str]] = [[] for _ in range(S)]
        for e in self.evals:
            s, n = e.step, e.neuron
            arr["en"][s, n] = True
            if isinstance(e.threshold, tuple):
                _, bit, pair, has_g, last = e.threshold
                arr["cmp_bit"][s, n], arr["cmp_pair"][s, n] = bit, pair
                arr["cmp_g"][s, n], arr["cmp_last"][s, n] = has_g, last
            else:
                arr["threshold"][s, n] = e.threshold
            for i, p in enumerate(e.ports):
                if p is None:
                    continue
                vid, inv, fdep = p
                kind, index = source(vid, s)
                # The ring PE's neurons read only their own and their predecessor's values.
                assert (
                    not self.ring
                    or kind in (SRC_ZERO, SRC_DATA)
                    or (self.values[vid].neuron in (n, (n - 1) % N))
                ), "ring PE: a value read beyond the neighbouring neuron"
                arr["src_kind"][s, n, i], arr["src_index"][s, n, i] = kind, index
                arr["invert"][s, n, i], arr["flip_dep"][s, n, i] = inv, fdep
                if vid is not None and self.values[vid].kind == "x":
                    arr["weight_dep"][s, n, i] = self.values[vid].index
            if e.out in address:
                arr["store"][s + 1, n], arr["address"][s + 1, n] = True, address[e.out]
            ops[s].append(f"n{n}: {e.label}")
        for s, vid in self.emits.items():
            arr["emit"][s] = True
            arr["emit_kind"][s], arr["emit_index"][s] = source(vid, s)
            ops[s].append("emit")
        for array in arr.values():  # programs are cached and shared: keep them immutable
            array.flags.writeable = False
        return Program(
            k=self.k,
            vectors=self.v,
            pool=self.pool,
            neurons=N,
            weights=self.w,
            data_bits=D,
            count_bits=self.bits,
            memory_used=depth,
            evaluations=len(self.evals),
            ops=tuple(map(tuple, ops)),
            pe="tulip" if self.ring else "pooled",
            copies=self.copies,
            **arr,
        )


class _RingScheduler(_Scheduler):
    """List scheduler for the ring PE (``pe = "tulip"``): a neuron reads only values that
    neuron or its ring predecessor produced (and the data register).

    Input bits are dealt to ``N`` groups, three at a time, round robin. Column ``c`` of
    group ``t`` lives on neuron ``(t + c) mod N`` (its *home*; column-affine): a full adder
    there keeps its sum at home and leaves its carry where column ``c + 1``'s home, the next
    neuron, reads it. When a group's column can receive nothing more, its last (at most two)
    bits join the next group's same column, whose home is again the next neuron; the last
    group's columns are the count. A value needed beyond the neighbour (the compare chain's
    ``G``, a pooled output) is moved one neuron forward by a copy evaluation (threshold 1).
    Only full and half adders are used: a wider counter's third output bit would land two
    neurons away from its column's home.
    """

    ring = True

    def __init__(self, k, neurons, weights, data_bits, vectors, pool, taper=3, copy_home=True):
        super().__init__(k, neurons, weights, data_bits, vectors, pool)
        self.menu = [(3, 2)]
        # Input bits per group by which the groups stop receiving input before a vector's
        # end, one after the other (0: every group receives input to the end).
        self.taper = taper
        # A closed column's single stray bit is copied home (one evaluation) rather than
        # half-added with the bit already there (two), before its hand-over.
        self.copy_home = copy_home

    def _reads(self, vid, m, step) -> bool:
        """Value ``vid`` (None: constant 0) is readable by neuron ``m`` in ``step``."""
        if vid is None:
            return True
        v = self.values[vid]
        return self._readable(vid, step) and (v.kind == "x" or v.neuron in (m, (m - 1) % self.n))

    def _free_neuron(self, step, operands):
        return next(
            (
                m
                for m in range(self.n)
                if m not in self.busy[step] and all(self._reads(o, m, step) for o in operands)
            ),
            None,
        )

    def _copy(self, step, vid, neuron, kind, vector, column, label) -> int:
        self.copies += 1
        return self._place(
            step, [(vid, 1, False, False)], 1, kind, vector, column, label, neuron=neuron
        )

    def run(self):
        K, V, B, N = self.k, self.v, self.bits, self.n
        home = lambda t, c: (t + c) % N
        cols = [[[[] for _ in range(B)] for _ in range(N)] for _ in range(V)]
        done = [[[False] * B for _ in range(N)] for _ in range(V)]
        loaded = [0] * V
        final = [[None] * B for _ in range(V)]
        cmp_next = [0] * V
        g_val: list = [None] * V
        y_val: list = [None] * V
        groups = V // self.pool
        out_val: list = [None] * groups
        emitted = 0
        data: list[int] = []
        group_of: dict[int, tuple[int, int]] = {}  # input bit -> (vector, group)
        data_busy = -1
        next_vector = 0
        deal, dealt = 0, 0  # group receiving input bits, bits it got in this round
        # Groups stop receiving input one after the other near a vector's end (group 0
        # first), so the hand-over chain through the groups starts while the last input
        # bits are still being reduced.
        sealed = [[False] * N for _ in range(V)]
        step = 0

        def closed(q, t, c):
            own = (loaded[q] == K or sealed[q][t]) if c == 0 else done[q][t][c - 1]
            return own and (t == 0 or done[q][t - 1][c])

        def waiting(q, t, c):
            return any(not self._readable(v, step) for v in cols[q][t][c])

        def at_home(vid, t, c):
            v = self.values[vid]
            return v.kind == "x" or v.neuron == home(t, c)

        def take_data(vid, until):
            nonlocal data_busy
            if self.values[vid].kind == "x" and vid in data:
                data.remove(vid)
                data_busy = max(data_busy, until)

        def bit(q, i):
            return None if final[q][i] == -1 else final[q][i]

        while emitted < groups:
            if step > 16 * K * V + 64 * B * N + 256:  # pragma: no cover - a scheduler bug
                raise RuntimeError("threshold ring scheduler made no progress")
            # 1. Load, as on the pooled PE; the bits are dealt to the groups three at a time.
            backlog = sum(
                max(0, len(c) - 2) for q in range(V) for t in range(N) for c in cols[q][t]
            )
            if not data and data_busy < step and next_vector < V and backlog <= N:
                slots = []
                while len(slots) < self.d and next_vector < V:
                    q = next_vector
                    for t in range(N - 1):
                        sealed[q][t] |= K - loaded[q] <= (N - 1 - t) * self.taper
                    if sealed[q][deal]:
                        deal, dealt = next(u for u in range(N) if not sealed[q][u]), 0
                    vid = len(self.values)
                    self._value(
                        kind="x",
                        vector=q,
                        column=0,
                        step=step,
                        neuron=None,
                        slot=len(slots),
                        index=loaded[q],
                    )
                    loaded[q] += 1
                    cols[q][deal][0].append(vid)
                    group_of[vid] = (q, deal)
                    data.append(vid)
                    slots.append(vid)
                    dealt += 1
                    if loaded[q] == K:
                        next_vector += 1
                    if dealt == 3 or loaded[q] == K:
                        deal, dealt = (deal + 1) % N, 0
                self.loads[step] = slots
            # 2. Closed columns: the last group's single bit is final; another group's last
            # bits, all at home, join the next group's column.
            changed = True
            while changed:
                changed = False
                for q in range(V):
                    for c in range(B):
                        for t in range(N):
                            if done[q][t][c] or not closed(q, t, c) or waiting(q, t, c):
                                continue
                            bits = cols[q][t][c]
                            if t == N - 1:
                                if len(bits) > 1:
                                    continue
                                final[q][c] = bits[0] if bits else -1
                            elif len(bits) <= 2 and all(at_home(v, t, c) for v in bits):
                                cols[q][t + 1][c].extend(bits)
                                for v in bits:
                                    if self.values[v].kind == "x":
                                        group_of[v] = (q, t + 1)
                            else:
                                continue
                            cols[q][t][c] = []
                            done[q][t][c] = changed = True
            # 3. Compare chain: two bits per evaluation where one neuron can read both and
            # G, else one; G moves forward by copies when it is too far from the bit.
            for q in range(V):
                while y_val[q] is None:
                    j = cmp_next[q]
                    options = []
                    if j + 1 < B and done[q][N - 1][j] and done[q][N - 1][j + 1]:
                        options.append([j, j + 1])
                    if done[q][N - 1][j]:
                        options.append([j])
                    placed = False
                    for need in options:
                        operands = [bit(q, i) for i in need] + [g_val[q]]
                        m = self._free_neuron(step, operands)
                        if m is None:
                            continue
                        bits = [bit(q, i) for i in need]
                        vid, last = self._place_compare(step, q, j, bits, g_val[q], neuron=m)
                        for i in need:
                            if final[q][i] != -1:
                                take_data(final[q][i], step)
                        g_val[q] = vid
                        cmp_next[q] += len(need)
                        if last:
                            y_val[q] = vid
                        placed = True
                        break
                    if not placed:
                        g, p = g_val[q], bit(q, j) if options else None
                        if (
                            g is not None
                            and p is not None
                            and self._readable(g, step)
                            and self.values[p].kind != "x"
                        ):
                            here = self.values[g].neuron
                            gap = (self.values[p].neuron - here) % N
                            nxt = (here + 1) % N
                            if gap not in (0, 1, N - 1) and nxt not in self.busy[step]:
                                g_val[q] = self._copy(step, g, nxt, "g", q, -1, f"copy v{q} G")
                        break
            # 4. Max-pool: one OR where one neuron reads every member, else members move
            # forward (copies) towards the neuron after the last member's.
            for g in range(groups):
                if out_val[g] is not None:
                    continue
                members = y_val[g * self.pool : (g + 1) * self.pool]
                if any(m is None or not self._readable(m, step) for m in members):
                    continue
                if self.pool == 1:
                    out_val[g] = members[0]
                    continue
                m = self._free_neuron(step, members)
                if m is not None:
                    weights = sorted(self.w, reverse=True)
                    ops = [(x, wt, False, False) for x, wt in zip(members, weights)]
                    out_val[g] = self._place(step, ops, 1, "or", g, -1, f"or group {g}", neuron=m)
                    continue
                target = (self.values[members[-1]].neuron + 1) % N
                for i, x in enumerate(members):
                    here = self.values[x].neuron
                    nxt = (here + 1) % N
                    if here not in (target, (target - 1) % N) and nxt not in self.busy[step]:
                        y_val[g * self.pool + i] = self._copy(
                            step, x, nxt, "g", g * self.pool + i, -1, f"copy v{g * self.pool + i}"
                        )
            # 5. Adders at each column's home: full adders on three readable bits; in a
            # closed column, a half adder on the last two (unless the next group takes them)
            # and a copy that brings a last bit home.
            progress = True
            while progress:
                progress = False
                for q in range(V):
                    for c in range(B):
                        for t in range(N):
                            if done[q][t][c]:
                                continue
                            m = home(t, c)
                            bits = cols[q][t][c]
                            ready = [v for v in bits if self._readable(v, step)]
                            free = lambda b, m=m, step=step: all(
                                m not in self.busy[step + i] for i in range(b)
                            )
                            settled = closed(q, t, c) and len(ready) == len(bits)
                            stray = [v for v in ready if not at_home(v, t, c)]
                            away = bool(stray)
                            if len(ready) >= 3 and free(2):
                                mb = (3, 2)
                            elif (
                                settled
                                and len(ready) == 2
                                and (t == N - 1 or len(stray) == 2 or not self.copy_home)
                                and (t == N - 1 or away)
                                and free(2)
                            ):
                                mb = (2, 2)
                            elif settled and len(stray) == 1 and t < N - 1 and free(1):
                                vid = stray[0]
                                bits.remove(vid)
                                take_data(vid, step)
                                bits.append(
                                    self._copy(step, vid, m, "bit", q, c, f"copy v{q} c{c}")
                                )
                                progress = True
                                continue
                            else:
                                continue
                            self._adder(q, t, c, m, mb, ready, step, cols, take_data)
                            progress = True
            # 6. Input bits stranded in the data register are copied home so the next load
            # can go.
            if data and next_vector < V:
                for vid in list(data):
                    q, t = group_of[vid]
                    m = home(t, 0)
                    if waiting(q, t, 0) or m in self.busy[step]:
                        continue
                    cols[q][t][0].remove(vid)
                    take_data(vid, step)
                    cols[q][t][0].append(
                        self._copy(
                            step, vid, m, "bit", q, 0, f"copy v{q} x{self.values[vid].index}"
                        )
                    )
            # 7. Emit the next output in order (any neuron's output or register).
            if (
                emitted < groups
                and out_val[emitted] is not None
                and self._readable(out_val[emitted], step)
            ):
                self.emits[step] = out_val[emitted]
                self.values[out_val[emitted]].reads.append(step)
                emitted += 1
            step += 1
        return step

    def _adder(self, q, t, c, m, mb, ready, step, cols, take_data):
        """A full (3, 2) or half (2, 2) adder of group ``t``'s column ``c`` on its home
        neuron ``m``: carry in ``step``, sum in the next step reading the inverted carry."""
        size, b = mb
        ready.sort(key=lambda v: (self.values[v].kind != "x", self.values[v].step))
        ins = ready[:size]
        assert all(self._reads(v, m, step) for v in ins)
        for v in ins:
            cols[q][t][c].remove(v)
            take_data(v, step + b - 1)
        outs: dict[int, int] = {}
        name = {(3, 2): ("carry", "sum"), (2, 2): ("ha carry", "ha sum")}[mb]
        for i in range(b - 1, -1, -1):
            ops = [(v, 1, False, False) for v in ins]
            ops += [(outs[lvl], 1 << lvl, True, False) for lvl in range(i + 1, b)]
            thr = sum(1 << lvl for lvl in range(i, b))
            outs[i] = self._place(
                step + b - 1 - i,
                ops,
                thr,
                "bit",
                q,
                c + i,
                f"{name[b - 1 - i]} v{q} g{t} c{c}",
                neuron=m,
            )
            if c + i < self.bits:
                cols[q][t][c + i].append(outs[i])


@functools.lru_cache(maxsize=256)
def compile_program(
    k: int,
    neurons: int = 4,
    weights: tuple = (2, 1, 1, 1),
    data_bits: int = 6,
    vectors: int = 1,
    pool: int = 1,
    pe: str = "pooled",
) -> Program:
    """Schedule one binary neuron of fan-in ``k`` on a PE (cached; see the module docstring).

    The result depends only on these parameters, never on weights or thresholds; ``pe =
    "tulip"`` schedules for the ring PE (:class:`_RingScheduler`).
    """
    args = (int(k), int(neurons), tuple(weights), int(data_bits), int(vectors), int(pool))
    if pe != "tulip":
        sched = _Scheduler(*args)
        return sched.program(sched.run())
    # The ring scheduler's two knobs interact with K and the PE chaotically: compile the
    # six variants and keep the shortest program (then the shallowest registers).
    best: Program | None = None
    for taper in RING_TAPERS:
        for copy_home in (False, True):
            ring = _RingScheduler(*args, taper=taper, copy_home=copy_home)
            prog = ring.program(ring.run())
            if best is None or (prog.steps, prog.memory_used) < (best.steps, best.memory_used):
                best = prog
    assert best is not None
    return best


def schedule(design: ThresholdDesign, k: int | None = None) -> Program:
    """The program of ``design`` for fan-in ``k`` (default ``design.k``).

    Parameters
    ----------
    design : ThresholdDesign
        The design (its PE structure and vector and pooling fields).
    k : int, optional
        Fan-in of the binary neuron, 1 to 16384; default: ``design.k``.

    Returns
    -------
    Program
        The cached schedule.

    Raises
    ------
    InputError
        The program needs more local memory than the design has (field ``memory_bits``),
        or ``k`` is out of range (field ``k``).
    """
    k = design.k if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 16384:
        raise InputError(f"{k!r} is out of range", field="k", allowed="an integer from 1 to 16384")
    prog = compile_program(
        int(k),
        design.neurons,
        tuple(design.neuron_weights),
        design.data_bits,
        design.vectors,
        design.pool,
        design.pe,
    )
    if design.ring:
        if prog.memory_used > design.neuron_register_bits:
            raise InputError(
                f"the program for K={k} needs {prog.memory_used} bits in a neuron's "
                f"register, the design has {design.neuron_register_bits}",
                field="neuron_register_bits",
                allowed=f"an integer from {prog.memory_used} to 64",
            )
    elif prog.memory_used > design.memory_bits:
        raise InputError(
            f"the program for K={k} needs {prog.memory_used} bits of local "
            f"memory, the design has {design.memory_bits}",
            field="memory_bits",
            allowed=f"an integer from {prog.memory_used} to 256",
        )
    return prog


def format_schedule(program: Program, first: int = 0, last: int | None = None) -> str:
    """The program as text, one line per step (loads, evaluations, emits).

    Parameters
    ----------
    program : Program
        The program to show.
    first : int
        First step shown.
    last : int, optional
        Step after the last one shown; default: the end of the program.

    Returns
    -------
    str
        One line per step, without a trailing newline.
    """
    last = program.steps if last is None else last
    lines = []
    for s in range(first, min(last, program.steps)):
        load = ""
        if program.load[s]:
            idx = [int(i) for i in program.load_input[s] if i >= 0]
            load = f"load x[{idx[0]}..{idx[-1]}]  " if idx else "load  "
        lines.append(f"{s:5d}  {load}" + "; ".join(program.ops[s]))
    return "\n".join(lines)
