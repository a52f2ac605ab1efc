"""The emitted Verilog of the catalog designs and of variants covering every mode and option
stays byte for byte what it was when the fingerprints were recorded.

A generator change that alters a design's Verilog on purpose regenerates the fingerprints
(``python tests/test_verilog_fingerprints.py --update``) and says why in its commit; a
refactoring must leave them unchanged.
"""

import json
import sys
from pathlib import Path

import pytest

from shiftadd.design import design_from_dict
from shiftadd.rtl_gen.emit import generate_verilog

DATA = Path(__file__).resolve().parent / "data" / "verilog_fingerprints.json"
FINGERPRINTS = json.loads(DATA.read_text())


def fingerprint(rtl) -> tuple[str, str]:
    """``(header line, sha256 of the rest)``: the header names the version and design hash."""
    return rtl.verilog.split("\n", 1)[0], rtl.body_sha256


@pytest.mark.parametrize("key", sorted(FINGERPRINTS))
def test_verilog_is_unchanged(key):
    entry = FINGERPRINTS[key]
    header, digest = fingerprint(generate_verilog(design_from_dict(entry["design"])))
    assert digest == entry["sha256"], f"{key}: emitted Verilog changed"
    assert header == entry["header"], f"{key}: header (version or design hash) changed"


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_verilog_fingerprints.py --update")
    for key, entry in FINGERPRINTS.items():
        header, digest = fingerprint(generate_verilog(design_from_dict(entry["design"])))
        entry.update(header=header, sha256=digest)
        print(key, digest[:12])
    DATA.write_text(json.dumps(FINGERPRINTS, indent=1) + "\n")
