"""The threshold-logic PE array (``arch = "threshold"``): SIMD PEs of threshold neurons.

Dataflow, one step per cycle at full rate::

    step stream -> step register (instruction, broadcast to all PEs)
                -> per PE: data register (loaded by steps with ``load``)
                   neuron-input multiplexers over {0, neuron registers, local memory,
                   data register}, each with a programmable inversion
                -> N threshold neurons (output registers), local memory stores
                -> emit multiplexer -> result register -> result stream (one bit per PE)

A step is accepted into the step register (and its data into the data registers) in one
cycle and executed in the next: the neurons enabled by the instruction evaluate their
multiplexed inputs against their thresholds and register the outcome, each store copies a
neuron's register (as it was before this step) into a local-memory bit, and an emitting step
registers one source bit per PE as a result. Nothing is read before the program writes it,
so runs need no reset between them.

Backpressure is a global stall, as in the adder-tree array: the step register and the PEs'
state advance when the result register is empty or being read.

With ``pe = "tulip"`` each PE is a :class:`RingPE`: a dedicated register per neuron instead
of the local memory, and neuron inputs that read only their own neuron's and its ring
predecessor's output and register (docs/threshold.md, *The TULIP-like PE option*).

With ``clock_gating`` the local memory (or each neuron register), the data registers and the
result register are clocked through one clock gate per group, enabled by the group's write
enable (:mod:`shiftadd.hw.clock_gate`; docs/threshold.md, *Clock-gated storage*).
"""

from __future__ import annotations

from amaranth.hdl import Array, C, Cat, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..design.threshold import ThresholdDesign
from ._util import output_advance, validating
from .clock_gate import clock_gate_verilog, gated_domain
from .threshold_neuron import ThresholdNeuron, neuron_instance

__all__ = [
    "ThresholdArray",
    "ThresholdPE",
    "RingPE",
    "instruction_layout",
    "step_layout",
    "neuron_module_name",
    "clock_gate_module_name",
]


def instruction_layout(design: ThresholdDesign) -> data.StructLayout:
    """One step's instruction as the PEs execute it.

    Per neuron ``en`` (evaluate),
    ``t`` (threshold), ``src``/``inv`` (source select and inversion of each input),
    ``store``/``addr`` (copy the neuron's register into local memory); ``emit``,
    ``emit_src``, ``emit_inv``: put one source bit per PE on the result stream.
    """
    N, F, sw = design.neurons, design.fan_in, design.select_bits
    return data.StructLayout(
        {
            "en": data.ArrayLayout(1, N),
            "t": data.ArrayLayout(design.threshold_bits, N),
            "src": data.ArrayLayout(data.ArrayLayout(sw, F), N),
            "inv": data.ArrayLayout(data.ArrayLayout(1, F), N),
            "store": data.ArrayLayout(1, N),
            "addr": data.ArrayLayout(design.address_bits, N),
            "emit": 1,
            "emit_src": design.emit_select_bits,
            "emit_inv": 1,
        }
    )


def step_layout(design: ThresholdDesign) -> data.StructLayout:
    """Payload of the step stream: ``load`` (load the data registers from this step's
    data), the instruction, and ``data_bits`` input bits per PE."""
    fields = {"load": 1, **dict(instruction_layout(design).members)}
    fields["data"] = data.ArrayLayout(data.ArrayLayout(1, design.data_bits), design.pes)
    return data.StructLayout(fields)


def neuron_module_name(design: ThresholdDesign) -> str:
    """Verilog module name of the design's neuron when emitted separately."""
    return f"{design.name}_tl_neuron"


def clock_gate_module_name(design: ThresholdDesign) -> str:
    """Verilog module name of the design's clock gate (``clock_gating = true``)."""
    return f"{design.name}_clock_gate"


