"""Benchmark: generation, lint, simulator build and synthesis wall time of the demo designs.

For the three adder-tree modes at the demo size (K=256, N=4, 200 MHz target): Amaranth
elaboration plus Verilog emission, ``verilator --lint-only -Wall``, the Verilator build of
the cocotb bench, and Yosys + ABC synthesis with OpenSTA timing and power on the liberty in
``SHIFTADD_LIBERTY`` (generic gates without one).

Run (from the repository root)::

    SHIFTADD_LIBERTY=../shared/pdk/ihp-sg13g2/sg13g2_stdcell_typ_1p20V_25C.lib \\
        .venv/bin/python bench/bench_flow.py

Writes JSON to ``--out`` (default ``bench/results/flow.json``).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time

from shiftadd._io import write_json
from shiftadd.flows.demo import demo_designs
from shiftadd.rtl_gen.emit import generate_verilog
from shiftadd.rtl_gen.lint import lint_verilog
from shiftadd.rtl_gen.synth import synthesize
from shiftadd.rtl_gen.tools import resolve_liberty
from shiftadd.sim.runner import simulate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the demo's small designs")
    ap.add_argument("--out", default="bench/results/flow.json")
    args = ap.parse_args(argv)
    lib = resolve_liberty(None)
    rows = []
    for design in demo_designs(args.quick):
        t0 = time.perf_counter()
        rtl = generate_verilog(design)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        lint = lint_verilog(rtl.verilog, design.name, is_text=True)
        t_lint = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            sim = simulate(design, vectors=1000, build_root=tmp)
            t_sim = time.perf_counter() - t0
        t0 = time.perf_counter()
        syn = synthesize(design, liberty=lib if lib else "none")
        t_syn = time.perf_counter() - t0
        row = {
            "design": design.name,
            "mode": design.mode,
            "k": design.k,
            "n": design.n,
            "verilog_lines": rtl.verilog.count("\n"),
            "generate_seconds": t_gen,
            "lint_seconds": t_lint,
            "lint_clean": lint.ok,
            "sim_build_seconds": sim.build_seconds,
            "sim_1000_vectors_total_seconds": t_sim,
            "sim_passed": sim.passed,
            "synth_seconds": t_syn,
            "synth_breakdown_seconds": syn.seconds,
            "abc_effort": syn.effort,
            "cells": syn.cells,
            "area": syn.area,
            "area_unit": syn.area_unit,
            "fmax_mhz": syn.fmax_mhz,
            "liberty": syn.liberty,
        }
        rows.append(row)
        print(
            f"{design.name}: generate {t_gen:.1f} s ({row['verilog_lines']} lines), lint "
            f"{t_lint:.1f} s, Verilator build {sim.build_seconds:.1f} s, synthesis "
            f"{t_syn:.1f} s ({syn.cells} cells, {syn.area:,.0f} {syn.area_unit}, ABC "
            f"{syn.effort})"
        )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    write_json(
        args.out,
        {
            "benchmark": "flow",
            "command": "bench/bench_flow.py " + " ".join(argv or sys.argv[1:]),
            "peak_child_rss_mb": peak,
            "results": rows,
        },
    )
    return 0 if all(r["lint_clean"] and r["sim_passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
