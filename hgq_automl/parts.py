"""FPGA parts: which Xilinx family a part name belongs to (what yosys's `synth_xilinx -family` takes)."""

from __future__ import annotations

import re

DEFAULT_PART = "xcvu9p-flga2104-2L-e"

#: (pattern of the device name, yosys family, what it is). Checked in order.
_FAMILIES = (
    (r"xc(vu|ku)\d+p", "xcup", "Virtex/Kintex UltraScale+"),
    (r"xczu\d+(eg|ev|cg|dr)?", "xcup", "Zynq UltraScale+"),
    (r"xcau\d+p", "xcup", "Artix UltraScale+"),
    (r"xck26", "xcup", "Kria K26"),
    (r"xcu\d+c?", "xcup", "Alveo U-series"),
    (r"xc(vu|ku)\d+", "xcu", "Virtex/Kintex UltraScale"),
    (r"xc7(a|k|v|z|s)\d+t?", "xc7", "7 series"),
)
_PART = re.compile(r"^(?P<device>xc[a-z0-9]+)-[a-z0-9]+-[a-z0-9-]+$", re.IGNORECASE)


class UnknownPart(ValueError):
    """The part is not one of the Xilinx families this tool can synthesize for."""


def part_family(part: str) -> str:
    """The yosys `synth_xilinx` family of a Xilinx part (`xcvu9p-flga2104-2L-e` -> `xcup`).

    Raises UnknownPart with a one-line message naming the accepted families.
    """
    m = _PART.match(str(part))
    if m:
        device = m.group("device").lower()
        for pattern, family, _ in _FAMILIES:
            if re.fullmatch(pattern, device):
                return family
    raise UnknownPart(
        f"unknown FPGA part {part!r}; expected DEVICE-PACKAGE-SPEED (e.g. {DEFAULT_PART}) of UltraScale+ "
        "(xcvu*p, xcku*p, xczu*, xcau*p, xck26, xcu*), UltraScale (xcvu*, xcku*) or 7 series (xc7a/k/v/z/s*)"
    )
