"""Rewrites of Yosys' gate-level Verilog that OpenSTA's reader needs.

Yosys writes port bits that alias other nets (output bits tied to one constant cell, an output
bit equal to an input bit) as one concatenation assignment,
``assign { y[3:2], y[0] } = { t, t, a[1] };``, which OpenSTA's Verilog reader rejects
("syntax error, unexpected '{'"). :func:`split_concatenated_assigns` writes each such
statement as one ``assign`` per bit.
"""

from __future__ import annotations

import re

__all__ = ["split_concatenated_assigns", "buffer_unit_inputs"]

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


_INSTANCE = re.compile(r"^  (\w+) (\S+) \((.*?)\n  \);\n", re.M | re.S)
_CONNECTION = re.compile(r"\.(\\\S+ |\w+)\((.*?)\)(?=,\n|\n|$)", re.S)
_INPUTS = re.compile(r"^\s*input\s+(?:\[[^\]]*\]\s*)?(\\\S+|\w+)\s*;", re.M)


_VECTORS = re.compile(r"^\s*(?:input|output|inout|wire)\s+\[(\d+):(\d+)\]\s*(\\\S+|\w+)\s*;", re.M)


def _connection_bits(expr: str, vectors: dict[str, str]) -> list[str] | None:
    """The single-bit nets of an instance connection (a name, bit, range, constant or a
    concatenation of them), most significant first; None when not understood. A bare name
    of a vector (``vectors``: name to its ``[hi:lo]``) stands for all its bits."""
    if expr.startswith("{") and expr.endswith("}"):
        expr = expr[1:-1]
    out: list[str] = []
    for item in expr.split(","):
        item = item.strip()
        if item.startswith("\\"):
            if " " in item:
                return None  # an escaped name with a range
            out.append(item + " ")  # an escaped name ends at a space
            continue
        if item in vectors:
            item += vectors[item]
        bits = _bits(item)
        if bits is None:
            return None
        out += bits
    return out


def _pin_loads(body: str, port: str, width: int) -> list[int]:
    """Gate inputs each bit of input ``port`` (``width`` bits) drives inside a module body,
    most significant bit first (at least 1)."""
    body = body[body.index(";") + 1 :]  # not the module's port list
    name = re.escape(port.strip()) + (r"\s*" if port.startswith("\\") else "")
    if width == 1:
        count = len(re.findall(rf"[({{,]\s*{name}\s*[),}}]", body))
        return [max(1, count)]
    counts = [0] * width
    for b in re.findall(rf"[({{,]\s*{name}\[(\d+)\]\s*[),}}]", body):
        if int(b) < width:
            counts[int(b)] += 1
    return [max(1, c) for c in reversed(counts)]


