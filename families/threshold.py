"""The threshold family: TULIP-style SIMD PEs of programmable threshold neurons running a
compiled bit-serial popcount-and-compare program."""

from . import Family

FAMILY: Family = Family(
    arch="threshold",
    summary="TULIP-style SIMD PEs of programmable threshold neurons running a compiled "
    "bit-serial popcount-and-compare schedule",
    example="threshold_k64.toml",
    design="shiftadd.design.threshold:ThresholdDesign",
    component="shiftadd.hw.threshold_array:ThresholdArray",
    golden="shiftadd.models.threshold.golden:binary_layer_reference",
    gemm_cycles="shiftadd.models.threshold.cycles:gemm_cycles_batch",
    design_vector="shiftadd.models.threshold.cycles:design_vector",
    kernel="shiftadd.models.threshold.cycles:kernel",
    bill_of_materials="shiftadd.models.threshold.cost:bill_of_materials",
    activity_profile="shiftadd.models.threshold.cost:activity_profile",
    validation_gemm="shiftadd.models.threshold.cycles:validation_gemm",
    bench="shiftadd.sim.bench_threshold:ThresholdBench",
    random_design="shiftadd.design.threshold:random_design",
    timing_paths="shiftadd.models.threshold.timing:timing_paths",
)
