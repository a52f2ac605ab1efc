"""Integrated clock gates (ICG) for register groups written only on some cycles.

A register group that loads on few cycles pays its clock on every cycle if it sits on the
free-running clock with a load enable. Behind a clock gate it is clocked only on the cycles
its enable is high. The gate is the standard latch-based ICG: a latch, transparent while
``clk`` is low, holds ``en`` through the high phase, and ``gclk = clk & latched_en``, so
``gclk`` has no glitch and its rising edge coincides with ``clk``'s.

In the generated Verilog the gate is its own small module (:func:`clock_gate_verilog`),
behavioural, so every Verilog simulator runs it exactly; synthesis with a liberty that has a
``clock_gating_integrated_cell`` maps that module onto the cell
(:func:`shiftadd.rtl_gen.synth.map_clock_gates`). Amaranth's simulator cannot run a
derived clock exactly (a clock computed by logic rises one delta cycle after ``clk``, after
the free-running registers have taken their new values), so :func:`gated_domain` without
``cell`` keeps the group on ``sync``: the group's registers keep their write enables either
way, so both forms compute the same values.
"""

from __future__ import annotations

from amaranth.hdl import ClockDomain, ClockSignal, Instance, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ._util import validating

__all__ = ["CLOCK_GATE_ATTRIBUTE", "clock_gate_verilog", "gated_domain", "GatedRegister"]

#: Verilog attribute that marks a module as a clock gate, for synthesis to map it.
CLOCK_GATE_ATTRIBUTE = "shiftadd_clock_gate"


def clock_gate_verilog(module: str) -> str:
    """The behavioural clock gate as a Verilog module named ``module`` (ports ``clk``,
    ``en``, ``gclk``), marked with :data:`CLOCK_GATE_ATTRIBUTE`.

    Parameters
    ----------
    module : str
        Module name.

    Returns
    -------
    str
        The module's Verilog text.
    """
    return (
        "/* verilator lint_off LATCH */\n"
        f"(* {CLOCK_GATE_ATTRIBUTE} *)\n"
        f"module {module}(clk, en, gclk);\n"
        "  input wire clk;\n"
        "  input wire en;\n"
        "  output wire gclk;\n"
        "  reg en_latched;\n"
        "  // Transparent while clk is low: en is sampled up to the rising edge and held\n"
        "  // through the high phase, so gclk cannot glitch.\n"
        "  always @(clk or en) if (!clk) en_latched = en;\n"
        "  assign gclk = clk & en_latched;\n"
        "endmodule\n"
        "/* verilator lint_on LATCH */\n"
    )


def gated_domain(m, label: str, enable, *, cell: str | None, reset: bool = True) -> str:
    """The clock domain of a register group written only when ``enable`` is high.

    Parameters
    ----------
    m : amaranth.hdl.Module
        The module the group's registers are in.
    label : str
        Name of the group (the domain is ``g_<label>``, the gate ``cg_<label>``).
    enable : Value
        The group's write enable (a register of the group changes only when it is high).
    cell : str or None
        The clock-gate module to instantiate (:func:`clock_gate_verilog`); ``None`` keeps
        the group on ``sync`` (Amaranth simulation, or no gating).
    reset : bool
        The group's registers have a reset: the gate also opens while ``rst`` is high, so
        the synchronous reset reaches them.

    Returns
    -------
    str
        The domain to put the group's ``m.If(enable)`` assignments in.
    """
    if cell is None:
        return "sync"
    name = f"g_{label}"
    cd = ClockDomain(name, local=True, reset_less=not reset)
    m.domains += cd
    gate_en = (enable | ResetSignal()) if reset else enable
    if reset:
        m.d.comb += cd.rst.eq(ResetSignal())
    m.submodules[f"cg_{label}"] = Instance(cell, i_clk=ClockSignal(), i_en=gate_en, o_gclk=cd.clk)
    return name


class GatedRegister(wiring.Component):
    """A calibration block: ``width`` flip-flops in groups of ``group``, each group clocked
    through its own clock gate opened by ``en`` (``shiftadd calibrate`` prices the ``icg``
    unit from it, :func:`shiftadd.flows.calibrate.fit_units`).

    Parameters
    ----------
    width : int
        Flip-flops (a multiple of ``group``).
    group : int
        Flip-flops behind each gate.
    module : str
        Name of the clock-gate module (unique per block: the calibration simulates all its
        blocks in one build).

    Members
    -------
    en : In(1)
        The gates' enable.
    d : In(width)
        Data.
    q : Out(width)
        The registers.
    """

    def __init__(self, *, width: int, group: int, module: str):
        with validating(self):
            if group < 1 or width % group:
                raise ValueError(f"Width {width} must be a multiple of the group {group}")
        self._group, self._module = group, module
        super().__init__({"en": In(1), "d": In(width), "q": Out(width)})

    @property
    def verilog_modules(self) -> dict[str, str]:
        """The clock-gate module's Verilog text, by name (not an Amaranth component)."""
        return {self._module: clock_gate_verilog(self._module)}

    def elaborate(self, platform):
        m = Module()
        g = self._group
        reg = Signal(len(self.d), reset_less=True)
        for i in range(len(self.d) // g):
            domain = gated_domain(m, f"bank{i}", self.en, cell=self._module, reset=False)
            m.d[domain] += reg[i * g : (i + 1) * g].eq(self.d[i * g : (i + 1) * g])
        m.d.comb += self.q.eq(reg)
        return m
