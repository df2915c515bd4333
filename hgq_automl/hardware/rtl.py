"""RTL path: da4ml Verilog, open-source synthesis with yosys, RTL simulation with iverilog.

- `write_verilog`: da4ml's `RTLModel` writes the pipelined Verilog of a traced model
  (top module `model`, and `model_wrapper` with one fixed-width word per value).
- `yosys_synth`: Debian's yosys, `synth_xilinx -family F -top model -flatten; stat`;
  the cell counts become `synth_luts`, `synth_ffs`, `synth_dsps`, `synth_carry`.
- `simulate`: iverilog runs `model_wrapper` on input vectors and returns the outputs,
  decoded as da4ml's own emulator (`RTLModel.predict`) decodes them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TOP = "model"


class ToolMissing(RuntimeError):
    """An external tool (yosys, iverilog, a vendor tool) is not on PATH."""


def require_tool(name: str, purpose: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"{purpose} needs `{name}`, which is not on PATH")
    return path


@dataclass(frozen=True)
class VerilogDesign:
    folder: Path  # the RTLModel project: src/, src/static/, src/memfiles/, metadata.json
    pipeline: object  # da4ml Pipeline
    latency_cycles: int

    def sources(self) -> list[Path]:
        """The Verilog files; da4ml's lookup-table module only when the design has tables
        (yosys would otherwise try to read its placeholder memory file)."""
        static = sorted((self.folder / "src" / "static").glob("*.v"))
        if not any((self.folder / "src" / "memfiles").iterdir()):
            static = [p for p in static if p.name != "lookup_table.v"]
        return sorted((self.folder / "src").glob("*.v")) + static


def write_verilog(comb, folder: Path, part: str, clock_period_ns: float) -> VerilogDesign:
    """Write da4ml's pipelined Verilog of `comb` (a CombLogic) into `folder`.

    The pipeline is cut every `clock_period_ns` delay units, as `estimates.da4ml_estimate`
    cuts it, so the design synthesized is the one the estimates describe.
    """
    from da4ml.codegen import RTLModel
    from da4ml.trace import to_pipeline

    pipe = to_pipeline(comb, clock_period_ns, verbose=False)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    RTLModel(pipe, TOP, folder, flavor="verilog", print_latency=False, part_name=part, clock_period=clock_period_ns).write()
    return VerilogDesign(folder, pipe, len(pipe.solutions))


# --------------------------------------------------------------------------- yosys


_SAFE_WORD = re.compile(r"[\w.+/-]+")


def _script_word(text: str) -> str:
    """`text` checked to be one plain word of a tool's script (yosys, a Verilog string)."""
    if not _SAFE_WORD.fullmatch(text):
        raise ValueError(f"{text!r} cannot be written into a synthesis script")
    return text


def _script_path(path: Path, cwd: Path) -> str:
    """`path` relative to the tool's working folder `cwd` (a design's own file names,
    fixed by da4ml and here), checked to be a plain word."""
    return _script_word(os.path.relpath(path, cwd))

#: yosys cell name -> metric. LUT1..LUT6 and the LUT-based shift registers count as LUTs.
_CELL_METRIC = (
    (re.compile(r"^LUT[1-6](_2)?$"), "synth_luts"),
    (re.compile(r"^SRL(16E|C32E)$"), "synth_luts"),
    (re.compile(r"^FD[A-Z]*$"), "synth_ffs"),
    (re.compile(r"^DSP48E[12]?$"), "synth_dsps"),
    (re.compile(r"^CARRY(4|8)$"), "synth_carry"),
)


def parse_yosys_stat(text: str) -> dict[str, int]:
    """Cell counts of yosys's `stat` output, summed into the synth_* metric names.

    Reads the "Number of cells" block of the last module printed (the flattened top).
    """
    blocks = text.split("Number of cells:")
    if len(blocks) < 2:
        raise ValueError("no `Number of cells:` in the yosys stat output")
    out = {"synth_luts": 0, "synth_ffs": 0, "synth_dsps": 0, "synth_carry": 0}
    for line in blocks[-1].splitlines()[1:]:
        m = re.match(r"^\s+(\$?\w+)\s+(\d+)\s*$", line)
        if not m:
            if line.strip() == "":
                continue
            break
        for pattern, metric in _CELL_METRIC:
            if pattern.match(m.group(1)):
                out[metric] += int(m.group(2))
    return out


