"""safetensors streaming: round trips, bf16 exactness, sharding, tiles, errors, memory."""

import json
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.errors import InputError
from shiftadd.workloads import (
    bf16_to_float32,
    float32_to_bf16,
    load_model_config,
    open_checkpoint,
    synthetic_weights,
    write_checkpoint,
    write_safetensors,
)
from shiftadd.workloads.safetensors_io import INDEX_NAME


def _tiny_llama(layers=2):
    return load_model_config(
        {
            "model_type": "llama",
            "hidden_size": 64,
            "intermediate_size": 96,
            "num_hidden_layers": layers,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 128,
            "_name_or_path": "tiny-llama",
        }
    )


def test_bf16_widening_is_exact_for_every_bit_pattern():
    bits = np.arange(1 << 16, dtype=np.uint16)
    wide = bf16_to_float32(bits)
    assert wide.dtype == np.float32
    assert (wide.view(np.uint32) == bits.astype(np.uint32) << 16).all()
    finite = np.isfinite(wide)
    assert (float32_to_bf16(wide[finite]) == bits[finite]).all()
    assert np.isnan(bf16_to_float32(float32_to_bf16(np.array([np.nan], np.float32)))).all()


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_bf16_rounding_is_nearest_even(x):
    x32 = np.float32(x)
    got = float(bf16_to_float32(float32_to_bf16(np.array([x32])))[0])
    # The two bfloat16 neighbours of |x|: truncation and one unit above it (2**128 past the
    # largest finite value, which then means overflow to infinity).
    u = int(np.array([x32]).view(np.uint32)[0])
    sign, mag = u >> 31, u & 0x7FFFFFFF
    lo = float(np.array([mag & 0xFFFF0000], dtype=np.uint32).view(np.float32)[0])
    hi_bits = (mag & 0xFFFF0000) + 0x10000
    hi = (
        2.0**128
        if hi_bits == 0x7F800000
        else float(np.array([hi_bits], dtype=np.uint32).view(np.float32)[0])
    )
    d_lo, d_hi = abs(float(x32)) - lo, hi - abs(float(x32))
    if d_lo < d_hi or (d_lo == d_hi and not (mag >> 16) & 1):
        expected = lo
    else:
        expected = float("inf") if hi == 2.0**128 else hi
    assert got == (-expected if sign else expected)


@pytest.mark.parametrize("dtype", ["F32", "F16", "BF16"])
def test_single_file_round_trip(tmp_path, dtype):
    a = synthetic_weights((40, 24), seed=3)
    b = np.linspace(-2, 2, 30, dtype=np.float32).reshape(5, 6)
    path = write_safetensors(
        tmp_path / "m.safetensors", {"a": a, "b": b}, dtype=dtype, metadata={"note": "x"}
    )
    ckpt = open_checkpoint(path)
    assert ckpt.names() == ["a", "b"]
    assert ckpt.info("a").dtype == dtype and ckpt.info("a").shape == (40, 24)
    expected = {
        "F32": a,
        "F16": a.astype(np.float16).astype(np.float32),
        "BF16": bf16_to_float32(float32_to_bf16(a)),
    }[dtype]
    got = ckpt.read("a")
    assert got.dtype == np.float32 and np.array_equal(got, expected)
    assert ckpt.files[0].metadata == {"note": "x"}
    # Data section starts 8-byte aligned, as the format recommends.
    (n,) = struct.unpack("<Q", Path(path).read_bytes()[:8])
    assert n % 8 == 0


def test_blocks_tiles_and_transpose(tmp_path):
    a = synthetic_weights((70, 50), seed=1)
    ckpt = open_checkpoint(write_safetensors(tmp_path / "t.safetensors", {"w": a}, dtype="F32"))
    assert np.array_equal(ckpt.read("w", slice(10, 20), slice(5, 9)), a[10:20, 5:9])
    assert np.array_equal(ckpt.read("w", slice(3, 7), transpose=True), a.T[3:7])
    blocks = list(ckpt.iter_row_blocks("w", 32))
    assert [r for r, _ in blocks] == [0, 32, 64]
    assert np.array_equal(np.concatenate([b for _, b in blocks]), a)
    every = list(ckpt.iter_tiles("w", 16))
    assert len(every) == 5 * 4
    for r, c, t in every:
        assert np.array_equal(t, a[r : r + 16, c : c + 16])
    some = [(r, c) for r, c, _ in ckpt.iter_tiles("w", 16, 6, seed=7)]
    assert len(set(some)) == 6
    assert some == [(r, c) for r, c, _ in ckpt.iter_tiles("w", 16, 6, seed=7)]
    assert some != [(r, c) for r, c, _ in ckpt.iter_tiles("w", 16, 6, seed=8)]


def test_sharded_checkpoint(tmp_path):
    cfg = _tiny_llama()
    write_checkpoint(tmp_path, cfg, shard_bytes=20_000, seed=5)
    index = json.loads((tmp_path / INDEX_NAME).read_text())
    shards = set(index["weight_map"].values())
    assert len(shards) > 2
    ckpt = open_checkpoint(tmp_path)
    name = "model.layers.1.mlp.down_proj.weight"
    assert index["weight_map"][name] in {f.path.name for f in ckpt.files}
    assert ckpt.info(name).shape == (64, 96)
    assert load_model_config(ckpt.config_path) == cfg
    # Same seed, same tensors, whatever the sharding.
    single = open_checkpoint(write_checkpoint(tmp_path / "single", cfg, seed=5))
    assert np.array_equal(single.read(name), ckpt.read(name))


