"""Switching activity of a design from a gate-level simulation of its own bench: the
simulation runner (:mod:`shiftadd.sim.runner`) records a SAIF file, read by
:func:`shiftadd.rtl_gen.activity.read_saif`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..rtl_gen.activity import SwitchingActivity, read_saif
from ..sim.runner import SimReport, simulate

__all__ = ["measure_activity"]


def measure_activity(
    design,
    *,
    vectors: int = 4000,
    seed: int = 0,
    netlist=None,
    liberty=None,
    build_root=None,
    gemm=None,
    operands=None,
) -> tuple[SwitchingActivity, SimReport]:
    """Run the design's bench with SAIF recording; ``(activity, simulation report)``.

    With ``netlist`` (and its ``liberty``) the gate-level netlist is simulated, which both
    checks it against the golden model and gives the activity of every cell pin. With
    ``gemm = (M, N, K)`` the bench runs that tiled GEMM instead of random traffic; with
    ``operands`` too (an ``.npz`` of activation and weight codes,
    :func:`shiftadd.sim.operands.save_operands`) the GEMM runs on those instead of random
    operands, so the activity is that of the given (real) data.
    """
    with tempfile.TemporaryDirectory(prefix="shiftadd-saif-") as tmp:
        path = Path(tmp) / "activity.saif"
        report = simulate(
            design,
            vectors=vectors,
            seed=seed,
            saif=path,
            build_root=build_root,
            netlist=netlist,
            liberty=liberty,
            gemm=gemm,
            operands=operands,
            depth=(1 << 16) if gemm else max(64, 1 << max(0, (vectors + 1024).bit_length())),
        )
        activity = read_saif(path)
    return activity, report
