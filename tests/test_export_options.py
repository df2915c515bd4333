"""`export MODEL.keras` configured as hls4ml users configure it: --backend, --io-type,
--clock-period, --strategy, --reuse-factor and --hls-config (a per-layer hls4ml config).

Real hls4ml conversion and g++ C simulation of tiny models: an io_stream project with a
per-layer reuse factor from --hls-config must be bit-exact, its hls4ml_config.yml and
firmware must carry the choices, and what hls4ml changed (a reuse factor it moved to a
valid one) must be said. Bad values are one line and exit 2."""

import json

import numpy as np
import pytest
import yaml

from .conftest import assert_one_line_error, run_cli
from .test_model_file_cli import saved  # noqa: F401  (a tiny model with per-element activation quantizers)


@pytest.fixture(scope="module")
def streamable(tmp_path_factory):
    """A tiny HGQ2 MLP whose activation quantizers are homogeneous (one bit width per
    tensor), as hls4ml 1.3's io_stream needs; its input samples."""
    import keras
    from hgq.config import LayerConfigScope, QuantizerConfigScope
    from hgq.layers import QDense
    from hgq.utils import trace_minmax

    folder = tmp_path_factory.mktemp("streamable")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    with (
        QuantizerConfigScope(place="all", default_q_type="kbi", overflow_mode="SAT_SYM"),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", heterogeneous_axis=()),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((8,), name="features")
        h = QDense(6, activation="relu", name="d1")(inp)
        h = QDense(5, activation="relu", name="d2")(h)
        model = keras.Model(inp, QDense(3, name="out")(h), name="streamable")
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    trace_minmax(model, x, batch_size=64)
    model.save(folder / "mlp.keras")
    np.save(folder / "x.npy", x)
    return folder


class _Loader(yaml.SafeLoader):
    """hls4ml_config.yml tags its Keras model `!keras_model PATH`: read it as the path."""


_Loader.add_constructor("!keras_model", lambda loader, node: loader.construct_scalar(node))


def _written_config(path) -> dict:
    return yaml.load(path.read_text(), Loader=_Loader)


def _dense_params(header: str) -> dict[str, tuple[str, int]]:
    """{n_in: (strategy, reuse_factor)} of the dense configs in firmware/parameters.h (the n_in differ here)."""
    found, n_in, strategy = {}, None, None
    for line in header.splitlines():
        words = line.replace(";", "").split()
        if "n_in" in words:
            n_in = int(words[-1])
        elif "strategy" in words:
            strategy = words[-1]
        elif "reuse_factor" in words and strategy is not None:
            found[n_in] = (strategy, int(words[-1]))
            strategy = None
    return found


def test_io_stream_with_a_per_layer_reuse_factor_is_bit_exact(streamable, tmp_path):
    (tmp_path / "layers.yml").write_text(
        yaml.safe_dump({"LayerName": {"d1": {"ReuseFactor": 2}, "d2": {"ReuseFactor": 4, "Strategy": "Resource"}}})
    )
    result = run_cli(
        [
            "export", str(streamable / "mlp.keras"), "--to", "hls4ml", "--out", "prj", "--data", str(streamable / "x.npy"),
            "--backend", "Vivado", "--io-type", "io_stream", "--clock-period", "4", "--hls-config", "layers.yml",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (mismatch,) = [line for line in result.stdout.splitlines() if line.split()[:1] == ["bit_mismatches"]]
    assert mismatch.split()[1] == "0"
    assert result.stdout.splitlines()[-1].endswith(": bit-exact")
    assert "(Vivado, io_stream, latency, reuse_factor 1, clock 4 ns" in result.stderr
    # d2 (6 x 5 weights) has no reuse factor 4: hls4ml takes the closest valid one, and that is said
    assert "hls4ml changed layer d2's reuse_factor from 4 to 3" in result.stderr
    config = _written_config(tmp_path / "prj" / "hls4ml_config.yml")
    assert (config["Backend"], config["IOType"], config["ClockPeriod"]) == ("Vivado", "io_stream", 4.0)
    assert config["HLSConfig"]["LayerName"]["d1"] == {"ReuseFactor": 2}
    assert config["HLSConfig"]["Model"]["Strategy"] == "Latency"
    # the firmware itself: d1 (8 inputs) latency at 2, d2 (6 inputs) resource at 3, out (5 inputs) latency at 1
    dense = _dense_params((tmp_path / "prj" / "firmware" / "parameters.h").read_text())
    assert dense == {8: ("nnet::latency", 2), 6: ("nnet::resource", 3), 5: ("nnet::latency", 1)}
    assert "hls::stream" in (tmp_path / "prj" / "firmware" / "myproject.h").read_text()


def test_model_wide_flags_and_a_json_config(streamable, tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"Model": {"ReuseFactor": 3}, "LayerName": {"out": {"ReuseFactor": 5}}}))
    result = run_cli(
        [
            "export", str(streamable / "mlp.keras"), "--to", "hls4ml", "--out", "prj", "--data", str(streamable / "x.npy"),
            "--strategy", "resource", "--reuse-factor", "2", "--hls-config", "c.json",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith(": bit-exact")
    assert "(Vitis, io_parallel, resource, reuse_factor 2, clock 5 ns" in result.stderr  # the flag beats the file's Model section
    config = _written_config(tmp_path / "prj" / "hls4ml_config.yml")
    assert config["IOType"] == "io_parallel" and config["HLSConfig"]["Model"]["ReuseFactor"] == 2
    assert _dense_params((tmp_path / "prj" / "firmware" / "parameters.h").read_text()) == {
        8: ("nnet::resource", 2), 6: ("nnet::resource", 2), 5: ("nnet::resource", 5),
    }


def test_io_stream_of_per_element_quantizers_is_refused_naming_the_layer(saved, tmp_path):
    folder = saved[0]
    result = run_cli(["export", str(folder / "tiny.keras"), "--to", "hls4ml", "--out", "prj", "--io-type", "io_stream"], cwd=tmp_path)
    assert_one_line_error(result, "--io-type io_stream: layer ", "quantizer is heterogeneous (a bit width per element)", "use io_parallel")
    assert not (tmp_path / "prj").exists() or not any((tmp_path / "prj").iterdir())


def test_an_unknown_layer_name_in_the_hls_config_is_one_line(saved, tmp_path):
    folder = saved[0]
    (tmp_path / "c.yml").write_text("LayerName:\n  dense_7:\n    ReuseFactor: 2\n")
    result = run_cli(["export", str(folder / "tiny.keras"), "--to", "hls4ml", "--out", "prj", "--hls-config", "c.yml"], cwd=tmp_path)
    assert_one_line_error(result, "--hls-config c.yml: LayerName 'dense_7' is not a layer of the model", "d1", "e1")


@pytest.mark.parametrize(
    "extra, files, fragments",
    [
        (["--backend", "Quartus"], {}, ["--backend Quartus: hls4ml 1.3's Quartus project of an HGQ2 model does not compile", "use Vitis or Vivado"]),
        (["--backend", "Foo"], {}, ["--backend must be one of Vitis, Vivado; got 'Foo'"]),
        (["--io-type", "io_serial"], {}, ["--io-type: invalid choice: 'io_serial'"]),
        (["--clock-period", "0"], {}, ["--clock-period must be a number of ns > 0; got 0.0"]),
        (["--reuse-factor", "0"], {}, ["--reuse-factor"]),
        (["--strategy", "distributed_arithmetic", "--reuse-factor", "2"], {}, ["--reuse-factor must be 1 with --strategy distributed_arithmetic"]),
        (["--hls-config", "absent.yml"], {}, ["--hls-config absent.yml: no such file"]),
        (["--hls-config", "c.yml"], {"c.yml": "Layers: {}\n"}, ["--hls-config c.yml: unknown key 'Layers'; an hls4ml config has Model, LayerName, LayerType"]),
        (["--hls-config", "c.yml"], {"c.yml": "LayerName:\n  d1:\n    ReuseFactor: -1\n"}, ["--hls-config c.yml: ReuseFactor must be an integer >= 1; got -1"]),
        (["--hls-config", "c.json"], {"c.json": "{not json"}, ["--hls-config c.json: not a readable JSON file"]),
        (["--hls-config", "c.yml"], {"c.yml": "Model: {Strategy: Fastest}\n"}, ["--hls-config c.yml: Model.Strategy must be one of Latency, Resource"]),
    ],
)
def test_bad_hls_options_are_one_line(saved, tmp_path, extra, files, fragments):
    folder = saved[0]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = run_cli(["export", str(folder / "tiny.keras"), "--to", "hls4ml", "--out", "prj", *extra], cwd=tmp_path)
    assert_one_line_error(result, *fragments)


def test_hls_options_with_verilog_are_refused(saved, tmp_path):
    folder = saved[0]
    result = run_cli(["export", str(folder / "tiny.keras"), "--to", "verilog", "--out", "v", "--io-type", "io_stream"], cwd=tmp_path)
    assert_one_line_error(result, "--io-type goes with --to hls4ml; da4ml Verilog has no hls4ml configuration")


def test_the_per_trial_csim_step_takes_io_type_and_hls_config(streamable, tmp_path):
    """`hardware: {synthesis: csim, io_type: io_stream, hls_config: ...}` as a trial runs it."""
    import keras

    from hgq_automl.hardware.hls import NotConvertible
    from hgq_automl.hardware.synthesis import run_synthesis
    from hgq_automl.space import parse_space

    model = keras.models.load_model(streamable / "mlp.keras")
    x = np.load(streamable / "x.npy")
    hw = parse_space(
        {"model": {"path": str(streamable / "mlp.keras")}, "hardware": {"synthesis": "csim", "io_type": "io_stream", "hls_config": {"LayerName": {"d1": {"ReuseFactor": 3}}}}}
    ).hardware
    metrics = run_synthesis(model, hw, {"strategy": "latency", "reuse_factor": 1}, x, tmp_path / "trial")
    assert metrics == {"bit_mismatches": 0}
    config = _written_config(tmp_path / "trial" / "hls4ml" / "hls4ml_config.yml")
    assert config["IOType"] == "io_stream" and config["HLSConfig"]["LayerName"] == {"d1": {"ReuseFactor": 3}}
    assert _dense_params((tmp_path / "trial" / "hls4ml" / "firmware" / "parameters.h").read_text())[8] == ("nnet::latency", 3)
    wrong = type(hw)(synthesis="csim", hls_config={"LayerName": {"dense_9": {"ReuseFactor": 2}}})
    with pytest.raises(NotConvertible, match="hls_config: LayerName 'dense_9' is not a layer of the model"):
        run_synthesis(model, wrong, {"strategy": "latency", "reuse_factor": 1}, x, tmp_path / "trial2")


def test_an_export_folder_is_claimed_by_one_export_at_a_time(tmp_path):
    """The claim on --out: a second export into it while the first writes is refused on one
    line; the lock goes when the first ends; a killed export's lock is taken over."""
    import subprocess
    import sys

    from hgq_automl.errors import UsageError
    from hgq_automl.export import EXPORT_LOCK, ExportRequest, claimed_out

    request = ExportRequest("run", "verilog", str(tmp_path / "fw"))
    with claimed_out(request) as out:
        (out / "model.v").write_text("// the first export's file")
        with pytest.raises(UsageError, match=r"^--out .*fw: another export \(pid \d+\) is writing there; wait for it to end or choose another folder$"):
            with claimed_out(request):
                pass
    assert sorted(p.name for p in out.iterdir()) == ["model.v"]  # its lock is gone, its files stay
    with pytest.raises(UsageError, match="exists and is not an empty folder"):
        with claimed_out(request):
            pass
    # a lock left by a process that no longer runs
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / EXPORT_LOCK).write_text(dead)
    with claimed_out(ExportRequest("run", "verilog", str(stale), api=True)) as out:
        assert (out / EXPORT_LOCK).read_text() == str(__import__("os").getpid())
    assert list(stale.iterdir()) == []


def test_two_exports_started_at_once_into_one_folder_never_mix(saved, tmp_path):
    """Two real `export MODEL.keras` processes into the same --out, started together: one
    writes the project, the other is refused on one line (exit 2); the folder holds exactly
    what one export writes."""
    import subprocess
    import sys

    folder = saved[0]
    cmd = [sys.executable, "-m", "hgq_automl", "export", str(folder / "tiny.keras"), "--to", "verilog", "--out", "fw", "--data", str(folder / "data.npy")]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], [(c, e[-2000:]) for c, _, e in results]
    refused = next(err for code, _, err in results if code == 2)
    lines = [line for line in refused.splitlines() if line.strip()]
    assert len(lines) == 1 and ("another export (pid" in lines[0] or "exists and is not an empty folder" in lines[0]), refused
    solo = tmp_path / "solo"
    assert subprocess.run([*cmd[:-4], "--out", str(solo), "--data", str(folder / "data.npy")], cwd=tmp_path, capture_output=True).returncode == 0
    written = sorted(str(p.relative_to(tmp_path / "fw")) for p in (tmp_path / "fw").rglob("*"))
    assert written == sorted(str(p.relative_to(solo)) for p in solo.rglob("*")) and ".hgq_automl_export.lock" not in written


def test_the_api_and_the_mcp_server_take_the_hls4ml_options(tmp_path):
    """SearchResult.export and the MCP server's export_model take the export command's
    hls4ml options and check them the same way, before any export runs."""
    import inspect

    from hgq_automl.errors import UsageError
    from hgq_automl.mcp_workspace import Workspace
    from hgq_automl.result import SearchResult

    options = ("backend", "io_type", "clock_period", "strategy", "reuse_factor", "hls_config")
    assert set(options) <= set(inspect.signature(SearchResult.export).parameters)
    workspace = Workspace(tmp_path)
    with pytest.raises(UsageError, match=r"^backend= goes with to=hls4ml; da4ml Verilog has no hls4ml configuration$"):
        workspace.export_model("0123456789abcdef", "verilog", "fw", backend="Vitis")
    with pytest.raises(UsageError, match=r"^io_type= must be one of io_parallel, io_stream; got 'io_serial'$"):
        workspace.export_model("0123456789abcdef", "hls4ml", "fw", io_type="io_serial")
    with pytest.raises(UsageError, match="hls_config"):
        workspace.export_model("0123456789abcdef", "hls4ml", "fw", hls_config="../outside.yml")
    assert not (tmp_path / "fw").exists()  # refused before anything was written
