"""Bit-weight options: design validation, golden and cycle models, the sweep kernel, the
cost and activity hooks, and the clock sweep."""

import numpy as np
import pytest

from shiftadd.design import AdderTreeDesign, design_from_dict
from shiftadd.design import bitweight as bw_design
from shiftadd.errors import InputError
from shiftadd.models.adder_tree import bitweight as bw_golden
from shiftadd.models.adder_tree import cycles as bw_cycles
from shiftadd.models.cost import bill_of_materials, cost_terms
from shiftadd.models.cycles import gemm_cycles
from shiftadd.models.perf import design_vector, kernel_for
from shiftadd.rtl_gen.synth import activity_profile

OPTIONS = [
    dict(carry_save_accumulate=True),
    dict(shared_encoder_same_bitweight=True),
    dict(carry_save_accumulate=True, shared_encoder_same_bitweight=True),
    dict(digit_sparse=True),
]


@pytest.mark.parametrize(
    "params,field",
    [
        (dict(mode="xnor", carry_save_accumulate=True), "carry_save_accumulate"),
        (dict(mode="addsub", digit_sparse=True), "digit_sparse"),
        (dict(mode="mac", act_bits=7, shared_encoder_same_bitweight=True), "act_bits"),
        (dict(mode="mac", act_signed=False, carry_save_accumulate=True), "act_signed"),
        (dict(mode="mac", weight_signed=False, digit_sparse=True), "weight_signed"),
        (dict(mode="mac", threshold=True, carry_save_accumulate=True), "threshold"),
        (dict(mode="mac", digit_sparse=True, carry_save_accumulate=True), "carry_save_accumulate"),
        (
            dict(mode="mac", digit_sparse=True, shared_encoder_same_bitweight=True),
            "shared_encoder_same_bitweight",
        ),
        (dict(mode="mac", k=12, digit_sparse=True, digit_group=5), "digit_group"),
        (dict(mode="mac", k=12, digit_sparse=True, digit_group=0), "digit_group"),
        (dict(mode="mac", digit_group=4), "digit_group"),
        (dict(mode="mac", carry_save_accumulate=True, pipeline_stages=99), "pipeline_stages"),
    ],
)
def test_bad_option_combinations_are_rejected(params, field):
    with pytest.raises(InputError) as err:
        AdderTreeDesign(**params)
    assert err.value.field == field


def test_options_load_from_a_design_file_and_keep_plain_hashes():
    d = design_from_dict(
        {"arch": "adder_tree", "mode": "mac", "k": 16, "n": 4, "digit_sparse": True}
    )
    assert d.digit_group == 4 and d.to_dict()["digit_sparse"] is True
    plain = AdderTreeDesign(mode="mac", k=16, n=4)
    assert "digit_sparse" not in plain.to_dict() and plain.bitweight is None


@pytest.mark.parametrize("opts", OPTIONS, ids=str)
def test_golden_forms_add_up_to_the_dot_product(opts):
    d = AdderTreeDesign(mode="mac", k=32, n=3, **opts)
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (200, 32))
    x[0], x[1], x[2] = -128, 0, 127
    w = rng.integers(-128, 128, (3, 32))
    w[0] = -128
    exact = x @ w.T
    digits = bw_golden.signed_digits(d, x)
    assert np.array_equal(digits @ (4 ** np.arange(digits.shape[-1])), x)
    rows, neg = bw_golden.partial_product_rows(d, x, w)
    scale = 4 ** np.arange(rows.shape[-1])
    assert np.array_equal(((rows + neg[:, None]) * scale).sum(axis=(2, 3)), exact)
    assert np.array_equal((bw_golden.bitweight_sums(d, x, w) * scale).sum(-1), exact)
    plan = d.bitweight
    if plan.carry_save:
        s, c = bw_golden.carry_save_pair(d, x, w)
        assert np.array_equal(
            bw_golden.resolve(s.astype(np.int64) + c.astype(np.int64), plan.width), exact
        )
    if plan.sparse:
        trace = bw_golden.digit_sparse_trace(d, x, w)
        assert np.array_equal((trace["group_sums"] * scale).sum(-1), exact)
        assert trace["cycles"][1] == 1 and trace["cycles"][0] == 4  # zeros; -128: 4 lanes


