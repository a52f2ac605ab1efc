"""The folded batch-norm threshold as a sign test.

A binarized layer followed by batch norm and sign reduces to ``y = [acc >= T]``, or
``y = [acc <= T]`` for a negative batch-norm scale (REFERENCE.md section 4). The arrays add
``-T`` into the adder tree as one more leaf, so the compare becomes a test of
``diff = acc - T`` against zero: a sign bit and, for the flipped compare, a zero detect.
"""

from __future__ import annotations

from amaranth.hdl import C, Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ._util import validating
from .shapes import shape_of_range

__all__ = ["FoldedThreshold"]


class FoldedThreshold(wiring.Component):
    """``fire = flip ? (diff <= 0) : (diff >= 0)`` for ``diff = acc - T``.

    Parameters
    ----------
    diff_range : tuple of int
        ``(lo, hi)`` range of ``diff``.

    Members
    -------
    diff : In(shape of diff_range)
    flip : In(1)
    fire : Out(1)
    """

    def __init__(self, *, diff_range: tuple[int, int]):
        lo, hi = diff_range
        with validating(self):
            if lo > hi:
                raise ValueError(
                    f"Difference range must be (lo, hi) with lo <= hi, not {diff_range!r}"
                )
        self._diff_range = (lo, hi)
        super().__init__(
            {
                "diff": In(shape_of_range(lo, hi)),
                "flip": In(1),
                "fire": Out(1),
            }
        )

    @property
    def diff_range(self) -> tuple[int, int]:
        return self._diff_range

    def elaborate(self, platform):
        m = Module()
        # Sign bit and zero detect rather than comparators against a constant.
        negative = self.diff[-1] if self._diff_range[0] < 0 else C(0, 1)
        zero = ~self.diff.any()
        m.d.comb += self.fire.eq(Mux(self.flip, negative | zero, ~negative))
        return m
