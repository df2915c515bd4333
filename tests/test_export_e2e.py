"""Hardware in the loop, end to end: a real search with the csim step and a constraint
(Ray in a private network namespace, MLflow SQLite), then `export` of a Pareto member's
run to hls4ml and to Verilog, and export's one-line refusals."""

import pytest

from .conftest import assert_one_line_error, logged_search, run_cli

TINY = """\
name: hw
task: {type: classification, chance_margin: 0}  # few-epoch trials can sit near chance: no floor
dataset: {name: digits, max_samples: 300}
model: {family: cnn, input_shape: [8, 8], conv_layers: 1}
objectives: {val_accuracy: max, luts: min}
constraints: ["dsps <= 0", "bit_mismatches <= 0"]
hardware: {synthesis: csim, part: xcvu9p-flga2104-2L-e, clock_period_ns: 5, sim_samples: 40}
search: {trials: 2, concurrency: 2, sampler: random, seed: 1}
harvest: {max_points: 2}  # harvested members of the front get the csim step at the search's end
parameters:
  filters_1: 1
  epochs: 4
  beta: 1.0e-5
  beta_final: 1.0e-2
  strategy: {type: choice, values: [latency, distributed_arithmetic]}
"""


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    return logged_search(tmp_path_factory, "hw", TINY)


def _front(runs):
    return [r for r in runs if r.data.tags.get("pareto") == "true"]


def test_csim_metrics_and_firmware_reach_mlflow(search):
    folder, result, client, runs = search
    children = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]
    assert len(children) == 2 and all(c.info.status == "FINISHED" for c in children)
    for child in children:
        m = child.data.metrics
        assert m["bit_mismatches"] == 0 and m["dsps"] == 0 and m["luts"] > 0 and m["ffs"] > 0
    parent = next(r for r in runs if r.data.tags.get("hgq_automl.role") == "search")
    assert parent.data.params["synthesis"] == "csim" and parent.data.params["constraints"] == "dsps <= 0; bit_mismatches <= 0"
    front = _front(runs)
    assert front and "hardware: synthesis csim, part xcvu9p-flga2104-2L-e" in result.stderr
    # every member a finished product: the harvested ones were simulated at the search's end
    harvested = [m for m in front if m.data.tags.get("hgq_automl.role") == "harvest"]
    assert harvested and "harvested point(s) of the front:" in result.stderr, result.stderr[-2000:]
    for member in front:
        assert member.data.metrics["bit_mismatches"] == 0 and member.data.metrics["luts"] > 0
    for member in front:
        files = {a.path for a in client.list_artifacts(member.info.run_id, "firmware/hls4ml")}
        assert "firmware/hls4ml/hls4ml_config.yml" in files and "firmware/hls4ml/firmware" in files
    assert "bit_mismatches" in result.stdout  # the table shows the csim column


def test_export_to_hls4ml_is_bit_exact(search):
    folder, _, _, runs = search
    run_id = _front(runs)[0].info.run_id
    result = run_cli(["export", run_id, "--to", "hls4ml", "--out", "out_hls"], cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "firmware vs Keras on 60 held-out test samples: bit-exact" in result.stdout
    assert "luts" in result.stdout and "dsps" in result.stdout
    assert (folder / "out_hls" / "firmware" / "myproject.cpp").is_file()


def test_export_to_verilog_with_yosys(search):
    folder, _, _, runs = search
    run_id = _front(runs)[0].info.run_id
    result = run_cli(["export", run_id, "--to", "verilog", "--out", "out_v", "--part", "xc7a100t-csg324-1", "--synth"], cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "firmware vs Keras on 40 held-out test samples: bit-exact" in result.stdout
    assert "synth_luts" in result.stdout and "synth_carry" in result.stdout
    assert (folder / "out_v" / "src" / "model.v").is_file()
    stat = (folder / "out_v" / "yosys_stat.txt").read_text()
    assert "CARRY4" in stat and "CARRY8" not in stat  # synthesized for the 7-series part given, not the search's UltraScale+


def test_export_refusals(search):
    folder, _, client, runs = search
    member = _front(runs)[0]
    assert_one_line_error(run_cli(["export", "0123456789abcdef", "--to", "hls4ml", "--out", "x"], cwd=folder), "no MLflow run '0123456789abcdef'")
    assert_one_line_error(run_cli(["export", member.info.run_id, "--to", "verilog", "--out", "x", "--part", "xcvu9p"], cwd=folder), "--part: unknown FPGA part 'xcvu9p'")
    parent = next(r for r in runs if r.data.tags.get("hgq_automl.role") == "search")
    assert_one_line_error(run_cli(["export", parent.info.run_id, "--to", "hls4ml", "--out", "x"], cwd=folder), "is not a trial run")
    bare = client.create_run(member.info.experiment_id, tags={"hgq_automl.role": "trial", "mlflow.parentRunId": parent.info.run_id})
    assert_one_line_error(run_cli(["export", bare.info.run_id, "--to", "hls4ml", "--out", "x"], cwd=folder), "has no model artifact (model/data/model.keras)")
    assert_one_line_error(run_cli(["export", member.info.run_id, "--to", "hls4ml", "--out", "x", "--synth"], cwd=folder), "--synth: synthesis vitis needs Vitis HLS")
    (folder / "full").mkdir()
    (folder / "full" / "f").write_text("x")
    assert_one_line_error(run_cli(["export", member.info.run_id, "--to", "hls4ml", "--out", "full"], cwd=folder), "--out full exists and is not an empty folder")
    assert not (folder / "x").exists()
