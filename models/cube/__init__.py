"""Models of the 3D-Cube engine (``arch = "cube"``): cycle model and sweep kernel
(:mod:`.cycles`), cost model (:mod:`.cost`), register-to-register paths (:mod:`.timing`); the
golden model is the grid engines' (:mod:`shiftadd.models.grid.golden`)."""
