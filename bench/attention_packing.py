"""Benchmark: how much of the attention GEMMs' data-priced energy a sentence packing would fake.

A data sweep (``activity = "data"``) prices the attention GEMMs of a BERT checkpoint on the
checkpoint's own per-head Q, K, V and softmax probabilities P. The calibration sentences
(about 16 tokens each) are shorter than a sweep's sequence. The sweep joins them into one
text and runs it as one sequence (:func:`shiftadd.workloads.activity_stats.joined_attention`):
real attention over a long context. An earlier version packed the separate sentences into
one sequence with block-diagonal attention, which makes P zero between sentences. This bench
prices the same designs on three layouts of the same text, per layer and head:

- ``packed``: whole calibration sentences packed into ``--seq`` tokens, block-diagonal P
  (the earlier layout);
- ``sentence``: each of those packed sentences alone (its own Q K^T and P V, no
  cross-sentence zeros), weighted by its multiply-accumulates;
- ``joined``: the sentences joined into one text and run through the encoder as one
  sequence of ``--seq`` tokens (the sweep's layout now).

For each catalog design with a data-activity model, the model's energy per cycle at full
rate (:func:`shiftadd.models.cost.estimate` with the measured
:class:`~shiftadd.workloads.activity_stats.DataActivity`) on each layout, beside the random-
data figure (activity 0.5), and the share of zero int8 codes of P.

Run (from the repository root)::

    .venv/bin/python bench/attention_packing.py [--seq 128] [--layers 0 3 5]

Prints a Markdown table; writes JSON to ``--out`` (default
``bench/results/attention_packing.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from shiftadd.design import load_design
from shiftadd.errors import InputError
from shiftadd.models.cost import estimate
from shiftadd.models.data_activity import has_data_model, measure
from shiftadd.workloads.activity_stats import (
    act_codes,
    attention_operands,
    joined_attention,
    zero_fraction,
)
from shiftadd.workloads.encoder import (
    CALIBRATION,
    BertEncoder,
    embed_sentences,
    load_sentences,
    minilm_dir,
)
from shiftadd.workloads.wordpiece import WordPieceTokenizer

ROOT = Path(__file__).resolve().parent.parent
GEMMS = ("attn_score", "attn_value")
# Catalog designs whose formats take two real-valued operands (act x act GEMMs need int
# weights on both sides): the int8 MAC adder tree, the int8 grids and the 3D-Cube.
DESIGNS = (
    "mac_int8_k64.toml",
    "systolic_os_int8_16x16.toml",
    "systolic_ws_int8_8x8.toml",
    "matrix2d_int8_8x8.toml",
    "cube_int8_4x4x4.toml",
)


def layouts(encoder, tokenizer, sentences, layers, seq):
    """Per layout, per GEMM: ``[(weights, acts, macs), ...]`` over the layers and heads."""
    per_sentence: dict[str, list] = {}
    embed_sentences(encoder, tokenizer, sentences, attention=per_sentence)
    joined = joined_attention(encoder, tokenizer, sentences, seq)
    prefix = f"{encoder.prefix}encoder.layer."
    out: dict[str, dict[str, list]] = {k: {g: [] for g in GEMMS} for k in LAYOUTS}
    for layer in layers:
        heads = per_sentence[f"{prefix}{layer}.attention.self"]
        lengths = np.cumsum([a.q.shape[1] for a in heads])
        fits = max(1, int(np.searchsorted(lengths, seq, side="right")))
        for h in range(encoder.num_heads):
            for g in GEMMS:
                w, x = attention_operands(heads, g, head=h, length=seq)
                out["packed"][g].append((w, x, w.shape[0] * x.shape[0] * w.shape[1]))
                for a in heads[:fits]:
                    w, x = attention_operands([a], g, head=h, length=seq)
                    out["sentence"][g].append((w, x, w.shape[0] * x.shape[0] * w.shape[1]))
                whole = joined[f"{prefix}{layer}.attention.self"]
                w, x = attention_operands(whole, g, head=h, length=seq)
                out["joined"][g].append((w, x, w.shape[0] * x.shape[0] * w.shape[1]))
    return out


LAYOUTS = ("packed", "sentence", "joined")


def priced(design, samples) -> float:
    """MAC-weighted mean of the model's energy per cycle (pJ) over the samples."""
    energies, weights = [], []
    for w, x, macs in samples:
        energies.append(estimate(design, data_activity=measure(design, w, x)).energy_per_cycle_pj)
        weights.append(macs)
    return float(np.average(energies, weights=weights))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq", type=int, default=128, help="tokens per sequence (1-256)")
    ap.add_argument("--layers", type=int, nargs="+", default=[0, 3, 5], help="encoder layers")
    ap.add_argument("--out", default=str(ROOT / "bench/results/attention_packing.json"))
    args = ap.parse_args()
    if not 1 <= args.seq <= 256:
        raise SystemExit("--seq: must be 1 to 256 tokens")
    t0 = time.perf_counter()
    folder = minilm_dir()
    encoder = BertEncoder.from_dir(folder)
    if any(not 0 <= layer < encoder.num_layers for layer in args.layers):
        raise SystemExit(f"--layers: each must be 0 to {encoder.num_layers - 1}")
    tokenizer = WordPieceTokenizer.from_vocab(folder / "vocab.txt")
    data = layouts(encoder, tokenizer, load_sentences()[CALIBRATION], args.layers, args.seq)
    p_samples = {k: [x for _, x, _ in data[k]["attn_value"]] for k in LAYOUTS}
    zeros = {
        k: float(np.mean([zero_fraction(act_codes(x, "int8")) for x in p_samples[k]]))
        for k in LAYOUTS
    }
    tokens = {k: int(np.mean([x.shape[0] for _, x, _ in data[k]["attn_value"]])) for k in LAYOUTS}
    rows = []
    for name in DESIGNS:
        d = load_design(ROOT / "examples" / name)
        if not has_data_model(d):
            continue
        row = {"design": name, "random_pj": estimate(d).energy_per_cycle_pj}
        try:
            for k in LAYOUTS:
                for g in GEMMS:
                    row[f"{g}_{k}_pj"] = priced(d, data[k][g])
        except InputError as exc:
            rows.append({"design": name, "skipped": str(exc)})
            continue
        rows.append(row)
    seconds = time.perf_counter() - t0
    print("P (int8 codes) zero share: " + ", ".join(f"{k} {zeros[k]:.1%}" for k in LAYOUTS))
    print("tokens per P V sample: " + ", ".join(f"{k} {tokens[k]}" for k in LAYOUTS))
    print()
    print(
        "| design | GEMM | random (pJ/cycle) | packed | sentence | joined (sweep) "
        "| packed vs joined |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if "skipped" in r:
            print(f"| {r['design']} | skipped: {r['skipped']} | | | | | |")
            continue
        for g in GEMMS:
            p, s, j = (r[f"{g}_{k}_pj"] for k in LAYOUTS)
            print(
                f"| {r['design']} | {g} | {r['random_pj']:.2f} | {p:.2f} | {s:.2f} | {j:.2f} "
                f"| {p / j - 1:+.1%} |"
            )
    print(f"\n{seconds:.1f} s")
    result = {
        "command": "bench/attention_packing.py --seq {} --layers {}".format(
            args.seq, " ".join(map(str, args.layers))
        ),
        "p_zero_share": zeros,
        "p_tokens": tokens,
        "rows": rows,
        "seconds": seconds,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
