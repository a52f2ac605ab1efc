"""Per-layer statistics: in-memory tensors, binary-coding keys, checkpoint streaming."""

import json

import numpy as np
import pytest

from shiftadd.errors import InputError
from shiftadd.workloads import (
    QuantizedTensor,
    checkpoint_stats,
    iter_checkpoint_stats,
    key_codes,
    load_model_config,
    open_checkpoint,
    quantize,
    register_format,
    summarize,
    synthetic_weights,
    tensor_stats,
    write_checkpoint,
    write_safetensors,
)
from shiftadd.workloads.digits import bit_planes, booth_encode, ent_encode


def _tiny(layers=2, **changes):
    raw = {
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 96,
        "num_hidden_layers": layers,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 128,
        "_name_or_path": "tiny",
    }
    raw.update(changes)
    return load_model_config(raw)


def _two_planes(w, match):
    first = w >= 0
    resid = w - np.where(first, 1.0, -1.0) * np.abs(w).mean()
    second = resid >= 0
    deq = (
        np.where(first, 1.0, -1.0) * np.abs(w).mean()
        + np.where(second, 1.0, -1.0) * np.abs(resid).mean()
    ).astype(np.float32)
    return QuantizedTensor(
        match.group(0), deq, 2 * w.size, payload={"planes": np.stack([first, second])}
    )


@pytest.fixture
def two_planes_format():
    """A format whose payload holds nothing but two planes, registered for one test only:
    statistics must work for any format, not only the built-in ones."""
    from shiftadd.workloads.quant_base import unregister_format

    register_format(r"test_two_planes", "two sign planes (tests only)")(_two_planes)
    yield "test_two_planes"
    unregister_format(r"test_two_planes")


@pytest.fixture(scope="module")
def w():
    return synthetic_weights((64, 160), seed=2)


def test_int8_stats_equal_direct_computation(w):
    s = tensor_stats(w, "int8")
    qt = quantize(w, "int8")
    codes = qt.payload["codes"]
    err = qt.error(w)
    assert np.isclose(s["mse"], err["mse"]) and np.isclose(s["rel_fro"], err["rel_fro"])
    assert s["max_abs"] == pytest.approx(err["max_abs"])
    assert s["storage_bits"] == qt.storage_bits
    assert s["bits_per_weight"] == pytest.approx(qt.bits_per_weight)
    assert np.allclose(s["bit_density"], bit_planes(codes, 8).reshape(-1, 8).mean(axis=0))
    assert s["booth_nonzero"] == pytest.approx(np.count_nonzero(booth_encode(codes), -1).mean())
    assert s["ent_nonzero"] == pytest.approx(np.count_nonzero(ent_encode(codes)[1], -1).mean())
    assert s["zero_fraction"] == pytest.approx((codes == 0).mean())
    assert "key_hist" not in s


def test_narrow_codes_use_their_own_width(w):
    s = tensor_stats(w, "int4_asym")
    assert s["code_bits"] == 4 and s["code_signed"] is False
    assert len(s["bit_density"]) == 4 and s["booth_digits"] == 3
    t = tensor_stats(w, "ternary")
    codes = quantize(w, "ternary").payload["codes"]
    # A ternary code has exactly one nonzero digit unless it is zero.
    assert t["ent_nonzero"] == pytest.approx((codes != 0).mean())
    assert t["bit_density"][1] == pytest.approx((codes < 0).mean())  # sign bit of 2-bit code


def test_row_blocks_give_the_same_result_for_row_wise_formats(w):
    for fmt in ("int8", "int4_asym", "ternary", "sign"):
        whole = tensor_stats(w, fmt)
        blocked = tensor_stats(w, fmt, block_rows=7)
        for key in (
            "mse",
            "rel_fro",
            "max_abs",
            "storage_bits",
            "booth_nonzero",
            "key_entropy_bits",
            "key_distinct_mean",
        ):
            if key in whole:
                assert blocked[key] == pytest.approx(whole[key]), (fmt, key)
        assert blocked["blocks"] == 10


