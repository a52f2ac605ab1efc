"""Amaranth shapes of integer ranges, and back."""

from __future__ import annotations

from amaranth.hdl import Shape, signed, unsigned

from ..design.base import int_range, range_width

__all__ = ["shape_of_range", "shape_range", "operand_shape"]


def shape_of_range(lo: int, hi: int) -> Shape:
    """The smallest Amaranth shape holding every integer in ``[lo, hi]``."""
    width, is_signed = range_width(lo, hi)
    return signed(width) if is_signed else unsigned(width)


def shape_range(shape: Shape) -> tuple[int, int]:
    """``(lo, hi)`` of every value of an Amaranth shape."""
    return int_range(shape.width, shape.signed)


def operand_shape(bits: int, is_signed: bool) -> Shape:
    """The shape of a ``bits``-wide operand code, signed or not."""
    return signed(bits) if is_signed else unsigned(bits)
