"""cocotb benches, the memory-driven Verilog harness, and the simulation runner.

:func:`benches.bench_for` gives a design's bench (its family's ``bench``,
:mod:`shiftadd.families`); :func:`runner.simulate` builds the design's Verilog with the
harness and plays the bench's chunks under cocotb (Verilator or Icarus).
"""
