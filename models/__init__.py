"""Golden models, analytic cycle, area and energy models, unit tables, sweeps and plots.

Generic entry points take any design and call its family's model (:mod:`shiftadd.families`):
:func:`cycles.gemm_cycles`, :func:`cycles.gemm_cycles_batch`, :func:`cost.bill_of_materials`,
:func:`cost.estimate`, :func:`perf.design_vector`. Each family's own models live in a
subpackage: :mod:`.adder_tree`, :mod:`.grid` (systolic and 2D matrix), :mod:`.shiftadd`,
:mod:`.threshold`.

Nothing in this package imports Amaranth or cocotb: a sweep worker needs only NumPy.
"""
