"""Threshold-logic PE arrays: the scheduler, the program interpreter, the golden binary layer,
and the cycle and cost models (``arch = "threshold"``).

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

The same program runs on every PE and, with different weights and thresholds, for every
output neuron: :func:`instantiate` fills in the polarities and thresholds. :func:`execute`
is a NumPy interpreter of the instruction stream with exactly the RTL's semantics, checked
against :func:`binary_layer_reference`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..design.threshold import ThresholdDesign
from ..errors import InputError
from ..rtl_gen.synth import activity_profile
from .cost import Item, bill_of_materials
from .cycles import gemm_cycles_batch
from .golden import check_operand, dot_products, threshold_compare
from .perf import design_vector, register_kernel
from .validation import validation_gemm

__all__ = ["Program", "schedule", "compile_program", "counter_menu", "instantiate",
           "step_fields", "execute", "binary_layer_reference", "LayerRuns", "layer_runs",
           "run_cycles", "threshold_cycles", "CellPreset", "load_cell_presets", "cell_preset",
           "CELLS_FILE", "threshold_estimate",
           "SRC_ZERO", "SRC_REG", "SRC_MEM", "SRC_DATA"]

# Source kinds of a neuron input (the multiplexer's input groups, in index order).
SRC_ZERO, SRC_REG, SRC_MEM, SRC_DATA = 0, 1, 2, 3

CELLS_FILE = Path(__file__).resolve().parent / "data" / "threshold_cells.toml"


# ----------------------------------------------------------------------------------------
# The compiled program
# ----------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class Program:
    """A schedule for one PE as instruction arrays, independent of weights and thresholds.

    ``S`` steps, ``N`` neurons with ``F`` inputs each, ``D`` data slots. Sources are
    ``(kind, index)`` pairs (:data:`SRC_ZERO`, :data:`SRC_REG` neuron, :data:`SRC_MEM`
    address, :data:`SRC_DATA` slot); :meth:`sources` encodes them for a design.

    Attributes
    ----------
    k, vectors, pool : int
        Fan-in, input vectors per run, pooling window.
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
    emit : ndarray (S,) of bool; emit_kind, emit_index : ndarray (S,) of int
        Steps that emit a result and its source.
    memory_used : int
        Local memory bits the program needs.
    evaluations : int
        Neuron evaluations per run.
    ops : tuple of tuple of str
        Per step, a description of each evaluation (for :func:`format_schedule`).
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

    @property
    def steps(self) -> int:
        """Program length S: cycles per run at full rate."""
        return int(self.load.shape[0])

    @property
    def emit_steps(self) -> np.ndarray:
        return np.flatnonzero(self.emit)

    @property
    def outputs(self) -> int:
        """Results emitted per run (``vectors / pool``)."""
        return int(self.emit.sum())

    @property
    def loads(self) -> int:
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
        """Multiplexer select values of ``(kind, index)`` sources on ``design``'s PE."""
        base = np.array([0, 1, 1 + design.neurons, 1 + design.neurons + design.memory_bits])
        return np.where(kind == SRC_ZERO, 0, base[kind] + index)

    def summary(self) -> dict:
        return {"k": self.k, "vectors": self.vectors, "pool": self.pool, "steps": self.steps,
                "evaluations": self.evaluations, "evaluation_bound_steps": self.evaluation_bound,
                "neuron_utilization": self.utilization, "loads": self.loads,
                "memory_bits_used": self.memory_used, "neuron_registers": self.neurons,
                "data_register_bits": self.data_bits, "count_bits": self.count_bits}


def counter_menu(weights) -> list[tuple[int, int]]:
    """``(m, b)`` counters a neuron with these input weights can build, best first.

    An ``(m, b)`` counter reduces ``m`` bits of one column to the ``b = m.bit_length()``
    bits of their count with ``b`` evaluations; it needs ``m`` weight-1 inputs and one input
    of each weight ``2, 4, ..., 2**(b-1)``. Only counters that remove at least half a bit per
    evaluation (a full adder's rate) are offered; the full adder ``(3, 2)`` always is.
    """
    weights = tuple(weights)
    units = weights.count(1)
    menu = []
    for m in range(3, units + 1):
        b = m.bit_length()
        if all((1 << lvl) in weights for lvl in range(1, b)) and \
                (m == 3 or (m - b) / b > 0.5):
            menu.append((m, b))
    menu.sort(key=lambda mb: (-(mb[0] - mb[1]) / mb[1], -mb[0]))
    return menu


# ----------------------------------------------------------------------------------------
# The scheduler
# ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Value:
    kind: str                 # 'x' input bit, 'bit' column bit, 'g' compare, 'or' pooled
    vector: int
    column: int
    step: int                 # evaluation step (input bits: load step)
    neuron: int | None        # producing neuron (input bits: None)
    slot: int | None = None   # data slot (input bits)
    index: int | None = None  # input index (input bits)
    reads: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Eval:
    step: int
    neuron: int
    ports: list               # per neuron input: None or (value id | None for constant 0,
                              #                             invert, flip-dependent)
    threshold: int | tuple    # int, or ('cmp', bit, pair, has_g, last)
    out: int
    label: str


