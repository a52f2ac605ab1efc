"""Benchmark: hierarchical against flat synthesis of the catalog designs that have units.

Each design is synthesized twice with the same command and liberty: flat (the default) and
hierarchical (``synthesize(..., hierarchical=True)``: each distinct PE or neuron slice mapped
once and instantiated). Reported per design: wall time of Yosys + ABC and of OpenSTA, area,
cells, critical path and vectorless power (data activity 0.5), and the hierarchical result
relative to the flat one. Shift-add, threshold and the bit-weight adder trees have no
hierarchical form yet and are listed as such.

Run (from the repository root)::

    .venv/bin/python bench/bench_hierarchy.py \\
        --liberty ../shared/pdk/ihp-sg13g2/sg13g2_stdcell_typ_1p20V_25C.lib

Writes ``--out`` (default ``bench/results/hierarchy.json``) and the Markdown table beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import warnings
from pathlib import Path

from shiftadd._io import atomic_write, write_json
from shiftadd.design import load_design
from shiftadd.flows.demo import demo_designs
from shiftadd.hw import build_component
from shiftadd.rtl_gen.synth import synthesize
from shiftadd.rtl_gen.tools import resolve_liberty

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _designs(names: list[str] | None):
    designs = [load_design(p) for p in sorted(EXAMPLES.glob("*.toml"))]
    designs += [load_design(p) for p in sorted(EXAMPLES.glob("*.yaml"))]
    designs += demo_designs()
    if names:
        designs = [d for d in designs if d.name in names]
    with_units, without = [], []
    for d in designs:
        units = getattr(build_component(d, hierarchical=True), "hierarchy_units", {})
        (with_units if units else without).append(d)
    return with_units, [d.name for d in without]


def _run(design, lib, hierarchical: bool, workdir: Path) -> dict:
    # A fresh folder: a netlist reused from an earlier run would time nothing.
    shutil.rmtree(workdir, ignore_errors=True)
    t0 = time.perf_counter()
    r = synthesize(design, liberty=lib, hierarchical=hierarchical, workdir=workdir)
    return {
        "seconds": time.perf_counter() - t0,
        "yosys_seconds": r.seconds.get("yosys"),
        "sta_seconds": r.seconds.get("sta"),
        "area_um2": r.area,
        "cells": r.cells,
        "sequential_cells": r.sequential_cells,
        "critical_path_ns": r.critical_path_ns,
        "power_mw": (r.power_mw or {}).get("total"),
    }


def _table(rows: list[dict], skipped: list[str], command: str) -> str:
    lines = [
        "# Hierarchical vs flat synthesis (generated)",
        "",
        f"Rebuild with `{command}`. Same liberty, clock and ABC script; power is OpenSTA "
        "vectorless at data activity 0.5 on both. Times are wall seconds on the 2-core "
        "reference machine (other work may share it: compare within a row). Ratios are "
        "hierarchical / flat.",
        "",
        "| design | units | flat yosys s | hier yosys s | speed-up | flat STA s | hier STA s | "
        "flat total s | hier total s | speed-up | area | cells | power | critical path |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        f, h = r["flat"], r["hierarchical"]

        def ratio(key, f=f, h=h):
            return f"{h[key] / f[key] - 1:+.2%}" if f[key] and h[key] else "n/a"

        lines.append(
            f"| {r['design']} | {r['units']} | {f['yosys_seconds']:.1f} | "
            f"{h['yosys_seconds']:.1f} | {f['yosys_seconds'] / h['yosys_seconds']:.1f}x | "
            f"{f['sta_seconds'] or 0:.1f} | {h['sta_seconds'] or 0:.1f} | {f['seconds']:.1f} | "
            f"{h['seconds']:.1f} | {f['seconds'] / h['seconds']:.1f}x | {ratio('area_um2')} | "
            f"{ratio('cells')} | {ratio('power_mw')} | {ratio('critical_path_ns')} |"
        )
    if skipped:
        lines += ["", "No hierarchical form (synthesized flat either way): " + ", ".join(skipped)]
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--liberty", help="liberty (default SHIFTADD_LIBERTY)")
    ap.add_argument("--designs", nargs="+", help="design names (default: every one with units)")
    ap.add_argument("--workdir", default="out/bench_hierarchy", help="synthesis folders")
    ap.add_argument("--out", default="bench/results/hierarchy.json")
    ap.add_argument(
        "--flat-from",
        metavar="JSON",
        help="take the flat rows from this earlier result of the bench (same flat flow) and "
        "run only the hierarchical synthesis",
    )
    args = ap.parse_args(argv)
    # Components built only to read their units are never elaborated.
    warnings.filterwarnings("ignore", message=".*created but never used")
    lib = resolve_liberty(args.liberty)
    if lib is None:
        sys.exit("bench_hierarchy: needs a liberty (--liberty or SHIFTADD_LIBERTY)")
    designs, skipped = _designs(args.designs)
    earlier = {}
    if args.flat_from:
        earlier = {
            r["design"]: r["flat"] for r in json.loads(Path(args.flat_from).read_text())["results"]
        }
    rows = []
    for design in designs:
        units = len(build_component(design, hierarchical=True).hierarchy_units)
        row = {"design": design.name, "arch": design.arch, "units": units}
        for hierarchical in (False, True):
            kind = "hierarchical" if hierarchical else "flat"
            if not hierarchical and design.name in earlier:
                row[kind] = {**earlier[design.name], "from": args.flat_from}
                continue
            workdir = Path(args.workdir) / f"{design.name}-{kind}"
            row[kind] = _run(design, lib, hierarchical, workdir)
            print(f"{design.name} {kind}: {row[kind]}", flush=True)
        rows.append(row)
    command = "bench/bench_hierarchy.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_json(
        args.out,
        {"benchmark": "hierarchy", "command": command, "liberty": str(lib), "results": rows},
    )
    atomic_write(Path(args.out).with_suffix(".md"), _table(rows, skipped, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
