"""Sweeps priced on data activity (``activity = "data"``): each GEMM's energy from the switching
measured on the data it runs (all-MiniLM-L6-v2's own weights and calibration activations),
0.5 for the families without a data model, and the ``activity_source`` column saying which."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from shiftadd.errors import InputError
from shiftadd.models.cost import cost_terms, gemm_energy_pj, output_drains
from shiftadd.models.data_activity import workload_gemm_operands
from shiftadd.models.perf import design_vector
from shiftadd.models.sweep import ACTIVITY_SOURCES, evaluate_chunk, parse_sweep_spec, run_sweep
from shiftadd.workloads.activity_stats import DataActivity
from shiftadd.workloads.encoder import BertEncoder
from shiftadd.workloads.packaged import packaged_checkpoint

MODELLED = ("adder_tree", "systolic", "matrix2d")
# A data model, but the data switches these nets about as random data does, so the data
# energy stays within 1 % of the 0.5 figure: binary layers (MiniLM's signs in the threshold
# PEs) and the shift-add engine (BCQ plane bits and LUT keys of real weights; its
# activations' attention GEMMs run on a whole real sequence, with no packing zeros).
NEAR_RANDOM = ("threshold", "shiftadd")
# Families of the spec without a data model (priced at 0.5 on a "data" point): none now.
UNMODELLED: tuple[str, ...] = ()
BOTH = [0.5, "data"]
SPEC = {
    "name": "data-activity",
    "workload": {
        "spec": "all-minilm-l6-v2",
        "phase": "prefill",
        "seq": 128,
        "include_head": False,
    },
    "options": {"quality": "off"},
    "engines": [
        {"arch": "adder_tree", "mode": "mac", "k": 64, "n": 8, "activity": BOTH},
        {"arch": "systolic", "mode": "mac", "rows": 8, "cols": 8, "activity": BOTH},
        {"arch": "matrix2d", "mode": "mac", "rows": 8, "cols": 8, "activity": BOTH},
        {"arch": "shiftadd", "q": 2, "mu": 8, "columns": 8, "activity": BOTH},
        {"arch": "threshold", "activity": BOTH},
    ],
}
WEIGHT_GEMMS = {"q_proj", "k_proj", "v_proj", "o_proj", "fc1", "fc2"}


def spec_with(**engine_fields):
    data = copy.deepcopy(SPEC)
    for engine in data["engines"]:
        engine.update(engine_fields)
    return data


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The spec, and its points, layers and sweep.json after a real run."""
    out = tmp_path_factory.mktemp("data_activity")
    spec = parse_sweep_spec(copy.deepcopy(SPEC))
    result = run_sweep(spec, out, workers=1, progress=False)
    points = pd.read_parquet(out / "points.parquet")
    layers = pd.read_parquet(out / "layers.parquet")
    meta = json.loads((out / "sweep.json").read_text())
    return spec, result, points, layers, meta


def pairs(points: pd.DataFrame) -> pd.DataFrame:
    """Per design (one engine table here): its 0.5 row and its "data" row side by side."""
    num = points[points["activity_source"] == "number"].set_index("arch")
    dat = points[points["activity_source"] != "number"].set_index("arch")
    return num.join(dat.add_suffix("_data")).rename(
        columns=lambda c: c if c.endswith("_data") else f"{c}_num"
    )


def test_energy_follows_the_data_only_where_a_family_has_a_data_model(sweep):
    _, _, points, _, _ = sweep
    both = pairs(points)
    assert set(both.index) == set(MODELLED) | set(NEAR_RANDOM) | set(UNMODELLED)
    for arch in MODELLED:
        num, dat = both.loc[arch, "energy_uj_num"], both.loc[arch, "energy_uj_data"]
        # Real MiniLM data switches less than uniformly random codes: a few percent less.
        assert 0.5 * num < dat < num * (1 - 1e-3), arch
        # Only the data-driven compute energy moves; memory traffic is the same.
        for col in ("energy_sram_uj", "energy_dram_uj", "cycles", "area_mm2"):
            assert both.loc[arch, f"{col}_num"] == both.loc[arch, f"{col}_data"], (arch, col)
    for arch in NEAR_RANDOM:
        num, dat = both.loc[arch, "energy_uj_num"], both.loc[arch, "energy_uj_data"]
        assert dat != num and dat == pytest.approx(num, rel=0.01), arch
    for arch in UNMODELLED:
        assert both.loc[arch, "energy_uj_num"] == both.loc[arch, "energy_uj_data"], arch


