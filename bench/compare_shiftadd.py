"""Benchmark: shift-add (ShiftAddLLM) engines against multiplier arrays of equal throughput.

Part 1 (synthesis, slow): every design below is generated, synthesized with Yosys + ABC on
the IHP SG13G2 liberty (``SHIFTADD_LIBERTY``) and timed and powered with OpenSTA at 10 ns
and data activity 0.5 (shift-add engines: weight transfers streaming, tables held;
multiplier arrays: activations streaming, weights held), and priced with the analytic model.
All designs consume 64 weights per cycle:

* shift-add engines, ``q`` = 2, 3, 4 and ``mu`` = 4 (16 columns) and 8 (8 columns), 3-term
  APoT scales with 4-bit shifts (the quantizer's defaults), barrel shifters, 8-bit signed
  activations, one table slot, one pipeline register;
* the foundation's adder-tree array in ``mac`` mode with ``k = mu`` and ``n = columns``
  (int8 x int8 and int8 x int4), one pipeline register;
* three more shift-add points at ``mu`` = 4, ``q`` = 3: power-of-two scales (1 term),
  constant scales (shifts as wiring), and ``mu`` = 2 (32 columns).

Part 2 (seconds): energy of the linear layers of Llama-2-7B and OPT-6.7B (decode at batch 1
with a 2048-token context, and a 2048-token prefill) on FP16, int8 and shift-add engines,
by operation counts with ShiftAddLLM's 45 nm figures, and from our engines' bills of
materials at 130 nm (IHP, calibrated) and 45 nm (Horowitz table); DRAM at 200 pJ per
16-bit access (ShiftAddLLM), with Horowitz's 1.3 and 2.6 nJ per 64 bits as sensitivity.

Run (repository root; about 20 minutes for part 1 on the 2-core reference machine)::

    SHIFTADD_LIBERTY=/work/shared/pdk/ihp-sg13g2/sg13g2_stdcell_typ_1p20V_25C.lib \\
        nice -n 10 .venv/bin/python bench/compare_shiftadd.py

Writes ``bench/results/compare_shiftadd.csv`` (part 1), ``compare_shiftadd_layers.csv``
(part 2), ``compare_shiftadd.json`` (both, with tool versions and timings),
``compare_shiftadd.md`` (the tables of ``docs/shiftadd_engine.md``) and
``compare_shiftadd.png``. ``--resume`` keeps designs already in the JSON file (same design
hash); ``--skip-synth`` redoes part 2 only; ``--quick`` synthesizes small stand-ins.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shiftadd._io import atomic_path, write_json
from shiftadd.design import AdderTreeDesign, ShiftAddDesign
from shiftadd.models.cost import bill_of_materials, estimate
from shiftadd.models.shiftadd import cost as sa_cost
from shiftadd.models.shiftadd import study as sa_study
from shiftadd.models.units import load_unit_table
from shiftadd.rtl_gen.synth import synthesize
from shiftadd.rtl_gen.tools import resolve_liberty, tool_versions
from shiftadd.workloads import gemm_table, load_model_config

K_OUT = 4096  # dot-product length of "one output element" (a Llama-2-7B q_proj row)
N_SHARE = 4096  # output rows sharing each table in that layer


def designs(quick: bool = False) -> list:
    """The synthesized design points (see the module docstring)."""
    out = []
    grid = [(4, 16), (8, 8)] if not quick else [(2, 2), (4, 2)]
    qs = (2, 3, 4) if not quick else (2, 3)
    for mu, cols in grid:
        for q in qs:
            out.append(
                ShiftAddDesign(
                    name=f"sa_q{q}_mu{mu}",
                    mu=mu,
                    q=q,
                    terms=3,
                    shift_bits=4,
                    columns=cols,
                    pipeline_stages=1,
                )
            )
        for wb in (8, 4):
            out.append(
                AdderTreeDesign(
                    name=f"mac_int{wb}_k{mu}n{cols}",
                    mode="mac",
                    k=mu,
                    n=cols,
                    act_bits=8,
                    weight_bits=wb,
                    pipeline_stages=1,
                )
            )
    mu, cols = grid[0]
    out += [
        ShiftAddDesign(
            name=f"sa_q3_mu{mu}_pow2",
            mu=mu,
            q=3,
            terms=1,
            shift_bits=4,
            columns=cols,
            pipeline_stages=1,
        ),
        ShiftAddDesign(
            name=f"sa_q3_mu{mu}_const",
            mu=mu,
            q=3,
            terms=1,
            shifter="constant",
            columns=cols,
            pipeline_stages=1,
        ),
    ]
    if not quick:
        out.append(
            ShiftAddDesign(
                name="sa_q3_mu2", mu=2, q=3, terms=3, shift_bits=4, columns=32, pipeline_stages=1
            )
        )
    return out


def _weights_per_cycle(d) -> int:
    return d.weights_per_cycle if isinstance(d, ShiftAddDesign) else d.k * d.n


def describe(d) -> dict:
    if isinstance(d, ShiftAddDesign):
        return {
            "design": d.name,
            "kind": "shiftadd",
            "mu": d.mu,
            "q": d.q,
            "terms": d.terms,
            "shifter": d.shifter,
            "columns": d.columns,
            "weight_bits": d.q,
            "weights_per_cycle": d.weights_per_cycle,
        }
    return {
        "design": d.name,
        "kind": f"mac int{d.weight_bits}",
        "mu": d.k,
        "q": None,
        "terms": None,
        "shifter": None,
        "columns": d.n,
        "weight_bits": d.weight_bits,
        "weights_per_cycle": d.k * d.n,
    }


def synth_row(d, liberty, workdir: Path) -> dict:
    """Synthesis, timing and OpenSTA power of one design."""
    t0 = time.perf_counter()
    r = synthesize(d, liberty=liberty, clock_ns=10.0, data_activity=0.5, workdir=workdir / d.name)
    seconds = time.perf_counter() - t0
    row = describe(d)
    row.update(
        {
            "design_hash": d.design_hash,
            "cells": r.cells,
            "sequential_cells": r.sequential_cells,
            "area_um2": r.area,
            "fmax_mhz": r.fmax_mhz,
            "power_mw_at_100mhz": r.power_mw["total"],
            "energy_per_cycle_pj": r.energy_per_cycle_pj,
            "energy_per_weight_pj": r.energy_per_cycle_pj / _weights_per_cycle(d),
            "abc_effort": r.effort,
            "synth_seconds": seconds,
        }
    )
    return row


def model_fields(d, row: dict) -> dict:
    """The analytic model beside a synthesized row (recomputed on every run: the unit
    table may have been recalibrated since the synthesis)."""
    model = estimate(d, clock_ns=10.0)
    build = sa_cost.lut_build_energy(d) if isinstance(d, ShiftAddDesign) else 0.0
    e_weight = row["energy_per_weight_pj"]
    flops = sum(i.count for i in bill_of_materials(d) if i.unit in ("dff", "dffe"))
    return {
        "lut_build_pj_model": build,
        "energy_per_output_pj": K_OUT * e_weight
        + (K_OUT / d.mu * build / N_SHARE if isinstance(d, ShiftAddDesign) else 0.0),
        "model_area_um2": model.area,
        "model_energy_per_cycle_pj": model.energy_per_cycle_pj,
        "area_model_vs_synth": model.area / row["area_um2"] - 1.0,
        "energy_model_vs_sta": model.energy_per_cycle_pj / row["energy_per_cycle_pj"] - 1.0,
        "model_flops": flops,
        # LLM decoding uses every weight once: the model's energy with the multiplier
        # array's weight registers reloaded every cycle (shift-add: unchanged)
        "energy_per_weight_streaming_model_pj": sum(
            sa_study.engine_energy_per_cycle(d, streaming_weights=True).values()
        )
        / _weights_per_cycle(d),
    }


def layer_rows() -> list[dict]:
    """Part 2: the layer energy tables."""
    rows = []
    dram = sa_study.DRAM_PJ_PER_BIT
    hw = [
        (
            ShiftAddDesign(
                name=f"sa_q{q}_mu{mu}", mu=mu, q=q, terms=3, columns=cols, pipeline_stages=1
            ),
            AdderTreeDesign(
                name=f"mac_int8_k{mu}n{cols}", mode="mac", k=mu, n=cols, pipeline_stages=1
            ),
        )
        for q in (2, 3)
        for mu, cols in ((4, 16), (8, 8))
    ]
    for model in ("llama-2-7b", "opt-6.7b"):
        cfg = load_model_config(model)
        for phase in ("decode", "prefill"):
            # 2048 tokens of prompt and of decode context, as recorded (not the defaults)
            table = gemm_table(cfg, phase, seq=2048)
            for q in (2, 3):
                for dname, dpj in dram.items():
                    df = sa_study.layer_energy_ops(table, q=q, mu=8, terms=3, dram_pj_per_bit=dpj)
                    for engine, r in df.iterrows():
                        if engine != "shiftadd" and q == 3:
                            continue  # the multiplier engines do not depend on q
                        rows.append(
                            {
                                "model": model,
                                "phase": phase,
                                "method": "op counts",
                                "units": df.attrs["units"],
                                "node": df.attrs["node"],
                                "dram": dname,
                                "engine": engine,
                                "config": f"q{q} mu8 t3" if engine == "shiftadd" else "",
                                **_energies(r, "fp16"),
                            }
                        )
            for d, b in hw:
                for ut in ("ihp-sg13g2", "horowitz-45nm"):
                    df = sa_study.layer_energy_hw(
                        table, d, b, unit_table=ut, dram_pj_per_bit=dram["shiftaddllm"]
                    )
                    ref = "fp16" if "fp16" in df.index else "int8"
                    for engine, r in df.iterrows():
                        rows.append(
                            {
                                "model": model,
                                "phase": phase,
                                "method": "engine BOM",
                                "units": ut,
                                "node": df.attrs["node"],
                                "dram": "shiftaddllm",
                                "engine": engine,
                                "config": {"shiftadd": d.name, "int8": b.name}.get(engine, ""),
                                **_energies(r, ref),
                            }
                        )
    out = pd.DataFrame(rows).drop_duplicates(
        subset=["model", "phase", "method", "units", "dram", "engine", "config"]
    )
    return out.to_dict("records")


def _energies(r, ref: str) -> dict:
    keys = (
        "mult",
        "add",
        "shift",
        "lookup",
        "lut_build",
        "registers",
        "dram_weights",
        "dram_act",
        "compute",
        "memory",
        "total",
    )
    out = {f"{k}_uj": float(r.get(k, 0.0)) / 1e6 for k in keys}
    out["weight_bits"] = float(r["weight_bits"])
    out["saving_vs"] = ref
    out["saving"] = float(r[f"vs_{ref}"])
    return out


def markdown(rows: list[dict], layers: list[dict]) -> str:
    """The tables of ``docs/shiftadd_engine.md`` (synthesis, then layer energy)."""
    out = [
        "| design | weights | area mm^2 (model) | fmax MHz | pJ/weight (model) "
        "| pJ/weight, weights streaming (model) | energy per output, K=4096 | flops |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        what = (
            f"q={r['q']} mu={r['mu']} t={r['terms']} {r['shifter']}, {r['columns']} cols"
            if r["kind"] == "shiftadd"
            else f"{r['kind']}, k={r['mu']} n={r['columns']}"
        )
        out.append(
            f"| {r['design']} | {what} | {r['area_um2'] / 1e6:.3f} "
            f"({r['area_model_vs_synth']:+.0%}) | {r['fmax_mhz']:.0f} "
            f"| {r['energy_per_weight_pj']:.2f} ({r['energy_model_vs_sta']:+.0%}) "
            f"| {r['energy_per_weight_streaming_model_pj']:.2f} "
            f"| {r['energy_per_output_pj'] / 1e3:.1f} nJ | {r['sequential_cells']} |"
        )
    out += [
        "",
        "| model | phase | method | units | engine | config | compute uJ | DRAM uJ "
        "| total uJ | bits/weight | saving vs |",
        "|---|---|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in layers:
        if r["dram"] != "shiftaddllm":
            continue
        out.append(
            f"| {r['model']} | {r['phase']} | {r['method']} | {r['units']} "
            f"| {r['engine']} | {r['config']} | {r['compute_uj']:,.0f} "
            f"| {r['memory_uj']:,.0f} | {r['total_uj']:,.0f} | {r['weight_bits']:.3f} "
            f"| {r['saving']:+.1%} {r['saving_vs']} |"
        )
    return "\n".join(out) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.DataFrame(rows)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    colors = ["tab:blue" if k == "shiftadd" else "tab:gray" for k in df["kind"]]
    x = np.arange(len(df))
    axes[0].bar(x, df["energy_per_weight_pj"], color=colors, label="OpenSTA")
    axes[0].plot(
        x,
        df["model_energy_per_cycle_pj"] / df["weights_per_cycle"],
        "k_",
        markersize=14,
        label="analytic model",
    )
    axes[0].set_ylabel("energy per weight (pJ), 130 nm, 100 MHz")
    axes[1].bar(x, df["area_um2"] / 1e6, color=colors)
    axes[1].plot(x, df["model_area_um2"] / 1e6, "k_", markersize=14)
    axes[1].set_ylabel("area (mm^2)")
    for ax in axes:
        ax.set_xticks(x)
        ax.set_xticklabels(df["design"], rotation=60, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    fig.suptitle(
        f"Shift-add engines (blue) vs multiplier arrays (gray) of equal throughput "
        f"({int(df['weights_per_cycle'].max())} weights/cycle), IHP SG13G2"
    )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench/results/compare_shiftadd")
    ap.add_argument("--workdir", default=None, help="keep synthesis folders here")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--skip-synth", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", help="synthesize only these design names")
    args = ap.parse_args(argv)
    out = Path(args.out)
    json_path = out.with_suffix(".json")
    previous = json.loads(json_path.read_text()) if json_path.exists() else {}
    done = {r["design"]: r for r in previous.get("synthesis", [])}
    lib = resolve_liberty(None)
    rows = []
    t_start = time.perf_counter()
    if not args.skip_synth:
        if lib is None:
            print("set SHIFTADD_LIBERTY to the IHP SG13G2 liberty", file=sys.stderr)
            return 2
        import tempfile

        work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="cmp-sa-"))
        for d in designs(args.quick):
            old = done.get(d.name)
            if (args.resume and old and old.get("design_hash") == d.design_hash) or (
                args.only and d.name not in args.only and old
            ):
                rows.append(old)
                continue
            print(f"synthesizing {d.name} ...", file=sys.stderr, flush=True)
            row = synth_row(d, lib, work)
            print(
                f"  {row['cells']} cells, {row['area_um2']:,.0f} um^2, "
                f"{row['fmax_mhz']:.0f} MHz, {row['energy_per_weight_pj']:.3f} pJ/weight "
                f"({row['synth_seconds']:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
            rows.append(row)
            write_json(
                json_path,
                {
                    **previous,
                    "synthesis": rows
                    + [r for n, r in done.items() if n not in {x["design"] for x in rows}],
                },
            )
    else:
        rows = previous.get("synthesis", [])
    t_synth = time.perf_counter() - t_start
    by_name = {d.name: d for d in designs(args.quick)}
    rows = [{**r, **model_fields(by_name[r["design"]], r)} for r in rows if r["design"] in by_name]
    if rows:
        pd.DataFrame(rows).to_csv(out.with_suffix(".csv"), index=False, float_format="%.6g")
        plot(rows, out.with_suffix(".png"))
    t0 = time.perf_counter()
    layers = layer_rows()
    t_layers = time.perf_counter() - t0
    pd.DataFrame(layers).to_csv(
        out.parent / (out.name + "_layers.csv"), index=False, float_format="%.6g"
    )
    from shiftadd._io import atomic_write

    atomic_write(out.with_suffix(".md"), markdown(rows, layers))
    table = load_unit_table()
    write_json(
        json_path,
        {
            "command": "SHIFTADD_LIBERTY=... nice -n 10 .venv/bin/python bench/compare_shiftadd.py"
            + (" --quick" if args.quick else ""),
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "tools": tool_versions(),
            "liberty": str(lib) if lib else None,
            "unit_table": {k: table.meta.get(k) for k in ("name", "created", "method")},
            "conditions": {
                "clock_ns": 10.0,
                "data_activity": 0.5,
                "energy_per_output": f"K = {K_OUT} weights, each table shared by "
                f"N = {N_SHARE} rows (LUT build from the model)",
            },
            "seconds": {
                "synthesis_this_run": t_synth,
                "layers": t_layers,
                "synthesis_all_designs": sum(r["synth_seconds"] for r in rows),
            },
            "peak_rss_mb_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "synthesis": rows,
            "layers": layers,
        },
    )
    print(
        f"wrote {out.with_suffix('.csv')}, {out.parent / (out.name + '_layers.csv')}, "
        f"{json_path}, {out.with_suffix('.png')}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
