"""The adder-tree family: N neurons of K-input dot products reduced by balanced adder trees
(``xnor``, ``addsub``, ``mac``), with the bit-weight options of the ``mac`` tree."""

from . import Family

FAMILY: Family = Family(
    arch="adder_tree",
    summary="N neurons, each a K-input product layer and a balanced, optionally pipelined "
    "adder tree; folded batch-norm threshold; bit-weight options (OPT1-OPT4)",
    example="mac_int8_k64.toml",
    design="shiftadd.design.adder_tree:AdderTreeDesign",
    component="shiftadd.hw.adder_tree_top:adder_tree_top",
    hierarchical=True,
    golden="shiftadd.models.adder_tree.golden:adder_tree_reference",
    gemm_cycles="shiftadd.models.adder_tree.cycles:gemm_cycles_batch",
    design_vector="shiftadd.models.adder_tree.cycles:design_vector",
    kernel="shiftadd.models.adder_tree.cycles:kernel",
    bill_of_materials="shiftadd.models.adder_tree.cost:bill_of_materials",
    activity_profile="shiftadd.models.adder_tree.cost:activity_profile",
    validation_gemm="shiftadd.models.adder_tree.cycles:validation_gemm",
    bench="shiftadd.sim.bench_adder_tree:adder_tree_bench",
    random_design="shiftadd.design.adder_tree:random_design",
    timing_paths="shiftadd.models.adder_tree.timing:timing_paths",
)
