"""Design descriptions: one frozen dataclass per design family, loaded from a file.

A design file is TOML (or YAML) with ``arch`` naming the family and the family's parameters::

    arch = "adder_tree"
    name = "bnn_k256"
    mode = "xnor"
    k = 256
    n = 16

:func:`load_design` reads and validates it; the same object then drives the RTL generator,
the golden and analytic models and the simulation bench.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..errors import InputError
from ..families import arches, family
from .adder_tree import AdderTreeDesign
from .base import Design
from .matrix2d import Matrix2DDesign
from .random import random_designs
from .shiftadd import ShiftAddDesign
from .systolic import GridDesign, SystolicDesign
from .threshold import ThresholdDesign

__all__ = [
    "Design",
    "AdderTreeDesign",
    "GridDesign",
    "SystolicDesign",
    "Matrix2DDesign",
    "ShiftAddDesign",
    "ThresholdDesign",
    "design_class",
    "design_from_dict",
    "load_design",
    "read_design_file",
    "random_designs",
]


def design_class(arch: str) -> type[Design]:
    """The design dataclass of family ``arch`` (:mod:`shiftadd.families`).

    Parameters
    ----------
    arch : str
        A registered family name, e.g. ``"adder_tree"``.

    Returns
    -------
    type of Design
        The family's design class.

    Raises
    ------
    InputError
        No family of that name (naming the field ``arch`` and the registered names).
    """
    return family(arch).design_class


def design_from_dict(params: dict[str, Any], *, source: str | None = None) -> Design:
    """Build and validate a design from a mapping that has an ``arch`` key.

    Parameters
    ----------
    params : dict
        ``arch`` and the family's fields, as a design file holds them.
    source : str, optional
        Where the mapping came from (named in error messages).

    Returns
    -------
    Design
        The validated, frozen design.

    Raises
    ------
    InputError
        A missing or unknown ``arch``, an unknown field, a value of the wrong type or out
        of range: the message names the field and the allowed values.
    """
    if not isinstance(params, dict):
        raise InputError("a design must be a table of fields", source=source)
    params = dict(params)
    arch = params.pop("arch", None)
    if arch is None:
        raise InputError("missing", field="arch", allowed=arches(), source=source)
    try:
        cls = design_class(arch)
    except InputError as exc:
        raise InputError(str(exc), source=source) from None
    return cls.from_dict(params, source=source)


def read_design_file(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a TOML (``.toml``) or YAML (``.yaml``/``.yml``) design file into a mapping.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
        The file's top-level table.

    Raises
    ------
    InputError
        No such file, an unknown suffix, or text that does not parse.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    suffix = path.suffix.lower()
    text = path.read_bytes()
    if suffix == ".toml":
        try:
            return tomllib.loads(text.decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"not valid TOML: {exc}", source=str(path)) from None
    if suffix in (".yaml", ".yml"):
        import yaml  # deferred for start-up time: most design files are TOML

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML: {exc}", source=str(path)) from None
        return data if data is not None else {}
    raise InputError(
        f"unknown design file type {suffix!r}", source=str(path), allowed=[".toml", ".yaml", ".yml"]
    )


def load_design(path: str | os.PathLike) -> Design:
    """Read, validate and return the design described by a TOML or YAML file.

    Parameters
    ----------
    path : path-like
        A design file (``arch`` and the family's fields).

    Returns
    -------
    Design

    Raises
    ------
    InputError
        Bad file or bad field (see :func:`design_from_dict`).
    """
    return design_from_dict(read_design_file(path), source=str(path))
