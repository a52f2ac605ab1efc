"""The analytic timing model of the adder tree's bit-weight options
(:mod:`shiftadd.models.adder_tree.timing_bitweight`)."""

from __future__ import annotations

import itertools

import pytest

from shiftadd import design_from_dict
from shiftadd.design.carry_save import plan_csa
from shiftadd.design.tree import plan_tree
from shiftadd.models.adder_tree.timing_bitweight import (
    bitweight_paths,
    csa_join_level,
    encoder_elements,
    join_level,
)
from shiftadd.models.timing import critical_path, element_delay, path_delay
from shiftadd.models.units import load_unit_table

OPTIONS = {
    "csa": {"carry_save_accumulate": True},
    "same": {"shared_encoder_same_bitweight": True},
    "csa+same": {"carry_save_accumulate": True, "shared_encoder_same_bitweight": True},
    "sparse": {"digit_sparse": True, "digit_group": 2},
}


@pytest.fixture(scope="module")
def delay():
    return load_unit_table("ihp-sg13g2")["delay"]


def _design(option: str, **fields):
    params = {"k": 8, "n": 2, "act_bits": 6, "weight_bits": 4, "pipeline_stages": 0}
    params.update(OPTIONS[option])
    params.update(fields)
    name = f"t_{option.replace('+', '_')}_" + "_".join(f"{k}{v}" for k, v in sorted(fields.items()))
    return design_from_dict({"arch": "adder_tree", "name": name, "mode": "mac", **params})


def _cp(design) -> float:
    return critical_path(design).critical_path_ns


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("k", [1, 3, 8, 12])
@pytest.mark.parametrize("act_bits", [2, 6, 16])
def test_every_path_has_positive_delay(delay, option, k, act_bits):
    fields = {"k": k, "act_bits": act_bits}
    if option == "sparse":
        fields["digit_group"] = 1 if k == 1 else (3 if k % 3 == 0 else 2)
    base = _design(option, **fields)
    for stages in range(base.max_pipeline_stages + 1):
        d = _design(option, **fields, pipeline_stages=stages)
        paths = bitweight_paths(d)
        assert paths
        for p in paths:
            assert p.elements, p.name
            assert all(element_delay(e, delay) >= 0 for e in p.elements), p.name
            assert path_delay(p, delay) > 0, p.name
        assert _cp(d) > 0


@pytest.mark.parametrize(
    "option,fields",
    [
        (opt, f)
        for opt in ("csa", "same", "csa+same")
        for f in (
            {"k": 6, "act_bits": 6, "weight_bits": 4},
            {"k": 16, "act_bits": 8, "weight_bits": 8, "n": 4},
            {"k": 5, "act_bits": 16, "weight_bits": 3},
        )
    ]
    + [
        ("sparse", {"k": 8, "digit_group": g, "act_bits": a})
        for g, a in itertools.product((1, 2, 4, 8), (4, 8))
    ],
)
def test_pipelining_never_lengthens_the_critical_path(option, fields):
    stages = _design(option, **fields).max_pipeline_stages
    cps = [_cp(_design(option, **fields, pipeline_stages=p)) for p in range(stages + 1)]
    assert all(b <= a + 1e-9 for a, b in zip(cps, cps[1:])), cps
    if stages and option != "sparse":  # the sparse PE loop is the same at any depth
        assert cps[-1] < cps[0]


def _rows_path(design) -> float:
    """Delay of the first stage's path through the partial-product rows (all options but
    digit sparse)."""
    delay = load_unit_table("ihp-sg13g2")["delay"]
    path = next(p for p in bitweight_paths(design) if p.name.endswith(")"))
    return path_delay(path, delay)


def _non_decreasing(values) -> bool:
    return all(b >= a - 1e-9 for a, b in zip(values, values[1:]))


@pytest.mark.parametrize("option", list(OPTIONS))
def test_monotone_in_lanes(option):
    ks = [2, 4, 8, 16, 32] if option == "sparse" else [2, 3, 5, 8, 13, 16, 32]
    cps = [_cp(_design(option, k=k)) for k in ks]
    assert _non_decreasing(cps), cps
    assert cps[-1] > cps[0]


