"""Bench of the 2D-matrix engine: the output-stationary grid bench
(:class:`shiftadd.sim.bench_systolic.GridBench`), with the matrix's cycle model."""

from __future__ import annotations

from ..design.matrix2d import Matrix2DDesign
from .bench_systolic import GridBench
from .benches import bench_for

__all__ = ["GridBench"]


@bench_for.register
def _(design: Matrix2DDesign):
    return GridBench(design)
