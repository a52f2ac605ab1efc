"""Benchmark: threshold-logic PE arrays (TULIP-style) against two binary baselines, every row
priced by one power method: OpenSTA power with gate-level simulated activity.

Issue 17, steps 4 and 5. At fan-in K = 64 and the common 10 ns clock, each design is
synthesized (Yosys + ABC, IHP SG13G2), its mapped netlist is simulated on a binary GEMM
(cocotb + Verilator, checked against the golden model), and OpenSTA prices the power with
every cell pin annotated from that simulation, as ``shiftadd validate`` does
(:func:`shiftadd.flows.activity.measure_activity`, then
:func:`shiftadd.rtl_gen.synth.synthesize` with ``activity``). OpenSTA's vectorless figure
(port activity 0.5 propagated) is kept beside it in its own, labelled column only.

Designs:

* threshold array, pooled PE (``pe = "pooled"``, ``examples/threshold_k64.toml``) and
  TULIP-like ring PE (``pe = "tulip"``, ``examples/threshold_tulip_k64.toml``), each
  **ungated** and **gated** (``clock_gating = true``: ``examples/threshold_gated_k64.toml``,
  ``examples/threshold_tulip_gated_k64.toml``; one ``sg13g2_lgcp_1`` per neuron register or
  PE memory, one for the data registers, one for the result), each measured at two PE
  counts; the difference gives the per-PE and the shared energy and area, scaled to any PE
  count ``P`` (the array is ``P`` identical PEs plus a shared instruction register and
  decoders);
* the MAC-based baseline of TULIP's kind: the adder tree with ``accumulate = true``
  (``examples/bnn_mac_k64.toml``: 8 lanes, one 64-bit chunk per lane per cycle, weights
  streamed, multi-bit accumulators), measured on a K = 64 GEMM (one chunk per output) and on
  a K = 1152 GEMM (18 chunks per output: the accumulating steady state);
* the stronger baseline: the bare XNOR-popcount adder tree (``mode = "xnor"``,
  ``threshold = true``, ``k = 64``, ``n = 8``: one 64-input vector per cycle, weights held),
  the static-CMOS floor.

**Only the threshold side is gated.** Both baselines are ungated (labelled so): the adder
tree has no clock-gating option. Gating the MAC baseline would change little: its operand
registers (64 activation bits, 8 x 64 weight bits, offsets, flips, tags), its pipeline
registers and its result register load on every busy cycle (a new chunk every cycle), so a
gate on their write enable would stay open; only the accumulators hold, and only on the one
cycle in ``K / 64`` that carries the ``last`` chunk (always, at one chunk per output). The
bare tree is different: its 8 x 64 weight registers, offsets and flips are written once per
weight load and hold while the input vectors stream, so gating them would remove most of
their clock energy and make the stronger baseline cheaper still (not measured here; an
estimate is in docs/threshold.md).

Derived: energy per binary neuron evaluation and area at equal throughput (the threshold
array's ``P`` set to the baseline's evaluations per cycle) and at equal area; energy per
classification for the binary layers of ``examples/workloads/bnn_mlp_mnist.csv`` and
``bnn_conv_cifar10.csv`` with SRAM priced from the IHP macros (:mod:`shiftadd.models.memory`)
on both sides; the break-even all-in energy per evaluation a threshold array would need for
1x and for 3x against each baseline.

Run (from the repository root; 590 s of measurement on the shared 2-core machine, the
ungated designs with a warm simulator build cache; 834 s cold without the gated rows)::

    SHIFTADD_LIBERTY=../shared/pdk/ihp-sg13g2/sg13g2_stdcell_typ_1p20V_25C.lib \\
        nice -n 5 .venv/bin/python bench/compare_threshold.py

Writes ``bench/results/threshold_compare.{json,csv,png,svg}``. ``--k 256`` runs the same
comparison at fan-in 256 (``threshold_compare_k256.*``; the threshold PEs recompiled for it,
the MAC baseline taking four chunks per output, the tree 256 wide); ``--rederive`` recomputes
the derived tables, the CSV and the plot from an existing JSON without synthesis (a JSON
written before the gated rows existed is read with its labels mapped to the ungated ones).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from shiftadd._io import atomic_path, atomic_write, write_json
from shiftadd.design import AdderTreeDesign, load_design
from shiftadd.design.threshold import ThresholdDesign
from shiftadd.design.threshold_program import compile_program
from shiftadd.flows.activity import measure_activity
from shiftadd.flows.threshold_cells import write_cell_presets
from shiftadd.models.adder_tree.classification import classification_energy
from shiftadd.models.memory import buffer_for
from shiftadd.models.threshold.cost import threshold_estimate
from shiftadd.rtl_gen.synth import synthesize
from shiftadd.rtl_gen.tools import resolve_liberty
from shiftadd.workloads.interchange import resolve_workload

K = 64
CLOCK_NS = 10.0
ROOT = Path(__file__).resolve().parents[1]
POOLED_FILE = ROOT / "examples/threshold_k64.toml"
TULIP_FILE = ROOT / "examples/threshold_tulip_k64.toml"
POOLED_GATED_FILE = ROOT / "examples/threshold_gated_k64.toml"
TULIP_GATED_FILE = ROOT / "examples/threshold_tulip_gated_k64.toml"
MAC_FILE = ROOT / "examples/bnn_mac_k64.toml"
WORKLOADS = (
    ROOT / "examples/workloads/bnn_mlp_mnist.csv",
    ROOT / "examples/workloads/bnn_conv_cifar10.csv",
)
PE_POINTS = (8, 16)
#: The activation (data) buffer's word, the same 64-bit macro word on both sides.
ACT_WORD_BITS = 64

MAC_LABEL = "MAC-based baseline (adder tree, accumulate), ungated"
TREE_LABEL = "bare XNOR adder tree (stronger baseline), ungated"
POOLED_LABEL = "threshold array, pooled PE, ungated"
POOLED_GATED_LABEL = "threshold array, pooled PE, gated"
TULIP_LABEL = "threshold array, TULIP-like PE, ungated"
TULIP_GATED_LABEL = "threshold array, TULIP-like PE, gated"
#: Threshold designs in table order, with their design files.
THRESHOLD_FILES = {
    POOLED_LABEL: POOLED_FILE,
    POOLED_GATED_LABEL: POOLED_GATED_FILE,
    TULIP_LABEL: TULIP_FILE,
    TULIP_GATED_LABEL: TULIP_GATED_FILE,
}
#: Short names for table cells and plot ticks.
SHORT = {
    TREE_LABEL: "bare XNOR tree, ungated",
    MAC_LABEL: "MAC-based baseline, ungated",
    POOLED_LABEL: "pooled, ungated",
    POOLED_GATED_LABEL: "pooled, gated",
    TULIP_LABEL: "TULIP-like, ungated",
    TULIP_GATED_LABEL: "TULIP-like, gated",
}
#: Labels of JSON files written before the gated rows existed (every row was ungated).
OLD_LABELS = {
    "MAC-based baseline (adder tree, accumulate)": MAC_LABEL,
    "bare XNOR adder tree (stronger baseline)": TREE_LABEL,
    "threshold array, pooled PE": POOLED_LABEL,
    "threshold array, TULIP-like PE": TULIP_LABEL,
}


def tree_design(k: int = K) -> AdderTreeDesign:
    """The bare XNOR-popcount tree: 8 neurons of fan-in ``k``, weights held, 1 stage."""
    return AdderTreeDesign(
        name=f"cmp_xnor_k{k}_n8",
        mode="xnor",
        k=k,
        n=8,
        threshold=True,
        pipeline_stages=1,
        clock_ns=CLOCK_NS,
    )


def threshold_at(base: ThresholdDesign, pes: int) -> ThresholdDesign:
    return dataclasses.replace(base, name=f"{base.name}_p{pes}", pes=pes)


def measure(design, gemm, lib, evaluations: int, log=print) -> dict:
    """Synthesize ``design``, simulate its netlist on ``gemm`` and price it in OpenSTA
    with that activity; the vectorless figure of the same netlist is kept beside it."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shiftadd-cmp-") as tmp:
        mapped = synthesize(design, liberty=lib, workdir=tmp)
        switching, gates = measure_activity(
            design, netlist=mapped.netlist, liberty=lib, gemm=gemm, seed=0
        )
        powered = synthesize(design, liberty=lib, workdir=tmp, activity=switching)
    if not powered.power_mw:
        raise RuntimeError(f"OpenSTA reported no power for {design.name}")
    energy = powered.power_mw["total"] * CLOCK_NS * switching.cycles
    out = {
        "design": design.name,
        "gemm": list(gemm),
        "evaluations": evaluations,
        "cells": mapped.cells,
        "flip_flops": mapped.sequential_cells,
        # Integrated clock gates the design instantiates (0 on every ungated design).
        "clock_gates": int(getattr(design, "clock_gates", 0)),
        "area_um2": mapped.area,
        "critical_path_ns": mapped.critical_path_ns,
        "simulated_cycles": switching.cycles,
        "gate_level_passed": bool(gates.passed),
        "annotated_pins": int((powered.activity or {}).get("annotated_pins", 0)),
        "same_netlist": powered.area == mapped.area,
        "energy_gemm_pj": energy,
        "energy_per_cycle_pj": energy / switching.cycles,
        "energy_per_evaluation_pj": energy / evaluations,
        "power_mw": powered.power_mw,
        "vectorless_energy_per_cycle_pj": mapped.energy_per_cycle_pj,
        "seconds": time.perf_counter() - t0,
    }
    log(
        f"  {design.name}: {mapped.cells} cells, {mapped.area:,.0f} um^2, GEMM {gemm} "
        f"{switching.cycles} cycles, gate-level {'pass' if gates.passed else 'FAIL'}, "
        f"{out['energy_per_cycle_pj']:.1f} pJ/cycle gate-level "
        f"({mapped.energy_per_cycle_pj:.1f} vectorless), "
        f"{out['energy_per_evaluation_pj']:.2f} pJ/evaluation ({out['seconds']:.0f} s)"
    )
    return out


