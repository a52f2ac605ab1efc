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
