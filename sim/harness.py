"""A Verilog harness that plays stimulus from memory and records results to memory.

Driving a design from Python one signal per cycle caps a cocotb bench at some tens of
thousands of cycles per second. The harness instead holds a whole chunk of transfers in a
simulated memory (loaded from a binary file with ``$fread``), presents them on the design's
input streams at full speed while honouring ``ready``, and records every output handshake
with its cycle number in another memory (written with ``$fwrite("%u")``). cocotb loads a
chunk, starts it, waits for ``done`` and reads the records; packing and checking happen in
bulk in NumPy. Binary files rather than ``$readmemh`` text: parsing hex cost more than
simulating.

It is generated from the design's stream members as its Verilog manifest records them
(:meth:`HarnessSpec.from_manifest`), so it fits every design family:

* entry = ``{bubble, stream select, payload}``; ``bubble`` holds all ``valid`` low for a
  cycle (to test gaps in the input);
* per output stream, a ``ready`` pattern memory indexed by cycle (to test backpressure);
* record = ``{cycle[31:0], payload}``; in a four-state simulator (Icarus) the record also
  holds which payload bits were unknown, ``{unknown, cycle, payload}``, because
  ``$fwrite("%u")`` writes an X bit as 0 and would hide a result that depends on a register
  nothing initialized.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .packing import layout_width, pack_bytes, records_from_bytes, unpack, words_to_bits
from .plan import Chunk, Recorded

__all__ = [
    "HarnessSpec",
    "harness_verilog",
    "HARNESS_TOP",
    "encode_entries",
    "decode_records",
    "verilator_public_config",
]

HARNESS_TOP = "shiftadd_harness"
CYCLE_BITS = 32


@dataclasses.dataclass(frozen=True)
class StreamInfo:
    """One stream of the design under test: name, payload width and layout description."""

    name: str
    width: int
    layout: dict


@dataclasses.dataclass(frozen=True)
class HarnessSpec:
    """Shape of a harness: the DUT's streams and the memory depths."""

    dut: str
    inputs: tuple[StreamInfo, ...]
    outputs: tuple[StreamInfo, ...]
    depth: int = 1 << 16
    ready_depth: int = 1 << 10
    four_state: bool = False

    @classmethod
    def from_manifest(
        cls,
        manifest: dict,
        *,
        depth: int = 1 << 16,
        ready_depth: int = 1 << 10,
        four_state: bool = False,
    ) -> HarnessSpec:
        """The harness of a design from its Verilog manifest
        (:attr:`shiftadd.rtl_gen.emit.GeneratedRTL.manifest`): its top, its stream members
        in signature order and their payload layouts. With ``four_state`` (a simulator
        with X, such as Icarus) every record also carries the payload's unknown bits.

        Raises
        ------
        ValueError
            The top has no input or no output stream, or members that are not streams.
        """
        streams = manifest["streams"]
        ins = {n: s for n, s in streams.items() if s["direction"] == "input"}
        outs = {n: s for n, s in streams.items() if s["direction"] == "output"}
        if not ins or not outs:
            raise ValueError("the harness needs at least one input and one output stream")
        extra = sorted(
            {p["name"].split("__")[0] for p in manifest["ports"] if p["name"] not in ("clk", "rst")}
            - set(streams)
        )
        if extra:
            raise ValueError(f"the harness only drives streams; unsupported members: {extra}")
        mk = lambda d: tuple(
            StreamInfo(n, layout_width(s["payload"]), s["payload"]) for n, s in d.items()
        )
        if depth & (depth - 1) or ready_depth & (ready_depth - 1):
            raise ValueError("memory depths must be powers of two")
        return cls(
            dut=manifest["top"],
            inputs=mk(ins),
            outputs=mk(outs),
            depth=depth,
            ready_depth=ready_depth,
            four_state=four_state,
        )

    @property
    def select_bits(self) -> int:
        return max(1, (len(self.inputs) - 1).bit_length())

    @property
    def payload_bits(self) -> int:
        return max(s.width for s in self.inputs)

    @property
    def entry_bits(self) -> int:
        return 1 + self.select_bits + self.payload_bits

    def record_bits(self, out: StreamInfo) -> int:
        return CYCLE_BITS + out.width * (2 if self.four_state else 1)

    @property
    def control_signals(self) -> tuple[str, ...]:
        """Harness ports cocotb reads or writes (made public to the VPI)."""
        names = [
            "clk",
            "rst",
            "load",
            "start",
            "dump",
            "n_entries",
            "max_cycles",
            "n_drain",
            "done",
            "timeout",
            "cycles",
        ]
        for out in self.outputs:
            names += [f"n_expect_{out.name}", f"n_records_{out.name}"]
        return tuple(names)