def measure_threshold(base: ThresholdDesign, lib, k: int = K, log=print) -> dict:
    """Per-PE and shared area and energy of a threshold array from two PE counts.

    The energy per full-rate cycle at ``P`` PEs is the measured energy per evaluation times
    ``P / S`` (``S`` program steps per evaluation per PE), so fill and drain of the GEMM are
    charged to the evaluations, as on the baselines.
    """
    if k != base.k:
        # The example's PE recompiled for fan-in k, with the local memory that program needs.
        need = compile_program(k, pe=base.pe).memory_used
        depth = {"neuron_register_bits": need} if base.ring else {"memory_bits": need}
        base = dataclasses.replace(base, name=f"{base.name}_k{k}", k=k, **depth)
    prog = base.program_for()
    steps = prog.steps
    points = []
    for p in PE_POINTS:
        d = threshold_at(base, p)
        gemm = (2 * p, 4, k)  # two runs of four output neurons per PE: every PE busy
        m = measure(d, gemm, lib, evaluations=gemm[0] * gemm[1], log=log)
        m["pes"] = p
        m["steps"] = steps
        m["energy_per_full_rate_cycle_pj"] = m["energy_per_evaluation_pj"] * p / steps
        m["vectorless_energy_per_evaluation_pj"] = m["vectorless_energy_per_cycle_pj"] * steps / p
        points.append(m)
    a, b = points
    dp = b["pes"] - a["pes"]

    def split(key):
        per = (b[key] - a[key]) / dp
        return per, a[key] - a["pes"] * per

    pe_area, shared_area = split("area_um2")
    pe_e, shared_e = split("energy_per_full_rate_cycle_pj")
    pe_v, shared_v = split("vectorless_energy_per_cycle_pj")
    return {
        "pe": base.pe,
        "clock_gating": bool(base.clock_gating),
        "clock_gates_per_pe": (base.neurons if base.ring else 1) if base.clock_gating else 0,
        "steps": steps,
        "memory_bits": prog.memory_used,
        "instruction_bits": base.instruction_bits,
        "pe_area_um2": pe_area,
        "shared_area_um2": shared_area,
        "pe_energy_per_cycle_pj": pe_e,
        "shared_energy_per_cycle_pj": shared_e,
        "pe_vectorless_energy_per_cycle_pj": pe_v,
        "shared_vectorless_energy_per_cycle_pj": shared_v,
        "points": points,
    }


