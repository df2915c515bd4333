"""The battery of bad input: every mistake a user can make in a file, a flag or a store is
answered with one line on stderr naming the file, key or flag (no traceback, no library's
log lines) and exit code 2, before any trial, and leaves no MLflow run behind. The cases are
grouped by kind of input: the space file and its limits, numbers too large for their type,
data files, degenerate arrays, labels of the wrong kind, files that are not models, flags,
names, URIs of schemes nothing reads, ports, tracking stores, resume.

Each case runs the real CLI in a subprocess (a fresh interpreter, as a user runs it), in its
own working directory with its own SQLite tracking store. None of them gets as far as
starting Ray: they all fail while the input is checked (each still runs in a private network
namespace, so that a regression that lets one through starts no Ray on the host's network).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from .conftest import run_cli, write

RANDOM_BYTES = bytes(np.random.default_rng(7).integers(0, 256, 2048, dtype=np.uint8))


def _inputs(folder: Path) -> None:
    """Every broken (and a few good) input file, made once for the whole battery."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    y = np.arange(60) % 3
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    np.save(folder / "y_short.npy", y[:50])
    nan = x.copy()
    nan[5, 1] = np.nan
    np.save(folder / "x_nan.npy", nan)
    inf = x.copy()
    inf[9, 0] = np.inf
    np.save(folder / "x_inf.npy", inf)
    np.save(folder / "y_half.npy", np.where(np.arange(60) == 3, 0.5, y).astype(np.float64))
    np.save(folder / "y_onehot_bad.npy", np.tile([[0, 2, 0]], (60, 1)))
    np.save(folder / "y_one_class.npy", np.zeros(60, dtype=np.int64))
    np.save(folder / "x_text.npy", np.array([["a"] * 4] * 60))
    (folder / "junk.npy").write_bytes(RANDOM_BYTES)
    (folder / "junk.npz").write_bytes(RANDOM_BYTES)
    (folder / "cut.npz").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    (folder / "junk.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + RANDOM_BYTES)
    (folder / "junk.csv").write_bytes(RANDOM_BYTES)
    write(folder / "ragged.csv", "a,b,label\n1,2,0\n3,4,5,6\n")
    write(folder / "nolabel.csv", "a,b,c\n1,2,0\n3,4,1\n")
    np.savez(folder / "noarrays.npz", features=x)
    # MNIST idx files: one folder with a gz that is not gzip, one with a header cut short
    (folder / "mnist_gz").mkdir()
    (folder / "mnist_gz" / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    (folder / "mnist_gz" / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip either")
    (folder / "mnist_idx").mkdir()
    (folder / "mnist_idx" / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    (folder / "mnist_idx" / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + np.array([5], dtype=">u4").tobytes() + b"\0" * 5)
    (folder / "mnist_size").mkdir()
    with gzip.open(folder / "mnist_size" / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + np.array([10, 28, 28], dtype=">u4").tobytes() + b"\0" * 100)
    with gzip.open(folder / "mnist_size" / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + np.array([10], dtype=">u4").tobytes() + b"\0" * 10)
    (folder / "empty_dir").mkdir()
    # degenerate and hostile arrays
    np.save(folder / "x_no_features.npy", np.zeros((60, 0), dtype=np.float32))
    np.save(folder / "x_no_samples.npy", np.zeros((0, 4), dtype=np.float32))
    np.save(folder / "y_no_samples.npy", np.zeros(0, dtype=np.int64))
    beyond = x.astype(np.float64)
    beyond[7, 2] = 1e39  # finite as float64, inf as the trials' float32
    np.save(folder / "x_beyond_float32.npy", beyond)
    np.save(folder / "y_beyond_float32.npy", np.where(np.arange(60) == 11, 1e39, 0.5))
    np.save(folder / "y_huge_whole.npy", np.where(np.arange(60) == 2, 1e30, y).astype(np.float64))
    np.save(folder / "y_complex.npy", y.astype(np.complex128))
    np.save(folder / "y_text.npy", np.array(["a", "b", "c"] * 20))
    write(folder / "text.keras", "not a model, but a text file\n")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    _inputs(folder)
    return folder


def arrays(x: str = "x.npy", y: str = "y.npy", extra: str = "") -> str:
    return f"dataset: {{name: arrays, x: '{{in}}/{x}', y: '{{in}}/{y}'}}\nmodel: {{family: mlp}}\n{extra}"


def one_file(path: str, name: str = "arrays", extra: str = "") -> str:
    return f"dataset: {{name: {name}, path: '{{in}}/{path}'}}\nmodel: {{family: {'cnn' if name == 'mnist' else 'mlp'}}}\n{extra}"


def _state(cwd: Path, text: str) -> None:
    (cwd / "hgq_automl_results" / "old").mkdir(parents=True)
    write(cwd / "hgq_automl_results" / "old" / "hgq_automl.json", text)


def _corrupt_state(cwd: Path, inputs: Path) -> None:
    _state(cwd, "{not json")


def _state_missing_keys(cwd: Path, inputs: Path) -> None:
    _state(cwd, json.dumps({"source": "x.yaml"}))


def _state_bad_space(cwd: Path, inputs: Path) -> None:
    _state(cwd, json.dumps({"space": {"parameters": {"gamma": 1}}, "source": "x.yaml", "tracking_uri": "sqlite:///x.db", "parent_run_id": "0"}))


def _state_binary(cwd: Path, inputs: Path) -> None:
    (cwd / "hgq_automl_results" / "old").mkdir(parents=True)
    (cwd / "hgq_automl_results" / "old" / "hgq_automl.json").write_bytes(RANDOM_BYTES)


def _corrupt_sqlite(cwd: Path, inputs: Path) -> None:
    (cwd / "bad.db").write_bytes(b"SQLite format 3\0" + RANDOM_BYTES)


def _foreign_sqlite(cwd: Path, inputs: Path) -> None:
    with sqlite3.connect(cwd / "bad.db") as db:  # a valid SQLite file, but not MLflow's
        db.execute("create table runs (x text)")
        db.execute("insert into runs values ('mine')")


def _random_space(cwd: Path, inputs: Path) -> None:
    (cwd / "bad.yaml").write_bytes(RANDOM_BYTES)


def _latin1_space(cwd: Path, inputs: Path) -> None:
    (cwd / "bad.yaml").write_bytes("name: caf\xe9\nparameters: {epochs: 1}\n".encode("latin-1"))


def _nul_space(cwd: Path, inputs: Path) -> None:
    (cwd / "bad.yaml").write_bytes(b"name: a\0b\n")


#: a "billion laughs" of 342 bytes: nine levels of nine aliases, 10**9 strings once expanded
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
)


def _huge_space(cwd: Path, inputs: Path) -> None:
    write(cwd / "bad.yaml", "description: '" + "x" * (2 << 20) + "'\n")


def _model_path_text_file(cwd: Path, inputs: Path) -> None:
    write(cwd / "bad.yaml", f"dataset: {{name: digits}}\nmodel: {{path: '{inputs / 'text.keras'}'}}\n")


def _builder_fails_under_tensorflow(cwd: Path, inputs: Path) -> None:
    """A builder whose model cannot be built, on the TensorFlow backend: TensorFlow's start-up
    lines (absl, oneDNN) must not come before the error."""
    write(cwd / "broken_builder.py", "import keras\n\ndef build(params, input_shape, n_outputs):\n"
          "    x = keras.Input(input_shape)\n    return keras.Model(x, keras.layers.Reshape((7, 7))(x))\n")
    write(cwd / "bad.yaml", "dataset: {name: digits}\nmodel: {builder: 'broken_builder:build'}\nsearch: {backend: tensorflow}\n")


def _space_is_a_folder(cwd: Path, inputs: Path) -> None:
    (cwd / "folder.yaml").mkdir()


def _storage_is_a_file(cwd: Path, inputs: Path) -> None:
    write(cwd / "store", "a file, not a folder")


# (id, space text or None (the default digits_cnn) or a setup function, extra flags, a fragment of the error line)
CASES = [
    # the space file
    ("space-random-bytes", _random_space, ["--space", "bad.yaml"], "bad.yaml"),
    ("space-not-utf8", _latin1_space, ["--space", "bad.yaml"], "bad.yaml"),
    ("space-nul-byte", _nul_space, ["--space", "bad.yaml"], "bad.yaml"),
    ("space-a-list", "- 1\n- 2\n", ["--space", "bad.yaml"], "bad.yaml"),
    ("space-a-folder", _space_is_a_folder, ["--space", "folder.yaml"], "folder.yaml"),
    # YAML limits: size, nesting, alias expansion (refused before anything is built)
    ("space-billion-laughs", BILLION_LAUGHS, ["--space", "bad.yaml"], "bad.yaml: YAML: refused: expands to more than"),
    ("space-nested-too-deep", "a: " + "[" * 40 + "]" * 40 + "\n", ["--space", "bad.yaml"], "bad.yaml: YAML: refused: nested deeper than"),
    ("space-too-many-aliases", "a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n", ["--space", "bad.yaml"], "bad.yaml: YAML: refused: more than 100 aliases"),
    ("space-recursive-alias", "a: &a [*a]\n", ["--space", "bad.yaml"], "bad.yaml: YAML: refused: a recursive alias"),
    ("space-too-big", _huge_space, ["--space", "bad.yaml"], "bad.yaml: YAML: refused: 2097168 bytes"),
    ("space-parameters-a-list", "parameters: [1, 2]\n", ["--space", "bad.yaml"], "parameters"),
    ("space-seed-too-big", "search: {seed: 4294967296}\n", ["--space", "bad.yaml"], "search.seed"),
    # numbers too large for their type
    ("space-trials-too-big", "search: {trials: 1.0e+30}\n", ["--space", "bad.yaml"], "search.trials: must be an integer of at most 2147483647"),
    ("space-epochs-400-digits", f"parameters: {{epochs: {10**400}}}\n", ["--space", "bad.yaml"], "parameters.epochs: must be a number of at most 2147483647; got 401 digits"),
    ("space-learning-rate-400-digits", f"parameters: {{learning_rate: {10**400}}}\n", ["--space", "bad.yaml"], "parameters.learning_rate: must be a number of at most"),
    ("space-seed-400-digits", f"search: {{seed: {10**400}}}\n", ["--space", "bad.yaml"], "search.seed: must be an integer from 0 to 4294967295; got 401 digits"),
    ("space-dataset-seed-too-big", "dataset: {name: digits, seed: 4294967296}\n", ["--space", "bad.yaml"], "dataset.seed"),
    # data files
    ("idx-gz-not-gzip", one_file("mnist_gz", "mnist"), [], "train-images-idx3-ubyte.gz"),
    ("idx-header-cut", one_file("mnist_idx", "mnist"), [], "idx header cut short"),
    ("idx-size-wrong", one_file("mnist_size", "mnist"), [], "idx header says"),
    ("idx-folder-empty", one_file("empty_dir", "mnist"), [], "no MNIST idx files"),
    ("npz-random-bytes", one_file("junk.npz"), [], "junk.npz: not an .npz file"),
    ("npz-cut", one_file("cut.npz"), [], "cut.npz"),
    ("npz-no-arrays", one_file("noarrays.npz"), [], "noarrays.npz: an .npz needs arrays x and y"),
    ("npy-random-bytes", arrays(x="junk.npy"), [], "junk.npy: not a .npy file"),
    ("h5-corrupt", one_file("junk.h5"), [], "junk.h5: cannot be read as HDF5"),
    ("csv-random-bytes", one_file("junk.csv"), [], "junk.csv"),
    ("csv-ragged", one_file("ragged.csv"), [], "ragged.csv: cannot be read as CSV"),
    ("csv-no-label", one_file("nolabel.csv"), [], "nolabel.csv: no label column 'label'"),
    ("x-y-lengths-differ", arrays(y="y_short.npy"), [], "60 samples of features but 50 labels"),
    ("features-nan", arrays(x="x_nan.npy"), [], "x_nan.npy: NaN or inf in the features (first at sample 5)"),
    ("features-inf", arrays(x="x_inf.npy"), [], "x_inf.npy: NaN or inf in the features (first at sample 9)"),
    ("features-text", arrays(x="x_text.npy"), [], "x_text.npy: features must be numbers"),
    ("labels-not-whole", arrays(y="y_half.npy"), [], "y_half.npy: class labels must be whole numbers"),
    ("labels-one-hot-out-of-range", arrays(y="y_onehot_bad.npy"), [], "y_onehot_bad.npy: labels of shape (60, 3) are not one-hot rows"),
    ("labels-one-class", arrays(y="y_one_class.npy"), [], "every label is 0"),
    ("features-none", arrays(x="x_no_features.npy"), [], "x_no_features.npy: holds no features (features of shape (60, 0))"),
    ("samples-none", arrays(x="x_no_samples.npy", y="y_no_samples.npy"), [], "x_no_samples.npy: holds no samples"),
    ("features-beyond-float32", arrays(x="x_beyond_float32.npy"), [], "x_beyond_float32.npy: features beyond float32's range"),
    ("targets-beyond-float32", "task: regression\n" + arrays(y="y_beyond_float32.npy"), [], "y_beyond_float32.npy: targets beyond float32's range"),
    # labels of the wrong kind for the task
    ("labels-beyond-int64", arrays(y="y_huge_whole.npy"), [], "y_huge_whole.npy: class labels must be integers below 2**62"),
    ("labels-complex", arrays(y="y_complex.npy"), [], "y_complex.npy: class labels must be integers or text"),
    ("targets-text-for-regression", "task: regression\n" + arrays(y="y_text.npy"), [], "y_text.npy: regression targets must be numbers"),
    # files that are not models; a model's error alone, without TensorFlow's start-up lines
    ("model-path-a-text-file", _model_path_text_file, ["--space", "bad.yaml"], "text.keras: not a Keras model file"),
    ("builder-fails-under-tensorflow", _builder_fails_under_tensorflow, ["--space", "bad.yaml"], "model.builder broken_builder:build raised ValueError"),
    ("data-for-digits", None, ["--data", "x.npy"], "--data given, but the digits dataset ships with scikit-learn"),
    ("data-missing", "dataset: {name: tabular}\n", ["--data", "nowhere.csv"], "no such file or directory: nowhere.csv"),
    # flags
    ("seed-negative", None, ["--seed", "-1"], "--seed"),
    ("seed-too-big", None, ["--seed", str(2**32)], "--seed: must be an integer from 0 to 4294967295"),
    ("seed-not-a-number", None, ["--seed", "x"], "--seed"),
    ("trials-too-big", None, ["--trials", str(2**31)], "--trials: must be a positive integer up to 2147483647"),
    ("trials-1e30", None, ["--trials", "1e30"], "--trials: must be a positive integer"),
    ("concurrency-400-digits", None, ["--concurrency", str(10**400)], "--concurrency: must be a positive integer"),
    ("name-longer-than-a-file-name", None, ["--name", "a" * 300], "--name must be at most 200 bytes (it names a folder); got 300"),
    ("time-budget-nan", None, ["--time-budget-s", "nan"], "--time-budget-s"),
    ("concurrency-zero", None, ["--concurrency", "0"], "--concurrency"),
    ("storage-a-file", _storage_is_a_file, ["--storage", "store", "--name", "s"], "store"),
    # tracking stores
    ("tracking-unknown-scheme", None, ["--tracking-uri", "foo://somewhere/x"], "foo://somewhere/x"),
    ("storage-unknown-scheme", None, ["--storage", "bogus://x", "--name", "s"], "--storage bogus://x: unknown scheme 'bogus'"),
    ("tracking-no-scheme-typo", None, ["--tracking-uri", "sqlit:///x.db"], "sqlit:///x.db"),
    ("tracking-corrupt-sqlite", _corrupt_sqlite, ["--tracking-uri", "sqlite:///bad.db"], "bad.db"),
    ("tracking-foreign-sqlite", _foreign_sqlite, ["--tracking-uri", "sqlite:///bad.db"], "bad.db"),
    # resume
    ("resume-state-not-json", _corrupt_state, ["--resume", "old"], "hgq_automl.json"),
    ("resume-state-binary", _state_binary, ["--resume", "old"], "hgq_automl.json"),
    ("resume-state-missing-keys", _state_missing_keys, ["--resume", "old"], "hgq_automl.json"),
    ("resume-state-bad-space", _state_bad_space, ["--resume", "old"], "parameters.gamma"),
]


def _no_run_left(cwd: Path) -> None:
    """No MLflow run in any SQLite store the case may have made (the default and bad.db)."""
    from mlflow.tracking import MlflowClient

    db = cwd / "mlflow.db"
    if db.exists():
        client = MlflowClient(f"sqlite:///{db}")
        experiments = [e.experiment_id for e in client.search_experiments()]
        assert not client.search_runs(experiments, run_view_type=3), "an MLflow run was left behind"


@pytest.mark.parametrize(("setup", "flags", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(tmp_path, inputs, setup, flags, fragment):
    if callable(setup):
        setup(tmp_path, inputs)
        space = []
    elif setup is None:
        space = []
    else:
        write(tmp_path / "bad.yaml", setup.replace("{in}", str(inputs)))
        space = ["--space", "bad.yaml"]
    flags = [f.replace("x.npy", str(inputs / "x.npy")) for f in flags]
    # isolated: should a case wrongly get as far as a search, its Ray stays on loopback
    result = run_cli(["search", *space, *flags], cwd=tmp_path, timeout=120, isolated=True)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(lines) == 1, result.stderr
    assert fragment in result.stderr, result.stderr
    assert not (tmp_path / "hgq_automl_results" / "s").exists()
    _no_run_left(tmp_path)


# the other commands: (id, arguments ({in}: the inputs folder), a fragment of the one error line)
COMMAND_CASES = [
    # out-of-range ports
    ("ui-port-too-big", ["ui", "--port", "70000"], "--port: must be a port from 1 to 65535; got '70000'"),
    ("ui-port-zero", ["ui", "--port", "0"], "--port: must be a port from 1 to 65535; got '0'"),
    ("mcp-http-port-too-big", ["mcp", "--http", "70000"], "--http: must be a port from 1 to 65535; got '70000'"),
    ("mcp-http-port-zero", ["mcp", "--http", "0"], "--http: must be a port from 1 to 65535; got '0'"),
    # numbers too large for their type
    ("estimate-reuse-factor-too-big", ["estimate", "{in}/text.keras", "--reuse-factor", str(2**31)], "--reuse-factor: must be a positive integer up to 2147483647"),
    ("mcp-max-searches-400-digits", ["mcp", "--max-searches", str(10**400)], "--max-searches: must be a positive integer up to 2147483647"),
    # files that are not models
    ("estimate-a-text-file", ["estimate", "{in}/text.keras"], "MODEL {in}/text.keras: not a Keras model file"),
    ("export-a-text-file", ["export", "{in}/text.keras", "--to", "verilog", "--out", "fw"], "MODEL {in}/text.keras: not a Keras model file"),
    # URIs of schemes nothing reads
    ("export-tracking-unknown-scheme", ["export", "0123456789abcdef", "--to", "verilog", "--out", "fw", "--tracking-uri", "foo://x"], "--tracking-uri foo://x: unknown scheme 'foo'"),
    ("report-tracking-unknown-scheme", ["report", "--tracking-uri", "foo://x"], "--tracking-uri foo://x: unknown scheme 'foo'"),
    ("ui-tracking-unknown-scheme", ["ui", "--tracking-uri", "foo://x"], "--tracking-uri foo://x: unknown scheme 'foo'"),
    ("sync-storage-unknown-scheme", ["sync", "s", "--storage", "bogus://x"], "--storage bogus://x: unknown scheme 'bogus'"),
]


@pytest.mark.parametrize(("args", "fragment"), [c[1:] for c in COMMAND_CASES], ids=[c[0] for c in COMMAND_CASES])
def test_bad_input_to_the_other_commands_is_one_line_and_exit_2(tmp_path, inputs, args, fragment):
    args = [a.replace("{in}", str(inputs)) for a in args]
    result = run_cli(args, cwd=tmp_path, timeout=120, isolated=True)
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fragment.replace("{in}", str(inputs)) in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == [], "something was created"


def test_an_internal_error_shows_its_traceback_and_asks_for_a_report(monkeypatch, capsys):
    from hgq_automl import cli

    def broken(args):
        raise KeyError("a bug of ours")

    monkeypatch.setattr(cli, "_report", broken)
    assert cli.main(["report"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError: 'a bug of ours'" in err
    assert err.strip().splitlines()[-1] == "hgq_automl: internal error; please report it, with the traceback above, to the hgq_automl issue tracker"
