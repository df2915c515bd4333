"""The command line: fast help, and bad input answered with one line and exit code 2 before any trial."""

import subprocess
import sys

import pytest

from .conftest import REPO, assert_one_line_error, run_cli, write


def test_help_imports_no_heavy_library():
    code = "import sys; from hgq_automl.cli import build_parser; build_parser().format_help(); print(sorted(m for m in ('tensorflow', 'keras', 'ray', 'mlflow', 'optuna', 'hgq', 'hls4ml', 'mcp') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_lists_the_search_flags(tmp_path):
    result = run_cli(["search", "--help"], cwd=tmp_path)
    assert result.returncode == 0
    for flag in ("--space", "--data", "--trials", "--concurrency", "--sampler", "--seed", "--name", "--tracking-uri", "--storage", "--synthesis", "--part", "--cpus", "--harvest", "--time-budget-s"):
        assert flag in result.stdout
    result = run_cli(["export", "--help"], cwd=tmp_path)
    assert result.returncode == 0
    for flag in ("RUN_ID", "--to", "--out", "--part", "--tracking-uri", "--synth"):
        assert flag in result.stdout


@pytest.mark.parametrize(
    "yaml_text, fragments",
    [
        ("parameters:\n  beta: {type: log_uniform, low: 1\n", ["bad.yaml: line", "not valid YAML"]),
        ("parameters:\n  gamma: 3\n", ["bad.yaml: parameters.gamma: unknown parameter"]),
        ("parameters:\n  beta: {type: log_uniform, low: 1.0e-3, high: 1.0e-5}\n", ["bad.yaml: parameters.beta: empty or inverted range"]),
        ("parameters:\n  epochs: many\n", ["bad.yaml: parameters.epochs: must be a number; got 'many'"]),
        ("dataset:\n  name: imagenet\n", ["bad.yaml: dataset.name: unknown dataset 'imagenet'"]),
        ("dataset:\n  name: tabular\n  path: missing.csv\n", ["bad.yaml: dataset.path: no such file or directory: missing.csv"]),
        ("hardware:\n  part: xc9z999-foo-1\n", ["bad.yaml: hardware.part: unknown FPGA part 'xc9z999-foo-1'"]),
        ("hardware:\n  synthesis: quartus\n", ["bad.yaml: hardware.synthesis: must be one of none, csim, rtl, vivado, vitis; got 'quartus'"]),
        ("constraints: ['uram <= 4']\n", ["bad.yaml: constraints[0]: unknown metric 'uram'"]),
        ("constraints: ['dsps == 0']\n", ["bad.yaml: constraints[0]: must read METRIC <= NUMBER or METRIC >= NUMBER"]),
        ("objectives: {val_accuracy: max, synth_luts: min}\n", ["bad.yaml: objectives.synth_luts: synth_luts needs hardware.synthesis rtl, vivado, vitis"]),
    ],
)
def test_bad_space_is_one_line_and_exit_2(tmp_path, yaml_text, fragments):
    write(tmp_path / "bad.yaml", yaml_text)
    result = run_cli(["search", "--space", "bad.yaml"], cwd=tmp_path)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "hgq_automl_results").exists() and not (tmp_path / "mlflow.db").exists()


def test_bad_flags_and_missing_data(tmp_path):
    assert_one_line_error(run_cli(["search", "--sampler", "cmaes"], cwd=tmp_path), "--sampler: invalid choice: 'cmaes'")
    assert_one_line_error(run_cli(["search", "--trials", "0"], cwd=tmp_path), "--trials: must be a positive integer; got '0'")
    assert_one_line_error(run_cli(["search", "--space", "no_such_space"], cwd=tmp_path), "no_such_space: no such search space")
    assert_one_line_error(run_cli(["search", "--space", "mnist_cnn"], cwd=tmp_path), "search_spaces/mnist_cnn.yaml: dataset.path: the mnist dataset needs a data file")
    assert_one_line_error(run_cli(["search", "--space", "mnist_cnn", "--data", "nowhere/"], cwd=tmp_path), "dataset.path: no such file or directory: nowhere/")
    assert_one_line_error(run_cli(["search", "--name", "a b"], cwd=tmp_path), "--name must be letters")
    assert_one_line_error(run_cli(["search", "--part", "xcvu9p"], cwd=tmp_path), "(command line): hardware.part: unknown FPGA part 'xcvu9p'")
    assert_one_line_error(run_cli(["search", "--synthesis", "quartus"], cwd=tmp_path), "--synthesis: invalid choice: 'quartus'")
    assert_one_line_error(run_cli(["search", "--cpus", "0"], cwd=tmp_path), "--cpus: must be a positive integer; got '0'")
    assert_one_line_error(run_cli(["search", "--cpus", "1", "--address", "127.0.0.1:1"], cwd=tmp_path), "--cpus sets the CPUs of a local Ray")


@pytest.mark.parametrize("synthesis, tool", [("vitis", "vitis-run"), ("vivado", "vivado_hls")])
def test_missing_vendor_tool_refuses_the_search(tmp_path, synthesis, tool):
    import shutil

    assert shutil.which(tool) is None  # Vivado/Vitis are not installed here
    result = run_cli(["search", "--synthesis", synthesis, "--name", "v"], cwd=tmp_path, isolated=True)
    assert_one_line_error(result, f"synthesis {synthesis} needs", f"`{tool}` is not on PATH")
    assert not (tmp_path / "hgq_automl_results" / "v").exists() and not (tmp_path / "mlflow.db").exists()


def test_input_shape_must_match_the_data(tmp_path):
    import numpy as np

    np.savez(tmp_path / "jets.npz", x=np.zeros((50, 12), dtype=np.float32), y=np.arange(50) % 5)
    result = run_cli(["search", "--space", str(REPO / "search_spaces" / "tabular_mlp.yaml"), "--data", "jets.npz"], cwd=tmp_path)
    assert_one_line_error(result, "model.input_shape [16] does not match the data's [12]")


def test_unreachable_tracking_server_is_refused_before_any_trial(tmp_path):
    result = run_cli(["search", "--tracking-uri", "http://127.0.0.1:9", "--name", "x"], cwd=tmp_path)
    assert_one_line_error(result, "MLflow tracking server http://127.0.0.1:9 is unreachable")
    assert not (tmp_path / "hgq_automl_results" / "x").exists()


def test_existing_search_name_is_refused(tmp_path):
    from hgq_automl.layout import STATE_FILE

    (tmp_path / "results" / "taken").mkdir(parents=True)
    (tmp_path / "results" / "taken" / STATE_FILE).write_text("{}")  # a search's folder: its state file written
    result = run_cli(["search", "--storage", "results", "--name", "taken"], cwd=tmp_path)
    assert_one_line_error(result, "a search named 'taken' already exists")


def test_resume_refuses_changes_and_unknown_searches(tmp_path):
    assert_one_line_error(run_cli(["search", "--resume", "x", "--seed", "0"], cwd=tmp_path), "--resume continues a search as it was started; drop --seed")
    assert_one_line_error(run_cli(["search", "--resume", "ghost"], cwd=tmp_path), "no search named 'ghost' to resume in")
