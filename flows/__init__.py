"""Flows that need both simulation and synthesis, as explicit stage lists
(:mod:`.stages`): the unit-table calibration (:mod:`.calibrate`), the model validation
(:mod:`.validate`), the demo (:mod:`.demo`), switching activity from a design's own bench
(:mod:`.activity`), a design's best clock (:mod:`.clock_sweep`) and the threshold neuron's
characterization (:mod:`.threshold_cells`)."""
