import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.design import AdderTreeDesign, design_from_dict, load_design
from shiftadd.design.base import range_width, signed_width
from shiftadd.design.tree import plan_tree, register_slots
from shiftadd.errors import InputError


def test_defaults_resolve_per_mode():
    x = AdderTreeDesign(mode="xnor")
    assert (x.act_bits, x.weight_bits, x.act_signed, x.weight_signed) == (1, 1, False, False)
    a = AdderTreeDesign(mode="addsub")
    assert (a.act_bits, a.weight_bits, a.act_signed) == (8, 1, True)
    m = AdderTreeDesign(mode="mac")
    assert (m.act_bits, m.weight_bits) == (8, 8)


@pytest.mark.parametrize(
    "mode,k,expected",
    [
        ("xnor", 256, (0, 256)),
        ("addsub", 4, (-4 * 128, 4 * 128)),  # -a of -128 is +128
        ("mac", 3, (3 * -128 * 127, 3 * 128 * 128)),
    ],
)
def test_accumulator_range_is_exact(mode, k, expected):
    assert AdderTreeDesign(mode=mode, k=k).acc_range == expected


@given(
    st.sampled_from(["addsub", "mac"]),
    st.integers(2, 5),
    st.integers(2, 5),
    st.booleans(),
    st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_product_range_matches_brute_force(mode, a_bits, w_bits, a_signed, w_signed):
    kwargs = dict(mode=mode, k=1, act_bits=a_bits, act_signed=a_signed)
    if mode == "mac":
        kwargs.update(weight_bits=w_bits, weight_signed=w_signed)
    d = AdderTreeDesign(**kwargs)
    acts = range(d.act_range[0], d.act_range[1] + 1)
    if mode == "addsub":
        products = [a * s for a in acts for s in (-1, 1)]
    else:
        products = [a * w for a in acts for w in range(d.weight_range[0], d.weight_range[1] + 1)]
    assert d.product_range == (min(products), max(products))


@given(st.integers(-5000, 5000), st.integers(0, 5000))
def test_widths(lo, span):
    hi = lo + span
    w = signed_width(lo, hi)
    assert -(1 << (w - 1)) <= lo and hi < (1 << (w - 1))
    assert w == 1 or not (-(1 << (w - 2)) <= lo and hi < (1 << (w - 2)))
    width, is_signed = range_width(lo, hi)
    assert is_signed == (lo < 0)


@given(st.lists(st.tuples(st.integers(-50, 0), st.integers(0, 50)), min_size=1, max_size=40))
def test_tree_plan_sums_ranges(leaves):
    plan = plan_tree(leaves)
    assert plan.root == (sum(lo for lo, _ in leaves), sum(hi for _, hi in leaves))
    assert plan.depth == (0 if len(leaves) == 1 else int(np.ceil(np.log2(len(leaves)))))
    assert len(plan.adders()) == len(leaves) - 1


@given(st.integers(1, 12), st.data())
def test_register_slots_are_distinct_and_in_range(layers, data):
    stages = data.draw(st.integers(0, layers))
    slots = register_slots(stages, layers)
    assert len(slots) == stages == len(set(slots))
    assert all(0 <= s < layers for s in slots)
    assert list(slots) == sorted(slots)


def test_latency_counts_every_register():
    d = AdderTreeDesign(mode="xnor", k=16, n=2, pipeline_stages=3)
    assert d.latency == 5 and d.initiation_interval == 1
    assert d.max_pipeline_stages == d.tree.depth + 1


def test_threshold_field_reaches_beyond_the_accumulator():
    d = AdderTreeDesign(mode="xnor", k=10, threshold=True)
    lo, hi = d.threshold_range
    assert lo <= -1 and hi >= 11


@pytest.mark.parametrize(
    "params,field",
    [
        ({"mode": "xnor", "act_bits": 4}, "act_bits"),
        ({"mode": "addsub", "weight_bits": 2}, "weight_bits"),
        ({"k": 0}, "k"),
        ({"n": 2000}, "n"),
        ({"mode": "mac", "act_bits": 1}, "act_bits"),
        ({"pipeline_stages": 99}, "pipeline_stages"),
        ({"k": "many"}, "k"),
        ({"threshold": "yes"}, "threshold"),
        ({"mode": "float"}, "mode"),
        ({"name": "3bad"}, "name"),
        ({"clock_ns": 0}, "clock_ns"),
    ],
)
def test_invalid_fields_name_the_field(params, field):
    with pytest.raises(InputError) as info:
        AdderTreeDesign(**params)
    assert info.value.field == field
    assert f"field '{field}'" in str(info.value)


def test_unknown_field_and_arch():
    with pytest.raises(InputError, match=r"field 'modee'.*did you mean 'mode'"):
        design_from_dict({"arch": "adder_tree", "modee": "xnor"}, source="d.toml")
    with pytest.raises(InputError, match=r"field 'arch'.*allowed: 'adder_tree'"):
        design_from_dict({"arch": "spaceship"})
    with pytest.raises(InputError, match="field 'arch'"):
        design_from_dict({"k": 3})


def test_load_toml_and_yaml(tmp_path):
    t = tmp_path / "d.toml"
    t.write_text('arch = "adder_tree"\nname = "t1"\nmode = "mac"\nk = 9\nn = 3\n')
    y = tmp_path / "d.yaml"
    y.write_text("arch: adder_tree\nname: t1\nmode: mac\nk: 9\nn: 3\n")
    assert load_design(t) == load_design(y)
    assert load_design(t).to_dict()["act_bits"] == 8


@pytest.mark.parametrize(
    "text,suffix,pattern",
    [
        ("arch = ", ".toml", "not valid TOML"),
        ("arch: [", ".yaml", "not valid YAML"),
        ("x", ".json", "unknown design file type"),
    ],
)
def test_unreadable_files(tmp_path, text, suffix, pattern):
    p = tmp_path / f"d{suffix}"
    p.write_text(text)
    with pytest.raises(InputError, match=pattern):
        load_design(p)
    with pytest.raises(InputError, match="no such file"):
        load_design(tmp_path / "missing.toml")


def test_hash_follows_parameters():
    a = AdderTreeDesign(k=8)
    assert a.design_hash == AdderTreeDesign(k=8).design_hash
    assert a.design_hash != AdderTreeDesign(k=9).design_hash


def test_offset_leaf_exists_exactly_when_needed():
    for mode, threshold in itertools.product(["xnor", "addsub", "mac"], [False, True]):
        d = AdderTreeDesign(mode=mode, threshold=threshold, k=5)
        assert d.has_offset_leaf == (mode == "addsub" or threshold)
        assert len(d.leaf_ranges) == 5 + d.has_offset_leaf