def test_activity_source_column(sweep):
    spec, _, points, layers, _ = sweep
    assert spec.activity_label == "data:checkpoint+checkpoint-attention"
    src = points.set_index(["arch", points["activity_source"] == "number"])["activity_source"]
    assert src.index.is_unique
    for arch in MODELLED + NEAR_RANDOM:
        assert src.loc[(arch, True)] == "number"
        assert src.loc[(arch, False)] == "data:checkpoint+checkpoint-attention"
    for arch in UNMODELLED:
        assert src.loc[(arch, False)] == "no-data-model-0.5"
    # The activity column: the spec's number, NaN where priced on data, 0.5 where a family
    # without a data model was asked for data.
    act = points.set_index(["arch", "activity_source"])["activity"]
    assert act.loc[("adder_tree", "number")] == 0.5
    assert np.isnan(act.loc[("systolic", "data:checkpoint+checkpoint-attention")])
    for arch in UNMODELLED:
        assert act.loc[(arch, "no-data-model-0.5")] == 0.5
    # Per GEMM: the weight GEMMs on the checkpoint, attention's act x act on its Q, K, V, P.
    assert list(layers["activity_source"].cat.categories) == list(ACTIVITY_SOURCES)

    def rows(source):
        ids = points.loc[points["activity_source"] == source, "point"]
        return layers[layers["point"].isin(ids)]

    on_data = rows("data:checkpoint+checkpoint-attention")
    for gemm, kind in on_data.groupby("gemm", observed=True)["activity_source"]:
        expected = "data:checkpoint" if gemm in WEIGHT_GEMMS else "data:checkpoint-attention"
        assert set(kind) == {expected}, gemm
    assert set(on_data["gemm"]) == WEIGHT_GEMMS | {"attn_score", "attn_value"}
    unmodelled = set(rows("no-data-model-0.5")["activity_source"])
    assert unmodelled == ({"no-data-model-0.5"} if UNMODELLED else set())
    assert set(rows("number")["activity_source"]) == {"number"}


def test_outputs_say_what_the_activity_was_measured_on(sweep):
    _, result, points, _, meta = sweep
    assert meta["activity"]["data"] is True
    assert meta["activity"]["label"] == "data:checkpoint+checkpoint-attention"
    gemms = {g["name"]: g for g in meta["activity"]["gemms"]}
    assert gemms["fc1"]["kind"] == "checkpoint"
    assert "calibration activations" in gemms["fc1"]["description"]
    assert "6 layers" in gemms["fc1"]["description"]
    assert gemms["attn_score"]["kind"] == "checkpoint-attention"
    counts = {k: v for k, v in result["activity"]["counts"].items() if v}
    expected = {"number": 5, "data:checkpoint+checkpoint-attention": 5 - len(UNMODELLED)}
    if UNMODELLED:
        expected["no-data-model-0.5"] = len(UNMODELLED)
    assert counts == expected
    text = result["activity"]["text"]
    assert ("no data-activity model" in text) == bool(UNMODELLED)
    assert ", ".join(sorted(UNMODELLED)) in text


def test_vectorized_energy_equals_the_cost_model_per_gemm(sweep):
    """Each data-priced layer row is the scalar cost model on that GEMM's own activity: the
    difference from the 0.5 row is the compute energy on the measured activity minus that on
    uniform 0.5 (memory and leakage are the same)."""
    spec, _, points, layers, _ = sweep
    L = spec.layers.set_index("name")
    for block in spec.blocks:
        arch = block.arch
        if arch not in MODELLED + NEAR_RANDOM:
            continue
        design = block.designs[0]
        acts = spec.design_activity(design)
        assert len(acts) == len(spec.layers)
        ids = points.loc[points["arch"] == arch].set_index("activity_source")["point"]
        num = layers[layers["point"] == ids["number"]].set_index("gemm")
        dat = layers[layers["point"] == ids[spec.activity_label]].set_index("gemm")
        clock = points.loc[points["point"] == ids["number"], "clock_ns"].iloc[0]
        tile_k = design_vector(design)["tile_k"]
        uniform = cost_terms(design)
        for i, name in enumerate(spec.layers["name"]):
            m, n, k, count = (int(L.loc[name, c]) for c in ("M", "N", "K", "count"))
            cycles = float(num.loc[name, "cycles"])
            kw = dict(
                gemm_cycles=cycles,
                total_cycles=cycles,
                macs=m * n * k,
                outputs=output_drains(m, n, k, tile_k),
                clock_ns=clock,
            )
            on_data = cost_terms(design, activity=acts[i])
            expected = count * (
                gemm_energy_pj(on_data, data_activity=on_data.calibration_activity, **kw)
                - gemm_energy_pj(uniform, data_activity=0.5, **kw)
            )
            got = (dat.loc[name, "energy_uj"] - num.loc[name, "energy_uj"]) * 1e6
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-6), (arch, name)


