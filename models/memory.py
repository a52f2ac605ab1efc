"""On-chip buffers from SRAM macros, DRAM traffic, and the roofline.

SRAM costs come from the IHP SG13G2 single-port SRAM macro liberties
(``RM_IHPSG13_1P_<words>x<bits>_*.lib``): area, energy per read and per write access (the
clock pin's internal power in the read-only and write-only states) and leakage. ``shiftadd
calibrate`` extracts them into ``models/data/sram_<name>.toml`` with the file names as
provenance, so sweeps work without the PDK at hand.

A buffer of a given capacity and word width is built from copies of one macro type: as many
macros side by side as the word needs, and as many banks as the capacity needs; the macro
type is the one giving the smallest area (ties: lowest read energy per bit). Every access
reads or writes one full word, activating one bank of the side-by-side macros.
"""

from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import dataclasses
import functools
import math
import os
import re
from pathlib import Path

import numpy as np
import tomli_w

from .._io import atomic_write
from ..errors import InputError
from .units import DATA_DIR

__all__ = [
    "SramMacro",
    "SramBuffer",
    "load_sram_macros",
    "read_sram_macro",
    "extract_sram_table",
    "buffer_for",
    "DRAM_PJ_PER_BIT",
    "DRAM_SOURCE",
]

# Horowitz (ISSCC 2014, 45 nm): DRAM 1.3-2.6 nJ per 64-bit access; the low end, per bit.
DRAM_PJ_PER_BIT = 1300.0 / 64
DRAM_SOURCE = "Horowitz, ISSCC 2014: DRAM 1.3-2.6 nJ per 64 bits (low end used), REFERENCE.md s.6"


@dataclasses.dataclass(frozen=True)
class SramMacro:
    """One SRAM macro: ``words`` x ``bits``; energies in pJ per access, leakage in mW.

    Parameters
    ----------
    name : str
        Macro name (its liberty file's stem).
    words : int
        Words (depth).
    bits : int
        Bits per word (width).
    area_um2 : float
        Area, in um^2.
    read_pj, write_pj : float
        Energy per read and per write access, in pJ.
    leakage_mw : float
        Leakage power, in mW.
    """

    name: str
    words: int
    bits: int
    area_um2: float
    read_pj: float
    write_pj: float
    leakage_mw: float

    @property
    def capacity_bits(self) -> int:
        """Capacity in bits, ``words * bits``."""
        return self.words * self.bits


_NAME = re.compile(r"RM_IHPSG13_1P_(\d+)x(\d+)_")


def read_sram_macro(path: str | os.PathLike) -> SramMacro:
    """Area, read/write energy and leakage of one IHP SRAM macro liberty.

    Parameters
    ----------
    path : str or os.PathLike
        A ``RM_IHPSG13_1P_<words>x<bits>_*.lib`` liberty file.

    Returns
    -------
    SramMacro
        The macro's figures.

    Raises
    ------
    InputError
        The file name or contents are not those of an IHP SRAM macro liberty.
    """
    path = Path(path)
    text = path.read_text(errors="replace")
    m = _NAME.search(path.name)
    if not m:
        raise InputError("not an RM_IHPSG13_1P_<words>x<bits> macro file", source=str(path))
    words, bits = int(m.group(1)), int(m.group(2))
    area = re.search(r"^\s*area\s*:\s*([\d.]+)", text, re.M)
    clk = text.find("pin(A_CLK)")
    block = text[clk : clk + 4000] if clk >= 0 else ""

    def state(when: str) -> float:
        pat = re.compile(
            r'when\s*:\s*"' + when + r'"\s*;.*?rise_power\("scalar"\)\s*\{\s*'
            r"values\s*\(\s*([\d.eE+-]+)\s*\)",
            re.S,
        )
        hit = pat.search(block)
        if not hit:
            raise InputError(f"no clock power for state {when!r}", source=str(path))
        return float(hit.group(1))

    read = state(r"A_MEN\s*&\s*!A_WEN\s*&\s*A_REN")
    write = state(r"A_MEN\s*&\s*A_WEN\s*&\s*!A_REN")
    leak = re.search(r"^\s*cell_leakage_power\s*:\s*([\d.eE+-]+)", text, re.M)
    unit = re.search(r'leakage_power_unit\s*:\s*"1(\w+)"', text)
    scale = {"nW": 1e-6, "uW": 1e-3, "pW": 1e-9, "mW": 1.0}.get(
        unit.group(1) if unit else "nW", 1e-6
    )
    if not area:
        raise InputError("no area", source=str(path))
    return SramMacro(
        name=path.stem,
        words=words,
        bits=bits,
        area_um2=float(area.group(1)),
        read_pj=read,
        write_pj=write,
        leakage_mw=float(leak.group(1)) * scale if leak else 0.0,
    )


