import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.design import AdderTreeDesign
from shiftadd.design.arith import xnor_matches
from shiftadd.errors import InputError
from shiftadd.models.adder_tree.golden import adder_tree_reference
from shiftadd.models.golden import xnor_dot


def loop_reference(design, x, w, t=None, f=None):
    """The definition, element by element (slow, for small cases)."""
    acc = np.zeros((x.shape[0], w.shape[0]), dtype=object)
    for v in range(x.shape[0]):
        for n in range(w.shape[0]):
            total = 0
            for i in range(x.shape[1]):
                a, b = int(x[v, i]), int(w[n, i])
                if design.mode == "xnor":
                    total += int(a == b)
                elif design.mode == "addsub":
                    total += a if b else -a
                else:
                    total += a * b
            acc[v, n] = total
    fire = None
    if design.threshold:
        fire = np.array(
            [
                [(acc[v, n] <= t[n]) if f[n] else (acc[v, n] >= t[n]) for n in range(w.shape[0])]
                for v in range(x.shape[0])
            ]
        )
    return acc.astype(np.int64), fire


@given(
    st.sampled_from(["xnor", "addsub", "mac"]),
    st.integers(1, 70),
    st.integers(1, 4),
    st.booleans(),
    st.integers(0, 2**31),
)
@settings(max_examples=60, deadline=None)
def test_reference_equals_definition(mode, k, n, threshold, seed):
    d = AdderTreeDesign(
        mode=mode, k=k, n=n, threshold=threshold, **({} if mode == "xnor" else {"act_bits": 5})
    )
    rng = np.random.default_rng(seed)
    x = rng.integers(d.act_range[0], d.act_range[1] + 1, size=(6, k))
    x[0] = d.act_range[0]
    x[1] = d.act_range[1]
    w = rng.integers(d.weight_range[0], d.weight_range[1] + 1, size=(n, k))
    t = rng.integers(d.acc_range[0] - 1, d.acc_range[1] + 2, size=n) if threshold else None
    f = rng.random(n) < 0.5 if threshold else None
    got = adder_tree_reference(d, x, w, t, f)
    acc, fire = loop_reference(d, x, w, t, f)
    assert np.array_equal(got.acc, acc)
    if threshold:
        assert np.array_equal(got.fire, fire)
        assert np.array_equal(got.outputs, fire.astype(np.int64))


def test_wide_products_stay_exact():
    # 16-bit x 16-bit, k = 16384: sums beyond 2**24 and up to 2**44
    d = AdderTreeDesign(mode="mac", k=16384, n=2, act_bits=16, weight_bits=16)
    x = np.full((2, d.k), -(1 << 15))
    w = np.stack([np.full(d.k, -(1 << 15)), np.full(d.k, (1 << 15) - 1)])
    acc = adder_tree_reference(d, x, w).acc
    assert acc[0, 0] == d.k * (1 << 30) == d.acc_range[1]
    assert acc[0, 1] == d.k * -(1 << 15) * ((1 << 15) - 1)


def test_xnor_popcount_and_plus_minus_one_dot():
    x = np.array([[1, 0, 1, 1]])
    w = np.array([[1, 1, 0, 1]])
    pop = xnor_matches(x, w)
    assert pop[0, 0] == 2
    pm = (2 * x - 1) @ (2 * w - 1).T
    assert xnor_dot(pop, 4)[0, 0] == pm[0, 0]


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(act=np.zeros((2, 5)), weights=np.zeros((2, 4), int)), "act"),
        (dict(act=np.full((2, 4), 2), weights=np.zeros((2, 4), int)), "act"),
        (dict(act=np.zeros((2, 4), int), weights=np.zeros((3, 4), int)), "weights"),
        (dict(act=np.zeros((2, 4), float), weights=np.zeros((2, 4), int)), "act"),
    ],
)
def test_bad_operands_name_the_argument(kwargs, field):
    d = AdderTreeDesign(mode="xnor", k=4, n=2)
    with pytest.raises(InputError) as info:
        adder_tree_reference(d, **kwargs)
    assert info.value.field == field


def test_threshold_required_when_the_design_has_one():
    d = AdderTreeDesign(mode="xnor", k=4, n=1, threshold=True)
    with pytest.raises(InputError, match="thresholds"):
        adder_tree_reference(d, np.zeros((1, 4), int), np.zeros((1, 4), int))
