"""A small reader for Liberty (.lib) files: cells, areas, pin functions, SRAM macros.

Enough to pick tie cells and a buffer for synthesis, to express a liberty area in NAND2
equivalents, and to read SRAM macro area, timing and power for buffer models. It is not a
general Liberty parser: it tracks brace depth and reads the simple attributes it needs.
:func:`check_liberty` tells a file that is not a usable cell library in one line, before a
flow elaborates or synthesizes anything.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from pathlib import Path

from ..errors import InputError

__all__ = ["LibertyPin", "LibertyCell", "Liberty", "read_liberty", "check_liberty", "HEADER_BYTES"]

_GROUP = re.compile(r"^\s*(\w+)\s*\((.*)\)\s*\{")
_ATTR = re.compile(r"^\s*(\w+)\s*:\s*\"?([^\";]*)\"?\s*;")
# A Liberty file opens (after comments) with its library group: ``library (name) {``.
_HEADER = re.compile(r"\s*library\s*\(\s*\"?[\w.+-]+\"?\s*\)\s*\{")
_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
#: Bytes of a file read to find its ``library (...) {`` header before the whole file is parsed.
HEADER_BYTES = 65536


@dataclasses.dataclass
class LibertyPin:
    name: str
    direction: str = ""
    function: str = ""
    capacitance: float = 0.0
    # An integrated clock gate's pin: "clock", "enable" or "out" (clock_gate_*_pin).
    clock_gate: str = ""
    state_function: str = ""  # an output of internal state (statetable cells)


@dataclasses.dataclass
class LibertyCell:
    name: str
    area: float = 0.0
    dont_use: bool = False
    leakage: float = 0.0
    pins: dict = dataclasses.field(default_factory=dict)
    is_sequential: bool = False
    is_memory: bool = False
    ff: dict | None = None  # flip-flop: variables and clocked_on/next_state/clear/preset
    clock_gating: str = ""  # clock_gating_integrated_cell, e.g. "latch_posedge"

    def clock_gate_pins(self) -> dict[str, str] | None:
        """A plain integrated clock gate's pins by role (``clock``, ``enable``, ``out``):
        ``clock_gating_integrated_cell : latch_posedge`` (a latch transparent while the
        clock is low, then an AND) with exactly those three roles; None for any other
        cell."""
        roles = {p.clock_gate: p.name for p in self.pins.values() if p.clock_gate}
        if self.clock_gating != "latch_posedge" or set(roles) != {"clock", "enable", "out"}:
            return None
        return roles

    @property
    def inputs(self) -> list[LibertyPin]:
        return [p for p in self.pins.values() if p.direction == "input"]

    @property
    def outputs(self) -> list[LibertyPin]:
        return [p for p in self.pins.values() if p.direction == "output"]


@dataclasses.dataclass
class Liberty:
    path: Path
    name: str
    cells: dict
    units: dict

    def tie_cells(self) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
        """``((cell, pin) for constant 1, (cell, pin) for constant 0)``, or None each."""
        hi = lo = None
        for cell in self.cells.values():
            if cell.dont_use or len(cell.pins) != 1:
                continue
            pin = next(iter(cell.pins.values()))
            if pin.direction == "output" and pin.function.strip() == "1" and hi is None:
                hi = (cell.name, pin.name)
            if pin.direction == "output" and pin.function.strip() == "0" and lo is None:
                lo = (cell.name, pin.name)
        return hi, lo

    def buffers(self) -> list[LibertyCell]:
        """Non-inverting single-input combinational cells, smallest first."""
        out = []
        for cell in self.cells.values():
            if (
                cell.dont_use
                or cell.is_sequential
                or len(cell.inputs) != 1
                or len(cell.outputs) != 1
            ):
                continue
            fn = cell.outputs[0].function.replace(" ", "").strip("()")
            if fn == cell.inputs[0].name:
                out.append(cell)
        return sorted(out, key=lambda c: c.area)

    def clock_gate(self) -> tuple[str, str, str, str] | None:
        """The smallest plain integrated clock gate (``clock_gating_integrated_cell :
        latch_posedge``: a latch transparent while the clock is low, then an AND) as
        ``(cell, clock pin, enable pin, gated clock pin)``, or None. A ``dont_use`` cell
        counts: the flow instantiates it explicitly, never by technology mapping."""
        found = []
        for cell in self.cells.values():
            roles = cell.clock_gate_pins()
            if roles is not None:
                found.append((cell.area, cell.name, roles))
        if not found:
            return None
        _, name, roles = min(found)
        return name, roles["clock"], roles["enable"], roles["out"]

    def buffer_usage(self, cell_types: dict[str, int]) -> tuple[int, float]:
        """``(count, area)`` of the buffer cells in a netlist's ``{cell type: count}``."""
        area = {c.name: c.area for c in self.buffers()}
        used = {t: n for t, n in cell_types.items() if t in area}
        return sum(used.values()), sum(n * area[t] for t, n in used.items())

    def nand2_area(self) -> float:
        """Area of the smallest two-input NAND (the gate-equivalent unit)."""
        for cell in sorted(self.cells.values(), key=lambda c: c.area):
            if cell.dont_use or len(cell.inputs) != 2 or len(cell.outputs) != 1:
                continue
            a, b = (p.name for p in cell.inputs)
            fn = cell.outputs[0].function.replace(" ", "")
            if fn in {
                f"!({a}&{b})",
                f"!({b}&{a})",
                f"!({a}*{b})",
                f"!({b}*{a})",
                f"({a}&{b})'",
                f"({a}*{b})'",
                f"!({a}{b})",
            }:
                return cell.area
        raise InputError("no two-input NAND cell found", source=str(self.path))