def test_synthetic_weights_look_like_llm_weights():
    w = synthetic_weights((2048, 512), seed=0, std=0.02)
    assert abs(float(w.std()) / 0.02 - 1) < 0.5
    assert abs(float(np.mean(w))) < 1e-3
    col_rms = np.sqrt((w.astype(np.float64) ** 2).mean(axis=0))
    outliers = col_rms > 2 * np.median(col_rms)  # a few outlier input channels
    assert 1 <= outliers.sum() <= 5
    row_rms = np.sqrt((w.astype(np.float64) ** 2).mean(axis=1))
    assert row_rms.max() / row_rms.min() > 1.5  # per-channel scale spread
    body = w[:, col_rms < 2 * np.median(col_rms)]
    z = body / body.std(axis=1, keepdims=True)
    assert (z**4).mean() > 3.3  # tails heavier than a normal's
    # Like LLM weights: per-channel int4 hurts, groups of 128 repair most of it.
    from shiftadd.workloads import quantize

    wide = synthetic_weights((128, 11008), seed=5)
    per_row = quantize(wide, "int4").error(wide)["rel_fro"]
    grouped = quantize(wide, "int4", group_size=128).error(wide)["rel_fro"]
    assert 0.1 < grouped < 0.2 and per_row > 1.5 * grouped
    assert np.array_equal(w, synthetic_weights((2048, 512), seed=0, std=0.02))
    assert not np.array_equal(w, synthetic_weights((2048, 512), seed=1, std=0.02))


def _file_with_header(path, header: dict, data: bytes = b""):
    head = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + data)
    return path


def test_corrupt_and_truncated_files(tmp_path):
    good = write_safetensors(
        tmp_path / "good.safetensors", {"layer.weight": np.ones((64, 64), np.float32)}, dtype="BF16"
    )
    raw = good.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(raw[:-100])
    with pytest.raises(InputError) as err:
        open_checkpoint(cut)
    assert "layer.weight" in str(err.value) and str(cut) in str(err.value)
    assert "truncated" in str(err.value)

    tiny = tmp_path / "tiny.safetensors"
    tiny.write_bytes(b"\x01\x02")
    with pytest.raises(InputError, match="truncated"):
        open_checkpoint(tiny)
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 10**6) + b"{}")
    with pytest.raises(InputError, match="header"):
        open_checkpoint(huge)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(struct.pack("<Q", 5) + b"{abc]")
    with pytest.raises(InputError, match="corrupt") as err:
        open_checkpoint(garbage)
    assert str(garbage) in str(err.value)
    bad_range = _file_with_header(
        tmp_path / "range.safetensors",
        {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}},
        b"\0" * 16,
    )
    with pytest.raises(InputError, match="'w'"):
        open_checkpoint(bad_range)
    bad_dtype = _file_with_header(
        tmp_path / "dtype.safetensors",
        {"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]}},
        b"\0" * 2,
    )
    with pytest.raises(InputError, match="unknown dtype"):
        open_checkpoint(bad_dtype)


def test_unsupported_dtype_names_tensor_and_file(tmp_path):
    path = write_safetensors(
        tmp_path / "i8.safetensors", {"q.weight": np.ones((4, 4), np.int8)}, dtype=None
    )
    ckpt = open_checkpoint(path)
    assert ckpt.info("q.weight").dtype == "I8"
    with pytest.raises(InputError, match="unsupported dtype I8") as err:
        ckpt.read("q.weight")
    assert "q.weight" in str(err.value) and str(path) in str(err.value)
    with pytest.raises(InputError, match="not found"):
        ckpt.read("k.weight")


def test_sharded_index_errors(tmp_path):
    write_checkpoint(tmp_path, _tiny_llama(), shard_bytes=20_000)
    index_path = tmp_path / INDEX_NAME
    index = json.loads(index_path.read_text())
    victim = sorted(set(index["weight_map"].values()))[1]
    (tmp_path / victim).rename(tmp_path / "moved.safetensors")
    with pytest.raises(InputError, match="missing") as err:
        open_checkpoint(tmp_path)
    assert victim in str(err.value) and str(index_path) in str(err.value)
    (tmp_path / "moved.safetensors").rename(tmp_path / victim)
    index["weight_map"]["model.layers.0.mlp.up_proj.weight"] = victim
    if (
        victim
        == json.loads(index_path.read_text())["weight_map"]["model.layers.0.mlp.up_proj.weight"]
    ):
        pytest.skip("tensor already in that shard")
    index_path.write_text(json.dumps(index))
    with pytest.raises(InputError, match="model.layers.0.mlp.up_proj.weight") as err:
        open_checkpoint(tmp_path)
    assert victim in str(err.value)
    index_path.write_text(json.dumps({"metadata": {}}))
    with pytest.raises(InputError, match="weight_map"):
        open_checkpoint(tmp_path)


def test_streaming_holds_one_tensor_at_a_time(tmp_path):
    shape = (256, 512)
    tensors = {f"t{i}": synthetic_weights(shape, seed=i) for i in range(16)}
    path = write_safetensors(tmp_path / "many.safetensors", tensors, dtype="BF16")
    ckpt = open_checkpoint(path)
    one = shape[0] * shape[1] * 4  # one float32 tensor
    del tensors
    tracemalloc.start()
    try:
        total = 0.0
        for _, t in ckpt.iter_tensors():
            total += float(t.sum())
            del t  # drop our reference so that only the library's own memory counts
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _, block in ckpt.iter_row_blocks("t3", 16):
            total += float(block.sum())
            del block
        _, block_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * one, (peak, one)  # whole model would be 16 * one
    assert block_peak < 0.25 * one, (block_peak, one)  # a 16-row block, not the tensor
    maps = Path("/proc/self/maps")
    if maps.exists():  # reads unmap the file again
        assert str(path) not in maps.read_text()