def test_key_codes_reference():
    rng = np.random.default_rng(0)
    planes = rng.random((2, 5, 19)) < 0.5
    keys = key_codes(planes, 8)
    assert keys.shape == (2, 5, 2)  # the 3 trailing columns form no full group
    for q in range(2):
        for r in range(5):
            for g in range(2):
                expected = sum(int(planes[q, r, g * 8 + j]) << j for j in range(8))
                assert keys[q, r, g] == expected
    k4 = key_codes(planes, 4)  # generic path agrees with the packbits path
    assert np.array_equal(keys, k4[..., 0:4:2] | (k4[..., 1:4:2] << 4))


def test_key_histogram_and_distinct_counts():
    planes = np.zeros((1, 6, 16), dtype=bool)
    planes[0, :, :8] = [True, False, True, False, False, False, False, True]  # key 133 everywhere
    planes[0, :3, 8:] = True  # key 255 on rows 0-2, key 0 on rows 3-5
    qt = QuantizedTensor("x", np.zeros((6, 16), np.float32), 96, payload={"planes": planes})
    from shiftadd.workloads.stats import LayerStats

    acc = LayerStats("x", cols=16)
    acc.add(np.zeros((6, 16), np.float32), qt)
    r = acc.result()
    hist = np.array(r["key_hist"])
    assert hist.sum() == 12 and hist[133] == 6 and hist[255] == 3 and hist[0] == 3
    assert r["key_distinct_mean"] == pytest.approx((1 + 2) / 2)
    assert r["key_top_frac"] == pytest.approx(0.5)
    assert r["key_entropy_bits"] == pytest.approx(1.5)


def test_any_registered_format_with_planes(w, two_planes_format):
    s = tensor_stats(w, two_planes_format, mu=4)
    assert s["key_planes"] == 2 and s["key_mu"] == 4 and len(s["key_hist"]) == 16
    assert s["keys"] == 2 * 64 * 40
    assert s["code_bits"] is None and "booth_nonzero" not in s
    assert s["bits_per_weight"] == 2


def test_checkpoint_full_mode_equals_in_memory(tmp_path):
    write_checkpoint(tmp_path, _tiny(), shard_bytes=15_000, seed=3)
    table = checkpoint_stats(tmp_path, "int4", tile=32)
    assert len(table) == 2 * 7
    assert list(table["name"][:7]) == [
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ]
    ckpt = open_checkpoint(tmp_path)
    row = table[table["tensor"] == "model.layers.1.mlp.down_proj.weight"].iloc[0]
    ref = tensor_stats(ckpt.read(row["tensor"]), "int4")
    assert (row["rows"], row["cols"]) == (64, 96)
    for key in ("mse", "rel_fro", "storage_bits", "booth_nonzero", "ent_nonzero", "zero_fraction"):
        assert row[key] == pytest.approx(ref[key]), key
    assert row["bit_density_3"] == pytest.approx(ref["bit_density"][3])
    assert row["blocks"] == 2  # 64 rows in blocks of 32
    head = checkpoint_stats(tmp_path, "int8", include_head=True, layers=[1])
    assert list(head["layer"].unique()) == [1, 2] and head["tensor"].iloc[-1] == "lm_head.weight"
    s = summarize(table)
    assert s["weights"] == table["weights_analysed"].sum()
    assert 4 < s["bits_per_weight"] < 5


def test_sampled_mode(tmp_path):
    write_checkpoint(tmp_path, _tiny(layers=1), seed=4)
    recs = list(iter_checkpoint_stats(tmp_path, "sign", sample_tiles=2, tile=16, seed=1))
    assert all(r["mode"] == "sampled" and r["blocks"] == 2 for r in recs)
    assert all(r["weights_analysed"] == 2 * 16 * 16 for r in recs)
    # storage extrapolated to the whole tensor from the tiles' bits per weight
    r0 = recs[0]
    assert r0["storage_bits"] == round(r0["bits_per_weight"] * r0["rows"] * r0["cols"])
    assert r0["key_hist"] is not None and sum(r0["key_hist"]) == 2 * 16 * 2
    again = list(iter_checkpoint_stats(tmp_path, "sign", sample_tiles=2, tile=16, seed=1))
    other = list(iter_checkpoint_stats(tmp_path, "sign", sample_tiles=2, tile=16, seed=2))
    assert [r["mse"] for r in again] == [r["mse"] for r in recs]
    assert [r["mse"] for r in other] != [r["mse"] for r in recs]
    json.dumps(recs[0], allow_nan=True)  # records are plain Python data


