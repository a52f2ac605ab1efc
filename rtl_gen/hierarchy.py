"""Hierarchical emission: keep a component's units (PEs, neuron slices) as modules of their
own and merge identical ones, so synthesis maps each distinct unit once.

Amaranth names the RTLIL module of submodule ``sub`` of top ``top`` ``\\top.sub``. The
units a component lists (``hierarchy_units``: submodule name to the kind of unit) get
Yosys' ``keep_hierarchy`` attribute before the emission script flattens everything else;
after it, units whose module text is the same (port numbering aside: instances connect by
port name) become one module, ``<top>_<kind>`` (``<top>_<kind><i>`` for the i-th variant of
a kind), and every instance refers to it.
"""

from __future__ import annotations

import re

__all__ = ["mark_units", "merge_units"]

# A module's block: the attribute lines just above it, the module, its ``end``.
_BLOCK = re.compile(r"(?ms)^((?:attribute [^\n]*\n)*)module (\S+)\n(.*?)^end\n")
_CONNECT = re.compile(r"^(\s*connect )(\S+) ", re.M)
_PORT_INDEX = re.compile(r"^(\s*wire .*?\b(?:input|output|inout)) \d+ ", re.M)
# Names with a counter global to the design: Yosys' (``$1``, ``$auto$ff.cc:266:slice$16``) and
# Amaranth's (``\\total$723``, a port made of pieces ``\\port$31330$0``).
_COUNTED_NAME = re.compile(r"(?<!\S)(?:\$\S+|\\\S*\$\S*)")
_CELL_TYPE = re.compile(r"^(\s*cell )(\S+ )", re.M)
# A port's declaration in Amaranth's RTLIL, with the attribute lines above it:
# ``  wire width 8 input 3  signed \\act``.
_PORT_DECL = re.compile(
    r"^((?:  attribute [^\n]*\n)*  wire [^\n]*?\b(?:input|output|inout)) \d+ ([^\n]*?(\S+))$",
    re.M,
)


def _items(body: str) -> list[str]:
    """A module body's statements (a wire, a cell to its ``end``, a connection), each with
    the attribute lines above it."""
    items, current = [], []
    in_cell = False
    for line in body.splitlines(keepends=True):
        current.append(line)
        if in_cell:
            if line.startswith("  end"):
                items.append("".join(current))
                current, in_cell = [], False
        elif line.startswith("  cell "):
            in_cell = True
        elif not line.startswith("  attribute "):
            items.append("".join(current))
            current = []
    if current:
        items.append("".join(current))
    return items


def _canonical(body: str) -> tuple[str, list[str]]:
    """A module body in a canonical form, equal for units that differ only in port numbers
    and counted names, and the counted names in the order the form numbers them.

    Yosys writes statements sorted by name, so counters also reorder them: the statements are
    sorted by their text with every counted name blanked first, then the names numbered in
    that order (statements that tie keep Yosys' order, which can only miss a merge)."""
    if "\n  process " in f"\n{body}":
        # Processes (none after the emission's ``proc``) would be split line by line below.
        return body, []
    # A cell's type (``cell $mul $3``) is not a name: set apart from the renaming.
    body = _CELL_TYPE.sub(lambda m: f"{m.group(1)}{m.group(2).replace('$', '%')}", body)
    body = _PORT_INDEX.sub(r"\1 ", body)
    items = sorted(_items(body), key=lambda item: _COUNTED_NAME.sub("$", item))
    names: dict[str, str] = {}
    text = _COUNTED_NAME.sub(
        lambda m: names.setdefault(m.group(0), f"$\x00{len(names)}"), "".join(items)
    )
    return text, list(names)


