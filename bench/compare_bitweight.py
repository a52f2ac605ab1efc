"""Benchmark: plain-MAC engines against their bit-weight-dimension options (HPCA 2025).

For every engine the plain-MAC version and each bit-weight option are synthesized on the
IHP SG13G2 liberty (Yosys + ABC, fast script) at their own best clock, found by a short
clock sweep timed by OpenSTA (:func:`shiftadd.flows.clock_sweep.clock_sweep`: a relaxed
target, then 0.85 x the critical path reached, while it keeps shrinking), then powered by
OpenSTA at that clock with the stated activity: data inputs toggle 0.5 times per cycle at
full rate (uniformly random codes), weights held (loaded once per tile), output always read.
A ``digit_sparse`` array holds a vector for several cycles, so its activation ports toggle
``0.5 / E[cycles per vector]`` per cycle; it is reported twice, for uniformly random int8
codes and for clipped normal codes with sigma 20 (the paper's "normal inputs"), the
throughput being the expected vectors per cycle of each (exact for independent lanes).

Engines: the multiplier-adder tree (``adder_tree``, ``mode = "mac"``, K x N lanes) and, as
far as the other designs offer options, the systolic array (``os``, ``ws``) and the 2D
matrix, each plain and with ``carry_save_accumulate``.

Metrics: area (um^2), fmax, power (mW) at fmax, GOPS = ops/cycle x fmax (a MAC is two
ops), GOPS/mm^2 and GOPS/W, and the ratios to the engine's plain version beside the
paper's (REFERENCE.md section 1; SMIC 28 nm, the paper's transformed engine as a whole).

Run (from the repository root; the wall time is recorded in the JSON)::

    SHIFTADD_LIBERTY=../shared/pdk/ihp-sg13g2/sg13g2_stdcell_typ_1p20V_25C.lib \\
        nice -n 10 .venv/bin/python bench/compare_bitweight.py

Writes ``bench/results/compare_bitweight.{json,csv,md,png,svg}``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from shiftadd._io import atomic_path, atomic_write, write_json
from shiftadd.design import AdderTreeDesign, design_from_dict
from shiftadd.design.bitweight import expected_vector_cycles
from shiftadd.flows.activity import measure_activity
from shiftadd.flows.clock_sweep import clock_sweep
from shiftadd.rtl_gen.synth import DEFAULT_DATA_ACTIVITY, activity_profile, retime, synthesize
from shiftadd.rtl_gen.tools import resolve_liberty

RESULTS = Path(__file__).resolve().parent / "results"

# The paper's headline ratios (transformed engine / plain-MAC engine), REFERENCE.md sec. 1.
PAPER = {
    "adder_tree": (1.56, 1.49),
    "systolic_os": (1.27, 1.04),
    "systolic_ws": (1.27, 1.04),
    "matrix2d": (1.44, 1.20),
    "cube3d": (1.28, 1.56),
}

TREE_OPTIONS = {
    "plain MAC": {},
    "OPT1 carry-save": {"carry_save_accumulate": True},
    "OPT2 same bit weight": {"shared_encoder_same_bitweight": True},
    "OPT1+OPT2": {"carry_save_accumulate": True, "shared_encoder_same_bitweight": True},
    "OPT3+4 digit sparse": {"digit_sparse": True},
}


def normal_histogram(design, sigma: float) -> np.ndarray:
    """Probabilities of the activation codes for round(N(0, sigma^2)) clipped to the range."""
    lo, hi = design.act_range
    codes = np.arange(lo, hi + 1, dtype=float)
    cdf = lambda x: 0.5 * (1.0 + np.vectorize(math.erf)(x / (sigma * math.sqrt(2.0))))
    upper = np.where(codes == hi, 1.0, cdf(codes + 0.5))
    lower = np.where(codes == lo, 0.0, cdf(codes - 0.5))
    return upper - lower


def engines(args) -> list[tuple[str, str, object]]:
    """``(engine, option label, design)`` of every configuration compared."""
    out = []
    for label, opts in TREE_OPTIONS.items():
        out.append(
            (
                "adder_tree",
                label,
                AdderTreeDesign(name=f"tree_{len(out)}", mode="mac", k=args.k, n=args.n, **opts),
            )
        )
    if args.tree_only:
        return out
    for engine, base in (
        ("systolic_os", {"arch": "systolic", "dataflow": "os"}),
        ("systolic_ws", {"arch": "systolic", "dataflow": "ws"}),
        ("matrix2d", {"arch": "matrix2d"}),
    ):
        for label, opts in (
            ("plain MAC", {}),
            ("OPT1 carry-save", {"carry_save_accumulate": True}),
        ):
            try:
                design = design_from_dict(
                    {
                        **base,
                        "rows": args.rows,
                        "cols": args.rows,
                        "name": f"{engine}_{len(out)}",
                        **opts,
                    }
                )
            except Exception as exc:  # the other family's options may not exist yet
                print(f"skip {engine} {label}: {exc}", file=sys.stderr)
                continue
            out.append((engine, label, design))
    return out


def row_of(engine, label, design, sweep, result, ops_per_cycle, note=""):
    power = result.power_mw["total"]
    fmax = sweep.fmax_mhz
    gops = ops_per_cycle * fmax / 1000.0
    return {
        "engine": engine,
        "option": label,
        "design": design.name,
        "params": design.to_dict(),
        "area_um2": result.area,
        "sequential_area_um2": result.sequential_area,
        "cells": result.cells,
        "clock_ns": sweep.clock_ns,
        "fmax_mhz": fmax,
        "slack_ns": result.slack_ns,
        "power_mw": power,
        "power_leakage_mw": result.power_mw["leakage"],
        "ops_per_cycle": ops_per_cycle,
        "gops": gops,
        "gops_per_mm2": gops / (result.area * 1e-6),
        "gops_per_w": gops / (power * 1e-3),
        "energy_per_op_pj": power * sweep.clock_ns / ops_per_cycle,
        "sweep_points": [[p.target_ns, p.critical_path_ns, p.area] for p in sweep.points],
        "synth_seconds": sweep.seconds,
        "note": note,
    }


def run(args) -> dict:
    liberty = resolve_liberty(args.liberty)
    if liberty is None:
        raise SystemExit("set SHIFTADD_LIBERTY to the IHP SG13G2 liberty (or --liberty)")
    rows = []
    t_start = time.perf_counter()
    for engine, label, design in engines(args):
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="compare-bitweight-") as tmp:
            # The netlists stay until the design is done (digit_sparse is timed twice).
            workdir = Path(args.workdir or tmp) / design.name
            sweep = clock_sweep(
                design,
                liberty=liberty,
                start_ns=args.start_ns,
                max_points=args.points,
                data_activity=DEFAULT_DATA_ACTIVITY,
                workdir=workdir,
            )
            if not getattr(design, "digit_sparse", False):
                rows.append(row_of(engine, label, design, sweep, sweep.best, design.ops_per_cycle))
            else:
                for dist, hist in (
                    ("uniform codes", None),
                    ("normal codes, sigma 20", normal_histogram(design, 20.0)),
                ):
                    cycles = expected_vector_cycles(design, hist)
                    rules = [
                        (g, DEFAULT_DATA_ACTIVITY / cycles if g == "act__payload*" else t, d)
                        for g, t, d in activity_profile(design, DEFAULT_DATA_ACTIVITY)
                    ]
                    result = retime(
                        sweep.best, design, sweep.clock_ns, liberty=liberty, activity_rules=rules
                    )
                    rows.append(
                        row_of(
                            engine,
                            f"{label} ({dist})",
                            design,
                            sweep,
                            result,
                            2 * design.k * design.n / cycles,
                            note=f"{cycles:.3f} expected cycles per vector",
                        )
                    )
        print(
            f"{engine:12s} {label:28s} area {sweep.best.area:10.0f} um2  "
            f"fmax {sweep.fmax_mhz:6.1f} MHz  power {rows[-1]['power_mw']:8.3f} mW  "
            f"({time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    base = {}
    for r in rows:
        if r["option"] == "plain MAC":
            base[r["engine"]] = r
    for r in rows:
        b = base.get(r["engine"])
        r["area_eff_ratio"] = r["gops_per_mm2"] / b["gops_per_mm2"] if b else None
        r["energy_eff_ratio"] = r["gops_per_w"] / b["gops_per_w"] if b else None
        paper = PAPER.get(r["engine"])
        r["paper_area_eff_ratio"], r["paper_energy_eff_ratio"] = paper if paper else (None, None)
    return {
        "liberty": str(liberty),
        "k": args.k,
        "n": args.n,
        "rows_cols": args.rows,
        "points": args.points,
        "start_ns": args.start_ns,
        "activity": "data inputs 0.5 toggles/cycle at full rate, weights held",
        "wall_seconds": time.perf_counter() - t_start,
        "results": rows,
    }


COLUMNS = (
    "engine",
    "option",
    "area_um2",
    "fmax_mhz",
    "power_mw",
    "gops",
    "gops_per_mm2",
    "gops_per_w",
    "area_eff_ratio",
    "paper_area_eff_ratio",
    "energy_eff_ratio",
    "paper_energy_eff_ratio",
)


def fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def markdown(report: dict) -> str:
    head = [
        "engine",
        "option",
        "area um^2",
        "fmax MHz",
        "power mW",
        "GOPS",
        "GOPS/mm^2",
        "GOPS/W",
        "area eff. x",
        "paper",
        "energy eff. x",
        "paper",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report["results"]:
        lines.append("| " + " | ".join(fmt(r[c]) for c in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def write_csv(report: dict, path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = list(COLUMNS) + ["clock_ns", "energy_per_op_pj", "cells", "sequential_area_um2", "note"]
    w.writerow(cols)
    for r in report["results"]:
        w.writerow([r[c] for c in cols])
    atomic_write(path, buf.getvalue())


def plot(report: dict, stem: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in report["results"] if r["option"] != "plain MAC"]
    labels = [f"{r['engine']}\n{r['option']}" for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(rows)), 4.8))
    ax.bar(x - 0.2, [r["area_eff_ratio"] for r in rows], 0.4, label="area efficiency (ours)")
    ax.bar(x + 0.2, [r["energy_eff_ratio"] for r in rows], 0.4, label="energy efficiency (ours)")
    ax.scatter(
        x - 0.2,
        [r["paper_area_eff_ratio"] for r in rows],
        marker="_",
        s=300,
        color="k",
        label="paper (engine)",
        zorder=3,
    )
    ax.scatter(
        x + 0.2, [r["paper_energy_eff_ratio"] for r in rows], marker="_", s=300, color="k", zorder=3
    )
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xticks(x, labels, fontsize=7, rotation=30, ha="right")
    ax.set_ylabel("ratio to the engine's plain-MAC version")
    ax.set_title(
        f"Bit-weight options on IHP SG13G2, each at its own best clock "
        f"(tree K={report['k']}, N={report['n']})",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    for ext in ("png", "svg"):
        with atomic_path(stem.with_suffix(f".{ext}")) as tmp:
            fig.savefig(tmp, format=ext, dpi=120)
    plt.close(fig)


def activity_check(args) -> dict:
    """Energy per cycle of small trees (K = 8, N = 2, 10 ns) with OpenSTA's vectorless
    activity against activity from a gate-level simulation of the bench's random traffic
    (:func:`shiftadd.rtl_gen.activity.measure_activity`; zero-delay, so no glitches)."""

    liberty = resolve_liberty(args.liberty)
    rows = []
    t_start = time.perf_counter()
    for label, opts in TREE_OPTIONS.items():
        design = AdderTreeDesign(name=f"act_{len(rows)}", mode="mac", k=8, n=2, **opts)
        with tempfile.TemporaryDirectory(prefix="compare-bitweight-act-") as tmp:
            vectorless = synthesize(design, liberty=liberty, clock_ns=10.0, workdir=tmp)
            activity, report = measure_activity(
                design, netlist=vectorless.netlist, liberty=liberty, vectors=2000
            )
            simulated = synthesize(design, liberty=liberty, clock_ns=10.0, activity=activity)
        rows.append(
            {
                "option": label,
                "area_um2": vectorless.area,
                "vectorless_pj_per_cycle": vectorless.energy_per_cycle_pj,
                "simulated_pj_per_cycle": simulated.energy_per_cycle_pj,
                "gate_level_sim_passed": report.passed,
                "annotated_pins": simulated.activity.get("annotated_pins"),
            }
        )
        print(rows[-1], file=sys.stderr, flush=True)
    for r in rows:
        for key in ("vectorless_pj_per_cycle", "simulated_pj_per_cycle"):
            r[key.replace("pj_per_cycle", "ratio_to_plain")] = r[key] / rows[0][key]
    return {
        "liberty": str(liberty),
        "k": 8,
        "n": 2,
        "clock_ns": 10.0,
        "vectors": 2000,
        "wall_seconds": time.perf_counter() - t_start,
        "results": rows,
    }


PIPELINE_OPTIONS = {k: v for k, v in TREE_OPTIONS.items() if "digit_sparse" not in v}
#: Short names of :data:`PIPELINE_OPTIONS` for ``--options``.
PIPELINE_KEYS = dict(zip(("plain", "opt1", "opt2", "opt12"), PIPELINE_OPTIONS, strict=True))


def _sweep_point(args, liberty, label, opts, stages, index) -> dict:
    """One (option, pipeline_stages) point: clock sweep, then gate-level simulated
    activity of the best netlist on a streamed GEMM, annotated in OpenSTA at the best
    clock (vectorless power beside it)."""
    design = AdderTreeDesign(
        name=f"pipe_{index}", mode="mac", k=args.k, n=args.n, pipeline_stages=stages, **opts
    )
    m = args.sim_vectors
    gemm = (m, design.n, design.k)  # one tile: weights loaded once, m vectors at full rate
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="compare-bitweight-pipe-") as tmp:
        sweep = clock_sweep(
            design,
            liberty=liberty,
            start_ns=args.start_ns,
            max_points=args.points,
            data_activity=DEFAULT_DATA_ACTIVITY,
            workdir=Path(args.workdir or tmp) / design.name,
        )
        t_synth = time.perf_counter() - t0
        activity, report = measure_activity(
            design, netlist=sweep.best.netlist, liberty=liberty, gemm=gemm, seed=index
        )
        simulated = retime(sweep.best, design, sweep.clock_ns, liberty=liberty, activity=activity)
    gemm_ok = bool(report.passed and (report.gemm or {}).get("gemm_matches"))
    ops = 2 * m * design.n * design.k
    fmax = sweep.fmax_mhz
    area = sweep.best.area
    gops = design.ops_per_cycle * fmax / 1000.0
    # Simulated: energy of the whole GEMM run (weight load, fill, m vectors, drain) per op.
    sim_pj_per_op = simulated.power_mw["total"] * sweep.clock_ns * activity.cycles / ops
    # Vectorless: the peak rate's energy per op (0.5 toggles per cycle on the data ports).
    vl_pj_per_op = sweep.best.power_mw["total"] * sweep.clock_ns / design.ops_per_cycle
    row = {
        "option": label,
        "pipeline_stages": stages,
        "register_slots": list(design.register_slots),
        "latency": design.latency,
        "params": design.to_dict(),
        "area_um2": area,
        "sequential_area_um2": sweep.best.sequential_area,
        "clock_ns": sweep.clock_ns,
        "fmax_mhz": fmax,
        "gops": gops,
        "gops_per_mm2": gops / (area * 1e-6),
        "sim_power_mw": simulated.power_mw["total"],
        "sim_leakage_mw": simulated.power_mw["leakage"],
        "sim_cycles": activity.cycles,
        "sim_pj_per_op": sim_pj_per_op,
        "gops_per_w": 1000.0 / sim_pj_per_op,
        "annotated_pins": (simulated.activity or {}).get("annotated_pins"),
        "gate_level_passed": gemm_ok,
        "vectorless_power_mw": sweep.best.power_mw["total"],
        "vectorless_pj_per_op": vl_pj_per_op,
        "vectorless_gops_per_w": 1000.0 / vl_pj_per_op,
        "sweep_points": [[q.target_ns, q.critical_path_ns, q.area] for q in sweep.points],
        "synth_seconds": t_synth,
        "seconds": time.perf_counter() - t0,
    }
    print(
        f"{label:22s} stages {stages}  area {area:9.0f}  fmax {fmax:6.1f} MHz  "
        f"sim {sim_pj_per_op:6.3f} pJ/op  vectorless {vl_pj_per_op:6.3f} pJ/op  "
        f"gate-level {'ok' if gemm_ok else 'FAILED'}  ({row['seconds']:.0f} s)",
        file=sys.stderr,
        flush=True,
    )
    return row


def pipeline_sweep(args, progress: Path | None = None) -> dict:
    """Every tree option at ``pipeline_stages`` in ``args.stages`` (each capped at the
    design's maximum), each compared with the plain tree at the best point of each."""
    liberty = resolve_liberty(args.liberty)
    if liberty is None:
        raise SystemExit("set SHIFTADD_LIBERTY to the IHP SG13G2 liberty (or --liberty)")
    stages = [int(x) for x in args.stages.split(",")]
    keys = args.options.split(",")
    unknown = [key for key in keys if key not in PIPELINE_KEYS]
    if unknown:
        raise SystemExit(f"--options: {unknown} not in {list(PIPELINE_KEYS)}")
    rows: list[dict] = []
    t_start = time.perf_counter()

    def report() -> dict:
        return {
            "liberty": str(liberty),
            "k": args.k,
            "n": args.n,
            "stages": {PIPELINE_KEYS[key]: stages for key in keys},
            "points": args.points,
            "start_ns": args.start_ns,
            "sim_gemm": [args.sim_vectors, args.n, args.k],
            "wall_seconds": time.perf_counter() - t_start,
            "results": rows,
        }

    for key in keys:
        label = PIPELINE_KEYS[key]
        opts = PIPELINE_OPTIONS[label]
        top = AdderTreeDesign(mode="mac", k=args.k, n=args.n, **opts).max_pipeline_stages
        # In the order given (the most wanted first), each capped at the maximum.
        for s in dict.fromkeys(min(s, top) for s in stages):
            rows.append(_sweep_point(args, liberty, label, opts, s, args.index_base + len(rows)))
            if progress is not None:
                write_json(progress, report())  # a long run keeps what it has measured
    return report()


def summarize(report: dict) -> dict:
    """Each option's best points (highest GOPS/mm^2; highest GOPS/W with simulated
    activity; highest vectorless GOPS/W) and their ratios to the plain tree's best."""
    rows = report["results"]
    best = {}
    for label in PIPELINE_OPTIONS:
        if not any(r["option"] == label for r in rows):
            continue
        mine = [r for r in rows if r["option"] == label]
        best[label] = {
            "area": max(mine, key=lambda r: r["gops_per_mm2"]),
            "energy": max(mine, key=lambda r: r["gops_per_w"]),
            "energy_vectorless": max(mine, key=lambda r: r["vectorless_gops_per_w"]),
        }
    plain = best["plain MAC"]
    summary = []
    for label, b in best.items():
        summary.append(
            {
                "option": label,
                "best_area_stages": b["area"]["pipeline_stages"],
                "best_gops_per_mm2": b["area"]["gops_per_mm2"],
                "area_eff_ratio": b["area"]["gops_per_mm2"] / plain["area"]["gops_per_mm2"],
                "best_energy_stages": b["energy"]["pipeline_stages"],
                "best_gops_per_w": b["energy"]["gops_per_w"],
                "energy_eff_ratio": b["energy"]["gops_per_w"] / plain["energy"]["gops_per_w"],
                "best_vectorless_stages": b["energy_vectorless"]["pipeline_stages"],
                "vectorless_energy_eff_ratio": b["energy_vectorless"]["vectorless_gops_per_w"]
                / plain["energy_vectorless"]["vectorless_gops_per_w"],
                "paper_area_eff_ratio": PAPER["adder_tree"][0],
                "paper_energy_eff_ratio": PAPER["adder_tree"][1],
            }
        )
    return {
        **report,
        "power": (
            "primary: OpenSTA with the switching activity of a zero-delay gate-level "
            "simulation (Verilator, SAIF) of the best netlist running one GEMM tile of "
            "uniformly random int8 codes (weights loaded once, then the vectors at full "
            "rate), energy of the whole run per op; beside it, labelled: vectorless (0.5 "
            "toggles per cycle on the data ports at the peak rate)"
        ),
        "summary": summary,
    }


def merge_reports(paths: list[str]) -> dict:
    """One report from partial runs (``--options`` subsets run side by side): their rows,
    settings (which must agree) and the sum of their wall times."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    first = parts[0]
    for part in parts[1:]:
        for key in ("liberty", "k", "n", "points", "start_ns", "sim_gemm"):
            if part[key] != first[key]:
                raise SystemExit(f"--merge: {key} differs between the partial runs")
    return {
        **{key: first[key] for key in ("liberty", "k", "n", "points", "start_ns", "sim_gemm")},
        "stages": {
            label: sorted(
                {
                    r["pipeline_stages"]
                    for part in parts
                    for r in part["results"]
                    if r["option"] == label
                }
            )
            for label in PIPELINE_OPTIONS
        },
        "wall_seconds_sum": sum(part["wall_seconds"] for part in parts),
        "wall_seconds_each": [part["wall_seconds"] for part in parts],
        "results": sorted(
            (r for part in parts for r in part["results"]),
            key=lambda r: (list(PIPELINE_OPTIONS).index(r["option"]), r["pipeline_stages"]),
        ),
    }


def pipeline_markdown(report: dict) -> str:
    """The sweep's two tables: every point, then each option at its best points."""
    head = [
        "option",
        "stages",
        "area um^2",
        "fmax MHz",
        "GOPS",
        "GOPS/mm^2",
        "pJ/op sim.",
        "GOPS/W sim.",
        "pJ/op vectorless",
        "gate-level check",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report["results"]:
        cells = [
            r["option"],
            r["pipeline_stages"],
            r["area_um2"],
            r["fmax_mhz"],
            r["gops"],
            r["gops_per_mm2"],
            r["sim_pj_per_op"],
            r["gops_per_w"],
            r["vectorless_pj_per_op"],
            "passed" if r["gate_level_passed"] else "FAILED",
        ]
        lines.append("| " + " | ".join(fmt(c) for c in cells) + " |")
    lines += [
        "",
        "| option | best stages (GOPS/mm^2) | area eff. x | best stages (GOPS/W sim.) "
        "| energy eff. x (sim.) | energy eff. x (vectorless, own best) | paper |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["summary"]:
        cells = [
            r["option"],
            r["best_area_stages"],
            r["area_eff_ratio"],
            r["best_energy_stages"],
            r["energy_eff_ratio"],
            f"{fmt(r['vectorless_energy_eff_ratio'])} (stages {r['best_vectorless_stages']})",
            f"{r['paper_area_eff_ratio']} / {r['paper_energy_eff_ratio']}",
        ]
        lines.append("| " + " | ".join(fmt(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--liberty")
    ap.add_argument("--k", type=int, default=16, help="tree lanes per neuron (K)")
    ap.add_argument("--n", type=int, default=4, help="tree neurons (N)")
    ap.add_argument("--rows", type=int, default=4, help="systolic / 2D-matrix side")
    ap.add_argument("--points", type=int, default=2, help="synthesis runs per clock sweep")
    ap.add_argument("--start-ns", type=float, default=10.0, help="first (relaxed) target")
    ap.add_argument("--tree-only", action="store_true")
    ap.add_argument("--workdir", help="keep synthesis files here")
    ap.add_argument("--out", default=str(RESULTS / "compare_bitweight"))
    ap.add_argument(
        "--activity-check",
        action="store_true",
        help="only compare vectorless and simulated activity on small trees",
    )
    ap.add_argument(
        "--pipeline-sweep",
        action="store_true",
        help="only the tree: plain and OPT1/OPT2/OPT1+OPT2 at several pipeline_stages, "
        "power from gate-level simulated activity",
    )
    ap.add_argument(
        "--stages", default="0,1,2,3", help="pipeline_stages of --pipeline-sweep (comma list)"
    )
    ap.add_argument(
        "--sim-vectors", type=int, default=500, help="vectors of the --pipeline-sweep GEMM"
    )
    ap.add_argument(
        "--options",
        default=",".join(PIPELINE_KEYS),
        help=f"--pipeline-sweep: which of {','.join(PIPELINE_KEYS)} (comma list)",
    )
    ap.add_argument(
        "--index-base", type=int, default=0, help="first design index (seeds, module names)"
    )
    ap.add_argument(
        "--partial",
        action="store_true",
        help="--pipeline-sweep: write only the rows to OUT_pipeline_part.json (no summary)",
    )
    ap.add_argument("--merge", nargs="+", help="summarize these partial --pipeline-sweep runs")
    args = ap.parse_args(argv)
    if args.pipeline_sweep or args.merge:
        stem = Path(args.out + "_pipeline")
        stem.parent.mkdir(parents=True, exist_ok=True)
        if args.merge:
            report = merge_reports(args.merge)
        else:
            part = stem.with_name(stem.name + "_part.json")
            report = pipeline_sweep(args, progress=part if args.partial else None)
            if args.partial:
                write_json(part, report)
                return 0
        report = summarize(report)
        write_json(stem.with_suffix(".json"), report)
        atomic_write(stem.with_suffix(".md"), pipeline_markdown(report))
        print(pipeline_markdown(report))
        return 0
    if args.activity_check:
        report = activity_check(args)
        write_json(Path(args.out + "_activity").with_suffix(".json"), report)
        return 0
    report = run(args)
    stem = Path(args.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    write_json(stem.with_suffix(".json"), report)
    write_csv(report, stem.with_suffix(".csv"))
    atomic_write(stem.with_suffix(".md"), markdown(report))
    plot(report, stem)
    print(markdown(report))
    print(f"wall time {report['wall_seconds']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