def test_digit_sparse_cycles_count_nonzero_digits():
    d = AdderTreeDesign(mode="mac", k=8, n=2, digit_sparse=True, digit_group=4)
    x = np.zeros((4, 8), np.int64)
    x[1, 0] = 1  # one digit: one cycle
    x[2, :4] = 5  # 5 = 1 + 1*4: two bit weights, four lanes each
    x[3, :] = -128  # top digit only, four lanes per group
    assert bw_cycles.digit_sparse_vector_cycles(d, x).tolist() == [1, 1, 8, 4]
    # The GEMM model is the sweep formula with the data's mean vector cycles.
    # K = 11 on k = 8: two K-tiles (the second has 3 real lanes, padded with zeros), three
    # N-tiles for N = 5; -128 takes 4 cycles per vector in the first tile, 3 in the second.
    for fill, tile_cycles in ((0, 1 + 1), (-128, 4 + 3)):
        x = np.full((6, 11), fill)
        assert (
            bw_cycles.digit_sparse_gemm_cycles(d, x, 5) == 2 * 5 + 3 * 6 * tile_cycles + d.latency
        )


@pytest.mark.parametrize("group", [1, 4, 8])
def test_expected_vector_cycles_match_sampling(group):
    d = AdderTreeDesign(mode="mac", k=16, n=1, digit_sparse=True, digit_group=group)
    rng = np.random.default_rng(1)
    lo, hi = d.act_range
    hist = np.exp(-0.5 * (np.arange(lo, hi + 1) / 20.0) ** 2)
    for h in (None, hist):
        p = None if h is None else h / h.sum()
        x = rng.choice(np.arange(lo, hi + 1), size=(40000, d.k), p=p)
        sampled = bw_cycles.digit_sparse_vector_cycles(d, x).mean()
        assert bw_design.expected_vector_cycles(d, h) == pytest.approx(sampled, rel=0.01)


@pytest.mark.parametrize("opts", [{}] + OPTIONS, ids=str)
def test_sweep_kernel_is_the_scalar_cycle_model(opts):
    d = AdderTreeDesign(mode="mac", k=16, n=4, **opts)
    m = np.array([[1, 7, 100, 33]])
    n = np.array([[1, 5, 64, 9]])
    k = np.array([[1, 40, 4096, 17]])
    vec = {key: np.array([[float(v)]]) for key, v in design_vector(d).items()}
    cap = np.array([[1e9]])
    out = kernel_for("adder_tree")(vec, m, n, k, cap, cap, cap)
    scalar = [gemm_cycles(d, int(a), int(b), int(c)).cycles for a, b, c in zip(m[0], n[0], k[0])]
    assert np.array_equal(np.ceil(out["cycles"][0] - 1e-9).astype(int), scalar)
    if not d.digit_sparse:
        assert vec["vector_cycles"][0, 0] == 1.0
        assert np.array_equal(out["cycles"][0], scalar)


@pytest.mark.parametrize("opts", OPTIONS, ids=str)
def test_bill_of_materials_and_activity(opts):
    d = AdderTreeDesign(mode="mac", k=16, n=4, **opts)
    d2 = d.replace(n=8)
    items = bill_of_materials(d)
    assert any(i.unit == "csa" for i in items) == (d.carry_save_accumulate or d.digit_sparse)
    a4, a8 = cost_terms(d, "ihp-sg13g2").area, cost_terms(d2, "ihp-sg13g2").area
    # Per-neuron datapaths dominate; the encoders are shared, so doubling N less than doubles.
    assert 1.5 * a4 < a8 < 2 * a4
    rules = dict((g, t) for g, t, _ in activity_profile(d, 0.5))
    expected = 0.5 / bw_design.expected_vector_cycles(d) if d.digit_sparse else 0.5
    assert rules["act__payload*"] == pytest.approx(expected)