class _Scheduler:
    """Greedy list scheduler of one program run (see the module docstring)."""

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
        self.busy = defaultdict(set)       # step -> neurons taken
        self.loads: dict[int, list[int]] = {}
        self.emits: dict[int, int] = {}

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

    def _place(self, step, operands, threshold, kind, vector, column, label) -> int:
        neuron = next(i for i in range(self.n) if i not in self.busy[step])
        self.busy[step].add(neuron)
        ports = self._ports(operands)
        out = self._value(kind=kind, vector=vector, column=column, step=step, neuron=neuron)
        vid = len(self.values) - 1
        for p in ports:
            if p is not None and p[0] is not None:
                self.values[p[0]].reads.append(step)
        self.evals.append(_Eval(step, neuron, ports, threshold, vid, label))
        return vid

    # -- the run ---------------------------------------------------------------------------
    def run(self):
        K, V, B = self.k, self.v, self.bits
        cols = [[[] for _ in range(B)] for _ in range(V)]
        loaded = [0] * V
        final = [[None] * B for _ in range(V)]      # value id, or -1: constant zero
        done = [[False] * B for _ in range(V)]
        cmp_next = [0] * V
        g_val: list = [None] * V
        y_val: list = [None] * V
        groups = V // self.pool
        out_val: list = [None] * groups
        emitted = 0
        data: list[int] = []      # unconsumed values in the data register
        data_busy = -1            # last step that reads the data register
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
            if not data and data_busy < step and next_vector < V and \
                    backlog <= self.n:
                slots = []
                while len(slots) < self.d and next_vector < V:
                    q = next_vector
                    vid = len(self.values)
                    self._value(kind="x", vector=q, column=0, step=step, neuron=None,
                                slot=len(slots), index=loaded[q])
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
                            final[q][i] == -1 or self._readable(final[q][i], step)
                            for i in need):
                        break
                    if g_val[q] is not None and not self._readable(g_val[q], step):
                        break
                    bit = lambda i: None if final[q][i] == -1 else final[q][i]
                    ops = [(bit(j + 1), 2, False, True), (bit(j), 1, False, True)] if pair \
                        else [(bit(j), 2, False, True)]
                    has_g = g_val[q] is not None
                    if has_g:
                        ops.append((g_val[q], 1, False, False))
                    last = j + len(need) >= B
                    vid = self._place(step, ops, ("cmp", j, pair, has_g, last), "g", q, -1,
                                      f"cmp v{q} p{j}" + (f"-{j + 1}" if pair else ""))
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
                members = y_val[g * self.pool:(g + 1) * self.pool]
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
                        fits = lambda b: all(self._free(step + i) for i in range(b))
                        mb = next(((m, b) for m, b in self.menu
                                   if len(ready) >= m and fits(b)), None)
                        if mb is None and closed(q, j) and not waiting and len(ready) == 2 \
                                and fits(2):
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
                        (m, b), tuple(f"({m},{b}) bit{lvl}" for lvl in range(b - 1, -1, -1)))
                    outs[i] = self._place(step + b - 1 - i, ops, thr, "bit", q, j + i,
                                          f"{name[b - 1 - i]} v{q} c{j}")
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
                        cols[q][0].append(self._place(step, [(vid, 1, False, False)], 1, "bit",
                                                      q, 0, f"copy v{q} x{self.values[vid].index}"))
            # 7. Emit the next output in order.
            if emitted < groups and out_val[emitted] is not None and \
                    self._readable(out_val[emitted], step):
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
        spans = sorted((v.step + 2, max(v.reads), vid) for vid, v in enumerate(self.values)
                       if v.kind != "x" and v.reads and max(v.reads) > v.step + 1)
        ends: list[int] = []
        address: dict[int, int] = {}
        for start, end, vid in spans:
            for a, last in enumerate(ends):
                if last < start:
                    ends[a] = end
                    address[vid] = a
                    break
            else:
                address[vid] = len(ends)
                ends.append(end)
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
            return SRC_MEM, address[vid]

        z = lambda shape, dtype=np.int64, fill=0: np.full(shape, fill, dtype)
        arr = dict(load=z(S, bool), load_input=z((S, D), fill=-1), en=z((S, N), bool),
                   threshold=z((S, N)), cmp_bit=z((S, N), fill=-1), cmp_pair=z((S, N), bool),
                   cmp_g=z((S, N), bool), cmp_last=z((S, N), bool),
                   src_kind=z((S, N, F)), src_index=z((S, N, F)), invert=z((S, N, F), bool),
                   weight_dep=z((S, N, F), fill=-1), flip_dep=z((S, N, F), bool),
                   store=z((S, N), bool), address=z((S, N)), emit=z(S, bool),
                   emit_kind=z(S), emit_index=z(S))
        for s, slots in self.loads.items():
            arr["load"][s] = True
            for d, vid in enumerate(slots):
                v = self.values[vid]
                arr["load_input"][s, d] = v.vector * self.k + v.index
        ops = [[] for _ in range(S)]
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
        for a in arr.values():  # programs are cached and shared: keep them immutable
            a.flags.writeable = False
        return Program(k=self.k, vectors=self.v, pool=self.pool, neurons=N, weights=self.w,
                       data_bits=D, count_bits=self.bits, memory_used=len(ends),
                       evaluations=len(self.evals), ops=tuple(map(tuple, ops)), **arr)


@functools.lru_cache(maxsize=256)
def compile_program(k: int, neurons: int = 4, weights: tuple = (2, 1, 1, 1),
                    data_bits: int = 6, vectors: int = 1, pool: int = 1) -> Program:
    """Schedule one binary neuron of fan-in ``k`` on a PE (cached; see the module docstring).

    The result depends only on these parameters, never on weights or thresholds.
    """
    sched = _Scheduler(int(k), int(neurons), tuple(weights), int(data_bits), int(vectors),
                       int(pool))
    return sched.program(sched.run())


def schedule(design: ThresholdDesign, k: int | None = None) -> Program:
    """The program of ``design`` for fan-in ``k`` (default ``design.k``).

    Raises :class:`InputError` (field ``memory_bits``) when it needs more local memory than
    the design has, and (field ``k``) for a fan-in out of range.
    """
    k = design.k if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 16384:
        raise InputError(f"{k!r} is out of range", field="k", allowed="an integer from 1 to 16384")
    prog = compile_program(int(k), design.neurons, tuple(design.neuron_weights),
                           design.data_bits, design.vectors, design.pool)
    if prog.memory_used > design.memory_bits:
        raise InputError(f"the program for K={k} needs {prog.memory_used} bits of local "
                         f"memory, the design has {design.memory_bits}", field="memory_bits",
                         allowed=f"an integer from {prog.memory_used} to 256")
    return prog


def format_schedule(program: Program, first: int = 0, last: int | None = None) -> str:
    """The program as text, one line per step (loads, evaluations, emits)."""
    last = program.steps if last is None else last
    lines = []
    for s in range(first, min(last, program.steps)):
        load = ""
        if program.load[s]:
            idx = [int(i) for i in program.load_input[s] if i >= 0]
            load = f"load x[{idx[0]}..{idx[-1]}]  " if idx else "load  "
        lines.append(f"{s:5d}  {load}" + "; ".join(program.ops[s]))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# Instantiation: weights and thresholds into polarities and neuron thresholds
# ----------------------------------------------------------------------------------------
def _effective_thresholds(program: Program, thresholds, flips):
    """``(T', constant)`` per output neuron: the compare chain tests ``count' >= T'`` on
    ``B``-bit counts (complemented for ``<= T``); ``constant`` is -1 when the chain decides,
    else the output every input gives (0 or 1)."""
    K, B = program.k, program.count_bits
    t = np.asarray(thresholds, dtype=np.int64)
    f = np.asarray(flips, dtype=bool)
    full = (1 << B) - 1
    tp = np.where(f, full - t, t)
    const = np.where(f, np.where(t < 0, 0, np.where(t >= K, 1, -1)),
                     np.where(t <= 0, 1, np.where(t > K, 0, -1)))
    return np.clip(tp, 0, full), const


