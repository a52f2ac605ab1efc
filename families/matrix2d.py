"""The 2D-matrix family: operands broadcast along rows and columns, per-PE accumulation.
It shares the grid models and bench with the systolic family."""

from . import Family

FAMILY: Family = Family(
    arch="matrix2d",
    summary="2D-matrix engine: operands broadcast along rows and columns, output-stationary "
    "accumulation in every PE; PEs as the systolic family",
    example="matrix2d_int8_8x8.toml",
    design="shiftadd.design.matrix2d:Matrix2DDesign",
    component="shiftadd.hw.matrix2d:Matrix2DArray",
    hierarchical=True,
    golden="shiftadd.models.grid.golden:gemm_reference",
    gemm_cycles="shiftadd.models.grid.cycles:gemm_cycles_batch",
    design_vector="shiftadd.models.grid.cycles:design_vector",
    kernel="shiftadd.models.grid.cycles:kernel",
    bill_of_materials="shiftadd.models.grid.cost:bill_of_materials",
    activity_profile="shiftadd.models.grid.cost:activity_profile",
    validation_gemm="shiftadd.models.grid.cycles:validation_gemm",
    bench="shiftadd.sim.bench_systolic:GridBench",
    random_design="shiftadd.design.matrix2d:random_design",
    timing_paths="shiftadd.models.grid.timing:timing_paths",
)
