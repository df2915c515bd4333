"""The Python API without Ray: its arguments refused with the CLI's one-line messages, in-memory
data, the result's dataframe and plot, the progress bar, and a light `import hgq_automl`."""

import io
import subprocess
import sys

import numpy as np
import pytest

import hgq_automl
from hgq_automl.data import fingerprint, from_memory
from hgq_automl.events import TrialRecord
from hgq_automl.result import SearchResult
from hgq_automl.space import DatasetSpec

from .conftest import run_cli, write


def test_import_and_api_names_load_no_heavy_library():
    code = (
        "import sys, hgq_automl; hgq_automl.search; hgq_automl.open_search; hgq_automl.SearchResult; hgq_automl.load_space('digits_cnn'); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'ray', 'mlflow', 'optuna', 'hgq', 'hls4ml', 'pandas', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_api_names_stay_functions_after_every_module_is_imported():
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(hgq_automl.__path__):
        if not module.ispkg and module.name != "__main__":
            importlib.import_module(f"hgq_automl.{module.name}")
    assert hgq_automl.search.__module__ == "hgq_automl.api" and hgq_automl.open_search.__module__ == "hgq_automl.api"
    assert hgq_automl.load_space.__module__ == "hgq_automl.api"


def test_errors_are_value_errors():
    assert issubclass(hgq_automl.UsageError, ValueError) and issubclass(hgq_automl.SpaceError, hgq_automl.UsageError)


@pytest.mark.parametrize(
    "yaml_text",
    [
        "parameters:\n  beta: {type: log_uniform, low: 1\n",
        "parameters:\n  gamma: 3\n",
        "dataset:\n  name: imagenet\n",
        "hardware:\n  part: xc9z999-foo-1\n",
    ],
)
def test_a_bad_space_raises_space_error_with_the_cli_message(tmp_path, monkeypatch, yaml_text):
    write(tmp_path / "bad.yaml", yaml_text)
    cli = run_cli(["search", "--space", "bad.yaml"], cwd=tmp_path)
    assert cli.returncode == 2
    monkeypatch.chdir(tmp_path)
    with pytest.raises(hgq_automl.SpaceError) as caught:
        hgq_automl.load_space("bad.yaml")
    assert f"hgq_automl: error: {caught.value}" == cli.stderr.strip()
    with pytest.raises(hgq_automl.SpaceError) as again:
        hgq_automl.search("bad.yaml", tracking_uri=f"sqlite:///{tmp_path / 'm.db'}", storage=str(tmp_path / "r"))
    assert str(again.value) == str(caught.value)
    assert not (tmp_path / "r").exists() and not (tmp_path / "m.db").exists()


def test_a_dict_space_is_validated_like_a_file():
    with pytest.raises(hgq_automl.SpaceError, match=r"^<space>: parameters.epochs: must be a number; got 'many'$"):
        hgq_automl.load_space({"parameters": {"epochs": "many"}})
    space = hgq_automl.load_space({"name": "mine", "search": {"trials": 2}})
    assert space.name == "mine" and space.search.trials == 2 and hgq_automl.load_space(space) is space
    with pytest.raises(hgq_automl.UsageError, match="space: must be a built-in name, a YAML path, a dict or a SearchSpace; got int"):
        hgq_automl.load_space(3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"trials": 0}, "search_spaces/digits_cnn.yaml (search() arguments): search.trials: must be an integer >= 1; got 0"),
        ({"part": "xcvu9p"}, "(search() arguments): hardware.part: unknown FPGA part 'xcvu9p'"),
        ({"sampler": "cmaes"}, "(search() arguments): search.sampler: unknown sampler 'cmaes'"),
        ({"name": "a b"}, "name must be letters, digits, '_', '-' or '.'; got 'a b'"),
        ({"cpus": 0}, "cpus: must be a positive integer; got 0"),
        ({"max_failures": -1}, "max_failures: must be a non-negative integer; got -1"),
        ({"harvest": "yes"}, "harvest: must be True, False or None; got 'yes'"),
        ({"resume": True}, "resume=True continues the search named by name=; give name"),
        ({"progress": "fancy"}, "progress: must be True, False, 'bar' or 'lines'; got 'fancy'"),
        ({"data": "x.npz"}, "--data given, but the digits dataset ships with scikit-learn and reads no file"),
        ({"data": (np.zeros((10, 8, 8)), np.zeros(5))}, "data: 10 samples of features but 5 labels"),
        ({"data": {"train": (np.zeros((10, 8, 8)), np.zeros(10))}}, "data: a dict of splits needs the keys train, val and test (or train and test, val carved from train); got train"),
        ({"data": 3}, "data: must be None (the space's dataset), a path, (x, y) arrays"),
        ({"data": (np.full((10, 8, 8), np.nan), np.arange(10) % 2)}, "data: NaN or inf in the features (first at sample 0)"),
    ],
)
def test_bad_arguments_raise_one_line_usage_errors(tmp_path, kwargs, message):
    with pytest.raises(hgq_automl.UsageError) as caught:
        hgq_automl.search("digits_cnn", tracking_uri=f"sqlite:///{tmp_path / 'm.db'}", storage=str(tmp_path / "r"), **kwargs)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "r").exists() and not (tmp_path / "m.db").exists()


