"""The accumulating binary MAC array (``adder_tree``, ``mode = "xnor"``, ``accumulate``;
issue 17 step 3): design checks, golden model, cycle and cost models, sweep kernel, RTL on
the Amaranth simulator and on Verilator and Icarus, the BNN workload files and the energy
per classification with SRAM operand buffers."""

import math
from pathlib import Path

import numpy as np
import pytest

from shiftadd.design import design_from_dict, load_design
from shiftadd.design.adder_tree import RANDOM_MAX_CHUNKS, random_design
from shiftadd.errors import InputError
from shiftadd.hw.adder_tree_top import adder_tree_top
from shiftadd.models.adder_tree.classification import classification_energy
from shiftadd.models.adder_tree.cost import (
    accumulate_switching,
    accumulator_toggle,
    bill_of_materials,
    data_activity,
)
from shiftadd.models.adder_tree.cycles import (
    design_vector,
    gemm_cycles_batch,
    kernel,
    validation_gemm,
)
from shiftadd.models.adder_tree.golden import adder_tree_reference
from shiftadd.models.adder_tree.timing import offset_join_level
from shiftadd.models.cost import cost_terms, estimate
from shiftadd.models.cycles import gemm_cycles
from shiftadd.models.golden import threshold_compare
from shiftadd.models.memory import buffer_for
from shiftadd.models.perf import default_validation_gemm
from shiftadd.models.timing import timing_paths
from shiftadd.rtl_gen.emit import generate_verilog
from shiftadd.sim.amaranth_play import play_amaranth
from shiftadd.sim.benches import bench_for
from shiftadd.sim.plan import Checker
from shiftadd.sim.runner import simulate
from shiftadd.workloads.interchange import resolve_workload

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "bnn_mac_k64.toml"
MLP = REPO / "examples" / "workloads" / "bnn_mlp_mnist.csv"
CONV = REPO / "examples" / "workloads" / "bnn_conv_cifar10.csv"


def _mac(**kw):
    params = dict(
        arch="adder_tree",
        name="mac_small",
        mode="xnor",
        k=8,
        n=3,
        threshold=True,
        accumulate=True,
        accumulate_k=32,
        pipeline_stages=1,
    )
    params.update(kw)
    return design_from_dict(params)


# -- design ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, field",
    [
        (dict(accumulate=False), "accumulate_k"),  # accumulate_k without accumulate
        (dict(accumulate_k=None), "accumulate_k"),  # missing
        (dict(accumulate_k=36), "accumulate_k"),  # not a multiple of k
        (dict(accumulate_k=0), "accumulate_k"),
        (dict(accumulate_k=4), "accumulate_k"),  # below k
        (dict(accumulate_k=(1 << 20) + 8), "accumulate_k"),
        (dict(accumulate_k=True), "accumulate_k"),
        (dict(threshold=False), "threshold"),
        (dict(mode="mac"), "mode"),
        (dict(mode="addsub"), "mode"),
    ],
)
def test_bad_fields_are_named(change, field):
    with pytest.raises(InputError) as err:
        _mac(**change)
    assert err.value.field == field


def test_plain_designs_keep_their_dict_and_the_fields_show_when_set():
    plain = design_from_dict(dict(arch="adder_tree", mode="xnor", k=8, n=3, threshold=True))
    assert "accumulate" not in plain.to_dict() and "accumulate_k" not in plain.to_dict()
    d = _mac()
    assert d.to_dict()["accumulate"] is True and d.to_dict()["accumulate_k"] == 32
    assert design_from_dict(d.to_dict()) == d
    assert d.weight_storage_bits == 0 and d.max_chunks == 4


@pytest.mark.parametrize("k, k_max", [(8, 8), (8, 32), (16, 48), (64, 2304), (64, 1024)])
def test_accumulator_is_exact_and_built_at_that_width(k, k_max):
    d = _mac(k=k, accumulate_k=k_max, n=2, pipeline_stages=0)
    lo, hi = d.accumulator_range
    assert (lo, hi) == (0, k_max - k)
    width = max(1, math.ceil(math.log2(hi + 1)))
    assert width <= math.ceil(math.log2(k_max + 1))
    # The compare sees the count of up to k_max matches minus any threshold of the field.
    tlo, thi = d.threshold_range
    assert d.accumulated_range == (-thi, k_max - tlo)
    assert tlo < -1 and thi > k_max  # a lane can be forced to always 1 or always 0
    verilog = generate_verilog(d).verilog
    decl = f"reg [{width - 1}:0] acc0" if width > 1 else "reg acc0"
    assert decl in verilog


