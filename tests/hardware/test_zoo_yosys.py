"""da4ml's `luts` against Debian's yosys on a sample of the layer zoo (tests/test_estimates_zoo.py):
an einsum MLP with folded batch norm, the merges, a conv1d with pooling. Measured ratios are
in docs/benchmarks.md; designs with lookup tables (QUnaryFunctionLUT, QSoftmax) cannot be
synthesized by yosys 0.23 (it finds no mapping for da4ml's table ROMs) and are not sampled."""

import pytest

from hgq_automl.estimates import da4ml_estimate
from hgq_automl.hardware.rtl import write_verilog, yosys_synth

from ..test_estimates_zoo import build


@pytest.mark.parametrize("kind, dsps", [("einsum_dense_batchnorm", 0), ("merges", 4), ("conv1d", 0)])
def test_da4ml_luts_are_within_30_percent_of_yosys(kind, dsps, tmp_path):
    """Constant multiplications are adder trees (no DSP); QMultiply's 4 products of two data
    values are real multipliers, which yosys maps to DSPs."""
    model, _, _ = build(kind)
    da = da4ml_estimate(model)
    synth = yosys_synth(write_verilog(da.comb, tmp_path / "v", "xcvu9p-flga2104-2L-e", 5.0), "xcup")
    assert synth["synth_dsps"] == dsps and synth["synth_luts"] > 0
    assert 0.7 <= synth["synth_luts"] / da.luts <= 1.3, (kind, synth["synth_luts"], da.luts)
