"""Make operand widths explicit in Amaranth's RTLIL, so the Verilog is clean under -Wall.

Amaranth emits every operand at its shortest width (``x + y`` with a 3-bit ``x``, a 2-bit
``y`` and a 4-bit result) and Yosys writes such cells as they are, relying on Verilog's
implicit extension. The arithmetic is right, but ``verilator -Wall`` reports each implicit
extension as WIDTHEXPAND. This pass rewrites the RTLIL text so that every operand of an
add, subtract, negate, bitwise or compare cell already has the width the operation works at,
by concatenating sign (or zero) bits in front of it. The semantics are unchanged; the test
suite lints every generated design and simulates it against the golden model.
"""

from __future__ import annotations

import re

__all__ = ["explicit_operand_widths"]

# Cells whose operands Verilog extends to the result width, and compares, whose operands
# it extends to the wider of the two. Multiplies are left alone: a product is naturally
# wider than its operands and Verilator accepts it.
_TO_RESULT = {"$add", "$sub", "$neg", "$and", "$or", "$xor", "$xnor", "$not", "$pos"}
_TO_OPERANDS = {"$eq", "$ne", "$lt", "$le", "$gt", "$ge"}

_CELL = re.compile(
    r"^(?P<indent>[ \t]*)cell (?P<type>\S+) (?P<name>\S+)\n(?P<body>.*?)^(?P=indent)end\n",
    re.S | re.M,
)
_WIRE = re.compile(r"^\s*wire (?P<opts>.*?)(?P<name>[\\$]\S+)\s*$", re.M)
_TOKEN = re.compile(r"\s*(\{|\}|\d+'[01xzm-]+|[\\$]\S+(?:\s+\[\d+(?::\d+)?\])?)")


def _wire_widths(module_text: str) -> dict[str, int]:
    widths = {}
    for m in _WIRE.finditer(module_text):
        w = re.search(r"width (\d+)", m.group("opts"))
        widths[m.group("name")] = int(w.group(1)) if w else 1
    return widths


def _msb(sigspec: str, widths: dict[str, int]) -> str:
    """A sigspec for the most significant bit of ``sigspec``."""
    for token in _TOKEN.findall(sigspec):
        token = token.strip()
        if token in ("{", "}"):
            continue
        const = re.fullmatch(r"(\d+)'([01xzm-]+)", token)
        if const:
            return f"1'{const.group(2)[0]}"
        ref = re.fullmatch(r"([\\$]\S+)(?:\s+\[(\d+)(?::\d+)?\])?", token)
        name, hi = ref.group(1), ref.group(2)
        if hi is None:
            hi = widths[name] - 1
        return f"{name} [{hi}]"
    raise ValueError(f"empty sigspec {sigspec!r}")


def _extend(sigspec: str, width: int, target: int, signed: bool, widths) -> str:
    pad = target - width
    fill = " ".join([_msb(sigspec, widths)] * pad) if signed else f"{pad}'" + "0" * pad
    return f"{{ {fill} {sigspec} }}"


def _rewrite_cell(match: re.Match, widths: dict[str, int]) -> str:
    ctype = match.group("type")
    if ctype not in _TO_RESULT and ctype not in _TO_OPERANDS:
        return match.group(0)
    body = match.group("body")
    params = dict(re.findall(r"parameter \\(\w+) (\S+)", body))
    ports = [p for p in ("A", "B") if f"{p}_WIDTH" in params]
    signed = all(params.get(f"{p}_SIGNED", "0") == "1" for p in ports)
    if ctype in _TO_RESULT:
        target = int(params["Y_WIDTH"])
    else:
        target = max(int(params[f"{p}_WIDTH"]) for p in ports)
    for p in ports:
        width = int(params[f"{p}_WIDTH"])
        if width >= target:
            continue
        conn = re.search(rf"^(\s*connect \\{p} )(.*)$", body, re.M)
        new_sig = _extend(conn.group(2).strip(), width, target, signed, widths)
        body = body[: conn.start()] + conn.group(1) + new_sig + body[conn.end() :]
        body = re.sub(rf"parameter \\{p}_WIDTH \d+", f"parameter \\\\{p}_WIDTH {target}", body)
    return (
        f"{match.group('indent')}cell {ctype} {match.group('name')}\n{body}"
        f"{match.group('indent')}end\n"
    )


def explicit_operand_widths(rtlil_text: str) -> str:
    """Return ``rtlil_text`` with the operands of arithmetic, bitwise and compare cells
    extended to the width the operation works at."""
    out = []
    # Modules are independent namespaces: wire widths are looked up per module.
    for module in re.split(r"(?=^module )", rtlil_text, flags=re.M):
        widths = _wire_widths(module)
        out.append(_CELL.sub(lambda m, widths=widths: _rewrite_cell(m, widths), module))
    return "".join(out)
