"""Plans of carry-save (3:2 compressor) reductions: which rows meet at which level.

A carry-save tree reduces rows of bits, all in one frame of ``width`` bits (arithmetic modulo
``2**width``), to two rows whose sum is the total. Each level groups the rows it receives in
threes (Wallace): a group becomes a sum row ``x ^ y ^ z`` and a carry row
``maj(x, y, z) << 1``; one or two rows left over pass to the next level unchanged.

Every row carries a *mask* of the bit positions that can be nonzero (a partial product of a
radix-4 digit occupies only its own ten bits of a 20-bit frame). The masks decide what each
bit of a group costs: three present bits make a full adder, two a half adder, one a wire.
:class:`CsaPlan` is the single description the Amaranth generator
(:mod:`shiftadd.hw.csa`), the NumPy golden model (:mod:`shiftadd.models.bitweight`) and the
cost model all follow, so they agree on every row and every bit.
"""

from __future__ import annotations

import dataclasses

__all__ = ["CsaPlan", "plan_csa", "full_mask", "carry_mask"]


def full_mask(width: int) -> int:
    """All ``width`` bits present.

    Parameters
    ----------
    width : int
        Frame width in bits.

    Returns
    -------
    int
        The mask ``2**width - 1``.
    """
    return (1 << width) - 1


def _popcount(x: int) -> int:
    return bin(x).count("1")


@dataclasses.dataclass(frozen=True)
class CsaPlan:
    """A carry-save reduction, level by level.

    Parameters
    ----------
    width : int
        Bits of the frame; every row and both outputs are taken modulo ``2**width``.
    rows : tuple of tuple of int
        ``rows[0]`` are the leaves' masks; ``rows[l]`` the masks of the rows alive after
        level ``l``.
    ops : tuple of tuple of tuple of int
        ``ops[l - 1]`` builds ``rows[l]`` from ``rows[l - 1]``: each entry is a tuple of row
        indices of the level below; three indices compress into a sum row then, when it can
        be nonzero, a carry row; one or two indices pass through. Output rows are listed in
        the order of the entries.
    """

    width: int
    rows: tuple[tuple[int, ...], ...]
    ops: tuple[tuple[tuple[int, ...], ...], ...]

    @property
    def leaves(self) -> tuple[int, ...]:
        """Masks of the leaf rows."""
        return self.rows[0]

    @property
    def depth(self) -> int:
        """Levels of 3:2 compressors."""
        return len(self.ops)

    @property
    def root(self) -> tuple[int, ...]:
        """Masks of the (at most two) rows left: the sum and the carry."""
        return self.rows[-1]

    def level_cells(self, level: int) -> tuple[int, int]:
        """``(full adders, half adders)`` of level ``level`` (1-based), counted per bit.

        Parameters
        ----------
        level : int
            Compressor level, 1 to :attr:`depth`.

        Returns
        -------
        tuple of (int, int)
            Full adders and half adders of that level.
        """
        below = self.rows[level - 1]
        full = half = 0
        for op in self.ops[level - 1]:
            if len(op) != 3:
                continue
            a, b, c = (below[i] for i in op)
            three = a & b & c
            two = (a & b) | (a & c) | (b & c)
            # The carry out of the top bit leaves the frame: that bit needs no majority.
            top = 1 << (self.width - 1)
            full += _popcount(three & ~top) + (1 if three & top else 0)
            half += _popcount(two & ~three)
        return full, half

    @property
    def full_adders(self) -> int:
        """Full adders of the whole reduction."""
        return sum(self.level_cells(lvl)[0] for lvl in range(1, self.depth + 1))

    @property
    def half_adders(self) -> int:
        """Half adders of the whole reduction."""
        return sum(self.level_cells(lvl)[1] for lvl in range(1, self.depth + 1))

    def level_bits(self, level: int) -> int:
        """Bits that can be nonzero in the rows alive after ``level`` (what a pipeline
        register there holds).

        Parameters
        ----------
        level : int
            Compressor level, 0 (the leaves) to :attr:`depth`.

        Returns
        -------
        int
            Sum of the set bits of the masks in ``rows[level]``.
        """
        return sum(_popcount(m) for m in self.rows[level])


