"""Random valid designs (``shiftadd validate --random``): reproducible, valid, small, varied."""

import collections

import numpy as np
import pytest

from shiftadd import InputError
from shiftadd.design import adder_tree, shiftadd, systolic, threshold
from shiftadd.design.random import (
    MAX_RANDOM_DESIGNS,
    draw_log_int,
    draw_valid,
    random_arches,
    random_designs,
)
from shiftadd.families import arches, family


def _is_pow2(x):
    return x & (x - 1) == 0


@pytest.fixture(scope="module")
def sixty():
    return random_designs(60, seed=1)


def test_every_family_draws_random_designs():
    assert random_arches() == arches()
    for arch in arches():
        assert callable(family(arch).get("random_design"))


def test_same_seed_same_designs():
    a = [d.to_dict() for d in random_designs(15, seed=5)]
    b = [d.to_dict() for d in random_designs(15, seed=5)]
    assert a == b


def test_different_seeds_differ():
    a = [d.to_dict() for d in random_designs(10, seed=1)]
    b = [d.to_dict() for d in random_designs(10, seed=2)]
    strip = lambda ds: [{k: v for k, v in d.items() if k != "name"} for d in ds]
    assert strip(a) != strip(b)


def test_design_i_does_not_depend_on_count():
    short = [d.to_dict() for d in random_designs(7, seed=3)]
    long = [d.to_dict() for d in random_designs(20, seed=3)]
    assert long[:7] == short


def test_random_design_uses_only_the_given_generator():
    for arch in arches():
        draw = family(arch).get("random_design")
        a = draw(np.random.default_rng(11), "x")
        b = draw(np.random.default_rng(11), "x")
        assert a == b
        assert type(a) is family(arch).design_class


def test_every_family_appears_in_ten_designs():
    ds = random_designs(10, seed=0)
    assert {d.arch for d in ds} == set(arches())
    assert [d.arch for d in ds[: len(arches())]] == arches()
    assert ds[3].name == f"rand_s0_003_{arches()[3]}"


def test_given_arches_only():
    ds = random_designs(6, seed=4, arches=["threshold", "systolic"])
    assert [d.arch for d in ds] == ["threshold", "systolic"] * 3


@pytest.mark.parametrize("count", [0, -1, MAX_RANDOM_DESIGNS + 1, 2.5, True])
def test_count_out_of_range(count):
    with pytest.raises(InputError) as exc:
        random_designs(count, seed=1)
    assert exc.value.field == "--random"


def test_bad_seed_and_arch():
    with pytest.raises(InputError) as exc:
        random_designs(3, seed=-1)
    assert exc.value.field == "--seed"
    with pytest.raises(InputError) as exc:
        random_designs(3, seed=1, arches=["adder_tree", "nope"])
    assert exc.value.field == "--arch"
    assert "adder_tree" in exc.value.allowed
    with pytest.raises(InputError):
        random_designs(3, seed=1, arches=[])


def test_draw_valid_gives_up():
    def bad():
        raise InputError("never", field="x")

    with pytest.raises(RuntimeError, match="no valid random"):
        draw_valid(bad, "test", attempts=3)
    with pytest.raises(RuntimeError):
        draw_valid(lambda: None, "test", attempts=3)


def test_draw_log_int_stays_in_range():
    rng = np.random.default_rng(0)
    values = [draw_log_int(rng, 2, 300) for _ in range(500)]
    assert min(values) >= 2 and max(values) <= 300
    assert type(values[0]) is int


