"""Switching activity from simulation, for OpenSTA power.

The cocotb bench records a SAIF file (every signal bit's toggle count and time at 0 and 1)
from a Verilator model (:func:`shiftadd.sim.runner.simulate` with ``saif=``). Run on the
synthesized gate-level netlist (``netlist=``, with cell models generated from the liberty),
the SAIF has the activity of every pin of every cell, and :func:`sta_annotation` hands all of
them to OpenSTA with ``sta::set_power_pin_activity`` (OpenSTA 2.0.17's ``set_power_activity
-pins`` is broken: its Tcl calls an undefined helper; and an activity set on one pin is not
propagated to the pins it drives, so partial, register-only annotation has no effect there).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from pathlib import Path

__all__ = ["SwitchingActivity", "read_saif", "measure_activity", "sta_annotation"]

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


def read_saif(path: str | os.PathLike, scope: tuple[str, ...] = ("shiftadd_harness", "dut"),
              clock_ns: float = BENCH_CLOCK_NS) -> SwitchingActivity:
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
            timescale_ps = float(m.group(1)) * units[m.group(2)] if m else \
                float(node[1]) * units[node[2]]
    if not duration or timescale_ps is None:
        raise ValueError(f"{path}: no DURATION or TIMESCALE")
    nets: dict[str, tuple[float, float]] = {}

    def walk(node: list, path: tuple[str, ...]) -> None:
        for child in node:
            if not isinstance(child, list) or not child:
                continue
            if child[0] == "INSTANCE":
                walk(child[2:], path + (_unescape(child[1].strip('"')),))
            elif child[0] == "NET" and path[:len(scope)] == scope:
                prefix = "/".join(path[len(scope):])
                for net in child[1:]:
                    if not isinstance(net, list) or not net:
                        continue
                    values = {v[0]: float(v[1]) for v in net[1:] if isinstance(v, list)}
                    if "TC" in values:
                        name = _unescape(net[0])
                        nets[f"{prefix}/{name}" if prefix else name] = \
                            (values["TC"], values.get("T1", 0.0))

    walk(saif, ())
    cycles = duration * timescale_ps / (clock_ns * 1e3)
    return SwitchingActivity(cycles=cycles, nets={
        name: (tc / cycles, t1 / duration) for name, (tc, t1) in nets.items()})


def measure_activity(design, *, vectors: int = 4000, seed: int = 0, netlist=None,
                     liberty=None, build_root=None, gemm=None) -> tuple[SwitchingActivity, object]:
    """Run the design's bench with SAIF recording; ``(activity, simulation report)``.

    With ``netlist`` (and its ``liberty``) the gate-level netlist is simulated, which both
    checks it against the golden model and gives the activity of every cell pin. With
    ``gemm = (M, N, K)`` the bench runs that tiled GEMM instead of random traffic.
    """
    from ..sim.runner import simulate

    with tempfile.TemporaryDirectory(prefix="shiftadd-saif-") as tmp:
        path = Path(tmp) / "activity.saif"
        report = simulate(design, vectors=vectors, seed=seed, saif=path, build_root=build_root,
                          netlist=netlist, liberty=liberty, gemm=gemm,
                          depth=max(64, 1 << max(0, (vectors + 1024).bit_length())))
        activity = read_saif(path)
    return activity, report


def sta_annotation(activity: SwitchingActivity, input_ports: list[str]) -> str:
    """OpenSTA Tcl setting the simulated activity of ports, cell pins and nets.

    Names with an instance path (``_5620_/A``, from a gate-level simulation that traced
    inside every cell) are pins; other names are nets of the design's top, whose every pin
    gets the net's activity. OpenSTA 2.0.17 does not propagate an activity set on one pin
    to the pins it drives, so the annotation is only complete from a gate-level run.
    """
    lines = ["# switching activity from simulation (SAIF)", "set shiftadd_annotated 0"]
    port_set = set(input_ports)
    pins, nets = [], []
    for name, (rate, duty) in sorted(activity.nets.items()):
        if "/" in name:
            pins.append(f"{{{name}}} {rate:.6g} {duty:.6g}")
        elif name.split("[")[0] in port_set:
            lines.append(f"set_power_activity -input_ports [get_ports {{{name}}}] "
                         f"-activity {rate:.6g} -duty {duty:.6g}")
        else:
            nets.append(f"{{{name}}} {rate:.6g} {duty:.6g}")
    lines.append("foreach {pin a d} {")
    lines += [f"  {item}" for item in pins]
    lines.append("} {")
    lines.append("  foreach p [get_pins -quiet $pin] {")
    lines.append("    sta::set_power_pin_activity $p $a $d")
    lines.append("    incr shiftadd_annotated")
    lines.append("  }")
    lines.append("}")
    lines.append("foreach {net a d} {")
    lines += [f"  {item}" for item in nets]
    lines.append("} {")
    lines.append("  foreach n [get_nets -quiet $net] {")
    lines.append("    foreach p [get_pins -quiet -of_objects $n] {")
    lines.append("      sta::set_power_pin_activity $p $a $d")
    lines.append("      incr shiftadd_annotated")
    lines.append("    }")
    lines.append("  }")
    lines.append("}")
    lines.append('puts "shiftadd: annotated $shiftadd_annotated pins from simulation"')
    return "\n".join(lines) + "\n"


def random_stimulus_activity(netlist: str | os.PathLike, top: str, ports: list[dict], *,
                             liberty, cycles: int = 2000, toggling: tuple[str, ...] = ("*",),
                             held: dict[str, int] | None = None, seed: int = 1,
                             workdir: str | os.PathLike | None = None) -> SwitchingActivity:
    """Switching activity of a gate-level netlist driven by uniformly random data.

    A generated Verilog testbench clocks ``top`` for ``cycles`` cycles (reset released at the
    start). Input ports named in ``held`` stay at the given value; the other inputs matching
    a glob of ``toggling`` take a new uniformly random value every cycle (each bit toggles
    with probability 1/2); the rest stay at a random constant. Verilator runs it and records
    a SAIF file of every cell pin. Used to calibrate unit blocks with the same kind of
    activity as :func:`measure_activity` gives whole designs.
    """
    import fnmatch
    import subprocess

    from .cells import cell_models
    from .liberty import read_liberty
    from .tools import setup_verilator

    held = dict(held or {})
    exe, _ = setup_verilator()
    text = Path(netlist).read_text()
    used = set(re.findall(r"^\s*(\w+)\s+\S+\s*\(", text, re.M)) & set(read_liberty(liberty).cells)
    decls, conns, per_cycle, init = [], [], [], []
    for i, p in enumerate(ports):
        name, width = p["name"], int(p["width"])
        rng = f"[{width - 1}:0] " if width > 1 else ""
        conns.append(f".{name}({name})")
        if p["direction"] != "input":
            decls.append(f"  wire {rng}{name};")
            continue
        decls.append(f"  reg {rng}{name};")
        if name == "clk":
            init.append("    clk = 1'b0;")
        elif name in held:
            init.append(f"    {name} = {width}'d{int(held[name])};")
        else:
            words = -(-width // 32)
            value = "{" + ", ".join("$urandom" for _ in range(words)) + "}"
            init.append(f"    {name} = {value};")
            if any(fnmatch.fnmatchcase(name, g) for g in toggling):
                per_cycle.append(f"      {name} = {value};")
    tb = "\n".join([
        "`timescale 1ns/1ps",
        "module calib_tb;",
        *decls,
        f"  {top} dut ({', '.join(conns)});",
        "  integer i;",
        "  initial begin",
        f"    $dumpfile(\"activity.saif\");",
        "    $dumpvars(0, calib_tb);",
        f"    i = $urandom({int(seed)});",
        *init,
        f"    for (i = 0; i < {int(cycles)}; i = i + 1) begin",
        "      #1;",
        *per_cycle,
        "      #4 clk = 1'b1;",
        "      #5 clk = 1'b0;",
        "    end",
        "    $finish;",
        "  end",
        "endmodule",
    ]) + "\n"
    with tempfile.TemporaryDirectory(prefix="shiftadd-act-") as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        (work / "calib_tb.v").write_text(tb)
        (work / "cells.v").write_text(cell_models(liberty, used))
        (work / "netlist.v").write_text(text)
        env = dict(os.environ)
        cmd = [exe, "--binary", "--timing", "--trace-saif", "--trace-underscore", "-Wno-fatal",
               "-Wno-lint", "-Wno-style", "-Wno-UNOPTFLAT", "--top-module", "calib_tb",
               # The wheel's verilated.mk leaves the C++20 coroutine flags (--timing) empty.
               "-MAKEFLAGS", "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0",
               "-CFLAGS", "-std=c++20 -fcoroutines",
               "-Mdir", "obj", "calib_tb.v", "netlist.v", "cells.v"]
        build = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        if build.returncode:
            raise RuntimeError(f"Verilator build of the calibration bench failed:\n"
                               f"{build.stderr[-3000:]}")
        run = subprocess.run([str(work / "obj" / "Vcalib_tb")], cwd=work, env=env,
                             capture_output=True, text=True)
        if run.returncode:
            raise RuntimeError(f"calibration bench failed:\n{run.stderr[-3000:]}")
        return read_saif(work / "activity.saif", scope=("calib_tb", "dut"), clock_ns=10.0)
