"""Switching activity from simulation, for OpenSTA power.

The cocotb bench records a SAIF file (every signal bit's toggle count and time at 0 and 1)
from a Verilator model (:func:`shiftadd.sim.runner.simulate` with ``saif=``;
:func:`shiftadd.flows.activity.measure_activity` runs it). Run on the synthesized gate-level
netlist (``netlist=``, with cell models generated from the liberty), the SAIF has the
activity of every pin of every cell, and :func:`sta_annotation` hands all of them to
OpenSTA with ``sta::set_power_pin_activity`` (OpenSTA 2.0.17's ``set_power_activity
-pins`` is broken: its Tcl calls an undefined helper; and an activity set on one pin is not
propagated to the pins it drives, so partial, register-only annotation has no effect there).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import tempfile
from pathlib import Path

from ..errors import ToolError
from .cells import cell_models
from .liberty import read_liberty
from .tools import setup_verilator

__all__ = [
    "SwitchingActivity",
    "read_saif",
    "sta_annotation",
    "StimulusBlock",
    "random_stimulus_activity",
    "BENCH_CLOCK_NS",
]

BENCH_CLOCK_NS = 10.0  # the cocotb bench's clock (shiftadd.sim.cocotb_bench)

_TOKEN = re.compile(r"\(|\)|\"[^\"]*\"|[^\s()]+")


@dataclasses.dataclass
class SwitchingActivity:
    """Toggles per clock cycle and duty (fraction of time at 1) of named signal bits.

    Names are relative to the design's top (``act_reg[3]``, ``neuron0.l3_n0_a[1]``).
    """

    cycles: float
    nets: dict

    def mean_rate(self, prefix: str) -> float | None:
        """Mean toggles per cycle of the bits whose names start with ``prefix``."""
        rates = [r for name, (r, _) in self.nets.items() if name.startswith(prefix)]
        return sum(rates) / len(rates) if rates else None


def _unescape(name: str) -> str:
    return re.sub(r"\\(.)", r"\1", name)


def _sexpr(text: str) -> list:
    """Parse parenthesized SAIF text into nested lists of tokens."""
    root: list = []
    stack = [root]
    for tok in _TOKEN.findall(re.sub(r"//[^\n]*", "", text)):
        if tok == "(":
            node: list = []
            stack[-1].append(node)
            stack.append(node)
        elif tok == ")":
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1].append(tok)
    return root


def read_saif(
    path: str | os.PathLike,
    scope: tuple[str, ...] = ("shiftadd_harness", "dut"),
    clock_ns: float = BENCH_CLOCK_NS,
) -> SwitchingActivity:
    """Activity of the nets inside instance path ``scope`` of a SAIF file."""
    tree = _sexpr(Path(path).read_text())
    saif = next((n for n in tree if isinstance(n, list) and n and n[0] == "SAIFILE"), None)
    if saif is None:
        raise ValueError(f"{path}: not a SAIF file")
    units = {"s": 1e12, "ms": 1e9, "us": 1e6, "ns": 1e3, "ps": 1.0, "fs": 1e-3}
    duration = timescale_ps = None
    for node in saif:
        if isinstance(node, list) and node and node[0] == "DURATION":
            duration = float(node[1])
        elif isinstance(node, list) and node and node[0] == "TIMESCALE":
            m = re.fullmatch(r"(\d+)(\w+)", node[1])
            timescale_ps = (
                float(m.group(1)) * units[m.group(2)] if m else float(node[1]) * units[node[2]]
            )
    if not duration or timescale_ps is None:
        raise ValueError(f"{path}: no DURATION or TIMESCALE")
    nets: dict[str, tuple[float, float]] = {}

    def walk(node: list, path: tuple[str, ...]) -> None:
        for child in node:
            if not isinstance(child, list) or not child:
                continue
            if child[0] == "INSTANCE":
                walk(child[2:], path + (_unescape(child[1].strip('"')),))
            elif child[0] == "NET" and path[: len(scope)] == scope:
                prefix = "/".join(path[len(scope) :])
                for net in child[1:]:
                    if not isinstance(net, list) or not net:
                        continue
                    values = {v[0]: float(v[1]) for v in net[1:] if isinstance(v, list)}
                    if "TC" in values:
                        name = _unescape(net[0])
                        nets[f"{prefix}/{name}" if prefix else name] = (
                            values["TC"],
                            values.get("T1", 0.0),
                        )

    walk(saif, ())
    cycles = duration * timescale_ps / (clock_ns * 1e3)
    return SwitchingActivity(
        cycles=cycles, nets={name: (tc / cycles, t1 / duration) for name, (tc, t1) in nets.items()}
    )


def sta_annotation(activity: SwitchingActivity, input_ports: list[str]) -> str:
    """OpenSTA Tcl setting the simulated activity of ports, cell pins and nets.

    Names with an instance path (``_5620_/A``, from a gate-level simulation that traced
    inside every cell) are pins; other names are nets of the design's top, whose every pin
    gets the net's activity (only from an RTL run: a gate-level run's pins cover every net).
    OpenSTA 2.0.17 does not propagate an activity set on one pin to the pins it drives, so
    the annotation is only complete from a gate-level run.
    """
    lines = ["# switching activity from simulation (SAIF)", "set shiftadd_annotated 0"]
    port_set = set(input_ports)
    pins, nets = [], []
    for name, (rate, duty) in sorted(activity.nets.items()):
        if "/" in name:
            pins.append(f"{{{name}}} {rate:.6g} {duty:.6g}")
        elif name.split("[")[0] in port_set:
            lines.append(
                f"set_power_activity -input_ports [get_ports {{{name}}}] "
                f"-activity {rate:.6g} -duty {duty:.6g}"
            )
        else:
            nets.append(f"{{{name}}} {rate:.6g} {duty:.6g}")
    # Each list on one line: OpenSTA reads a script line by line and re-parses the command
    # so far after every line, which is quadratic in a list spread over many lines.
    lines.append("foreach {pin a d} {" + " ".join(pins) + "} {")
    # A direct lookup by full name: get_pins matches a pattern against every instance,
    # which made annotating a large netlist quadratic.
    lines.append("  set p [sta::find_pin $pin]")
    lines.append('  if {$p != "NULL"} {')
    lines.append("    sta::set_power_pin_activity $p $a $d")
    lines.append("    incr shiftadd_annotated")
    lines.append("  }")
    lines.append("}")
    if pins:
        # A gate-level run traced inside every cell: its pins already carry every net's
        # activity, and matching net names one pattern at a time is quadratic in OpenSTA.
        nets = []
    lines.append("foreach {net a d} {" + " ".join(nets) + "} {")
    lines.append("  foreach n [get_nets -quiet $net] {")
    lines.append("    foreach p [get_pins -quiet -of_objects $n] {")
    lines.append("      sta::set_power_pin_activity $p $a $d")
    lines.append("      incr shiftadd_annotated")
    lines.append("    }")
    lines.append("  }")
    lines.append("}")
    lines.append('puts "shiftadd: annotated $shiftadd_annotated pins from simulation"')
    return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class StimulusBlock:
    """One gate-level netlist for :func:`random_stimulus_activity`: its file, top module,
    ports (:func:`shiftadd.rtl_gen.emit.port_list`), the input ports that take new random
    data every cycle, and inputs held at given values (other inputs: random constants).

    ``clock`` names its clock input; ``reset`` maps reset inputs to their active level
    (0 or 1), asserted during the bench's reset cycles and released (the other level) for
    the measured cycles. ``sequences`` maps inputs to given values, one per cycle from the
    first reset cycle on (at least as many as the bench runs; masked to the port's width),
    in place of random data."""

    netlist: str
    top: str
    ports: list
    toggling: tuple = ()
    held: dict = dataclasses.field(default_factory=dict)
    clock: str = "clk"
    reset: dict = dataclasses.field(default_factory=dict)
    sequences: dict = dataclasses.field(default_factory=dict)


def random_stimulus_activity(
    blocks: list[StimulusBlock],
    *,
    liberty,
    cycles: int = 2000,
    seed: int = 1,
    workdir: str | os.PathLike | None = None,
    reset_cycles: int = 0,
) -> dict[str, SwitchingActivity]:
    """Switching activity of gate-level netlists driven by uniformly random data.

    A generated Verilog testbench instantiates every block's top and clocks them together for
    ``cycles`` cycles with the reset released; ``toggling`` inputs take a new uniformly
    random value every cycle (each bit toggles with probability 1/2), ``held`` inputs keep
    their value and the other inputs a random constant. With ``reset_cycles``, the blocks'
    ``reset`` inputs are first held active for that many cycles (data already random), and
    the recorded rates are per cycle of the whole run, reset cycles included (Verilator's
    SAIF cannot start later). One Verilator build (cell models
    generated from ``liberty``, optimization off: the models are large and run few cycles)
    records a SAIF file of every cell pin. Returns the activity per block top.
    """
    exe, _ = setup_verilator()
    cell_names = set(read_liberty(liberty).cells)
    texts, used, decls, instances, per_cycle, init, release = [], set(), [], [], [], [], []
    # Given sequences: one memory per port, read from a hex file, indexed by the cycle.
    memories: dict[str, list[int]] = {}
    for b in blocks:
        text = Path(b.netlist).read_text()
        texts.append(text)
        used |= set(re.findall(r"^\s*(\w+)\s+\S+\s*\(", text, re.M)) & cell_names
        conns = []
        for p in b.ports:
            name, width = p["name"], int(p["width"])
            sig = f"{b.top}__{name}"
            rng = f"[{width - 1}:0] " if width > 1 else ""
            conns.append(f".{name}({'clk' if name == b.clock else sig})")
            if name == b.clock:
                continue
            if p["direction"] != "input":
                decls.append(f"  wire {rng}{sig};")
                continue
            decls.append(f"  reg {rng}{sig};")
            if name in b.sequences:
                values = [int(v) & ((1 << width) - 1) for v in b.sequences[name]]
                memories[sig] = values
                decls.append(f"  reg {rng}{sig}_seq [0:{len(values) - 1}];")
                init.append(f"    {sig} = {sig}_seq[0];")
                per_cycle.append(f"      {sig} = {sig}_seq[c];")
                continue
            if name in b.reset:
                active = int(b.reset[name])
                init.append(f"    {sig} = {{{width}{{1'b{active}}}}};")
                release.append(f"    {sig} = {{{width}{{1'b{1 - active}}}}};")
                continue
            if name in b.held:
                init.append(f"    {sig} = {width}'d{int(b.held[name])};")
                continue
            value = "{" + ", ".join("$urandom" for _ in range(-(-width // 32))) + "}"
            init.append(f"    {sig} = {value};")
            if name in b.toggling:
                per_cycle.append(f"      {sig} = {value};")
        instances.append(f"  {b.top} u_{b.top} ({', '.join(conns)});")
    # Verilator's SAIF covers the whole run wherever $dumpvars stands, so the reset cycles
    # are recorded too; being few, they dilute the rates by their share of the run.
    dump = ['    $dumpfile("activity.saif");', "    $dumpvars(0, calib_tb);"]
    if memories:
        decls.append("  integer c;")
        init[:0] = ["    c = 0;"] + [f'    $readmemh("{sig}.hex", {sig}_seq);' for sig in memories]
        per_cycle.append("      c = c + 1;")
    tb = (
        "\n".join(
            [
                "`timescale 1ns/1ps",
                "module calib_tb;",
                "  reg clk;",
                *decls,
                *instances,
                "  integer i;",
                "  initial begin",
                *dump,
                f"    i = $urandom({int(seed)});",
                "    clk = 1'b0;",
                *init,
                *(
                    [
                        f"    for (i = 0; i < {int(reset_cycles)}; i = i + 1) begin",
                        "      #1;",
                        *per_cycle,
                        "      #4 clk = 1'b1;",
                        "      #5 clk = 1'b0;",
                        "    end",
                        *release,
                    ]
                    if reset_cycles > 0
                    else release
                ),
                f"    for (i = 0; i < {int(cycles)}; i = i + 1) begin",
                "      #1;",
                *per_cycle,
                "      #4 clk = 1'b1;",
                "      #5 clk = 1'b0;",
                "    end",
                "    $finish;",
                "  end",
                "endmodule",
            ]
        )
        + "\n"
    )
    with tempfile.TemporaryDirectory(prefix="shiftadd-act-") as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        (work / "calib_tb.v").write_text(tb)
        for sig, values in memories.items():
            (work / f"{sig}.hex").write_text("".join(f"{v:x}\n" for v in values))
        (work / "cells.v").write_text(cell_models(liberty, used))
        (work / "netlists.v").write_text("\n".join(texts))
        cmd = [
            exe,
            "--binary",
            "--timing",
            "--trace-saif",
            "--trace-underscore",
            "-Wno-fatal",
            "-Wno-lint",
            "-Wno-style",
            "-Wno-UNOPTFLAT",
            "--top-module",
            "calib_tb",
            "-MAKEFLAGS",
            "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0",
            # The wheel's verilated.mk leaves the C++20 coroutine flags (--timing) empty.
            "-CFLAGS",
            "-std=c++20 -fcoroutines",
            "-j",
            str(min(4, os.cpu_count() or 1)),
            "-Mdir",
            "obj",
            "calib_tb.v",
            "netlists.v",
            "cells.v",
        ]
        build = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        if build.returncode:
            raise ToolError(
                "Verilator build of the activity bench failed:\n" + build.stderr[-3000:]
            )
        run = subprocess.run(
            [str(work / "obj" / "Vcalib_tb")], cwd=work, capture_output=True, text=True
        )
        if run.returncode:
            raise ToolError(f"activity bench failed:\n{run.stderr[-3000:]}")
        whole = read_saif(work / "activity.saif", scope=("calib_tb",), clock_ns=10.0)
    out = {}
    for b in blocks:
        prefix = f"u_{b.top}/"
        out[b.top] = SwitchingActivity(
            cycles=whole.cycles,
            nets={
                name[len(prefix) :]: v for name, v in whole.nets.items() if name.startswith(prefix)
            },
        )
    return out
