"""hls4ml conversion with real C simulation, and the refusal when a vendor tool is missing."""

import pytest

from hgq_automl.hardware.hls import check_vendor_tool, convert, csim_mismatches
from hgq_automl.hardware.rtl import ToolMissing
from hgq_automl.hardware.synthesis import check_tools
from hgq_automl.space import HardwareSpec


@pytest.mark.parametrize("strategy", ["latency", "distributed_arithmetic"])
def test_csim_of_a_trained_cnn_is_bit_exact(tiny_cnn, tmp_path, strategy):
    _, data, _, model = tiny_cnn
    hls_model = convert(model, tmp_path / "prj", "Vitis", "xcvu9p-flga2104-2L-e", 5.0, strategy, 1)
    assert csim_mismatches(hls_model, model, data.x_test) == 0
    assert (tmp_path / "prj" / "firmware" / "myproject.cpp").is_file()


@pytest.mark.parametrize("synthesis, tool", [("vitis", "vitis-run"), ("vivado", "vivado_hls")])
def test_a_missing_vendor_tool_is_refused_on_one_line(monkeypatch, tmp_path, synthesis, tool):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no tool at all
    with pytest.raises(ToolMissing) as err:
        check_vendor_tool(synthesis)
    assert f"`{tool}` is not on PATH" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ToolMissing):
        check_tools(HardwareSpec(synthesis=synthesis))
    with pytest.raises(ToolMissing, match="synthesis rtl needs `yosys`, which is not on PATH"):
        check_tools(HardwareSpec(synthesis="rtl"))


def test_installed_tools_pass_the_check():
    check_tools(HardwareSpec(synthesis="rtl"))
    check_tools(HardwareSpec(synthesis="csim"))
    check_tools(HardwareSpec(synthesis="none"))


@pytest.mark.parametrize("strategy, asked", [("resource", 5), ("resource", 7), ("resource", 4), ("latency", 5)])
def test_the_reuse_factor_estimated_is_the_one_hls4ml_uses(tiny_mlp, tmp_path, strategy, asked):
    """hls4ml moves an invalid reuse factor of the resource strategy to the closest valid
    one, per layer; the estimates use (and the trial's notes say) that same value."""
    from hgq_automl.estimates import estimate, layer_bram, layer_dsps, layer_reuse_factor, weight_layers

    _, _, _, model = tiny_mlp
    hls_model = convert(model, tmp_path / "prj", "Vitis", "xcvu9p-flga2104-2L-e", 5.0, strategy, asked)
    used = {layer.name: layer.get_attr("reuse_factor") for layer in hls_model.get_layers() if layer.class_name.endswith("Dense")}
    ours = {w.name: layer_reuse_factor(w, asked, strategy) for w in weight_layers(model)}
    assert used == ours and len(ours) == 2
    if strategy == "resource" and asked == 5:
        assert set(ours.values()) != {5}  # neither 8 x 4 nor 4 x 3 takes 5
    notes = {}
    est = estimate(model, asked, strategy, da4ml=False, notes=notes)
    layers = weight_layers(model)
    assert est["bram"] == sum(layer_bram(w, ours[w.name], strategy) for w in layers)
    assert est["dsps"] == sum(layer_dsps(w, ours[w.name], strategy) for w in layers)
    assert notes["reuse_factors"] == ", ".join(f"{n} {rf}" for n, rf in ours.items()) + f" (asked {asked}, {strategy})"
