"""da4ml Verilog through Debian's yosys and iverilog (real tools, a tiny model)."""

import numpy as np
import pytest

from hgq_automl.hardware.rtl import parse_yosys_stat, simulate, write_verilog, yosys_synth
from hgq_automl.hardware.synthesis import rtl_step
from hgq_automl.space import HardwareSpec

STAT = """
=== model ===

   Number of wires:               1234
   Number of wire bits:           5678
   Number of public wires:          12
   Number of public wire bits:     345
   Number of memories:               0
   Number of memory bits:            0
   Number of processes:              0
   Number of cells:                 99
     CARRY8                          7
     DSP48E2                         2
     FDRE                           30
     FDSE                            1
     IBUF                            9
     LUT2                           20
     LUT6                           25
     SRL16E                          3
     INV                             2

   Estimated number of LCs:         48
"""


def test_parse_yosys_stat_sums_cells_into_metrics():
    assert parse_yosys_stat(STAT) == {"synth_luts": 48, "synth_ffs": 31, "synth_dsps": 2, "synth_carry": 7}
    with pytest.raises(ValueError, match="Number of cells"):
        parse_yosys_stat("ERROR: nothing")


def test_yosys_luts_agree_with_da4ml_and_rtl_is_bit_exact(tiny_mlp, tmp_path):
    from hgq_automl.estimates import da4ml_estimate

    _, data, final, model = tiny_mlp
    da = da4ml_estimate(model)
    design = write_verilog(da.comb, tmp_path / "v", "xc7a100t-csg324-1", 5.0)
    assert (tmp_path / "v" / "src" / "model.v").is_file() and design.latency_cycles == final["latency_cycles"]
    synth = yosys_synth(design, "xc7")
    assert synth["synth_luts"] > 0 and synth["synth_seconds"] > 0
    assert 0.5 <= synth["synth_luts"] / da.luts <= 2.0, (synth, da.luts)
    assert synth["synth_dsps"] == 0  # distributed arithmetic: adders only
    assert 0.5 <= synth["synth_ffs"] / da.ffs <= 2.0, (synth, da.ffs)
    expected = model.predict(data.x_test, verbose=0)
    got = simulate(design, data.x_test)
    assert got.shape == expected.shape and np.count_nonzero(got != expected) == 0


def test_rtl_step_reports_every_rtl_metric(tiny_mlp, tmp_path):
    _, data, _, model = tiny_mlp
    metrics = rtl_step(model, HardwareSpec(synthesis="rtl", sim_samples=20), data.x_test, tmp_path / "verilog")
    assert set(metrics) == {"synth_luts", "synth_ffs", "synth_dsps", "synth_carry", "synth_seconds", "bit_mismatches"}
    assert metrics["bit_mismatches"] == 0
    assert (tmp_path / "verilog" / "sim" / "inputs.hex").read_text().count("\n") == 20


def test_a_folder_with_spaces_quotes_and_semicolons_is_synthesized_and_simulated(tiny_mlp, tmp_path):
    """The scripts yosys and iverilog read name the design's files relative to their working
    folder, so a user's --out never enters a tool's command language: nothing is run
    from it (the `!` / `shell` of yosys), and nothing is written beside it."""
    _, data, _, model = tiny_mlp
    out = tmp_path / "my out; !touch pwned; shell touch pwned2 \"q\""
    metrics = rtl_step(model, HardwareSpec(synthesis="rtl", sim_samples=10), data.x_test, out / "verilog")
    assert metrics["synth_luts"] > 0 and metrics["bit_mismatches"] == 0
    assert (out / "verilog" / "yosys_stat.txt").is_file() and (out / "verilog" / "sim" / "outputs.hex").read_text().count("\n") == 10
    assert not list(tmp_path.rglob("pwned*"))
