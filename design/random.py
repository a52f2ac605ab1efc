"""Seeded random valid designs of every family, small enough to synthesize and simulate.

Each family's design module has a ``random_design(rng, name)`` (the family capability
``random_design``, :mod:`shiftadd.families`) that draws the family's structural fields from
ranges covering its modes and options, keeps the design small (a bounded number of
multiplier lanes, PEs or bit products, so one design synthesizes and simulates gate by gate
within about a minute) and returns it validated by the design class's ``from_dict``.
:func:`random_designs` draws ``count`` of them round-robin over the families, reproducibly
from one seed: what ``shiftadd validate --random N --seed S`` checks the analytic models on.

The drawing helpers (:func:`draw_int`, :func:`draw_bool`, :func:`draw_choice`,
:func:`draw_log_int`) return plain Python values, which the design fields' type checks
accept (a NumPy integer is not an ``int`` to them); :func:`draw_valid` redraws a candidate
that is an invalid combination or over the size budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from ..errors import InputError
from ..families import families as registered_families
from ..families import family
from .base import Design

__all__ = [
    "MAX_RANDOM_DESIGNS",
    "RANDOM_ATTEMPTS",
    "random_designs",
    "random_arches",
    "draw_valid",
    "draw_int",
    "draw_log_int",
    "draw_bool",
    "draw_choice",
]

#: Most designs one call of :func:`random_designs` draws.
MAX_RANDOM_DESIGNS = 1000
#: Candidates a family's ``random_design`` draws before it gives up.
RANDOM_ATTEMPTS = 200

T = TypeVar("T")
D = TypeVar("D", bound=Design)


def draw_int(rng: np.random.Generator, lo: int, hi: int) -> int:
    """A uniformly random integer from ``lo`` to ``hi`` inclusive, as a Python ``int``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness.
    lo, hi : int
        Inclusive bounds, ``lo <= hi``.

    Returns
    -------
    int
        The drawn value.
    """
    return int(rng.integers(lo, hi + 1))


def draw_log_int(rng: np.random.Generator, lo: int, hi: int) -> int:
    """A random integer from ``lo`` to ``hi`` (``1 <= lo <= hi``), log-uniformly distributed,
    so small and large values are both drawn and most are not powers of two.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness.
    lo, hi : int
        Inclusive bounds, ``1 <= lo <= hi``.

    Returns
    -------
    int
        The drawn value.
    """
    value = math.exp(rng.uniform(math.log(lo), math.log(hi + 1)))
    return min(hi, max(lo, int(value)))


def draw_bool(rng: np.random.Generator, p: float = 0.5) -> bool:
    """``True`` with probability ``p``, as a Python ``bool``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness.
    p : float, default 0.5
        Probability of ``True``.

    Returns
    -------
    bool
        The drawn value.
    """
    return bool(rng.random() < p)


def draw_choice(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One element of ``options``, uniformly (the element itself, not a NumPy scalar).

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness.
    options : sequence
        The candidates, at least one.

    Returns
    -------
    object
        The chosen element.
    """
    return options[int(rng.integers(len(options)))]


def draw_valid(draw: Callable[[], D | None], what: str, attempts: int = RANDOM_ATTEMPTS) -> D:
    """Call ``draw`` until it returns a design: it returns ``None`` for a candidate over its
    size budget, and the design class raises :class:`~shiftadd.errors.InputError` for an
    invalid combination of fields; both are drawn again.

    Parameters
    ----------
    draw : callable
        Draws one candidate (from its own generator) and builds it with ``from_dict``.
    what : str
        What is drawn, for the error message.
    attempts : int, default :data:`RANDOM_ATTEMPTS`
        Candidates to draw before giving up.

    Returns
    -------
    Design
        The first valid candidate.

    Raises
    ------
    RuntimeError
        No valid candidate in ``attempts`` draws (a bug in the drawing ranges).
    """
    last: Exception | None = None
    for _ in range(attempts):
        try:
            design = draw()
        except InputError as exc:
            last = exc
            continue
        if design is not None:
            return design
    raise RuntimeError(f"no valid random {what} design in {attempts} attempts (last error: {last})")


def random_arches() -> list[str]:
    """The families that can draw random designs (capability ``random_design``), sorted.

    Returns
    -------
    list of str
        Their ``arch`` names.
    """
    return [f.arch for f in registered_families() if f.has("random_design")]


def random_designs(count: int, seed: int, arches: list[str] | None = None) -> list[Design]:
    """``count`` random valid small designs, round-robin over the families, reproducibly.

    Design ``i`` is of family ``arches[i % len(arches)]`` and named
    ``rand_s{seed}_{i:03d}_{arch}``; it is drawn from its own generator, seeded by the
    ``i``-th draw of ``numpy.random.default_rng(seed)``, so it depends on ``seed``, ``i``
    and the family list but not on ``count``.

    Parameters
    ----------
    count : int
        Designs to draw, 1 to :data:`MAX_RANDOM_DESIGNS`.
    seed : int
        Seed (a non-negative integer).
    arches : list of str, optional
        Families to draw from, in this order (duplicates ignored); default: every family
        with the capability ``random_design``, sorted by name.

    Returns
    -------
    list of Design
        The designs, in order.

    Raises
    ------
    InputError
        ``count`` out of range (field ``--random``), a bad ``seed`` (field ``--seed``), or
        an unknown family or one that cannot draw random designs (field ``--arch``).
    """
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        raise InputError(f"expected an integer, got {count!r}", field="--random")
    if not 1 <= count <= MAX_RANDOM_DESIGNS:
        raise InputError(
            f"{count} is out of range",
            field="--random",
            allowed=f"an integer from 1 to {MAX_RANDOM_DESIGNS}",
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"{seed!r} is not a seed", field="--seed", allowed="an integer >= 0")
    available = random_arches()
    if arches is None:
        chosen = available
    else:
        chosen = list(dict.fromkeys(arches))
        if not chosen:
            raise InputError("no family given", field="--arch", allowed=available)
        for arch in chosen:
            if arch not in available:
                raise InputError(f"unknown arch {arch!r}", field="--arch", allowed=available)
    root = np.random.default_rng(int(seed))
    out: list[Design] = []
    for i in range(int(count)):
        arch = chosen[i % len(chosen)]
        sub_seed = int(root.integers(0, 1 << 63))
        draw: Any = family(arch).get("random_design")
        out.append(draw(np.random.default_rng(sub_seed), f"rand_s{seed}_{i:03d}_{arch}"))
    return out
