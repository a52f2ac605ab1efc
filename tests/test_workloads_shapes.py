"""Model configs and GEMM tables: real shapes, parameter counts, error paths."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.errors import InputError
from shiftadd.workloads import (
    gemm_table,
    list_presets,
    load_model_config,
    weight_manifest,
    weight_params,
    write_config,
)


def _rows(df, name, layer=0):
    return df[(df["name"] == name) & (df["layer"] == layer)]


def test_llama2_7b_decode_q_proj_shape():
    df = gemm_table(load_model_config("llama-2-7b"), phase="decode", batch=1, context=4096)
    q = df[df["name"] == "q_proj"]
    assert len(q) == 32
    assert (q[["M", "N", "K"]].to_numpy() == [1, 4096, 4096]).all()
    assert q["weight_shape"].iloc[0] == (4096, 4096)
    down = _rows(df, "down_proj")
    assert down[["M", "N", "K"]].to_numpy().tolist() == [[1, 4096, 11008]]
    assert set(df["phase"]) == {"decode"}


def test_llama2_7b_weight_count_matches_published_total():
    # 6,738,415,616 parameters minus the token embedding and the 65 RMSNorm vectors.
    expected = 6_738_415_616 - 32000 * 4096 - 65 * 4096
    df = gemm_table("llama-2-7b", phase="decode")
    assert weight_params(df) == expected
    assert (
        sum(s.shape[0] * s.shape[1] for s in weight_manifest(load_model_config("llama-2-7b")))
        == expected
    )


def test_llama2_70b_and_mixtral_weight_counts():
    # Published totals 68,976,648,192 and 46,702,792,704, minus embeddings and norms.
    df = gemm_table("llama-2-70b", phase="prefill", seq=16)
    assert weight_params(df) == 68_976_648_192 - 32000 * 8192 - 161 * 8192
    mix = load_model_config("mixtral-8x7b")
    total = sum(s.shape[0] * s.shape[1] for s in weight_manifest(mix))
    assert total == 46_702_792_704 - 32000 * 4096 - 65 * 4096


def test_llama3_8b_gqa_shapes():
    df = gemm_table("llama-3-8b", phase="decode", batch=2, context=1000)
    assert _rows(df, "k_proj")["N"].item() == 1024
    assert _rows(df, "v_proj")["N"].item() == 1024
    assert _rows(df, "q_proj")["N"].item() == 4096
    assert _rows(df, "gate_proj")["N"].item() == 14336
    score = _rows(df, "attn_score")
    # 4 query heads share each of the 8 KV heads: stacked along M, repeated batch*8 times.
    assert score[["M", "N", "K", "count"]].to_numpy().tolist() == [[4, 1000, 128, 16]]
    value = _rows(df, "attn_value")
    assert value[["M", "N", "K", "count"]].to_numpy().tolist() == [[4, 128, 1000, 16]]
    assert (score["kind"] == "act x act").all() and score["weight_shape"].iloc[0] is None
    assert _rows(df, "lm_head", 32)[["M", "N", "K"]].to_numpy().tolist() == [[2, 128256, 4096]]


def test_prefill_tokens_and_attention_macs():
    b, s = 3, 64
    cfg = load_model_config("llama-2-13b")
    df = gemm_table(cfg, phase="prefill", batch=b, seq=s)
    weights = df[(df["kind"] == "act x weight") & (df["block"] != "head")]
    assert (weights["M"] == b * s).all()
    assert _rows(df, "lm_head", 40)["M"].item() == b  # only the last position's logits
    attn = df[df["kind"] == "act x act"]
    # QK^T and PV: each b * heads * s * s * head_dim MACs per layer.
    assert attn["macs"].sum() == 2 * 40 * b * 40 * s * s * 128
    all_tokens = gemm_table(cfg, phase="prefill", batch=b, seq=s, head_tokens="all")
    assert _rows(all_tokens, "lm_head", 40)["M"].item() == b * s


def test_mistral_sliding_window_caps_attention():
    df = gemm_table("mistral-7b", phase="decode", context=8192)
    assert _rows(df, "attn_score")["N"].item() == 4096
    assert _rows(df, "attn_value")["K"].item() == 4096
    df = gemm_table("llama-3-8b", phase="decode", context=8192)
    assert _rows(df, "attn_score")["N"].item() == 8192


def test_mixtral_routes_to_active_experts():
    decode = gemm_table("mixtral-8x7b", phase="decode", batch=1, context=128)
    up = _rows(decode, "expert_up_proj")
    assert up[["M", "N", "K", "count"]].to_numpy().tolist() == [[1, 14336, 4096, 2]]
    assert _rows(decode, "router")[["N", "K"]].to_numpy().tolist() == [[8, 4096]]
    prefill = gemm_table("mixtral-8x7b", phase="prefill", batch=1, seq=5)  # 10 assignments
    down = _rows(prefill, "expert_down_proj")
    assert sorted(down[["M", "count"]].to_numpy().tolist()) == [[1, 6], [2, 2]]
    assert (down["M"] * down["count"]).sum() == 5 * 2


@pytest.mark.parametrize(
    "name, checks",
    [
        ("gemma-2b", {"q_proj": (2048, 2048), "k_proj": (256, 2048), "lm_head": (256000, 2048)}),
        ("gpt2", {"qkv_proj": (2304, 768), "fc1": (3072, 768), "lm_head": (50257, 768)}),
        (
            "opt-350m",
            {
                "q_proj": (1024, 1024),
                "fc1": (4096, 1024),
                "project_in": (1024, 512),
                "project_out": (512, 1024),
                "lm_head": (50272, 512),
            },
        ),
        ("opt-66b", {"q_proj": (9216, 9216), "fc2": (9216, 36864)}),
        ("phi-2", {"q_proj": (2560, 2560), "fc1": (10240, 2560), "o_proj": (2560, 2560)}),
        ("phi-3-mini", {"qkv_proj": (9216, 3072), "gate_up_proj": (16384, 3072)}),
        ("qwen2-7b", {"k_proj": (512, 3584), "down_proj": (3584, 18944)}),
        ("bert-base", {"q_proj": (768, 768), "fc2": (768, 3072), "mlm_transform": (768, 768)}),
    ],
)
def test_family_shapes(name, checks):
    df = gemm_table(name, phase="prefill", seq=32)
    for gemm, shape in checks.items():
        rows = df[df["name"] == gemm]
        assert not rows.empty, gemm
        assert rows["weight_shape"].iloc[0] == shape, gemm
        assert tuple(rows[["N", "K"]].iloc[0]) == shape


def test_all_presets_round_trip_through_config_json(tmp_path):
    assert {"opt-125m", "opt-66b", "llama-2-70b", "llama-3-8b", "mistral-7b", "gemma-2b"} <= set(
        list_presets()
    )
    for name in list_presets():
        cfg = load_model_config(name)
        path = write_config(tmp_path / name / "config.json", cfg)
        assert load_model_config(path) == cfg
        assert load_model_config(path.parent) == cfg


def test_preset_lookup_by_hugging_face_id():
    assert load_model_config("meta-llama/Llama-2-7b-hf").name == "llama-2-7b"
    assert load_model_config("Meta-Llama-3-8B").num_kv_heads == 8
    assert load_model_config("facebook/opt-1.3b").hidden_size == 2048


def _write(tmp_path, data):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def test_missing_key_names_key_and_file(tmp_path):
    data = load_model_config("llama-2-7b").to_hf_dict()
    del data["num_attention_heads"]
    path = _write(tmp_path, data)
    with pytest.raises(InputError) as err:
        load_model_config(path)
    assert err.value.field == "num_attention_heads"
    assert str(path) in str(err.value) and "missing key" in str(err.value)


def test_unknown_family_and_bad_values(tmp_path):
    path = _write(tmp_path, {"model_type": "rwkv", "hidden_size": 8})
    with pytest.raises(InputError, match="model_type") as err:
        load_model_config(path)
    assert str(path) in str(err.value)
    with pytest.raises(InputError, match="model_type"):
        load_model_config(_write(tmp_path, {"hidden_size": 8}))
    data = load_model_config("llama-3-8b").to_hf_dict()
    data["num_key_value_heads"] = 5
    with pytest.raises(InputError, match="num_key_value_heads"):
        load_model_config(_write(tmp_path, data))
    data["num_key_value_heads"] = -8
    with pytest.raises(InputError, match="positive integer"):
        load_model_config(_write(tmp_path, data))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="invalid JSON"):
        load_model_config(tmp_path / "config.json")
    with pytest.raises(InputError, match="no preset") as err:
        load_model_config("llama-9-1b")
    assert "llama-2-7b" in str(err.value)


def test_bad_phase_and_sizes():
    with pytest.raises(InputError, match="encoder"):
        gemm_table("bert-base", phase="decode")
    with pytest.raises(InputError) as err:
        gemm_table("opt-125m", phase="generate")
    assert err.value.field == "phase"
    with pytest.raises(InputError) as err:
        gemm_table("opt-125m", batch=0)
    assert err.value.field == "batch"


@settings(max_examples=40, deadline=None)
@given(
    kv=st.sampled_from([1, 2, 4, 8]),
    group=st.sampled_from([1, 2, 4]),
    head_dim=st.sampled_from([16, 64, 128]),
    inter=st.integers(1, 5000),
    layers=st.integers(1, 4),
    batch=st.integers(1, 8),
    seq=st.integers(1, 300),
    phase=st.sampled_from(["prefill", "decode"]),
)
def test_macs_equal_tokens_times_weights(kv, group, head_dim, inter, layers, batch, seq, phase):
    heads = kv * group
    cfg = load_model_config(
        {
            "model_type": "llama",
            "hidden_size": heads * head_dim,
            "intermediate_size": inter,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": kv,
            "vocab_size": 1000,
        }
    )
    df = gemm_table(cfg, phase=phase, batch=batch, seq=seq, context=seq)
    tokens = batch * seq if phase == "prefill" else batch
    body = df[(df["kind"] == "act x weight") & (df["block"] != "head")]
    h = heads * head_dim
    per_layer = 2 * h * h + 2 * kv * head_dim * h + 3 * h * inter
    assert body["macs"].sum() == tokens * layers * per_layer
    q_len = seq if phase == "prefill" else 1
    attn = df[df["kind"] == "act x act"]
    assert attn["macs"].sum() == 2 * layers * batch * heads * q_len * seq * head_dim
