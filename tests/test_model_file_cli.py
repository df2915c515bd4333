"""`estimate MODEL.keras` and `export MODEL.keras`: a trained model file without a search.

A tiny HGQ2 model is trained for a few steps, traced and saved in a fixture; the CLI must
reproduce HGQ's own EBOPs from the file (no data) and after tracing on --data, give the
trial's other estimates, and export it to an hls4ml project that real C simulation (g++)
finds bit-exact. The shipped float model is converted as a search converts it."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from .conftest import assert_one_line_error, run_cli

FLOAT_MODEL = Path(__file__).resolve().parent.parent / "search_spaces" / "digits_float_cnn.keras"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(folder, HGQ's EBOPs of the saved state, HGQ's EBOPs traced on data2.npy, estimates in-process)."""
    import keras
    from hgq.layers import QBatchNormalization, QDense, QEinsumDenseBatchnorm
    from hgq.utils import trace_minmax

    from hgq_automl.estimates import estimate
    from hgq_automl.quantizers import hgq_scopes

    folder = tmp_path_factory.mktemp("model_file")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    with hgq_scopes(1e-5):
        inp = keras.Input((8,), name="features")
        h = QDense(6, activation="relu", name="d1")(inp)
        h = QBatchNormalization(name="bn")(h)
        h = QEinsumDenseBatchnorm("bc,cd->bd", output_shape=5, bias_axes="d", activation="relu", name="e1")(h)
        model = keras.Model(inp, QDense(3, name="out")(h), name="tiny")
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # 4 steps
    ebops = float(trace_minmax(model, x, batch_size=64))
    expected = estimate(model)
    model.save(folder / "tiny.keras")
    np.save(folder / "data.npy", x)
    x2 = (3 * rng.normal(size=(40, 8))).astype(np.float32)  # wider ranges: more EBOPs once traced
    np.savez(folder / "data2.npz", x=x2)
    ebops2 = float(trace_minmax(model, x2, batch_size=64))
    (folder / "notes.txt").write_text("not a model")
    np.save(folder / "wrong_shape.npy", x[:, :5])
    return folder, ebops, ebops2, expected


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_estimate_reproduces_hgqs_ebops_from_the_saved_state(saved):
    folder, ebops, _, expected = saved
    doc = _json(run_cli(["estimate", "tiny.keras", "--format", "json"], cwd=folder))
    metrics = doc["metrics"]
    assert metrics["ebops"] == ebops > 0
    assert doc["ranges"] == "the model's own quantizer state" and doc["converted_from_float"] is False
    for name in ("flops", "params", "dsps", "bram", "luts", "ffs", "latency_cycles", "latency_ns"):
        assert metrics[name] == expected[name], name
    assert metrics["flops"] == 2 * (8 * 6 + 6 * 5 + 5 * 3) + 2 * 6  # dense + einsum MACs, BN a multiply-add per element
    assert metrics["params"] == (8 * 6 + 6) + (6 + 6) + (6 * 5 + 5) + (5 * 3 + 3)


def test_estimate_with_data_traces_first(saved):
    folder, ebops, ebops2, _ = saved
    doc = _json(run_cli(["estimate", "tiny.keras", "--data", "data2.npz", "--format", "json", "--reuse-factor", "2", "--strategy", "resource"], cwd=folder))
    assert doc["metrics"]["ebops"] == ebops2 != ebops
    assert doc["ranges"] == "traced on 40 samples of data2.npz" and (doc["reuse_factor"], doc["strategy"]) == (2, "resource")
    assert all(v is not None and math.isfinite(v) for v in doc["metrics"].values())


def test_estimate_table(saved):
    folder, ebops, _, _ = saved
    result = run_cli(["estimate", "tiny.keras"], cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "the model's own quantizer state" in result.stdout.splitlines()[0]
    (line,) = [row for row in result.stdout.splitlines() if row.split()[:1] == ["ebops"]]
    assert line.split()[1].replace(",", "") == f"{ebops:.0f}" and "bit-operations" in line


def test_estimate_of_the_shipped_float_model_converts_it(tmp_path):
    from sklearn.datasets import load_digits

    np.save(tmp_path / "digits.npy", (load_digits().data[:100] / 16).astype(np.float32))  # flat 64: reshaped to 8x8x1
    doc = _json(run_cli(["estimate", str(FLOAT_MODEL), "--data", "digits.npy", "--format", "json"], cwd=tmp_path))
    assert doc["converted_from_float"] is True and "final softmax" in doc["notes"]["conversion"]
    assert all(v is not None and math.isfinite(v) and v > 0 for k, v in doc["metrics"].items() if k not in ("dsps", "bram"))


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["estimate", "absent.keras"], ["MODEL absent.keras: no such file"]),
        (["estimate", "notes.txt"], ["MODEL notes.txt: not a Keras model file"]),
        (["estimate", "data2.npz"], ["MODEL data2.npz: not a Keras model file (a zip archive without config.json)"]),
        (["estimate", str(FLOAT_MODEL)], ["digits_float_cnn.keras: a float Keras model; its HGQ2 conversion needs --data FILE"]),
        (["estimate", "tiny.keras", "--data", "absent.npy"], ["--data absent.npy: no such file"]),
        (["export", "notes.txt", "--to", "hls4ml", "--out", "o"], ["MODEL notes.txt: not a Keras model file"]),
        (["export", "absent.keras", "--to", "hls4ml", "--out", "o"], ["MODEL absent.keras: no such file"]),
    ],
)
def test_bad_model_files_are_one_line(saved, args, fragments):
    folder = saved[0]
    assert_one_line_error(run_cli(args, cwd=folder), *fragments)


def test_data_of_the_wrong_shape_is_refused(saved):
    folder = saved[0]
    result = run_cli(["estimate", "tiny.keras", "--data", "wrong_shape.npy"], cwd=folder)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "hgq_automl: error: --data wrong_shape.npy: samples of shape [5], but the model takes [8]"


def test_export_of_a_model_file_is_bit_exact_in_csim(saved, tmp_path):
    folder = saved[0]
    result = run_cli(["export", str(folder / "tiny.keras"), "--to", "hls4ml", "--out", "prj", "--data", str(folder / "data.npy")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "prj" / "firmware" / "myproject.cpp").is_file()
    lines = result.stdout.splitlines()
    (mismatch,) = [line for line in lines if line.split()[:1] == ["bit_mismatches"]]
    assert mismatch.split()[1] == "0"
    assert lines[-1] == f"firmware vs Keras on 64 samples of {folder / 'data.npy'}: bit-exact"


def test_export_without_data_draws_over_the_input_quantizers_range(saved, tmp_path):
    folder = saved[0]
    result = run_cli(["export", str(folder / "tiny.keras"), "--to", "hls4ml", "--out", "prj"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no --data given: checking bit-exactness on 200 inputs drawn uniformly over the range of d1's input quantizer" in result.stderr
    assert result.stdout.splitlines()[-1].startswith("firmware vs Keras on 200 inputs drawn uniformly") and result.stdout.endswith(": bit-exact\n")
