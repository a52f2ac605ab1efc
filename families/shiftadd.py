"""The shift-add family: the ShiftAddLLM engine (LUT builder, lookup PEs, shifters)."""

from . import Family

FAMILY: Family = Family(
    arch="shiftadd",
    summary="ShiftAddLLM engine: shared LUT builder, lookup PEs indexed by binary-coded "
    "weight bits, barrel or constant shifters for (APoT) scales, accumulators",
    example="shiftadd_q3_mu4.toml",
    design="shiftadd.design.shiftadd:ShiftAddDesign",
    component="shiftadd.hw.shiftadd_engine:ShiftAddEngine",
    golden="shiftadd.models.lutgemm:lut_gemm",
    gemm_cycles="shiftadd.models.shiftadd.cycles:gemm_cycles_batch",
    design_vector="shiftadd.models.shiftadd.cycles:design_vector",
    kernel="shiftadd.models.shiftadd.cycles:kernel",
    bill_of_materials="shiftadd.models.shiftadd.cost:bill_of_materials",
    activity_profile="shiftadd.models.shiftadd.cost:activity_profile",
    validation_gemm="shiftadd.models.shiftadd.cycles:validation_gemm",
    bench="shiftadd.sim.bench_shiftadd:ShiftAddBench",
    random_design="shiftadd.design.shiftadd:random_design",
    timing_paths="shiftadd.models.shiftadd.timing:timing_paths",
)
