"""cocotb benches, the memory-driven Verilog harness, and the simulation runner.

:func:`benches.bench_for` dispatches on the design dataclass; a design family registers its
bench in its own module, imported below.
"""

from . import benches  # noqa: F401  (the adder-tree bench is registered there)

# Design families' bench modules (each registers bench_for):
