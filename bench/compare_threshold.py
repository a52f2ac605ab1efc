"""Benchmark: threshold-logic PE arrays (TULIP-style) against the XNOR adder-tree BNN engine.

For each fan-in K the binary layer ``y = [popcount(XNOR(x, w)) >= T]`` runs on

* the baseline: the foundation's ``adder_tree`` array (``mode = "xnor"``, ``threshold =
  true``), ``n`` neurons, one K-input vector per cycle: ``n`` evaluations per cycle;
* the threshold array (``arch = "threshold"``: PEs of four (2, 1, 1, 1) neurons, local
  memory as large as the K program needs) with as many PEs as give the same evaluations per
  cycle, ``P = n * S`` for a program of ``S`` steps, at the same clock;

with the threshold neuron priced two ways: (a) the behavioural neuron synthesized from IHP
SG13G2 standard cells, (b) the custom-cell preset derived from published threshold-logic
cell figures (``models/data/threshold_cells.toml``).

Synthesized figures: the baseline at each K (Yosys + ABC, OpenSTA power at data activity
0.5, weights held), and the threshold array at two PE counts, whose difference gives the
per-PE and the shared area and energy (the array is P identical PEs plus shared instruction
register and decoders, so it is linear in P; 8 and 16 PEs, where the instruction broadcast is
already buffered as in large arrays); preset (b) replaces the standalone-measured
standard-cell neuron by the custom cell in every PE. K values not synthesized
(``--synth-k``) are modelled with the calibrated unit table (``source = model``).

Run (from the repository root; about 10 minutes on the 2-core machine)::

    SHIFTADD_LIBERTY=../shared/pdk/ihp-sg13g2/sg13g2_stdcell_typ_1p20V_25C.lib \\
        nice -n 10 .venv/bin/python bench/compare_threshold.py

``--measure-cell`` first re-measures the standard-cell neuron and rewrites
``models/data/threshold_cells.toml``. Writes
``bench/results/threshold_compare.{json,csv,png,svg}``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

from shiftadd._io import atomic_path, atomic_write, write_json
from shiftadd.design import AdderTreeDesign
from shiftadd.design.threshold import ThresholdDesign
from shiftadd.design.threshold_program import compile_program
from shiftadd.flows.threshold_cells import write_cell_presets
from shiftadd.models.cost import estimate
from shiftadd.models.cycles import gemm_cycles
from shiftadd.models.threshold.cells import load_cell_presets
from shiftadd.models.threshold.cost import threshold_estimate
from shiftadd.rtl_gen.synth import synthesize
from shiftadd.rtl_gen.tools import resolve_liberty

KS = (64, 256, 1024, 4096)
LAYER_M, LAYER_N = 4096, 256  # the per-layer figure: 4096 input rows, 256 outputs
CLOCK_NS = 10.0


def threshold_design(k: int, pes: int) -> ThresholdDesign:
    need = compile_program(k).memory_used
    return ThresholdDesign(
        name=f"cmp_tl_k{k}_p{pes}", k=k, pes=pes, memory_bits=need, clock_ns=CLOCK_NS
    )


def baseline_design(k: int, n: int) -> AdderTreeDesign:
    # Pipelined enough to meet the common 10 ns clock at every K.
    stages = 1 if k <= 256 else 2
    return AdderTreeDesign(
        name=f"cmp_xnor_k{k}_n{n}",
        mode="xnor",
        k=k,
        n=n,
        threshold=True,
        pipeline_stages=stages,
        clock_ns=CLOCK_NS,
    )


def _neuron_cycle_energy(cell, util: float) -> float:
    return util * cell.energy_eval_pj + (1 - util) * cell.energy_idle_pj


def synth_threshold(k: int, lib, points=(8, 16), log=print) -> dict:
    """Per-PE and shared area / energy per cycle of the threshold array, from two syntheses."""
    res = []
    for p in points:
        d = threshold_design(k, p)
        t0 = time.perf_counter()
        r = synthesize(d, liberty=lib, effort="fast")
        log(
            f"  threshold K={k} P={p}: {r.cells} cells, {r.area:,.0f} um^2, "
            f"{r.energy_per_cycle_pj:.1f} pJ/cycle, path {r.critical_path_ns:.2f} ns "
            f"({time.perf_counter() - t0:.0f} s)"
        )
        res.append((p, r))
    (p0, r0), (p1, r1) = res
    pe_area = (r1.area - r0.area) / (p1 - p0)
    pe_energy = (r1.energy_per_cycle_pj - r0.energy_per_cycle_pj) / (p1 - p0)
    return {
        "pe_area": pe_area,
        "shared_area": r0.area - p0 * pe_area,
        "pe_energy": pe_energy,
        "shared_energy": r0.energy_per_cycle_pj - p0 * pe_energy,
        "critical_path_ns": max(r0.critical_path_ns, r1.critical_path_ns),
        "points": {
            p: {
                "cells": r.cells,
                "area": r.area,
                "energy_per_cycle_pj": r.energy_per_cycle_pj,
                "critical_path_ns": r.critical_path_ns,
            }
            for p, r in res
        },
    }


def model_threshold(k: int) -> dict:
    """The same per-PE / shared split from the analytic bill of materials."""
    a, b = (threshold_estimate(threshold_design(k, p), "standard_cell") for p in (8, 16))
    pe_area = (b["area_um2"] - a["area_um2"]) / 8
    pe_energy = (b["energy_per_cycle_pj"] - a["energy_per_cycle_pj"]) / 8
    return {
        "pe_area": pe_area,
        "shared_area": a["area_um2"] - 8 * pe_area,
        "pe_energy": pe_energy,
        "shared_energy": a["energy_per_cycle_pj"] - 8 * pe_energy,
        "critical_path_ns": None,
    }


def rows_for(k: int, n: int, lib, synth: bool, log=print) -> list[dict]:
    presets = load_cell_presets()
    std, custom = presets["standard_cell"], presets["custom_cell"]
    prog = compile_program(k)
    S = prog.steps
    pes = n * S  # same evaluations per cycle as the baseline
    base = baseline_design(k, n)
    if synth:
        t0 = time.perf_counter()
        rb = synthesize(base, liberty=lib)
        log(
            f"  baseline K={k} n={n}: {rb.cells} cells, {rb.area:,.0f} um^2, "
            f"{rb.energy_per_cycle_pj:.1f} pJ/cycle, path {rb.critical_path_ns:.2f} ns "
            f"({time.perf_counter() - t0:.0f} s)"
        )
        b_area, b_energy, b_path = rb.area, rb.energy_per_cycle_pj, rb.critical_path_ns
        tl = synth_threshold(k, lib, log=log)
    else:
        m = estimate(base)
        b_area, b_energy, b_path = m.area, m.energy_per_cycle_pj, None
        tl = model_threshold(k)
    source = "synthesized" if synth else "model"
    b_cycles = gemm_cycles(base, LAYER_M, LAYER_N, k).cycles
    rows = [
        {
            "k": k,
            "design": "xnor adder tree (baseline)",
            "source": source,
            "units": n,
            "steps": 1,
            "memory_bits": 0,
            "area_um2": b_area,
            "energy_per_cycle_pj": b_energy,
            "evaluations_per_cycle": n,
            "energy_per_evaluation_pj": b_energy / n,
            "layer_cycles": b_cycles,
            "energy_per_layer_nj": b_cycles * b_energy / 1e3,
            "critical_path_ns": b_path,
        }
    ]
    util = prog.utilization
    d_eq = threshold_design(k, pes)
    t_cycles = gemm_cycles(d_eq, LAYER_M, LAYER_N, k).cycles
    for cell in (std, custom):
        # Preset (b): each PE's four standard-cell neurons become custom cells.
        d_area = 0.0 if cell is std else 4 * (std.area_um2 - cell.area_um2)
        d_energy = (
            0.0
            if cell is std
            else 4 * (_neuron_cycle_energy(std, util) - _neuron_cycle_energy(cell, util))
        )
        area = tl["shared_area"] + pes * (tl["pe_area"] - d_area)
        energy = tl["shared_energy"] + pes * (tl["pe_energy"] - d_energy)
        neuron_share = 4 * _neuron_cycle_energy(cell, util) / (tl["pe_energy"] - d_energy)
        # Bound: the same array with a neuron that costs no energy at all.
        free = tl["shared_energy"] + pes * (tl["pe_energy"] - 4 * _neuron_cycle_energy(std, util))
        rows.append(
            {
                "k": k,
                "design": f"threshold array, {cell.name.replace('_', ' ')}",
                "source": source,
                "units": pes,
                "steps": S,
                "memory_bits": prog.memory_used,
                "area_um2": area,
                "energy_per_cycle_pj": energy,
                "evaluations_per_cycle": pes / S,
                "energy_per_evaluation_pj": energy * S / pes,
                "layer_cycles": t_cycles,
                "energy_per_layer_nj": t_cycles * energy / 1e3,
                "critical_path_ns": tl["critical_path_ns"],
                "neuron_share_of_pe_energy": neuron_share,
                "energy_per_evaluation_free_neuron_pj": free * S / pes,
                "pe_area_um2": tl["pe_area"] - d_area,
                "pe_energy_per_cycle_pj": tl["pe_energy"] - d_energy,
                "shared_area_um2": tl["shared_area"],
                "shared_energy_per_cycle_pj": tl["shared_energy"],
                "synthesized_points": tl.get("points"),
            }
        )
    for r in rows:
        r["area_vs_baseline"] = r["area_um2"] / b_area
        r["energy_per_evaluation_vs_baseline"] = r["energy_per_evaluation_pj"] / (b_energy / n)
        r["throughput_gevals_per_s"] = r["evaluations_per_cycle"] / CLOCK_NS
    return rows


def schedule_table(ks=(16, 64, 256, 1024, 4096)) -> list[dict]:
    """Program steps against K for PE variants (how cycles grow with K)."""
    variants = [
        ("N=4 (2,1,1,1), D=6", dict()),
        ("N=4, 2 vectors per run", dict(vectors=2)),
        ("N=2, D=4", dict(neurons=2, data_bits=4)),
        ("N=8, D=12", dict(neurons=8, data_bits=12)),
        ("N=4 (4,2,1x7), D=8", dict(weights=(4, 2, 1, 1, 1, 1, 1, 1, 1), data_bits=8)),
    ]
    out = []
    for k in ks:
        row = {"k": k}
        for label, kw in variants:
            p = compile_program(k, **kw)
            row[label] = p.steps / p.vectors
            if label.startswith("N=4 (2,1,1,1)"):
                row["evaluation bound"] = p.evaluation_bound
                row["memory bits"] = p.memory_used
                row["evaluations"] = p.evaluations
        out.append(row)
    return out


def tradeoff_table(k: int = 256) -> list[dict]:
    """Throughput and modelled area for PE counts and neurons per PE at one K."""
    out = []
    for neurons, data_bits in ((2, 4), (4, 6), (8, 12)):
        prog = compile_program(k, neurons=neurons, data_bits=data_bits)
        for pes in (16, 64, 256):
            d = ThresholdDesign(
                k=k, pes=pes, neurons=neurons, data_bits=data_bits, memory_bits=prog.memory_used
            )
            e = threshold_estimate(d, "standard_cell")
            out.append(
                {
                    "k": k,
                    "neurons_per_pe": neurons,
                    "pes": pes,
                    "steps": prog.steps,
                    "evaluations_per_cycle": pes / prog.steps,
                    "area_um2_model": e["area_um2"],
                    "energy_per_evaluation_pj_model": e["energy_per_evaluation_pj"],
                }
            )
    return out


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {
        "xnor adder tree (baseline)": ("k", "o"),
        "threshold array, standard cell": ("tab:blue", "s"),
        "threshold array, custom cell": ("tab:orange", "^"),
    }
    for name, (color, marker) in styles.items():
        sel = [r for r in rows if r["design"] == name]
        ks = [r["k"] for r in sel]
        for ax, key in zip(axes, ("energy_per_evaluation_pj", "area_um2")):
            vals = [r[key] for r in sel]
            ax.plot(ks, vals, color=color, marker=marker, label=name)
            for r in sel:
                if r["source"] == "model":
                    ax.plot(r["k"], r[key], marker=marker, color=color, mfc="white", ms=10)
    axes[0].set_ylabel("energy per binary neuron evaluation (pJ)")
    axes[1].set_ylabel("area at equal evaluations/cycle (um^2)")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("fan-in K")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(
        "Threshold-logic PE array vs XNOR adder tree, IHP SG13G2, 10 ns (hollow markers: modelled)",
        fontsize=10,
    )
    fig.tight_layout()
    for suffix in ("png", "svg"):
        with atomic_path(path.with_suffix("." + suffix)) as tmp:
            fig.savefig(tmp, dpi=120, format=suffix)
    plt.close(fig)


def markdown_table(rows: list[dict]) -> str:
    """The comparison as a Markdown table (for docs/threshold.md)."""
    lines = [
        "| K | design | source | units | steps | area (mm^2) | area / baseline | "
        "evaluations / cycle | energy / evaluation (pJ) | energy / baseline | "
        "energy / layer (uJ) |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['k']} | {r['design']} | {r['source']} | {r['units']} | {r['steps']} "
            f"| {r['area_um2'] * 1e-6:.3f} | {r['area_vs_baseline']:.2f} "
            f"| {r['evaluations_per_cycle']:.3g} | {r['energy_per_evaluation_pj']:.1f} "
            f"| {r['energy_per_evaluation_vs_baseline']:.2f} "
            f"| {r['energy_per_layer_nj'] * 1e-3:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--liberty", default=None)
    ap.add_argument(
        "--measure-cell",
        action="store_true",
        help="re-measure the standard-cell neuron and rewrite the cell presets",
    )
    ap.add_argument(
        "--synth-k",
        default=",".join(map(str, KS)),
        help="fan-ins to synthesize (others are modelled); '' for none",
    )
    ap.add_argument("--n", default="4,4,4,1", help="baseline neurons per K (64,256,1024,4096)")
    ap.add_argument("--out", default="bench/results/threshold_compare")
    ap.add_argument(
        "--tables-only",
        action="store_true",
        help="recompute only the model tables (schedule steps, PE trade-off) in "
        "an existing JSON, without synthesis",
    )
    args = ap.parse_args(argv)
    if args.tables_only:
        import json

        path = Path(args.out).with_suffix(".json")
        data = json.loads(path.read_text())
        data.update(schedule_steps=schedule_table(), pe_tradeoff=tradeoff_table())
        write_json(path, data)
        print(f"updated the model tables in {path}")
        return 0
    lib = resolve_liberty(args.liberty)
    if args.measure_cell:
        path = write_cell_presets(lib)
        print(f"wrote {path}")
    synth_k = {int(s) for s in args.synth_k.split(",") if s}
    if synth_k and lib is None:
        print("synthesis needs a liberty (--liberty or SHIFTADD_LIBERTY)", file=sys.stderr)
        return 2
    ns = [int(s) for s in args.n.split(",")]
    t0 = time.perf_counter()
    rows = []
    for k, n in zip(KS, ns):
        print(f"K={k}: baseline n={n}, " + ("synthesizing" if k in synth_k else "model"))
        rows += rows_for(k, n, lib, k in synth_k)
    sched = schedule_table()
    trade = tradeoff_table()
    out = Path(args.out)
    buf = io.StringIO()
    keys = list(rows[0].keys()) + ["neuron_share_of_pe_energy"]
    keys = list(dict.fromkeys(keys))
    w = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k2: (f"{v:.6g}" if isinstance(v, float) else v) for k2, v in r.items()})
    atomic_write(out.with_suffix(".csv"), buf.getvalue())
    plot(rows, out.with_suffix(".png"))
    write_json(
        out.with_suffix(".json"),
        {
            "benchmark": "threshold_compare",
            "command": "bench/compare_threshold.py " + " ".join(argv or sys.argv[1:]),
            "liberty": str(lib) if lib else None,
            "clock_ns": CLOCK_NS,
            "layer": {"M": LAYER_M, "N": LAYER_N},
            "seconds": time.perf_counter() - t0,
            "cell_presets": {k: v.__dict__ for k, v in load_cell_presets().items()},
            "rows": rows,
            "schedule_steps": sched,
            "pe_tradeoff": trade,
        },
    )
    print(markdown_table(rows))
    for r in rows:
        print(
            f"K={r['k']:5d} {r['design']:<34} {r['source']:<11} units {r['units']:6d} "
            f"area {r['area_um2']:12,.0f} um^2 ({r['area_vs_baseline']:6.2f}x)  "
            f"{r['energy_per_evaluation_pj']:9.1f} pJ/eval "
            f"({r['energy_per_evaluation_vs_baseline']:5.2f}x)"
        )
    print(
        f"wrote {out.with_suffix('.csv')}, .png, .svg, "
        f"{out.with_suffix('.json')} in {time.perf_counter() - t0:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
