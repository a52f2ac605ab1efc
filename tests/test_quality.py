"""Model-quality figures of number formats: activation and weight rounding, per-layer errors,
sources (synthetic, checkpoint), the cache, and what every design family computes with."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shiftadd.errors import InputError
from shiftadd.families import arches, family
from shiftadd.workloads.bcq import bcq_fixed_quantize
from shiftadd.workloads.configs import load_model_config
from shiftadd.workloads.interchange import resolve_workload
from shiftadd.workloads.quality import (
    NumberFormat,
    format_quality,
    layer_errors,
    quality_source,
    quantize_activations,
    quantize_weights,
    synthetic_activations,
)
from shiftadd.workloads.synthetic import synthetic_weights, write_checkpoint


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIFTADD_CACHE", str(tmp_path / "cache"))


def test_activation_formats():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 33)).astype(np.float32) * 3
    assert np.array_equal(quantize_activations(x, "fp"), x)
    s = quantize_activations(x, "sign")
    assert np.allclose(np.abs(s), np.mean(np.abs(x), axis=1, keepdims=True))
    assert np.array_equal(np.sign(s), np.where(x >= 0, 1, -1))
    q = quantize_activations(x, "int8")
    step = np.abs(x).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(q - x) <= step / 2 + 1e-6)
    assert len(np.unique(np.round(q / step))) <= 255
    u = quantize_activations(x, "uint4")
    # the per-token minimum and maximum are representable exactly
    assert np.allclose(u.min(axis=1), x.min(axis=1), atol=1e-5)
    assert np.allclose(u.max(axis=1), x.max(axis=1), atol=1e-5)
    assert all(len(np.unique(row)) <= 16 for row in u)


@pytest.mark.parametrize("act", ["int1", "int17", "float", "uint", "sign8"])
def test_bad_activation_format(act):
    with pytest.raises(InputError, match="act_format"):
        NumberFormat("int8", act)


def test_fixed_scale_bcq_default_levels_are_odd_integers():
    rng = np.random.default_rng(1)
    scales = rng.uniform(0.5, 2.0, size=(6, 1))
    codes = rng.choice([-7, -5, -3, -1, 1, 3, 5, 7], size=(6, 40))
    codes[:, 0] = 7  # every row uses its largest level, so the scale is identified
    w = (codes * scales).astype(np.float32)
    qt = bcq_fixed_quantize(w, 3)
    assert np.array_equal(qt.payload["levels"], np.arange(-7, 8, 2))
    assert np.allclose(qt.dequantized, w, rtol=1e-5, atol=1e-6)
    assert qt.storage_bits == 3 * w.size + 16 * 6
    with pytest.raises(InputError, match="plane_scales"):
        bcq_fixed_quantize(w, 3, plane_scales=(1.0, 2.0))


def test_group_sizes_that_do_not_divide_are_padded():
    w = synthetic_weights((30, 42), seed=3)
    fmt = NumberFormat("bcq2", "int8", (("mu", 4), ("group_rows", 8), ("scale_form", "pow2")))
    qt = quantize_weights(w, fmt)
    assert qt.dequantized.shape == w.shape
    assert 0 < qt.error(w)["rel_fro"] < 1


def test_layer_errors_order_the_formats():
    w = synthetic_weights((128, 256), seed=2)
    x = synthetic_activations(256)
    err = {
        f: layer_errors(w, x, NumberFormat(f, "fp"))["output_error"]
        for f in ("sign", "ternary", "int4", "int8", "int16")
    }
    assert err["sign"] > err["ternary"] > err["int4"] > err["int8"] > err["int16"]
    assert err["int16"] < 1e-3
    # coarser activations only add error
    e8 = layer_errors(w, x, NumberFormat("int8", "int8"))
    assert e8["output_error"] > err["int8"]
    assert e8["bits_per_weight"] > 8  # scales included
    # the definition: ||X W^T - Xq Wq^T|| / ||X W^T||
    wq = quantize_weights(w, NumberFormat("int4", "int8")).dequantized
    xq = quantize_activations(x, "int8")
    ref = np.linalg.norm(x @ w.T - xq @ wq.T) / np.linalg.norm(x @ w.T)
    got = layer_errors(w, x, NumberFormat("int4", "int8"))["output_error"]
    assert got == pytest.approx(ref, rel=1e-4)


def test_synthetic_source_and_cache(tmp_path):
    table = resolve_workload("opt-125m", phase="decode", context=64)
    src = quality_source("opt-125m", table)
    assert src.kind == "synthetic" and src.metric == "1 - output_error"
    assert (768, 768) in src.shapes and "synthetic" in src.description
    fmt = NumberFormat("int4", "int8")
    first = format_quality(src, fmt)
    assert first.quality == pytest.approx(1 - first.output_error)
    assert len(first.layers) == len(src.shapes)
    files = list((tmp_path / "cache" / "quality").glob("*.json"))
    assert len(files) == 1
    # a cached figure is read back as it was computed
    assert format_quality(src, fmt) == first
    # a damaged entry is recomputed, not trusted
    files[0].write_text("{not json")
    assert format_quality(src, fmt) == first
    assert json.loads(files[0].read_text())["quality"] == first.quality
    worse = format_quality(src, NumberFormat("sign", "sign"))
    assert worse.quality < first.quality


def test_checkpoint_source(tmp_path):
    cfg = load_model_config(
        {
            "model_type": "llama",
            "hidden_size": 64,
            "intermediate_size": 96,
            "num_hidden_layers": 6,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 128,
        }
    )
    folder = write_checkpoint(tmp_path / "ckpt", cfg, seed=4)
    src = quality_source(str(folder))
    assert src.kind == "checkpoint" and src.path == str(folder)
    r = format_quality(src, NumberFormat("int4", "int8"))
    # up to CHECKPOINT_LAYERS layers of 7 linears (q, k, v, o, gate, up, down)
    assert len(r.layers) == 4 * 7
    assert 0 < r.output_error < 0.5
    # config.json names the same checkpoint
    assert quality_source(str(folder / "config.json")).path == str(folder)


def test_source_without_weight_gemms():
    import pandas as pd

    table = pd.DataFrame({"N": [4], "K": [4], "kind": ["act x act"]})
    with pytest.raises(InputError, match="workload.spec"):
        quality_source("my.csv", table)


@pytest.mark.parametrize("arch", arches())
def test_every_family_names_its_number_format(arch):
    fam = family(arch)
    design = fam.design_class()
    fmt = design.number_format
    assert isinstance(fmt, NumberFormat)
    w = synthetic_weights((16, 64), seed=0)
    # the format is one the quantizers know, and it runs
    assert layer_errors(w, synthetic_activations(64), fmt)["output_error"] >= 0


def test_mode_formats():
    from shiftadd.design.adder_tree import AdderTreeDesign
    from shiftadd.design.shiftadd import ShiftAddDesign
    from shiftadd.design.systolic import SystolicDesign

    assert AdderTreeDesign(mode="xnor").number_format == NumberFormat("sign", "sign")
    assert AdderTreeDesign(mode="addsub", act_bits=6).number_format == NumberFormat("sign", "int6")
    f = AdderTreeDesign(mode="mac", weight_bits=4, weight_signed=False, act_signed=False)
    assert f.number_format == NumberFormat("int4_asym", "uint8")
    assert SystolicDesign(mode="ternary").number_format.weight == "ternary"
    sa = ShiftAddDesign(q=3, mu=4, terms=2, columns=8, scale_rows=4).number_format
    opts = dict(sa.weight_options)
    assert sa.weight == "bcq3" and opts["scale_form"] == "apot" and opts["apot_terms"] == 2
    assert opts["mu"] == 4 and opts["group_rows"] == 4
    assert ShiftAddDesign(terms=1).number_format.weight_options[-2] == ("scale_form", "pow2")
    const = ShiftAddDesign(q=2, shifter="constant").number_format
    assert const.weight == "bcq2_fixed" and dict(const.weight_options)["plane_scales"] == (2, 1)