def instantiate(program: Program, design: ThresholdDesign, weights, thresholds, flips) -> dict:
    """Instruction fields of ``program`` for output neurons with these weights (bits, 1 =
    +1), thresholds and compare directions.

    Parameters
    ----------
    program : Program
    design : ThresholdDesign
        Fixes the source encoding and the neuron's weight sum.
    weights : array_like of int, shape (outputs, K)
    thresholds : array_like of int, shape (outputs,)
    flips : array_like of bool, shape (outputs,)
        Compare ``<= T`` instead of ``>= T``.

    Returns
    -------
    dict of ndarray
        The step payload's instruction fields, each with a leading axis of outputs:
        ``load (O, S)``, ``en (O, S, N)``, ``t (O, S, N)``, ``src (O, S, N, F)``,
        ``inv (O, S, N, F)``, ``store``, ``addr (O, S, N)``, ``emit``, ``emit_src``,
        ``emit_inv (O, S)``.
    """
    w = check_operand("weights", weights, 0, 1, (None, program.k)).astype(bool)
    outs = w.shape[0]
    t = check_operand("thresholds", thresholds, -(1 << 40), 1 << 40, (outs,))
    f = check_operand("flips", flips, 0, 1, (outs,)).astype(bool)
    tp, const = _effective_thresholds(program, t, f)
    S = program.steps
    # XNOR with a known weight: invert the activation where the weight bit is 0 (-1).
    dep = program.weight_dep
    xnor = np.zeros((outs,) + dep.shape, bool)
    has = dep >= 0
    xnor[:, has] = ~w[:, dep[has]]
    inv = program.invert[None] ^ xnor ^ (program.flip_dep[None] & f[:, None, None, None])
    # Compare thresholds from the bits of T'.
    bit = np.clip(program.cmp_bit, 0, None)
    tb = lambda i: (tp[:, None, None] >> i[None]) & 1
    cmp_t = np.where(program.cmp_pair[None], 2 * tb(bit + 1) + tb(bit), 2 * tb(bit)) + \
        program.cmp_g[None]
    last = program.cmp_last[None] & (const[:, None, None] >= 0)
    cmp_t = np.where(last, np.where(const[:, None, None] == 1, 0, design.weight_sum + 1), cmp_t)
    thr = np.where(program.cmp_bit[None] >= 0, cmp_t, program.threshold[None])
    rep = lambda a: np.broadcast_to(a[None], (outs,) + a.shape)
    return {
        "load": rep(program.load), "en": rep(program.en), "t": thr,
        "src": rep(program.sources(design, program.src_kind, program.src_index)), "inv": inv,
        "store": rep(program.store), "addr": rep(program.address), "emit": rep(program.emit),
        "emit_src": rep(program.sources(design, program.emit_kind, program.emit_index)),
        "emit_inv": rep(np.zeros(S, bool)),
    }


# ----------------------------------------------------------------------------------------
# The binary layer: golden reference, runs, interpreter
# ----------------------------------------------------------------------------------------
def binary_layer_reference(x, w, thresholds, flips=None, pool: int = 1) -> np.ndarray:
    """``Y[m, n] = OR over the pool window of [popcount(XNOR(x_m, w_n)) >= T_n]`` (``<= T_n``
    where ``flips[n]``), windows of ``pool`` consecutive rows; returns ``(M // pool, N)``
    bits. Built from :func:`shiftadd.models.golden.dot_products` and
    :func:`~shiftadd.models.golden.threshold_compare`."""
    x = check_operand("x", x, 0, 1, (None, None))
    w = check_operand("weights", w, 0, 1, (None, x.shape[1]))
    t = check_operand("thresholds", thresholds, -(1 << 40), 1 << 40, (w.shape[0],))
    f = np.zeros(w.shape[0], bool) if flips is None else \
        check_operand("flips", flips, 0, 1, (w.shape[0],)).astype(bool)
    if x.shape[0] % pool:
        raise InputError(f"{x.shape[0]} rows are not whole pooling windows of {pool}",
                         field="x", allowed=f"a multiple of {pool} rows")
    y = threshold_compare(dot_products("xnor", x, w), t, f)
    return y.reshape(-1, pool, w.shape[0]).any(axis=1).astype(np.int64)


@dataclasses.dataclass
class LayerRuns:
    """A binary layer laid out as program runs on an array.

    Run ``r`` computes output neuron ``neuron[r]`` for input-row group ``group[r]``; PE ``p``
    handles rows ``(group * P + p) * V + v`` (all-zero rows beyond ``M``) and emits output rows
    ``(group * P + p) * V / pool + e``.

    Attributes
    ----------
    fields : dict of ndarray
        Instruction fields per run and step, leading axes ``(runs, S)``.
    data : ndarray, shape (runs, S, P, D)
        Data register bits of every step.
    expected : ndarray, shape (runs, outputs per run, P)
        The golden layer's outputs in emission order (rows beyond M: of the zero rows).
    """

    program: Program
    neuron: np.ndarray
    group: np.ndarray
    fields: dict
    data: np.ndarray
    expected: np.ndarray
    rows: int

    @property
    def runs(self) -> int:
        return int(self.neuron.shape[0])

    def payload(self) -> dict:
        """Step-stream payload values for :func:`shiftadd.sim.packing.pack`, runs flattened."""
        flat = {k: np.reshape(v, (-1,) + v.shape[2:]) for k, v in self.fields.items()}
        flat["data"] = self.data.reshape((-1,) + self.data.shape[2:])
        return flat


