"""Design families as plug-ins: one :class:`Family` object per ``arch`` names everything the
family provides, by import path.

A family is a set of modules, one or more per layer (its design dataclass in ``design/``, its
Amaranth generator in ``hw/``, its golden, cycle and cost models in ``models/``, its bench in
``sim/``), and one :class:`Family` in this package that points at them. Registering it (one
line, :func:`register`) makes the family available to every command: ``gen``, ``sim``,
``synth``, ``model``, ``sweep``, ``validate``.

The references are strings (``"package.module:attribute"``), resolved on first use, so
importing the registry imports nothing else: the sweep, which needs only the NumPy models,
never loads Amaranth or cocotb. Each consumer resolves only references at or below its own
layer (``hw`` asks for the component builder, ``models`` for the cost model, ``sim`` for the
bench), so the references follow the layers too; the conformance test
(``tests/test_families.py``) resolves every reference of every family and runs each family's
example design end to end.

A capability a family does not have is listed in :attr:`Family.lacks` with the reason, and
asking for it raises :class:`~shiftadd.errors.InputError` naming the family and the reason.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..errors import InputError

__all__ = ["Family", "CAPABILITIES", "register", "family", "family_of", "families", "arches"]

#: Every capability a family can provide, and the layer its reference lives in.
CAPABILITIES: dict[str, str] = {
    "design": "design",  # the frozen design dataclass
    "component": "hw",  # component(design=...) -> top-level wiring.Component
    "golden": "models",  # the golden model the RTL is checked against
    "gemm_cycles": "models",  # (design, m, n, k) arrays -> dict of cycle arrays
    "design_vector": "models",  # design -> numbers the sweep kernel needs
    "kernel": "models",  # vectorized cycles and traffic of many designs and GEMMs
    "bill_of_materials": "models",  # design -> list of cost items
    "activity_profile": "models",  # (design, data activity) -> port switching rules
    "validation_gemm": "models",  # design -> (M, N, K) the validation runs
    "bench": "sim",  # design -> stimulus/expectation planner
    "timing_paths": "models",  # design -> register-to-register paths (models.timing)
    "random_design": "design",  # (rng, name) -> a random valid small design
}


@dataclasses.dataclass(frozen=True)
class Family:
    """Everything a design family provides, as ``"module:attribute"`` references.

    Parameters
    ----------
    arch : str
        The family's name in design files (``arch = "..."``).
    summary : str
        One line for listings.
    example : str
        A design file of the family in ``examples/``, the one the conformance test runs.
    design, component, golden, gemm_cycles, design_vector, kernel : str or None
        References to the family's pieces, as ``bill_of_materials`` below.
    bill_of_materials, activity_profile, validation_gemm, bench, timing_paths : str or None
        References to the family's pieces (see :data:`CAPABILITIES`); ``None`` for a
        capability the family lacks, which must then be explained in ``lacks``.
    random_design : str or None
        Reference to the family's ``random_design(rng, name)``, which draws a random valid
        design small enough to synthesize and simulate (``shiftadd validate --random``).
    hierarchical : bool
        The component takes ``hierarchical=True``: its identical units (PEs, neuron slices)
        are then submodules listed in ``hierarchy_units`` (hierarchical synthesis).
    lacks : mapping of str to str
        Capability -> why the family does not have it.
    """

    arch: str
    summary: str
    example: str
    design: str
    component: str | None
    golden: str | None
    gemm_cycles: str | None
    design_vector: str | None
    kernel: str | None
    bill_of_materials: str | None
    activity_profile: str | None
    validation_gemm: str | None
    bench: str | None
    timing_paths: str | None = None
    random_design: str | None = None
    hierarchical: bool = False
    lacks: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for cap in CAPABILITIES:
            ref = getattr(self, cap)
            if ref is None and cap not in self.lacks:
                raise ValueError(
                    f"family {self.arch!r}: capability {cap!r} is neither given "
                    f"nor listed in lacks with a reason"
                )
            if ref is not None and (not isinstance(ref, str) or ref.count(":") != 1):
                raise ValueError(
                    f"family {self.arch!r}: {cap} must be 'module:attribute', not {ref!r}"
                )
        unknown = set(self.lacks) - set(CAPABILITIES)
        if unknown:
            raise ValueError(
                f"family {self.arch!r}: lacks names unknown capabilities {sorted(unknown)}"
            )

    def has(self, capability: str) -> bool:
        """Whether the family provides ``capability``.

        Parameters
        ----------
        capability : str
            A capability name (a key of :data:`CAPABILITIES`).

        Returns
        -------
        bool
            ``True`` if the family gives a reference for it, ``False`` if it lacks it.
        """
        return getattr(self, capability) is not None

    def get(self, capability: str) -> Any:
        """The object ``capability`` refers to, imported on first use.

        Parameters
        ----------
        capability : str
            A capability name (a key of :data:`CAPABILITIES`).

        Returns
        -------
        Any
            The resolved object (class, function or module attribute).

        Raises
        ------
        KeyError
            ``capability`` is not a known capability.
        InputError
            The family lacks the capability (the message gives the reason).
        """
        if capability not in CAPABILITIES:
            raise KeyError(capability)
        ref = getattr(self, capability)
        if ref is None:
            raise InputError(
                f"the {self.arch} family has no {capability}: {self.lacks[capability]}",
                field="arch",
            )
        return _resolve(ref)

    @property
    def design_class(self) -> type:
        """The family's design dataclass."""
        return self.get("design")


