"""Golden models, analytic cycle, area and energy models, unit tables.

Generic entry points dispatch on the design dataclass: :func:`cycles.gemm_cycles`,
:func:`cycles.gemm_cycles_batch`, :func:`cycles.stream_output_cycles`,
:func:`cost.bill_of_materials`, :func:`cost.estimate`. A design family registers its
implementations in its own module, imported below so the registrations exist whenever any
part of :mod:`shiftadd.models` is used.
"""

from . import cost, cycles, golden, perf  # noqa: F401  (adder_tree registrations live in these)

# Design families' model modules (each registers golden, cycle and cost models):
from . import shiftadd_engine  # noqa: F401,E402  (arch = "shiftadd")
from . import threshold  # noqa: F401,E402  (arch = "threshold")
from . import systolic  # noqa: F401,E402  (arch = "systolic", "matrix2d")
from . import bitweight  # noqa: F401,E402  (adder_tree bit-weight options)
