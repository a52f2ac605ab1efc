"""shiftadd: design and judge binary and shift-add neural-network accelerators.

One frozen design description (:mod:`shiftadd.design`) drives the Amaranth RTL generator
(:mod:`shiftadd.hw`), the NumPy golden and analytic models (:mod:`shiftadd.models`), the
cocotb benches (:mod:`shiftadd.sim`) and synthesis (:mod:`shiftadd.rtl_gen`). The names
below are what a notebook needs; each is loaded on first use, so ``import shiftadd`` (and
``import shiftadd.models``) stays cheap and never loads Amaranth or cocotb unless asked.

>>> import shiftadd
>>> design = shiftadd.load_design("examples/mac_int8_k64.toml")    # doctest: +SKIP
>>> shiftadd.gemm_cycles(design, 64, 100, 300).cycles               # doctest: +SKIP
8504
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .errors import InputError, ShiftaddError, ToolError

# name -> "module:attribute", resolved on first access (PEP 562): start-up time of the
# command line and of sweep workers, which need none of the heavy modules.
_LAZY = {
    "load_design": "shiftadd.design:load_design",
    "design_from_dict": "shiftadd.design:design_from_dict",
    "read_design_file": "shiftadd.design:read_design_file",
    "family": "shiftadd.families:family",
    "families": "shiftadd.families:families",
    "write_rtl": "shiftadd.rtl_gen.emit:write_rtl",
    "generate_verilog": "shiftadd.rtl_gen.emit:generate_verilog",
    "simulate": "shiftadd.sim.runner:simulate",
    "synthesize": "shiftadd.rtl_gen.synth:synthesize",
    "estimate": "shiftadd.models.cost:estimate",
    "bill_of_materials": "shiftadd.models.cost:bill_of_materials",
    "gemm_cycles": "shiftadd.models.cycles:gemm_cycles",
    "load_sweep_spec": "shiftadd.models.sweep:load_sweep_spec",
    "run_sweep": "shiftadd.models.sweep:run_sweep",
    "pareto_front": "shiftadd.models.pareto:pareto_front",
    "plot_results": "shiftadd.models.plots:plot_results",
    "validate_design": "shiftadd.flows.validate:validate_design",
    "calibrate": "shiftadd.flows.calibrate:calibrate",
}

__all__ = ["__version__", "InputError", "ShiftaddError", "ToolError", *_LAZY]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name].split(":")
    except KeyError:
        raise AttributeError(f"module 'shiftadd' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
