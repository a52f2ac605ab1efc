"""Models of the shift-add engine (``arch = "shiftadd"``): golden helpers (:mod:`.golden`),
cycle model and sweep kernel (:mod:`.cycles`), cost model (:mod:`.cost`), and the whole-layer
LLM energy study (:mod:`.study`)."""
