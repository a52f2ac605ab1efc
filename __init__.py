"""shiftadd: design and judge binary and shift-add neural-network accelerators.

One frozen design description drives the Amaranth RTL generator (:mod:`shiftadd.hw`), the
NumPy golden and analytic models (:mod:`shiftadd.models`) and the cocotb benches
(:mod:`shiftadd.sim`).
"""

from .errors import InputError, ShiftaddError, ToolError

__version__ = "0.1.0"

__all__ = ["InputError", "ShiftaddError", "ToolError", "__version__"]