def test_sixty_designs_are_valid_and_small(sixty):
    assert len({d.name for d in sixty}) == 60
    for d in sixty:
        params = d.to_dict()
        cls = family(params.pop("arch")).design_class
        assert cls.from_dict(params) == d
        if d.arch == "adder_tree":
            assert 3 <= d.k <= 48 and 1 <= d.n <= 6
            assert adder_tree.random_size(d) <= adder_tree.RANDOM_SIZE_BUDGET
            assert 0 <= d.pipeline_stages <= d.max_pipeline_stages
        elif d.arch in ("systolic", "matrix2d"):
            assert 2 <= d.rows <= 6 and 2 <= d.cols <= 6
            assert d.act_bits <= 8 and d.weight_bits <= 8
            assert systolic.random_size(d) <= systolic.RANDOM_SIZE_BUDGET
        elif d.arch == "shiftadd":
            assert d.mu <= 5 and d.columns * d.q * d.terms <= shiftadd.RANDOM_COLUMN_TERMS
            assert shiftadd.random_size(d) <= shiftadd.RANDOM_SIZE_BUDGET
        elif d.arch == "cube":
            assert max(d.rows, d.cols, d.depth) <= 4 and d.act_bits <= 8
        elif d.arch == "threshold":
            assert d.k <= 80 and d.pes <= 6 and d.neurons <= 6
            assert tuple(sorted(d.neuron_weights)) in {
                tuple(sorted(w)) for w in threshold.RANDOM_NEURON_WEIGHTS
            }
            if d.pe == "tulip":
                need = d.program_for().memory_used
                assert need <= d.neuron_register_bits <= need + threshold.RANDOM_SPARE_REGISTER
            else:
                assert d.memory_bits <= d.program_for().memory_used + threshold.RANDOM_SPARE_MEMORY


def test_sixty_designs_vary(sixty):
    by = collections.defaultdict(list)
    for d in sixty:
        by[d.arch].append(d)
    assert all(len(v) in (60 // len(arches()), 60 // len(arches()) + 1) for v in by.values())
    for arch in ("adder_tree", "systolic", "matrix2d"):
        assert len({d.mode for d in by[arch]}) >= 2, arch
    assert any(not _is_pow2(d.k) for d in by["adder_tree"])
    assert any(not _is_pow2(d.rows) or not _is_pow2(d.cols) for d in by["systolic"])
    assert any(not _is_pow2(d.rows) or not _is_pow2(d.cols) for d in by["matrix2d"])
    assert any(d.pipeline_stages > 0 for d in by["adder_tree"])
    assert any(d.pipeline_stages > 0 for d in by["shiftadd"])
    assert len({d.dataflow for d in by["systolic"]}) == 2
    assert len({d.shifter for d in by["shiftadd"]}) == 2
    assert len({d.k for d in by["threshold"]}) >= 6
    assert any(d.carry_save_accumulate for d in by["systolic"] + by["matrix2d"])
    grids = by["systolic"] + by["matrix2d"]
    assert len({d.act_signed for d in grids}) == 2


def test_options_appear_over_many_designs():
    ds = random_designs(300, seed=2)
    trees = [d for d in ds if d.arch == "adder_tree"]
    assert {d.mode for d in trees} == {"xnor", "addsub", "mac"}
    for option in ("threshold", "carry_save_accumulate", "shared_encoder_same_bitweight"):
        assert any(getattr(d, option) for d in trees), option
    assert any(d.digit_sparse and d.digit_group not in (None, 4) for d in trees)
    assert any(d.pipeline_stages == d.max_pipeline_stages > 0 for d in trees)
    grids = [d for d in ds if d.arch in ("systolic", "matrix2d")]
    assert {d.mode for d in grids} == {"mac", "addsub", "ternary"}
    assert any(d.wraps for d in grids)
    assert any(d.acc_bits is not None and not d.wraps for d in grids)
    sa = [d for d in ds if d.arch == "shiftadd"]
    assert any(d.lut_slots > 1 for d in sa) and any(d.accumulates for d in sa)
    assert any(d.scale_sets > 1 for d in sa)
    tl = [d for d in ds if d.arch == "threshold"]
    assert any(d.pool > 1 for d in tl) and any(d.vectors > 1 for d in tl)
    assert len({tuple(d.neuron_weights) for d in tl}) >= 4
    assert {d.pe for d in tl} == {"pooled", "tulip"}


def test_verilog_of_one_design_per_family():
    from shiftadd import generate_verilog

    for d in random_designs(len(arches()), seed=9):
        rtl = generate_verilog(d)
        assert f"module {d.name}" in rtl.verilog
