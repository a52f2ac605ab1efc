"""Common machinery of the design dataclasses: field coercion, validation, hashing.

Each design family is one frozen dataclass deriving from :class:`Design`. Its fields are the
parameters a user writes in the design file; everything else is a property. Validation
messages always name the field and the allowed values, so the loader, the CLI and the Python
API report bad input the same way.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import typing
from typing import Any, ClassVar, Literal

from .._version import __version__
from ..errors import InputError, brief
from ..workloads.formats import NumberFormat
from .names import check_module_name

__all__ = [
    "Design",
    "signed_width",
    "range_width",
    "int_range",
    "check_int",
    "check_choice",
    "check_clock",
    "OPERAND_FIELDS",
    "OMIT_DEFAULT",
]

#: Field metadata of an option added after designs were recorded: while the field has its
#: default it is left out of :meth:`Design.to_dict`, so of the design hash, the manifest and
#: stored validation rows, which therefore still match the same hardware.
OMIT_DEFAULT = {"omit_default": True}

#: The width and signedness fields of a design whose PE arithmetic is a mode
#: (:mod:`shiftadd.design.arith`).
OPERAND_FIELDS = ("act_bits", "act_signed", "weight_bits", "weight_signed")


def signed_width(lo: int, hi: int) -> int:
    """Bits of the smallest two's complement signed shape holding ``[lo, hi]``.

    Parameters
    ----------
    lo : int
        Smallest value to hold.
    hi : int
        Largest value to hold.

    Returns
    -------
    int
        Width in bits, at least 1.
    """
    width = 1
    while not (-(1 << (width - 1)) <= lo and hi <= (1 << (width - 1)) - 1):
        width += 1
    return width


def range_width(lo: int, hi: int) -> tuple[int, bool]:
    """``(width, signed)`` of the smallest shape holding ``[lo, hi]``: unsigned when ``lo >= 0``.

    Parameters
    ----------
    lo : int
        Smallest value to hold.
    hi : int
        Largest value to hold (``>= lo``).

    Returns
    -------
    tuple of (int, bool)
        Width in bits (at least 1) and whether the shape is two's complement signed.

    Raises
    ------
    ValueError
        ``lo > hi``.
    """
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    if lo >= 0:
        return max(1, hi.bit_length()), False
    return signed_width(lo, hi), True


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """``(lo, hi)`` of a ``bits``-bit integer, two's complement when ``signed``.

    Parameters
    ----------
    bits : int
        Width in bits.
    signed : bool
        Two's complement (else unsigned).

    Returns
    -------
    tuple of (int, int)
        Smallest and largest representable value.
    """
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def check_int(field: str, value: int, lo: int | None = None, hi: int | None = None) -> None:
    """Raise :class:`InputError` unless ``lo <= value <= hi``.

    Parameters
    ----------
    field : str
        Name of the checked field (named in the error).
    value : int
        The value to check.
    lo, hi : int, optional
        Inclusive bounds; None leaves that side open.

    Raises
    ------
    InputError
        ``value`` is out of range (naming ``field`` and the allowed range).
    """
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            allowed = f"an integer from {lo} to {hi}"
        elif lo is not None:
            allowed = f"an integer >= {lo}"
        else:
            allowed = f"an integer <= {hi}"
        raise InputError(f"{brief(value)} is out of range", field=field, allowed=allowed)


def check_clock(value: float, field: str = "clock_ns") -> None:
    """Raise :class:`InputError` unless ``value`` is a clock period from 0.05 to 1e6 ns.

    Parameters
    ----------
    value : float
        Clock period in ns.
    field : str
        Name of the checked field (named in the error).

    Raises
    ------
    InputError
        ``value`` is out of range.
    """
    if not 0.05 <= value <= 1e6:
        raise InputError(
            f"{value} is out of range", field=field, allowed="a period in ns from 0.05 to 1e6"
        )


def check_choice(field: str, value: Any, choices) -> None:
    """Raise :class:`InputError` unless ``value`` is one of ``choices``.

    Parameters
    ----------
    field : str
        Name of the checked field (named in the error).
    value : Any
        The value to check.
    choices : collection
        The allowed values (listed in the error).

    Raises
    ------
    InputError
        ``value`` is not one of ``choices``.
    """
    if value not in choices:
        raise InputError(f"{brief(value)} is not allowed", field=field, allowed=list(choices))


def _coerce(field: str, value: Any, annotation: Any) -> Any:
    """Check ``value`` against a field annotation; return it converted where lossless."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or (
        origin is not None and str(origin) == "<class 'types.UnionType'>"
    ):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _coerce(field, value, inner[0])
    if origin is Literal:
        # A list or table is never one of the choices (and may not be hashable).
        if isinstance(value, (list, tuple, dict)) or value not in args:
            raise InputError(f"{brief(value)} is not allowed", field=field, allowed=list(args))
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise InputError(
                f"expected true or false, got {brief(value)}", field=field, allowed="true, false"
            )
        return value
    if annotation is int:
        # bool is an int subclass in Python (TOML's true would pass as 1): refused.
        if isinstance(value, bool) or not isinstance(value, int):
            # 64.0 is 64; 1e300 is not an integer anyone meant (and would print 301 digits).
            if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
                return int(value)
            raise InputError(f"expected an integer, got {brief(value)}", field=field)
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"expected a number, got {brief(value)}", field=field)
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float range
            number = math.inf
        if not math.isfinite(number):
            raise InputError(
                f"{brief(value)} is not a finite number", field=field, allowed="a finite number"
            )
        return number
    if annotation is str:
        if not isinstance(value, str):
            raise InputError(f"expected a string, got {brief(value)}", field=field)
        return value
    if origin in (tuple, list) and args:
        if not isinstance(value, (list, tuple)):
            raise InputError(f"expected a list, got {brief(value)}", field=field)
        if len(args) == 2 and args[1] is Ellipsis or len(args) == 1:
            elem = args[0]
            return tuple(_coerce(f"{field}[{i}]", v, elem) for i, v in enumerate(value))
        # A fixed-length tuple such as tuple[int, int, int]: one annotation per position.
        if len(value) != len(args):
            raise InputError(
                f"expected a list of {len(args)} values, got {len(value)}", field=field
            )
        return tuple(_coerce(f"{field}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args)))
    return value


@dataclasses.dataclass(frozen=True)
class Design:
    """Base of every design dataclass.

    Subclasses set the class variable ``arch`` and declare their parameters as dataclass
    fields with defaults; they validate invariants in ``_validate`` (called from
    ``__post_init__``) and expose derived values as properties.

    Parameters
    ----------
    name : str
        Verilog module name: an ASCII identifier of at most 64 characters that is not a
        Verilog / SystemVerilog keyword nor a test-bench module name
        (:func:`shiftadd.design.names.check_module_name`).
    """

    arch: ClassVar[str] = ""
    name: str = "design"

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            coerced = _coerce(f.name, value, hints[f.name])
            if coerced is not value:
                object.__setattr__(self, f.name, coerced)
        check_module_name(self.name)
        self._validate()

    def _validate(self) -> None:
        """Check invariants across fields; raise :class:`InputError` naming the field."""

    @property
    def number_format(self) -> NumberFormat:
        """The weight and activation formats the design computes with (for the model-quality
        figures of :mod:`shiftadd.workloads.quality`); each family defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not name its number format")

    @classmethod
    def from_dict(cls, params: dict[str, Any], *, source: str | None = None) -> Design:
        """Build the design from a mapping of field values, rejecting unknown fields.

        Parameters
        ----------
        params : dict
            Field values by field name (without ``arch``).
        source : str, optional
            Where the mapping came from (named in error messages).

        Returns
        -------
        Design
            The validated design, an instance of ``cls``.

        Raises
        ------
        InputError
            An unknown field (with the closest known name) or an invalid value.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        for key in params:
            if not isinstance(key, str):  # YAML keys may be numbers, booleans or null
                raise InputError(
                    f"field names are strings, got {brief(key)}",
                    field=str(key),
                    allowed=names,
                    source=source,
                )
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise InputError(
                    f"unknown field for arch '{cls.arch}'{hint}",
                    field=key,
                    allowed=names,
                    source=source,
                )
        try:
            return cls(**params)
        except InputError as exc:
            raise exc.with_source(source) from None

    def to_dict(self) -> dict[str, Any]:
        """The resolved parameters, with ``arch`` first; what the manifest and hash record.

        Returns
        -------
        dict
            ``arch`` and every field by name (but fields marked :data:`OMIT_DEFAULT`
            that have their default); tuples become lists.
        """
        out: dict[str, Any] = {"arch": self.arch}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("omit_default") and value == f.default:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def replace(self, **changes) -> Design:
        """A copy with some fields changed, validated again.

        Parameters
        ----------
        **changes
            New values of fields, by field name.

        Returns
        -------
        Design
            A new design of the same class.
        """
        return dataclasses.replace(self, **changes)

    @property
    def design_hash(self) -> str:
        """Short hash of the resolved parameters and the package version.

        Build directories are keyed by it, so a changed parameter or a new release never
        reuses a stale simulator build.
        """
        text = json.dumps({"v": __version__, **self.to_dict()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]