@pytest.mark.parametrize("option", list(OPTIONS))
def test_monotone_in_operand_widths(option):
    acts = [_cp(_design(option, act_bits=a)) for a in (2, 4, 6, 8, 12, 16)]
    assert _non_decreasing(acts), acts
    weights = [_design(option, weight_bits=w) for w in (2, 4, 8, 16)]
    if option.startswith("csa"):
        # Wider weights move the rows' sign constants above the count of negative digits
        # (adding them becomes wiring), so only the rows' path must grow.
        assert _non_decreasing([_rows_path(d) for d in weights])
    else:
        cps = [_cp(d) for d in weights]
        assert _non_decreasing(cps), cps


def test_monotone_in_neurons():
    for option in OPTIONS:
        cps = [_cp(_design(option, n=n)) for n in (1, 4, 32)]
        assert _non_decreasing(cps), (option, cps)


def test_first_stage_holds_the_encoders_and_the_count():
    # Layer 0 (encoder, digit net, row select) is in the first stage only; the shared count
    # of negative digits is a second path there.
    for option in ("csa", "same", "csa+same"):
        d = _design(option, pipeline_stages=2)
        names = [p.name for p in bitweight_paths(d)]
        first = [n for n in names if n.startswith("datapath stage 1 ")]
        assert len(first) == 2
        later = [p for p in bitweight_paths(d) if not p.name.startswith("datapath stage 1 ")]
        assert later
        encoder = {e.what for e in encoder_elements(d)}
        for p in later:
            assert not encoder & {e.what for e in p.elements}, p.name


def test_encoders():
    booth = _design("csa", act_bits=8)
    ent = _design("same", act_bits=8)
    assert [e.what for e in encoder_elements(booth)] == ["Booth digit (neg, two)"]
    # EN-T: the chunk carry ripples through the digits below the top one.
    wide = _design("same", act_bits=16)
    chain = {e.what: e.get("levels") for e in encoder_elements(wide)}
    assert chain["EN-T carry through the lower chunks (AND-OR)"] == 2 * (8 - 1)
    assert len(encoder_elements(ent, digit=False)) < len(encoder_elements(ent))


def test_join_levels():
    # plan_tree passes an odd last node up unchanged.
    assert join_level(plan_tree([(0, 1)] * 6), 5) == 1
    assert join_level(plan_tree([(0, 1)] * 17), 16) == 5
    assert join_level(plan_tree([(0, 1)] * 5), 4) == 3
    assert join_level(plan_tree([(0, 1)]), 0) == 0
    # Wallace: rows left over at a level pass to the next.
    plan = plan_csa([0b1111] * 5, 8)
    assert csa_join_level(plan, 0) == 1
    assert csa_join_level(plan, 4) == 3
    assert csa_join_level(plan_csa([0b1111] * 2, 8), 1) == 1  # two rows: no compressor
    d = _design("csa", k=16, act_bits=8, weight_bits=8)
    assert csa_join_level(d.bitweight.csa, len(d.bitweight.csa.leaves) - 1) == 3


def test_sparse_paths():
    d = _design("sparse", k=8, digit_group=4)
    names = [p.name for p in bitweight_paths(d)]
    assert any("PE" in n for n in names)
    assert any("accept" in n for n in names)
    assert any("group sums, shift, accumulate" in n for n in names)
    d1 = _design("sparse", k=8, digit_group=4, pipeline_stages=1)
    names1 = [p.name for p in bitweight_paths(d1)]
    assert "digit-sparse flush: group sums" in names1
    # One lane per group has no pick: a shorter PE path than with four.
    one = _design("sparse", k=8, digit_group=1, pipeline_stages=1)
    four = _design("sparse", k=8, digit_group=4, pipeline_stages=1)
    delay = load_unit_table("ihp-sg13g2")["delay"]

    def pe(design):
        (p,) = [p for p in bitweight_paths(design) if "PE" in p.name]
        return path_delay(p, delay)

    assert pe(one) < pe(four)
