"""Small helpers shared by the generators."""

from __future__ import annotations

import contextlib
import itertools

from amaranth.hdl import Signal

__all__ = [
    "validating",
    "checked_register_after",
    "output_advance",
    "register_input",
    "delay_through",
    "pe_units",
]


@contextlib.contextmanager
def validating(component):
    """Parameter checks in a component constructor: if one raises, the half-built object
    is not reported by Amaranth as an unused elaboratable (only the exception is)."""
    try:
        yield
    except BaseException:
        component._MustUse__silence = True
        raise


def checked_register_after(register_after, depth: int, noun: str = "layers") -> tuple[int, ...]:
    """``register_after`` sorted, checked to be distinct layers of a tree of ``depth``
    (0 is the leaves, ``depth`` the root)."""
    slots = tuple(sorted(register_after))
    if any(not 0 <= r <= depth for r in slots) or len(set(slots)) != len(slots):
        raise ValueError(f"Register {noun} must be distinct and within 0..{depth}, not {slots!r}")
    return slots


def output_advance(m, result, *, ready=()):
    """The streaming engines' flow control: the whole pipeline advances when its output
    register is empty or being read. Returns ``advance``; the streams in ``ready`` accept
    exactly then (a stalled vector still reads the weights, so weight writes wait too)."""
    advance = Signal(name="advance")
    m.d.comb += [
        advance.eq(~result.valid | result.ready),
        *(port.ready.eq(advance) for port in ready),
    ]
    return advance


def register_input(m, port, advance):
    """The input register of stream ``port``: payload and valid loaded when the pipeline
    advances. Returns ``(payload register, valid register)``."""
    payload = Signal(port.payload.shape(), name="act_reg", reset_less=True)
    valid = Signal(name="act_valid")
    with m.If(advance):
        m.d.sync += [payload.eq(port.payload), valid.eq(port.valid)]
    return payload, valid


def delay_through(m, slots, advance, **values):
    """Each of ``values`` (name=signal) delayed by one register per pipeline slot, loaded
    when the pipeline advances, so it stays beside the data it describes. Registers are
    named ``{name}_after_layer{slot}``; ``valid`` is reset, the others are not. Returns the
    delayed values in the order given."""
    values = dict(values)
    for slot in slots:
        staged = {}
        for name, value in values.items():
            staged[name] = Signal(
                value.shape(), name=f"{name}_after_layer{slot}", reset_less=name != "valid"
            )
        with m.If(advance):
            m.d.sync += [staged[name].eq(value) for name, value in values.items()]
        values = staged
    out = tuple(values.values())
    return out[0] if len(out) == 1 else out


def pe_units(hierarchical: bool, *dims: int) -> dict[str, str]:
    """The ``hierarchy_units`` of an array of PEs named ``pe<i>_<j>...`` over ``dims``:
    every PE a unit of kind ``"pe"`` in the hierarchical form, none in the default form."""
    if not hierarchical:
        return {}
    return {
        "pe" + "_".join(map(str, index)): "pe"
        for index in itertools.product(*(range(n) for n in dims))
    }