def threshold_at_p(tl: dict, pes: float) -> dict:
    """Area, evaluations per cycle and energy per evaluation of ``pes`` PEs (linear in P)."""
    s = tl["steps"]
    e_cycle = tl["shared_energy_per_cycle_pj"] + pes * tl["pe_energy_per_cycle_pj"]
    v_cycle = (
        tl["shared_vectorless_energy_per_cycle_pj"] + pes * tl["pe_vectorless_energy_per_cycle_pj"]
    )
    return {
        "pes": pes,
        "area_um2": tl["shared_area_um2"] + pes * tl["pe_area_um2"],
        "evaluations_per_cycle": pes / s,
        "energy_per_evaluation_pj": e_cycle * s / pes,
        "vectorless_energy_per_evaluation_pj": v_cycle * s / pes,
    }


def scaled_rows(tls: dict, bases: dict) -> list[dict]:
    """Each threshold PE against each baseline, at equal throughput and at equal area."""
    rows = []
    for tlabel, tl in tls.items():
        for blabel, b in bases.items():
            p_thr = b["evaluations_per_cycle"] * tl["steps"]
            p_area = (b["area_um2"] - tl["shared_area_um2"]) / tl["pe_area_um2"]
            for cond, p in (("equal throughput", p_thr), ("equal area", p_area)):
                p_int = math.ceil(p - 1e-9) if cond == "equal throughput" else math.floor(p)
                if p_int < 1:
                    rows.append(
                        {
                            "threshold": tlabel,
                            "baseline": blabel,
                            "condition": cond,
                            "pes": 0,
                            "note": "not even one PE fits the baseline's area",
                        }
                    )
                    continue
                t = threshold_at_p(tl, p_int)
                rows.append(
                    {
                        "threshold": tlabel,
                        "baseline": blabel,
                        "condition": cond,
                        **t,
                        "baseline_area_um2": b["area_um2"],
                        "baseline_evaluations_per_cycle": b["evaluations_per_cycle"],
                        "baseline_energy_per_evaluation_pj": b["energy_per_evaluation_pj"],
                        "area_vs_baseline": t["area_um2"] / b["area_um2"],
                        "throughput_vs_baseline": t["evaluations_per_cycle"]
                        / b["evaluations_per_cycle"],
                        "energy_vs_baseline": t["energy_per_evaluation_pj"]
                        / b["energy_per_evaluation_pj"],
                        "vectorless_energy_vs_baseline": t["vectorless_energy_per_evaluation_pj"]
                        / b["vectorless_energy_per_evaluation_pj"],
                        # TULIP's claim: throughput >= baseline AND area <= baseline.
                        "tulip_region_nonempty": p_area >= p_thr,
                    }
                )
    return rows