def harness_verilog(spec: HarnessSpec) -> str:
    """Verilog-2001 source of the harness module ``shiftadd_harness``."""
    aw = (spec.depth - 1).bit_length()
    rw = (spec.ready_depth - 1).bit_length()
    pw, sw, ew = spec.payload_bits, spec.select_bits, spec.entry_bits
    L = []
    add = L.append
    add("// Generated by shiftadd: stimulus player and result recorder (see shiftadd.sim.harness).")
    add("`timescale 1ns/1ps")
    add(f"module {HARNESS_TOP} (")
    ports = [
        "input  wire        clk",
        "input  wire        rst",
        "input  wire        load",
        "input  wire        start",
        "input  wire        dump",
        "input  wire [31:0] n_entries",
        "input  wire [31:0] max_cycles",
        "input  wire [31:0] n_drain",
    ]
    for out in spec.outputs:
        ports.append(f"input  wire [31:0] n_expect_{out.name}")
    ports += ["output reg         done", "output reg         timeout", "output reg  [31:0] cycles"]
    for out in spec.outputs:
        ports.append(f"output reg  [31:0] n_records_{out.name}")
    add(",\n".join("  " + p for p in ports))
    add(");")
    add(f"  localparam DEPTH = {spec.depth};")
    add(f"  reg [{ew - 1}:0] stim [0:DEPTH-1];")
    add("  reg [8*1024-1:0] stim_file;")
    add("  integer fd, i, status;")
    for out in spec.outputs:
        add(f"  reg [{spec.record_bits(out) - 1}:0] rec_{out.name} [0:DEPTH-1];")
        add(f"  reg ready_{out.name} [0:{spec.ready_depth - 1}];")
        add(f"  reg [8*1024-1:0] rec_file_{out.name}, ready_file_{out.name};")
    add("  initial begin")
    add('    if (!$value$plusargs("stim=%s", stim_file)) stim_file = "stim.bin";')
    for out in spec.outputs:
        add(
            f'    if (!$value$plusargs("rec_{out.name}=%s", rec_file_{out.name})) '
            f'rec_file_{out.name} = "rec_{out.name}.bin";'
        )
        add(
            f'    if (!$value$plusargs("ready_{out.name}=%s", ready_file_{out.name})) '
            f'ready_file_{out.name} = "ready_{out.name}.bin";'
        )
    add("  end")
    add("  reg running, draining;")
    add("  reg [31:0] ptr, drain_left;")
    add(f"  wire [{ew - 1}:0] cur = stim[ptr[{aw - 1}:0]];")
    add("  wire have = running && !draining && (ptr < n_entries);")
    add(f"  wire bubble = cur[{ew - 1}];")
    add(f"  wire [{sw - 1}:0] sel = cur[{pw + sw - 1}:{pw}];")
    for i, s in enumerate(spec.inputs):
        add(f"  wire {s.name}_valid = have && !bubble && (sel == {sw}'d{i});")
        add(f"  wire [{s.width - 1}:0] {s.name}_payload = cur[{s.width - 1}:0];")
        add(f"  wire {s.name}_ready;")
    for out in spec.outputs:
        add(f"  wire {out.name}_valid;")
        add(f"  wire [{out.width - 1}:0] {out.name}_payload;")
        add(f"  wire {out.name}_ready = running && ready_{out.name}[cycles[{rw - 1}:0]];")
        add(f"  wire {out.name}_fire = {out.name}_valid && {out.name}_ready;")
        if spec.four_state:
            # One flag per payload bit: X or Z (=== sees them; %u would write them as 0).
            add(f"  wire [{out.width - 1}:0] {out.name}_unknown;")
            add(f"  genvar {out.name}_g;")
            add(
                f"  generate for ({out.name}_g = 0; {out.name}_g < {out.width}; "
                f"{out.name}_g = {out.name}_g + 1) begin : {out.name}_xcheck"
            )
            add(
                f"    assign {out.name}_unknown[{out.name}_g] = "
                f"({out.name}_payload[{out.name}_g] === 1'bx) || "
                f"({out.name}_payload[{out.name}_g] === 1'bz);"
            )
            add("  end endgenerate")
    conns = ["    .clk(clk)", "    .rst(rst)"]
    for s in spec.inputs + spec.outputs:
        for sig in ("valid", "ready", "payload"):
            conns.append(f"    .{s.name}__{sig}({s.name}_{sig})")
    add(f"  {spec.dut} dut (")
    add(",\n".join(conns))
    add("  );")
    ready_terms = " || ".join(
        f"(sel == {sw}'d{i} && {s.name}_ready)" for i, s in enumerate(spec.inputs)
    )
    add(f"  wire accepted = have && (bubble || {ready_terms});")
    met = " && ".join(
        f"(n_records_{o.name} + {{31'd0, {o.name}_fire}} >= n_expect_{o.name})"
        for o in spec.outputs
    )
    add("  wire inputs_done = (ptr + {31'd0, accepted}) >= n_entries;")
    add(f"  wire outputs_met = {met};")
    add("  always @(posedge clk) begin")
    add("    if (load) begin")
    add('      fd = $fopen(stim_file, "rb");')
    add("      status = $fread(stim, fd);")
    add("      $fclose(fd);")
    for out in spec.outputs:
        add(f"      $readmemb(ready_file_{out.name}, ready_{out.name});")
    add("    end")
    add("    if (dump) begin")
    for out in spec.outputs:
        add(f'      fd = $fopen(rec_file_{out.name}, "wb");')
        add(f"      for (i = 0; i < n_records_{out.name} && i < DEPTH; i = i + 1)")
        add(f'        $fwrite(fd, "%u", rec_{out.name}[i]);')
        add("      $fclose(fd);")
    add("    end")
    add("    if (rst || start) begin")
    add("      ptr <= 0; cycles <= 0; done <= 0; timeout <= 0; draining <= 0; drain_left <= 0;")
    add("      running <= start && !rst;")
    for out in spec.outputs:
        add(f"      n_records_{out.name} <= 0;")
    add("    end else if (running) begin")
    add("      cycles <= cycles + 1;")
    add("      if (accepted) ptr <= ptr + 1;")
    for out in spec.outputs:
        add(f"      if ({out.name}_fire) begin")
        add(f"        if (n_records_{out.name} < DEPTH)")
        add(
            f"          rec_{out.name}[n_records_{out.name}[{aw - 1}:0]] <= "
            + (f"{{{out.name}_unknown, " if spec.four_state else "{")
            + f"cycles, {out.name}_payload}};"
        )
        add(f"        n_records_{out.name} <= n_records_{out.name} + 1;")
        add("      end")
    add("      if (!draining && inputs_done && outputs_met) begin")
    add("        draining <= 1; drain_left <= n_drain;")
    add("      end")
    add("      if (draining) begin")
    add("        if (drain_left == 0) begin done <= 1; running <= 0; end")
    add("        else drain_left <= drain_left - 1;")
    add("      end")
    add("      if (cycles + 1 >= max_cycles) begin timeout <= 1; done <= 1; running <= 0; end")
    add("    end")
    add("  end")
    add("endmodule")
    return "\n".join(L) + "\n"


