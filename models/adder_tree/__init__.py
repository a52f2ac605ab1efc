"""Models of the adder-tree family (``arch = "adder_tree"``): the golden model
(:mod:`.golden`, and the bit-weight options' internal forms in :mod:`.bitweight`), the cycle
model and sweep kernel (:mod:`.cycles`), and the cost model (:mod:`.cost`)."""