def test_clock_sweep_and_retime(need_yosys, need_sta, liberty, tmp_path):
    from shiftadd.flows.clock_sweep import clock_sweep
    from shiftadd.rtl_gen.synth import retime

    d = AdderTreeDesign(
        name="cs_tiny", mode="mac", k=2, n=1, act_bits=4, weight_bits=4, carry_save_accumulate=True
    )
    sweep = clock_sweep(d, liberty=liberty, start_ns=20.0, max_points=2, workdir=tmp_path)
    assert 1 <= len(sweep.points) <= 2 and sweep.points[0].target_ns == 20.0
    best = min(p.critical_path_ns for p in sweep.points)
    assert sweep.best.critical_path_ns == pytest.approx(best, abs=1e-3)
    assert 0 <= sweep.clock_ns - best < 0.011 and sweep.best.slack_ns >= -1e-3
    assert sweep.fmax_mhz == pytest.approx(1000 / best)
    # OpenSTA's activity is per cycle: twice the period, the same dynamic energy per cycle.
    slow = retime(sweep.best, d, 2 * sweep.clock_ns, liberty=liberty)
    p1, p2 = sweep.best.power_mw, slow.power_mw
    dyn1 = (p1["total"] - p1["leakage"]) * sweep.clock_ns
    dyn2 = (p2["total"] - p2["leakage"]) * 2 * sweep.clock_ns
    assert dyn2 == pytest.approx(dyn1, rel=0.02)
    assert slow.slack_ns == pytest.approx(sweep.best.slack_ns + sweep.clock_ns, abs=0.02)
    with pytest.raises(InputError):
        clock_sweep(d, liberty=liberty, max_points=0)


def test_retime_annotates_simulated_activity(need_yosys, need_sta, liberty, tmp_path):
    """``retime(activity=...)`` prices the netlist with the simulated toggles of that netlist:
    the report says so, counts the annotated pins, and the power is not the vectorless one."""
    from shiftadd.flows.activity import measure_activity
    from shiftadd.rtl_gen.synth import retime, synthesize

    d = AdderTreeDesign(name="rt_act", mode="mac", k=2, n=1, act_bits=4, weight_bits=4)
    base = synthesize(d, clock_ns=10.0, liberty=liberty, workdir=tmp_path / "syn")
    activity, report = measure_activity(
        d, vectors=300, netlist=base.netlist, liberty=liberty, build_root=tmp_path / "sim"
    )
    assert report.passed
    vectorless = retime(base, d, 10.0, liberty=liberty)
    simulated = retime(base, d, 10.0, liberty=liberty, activity=activity)
    assert vectorless.activity.get("source") != "simulation (SAIF)"
    assert simulated.activity["source"] == "simulation (SAIF)"
    assert simulated.activity["annotated_pins"] > 20
    assert simulated.activity["simulated_cycles"] == activity.cycles
    assert simulated.critical_path_ns == pytest.approx(vectorless.critical_path_ns, abs=1e-3)
    assert simulated.power_mw["total"] != pytest.approx(vectorless.power_mw["total"], rel=0.01)
    # Activity is per cycle: at twice the period the dynamic energy per cycle is the same.
    slow = retime(base, d, 20.0, liberty=liberty, activity=activity)
    dyn = [(r.power_mw["total"] - r.power_mw["leakage"]) * r.clock_ns for r in (simulated, slow)]
    assert dyn[1] == pytest.approx(dyn[0], rel=0.02)


EXAMPLES = sorted(
    (__import__("pathlib").Path(__file__).resolve().parent.parent / "examples").glob(
        "mac_*opt*.toml"
    )
)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_design_files(path):
    from shiftadd.design import load_design

    d = load_design(path)
    assert d.bitweight is not None and d.name == path.stem
    assert gemm_cycles(d, 64, 32, 100).cycles > 0 and cost_terms(d, "ihp-sg13g2").area > 0


