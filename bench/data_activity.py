"""Benchmark: each engine's modelled energy on random data vs on real data.

For every catalog design whose family has a data-activity model (adder tree, systolic,
2D matrix), the switching of its nets is measured on a real layer of the packaged
all-MiniLM-L6-v2 checkpoint (weights and the activations the layer sees on the calibration
sentences, rounded to the design's number format, laid out as the engine streams them;
:func:`shiftadd.models.data_activity.measure`) and, for comparison, on synthetic tensors of
stated statistics; the model's energy per cycle at full rate is printed for random data
(one activity, 0.5) and for each kind of data, with the time the measurement took.

Run (from the repository root)::

    .venv/bin/python bench/data_activity.py [--layer encoder.layer.0.intermediate.dense.weight]

Prints a Markdown table; writes JSON to ``--out`` (default
``bench/results/data_activity.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from shiftadd.design import load_design
from shiftadd.errors import InputError
from shiftadd.models.cost import estimate
from shiftadd.models.data_activity import measure
from shiftadd.workloads.activity_stats import checkpoint_operands, synthetic_operands

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="all-minilm-l6-v2")
    ap.add_argument("--layer", default="encoder.layer.0.intermediate.dense.weight")
    ap.add_argument("--out", default=str(ROOT / "bench/results/data_activity.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    w, x, what = checkpoint_operands(args.checkpoint, args.layer)
    load_s = time.perf_counter() - t0
    sw, sx, synth = synthetic_operands(w.shape[0], w.shape[1], tokens=x.shape[0])
    rows = []
    for path in sorted(ROOT.glob("examples/*.toml")) + sorted(ROOT.glob("examples/*.yaml")):
        d = load_design(path)
        try:
            t1 = time.perf_counter()
            real = measure(d, w, x, source=what)
            seconds = time.perf_counter() - t1
            fake = measure(d, sw, sx, source=synth)
        except InputError as exc:
            rows.append({"design": path.name, "arch": d.arch, "skipped": str(exc)})
            continue
        e_rand = estimate(d).energy_per_cycle_pj
        e_real = estimate(d, data_activity=real).energy_per_cycle_pj
        e_syn = estimate(d, data_activity=fake).energy_per_cycle_pj
        rows.append(
            {
                "design": path.name,
                "arch": d.arch,
                "format": d.number_format.label,
                "activity": real.to_dict(),
                "synthetic_activity": fake.to_dict(),
                "energy_random_pj": e_rand,
                "energy_real_pj": e_real,
                "energy_synthetic_pj": e_syn,
                "measure_seconds": seconds,
            }
        )
    print(
        f"Data: {what} ({w.shape[0]} x {w.shape[1]} weights, {x.shape[0]} tokens; "
        f"loaded in {load_s:.1f} s). Synthetic: {synth}.\n"
    )
    print(
        "| design | format | act toggle | weight toggle | act zeros | weight zeros | term | sum "
        "| digit | energy/cycle random pJ | real pJ | real vs random | synthetic vs random "
        "| measure s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "skipped" in r:
            print(f"| {r['design']} | ({r['arch']}: no data-activity model) |" + " |" * 12)
            continue
        a = r["activity"]
        print(
            f"| {r['design']} | {r['format']} | {a['act_toggle']:.3f} | {a['weight_toggle']:.3f} "
            f"| {a['act_zero']:.1%} | {a['weight_zero']:.1%} | {a['term']:.3f} | {a['sum']:.3f} "
            f"| {a['digit']:.3f} | {r['energy_random_pj']:.1f} | {r['energy_real_pj']:.1f} "
            f"| {r['energy_real_pj'] / r['energy_random_pj'] - 1:+.1%} "
            f"| {r['energy_synthetic_pj'] / r['energy_random_pj'] - 1:+.1%} "
            f"| {r['measure_seconds']:.2f} |"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"data": what, "synthetic": synth, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
