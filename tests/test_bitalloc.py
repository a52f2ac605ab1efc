"""Tests of per-layer bit allocation (shiftadd.workloads.bitalloc)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shiftadd import InputError
from shiftadd.workloads.bitalloc import allocate_bits, layer_sensitivity, sensitivity_table


def _w(n, k, seed, scale=0.02):
    return (np.random.default_rng(seed).standard_normal((n, k)) * scale).astype(np.float32)


def test_score_scales_with_the_square_of_the_weights():
    # doubling a layer doubles every scale exactly (pow2/APoT grids move with it), so the
    # error and the score grow exactly 4x
    w = _w(32, 64, 0)
    for form in ("apot", "pow2", "free"):
        a = layer_sensitivity(w, scale_form=form)
        b = layer_sensitivity(2 * w, scale_form=form)
        assert a["score"] > 0
        assert b["score"] == pytest.approx(4 * a["score"], rel=1e-6)
        assert a["err_low"] > a["err_high"]


def test_score_is_per_weight():
    w = _w(32, 64, 1)
    a = layer_sensitivity(w)["score"]
    b = layer_sensitivity(np.concatenate([w, w]))["score"]  # same weights, twice the layer
    assert b == pytest.approx(a, rel=1e-6)


def test_calibration_methods():
    rng = np.random.default_rng(2)
    w = _w(16, 64, 2)
    x = rng.standard_normal((128, 64))
    out = layer_sensitivity(w, calib=x)
    hd = layer_sensitivity(w, calib=x, method="hessian_diag")
    # definitions, recomputed directly
    from shiftadd.workloads.bcq import bcq_quantize

    d2 = w.astype(np.float64) - bcq_quantize(w, 2).dequantized()
    assert out["err_low"] == pytest.approx(np.sum((x @ d2.T) ** 2) / 128, rel=1e-9)
    h = np.sum(x * x, axis=0) / 128
    assert hd["err_low"] == pytest.approx(np.sum(d2**2 * h[None, :]), rel=1e-9)
    # louder inputs make the same weights more sensitive
    assert layer_sensitivity(w, calib=3 * x)["score"] == pytest.approx(9 * out["score"], rel=1e-9)


def test_sensitivity_table_and_default_rule():
    layers = {f"l{i}": _w(16, 32, i, scale=0.01 * (i + 1)) for i in range(10)}
    t = sensitivity_table(layers)
    assert list(t.columns[:5]) == ["layer", "out_features", "in_features", "params", "score"]
    assert list(t["layer"]) == list(layers)
    a = allocate_bits(t)
    assert {"layer", "params", "score", "bits", "storage_bits"} <= set(a.columns)
    assert (a["bits"] == 3).sum() == 2 and (a["bits"] == 2).sum() == 8
    # the two largest-magnitude layers are the most sensitive ones
    assert set(a.loc[a["bits"] == 3, "layer"]) == {"l8", "l9"}
    assert set(a.nlargest(2, "score")["layer"]) == {"l8", "l9"}
    per_bit = a["params"] + a["scale_bits_per_plane"]
    np.testing.assert_array_equal(a["storage_bits"], np.rint(per_bit * a["bits"]))
    assert a.attrs["bits_per_weight"] == pytest.approx(a["storage_bits"].sum() / a["params"].sum())


def test_high_fraction():
    t = pd.DataFrame(
        {"layer": list("abcde"), "params": [100] * 5, "score": [5.0, 1.0, 4.0, 2.0, 3.0]}
    )
    assert list(allocate_bits(t, high_fraction=0.4)["bits"]) == [3, 2, 3, 2, 2]
    assert list(allocate_bits(t, high_fraction=0.0)["bits"]) == [2] * 5
    assert list(allocate_bits(t, high_fraction=1.0)["bits"]) == [3] * 5
    assert list(allocate_bits(t, high_fraction=0.6, low=1, high=4)["bits"]) == [4, 1, 4, 1, 4]


def test_budget():
    t = pd.DataFrame(
        {
            "layer": ["a", "b", "c", "d"],
            "params": [100, 300, 100, 100],
            "score": [4.0, 3.0, 2.0, 1.0],
        }
    )
    # 2 bits everywhere = 1200 bits; budget 2.5 bits/weight = 1500 bits: 300 spare.
    a = allocate_bits(t, budget=2.5)
    # a (100) fits, b (300) no longer does, c (100) and d (100) do
    assert list(a["bits"]) == [3, 2, 3, 3]
    assert a["storage_bits"].sum() <= 2.5 * 600
    assert list(allocate_bits(t, budget=2.0)["bits"]) == [2, 2, 2, 2]
    assert list(allocate_bits(t, budget=3.0)["bits"]) == [3, 3, 3, 3]
    with pytest.raises(InputError) as ei:
        allocate_bits(t, budget=1.9)
    assert ei.value.field == "budget"


def test_budget_counts_scales():
    t = pd.DataFrame(
        {
            "layer": ["a", "b"],
            "params": [128, 128],
            "score": [2.0, 1.0],
            "scale_bits_per_plane": [16.0, 16.0],
        }
    )
    # per plane 128 + 16 = 144 bits; all at 2 bits: 576 bits = 2.25 bits/weight
    with pytest.raises(InputError, match="2.2500"):
        allocate_bits(t, budget=2.2)
    assert list(allocate_bits(t, budget=2.25 + 144 / 256)["bits"]) == [3, 2]


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"low": 3, "high": 3}, "low"),
        ({"low": 0}, "low"),
        ({"high": 5}, "high"),
        ({"high_fraction": 1.5}, "high_fraction"),
        ({"budget": "lots"}, "budget"),
    ],
)
def test_bad_allocation_arguments(kwargs, field):
    t = pd.DataFrame({"layer": ["a"], "params": [10], "score": [1.0]})
    with pytest.raises(InputError) as ei:
        allocate_bits(t, **kwargs)
    assert ei.value.field == field


def test_bad_tables_and_layers():
    with pytest.raises(InputError) as ei:
        allocate_bits(pd.DataFrame({"layer": ["a"], "params": [10]}))
    assert ei.value.field == "table"
    with pytest.raises(InputError):
        allocate_bits(pd.DataFrame({"layer": ["a"], "params": [10], "score": [np.nan]}))
    with pytest.raises(InputError):
        sensitivity_table({})
    with pytest.raises(InputError) as ei:
        layer_sensitivity(_w(8, 16, 0), method="output")
    assert ei.value.field == "calib"
    with pytest.raises(InputError) as ei:
        layer_sensitivity(_w(8, 16, 0), calib=np.zeros((0, 16)))
    assert ei.value.field == "calib"
    with pytest.raises(InputError) as ei:
        layer_sensitivity(_w(8, 16, 0), calib=np.ones((4, 15)))
    assert ei.value.field == "calib"
    with pytest.raises(InputError) as ei:
        layer_sensitivity(_w(8, 16, 0), group_rows=3)
    assert ei.value.field == "group_rows"