@functools.lru_cache(maxsize=16)
def _read(path: str, mtime: float) -> Liberty:
    text = Path(path).read_text(errors="replace")
    cells: dict[str, LibertyCell] = {}
    units: dict[str, str] = {}
    lib_name = ""
    stack: list[tuple[str, str]] = []
    cell: LibertyCell | None = None
    pin: LibertyPin | None = None
    for raw in text.splitlines():
        line = raw.split("/*")[0] if "/*" in raw and "*/" in raw else raw
        g = _GROUP.match(line)
        if g:
            kind, name = g.group(1), g.group(2).split(",")[0].strip().strip('"')
            stack.append((kind, name))
            if kind == "library":
                lib_name = name
            elif kind == "cell" and len(stack) == 2:
                cell = cells.setdefault(name, LibertyCell(name))
            elif kind == "pin" and cell is not None and stack[-2][0] == "cell":
                pin = cell.pins.setdefault(name, LibertyPin(name))
            elif kind in ("ff", "latch", "statetable") and cell is not None:
                cell.is_sequential = True
                if kind == "ff":
                    variables = [v.strip().strip('"') for v in g.group(2).split(",")]
                    cell.ff = {"vars": variables}
            elif kind == "memory" and cell is not None:
                cell.is_memory = True
            if line.rstrip().endswith("}"):  # one-line group
                stack.pop()
            continue
        a = _ATTR.match(line)
        if a and stack:
            key, value = a.group(1), a.group(2).strip()
            where = stack[-1][0]
            if where == "library" and key.endswith("_unit"):
                units[key] = value
            elif where == "cell" and cell is not None:
                if key == "area":
                    cell.area = float(value)
                elif key == "dont_use":
                    cell.dont_use = value.lower() == "true"
                elif key == "cell_leakage_power":
                    cell.leakage = float(value)
                elif key == "clock_gating_integrated_cell":
                    cell.clock_gating = value
            elif where == "ff" and cell is not None and cell.ff is not None:
                cell.ff[key] = value
            elif where == "pin" and pin is not None:
                if key == "direction":
                    pin.direction = value
                elif key == "function":
                    pin.function = value
                elif key == "capacitance":
                    pin.capacitance = float(value)
                elif key == "state_function":
                    pin.state_function = value
                elif key.startswith("clock_gate_") and key.endswith("_pin"):
                    if value.lower() == "true":
                        pin.clock_gate = key[len("clock_gate_") : -len("_pin")]
        for _ in range(line.count("}")):
            if stack:
                kind, _name = stack.pop()
                if kind == "cell":
                    cell = None
                elif kind == "pin":
                    pin = None
    if not cells:
        raise InputError("no cells found: is this a Liberty file?", source=path)
    return Liberty(path=Path(path), name=lib_name, cells=cells, units=units)


def read_liberty(path: str | os.PathLike) -> Liberty:
    """Read (and cache) a liberty file."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such liberty file", source=str(p))
    return _read(str(p.resolve()), p.stat().st_mtime)


def check_liberty(path: str | os.PathLike, *, field: str = "--liberty") -> Liberty:
    """Check that ``path`` is a cell library the flows can use, before any long work.

    The file must open with a ``library (NAME) {`` group (checked on its first
    :data:`HEADER_BYTES` bytes, so a large file of something else is refused unread), and
    hold the cells every flow maps onto: a two-input NAND (the gate-equivalent unit and a
    universal gate for ABC) and a D flip-flop (``dfflibmap`` maps every register onto one).

    Parameters
    ----------
    path : str or os.PathLike
        The liberty file.
    field : str
        The flag or variable it came from, named in errors (``--liberty``,
        ``SHIFTADD_LIBERTY``).

    Returns
    -------
    Liberty
        The parsed library (cached: later :func:`read_liberty` calls cost nothing).

    Raises
    ------
    InputError
        No such file, not a Liberty file, or a library without the cells the flow needs.
    """
    allowed = "a Liberty (.lib) cell library with a two-input NAND and a D flip-flop"
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(HEADER_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(
            f"cannot read the liberty file: {exc.strerror or exc}",
            field=field,
            allowed=allowed,
            source=str(p),
        ) from None
    # A comment may be cut by the end of the head: drop an unterminated one too.
    text = _COMMENTS.sub(" ", head)
    text = text.split("/*")[0]
    if not _HEADER.match(text):
        raise InputError(
            "not a Liberty file: it does not open with a 'library (NAME) {' group",
            field=field,
            allowed=allowed,
            source=str(p),
        )
    try:
        lib = read_liberty(p)
        lib.nand2_area()
    except InputError as exc:
        raise InputError(exc.message, field=field, allowed=allowed, source=str(p)) from None
    except (ValueError, UnicodeError) as exc:  # a malformed number in an attribute
        raise InputError(
            f"unreadable liberty: {exc}", field=field, allowed=allowed, source=str(p)
        ) from None
    if not any(c.ff is not None and not c.dont_use for c in lib.cells.values()):
        raise InputError(
            "no D flip-flop cell (a cell with an 'ff' group) to map registers onto",
            field=field,
            allowed=allowed,
            source=str(p),
        )
    return lib
