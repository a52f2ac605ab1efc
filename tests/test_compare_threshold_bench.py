"""The derived figures of bench/compare_threshold.py (no synthesis: synthetic measurements)."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from shiftadd.design.threshold_program import compile_program
from shiftadd.models.memory import buffer_for

BENCH = Path(__file__).resolve().parents[1] / "bench" / "compare_threshold.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("compare_threshold", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _split(steps=39, pe="pooled"):
    return {
        "pe": pe,
        "steps": steps,
        "instruction_bits": 140,
        "pe_area_um2": 8000.0,
        "shared_area_um2": 16000.0,
        "pe_energy_per_cycle_pj": 6.5,
        "shared_energy_per_cycle_pj": 25.0,
        "pe_vectorless_energy_per_cycle_pj": 6.0,
        "shared_vectorless_energy_per_cycle_pj": 20.0,
    }


def _baseline(area, epc=8.0, e=25.0):
    return {
        "area_um2": area,
        "evaluations_per_cycle": epc,
        "energy_per_evaluation_pj": e,
        "vectorless_energy_per_evaluation_pj": e / 1.5,
    }


def test_equal_throughput_and_equal_area(bench):
    tl = _split()
    rows = bench.scaled_rows({"t": tl}, {"b": _baseline(120_000.0)})
    thr = next(r for r in rows if r["condition"] == "equal throughput")
    area = next(r for r in rows if r["condition"] == "equal area")
    assert thr["pes"] == 8 * 39
    assert thr["throughput_vs_baseline"] == pytest.approx(1.0)
    # Equal area: the largest P that fits, one more does not.
    assert area["area_um2"] <= 120_000.0 < area["area_um2"] + tl["pe_area_um2"]
    assert area["pes"] == 13
    e = (25.0 + 13 * 6.5) * 39 / 13
    assert area["energy_per_evaluation_pj"] == pytest.approx(e)
    assert area["energy_vs_baseline"] == pytest.approx(e / 25.0)
    assert not thr["tulip_region_nonempty"]


def test_no_pe_fits(bench):
    rows = bench.scaled_rows({"t": _split()}, {"b": _baseline(10_000.0)})
    area = next(r for r in rows if r["condition"] == "equal area")
    assert area["pes"] == 0 and "not even one PE" in area["note"]


def test_threshold_classification_terms(bench, tmp_path):
    wl = tmp_path / "w.csv"
    wl.write_text(
        "name,layer,M,N,K,count,kind,phase,weight_shape,block\n"
        "a,1,10,6,128,1,act x weight,prefill,6x128,mlp\n"
    )
    tl = _split(steps=compile_program(128).steps)
    pes = 50
    c = bench.threshold_classification(tl, pes, wl, "pooled")
    s = compile_program(128).steps
    evals = 60
    assert c["evaluations"] == evals
    assert c["cycles"] == pytest.approx(evals / pes * s)
    assert c["compute_pj"] == pytest.approx(evals / pes * s * (25.0 + pes * 6.5))
    act = buffer_for(10 * (128 + 6), 64)
    assert c["data_read_pj"] == pytest.approx(evals * 2 * act.read_pj_per_word)
    ibuf = buffer_for(6 * s * 140, 140)
    assert c["instruction_buffer_bits"] == 6 * s * 140
    assert c["instruction_read_pj"] == pytest.approx(evals / pes * s * ibuf.read_pj_per_word)
    assert c["total_pj"] == pytest.approx(c["compute_pj"] + c["sram_pj"])


def test_break_even(bench):
    def cls(total, evals=100, sram=0.0):
        return {
            "total_pj": total,
            "evaluations": evals,
            "sram_pj": sram,
            "all_in_per_evaluation_pj": total / evals,
        }

    classes = {
        "w": {
            bench.MAC_LABEL: cls(3000.0),
            bench.TREE_LABEL: cls(2400.0),
            bench.POOLED_LABEL: cls(9000.0, sram=2000.0),
            bench.TULIP_LABEL: cls(12000.0, sram=2500.0),
        }
    }
    be = bench.break_even(classes)
    mac = next(r for r in be if r["baseline"] == bench.MAC_LABEL)
    assert mac["needed_for_1x_pj"] == pytest.approx(30.0)
    assert mac["needed_for_3x_pj"] == pytest.approx(10.0)
    assert mac[f"{bench.POOLED_LABEL}: ratio"] == pytest.approx(3.0)
    assert mac[f"{bench.TULIP_LABEL}: SRAM only pJ"] == pytest.approx(25.0)
    assert math.isclose(
        np.mean([r["needed_for_1x_pj"] for r in be]), (30.0 + 24.0) / 2, rel_tol=1e-12
    )


# -- clock-gated threshold rows beside the ungated ones --------------------------------------


def _gated_split(pe, gated, pe_energy):
    return {
        "pe": pe,
        "clock_gating": gated,
        "clock_gates_per_pe": (4 if pe == "tulip" else 1) if gated else 0,
        "steps": 51 if pe == "tulip" else 39,
        "instruction_bits": 140,
        "pe_area_um2": 8300.0 if gated else 8265.0,
        "shared_area_um2": 15000.0,
        "pe_energy_per_cycle_pj": pe_energy,
        "shared_energy_per_cycle_pj": 24.0,
        "pe_vectorless_energy_per_cycle_pj": 7.0,
        "shared_vectorless_energy_per_cycle_pj": 20.0,
    }


def _gated_tls(bench):
    return {
        bench.POOLED_LABEL: _gated_split("pooled", False, 6.6),
        bench.POOLED_GATED_LABEL: _gated_split("pooled", True, 5.7),
        bench.TULIP_LABEL: _gated_split("tulip", False, 7.4),
        bench.TULIP_GATED_LABEL: _gated_split("tulip", True, 5.6),
    }


def _gated_base(area, e):
    return {
        "area_um2": area,
        "evaluations_per_cycle": 8.0,
        "energy_per_evaluation_pj": e,
        "vectorless_energy_per_evaluation_pj": e / 1.5,
    }


def test_labels_say_gated_or_ungated(bench):
    assert set(bench.THRESHOLD_FILES) == {
        bench.POOLED_LABEL,
        bench.POOLED_GATED_LABEL,
        bench.TULIP_LABEL,
        bench.TULIP_GATED_LABEL,
    }
    for label in (*bench.THRESHOLD_FILES, bench.MAC_LABEL, bench.TREE_LABEL):
        assert label.endswith(", gated") or label.endswith(", ungated"), label
        assert bench.SHORT[label].endswith("gated")
    # Only the threshold side has gated files; the baselines stay ungated.
    assert bench.MAC_LABEL.endswith(", ungated") and bench.TREE_LABEL.endswith(", ungated")


def test_gated_example_files_differ_only_in_gating(bench):
    from shiftadd.design import load_design

    for plain, gated in (
        (bench.POOLED_LABEL, bench.POOLED_GATED_LABEL),
        (bench.TULIP_LABEL, bench.TULIP_GATED_LABEL),
    ):
        a = load_design(bench.THRESHOLD_FILES[plain]).to_dict()
        b = load_design(bench.THRESHOLD_FILES[gated]).to_dict()
        assert not a.get("clock_gating", False) and b["clock_gating"] is True
        drop = {"name", "clock_gating"}
        assert {k: v for k, v in a.items() if k not in drop} == {
            k: v for k, v in b.items() if k not in drop
        }


def test_every_table_has_gated_and_ungated_rows(bench):
    tls = _gated_tls(bench)
    bases = {
        bench.MAC_LABEL: _gated_base(130_000.0, 26.6),
        bench.TREE_LABEL: _gated_base(108_000.0, 24.5),
    }
    scaled = bench.scaled_rows(tls, bases)
    assert len(scaled) == 4 * 2 * 2
    thr = {
        r["threshold"]: r
        for r in scaled
        if r["baseline"] == bench.MAC_LABEL and r["condition"] == "equal throughput"
    }
    # Gating does not change the steps, so the PE count at equal throughput is the same,
    # and the gated rows' lower per-PE energy shows in the ratio.
    assert thr[bench.POOLED_LABEL]["pes"] == thr[bench.POOLED_GATED_LABEL]["pes"] == 312
    assert (
        thr[bench.TULIP_GATED_LABEL]["energy_vs_baseline"]
        < thr[bench.TULIP_LABEL]["energy_vs_baseline"]
    )

    def cls(total, sram=0.0):
        return {
            "total_pj": total,
            "evaluations": 100,
            "sram_pj": sram,
            "compute_pj": total - sram,
            "cycles": 50.0,
            "sram_area_um2": 1e6,
            "all_in_per_evaluation_pj": total / 100,
        }

    classes = {
        "w": {
            bench.MAC_LABEL: cls(3000.0),
            bench.TREE_LABEL: cls(2400.0),
            **{lab: cls(9000.0 - i * 500, sram=2000.0) for i, lab in enumerate(tls)},
        }
    }
    be = bench.break_even(classes)
    for row in be:
        for lab in tls:
            assert f"{lab}: all-in pJ" in row
    text = bench.markdown([], scaled, classes, be, tls)
    for short in ("pooled, gated", "pooled, ungated", "TULIP-like, gated", "TULIP-like, ungated"):
        assert f"| {short} |" in text
        assert f"{short} all-in (SRAM alone)" in text
    # The split table gives each gated PE's energy relative to its ungated PE.
    assert f"| {5.6 / 7.4:.3f} |" in text and f"| {5.7 / 6.6:.3f} |" in text


def test_old_json_labels_map_to_ungated(bench):
    old = {
        "measured": [
            {"label": "bare XNOR adder tree (stronger baseline)"},
            {"label": "threshold array, TULIP-like PE, P = 8"},
        ],
        "threshold_split": {"threshold array, pooled PE": {"pe": "pooled"}},
    }
    new = bench.migrate(old)
    assert [r["label"] for r in new["measured"]] == [
        bench.TREE_LABEL,
        bench.TULIP_LABEL + ", P = 8",
    ]
    assert list(new["threshold_split"]) == [bench.POOLED_LABEL]
    # A current file is unchanged.
    assert bench.migrate(new) == new
