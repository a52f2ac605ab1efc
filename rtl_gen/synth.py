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
import json
import os
import re
import tempfile
import time
from pathlib import Path

from .._io import atomic_write
from ..errors import InputError, ToolError
from ..families import family_of
from .emit import generate_verilog
from .liberty import read_liberty
from .sta import read_sta_report, sta_environment, sta_script
from .tools import APT_HINT, find_sta, find_yosys, resolve_liberty, run_tool

__all__ = [
    "SynthResult",
    "synthesize",
    "synthesize_verilog",
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


def _yosys_generic(top: str, verilog: Path, checkpoint: Path, stat_json: Path) -> str:
    return (
        "\n".join(
            [
                f"read_verilog {verilog}",
                f"hierarchy -check -top {top}",
                # -noabc: the mapping run below is the only ABC pass (faster, and
                # on a 256-multiplier array 3% smaller than mapping twice).
                f"synth -top {top} -flatten -noabc",
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
) -> str:
    lines = [f"read_rtlil {checkpoint}"]
    abc = "abc -fast" if fast else "abc"
    if liberty is not None:
        lib = read_liberty(liberty)
        (hi, lo) = lib.tie_cells()
        script = _abc_script(fast, int(round(clock_ns * 1000)), sizing=constr is not None)
        lines += [
            f"dfflibmap -liberty {liberty}",
            f"abc -script {script} -liberty {liberty}" + (f" -constr {constr}" if constr else ""),
            "setundef -zero",
        ]
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
    mod = data["modules"].get(f"\\{top}") or next(iter(data["modules"].values()))
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

    Returns
    -------
    SynthResult
        Area, cell counts and, with a liberty and OpenSTA, timing and power.
    """
    rtl = generate_verilog(design)
    return synthesize_verilog(
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
) -> SynthResult:
    """Synthesize Verilog text whose top module is ``top`` (see :func:`synthesize`).

    ``ports`` lists the top's ports (:func:`shiftadd.rtl_gen.emit.port_list`);
    ``activity_rules`` gives their switching activity as ``(glob, toggles/cycle, duty)``.
    """
    lib_path = resolve_liberty(liberty)
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
        source = work / f"{top}.v"
        # A workdir holding the netlist of this very source and scripts is reused as it is
        # (e.g. to rerun OpenSTA with simulated activity on the netlist that was simulated).
        same_source = source.exists() and source.read_text() == verilog
        source.write_text(verilog)
        checkpoint, generic_json = work / "generic.il", work / "generic_stat.json"
        t0 = time.perf_counter()
        generic_script = _yosys_generic(top, source, checkpoint, generic_json)
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
        map_script = _yosys_map(checkpoint, lib_path, clock_ns, constr, netlist, stat_json, fast)
        reuse = (
            same_source
            and netlist.exists()
            and stat_json.exists()
            and (work / "map.ys").exists()
            and (work / "map.ys").read_text() == map_script
        )
        (work / "map.ys").write_text(map_script)
        if reuse:
            notes.append(f"reused the netlist in {work} (same source and scripts)")
        else:
            run_tool(
                [yosys[0], "-q", "-l", str(work / "yosys_map.log"), "-s", str(work / "map.ys")],
                work,
                timeout,
            )
        seconds["yosys"] = time.perf_counter() - t0
        area, ge, cells, types, seq = _parse_stat(stat_json, top, lib_path)
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
                )
            )
            t0 = time.perf_counter()
            out = run_tool([sta[0], "-no_splash", "-exit", str(sta_tcl)], work, timeout)
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
) -> SynthResult:
    """Time and power an existing netlist (``result.netlist``) at another clock, with
    OpenSTA only; returns a copy of ``result`` with the new timing and power.

    ``activity_rules`` (``(port glob, toggles per cycle, duty)``) default to the design's
    :func:`activity_profile` at ``data_activity``.
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
        sta_script(result.design, netlist, lib, clock_ns, result.ports, rules, load_pf, driver)
    )
    out = run_tool([sta[0], "-no_splash", "-exit", str(script)], netlist.parent, timeout)
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
    return new
