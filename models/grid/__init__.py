"""Models of the grid engines (``arch = "systolic"`` and ``"matrix2d"``): golden models
(:mod:`.golden`), cycle models and sweep kernel (:mod:`.cycles`), cost model (:mod:`.cost`)."""
