"""Static timing and power with OpenSTA: the environment every netlist is timed in, the Tcl
script for a netlist, and reading OpenSTA's report into a synthesis result."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from .activity import SwitchingActivity, sta_annotation
from .liberty import read_liberty

__all__ = ["sta_environment", "sta_script", "read_sta_report"]

_ARRIVAL = re.compile(r"^\s*(-?[\d.]+)\s+data arrival time", re.M)
_SLACK = re.compile(r"^\s*(-?[\d.]+)\s+slack \((MET|VIOLATED)\)", re.M)
_POINT = re.compile(r"^(Startpoint|Endpoint):\s*(\S+)", re.M)
_POWER = re.compile(
    r"^(Sequential|Combinational|Macro|Pad|Total)\s+([-\d.eE+]+)\s+([-\d.eE+]+)"
    r"\s+([-\d.eE+]+)\s+([-\d.eE+]+)",
    re.M,
)


def sta_environment(liberty: Path) -> tuple[float, str | None]:
    """``(output load in pF, input driver cell)`` every netlist is timed with: a mid-size
    buffer drives the inputs; outputs see four buffer input pins."""
    buffers = read_liberty(liberty).buffers()
    driver = buffers[min(2, len(buffers) - 1)].name if buffers else None
    load_pf = 4 * (buffers[0].inputs[0].capacitance if buffers else 0.005) or 0.02
    return load_pf, driver


def sta_script(
    top: str,
    netlist: Path,
    liberty: Path,
    clock_ns: float,
    ports: list[dict],
    rules: list[tuple[str, float, float]],
    load_pf: float,
    driver: str | None,
    activity: SwitchingActivity | None = None,
) -> str:
    """OpenSTA Tcl: read the netlist, constrain the clock, report the critical path, then
    power with the ports' activity ``rules`` (``(glob, toggles per cycle, duty)``) or, with
    ``activity``, every annotated pin's simulated activity."""
    clocked = any(p["name"] == "clk" for p in ports)
    lines = [
        f"read_liberty {liberty}",
        f"read_verilog {netlist}",
        f"link_design {top}",
        # A combinational block gets a virtual clock: it sets the period that turns
        # toggles per cycle into power.
        f"create_clock -name clk -period {clock_ns}" + (" [get_ports clk]" if clocked else ""),
        "set_input_delay 0 -clock clk "
        + ("[delete_from_list [all_inputs] [get_ports clk]]" if clocked else "[all_inputs]"),
        "set_output_delay 0 -clock clk [all_outputs]",
        f"set_load {load_pf} [all_outputs]",
    ]
    if driver:
        lines.append(
            f"set_driving_cell -lib_cell {driver} "
            + ("[delete_from_list [all_inputs] [get_ports clk]]" if clocked else "[all_inputs]")
        )
    # The clock's path group only: an asynchronous reset's recovery check is not a datapath.
    lines += ["report_checks -path_delay max -path_group clk -digits 4"]
    for port in ports:
        if port["direction"] != "input" or port["name"] == "clk":
            continue
        for pattern, toggles, duty in rules:
            if fnmatch.fnmatch(port["name"], pattern):
                lines.append(
                    f"set_power_activity -input_ports [get_ports {{{port['name']}*}}] "
                    f"-activity {toggles} -duty {duty}"
                )
                break
    if activity is not None:
        inputs = [p["name"] for p in ports if p["direction"] == "input" and p["name"] != "clk"]
        lines.append(sta_annotation(activity, inputs))
    lines += ["report_power -digits 6", "exit"]
    return "\n".join(lines) + "\n"


def read_sta_report(result, out: str, rules, data_activity: float) -> None:
    """Fill a :class:`~shiftadd.rtl_gen.synth.SynthResult`'s timing and power from
    OpenSTA's output ``out``."""
    arrival = _ARRIVAL.search(out)
    slack = _SLACK.search(out)
    if arrival and slack:
        s = float(slack.group(1))
        result.slack_ns = s
        result.timing_met = s >= 0.0
        result.critical_path_ns = result.clock_ns - s
        result.fmax_mhz = 1000.0 / result.critical_path_ns if result.critical_path_ns > 0 else None
        points = dict(_POINT.findall(out))
        result.critical_path = {
            "startpoint": points.get("Startpoint"),
            "endpoint": points.get("Endpoint"),
            "arrival_ns": float(arrival.group(1)),
        }
    else:
        result.notes.append("OpenSTA reported no constrained path")
    groups = {
        m.group(1): [float(m.group(i)) * 1e3 for i in range(2, 6)] for m in _POWER.finditer(out)
    }
    if "Total" in groups:
        internal, switching, leakage, total = groups["Total"]
        result.power_mw = {
            "internal": internal,
            "switching": switching,
            "leakage": leakage,
            "total": total,
            "sequential": groups.get("Sequential", [0, 0, 0, 0])[3],
            "combinational": groups.get("Combinational", [0, 0, 0, 0])[3],
            "groups": {
                g: dict(zip(("internal", "switching", "leakage", "total"), v))
                for g, v in groups.items()
            },
        }
        result.activity = {
            "data_inputs_toggles_per_cycle": data_activity,
            "rules": [list(r) for r in rules],
            "note": "OpenSTA propagates input activity through the netlist",
        }
        result.energy_per_cycle_pj = total * result.clock_ns  # mW * ns = pJ
        if result.ops_per_cycle:
            result.energy_per_op_pj = result.energy_per_cycle_pj / result.ops_per_cycle
    else:
        result.notes.append("OpenSTA reported no power")
