"""The number formats an engine computes with: a weight format and an activation format.

Kept apart from :mod:`.quality` (which scores them) so that the design classes can name their
formats without importing the quantizers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import InputError

__all__ = ["NumberFormat", "ACT_FORMAT_PATTERN"]

#: Activation formats: float (``fp``), 1-bit sign times the token's mean |x| (``sign``),
#: symmetric signed k-bit per token (``int8``), asymmetric unsigned k-bit per token with a
#: zero point (``uint8``; the engine sees unsigned codes, the zero point's correction, a
#: weight row sum times a scalar, is applied outside the array).
ACT_FORMAT_PATTERN = re.compile(r"(fp|sign|u?int(?P<bits>\d+))\Z")


@dataclass(frozen=True)
class NumberFormat:
    """The number formats an engine computes with.

    Parameters
    ----------
    weight : str
        A registered weight format (``"sign"``, ``"ternary"``, ``"int4"``, ``"int4_asym"``,
        ``"bcq3"``, ``"odd2"``...).
    act : str
        Activation format: ``"fp"``, ``"sign"``, ``"int<k>"`` or ``"uint<k>"`` (k = 2 to 16).
    weight_options : tuple of (str, object)
        Options of the weight quantizer, as sorted (name, value) pairs (``mu``, ``scale_form``...).
    """

    weight: str
    act: str
    weight_options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self):
        m = ACT_FORMAT_PATTERN.match(self.act)
        if not m or (m["bits"] is not None and not 2 <= int(m["bits"]) <= 16):
            raise InputError(
                f"unknown activation format {self.act!r}",
                field="act_format",
                allowed="fp, sign, int2..int16, uint2..uint16",
            )
        object.__setattr__(self, "weight_options", tuple(sorted(self.weight_options)))

    @property
    def label(self) -> str:
        """Short text naming both formats: ``"w=bcq3(mu=4,scale_form=apot) a=int8"``."""
        opts = ",".join(f"{k}={v}" for k, v in self.weight_options)
        return f"w={self.weight}{f'({opts})' if opts else ''} a={self.act}"

    @property
    def weight_label(self) -> str:
        """The weight format with its options, compact: ``"bcq3 apot3 mu4 g16 s4"``."""
        opts = dict(self.weight_options)
        parts = [self.weight]
        if "scale_form" in opts:
            form = str(opts["scale_form"])
            parts.append(form + (str(opts.get("apot_terms", 3)) if form == "apot" else ""))
        for key, short in (
            ("mu", "mu"),
            ("group_rows", "g"),
            ("group_size", "g"),
            ("shift_bits", "s"),
        ):
            if opts.get(key) is not None:
                parts.append(f"{short}{opts[key]}")
        if "plane_scales" in opts:
            parts.append("c=" + ",".join(f"{v:g}" for v in opts["plane_scales"]))
        return " ".join(parts)

    def to_dict(self) -> dict:
        """The format as plain JSON-able data.

        Returns
        -------
        dict
            ``weight``, ``act``, ``weight_options`` (a dict).
        """
        return {"weight": self.weight, "act": self.act, "weight_options": dict(self.weight_options)}
