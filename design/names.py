"""What a design's name may be: it becomes the Verilog module name of the generated top.

A name is an ASCII identifier (``[A-Za-z_][A-Za-z0-9_]*``) of at most
:data:`MAX_NAME_LENGTH` characters that is neither a Verilog / SystemVerilog keyword
(:data:`VERILOG_KEYWORDS`, the whole IEEE 1800-2017 list, which includes the Verilog-2005
one) nor a module name of shiftadd's own test benches (:data:`RESERVED_MODULE_NAMES`).
``str.isalnum()`` is not enough: it accepts ``"ñame"``, which Verilator reads as a syntax
error, and a keyword such as ``"module"`` passes any character test.
"""

from __future__ import annotations

import re

from ..errors import InputError, brief

__all__ = [
    "VERILOG_KEYWORDS",
    "RESERVED_MODULE_NAMES",
    "MAX_NAME_LENGTH",
    "check_module_name",
]

#: Longest design name: a module name, also the stem of build folders and file names.
MAX_NAME_LENGTH = 64

#: The reserved keywords of IEEE 1800-2017 (SystemVerilog), Annex B: a superset of the
#: Verilog-2005 keywords. Verilator and Icarus parse the generated file with them reserved.
VERILOG_KEYWORDS = frozenset(
    """
    accept_on alias always always_comb always_ff always_latch and assert assign assume
    automatic before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex
    casez cell chandle checker class clocking cmos config const constraint context continue
    cover covergroup coverpoint cross deassign default defparam design disable dist do edge
    else end endcase endchecker endclass endclocking endconfig endfunction endgenerate
    endgroup endinterface endmodule endpackage endprimitive endprogram endproperty endspecify
    endsequence endtable endtask enum event eventually expect export extends extern final
    first_match for force foreach forever fork forkjoin function generate genvar global
    highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import incdir
    include initial inout input inside instance int integer interconnect interface intersect
    join join_any join_none large let liblist library local localparam logic longint
    macromodule matches medium modport module nand negedge nettype new nexttime nmos nor
    noshowcancelled not notif0 notif1 null or output package packed parameter pmos posedge
    primitive priority program property protected pull0 pull1 pulldown pullup
    pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence rcmos real
    realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran rtranif0
    rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence shortint
    shortreal showcancelled signed small soft solve specify specparam static string strong
    strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on table tagged
    task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1
    triand trior trireg type typedef union unique unique0 unsigned until until_with untyped
    use uwire var vectored virtual void wait wait_order wand weak weak0 weak1 while wildcard
    wire with within wor xnor xor
    """.split()
)

#: Module names the simulation and activity benches define next to the design's Verilog
#: (``shiftadd.sim.harness.HARNESS_TOP``, the activity bench's top, the dump module
#: cocotb adds for Icarus): a design of the same name would be a duplicate module.
#: ``tests/test_hostile_inputs.py`` checks that the harness's name is listed here.
RESERVED_MODULE_NAMES = frozenset(
    {"shiftadd_harness", "harness", "calib_tb", "cocotb_iverilog_dump"}
)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def check_module_name(name, field: str = "name") -> str:
    """Raise :class:`InputError` unless ``name`` can be the generated Verilog module's name.

    Parameters
    ----------
    name : str
        The proposed name.
    field : str
        The field it came from (named in the error).

    Returns
    -------
    str
        ``name``, unchanged.

    Raises
    ------
    InputError
        Not a string, not an ASCII identifier, longer than :data:`MAX_NAME_LENGTH`, a
        Verilog / SystemVerilog keyword or one of :data:`RESERVED_MODULE_NAMES`.
    """
    if not isinstance(name, str):
        raise InputError(f"expected a string, got {brief(name)}", field=field)
    if len(name) > MAX_NAME_LENGTH:
        raise InputError(
            f"{len(name):,} characters is too long",
            field=field,
            allowed=f"at most {MAX_NAME_LENGTH} characters",
        )
    if not _IDENTIFIER.fullmatch(name):
        raise InputError(
            f"{brief(name)} is not a valid module name",
            field=field,
            allowed="ASCII letters, digits and '_', not starting with a digit",
        )
    if name in VERILOG_KEYWORDS:
        raise InputError(
            f"{name!r} is a Verilog/SystemVerilog keyword",
            field=field,
            allowed=f"an identifier that is not a keyword (e.g. add a suffix: '{name}_design')",
        )
    if name in RESERVED_MODULE_NAMES:
        raise InputError(
            f"{name!r} is the name of a shiftadd test-bench module",
            field=field,
            allowed=f"any other identifier (not {', '.join(sorted(RESERVED_MODULE_NAMES))})",
        )
    return name