def layer_runs(design: ThresholdDesign, x, w, thresholds, flips=None, *,
               k: int | None = None) -> LayerRuns:
    """Every run of the binary layer ``x (M, K)``, ``w (N, K)`` on ``design``, output neuron
    by output neuron, with golden expectations."""
    x = check_operand("x", x, 0, 1, (None, None))
    K = x.shape[1] if k is None else k
    prog = schedule(design, K)
    w = check_operand("weights", w, 0, 1, (None, K))
    outs = w.shape[0]
    t = np.asarray(thresholds, dtype=np.int64)
    f = np.zeros(outs, bool) if flips is None else np.asarray(flips, dtype=bool)
    P, V, pool = design.pes, design.vectors, design.pool
    M = x.shape[0]
    if M % pool:
        raise InputError(f"{M} rows are not whole pooling windows of {pool}", field="gemm.M",
                         allowed=f"a multiple of {pool}")
    groups = -(-M // (P * V))
    padded = np.zeros((groups * P * V, K), np.int8)
    padded[:M] = x
    # Rows beyond M are zeros; the array computes their outputs like any other's.
    golden = binary_layer_reference(padded, w, t, f, pool)
    per_output = instantiate(prog, design, w, t, f)
    neuron = np.repeat(np.arange(outs), groups)
    group = np.tile(np.arange(groups), outs)
    fields = {key: val[neuron] for key, val in per_output.items()}
    # Data: step s, PE p, slot d holds input load_input[s, d] = v * K + i of row
    # (g * P + p) * V + v.
    li = prog.load_input
    v_idx, i_idx = np.where(li >= 0, li // K, 0), np.where(li >= 0, li % K, 0)
    rows = (group[:, None, None, None] * P + np.arange(P)[None, None, :, None]) * V + \
        v_idx[None, :, None, :]
    data = padded[rows, i_idx[None, :, None, :]]
    data = np.where((li >= 0)[None, :, None, :], data, 0).astype(np.int8)
    # Between loads the data bus holds the last loaded bits (the array ignores them; a
    # controller would not toggle them).
    last_load = np.maximum.accumulate(np.where(prog.load, np.arange(prog.steps), 0))
    data = data[:, last_load]
    E = prog.outputs
    out_rows = (group[:, None, None] * P + np.arange(P)[None, None, :]) * E + \
        np.arange(E)[None, :, None]
    expected = golden[out_rows, neuron[:, None, None]]
    return LayerRuns(program=prog, neuron=neuron, group=group, fields=fields, data=data,
                     expected=expected, rows=M)


def execute(design: ThresholdDesign, fields: dict, data, *,
            rng: np.random.Generator | None = None, toggles: dict | None = None) -> np.ndarray:
    """Run instruction streams on a model of the array, exactly as the RTL does.

    Parameters
    ----------
    design : ThresholdDesign
    fields : dict of ndarray
        Instruction fields with leading axes ``(runs, S)`` (as from :func:`instantiate`).
    data : ndarray, shape (runs, S, P, D)
    rng : numpy.random.Generator, optional
        Start from random register, memory and data-register contents (a correct program
        never reads a location before writing it); default all zero.
    toggles : dict, optional
        Filled with bit toggle counts summed over runs, PEs and steps: ``"reg"`` (neuron
        registers), ``"mem"`` (local memory), ``"data"`` (data registers), ``"x"`` (neuron
        inputs after the inversion), and ``"steps"`` (runs times steps).

    Returns
    -------
    ndarray, shape (runs, emits, P)
        The emitted bits in order.
    """
    N, L, D, P = design.neurons, design.memory_bits, design.data_bits, design.pes
    data = np.asarray(data, dtype=bool)
    R, S = data.shape[:2]
    weights = np.asarray(design.neuron_weights, dtype=np.int64)
    shape = lambda n: (R, P, n)
    if rng is None:
        nreg, mem, dreg = (np.zeros(shape(n), bool) for n in (N, L, D))
    else:
        nreg, mem, dreg = (rng.random(shape(n)) < 0.5 for n in (N, L, D))
    g = {key: np.asarray(val) for key, val in fields.items()}
    out = []
    rows = np.arange(R)
    count = {"reg": 0, "mem": 0, "data": 0, "x": 0, "steps": R * S}
    x_prev = None
    for s in range(S):
        new_dreg = np.where(g["load"][:, s, None, None], data[:, s], dreg)
        if toggles is not None and s:
            count["data"] += int((new_dreg != dreg).sum())
        dreg = new_dreg
        sources = np.concatenate([np.zeros(shape(1), bool), nreg, mem, dreg], axis=2)
        src = g["src"][:, s].reshape(R, 1, -1)
        x = np.take_along_axis(sources, np.broadcast_to(src, (R, P, src.shape[2])), axis=2)
        x = x.reshape(R, P, N, -1) ^ g["inv"][:, s][:, None]
        if toggles is not None:
            if x_prev is not None:
                count["x"] += int((x != x_prev).sum())
            x_prev = x
            mem_before, nreg_before = mem.copy(), nreg
        y = (x.astype(np.int64) @ weights) >= g["t"][:, s][:, None, :]
        if g["emit"][0, s]:
            value = sources[rows, :, g["emit_src"][:, s]] ^ g["emit_inv"][:, s][:, None]
            out.append(value)
        # Stores copy a neuron's register as it was before this step's evaluations.
        for n in range(N):  # in neuron order: the highest neuron wins a shared address
            r = np.flatnonzero(g["store"][:, s, n])
            if r.size:
                mem[r, :, g["addr"][r, s, n]] = nreg[r, :, n]
        nreg = np.where(g["en"][:, s][:, None, :], y, nreg)
        if toggles is not None:
            count["mem"] += int((mem != mem_before).sum())
            count["reg"] += int((nreg != nreg_before).sum())
    if toggles is not None:
        toggles.update(count)
    return np.stack(out, axis=1).astype(np.int64) if out else np.zeros((R, 0, P), np.int64)


# ----------------------------------------------------------------------------------------
# Cycle model
# ----------------------------------------------------------------------------------------
def run_cycles(design: ThresholdDesign, k: int | None = None) -> int:
    """Cycles of one program run at full rate (its steps)."""
    return schedule(design, k).steps


# Program parameters a sweep carries per design point (numbers only: the neuron weights
# are packed four bits each, a weight is at most 8).
_PROGRAM_KEYS = ("neurons", "neuron_weights", "data_bits", "vectors", "pool", "memory_bits")


def _pack_weights(weights) -> int:
    return sum(int(w) << (4 * i) for i, w in enumerate(weights))


def _unpack_weights(code: int, count: int) -> tuple:
    return tuple((int(code) >> (4 * i)) & 0xF for i in range(count))


@design_vector.register
def _(design: ThresholdDesign) -> dict[str, float]:
    d = design
    return {"tile_k": d.pes * d.data_bits, "tile_n": d.pes, "latency": d.latency,
            "act_bits": 1, "weight_bits": 1, "out_bits": 1, "psum_bits": 1,
            # XNOR-accumulates per cycle at full rate for the design's own fan-in
            "lanes": d.ops_per_cycle / 2, "pes": d.pes, "neurons": d.neurons,
            "neuron_weights": _pack_weights(d.neuron_weights), "fan_in": d.fan_in,
            "data_bits": d.data_bits, "vectors": d.vectors, "pool": d.pool,
            "memory_bits": d.memory_bits}


def _program_lengths(v: dict, k) -> tuple[np.ndarray, np.ndarray]:
    """Steps per run and step of the last emit for every (design point, fan-in) pair.

    ``v`` holds :func:`design_vector` columns and ``k`` broadcasts against them. Programs are
    compiled once per distinct (PE configuration, K) pair (cached), never per element.
    """
    cols = [np.asarray(v[key]) for key in (*_PROGRAM_KEYS, "fan_in")]
    shape = np.broadcast_shapes(np.shape(k), *(c.shape for c in cols))
    table = np.stack([np.broadcast_to(np.asarray(c, np.float64), shape).ravel()
                      for c in (*cols, k)], axis=1).astype(np.int64)
    uniq, inverse = np.unique(table, axis=0, return_inverse=True)
    steps = np.empty(len(uniq), np.int64)
    last = np.empty(len(uniq), np.int64)
    for i, (neurons, wcode, data_bits, vectors, pool, memory, fan_in, kk) in enumerate(uniq):
        prog = compile_program(int(kk), int(neurons), _unpack_weights(wcode, int(fan_in)),
                               int(data_bits), int(vectors), int(pool))
        if prog.memory_used > memory:
            raise InputError(f"the program for K={kk} needs {prog.memory_used} bits of local "
                             f"memory, the design has {memory}", field="memory_bits",
                             allowed=f"an integer from {prog.memory_used} to 256")
        steps[i], last[i] = prog.steps, prog.emit_steps[-1]
    inverse = inverse.reshape(-1)
    return steps[inverse].reshape(shape), last[inverse].reshape(shape)


def threshold_cycles(v: dict, m, n, k) -> dict:
    """Cycles of the binary layer ``Y[M, N]`` (fan-in ``K``) on threshold arrays described
    by :func:`design_vector` columns ``v`` (broadcasting).

    One run per output neuron and group of ``pes * vectors`` input rows, back to back, one
    step per cycle; each run emits its last result in its last-emit step, ``latency``
    cycles later out. The scalar model (:func:`gemm_cycles_batch`) and the sweep kernel
    both use this formula.
    """
    m, n, k = (np.asarray(x, dtype=np.int64) for x in (m, n, k))
    steps, last = _program_lengths(v, k)
    rows = (np.asarray(v["pes"]) * np.asarray(v["vectors"])).astype(np.int64)
    groups = -(-m // rows)
    runs = n * groups
    transfers = runs * steps
    cycles = (runs - 1) * steps + last + np.asarray(v["latency"]).astype(np.int64) + 1
    return {"cycles": cycles, "transfers": transfers, "runs": runs, "groups": groups,
            "steps": steps, "rows_per_group": rows}


@register_kernel("threshold")
def _threshold_kernel(v: dict, m, n, k, act_buf_bits, weight_buf_bits, out_buf_bits):
    """Cycles and traffic of a binary GEMM on SIMD threshold PEs.

    Order: for each group of ``pes * vectors`` input rows, every output neuron in turn (its
    weights are the instruction's input polarities). The group's ``rows * K`` input bits are
    streamed into the data registers once per output neuron from the activation buffer; they
    come from DRAM once when the block fits the buffer, else once per neuron. The ``N * K``
    weight bits are read once per group from the weight buffer; from DRAM once when they fit,
    else once per group. One output bit per (pooled) row and neuron; no partial sums. The
    instruction stream's program memory is outside the model (as the adder tree's control).
    """
    c = threshold_cycles(v, m, n, k)
    m, n, k = (np.asarray(x, dtype=np.int64) for x in (m, n, k))
    rows, groups, runs = c["rows_per_group"], c["groups"], c["runs"]
    act = m * k
    act_fits = rows * k <= act_buf_bits
    act_dram = np.where(act_fits, act, act * n)
    weights = n * k
    w_fits = weights <= weight_buf_bits
    w_dram = np.where(w_fits, weights, weights * groups)
    outs = -(-m // np.asarray(v["pool"]).astype(np.int64)) * n
    ones = np.ones_like(c["cycles"])
    return {
        "cycles": c["cycles"],
        "dram_read_bits": act_dram + w_dram,
        "dram_write_bits": outs * ones,
        "act_buf_read_bits": runs * rows * k,
        "act_buf_write_bits": act_dram * ones,
        "weight_buf_read_bits": runs * k,
        "weight_buf_write_bits": w_dram * ones,
        "out_buf_read_bits": outs * ones,
        "out_buf_write_bits": outs * ones,
    }


@validation_gemm.register
def _(design: ThresholdDesign) -> tuple[int, int, int]:
    # Up to eight groups of input rows and four output neurons at the design's own fan-in
    # (the program the model prices; the generic default's K, a buffer word, means nothing
    # here), kept within 6000 steps: the whole GEMM is one chunk of the activity harness
    # (8192 entries).
    steps = schedule(design).steps
    n = 4 if 4 * 8 * steps <= 6000 else 2
    groups = max(1, min(8, 6000 // (n * steps)))
    return groups * design.pes * design.vectors, n, design.k


@gemm_cycles_batch.register
def _(design: ThresholdDesign, m, n, k):
    m, n, k = (np.asarray(x, dtype=np.int64) for x in (m, n, k))
    m, n, k = np.broadcast_arrays(m, n, k)
    c = threshold_cycles(design_vector(design), m, n, k)
    macs = m * n * k
    slots = c["runs"] * design.pes * design.vectors
    return {"cycles": c["cycles"], "transfers": c["transfers"], "tiles": c["runs"],
            "weight_writes": np.zeros_like(c["runs"]), "macs": macs,
            "utilization": (m * n) / slots * (c["transfers"] / c["cycles"])}


# ----------------------------------------------------------------------------------------
# Cost model
# ----------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CellPreset:
    """Cost of one threshold neuron (weighted sum, compare and its output register).

    Attributes
    ----------
    area_um2 : float
    energy_eval_pj : float
        Energy of a cycle in which the neuron evaluates, inputs toggling at the calibration
        activity.
    energy_idle_pj : float
        Energy of a cycle in which it holds (clock and input toggles only).
    leakage_mw : float
    delay_ns : float
        Inputs to the output register's D (the combinational threshold function).
    """

    name: str
    area_um2: float
    energy_eval_pj: float
    energy_idle_pj: float
    leakage_mw: float
    delay_ns: float
    weights: tuple
    source: str

    def price(self, utilization: float) -> dict:
        """Explicit unit price for :class:`shiftadd.models.cost.Item` at this fraction of
        evaluating cycles."""
        u = float(utilization)
        return {"area": self.area_um2, "energy_clock": 0.0,
                "energy": u * self.energy_eval_pj + (1 - u) * self.energy_idle_pj,
                "leakage_mw": self.leakage_mw}


_PRESET_FIGURES = ("area_um2", "energy_eval_pj", "energy_idle_pj", "leakage_mw", "delay_ns")
# Neurons measured besides the default (2, 1, 1, 1): wider unit fan-ins and the larger
# counters' weights, so any design's neuron is measured or interpolated between these.
VARIANT_WEIGHTS = ((2, 1, 1, 1, 1), (4, 2, 1, 1, 1, 1, 1), (4, 2, 1, 1, 1, 1, 1, 1, 1))


def _weights_key(weights) -> str:
    return "-".join(str(int(w)) for w in weights)


def _read_cells(path=None) -> tuple[dict, Path]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(path) if path else CELLS_FILE
    if not path.is_file():
        raise InputError("no threshold-cell data file; run bench/compare_threshold.py "
                         "--measure-cell", source=str(path))
    data = tomllib.loads(path.read_text())
    for name in ("standard_cell", "custom_cell"):
        if name not in data:
            raise InputError(f"missing preset [{name}]", field=name, source=str(path))
    return data, path


def _preset(name: str, d: dict, weights, source: str) -> CellPreset:
    return CellPreset(name=name, weights=tuple(weights), source=source,
                      **{key: float(d[key]) for key in _PRESET_FIGURES})


def load_cell_presets(path=None) -> dict[str, CellPreset]:
    """The threshold-cell presets for the default neuron (``models/data/threshold_cells.toml``)."""
    data, _ = _read_cells(path)
    return {name: _preset(name, data[name], data[name].get("weights", ()),
                          str(data[name].get("source", "")))
            for name in ("standard_cell", "custom_cell")}


@functools.lru_cache(maxsize=64)
def cell_preset(name: str, weights: tuple, path=None) -> CellPreset:
    """Preset ``name`` for a neuron with these input weights.

    The default neuron and the :data:`VARIANT_WEIGHTS` are measured (the data file's
    ``variants``); other weights are interpolated by least squares in the fan-in and the
    weight sum over the measured neurons (the source says so).
    """
    data, p = _read_cells(path)
    if name not in ("standard_cell", "custom_cell"):
        raise InputError(f"unknown preset {name!r}", field="cell",
                         allowed=["custom_cell", "standard_cell"])
    d = data[name]
    weights = tuple(int(w) for w in weights)
    measured = {tuple(d.get("weights", ())): d}
    for key, var in d.get("variants", {}).items():
        measured[tuple(int(w) for w in key.split("-"))] = var
    if weights in measured:
        src = str(d.get("source", "")) + ("" if weights == tuple(d.get("weights", ())) else
                                          f" (variant {list(weights)})")
        return _preset(name, measured[weights], weights, src)
    ws = list(measured)
    if len(ws) < 3:
        raise InputError(f"the {name} preset has no figures for weights {list(weights)}",
                         field="neuron_weights", allowed=[list(w) for w in ws], source=str(p))
    basis = lambda w: [1.0, len(w), sum(w)]
    a = np.array([basis(w) for w in ws])
    fit = {key: float(np.array(basis(weights)) @ np.linalg.lstsq(
        a, np.array([measured[w][key] for w in ws], float), rcond=None)[0])
        for key in _PRESET_FIGURES}
    if min(fit.values()) <= 0:
        raise InputError(f"weights {list(weights)} are too far from the measured neurons to "
                         f"interpolate the {name} preset", field="neuron_weights",
                         allowed=[list(w) for w in ws], source=str(p))
    return _preset(name, fit, weights,
                   f"interpolated (least squares in fan-in and weight sum) from the {name} "
                   f"neurons measured with weights {[list(w) for w in ws]}")


def _cell(design: ThresholdDesign, preset: str | CellPreset | None) -> CellPreset:
    if isinstance(preset, CellPreset):
        return preset
    return cell_preset(preset or "standard_cell", tuple(design.neuron_weights))


@functools.lru_cache(maxsize=256)
def program_activity(design: ThresholdDesign, k: int | None = None, *, runs: int = 6,
                     seed: int = 0) -> dict:
    """Toggle rates (per bit per cycle) of the array's parts while it streams random binary
    layers (inputs and weights uniformly random, thresholds near the median count), from the
    NumPy interpreter of the program (:func:`execute`, the RTL's exact state sequence) and
    the instruction stream itself.

    Returns ``instruction`` (step-register bits), ``select_change`` (a neuron input's source
    select changes), ``reg``, ``mem``, ``data`` (neuron registers, local memory, data
    registers) and ``x`` (neuron inputs after the inversion).
    """
    prog = schedule(design, k)
    K, S = prog.k, prog.steps
    pes = min(design.pes, 4)              # every PE runs the same program on like data
    d = design.replace(pes=pes)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, (pes * design.vectors, K))
    w = rng.integers(0, 2, (runs, K))
    t = K // 2 + rng.integers(-1, 2, runs)
    lr = layer_runs(d, x, w, t, rng.random(runs) < 0.5)
    tog: dict = {}
    execute(d, lr.fields, lr.data, toggles=tog)
    n = tog["steps"] * pes
    flips = 0
    for key, val in lr.fields.items():
        if key == "load":
            continue
        a = np.asarray(val).reshape(runs * S, -1).astype(np.int64)
        flips += int(np.bitwise_count(a[1:] ^ a[:-1]).sum())
    src = np.asarray(lr.fields["src"]).reshape(runs * S, -1)
    return {"instruction": flips / ((runs * S - 1) * design.instruction_bits),
            "select_change": float((src[1:] != src[:-1]).mean()),
            "reg": tog["reg"] / (n * design.neurons),
            "mem": tog["mem"] / (n * design.memory_bits),
            "data": tog["data"] / (n * design.data_bits),
            "x": tog["x"] / (n * design.neurons * design.fan_in)}


def _at_activity(unit: str, part: str, count: float, toggles_per_input: float,
                 bits: float = 0.0) -> list[Item]:
    """``count`` units whose data inputs toggle ``toggles_per_input`` times per cycle on
    average: the table prices a unit at the calibration activity (0.5 per input), so the
    share ``a = toggles / 0.5`` of them is priced active and the rest held (same area and
    clock energy). ``a`` is capped at 1. ``bits`` is passed on (a net's fan-out for
    ``fanout_buf``)."""
    a = min(max(toggles_per_input / 0.5, 0.0), 1.0)
    items = [Item(unit, part, count * a, bits=bits)]
    if a < 1.0:
        items.append(Item(unit, f"{part} (held share)", count * (1.0 - a), bits=bits,
                          active=False))
    return items


def threshold_fanout_nets(design: ThresholdDesign) -> list[tuple[str, int, int, str]]:
    """The array's nets of high fan-out, ``(name, nets, fan-out, activity key)``, from its
    structure (:class:`shiftadd.hw.threshold_array.ThresholdPE`): the instruction is decoded
    once and drives every PE; a PE's register, memory and data bits feed every neuron
    input's source multiplexer. The activity key names the :func:`program_activity` rate the
    net toggles at (``None``: held, as the reset)."""
    d = design
    P, N, F, L, D = d.pes, d.neurons, d.fan_in, d.memory_bits, d.data_bits
    inputs = N * F + 1                      # neuron inputs and the emit multiplexer
    return [
        ("one-hot source selects", inputs * d.sources, P, "instruction"),
        ("store address decodes", N * L, P, "instruction"),
        ("per-neuron instruction fields (threshold, inversions, enable)",
         N * (d.threshold_bits + F + 1) + 1, P, "instruction"),
        # Each source bit feeds every neuron input's multiplexer and the emit multiplexer;
        # a memory or data bit also its own hold multiplexer, a neuron's register every
        # memory bit's write multiplexer.
        ("local memory bits", P * L, inputs + 1, "mem"),
        ("data register bits", P * D, inputs + 1, "data"),
        ("neuron outputs", P * N, inputs + L, "reg"),
        ("reset", 1, P * (N + L + 1) + 2, None),
    ]


def threshold_bom(design: ThresholdDesign, cell: str | CellPreset | None = None,
                  k: int | None = None) -> list[Item]:
    """Building blocks of a threshold array running the program for fan-in ``k``, with the
    neuron priced by a cell preset (default: the synthesized standard-cell neuron)."""
    d = design
    prog = schedule(d, k)
    P, N, F, L, D = d.pes, d.neurons, d.fan_in, d.memory_bits, d.data_bits
    cell = _cell(d, cell)
    if tuple(cell.weights) and tuple(cell.weights) != tuple(d.neuron_weights):
        raise InputError(f"the {cell.name} preset characterizes a neuron with weights "
                         f"{list(cell.weights)}", field="neuron_weights",
                         allowed=[list(cell.weights)])
    util = prog.utilization
    S = d.sources
    # Every PE executes the same instruction, so each select is decoded once (one-hot,
    # shared) and a PE's S-input multiplexer is S gated inputs into an OR: about S two-input
    # gates per multiplexer, which is what synthesis builds (AND-OR-invert cells).
    act = program_activity(d, k)
    r_instr = act["instruction"]
    # A neuron input's S-way multiplexer is S gates with two inputs each: its one-hot select
    # line (two of them toggle when the select changes) and its source bit.
    r_mux = (2 * act["select_change"] + N * act["reg"] + L * act["mem"] + D * act["data"]) \
        / (2 * S)
    items = [
        # The registered instruction (all of it but `load`, used on acceptance) and valid;
        # its bits toggle as the program's instructions do.
        *_at_activity("dffe", "step register (instruction)", d.instruction_bits, r_instr),
        *_at_activity("and2", "select decoders (shared)", (N * F + 1) * S, r_instr),
        *_at_activity("and2", "store address decoders (shared)", N * L * d.address_bits,
                      r_instr),
        *_at_activity("dffe", "data registers", P * D, act["data"]),
        Item("threshold_neuron", f"threshold neurons ({cell.name})", P * N,
             price=cell.price(util)),
        *_at_activity("and2", "neuron input multiplexers", P * N * F * S, r_mux),
        *_at_activity("xor2", "neuron input inversions", P * N * F,
                      (act["x"] + r_instr) / 2),
        *_at_activity("and2", "emit multiplexers", P * S, r_mux),
        *_at_activity("dffe", "local memory", P * L, act["mem"]),
        *_at_activity("and2", "local memory write select", P * L * N, r_instr),
        *_at_activity("dffe", "result register", P + 1, 0.5 * prog.outputs / prog.steps),
    ]
    # Buffers synthesis puts on the nets of high fan-out (a tenth of the pooled array's cells).
    for part, nets, fanout, rate in threshold_fanout_nets(d):
        items += _at_activity("fanout_buf", f"fan-out buffers: {part}", nets,
                              act[rate] if rate else 0.0, bits=fanout)
    return items


@bill_of_materials.register
def _(design: ThresholdDesign):
    return threshold_bom(design)


def threshold_estimate(design: ThresholdDesign, cell: str | CellPreset | None = None, *,
                       k: int | None = None, table=None, data_activity: float = 0.5) -> dict:
    """Area, energy per cycle and per binary neuron evaluation of ``design`` with a cell
    preset, for the program of fan-in ``k``."""
    from .cost import _price, _table

    table = _table(table)
    prog = schedule(design, k)
    scale = data_activity / table.calibration_activity
    rows = []
    area = energy = leak = 0.0
    for item in threshold_bom(design, cell, k):
        a, e_clock, e_data, lk = _price(item, table)
        e = e_clock + scale * e_data
        area, energy, leak = area + a, energy + e, leak + lk
        rows.append({"part": item.part, "unit": item.unit, "count": item.count, "area": a,
                     "energy_per_cycle_pj": e + lk * design.clock_ns})
    energy += leak * design.clock_ns
    evals_per_cycle = design.pes * design.vectors / prog.steps
    return {"area_um2": area, "energy_per_cycle_pj": energy, "leakage_mw": leak,
            "evaluations_per_cycle": evals_per_cycle,
            "energy_per_evaluation_pj": energy / evals_per_cycle, "steps": prog.steps,
            "breakdown": rows}


# ----------------------------------------------------------------------------------------
# Synthesis activity and cell characterization
# ----------------------------------------------------------------------------------------
def step_stream_activity(design: ThresholdDesign, k: int | None = None, *, runs: int = 8,
                         seed: int = 0, data_activity: float = 0.5) -> float:
    """Mean toggles per cycle of the step stream's payload bits while a layer runs: the
    program's instructions for random weights and thresholds, and input bits that change
    with probability ``data_activity`` on loading steps."""
    from ..hw.threshold_array import step_layout
    from ..sim.packing import pack

    rng = np.random.default_rng(seed)
    prog = schedule(design, k)
    K = prog.k
    rows = design.pes * design.vectors
    x = (rng.random((rows, K)) < 0.5).astype(np.int8)
    w = rng.integers(0, 2, (runs, K))
    t = rng.integers(0, K + 1, runs)
    lr = layer_runs(design, x, w, t, rng.random(runs) < 0.5)
    flat = lr.payload()
    n = lr.runs * prog.steps
    bits = pack(step_layout(design), flat, n)
    toggles = (bits[1:] != bits[:-1]).mean()
    # Input bits are random here (toggle rate 0.5 on a load); scale them to data_activity.
    data_width = design.pes * design.data_bits
    data_share = data_width / bits.shape[1]
    data_rate = (bits[1:, -data_width:] != bits[:-1, -data_width:]).mean()
    return float(toggles + data_share * data_rate * (data_activity / 0.5 - 1.0))


@activity_profile.register
def _(design: ThresholdDesign, data_activity: float):
    # Streaming a layer: a new instruction every cycle, input bits on loading steps,
    # results always read.
    return [
        ("step__payload*", step_stream_activity(design, data_activity=data_activity), 0.5),
        ("step__valid", 0.0, 1.0),
        ("result__ready", 0.0, 1.0),
        ("rst", 0.0, 0.0),
        ("*", 0.0, 0.0),
    ]


# Published relative savings of a threshold-logic standard cell against the static-CMOS
# implementation of the same function (see models/data/threshold_cells.toml).
FTL_AREA_FACTOR = 1 - 0.797
FTL_POWER_FACTOR = 1 - 0.611
FTL_DELAY_FACTOR = 1 - 0.425


def measure_cell(liberty=None, *, weights=(2, 1, 1, 1), clock_ns: float = 10.0,
                 activity: float = 0.5, workdir=None) -> dict:
    """Synthesize the behavioural neuron alone on a liberty and measure it with OpenSTA.

    Returns area (um^2), energy per evaluating cycle and per held cycle (pJ; inputs toggling
    at ``activity``, enable high / low), leakage (mW) and the delay from the inputs to the
    register (ns, including setup).
    """
    from ..hw.threshold_neuron import ThresholdNeuron
    from ..rtl_gen.emit import component_verilog, port_list
    from ..rtl_gen.synth import synthesize_verilog
    from ..rtl_gen.tools import resolve_liberty

    lib = resolve_liberty(liberty)
    if lib is None:
        from ..errors import ToolError

        raise ToolError("measuring the threshold cell needs a liberty: pass --liberty or set "
                        "SHIFTADD_LIBERTY")
    results = {}
    for label, en in (("eval", 1.0), ("idle", 0.0)):
        neuron = ThresholdNeuron(weights=tuple(weights))
        name = "tl_neuron"
        rules = [("en", 0.0, en), ("rst", 0.0, 0.0), ("x", activity, 0.5),
                 ("t", activity, 0.5), ("*", activity, 0.5)]
        sub = None if workdir is None else Path(workdir) / label
        r = synthesize_verilog(component_verilog(neuron, name), name,
                               ports=port_list(neuron), activity_rules=rules,
                               ops_per_cycle=None, liberty=lib, clock_ns=clock_ns,
                               data_activity=activity, effort="high", workdir=sub)
        if r.power_mw is None:
            from ..errors import ToolError

            raise ToolError(f"no power figure for the threshold neuron: {r.notes}")
        results[label] = r
    ev, idle = results["eval"], results["idle"]
    leak = ev.power_mw["leakage"]
    return {
        "area_um2": ev.area,
        "cells": ev.cells,
        "cell_types": ev.cell_types,
        "energy_eval_pj": (ev.power_mw["total"] - leak) * clock_ns,
        "energy_idle_pj": (idle.power_mw["total"] - idle.power_mw["leakage"]) * clock_ns,
        "leakage_mw": leak,
        "delay_ns": ev.critical_path_ns,
        "liberty": lib.name,
        "clock_ns": clock_ns,
        "activity": activity,
        "tools": ev.tools,
    }


def write_cell_presets(liberty=None, *, path=None, weights=(2, 1, 1, 1),
                       variants=VARIANT_WEIGHTS, workdir=None) -> Path:
    """Measure the standard-cell neuron (:func:`measure_cell`) and its ``variants`` (other
    input weights), derive the custom-cell preset from them and the published ratios, and
    write ``models/data/threshold_cells.toml``."""
    import datetime

    import tomli_w

    from .._io import atomic_write
    from ..rtl_gen.tools import tool_versions

    m = measure_cell(liberty, weights=weights, workdir=workdir)
    measured = {_weights_key(w): measure_cell(liberty, weights=w) for w in variants
                if tuple(w) != tuple(weights)}
    factors = {"area_um2": FTL_AREA_FACTOR, "energy_eval_pj": FTL_POWER_FACTOR,
               "energy_idle_pj": FTL_POWER_FACTOR, "leakage_mw": FTL_POWER_FACTOR,
               "delay_ns": FTL_DELAY_FACTOR}
    versions = tool_versions()
    std = {
        "weights": list(weights),
        "area_um2": m["area_um2"],
        "energy_eval_pj": m["energy_eval_pj"],
        "energy_idle_pj": m["energy_idle_pj"],
        "leakage_mw": m["leakage_mw"],
        "delay_ns": m["delay_ns"],
        "cells": m["cells"],
        "cell_types": m["cell_types"],
        "variants": {key: {**{f: v[f] for f in _PRESET_FIGURES}, "cells": v["cells"]}
                     for key, v in measured.items()},
        "source": (f"measured: the behavioural neuron (hw/threshold_neuron.py, weights "
                   f"{list(weights)}, 3-bit threshold, output flip-flop with enable; "
                   f"variants: other weights, keyed by them) "
                   f"synthesized alone with yosys {m['tools'].get('yosys', '?')} + ABC on "
                   f"{m['liberty']}, power from OpenSTA {m['tools'].get('sta', '?')} at "
                   f"{m['clock_ns']} ns with inputs and threshold toggling at "
                   f"{m['activity']} per cycle; energy_eval with the enable high, "
                   f"energy_idle with it low; delay = inputs to register incl. setup"),
    }
    custom = {
        "weights": list(weights),
        "area_um2": m["area_um2"] * FTL_AREA_FACTOR,
        "energy_eval_pj": m["energy_eval_pj"] * FTL_POWER_FACTOR,
        "energy_idle_pj": m["energy_idle_pj"] * FTL_POWER_FACTOR,
        "leakage_mw": m["leakage_mw"] * FTL_POWER_FACTOR,
        "delay_ns": m["delay_ns"] * FTL_DELAY_FACTOR,
        "variants": {key: {f: v[f] * factors[f] for f in _PRESET_FIGURES}
                     for key, v in measured.items()},
        "area_factor": FTL_AREA_FACTOR,
        "power_factor": FTL_POWER_FACTOR,
        "delay_factor": FTL_DELAY_FACTOR,
        "source": (
            "derived: the standard_cell figures above times the savings published for a "
            "programmable threshold-logic standard cell against the static-CMOS "
            "implementation of the same function (threshold function and flip-flop): "
            "A. Wagle, G. Singh, J. Yang, S. Khatri, S. Vrudhula, 'Threshold Logic in a "
            "Flash', ICCD 2019, arXiv:1910.04910 (flash threshold-logic cell, TSMC 40 nm, "
            "layout-extracted simulation): area -79.7 %, power -61.1 %, delay -42.5 %; "
            "consistent with A. Wagle et al., 'A Novel ASIC Design Flow using "
            "Weight-Tunable Binary Neurons as Standard Cells', arXiv:2204.08070: "
            "-79.4 % area, -61.6 % power, -40.3 % delay"),
        "assumptions": (
            "ASSUMPTIONS (not measured): (1) the relative savings measured at 40 nm carry "
            "over to IHP SG13G2 130 nm; (2) power at equal clock is energy per cycle, and "
            "the held (not enabled) cycle saves in the same ratio, as does leakage; (3) the "
            "FTL cell stands in for TULIP's neuron: TULIP (A. Wagle, S. Khatri, S. "
            "Vrudhula, ICCD 2020, arXiv:2104.01699) publishes no cell-level area or energy "
            "in the material we could read (abstract: 3x energy efficiency vs a MAC-based "
            "BNN processor in TSMC 40 nm LP, no loss of performance, area or accuracy); the "
            "two cells come from the same group, but that TULIP's neuron matches the FTL "
            "figures is not verified"),
    }
    meta = {
        "command": "python bench/compare_threshold.py --measure-cell --liberty "
                   f"{m['liberty']}",
        "created": datetime.date.today().isoformat(),
        "liberty": m["liberty"],
        "shiftadd": versions["shiftadd"],
        "note": "written by shiftadd.models.threshold.write_cell_presets; regenerate, do not "
                "edit by hand",
    }
    text = ("# Threshold-neuron cost presets. Written by `python bench/compare_threshold.py "
            "--measure-cell`; do not edit by hand.\n"
            + tomli_w.dumps({"meta": meta, "standard_cell": std, "custom_cell": custom}))
    out = Path(path) if path else CELLS_FILE
    atomic_write(out, text)
    return out