def _weighted_groups(items: list, weights: list[int], limit: int) -> list[list]:
    """``items`` in consecutive groups whose weights sum to at most ``limit`` (an item
    heavier than that alone), the fewest such groups with near-equal sums."""
    count = -(-sum(weights) // limit)
    target = -(-sum(weights) // count)
    groups: list[list] = [[]]
    total = 0
    for item, w in zip(items, weights):
        if groups[-1] and total + w > target:
            groups.append([])
            total = 0
        groups[-1].append(item)
        total += w
    return groups


def _module(text: str, name: str) -> tuple[int, int]:
    start = text.index(f"module {name}(")
    return start, text.index("endmodule", start)


def buffer_unit_inputs(
    text: str,
    top: str,
    units: list[str],
    buffer: tuple[str, str, str],
    max_fanout: int = 16,
    ideal: tuple[str, ...] = (),
) -> tuple[str, int]:
    """Give every net of ``top`` that drives more than ``max_fanout`` gate inputs inside unit
    instances (each unit input pin counts the gate inputs it drives in the unit) a tree of
    ``buffer`` cells, each driving at most that many (or one pin that alone drives more).

    ABC maps a hierarchical netlist module by module: in the top, a unit instance's input
    pin is an output of the mapped network, which ABC does not buffer, so one net (the
    pipeline enable, a reset) can be left driving hundreds of units' inputs from a weak
    cell, where the flat netlist gets a buffer tree from ABC. This adds that tree.

    Parameters
    ----------
    text : str
        Gate-level Verilog as Yosys writes it (``write_verilog -noattr -noexpr``).
    top : str
        The top module, which instantiates the units.
    units : list of str
        Unit module names (defined in ``text``).
    buffer : tuple of str
        ``(cell, input pin, output pin)`` of the buffer to insert.
    max_fanout : int
        Unit input pins (or buffers) one net or buffer may drive.
    ideal : tuple of str
        Nets left unbuffered (the clock: ideal in timing, its tree is physical design's).

    Returns
    -------
    (str, int)
        The netlist and the number of buffers inserted.
    """
    cell, pin_a, pin_x = buffer
    inputs = {}
    pin_loads: dict[tuple[str, str], list[int]] = {}  # (unit, port) -> loads per bit, MSB first
    for unit in units:
        start, end = _module(text, unit)
        unit_body = text[start:end]
        inputs[unit] = {name.strip() for name in _INPUTS.findall(unit_body)}
        widths = {n.strip(): int(hi) - int(lo) + 1 for hi, lo, n in _VECTORS.findall(unit_body)}
        for port in inputs[unit]:
            pin_loads[unit, port] = _pin_loads(unit_body, port, widths.get(port, 1))
    start, end = _module(text, top)
    body = text[start:end]
    vectors = {name: f"[{hi}:{lo}]" for hi, lo, name in _VECTORS.findall(body)}
    instances = [m for m in _INSTANCE.finditer(body) if m.group(1) in inputs]
    skipped: set[int] = set()
    # Every bit of every unit input pin: (instance index, port, bit index) by the net on it,
    # and the gate inputs it drives inside the unit.
    loads: dict[str, list[tuple[int, str, int]]] = {}
    weights: dict[str, list[int]] = {}
    spelled: dict[str, str] = {}  # an escaped name keeps the space that ends it
    wiring = []
    for i, m in enumerate(instances):
        ports = {c.group(1): c.group(2).strip() for c in _CONNECTION.finditer(m.group(3))}
        bits = {port: _connection_bits(expr, vectors) for port, expr in ports.items()}
        wiring.append(bits)
        if any(b is None for b in bits.values()) or len(ports) != m.group(3).count("\n    ."):
            skipped.add(i)  # a connection this reader does not follow: leave it alone
            continue
        for port, port_bits in bits.items():
            if port.strip() not in inputs[m.group(1)]:
                continue
            per_bit = pin_loads[m.group(1), port.strip()]
            for j, net in enumerate(port_bits):
                if not net.startswith("1'b") and net.strip() not in ideal:
                    loads.setdefault(net.strip(), []).append((i, port, j))
                    w = per_bit[j] if len(per_bit) == len(port_bits) else 1
                    weights.setdefault(net.strip(), []).append(w)
                    spelled[net.strip()] = net
    buffers: list[list[str | None]] = []  # [input net, output net] per inserted buffer

    def connect(load, net: str) -> None:
        if load[0] == "pin":
            _, i, port, j = load
            wiring[i][port][j] = net
        else:
            buffers[load[1]][0] = net

    for net, pins in loads.items():
        if sum(weights[net]) <= max_fanout:
            continue
        level = [("pin", *pin) for pin in pins]
        # Leaves first: one buffer per group of pins whose gate inputs inside the units add up
        # to at most max_fanout, then buffers (one load each) for those buffers.
        groups = _weighted_groups(level, weights[net], max_fanout)
        while len(groups) > 1:
            level = []
            for group in groups:
                wire = f"_hbuf{len(buffers)}_"
                buffers.append([None, wire])
                for load in group:
                    connect(load, wire)
                level.append(("buf", len(buffers) - 1))
            groups = _weighted_groups(level, [1] * len(level), max_fanout)
        for load in level:
            connect(load, spelled[net])
    if not buffers:
        return text, 0

    def rewrite(m: re.Match) -> str:
        i = index[m.start()]
        if i in skipped:
            return m.group(0)
        ports = wiring[i]
        items = []
        for port, bits in ports.items():
            if bits is None:
                return m.group(0)
            items.append(
                f"    .{port}({bits[0] if len(bits) == 1 else '{ ' + ', '.join(bits) + ' }'})"
            )
        return f"  {m.group(1)} {m.group(2)} (\n" + ",\n".join(items) + "\n  );\n"

    index = {m.start(): i for i, m in enumerate(instances)}
    new_body = _INSTANCE.sub(lambda m: rewrite(m) if m.start() in index else m.group(0), body)
    cells = [
        f"  wire {out};\n  {cell} {out}cell (\n    .{pin_a}({src}),\n    .{pin_x}({out})\n  );\n"
        for src, out in buffers
    ]
    return text[:start] + new_body + "".join(cells) + text[end:], len(buffers)