def test_resume_of_an_unknown_search_names_it(tmp_path):
    with pytest.raises(hgq_automl.UsageError, match="no search named 'gone' to resume in"):
        hgq_automl.search("digits_cnn", name="gone", resume=True, storage=str(tmp_path / "r"), tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")


def test_in_memory_arrays_are_split_as_the_space_says():
    x, y = np.arange(200 * 4, dtype=np.float64).reshape(200, 4), np.arange(200) % 4
    splits = from_memory((x, y), DatasetSpec(name="arrays", val_fraction=0.25, test_fraction=0.25, seed=3))
    assert splits.sizes() == {"train": 100, "val": 50, "test": 50} and splits.x_train.dtype == np.float32
    assert sorted(np.concatenate([splits.x_train, splits.x_val, splits.x_test])[:, 0].tolist()) == x[:, 0].tolist()
    # stratified: every class in every split
    assert all(set(s.tolist()) == {0, 1, 2, 3} for s in (splits.y_train, splits.y_val, splits.y_test))
    assert fingerprint(splits) == fingerprint(from_memory((x, y), DatasetSpec(name="arrays", val_fraction=0.25, test_fraction=0.25, seed=3)))
    assert fingerprint(splits) != fingerprint(from_memory((x + 1, y), DatasetSpec(name="arrays", val_fraction=0.25, test_fraction=0.25, seed=3)))
    fixed = from_memory({"train": (x[:100], y[:100]), "val": (x[100:150], y[100:150]), "test": (x[150:], y[150:])}, DatasetSpec(name="arrays"))
    assert fixed.sizes() == {"train": 100, "val": 50, "test": 50} and np.array_equal(fixed.x_val, x[100:150].astype(np.float32))
    text = from_memory((x, np.array(["a", "b"] * 100)), DatasetSpec(name="arrays"))
    assert set(text.y_train.tolist()) == {0, 1} and any("remapped" in n for n in text.notes)
    with pytest.raises(hgq_automl.UsageError, match=r"data\['val'\]: samples of shape \(3,\), but data\['train'\]'s are \(4,\)"):
        from_memory({"train": (x, y), "val": (x[:, :3], y), "test": (x, y)}, DatasetSpec(name="arrays"))


def _record(tid, acc, ebops, **extra):
    return TrialRecord(tid, {"filters_1": 2, "luts": 7}, {"val_accuracy": acc, "test_accuracy": acc, "ebops": ebops, "luts": 1000.0, "trial_seconds": 1.0, "pid": 99, "hostname": "h", **extra})


def _result():
    a, b, c = _record("a", 0.9, 100.0), _record("b", 0.8, 50.0), _record("c", 0.7, 80.0)
    failed = TrialRecord("d", {"filters_1": 3}, {}, status="failed", error="TrialFailed: nan")
    run_ids = {"a": "r-a", "b": "r-b", "c": "r-c", "d": "r-d"}
    return SearchResult("s", [a, b, c, failed], [a, b], run_ids, (("val_accuracy", "max"), ("ebops", "min")), tracking_uri="sqlite:///x", parent_run_id="p")


def test_dataframe_columns_and_pareto_flags():
    result = _result()
    assert [p.trial_id for p in result.front] == ["a", "b"] and [p.error for p in result.failed] == ["TrialFailed: nan"]
    frame = result.to_dataframe()
    assert list(frame["trial_id"]) == ["a", "b", "c"] and list(frame["pareto"]) == [True, True, False]
    assert list(frame.columns[:7]) == ["trial_id", "run_id", "harvested_from", "harvest_epoch", "pareto", "val_accuracy", "test_accuracy"]
    assert "pid" not in frame.columns and "hostname" not in frame.columns  # Ray's bookkeeping is no metric
    # a parameter named like a metric keeps both
    assert list(frame["param_luts"]) == [7, 7, 7] and list(frame["luts"]) == [1000.0] * 3 and list(frame["filters_1"]) == [2, 2, 2]
    assert frame["pareto"].dtype == bool
    with pytest.raises(hgq_automl.UsageError, match="'zz' is not a finished point of the search 's'"):
        result.load_model("zz")
    with pytest.raises(hgq_automl.UsageError, match="'d' is not a finished point"):
        result.export("d", to="verilog", out="nowhere")


def test_plot_is_a_figure_with_the_front_labelled():
    from matplotlib.figure import Figure

    fig = _result().plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("ebops") and ax.get_ylabel().startswith("val_accuracy")
    assert {t.get_text() for t in ax.texts} == {"a", "b"}
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_bar_counts_trials():
    from hgq_automl.progress import BarProgress

    space = hgq_automl.load_space({"search": {"trials": 2}})
    out = io.StringIO()
    bar = BarProgress(space, stream=out)
    bar.trial_started("a", {})
    bar.trial_finished(_record("a", 0.9, 100.0))
    bar.trial_finished(TrialRecord("b", {}, {}, status="failed", error="x"))
    bar.close()
    text = out.getvalue()
    assert "2/2" in text and "1 failed" in text and "val_accuracy=0.9000 ebops=100" in text


def test_one_table_of_search_options_feeds_the_api_the_cli_and_submit(tmp_path):
    import inspect

    from hgq_automl.cli import build_parser
    from hgq_automl.driver import SearchRequest
    from hgq_automl.jobs import search_arguments
    from hgq_automl.options import API_ONLY, SEARCH_OPTIONS, request_fields

    names = {o.api_name for o in SEARCH_OPTIONS} | set(API_ONLY) | {o.old_api for o in SEARCH_OPTIONS if o.old_api}
    assert set(inspect.signature(hgq_automl.search).parameters) == names
    for name in names:
        assert f"\n        {name}: " in hgq_automl.search.__doc__, name
    assert {o.field for o in SEARCH_OPTIONS} | {"api"} == set(SearchRequest.__dataclass_fields__)
    # every flag reaches the request under its field
    args = build_parser().parse_args(["search", "--space", "s.yaml", "--data", "d.npz", "--trials", "3", "--concurrency", "2", "--sampler", "tpe", "--seed", "4",
                                      "--name", "n", "--tracking-uri", "sqlite:///m.db", "--storage", "st", "--address", "a:1", "--cpus", "2", "--max-failures", "1",
                                      "--synthesis", "rtl", "--part", "p", "--no-harvest", "--time-budget-s", "9"])
    request = SearchRequest(**request_fields(args))
    assert (request.space, request.data, request.trials, request.concurrency, request.sampler, request.seed, request.name) == ("s.yaml", "d.npz", 3, 2, "tpe", 4, "n")
    assert (request.cpus, request.max_failures, request.synthesis, request.part, request.harvest, request.time_budget_s) == (2, 1, "rtl", "p", False, 9.0)
    assert request.opt("time_budget_s") == "--time-budget-s" and SearchRequest(api=True).opt("time_budget_s") == "time_budget_s"
    # submit passes the search's options on, paths made absolute
    sub = build_parser().parse_args(["submit", "--address", "http://h:8265", "--data", "d.npz", "--trials", "3", "--harvest", "--time-budget-s", "9", "--max-failures", "1",
                                     "--storage", str(tmp_path / "st"), "--tracking-uri", "sqlite:///m.db"])
    argv = search_arguments(sub)
    assert argv[argv.index("--data") + 1].endswith("/d.npz") and argv[argv.index("--data") + 1].startswith("/")
    assert argv[argv.index("--trials") + 1] == "3" and "--harvest" in argv and argv[argv.index("--time-budget-s") + 1] == "9.0"
    assert argv[argv.index("--max-failures") + 1] == "1" and "--address" not in argv and "--cpus" not in argv