def test_there_are_examples():
    assert len(EXAMPLES) == 4


def test_options_flow_through_the_sweep():
    from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec

    s = parse_sweep_spec(
        {
            "name": "bw",
            "workload": {"spec": "opt-125m", "phase": "decode", "batch": 2, "context": 128},
            "options": {"skip_invalid": True},
            "engines": [
                {
                    "arch": "adder_tree",
                    "mode": "mac",
                    "k": 16,
                    "n": 4,
                    "carry_save_accumulate": [False, True],
                    "shared_encoder_same_bitweight": [False, True],
                    "digit_sparse": [False, True],
                }
            ],
        }
    )
    points, layers = evaluate_chunk(s, 0, s.points)
    assert len(points) == 5  # digit_sparse stands alone
    for _, row in points.iterrows():
        d = AdderTreeDesign(
            name="adder_tree_sweep",
            mode="mac",
            k=16,
            n=4,
            **{
                f: bool(row[f])
                for f in ("carry_save_accumulate", "shared_encoder_same_bitweight", "digit_sparse")
            },
        )
        assert row["area_logic_mm2"] == pytest.approx(cost_terms(d).area * 1e-6)
        lay = layers[layers["point"] == row["point"]]
        cycles = [
            gemm_cycles(d, int(g["M"]), int(g["N"]), int(g["K"])).cycles for _, g in lay.iterrows()
        ]
        if d.digit_sparse:  # expected cycles; the scalar model rounds up per GEMM
            assert np.allclose(lay["cycles"], cycles, atol=1.0)
        else:
            assert np.array_equal(lay["cycles"], cycles)
    # Uniform int8 codes: about 15 cycles per vector against one for the dense trees; in
    # decode (M = 2) weight writes (one cycle per neuron row) are a large part of both.
    sparse = points[points["digit_sparse"].astype(bool)]["cycles"].iloc[0]
    dense = points[~points["digit_sparse"].astype(bool)]["cycles"]
    assert (sparse > 4 * dense).all()


@pytest.mark.parametrize(
    "opts",
    [
        dict(carry_save_accumulate=True),
        dict(shared_encoder_same_bitweight=True),
        dict(carry_save_accumulate=True, shared_encoder_same_bitweight=True),
    ],
    ids=["csa", "same", "csa_same"],
)
def test_bill_prices_the_encoder_register_once(opts):
    """The encoder register (first pipeline slot) holds every lane's three digit wires and
    the shared count once for all neurons, and the delayed weight write once; every later
    slot holds the neuron's rows or tree nodes in each neuron."""
    d0 = AdderTreeDesign(mode="mac", k=16, n=4, **opts)
    plan = d0.bitweight

    def registers(d):
        return {i.part: i.count for i in bill_of_materials(d) if i.unit == "dffe"}

    assert not any("layer" in p or "delay" in p for p in registers(d0))
    one = registers(d0.replace(pipeline_stages=1))
    shared = plan.correction_width if plan.carry_save else plan.digits * 5  # count 0..16
    assert one["pipeline register after layer 0 (shared encoders)"] == 16 * plan.digits * 3 + (
        shared + 1
    )
    assert one["weight write delay register"] == 16 * 8 + 2 + 1
    for n in (4, 8):
        two = registers(d0.replace(n=n, pipeline_stages=2))
        later = [c for p, c in two.items() if p.startswith("pipeline register after layer")]
        assert len(later) == 2
        # The encoder register does not grow with the neurons; the later one does.
        assert later[0] == one["pipeline register after layer 0 (shared encoders)"]
    grow = [
        c
        for p, c in registers(d0.replace(n=8, pipeline_stages=2)).items()
        if p.startswith("pipeline register after layer") and "encoders" not in p
    ]
    base = [
        c
        for p, c in registers(d0.replace(pipeline_stages=2)).items()
        if p.startswith("pipeline register after layer") and "encoders" not in p
    ]
    assert grow[0] - 1 == 2 * (base[0] - 1)
