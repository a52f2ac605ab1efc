"""Synthesis with Yosys and timing/power with OpenSTA.

With a liberty file: ``synth -flatten``, flip-flop mapping and ABC technology mapping to the
library (with a delay target and drive/load constraints so ABC buffers and sizes), tie
cells for constants, area from the library; then OpenSTA for the critical path (hence
fmax) and power at a stated switching activity.

Without a liberty file: ``synth -flatten`` and ABC mapping to generic two-input gates;
area in gate equivalents (GE) defined as Yosys' CMOS transistor count over 4 (a two-input
NAND has 4 transistors); no timing or power, and the report says so.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from .._io import atomic_write, write_json
from ..errors import InputError, ToolError
from ..families import family_of
from ..hw.clock_gate import CLOCK_GATE_ATTRIBUTE
from .activity import StimulusBlock, random_stimulus_activity
from .emit import elaborate
from .liberty import read_liberty
from .netlist_text import buffer_unit_inputs, split_concatenated_assigns
from .sta import read_sta_report, sta_environment, sta_script
from .tools import APT_HINT, find_sta, find_yosys, resolve_liberty, run_tool

__all__ = [
    "SynthResult",
    "synthesize",
    "synthesize_verilog",
    "map_clock_gates",
    "synthesize_external",
    "read_top_ports",
    "ACTIVITY_SOURCES",
    "SV_NOTE",
    "retime",
    "activity_profile",
    "DEFAULT_DATA_ACTIVITY",
    "DEFAULT_EFFORT",
    "EFFORTS",
]

DEFAULT_DATA_ACTIVITY = 0.5


@dataclasses.dataclass
class SynthResult:
    """Area, timing and power of one synthesized design.

    ``area`` is in ``area_unit``: um^2 with a liberty, GE (gate equivalents) without.
    Power figures are in mW at ``clock_ns``; ``energy_per_op_pj`` divides the energy of one
    cycle by the design's operations per cycle.
    """

    design: str
    liberty: str | None
    area: float
    area_unit: str
    area_ge: float
    cells: int
    cell_types: dict
    sequential_cells: int
    clock_ns: float
    critical_path_ns: float | None = None
    fmax_mhz: float | None = None
    slack_ns: float | None = None
    timing_met: bool | None = None
    critical_path: dict | None = None
    power_mw: dict | None = None
    activity: dict | None = None
    energy_per_cycle_pj: float | None = None
    energy_per_op_pj: float | None = None
    ops_per_cycle: int | None = None
    effort: str = "fast"
    generic_gates: int | None = None
    sequential_area: float | None = None
    tools: dict = dataclasses.field(default_factory=dict)
    seconds: dict = dataclasses.field(default_factory=dict)
    notes: list = dataclasses.field(default_factory=list)
    netlist: str | None = None
    ports: list = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def activity_profile(design, data_activity: float) -> list[tuple[str, float, float]]:
    """Switching activity of the input ports while the design streams data (its family's
    ``activity_profile``).

    Returns ``(port glob, toggles per cycle, fraction of time high)`` rules, first match wins.
    """
    return family_of(design).get("activity_profile")(design, data_activity)


EFFORTS = ("fast", "high", "auto")
# ABC's default liberty script (&dch, &nf, then sizing: "high") ran for over 20 minutes on an
# array of 64 8x8 multipliers where the fast script (map, then buffering and sizing) took
# seconds; on adder trees the fast script's area was within 4% of it. The two also differ in
# power (an 8x8 multiplier: 2.9 pJ/cycle "high", 1.2 pJ/cycle "fast", same area within 3%),
# so every design and every calibration block uses one script: "fast" by default. "auto" is
# accepted as a synonym of "fast".
DEFAULT_EFFORT = "fast"


_CLOCK_GATE_MODULE = re.compile(
    r"\(\*\s*" + CLOCK_GATE_ATTRIBUTE + r"\s*\*\)\s*module\s+(\w+)\s*\(.*?^endmodule\b",
    re.S | re.M,
)


def map_clock_gates(verilog: str, liberty) -> str:
    """The behavioural clock gates of ``verilog`` (modules marked with
    :data:`~shiftadd.hw.clock_gate.CLOCK_GATE_ATTRIBUTE`) mapped for synthesis.

    With a liberty that has a ``latch_posedge`` integrated clock gate
    (:meth:`~shiftadd.rtl_gen.liberty.Liberty.clock_gate`, e.g. IHP's ``sg13g2_lgcp_1``) each
    gate module becomes an instance of that cell (declared to Yosys as a black box, so
    technology mapping keeps it and OpenSTA propagates the clock through it). Otherwise the
    latch becomes a flip-flop on the falling clock edge, which holds the same enable through
    the high phase: the generic flow maps registers onto plain D flip-flops and has no latch.

    Parameters
    ----------
    verilog : str
        Verilog text.
    liberty : path or None
        The liberty of the synthesis, if any.

    Returns
    -------
    str
        The text, unchanged when it has no clock gate.
    """
    if CLOCK_GATE_ATTRIBUTE not in verilog:
        return verilog
    icg = read_liberty(liberty).clock_gate() if liberty is not None else None

    def body(match: re.Match) -> str:
        name = match.group(1)
        head = f"module {name}(clk, en, gclk);\n  input wire clk;\n  input wire en;\n"
        if icg is None:
            return (
                head + "  output wire gclk;\n  reg en_latched;\n"
                "  always @(negedge clk) en_latched <= en;\n"
                "  assign gclk = clk & en_latched;\nendmodule"
            )
        cell, ck, en, out = icg
        return (
            head
            + f"  output wire gclk;\n  {cell} icg (.{ck}(clk), .{en}(en), .{out}(gclk));\nendmodule"
        )

    text = _CLOCK_GATE_MODULE.sub(body, verilog)
    if icg is not None:
        cell, ck, en, out = icg
        text += (
            f"(* blackbox *)\nmodule {cell}({ck}, {en}, {out});\n  input {ck};\n  input {en};\n"
            f"  output {out};\nendmodule\n"
        )
    return text


def _read_commands(sources: list[Path]) -> list[str]:
    """Yosys commands reading ``sources``: SystemVerilog mode (``read_verilog -sv``) for
    ``.sv``/``.svh`` files only, since it makes SystemVerilog keywords (``logic``, ``bit``)
    reserved words that plain Verilog may use as names; each file's folder on the include
    path, as a simulator would search it."""
    lines = []
    for path in sources:
        sv = " -sv" if path.suffix.lower() in (".sv", ".svh") else ""
        # Quoted: Yosys splits script lines at spaces, which folder names may contain.
        lines.append(f'read_verilog{sv} -I "{path.parent}" "{path}"')
    return lines


def _check_parameters(parameters: dict | None) -> dict[str, int]:
    """Top parameters as ``{name: int}``; integers or their decimal text only."""
    out = {}
    for name, value in (parameters or {}).items():
        text = str(value).strip()
        if (
            not re.fullmatch(r"[A-Za-z_]\w*", str(name))
            or isinstance(value, bool)
            or not re.fullmatch(r"-?\d+", text)
        ):
            raise InputError(
                f"{name}={value!r}", field="--param", allowed="NAME=INTEGER (a top parameter)"
            )
        out[str(name)] = int(text)
    return out


def _elaborate_top(top: str, parameters: dict | None) -> list[str]:
    """Yosys commands elaborating the hierarchy under ``top``, its parameters (integers)
    set first.

    ``chparam`` rather than ``hierarchy -chparam``, which fails an internal assertion in
    Yosys 0.23 on a top with parameterized submodules (the bit-weight paper's arrays); the
    derived top (``$paramod...``) gets its name back for the passes that follow."""
    if not parameters:
        return [f"hierarchy -check -top {top}"]
    sets = " ".join(f"-set {name} {int(value)}" for name, value in parameters.items())
    return [f"chparam {sets} {top}", f"hierarchy -check -top {top}", f"rename -top {top}"]


def _yosys_generic(
    top: str,
    verilog: Path | list[Path],
    checkpoint: Path,
    stat_json: Path,
    parameters: dict | None = None,
    flatten: bool = True,
) -> str:
    reads = [f"read_verilog {verilog}"] if isinstance(verilog, Path) else _read_commands(verilog)
    return (
        "\n".join(
            [
                *reads,
                *_elaborate_top(top, parameters),
                # -noabc: the mapping run below is the only ABC pass (faster, and
                # on a 256-multiplier array 3% smaller than mapping twice).
                # Without -flatten every module is synthesized once, however many
                # instances it has (the hierarchical form's units).
                f"synth -top {top}" + (" -flatten" if flatten else "") + " -noabc",
                f"tee -q -o {stat_json} stat -json",
                f"write_rtlil {checkpoint}",
            ]
        )
        + "\n"
    )


def _abc_script(fast: bool, delay_ps: int, sizing: bool) -> str:
    """ABC script for liberty mapping, written out rather than left to Yosys' defaults.

    Yosys' scripts with a delay target add ``retime -o``, which tripled the run time on a
    multiplier array and left dangling nodes on which ABC's ``buffer`` failed; ``topo``
    before buffering avoids that failure as well.
    """
    if fast:
        steps = ["strash", "dretime", f"map,-D,{delay_ps}"]
    else:
        steps = [
            "strash",
            "&get,-n",
            "&fraig,-x",
            "&put",
            "scorr",
            "dc2",
            "dretime",
            "strash",
            "&get,-n",
            "&dch,-f",
            f"&nf,-D,{delay_ps}",
            "&put",
        ]
    if sizing:
        steps += ["topo", "buffer", f"upsize,-D,{delay_ps}", f"dnsize,-D,{delay_ps}", "stime,-p"]
    return "+" + ";".join(steps)


def _yosys_map(
    checkpoint: Path,
    liberty: Path | None,
    clock_ns: float,
    constr: Path | None,
    netlist: Path,
    stat_json: Path,
    fast: bool,
    units: tuple[str, list[str], Path] | None = None,
) -> str:
    """Yosys script mapping the generic netlist to the liberty's cells (or generic gates).

    ``units`` = ``(top, unit modules, their ABC constraints)``: the unit modules of a
    hierarchical netlist are mapped with their own constraints (a weak driver on their
    inputs, so ABC buffers a unit's high-fan-out inputs, such as the pipeline enable, inside
    the unit, where the flat netlist's buffer tree would have been), the top with
    ``constr``."""
    lines = [f"read_rtlil {checkpoint}"]
    abc = "abc -fast" if fast else "abc"
    if liberty is not None:
        lib = read_liberty(liberty)
        (hi, lo) = lib.tie_cells()
        script = _abc_script(fast, int(round(clock_ns * 1000)), sizing=constr is not None)
        lines.append(f"dfflibmap -liberty {liberty}")
        if units is not None and constr is not None:
            top, modules, unit_constr = units
            lines += [
                f"abc -script {script} -liberty {liberty} -constr {unit_constr} "
                + " ".join(modules),
                f"abc -script {script} -liberty {liberty} -constr {constr} {top}",
            ]
        else:
            lines.append(
                f"abc -script {script} -liberty {liberty}"
                + (f" -constr {constr}" if constr else "")
            )
        lines.append("setundef -zero")
        if hi and lo:
            lines.append(f"hilomap -singleton -hicell {hi[0]} {hi[1]} -locell {lo[0]} {lo[1]}")
        # splitnets: a wire whose bits alias other nets (e.g. constant bits tied to one tie
        # cell) is written as "assign {a[3], a[1]} = ...", which OpenSTA cannot parse.
        lines += [
            "splitnets",
            "opt_clean -purge",
            f"tee -q -o {stat_json} stat -json -liberty {liberty}",
        ]
    else:
        # Plain D flip-flops (enables and resets become gates) so every cell has a CMOS
        # transistor cost in Yosys' table.
        lines += [
            "dfflegalize -cell $_DFF_P_ x",
            f"{abc} -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX",
            "opt_clean -purge",
            f"tee -q -o {stat_json} stat -json -tech cmos",
        ]
    lines.append(f"write_verilog -noattr -noexpr -nohex -nodec {netlist}")
    return "\n".join(lines) + "\n"


def _parse_stat(path: Path, top: str, liberty, count_only: bool = False):
    """``(area, ge, cells, cell types, sequential cells)`` from Yosys' ``stat -json``."""
    text = path.read_text()
    data = json.loads(text[text.index("{") :])
    # "design": the totals over the hierarchy under the top (a hierarchical netlist).
    mod = (
        data["design"]
        if len(data["modules"]) > 1 and "design" in data
        else data["modules"].get(f"\\{top}") or next(iter(data["modules"].values()))
    )
    types = {k: int(v) for k, v in mod.get("num_cells_by_type", {}).items()}
    cells = int(mod.get("num_cells", sum(types.values())))
    if count_only:
        return None, None, cells, types, None
    if liberty is not None:
        lib = read_liberty(liberty)
        area = float(
            mod.get("area", sum(lib.cells[t].area * n for t, n in types.items() if t in lib.cells))
        )
        seq = sum(n for t, n in types.items() if t in lib.cells and lib.cells[t].is_sequential)
        ge = area / lib.nand2_area()
    else:
        transistors = float(
            data.get("design", {}).get(
                "estimated_num_transtistors", mod.get("estimated_num_transtistors", 0)
            )
            or mod.get("estimated_num_transistors", 0)
        )
        if not transistors:
            raise ToolError("yosys stat -tech cmos reported no transistor count")
        area = ge = transistors / 4.0
        seq = sum(n for t, n in types.items() if "DFF" in t.upper())
    return area, ge, cells, types, seq


def synthesize(
    design,
    *,
    liberty: str | os.PathLike | None = None,
    clock_ns: float | None = None,
    data_activity: float = DEFAULT_DATA_ACTIVITY,
    effort: str = DEFAULT_EFFORT,
    workdir: str | os.PathLike | None = None,
    timeout: float | None = None,
    activity=None,
    hierarchical: bool = False,
) -> SynthResult:
    """Synthesize ``design`` and, with a liberty and OpenSTA, time it and estimate its power.

    Parameters
    ----------
    design : Design
        The design to synthesize (a design dataclass of a registered family).
    liberty : path, optional
        Standard-cell library; default from ``SHIFTADD_LIBERTY``; none -> generic gates.
    clock_ns : float, optional
        Clock period for the delay target, timing and power (default: the design's).
    data_activity : float
        Toggles per cycle of the data inputs while streaming (0 to 1; random data is 0.5).
    effort : {"fast", "high"}
        ABC mapping script: "fast" (default) its fast script, "high" ABC's default script
        (slower, delay-driven; see ``EFFORTS``). "auto" is a synonym of "fast".
    workdir : path, optional
        Keep scripts, logs and the netlist there (default: a temporary folder).
    timeout : float, optional
        Time limit in seconds of each tool run (yosys, OpenSTA); default: none.
    activity : SwitchingActivity, optional
        Switching activity from simulation (:func:`shiftadd.rtl_gen.activity.measure_activity`)
        annotated on registers and ports, overriding ``data_activity``.
    hierarchical : bool
        Synthesize the hierarchical form: each distinct unit (PE, neuron slice) is mapped
        once and instantiated, not flattened; no optimization crosses a unit's ports
        (docs/hierarchy.md measures the difference). Timing and power cover the whole
        netlist as in the flat flow.

    Returns
    -------
    SynthResult
        Area, cell counts and, with a liberty and OpenSTA, timing and power.
    """
    rtl = elaborate(design, hierarchical=hierarchical)
    result = synthesize_verilog(
        rtl.verilog,
        design.name,
        ports=rtl.ports,
        activity_rules=activity_profile(design, _check_activity(data_activity)),
        ops_per_cycle=getattr(design, "ops_per_cycle", None),
        liberty=liberty,
        clock_ns=float(design.clock_ns if clock_ns is None else clock_ns),
        data_activity=data_activity,
        effort=effort,
        workdir=workdir,
        timeout=timeout,
        activity=activity,
        flatten=not rtl.manifest.get("hierarchy"),
        unit_modules=tuple(rtl.manifest.get("hierarchy", ())),
    )
    if hierarchical and not rtl.manifest.get("hierarchy"):
        result.notes.append(f"the {design.arch} design has no hierarchical form: synthesized flat")
    return result


def _fingerprint(sources: list[Path]) -> str:
    """Each source's path and SHA-256: equal text means the same design sources."""
    return "".join(
        f"{hashlib.sha256(Path(f).read_bytes()).hexdigest()}  {Path(f).resolve()}\n"
        for f in sources
    )


def _check_activity(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise InputError(
            f"{value} is out of range", field="--activity", allowed="toggles per cycle from 0 to 1"
        )
    return value


def synthesize_verilog(
    verilog: str,
    top: str,
    *,
    ports: list[dict],
    activity_rules: list[tuple[str, float, float]],
    ops_per_cycle: int | None,
    liberty=None,
    clock_ns: float = 10.0,
    data_activity: float = DEFAULT_DATA_ACTIVITY,
    effort: str = DEFAULT_EFFORT,
    workdir=None,
    timeout: float | None = None,
    activity=None,
    sources: list[Path] | None = None,
    clock_port: str | None = "clk",
    parameters: dict | None = None,
    ideal_ports: tuple[str, ...] = (),
    flatten: bool = True,
    unit_modules: tuple[str, ...] = (),
) -> SynthResult:
    """Synthesize Verilog text whose top module is ``top`` (see :func:`synthesize`).

    ``ports`` lists the top's ports (:func:`shiftadd.rtl_gen.emit.port_list`);
    ``activity_rules`` gives their switching activity as ``(glob, toggles/cycle, duty)``.
    With ``sources`` (Verilog/SystemVerilog files, read where they are) ``verilog`` is
    ignored. ``clock_port`` names the clock input (a design without it is timed against a
    virtual clock); ``parameters`` (name to integer) override the top's parameters;
    ``ideal_ports`` are timed without a driving cell (:func:`~.sta.sta_script`).
    ``flatten=False`` keeps the module hierarchy (each module mapped once); ``unit_modules``
    are then mapped with a weak driver on their inputs (see :func:`_yosys_map`).
    """
    lib_path = resolve_liberty(liberty)
    if unit_modules and flatten:
        raise ValueError("unit modules are mapped apart only in a hierarchical synthesis")
    if not 0.05 <= clock_ns <= 1e6:
        raise InputError(
            f"{clock_ns} is out of range",
            field="--clock-ns",
            allowed="a period in ns from 0.05 to 1e6",
        )
    _check_activity(data_activity)
    if effort not in EFFORTS:
        raise InputError(f"{effort!r} is not allowed", field="--effort", allowed=EFFORTS)
    yosys = find_yosys()
    if yosys is None:
        raise ToolError(f"yosys (with abc) not found for synthesis: {APT_HINT}")
    notes: list[str] = []
    tools = {"yosys": yosys[1]}
    seconds: dict[str, float] = {}

    with tempfile.TemporaryDirectory(prefix="shiftadd-synth-") as tmp:
        # Absolute: the tools run with this folder as their working directory.
        work = Path(workdir).resolve() if workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if sources is None:
            source = work / f"{top}.v"
            verilog = map_clock_gates(verilog, lib_path)
        else:
            # External files are read in place; this fingerprint of their contents stands
            # for them in the reuse check below.
            source = work / f"{top}.sources"
            verilog = _fingerprint(sources)
        # A workdir holding the netlist of this very source and scripts is reused as it is
        # (e.g. to rerun OpenSTA with simulated activity on the netlist that was simulated).
        same_source = source.exists() and source.read_text() == verilog
        source.write_text(verilog)
        checkpoint, generic_json = work / "generic.il", work / "generic_stat.json"
        t0 = time.perf_counter()
        generic_script = _yosys_generic(
            top,
            source if sources is None else list(sources),
            checkpoint,
            generic_json,
            parameters,
            flatten,
        )
        same_source = (
            same_source
            and (work / "generic.ys").exists()
            and (work / "generic.ys").read_text() == generic_script
            and generic_json.exists()
        )
        (work / "generic.ys").write_text(generic_script)
        if not same_source:
            run_tool(
                [
                    yosys[0],
                    "-q",
                    "-l",
                    str(work / "yosys_generic.log"),
                    "-s",
                    str(work / "generic.ys"),
                ],
                work,
                timeout,
                label=f"yosys generic {top}",
            )
        generic_gates = _parse_stat(generic_json, top, None, count_only=True)[2]
        fast = effort != "high"

        constr = driver = None
        load_pf = 0.0
        if lib_path is not None:
            load_pf, driver = sta_environment(lib_path)
            if driver:
                constr = work / "abc.constr"
                constr.write_text(f"set_driving_cell {driver}\nset_load {load_pf}\n")
        else:
            notes.append(
                "no liberty: area in gate equivalents (CMOS transistors / 4), "
                "no timing or power; pass --liberty or set SHIFTADD_LIBERTY"
            )
        netlist, stat_json = work / f"{top}_netlist.v", work / "stat.json"
        units = None
        if unit_modules and constr is not None:
            weakest = read_liberty(lib_path).buffers()[0].name
            unit_constr = work / "abc_units.constr"
            unit_constr.write_text(f"set_driving_cell {weakest}\nset_load {load_pf}\n")
            units = (top, list(unit_modules), unit_constr)
        map_script = _yosys_map(
            checkpoint, lib_path, clock_ns, constr, netlist, stat_json, fast, units
        )
        reuse = (
            same_source
            and netlist.exists()
            and stat_json.exists()
            and (work / "map.ys").exists()
            and (work / "map.ys").read_text() == map_script
            and (work / "unit_buffers.json").exists()
        )
        (work / "map.ys").write_text(map_script)
        if reuse:
            notes.append(f"reused the netlist in {work} (same source and scripts)")
        else:
            # Written again below, once the netlist is final: a stale count must not survive
            # a failed run.
            (work / "unit_buffers.json").unlink(missing_ok=True)
            run_tool(
                [yosys[0], "-q", "-l", str(work / "yosys_map.log"), "-s", str(work / "map.ys")],
                work,
                timeout,
                label=f"yosys map {top}",
            )
            text = netlist.read_text()
            if "assign {" in text:
                text = split_concatenated_assigns(text)
                netlist.write_text(text)
            inserted = 0
            if units is not None and driver:
                buf = read_liberty(lib_path).cells[driver]
                try:
                    text, inserted = buffer_unit_inputs(
                        text,
                        top,
                        units[1],
                        (driver, buf.inputs[0].name, buf.outputs[0].name),
                        ideal=tuple(p for p in (clock_port, *ideal_ports) if p),
                    )
                except ValueError as exc:  # a module the netlist should hold is missing
                    raise ToolError(f"hierarchical netlist of {top} unreadable: {exc}") from None
                atomic_write(netlist, text)
            write_json(work / "unit_buffers.json", {"cell": driver, "count": inserted})
        seconds["yosys"] = time.perf_counter() - t0
        area, ge, cells, types, seq = _parse_stat(stat_json, top, lib_path)
        sidecar = work / "unit_buffers.json"
        added = json.loads(sidecar.read_text()) if sidecar.exists() else {"count": 0}
        if added["count"] and lib_path is not None:
            # The buffer trees added after Yosys' statistics (buffer_unit_inputs).
            lib = read_liberty(lib_path)
            area += added["count"] * lib.cells[added["cell"]].area
            ge = area / lib.nand2_area()
            cells += added["count"]
            types[added["cell"]] = types.get(added["cell"], 0) + added["count"]
            notes.append(
                f"{added['count']} {added['cell']} added as buffer trees on nets into many "
                "unit instances (ABC buffers no unit input pin)"
            )
        result = SynthResult(
            design=top,
            liberty=str(lib_path) if lib_path else None,
            area=area,
            area_unit="um^2" if lib_path else "GE",
            area_ge=ge,
            cells=cells,
            cell_types=dict(sorted(types.items(), key=lambda kv: -kv[1])),
            sequential_cells=seq,
            clock_ns=clock_ns,
            tools=tools,
            seconds=seconds,
            notes=notes,
            ops_per_cycle=ops_per_cycle,
            effort="fast" if fast else "high",
            generic_gates=generic_gates,
            ports=list(ports),
        )
        if not flatten:
            notes.append(
                "hierarchical: every distinct module mapped once, no optimization across "
                "module ports; timing and power over the whole netlist"
            )
        if lib_path is not None:
            lib = read_liberty(lib_path)
            result.sequential_area = sum(
                lib.cells[t].area * n
                for t, n in types.items()
                if t in lib.cells and lib.cells[t].is_sequential
            )

        sta = find_sta()
        if lib_path is not None and sta is None:
            notes.append(f"OpenSTA (sta) not found: no timing or power ({APT_HINT})")
        if lib_path is not None and sta is not None:
            tools["sta"] = sta[1]
            sta_tcl = work / "sta.tcl"
            sta_tcl.write_text(
                sta_script(
                    top,
                    netlist,
                    lib_path,
                    clock_ns,
                    ports,
                    activity_rules,
                    load_pf,
                    driver,
                    activity,
                    clock_port=clock_port,
                    ideal_ports=ideal_ports,
                )
            )
            t0 = time.perf_counter()
            out = run_tool(
                [sta[0], "-no_splash", "-exit", str(sta_tcl)], work, timeout, label=f"OpenSTA {top}"
            )
            seconds["sta"] = time.perf_counter() - t0
            atomic_write(work / "sta.log", out)
            read_sta_report(result, out, activity_rules, data_activity)
            if activity is not None and result.activity is not None:
                m = re.search(r"shiftadd: annotated (\d+) pins", out)
                result.activity.update(
                    source="simulation (SAIF)",
                    annotated_pins=int(m.group(1)) if m else 0,
                    simulated_cycles=activity.cycles,
                )
        if workdir:
            result.netlist = str(netlist)
    return result


def retime(
    result: SynthResult,
    design,
    clock_ns: float,
    *,
    liberty=None,
    data_activity: float = DEFAULT_DATA_ACTIVITY,
    activity_rules=None,
    timeout: float | None = None,
    activity=None,
) -> SynthResult:
    """Time and power an existing netlist (``result.netlist``) at another clock, with
    OpenSTA only; returns a copy of ``result`` with the new timing and power.

    ``activity_rules`` (``(port glob, toggles per cycle, duty)``) default to the design's
    :func:`activity_profile` at ``data_activity``; ``activity`` (a simulated
    :class:`~shiftadd.rtl_gen.activity.SwitchingActivity` of this netlist) is annotated on
    top of them, as :func:`synthesize` does.
    """
    lib = resolve_liberty(liberty)
    sta = find_sta()
    if lib is None or sta is None:
        raise ToolError(f"retiming needs a liberty and OpenSTA (sta): {APT_HINT}")
    if result.netlist is None or not Path(result.netlist).is_file():
        raise InputError(
            "the synthesis result keeps no netlist (synthesize with a workdir)", field="netlist"
        )
    if not 0.05 <= clock_ns <= 1e6:
        raise InputError(
            f"{clock_ns} is out of range",
            field="clock_ns",
            allowed="a period in ns from 0.05 to 1e6",
        )
    rules = activity_profile(design, data_activity) if activity_rules is None else activity_rules
    load_pf, driver = sta_environment(lib)
    netlist = Path(result.netlist)
    script = netlist.parent / f"sta_{clock_ns:.4f}.tcl"
    script.write_text(
        sta_script(
            result.design, netlist, lib, clock_ns, result.ports, rules, load_pf, driver, activity
        )
    )
    out = run_tool(
        [sta[0], "-no_splash", "-exit", str(script)],
        netlist.parent,
        timeout,
        label=f"OpenSTA {result.design} at {clock_ns:g} ns",
    )
    new = copy.deepcopy(result)
    new.clock_ns = clock_ns
    new.notes = [n for n in new.notes if "OpenSTA reported" not in n]
    for key in (
        "critical_path_ns",
        "fmax_mhz",
        "slack_ns",
        "critical_path",
        "power_mw",
        "activity",
        "energy_per_cycle_pj",
        "energy_per_op_pj",
    ):
        setattr(new, key, None)
    read_sta_report(new, out, rules, data_activity)
    if activity is not None and new.activity is not None:
        m = re.search(r"shiftadd: annotated (\d+) pins", out)
        new.activity.update(
            source="simulation (SAIF)",
            annotated_pins=int(m.group(1)) if m else 0,
            simulated_cycles=activity.cycles,
        )
    return new


# -- external RTL ----------------------------------------------------------------------------
ACTIVITY_SOURCES = ("vectorless", "random", "sequences")
DEFAULT_RESET_CYCLES = 4
SV_NOTE = (
    "SystemVerilog files (.sv) are read with yosys 0.23's read_verilog -sv, a synthesizable "
    "subset (logic, always_ff/always_comb, casts, typed parameters, packages and simple "
    "interfaces work; classes, dynamic types and much of SystemVerilog-2012 do not); convert "
    "other code with sv2v first"
)
_CLOCK_NAME = re.compile(r"(?i)^(i_)?(clk|clock)(_i)?$")
# rst, rst_n, rstn, rst_ni, reset_n, arst_n, nrst, rst_b, reset, ...: "n", "b" or "l" on either
# side means active low ("rst_ni": active-low input, the lowRISC convention).
_RESET_NAME = re.compile(r"(?i)^(?P<pre>n_?)?[as]?(rst|reset)(_?(?P<suf>n|b|l|ni|bi|i))?$")
_PORT_LINE = re.compile(r"^(input|output|inout)\s+\[(-?\d+):(-?\d+)\]\s+(\S+)\s*$", re.M)
_MODULE = re.compile(
    r"^\s*(?:module|macromodule)\s+(?:(?:automatic|static)\s+)?([A-Za-z_]\w*)", re.M
)


def _declared_modules(text: str) -> set[str]:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return set(_MODULE.findall(re.sub(r"//[^\n]*", "", text)))


def read_top_ports(
    sources, top: str, *, parameters: dict | None = None, timeout: float | None = None
) -> list[dict]:
    """Check external Verilog sources and list their top module's ports.

    A quick Yosys run (read, ``hierarchy -check -top``, ``portlist``) finds syntax errors,
    missing modules and an absent top before synthesis starts.

    Parameters
    ----------
    sources : list of path
        Verilog (``.v``) and SystemVerilog (``.sv``) files; see :data:`SV_NOTE`.
    top : str
        Name of the top module.
    parameters : dict, optional
        Values (integers) of the top's parameters, by name.
    timeout : float, optional
        Time limit of the Yosys run in seconds.

    Returns
    -------
    list of dict
        ``{"name", "direction", "width"}`` per port, in declaration order.

    Raises
    ------
    InputError
        No file, a missing file, no or an unknown top, or sources Yosys cannot read.
    """
    files = [Path(f) for f in sources or ()]
    if not files:
        raise InputError("no Verilog files given", field="--verilog", allowed="one or more files")
    for f in files:
        if not f.is_file():
            raise InputError(
                f"no such file: {f}", field="--verilog", allowed="readable .v/.sv files"
            )
    if not top:
        raise InputError("no top module given", field="--top", allowed="a module name")
    if not re.fullmatch(r"[A-Za-z_][\w$]*", top):
        raise InputError(f"{top!r} is not a module name", field="--top")
    parameters = _check_parameters(parameters)
    texts = [f.read_text(errors="replace") for f in files]
    declared = set().union(*map(_declared_modules, texts))
    # An `include may declare the top where the pattern cannot see it: then Yosys decides.
    if top not in declared and not any("`include" in t for t in texts):
        raise InputError(
            f"no module {top!r} in the given files",
            field="--top",
            allowed=sorted(declared) or "a module the files declare",
        )
    yosys = find_yosys()
    if yosys is None:
        raise ToolError(f"yosys not found: {APT_HINT}")
    with tempfile.TemporaryDirectory(prefix="shiftadd-ports-") as tmp:
        listing = Path(tmp) / "ports.txt"
        script = Path(tmp) / "ports.ys"
        script.write_text(
            "\n".join(
                [
                    *_read_commands([f.resolve() for f in files]),
                    *_elaborate_top(top, parameters),
                    f"tee -q -o {listing} portlist",
                ]
            )
            + "\n"
        )
        proc = subprocess.run(
            [yosys[0], "-q", "-s", str(script)],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            log = proc.stdout + proc.stderr
            # "ERROR: ..." or "file.sv:12: ERROR: ...": the location is worth keeping.
            err = re.search(r"^((?:\S+:\d+: )?)ERROR:\s*(.*)$", log, re.M)
            if err is None:
                raise ToolError(f"yosys failed (exit {proc.returncode}):\n{log[-3000:]}")
            missing = re.search(r"defparam `\\?(\w+)", err.group(2))
            if missing:
                raise InputError(
                    f"module {top!r} has no parameter {missing.group(1)!r}", field="--param"
                )
            hint = f"; {SV_NOTE}" if any(f.suffix.lower() in (".sv", ".svh") for f in files) else ""
            raise InputError(
                f"yosys 0.23 cannot read the sources: {err.group(1)}{err.group(2).strip()}{hint}",
                field="--verilog",
            )
        ports = [
            {"name": name, "direction": d, "width": abs(int(hi) - int(lo)) + 1}
            for d, hi, lo, name in _PORT_LINE.findall(listing.read_text())
        ]
    if not ports:
        raise InputError(f"module {top!r} has no ports", field="--top")
    return ports


def _pick_clock(ports: list[dict], clock_port: str | None) -> str | None:
    inputs = [p["name"] for p in ports if p["direction"] == "input" and p["width"] == 1]
    if clock_port is not None:
        if clock_port not in inputs:
            raise InputError(
                f"the top has no 1-bit input {clock_port!r}",
                field="--clock-port",
                allowed=inputs or "a 1-bit input port",
            )
        return clock_port
    found = [n for n in inputs if _CLOCK_NAME.match(n)]
    if len(found) > 1:
        raise InputError(
            f"more than one clock-like input ({', '.join(found)}): name the clock",
            field="--clock-port",
            allowed=found,
        )
    return found[0] if found else None


def _pick_resets(
    ports: list[dict], reset_port: str | None, reset_active: str | None, clock: str | None
) -> dict[str, int]:
    """Reset inputs and their active level (1 high, 0 low)."""
    if reset_active not in (None, "low", "high"):
        raise InputError(
            f"{reset_active!r} is not allowed", field="--reset-active", allowed=("low", "high")
        )
    inputs = [p["name"] for p in ports if p["direction"] == "input" and p["name"] != clock]
    if reset_port is not None:
        if reset_port not in inputs:
            raise InputError(
                f"the top has no input {reset_port!r}", field="--reset-port", allowed=inputs
            )
        names = [reset_port]
    else:
        names = [n for n in inputs if _RESET_NAME.match(n)]
    out = {}
    for name in names:
        m = _RESET_NAME.match(name)
        low = bool(
            m and (m.group("pre") or (m.group("suf") or "").lower() in ("n", "b", "l", "ni", "bi"))
        )
        out[name] = 0 if (reset_active == "low" or (reset_active is None and low)) else 1
    return out


def _check_sequences(
    sequences: dict, ports: list[dict], clock: str | None, length: int
) -> dict[str, list[int]]:
    """Given per-cycle input values, checked against the top's ports."""
    widths = {p["name"]: p["width"] for p in ports if p["direction"] == "input"}
    out = {}
    for name, values in sequences.items():
        if name not in widths or name == clock:
            raise InputError(
                f"{name!r} is not a data input of the top",
                field="sequences",
                allowed=[n for n in widths if n != clock],
            )
        values = [int(v) for v in values]
        if len(values) < length:
            raise InputError(
                f"{name}: {len(values)} values for {length} cycles",
                field="sequences",
                allowed="one value per cycle, reset cycles included",
            )
        w = widths[name]
        if values and not (-(1 << (w - 1)) <= min(values) and max(values) < (1 << w)):
            raise InputError(
                f"{name}: values from {min(values)} to {max(values)} do not fit {w} bits",
                field="sequences",
            )
        out[name] = values[:length]
    return out


def synthesize_external(
    sources,
    top: str,
    *,
    clock_port: str | None = None,
    reset_port: str | None = None,
    reset_active: str | None = None,
    parameters: dict | None = None,
    liberty=None,
    clock_ns: float = 10.0,
    data_activity: float = DEFAULT_DATA_ACTIVITY,
    activity_from: str = "vectorless",
    sequences: dict | None = None,
    cycles: int = 2000,
    seed: int = 1,
    reset_cycles: int = DEFAULT_RESET_CYCLES,
    ops_per_cycle: int | None = None,
    effort: str = DEFAULT_EFFORT,
    workdir=None,
    timeout: float | None = None,
) -> SynthResult:
    """Synthesize external Verilog/SystemVerilog through the flow of :func:`synthesize`.

    Parameters
    ----------
    sources : list of path
        The design's files (see :func:`read_top_ports` and :data:`SV_NOTE`).
    top : str
        Top module name.
    clock_port : str, optional
        The clock input; default: the one input named like ``clk``/``clock``/``clk_i``, else
        none (a combinational design, timed against a virtual clock).
    reset_port, reset_active : str, optional
        The reset input and its active level (``"low"``/``"high"``); default: inputs named
        like ``rst``/``reset``/``rst_n``/``arst_ni``, active low when the name says so
        (``n``, ``b``, ``l``). Resets are held inactive for power and timed as ideal nets
        (no driving cell).
    parameters : dict, optional
        Values (integers) of the top's parameters, by name.
    liberty : path, optional
        Standard-cell library (as :func:`synthesize`).
    clock_ns : float
        Clock period for the delay target, timing and power.
    data_activity : float
        Toggles per cycle of every other input, for vectorless power.
    activity_from : {"vectorless", "random", "sequences"}
        Power from OpenSTA's propagation of ``data_activity`` set on the inputs
        ("vectorless"), or from a zero-delay gate-level simulation of the netlist (Verilator,
        cell models from the liberty) recorded as SAIF and annotated on every cell pin:
        ``reset_cycles`` cycles with the reset active, then ``cycles`` measured cycles, in
        which every input other than clock and reset takes a new uniformly random value each
        cycle (seeded by ``seed``: "random"), or follows ``sequences`` ("sequences").
    sequences : dict, optional
        For "sequences": per-cycle values (integers; negative ones in two's complement) of
        input ports, ``reset_cycles + cycles`` of them, reset cycles included. A reset port
        given here follows its sequence; other inputs are held at 0.
    cycles, seed, reset_cycles : int
        Simulated cycles after the reset, stimulus seed, reset cycles.
    ops_per_cycle : int, optional
        Operations per cycle, for energy per operation.
    effort, workdir, timeout
        As :func:`synthesize`.

    Returns
    -------
    SynthResult
        ``activity["method"]`` says which power method was used, ``activity["detail"]`` how.
    """
    if activity_from not in ACTIVITY_SOURCES:
        raise InputError(
            f"{activity_from!r} is not allowed", field="--activity-from", allowed=ACTIVITY_SOURCES
        )
    if (activity_from == "sequences") != (sequences is not None):
        raise InputError(
            "sequences go with activity_from='sequences' and only with it", field="sequences"
        )
    if cycles < 1 or reset_cycles < 0:
        raise InputError(
            f"{cycles} cycles, {reset_cycles} reset cycles",
            field="--cycles",
            allowed="cycles >= 1, reset cycles >= 0",
        )
    if ops_per_cycle is not None and ops_per_cycle < 1:
        raise InputError(
            f"{ops_per_cycle} is out of range", field="--ops-per-cycle", allowed="an integer >= 1"
        )
    if not 0.05 <= clock_ns <= 1e6:
        raise InputError(
            f"{clock_ns} is out of range",
            field="--clock-ns",
            allowed="a period in ns from 0.05 to 1e6",
        )
    _check_activity(data_activity)
    if effort not in EFFORTS:
        raise InputError(f"{effort!r} is not allowed", field="--effort", allowed=EFFORTS)
    lib_path = resolve_liberty(liberty)
    simulated = activity_from != "vectorless"
    if simulated:
        if lib_path is None:
            raise InputError(
                "simulated activity needs a liberty (gate-level cell models and OpenSTA power)",
                field="--activity-from",
                allowed="vectorless without a liberty",
            )
        if find_sta() is None:
            raise ToolError(f"OpenSTA (sta) not found for power: {APT_HINT}")
    parameters = _check_parameters(parameters)
    files = [Path(f).resolve() for f in sources or ()]
    ports = read_top_ports(sources, top, parameters=parameters, timeout=timeout)
    clock = _pick_clock(ports, clock_port)
    resets = _pick_resets(ports, reset_port, reset_active, clock)
    given = _check_sequences(sequences or {}, ports, clock, reset_cycles + cycles)
    rules = [(name, 0.0, float(1 - active)) for name, active in resets.items()]
    rules.append(("*", data_activity, 0.5))
    with tempfile.TemporaryDirectory(prefix="shiftadd-ext-") as tmp:
        work = Path(workdir).resolve() if workdir else Path(tmp)
        kwargs = dict(
            ports=ports,
            activity_rules=rules,
            ops_per_cycle=ops_per_cycle,
            liberty=lib_path if lib_path is not None else "none",
            clock_ns=clock_ns,
            data_activity=data_activity,
            effort=effort,
            workdir=work,
            timeout=timeout,
            sources=files,
            clock_port=clock,
            parameters=parameters,
            ideal_ports=tuple(resets),
        )
        result = synthesize_verilog("", top, **kwargs)
        method = {
            "method": "vectorless",
            "detail": f"OpenSTA propagates {data_activity} toggles/cycle set on the inputs",
        }
        extra_notes = []
        if simulated and result.netlist is not None:
            bench_resets = {n: a for n, a in resets.items() if n not in given}
            others = [
                p["name"]
                for p in ports
                if p["direction"] == "input"
                and p["name"] != clock
                and p["name"] not in resets
                and p["name"] not in given
            ]
            block = StimulusBlock(
                netlist=result.netlist,
                top=top,
                ports=[p for p in ports if p["direction"] != "inout"],
                toggling=tuple(others) if activity_from == "random" else (),
                held={} if activity_from == "random" else dict.fromkeys(others, 0),
                clock=clock or "clk",
                reset=bench_resets,
                sequences=given,
            )
            held_reset = reset_cycles if (bench_resets or given) else 0
            t0 = time.perf_counter()
            sim = random_stimulus_activity(
                [block],
                liberty=lib_path,
                cycles=cycles,
                seed=seed,
                workdir=work / "activity_sim",
                reset_cycles=held_reset,
            )
            sim_seconds = time.perf_counter() - t0
            result = synthesize_verilog("", top, **kwargs, activity=sim[top])
            # The rerun reuses this call's own netlist: not worth a note.
            result.notes = [n for n in result.notes if not n.startswith("reused the netlist")]
            result.seconds["simulation"] = sim_seconds
            stimulus = (
                f"uniformly random inputs (seed {seed})"
                if activity_from == "random"
                else f"the given sequences of {', '.join(given) or 'no port'}"
            )
            method = {
                "method": activity_from,
                "detail": (
                    f"gate-level simulation (Verilator): {held_reset} reset cycles, then "
                    f"{cycles} cycles of {stimulus}, SAIF annotated on every cell pin"
                ),
            }
            if activity_from == "sequences" and others:
                extra_notes.append(f"inputs held at 0 in the simulation: {', '.join(others)}")
        if result.activity is not None:
            result.activity.update(method)
        result.notes.append(
            f"external RTL: clock {clock or 'none (virtual clock)'}, resets "
            + (
                ", ".join(f"{n} (active {'high' if a else 'low'})" for n, a in resets.items())
                or "none"
            )
            + (f", parameters {parameters}" if parameters else "")
        )
        result.notes += extra_notes
        if any(p["direction"] == "inout" for p in ports):
            result.notes.append("inout ports are not constrained or driven")
        if not workdir:
            result.netlist = None
    return result
