"""Characterize the threshold neuron: synthesize the behavioural neuron alone on a liberty,
measure it with OpenSTA, and write the cell presets the threshold cost model reads
(``models/data/threshold_cells.toml``): the standard-cell neuron as measured, and a custom
threshold-logic cell derived from it with published savings ratios (stated as assumptions in
the file)."""

from __future__ import annotations

import datetime
from pathlib import Path

import tomli_w

from .._io import atomic_write
from ..errors import ToolError
from ..hw.threshold_neuron import ThresholdNeuron
from ..models.threshold.cells import CELLS_FILE, PRESET_FIGURES, VARIANT_WEIGHTS, weights_key
from ..rtl_gen.emit import component_verilog, port_list
from ..rtl_gen.synth import synthesize_verilog
from ..rtl_gen.tools import resolve_liberty, tool_versions

__all__ = [
    "measure_cell",
    "write_cell_presets",
    "FTL_AREA_FACTOR",
    "FTL_POWER_FACTOR",
    "FTL_DELAY_FACTOR",
]


# Published relative savings of a threshold-logic standard cell against the static-CMOS
# implementation of the same function (see models/data/threshold_cells.toml).
FTL_AREA_FACTOR = 1 - 0.797
FTL_POWER_FACTOR = 1 - 0.611
FTL_DELAY_FACTOR = 1 - 0.425


def measure_cell(
    liberty=None,
    *,
    weights=(2, 1, 1, 1),
    clock_ns: float = 10.0,
    activity: float = 0.5,
    workdir=None,
) -> dict:
    """Synthesize the behavioural neuron alone on a liberty and measure it with OpenSTA.

    Returns area (um^2), energy per evaluating cycle and per held cycle (pJ; inputs toggling
    at ``activity``, enable high / low), leakage (mW) and the delay from the inputs to the
    register (ns, including setup).
    """
    lib = resolve_liberty(liberty)
    if lib is None:
        raise ToolError(
            "measuring the threshold cell needs a liberty: pass --liberty or set SHIFTADD_LIBERTY"
        )
    results = {}
    for label, en in (("eval", 1.0), ("idle", 0.0)):
        neuron = ThresholdNeuron(weights=tuple(weights))
        name = "tl_neuron"
        rules = [
            ("en", 0.0, en),
            ("rst", 0.0, 0.0),
            ("x", activity, 0.5),
            ("t", activity, 0.5),
            ("*", activity, 0.5),
        ]
        sub = None if workdir is None else Path(workdir) / label
        r = synthesize_verilog(
            component_verilog(neuron, name),
            name,
            ports=port_list(neuron),
            activity_rules=rules,
            ops_per_cycle=None,
            liberty=lib,
            clock_ns=clock_ns,
            data_activity=activity,
            effort="high",
            workdir=sub,
        )
        if r.power_mw is None:
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


def write_cell_presets(
    liberty=None, *, path=None, weights=(2, 1, 1, 1), variants=VARIANT_WEIGHTS, workdir=None
) -> Path:
    """Measure the standard-cell neuron (:func:`measure_cell`) and its ``variants`` (other
    input weights), derive the custom-cell preset from them and the published ratios, and
    write ``models/data/threshold_cells.toml``."""
    m = measure_cell(liberty, weights=weights, workdir=workdir)
    measured = {
        weights_key(w): measure_cell(liberty, weights=w)
        for w in variants
        if tuple(w) != tuple(weights)
    }
    factors = {
        "area_um2": FTL_AREA_FACTOR,
        "energy_eval_pj": FTL_POWER_FACTOR,
        "energy_idle_pj": FTL_POWER_FACTOR,
        "leakage_mw": FTL_POWER_FACTOR,
        "delay_ns": FTL_DELAY_FACTOR,
    }
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
        "variants": {
            key: {**{f: v[f] for f in PRESET_FIGURES}, "cells": v["cells"]}
            for key, v in measured.items()
        },
        "source": (
            f"measured: the behavioural neuron (hw/threshold_neuron.py, weights "
            f"{list(weights)}, 3-bit threshold, output flip-flop with enable; "
            f"variants: other weights, keyed by them) "
            f"synthesized alone with yosys {m['tools'].get('yosys', '?')} + ABC on "
            f"{m['liberty']}, power from OpenSTA {m['tools'].get('sta', '?')} at "
            f"{m['clock_ns']} ns with inputs and threshold toggling at "
            f"{m['activity']} per cycle; energy_eval with the enable high, "
            f"energy_idle with it low; delay = inputs to register incl. setup"
        ),
    }
    custom = {
        "weights": list(weights),
        "area_um2": m["area_um2"] * FTL_AREA_FACTOR,
        "energy_eval_pj": m["energy_eval_pj"] * FTL_POWER_FACTOR,
        "energy_idle_pj": m["energy_idle_pj"] * FTL_POWER_FACTOR,
        "leakage_mw": m["leakage_mw"] * FTL_POWER_FACTOR,
        "delay_ns": m["delay_ns"] * FTL_DELAY_FACTOR,
        "variants": {
            key: {f: v[f] * factors[f] for f in PRESET_FIGURES} for key, v in measured.items()
        },
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
            "-79.4 % area, -61.6 % power, -40.3 % delay"
        ),
        "assumptions": (
            "ASSUMPTIONS (not measured): (1) the relative savings measured at 40 nm carry "
            "over to IHP SG13G2 130 nm; (2) power at equal clock is energy per cycle, and "
            "the held (not enabled) cycle saves in the same ratio, as does leakage; (3) the "
            "FTL cell stands in for TULIP's neuron: TULIP (A. Wagle, S. Khatri, S. "
            "Vrudhula, ICCD 2020, arXiv:2104.01699) publishes no cell-level area or energy "
            "in the material we could read (abstract: 3x energy efficiency vs a MAC-based "
            "BNN processor in TSMC 40 nm LP, no loss of performance, area or accuracy); the "
            "two cells come from the same group, but that TULIP's neuron matches the FTL "
            "figures is not verified"
        ),
    }
    meta = {
        "command": f"python bench/compare_threshold.py --measure-cell --liberty {m['liberty']}",
        "created": datetime.date.today().isoformat(),
        "liberty": m["liberty"],
        "shiftadd": versions["shiftadd"],
        "note": "written by shiftadd.flows.threshold_cells.write_cell_presets; regenerate, do not "
        "edit by hand",
    }
    text = (
        "# Threshold-neuron cost presets. Written by `python bench/compare_threshold.py "
        "--measure-cell`; do not edit by hand.\n"
        + tomli_w.dumps({"meta": meta, "standard_cell": std, "custom_cell": custom})
    )
    out = Path(path) if path else CELLS_FILE
    atomic_write(out, text)
    return out