@functools.cache
def _resolve(ref: str) -> Any:
    module, _, name = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


_REGISTRY: dict[str, Family] = {}


def register(fam: Family) -> Family:
    """Make ``fam`` available under its ``arch``; a second family with the same name is an
    error.

    Parameters
    ----------
    fam : Family
        The family to register.

    Returns
    -------
    Family
        ``fam`` itself, so the call can be used as an expression.

    Raises
    ------
    ValueError
        A different family is already registered under the same ``arch``.
    """
    if fam.arch in _REGISTRY and _REGISTRY[fam.arch] is not fam:
        raise ValueError(f"a family named {fam.arch!r} is already registered")
    _REGISTRY[fam.arch] = fam
    return fam


def arches() -> list[str]:
    """Names of the registered families, sorted.

    Returns
    -------
    list of str
        The ``arch`` of every registered family, in alphabetical order.
    """
    return sorted(_REGISTRY)


def families() -> Iterator[Family]:
    """The registered families, by name.

    Returns
    -------
    iterator of Family
        Every registered family, ordered by ``arch``.
    """
    return iter(_REGISTRY[a] for a in arches())


def family(arch: str) -> Family:
    """The family named ``arch``.

    Parameters
    ----------
    arch : str
        The family's name, as in a design file's ``arch = "..."``.

    Returns
    -------
    Family
        The registered family of that name.

    Raises
    ------
    InputError
        No such family (naming the field ``arch`` and the registered names).
    """
    try:
        return _REGISTRY[arch]
    except (KeyError, TypeError):
        raise InputError(f"unknown arch {arch!r}", field="arch", allowed=arches()) from None


def family_of(design: Any) -> Family:
    """The family of a design object (by its class's ``arch``).

    Parameters
    ----------
    design : Any
        A design dataclass instance of a registered family.

    Returns
    -------
    Family
        The family whose ``arch`` the design's class names.

    Raises
    ------
    TypeError
        The object's class is not the design class of a registered family.
    """
    arch = getattr(type(design), "arch", None)
    if not isinstance(arch, str) or arch not in _REGISTRY:
        raise TypeError(f"{type(design).__name__} is not the design class of a registered family")
    return _REGISTRY[arch]


def dispatch(capability: str) -> Callable[..., Any]:
    """A function that calls ``capability`` of its first argument's family."""

    def call(design, *args, **kwargs):
        return family_of(design).get(capability)(design, *args, **kwargs)

    call.__name__ = capability
    call.__doc__ = f"Call the ``{capability}`` of the design's family."
    return call


# -- the registered families: one line each -------------------------------------------------
from . import adder_tree, cube, matrix2d, shiftadd, systolic, threshold  # noqa: E402

register(adder_tree.FAMILY)
register(systolic.FAMILY)
register(matrix2d.FAMILY)
register(shiftadd.FAMILY)
register(threshold.FAMILY)
register(cube.FAMILY)
