"""Conformance of every registered design family (:mod:`shiftadd.families`).

Each family is walked on its example design: every capability resolves (or is declared
lacking with a reason), the design loads into the family's class, the generator's Verilog
lints clean, a short simulation under cocotb matches the golden model and the analytic
cycles on Verilator, with random initial register values and on Icarus, a tiled GEMM's
cycles equal the model's, the scalar and the vectorized (sweep) cycle models agree, and the
cost model prices the design. A new family registered without one of these fails here.
"""

from pathlib import Path

import numpy as np
import pytest

from shiftadd.design import load_design
from shiftadd.families import CAPABILITIES, Family, arches, families, family, family_of
from shiftadd.models.cost import bill_of_materials, cost_terms, estimate
from shiftadd.models.cycles import gemm_cycles, gemm_cycles_batch
from shiftadd.models.perf import TRAFFIC_KEYS, design_vector, kernel_for
from shiftadd.rtl_gen.emit import generate_verilog, write_rtl
from shiftadd.rtl_gen.lint import lint_verilog
from shiftadd.rtl_gen.synth import activity_profile
from shiftadd.sim.benches import bench_for
from shiftadd.sim.runner import simulate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FAMILIES = [f.arch for f in families()]


def example(arch: str):
    fam = family(arch)
    design = load_design(EXAMPLES / fam.example)
    assert family_of(design) is fam
    return design


def test_the_registry_lists_every_family():
    assert FAMILIES == arches() and len(FAMILIES) >= 5
    for arch in FAMILIES:
        assert family(arch).arch == arch


@pytest.mark.parametrize("arch", FAMILIES)
def test_every_capability_resolves_or_is_declared_lacking(arch):
    fam = family(arch)
    for capability, layer in CAPABILITIES.items():
        if fam.has(capability):
            obj = fam.get(capability)
            assert callable(obj), (arch, capability)
            # A reference points into the layer that owns the capability.
            assert getattr(fam, capability).startswith(f"shiftadd.{layer}."), (arch, capability)
        else:
            assert fam.lacks[capability].strip(), (arch, capability)


def test_a_family_must_explain_what_it_lacks():
    refs = {c: f"shiftadd.models.cost:{c}" for c in CAPABILITIES}
    refs["design"] = "shiftadd.design.adder_tree:AdderTreeDesign"
    with pytest.raises(ValueError, match="neither given nor listed"):
        Family(arch="x", summary="", example="", **{**refs, "bench": None})
    with pytest.raises(ValueError, match="module:attribute"):
        Family(arch="x", summary="", example="", **{**refs, "kernel": "no_colon"})


@pytest.mark.parametrize("arch", FAMILIES)
def test_model_of_the_example(arch):
    """Cost model, scalar and vectorized cycle models, activity rules, validation GEMM."""
    d = example(arch)
    items = bill_of_materials(d)
    assert items and all(i.count >= 0 for i in items)
    terms = cost_terms(d)
    assert terms.area > 0 and terms.energy_clock > 0
    assert estimate(d).energy_per_op_pj > 0
    rules = activity_profile(d, 0.5)
    assert rules[-1][0] == "*" and all(0 <= t <= 1 and 0 <= duty <= 1 for _, t, duty in rules)
    m, n, k = family_of(d).get("validation_gemm")(d)
    # The scalar model, its vectorized form and the sweep kernel are one formula.
    gemms = [(m, n, k), (1, n, k), (3, 2 * n + 1, k)]
    batch = gemm_cycles_batch(d, *(np.array([g[i] for g in gemms]) for i in range(3)))
    vec = {key: np.array([[float(v)]]) for key, v in design_vector(d).items()}
    big = np.array([[float(1 << 40)]])
    out = kernel_for(arch)(
        vec, *(np.array([[g[i] for g in gemms]]) for i in range(3)), big, big, big
    )
    assert set(TRAFFIC_KEYS) <= set(out)
    for i, g in enumerate(gemms):
        scalar = gemm_cycles(d, *g).cycles
        assert int(batch["cycles"][i]) == scalar == int(np.ceil(out["cycles"][0, i] - 1e-9)), g


@pytest.mark.sim
@pytest.mark.parametrize("arch", FAMILIES)
def test_gen_and_lint_the_example(arch, tmp_path):
    d = example(arch)
    v_path, _ = write_rtl(d, tmp_path)
    assert lint_verilog(v_path, d.name).ok
    rtl = generate_verilog(d)
    assert rtl.streams and all(s["direction"] in ("input", "output") for s in rtl.streams.values())


@pytest.mark.sim
@pytest.mark.parametrize("init", ["zero", "random", "icarus"])
@pytest.mark.parametrize("arch", FAMILIES)
def test_short_simulation_matches_golden_and_cycles(arch, init, sim_build_root, need_iverilog):
    """Bit-exact against the golden model and cycle-exact against the analytic model on
    Verilator (registers start at zero, or at random values: a missing reset would show),
    and on Icarus (registers start unknown)."""
    d = example(arch)
    assert bench_for(d) is not None
    kw = {"icarus": dict(simulator="icarus"), "random": dict(random_init=True)}.get(init, {})
    r = simulate(d, vectors=40, seed=17, build_root=sim_build_root, **kw)
    assert r.passed and r.mismatches == 0 and r.cycle_mismatches == 0, r.first_mismatches
    assert r.cycle_checked > 0


@pytest.mark.sim
@pytest.mark.parametrize("arch", FAMILIES)
def test_gemm_cycles_equal_the_model(arch, sim_build_root):
    d = example(arch)
    gemm = family_of(d).get("validation_gemm")(d)
    r = simulate(d, gemm=gemm, seed=3, build_root=sim_build_root)
    assert r.passed and r.gemm["gemm_matches"]
    assert r.gemm["gemm_cycles_sim"] == r.gemm["gemm_cycles_model"]