def _sort_ports(body: str) -> str:
    """A module body with its ports declared and numbered in the order of their names.

    Amaranth declares a submodule's ports in the order the parent's netlist meets them, so
    two units of the same logic may declare them in different orders; Yosys' clean-up then
    keeps different wire names for the same nets, and the units no longer read as one.
    Instances connect ports by name, so the order is free."""
    ports = sorted(_PORT_DECL.findall(body), key=lambda port: port[2])
    number = {port[2]: i for i, port in enumerate(ports)}
    declared = iter(ports)

    def place(match: re.Match) -> str:
        head, rest, name = next(declared)
        return f"{head} {number[name]} {rest}"

    return _PORT_DECL.sub(place, body)


def mark_units(rtlil_text: str, top: str, units: dict[str, str]) -> str:
    """``rtlil_text`` with the modules of the submodules ``units`` of ``top`` marked to be
    kept out of ``flatten``, their ports declared in the order of their names.

    Raises
    ------
    ValueError
        A unit that is not a module of the text.
    """
    found = set()

    def mark(match: re.Match) -> str:
        name = match.group(1)
        found.add(name)
        return f"attribute \\keep_hierarchy 1\nmodule \\{top}.{name}\n"

    names = "|".join(re.escape(n) for n in sorted(units, key=len, reverse=True))
    text = re.sub(rf"(?m)^module \\{re.escape(top)}\.({names})\n", mark, rtlil_text)
    missing = sorted(set(units) - found)
    if missing:
        raise ValueError(f"units {missing[:3]} are not submodules of {top}")
    marked = {f"{top}.{unit}" for unit in units}

    def sort_unit_ports(match: re.Match) -> str:
        if match.group(2)[1:] not in marked:
            return match.group(0)
        return f"{match.group(1)}module {match.group(2)}\n{_sort_ports(match.group(3))}end\n"

    return _BLOCK.sub(sort_unit_ports, text)


def merge_units(rtlil_text: str, top: str, units: dict[str, str]) -> str:
    """Merge the identical unit modules of ``rtlil_text`` (after flattening).

    Returns
    -------
    str
        The RTLIL with one module per distinct unit, named ``<top>_<kind>[i]``.
    """
    blocks = {m.group(2)[1:]: m for m in _BLOCK.finditer(rtlil_text)}
    rename: dict[str, str] = {}
    keep: dict[str, str] = {}  # unit module kept -> its new name
    # kind -> canonical body -> (new name, the kept module's counted names)
    variants: dict[str, dict[str, tuple[str, list[str]]]] = {}
    ports: dict[str, dict[str, str]] = {}  # merged unit -> its names to the kept module's
    for unit, kind in units.items():
        old = f"{top}.{unit}"
        if old not in blocks:
            raise ValueError(f"unit {unit} of {top} is not in the emitted RTLIL")
        body, names = _canonical(blocks[old].group(3))
        seen = variants.setdefault(kind, {})
        if body not in seen:
            seen[body] = (f"{top}_{kind}" + (str(len(seen)) if seen else ""), names)
            keep[old] = seen[body][0]
        else:
            # Same structure: its counted names (ports among them) map one to one.
            ports[old] = dict(zip(names, seen[body][1]))
        rename[old] = seen[body][0]

    def rewrite(match: re.Match) -> str:
        name = match.group(2)[1:]
        if name in rename and name not in keep:
            return ""  # a duplicate of a kept unit
        attrs = match.group(1).replace("attribute \\keep_hierarchy 1\n", "")
        body = match.group(3)
        if name in keep:
            return f"{attrs}module \\{keep[name]}\n{body}end\n"
        return match.group(0)

    def reconnect(match: re.Match) -> str:
        old, inst, body = match.group(1), match.group(2), match.group(3)
        names = ports.get(old)
        if names:
            body = _CONNECT.sub(lambda c: f"{c.group(1)}{names.get(c.group(2), c.group(2))} ", body)
        return f"  cell \\{rename[old]} {inst}\n{body}  end\n"

    text = _BLOCK.sub(rewrite, rtlil_text)
    cells = "|".join(re.escape(name) for name in sorted(rename, key=len, reverse=True))
    text = re.sub(rf"(?ms)^  cell \\({cells}) (\S+)\n(.*?)^  end\n", reconnect, text)
    return text
