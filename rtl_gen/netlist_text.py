"""Rewrites of Yosys' gate-level Verilog that OpenSTA's reader needs.

Yosys writes port bits that alias other nets (output bits tied to one constant cell, an output
bit equal to an input bit) as one concatenation assignment,
``assign { y[3:2], y[0] } = { t, t, a[1] };``, which OpenSTA's Verilog reader rejects
("syntax error, unexpected '{'"). :func:`split_concatenated_assigns` writes each such
statement as one ``assign`` per bit.
"""

from __future__ import annotations

import re

__all__ = ["split_concatenated_assigns"]

_ASSIGN = re.compile(r"^(\s*)assign\s*\{(.*)\}\s*=\s*\{(.*)\}\s*;\s*$", re.M)
_NAME = r"(?:\\\S+ |[A-Za-z_][\w$]*)"
_ITEM = re.compile(rf"^({_NAME})\s*(?:\[(\d+)(?::(\d+))?\])?$")
_CONST = re.compile(r"^(\d+)'b([01xzXZ]+)$")


def _bits(item: str) -> list[str] | None:
    """The single-bit operands of one concatenation item, most significant first; None when
    the item is not a name, a bit or range of a name, or a binary constant."""
    item = item.strip()
    m = _CONST.match(item)
    if m:
        width, digits = int(m.group(1)), m.group(2).rjust(int(m.group(1)), "0")
        return [f"1'b{d}" for d in digits[-width:]]
    m = _ITEM.match(item)
    if not m:
        return None
    name, hi, lo = m.group(1), m.group(2), m.group(3)
    if hi is None:
        return [name]
    if lo is None:
        return [f"{name}[{hi}]"]
    step = -1 if int(hi) >= int(lo) else 1
    return [f"{name}[{i}]" for i in range(int(hi), int(lo) + step, step)]


def _expand(concatenation: str) -> list[str] | None:
    out: list[str] = []
    for item in concatenation.split(","):
        bits = _bits(item)
        if bits is None:
            return None
        out += bits
    return out


def split_concatenated_assigns(text: str) -> str:
    """``text`` with every ``assign { ... } = { ... };`` written as one ``assign`` per bit.

    A statement whose items are not plain names, bits, ranges or binary constants, or whose
    sides differ in width, is left as it is.

    Parameters
    ----------
    text : str
        Gate-level Verilog as Yosys' ``write_verilog -noattr -noexpr`` writes it.

    Returns
    -------
    str
        The same netlist, readable by OpenSTA.
    """

    def rewrite(m: re.Match) -> str:
        indent, lhs, rhs = m.group(1), _expand(m.group(2)), _expand(m.group(3))
        if lhs is None or rhs is None or len(lhs) != len(rhs):
            return m.group(0)
        return "\n".join(f"{indent}assign {a} = {b};" for a, b in zip(lhs, rhs))

    return _ASSIGN.sub(rewrite, text)
