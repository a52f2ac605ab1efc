"""Grid engines (systolic OS/WS, 2D matrix): design validation, golden model, the cycle
model (scalar == sweep kernel == event-level), the sweep plug-in and the cost model."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shiftadd.design import design_from_dict, load_design
from shiftadd.design.arith import arithmetic
from shiftadd.errors import InputError
from shiftadd.models import cost
from shiftadd.models.cost import bill_of_materials, cost_terms, estimate
from shiftadd.models.cycles import gemm_cycles, gemm_cycles_batch
from shiftadd.models.grid import cost as grid_cost
from shiftadd.models.grid import cycles as grid_cycles
from shiftadd.models.grid import golden as grid_golden
from shiftadd.models.perf import TRAFFIC_KEYS, design_vector, kernel_for
from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec
from shiftadd.rtl_gen.synth import activity_profile

REPO = Path(__file__).resolve().parent.parent


def sys(**kw):
    return design_from_dict(dict(arch="systolic", **kw))


BAD = [
    (dict(rows=0), "rows"),
    (dict(cols=65), "cols"),
    (dict(cols=2.5), "cols"),
    (dict(mode="xnor"), "mode"),
    (dict(act_bits=1), "act_bits"),
    (dict(act_bits=17), "act_bits"),
    (dict(weight_bits=1), "weight_bits"),
    (dict(mode="addsub", weight_bits=4), "weight_bits"),
    (dict(mode="ternary", weight_signed=False), "weight_signed"),
    (dict(dataflow="is"), "dataflow"),
    (dict(dataflow="ws", k_max=16), "k_max"),
    (dict(k_max=0), "k_max"),
    (dict(acc_bits=20), "acc_bits"),
    (dict(acc_bits=10, wrap=True), "acc_bits"),
    (dict(acc_bits=63, wrap=True), "acc_bits"),
    (dict(clock_ns=0), "clock_ns"),
    (dict(carry_save_accumulate="yes"), "carry_save_accumulate"),
    (
        dict(
            act_bits=16,
            weight_bits=16,
            k_max=1 << 20,
            mode="mac",
            acc_bits=None,
            act_signed=False,
            weight_signed=False,
        ),
        None,
    ),
    (dict(bogus=1), "bogus"),
    (dict(wrap=1), "wrap"),
]


@pytest.mark.parametrize("params,field", BAD, ids=[str(p) for p, _ in BAD])
def test_bad_designs_are_rejected_with_the_field(params, field):
    if field is None:  # 16x16 unsigned over 2**20 steps: exact needs 52 bits, allowed
        assert sys(**params).acc_width == 52
        return
    with pytest.raises(InputError) as info:
        sys(**params)
    assert info.value.field == field


def test_matrix2d_has_no_dataflow_and_is_unskewed():
    with pytest.raises(InputError) as info:
        design_from_dict(dict(arch="matrix2d", dataflow="ws"))
    assert info.value.field == "dataflow"
    d = design_from_dict(dict(arch="matrix2d", rows=4, cols=3))
    assert d.skew_max == 0 and d.latency == 3 and d.last_spacing == 4


def test_accumulator_widths():
    assert sys(k_max=1).acc_width == 16  # one int8 x int8 product (-128 * -128 = 2**14)
    assert sys(k_max=4).acc_width == 18
    assert sys(dataflow="ws", rows=8).acc_width == 19
    d = sys(mode="addsub", k_max=16)
    assert d.weight_bits == 1 and d.product_range == (-128, 128) and d.acc_width == 13
    d = sys(acc_bits=20, wrap=True)
    assert d.wraps and d.result_range == (-(1 << 19), (1 << 19) - 1)


def test_golden_tiles_and_wrap():
    rng = np.random.default_rng(0)
    d = sys(rows=3, cols=2, k_max=64)
    x = rng.integers(-128, 128, (5, 70))
    w = rng.integers(-128, 128, (4, 70))
    assert np.array_equal(grid_golden.gemm_reference(d, x, w), x @ w.T)
    # -128 x -128 over k_max steps is the largest sum and fits exactly
    full = np.full((1, 64), -128)
    assert grid_golden.tile_reference(d, full, full)[0, 0] == 64 * 2**14
    narrow = sys(k_max=64, acc_bits=17, wrap=True)
    got = grid_golden.gemm_reference(narrow, x, w)
    tiles = sum(
        ((x[:, k0 : k0 + 64] @ w[:, k0 : k0 + 64].T + 2**16) % 2**17) - 2**16 for k0 in (0, 64)
    )
    assert np.array_equal(got, tiles)
    t = sys(mode="ternary")
    with pytest.raises(InputError):
        grid_golden.tile_reference(t, np.ones((1, 2), int), np.array([[2, 0]]))
    a = sys(mode="addsub")
    assert grid_golden.tile_reference(a, np.array([[3, 5]]), np.array([[1, 0]]))[0, 0] == -2


def test_carry_save_trace_resolves_to_the_running_sum():
    rng = np.random.default_rng(1)
    for mode in ("mac", "addsub", "ternary"):
        d = sys(mode=mode, carry_save_accumulate=True, k_max=200)
        lo, hi = d.weight_range
        a = rng.integers(-128, 128, (200, 3))
        w = rng.integers(lo, hi + 1, (200, 3))
        s, c = grid_golden.pe_trace(d, a, w)
        run = np.cumsum(a * grid_golden.weight_values(d, w), axis=0)
        assert np.array_equal(grid_golden.resolve(d, s, c), run)


def test_booth_digits_recompose_the_activation():
    d = sys(carry_save_accumulate=True)
    a = np.arange(-128, 128)
    digits = grid_golden.booth_digits(d, a).astype(np.int64)
    assert set(np.unique(digits)) <= {-2, -1, 0, 1, 2}
    assert np.array_equal(digits @ (4 ** np.arange(digits.shape[1])), a)


DESIGNS = [
    dict(arch="systolic", rows=4, cols=4, k_max=64),
    dict(arch="systolic", rows=3, cols=5, k_max=7, carry_save_accumulate=True),
    dict(arch="systolic", rows=1, cols=1, k_max=1),
    dict(arch="systolic", dataflow="ws", rows=4, cols=3),
    dict(arch="systolic", dataflow="ws", rows=1, cols=6, mode="ternary"),
    dict(arch="matrix2d", rows=8, cols=2, k_max=100),
]


@pytest.mark.parametrize("params", DESIGNS, ids=lambda p: "-".join(map(str, p.values())))
def test_closed_form_equals_event_model_and_sweep_kernel(params):
    """The closed form (scalar and sweep kernel: one formula) against the event-level cycle
    model that the benches check cycle by cycle against the RTL."""
    d = design_from_dict(params)
    rng = np.random.default_rng(2)
    shapes = [(1, 1, 1), (d.rows, d.cols, 1)] + [
        tuple(int(v) for v in rng.integers(1, 40, 3)) for _ in range(25)
    ]
    for m, n, k in shapes:
        want = gemm_cycles(d, m, n, k).cycles
        R, C = d.rows, d.cols
        mt, nt = -(-m // R), -(-n // C)
        if d.is_output_stationary:
            kc = -(-k // d.k_max)
            steps = [min(d.k_max, k - i * d.k_max) for i in range(kc)] * (mt * nt)
            event = int(grid_cycles.os_output_cycles(d, np.array(steps))[-1]) + 1
        else:
            is_write, rows = [], []
            for k0 in range(0, k, R):
                r = min(R, k - k0)
                for _ in range(nt):
                    is_write += [True] * r + [False] * m
                    rows += list(range(r)) + [0] * m
            h = grid_cycles.ws_accept_cycles(d, np.array(is_write), np.array(rows))
            event = int(h[~np.array(is_write)][-1]) + d.latency + 1
        assert want == event, (m, n, k)
    vec = design_vector(d)
    P = {key: np.array([[float(v)]]) for key, v in vec.items()}
    m, n, k = (np.array([[s[i] for s in shapes]], float) for i in range(3))
    big = np.array([[1e12]])
    out = kernel_for(d.arch)(P, m, n, k, big, big, big)
    assert set(TRAFFIC_KEYS) <= set(out)
    assert np.array_equal(out["cycles"][0], [gemm_cycles(d, *s).cycles for s in shapes])
    batch = gemm_cycles_batch(d, m[0].astype(int), n[0].astype(int), k[0].astype(int))
    assert np.array_equal(batch["cycles"], out["cycles"][0])


def test_kernel_traffic_counts():
    d = sys(rows=4, cols=4, k_max=64)
    P = {key: np.array([[float(v)]]) for key, v in design_vector(d).items()}
    m, n, k = np.array([[8.0]]), np.array([[12.0]]), np.array([[100.0]])
    big, tiny = np.array([[1e12]]), np.array([[8.0]])
    out = kernel_for("systolic")(P, m, n, k, big, big, big)
    assert out["act_buf_read_bits"][0, 0] == 8 * 100 * 8 * 3  # X once per N-block
    assert out["weight_buf_read_bits"][0, 0] == 12 * 100 * 8 * 2  # W once per M-block
    assert out["dram_read_bits"][0, 0] == (8 + 12) * 100 * 8
    # k_max = 64 splits K = 100 in two: one partial result per output, kept on chip
    assert out["out_buf_write_bits"][0, 0] == 8 * 12 * d.acc_width * 2
    starved = kernel_for("systolic")(P, m, n, k, tiny, tiny, tiny)
    assert starved["dram_read_bits"][0, 0] > out["dram_read_bits"][0, 0]


def test_sweep_spec_with_systolic_and_matrix2d_runs():
    spec = parse_sweep_spec(
        {
            "name": "grid",
            "workload": {"spec": "opt-125m", "phase": "decode", "batch": 2, "context": 128},
            "engines": [
                {
                    "arch": "systolic",
                    "dataflow": ["os", "ws"],
                    "rows": [4, 8],
                    "cols": [4, 16],
                    "carry_save_accumulate": [False, True],
                },
                {"arch": "matrix2d", "rows": 8, "cols": 8, "mode": ["mac", "ternary"]},
            ],
        }
    )
    assert spec.points == 16 + 2
    points, layers = evaluate_chunk(spec, 0, spec.points)
    assert len(points) == spec.points and (points["cycles"] > 0).all()
    fields = ("dataflow", "rows", "cols", "carry_save_accumulate", "mode")
    for _, row in points.iterrows():
        lay = layers[layers["point"] == row["point"]]
        params = {f: row[f] for f in fields if f in row and not pd.isna(row[f])}
        params = {
            f: (int(v) if f in ("rows", "cols") else bool(v) if f == "carry_save_accumulate" else v)
            for f, v in params.items()
        }
        d = design_from_dict(dict(arch=row["arch"], **params))
        for _, g in lay.iterrows():
            assert g["cycles"] == gemm_cycles(d, g["M"], g["N"], g["K"]).cycles
        assert row["area_logic_mm2"] == pytest.approx(cost_terms(d).area * 1e-6)
        # Compute energy: the formula the validation checks against OpenSTA, per layer.
        t = dataclasses.replace(cost_terms(d), leakage_mw=0.0)
        m, n, k, c = (lay[col].to_numpy() for col in ("M", "N", "K", "count"))
        want = (
            c
            * cost.gemm_energy_pj(
                t,
                gemm_cycles=lay["cycles"].to_numpy(),
                total_cycles=lay["cycles"].to_numpy(),
                macs=m * n * k,
                outputs=m * n * np.ceil(k / design_vector(d)["tile_k"]),
                clock_ns=d.clock_ns,
                data_activity=0.5,
            )
        ).sum()
        assert row["energy_compute_uj"] == pytest.approx(want * 1e-6, rel=1e-9)


def test_bill_of_materials_follows_the_structure():
    plain = sys(rows=4, cols=4, k_max=256)
    cs = sys(rows=4, cols=4, k_max=256, carry_save_accumulate=True)
    units = lambda d: {i.unit for i in bill_of_materials(d)}  # noqa: E731
    assert "mult" in units(plain) and "csa" not in units(plain)
    assert "mult" not in units(cs) and "csa" in units(cs)
    # the carry-save pair doubles the accumulator and drain registers (minus absent bits)
    regs = lambda d, part: sum(i.count for i in bill_of_materials(d) if i.part == part)  # noqa
    assert plain.acc_width * 16 < regs(cs, "PE accumulators") <= 2 * plain.acc_width * 16
    bigger = estimate(sys(rows=8, cols=8, k_max=256)).area
    assert 3.5 < bigger / estimate(plain).area < 4.5
    m2d = design_from_dict(dict(arch="matrix2d", rows=4, cols=4, k_max=256))
    assert estimate(m2d).area < estimate(plain).area  # no skew or pass registers
    ws = sys(rows=4, cols=4, dataflow="ws")
    assert any(not i.active and "weight" in i.part for i in bill_of_materials(ws))


def test_activity_profile_streams_operands():
    rules = activity_profile(sys(), 0.3)
    assert ("feed__payload*", 0.3, 0.5) in rules and ("weights__*", 0.0, 0.0) in rules


@pytest.mark.parametrize(
    "path",
    sorted((REPO / "examples").glob("systolic_*.toml"))
    + sorted((REPO / "examples").glob("matrix2d_*.toml")),
    ids=lambda p: p.name,
)
def test_examples_load(path):
    d = load_design(path)
    assert d.arch in ("systolic", "matrix2d")
    assert json.loads(json.dumps(d.to_dict()))["rows"] == d.rows


def test_grid_data_energy_follows_useful_work():
    """Padding lanes of a partial tile are quiet: a one-row GEMM on an 8-row output-
    stationary array takes the cycles of an eight-row one but less data energy; the
    results pay per output drained."""
    d = sys(rows=8, cols=8, k_max=256)
    t = cost_terms(d)
    assert t.energy_mac > 0 and t.energy_output > 0
    one, eight = gemm_cycles(d, 1, 8, 64).cycles, gemm_cycles(d, 8, 8, 64).cycles
    assert one == eight

    def energy(m):
        return cost.gemm_energy_pj(
            t,
            gemm_cycles=one,
            total_cycles=one,
            macs=m * 8 * 64,
            outputs=m * 8,
            clock_ns=d.clock_ns,
            data_activity=0.5,
        )

    assert energy(1) < energy(8)
    assert energy(8) - energy(1) == pytest.approx(7 * 8 * (64 * t.energy_mac + t.energy_output))
    # At full rate, estimate() charges every lane and the outputs at the array's rate.
    full = estimate(d, data_activity=0.5).energy_per_cycle_pj
    per_cycle = (
        t.energy_clock
        + t.energy_data
        + 64 * t.energy_mac
        + 64 / 256 * t.energy_output
        + t.leakage_mw * d.clock_ns
    )
    assert full == pytest.approx(per_cycle)


def _direct_toggles(products, width, steps):
    """Bit toggles per bit and write of an accumulator restarting every ``steps``, counted
    with Python integers (the reference for the vectorized factor)."""
    mask, flips, writes, prev = (1 << width) - 1, 0, 0, 0
    for i, p in enumerate(products):
        value = p if i % steps == 0 else prev + p
        flips += bin((value ^ prev) & mask).count("1")
        writes += 1
        prev = value
    return flips / writes / width


def test_switching_factors_match_a_direct_count():
    rng = np.random.default_rng(7)
    products = (rng.integers(-128, 128, 40000) * rng.integers(-128, 128, 40000)).tolist()
    direct = _direct_toggles(products, 26, 64) / 0.5
    int8 = arithmetic("mac", act_bits=8, act_signed=True, weight_bits=8, weight_signed=True)
    acc, result = grid_cost.toggle_factors(int8, 26, 64)
    assert acc == pytest.approx(direct, rel=0.05)
    # Upper bits of a wide accumulator follow the sign: well below random data.
    assert 0.3 < acc < 0.8
    # Independent sums flip their sign half the time: about random data.
    assert 0.9 < result < 1.1
    # Weight-stationary partial sums of independent vectors: about random data.
    ws = grid_cost.switching_factors(sys(rows=8, cols=8, dataflow="ws"))
    assert 0.9 < ws["psum"] < 1.1


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(per="token"), "per must be"),
        (dict(per="mac"), "macs > 0"),
        (dict(toggle=3.0), "toggle must be"),
    ],
)
def test_bill_items_are_checked(kw, message):
    with pytest.raises(ValueError, match=message):
        cost.Item("dffe", "x", 1, **kw)
