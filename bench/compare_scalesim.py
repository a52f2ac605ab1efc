"""Compare our RTL-exact cycle model of the systolic array with SCALE-Sim on LLM GEMMs.

The same GEMM layers (slices of Llama-2-7B decode and prefill from
:mod:`shiftadd.workloads`) go through our analytic model (the formula the cocotb benches
check cycle for cycle against the generated Verilog) and through SCALE-Sim v2/v3 (pip
``scalesim``) for the same array sizes and dataflows. Reported per layer: both cycle
counts, their ratio, and the wall time each tool took.

SCALE-Sim is not a project dependency; install it in its own virtual environment (its
release pins NumPy < 2)::

    python3 -m venv /tmp/ssv && /tmp/ssv/bin/pip install scalesim "numpy<2"

Run (from the repository root)::

    .venv/bin/python bench/compare_scalesim.py [--scalesim-python /tmp/ssv/bin/python]

Writes ``bench/results/compare_scalesim.json``. SCALE-Sim builds a cycle-by-cycle operand
trace, so it is slow on full-size layers (one 1 x 4096 x 4096 decode layer on 16 x 16 ran
for more than 10 minutes); the layers are therefore slices: the real K (reduction) and a
cut of N (outputs) or of the prompt length.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from shiftadd._io import write_json
from shiftadd.design import design_from_dict
from shiftadd.models.cycles import gemm_cycles
from shiftadd.workloads.shapes import gemm_table

CONFIG = """\
[general]
run_name = shiftadd_compare

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: 4096
FilterSramSzkB: 4096
OfmapSramSzkB: 4096
IfmapOffset: 0
FilterOffset: 100000000
OfmapOffset: 200000000
Bandwidth: 10
Dataflow: {dataflow}
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

RUNNER = textwrap.dedent("""
    import json, sys, time
    from scalesim.scale_sim import scalesim
    cfg, topo, layout, out = sys.argv[1:5]
    t0 = time.perf_counter()
    s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo,
                 layout=layout, input_type_gemm=True)
    s.run_scale(top_path=out)
    rows = [l.get_compute_report_items() for l in s.runner.single_layer_sim_object_list]
    print(json.dumps({"seconds": time.perf_counter() - t0,
                      "layers": [[float(x) for x in r] for r in rows]}))
""")


def layers(n_slice: int, seq: int) -> list[dict]:
    """Distinct GEMM shapes of one Llama-2-7B decoder layer, sliced (see the module)."""
    out, seen = [], set()
    for phase, kw in (("decode", dict(batch=1, context=512)), ("prefill", dict(batch=1, seq=seq))):
        t = gemm_table("llama-2-7b", phase, **kw)
        t = t[t["layer"] == 0].drop_duplicates(["M", "N", "K"])
        for _, r in t.iterrows():
            n = int(r["N"]) if r["kind"] == "act x act" else min(int(r["N"]), n_slice)
            if (int(r["M"]), n, int(r["K"])) in seen:
                continue
            seen.add((int(r["M"]), n, int(r["K"])))
            out.append(
                {
                    "name": f"{phase}:{r['name']}",
                    "M": int(r["M"]),
                    "N": n,
                    "K": int(r["K"]),
                    "full_N": int(r["N"]),
                }
            )
    return out


def run_scalesim(python: str, rows: int, cols: int, dataflow: str, shapes: list[dict]):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "c.cfg").write_text(CONFIG.format(rows=rows, cols=cols, dataflow=dataflow))
        (tmp / "topo.csv").write_text(
            "Layer, M, N, K,\n"
            + "".join(f"l{i}, {s['M']}, {s['N']}, {s['K']},\n" for i, s in enumerate(shapes))
        )
        (tmp / "layout.csv").write_text("Layer name, unused,\n")  # no custom layout
        (tmp / "run.py").write_text(RUNNER)
        t0 = time.perf_counter()
        r = subprocess.run(
            [
                python,
                str(tmp / "run.py"),
                str(tmp / "c.cfg"),
                str(tmp / "topo.csv"),
                str(tmp / "layout.csv"),
                str(tmp / "out"),
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"SCALE-Sim failed:\n{r.stderr[-3000:]}")
        data = json.loads(r.stdout.strip().splitlines()[-1])
    return data, wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scalesim-python", default="/tmp/ssv/bin/python")
    ap.add_argument("--sizes", default="16,32", help="square array sizes")
    ap.add_argument("--n-slice", type=int, default=64, help="outputs kept per weight GEMM")
    ap.add_argument("--seq", type=int, default=16, help="prefill prompt length")
    ap.add_argument("--out", default="bench/results/compare_scalesim.json")
    args = ap.parse_args(argv)
    shapes = layers(args.n_slice, args.seq)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        for dataflow in ("os", "ws"):
            params = dict(arch="systolic", rows=size, cols=size, dataflow=dataflow)
            if dataflow == "os":
                params["k_max"] = 16384  # every layer's K in one tile, as SCALE-Sim does
            design = design_from_dict(params)
            t0 = time.perf_counter()
            ours = [gemm_cycles(design, s["M"], s["N"], s["K"]) for s in shapes]
            our_wall = time.perf_counter() - t0
            ss, ss_wall = run_scalesim(args.scalesim_python, size, size, dataflow, shapes)
            for s, o, r in zip(shapes, ours, ss["layers"]):
                row = {
                    "array": f"{size}x{size}",
                    "dataflow": dataflow,
                    **s,
                    "ours_cycles": o.cycles,
                    "ours_utilization": o.utilization,
                    "scalesim_total_cycles": int(r[0]),
                    "scalesim_compute_cycles": int(r[1]),
                    "scalesim_stall_cycles": int(r[2]),
                    "scalesim_compute_util_pct": r[5],
                }
                row["ratio_ours_over_scalesim_compute"] = o.cycles / r[1]
                results.append(row)
                print(
                    f"{size}x{size} {dataflow} {s['name']:>22} M={s['M']:<3} N={s['N']:<5} "
                    f"K={s['K']:<6} ours {o.cycles:>9,}  SCALE-Sim compute "
                    f"{int(r[1]):>9,} (total {int(r[0]):,})  ratio "
                    f"{row['ratio_ours_over_scalesim_compute']:.3f}"
                )
            results.append(
                {
                    "array": f"{size}x{size}",
                    "dataflow": dataflow,
                    "timing": True,
                    "ours_seconds": our_wall,
                    "scalesim_seconds": ss["seconds"],
                    "scalesim_wall_seconds": ss_wall,
                    "layers": len(shapes),
                }
            )
            print(f"  wall time: ours {our_wall * 1e3:.2f} ms, SCALE-Sim {ss_wall:.1f} s")
    write_json(
        args.out,
        {
            "benchmark": "compare_scalesim",
            "command": "bench/compare_scalesim.py " + " ".join(argv or sys.argv[1:]),
            "workload": "llama-2-7b layer 0, decode (context 512) and prefill "
            f"(seq {args.seq}); weight GEMMs cut to N <= "
            f"{args.n_slice}",
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
