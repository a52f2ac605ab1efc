"""Threshold-logic PE arrays for binary layers (TULIP-style).

A *threshold neuron* computes ``y = [sum_i w_i x_i >= T]`` over a few binary inputs with
small fixed integer weights (``neuron_weights``, at least one weight 2) and a threshold ``T``
set per evaluation; it holds its output in its own register. Reprogrammed, the same neuron is
AND, OR, majority, a full adder's carry and, with the weight-2 input fed the inverted carry,
its sum (REFERENCE.md section 3).

A *PE* is a cluster of ``neurons`` such neurons whose inputs are multiplexed from a constant,
every neuron's register, the PE's ``memory_bits``-bit local memory and its ``data_bits``-bit
data register, each with a programmable inversion (``pe = "pooled"``, the default). The
TULIP-like PE (``pe = "tulip"``) gives each neuron ``n`` a dedicated register ``R_n`` of
``neuron_register_bits`` bits, written only from its own output, and connects the neurons in
a ring: an input of neuron ``n`` reads 0, its own output, the output of neuron ``n - 1``, a bit
of ``R_n`` or of ``R_(n-1)``, or a data bit (docs/threshold.md, *The TULIP-like PE option*).
``pes`` PEs run the same instruction stream (SIMD) on different data. The array has one input
stream of *steps* (an instruction and, for loading steps, ``data_bits`` fresh input bits per
PE) and one output stream of results (one bit per PE).

A binary layer ``y = [popcount(XNOR(x, w)) >= T]`` (or ``<= T``, optional max-pool as OR) is
compiled by :func:`shiftadd.design.threshold_program.schedule` into a program of neuron
configurations and multiplexer selections: XNOR with a known weight bit is the input's
inversion, the popcount is a carry-save reduction by full adders made of neurons, the compare
a bit-serial chain of threshold gates. All PEs compute the same output neuron (same weights,
so same instructions) for different input vectors.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, cast

from ..errors import InputError
from ..workloads.formats import NumberFormat
from .arith import Arithmetic, arithmetic
from .base import OMIT_DEFAULT, Design, check_choice, check_clock, check_int
from .random import draw_bool, draw_choice, draw_int, draw_valid
from .threshold_program import Program, schedule

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ThresholdDesign", "random_design"]


@dataclasses.dataclass(frozen=True)
class ThresholdDesign(Design):
    """A SIMD array of PEs, each a small network of programmable threshold neurons.

    Parameters
    ----------
    name : str
        Verilog module name.
    k : int
        Fan-in K of the binary layer the program is compiled for (1 to 16384). The hardware
        runs any fan-in whose program fits the local memory; ``k`` is what the bench, the
        cycle model and the cost model use by default.
    pes : int
        SIMD processing elements P (1 to 4096): input vectors processed in parallel.
    neurons : int
        Threshold neurons per PE N (2 to 16).
    neuron_weights : list of int
        Fixed input weights of every neuron, each 1 to 8, at most 9 inputs; at least three
        weight-1 inputs and one weight-2 input (a full adder's carry and sum).
    memory_bits : int
        Local memory per PE L (1 to 256 bits), for intermediate bits of the schedule.
    data_bits : int
        Input bits per PE loaded by one step D (1 to 64).
    vectors : int
        Input vectors each PE processes per program run V (1 to 64); consecutive vectors
        overlap, so one vector's carry ripple hides behind the next one's reduction.
    pool : int
        Max-pool window (1 to 8, dividing ``vectors``): the output is the OR of ``pool``
        consecutive vectors' outputs.
    separate_neuron : bool
        Emit the neuron as a separate Verilog module (``<name>_tl_neuron``) instantiated by
        the array, so it can be swapped for a characterized cell; otherwise it is flattened.
    pe : {"pooled", "tulip"}
        The PE's storage and interconnect: ``"pooled"`` (one local memory every neuron input
        can read, the default) or ``"tulip"`` (a dedicated register per neuron and a ring of
        neighbour connections; ``memory_bits`` is then unused).
    neuron_register_bits : int
        Bits of each neuron's dedicated register ``R_n`` (1 to 64) when ``pe = "tulip"``.
    clock_gating : bool
        Clock the register groups that are written only on some steps (each PE's local
        memory or each neuron's register ``R_n``, the data registers, the result register)
        through one integrated clock gate per group, enabled by the group's write enable,
        so they pay their clock only on the cycles they load (:attr:`clock_gates`). Default
        false: every register on the free-running clock (the RTL of before the option).
    clock_ns : float
        Target clock period for synthesis and the model.
    """

    arch: ClassVar[str] = "threshold"
    name: str = "threshold"
    k: int = 64
    pes: int = 4
    neurons: int = 4
    neuron_weights: tuple[int, ...] = (2, 1, 1, 1)
    memory_bits: int = 24
    data_bits: int = 6
    vectors: int = 1
    pool: int = 1
    separate_neuron: bool = True
    pe: str = dataclasses.field(default="pooled", metadata=OMIT_DEFAULT)
    neuron_register_bits: int = 8
    clock_gating: bool = dataclasses.field(default=False, metadata=OMIT_DEFAULT)
    clock_ns: float = 10.0

    #: Values of :attr:`pe`.
    PE_KINDS: ClassVar[tuple[str, ...]] = ("pooled", "tulip")

    @property
    def number_format(self) -> NumberFormat:
        """Binary weights and activations (a BNN layer; the threshold cells compute
        XNOR-popcount against a threshold)."""
        return NumberFormat("sign", "sign")

    @property
    def arith(self) -> Arithmetic:
        """The lanes' arithmetic of the binary layer: XNOR of 1-bit codes (bit 1 = +1), the
        code ranges :func:`shiftadd.models.data_activity.design_codes` checks and random
        reference codes are drawn from (the neurons never form the lanes' terms: the weights
        are input polarities)."""
        return arithmetic("xnor", act_bits=1, act_signed=False, weight_bits=1, weight_signed=False)

    def _validate(self) -> None:
        check_int("k", self.k, 1, 16384)
        check_int("pes", self.pes, 1, 4096)
        check_int("neurons", self.neurons, 2, 16)
        w = self.neuron_weights
        if not 2 <= len(w) <= 9 or any(not 1 <= x <= 8 for x in w):
            raise InputError(
                f"{list(w)} is not allowed",
                field="neuron_weights",
                allowed="2 to 9 integer weights from 1 to 8",
            )
        if sum(1 for x in w if x == 1) < 3 or 2 not in w:
            raise InputError(
                f"{list(w)} cannot form a full adder",
                field="neuron_weights",
                allowed="at least three weights 1 and one weight 2, e.g. [2, 1, 1, 1]",
            )
        check_int("memory_bits", self.memory_bits, 1, 256)
        check_int("data_bits", self.data_bits, 1, 64)
        check_int("vectors", self.vectors, 1, 64)
        check_int("pool", self.pool, 1, 8)
        if self.vectors % self.pool:
            raise InputError(
                f"pool {self.pool} does not divide vectors {self.vectors}",
                field="pool",
                allowed=[d for d in range(1, 9) if self.vectors % d == 0],
            )
        if self.pool > len(w):
            raise InputError(
                f"an OR of {self.pool} outputs needs {self.pool} neuron inputs",
                field="pool",
                allowed=f"1 to {len(w)} (the neuron's fan-in)",
            )
        check_choice("pe", self.pe, self.PE_KINDS)
        check_int("neuron_register_bits", self.neuron_register_bits, 1, 64)
        if not isinstance(self.clock_gating, bool):
            raise InputError(
                f"expected true or false, got {self.clock_gating!r}",
                field="clock_gating",
                allowed="true, false",
            )
        check_clock(self.clock_ns)
        # The program for k must fit the local memory.
        self.program_for(self.k)

    def to_dict(self) -> dict[str, Any]:
        """The resolved parameters; options added later are left out while they have their
        defaults (``pe = "pooled"``, ``clock_gating = false``; :data:`OMIT_DEFAULT`), as is
        the TULIP-like PE's ``neuron_register_bits`` with the pooled PE, so a design's
        manifest and hash are what they were before those options.

        Returns
        -------
        dict
            ``arch`` and the fields by name.
        """
        out = super().to_dict()
        if self.pe == "pooled":
            out.pop("neuron_register_bits", None)
        return out

    @property
    def ring(self) -> bool:
        """Whether the PE is the TULIP-like ring (``pe = "tulip"``)."""
        return self.pe == "tulip"

    @property
    def storage_bits(self) -> int:
        """Storage bits per PE besides the neurons and the data register: the local memory
        (pooled) or the ``neurons`` dedicated registers (tulip)."""
        return self.neurons * self.neuron_register_bits if self.ring else self.memory_bits

    @property
    def clock_gates(self) -> int:
        """Integrated clock gates of the array (0 without :attr:`clock_gating`): one per PE
        for its local memory (pooled) or one per neuron register ``R_n`` (tulip), one for
        all data registers and one for the result register. The neuron output registers stay
        on the free-running clock: each is one bit, and a gate costs about half a flip-flop's
        area and more clock energy than the one bit it would save."""
        if not self.clock_gating:
            return 0
        return self.pes * (self.neurons if self.ring else 1) + 2

    # -- the neuron -------------------------------------------------------------------------
    @property
    def fan_in(self) -> int:
        """Inputs per neuron F."""
        return len(self.neuron_weights)

    @property
    def weight_sum(self) -> int:
        """Sum of a neuron's input weights."""
        return sum(self.neuron_weights)

    @property
    def threshold_bits(self) -> int:
        """Width of a neuron's threshold: 0 (always fires) to ``weight_sum + 1`` (never)."""
        return (self.weight_sum + 1).bit_length()

    # -- the PE -------------------------------------------------------------------------------
    @property
    def sources(self) -> int:
        """Inputs of each neuron-input multiplexer, in the order of the instruction's source
        index. Pooled: constant 0, N neuron registers, L memory bits, D data bits. Tulip
        (relative to the reading neuron ``n``): constant 0, ``y_n``, ``y_(n-1)``, the bits of
        ``R_n``, the bits of ``R_(n-1)``, D data bits."""
        if self.ring:
            return 3 + 2 * self.neuron_register_bits + self.data_bits
        return 1 + self.neurons + self.memory_bits + self.data_bits

    @property
    def select_bits(self) -> int:
        """Bits of a neuron-input multiplexer select (at least 1)."""
        return max(1, (self.sources - 1).bit_length())

    @property
    def emit_sources(self) -> int:
        """Inputs of the emit multiplexer: the pooled PE's neuron-input sources; on the tulip
        PE constant 0, the N neuron outputs, every bit of every ``R_n`` (neuron-major), the D
        data bits."""
        if self.ring:
            return 1 + self.neurons + self.storage_bits + self.data_bits
        return self.sources

    @property
    def emit_select_bits(self) -> int:
        """Bits of the emit multiplexer's select (at least 1)."""
        return max(1, (self.emit_sources - 1).bit_length())

    @property
    def address_bits(self) -> int:
        """Bits of a store address: into the local memory (pooled) or into the storing
        neuron's own register (tulip); at least 1."""
        depth = self.neuron_register_bits if self.ring else self.memory_bits
        return max(1, (depth - 1).bit_length())

    @property
    def instruction_bits(self) -> int:
        """Bits of one step's instruction (everything but the data)."""
        per_neuron = (
            1 + self.threshold_bits + self.fan_in * (self.select_bits + 1) + 1 + self.address_bits
        )
        return 1 + self.neurons * per_neuron + 1 + self.emit_select_bits + 1

    @property
    def step_bits(self) -> int:
        """Payload bits of one step: the instruction and every PE's ``data_bits``."""
        return self.instruction_bits + self.pes * self.data_bits

    @property
    def step_field_widths(self) -> dict[str, int]:
        """Bits of one element of each field of a step (the instruction fields, then the
        input bits): a field holds one such element per neuron, neuron input or PE as the
        step stream's payload layout (:func:`shiftadd.hw.threshold_array.step_layout`)
        arranges them; the widths add up to :attr:`step_bits`."""
        sw = self.select_bits
        return {
            "load": 1,
            "en": 1,
            "t": self.threshold_bits,
            "src": sw,
            "inv": 1,
            "store": 1,
            "addr": self.address_bits,
            "emit": 1,
            "emit_src": self.emit_select_bits,
            "emit_inv": 1,
            "data": 1,
        }

    # -- the program --------------------------------------------------------------------------
    def program_for(self, k: int | None = None) -> Program:
        """The compiled schedule (:class:`~shiftadd.design.threshold_program.Program`) for
        fan-in ``k`` (default: the design's).

        Parameters
        ----------
        k : int, optional
            Fan-in of the binary neuron; default: the design's ``k``.

        Returns
        -------
        Program
            The schedule (cached, shared: its arrays are read-only).

        Raises
        ------
        InputError
            The program needs more local memory than the design has (naming
            ``memory_bits``, or ``neuron_register_bits`` on the tulip PE), or ``k`` is out
            of range.
        """
        return schedule(self, self.k if k is None else k)

    @property
    def outputs_per_run(self) -> int:
        """Results per program run per PE: ``vectors // pool``."""
        return self.vectors // self.pool

    @property
    def program_steps(self) -> int:
        """Steps (cycles at full rate) of one program run for fan-in ``k``."""
        return self.program_for().steps

    @property
    def latency(self) -> int:
        """Cycles from an emitting step's handshake to its result's valid: the step register,
        then the result register."""
        return 2

    @property
    def initiation_interval(self) -> int:
        """Cycles between the starts of consecutive program runs (groups of ``pes *
        vectors`` input vectors) at full rate; one step is accepted per cycle."""
        return self.program_steps

    @property
    def n(self) -> int:
        """Binary neuron outputs per result transfer (one per PE)."""
        return self.pes

    @property
    def evaluations_per_cycle(self) -> float:
        """Binary-layer outputs (before pooling) per cycle at full rate."""
        return self.pes * self.vectors / self.program_steps

    @property
    def ops_per_cycle(self) -> float:
        """Operations per cycle at full rate, counting an XNOR-accumulate of one input as two
        operations (the adder-tree array's convention)."""
        return 2 * self.k * self.evaluations_per_cycle


# -- random designs (shiftadd validate --random) ------------------------------------------
#: Ranges of :func:`random_design`.
RANDOM_K = (3, 80)
RANDOM_PES = (1, 6)
RANDOM_NEURONS = (2, 6)
RANDOM_DATA_BITS = (1, 8)
#: Neuron weights of random designs (each sometimes reordered): the neurons the cost
#: model's cell figures were measured for and a few it interpolates between.
RANDOM_NEURON_WEIGHTS = (
    (2, 1, 1, 1),
    (2, 1, 1, 1, 1),
    (2, 2, 1, 1, 1),
    (2, 1, 1, 1, 1, 1),
    (2, 2, 1, 1, 1, 1),
    (3, 2, 1, 1, 1),
    (4, 2, 1, 1, 1, 1, 1),
)
#: Local memory a random design has beyond what its program needs.
RANDOM_SPARE_MEMORY = 8
#: Share of random designs with the TULIP-like PE (``pe = "tulip"``), and the register
#: bits per neuron they have beyond what their program needs.
RANDOM_TULIP = 0.25
RANDOM_SPARE_REGISTER = 4


def random_design(rng: np.random.Generator, name: str) -> ThresholdDesign:
    """A random valid threshold-logic array, small enough to synthesize and simulate in
    about a minute.

    ``k`` 3 to 80, ``pes`` 1 to 6, ``neurons`` 2 to 6; neuron weights one of
    :data:`RANDOM_NEURON_WEIGHTS`, sometimes in another order; ``data_bits`` 1 to 8;
    ``vectors`` 1 to 4 with any ``pool`` dividing it; ``memory_bits`` from what the program
    needs to :data:`RANDOM_SPARE_MEMORY` bits more; ``separate_neuron`` either way; one in
    four (:data:`RANDOM_TULIP`) with the TULIP-like PE, its ``neuron_register_bits`` from what
    the program needs to :data:`RANDOM_SPARE_REGISTER` bits more.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (the same state gives the same design).
    name : str
        Verilog module name of the design.

    Returns
    -------
    ThresholdDesign
        The validated design.

    Raises
    ------
    RuntimeError
        No valid combination in :data:`~shiftadd.design.random.RANDOM_ATTEMPTS` draws.
    """
    return draw_valid(lambda: _draw_threshold(rng, name), "threshold")


def _draw_threshold(rng: np.random.Generator, name: str) -> ThresholdDesign:
    """One candidate of :func:`random_design`."""
    weights = list(draw_choice(rng, RANDOM_NEURON_WEIGHTS))
    if draw_bool(rng, 0.3):
        weights = [weights[i] for i in rng.permutation(len(weights))]
    vectors = draw_choice(rng, (1, 1, 2, 3, 4))
    params: dict[str, Any] = {
        "name": name,
        "k": draw_int(rng, *RANDOM_K),
        "pes": draw_int(rng, *RANDOM_PES),
        "neurons": draw_int(rng, *RANDOM_NEURONS),
        "neuron_weights": weights,
        "data_bits": draw_int(rng, *RANDOM_DATA_BITS),
        "vectors": vectors,
        "pool": draw_choice(
            rng, [p for p in range(1, vectors + 1) if vectors % p == 0 and p <= len(weights)]
        ),
        "separate_neuron": draw_bool(rng),
    }
    # The program's memory need, from a design with the most memory (256 bits).
    probe = cast(ThresholdDesign, ThresholdDesign.from_dict({**params, "memory_bits": 256}))
    needed = probe.program_for().memory_used
    params["memory_bits"] = draw_int(rng, max(1, needed), min(256, needed + RANDOM_SPARE_MEMORY))
    # Drawn last, so a pooled design is the one the same generator drew before the option.
    if draw_bool(rng, RANDOM_TULIP):
        params["pe"] = "tulip"
        probe = cast(
            ThresholdDesign,
            ThresholdDesign.from_dict({**params, "neuron_register_bits": 64}),
        )
        needed = probe.program_for().memory_used
        params["neuron_register_bits"] = draw_int(
            rng, max(1, needed), min(64, needed + RANDOM_SPARE_REGISTER)
        )
    return cast(ThresholdDesign, ThresholdDesign.from_dict(params))