def yosys_synth(design: VerilogDesign, family: str, timeout: float = 3600) -> dict[str, float]:
    """Synthesize the design for a Xilinx `family` with yosys; the synth_* metrics.

    The log goes to `yosys.log` in the design folder. Raises RuntimeError if yosys fails.
    """
    yosys = require_tool("yosys", "rtl synthesis")
    cwd = design.folder / "src" / "memfiles"
    # the script names files relative to yosys's working folder: the user's folder (an
    # --out with spaces, quotes or ';') never enters yosys's command language
    reads = " ".join(f"read_verilog -sv {_script_path(p, cwd)};" for p in design.sources())
    script = f"{reads} synth_xilinx -family {_script_word(family)} -top {TOP} -flatten; tee -o {_script_path(design.folder / 'yosys_stat.txt', cwd)} stat"
    log = design.folder / "yosys.log"
    start = time.perf_counter()
    with open(log, "w") as f:
        done = subprocess.run([yosys, "-q", "-p", script], cwd=cwd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = [ln for ln in log.read_text().splitlines() if ln.strip()][-1:] or ["(no output)"]
        raise RuntimeError(f"yosys failed (exit {done.returncode}): {tail[0][:300]}")
    metrics: dict[str, float] = dict(parse_yosys_stat((design.folder / "yosys_stat.txt").read_text()))
    metrics["synth_seconds"] = seconds
    return metrics


# --------------------------------------------------------------------------- iverilog


def _io_format(qints) -> tuple[int, int, int, int]:
    """(word width, k, i, f) of the wrapper's uniform words, as da4ml's io wrapper packs them."""
    from da4ml.types import minimal_kif

    ks, is_, fs = zip(*map(minimal_kif, qints))
    k, i, f = max(ks), max(is_), max(fs)
    return k + i + f, k, i, f


_TESTBENCH = """`timescale 1 ns / 1 ps
module tb;
    reg clk = 0;
    reg [{w_in}-1:0] vectors [0:{n}-1];
    reg [{w_in}-1:0] inp;
    wire [{w_out}-1:0] out;
    integer s, c, fd;
    {top}_wrapper dut (.clk(clk), .model_inp(inp), .model_out(out));
    initial begin
        $readmemh("{inputs}", vectors);
        fd = $fopen("{outputs}", "w");
        for (s = 0; s < {n}; s = s + 1) begin
            inp = vectors[s];
            for (c = 0; c < {hold}; c = c + 1) begin #1 clk = 1; #1 clk = 0; end
            #1 $fdisplay(fd, "%h", out);
        end
        $fclose(fd);
        $finish;
    end
endmodule
"""


def simulate(design: VerilogDesign, x: np.ndarray, timeout: float = 1800) -> np.ndarray:
    """Outputs of the RTL on the rows of `x` (flattened), simulated with iverilog.

    Each input is held for latency + 2 clock cycles before the output is read.
    """
    iverilog = require_tool("iverilog", "rtl simulation")
    vvp = require_tool("vvp", "rtl simulation")
    pipe = design.pipeline
    n_in, n_out = pipe.shape
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if x.shape[1] != n_in:
        raise ValueError(f"the design takes {n_in} inputs per sample; got {x.shape[1]}")
    w, _, _, f_in = _io_format(pipe.inp_qint)
    words = np.floor(x * 2.0**f_in).astype(np.int64) % (1 << w)
    sim = design.folder / "sim"
    sim.mkdir(exist_ok=True)
    inputs, outputs = sim / "inputs.hex", sim / "outputs.hex"
    with open(inputs, "w") as fh:
        for row in words:
            packed = 0
            for j, v in enumerate(row.tolist()):
                packed |= int(v) << (w * j)
            fh.write(f"{packed:x}\n")
    w_out, k, i, f = _io_format(pipe.out_qint)
    (sim / "tb.v").write_text(
        # file names relative to vvp's working folder: no user path inside a Verilog string
        _TESTBENCH.format(
            w_in=w * n_in, w_out=w_out * n_out, n=len(x), top=TOP, inputs=_script_path(inputs, design.folder / "src" / "memfiles"),
            outputs=_script_path(outputs, design.folder / "src" / "memfiles"), hold=design.latency_cycles + 2,
        )
    )
    binary = sim / "tb.vvp"
    cwd = design.folder / "src" / "memfiles"
    # relative names again: iverilog writes the source names into tb.vvp, which vvp parses
    cmd = [iverilog, "-g2012", "-o", _script_path(binary, cwd), "-s", "tb", *(_script_path(p, cwd) for p in (sim / "tb.v", *design.sources()))]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"iverilog failed: {(done.stderr or done.stdout).strip().splitlines()[-1][:300]}")
    done = subprocess.run([vvp, "-n", _script_path(binary, cwd)], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not outputs.is_file():
        raise RuntimeError(f"vvp failed: {(done.stderr or done.stdout).strip()[-300:]}")
    try:
        raw = [int(line, 16) for line in outputs.read_text().split()]
    except ValueError:
        raise RuntimeError("the RTL simulation produced x or z outputs") from None
    if len(raw) != len(x):
        raise RuntimeError(f"the simulation wrote {len(raw)} outputs for {len(x)} inputs (x or z in the RTL outputs?)")
    mask, a, b = (1 << w_out) - 1, 2 ** (k + i + f), k * 2 ** (i + f)
    values = np.array([[(word >> (w_out * j)) & mask for j in range(n_out)] for word in raw], dtype=np.int64)
    return (((values + b) % a - b) * 2.0**-f).astype(np.float32)
