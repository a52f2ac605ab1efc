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

from ..errors import InputError
from .adder_tree import AdderTreeDesign
from .base import Design
from .shiftadd import ShiftAddDesign

__all__ = ["Design", "AdderTreeDesign", "ARCHES", "register_arch", "design_from_dict",
           "load_design", "read_design_file"]

ARCHES: dict[str, type[Design]] = {}


def register_arch(cls: type[Design]) -> type[Design]:
    """Make a design class loadable by its ``arch`` name."""
    ARCHES[cls.arch] = cls
    return cls


register_arch(AdderTreeDesign)
register_arch(ShiftAddDesign)
from .systolic import SystolicDesign  # noqa: E402
register_arch(SystolicDesign)
from .matrix2d import Matrix2DDesign  # noqa: E402
register_arch(Matrix2DDesign)
from .threshold import ThresholdDesign  # noqa: E402
register_arch(ThresholdDesign)


def design_from_dict(params: dict[str, Any], *, source: str | None = None) -> Design:
    """Build and validate a design from a mapping that has an ``arch`` key."""
    if not isinstance(params, dict):
        raise InputError("a design must be a table of fields", source=source)
    params = dict(params)
    arch = params.pop("arch", None)
    if arch is None:
        raise InputError("missing", field="arch", allowed=sorted(ARCHES), source=source)
    if arch not in ARCHES:
        raise InputError(f"unknown arch {arch!r}", field="arch", allowed=sorted(ARCHES),
                         source=source)
    return ARCHES[arch].from_dict(params, source=source)


def read_design_file(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a TOML (``.toml``) or YAML (``.yaml``/``.yml``) design file into a mapping."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    suffix = path.suffix.lower()
    text = path.read_bytes()
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            return tomllib.loads(text.decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"not valid TOML: {exc}", source=str(path)) from None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML: {exc}", source=str(path)) from None
        return data if data is not None else {}
    raise InputError(f"unknown design file type {suffix!r}", source=str(path),
                     allowed=[".toml", ".yaml", ".yml"])


def load_design(path: str | os.PathLike) -> Design:
    """Read, validate and return the design described by a TOML or YAML file."""
    return design_from_dict(read_design_file(path), source=str(path))
