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

from .._io import read_input_bytes
from ..errors import InputError, brief
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
    "MAX_NESTING",
    "MAX_DESIGN_FILE_BYTES",
]

#: Deepest nesting of tables and lists a design or sweep file may have (real files nest
#: three or four levels): deeper input is refused before anything walks it recursively.
MAX_NESTING = 64
#: Largest design or sweep file read: 1 MiB, a hundred times the largest real one (the
#: TOML and YAML parsers are pure Python, so this also bounds the parse to about a second).
MAX_DESIGN_FILE_BYTES = 1024 * 1024


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
    if not isinstance(arch, str):
        raise InputError(
            f"expected a string, got {brief(arch)}", field="arch", allowed=arches(), source=source
        )
    try:
        cls = design_class(arch)
    except InputError as exc:
        raise exc.with_source(source) from None
    return cls.from_dict(params, source=source)


def _nesting_depth(data: Any) -> int:
    """Deepest nesting of dicts and lists in ``data``, walked without recursion."""
    deepest = 0
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, (list, tuple)):
            children = list(value)
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_NESTING:
            return deepest
        stack.extend((c, depth + 1) for c in children)
    return deepest


def _too_deep(source: str) -> InputError:
    return InputError(
        f"tables and lists nested more than {MAX_NESTING} levels deep",
        allowed=f"at most {MAX_NESTING} levels",
        source=source,
    )


def _yaml_loader():
    """A ``yaml.SafeLoader`` that refuses anchors and aliases (an alias bomb expands a
    kilobyte file to gigabytes), duplicate keys (YAML would keep the last one silently)
    and nesting deeper than :data:`MAX_NESTING`."""
    import yaml  # deferred for start-up time: most design files are TOML

    class StrictLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise InputError(
                    f"YAML anchors and aliases are not allowed (line {event.start_mark.line + 1})",
                    allowed="write each value out",
                )
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise InputError(
                    f"tables and lists nested more than {MAX_NESTING} levels deep",
                    allowed=f"at most {MAX_NESTING} levels",
                )
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node, deep=False):
            seen: set = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if duplicate:
                    raise InputError(
                        f"duplicate key {brief(key)} (line {key_node.start_mark.line + 1})",
                        field=str(key),
                        allowed="each key once",
                    )
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


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
        No such file, a file larger than :data:`MAX_DESIGN_FILE_BYTES`, an unknown
        suffix, text that does not parse, a top level that is not a table, nesting deeper
        than :data:`MAX_NESTING`, and in YAML an anchor or alias or a duplicate key.
    """
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise InputError(
            f"unknown design file type {suffix!r}",
            source=source,
            allowed=[".toml", ".yaml", ".yml"],
        )
    text = read_input_bytes(path, limit=MAX_DESIGN_FILE_BYTES)
    try:
        if suffix == ".toml":
            try:
                data = tomllib.loads(text.decode())
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise InputError(f"not valid TOML: {exc}", source=source) from None
        else:
            import yaml  # deferred for start-up time: most design files are TOML

            try:
                data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader
            except yaml.YAMLError as exc:
                raise InputError(f"not valid YAML: {exc}", source=source) from None
            except InputError as exc:
                raise exc.with_source(source) from None
            if data is None:
                data = {}
    except RecursionError:  # the parser recursed per level before MAX_NESTING was checked
        raise _too_deep(source) from None
    if not isinstance(data, dict):
        raise InputError(
            f"the top level must be a table of keys, not a {type(data).__name__}", source=source
        )
    if _nesting_depth(data) > MAX_NESTING:
        raise _too_deep(source)
    return data


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
