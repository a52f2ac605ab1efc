"""Models of the threshold-logic PE arrays (``arch = "threshold"``): the golden binary layer
and program interpreter (:mod:`.golden`), the cycle model and sweep kernel (:mod:`.cycles`),
the neuron's cost presets (:mod:`.cells`) and the cost model (:mod:`.cost`). The program
itself is design structure: :mod:`shiftadd.design.threshold_program`."""