def carry_mask(a: int, b: int, c: int, width: int) -> int:
    """Bits the carry row of three rows with masks ``a, b, c`` can occupy (a group's carry
    row exists only when this is nonzero).

    Parameters
    ----------
    a, b, c : int
        Bit masks of the three rows.
    width : int
        Frame width in bits (the carry out of the top bit is dropped).

    Returns
    -------
    int
        Mask of the carry row.
    """
    return (((a & b) | (a & c) | (b & c)) << 1) & full_mask(width)


def _compress(a: int, b: int, c: int, width: int) -> tuple[int, int]:
    return a | b | c, carry_mask(a, b, c, width)


def _wallace_step(
    masks: list[int], index: list[int], width: int
) -> tuple[list[tuple[int, ...]], list[int]]:
    """One level over the rows ``index`` (indices into ``masks``): ops and output masks."""
    ops: list[tuple[int, ...]] = []
    out: list[int] = []
    full = len(index) - len(index) % 3
    for g in range(0, full, 3):
        i, j, k = index[g : g + 3]
        s, c = _compress(masks[i], masks[j], masks[k], width)
        ops.append((i, j, k))
        out.append(s)
        if c:
            out.append(c)
    for i in index[full:]:
        ops.append((i,))
        out.append(masks[i])
    return ops, out


def plan_csa(leaves, width: int, partition=None) -> CsaPlan:
    """Plan a Wallace reduction of rows with the given bit masks to two rows.

    Parameters
    ----------
    leaves : sequence of int
        Bit mask of each leaf row, nonzero within ``width`` bits.
    width : int
        Frame width in bits.
    partition : sequence of sequence of int, optional
        Groups of leaf indices reduced first, each on its own and all in lockstep, to two
        rows each (e.g. the partial products of one bit weight); then those rows and the
        leaves in no group are reduced together. Without it all leaves are reduced together.

    Returns
    -------
    CsaPlan
    """
    if width < 1:
        raise ValueError(f"width must be >= 1, not {width}")
    fm = full_mask(width)
    masks = [int(m) & fm for m in leaves]
    if not masks or not all(masks):
        raise ValueError("a carry-save plan needs at least one leaf, each with a nonzero mask")
    rows = [tuple(masks)]
    ops_all = []
    groups = [list(g) for g in partition] if partition is not None else []
    seen = [i for g in groups for i in g]
    if len(set(seen)) != len(seen) or any(not 0 <= i < len(masks) for i in seen):
        raise ValueError("partition groups must be disjoint leaf indices")
    rest = [i for i in range(len(masks)) if i not in set(seen)]
    # Phase 1: each group on its own, levels in lockstep; other rows wait.
    while any(len(g) > 2 for g in groups):
        ops: list[tuple[int, ...]] = []
        out: list[int] = []
        new_groups: list[list[int]] = []
        for g in groups:
            o, m = (
                _wallace_step(masks, g, width)
                if len(g) > 2
                else ([(i,) for i in g], [masks[i] for i in g])
            )
            new_groups.append(list(range(len(out), len(out) + len(m))))
            ops += o
            out += m
        new_rest = list(range(len(out), len(out) + len(rest)))
        ops += [(i,) for i in rest]
        out += [masks[i] for i in rest]
        groups, rest, masks = new_groups, new_rest, out
        rows.append(tuple(masks))
        ops_all.append(tuple(ops))
    # Phase 2: everything together.
    while len(masks) > 2:
        ops, masks = _wallace_step(masks, list(range(len(masks))), width)
        ops_all.append(tuple(ops))
        rows.append(tuple(masks))
    return CsaPlan(width=width, rows=tuple(rows), ops=tuple(ops_all))