def extract_sram_table(
    pdk_dir: str | os.PathLike, name: str = "ihp-sg13g2", out: str | os.PathLike | None = None
) -> Path:
    """Read every SRAM macro liberty in ``pdk_dir`` and write ``models/data/sram_<name>.toml``.

    Parameters
    ----------
    pdk_dir : str or os.PathLike
        Folder holding the ``RM_IHPSG13_1P_*.lib`` files.
    name : str, default "ihp-sg13g2"
        Table name.
    out : str or os.PathLike, optional
        Output file instead of ``models/data/sram_<name>.toml``.

    Returns
    -------
    Path
        The written table.

    Raises
    ------
    InputError
        ``pdk_dir`` holds no SRAM macro liberty.
    """
    files = sorted(Path(pdk_dir).glob("RM_IHPSG13_1P_*.lib"))
    if not files:
        raise InputError("no RM_IHPSG13_1P_*.lib SRAM macro files", source=str(pdk_dir))
    macros = [read_sram_macro(f) for f in files]
    data = {
        "meta": {
            "name": name,
            "source": "IHP SG13G2 SRAM macro liberties (Apache-2.0): "
            + ", ".join(f.name for f in files),
            "method": "area; clock-pin internal power in the read-only "
            "(A_MEN & !A_WEN & A_REN) and write-only states, pJ per access; "
            "cell_leakage_power",
            "units": "area um^2, energy pJ per access, leakage mW",
        },
        "macro": [dataclasses.asdict(m) for m in macros],
    }
    path = Path(out) if out else DATA_DIR / f"sram_{name}.toml"
    atomic_write(
        path,
        "# SRAM macros extracted by `shiftadd calibrate`; do not edit.\n" + tomli_w.dumps(data),
    )
    return path


@functools.lru_cache(maxsize=8)
def load_sram_macros(name: str = "ihp-sg13g2") -> tuple[SramMacro, ...]:
    """The SRAM macros of table ``models/data/sram_<name>.toml``.

    Parameters
    ----------
    name : str, default "ihp-sg13g2"
        Table name.

    Returns
    -------
    tuple of SramMacro
        The table's macros.

    Raises
    ------
    InputError
        There is no such table.
    """
    path = DATA_DIR / f"sram_{name}.toml"
    if not path.is_file():
        raise InputError(
            f"no SRAM table {name!r}",
            field="sram",
            allowed=[p.stem.removeprefix("sram_") for p in DATA_DIR.glob("sram_*.toml")],
        )
    data = tomllib.loads(path.read_text())
    return tuple(SramMacro(**m) for m in data["macro"])


@dataclasses.dataclass(frozen=True)
class SramBuffer:
    """A buffer built from ``columns x banks`` copies of one macro.

    Parameters
    ----------
    capacity_bits : int
        Requested capacity, in bits (0: no buffer).
    word_bits : int
        Word width, in bits: one access reads or writes a word.
    macro : SramMacro or None
        The macro type (None when there is no buffer).
    columns : int
        Macros side by side to make up a word.
    banks : int
        Banks of ``columns`` macros to make up the capacity.
    """

    capacity_bits: int
    word_bits: int
    macro: SramMacro | None
    columns: int
    banks: int

    @property
    def area_um2(self) -> float:
        """Area of all macros, in um^2."""
        return 0.0 if self.macro is None else self.columns * self.banks * self.macro.area_um2

    @property
    def read_pj_per_word(self) -> float:
        """Energy of reading one word (one bank of side-by-side macros), in pJ."""
        return 0.0 if self.macro is None else self.columns * self.macro.read_pj

    @property
    def write_pj_per_word(self) -> float:
        """Energy of writing one word (one bank of side-by-side macros), in pJ."""
        return 0.0 if self.macro is None else self.columns * self.macro.write_pj

    @property
    def read_pj_per_bit(self) -> float:
        """Read energy per bit of a word, in pJ."""
        return self.read_pj_per_word / self.word_bits if self.word_bits else 0.0

    @property
    def write_pj_per_bit(self) -> float:
        """Write energy per bit of a word, in pJ."""
        return self.write_pj_per_word / self.word_bits if self.word_bits else 0.0

    @property
    def leakage_mw(self) -> float:
        """Leakage of all macros, in mW."""
        return 0.0 if self.macro is None else self.columns * self.banks * self.macro.leakage_mw


@functools.lru_cache(maxsize=4096)
def buffer_for(capacity_bits: int, word_bits: int, table: str = "ihp-sg13g2") -> SramBuffer:
    """The smallest-area buffer of at least ``capacity_bits`` with ``word_bits``-wide words.

    Parameters
    ----------
    capacity_bits : int
        Capacity, in bits; 0 or less gives an empty buffer (no macro, no cost).
    word_bits : int
        Word width, in bits (at least 1).
    table : str, default "ihp-sg13g2"
        SRAM macro table name.

    Returns
    -------
    SramBuffer
        The buffer (ties in area: the lowest read energy per bit).
    """
    if capacity_bits <= 0:
        return SramBuffer(0, max(1, word_bits), None, 0, 0)
    word_bits = max(1, int(word_bits))
    best = None
    for macro in load_sram_macros(table):
        columns = math.ceil(word_bits / macro.bits)
        banks = math.ceil(capacity_bits / (columns * macro.bits * macro.words))
        cand = SramBuffer(int(capacity_bits), word_bits, macro, columns, banks)
        key = (cand.area_um2, cand.read_pj_per_bit)
        if best is None or key < best[0]:
            best = (key, cand)
    assert best is not None, "no SRAM macros in the table"
    return best[1]


def roofline_ns(compute_ns: np.ndarray, dram_bits: np.ndarray, dram_gbps) -> np.ndarray:
    """Time of a layer: compute and DRAM transfer overlap, the slower one sets the pace.

    ``dram_gbps`` is in GB/s, i.e. bytes per ns.
    """
    return np.maximum(compute_ns, dram_bits / (8.0 * np.asarray(dram_gbps, dtype=float)))
