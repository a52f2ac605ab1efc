"""The threshold family's data-activity model: the switching of its PEs' nets on given binary
layers (weights and activations as sign bits), priced item by item (``Item.driver``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shiftadd.design import ThresholdDesign, load_design
from shiftadd.errors import InputError
from shiftadd.models.cost import cost_terms
from shiftadd.models.data_activity import design_codes, has_data_model, measure, random_codes
from shiftadd.models.threshold.cost import bill_of_materials, data_activity
from shiftadd.models.threshold.golden import layer_runs
from shiftadd.workloads.activity_stats import DRIVERS, DataActivity

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# Small designs: the two PEs, and one that overlaps vectors and pools.
SMALL = {
    "pooled": ThresholdDesign(name="tl_small", k=24, pes=2, memory_bits=16),
    "tulip": ThresholdDesign(name="tl_ring", k=24, pes=2, pe="tulip", neuron_register_bits=8),
    "pool2": ThresholdDesign(name="tl_pool", k=20, pes=2, vectors=2, pool=2, memory_bits=24),
}


def _energy(design, activity=None):
    """Energy per streaming cycle (clock, data at the calibration activity, leakage)."""
    t = cost_terms(design, activity=activity)
    return t.energy_clock + t.energy_data + t.leakage_mw * design.clock_ns


@pytest.mark.parametrize("name", sorted(SMALL))
def test_random_bits_reproduce_the_random_data_energy(name):
    # Uniformly random bits of another seed than the model's reference: every equivalent
    # activity near 0.5 and the energy within a few percent of the 0.5-activity figure.
    d = SMALL[name]
    w, x = random_codes(d, (8, d.k), (256, d.k), seed=11)
    act = data_activity(d, w, x)
    for field in ("act_toggle", "weight_toggle", "term", "sum"):
        assert getattr(act, field) == pytest.approx(0.5, abs=0.04), field
    assert act.act_zero == act.weight_zero == 0.0 and act.digit_density is None
    assert _energy(d, act) == pytest.approx(_energy(d), rel=0.03)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_constant_bits_switch_less_than_random(name):
    d = SMALL[name]
    rng = np.random.default_rng(3)
    w_rand, x_rand = rng.integers(0, 2, (6, d.k)), rng.integers(0, 2, (32, d.k))
    ones_w, ones_x = np.ones_like(w_rand), np.ones_like(x_rand)
    rand = data_activity(d, w_rand, x_rand)
    still = data_activity(d, ones_w, ones_x)
    # Constant inputs barely move the data registers; constant weights and inputs make every
    # XNOR term a match, so the popcount's and compare's bits follow one fixed pattern.
    assert still.act_toggle < 0.2 < rand.act_toggle
    assert still.term < rand.term and still.sum < rand.sum
    # The data-driven energy (clock and leakage aside) drops by at least 5 %.
    on = {
        key: cost_terms(d, activity=a).energy_data for key, a in (("still", still), ("rand", rand))
    }
    assert on["still"] < 0.95 * on["rand"]
    assert _energy(d, still) < _energy(d, rand)
    # Constant inputs against random weights: the data registers hold, but the XNOR terms
    # (inputs inverted by the weights' polarities) switch as on random data; the data
    # registers are a small share of the energy.
    mixed = data_activity(d, w_rand, ones_x)
    assert mixed.act_toggle == still.act_toggle
    assert mixed.term == pytest.approx(rand.term, abs=0.06)
    assert _energy(d, still) < _energy(d, mixed)
    assert _energy(d, mixed) == pytest.approx(_energy(d, rand), rel=0.02)


def test_every_item_names_the_nets_it_follows():
    for d in (*SMALL.values(), load_design(EXAMPLES / "threshold_tulip_k64.toml")):
        drivers = {item.part: item.driver for item in bill_of_materials(d)}
        assert set(drivers.values()) <= set(DRIVERS) - {"data", "digit"}
        assert drivers["data registers"] == "act"
        assert drivers["step register (instruction)"] == "weight"
        assert drivers["fan-out buffers: neuron outputs"] == "sum"
        # DataActivity.uniform prices exactly as the single number.
        assert _energy(d, DataActivity.uniform(0.5)) == pytest.approx(_energy(d), rel=1e-12)


def test_float_operands_become_sign_bits():
    d = SMALL["pooled"]
    assert has_data_model(d)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, d.k)).astype(np.float32)
    x = rng.standard_normal((40, d.k)).astype(np.float32)
    wc, xc = design_codes(d, w, x)
    assert np.array_equal(wc, (w > 0).astype(np.int64))
    assert np.array_equal(xc, (x >= 0).astype(np.int64))
    act = measure(d, w, x, source="normal")
    assert act == DataActivity(**{**data_activity(d, wc, xc).to_dict(), "source": "normal"})


def test_errors():
    d = SMALL["pool2"]
    rng = np.random.default_rng(1)
    w, x = rng.integers(0, 2, (4, d.k)), rng.integers(0, 2, (8, d.k))
    with pytest.raises(InputError) as info:
        data_activity(d, w * 3 - 1, x)  # codes -1 and 2: not bits
    assert info.value.field == "data" and "bits" in str(info.value)
    with pytest.raises(InputError):
        data_activity(d, w, x[:, :-1])  # K differs
    with pytest.raises(InputError) as info:
        data_activity(d, w, x[:1])  # one row cannot fill a pooling window of 2
    assert info.value.field == "data"
    with pytest.raises(InputError) as info:
        # A fan-in whose program needs more local memory than the PE has.
        data_activity(SMALL["pooled"], np.ones((2, 4000), int), np.ones((4, 4000), int))
    assert info.value.field == "memory_bits"


def test_bench_runs_given_bits():
    from shiftadd.sim.benches import bench_for
    from shiftadd.sim.operands import use_operands

    d = load_design(EXAMPLES / "threshold_k64.toml")
    rng = np.random.default_rng(0)
    x, w = rng.integers(0, 2, (16, 64)), rng.integers(0, 2, (3, 64))
    bench = bench_for(d)
    use_operands(bench, x, w)
    chunk = bench.gemm(np.random.default_rng(1), 16, 3, 64)
    # Every input bit the step stream carries is the given layer's, as the golden model's
    # layout places it (the data do not depend on the thresholds the bench drew).
    sent = np.asarray(chunk.bursts[0].values["data"])
    laid = layer_runs(d, x, w, np.zeros(3, np.int64)).payload()["data"]
    assert np.array_equal(sent, laid)
    assert np.array_equal(sent[0], x[: d.pes, : d.data_bits])  # first load: row p to PE p
    with pytest.raises(InputError):
        bench.random_act(rng, 17, 64)  # more rows than given