class ThresholdPE(wiring.Component):
    """One PE: ``neurons`` threshold neurons, their input multiplexers, local memory.

    Parameters
    ----------
    design : ThresholdDesign
    neuron_module : str, optional
        Instantiate the neurons as this separately emitted Verilog module instead of
        elaborating :class:`ThresholdNeuron` here (Verilog only: Amaranth cannot simulate it).
    clock_gate : str, optional
        Clock the local memory (or each neuron register) through an instance of this clock
        gate module (:func:`~shiftadd.hw.clock_gate.gated_domain`; Verilog only).

    Members
    -------
    instr : In(instruction_layout)
        The instruction in execution.
    data : In(data_bits)
        The PE's data register.
    commit : In(1)
        The instruction executes this cycle (state updates at the clock edge).
    value : Out(1)
        The emit multiplexer's output.
    """

    def __init__(
        self,
        *,
        design: ThresholdDesign,
        neuron_module: str | None = None,
        clock_gate: str | None = None,
    ):
        with validating(self):
            if not isinstance(design, ThresholdDesign):
                raise TypeError(f"Design must be a ThresholdDesign, not {design!r}")
        self._design = design
        self._neuron_module = neuron_module
        self._clock_gate = clock_gate
        super().__init__(
            {
                "instr": In(instruction_layout(design)),
                "data": In(design.data_bits),
                "commit": In(1),
                "value": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        d = self._design
        ins = self.instr
        regs = [Signal(name=f"n{n}_y") for n in range(d.neurons)]
        memory = Signal(d.memory_bits, name="memory")
        # Source order fixes the select encoding (ThresholdDesign.sources).
        sources = Array(
            [
                C(0, 1),
                *regs,
                *[memory[a] for a in range(d.memory_bits)],
                *[self.data[i] for i in range(d.data_bits)],
            ]
        )
        for n in range(d.neurons):
            self._add_neuron(m, n, sources, regs[n])
        # A store copies the neuron's register; the highest neuron wins a shared address.
        # The memory changes only on a committed store: the clock gate's enable.
        domain = gated_domain(
            m, "memory", self.commit & ins.store.as_value().any(), cell=self._clock_gate
        )
        for a in range(d.memory_bits):
            for n in range(d.neurons):
                with m.If(self.commit & ins.store[n] & (ins.addr[n] == a)):
                    m.d[domain] += memory[a].eq(regs[n])
        m.d.comb += self.value.eq(sources[ins.emit_src] ^ ins.emit_inv)
        return m

    def _add_neuron(self, m: Module, n: int, sources, y: Signal) -> None:
        """Neuron ``n``: its inputs picked from ``sources`` by the instruction (and
        inverted), evaluating on committed steps that enable it, its output driving ``y``."""
        d, ins = self._design, self.instr
        x = Signal(d.fan_in, name=f"n{n}_x")
        for i in range(d.fan_in):
            m.d.comb += x[i].eq(sources[ins.src[n][i]] ^ ins.inv[n][i])
        en = Signal(name=f"n{n}_en")
        m.d.comb += en.eq(self.commit & ins.en[n])
        if self._neuron_module is None:
            neuron = ThresholdNeuron(weights=d.neuron_weights, threshold_bits=d.threshold_bits)
            m.submodules[f"neuron{n}"] = neuron
            m.d.comb += [neuron.x.eq(x), neuron.t.eq(ins.t[n]), neuron.en.eq(en), y.eq(neuron.y)]
        else:
            m.submodules[f"neuron{n}"] = neuron_instance(
                self._neuron_module, x=x, t=ins.t[n], en=en, y=y
            )


class RingPE(ThresholdPE):
    """One TULIP-like PE (``pe = "tulip"``): ``neurons`` threshold neurons in a ring, each
    with a dedicated register ``R_n`` of ``neuron_register_bits`` bits written only from its
    own output.

    Input ``i`` of neuron ``n`` selects (``instr.src[n][i]``) among constant 0, ``y_n``,
    ``y_(n-1)``, the bits of ``R_n``, the bits of ``R_(n-1)`` and the data bits; a store
    writes ``y_n`` (as it was before this step) into ``R_n[addr[n]]``; the emit multiplexer
    reads 0, any neuron's output, any register bit or a data bit. Same members as
    :class:`ThresholdPE`.
    """

    def elaborate(self, platform):
        m = Module()
        d = self._design
        ins = self.instr
        N, L = d.neurons, d.neuron_register_bits
        ys = [Signal(name=f"n{n}_y") for n in range(N)]
        regs = [Signal(L, name=f"r{n}") for n in range(N)]
        data_bits = [self.data[i] for i in range(d.data_bits)]
        for n in range(N):
            left = (n - 1) % N
            # Source order fixes the select encoding (ThresholdDesign.sources, ring PE).
            sources = Array(
                [
                    C(0, 1),
                    ys[n],
                    ys[left],
                    *[regs[n][a] for a in range(L)],
                    *[regs[left][a] for a in range(L)],
                    *data_bits,
                ]
            )
            self._add_neuron(m, n, sources, ys[n])
            # Only neuron n writes R_n, from its own output: no write-data multiplexer. R_n
            # changes only on neuron n's committed stores: its clock gate's enable.
            domain = gated_domain(m, f"r{n}", self.commit & ins.store[n], cell=self._clock_gate)
            for a in range(L):
                with m.If(self.commit & ins.store[n] & (ins.addr[n] == a)):
                    m.d[domain] += regs[n][a].eq(ys[n])
        emit = Array([C(0, 1), *ys, *[r[a] for r in regs for a in range(L)], *data_bits])
        m.d.comb += self.value.eq(emit[ins.emit_src] ^ ins.emit_inv)
        return m


class ThresholdArray(wiring.Component):
    """``pes`` SIMD PEs of threshold neurons driven by one instruction stream.

    Parameters
    ----------
    design : ThresholdDesign
    neuron_cell : bool, optional
        Instantiate the neuron as a separate Verilog module (:attr:`separate_modules`);
        default ``design.separate_neuron``. Amaranth simulation needs ``False``.
    clock_gate_cells : bool, optional
        With ``design.clock_gating``, clock the gated register groups through instances of
        the clock-gate module (:attr:`separate_modules`; default ``True``). Amaranth
        simulation needs ``False``: the groups then stay on ``sync`` with their write
        enables, which computes the same values (:mod:`shiftadd.hw.clock_gate`).

    Members
    -------
    step : In(stream.Signature(step_layout))
        One instruction (and data bits per PE) per transfer.
    result : Out(stream.Signature(ArrayLayout(1, pes)))
        One bit per PE for every emitting step.
    """

    def __init__(
        self,
        *,
        design: ThresholdDesign,
        neuron_cell: bool | None = None,
        clock_gate_cells: bool | None = None,
    ):
        with validating(self):
            if not isinstance(design, ThresholdDesign):
                raise TypeError(f"Design must be a ThresholdDesign, not {design!r}")
        self._design = design
        self._neuron_cell = design.separate_neuron if neuron_cell is None else bool(neuron_cell)
        cells = True if clock_gate_cells is None else bool(clock_gate_cells)
        self._clock_gate = clock_gate_module_name(design) if design.clock_gating and cells else None
        super().__init__(
            {
                "step": In(stream.Signature(step_layout(design))),
                "result": Out(stream.Signature(data.ArrayLayout(1, design.pes))),
            }
        )

    @property
    def design(self) -> ThresholdDesign:
        return self._design

    @property
    def latency(self) -> int:
        return self._design.latency

    @property
    def separate_modules(self) -> dict:
        """Verilog modules the array instantiates but does not contain: the neuron, for a
        user to swap with a characterized cell (none when the neuron is flattened), and the
        clock gate as Verilog text (with clock gating)."""
        d = self._design
        out: dict = {}
        if self._neuron_cell:
            out[neuron_module_name(d)] = ThresholdNeuron(
                weights=d.neuron_weights, threshold_bits=d.threshold_bits
            )
        if self._clock_gate is not None:
            out[self._clock_gate] = clock_gate_verilog(self._clock_gate)
        return out

    def elaborate(self, platform):
        m = Module()
        d = self._design
        advance = output_advance(m, self.result, ready=(self.step,))

        instr = Signal(instruction_layout(d), name="instr", reset_less=True)
        exec_valid = Signal()
        payload = self.step.payload
        with m.If(advance):
            m.d.sync += exec_valid.eq(self.step.valid)
            m.d.sync += [instr[name].eq(payload[name]) for name, _ in instruction_layout(d)]
        commit = Signal()
        m.d.comb += commit.eq(advance & exec_valid)

        module = neuron_module_name(d) if self._neuron_cell else None
        values = []
        # The data registers load only on accepted loading steps: one clock gate for all.
        load = advance & self.step.valid & payload.load
        data_domain = gated_domain(m, "data", load, cell=self._clock_gate, reset=False)
        for p in range(d.pes):
            dreg = Signal(d.data_bits, name=f"data{p}", reset_less=True)
            with m.If(load):
                m.d[data_domain] += dreg.eq(payload.data[p])
            pe = (RingPE if d.ring else ThresholdPE)(
                design=d, neuron_module=module, clock_gate=self._clock_gate
            )
            m.submodules[f"pe{p}"] = pe
            m.d.comb += [pe.instr.eq(instr), pe.data.eq(dreg), pe.commit.eq(commit)]
            values.append(pe.value)

        with m.If(advance):
            m.d.sync += self.result.valid.eq(exec_valid & instr.emit)
        # The result holds between emits (less toggling on the output), so its register
        # loads only on emitting steps: its clock gate's enable.
        emit = commit & instr.emit
        result_domain = gated_domain(m, "result", emit, cell=self._clock_gate)
        with m.If(emit):
            m.d[result_domain] += self.result.payload.eq(Cat(*values))
        return m