def test_numbers_are_not_changed_by_data_points_beside_them(sweep):
    _, _, points, _, _ = sweep
    alone = parse_sweep_spec(spec_with(activity=0.5))
    assert alone.activity_gemms == () and alone.activity == {}
    p, lyr = evaluate_chunk(alone, 0, alone.points)
    assert (p["activity_source"] == "number").all()
    assert (lyr["activity_source"] == "number").all()
    mixed = points[points["activity_source"] == "number"].reset_index(drop=True)
    np.testing.assert_array_equal(p["energy_uj"].to_numpy(), mixed["energy_uj"].to_numpy())


def test_deterministic(sweep):
    _, _, points, _, _ = sweep
    workload_gemm_operands.cache_clear()  # read the checkpoint and run the encoder again
    again = parse_sweep_spec(copy.deepcopy(SPEC))
    p, _ = evaluate_chunk(again, 0, again.points)
    cols = ["point", "activity", "activity_source", "energy_uj", "energy_compute_uj"]
    pd.testing.assert_frame_equal(
        p[cols].reset_index(drop=True), points[cols].reset_index(drop=True), check_dtype=False
    )


def test_gemm_operands_are_the_checkpoint_layers(sweep):
    spec, _, _, _, _ = sweep
    ops = workload_gemm_operands(str(spec.workload["spec"]), spec.gemm_keys())
    by_name = {o.name: o for o in ops}
    q = by_name["q_proj"]
    assert q.kind == "checkpoint" and len(q.samples) == 6
    enc = BertEncoder.from_dir(packaged_checkpoint("all-minilm-l6-v2"))
    for layer, (w, x) in enumerate(q.samples):
        ref = enc.weight(f"encoder.layer.{layer}.attention.self.query.weight")
        np.testing.assert_array_equal(w, ref)
        assert x.shape == (256, 384)
    # consecutive layers' inputs differ (each layer's own calibration activations)
    assert not np.array_equal(q.samples[0][1], q.samples[1][1])
    assert by_name["attn_score"].kind == "checkpoint-attention"
    # attention: every head of every layer, sentences packed into at most seq (128) tokens
    score, value = by_name["attn_score"], by_name["attn_value"]
    assert len(score.samples) == len(value.samples) == 6 * enc.num_heads
    for (k, q), (vt, p) in zip(score.samples, value.samples):
        t = q.shape[0]
        assert 64 < t <= 128 and q.shape == k.shape == (t, enc.head_dim)
        assert vt.shape == (enc.head_dim, t) and p.shape == (t, t)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_a_preset_without_weights_uses_synthetic_data():
    data = {
        "name": "preset",
        "workload": {"spec": "opt-125m", "phase": "decode", "context": 64},
        "options": {"quality": "off"},
        "engines": [{"arch": "systolic", "mode": "mac", "rows": 8, "cols": 8, "activity": BOTH}],
    }
    spec = parse_sweep_spec(data)
    assert spec.activity_label == "data:synthetic"
    assert {k for k, _ in spec.activity_gemms} == {"synthetic"}
    points, _ = evaluate_chunk(spec, 0, spec.points)
    assert list(points["activity_source"]) == ["number", "data:synthetic"]
    assert points["energy_uj"].iloc[0] != points["energy_uj"].iloc[1]


@pytest.mark.parametrize(
    "value", ["dta", 1.5, -0.1, True, [0.5, "random"], {"start": 0, "stop": 2, "step": 0.5}, "DATA"]
)
def test_bad_activity_value(value):
    with pytest.raises(InputError) as info:
        parse_sweep_spec(spec_with(activity=value))
    err = info.value
    assert err.field == "engines[0].activity"
    assert "data" in str(err.allowed) and "[0, 1]" in str(err.allowed)


def test_data_activity_mean_is_linear():
    a, b = DataActivity.uniform(0.2), DataActivity.uniform(0.4)
    m = DataActivity.mean([a, b], source="two")
    assert m.act_toggle == pytest.approx(0.3) and m.sum == pytest.approx(0.3)
    assert m.source == "two" and m.digit_density is None
    with pytest.raises(ValueError):
        DataActivity.mean([])


def test_measured_in_worker_processes_as_in_one():
    data = spec_with()
    data["engines"] = [
        {"arch": "adder_tree", "mode": "mac", "k": [32, 64], "n": [4, 8], "weight_bits": [4, 8]}
    ]
    data["engines"][0]["activity"] = "data"
    one, two = parse_sweep_spec(copy.deepcopy(data)), parse_sweep_spec(copy.deepcopy(data))
    one.measure_activity(workers=1)
    two.measure_activity(workers=2)
    assert len(one.activity) == 8 and one.activity == two.activity