def test_missing_tensor_and_shape_mismatch_name_tensor_and_file(tmp_path):
    write_checkpoint(tmp_path, _tiny(layers=1), seed=0)
    with pytest.raises(InputError) as err:
        checkpoint_stats(tmp_path, "int8", config=_tiny(layers=2))
    msg = str(err.value)
    assert "model.layers.1.self_attn.q_proj.weight" in msg and "model.safetensors" in msg
    with pytest.raises(InputError) as err:
        checkpoint_stats(tmp_path, "int8", config=_tiny(layers=1, intermediate_size=80))
    msg = str(err.value)
    assert "model.layers.0.mlp.gate_proj.weight" in msg and "[96, 64]" in msg
    assert "model.safetensors" in msg
    with pytest.raises(InputError) as err:
        checkpoint_stats(tmp_path, "int77", config=_tiny(layers=1))
    assert err.value.field == "format"
    with pytest.raises(InputError) as err:
        checkpoint_stats(tmp_path, "int8", layers=[3])
    assert err.value.field == "layers"
    with pytest.raises(InputError) as err:
        checkpoint_stats(tmp_path, "sign", sample_tiles=1, tile=12)
    assert err.value.field == "tile"


def test_unsupported_dtype_and_missing_config(tmp_path):
    cfg = _tiny(layers=1)
    from shiftadd.workloads import weight_manifest, write_config

    tensors = {s.tensor: np.zeros(s.stored_shape, np.float32) for s in weight_manifest(cfg)}
    tensors["model.layers.0.mlp.up_proj.weight"] = np.zeros((96, 64), np.int8)
    write_safetensors(tmp_path / "model.safetensors", tensors, dtype=None)
    with pytest.raises(InputError, match="config.json"):
        checkpoint_stats(tmp_path, "int8")
    write_config(tmp_path / "config.json", cfg)
    with pytest.raises(InputError, match="unsupported dtype I8") as err:
        checkpoint_stats(tmp_path, "int8")
    assert "model.layers.0.mlp.up_proj.weight" in str(err.value)
    assert "model.safetensors" in str(err.value)


TINY_FAMILIES = {
    "gpt2": {"model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 50},
    "opt": {
        "model_type": "opt",
        "hidden_size": 32,
        "ffn_dim": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 50,
        "word_embed_proj_dim": 16,
    },
    "bert": {
        "model_type": "bert",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 50,
    },
    "mixtral": {
        "model_type": "mixtral",
        "hidden_size": 32,
        "intermediate_size": 48,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 50,
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
    },
    "phi": {
        "model_type": "phi",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 50,
    },
    "phi3": {
        "model_type": "phi3",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 50,
    },
    "gemma": {
        "model_type": "gemma",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 1,
        "head_dim": 16,
        "vocab_size": 50,
    },
    "qwen2": {
        "model_type": "qwen2",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 50,
    },
}


@pytest.mark.parametrize("family", sorted(TINY_FAMILIES))
def test_every_family_streams(tmp_path, family):
    from shiftadd.workloads import weight_manifest

    cfg = load_model_config(TINY_FAMILIES[family])
    write_checkpoint(tmp_path, cfg, seed=1)
    table = checkpoint_stats(tmp_path, "int8", include_head=True, tile=8)
    manifest = weight_manifest(cfg)
    assert len(table) == len(manifest)
    assert list(zip(table["rows"], table["cols"])) == [s.shape for s in manifest]
    assert (table["rel_fro"] < 0.05).all()
    # Row-wise int8 of W and of W.T differ, so this checks that GPT-2's (in, out) Conv1D
    # layout is transposed back to (out, in) before quantizing.
    spec = manifest[0]
    stored = open_checkpoint(tmp_path).read(table["tensor"].iloc[0])
    logical = stored.T if spec.transposed else stored
    assert spec.transposed == (family == "gpt2")
    assert table["mse"].iloc[0] == pytest.approx(tensor_stats(logical, "int8")["mse"])
