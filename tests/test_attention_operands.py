"""Real act x act operands: the encoder's per-head queries, keys, values and softmax
probabilities (captured in the NumPy forward pass) as the operands of a data sweep's
attention GEMMs (``attn_score`` = Q K^T, ``attn_value`` = P V), on a tiny BERT checkpoint
built here and once on the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from shiftadd.errors import InputError
from shiftadd.models.sweep import parse_sweep_spec, run_sweep
from shiftadd.workloads.activity_stats import (
    attention_operands,
    gemm_operands,
    joined_attention,
)
from shiftadd.workloads.encoder import (
    CALIBRATION,
    BertEncoder,
    embed_sentences,
    load_sentences,
    minilm_dir,
)
from shiftadd.workloads.synthetic import write_safetensors
from shiftadd.workloads.wordpiece import WordPieceTokenizer

HIDDEN, HEADS, LAYERS, FFN, POSITIONS = 16, 2, 2, 32, 64


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 2-layer, 2-head BERT checkpoint with random weights and MiniLM's vocabulary."""
    folder = tmp_path_factory.mktemp("tiny_bert")
    shutil.copy(minilm_dir() / "vocab.txt", folder / "vocab.txt")
    vocab = sum(1 for _ in open(folder / "vocab.txt", encoding="utf-8"))
    config = {
        "_name_or_path": "tiny-bert",
        "model_type": "bert",
        "hidden_act": "gelu",
        "hidden_size": HIDDEN,
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "intermediate_size": FFN,
        "max_position_embeddings": POSITIONS,
        "type_vocab_size": 2,
        "vocab_size": vocab,
    }
    (folder / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(7)
    shapes = {
        "embeddings.word_embeddings.weight": (vocab, HIDDEN),
        "embeddings.position_embeddings.weight": (POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": (2, HIDDEN),
    }
    for i in range(LAYERS):
        pre = f"encoder.layer.{i}."
        for lin, shape in (
            ("attention.self.query", (HIDDEN, HIDDEN)),
            ("attention.self.key", (HIDDEN, HIDDEN)),
            ("attention.self.value", (HIDDEN, HIDDEN)),
            ("attention.output.dense", (HIDDEN, HIDDEN)),
            ("intermediate.dense", (FFN, HIDDEN)),
            ("output.dense", (HIDDEN, FFN)),
        ):
            shapes[pre + lin + ".weight"] = shape
            shapes[pre + lin + ".bias"] = shape[:1]
    tensors = {name: rng.normal(0, 0.5, shape).astype(np.float32) for name, shape in shapes.items()}
    for ln in ["embeddings.LayerNorm"] + [
        f"encoder.layer.{i}.{m}.LayerNorm"
        for i in range(LAYERS)
        for m in ("attention.output", "output")
    ]:
        tensors[ln + ".weight"] = np.ones(HIDDEN, np.float32)
        tensors[ln + ".bias"] = np.zeros(HIDDEN, np.float32)
    write_safetensors(folder / "model.safetensors", tensors, dtype="F32")
    return folder


@pytest.fixture(scope="module")
def captured(tiny):
    encoder = BertEncoder.from_dir(tiny)
    tokenizer = WordPieceTokenizer.from_vocab(tiny / "vocab.txt")
    linears: dict = {}
    attention: dict = {}
    sentences = load_sentences()[CALIBRATION]
    emb = embed_sentences(
        encoder, tokenizer, sentences, batch=8, capture=linears, attention=attention
    )
    return encoder, tokenizer, sentences, emb, linears, attention


def test_capture_is_each_sentence_per_head(captured):
    encoder, tokenizer, sentences, emb, linears, attention = captured
    assert list(attention) == [f"encoder.layer.{i}.attention.self" for i in range(LAYERS)]
    lengths = [len(tokenizer.encode(s)) for s in sentences]
    d = HIDDEN // HEADS
    for i in range(LAYERS):
        heads = attention[f"encoder.layer.{i}.attention.self"]
        assert len(heads) == len(sentences)  # 4 batches of 8, appended in sentence order
        x = linears[f"encoder.layer.{i}.attention.self.query.weight"]
        start = 0
        for a, n in zip(heads, lengths):
            assert a.q.shape == a.k.shape == a.v.shape == (HEADS, n, d)
            assert a.p.shape == (HEADS, n, n)
            assert a.q.dtype == a.p.dtype == np.float32
            np.testing.assert_allclose(a.p.sum(axis=-1), 1.0, atol=1e-6)
            # The queries are the query linear's output on this sentence's rows, split into heads.
            rows = x[start : start + n].astype(np.float64)
            for name, got in (("query", a.q), ("key", a.k), ("value", a.v)):
                w = encoder.weight(f"encoder.layer.{i}.attention.self.{name}.weight")
                b = encoder.bias(f"encoder.layer.{i}.attention.self.{name}.weight")
                ref = (rows @ w.T + b).reshape(n, HEADS, d).transpose(1, 0, 2)
                np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
            start += n
            # softmax(Q K^T / sqrt(d)) reproduces P
            s = a.q.astype(np.float64) @ a.k.transpose(0, 2, 1) / math.sqrt(d)
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            np.testing.assert_allclose(a.p, s, atol=1e-6)
        assert start == x.shape[0]
    # Capturing changes nothing in the embeddings.
    again = embed_sentences(encoder, tokenizer, sentences, batch=8)
    np.testing.assert_array_equal(emb, again)


def test_attention_operands_pack_whole_sentences(captured):
    _, _, _, _, _, attention = captured
    heads = attention["encoder.layer.1.attention.self"]
    lengths = np.array([a.q.shape[1] for a in heads])
    length = int(lengths[:3].sum()) + 1  # three sentences fit, the fourth does not
    assert lengths[3] > 1
    k, q = attention_operands(heads, "attn_score", head=1, length=length)
    t = int(lengths[:3].sum())
    assert q.shape == k.shape == (t, HIDDEN // HEADS)
    np.testing.assert_array_equal(q, np.concatenate([a.q[1] for a in heads[:3]]))
    np.testing.assert_array_equal(k, np.concatenate([a.k[1] for a in heads[:3]]))
    vt, p = attention_operands(heads, "attn_value", head=1, length=length)
    assert vt.shape == (HIDDEN // HEADS, t) and p.shape == (t, t)
    np.testing.assert_array_equal(vt.T, np.concatenate([a.v[1] for a in heads[:3]]))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)  # block-diagonal, rows still 1
    ends = np.cumsum(lengths[:3])
    starts = ends - lengths[:3]
    for a, lo, hi in zip(heads[:3], starts, ends):
        np.testing.assert_array_equal(p[lo:hi, lo:hi], a.p[1])
        assert not p[lo:hi, :lo].any() and not p[lo:hi, hi:].any()
    # P V on the packed sequence is each sentence's own attention output
    ctx = p @ vt.T
    for a, lo, hi in zip(heads[:3], starts, ends):
        np.testing.assert_allclose(ctx[lo:hi], a.p[1] @ a.v[1], atol=1e-6)
    # a first sentence longer than the sequence is cut to it
    k1, q1 = attention_operands(heads, "attn_score", head=0, length=2)
    assert q1.shape == (2, HIDDEN // HEADS)
    np.testing.assert_array_equal(q1, heads[0].q[0, :2])
    with pytest.raises(InputError, match="gemm"):
        attention_operands(heads, "q_proj", head=0, length=8)
    with pytest.raises(InputError, match="head"):
        attention_operands(heads, "attn_score", head=HEADS, length=8)


def test_gemm_operands_use_the_forward_pass_for_attention(tiny, captured):
    keys = (
        ("attn_score", 24, HIDDEN // HEADS, "act x act", (0, 1)),
        ("attn_value", HIDDEN // HEADS, 24, "act x act", (0, 1)),
        ("q_proj", HIDDEN, HIDDEN, "act x weight", (0, 1)),
    )
    score, value, q = gemm_operands(str(tiny), keys)
    assert score.kind == value.kind == "checkpoint-attention"
    assert q.kind == "checkpoint"
    assert len(score.samples) == len(value.samples) == LAYERS * HEADS
    encoder, tokenizer, sentences, _, _, _ = captured
    joined = joined_attention(encoder, tokenizer, sentences, 24)
    heads = joined["encoder.layer.1.attention.self"]
    assert len(heads) == 1 and heads[0].q.shape[1] == 24  # one sequence, truncated to 24
    w, x = score.samples[HEADS + 1]  # layer 1, head 1
    ref_k, ref_q = attention_operands(heads, "attn_score", head=1, length=24)
    np.testing.assert_allclose(w, ref_k, atol=1e-6)
    np.testing.assert_allclose(x, ref_q, atol=1e-6)
    assert x.shape[0] == 24
    vt, p = value.samples[HEADS + 1]
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    # Attention over the whole joined sequence: no block-diagonal zeros between sentences.
    assert (p > 0).mean() > 0.99
    assert "joined into one sequence" in score.description
    assert "2 layers x 2 heads" in score.description


def test_preset_attention_stays_synthetic():
    keys = (("attn_score", 64, 64, "act x act", (0,)), ("q_proj", 64, 64, "act x weight", (0,)))
    score, _ = gemm_operands("opt-125m", keys)
    assert score.kind == "synthetic"


def test_sweep_layers_say_checkpoint_attention(tiny, tmp_path):
    data = {
        "name": "tiny-attention",
        "workload": {"spec": str(tiny), "phase": "prefill", "seq": 32, "include_head": False},
        "options": {"quality": "off"},
        "engines": [
            {"arch": "systolic", "mode": "mac", "rows": 4, "cols": 4, "activity": [0.5, "data"]}
        ],
    }
    spec = parse_sweep_spec(data)
    assert spec.activity_label == "data:checkpoint+checkpoint-attention"
    run_sweep(spec, tmp_path, workers=1, progress=False)
    points = pd.read_parquet(tmp_path / "points.parquet")
    layers = pd.read_parquet(tmp_path / "layers.parquet")
    on_data = points.loc[points["activity_source"] != "number", "point"]
    rows = layers[layers["point"].isin(on_data)].set_index("gemm")["activity_source"]
    assert rows.loc["attn_score"] == rows.loc["attn_value"] == "data:checkpoint-attention"
    assert rows.loc["q_proj"] == "data:checkpoint"
    num = layers[~layers["point"].isin(on_data)].set_index("gemm")["energy_uj"]
    dat = layers[layers["point"].isin(on_data)].set_index("gemm")["energy_uj"]
    assert dat.loc["attn_value"] != num.loc["attn_value"]


def test_joined_attention_is_one_truncated_sequence(captured):
    encoder, tokenizer, sentences, _, _, attention = captured
    first = attention["encoder.layer.0.attention.self"][0]
    n = first.q.shape[1]
    joined = joined_attention(encoder, tokenizer, sentences[:3], n + 5)
    for heads in joined.values():
        assert len(heads) == 1 and heads[0].p.shape == (HEADS, n + 5, n + 5)
        np.testing.assert_allclose(heads[0].p.sum(axis=-1), 1.0, atol=1e-6)
    # The first sentence's [CLS] query sees the next sentence's keys too: not its own P.
    assert not np.allclose(joined["encoder.layer.0.attention.self"][0].p[:, 0, :n], first.p[:, 0])
    with pytest.raises(InputError, match="length"):
        joined_attention(encoder, tokenizer, sentences, 1)