# -- golden model ---------------------------------------------------------------------------
def test_golden_is_the_sum_of_chunk_popcounts_then_the_threshold():
    d = _mac()
    rng = np.random.default_rng(0)
    for fan_in in (1, 7, 8, 9, 31, 32):
        x = rng.integers(0, 2, (6, fan_in))
        w = rng.integers(0, 2, (d.n, fan_in))
        t = rng.integers(-2, fan_in + 2, d.n)
        f = rng.random(d.n) < 0.5
        ref = adder_tree_reference(d, x, w, t, f)
        # Independently: pad to whole chunks (act 0 vs weight 1 never match), sum the
        # chunk popcounts.
        chunks = -(-fan_in // d.k)
        xp = np.zeros((6, chunks * d.k), int)
        xp[:, :fan_in] = x
        wp = np.ones((d.n, chunks * d.k), int)
        wp[:, :fan_in] = w
        acc = sum(
            (xp[:, None, c * d.k : (c + 1) * d.k] == wp[None, :, c * d.k : (c + 1) * d.k]).sum(-1)
            for c in range(chunks)
        )
        assert np.array_equal(ref.acc, acc)
        assert np.array_equal(ref.fire, threshold_compare(acc, t, f))
    with pytest.raises(InputError):
        adder_tree_reference(d, np.zeros((1, 33), int), np.zeros((d.n, 33), int), t, f)


# -- cycle model and sweep kernel -----------------------------------------------------------
def test_cycles_are_one_chunk_per_cycle_without_weight_writes():
    d = _mac(pipeline_stages=2)
    for m, n, k in [(1, 1, 1), (5, 3, 8), (5, 4, 9), (7, 10, 32), (1, 256, 25)]:
        c = gemm_cycles(d, m, n, k)
        assert c.cycles == m * math.ceil(n / d.n) * math.ceil(k / d.k) + d.latency
        assert c.weight_writes == 0 and c.transfers == c.cycles - d.latency
    with pytest.raises(InputError) as err:
        gemm_cycles(d, 2, 2, 33)
    assert err.value.field == "accumulate_k"


def test_kernel_matches_the_cycle_model_and_streams_the_weights():
    designs = [_mac(), _mac(k=16, n=2, accumulate_k=64), _mac(accumulate=False, accumulate_k=None)]
    vecs = [design_vector(d) for d in designs]
    v = {key: np.array([x[key] for x in vecs])[:, None] for key in vecs[0]}
    m, n, k = np.array([3, 1, 9]), np.array([5, 4, 7]), np.array([20, 32, 8])
    out = kernel(v, m, n, k, 1e9, 1e9, 1e9)
    for i, d in enumerate(designs):
        assert np.array_equal(out["cycles"][i], gemm_cycles_batch(d, m, n, k)["cycles"])
    chunks = m * -(-n // 3) * -(-k // 8)
    assert np.array_equal(out["weight_buf_read_bits"][0], chunks * 3 * 8)
    assert np.array_equal(out["weight_buf_read_bits"][2], n * k)  # weight-stationary
    assert np.all(out["out_buf_write_bits"][0] == m * n)  # one bit per output, no partials
    with pytest.raises(InputError) as err:
        kernel(v, m, n, np.array([20, 33, 8]), 1e9, 1e9, 1e9)
    assert err.value.field == "accumulate_k"


def test_validation_gemm_fills_the_accumulator():
    d = _mac(k=16, n=4, accumulate_k=96)
    m, n, k = validation_gemm(d)
    assert k == 96 - 8 and -(-k // d.k) == d.max_chunks and n == 6
    assert gemm_cycles(d, m, n, k).cycles > 256  # about as long as the plain designs' runs
    plain = design_from_dict(dict(arch="adder_tree", mode="mac", k=16, n=4))
    assert validation_gemm(plain) == default_validation_gemm(plain)


# -- cost and timing -------------------------------------------------------------------------
def test_bill_counts_accumulators_and_no_weight_registers():
    d = _mac(k=64, n=8, accumulate_k=2304)
    items = {i.part: i for i in bill_of_materials(d)}
    acc_width = (2304 - 64).bit_length()
    assert items["accumulator registers"].count == 8 * acc_width
    assert items["accumulator adders"].count == 8
    assert items["input register: weights"].count == 8 * 64
    assert items["input register: weights"].active
    assert "weight registers" not in items and "load port: neuron decode" not in items
    e = estimate(d)
    assert e.area > 0 and estimate(d, data_activity=0.2).energy_per_cycle_pj < (
        e.energy_per_cycle_pj
    )
    # The accumulator adder is one more level of the last stage's tree (its carry chains
    # overlap the tree's), as wide as the signed offset like the levels from the offset
    # leaf's join (k = 64: the root) on; its own loop from the accumulator register is a
    # path too.
    assert offset_join_level(d) == d.tree.depth == 7
    # Level 3 holds 8 counts and the offset alone: a count adds 3 narrow levels (4-6), the
    # offset passes them; both then the root and the accumulator at the offset's width.
    assert _last_stage_chains(d) == {(0, 2), (3, 2)}
    paths = timing_paths(d)
    last = [p for p in paths if p.name.startswith("datapath stage 2")]
    wide = [el for p in last for el in p.elements if el.kind == "tree" and el.get("signed")]
    assert all(el.get("leaf_width") == 14 and "accumulator adder" in el.what for el in wide)
    # From the offset's own node the chain is a 14-bit adder, then a full adder.
    first = [el for p in last for el in p.elements if el.kind == "adder"]
    assert first and all(el.get("width") == 14 for el in first)
    (loop,) = [p for p in paths if p.name.startswith("accumulator loop")]
    # The loop starts at the ``first`` flag's net to every accumulator bit's clear; the
    # accumulator adder is merged with the root's level (a 3:2 level before its carry).
    assert [el.kind for el in loop.elements[:4]] == ["fanout", "gate", "csa", "adder"]


def _last_stage_chains(d):
    """``(narrow, wide)`` tree levels of every path through the last datapath stage."""
    stage = f"datapath stage {len(d.register_slots) + 1} "
    out = set()
    for p in timing_paths(d):
        if p.name.startswith(stage):
            levels = {
                bool(el.get("signed")): el.get("levels") for el in p.elements if el.kind == "tree"
            }
            # A chain from the offset's own node: a carry-propagate adder, then a full
            # adder per further level (wide levels too).
            wide = sum(
                1 if el.kind == "adder" else el.get("levels")
                for el in p.elements
                if el.kind in ("adder", "csa")
            )
            out.add((levels.get(False, 0), levels.get(True, 0) + wide))
    return out


def test_offset_join_and_a_registered_root():
    # The offset is the last leaf: it passes alone while the level below has an odd count.
    assert offset_join_level(_mac(k=24, accumulate_k=48)) == 4  # 25, 13, 7, 4: joins
    assert offset_join_level(_mac(k=48, accumulate_k=96)) == 5  # 49, 25, 13, 7, 4: joins
    assert offset_join_level(_mac(k=8, accumulate_k=16)) == 4  # 9, 5, 3, 2: the root
    # k = 20, a register after layer 2: level 2 holds 5 counts and the offset. The offset
    # joins count 4 at level 3 (wide) and passes level 4 (3 nodes); counts 0-3 add two
    # narrow levels (3, 4). Then the root and the accumulator, wide.
    assert _last_stage_chains(_mac(k=20, accumulate_k=40)) == {(0, 3), (2, 2)}
    # A register after the root: the last stage is the accumulator adder alone.
    d = _mac(pipeline_stages=_mac().max_pipeline_stages)
    last = [p for p in timing_paths(d) if p.name.startswith("datapath")][-1]
    assert [el.kind for el in last.elements][0] == "adder"


def test_one_chunk_outputs_fold_the_accumulator_into_the_root():
    # accumulate_k = k: the 1-bit accumulator only holds 0 (a carry-in of the root adder),
    # every chunk is the last, and the thresholds and flips are the columns' own, held.
    one, two = _mac(accumulate_k=8), _mac(accumulate_k=16)
    parts = {i.part for i in bill_of_materials(one)}
    assert "accumulator adders" not in parts
    assert "accumulator adders" in {i.part for i in bill_of_materials(two)}
    rate = accumulate_switching(one)
    assert rate["threshold"] == rate["offset"] == rate["tag"] == rate["acc"] == 0.0
    assert accumulate_switching(two)["threshold"] == 1.0

    assert _last_stage_chains(two) == {(n, w + 1) for n, w in _last_stage_chains(one)}


def test_accumulator_switches_like_a_counter():
    assert accumulator_toggle(64, 1, 1) == 0.0  # one-chunk outputs: it never loads
    # k = 2, two chunks: the register loads one chunk's count (0, 1, 2 with 1/4, 1/2, 1/4)
    # and holds it on the last chunk. Between outputs bit 0 differs with probability 1/2 and
    # bit 1 with 2 * 1/4 * 3/4; every other cycle is a hold: (1/2 + 3/8) / 2 / 2 per bit
    # and cycle, over random data's 1/2.
    assert accumulator_toggle(2, 2, 2) == pytest.approx(7 / 16, abs=0.02)
    # Long outputs: the low bits switch like data, the high ones like a counter's.
    d = load_design(EXAMPLE)
    rate = accumulate_switching(d)
    assert 0.3 < rate["acc"] < 0.9
    assert accumulator_toggle(64, 36, 16) < rate["acc"]  # more upper bits, quieter
    assert rate["offset"] == pytest.approx(2 / 36) and rate["tag"] == pytest.approx(4 / 36)
    assert accumulate_switching(_mac(accumulate_k=8))["offset"] == 0.0


def test_offset_leaf_bits_switch_at_the_last_chunk_and_weights_per_mac():
    d = load_design(EXAMPLE)  # k = 64: the offset leaf passes alone down to the root
    items = {i.part: i for i in bill_of_materials(d)}
    offset_width = 14  # -T for T in [-4096, 4095]
    rate = accumulate_switching(d)
    held = items["pipeline register after layer 3: offset-only bits"]
    assert held.count == 8 * offset_width and held.toggle == pytest.approx(rate["offset"])
    assert items["pipeline register after layer 3"].count == 8 * 8 * 4  # 8 counts of 0..8
    # The root adds the 7-bit count to the offset: 7 of its 14 bits follow the offset,
    # each a half adder (the carry into one offset bit).
    for part in ("sums", "carries"):
        item = items[f"adder trees: bits only the offset leaf drives (half-adder {part})"]
        assert item.count == 8 * 7 and item.toggle == pytest.approx(rate["offset_sum"])
    assert items["input register: offsets"].toggle == rate["offset"]
    # A lane's weights switch only when it carries a real column.
    w = items["input register: weights"]
    assert w.per == "mac" and w.macs == 8 * 64
    assert cost_terms(d).energy_mac > 0


def test_random_designs_draw_accumulating_ones():
    ds = [random_design(np.random.default_rng(s), f"r{s}") for s in range(60)]
    acc = [d for d in ds if d.accumulate]
    assert acc and len({d.max_chunks for d in acc}) > 1
    for d in acc:
        assert d.mode == "xnor" and d.threshold
        assert d.accumulate_k % d.k == 0 and d.max_chunks <= RANDOM_MAX_CHUNKS


def test_streamed_weights_switch_on_data():
    d = _mac()
    rng = np.random.default_rng(3)
    w, x = rng.integers(0, 2, (6, 32)), rng.integers(0, 2, (20, 32))
    random = data_activity(d, w, x)
    assert random.weight_toggle == pytest.approx(0.5, abs=0.1)
    still = data_activity(d, np.ones((6, 32), int), x)  # every weight +1: the bus is still
    assert still.weight_toggle == 0.0


# -- RTL on the Amaranth simulator -----------------------------------------------------------
@pytest.mark.parametrize("stages", [0, 2])
def test_amaranth_stream_and_gemm(stages):
    d = _mac(pipeline_stages=stages)
    bench = bench_for(d)
    rng = np.random.default_rng(stages)
    checker = Checker()
    for chunk in bench.chunks(rng, 40, max_entries=128):
        checker.check(chunk, play_amaranth(adder_tree_top(d), chunk))
    r = checker.report
    assert r.passed and r.vectors == 40 and r.cycle_checked == 40
    chunk = bench.gemm(rng, 3, 5, 27)
    recorded = play_amaranth(adder_tree_top(d), chunk)
    Checker().check(chunk, recorded)
    out = chunk.finish(recorded)
    assert out["gemm_matches"] and out["gemm_cycles_sim"] == out["gemm_cycles_model"]


def test_amaranth_with_gaps_and_backpressure_and_a_wrong_expectation_fails():
    d = _mac()
    bench = bench_for(d)
    rng = np.random.default_rng(11)
    chunk = next(bench.chunks(rng, 60, max_entries=256, model_cycles=False))
    bubbles = rng.random(chunk.entries) < 0.2
    got = play_amaranth(
        adder_tree_top(d), chunk, bubbles=bubbles, out_ready=lambda c: rng.random() < 0.7
    )
    checker = Checker()
    assert checker.check(chunk, got).passed and checker.report.vectors == 60
    chunk.expected["result"].values[7, 1] ^= 1
    bad = Checker()
    assert not bad.check(chunk, got).passed and bad.report.mismatches == 1


# -- generated Verilog under cocotb ----------------------------------------------------------
@pytest.mark.sim
@pytest.mark.parametrize(
    "kw",
    [
        dict(simulator="verilator"),
        dict(simulator="icarus"),
        dict(simulator="verilator", random_init=True),
    ],
    ids=["verilator", "icarus", "verilator_random"],
)
def test_verilog_is_bit_exact_and_cycle_exact(kw, sim_build_root, need_iverilog):
    d = _mac(name="acc_sim", pipeline_stages=1)
    r = simulate(d, vectors=60, seed=5, build_root=sim_build_root, **kw)
    assert r.passed and r.mismatches == 0 and r.unknown == 0, r.first_mismatches
    assert r.cycle_checked == r.vectors == 60 and r.cycle_mismatches == 0
    r = simulate(d, gemm=(3, 7, 29), seed=6, build_root=sim_build_root, **kw)
    assert r.passed and r.gemm["gemm_matches"] and r.unknown == 0, r.first_mismatches
    assert (
        r.gemm["gemm_cycles_sim"] == r.gemm["gemm_cycles_model"] == gemm_cycles(d, 3, 7, 29).cycles
    )


@pytest.mark.sim
def test_a_fan_in_beyond_accumulate_k_is_the_users_error(sim_build_root, need_iverilog):
    with pytest.raises(InputError) as err:
        simulate(
            _mac(name="acc_sim"), gemm=(2, 2, 33), simulator="icarus", build_root=sim_build_root
        )
    assert err.value.field == "gemm.K"


# -- workloads and energy per classification -------------------------------------------------
def test_bnn_workload_files_load_and_fit_the_example():
    mlp, conv = resolve_workload(MLP), resolve_workload(CONV)
    assert mlp[["M", "N", "K"]].values.tolist() == [[1, 256, 256]]
    assert conv[["M", "N", "K"]].values.tolist() == [
        [1024, 128, 1152],
        [256, 256, 1152],
        [256, 256, 2304],
    ]
    for df in (mlp, conv):
        assert set(df["kind"]) == {"act x weight"} and set(df["phase"]) == {"prefill"}
        assert (df["macs"] == df["M"] * df["N"] * df["K"] * df["count"]).all()
    d = load_design(EXAMPLE)
    assert d.accumulate and int(conv["K"].max()) <= d.accumulate_k
    cycles = gemm_cycles_batch(d, conv["M"], conv["N"], conv["K"])["cycles"]
    assert cycles.tolist() == [1024 * 16 * 18 + 3, 256 * 32 * 18 + 3, 256 * 32 * 36 + 3]


def test_energy_per_classification_is_compute_plus_sram_accesses():
    d = load_design(EXAMPLE)
    r = classification_energy(d, MLP)
    row = r.layers.iloc[0]
    chunks = 1 * (256 // 8) * (256 // 64)
    assert row["chunks"] == chunks and row["cycles"] == chunks + d.latency
    act, weight = buffer_for(512, 64), buffer_for(256 * 256, 8 * 64)
    assert r.act_buffer == act and r.weight_buffer == weight
    assert row["act_read_pj"] == pytest.approx(chunks * act.read_pj_per_word)
    assert row["weight_read_pj"] == pytest.approx(chunks * 8 * weight.macro.read_pj)
    assert row["act_write_pj"] == pytest.approx(4 * act.write_pj_per_word)  # 256 bits / 64
    e = estimate(d)
    # Streaming at full rate the datapath costs its energy per cycle, plus the pipeline fill.
    assert row["compute_pj"] == pytest.approx(
        chunks * e.energy_per_cycle_pj, rel=d.latency / chunks + 1e-9
    )
    assert r.total_pj == pytest.approx(r.compute_pj + r.sram_pj)
    assert r.compute_pj < r.total_pj
    conv = classification_energy(d, CONV)
    assert conv.cycles == int(conv.layers["cycles"].sum()) and conv.total_pj > r.total_pj
    with pytest.raises(InputError) as err:
        classification_energy(_mac(), CONV)  # K = 2304 > accumulate_k = 32
    assert err.value.field == "accumulate_k"
    with pytest.raises(InputError) as err:
        classification_energy(_mac(accumulate=False, accumulate_k=None), MLP)
    assert err.value.field == "accumulate"
