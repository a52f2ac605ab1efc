"""Paper mode against the default output-stationary array: MAC and OPT1 (carry-save) PEs.

Each design is synthesized (Yosys + ABC, fast script) for a 2 ns target, then again for the
period that reached (as ``bench/replicate_hpte.py`` does for the paper's RTL), and reported
at its own fmax. Power: OpenSTA with the switching of every cell pin from a gate-level
simulation of a tiled GEMM on that netlist (random int8 codes of the bench, checked against
the golden model), dynamic and leakage apart; energy per MAC at own fmax is the dynamic
energy per simulated cycle (independent of the clock in a zero-delay simulation) plus the
leakage over the fmax period, summed over the GEMM's cycles and divided by its MACs. The
analytic model's area and critical path are beside the measurements.

Run from the repository root::

    SHIFTADD_LIBERTY=../shared/pdk/ihp-sg13g2/sg13g2_stdcell_typ_1p20V_25C.lib \\
        nice -n 5 .venv/bin/python bench/paper_mode_os.py --sizes 4

Writes ``bench/results/paper_mode_os.json`` (``paper_mode_os_<sizes>[_<modes>].json`` for
other sizes or ``--modes paper``). Gate-level builds go to a temporary folder (set
``TMPDIR`` to a roomy one: a 4x4 build is about 200 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from shiftadd.design import design_from_dict
from shiftadd.flows.activity import measure_activity
from shiftadd.models.cost import cost_terms
from shiftadd.models.timing import critical_path_ns
from shiftadd.rtl_gen.synth import synthesize

RESULTS = Path(__file__).resolve().parent / "results"


def designs(size: int, modes=("paper", "default")) -> list:
    """The designs of one size: paper mode and default (``modes``), MAC and OPT1 PEs,
    32-bit accumulators (the paper's OS width)."""
    out = []
    for paper in (m == "paper" for m in modes):
        for cs in (False, True):
            tag = f"{'paper' if paper else 'default'}_{'csa' if cs else 'int8'}_{size}x{size}"
            params = {
                "arch": "systolic",
                "name": f"os_{tag}",
                "dataflow": "os",
                "rows": size,
                "cols": size,
                "mode": "mac",
                "act_bits": 8,
                "weight_bits": 8,
                "acc_bits": 32,
                "carry_save_accumulate": cs,
                "clock_ns": 10.0,
            }
            if paper:
                params["paper_mode"] = True
            out.append(design_from_dict(params))
    return out


def measure(design, lib: str, gemm, seed: int = 0) -> dict:
    """Area, fmax and energy per MAC at own fmax of one design (see the module)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="paper-mode-") as tmp:
        first = synthesize(design, liberty=lib, clock_ns=2.0, workdir=Path(tmp) / "a")
        period = round(float(first.critical_path_ns), 3)
        work = Path(tmp) / "b"
        mapped = synthesize(design, liberty=lib, clock_ns=period, workdir=work)
        # The gate-level build (hundreds of MB) goes with the temporary folder.
        switching, gates = measure_activity(
            design,
            netlist=mapped.netlist,
            liberty=lib,
            gemm=gemm,
            seed=seed,
            build_root=Path(tmp) / "sim",
        )
        powered = synthesize(
            design, liberty=lib, clock_ns=period, workdir=Path(tmp) / "c", activity=switching
        )
    fmax_period = float(mapped.critical_path_ns)
    p = powered.power_mw or {}
    leak_mw = float(p.get("leakage", 0.0))
    dyn_pj_cycle = (float(p["total"]) - leak_mw) * period  # mW x ns = pJ
    macs = gemm[0] * gemm[1] * gemm[2]
    cycles = switching.cycles
    dyn = dyn_pj_cycle * cycles / macs
    leak = leak_mw * fmax_period * cycles / macs
    return {
        "design": design.name,
        "paper_mode": design.paper_mode,
        "carry_save": design.carry_save_accumulate,
        "rows": design.rows,
        "gemm": list(gemm),
        "gate_level_passed": bool(gates.passed),
        "area_um2": mapped.area,
        "area_model_um2": cost_terms(design).area,
        "sequential_area_um2": mapped.sequential_area,
        "critical_path_ns": fmax_period,
        "critical_path_model_ns": critical_path_ns(design),
        "fmax_mhz": 1e3 / fmax_period,
        "first_pass_ns": float(first.critical_path_ns),
        "simulated_cycles": cycles,
        "pj_per_mac": dyn + leak,
        "pj_per_mac_dynamic": dyn,
        "pj_per_mac_leakage": leak,
        "power_groups_mw": p.get("groups"),
        "seconds": time.perf_counter() - t0,
    }


def ratios(rows: list[dict]) -> dict:
    """OPT1 over MAC in each mode: area efficiency (MACs/s per um^2) and energy efficiency
    (MACs per joule); above 1: OPT1 better."""
    out = {}
    for paper in sorted({r["paper_mode"] for r in rows}, reverse=True):
        mac, csa = (
            next(r for r in rows if r["paper_mode"] == paper and r["carry_save"] == cs)
            for cs in (False, True)
        )
        area = (csa["fmax_mhz"] / csa["area_um2"]) / (mac["fmax_mhz"] / mac["area_um2"])
        out["paper" if paper else "default"] = {
            "area_efficiency": area,
            "energy_efficiency": mac["pj_per_mac"] / csa["pj_per_mac"],
            "dynamic_energy_efficiency": mac["pj_per_mac_dynamic"] / csa["pj_per_mac_dynamic"],
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="4", help="array sizes, comma-separated (default 4)")
    ap.add_argument("--liberty", default=os.environ.get("SHIFTADD_LIBERTY"))
    ap.add_argument("--k", type=int, default=256, help="reduction length of the GEMM")
    ap.add_argument(
        "--modes", default="paper,default", help="paper, default or both (default both)"
    )
    args = ap.parse_args(argv)
    if not args.liberty:
        ap.error("--liberty or SHIFTADD_LIBERTY is required")
    sizes = [int(s) for s in args.sizes.split(",")]
    t0 = time.perf_counter()
    result = {}
    for size in sizes:
        gemm = (2 * size, 2 * size, args.k)
        rows = []
        for d in designs(size, args.modes.split(",")):
            row = measure(d, args.liberty, gemm)
            print(json.dumps(row), flush=True)
            rows.append(row)
        result[f"{size}x{size}"] = {"rows": rows, "ratios": ratios(rows)}
    result["seconds"] = time.perf_counter() - t0
    both = args.modes == "paper,default"
    tag = "_".join(map(str, sizes)) + ("" if both else "_" + args.modes.replace(",", "_"))
    name = "paper_mode_os.json" if tag == "4" else f"paper_mode_os_{tag}.json"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v["ratios"] for k, v in result.items() if k != "seconds"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
