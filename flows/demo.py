"""``shiftadd demo``: the three adder-tree modes from design to silicon numbers.

For XNOR-popcount, add/sub (binary weights, int8 activations) and multiply-accumulate
(int8 x int8) arrays of the same size: generate and lint the Verilog, check it against the
golden model under cocotb and Verilator, synthesize it hierarchically (each distinct neuron
slice mapped once; IHP SG13G2 when a liberty is given, generic gate equivalents otherwise),
run the analytic model, and write a results table and a plot of area and energy per
operation. Energy is measured the way the model is calibrated: OpenSTA power with every pin's
activity from a gate-level simulation, on a K=16, N=2 sibling of each design (a gate-level
simulation of the full-size netlists would take most of an hour); the full-size designs'
OpenSTA vectorless figure is in the table, labelled as such.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_path, write_json
from .._progress import set_enabled as set_progress
from ..design import AdderTreeDesign, read_design_file
from ..errors import InputError, ToolError
from ..models.cost import estimate
from ..models.cycles import gemm_cycles
from ..models.pareto import pareto_front
from ..models.plots import energy_unit, plot_results
from ..models.sweep import (
    check_sweep_folder,
    load_sweep_spec,
    parse_sweep_spec,
    quality_summary,
    run_sweep,
    timing_summary,
)
from ..models.workers import worker_pool
from ..rtl_gen.emit import write_rtl
from ..rtl_gen.lint import lint_verilog
from ..rtl_gen.synth import synthesize
from ..rtl_gen.tools import resolve_liberty
from ..sim.runner import simulate
from .validate import validate_design

__all__ = ["demo_designs", "run_demo", "DEMO_GEMM"]

# A decode-phase projection of a small transformer layer: one token, 256 -> 1024.
DEMO_GEMM = (1, 1024, 256)
# The sibling of each design whose energy is measured from gate-level simulated activity.
GATE_LEVEL_SIZE = {"k": 16, "n": 2}


def demo_designs(quick: bool = False) -> list[AdderTreeDesign]:
    """The three designs of the demo (``quick``: small ones for a smoke test)."""
    k, n = (32, 2) if quick else (256, 4)
    common = dict(k=k, n=n, pipeline_stages=2, clock_ns=5.0)
    return [
        AdderTreeDesign(name=f"demo_xnor_k{k}", mode="xnor", **common),
        AdderTreeDesign(name=f"demo_addsub_k{k}", mode="addsub", act_bits=8, **common),
        AdderTreeDesign(name=f"demo_mac_k{k}", mode="mac", act_bits=8, weight_bits=8, **common),
    ]


def _full_size(design, out: Path, vectors: int, lib, log) -> dict:
    """The full-size design: Verilog, lint, simulation, hierarchical synthesis and the
    model; its row of the results table (``passed``: lint clean and simulation passed)."""
    row: dict = {
        "design": design.name,
        "mode": design.mode,
        "k": design.k,
        "n": design.n,
        "act_bits": design.act_bits,
        "weight_bits": design.weight_bits,
        "clock_ns": design.clock_ns,
        "synthesis": "hierarchical",
        "latency_cycles": design.latency,
        "ops_per_cycle": design.ops_per_cycle,
    }
    log(f"[{design.name}] generate Verilog")
    t0 = time.perf_counter()
    # The hierarchical form throughout: the Verilog linted and simulated is the one
    # synthesized.
    v_path, _ = write_rtl(design, out / "rtl", hierarchical=True)
    row["gen_seconds"] = time.perf_counter() - t0
    lint = lint_verilog(v_path, design.name)
    row["lint_clean"] = lint.ok
    row["passed"] = lint.ok

    log(f"[{design.name}] simulate {vectors} vectors (cocotb + Verilator)")
    sim = simulate(design, vectors=vectors, seed=1, hierarchical=True)
    row.update(
        vectors_checked=sim.vectors,
        mismatches=sim.mismatches + sim.missing + sim.extra,
        cycle_mismatches=sim.cycle_mismatches,
        sim_dot_products_per_s=sim.dot_products_per_second,
        sim_build_seconds=sim.build_seconds,
    )
    row["passed"] &= sim.passed

    log(
        f"[{design.name}] synthesize"
        + (f" on {lib.name}" if lib else " (no liberty: generic gate equivalents)")
    )
    try:
        t0 = time.perf_counter()
        syn = synthesize(
            design,
            liberty=lib if lib else "none",
            workdir=out / "synth" / design.name,
            hierarchical=True,
        )
        row["synth_seconds"] = time.perf_counter() - t0
        write_json(out / "synth" / f"{design.name}.json", syn.to_dict())
        row.update(
            synth_area=syn.area,
            area_unit=syn.area_unit,
            synth_cells=syn.cells,
            fmax_mhz=syn.fmax_mhz,
            synth_vectorless_power_mw=(syn.power_mw or {}).get("total"),
            synth_vectorless_energy_per_op_pj=syn.energy_per_op_pj,
        )
    except ToolError as exc:
        log(f"  synthesis skipped: {exc}")
        row.update(synth_area=None, area_unit=None, fmax_mhz=None)

    cost = estimate(design)
    g = gemm_cycles(design, *DEMO_GEMM)
    row.update(
        model_area_um2=cost.area,
        model_energy_per_op_pj=cost.energy_per_op_pj,
        model_tops_per_w=cost.tops_per_watt,
        model_gops_per_mm2=cost.gops_per_mm2,
        gemm=f"{DEMO_GEMM[0]}x{DEMO_GEMM[1]}x{DEMO_GEMM[2]}",
        gemm_cycles=g.cycles,
        gemm_utilization=g.utilization,
    )
    if row.get("area_unit") == "um^2":
        row["synth_area_per_lane_um2"] = row["synth_area"] / (design.k * design.n)
        row["model_area_error"] = cost.area / row["synth_area"] - 1
    log(
        f"  lint {'clean' if lint.ok else 'WARNINGS'}; sim "
        f"{'PASS' if sim.passed else 'FAIL'} ({sim.vectors} vectors); area "
        f"{row.get('synth_area') or 0:,.0f} {row.get('area_unit') or ''}; model "
        f"{cost.energy_per_op_pj:.3g} pJ/op"
    )
    return row


def gate_level_energy(design, lib: str, out: str) -> dict:
    """Energy per operation of ``design``'s K=16, N=2 sibling (:data:`GATE_LEVEL_SIZE`): the
    model against OpenSTA power with gate-level simulated activity on the validation GEMM,
    as ``shiftadd validate`` measures it. Run in a worker process (progress off)."""
    set_progress(False)
    small = dataclasses.replace(design, name=f"{design.name}_gl", **GATE_LEVEL_SIZE)
    try:
        v = validate_design(small, liberty=lib, workdir=Path(out) / "gate_level" / small.name)
    except ToolError as exc:
        return {"gate_level_skipped": str(exc)}
    ops = 2 * v.gemm[0] * v.gemm[1] * v.gemm[2]
    return {
        "gate_level_k": small.k,
        "gate_level_n": small.n,
        "gate_level_gemm": "x".join(map(str, v.gemm)),
        "gate_level_passed": bool(v.rtl_passed and v.gate_level_passed),
        "gate_level_energy_per_op_pj": v.energy_sta_pj / ops,
        "gate_level_model_energy_per_op_pj": v.energy_model_pj / ops,
        "model_energy_error": v.energy_error,
    }


def _log_gate_level(row: dict, log) -> None:
    if "gate_level_skipped" in row:
        log(f"[{row['design']}] gate-level energy skipped: {row['gate_level_skipped']}")
        return
    log(
        f"[{row['design']}] sibling K={row['gate_level_k']}, N={row['gate_level_n']}: "
        f"{row['gate_level_energy_per_op_pj']:.3g} pJ/op from gate-level simulated activity, "
        f"model {row['gate_level_model_energy_per_op_pj']:.3g} pJ/op "
        f"({row['model_energy_error']:+.1%}); "
        f"gate-level simulation {'PASS' if row['gate_level_passed'] else 'FAIL'}"
    )


def run_demo(
    out: str | Path, *, vectors: int = 100_000, liberty=None, quick: bool = False, log=print
) -> dict:
    """Run the demo into folder ``out``; return a summary (paths, pass/fail, rows)."""
    out = Path(out)
    lib = resolve_liberty(liberty)
    rows: list[dict] = []
    designs = demo_designs(quick)
    with contextlib.ExitStack() as stack:
        gate_level = None
        if lib:
            # The siblings' gate-level energy runs in worker processes while the full-size
            # designs are simulated and synthesized here (the flow is mostly one core's).
            log(
                "[energy] gate-level simulated activity of K={k}, N={n} siblings, in the "
                "background".format(**GATE_LEVEL_SIZE)
            )
            pool = stack.enter_context(worker_pool(len(designs)))
            gate_level = pool.imap_unordered(
                gate_level_energy, [(d, str(lib), str(out)) for d in designs]
            )
        for design in designs:
            rows.append(_full_size(design, out, vectors, lib, log))
        if gate_level is not None:
            for position, measured in gate_level:
                rows[position].update(measured)
                _log_gate_level(rows[position], log)
    passed = all(r["passed"] and r.get("gate_level_passed", True) for r in rows)
    csv_path = out / "demo_results.csv"
    _write_csv(csv_path, rows)
    plot_path = out / "demo_area_energy.png"
    _plot(rows, plot_path)
    sweep = run_demo_sweep(out / "sweep", quick=quick, log=log)
    quality_sweep = run_quality_sweep(out / "quality_sweep", quick=quick, log=log)
    summary = {
        "passed": bool(passed),
        "csv": str(csv_path),
        "plot": str(plot_path),
        "liberty": str(lib) if lib else None,
        "rows": rows,
        "sweep": sweep,
        "quality_sweep": quality_sweep,
    }
    write_json(out / "demo_summary.json", json.loads(json.dumps(summary, default=str)))
    return summary


DEMO_SWEEP = Path(__file__).resolve().parent.parent / "examples" / "sweeps" / "demo_llama.toml"


def run_demo_sweep(out: Path, *, quick: bool = False, log=print) -> dict:
    """The demo's last stage: the design-space sweep of every engine over the layers of
    Llama-2-7B decoding one token, its Pareto front and plots."""
    spec = load_sweep_spec(DEMO_SWEEP)
    log(
        f"[sweep] {spec.points:,} design points x {len(spec.layers)} GEMMs of "
        f"{spec.name} (local processes)"
    )
    return _sweep_stage(spec, out, quick, ("pareto", "quality", "breakdown", "roofline"), log)


DEMO_QUALITY_SWEEP = DEMO_SWEEP.parent / "minilm_quality.toml"


def run_quality_sweep(out: Path, *, quick: bool = False, log=print) -> dict:
    """The demo's quality stage: engines and number formats on the real all-MiniLM-L6-v2
    checkpoint, each point scored by its sentence-embedding cosine, a floor on it, the front
    over (area, energy, quality) and the energy-against-quality plot. ``quick`` keeps only
    the adder-tree engines (the shift-add formats take most of the scoring time)."""
    data = read_design_file(DEMO_QUALITY_SWEEP)
    if quick:
        data["engines"] = [e for e in data["engines"] if e["arch"] == "adder_tree"]
    spec = parse_sweep_spec(data, source=str(DEMO_QUALITY_SWEEP))
    log(
        f"[quality sweep] {spec.points:,} design points, {len(spec.formats())} number "
        f"formats scored on {spec.quality_source.name if spec.quality_source else '-'}"
    )
    return _sweep_stage(spec, out, quick, ("quality", "pareto"), log)


def _sweep_stage(spec, out: Path, quick: bool, kinds, log) -> dict:
    try:
        check_sweep_folder(out, spec.digest)
    except InputError as exc:
        if "holds a different sweep" not in str(exc):
            raise
        # The demo's own folder from an earlier version of its spec: start it afresh.
        log(f"  {out} holds an earlier demo sweep: replaced")
        shutil.rmtree(out)
    result = run_sweep(spec, out, workers=1 if quick else None, progress=False)
    points = pd.read_parquet(out / "points.parquet")
    objectives = [("area_mm2", "min"), ("energy_per_token_uj", "min"), ("quality", "max")]
    front = pareto_front(points, objectives)
    timing = timing_summary(points, spec.options["timing"])
    quality = quality_summary(points, spec)
    plots = [p for kind in kinds for p in plot_results(out, kind)]
    best = front.sort_values("energy_per_token_uj").iloc[0]
    top = front.sort_values("quality").iloc[-1]
    # One unit for both figures, the one that reads best for them (as the plots choose).
    unit, scale = energy_unit([best["energy_per_token_uj"], top["energy_per_token_uj"]])
    log(
        f"  {result['points']:,} points in {result['seconds']:.1f} s; Pareto front (area, "
        f"energy, quality) {len(front)} points; lowest energy "
        f"{best['energy_per_token_uj'] / scale:,.1f} {unit}/token ({best['arch']} "
        f"{best['weight_format']}/{best['act_format']}, quality {best['quality']:.3f}); "
        f"best quality {top['quality']:.3f} ({top['arch']} {top['weight_format']}/"
        f"{top['act_format']}, {top['energy_per_token_uj'] / scale:,.1f} {unit}/token)"
    )
    log(f"  timing: {timing['text']}")
    log(f"  quality: {quality['text']}")
    return {
        "points": int(result["points"]),
        "seconds": float(result["seconds"]),
        "pareto_points": int(len(front)),
        "plots": plots,
        "results": str(out / "points.parquet"),
        "pareto_archs": sorted(map(str, front["arch"].unique())),
        "timing": timing,
        "quality": quality,
    }


def _write_csv(path: Path, rows: list[dict]) -> None:
    with atomic_path(path) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g")


def _plot(rows: list[dict], path: Path) -> None:
    # deferred: the backend is chosen before pyplot loads, only when a plot is drawn
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: after the backend is chosen
    from matplotlib.ticker import FuncFormatter

    modes = [r["mode"] for r in rows]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.38
    lanes = [r["k"] * r["n"] for r in rows]

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    # Minor ticks labelled at 2x and 5x only, so labels do not crowd near a decade.
    sparse = FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else "")

    def bars(ax, measured, measured_label, model, ylabel, title, labels):
        if all(v is not None for v in measured):
            ax.bar(x - width / 2, measured, width, label=measured_label)
            ax.bar(x + width / 2, model, width, label="analytic model")
            for xi, meas, mod in zip(x, measured, model):
                # The model's error against the measurement, over its bar.
                ax.annotate(
                    f"{mod / meas - 1:+.0%}",
                    (xi + width / 2, mod),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        else:
            ax.bar(x, model, width, label="analytic model")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(sparse)
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_xticks(x, labels)
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(axis="y", alpha=0.3, which="both")
        ax.margins(y=0.15)

    k, n = rows[0]["k"], rows[0]["n"]
    um2 = [r.get("area_unit") == "um^2" for r in rows]
    bars(
        axes[0],
        [r["synth_area"] / n if ok else None for r, n, ok in zip(rows, lanes, um2)],
        "synthesized hierarchically (IHP SG13G2)",
        [r["model_area_um2"] / n for r, n in zip(rows, lanes)],
        "area per lane (um$^2$)",
        f"Area per multiply-accumulate lane (K={k}, N={n})",
        [f"{m}\n(K={k}, N={n})" for m in modes],
    )
    if all(r.get("gate_level_energy_per_op_pj") for r in rows):
        gk, gn = rows[0]["gate_level_k"], rows[0]["gate_level_n"]
        bars(
            axes[1],
            [r["gate_level_energy_per_op_pj"] for r in rows],
            "OpenSTA, gate-level simulated activity",
            [r["gate_level_model_energy_per_op_pj"] for r in rows],
            "energy per operation (pJ)",
            f"Energy per operation, K={gk}, N={gn} siblings\n(validation GEMM, random data)",
            [f"{m}\n(K={gk}, N={gn})" for m in modes],
        )
    else:
        bars(
            axes[1],
            [None] * len(rows),
            "",
            [r["model_energy_per_op_pj"] for r in rows],
            "energy per operation (pJ)",
            f"Energy per operation, model only (K={k}, N={n};\nno liberty: nothing measured)",
            [f"{m}\n(K={k}, N={n})" for m in modes],
        )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    with atomic_path(path.with_suffix(".svg")) as tmp:
        fig.savefig(tmp, format="svg")
    plt.close(fig)