def _words(bits, word):
    return -(-np.asarray(bits, dtype=np.int64) // word)


def threshold_classification(tl: dict, pes: int, workload, pe: str) -> dict:
    """Energy of one classification on a threshold array of ``pes`` PEs.

    Compute: the measured per-PE and shared energy per cycle (the measured fan-in) times the
    cycles of each layer at full utilization (``M N`` evaluations of ``S(K)`` steps over
    ``pes`` PEs, ``S(K)`` from the compiler), i.e. with a batch of images large enough to
    fill the PEs. SRAM: the instruction stream (``S(K)`` words of the instruction per run
    of the ``pes`` PEs; every output neuron has its own program, since its weights are the
    programme's input inversions), the data buffer (every PE reads its row's ``K`` bits for
    every output neuron, in 64-bit words), output bits written back in 64-bit words, and
    the leakage of both buffers over the layer's cycles. All programs of all layers are
    resident (as the baseline's weights are).
    """
    df = resolve_workload(workload)
    m, n, k = (df[c].to_numpy(np.int64) for c in ("M", "N", "K"))
    count = df["count"].to_numpy(np.int64)
    steps = np.array([compile_program(int(kk), pe=pe).steps for kk in k], dtype=np.int64)
    ib = tl["instruction_bits"]
    evals = m * n
    # A batch of inputs large enough that every PE is busy: per classification the layer
    # takes evals / pes runs (all PEs run the same neuron's program on different inputs).
    runs = evals / pes
    cycles = runs * steps
    e_cycle = tl["shared_energy_per_cycle_pj"] + pes * tl["pe_energy_per_cycle_pj"]
    compute = cycles * e_cycle
    prog_bits = int((n * steps * ib * count).sum())
    ibuf = buffer_for(prog_bits, ib)
    act = buffer_for(int((m * (k + n)).max()), ACT_WORD_BITS)
    instr_read = runs * steps * ibuf.read_pj_per_word
    data_read = evals * _words(k, ACT_WORD_BITS) * act.read_pj_per_word
    out_write = _words(evals, ACT_WORD_BITS) * act.write_pj_per_word
    leak = (ibuf.leakage_mw + act.leakage_mw) * cycles * CLOCK_NS
    parts = {
        "compute_pj": compute * count,
        "instruction_read_pj": instr_read * count,
        "data_read_pj": data_read * count,
        "output_write_pj": out_write * count,
        "sram_leakage_pj": leak * count,
    }
    return _summary(
        parts,
        evals * count,
        cycles * count,
        ibuf.area_um2 + act.area_um2,
        {"instruction_buffer_bits": prog_bits, "steps_per_layer": steps.tolist()},
    )


def _summary(parts, evals, cycles, sram_area, extra) -> dict:
    total = {k: float(np.sum(v)) for k, v in parts.items()}
    compute = total["compute_pj"]
    sram = sum(v for k, v in total.items() if k != "compute_pj")
    ev = int(np.sum(evals))
    return {
        **total,
        "sram_pj": sram,
        "total_pj": compute + sram,
        "evaluations": ev,
        "cycles": float(np.sum(cycles)),
        "compute_per_evaluation_pj": compute / ev,
        "all_in_per_evaluation_pj": (compute + sram) / ev,
        "sram_area_um2": sram_area,
        **extra,
    }


def mac_classification(mac, e_cycle: float, workload) -> dict:
    """The MAC baseline: SRAM terms of :func:`classification_energy` (IHP macros), compute
    replaced by the measured gate-level energy per cycle times the layer's cycles."""
    ce = classification_energy(mac, workload)
    lay = ce.layers
    parts = {
        "compute_pj": lay["cycles"].to_numpy() * e_cycle * lay["count"].to_numpy(),
        "act_read_pj": lay["act_read_pj"].to_numpy(),
        "weight_read_pj": lay["weight_read_pj"].to_numpy(),
        "act_write_pj": lay["act_write_pj"].to_numpy(),
        "sram_leakage_pj": lay["sram_leakage_pj"].to_numpy(),
    }
    evals = (lay["M"] * lay["N"] * lay["count"]).to_numpy()
    return _summary(parts, evals, lay["cycles"] * lay["count"], ce.area_um2, {})


def tree_classification(mac, e_eval: float, workload, k: int = K) -> dict:
    """The bare tree as a floor: its measured compute per input bit (fan-in ``k``) times each
    layer's ``M N K`` input bits, with the MAC baseline's SRAM traffic (the operands have
    to come from the same buffers)."""
    ce = classification_energy(mac, workload)
    lay = ce.layers
    kk = lay["K"].to_numpy()
    parts = {
        "compute_pj": (lay["M"] * lay["N"] * lay["count"]).to_numpy() * e_eval * kk / k,
        "act_read_pj": lay["act_read_pj"].to_numpy(),
        "weight_read_pj": lay["weight_read_pj"].to_numpy(),
        "act_write_pj": lay["act_write_pj"].to_numpy(),
        "sram_leakage_pj": lay["sram_leakage_pj"].to_numpy(),
    }
    evals = (lay["M"] * lay["N"] * lay["count"]).to_numpy()
    # A K-wide tree of n neurons: one input vector per cycle for each group of n neurons.
    cycles = (lay["M"] * -(-lay["N"] // mac.n) * lay["count"]).to_numpy()
    return _summary(parts, evals, cycles, ce.area_um2, {})


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


def break_even(classes: dict) -> list[dict]:
    """The all-in energy per evaluation a threshold array needs for 1x and 3x against each
    baseline, per workload, beside what each threshold PE achieves."""
    out = []
    for wl, by in classes.items():
        for blabel in (MAC_LABEL, TREE_LABEL):
            b = by[blabel]["all_in_per_evaluation_pj"]
            row = {
                "workload": wl,
                "baseline": blabel,
                "baseline_all_in_per_evaluation_pj": b,
                "needed_for_1x_pj": b,
                "needed_for_3x_pj": b / 3,
            }
            for tlabel in (lab for lab in by if lab not in (MAC_LABEL, TREE_LABEL)):
                t = by[tlabel]
                row[f"{tlabel}: all-in pJ"] = t["all_in_per_evaluation_pj"]
                row[f"{tlabel}: SRAM only pJ"] = t["sram_pj"] / t["evaluations"]
                row[f"{tlabel}: ratio"] = t["all_in_per_evaluation_pj"] / b
            out.append(row)
    return out


def plot(measured: list[dict], scaled: list[dict], classes: dict, path: Path, k: int = K) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, 3, figsize=(18, 6.2))
    # One hue per design; the gated threshold arrays a darker shade of their ungated hue.
    colors = {
        TREE_LABEL: "0.2",
        MAC_LABEL: "tab:green",
        POOLED_LABEL: "#9ecae1",
        POOLED_GATED_LABEL: "#08519c",
        TULIP_LABEL: "#fdae6b",
        TULIP_GATED_LABEL: "#a63603",
    }
    tick = {
        TREE_LABEL: "bare XNOR\ntree\n(ungated)",
        MAC_LABEL: "MAC-based\nbaseline\n(ungated)",
        POOLED_LABEL: "threshold,\npooled PE,\nungated",
        POOLED_GATED_LABEL: "threshold,\npooled PE,\ngated",
        TULIP_LABEL: "threshold,\nTULIP-like,\nungated",
        TULIP_GATED_LABEL: "threshold,\nTULIP-like,\ngated",
    }
    thresholds = list(dict.fromkeys(r["threshold"] for r in scaled))
    # (a) energy per evaluation at equal throughput with the MAC baseline (8 per cycle).
    ax = axes[0]
    labels, gl, vl = [], [], []
    for r in measured:
        if r["role"] == "baseline":
            labels.append(r["label"])
            gl.append(r["energy_per_evaluation_pj"])
            vl.append(r["vectorless_energy_per_evaluation_pj"])
    for r in scaled:
        if r["baseline"] == MAC_LABEL and r["condition"] == "equal throughput":
            labels.append(r["threshold"])
            gl.append(r["energy_per_evaluation_pj"])
            vl.append(r["vectorless_energy_per_evaluation_pj"])
    x = np.arange(len(labels))
    ax.bar(x - 0.2, gl, 0.4, color=[colors[s] for s in labels], label="gate-level activity")
    ax.bar(
        x + 0.2,
        vl,
        0.4,
        color="white",
        edgecolor=[colors[s] for s in labels],
        hatch="//",
        label="vectorless (reference only; charges gated\nflip-flops their clock every cycle)",
    )
    for xi, v in zip(x, gl, strict=True):
        ax.annotate(f"{v:.0f}", (xi - 0.2, v), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [tick[s] for s in labels], fontsize=7.5)
    ax.set_yscale("log")
    ax.set_ylabel("energy per binary neuron evaluation (pJ)")
    ps = "/".join(
        dict.fromkeys(
            str(r["pes"])
            for r in scaled
            if r["baseline"] == MAC_LABEL and r["condition"] == "equal throughput"
        )
    )
    epc = next(r["evaluations_per_cycle"] for r in measured if r["label"] == MAC_LABEL)
    ax.set_title(
        f"(a) equal throughput: K = {k}, {epc:g} evaluations/cycle\n"
        f"(threshold P = {ps} pooled/TULIP-like), 10 ns",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper left")
    # (b) area and energy/eval at equal throughput and equal area (vs each baseline).
    ax = axes[1]
    for r in scaled:
        if not r.get("pes"):
            continue
        marker = "o" if r["condition"] == "equal throughput" else "s"
        ax.scatter(
            r["area_um2"] * 1e-6,
            r["energy_per_evaluation_pj"],
            marker=marker,
            s=60,
            color=colors[r["threshold"]],
            edgecolors=colors[r["baseline"]],
            linewidths=2,
        )
    for r in measured:
        if r["role"] == "baseline":
            ax.scatter(
                r["area_um2"] * 1e-6,
                r["energy_per_evaluation_pj"],
                marker="*",
                s=160,
                color=colors[r["label"]],
            )
    handles = [
        Line2D([], [], marker="*", ls="", color=colors[b], ms=11, label=SHORT[b])
        for b in (TREE_LABEL, MAC_LABEL)
    ]
    handles += [
        Line2D([], [], marker="o", ls="", color=colors[t], label=f"threshold, {SHORT[t]}")
        for t in thresholds
    ]
    handles += [
        Line2D([], [], marker="o", ls="", color="white", mec="k", label="equal throughput"),
        Line2D([], [], marker="s", ls="", color="white", mec="k", label="equal area"),
    ]
    ax.legend(
        handles=handles,
        fontsize=6.5,
        title="fill: threshold design; ring: baseline matched",
        title_fontsize=6.5,
        loc="center right",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("datapath area (mm^2, no SRAM)")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylabel("energy per evaluation (pJ, gate-level)")
    ax.set_title("(b) equal throughput (o) and equal area (s)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    # (c) energy per classification, compute + SRAM, per workload.
    ax = axes[2]
    order = [TREE_LABEL, MAC_LABEL, *thresholds]
    wls = list(classes)
    w = 0.8 / len(order)
    for i, lab in enumerate(order):
        comp = [classes[wl][lab]["compute_pj"] * 1e-6 for wl in wls]
        sram = [classes[wl][lab]["sram_pj"] * 1e-6 for wl in wls]
        xs = np.arange(len(wls)) + (i - (len(order) - 1) / 2) * w
        ax.bar(xs, comp, w, color=colors[lab], label=SHORT[lab])
        ax.bar(xs, sram, w, bottom=comp, color=colors[lab], alpha=0.35, hatch="..")
    ax.set_xticks(np.arange(len(wls)), wls, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("energy per classification (uJ)")
    ax.set_title(
        "(c) per classification: compute (solid) + SRAM, IHP macros (dotted)\n"
        "threshold arrays at the MAC baseline's throughput",
        fontsize=9,
    )
    ax.legend(fontsize=6.5, loc="upper left")
    # Plain numbers on the log axes (1, 2, 5 per decade) rather than powers-of-ten labels.
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    for axis in (axes[0].yaxis, axes[1].yaxis, axes[2].yaxis, axes[1].xaxis):
        axis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1, 2, 5)))
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    fig.suptitle(
        f"Threshold-logic arrays (ungated and clock-gated) vs binary baselines (ungated), K = {k}, "
        "IHP SG13G2 130 nm, 10 ns, OpenSTA power with gate-level simulated activity",
        fontsize=10,
    )
    fig.tight_layout()
    for suffix in ("png", "svg"):
        with atomic_path(path.with_suffix("." + suffix)) as tmp:
            fig.savefig(tmp, dpi=120, format=suffix)
    plt.close(fig)


def markdown(measured, scaled, classes, be, tls=None) -> str:
    """The tables for docs/threshold.md."""
    out = [
        "| design | units | evaluations / cycle | clock gates | cells | flip-flops | "
        "area (um^2) | energy / evaluation, gate-level (pJ) | vectorless (pJ, reference only) | "
        "critical path (ns) | gate-level sim |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in measured:
        out.append(
            f"| {r['label']} | {r['units']} | {r['evaluations_per_cycle']:.3g} "
            f"| {r.get('clock_gates', 0)} | {r['cells']:,} "
            f"| {r['flip_flops']:,} | {r['area_um2']:,.0f} | {r['energy_per_evaluation_pj']:.2f} "
            f"| {r['vectorless_energy_per_evaluation_pj']:.2f} | {r['critical_path_ns']:.2f} "
            f"| {'pass' if r['gate_level_passed'] else 'FAIL'} |"
        )
    if tls:
        out += [
            "",
            "| threshold PE | steps | clock gates per PE | area per PE (um^2) | "
            "energy per PE per cycle (pJ) | shared area (um^2) | shared energy per cycle (pJ) | "
            "per-PE energy / ungated |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        ungated = {tl["pe"]: tl for tl in tls.values() if not tl.get("clock_gating")}
        for lab, tl in tls.items():
            ref = ungated.get(tl["pe"])
            ratio = (
                f"{tl['pe_energy_per_cycle_pj'] / ref['pe_energy_per_cycle_pj']:.3f}" if ref else ""
            )
            out.append(
                f"| {SHORT.get(lab, lab)} | {tl['steps']} | {tl.get('clock_gates_per_pe', 0)} "
                f"| {tl['pe_area_um2']:,.0f} | {tl['pe_energy_per_cycle_pj']:.2f} "
                f"| {tl['shared_area_um2']:,.0f} | {tl['shared_energy_per_cycle_pj']:.1f} "
                f"| {ratio} |"
            )
    out += [
        "",
        "| threshold PE | against | condition | P | area (mm^2) | area / baseline | "
        "evaluations / cycle | throughput / baseline | energy / evaluation (pJ) | "
        "energy / baseline | (vectorless ratio) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in scaled:
        t, b = SHORT.get(r["threshold"], r["threshold"]), SHORT.get(r["baseline"], r["baseline"])
        if not r.get("pes"):
            out.append(f"| {t} | {b} | {r['condition']} | 0 | {r['note']} | | | | | | |")
            continue
        out.append(
            f"| {t} | {b} | {r['condition']} | {r['pes']} "
            f"| {r['area_um2'] * 1e-6:.3f} | {r['area_vs_baseline']:.2f} "
            f"| {r['evaluations_per_cycle']:.3g} | {r['throughput_vs_baseline']:.3f} "
            f"| {r['energy_per_evaluation_pj']:.1f} | {r['energy_vs_baseline']:.1f} "
            f"| {r['vectorless_energy_vs_baseline']:.1f} |"
        )
    out += [
        "",
        "| workload | design | P | evaluations | cycles | compute (uJ) | SRAM (uJ) | total (uJ) | "
        "all-in / evaluation (pJ) | vs MAC baseline | vs bare tree | SRAM area (mm^2) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for wl, by in classes.items():
        for lab, c in by.items():
            out.append(
                f"| {wl} | {SHORT.get(lab, lab)} | {c.get('pes', '')} | {c['evaluations']:,} "
                f"| {c['cycles']:,.0f} "
                f"| {c['compute_pj'] * 1e-6:.3f} | {c['sram_pj'] * 1e-6:.3f} "
                f"| {c['total_pj'] * 1e-6:.3f} | {c['all_in_per_evaluation_pj']:.1f} "
                f"| {c['total_pj'] / by[MAC_LABEL]['total_pj']:.2f} "
                f"| {c['total_pj'] / by[TREE_LABEL]['total_pj']:.2f} "
                f"| {c['sram_area_um2'] * 1e-6:.2f} |"
            )
    tlabels = [lab for lab in classes[next(iter(classes))] if lab not in (MAC_LABEL, TREE_LABEL)]
    out += [
        "",
        "| workload | against | baseline all-in / evaluation (pJ) | needed for 1x (pJ) | "
        "needed for 3x (pJ) | "
        + " | ".join(f"{SHORT[t]} all-in (SRAM alone)" for t in tlabels)
        + " |",
        "|---|---|---:|---:|---:|" + "---:|" * len(tlabels),
    ]
    for r in be:
        cells = " | ".join(
            f"{r[f'{t}: all-in pJ']:.0f} ({r[f'{t}: SRAM only pJ']:.0f})" for t in tlabels
        )
        out.append(
            f"| {r['workload']} | {SHORT[r['baseline']]} "
            f"| {r['baseline_all_in_per_evaluation_pj']:.1f} "
            f"| {r['needed_for_1x_pj']:.1f} | {r['needed_for_3x_pj']:.1f} | {cells} |"
        )
    return "\n".join(out)


def derive(measured: list[dict], tls: dict, mac_accumulating: dict, k: int = K) -> tuple:
    """Scaled rows, classification energies and break-even figures from the measurements."""
    mac = load_design(MAC_FILE)
    bases = {r["label"]: r for r in measured if r["role"] == "baseline"}
    scaled = scaled_rows(tls, bases)
    # Classification: the threshold arrays at the MAC baseline's throughput at K = 64.
    classes = {}
    for wl in WORKLOADS:
        by = {
            TREE_LABEL: tree_classification(
                mac, bases[TREE_LABEL]["energy_per_evaluation_pj"], wl, k
            ),
            MAC_LABEL: mac_classification(mac, mac_accumulating["energy_per_cycle_pj"], wl),
        }
        for label, tl in tls.items():
            pes = math.ceil(bases[MAC_LABEL]["evaluations_per_cycle"] * tl["steps"] - 1e-9)
            by[label] = threshold_classification(tl, pes, wl, tl["pe"])
            by[label]["pes"] = pes
        classes[wl.stem] = by
    return scaled, classes, break_even(classes)


def measure_all(lib, k: int = K) -> tuple[list[dict], dict, dict]:
    """Every synthesis and gate-level simulation of the comparison at fan-in ``k``."""
    mac = load_design(MAC_FILE)
    tree = tree_design(k)
    # The gated threshold arrays first: the newest flow (clock-gate cells in synthesis,
    # gate-level simulation and OpenSTA), so a failure there ends the run early.
    gated = {}
    for label in (POOLED_GATED_LABEL, TULIP_GATED_LABEL):
        print(f"{label}: P = {PE_POINTS}")
        gated[label] = measure_threshold(load_design(THRESHOLD_FILES[label]), lib, k)
    print(f"bare XNOR tree, K = {k}, n = 8")
    tr = measure(tree, (256, tree.n, k), lib, evaluations=256 * tree.n)
    print(f"MAC baseline, K = {k} ({k // mac.k} chunks per output) and K = 1152 (18 chunks)")
    rows = max(16, 256 * mac.k // k)
    mc = measure(mac, (rows, mac.n, k), lib, evaluations=rows * mac.n)
    mc_acc = measure(mac, (32, mac.n, 1152), lib, evaluations=32 * mac.n)
    tls = {}
    for label, path in THRESHOLD_FILES.items():
        if label in gated:
            tls[label] = gated[label]
            continue
        print(f"{label}: P = {PE_POINTS}")
        tls[label] = measure_threshold(load_design(path), lib, k)
    measured = []
    # The tree: one output per neuron per cycle; the MAC: one per lane per k / 64 chunks.
    for label, r, units, epc in (
        (TREE_LABEL, tr, tree.n, tree.n),
        (MAC_LABEL, mc, mac.n, mac.n * mac.k / k),
    ):
        measured.append(
            {
                "label": label,
                "role": "baseline",
                "units": units,
                "evaluations_per_cycle": epc,
                **r,
                "vectorless_energy_per_evaluation_pj": r["vectorless_energy_per_cycle_pj"] / epc,
            }
        )
    for label, tl in tls.items():
        for pt in tl["points"]:
            measured.append(
                {
                    "label": f"{label}, P = {pt['pes']}",
                    "role": "threshold point",
                    "units": pt["pes"],
                    "evaluations_per_cycle": pt["pes"] / tl["steps"],
                    **pt,
                }
            )
    return measured, tls, mc_acc


CSV_KEYS = {
    "measured": (
        "units",
        "evaluations_per_cycle",
        "clock_gates",
        "cells",
        "flip_flops",
        "area_um2",
        "energy_per_evaluation_pj",
        "vectorless_energy_per_evaluation_pj",
        "critical_path_ns",
        "gate_level_passed",
        "simulated_cycles",
    ),
    "scaled": (
        "pes",
        "area_um2",
        "evaluations_per_cycle",
        "energy_per_evaluation_pj",
        "vectorless_energy_per_evaluation_pj",
        "area_vs_baseline",
        "throughput_vs_baseline",
        "energy_vs_baseline",
    ),
    "classification": (
        "evaluations",
        "cycles",
        "compute_pj",
        "sram_pj",
        "total_pj",
        "all_in_per_evaluation_pj",
        "sram_area_um2",
    ),
}


def write_csv(path: Path, measured, scaled, classes) -> None:
    flat = [
        {
            "table": "measured",
            "design": r["label"],
            **{k: r.get(k, 0) for k in CSV_KEYS["measured"]},
        }
        for r in measured
    ]
    flat += [
        {
            "table": "scaled",
            "design": r["threshold"],
            "baseline": r["baseline"],
            "condition": r["condition"],
            **{k: r.get(k) for k in CSV_KEYS["scaled"]},
        }
        for r in scaled
    ]
    flat += [
        {
            "table": "classification",
            "design": lab,
            "workload": wl,
            **{k: c[k] for k in CSV_KEYS["classification"]},
        }
        for wl, by in classes.items()
        for lab, c in by.items()
    ]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for r in flat for k in r)))
    w.writeheader()
    for r in flat:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    atomic_write(path, buf.getvalue())


def migrate(data: dict) -> dict:
    """A JSON written before the gated rows existed, with its labels mapped to the ungated
    ones (every row of it was ungated); a current JSON is returned unchanged."""

    def new(label: str) -> str:
        for old, cur in OLD_LABELS.items():
            if label == old:
                return cur
            if label.startswith(old + ", P = "):
                return cur + label[len(old) :]
        return label

    data = dict(data)
    data["measured"] = [{**r, "label": new(r["label"])} for r in data["measured"]]
    data["threshold_split"] = {new(lab): tl for lab, tl in data["threshold_split"].items()}
    return data


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--liberty", default=None)
    ap.add_argument("--k", type=int, default=K, help="fan-in of the comparison (64 or 256)")
    ap.add_argument(
        "--out",
        default=None,
        help="output stem (default bench/results/threshold_compare, "
        "with _k<K> for K other than 64)",
    )
    ap.add_argument(
        "--measure-cell",
        action="store_true",
        help="first re-measure the standard-cell neuron and rewrite the cell presets",
    )
    ap.add_argument(
        "--rederive",
        action="store_true",
        help="recompute the derived tables, CSV and plot from the measurements in an "
        "existing JSON, without synthesis",
    )
    args = ap.parse_args(argv)
    k = args.k
    suffix = "" if k == K else f"_k{k}"
    out = Path(args.out or f"bench/results/threshold_compare{suffix}")
    if args.rederive:
        import json

        data = migrate(json.loads(out.with_suffix(".json").read_text()))
        measured, tls, mc_acc = data["measured"], data["threshold_split"], data["mac_accumulating"]
        seconds, lib = data["seconds"], data["liberty"]
        command, k = data["command"], data["k"]
    else:
        lib = resolve_liberty(args.liberty)
        if lib is None:
            print("the comparison needs a liberty (--liberty or SHIFTADD_LIBERTY)", file=sys.stderr)
            return 2
        if args.measure_cell:
            print(f"wrote {write_cell_presets(lib)}")
        t0 = time.perf_counter()
        measured, tls, mc_acc = measure_all(lib, k)
        seconds = time.perf_counter() - t0
        command = "bench/compare_threshold.py " + " ".join(argv or sys.argv[1:])
    scaled, classes, be = derive(measured, tls, mc_acc, k)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(out.with_suffix(".csv"), measured, scaled, classes)
    plot(measured, scaled, classes, out.with_suffix(".png"), k)
    write_json(
        out.with_suffix(".json"),
        {
            "benchmark": "threshold_compare",
            "command": command,
            "power_method": "OpenSTA power, every cell pin annotated from a gate-level "
            "simulation of the mapped netlist on a binary GEMM; vectorless figures are "
            "reference only",
            "clock_gating": "threshold arrays both ungated and gated (clock_gating = true: "
            "one sg13g2_lgcp_1 per neuron register or PE memory, one for the data registers, "
            "one for the result register), labelled; both baselines ungated (no gating option)",
            "liberty": str(lib),
            "clock_ns": CLOCK_NS,
            "k": k,
            "seconds": seconds,
            "measured": measured,
            "threshold_split": tls,
            "mac_accumulating": mc_acc,
            "scaled": scaled,
            "classification": classes,
            "break_even": be,
            "schedule_steps": schedule_table(),
            "pe_tradeoff": tradeoff_table(),
        },
    )
    print(markdown(measured, scaled, classes, be, tls))
    print(f"wrote {out.with_suffix('.csv')}, .png, .svg, .json; measurements took {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
