"""The systolic array's top-level component for a :class:`SystolicDesign`.

``dataflow = "os"``: :class:`~shiftadd.hw.systolic_os.OutputStationaryArray`;
``dataflow = "ws"``: :class:`~shiftadd.hw.systolic_ws.WeightStationaryArray`.
"""

from __future__ import annotations

from ..design.systolic import SystolicDesign
from .systolic_os import OutputStationaryArray
from .systolic_ws import WeightStationaryArray

__all__ = ["systolic_array"]


def systolic_array(design: SystolicDesign, hierarchical: bool = False):
    """The top-level component of a systolic design (``hierarchical``: its form with
    identical units kept apart, where it has one)."""
    if design.dataflow == "ws":
        return WeightStationaryArray(design=design, hierarchical=hierarchical)
    return OutputStationaryArray(design=design, hierarchical=hierarchical)