def verilator_public_config(spec: HarnessSpec) -> str:
    """A Verilator control file exposing only the harness's control ports to the VPI.

    cocotb's runner would otherwise build with ``--public-flat-rw`` on everything, which
    keeps Verilator from optimizing the design (about 3x slower here).
    """
    lines = ["`verilator_config"]
    for name in spec.control_signals:
        lines.append(f'public_flat_rw -module "{HARNESS_TOP}" -var "{name}"')
    return "\n".join(lines) + "\n"


def encode_entries(spec: HarnessSpec, chunk: Chunk, bubbles: np.ndarray | None = None) -> bytes:
    """Stimulus-memory image of a chunk's transfers (the driver's half of the bench).

    Each burst is packed straight into its rows of one byte image (:func:`pack_bytes`): a
    bit matrix of the chunk took longer than simulating it.

    Parameters
    ----------
    spec : HarnessSpec
        The harness the image is for.
    chunk : Chunk
        The transfers, in order.
    bubbles : ndarray of bool, shape (chunk.entries,), optional
        An empty entry (all ``valid`` low for a cycle) precedes each flagged transfer.

    Returns
    -------
    bytes
        The ``$fread`` image: one record of ``ceil(entry_bits / 8)`` bytes per entry, most
        significant byte first.

    Raises
    ------
    ValueError
        More entries than the harness memory holds.
    """
    index = {s.name: i for i, s in enumerate(spec.inputs)}
    layouts = {s.name: s.layout for s in spec.inputs}
    pw, sw = spec.payload_bits, spec.select_bits
    select = {"kind": "int", "width": sw, "signed": False}
    n = chunk.entries
    flags = None if bubbles is None else np.asarray(bubbles, bool)
    total = n + (int(np.count_nonzero(flags)) if flags is not None else 0)
    if total > spec.depth:
        raise ValueError(f"chunk has {total} entries, harness depth is {spec.depth}")
    octets = np.zeros((n, -(-spec.entry_bits // 8)), np.uint8)
    row = 0
    for burst in chunk.bursts:
        rows = octets[row : row + burst.count]
        pack_bytes(layouts[burst.stream], burst.values, burst.count, out=rows)
        if index[burst.stream]:
            pack_bytes(select, index[burst.stream], burst.count, out=rows, offset=pw)
        row += burst.count
    if total > n:
        # Transfer i moves down by the bubbles at or before it; its bubble sits just above.
        at = np.arange(n) + np.cumsum(flags)
        image = np.zeros((total, octets.shape[1]), np.uint8)
        image[at] = octets
        bubble = spec.entry_bits - 1
        image[at[flags] - 1, bubble // 8] = np.uint8(1 << (bubble % 8))
        octets = image
    return records_from_bytes(octets)


def decode_records(spec: HarnessSpec, name: str, raw: bytes) -> Recorded:
    """Recorded transfers of output stream ``name`` from the harness's record file
    (the monitor's half of the bench)."""
    out = next(o for o in spec.outputs if o.name == name)
    bits = words_to_bits(raw, spec.record_bits(out))
    values = np.asarray(unpack(out.layout, bits[:, : out.width]))
    end = out.width + CYCLE_BITS
    cycles = unpack({"kind": "int", "width": CYCLE_BITS, "signed": False}, bits[:, out.width : end])
    unknown = None
    if spec.four_state:
        # An element is unknown when any of its bits is: its unpacked flag bits are nonzero.
        flags = np.asarray(unpack(out.layout, bits[:, end : end + out.width]))
        unknown = (flags != 0).reshape(values.shape)
    return Recorded(values=values, cycles=cycles.astype(np.int64), unknown=unknown)
