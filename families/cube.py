"""The 3D-Cube family: a rows x depth x cols cube of PEs, one tile product per cycle, partial
sums chained along the reduction axis (the bit-weight paper's 3D-Cube engine)."""

from . import Family

FAMILY: Family = Family(
    arch="cube",
    summary="3D-Cube engine: rows x depth x cols PEs, one tile product per cycle, activations "
    "along cols, weights along rows, partial sums along depth; PEs as the systolic family",
    example="cube_int8_4x4x4.toml",
    design="shiftadd.design.cube:CubeDesign",
    component="shiftadd.hw.cube:cube_top",
    hierarchical=True,
    golden="shiftadd.models.grid.golden:gemm_reference",
    gemm_cycles="shiftadd.models.cube.cycles:gemm_cycles_batch",
    design_vector="shiftadd.models.cube.cycles:design_vector",
    kernel="shiftadd.models.cube.cycles:kernel",
    bill_of_materials="shiftadd.models.cube.cost:bill_of_materials",
    activity_profile="shiftadd.models.cube.cost:activity_profile",
    validation_gemm="shiftadd.models.cube.cycles:validation_gemm",
    bench="shiftadd.sim.bench_cube:CubeBench",
    random_design="shiftadd.design.cube:random_design",
    timing_paths="shiftadd.models.cube.timing:timing_paths",
)
