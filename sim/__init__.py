"""cocotb benches, the memory-driven Verilog harness, and the simulation runner.

:func:`benches.bench_for` dispatches on the design dataclass; a design family registers its
bench in its own module, imported below.
"""

from . import benches  # noqa: F401  (the adder-tree bench is registered there)

# Design families' bench modules (each registers bench_for):
from . import bench_shiftadd  # noqa: F401,E402  (arch = "shiftadd")
from . import bench_threshold  # noqa: F401,E402  (arch = "threshold")
from . import bench_systolic, bench_matrix2d  # noqa: F401,E402  (arch = "systolic", "matrix2d")
from . import bench_bitweight  # noqa: F401,E402  (adder_tree digit_sparse option)
