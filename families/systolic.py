"""The systolic family: R x C output- or weight-stationary systolic arrays."""

from . import Family

FAMILY: Family = Family(
    arch="systolic",
    summary="R x C systolic array, output- or weight-stationary, any GEMM by tiling; "
    "mac / addsub / ternary PEs, carry-save accumulation (OPT1)",
    example="systolic_ws_int8_8x8.toml",
    design="shiftadd.design.systolic:SystolicDesign",
    component="shiftadd.hw.systolic:systolic_array",
    hierarchical=True,
    golden="shiftadd.models.grid.golden:gemm_reference",
    gemm_cycles="shiftadd.models.grid.cycles:gemm_cycles_batch",
    design_vector="shiftadd.models.grid.cycles:design_vector",
    kernel="shiftadd.models.grid.cycles:kernel",
    bill_of_materials="shiftadd.models.grid.cost:bill_of_materials",
    activity_profile="shiftadd.models.grid.cost:activity_profile",
    validation_gemm="shiftadd.models.grid.cycles:validation_gemm",
    bench="shiftadd.sim.bench_systolic:GridBench",
    random_design="shiftadd.design.systolic:random_design",
    timing_paths="shiftadd.models.grid.timing:timing_paths",
)
