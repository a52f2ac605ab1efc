"""Balanced adder-tree plans and pipeline-register placement.

A :class:`TreePlan` is the one description of a balanced binary adder tree that the
Amaranth generator (:mod:`shiftadd.hw.adder_tree`), the golden and the cost models all
follow; :func:`register_slots` spreads pipeline registers over a datapath's logic layers.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from .base import range_width

__all__ = ["TreePlan", "plan_tree", "register_slots", "PipelinedDatapath", "tree_adders"]


def register_slots(stages: int, layers: int) -> tuple[int, ...]:
    """Spread ``stages`` pipeline registers evenly over ``layers`` logic layers.

    Layer 0 computes the per-lane terms (XNOR, product); layer ``j`` is the ``j``-th level
    of adders.

    Parameters
    ----------
    stages : int
        Pipeline registers, 0 to ``layers``.
    layers : int
        Logic layers of the datapath.

    Returns
    -------
    tuple of int
        The sorted indices ``i`` of the layers that are followed by a register
        (``0 <= i < layers``).

    Raises
    ------
    ValueError
        ``stages`` out of range.
    """
    if not 0 <= stages <= layers:
        raise ValueError(f"stages={stages} not in [0, {layers}]")
    return tuple(math.ceil((i + 1) * layers / (stages + 1)) - 1 for i in range(stages))


@dataclasses.dataclass(frozen=True)
class TreePlan:
    """Node ranges of a balanced binary adder tree, level by level.

    ``levels[0]`` are the leaves; ``levels[j]`` pairs neighbours of ``levels[j-1]`` (an odd
    last node passes through unchanged); ``levels[-1]`` has one node, the sum.

    Parameters
    ----------
    levels : tuple of tuple of (int, int)
        ``(lo, hi)`` value range of every node, level by level.
    """

    levels: tuple[tuple[tuple[int, int], ...], ...]

    @property
    def depth(self) -> int:
        """Adder levels (0 for a single leaf)."""
        return len(self.levels) - 1

    @property
    def root(self) -> tuple[int, int]:
        """Range of the sum."""
        return self.levels[-1][0]

    def level_bits(self, level: int) -> int:
        """Bits of all nodes of level ``level``: a pipeline register placed after it.

        Parameters
        ----------
        level : int
            The level (0: the leaves).

        Returns
        -------
        int
            The sum of the nodes' widths in bits.
        """
        return sum(range_width(lo, hi)[0] for lo, hi in self.levels[level])

    def adders(self) -> list[tuple[int, int, int]]:
        """``(level, result width, result signed)`` of every two-input adder in the tree.

        Returns
        -------
        list of tuple of (int, int, int)
            Level (1-based), result width in bits, and 1 when the result is signed.
        """
        out = []
        for j in range(1, len(self.levels)):
            below = self.levels[j - 1]
            for i in range(len(below) // 2):
                lo, hi = self.levels[j][i]
                width, signed = range_width(lo, hi)
                out.append((j, width, int(signed)))
        return out


def plan_tree(leaf_ranges) -> TreePlan:
    """Plan a balanced binary tree over leaves with the given ``(lo, hi)`` ranges.

    Parameters
    ----------
    leaf_ranges : iterable of (int, int)
        Value range of each leaf, at least one.

    Returns
    -------
    TreePlan
        Node ranges of every level; a node's range is the sum of its children's.

    Raises
    ------
    ValueError
        No leaves.
    """
    level = tuple(tuple(r) for r in leaf_ranges)
    if not level:
        raise ValueError("a tree needs at least one leaf")
    levels = [level]
    while len(level) > 1:
        nxt = [
            (level[i][0] + level[i + 1][0], level[i][1] + level[i + 1][1])
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            nxt.append(level[-1])
        level = tuple(nxt)
        levels.append(level)
    return TreePlan(tuple(levels))


class PipelinedDatapath:
    """Mixin of the designs whose datapath is ``logic_layers`` layers of logic with
    ``pipeline_stages`` registers placed among them (:func:`register_slots`)."""

    if TYPE_CHECKING:  # provided by the design dataclass that mixes this in
        pipeline_stages: int

        @property
        def logic_layers(self) -> int: ...

    @property
    def max_pipeline_stages(self) -> int:
        """One register after every logic layer."""
        return self.logic_layers

    @property
    def register_slots(self) -> tuple[int, ...]:
        """Logic layers after which a datapath register sits."""
        return register_slots(self.pipeline_stages, self.logic_layers)


def tree_adders(plan: TreePlan) -> tuple[int, int]:
    """``(adders, summed result bits)`` of a tree plan: what the cost model prices.

    Parameters
    ----------
    plan : TreePlan
        The tree.

    Returns
    -------
    tuple of (int, int)
        Number of two-input adders and the sum of their result widths in bits.
    """
    adders = plan.adders()
    return len(adders), sum(width for _, width, _ in adders)
